"""Fixtures of the release-artifact tests: the wheel and sdist built from this checkout, and a fresh venv
with the wheel installed, outside the source tree.

Tests marked ``wheel`` build and install (about a minute); they are left out of a run unless it selects
them: ``pytest -m wheel`` (what ``make test-wheel`` and so ``make test`` run), any ``-m`` expression
naming wheel, or ``GENAI_OTEL_WHEEL=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import NamedTuple

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = config.getoption("markexpr", "") or ""
    if "wheel" in markexpr or os.environ.get("GENAI_OTEL_WHEEL") == "1":
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("wheel") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def run(command: list[str], cwd: Path, timeout: float = 300) -> str:
    """Run a command outside the source tree, with nothing of the checkout on the path."""
    environment = {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("OPENAI_", "OLLAMA_"))
    }
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


class Artifacts(NamedTuple):
    wheel: Path
    sdist: Path


class InstalledWheel(NamedTuple):
    python: Path
    workdir: Path  # an empty directory outside the checkout, the cwd of everything run there


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """``python -m build``: the sdist, then the wheel built from that sdist (so the sdist is proven too)."""
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO_ROOT)], cwd=dist)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return Artifacts(wheel, sdist)


@pytest.fixture(scope="session")
def installed_wheel(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    root = tmp_path_factory.mktemp("wheel-venv")
    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    workdir = root / "work"
    workdir.mkdir()
    run(
        [
            str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            f"genai-otel[openai,ollama,demo] @ {artifacts.wheel.as_uri()}", "mypy",
        ],
        cwd=workdir,
    )  # fmt: skip
    return InstalledWheel(python, workdir)
