"""``record_evaluation``: one evaluation result as the semconv ``gen_ai.evaluation.result`` event (Logs API)
and two metrics, in the trace of the call it judges."""

from __future__ import annotations

import itertools
import logging
import math
import numbers
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import NonRecordingSpan

from genai_otel import semconv as sc
from genai_otel._failsafe import report_internal_error, warn_setting_once
from genai_otel._recent_calls import RecentCall, lookup
from genai_otel.product import KNOWN_ATTRIBUTES, _get_telemetry, _Telemetry, span_attributes
from genai_otel.redaction import RedactionFailed
from genai_otel.version import __version__

BUCKETS_ENV = "GENAI_OTEL_EVALUATION_SCORE_BUCKETS"
_logger = logging.getLogger("genai_otel")

# A judge that returns a bad value does so on every call: each dropped result is one warning, up to this
# many a minute per kind of problem; the rest of that minute's go to DEBUG.
_WARNINGS_PER_MINUTE = 20
_warned: dict[str, list[float]] = {}  # problem -> [start of its current minute, warnings in it]
_warned_lock = threading.Lock()


def _drop(problem: str, message: str) -> None:
    now = time.monotonic()
    with _warned_lock:
        window = _warned.get(problem)
        if window is None or now - window[0] >= 60:
            window = _warned[problem] = [now, 0]
        window[1] += 1
        count = window[1]
    if count <= _WARNINGS_PER_MINUTE:
        suffix = " (more this minute at DEBUG)" if count == _WARNINGS_PER_MINUTE else ""
        _logger.warning("genai-otel: evaluation result dropped: %s%s", message, suffix)
    else:
        _logger.debug("genai-otel: evaluation result dropped: %s", message)


def _read_buckets(value: Any, source: str) -> tuple[float, ...]:
    default = sc.EVALUATION_SCORE_BUCKETS
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        items = value.split(",") if isinstance(value, str) else list(value)
        buckets = tuple(float(item) for item in items)
        if not buckets or any(not math.isfinite(b) for b in buckets):
            raise ValueError("empty or not finite")
        if any(later <= earlier for earlier, later in itertools.pairwise(buckets)):
            raise ValueError("not strictly increasing")
    except Exception as exc:  # a setting never raises: OverflowError, a hostile __float__ too
        shown_value = (
            repr(value)[:60] if isinstance(value, (str, int, float)) else f"<{type(value).__name__}>"
        )
        warn_setting_once(
            source,
            f"{source}={shown_value} is not a strictly increasing list of numbers ({type(exc).__name__}), e.g. "
            "'0.25,0.5,0.75,1'; using the default score buckets",
        )
        return default
    return buckets


class _Instruments:
    """Logger and instruments, built from the product settings in force (rebuilt by configure_product)."""

    def __init__(self, telemetry: _Telemetry) -> None:
        settings = telemetry.settings
        self.telemetry = telemetry
        if settings.evaluation_score_buckets is not None:
            buckets = _read_buckets(settings.evaluation_score_buckets, "evaluation_score_buckets")
        else:
            buckets = _read_buckets(os.environ.get(BUCKETS_ENV), BUCKETS_ENV)
        self.logger = _logs.get_logger(
            "genai_otel.evaluation", __version__, settings.logger_provider, schema_url=sc.SCHEMA_URL
        )
        meter = metrics.get_meter(
            "genai_otel.evaluation", __version__, settings.meter_provider, schema_url=sc.SCHEMA_URL
        )
        self.score = meter.create_histogram(
            sc.METRIC_EVALUATION_SCORE,
            unit=sc.UNIT_SCORE,
            description="Scores of evaluation results, by evaluation name, label, template, evidence "
            "version and model.",
            explicit_bucket_boundaries_advisory=list(buckets),
        )
        self.results = meter.create_counter(
            sc.METRIC_EVALUATION_RESULTS,
            unit=sc.UNIT_RESULTS,
            description="Evaluation results, by evaluation name and label; evaluator failures by error.type.",
        )
        prefix = telemetry.name
        # Product attributes that also go on the metrics (bounded like the product metrics).
        self.metric_product_keys = (
            prefix(KNOWN_ATTRIBUTES["template_id"]),
            prefix(KNOWN_ATTRIBUTES["evidence_version"]),
            prefix(sc.PRODUCT_EVALUATION_RUN),
        )


_instruments: _Instruments | None = None
_instruments_lock = threading.Lock()


