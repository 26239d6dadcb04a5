"""10,000 calls and 1,000 streams (some abandoned) leave no growth in memory or connections."""

from __future__ import annotations

import gc
import sys

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from genai_otel.openai import OpenAIInstrumentor
from tests.helpers import CountingExporter, growth_in_our_code, live_objects, open_fds

pytestmark = pytest.mark.slow
MESSAGES = [{"role": "user", "content": "hi"}]


def _workload(client: openai.OpenAI, calls: int, streams: int) -> None:
    for _ in range(calls):
        client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    for index in range(streams):
        stream = client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
        if index % 4 == 0:  # abandoned: read a little, never closed
            next(stream)
            next(stream)
            stream.response.close()  # the connection goes back; only the span is left to the GC
        elif index % 4 == 1:
            next(stream)
            stream.close()
        else:
            for _ in stream:
                pass
        del stream


@pytest.fixture
def instrumented_client(llm_server):
    exporter = CountingExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    llm_server.keep_requests(False)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)
    try:
        _workload(client, calls=300, streams=40)  # warm caches, pools and lazy imports
        gc.collect()
        yield client, exporter
    finally:
        instrumentor.uninstrument()
        llm_server.keep_requests(True)
        client.close()


def test_no_growth_over_ten_thousand_calls_and_a_thousand_streams(instrumented_client) -> None:
    from genai_otel.operation import Operation
    from genai_otel.recording import Call
    from genai_otel.streaming import TracedIterator

    client, exporter = instrumented_client
    exported_before = exporter.count
    fds_before = open_fds()
    blocks_before = sys.getallocatedblocks()
    _workload(client, calls=10_000, streams=1_000)
    gc.collect()
    blocks_after = sys.getallocatedblocks()

    assert exporter.count - exported_before == 11_000  # every span ended, exactly once
    assert exporter.outcomes["abandoned"] >= 250 and exporter.outcomes["closed_early"] >= 250
    assert live_objects(Call, Operation, TracedIterator) == 0  # nothing of ours outlives its call
    assert open_fds() <= fds_before + 2  # no connection leak
    assert blocks_after - blocks_before < 5_000, blocks_after - blocks_before


def test_growth_is_not_in_our_code(instrumented_client) -> None:
    client, _ = instrumented_client
    grown, largest = growth_in_our_code(lambda: _workload(client, calls=1_000, streams=100))
    assert grown < 16 * 1024, largest
