"""record_evaluation: the semconv event through a real Logs API pipeline, in the judged call's trace, with
metrics under the product cardinality bounds; content opt-in and redacted; bad input dropped, never raised."""

from __future__ import annotations

import gc
import logging
import math

import pytest
from opentelemetry import trace

import genai_otel
from genai_otel import _recent_calls
from genai_otel import semconv as sc
from genai_otel.evaluation import _record
from genai_otel.product import configure_product

MESSAGES = [{"role": "user", "content": "When does my parcel arrive?"}]
TEMPLATE = "app.prompt.template_id"
EVIDENCE = "app.evidence.version"
PLANTED_EMAIL = "jane.doe@example.com"
PLANTED_CARD = "4111 1111 1111 1111"


def _in_memory_log_exporter():
    """The SDK renamed it (InMemoryLogExporter -> InMemoryLogRecordExporter); take whichever exists."""
    from opentelemetry.sdk._logs import export

    exporter = getattr(export, "InMemoryLogRecordExporter", None) or export.InMemoryLogExporter
    return exporter()


@pytest.fixture
def evaluations(instrument_openai):
    """OpenAI instrumented and the product/evaluation API pointed at the same real SDK providers."""
    _record._warned.clear()
    telemetry = instrument_openai()
    configure_product(**telemetry.providers())
    yield telemetry
    configure_product()


def _configure(telemetry, **settings):
    configure_product(**telemetry.providers(), **settings)


def _events(telemetry):
    return [r for r in telemetry.logs() if r.event_name == sc.EVENT_EVALUATION_RESULT]


def test_event_in_the_judged_calls_trace_with_its_model_provider_and_product(
    evaluations, openai_client
) -> None:
    with genai_otel.product_context(template_id="tracking-answerer-v1", evidence_version="fastship@v17"):
        completion = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    # The judge runs later, outside the request's context.
    genai_otel.record_evaluation("groundedness", score=0.25, label="fail", response_id=completion.id)
    (chat,) = evaluations.spans()
    (event,) = _events(evaluations)
    assert event.trace_id == chat.context.trace_id and event.span_id == chat.context.span_id
    assert dict(event.attributes) == {
        sc.GEN_AI_EVALUATION_NAME: "groundedness",
        sc.GEN_AI_EVALUATION_SCORE_VALUE: 0.25,
        sc.GEN_AI_EVALUATION_SCORE_LABEL: "fail",
        sc.GEN_AI_RESPONSE_ID: completion.id,
        sc.GEN_AI_REQUEST_MODEL: "gpt-test",
        sc.GEN_AI_PROVIDER_NAME: chat.attributes[sc.GEN_AI_PROVIDER_NAME],
        TEMPLATE: "tracking-answerer-v1",
        EVIDENCE: "fastship@v17",
    }
    assert event.severity_number.name == "INFO"
    assert event.body is None
    assert event.timestamp and event.timestamp >= chat.end_time  # when the judge recorded it


def _in_another_request(stream) -> None:
    with genai_otel.product_context(template_id="request-B"):
        for _ in stream:
            pass


def _after_the_context(stream) -> None:
    for _ in stream:
        pass


def _abandoned(stream) -> None:
    next(stream)  # then dropped unclosed: ended on the abandoned-streams thread, as it is collected


@pytest.mark.parametrize("consume", [_in_another_request, _after_the_context, _abandoned])
def test_a_stream_is_judged_under_the_product_attributes_it_was_made_under(
    evaluations, openai_client, consume
) -> None:
    with genai_otel.product_context(template_id="request-A", evidence_version="ev-A"):
        stream = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    consume(stream)
    del stream
    gc.collect()
    (chat,) = evaluations.spans()
    genai_otel.record_evaluation(
        "groundedness", score=0.5, response_id=chat.attributes[sc.GEN_AI_RESPONSE_ID]
    )
    (event,) = _events(evaluations)
    assert event.span_id == chat.context.span_id
    assert (event.attributes[TEMPLATE], event.attributes[EVIDENCE]) == ("request-A", "ev-A")
    (point,) = evaluations.metric_points(sc.METRIC_EVALUATION_SCORE)
    assert point.attributes[TEMPLATE] == "request-A"


