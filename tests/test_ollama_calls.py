"""Ollama calls without streaming, through the real ollama client over loopback HTTP: attributes, metrics,
errors, the module-level functions and the client's host."""

from __future__ import annotations

import base64
import inspect
import socket
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from genai_otel import semconv as sc

ollama = pytest.importorskip("ollama")

MESSAGES = [{"role": "user", "content": "Where is my parcel?"}]
TRACK_TOOL = {
    "type": "function",
    "function": {
        "name": "track_parcel",
        "description": "Where a parcel is",
        "parameters": {
            "type": "object",
            "properties": {"parcel_id": {"type": "string"}},
            "required": ["parcel_id"],
        },
    },
}
IMAGE = base64.b64encode(b"not really a png").decode()


def _takes(method: str, parameter: str) -> bool:
    return parameter in inspect.signature(getattr(ollama.Client, method)).parameters


def _accepts_schema_format() -> bool:
    try:
        ollama._types.GenerateRequest(model="m", format={"type": "object"})
    except Exception:
        return False
    return True


def _seconds(nanoseconds: int) -> float:
    return nanoseconds / 1e9


def _timings(response: Any) -> dict[str, Any]:
    """The ollama.* timing attributes a generation response should produce."""
    load = _seconds(response.load_duration)
    prompt_eval = _seconds(response.prompt_eval_duration)
    evaluation = _seconds(response.eval_duration)
    timings = {
        sc.OLLAMA_RESPONSE_TOTAL_DURATION: _seconds(response.total_duration),
        sc.OLLAMA_RESPONSE_LOAD_DURATION: load,
        sc.OLLAMA_RESPONSE_PROMPT_EVAL_DURATION: prompt_eval,
        sc.OLLAMA_RESPONSE_EVAL_DURATION: evaluation,
        sc.OLLAMA_RESPONSE_TIME_TO_FIRST_TOKEN: load + prompt_eval,
    }
    if response.eval_count > 1:
        timings[sc.OLLAMA_RESPONSE_TIME_PER_OUTPUT_TOKEN] = evaluation / (response.eval_count - 1)
    return timings


# ollama 0.4.x lets httpx's error through; later releases raise the built-in ConnectionError.
CONNECTION_REFUSED = (ConnectionError, httpx.ConnectError)


def _error_type(exc: BaseException) -> str:
    return "ConnectionError" if type(exc) is ConnectionError else f"httpx.{type(exc).__qualname__}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- chat ---------------------------------------------------------------------------------------------------
def test_chat_span_has_request_response_and_server_timings(
    ollama_instrumented, ollama_client, llm_server
) -> None:
    result = ollama_client.chat(
        model="llama-test",
        messages=MESSAGES,
        format="json",
        keep_alive="5m",
        options={
            "temperature": 0.3,
            "top_p": 0.9,
            "top_k": 40,
            "num_predict": 64,
            "seed": 7,
            "stop": ["\n\n"],
            "frequency_penalty": 0.1,
            "presence_penalty": 0.2,
            "repeat_penalty": 1.1,
            "num_ctx": 4096,
        },
    )
    assert isinstance(result, ollama.ChatResponse)
    span = ollama_instrumented.span()
    assert span.name == "chat llama-test"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes)
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH not in attributes  # content and hashes are off by default
    assert attributes == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "ollama",
        sc.GEN_AI_REQUEST_MODEL: "llama-test",
        sc.SERVER_ADDRESS: "127.0.0.1",
        sc.SERVER_PORT: llm_server.port,
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.3,
        sc.GEN_AI_REQUEST_TOP_P: 0.9,
        sc.GEN_AI_REQUEST_TOP_K: 40.0,
        sc.GEN_AI_REQUEST_MAX_TOKENS: 64,
        sc.GEN_AI_REQUEST_SEED: 7,
        sc.GEN_AI_REQUEST_STOP_SEQUENCES: ("\n\n",),
        sc.GEN_AI_REQUEST_FREQUENCY_PENALTY: 0.1,
        sc.GEN_AI_REQUEST_PRESENCE_PENALTY: 0.2,
        sc.GEN_AI_OUTPUT_TYPE: "json",
        sc.OLLAMA_REQUEST_KEEP_ALIVE: "5m",
        sc.OLLAMA_REQUEST_REPEAT_PENALTY: 1.1,
        sc.OLLAMA_REQUEST_NUM_CTX: 4096,
        sc.GEN_AI_RESPONSE_MODEL: "llama-test:latest",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        sc.GEN_AI_USAGE_INPUT_TOKENS: result.prompt_eval_count,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: result.eval_count,
        **_timings(result),
    }


