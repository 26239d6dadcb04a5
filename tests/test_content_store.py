"""The governed content store on real stores: a local filesystem and the S3 protocol (moto's server on
127.0.0.1, through s3fs), with the real openai and ollama clients over loopback.

References on exported spans are followed with the real ``genai-otel content get`` command."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import select
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genai_otel
from genai_otel import _failsafe, content_store
from genai_otel import semconv as sc
from genai_otel.content_store import _writer
from genai_otel.product import configure_product

QUESTION = [
    {"role": "system", "content": "You answer parcel questions."},
    {"role": "user", "content": "Where is parcel 48213? Write to jane.doe@example.org"},
]
REDACTED_QUESTION = [
    {"role": "system", "parts": [{"type": "text", "content": "You answer parcel questions."}]},
    {"role": "user", "parts": [{"type": "text", "content": "Where is parcel 48213? Write to [EMAIL]"}]},
]
KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()
REFS = (
    sc.GEN_AI_INPUT_MESSAGES_REF,
    sc.GEN_AI_OUTPUT_MESSAGES_REF,
    sc.GEN_AI_SYSTEM_INSTRUCTIONS_REF,
    sc.GEN_AI_TOOL_DEFINITIONS_REF,
)
INLINE = (
    sc.GEN_AI_INPUT_MESSAGES,
    sc.GEN_AI_OUTPUT_MESSAGES,
    sc.GEN_AI_SYSTEM_INSTRUCTIONS,
    sc.GEN_AI_TOOL_DEFINITIONS,
)
CLI = Path(sys.executable).with_name("genai-otel")


@pytest.fixture(autouse=True)
def _fresh_warnings():
    _failsafe._warned_settings.clear()
    _failsafe._reported_sites.clear()


@pytest.fixture
def store_url(tmp_path) -> str:
    return (tmp_path / "store").as_uri()


def content_get(reference: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "genai_otel.cli"]
    environment = {k: v for k, v in os.environ.items() if k != "GENAI_OTEL_CONTENT_STORE_KEY"}
    environment.update(env)
    return subprocess.run(
        [*command, "content", "get", reference], capture_output=True, text=True, env=environment, timeout=120
    )


def resolve(reference: str, **env: str) -> Any:
    result = content_get(reference, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stored_objects(root: Path) -> list[Path]:
    return sorted(root.rglob("*.json"))


def dropped_count(telemetry) -> int:
    return sum(p.value for p in telemetry.metric_points(sc.METRIC_CONTENT_STORE_DROPPED))


def chat(client, **kwargs) -> Any:
    return client.chat.completions.create(model="gpt-test", messages=QUESTION, **kwargs)


def test_without_a_store_neither_fsspec_nor_cryptography_is_imported() -> None:
    """docs/architecture.md: they are imported only when a store is opened, at instrument()."""
    program = textwrap.dedent(
        """
        import sys
        import genai_otel, genai_otel.content_store
        from genai_otel.ollama import OllamaInstrumentor
        from genai_otel.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(capture_message_content="SPAN_AND_EVENT")
        OllamaInstrumentor().instrument(capture_message_content="SPAN_ONLY")
        genai_otel.configure_product(capture_message_content="SPAN_ONLY")
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("fsspec", "cryptography", "s3fs")))
        """
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_OTEL_CONTENT_STORE")}
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, env=environment
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("timeout", ["5", float("nan"), -1, float("inf"), True, object()])
def test_flush_with_a_bad_timeout_never_raises_and_still_writes(
    timeout, instrument_openai, openai_client, store_url, tmp_path, caplog
):
    """content_store.flush() is the application's call (docs/content-capture.md): a bad argument is one
    warning and the stores' own time limit, never an exception in the caller."""
    _failsafe._warned_settings.clear()
    instrument_openai(capture_message_content="SPAN_ONLY", content_store=store_url)
    chat(openai_client)
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        assert content_store.flush(timeout) is True
    assert "timeout_seconds" in caplog.text
    assert stored_objects(tmp_path / "store")


# --- what lands where ----------------------------------------------------------------------------------------
def test_references_replace_content_on_spans_and_resolve_exactly(instrument_openai, openai_client, store_url):
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", content_store=store_url)
    response = chat(openai_client)
    assert response.choices[0].message.content  # the call is what it would be
    assert content_store.flush(30)
    span = telemetry.span()
    attributes = span.attributes
    for key in INLINE:
        assert key not in attributes
    assert "jane.doe" not in telemetry.exported_text()
    assert attributes[sc.GENAI_OTEL_CONTENT_STORE] == store_url
    assert attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    trace_id, span_id = f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"
    reference = attributes[sc.GEN_AI_INPUT_MESSAGES_REF]
    assert re.fullmatch(
        re.escape(store_url)
        + rf"/\d{{4}}/\d{{2}}/\d{{2}}/{trace_id}/{span_id}\.json#gen_ai\.input\.messages",
        reference,
    )
    assert attributes[sc.GEN_AI_OUTPUT_MESSAGES_REF] == reference.replace("input", "output")
    assert resolve(reference) == REDACTED_QUESTION
    output = resolve(attributes[sc.GEN_AI_OUTPUT_MESSAGES_REF])
    assert output[0]["role"] == "assistant"
    assert output[0]["parts"][0]["content"] == response.choices[0].message.content
    # one document per call, holding the metadata and every part
    whole = resolve(reference.partition("#")[0])
    assert whole["trace_id"] == trace_id and whole["span_id"] == span_id
    assert whole["redacted"] is True and whole["redaction_policy"] == "default"
    assert set(whole["content"]) == {sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES}


