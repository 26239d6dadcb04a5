"""OpenTelemetry instrumentation of the ``ollama`` Python client (0.4 and later).

Usage::

    from genai_otel.ollama import OllamaInstrumentor

    OllamaInstrumentor().instrument(tracer_provider=..., meter_provider=...)

or run the application under ``opentelemetry-instrument``; the entry point is ``genai_otel_ollama``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterable
from typing import Any

from genai_otel._failsafe import report_internal_error
from genai_otel._instrumentor import Patch, PatchingInstrumentor
from genai_otel.config import Settings
from genai_otel.recording import Recorder

# 0.4.0 is the first release whose responses are typed models rather than dicts.
_instruments = ("ollama >= 0.4.0, < 1",)

_CLIENT_MODULE = "ollama._client"
_METHODS = ("chat", "generate", "embed", "embeddings")


class OllamaInstrumentor(PatchingInstrumentor):
    """Instruments ``chat``, ``generate``, ``embed`` and ``embeddings`` of ``ollama.Client`` and
    ``ollama.AsyncClient``, streaming or not, and the module-level ``ollama.chat`` etc.

    ``instrument()`` keyword arguments, beside ``tracer_provider`` and ``meter_provider``:

    ``time_per_output_chunk``
        ``False`` skips the per-chunk ``gen_ai.client.operation.time_per_output_chunk`` points
        (``GENAI_OTEL_TIME_PER_OUTPUT_CHUNK``); see docs/performance.md for what they cost.
    ``server_metrics``
        ``True`` also records Ollama's own timings as the semconv model-server metrics
        ``gen_ai.server.time_to_first_token`` and ``gen_ai.server.time_per_output_token``
        (``GENAI_OTEL_SERVER_METRICS``); they are on the span as ``ollama.response.*`` either way.
    """

    _instruments = _instruments
    _recorder_name = "genai_otel.ollama"

    def __init__(self) -> None:
        super().__init__()
        if not hasattr(self, "_module_functions"):
            # (name, the module's original bound method, the instrumented one we put there)
            self._module_functions: list[tuple[str, Any, Any]] = []

    def _patches(self, recorder: Recorder, settings: Settings) -> Iterable[Patch]:
        from genai_otel.ollama import _adapter
        from genai_otel.wrappers import async_wrapper, sync_wrapper

        client_module = importlib.import_module(_CLIENT_MODULE)
        for method in _METHODS:
            endpoint = _adapter.ENDPOINTS[method](_positional_parameters(client_module, method))
            yield Patch(_CLIENT_MODULE, "Client", method, sync_wrapper(recorder, endpoint))
            yield Patch(_CLIENT_MODULE, "AsyncClient", method, async_wrapper(recorder, endpoint))

    def _instrument(self, **kwargs: Any) -> None:
        super()._instrument(**kwargs)
        try:
            self._rebind_module_functions()
        except Exception:
            report_internal_error("instrumenting ollama's module-level functions")

    def _uninstrument(self, **kwargs: Any) -> None:
        try:
            self._restore_module_functions()
        except Exception:
            report_internal_error("restoring ollama's module-level functions")
        super()._uninstrument(**kwargs)

    def _rebind_module_functions(self) -> None:
        """``ollama.chat`` and friends are bound methods of a default client, taken at import time from
        the class's original functions: patching the class does not reach them, rebinding does."""
        import ollama

        for name in _METHODS:
            bound = vars(ollama).get(name)
            client = getattr(bound, "__self__", None)
            if not inspect.ismethod(bound) or not isinstance(client, (ollama.Client, ollama.AsyncClient)):
                continue  # not the default client's method: the application put something else there
            rebound = getattr(client, name)
            setattr(ollama, name, rebound)
            self._module_functions.append((name, bound, rebound))

    def _restore_module_functions(self) -> None:
        ollama = sys.modules.get("ollama")
        while self._module_functions:
            name, original, rebound = self._module_functions.pop()
            if ollama is not None and vars(ollama).get(name) is rebound:
                setattr(ollama, name, original)


def _positional_parameters(client_module: Any, method: str) -> tuple[str, ...]:
    """The names of ``Client.<method>``'s positional parameters after ``self``, from the installed client
    (they differ between releases)."""
    try:
        parameters = inspect.signature(vars(client_module.Client)[method]).parameters.values()
    except (AttributeError, KeyError, TypeError, ValueError):
        return ("model",)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(parameter.name for parameter in parameters if parameter.kind in positional)[1:]


__all__ = ["OllamaInstrumentor"]
