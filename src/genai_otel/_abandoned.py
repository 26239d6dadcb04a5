"""Ending abandoned streams: a finalizer hands the ending to a thread of ours and never ends it itself.

A stream nobody closed is found by its wrapper's ``__del__``, which runs wherever the garbage collector
happens to start: inside any allocation, while the thread holds any lock. That may be a lock of ours (the
redactor threads'), of the SDK (a span processor's, a metric instrument's) or of an exporter (its
connection pool), and ending a span needs those very locks: ended from the finalizer, the thread would wait
for itself for ever.

So the finalizer only queues the call (``SimpleQueue.put`` is reentrant, safe in a finalizer) for one
daemon thread, and waits for that thread at most :data:`WAIT_SECONDS`. In the usual case (``del stream``,
``gc.collect()``) the span has ended when the caller's next line runs. When the collector interrupted the
holder of a lock that the ending needs, the wait runs out and the span ends as soon as that lock is free.
While the thread is busy, a finalizer does not wait at all, so a stuck lock costs the host one wait, not
one per stream.
"""

from __future__ import annotations

import _thread
import os
import sys
import threading
from queue import SimpleQueue
from typing import TYPE_CHECKING

from genai_otel import semconv as sc
from genai_otel._failsafe import report_internal_error

if TYPE_CHECKING:
    from genai_otel.recording import Call

# The longest a finalizer waits for the ending it handed over: two redactor budgets at their default.
WAIT_SECONDS = 0.5


class _Ender:
    """The queue of abandoned calls and the one thread that ends them."""

    def __init__(self) -> None:
        self._queue: SimpleQueue[tuple[Call, _thread.LockType | None]] = SimpleQueue()
        self._thread_id: int | None = None
        self.started = False
        self._busy = False

    def start(self) -> None:
        """Start the thread; called where a stream wrapper is made, because a finalizer must not start one."""
        if self.started:
            return
        self.started = True
        try:
            thread = threading.Thread(target=self._serve, name="genai-otel-abandoned-streams", daemon=True)
            thread.start()
        except Exception:  # no thread to be had (a resource limit): the next stream tries again
            self.started = False
            report_internal_error("starting the thread that ends abandoned streams")

    def end(self, call: Call) -> None:
        """End ``call`` as abandoned, from a finalizer. Never raises."""
        if sys.is_finalizing():
            return  # the thread cannot run any more, and a lock it holds would hang the exit
        if not self.started or self._busy or _thread.get_ident() == self._thread_id:
            self._queue.put((call, None))
            return
        done = _thread.allocate_lock()
        done.acquire()
        self._queue.put((call, done))
        done.acquire(timeout=WAIT_SECONDS)

    def _serve(self) -> None:
        self._thread_id = _thread.get_ident()
        get = self._queue.get
        while True:
            call, done = get()
            self._busy = True
            try:
                call.interrupt(sc.OUTCOME_ABANDONED, at_last_activity=True)
            except BaseException:  # the thread must outlive any one ending: nobody else serves the queue
                report_internal_error("ending an abandoned stream")
            finally:
                if done is not None:
                    done.release()
                del call, done  # the queue's last reference: the call must not outlive its ending
                self._busy = False


_ender = _Ender()


def start() -> None:
    if not _ender.started:
        _ender.start()


def end(call: Call) -> None:
    _ender.end(call)


def _new_ender_after_fork() -> None:
    """A forked child has none of the parent's threads: it gets a queue and a thread of its own."""
    global _ender
    _ender = _Ender()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_ender_after_fork)
