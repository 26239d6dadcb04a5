"""Translation of the Ollama client's requests, responses and stream chunks into Operations.

Nothing here touches the OpenTelemetry API. Values are read defensively (``getattr`` with a default,
type checks): requests may hold mappings or the client's models, and a server behind the Ollama API
may leave out any field.

Where things come from in an Ollama exchange:

* the request: keyword (or positional) arguments of ``chat``/``generate``/``embed``/``embeddings``,
  sampling parameters inside ``options``;
* the answer: a complete response, or for ``stream=True`` a run of chunks of the same type whose last
  one has ``done=True`` and carries what a complete response carries once: ``done_reason``, token
  counts (``prompt_eval_count``, ``eval_count``) and the server's own timings, in nanoseconds.

Message content is read in one place per direction: :func:`_read_request_messages` for the request and
:func:`_read_response_message` for an answer's message; streamed deltas pass ``on_chunk``, whose
``on_chunk_capturing`` twin is where capture would read them. Today they count images and tool calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genai_otel import semconv as sc
from genai_otel._values import INT64_MAX
from genai_otel._values import count as _count
from genai_otel._values import field as _field
from genai_otel._values import integer as _integer
from genai_otel._values import non_negative_integer as _non_negative
from genai_otel._values import number as _number
from genai_otel._values import stop_sequences as _stop_sequences
from genai_otel._values import text as _text
from genai_otel.content import Message, RequestContent
from genai_otel.ollama import _content
from genai_otel.operation import Operation
from genai_otel.streaming import traced_generator
from genai_otel.wrappers import StreamTracer

_DEFAULT_PORTS = {"https": 443, "http": 80}
_NANOSECONDS = 1e9


# --- value readers -------------------------------------------------------------------------------------


def _seconds(nanoseconds: Any) -> float | None:
    if type(nanoseconds) is int and 0 <= nanoseconds <= INT64_MAX:  # nearly always
        return nanoseconds / _NANOSECONDS
    value = _non_negative(nanoseconds)
    return value / _NANOSECONDS if value is not None else None


def _truthy(value: Any) -> bool:
    # The client streams exactly when `if stream:` holds; mirror it without letting a strange object's
    # __bool__ raise into the call.
    try:
        return bool(value)
    except Exception:
        return False


def _output_type(format_: Any) -> str | None:
    # "json", or a JSON schema (a mapping) for structured outputs; "" means no format.
    if format_ == "json" or isinstance(format_, Mapping):
        return sc.OUTPUT_TYPE_JSON
    return None


def _keep_alive(value: Any) -> str | None:
    # Seconds as a number, or a duration such as "5m"; recorded as the text the server reads.
    if isinstance(value, str):
        return value or None
    if _number(value) is not None:
        return str(value)
    return None


def _think(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value)  # "low", "medium", "high" for models that take a level


# --- request ---------------------------------------------------------------------------------------------
# The last client base URL read, with its host and port. httpx computes both on every read (the host
# through IDNA decoding), and a process nearly always talks to one server. A client's URL object is
# replaced, never changed, when its base URL is set, so its identity keys this; one entry, nothing grows.
_last_url: tuple[Any, str | None, int | None] = (None, None, None)


def _server(instance: Any) -> tuple[str | None, int | None]:
    global _last_url
    # The client's httpx base URL, built from its `host` argument or OLLAMA_HOST (default
    # 127.0.0.1:11434); the client always writes the port out.
    client = getattr(instance, "_client", None)
    url = getattr(client, "_base_url", None)  # what httpx's base_url property returns, without its frame
    if url is None:
        url = getattr(client, "base_url", None)
    last = _last_url
    if last[0] is url:
        return last[1], last[2]
    host = _text(getattr(url, "host", None))
    port = None
    if host is not None:
        port = _integer(getattr(url, "port", None)) or _DEFAULT_PORTS.get(str(getattr(url, "scheme", "")))
    _last_url = (url, host, port)
    return host, port


def _new_operation(name: str, instance: Any, arguments: Mapping[str, Any]) -> Operation:
    model = arguments.get("model")
    op = Operation(name, sc.PROVIDER_OLLAMA, model if isinstance(model, str) and model else None)
    host, port = _server(instance)
    if host is not None:
        op.server_address = host
        op.server_port = port
    # Arguments left out (nearly all of them, nearly always) are skipped before any reader runs.
    keep_alive = arguments.get("keep_alive")
    if keep_alive is not None:
        op.set_request_attribute(sc.OLLAMA_REQUEST_KEEP_ALIVE, _keep_alive(keep_alive))
    return op


def _positive(value: int | None) -> int | None:
    # num_predict -1 (no limit) and -2 (fill the context) are not limits; 0 means no limit as well.
    return value if value is not None and value > 0 else None


def _set(name: str, read: Any) -> Any:
    def reader(op: Operation, value: Any) -> None:
        setattr(op, name, read(value))

    return reader


_OPTION_READERS: dict[str, Any] = {
    "temperature": _set("temperature", _number),
    "top_p": _set("top_p", _number),
    "top_k": _set("top_k", _number),
    "num_predict": lambda op, value: setattr(op, "max_tokens", _positive(_integer(value))),
    "seed": _set("seed", _integer),
    "stop": _set("stop_sequences", _stop_sequences),
    "frequency_penalty": _set("frequency_penalty", _number),
    "presence_penalty": _set("presence_penalty", _number),
    "repeat_penalty": lambda op, value: op.set_request_attribute(
        sc.OLLAMA_REQUEST_REPEAT_PENALTY, _number(value)
    ),
    "num_ctx": lambda op, value: op.set_request_attribute(sc.OLLAMA_REQUEST_NUM_CTX, _integer(value)),
}


def _read_options(op: Operation, options: Any) -> None:
    if options is None:
        return
    if type(options) is dict:
        # Only the options given are read: a call sets a few of the ~40 Ollama takes (2.1 -> 0.5 µs).
        for key, value in options.items():
            reader = _OPTION_READERS.get(key)
            if reader is not None:
                reader(op, value)
        return
    op.temperature = _number(_field(options, "temperature"))
    op.top_p = _number(_field(options, "top_p"))
    op.top_k = _number(_field(options, "top_k"))
    # num_predict -1 (no limit) and -2 (fill the context) are not limits; 0 means no limit as well.
    num_predict = _integer(_field(options, "num_predict"))
    op.max_tokens = num_predict if num_predict is not None and num_predict > 0 else None
    op.seed = _integer(_field(options, "seed"))
    op.stop_sequences = _stop_sequences(_field(options, "stop"))
    op.frequency_penalty = _number(_field(options, "frequency_penalty"))
    op.presence_penalty = _number(_field(options, "presence_penalty"))
    op.set_request_attribute(sc.OLLAMA_REQUEST_REPEAT_PENALTY, _number(_field(options, "repeat_penalty")))
    op.set_request_attribute(sc.OLLAMA_REQUEST_NUM_CTX, _integer(_field(options, "num_ctx")))


def _read_generation_request(op: Operation, arguments: Mapping[str, Any]) -> None:
    """What chat and generate share: streaming, options, format, thinking."""
    get = arguments.get
    stream = get("stream")
    if stream is not None:
        op.stream = _truthy(stream)
    options = get("options")
    if options is not None:
        _read_options(op, options)
    format_ = get("format")
    if format_ is not None:
        op.output_type = _output_type(format_)
    think = get("think")
    if think is not None:
        op.set_request_attribute(sc.OLLAMA_REQUEST_THINK, _think(think))


def _read_request_messages(op: Operation, messages: Any) -> None:
    # Only lists and tuples are walked: a one-shot iterable read here would be gone for the request.
    if not isinstance(messages, (list, tuple)):
        return
    images = 0
    for message in messages:
        attached = message.get("images") if type(message) is dict else _field(message, "images")
        if isinstance(attached, (list, tuple)):
            images += len(attached)
    if images:
        op.set_request_attribute(sc.GENAI_OTEL_REQUEST_IMAGES_COUNT, images)


# --- response --------------------------------------------------------------------------------------------
def _read_response_message(op: Operation, message: Any) -> None:
    """The message of a complete chat response."""
    calls = getattr(message, "tool_calls", None)
    if calls:
        op.tool_calls = (op.tool_calls or 0) + (_count(calls) or 0)


def _timing(timings: dict[str, float], response: Any, field: str, attribute: str) -> float | None:
    """One of the response's durations in seconds, also put in ``timings`` under ``attribute``."""
    seconds = _seconds(getattr(response, field, None))
    if seconds is not None:
        timings[attribute] = seconds
    return seconds


