"""Fixtures of the deployment tests: real components installed and started by the tests themselves.

Tests marked ``e2e`` need Debian packages, venvs under .e2e/ and servers on 127.0.0.1. They are left
out of a run unless it selects them: ``pytest -m e2e`` (what ``make test-e2e`` and so CI run), or any
``-m`` expression naming e2e, or ``GENAI_OTEL_E2E=1``. The static deployment checks in this directory
are not marked and run everywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genai_otel.testing.fake_server import FakeLLMServer
from tests.e2e import _components as components

ROTEL_SCRUB_PROCESSOR = components.REPO_ROOT / "deploy" / "rotel" / "scrub_processor.py"
ALERT_RULES = components.REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"
APP = Path(__file__).with_name("_app.py")
PROMETHEUS_JOB = "genai-e2e-app"

# What --plant and --pii-prompt put into telemetry. None of it may reach a backend behind a scrub
# stage or with redaction on.
PLANTED = {
    "content": "PLANTED-CONTENT-7f3a9c the customer's whole message",
    "email": "jane.doe@example.com",
    "card": "4111 1111 1111 1111",
    "ssn": "123-45-6789",
    "api_key": "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2",
    "aws_key": "AKIAIOSFODNN7EXAMPLE",
    "bearer": "abcDEF123ghiJKL456mnoPQR",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBsYW50ZWQ",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = config.getoption("markexpr", "") or ""
    if "e2e" in markexpr or os.environ.get("GENAI_OTEL_E2E") == "1":
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("e2e") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def debian_tools() -> dict[str, str]:
    return components.ensure_debian_packages(
        {
            "promtool": "prometheus",
            "prometheus": "prometheus",
            "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
            "docker-compose": "docker-compose",
        }
    )


@pytest.fixture(scope="session")
def phoenix(e2e_dir: Path) -> Iterator[components.Phoenix]:
    server = components.start_phoenix(e2e_dir)
    try:
        yield server
    finally:
        server.server.stop()


@pytest.fixture(scope="session")
def rotel_plain(e2e_dir: Path, phoenix: components.Phoenix) -> Iterator[components.Rotel]:
    """rotel forwarding to Phoenix untouched: shows what the app itself sends."""
    rotel = components.start_rotel("rotel-plain", e2e_dir, phoenix.base_url, None)
    try:
        yield rotel
    finally:
        rotel.server.stop()


@pytest.fixture(scope="session")
def rotel_scrub(e2e_dir: Path, phoenix: components.Phoenix) -> Iterator[components.Rotel]:
    """rotel running deploy/rotel/scrub_processor.py, the Collector's scrub stage."""
    rotel = components.start_rotel("rotel-scrub", e2e_dir, phoenix.base_url, ROTEL_SCRUB_PROCESSOR)
    try:
        yield rotel
    finally:
        rotel.server.stop()


@pytest.fixture(scope="session")
def e2e_llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        server.keep_requests(False)
        yield server


@pytest.fixture(scope="session")
def rate_card(e2e_dir: Path) -> Path:
    """Prices for the fake models, so that genai-otel meters cost (issue 5) when it can."""
    card = e2e_dir / "rate-card.json"
    card.write_text(
        json.dumps(
            {
                "version": "e2e-2026-11",
                "currency": "USD",
                "models": {
                    "gpt-test*": {"input": 1.0, "output": 4.0},
                    "text-embedding-test*": {"input": 0.02, "output": 0.0},
                },
            }
        )
    )
    return card


def app_environment(service: str, rate_card: Path, **overrides: str) -> dict[str, str]:
    """The environment a user sets for opentelemetry-instrument (docs/deployment.md), plus overrides."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "GENAI_OTEL_"))}
    env.update(
        {
            "OTEL_SERVICE_NAME": service,
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            # Export spans within a fraction of a second instead of every 5 s.
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "GENAI_OTEL_RATE_CARD": str(rate_card),
            "E2E_PLANTED": json.dumps(PLANTED),
        }
    )
    env.update(overrides)
    return env


def traces_to(rotel: components.Rotel, project: str) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": rotel.http_endpoint,
        # Phoenix files spans under the project this resource attribute names.
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project},deployment.environment.name=e2e",
    }


def instrument_command(*args: str) -> list[str]:
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    return [str(instrument), sys.executable, str(APP), *args]


def run_app(env: dict[str, str], *args: str, timeout: float = 120.0) -> None:
    """One round of app traffic under opentelemetry-instrument; spans are flushed when it exits."""
    started = time.monotonic()
    done = subprocess.run(instrument_command(*args), env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"app failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )
    print(f"[e2e] app run {args}: {time.monotonic() - started:.1f} s", file=sys.stderr)


class MetricsApp:
    def __init__(self, server: components.Server, metrics_port: int) -> None:
        self.server = server
        self.metrics_port = metrics_port
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"


@pytest.fixture(scope="session")
def metrics_app(e2e_dir: Path, e2e_llm: FakeLLMServer, rate_card: Path) -> Iterator[MetricsApp]:
    """The app under opentelemetry-instrument with the Prometheus exporter, making calls until stopped."""
    port = components.free_port()
    env = app_environment(
        "genai-e2e-metrics",
        rate_card,
        OTEL_METRICS_EXPORTER="prometheus",
        # Opt-in metrics are scraped too, so that their Prometheus names are checked.
        GENAI_OTEL_ACTIVE_REQUESTS="true",
        OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
        OTEL_EXPORTER_PROMETHEUS_PORT=str(port),
    )
    server = components.Server(
        "metrics-app", instrument_command("--llm", e2e_llm.openai_base_url, "--serve"), e2e_dir, env
    )
    try:
        server.wait_until(lambda: "READY" in server.log_path.read_text(errors="replace"), 60, "READY")
        server.wait_until(
            lambda: components.http_get(f"http://127.0.0.1:{port}/metrics", 2)[0] == 200, 30, "/metrics"
        )
        yield MetricsApp(server, port)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prometheus(
    e2e_dir: Path, debian_tools: dict[str, str], metrics_app: MetricsApp
) -> Iterator[components.Prometheus]:
    """Debian's Prometheus scraping the app every second, with deploy/prometheus/alerts.yml loaded."""
    server = components.start_prometheus(
        e2e_dir, debian_tools["prometheus"], PROMETHEUS_JOB, metrics_app.metrics_port, [ALERT_RULES]
    )
    try:
        yield server
    finally:
        server.server.stop()


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{what} not seen within {timeout:.0f} s (last: {last!r})")
