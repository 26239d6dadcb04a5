"""Tool spans, stalled-loop detection, cost from a versioned rate card, post-first-chunk throughput."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import genai_otel
from genai_otel import _failsafe
from genai_otel import semconv as sc
from genai_otel.cost import RateCard
from genai_otel.product import configure_product

MESSAGES = [{"role": "user", "content": "Track parcel 48213 for jane@example.org"}]
EXAMPLE_CARD = Path(__file__).resolve().parent.parent / "examples" / "rate-card.example.json"


@pytest.fixture
def product(instrument_openai):
    _failsafe._warned_settings.clear()
    telemetry = instrument_openai()
    configure_product(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    yield telemetry
    configure_product()


def _configure(telemetry, **settings):
    configure_product(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, **settings
    )


# --- tools ---------------------------------------------------------------------------------------------------
def test_decorated_tool_span(product) -> None:
    @genai_otel.tool
    def track_parcel(parcel_id: str, verbose: bool = False) -> dict:
        """Current status of a parcel.

        More words."""
        return {"status": "in transit", "parcel": parcel_id}

    with genai_otel.product_context(template_id="t1"):
        assert track_parcel("48213") == {"status": "in transit", "parcel": "48213"}
    (span,) = product.spans()
    assert span.name == "execute_tool track_parcel"
    assert span.kind is SpanKind.INTERNAL
    attributes = span.attributes
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert attributes[sc.GEN_AI_TOOL_NAME] == "track_parcel"
    assert attributes[sc.GEN_AI_TOOL_DESCRIPTION] == "Current status of a parcel."
    assert attributes[sc.GEN_AI_TOOL_TYPE] == "function"
    assert attributes["app.prompt.template_id"] == "t1"
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in attributes  # content is opt-in
    assert sc.GEN_AI_TOOL_CALL_RESULT not in attributes
    (point,) = product.metric_points(sc.METRIC_TOOL_DURATION)
    assert dict(point.attributes) == {sc.GEN_AI_TOOL_NAME: "track_parcel", sc.GENAI_OTEL_TOOL_STATUS: "ok"}


def test_decorating_never_raises_a_partial_a_builtin_or_an_odd_description(product) -> None:
    """Nothing here raises into the application (docs/product-attributes.md), decorating included."""
    import functools

    class Ambiguous:  # like a numpy array: its truth value raises
        def __bool__(self) -> bool:
            raise ValueError("ambiguous")

    def add(a: int, b: int) -> int:
        """Adds."""
        return a + b

    partial_tool = genai_otel.tool(functools.partial(add, b=1))
    builtin_tool = genai_otel.tool(len)
    described = genai_otel.tool(description=Ambiguous())(add)  # type: ignore[arg-type]
    empty = genai_otel.tool(description="")(add)  # an empty description falls back to the docstring
    assert partial_tool(1) == 2 and builtin_tool([1, 2]) == 2 and described(2, 3) == 5 and empty(1, 1) == 2
    spans = product.spans()
    assert [s.name for s in spans] == ["execute_tool partial", "execute_tool len"] + ["execute_tool add"] * 2
    assert spans[2].attributes[sc.GEN_AI_TOOL_DESCRIPTION] == "Adds."
    assert spans[3].attributes[sc.GEN_AI_TOOL_DESCRIPTION] == "Adds."


def test_context_manager_tool_with_capture_and_redaction(product) -> None:
    _configure(product, capture_message_content="SPAN_ONLY")
    with genai_otel.tool_call(
        "lookup_customer",
        arguments={"email": "jane@example.org", "depth": 2},
        call_id="call_7",
        description="CRM",
    ) as call:
        call.set_result({"name": "Jane", "phone": "+1 415-555-0134"})
    (span,) = product.spans()
    assert span.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call_7"
    assert json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"depth": 2, "email": "[EMAIL]"}
    assert json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {"name": "Jane", "phone": "[PHONE]"}
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert "jane@example.org" not in product.exported_text()


def test_tool_capture_fails_closed(product) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("redactor down")

    _configure(product, capture_message_content="SPAN_ONLY", redactor=broken)
    with genai_otel.tool_call("lookup", arguments={"email": "jane@example.org"}) as call:
        call.set_result("ok")
    (span,) = product.spans()
    assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_failed"
    assert "jane@example.org" not in product.exported_text()


async def test_async_tool_and_errors(product) -> None:
    @genai_otel.tool(name="geocode", description="Find a place")
    async def geocode(place: str) -> str:
        raise LookupError(f"unknown place {place}")

    with pytest.raises(LookupError):
        await geocode("Atlantis")
    (span,) = product.spans()
    assert span.name == "execute_tool geocode"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "LookupError"
    (point,) = product.metric_points(sc.METRIC_TOOL_DURATION)
    assert point.attributes[sc.GENAI_OTEL_TOOL_STATUS] == "error"
    assert point.attributes[sc.ERROR_TYPE] == "LookupError"


def test_tool_span_is_parent_of_llm_calls_inside(product, openai_client) -> None:
    with genai_otel.tool_call("summarise", arguments={"n": 1}):
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    chat, tool = product.spans()
    assert chat.parent.span_id == tool.context.span_id


# --- stalled loops ---------------------------------------------------------------------------------------------
def test_stalled_loop_is_flagged_counted_and_reported(product) -> None:
    seen = []
    _configure(product, on_stalled_loop=seen.append)

    @genai_otel.tool
    def search(query: str) -> list:
        return []

    with genai_otel.product_context("agent run"):
        search("parcel 48213")
        search("parcel 48213")  # same arguments, no progress: stalled
        genai_otel.report_progress("new evidence")
        search("parcel 48213")  # progress was made: not stalled
        search("another query")
        search("parcel 48213")  # no progress since the last identical call: stalled again
    tool_spans = [s for s in product.spans() if s.name == "execute_tool search"]
    assert [s.attributes.get(sc.GENAI_OTEL_TOOL_STALLED, False) for s in tool_spans] == [
        False,
        True,
        False,
        False,
        True,
    ]
    assert [loop.repeats for loop in seen] == [1, 1]
    assert seen[0].tool_name == "search"
    (counter,) = product.metric_points(sc.METRIC_TOOL_STALLED_LOOPS)
    assert counter.value == 2


def test_stalled_loop_can_stop_the_tool(product) -> None:
    _configure(product, raise_on_stalled_loop=True)
    calls = []

    @genai_otel.tool
    def fetch(url: str) -> str:
        calls.append(url)
        return "page"

    with genai_otel.product_context("agent run"):
        fetch("https://example.com")
        with pytest.raises(genai_otel.StalledToolLoop) as raised:
            fetch("https://example.com")
    assert calls == ["https://example.com"]  # stopped before it ran again
    assert raised.value.loop.repeats == 1
    assert product.spans()[-1].name == "agent run"


def test_no_detection_outside_a_product_context(product) -> None:
    _configure(product, raise_on_stalled_loop=True)

    @genai_otel.tool
    def ping() -> str:
        return "pong"

    assert [ping(), ping(), ping()] == ["pong"] * 3


# --- cost -------------------------------------------------------------------------------------------------------
def test_example_card_is_marked_as_an_example() -> None:
    data = json.loads(EXAMPLE_CARD.read_text())
    assert "example" in data["version"].lower() and "EXAMPLE" in data["_comment"]
    assert RateCard.load(str(EXAMPLE_CARD)).prices


def test_cost_on_span_and_counter(instrument_openai, openai_client) -> None:
    card = {
        "version": "test-card-1",
        "models": {"gpt-test-2026-01-01": {"input": 1.0, "cached_input": 0.5, "output": 4.0}},
    }
    telemetry = instrument_openai(rate_card=card)
    result = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    expected = (result.usage.prompt_tokens * 1.0 + result.usage.completion_tokens * 4.0) / 1e6
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_COST] == pytest.approx(expected)
    assert span.attributes[sc.GENAI_OTEL_COST_CURRENCY] == "USD"
    assert span.attributes[sc.GENAI_OTEL_RATE_CARD_VERSION] == "test-card-1"
    (point,) = telemetry.metric_points(sc.METRIC_CLIENT_COST)
    assert point.value == pytest.approx(expected)
    assert point.attributes[sc.GENAI_OTEL_RATE_CARD_VERSION] == "test-card-1"
    assert point.attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-test-2026-01-01"


def test_unknown_model_and_no_card_get_no_cost(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(
        rate_card={"version": "v", "models": {"some-other-model": {"input": 1, "output": 1}}}
    )
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert sc.GENAI_OTEL_COST not in telemetry.span().attributes
    assert telemetry.metric_points(sc.METRIC_CLIENT_COST) == []


def test_cost_without_a_card(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert sc.GENAI_OTEL_COST not in telemetry.span().attributes
    assert telemetry.metric("genai_otel.client.cost") is None


def test_rate_card_from_the_environment_and_wildcards(
    monkeypatch, instrument_openai, openai_client, tmp_path
) -> None:
    card = tmp_path / "card.json"
    card.write_text(
        json.dumps(
            {"version": "env-card", "currency": "EUR", "models": {"gpt-test-*": {"input": 2, "output": 2}}}
        )
    )
    monkeypatch.setenv("GENAI_OTEL_RATE_CARD", str(card))
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_COST_CURRENCY] == "EUR"
    assert telemetry.metric(sc.METRIC_CLIENT_COST).unit == "{EUR}"


def test_unreadable_card_warns_once_and_records_no_cost(
    monkeypatch, instrument_openai, openai_client, caplog
) -> None:
    _failsafe._warned_settings.clear()
    monkeypatch.setenv("GENAI_OTEL_RATE_CARD", "/nonexistent/card.json")
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai()
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert sc.GENAI_OTEL_COST not in telemetry.span().attributes
    assert [r for r in caplog.records if "GENAI_OTEL_RATE_CARD" in r.getMessage()]


def test_usage_without_tokens_gets_no_cost() -> None:
    card = RateCard.from_mapping({"version": "v", "models": {"m": {"input": 1, "output": 1}}})
    assert card.cost("m", None, None, 10, None) is None
    assert card.cost("m", "m-2026", 1_000_000, 0, 400_000) == pytest.approx(1.0)


# --- throughput --------------------------------------------------------------------------------------------------
def test_post_first_chunk_throughput(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai()
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-test",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"X-Fake-Chunk-Delay": "0.01"},
        )
    )
    span = telemetry.span()
    output_tokens = chunks[-1].usage.completion_tokens
    after_first = (span.end_time - span.start_time) / 1e9 - span.attributes[
        sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK
    ]
    assert span.attributes[sc.GENAI_OTEL_POST_FIRST_CHUNK_TOKENS_PER_SECOND] == pytest.approx(
        (output_tokens - 1) / after_first, rel=0.05
    )


def test_impossible_timing_is_flagged() -> None:
    from genai_otel.recording import _add_throughput

    attributes: dict = {}
    _add_throughput(attributes, output_tokens=20, first_ns=5_000, end_ns=5_000)
    assert attributes == {sc.GENAI_OTEL_TIMING_MALFORMED: True}