def test_inline_content_kept_when_asked_and_equal_to_the_stored(
    instrument_openai, openai_client, store_url, monkeypatch
):
    from tests.helpers import TRACK_PARCEL_TOOL

    monkeypatch.setenv("GENAI_OTEL_CONTENT_STORE", store_url)
    monkeypatch.setenv("GENAI_OTEL_CONTENT_STORE_INLINE", "true")
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY")
    chat(openai_client, tools=[TRACK_PARCEL_TOOL])
    assert content_store.flush(30)
    attributes = telemetry.span().attributes
    for inline, ref in zip(INLINE, REFS, strict=True):
        if inline == sc.GEN_AI_SYSTEM_INSTRUCTIONS:
            continue  # chat completions keep system messages in the history
        assert resolve(attributes[ref]) == json.loads(attributes[inline]), inline


def test_responses_api_instructions_and_streams(instrument_openai, openai_client, store_url):
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", content_store=store_url)
    openai_client.responses.create(
        model="gpt-test", instructions="Be brief, mail ops@example.com", input="Hi"
    )
    stream = openai_client.chat.completions.create(model="gpt-test", messages=QUESTION, stream=True)
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert content_store.flush(30)
    responses_span, stream_span = telemetry.spans()
    instructions = resolve(responses_span.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS_REF])
    assert instructions == [{"type": "text", "content": "Be brief, mail [EMAIL]"}]
    output = resolve(stream_span.attributes[sc.GEN_AI_OUTPUT_MESSAGES_REF])
    assert output[0]["parts"][0]["content"] == streamed


def test_event_modes_carry_references_not_content(instrument_openai, openai_client, store_url):
    telemetry = instrument_openai(capture_message_content="EVENT_ONLY", content_store=store_url)
    chat(openai_client)
    assert content_store.flush(30)
    (record,) = telemetry.logs()
    event = dict(record.attributes)
    for key in INLINE:
        assert key not in event
    assert event[sc.GENAI_OTEL_CONTENT_STORE] == store_url
    assert resolve(event[sc.GEN_AI_INPUT_MESSAGES_REF]) == REDACTED_QUESTION
    # the span has the same references (they are not content)
    assert telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES_REF] == event[sc.GEN_AI_INPUT_MESSAGES_REF]
    assert "jane.doe" not in telemetry.exported_text()


def test_ollama_client(telemetry, ollama_client, store_url):
    from genai_otel.ollama import OllamaInstrumentor

    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(
        **telemetry.providers(), capture_message_content="SPAN_AND_EVENT", content_store=store_url
    )
    try:
        answer = ollama_client.chat(model="llama3.2", messages=QUESTION)
    finally:
        instrumentor.uninstrument()  # flushes the store: no explicit flush needed
    attributes = telemetry.span().attributes
    assert sc.GEN_AI_INPUT_MESSAGES not in attributes
    assert resolve(attributes[sc.GEN_AI_INPUT_MESSAGES_REF]) == REDACTED_QUESTION
    output = resolve(attributes[sc.GEN_AI_OUTPUT_MESSAGES_REF])
    assert output[0]["parts"][0]["content"] == answer.message.content


def test_tool_arguments_and_results_go_to_the_store(instrument_openai, store_url):
    telemetry = instrument_openai()
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_message_content="SPAN_ONLY",
        content_store=store_url,
    )
    try:

        @genai_otel.tool
        def track_parcel(parcel_id: str, email: str) -> dict:
            return {"status": "in transit", "notify": email}

        track_parcel("48213", email="jane.doe@example.org")
        assert content_store.flush(30)
    finally:
        configure_product()
    attributes = telemetry.span().attributes
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in attributes and sc.GEN_AI_TOOL_CALL_RESULT not in attributes
    assert resolve(attributes[sc.GENAI_OTEL_TOOL_CALL_ARGUMENTS_REF]) == {
        "parcel_id": "48213",
        "email": "[EMAIL]",
    }
    assert resolve(attributes[sc.GENAI_OTEL_TOOL_CALL_RESULT_REF]) == {
        "status": "in transit",
        "notify": "[EMAIL]",
    }
    assert "jane.doe" not in telemetry.exported_text()


def test_no_store_when_capture_is_off_or_unset(instrument_openai, openai_client, store_url, tmp_path):
    from genai_otel.openai import OpenAIInstrumentor

    telemetry = instrument_openai(content_store=store_url)  # capture off: the store is never opened
    chat(openai_client)
    attributes = telemetry.span().attributes
    assert not any(key.endswith("_ref") for key in attributes)
    assert sc.GENAI_OTEL_CONTENT_STORE not in attributes
    assert not (tmp_path / "store").exists()
    instrumentor = OpenAIInstrumentor()
    assert instrumentor._content_store is None
    instrumentor.uninstrument()
    instrumentor.instrument(**telemetry.providers(), capture_message_content="SPAN_ONLY")
    assert instrumentor._content_store is None  # no store set: finish() checks one attribute, nothing more


def test_uninstrumented_and_unsampled_calls_store_nothing(telemetry, openai_client, store_url, tmp_path):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from genai_otel.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        capture_message_content="SPAN_ONLY",
        content_store=store_url,
    )
    try:
        chat(openai_client)
    finally:
        instrumentor.uninstrument()
    assert stored_objects(tmp_path) == []  # nobody could ever follow a reference to it


