"""The custom redactor: one batch and one budget per call, and threads that survive fork and overload."""

from __future__ import annotations

import json
import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genai_otel
from genai_otel import _failsafe, redaction
from genai_otel import semconv as sc
from genai_otel.content import CaptureMode, ContentRecorder, ContentSettings, data_url_part
from genai_otel.product import configure_product
from genai_otel.redaction import RedactionFailed, RedactionPolicy

TWENTY_MESSAGES = [
    {"role": "user" if n % 2 == 0 else "assistant", "content": f"message {n} from jane@example.org"}
    for n in range(20)
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "the city's name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "type": {"type": "string", "description": "kind of report"},
            },
            "required": ["city"],
        },
    },
}


@pytest.fixture(autouse=True)
def pool() -> Iterator[redaction._RedactorPool]:
    """A pool of the test's own: threads another test left stuck cannot change what this one sees."""
    _failsafe._reported_sites.clear()
    fresh = redaction._RedactorPool()
    saved = redaction._pool
    redaction._pool = fresh
    try:
        yield fresh
    finally:
        redaction._pool = saved


class Recorder:
    """A redactor that records what it is given, optionally slow, or hanging for its first ``hang`` calls."""

    def __init__(self, delay: float = 0.0, hang: int = 0, transform: Callable[[str], str] = str) -> None:
        self.delay = delay
        self.hang = hang
        self.transform = transform
        self.seen: list[str] = []
        self.finished = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str:
        with self._lock:
            self.seen.append(text)
            hangs = len(self.seen) <= self.hang
        if hangs:
            self.release.wait(30)
        elif self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.finished += 1
        return self.transform(text)


def _wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.005)


def _all_idle(pool: redaction._RedactorPool) -> bool:
    with pool._lock:
        return len(pool._idle) == pool._threads


def _input_texts(span: Any) -> list[str]:
    messages = json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES])
    return [part["content"] for message in messages for part in message["parts"] if part["type"] == "text"]


# --- one batch, one budget per call ----------------------------------------------------------------------
def test_a_call_gives_the_redactor_its_text_values_in_one_batch(
    instrument_openai, openai_client, pool
) -> None:
    redactor = Recorder(transform=str.upper)
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", redactor=redactor)
    messages = [
        *TWENTY_MESSAGES,
        {"role": "user", "name": "Jane Doe", "content": "hello"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris", "days": 3}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"},
    ]
    openai_client.chat.completions.create(model="gpt-test", messages=messages, tools=[WEATHER_TOOL])
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert pool.submissions == 1  # was one round trip per string, keys and roles included

    seen = set(redactor.seen)
    assert len(redactor.seen) == len(seen)  # each distinct string once
    expected = {f"message {n} from [EMAIL]" for n in range(20)}  # the built-ins ran first
    expected |= {"Jane Doe", "hello", "Paris", "sunny in Paris", "Weather for a city", "the city's name"}
    expected |= {"celsius", "fahrenheit", "kind of report"}
    assert expected <= seen
    # Keys, roles, part types, ids, tool names and schema keywords are not the user's text.
    structural = {"role", "content", "parts", "user", "assistant", "tool", "text", "tool_call"}
    structural |= {"tool_call_response", "call_1", "get_weather", "function", "object", "string", "city"}
    structural |= {"stop", "type", "name", "arguments"}
    assert not structural & seen, structural & seen

    texts = _input_texts(span)
    assert "MESSAGE 0 FROM [EMAIL]" in texts and "HELLO" in texts
    messages_out = json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert messages_out[0]["role"] == "user" and messages_out[0]["parts"][0]["type"] == "text"
    assert messages_out[20]["name"] == "JANE DOE"
    (call,) = messages_out[21]["parts"]
    assert call == {
        "type": "tool_call",
        "id": "call_1",
        "name": "get_weather",
        "arguments": {"city": "PARIS", "days": 3},
    }
    definitions = json.loads(span.attributes[sc.GEN_AI_TOOL_DEFINITIONS])
    assert definitions[0]["description"] == "WEATHER FOR A CITY"
    assert definitions[0]["parameters"]["properties"]["city"] == {
        "type": "string",
        "description": "THE CITY'S NAME",
    }
    output = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["role"] == "assistant" and output[0]["finish_reason"] in ("stop", "tool_call")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_every_client_and_mode_redacts_a_call_in_one_batch(
    telemetry, instrument_openai, openai_client, async_openai_client, llm_server, pool
) -> None:
    ollama = pytest.importorskip("ollama")
    from genai_otel.ollama import OllamaInstrumentor

    redactor = Recorder(transform=str.upper)
    settings = {"capture_message_content": "SPAN_AND_EVENT", "redactor": redactor}
    instrument_openai(**settings)
    ollama_instrumentor = OllamaInstrumentor()
    ollama_instrumentor.instrument(**telemetry.providers(), **settings)
    try:
        messages = TWENTY_MESSAGES[:4]
        list(openai_client.chat.completions.create(model="gpt-test", messages=messages, stream=True))
        await async_openai_client.chat.completions.create(model="gpt-test", messages=messages)
        openai_client.responses.create(model="gpt-test", input="hello there", instructions="Be brief.")
        list(ollama.Client(host=llm_server.base_url).chat("llama3.2", messages, stream=True))
    finally:
        ollama_instrumentor.uninstrument()
    spans = telemetry.spans()
    assert len(spans) == 4
    assert all(span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True for span in spans)
    assert pool.submissions == 4
    assert "HELLO THERE" in spans[2].attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "BE BRIEF." in spans[2].attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]
    assert len(telemetry.logs()) == 4


