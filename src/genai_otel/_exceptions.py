"""Exceptions on spans: the one place that turns an exception into telemetry, through the redaction gate.

An exception's message is content: a provider's 400 echoes the prompt, a tool's error names the customer
it was looking up. So every text exported from an exception (``exception.message``,
``exception.stacktrace``, the span status description, a provider's error code used as ``error.type``)
passes the full redaction gate (the secret scrubber, the built-in detectors, the user's patterns and the
user's redactor within its budget) in every capture mode, capture off included. When the gate cannot run,
the exception is recorded by its type only: fail closed.

The stack trace is rebuilt rather than formatted by :mod:`traceback`: frames as ``File, line, function``
without their source lines (a source line can hold a literal the message was built from), and each
exception of the chain as ``type: message``. That whole text then passes the gate as well.

Used by the LLM call recorder, the tool spans and the product context; imports nothing of genai-otel's
but the redaction gate, so that every other module can use it.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Status, StatusCode

from genai_otel import semconv as sc
from genai_otel._encoding import encodable_text
from genai_otel.redaction import RedactionFailed, RedactionPolicy, scrub_secrets

_logger = logging.getLogger("genai_otel")

MESSAGE_LIMIT = 1024  # characters of the redacted message kept on the span
# Characters of a message given to the gate. A longer one is cut at the last whitespace before the limit, so
# that no half of a value (which no detector would recognise) is left at the end.
GATE_INPUT_LIMIT = 8192
FRAME_LIMIT = 100  # innermost frames kept per exception of the chain
CHAIN_LIMIT = 8  # exceptions of a __cause__ / __context__ chain

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"

_error_type_cache: dict[type, str] = {}


def error_type(exc: BaseException) -> str:
    """The exception's qualified name, under its package's public path when it has one
    (``openai.RateLimitError`` rather than ``openai._exceptions.RateLimitError``)."""
    cls = type(exc)
    cached = _error_type_cache.get(cls)
    if cached is not None:
        return cached
    module = cls.__module__
    qualname = cls.__qualname__
    if module == "builtins":
        name = qualname
    else:
        root = module.split(".", 1)[0]
        package = sys.modules.get(root)
        name = f"{root}.{qualname}" if getattr(package, qualname, None) is cls else f"{module}.{qualname}"
    name = encodable_text(name)
    if len(_error_type_cache) < 512:
        _error_type_cache[cls] = name
    return name


def format_chain(exc: BaseException, message_of: Callable[[BaseException], str | None]) -> str:
    """A traceback of ``exc`` and its chain: frames without source lines, and each exception as
    ``type: message`` with the message ``message_of`` gives (``None``: the type alone)."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen and len(chain) < CHAIN_LIMIT:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for index in range(len(chain) - 1, -1, -1):  # the root cause first, as Python prints it
        item, link = chain[index]
        if item.__traceback__ is not None:
            frames = list(traceback.walk_tb(item.__traceback__))
            parts.append("Traceback (most recent call last):\n")
            if len(frames) > FRAME_LIMIT:
                parts.append(f"  [{len(frames) - FRAME_LIMIT} outer frames omitted]\n")
                frames = frames[-FRAME_LIMIT:]
            for frame, line in frames:
                code = frame.f_code
                parts.append(f'  File "{code.co_filename}", line {line}, in {code.co_name}\n')
        message = message_of(item)
        parts.append(f"{error_type(item)}: {message}\n" if message else f"{error_type(item)}\n")
        if link:
            parts.append(link)
    return "".join(parts)


def _message(exc: BaseException) -> str | None:
    try:
        text = str(exc)
    except Exception:
        return None
    if len(text) > GATE_INPUT_LIMIT:
        text = f"{_cut(text[:GATE_INPUT_LIMIT])} [cut: {len(text)} chars]"
    return text or None


# Longer than any value a detector knows that holds spaces (a card, an IBAN, a phone number).
_SPACED_VALUE_MAX = 64


