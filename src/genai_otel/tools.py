"""Spans for the application's own tool functions: ``execute_tool {gen_ai.tool.name}`` (INTERNAL).

    @genai_otel.tool(description="Current status of a parcel")
    def track_parcel(parcel_id: str) -> dict: ...

    with genai_otel.tool_call("track_parcel", arguments={"parcel_id": pid}, call_id=call.id) as span:
        span.set_result(lookup(pid))

Arguments and results are recorded only under the content-capture opt-in, through the redaction gate.
Each call records ``genai_otel.tool.duration`` by tool and status. A call repeating an earlier call's
tool and arguments in the same product context, with no :func:`~genai_otel.report_progress` in between,
is a stalled loop: flagged on the span, counted, reported to ``on_stalled_loop``, and, only if the
application opted in, stopped with :class:`~genai_otel.product.StalledToolLoop` before the tool runs.
"""

from __future__ import annotations

import functools
import inspect
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, overload

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from genai_otel import semconv as sc
from genai_otel._encoding import encodable_attributes, encodable_text, encodable_value
from genai_otel._exceptions import error_type, record_exception
from genai_otel._failsafe import report_internal_error
from genai_otel.content import stable_hash
from genai_otel.product import (
    ProductScope,
    StalledLoop,
    StalledToolLoop,
    _get_telemetry,
    _Telemetry,
    current_scope,
)
from genai_otel.redaction import RedactionFailed

F = TypeVar("F", bound=Callable[..., Any])
_MISSING = object()
_PROCESS_KEY = secrets.token_bytes(32)


class ToolSpan:
    """The running tool call, as given by :func:`tool_call`."""

    def __init__(self) -> None:
        self.result: Any = _MISSING

    def set_result(self, result: Any) -> None:
        self.result = result


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def _check_stall(scope: ProductScope, name: str, arguments_hash: str) -> StalledLoop | None:
    with scope.lock:
        key = (name, arguments_hash)
        previous = scope.tool_calls.get(key)
        if previous is None or previous[0] != scope.progress:
            scope.tool_calls[key] = [scope.progress, 0]
            return None
        previous[1] += 1
        return StalledLoop(name, arguments_hash, previous[1])


def _content_attributes(telemetry: _Telemetry, arguments: Any, result: Any, span: Any) -> dict[str, Any]:
    recorder = telemetry.content
    if not recorder.capturing:
        return {}
    status = {
        sc.GENAI_OTEL_REDACTION_POLICY: recorder.policy.name,
        sc.GENAI_OTEL_REDACTION_POLICY_VERSION: recorder.policy.version,
    }
    if recorder.store_refused:
        return {
            **status,
            sc.GENAI_OTEL_CONTENT_CAPTURED: False,
            sc.GENAI_OTEL_CONTENT_DROPPED_REASON: sc.DROPPED_STORE_MISCONFIGURED,
        }
    raw: dict[str, Any] = {}
    if arguments is not None:
        raw[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = arguments
    if result is not _MISSING:
        raw[sc.GEN_AI_TOOL_CALL_RESULT] = result
    try:
        # One gate for the tool call: arguments and result share one budget of the custom redactor.
        cleaned = recorder.redacted(raw)
    except RedactionFailed as failure:
        # A bad setting is already named in its warning.
        if failure.reason != sc.DROPPED_REDACTION_MISCONFIGURED:
            report_internal_error(f"redaction ({failure.reason}); tool content dropped")
        return {
            **status,
            sc.GENAI_OTEL_CONTENT_CAPTURED: False,
            sc.GENAI_OTEL_CONTENT_DROPPED_REASON: failure.reason,
        }
    if recorder.store is not None:
        # Tool content goes to the store in every capture mode (tool spans have no event to carry it).
        raw = {sc.GEN_AI_TOOL_CALL_ARGUMENTS: arguments, sc.GEN_AI_TOOL_CALL_RESULT: result}
        kept, stored = recorder.store.divert(
            cleaned,
            span,
            lambda: {k: v for k, v in raw.items() if k in cleaned},
            False,
            recorder.policy,
        )
        inline = {k: _json(v) for k, v in kept.items()} if recorder.settings.mode.on_spans else {}
        captured = bool(inline) or sc.GENAI_OTEL_CONTENT_DROPPED_REASON not in stored
        return {**status, **inline, **stored, sc.GENAI_OTEL_CONTENT_CAPTURED: captured}
    if not recorder.settings.mode.on_spans:
        return {**status, sc.GENAI_OTEL_CONTENT_CAPTURED: False}
    attributes = {key: _json(value) for key, value in cleaned.items()}
    return {**status, **attributes, sc.GENAI_OTEL_CONTENT_CAPTURED: True}


@contextmanager
def tool_call(
    name: str,
    *,
    arguments: Mapping[str, Any] | None = None,
    call_id: str | None = None,
    description: str | None = None,
    tool_type: str = "function",
) -> Iterator[ToolSpan]:
    """Trace one execution of the application's tool ``name``; see the module docstring."""
    telemetry = _get_telemetry()
    handle = ToolSpan()
    span: Any = None
    stall: StalledLoop | None = None
    start = time.perf_counter()
    try:
        scope = current_scope()
        attributes: dict[str, Any] = dict(scope.attributes) if scope is not None else {}
        attributes[sc.GEN_AI_OPERATION_NAME] = sc.OPERATION_EXECUTE_TOOL
        attributes[sc.GEN_AI_TOOL_NAME] = name
        attributes[sc.GEN_AI_TOOL_TYPE] = tool_type
        if call_id:
            attributes[sc.GEN_AI_TOOL_CALL_ID] = call_id
        if description:
            attributes[sc.GEN_AI_TOOL_DESCRIPTION] = description
        content = telemetry.settings.content
        # With hashing off (the default without a hash key) no hash is exported; stall detection still
        # compares calls, keyed by a secret that never leaves the process. A loop belongs to a request:
        # without a product context there is nothing to compare, and with hashing off nothing to hash.
        if content.hash_inputs or scope is not None:
            arguments_hash = stable_hash(
                arguments if arguments is not None else {},
                content.hash_key if content.hash_inputs else _PROCESS_KEY,
            )
            if content.hash_inputs:
                attributes[sc.GENAI_OTEL_TOOL_ARGUMENTS_HASH] = arguments_hash
            if scope is not None:
                stall = _check_stall(scope, name, arguments_hash)
        if stall is not None:
            attributes[sc.GENAI_OTEL_TOOL_STALLED] = True
            attributes[sc.GENAI_OTEL_TOOL_REPEATS] = stall.repeats
        span = telemetry.tracer.start_span(
            encodable_text(f"{sc.OPERATION_EXECUTE_TOOL} {name}"),
            kind=SpanKind.INTERNAL,
            attributes=encodable_attributes(attributes),
        )
    except Exception:
        report_internal_error("starting a tool span")
    if stall is not None:
        _report_stall(telemetry, stall, span)
        if telemetry.settings.raise_on_stalled_loop:
            _end(telemetry, span, name, start, StalledToolLoop(stall), arguments, handle)
            raise StalledToolLoop(stall)
    # Exceptions are recorded by _end, through the redaction gate.
    token = (
        trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False)
        if span is not None
        else None
    )
    error: BaseException | None = None
    try:
        if token is not None:
            with token:
                yield handle
        else:
            yield handle
    except BaseException as exc:
        error = exc
        raise
    finally:
        _end(telemetry, span, name, start, error, arguments, handle)


