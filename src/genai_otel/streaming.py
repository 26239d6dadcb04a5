"""One stream-wrapper design for every client: an iterator that sits between the client's own chunk
iterator and the caller, and ends the call's span exactly once.

The wrapper never replaces the object the caller holds. A client adapter puts it *inside* the
client's stream object (OpenAI's ``Stream._iterator``) or hands it out where the client would hand
out a bare iterator (Ollama). Each chunk goes through untouched. Per chunk we take one timestamp,
call the adapter's ``on_chunk(operation, chunk) -> bool`` (True for chunks that carry model
output) and, for output chunks, append one integer (the gap since the previous one, for the
time-per-output-chunk metric, recorded when the stream ends). How it ends:

* the inner iterator is exhausted: ``Call.succeed`` (a stream without an end marker is recorded as
  truncated there);
* the inner iterator raises an ``Exception``: ``Call.fail``, then the exception goes on unchanged;
* it raises a ``BaseException`` (task cancelled, ``KeyboardInterrupt``): interrupted, "cancelled";
* the caller closes the stream: the adapter calls :meth:`TracedIterator.closed_by_caller`;
* nobody closes it and it is garbage-collected: ``__del__`` ends the span as "abandoned", dated at
  the last chunk received.

The per-chunk path is written out twice (sync and async) on purpose: a shared helper would cost a
Python call per chunk.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

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
                call.interrupt(sc.OUTCOME_ABANDONED, at_last_activity=True)
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
                call.interrupt(sc.OUTCOME_ABANDONED, at_last_activity=True)
        except Exception:
            pass
