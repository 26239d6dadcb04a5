"""OpenTelemetry instrumentation of the ``openai`` Python client (1.66 and later, up to 3.x).

Usage::

    from genai_otel.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=..., meter_provider=...)

or run the application under ``opentelemetry-instrument``; the entry point is ``genai_otel_openai``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from genai_otel._instrumentor import Patch, PatchingInstrumentor
from genai_otel.config import Settings
from genai_otel.recording import Recorder

_instruments = ("openai >= 1.66.0, < 4",)

_CHAT = "openai.resources.chat.completions"
_BETA_CHAT = "openai.resources.beta.chat.completions"
_RESPONSES = "openai.resources.responses"
# openai 3.x has a Responses class of its own under client.beta (absent before: skipped there).
_BETA_RESPONSES = "openai.resources.beta.responses"
_EMBEDDINGS = "openai.resources.embeddings"
_STREAMS = "openai._streaming"
_CHAT_HELPER = "openai.lib.streaming.chat._completions"
_RESPONSES_HELPER = "openai.lib.streaming.responses._responses"


class OpenAIInstrumentor(PatchingInstrumentor):
    """Instruments chat completions, responses and embeddings, sync and async, streaming or not.

    ``instrument()`` keyword arguments, beside ``tracer_provider`` and ``meter_provider``:

    ``provider_map``
        Rules from base-URL host patterns to ``gen_ai.provider.name`` (a mapping, or the same
        ``"pattern=provider,..."`` text as ``GENAI_OTEL_PROVIDER_MAP``, which it replaces).
    ``time_per_output_chunk``
        ``False`` skips the per-chunk ``gen_ai.client.operation.time_per_output_chunk`` points
        (``GENAI_OTEL_TIME_PER_OUTPUT_CHUNK``); see docs/performance.md for what they cost.
    """

    _instruments = _instruments
    _recorder_name = "genai_otel.openai"

    def _patches(self, recorder: Recorder, settings: Settings) -> Iterable[Patch]:
        from genai_otel.openai import _adapter
        from genai_otel.providers import ProviderResolver
        from genai_otel.wrappers import async_wrapper, sync_wrapper

        _adapter.load_sentinels()
        resolver = ProviderResolver(settings.provider_map)
        chat = _adapter.ChatCompletionsEndpoint(resolver)
        responses = _adapter.ResponsesEndpoint(resolver)
        embeddings = _adapter.EmbeddingsEndpoint(resolver)
        sync_close, async_close = _close_wrappers(_adapter.mark_stream_closed)

        for module in (_CHAT, _BETA_CHAT):
            for method in ("create", "parse"):
                yield Patch(module, "Completions", method, sync_wrapper(recorder, chat))
                yield Patch(module, "AsyncCompletions", method, async_wrapper(recorder, chat))
        for module in (_RESPONSES, _BETA_RESPONSES):
            for method in ("create", "parse"):
                yield Patch(module, "Responses", method, sync_wrapper(recorder, responses))
                yield Patch(module, "AsyncResponses", method, async_wrapper(recorder, responses))
        yield Patch(_EMBEDDINGS, "Embeddings", "create", sync_wrapper(recorder, embeddings))
        yield Patch(_EMBEDDINGS, "AsyncEmbeddings", "create", async_wrapper(recorder, embeddings))

        yield Patch(_STREAMS, "Stream", "close", sync_close)
        yield Patch(_STREAMS, "AsyncStream", "close", async_close)
        yield Patch(_CHAT_HELPER, "ChatCompletionStream", "close", sync_close)
        yield Patch(_CHAT_HELPER, "AsyncChatCompletionStream", "close", async_close)
        yield Patch(_RESPONSES_HELPER, "ResponseStream", "close", sync_close)
        yield Patch(_RESPONSES_HELPER, "AsyncResponseStream", "close", async_close)


def _close_wrappers(mark_closed: Any) -> tuple[Any, Any]:
    def sync_close(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            mark_closed(instance)

    async def async_close(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            mark_closed(instance)

    return sync_close, async_close


__all__ = ["OpenAIInstrumentor"]
