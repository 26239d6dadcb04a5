"""Shared machinery of genai-otel's instrumentors: a table of patches, applied and restored."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from genai_otel._failsafe import report_internal_error, warn_setting_once
from genai_otel.config import Settings
from genai_otel.recording import Recorder
from genai_otel.wrappers import Wrapper

logger = logging.getLogger("genai_otel")


class Patch(NamedTuple):
    """Wrap ``module.owner.attribute`` with ``wrapper``; targets missing in older clients are skipped."""

    module: str
    owner: str
    attribute: str
    wrapper: Wrapper


class PatchingInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Base for our instrumentors: subclasses list their patches; this applies and restores them."""

    _instruments: Collection[str] = ()
    _recorder_name = "genai_otel"

    def __init__(self) -> None:
        super().__init__()
        if not hasattr(self, "_applied"):
            # (owner, attribute, what was there before, our wrapper)
            self._applied: list[tuple[Any, str, Any, Any]] = []
            self._active: Recorder | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return self._instruments

    def _patches(self, recorder: Recorder, settings: Settings) -> Iterable[Patch]:
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        # Bad settings never get here: each is read on its own, warned about and replaced (config.py).
        # This catch-all is for our own bugs only: then nothing stays patched and instrument() still returns.
        try:
            self._instrument_or_raise(**kwargs)
        except Exception:
            report_internal_error(f"{type(self).__name__}.instrument(); the client stays uninstrumented")
            self._uninstrument()

    def _instrument_or_raise(self, **kwargs: Any) -> None:
        settings = Settings.load(**kwargs)
        recorder = self._active = self._recorder(settings)
        self._content_store = recorder.content.store
        for patch in self._patches(recorder, settings):
            self._apply(patch)

    def _recorder(self, settings: Settings) -> Recorder:
        def build(tracer_provider: Any, meter_provider: Any, logger_provider: Any) -> Recorder:
            return Recorder(
                self._recorder_name,
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
                time_per_output_chunk=settings.time_per_output_chunk,
                content=settings.content,
                logger_provider=logger_provider,
                rate_card=settings.rate_card,
                call_records=settings.call_records,
                preview_chars=settings.preview_chars,
                active_requests=settings.active_requests,
                server_metrics=settings.server_metrics,
            )

        given = (settings.tracer_provider, settings.meter_provider, settings.logger_provider)
        if all(provider is None for provider in given):
            return build(None, None, None)
        try:
            return build(*given)
        except Exception as exc:  # a provider-like object that fails when asked for a tracer, meter or logger
            warn_setting_once(
                "instrument(tracer_provider/meter_provider/logger_provider=...)",
                f"instrument(): a provider given failed when asked for a tracer, meter or logger "
                f"({type(exc).__name__}); using the global providers",
            )
            return build(None, None, None)

    def _apply(self, patch: Patch) -> None:
        try:
            owner = getattr(importlib.import_module(patch.module), patch.owner)
            original = vars(owner)[patch.attribute]
        except (ImportError, AttributeError, KeyError):
            logger.debug(
                "genai-otel: %s.%s.%s not present; not patched", patch.module, patch.owner, patch.attribute
            )
            return
        if any(owner is done and patch.attribute == name for done, name, _, _ in self._applied):
            return  # one class re-exported under two paths (e.g. beta and non-beta)
        # A retired wrapper of ours that another instrumentation put back on its uninstrument: go past it,
        # so that cycles do not pile wrappers up.
        while _retired_wrapper(original):
            original = original.__wrapped__
        if isinstance(original, wrapt.ObjectProxy):
            # Someone else's wrapper (or ours, left behind): wrap on top of it and restore it later.
            logger.debug("genai-otel: %s.%s is already wrapped; wrapping again", patch.owner, patch.attribute)
        wrapper = wrapt.FunctionWrapper(original, patch.wrapper)
        wrapper._self_genai_otel_recorder = self._active
        setattr(owner, patch.attribute, wrapper)
        self._applied.append((owner, patch.attribute, original, wrapper))

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._active is not None:
            self._active.retired = True  # whatever of ours stays in place passes calls through
            self._active = None
        while self._applied:
            owner, attribute, original, wrapper = self._applied.pop()
            # Restored only where ours is still outermost: another instrumentation that wrapped on top
            # of it keeps its wrapper (ours, inside, passes through), and one that replaced it is not
            # undone by restoring what was there before.
            if vars(owner).get(attribute) is wrapper:
                setattr(owner, attribute, original)
        store = getattr(self, "_content_store", None)
        if store is not None:  # what the instrumented calls queued is written (within the time limit)
            self._content_store = None
            try:
                store.flush()
            except Exception:
                report_internal_error("flushing the content store")


def _retired_wrapper(candidate: Any) -> bool:
    """Whether ``candidate`` is a wrapper of ours whose instrumentor was uninstrumented: as we set it, or
    as another instrumentation put it back after reading it off the class (then bound: its parent)."""
    if isinstance(candidate, wrapt.BoundFunctionWrapper):
        candidate = getattr(candidate, "_self_parent", None)
    if not isinstance(candidate, wrapt.FunctionWrapper):
        return False
    recorder = getattr(candidate, "_self_genai_otel_recorder", None)
    return recorder is not None and getattr(recorder, "retired", False) is True
