"""The shared model of one LLM operation, filled in by a client adapter and read by the recorder.

An adapter knows its client's requests and responses; it knows nothing of spans or metrics. It
creates an :class:`Operation`, sets the request side before the call, and the response side from
the result (or, for a stream, from each chunk). :mod:`genai_otel.recording` turns the operation
into span attributes and metric points. ``None`` always means "unknown" and is never recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genai_otel.content import Content


class Operation:
    """One LLM call: chat, completion, content generation or embeddings."""

    __slots__ = (
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "choice_count",
        "content",
        "conversation_id",
        "embedding_dimensions",
        "encoding_formats",
        "error_type",
        "finish_reasons",
        "frequency_penalty",
        "input_tokens",
        "max_tokens",
        "name",
        "output_tokens",
        "output_type",
        "presence_penalty",
        "provider",
        "reasoning_output_tokens",
        "request_attributes",
        "request_model",
        "response_attributes",
        "response_id",
        "response_model",
        "seed",
        "server_address",
        "server_port",
        "server_time_per_output_token",
        "server_time_to_first_token",
        "stop_sequences",
        "stream",
        "streamed_tool_calls",
        "temperature",
        "tool_calls",
        "tool_definitions",
        "top_k",
        "top_p",
    )

    def __init__(self, name: str, provider: str, request_model: str | None) -> None:
        self.name = name
        self.provider = provider
        self.request_model = request_model
        self.server_address: str | None = None
        self.server_port: int | None = None
        self.stream = False
        self.temperature: float | None = None
        self.top_p: float | None = None
        self.top_k: float | None = None
        self.max_tokens: int | None = None
        self.seed: int | None = None
        self.stop_sequences: list[str] | None = None
        self.frequency_penalty: float | None = None
        self.presence_penalty: float | None = None
        self.choice_count: int | None = None
        self.output_type: str | None = None
        self.encoding_formats: list[str] | None = None
        self.conversation_id: str | None = None
        self.tool_definitions: int | None = None
        # Provider-profile attributes (e.g. openai.api.type), already keyed by semconv name.
        self.request_attributes: dict[str, Any] | None = None

        self.response_id: str | None = None
        self.response_model: str | None = None
        # Keyed by choice index so that streamed choices can finish in any order.
        self.finish_reasons: dict[int, str] | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_input_tokens: int | None = None
        self.cache_creation_input_tokens: int | None = None
        self.reasoning_output_tokens: int | None = None
        self.embedding_dimensions: int | None = None
        self.tool_calls: int | None = None
        # A stream's tool calls seen so far, (choice index, call index, id): some servers repeat a call's
        # id on every delta of it, and one call is still one call.
        self.streamed_tool_calls: set[tuple[Any, Any, Any]] | None = None
        # Timings the server measured itself and reported in its response (Ollama does), in seconds.
        self.server_time_to_first_token: float | None = None
        self.server_time_per_output_token: float | None = None
        # An error the response itself reports although the transport succeeded (e.g. a
        # Responses API stream that ends with "response.failed"): recorded as error.type.
        self.error_type: str | None = None
        self.response_attributes: dict[str, Any] | None = None
        # Message content, only while capture is on (see genai_otel.content).
        self.content: Content | None = None

    def set_finish_reason(self, index: int, reason: str) -> None:
        if self.finish_reasons is None:
            self.finish_reasons = {index: reason}
        else:
            self.finish_reasons[index] = reason

    def set_request_attribute(self, key: str, value: Any) -> None:
        if value is None:
            return
        if self.request_attributes is None:
            self.request_attributes = {key: value}
        else:
            self.request_attributes[key] = value

    def set_response_attribute(self, key: str, value: Any) -> None:
        if value is None:
            return
        if self.response_attributes is None:
            self.response_attributes = {key: value}
        else:
            self.response_attributes[key] = value
