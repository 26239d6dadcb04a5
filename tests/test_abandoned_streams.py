"""A stream found abandoned by the garbage collector ends in a thread of ours, never in the finalizer.

The collector runs finalizers inside whatever the thread was doing, locks held. Each test here holds a lock
that ending a span needs (ours, a span processor's) while an abandoned stream is collected, in the same
thread: ended in the finalizer, the call would wait for that lock for ever. Every wait below is a guard
against such a hang, never a measure of speed.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from genai_otel import _abandoned, redaction
from genai_otel import semconv as sc
from tests.helpers import upper_redactor

MESSAGES = [{"role": "user", "content": "my secret plan"}]
HANG_GUARD_SECONDS = 60.0


class LockingProcessor(SpanProcessor):
    """A span processor that holds a lock while it handles an ended span, as the SDK's and exporters' do."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.on_end_hook: Callable[[ReadableSpan], None] | None = None

    def on_end(self, span: ReadableSpan) -> None:
        with self.lock:
            if self.on_end_hook is not None:
                self.on_end_hook(span)


def _open_stream(client: Any) -> Any:
    """A stream with one chunk read; the caller's reference is the only one."""
    if hasattr(client, "chat") and hasattr(client.chat, "completions"):
        stream = client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, stream=True, extra_headers={"X-Fake-Chunks": "30"}
        )
        next(stream)
        stream.response.close()  # the connection goes back; only the span is left to the collector
        return stream
    stream = client.chat(model="llama-test", messages=MESSAGES, stream=True)
    next(stream)
    return stream


def _abandon(streams: list[Any]) -> None:
    """Drop the streams (the list held the only references) and run the collector."""
    streams.clear()
    gc.collect()


