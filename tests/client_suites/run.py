"""Run the OpenAI and Ollama clients' own test suites twice, without and with genai-otel, and compare.

    python tests/client_suites/run.py [--client openai] [--client ollama] [--workdir build/client-suites]

``make test-clients`` runs this in a venv of its own (``tests/client_suites/requirements.txt``). For each
client it takes the test suite from the client's source distribution on PyPI, at the installed version, and
runs it in that distribution's directory with the suite's own configuration:

1. as it is, which is the reference: whatever fails there (a test that needs the network, a mock server or a
   tool we do not install) is the suite's business, not ours;
2. with ``genai_otel_suite_instrument.py`` loaded, so that genai-otel instruments the client with every
   feature that reads a call turned on (see there).

It fails if a test that passed without genai-otel does not pass with it (those are run again, apart from
the rest, both ways, so that a flaky test is not taken for a regression), if genai-otel reported an
internal error during a test, or if a span that genai-otel started never ended. A run that did not run
every test it collected (pytest's exit status 2 or more: interrupted, INTERNALERROR, ...; or outcomes
missing) is run once more, and fails the check if it does so again; pytest's output of every run is kept
in ``<workdir>/<client>-runs/<run>.log``.

OpenAI's ``tests/api_resources`` are left out: every one of them talks to a Prism mock server built from the
OpenAPI spec, which is not published on PyPI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

# The plugins, beside this file (the directory of a script run is on sys.path), own their settings.
from genai_otel_suite_instrument import REPORT_ENV
from genai_otel_suite_outcomes import OUTCOMES_ENV, RANK, SESSION_SUFFIX

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# client -> pytest arguments, run in the extracted source distribution
SUITES: dict[str, list[str]] = {
    "openai": ["tests", "--ignore=tests/api_resources"],
    "ollama": ["tests"],
}
# pytest's exit statuses of a session that ran all it collected: ExitCode.OK and ExitCode.TESTS_FAILED.
COMPLETE = (0, 1)
_INTERNAL_ERROR = re.compile(r"INTERNALERROR>[\s>E]*(\w+(?:Error|Exception|Interrupt): .*)")
# Our settings and the peers' must not leak into either run from the caller's environment.
_SETTING_PREFIXES = ("GENAI_OTEL_", "OTEL_")


def _suite_directory(client: str, workdir: Path) -> Path:
    """The client's source distribution at the installed version, downloaded once and extracted."""
    installed = version(client)
    directory = workdir / f"{client}-{installed}"
    if (directory / "tests").is_dir():
        return directory
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"{client}=={installed}",
            "--dest",
            str(workdir),
        ],
        check=True,
    )
    archive = workdir / f"{client}-{installed}.tar.gz"
    with tarfile.open(archive) as sdist:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12, 3.11.4 and later
            sdist.extractall(workdir, filter="data")
        else:
            sdist.extractall(workdir)  # an sdist from PyPI, of a client this venv installed anyway
    return directory


def _environment(instrumented: bool, runs: Path, name: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_SETTING_PREFIXES)}
    env["PYTHONPATH"] = str(HERE)
    env[OUTCOMES_ENV] = str(runs / name)
    if instrumented:
        env[REPORT_ENV] = str(runs / f"{name}-spans")
    return env


class Run(NamedTuple):
    name: str
    outcomes: dict[str, str]  # by node id
    status: int  # pytest's exit status
    collected: int | None  # None: the session's summary is missing
    log: Path

    def incomplete(self) -> str | None:
        """Why this run did not run every test it collected; None when it did."""
        if self.status in COMPLETE and self.collected is not None and len(self.outcomes) >= self.collected:
            return None
        # The first exception named in an INTERNALERROR (a worker's, before the controller's AssertionError).
        error = next(
            (
                match.group(1)
                for line in self.log.read_text(errors="replace").splitlines()
                if (match := _INTERNAL_ERROR.match(line)) and not match.group(1).startswith("AssertionError")
            ),
            None,
        )
        return (
            f"the {self.name} run ended with pytest's exit status {self.status} after {len(self.outcomes)} "
            f"outcomes of {self.collected} tests collected"
            + (f" ({error})" if error else "")
            + f"; see {self.log}"
        )


