"""The documentation's reference tables agree with the code: a promise in the docs is something we test.

Each test reads one table (README's configuration tables, the dropped reasons of content capture, the
metric table of the deployment guide) and checks it against the names the code defines, so that a setting,
a reason or a metric added in one place cannot be missing, or described differently, in the other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from genai_otel import semconv as sc
from genai_otel.config import CONTENT_ARGUMENTS, INSTRUMENT_ARGUMENTS, Settings
from genai_otel.product import _PRODUCT_ARGUMENTS

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "genai_otel"


def _text(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def _sources() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(SRC.rglob("*.py")))


def _table_after(text: str, heading_line: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table whose header line starts with ``heading_line``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading_line))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _names(cell: str) -> list[str]:
    return re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cell)


INSTRUMENT_TABLE = "| environment variable | `instrument()` argument |"
PRODUCT_TABLE = "| environment variable | `configure_product()` argument |"


def test_every_environment_variable_read_in_src_has_a_readme_row() -> None:
    read = set(re.findall(r'"((?:GENAI_OTEL|OTEL_INSTRUMENTATION_GENAI)_[A-Z0-9_]+)"', _sources()))
    readme = _text("README.md")
    documented = {
        name
        for table in (INSTRUMENT_TABLE, PRODUCT_TABLE)
        for row in _table_after(readme, table)
        for name in _names(row[0])
    }
    assert read, "no environment variables found: the pattern is wrong"
    assert read - documented == set(), "read in src/ but missing from README's configuration tables"
    assert {name for name in documented if name.startswith("GENAI_OTEL_")} - read == set(), (
        "in README's tables but read nowhere"
    )


def test_readme_instrument_arguments_are_the_ones_read() -> None:
    config = (SRC / "config.py").read_text(encoding="utf-8") + (SRC / "providers.py").read_text(
        encoding="utf-8"
    )
    documented = {
        name for row in _table_after(_text("README.md"), INSTRUMENT_TABLE) for name in _names(row[1])
    }
    documented.discard("RateCard")
    for argument in documented:
        assert f'"{argument}"' in config or argument in Settings.__dataclass_fields__, argument
    # And every argument instrument() reads has a row.
    read = set(re.findall(r'setting\(\s*kwargs,\s*"([a-z_]+)"', config)) | set(
        re.findall(r'kwargs\.get\("([a-z_]+)"\)', config)
    )
    assert read - documented == set()
    # ... and those are exactly the ones instrument() takes without a warning.
    assert documented == INSTRUMENT_ARGUMENTS


def test_readme_product_arguments_are_the_ones_configure_product_takes() -> None:
    rows = _table_after(_text("README.md"), PRODUCT_TABLE)
    documented = {name for row in rows for name in _names(row[1])}
    assert documented - (_PRODUCT_ARGUMENTS | CONTENT_ARGUMENTS) == set()
    assert _PRODUCT_ARGUMENTS - documented == set()


def test_the_dropped_reason_row_lists_every_reason() -> None:
    reasons = {value for key, value in vars(sc).items() if key.startswith("DROPPED_")}
    (row,) = [
        row
        for row in _table_after(_text("docs/content-capture.md"), "| attribute | value |")
        if row[0] == f"`{sc.GENAI_OTEL_CONTENT_DROPPED_REASON}`"
    ]
    assert set(re.findall(r"`([a-z_]+)`", row[1])) == reasons


def test_the_deployment_metric_table_has_every_metric_with_its_unit() -> None:
    # Each instrument as created in src/: name constant -> unit constant (the cost's unit is the card's).
    created = dict(re.findall(r"create_\w+\(\s*sc\.(METRIC_\w+),\s*unit=sc\.(UNIT_\w+)", _sources()))
    metrics = {key: value for key, value in vars(sc).items() if key.startswith("METRIC_")}
    assert set(created) <= set(metrics)
    table = {
        re.findall(r"`([^`]+)`", row[0])[0]: row[1]
        for row in _table_after(_text("docs/deployment.md"), "| metric | unit | kind | Prometheus series |")
    }
    for key, name in metrics.items():
        assert name in table, f"{name} is not in docs/deployment.md's metric table"
        if key in created:
            assert table[name].startswith(f"`{getattr(sc, created[key])}`"), (name, table[name])


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_every_link_between_the_docs_lands_on_a_file_and_heading() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target, anchor in re.findall(
            r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", page.read_text(encoding="utf-8")
        ):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            linked = (page.parent / target).resolve() if target else page
            if not linked.exists():
                broken.append(f"{page.name}: {target}")
                continue
            if anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
                if anchor not in {_anchor(h) for h in headings}:
                    broken.append(f"{page.name}: {target}#{anchor}")
    assert broken == []


def test_the_alert_table_matches_the_rules_shipped() -> None:
    yaml = pytest.importorskip("yaml")
    rules = yaml.safe_load(_text("deploy/prometheus/alerts.yml"))
    shipped = {
        rule["alert"]: rule["labels"]["severity"]
        for group in rules["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    table = _table_after(_text("docs/deployment.md"), "| alert | severity | fires when | look at |")
    documented = {re.findall(r"`(\w+)`", row[0])[0]: row[1] for row in table}
    assert documented == shipped


def test_architecture_names_every_module_and_the_readme_paths_exist() -> None:
    architecture = _text("docs/architecture.md")
    unnamed = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "__init__.py"
        and f"`{path.name}`" not in architecture
        and f"{path.name}`" not in architecture
    ]
    assert unnamed == [], "modules docs/architecture.md does not describe"
    rows = _table_after(_text("README.md"), "| path | what |")
    for row in rows:
        first, *others = re.findall(r"`([^`]+)`", row[0])
        base = (ROOT / first).parent if not first.endswith("/") else ROOT
        assert (ROOT / first).exists(), first
        for other in others:
            assert (ROOT / other).exists() or (base / other).exists(), other