def _in_a_thread(work: Callable[[], None]) -> None:
    """Run ``work`` in a thread and fail, instead of hanging the suite, if it never returns."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_SECONDS)
    assert not thread.is_alive(), "the thread that collected an abandoned stream is stuck"
    if errors:
        raise errors[0]


def _wait_for(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not predicate():
        assert time.monotonic() < deadline, "an abandoned stream's span never ended"
        time.sleep(0.01)


def _chat_spans(telemetry: Any) -> list[ReadableSpan]:
    return [s for s in telemetry.spans() if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "chat"]


@pytest.fixture
def clients(llm_server) -> Any:
    import openai

    ollama = pytest.importorskip("ollama")
    made = {
        "openai": openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0),
        "ollama": ollama.Client(host=llm_server.base_url),
    }
    yield made
    made["openai"].close()
    made["ollama"]._client.close()


@pytest.fixture
def locking(instrument_both) -> Any:
    """Both clients instrumented, content captured through a custom redactor, a LockingProcessor added."""
    processor = LockingProcessor()
    telemetry = instrument_both(capture_message_content="SPAN_ONLY", redactor=upper_redactor)
    telemetry.tracer_provider.add_span_processor(processor)
    return telemetry, processor


@pytest.mark.parametrize("client_name", ["openai", "ollama"])
@pytest.mark.parametrize("held", ["the redactor threads' lock", "a span processor's lock"])
def test_a_stream_collected_while_a_lock_of_the_ending_is_held_neither_hangs_nor_is_lost(
    locking, clients, client_name, held
) -> None:
    telemetry, processor = locking
    lock = redaction._custom_pool()._lock if held.startswith("the redactor") else processor.lock

    streams = [_open_stream(clients[client_name])]

    def collect_with_the_lock_held() -> None:
        with lock:
            _abandon(streams)

    _in_a_thread(collect_with_the_lock_held)
    _wait_for(lambda: len(_chat_spans(telemetry)) == 1)
    (span,) = _chat_spans(telemetry)
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "abandoned"
    assert "my secret plan" not in str(dict(span.attributes))  # never unredacted, however late
    if held.startswith("a span processor"):
        assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
        assert "MY SECRET PLAN" in str(span.attributes[sc.GEN_AI_INPUT_MESSAGES])
    # With the redactor threads' lock held past the redactor's budget, the content is dropped instead.


@pytest.mark.parametrize("client_name", ["openai", "ollama"])
def test_without_a_held_lock_the_span_has_ended_when_the_collection_returns(
    locking, clients, client_name
) -> None:
    telemetry, _ = locking
    _abandon([_open_stream(clients[client_name])])
    (span,) = _chat_spans(telemetry)  # no waiting: the finalizer waited for the ending
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "abandoned"


def test_while_one_ending_is_stuck_later_finalizers_do_not_wait(locking, clients, monkeypatch) -> None:
    """A stuck lock costs the host one bounded wait, not one per stream collected behind it."""
    telemetry, processor = locking
    handed: list[bool] = []
    queue = _abandoned._ender._queue

    class Spy:  # the ender thread reads the real queue; finalizers put through this one
        def put(self, item: tuple[Any, Any]) -> None:
            handed.append(item[1] is not None)  # True: this finalizer waits for the ending
            queue.put(item)

    streams = [_open_stream(clients["openai"]) for _ in range(10)]
    monkeypatch.setattr(_abandoned._ender, "_queue", Spy())

    def collect_ten_with_the_lock_held() -> None:
        with processor.lock:
            while streams:
                streams.pop()
                gc.collect()

    _in_a_thread(collect_ten_with_the_lock_held)
    _wait_for(lambda: len(_chat_spans(telemetry)) == 10)
    assert handed == [True] + [False] * 9
    assert {s.attributes[sc.GENAI_OTEL_OUTCOME] for s in _chat_spans(telemetry)} == {"abandoned"}


def test_a_stream_collected_inside_the_ending_thread_is_ended_after_it(locking, clients) -> None:
    """The ender's own work can set off the collector: what it finds there is queued behind, not awaited."""
    telemetry, processor = locking
    kept = [_open_stream(clients["ollama"])]
    dropped_in: list[str] = []

    def drop_the_kept_stream(span: ReadableSpan) -> None:
        if kept:
            dropped_in.append(threading.current_thread().name)
            kept.clear()  # its finalizer runs here, in the ender thread

    streams = [_open_stream(clients["openai"])]
    processor.on_end_hook = drop_the_kept_stream
    _in_a_thread(lambda: _abandon(streams))
    _wait_for(lambda: len(_chat_spans(telemetry)) == 2)
    assert dropped_in == ["genai-otel-abandoned-streams"]
    assert [s.attributes[sc.GENAI_OTEL_OUTCOME] for s in _chat_spans(telemetry)] == ["abandoned"] * 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_ends_its_abandoned_streams_in_a_thread_of_its_own(
    locking, clients, llm_server
) -> None:
    import ollama

    telemetry, _ = locking
    _abandon([_open_stream(clients["openai"])])  # the parent's ender thread is running
    before = len(_chat_spans(telemetry))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the child uses none of them
        pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        status = 1
        try:
            _abandon([_open_stream(ollama.Client(host=llm_server.base_url))])  # no connection of the parent's
            spans = _chat_spans(telemetry)
            ended = len(spans) == before + 1 and spans[-1].attributes[sc.GENAI_OTEL_OUTCOME] == "abandoned"
            status = 0 if ended else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_unclosed_stream_alive_at_exit_does_not_hold_up_the_exit(llm_server, tmp_path) -> None:
    script = tmp_path / "exit_with_a_stream.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import openai
            from opentelemetry.sdk.trace import TracerProvider
            from genai_otel.openai import OpenAIInstrumentor
            from tests.helpers import upper_redactor

            OpenAIInstrumentor().instrument(
                tracer_provider=TracerProvider(), capture_message_content="SPAN_ONLY", redactor=upper_redactor
            )
            client = openai.OpenAI(base_url={llm_server.openai_base_url!r}, api_key="sk-test", max_retries=0)
            stream = client.chat.completions.create(model="gpt-test", messages=[{{"role": "user", "content": "hi"}}],
                                                    stream=True, extra_headers={{"X-Fake-Chunks": "30"}})
            next(stream)
            kept_in_a_cycle = [stream]
            kept_in_a_cycle.append(kept_in_a_cycle)
            print("exiting")
            """
        )
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "exiting"
    assert "Traceback" not in done.stderr


def test_an_ending_that_raises_anything_leaves_the_thread_serving(locking, clients) -> None:
    telemetry, processor = locking
    raised: list[str] = []

    def exit_once(span: ReadableSpan) -> None:
        if not raised:
            raised.append(threading.current_thread().name)
            raise SystemExit(3)  # a BaseException out of span.end(), in the ending thread

    processor.on_end_hook = exit_once
    _abandon([_open_stream(clients["openai"])])
    _abandon([_open_stream(clients["ollama"])])
    assert raised == ["genai-otel-abandoned-streams"]
    assert [s.attributes[sc.GENAI_OTEL_OUTCOME] for s in _chat_spans(telemetry)] == ["abandoned"] * 2
