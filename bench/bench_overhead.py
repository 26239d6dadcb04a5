"""Overhead of genai-otel on the OpenAI client, against the bare client and the OpenTelemetry SDK floor.

    python bench/bench_overhead.py [--rounds 12] [--calls 150] [--streams 20] [--write docs/performance.md]

Everything runs in one process, interleaved round by round so that machine noise hits every mode
alike. The client talks to an in-process transport (no sockets); spans go to an in-memory exporter
through a SimpleSpanProcessor, metrics to an InMemoryMetricReader. Modes:

* ``bare``: the uninstrumented client;
* ``instrumented``: genai-otel on, all four semconv metrics;
* ``instrumented, no TPOC``: the same with ``time_per_output_chunk`` dropped by an SDK View
  (the one metric with a point per chunk);
* ``floor``: the SDK alone creating the same span (same name, kind, attributes) and recording the
  same metric points with the same attributes, taken from a real instrumented call: what any
  instrumentation emitting this telemetry must pay.

Per-call figures are medians of single-call CPU times (``time.thread_time_ns``). "Ours beyond the floor" is instrumented minus
bare minus floor: the cost of genai-otel's own code. The per-chunk row also times the stream wrapper
alone over 100 prebuilt chunk objects, with no SDK involved.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
from array import array
from collections.abc import Callable
from typing import Any

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import DropAggregation, View
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from genai_otel import semconv as sc
from genai_otel.openai import OpenAIInstrumentor

CHUNKS = 100  # output chunks per stream: a role chunk, 98 content chunks, a finish chunk
MESSAGES = [{"role": "user", "content": "Where is my parcel? It was due yesterday."}]

if int(openai.__version__.split(".")[0]) >= 3:
    import httpx2 as httpx_module
else:  # pragma: no cover - openai 1.x/2.x
    import httpx as httpx_module  # type: ignore[no-redef]


# --- canned responses ----------------------------------------------------------------------------------
def _completion_body() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-bench-2026",
            "system_fingerprint": "fp_bench",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "It arrives tomorrow.", "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
        }
    ).encode()


def _stream_body() -> bytes:
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-bench-2026",
    }
    deltas = [{"role": "assistant", "content": ""}] + [{"content": f"w{i} "} for i in range(CHUNKS - 2)]
    events = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append(
        {**base, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 98, "total_tokens": 110}}
    )
    lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


COMPLETION = _completion_body()
STREAM = _stream_body()


def _handler(request: Any) -> Any:
    if b'"stream":true' in request.content or b'"stream": true' in request.content:
        return httpx_module.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    return httpx_module.Response(200, content=COMPLETION, headers={"content-type": "application/json"})


def _client() -> openai.OpenAI:
    return openai.OpenAI(
        base_url="https://bench.invalid/v1",
        api_key="sk-bench",
        max_retries=0,
        http_client=httpx_module.Client(transport=httpx_module.MockTransport(_handler)),
    )


def _call(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-bench", messages=MESSAGES, temperature=0.2)


def _stream(client: openai.OpenAI) -> None:
    for _ in client.chat.completions.create(
        model="gpt-bench",
        messages=MESSAGES,
        temperature=0.2,
        stream=True,
        stream_options={"include_usage": True},
    ):
        pass


# --- telemetry setups ------------------------------------------------------------------------------------
class Setup:
    def __init__(self, drop_tpoc: bool = False, **instrument_kwargs: Any) -> None:
        self.instrument_kwargs = instrument_kwargs
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        views = [View(instrument_name=sc.METRIC_TIME_PER_OUTPUT_CHUNK, aggregation=DropAggregation())]
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader], views=views if drop_tpoc else [])

    def instrument(self) -> None:
        OpenAIInstrumentor().instrument(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **self.instrument_kwargs
        )

    @staticmethod
    def uninstrument() -> None:
        OpenAIInstrumentor().uninstrument()


class Floor:
    """The SDK alone emitting exactly what one instrumented call emitted."""

    def __init__(self, operation: Callable[[openai.OpenAI], None], drop_tpoc: bool = False) -> None:
        probe = Setup()
        probe.instrument()
        try:
            operation(_client())
        finally:
            probe.uninstrument()
        (span,) = probe.exporter.get_finished_spans()
        self.name = span.name
        self.attributes = dict(span.attributes)
        self.points: list[tuple[str, float, dict[str, Any]]] = []
        for resource_metrics in probe.reader.get_metrics_data().resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if drop_tpoc and metric.name == sc.METRIC_TIME_PER_OUTPUT_CHUNK:
                        continue
                    for point in metric.data.data_points:
                        value = point.sum / point.count
                        self.points.extend(
                            (metric.name, value, dict(point.attributes)) for _ in range(point.count)
                        )
        self.setup = Setup(drop_tpoc)
        self.tracer = self.setup.tracer_provider.get_tracer("floor")
        meter = self.setup.meter_provider.get_meter("floor")
        self.instruments = {
            name: meter.create_histogram(name) for name in {point[0] for point in self.points}
        }

    def emit(self) -> None:
        span = self.tracer.start_span(self.name, kind=SpanKind.CLIENT, attributes=self.attributes)
        span.set_attributes(self.attributes)
        instruments = self.instruments
        for name, value, attributes in self.points:
            instruments[name].record(value, attributes)
        span.end()


# --- measurement ---------------------------------------------------------------------------------------------
def _paired(
    bare: Callable[[], None],
    instrumented: Callable[[], None],
    floor: Callable[[], None],
    repeat: int,
    samples: dict[str, list[int]],
) -> None:
    """Time bare and instrumented back to back (random order) and the floor right after, ``repeat`` times.

    Pairing puts both sides of a difference in the same machine state; CPU time of this thread
    (``time.thread_time_ns``) keeps other processes out of it."""
    clock = time.thread_time_ns
    for _ in range(repeat):
        bare_first = random.random() < 0.5
        first, second = (bare, instrumented) if bare_first else (instrumented, bare)
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        floor()
        t3 = clock()
        bare_ns, instrumented_ns = (t1 - t0, t2 - t1) if bare_first else (t2 - t1, t1 - t0)
        samples["bare"].append(bare_ns)
        samples["overhead"].append(instrumented_ns - bare_ns)
        samples["floor"].append(t3 - t2)


def _wrapper_only_per_chunk(repeat: int) -> tuple[float, float]:
    """Median µs per chunk: plain iteration over 100 chunk objects, and through TracedIterator."""
    from genai_otel.openai import _adapter
    from genai_otel.operation import Operation
    from genai_otel.recording import Call
    from genai_otel.streaming import TracedIterator

    _adapter.load_sentinels()
    body = STREAM.decode().split("\n\n")
    chunks = [
        openai.types.chat.ChatCompletionChunk.construct(**json.loads(line[6:]))
        for line in body
        if line.startswith("data: {")
    ][:CHUNKS]

    plain: list[int] = []
    traced: list[int] = []
    clock = time.thread_time_ns
    on_chunk = _adapter.ChatCompletionsEndpoint.on_chunk
    for _ in range(repeat):
        iterator = iter(chunks)
        start = clock()
        for _chunk in range(CHUNKS):
            next(iterator)
        plain.append(clock() - start)
        # A call that is never ended or recorded: this row is about the per-chunk path alone.
        call = Call(None, Operation("chat", "openai", "gpt-bench"), None, clock(), time.time_ns())  # type: ignore[arg-type]
        call.chunk_gaps = array("q")
        call._ended = True
        iterator = TracedIterator(iter(chunks), call, on_chunk)
        start = clock()
        for _chunk in range(CHUNKS):
            next(iterator)
        traced.append(clock() - start)
    per_chunk = lambda samples: statistics.median(samples) / CHUNKS / 1000  # noqa: E731
    return per_chunk(plain), per_chunk(traced)


def run(rounds: int, calls: int, streams: int) -> dict[str, Any]:
    client = _client()
    call_floor = Floor(_call)
    stream_floor = Floor(_stream)
    stream_floor_no_tpoc = Floor(_stream, drop_tpoc=True)
    setups = {
        "full": (Setup(), stream_floor),
        "view_drop": (Setup(drop_tpoc=True), stream_floor_no_tpoc),
        "tpoc_off": (Setup(time_per_output_chunk=False), stream_floor_no_tpoc),
    }
    samples: dict[str, dict[str, list[int]]] = {}
    for warm_up in (True, False):
        for _ in range(1 if warm_up else rounds):
            for label, (setup, floor) in random.sample(list(setups.items()), len(setups)):
                setup.instrument()
                # The original, unwrapped method: the bare client, called on the same resource.
                original = vars(type(client.chat.completions))["create"].__wrapped__
                resource = client.chat.completions
                bare_client = type("BareClient", (), {"chat": type("Chat", (), {"completions": None})()})()
                bare_client.chat.completions = _Unwrapped(original, resource)
                gc.collect()
                gc.disable()
                try:
                    if label == "full":
                        _paired(
                            lambda bare_client=bare_client: _call(bare_client),
                            lambda: _call(client),
                            call_floor.emit,
                            calls,
                            samples.setdefault("call", _new_samples()),
                        )
                    _paired(
                        lambda bare_client=bare_client: _stream(bare_client),
                        lambda: _stream(client),
                        floor.emit,
                        streams,
                        samples.setdefault(f"stream {label}", _new_samples()),
                    )
                finally:
                    gc.enable()
                    setup.uninstrument()
                    for each in (setup, call_floor.setup, floor.setup):
                        each.exporter.clear()
            if warm_up:
                samples.clear()
    median_us = {
        f"{kind} {key}": statistics.median(values) / 1000
        for kind, by_key in samples.items()
        for key, values in by_key.items()
    }
    plain_chunk, traced_chunk = _wrapper_only_per_chunk(repeat=rounds * 250)
    return {"median_us": median_us, "wrapper_per_chunk_us": traced_chunk - plain_chunk}


def _new_samples() -> dict[str, list[int]]:
    return {"bare": [], "overhead": [], "floor": []}


class _Unwrapped:
    """``chat.completions`` with ``create`` bound to the original, uninstrumented function."""

    def __init__(self, original: Callable[..., Any], resource: Any) -> None:
        self._original = original
        self._resource = resource

    def create(self, **kwargs: Any) -> Any:
        return self._original(self._resource, **kwargs)


def report(result: dict[str, Any], command: str) -> str:
    m = result["median_us"]
    rows = [
        ("non-streaming chat call", "call"),
        (f"{CHUNKS}-chunk stream", "stream full"),
        (f"{CHUNKS}-chunk stream, TPOC dropped by an SDK View", "stream view_drop"),
        (f"{CHUNKS}-chunk stream, `GENAI_OTEL_TIME_PER_OUTPUT_CHUNK=false`", "stream tpoc_off"),
    ]
    lines = [
        "| operation | bare client (µs) | genai-otel overhead (µs) | SDK floor (µs) | overhead / floor | ours beyond the floor (µs) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, key in rows:
        bare, overhead, floor = m[f"{key} bare"], m[f"{key} overhead"], m[f"{key} floor"]
        lines.append(
            f"| {label} | {bare:,.0f} | {overhead:,.0f} | {floor:,.0f} | {overhead / floor:.2f}x | {overhead - floor:,.0f} |"
        )
    lines += [
        "",
        "| per stream chunk | µs |",
        "|---|---:|",
        f"| the stream wrapper alone (timestamp, chunk reading, gap buffer), no SDK | {result['wrapper_per_chunk_us']:.2f} |",
        f"| all-in, TPOC off: whole stream overhead / {CHUNKS} (includes the per-call costs) | "
        f"{m['stream tpoc_off overhead'] / CHUNKS:.2f} |",
        f"| all-in, all semconv metrics: whole stream overhead / {CHUNKS} | {m['stream full overhead'] / CHUNKS:.2f} |",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, openai {openai.__version__}, "
        f"opentelemetry-sdk {_sdk_version()}. Command: `{command}`.",
    ]
    return "\n".join(lines)


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("opentelemetry-sdk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--write", metavar="MARKDOWN", help="replace the figures section of this file")
    args = parser.parse_args()
    command = "python " + " ".join(sys.argv)
    table = report(run(args.rounds, args.calls, args.streams), command)
    print(table)
    if args.write:
        with open(args.write, encoding="utf-8") as handle:
            text = handle.read()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        with open(args.write, "w", encoding="utf-8") as handle:
            handle.write(f"{head}{start}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