def test_chat_metrics_have_semconv_names_units_buckets_and_attributes(
    ollama_server_metrics, ollama_client, llm_server
) -> None:
    result = ollama_client.chat(model="llama-test", messages=MESSAGES)
    common = {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "ollama",
        sc.GEN_AI_REQUEST_MODEL: "llama-test",
        sc.SERVER_ADDRESS: "127.0.0.1",
        sc.SERVER_PORT: llm_server.port,
        sc.GEN_AI_RESPONSE_MODEL: "llama-test:latest",
    }
    (duration,) = ollama_server_metrics.metric_points(sc.METRIC_OPERATION_DURATION)
    assert dict(duration.attributes) == common
    assert tuple(duration.explicit_bounds) == sc.DURATION_BUCKETS
    tokens = {
        p.attributes[sc.GEN_AI_TOKEN_TYPE]: p.sum
        for p in ollama_server_metrics.metric_points(sc.METRIC_TOKEN_USAGE)
    }
    assert tokens == {"input": result.prompt_eval_count, "output": result.eval_count}

    first_token = ollama_server_metrics.metric(sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN)
    assert first_token.unit == "s"
    (point,) = first_token.data.data_points
    assert dict(point.attributes) == common
    assert tuple(point.explicit_bounds) == sc.SERVER_TIME_TO_FIRST_TOKEN_BUCKETS
    assert point.sum == pytest.approx(_seconds(result.load_duration + result.prompt_eval_duration))
    per_token = ollama_server_metrics.metric(sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN)
    (point,) = per_token.data.data_points
    assert tuple(point.explicit_bounds) == sc.SERVER_TIME_PER_OUTPUT_TOKEN_BUCKETS
    assert point.sum == pytest.approx(_seconds(result.eval_duration) / (result.eval_count - 1))
    # The client-side streaming metrics stay empty for a call that does not stream.
    assert ollama_server_metrics.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK) == []
    assert ollama_server_metrics.metric_points(sc.METRIC_TIME_PER_OUTPUT_CHUNK) == []


def test_positional_arguments_and_an_options_model(ollama_instrumented, ollama_client) -> None:
    ollama_client.chat(
        "llama-test", MESSAGES, options=ollama.Options(temperature=0.5, num_predict=-1), keep_alive=300
    )
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.OLLAMA_REQUEST_KEEP_ALIVE] == "300"
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "llama-test"
    assert attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert sc.GEN_AI_REQUEST_MAX_TOKENS not in attributes  # -1: no limit
    assert sc.GEN_AI_REQUEST_STREAM not in attributes  # conditionally required: only when streaming
    assert sc.GEN_AI_OUTPUT_TYPE not in attributes


def test_length_limit_is_the_finish_reason(ollama_instrumented, ollama_client) -> None:
    result = ollama_client.chat(model="llama-test", messages=MESSAGES, options={"num_predict": 3})
    assert result.done_reason == "length"
    assert ollama_instrumented.span().attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("length",)


def test_tool_call_round_trip(ollama_instrumented, ollama_client) -> None:
    first = ollama_client.chat(model="llama-test", messages=MESSAGES, tools=[TRACK_TOOL])
    (call,) = first.message.tool_calls
    assert call.function.arguments == {"parcel_id": "example"}
    messages = [*MESSAGES, first.message, {"role": "tool", "content": "In Lyon, out for delivery."}]
    final = ollama_client.chat(model="llama-test", messages=messages, tools=[TRACK_TOOL])
    assert "Lyon" in final.message.content
    calling, answering = ollama_instrumented.spans()
    assert calling.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert calling.attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 1
    assert calling.attributes[sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT] == 1
    assert answering.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert answering.attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 0


def test_a_python_function_as_a_tool(ollama_instrumented, ollama_client) -> None:
    def track_parcel(parcel_id: str) -> str:
        """Where a parcel is.

        Args:
          parcel_id: The parcel's tracking number
        """
        return "Lyon"

    ollama_client.chat(model="llama-test", messages=MESSAGES, tools=[track_parcel])
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT] == 1
    assert attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 1


