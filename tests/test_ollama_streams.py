"""Ollama streams keep the client's contract (a lazy generator of its response objects) and end their
span exactly once, however they end."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import os
import socket
import subprocess
import sys
import time
import types

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from genai_otel import semconv as sc
from tests.helpers import TRACK_PARCEL_TOOL

ollama = pytest.importorskip("ollama")

MESSAGES = [{"role": "user", "content": "Where is my parcel?"}]


def _stream(client, model: str = "llama-test", **kwargs):
    return client.chat(model=model, messages=MESSAGES, stream=True, **kwargs)


def _chunky_client(server, chunks: int = 20, **kwargs) -> ollama.Client:
    return ollama.Client(host=server.base_url, headers={"X-Fake-Chunks": str(chunks)}, **kwargs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the contract ---------------------------------------------------------------------------------------------
def test_consumed_stream_keeps_type_and_records_everything(ollama_server_metrics, llm_server) -> None:
    client = _chunky_client(llm_server, chunks=20)
    original = vars(ollama.Client)["chat"].__wrapped__
    uninstrumented = original(client, model="llama-test", messages=MESSAGES, stream=True)
    stream = _stream(client)
    assert type(stream) is type(uninstrumented) is types.GeneratorType
    assert inspect.isgenerator(stream)
    uninstrumented.close()

    chunks = list(stream)
    assert all(isinstance(chunk, ollama.ChatResponse) for chunk in chunks)
    assert "".join(chunk.message.content for chunk in chunks).startswith("w0 w1")
    final = chunks[-1]
    assert final.done and not chunks[-2].done
    span = ollama_server_metrics.span()
    attributes = span.attributes
    assert span.name == "chat llama-test"
    assert attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert attributes[sc.GEN_AI_RESPONSE_MODEL] == "llama-test:latest"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == final.prompt_eval_count
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == final.eval_count
    assert attributes[sc.OLLAMA_RESPONSE_EVAL_DURATION] == final.eval_duration / 1e9
    assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] == 21  # 20 pieces and the done message
    assert sc.GENAI_OTEL_OUTCOME not in attributes
    assert span.status.status_code is StatusCode.UNSET

    (first_chunk,) = ollama_server_metrics.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)
    assert first_chunk.count == 1
    (per_chunk,) = ollama_server_metrics.metric_points(sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    assert per_chunk.count == 20
    assert len(ollama_server_metrics.metric_points(sc.METRIC_OPERATION_DURATION)) == 1
    tokens = {
        p.attributes[sc.GEN_AI_TOKEN_TYPE]: p.sum
        for p in ollama_server_metrics.metric_points(sc.METRIC_TOKEN_USAGE)
    }
    assert tokens == {"input": final.prompt_eval_count, "output": final.eval_count}
    (per_token,) = ollama_server_metrics.metric_points(sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN)
    assert per_token.sum == pytest.approx(final.eval_duration / 1e9 / (final.eval_count - 1))


@pytest.mark.parametrize("asynchronous", [False, True])
def test_the_request_waits_for_the_first_next_and_the_first_chunk_is_timed_from_it(
    ollama_instrumented, llm_server, asynchronous
) -> None:
    """Semconv times the first chunk "from when the client issues the generation request", which a lazy
    stream does on the first next(); the span and its duration start at the call."""
    requests_before = len(llm_server.requests)
    if asynchronous:
        client = ollama.AsyncClient(host=llm_server.base_url)

        async def read() -> tuple[float, float]:
            stream = await _stream(client)
            assert len(llm_server.requests) == requests_before  # lazy, as without instrumentation
            time.sleep(0.05)
            asked = time.perf_counter()
            await stream.__anext__()
            got = time.perf_counter()
            assert len(llm_server.requests) == requests_before + 1
            async for _ in stream:
                pass
            return asked, got

        asked, got = asyncio.run(read())
    else:
        stream = _stream(ollama.Client(host=llm_server.base_url))
        assert len(llm_server.requests) == requests_before  # lazy, as without instrumentation
        time.sleep(0.05)
        asked = time.perf_counter()
        next(stream)
        got = time.perf_counter()
        assert len(llm_server.requests) == requests_before + 1
        list(stream)
    span = ollama_instrumented.span()
    # Both bounds are readings of the same clock around the step: no assumption about speed.
    assert 0 < span.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] <= got - asked
    (point,) = ollama_instrumented.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)
    assert point.sum <= got - asked
    assert (span.end_time - span.start_time) / 1e9 >= 0.05  # the span starts at the call, before the sleep


def test_span_is_current_for_the_http_request_only(ollama_instrumented, llm_server) -> None:
    seen: list[int] = []
    client = ollama.Client(
        host=llm_server.base_url,
        event_hooks={
            "request": [lambda request: seen.append(trace.get_current_span().get_span_context().span_id)]
        },
    )
    before = trace.get_current_span()
    stream = _stream(client)
    assert trace.get_current_span() is before
    next(stream)
    assert trace.get_current_span() is before
    list(stream)
    assert seen == [ollama_instrumented.span().context.span_id]


def test_generate_stream(ollama_instrumented, ollama_client) -> None:
    chunks = list(ollama_client.generate(model="llama-test", prompt="Where is my parcel?", stream=True))
    assert all(isinstance(chunk, ollama.GenerateResponse) for chunk in chunks)
    span = ollama_instrumented.span()
    assert span.name == "text_completion llama-test"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == chunks[-1].eval_count
    assert span.attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] == len(chunks)


def test_length_limit_on_a_stream(ollama_instrumented, ollama_client) -> None:
    chunks = list(_stream(ollama_client, options={"num_predict": 2}))
    assert chunks[-1].done_reason == "length"
    assert ollama_instrumented.span().attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("length",)


def test_streamed_tool_calls(ollama_instrumented, ollama_client) -> None:
    chunks = list(_stream(ollama_client, tools=[TRACK_PARCEL_TOOL]))
    calls = [call for chunk in chunks for call in chunk.message.tool_calls or ()]
    assert [call.function.name for call in calls] == ["track_parcel"]
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 1
    assert attributes[sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT] == 1


def test_streamed_thinking_counts_as_output(ollama_instrumented, ollama_client) -> None:
    if "think" not in inspect.signature(ollama.Client.chat).parameters:
        pytest.skip("no think parameter in this ollama version")
    chunks = list(_stream(ollama_client, think=True))
    thinking = [chunk for chunk in chunks if chunk.message.thinking]
    assert thinking and chunks[0] is thinking[0]
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.OLLAMA_REQUEST_THINK] == "true"
    assert attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] == len(chunks)
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == chunks[-1].eval_count


def test_time_per_output_chunk_can_be_switched_off(telemetry, ollama_client) -> None:
    from genai_otel.ollama import OllamaInstrumentor

    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        time_per_output_chunk=False,
    )
    try:
        list(_stream(ollama_client))
    finally:
        instrumentor.uninstrument()
    assert telemetry.metric_points(sc.METRIC_TIME_PER_OUTPUT_CHUNK) == []
    assert len(telemetry.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)) == 1


# --- how a stream ends ---------------------------------------------------------------------------------------------
def test_break_then_close(ollama_instrumented, ollama_client) -> None:
    stream = _stream(ollama_client)
    for _ in stream:
        break
    stream.close()
    span = ollama_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"
    assert span.status.status_code is StatusCode.UNSET
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes
    assert ollama_instrumented.metric_points(sc.METRIC_OPERATION_DURATION) == []
    stream.close()  # closing twice is harmless
    assert len(ollama_instrumented.spans()) == 1


def test_closing_closes_the_http_response(ollama_instrumented, llm_server) -> None:
    responses: list[object] = []
    client = ollama.Client(host=llm_server.base_url, event_hooks={"response": [responses.append]})
    with contextlib.closing(_stream(client)) as stream:
        first = next(stream)
        (response,) = responses
        assert not response.is_closed
    assert not first.done
    assert response.is_closed
    assert ollama_instrumented.span().attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"


class _Abort(Exception):
    pass


def test_throw_goes_into_the_clients_generator_and_ends_the_call(ollama_instrumented, llm_server) -> None:
    """``stream.throw(exc)``: as without genai-otel, the exception goes into the client's generator, which
    closes its HTTP response on the way out and raises it to the caller; the call fails with it."""
    responses: list[object] = []
    client = ollama.Client(
        host=llm_server.base_url,
        headers={"X-Fake-Chunks": "20"},
        event_hooks={"response": [responses.append]},
    )
    stream = _stream(client)
    next(stream)
    next(stream)
    with pytest.raises(_Abort, match="enough"):
        stream.throw(_Abort("enough"))
    (response,) = responses
    assert response.is_closed  # closed now, by the client's own `with`, not when collected
    assert list(stream) == []  # finished, as a generator that raised is
    span = ollama_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE].endswith("_Abort")
    assert sc.GENAI_OTEL_OUTCOME not in span.attributes
    assert len(ollama_instrumented.spans()) == 1


def test_a_chunk_the_client_yields_after_a_throw_reaches_the_caller(ollama_instrumented) -> None:
    """Were the client's generator to catch the exception and go on, ``throw()`` returns its next chunk,
    as it would without genai-otel (checked with a generator standing in for the client's)."""
    from genai_otel.streaming import TracedIterator, traced_generator

    def forgiving():
        for value in range(3):
            try:
                yield value
            except _Abort:
                yield "forgiven"

    class _Call:
        def __init__(self) -> None:
            self.ended: list[str] = []
            self.op = None

        def activate(self) -> None:
            return None

        def succeed(self) -> None:
            self.ended.append("succeed")

    call = _Call()
    traced = TracedIterator(forgiving(), call, None)  # type: ignore[arg-type]
    traced._on_chunk = None
    stream = traced_generator(traced)
    assert next(stream) == 0
    assert stream.throw(_Abort()) == "forgiven"
    assert list(stream) == [1, 2]
    assert call.ended == ["succeed"]


def test_abandoned_stream_ends_when_collected(ollama_instrumented, llm_server) -> None:
    stream = _stream(_chunky_client(llm_server, chunks=30))
    next(stream)
    next(stream)
    last_chunk_at = time.time_ns()
    del stream
    gc.collect()
    span = ollama_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "abandoned"
    assert span.end_time <= last_chunk_at  # dated at the last chunk, not at collection time
    assert ollama_instrumented.metric_points(sc.METRIC_OPERATION_DURATION) == []


def test_stream_never_iterated(ollama_instrumented, ollama_client, llm_server) -> None:
    requests_before = len(llm_server.requests)
    stream = _stream(ollama_client)
    stream.close()
    del stream
    assert len(llm_server.requests) == requests_before
    span = ollama_instrumented.span()  # no request was sent; the span still ends, once
    assert sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in span.attributes


def test_stream_ending_without_done_is_truncated(ollama_server_metrics, ollama_client) -> None:
    chunks = list(_stream(ollama_client, model="llama-test:truncate"))
    assert len(chunks) == 2 and not chunks[-1].done  # the caller sees what the server sent, no exception
    span = ollama_server_metrics.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "stream_truncated"
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes
    assert not [key for key in span.attributes if key.startswith(("gen_ai.usage.", "ollama.response."))]
    assert ollama_server_metrics.metric_points(sc.METRIC_TOKEN_USAGE) == []
    assert ollama_server_metrics.metric_points(sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN) == []
    (duration,) = ollama_server_metrics.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.attributes[sc.ERROR_TYPE] == "stream_truncated"


def test_connection_cut_mid_stream(ollama_instrumented, ollama_client) -> None:
    received = []
    with pytest.raises(Exception) as raised:
        for chunk in _stream(ollama_client, model="llama-test:cut"):
            received.append(chunk)
    assert len(received) == 2
    span = ollama_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE].endswith(type(raised.value).__qualname__)
    assert span.attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] == 2


