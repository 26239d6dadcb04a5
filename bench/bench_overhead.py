"""Overhead of genai-otel on the OpenAI and Ollama clients, against the bare client and the OpenTelemetry
SDK floor.

    python bench/bench_overhead.py [--rounds 12] [--calls 150] [--streams 20] [--write docs/performance.md]
    python bench/bench_overhead.py --active-requests [--rounds 12]

Everything runs in one process, interleaved round by round so that machine noise hits every mode
alike. The client talks to an in-process transport (no sockets); spans go to an in-memory exporter
through a SimpleSpanProcessor, metrics to an InMemoryMetricReader. Modes:

* ``bare``: the uninstrumented client;
* ``instrumented``: genai-otel on, all four semconv metrics;
* ``instrumented, no TPOC``: the same with ``time_per_output_chunk`` dropped by an SDK View
  (the one metric with a point per chunk);
* ``floor``: the SDK alone creating the same span (same name, kind, the same attributes at start and
  the rest set before it ends) and recording the same metric points with the same attributes, taken
  from a real instrumented call: what any instrumentation emitting this telemetry must pay.

The Ollama rows measure ``ollama.Client.chat`` the same way, over an in-process httpx transport
answering with Ollama's JSON and NDJSON.

``--active-requests`` measures only what ``GENAI_OTEL_ACTIVE_REQUESTS=true`` adds to a call: the SDK's
two ``add()`` calls on the up-down counter (with the attribute dict they take), alone, and a chat call
instrumented with the counter against one without, paired.

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
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import ollama
import openai
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal.measurement_consumer import SynchronousMeasurementConsumer
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Sum
from opentelemetry.sdk.metrics.view import DropAggregation, View
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from genai_otel import semconv as sc
from genai_otel.ollama import OllamaInstrumentor
from genai_otel.openai import OpenAIInstrumentor

CHUNKS = 100  # output chunks per stream: a role chunk, 98 content chunks, a finish chunk
MESSAGES = [{"role": "user", "content": "Where is my parcel? It was due yesterday."}]
# Input hashes are on only with a key (HMAC-SHA-256); the rows that measure them set this one.
HASH_KEY = "bench-hash-key"

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


def _prompt(kilobytes: int) -> str:
    """Support-ticket-like text with an e-mail address and a phone number every few hundred bytes."""
    line = "My parcel 48213 was due on Monday; reach me at jane.roe@example.org or +1 415-555-0134 please. "
    return (line * (kilobytes * 1024 // len(line) + 1))[: kilobytes * 1024]


PROMPTS = {1: _prompt(1), 16: _prompt(16)}


def _call_with_prompt(kilobytes: int) -> Callable[[openai.OpenAI], None]:
    messages = [{"role": "user", "content": PROMPTS[kilobytes]}]

    def call(client: openai.OpenAI) -> None:
        client.chat.completions.create(model="gpt-bench", messages=messages, temperature=0.2)

    return call


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
    def __init__(
        self, drop_tpoc: bool = False, instrumentor: type[Any] = OpenAIInstrumentor, **instrument_kwargs: Any
    ) -> None:
        self.instrumentor = instrumentor
        self.instrument_kwargs = instrument_kwargs
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        views = [View(instrument_name=sc.METRIC_TIME_PER_OUTPUT_CHUNK, aggregation=DropAggregation())]
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader], views=views if drop_tpoc else [])

    def instrument(self) -> None:
        self.instrumentor().instrument(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **self.instrument_kwargs
        )

    def uninstrument(self) -> None:
        self.instrumentor().uninstrument()


class StartAttributes(SpanProcessor):
    """Keeps the attributes each span started with."""

    def __init__(self) -> None:
        self.attributes: dict[int, dict[str, Any]] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.attributes[span.context.span_id] = dict(span.attributes or {})


def point_totals(reader: Any) -> dict[tuple[str, str, tuple[tuple[str, Any], ...]], tuple[int, float]]:
    """Per metric, kind and attribute set: measurements so far and their total (cumulative)."""
    totals = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    attributes = tuple(sorted(point.attributes.items()))
                    if isinstance(point, HistogramDataPoint):
                        key, total = (metric.name, "histogram", attributes), (point.count, point.sum)
                    elif isinstance(metric.data, Sum):
                        kind = "counter" if metric.data.is_monotonic else "up_down_counter"
                        # A sum keeps no count of adds: a call that changed it is replayed as one add
                        # (an up-down counter's +1 and -1 in one call net to nothing and are not replayed).
                        key, total = (metric.name, kind, attributes), (0, point.value)
                    else:
                        continue
                    totals[key] = total
    return totals


def sampled_measurements(run_once: Callable[[], None]) -> Counter[tuple[str, tuple[tuple[str, Any], ...]]]:
    """Per instrument name and attribute set, how many of the measurements ``run_once`` makes are
    recorded in a sampled span's context, for which the SDK keeps an exemplar. Counted where the SDK asks
    its exemplar filter, for this call only (a collected point shows one exemplar per bucket at most)."""
    counts: Counter[tuple[str, tuple[tuple[str, Any], ...]]] = Counter()
    original = SynchronousMeasurementConsumer.consume_measurement

    def counting(consumer: Any, measurement: Any) -> None:
        sampled = consumer._sdk_config.exemplar_filter.should_sample(
            measurement.value, measurement.time_unix_nano, measurement.attributes, measurement.context
        )
        if sampled:
            counts[(measurement.instrument.name, tuple(sorted((measurement.attributes or {}).items())))] += 1
        original(consumer, measurement)

    SynchronousMeasurementConsumer.consume_measurement = counting  # type: ignore[method-assign]
    try:
        run_once()
    finally:
        SynchronousMeasurementConsumer.consume_measurement = original  # type: ignore[method-assign]
    return counts


class Floor:
    """The SDK alone, in a set-up of its own, emitting exactly what one instrumented call emitted: each
    span (name, kind, the attributes it started with, those set before it ended, its events and status)
    and each metric point (instrument, value, attributes, and whether it was recorded in a sampled span's
    context, which costs the SDK an exemplar).

    ``run_once`` makes the call; ``exporter`` and ``reader`` are where the instrumentation's telemetry
    goes, and ``starts`` must be one of its tracer provider's span processors."""

    def __init__(
        self,
        run_once: Callable[[], None],
        exporter: InMemorySpanExporter,
        reader: InMemoryMetricReader,
        starts: StartAttributes,
        drop_tpoc: bool = False,
    ) -> None:
        exporter.clear()
        before = point_totals(reader)
        sampled = sampled_measurements(run_once)
        after = point_totals(reader)
        self.spans = []
        for span in exporter.get_finished_spans():
            at_start = starts.attributes.get(span.context.span_id, {})
            later = {
                k: v for k, v in (span.attributes or {}).items() if k not in at_start or at_start[k] != v
            }
            events = [(event.name, dict(event.attributes or {})) for event in span.events]
            self.spans.append((span.name, span.kind, at_start, later, events, span.status))
        exporter.clear()
        # (metric name, kind, value, attributes, in a span's context), one per record() or add()
        self.points: list[tuple[str, str, float, dict[str, Any], bool]] = []
        for key, (count, total) in after.items():
            name, kind, attributes = key
            if drop_tpoc and name == sc.METRIC_TIME_PER_OUTPUT_CHUNK:
                continue
            earlier_count, earlier_total = before.get(key, (0, 0))
            added_count, added_total = count - earlier_count, total - earlier_total
            in_span = sampled[(name, attributes)]
            if kind == "histogram" and added_count > 0:
                mean = added_total / added_count
                self.points += [
                    (name, kind, mean, dict(attributes), index < in_span) for index in range(added_count)
                ]
            elif kind != "histogram" and added_total != 0:
                self.points.append((name, kind, added_total, dict(attributes), in_span > 0))
        self.setup = Setup(drop_tpoc)
        self.tracer = self.setup.tracer_provider.get_tracer("floor")
        meter = self.setup.meter_provider.get_meter("floor")
        create = {"histogram": meter.create_histogram, "counter": meter.create_counter}
        instruments = {}
        for name, kind, _value, _attributes, _in_span in self.points:
            if (name, kind) not in instruments:
                instrument = create.get(kind, meter.create_up_down_counter)(name)
                instruments[(name, kind)] = instrument.record if kind == "histogram" else instrument.add
        self._replay = [
            (instruments[(name, kind)], value, attributes, in_span)
            for name, kind, value, attributes, in_span in self.points
        ]

    @classmethod
    def of(
        cls,
        operation: Callable[[Any], None],
        drop_tpoc: bool = False,
        make_client: Callable[[], Any] | None = None,
        **probe_kwargs: Any,
    ) -> Floor:
        """The floor of one ``operation(client)`` instrumented by genai-otel with ``probe_kwargs``."""
        probe = Setup(**probe_kwargs)
        starts = StartAttributes()
        probe.tracer_provider.add_span_processor(starts)
        probe.instrument()
        try:
            client = (make_client or _client)()
            return cls(lambda: operation(client), probe.exporter, probe.reader, starts, drop_tpoc)
        finally:
            probe.uninstrument()

    def emit(self) -> None:
        tracer = self.tracer
        context = None
        for name, kind, at_start, later, events, status in self.spans:
            span = tracer.start_span(name, kind=kind, attributes=at_start)
            if context is None:
                context = trace.set_span_in_context(span)
            if later:
                span.set_attributes(later)
            for event_name, event_attributes in events:
                span.add_event(event_name, event_attributes)
            if status.status_code is not StatusCode.UNSET:
                span.set_status(status)
            span.end()
        for record, value, attributes, in_span in self._replay:
            record(value, attributes, context if in_span else None)


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
        call._claim_the_ending()  # ended already: nothing records it
        iterator = TracedIterator(iter(chunks), call, on_chunk)
        start = clock()
        for _chunk in range(CHUNKS):
            next(iterator)
        traced.append(clock() - start)
    per_chunk = lambda samples: statistics.median(samples) / CHUNKS / 1000  # noqa: E731
    return per_chunk(plain), per_chunk(traced)


