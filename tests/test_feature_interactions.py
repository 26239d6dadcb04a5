"""Every opt-in feature at once, as a hostile user turns them on, over the real openai and ollama clients.

Capture SPAN_AND_EVENT (and the other modes), call records, the output preview, active requests, a local
content store, a custom redactor that works, is slow, fails or hangs, a product context, a tool and an
evaluation result, around calls that complete, fail (400/500), fail mid-stream, are closed early,
abandoned to the garbage collector or cancelled. The laws checked after each mix: the caller gets what the
uninstrumented client gives, every span ends once, the active-requests counter is back at zero, no planted
value reaches anything exported, stored or logged, ``content.captured`` is never true without content, and
no call waits more redactor budgets than documented."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genai_otel
from genai_otel import _failsafe, redaction
from genai_otel import semconv as sc
from genai_otel.product import configure_product

openai = pytest.importorskip("openai")
ollama = pytest.importorskip("ollama")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NAME = "Zebulon Quark"  # only the custom redactor knows it
EMAIL = "zeb.quark@example.org"
PHONE = "+14155550199"
CARD = "4532015112830366"
CARD_NUMBER = 4532015112830366
PLANTED = (NAME, EMAIL, PHONE, CARD)
PII_TEXT = f"I am {NAME}, mail {EMAIL}, phone {PHONE}, card {CARD}"
ERROR_HEADERS = {"X-Fake-Error": f"refused for {NAME} {EMAIL} {PHONE} {CARD}", "X-Fake-Echo": "1"}

OPENAI_MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": f"You help {NAME}."},
    {"role": "user", "content": PII_TEXT},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {
                    "name": "lookup",
                    "arguments": json.dumps({"card_number": CARD_NUMBER, "who": NAME}),
                },
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": json.dumps({"owner": NAME, "mail": EMAIL})},
    {"role": "user", "content": PII_TEXT},
]
OLLAMA_MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": f"You help {NAME}."},
    {"role": "user", "content": PII_TEXT},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "lookup", "arguments": {"card_number": CARD_NUMBER}}}],
    },
    {"role": "tool", "content": json.dumps({"owner": NAME, "mail": EMAIL})},
    {"role": "user", "content": PII_TEXT},
]

ENDINGS = ("completed", "status-400", "status-500", "stream-error", "closed", "abandoned", "cancelled")
STREAMING_ONLY = ("stream-error", "closed", "abandoned", "cancelled")


class HostileRedactor:
    """Removes NAME; or is slow, raises (quoting its input) or hangs, as ``mode`` says."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.release = threading.Event()

    def __call__(self, text: str) -> str:
        if self.mode == "slow":
            self.release.wait(0.05)
        elif self.mode == "fail":
            raise ValueError(f"cannot redact {text!r}")
        elif self.mode == "hang":
            self.release.wait(5)
        return text.replace(NAME, "[NAME]")


REDACTOR = HostileRedactor()


# --- the calls -----------------------------------------------------------------------------------------------
def _openai_kwargs(ending: str, stream: bool) -> dict[str, Any]:
    headers = dict(ERROR_HEADERS)
    if ending.startswith("status-") or ending == "stream-error":
        headers["X-Fake-Scenario"] = ending
    if ending == "cancelled":
        headers["X-Fake-Chunk-Delay"] = "0.02"
    kwargs: dict[str, Any] = {
        "model": "gpt-test",
        "messages": OPENAI_MESSAGES,
        "stream": stream,
        "extra_headers": headers,
    }
    if stream:  # the echo answers with a tool call then (its arguments carry the PII), else with text
        kwargs["tools"] = [{"type": "function", "function": {"name": "lookup", "description": f"for {NAME}"}}]
    return kwargs


def _ollama_model(ending: str) -> str:
    return (
        f"llama-test:{ending}" if ending.startswith("status-") or ending == "stream-error" else "llama-test"
    )


def _consume_sync(result: Any, ending: str, stream: bool) -> Any:
    if not stream:
        return type(result).__name__
    iterator = iter(result)
    if ending in ("closed", "abandoned"):
        next(iterator)
        if ending == "closed":
            result.close()
        else:
            response = getattr(result, "response", None)
            if response is not None:
                response.close()  # the connection back; the span is left to the garbage collector
        del iterator
        return type(result).__name__
    kinds = {type(chunk).__name__ for chunk in iterator}
    return type(result).__name__, tuple(sorted(kinds))