def test_images_are_counted_never_recorded(ollama_instrumented, ollama_client, llm_server) -> None:
    messages = [
        {"role": "user", "content": "What is on these labels?", "images": [IMAGE, b"raw image bytes"]},
        {"role": "user", "content": "And this one?", "images": [IMAGE]},
    ]
    ollama_client.chat(model="llama-test", messages=messages)
    ollama_client.generate(model="llama-test", prompt="Describe it.", images=[IMAGE])
    chat, generate = ollama_instrumented.spans()
    assert chat.attributes[sc.GENAI_OTEL_REQUEST_IMAGES_COUNT] == 3
    assert generate.attributes[sc.GENAI_OTEL_REQUEST_IMAGES_COUNT] == 1
    recorded = " ".join(str(value) for span in (chat, generate) for value in span.attributes.values())
    assert IMAGE not in recorded
    assert "labels" not in recorded  # nor any message content


def test_think_is_recorded_and_reasoning_answers_are_read(ollama_instrumented, ollama_client) -> None:
    if not _takes("chat", "think"):
        pytest.skip("no think parameter in this ollama version")
    result = ollama_client.chat(model="llama-test", messages=MESSAGES, think=True)
    assert result.message.thinking
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.OLLAMA_REQUEST_THINK] == "true"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert result.message.thinking not in str(dict(attributes))


def test_json_schema_format_is_json_output(ollama_instrumented, ollama_client) -> None:
    if not _accepts_schema_format():
        pytest.skip("no JSON-schema format in this ollama version")
    schema = {"type": "object", "properties": {"eta_days": {"type": "integer"}}}
    result = ollama_client.chat(model="llama-test", messages=MESSAGES, format=schema)
    assert result.message.content == '{"eta_days": 1}'
    assert ollama_instrumented.span().attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"


def test_missing_counts_and_timings_record_nothing(ollama_server_metrics, ollama_client) -> None:
    ollama_client.chat(model="llama-test:no-usage", messages=MESSAGES)
    attributes = ollama_server_metrics.span().attributes
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert not [key for key in attributes if key.startswith(("gen_ai.usage.", "ollama.response."))]
    assert ollama_server_metrics.metric_points(sc.METRIC_TOKEN_USAGE) == []
    assert ollama_server_metrics.metric_points(sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN) == []
    assert ollama_server_metrics.metric_points(sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN) == []
    assert len(ollama_server_metrics.metric_points(sc.METRIC_OPERATION_DURATION)) == 1


def test_a_cold_model_load_shows_in_the_server_view(ollama_server_metrics, ollama_client) -> None:
    result = ollama_client.chat(model="llama-test:cold-load", messages=MESSAGES)
    attributes = ollama_server_metrics.span().attributes
    assert attributes[sc.OLLAMA_RESPONSE_LOAD_DURATION] == 2.4
    (point,) = ollama_server_metrics.metric_points(sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN)
    assert point.sum == pytest.approx(2.4 + _seconds(result.prompt_eval_duration))


def test_server_metrics_are_off_by_default_and_the_timings_stay_on_the_span(
    ollama_instrumented, ollama_client
) -> None:
    ollama_client.chat(model="llama-test", messages=MESSAGES)
    ollama_client.generate(model="llama-test", prompt="hi")
    list(ollama_client.chat(model="llama-test", messages=MESSAGES, stream=True))
    for name in (sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN, sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN):
        assert ollama_instrumented.metric(name) is None
    for span in ollama_instrumented.spans():
        assert span.attributes[sc.OLLAMA_RESPONSE_TIME_TO_FIRST_TOKEN] > 0
        assert span.attributes[sc.OLLAMA_RESPONSE_TIME_PER_OUTPUT_TOKEN] > 0
    assert len(ollama_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)) == 2  # chat; generate