def _get_instruments() -> _Instruments:
    global _instruments
    telemetry = _get_telemetry()
    instruments = _instruments
    if instruments is None or instruments.telemetry is not telemetry:
        with _instruments_lock:
            if _instruments is None or _instruments.telemetry is not telemetry:
                _instruments = _Instruments(telemetry)
            instruments = _instruments
    return instruments


# --- validation ---------------------------------------------------------------------------------------
def _error_name(error: Any) -> str | None:
    if isinstance(error, BaseException):
        error = type(error)
    if isinstance(error, type) and issubclass(error, BaseException):
        return _class_error_type(error)
    if isinstance(error, str) and error.strip():
        return error.strip()
    return None


def _class_error_type(cls: type) -> str:
    """As on LLM spans: the qualified name, under the package's public path when it has one."""
    module, qualname = cls.__module__, cls.__qualname__
    if module == "builtins":
        return qualname
    root = module.split(".", 1)[0]
    package = sys.modules.get(root)
    return f"{root}.{qualname}" if getattr(package, qualname, None) is cls else f"{module}.{qualname}"


def as_number(value: Any) -> float | None:
    """A real number as a float (int, float, Fraction, Decimal, numpy scalars), else None; bools are not."""
    if isinstance(value, (bool, complex)) or not isinstance(value, numbers.Number):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _shape(value: Any) -> str:
    """What a rejected value is, without its text: its type, and its length for strings."""
    return f"a str of {len(value)} characters" if isinstance(value, str) else f"a {type(value).__name__}"


def _text(value: Any, limit: int) -> str | None:
    return value if isinstance(value, str) and value.strip() and len(value) <= limit else None


def record_evaluation(
    name: str,
    *,
    score: float | None = None,
    label: str | None = None,
    explanation: str | None = None,
    response_id: str | None = None,
    error: BaseException | type[BaseException] | str | None = None,
) -> None:
    """Record one evaluation result: the semconv ``gen_ai.evaluation.result`` event and two metrics.

    ``name``: what was evaluated for (``gen_ai.evaluation.name``, e.g. ``"groundedness"``); ``score``: a
    finite number on the evaluator's scale; ``label``: its verdict (``"pass"``/``"fail"``, ...);
    ``explanation``: the evaluator's reasoning, which is content: recorded only when content capture is
    on, through the redaction gate; ``response_id``: the ``gen_ai.response.id`` of the judged call, which
    puts the event in that call's trace when this process made it recently; ``error``: the evaluator
    failed (an exception, its class, or an ``error.type`` string), recorded instead of a score.

    Never raises; a bad argument is one warning and the result is dropped."""
    try:
        _record(name, score, label, explanation, response_id, error, None)
    except Exception:
        report_internal_error("record_evaluation")


def _record(
    name: Any,
    score: Any,
    label: Any,
    explanation: Any,
    response_id: Any,
    error: Any,
    call: RecentCall | None,
) -> bool:
    """Validate and record; ``call`` is the judged call when the caller already knows it (a run's case).
    Returns whether the result was recorded."""
    instruments = _get_instruments()
    telemetry = instruments.telemetry
    limit = telemetry.settings.max_value_length
    if _text(name, limit) is None:
        # The bad value itself is not logged: it may be text that was meant for the (opt-in) explanation.
        _drop("name", f"name must be a non-empty string of at most {limit} characters, not {_shape(name)}")
        return False
    value: float | None = None
    if score is not None:
        value = as_number(score)
        if value is None:
            _drop("score-type", f"{name}: score must be a number, not a {type(score).__name__}")
            return False
        if not math.isfinite(value):
            _drop("score-finite", f"{name}: score {value} is not a finite number")
            return False
    if label is not None and _text(label, limit) is None:
        _drop("label", f"{name}: label must be a non-empty string of at most {limit} characters")
        return False
    if explanation is not None and not isinstance(explanation, str):
        _drop("explanation", f"{name}: explanation must be a string, not a {type(explanation).__name__}")
        return False
    if response_id is not None and _text(response_id, limit) is None:
        _drop("response_id", f"{name}: response_id must be a non-empty string (gen_ai.response.id)")
        return False
    error_type: str | None = None
    if error is not None:
        error_type = _error_name(error)
        if error_type is None:
            _drop("error", f"{name}: error must be an exception, an exception class or a non-empty string")
            return False
        if value is not None:
            _drop("error-and-score", f"{name}: a failed evaluation has no score; give score or error")
            return False
    elif value is None and label is None:
        _drop("empty", f"{name}: give a score, a label or an error")
        return False

    if call is None and response_id is not None:
        call = lookup(response_id)
    if call is not None:
        span_context, model, provider, product = call
        # A call traced by a no-op tracer has no trace to join: then the current one.
        if getattr(span_context, "is_valid", False):
            context = trace.set_span_in_context(NonRecordingSpan(span_context))
        else:
            context = otel_context.get_current()
    else:
        model = provider = None
        product = span_attributes()
        context = otel_context.get_current()

    attributes: dict[str, Any] = dict(product) if product else {}
    attributes[sc.GEN_AI_EVALUATION_NAME] = name
    if value is not None:
        attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE] = value
    if label is not None:
        attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] = label
    if response_id is not None:
        attributes[sc.GEN_AI_RESPONSE_ID] = response_id
    if error_type is not None:
        attributes[sc.ERROR_TYPE] = error_type
    if model is not None:
        attributes[sc.GEN_AI_REQUEST_MODEL] = model
    if provider is not None:
        attributes[sc.GEN_AI_PROVIDER_NAME] = provider
    if explanation is not None:
        attributes.update(_explanation(telemetry, explanation))
    _emit(instruments, attributes, context)
    _record_metrics(instruments, name, value, label, error_type, model, product, context)
    return True


