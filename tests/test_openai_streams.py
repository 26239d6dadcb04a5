"""Streams keep their type contract and end their span exactly once, however they end."""

from __future__ import annotations

import asyncio
import gc
import time

import openai
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from genai_otel import semconv as sc
from tests.helpers import TRACK_PARCEL_TOOL
from tests.helpers import chat_helpers as _chat_helpers

MESSAGES = [{"role": "user", "content": "Where is my parcel?"}]


def _stream(client, model: str = "gpt-test", **kwargs):
    return client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **kwargs)


def test_consumed_stream_keeps_type_and_records_everything(openai_instrumented, openai_client) -> None:
    stream = _stream(
        openai_client, stream_options={"include_usage": True}, extra_headers={"X-Fake-Chunks": "20"}
    )
    assert type(stream) is openai.Stream
    assert stream.response.status_code == 200
    chunks = list(stream)
    assert all(isinstance(c, openai.types.chat.ChatCompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("w0 w1")
    span = openai_instrumented.span()
    attributes = span.attributes
    assert attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-fake"
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == chunks[-1].usage.completion_tokens
    assert attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] == 22  # role chunk, 20 words, finish chunk
    assert sc.GENAI_OTEL_OUTCOME not in attributes
    assert span.status.status_code is StatusCode.UNSET
    (ttfc,) = openai_instrumented.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)
    assert ttfc.count == 1
    (tpoc,) = openai_instrumented.metric_points(sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    assert tpoc.count == 21  # one gap for each output chunk after the first
    assert tuple(tpoc.explicit_bounds) == sc.DURATION_BUCKETS
    tokens = {
        p.attributes[sc.GEN_AI_TOKEN_TYPE]: p.sum
        for p in openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE)
    }
    assert tokens == {"input": chunks[-1].usage.prompt_tokens, "output": chunks[-1].usage.completion_tokens}


def test_stream_without_usage_reports_no_tokens(openai_instrumented, openai_client) -> None:
    list(_stream(openai_client))
    span = openai_instrumented.span()
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE) == []


def test_duration_covers_the_whole_stream(openai_instrumented, openai_client) -> None:
    stream = _stream(openai_client, extra_headers={"X-Fake-Chunks": "4"})
    returned_at = time.monotonic()
    consumed = 0.0
    for _ in stream:
        time.sleep(0.05)
        consumed += 0.05
    span = openai_instrumented.span()
    assert (span.end_time - span.start_time) / 1e9 >= consumed
    (duration,) = openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.sum >= consumed
    assert time.monotonic() - returned_at >= consumed


def test_span_is_not_current_after_the_call_returns(openai_instrumented, openai_client) -> None:
    before = trace.get_current_span()
    stream = _stream(openai_client)
    assert trace.get_current_span() is before
    next(stream)
    assert trace.get_current_span() is before
    stream.close()


def test_break_then_close(openai_instrumented, openai_client) -> None:
    stream = _stream(openai_client)
    for _ in stream:
        break
    stream.close()
    span = openai_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"
    assert span.status.status_code is StatusCode.UNSET
    assert openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION) == []
    stream.close()  # closing twice is harmless
    assert len(openai_instrumented.spans()) == 1


def test_context_manager_exit_early_and_fully(openai_instrumented, openai_client) -> None:
    with _stream(openai_client) as stream:
        next(stream)
    with _stream(openai_client) as stream:
        list(stream)
    early, full = openai_instrumented.spans()
    assert early.attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"
    assert sc.GENAI_OTEL_OUTCOME not in full.attributes
    assert full.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


def test_abandoned_stream_ends_when_collected(openai_instrumented, openai_client) -> None:
    stream = _stream(openai_client, extra_headers={"X-Fake-Chunks": "30"})
    next(stream)
    next(stream)
    last_chunk_at = time.time_ns()
    del stream
    time.sleep(0.05)
    gc.collect()
    span = openai_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "abandoned"
    assert span.end_time <= last_chunk_at  # dated at the last chunk, not at collection time
    assert openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION) == []


def test_error_event_mid_stream(openai_instrumented, openai_client) -> None:
    stream = _stream(openai_client, model="gpt-test:stream-error")
    received = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            received.append(chunk)
    assert "fake failure" in str(raised.value)
    assert len(received) == 3
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "openai.APIError"
    assert [e.name for e in span.events] == ["exception"]
    (duration,) = openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.attributes[sc.ERROR_TYPE] == "openai.APIError"


def test_connection_cut_mid_stream(openai_instrumented, openai_client) -> None:
    with pytest.raises(Exception) as raised:
        list(_stream(openai_client, model="gpt-test:cut"))
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE].endswith(type(raised.value).__qualname__)


def test_stream_ending_without_finish_reason_is_truncated(openai_instrumented, openai_client) -> None:
    chunks = list(_stream(openai_client, model="gpt-test:truncate"))
    assert len(chunks) == 3  # the caller sees what the server sent, no exception
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "stream_truncated"
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes


def test_malformed_event_mid_stream(openai_instrumented, openai_client) -> None:
    with pytest.raises(Exception) as raised:
        list(_stream(openai_client, model="gpt-test:malformed"))
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE].endswith(type(raised.value).__qualname__)


