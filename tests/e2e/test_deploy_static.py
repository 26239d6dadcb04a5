"""Static checks of the deployment files (docker-compose.otel.yml, deploy/): no tools, no servers.

The names every alert rule and dashboard panel queries must be series genai-otel actually emits, after
Prometheus name translation; the inventory is derived from the code (tests/e2e/_promnames.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from genai_otel import semconv as sc
from tests.e2e import _promnames as names

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = REPO / "docker-compose.otel.yml"
COLLECTOR = DEPLOY / "otel-collector" / "config.yaml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "genai-otel.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
ROTEL_PROCESSOR = DEPLOY / "rotel" / "scrub_processor.py"

# Series Prometheus itself provides, and those of the blackbox exporter's model-server probes.
PROMETHEUS_BUILTIN_SERIES = {"ALERTS", "ALERTS_FOR_STATE", "up"}
BLACKBOX_SERIES = {"probe_success", "probe_duration_seconds", "probe_http_status_code"}
BLACKBOX = DEPLOY / "blackbox" / "blackbox.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
PROMETHEUS_LABELS = {"le", "job", "instance", "alertname", "alertstate", "__name__"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_rotel_processor() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("rotel_scrub_processor", ROTEL_PROCESSOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- what the rules and the dashboard query ----------------------------------------------------------
def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def template_queries(text: str) -> list[str]:
    """PromQL inside Go templates: {{ with printf "..." $x | query }}."""
    queries = []
    for match in re.finditer(r'printf\s+"((?:[^"\\]|\\.)*)"[^}]*\|\s*query', text):
        queries.append(match.group(1).replace('\\"', '"').replace("%q", '"x"'))
    return queries


def rule_expressions() -> list[str]:
    expressions = []
    for rule in alert_rules():
        expressions.append(rule["expr"])
        for annotation in rule.get("annotations", {}).values():
            expressions.extend(template_queries(annotation))
    return expressions


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        label_values = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", query)
        expressions.append(label_values.group(1) if label_values else query)
    expressions.extend(
        annotation["expr"] for annotation in dashboard["annotations"]["list"] if "expr" in annotation
    )
    return expressions


def recorded_names() -> set[str]:
    return {rule["record"] for rule in alert_rules() if "record" in rule}


# --- the metric inventory comes from the code ---------------------------------------------------------
def test_every_metric_constant_has_a_known_instrument() -> None:
    inventory = names.metric_inventory()
    missing = {const: name for const, name in names.metric_constants().items() if name not in inventory}
    assert not missing, f"semconv names metrics that no code creates and that have no assumption: {missing}"


def test_every_instrument_the_code_creates_is_named_in_semconv() -> None:
    constants = set(names.metric_constants().values())
    strays = set(names.code_instruments()) - constants
    assert not strays, f"genai-otel creates metrics that semconv.py does not name: {strays}"
    # The four semconv client metrics are created today by the OpenAI instrumentor.
    assert {
        sc.METRIC_OPERATION_DURATION,
        sc.METRIC_TOKEN_USAGE,
        sc.METRIC_TIME_TO_FIRST_CHUNK,
        sc.METRIC_TIME_PER_OUTPUT_CHUNK,
    } <= set(names.code_instruments())


@pytest.mark.parametrize("metric", sorted(names.ASSUMED_INSTRUMENTS))
def test_assumed_instrument_matches_the_code_once_built(metric: str) -> None:
    created = names.code_instruments().get(metric)
    if created is None:
        pytest.skip(
            f"issue 5 not built yet: genai-otel does not create {metric} (rules assume {names.ASSUMED_INSTRUMENTS[metric]})"
        )
    kind, unit = names.ASSUMED_INSTRUMENTS[metric]
    assumed = names.prometheus_name(metric, unit, kind)
    actual = names.prometheus_name(metric, created.unit, created.kind)
    # Only what Prometheus sees matters to the queries: {call} and {loop} translate alike.
    assert (created.kind, actual) == (kind, assumed), (
        f"{metric} is a {created.kind} in {created.unit!r} ({actual} in Prometheus); the alert rules and the "
        f"dashboard assume a {kind} in {unit!r} ({assumed}): update ASSUMED_INSTRUMENTS and the queries"
    )


def test_translation_of_today_s_metrics() -> None:
    """The names docs/deployment.md lists, from the translation function."""
    inventory = names.metric_inventory()
    translated = {name: names.prometheus_name(name, i.unit, i.kind) for name, i in inventory.items()}
    assert translated[sc.METRIC_OPERATION_DURATION] == "gen_ai_client_operation_duration_seconds"
    assert translated[sc.METRIC_TOKEN_USAGE] == "gen_ai_client_token_usage"
    assert translated[sc.METRIC_TIME_TO_FIRST_CHUNK] == "gen_ai_client_operation_time_to_first_chunk_seconds"
    assert (
        translated[sc.METRIC_PRODUCT_UNSAFE_CLAIMS_SERVED] == "genai_otel_product_unsafe_claims_served_total"
    )
    assert translated[sc.METRIC_CLIENT_COST] == "genai_otel_client_cost_total"
    assert names.prometheus_name("x.duration_seconds", "s", "histogram") == "x_duration_seconds"
    assert names.prometheus_name("x.calls_total", "{call}", "counter") == "x_calls_total"
    with pytest.raises(ValueError):
        names.prometheus_name("x", "furlong", "gauge")


@pytest.mark.parametrize("source", ["alert rules", "dashboard"])
def test_every_queried_metric_is_one_genai_otel_emits(source: str) -> None:
    expressions = rule_expressions() if source == "alert rules" else dashboard_expressions()
    queried = set().union(*(names.promql_metric_names(expr) for expr in expressions))
    known = set(names.all_series_names()) | recorded_names() | PROMETHEUS_BUILTIN_SERIES | BLACKBOX_SERIES
    assert queried, f"no metric names found in the {source}"
    assert not queried - known, f"{source} query series genai-otel does not emit: {sorted(queried - known)}"


@pytest.mark.parametrize("source", ["alert rules", "dashboard"])
def test_every_queried_label_is_a_genai_otel_attribute(source: str) -> None:
    expressions = rule_expressions() if source == "alert rules" else dashboard_expressions()
    used = set().union(*(names.promql_label_names(expr) for expr in expressions))
    if source == "alert rules":
        for rule in alert_rules():
            for annotation in rule.get("annotations", {}).values():
                used.update(re.findall(r"\$labels\.([a-zA-Z_]\w*)", annotation))
    known = names.attribute_label_names() | PROMETHEUS_LABELS
    assert not used - known, f"{source} use labels no genai-otel attribute becomes: {sorted(used - known)}"


def test_the_promql_scanner_finds_names_and_skips_the_rest() -> None:
    expr = 'histogram_quantile(0.95, sum by (job, le) (rate(a_b_bucket{error_type!="x.y", job=~"$job"}[5m]))) > on () group_left () c:d or e unless e offset 10m'
    assert names.promql_metric_names(expr) == {"a_b_bucket", "c:d", "e"}
    assert names.promql_label_names(expr) == {"job", "le", "error_type"}


def test_rules_and_dashboard_cover_every_signal_the_issue_asks_for() -> None:
    rules = " ".join(rule_expressions())
    dashboard = " ".join(dashboard_expressions())
    for series in (
        "genai_otel_product_unsafe_claims_served_total",  # unsafe claim served (page)
        "genai_otel_tool_duration_seconds_count",  # tool error rate
        "gen_ai_client_operation_duration_seconds_count",  # error rate by model
        "gen_ai_client_operation_duration_seconds_bucket",  # p95 operation duration
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",  # p95 time to first chunk
        "genai_otel_client_cost_total",  # cost against a budget
        "probe_success",  # model server down (issue 12)
        "gen_ai_client_token_usage_count",  # tokens per call
        "genai_otel_cache_lookups_total",  # cache hit ratio
    ):
        assert series in rules, series
    for series in (
        "genai_otel_client_cost_total",  # cost per day by model
        "gen_ai_client_operation_duration_seconds_bucket",  # p50/p95 latency
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",  # p50/p95 time to first chunk
        "gen_ai_client_operation_duration_seconds_count",  # error rate by type
        "gen_ai_client_token_usage_sum",  # token usage
        "genai_otel_product_requests_total",  # routes, failure stages
        "genai_otel_product_unsafe_claims_served_total",  # unsafe serves
        "probe_success",  # model servers up
        "genai_otel:cache_hit_ratio:rate5m",  # cache hit ratio
        "genai_otel_client_active_requests",  # requests in flight
        "genai_otel:tokens_per_call:avg1h",  # tokens per call
        "genai_otel_evaluation_score_sum",  # quality score (issue 11's metric)
    ):
        assert series in dashboard, series
    assert "app_answer_route" in dashboard and "app_first_failed_stage" in dashboard


def test_rules_and_dashboard_cover_the_quality_signals() -> None:
    """Issue 11: drift and floor alerts on the evaluation score, and a quality row on the dashboard."""
    rules = " ".join(rule_expressions())
    dashboard = " ".join(dashboard_expressions())
    for series in ("genai_otel_evaluation_score_sum", "genai_otel_evaluation_score_count"):
        assert series in rules, series
    for series in (
        "genai_otel:evaluation_score:mean1h",  # score by evaluation name and template
        "genai_otel:evaluation_score:mean7d",  # the baseline band
        "genai_otel:evaluation_score:stddev7d",
        "genai_otel_evaluation_results_total",  # pass rate, evaluator errors
    ):
        assert series in dashboard, series
    assert "gen_ai_evaluation_score_label" in dashboard and "error_type" in dashboard
    alerts = {rule["alert"]: rule for rule in alert_rules() if "alert" in rule}
    assert alerts["GenAIQualityDrift"]["labels"]["severity"] == "warning"
    assert alerts["GenAIQualityDrift"]["for"] == "30m"
    assert "GenAIQualityBelowFloor" in alerts
    assert "genai_otel:evaluation_score_floor" in recorded_names()


# --- alert rules ----------------------------------------------------------------------------------
def test_every_alert_is_actionable() -> None:
    alerts = [rule for rule in alert_rules() if "alert" in rule]
    assert {rule["alert"] for rule in alerts} >= {
        "GenAIUnsafeClaimServed",
        "GenAIToolErrorRateHigh",
        "GenAIErrorRateHigh",
        "GenAIOperationLatencyP95High",
        "GenAITimeToFirstChunkP95High",
        "GenAICostOverBudget",
        "GenAIModelServerDown",
        "GenAICostSpikeHourly",
        "GenAITokensPerCallHigh",
    }
    for rule in alerts:
        assert rule["labels"]["severity"] in {"page", "ticket", "warning", "info"}, rule["alert"]
        # On call opens the dashboard first: every alert names the panel to open.
        assert re.search(r'"[^"]+" panel', rule["annotations"]["description"]), rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
        # Each names where to look: labels in the summary, an exemplar or a breakdown in the description.
        assert "$labels." in rule["annotations"]["summary"], rule["alert"]
        assert re.search(r"[Ee]xemplar|label|panel", rule["annotations"]["description"]), rule["alert"]
    unsafe = next(rule for rule in alerts if rule["alert"] == "GenAIUnsafeClaimServed")
    assert unsafe["labels"]["severity"] == "page" and unsafe["for"] == "0m"
    by_name = {rule["alert"]: rule for rule in alerts}
    assert (
        by_name["GenAIModelServerDown"]["labels"]["severity"],
        by_name["GenAIModelServerDown"]["for"],
    ) == (
        "page",
        "1m",
    )
    assert by_name["GenAICostSpikeHourly"]["labels"]["severity"] == "warning"
    assert "/ 8" in by_name["GenAICostSpikeHourly"]["expr"]
    assert by_name["GenAITokensPerCallHigh"]["labels"]["severity"] == "info"
    assert "genai_otel:tokens_per_call_threshold" in recorded_names()


def test_dashboard_first_row_holds_the_numbers_to_watch() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    top = sorted(
        (p for p in panels if p["gridPos"]["y"] <= 1), key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])
    )
    assert top[0]["type"] == "row"
    assert [p["title"] for p in top[1:]] == [
        "Cost per day",
        "p95 latency",
        "Error rate",
        "Quality score",
        "Unsafe claims served (24 h)",
        "Model servers up",
    ]
    quality = next(p for p in top if p["title"] == "Quality score")
    assert quality["fieldConfig"]["defaults"]["noValue"] == "no data"
    # Nothing overlaps: the first row pushed the other rows down.
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        for y in range(grid["y"], grid["y"] + grid["h"]):
            for x in range(grid["x"], grid["x"] + grid["w"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel at {(x, y)}"
                cells.add((x, y))


def test_model_server_probes_use_blackbox_modules_that_exist() -> None:
    modules = load_yaml(BLACKBOX)["modules"]
    assert {"ollama_tags", "openai_models"} <= set(modules)
    jobs = {job["job_name"]: job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]}
    probes = {name: job for name, job in jobs.items() if name.startswith("model-server-")}
    assert set(probes) == {"model-server-ollama", "model-server-openai"}
    for name, job in probes.items():
        assert job["metrics_path"] == "/probe"
        (module,) = job["params"]["module"]
        assert module in modules, name
        replacement = [rule for rule in job["relabel_configs"] if rule.get("target_label") == "__address__"]
        assert replacement[0]["replacement"] == "blackbox-exporter:9115"
    targets = [t for job in probes.values() for c in job["static_configs"] for t in c["targets"]]
    assert any(t.endswith("/api/tags") for t in targets) and any(t.endswith("/v1/models") for t in targets)
    collector = load_yaml(COLLECTOR)
    httpcheck = collector["receivers"]["httpcheck/model_servers"]
    endpoints = {target["endpoint"] for target in httpcheck["targets"]}
    assert any(e.endswith("/api/tags") for e in endpoints) and any(
        e.endswith("/v1/models") for e in endpoints
    )


def test_alert_annotations_name_panels_that_exist() -> None:
    titles = {panel["title"] for panel in json.loads(DASHBOARD.read_text())["panels"]}
    for rule in alert_rules():
        for annotation in rule.get("annotations", {}).values():
            for title in re.findall(r'"([^"]+)" panel', annotation):
                assert title in titles, (
                    f"{rule.get('alert')} points at a panel that does not exist: {title!r}"
                )


# --- dashboard and Grafana provisioning --------------------------------------------------------------
def test_dashboard_uses_the_provisioned_data_sources() -> None:
    uids = {source["uid"] for source in load_yaml(DATASOURCES)["datasources"]}
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in uids, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids, panel["title"]
    exemplar_links = load_yaml(DATASOURCES)["datasources"][0]["jsonData"]["exemplarTraceIdDestinations"]
    assert {link["datasourceUid"] for link in exemplar_links} <= uids
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


# --- the Collector config and its rotel mirror --------------------------------------------------------
def test_collector_pipeline_shape() -> None:
    config = load_yaml(COLLECTOR)
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    assert config["extensions"]["health_check"]["endpoint"].startswith("0.0.0.0:")
    pipelines = config["service"]["pipelines"]
    for name, pipeline in pipelines.items():
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", name
        assert processors[-1] == "batch", name
        for component in pipeline["receivers"]:
            assert component in config["receivers"], component
        for component in processors:
            assert component in config["processors"], component
        for component in pipeline["exporters"]:
            assert component in config["exporters"], component
    assert "transform/scrub" in pipelines["traces"]["processors"]
    assert "transform/scrub" in pipelines["logs"]["processors"]
    assert set(pipelines["traces"]["exporters"]) == {"otlp/jaeger", "otlp/tempo"}
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert config["exporters"]["prometheus"]["enable_open_metrics"] is True
    assert set(config["service"]["extensions"]) <= set(config["extensions"])


def test_every_collector_setting_is_commented() -> None:
    """Non-obvious settings carry a comment: every processor and exporter block has one."""
    text = COLLECTOR.read_text()
    for block in (
        "httpcheck/model_servers:",
        "memory_limiter:",
        "transform/scrub:",
        "batch:",
        "otlp/jaeger:",
        "prometheus:",
        "debug:",
    ):
        before = text[: text.index(f"  {block}")].rstrip().splitlines()[-1]
        assert before.strip().startswith("#"), f"{block} has no comment above it"


def _statements(group: dict[str, Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {"delete_key": [], "delete_matching_keys": [], "masks": []}
    for statement in group["statements"]:
        if match := re.fullmatch(r'delete_key\(attributes, "([^"]+)"\)', statement):
            found["delete_key"].append(match.group(1))
        elif match := re.fullmatch(r'delete_matching_keys\(attributes, "([^"]+)"\)', statement):
            found["delete_matching_keys"].append(match.group(1))
        elif match := re.fullmatch(
            r'replace_all_patterns\(attributes, "value", "([^"]+)", "([^"]+)"\)', statement
        ):
            found["masks"].append((match.group(1), match.group(2)))
        elif match := re.fullmatch(
            r'replace_pattern\(body, "([^"]+)", "([^"]+)"\) where IsString\(body\)', statement
        ):
            found.setdefault("body_masks", []).append((match.group(1), match.group(2)))
        else:
            pytest.fail(f"statement the rotel mirror does not implement: {statement}")
    return found


def test_collector_scrub_stage_and_rotel_processor_agree() -> None:
    processor = load_rotel_processor()
    scrub = load_yaml(COLLECTOR)["processors"]["transform/scrub"]
    assert scrub["error_mode"] == "ignore"
    groups = [*scrub["trace_statements"], *scrub["log_statements"]]
    assert {group["context"] for group in groups} == {"span", "spanevent", "log"}
    for group in groups:
        found = _statements(group)
        assert tuple(found["delete_key"]) == processor.CONTENT_KEYS, group["context"]
        assert tuple(found["delete_matching_keys"]) == processor.CONTENT_KEY_PATTERNS, group["context"]
        assert tuple(found["masks"]) == processor.MASKS, group["context"]
        if group["context"] == "log":
            assert tuple(found["body_masks"]) == processor.MASKS
    # The five content attributes of semconv v1.41.1, and evaluation explanations, are all removed.
    assert {
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        sc.GEN_AI_SYSTEM_INSTRUCTIONS,
        sc.GEN_AI_TOOL_CALL_ARGUMENTS,
        sc.GEN_AI_TOOL_CALL_RESULT,
        sc.GEN_AI_EVALUATION_EXPLANATION,
    } <= set(processor.CONTENT_KEYS)


def test_scrub_patterns_are_portable_between_re2_and_python() -> None:
    """No backslashes (no escaping differences between YAML, OTTL and Python), no lookarounds or
    backreferences (RE2 has none), no $ in replacements (Go would expand it)."""
    processor = load_rotel_processor()
    for pattern, replacement in processor.MASKS:
        assert "\\" not in pattern and "(?" not in pattern, pattern
        assert "$" not in replacement and "\\" not in replacement, replacement
        re.compile(pattern)
    for pattern in processor.CONTENT_KEY_PATTERNS:
        assert "\\" not in pattern and "(?" not in pattern, pattern


def test_scrub_text_masks_pii_and_keeps_the_rest() -> None:
    processor = load_rotel_processor()
    text = (
        "mail jane.doe@example.com card 4111 1111 1111 1111 ssn 123-45-6789 key sk-proj-A1b2C3d4E5f6G7h8I9j0 "
        "aws AKIAIOSFODNN7EXAMPLE auth Bearer abcDEF123ghiJKL456 jwt eyJhbGciOi.eyJzdWIiOi.c2ln model gpt-4o-mini"
    )
    assert processor.scrub_text(text) == (
        "mail [EMAIL] card [CARD] ssn [SSN] key [SECRET] aws [SECRET] auth Bearer [SECRET] jwt [JWT] model gpt-4o-mini"
    )
    for kept in ("chat gpt-4o-mini", "openai_compatible", "127.0.0.1", "chatcmpl-abc123", "2026-11-23"):
        assert processor.scrub_text(kept) == kept


class _FakeValue:
    def __init__(self, value: Any) -> None:
        self.value = value


class _FakeKeyValue:
    def __init__(self, key: str, value: Any) -> None:
        self.key = key
        self.value = _FakeValue(value)

    @classmethod
    def new_string_value(cls, key: str, value: str) -> _FakeKeyValue:
        return cls(key, value)


def test_rotel_hooks_edit_spans_events_and_logs() -> None:
    processor = load_rotel_processor()

    def attributes() -> list[_FakeKeyValue]:
        return [
            _FakeKeyValue("gen_ai.input.messages", "secret prompt"),
            _FakeKeyValue("gen_ai.prompt.0.content", "secret prompt"),
            _FakeKeyValue("llm.input_messages.0.message.content", "secret prompt"),
            _FakeKeyValue("input.value", "secret prompt"),
            _FakeKeyValue("note", "reach me at a.b@example.org"),
            _FakeKeyValue("gen_ai.usage.input_tokens", 12),
            _FakeKeyValue("gen_ai.request.model", "gpt-test"),
        ]

    def check(kvs: list[_FakeKeyValue]) -> None:
        assert {kv.key: kv.value.value for kv in kvs} == {
            "note": "reach me at [EMAIL]",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.request.model": "gpt-test",
        }

    span = SimpleNamespace(attributes=attributes(), events=[SimpleNamespace(attributes=attributes())])
    processor.process_spans(SimpleNamespace(scope_spans=[SimpleNamespace(spans=[span])]))
    check(span.attributes)
    check(span.events[0].attributes)
    record = SimpleNamespace(attributes=attributes(), body=_FakeValue("from x@example.com"))
    processor.process_logs(SimpleNamespace(scope_logs=[SimpleNamespace(log_records=[record])]))
    check(record.attributes)
    assert record.body.value == "from [EMAIL]"


# --- docker-compose.otel.yml without a compose implementation ----------------------------------------
EXPECTED_IMAGES = {
    "otel-collector": "otel/opentelemetry-collector-contrib",
    "jaeger": "jaegertracing/jaeger",
    "tempo": "grafana/tempo",
    "prometheus": "prom/prometheus",
    "grafana": "grafana/grafana",
    "blackbox-exporter": "prom/blackbox-exporter",
}


def test_compose_pins_every_image_and_checks_every_service() -> None:
    compose = load_yaml(COMPOSE)
    services = compose["services"]
    for service, image in EXPECTED_IMAGES.items():
        assert services[service]["image"].split(":")[0] == image
    for name, service in services.items():
        tag = service["image"].partition(":")[2]
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), (
            f"{name}: image {service['image']} is not pinned to a release"
        )
        # The Collector image has no shell: its health is probed by otel-collector-health.
        if name != "otel-collector":
            assert service["healthcheck"]["test"][0] == "CMD", name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"
    probe = services["otel-collector-health"]["healthcheck"]["test"]
    assert any("otel-collector:13133" in part for part in probe)


def test_compose_mounts_only_files_that_exist() -> None:
    compose = load_yaml(COMPOSE)
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