async def _consume_async(result: Any, ending: str, stream: bool) -> Any:
    if not stream:
        return type(result).__name__
    iterator = result.__aiter__()
    if ending in ("closed", "abandoned"):
        await iterator.__anext__()
        if ending == "closed":
            await (result.close() if hasattr(result, "close") else iterator.aclose())
        else:
            response = getattr(result, "response", None)
            if response is not None:
                await response.aclose()
        del iterator
        return type(result).__name__
    kinds = set()
    async for chunk in iterator:
        kinds.add(type(chunk).__name__)
    return type(result).__name__, tuple(sorted(kinds))


def call(server: Any, client_kind: str, sync: bool, stream: bool, ending: str) -> Any:
    """One call as the application makes it: what it got back (type names) or the exception type."""
    try:
        if sync:
            return _call_sync(server, client_kind, stream, ending)
        return asyncio.run(_call_async(server, client_kind, stream, ending))
    except BaseException as exc:
        return ("raised", type(exc).__name__)
    finally:
        gc.collect()


def _call_sync(server: Any, client_kind: str, stream: bool, ending: str) -> Any:
    if client_kind == "openai":
        with openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0) as client:
            result = client.chat.completions.create(**_openai_kwargs(ending, stream))
            return _consume_sync(result, ending, stream)
    client = ollama.Client(host=server.base_url, headers=ERROR_HEADERS)
    try:
        result = client.chat(model=_ollama_model(ending), messages=OLLAMA_MESSAGES, stream=stream)
        return _consume_sync(result, ending, stream)
    finally:
        client._client.close()


async def _call_async(server: Any, client_kind: str, stream: bool, ending: str) -> Any:
    if ending == "cancelled":
        task = asyncio.ensure_future(_call_async(server, client_kind, stream, "completed-slowly"))
        await asyncio.sleep(0.05)
        task.cancel()
        await task  # raises CancelledError, as the application sees it
    if client_kind == "openai":
        kwargs = _openai_kwargs("cancelled" if ending == "completed-slowly" else ending, stream)
        async with openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="sk-test", max_retries=0
        ) as client:
            result = await client.chat.completions.create(**kwargs)
            return await _consume_async(result, ending, stream)
    headers = dict(ERROR_HEADERS)
    if ending == "completed-slowly":
        headers["X-Fake-Chunk-Delay"] = "0.02"
    client = ollama.AsyncClient(host=server.base_url, headers=headers)
    try:
        result = await client.chat(model=_ollama_model(ending), messages=OLLAMA_MESSAGES, stream=stream)
        return await _consume_async(result, ending, stream)
    finally:
        await client._client.aclose()


_baselines: dict[tuple[str, bool, bool, str], Any] = {}


# --- the instrumented world ----------------------------------------------------------------------------------
class World:
    def __init__(self, telemetry: Any, store: Path, mode: str, timeout_ms: int) -> None:
        from genai_otel.ollama import OllamaInstrumentor
        from genai_otel.openai import OpenAIInstrumentor

        self.telemetry = telemetry
        self.store = store
        self.instrumentors = [OpenAIInstrumentor(), OllamaInstrumentor()]
        content = {
            "capture_message_content": mode,
            "redactor": REDACTOR,
            "redaction_timeout_ms": timeout_ms,
            "content_store": store.as_uri(),
        }
        for instrumentor in self.instrumentors:
            instrumentor.instrument(
                **telemetry.providers(), call_records=True, preview_chars=40, active_requests=True, **content
            )
        configure_product(**telemetry.providers(), **content)

    def close(self) -> None:
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()  # flushes the store
        configure_product()


@pytest.fixture(scope="module")
def baselines(llm_server) -> dict[tuple[str, bool, bool, str], Any]:
    if not _baselines:
        for client_kind in ("openai", "ollama"):
            for sync in (True, False):
                for stream in (True, False):
                    for ending in ENDINGS:
                        if (ending in STREAMING_ONLY and not stream) or (ending == "cancelled" and sync):
                            continue
                        scenario = (client_kind, sync, stream, ending)
                        _baselines[scenario] = call(llm_server, *scenario)
    return _baselines