# --- encryption and raw storage ------------------------------------------------------------------------------
def test_encrypted_objects_and_key_rotation(instrument_openai, openai_client, store_url, tmp_path, telemetry):
    from genai_otel.openai import OpenAIInstrumentor

    instrument_openai(
        capture_message_content="SPAN_ONLY", content_store=store_url, content_store_key=f"2026-11:{KEY_A}"
    )
    chat(openai_client)
    assert content_store.flush(30)
    old_ref = telemetry.spans()[0].attributes[sc.GEN_AI_INPUT_MESSAGES_REF]
    (old_object,) = stored_objects(tmp_path)
    envelope = json.loads(old_object.read_bytes())
    assert set(envelope) == {"genai_otel.envelope", "alg", "kid", "nonce", "ciphertext"}
    assert envelope["alg"] == "A256GCM" and envelope["kid"] == "2026-11"
    assert b"parcel" not in old_object.read_bytes()

    # rotate: the new key first (it encrypts), the old one still listed (it decrypts)
    rotated = OpenAIInstrumentor()
    rotated.uninstrument()
    rotated.instrument(
        **telemetry.providers(),
        capture_message_content="SPAN_ONLY",
        content_store=store_url,
        content_store_key=f"2026-12:{KEY_B}, 2026-11:{KEY_A}",
    )
    chat(openai_client)
    assert content_store.flush(30)
    new_ref = telemetry.spans()[1].attributes[sc.GEN_AI_INPUT_MESSAGES_REF]
    new_object = next(p for p in stored_objects(tmp_path) if p != old_object)
    assert json.loads(new_object.read_bytes())["kid"] == "2026-12"
    both = {"GENAI_OTEL_CONTENT_STORE_KEY": f"2026-12:{KEY_B},2026-11:{KEY_A}"}
    assert resolve(old_ref, **both) == REDACTED_QUESTION
    assert resolve(new_ref, **both) == REDACTED_QUESTION

    without_key = content_get(new_ref)
    assert without_key.returncode == 1 and "GENAI_OTEL_CONTENT_STORE_KEY" in without_key.stderr
    retired = content_get(old_ref, GENAI_OTEL_CONTENT_STORE_KEY=f"2026-12:{KEY_B}")
    assert retired.returncode == 1 and "'2026-11'" in retired.stderr
    wrong = content_get(old_ref, GENAI_OTEL_CONTENT_STORE_KEY=f"2026-11:{KEY_B}")
    assert wrong.returncode == 1 and "cannot decrypt" in wrong.stderr
    # an object moved under another call's name does not decrypt (its name is authenticated)
    old_object.write_bytes(new_object.read_bytes())
    moved = content_get(old_ref, **both)
    assert moved.returncode == 1 and "cannot decrypt" in moved.stderr
    assert "parcel" not in moved.stdout


def test_key_without_id_gets_a_derived_one(instrument_openai, openai_client, store_url, tmp_path):
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", content_store=store_url, content_store_key=KEY_A
    )
    chat(openai_client)
    assert content_store.flush(30)
    (stored,) = stored_objects(tmp_path)
    assert re.fullmatch(r"k[0-9a-f]{8}", json.loads(stored.read_bytes())["kid"])
    ref = telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES_REF]
    assert resolve(ref, GENAI_OTEL_CONTENT_STORE_KEY=KEY_A) == REDACTED_QUESTION


def test_raw_storage_refused_without_a_key(instrument_openai, openai_client, store_url, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="genai_otel")
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", content_store=store_url, content_store_raw="true"
    )
    chat(openai_client)
    chat(openai_client)
    assert content_store.flush(30)
    warnings = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(warnings) == 1 and "GENAI_OTEL_CONTENT_STORE_KEY" in warnings[0]
    for stored in stored_objects(tmp_path):
        assert b"jane.doe" not in stored.read_bytes()
    assert resolve(telemetry.spans()[0].attributes[sc.GEN_AI_INPUT_MESSAGES_REF]) == REDACTED_QUESTION


def test_raw_storage_with_a_key_stores_raw_and_spans_stay_redacted(
    instrument_openai, openai_client, store_url, tmp_path
):
    telemetry = instrument_openai(
        capture_message_content="SPAN_AND_EVENT",
        content_store=store_url,
        content_store_raw=True,
        content_store_key=KEY_A,
        content_store_inline=True,
    )
    chat(openai_client)
    assert content_store.flush(30)
    assert "jane.doe" not in telemetry.exported_text()
    assert "[EMAIL]" in telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES]  # inline is redacted
    ref = telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES_REF]
    stored = resolve(ref, GENAI_OTEL_CONTENT_STORE_KEY=KEY_A)
    assert stored[1]["parts"][0]["content"] == QUESTION[1]["content"]
    assert resolve(ref.partition("#")[0], GENAI_OTEL_CONTENT_STORE_KEY=KEY_A)["redacted"] is False
    assert b"jane.doe" not in stored_objects(tmp_path)[0].read_bytes()  # encrypted at rest