def test_a_slow_redactor_costs_a_call_one_budget(instrument_openai, openai_client, pool) -> None:
    """60 ms per string is under a 100 ms budget, but 20 strings are not: the call waits one budget."""
    redactor = Recorder(delay=0.06)
    telemetry = instrument_openai(
        capture_message_content="SPAN_AND_EVENT", redactor=redactor, redaction_timeout_ms=100
    )
    started = time.monotonic()
    result = openai_client.chat.completions.create(model="gpt-test", messages=TWENTY_MESSAGES)
    elapsed = time.monotonic() - started
    assert result.choices[0].message.content
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_timeout"
    assert sc.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert telemetry.logs() == []
    assert "jane@example.org" not in telemetry.exported_text()
    assert pool.submissions == 1
    _wait_until(lambda: _all_idle(pool))  # the thread has finished with the batch
    # Strings start at least 60 ms apart, and none once the 100 ms have run out: at most two of 21.
    assert len(redactor.seen) <= 2
    assert elapsed < 20 * 0.06  # far less than the redactor over every string; in practice ~0.1 s


def test_a_tool_call_is_one_batch_too(instrument_openai, pool) -> None:
    telemetry = instrument_openai()
    redactor = Recorder(transform=str.upper)
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_message_content="SPAN_ONLY",
        redactor=redactor,
    )
    try:

        @genai_otel.tool
        def lookup_customer(email: str, fields: list, depth: int = 1) -> dict:
            return {"name": "Jane Doe", "notes": ["prefers mail", "vip"], "orders": 3}

        lookup_customer("jane@example.org", ["name", "notes"], depth=2)
        (span,) = telemetry.spans()
        assert pool.submissions == 1
        assert sorted(redactor.seen) == sorted(
            ["[EMAIL]", "name", "notes", "Jane Doe", "prefers mail", "vip"]
        )
        assert json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {
            "depth": 2,
            "email": "[EMAIL]",
            "fields": ["NAME", "NOTES"],
        }
        assert json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {
            "name": "JANE DOE",
            "notes": ["PREFERS MAIL", "VIP"],
            "orders": 3,
        }
    finally:
        configure_product()


def test_a_slow_redactor_costs_a_tool_call_one_budget(instrument_openai, pool) -> None:
    telemetry = instrument_openai()
    redactor = Recorder(delay=0.06)
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_message_content="SPAN_ONLY",
        redactor=redactor,
        redaction_timeout_ms=100,
    )
    try:
        with genai_otel.tool_call("search", arguments={f"q{n}": f"query {n}" for n in range(20)}) as call:
            call.set_result([f"hit {n}" for n in range(20)])
        (span,) = telemetry.spans()
        assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_timeout"
        assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in span.attributes
        assert pool.submissions == 1
        _wait_until(lambda: _all_idle(pool))
        assert len(redactor.seen) <= 2
    finally:
        configure_product()


