"""Opt-in content capture through the real openai client: modes, shapes, streams, events, hashes."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from genai_otel import _failsafe
from genai_otel import semconv as sc
from genai_otel.config import CAPTURE_CONTENT_ENV
from tests.helpers import TRACK_PARCEL_TOOL

QUESTION = [
    {"role": "system", "content": "You answer parcel questions."},
    {"role": "user", "content": "Where is my parcel?"},
]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 120).decode()


@pytest.fixture(autouse=True)
def _fresh_warnings():
    _failsafe._warned_settings.clear()
    _failsafe._reported_sites.clear()


def _json(span, key):
    return json.loads(span.attributes[key])


def test_off_by_default(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION, tools=[TRACK_PARCEL_TOOL])
    attributes = telemetry.span().attributes
    for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_TOOL_DEFINITIONS):
        assert key not in attributes
    assert "Where is my parcel" not in telemetry.exported_text()
    assert telemetry.logs() == []
    # a hash is derived from content: without a hash key, none either (tests/test_input_hashing.py)
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH not in attributes
    assert sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH not in attributes


@pytest.mark.parametrize(
    ("value", "spans", "events"),
    [
        ("true", True, False),
        ("TRUE", True, False),
        ("false", False, False),
        ("span_only", True, False),
        ("EVENT_ONLY", False, True),
        ("Span_And_Event", True, True),
        ("NO_CONTENT", False, False),
    ],
)
def test_modes_from_the_environment(
    monkeypatch, instrument_openai, openai_client, value, spans, events
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, value)
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    attributes = telemetry.span().attributes
    assert (sc.GEN_AI_INPUT_MESSAGES in attributes) is spans
    assert (len(telemetry.logs()) == 1) is events


def test_unknown_mode_warns_once_and_captures_nothing(
    monkeypatch, instrument_openai, openai_client, caplog
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "everything")
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai()
        openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    (warning,) = [r for r in caplog.records if CAPTURE_CONTENT_ENV in r.getMessage()]
    assert "SPAN_AND_EVENT" in warning.getMessage() and "'everything'" in warning.getMessage()
    assert sc.GEN_AI_INPUT_MESSAGES not in telemetry.span().attributes


@pytest.mark.parametrize("value", ["1", "yes", "on", " ON ", "Yes", "0", "off", "2"])
def test_generic_booleans_are_not_modes(monkeypatch, instrument_openai, openai_client, caplog, value) -> None:
    # Only the modes and true/false are documented: 1/yes/on turn content on in no other instrumentation.
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, value)
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai()
        openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    assert warning.startswith(f"genai-otel: {CAPTURE_CONTENT_ENV}=")
    assert "NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT (any case), or the older true/false" in warning
    assert "capturing no content" in warning
    attributes = telemetry.span().attributes
    assert sc.GEN_AI_INPUT_MESSAGES not in attributes and sc.GENAI_OTEL_CONTENT_CAPTURE_MODE not in attributes
    assert "Where is my parcel" not in telemetry.exported_text()


@pytest.mark.parametrize("value", [1, 0])
def test_an_int_argument_is_not_a_mode(instrument_openai, openai_client, caplog, value) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai(capture_message_content=value)
        openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    assert "instrument(capture_message_content=" in warning and "capturing no content" in warning
    assert sc.GEN_AI_INPUT_MESSAGES not in telemetry.span().attributes


def test_argument_wins_over_environment(monkeypatch, instrument_openai, openai_client) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "SPAN_ONLY")
    telemetry = instrument_openai(capture_message_content="NO_CONTENT")
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    assert sc.GEN_AI_INPUT_MESSAGES not in telemetry.span().attributes


def test_chat_shapes(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    span = telemetry.span()
    assert _json(span, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "system", "parts": [{"type": "text", "content": "You answer parcel questions."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]},
    ]
    assert _json(span, sc.GEN_AI_OUTPUT_MESSAGES) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "text",
                    "content": "The parcel left the depot this morning and should arrive within two days.",
                }
            ],
            "finish_reason": "stop",
        }
    ]
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURE_MODE] == "SPAN_ONLY"
    assert span.attributes[sc.GENAI_OTEL_REDACTION_POLICY] == "default"
    assert span.attributes[sc.GENAI_OTEL_REDACTION_POLICY_VERSION].startswith("builtin-")


def test_tool_round_trip_shapes(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content=True)
    first = openai_client.chat.completions.create(
        model="gpt-test", messages=QUESTION, tools=[TRACK_PARCEL_TOOL]
    )
    call = first.choices[0].message.tool_calls[0]
    history = [
        *QUESTION,
        first.choices[0].message,  # a pydantic object in the history, as applications pass it back
        {"role": "tool", "tool_call_id": call.id, "content": "in transit"},
    ]
    openai_client.chat.completions.create(model="gpt-test", messages=history, tools=[TRACK_PARCEL_TOOL])
    asked, answered = telemetry.spans()
    assert _json(asked, sc.GEN_AI_TOOL_DEFINITIONS) == [
        {
            "type": "function",
            "name": "track_parcel",
            "description": "Look a parcel up",
            "parameters": {"type": "object", "properties": {"parcel_id": {"type": "string"}}},
        }
    ]
    assert _json(asked, sc.GEN_AI_OUTPUT_MESSAGES)[0] == {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": "call_fake_1",
                "name": "track_parcel",
                "arguments": {"parcel_id": "example"},
            }
        ],
        "finish_reason": "tool_call",
    }
    history_messages = _json(answered, sc.GEN_AI_INPUT_MESSAGES)
    assert history_messages[2]["parts"][-1]["type"] == "tool_call"
    assert history_messages[3] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_fake_1", "response": "in transit"}],
    }


def test_multimodal_parts_do_not_vanish_and_binary_is_summarised(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    content = [
        {"type": "text", "text": "What is on this label?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/label.png"}},
        {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}},
    ]
    openai_client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": content}])
    parts = _json(telemetry.span(), sc.GEN_AI_INPUT_MESSAGES)[0]["parts"]
    assert [p["type"] for p in parts] == ["text", "blob", "uri", "blob"]
    assert parts[1] == {
        "type": "blob",
        "modality": "image",
        "mime_type": "image/png",
        "content": "[omitted: 128 bytes of image/png]",
    }
    assert parts[2] == {"type": "uri", "modality": "image", "uri": "https://example.com/label.png"}
    assert parts[3]["mime_type"] == "audio/wav"
    assert PNG not in telemetry.exported_text()


def test_a_binary_parts_type_and_keys_pass_the_gate_too(instrument_openai, openai_client) -> None:
    """The type of a blob comes from the caller (a data: URL, an audio format) or from a tool's result:
    personal data or a secret there is redacted in the type field and never copied into the summary."""
    import genai_otel

    mode = "SPAN_AND_EVENT"
    telemetry = instrument_openai(capture_message_content=mode, call_records=True)
    content = [
        {"type": "image_url", "image_url": {"url": f"data:jane.doe@example.com;base64,{PNG}"}},
        {
            "type": "input_audio",
            "input_audio": {"data": PNG, "format": "wav key sk-proj-abcdefABCDEF1234567890xyz"},
        },
    ]
    openai_client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": content}])
    genai_otel.configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        logger_provider=telemetry.logger_provider,
        capture_message_content=mode,
    )
    try:
        with genai_otel.tool_call("scan", arguments={"doc": 1}) as call:
            call.set_result(
                {
                    "type": "blob",
                    "content": PNG,
                    "mime_type": "SSN 123-45-6789",
                    "owner jane.doe@example.com": 1,
                }
            )
    finally:
        genai_otel.configure_product()
    exported = telemetry.exported_text()
    for secret in ("jane.doe", "sk-proj-abcdef", "123-45-6789", PNG):
        assert secret not in exported, secret
    parts = _json(telemetry.spans()[0], sc.GEN_AI_INPUT_MESSAGES)[0]["parts"]
    # The modality, where the MIME type is no plain one.
    assert [part["content"] for part in parts] == [
        "[omitted: 128 bytes of image]",
        "[omitted: 128 bytes of audio]",
    ]


def test_binary_kept_when_asked(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", capture_binary=True)
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    openai_client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": [image]}])
    assert _json(telemetry.span(), sc.GEN_AI_INPUT_MESSAGES)[0]["parts"][0]["content"] == PNG


def test_size_limit_marks_truncation(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", content_max_length=10)
    openai_client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x" * 25}])
    text = _json(telemetry.span(), sc.GEN_AI_INPUT_MESSAGES)[0]["parts"][0]["content"]
    assert text == "xxxxxxxxxx…[truncated 15 chars]"


def test_streamed_answer_is_assembled(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    stream = openai_client.chat.completions.create(
        model="gpt-test", messages=QUESTION, stream=True, extra_headers={"X-Fake-Piece-Size": "3"}
    )
    received = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    (message,) = _json(telemetry.span(), sc.GEN_AI_OUTPUT_MESSAGES)
    assert message == {
        "role": "assistant",
        "parts": [{"type": "text", "content": received}],
        "finish_reason": "stop",
    }


def test_streamed_tool_call_is_assembled(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    list(
        openai_client.chat.completions.create(
            model="gpt-test", messages=QUESTION, tools=[TRACK_PARCEL_TOOL], stream=True
        )
    )
    (message,) = _json(telemetry.span(), sc.GEN_AI_OUTPUT_MESSAGES)
    assert message["parts"] == [
        {
            "type": "tool_call",
            "id": "call_fake_1",
            "name": "track_parcel",
            "arguments": {"parcel_id": "example"},
        }
    ]
    assert message["finish_reason"] == "tool_call"


def test_partial_stream_records_what_was_served(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    stream = openai_client.chat.completions.create(model="gpt-test", messages=QUESTION, stream=True)
    received = ""
    for _, chunk in zip(range(3), stream, strict=False):
        received += chunk.choices[0].delta.content or ""
    stream.close()
    (message,) = _json(telemetry.span(), sc.GEN_AI_OUTPUT_MESSAGES)
    assert message["parts"] == [{"type": "text", "content": received}]
    assert message["finish_reason"] == "closed_early"


async def test_async_stream_capture(instrument_openai, async_openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    stream = await async_openai_client.chat.completions.create(
        model="gpt-test", messages=QUESTION, stream=True
    )
    async for _ in stream:
        pass
    assert _json(telemetry.span(), sc.GEN_AI_OUTPUT_MESSAGES)[0]["finish_reason"] == "stop"


def test_responses_api_instructions_and_output(instrument_openai, openai_client) -> None:
    if not hasattr(openai_client, "responses"):
        pytest.skip("no Responses API in this openai version")
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", hash_key="tenant-secret")
    openai_client.responses.create(model="gpt-test", instructions="Be brief.", input="Where is my parcel?")
    list(
        openai_client.responses.create(
            model="gpt-test", instructions="Be brief.", input="Again?", stream=True
        )
    )
    plain, streamed = telemetry.spans()
    assert _json(plain, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [{"type": "text", "content": "Be brief."}]
    assert _json(plain, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]}
    ]
    for span in (plain, streamed):
        (message,) = _json(span, sc.GEN_AI_OUTPUT_MESSAGES)
        assert message["finish_reason"] == "stop"
        assert message["parts"][0]["type"] == "text"
    assert (
        plain.attributes[sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH]
        == streamed.attributes[sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH]
    )


def test_event_mode_emits_the_details_event(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="EVENT_ONLY")
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    span = telemetry.span()
    assert sc.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    (record,) = telemetry.logs()
    assert record.event_name == "gen_ai.client.inference.operation.details"
    assert record.trace_id == span.context.trace_id and record.span_id == span.context.span_id
    attributes = dict(record.attributes)
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-test"
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    inputs = attributes[sc.GEN_AI_INPUT_MESSAGES]  # structured, not a JSON string
    assert inputs[1]["parts"][0]["content"] == "Where is my parcel?"


def test_hashes_are_stable_and_keyed(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(hash_key="tenant-secret")
    for messages in (QUESTION, list(QUESTION), [{"role": "user", "content": "different"}]):
        openai_client.chat.completions.create(model="gpt-test", messages=messages)
    first, same, other = (s.attributes[sc.GENAI_OTEL_INPUT_MESSAGES_HASH] for s in telemetry.spans())
    assert first == same != other
    from genai_otel.content import stable_hash

    unkeyed = stable_hash([{"role": "user", "parts": [{"type": "text", "content": "different"}]}], None)
    assert other != unkeyed  # keyed: not guessable from the prompt alone


def test_hashing_can_be_switched_off(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(hash_inputs=False, hash_key="tenant-secret")  # off wins over the key
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH not in telemetry.span().attributes


def test_one_shot_iterables_are_left_to_the_client(instrument_openai, openai_client, llm_server) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    openai_client.chat.completions.create(model="gpt-test", messages=iter(QUESTION))
    assert llm_server.requests[-1].body["messages"][1]["content"] == "Where is my parcel?"
    assert sc.GEN_AI_INPUT_MESSAGES not in telemetry.span().attributes


def test_headers_and_keys_are_never_recorded(instrument_openai, llm_server) -> None:
    import openai

    telemetry = instrument_openai(capture_message_content="SPAN_AND_EVENT")
    api_key = "sk-live-abcdefghijklmnopqrstuvwxyz123456"
    client = openai.OpenAI(
        base_url=llm_server.openai_base_url,
        api_key=api_key,
        max_retries=0,
        default_headers={"X-Gateway-Key": "gw-key-1234567890"},
    )
    client.chat.completions.create(
        model="gpt-test", messages=QUESTION, extra_headers={"Authorization-Extra": "Bearer abcdefghijklmnop"}
    )
    exported = telemetry.exported_text()
    for secret in (api_key, "gw-key-1234567890", "abcdefghijklmnop", "X-Gateway-Key"):
        assert secret not in exported
