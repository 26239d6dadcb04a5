"""Scheduled evaluation runs: cases through the application's own target, scored, recorded, summarised;
and the promotion gate that compares a candidate's summary with a baseline's."""

from __future__ import annotations

import contextvars
import inspect
import math
import numbers
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from opentelemetry.trace import Status, StatusCode

from genai_otel import semconv as sc
from genai_otel._exceptions import GatedException
from genai_otel._failsafe import report_internal_error
from genai_otel._recent_calls import case_calls
from genai_otel.evaluation._record import _class_error_type, _record, as_number
from genai_otel.product import _get_telemetry, product_context

SUMMARY_FORMAT = "genai-otel.evaluation.summary/1"
PASS_LABEL = "pass"
# error.type of a scorer that returned something that is not a score (None, a string, NaN).
INVALID_SCORE = "invalid_score"


@dataclass(frozen=True)
class Score:
    """What a scorer may return: a value, a label, or both, and optionally an explanation (content)."""

    value: float | None = None
    label: str | None = None
    explanation: str | None = None


class InvalidScore(Exception):
    pass


@dataclass
class ScorerSummary:
    count: int = 0  # cases this scorer scored (a value or a label)
    mean: float | None = None  # mean of the values
    pass_rate: float | None = None  # share of labelled results labelled "pass"
    errors: int = 0  # the scorer raised or returned no score: evaluator errors, not zeros


@dataclass
class EvaluationSummary:
    name: str
    run_id: str
    cases: int = 0
    target_errors: int = 0
    scorers: dict[str, ScorerSummary] = field(default_factory=dict)
    # One entry per failure: {"case", "stage" ("target" or "scorer"), "scorer", "error_type", "message"}.
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"format": SUMMARY_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationSummary:
        """A summary as written by ``to_dict`` (the CLI's JSON); ValueError if it is not one."""
        if not isinstance(data, Mapping) or not isinstance(data.get("scorers"), Mapping):
            raise ValueError("not an evaluation summary (no 'scorers' object)")
        scorers = {}
        for scorer, values in data["scorers"].items():
            if not isinstance(values, Mapping):
                raise ValueError(f"scorer {scorer!r}: not an object")
            scorers[str(scorer)] = ScorerSummary(
                count=_whole(values.get("count"), f"scorer {scorer!r} count"),
                mean=_number_or_none(values.get("mean"), f"scorer {scorer!r} mean"),
                pass_rate=_number_or_none(values.get("pass_rate"), f"scorer {scorer!r} pass_rate"),
                errors=_whole(values.get("errors"), f"scorer {scorer!r} errors"),
            )
        failures = data.get("failures") or []
        if not isinstance(failures, list):
            raise ValueError(f"failures is not a list: {type(failures).__name__}")
        return cls(
            name=str(data.get("name", "")),
            run_id=str(data.get("run_id", "")),
            cases=_whole(data.get("cases"), "cases"),
            target_errors=_whole(data.get("target_errors"), "target_errors"),
            scorers=scorers,
            failures=list(failures),
        )


def _whole(value: Any, what: str) -> int:
    """A count as the summary holds it (absent or null: 0); ValueError for anything int() cannot take."""
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{what} is not a whole number: {type(value).__name__}") from exc