def _report_stall(telemetry: _Telemetry, stall: StalledLoop, span: Any) -> None:
    try:
        context = trace.set_span_in_context(span) if span is not None else None
        telemetry.stalled_loops.add(
            1,
            {sc.GEN_AI_TOOL_NAME: telemetry.bounded(sc.GEN_AI_TOOL_NAME, encodable_value(stall.tool_name))},
            context=context,
        )
        callback = telemetry.settings.on_stalled_loop
        if callback is not None:
            callback(stall)
    except Exception:
        report_internal_error("reporting a stalled tool loop")


def _end(
    telemetry: _Telemetry,
    span: Any,
    name: str,
    start: float,
    error: BaseException | None,
    arguments: Any,
    handle: ToolSpan,
) -> None:
    try:
        status = "ok" if error is None else "error"
        labels = {
            sc.GEN_AI_TOOL_NAME: telemetry.bounded(sc.GEN_AI_TOOL_NAME, encodable_value(name)),
            sc.GENAI_OTEL_TOOL_STATUS: status,
        }
        if error is not None:
            labels[sc.ERROR_TYPE] = error_type(error)
        if span is not None and span.is_recording():  # a sampled-out span: no redactor budget for nobody
            span.set_attributes(
                encodable_attributes(_content_attributes(telemetry, arguments, handle.result, span))
            )
            if error is not None:
                span.set_attribute(sc.ERROR_TYPE, error_type(error))
                if isinstance(error, Exception):
                    record_exception(span, error, telemetry.content.policy)
        # In the tool span's context, so that an exemplar points at it (the span is no longer current here).
        context = trace.set_span_in_context(span) if span is not None else None
        telemetry.tool_duration.record(time.perf_counter() - start, labels, context=context)
    except Exception:
        report_internal_error("ending a tool span")
    finally:
        if span is not None:
            span.end()


@overload
def tool(function: F) -> F: ...


@overload
def tool(
    function: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    tool_type: str = "function",
) -> Callable[[F], F]: ...


def tool(
    function: F | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    tool_type: str = "function",
) -> F | Callable[[F], F]:
    """Decorator form of :func:`tool_call` for a sync or async function: ``@tool`` or ``@tool(name=...)``.

    The call's arguments (bound to the function's parameters) are the tool's arguments; its return value
    is the result. The description defaults to the first line of the docstring."""

    def decorate(target: F) -> F:
        # Decorating never raises either: a partial, a builtin or an odd description costs only metadata.
        tool_name = name or getattr(target, "__name__", None) or type(target).__name__
        summary = description if isinstance(description, str) and description else None
        if summary is None:
            try:
                summary = (inspect.getdoc(target) or "").split("\n", 1)[0] or None
            except Exception:
                summary = None
        try:
            signature: inspect.Signature | None = inspect.signature(target)
        except (TypeError, ValueError):  # builtins without a signature: the arguments are not recorded
            signature = None

        def bound(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
            if signature is None:
                return None
            try:
                arguments = signature.bind_partial(*args, **kwargs).arguments
                return {k: v for k, v in arguments.items() if k not in ("self", "cls")}
            except TypeError:
                return None  # the call itself will raise the TypeError the caller should see

        if inspect.iscoroutinefunction(target):

            @functools.wraps(target)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with tool_call(
                    tool_name, arguments=bound(args, kwargs), description=summary, tool_type=tool_type
                ) as span:
                    result = await target(*args, **kwargs)
                    span.set_result(result)
                    return result

            return run_async  # type: ignore[return-value]

        @functools.wraps(target)
        def run(*args: Any, **kwargs: Any) -> Any:
            with tool_call(
                tool_name, arguments=bound(args, kwargs), description=summary, tool_type=tool_type
            ) as span:
                result = target(*args, **kwargs)
                span.set_result(result)
                return result

        return run  # type: ignore[return-value]

    return decorate(function) if function is not None else decorate