def _pytest(directory: Path, arguments: list[str], instrumented: bool, runs: Path, name: str) -> Run:
    """Run pytest in ``directory``; each test's outcome by node id, and whether it ran them all."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "genai_otel_suite_outcomes",
    ]
    if instrumented:
        command += ["-p", "genai_otel_suite_instrument"]
    log = runs / f"{name}.log"
    with log.open("w") as output:
        completed = subprocess.run(
            [*command, *arguments],
            cwd=directory,
            env=_environment(instrumented, runs, name),
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    merged: dict[str, str] = {}
    for path in runs.glob(f"{name}.*.json"):
        for test, outcome in json.loads(path.read_text()).items():
            if RANK[outcome] >= RANK[merged.get(test, "passed")]:
                merged[test] = outcome
    session = runs / f"{name}{SESSION_SUFFIX}"
    collected = json.loads(session.read_text())["collected"] if session.exists() else None
    return Run(name, merged, completed.returncode, collected, log)


def _complete_pytest(
    client: str,
    directory: Path,
    arguments: list[str],
    instrumented: bool,
    runs: Path,
    name: str,
    problems: list[str],
) -> Run:
    """``_pytest``, once more if the first run ended early (such as an INTERNALERROR of pytest-xdist's
    controller, after a worker's own: its tests not yet run have no outcome). If the second one does too,
    it is said, not counted as a problem: an early end is pytest's (CPython 3.11.7's shared AST recursion
    counter, gh-106905, can end a session that formats a failure while a thread logs a traceback), and
    every test without an outcome with genai-otel is run again alone, both ways, below."""
    run = _pytest(directory, arguments, instrumented, runs, name)
    why = run.incomplete()
    if why:
        print(f"{client}: {why}; running it again", flush=True)
        run = _pytest(directory, arguments, instrumented, runs, f"{name}-2")
        why = run.incomplete()
        if why:
            print(f"{client}: NOTE {why}", flush=True)
    return run


def _spans_report(runs: Path, name: str) -> tuple[int, int, list[str]]:
    started = ended = 0
    unended: set[str] = set()
    for path in runs.glob(f"{name}-spans.*.json"):
        summary = json.loads(path.read_text())
        started += summary["started"]
        ended += summary["ended"]
        unended.update(summary["open"])
    return started, ended, sorted(unended)


def check(client: str, workdir: Path) -> list[str]:
    """Run one client's suite both ways; the problems found (none when genai-otel changed nothing)."""
    directory = _suite_directory(client, workdir)
    arguments = SUITES[client]
    runs = workdir / f"{client}-runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    problems: list[str] = []
    plain_run = _complete_pytest(client, directory, arguments, False, runs, "plain", problems)
    instrumented_run = _complete_pytest(client, directory, arguments, True, runs, "instrumented", problems)
    plain, instrumented = plain_run.outcomes, instrumented_run.outcomes
    passed = [test for test, outcome in plain.items() if outcome == "passed"]
    if not passed:
        problems.append(f"{client}: no test passed without genai-otel; the suite did not run")
    suspects = [test for test in passed if instrumented.get(test) != "passed"]
    if suspects:
        # Run again, without the others (and their order) and without pytest-xdist workers, both ways: a
        # regression fails with genai-otel and passes without it.
        again = [*suspects, "-n", "0"]
        with_it_run = _complete_pytest(client, directory, again, True, runs, "again", problems)
        without_it_run = _complete_pytest(client, directory, again, False, runs, "again-plain", problems)
        with_it, without_it = with_it_run.outcomes, without_it_run.outcomes
        for test in suspects:
            if with_it.get(test) != "passed" and without_it.get(test) == "passed":
                problems.append(
                    f"{client}: {test} passes without genai-otel, {with_it.get(test, 'not run')} with it"
                )
    started, ended, unended = _spans_report(runs, instrumented_run.name)
    if started == 0 and passed:
        problems.append(f"{client}: genai-otel started no span; the plugin did not instrument the client")
    if started != ended:
        problems.append(f"{client}: {started - ended} of {started} spans never ended ({', '.join(unended)})")
    counts = {outcome: list(instrumented.values()).count(outcome) for outcome in RANK}
    counts["not run"] = sum(test not in instrumented for test in plain)
    print(
        f"{client} {version(client)}: {len(passed)} tests pass without genai-otel; with it {counts}; "
        f"{started} spans started, {ended} ended; {len(problems)} problems",
        flush=True,
    )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", action="append", choices=sorted(SUITES))
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "client-suites")
    arguments = parser.parse_args()
    problems = []
    for client in arguments.client or sorted(SUITES):
        problems += check(client, arguments.workdir.resolve())
    for problem in problems:
        print(f"REGRESSION {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