@pytest.mark.parametrize("value", ["true", "1", "on"])
def test_server_metrics_switch_on_from_the_environment(telemetry, ollama_client, monkeypatch, value) -> None:
    from genai_otel.ollama import OllamaInstrumentor

    monkeypatch.setenv("GENAI_OTEL_SERVER_METRICS", value)
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        result = ollama_client.chat(model="llama-test", messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    (point,) = telemetry.metric_points(sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN)
    assert point.sum == pytest.approx(_seconds(result.load_duration + result.prompt_eval_duration))
    (point,) = telemetry.metric_points(sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN)
    assert point.count == 1


def test_a_bad_server_metrics_value_is_named_once_and_they_stay_off(
    telemetry, ollama_client, monkeypatch, caplog
) -> None:
    import logging

    from genai_otel.ollama import OllamaInstrumentor

    monkeypatch.setenv("GENAI_OTEL_SERVER_METRICS", "sometimes")
    instrumentor = OllamaInstrumentor()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
    try:
        ollama_client.chat(model="llama-test", messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    warnings = [r.getMessage() for r in caplog.records if "GENAI_OTEL_SERVER_METRICS" in r.getMessage()]
    assert len(warnings) == 1 and "using false" in warnings[0]
    assert telemetry.metric(sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN) is None
    assert len(telemetry.spans()) == 1


def test_span_is_current_during_the_http_request(ollama_instrumented, llm_server) -> None:
    seen: list[int] = []
    client = ollama.Client(
        host=llm_server.base_url,
        event_hooks={
            "request": [lambda request: seen.append(trace.get_current_span().get_span_context().span_id)]
        },
    )
    client.chat(model="llama-test", messages=MESSAGES)
    assert seen == [ollama_instrumented.span().context.span_id]


# --- generate -----------------------------------------------------------------------------------------------
def test_generate_is_a_text_completion(ollama_instrumented, ollama_client) -> None:
    result = ollama_client.generate(
        model="llama-test", prompt="Where is my parcel?", system="Be brief.", options={"temperature": 0}
    )
    assert isinstance(result, ollama.GenerateResponse)
    span = ollama_instrumented.span()
    assert span.name == "text_completion llama-test"
    attributes = dict(span.attributes)
    assert attributes == {
        sc.GEN_AI_OPERATION_NAME: "text_completion",
        sc.GEN_AI_PROVIDER_NAME: "ollama",
        sc.GEN_AI_REQUEST_MODEL: "llama-test",
        sc.SERVER_ADDRESS: "127.0.0.1",
        sc.SERVER_PORT: span.attributes[sc.SERVER_PORT],
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.0,
        sc.GEN_AI_RESPONSE_MODEL: "llama-test:latest",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        sc.GEN_AI_USAGE_INPUT_TOKENS: result.prompt_eval_count,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: result.eval_count,
        **_timings(result),
    }
    assert {
        p.attributes[sc.GEN_AI_OPERATION_NAME]
        for p in ollama_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    } == {"text_completion"}


def test_generate_with_thinking_and_positional_prompt(ollama_instrumented, ollama_client) -> None:
    if not _takes("generate", "think"):
        pytest.skip("no think parameter in this ollama version")
    result = ollama_client.generate("llama-test", "Where is my parcel?", think="high", format="json")
    assert result.thinking
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.OLLAMA_REQUEST_THINK] == "high"
    assert attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"


# --- embeddings -----------------------------------------------------------------------------------------------
def test_embed(ollama_server_metrics, ollama_client, llm_server) -> None:
    result = ollama_client.embed(model="embed-test", input=["parcel tracking", "delivery estimate"])
    assert len(result.embeddings) == 2
    span = ollama_server_metrics.span()
    assert span.name == "embeddings embed-test"
    assert dict(span.attributes) == {
        sc.GEN_AI_OPERATION_NAME: "embeddings",
        sc.GEN_AI_PROVIDER_NAME: "ollama",
        sc.GEN_AI_REQUEST_MODEL: "embed-test",
        sc.SERVER_ADDRESS: "127.0.0.1",
        sc.SERVER_PORT: llm_server.port,
        sc.GEN_AI_RESPONSE_MODEL: "embed-test:latest",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 4,
        sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: 8,
        sc.OLLAMA_RESPONSE_TOTAL_DURATION: _seconds(result.total_duration),
        sc.OLLAMA_RESPONSE_LOAD_DURATION: _seconds(result.load_duration),
    }
    assert [
        p.attributes[sc.GEN_AI_TOKEN_TYPE] for p in ollama_server_metrics.metric_points(sc.METRIC_TOKEN_USAGE)
    ] == ["input"]
    # No generation, so no server time to first token or per output token.
    assert ollama_server_metrics.metric_points(sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN) == []


def test_embed_positional_and_dimensions(ollama_instrumented, ollama_client) -> None:
    if not _takes("embed", "dimensions"):
        pytest.skip("no dimensions parameter in this ollama version")
    result = ollama_client.embed("embed-test", "parcel", dimensions=4)
    assert len(result.embeddings[0]) == 4
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "embed-test"
    assert attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 4


def test_legacy_embeddings(ollama_instrumented, ollama_client) -> None:
    result = ollama_client.embeddings(model="embed-test", prompt="parcel tracking")
    assert len(result.embedding) == 8
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "embeddings"
    assert attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8
    # /api/embeddings answers with the vector only: nothing else is invented.
    assert sc.GEN_AI_RESPONSE_MODEL not in attributes
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attributes


# --- errors and bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [404, 500])
def test_error_status(ollama_instrumented, ollama_client, status) -> None:
    with pytest.raises(ollama.ResponseError) as raised:
        ollama_client.chat(model=f"llama-test:status-{status}", messages=MESSAGES)
    assert raised.value.status_code == status
    span = ollama_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "ollama.ResponseError"
    assert span.attributes[sc.HTTP_RESPONSE_STATUS_CODE] == status
    assert [event.name for event in span.events] == ["exception"]
    (duration,) = ollama_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.attributes[sc.ERROR_TYPE] == "ollama.ResponseError"


def test_model_not_found_message_reaches_the_caller(ollama_instrumented, ollama_client) -> None:
    with pytest.raises(ollama.ResponseError, match="not found"):
        ollama_client.generate(model="llama-test:status-404", prompt="hi")
    assert ollama_instrumented.span().attributes[sc.GEN_AI_OPERATION_NAME] == "text_completion"


def test_connection_refused(ollama_instrumented) -> None:
    port = _free_port()
    client = ollama.Client(host=f"127.0.0.1:{port}")
    with pytest.raises(CONNECTION_REFUSED) as raised:
        client.chat(model="llama-test", messages=MESSAGES)
    span = ollama_instrumented.span()
    assert span.attributes[sc.ERROR_TYPE] == _error_type(raised.value)
    assert span.attributes[sc.SERVER_PORT] == port
    assert sc.HTTP_RESPONSE_STATUS_CODE not in span.attributes


def test_malformed_body(ollama_instrumented, ollama_client) -> None:
    with pytest.raises(ValueError) as raised:
        ollama_client.chat(model="llama-test:malformed", messages=MESSAGES)
    assert ollama_instrumented.span().attributes[sc.ERROR_TYPE].endswith(type(raised.value).__qualname__)


def test_bad_input_raises_what_the_client_raises(ollama_instrumented, ollama_client) -> None:
    original = vars(ollama.Client)["chat"].__wrapped__
    with pytest.raises(Exception) as bare:
        original(ollama_client, model="", messages=MESSAGES)
    with pytest.raises(type(bare.value)) as traced:
        ollama_client.chat(model="", messages=MESSAGES)
    assert str(traced.value) == str(bare.value)
    span = ollama_instrumented.span()
    assert span.name == "chat"  # no model to name it after
    assert span.status.status_code is StatusCode.ERROR


def test_odd_arguments_are_not_recorded_and_not_consumed(
    ollama_instrumented, ollama_client, llm_server
) -> None:
    ollama_client.chat(
        model="llama-test",
        messages=(message for message in MESSAGES),  # a one-shot iterable: reading it would empty the request
        options={"temperature": "warm", "stop": "END", "num_predict": "64"},
    )
    assert llm_server.requests[-1].body["messages"] == MESSAGES
    attributes = ollama_instrumented.span().attributes
    assert sc.GEN_AI_REQUEST_TEMPERATURE not in attributes
    assert sc.GEN_AI_REQUEST_MAX_TOKENS not in attributes
    assert attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)


