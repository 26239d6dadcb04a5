"""The benchmarks' SDK floor replays exactly what an instrumented call emitted, and nothing else.

docs/performance.md subtracts that floor from each instrumentation's overhead to give "its own code";
the figure is only fair if the replay emits the same spans and points as the call did."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ollama")  # the benchmark drives both clients
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_overhead as workload


def _spans(exporter: Any) -> list[tuple[Any, ...]]:
    """Each span's name, kind, attributes and events; measured times (floats) only by their keys, as they
    differ from call to call."""
    return [
        (
            span.name,
            span.kind,
            {k: "a time" if isinstance(v, float) else v for k, v in (span.attributes or {}).items()},
            [(event.name, dict(event.attributes or {})) for event in span.events],
        )
        for span in exporter.get_finished_spans()
    ]


def _points(reader: Any) -> dict[tuple[str, str, tuple[tuple[str, Any], ...]], tuple[int, float]]:
    return workload.point_totals(reader)


@pytest.mark.parametrize(
    ("operation", "make_client", "instrumentor"),
    [
        (workload._call, workload._client, workload.OpenAIInstrumentor),
        (workload._stream, workload._client, workload.OpenAIInstrumentor),
        (
            lambda client: workload._ollama_call(client.chat),
            workload._ollama_client,
            workload.OllamaInstrumentor,
        ),
        (
            lambda client: workload._ollama_stream(client.chat),
            workload._ollama_client,
            workload.OllamaInstrumentor,
        ),
    ],
    ids=["openai-call", "openai-stream", "ollama-call", "ollama-stream"],
)
def test_the_floor_replays_the_same_spans_and_points(
    operation: Any, make_client: Any, instrumentor: Any
) -> None:
    setup = workload.Setup(instrumentor=instrumentor)
    starts = workload.StartAttributes()
    setup.tracer_provider.add_span_processor(starts)
    setup.instrument()
    try:
        client = make_client()
        operation(client)  # first call: one-time work stays out of the comparison
        setup.exporter.clear()
        before = _points(setup.reader)
        sampled = workload.sampled_measurements(lambda: operation(client))
        emitted = _spans(setup.exporter)
        added = {
            key: (count - before.get(key, (0, 0))[0], total - before.get(key, (0, 0))[1])
            for key, (count, total) in _points(setup.reader).items()
        }
        floor = workload.Floor(lambda: operation(client), setup.exporter, setup.reader, starts)
    finally:
        setup.uninstrument()

    replayed_sampled = workload.sampled_measurements(floor.emit)

    assert emitted and _spans(floor.setup.exporter) == emitted
    replayed = _points(floor.setup.reader)
    # As many measurements in a sampled span's context (an exemplar each) as the call made.
    assert sampled and replayed_sampled == sampled
    assert {key: count for key, (count, _total) in replayed.items()} == {
        key: count for key, (count, _total) in added.items() if count
    }
    # Times differ from call to call; token counts do not.
    for key, (_count, total) in replayed.items():
        if key[0] == "gen_ai.client.token.usage":
            assert total == added[key][1]


def test_spans_are_replayed_with_the_attributes_they_started_with() -> None:
    setup = workload.Setup()
    starts = workload.StartAttributes()
    setup.tracer_provider.add_span_processor(starts)
    setup.instrument()
    try:
        client = workload._client()
        floor = workload.Floor(lambda: workload._call(client), setup.exporter, setup.reader, starts)
    finally:
        setup.uninstrument()

    ((_name, _kind, at_start, later, _events, _status),) = floor.spans
    assert "gen_ai.request.model" in at_start and "gen_ai.response.model" in later
    assert not set(at_start) & set(later)


def test_the_benchmark_runs_to_the_end() -> None:
    """`make bench` on a few calls, for what it reaches into (no figure is checked: timings are not tested)."""
    import subprocess

    script = Path(__file__).resolve().parent.parent / "bench" / "bench_overhead.py"
    done = subprocess.run(
        [sys.executable, str(script), "--rounds", "2", "--calls", "4", "--streams", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| non-streaming chat call |" in done.stdout
    assert "| Ollama: 100-chunk stream |" in done.stdout
