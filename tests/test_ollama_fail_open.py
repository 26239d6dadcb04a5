"""A bug in genai-otel never reaches a caller of the ollama client: faults injected into our own hooks."""

from __future__ import annotations

import gc
import logging
import types

import pytest

from genai_otel import _failsafe, recording, streaming
from genai_otel import semconv as sc

ollama = pytest.importorskip("ollama")

from genai_otel.ollama import OllamaInstrumentor, _adapter  # noqa: E402  (after the importorskip)

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


def _keep_reports_from_pytest(monkeypatch) -> None:
    """pytest's log capture keeps each report's traceback, and with it the frames of a closed stream:
    the span would then end only after the test. (An application's handlers format and drop records.)"""
    logger = logging.getLogger("genai_otel")
    monkeypatch.setattr(logger, "propagate", False)
    monkeypatch.setattr(logger, "handlers", [logging.NullHandler()])


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "genai_otel" and r.levelno == logging.WARNING]


def test_fault_reading_the_request_leaves_the_call_untouched(
    ollama_instrumented, ollama_client, caplog
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_adapter.ChatEndpoint, "begin", boom)
        with caplog.at_level(logging.DEBUG, logger="genai_otel"):
            first = ollama_client.chat(model="llama-test", messages=MESSAGES)
            stream = ollama_client.chat(model="llama-test", messages=MESSAGES, stream=True)
            assert type(stream) is types.GeneratorType
            assert list(stream)[-1].done
    assert isinstance(first, ollama.ChatResponse)
    assert ollama_instrumented.spans() == []
    assert len(_warnings(caplog)) == 1  # once, however often it fails
    assert "begin" in _warnings(caplog)[0].getMessage()


@pytest.mark.parametrize("reader", ["_read_done", "_read_response_message"])
def test_fault_reading_the_response_returns_the_result_and_ends_the_span(
    ollama_instrumented, ollama_client, monkeypatch, reader
) -> None:
    monkeypatch.setattr(_adapter, reader, boom)
    result = ollama_client.chat(model="llama-test", messages=MESSAGES)
    assert type(result) is ollama.ChatResponse
    assert ollama_instrumented.span().attributes[sc.GENAI_OTEL_OUTCOME] == "unobserved"


def test_fault_reading_chunks_keeps_the_stream_flowing(
    ollama_instrumented, ollama_client, monkeypatch
) -> None:
    monkeypatch.setattr(_adapter, "_read_done", boom)
    chunks = list(ollama_client.generate(model="llama-test", prompt="hi", stream=True))
    assert chunks[-1].done and chunks[-1].eval_count
    assert len(ollama_instrumented.spans()) == 1


def test_fault_binding_a_stream_returns_the_clients_generator(
    ollama_instrumented, ollama_client, monkeypatch
) -> None:
    monkeypatch.setattr(streaming, "traced_generator", boom)
    monkeypatch.setattr(_adapter, "traced_generator", boom)
    stream = ollama_client.chat(model="llama-test", messages=MESSAGES, stream=True)
    assert type(stream) is types.GeneratorType
    assert list(stream)[-1].done
    assert ollama_instrumented.span().attributes[sc.GENAI_OTEL_OUTCOME] == "unobserved"


def test_fault_activating_the_span_for_the_lazy_request(
    ollama_instrumented, ollama_client, monkeypatch
) -> None:
    monkeypatch.setattr(recording.Call, "activate", boom)
    chunks = list(ollama_client.chat(model="llama-test", messages=MESSAGES, stream=True))
    assert chunks[-1].done
    assert ollama_instrumented.span().attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


def test_fault_ending_a_closed_stream_keeps_close_working(
    ollama_instrumented, llm_server, monkeypatch
) -> None:
    responses: list[object] = []
    client = ollama.Client(host=llm_server.base_url, event_hooks={"response": [responses.append]})
    _keep_reports_from_pytest(monkeypatch)
    monkeypatch.setattr(streaming.TracedIterator, "closed_by_caller", boom)
    stream = client.chat(model="llama-test", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()  # no InjectedFault here
    (response,) = responses
    assert response.is_closed
    monkeypatch.undo()
    del stream
    gc.collect()
    assert ollama_instrumented.span().attributes[sc.GENAI_OTEL_OUTCOME] == "abandoned"  # ended, once


def test_fault_starting_the_span(ollama_instrumented, ollama_client, monkeypatch) -> None:
    monkeypatch.setattr(recording.Recorder, "start", boom)
    assert ollama_client.embed(model="embed-test", input="hi").embeddings
    assert ollama_instrumented.spans() == []


def test_fault_in_metrics_still_ends_the_span(ollama_instrumented, ollama_client, monkeypatch) -> None:
    monkeypatch.setattr(recording.Call, "_record_metrics", boom)
    ollama_client.chat(model="llama-test", messages=MESSAGES)
    list(ollama_client.chat(model="llama-test", messages=MESSAGES, stream=True))
    assert len(ollama_instrumented.spans()) == 2


def test_fault_while_the_client_raises_keeps_the_clients_exception(
    ollama_instrumented, ollama_client, monkeypatch
) -> None:
    monkeypatch.setattr(recording, "_error_type", boom)
    with pytest.raises(ollama.ResponseError):
        ollama_client.chat(model="llama-test:status-500", messages=MESSAGES)
    with pytest.raises(ollama.ResponseError):
        list(ollama_client.chat(model="llama-test:stream-error", messages=MESSAGES, stream=True))
    assert len(ollama_instrumented.spans()) == 2


def test_fault_rebinding_the_module_functions_leaves_instrument_working(
    telemetry, ollama_client, caplog
) -> None:
    instrumentor = OllamaInstrumentor()
    with pytest.MonkeyPatch.context() as patch, caplog.at_level(logging.WARNING, logger="genai_otel"):
        patch.setattr(OllamaInstrumentor, "_rebind_module_functions", boom)
        patch.setattr(OllamaInstrumentor, "_restore_module_functions", boom)
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider)  # does not raise
        ollama_client.chat(model="llama-test", messages=MESSAGES)
        instrumentor.uninstrument()  # does not raise
    assert len(telemetry.spans()) == 1
    assert len(_warnings(caplog)) == 2
    assert "ollama._client" not in repr(vars(ollama.Client)["chat"])  # the class methods were restored


async def test_async_faults(ollama_instrumented, async_ollama_client, monkeypatch) -> None:
    monkeypatch.setattr(_adapter.ChatEndpoint, "begin", boom)
    result = await async_ollama_client.chat(model="llama-test", messages=MESSAGES)
    assert isinstance(result, ollama.ChatResponse)
    monkeypatch.undo()
    _keep_reports_from_pytest(monkeypatch)
    monkeypatch.setattr(_adapter, "_read_done", boom)
    monkeypatch.setattr(streaming.TracedAsyncIterator, "closed_by_caller", boom)
    stream = await async_ollama_client.chat(model="llama-test", messages=MESSAGES, stream=True)
    assert type(stream) is types.AsyncGeneratorType
    assert [chunk async for chunk in stream][-1].done
    stream = await async_ollama_client.chat(model="llama-test", messages=MESSAGES, stream=True)
    await stream.__anext__()
    await stream.aclose()  # no InjectedFault here
    monkeypatch.undo()
    del stream
    gc.collect()
    assert len(ollama_instrumented.spans()) == 2