def _explanation(telemetry: _Telemetry, explanation: str) -> dict[str, Any]:
    """The redacted explanation when content capture is on; nothing at all when it is off."""
    recorder = telemetry.content
    if not recorder.capturing:
        return {}
    status: dict[str, Any] = {
        sc.GENAI_OTEL_REDACTION_POLICY: recorder.policy.name,
        sc.GENAI_OTEL_REDACTION_POLICY_VERSION: recorder.policy.version,
    }
    try:
        key = sc.GEN_AI_EVALUATION_EXPLANATION
        cleaned = recorder.redacted({key: explanation})[key]  # the whole gate, the user's redactor included
    except RedactionFailed as failure:
        if failure.reason != sc.DROPPED_REDACTION_MISCONFIGURED:  # a bad setting is named in its warning
            report_internal_error(f"redaction ({failure.reason}); evaluation explanation dropped")
        status[sc.GENAI_OTEL_CONTENT_CAPTURED] = False
        status[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] = failure.reason
        return status
    except Exception:  # fail closed: no explanation rather than an unredacted one
        report_internal_error("redacting an evaluation explanation")
        status[sc.GENAI_OTEL_CONTENT_CAPTURED] = False
        status[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] = sc.DROPPED_INTERNAL_ERROR
        return status
    status[sc.GENAI_OTEL_CONTENT_CAPTURED] = True
    status[sc.GEN_AI_EVALUATION_EXPLANATION] = cleaned
    return status


def _emit(instruments: _Instruments, attributes: dict[str, Any], context: Any) -> None:
    logger = instruments.logger
    enabled = getattr(logger, "enabled", None)
    if enabled is not None and not enabled(event_name=sc.EVENT_EVALUATION_RESULT):
        return
    logger.emit(
        timestamp=time.time_ns(),  # when the result was recorded (the judged call may be long over)
        event_name=sc.EVENT_EVALUATION_RESULT,
        attributes=attributes,
        context=context,
        severity_number=_logs.SeverityNumber.INFO,
    )


def _record_metrics(
    instruments: _Instruments,
    name: str,
    value: float | None,
    label: str | None,
    error_type: str | None,
    model: str | None,
    product: Mapping[str, Any] | None,
    context: Any,
) -> None:
    bounded = instruments.telemetry.bounded
    labels: dict[str, Any] = {sc.GEN_AI_EVALUATION_NAME: bounded(sc.GEN_AI_EVALUATION_NAME, name)}
    if label is not None:
        labels[sc.GEN_AI_EVALUATION_SCORE_LABEL] = bounded(sc.GEN_AI_EVALUATION_SCORE_LABEL, label)
    if model is not None:
        labels[sc.GEN_AI_REQUEST_MODEL] = bounded(sc.GEN_AI_REQUEST_MODEL, model)
    if product:
        for key in instruments.metric_product_keys:
            product_value = product.get(key)
            if product_value is not None:
                labels[key] = bounded(key, str(product_value))
    if error_type is not None:
        labels[sc.ERROR_TYPE] = bounded(sc.ERROR_TYPE, error_type)
    if value is not None:
        instruments.score.record(value, labels, context=context)
    instruments.results.add(1, labels, context=context)
