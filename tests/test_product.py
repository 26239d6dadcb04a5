"""Product decision context: carried to LLM spans, outcomes, metrics with exemplars, validation, baggage."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context

import genai_otel
from genai_otel import _failsafe
from genai_otel import semconv as sc
from genai_otel.product import configure_product

MESSAGES = [{"role": "user", "content": "When does my parcel arrive?"}]
TEMPLATE = "app.prompt.template_id"
EVIDENCE = "app.evidence.version"
ROUTE = "app.answer.route"
STAGE = "app.first_failed_stage"
UNSAFE = "app.unsafe_claim_served"


@pytest.fixture
def product(instrument_openai):
    _failsafe._warned_settings.clear()
    telemetry = instrument_openai()
    configure_product(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    yield telemetry
    configure_product()


def _by_name(telemetry, name):
    return [s for s in telemetry.spans() if s.name == name]


def test_llm_spans_inside_carry_the_context(product, openai_client) -> None:
    with genai_otel.product_context(
        template_id="tracking-answerer-v1", evidence_version="fastship@v17", conversation_id="t-42"
    ):
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        openai_client.embeddings.create(model="e", input="parcel")
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    inside_chat, inside_embeddings, outside = product.spans()
    for span in (inside_chat, inside_embeddings):
        assert span.attributes[TEMPLATE] == "tracking-answerer-v1"
        assert span.attributes[EVIDENCE] == "fastship@v17"
        assert span.attributes[sc.GEN_AI_CONVERSATION_ID] == "t-42"
    assert TEMPLATE not in outside.attributes


def test_outcome_on_the_contexts_own_span_after_the_model_call(product, openai_client) -> None:
    with genai_otel.product_context("answer request", template_id="tracking-answerer-v1") as scope:
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        genai_otel.record_outcome(
            route="abstain", first_failed_stage="claim_generation", unsafe_claim_served=False
        )
    request = _by_name(product, "answer request")[0]
    chat = _by_name(product, "chat gpt-test")[0]
    assert chat.parent.span_id == request.context.span_id
    assert request.attributes[ROUTE] == "abstain"
    assert request.attributes[STAGE] == "claim_generation"
    assert request.attributes[UNSAFE] is False
    assert ROUTE not in chat.attributes  # decided after the call: on the request span, not the model span
    assert scope.outcome_recorded


def test_outcome_without_a_named_context_goes_to_the_current_span(product) -> None:
    tracer = product.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("http request"), genai_otel.product_context(template_id="t1"):
        genai_otel.record_outcome(route="serve", first_failed_stage="passed")
    (span,) = product.spans()
    assert span.attributes[ROUTE] == "serve"


def test_request_and_unsafe_counters_with_exemplar(product) -> None:
    for route, stage, unsafe, template in [
        ("abstain", "claim_generation", False, "tracking-answerer-v1"),
        ("serve", "serving_gate", True, "tracking-answerer-v1.1-regression"),
        ("serve", "serving_gate", True, "tracking-answerer-v1.1-regression"),
    ]:
        with genai_otel.product_context(
            "answer request", template_id=template, evidence_version="fastship@v17"
        ):
            genai_otel.record_outcome(route=route, first_failed_stage=stage, unsafe_claim_served=unsafe)
    snapshot = product.metric_snapshot()
    requests = {
        (p.attributes[ROUTE], p.attributes[STAGE]): p.value for p in snapshot[sc.METRIC_PRODUCT_REQUESTS]
    }
    assert requests == {("abstain", "claim_generation"): 1, ("serve", "serving_gate"): 2}
    (unsafe,) = snapshot[sc.METRIC_PRODUCT_UNSAFE_CLAIMS_SERVED]
    assert unsafe.value == 2
    assert dict(unsafe.attributes) == {
        TEMPLATE: "tracking-answerer-v1.1-regression",
        EVIDENCE: "fastship@v17",
        STAGE: "serving_gate",
    }
    unsafe_spans = {s.context.trace_id for s in product.spans() if s.attributes.get(UNSAFE)}
    assert unsafe.exemplars and {e.trace_id for e in unsafe.exemplars} <= unsafe_spans


def test_outcome_is_recorded_once(product, caplog) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="genai_otel"),
        genai_otel.product_context("r", template_id="t"),
    ):
        genai_otel.record_outcome(route="serve")
        genai_otel.record_outcome(route="abstain")
    (point,) = product.metric_points(sc.METRIC_PRODUCT_REQUESTS)
    assert point.value == 1 and point.attributes[ROUTE] == "serve"
    assert any("twice" in r.getMessage() for r in caplog.records)


def test_bad_values_are_dropped_with_a_warning_never_raised(product, openai_client, caplog) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="genai_otel"),
        genai_otel.product_context(
            "r",
            template_id="x" * 1000,
            evidence_version=["not", "a", "scalar"],
            customer_tier="gold",
            **{"Bad Key": 1},
        ),
    ):
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        genai_otel.record_outcome(route=object(), unsafe_claim_served="yes")  # type: ignore[arg-type]
    chat = _by_name(product, "chat gpt-test")[0]
    assert TEMPLATE not in chat.attributes and EVIDENCE not in chat.attributes
    assert chat.attributes["app.customer_tier"] == "gold"
    messages = " ".join(r.getMessage() for r in caplog.records)
    for expected in (
        "app.prompt.template_id",
        "over the limit",
        "app.evidence.version",
        "'Bad Key'",
        "unsafe_claim_served",
    ):
        assert expected in messages


def test_nested_contexts_inherit_and_override(product, openai_client) -> None:
    with genai_otel.product_context(template_id="outer", evidence_version="v1"):
        with genai_otel.product_context(template_id="inner"):
            openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    inner, outer = product.spans()
    assert (inner.attributes[TEMPLATE], inner.attributes[EVIDENCE]) == ("inner", "v1")
    assert outer.attributes[TEMPLATE] == "outer"


def test_threads_running_a_copy_of_the_context(product, openai_client) -> None:
    with genai_otel.product_context(template_id="threaded"):
        context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run,
        args=(openai_client.chat.completions.create,),
        kwargs={"model": "gpt-test", "messages": MESSAGES},
    )
    thread.start()
    thread.join()
    assert product.span().attributes[TEMPLATE] == "threaded"


async def test_asyncio_tasks_inherit_the_context(product, async_openai_client) -> None:
    async def ask() -> None:
        await async_openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)

    with genai_otel.product_context(template_id="async-template"):
        await asyncio.gather(asyncio.create_task(ask()), asyncio.create_task(ask()))
    await ask()
    first, second, outside = product.spans()
    assert first.attributes[TEMPLATE] == second.attributes[TEMPLATE] == "async-template"
    assert TEMPLATE not in outside.attributes


async def test_decorator_on_sync_and_async_functions(product, openai_client, async_openai_client) -> None:
    @genai_otel.product_context("sync request", template_id="deco-sync")
    def answer() -> str:
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        genai_otel.record_outcome(route="serve", first_failed_stage="passed")
        return "done"

    @genai_otel.product_context("async request", template_id="deco-async")
    async def answer_async() -> str:
        await async_openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        genai_otel.record_outcome(route="abstain")
        return "done"

    assert answer() == "done"
    assert await answer_async() == "done"
    assert answer() == "done"  # a fresh scope per call: the outcome is not "already recorded"
    assert len(_by_name(product, "sync request")) == 2
    assert all(s.attributes[ROUTE] == "serve" for s in _by_name(product, "sync request"))
    assert _by_name(product, "async request")[0].attributes[ROUTE] == "abstain"


def test_on_a_generator_function_the_decorator_covers_its_creation_and_a_with_inside_covers_the_rest(
    product, openai_client
) -> None:
    """docs/product-attributes.md: as OpenTelemetry's own decorator, it covers the call that creates the
    generator; a `with` inside the body covers the calls made while it is iterated."""

    @genai_otel.product_context("decorated generator", template_id="deco-gen")
    def decorated():
        yield openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)

    def with_inside():
        with genai_otel.product_context("generator body", template_id="body-gen"):
            yield openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)

    assert len(list(decorated())) == 1
    assert len(list(with_inside())) == 1
    first, second = sorted(
        (s for s in product.spans() if s.name.startswith("chat")), key=lambda s: s.start_time
    )
    assert "app.prompt.template_id" not in first.attributes
    assert second.attributes["app.prompt.template_id"] == "body-gen"


# --- one instance entered many times: nested, or shared by concurrent requests ----------------------------
def _nothing_current() -> bool:
    return (
        genai_otel.product.current_scope() is None
        and not trace.get_current_span().get_span_context().is_valid
    )


def test_one_instance_nested_in_itself(product, openai_client) -> None:
    support = genai_otel.product_context("support request", template_id="support-v1")
    with support as outer:
        with support as inner:
            assert inner is not outer and genai_otel.product.current_scope() is inner
            openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
            genai_otel.record_outcome(route="serve")
        assert genai_otel.product.current_scope() is outer
        assert trace.get_current_span() is outer.span
        genai_otel.record_outcome(route="abstain")  # the outer entry's own outcome, not "recorded twice"
    assert _nothing_current()
    inner_span, outer_span = _by_name(product, "support request")
    (chat,) = _by_name(product, "chat gpt-test")
    assert chat.parent.span_id == inner_span.context.span_id
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert (inner_span.attributes[ROUTE], outer_span.attributes[ROUTE]) == ("serve", "abstain")
    product.assert_each_span_ended_once()


def test_the_callers_exception_leaves_a_reused_instance_unchanged(product) -> None:
    support = genai_otel.product_context("support request", template_id="support-v1")
    error = KeyError("missing evidence")
    with support:
        with pytest.raises(KeyError) as raised, support:
            raise error
        assert raised.value is error
    assert _nothing_current()
    inner, outer = _by_name(product, "support request")
    assert inner.attributes[sc.ERROR_TYPE] == "KeyError" and sc.ERROR_TYPE not in outer.attributes


async def test_one_instance_shared_by_concurrent_tasks(product, async_openai_client) -> None:
    support = genai_otel.product_context("support request", template_id="support-v1")

    @genai_otel.product_context("decorated request", template_id="support-v1")
    async def decorated(route: str, entered: asyncio.Event, leave: asyncio.Event) -> None:
        entered.set()
        await leave.wait()
        genai_otel.record_outcome(route=route)

    async def handle(route: str, entered: asyncio.Event, leave: asyncio.Event) -> None:
        with support as scope:
            entered.set()
            await leave.wait()
            assert genai_otel.product.current_scope() is scope
            await async_openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
            genai_otel.record_outcome(route=route)
        assert _nothing_current()

    for run in (handle, decorated):
        events = [asyncio.Event() for _ in range(4)]
        first = asyncio.create_task(run("serve", events[0], events[1]))
        second = asyncio.create_task(run("abstain", events[2], events[3]))
        await events[0].wait()
        await events[2].wait()
        events[1].set()  # the first entered leaves first, while the second is still inside
        await first
        events[3].set()
        await second
    assert _nothing_current()
    for name in ("support request", "decorated request"):
        spans = _by_name(product, name)
        assert sorted(s.attributes[ROUTE] for s in spans) == ["abstain", "serve"], name
    chats = _by_name(product, "chat gpt-test")
    parents = {s.parent.span_id for s in chats}
    assert parents == {s.context.span_id for s in _by_name(product, "support request")}
    product.assert_each_span_ended_once()


def test_one_instance_shared_by_concurrent_threads(product) -> None:
    support = genai_otel.product_context("support request", template_id="support-v1")
    first_inside, second_inside, first_left = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def first() -> None:
        try:
            with support:
                first_inside.set()
                second_inside.wait(5)
                genai_otel.record_outcome(route="serve")
            assert _nothing_current()
        except BaseException as exc:
            failures.append(exc)
        finally:
            first_left.set()

    def second() -> None:
        try:
            first_inside.wait(5)
            with support as scope:
                second_inside.set()
                first_left.wait(5)
                assert genai_otel.product.current_scope() is scope
                genai_otel.record_outcome(route="abstain")
            assert _nothing_current()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not failures, failures
    assert sorted(s.attributes[ROUTE] for s in _by_name(product, "support request")) == ["abstain", "serve"]
    product.assert_each_span_ended_once()


# --- left in another contextvars.Context than it was entered in ---------------------------------------------
def _step_in_copied_contexts(generator: Iterator[Any]) -> None:
    """As Starlette's iterate_in_threadpool does: each step in a fresh copy of the caller's context."""
    while True:
        try:
            contextvars.copy_context().run(next, generator)
        except StopIteration:
            return


def _genai_otel_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "genai_otel"]


@pytest.mark.parametrize("name", ["answer request", None])
def test_a_context_left_in_another_context_ends_its_span_quietly(
    product, openai_client, name, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(_failsafe, "_reported_sites", set())
    tracer = product.tracer_provider.get_tracer("app")

    def answer() -> Iterator[Any]:
        with genai_otel.product_context(name, template_id="answer-v1"):
            yield from openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)

    def otel_answer() -> Iterator[Any]:
        with tracer.start_as_current_span("otel's own"):
            yield from openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)

    with caplog.at_level(logging.WARNING):
        _step_in_copied_contexts(otel_answer())
        otel_records = len(caplog.records)
        caplog.clear()
        _step_in_copied_contexts(answer())
    if name is not None:
        (span,) = _by_name(product, name)
        assert span.attributes[TEMPLATE] == "answer-v1"
    # No more noise than OTel's own span makes in the same place (its detach's "Failed to detach context").
    assert not _genai_otel_warnings(caplog)
    assert len(caplog.records) <= otel_records
    assert _nothing_current()
    product.assert_each_span_ended_once()


async def test_an_async_generator_closed_by_the_loops_finalizer_ends_its_spans(
    product, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(_failsafe, "_reported_sites", set())

    async def answer() -> AsyncIterator[int]:
        with (
            genai_otel.product_context("async answer", template_id="answer-v1"),
            genai_otel.tool_call("lookup"),
        ):
            for number in range(3):
                yield number

    with caplog.at_level(logging.WARNING):
        generator = answer()
        await generator.__anext__()
        del generator  # dropped mid-way: the loop's finalizer closes it, in a task of its own
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)
    assert {s.name for s in product.spans()} == {"async answer", "execute_tool lookup"}
    assert not _genai_otel_warnings(caplog)
    product.assert_each_span_ended_once()


def test_a_tool_call_left_in_another_context_ends_its_span_quietly(product, caplog, monkeypatch) -> None:
    monkeypatch.setattr(_failsafe, "_reported_sites", set())

    def steps() -> Iterator[int]:
        with genai_otel.tool_call("lookup", arguments={"parcel_id": "p-1"}) as call:
            yield 1
            call.set_result({"status": "in transit"})
            yield 2

    with caplog.at_level(logging.WARNING):
        _step_in_copied_contexts(steps())
    assert product.span().name == "execute_tool lookup"
    assert not _genai_otel_warnings(caplog)
    product.assert_each_span_ended_once()


def test_errors_in_the_context_mark_its_span(product) -> None:
    with pytest.raises(KeyError), genai_otel.product_context("r", template_id="t"):
        raise KeyError("missing evidence")
    (span,) = product.spans()
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "KeyError"


def test_prefix_is_configurable(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai()
    configure_product(
        prefix="shop", tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        with genai_otel.product_context(template_id="t"):
            openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
            genai_otel.record_outcome(route="serve")
    finally:
        configure_product()
    assert telemetry.span().attributes["shop.prompt.template_id"] == "t"
    (point,) = telemetry.metric_points(sc.METRIC_PRODUCT_REQUESTS)
    assert point.attributes["shop.answer.route"] == "serve"


def test_cardinality_guard(instrument_openai, caplog) -> None:
    telemetry = instrument_openai()
    configure_product(
        max_distinct_values=3,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
    )
    try:
        with caplog.at_level(logging.WARNING, logger="genai_otel"):
            for index in range(10):
                with genai_otel.product_context("r", template_id=f"per-request-{index}"):
                    genai_otel.record_outcome(route="serve")
    finally:
        configure_product()
    templates = {p.attributes[TEMPLATE] for p in telemetry.metric_points(sc.METRIC_PRODUCT_REQUESTS)}
    assert templates == {"per-request-0", "per-request-1", "per-request-2", "_OTHER"}
    assert {s.attributes[TEMPLATE] for s in telemetry.spans()} == {f"per-request-{i}" for i in range(10)}
    assert sum("distinct values" in r.getMessage() for r in caplog.records) == 1


def test_baggage_off_by_default(product) -> None:
    with genai_otel.product_context(template_id="t", evidence_version="v"):
        assert baggage.get_all() == {}


def test_baggage_allow_list_and_downstream_spans(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai()
    configure_product(
        baggage=True,
        baggage_keys=("template_id",),
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
    )
    try:
        with genai_otel.product_context(template_id="t-propagated", evidence_version="secret-evidence"):
            carried = dict(baggage.get_all())
        assert carried == {TEMPLATE: "t-propagated"}  # only allow-listed keys travel
        # downstream service: no local product context, the baggage arrives with the request
        token = otel_context.attach(baggage.set_baggage(TEMPLATE, "t-propagated"))
        try:
            openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        finally:
            otel_context.detach(token)
    finally:
        configure_product()
    assert telemetry.span().attributes[TEMPLATE] == "t-propagated"


def test_baggage_in_a_service_configured_by_the_environment_alone(
    monkeypatch, instrument_openai, openai_client
) -> None:
    """docs/product-attributes.md: a downstream service with baggage on puts the propagated attributes on
    its LLM spans. Such a service may set only GENAI_OTEL_PRODUCT_BAGGAGE=true and never call the product
    API: its first LLM call reads the product settings from the environment."""
    from genai_otel import product

    monkeypatch.setenv("GENAI_OTEL_PRODUCT_BAGGAGE", "true")
    monkeypatch.setattr(product, "_telemetry", None)  # as in a fresh process: the product API never used
    monkeypatch.setattr(product, "_environment_baggage", None)
    telemetry = instrument_openai()
    token = otel_context.attach(baggage.set_baggage(TEMPLATE, "t-propagated"))
    try:
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    finally:
        otel_context.detach(token)
    assert telemetry.span().attributes[TEMPLATE] == "t-propagated"


def test_without_baggage_an_llm_call_builds_no_product_settings(
    monkeypatch, instrument_openai, openai_client
):
    """The product settings (and a content store they may open) are built on first product API use, or
    for baggage; an LLM call of a service that uses neither leaves them unbuilt."""
    from genai_otel import product

    monkeypatch.delenv("GENAI_OTEL_PRODUCT_BAGGAGE", raising=False)
    monkeypatch.setattr(product, "_telemetry", None)
    monkeypatch.setattr(product, "_environment_baggage", None)
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert product._telemetry is None
    assert len(telemetry.spans()) == 1


def test_baggage_through_the_w3c_propagator(instrument_openai) -> None:
    from opentelemetry.baggage.propagation import W3CBaggagePropagator

    telemetry = instrument_openai()
    configure_product(
        baggage=True, tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        carrier: dict[str, str] = {}
        with genai_otel.product_context(template_id="t-1", evidence_version="ev-2", customer="c-3"):
            W3CBaggagePropagator().inject(carrier)
    finally:
        configure_product()
    assert carrier["baggage"].split(",") == [f"{TEMPLATE}=t-1", f"{EVIDENCE}=ev-2"]


# --- the prefix may not pose as the spans' own namespaces -----------------------------------------------------
RESERVED = ["gen_ai", "gen_ai.app", "genai_otel", "openai", "ollama", "server", "error", "http", "exception"]


@pytest.mark.parametrize("prefix", [*RESERVED, "otel", "telemetry.sdk"])
@pytest.mark.parametrize("form", ["argument", "environment"])
def test_a_prefix_in_a_reserved_namespace_is_refused(
    instrument_openai, openai_client, monkeypatch, caplog, prefix, form
) -> None:
    _failsafe._warned_settings.clear()
    telemetry = instrument_openai()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        if form == "environment":
            monkeypatch.setenv("GENAI_OTEL_PRODUCT_PREFIX", prefix)
            in_force = configure_product(tracer_provider=telemetry.tracer_provider)
        else:
            in_force = configure_product(prefix=prefix, tracer_provider=telemetry.tracer_provider)
    try:
        with genai_otel.product_context(**{"request.model": "spoofed", "response.id": "spoofed"}):
            openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    finally:
        configure_product()
    assert in_force.prefix == "app"
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    name = "GENAI_OTEL_PRODUCT_PREFIX" if form == "environment" else "configure_product(prefix="
    assert warning.startswith(f"genai-otel: {name}") and "using 'app'" in warning
    (chat,) = _by_name(telemetry, "chat gpt-test")
    assert chat.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-test"
    assert chat.attributes[sc.GEN_AI_RESPONSE_ID] != "spoofed"
    assert chat.attributes["app.request.model"] == "spoofed"


@pytest.mark.parametrize("prefix", ["gen_aix", "shop.gen_ai", "apps", "servers.checkout"])
def test_a_prefix_merely_resembling_a_namespace_is_kept(caplog, prefix) -> None:
    _failsafe._warned_settings.clear()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        in_force = configure_product(prefix=prefix)
    configure_product()
    assert in_force.prefix == prefix
    assert [r for r in caplog.records if r.name == "genai_otel"] == []


def test_every_namespace_on_our_telemetry_is_reserved(instrument_openai, openai_client) -> None:
    # Everything a call, a failed call, a tool and an outcome put on spans, events and metric points.
    telemetry = instrument_openai(
        capture_message_content="SPAN_AND_EVENT", call_records=True, preview_chars=20, active_requests=True
    )
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_message_content="SPAN_ONLY",
        hash_key="k",
    )

    @genai_otel.tool
    def lookup(parcel_id: str) -> str:
        return "in transit"

    try:
        with genai_otel.product_context("answer", template_id="t", evidence_version="e"):
            lookup("48213")
            openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
            stream = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
            list(stream)
            with pytest.raises(openai.APIStatusError):
                openai_client.chat.completions.create(model="gpt-test:status-500", messages=MESSAGES)
            genai_otel.record_outcome(route="serve", first_failed_stage="passed", unsafe_claim_served=False)
    finally:
        configure_product()
    keys = {key for span in telemetry.spans() for key in span.attributes}
    keys |= {key for span in telemetry.spans() for event in span.events for key in event.attributes}
    keys |= {key for record in telemetry.logs() for key in (record.attributes or {})}
    keys |= {key for points in telemetry.metric_snapshot().values() for p in points for key in p.attributes}
    namespaces = {key.partition(".")[0] for key in keys} - {sc.PRODUCT_PREFIX_DEFAULT}
    assert {"gen_ai", "genai_otel", "server", "error", "exception", "openai"} <= namespaces
    assert namespaces <= sc.RESERVED_NAMESPACES
