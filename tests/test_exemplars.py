"""Every metric point a call or a tool records carries an exemplar of *its own* span (docs/telemetry.md).

With the SDK's default exemplar filter (``trace_based``) a measurement gets an exemplar from the span of
the context it is recorded in. Ours are recorded in the context of the LLM (or tool) span, whatever is
current when the call ends: no span (a script), the application's span (a request handler), or, for a
stream, whatever the caller has current while it reads or drops the stream. Real clients over loopback
HTTP, the real SDK.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import genai_otel
from genai_otel import semconv as sc
from genai_otel import streaming
from genai_otel.product import configure_product

QUESTION = [{"role": "user", "content": "Where is my parcel?"}]
CARD = {"version": "card-1", "models": {"*": {"input": 1.0, "output": 2.0}}}
# Every instrument a call can record into, each on.
EVERYTHING = {"active_requests": True, "server_metrics": True, "rate_card": CARD}


def _points_by_metric(telemetry: Any) -> dict[str, list[Any]]:
    """This collection's points of genai-otel's call metrics, by name (a collection resets exemplars)."""
    return {
        name: points
        for name, points in telemetry.metric_snapshot().items()
        if name.startswith(("gen_ai.", "genai_otel."))
    }


def _assert_exemplars_point_at(telemetry: Any, span: Any, expected: set[str]) -> None:
    """Every point of ``expected`` has exemplars of ``span``; active requests, when on, have none."""
    points = _points_by_metric(telemetry)
    # A gauge to Prometheus, which carries no exemplars on gauges: the SDK is spared keeping them.
    active = points.pop(sc.METRIC_CLIENT_ACTIVE_REQUESTS, [])
    assert all(not point.exemplars for point in active)
    assert set(points) == expected
    for name, metric_points in points.items():
        for point in metric_points:
            assert point.exemplars, name
            for exemplar in point.exemplars:
                assert (exemplar.trace_id, exemplar.span_id) == (
                    span.context.trace_id,
                    span.context.span_id,
                ), name


def _llm_span(telemetry: Any) -> Any:
    (span,) = [s for s in telemetry.spans() if s.attributes.get(sc.GEN_AI_PROVIDER_NAME)]
    return span


CALL_METRICS = {sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE}
OLLAMA_CALL_METRICS = CALL_METRICS | {
    sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN,
    sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN,
    sc.METRIC_CLIENT_COST,
}
STREAM_METRICS = {sc.METRIC_TIME_TO_FIRST_CHUNK, sc.METRIC_TIME_PER_OUTPUT_CHUNK}


@pytest.mark.parametrize("parent", [False, True], ids=["no parent span", "inside the app's span"])
def test_a_call_s_points_point_at_its_span(instrument_both, ollama_client, parent: bool) -> None:
    telemetry = instrument_both(**EVERYTHING)
    if parent:
        with telemetry.tracer_provider.get_tracer("app").start_as_current_span("handle request"):
            ollama_client.chat(model="llama3.2", messages=QUESTION)
    else:
        ollama_client.chat(model="llama3.2", messages=QUESTION)
    _assert_exemplars_point_at(telemetry, _llm_span(telemetry), OLLAMA_CALL_METRICS)
    assert telemetry.metric(sc.METRIC_CLIENT_ACTIVE_REQUESTS) is not None  # on, and without exemplars


def test_openai_sync_and_async_calls(instrument_openai, openai_client, async_openai_client) -> None:
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    _assert_exemplars_point_at(telemetry, telemetry.span(), CALL_METRICS)
    telemetry.exporter.clear()
    asyncio.run(async_openai_client.chat.completions.create(model="gpt-test", messages=QUESTION))
    _assert_exemplars_point_at(telemetry, telemetry.span(), CALL_METRICS)


def test_a_failed_call_s_duration_points_at_its_span(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai()
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(
            model="gpt-test", messages=QUESTION, extra_headers={"X-Fake-Scenario": "status-500"}
        )
    (point,) = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert point.attributes[sc.ERROR_TYPE] == "openai.InternalServerError"
    assert [e.span_id for e in point.exemplars] == [telemetry.span().context.span_id]


@pytest.mark.parametrize("client", ["openai", "ollama"])
def test_a_stream_read_under_another_span_points_at_the_stream_s_span(
    instrument_both, openai_client, ollama_client, client: str
) -> None:
    telemetry = instrument_both()
    if client == "openai":
        stream = openai_client.chat.completions.create(
            model="gpt-test", messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
    else:
        stream = ollama_client.chat(model="llama3.2", messages=QUESTION, stream=True)
    # Read to its end while another span is current: it is not the stream's.
    with telemetry.tracer_provider.get_tracer("app").start_as_current_span("render"):
        for _ in stream:
            pass
    _assert_exemplars_point_at(telemetry, _llm_span(telemetry), CALL_METRICS | STREAM_METRICS)


@pytest.mark.parametrize("client", ["openai", "ollama"])
def test_a_stream_s_chunk_gaps_carry_one_exemplar_on_the_slowest(
    instrument_both, llm_server, openai_client, client: str
) -> None:
    telemetry = instrument_both()
    headers = {"X-Fake-Chunks": "40"}
    if client == "openai":
        stream = openai_client.chat.completions.create(
            model="gpt-test", messages=QUESTION, stream=True, extra_headers=headers
        )
    else:
        ollama = pytest.importorskip("ollama")

        stream = ollama.Client(host=llm_server.base_url, headers=headers).chat(
            model="llama3.2", messages=QUESTION, stream=True
        )
    for _ in stream:
        pass
    (point,) = telemetry.metric_points(sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    assert point.count >= 30
    (exemplar,) = point.exemplars
    assert exemplar.value == point.max
    assert exemplar.span_id == _llm_span(telemetry).context.span_id


def test_a_stream_closed_under_another_span_points_at_the_stream_s_span(
    instrument_both, ollama_client
) -> None:
    telemetry = instrument_both()
    stream = ollama_client.chat(model="llama3.2", messages=QUESTION, stream=True)
    with telemetry.tracer_provider.get_tracer("app").start_as_current_span("render"):
        for index, _chunk in enumerate(stream):
            if index == 2:
                break
        stream.close()
    span = _llm_span(telemetry)
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == sc.OUTCOME_CLOSED_EARLY
    _assert_exemplars_point_at(telemetry, span, STREAM_METRICS)


def test_an_abandoned_stream_ended_by_the_collector_points_at_its_span(
    instrument_both, ollama_client
) -> None:
    telemetry = instrument_both(active_requests=True)
    stream = ollama_client.chat(model="llama3.2", messages=QUESTION, stream=True)
    iterator = iter(stream)
    next(iterator)
    next(iterator)
    del stream, iterator
    with telemetry.tracer_provider.get_tracer("app").start_as_current_span("elsewhere"):
        gc.collect()
    span = _llm_span(telemetry)
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == sc.OUTCOME_ABANDONED
    # An interrupted call feeds no duration; what it did record points at it.
    _assert_exemplars_point_at(telemetry, span, STREAM_METRICS)


def test_a_tool_s_duration_points_at_the_tool_span(instrument_both) -> None:
    telemetry = instrument_both()

    @genai_otel.tool
    def track_parcel(parcel_id: str) -> str:
        return "in transit"

    with telemetry.tracer_provider.get_tracer("app").start_as_current_span("agent step"):
        track_parcel("48213")
    (tool_span,) = [s for s in telemetry.spans() if s.name == "execute_tool track_parcel"]
    (point,) = telemetry.metric_points(sc.METRIC_TOOL_DURATION)
    assert [e.span_id for e in point.exemplars] == [tool_span.context.span_id]


def test_sampled_out_calls_carry_no_exemplar_and_lose_no_point(llm_server, ollama_client) -> None:
    from genai_otel.ollama import OllamaInstrumentor

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    try:
        ollama_client.chat(model="llama3.2", messages=QUESTION)
        for _ in ollama_client.chat(model="llama3.2", messages=QUESTION, stream=True):
            pass
    finally:
        instrumentor.uninstrument()
        configure_product()
    assert exporter.get_finished_spans() == ()
    names = set()
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                names.add(metric.name)
                assert all(not point.exemplars for point in metric.data.data_points), metric.name
    assert names >= CALL_METRICS | STREAM_METRICS


class _CountingFilter(TraceBasedExemplarFilter):
    """The SDK's default filter, counting the measurements it lets keep an exemplar."""

    def __init__(self) -> None:
        self.sampled = 0

    def should_sample(self, *args: Any, **kwargs: Any) -> bool:
        sampled = super().should_sample(*args, **kwargs)
        self.sampled += sampled
        return sampled


def test_a_long_stream_s_gaps_carry_one_exemplar_per_flushed_batch(
    monkeypatch, llm_server, openai_client
) -> None:
    """Streams longer than the gap buffer record their gaps in batches as they go: one exemplar each."""
    from genai_otel.openai import OpenAIInstrumentor

    monkeypatch.setattr(streaming, "_FLUSH_EVERY", 10)
    exemplar_filter = _CountingFilter()
    tracer_provider = TracerProvider()
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], exemplar_filter=exemplar_filter)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        stream = openai_client.chat.completions.create(
            model="gpt-test",
            messages=QUESTION,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"X-Fake-Chunks": "45"},
        )
        for _ in stream:
            pass
    finally:
        instrumentor.uninstrument()
    points = {
        metric.name: metric.data.data_points
        for resource_metrics in reader.get_metrics_data().resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }
    (gaps,) = points[sc.METRIC_TIME_PER_OUTPUT_CHUNK]
    chunks = gaps.count + 1
    batches = -(-chunks // 10)  # a flush at every 10th chunk, then the rest at the end
    assert batches >= 5
    # Duration, time to first chunk and two token counts, one exemplar each; the gaps, one per batch.
    assert exemplar_filter.sampled == 4 + batches