def test_metrics_by_name_label_template_evidence_and_model(evaluations, openai_client) -> None:
    with genai_otel.product_context(template_id="t1", evidence_version="ev1", customer_tier="gold"):
        completion = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    genai_otel.record_evaluation("groundedness", score=0.9, label="pass", response_id=completion.id)
    genai_otel.record_evaluation("groundedness", score=0.5, label="fail", response_id=completion.id)
    genai_otel.record_evaluation("groundedness", error=TimeoutError("judge timed out"))
    scores = evaluations.metric_points(sc.METRIC_EVALUATION_SCORE)
    assert {(p.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL], p.sum, p.count) for p in scores} == {
        ("pass", 0.9, 1),
        ("fail", 0.5, 1),
    }
    for point in scores:
        assert dict(point.attributes) == {
            sc.GEN_AI_EVALUATION_NAME: "groundedness",
            sc.GEN_AI_EVALUATION_SCORE_LABEL: point.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL],
            sc.GEN_AI_REQUEST_MODEL: "gpt-test",
            TEMPLATE: "t1",
            EVIDENCE: "ev1",
        }
        # The histogram has the documented boundaries, and an exemplar pointing at the judged call.
        assert tuple(point.explicit_bounds) == sc.EVALUATION_SCORE_BUCKETS
    results = {
        (p.attributes.get(sc.GEN_AI_EVALUATION_SCORE_LABEL), p.attributes.get(sc.ERROR_TYPE)): p.value
        for p in evaluations.metric_points(sc.METRIC_EVALUATION_RESULTS)
    }
    assert results == {("pass", None): 1, ("fail", None): 1, (None, "TimeoutError"): 1}
    metric = evaluations.metric(sc.METRIC_EVALUATION_SCORE)
    assert metric.unit == sc.UNIT_SCORE
    assert evaluations.metric(sc.METRIC_EVALUATION_RESULTS).unit == sc.UNIT_RESULTS


def test_exemplar_of_the_score_points_at_the_judged_call(evaluations, openai_client) -> None:
    completion = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    genai_otel.record_evaluation("groundedness", score=0.1, response_id=completion.id)
    (chat,) = evaluations.spans()
    (point,) = evaluations.metric_points(sc.METRIC_EVALUATION_SCORE)
    assert point.exemplars and point.exemplars[0].trace_id == chat.context.trace_id


def test_without_a_known_response_the_event_takes_the_current_context(evaluations) -> None:
    tracer = evaluations.tracer_provider.get_tracer("test")
    with (
        genai_otel.product_context(template_id="t-online"),
        tracer.start_as_current_span("judge request") as span,
    ):
        genai_otel.record_evaluation("helpfulness", score=4.0, response_id="chatcmpl-from-another-process")
    (event,) = _events(evaluations)
    assert event.span_id == span.get_span_context().span_id
    assert event.attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-from-another-process"
    assert event.attributes[TEMPLATE] == "t-online"
    assert sc.GEN_AI_REQUEST_MODEL not in event.attributes


def test_evaluator_error_is_an_error_type_not_a_score(evaluations) -> None:
    class JudgeUnavailable(Exception):
        pass

    genai_otel.record_evaluation("groundedness", error=JudgeUnavailable("503"))
    genai_otel.record_evaluation("groundedness", error="timeout")
    genai_otel.record_evaluation("groundedness", error=ValueError)
    events = _events(evaluations)
    assert [e.attributes[sc.ERROR_TYPE] for e in events] == [
        f"{__name__}.test_evaluator_error_is_an_error_type_not_a_score.<locals>.JudgeUnavailable",
        "timeout",
        "ValueError",
    ]
    assert all(sc.GEN_AI_EVALUATION_SCORE_VALUE not in e.attributes for e in events)
    assert evaluations.metric_points(sc.METRIC_EVALUATION_SCORE) == []


