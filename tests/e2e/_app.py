"""The application of the end-to-end tests: plain OpenAI client code with no OpenTelemetry setup.

It is run as ``opentelemetry-instrument python _app.py ...``: genai-otel arrives through its entry
point and every exporter through ``OTEL_*`` variables, exactly as a user deploys it.

    --llm URL        base URL of the OpenAI-compatible loopback server (required)
    --serve          repeat the traffic until SIGTERM (for Prometheus); print READY after the first round
    --plant          also record a span carrying message content and PII the way a careless app or
                     another instrumentation would (the Collector's scrub stage must remove it)
    --pii-prompt     send prompts that contain PII (content capture with redaction must mask it)

Product decisions (issue 5) are recorded when genai-otel has ``product_context`` and
``record_outcome`` (the first round then serves one unsafe claim), and tool calls when it has
``tool_call``, and an evaluation of the safe answer when it has ``record_evaluation``. Cost needs ``GENAI_OTEL_RATE_CARD``, which the tests set.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from typing import Any

import openai
from opentelemetry import trace

import genai_otel

PRODUCT_API = hasattr(genai_otel, "product_context") and hasattr(genai_otel, "record_outcome")
TOOL_API = hasattr(genai_otel, "tool_call")
EVALUATION_API = hasattr(genai_otel, "record_evaluation")
# Values planted by --plant and --pii-prompt; the tests assert they never reach the backend when a
# scrub stage or redaction is on. Passed in by the test so both sides use the same strings.
PLANTED: dict[str, str] = json.loads(os.environ.get("E2E_PLANTED", "{}"))
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
_stop = threading.Event()


def _question(pii: bool) -> list[dict[str, Any]]:
    if pii:
        text = (
            f"I am {PLANTED['email']}, card {PLANTED['card']}, SSN {PLANTED['ssn']}. "
            f"My key is {PLANTED['api_key']}. Where is my parcel?"
        )
    else:
        text = "Where is my parcel?"
    return [
        {"role": "system", "content": "You answer delivery questions."},
        {"role": "user", "content": text},
    ]


def llm_calls(client: openai.OpenAI, *, pii: bool) -> None:
    """The genai-otel surface the tests look for: chat, stream, embeddings, a failure, a tool call."""
    question = _question(pii)
    client.chat.completions.create(
        model="gpt-test",
        messages=question,
        temperature=0.2,
        max_tokens=50,
        extra_headers={"X-Fake-Echo": "1"},  # the fake server answers with the question: output content
    )
    stream = client.chat.completions.create(
        model="gpt-test", messages=question, stream=True, stream_options={"include_usage": True}
    )
    for _ in stream:
        pass
    client.embeddings.create(model="text-embedding-test", input=["parcel tracking", "delivery estimate"])
    with contextlib.suppress(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-test", messages=question, extra_headers={"X-Fake-Scenario": "status-429"}
        )
    client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        tools=[WEATHER_TOOL],
    )


def product_decisions(client: openai.OpenAI, *, unsafe: bool) -> None:
    """Issue 5's API as the tests assume it: one safe abstention, and optionally one unsafe serve."""
    question = _question(False)
    # Named contexts: each request gets a span of its own, which carries the outcome.
    with genai_otel.product_context(
        "answer delivery question", template_id="tracking-answerer-v1", evidence_version="fastship@v17"
    ):
        if hasattr(genai_otel, "record_cache_lookup"):  # issue 12: the semantic cache missed
            genai_otel.record_cache_lookup(False)
        completion = client.chat.completions.create(model="gpt-test", messages=question)
        genai_otel.record_outcome(
            route="abstain", first_failed_stage="claim_generation", unsafe_claim_served=False
        )
    if EVALUATION_API:
        # An online judge's verdict on that answer, recorded after the request (issue 11).
        genai_otel.record_evaluation("groundedness", score=0.9, label="pass", response_id=completion.id)
    if unsafe:
        with genai_otel.product_context(
            "answer delivery question",
            template_id="tracking-answerer-v1.1-regression",
            evidence_version="fastship@v17",
        ):
            client.chat.completions.create(model="gpt-test", messages=question)
            genai_otel.record_outcome(
                route="serve", first_failed_stage="serving_gate", unsafe_claim_served=True
            )


def tool_calls() -> None:
    """Issue 5's tool spans: one call that works, one that fails."""
    with genai_otel.tool_call("get_weather", arguments={"city": "Paris"}) as span:
        span.set_result({"city": "Paris", "sky": "sunny"})
    try:
        with genai_otel.tool_call("lookup_tracking", arguments={"parcel": "unknown"}):
            raise LookupError("no such parcel")
    except LookupError:
        pass


def plant_content(tracer: trace.Tracer) -> None:
    """A span as an app with content capture on by mistake (or another instrumentation) records it."""
    content = json.dumps([{"role": "user", "parts": [{"type": "text", "content": PLANTED["content"]}]}])
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-test",
        "gen_ai.input.messages": content,
        "gen_ai.output.messages": content,
        "gen_ai.system_instructions": PLANTED["content"],
        "gen_ai.tool.call.arguments": PLANTED["content"],
        "gen_ai.tool.call.result": PLANTED["content"],
        "gen_ai.prompt.0.content": PLANTED["content"],  # an older semconv draft's key
        "input.value": PLANTED["content"],  # OpenInference's key
        "customer.note": (
            f"write to {PLANTED['email']}, card {PLANTED['card']}, SSN {PLANTED['ssn']}, "
            f"key {PLANTED['api_key']}, aws {PLANTED['aws_key']}"
        ),
        "http.request.header.authorization": f"Bearer {PLANTED['bearer']}",
        "session.token": PLANTED["jwt"],
    }
    with tracer.start_as_current_span("planted content", attributes=attributes) as span:
        span.add_event(
            "customer message",
            {"text": f"contact {PLANTED['email']}", "gen_ai.input.messages": content},
        )


def one_round(client: openai.OpenAI, tracer: trace.Tracer, args: argparse.Namespace, first: bool) -> None:
    with tracer.start_as_current_span("handle support ticket"):
        llm_calls(client, pii=args.pii_prompt)
        if args.plant:
            plant_content(tracer)
        if PRODUCT_API:
            product_decisions(client, unsafe=first)
        if TOOL_API:
            tool_calls()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm", required=True)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--plant", action="store_true")
    parser.add_argument("--pii-prompt", action="store_true")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: _stop.set())
    tracer = trace.get_tracer("genai-otel-e2e-app")
    client = openai.OpenAI(base_url=args.llm, api_key="sk-e2e-not-a-real-key", max_retries=0)
    one_round(client, tracer, args, first=True)
    if args.serve:
        print("READY", flush=True)
        # Steady traffic: rate() windows need increasing counters, and the error-rate alert needs a
        # failure share that persists. Bounded by the test's own timeout (SIGTERM ends it).
        while not _stop.wait(0.5):
            one_round(client, tracer, args, first=False)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
