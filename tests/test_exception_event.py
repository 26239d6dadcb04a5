"""Semconv's ``gen_ai.client.operation.exception`` event (v1.41.0): one log record, severity WARN, for each LLM
call that raised, carrying the span's exception event as gated as it is there, in the call's trace context,
sampled-out calls included."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from genai_otel import semconv as sc
from tests.test_exception_redaction import ERROR_TEXT, FORBIDDEN, MESSAGES, remove_name

openai = pytest.importorskip("openai")
ollama = pytest.importorskip("ollama")


def _exception_logs(telemetry) -> list[Any]:
    return [record for record in telemetry.logs() if record.event_name == sc.EVENT_CLIENT_OPERATION_EXCEPTION]


def _planted(scenario: str) -> dict[str, str]:
    return {"X-Fake-Scenario": scenario, "X-Fake-Error": ERROR_TEXT}


@pytest.mark.parametrize("mode", ["NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY"])
def test_each_failed_call_emits_one_exception_event_like_its_spans(mode, instrument_both, llm_server) -> None:
    telemetry = instrument_both(capture_message_content=mode, redactor=remove_name)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, extra_headers=_planted("status-400")
        )
    local = ollama.Client(host=llm_server.base_url, headers={"X-Fake-Error": ERROR_TEXT})
    with pytest.raises(ollama.ResponseError):
        local.chat(model="llama-test:status-500", messages=MESSAGES)
    with pytest.raises(ollama.ResponseError):
        for _ in local.chat(model="llama-test:stream-error", messages=MESSAGES, stream=True):
            pass

    records = _exception_logs(telemetry)
    spans = sorted(telemetry.spans(), key=lambda span: span.start_time)
    assert len(records) == len(spans) == 3
    for record, span in zip(sorted(records, key=lambda r: r.timestamp), spans, strict=True):
        (event,) = [event for event in span.events if event.name == "exception"]
        assert dict(record.attributes) == dict(event.attributes)  # the same gated texts, nothing more
        assert "[EMAIL]" in record.attributes[sc.EXCEPTION_MESSAGE]
        assert "[NAME]" in record.attributes[sc.EXCEPTION_STACKTRACE]
        assert record.severity_number is SeverityNumber.WARN and record.severity_text == "WARN"
        assert (record.trace_id, record.span_id) == (span.context.trace_id, span.context.span_id)
        assert record.timestamp == span.end_time
        assert record.body is None
    exported = telemetry.exported_text()
    for value in FORBIDDEN:
        assert value not in exported, value
    client.close()
    local._client.close()


def test_calls_that_raise_nothing_emit_none(instrument_both, llm_server) -> None:
    telemetry = instrument_both()
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    with client.chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, extra_headers={"X-Fake-Chunks": "5"}
    ) as stream:
        next(iter(stream))  # closed early
    for _ in client.chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, extra_headers={"X-Fake-Scenario": "truncated"}
    ):
        pass  # truncated: an error.type, but no exception
    assert {span.attributes.get(sc.GENAI_OTEL_OUTCOME) for span in telemetry.spans()} >= {"closed_early"}
    assert telemetry.logs() == []
    client.close()


def test_a_sampled_out_call_emits_it_gated(telemetry, llm_server) -> None:
    from genai_otel.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        meter_provider=telemetry.meter_provider,
        logger_provider=telemetry.logger_provider,
        redactor=remove_name,
    )
    try:
        client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="gpt-test", messages=MESSAGES, extra_headers=_planted("status-500")
            )
        (record,) = _exception_logs(telemetry)
        assert record.attributes[sc.EXCEPTION_TYPE] == "openai.InternalServerError"
        assert "[EMAIL]" in record.attributes[sc.EXCEPTION_MESSAGE]
        assert "[NAME]" in record.attributes[sc.EXCEPTION_MESSAGE]
        assert record.trace_id != 0
        for value in FORBIDDEN:
            assert value not in telemetry.exported_text(), value
        client.close()
    finally:
        instrumentor.uninstrument()


def test_with_nothing_to_emit_to_a_sampled_out_call_gates_nothing(telemetry, llm_server) -> None:
    """No processor on the logger provider: the redactor is not run for an event that would be dropped."""
    from genai_otel.openai import OpenAIInstrumentor

    seen: list[str] = []

    def counting_redactor(text: str) -> str:
        seen.append(text)
        return text

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        meter_provider=telemetry.meter_provider,
        logger_provider=LoggerProvider(),
        redactor=counting_redactor,
    )
    try:
        client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model="gpt-test", messages=MESSAGES, extra_headers=_planted("status-400")
            )
        assert seen == []
        client.close()
    finally:
        instrumentor.uninstrument()


def test_a_gate_that_cannot_run_leaves_the_type_only_on_the_event_too(instrument_both, llm_server) -> None:
    def broken_redactor(text: str) -> str:
        raise RuntimeError("redactor down")

    telemetry = instrument_both(redactor=broken_redactor)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, extra_headers=_planted("status-400")
        )
    (record,) = _exception_logs(telemetry)
    assert dict(record.attributes) == {
        sc.EXCEPTION_TYPE: "openai.BadRequestError",
        sc.EXCEPTION_MESSAGE: "openai.BadRequestError",
        sc.EXCEPTION_STACKTRACE: "openai.BadRequestError",
        sc.GENAI_OTEL_CONTENT_DROPPED_REASON: sc.DROPPED_REDACTION_FAILED,
    }
    client.close()


def test_a_logger_provider_that_cannot_make_a_logger_costs_the_event_only(telemetry, llm_server) -> None:
    """Its tracer and meter providers are still used, and the call is traced (as before the event existed)."""
    from genai_otel.openai import OpenAIInstrumentor

    class BrokenLoggerProvider:
        def get_logger(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("no logger")

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        logger_provider=BrokenLoggerProvider(),
    )
    try:
        client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
        client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model="gpt-test", messages=MESSAGES, extra_headers=_planted("status-400")
            )
        completed, failed = sorted(telemetry.spans(), key=lambda span: span.start_time)
        assert sc.ERROR_TYPE not in completed.attributes
        assert failed.attributes[sc.ERROR_TYPE] == "openai.BadRequestError"
        assert telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
        client.close()
    finally:
        instrumentor.uninstrument()


def test_an_exception_event_that_cannot_be_emitted_leaves_the_call_alone(
    instrument_both, llm_server, monkeypatch
) -> None:
    telemetry = instrument_both()

    def failing_emit(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("exporter down")

    monkeypatch.setattr(type(telemetry.logger_provider.get_logger("x")), "emit", failing_emit)
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, extra_headers=_planted("status-400")
        )
    span = telemetry.span()
    assert span.attributes[sc.ERROR_TYPE] == "openai.BadRequestError"
    client.close()