_EMAIL = st.from_regex(r"[a-z]{2,8}\.[a-z]{2,8}@[a-z]{3,10}\.(com|org|net|io)", fullmatch=True)
_CARD = st.sampled_from(["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"])
_WORDS = st.text(alphabet="abcdefghij klmnop", max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=_WORDS, email=_EMAIL, card=_CARD, after=_WORDS, raw=st.booleans(), encrypted=st.booleans())
def test_planted_pii_never_reaches_a_span_nor_a_redacted_object(
    telemetry, llm_server, tmp_path_factory, before, email, card, after, raw, encrypted
):
    import openai

    from genai_otel.openai import OpenAIInstrumentor

    root = tmp_path_factory.mktemp("pii")
    telemetry.exporter.clear()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        **telemetry.providers(),
        capture_message_content="SPAN_AND_EVENT",
        content_store=root.as_uri(),
        content_store_raw=raw,  # refused (storing redacted) unless encrypted
        content_store_key=KEY_A if encrypted else None,
    )
    client = openai.OpenAI(
        base_url=llm_server.openai_base_url, api_key="sk-test-not-a-real-key-000", max_retries=0
    )
    text = f"{before} {email} {after} card {card} {after}"
    try:
        client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": text}],
            tools=[{"type": "function", "function": {"name": "f", "description": f"mail {email}"}}],
        )
    finally:
        instrumentor.uninstrument()
        client.close()
    exported = telemetry.exported_text()
    assert email not in exported and card not in exported
    (stored,) = stored_objects(root)
    from genai_otel.content_store import _crypto

    at_rest = stored.read_text()
    plaintext = at_rest
    if encrypted:
        layout = "/".join(stored.parts[-5:])
        plaintext = _crypto.open_envelope(json.loads(at_rest), _crypto.parse_keys(KEY_A), layout).decode()
    assert (email in plaintext) is (raw and encrypted)
    assert (card in plaintext) is (raw and encrypted)
    assert email not in at_rest and card not in at_rest


# --- configuration problems: one warning, and no content (none inline where the store was to keep it out) ---
def _assert_no_content(span) -> None:
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == sc.DROPPED_STORE_MISCONFIGURED
    assert (
        sc.GEN_AI_INPUT_MESSAGES not in span.attributes and sc.GEN_AI_OUTPUT_MESSAGES not in span.attributes
    )
    assert sc.GEN_AI_INPUT_MESSAGES_REF not in span.attributes


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nosuchprotocol://bucket/x", "not a usable fsspec URL"),
        ("gs://bucket/prefix", "needs a package"),  # gcsfs is not installed
        ("s3://", "names no bucket"),
        ("file://", "names no bucket"),  # fsspec reads it as the current directory
        ("file:///", "names no bucket"),
        ("memory://", "names no bucket"),
        ("s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENG@/", "names no bucket"),
        # Credentials these filesystems would take for part of the bucket or path, and so write into
        # every reference on every span.
        ("s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENG@bucket/prefix", "holds credentials"),
        ("memory://admin:wJalrXUtnFEMIK7MDENG@store-host/genai", "holds credentials"),
        ("file://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENG@host/tmp/genai", "holds credentials"),
        ("   ", "is empty"),
    ],
)
def test_unusable_store_captures_nothing_after_one_warning(
    instrument_openai, openai_client, caplog, url, expected
):
    caplog.set_level(logging.WARNING, logger="genai_otel")
    telemetry = instrument_openai(capture_message_content="SPAN_AND_EVENT", content_store=url)
    chat(openai_client)
    chat(openai_client)
    warnings = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    spans = telemetry.spans()
    assert len(spans) == 2
    if not url.strip():  # a blank URL asks for no store: capture as without one
        for span in spans:
            assert json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES]) == REDACTED_QUESTION
        return
    assert len(warnings) == 1 and expected in warnings[0], warnings
    assert "no content is captured" in warnings[0]
    assert "AKIAIOSFODNN7EXAMPLE" not in warnings[0] and "wJalrXUtnFEMIK7MDENG" not in warnings[0]
    assert "admin" not in warnings[0]
    for span in spans:
        _assert_no_content(span)
    assert not [log for log in telemetry.logs() if sc.GEN_AI_INPUT_MESSAGES in (log.attributes or {})]
    assert "parcel questions" not in telemetry.exported_text()


@pytest.mark.parametrize(
    "settings",
    [
        {"content_store": 123},
        {"content_store": b"memory://bucket/q"},
        {"content_store": "memory://bucket/y", "content_store_key": b"x" * 32},
    ],
)
def test_store_arguments_of_the_wrong_type_capture_nothing_after_one_warning(
    instrument_openai, openai_client, caplog, settings
):
    caplog.set_level(logging.WARNING, logger="genai_otel")
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", **settings)
    chat(openai_client)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    assert "no content is captured" in warning and "memory://" not in warning
    _assert_no_content(telemetry.span())


def test_an_unusable_store_keeps_tool_content_off_the_tool_span_too(instrument_openai, caplog):
    caplog.set_level(logging.WARNING, logger="genai_otel")
    telemetry = instrument_openai()
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_message_content="SPAN_ONLY",
        content_store="nosuchprotocol://bucket/x",
    )
    try:

        @genai_otel.tool
        def track_parcel(parcel_id: str, email: str) -> dict:
            return {"status": "in transit", "notify": email}

        track_parcel("48213", email="jane.doe@example.org")
    finally:
        configure_product()
    attributes = telemetry.span().attributes
    assert attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    assert attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == sc.DROPPED_STORE_MISCONFIGURED
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in attributes and sc.GEN_AI_TOOL_CALL_RESULT not in attributes
    assert "48213" not in telemetry.exported_text()


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode(), f"a:{KEY_A},a:{KEY_B}"])
def test_unusable_key_turns_the_store_off_with_one_warning(
    instrument_openai, openai_client, store_url, tmp_path, caplog, key
):
    caplog.set_level(logging.WARNING, logger="genai_otel")
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", content_store=store_url, content_store_key=key
    )
    chat(openai_client)
    warnings = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    assert len(warnings) == 1 and "instrument(content_store_key=...)" in warnings[0], warnings
    assert KEY_A not in warnings[0] and "short" not in warnings[0]
    assert stored_objects(tmp_path) == []
    _assert_no_content(telemetry.span())


