"""A small LLM server on 127.0.0.1 that speaks the OpenAI wire protocol and the Ollama API, for tests
and demos.

It is deterministic and needs no model: answers are built from the request. Start it with::

    with FakeLLMServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="unused")
        local = ollama.Client(host=server.base_url)  # /api/chat, /api/generate, /api/embed, /api/embeddings

``GET /v1/models`` and ``GET /api/tags`` list a model each (what availability probes ask for).

Behaviour is chosen per request by the ``X-Fake-Scenario`` header (or, when absent, by a scenario
name inside the model name, e.g. ``model="gpt-test:status-429"``):

``status-400`` / ``status-429`` / ``status-500``
    answer with that HTTP status and an OpenAI-style error body.
``malformed``
    a 200 whose body (or, streaming, whose second event) is not JSON.
``truncate``
    streaming only: stop after a few chunks, without a finish reason or ``[DONE]``, cleanly.
``cut``
    streaming only: drop the connection in the middle of the chunked body.
``stream-error``
    streaming only: an ``{"error": ...}`` event after a few chunks.
``no-usage``
    no usage block in the response (Ollama: no token counts and no timings in the final message).
``cold-load`` (Ollama)
    the final message reports a model load of 2.4 s (reported only: nothing waits).

On the Ollama routes, streams are NDJSON (``"stream"`` defaults to true, as in Ollama) and end with a
``"done": true`` message carrying ``done_reason``, token counts and timings in nanoseconds; errors have
Ollama's ``{"error": "..."}`` body (``status-404`` says the model was not found); ``stream-error`` is an
``{"error": ...}`` line; ``options.num_predict`` cuts the answer to that many pieces with
``done_reason="length"``; ``think`` adds thinking before the answer. Ollama's models carry tags
(``llama3.2:1b``): only a known scenario after the last ``:`` is one.

``X-Fake-Error`` sets the message every error above carries (HTTP error bodies, stream error events, a
failed Responses stream) and ``X-Fake-Error-Code`` the code of a failed Responses stream, e.g. to plant
personal data in them.

``X-Fake-Model`` and ``X-Fake-Answer`` (each a JSON string literal, so that they can hold what a header
cannot, such as ``"gpt-\\ud800"``) set the model a chat answer (OpenAI or Ollama) reports and its text.

``X-Fake-Delay`` (seconds) delays the answer, ``X-Fake-Chunk-Delay`` each streamed event;
``X-Fake-Chunks`` sets how many content chunks a
stream carries; ``X-Fake-Echo`` answers with the last user message (and, when tools are offered,
calls the first tool with ``{"query": <that message>}``); ``X-Fake-Piece-Size`` streams text and
tool arguments in pieces of that many characters, splitting words. Chat requests offering legacy
``functions`` (and no ``tools``) get one ``function_call`` with ``finish_reason="function_call"``, and a
``role: "function"`` message is answered like a tool result. Every request is kept in
``server.requests`` for assertions.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_ANSWER = "The parcel left the depot this morning and should arrive within two days."


class RecordedRequest:
    __slots__ = ("body", "headers", "method", "path")

    def __init__(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


def _words(text: str) -> int:
    return len(text.split())


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _example_for(schema: Any) -> Any:
    """A value that satisfies a (simple) JSON schema: for structured-output requests."""
    if not isinstance(schema, dict):
        return "example"
    kind = schema.get("type")
    if "anyOf" in schema:
        return _example_for(schema["anyOf"][0])
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: _example_for(sub) for name, sub in properties.items()}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if "enum" in schema:
        return schema["enum"][0]
    return "example"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    chunk_delay = 0.0

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # --- plumbing --------------------------------------------------------------------------------
    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def _send_json(self, status: int, payload: Any, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", "req_fake")
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut_connection(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    def _sse(self, payload: Any) -> None:
        if self.chunk_delay:
            time.sleep(self.chunk_delay)
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self._write_chunk(f"data: {data}\n\n".encode())

    def _scenario(self, body: Any) -> str:
        scenario = self.headers.get("X-Fake-Scenario")
        if scenario:
            return scenario
        model = body.get("model") if isinstance(body, dict) else None
        if isinstance(model, str) and ":" in model:
            return model.rsplit(":", 1)[1]
        return ""

    def _header_string(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(json.loads(value))

    def _error_message(self, default: str) -> str:
        return self.headers.get("X-Fake-Error") or default

    def _error(self, status: int) -> None:
        if self.path.startswith("/api/"):
            default = "model not found, try pulling it first" if status == 404 else f"fake error {status}"
            self._send_json(status, {"error": self._error_message(default)})
            return
        kinds = {400: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error"}
        error = {
            "message": self._error_message(f"fake error {status}"),
            "type": kinds.get(status, "error"),
            "code": None,
        }
        self._send_json(status, {"error": error})

    # --- routing -----------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.server.record(RecordedRequest("GET", self.path, dict(self.headers), None))
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "gpt-test", "object": "model"}]})
        elif self.path.rstrip("/") == "/api/tags":  # Ollama's model list (what availability probes ask)
            self._send_json(200, {"models": [{"name": "llama3.2:1b", "model": "llama3.2:1b", "size": 0}]})
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        body = self._read_json()
        self.server.record(RecordedRequest("POST", self.path, dict(self.headers), body))
        if body is None:
            self._error(400)
            return
        self.chunk_delay = float(self.headers.get("X-Fake-Chunk-Delay") or 0)
        delay = float(self.headers.get("X-Fake-Delay") or 0)
        if delay:
            time.sleep(delay)
        scenario = self._scenario(body)
        if scenario.startswith("status-"):
            self._error(int(scenario.split("-", 1)[1]))
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        route = {
            "/v1/chat/completions": self._chat,
            "/v1/responses": self._responses,
            "/v1/embeddings": self._embeddings,
            "/api/chat": self._ollama_chat,
            "/api/generate": self._ollama_generate,
            "/api/embed": self._ollama_embed,
            "/api/embeddings": self._ollama_embeddings,
        }.get(path)
        if route is None:
            self._send_json(404, {"error": {"message": f"no route {path}"}})
            return
        route(body, scenario)

    # --- chat completions -------------------------------------------------------------------------
    def _chat_plan(self, body: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
        """The answer text, or the tool calls to make instead."""
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        # Legacy function calling offers bare functions; the answer is then one `function_call`.
        tools = body.get("tools") or [{"function": f} for f in body.get("functions") or []]
        echo = self.headers.get("X-Fake-Echo") is not None
        if tools and last.get("role") not in ("tool", "function"):
            function = tools[0].get("function", {})
            arguments = _example_for(function.get("parameters", {}))
            if echo:
                arguments = {"query": _content_text(last.get("content"))}
            return None, [
                {
                    "id": "call_fake_1",
                    "type": "function",
                    "function": {"name": function.get("name", "tool"), "arguments": json.dumps(arguments)},
                }
            ]
        if last.get("role") in ("tool", "function"):
            return f"According to the tool: {_content_text(last.get('content'))}", []
        if echo:
            return _content_text(last.get("content")), []
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            return json.dumps(_example_for(response_format.get("json_schema", {}).get("schema"))), []
        if response_format.get("type") == "json_object":
            return json.dumps({"answer": DEFAULT_ANSWER}), []
        return DEFAULT_ANSWER, []

    def _chat_usage(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        prompt = sum(_words(_content_text(m.get("content"))) + 3 for m in body.get("messages") or [])
        completion = max(_words(text), 1)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }

    def _chat(self, body: dict[str, Any], scenario: str) -> None:
        model = str(body.get("model", "gpt-test"))
        response_model = self._header_string("X-Fake-Model") or model.split(":", 1)[0] + "-2026-01-01"
        text, tool_calls = self._chat_plan(body)
        text = self._header_string("X-Fake-Answer") or text
        n = int(body.get("n") or 1)
        legacy = bool(tool_calls) and not body.get("tools")
        finish = ("function_call" if legacy else "tool_calls") if tool_calls else "stop"
        if body.get("stream"):
            self._chat_stream(body, scenario, response_model, text, tool_calls, finish)
            return
        if scenario == "malformed":
            self._send_json(200, None, raw=b'{"id": "chatcmpl-fake", "choices": [ this is not json')
            return
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if legacy:
            message["function_call"] = tool_calls[0]["function"]
        elif tool_calls:
            message["tool_calls"] = tool_calls
        payload: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": response_model,
            "system_fingerprint": "fp_fake",
            "service_tier": "default",
            "choices": [
                {"index": i, "message": message, "finish_reason": finish, "logprobs": None} for i in range(n)
            ],
        }
        if scenario != "no-usage":
            payload["usage"] = self._chat_usage(body, text or json.dumps(tool_calls))
        self._send_json(200, payload)

    def _chat_stream(
        self,
        body: dict[str, Any],
        scenario: str,
        response_model: str,
        text: str | None,
        tool_calls: list[dict[str, Any]],
        finish: str,
    ) -> None:
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": response_model,
            "system_fingerprint": "fp_fake",
            "service_tier": "default",
        }

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        wanted = int(self.headers.get("X-Fake-Chunks") or 0)
        piece_size = int(self.headers.get("X-Fake-Piece-Size") or 8)
        if finish == "function_call":
            function = tool_calls[0]["function"]
            arguments = function["arguments"]
            pieces: list[dict[str, Any]] = [{"function_call": {"name": function["name"], "arguments": ""}}]
            for start in range(0, len(arguments), piece_size):
                pieces.append({"function_call": {"arguments": arguments[start : start + piece_size]}})
        elif tool_calls:
            pieces = []
            for index, call in enumerate(tool_calls):
                arguments = call["function"]["arguments"]
                head = {
                    "index": index,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }
                pieces.append({"tool_calls": [head]})
                for start in range(0, len(arguments), piece_size):
                    pieces.append(
                        {
                            "tool_calls": [
                                {
                                    "index": index,
                                    "function": {"arguments": arguments[start : start + piece_size]},
                                }
                            ]
                        }
                    )
        else:
            if wanted:
                words = [f"w{i} " for i in range(wanted)]
            elif self.headers.get("X-Fake-Piece-Size"):  # split anywhere, even inside a word
                words = [(text or "")[i : i + piece_size] for i in range(0, len(text or ""), piece_size)]
            else:
                words = [w + " " for w in (text or "").split()]
            pieces = [{"content": word} for word in words]

        self._start_stream("text/event-stream")
        self._sse(chunk({"role": "assistant", "content": ""}))
        for position, delta in enumerate(pieces):
            if position == 2 and scenario in ("truncate", "cut", "stream-error", "malformed"):
                if scenario == "truncate":
                    self._end_stream()
                elif scenario == "cut":
                    self._cut_connection()
                elif scenario == "stream-error":
                    message = self._error_message("fake failure mid-stream")
                    self._sse({"error": {"message": message, "type": "server_error"}})
                    self._end_stream()
                else:
                    self._write_chunk(b"data: {not json\n\n")
                    self._end_stream()
                return
            self._sse(chunk(delta))
        self._sse(chunk({}, finish))
        include_usage = (body.get("stream_options") or {}).get("include_usage")
        if include_usage and scenario != "no-usage":
            produced = " ".join(p.get("content", "") for p in pieces) or "x"
            self._sse({**base, "choices": [], "usage": self._chat_usage(body, produced)})
        self._sse("[DONE]")
        self._end_stream()

    # --- responses --------------------------------------------------------------------------------
    def _responses(self, body: dict[str, Any], scenario: str) -> None:
        model = str(body.get("model", "gpt-test"))
        response_model = model.split(":", 1)[0] + "-2026-01-01"
        tools = body.get("tools") or []
        input_items = body.get("input")
        last_is_tool_output = (
            isinstance(input_items, list)
            and input_items
            and (input_items[-1].get("type") == "function_call_output")
        )
        input_text = input_items if isinstance(input_items, str) else json.dumps(input_items)
        usage = None
        if scenario != "no-usage":
            usage = {
                "input_tokens": _words(input_text) + 3,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": _words(DEFAULT_ANSWER),
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": _words(input_text) + 3 + _words(DEFAULT_ANSWER),
            }
        if tools and not last_is_tool_output:
            tool = tools[0]
            item: dict[str, Any] = {
                "type": "function_call",
                "id": "fc_fake_1",
                "call_id": "call_fake_1",
                "name": tool.get("name", "tool"),
                "arguments": json.dumps(_example_for(tool.get("parameters", {}))),
                "status": "completed",
            }
        else:
            text_format = (body.get("text") or {}).get("format") or {}
            answer = (
                json.dumps(_example_for(text_format.get("schema")))
                if text_format.get("type") == "json_schema"
                else DEFAULT_ANSWER
            )
            item = {
                "type": "message",
                "id": "msg_fake_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": answer, "annotations": []}],
            }
        response = {
            "id": "resp_fake",
            "object": "response",
            "created_at": int(time.time()),
            "model": response_model,
            "status": "completed",
            "output": [item],
            "usage": usage,
            "service_tier": "default",
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": tools,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "metadata": {},
            "temperature": body.get("temperature"),
            "top_p": body.get("top_p"),
            "max_output_tokens": body.get("max_output_tokens"),
            "text": body.get("text") or {"format": {"type": "text"}},
        }
        if not body.get("stream"):
            if scenario == "malformed":
                self._send_json(200, None, raw=b'{"id": "resp_fake", "output": [ nope')
                return
            self._send_json(200, response)
            return

        sequence = 0

        def event(kind: str, **fields: Any) -> None:
            nonlocal sequence
            self._sse({"type": kind, "sequence_number": sequence, **fields})
            sequence += 1

        in_progress = {**response, "status": "in_progress", "output": [], "usage": None}
        self._start_stream("text/event-stream")
        event("response.created", response=in_progress)
        event("response.in_progress", response=in_progress)
        if item["type"] == "function_call":
            event(
                "response.output_item.added",
                output_index=0,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            arguments = item["arguments"]
            for start in range(0, len(arguments), 8):
                event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=0,
                    delta=arguments[start : start + 8],
                )
            event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=0,
                arguments=arguments,
                name=item["name"],
            )
            event("response.output_item.done", output_index=0, item=item)
        else:
            text = item["content"][0]["text"]
            wanted = int(self.headers.get("X-Fake-Chunks") or 0)
            pieces = [f"w{i} " for i in range(wanted)] if wanted else [w + " " for w in text.split()]
            event(
                "response.output_item.added",
                output_index=0,
                item={**item, "content": [], "status": "in_progress"},
            )
            event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                part={"type": "output_text", "text": "", "annotations": []},
            )
            for position, piece in enumerate(pieces):
                if position == 2 and scenario == "truncate":
                    self._end_stream()
                    return
                if position == 2 and scenario == "cut":
                    self._cut_connection()
                    return
                event(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=0,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            event(
                "response.output_text.done",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                text="".join(pieces),
                logprobs=[],
            )
            event(
                "response.content_part.done",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                part={"type": "output_text", "text": "".join(pieces), "annotations": []},
            )
            final_item = {
                **item,
                "content": [{"type": "output_text", "text": "".join(pieces), "annotations": []}],
            }
            event("response.output_item.done", output_index=0, item=final_item)
            response = {**response, "output": [final_item]}
        if scenario == "stream-error":
            event(
                "response.failed",
                response={
                    **response,
                    "status": "failed",
                    "error": {
                        "code": self.headers.get("X-Fake-Error-Code") or "server_error",
                        "message": self._error_message("fake failure"),
                    },
                },
            )
        else:
            event("response.completed", response=response)
        self._end_stream()

    # --- embeddings --------------------------------------------------------------------------------
    def _embeddings(self, body: dict[str, Any], scenario: str) -> None:
        if scenario == "malformed":
            self._send_json(200, None, raw=b'{"data": [ {')
            return
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dimensions = int(body.get("dimensions") or 8)
        data = []
        for index, text in enumerate(texts):
            seed = zlib.crc32(str(text).encode())
            vector = [((seed >> (i % 32)) % 1000) / 1000.0 for i in range(dimensions)]
            embedding: Any = vector
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(_words(str(t)) for t in texts)
        payload: dict[str, Any] = {
            "object": "list",
            "data": data,
            "model": str(body.get("model")).split(":", 1)[0],
        }
        if scenario != "no-usage":
            payload["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
        self._send_json(200, payload)

    # --- Ollama API -------------------------------------------------------------------------------
    _OLLAMA_SCENARIOS = ("malformed", "truncate", "cut", "stream-error", "no-usage", "cold-load")

    def _ollama_model(self, body: dict[str, Any]) -> str:
        """The model as Ollama names it in answers: tagged (``:latest`` when the request had no tag)."""
        model = str(body.get("model") or "")
        name, _, tag = model.rpartition(":")
        if name and (tag in self._OLLAMA_SCENARIOS or tag.startswith("status-")):
            model = name
        model = self._header_string("X-Fake-Model") or model
        return model if ":" in model else f"{model}:latest"

    def _ollama_done(
        self, scenario: str, prompt_tokens: int, output_tokens: int, reason: str = "stop"
    ) -> dict[str, Any]:
        """The fields of Ollama's final message: why it stopped, token counts, timings in ns."""
        done: dict[str, Any] = {"done": True, "done_reason": reason}
        if scenario == "no-usage":
            return done
        load = 2_400_000_000 if scenario == "cold-load" else 1_500_000
        prompt_eval = 300_000 * prompt_tokens
        evaluation = 8_000_000 * output_tokens
        done.update(
            total_duration=load + prompt_eval + evaluation + 700_000,
            load_duration=load,
            prompt_eval_count=prompt_tokens,
            prompt_eval_duration=prompt_eval,
            eval_count=output_tokens,
            eval_duration=evaluation,
        )
        return done

    def _ollama_pieces(self, body: dict[str, Any], text: str) -> tuple[list[str], str]:
        """The answer in streamed pieces (``X-Fake-Chunks`` of them if set) and its done_reason."""
        wanted = int(self.headers.get("X-Fake-Chunks") or 0)
        pieces = [f"w{i} " for i in range(wanted)] if wanted else [w + " " for w in text.split()]
        limit = (body.get("options") or {}).get("num_predict")
        if isinstance(limit, int) and 0 < limit < len(pieces):
            return pieces[:limit], "length"
        return pieces, "stop"

    def _ollama_text(self, body: dict[str, Any], default: str) -> str:
        answer_format = body.get("format")
        if answer_format == "json":
            return json.dumps({"answer": default})
        if isinstance(answer_format, dict):
            return json.dumps(_example_for(answer_format))
        return default

    def _ollama_stream(self, scenario: str, messages: list[dict[str, Any]], done: dict[str, Any]) -> None:
        self._start_stream("application/x-ndjson")
        for position, message in enumerate(messages):
            if position == 2 and scenario in ("truncate", "cut", "stream-error", "malformed"):
                if scenario == "truncate":
                    self._end_stream()
                elif scenario == "cut":
                    self._cut_connection()
                elif scenario == "stream-error":
                    error = {"error": self._error_message("fake failure mid-stream")}
                    self._write_chunk(json.dumps(error).encode() + b"\n")
                    self._end_stream()
                else:
                    self._write_chunk(b"{not json\n")
                    self._end_stream()
                return
            if self.chunk_delay:
                time.sleep(self.chunk_delay)
            self._write_chunk(json.dumps(message).encode() + b"\n")
        self._write_chunk(json.dumps(done).encode() + b"\n")
        self._end_stream()

    def _ollama_chat(self, body: dict[str, Any], scenario: str) -> None:
        base = {"model": self._ollama_model(body), "created_at": "2026-01-01T00:00:00Z"}
        messages = body.get("messages") or []
        prompt_tokens = sum(_words(_content_text(m.get("content"))) + 3 for m in messages) or 1
        text, openai_calls = self._chat_plan(body)
        text = self._header_string("X-Fake-Answer") or text
        # Ollama sends each tool call whole, with its arguments as an object.
        tool_calls = [
            {
                "function": {
                    "name": call["function"]["name"],
                    "arguments": json.loads(call["function"]["arguments"]),
                }
            }
            for call in openai_calls
        ]
        thinking = (
            "The user asks about a parcel; the tracking data has the answer." if body.get("think") else ""
        )
        pieces, reason = self._ollama_pieces(body, self._ollama_text(body, text or ""))
        output_tokens = len(pieces) + _words(thinking) + len(tool_calls) or 1
        done = {**base, "message": {"role": "assistant", "content": ""}}
        done.update(self._ollama_done(scenario, prompt_tokens, output_tokens, reason))
        if not body.get("stream", True):
            if scenario == "malformed":
                self._send_json(200, None, raw=b'{"model": "x", "message": {"role": ')
                return
            message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces).strip()}
            if thinking:
                message["thinking"] = thinking
            if tool_calls:
                message["tool_calls"] = tool_calls
            self._send_json(200, {**done, "message": message})
            return
        stream = [
            {**base, "message": {"role": "assistant", "content": "", "thinking": word + " "}, "done": False}
            for word in thinking.split()
        ]
        if tool_calls:
            stream.append(
                {
                    **base,
                    "message": {"role": "assistant", "content": "", "tool_calls": tool_calls},
                    "done": False,
                }
            )
        stream += [
            {**base, "message": {"role": "assistant", "content": piece}, "done": False} for piece in pieces
        ]
        self._ollama_stream(scenario, stream, done)

    def _ollama_generate(self, body: dict[str, Any], scenario: str) -> None:
        base = {"model": self._ollama_model(body), "created_at": "2026-01-01T00:00:00Z"}
        prompt = f"{body.get('system') or ''} {body.get('prompt') or ''}"
        thinking = (
            "The user asks about a parcel; the tracking data has the answer." if body.get("think") else ""
        )
        pieces, reason = self._ollama_pieces(body, self._ollama_text(body, DEFAULT_ANSWER))
        done = {**base, "response": "", "context": [1, 2, 3]}
        done.update(
            self._ollama_done(scenario, _words(prompt) + 3, len(pieces) + _words(thinking) or 1, reason)
        )
        if not body.get("stream", True):
            if scenario == "malformed":
                self._send_json(200, None, raw=b'{"model": "x", "response": ')
                return
            answer = {**done, "response": "".join(pieces).strip()}
            if thinking:
                answer["thinking"] = thinking
            self._send_json(200, answer)
            return
        stream = [
            {**base, "response": "", "thinking": word + " ", "done": False} for word in thinking.split()
        ]
        stream += [{**base, "response": piece, "done": False} for piece in pieces]
        self._ollama_stream(scenario, stream, done)

    def _ollama_vector(self, text: str, dimensions: int) -> list[float]:
        seed = zlib.crc32(text.encode())
        return [((seed >> (i % 32)) % 1000) / 1000.0 for i in range(dimensions)]

    def _ollama_embed(self, body: dict[str, Any], scenario: str) -> None:
        if scenario == "malformed":
            self._send_json(200, None, raw=b'{"embeddings": [ [')
            return
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else [str(text) for text in inputs or []]
        dimensions = int(body.get("dimensions") or 8)
        payload: dict[str, Any] = {
            "model": self._ollama_model(body),
            "embeddings": [self._ollama_vector(text, dimensions) for text in texts],
        }
        if scenario != "no-usage":
            payload.update(
                total_duration=2_000_000, load_duration=1_500_000, prompt_eval_count=sum(map(_words, texts))
            )
        self._send_json(200, payload)

    def _ollama_embeddings(self, body: dict[str, Any], scenario: str) -> None:
        if scenario == "malformed":
            self._send_json(200, None, raw=b'{"embedding": [')
            return
        self._send_json(200, {"embedding": self._ollama_vector(str(body.get("prompt") or ""), 8)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self.keep_requests = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that close a stream early reset the connection: expected, not worth printing.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def record(self, request: RecordedRequest) -> None:
        if self.keep_requests:
            with self._lock:
                self.requests.append(request)


class FakeLLMServer:
    """Runs the fake server in a background thread on 127.0.0.1 (a free port by default)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-llm-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._server.requests

    def keep_requests(self, keep: bool) -> None:
        self._server.keep_requests = keep
        if not keep:
            self._server.requests.clear()

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
