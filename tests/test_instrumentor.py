"""Instrumentor lifecycle, entry points and auto-instrumentation with opentelemetry-instrument."""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import openai
import pytest

from genai_otel.openai import OpenAIInstrumentor
from tests.helpers import run_auto_instrumented

MESSAGES = [{"role": "user", "content": "hi"}]


def _create(client):
    return client.chat.completions.create(model="gpt-test", messages=MESSAGES)


def test_instrument_twice_then_uninstrument_restores_originals(telemetry, openai_client) -> None:
    original = vars(openai.resources.chat.completions.Completions)["create"]
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    _create(openai_client)
    assert len(telemetry.spans()) == 1  # not two spans from a double patch
    instrumentor.uninstrument()
    assert vars(openai.resources.chat.completions.Completions)["create"] is original
    assert vars(openai._streaming.Stream)["close"].__name__ == "close"
    _create(openai_client)
    assert len(telemetry.spans()) == 1


def test_reinstrument_after_uninstrument(telemetry, openai_client) -> None:
    instrumentor = OpenAIInstrumentor()
    for _ in range(3):
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
        _create(openai_client)
        instrumentor.uninstrument()
    assert len(telemetry.spans()) == 3
    telemetry.assert_each_span_ended_once()


def test_dependencies_are_declared() -> None:
    assert OpenAIInstrumentor().instrumentation_dependencies() == ("openai >= 1.66.0, < 4",)


def test_entry_point_has_our_own_name() -> None:
    ours = [
        ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.value.startswith("genai_otel")
    ]
    assert {ep.name: ep.value for ep in ours}["genai_otel_openai"] == "genai_otel.openai:OpenAIInstrumentor"
    assert next(ep for ep in ours if ep.name == "genai_otel_openai").load() is OpenAIInstrumentor


APP = textwrap.dedent(
    """
    import os, openai
    client = openai.OpenAI(base_url=os.environ["APP_BASE_URL"], api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    """
)


def _run_auto_instrumented(tmp_path: Path, base_url: str, **env: str) -> list[dict]:
    script = tmp_path / "app.py"
    script.write_text(APP)
    spans = run_auto_instrumented(script, APP_BASE_URL=base_url, **env)
    return [s for s in spans if s.get("name", "").startswith("chat ")]


@pytest.mark.slow
def test_opentelemetry_instrument_picks_up_the_entry_point(tmp_path, llm_server) -> None:
    spans = _run_auto_instrumented(tmp_path, llm_server.openai_base_url)
    assert [s["name"] for s in spans] == ["chat gpt-test"]
    assert spans[0]["attributes"]["gen_ai.provider.name"] == "openai_compatible"


@pytest.mark.slow
def test_disabling_our_entry_point_only(tmp_path, llm_server) -> None:
    assert (
        _run_auto_instrumented(
            tmp_path, llm_server.openai_base_url, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="genai_otel_openai"
        )
        == []
    )
    # Disabling another vendor's "openai" entry point leaves ours on.
    spans = _run_auto_instrumented(
        tmp_path, llm_server.openai_base_url, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai"
    )
    assert len(spans) == 1


class _StreamWrapper:
    """Another instrumentation's stream wrapper, as official openai-v2's is: a plain object holding the
    client's stream as ``.stream``, iterating it, forwarding other attribute reads to it."""

    def __init__(self, stream: object) -> None:
        self.stream = stream

    def __iter__(self) -> _StreamWrapper:
        return self

    def __next__(self) -> object:
        return next(iter(self.stream))

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


@pytest.fixture
def another_instrumentation():
    import wrapt

    def create(wrapped, instance, args, kwargs):
        result = wrapped(*args, **kwargs)
        return _StreamWrapper(result) if kwargs.get("stream") else result

    owner = openai.resources.chat.completions.Completions
    original = vars(owner)["create"]
    wrapt.wrap_function_wrapper(owner, "create", create)
    yield
    owner.create = original


def test_a_stream_inside_another_instrumentations_wrapper_is_traced(
    another_instrumentation, telemetry, openai_client
) -> None:
    """Our wrapper outermost: the client's stream is found inside the other one's wrapper, so the span
    ends when the stream does, with its usage and finish reason."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(**telemetry.providers())
    try:
        stream = openai_client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        assert type(stream) is _StreamWrapper and "_iterator" not in vars(stream)
        chunks = list(stream)
        span = telemetry.span()  # ended as the stream did, not when collected
    finally:
        instrumentor.uninstrument()
    assert chunks[-1].usage is not None
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens
    assert "genai_otel.outcome" not in span.attributes


def test_uninstrument_leaves_an_instrumentation_wrapped_on_top_of_ours(telemetry, openai_client) -> None:
    """Another instrumentation wrapped the method after us: uninstrumenting ours keeps its wrapper (ours,
    inside it, passes calls through), and when it later restores what it found (our wrapper), ours stays
    silent."""
    import wrapt

    owner = openai.resources.chat.completions.Completions
    pristine = vars(owner)["create"]
    seen: list[str] = []

    def theirs(wrapped, instance, args, kwargs):
        seen.append("theirs")
        return wrapped(*args, **kwargs)

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(**telemetry.providers())
    ours = vars(owner)["create"]
    try:
        wrapt.wrap_function_wrapper(owner, "create", theirs)
        instrumentor.uninstrument()
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        assert seen == ["theirs"] and telemetry.spans() == []
        owner.create = ours  # they uninstrument: back to what they found
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        assert telemetry.spans() == []
        instrumentor.instrument(**telemetry.providers())  # and ours again, on top
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        assert len(telemetry.spans()) == 1
        instrumentor.uninstrument()
        assert vars(owner)["create"] is pristine  # the retired wrapper went too
    finally:
        owner.create = pristine


def test_cycles_with_another_instrumentation_do_not_pile_up_wrappers(telemetry, openai_client) -> None:
    """The other one saves what it reads off the class (our wrapper, bound) and puts it back when it
    uninstruments: our next instrument() goes past that retired wrapper instead of adding a layer."""
    import wrapt

    owner = openai.resources.chat.completions.Completions
    pristine = vars(owner)["create"]

    def layers() -> int:
        current, count = vars(owner)["create"], 0
        while current is not pristine and hasattr(current, "__wrapped__"):
            current, count = current.__wrapped__, count + 1
        return count

    def theirs(wrapped, instance, args, kwargs):
        return wrapped(*args, **kwargs)

    instrumentor = OpenAIInstrumentor()
    try:
        for _ in range(3):
            instrumentor.instrument(**telemetry.providers())
            found = owner.create  # read off the class, as instrumentations save what they replace
            wrapt.wrap_function_wrapper(owner, "create", theirs)
            instrumentor.uninstrument()
            owner.create = found  # theirs uninstrumented
            assert layers() <= 1
            openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
            assert telemetry.spans() == []
        instrumentor.instrument(**telemetry.providers())
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        assert len(telemetry.spans()) == 1
        instrumentor.uninstrument()
    finally:
        owner.create = pristine
