"""Model-server availability on real components: Debian's blackbox exporter with deploy/blackbox's
modules, probing the loopback test server for Prometheus, which runs the shipped probe jobs of
deploy/prometheus/prometheus.yml and alerts.yml. Stop the server and GenAIModelServerDown goes pending.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from genai_otel.testing.fake_server import FakeLLMServer
from tests.e2e import _components as components
from tests.e2e.conftest import ALERT_RULES, wait_for

pytestmark = pytest.mark.e2e

DEPLOY = components.REPO_ROOT / "deploy"
BLACKBOX_CONFIG = DEPLOY / "blackbox" / "blackbox.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"


def probe_jobs(blackbox: components.BlackboxExporter, targets: dict[str, str]) -> list[dict[str, Any]]:
    """The shipped model-server-* jobs, pointed at the test's exporter and server (nothing else changed)."""
    jobs = []
    for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]:
        if job["job_name"] not in targets:
            continue
        job = copy.deepcopy(job)
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
        for rule in job["relabel_configs"]:
            if rule.get("target_label") == "__address__":
                rule["replacement"] = blackbox.address
        jobs.append(job)
    assert {job["job_name"] for job in jobs} == set(targets)
    return jobs


@pytest.fixture
def blackbox(e2e_dir: Path, debian_tools: dict[str, str]) -> Any:
    exporter = components.start_blackbox_exporter(
        e2e_dir, debian_tools["prometheus-blackbox-exporter"], BLACKBOX_CONFIG
    )
    try:
        yield exporter
    finally:
        exporter.server.stop()


def test_probe_modules_accept_the_model_lists_and_nothing_else(blackbox) -> None:
    with FakeLLMServer() as server:
        assert "probe_success 1" in blackbox.probe("ollama_tags", f"{server.base_url}/api/tags")
        assert "probe_success 1" in blackbox.probe("openai_models", f"{server.openai_base_url}/models")
        # A 200 that is not the model list (the OpenAI list where Ollama's is expected) fails.
        assert "probe_success 0" in blackbox.probe("ollama_tags", f"{server.openai_base_url}/models")
        assert "probe_success 0" in blackbox.probe("openai_models", f"{server.base_url}/api/tags")
        assert "probe_success 0" in blackbox.probe("ollama_tags", f"{server.base_url}/api/nothing")


def test_stopping_the_model_server_makes_the_down_alert_go_pending(
    e2e_dir: Path, debian_tools: dict[str, str], blackbox
) -> None:
    server = FakeLLMServer().start()
    targets = {
        "model-server-ollama": f"{server.base_url}/api/tags",
        "model-server-openai": f"{server.openai_base_url}/models",
    }
    log_dir = e2e_dir / "probes"
    log_dir.mkdir(exist_ok=True)
    prometheus = components.start_prometheus(
        log_dir,
        debian_tools["prometheus"],
        "unused",
        0,
        [ALERT_RULES],
        scrape_configs=probe_jobs(blackbox, targets),
    )
    try:
        up = wait_for(
            lambda: len([r for r in prometheus.query('probe_success{job=~"model-server-.*"} == 1')]) == 2,
            60,
            "both model servers probed up",
        )
        assert up
        assert not [
            a
            for a in prometheus.api("/api/v1/alerts")["alerts"]
            if a["labels"]["alertname"] == "GenAIModelServerDown"
        ]
        server.stop()

        def down_alerts() -> list[dict[str, Any]]:
            alerts = [
                alert
                for alert in prometheus.api("/api/v1/alerts")["alerts"]
                if alert["labels"]["alertname"] == "GenAIModelServerDown"
            ]
            return alerts if len(alerts) == 2 else []

        alerts = wait_for(down_alerts, 60, "GenAIModelServerDown for both servers")
        for alert in alerts:
            assert alert["state"] == "pending"  # for: 1m
            assert alert["labels"]["severity"] == "page"
            assert alert["labels"]["instance"] == targets[alert["labels"]["job"]]
            assert '"Model servers up" panel' in alert["annotations"]["description"]
    finally:
        server.stop()
        prometheus.server.stop()
