"""Settings: arguments beat environment, bad values warn once and fall back."""

from __future__ import annotations

import logging

import pytest

from genai_otel import _failsafe
from genai_otel import semconv as sc
from genai_otel.config import TIME_PER_OUTPUT_CHUNK_ENV, Settings, read_bool
from genai_otel.openai import OpenAIInstrumentor


@pytest.fixture(autouse=True)
def _fresh_warnings():
    _failsafe._warned_settings.clear()


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("FALSE", False), (" 0 ", False), ("yes", True)]
)
def test_read_bool(text, expected) -> None:
    assert read_bool(text, "X", not expected) is expected


def test_bad_bool_warns_once_and_uses_default(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        assert read_bool("maybe", "SOME_SETTING", True) is True
        assert read_bool("maybe", "SOME_SETTING", True) is True
    (record,) = caplog.records
    assert "SOME_SETTING='maybe'" in record.getMessage()
    assert "true or false" in record.getMessage()


def test_argument_beats_environment(monkeypatch) -> None:
    monkeypatch.setenv(TIME_PER_OUTPUT_CHUNK_ENV, "false")
    assert Settings.load().time_per_output_chunk is False
    assert Settings.load(time_per_output_chunk=True).time_per_output_chunk is True


def test_chunk_metric_can_be_switched_off(monkeypatch, telemetry, openai_client) -> None:
    monkeypatch.setenv(TIME_PER_OUTPUT_CHUNK_ENV, "false")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        stream = openai_client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        list(stream)
    finally:
        instrumentor.uninstrument()
    assert telemetry.metric_points(sc.METRIC_TIME_PER_OUTPUT_CHUNK) == []
    assert len(telemetry.metric_points(sc.METRIC_TIME_TO_FIRST_CHUNK)) == 1
    assert telemetry.span().attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] > 1
