"""The redaction gate: detectors, user patterns and redactors, and failing closed."""

from __future__ import annotations

import json
import logging
import threading
from types import SimpleNamespace

import pytest

from genai_otel import _failsafe
from genai_otel import semconv as sc
from genai_otel.redaction import PresidioRedactor, RedactionFailed, RedactionPolicy, scrub_secrets

ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "".join(chr(0x660 + d) for d in range(10)))
FULLWIDTH_DIGITS = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
MESSAGES = [
    {"role": "user", "content": "Mail jane.doe@example.org about order #A10234, card 4111 1111 1111 1111."}
]


@pytest.fixture(autouse=True)
def _fresh_reports():
    _failsafe._reported_sites.clear()
    _failsafe._warned_settings.clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+tag@mail.example.co.uk now", "write to [EMAIL] now"),
        ("call +1 415-555-0134 or (020) 7946 0958", "call [PHONE] or [PHONE]"),
        ("card 4111-1111-1111-1111 ok", "card [CARD] ok"),
        ("IBAN GB82 WEST 1234 5698 7654 32 here", "IBAN [IBAN] here"),
        ("ssn 123-45-6789.", "ssn [SSN]."),
        ("from 192.168.10.254 and 2001:db8::8a2e:370:7334", "from [IP] and [IP]"),
        ("at 10:30:00 on 2026-11-23", "at 10:30:00 on 2026-11-23"),
        ("key sk-proj-AbCdEf1234567890XyZ", "key [SECRET]"),
        ("ant sk-ant-api03-abcDEF123456789", "ant [SECRET]"),
        ("aws AKIAIOSFODNN7EXAMPLE", "aws [SECRET]"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh [SECRET]"),
        ("slack xoxb-1234567890-abcdefghij", "slack [SECRET]"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_sig_sig", "jwt [JWT]"),
        ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer [SECRET]"),
        ("password=hunter2hunter2", "password=[SECRET]"),
        (
            "https://b.s3.amazonaws.com/x?X-Amz-Signature=abcdef123&v=1",
            "https://b.s3.amazonaws.com/x?X-Amz-Signature=[SECRET]&v=1",
        ),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "[PRIVATE_KEY]"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC (cut)", "[PRIVATE_KEY]"),
        ("loopback ::1 and fe80::1 at 10:30:00", "loopback [IP] and [IP] at 10:30:00"),
        # Non-ASCII text skips the ASCII-only shortcuts; digits of other scripts are still digits.
        (
            "Grüße: IBAN GB82 WEST 1234 5698 7654 32, Karte 4111 1111 1111 1111, ssn 123-45-6789",
            "Grüße: IBAN [IBAN], Karte [CARD], ssn [SSN]",
        ),
        ("карта " + "4111 1111 1111 1111".translate(ARABIC_INDIC_DIGITS) + " ok", "карта [CARD] ok"),
        ("card " + "4111 1111 1111 1111".translate(FULLWIDTH_DIGITS), "card [CARD]"),
    ],
)
def test_builtin_detectors(text, expected) -> None:
    assert RedactionPolicy().redact(text) == expected


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [("card 4111 1111 1111 1112", "[CARD]"), ("IBAN GB00 WEST 1234 5698 7654 32", "[IBAN]")],
)
def test_checksums_keep_lookalikes_from_their_placeholder(text, placeholder) -> None:
    # Invalid numbers are not cards or IBANs (the looser phone detector may still mask digit groups).
    assert placeholder not in RedactionPolicy().redact(text)


def test_detectors_can_be_disabled_and_patterns_added() -> None:
    policy = RedactionPolicy(disabled=["email"], patterns={"ORDER_ID": r"#A\d{5}"})
    assert policy.redact("jane@example.org #A10234") == "jane@example.org [ORDER_ID]"
    assert policy.version != RedactionPolicy().version


def test_invalid_pattern_breaks_the_policy() -> None:
    policy = RedactionPolicy(patterns={"BAD": "("})
    with pytest.raises(RedactionFailed):
        policy.redact("anything")


def test_scrub_secrets_leaves_ordinary_text() -> None:
    assert scrub_secrets("Error code: 429 - rate limited") == "Error code: 429 - rate limited"


