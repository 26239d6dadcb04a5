"""Chat completions through the real openai client over loopback HTTP: attributes, metrics, errors."""

from __future__ import annotations

import json
from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from genai_otel import semconv as sc
from tests.helpers import chat_helpers as _chat_helpers

MESSAGES = [{"role": "user", "content": "Where is my parcel?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_non_streaming_chat_span(openai_instrumented, openai_client, llm_server) -> None:
    result = openai_client.chat.completions.create(
        model="gpt-test",
        messages=MESSAGES,
        temperature=0.3,
        top_p=0.9,
        max_completion_tokens=64,
        seed=7,
        stop=["\n\n"],
        frequency_penalty=0.1,
        presence_penalty=0.2,
        n=2,
        response_format={"type": "json_object"},
        service_tier="flex",
    )
    assert isinstance(result, openai.types.chat.ChatCompletion)
    span = openai_instrumented.span()
    assert span.name == "chat gpt-test"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes)
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH not in attributes  # content and hashes are off by default
    assert attributes == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai_compatible",
        sc.GEN_AI_REQUEST_MODEL: "gpt-test",
        sc.SERVER_ADDRESS: "127.0.0.1",
        sc.SERVER_PORT: llm_server.port,
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.3,
        sc.GEN_AI_REQUEST_TOP_P: 0.9,
        sc.GEN_AI_REQUEST_MAX_TOKENS: 64,
        sc.GEN_AI_REQUEST_SEED: 7,
        sc.GEN_AI_REQUEST_STOP_SEQUENCES: ("\n\n",),
        sc.GEN_AI_REQUEST_FREQUENCY_PENALTY: 0.1,
        sc.GEN_AI_REQUEST_PRESENCE_PENALTY: 0.2,
        sc.GEN_AI_REQUEST_CHOICE_COUNT: 2,
        sc.GEN_AI_OUTPUT_TYPE: "json",
        sc.OPENAI_API_TYPE: "chat_completions",
        sc.OPENAI_REQUEST_SERVICE_TIER: "flex",
        sc.GEN_AI_RESPONSE_ID: "chatcmpl-fake",
        sc.GEN_AI_RESPONSE_MODEL: "gpt-test-2026-01-01",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("stop", "stop"),
        sc.GEN_AI_USAGE_INPUT_TOKENS: result.usage.prompt_tokens,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: result.usage.completion_tokens,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 0,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 0,
        sc.OPENAI_RESPONSE_SERVICE_TIER: "default",
        sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: "fp_fake",
    }


def test_max_tokens_is_read_when_max_completion_tokens_is_absent(openai_instrumented, openai_client) -> None:
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, max_tokens=12, stop="END")
    attributes = openai_instrumented.span().attributes
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 12
    assert attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert sc.GEN_AI_REQUEST_CHOICE_COUNT not in attributes
    assert sc.GEN_AI_REQUEST_STREAM not in attributes  # conditionally required: only when streaming


def test_metrics_have_semconv_names_units_buckets_and_attributes(
    openai_instrumented, openai_client, llm_server
):
    result = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    duration = openai_instrumented.metric(sc.METRIC_OPERATION_DURATION)
    assert duration.unit == "s"
    (point,) = duration.data.data_points
    assert tuple(point.explicit_bounds) == sc.DURATION_BUCKETS
    assert point.count == 1
    assert dict(point.attributes) == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai_compatible",
        sc.GEN_AI_REQUEST_MODEL: "gpt-test",
        sc.SERVER_ADDRESS: "127.0.0.1",
        sc.SERVER_PORT: llm_server.port,
        sc.GEN_AI_RESPONSE_MODEL: "gpt-test-2026-01-01",
        sc.OPENAI_RESPONSE_SERVICE_TIER: "default",
    }
    usage = openai_instrumented.metric(sc.METRIC_TOKEN_USAGE)
    assert usage.unit == "{token}"
    by_type = {p.attributes[sc.GEN_AI_TOKEN_TYPE]: p for p in usage.data.data_points}
    assert tuple(by_type["input"].explicit_bounds) == sc.TOKEN_BUCKETS
    assert by_type["input"].sum == result.usage.prompt_tokens
    assert by_type["output"].sum == result.usage.completion_tokens
    # Streaming-only metrics stay empty for a non-streaming call.
    assert openai_instrumented.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK) == []


def test_missing_usage_records_no_token_metric(openai_instrumented, openai_client) -> None:
    openai_client.chat.completions.create(model="gpt-test:no-usage", messages=MESSAGES)
    span = openai_instrumented.span()
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE) == []
    assert len(openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)) == 1


async def test_async_chat(openai_instrumented, async_openai_client) -> None:
    result = await async_openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, seed=3)
    assert isinstance(result, openai.types.chat.ChatCompletion)
    span = openai_instrumented.span()
    assert span.attributes[sc.GEN_AI_REQUEST_SEED] == 3
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


