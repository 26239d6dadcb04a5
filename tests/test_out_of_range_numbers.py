"""Numbers a server reports that no telemetry can carry: counts beyond int64, beyond a float, or negative.

The clients' models take any Python int (pydantic turns ``"26"`` into 26 too), so ``2**64`` tokens or a
duration of ``10**400`` nanoseconds reach us as they were sent. OTLP carries int64: a larger attribute is
dropped by the encoder with an error in the host's log, and on a token-usage point's exemplar it fails the
export of the whole metrics batch. Beyond a float, dividing it raised inside genai-otel. A negative count
recorded on a histogram makes the SDK warn in the host's log. Each is treated as not sent: no attribute,
no point, and everything else the response says is still recorded. Real clients, real HTTP on loopback,
the real OTLP encoders.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from genai_otel import semconv as sc
from tests.helpers import BytesServer

OUT_OF_RANGE = [2**63, 2**64, 10**400, -3]
MESSAGES = [{"role": "user", "content": "Where is parcel 48213?"}]


@pytest.fixture
def host_log(caplog) -> Any:
    caplog.set_level(logging.DEBUG, logger="genai_otel")
    caplog.set_level(logging.WARNING, logger="opentelemetry")
    return caplog


def _assert_nothing_in_the_host_log(caplog) -> None:
    ours = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("genai_otel") and r.levelno >= logging.WARNING
    ]
    sdk = [r.getMessage() for r in caplog.records if r.name.startswith("opentelemetry")]
    assert ours == [] and sdk == [], (ours, sdk)


def _assert_exportable(telemetry) -> None:
    encode_spans(telemetry.spans())
    encode_metrics(telemetry.reader.get_metrics_data())  # raises for the whole batch if one value cannot go


def _token_points(telemetry) -> dict[str, list[int]]:
    points: dict[str, list[int]] = {}
    for point in telemetry.metric_points(sc.METRIC_TOKEN_USAGE):
        points.setdefault(point.attributes[sc.GEN_AI_TOKEN_TYPE], []).append(point.sum)
    return points


# --- OpenAI -------------------------------------------------------------------------------------------------
def _completion(prompt_tokens: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "At the depot."},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 4,
            "total_tokens": 4,
            "prompt_tokens_details": {"cached_tokens": prompt_tokens},
            "completion_tokens_details": {"reasoning_tokens": prompt_tokens},
        },
    }


def _openai(bytes_server: BytesServer) -> Any:
    import openai

    return openai.OpenAI(base_url=f"{bytes_server.url}/v1", api_key="sk-test", max_retries=0)


@pytest.mark.parametrize("tokens", OUT_OF_RANGE)
def test_openai_chat_usage_out_of_range_is_not_recorded(
    instrument_openai, bytes_server, host_log, tokens
) -> None:
    telemetry = instrument_openai()
    bytes_server.serve(_completion(tokens))
    completion = _openai(bytes_server).chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert completion.usage.prompt_tokens == tokens  # the caller gets what was sent
    span = telemetry.span()
    for name in (
        sc.GEN_AI_USAGE_INPUT_TOKENS,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    ):
        assert name not in span.attributes
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert _token_points(telemetry) == {"output": [4]}
    _assert_exportable(telemetry)
    _assert_nothing_in_the_host_log(host_log)


@pytest.mark.parametrize("tokens", OUT_OF_RANGE)
def test_openai_stream_usage_out_of_range_is_not_recorded(
    instrument_openai, bytes_server, host_log, tokens
) -> None:
    telemetry = instrument_openai()
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test"}
    bytes_server.serve(
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "At"}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": " the depot."}, "finish_reason": "stop"}]},
        {
            **chunk,
            "choices": [],
            "usage": {"prompt_tokens": 9, "completion_tokens": tokens, "total_tokens": 9},
        },
        stream="sse",
    )
    stream = _openai(bytes_server).chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert [c.usage.completion_tokens for c in stream if c.usage] == [tokens]
    span = telemetry.span()
    assert sc.GEN_AI_USAGE_OUTPUT_TOKENS not in span.attributes
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 9
    assert span.status.is_ok and sc.ERROR_TYPE not in span.attributes
    assert _token_points(telemetry) == {"input": [9]}
    _assert_exportable(telemetry)
    _assert_nothing_in_the_host_log(host_log)


@pytest.mark.parametrize("tokens", OUT_OF_RANGE)
def test_openai_responses_and_embeddings_usage_out_of_range(
    instrument_openai, bytes_server, host_log, tokens
) -> None:
    telemetry = instrument_openai()
    client = _openai(bytes_server)
    bytes_server.serve(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 0,
            "model": "gpt-test",
            "status": "completed",
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "output": [],
            "usage": {
                "input_tokens": tokens,
                "output_tokens": 2,
                "total_tokens": 2,
                "input_tokens_details": {"cached_tokens": tokens},
                "output_tokens_details": {"reasoning_tokens": tokens},
            },
        },
    )
    client.responses.create(model="gpt-test", input="List.")
    bytes_server.serve(
        {
            "object": "list",
            "model": "text-embedding-test",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
    )
    client.embeddings.create(model="text-embedding-test", input="parcel", encoding_format="float")
    responses, embeddings = telemetry.spans()
    assert responses.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    for span in (responses, embeddings):
        assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
        assert sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS not in span.attributes
        assert sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS not in span.attributes
    _assert_exportable(telemetry)
    _assert_nothing_in_the_host_log(host_log)


# --- Ollama -------------------------------------------------------------------------------------------------
def _ollama_done(**fields: Any) -> dict[str, Any]:
    return {
        "model": "llama-test",
        "created_at": "2026-12-01T00:00:00Z",
        "done": True,
        "done_reason": "stop",
        "total_duration": 900_000_000,
        "load_duration": 100_000_000,
        "prompt_eval_count": 9,
        "prompt_eval_duration": 200_000_000,
        "eval_count": 4,
        "eval_duration": 300_000_000,
        **fields,
    }


def _ollama(bytes_server: BytesServer) -> Any:
    ollama = pytest.importorskip("ollama")
    return ollama.Client(host=bytes_server.url)


OLLAMA_CASES = [
    pytest.param({"eval_count": value}, id=f"eval_count={str(value)[:8]}") for value in OUT_OF_RANGE
] + [
    pytest.param({"prompt_eval_count": 10**400}, id="prompt_eval_count=10**400"),
    pytest.param({"total_duration": 10**400, "eval_duration": 2**64}, id="durations"),
    pytest.param({"load_duration": -5, "prompt_eval_duration": 2**63}, id="durations-negative"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("fields", OLLAMA_CASES)
def test_ollama_counts_and_durations_out_of_range_are_not_recorded(
    telemetry, bytes_server, host_log, fields, stream
) -> None:
    from genai_otel.ollama import OllamaInstrumentor

    message = {"role": "assistant", "content": "At the depot."}
    if stream:
        bytes_server.serve(
            {"model": "llama-test", "created_at": "2026-12-01T00:00:00Z", "message": message, "done": False},
            {**_ollama_done(**fields), "message": {"role": "assistant", "content": ""}},
            stream="ndjson",
        )
    else:
        bytes_server.serve({**_ollama_done(**fields), "message": message})
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(**telemetry.providers(), server_metrics=True)
    try:
        answer = _ollama(bytes_server).chat(model="llama-test", messages=MESSAGES, stream=stream)
        last = list(answer)[-1] if stream else answer
    finally:
        instrumentor.uninstrument()
    for field, value in fields.items():
        assert getattr(last, field) == value  # the caller gets what was sent
    span = telemetry.span()
    assert span.status.is_ok and sc.ERROR_TYPE not in span.attributes
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    recorded = {
        "eval_count": sc.GEN_AI_USAGE_OUTPUT_TOKENS,
        "prompt_eval_count": sc.GEN_AI_USAGE_INPUT_TOKENS,
        "total_duration": sc.OLLAMA_RESPONSE_TOTAL_DURATION,
        "load_duration": sc.OLLAMA_RESPONSE_LOAD_DURATION,
        "prompt_eval_duration": sc.OLLAMA_RESPONSE_PROMPT_EVAL_DURATION,
        "eval_duration": sc.OLLAMA_RESPONSE_EVAL_DURATION,
    }
    for field, attribute in recorded.items():
        assert (attribute in span.attributes) is (field not in fields), attribute
    _assert_exportable(telemetry)
    telemetry.assert_each_span_ended_once()
    _assert_nothing_in_the_host_log(host_log)


def test_a_product_integer_beyond_int64_is_dropped_with_one_warning(
    instrument_openai, llm_server, caplog
) -> None:
    import openai

    import genai_otel

    telemetry = instrument_openai()
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)
    caplog.set_level(logging.WARNING, logger="genai_otel")
    with genai_otel.product_context(route="answer", attempt=2**64, stage=3):
        client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    span = telemetry.span()
    assert "app.attempt" not in span.attributes and span.attributes["app.stage"] == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    assert warnings == [
        "genai-otel: product attribute app.attempt dropped: an integer outside the 64-bit range"
    ]
    _assert_exportable(telemetry)


def test_request_integers_beyond_int64_are_not_recorded(instrument_both, llm_server, host_log) -> None:
    import openai

    ollama = pytest.importorskip("ollama")

    telemetry = instrument_both()
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-test", messages=MESSAGES, seed=2**64, max_tokens=10**400, n=1)
    local = ollama.Client(host=llm_server.base_url)
    local.chat(model="llama-test", messages=MESSAGES, options={"seed": -(2**63) - 1, "num_ctx": 2**70})
    for span in telemetry.spans():
        for name in (sc.GEN_AI_REQUEST_SEED, sc.GEN_AI_REQUEST_MAX_TOKENS, sc.OLLAMA_REQUEST_NUM_CTX):
            assert name not in span.attributes
        assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    _assert_exportable(telemetry)
    _assert_nothing_in_the_host_log(host_log)
