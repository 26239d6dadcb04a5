"""Responses API and embeddings through the real openai client."""

from __future__ import annotations

import inspect

import openai
import pydantic
import pytest
from opentelemetry.trace import StatusCode

from genai_otel import semconv as sc

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FUNCTION_TOOL = {
    "type": "function",
    "name": "track_parcel",
    "parameters": {"type": "object", "properties": {"parcel_id": {"type": "string"}}},
}


def _needs_responses(client) -> None:
    if not hasattr(client, "responses"):
        pytest.skip("no Responses API in this openai version")


def test_responses_create(openai_instrumented, openai_client) -> None:
    _needs_responses(openai_client)
    takes_conversation = "conversation" in inspect.signature(openai_client.responses.create).parameters
    response = openai_client.responses.create(
        model="gpt-test",
        input="Where is my parcel?",
        temperature=0.5,
        max_output_tokens=100,
        text={"format": {"type": "text"}},
        **({"conversation": "conv_123"} if takes_conversation else {}),
    )
    assert response.output_text
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert attributes[sc.OPENAI_API_TYPE] == "responses"
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    if takes_conversation:
        assert attributes[sc.GEN_AI_CONVERSATION_ID] == "conv_123"
    assert attributes[sc.GEN_AI_OUTPUT_TYPE] == "text"
    assert attributes[sc.GEN_AI_RESPONSE_ID] == "resp_fake"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == response.usage.input_tokens
    assert attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == response.usage.output_tokens


def test_responses_tool_call(openai_instrumented, openai_client) -> None:
    _needs_responses(openai_client)
    response = openai_client.responses.create(model="gpt-test", input="Track it", tools=[FUNCTION_TOOL])
    assert response.output[0].type == "function_call"
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 1


def test_responses_stream(openai_instrumented, openai_client) -> None:
    _needs_responses(openai_client)
    stream = openai_client.responses.create(model="gpt-test", input="hi", stream=True)
    assert isinstance(stream, openai.Stream)
    events = list(stream)
    assert events[-1].type == "response.completed"
    span = openai_instrumented.span()
    deltas = sum(1 for e in events if e.type.endswith(".delta"))
    assert span.attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] == deltas
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == events[-1].response.usage.output_tokens
    (tpoc,) = openai_instrumented.metric_points(sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    assert tpoc.count == deltas - 1


def test_responses_stream_failed_event(openai_instrumented, openai_client) -> None:
    _needs_responses(openai_client)
    events = list(openai_client.responses.create(model="gpt-test:stream-error", input="hi", stream=True))
    assert events[-1].type == "response.failed"
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "server_error"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("error",)


def test_responses_stream_truncated(openai_instrumented, openai_client) -> None:
    _needs_responses(openai_client)
    list(openai_client.responses.create(model="gpt-test:truncate", input="hi", stream=True))
    assert openai_instrumented.span().attributes[sc.ERROR_TYPE] == "stream_truncated"


def test_responses_stream_helper_and_parse(openai_instrumented, openai_client) -> None:
    _needs_responses(openai_client)
    if not hasattr(openai_client.responses, "stream"):
        pytest.skip("responses.stream not in this openai version")
    with openai_client.responses.stream(model="gpt-test", input="hi") as stream:
        final = stream.get_final_response()
    assert final.status == "completed"

    class Answer(pydantic.BaseModel):
        eta_days: int

    parsed = openai_client.responses.parse(model="gpt-test", input="hi", text_format=Answer)
    assert parsed.output_parsed == Answer(eta_days=1)
    stream_span, parse_span = openai_instrumented.spans()
    assert stream_span.attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert stream_span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert parse_span.attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"


async def test_async_responses(openai_instrumented, async_openai_client) -> None:
    _needs_responses(async_openai_client)
    await async_openai_client.responses.create(model="gpt-test", input="hi")
    stream = await async_openai_client.responses.create(model="gpt-test", input="hi", stream=True)
    assert isinstance(stream, openai.AsyncStream)
    async for _ in stream:
        pass
    plain, streamed = openai_instrumented.spans()
    assert plain.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert streamed.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


def test_embeddings(openai_instrumented, openai_client, llm_server) -> None:
    result = openai_client.embeddings.create(model="text-embed", input=["first text", "second"])
    assert len(result.data) == 2
    span = openai_instrumented.span()
    assert span.name == "embeddings text-embed"
    assert dict(span.attributes) == {
        sc.GEN_AI_OPERATION_NAME: "embeddings",
        sc.GEN_AI_PROVIDER_NAME: "openai_compatible",
        sc.GEN_AI_REQUEST_MODEL: "text-embed",
        sc.SERVER_ADDRESS: "127.0.0.1",
        sc.SERVER_PORT: llm_server.port,
        sc.GEN_AI_RESPONSE_MODEL: "text-embed",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 3,
        sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: 8,
    }
    (usage,) = openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE)
    assert usage.attributes[sc.GEN_AI_TOKEN_TYPE] == "input"


def test_embeddings_request_options(openai_instrumented, openai_client) -> None:
    openai_client.embeddings.create(model="text-embed", input="x", encoding_format="float", dimensions=4)
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_REQUEST_ENCODING_FORMATS] == ("float",)
    assert attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 4


async def test_async_embeddings_and_error(openai_instrumented, async_openai_client) -> None:
    await async_openai_client.embeddings.create(model="text-embed", input="x")
    with pytest.raises(openai.InternalServerError):
        await async_openai_client.embeddings.create(model="text-embed:status-500", input="x")
    ok, failed = openai_instrumented.spans()
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.attributes[sc.ERROR_TYPE] == "openai.InternalServerError"