def test_missing_fsspec_is_one_warning(tmp_path, llm_server):
    script = textwrap.dedent(
        f"""
        import sys, logging, json
        sys.modules["fsspec"] = None  # the [store] extra not installed
        logging.basicConfig(level=logging.WARNING)
        import openai
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from genai_otel.openai import OpenAIInstrumentor
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        OpenAIInstrumentor().instrument(tracer_provider=provider)
        client = openai.OpenAI(base_url={llm_server.openai_base_url!r}, api_key="sk-x", max_retries=0)
        for _ in range(2):
            client.chat.completions.create(model="m", messages=[{{"role": "user", "content": "a@b.org"}}])
        for span in exporter.get_finished_spans():
            print(json.dumps(dict(span.attributes)))
        """
    )
    environment = {
        **os.environ,
        "GENAI_OTEL_CONTENT_STORE": (tmp_path / "store").as_uri(),
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("genai-otel[store]") == 1, result.stderr
    spans = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(spans) == 2
    for attributes in spans:
        assert attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == sc.DROPPED_STORE_MISCONFIGURED
        assert sc.GEN_AI_INPUT_MESSAGES not in attributes and "a@b.org" not in json.dumps(attributes)


# --- faults: the call is never hurt -----------------------------------------------------------------------------
@pytest.fixture
def long_backoff(monkeypatch):
    """After a failed write the store counts as down for a minute: the next call's drop is certain."""
    monkeypatch.setattr(_writer, "_BACKOFF_FIRST", 60.0)


def test_permission_denied_drops_with_reason(
    instrument_openai, openai_client, tmp_path, caplog, long_backoff
):
    # Root ignores file modes, so a directory nobody can create stands for one we may not write:
    # the store's path runs through a regular file.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    caplog.set_level(logging.WARNING, logger="genai_otel")
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", content_store=(blocker / "store").as_uri()
    )
    first = chat(openai_client)
    assert content_store.flush(30)
    second = chat(openai_client)
    assert first.choices[0].message.content == second.choices[0].message.content
    accepted, dropped = telemetry.spans()
    assert sc.GEN_AI_INPUT_MESSAGES_REF in accepted.attributes  # queued before the store was known down
    assert dropped.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "store_unavailable"
    assert dropped.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    assert not any(key.endswith("_ref") for key in dropped.attributes)
    for key in INLINE:
        assert key not in dropped.attributes  # never raw, and not inline either
    assert dropped_count(telemetry) == 2  # the failed write and the refused one
    assert len([r for r in caplog.records if "refused a write" in r.getMessage()]) == 1
    missing = content_get(accepted.attributes[sc.GEN_AI_INPUT_MESSAGES_REF])
    assert missing.returncode == 1 and "cannot read" in missing.stderr


class BlockingFileSystem(LocalFileSystem):
    """A local store whose writes wait until the test lets them through: slower than any call."""

    protocol = ("blockingfile",)
    gate = threading.Event()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_mkdir"] = True
        super().__init__(*args, **kwargs)

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        return super()._strip_protocol(str(path).removeprefix("blockingfile://"))

    def unstrip_protocol(self, name: str) -> str:
        return "blockingfile://" + name

    def pipe_file(self, path: str, value: bytes, *args: Any, **kwargs: Any) -> None:
        self.gate.wait()
        super().pipe_file(path, value, *args, **kwargs)