def test_malformed_line_mid_stream(ollama_instrumented, ollama_client) -> None:
    with pytest.raises(ValueError) as raised:
        list(_stream(ollama_client, model="llama-test:malformed"))
    assert ollama_instrumented.span().attributes[sc.ERROR_TYPE].endswith(type(raised.value).__qualname__)


def test_error_line_mid_stream(ollama_instrumented, ollama_client) -> None:
    with pytest.raises(ollama.ResponseError, match="fake failure"):
        list(_stream(ollama_client, model="llama-test:stream-error"))
    span = ollama_instrumented.span()
    assert span.attributes[sc.ERROR_TYPE] == "ollama.ResponseError"
    assert sc.HTTP_RESPONSE_STATUS_CODE not in span.attributes  # the client says -1: not an HTTP status
    assert [event.name for event in span.events] == ["exception"]


def test_model_not_found_surfaces_on_first_next(ollama_instrumented, ollama_client) -> None:
    stream = _stream(ollama_client, model="llama-test:status-404")
    with pytest.raises(ollama.ResponseError) as raised:
        next(stream)
    assert raised.value.status_code == 404
    span = ollama_instrumented.span()
    assert span.attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 404
    assert sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in span.attributes


def test_connection_refused_on_a_stream(ollama_instrumented) -> None:
    client = ollama.Client(host=f"127.0.0.1:{_free_port()}")
    stream = _stream(client)
    with pytest.raises(Exception) as raised:  # the client's stream path lets httpx's error through
        next(stream)
    assert ollama_instrumented.span().attributes[sc.ERROR_TYPE].endswith(type(raised.value).__qualname__)