def test_the_cap_comes_after_the_redactor(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", redactor=lambda text: text + "!" * 40, content_max_length=20
    )
    openai_client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    (text,) = _input_texts(telemetry.span())
    assert text == "hi" + "!" * 18 + "…[truncated 22 chars]"


def test_a_batch_calls_the_redactor_once_per_distinct_string(pool) -> None:
    redactor = Recorder(transform=str.upper)
    policy = RedactionPolicy(custom=redactor, custom_timeout=10)
    assert policy.apply_redactor(["a", "b", "a", "c", "b"]) == ["A", "B", "A", "C", "B"]
    assert redactor.seen == ["a", "b", "c"]
    assert policy.apply_redactor([]) == []
    assert pool.submissions == 1  # nothing to redact, nothing submitted


@pytest.mark.parametrize(
    "redactor",
    [lambda text: 1 / 0, lambda text: None, lambda text: text.encode()],
    ids=["raises", "returns None", "returns bytes"],
)
def test_a_failing_redactor_fails_the_whole_batch(redactor, pool) -> None:
    policy = RedactionPolicy(custom=redactor, custom_timeout=10)
    with pytest.raises(RedactionFailed) as failure:
        policy.apply_redactor(["fine", "also fine"])
    assert failure.value.reason == "redaction_failed"
    # The redactor's own error is chained for our log, which shows its type and frames, never its message
    # (the text it was given may be quoted there: see test_exception_redaction).
    cause = failure.value.__cause__
    assert cause is None or isinstance(cause, ZeroDivisionError)
    assert policy.apply_redactor([]) == []  # and the pool serves on
    _wait_until(lambda: _all_idle(pool))


# Hostile text starts with "~", which no detector touches, and no structural value does: whatever reaches
# the output unchanged by the redactor (which maps every string to "R") still starts with it.
hostile = st.text(max_size=12).map(lambda text: "~" + text)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(hostile, children, max_size=3),
    max_leaves=12,
)
messages = st.builds(
    lambda name, text, arguments, response, extra, finish: [
        {"role": "user", "name": name, "parts": [{"type": "text", "content": text}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "get", "arguments": arguments},
                {"type": "server_tool_call", "id": "ws_1", "name": "web_search", "server_tool_call": extra},
                {"type": "uri", "modality": "image", "uri": text, "mime_type": "image/png"},
            ],
            "finish_reason": finish,
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": response}]},
    ],
    hostile,
    hostile,
    json_values,
    json_values,
    json_values,
    st.sampled_from(["stop", "tool_call"]),
)
definitions = st.builds(
    lambda description, parameters: [
        {"type": "function", "name": "get", "description": description, "parameters": parameters}
    ],
    hostile,
    st.dictionaries(hostile, json_values, max_size=4),
)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(input_messages=messages, tools=definitions, output=messages, arguments=json_values, result=json_values)
def test_every_text_value_and_nothing_else_reaches_the_redactor(
    input_messages, tools, output, arguments, result
) -> None:
    seen: list[str] = []

    def redactor(text: str) -> str:
        seen.append(text)
        return "R"

    policy = RedactionPolicy(custom=redactor, custom_timeout=30)
    recorder = ContentRecorder(ContentSettings(mode=CaptureMode.SPAN_ONLY, policy=policy), None)
    pool = redaction._custom_pool()
    before = pool.submissions
    cleaned = recorder.redacted(
        {
            sc.GEN_AI_INPUT_MESSAGES: input_messages,
            sc.GEN_AI_TOOL_DEFINITIONS: tools,
            sc.GEN_AI_OUTPUT_MESSAGES: output,
            sc.GEN_AI_TOOL_CALL_ARGUMENTS: arguments,
            sc.GEN_AI_TOOL_CALL_RESULT: result,
        }
    )
    assert pool.submissions == before + 1
    assert all(text.startswith("~") for text in seen), seen  # no key, role, type, id or name
    strings = [leaf for leaf in _leaves(cleaned) if isinstance(leaf, str)]
    assert not [text for text in strings if text.startswith("~")]  # every text value was redacted
    assert {"user", "assistant", "tool", "text", "tool_call", "call_1", "get", "image/png"} <= set(strings)


