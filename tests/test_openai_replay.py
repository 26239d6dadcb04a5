"""What replaying recorded OpenAI traffic found (issue 10, section 7), through the real openai client:
legacy function calling, base64 embeddings, and ``client.beta.responses``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from genai_otel import semconv as sc

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TRACK_PARCEL_FUNCTION = {
    "name": "track_parcel",
    "description": "Look a parcel up",
    "parameters": {"type": "object", "properties": {"parcel_id": {"type": "string"}}},
}
QUESTION = [{"role": "user", "content": "Where is my parcel?"}]
CONTENT_KEYS = (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_TOOL_DEFINITIONS)


def _json(span: Any, key: str) -> Any:
    return json.loads(span.attributes[key])


async def _call(client: Any, method: Any, is_async: bool, stream: bool, **kwargs: Any) -> Any:
    """Calls ``method`` and, for a stream, consumes it to the end (the span ends there)."""
    result = method(stream=True, **kwargs) if stream else method(**kwargs)
    if is_async:
        result = await result
        if stream:
            return [event async for event in result]
        return result
    return list(result) if stream else result


def _capture(instrument_openai: Any, capture: bool) -> Any:
    return instrument_openai(capture_message_content="SPAN_ONLY" if capture else "NO_CONTENT")


# --- legacy function calling ------------------------------------------------------------------------
@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_legacy_function_call_counts_and_content(
    instrument_openai, openai_client, async_openai_client, is_async, stream, capture
) -> None:
    telemetry = _capture(instrument_openai, capture)
    client = async_openai_client if is_async else openai_client
    result = await _call(
        client,
        client.chat.completions.create,
        is_async,
        stream,
        model="gpt-test",
        messages=QUESTION,
        functions=[TRACK_PARCEL_FUNCTION],
        extra_headers={"X-Fake-Piece-Size": "4"},  # arguments arrive in several deltas
    )
    if stream:
        assert result[1].choices[0].delta.function_call.name == "track_parcel"
        assert result[-1].choices[0].finish_reason == "function_call"
    else:
        assert result.choices[0].message.function_call.name == "track_parcel"
    attributes = telemetry.span().attributes
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert attributes[sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT] == 1
    assert attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 1
    if not capture:
        assert not any(key in attributes for key in CONTENT_KEYS)
        assert "parcel" not in telemetry.exported_text()
        return
    (message,) = _json(telemetry.span(), sc.GEN_AI_OUTPUT_MESSAGES)
    # A legacy call has no id: the part leaves it out, as every tool_call part without one does.
    assert message == {
        "role": "assistant",
        "parts": [{"type": "tool_call", "name": "track_parcel", "arguments": {"parcel_id": "example"}}],
        "finish_reason": "tool_call",
    }
    assert _json(telemetry.span(), sc.GEN_AI_TOOL_DEFINITIONS) == [
        {"type": "function", **TRACK_PARCEL_FUNCTION}
    ]


def test_legacy_function_result_in_the_input(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    history = [
        *QUESTION,
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "track_parcel", "arguments": '{"parcel_id": "P-1"}'},
        },
        {"role": "function", "name": "track_parcel", "content": "In transit"},
    ]
    completion = openai_client.chat.completions.create(
        model="gpt-test", messages=history, functions=[TRACK_PARCEL_FUNCTION]
    )
    assert completion.choices[0].message.content == "According to the tool: In transit"
    span = telemetry.span()
    _question, call, result = _json(span, sc.GEN_AI_INPUT_MESSAGES)
    assert call == {
        "role": "assistant",
        "parts": [{"type": "tool_call", "name": "track_parcel", "arguments": {"parcel_id": "P-1"}}],
    }
    assert result == {
        "role": "tool",
        "name": "track_parcel",
        "parts": [{"type": "tool_call_response", "response": "In transit"}],
    }
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 0


def test_tool_calls_and_functions_count_alike_when_both_are_absent(
    openai_instrumented, openai_client
) -> None:
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    attributes = openai_instrumented.span().attributes
    assert sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT not in attributes
    assert sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT not in attributes


# --- base64 embeddings --------------------------------------------------------------------------------
# 1, 3, 5 and 8 float32s: base64 with two, no, one and one padding characters.
@pytest.mark.parametrize("dimensions", [1, 3, 5, 8])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_base64_embeddings_dimension_count(
    openai_instrumented, openai_client, async_openai_client, is_async, dimensions
) -> None:
    client = async_openai_client if is_async else openai_client
    result = client.embeddings.create(
        model="text-embed",
        input=["first text", "second"],
        encoding_format="base64",
        extra_body={"dimensions": dimensions},  # the server's length, unknown to the request reader
    )
    if is_async:
        result = await result
    assert isinstance(result.data[0].embedding, str)  # the caller asked for base64: it stays base64
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_REQUEST_ENCODING_FORMATS] == ("base64",)
    assert attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == dimensions


def test_embeddings_the_client_decoded_itself(openai_instrumented, openai_client, llm_server) -> None:
    """Without ``encoding_format`` the client asks for base64 on the wire and decodes it to floats."""
    result = openai_client.embeddings.create(model="text-embed", input="x", extra_body={"dimensions": 5})
    assert llm_server.requests[-1].body["encoding_format"] == "base64"
    assert len(result.data[0].embedding) == 5
    attributes = openai_instrumented.span().attributes
    assert sc.GEN_AI_REQUEST_ENCODING_FORMATS not in attributes  # the caller asked for none
    assert attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 5


# --- client.beta.responses (openai 3.x) ----------------------------------------------------------------
def _beta_responses(client: Any) -> Any:
    beta = getattr(client, "beta", None)
    responses = getattr(beta, "responses", None)
    if responses is None:
        pytest.skip("no client.beta.responses in this openai version")
    return responses


@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_beta_responses_are_traced(
    instrument_openai, openai_client, async_openai_client, llm_server, is_async, stream, capture
) -> None:
    client = async_openai_client if is_async else openai_client
    responses = _beta_responses(client)
    telemetry = _capture(instrument_openai, capture)
    result = await _call(
        client, responses.create, is_async, stream, model="gpt-test", input="Where is my parcel?"
    )
    assert llm_server.requests[-1].path.endswith("/responses?beta=true")
    final = result[-1].response if stream else result
    span = telemetry.span()
    attributes = span.attributes
    assert span.name == "chat gpt-test"
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert attributes[sc.OPENAI_API_TYPE] == "responses"
    assert attributes[sc.GEN_AI_RESPONSE_ID] == final.id
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == final.usage.output_tokens
    if stream:
        assert attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] == sum(
            1 for event in result if event.type.endswith(".delta")
        )
    if not capture:
        assert not any(key in attributes for key in CONTENT_KEYS)
        return
    assert _json(span, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]}
    ]
    (message,) = _json(span, sc.GEN_AI_OUTPUT_MESSAGES)
    assert message["finish_reason"] == "stop"
    assert message["parts"][0] == {"type": "text", "content": final.output[0].content[0].text}


def test_beta_responses_tool_call(openai_instrumented, openai_client) -> None:
    responses = _beta_responses(openai_client)
    tool = {"type": "function", **TRACK_PARCEL_FUNCTION}
    response = responses.create(model="gpt-test", input="Track it", tools=[tool])
    assert response.output[0].type == "function_call"
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert attributes[sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT] == 1
    assert attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 1


def test_beta_responses_stop_being_traced_after_uninstrument(telemetry, openai_client) -> None:
    from genai_otel.openai import OpenAIInstrumentor

    responses = _beta_responses(openai_client)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    responses.create(model="gpt-test", input="hi")
    instrumentor.uninstrument()
    responses.create(model="gpt-test", input="hi")
    assert len(telemetry.spans()) == 1
