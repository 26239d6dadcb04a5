"""Content capture and input hashes for the Ollama client: shapes, streams, thinking, tools, redaction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from genai_otel import semconv as sc
from tests.helpers import TRACK_PARCEL_TOOL

pytest.importorskip("ollama")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
QUESTION = [
    {"role": "system", "content": "You answer parcel questions."},
    {"role": "user", "content": "Where is my parcel? Mail jane.doe@example.org"},
]


@pytest.fixture
def capturing(telemetry, llm_server) -> Any:
    import ollama

    from genai_otel.ollama import OllamaInstrumentor

    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(**telemetry.providers(), capture_message_content="SPAN_ONLY")
    try:
        yield ollama.Client(host=llm_server.base_url)
    finally:
        instrumentor.uninstrument()
        telemetry.assert_each_span_ended_once()


def _json(span, key):
    return json.loads(span.attributes[key])


def test_chat_shapes_and_redaction(capturing, telemetry) -> None:
    capturing.chat("llama3.2", QUESTION)  # positional arguments are read too
    span = telemetry.span()
    assert _json(span, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "system", "parts": [{"type": "text", "content": "You answer parcel questions."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Where is my parcel? Mail [EMAIL]"}]},
    ]
    (answer,) = _json(span, sc.GEN_AI_OUTPUT_MESSAGES)
    assert answer["role"] == "assistant" and answer["finish_reason"] == "stop"
    assert answer["parts"][0]["type"] == "text"
    assert "jane.doe" not in telemetry.exported_text()


def test_streamed_chat_with_thinking(capturing, telemetry) -> None:
    import ollama

    if "think" not in ollama.Client.chat.__code__.co_varnames:
        pytest.skip("think not in this ollama version")
    streamed = list(capturing.chat(model="llama3.2", messages=QUESTION, stream=True, think=True))
    answer = "".join(chunk.message.content or "" for chunk in streamed)
    (message,) = _json(telemetry.span(), sc.GEN_AI_OUTPUT_MESSAGES)
    assert [p["type"] for p in message["parts"]] == ["reasoning", "text"]
    assert message["parts"][1]["content"] == answer


def test_tool_calls_and_tool_results(capturing, telemetry) -> None:
    first = capturing.chat(model="llama3.2", messages=QUESTION, tools=[TRACK_PARCEL_TOOL])
    call = first.message.tool_calls[0]
    history = [
        *QUESTION,
        first.message,
        {"role": "tool", "content": "in transit", "tool_name": call.function.name},
    ]
    list(capturing.chat(model="llama3.2", messages=history, tools=[TRACK_PARCEL_TOOL], stream=True))
    asked, answered = telemetry.spans()
    assert _json(asked, sc.GEN_AI_TOOL_DEFINITIONS)[0]["name"] == "track_parcel"
    (tool_answer,) = _json(asked, sc.GEN_AI_OUTPUT_MESSAGES)
    assert tool_answer["parts"] == [
        {"type": "tool_call", "name": "track_parcel", "arguments": {"parcel_id": "example"}}
    ]
    assert tool_answer["finish_reason"] == "tool_call"
    inputs = _json(answered, sc.GEN_AI_INPUT_MESSAGES)
    assert inputs[2]["parts"][-1]["type"] == "tool_call"
    assert inputs[3]["parts"][0] == {
        "type": "tool_call_response",
        "response": "in transit",
        "name": "track_parcel",
    }


def test_streamed_tool_call(capturing, telemetry) -> None:
    list(capturing.chat(model="llama3.2", messages=QUESTION, tools=[TRACK_PARCEL_TOOL], stream=True))
    (message,) = _json(telemetry.span(), sc.GEN_AI_OUTPUT_MESSAGES)
    assert message["parts"] == [
        {"type": "tool_call", "name": "track_parcel", "arguments": {"parcel_id": "example"}}
    ]


def test_images_are_summarised(capturing, telemetry) -> None:
    image = b"\x89PNG\r\n\x1a\n" + b"\0" * 92
    capturing.chat(model="llava", messages=[{"role": "user", "content": "What is this?", "images": [image]}])
    parts = _json(telemetry.span(), sc.GEN_AI_INPUT_MESSAGES)[0]["parts"]
    assert parts[1] == {"type": "blob", "modality": "image", "content": "[omitted: 100 bytes of image]"}


def test_generate_prompt_system_and_stream(capturing, telemetry) -> None:
    capturing.generate(model="llama3.2", prompt="Complete: the parcel", system="Be brief.")
    list(capturing.generate(model="llama3.2", prompt="Complete: the parcel", system="Be brief.", stream=True))
    for span in telemetry.spans():
        assert _json(span, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [{"type": "text", "content": "Be brief."}]
        assert _json(span, sc.GEN_AI_INPUT_MESSAGES) == [
            {"role": "user", "parts": [{"type": "text", "content": "Complete: the parcel"}]}
        ]
        assert _json(span, sc.GEN_AI_OUTPUT_MESSAGES)[0]["finish_reason"] == "stop"


def test_cut_stream_records_what_was_served(capturing, telemetry) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the client's own error
        list(capturing.chat(model="llama3.2:cut", messages=QUESTION, stream=True))
    (message,) = _json(telemetry.span(), sc.GEN_AI_OUTPUT_MESSAGES)
    assert message["finish_reason"] == "error"


@pytest.mark.parametrize("hashing", [{"hash_key": "tenant-secret"}, {"hash_inputs": True}])
def test_equal_prompts_hash_equal_across_clients(
    instrument_openai, openai_client, llm_server, telemetry, hashing
) -> None:
    import ollama

    from genai_otel.ollama import OllamaInstrumentor

    instrument_openai(**hashing)
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(**telemetry.providers(), **hashing)
    try:
        ollama.Client(host=llm_server.base_url).chat(model="llama3.2", messages=QUESTION)
        openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    finally:
        instrumentor.uninstrument()
    via_ollama, via_openai = telemetry.spans()
    for key in (sc.GENAI_OTEL_INPUT_MESSAGES_HASH, sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH):
        assert via_ollama.attributes[key] == via_openai.attributes[key]
    assert sc.GEN_AI_INPUT_MESSAGES not in via_ollama.attributes


def test_numbers_in_tool_call_arguments_are_redacted(capturing, telemetry) -> None:
    # Ollama hands tool arguments over as a mapping, with JSON numbers as Python ints.
    history = [
        {"role": "user", "content": "pay it"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "pay", "arguments": {"card_number": 4532015112830366, "cents": 1299}}}
            ],
        },
    ]
    capturing.chat(model="llama3.2", messages=history)
    (_, call_message) = _json(telemetry.span(), sc.GEN_AI_INPUT_MESSAGES)
    (call,) = [part for part in call_message["parts"] if part["type"] == "tool_call"]
    assert call["arguments"] == {"card_number": "[CARD]", "cents": 1299}
    assert "4532015112830366" not in telemetry.exported_text()
