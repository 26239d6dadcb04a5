"""A pytest plugin that writes each test's outcome, by node id, for ``run.py`` (loaded in both its runs).

One JSON file per process (``$GENAI_OTEL_CLIENT_SUITE_OUTCOMES.<pid>.json``): under pytest-xdist the
controller sees every worker's reports, and a worker its own; ``run.py`` merges them, the worse outcome
of a test winning (a test that passed and then errored in teardown did not pass).

The session's own process (the controller under pytest-xdist) also writes
``$GENAI_OTEL_CLIENT_SUITE_OUTCOMES-session.json``: the number of tests collected and pytest's exit status,
so that ``run.py`` can tell a session that ran every test from one that ended early (an INTERNALERROR in a
worker ends the whole xdist session, and the tests not yet run have no outcome anywhere).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

OUTCOMES_ENV = "GENAI_OTEL_CLIENT_SUITE_OUTCOMES"
RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
SESSION_SUFFIX = "-session.json"  # not matched by run.py's "<name>.*.json"

_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" or report.outcome != "passed":
        outcome = report.outcome
        if outcome == "failed" and report.when != "call":
            outcome = "error"
        if hasattr(report, "wasxfail"):
            outcome = "skipped"  # an expected failure, or an unexpected pass, is not a pass to compare
        if RANK[outcome] >= RANK[_outcomes.get(report.nodeid, "passed")]:
            _outcomes[report.nodeid] = outcome


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get(OUTCOMES_ENV)
    if not path:
        return
    if _outcomes:
        Path(f"{path}.{os.getpid()}.json").write_text(json.dumps(_outcomes))
    if not hasattr(session.config, "workerinput"):  # not a pytest-xdist worker
        session_summary = {"collected": session.testscollected, "exitstatus": int(exitstatus)}
        Path(f"{path}{SESSION_SUFFIX}").write_text(json.dumps(session_summary))
