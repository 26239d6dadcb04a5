"""The background writer: a bounded queue (in documents and in bytes) drained by one thread.

The call path only serialises the document and appends it; encryption and the write happen here. The
thread starts on the first document and exits when idle, so a process with a quiet store holds no
thread. After ``fork()`` the child starts with an empty queue, a new lock and a new filesystem client
(the parent's queued documents are the parent's to write).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable

from opentelemetry import context as otel_context

from genai_otel._failsafe import warn_setting_once
from genai_otel.redaction import scrub_secrets

logger = logging.getLogger("genai_otel")

_IDLE_SECONDS = 5.0
_BACKOFF_FIRST = 1.0
_BACKOFF_MAX = 30.0


class Writer:
    def __init__(
        self,
        name: str,
        write: Callable[[str, bytes], None],
        reset: Callable[[], None],
        on_drop: Callable[[int], None],
        max_documents: int,
        max_bytes: int,
        flush_timeout: float,
        error_text: Callable[[Exception], str] = lambda exc: scrub_secrets(str(exc)),
    ) -> None:
        self._name = name
        # A write error may repeat the store URL's credentials (botocore quotes the bucket it was given).
        self._error_text = error_text
        self._write = write
        self._reset_client = reset
        self._on_drop = on_drop
        self._max_documents = max_documents
        self._max_bytes = max_bytes
        self.flush_timeout = flush_timeout
        self._init_state()
        _writers.add(self)

    def _init_state(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._queue: deque[tuple[str, bytes]] = deque()
        self._bytes = 0
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._down_until = 0.0
        self._backoff = _BACKOFF_FIRST
        self._warned = False

    # --- the call path ---------------------------------------------------------------------------------
    def submit(self, key: str, data: bytes) -> bool:
        """Queue a document; False (and nothing queued) if the queue is full or the store is down."""
        with self._condition:
            if (
                len(self._queue) >= self._max_documents
                or self._bytes + len(data) > self._max_bytes
                or time.monotonic() < self._down_until
            ):
                return False
            if self._thread is None:
                thread = threading.Thread(
                    target=self._run, name=f"genai-otel content store {self._name}", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError:  # interpreter shutting down
                    return False
                self._thread = thread
            self._queue.append((key, data))
            self._bytes += len(data)
            self._condition.notify()
            return True

    # --- the writer thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        # Writes are not the application's work: instrumentations that honour suppression skip them.
        otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
        while True:
            with self._condition:
                deadline = time.monotonic() + _IDLE_SECONDS
                while not self._queue:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._thread = None
                        return
                    self._condition.wait(remaining)
                key, data = self._queue.popleft()
                self._bytes -= len(data)
                self._in_flight += 1
            try:
                self._write(key, data)
                with self._condition:
                    self._backoff = _BACKOFF_FIRST
            except Exception as exc:
                self._failed(exc)
            finally:
                with self._condition:
                    self._in_flight -= 1
                    self._condition.notify_all()

    def _failed(self, exc: Exception) -> None:
        with self._condition:
            self._down_until = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, _BACKOFF_MAX)
            first = not self._warned
            self._warned = True
        try:
            self._on_drop(1)
            if first:
                logger.warning(
                    "genai-otel: content store %s refused a write (%s: %s); content is dropped while it "
                    "is unavailable (counted in genai_otel.content.store.dropped; reported once)",
                    self._name,
                    type(exc).__name__,
                    self._error_text(exc)[:200],
                )
            else:
                # Never exc_info: like every error genai-otel logs, frames and types only (see _failsafe).
                logger.debug("genai-otel: content store %s write failed (%s)", self._name, type(exc).__name__)
        except Exception:
            pass

    # --- shutdown ---------------------------------------------------------------------------------------
    def flush(self, timeout: float) -> bool:
        """Wait until everything queued is written (or failed), at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    return False
                self._condition.wait(remaining)
        return True

    def pending(self) -> int:
        with self._condition:
            return len(self._queue) + self._in_flight

    def _after_fork_in_child(self) -> None:
        self._init_state()
        self._reset_client()


_writers: weakref.WeakSet[Writer] = weakref.WeakSet()


def flush_all(timeout: float | None = None) -> bool:
    """Wait for what every content store has queued, within the longest of their flush time limits
    (or ``timeout`` seconds); True if everything was written (or failed), False if some is still pending."""
    writers = list(_writers)
    if timeout is not None and not _usable_timeout(timeout):
        # The application's call: a bad argument must not raise into it (nor wait forever).
        warn_setting_once(
            "content_store.flush(timeout_seconds=...)",
            f"content_store.flush(): timeout_seconds (a {type(timeout).__name__}) is not a finite number of "
            "seconds, 0 or more; using the stores' flush time limits",
        )
        timeout = None
    if timeout is None:
        timeout = max((writer.flush_timeout for writer in writers), default=0.0)
    deadline = time.monotonic() + timeout  # one limit for all: stores flush side by side in effect
    done = True
    for writer in writers:
        with contextlib.suppress(Exception):
            done = writer.flush(max(deadline - time.monotonic(), 0.0)) and done
    return done


def _usable_timeout(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= threading.TIMEOUT_MAX
    )


def _flush_all_at_exit() -> None:
    flush_all()


def _reset_all_in_child() -> None:
    for writer in list(_writers):
        with contextlib.suppress(Exception):
            writer._after_fork_in_child()


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_in_child)
