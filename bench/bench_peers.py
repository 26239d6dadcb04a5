"""genai-otel side by side with the other OpenAI and Ollama instrumentations, in one interleaved run.

    python bench/bench_peers.py [--rounds 9] [--calls 300] [--streams 30]
                                [--successor-python .venv-peers-successor/bin/python]
                                [--write docs/performance.md]

``make bench-peers`` installs the peers (pinned in ``bench/peers-requirements.txt`` and
``bench/peers-successor-requirements.txt``) into venvs of their own and runs this.

Each round starts one fresh process per instrumentation (and one for the bare client), in a random
order, so that no instrumentation inherits another's patches or warm caches and machine noise hits
every side alike. A process instruments its clients with default settings and content capture off,
sends spans through a ``SimpleSpanProcessor`` to an in-memory exporter and metrics to an
``InMemoryMetricReader`` (the same SDK set-up for everyone), and times calls over the in-process
transports of ``bench_overhead.py`` (no sockets): median CPU time of this thread per call, over
``calls`` calls and ``streams`` streams of each client (``OLLAMA_REPEAT`` times as many for Ollama). An
instrumentation's overhead in a round is its median minus the median of the bare client in that round,
run by the same Python (a peer in a venv of its own is compared with the bare client of that venv); the
table shows the median over rounds.

Each process then measures the SDK floor of what its instrumentation emitted: one more call is probed for
its spans (name, kind, the attributes each started with and those set before it ended, events, status) and
metric points (instrument, value, attributes, and whether it was recorded in a sampled span's context,
which costs the SDK an exemplar), and a fresh SDK set-up like the worker's emits exactly that,
timed right after each of as many untimed instrumented calls. Overhead minus that floor is the
instrumentation's own code, which compares instrumentations that emit different amounts.

Fairness: every process starts from an environment with every content, chunk-metric and stability
setting of every peer removed, then gets only its own peer's "content off" setting; each timed call must
export at least one span, or the peer is reported as broken rather than as fast (an instrumentor that
declined to instrument, say, over a dependency conflict, only logs it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# name -> (label in the table, instrumentor classes "module:Class" for openai and for ollama, env)
PEERS: dict[str, tuple[str, str | None, str | None, dict[str, str]]] = {
    "bare": ("bare client", None, None, {}),
    "genai-otel": (
        "genai-otel",
        "genai_otel.openai:OpenAIInstrumentor",
        "genai_otel.ollama:OllamaInstrumentor",
        {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT"},
    ),
    "genai-otel-tpoc-off": (
        "genai-otel, `GENAI_OTEL_TIME_PER_OUTPUT_CHUNK=false`",
        "genai_otel.openai:OpenAIInstrumentor",
        "genai_otel.ollama:OllamaInstrumentor",
        {
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT",
            "GENAI_OTEL_TIME_PER_OUTPUT_CHUNK": "false",
        },
    ),
    "otel-v2": (
        "official openai-v2",
        "opentelemetry.instrumentation.openai_v2:OpenAIInstrumentor",
        None,
        {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"},
    ),
    "otel-successor": (
        "official genai-openai (successor)",
        "opentelemetry.instrumentation.genai.openai:OpenAIInstrumentor",
        None,
        {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT"},
    ),
    "openllmetry": (
        "OpenLLMetry",
        "opentelemetry.instrumentation.openai:OpenAIInstrumentor",
        "opentelemetry.instrumentation.ollama:OllamaInstrumentor",
        {"TRACELOOP_TRACE_CONTENT": "false"},
    ),
    "openinference": (
        "OpenInference",
        "openinference.instrumentation.openai:OpenAIInstrumentor",
        "openinference.instrumentation.ollama:OllamaInstrumentor",
        {"OPENINFERENCE_HIDE_INPUTS": "true", "OPENINFERENCE_HIDE_OUTPUTS": "true"},
    ),
}
# The distributions whose versions the table names, per peer.
DISTRIBUTIONS = {
    "genai-otel": ["genai-otel"],
    "otel-v2": ["opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"],
    "otel-successor": ["opentelemetry-instrumentation-genai-openai", "opentelemetry-util-genai"],
    "openllmetry": ["opentelemetry-instrumentation-openai", "opentelemetry-instrumentation-ollama"],
    "openinference": ["openinference-instrumentation-openai", "openinference-instrumentation-ollama"],
}
OPERATIONS = ("openai call", "openai stream", "ollama call", "ollama stream")
# Inherited settings that would change what a peer does: removed from every worker's environment.
_SETTING_PREFIXES = ("GENAI_OTEL_", "OTEL_INSTRUMENTATION_GENAI_", "TRACELOOP_", "OPENINFERENCE_")
_SETTINGS = ("OTEL_SEMCONV_STABILITY_OPT_IN",)
# An Ollama call costs the bare client about a quarter of an OpenAI call (a stream, a fourteenth), so its
# operations are repeated this many times more: each operation is then timed over a comparable stretch,
# and a few milliseconds of machine noise cannot tip a median of what is only a few microseconds apart.
OLLAMA_REPEAT = 5


# --- one process: one instrumentation ---------------------------------------------------------------------
def _load(spec: str) -> Any:
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def worker(name: str, calls: int, streams: int) -> dict[str, Any]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    sys.path.insert(0, str(HERE))
    import bench_overhead as workload

    _, openai_spec, ollama_spec, _ = PEERS[name]
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    for spec in (openai_spec, ollama_spec):
        if spec:
            _load(spec)().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

    openai_client = workload._client()
    ollama_client = workload._ollama_client()
    operations: dict[str, tuple[Callable[[], None], int]] = {
        "openai call": (lambda: workload._call(openai_client), calls),
        "openai stream": (lambda: workload._stream(openai_client), streams),
        "ollama call": (lambda: workload._ollama_call(ollama_client.chat), calls * OLLAMA_REPEAT),
        "ollama stream": (lambda: workload._ollama_stream(ollama_client.chat), streams * OLLAMA_REPEAT),
    }
    result: dict[str, Any] = {}
    clock = time.thread_time_ns
    for operation, (run_once, repeat) in operations.items():
        instrumented = (openai_spec if operation.startswith("openai") else ollama_spec) is not None
        if name != "bare" and not instrumented:
            continue
        for _ in range(max(5, repeat // 10)):
            run_once()
        exporter.clear()
        gc.collect()
        timings = []
        without_span = 0
        for _ in range(repeat):
            start = clock()
            run_once()
            timings.append(clock() - start)
            if not exporter.get_finished_spans():
                without_span += 1
            exporter.clear()
        if name != "bare" and without_span:
            result[operation] = f"broken: {without_span} of {repeat} calls exported no span"
        else:
            result[operation] = statistics.median(timings)
        # What one more call emits: the largest span's attribute count, and the metric points it added.
        before = _points(reader)
        run_once()
        spans = exporter.get_finished_spans()
        attributes = max((len(span.attributes or {}) for span in spans), default=0)
        result.setdefault("emits", {})[operation] = [len(spans), attributes, _points(reader) - before]
        exporter.clear()
    # Second pass, after every timing above (the probe's span processor must not slow those down): the SDK
    # floor of what each operation emitted, timed right after an untimed instrumented call.
    starts = workload.StartAttributes()
    tracer_provider.add_span_processor(starts)
    for operation, (run_once, repeat) in operations.items():
        if not isinstance(result.get(operation), (int, float)) or name == "bare":
            continue
        floor = workload.Floor(run_once, exporter, reader, starts)
        timings = []
        for _ in range(repeat):
            run_once()
            exporter.clear()
            start = clock()
            floor.emit()
            timings.append(clock() - start)
            floor.setup.exporter.clear()
        result.setdefault("floors", {})[operation] = statistics.median(timings)
    return result


def _points(reader: Any) -> int:
    """Measurements recorded so far (cumulative): histogram counts, one per other point."""
    data = reader.get_metrics_data()
    total = 0
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    total += getattr(point, "count", 1)
    return total


# --- the driver ------------------------------------------------------------------------------------------
def _worker_environment(name: str) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_SETTING_PREFIXES) and key not in _SETTINGS
    }
    return {**inherited, **PEERS[name][3]}


def _run_worker(python: str, name: str, calls: int, streams: int) -> dict[str, Any]:
    env = _worker_environment(name)
    completed = subprocess.run(
        [
            python,
            str(Path(__file__).resolve()),
            "--worker",
            name,
            "--calls",
            str(calls),
            "--streams",
            str(streams),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return dict.fromkeys(OPERATIONS, f"broken: {last[:120]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _versions(python: str, distributions: list[str]) -> str:
    code = (
        "import sys\nfrom importlib.metadata import version\n"
        "for d in sys.argv[1:]:\n    print(d + ' ' + version(d))"
    )
    completed = subprocess.run(
        [python, "-c", code, *distributions], capture_output=True, text=True, check=False
    )
    return ", ".join(completed.stdout.split("\n")[:-1]) if completed.returncode == 0 else "not installed"


def run(rounds: int, calls: int, streams: int, successor_python: str | None) -> dict[str, Any]:
    pythons = {name: sys.executable for name in PEERS}
    if successor_python:
        pythons["otel-successor"] = successor_python
    else:
        del pythons["otel-successor"]
    # One bare-client process per distinct Python each round: a peer is compared with its own venv.
    bare_of = {
        python: "bare" if python == sys.executable else f"bare ({python})" for python in pythons.values()
    }
    jobs = {name: (python, name) for name, python in pythons.items() if name != "bare"}
    jobs.update({label: (python, "bare") for python, label in bare_of.items()})
    samples: dict[str, dict[str, list[Any]]] = {label: {op: [] for op in OPERATIONS} for label in jobs}
    # Per round: the SDK floor of what the instrumentation emitted, and its overhead beyond that floor.
    floors: dict[str, dict[str, list[float]]] = {label: {op: [] for op in OPERATIONS} for label in jobs}
    beyond: dict[str, dict[str, list[float]]] = {label: {op: [] for op in OPERATIONS} for label in jobs}
    emits: dict[str, dict[str, list[int]]] = {}
    for number in range(rounds):
        order = list(jobs)
        random.shuffle(order)
        results = {label: _run_worker(*jobs[label], calls, streams) for label in order}
        for label, result in results.items():
            emits.setdefault(label, result.get("emits", {}))
            bare_label = bare_of[jobs[label][0]]
            for operation in OPERATIONS:
                value, bare = result.get(operation), results[bare_label].get(operation)
                if isinstance(value, str):
                    samples[label][operation].append(value)
                elif value is not None and isinstance(bare, (int, float)):
                    samples[label][operation].append(value if label == bare_label else value - bare)
                    floor = result.get("floors", {}).get(operation)
                    if floor is not None and label != bare_label:
                        floors[label][operation].append(floor)
                        beyond[label][operation].append(value - bare - floor)
        print(f"round {number + 1}/{rounds} done", file=sys.stderr)
    versions = {
        name: _versions(pythons[name], DISTRIBUTIONS[name]) for name in pythons if name in DISTRIBUTIONS
    }
    clients = {python: _versions(python, ["openai", "ollama", "opentelemetry-sdk"]) for python in bare_of}
    report = {
        "samples": samples,
        "floors": floors,
        "beyond": beyond,
        "versions": versions,
        "clients": clients,
        "emits": emits,
    }
    return {**report, "rounds": rounds, "calls": calls, "streams": streams, "main_python": sys.executable}


def _cell(values: list[Any], per_chunk: bool) -> str:
    from bench_overhead import CHUNKS

    broken = [value for value in values if isinstance(value, str)]
    if broken:
        return broken[0].split(":")[0]
    if not values:
        return "n/a"
    value = statistics.median(values) / 1000
    return f"{value / CHUNKS:+.1f}" if per_chunk else f"{value:+,.0f}"


def table(report: dict[str, Any]) -> str:
    from bench_overhead import CHUNKS

    samples = report["samples"]
    peers = [name for name in PEERS if name in samples and name != "bare"]
    header = "| client / mode | bare client | " + " | ".join(PEERS[name][0] for name in peers) + " |"
    lines = [header, "|---|" + "---:|" * (len(peers) + 1)]
    rows = [
        ("openai chat, per call (µs)", "openai call", False),
        (f"openai stream, per chunk ({CHUNKS} chunks, per-call cost included; µs)", "openai stream", True),
        ("ollama chat, per call (µs)", "ollama call", False),
        (f"ollama stream, per chunk ({CHUNKS} chunks, per-call cost included; µs)", "ollama stream", True),
    ]
    for label, operation, per_chunk in rows:
        bare = statistics.median(samples["bare"][operation]) / 1000
        bare_cell = f"{bare / CHUNKS:.1f}" if per_chunk else f"{bare:,.0f}"
        cells = [_cell(samples[name][operation], per_chunk) for name in peers]
        lines.append(f"| {label} | {bare_cell} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Each instrumentation's own code: its overhead minus the SDK floor of what it emits (the OpenTelemetry "
        "SDK alone, in the same process, creating the same spans and recording the same metric points, timed "
        "right after a call), with that floor in parentheses; same units.",
        "",
        "| client / mode | " + " | ".join(PEERS[name][0] for name in peers) + " |",
        "|---|" + "---:|" * len(peers),
    ]
    for label, operation, per_chunk in rows:
        cells = []
        for name in peers:
            own, floor = report["beyond"][name][operation], report["floors"][name][operation]
            if not own or any(isinstance(value, str) for value in samples[name][operation]):
                cells.append(_cell(samples[name][operation], per_chunk))
            else:
                floor_cell = _cell(floor, per_chunk).lstrip("+")
                cells.append(f"{_cell(own, per_chunk)} ({floor_cell})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "What one call (one 100-chunk stream) emits: span attributes (of the largest span; spans if more than "
        "one), metric points.",
        "",
        "| instrumentation | openai chat | openai stream | ollama chat | ollama stream |",
        "|---|---|---|---|---|",
    ]
    for name in peers:
        cells = []
        for operation in OPERATIONS:
            emitted = report["emits"].get(name, {}).get(operation)
            if emitted is None:
                cells.append("n/a")
            else:
                spans, attributes, points = emitted
                cells.append(f"{attributes}{f' ({spans} spans)' if spans > 1 else ''}, {points}")
        lines.append(f"| {PEERS[name][0]} | " + " | ".join(cells) + " |")
    versions = "; ".join(f"{PEERS[name][0]}: {text}" for name, text in report["versions"].items())
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    clients = report["clients"]
    main = clients.pop(report["main_python"])
    other = "".join(
        f"; the successor's own venv (compared with a bare client run there): {text}"
        for text in clients.values()
    )
    lines += [
        "",
        f"Run of {time.strftime('%Y-%m-%d')}: {report['rounds']} rounds; per process, {report['calls']:,} "
        f"OpenAI calls and {report['streams']:,} streams, {report['calls'] * OLLAMA_REPEAT:,} Ollama calls "
        f"and {report['streams'] * OLLAMA_REPEAT:,} streams; overhead over the bare client, median over "
        f"rounds. Machine: {machine}. Clients and SDK: {main}{other}. Versions: {versions}. "
        "Command: `make bench-peers`.",
    ]
    return "\n".join(lines)


def write(path: Path, text: str) -> None:
    document = path.read_text()
    pattern = re.compile(r"(<!-- bench-peers:start -->\n).*?(<!-- bench-peers:end -->)", re.S)
    if not pattern.search(document):
        raise SystemExit(f"{path} has no <!-- bench-peers:start --> ... <!-- bench-peers:end --> markers")
    path.write_text(pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(2), document))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=sorted(PEERS))
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--streams", type=int, default=30)
    parser.add_argument(
        "--successor-python", help="python of the venv holding the official successor package"
    )
    parser.add_argument("--write", type=Path, help="rewrite the table between the bench-peers markers")
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(worker(arguments.worker, arguments.calls, arguments.streams)))
        return
    sys.path.insert(0, str(HERE))
    report = run(arguments.rounds, arguments.calls, arguments.streams, arguments.successor_python)
    text = table(report)
    print(text)
    if arguments.write:
        write(arguments.write, text)


if __name__ == "__main__":
    main()
