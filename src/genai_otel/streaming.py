"""One stream-wrapper design for every client: an iterator that sits between the client's own chunk
iterator and the caller, and ends the call's span exactly once.

The wrapper never replaces the object the caller holds. A client adapter puts it *inside* the
client's stream object (OpenAI's ``Stream._iterator``) or, where the client hands out a bare
generator (Ollama), behind a generator of our own (:func:`traced_generator`). Each chunk goes
through untouched. Per chunk we take one timestamp,
call the adapter's ``on_chunk(operation, chunk) -> bool`` (True for chunks that carry model
output) and, for output chunks, append one integer (the gap since the previous one, for the
time-per-output-chunk metric, recorded when the stream ends). How it ends:

* the inner iterator is exhausted: ``Call.succeed`` (a stream without an end marker is recorded as
  truncated there);
* the inner iterator raises an ``Exception``: ``Call.fail``, then the exception goes on unchanged;
* it raises a ``BaseException`` (task cancelled, ``KeyboardInterrupt``): interrupted, "cancelled";
* the caller closes the stream: the adapter calls :meth:`TracedIterator.closed_by_caller`;
* nobody closes it and it is garbage-collected: ``__del__`` has the span ended as "abandoned", dated
  at the last chunk received, by a thread of ours (see :mod:`genai_otel._abandoned`).

The per-chunk path is written out twice (sync and async) on purpose: a shared helper would cost a
Python call per chunk.
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any

from genai_otel import _abandoned
from genai_otel import semconv as sc
from genai_otel._failsafe import report_internal_error
from genai_otel.operation import Operation
from genai_otel.recording import Call

ChunkHandler = Callable[[Operation, Any], bool]

_perf_ns = time.perf_counter_ns
# Buffered chunk gaps are flushed to the histogram every this many output chunks.
_FLUSH_EVERY = 4096


class TracedIterator:
    """Synchronous wrapper; see the module docstring."""

    __slots__ = ("_call", "_inner", "_next", "_on_chunk")

    def __init__(self, inner: Iterator[Any], call: Call, on_chunk: ChunkHandler) -> None:
        self._inner = inner
        self._next = inner.__next__
        self._call = call
        self._on_chunk: ChunkHandler | None = on_chunk
        _abandoned.start()

    def __iter__(self) -> TracedIterator:
        return self

    def __next__(self) -> Any:
        try:
            chunk = self._next()
        except StopIteration:
            self._call.succeed()
            raise
        except Exception as exc:
            self._call.fail(exc)
            raise
        except BaseException:
            self._call.interrupt(sc.OUTCOME_CANCELLED)
            raise
        on_chunk = self._on_chunk
        if on_chunk is None:
            return chunk
        now = _perf_ns()
        call = self._call
        try:
            if not on_chunk(call.op, chunk):
                return chunk
            last = call.last_chunk_ns
            call.last_chunk_ns = now
            count = call.chunk_count = call.chunk_count + 1
            if not last:
                call.first_chunk_ns = now
            elif call.chunk_gaps is not None:
                call.chunk_gaps.append(now - last)
                if not count % _FLUSH_EVERY:
                    call.flush_chunk_gaps()
        except Exception:
            self._on_chunk = None
            report_internal_error("reading a stream chunk")
        return chunk

    def closed_by_caller(self) -> None:
        self._call.interrupt(sc.OUTCOME_CLOSED_EARLY)

    def thrown(self, exc: BaseException) -> Any:
        """The caller's ``throw(exc)``, into the client's generator: what it yields next is a chunk like
        any other, what it raises ends the call as that would from ``next()``."""
        throw = getattr(self._inner, "throw", None)
        if throw is None:
            raise exc
        inner_next = self._next

        def once() -> Any:
            self._next = inner_next
            return throw(exc)

        self._next = once
        return self.__next__()

    def close(self) -> None:
        """Generator-style close: close the inner iterator if it can be, then end the span."""
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self.closed_by_caller()

    def __del__(self) -> None:
        try:
            call = self._call
            if not call.ended:
                _abandoned.end(call)  # never here: the collector may have interrupted a lock's holder
        except Exception:
            pass  # during interpreter shutdown even logging may be gone


class TracedAsyncIterator:
    """Asynchronous wrapper; see the module docstring."""

    __slots__ = ("_anext", "_call", "_inner", "_on_chunk")

    def __init__(self, inner: AsyncIterator[Any], call: Call, on_chunk: ChunkHandler) -> None:
        self._inner = inner
        self._anext = inner.__anext__
        self._call = call
        self._on_chunk: ChunkHandler | None = on_chunk
        _abandoned.start()

    def __aiter__(self) -> TracedAsyncIterator:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self._anext()
        except StopAsyncIteration:
            self._call.succeed()
            raise
        except Exception as exc:
            self._call.fail(exc)
            raise
        except BaseException:
            self._call.interrupt(sc.OUTCOME_CANCELLED)
            raise
        on_chunk = self._on_chunk
        if on_chunk is None:
            return chunk
        now = _perf_ns()
        call = self._call
        try:
            if not on_chunk(call.op, chunk):
                return chunk
            last = call.last_chunk_ns
            call.last_chunk_ns = now
            count = call.chunk_count = call.chunk_count + 1
            if not last:
                call.first_chunk_ns = now
            elif call.chunk_gaps is not None:
                call.chunk_gaps.append(now - last)
                if not count % _FLUSH_EVERY:
                    call.flush_chunk_gaps()
        except Exception:
            self._on_chunk = None
            report_internal_error("reading a stream chunk")
        return chunk

    def closed_by_caller(self) -> None:
        self._call.interrupt(sc.OUTCOME_CLOSED_EARLY)

    async def thrown(self, exc: BaseException) -> Any:
        """``athrow(exc)``, as :meth:`TracedIterator.thrown`."""
        athrow = getattr(self._inner, "athrow", None)
        if athrow is None:
            raise exc
        inner_anext = self._anext

        async def once() -> Any:
            self._anext = inner_anext
            return await athrow(exc)

        self._anext = once
        return await self.__anext__()

    def let_go(self, _collected: object = None) -> None:
        """Drop the client's iterator, when the caller dropped the generator that wraps it.

        Without us, the client's async generator would be finalized then, and the event loop would close
        it at once; held here until the loop gets round to closing ours, it would instead be closed by
        the loop's shutdown alongside the generators it runs, which makes asyncio log an error.
        """
        self._inner = self._anext = None  # type: ignore[assignment]

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            self.closed_by_caller()

    def __del__(self) -> None:
        try:
            call = self._call
            if not call.ended:
                _abandoned.end(call)  # never here: the collector may have interrupted a lock's holder
        except Exception:
            pass


# --- clients whose streams are bare generators (Ollama) -----------------------------------------------------
def traced_generator(
    traced: TracedIterator | TracedAsyncIterator,
) -> Generator[Any, None, None] | AsyncGenerator[Any, None]:
    """A generator (async generator for a TracedAsyncIterator) that yields what ``traced`` yields.

    For clients that return a lazy generator: the caller keeps ``type(stream)`` (``types.GeneratorType``
    or ``types.AsyncGeneratorType``), ``close()``/``aclose()``, ``send``/``throw`` and ``inspect`` answers,
    which a TracedIterator handed out instead would change. Two things it adds:

    * a lazy generator makes its HTTP request on the first ``next()``; the span is current during that
      step only (so HTTP spans nest under it), never between chunks;
    * ``close()`` by the caller and finalization by the garbage collector both raise GeneratorExit at
      the ``yield``. CPython clears weak references to a generator before finalizing it, so a dead
      reference to ourselves there means the collector: the span is left to ``TracedIterator.__del__``
      ("abandoned", dated at the last chunk); otherwise the caller closed it ("closed_early"). The
      async generator must not await in that case either: the event loop that would run it may be
      gone, and a collected async generator is closed by the loop's finalizer hook, if at all.
    """
    self_reference: list[weakref.ref[Any]] = []
    if isinstance(traced, TracedAsyncIterator):
        async_generator = _delegate_async(traced, self_reference)
        self_reference.append(weakref.ref(async_generator, traced.let_go))
        return async_generator
    generator = _delegate(traced, self_reference)
    self_reference.append(weakref.ref(generator))
    return generator


def _activate(call: Call) -> object | None:
    try:
        return call.activate()
    except Exception:
        report_internal_error("activating the span for a lazy stream")
        return None


def _deactivate(token: object | None) -> None:
    if token is not None:
        try:
            Call.deactivate(token)
        except Exception:
            report_internal_error("deactivating the span for a lazy stream")


def _closed_by_caller(self_reference: list[weakref.ref[Any]]) -> bool:
    return bool(self_reference) and self_reference[0]() is not None


def _end_closed(traced: TracedIterator | TracedAsyncIterator) -> None:
    try:
        traced.closed_by_caller()
    except Exception:
        report_internal_error("ending a stream the caller closed")


def _delegate(traced: TracedIterator, self_reference: list[weakref.ref[Any]]) -> Generator[Any, None, None]:
    try:
        traced._call.request_ns = _perf_ns()  # the client sends its request now, on the first next()
        token = _activate(traced._call)
        try:
            first = next(traced)
        except StopIteration:
            return
        finally:
            _deactivate(token)
        # Not `yield from`: it would close `traced` on any GeneratorExit, the collector's included.
        for chunk in itertools.chain((first,), traced):
            while True:  # left at once, unless the caller throws in
                try:
                    yield chunk
                except Exception as thrown:  # the caller's throw(): into the client's generator
                    try:
                        chunk = traced.thrown(thrown)
                    except StopIteration:
                        return
                    continue
                break
    except GeneratorExit:
        if _closed_by_caller(self_reference):
            try:
                close = getattr(traced._inner, "close", None)
                if close is not None:
                    close()  # the client's own close: its errors reach the caller, as without us
            finally:
                _end_closed(traced)
        raise


async def _delegate_async(
    traced: TracedAsyncIterator, self_reference: list[weakref.ref[Any]]
) -> AsyncGenerator[Any, None]:
    try:
        traced._call.request_ns = _perf_ns()
        token = _activate(traced._call)
        try:
            chunk = await traced.__anext__()
        except StopAsyncIteration:
            return
        finally:
            _deactivate(token)
        while True:  # the first chunk; left at once, unless the caller throws in
            try:
                yield chunk
            # Exceptions only (GeneratorExit is none: aclose() goes on below). A CancelledError thrown here
            # is the event loop's, cancelling the task that would close a collected generator: the span is
            # left to the collector then.
            except Exception as thrown:  # the caller's athrow(): into the client's generator
                try:
                    chunk = await traced.thrown(thrown)
                except StopAsyncIteration:
                    return
                continue
            break
        async for chunk in traced:
            while True:  # as for the first
                try:
                    yield chunk
                except Exception as thrown:
                    try:
                        chunk = await traced.thrown(thrown)
                    except StopAsyncIteration:
                        return
                    continue
                break
    except GeneratorExit:
        if _closed_by_caller(self_reference):
            try:
                aclose = getattr(traced._inner, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                _end_closed(traced)
        raise
