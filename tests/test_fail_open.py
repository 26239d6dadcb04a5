"""A bug in genai-otel never reaches the caller: faults injected into our own hooks."""

from __future__ import annotations

import logging

import openai
import pytest

from genai_otel import _failsafe, recording
from genai_otel import semconv as sc
from genai_otel.openai import _adapter

MESSAGES = [{"role": "user", "content": "hi"}]


class InjectedFault(Exception):
    pass


def boom(*args, **kwargs):
    raise InjectedFault("injected")


@pytest.fixture(autouse=True)
def _fresh_reports():
    _failsafe._reported_sites.clear()
    yield
    _failsafe._reported_sites.clear()


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "genai_otel" and r.levelno == logging.WARNING]


def test_fault_reading_the_request_leaves_the_call_untouched(
    openai_instrumented, openai_client, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(_adapter.ChatCompletionsEndpoint, "begin", boom)
    with caplog.at_level(logging.DEBUG, logger="genai_otel"):
        first = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        second = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert isinstance(first, openai.types.chat.ChatCompletion)
    assert second.choices[0].message.content
    assert openai_instrumented.spans() == []
    assert len(_warnings(caplog)) == 1  # once, however often it fails
    assert "begin" in _warnings(caplog)[0].getMessage()


def test_fault_reading_the_response_returns_the_result_and_ends_the_span(
    openai_instrumented, openai_client, monkeypatch
) -> None:
    monkeypatch.setattr(_adapter.ChatCompletionsEndpoint, "record_response", boom)
    result = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert type(result) is openai.types.chat.ChatCompletion
    span = openai_instrumented.span()
    assert span.attributes[sc.GENAI_OTEL_OUTCOME] == "unobserved"


def test_fault_reading_chunks_keeps_the_stream_flowing(
    openai_instrumented, openai_client, monkeypatch
) -> None:
    monkeypatch.setattr(_adapter.ChatCompletionsEndpoint, "on_chunk", staticmethod(boom))
    stream = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert len(chunks) > 3
    assert len(openai_instrumented.spans()) == 1


def test_fault_binding_a_stream_returns_the_stream(openai_instrumented, openai_client, monkeypatch) -> None:
    monkeypatch.setattr(_adapter.ChatCompletionsEndpoint, "bind_stream", staticmethod(boom))
    stream = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)
    assert len(list(stream)) > 3
    assert openai_instrumented.span().attributes[sc.GENAI_OTEL_OUTCOME] == "unobserved"


def test_fault_starting_the_span(openai_instrumented, openai_client, monkeypatch) -> None:
    monkeypatch.setattr(recording.Recorder, "start", boom)
    assert openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES).id == "chatcmpl-fake"
    assert openai_instrumented.spans() == []


def test_fault_building_end_attributes_still_ends_the_span_once(
    openai_instrumented, openai_client, monkeypatch
) -> None:
    monkeypatch.setattr(recording, "response_attributes", boom)
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    list(openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True))
    assert len(openai_instrumented.spans()) == 2


def test_fault_in_metrics_still_ends_the_span(openai_instrumented, openai_client, monkeypatch) -> None:
    monkeypatch.setattr(recording.Call, "_record_metrics", boom)
    openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert len(openai_instrumented.spans()) == 1


def test_fault_while_the_client_raises_keeps_the_clients_exception(
    openai_instrumented, openai_client, monkeypatch
) -> None:
    monkeypatch.setattr(recording, "_error_type", boom)
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(model="gpt-test:status-429", messages=MESSAGES)
    assert len(openai_instrumented.spans()) == 1


def test_fault_in_close_hook_keeps_close_working(openai_instrumented, openai_client, monkeypatch) -> None:
    from genai_otel.streaming import TracedIterator

    monkeypatch.setattr(TracedIterator, "closed_by_caller", boom)
    stream = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    assert stream.response.is_closed
    monkeypatch.undo()
    del stream  # the span is still ended, by the garbage collector, exactly once


async def test_async_faults(openai_instrumented, async_openai_client, monkeypatch) -> None:
    monkeypatch.setattr(_adapter.ChatCompletionsEndpoint, "begin", boom)
    result = await async_openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert result.id == "chatcmpl-fake"
    monkeypatch.undo()
    monkeypatch.setattr(_adapter.ChatCompletionsEndpoint, "on_chunk", staticmethod(boom))
    stream = await async_openai_client.chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True
    )
    assert len([c async for c in stream]) > 3
    assert len(openai_instrumented.spans()) == 1


def test_fault_during_instrument_leaves_everything_unpatched(telemetry, openai_client, monkeypatch) -> None:
    from genai_otel import config
    from genai_otel.openai import OpenAIInstrumentor

    original = vars(openai.resources.chat.completions.Completions)["create"]
    monkeypatch.setattr(config.Settings, "load", classmethod(boom))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider)  # does not raise
    try:
        assert vars(openai.resources.chat.completions.Completions)["create"] is original
        assert (
            openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES).id == "chatcmpl-fake"
        )
    finally:
        instrumentor.uninstrument()
    assert telemetry.spans() == []


def test_product_api_never_raises_on_internal_faults(monkeypatch) -> None:
    import genai_otel
    from genai_otel import product

    monkeypatch.setattr(product, "_attributes", boom)
    genai_otel.record_outcome(route="serve")  # logged, not raised


def test_product_context_runs_the_block_despite_internal_faults(monkeypatch) -> None:
    import genai_otel
    from genai_otel import product

    monkeypatch.setattr(product, "_attributes", boom)
    ran = []
    with genai_otel.product_context("r", template_id="t"):
        ran.append(True)
    assert ran == [True]