# --- async ---------------------------------------------------------------------------------------------------------
async def _astream(client, model: str = "llama-test", **kwargs):
    return await client.chat(model=model, messages=MESSAGES, stream=True, **kwargs)


async def test_async_stream_consumed(ollama_instrumented, async_ollama_client) -> None:
    stream = await _astream(async_ollama_client)
    assert type(stream) is types.AsyncGeneratorType
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].done
    span = ollama_instrumented.span()
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == chunks[-1].prompt_eval_count
    assert span.attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] == len(chunks)


async def test_async_generate_stream_and_tool_calls(ollama_instrumented, async_ollama_client) -> None:
    generated = [
        chunk
        async for chunk in await async_ollama_client.generate(model="llama-test", prompt="hi", stream=True)
    ]
    assert generated[-1].done
    [chunk async for chunk in await _astream(async_ollama_client, tools=[TRACK_PARCEL_TOOL])]
    generate, chat = ollama_instrumented.spans()
    assert generate.attributes[sc.GEN_AI_OPERATION_NAME] == "text_completion"
    assert chat.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)


async def test_async_break_then_aclose(ollama_instrumented, async_ollama_client) -> None:
    stream = await _astream(async_ollama_client)
    async for _ in stream:
        break
    await stream.aclose()
    await stream.aclose()
    span = ollama_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"
    assert ollama_instrumented.metric_points(sc.METRIC_OPERATION_DURATION) == []


