"""Thousands of Ollama calls and streams (some closed early, some abandoned), sync and async, leave no growth
in memory or connections, and every span ends exactly once."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.helpers import CountingExporter, growth_in_our_code, live_objects, open_fds

ollama = pytest.importorskip("ollama")

from genai_otel.ollama import OllamaInstrumentor  # noqa: E402  (after the importorskip)

pytestmark = pytest.mark.slow
MESSAGES = [{"role": "user", "content": "hi"}]


def _workload(client: ollama.Client, calls: int, streams: int) -> None:
    for index in range(calls):
        if index % 2:
            client.chat(model="llama-test", messages=MESSAGES)
        else:
            client.generate(model="llama-test", prompt="hi")
    for index in range(streams):
        stream = client.chat(model="llama-test", messages=MESSAGES, stream=True)
        if index % 4 == 0:  # abandoned: read a little, never closed
            next(stream)
        elif index % 4 == 1:
            next(stream)
            stream.close()
        else:
            for _ in stream:
                pass
        del stream


async def _async_workload(host: str, streams: int) -> None:
    client = ollama.AsyncClient(host=host)
    for index in range(streams):
        stream = await client.chat(model="llama-test", messages=MESSAGES, stream=True)
        if index % 3 == 0:  # abandoned; the event loop's finalizer hook closes it on a later turn
            await stream.__anext__()
        elif index % 3 == 1:
            await stream.__anext__()
            await stream.aclose()
        else:
            async for _ in stream:
                pass
        del stream
        await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)
    await client._client.aclose()


@pytest.fixture
def instrumented(llm_server):
    exporter = CountingExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()])
    )
    llm_server.keep_requests(False)
    client = ollama.Client(host=llm_server.base_url)
    try:
        _workload(client, calls=300, streams=40)  # warm caches, pools and lazy imports
        asyncio.run(_async_workload(llm_server.base_url, streams=30))
        gc.collect()
        yield client, exporter
    finally:
        instrumentor.uninstrument()
        llm_server.keep_requests(True)
        client._client.close()


def test_no_growth_over_thousands_of_calls_and_streams(instrumented, llm_server) -> None:
    from genai_otel.operation import Operation
    from genai_otel.recording import Call
    from genai_otel.streaming import TracedAsyncIterator, TracedIterator

    client, exporter = instrumented
    exported_before = exporter.count
    fds_before = open_fds()
    blocks_before = sys.getallocatedblocks()
    _workload(client, calls=5_000, streams=1_000)
    asyncio.run(_async_workload(llm_server.base_url, streams=300))
    gc.collect()
    blocks_after = sys.getallocatedblocks()

    assert exporter.count - exported_before == 6_300  # every span ended, exactly once
    assert exporter.outcomes["abandoned"] >= 250 + 100 and exporter.outcomes["closed_early"] >= 250 + 100
    assert (
        live_objects(Call, Operation, TracedIterator, TracedAsyncIterator) == 0
    )  # nothing of ours outlives its call
    assert open_fds() <= fds_before + 2  # no connection leak
    assert blocks_after - blocks_before < 5_000, blocks_after - blocks_before


def test_growth_is_not_in_our_code(instrumented) -> None:
    client, _ = instrumented
    grown, largest = growth_in_our_code(lambda: _workload(client, calls=1_000, streams=100))
    assert grown < 16 * 1024, largest
