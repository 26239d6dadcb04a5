"""A pytest plugin that writes each test's outcome, by node id, for ``run.py`` (loaded in both its runs).

One JSON file per process (``$GENAI_OTEL_CLIENT_SUITE_OUTCOMES.<pid>.json``): under pytest-xdist the
controller sees every worker's reports, and a worker its own; ``run.py`` merges them, the worse outcome
of a test winning (a test that passed and then errored in teardown did not pass).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

OUTCOMES_ENV = "GENAI_OTEL_CLIENT_SUITE_OUTCOMES"
RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}

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
    if path and _outcomes:
        Path(f"{path}.{os.getpid()}.json").write_text(json.dumps(_outcomes))
