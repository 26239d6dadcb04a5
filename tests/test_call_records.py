"""Call records (one gen_ai.client.inference.operation.details log record per call) and the redacted
output preview, through the real openai and ollama clients over loopback."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import openai
import pytest

from genai_otel import _failsafe
from genai_otel import semconv as sc
from genai_otel.config import ACTIVE_REQUESTS_ENV, CALL_RECORDS_ENV, PREVIEW_CHARS_ENV
from genai_otel.content import EVENT_NAME
from genai_otel.testing.fake_server import DEFAULT_ANSWER

QUESTION = [{"role": "user", "content": "Where is my parcel?"}]
PII = "Write to jane.doe@example.com or call with card 4111 1111 1111 1111, key sk-proj-A1b2C3d4E5f6G7h8I9j0"
ECHO = {"X-Fake-Echo": "1"}
CONTENT_KEYS = (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS)


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    _failsafe._warned_settings.clear()
    _failsafe._reported_sites.clear()


def _records(telemetry: Any) -> list[Any]:
    return [record for record in telemetry.logs() if record.event_name == EVENT_NAME]


# --- call records ------------------------------------------------------------------------------------
def test_off_by_default_no_record_no_logger(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    assert telemetry.logs() == []
    assert sc.GENAI_OTEL_OUTPUT_PREVIEW not in telemetry.span().attributes


def test_one_record_per_call_with_attributes_and_trace_context(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(call_records=True, hash_key="tenant-secret")
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION, temperature=0.2)
    span = telemetry.span()
    (record,) = _records(telemetry)
    assert record.trace_id == span.context.trace_id and record.span_id == span.context.span_id
    assert record.timestamp == span.end_time
    assert record.severity_number.name == "INFO"
    attributes = dict(record.attributes)
    for key in (
        sc.GEN_AI_OPERATION_NAME,
        sc.GEN_AI_PROVIDER_NAME,
        sc.GEN_AI_REQUEST_MODEL,
        sc.GEN_AI_REQUEST_TEMPERATURE,
        sc.GEN_AI_RESPONSE_MODEL,
        sc.GEN_AI_RESPONSE_ID,
        sc.GEN_AI_USAGE_INPUT_TOKENS,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS,
        sc.GEN_AI_RESPONSE_FINISH_REASONS,
        sc.SERVER_ADDRESS,
        sc.GENAI_OTEL_INPUT_MESSAGES_HASH,
    ):
        assert attributes[key] == span.attributes[key], key
    # Capture is off: no content anywhere, and no claim that content was captured.
    for key in (*CONTENT_KEYS, sc.GENAI_OTEL_CONTENT_CAPTURED):
        assert key not in attributes
    assert "Where is my parcel" not in telemetry.exported_text()
    assert DEFAULT_ANSWER not in telemetry.exported_text()


def test_from_the_environment_and_for_every_way_a_call_ends(
    monkeypatch, instrument_openai, openai_client
) -> None:
    monkeypatch.setenv(CALL_RECORDS_ENV, "true")
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(model="gpt-test:status-429", messages=QUESTION)
    for _ in openai_client.chat.completions.create(model="gpt-test", messages=QUESTION, stream=True):
        pass
    stream = openai_client.chat.completions.create(model="gpt-test", messages=QUESTION, stream=True)
    next(iter(stream))
    stream.close()
    openai_client.embeddings.create(model="text-embedding-test", input="hello")
    abandoned = openai_client.chat.completions.create(model="gpt-test", messages=QUESTION, stream=True)
    next(iter(abandoned))
    del abandoned
    gc.collect()
    records = _records(telemetry)
    assert len(records) == len(telemetry.spans()) == 6
    by_span = {record.span_id: dict(record.attributes) for record in records}
    for span in telemetry.spans():
        attributes = by_span[span.context.span_id]
        assert attributes.get(sc.ERROR_TYPE) == span.attributes.get(sc.ERROR_TYPE)
        assert attributes.get(sc.GENAI_OTEL_OUTCOME) == span.attributes.get(sc.GENAI_OTEL_OUTCOME)
    failed = next(r for r in records if dict(r.attributes).get(sc.ERROR_TYPE))
    assert failed.attributes[sc.ERROR_TYPE] == "openai.RateLimitError"
    assert failed.attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 429
    assert failed.severity_number.name == "WARN"
    assert {"closed_early", "abandoned"} <= {dict(r.attributes).get(sc.GENAI_OTEL_OUTCOME) for r in records}


def test_a_cancelled_async_call_has_its_record(instrument_openai, async_openai_client) -> None:
    telemetry = instrument_openai(call_records=True)

    async def main() -> None:
        task = asyncio.ensure_future(
            async_openai_client.chat.completions.create(
                model="gpt-test", messages=QUESTION, extra_headers={"X-Fake-Delay": "5"}
            )
        )
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await async_openai_client.close()

    asyncio.run(main())
    (record,) = _records(telemetry)
    assert record.attributes[sc.GENAI_OTEL_OUTCOME] == "cancelled"
    assert record.span_id == telemetry.span().context.span_id


def test_record_carries_the_product_context(instrument_openai, openai_client) -> None:
    import genai_otel

    telemetry = instrument_openai(call_records=True)
    with genai_otel.product_context(template_id="tracking-v1", conversation_id="ticket-7"):
        openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    (record,) = _records(telemetry)
    assert record.attributes["app.prompt.template_id"] == "tracking-v1"
    assert record.attributes[sc.GEN_AI_CONVERSATION_ID] == "ticket-7"


def test_records_are_kept_for_calls_whose_trace_is_sampled_out(telemetry, openai_client) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from genai_otel.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        meter_provider=telemetry.meter_provider,
        logger_provider=telemetry.logger_provider,
        call_records=True,
    )
    try:
        openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    finally:
        instrumentor.uninstrument()
    (record,) = _records(telemetry)
    assert record.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert record.trace_id != 0


@pytest.mark.parametrize(
    ("mode", "content_in_record"),
    [("SPAN_ONLY", False), ("EVENT_ONLY", True), ("SPAN_AND_EVENT", True)],
)
def test_with_capture_one_record_holds_content_only_in_event_modes(
    instrument_openai, openai_client, mode, content_in_record
) -> None:
    telemetry = instrument_openai(call_records=True, capture_message_content=mode)
    openai_client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": PII}], extra_headers=ECHO
    )
    (record,) = _records(telemetry)  # one record, not a record and a content event
    attributes = dict(record.attributes)
    assert attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert attributes[sc.GENAI_OTEL_CONTENT_CAPTURE_MODE] == mode
    if content_in_record:
        inputs = attributes[sc.GEN_AI_INPUT_MESSAGES]
        assert inputs[0]["parts"][0]["content"].startswith("Write to [EMAIL]")
        assert attributes[sc.GEN_AI_OUTPUT_MESSAGES][0]["parts"][0]["content"].startswith("Write to [EMAIL]")
    else:
        for key in CONTENT_KEYS:
            assert key not in attributes
    text = telemetry.exported_text()
    for secret in ("jane.doe@example.com", "4111 1111 1111 1111", "sk-proj-A1b2C3d4E5f6G7h8I9j0"):
        assert secret not in text


def test_record_with_dropped_content_says_why(instrument_openai, openai_client) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("redactor down")

    telemetry = instrument_openai(call_records=True, capture_message_content="EVENT_ONLY", redactor=broken)
    openai_client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": PII}], extra_headers=ECHO
    )
    (record,) = _records(telemetry)
    assert record.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    assert record.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_failed"
    assert "jane.doe" not in telemetry.exported_text()


def test_a_failing_logger_provider_does_not_reach_the_caller(telemetry, openai_client) -> None:
    from genai_otel.openai import OpenAIInstrumentor

    class BrokenLogger:
        def emit(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("exporter exploded")

    class BrokenProvider:
        def get_logger(self, *args: Any, **kwargs: Any) -> BrokenLogger:
            return BrokenLogger()

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        logger_provider=BrokenProvider(),
        call_records=True,
    )
    try:
        reply = openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    finally:
        instrumentor.uninstrument()
    assert reply.choices[0].message.content == DEFAULT_ANSWER
    assert telemetry.span().attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_ollama_call_records(telemetry, llm_server) -> None:
    ollama = pytest.importorskip("ollama")
    from genai_otel.ollama import OllamaInstrumentor

    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(**telemetry.providers(), call_records=True, preview_chars=40)
    client = ollama.Client(host=llm_server.base_url, headers=ECHO)
    try:
        client.chat(model="llama3.2:1b", messages=[{"role": "user", "content": PII}])
        for _ in client.chat(model="llama3.2:1b", messages=[{"role": "user", "content": PII}], stream=True):
            pass
    finally:
        instrumentor.uninstrument()
        client._client.close()
    records = _records(telemetry)
    assert len(records) == 2
    for record, span in zip(
        sorted(records, key=lambda r: r.span_id),
        sorted(telemetry.spans(), key=lambda s: s.context.span_id),
        strict=True,
    ):
        assert record.span_id == span.context.span_id
        assert record.attributes[sc.GEN_AI_PROVIDER_NAME] == "ollama"
        assert (
            record.attributes[sc.GENAI_OTEL_OUTPUT_PREVIEW] == span.attributes[sc.GENAI_OTEL_OUTPUT_PREVIEW]
        )
        assert span.attributes[sc.GENAI_OTEL_OUTPUT_PREVIEW].startswith("Write to [EMAIL]")
        assert sc.GEN_AI_INPUT_MESSAGES not in record.attributes
    assert "jane.doe" not in telemetry.exported_text()
    telemetry.assert_each_span_ended_once()


# --- the preview -------------------------------------------------------------------------------------
def test_preview_is_the_first_n_characters_redacted(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(preview_chars=30, call_records=True)
    openai_client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": PII}], extra_headers=ECHO
    )
    span = telemetry.span()
    preview = span.attributes[sc.GENAI_OTEL_OUTPUT_PREVIEW]
    assert preview == "Write to [EMAIL] or call with c"[:30]
    assert len(preview) == 30
    (record,) = _records(telemetry)
    assert record.attributes[sc.GENAI_OTEL_OUTPUT_PREVIEW] == preview
    # The preview is not content capture: no messages recorded, none claimed.
    for key in (*CONTENT_KEYS, sc.GENAI_OTEL_CONTENT_CAPTURED):
        assert key not in span.attributes
    assert "jane.doe" not in telemetry.exported_text()


def test_a_cut_never_leaves_a_piece_of_pii_the_detectors_missed(instrument_openai, openai_client) -> None:
    # Cutting first and redacting the piece would leave "jane.doe@exam", which no detector recognises.
    telemetry = instrument_openai(preview_chars=22)
    openai_client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": PII}], extra_headers=ECHO
    )
    preview = telemetry.span().attributes[sc.GENAI_OTEL_OUTPUT_PREVIEW]
    assert "jane" not in preview and "@" not in preview


def test_streamed_preview_uses_the_user_policy(monkeypatch, instrument_openai, openai_client) -> None:
    monkeypatch.setenv(PREVIEW_CHARS_ENV, "200")
    monkeypatch.setenv("GENAI_OTEL_REDACT_PATTERNS", '{"ORDER": "#A[0-9]{5}"}')
    telemetry = instrument_openai()
    stream = openai_client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Order #A12345 for jane.doe@example.com"}],
        stream=True,
        extra_headers={**ECHO, "X-Fake-Piece-Size": "3"},
    )
    for _ in stream:
        pass
    assert telemetry.span().attributes[sc.GENAI_OTEL_OUTPUT_PREVIEW] == "Order [ORDER] for [EMAIL]"


def test_preview_of_a_stream_closed_early_is_what_was_served(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(preview_chars=500)
    stream = openai_client.chat.completions.create(
        model="gpt-test", messages=QUESTION, stream=True, extra_headers={"X-Fake-Chunks": "6"}
    )
    iterator = iter(stream)
    served = "".join(next(iterator).choices[0].delta.content or "" for _ in range(3))
    stream.close()
    preview = telemetry.span().attributes.get(sc.GENAI_OTEL_OUTPUT_PREVIEW, "")
    assert preview == served.strip() or preview == served


@pytest.mark.parametrize("failure", ["raises", "times_out", "not_a_string"])
def test_preview_fails_closed(instrument_openai, openai_client, caplog, failure) -> None:
    import time

    def redactor(text: str) -> Any:
        if failure == "raises":
            raise RuntimeError("presidio down")
        if failure == "times_out":
            time.sleep(0.5)
            return text
        return None

    telemetry = instrument_openai(
        preview_chars=100, call_records=True, redactor=redactor, redaction_timeout_ms=50
    )
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        reply = openai_client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": PII}], extra_headers=ECHO
        )
    assert reply.choices[0].message.content.startswith("Write to jane.doe@example.com")
    span = telemetry.span()
    assert sc.GENAI_OTEL_OUTPUT_PREVIEW not in span.attributes
    (record,) = _records(telemetry)
    assert sc.GENAI_OTEL_OUTPUT_PREVIEW not in record.attributes
    assert "jane.doe" not in telemetry.exported_text()
    assert "preview dropped" in caplog.text


def test_preview_fails_closed_on_a_misconfigured_policy(instrument_openai, openai_client, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai(preview_chars=100, redact_patterns='{"BAD": "("}')
        openai_client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": PII}], extra_headers=ECHO
        )
    assert sc.GENAI_OTEL_OUTPUT_PREVIEW not in telemetry.span().attributes
    assert "jane.doe" not in telemetry.exported_text()


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("", 0), ("12", 12), ("-3", 0), ("many", 0)])
def test_preview_setting(monkeypatch, caplog, value, expected) -> None:
    from genai_otel.config import Settings

    monkeypatch.setenv(PREVIEW_CHARS_ENV, value)
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        assert Settings.load().preview_chars == expected
    warned = PREVIEW_CHARS_ENV in caplog.text
    assert warned == (value in ("-3", "many"))


@pytest.mark.parametrize("env", [CALL_RECORDS_ENV, ACTIVE_REQUESTS_ENV])
def test_boolean_settings_warn_once_and_stay_off(monkeypatch, caplog, env) -> None:
    from genai_otel.config import Settings

    monkeypatch.setenv(env, "perhaps")
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        settings = Settings.load()
        Settings.load()
    assert not settings.call_records and not settings.active_requests
    assert caplog.text.count(env) == 1


def test_switched_off_the_call_path_does_no_new_work(telemetry, openai_client) -> None:
    """Decided at instrument() time: with records, preview and active requests off, no counter and no
    output collection exist, so a call cannot pay for them. (The logger is made by the first call that
    raises, for semconv's exception event.)"""
    from genai_otel.recording import Recorder

    recorder = Recorder("test", telemetry.tracer_provider, telemetry.meter_provider, content=None)
    assert recorder._logger is None
    assert recorder.active_requests is None
    assert not recorder.collects_output
    assert not recorder.call_records and not recorder.preview_chars


# --- util-genai's own switches ----------------------------------------------------------------------------
EMIT_EVENT = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"
HOOK = "OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK"


def _call(instrument_openai, openai_client, caplog, **settings: Any) -> tuple[Any, Any, list[str]]:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai(**settings)
        openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    warnings = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    return telemetry, telemetry.span(), warnings


@pytest.mark.parametrize(("mode", "on_span"), [("EVENT_ONLY", False), ("SPAN_AND_EVENT", True)])
@pytest.mark.parametrize("value", ["false", " FALSE "])
def test_emit_event_false_means_no_details_event(
    monkeypatch, instrument_openai, openai_client, caplog, mode, on_span, value
) -> None:
    monkeypatch.setenv(EMIT_EVENT, value)
    telemetry, span, warnings = _call(instrument_openai, openai_client, caplog, capture_message_content=mode)
    assert _records(telemetry) == [] and warnings == []
    assert (sc.GEN_AI_INPUT_MESSAGES in span.attributes) is on_span
    # The mode in force: EVENT_ONLY content goes nowhere (as with util-genai), and the span says so.
    assert span.attributes.get(sc.GENAI_OTEL_CONTENT_CAPTURE_MODE) == ("SPAN_ONLY" if on_span else None)
    assert ("Where is my parcel" in telemetry.exported_text()) is on_span


@pytest.mark.parametrize("form", ["argument", "environment"])
def test_our_call_records_setting_wins_over_emit_event(
    monkeypatch, instrument_openai, openai_client, caplog, form
) -> None:
    monkeypatch.setenv(EMIT_EVENT, "false")
    if form == "environment":
        monkeypatch.setenv(CALL_RECORDS_ENV, "true")
        settings: dict[str, Any] = {}
    else:
        settings = {"call_records": True}
    telemetry, _span, warnings = _call(
        instrument_openai, openai_client, caplog, capture_message_content="EVENT_ONLY", **settings
    )
    (record,) = _records(telemetry)
    assert sc.GEN_AI_INPUT_MESSAGES in record.attributes  # the records' own rule: content in event modes
    assert warnings == []


@pytest.mark.parametrize(
    ("mode", "content"), [("NO_CONTENT", False), ("SPAN_ONLY", False), ("EVENT_ONLY", True)]
)
def test_emit_event_true_turns_call_records_on(
    monkeypatch, instrument_openai, openai_client, caplog, mode, content
) -> None:
    monkeypatch.setenv(EMIT_EVENT, "True")
    telemetry, span, warnings = _call(instrument_openai, openai_client, caplog, capture_message_content=mode)
    (record,) = _records(telemetry)
    assert record.span_id == span.context.span_id and warnings == []
    assert (sc.GEN_AI_INPUT_MESSAGES in record.attributes) is content


def test_emit_event_true_yields_to_call_records_false(
    monkeypatch, instrument_openai, openai_client, caplog
) -> None:
    monkeypatch.setenv(EMIT_EVENT, "true")
    monkeypatch.setenv(CALL_RECORDS_ENV, "false")
    telemetry, _, warnings = _call(instrument_openai, openai_client, caplog)
    assert _records(telemetry) == [] and warnings == []


@pytest.mark.parametrize("value", ["1", "yes", "on", "maybe"])
def test_emit_event_takes_true_or_false_only(
    monkeypatch, instrument_openai, openai_client, caplog, value
) -> None:
    monkeypatch.setenv(EMIT_EVENT, value)
    telemetry, _span, warnings = _call(
        instrument_openai, openai_client, caplog, capture_message_content="EVENT_ONLY"
    )
    (warning,) = warnings
    assert warning.startswith(f"genai-otel: {EMIT_EVENT}=") and "true, false (any case)" in warning
    assert "using the default" in warning
    (event,) = _records(telemetry)  # the default: the content event of EVENT_ONLY, as without the variable
    assert sc.GEN_AI_INPUT_MESSAGES in event.attributes


@pytest.mark.parametrize("mode", ["SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT"])
def test_a_completion_hook_without_our_store_captures_no_content(
    monkeypatch, instrument_openai, openai_client, caplog, mode
) -> None:
    monkeypatch.setenv(HOOK, "upload")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_UPLOAD_BASE_PATH", "/nonexistent/upload")
    telemetry, span, warnings = _call(instrument_openai, openai_client, caplog, capture_message_content=mode)
    assert "Where is my parcel" not in telemetry.exported_text()
    assert sc.GENAI_OTEL_CONTENT_CAPTURE_MODE not in span.attributes
    (warning,) = warnings
    assert warning.startswith(f"genai-otel: {HOOK} is set") and "capturing no content" in warning
    assert "GENAI_OTEL_CONTENT_STORE (docs/content-capture.md#the-content-store)" in warning
    assert "upload" not in warning.split(" is set")[0]


def test_a_completion_hook_is_ignored_for_our_store(
    monkeypatch, instrument_openai, openai_client, caplog
) -> None:
    monkeypatch.setenv(HOOK, "upload")
    _telemetry, span, warnings = _call(
        instrument_openai,
        openai_client,
        caplog,
        capture_message_content="SPAN_ONLY",
        content_store="memory://genai-otel-hook-test/store",
    )
    assert sc.GEN_AI_INPUT_MESSAGES_REF in span.attributes and sc.GEN_AI_INPUT_MESSAGES not in span.attributes
    (warning,) = warnings
    assert warning.startswith(f"genai-otel: {HOOK} is ignored") and "GENAI_OTEL_CONTENT_STORE" in warning


def test_a_completion_hook_with_capture_off_says_nothing(
    monkeypatch, instrument_openai, openai_client, caplog
) -> None:
    monkeypatch.setenv(HOOK, "upload")
    _, _, warnings = _call(instrument_openai, openai_client, caplog)
    assert warnings == []


def test_a_completion_hook_keeps_tool_content_off_too(monkeypatch, telemetry, caplog) -> None:
    import genai_otel
    from genai_otel.product import configure_product

    monkeypatch.setenv(HOOK, "upload")
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        configure_product(tracer_provider=telemetry.tracer_provider, capture_message_content="SPAN_ONLY")
    try:
        with genai_otel.tool_call("lookup", arguments={"parcel_id": "48213"}) as call:
            call.set_result("in transit")
    finally:
        configure_product()
    (span,) = telemetry.spans()
    assert "48213" not in telemetry.exported_text() and "in transit" not in telemetry.exported_text()
    assert span.name == "execute_tool lookup"
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    assert warning.startswith(f"genai-otel: {HOOK} is set")