def _cut(head: str) -> str:
    """``head`` up to its last space or newline, so that no word is cut in half; and since a card, an
    IBAN or a phone number is several words that each hold a digit, a run of such words at the end
    goes too (up to the longest such value): the cut may have fallen inside one, and the detectors
    would miss the half that is left."""
    boundary = max(head.rfind(" "), head.rfind("\n"))
    if boundary <= 0:
        return ""
    end = boundary
    while end > 0 and boundary - end <= _SPACED_VALUE_MAX:
        start = max(head.rfind(" ", 0, end), head.rfind("\n", 0, end)) + 1
        if not any(character.isdigit() for character in head[start:end]):
            break
        end = start - 1
    return head[: max(end, 0)]


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _gate(text: str, policy: RedactionPolicy) -> str:
    """``text`` through the full gate; raises RedactionFailed when any step cannot run."""
    return _gate_all([text], policy)[0]


def _gate_all(texts: list[str], policy: RedactionPolicy) -> list[str]:
    """``texts`` through the full gate, the user's redactor called on all of them in one batch (one
    budget); raises RedactionFailed when any step cannot run."""
    detected = [policy.apply_detectors(scrub_secrets(text)) for text in texts]
    return [encodable_text(text) for text in policy.apply_redactor(detected)]


def _warn_dropped(reason: str) -> None:
    # Never with exc_info: the failure's chain would carry the text the redactor was given.
    if reason == sc.DROPPED_REDACTION_MISCONFIGURED:  # its setting was named in a warning when read
        _logger.debug("genai-otel: exception recorded by its type only (%s)", reason)
        return
    with _warned_lock:
        if reason in _warned:
            return
        _warned.add(reason)
    _logger.warning(
        "genai-otel: redaction could not run on an exception message (%s); exceptions are recorded by "
        "their type only (reported once per reason)",
        reason,
    )


class GatedException:
    """What may be exported of one exception: its type, and its message and stack trace redacted (or, when
    the gate failed, the type in their place and ``dropped_reason`` saying why)."""

    __slots__ = ("dropped_reason", "message", "stacktrace", "type")

    def __init__(self, exc: BaseException, policy: RedactionPolicy) -> None:
        self.type = error_type(exc)
        self.dropped_reason: str | None = None
        try:
            message = _message(exc)
            texts = [format_chain(exc, _message)] + ([message] if message else [])
            # One batch: the user's redactor costs one budget per exception, as per LLM call.
            gated = _gate_all(texts, policy)
            self.stacktrace = gated[0]
            self.message = gated[1][:MESSAGE_LIMIT] if message else self.type
        except RedactionFailed as failure:
            self._drop(failure.reason)
        except Exception:  # the gate promises RedactionFailed only; anything else fails closed too
            self._drop(sc.DROPPED_REDACTION_FAILED)

    def _drop(self, reason: str) -> None:
        self.message = self.stacktrace = self.type
        self.dropped_reason = reason
        _warn_dropped(reason)

    def event_attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            sc.EXCEPTION_TYPE: self.type,
            sc.EXCEPTION_MESSAGE: self.message,
            sc.EXCEPTION_STACKTRACE: self.stacktrace,
        }
        if self.dropped_reason is not None:
            attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] = self.dropped_reason
        return attributes


def gated_error_code(code: str, policy: RedactionPolicy) -> str:
    """A provider's error code (``error.type`` of a failure reported inside a response) through the gate;
    ``_OTHER``, the semconv fallback, when the gate cannot run."""
    try:
        return _gate(code, policy)[:MESSAGE_LIMIT]
    except RedactionFailed as failure:
        _warn_dropped(failure.reason)
    except Exception:
        _warn_dropped(sc.DROPPED_REDACTION_FAILED)
    return sc.ERROR_TYPE_OTHER


def record_exception(span: Any, exc: BaseException, policy: RedactionPolicy) -> GatedException | None:
    """Record ``exc`` on ``span``: the exception event, ``error.type`` and status ERROR described by the
    message, every text through the gate. The SDK's ``record_exception`` would store them verbatim.
    Nothing is computed for a span that is not recording (sampled out)."""
    if not span.is_recording():
        return None
    gated = GatedException(exc, policy)
    span.add_event("exception", gated.event_attributes())
    span.set_attribute(sc.ERROR_TYPE, gated.type)
    span.set_status(Status(StatusCode.ERROR, gated.message))
    return gated