class RefusingFileSystem(LocalFileSystem):
    """A store that takes a user and password from its URL, as FTP or SFTP do, and whose server refuses
    every write with a message that repeats them."""

    protocol = ("refusingfile",)

    def __init__(self, *args: Any, username: str = "", password: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.credentials = f"{username}:{password}"

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        rest = str(path).removeprefix("refusingfile://")
        return super()._strip_protocol(rest.rpartition("@")[2])

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        credentials = str(path).removeprefix("refusingfile://").partition("/")[0].rpartition("@")[0]
        username, _, password = credentials.partition(":")
        return {"username": username, "password": password} if credentials else {}

    def unstrip_protocol(self, name: str) -> str:
        return "refusingfile://" + name

    def pipe_file(self, path: str, value: bytes, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(f"530 login {self.credentials} refused for {path}")


def test_a_refused_write_is_reported_without_the_urls_credentials(
    instrument_openai, openai_client, tmp_path, caplog
):
    fsspec.register_implementation("refusingfile", RefusingFileSystem, clobber=True)
    caplog.set_level(logging.WARNING, logger="genai_otel")
    url = f"refusingfile://archivist:wJalrXUtnFEMIK7MDENG@{tmp_path}/store"
    telemetry = instrument_openai(capture_message_content="SPAN_ONLY", content_store=url)
    chat(openai_client)
    assert content_store.flush(30)
    warnings = [r.getMessage() for r in caplog.records if r.name == "genai_otel"]
    assert len(warnings) == 1 and "refused a write (PermissionError: 530 login ***" in warnings[0], warnings
    assert "wJalrXUtnFEMIK7MDENG" not in warnings[0] and "archivist" not in warnings[0]
    assert "wJalrXUtnFEMIK7MDENG" not in telemetry.exported_text()


@pytest.fixture
def blocking_store(tmp_path):
    fsspec.register_implementation("blockingfile", BlockingFileSystem, clobber=True)
    BlockingFileSystem.gate.clear()
    yield "blockingfile://" + str(tmp_path / "store")
    BlockingFileSystem.gate.set()


def test_store_slower_than_the_calls_drops_beyond_the_queue(instrument_openai, openai_client, blocking_store):
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", content_store=blocking_store, content_store_queue_size=2
    )
    answers = [chat(openai_client).choices[0].message.content for _ in range(6)]
    assert len(set(answers)) == 1
    spans = telemetry.spans()
    accepted = [s for s in spans if sc.GEN_AI_INPUT_MESSAGES_REF in s.attributes]
    dropped = [
        s for s in spans if s.attributes.get(sc.GENAI_OTEL_CONTENT_DROPPED_REASON) == "store_unavailable"
    ]
    # two wait in the queue, at most one more is being written; the rest are dropped, never waited for
    assert 2 <= len(accepted) <= 3 and len(accepted) + len(dropped) == 6
    assert spans[0] in accepted and spans[1] in accepted and all(s in dropped for s in spans[3:])
    assert dropped_count(telemetry) == len(dropped)
    BlockingFileSystem.gate.set()
    assert content_store.flush(30)
    for span in accepted:
        reference = span.attributes[sc.GEN_AI_INPUT_MESSAGES_REF].replace("blockingfile://", "file://")
        assert resolve(reference) == REDACTED_QUESTION


def test_memory_bound_drops_documents_over_it(instrument_openai, openai_client, store_url, tmp_path):
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY", content_store=store_url, content_store_queue_bytes=64
    )
    chat(openai_client)
    assert telemetry.span().attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "store_unavailable"
    assert dropped_count(telemetry) == 1
    assert content_store.flush(30) and stored_objects(tmp_path) == []


def _call_in_a_forked_child(telemetry, llm_server) -> str:
    """Fork, make one call in the child with a new client (connections are not shared across fork) and
    the inherited instrumentation; the child's span's input reference."""
    import openai

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-x", max_retries=0)
            client.chat.completions.create(model="gpt-test", messages=QUESTION)
            if content_store.flush(30):
                reference = telemetry.spans()[-1].attributes[sc.GEN_AI_INPUT_MESSAGES_REF]
                os.write(write_end, reference.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 120)
    child_reference = os.read(read_end, 4096).decode() if ready else ""
    os.close(read_end)
    if not ready:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert child_reference, "the child wrote no reference"
    return child_reference


def test_writer_recreated_after_fork(instrument_openai, openai_client, llm_server, store_url, telemetry):
    instrument_openai(capture_message_content="SPAN_ONLY", content_store=store_url)
    chat(openai_client)  # the parent's writer thread is running when it forks
    assert resolve(_call_in_a_forked_child(telemetry, llm_server)) == REDACTED_QUESTION
    chat(openai_client)  # the parent's writer still works
    assert content_store.flush(30)
    for span in telemetry.spans():
        assert resolve(span.attributes[sc.GEN_AI_INPUT_MESSAGES_REF]) == REDACTED_QUESTION


def test_s3_client_recreated_after_fork(instrument_openai, openai_client, llm_server, telemetry, s3):
    _, options, _, bucket = s3
    instrument_openai(
        capture_message_content="SPAN_ONLY",
        content_store=f"s3://{bucket}/genai",
        content_store_options=options,
    )
    chat(openai_client)
    assert content_store.flush(30)  # the parent's s3fs client has connected when it forks
    assert resolve(_call_in_a_forked_child(telemetry, llm_server)) == REDACTED_QUESTION
    chat(openai_client)
    assert content_store.flush(30)
    for span in telemetry.spans():
        assert resolve(span.attributes[sc.GEN_AI_INPUT_MESSAGES_REF]) == REDACTED_QUESTION