# --- content: opt-in, through the redaction gate ------------------------------------------------------
HOSTILE_EXPLANATION = f"The answer quotes {PLANTED_EMAIL} and card {PLANTED_CARD}; it invents an ETA."


def test_explanation_is_not_exported_with_capture_off(evaluations) -> None:
    genai_otel.record_evaluation("groundedness", score=0.0, explanation=HOSTILE_EXPLANATION)
    (event,) = _events(evaluations)
    assert sc.GEN_AI_EVALUATION_EXPLANATION not in event.attributes
    text = evaluations.exported_text()
    assert "invents an ETA" not in text and PLANTED_EMAIL not in text and PLANTED_CARD not in text


@pytest.mark.parametrize("mode", ["SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT", "true"])
def test_explanation_with_capture_on_is_redacted(evaluations, mode) -> None:
    _configure(evaluations, capture_message_content=mode)
    genai_otel.record_evaluation("groundedness", score=0.0, explanation=HOSTILE_EXPLANATION)
    (event,) = _events(evaluations)
    explanation = event.attributes[sc.GEN_AI_EVALUATION_EXPLANATION]
    assert "invents an ETA" in explanation
    assert PLANTED_EMAIL not in explanation and PLANTED_CARD not in explanation
    assert event.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert event.attributes[sc.GENAI_OTEL_REDACTION_POLICY] == "default"
    assert PLANTED_EMAIL not in evaluations.exported_text()


def test_explanation_is_dropped_when_the_redactor_fails(evaluations) -> None:
    def broken(text: str) -> str:
        raise RuntimeError(f"redactor down while reading {text}")

    _configure(evaluations, capture_message_content="SPAN_AND_EVENT", redactor=broken)
    genai_otel.record_evaluation("groundedness", score=0.0, explanation=HOSTILE_EXPLANATION)
    (event,) = _events(evaluations)
    assert sc.GEN_AI_EVALUATION_EXPLANATION not in event.attributes
    assert event.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    assert event.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON]
    assert "invents an ETA" not in evaluations.exported_text()


def test_a_misconfigured_redactor_is_warned_about_once_not_again_per_explanation(evaluations, caplog) -> None:
    from genai_otel import _failsafe

    _failsafe._warned_settings.clear()
    _failsafe._reported_sites.clear()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        _configure(evaluations, capture_message_content="SPAN_AND_EVENT", redact_patterns={"ORDER": "("})
        genai_otel.record_evaluation("groundedness", score=0.0, explanation=HOSTILE_EXPLANATION)
    (event,) = _events(evaluations)
    assert event.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_misconfigured"
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    assert warning.startswith("genai-otel: configure_product(redact_patterns=")


def test_explanation_is_capped_like_other_content(evaluations) -> None:
    _configure(evaluations, capture_message_content="SPAN_AND_EVENT", content_max_length=20)
    genai_otel.record_evaluation("groundedness", score=1.0, explanation="x" * 500)
    (event,) = _events(evaluations)
    assert event.attributes[sc.GEN_AI_EVALUATION_EXPLANATION].startswith("x" * 20 + "…[truncated 480")