def _read_done(op: Operation, response: Any, generation: bool) -> None:
    """What Ollama sends once: in a complete response, or in the final (``done``) chunk of a stream."""
    op.response_model = _text(getattr(response, "model", None)) or op.response_model
    op.input_tokens = _non_negative(getattr(response, "prompt_eval_count", None))
    # Collected here and merged once: one dict for the server's timings rather than a call per timing.
    timings: dict[str, float] = {}
    _timing(timings, response, "total_duration", sc.OLLAMA_RESPONSE_TOTAL_DURATION)
    load = _timing(timings, response, "load_duration", sc.OLLAMA_RESPONSE_LOAD_DURATION)
    if generation:
        if op.tool_definitions and op.tool_calls is None:
            op.tool_calls = 0
        reason = _text(getattr(response, "done_reason", None))
        if reason is not None:
            # Ollama says "stop" after tool calls too; its own OpenAI-compatible API reports those as
            # tool calls, and so does the semconv vocabulary.
            op.set_finish_reason(0, sc.FINISH_TOOL_CALL if reason == "stop" and op.tool_calls else reason)
        output_tokens = op.output_tokens = _non_negative(getattr(response, "eval_count", None))
        prompt_eval = _timing(
            timings, response, "prompt_eval_duration", sc.OLLAMA_RESPONSE_PROMPT_EVAL_DURATION
        )
        evaluation = _timing(timings, response, "eval_duration", sc.OLLAMA_RESPONSE_EVAL_DURATION)
        # The server's view, in semconv's terms: the first token comes after waiting for and loading
        # the model (load_duration) and evaluating the prompt; eval_duration then covers the tokens after
        # the first (Ollama starts that clock just before sampling the first token).
        if load is not None and prompt_eval is not None:
            op.server_time_to_first_token = timings[sc.OLLAMA_RESPONSE_TIME_TO_FIRST_TOKEN] = (
                load + prompt_eval
            )
        if evaluation is not None and output_tokens is not None and output_tokens > 1:
            op.server_time_per_output_token = timings[sc.OLLAMA_RESPONSE_TIME_PER_OUTPUT_TOKEN] = (
                evaluation / (output_tokens - 1)
            )
    if timings:
        if op.response_attributes is None:
            op.response_attributes = timings
        else:
            op.response_attributes.update(timings)