def test_blob_payloads_do_not_reach_the_redactor() -> None:
    redactor = Recorder()
    policy = RedactionPolicy(custom=redactor, custom_timeout=30)
    recorder = ContentRecorder(ContentSettings(mode=CaptureMode.SPAN_ONLY, policy=policy), None)
    image = data_url_part("data:image/png;base64,aGVsbG8gd29ybGQ=", "image")
    cleaned = recorder.redacted(
        {sc.GEN_AI_INPUT_MESSAGES: [{"role": "user", "parts": [{"type": "text", "content": "look"}, image]}]}
    )
    assert redactor.seen == ["look"]
    assert cleaned[sc.GEN_AI_INPUT_MESSAGES][0]["parts"][1] == {
        "type": "blob",
        "modality": "image",
        "mime_type": "image/png",
        "content": "[omitted: 11 bytes of image/png]",
    }


# --- overload -----------------------------------------------------------------------------------------------
def test_a_runaway_redactor_does_not_starve_later_calls(instrument_openai, openai_client, pool) -> None:
    """Two calls whose redactor hangs past the budget: the next call gets other threads, at once."""
    redactor = Recorder(hang=2, transform=str.upper)
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", redactor=redactor, redaction_timeout_ms=500
    )
    try:
        for _ in range(2):
            openai_client.chat.completions.create(model="gpt-test", messages=TWENTY_MESSAGES[:1])
        for _ in range(3):
            openai_client.chat.completions.create(model="gpt-test", messages=TWENTY_MESSAGES[:1])
        spans = telemetry.spans()
        assert [s.attributes.get(sc.GENAI_OTEL_CONTENT_DROPPED_REASON) for s in spans] == [
            "redaction_timeout",
            "redaction_timeout",
            None,
            None,
            None,
        ]
        assert _input_texts(spans[-1]) == ["MESSAGE 0 FROM [EMAIL]"]
        assert pool._threads == 3  # two stuck, one serving the later calls
    finally:
        redactor.release.set()
    _wait_until(lambda: _all_idle(pool))
    assert redactor.finished == len(redactor.seen)  # the stuck threads gave up their batches


def test_a_saturated_pool_fails_fast_and_recovers(instrument_openai, openai_client, pool) -> None:
    limit = redaction._MAX_REDACTOR_THREADS
    redactor = Recorder(hang=limit, transform=str.upper)
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", redactor=redactor, redaction_timeout_ms=1000
    )
    try:
        # Calls from several threads at once, as in a threaded server: each holds a pool thread.
        callers = [
            threading.Thread(
                target=openai_client.chat.completions.create,
                kwargs={"model": "gpt-test", "messages": TWENTY_MESSAGES[:1]},
            )
            for _ in range(limit)
        ]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(30)
        assert pool._threads == limit and not pool._idle
        reasons = [s.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] for s in telemetry.spans()]
        assert reasons == ["redaction_timeout"] * limit

        # Every thread is stuck: the next calls are refused without waiting for one.
        submitted = pool.submissions
        openai_client.chat.completions.create(model="gpt-test", messages=TWENTY_MESSAGES[:1])
        span = telemetry.spans()[-1]
        assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
        assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_overloaded"
        assert sc.GEN_AI_INPUT_MESSAGES not in span.attributes
        patient = RedactionPolicy(custom=redactor, custom_timeout=60)
        started = time.monotonic()
        with pytest.raises(RedactionFailed) as failure:
            patient.redact("unrelated text")
        assert failure.value.reason == "redaction_overloaded"
        assert time.monotonic() - started < 10  # it did not wait out its 60 s budget
        assert pool.submissions == submitted  # nothing was handed to a thread
        assert pool._threads == limit  # and no thread was added
        assert len(redactor.seen) == limit
    finally:
        redactor.release.set()

    # The stuck threads come back once their redactor calls return; then calls get their content again.
    _wait_until(lambda: _all_idle(pool))
    openai_client.chat.completions.create(model="gpt-test", messages=TWENTY_MESSAGES[:1])
    span = telemetry.spans()[-1]
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert _input_texts(span) == ["MESSAGE 0 FROM [EMAIL]"]
    assert pool._threads == limit  # served by a returned thread, not a new one