def test_tool_call_round_trip(openai_instrumented, openai_client) -> None:
    first = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"city": "example"}
    follow_up = [
        *MESSAGES,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
    ]
    second = openai_client.chat.completions.create(model="gpt-test", messages=follow_up, tools=[WEATHER_TOOL])
    assert "sunny" in second.choices[0].message.content
    tool_span, answer_span = openai_instrumented.spans()
    assert tool_span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert tool_span.attributes[sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT] == 1
    assert tool_span.attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 1
    assert answer_span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert answer_span.attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] == 0


class Delivery(pydantic.BaseModel):
    eta_days: int
    carrier: str


def test_parse_with_pydantic_format(openai_instrumented, openai_client) -> None:
    parsed = _chat_helpers(openai_client).parse(model="gpt-test", messages=MESSAGES, response_format=Delivery)
    assert parsed.choices[0].message.parsed == Delivery(eta_days=1, carrier="example")
    span = openai_instrumented.span()
    assert span.attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


def test_with_raw_response_keeps_its_type_and_is_traced(openai_instrumented, openai_client) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(model="gpt-test", messages=MESSAGES)
    assert raw.headers.get("x-request-id") == "req_fake"
    completion = raw.parse()
    assert completion.id == "chatcmpl-fake"
    assert raw.parse() is completion
    span = openai_instrumented.span()
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-fake"
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == completion.usage.completion_tokens


def test_with_streaming_response_is_left_unread(openai_instrumented, openai_client) -> None:
    with openai_client.chat.completions.with_streaming_response.create(
        model="gpt-test", messages=MESSAGES
    ) as raw:
        body = raw.parse()
    assert body.id == "chatcmpl-fake"
    span = openai_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "unobserved"
    assert openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION) == []


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (400, openai.BadRequestError, "openai.BadRequestError"),
        (429, openai.RateLimitError, "openai.RateLimitError"),
        (500, openai.InternalServerError, "openai.InternalServerError"),
    ],
)
def test_http_errors(openai_instrumented, openai_client, status, exception, error_type) -> None:
    with pytest.raises(exception) as raised:
        openai_client.chat.completions.create(model=f"gpt-test:status-{status}", messages=MESSAGES)
    assert type(raised.value) is exception
    span = openai_instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == error_type
    assert span.attributes[sc.HTTP_RESPONSE_STATUS_CODE] == status
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"] == error_type
    (point,) = openai_instrumented.metric_points(sc.METRIC_OPERATION_DURATION)
    assert point.attributes[sc.ERROR_TYPE] == error_type
    assert openai_instrumented.metric_points(sc.METRIC_TOKEN_USAGE) == []


def test_timeout(openai_instrumented, openai_client) -> None:
    with pytest.raises(openai.APITimeoutError):
        openai_client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, timeout=0.2, extra_headers={"X-Fake-Delay": "1"}
        )
    span = openai_instrumented.span()
    assert span.attributes[sc.ERROR_TYPE] == "openai.APITimeoutError"
    assert span.status.status_code is StatusCode.ERROR


def test_connection_refused(openai_instrumented) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert openai_instrumented.span().attributes[sc.ERROR_TYPE] == "openai.APIConnectionError"


def test_malformed_json_gives_the_callers_error_unchanged(openai_instrumented, openai_client) -> None:
    # Whatever the uninstrumented client does with a broken body, the instrumented one does too.
    def call() -> Any:
        return openai_client.chat.completions.create(model="gpt-test:malformed", messages=MESSAGES)

    openai_instrumented_result = _outcome(call)
    from genai_otel.openai import OpenAIInstrumentor

    OpenAIInstrumentor().uninstrument()
    try:
        bare_result = _outcome(call)
    finally:
        OpenAIInstrumentor().instrument(
            tracer_provider=openai_instrumented.tracer_provider,
            meter_provider=openai_instrumented.meter_provider,
        )
    assert openai_instrumented_result == bare_result
    (span,) = openai_instrumented.spans()
    if bare_result[0] == "raised":
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes[sc.ERROR_TYPE] == bare_result[1]


def _outcome(call: Any) -> tuple[str, str]:
    try:
        result = call()
    except Exception as exc:
        return "raised", f"{type(exc).__module__.split('.')[0]}.{type(exc).__qualname__}"
    return "returned", type(result).__name__


def test_error_messages_are_scrubbed_of_secrets(openai_instrumented, llm_server) -> None:
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-x", max_retries=0)
    secret = "sk-proj-ABCDEFGHIJKLMNOPQRSTUV123456"

    class Boom(Exception):
        pass

    def failing_send(*args: Any, **kwargs: Any) -> Any:
        raise Boom(f"Incorrect API key provided: {secret}")

    client._client.send = failing_send  # the transport fails with a message echoing a key
    with pytest.raises(Exception):  # noqa: B017 - openai may wrap it; either way it must propagate
        client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    span = openai_instrumented.span()
    exported = json.dumps(
        {
            "attributes": dict(span.attributes),
            "events": [dict(e.attributes) for e in span.events],
            "status": span.status.description,
        },
        default=str,
    )
    assert secret not in exported
    assert "[SECRET]" in exported