def test_presidio_adapter_with_an_analyzer() -> None:
    class Analyzer:  # the presidio_analyzer.AnalyzerEngine interface; its models need a download
        def analyze(self, text, language):
            start = text.index("Jane Doe")
            return [SimpleNamespace(start=start, end=start + 8, entity_type="PERSON", score=0.9)]

    redactor = PresidioRedactor(analyzer=Analyzer())
    assert redactor("Call Jane Doe today") == "Call [PERSON] today"


def _captured(telemetry) -> str:
    return telemetry.exported_text()


def test_redacted_content_and_policy_on_the_span(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY",
        redact_patterns={"ORDER_ID": r"#A\d{5}"},
        redaction_policy="support-v2",
    )
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    span = telemetry.span()
    text = json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"]
    assert text == "Mail [EMAIL] about order [ORDER_ID], card [CARD]."
    assert span.attributes[sc.GENAI_OTEL_REDACTION_POLICY] == "support-v2"


def test_patterns_from_the_environment(monkeypatch, instrument_openai, openai_client) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    monkeypatch.setenv("GENAI_OTEL_REDACT_PATTERNS", '{"ORDER_ID": "#A\\\\d{5}"}')
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert "#A10234" not in _captured(telemetry)
    assert "[ORDER_ID]" in _captured(telemetry)


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"redact_patterns": {"BAD": "(unclosed"}}, "redaction_misconfigured"),
        ({"redact_patterns": "{not json"}, "redaction_misconfigured"),
        ({"redactor": "no_such_module_xyz:redact"}, "redaction_misconfigured"),
        ({"redactor": "presidio"}, "redaction_misconfigured"),  # not installed here
    ],
)
def test_unusable_policy_drops_content(instrument_openai, openai_client, caplog, settings, reason) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai(capture_message_content="SPAN_AND_EVENT", **settings)
        result = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert result.choices[0].message.content
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == reason
    assert sc.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert telemetry.logs() == []
    assert "jane.doe" not in _captured(telemetry)
    assert any("dropped" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_failing_custom_redactor_drops_content(instrument_openai, openai_client) -> None:
    def redactor(text: str) -> str:
        raise RuntimeError("redactor bug")

    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", redactor=redactor)
    stream = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    assert len(list(stream)) > 3
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_failed"
    assert "jane.doe" not in _captured(telemetry)


def test_custom_redactor_returning_a_non_string_drops_content(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", redactor=lambda text: None)
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert telemetry.span().attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_failed"


def test_slow_custom_redactor_drops_content_and_does_not_block(instrument_openai, openai_client) -> None:
    release = threading.Event()

    def stuck(text: str) -> str:
        release.wait(30)  # far beyond the call: the call must come back while this still waits
        return text

    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", redactor=stuck, redaction_timeout_ms=50
    )
    try:
        result = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        assert result.choices[0].message.content
        assert not release.is_set()  # returned while the redactor was still stuck
        span = telemetry.span()
        assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_timeout"
        assert "jane.doe" not in _captured(telemetry)
    finally:
        release.set()


def test_working_custom_redactor_runs_after_the_builtins(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", redactor=lambda text: text.replace("order", "ORDER")
    )
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    text = json.loads(telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"]
    assert text == "Mail [EMAIL] about ORDER #A10234, card [CARD]."


def test_redactor_from_module_path(monkeypatch, instrument_openai, openai_client) -> None:
    monkeypatch.setenv("GENAI_OTEL_REDACTOR", "tests.helpers:upper_redactor")
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    openai_client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hello"}])
    assert "HELLO" in telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES]


def test_exception_messages_are_scrubbed_even_without_capture(instrument_openai, llm_server) -> None:
    import openai

    telemetry = instrument_openai()
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="x", max_retries=0)

    def failing_send(*args, **kwargs):
        raise ConnectionError("proxy said: Bearer abcdefgh12345678 rejected for sk-proj-ZZZZZZZZZZZZZZZZ1234")

    client._client.send = failing_send
    with pytest.raises(Exception):  # noqa: B017
        client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    exported = _captured(telemetry)
    assert "abcdefgh12345678" not in exported and "ZZZZZZZZZZZZZZZZ1234" not in exported
