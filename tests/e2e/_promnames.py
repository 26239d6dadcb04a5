"""genai-otel's metrics as Prometheus sees them, and the names PromQL text refers to.

One translation function, :func:`prometheus_name`, models the "underscore escaping with suffixes"
rules that both shipped paths apply: the Collector's ``prometheus`` exporter (docker-compose) and the
Python ``opentelemetry-exporter-prometheus`` (whose mapping is copied from the Collector's translator):

* every run of characters outside ``[a-zA-Z0-9:]`` becomes one ``_`` (``gen_ai.client.cost`` ->
  ``gen_ai_client_cost``);
* a unit in curly braces is an annotation and adds nothing (``{token}``, ``{USD}``); ``s`` adds
  ``_seconds``; the suffix is not repeated if the name already ends with it;
* a monotonic counter gets ``_total``; a histogram is exposed as ``_bucket``, ``_sum`` and ``_count``.

The end-to-end test checks this function against a real Prometheus scrape of the Python exporter.
The metric inventory comes from the code: :func:`code_instruments` runs ``_inventory.py``, which records
every instrument genai-otel creates. Instruments whose feature is not built yet have an explicit,
clearly marked assumption in :data:`ASSUMED_INSTRUMENTS`; when the code starts creating them, the code
wins and a test compares the two.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from genai_otel import semconv as sc

HERE = Path(__file__).resolve().parent

# Units genai-otel uses and their Prometheus suffix. An unknown unit fails loudly (see
# prometheus_name) rather than being guessed.
_UNIT_SUFFIXES = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}
_ANNOTATION = re.compile(r"\{[^}]*\}")
_INVALID = re.compile(r"[^a-zA-Z0-9:]+")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9]+")


@dataclass(frozen=True)
class Instrument:
    name: str
    kind: str  # "counter", "histogram" or "gauge"
    unit: str
    source: str  # "code" (seen created by genai-otel) or "assumed" (feature not built yet)


# Issue 5 (product decisions, cost, tool spans) names these metrics in semconv.py but does not create
# them yet. Kind and unit are what the alert rules and the dashboard assume; once genai-otel creates
# an instrument, test_deploy_static checks that the code agrees.
ASSUMED_INSTRUMENTS: dict[str, tuple[str, str]] = {
    sc.METRIC_PRODUCT_REQUESTS: ("counter", sc.UNIT_REQUESTS),
    sc.METRIC_PRODUCT_UNSAFE_CLAIMS_SERVED: ("counter", sc.UNIT_CLAIMS),
    sc.METRIC_TOOL_DURATION: ("histogram", sc.UNIT_SECONDS),
    sc.METRIC_TOOL_STALLED_LOOPS: ("counter", "{call}"),
    sc.METRIC_CLIENT_COST: ("counter", sc.UNIT_USD),
    # Issue 11 (quality evaluations) is built in parallel; the dashboard's "Quality score" stat
    # queries these names and shows "no data" until they exist.
    "genai_otel.evaluation.score": ("histogram", "1"),
    "genai_otel.evaluation.results": ("counter", "{result}"),
}


def unit_suffix(unit: str) -> str:
    unit = _ANNOTATION.sub("", unit)
    if unit == "":
        return ""
    if unit not in _UNIT_SUFFIXES:
        raise ValueError(f"no Prometheus suffix known for unit {unit!r}: add it to _UNIT_SUFFIXES")
    return _UNIT_SUFFIXES[unit]


def prometheus_name(name: str, unit: str, kind: str) -> str:
    """The base name Prometheus shows for an OpenTelemetry instrument (histograms add _bucket etc.)."""
    base = _INVALID.sub("_", name)
    suffix = unit_suffix(unit)
    if suffix and not base.endswith(f"_{suffix}"):
        base = f"{base}_{suffix}"
    if kind == "counter" and not base.endswith("_total"):
        base = f"{base}_total"
    return base


def series_names(instrument: Instrument) -> set[str]:
    base = prometheus_name(instrument.name, instrument.unit, instrument.kind)
    if instrument.kind == "histogram":
        return {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    return {base}


def label_name(attribute: str) -> str:
    return _INVALID_LABEL.sub("_", attribute)


def metric_constants() -> dict[str, str]:
    """Every METRIC_* constant in semconv.py: constant name -> metric name."""
    return {
        key: value for key, value in vars(sc).items() if key.startswith("METRIC_") and isinstance(value, str)
    }


@cache
def code_instruments() -> dict[str, Instrument]:
    """The instruments genai-otel creates, recorded by running it (see _inventory.py)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "_inventory.py")], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"_inventory.py failed:\n{done.stderr}")
    seen = json.loads(done.stdout)
    return {name: Instrument(name, info["kind"], info["unit"], "code") for name, info in seen.items()}


def metric_inventory() -> dict[str, Instrument]:
    """Every metric genai-otel emits or is about to: the code's instruments, then the assumptions."""
    inventory = dict(code_instruments())
    for name, (kind, unit) in ASSUMED_INSTRUMENTS.items():
        inventory.setdefault(name, Instrument(name, kind, unit, "assumed"))
    return inventory


def all_series_names() -> dict[str, Instrument]:
    """Prometheus series name -> the instrument it comes from."""
    return {
        series: instrument
        for instrument in metric_inventory().values()
        for series in series_names(instrument)
    }


def attribute_label_names() -> set[str]:
    """Label names genai-otel's metric attributes can become: every attribute-like constant in
    semconv.py and the product attributes under the default prefix."""
    names = set()
    for key, value in vars(sc).items():
        if not isinstance(value, str) or key.startswith(("METRIC_", "UNIT_", "SCHEMA", "PRODUCT_")):
            continue
        if re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", value):
            names.add(label_name(value))
    for key, value in vars(sc).items():
        if key.startswith("PRODUCT_") and key != "PRODUCT_PREFIX_DEFAULT" and isinstance(value, str):
            names.add(label_name(f"{sc.PRODUCT_PREFIX_DEFAULT}.{value}"))
    return names


# --- PromQL -------------------------------------------------------------------------------------------
_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2", "topk", "bottomk",
}  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_MATCHERS = re.compile(r"\{([^}]*)\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w:$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_LABEL_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def _strip_strings(expr: str) -> str:
    return _STRING.sub('""', expr)


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords, labels and durations left out)."""
    text = _strip_strings(expr)
    text = _GROUPING.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = re.sub(r"\boffset\s+\S+", " ", text)
    names = set()
    for match in _IDENT.finditer(text):
        identifier, call = match.group(1), match.group(2)
        if call or identifier in _KEYWORDS:
            continue
        names.add(identifier)
    return names


def promql_label_names(expr: str) -> set[str]:
    """Label names a PromQL expression uses in matchers and grouping clauses."""
    text = _strip_strings(expr)
    labels = set()
    for clause in _GROUPING.finditer(text):
        labels.update(part.strip() for part in clause.group(2).split(",") if part.strip())
    for matchers in _MATCHERS.finditer(text):
        labels.update(_LABEL_MATCHER.findall(matchers.group(1)))
    return labels