# --- bad input: one warning, the result dropped, nothing raised -----------------------------------------
@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"name": "g", "score": math.nan}, "not a finite number"),
        ({"name": "g", "score": math.inf}, "not a finite number"),
        ({"name": "g", "score": -math.inf}, "not a finite number"),
        ({"name": "g", "score": "0.9"}, "must be a number"),
        ({"name": "g", "score": True}, "must be a number"),
        ({"name": "", "score": 1.0}, "name must be"),
        ({"name": None, "score": 1.0}, "name must be"),
        ({"name": "g" * 1000, "score": 1.0}, "name must be"),
        ({"name": "g", "label": 3}, "label must be"),
        ({"name": "g", "score": 1.0, "explanation": object()}, "explanation must be a string"),
        ({"name": "g", "score": 1.0, "response_id": 42}, "response_id must be"),
        ({"name": "g", "error": 404}, "error must be"),
        ({"name": "g", "score": 0.5, "error": "timeout"}, "has no score"),
        ({"name": "g"}, "give a score, a label or an error"),
    ],
)
def test_bad_argument_is_one_warning_and_the_result_is_dropped(
    evaluations, caplog, arguments, complaint
) -> None:
    name = arguments.pop("name")
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        assert genai_otel.record_evaluation(name, **arguments) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and complaint in warnings[0], warnings
    assert _events(evaluations) == []
    assert evaluations.metric_points(sc.METRIC_EVALUATION_RESULTS) == []


def test_a_judge_that_is_wrong_every_time_does_not_flood_the_log(evaluations, caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="genai_otel"):
        for _ in range(50):
            genai_otel.record_evaluation("g", score=math.nan)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == _record._WARNINGS_PER_MINUTE
    assert "more this minute at DEBUG" in warnings[-1].getMessage()
    assert (
        len([r for r in caplog.records if r.levelno == logging.DEBUG and "dropped" in r.getMessage()]) == 30
    )
    # A minute later the budget is back.
    for window in _record._warned.values():
        window[0] -= 60
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        genai_otel.record_evaluation("g", score=math.nan)
    assert len(caplog.records) == 1


def test_an_internal_fault_is_reported_never_raised(evaluations, monkeypatch, caplog) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("our bug")

    monkeypatch.setattr(_record, "_emit", explode)
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        genai_otel.record_evaluation("g", score=1.0)
    assert any("internal error in record_evaluation" in r.getMessage() for r in caplog.records)


def test_numbers_of_other_types_are_scores(evaluations) -> None:
    from decimal import Decimal
    from fractions import Fraction

    genai_otel.record_evaluation("g", score=3)
    genai_otel.record_evaluation("g", score=Fraction(1, 4))
    genai_otel.record_evaluation("g", score=Decimal("0.5"))
    assert [e.attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE] for e in _events(evaluations)] == [3.0, 0.25, 0.5]


# --- cardinality bounds and configuration -------------------------------------------------------------
def test_metric_attributes_share_the_product_cardinality_bound(evaluations, caplog) -> None:
    _configure(evaluations, max_distinct_values=3)
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        for number in range(6):
            with genai_otel.product_context(template_id=f"t{number}"):
                genai_otel.record_evaluation(f"judge-{number}", score=1.0)
    points = evaluations.metric_points(sc.METRIC_EVALUATION_RESULTS)
    assert {p.attributes[TEMPLATE] for p in points} == {"t0", "t1", "t2", "_OTHER"}
    assert {p.attributes[sc.GEN_AI_EVALUATION_NAME] for p in points} == {
        "judge-0",
        "judge-1",
        "judge-2",
        "_OTHER",
    }
    # The event keeps the real values.
    assert [e.attributes[TEMPLATE] for e in _events(evaluations)] == [f"t{n}" for n in range(6)]


def test_score_buckets_are_configurable(evaluations, monkeypatch) -> None:
    _configure(evaluations, evaluation_score_buckets=(1, 2, 3, 4, 5))
    genai_otel.record_evaluation("helpfulness", score=4.0)
    (point,) = evaluations.metric_points(sc.METRIC_EVALUATION_SCORE)
    assert tuple(point.explicit_bounds) == (1, 2, 3, 4, 5)


