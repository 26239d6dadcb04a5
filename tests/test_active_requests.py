"""genai_otel.client.active_requests: opt-in, counts a call until its span ends, however it ends."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import openai
import pytest

from genai_otel import semconv as sc
from genai_otel.config import ACTIVE_REQUESTS_ENV

QUESTION = [{"role": "user", "content": "Where is my parcel?"}]


def _active(telemetry: Any) -> dict[tuple[Any, ...], int]:
    """Current value per (operation, provider, request model)."""
    return {
        (
            point.attributes[sc.GEN_AI_OPERATION_NAME],
            point.attributes[sc.GEN_AI_PROVIDER_NAME],
            point.attributes.get(sc.GEN_AI_REQUEST_MODEL),
        ): point.value
        for point in telemetry.metric_points(sc.METRIC_CLIENT_ACTIVE_REQUESTS)
    }


def test_off_by_default(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai()
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    assert telemetry.metric(sc.METRIC_CLIENT_ACTIVE_REQUESTS) is None


def test_an_in_flight_call_counts_then_returns_to_zero(monkeypatch, instrument_openai, openai_client) -> None:
    monkeypatch.setenv(ACTIVE_REQUESTS_ENV, "true")
    telemetry = instrument_openai()
    seen: list[dict[tuple[Any, ...], int]] = []
    started = threading.Event()

    def slow_call() -> None:
        started.set()
        openai_client.chat.completions.create(
            model="gpt-test", messages=QUESTION, extra_headers={"X-Fake-Delay": "0.6"}
        )

    worker = threading.Thread(target=slow_call)
    worker.start()
    started.wait()
    for _ in range(200):  # until the worker's call has been counted (no timing assertion)
        seen.append(_active(telemetry))
        if seen[-1].get(("chat", "openai_compatible", "gpt-test")) == 1:
            break
        threading.Event().wait(0.01)
    worker.join()
    assert seen[-1] == {("chat", "openai_compatible", "gpt-test"): 1}
    assert _active(telemetry) == {("chat", "openai_compatible", "gpt-test"): 0}
    metric = telemetry.metric(sc.METRIC_CLIENT_ACTIVE_REQUESTS)
    assert metric.unit == sc.UNIT_REQUESTS and metric.data.is_monotonic is False


def test_streams_count_until_their_span_ends_however_it_ends(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(active_requests=True)
    key = ("chat", "openai_compatible", "gpt-test")

    def stream(**kwargs: Any) -> Any:
        return openai_client.chat.completions.create(
            model=kwargs.pop("model", "gpt-test"), messages=QUESTION, stream=True, **kwargs
        )

    consumed = stream()
    assert _active(telemetry)[key] == 1
    for _ in consumed:
        pass
    assert _active(telemetry)[key] == 0

    closed = stream()
    next(iter(closed))
    assert _active(telemetry)[key] == 1
    closed.close()
    assert _active(telemetry)[key] == 0

    abandoned = stream()
    next(iter(abandoned))
    assert _active(telemetry)[key] == 1
    del abandoned
    gc.collect()
    assert _active(telemetry)[key] == 0

    with stream() as in_block:
        next(iter(in_block))
        assert _active(telemetry)[key] == 1
    assert _active(telemetry)[key] == 0

    for scenario in ("stream-error", "cut", "truncate"):
        broken = stream(extra_headers={"X-Fake-Scenario": scenario})
        try:
            for _ in broken:
                pass
        except (openai.APIError, Exception):
            pass
        assert _active(telemetry)[key] == 0, scenario

    with pytest.raises(openai.RateLimitError):
        stream(model="gpt-test:status-429")
    assert _active(telemetry)[("chat", "openai_compatible", "gpt-test:status-429")] == 0
    outcomes = {span.attributes.get(sc.GENAI_OTEL_OUTCOME) for span in telemetry.spans()}
    assert {"closed_early", "abandoned"} <= outcomes


def test_async_calls_and_cancellation(instrument_openai, async_openai_client) -> None:
    telemetry = instrument_openai(active_requests=True)
    key = ("chat", "openai_compatible", "gpt-test")

    async def main() -> None:
        await async_openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
        stream = await async_openai_client.chat.completions.create(
            model="gpt-test", messages=QUESTION, stream=True
        )
        async for _ in stream:
            pass
        task = asyncio.ensure_future(
            async_openai_client.chat.completions.create(
                model="gpt-test", messages=QUESTION, extra_headers={"X-Fake-Delay": "5"}
            )
        )
        for _ in range(500):
            await asyncio.sleep(0.01)
            if _active(telemetry).get(key) == 1:
                break
        assert _active(telemetry)[key] == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await async_openai_client.close()

    asyncio.run(main())
    assert _active(telemetry)[key] == 0
    assert "cancelled" in {span.attributes.get(sc.GENAI_OTEL_OUTCOME) for span in telemetry.spans()}


def test_ollama_streams_return_to_zero(telemetry, llm_server) -> None:
    ollama = pytest.importorskip("ollama")
    from genai_otel.ollama import OllamaInstrumentor

    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(**telemetry.providers(), active_requests=True)
    client = ollama.Client(host=llm_server.base_url)
    key = ("chat", "ollama", "llama3.2:1b")
    try:
        client.chat(model="llama3.2:1b", messages=QUESTION)
        generator = client.chat(model="llama3.2:1b", messages=QUESTION, stream=True)
        next(generator)
        assert _active(telemetry)[key] == 1
        generator.close()
        assert _active(telemetry)[key] == 0
        abandoned = client.chat(model="llama3.2:1b", messages=QUESTION, stream=True)
        next(abandoned)
        del abandoned
        gc.collect()
        assert _active(telemetry)[key] == 0
        with pytest.raises(ollama.ResponseError):
            for _ in client.chat(model="llama3.2:1b:stream-error", messages=QUESTION, stream=True):
                pass
        assert _active(telemetry)[("chat", "ollama", "llama3.2:1b:stream-error")] == 0
    finally:
        instrumentor.uninstrument()
        client._client.close()
    telemetry.assert_each_span_ended_once()


def test_a_broken_counter_never_reaches_the_caller(instrument_openai, openai_client) -> None:
    telemetry = instrument_openai(active_requests=True)
    from genai_otel.recording import Recorder

    class Exploding:
        def add(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("sdk bug")

    # The recorder the patched method's wrapper closes over: break its counter in place.
    recorders = [
        cell.cell_contents
        for attribute in vars(openai.resources.chat.completions.Completions).values()
        for cell in (getattr(getattr(attribute, "_self_wrapper", None), "__closure__", None) or ())
        if isinstance(cell.cell_contents, Recorder)
    ]
    assert recorders
    for recorder in recorders:
        recorder.active_requests = Exploding()
    reply = openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    assert reply.choices[0].message.content
    assert telemetry.span().attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0  # traced all the same
