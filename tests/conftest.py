"""Shared fixtures: a real loopback LLM server, real SDK providers with in-memory export."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_otel.testing.fake_server import FakeLLMServer


class EndCounter(SpanProcessor):
    """Counts how often each span reaches on_end: every span must end exactly once."""

    def __init__(self) -> None:
        self.ends: Counter[int] = Counter()

    def on_end(self, span: ReadableSpan) -> None:
        self.ends[span.context.span_id] += 1


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.end_counter = EndCounter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.end_counter)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

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