def test_score_buckets_from_the_environment_and_a_bad_value(monkeypatch, caplog) -> None:
    from genai_otel import _failsafe

    _failsafe._warned_settings.clear()
    assert _record._read_buckets("1, 2.5,5", "X") == (1.0, 2.5, 5.0)
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        assert _record._read_buckets("1,0.5", "GENAI_OTEL_EVALUATION_SCORE_BUCKETS") == (
            sc.EVALUATION_SCORE_BUCKETS
        )
        assert _record._read_buckets("a,b", "Y") == sc.EVALUATION_SCORE_BUCKETS
    assert "GENAI_OTEL_EVALUATION_SCORE_BUCKETS" in caplog.text and "strictly increasing" in caplog.text


def test_the_sdk_log_exporter_of_either_name_gets_the_event(openai_client) -> None:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    exporter = _in_memory_log_exporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    configure_product(logger_provider=provider)
    try:
        genai_otel.record_evaluation("groundedness", label="pass")
    finally:
        configure_product()
    (item,) = exporter.get_finished_logs()
    assert item.log_record.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "pass"


# --- the recent-calls map ---------------------------------------------------------------------------------
def test_recent_calls_map_is_bounded_and_forgets_the_oldest(monkeypatch) -> None:
    monkeypatch.setattr(_recent_calls, "_capacity", 3)
    monkeypatch.setattr(_recent_calls, "_recent", type(_recent_calls._recent)())
    span = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    for number in range(5):
        _recent_calls.remember(f"resp-{number}", span, "m", "p", None, None)
    assert list(_recent_calls._recent) == ["resp-2", "resp-3", "resp-4"]
    assert _recent_calls.lookup("resp-0") is None
    assert _recent_calls.lookup("resp-4")[1:3] == ("m", "p")


def test_calls_without_a_response_id_cost_one_lookup_and_keep_nothing(monkeypatch) -> None:
    monkeypatch.setattr(_recent_calls, "_recent", type(_recent_calls._recent)())
    _recent_calls.remember(None, None, "m", "p", None, None)  # the span is not even touched
    assert not _recent_calls._recent


def test_the_map_holds_no_spans(evaluations, openai_client) -> None:
    import gc
    import weakref

    completion = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    (span,) = evaluations.spans()
    call = _recent_calls.lookup(completion.id)
    assert call is not None and call[0] == span.context
    evaluations.exporter.clear()
    reference = weakref.ref(span)
    del span
    gc.collect()
    assert reference() is None


@pytest.mark.parametrize(("value", "capacity", "warned"), [("2", 2, False), ("zero", 1024, True)])
def test_recent_calls_capacity_from_the_environment(value, capacity, warned) -> None:
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "from genai_otel import _recent_calls; print(_recent_calls._capacity)"],
        env={**os.environ, _recent_calls.CAPACITY_ENV: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(capacity)
    assert (f"{_recent_calls.CAPACITY_ENV}='zero' is not an integer" in done.stderr) is warned


def test_a_call_without_a_trace_still_gives_its_model_and_the_event_the_current_context(evaluations) -> None:
    _recent_calls.remember(
        "resp-untraced", trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT), "m-1", "p-1", None, None
    )
    tracer = evaluations.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("judge") as span:
        genai_otel.record_evaluation("g", score=1.0, response_id="resp-untraced")
    (event,) = _events(evaluations)
    assert event.span_id == span.get_span_context().span_id
    assert event.attributes[sc.GEN_AI_REQUEST_MODEL] == "m-1"


def test_a_rejected_name_is_not_copied_into_the_log(evaluations, caplog) -> None:
    """Text given as a name by mistake (an explanation, say) must not reach a log record."""
    name = "The answer quoted jane.roe@example.org " * 20
    with caplog.at_level(logging.DEBUG, logger="genai_otel"):
        genai_otel.record_evaluation(name, score=0.5)
    assert _events(evaluations) == []
    assert caplog.records
    assert all("jane.roe" not in r.getMessage() for r in caplog.records)
