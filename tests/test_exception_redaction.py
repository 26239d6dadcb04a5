"""An error message is content (issue 10, section 2).

Personal data planted in every place an error can carry it (OpenAI 400/500 bodies, a mid-stream error
event, Responses API errors and failure codes, Ollama errors, exceptions raised in ``@genai_otel.tool``
functions and inside ``product_context``), with capture off and on: none of it may reach an exported span
attribute, event, status description, metric or genai-otel log record. The user's redactor (here one that
removes a name) runs on exception text in every mode; when the gate cannot run, the exception is recorded
by its type only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

import genai_otel
from genai_otel import _exceptions, _failsafe
from genai_otel import semconv as sc

openai = pytest.importorskip("openai")
ollama = pytest.importorskip("ollama")

NAME = "Jane Roe"
PLANTED = {
    "email": "jane.roe@example.com",
    "phone": "+1 415-555-0134",
    "card": "4532 0151 1283 0366",
    "name": NAME,
    "key": "sk-proj-PLANTEDsecretKEY12345678",
}
ERROR_TEXT = (
    f"customer {NAME} <{PLANTED['email']}>, phone {PLANTED['phone']}, card {PLANTED['card']} "
    f"was rejected (key {PLANTED['key']})"
)
# Fragments that must not survive anywhere, the digits without their separators too.
FORBIDDEN = (*PLANTED.values(), "jane.roe", "4532015112830366", "0151 1283", "555-0134", "PLANTEDsecret")
MESSAGES = [{"role": "user", "content": "hello"}]
MODES = ["NO_CONTENT", "SPAN_AND_EVENT"]


def remove_name(text: str) -> str:
    return text.replace(NAME, "[NAME]")


class RecordCollector(logging.Handler):
    """Every record of genai-otel's logger, formatted as a handler would (traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        parts = []
        for record in self.records:
            parts.append(self.format(record))
            parts.append(repr(record.args))
            if record.exc_info:
                parts.append(logging.Formatter().formatException(record.exc_info))
        return "\n".join(parts)


@pytest.fixture
def log_records() -> Iterator[RecordCollector]:
    collector = RecordCollector()
    logger = logging.getLogger("genai_otel")
    level = logger.level
    logger.addHandler(collector)
    logger.setLevel(logging.DEBUG)
    _failsafe._reported_sites.clear()
    _exceptions._warned.clear()
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        logger.setLevel(level)


def _assert_nothing_planted(telemetry, log_records: RecordCollector) -> None:
    exported = telemetry.exported_text()
    logged = log_records.text()
    for value in FORBIDDEN:
        assert value not in exported, value
        assert value not in logged, value


def _exception_events(span) -> list[dict[str, Any]]:
    return [dict(event.attributes) for event in span.events if event.name == "exception"]


def _plant(server_scenario: str) -> dict[str, str]:
    return {"X-Fake-Scenario": server_scenario, "X-Fake-Error": ERROR_TEXT}


# --- every path, capture off and on -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", ["status-400", "status-500"])
def test_openai_error_bodies(mode, status, instrument_both, llm_server, log_records) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=remove_name)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-test", messages=MESSAGES, extra_headers=_plant(status))
    assert PLANTED["email"] in str(raised.value)  # the caller's exception is untouched
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    (event,) = _exception_events(span)
    assert "[EMAIL]" in event["exception.message"] and "[NAME]" in event["exception.message"]
    assert "[CARD]" in event["exception.message"] and "[PHONE]" in event["exception.message"]
    assert "[EMAIL]" in span.status.description
    assert "[NAME]" in event["exception.stacktrace"]
    assert span.attributes[sc.ERROR_TYPE] in ("openai.BadRequestError", "openai.InternalServerError")
    _assert_nothing_planted(telemetry, log_records)
    client.close()


@pytest.mark.parametrize("mode", MODES)
def test_openai_mid_stream_error_event(mode, instrument_both, llm_server, log_records) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=remove_name)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, extra_headers=_plant("stream-error")
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    (event,) = _exception_events(telemetry.span())
    assert "[EMAIL]" in event["exception.message"]
    _assert_nothing_planted(telemetry, log_records)
    client.close()


@pytest.mark.parametrize("mode", MODES)
async def test_async_openai_error_body(mode, instrument_both, llm_server, log_records) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=remove_name)
    client = openai.AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, extra_headers=_plant("status-400")
        )
    await client.close()
    (event,) = _exception_events(telemetry.span())
    assert "[NAME]" in event["exception.message"]
    _assert_nothing_planted(telemetry, log_records)


