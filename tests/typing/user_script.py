"""A user's application code, type-checked with ``mypy --strict`` against the installed genai-otel
(``make test-wheel``): the public API must be typed well enough that strict user code passes."""

from __future__ import annotations

import asyncio

from typing_extensions import assert_type

import genai_otel
from genai_otel import Price, RateCard, StalledLoop
from genai_otel.ollama import OllamaInstrumentor
from genai_otel.openai import OpenAIInstrumentor
from genai_otel.testing.fake_server import FakeLLMServer


def on_stall(loop: StalledLoop) -> None:
    print(f"{loop.tool_name} repeated {loop.repeats} times")


@genai_otel.tool
def track_parcel(parcel_id: str) -> dict[str, str]:
    """Look a parcel up."""
    return {"parcel_id": parcel_id, "status": "in transit"}


@genai_otel.tool(name="refund", description="Refund an order")
async def refund(order_id: str, amount: float) -> bool:
    return amount > 0 and bool(order_id)


@genai_otel.product_context("answer refund question", template_id="refund-v1")
def answer(order_id: str) -> str:
    return order_id.upper()


def grounded(case: object, output: object) -> genai_otel.evaluation.Score:
    return genai_otel.evaluation.Score(value=1.0 if output else 0.0, label="pass" if output else "fail")


def main() -> None:
    card: RateCard = RateCard(version="2026-01", prices={"gpt-test": Price(input=0.15, output=0.6)})
    same: RateCard = RateCard.from_mapping({"version": "v1", "models": {"m": {"input": 1, "output": 2}}})
    price: Price | None = card.price_for("gpt-test", None)
    assert price is not None and same.version == "v1"
    genai_otel.configure_product(prefix="app", on_stalled_loop=on_stall)

    OpenAIInstrumentor().instrument(rate_card=card, capture_message_content="SPAN_ONLY")
    OllamaInstrumentor().instrument()

    with genai_otel.product_context("answer delivery question", evidence_version="fastship@v17") as scope:
        # The decorators keep the decorated functions' types (assert_type fails on Any).
        status = assert_type(track_parcel("P-1"), dict[str, str])
        with genai_otel.tool_call("lookup", arguments={"q": status["status"]}) as span:
            span.set_result({"found": True})
        refunded = assert_type(asyncio.run(refund("A-1", 10.0)), bool)
        genai_otel.record_outcome(
            route="serve", first_failed_stage="passed", unsafe_claim_served=not refunded
        )
    print(
        scope.attributes,
        assert_type(answer("a-1"), str),
        genai_otel.current_scope(),
        genai_otel.__version__,
        genai_otel.SEMCONV_VERSION,
    )

    # The evaluation API: an online judge's result, a scheduled run and the promotion gate.
    genai_otel.record_evaluation("groundedness", score=0.92, label="pass", response_id="chatcmpl-1")
    genai_otel.record_evaluation("groundedness", error="TimeoutError")
    summary = assert_type(
        genai_otel.evaluation.run([{"id": "c1", "input": "P-1"}], answer, [grounded], name="nightly"),
        genai_otel.evaluation.EvaluationSummary,
    )
    blocked: list[str] = genai_otel.evaluation.compare(summary, summary, max_drop=0.05)
    print(summary.to_dict(), blocked)
    genai_otel.record_cache_lookup(True, cache="semantic")

    with FakeLLMServer() as server:
        print(server.openai_base_url, server.base_url)

    OllamaInstrumentor().uninstrument()
    OpenAIInstrumentor().uninstrument()


if __name__ == "__main__":
    main()