# --- where the client points -----------------------------------------------------------------------------------
def test_ollama_host_is_honoured(ollama_instrumented, llm_server, monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{llm_server.port}")
    ollama.Client().chat(model="llama-test", messages=MESSAGES)
    attributes = ollama_instrumented.span().attributes
    assert (attributes[sc.SERVER_ADDRESS], attributes[sc.SERVER_PORT]) == ("127.0.0.1", llm_server.port)


def test_default_host(ollama_instrumented, monkeypatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    stream = ollama.Client().chat(model="llama-test", messages=MESSAGES, stream=True)
    del stream  # never iterated: no request is made, the span still ends
    attributes = ollama_instrumented.span().attributes
    assert (attributes[sc.SERVER_ADDRESS], attributes[sc.SERVER_PORT]) == ("127.0.0.1", 11434)


def test_module_level_functions_are_traced(ollama_instrumented, llm_server, monkeypatch) -> None:
    default_client = ollama.chat.__self__
    monkeypatch.setattr(default_client._client, "base_url", httpx.URL(llm_server.base_url))
    ollama.chat(model="llama-test", messages=MESSAGES)
    ollama.generate(model="llama-test", prompt="hi")
    ollama.embed(model="embed-test", input="hi")
    ollama.embeddings(model="embed-test", prompt="hi")
    assert [span.name for span in ollama_instrumented.spans()] == [
        "chat llama-test",
        "text_completion llama-test",
        "embeddings embed-test",
        "embeddings embed-test",
    ]
    assert {span.attributes[sc.SERVER_PORT] for span in ollama_instrumented.spans()} == {llm_server.port}


# --- async ---------------------------------------------------------------------------------------------------------
async def test_async_calls(ollama_server_metrics, async_ollama_client) -> None:
    chat = await async_ollama_client.chat(model="llama-test", messages=MESSAGES, options={"seed": 3})
    generate = await async_ollama_client.generate(model="llama-test", prompt="hi")
    await async_ollama_client.embed(model="embed-test", input=["a", "b"])
    await async_ollama_client.embeddings(model="embed-test", prompt="a")
    assert isinstance(chat, ollama.ChatResponse) and isinstance(generate, ollama.GenerateResponse)
    spans = ollama_server_metrics.spans()
    assert [span.name for span in spans] == [
        "chat llama-test",
        "text_completion llama-test",
        "embeddings embed-test",
        "embeddings embed-test",
    ]
    assert spans[0].attributes[sc.GEN_AI_REQUEST_SEED] == 3
    assert spans[0].attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == chat.eval_count
    assert spans[2].attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8
    per_token = ollama_server_metrics.metric_points(sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN)
    assert sorted(point.attributes[sc.GEN_AI_OPERATION_NAME] for point in per_token) == [
        "chat",
        "text_completion",
    ]


async def test_async_error_status(ollama_instrumented, async_ollama_client) -> None:
    with pytest.raises(ollama.ResponseError):
        await async_ollama_client.chat(model="llama-test:status-404", messages=MESSAGES)
    attributes = ollama_instrumented.span().attributes
    assert attributes[sc.ERROR_TYPE] == "ollama.ResponseError"
    assert attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 404


async def test_async_connection_refused(ollama_instrumented) -> None:
    client = ollama.AsyncClient(host=f"127.0.0.1:{_free_port()}")
    with pytest.raises(CONNECTION_REFUSED) as raised:
        await client.generate(model="llama-test", prompt="hi")
    assert ollama_instrumented.span().attributes[sc.ERROR_TYPE] == _error_type(raised.value)


def test_server_address_follows_each_client_and_a_replaced_base_url(ollama_instrumented, llm_server) -> None:
    """The host and port are kept for the URL object seen last: alternating clients, and a client whose
    base URL is set anew, must still each get their own server on the span."""
    from genai_otel.testing.fake_server import FakeLLMServer

    with FakeLLMServer() as other:
        first = ollama.Client(host=llm_server.base_url)
        second = ollama.Client(host=other.base_url)
        for client in (first, second, first, second):
            client.chat(model="llama-test", messages=MESSAGES)
        first._client.base_url = httpx.URL(other.base_url)  # what ollama's client sends to from now on
        first.chat(model="llama-test", messages=MESSAGES)
    ports = [span.attributes[sc.SERVER_PORT] for span in ollama_instrumented.spans()]
    assert ports == [llm_server.port, other.port, llm_server.port, other.port, other.port]
    assert len(other.requests) == 3


def test_server_metric_instruments_exist_only_when_asked_for() -> None:
    from opentelemetry.sdk.metrics import MeterProvider

    from genai_otel.recording import Recorder

    off = Recorder("test", meter_provider=MeterProvider())
    on = Recorder("test", meter_provider=MeterProvider(), server_metrics=True)
    assert off.server_time_to_first_token is None and off.server_time_per_output_token is None
    assert on.server_time_to_first_token is not None and on.server_time_per_output_token is not None
