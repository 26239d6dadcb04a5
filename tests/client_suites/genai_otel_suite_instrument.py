"""A pytest plugin that runs a client library's own test suite with genai-otel instrumenting it.

Loaded with ``-p genai_otel_suite_instrument`` by ``run.py`` (see there) on the second of its two runs
of a suite. At start-up it sets up a real OpenTelemetry SDK (spans, metrics and logs into memory) and
instruments the OpenAI and Ollama clients with every feature that reads a call on: content captured on spans and events, call
records, input hashes, active requests, Ollama's server metrics. Then:

* a test during which genai-otel reported an internal error (its own bug, which it swallows so that the
  host goes on) fails, with the error's log record;
* at the end, the spans started and ended are counted (after running the garbage collector, so that streams
  the suite dropped are ended as abandoned) and written for ``run.py``, which requires them to be equal.

Neither check needs the suite's cooperation: a suite that only ever sees its client's return values
cannot tell whether genai-otel was there, and that is what the comparison in ``run.py`` checks.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanProcessor

# Where the span counts go: this path, plus ".<pid>.json".
REPORT_ENV = "GENAI_OTEL_CLIENT_SUITE_REPORT"
# Every feature that reads a call, on; set before genai-otel reads its settings.
SETTINGS = {
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_AND_EVENT",
    "GENAI_OTEL_CALL_RECORDS": "true",
    "GENAI_OTEL_HASH_KEY": "client-suite-hash-key",
    "GENAI_OTEL_ACTIVE_REQUESTS": "true",
    "GENAI_OTEL_SERVER_METRICS": "true",
}


class _InternalErrors(logging.Handler):
    """Keeps genai-otel's reports of its own bugs (``_failsafe.report_internal_error``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "internal error" in record.getMessage():
            with self.lock:  # type: ignore[union-attr]
                self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        with self.lock:  # type: ignore[union-attr]
            taken, self.records = self.records, []
        return taken


class _SpanCounts(SpanProcessor):
    """Spans started and ended, and the names of those still open."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0
        self.open: dict[int, str] = {}
        self._lock = threading.Lock()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        with self._lock:
            self.started += 1
            self.open[span.context.span_id] = span.name

    def on_end(self, span: Any) -> None:
        with self._lock:
            self.ended += 1
            self.open.pop(span.context.span_id, None)


_errors = _InternalErrors()
_spans = _SpanCounts()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.update(SETTINGS)
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from genai_otel.ollama import OllamaInstrumentor
    from genai_otel.openai import OpenAIInstrumentor

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(_spans)
    config._genai_otel_exporter = InMemorySpanExporter()  # type: ignore[attr-defined]
    tracer_provider.add_span_processor(SimpleSpanProcessor(config._genai_otel_exporter))  # type: ignore[attr-defined]
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    providers = {
        "tracer_provider": tracer_provider,
        "meter_provider": meter_provider,
        "logger_provider": LoggerProvider(),
    }
    logging.getLogger("genai_otel").addHandler(_errors)
    OpenAIInstrumentor().instrument(**providers)
    OllamaInstrumentor().instrument(**providers)


@pytest.fixture(autouse=True)
def _no_internal_error(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    request.config._genai_otel_exporter.clear()  # type: ignore[attr-defined]  # keep memory flat
    errors = _errors.take()
    if errors:
        pytest.fail(
            "genai-otel reported an internal error during this test:\n"
            + "\n".join(record.getMessage() for record in errors),
            pytrace=False,
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every span started must have ended; written where ``run.py`` reads it (one file per process, since
    a suite may run under pytest-xdist)."""
    deadline = time.monotonic() + 10
    while True:
        gc.collect()
        if _spans.started == _spans.ended or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # abandoned streams are ended by genai-otel's own thread
    report = os.environ.get(REPORT_ENV)
    if report:
        summary = {
            "started": _spans.started,
            "ended": _spans.ended,
            "open": sorted(set(_spans.open.values())),
        }
        Path(f"{report}.{os.getpid()}.json").write_text(json.dumps(summary))
