"""Ollama messages, in and out, translated into the semconv v1.41.1 message shapes (capture opt-in).

Ollama has no tool call ids; tool results name their tool (``tool_name``) instead. Images are base64
strings, raw bytes or file paths: all become ``blob`` parts (recorded as size and type unless binary
capture is on); a path is not read. Tools given as Python functions are described by name and docstring.
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Mapping
from typing import Any

from genai_otel import content as ct
from genai_otel._values import field as _field
from genai_otel._values import model_fields as _model_fields
from genai_otel._values import sequence as _sequence
from genai_otel._values import string as _text
from genai_otel.content import Message, Part, RequestContent
from genai_otel.operation import Operation


def _image_part(image: Any) -> Part:
    value = getattr(image, "value", image)  # ollama.Image wraps the value
    if isinstance(value, (bytes, bytearray)):
        return ct.blob_part("image", None, base64.b64encode(bytes(value)).decode())
    return ct.blob_part("image", None, str(value))


def _tool_call_parts(calls: Any) -> list[Part]:
    parts = []
    for call in _sequence(calls):
        function = _field(call, "function")
        arguments = _field(function, "arguments")
        if hasattr(arguments, "items"):
            arguments = dict(arguments.items())
        parts.append(ct.tool_call_part(None, _text(_field(function, "name")), arguments))
    return parts


def _message(item: Any) -> Message:
    if type(item) is dict and len(item) == 2:  # the common {"role": ..., "content": "..."}
        role, body = item.get("role"), item.get("content")
        if isinstance(role, str) and role and role != "tool" and isinstance(body, str) and body:
            return {"role": role, "parts": [{"type": "text", "content": body}]}
    role = _text(_field(item, "role")) or "user"
    body = _text(_field(item, "content"))
    if role == "tool":
        name = _text(_field(item, "tool_name"))
        part = ct.tool_call_response_part(None, body or "")
        if name:
            part["name"] = name
        return ct.message("tool", [part])
    parts: list[Part] = []
    thinking = _text(_field(item, "thinking"))
    if thinking:
        parts.append(ct.reasoning_part(thinking))
    if body:
        parts.append(ct.text_part(body))
    parts.extend(_image_part(image) for image in _sequence(_field(item, "images")))
    parts.extend(_tool_call_parts(_field(item, "tool_calls")))
    return ct.message(role, parts)


def _tool_definition(tool: Any) -> dict[str, Any]:
    if callable(tool) and not isinstance(tool, Mapping) and not hasattr(tool, "function"):
        definition: dict[str, Any] = {"type": "function", "name": getattr(tool, "__name__", "tool")}
        doc = (inspect.getdoc(tool) or "").split("\n", 1)[0]
        if doc:
            definition["description"] = doc
        return definition
    function = _field(tool, "function")
    definition = {
        "type": _text(_field(tool, "type")) or "function",
        "name": _text(_field(function, "name")) or "",
    }
    for key in ("description", "parameters"):
        value = _field(function, key)
        fields = _model_fields(value)
        if fields is not None:
            value = fields
        if value is not None:
            definition[key] = value
    return definition


def chat_request_content(arguments: Mapping[str, Any]) -> RequestContent | None:
    messages = arguments.get("messages")
    if not isinstance(messages, (list, tuple)):
        return None
    tools = [_tool_definition(tool) for tool in _sequence(arguments.get("tools"))]
    return RequestContent([_message(item) for item in messages], None, tools or None)


def generate_request_content(arguments: Mapping[str, Any]) -> RequestContent | None:
    prompt = _text(arguments.get("prompt"))
    parts: list[Part] = [ct.text_part(prompt)] if prompt else []
    parts.extend(_image_part(image) for image in _sequence(arguments.get("images")))
    system = _text(arguments.get("system"))
    if not parts and not system:
        return None
    return RequestContent(
        [ct.message("user", parts)] if parts else [], [ct.text_part(system)] if system else None
    )


def _finish(op: Operation) -> str:
    return (op.finish_reasons or {}).get(0, "unknown")


def chat_output_messages(op: Operation, response: Any) -> list[Message]:
    reply = _message(getattr(response, "message", None) or {"role": "assistant"})
    reply["role"] = reply.get("role") or "assistant"
    reply["finish_reason"] = _finish(op)
    return [reply]


def generate_output_messages(op: Operation, response: Any) -> list[Message]:
    parts: list[Part] = []
    thinking = _text(getattr(response, "thinking", None))
    if thinking:
        parts.append(ct.reasoning_part(thinking))
    text = _text(getattr(response, "response", None))
    if text:
        parts.append(ct.text_part(text))
    return [{"role": "assistant", "parts": parts, "finish_reason": _finish(op)}]


def accumulate_chat_chunk(op: Operation, chunk: Any) -> None:
    stream = op.content.stream  # type: ignore[union-attr]
    message = getattr(chunk, "message", None)
    if message is None:
        return
    stream.add_reasoning(0, getattr(message, "thinking", None))
    stream.add_text(0, getattr(message, "content", None))
    for part in _tool_call_parts(getattr(message, "tool_calls", None)):
        # Ollama streams each tool call whole, in one chunk; each gets the next index.
        index = stream.tool_call_count(0)
        arguments = part.get("arguments")
        stream.add_tool_call(
            0, index, None, part.get("name"), json.dumps(arguments) if arguments is not None else None
        )


def accumulate_generate_chunk(op: Operation, chunk: Any) -> None:
    stream = op.content.stream  # type: ignore[union-attr]
    stream.add_reasoning(0, getattr(chunk, "thinking", None))
    stream.add_text(0, getattr(chunk, "response", None))