async def test_async_athrow_goes_into_the_clients_generator(ollama_instrumented, llm_server) -> None:
    client = ollama.AsyncClient(host=llm_server.base_url, headers={"X-Fake-Chunks": "20"})
    stream = await _astream(client)
    await stream.__anext__()
    with pytest.raises(_Abort):
        await stream.athrow(_Abort("enough"))
    assert [chunk async for chunk in stream] == []
    span = ollama_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR and span.attributes[sc.ERROR_TYPE].endswith("_Abort")
    assert len(ollama_instrumented.spans()) == 1


async def test_async_abandoned(ollama_instrumented, llm_server) -> None:
    client = ollama.AsyncClient(host=llm_server.base_url, headers={"X-Fake-Chunks": "30"})
    stream = await _astream(client)
    await stream.__anext__()
    del stream
    gc.collect()
    for _ in range(5):  # the event loop's finalizer hook closes collected async generators on a later turn
        await asyncio.sleep(0)
    gc.collect()
    assert ollama_instrumented.span().attributes[sc.GENAI_OTEL_OUTCOME] == "abandoned"


_DROPPED_AT_THE_END_OF_ASYNCIO_RUN = """
import asyncio, os, sys
import ollama
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
if sys.argv[1] == "instrumented":
    from genai_otel.ollama import OllamaInstrumentor
    OllamaInstrumentor().instrument(tracer_provider=provider)

async def main():
    client = ollama.AsyncClient(host=os.environ["OLLAMA_TEST_HOST"], headers={"X-Fake-Chunks": "30"})
    stream = await client.chat(model="llama-test", messages=[{"role": "user", "content": "hi"}], stream=True)
    async for _ in stream:
        break  # and the stream is dropped, never closed, as main() returns

asyncio.run(main())
print([span.attributes.get("genai_otel.outcome") for span in exporter.get_finished_spans()])
"""


@pytest.mark.parametrize("run", ["bare", "instrumented"])
def test_async_stream_dropped_as_asyncio_run_ends_is_closed_as_without_us(llm_server, tmp_path, run) -> None:
    # The event loop closes a dropped client generator when it is dropped; held by us until the loop closed
    # ours, it was closed at the loop's shutdown instead, racing the HTTP generator inside it: an error log.
    script = tmp_path / "dropped.py"
    script.write_text(_DROPPED_AT_THE_END_OF_ASYNCIO_RUN)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, str(script), run],
        cwd=root,
        env={**os.environ, "PYTHONPATH": root, "OLLAMA_TEST_HOST": llm_server.base_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.strip() == ("['abandoned']" if run == "instrumented" else "[]")


async def test_async_task_cancelled_mid_stream(ollama_instrumented, llm_server) -> None:
    client = ollama.AsyncClient(
        host=llm_server.base_url, headers={"X-Fake-Chunk-Delay": "0.05", "X-Fake-Chunks": "50"}
    )
    stream = await _astream(client)
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in stream:
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = ollama_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "cancelled"
    assert span.status.status_code is StatusCode.UNSET


async def test_async_error_mid_stream(ollama_instrumented, async_ollama_client) -> None:
    stream = await _astream(async_ollama_client, model="llama-test:stream-error")
    with pytest.raises(ollama.ResponseError):
        async for _ in stream:
            pass
    assert ollama_instrumented.span().attributes[sc.ERROR_TYPE] == "ollama.ResponseError"


async def test_async_truncated(ollama_instrumented, async_ollama_client) -> None:
    chunks = [chunk async for chunk in await _astream(async_ollama_client, model="llama-test:truncate")]
    assert len(chunks) == 2
    assert ollama_instrumented.span().attributes[sc.ERROR_TYPE] == "stream_truncated"
