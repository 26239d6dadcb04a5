"""The call path every instrumented client method takes, sync and async.

A client adapter describes one method as an :class:`Endpoint`: how to read the request into an
:class:`~genai_otel.operation.Operation`, how to read a finished response, and how to put a traced
iterator into a stream result. The wrappers here do the rest, and they fail open: if our own code
raises anywhere, the client call runs (or its result returns) as if we were not there.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from genai_otel import semconv as sc
from genai_otel._failsafe import report_internal_error
from genai_otel.content import Content, Message, RequestContent
from genai_otel.operation import Operation
from genai_otel.recording import Call, Recorder
from genai_otel.streaming import ChunkHandler, TracedAsyncIterator, TracedIterator

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]
StreamTracer = Callable[[Any], "TracedIterator | TracedAsyncIterator"]

# Set while a traced call is running, so that a client method calling another instrumented method
# (a helper built on `create`, say) yields one span, not two.
_inside_call: contextvars.ContextVar[bool] = contextvars.ContextVar("genai_otel_inside_call", default=False)


class ResponseUnobservable(Exception):
    """Raised by an adapter when reading the result would change what the caller sees (a response
    whose body the caller has chosen to read later). The call ends with outcome "unobserved"."""


class Endpoint(Protocol):
    """What a client adapter provides for one instrumented method."""

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Operation | None:
        """Read the request. ``None`` means: do not trace this call."""

    def record_response(self, op: Operation, result: Any) -> None:
        """Read a complete (non-streaming) result into ``op``."""

    def bind_stream(self, result: Any, trace: StreamTracer) -> Any:
        """Install ``trace(inner_iterator)`` into a streaming result; return what the caller gets.

        ``None`` if ``result`` is not a stream after all."""

    def on_chunk(self, op: Operation, chunk: Any) -> bool:
        """Read one stream chunk into ``op``; True if it carries model output."""

    def request_content(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RequestContent | None:
        """The request's messages, system instructions and tool definitions in semconv shapes.

        Called when content is captured or input hashes are on; ``None`` if there are none."""

    def response_content(self, op: Operation, result: Any) -> list[Message] | None:
        """The output messages of a complete result (capture on only)."""

    def on_chunk_capturing(self, op: Operation, chunk: Any) -> bool:
        """``on_chunk`` that also feeds ``op.content.stream`` (used instead of it while capturing)."""


def _begin(recorder: Recorder, endpoint: Endpoint, instance: Any, args: Any, kwargs: Any) -> Call | None:
    if recorder.retired or _inside_call.get():
        return None
    try:
        op = endpoint.begin(instance, args, kwargs)
        if op is None:
            return None
    except Exception:
        report_internal_error(f"{type(endpoint).__name__}.begin")
        return None
    if recorder.reads_content:
        _read_request_content(recorder, endpoint, op, args, kwargs)
    try:
        return recorder.start(op)
    except Exception:
        report_internal_error("starting a span")
        return None


def _read_request_content(
    recorder: Recorder, endpoint: Endpoint, op: Operation, args: Any, kwargs: Any
) -> None:
    content = recorder.content
    try:
        request = endpoint.request_content(args, kwargs)
        if request is None:
            return
        if content.settings.hash_inputs:
            for key, value in content.hash_attributes(request).items():
                op.set_request_attribute(key, value)
        if recorder.collects_output:
            op.content = Content(request, op.stream)
    except Exception:
        op.content = None
        report_internal_error(f"{type(endpoint).__name__} reading the request content")


def _complete(endpoint: Endpoint, call: Call, result: Any, asynchronous: bool) -> Any:
    try:
        op = call.op
        if op.stream:
            capturing = op.content is not None and op.content.stream is not None
            on_chunk: ChunkHandler = endpoint.on_chunk_capturing if capturing else endpoint.on_chunk

            def trace(inner: Any) -> TracedIterator | TracedAsyncIterator:
                # The method's own kind first: another instrumentation's stream proxy may offer both
                # __next__ and __anext__, and a sync call's stream must stay sync.
                if hasattr(inner, "__anext__") and (asynchronous or not hasattr(inner, "__next__")):
                    return TracedAsyncIterator(inner, call, on_chunk)
                return TracedIterator(inner, call, on_chunk)

            returned = endpoint.bind_stream(result, trace)
            if returned is None:
                call.interrupt(sc.OUTCOME_UNOBSERVED)
                return result
            return returned
        endpoint.record_response(op, result)
        if op.content is not None:
            _read_response_content(endpoint, op, result)
    except ResponseUnobservable:
        call.interrupt(sc.OUTCOME_UNOBSERVED)
        return result
    except Exception:
        report_internal_error(f"{type(endpoint).__name__} reading the response")
        call.interrupt(sc.OUTCOME_UNOBSERVED)
        return result
    call.succeed()
    return result


def _read_response_content(endpoint: Endpoint, op: Operation, result: Any) -> None:
    try:
        op.content.output_messages = endpoint.response_content(op, result)  # type: ignore[union-attr]
    except Exception:
        report_internal_error(f"{type(endpoint).__name__} reading the response content")


def _activate(call: Call) -> tuple[object, contextvars.Token[bool]] | None:
    try:
        return call.activate(), _inside_call.set(True)
    except Exception:
        report_internal_error("activating the span")
        return None


def _deactivate(call: Call, tokens: tuple[object, contextvars.Token[bool]] | None) -> None:
    if tokens is None:
        return
    try:
        _inside_call.reset(tokens[1])
        call.deactivate(tokens[0])
    except Exception:
        report_internal_error("deactivating the span")


def sync_wrapper(recorder: Recorder, endpoint: Endpoint) -> Wrapper:
    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call = _begin(recorder, endpoint, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        tokens = _activate(call)
        try:
            result = wrapped(*args, **kwargs)
        except Exception as exc:
            call.fail(exc)
            raise
        except BaseException:
            call.interrupt(sc.OUTCOME_CANCELLED)
            raise
        finally:
            _deactivate(call, tokens)
        return _complete(endpoint, call, result, asynchronous=False)

    return wrapper


def async_wrapper(recorder: Recorder, endpoint: Endpoint) -> Wrapper:
    async def wrapper(
        wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call = _begin(recorder, endpoint, instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        tokens = _activate(call)
        try:
            result = await wrapped(*args, **kwargs)
        except Exception as exc:
            call.fail(exc)
            raise
        except BaseException:
            call.interrupt(sc.OUTCOME_CANCELLED)
            raise
        finally:
            _deactivate(call, tokens)
        return _complete(endpoint, call, result, asynchronous=True)

    return wrapper
