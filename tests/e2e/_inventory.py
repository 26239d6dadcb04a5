"""Prints, as JSON, every metric instrument genai-otel creates: name, kind and unit.

Run in a fresh interpreter (``python tests/e2e/_inventory.py``) because it installs a global meter
provider, which OpenTelemetry allows once per process. The provider records each ``create_*`` call
and otherwise behaves as the no-op provider. The script instruments every client genai-otel ships
(as ``opentelemetry-instrument`` would) and drives a few calls through a loopback server, including
the product-decision API when it exists, so instruments created lazily are seen too.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import NoOpMeter

_KINDS = {
    "create_counter": "counter",
    "create_observable_counter": "counter",
    "create_histogram": "histogram",
    # Non-monotonic sums and gauges are both gauges in Prometheus.
    "create_up_down_counter": "gauge",
    "create_observable_up_down_counter": "gauge",
    "create_gauge": "gauge",
    "create_observable_gauge": "gauge",
}
SEEN: dict[str, dict[str, str]] = {}


class _RecordingMeter(NoOpMeter):
    pass


def _recording(method: str) -> Any:
    original = getattr(NoOpMeter, method)
    signature = inspect.signature(original)

    def create(self: NoOpMeter, name: str, *args: Any, **kwargs: Any) -> Any:
        unit = signature.bind(self, name, *args, **kwargs).arguments.get("unit", "")
        SEEN[name] = {"kind": _KINDS[method], "unit": unit or ""}
        return original(self, name, *args, **kwargs)

    return create


for _method in _KINDS:
    setattr(_RecordingMeter, _method, _recording(_method))


class _RecordingMeterProvider(metrics.MeterProvider):
    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> metrics.Meter:
        return _RecordingMeter(name, version, schema_url)


def _drive_calls() -> None:
    """A few real calls through every patched client, so lazily created instruments show up."""
    import genai_otel
    from genai_otel.testing.fake_server import FakeLLMServer

    with FakeLLMServer() as server:
        try:
            import openai
        except ImportError:
            return
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-inventory", max_retries=0)
        messages = [{"role": "user", "content": "hi"}]
        if hasattr(genai_otel, "product_context") and hasattr(genai_otel, "record_outcome"):
            with genai_otel.product_context(template_id="inventory", evidence_version="v0"):
                client.chat.completions.create(model="gpt-test", messages=messages)
                genai_otel.record_outcome(
                    route="serve", first_failed_stage="passed", unsafe_claim_served=False
                )
                if hasattr(genai_otel, "record_cache_lookup"):
                    genai_otel.record_cache_lookup(False)
        else:
            client.chat.completions.create(model="gpt-test", messages=messages)
        if hasattr(genai_otel, "record_evaluation"):
            genai_otel.record_evaluation("inventory", score=1.0, label="pass")
        stream = client.chat.completions.create(
            model="gpt-test", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        for _ in stream:
            pass
        client.close()


def _rate_card() -> None:
    """Cost is only metered with a rate card: give the run one (an unknown variable is ignored)."""
    card = Path(tempfile.mkdtemp(prefix="genai-otel-inventory-")) / "rate-card.json"
    card.write_text(
        json.dumps(
            {
                "version": "inventory",
                "currency": "USD",
                "models": {"gpt-test*": {"input": 1.0, "output": 2.0}},
            }
        )
    )
    os.environ["GENAI_OTEL_RATE_CARD"] = str(card)


def _content_store() -> None:
    """The content store's drop counter exists only with a store (and capture on): give the run one."""
    os.environ["GENAI_OTEL_CONTENT_STORE"] = tempfile.mkdtemp(prefix="genai-otel-inventory-store-")
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"


def main() -> int:
    _rate_card()
    # Opt-in instruments are part of the inventory too.
    os.environ["GENAI_OTEL_ACTIVE_REQUESTS"] = "true"
    os.environ["GENAI_OTEL_SERVER_METRICS"] = "true"
    _content_store()
    provider = _RecordingMeterProvider()
    metrics.set_meter_provider(provider)
    for entry_point in entry_points(group="opentelemetry_instrumentor"):
        if not entry_point.value.startswith("genai_otel"):
            continue
        try:
            instrumentor = entry_point.load()()
            instrumentor.instrument(meter_provider=provider)
        except Exception as exc:  # a client library that is not installed: its adapter cannot load
            print(f"skipped {entry_point.name}: {exc!r}", file=sys.stderr)
    _drive_calls()
    json.dump(SEEN, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
