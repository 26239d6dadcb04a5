"""OpenAI messages, in and out, translated into the semconv v1.41.1 message shapes (capture opt-in).

Only lists and tuples are walked: the client also accepts one-shot iterables, and iterating those
here would take the messages away from the request itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genai_otel import content as ct
from genai_otel._values import field as _field
from genai_otel._values import model_fields as _model_fields
from genai_otel._values import sequence as _sequence
from genai_otel._values import string as _text
from genai_otel.content import Message, Part, RequestContent
from genai_otel.operation import Operation

_FINISH_REASONS = {"tool_calls": "tool_call", "function_call": "tool_call"}
# Where a streamed legacy function call accumulates: tool-call indexes start at 0.
_FUNCTION_CALL_SLOT = -1


def _file_data_part(data: str) -> Part:
    """A file's inline ``file_data``: a ``data:`` URL or bare base64."""
    if data.startswith("data:"):
        return ct.data_url_part(data, "document")
    return ct.blob_part("document", None, data)


def _generic(item: Any) -> Part:
    """A part type we do not know: kept, so that nothing vanishes (strings still get redacted)."""
    if isinstance(item, Mapping):
        return dict(item)
    fields = _model_fields(item)
    if fields is not None:
        return fields
    return {"type": type(item).__name__, "content": str(item)}


# --- chat completions ---------------------------------------------------------------------------------------
def _chat_part(item: Any) -> Part:
    kind = _field(item, "type")
    if kind == "text":
        return ct.text_part(_text(_field(item, "text")) or "")
    if kind == "image_url":
        url = _text(_field(_field(item, "image_url"), "url"))
        if url:
            return ct.data_url_part(url, "image")
    if kind == "input_audio":
        audio = _field(item, "input_audio")
        data = _text(_field(audio, "data"))
        if data is not None:
            audio_format = _text(_field(audio, "format"))
            return ct.blob_part("audio", f"audio/{audio_format}" if audio_format else None, data)
    if kind == "file":
        file = _field(item, "file")
        file_id = _text(_field(file, "file_id"))
        if file_id:
            return ct.file_part("document", file_id)
        data = _text(_field(file, "file_data"))
        if data:
            return _file_data_part(data)
    if kind == "refusal":
        return {"type": "refusal", "content": _text(_field(item, "refusal")) or ""}
    return _generic(item)