def _record_alone(repeat: int, floor: Floor, exemplar: bool = False) -> float:
    """Median µs of one SDK ``record()`` of a time-per-output-chunk point (its attributes, as ours), alone;
    outside any span, as all of a stream's gaps but its slowest, or with ``exemplar`` in a sampled span's
    context."""
    (attributes,) = {
        tuple(sorted(attributes.items()))
        for name, _kind, _value, attributes, _in_span in floor.points
        if name == sc.METRIC_TIME_PER_OUTPUT_CHUNK
    }
    setup = Setup()
    histogram = setup.meter_provider.get_meter("alone").create_histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    span = setup.tracer_provider.get_tracer("alone").start_span("stream")
    record, point = histogram.record, dict(attributes)
    context = trace.set_span_in_context(span) if exemplar else None
    timings = []
    for _ in range(repeat):
        start = time.thread_time_ns()
        for _chunk in range(CHUNKS):
            record(0.01, point, context)
        timings.append(time.thread_time_ns() - start)
    return statistics.median(timings) / CHUNKS / 1000


_PROSE = "The parcel left the depot at 09:40 and should arrive on Thursday; contact support if late. "


def _redaction_only_per_kb(repeat: int) -> tuple[float, float]:
    """Median µs per KB for the built-in redaction gate alone on 16 KB of plain prose and of the
    dense-PII benchmark prompt."""
    from genai_otel.redaction import RedactionPolicy

    policy = RedactionPolicy()
    prose = (_PROSE * (16 * 1024 // len(_PROSE) + 1))[: 16 * 1024]
    results = []
    for text in (prose, PROMPTS[16]):
        policy.redact(text)
        timings = []
        for _ in range(repeat):
            start = time.thread_time_ns()
            policy.redact(text)
            timings.append(time.thread_time_ns() - start)
        results.append(statistics.median(timings) / 16 / 1000)
    return results[0], results[1]


def run(rounds: int, calls: int, streams: int) -> dict[str, Any]:
    client = _client()
    call_floor = Floor.of(_call)
    hashed = {"hash_key": HASH_KEY}
    call_floor_hashed = Floor.of(_call, **hashed)
    stream_floor = Floor.of(_stream)
    stream_floor_no_tpoc = Floor.of(_stream, drop_tpoc=True)
    capture = {"capture_message_content": "SPAN_ONLY"}
    sized = {kb: _call_with_prompt(kb) for kb in PROMPTS}
    sized_floors = {(kb, False): Floor.of(call, **hashed) for kb, call in sized.items()}
    sized_floors.update({(kb, True): Floor.of(call, **capture) for kb, call in sized.items()})
    setups = {
        "full": (Setup(), stream_floor),
        "view_drop": (Setup(drop_tpoc=True), stream_floor_no_tpoc),
        "tpoc_off": (Setup(time_per_output_chunk=False), stream_floor_no_tpoc),
        "capture": (Setup(**capture), None),
        "hashed": (Setup(**hashed), None),
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
                    if label in ("hashed", "capture"):
                        for kb, call in sized.items():
                            _paired(
                                lambda bare_client=bare_client, call=call: call(bare_client),
                                lambda call=call: call(client),
                                sized_floors[(kb, label == "capture")].emit,
                                calls // 3,
                                samples.setdefault(f"{label} {kb}KB", _new_samples()),
                            )
                    if label == "hashed":
                        _paired(
                            lambda bare_client=bare_client: _call(bare_client),
                            lambda: _call(client),
                            call_floor_hashed.emit,
                            calls,
                            samples.setdefault("call hashed", _new_samples()),
                        )
                    if label in ("capture", "hashed"):
                        continue
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
                    floors = (call_floor, call_floor_hashed, *sized_floors.values())
                    for each in (setup, *(f.setup for f in floors)):
                        each.exporter.clear()
                    if floor is not None:
                        floor.setup.exporter.clear()
            if warm_up:
                samples.clear()
    median_us = {
        f"{kind} {key}": statistics.median(values) / 1000
        for kind, by_key in samples.items()
        for key, values in by_key.items()
    }
    plain_chunk, traced_chunk = _wrapper_only_per_chunk(repeat=rounds * 250)
    prose_kb, dense_kb = _redaction_only_per_kb(repeat=rounds * 5)
    return {
        "median_us": median_us,
        "wrapper_per_chunk_us": traced_chunk - plain_chunk,
        "record_alone_us": _record_alone(rounds * 25, stream_floor),
        "record_alone_exemplar_us": _record_alone(rounds * 25, stream_floor, exemplar=True),
        "redaction_prose_per_kb_us": prose_kb,
        "redaction_dense_per_kb_us": dense_kb,
    }


def active_requests_cost(rounds: int) -> dict[str, float]:
    """Median µs per call that the active-requests counter adds (see the module docstring)."""
    reader = InMemoryMetricReader()
    counter = (
        MeterProvider(metric_readers=[reader])
        .get_meter("bench")
        .create_up_down_counter(sc.METRIC_CLIENT_ACTIVE_REQUESTS, unit=sc.UNIT_REQUESTS)
    )
    clock = time.thread_time_ns
    batch = 1000
    per_pair = []
    for _ in range(rounds * 10):
        t0 = clock()
        for _ in range(batch):
            attributes = {
                sc.GEN_AI_OPERATION_NAME: "chat",
                sc.GEN_AI_PROVIDER_NAME: "openai",
                sc.GEN_AI_REQUEST_MODEL: "gpt-bench",
            }
            counter.add(1, attributes)
            counter.add(-1, attributes)
        per_pair.append((clock() - t0) / batch)
    client = _client()
    setups = {"off": Setup(), "on": Setup(active_requests=True)}
    samples: dict[str, list[int]] = {"off": [], "on": []}
    for warm_up in (True, False):
        for _ in range(1 if warm_up else rounds):
            for label, setup in random.sample(list(setups.items()), 2):
                setup.instrument()
                gc.collect()
                gc.disable()
                try:
                    for _ in range(150):
                        t0 = clock()
                        _call(client)
                        samples[label].append(clock() - t0)
                finally:
                    gc.enable()
                    setup.uninstrument()
                    setup.exporter.clear()
            if warm_up:
                samples = {"off": [], "on": []}
    return {
        "sdk_two_adds_us": statistics.median(per_pair) / 1000,
        "call_off_us": statistics.median(samples["off"]) / 1000,
        "call_on_us": statistics.median(samples["on"]) / 1000,
    }


def _new_samples() -> dict[str, list[int]]:
    return {"bare": [], "overhead": [], "floor": []}


class _Unwrapped:
    """``chat.completions`` with ``create`` bound to the original, uninstrumented function."""

    def __init__(self, original: Callable[..., Any], resource: Any) -> None:
        self._original = original
        self._resource = resource

    def create(self, **kwargs: Any) -> Any:
        return self._original(self._resource, **kwargs)


# --- Ollama ---------------------------------------------------------------------------------------------------
OLLAMA_MESSAGES = MESSAGES


def _ollama_done(eval_count: int) -> dict[str, Any]:
    return {
        "done": True,
        "done_reason": "stop",
        "total_duration": 912_000_000,
        "load_duration": 2_100_000,
        "prompt_eval_count": 12,
        "prompt_eval_duration": 40_000_000,
        "eval_count": eval_count,
        "eval_duration": 8_000_000 * eval_count,
    }


def _ollama_chat_body() -> bytes:
    message = {"role": "assistant", "content": "It arrives tomorrow."}
    base = {"model": "llama-bench:latest", "created_at": "2026-01-01T00:00:00Z"}
    return json.dumps({**base, "message": message, **_ollama_done(4)}).encode()


def _ollama_stream_body() -> bytes:
    """NDJSON: 99 content chunks, then the done chunk (100 chunks, all output for our counting)."""
    base = {"model": "llama-bench:latest", "created_at": "2026-01-01T00:00:00Z"}
    lines = [
        {**base, "message": {"role": "assistant", "content": f"w{i} "}, "done": False}
        for i in range(CHUNKS - 1)
    ]
    lines.append({**base, "message": {"role": "assistant", "content": ""}, **_ollama_done(CHUNKS - 1)})
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


OLLAMA_CHAT = _ollama_chat_body()
OLLAMA_STREAM = _ollama_stream_body()


def _ollama_handler(request: httpx.Request) -> httpx.Response:
    if b'"stream":true' in request.content or b'"stream": true' in request.content:
        return httpx.Response(200, content=OLLAMA_STREAM, headers={"content-type": "application/x-ndjson"})
    return httpx.Response(200, content=OLLAMA_CHAT, headers={"content-type": "application/json"})


def _ollama_client() -> ollama.Client:
    return ollama.Client(host="http://bench.invalid:11434", transport=httpx.MockTransport(_ollama_handler))


def _ollama_call(chat: Callable[..., Any]) -> None:
    chat(model="llama-bench", messages=OLLAMA_MESSAGES, options={"temperature": 0.2})


def _ollama_stream(chat: Callable[..., Any]) -> None:
    for _ in chat(model="llama-bench", messages=OLLAMA_MESSAGES, options={"temperature": 0.2}, stream=True):
        pass


def run_ollama(rounds: int, calls: int, streams: int) -> dict[str, Any]:
    """The Ollama rows: the same paired method, the bare side calling the original ``Client.chat``."""
    client = _ollama_client()
    original = vars(ollama.Client)["chat"]  # taken before instrumenting: the bare client's own method

    def bare(**kwargs: Any) -> Any:
        return original(client, **kwargs)

    ollama_setup = {"make_client": _ollama_client, "instrumentor": OllamaInstrumentor}
    call_floor = Floor.of(lambda c: _ollama_call(c.chat), **ollama_setup)
    call_floor_server = Floor.of(lambda c: _ollama_call(c.chat), server_metrics=True, **ollama_setup)
    stream_floor = Floor.of(lambda c: _ollama_stream(c.chat), **ollama_setup)
    stream_floor_no_tpoc = Floor.of(lambda c: _ollama_stream(c.chat), drop_tpoc=True, **ollama_setup)
    setups = {
        "full": (Setup(instrumentor=OllamaInstrumentor), stream_floor),
        "tpoc_off": (
            Setup(instrumentor=OllamaInstrumentor, time_per_output_chunk=False),
            stream_floor_no_tpoc,
        ),
        "server": (Setup(instrumentor=OllamaInstrumentor, server_metrics=True), None),
    }
    samples: dict[str, dict[str, list[int]]] = {}
    for warm_up in (True, False):
        for _ in range(1 if warm_up else rounds):
            for label, (setup, floor) in random.sample(list(setups.items()), len(setups)):
                setup.instrument()
                gc.collect()
                gc.disable()
                try:
                    if label == "full":
                        _paired(
                            lambda: _ollama_call(bare),
                            lambda: _ollama_call(client.chat),
                            call_floor.emit,
                            calls,
                            samples.setdefault("ollama call", _new_samples()),
                        )
                    if label == "server":
                        _paired(
                            lambda: _ollama_call(bare),
                            lambda: _ollama_call(client.chat),
                            call_floor_server.emit,
                            calls,
                            samples.setdefault("ollama call server", _new_samples()),
                        )
                        continue
                    _paired(
                        lambda: _ollama_stream(bare),
                        lambda: _ollama_stream(client.chat),
                        floor.emit,
                        streams,
                        samples.setdefault(f"ollama stream {label}", _new_samples()),
                    )
                finally:
                    gc.enable()
                    setup.uninstrument()
                    for each in (setup, call_floor.setup, call_floor_server.setup):
                        each.exporter.clear()
                    if floor is not None:
                        floor.setup.exporter.clear()
            if warm_up:
                samples.clear()
    median_us = {
        f"{kind} {key}": statistics.median(values) / 1000
        for kind, by_key in samples.items()
        for key, values in by_key.items()
    }
    plain_chunk, traced_chunk = _ollama_wrapper_only_per_chunk(repeat=rounds * 250)
    return {"median_us": median_us, "ollama_wrapper_per_chunk_us": traced_chunk - plain_chunk}


def _ollama_wrapper_only_per_chunk(repeat: int) -> tuple[float, float]:
    """Median µs per chunk: plain iteration over 100 ChatResponse objects, and through the generator the
    caller gets (ours around a TracedIterator) with the Ollama adapter reading each chunk."""
    from genai_otel.ollama import _adapter
    from genai_otel.operation import Operation
    from genai_otel.recording import Call
    from genai_otel.streaming import TracedIterator, traced_generator

    chunks = [ollama.ChatResponse(**json.loads(line)) for line in OLLAMA_STREAM.decode().splitlines()]
    plain: list[int] = []
    traced: list[int] = []
    clock = time.thread_time_ns
    on_chunk = _adapter.ChatEndpoint.on_chunk
    for _ in range(repeat):
        iterator = iter(chunks)
        start = clock()
        for _chunk in iterator:
            pass
        plain.append(clock() - start)
        # A call that is never ended or recorded: this row is about the per-chunk path alone.
        call = Call(None, Operation("chat", "ollama", "llama-bench"), None, clock(), time.time_ns())  # type: ignore[arg-type]
        call.chunk_gaps = array("q")
        call._claim_the_ending()  # ended already: nothing records it
        generator = traced_generator(TracedIterator(iter(chunks), call, on_chunk))
        start = clock()
        for _chunk in generator:
            pass
        traced.append(clock() - start)
    per_chunk = lambda samples: statistics.median(samples) / CHUNKS / 1000  # noqa: E731
    return per_chunk(plain), per_chunk(traced)


def report(result: dict[str, Any], command: str) -> str:
    m = result["median_us"]
    rows = [
        ("non-streaming chat call", "call"),
        ("non-streaming chat call, input hashes on (`GENAI_OTEL_HASH_KEY` set)", "call hashed"),
        (f"{CHUNKS}-chunk stream", "stream full"),
        (f"{CHUNKS}-chunk stream, TPOC dropped by an SDK View", "stream view_drop"),
        (f"{CHUNKS}-chunk stream, `GENAI_OTEL_TIME_PER_OUTPUT_CHUNK=false`", "stream tpoc_off"),
        ("chat call, 1 KB prompt, content off, input hashes on", "hashed 1KB"),
        ("chat call, 16 KB prompt, content off, input hashes on", "hashed 16KB"),
        ("chat call, 1 KB prompt, `SPAN_ONLY` capture with redaction", "capture 1KB"),
        ("chat call, 16 KB prompt, `SPAN_ONLY` capture with redaction", "capture 16KB"),
        ("Ollama: non-streaming chat call", "ollama call"),
        ("Ollama: non-streaming chat call, `GENAI_OTEL_SERVER_METRICS=true`", "ollama call server"),
        (f"Ollama: {CHUNKS}-chunk stream", "ollama stream full"),
        (f"Ollama: {CHUNKS}-chunk stream, TPOC off", "ollama stream tpoc_off"),
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
        f"| what TPOC adds per chunk: (all semconv metrics - TPOC off) / {CHUNKS} | "
        f"{(m['stream full overhead'] - m['stream tpoc_off overhead']) / CHUNKS:.2f} |",
        f"| one SDK `record()` of a TPOC point with its attributes, alone | {result['record_alone_us']:.2f} |",
        "| the same `record()` with an exemplar (in a sampled span's context: a stream's slowest gap) | "
        f"{result['record_alone_exemplar_us']:.2f} |",
        f"| Ollama: the stream wrapper alone (our generator, timestamp, chunk reading, gap buffer), no SDK | "
        f"{result['ollama_wrapper_per_chunk_us']:.2f} |",
        f"| Ollama: all-in, TPOC off: whole stream overhead / {CHUNKS} | {m['ollama stream tpoc_off overhead'] / CHUNKS:.2f} |",
        f"| Ollama: all-in, all semconv metrics: whole stream overhead / {CHUNKS} | "
        f"{m['ollama stream full overhead'] / CHUNKS:.2f} |",
        f"| Ollama: what TPOC adds per chunk | "
        f"{(m['ollama stream full overhead'] - m['ollama stream tpoc_off overhead']) / CHUNKS:.2f} |",
        "",
        "| per KB of message text | µs |",
        "|---|---:|",
        f"| content off, input hashes on: hashing | {(m['hashed 16KB overhead'] - m['hashed 1KB overhead']) / 15:.1f} |",
        f"| `SPAN_ONLY` capture: redaction, JSON and the larger span | "
        f"{(m['capture 16KB overhead'] - m['capture 1KB overhead']) / 15:.1f} |",
        f"| the redaction gate alone, plain prose | {result['redaction_prose_per_kb_us']:.1f} |",
        f"| the redaction gate alone, the dense-PII prompt above | {result['redaction_dense_per_kb_us']:.1f} |",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, openai {openai.__version__}, "
        f"ollama {_version('ollama')}, "
        f"opentelemetry-sdk {_sdk_version()}. Command: `{command}`.",
    ]
    return "\n".join(lines)


def _sdk_version() -> str:
    return _version("opentelemetry-sdk")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--write", metavar="MARKDOWN", help="replace the figures section of this file")
    parser.add_argument(
        "--active-requests", action="store_true", help="measure only what GENAI_OTEL_ACTIVE_REQUESTS adds"
    )
    args = parser.parse_args()
    command = "python " + " ".join(sys.argv)
    if args.active_requests:
        cost = active_requests_cost(args.rounds)
        print(
            f"active requests: the SDK's two add() calls {cost['sdk_two_adds_us']:.2f} µs; chat call "
            f"{cost['call_off_us']:.1f} µs off, {cost['call_on_us']:.1f} µs on "
            f"(+{cost['call_on_us'] - cost['call_off_us']:.1f} µs). Machine: {platform.machine()}, "
            f"Python {platform.python_version()}, opentelemetry-sdk {_sdk_version()}. Command: `{command}`."
        )
        return
    result = run(args.rounds, args.calls, args.streams)
    ollama_result = run_ollama(args.rounds, args.calls, args.streams)
    result["median_us"].update(ollama_result.pop("median_us"))
    result.update(ollama_result)
    table = report(result, command)
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
