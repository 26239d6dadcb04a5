"""The Ollama instrumentor's lifecycle, its module-level functions, its entry point and auto-instrumentation
with opentelemetry-instrument."""

from __future__ import annotations

import inspect
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import wrapt

from genai_otel import semconv as sc
from tests.helpers import run_auto_instrumented

ollama = pytest.importorskip("ollama")

from genai_otel.ollama import OllamaInstrumentor  # noqa: E402  (after the importorskip)

MESSAGES = [{"role": "user", "content": "hi"}]
METHODS = ("chat", "generate", "embed", "embeddings")


def _originals() -> dict[str, object]:
    return {
        f"{owner.__name__}.{name}": vars(owner)[name]
        for owner in (ollama.Client, ollama.AsyncClient)
        for name in METHODS
    }


def test_instrument_twice_then_uninstrument_restores_everything(telemetry, ollama_client) -> None:
    classes_before = _originals()
    module_before = {name: getattr(ollama, name) for name in METHODS}
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    assert all(getattr(ollama, name) is not module_before[name] for name in METHODS)
    ollama_client.chat(model="llama-test", messages=MESSAGES)
    assert len(telemetry.spans()) == 1  # not two spans from a double patch
    instrumentor.uninstrument()
    assert _originals() == classes_before
    assert all(getattr(ollama, name) is module_before[name] for name in METHODS)
    ollama_client.chat(model="llama-test", messages=MESSAGES)
    assert len(telemetry.spans()) == 1


def test_reinstrument_after_uninstrument(telemetry, ollama_client) -> None:
    instrumentor = OllamaInstrumentor()
    for _ in range(3):
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
        ollama_client.generate(model="llama-test", prompt="hi")
        instrumentor.uninstrument()
    assert len(telemetry.spans()) == 3
    telemetry.assert_each_span_ended_once()


def test_module_functions_the_application_replaced_are_left_alone(telemetry) -> None:
    def my_chat(*args: object, **kwargs: object) -> str:
        return "mine"

    original = ollama.chat
    ollama.chat = my_chat
    try:
        instrumentor = OllamaInstrumentor()
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
        assert ollama.chat is my_chat
        generate_during = ollama.generate
        instrumentor.uninstrument()
        assert ollama.chat is my_chat
        assert ollama.generate is not generate_during
    finally:
        ollama.chat = original


def test_dependencies_are_declared() -> None:
    assert OllamaInstrumentor().instrumentation_dependencies() == ("ollama >= 0.4.0, < 1",)


def test_entry_point_has_our_own_name() -> None:
    ours = {
        ep.name: ep
        for ep in entry_points(group="opentelemetry_instrumentor")
        if ep.value.startswith("genai_otel")
    }
    assert ours["genai_otel_ollama"].value == "genai_otel.ollama:OllamaInstrumentor"
    assert ours["genai_otel_ollama"].load() is OllamaInstrumentor


# The app knows nothing of OpenTelemetry: it imports ollama and calls the module-level functions, which
# go to the default client made at import time, pointed at the test server by OLLAMA_HOST.
APP = textwrap.dedent(
    """
    import ollama
    from ollama import generate

    ollama.chat(model="llama-test", messages=[{"role": "user", "content": "hi"}])
    generate(model="llama-test", prompt="hi")
    for _ in ollama.chat(model="llama-test", messages=[{"role": "user", "content": "hi"}], stream=True):
        pass
    """
)


def _run_auto_instrumented(tmp_path: Path, port: int, **env: str) -> list[dict]:
    script = tmp_path / "app.py"
    script.write_text(APP)
    spans = run_auto_instrumented(script, OLLAMA_HOST=f"127.0.0.1:{port}", **env)
    return [s for s in spans if s.get("attributes", {}).get(sc.GEN_AI_PROVIDER_NAME) == "ollama"]


@pytest.mark.slow
def test_opentelemetry_instrument_traces_the_module_level_functions(tmp_path, llm_server) -> None:
    spans = _run_auto_instrumented(tmp_path, llm_server.port)
    assert [s["name"] for s in spans] == ["chat llama-test", "text_completion llama-test", "chat llama-test"]
    assert {s["attributes"][sc.SERVER_PORT] for s in spans} == {llm_server.port}
    assert spans[2]["attributes"][sc.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]


@pytest.mark.slow
def test_disabling_our_ollama_entry_point_only(tmp_path, llm_server) -> None:
    assert (
        _run_auto_instrumented(
            tmp_path, llm_server.port, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="genai_otel_ollama"
        )
        == []
    )
    spans = _run_auto_instrumented(tmp_path, llm_server.port, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="ollama")
    assert len(spans) == 3


class _BothWaysProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """Another instrumentation's stream proxy, one class for sync and async streams (as OpenInference's
    Ollama one is): it has ``__next__`` and ``__anext__`` whichever it wraps."""

    def __iter__(self) -> _BothWaysProxy:
        return self

    def __next__(self) -> object:
        return next(self.__wrapped__)

    def __aiter__(self) -> _BothWaysProxy:
        return self

    async def __anext__(self) -> object:
        return await self.__wrapped__.__anext__()


@pytest.fixture
def another_instrumentation():
    def sync_chat(wrapped, instance, args, kwargs):
        result = wrapped(*args, **kwargs)
        return _BothWaysProxy(result) if kwargs.get("stream") else result

    async def async_chat(wrapped, instance, args, kwargs):
        result = await wrapped(*args, **kwargs)
        return _BothWaysProxy(result) if kwargs.get("stream") else result

    originals = {owner: vars(owner)["chat"] for owner in (ollama.Client, ollama.AsyncClient)}
    wrapt.wrap_function_wrapper(ollama.Client, "chat", sync_chat)
    wrapt.wrap_function_wrapper(ollama.AsyncClient, "chat", async_chat)
    yield
    for owner, original in originals.items():
        owner.chat = original


async def test_a_stream_proxy_that_is_both_sync_and_async_keeps_its_kind(
    another_instrumentation, telemetry, llm_server
) -> None:
    """Under another instrumentation's proxy, a sync call's stream stays sync and an async one's async."""
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(**telemetry.providers())
    try:
        sync_stream = ollama.Client(host=llm_server.base_url).chat(
            model="llama-test", messages=MESSAGES, stream=True
        )
        assert inspect.isgenerator(sync_stream)
        assert list(sync_stream)[-1].done
        async_stream = await ollama.AsyncClient(host=llm_server.base_url).chat(
            model="llama-test", messages=MESSAGES, stream=True
        )
        assert inspect.isasyncgen(async_stream)
        assert [chunk async for chunk in async_stream][-1].done
    finally:
        instrumentor.uninstrument()
    spans = telemetry.spans()
    assert len(spans) == 2 and all(
        span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",) for span in spans
    )