def _number_or_none(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{what} is not a number: {value!r}")
    return float(value)


# --- running ------------------------------------------------------------------------------------------
def _scorer_name(scorer: Any) -> str:
    return str(
        getattr(scorer, "evaluation_name", None) or getattr(scorer, "__name__", None) or type(scorer).__name__
    )


def _named_scorers(scorers: Any) -> list[tuple[str, Callable[..., Any]]]:
    if isinstance(scorers, Mapping):
        named = [(str(name), scorer) for name, scorer in scorers.items()]
    elif callable(scorers):
        named = [(_scorer_name(scorers), scorers)]
    else:
        named = [(_scorer_name(scorer), scorer) for scorer in scorers]
    if not named:
        raise ValueError("run() needs at least one scorer")
    for name, scorer in named:
        if not callable(scorer):
            raise TypeError(f"scorer {name!r} is not callable")
    if len({name for name, _ in named}) != len(named):
        raise ValueError(f"scorer names must be distinct: {[name for name, _ in named]}")
    return named


def _call(function: Callable[..., Any], *args: Any) -> Any:
    result = function(*args)
    if inspect.isawaitable(result):
        import asyncio  # only for async targets and scorers: importing genai_otel stays light

        return asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _as_score(result: Any) -> Score:
    if isinstance(result, Score):
        score = result
    elif isinstance(result, bool):
        score = Score(1.0 if result else 0.0, PASS_LABEL if result else "fail")
    elif isinstance(result, Mapping):
        unknown = set(result) - {"score", "value", "label", "explanation"}
        if unknown:
            raise InvalidScore(f"a scorer returned a mapping with unknown keys {sorted(unknown)}")
        score = Score(
            result.get("score", result.get("value")), result.get("label"), result.get("explanation")
        )
    elif as_number(result) is not None:
        score = Score(as_number(result))
    else:
        raise InvalidScore(f"a scorer returned a {type(result).__name__}, not a number, bool or Score")
    if score.value is not None:
        value = as_number(score.value)
        if value is None:
            raise InvalidScore(f"score value is a {type(score.value).__name__}")
        if not math.isfinite(value):
            raise InvalidScore(f"score value {value} is not finite")
        score = Score(value, score.label, score.explanation)
    elif score.label is None:
        raise InvalidScore("a Score with neither value nor label")
    if score.label is not None and not isinstance(score.label, str):
        raise InvalidScore(f"score label is a {type(score.label).__name__}")
    if score.explanation is not None and not isinstance(score.explanation, str):
        raise InvalidScore(f"score explanation is a {type(score.explanation).__name__}")
    return score


def _case_id(case: Any, index: int) -> str:
    if isinstance(case, Mapping) and case.get("id") is not None:
        return str(case["id"])
    return str(index)


def _case_input(case: Any) -> Any:
    return case["input"] if isinstance(case, Mapping) and "input" in case else case


def _message(exc: BaseException) -> str:
    """The failure's message for the summary, through the same gate as exceptions on spans (the process's
    redaction policy, its custom redactor included); the exception type where the gate cannot run."""
    try:
        return GatedException(exc, _get_telemetry().content.policy).message[:300]
    except Exception:
        return type(exc).__name__


def _safe_record(*arguments: Any) -> None:
    try:
        _record(*arguments)
    except Exception:
        report_internal_error("recording an evaluation result")


@dataclass
class _CaseResult:
    case: str
    target_error: dict[str, Any] | None = None
    # scorer name -> Score, or the failure dict of an evaluator error
    scores: dict[str, Score | dict[str, Any]] = field(default_factory=dict)


def _run_case(
    index: int,
    case: Any,
    target: Callable[..., Any],
    scorers: list[tuple[str, Callable[..., Any]]],
    name: str,
    run_id: str,
) -> _CaseResult:
    case_id = _case_id(case, index)
    result = _CaseResult(case_id)
    calls: list[Any] = []
    marks = {
        sc.PRODUCT_EVALUATION_RUN: name,
        sc.PRODUCT_EVALUATION_RUN_ID: run_id,
        sc.PRODUCT_EVALUATION_CASE: case_id,
    }
    with product_context(f"evaluation {name}", **marks) as scope:
        token = case_calls.set(calls)
        try:
            output = _call(target, _case_input(case))
        except Exception as exc:
            error_type = _class_error_type(type(exc))
            result.target_error = {
                "case": case_id,
                "stage": "target",
                "scorer": None,
                "error_type": error_type,
                "message": _message(exc),
            }
            if scope.span is not None and scope.span.is_recording():
                scope.span.set_attribute(sc.ERROR_TYPE, error_type)
                scope.span.set_status(Status(StatusCode.ERROR, error_type))
            return result
        finally:
            case_calls.reset(token)  # an LLM judge's own calls are not the judged call
        # The judged call is the last one the target made (its final answer).
        response_id, call = calls[-1] if calls else (None, None)
        for scorer_name, scorer in scorers:
            try:
                score = _as_score(_call(scorer, case, output))
            except Exception as exc:
                error_type = INVALID_SCORE if isinstance(exc, InvalidScore) else _class_error_type(type(exc))
                result.scores[scorer_name] = {
                    "case": case_id,
                    "stage": "scorer",
                    "scorer": scorer_name,
                    "error_type": error_type,
                    "message": _message(exc),
                }
                _safe_record(scorer_name, None, None, None, response_id, error_type, call)
                continue
            result.scores[scorer_name] = score
            _safe_record(scorer_name, score.value, score.label, score.explanation, response_id, None, call)
    return result


def run(
    cases: Iterable[Any],
    target: Callable[..., Any],
    scorers: Sequence[Callable[..., Any]] | Mapping[str, Callable[..., Any]] | Callable[..., Any],
    *,
    name: str,
    concurrency: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationSummary:
    """Run every case through ``target``, score the output with each scorer, record every result with
    :func:`~genai_otel.record_evaluation`, and return the summary.

    A case is usually a mapping: its ``"input"`` is passed to ``target`` (the case itself when it has none)
    and its ``"id"`` names it. Each scorer is called as ``scorer(case, output)`` and returns a number, a bool
    (pass/fail) or a :class:`Score`; its evaluation name is its ``evaluation_name`` attribute, its
    ``__name__``, or the key when ``scorers`` is a mapping. ``target`` and scorers may be coroutine
    functions. Each case runs inside a product context named ``evaluation {name}`` with
    ``app.evaluation.run``, ``app.evaluation.run_id`` and ``app.evaluation.case``, so its LLM and tool spans
    are marked; the results land in the trace of the last LLM call the target made. A target that raises
    fails the case (not scored); a scorer that raises is recorded as an evaluator error, not a zero.
    ``progress(done, total)`` is called after each case."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive integer, not {concurrency!r}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("run() needs a non-empty name, e.g. name='nightly'")
    if not callable(target):
        raise TypeError("target is not callable")
    named = _named_scorers(scorers)
    items = list(cases)
    summary = EvaluationSummary(name=name, run_id=uuid.uuid4().hex, cases=len(items))
    results: list[_CaseResult] = []
    done = 0

    def one(index: int, case: Any) -> _CaseResult:
        return _run_case(index, case, target, named, name, summary.run_id)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="genai-otel-eval") as pool:
        # Each case runs in a copy of the caller's context (its current span becomes the cases' parent).
        futures = [
            pool.submit(contextvars.copy_context().run, one, index, case) for index, case in enumerate(items)
        ]
        for future in futures:
            results.append(future.result())
            done += 1
            if progress is not None:
                try:
                    progress(done, len(items))
                except Exception:
                    report_internal_error("evaluation progress callback")
    _summarise(summary, named, results)
    return summary


def _summarise(summary: EvaluationSummary, named: list[tuple[str, Any]], results: list[_CaseResult]) -> None:
    for result in results:
        if result.target_error is not None:
            summary.target_errors += 1
            summary.failures.append(result.target_error)
    for scorer_name, _ in named:
        values: list[float] = []
        labels: list[str] = []
        scorer = ScorerSummary()
        for result in results:
            score = result.scores.get(scorer_name)
            if score is None:
                continue
            if isinstance(score, dict):
                scorer.errors += 1
                summary.failures.append(score)
                continue
            scorer.count += 1
            if score.value is not None:
                values.append(float(score.value))
            if score.label is not None:
                labels.append(score.label)
        scorer.mean = sum(values) / len(values) if values else None
        scorer.pass_rate = sum(label == PASS_LABEL for label in labels) / len(labels) if labels else None
        summary.scorers[scorer_name] = scorer


# --- the promotion gate -------------------------------------------------------------------------------
def compare(baseline: EvaluationSummary, candidate: EvaluationSummary, max_drop: float) -> list[str]:
    """Why the candidate is worse than the baseline (empty: it is not): for each scorer of the baseline,
    a mean or pass rate lower by more than ``max_drop`` (absolute, on the scorer's scale), a share of cases
    scored lower by more than ``max_drop`` (more target or evaluator failures), or no scores at all."""
    reasons: list[str] = []
    tolerance = max_drop + 1e-9
    for scorer_name, before in baseline.scorers.items():
        after = candidate.scorers.get(scorer_name)
        if after is None or after.count == 0:
            reasons.append(f"{scorer_name}: no results in the candidate (baseline had {before.count})")
            continue
        for what, old, new in (
            ("mean score", before.mean, after.mean),
            ("pass rate", before.pass_rate, after.pass_rate),
        ):
            if old is None:
                continue
            if new is None:
                reasons.append(f"{scorer_name}: no {what} in the candidate (baseline {old:.3f})")
            elif old - new > tolerance:
                reasons.append(
                    f"{scorer_name}: {what} {new:.3f} vs baseline {old:.3f}, "
                    f"drop {old - new:.3f} > max {max_drop:g}"
                )
        old_coverage = before.count / baseline.cases if baseline.cases else 0.0
        new_coverage = after.count / candidate.cases if candidate.cases else 0.0
        if old_coverage - new_coverage > tolerance:
            reasons.append(
                f"{scorer_name}: scored {new_coverage:.1%} of cases vs baseline {old_coverage:.1%} "
                f"(target or evaluator failures), drop {old_coverage - new_coverage:.3f} > max {max_drop:g}"
            )
    return reasons
