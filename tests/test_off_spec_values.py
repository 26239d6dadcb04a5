"""Values of another type than the client declares, from an off-spec server or a caller: genai-otel adds
no warning of its own (found by running openai's own test suite with genai-otel; tests/client_suites).

The clients build responses without validating them, so a field declared ``str`` can hold an ``int``; pydantic
warns when such a model is serialized, and content capture serializes the parts it does not know. A warning
from our code lands in the host's logs, or raises under ``-W error``; the host must see the warnings the
uninstrumented client gives, no more.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from genai_otel import semconv as sc

# A Responses API answer whose MCP tool listing has a description that is a number, not a string.
OFF_SPEC_TOOL = {"name": "read", "input_schema": {}, "description": 3}
RESPONSE = {
    "id": "resp_off_spec",
    "object": "response",
    "created_at": 0,
    "model": "gpt-test",
    "status": "completed",
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "output": [
        {"type": "mcp_list_tools", "id": "listed", "server_label": "desk", "tools": [OFF_SPEC_TOOL]},
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Listed.", "annotations": []}],
        },
    ],
    "usage": {
        "input_tokens": 5,
        "output_tokens": 2,
        "total_tokens": 7,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    },
}
STREAM_EVENTS = [
    {
        "type": "response.created",
        "sequence_number": 0,
        "response": {**RESPONSE, "status": "in_progress", "output": []},
    },
    {
        "type": "response.output_item.done",
        "sequence_number": 1,
        "output_index": 0,
        "item": RESPONSE["output"][0],
    },
    {
        "type": "response.output_item.done",
        "sequence_number": 2,
        "output_index": 1,
        "item": RESPONSE["output"][1],
    },
    {"type": "response.completed", "sequence_number": 3, "response": RESPONSE},
]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if body.get("stream"):
            payload = "".join(f"data: {json.dumps(event)}\n\n" for event in STREAM_EVENTS).encode()
            content_type = "text/event-stream"
        else:
            payload, content_type = json.dumps(RESPONSE).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def off_spec_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _warnings_of(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, sorted(f"{w.category.__name__}: {w.message}" for w in caught)


def _responses_call(client: Any, stream: bool) -> Any:
    if stream:
        return [event.type for event in client.responses.create(model="gpt-test", input="List.", stream=True)]
    return client.responses.create(model="gpt-test", input="List.").output[0]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_an_off_spec_response_part_is_captured_without_a_warning(
    instrument_openai, off_spec_server, caplog, stream
) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=off_spec_server, api_key="sk-test-not-a-real-key-000", max_retries=0)
    if not hasattr(client, "responses"):
        pytest.skip("this openai has no Responses API")
    bare_result, bare_warnings = _warnings_of(lambda: _responses_call(client, stream))
    telemetry = instrument_openai(capture_message_content="SPAN_AND_EVENT")
    result, instrumented_warnings = _warnings_of(lambda: _responses_call(client, stream))

    assert instrumented_warnings == bare_warnings
    assert "internal error" not in caplog.text
    assert type(result) is type(bare_result)
    if not stream:
        assert getattr(result, "tools", None) == getattr(bare_result, "tools", None)
    output = telemetry.span().attributes.get(sc.GEN_AI_OUTPUT_MESSAGES)
    # Only a client that knows the item type gives it to the caller (and to us) as what it is; an older one
    # makes something else of it (openai 1.66 turns the completed event into an audio delta).
    if hasattr(openai.types.responses.response_output_item, "McpListTools"):
        assert output is not None and '"description": 3' in output.replace(
            '"description":3', '"description": 3'
        )


def test_ollama_tool_definitions_of_another_type_add_no_warning(instrument_both, llm_server, caplog) -> None:
    ollama = pytest.importorskip("ollama")
    # A caller's tool, built without validation, one of whose parameters has a number for a description.
    parameter = ollama.Tool.Function.Parameters.Property.model_construct(type="string", description=3)
    parameters = ollama.Tool.Function.Parameters.model_construct(
        type="object", properties={"path": parameter}
    )
    function = ollama.Tool.Function.model_construct(name="read", description="Read", parameters=parameters)
    tool = ollama.Tool.model_construct(type="function", function=function)
    client = ollama.Client(host=llm_server.base_url)

    def chat() -> Any:
        try:
            return client.chat(model="llama3.2", messages=[{"role": "user", "content": "Hi"}], tools=[tool])
        except Exception as error:  # whatever the client makes of it, it must be the same both ways
            return type(error)

    bare_result, bare_warnings = _warnings_of(chat)
    telemetry = instrument_both(capture_message_content="SPAN_AND_EVENT")
    result, instrumented_warnings = _warnings_of(chat)

    assert instrumented_warnings == bare_warnings
    assert "internal error" not in caplog.text
    assert type(result) is type(bare_result)
    definitions = telemetry.span().attributes.get(sc.GEN_AI_TOOL_DEFINITIONS)
    if not isinstance(bare_result, type):
        assert definitions is not None and '"description": 3' in definitions.replace(
            '"description":3', '"description": 3'
        )


class _Pydantic1Shim:
    """What openai's model looks like under pydantic 1: ``model_dump`` refuses ``warnings``."""

    def model_dump(self, *, exclude_none: bool = False, warnings: bool = True) -> dict[str, Any]:
        if warnings is not True:
            raise ValueError("warnings is only supported in Pydantic v2")
        return {"name": "read"}


def test_model_fields_under_pydantic_1_and_of_what_is_no_model(monkeypatch) -> None:
    from genai_otel import _values

    monkeypatch.setattr(_values, "_PYDANTIC_1", True)
    assert _values.model_fields(_Pydantic1Shim()) == {"name": "read"}
    monkeypatch.setattr(_values, "_PYDANTIC_1", False)
    with pytest.raises(ValueError):  # the shim is what pydantic 2 never is; the flag decides
        _values.model_fields(_Pydantic1Shim())
    assert _values.model_fields("a description") is None
    assert _values.model_fields({"name": "read"}) is None  # a mapping is read as a mapping by the callers