def test_queue_flushed_at_exit(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import openai
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, ConsoleSpanExporter
        from genai_otel.openai import OpenAIInstrumentor
        from genai_otel.testing.fake_server import FakeLLMServer
        import time, fsspec
        from fsspec.implementations.local import LocalFileSystem

        class SlowFileSystem(LocalFileSystem):  # each write takes a while: most are queued at exit
            protocol = ("slowfile",)
            def __init__(self, *args, **kwargs):
                super().__init__(*args, auto_mkdir=True, **kwargs)
            @classmethod
            def _strip_protocol(cls, path):
                return super()._strip_protocol(str(path).removeprefix("slowfile://"))
            def unstrip_protocol(self, name):
                return "slowfile://" + name
            def pipe_file(self, path, value, *args, **kwargs):
                time.sleep(0.05)
                super().pipe_file(path, value, *args, **kwargs)

        fsspec.register_implementation("slowfile", SlowFileSystem)
        server = FakeLLMServer().start()
        OpenAIInstrumentor().instrument(
            tracer_provider=TracerProvider(),
            capture_message_content="SPAN_ONLY",
            content_store="slowfile://" + sys.argv[1],
            content_store_flush_timeout_ms=60000,
        )
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-x", max_retries=0)
        for _ in range(10):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        """  # no uninstrument, no flush: the interpreter's exit does it
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(stored_objects(tmp_path)) == 10


# --- the S3 protocol: moto's server on loopback ----------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def s3(monkeypatch):
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "FSSPEC_S3_ENDPOINT_URL": endpoint,  # for the genai-otel command, through fsspec's own config
    }.items():
        monkeypatch.setenv(name, value)
    import boto3

    # moto keeps its buckets per process, across servers: each test has a bucket of its own
    bucket = f"content-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    options = {
        "endpoint_url": endpoint,
        "key": "testing",
        "secret": "testing",
        "config_kwargs": {"connect_timeout": 2, "read_timeout": 5, "retries": {"max_attempts": 1}},
    }
    state = {"running": True}

    def stop() -> None:
        if state["running"]:
            state["running"] = False
            server.stop()

    yield endpoint, options, stop, bucket
    stop()


def test_s3_store_round_trip(instrument_openai, openai_client, s3):
    endpoint, options, _, bucket = s3
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY",
        content_store=f"s3://{bucket}/genai",
        content_store_options=options,
        content_store_key=f"prod-1:{KEY_A}",
    )
    chat(openai_client)
    assert content_store.flush(30)
    attributes = telemetry.span().attributes
    assert attributes[sc.GENAI_OTEL_CONTENT_STORE] == f"s3://{bucket}/genai"
    reference = attributes[sc.GEN_AI_INPUT_MESSAGES_REF]
    assert reference.startswith(f"s3://{bucket}/genai/")
    assert resolve(reference, GENAI_OTEL_CONTENT_STORE_KEY=f"prod-1:{KEY_A}") == REDACTED_QUESTION
    import boto3

    listing = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_objects_v2(
        Bucket=bucket
    )
    (key,) = [item["Key"] for item in listing["Contents"]]
    assert re.fullmatch(r"genai/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}/[0-9a-f]{16}\.json", key)


def test_s3_missing_bucket_drops_with_reason(instrument_openai, openai_client, s3, long_backoff):
    _, options, _, _ = s3
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY",
        content_store="s3://no-such-bucket/genai",
        content_store_options=options,
    )
    chat(openai_client)
    assert content_store.flush(30)
    chat(openai_client)
    assert telemetry.spans()[1].attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "store_unavailable"
    assert dropped_count(telemetry) == 2


def test_s3_server_stopped_mid_run(instrument_openai, openai_client, s3, long_backoff):
    _, options, stop, bucket = s3
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY",
        content_store=f"s3://{bucket}/genai",
        content_store_options=options,
    )
    chat(openai_client)
    assert content_store.flush(30)
    before = telemetry.spans()[0].attributes[sc.GEN_AI_INPUT_MESSAGES_REF]
    assert resolve(before) == REDACTED_QUESTION
    stop()
    answers = {chat(openai_client).choices[0].message.content}
    assert content_store.flush(60)  # the write fails: the store is now known to be down
    answers |= {chat(openai_client).choices[0].message.content for _ in range(2)}
    assert len(answers) == 1  # every call answered as without a store
    after = telemetry.spans()[1:]
    assert sc.GEN_AI_INPUT_MESSAGES_REF in after[0].attributes  # queued before the failure was seen
    for span in after[1:]:
        assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "store_unavailable"
    assert dropped_count(telemetry) == 3
    telemetry.assert_each_span_ended_once()


# --- purge -----------------------------------------------------------------------------------------------------
def _purge(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "genai_otel.cli"]
    return subprocess.run(
        [*command, "content", "purge", *arguments], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def _plant(root: Path, day: str) -> Path:
    path = root / day / ("a" * 32) / ("b" * 16 + ".json")
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    return path


def test_purge_deletes_only_days_older_than_the_age(tmp_path):
    import datetime as dt

    root = tmp_path / "store"
    today = dt.datetime.now(dt.timezone.utc).date()
    days = {age: (today - dt.timedelta(days=age)).strftime("%Y/%m/%d") for age in (0, 29, 30, 31, 400)}
    planted = {age: _plant(root, day) for age, day in days.items()}
    (root / "README").write_text("not ours")
    dry = _purge("--older-than", "30d", "--dry-run", root.as_uri())
    assert dry.returncode == 0, dry.stderr
    assert all(path.exists() for path in planted.values())
    result = _purge("--older-than", "30d", root.as_uri())
    assert result.returncode == 0, result.stderr
    assert {age for age, path in planted.items() if path.exists()} == {0, 29, 30}
    assert not (root / days[400][:4]).exists() or days[400][:4] == days[0][:4]  # empty parents go too
    assert (root / "README").exists()
    assert "deleted 2 day(s)" in result.stdout


def test_purge_s3(s3):
    endpoint, _, _, bucket = s3
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for key in ("genai/2020/01/01/t/s.json", "genai/2020/01/02/t/s.json", "genai/2099/01/01/t/s.json"):
        client.put_object(Bucket=bucket, Key=key, Body=b"{}")
    result = _purge("--older-than", "30d", f"s3://{bucket}/genai")
    assert result.returncode == 0, result.stderr
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["genai/2099/01/01/t/s.json"]


@pytest.mark.parametrize("age", ["30", "thirty days", "-1d", "1w"])
def test_purge_refuses_an_unclear_age(tmp_path, age):
    result = _purge(f"--older-than={age}", tmp_path.as_uri())
    assert result.returncode == 1 and "number of days" in result.stderr


@pytest.mark.parametrize("url", ["file://", "file:///", "", "  ", "memory://", "s3://"])
def test_purge_refuses_a_url_that_names_no_store(tmp_path, url):
    """fsspec reads ``file://`` and an empty URL as the current directory: purging it would delete whatever
    dated directories it holds. Refused, as the store refuses such a URL."""
    planted = _plant(tmp_path, "2020/01/01")
    result = _purge("--older-than", "30d", url, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "names no bucket or directory" in result.stderr or "give the store's URL" in result.stderr
    assert planted.exists() and "delet" not in result.stdout


def test_purge_of_a_store_never_written_deletes_nothing_and_succeeds(tmp_path):
    result = _purge("--older-than", "30d", (tmp_path / "not-yet").as_uri())
    assert result.returncode == 0, result.stderr
    assert "deleted 0 day(s)" in result.stdout


def test_purge_negative_age_as_a_separate_word_is_argparses_usage_error(tmp_path):
    result = _purge("--older-than", "-1d", tmp_path.as_uri())
    assert result.returncode == 2 and "--older-than" in result.stderr


def test_purge_never_prints_the_urls_credentials(tmp_path):
    result = _purge("--older-than", "30d", "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENG@bucket/x")
    assert result.returncode == 1
    assert "AKIAIOSFODNN7EXAMPLE" not in result.stderr + result.stdout
    assert "wJalrXUtnFEMIK7MDENG" not in result.stderr + result.stdout


def test_credentials_are_cut_from_error_texts_that_repeat_them():
    from genai_otel.content_store._layout import without_credentials

    url = "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENG@bucket/x"
    text = 'bad bucket "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENG@bucket"; key AKIAIOSFODNN7EXAMPLE'
    assert without_credentials(text, url) == 'bad bucket "***@bucket"; key ***'
    assert without_credentials("unchanged", "s3://bucket/x") == "unchanged"


def test_get_refuses_what_is_not_a_reference():
    result = content_get("https://example.invalid/whatever")
    assert result.returncode == 1 and "not a genai-otel content reference" in result.stderr


def test_flush_on_uninstrument_is_bounded_by_the_time_limit(telemetry, openai_client, blocking_store):
    from genai_otel.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        **telemetry.providers(),
        capture_message_content="SPAN_ONLY",
        content_store=blocking_store,
        content_store_flush_timeout_ms=50,
    )
    store = instrumentor._content_store
    chat(openai_client)
    instrumentor.uninstrument()  # returns although the store never finishes the write
    assert store.writer.pending() == 1
    assert content_store.flush(0.01) is False
    BlockingFileSystem.gate.set()
    assert content_store.flush(30) is True and store.writer.pending() == 0


@pytest.mark.parametrize("mode", ["SPAN_ONLY", "EVENT_ONLY"])
def test_tool_content_is_stored_in_every_capture_mode(instrument_openai, store_url, mode):
    telemetry = instrument_openai()
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        capture_message_content=mode,
        content_store=store_url,
    )
    try:
        with genai_otel.tool_call("lookup", arguments={"q": "jane.doe@example.org"}) as call:
            call.set_result("found")
        assert content_store.flush(30)
    finally:
        configure_product()
    attributes = telemetry.span().attributes
    assert attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert resolve(attributes[sc.GENAI_OTEL_TOOL_CALL_ARGUMENTS_REF]) == {"q": "[EMAIL]"}
    assert resolve(attributes[sc.GENAI_OTEL_TOOL_CALL_RESULT_REF]) == "found"


def test_get_names_a_missing_object(store_url, tmp_path):
    (tmp_path / "store").mkdir()
    reference = f"{store_url}/2026/12/01/{'a' * 32}/{'b' * 16}.json#gen_ai.input.messages"
    result = content_get(reference)
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_store_url_on_spans_has_no_credentials():
    from genai_otel.content_store._layout import public_url

    assert public_url("s3://AKIA123:secret@bucket/prefix/?versionId=1#x") == "s3://bucket/prefix"
    assert public_url("https://user:pw@host:8443/dav/store/") == "https://host:8443/dav/store"
    assert public_url("file:///var/lib/genai") == "file:///var/lib/genai"


def test_inline_content_survives_a_drop(instrument_openai, openai_client, store_url):
    telemetry = instrument_openai(
        capture_message_content="SPAN_ONLY",
        content_store=store_url,
        content_store_inline=True,
        content_store_queue_bytes=64,
    )
    chat(openai_client)
    attributes = telemetry.span().attributes
    assert attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "store_unavailable"
    assert attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert json.loads(attributes[sc.GEN_AI_INPUT_MESSAGES]) == REDACTED_QUESTION
    assert sc.GEN_AI_INPUT_MESSAGES_REF not in attributes


def test_shared_stores_do_not_keep_every_meter_provider_alive(store_url) -> None:
    """Instrumenting again and again with new meter providers leaves a bounded number of shared stores."""
    from opentelemetry.sdk.metrics import MeterProvider

    from genai_otel.content_store import _store
    from genai_otel.content_store._settings import StoreSettings

    settings = StoreSettings(url=store_url)
    for _ in range(3 * _store._MAX_SHARED_STORES):
        assert _store.open_store(settings, MeterProvider()) is not None
    assert len(_store._stores) <= _store._MAX_SHARED_STORES
    provider = MeterProvider()
    assert _store.open_store(settings, provider) is _store.open_store(settings, provider)