@pytest.mark.parametrize("mode", MODES)
def test_responses_api_errors(mode, instrument_both, llm_server, log_records) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=remove_name)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-test", input="hello", extra_headers=_plant("status-400"))
    # A failed stream reports its error inside the response: message and code are the provider's text.
    planted_code = f"denied:{PLANTED['email']}"
    stream = client.responses.create(
        model="gpt-test",
        input="hello",
        stream=True,
        extra_headers={**_plant("stream-error"), "X-Fake-Error-Code": planted_code},
    )
    for _ in stream:
        pass
    failed_http, failed_stream = sorted(telemetry.spans(), key=lambda s: s.start_time)
    (event,) = _exception_events(failed_http)
    assert "[EMAIL]" in event["exception.message"]
    assert failed_stream.attributes[sc.ERROR_TYPE] == "denied:[EMAIL]"
    assert failed_stream.status.description == "denied:[EMAIL]"
    (point,) = [
        p for p in telemetry.metric_points(sc.METRIC_OPERATION_DURATION) if sc.ERROR_TYPE in p.attributes
    ][-1:]
    assert "jane" not in str(point.attributes)
    _assert_nothing_planted(telemetry, log_records)
    client.close()


@pytest.mark.parametrize("mode", MODES)
def test_ollama_errors(mode, instrument_both, llm_server, log_records) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=remove_name)
    client = ollama.Client(host=llm_server.base_url, headers={"X-Fake-Error": ERROR_TEXT})
    with pytest.raises(ollama.ResponseError):
        client.chat(model="llama-test:status-500", messages=MESSAGES)
    with pytest.raises(ollama.ResponseError):
        client.generate(model="llama-test:status-400", prompt="hello")
    with pytest.raises(ollama.ResponseError):
        for _ in client.chat(model="llama-test:stream-error", messages=MESSAGES, stream=True):
            pass
    spans = telemetry.spans()
    assert len(spans) == 3
    for span in spans:
        (event,) = _exception_events(span)
        assert "[EMAIL]" in event["exception.message"] and "[NAME]" in event["exception.message"]
    _assert_nothing_planted(telemetry, log_records)
    client._client.close()


@pytest.mark.parametrize("mode", MODES)
def test_tool_exceptions(mode, instrument_both, log_records) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=remove_name)

    @genai_otel.tool
    def look_up_customer(email: str) -> dict:
        # The literal is in the source line too: stack traces must not carry source lines.
        raise LookupError("no account for Jane Roe, jane.roe@example.com, card 4532 0151 1283 0366")

    @genai_otel.tool
    async def charge(card: str) -> None:
        raise ValueError(f"card {card} declined for {NAME}")

    with pytest.raises(LookupError):
        look_up_customer(PLANTED["email"])
    import asyncio

    with pytest.raises(ValueError):
        asyncio.run(charge(PLANTED["card"]))
    spans = telemetry.spans()
    assert len(spans) == 2
    for span in spans:
        assert span.status.status_code is StatusCode.ERROR
        (event,) = _exception_events(span)
        assert "[CARD]" in event["exception.message"] and "[NAME]" in event["exception.message"]
        assert span.status.description == event["exception.message"]
        assert "raise " not in event["exception.stacktrace"]  # no source lines
        assert (
            ", in look_up_customer" in event["exception.stacktrace"]
            or ", in charge" in (event["exception.stacktrace"])
        )
    _assert_nothing_planted(telemetry, log_records)


@pytest.mark.parametrize("mode", MODES)
def test_product_context_exceptions(mode, instrument_both, log_records) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=remove_name)
    with pytest.raises(RuntimeError), genai_otel.product_context("answer question", template_id="t1"):
        try:
            raise KeyError(PLANTED["email"])
        except KeyError as cause:
            raise RuntimeError(f"lookup failed for {NAME} at {PLANTED['phone']}") from cause
    (span,) = telemetry.spans()
    assert span.status.status_code is StatusCode.ERROR
    (event,) = _exception_events(span)
    assert event["exception.type"] == "RuntimeError"
    assert "[NAME]" in event["exception.message"] and "[PHONE]" in event["exception.message"]
    assert span.status.description == event["exception.message"]
    stacktrace = event["exception.stacktrace"]
    assert "KeyError: '[EMAIL]'" in stacktrace and "direct cause" in stacktrace
    assert span.attributes[sc.ERROR_TYPE] == "RuntimeError"
    _assert_nothing_planted(telemetry, log_records)


# --- the gate fails closed -----------------------------------------------------------------------------------
def _failing_redactor(text: str) -> str:
    raise ValueError(f"cannot redact {text!r}")


