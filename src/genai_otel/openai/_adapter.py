"""Translation of the OpenAI client's requests, responses and stream chunks into Operations.

Nothing here touches the OpenTelemetry API. Values are read defensively (``getattr`` with a
default, type checks) because OpenAI-compatible servers return whatever they like, and the
client's ``construct``-ed models do not validate it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genai_otel import semconv as sc
from genai_otel._failsafe import report_internal_error
from genai_otel._values import count as _count
from genai_otel._values import field as _field
from genai_otel._values import integer as _integer
from genai_otel._values import non_negative_integer as _tokens
from genai_otel._values import number as _number
from genai_otel._values import sequence as _sequence
from genai_otel._values import stop_sequences as _stop_sequences
from genai_otel._values import text as _text
from genai_otel.content import Message, RequestContent
from genai_otel.openai import _content
from genai_otel.operation import Operation
from genai_otel.providers import ProviderResolver
from genai_otel.streaming import TracedAsyncIterator, TracedIterator
from genai_otel.wrappers import ResponseUnobservable, StreamTracer

# openai's "argument not given" sentinels (NotGiven, Omit); filled in by `load_sentinels`.
_SENTINEL_TYPES: tuple[type, ...] = ()

_FINISH_REASONS = {"tool_calls": sc.FINISH_TOOL_CALL, "function_call": sc.FINISH_TOOL_CALL}
_DEFAULT_PORTS = {"https": 443, "http": 80}
_AZURE_CLIENTS = frozenset({"AzureOpenAI", "AsyncAzureOpenAI"})
_azure_by_type: dict[type, bool] = {}


def load_sentinels() -> None:
    global _SENTINEL_TYPES
    import openai._types as types

    _SENTINEL_TYPES = tuple(
        cls
        for cls in (getattr(types, "NotGiven", None), getattr(types, "Omit", None))
        if isinstance(cls, type)
    )


# --- value readers -------------------------------------------------------------------------------------
def _given(value: Any) -> bool:
    return value is not None and not isinstance(value, _SENTINEL_TYPES)


def _finish_reason(reason: Any) -> str | None:
    if not isinstance(reason, str) or not reason:
        return None
    return _FINISH_REASONS.get(reason, reason)


# --- endpoint of the client (server.address, provider) ---------------------------------------------
def _is_azure(client: Any) -> bool:
    cls = type(client)
    known = _azure_by_type.get(cls)
    if known is None:
        known = any(base.__name__ in _AZURE_CLIENTS for base in cls.__mro__)
        _azure_by_type[cls] = known
    return known


# id(client) -> (the base URL object it had, the resolver used, host, port, provider). A client's URL
# object is replaced, not mutated, when its base_url is set, so comparing identities keeps this right.
_endpoints: dict[int, tuple[Any, ProviderResolver, str | None, int | None, str]] = {}


def _endpoint(client: Any, resolver: ProviderResolver) -> tuple[str | None, int | None, str]:
    # What the `base_url` property returns; openai 3.x's property runs an import statement on every read,
    # which cost more than the rest of reading a request.
    url = getattr(client, "_base_url", None)
    if url is None:
        url = getattr(client, "base_url", None)
    cached = _endpoints.get(id(client))
    if cached is not None and cached[0] is url and cached[1] is resolver:
        return cached[2], cached[3], cached[4]
    host: str | None = None
    port: int | None = None
    if url is not None:
        # httpx.URL (openai 1.x/2.x) and httpx2.URL (3.x) both have host, port and scheme.
        host = _text(getattr(url, "host", None))
        port = _integer(getattr(url, "port", None)) or _DEFAULT_PORTS.get(getattr(url, "scheme", ""))
    default = (
        sc.PROVIDER_AZURE_OPENAI
        if client is not None and _is_azure(client)
        else sc.PROVIDER_OPENAI_COMPATIBLE
    )
    provider = resolver.resolve(host, port, default)
    if len(_endpoints) >= 256:
        _endpoints.clear()
    _endpoints[id(client)] = (url, resolver, host, port, provider)
    return host, port, provider


def new_operation(
    name: str, resolver: ProviderResolver, instance: Any, kwargs: Mapping[str, Any], api_type: str | None
) -> Operation:
    host, port, provider = _endpoint(getattr(instance, "_client", None), resolver)
    model = kwargs.get("model")
    op = Operation(name, provider, model if isinstance(model, str) else None)
    op.server_address = host
    op.server_port = port if host else None
    if api_type is not None:
        op.request_attributes = {sc.OPENAI_API_TYPE: api_type}
    tier = kwargs.get("service_tier")
    if isinstance(tier, str) and tier != "auto":
        op.set_request_attribute(sc.OPENAI_REQUEST_SERVICE_TIER, tier)
    return op


# --- results that are not the model object ------------------------------------------------------------
def _parsed(result: Any) -> Any:
    """The model object behind ``result``: itself, or the parse of a ``.with_raw_response`` result.

    ``LegacyAPIResponse.parse()`` caches, so the caller's own ``parse()`` gets the same object (and
    for a stream, the same instrumented stream). ``.with_streaming_response`` results have not read
    their body yet; reading it would change what the caller sees, so they stay unobserved (None).
    """
    if type(result).__name__ == "LegacyAPIResponse":
        try:
            return result.parse()
        except Exception:  # a body the client cannot parse: the caller's own parse() raises the same
            return None
    if type(result).__name__ in ("APIResponse", "AsyncAPIResponse"):
        return None
    return result


def bind_openai_stream(result: Any, trace: StreamTracer) -> Any:
    stream = _client_stream(_parsed(result))
    if stream is None:
        return None
    stream._iterator = trace(stream._iterator)
    return result


def _client_stream(candidate: Any) -> Any:
    """The client's ``Stream``/``AsyncStream`` (the object whose own ``_iterator`` it iterates): the
    result itself, or the one another instrumentation's wrapper around it holds (openai-v2's keeps it as
    ``stream``, a wrapt proxy as ``__wrapped__``). Setting ``_iterator`` on a wrapper that forwards
    attribute reads would put it where nothing reads it. None if there is none."""
    for _ in range(4):
        if candidate is None:
            return None
        try:
            own = vars(candidate)
        except TypeError:  # no __dict__
            return None
        if "_iterator" in own:
            return candidate
        candidate = own.get("__wrapped__") or getattr(candidate, "__wrapped__", None) or own.get("stream")
    return None


def mark_stream_closed(instance: Any) -> None:
    """Called after ``close()`` of an OpenAI stream or stream helper: end its span as closed early.

    The helpers (``chat.completions.stream()``, ``responses.stream()``) close the HTTP response
    directly rather than the raw stream, so they are found through their ``_raw_stream``."""
    try:
        stream = getattr(instance, "_raw_stream", instance)
        inner = getattr(stream, "_iterator", None)
        if type(inner) in (TracedIterator, TracedAsyncIterator):
            inner.closed_by_caller()
    except Exception:
        report_internal_error("marking an OpenAI stream closed")


# --- usage ---------------------------------------------------------------------------------------------
def _read_chat_usage(op: Operation, usage: Any) -> None:
    op.input_tokens = _tokens(_field(usage, "prompt_tokens"))
    op.output_tokens = _tokens(_field(usage, "completion_tokens"))
    details = _field(usage, "prompt_tokens_details")
    if details is not None:
        op.cache_read_input_tokens = _tokens(_field(details, "cached_tokens"))
        op.cache_creation_input_tokens = _tokens(_field(details, "cache_write_tokens"))
    details = _field(usage, "completion_tokens_details")
    if details is not None:
        op.reasoning_output_tokens = _tokens(_field(details, "reasoning_tokens"))


def _read_responses_usage(op: Operation, usage: Any) -> None:
    op.input_tokens = _tokens(_field(usage, "input_tokens"))
    op.output_tokens = _tokens(_field(usage, "output_tokens"))
    details = _field(usage, "input_tokens_details")
    if details is not None:
        op.cache_read_input_tokens = _tokens(_field(details, "cached_tokens"))
        op.cache_creation_input_tokens = _tokens(_field(details, "cache_write_tokens"))
    details = _field(usage, "output_tokens_details")
    if details is not None:
        op.reasoning_output_tokens = _tokens(_field(details, "reasoning_tokens"))


def _read_openai_profile(op: Operation, obj: Any) -> None:
    op.set_response_attribute(sc.OPENAI_RESPONSE_SERVICE_TIER, _text(getattr(obj, "service_tier", None)))
    op.set_response_attribute(
        sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT, _text(getattr(obj, "system_fingerprint", None))
    )


# --- chat completions -------------------------------------------------------------------------------
def _chat_output_type(kwargs: Mapping[str, Any]) -> str | None:
    response_format = kwargs.get("response_format")
    if isinstance(response_format, type):  # a pydantic model given to .parse()/.stream()
        return sc.OUTPUT_TYPE_JSON
    if _given(response_format):
        kind = _field(response_format, "type")
        if kind in ("json_object", "json_schema"):
            return sc.OUTPUT_TYPE_JSON
        if kind == "text":
            return sc.OUTPUT_TYPE_TEXT
    modalities = kwargs.get("modalities")
    if isinstance(modalities, (list, tuple)) and "audio" in modalities:
        return sc.OUTPUT_TYPE_SPEECH
    return None


def _set_chunk_finish_reason(op: Operation, choice: Any, reason: Any) -> None:
    reason = _finish_reason(reason)
    if reason is not None:
        index = getattr(choice, "index", 0)
        op.set_finish_reason(index if isinstance(index, int) else 0, reason)


def _count_streamed_tool_call(op: Operation, choice: Any, call: Any, call_id: Any) -> None:
    key = (getattr(choice, "index", None), getattr(call, "index", None), call_id)
    try:
        seen = op.streamed_tool_calls
        if seen is None:
            op.streamed_tool_calls = {key}
        elif key in seen:
            return
        else:
            seen.add(key)
    except Exception:  # an unhashable index or id from an off-spec server: counted once per such delta
        pass
    op.tool_calls = (op.tool_calls or 0) + 1


def _set(name: str, read: Any) -> Any:
    def reader(op: Operation, value: Any) -> None:
        setattr(op, name, read(value))

    return reader


_CHAT_REQUEST_READERS: dict[str, Any] = {
    "stream": lambda op, value: setattr(op, "stream", value is True),
    "temperature": _set("temperature", _number),
    "top_p": _set("top_p", _number),
    "max_tokens": lambda op, value: setattr(op, "max_tokens", op.max_tokens or _integer(value)),
    "seed": _set("seed", _integer),
    "stop": _set("stop_sequences", _stop_sequences),
    "frequency_penalty": _set("frequency_penalty", _number),
    "presence_penalty": _set("presence_penalty", _number),
    "n": _set("choice_count", _integer),
    "tools": _set("tool_definitions", _count),
    # Legacy function calling: `functions=` are tool definitions by another name. The API takes one
    # or the other, so whichever is read last wins only for a request the server would reject anyway.
    "functions": _set("tool_definitions", _count),
}


class ChatCompletionsEndpoint:
    """``chat.completions.create`` / ``.parse`` (and the ``.stream()`` helper, built on create)."""

    def __init__(self, resolver: ProviderResolver) -> None:
        self._resolver = resolver

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Operation:
        op = new_operation(
            sc.OPERATION_CHAT, self._resolver, instance, kwargs, sc.OPENAI_API_TYPE_CHAT_COMPLETIONS
        )
        # Only the arguments given are read: most calls set a handful of the ~40 the API takes.
        max_completion_tokens = None
        for key, value in kwargs.items():
            reader = _CHAT_REQUEST_READERS.get(key)
            if reader is not None:
                reader(op, value)
            elif key == "max_completion_tokens":
                max_completion_tokens = _integer(value)
        if max_completion_tokens is not None:
            op.max_tokens = max_completion_tokens
        if op.choice_count == 1:
            op.choice_count = None
        op.output_type = _chat_output_type(kwargs)
        get = kwargs.get
        extra_body = get("extra_body")
        # OpenAI-compatible servers take top_k this way. Tested for None first: an ABC check costs a frame.
        if extra_body is not None and isinstance(extra_body, Mapping):
            op.top_k = _number(extra_body.get("top_k"))
        return op

    def record_response(self, op: Operation, result: Any) -> None:
        completion = _parsed(result)
        if completion is None:
            raise ResponseUnobservable
        op.response_id = _text(getattr(completion, "id", None))
        op.response_model = _text(getattr(completion, "model", None))
        tool_calls = 0
        for position, choice in enumerate(getattr(completion, "choices", None) or ()):
            try:
                reason = _finish_reason(choice.finish_reason)
                message = choice.message
                calls = message.tool_calls
            except AttributeError:
                reason = _finish_reason(getattr(choice, "finish_reason", None))
                message = getattr(choice, "message", None)
                calls = getattr(message, "tool_calls", None)
            if reason is not None:
                index = getattr(choice, "index", None)
                op.set_finish_reason(index if isinstance(index, int) else position, reason)
            if calls:
                tool_calls += _count(calls) or 0
            if getattr(message, "function_call", None) is not None:  # legacy function calling
                tool_calls += 1
        if tool_calls or op.tool_definitions:
            op.tool_calls = tool_calls
        usage = getattr(completion, "usage", None)
        if usage is not None:
            _read_chat_usage(op, usage)
        _read_openai_profile(op, completion)

    bind_stream = staticmethod(bind_openai_stream)

    @staticmethod
    def request_content(args: tuple[Any, ...], kwargs: dict[str, Any]) -> RequestContent | None:
        return _content.chat_request_content(kwargs)

    @staticmethod
    def response_content(op: Operation, result: Any) -> list[Message] | None:
        return _content.chat_response_content(op, _parsed(result))

    @staticmethod
    def on_chunk_capturing(op: Operation, chunk: Any) -> bool:
        output = ChatCompletionsEndpoint.on_chunk(op, chunk)
        _content.accumulate_chat_chunk(op, chunk)
        return output

    @staticmethod
    def on_chunk(op: Operation, chunk: Any) -> bool:
        # The hot path: plain attribute reads, with AttributeError as the rare malformed case.
        if op.response_id is None:
            op.response_id = _text(getattr(chunk, "id", None))
            op.response_model = _text(getattr(chunk, "model", None))
            _read_openai_profile(op, chunk)
        try:
            usage = chunk.usage
            choices = chunk.choices
        except AttributeError:
            return False
        if usage is not None:
            _read_chat_usage(op, usage)
        if not choices:
            return False
        if op.tool_definitions:  # tool-call deltas are only worth reading when tools were offered
            for choice in choices:
                reason = getattr(choice, "finish_reason", None)
                if reason is not None:
                    _set_chunk_finish_reason(op, choice, reason)
                delta = getattr(choice, "delta", None)  # a final chunk may carry a finish reason alone
                if delta is None:
                    continue
                calls = getattr(delta, "tool_calls", None)
                if calls:
                    for call in _sequence(calls):
                        # A tool call's first delta carries its id; later deltas only extend arguments
                        # (or, from some servers, repeat the id).
                        call_id = getattr(call, "id", None)
                        if call_id:
                            _count_streamed_tool_call(op, choice, call, call_id)
                else:
                    # Legacy function calling: one call per choice, its first delta carries the name.
                    function_call = getattr(delta, "function_call", None)
                    if function_call is not None and getattr(function_call, "name", None):
                        op.tool_calls = (op.tool_calls or 0) + 1
        else:
            for choice in choices:
                reason = getattr(choice, "finish_reason", None)
                if reason is not None:
                    _set_chunk_finish_reason(op, choice, reason)
        return True


# --- responses ------------------------------------------------------------------------------------------
_RESPONSE_EVENTS_WITH_RESPONSE = frozenset(
    {
        "response.created",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)
_INCOMPLETE_REASONS = {"max_output_tokens": sc.FINISH_LENGTH, "content_filter": sc.FINISH_CONTENT_FILTER}


def _responses_output_type(kwargs: Mapping[str, Any]) -> str | None:
    if isinstance(kwargs.get("text_format"), type):
        return sc.OUTPUT_TYPE_JSON
    text = kwargs.get("text")
    if not _given(text):
        return None
    kind = _field(_field(text, "format"), "type")
    if kind in ("json_schema", "json_object"):
        return sc.OUTPUT_TYPE_JSON
    if kind == "text":
        return sc.OUTPUT_TYPE_TEXT
    return None


def _conversation_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if _given(value):
        return _text(_field(value, "id"))
    return None


def _read_response_object(op: Operation, response: Any) -> None:
    op.response_id = _text(getattr(response, "id", None)) or op.response_id
    op.response_model = _text(getattr(response, "model", None)) or op.response_model
    status = getattr(response, "status", None)
    output = getattr(response, "output", None) or ()
    tool_calls = sum(1 for item in output if getattr(item, "type", None) == "function_call")
    if tool_calls or op.tool_definitions:
        op.tool_calls = tool_calls
    if status == "completed":
        op.set_finish_reason(0, sc.FINISH_TOOL_CALL if tool_calls else sc.FINISH_STOP)
    elif status == "incomplete":
        reason = _text(getattr(getattr(response, "incomplete_details", None), "reason", None))
        op.set_finish_reason(0, _INCOMPLETE_REASONS.get(reason or "", reason or "incomplete"))
    elif status == "failed":
        op.set_finish_reason(0, sc.FINISH_ERROR)
        error = getattr(response, "error", None)
        op.error_type = _text(getattr(error, "code", None)) or "response_failed"
    elif status == "cancelled":
        op.set_finish_reason(0, "cancelled")
    usage = getattr(response, "usage", None)
    if usage is not None:
        _read_responses_usage(op, usage)
    op.set_response_attribute(sc.OPENAI_RESPONSE_SERVICE_TIER, _text(getattr(response, "service_tier", None)))


class ResponsesEndpoint:
    """``responses.create`` / ``.parse`` (and the ``.stream()`` helper, built on create)."""

    def __init__(self, resolver: ProviderResolver) -> None:
        self._resolver = resolver

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Operation:
        op = new_operation(sc.OPERATION_CHAT, self._resolver, instance, kwargs, sc.OPENAI_API_TYPE_RESPONSES)
        get = kwargs.get
        op.stream = get("stream") is True
        op.temperature = _number(get("temperature"))
        op.top_p = _number(get("top_p"))
        op.max_tokens = _integer(get("max_output_tokens"))
        op.output_type = _responses_output_type(kwargs)
        op.tool_definitions = _count(get("tools"))
        op.conversation_id = _conversation_id(get("conversation"))
        return op

    def record_response(self, op: Operation, result: Any) -> None:
        response = _parsed(result)
        if response is None:
            raise ResponseUnobservable
        _read_response_object(op, response)

    bind_stream = staticmethod(bind_openai_stream)

    @staticmethod
    def request_content(args: tuple[Any, ...], kwargs: dict[str, Any]) -> RequestContent | None:
        return _content.responses_request_content(kwargs)

    @staticmethod
    def response_content(op: Operation, result: Any) -> list[Message] | None:
        return _content.responses_output_messages(op, _parsed(result))

    @staticmethod
    def on_chunk_capturing(op: Operation, event: Any) -> bool:
        output = ResponsesEndpoint.on_chunk(op, event)
        kind = getattr(event, "type", None)
        if isinstance(kind, str):
            _content.accumulate_responses_event(op, event, kind)
        return output

    @staticmethod
    def on_chunk(op: Operation, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if not isinstance(kind, str):
            return False
        if kind in _RESPONSE_EVENTS_WITH_RESPONSE:
            response = getattr(event, "response", None)
            if response is not None:
                _read_response_object(op, response)
            return False
        if kind == "error":
            op.error_type = _text(getattr(event, "code", None)) or "error"
            op.set_finish_reason(0, sc.FINISH_ERROR)
            return False
        return kind.endswith(".delta")


# --- embeddings -----------------------------------------------------------------------------------------
def _embedding_dimensions(vector: Any) -> int | None:
    """The length of an embedding: a list of floats, or (``encoding_format="base64"`` asked by the
    caller; the client decodes it only when it asked for base64 itself) a base64 string of
    little-endian float32s, measured from its length without decoding it."""
    if isinstance(vector, list):
        return len(vector)
    if isinstance(vector, str) and vector and len(vector) % 4 == 0:
        padding = 2 if vector.endswith("==") else 1 if vector.endswith("=") else 0
        decoded_bytes = len(vector) * 3 // 4 - padding
        if decoded_bytes % 4 == 0:  # else no float32 vector: not a length to report
            return decoded_bytes // 4
    return None


class EmbeddingsEndpoint:
    """``embeddings.create``."""

    def __init__(self, resolver: ProviderResolver) -> None:
        self._resolver = resolver

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Operation:
        op = new_operation(sc.OPERATION_EMBEDDINGS, self._resolver, instance, kwargs, None)
        encoding = kwargs.get("encoding_format")
        if isinstance(encoding, str):
            op.encoding_formats = [encoding]
        op.embedding_dimensions = _integer(kwargs.get("dimensions"))
        return op

    def record_response(self, op: Operation, result: Any) -> None:
        response = _parsed(result)
        if response is None:
            raise ResponseUnobservable
        op.response_model = _text(getattr(response, "model", None))
        usage = getattr(response, "usage", None)
        if usage is not None:
            op.input_tokens = _tokens(_field(usage, "prompt_tokens"))
        data = _sequence(getattr(response, "data", None))
        if data:
            dimensions = _embedding_dimensions(getattr(data[0], "embedding", None))
            if dimensions is not None:
                op.embedding_dimensions = dimensions

    @staticmethod
    def bind_stream(result: Any, trace: StreamTracer) -> Any:
        return None

    @staticmethod
    def on_chunk(op: Operation, chunk: Any) -> bool:
        return False

    on_chunk_capturing = on_chunk

    @staticmethod
    def request_content(args: tuple[Any, ...], kwargs: dict[str, Any]) -> RequestContent | None:
        return None  # semconv defines no content attributes for embeddings

    @staticmethod
    def response_content(op: Operation, result: Any) -> list[Message] | None:
        return None
