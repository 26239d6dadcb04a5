"""A promotion gate in front of a template change: the delivery-answer templates of delivery_incident.py run
through ``genai-otel eval`` against the same cases, and the regressed template is BLOCKED.

    python examples/quality_gate.py

Runs against the loopback server (no key, no internet). The strict template (in production) is measured
first and its summary becomes the baseline; then the same template again (PROMOTE), then the regressed
template as the candidate (BLOCKED, exit status 1). This module is also what the command imports: the
targets ``quality_gate:answer_strict`` and ``quality_gate:answer_regressed`` and the scorer
``quality_gate:claims_in_evidence``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import openai

from delivery_incident import (
    REGRESSED,
    STRICT,
    TRACKING,
    answer_question,
)
from genai_otel.evaluation import Score
from genai_otel.testing.fake_server import FakeLLMServer

HERE = Path(__file__).resolve().parent
SERVER_ENV = "QUALITY_GATE_OPENAI_BASE_URL"


# --- the application's entry, as the command calls it ---------------------------------------------------
def _answer(parcel_id: str, template: str) -> str:
    client = openai.OpenAI(base_url=os.environ[SERVER_ENV], api_key="no-key-needed", max_retries=0)
    try:
        verdict, drafted, evidence = answer_question(client, parcel_id, template)
    finally:
        client.close()
    if verdict.route == "abstain":
        return f"I can't promise a delivery date yet: the tracking record says '{evidence['status']}'."
    return drafted


def answer_strict(case_input: dict[str, Any]) -> str:
    return _answer(case_input["parcel_id"], STRICT)


def answer_regressed(case_input: dict[str, Any]) -> str:
    return _answer(case_input["parcel_id"], REGRESSED)


# --- the scorer: every claimed fact is in the evidence ------------------------------------------------
_ETA_CLAIM = re.compile(
    r"\b(arriv\w*|deliver\w*)\b[^.]*?\b(today|tomorrow|within \w+ days?|in \w+ days?|by \w+day)\b", re.I
)
_MOVEMENT_CLAIM = re.compile(r"\b(left the depot|on its way|out for delivery|in transit)\b", re.I)
_STATUS_QUOTE = re.compile(r"tracking record says '([^']*)'")
_MOVING_STATUSES = frozenset({"out for delivery", "in transit"})


def claims_in_evidence(case: dict[str, Any], output: str) -> Score:
    """Score = supported claims / claims in the answer (1.0 for an answer that claims nothing).

    The claims this domain knows: a promised arrival time (supported only by a record with an ETA), a
    movement of the parcel (only by a moving status), and a quoted status (only by that exact status).
    Passes when every claim is supported; the explanation names the unsupported ones."""
    evidence = case["evidence"]
    claims: list[tuple[str, bool]] = []
    for match in _ETA_CLAIM.finditer(output):
        claims.append((f"arrival '{match.group(0)}'", evidence["eta"] is not None))
    for match in _MOVEMENT_CLAIM.finditer(output):
        claims.append((f"movement '{match.group(0)}'", evidence["status"] in _MOVING_STATUSES))
    for match in _STATUS_QUOTE.finditer(output):
        claims.append((f"status '{match.group(1)}'", match.group(1) == evidence["status"]))
    if not claims:
        return Score(1.0, "pass", "no factual claims")
    unsupported = [claim for claim, supported in claims if not supported]
    value = 1 - len(unsupported) / len(claims)
    if unsupported:
        return Score(value, "fail", f"not in the evidence: {', '.join(unsupported)}")
    return Score(value, "pass", f"{len(claims)} claim(s), all in the evidence")


# --- the demonstration --------------------------------------------------------------------------------------
def _command() -> list[str]:
    script = shutil.which("genai-otel", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "genai_otel.cli"]


def _eval(work: Path, target: str, output: str, *gate: str) -> subprocess.CompletedProcess[str]:
    arguments = [
        "eval",
        "--cases", str(work / "cases.jsonl"),
        "--target", f"quality_gate:{target}",
        "--scorer", "quality_gate:claims_in_evidence",
        "--name", "pre-promotion",
        "--output", str(work / output),
        *gate,
    ]  # fmt: skip
    print(f"\n$ genai-otel {' '.join(arguments)}".replace(str(work) + "/", ""))
    done = subprocess.run(
        [*_command(), *arguments],
        cwd=HERE,  # the command imports the targets and the scorer from the current directory
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, SERVER_ENV: server_url},
    )
    print(done.stdout.rstrip())
    print(f"(exit status {done.returncode})")
    return done


server_url = ""


def main() -> None:
    global server_url
    with FakeLLMServer() as server, tempfile.TemporaryDirectory(prefix="quality-gate-") as directory:
        server_url = server.openai_base_url
        work = Path(directory)
        with (work / "cases.jsonl").open("w") as cases:
            for parcel_id, record in TRACKING.items():
                cases.write(
                    json.dumps({"id": parcel_id, "input": {"parcel_id": parcel_id}, "evidence": record})
                )
                cases.write("\n")
        print(f"{len(TRACKING)} cases: one question per parcel, scored against its tracking record")

        baseline = _eval(work, "answer_strict", "strict.json")
        assert baseline.returncode == 0, baseline.stderr
        same = _eval(work, "answer_strict", "strict-again.json", "--baseline", str(work / "strict.json"))
        assert same.returncode == 0 and "PROMOTE" in same.stdout, same.stderr
        candidate = _eval(
            work,
            "answer_regressed",
            "regressed.json",
            "--baseline",
            str(work / "strict.json"),
            "--max-drop",
            "0.05",
        )
        assert candidate.returncode == 1 and "BLOCKED" in candidate.stdout, candidate.stderr
        summary = json.loads((work / "regressed.json").read_text())["scorers"]["claims_in_evidence"]
        print(
            f"\nthe regressed template ({REGRESSED}) is blocked: mean {summary['mean']:.2f} against 1.00, "
            f"pass rate {summary['pass_rate']:.0%}; the strict one ({STRICT}) stays in production."
        )


if __name__ == "__main__":
    main()