def _slow_redactor(text: str) -> str:
    time.sleep(0.5)
    return text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("redactor", "reason"), [(_failing_redactor, "redaction_failed"), (_slow_redactor, "redaction_timeout")]
)
def test_a_gate_that_cannot_run_leaves_the_type_only(
    mode, redactor, reason, instrument_both, llm_server, log_records
) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=redactor, redaction_timeout_ms=50)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    messages = [{"role": "user", "content": ERROR_TEXT}]  # planted in content as well

    @genai_otel.tool
    def failing_tool() -> None:
        raise RuntimeError(ERROR_TEXT)

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-test", messages=messages, extra_headers=_plant("status-400")
        )
    with pytest.raises(RuntimeError):
        failing_tool()
    llm, tool = sorted(telemetry.spans(), key=lambda s: s.start_time)
    for span, expected in ((llm, "openai.BadRequestError"), (tool, "RuntimeError")):
        (event,) = _exception_events(span)
        assert event["exception.type"] == expected
        assert event["exception.message"] == expected
        assert event["exception.stacktrace"] == expected
        assert event[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == reason
        assert span.status.description == expected
    _assert_nothing_planted(telemetry, log_records)
    assert any("recorded by their type only" in r.getMessage() for r in log_records.records)
    client.close()


def test_a_failing_redactor_on_content_logs_no_input(instrument_both, llm_server, log_records) -> None:
    """The redactor's exception carries the text it was given; our warning must not."""
    telemetry = instrument_both(capture_message_content="SPAN_ONLY", redactor=_failing_redactor)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": ERROR_TEXT}])
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    warnings = [r for r in log_records.records if r.levelno == logging.WARNING]
    assert warnings and all(r.exc_info is None for r in warnings)
    assert "ValueError" in log_records.text()  # the type and where it happened are still reported
    _assert_nothing_planted(telemetry, log_records)
    client.close()


def test_internal_errors_are_logged_without_messages(log_records) -> None:
    def ours() -> None:
        raise KeyError(PLANTED["email"])

    try:
        ours()
    except KeyError:
        _failsafe.report_internal_error("a test site")
    (record,) = log_records.records
    assert record.exc_info is None
    text = log_records.text()
    assert "KeyError" in text and ", in ours" in text and "a test site" in text
    assert PLANTED["email"] not in text


def test_the_redactor_sees_exceptions_with_capture_off(instrument_both, llm_server) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def spy(text: str) -> str:
        with lock:
            seen.append(text)
        return text

    instrument_both(redactor=spy)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, extra_headers=_plant("status-400")
        )
    # The message and the stack trace, after the built-in detectors: the redactor never sees the raw value.
    assert len(seen) == 2 and all("[EMAIL]" in text for text in seen)
    client.close()


# --- the stack trace ------------------------------------------------------------------------------------------
def test_stacktrace_is_frames_and_gated_messages_only() -> None:
    from genai_otel.redaction import RedactionPolicy

    def inner() -> None:
        raise ValueError("inner jane.roe@example.com")

    def outer() -> None:
        try:
            inner()
        except ValueError:
            raise TypeError("outer +1 415-555-0134") from None

    try:
        outer()
    except TypeError as exc:
        gated = _exceptions.GatedException(exc, RedactionPolicy())
    assert gated.message == "outer [PHONE]"
    assert gated.stacktrace.startswith("Traceback (most recent call last):\n")
    assert ", in outer" in gated.stacktrace and "TypeError: outer [PHONE]" in gated.stacktrace
    assert "inner" not in gated.stacktrace.split(", in outer", 1)[1]  # suppressed context stays out
    assert "raise" not in gated.stacktrace


