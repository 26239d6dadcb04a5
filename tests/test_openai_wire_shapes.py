"""OpenAI wire shapes real servers send that the fake server does not: each recorded as what it is.

Served byte for byte on loopback to the real client: a final stream chunk that carries a finish reason and
no delta (tools offered or not), a tool call whose id repeats on every delta, a ``with_raw_response`` body
the client cannot parse, an embeddings ``data`` that is not a list, and base64 that holds no float32
vector. The caller gets what the uninstrumented client gives; the span says what the server said, and
genai-otel reports no error of its own.
"""

from __future__ import annotations

import logging
from typing import Any

import openai
import pytest

from genai_otel import semconv as sc
from tests.helpers import BytesServer

MESSAGES = [{"role": "user", "content": "Where is parcel 48213?"}]
TOOLS = [{"type": "function", "function": {"name": "track", "parameters": {"type": "object"}}}]
CHUNK = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test"}


def _client(server: BytesServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-test", max_retries=0)


@pytest.fixture
def our_log(caplog) -> Any:
    caplog.set_level(logging.DEBUG, logger="genai_otel")
    return caplog


def _our_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("genai_otel") and r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize(
    "final_choice", [{"index": 0}, {"index": 0, "delta": None}], ids=["no-delta", "null-delta"]
)
@pytest.mark.parametrize("tools", [None, TOOLS], ids=["no-tools", "tools"])
def test_a_finish_reason_without_a_delta_ends_the_stream(
    instrument_openai, bytes_server, our_log, final_choice, tools
) -> None:
    telemetry = instrument_openai()
    bytes_server.serve(
        {**CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "At the depot."}}]},
        {**CHUNK, "choices": [{**final_choice, "finish_reason": "stop"}]},
        stream="sse",
    )
    extra = {"tools": tools} if tools else {}
    stream = _client(bytes_server).chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, **extra
    )
    assert [choice.finish_reason for chunk in stream for choice in chunk.choices] == [None, "stop"]
    span = telemetry.span()
    assert span.status.is_ok and sc.ERROR_TYPE not in span.attributes
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert _our_warnings(our_log) == []


def _tool_delta(index: int, call_id: str | None, arguments: str, name: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "type": "function", "function": {"arguments": arguments}}
    if call_id is not None:
        call["id"] = call_id
    if name is not None:
        call["function"]["name"] = name
    return {**CHUNK, "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}


@pytest.mark.parametrize("repeats_id", [False, True], ids=["id-once", "id-on-every-delta"])
def test_streamed_tool_calls_are_counted_once_each(
    instrument_openai, bytes_server, our_log, repeats_id
) -> None:
    telemetry = instrument_openai()
    later = "call_a" if repeats_id else None
    later_b = "call_b" if repeats_id else None
    bytes_server.serve(
        _tool_delta(0, "call_a", "", name="track"),
        _tool_delta(1, "call_b", "", name="track"),  # parallel calls, interleaved
        _tool_delta(0, later, '{"parcel": '),
        _tool_delta(1, later_b, '{"parcel": '),
        _tool_delta(0, later, "48213}"),
        _tool_delta(1, later_b, "48214}"),
        {**CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        stream="sse",
    )
    stream = _client(bytes_server).chat.completions.create(
        model="gpt-test", messages=MESSAGES, tools=TOOLS, stream=True
    )
    list(stream)
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 2
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert _our_warnings(our_log) == []


def test_a_raw_response_the_client_cannot_parse_is_unobserved_not_our_error(
    instrument_openai, bytes_server, our_log
) -> None:
    telemetry = instrument_openai()
    bytes_server.serve(b"")
    raw = _client(bytes_server).chat.completions.with_raw_response.create(model="gpt-test", messages=MESSAGES)
    with pytest.raises(ValueError) as caught:  # json.JSONDecodeError, as without genai-otel
        raw.parse()
    assert type(caught.value).__name__ == "JSONDecodeError"
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == sc.OUTCOME_UNOBSERVED
    assert _our_warnings(our_log) == []


@pytest.mark.parametrize(
    ("data", "dimensions"),
    [
        ({"0": {"embedding": [0.5, 0.25]}}, None),  # an object where a list belongs
        ([{"object": "embedding", "index": 0, "embedding": "AAA"}], None),  # not base64 at all
        ([{"object": "embedding", "index": 0, "embedding": "AAAAAAAA"}], None),  # 6 bytes: no float32s
        ([{"object": "embedding", "index": 0, "embedding": "AAAAAA=="}], 1),  # 4 bytes
        ([{"object": "embedding", "index": 0, "embedding": "AACAPwAAAEA="}], 2),  # [1.0, 2.0]
    ],
)
def test_embeddings_of_off_spec_shapes(instrument_openai, bytes_server, our_log, data, dimensions) -> None:
    telemetry = instrument_openai()
    bytes_server.serve(
        {
            "object": "list",
            "model": "text-embedding-test",
            "data": data,
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }
    )
    _client(bytes_server).embeddings.create(
        model="text-embedding-test", input="parcel", encoding_format="base64"
    )
    span = telemetry.span()
    assert span.attributes.get(sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT) == dimensions
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 3
    assert sc.GENAI_OTEL_OUTCOME not in span.attributes
    assert _our_warnings(our_log) == []
