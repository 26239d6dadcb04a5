"""``genai-otel eval``: an evaluation run from cron, a Kubernetes CronJob or CI, and the promotion gate.

    genai-otel eval --cases cases.jsonl --target myapp.answer:answer --scorer myapp.quality:grounded \\
        --name nightly --output candidate.json --baseline main.json --max-drop 0.05

Exit status: 0 when the run completed (and, with ``--baseline``, PROMOTE), 1 for BLOCKED, 2 when the run
could not start (unreadable cases or baseline, a target or scorer that cannot be imported).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, TextIO

EXIT_BLOCKED = 1
EXIT_UNUSABLE = 2


class _Unusable(Exception):
    """The run cannot start: the message says which argument and why."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="run cases through the application and score them; gate a candidate against a baseline",
        description=(
            "Run each case of a JSON Lines file through the application's target, score the output with "
            "each scorer, record every result as a gen_ai.evaluation.result event and metrics, and write "
            "the summary as JSON. With --baseline, print PROMOTE or BLOCKED and exit 1 when blocked."
        ),
        epilog=(
            "Telemetry goes to the process's OpenTelemetry providers: run under opentelemetry-instrument "
            "(OTEL_* environment variables) to export it. The current directory is importable."
        ),
    )
    parser.add_argument("--cases", required=True, help="JSON Lines file, one case per line ('-': stdin)")
    parser.add_argument("--target", required=True, metavar="MODULE:FUNCTION", help="the application's entry")
    parser.add_argument(
        "--scorer",
        required=True,
        action="append",
        metavar="MODULE:FUNCTION",
        help="a scorer, scorer(case, output); repeat for several",
    )
    parser.add_argument("--name", required=True, help="name of the run, e.g. nightly or pr-1234")
    parser.add_argument("--concurrency", type=_positive_int, default=4, help="cases in parallel (default 4)")
    parser.add_argument(
        "--output", default="-", help="where to write the summary JSON (default '-': standard output)"
    )
    parser.add_argument("--baseline", help="a summary JSON of the version in production, to gate against")
    parser.add_argument(
        "--max-drop",
        type=_non_negative_float,
        default=0.05,
        help="largest drop of a scorer's mean or pass rate that still promotes (absolute; default 0.05)",
    )
    parser.set_defaults(func=main)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative number")
    return value


def load_callable(spec: str, what: str) -> Any:
    """``package.module:function`` (or ``:Class.method``), importable from the current directory."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise _Unusable(f"{what} {spec!r} is not MODULE:FUNCTION, e.g. myapp.quality:grounded")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except Exception as exc:
        raise _Unusable(f"{what} {spec!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    if not callable(found):
        raise _Unusable(f"{what} {spec!r} is not callable")
    return found


def load_cases(path: str) -> list[Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _Unusable(f"--cases {path!r} cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _Unusable(f"--cases {path!r} is not UTF-8 text (byte {exc.start})") from exc
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(json.loads(line))
        except ValueError as exc:
            raise _Unusable(f"--cases {path}: line {number} is not JSON ({exc})") from exc
    if not cases:
        raise _Unusable(f"--cases {path}: no cases (one JSON object per line)")
    return cases


def load_baseline(path: str) -> Any:
    from genai_otel.evaluation._run import EvaluationSummary

    try:
        return EvaluationSummary.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except OSError as exc:
        raise _Unusable(f"--baseline {path!r} cannot be read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise _Unusable(f"--baseline {path}: not a summary written by genai-otel eval ({exc})") from exc


class _Progress:
    """A bar redrawn in place on a terminal; a few plain lines anywhere else (CI logs, cron mail)."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.tty = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            width = 30
            filled = width * done // total
            self.stream.write(f"\r{self.name} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done == total:
                self.stream.write("\n")
            self.stream.flush()
        elif done == total or done % max(1, total // 10) == 0:
            self.stream.write(f"{self.name}: {done}/{total} cases done\n")
            self.stream.flush()


def _report(summary: Any, out: TextIO) -> None:
    out.write(
        f"run {summary.name} ({summary.run_id}): {summary.cases} cases, {summary.target_errors} failed\n"
    )
    out.write(f"{'scorer':24} {'scored':>7} {'mean':>7} {'pass':>7} {'errors':>7}\n")
    for scorer, result in summary.scorers.items():
        mean = "-" if result.mean is None else f"{result.mean:.3f}"
        passed = "-" if result.pass_rate is None else f"{result.pass_rate:.1%}"
        out.write(f"{scorer:24} {result.count:>7} {mean:>7} {passed:>7} {result.errors:>7}\n")
    for failure in summary.failures[:10]:
        where = failure["stage"] if failure["scorer"] is None else f"scorer {failure['scorer']}"
        out.write(f"  case {failure['case']}: {where} failed: {failure['error_type']}\n")
    if len(summary.failures) > 10:
        out.write(f"  ... and {len(summary.failures) - 10} more failures (see the summary JSON)\n")


def _flush_telemetry() -> None:
    """A cron job's process ends right after the run: push out what the providers still hold."""
    from opentelemetry import _logs, metrics, trace

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider()):
        flush = getattr(provider, "force_flush", None)
        if flush is not None:
            with contextlib.suppress(Exception):
                flush()


def main(arguments: argparse.Namespace) -> int:
    from genai_otel.evaluation._run import compare, run

    try:
        cases = load_cases(arguments.cases)
        target = load_callable(arguments.target, "--target")
        scorers = {}
        for spec in arguments.scorer:
            scorer = load_callable(spec, "--scorer")
            # As run() names it (evaluation_name, else the function's name); a callable with neither,
            # such as a functools.partial, by the name after the colon.
            scorer_name = str(
                getattr(scorer, "evaluation_name", None)
                or getattr(scorer, "__name__", None)
                or spec.rpartition(":")[2].split(".")[-1]
            )
            if scorer_name in scorers:
                raise _Unusable(f"--scorer {spec!r}: a scorer named {scorer_name!r} is given twice")
            scorers[scorer_name] = scorer
        baseline = load_baseline(arguments.baseline) if arguments.baseline else None
    except _Unusable as problem:
        print(f"genai-otel eval: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE

    summary = run(
        cases,
        target,
        scorers,
        name=arguments.name,
        concurrency=arguments.concurrency,
        progress=_Progress(sys.stderr, arguments.name),
    )
    _flush_telemetry()
    document = json.dumps(summary.to_dict(), indent=2, sort_keys=True)
    # Standard output carries the JSON when no file is given; the human-readable report then goes to stderr.
    if arguments.output == "-":
        sys.stdout.write(document + "\n")
        human = sys.stderr
    else:
        try:
            Path(arguments.output).write_text(document + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"genai-otel eval: --output {arguments.output!r} cannot be written: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
        human = sys.stdout
    _report(summary, human)
    if baseline is None:
        return 0
    reasons = compare(baseline, summary, arguments.max_drop)
    if reasons:
        for reason in reasons:
            human.write(f"BLOCKED: {reason}\n")
        human.flush()
        return EXIT_BLOCKED
    human.write(
        f"PROMOTE: no scorer dropped by more than {arguments.max_drop:g} against {arguments.baseline}\n"
    )
    human.flush()
    return 0