def test_long_messages_are_cut_before_the_gate_at_a_word_boundary() -> None:
    from genai_otel.redaction import RedactionPolicy

    text = "x " * (_exceptions.GATE_INPUT_LIMIT // 2 - 10) + "jane.roe@example.com " * 5
    gated = _exceptions.GatedException(ValueError(text), RedactionPolicy())
    assert "jane" not in gated.message and "jane" not in gated.stacktrace
    assert len(gated.message) <= _exceptions.MESSAGE_LIMIT


SPACED_VALUES = {
    "card": "4111 1111 1111 1111",
    "iban": "DE89 3704 0044 0532 0130 00",
    "phone": "+44 20 7946 0958",
}


@pytest.mark.parametrize("kind", sorted(SPACED_VALUES))
def test_the_cut_never_leaves_part_of_a_value_with_spaces(kind) -> None:
    """A card, an IBAN or a phone number holds spaces: wherever the cut falls inside one, no part of it
    is left for the stack trace (which keeps what is before the cut, gated)."""
    from genai_otel.redaction import RedactionPolicy

    value = SPACED_VALUES[kind]
    groups = [group for group in value.replace("+", "").split() if len(group) >= 2]
    limit = _exceptions.GATE_INPUT_LIMIT
    for offset in range(len(value) + 2):
        text = "lorem " * (limit // 6) + "x" * offset
        text = text[: limit - offset] + " " + value + " tail" * 20
        gated = _exceptions.GatedException(ValueError(text), RedactionPolicy())
        kept = gated.stacktrace.rsplit("[cut:", 1)[0]
        # What is left ends in plain words: no group of the value, whole or in part, at its end.
        last_words = kept.split()[-3:]
        assert not any(group in word for group in groups for word in last_words), (offset, last_words)
        assert "[cut:" in gated.stacktrace


def test_an_unprintable_exception_is_recorded_by_its_type() -> None:
    from genai_otel.redaction import RedactionPolicy

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    gated = _exceptions.GatedException(Unprintable(), RedactionPolicy())
    assert gated.message.endswith("Unprintable")


def test_a_misconfigured_policy_leaves_the_type_only_with_capture_off(
    instrument_both, llm_server, log_records
) -> None:
    telemetry = instrument_both(redact_patterns={"BROKEN": "("})
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, extra_headers=_plant("status-400")
        )
    (event,) = _exception_events(telemetry.span())
    assert event["exception.message"] == "openai.BadRequestError"
    assert event[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_misconfigured"
    _assert_nothing_planted(telemetry, log_records)
    client.close()


def test_a_providers_error_code_that_cannot_pass_the_gate_is_other(
    instrument_both, llm_server, log_records
) -> None:
    telemetry = instrument_both(redactor=_failing_redactor)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    headers = {**_plant("stream-error"), "X-Fake-Error-Code": f"denied:{NAME}"}
    for _ in client.responses.create(model="gpt-test", input="hello", stream=True, extra_headers=headers):
        pass
    span = telemetry.span()
    assert span.attributes[sc.ERROR_TYPE] == "_OTHER"
    assert span.status.description == "_OTHER"
    _assert_nothing_planted(telemetry, log_records)
    client.close()


def test_redact_disable_applies_to_exceptions_with_capture_off(instrument_both) -> None:
    telemetry = instrument_both(redact_disable=["email"])

    @genai_otel.tool
    def look_up() -> None:
        raise LookupError(f"{PLANTED['email']} at {PLANTED['phone']}")

    with pytest.raises(LookupError):
        look_up()
    (event,) = _exception_events(telemetry.span())
    assert event["exception.message"] == f"{PLANTED['email']} at [PHONE]"
    assert telemetry.span().status.description == event["exception.message"]


def test_deep_and_long_chains_are_bounded() -> None:
    from genai_otel.redaction import RedactionPolicy

    def recurse(depth: int) -> None:
        if depth == 0:
            raise ValueError("bottom")
        recurse(depth - 1)

    try:
        recurse(_exceptions.FRAME_LIMIT + 50)
    except ValueError as exc:
        deep = _exceptions.GatedException(exc, RedactionPolicy())
    assert deep.stacktrace.count(", in recurse") == _exceptions.FRAME_LIMIT
    assert "outer frames omitted" in deep.stacktrace

    exc = None
    for index in range(_exceptions.CHAIN_LIMIT + 5):
        try:
            raise RuntimeError(f"link {index}") from exc
        except RuntimeError as raised:
            exc = raised
    chained = _exceptions.GatedException(exc, RedactionPolicy())
    assert chained.stacktrace.count("RuntimeError: link") == _exceptions.CHAIN_LIMIT
    assert chained.stacktrace.rstrip().endswith(f"RuntimeError: link {_exceptions.CHAIN_LIMIT + 4}")


def test_no_import_circle_in_the_package() -> None:
    """Every import, module-level or inside a function, between genai_otel's own modules: no cycle."""
    import ast
    from pathlib import Path

    root = Path(genai_otel.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genai_otel"):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name.startswith("genai_otel"))
        graph[module] = imported - {module}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for name in graph.get(start, ()):
            if name == target or (name not in seen and (seen.add(name) or reaches(name, target, seen))):
                return True
        return False

    # The package's __init__ re-exports everything; cycles through it are how Python packages work.
    circles = sorted(m for m in graph if m != "genai_otel" and reaches(m, m, {"genai_otel"}))
    assert circles == []