SCENARIOS = st.tuples(
    st.sampled_from(("openai", "ollama")), st.booleans(), st.booleans(), st.sampled_from(ENDINGS)
).filter(lambda s: not ((s[3] in STREAMING_ONLY and not s[2]) or (s[3] == "cancelled" and s[1])))


@genai_otel.tool
def lookup(card_number: int, who: str) -> dict[str, Any]:
    """Look a card up."""
    if card_number % 2 == 0:
        raise LookupError(f"no card for {who} ({EMAIL})")
    return {"owner": who, "phone": PHONE, "card": card_number}


def application_step(server: Any, scenario: tuple[str, bool, bool, str], explain: bool) -> Any:
    """What an application does around one LLM call: a product context, a tool, a cache lookup and an
    evaluation of the answer."""
    outcome: Any = None
    try:
        with genai_otel.product_context(name="answer", template_id="t-1"):
            genai_otel.record_cache_lookup(False)
            for number in (CARD_NUMBER + 1, CARD_NUMBER):  # the second (even) raises inside the tool
                with contextlib.suppress(LookupError):
                    lookup(number, NAME)
            outcome = call(server, *scenario)
            genai_otel.record_evaluation(
                "groundedness",
                score=0.5,
                label="fail",
                explanation=f"{NAME} wrote {EMAIL}" if explain else None,
                response_id="chatcmpl-fake",
            )
            if scenario[3] == "status-500":
                raise RuntimeError(f"the request of {NAME} ({EMAIL}) failed")
    except RuntimeError:
        pass
    return outcome


# --- the laws ------------------------------------------------------------------------------------------------
def check_laws(world: World, caplog: Any) -> None:
    telemetry = world.telemetry
    telemetry.assert_each_span_ended_once()
    active = telemetry.metric_points(sc.METRIC_CLIENT_ACTIVE_REQUESTS)
    assert sum(point.value for point in active) == 0, [(dict(p.attributes), p.value) for p in active]
    exported = telemetry.exported_text()
    for value in PLANTED:
        assert value not in exported, value
        assert str(CARD_NUMBER) not in exported
    for path in sorted(world.store.rglob("*.json")):
        text = path.read_text()
        for value in PLANTED:
            assert value not in text, (value, path)
    for record in caplog.records:
        if record.name.startswith("genai_otel"):  # a chained exception can quote content
            assert record.exc_info is None, record.getMessage()
        logged = record.getMessage() + (record.exc_text or "")
        for value in PLANTED:
            assert value not in logged, (value, logged)
    refs = (
        sc.GEN_AI_INPUT_MESSAGES_REF,
        sc.GEN_AI_OUTPUT_MESSAGES_REF,
        sc.GENAI_OTEL_TOOL_CALL_ARGUMENTS_REF,
    )
    inline = (
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        sc.GEN_AI_TOOL_CALL_ARGUMENTS,
        sc.GEN_AI_EVALUATION_EXPLANATION,
    )
    carriers = [dict(span.attributes or {}) for span in telemetry.spans()]
    carriers += [dict(record.attributes or {}) for record in telemetry.logs()]
    for attributes in carriers:
        if attributes.get(sc.GENAI_OTEL_CONTENT_CAPTURED) is True:
            assert any(key in attributes for key in refs + inline) or (
                attributes.get(sc.GENAI_OTEL_CONTENT_CAPTURE_MODE) == "EVENT_ONLY"
                and sc.GEN_AI_OPERATION_NAME in attributes
            ), attributes
        if sc.GENAI_OTEL_CONTENT_DROPPED_REASON in attributes and attributes.get(
            sc.GENAI_OTEL_CONTENT_CAPTURED
        ):
            assert any(key in attributes for key in refs + inline), attributes


@pytest.fixture
def quiet_warnings(caplog):
    _failsafe._warned_settings.clear()
    _failsafe._reported_sites.clear()
    caplog.set_level(logging.DEBUG, logger="genai_otel")
    return caplog