# --- endpoints -------------------------------------------------------------------------------------------
class _Endpoint:
    """One instrumented client method. ``positional`` names its positional parameters (after
    ``self``), read from the installed client, so that ``chat("llama3.2", messages)`` is read too."""

    operation_name = sc.OPERATION_CHAT

    def __init__(self, positional: tuple[str, ...] = ("model",)) -> None:
        self._positional = positional

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
        if not args:
            return kwargs
        arguments = dict(zip(self._positional, args, strict=False))  # extra positionals: the client raises
        arguments.update(kwargs)
        return arguments

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Operation:
        arguments = self._arguments(args, kwargs)
        op = _new_operation(self.operation_name, instance, arguments)
        self._read_request(op, arguments)
        return op

    def _read_request(self, op: Operation, arguments: Mapping[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def bind_stream(result: Any, trace: StreamTracer) -> Any:
        # The client returns a lazy (async) generator; the caller gets one of ours around it.
        if hasattr(result, "__next__") or hasattr(result, "__anext__"):
            return traced_generator(trace(result))
        return None

    def request_content(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RequestContent | None:
        return None  # embeddings: semconv defines no content attributes

    @staticmethod
    def response_content(op: Operation, result: Any) -> list[Message] | None:
        return None


class ChatEndpoint(_Endpoint):
    """``Client.chat`` / ``AsyncClient.chat`` (``/api/chat``)."""

    def _read_request(self, op: Operation, arguments: Mapping[str, Any]) -> None:
        _read_generation_request(op, arguments)
        tools = arguments.get("tools")
        if tools is not None:
            op.tool_definitions = _count(tools)
        _read_request_messages(op, arguments.get("messages"))

    def record_response(self, op: Operation, result: Any) -> None:
        _read_response_message(op, getattr(result, "message", None))
        _read_done(op, result, generation=True)

    def request_content(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RequestContent | None:
        return _content.chat_request_content(self._arguments(args, kwargs))

    @staticmethod
    def response_content(op: Operation, result: Any) -> list[Message] | None:
        return _content.chat_output_messages(op, result)

    @staticmethod
    def on_chunk_capturing(op: Operation, chunk: Any) -> bool:
        output = ChatEndpoint.on_chunk(op, chunk)
        _content.accumulate_chat_chunk(op, chunk)
        return output

    @staticmethod
    def on_chunk(op: Operation, chunk: Any) -> bool:
        # The hot path: plain attribute reads, with AttributeError as the rare malformed case. Tool calls
        # arrive whole, one chunk each, so counting them per chunk counts each once.
        try:
            done = chunk.done
            calls = chunk.message.tool_calls
        except AttributeError:
            return False
        if calls:
            op.tool_calls = (op.tool_calls or 0) + (_count(calls) or 0)
        if done:
            _read_done(op, chunk, generation=True)
        elif op.response_model is None:
            op.response_model = _text(getattr(chunk, "model", None))
        return True


class GenerateEndpoint(_Endpoint):
    """``Client.generate`` / ``AsyncClient.generate`` (``/api/generate``): a prompt completed into text,
    semconv's ``text_completion`` (see docs/ollama.md for why not ``generate_content``)."""

    operation_name = sc.OPERATION_TEXT_COMPLETION

    def _read_request(self, op: Operation, arguments: Mapping[str, Any]) -> None:
        _read_generation_request(op, arguments)
        images = arguments.get("images")
        if isinstance(images, (list, tuple)) and images:
            op.set_request_attribute(sc.GENAI_OTEL_REQUEST_IMAGES_COUNT, len(images))

    def record_response(self, op: Operation, result: Any) -> None:
        _read_done(op, result, generation=True)

    def request_content(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RequestContent | None:
        return _content.generate_request_content(self._arguments(args, kwargs))

    @staticmethod
    def response_content(op: Operation, result: Any) -> list[Message] | None:
        return _content.generate_output_messages(op, result)

    @staticmethod
    def on_chunk_capturing(op: Operation, chunk: Any) -> bool:
        output = GenerateEndpoint.on_chunk(op, chunk)
        _content.accumulate_generate_chunk(op, chunk)
        return output

    @staticmethod
    def on_chunk(op: Operation, chunk: Any) -> bool:
        try:
            done = chunk.done
        except AttributeError:
            return False
        if done:
            _read_done(op, chunk, generation=True)
        elif op.response_model is None:
            op.response_model = _text(getattr(chunk, "model", None))
        return True


class EmbedEndpoint(_Endpoint):
    """``Client.embed`` / ``AsyncClient.embed`` (``/api/embed``), one vector per input."""

    operation_name = sc.OPERATION_EMBEDDINGS

    def _read_request(self, op: Operation, arguments: Mapping[str, Any]) -> None:
        op.embedding_dimensions = _integer(arguments.get("dimensions"))

    def record_response(self, op: Operation, result: Any) -> None:
        _read_done(op, result, generation=False)
        vectors = getattr(result, "embeddings", None)
        if isinstance(vectors, (list, tuple)) and vectors and isinstance(vectors[0], (list, tuple)):
            op.embedding_dimensions = len(vectors[0])

    @staticmethod
    def on_chunk(op: Operation, chunk: Any) -> bool:
        return False

    on_chunk_capturing = on_chunk


class EmbeddingsEndpoint(EmbedEndpoint):
    """``Client.embeddings`` / ``AsyncClient.embeddings`` (``/api/embeddings``, deprecated): one vector,
    and no model name, token count or timings in the response."""

    def record_response(self, op: Operation, result: Any) -> None:
        vector = getattr(result, "embedding", None)
        if isinstance(vector, (list, tuple)):
            op.embedding_dimensions = len(vector)


ENDPOINTS: Mapping[str, type[_Endpoint]] = {
    "chat": ChatEndpoint,
    "generate": GenerateEndpoint,
    "embed": EmbedEndpoint,
    "embeddings": EmbeddingsEndpoint,
}
