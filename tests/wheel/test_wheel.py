"""The release artifacts as a user gets them: what they hold, and a wheel installed into a fresh venv
and used from outside the source tree (the demo, opentelemetry-instrument, every module, mypy --strict).
This is what catches a file missing from the wheel, which an editable install hides."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.helpers import run_auto_instrumented
from tests.wheel.conftest import REPO_ROOT, Artifacts, InstalledWheel, run

pytestmark = pytest.mark.wheel

# In a source distribution, beside the package: never a venv, .e2e/, caches, or the CI entry point.
SDIST_FORBIDDEN = (
    ".venv",
    ".e2e",
    ".ci",
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
)


def _tracked(*paths: str) -> set[str]:
    """The checkout's files (committed or not, but not ignored) under ``paths``."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *paths],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {path for path in listed if (REPO_ROOT / path).exists()}


def _metadata(artifacts: Artifacts) -> dict[str, list[str]]:
    with zipfile.ZipFile(artifacts.wheel) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(wheel.read(name).decode())
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields


def test_twine_check_passes_on_both(artifacts: Artifacts) -> None:
    output = run(
        [sys.executable, "-m", "twine", "check", "--strict", str(artifacts.wheel), str(artifacts.sdist)],
        cwd=artifacts.wheel.parent,
    )
    assert output.count("PASSED") == 2, output


def test_metadata_is_complete(artifacts: Artifacts) -> None:
    fields = _metadata(artifacts)
    assert fields["Name"] == ["genai-otel"]
    assert "OpenTelemetry" in fields["Summary"][0]
    assert fields["License-Expression"] == ["Apache-2.0"]
    assert fields["License-File"] == ["LICENSE"]
    assert fields["Requires-Python"] == [">=3.10"]
    assert fields["Description-Content-Type"] == ["text/markdown"]
    assert {"openai", "ollama", "presidio", "demo"} <= set(fields["Provides-Extra"])
    assert "Typing :: Typed" in fields["Classifier"]
    assert any(c.startswith("Programming Language :: Python :: 3.") for c in fields["Classifier"])
    urls = dict(url.split(", ", 1) for url in fields["Project-URL"])
    assert {"Homepage", "Source", "Changelog"} <= set(urls)


def test_wheel_holds_the_whole_package(artifacts: Artifacts) -> None:
    with zipfile.ZipFile(artifacts.wheel) as wheel:
        names = set(wheel.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entry_points_text = wheel.read(entry_points).decode()
    package = {path.removeprefix("src/") for path in _tracked("src/genai_otel")}
    assert "genai_otel/py.typed" in package
    assert package - names == set(), "files of the package missing from the wheel"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "genai_otel_openai = genai_otel.openai:OpenAIInstrumentor" in entry_points_text
    assert "genai_otel_ollama = genai_otel.ollama:OllamaInstrumentor" in entry_points_text
    assert "genai-otel = genai_otel.cli:main" in entry_points_text


def test_sdist_holds_the_source_and_nothing_else(artifacts: Artifacts) -> None:
    with tarfile.open(artifacts.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    forbidden = [n for n in names if any(part in SDIST_FORBIDDEN for part in Path(n).parts)]
    assert forbidden == []
    expected = _tracked("src", "tests", "docs", "examples") | {
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
    }
    assert expected - names == set(), "files missing from the sdist"


def test_installed_package_is_the_wheel_not_the_checkout(installed_wheel: InstalledWheel) -> None:
    location = run(
        [str(installed_wheel.python), "-c", "import genai_otel; print(genai_otel.__file__)"],
        cwd=installed_wheel.workdir,
    ).strip()
    assert "site-packages" in location and not location.startswith(str(REPO_ROOT)), location
    assert Path(location).with_name("py.typed").is_file()


IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, genai_otel
names = sorted(m.name for m in pkgutil.walk_packages(genai_otel.__path__, "genai_otel."))
for name in names:
    importlib.import_module(name)
print(json.dumps(names))
"""


def test_every_module_imports(installed_wheel: InstalledWheel) -> None:
    """Discovered on the installed package, so that modules added later are covered too."""
    output = run([str(installed_wheel.python), "-c", IMPORT_EVERY_MODULE], cwd=installed_wheel.workdir)
    imported = set(json.loads(output))
    public = {n for n in imported if not any(part.startswith("_") for part in n.split("."))}
    in_source = {
        str(Path(path).relative_to("src").with_suffix("")).replace("/", ".").removesuffix(".__init__")
        for path in _tracked("src/genai_otel")
        if path.endswith(".py") and path != "src/genai_otel/__init__.py"
    }
    assert in_source - imported == set(), "modules of the source tree missing from the installed wheel"
    assert {"genai_otel.openai", "genai_otel.ollama", "genai_otel.testing.fake_server"} <= public


DEMO_FROM_THE_WHEEL = """
import runpy, sys, genai_otel
assert "site-packages" in genai_otel.__file__, genai_otel.__file__
print("genai_otel from", genai_otel.__file__)
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def test_demo_runs_on_the_wheel(installed_wheel: InstalledWheel) -> None:
    demo = shutil.copy(REPO_ROOT / "examples" / "demo.py", installed_wheel.workdir / "demo.py")
    output = run(
        [str(installed_wheel.python), "-c", DEMO_FROM_THE_WHEEL, str(demo)], cwd=installed_wheel.workdir
    )
    assert "calling a loopback OpenAI-compatible server" in output
    assert "summary:" in output


AUTO_ATTACHED_APP = """
import genai_otel, ollama, openai
from genai_otel.testing.fake_server import FakeLLMServer

assert "site-packages" in genai_otel.__file__, genai_otel.__file__
with FakeLLMServer() as server:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="unused", max_retries=0)
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    ollama.Client(host=server.base_url).chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
"""


def test_opentelemetry_instrument_attaches_from_the_wheel(installed_wheel: InstalledWheel) -> None:
    script = installed_wheel.workdir / "app.py"
    script.write_text(AUTO_ATTACHED_APP)
    spans = run_auto_instrumented(script, python=installed_wheel.python, cwd=installed_wheel.workdir)
    by_name = {span["name"]: span for span in spans}
    assert by_name["chat gpt-test"]["attributes"]["gen_ai.provider.name"] == "openai_compatible"
    assert by_name["chat llama3.2"]["attributes"]["gen_ai.provider.name"] == "ollama"


def test_user_code_type_checks_strictly(installed_wheel: InstalledWheel) -> None:
    """``mypy --strict`` on a user's script, against the installed package (its py.typed marker)."""
    script = shutil.copy(REPO_ROOT / "tests" / "typing" / "user_script.py", installed_wheel.workdir)
    mypy = installed_wheel.python.with_name("mypy")
    output = run([str(mypy), "--strict", "--no-incremental", str(script)], cwd=installed_wheel.workdir)
    assert "Success" in output
    run([str(installed_wheel.python), str(script)], cwd=installed_wheel.workdir)  # and it runs