@settings(
    max_examples=int(__import__("os").environ.get("FI_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    scenarios=st.lists(SCENARIOS, min_size=1, max_size=4),
    mode=st.sampled_from(("SPAN_AND_EVENT", "SPAN_ONLY", "EVENT_ONLY", "NO_CONTENT")),
    redactor=st.sampled_from(("ok", "ok", "slow", "fail", "hang")),
)
def test_every_feature_at_once_keeps_the_laws(
    llm_server, baselines, tmp_path_factory, quiet_warnings, scenarios, mode, redactor
):
    from tests.conftest import Telemetry

    quiet_warnings.clear()
    REDACTOR.mode = redactor
    REDACTOR.release.clear()
    world = World(Telemetry(), tmp_path_factory.mktemp("store"), mode, 20)
    try:
        for scenario in scenarios:
            got = application_step(llm_server, scenario, explain=True)
            assert got == baselines[scenario], scenario
    finally:
        REDACTOR.release.set()
        world.close()
    check_laws(world, quiet_warnings)


def test_each_ending_of_each_client_waits_at_most_the_documented_budgets(
    llm_server, baselines, tmp_path, quiet_warnings
):
    """Content and preview are one budget each, an exception one more (docs/content-capture.md)."""
    from tests.conftest import Telemetry

    REDACTOR.mode = "ok"
    world = World(Telemetry(), tmp_path, "SPAN_AND_EVENT", 1000)
    try:
        for scenario in sorted(baselines):
            before = redaction._custom_pool().submissions
            got = call(llm_server, *scenario)
            waited = redaction._custom_pool().submissions - before
            assert got == baselines[scenario], scenario
            assert waited <= (2 if scenario[3] in ("completed", "closed", "abandoned") else 3), (
                scenario,
                waited,
            )
    finally:
        world.close()
    check_laws(world, quiet_warnings)
    spans = [s for s in world.telemetry.spans() if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "chat"]
    assert len(spans) == len(baselines)
    for span in spans:  # with a working redactor, every call's content reached the store
        assert span.attributes.get(sc.GENAI_OTEL_CONTENT_CAPTURED) is True, dict(span.attributes)


@pytest.mark.parametrize("mode", ["SPAN_ONLY", "SPAN_AND_EVENT", "EVENT_ONLY"])
def test_sampled_out_calls_claim_and_wait_only_for_what_is_exported(
    llm_server, baselines, tmp_path, quiet_warnings, mode
):
    """A sampled-out span exports nothing: in SPAN_ONLY the call's content goes nowhere, so it is not
    redacted (no budget) and the call record does not claim it; the preview still goes on the record."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from tests.conftest import Telemetry

    REDACTOR.mode = "ok"
    telemetry = Telemetry()
    telemetry.tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    world = World(telemetry, tmp_path, mode, 1000)
    try:
        pool = redaction._custom_pool()
        before = pool.submissions
        assert call(llm_server, "openai", True, False, "completed") == "ChatCompletion"
        llm_budgets = pool.submissions - before
        before = pool.submissions
        with genai_otel.product_context(name="answer"):
            lookup(CARD_NUMBER + 1, NAME)
        tool_budgets = pool.submissions - before
    finally:
        world.close()
    check_laws(world, quiet_warnings)
    (record,) = [r for r in telemetry.logs() if r.event_name == "gen_ai.client.inference.operation.details"]
    attributes = dict(record.attributes)
    assert sc.GENAI_OTEL_OUTPUT_PREVIEW in attributes
    assert tool_budgets == 0
    if mode == "SPAN_ONLY":
        assert llm_budgets == 1  # the preview's
        assert sc.GENAI_OTEL_CONTENT_CAPTURED not in attributes, attributes
        assert not list(tmp_path.rglob("*.json"))
    else:
        assert llm_budgets == 2
        assert attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
        assert sc.GEN_AI_INPUT_MESSAGES_REF in attributes


CALLS = int(__import__("os").environ.get("FI_CALLS", "2000"))


# --- 2,000 mixed calls with everything on: no thread, fd or memory growth ---------------------------------
def _mixed_workload(server: Any, clients: tuple[Any, Any], calls: int) -> None:
    openai_client, ollama_client = clients
    for index in range(calls):
        kind, ending = index % 2, (index // 2) % 6
        try:
            with genai_otel.product_context(name="answer", template_id="t-1"):
                lookup(CARD_NUMBER + 1, NAME)
                if kind == 0:
                    kwargs = _openai_kwargs(
                        ("completed", "status-400", "stream-error")[ending % 3], ending >= 2
                    )
                    result = openai_client.chat.completions.create(**kwargs)
                else:
                    model = _ollama_model(("completed", "status-500", "stream-error")[ending % 3])
                    result = ollama_client.chat(model=model, messages=OLLAMA_MESSAGES, stream=ending >= 2)
                if ending >= 2:
                    iterator = iter(result)
                    next(iterator)
                    if ending == 3:
                        result.close()
                    elif ending == 4:
                        for _ in iterator:
                            pass
                    elif kind == 0:  # the connection back, as in test_leaks; the span is left to the GC
                        result.response.close()
                    del iterator  # ending 5 (and 2): abandoned to the garbage collector
                del result
                genai_otel.record_evaluation("groundedness", score=1.0, explanation=f"{NAME} {EMAIL}")
        except (openai.APIError, ollama.ResponseError):
            pass


@pytest.mark.slow
def test_two_thousand_mixed_calls_leak_no_thread_fd_or_memory(
    llm_server, tmp_path, quiet_warnings, monkeypatch
):
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from genai_otel.operation import Operation
    from genai_otel.recording import Call
    from genai_otel.streaming import TracedIterator
    from tests.helpers import CountingExporter, growth_in_our_code, live_objects, open_fds

    class Kept:  # the providers World needs, exporting by counting (nothing kept by the test itself)
        def __init__(self) -> None:
            self.exporter = CountingExporter()
            self.tracer_provider = TracerProvider()  # no EndCounter: its keys would be counted as growth
            self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
            self.reader = InMemoryMetricReader()
            self.meter_provider = MeterProvider(metric_readers=[self.reader])
            self.logger_provider = LoggerProvider()

        def providers(self) -> dict[str, Any]:
            return {
                "tracer_provider": self.tracer_provider,
                "meter_provider": self.meter_provider,
                "logger_provider": self.logger_provider,
            }

    from genai_otel import _recent_calls

    # The recent-calls map is bounded (1024 by default): kept small, it is full after the warm-up, so
    # what it holds is not counted as growth.
    monkeypatch.setattr(_recent_calls, "_capacity", 16)
    REDACTOR.mode = "ok"
    telemetry = Kept()
    world = World(telemetry, tmp_path, "SPAN_AND_EVENT", 1000)
    llm_server.keep_requests(False)
    openai_client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)
    ollama_client = ollama.Client(host=llm_server.base_url, headers=ERROR_HEADERS)
    clients = (openai_client, ollama_client)
    try:
        _mixed_workload(llm_server, clients, 100)  # warm pools, caches and lazy imports
        gc.collect()
        threads_before, fds_before = threading.active_count(), open_fds()
        grown, largest = growth_in_our_code(lambda: _mixed_workload(llm_server, clients, CALLS))
        gc.collect()
        assert live_objects(Call, Operation, TracedIterator) == 0
        assert open_fds() <= fds_before + 4
        assert threading.active_count() <= threads_before + 2
        assert grown < 64 * 1024, [
            (s.traceback[0].filename.rsplit("/", 2)[-2:], s.size_diff, s.count_diff) for s in largest
        ]
    finally:
        llm_server.keep_requests(True)
        openai_client.close()
        ollama_client._client.close()
        world.close()
    active = [
        p
        for m in (telemetry.reader.get_metrics_data().resource_metrics)
        for s in m.scope_metrics
        for metric in s.metrics
        if metric.name == sc.METRIC_CLIENT_ACTIVE_REQUESTS
        for p in metric.data.data_points
    ]
    assert sum(point.value for point in active) == 0


def test_a_store_that_keeps_failing_logs_no_exception_chain(
    llm_server, tmp_path, quiet_warnings, monkeypatch
):
    """Every failed write after the first is logged at DEBUG, by type, like every error of ours."""
    from genai_otel.content_store import _writer
    from tests.conftest import Telemetry

    monkeypatch.setattr(_writer, "_BACKOFF_FIRST", 0.0)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    REDACTOR.mode = "ok"
    world = World(Telemetry(), blocker / "store", "SPAN_ONLY", 1000)
    world.store = tmp_path
    try:
        for _ in range(3):
            assert call(llm_server, "openai", True, False, "completed") == "ChatCompletion"
            genai_otel.content_store.flush(5)
    finally:
        world.close()
    failures = [r for r in quiet_warnings.records if "content store" in r.getMessage()]
    assert len(failures) >= 2 and any(r.levelno == logging.DEBUG for r in failures), failures
    check_laws(world, quiet_warnings)