def test_streamed_tool_call_deltas(openai_instrumented, openai_client) -> None:
    chunks = list(_stream(openai_client, tools=[TRACK_PARCEL_TOOL]))
    arguments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert arguments == '{"parcel_id": "example"}'
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 1
    assert attributes[sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT] == 1


def test_raw_response_stream(openai_instrumented, openai_client) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-test", messages=MESSAGES, stream=True
    )
    stream = raw.parse()
    assert isinstance(stream, openai.Stream)
    assert len(list(stream)) > 3
    assert openai_instrumented.span().attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


def test_stream_helper(openai_instrumented, openai_client) -> None:
    helpers = _chat_helpers(openai_client)
    with helpers.stream(model="gpt-test", messages=MESSAGES) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content
    with helpers.stream(model="gpt-test", messages=MESSAGES) as stream:
        next(iter(stream))
    full, early = openai_instrumented.spans()
    assert full.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert sc.GENAI_OTEL_OUTCOME not in full.attributes
    assert early.attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"


# --- async ---------------------------------------------------------------------------------------------
async def _astream(client, model: str = "gpt-test", **kwargs):
    return await client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **kwargs)


async def test_async_stream_consumed(openai_instrumented, async_openai_client) -> None:
    stream = await _astream(async_openai_client, stream_options={"include_usage": True})
    assert type(stream) is openai.AsyncStream
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage is not None
    span = openai_instrumented.span()
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == chunks[-1].usage.prompt_tokens


async def test_async_break_then_close_and_context_manager(openai_instrumented, async_openai_client) -> None:
    stream = await _astream(async_openai_client)
    async for _ in stream:
        break
    await stream.close()
    async with await _astream(async_openai_client) as stream:
        await stream.__anext__()
    async with await _astream(async_openai_client) as stream:
        async for _ in stream:
            pass
    first, second, third = openai_instrumented.spans()
    assert first.attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"
    assert second.attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"
    assert sc.GENAI_OTEL_OUTCOME not in third.attributes


async def test_async_task_cancelled_mid_stream(openai_instrumented, async_openai_client) -> None:
    stream = await _astream(
        async_openai_client, extra_headers={"X-Fake-Chunk-Delay": "0.05", "X-Fake-Chunks": "50"}
    )
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in stream:
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await stream.close()
    span = openai_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "cancelled"
    assert span.status.status_code is StatusCode.UNSET


async def test_async_create_cancelled_before_headers(openai_instrumented, async_openai_client) -> None:
    task = asyncio.create_task(_astream(async_openai_client, extra_headers={"X-Fake-Delay": "2"}))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert openai_instrumented.span().attributes[sc.GENAI_OTEL_OUTCOME] == "cancelled"


async def test_async_error_mid_stream(openai_instrumented, async_openai_client) -> None:
    stream = await _astream(async_openai_client, model="gpt-test:stream-error")
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass
    assert openai_instrumented.span().attributes[sc.ERROR_TYPE] == "openai.APIError"


async def test_async_abandoned(openai_instrumented, async_openai_client) -> None:
    stream = await _astream(async_openai_client, extra_headers={"X-Fake-Chunks": "30"})
    await stream.__anext__()
    await stream.response.aclose()  # release the connection ourselves; only the span is left to the GC
    del stream
    gc.collect()
    assert openai_instrumented.span().attributes[sc.GENAI_OTEL_OUTCOME] == "abandoned"


async def test_async_stream_helper(openai_instrumented, async_openai_client) -> None:
    helpers = _chat_helpers(async_openai_client)
    async with helpers.stream(model="gpt-test", messages=MESSAGES) as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].finish_reason == "stop"
    async with helpers.stream(model="gpt-test", messages=MESSAGES) as stream:
        await stream.__anext__()
    full, early = openai_instrumented.spans()
    assert full.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert early.attributes[sc.GENAI_OTEL_OUTCOME] == "closed_early"


def test_two_threads_ending_one_stream_at_once_record_one_ending(instrument_openai, llm_server) -> None:
    """Thread A reads the stream to its end while thread B closes it. A is held just as it starts recording
    its ending (the moment the GIL may switch threads); B's close must then find the call ended."""
    import sys
    import threading

    from genai_otel import recording

    telemetry = instrument_openai(active_requests=True)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_headers={"X-Fake-Chunks": "1"},
    )
    next(stream)
    held, closed = threading.Event(), threading.Event()
    finish = recording.Call._finish.__code__

    def hold_at_finish(frame, event, arg):  # a trace function: called for each new frame in thread A
        if frame.f_code is finish:
            held.set()
            closed.wait(30)  # a guard against a hang, never a measure of speed
        return None

    def read_to_the_end() -> None:
        sys.settrace(hold_at_finish)
        try:
            for _ in stream:
                pass
        finally:
            sys.settrace(None)

    reader = threading.Thread(target=read_to_the_end)
    reader.start()
    assert held.wait(30)
    stream.close()
    closed.set()
    reader.join(30)

    span = telemetry.span()
    assert sc.GENAI_OTEL_OUTCOME not in span.attributes  # completed: the first ending is the one recorded
    (duration,) = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.count == 1
    (active,) = telemetry.metric_points(sc.METRIC_CLIENT_ACTIVE_REQUESTS)
    assert active.value == 0
    client.close()
