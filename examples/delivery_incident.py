"""The delivery-answer incident, end to end: a regressed template serves invented ETAs while latency stays
healthy, the unsafe-serve metric rises, and its exemplar leads to the trace that did it.

    python examples/delivery_incident.py

Runs against the loopback server (no key, no internet), half the requests through the OpenAI client and
half through the Ollama client. The "model" always promises delivery "within two days"; whether that
promise is supported depends on the tracking record, and whether it reaches the customer depends on the
template: the strict one checks every claim against the evidence and abstains, the regressed one does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ollama
import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import genai_otel
from genai_otel import semconv as sc
from genai_otel.ollama import OllamaInstrumentor
from genai_otel.openai import OpenAIInstrumentor
from genai_otel.testing.fake_server import FakeLLMServer

EVIDENCE_VERSION = "fastship@v17"
STRICT = "tracking-answerer-v1"
REGRESSED = "tracking-answerer-v1.1-regression"

# parcel id -> the tracking record the answer must be grounded in
TRACKING = {
    "P-201": {"status": "out for delivery", "eta": "today"},
    "P-202": {"status": "label created", "eta": None},
    "P-203": {"status": "held at customs", "eta": None},
    "P-204": {"status": "in transit", "eta": None},
    "P-205": {"status": "label created", "eta": None},
    "P-206": {"status": "exception: address unclear", "eta": None},
}


@dataclass
class Verdict:
    route: str
    first_failed_stage: str
    unsafe_claim_served: bool


@genai_otel.tool(description="Tracking record of a parcel")
def fetch_tracking(parcel_id: str) -> dict[str, Any]:
    return TRACKING[parcel_id]


def ask_model(llm: Any, question: str, evidence: dict[str, Any]) -> str:
    prompt = [
        {"role": "system", "content": "Answer delivery questions from the tracking record only."},
        {"role": "user", "content": f"{question}\nTracking record: {evidence}"},
    ]
    if isinstance(llm, openai.OpenAI):
        return (
            llm.chat.completions.create(model="gpt-4o-mini", messages=prompt).choices[0].message.content or ""
        )
    return llm.chat(model="llama3.2", messages=prompt).message.content or ""


def claim_gate(template: str, answer: str, evidence: dict[str, Any]) -> Verdict:
    promises_eta = "arrive" in answer or "days" in answer
    supported = evidence["eta"] is not None
    if template == STRICT:
        if promises_eta and not supported:
            return Verdict("abstain", "claim_generation", False)
        return Verdict("serve", "passed", False)
    # the regression: the serving gate lets every generated claim through
    if promises_eta and not supported:
        return Verdict("serve", "serving_gate", True)
    return Verdict("serve", "passed", False)


def handle(llm: Any, parcel_id: str, template: str) -> Verdict:
    return answer_question(llm, parcel_id, template)[0]


def answer_question(llm: Any, parcel_id: str, template: str) -> tuple[Verdict, str, dict[str, Any]]:
    """One request: the verdict of the claim gate, the drafted answer and the evidence it was checked on."""
    with genai_otel.product_context(
        "answer delivery question",
        template_id=template,
        evidence_version=EVIDENCE_VERSION,
        conversation_id=parcel_id,
    ):
        evidence = fetch_tracking(parcel_id)
        answer = ask_model(llm, f"When will parcel {parcel_id} arrive?", evidence)
        verdict = claim_gate(template, answer, evidence)
        genai_otel.record_outcome(
            route=verdict.route,
            first_failed_stage=verdict.first_failed_stage,
            unsafe_claim_served=verdict.unsafe_claim_served,
        )
        return verdict, answer, evidence


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    points: dict[str, list[Any]] = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points.setdefault(metric.name, []).extend(metric.data.data_points)
    return points


def main() -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    for instrumentor in (OpenAIInstrumentor(), OllamaInstrumentor()):
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    genai_otel.configure_product(tracer_provider=tracer_provider, meter_provider=meter_provider)

    with FakeLLMServer() as server:
        clients = [
            openai.OpenAI(base_url=server.openai_base_url, api_key="no-key-needed", max_retries=0),
            ollama.Client(host=server.base_url),
        ]
        window = [(parcel, STRICT) for parcel in ("P-201", "P-202", "P-203", "P-204")]
        window += [(parcel, REGRESSED) for parcel in ("P-205", "P-206")]
        print("request  template                              client  route    stage              unsafe")
        for number, (parcel, template) in enumerate(window):
            client = clients[number % 2]
            verdict = handle(client, parcel, template)
            client_name = "openai" if isinstance(client, openai.OpenAI) else "ollama"
            print(
                f"{parcel}    {template:37} {client_name:7} {verdict.route:8} "
                f"{verdict.first_failed_stage:18} {'UNSAFE SERVE' if verdict.unsafe_claim_served else '-'}"
            )

    points = metric_points(reader)
    durations = [p for p in points[sc.METRIC_OPERATION_DURATION]]
    mean_ms = 1000 * sum(p.sum for p in durations) / sum(p.count for p in durations)
    worst_ms = 1000 * max(p.max for p in durations)
    unsafe = points.get(sc.METRIC_PRODUCT_UNSAFE_CLAIMS_SERVED, [])
    requests = sum(p.value for p in points[sc.METRIC_PRODUCT_REQUESTS])
    served = sum(p.value for p in unsafe)
    print(
        f"\nwindow: {requests} requests, {served} unsafe serves, LLM latency mean {mean_ms:.0f} ms, max {worst_ms:.0f} ms"
    )
    print("latency is healthy; the safety invariant (0 unsafe serves) is broken: this pages.")

    exemplar_point = next(p for p in unsafe if p.exemplars)
    exemplar = exemplar_point.exemplars[0]
    trace_spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == exemplar.trace_id]
    request_span = next(s for s in trace_spans if s.name == "answer delivery question")
    chat_span = next(s for s in trace_spans if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "chat")
    print("\nincident summary")
    print(f"  exemplar trace id : {exemplar.trace_id:032x}")
    print(f"  template          : {exemplar_point.attributes['app.prompt.template_id']}")
    print(f"  evidence version  : {exemplar_point.attributes['app.evidence.version']}")
    print(f"  first failed stage: {exemplar_point.attributes['app.first_failed_stage']}")
    print(f"  conversation      : {request_span.attributes[sc.GEN_AI_CONVERSATION_ID]}")
    print(f"  model call        : {chat_span.name} via {chat_span.attributes[sc.GEN_AI_PROVIDER_NAME]}")
    print(
        f"  spans in trace    : {', '.join(s.name for s in sorted(trace_spans, key=lambda s: s.start_time))}"
    )
    print(
        f"  first check       : compare {exemplar_point.attributes['app.prompt.template_id']} with {STRICT}"
    )
    assert served == 2


if __name__ == "__main__":
    main()
