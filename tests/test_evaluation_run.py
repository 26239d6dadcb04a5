"""genai_otel.evaluation.run and compare in process, and ``genai-otel eval`` as a subprocess with a real cases
file against the loopback server."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import genai_otel
from genai_otel import semconv as sc
from genai_otel.evaluation import EvaluationSummary, Score, ScorerSummary, compare
from genai_otel.evaluation import _record as evaluation_record
from genai_otel.product import configure_product
from tests import evaluation_app

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    {"id": "P-201", "input": "When does P-201 arrive?", "expected": "within two days"},
    {"id": "P-202", "input": "When does P-202 arrive?", "expected": "within two days"},
    {"id": "P-203", "input": "Where is P-203?", "expected": "left the depot"},
    {"id": "P-204", "input": "Is P-204 late?", "expected": "arrive within two days"},
]
RUN = "app.evaluation.run"
RUN_ID = "app.evaluation.run_id"
CASE = "app.evaluation.case"


@pytest.fixture
def app(instrument_openai, llm_server, monkeypatch):
    evaluation_record._warned.clear()
    monkeypatch.setenv("EVAL_APP_BASE_URL", llm_server.openai_base_url)
    telemetry = instrument_openai()
    configure_product(**telemetry.providers())
    yield telemetry
    configure_product()


def _events(telemetry):
    return [r for r in telemetry.logs() if r.event_name == sc.EVENT_EVALUATION_RESULT]


def test_run_scores_records_and_summarises(app) -> None:
    summary = genai_otel.evaluation.run(
        CASES,
        evaluation_app.answer,
        [evaluation_app.mentions_expected, evaluation_app.word_share],
        name="nightly",
    )
    assert summary.cases == 4 and summary.target_errors == 0 and summary.failures == []
    assert summary.scorers["mentions_expected"] == ScorerSummary(count=4, mean=1.0, pass_rate=1.0, errors=0)
    assert summary.scorers["word_share"].mean == 1.0
    events = _events(app)
    assert len(events) == 8
    assert {e.attributes[sc.GEN_AI_EVALUATION_NAME] for e in events} == {"mentions_expected", "word_share"}
    # Each case is its own trace, marked as an evaluation run; its results are in the trace of its LLM call,
    # carrying the template the application set inside the target.
    spans = app.spans()
    case_spans = {s.attributes[CASE]: s for s in spans if s.name == "evaluation nightly"}
    assert set(case_spans) == {"P-201", "P-202", "P-203", "P-204"}
    chats = [s for s in spans if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "chat"]
    assert len(chats) == 4
    for chat in chats:
        case_span = case_spans[chat.attributes[CASE]]
        assert chat.context.trace_id == case_span.context.trace_id
        assert chat.attributes[RUN] == "nightly" and chat.attributes[RUN_ID] == summary.run_id
        assert chat.attributes["app.prompt.template_id"] == evaluation_app.TEMPLATE
        linked = [e for e in events if e.span_id == chat.context.span_id]
        assert len(linked) == 2
        for event in linked:
            assert event.trace_id == chat.context.trace_id
            assert event.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-test"
            assert event.attributes[CASE] == chat.attributes[CASE]
            assert event.attributes["app.prompt.template_id"] == evaluation_app.TEMPLATE
    # Metrics carry the run's name (not its id or case: those are per run and per case).
    for point in app.metric_points(sc.METRIC_EVALUATION_RESULTS):
        assert point.attributes[RUN] == "nightly"
        assert point.attributes["app.prompt.template_id"] == evaluation_app.TEMPLATE
        assert RUN_ID not in point.attributes and CASE not in point.attributes


def test_a_scorer_that_raises_is_an_evaluator_error_not_a_zero(app) -> None:
    summary = genai_otel.evaluation.run(
        CASES, evaluation_app.answer, [evaluation_app.mentions_expected, evaluation_app.judge_down], name="n"
    )
    assert summary.scorers["judge_down"] == ScorerSummary(count=0, mean=None, pass_rate=None, errors=4)
    assert summary.scorers["mentions_expected"].mean == 1.0
    assert {f["error_type"] for f in summary.failures} == {"TimeoutError"}
    errors = [e for e in _events(app) if e.attributes[sc.GEN_AI_EVALUATION_NAME] == "judge_down"]
    assert len(errors) == 4
    assert all(e.attributes[sc.ERROR_TYPE] == "TimeoutError" for e in errors)
    assert all(sc.GEN_AI_EVALUATION_SCORE_VALUE not in e.attributes for e in errors)
    scored = {p.attributes[sc.GEN_AI_EVALUATION_NAME] for p in app.metric_points(sc.METRIC_EVALUATION_SCORE)}
    assert scored == {"mentions_expected"}


@pytest.mark.parametrize(
    "returned",
    [None, "0.9", float("nan"), Score(), Score(value="high"), Score(1.0, label=1), {"grade": "A"}, {}],
)
def test_a_scorer_returning_no_score_is_an_evaluator_error(app, returned) -> None:
    def odd(case, output):
        return returned

    summary = genai_otel.evaluation.run(CASES[:1], evaluation_app.answer, [odd], name="n")
    assert summary.scorers["odd"].errors == 1 and summary.scorers["odd"].count == 0
    assert summary.failures[0]["error_type"] == "invalid_score"


def test_a_failing_target_fails_the_case_and_its_secret_is_scrubbed(app) -> None:
    summary = genai_otel.evaluation.run(
        CASES, evaluation_app.answer_down, [evaluation_app.mentions_expected], name="n"
    )
    assert summary.target_errors == 4
    assert summary.scorers["mentions_expected"].count == 0
    assert {f["stage"] for f in summary.failures} == {"target"}
    assert all("sk-proj-A1b2" not in f["message"] for f in summary.failures)
    assert _events(app) == []
    case_spans = [s for s in app.spans() if s.name == "evaluation n"]
    assert all(s.attributes[sc.ERROR_TYPE] == "ConnectionError" for s in case_spans)


def test_failure_messages_in_the_summary_pass_the_whole_gate(app) -> None:
    """An error message is content: the summary (written to files and CI logs) gets it redacted."""

    def forget_name(text: str) -> str:
        return text.replace("Jane Roe", "[NAME]")

    configure_product(**app.providers(), redactor=forget_name)

    def target(question: str) -> str:
        raise RuntimeError(f"no parcel for Jane Roe <jane.roe@example.org> asking {question!r}")

    def scorer(case: object, output: object) -> float:
        raise ValueError("judge saw card 4532015112830366")

    summary = genai_otel.evaluation.run(CASES[:1], target, [scorer], name="n")
    (failure,) = summary.failures
    assert "Jane Roe" not in failure["message"] and "jane.roe@example.org" not in failure["message"]
    assert "[NAME]" in failure["message"]
    summary = genai_otel.evaluation.run(CASES[:1], evaluation_app.answer, [scorer], name="n")
    (failure,) = summary.failures
    assert failure["stage"] == "scorer" and "4532015112830366" not in failure["message"]


def test_a_scorer_may_return_a_mapping(app) -> None:
    def graded(case, output):
        return {"score": 0.5, "label": "fail", "explanation": "half"}

    summary = genai_otel.evaluation.run(CASES[:2], evaluation_app.answer, [graded], name="n")
    assert summary.scorers["graded"] == ScorerSummary(count=2, mean=0.5, pass_rate=0.0, errors=0)


def test_async_target_and_scorer_and_mapping_of_scorers(app) -> None:
    async def target(question):
        await asyncio.sleep(0)
        return evaluation_app.answer(question)

    async def grounded(case, output):
        return case["expected"] in output

    summary = genai_otel.evaluation.run(CASES, target, {"grounded": grounded}, name="n", concurrency=2)
    assert summary.scorers["grounded"].pass_rate == 1.0


def test_progress_is_reported_per_case(app) -> None:
    seen = []
    genai_otel.evaluation.run(
        CASES,
        evaluation_app.answer,
        [evaluation_app.mentions_expected],
        name="n",
        concurrency=1,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"concurrency": 0}, ValueError),
        ({"concurrency": "4"}, ValueError),
        ({"name": ""}, ValueError),
        ({"scorers": []}, ValueError),
        ({"scorers": [42]}, TypeError),
    ],
)
def test_bad_run_arguments_are_clear_errors(arguments, error) -> None:
    call = {
        "cases": CASES,
        "target": evaluation_app.answer,
        "scorers": [evaluation_app.mentions_expected],
        "name": "n",
        **arguments,
    }
    with pytest.raises(error):
        genai_otel.evaluation.run(call.pop("cases"), call.pop("target"), call.pop("scorers"), **call)


# --- the gate ------------------------------------------------------------------------------------------
def _summary(cases=10, **scorers):
    return EvaluationSummary(
        name="x", run_id="r", cases=cases, scorers={k: ScorerSummary(**v) for k, v in scorers.items()}
    )


def test_compare_promotes_within_the_allowed_drop_and_blocks_beyond_it() -> None:
    baseline = _summary(g={"count": 10, "mean": 0.90, "pass_rate": 0.9})
    assert compare(baseline, _summary(g={"count": 10, "mean": 0.86, "pass_rate": 0.9}), 0.05) == []
    assert compare(baseline, _summary(g={"count": 10, "mean": 0.85, "pass_rate": 0.9}), 0.05) == []
    (reason,) = compare(baseline, _summary(g={"count": 10, "mean": 0.80, "pass_rate": 0.9}), 0.05)
    assert reason.startswith("g: mean score 0.800 vs baseline 0.900, drop 0.100")
    (reason,) = compare(baseline, _summary(g={"count": 10, "mean": 0.9, "pass_rate": 0.7}), 0.05)
    assert "pass rate" in reason
    # Fewer cases scored (target or judge failures) is not "the same quality".
    (reason,) = compare(baseline, _summary(g={"count": 5, "mean": 0.9, "pass_rate": 0.9, "errors": 5}), 0.05)
    assert "scored 50.0% of cases" in reason
    (reason,) = compare(baseline, _summary(h={"count": 10, "mean": 1.0}), 0.05)
    assert reason.startswith("g: no results in the candidate")
    # A better candidate and a new scorer promote.
    better = _summary(g={"count": 10, "mean": 1.0, "pass_rate": 1.0}, h={"count": 1, "mean": 0.0})
    assert compare(baseline, better, 0.0) == []


def test_summary_round_trips_through_json() -> None:
    summary = _summary(g={"count": 3, "mean": 0.5, "pass_rate": None, "errors": 1})
    again = EvaluationSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert again.scorers == summary.scorers and again.cases == 10
    for bad in ({}, {"scorers": []}, {"scorers": {"g": {"mean": "high"}}}, [1], *WRONG_TYPED_SUMMARIES):
        with pytest.raises(ValueError):
            EvaluationSummary.from_dict(bad)


# JSON summaries whose fields have the wrong types: each is a ValueError, never a TypeError or OverflowError.
WRONG_TYPED_SUMMARIES = [
    {"scorers": {"g": {"count": [1]}}, "cases": 2},
    {"scorers": {"g": {"count": float("inf")}}},
    {"scorers": {"g": {"errors": {"n": 1}}}},
    {"scorers": {}, "failures": 5},
    {"scorers": {}, "cases": [1]},
    {"scorers": {}, "target_errors": "many"},
]


# --- the command line, as a subprocess --------------------------------------------------------------
def _cli(
    tmp_path: Path,
    llm_server,
    *arguments: str,
    instrument: bool = False,
    stdin: str | None = None,
    **env: str,
):
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OTEL_"))},
        "EVAL_APP_BASE_URL": llm_server.openai_base_url,
        **env,
    }
    command = [str(Path(sys.executable).with_name("genai-otel")), "eval", *arguments]
    if instrument:
        command = [str(Path(sys.executable).with_name("opentelemetry-instrument")), *command]
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, input=stdin
    )


@pytest.fixture
def cases_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(case) for case in CASES) + "\n\n")
    return path


def _run_arguments(cases_file: Path, target: str, *extra: str) -> list[str]:
    return [
        "--cases", str(cases_file),
        "--target", f"tests.evaluation_app:{target}",
        "--scorer", "tests.evaluation_app:mentions_expected",
        "--scorer", "tests.evaluation_app:word_share",
        "--name", "ci",
        *extra,
    ]  # fmt: skip


def test_cli_writes_the_summary_and_gates_a_regression(tmp_path, llm_server, cases_file) -> None:
    baseline = tmp_path / "baseline.json"
    done = _cli(tmp_path, llm_server, *_run_arguments(cases_file, "answer", "--output", str(baseline)))
    assert done.returncode == 0, done.stderr
    written = json.loads(baseline.read_text())
    assert written["format"] == "genai-otel.evaluation.summary/1"
    assert written["scorers"]["mentions_expected"] == {"count": 4, "mean": 1.0, "pass_rate": 1.0, "errors": 0}
    assert "mentions_expected" in done.stdout and "BLOCKED" not in done.stdout
    # Not a terminal: plain progress lines, no carriage returns.
    assert "ci: 4/4 cases done" in done.stderr and "\r" not in done.stderr

    same = _cli(
        tmp_path,
        llm_server,
        *_run_arguments(cases_file, "answer", "--output", str(tmp_path / "same.json")),
        "--baseline", str(baseline), "--max-drop", "0.05",
    )  # fmt: skip
    assert same.returncode == 0, same.stderr
    assert "PROMOTE" in same.stdout and "BLOCKED" not in same.stdout

    regressed = _cli(
        tmp_path,
        llm_server,
        *_run_arguments(cases_file, "answer_terse", "--output", str(tmp_path / "candidate.json")),
        "--baseline", str(baseline), "--max-drop", "0.05",
    )  # fmt: skip
    assert regressed.returncode == 1, regressed.stderr
    assert "PROMOTE" not in regressed.stdout
    assert "BLOCKED: mentions_expected: mean score 0.000 vs baseline 1.000, drop 1.000 > max 0.05" in (
        regressed.stdout
    )


def test_cli_summary_on_stdout_when_no_output_is_given(tmp_path, llm_server, cases_file) -> None:
    done = _cli(tmp_path, llm_server, *_run_arguments(cases_file, "answer"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cases"] == 4
    assert "mentions_expected" in done.stderr


def test_cli_run_exports_events_in_the_calls_traces(tmp_path, llm_server, cases_file) -> None:
    """Under opentelemetry-instrument, as a cron job would run it: the events reach the exporter."""
    done = _cli(
        tmp_path,
        llm_server,
        *_run_arguments(cases_file, "answer", "--output", str(tmp_path / "s.json")),
        instrument=True,
        OTEL_TRACES_EXPORTER="console",
        OTEL_LOGS_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
        OTEL_SERVICE_NAME="eval-cli-test",
    )
    assert done.returncode == 0, done.stderr
    objects = _json_objects(done.stdout)
    events = [o for o in objects if o.get("event_name") == sc.EVENT_EVALUATION_RESULT]
    chats = [o for o in objects if o.get("attributes", {}).get(sc.GEN_AI_OPERATION_NAME) == "chat"]
    assert len(events) == 8 and len(chats) == 4
    chat_spans = {(c["context"]["trace_id"], c["context"]["span_id"]) for c in chats}
    assert {(e["trace_id"], e["span_id"]) for e in events} == chat_spans


def _json_objects(text: str) -> list[dict]:
    objects, depth, buffer = [], 0, ""
    for line in text.splitlines():
        if depth == 0 and not line.startswith("{"):
            continue  # the run's report, between the exporters' objects
        if depth == 0:
            buffer = ""
        depth += line.count("{") - line.count("}")
        buffer += line + "\n"
        if depth == 0 and buffer.strip():
            objects.append(json.loads(buffer))
            buffer = ""
    return objects


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            {"--target": "tests.evaluation_app:nowhere"},
            "--target 'tests.evaluation_app:nowhere' cannot be loaded",
        ),
        ({"--target": "no_such_module_xyz:f"}, "cannot be loaded: ModuleNotFoundError"),
        ({"--target": "tests.evaluation_app"}, "is not MODULE:FUNCTION"),
        ({"--target": "tests.evaluation_app:TEMPLATE"}, "is not callable"),
        ({"--cases": "/nonexistent/cases.jsonl"}, "cannot be read"),
        ({"--baseline": "/nonexistent/base.json"}, "--baseline '/nonexistent/base.json' cannot be read"),
        ({"--output": "/nonexistent/dir/s.json"}, "--output '/nonexistent/dir/s.json' cannot be written"),
    ],
)
def test_cli_unusable_arguments_exit_2_with_one_clear_line(
    tmp_path, llm_server, cases_file, change, complaint
) -> None:
    arguments = dict(
        zip(
            *[iter(_run_arguments(cases_file, "answer", "--output", str(tmp_path / "s.json")))] * 2,
            strict=True,
        )
    )
    arguments.pop("--scorer")
    arguments.update(change)
    flat = [item for pair in arguments.items() for item in pair]
    done = _cli(tmp_path, llm_server, *flat, "--scorer", "tests.evaluation_app:mentions_expected")
    assert done.returncode == 2, done.stdout + done.stderr
    assert complaint in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("summary", WRONG_TYPED_SUMMARIES)
def test_cli_baseline_with_wrong_typed_fields_exits_2_naming_it(
    tmp_path, llm_server, cases_file, summary
) -> None:
    """A corrupt baseline is a run that could not start (2), not a blocked promotion (1)."""
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(summary))  # Infinity included: Python's json writes and reads it
    done = _cli(tmp_path, llm_server, *_run_arguments(cases_file, "answer", "--baseline", str(baseline)))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"--baseline {baseline}: not a summary written by genai-otel eval" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_names_scorers_as_run_does(tmp_path, llm_server, cases_file) -> None:
    """docs/quality.md: a scorer's evaluation_name, else its function's name (an alias keeps the
    function's); a callable with neither, such as a functools.partial, is named after the colon."""
    done = _cli(
        tmp_path,
        llm_server,
        "--cases", str(cases_file), "--target", "tests.evaluation_app:answer",
        "--scorer", "tests.evaluation_app:alias_of_mentions",
        "--scorer", "tests.evaluation_app:named_judge",
        "--scorer", "tests.evaluation_app:partial_share",
        "--name", "n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)["scorers"]) == {"mentions_expected", "groundedness", "partial_share"}


def test_cli_reads_cases_from_standard_input_and_takes_class_methods(tmp_path, llm_server) -> None:
    """docs/quality.md: ``--cases -`` reads standard input; a scorer may be ``module:Class.method``."""
    done = _cli(
        tmp_path,
        llm_server,
        "--cases", "-", "--target", "tests.evaluation_app:answer",
        "--scorer", "tests.evaluation_app:Grader.mentions", "--name", "n",
        stdin="\n".join(json.dumps(case) for case in CASES) + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["cases"] == len(CASES) and set(summary["scorers"]) == {"mentions"}


def test_cli_cases_file_without_a_case_exits_2(tmp_path, llm_server) -> None:
    cases = tmp_path / "empty.jsonl"
    cases.write_text("\n\n")
    done = _cli(
        tmp_path,
        llm_server,
        "--cases", str(cases), "--target", "tests.evaluation_app:answer",
        "--scorer", "tests.evaluation_app:mentions_expected", "--name", "n",
    )  # fmt: skip
    assert done.returncode == 2 and "no cases" in done.stderr and "Traceback" not in done.stderr


def test_cli_bad_cases_line_is_named(tmp_path, llm_server) -> None:
    cases = tmp_path / "bad.jsonl"
    cases.write_text('{"input": "ok"}\n{"input": \n')
    done = _cli(
        tmp_path,
        llm_server,
        "--cases", str(cases), "--target", "tests.evaluation_app:answer",
        "--scorer", "tests.evaluation_app:mentions_expected", "--name", "n",
    )  # fmt: skip
    assert done.returncode == 2 and "line 2 is not JSON" in done.stderr


def test_cli_cases_that_are_not_utf8_exit_2_without_a_traceback(tmp_path, llm_server) -> None:
    """docs/quality.md: an unreadable cases file exits 2 with one line naming the argument."""
    cases = tmp_path / "latin1.jsonl"
    cases.write_bytes(b'{"input": "caf\xe9"}\n')
    done = _cli(
        tmp_path,
        llm_server,
        "--cases", str(cases), "--target", "tests.evaluation_app:answer",
        "--scorer", "tests.evaluation_app:mentions_expected", "--name", "n",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "--cases" in done.stderr and "not UTF-8" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_progress_bar_on_a_terminal(tmp_path, llm_server, cases_file) -> None:
    import pty

    controller, terminal = pty.openpty()
    environment = {**os.environ, "EVAL_APP_BASE_URL": llm_server.openai_base_url}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("genai-otel")),
            "eval",
            *_run_arguments(cases_file, "answer", "--output", str(tmp_path / "s.json")),
        ],
        cwd=ROOT,
        env={k: v for k, v in environment.items() if not k.startswith("OTEL_")},
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=120) == 0
    os.close(controller)
    text = output.decode()
    assert "\rci [" in text and "] 4/4" in text


def test_a_judges_own_llm_calls_are_not_taken_for_the_judged_call(app) -> None:
    def llm_judge(case, output):
        verdict = evaluation_app._ask(f"Is this grounded? {output}")  # an LLM call while scoring
        return Score(1.0 if verdict else 0.0, "pass")

    genai_otel.evaluation.run(CASES[:1], evaluation_app.answer, [llm_judge], name="n")
    chats = [s for s in app.spans() if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "chat"]
    answer_call = next(s for s in chats if "app.prompt.template_id" in s.attributes)
    (event,) = _events(app)
    assert len(chats) == 2
    assert event.span_id == answer_call.context.span_id


def test_a_stream_the_target_leaves_unclosed_is_still_the_judged_call(app, openai_client) -> None:
    def first_chunk(question: str) -> str:
        with genai_otel.product_context(template_id=evaluation_app.TEMPLATE):
            stream = openai_client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": question}], stream=True
            )
            text = next(stream).choices[0].delta.content or ""
        del stream  # dropped unclosed: the abandoned-streams thread ends it, outside the case's context
        gc.collect()
        return text

    def scored(case, output):
        return 1.0

    genai_otel.evaluation.run(CASES[:1], first_chunk, [scored], name="n")
    (chat,) = [s for s in app.spans() if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "chat"]
    assert chat.attributes[sc.GENAI_OTEL_OUTCOME] == sc.OUTCOME_ABANDONED
    (event,) = _events(app)
    assert event.span_id == chat.context.span_id
    assert event.attributes[CASE] == "P-201"
    assert event.attributes["app.prompt.template_id"] == evaluation_app.TEMPLATE


def test_a_target_without_llm_calls_records_in_the_case_span(app) -> None:
    summary = genai_otel.evaluation.run(
        CASES[:1], lambda question: "arrive within two days", [evaluation_app.mentions_expected], name="n"
    )
    assert summary.scorers["mentions_expected"].mean == 1.0
    (case_span,) = [s for s in app.spans() if s.name == "evaluation n"]
    (event,) = _events(app)
    assert event.span_id == case_span.context.span_id
    assert event.attributes[CASE] == "P-201" and sc.GEN_AI_REQUEST_MODEL not in event.attributes


def test_cli_a_baseline_that_is_not_a_summary_is_named(tmp_path, llm_server, cases_file) -> None:
    baseline = tmp_path / "not-a-summary.json"
    baseline.write_text('{"mean": 1.0}')
    done = _cli(tmp_path, llm_server, *_run_arguments(cases_file, "answer"), "--baseline", str(baseline))
    assert done.returncode == 2
    assert "not a summary written by genai-otel eval" in done.stderr and "Traceback" not in done.stderr