def _content_parts(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [ct.text_part(content)]
    return [_chat_part(item) for item in _sequence(content)]


def _tool_call_parts(calls: Any) -> list[Part]:
    parts = []
    for call in _sequence(calls):
        function = _field(call, "function")
        parts.append(
            ct.tool_call_part(
                _text(_field(call, "id")), _text(_field(function, "name")), _field(function, "arguments")
            )
        )
    return parts


def _function_call_parts(function_call: Any) -> list[Part]:
    """Legacy function calling's one call per message, which has no id."""
    if function_call is None:
        return []
    return [ct.tool_call_part(None, _text(_field(function_call, "name")), _field(function_call, "arguments"))]


def _chat_message(item: Any) -> Message:
    if type(item) is dict and len(item) == 2:  # the common {"role": ..., "content": "..."}
        role, body = item.get("role"), item.get("content")
        if isinstance(role, str) and role not in ("tool", "function") and isinstance(body, str):
            return {"role": role, "parts": [{"type": "text", "content": body}]}
    role = _text(_field(item, "role")) or "user"
    if role in ("tool", "function"):
        body = _field(item, "content")
        response = body if isinstance(body, str) else [_chat_part(p) for p in _sequence(body)]
        part = ct.tool_call_response_part(_text(_field(item, "tool_call_id")), response)
        # A legacy function result has no call id: its function's name is what ties it to the call.
        name = _text(_field(item, "name")) if role == "function" else None
        return ct.message("tool", [part], name)
    parts = _content_parts(_field(item, "content"))
    parts.extend(_tool_call_parts(_field(item, "tool_calls")))
    parts.extend(_function_call_parts(_field(item, "function_call")))
    return ct.message(role, parts, _text(_field(item, "name")))


def _chat_tool_definition(tool: Any) -> dict[str, Any]:
    function = _field(tool, "function")
    if function is None:
        kind = _text(_field(tool, "type")) or "tool"
        return {"type": kind, "name": _text(_field(tool, "name")) or kind}
    return _function_definition(function)


def _function_definition(function: Any) -> dict[str, Any]:
    """A function offered as a tool, or (legacy ``functions=``) on its own."""
    definition: dict[str, Any] = {"type": "function", "name": _text(_field(function, "name")) or ""}
    for key in ("description", "parameters"):
        value = _field(function, key)
        if value is not None:
            definition[key] = value
    return definition


def chat_request_content(kwargs: Mapping[str, Any]) -> RequestContent | None:
    messages = kwargs.get("messages")
    if not isinstance(messages, (list, tuple)):
        return None
    tools = [_chat_tool_definition(tool) for tool in _sequence(kwargs.get("tools"))]
    tools.extend(_function_definition(function) for function in _sequence(kwargs.get("functions")))
    return RequestContent([_chat_message(item) for item in messages], None, tools or None)


def chat_response_content(op: Operation, completion: Any) -> list[Message]:
    messages = []
    for choice in _sequence(getattr(completion, "choices", None)):
        reply = getattr(choice, "message", None)
        parts: list[Part] = []
        reasoning = _text(getattr(reply, "reasoning_content", None))  # OpenAI-compatible servers
        if reasoning:
            parts.append(ct.reasoning_part(reasoning))
        text = _text(getattr(reply, "content", None))
        if text:
            parts.append(ct.text_part(text))
        refusal = _text(getattr(reply, "refusal", None))
        if refusal:
            parts.append({"type": "refusal", "content": refusal})
        audio = getattr(reply, "audio", None)
        if audio is not None:
            transcript = _text(getattr(audio, "transcript", None))
            if transcript:
                parts.append(ct.text_part(transcript))
            data = _text(getattr(audio, "data", None))
            if data:
                parts.append(ct.blob_part("audio", None, data))
        parts.extend(_tool_call_parts(getattr(reply, "tool_calls", None)))
        parts.extend(_function_call_parts(getattr(reply, "function_call", None)))
        reason = getattr(choice, "finish_reason", None)
        messages.append(
            {
                "role": _text(getattr(reply, "role", None)) or "assistant",
                "parts": parts,
                "finish_reason": _FINISH_REASONS.get(reason, reason)
                if isinstance(reason, str)
                else "unknown",
            }
        )
    return messages


def accumulate_chat_chunk(op: Operation, chunk: Any) -> None:
    stream = op.content.stream  # type: ignore[union-attr]
    for choice in _sequence(getattr(chunk, "choices", None)):
        index = getattr(choice, "index", 0)
        index = index if isinstance(index, int) else 0
        delta = getattr(choice, "delta", None)
        if delta is None:
            continue
        stream.add_text(index, getattr(delta, "content", None))
        stream.add_refusal(index, getattr(delta, "refusal", None))
        stream.add_reasoning(index, getattr(delta, "reasoning_content", None))
        for call in _sequence(getattr(delta, "tool_calls", None)):
            function = getattr(call, "function", None)
            call_index = getattr(call, "index", 0)
            stream.add_tool_call(
                index,
                call_index if isinstance(call_index, int) else 0,
                getattr(call, "id", None),
                getattr(function, "name", None),
                getattr(function, "arguments", None),
            )
        function_call = getattr(delta, "function_call", None)
        if function_call is not None:  # legacy function calling: its own slot, apart from tool calls
            stream.add_tool_call(
                index,
                _FUNCTION_CALL_SLOT,
                None,
                getattr(function_call, "name", None),
                getattr(function_call, "arguments", None),
            )


# --- responses ---------------------------------------------------------------------------------------------
def _responses_part(item: Any) -> Part:
    kind = _field(item, "type")
    if kind in ("input_text", "output_text", "text"):
        return ct.text_part(_text(_field(item, "text")) or "")
    if kind == "input_image":
        url = _text(_field(item, "image_url"))
        if url:
            return ct.data_url_part(url, "image")
        file_id = _text(_field(item, "file_id"))
        if file_id:
            return ct.file_part("image", file_id)
    if kind == "input_file":
        file_id = _text(_field(item, "file_id"))
        if file_id:
            return ct.file_part("document", file_id)
        url = _text(_field(item, "file_url"))
        if url:
            return ct.uri_part("document", url)
        data = _text(_field(item, "file_data"))
        if data:
            return _file_data_part(data)
    if kind == "input_audio":
        audio = _field(item, "input_audio")
        data = _text(_field(audio, "data"))
        if data is not None:
            return ct.blob_part("audio", None, data)
    if kind == "refusal":
        return {"type": "refusal", "content": _text(_field(item, "refusal")) or ""}
    return _generic(item)


def _responses_item(item: Any) -> Message:
    kind = _field(item, "type")
    if kind == "function_call":
        return ct.message(
            "assistant",
            [
                ct.tool_call_part(
                    _text(_field(item, "call_id")), _text(_field(item, "name")), _field(item, "arguments")
                )
            ],
        )
    if kind == "function_call_output":
        return ct.message(
            "tool", [ct.tool_call_response_part(_text(_field(item, "call_id")), _field(item, "output"))]
        )
    if kind == "reasoning":
        summaries = [_text(_field(s, "text")) or "" for s in _sequence(_field(item, "summary"))]
        return ct.message("assistant", [ct.reasoning_part(text) for text in summaries if text])
    role = _text(_field(item, "role"))
    if role is not None:
        body = _field(item, "content")
        parts = (
            [ct.text_part(body)] if isinstance(body, str) else [_responses_part(p) for p in _sequence(body)]
        )
        return ct.message(role, parts)
    return ct.message("user", [_generic(item)])


def _responses_tool_definition(tool: Any) -> dict[str, Any]:
    kind = _text(_field(tool, "type")) or "tool"
    if kind != "function":
        return {"type": kind, "name": _text(_field(tool, "name")) or kind}
    definition: dict[str, Any] = {"type": "function", "name": _text(_field(tool, "name")) or ""}
    for key in ("description", "parameters"):
        value = _field(tool, key)
        if value is not None:
            definition[key] = value
    return definition


def responses_request_content(kwargs: Mapping[str, Any]) -> RequestContent | None:
    given = kwargs.get("input")
    if isinstance(given, str):
        messages = [ct.message("user", [ct.text_part(given)])]
    elif isinstance(given, (list, tuple)):
        messages = [_responses_item(item) for item in given]
    else:
        messages = []
    instructions = kwargs.get("instructions")
    system = [ct.text_part(instructions)] if isinstance(instructions, str) and instructions else None
    tools = [_responses_tool_definition(tool) for tool in _sequence(kwargs.get("tools"))]
    if not messages and system is None:
        return None
    return RequestContent(messages, system, tools or None)


def responses_output_messages(op: Operation, response: Any) -> list[Message]:
    parts: list[Part] = []
    for item in _sequence(getattr(response, "output", None)):
        kind = getattr(item, "type", None)
        if kind == "message":
            parts.extend(_responses_part(p) for p in _sequence(getattr(item, "content", None)))
        elif kind == "function_call":
            parts.append(
                ct.tool_call_part(
                    getattr(item, "call_id", None),
                    getattr(item, "name", None),
                    getattr(item, "arguments", None),
                )
            )
        elif kind == "reasoning":
            for summary in _sequence(getattr(item, "summary", None)):
                text = _text(getattr(summary, "text", None))
                if text:
                    parts.append(ct.reasoning_part(text))
        else:
            parts.append(
                {
                    "type": "server_tool_call",
                    "id": getattr(item, "id", None),
                    "name": kind,
                    "server_tool_call": _generic(item),
                }
            )
    reason = (op.finish_reasons or {}).get(0, "error")
    return [{"role": "assistant", "parts": parts, "finish_reason": reason}]


def accumulate_responses_event(op: Operation, event: Any, kind: str) -> None:
    content = op.content
    stream = content.stream  # type: ignore[union-attr]
    if kind == "response.output_text.delta":
        stream.add_text(0, getattr(event, "delta", None))
    elif kind == "response.refusal.delta":
        stream.add_refusal(0, getattr(event, "delta", None))
    elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
        stream.add_reasoning(0, getattr(event, "delta", None))
    elif kind == "response.output_item.added":
        item = getattr(event, "item", None)
        if getattr(item, "type", None) == "function_call":
            stream.add_tool_call(
                0,
                getattr(event, "output_index", 0),
                getattr(item, "call_id", None),
                getattr(item, "name", None),
                None,
            )
    elif kind == "response.function_call_arguments.delta":
        stream.add_tool_call(0, getattr(event, "output_index", 0), None, None, getattr(event, "delta", None))
    elif kind in ("response.completed", "response.incomplete", "response.failed"):
        response = getattr(event, "response", None)
        if response is not None:  # the final response is the whole answer: better than the deltas
            content.output_messages = responses_output_messages(op, response)  # type: ignore[union-attr]
