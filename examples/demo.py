"""genai-otel demo: an instrumented app's LLM calls, shown as a span tree and a short summary.

    python examples/demo.py

With no ``OPENAI_API_KEY`` it starts a loopback OpenAI-compatible server (no key, no internet). With
``OPENAI_API_KEY`` (and optionally ``OPENAI_BASE_URL``) set, the same calls go to that API instead;
``DEMO_MODEL`` and ``DEMO_EMBEDDING_MODEL`` choose the models.

The Ollama leg talks to the same loopback server's Ollama API unless ``OLLAMA_HOST`` points at a real
Ollama (e.g. ``OLLAMA_HOST=127.0.0.1:11434``); ``DEMO_OLLAMA_MODEL`` and ``DEMO_OLLAMA_EMBEDDING_MODEL``
choose models you have pulled there.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
from collections.abc import Iterator
from typing import Any

import ollama
import openai
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_otel import semconv as sc
from genai_otel.ollama import OllamaInstrumentor
from genai_otel.openai import OpenAIInstrumentor

MODEL = os.environ.get("DEMO_MODEL", "gpt-4o-mini")
EMBEDDING_MODEL = os.environ.get("DEMO_EMBEDDING_MODEL", "text-embedding-3-small")
OLLAMA_MODEL = os.environ.get("DEMO_OLLAMA_MODEL", "llama3.2")
OLLAMA_EMBEDDING_MODEL = os.environ.get("DEMO_OLLAMA_EMBEDDING_MODEL", "nomic-embed-text")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@contextlib.contextmanager
def openai_endpoint() -> Iterator[tuple[openai.OpenAI, bool]]:
    """A client for the real API when a key is set, else for a loopback server."""
    if os.environ.get("OPENAI_API_KEY"):
        yield openai.OpenAI(), False
        return
    from genai_otel.testing.fake_server import FakeLLMServer

    with FakeLLMServer() as server:
        yield openai.OpenAI(base_url=server.openai_base_url, api_key="no-key-needed", max_retries=0), True


@contextlib.contextmanager
def ollama_endpoint() -> Iterator[tuple[ollama.Client, str | None]]:
    """A client for the Ollama at OLLAMA_HOST when it is set, else for a loopback server's Ollama API
    (then also its address, for clients that ask it for a scenario)."""
    if os.environ.get("OLLAMA_HOST"):
        yield ollama.Client(), None
        return
    from genai_otel.testing.fake_server import FakeLLMServer

    with FakeLLMServer() as server:
        yield ollama.Client(host=server.base_url), server.base_url


def get_weather(city: str) -> str:
    return f"{city}: sunny, 21 °C"


def run_app(client: openai.OpenAI, local: bool) -> None:
    tracer = trace.get_tracer("demo-app")
    question = [{"role": "user", "content": "Where is my parcel?"}]
    with tracer.start_as_current_span("answer customer question"):
        client.chat.completions.create(model=MODEL, messages=question, temperature=0.2, max_tokens=100)

        stream = client.chat.completions.create(
            model=MODEL, messages=question, stream=True, stream_options={"include_usage": True}
        )
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        print(f"streamed answer: {streamed.strip()}")

        client.embeddings.create(model=EMBEDDING_MODEL, input=["parcel tracking", "delivery estimate"])

    with tracer.start_as_current_span("tool-call round trip"):
        messages: list[dict[str, Any]] = [{"role": "user", "content": "What's the weather in Paris?"}]
        first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
        message = first.choices[0].message
        if message.tool_calls:
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                arguments = json.loads(call.function.arguments or "{}")
                result = get_weather(arguments.get("city", "Paris"))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
            final = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
            print(f"tool answer: {final.choices[0].message.content}")

    if local:  # a failing call, to show an error span (only against the loopback server)
        with contextlib.suppress(openai.RateLimitError):
            client.chat.completions.create(
                model=MODEL, messages=question, extra_headers={"X-Fake-Scenario": "status-429"}
            )


def run_local_model_app(client: ollama.Client, loopback: str | None) -> None:
    tracer = trace.get_tracer("demo-app")
    question = [{"role": "user", "content": "Where is my parcel?"}]
    with tracer.start_as_current_span("answer customer question (local model)"):
        client.chat(model=OLLAMA_MODEL, messages=question, options={"temperature": 0.2, "num_predict": 100})
        stream = client.chat(model=OLLAMA_MODEL, messages=question, stream=True)
        print(f"ollama streamed answer: {''.join(part.message.content or '' for part in stream).strip()}")
        client.generate(model=OLLAMA_MODEL, prompt="Summarise: the parcel left the depot this morning.")
        client.embed(model=OLLAMA_EMBEDDING_MODEL, input=["parcel tracking", "delivery estimate"])

    with tracer.start_as_current_span("tool-call round trip (local model)"):
        messages: list[Any] = [{"role": "user", "content": "What's the weather in Paris?"}]
        first = client.chat(model=OLLAMA_MODEL, messages=messages, tools=[WEATHER_TOOL])
        if first.message.tool_calls:
            messages.append(first.message)
            for call in first.message.tool_calls:
                city = call.function.arguments.get("city", "Paris")
                messages.append({"role": "tool", "content": get_weather(str(city))})
            final = client.chat(model=OLLAMA_MODEL, messages=messages, tools=[WEATHER_TOOL])
            print(f"ollama tool answer: {final.message.content}")

    if loopback:  # a cold model load and a missing model, to show both (only against the loopback server)
        cold = ollama.Client(host=loopback, headers={"X-Fake-Scenario": "cold-load"})
        cold.chat(model=OLLAMA_MODEL, messages=question)
        missing = ollama.Client(host=loopback, headers={"X-Fake-Scenario": "status-404"})
        with contextlib.suppress(ollama.ResponseError):
            missing.chat(model="llama-not-pulled", messages=question)


# --- output ------------------------------------------------------------------------------------------------
_SHOWN = {
    sc.GEN_AI_PROVIDER_NAME: "provider",
    sc.GEN_AI_RESPONSE_MODEL: "model",
    sc.GEN_AI_RESPONSE_FINISH_REASONS: "finish",
    sc.GEN_AI_USAGE_INPUT_TOKENS: "in",
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: "out",
    sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: "ttfc",
    sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: "dims",
    # The server's own view, reported by Ollama: model load, time to first token, time per output token.
    sc.OLLAMA_RESPONSE_LOAD_DURATION: "load",
    sc.OLLAMA_RESPONSE_TIME_TO_FIRST_TOKEN: "server ttft",
    sc.OLLAMA_RESPONSE_TIME_PER_OUTPUT_TOKEN: "server tpot",
    sc.ERROR_TYPE: "error",
}


def _describe(span: ReadableSpan) -> str:
    duration_ms = (span.end_time - span.start_time) / 1e6
    details = []
    for key, label in _SHOWN.items():
        value = span.attributes.get(key)
        if value is None:
            continue
        if isinstance(value, tuple):
            value = ",".join(map(str, value))
        if isinstance(value, float):
            value = f"{value * 1000:.1f}ms"
        details.append(f"{label}={value}")
    return f"{span.name}  [{duration_ms:.1f} ms]  " + " ".join(details)


def print_tree(spans: list[ReadableSpan]) -> None:
    children: dict[int | None, list[ReadableSpan]] = {}
    ids = {span.context.span_id for span in spans}
    for span in spans:
        parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
        children.setdefault(parent, []).append(span)

    def walk(parent: int | None, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda s: s.start_time)
        for index, span in enumerate(kids):
            last = index == len(kids) - 1
            print(f"{prefix}{'└─ ' if last else '├─ '}{_describe(span)}")
            walk(span.context.span_id, prefix + ("   " if last else "│  "))

    walk(None, "")


def print_summary(spans: list[ReadableSpan]) -> None:
    calls = [s for s in spans if sc.GEN_AI_OPERATION_NAME in s.attributes]
    durations = sorted((s.end_time - s.start_time) / 1e6 for s in calls)
    tokens_in = sum(s.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS, 0) for s in calls)
    tokens_out = sum(s.attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 0) for s in calls)
    errors = [s.attributes[sc.ERROR_TYPE] for s in calls if sc.ERROR_TYPE in s.attributes]
    p95 = statistics.quantiles(durations, n=20)[-1] if len(durations) > 1 else durations[0]
    print(
        f"\nsummary: {len(calls)} LLM calls, {tokens_in} input / {tokens_out} output tokens, "
        f"p95 latency {p95:.1f} ms, {len(errors)} error(s){': ' + ', '.join(errors) if errors else ''}"
    )


def main() -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "genai-otel-demo"}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    OllamaInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    with openai_endpoint() as (client, local):
        print(f"calling {'a loopback OpenAI-compatible server' if local else client.base_url}\n")
        run_app(client, local)
    with ollama_endpoint() as (local_model, loopback):
        where = "the loopback server as Ollama" if loopback else f"Ollama at {os.environ['OLLAMA_HOST']}"
        print(f"\ncalling {where}")
        try:
            run_local_model_app(local_model, loopback)
        except ollama.ResponseError as error:  # a real Ollama without the model: the span shows it too
            pull = f"ollama pull {OLLAMA_MODEL} && ollama pull {OLLAMA_EMBEDDING_MODEL}"
            print(f"ollama: {error} (try `{pull}`)")
    spans = list(exporter.get_finished_spans())
    print("\nspans:")
    print_tree(spans)
    print_summary(spans)


if __name__ == "__main__":
    main()
