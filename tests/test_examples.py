"""The examples keep working: each runs as a user would run it, against the loopback server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(script: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OLLAMA_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    assert "genai-otel: internal error" not in done.stderr
    return done.stdout


@pytest.mark.slow
def test_demo() -> None:
    output = _run("demo.py")
    assert "calling a loopback OpenAI-compatible server" in output
    assert "summary:" in output and "openai.RateLimitError" in output


@pytest.mark.slow
def test_delivery_incident() -> None:
    output = _run("delivery_incident.py")
    assert "2 unsafe serves" in output
    assert "template          : tracking-answerer-v1.1-regression" in output
    assert "first failed stage: serving_gate" in output


@pytest.mark.slow
def test_quality_gate() -> None:
    output = _run("quality_gate.py")
    assert "PROMOTE: no scorer dropped by more than 0.05" in output
    assert "BLOCKED: claims_in_evidence: mean score 0.250 vs baseline 1.000, drop 0.750 > max 0.05" in output
    assert "(exit status 1)" in output
