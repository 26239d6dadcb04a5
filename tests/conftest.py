"""Shared fixtures: a real loopback LLM server, real SDK providers with in-memory export."""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_otel.testing.fake_server import FakeLLMServer
from tests.helpers import BytesServer


class EndCounter(SpanProcessor):
    """Counts how often each span reaches on_end: every span must end exactly once."""

    def __init__(self) -> None:
        self.ends: Counter[tuple[int, int, int | None]] = Counter()

    def on_end(self, span: ReadableSpan) -> None:
        # Hypothesis seeds `random`, so ids can repeat across examples; the start time tells spans apart.
        self.ends[(span.context.trace_id, span.context.span_id, span.start_time)] += 1


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.end_counter = EndCounter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.end_counter)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.log_exporter = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))

    def providers(self) -> dict[str, Any]:
        return {
            "tracer_provider": self.tracer_provider,
            "meter_provider": self.meter_provider,
            "logger_provider": self.logger_provider,
        }

    def logs(self) -> list[Any]:
        return [item.log_record for item in self.log_exporter.get_finished_logs()]

    def exported_text(self) -> str:
        """Everything exported (spans with events and status, log records, metric attributes) as text,
        for checking that a value appears nowhere."""
        parts: list[str] = []
        for span in self.spans():
            parts.append(span.to_json())
        for record in self.logs():
            parts.append(
                json.dumps({"attributes": dict(record.attributes or {}), "body": record.body}, default=str)
            )
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    for point in metric.data.data_points:
                        parts.append(json.dumps(dict(point.attributes or {}), default=str))
        return "\n".join(parts)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def assert_each_span_ended_once(self) -> None:
        gc.collect()
        assert all(count == 1 for count in self.end_counter.ends.values()), self.end_counter.ends

    def metric_points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        points: list[Any] = []
        if data is None:
            return points
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def metric_snapshot(self) -> dict[str, list[Any]]:
        """All points of one collection, by metric name (exemplars are reset by each collection)."""
        snapshot: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    snapshot.setdefault(metric.name, []).extend(metric.data.data_points)
        return snapshot

    def metric(self, name: str) -> Any:
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        return metric
        return None


@pytest.fixture(scope="session")
def llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def bytes_server() -> Iterator[BytesServer]:
    """A loopback server answering with the exact bytes given to ``serve()``."""
    server = BytesServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


@pytest.fixture
def openai_instrumented(telemetry: Telemetry) -> Iterator[Telemetry]:
    from genai_otel.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        yield telemetry
    finally:
        instrumentor.uninstrument()
        telemetry.assert_each_span_ended_once()


@pytest.fixture
def instrument_openai(telemetry: Telemetry) -> Iterator[Any]:
    """Instrument OpenAI with extra ``instrument()`` arguments: ``instrument_openai(capture_message_content=...)``."""
    from genai_otel.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()

    def instrument(**kwargs: Any) -> Telemetry:
        instrumentor.instrument(**telemetry.providers(), **kwargs)
        return telemetry

    try:
        yield instrument
    finally:
        instrumentor.uninstrument()
        telemetry.assert_each_span_ended_once()


@pytest.fixture
def instrument_both(telemetry: Telemetry) -> Iterator[Any]:
    """Both instrumentors and the product API with the same settings, on the test's providers."""
    from genai_otel.ollama import OllamaInstrumentor
    from genai_otel.openai import OpenAIInstrumentor
    from genai_otel.product import configure_product

    instrumentors = [OpenAIInstrumentor(), OllamaInstrumentor()]

    def instrument(**kwargs: Any) -> Any:
        for instrumentor in instrumentors:
            instrumentor.instrument(**telemetry.providers(), **kwargs)
        configure_product(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, **kwargs
        )
        return telemetry

    try:
        yield instrument
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        configure_product()
        telemetry.assert_each_span_ended_once()


@pytest.fixture
def openai_client(llm_server: FakeLLMServer) -> Any:
    import openai

    client = openai.OpenAI(
        base_url=llm_server.openai_base_url, api_key="sk-test-not-a-real-key-000", max_retries=0
    )
    yield client
    client.close()


@pytest.fixture
def async_openai_client(llm_server: FakeLLMServer) -> Any:
    import openai

    return openai.AsyncOpenAI(
        base_url=llm_server.openai_base_url, api_key="sk-test-not-a-real-key-000", max_retries=0
    )


# --- Ollama ------------------------------------------------------------------------------------------------
def _ollama_instrumented(telemetry: Telemetry, **settings: Any) -> Iterator[Telemetry]:
    pytest.importorskip("ollama")
    from genai_otel.ollama import OllamaInstrumentor

    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, **settings
    )
    try:
        yield telemetry
    finally:
        instrumentor.uninstrument()
        telemetry.assert_each_span_ended_once()


@pytest.fixture
def ollama_instrumented(telemetry: Telemetry) -> Iterator[Telemetry]:
    yield from _ollama_instrumented(telemetry)


@pytest.fixture
def ollama_server_metrics(telemetry: Telemetry) -> Iterator[Telemetry]:
    """Ollama instrumented with the gen_ai.server.* metrics on (``server_metrics=True``)."""
    yield from _ollama_instrumented(telemetry, server_metrics=True)


@pytest.fixture
def ollama_client(llm_server: FakeLLMServer) -> Any:
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host=llm_server.base_url)
    yield client
    client._client.close()


@pytest.fixture
def async_ollama_client(llm_server: FakeLLMServer) -> Any:
    ollama = pytest.importorskip("ollama")
    return ollama.AsyncClient(host=llm_server.base_url)