def test_an_exception_under_a_saturated_pool_is_recorded_by_its_type(pool) -> None:
    """docs/content-capture.md, exceptions: a gate that cannot run for want of a thread drops the text too."""
    from genai_otel import _exceptions

    limit = redaction._MAX_REDACTOR_THREADS
    redactor = Recorder(hang=limit)
    policy = RedactionPolicy(custom=redactor, custom_timeout=0.05)
    try:
        for _ in range(limit):  # each call overruns its budget and leaves its thread stuck in the redactor
            with pytest.raises(RedactionFailed):
                policy.redact("x")
        assert pool._threads == limit and not pool._idle
        gated = _exceptions.GatedException(ValueError("jane.roe@example.com was refused"), policy)
        assert gated.dropped_reason == sc.DROPPED_REDACTION_OVERLOADED
        assert gated.message == gated.stacktrace == "ValueError"
        assert gated.event_attributes()[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_overloaded"
    finally:
        redactor.release.set()
    _wait_until(lambda: _all_idle(pool))


def test_idle_threads_beyond_the_kept_ones_end(monkeypatch, pool) -> None:
    monkeypatch.setattr(redaction, "_IDLE_SECONDS", 0.01)
    redactor = Recorder(hang=4)
    policy = RedactionPolicy(custom=redactor, custom_timeout=0.05)
    for _ in range(4):
        with pytest.raises(RedactionFailed):
            policy.redact("x")
    assert pool._threads == 4
    redactor.release.set()
    _wait_until(lambda: pool._threads == redaction._IDLE_REDACTOR_THREADS)
    assert RedactionPolicy(custom=redactor, custom_timeout=10).redact("x") == "x"


# --- fork ---------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_gets_a_pool_of_its_own(instrument_openai, openai_client, llm_server, pool) -> None:
    """gunicorn --preload: the parent used the pool, then forked workers; each worker's calls keep their
    content and do not wait for threads that exist only in the parent."""
    import openai

    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", redactor=str.upper, redaction_timeout_ms=5000
    )
    openai_client.chat.completions.create(model="gpt-test", messages=TWENTY_MESSAGES[:1])
    assert telemetry.spans()[-1].attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert pool._idle  # the parent's thread waits for work: a child must not count on it

    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: one captured call, its outcome through the pipe, and out
        status = 1
        try:
            os.close(read_end)
            client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="x", max_retries=0)
            reports = []
            for _ in range(2):
                client.chat.completions.create(model="gpt-test", messages=TWENTY_MESSAGES[:1])
                attributes = telemetry.spans()[-1].attributes
                reports.append(
                    {
                        "captured": attributes[sc.GENAI_OTEL_CONTENT_CAPTURED],
                        "reason": attributes.get(sc.GENAI_OTEL_CONTENT_DROPPED_REASON),
                        "texts": _input_texts(telemetry.spans()[-1])
                        if sc.GEN_AI_INPUT_MESSAGES in attributes
                        else None,
                    }
                )
            pool_now = redaction._custom_pool()
            report = {"calls": reports, "same_pool": pool_now is pool, "threads": pool_now._threads}
            os.write(write_end, json.dumps(report).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 60)
        assert ready, "the child did not report"
        data = b""
        while chunk := os.read(read_end, 65536):
            data += chunk
    finally:
        os.close(read_end)
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    report = json.loads(data)
    assert report["same_pool"] is False
    assert report["threads"] == 1  # started in the child, reused by its second call
    for call in report["calls"]:
        assert call == {"captured": True, "reason": None, "texts": ["MESSAGE 0 FROM [EMAIL]"]}


def test_an_exception_costs_one_batch(pool) -> None:
    """An exception's message and stack trace reach the redactor together: one budget, not two."""
    from genai_otel._exceptions import GatedException

    seen: list[str] = []

    def redactor(text: str) -> str:
        seen.append(text)
        return text.replace("Jane Roe", "[NAME]")

    policy = RedactionPolicy(custom=redactor, custom_timeout=10)
    try:
        raise RuntimeError("refund for Jane Roe failed")
    except RuntimeError as exc:
        gated = GatedException(exc, policy)
    assert pool.submissions == 1
    assert len(seen) == 2
    assert gated.message == "refund for [NAME] failed"
    assert "Jane Roe" not in gated.stacktrace and "[NAME]" in gated.stacktrace
