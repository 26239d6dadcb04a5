"""Input hashing is opt-in: on by default only when a hash key is set (then HMAC-SHA-256), a plain
SHA-256 only when asked for explicitly, never with an unusable key. The same rule for the chat spans of
both clients and for tool spans; stalled-loop detection works either way. Real clients over loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import genai_otel
from genai_otel import _failsafe
from genai_otel import content as content_module
from genai_otel import semconv as sc
from genai_otel import tools as tools_module
from genai_otel.product import configure_product

KEY = "tenant-secret"
QUESTION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Where is parcel 48213?"},
]
# The same request in its semconv shape, as the hashes are taken over it.
INPUT_MESSAGES = [
    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
    {"role": "user", "parts": [{"type": "text", "content": "Where is parcel 48213?"}]},
]
SYSTEM_PROMPT = [{"type": "text", "content": "Be brief."}]
TOOL_ARGUMENTS = {"parcel_id": "48213"}
HASHES = (sc.GENAI_OTEL_INPUT_MESSAGES_HASH, sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def hmac_of(value: Any, key: str = KEY) -> str:
    """Computed here, independently of genai-otel: HMAC-SHA-256, first 128 bits, hex."""
    return hmac.new(key.encode("utf-8"), _canonical(value), hashlib.sha256).hexdigest()[:32]


def sha256_of(value: Any) -> str:
    return hashlib.sha256(_canonical(value)).hexdigest()[:32]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch) -> Iterator[None]:
    for name in ("GENAI_OTEL_HASH_INPUTS", "GENAI_OTEL_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
    _failsafe._warned_settings.clear()
    yield
    _failsafe._warned_settings.clear()


@pytest.fixture
def instrument(instrument_both, caplog) -> Iterator[Any]:
    """Both instrumentors and the product API with the given settings; returns (telemetry, warnings)."""

    def instrument(**settings: Any) -> tuple[Any, list[str]]:
        with caplog.at_level(logging.WARNING, logger="genai_otel"):
            telemetry = instrument_both(**settings)
        warnings = [
            r.getMessage().removeprefix("genai-otel: ") for r in caplog.records if r.name == "genai_otel"
        ]
        return telemetry, warnings

    return instrument


def _spans_of_each_kind(telemetry: Any, openai_client: Any, ollama_client: Any) -> list[Any]:
    """An OpenAI chat, an Ollama chat and a tool call; their spans, in that order."""
    openai_client.chat.completions.create(model="gpt-test", messages=QUESTION)
    ollama_client.chat(model="llama3.2", messages=QUESTION)
    with genai_otel.tool_call("lookup", arguments=TOOL_ARGUMENTS):
        pass
    via_openai, via_ollama, tool = telemetry.spans()
    assert tool.name == "execute_tool lookup"
    return [via_openai, via_ollama, tool]


def _assert_no_hashes(spans: list[Any]) -> None:
    for span in spans:
        assert not [key for key in span.attributes if key.endswith(".hash")], span.name


def _assert_hashes(spans: list[Any], digest: Any) -> None:
    *chats, tool = spans
    for span in chats:
        assert span.attributes[sc.GENAI_OTEL_INPUT_MESSAGES_HASH] == digest(INPUT_MESSAGES)
        assert span.attributes[sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH] == digest(SYSTEM_PROMPT)
    assert tool.attributes[sc.GENAI_OTEL_TOOL_ARGUMENTS_HASH] == digest(TOOL_ARGUMENTS)


# --- the default matrix -------------------------------------------------------------------------------------
def test_no_key_no_hashes_by_default(instrument, openai_client, ollama_client) -> None:
    telemetry, warnings = instrument()
    spans = _spans_of_each_kind(telemetry, openai_client, ollama_client)
    _assert_no_hashes(spans)
    assert warnings == []


BLANK_TEXT = ["", "   ", "\t", " \n", "\u00a0"]


@pytest.mark.parametrize(
    ("form", "blank"),
    [("environment", text) for text in BLANK_TEXT]
    + [("keyword", key) for key in [*BLANK_TEXT, b"  ", bytearray(b"\t")]],
)
def test_a_blank_key_is_no_key(instrument, openai_client, ollama_client, monkeypatch, form, blank) -> None:
    # As for every setting, a blank value is unset: a whitespace key is one everybody knows.
    if form == "environment":
        monkeypatch.setenv("GENAI_OTEL_HASH_KEY", blank)
        telemetry, warnings = instrument()
    else:
        telemetry, warnings = instrument(hash_key=blank)
    _assert_no_hashes(_spans_of_each_kind(telemetry, openai_client, ollama_client))
    assert warnings == []


def test_a_key_with_text_is_used_byte_for_byte(instrument, openai_client, ollama_client, monkeypatch) -> None:
    monkeypatch.setenv("GENAI_OTEL_HASH_KEY", f" {KEY}\n")  # a key file's newline is part of the key
    telemetry, warnings = instrument()
    spans = _spans_of_each_kind(telemetry, openai_client, ollama_client)
    _assert_hashes(spans, lambda value: hmac_of(value, f" {KEY}\n"))
    assert warnings == []


@pytest.mark.parametrize("form", ["keyword", "environment"])
def test_a_key_turns_keyed_hashes_on(instrument, openai_client, ollama_client, monkeypatch, form) -> None:
    if form == "environment":
        monkeypatch.setenv("GENAI_OTEL_HASH_KEY", KEY)
        telemetry, warnings = instrument()
    else:
        telemetry, warnings = instrument(hash_key=KEY)
    spans = _spans_of_each_kind(telemetry, openai_client, ollama_client)
    _assert_hashes(spans, hmac_of)
    assert spans[0].attributes[sc.GENAI_OTEL_INPUT_MESSAGES_HASH] != sha256_of(INPUT_MESSAGES)
    assert warnings == []


@pytest.mark.parametrize("form", ["keyword", "environment"])
def test_explicit_true_without_a_key_is_the_plain_hash(
    instrument, openai_client, ollama_client, monkeypatch, form
) -> None:
    if form == "environment":
        monkeypatch.setenv("GENAI_OTEL_HASH_INPUTS", "true")
        telemetry, warnings = instrument()
    else:
        telemetry, warnings = instrument(hash_inputs=True)
    spans = _spans_of_each_kind(telemetry, openai_client, ollama_client)
    _assert_hashes(spans, sha256_of)
    assert warnings == []  # the user asked for it; the docs say it is guessable


@pytest.mark.parametrize("form", ["keyword", "environment"])
def test_explicit_false_turns_hashing_off_even_with_a_key(
    instrument, openai_client, ollama_client, monkeypatch, form
) -> None:
    if form == "environment":
        monkeypatch.setenv("GENAI_OTEL_HASH_INPUTS", "false")
        monkeypatch.setenv("GENAI_OTEL_HASH_KEY", KEY)
        telemetry, warnings = instrument()
    else:
        telemetry, warnings = instrument(hash_inputs=False, hash_key=KEY)
    _assert_no_hashes(_spans_of_each_kind(telemetry, openai_client, ollama_client))
    assert warnings == []


def test_keywords_win_over_the_environment(instrument, openai_client, ollama_client, monkeypatch) -> None:
    monkeypatch.setenv("GENAI_OTEL_HASH_INPUTS", "false")
    monkeypatch.setenv("GENAI_OTEL_HASH_KEY", "another-key")
    telemetry, _ = instrument(hash_inputs=True, hash_key=KEY)
    _assert_hashes(_spans_of_each_kind(telemetry, openai_client, ollama_client), hmac_of)


# --- bad settings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("form", ["keyword", "environment"])
def test_a_bad_value_warns_once_and_uses_the_default(
    instrument, openai_client, ollama_client, monkeypatch, keyed, form
) -> None:
    if keyed:
        monkeypatch.setenv("GENAI_OTEL_HASH_KEY", KEY)
    if form == "environment":
        monkeypatch.setenv("GENAI_OTEL_HASH_INPUTS", "sometimes")
        telemetry, warnings = instrument()
        named = "GENAI_OTEL_HASH_INPUTS='sometimes'"
    else:
        telemetry, warnings = instrument(hash_inputs="sometimes")
        named = "instrument(hash_inputs='sometimes')"
    spans = _spans_of_each_kind(telemetry, openai_client, ollama_client)
    # One warning per setting: the variable once; the keyword once for instrument() (both clients) and
    # once for configure_product().
    names = [named] if form == "environment" else [named, named.replace("instrument(", "configure_product(")]
    assert len(warnings) == len(names)
    assert all(sum(w.startswith(name) for w in warnings) == 1 for name in names)
    for warning in warnings:
        if keyed:
            assert "using true (the default when a hash key is set" in warning
        else:
            assert "using false (the default without a usable hash key" in warning
    if keyed:
        _assert_hashes(spans, hmac_of)
    else:
        _assert_no_hashes(spans)


@pytest.mark.parametrize("asked", [True, "true", None])
@pytest.mark.parametrize("key", [7, ["k"], "\ud800-lone"])
def test_an_unusable_key_turns_hashing_off_even_when_asked_for(
    instrument, openai_client, ollama_client, asked, key
) -> None:
    telemetry, warnings = instrument(hash_inputs=asked, hash_key=key)
    _assert_no_hashes(_spans_of_each_kind(telemetry, openai_client, ollama_client))
    instrument_warning, product_warning = warnings  # one for instrument(), one for configure_product()
    assert instrument_warning.startswith("instrument(hash_key=<")
    assert product_warning.startswith("configure_product(hash_key=<")
    for warning in warnings:
        assert "hashing is off" in warning
        assert "lone" not in warning and "7" not in warning  # the key's type, never the key


def test_an_unusable_key_with_a_bad_value_says_what_is_used(instrument, openai_client, ollama_client) -> None:
    telemetry, warnings = instrument(hash_inputs="sometimes", hash_key=7)
    _assert_no_hashes(_spans_of_each_kind(telemetry, openai_client, ollama_client))
    key_warning, value_warning = (w for w in warnings if w.startswith("instrument("))
    assert "hashing is off" in key_warning
    assert "using false (the default without a usable hash key" in value_warning


# --- what hashing off costs and keeps -----------------------------------------------------------------------
def test_hashing_off_hashes_nothing_per_call(instrument, openai_client, ollama_client, monkeypatch) -> None:
    hashed: list[Any] = []

    def counting(value: Any, key: bytes | None) -> str:
        hashed.append(value)
        return "0" * 32

    monkeypatch.setattr(content_module, "stable_hash", counting)
    monkeypatch.setattr(tools_module, "stable_hash", counting)
    telemetry, _ = instrument()
    _assert_no_hashes(_spans_of_each_kind(telemetry, openai_client, ollama_client))
    assert hashed == []  # outside a product context a tool call has no loop to compare either


def test_stalled_loops_are_detected_with_hashing_off(instrument) -> None:
    seen: list[Any] = []
    telemetry, _ = instrument()
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        on_stalled_loop=seen.append,
    )
    with genai_otel.product_context("agent run"):
        for _ in range(2):
            with genai_otel.tool_call("lookup", arguments=TOOL_ARGUMENTS):
                pass
        genai_otel.report_progress("new evidence")
        with genai_otel.tool_call("lookup", arguments=TOOL_ARGUMENTS):
            pass
    tools = [s for s in telemetry.spans() if s.name == "execute_tool lookup"]
    assert [s.attributes.get(sc.GENAI_OTEL_TOOL_STALLED, False) for s in tools] == [False, True, False]
    _assert_no_hashes(tools)
    (loop,) = seen
    assert loop.repeats == 1
    # keyed with a secret of the process: not the plain, guessable hash of the arguments
    assert loop.arguments_hash != sha256_of(TOOL_ARGUMENTS)


def test_stalled_loops_are_detected_with_keyed_hashes(instrument) -> None:
    seen: list[Any] = []
    telemetry, _ = instrument(hash_key=KEY)
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        hash_key=KEY,
        on_stalled_loop=seen.append,
    )
    with genai_otel.product_context("agent run"):
        for _ in range(2):
            with genai_otel.tool_call("lookup", arguments=TOOL_ARGUMENTS):
                pass
    first, second = (s for s in telemetry.spans() if s.name == "execute_tool lookup")
    assert second.attributes[sc.GENAI_OTEL_TOOL_STALLED] is True
    (loop,) = seen
    assert (
        loop.arguments_hash == first.attributes[sc.GENAI_OTEL_TOOL_ARGUMENTS_HASH] == hmac_of(TOOL_ARGUMENTS)
    )


def test_ollama_generate_hashes_its_prompt_and_system(instrument, ollama_client) -> None:
    telemetry, _ = instrument(hash_key=KEY)
    ollama_client.generate(model="llama-test", prompt="Where is parcel 48213?", system="Be brief.")
    attributes = telemetry.span().attributes
    prompt = [{"role": "user", "parts": [{"type": "text", "content": "Where is parcel 48213?"}]}]
    assert attributes[sc.GENAI_OTEL_INPUT_MESSAGES_HASH] == hmac_of(prompt)
    assert attributes[sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH] == hmac_of(SYSTEM_PROMPT)
