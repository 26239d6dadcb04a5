"""No setting can break the application or switch the instrumentation off (issue 10, section 1).

Every setting (each instrument() keyword, each environment variable we read, each configure_product()
argument, the rate card's contents) is read on its own: a bad one is named in one warning, says what
is used instead, and everything else still applies. Proven with arbitrary values of arbitrary types,
and by the examples that used to break.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genai_otel
from genai_otel import _failsafe
from genai_otel import semconv as sc
from genai_otel.config import (
    CONTENT_MAX_LENGTH_RANGE,
    CONTENT_STORE_FLUSH_TIMEOUT_MS_RANGE,
    CONTENT_STORE_QUEUE_BYTES_RANGE,
    CONTENT_STORE_QUEUE_SIZE_RANGE,
    INSTRUMENT_ARGUMENTS,
    PREVIEW_CHARS_RANGE,
    REDACTION_TIMEOUT_MS_RANGE,
    Settings,
    read_bool,
    read_hash_key,
    read_int,
    read_names,
    read_rate_card,
)
from genai_otel.content import stable_hash
from genai_otel.cost import RateCard
from genai_otel.openai import OpenAIInstrumentor
from genai_otel.product import MAX_DISTINCT_VALUES_RANGE, MAX_VALUE_LENGTH_RANGE, configure_product
from genai_otel.providers import read_provider_map

MESSAGES = [{"role": "user", "content": "Where is parcel 48213?"}]

STORE_KEYWORDS = (
    "content_store",
    "content_store_options",
    "content_store_key",
    "content_store_raw",
    "content_store_inline",
    "content_store_queue_size",
    "content_store_queue_bytes",
    "content_store_flush_timeout_ms",
)
INSTRUMENT_KEYWORDS = (
    "provider_map",
    "time_per_output_chunk",
    "capture_message_content",
    "content_max_length",
    "capture_binary",
    "hash_inputs",
    "hash_key",
    "redaction_policy",
    "redact_patterns",
    "redact_disable",
    "redactor",
    "redaction_timeout_ms",
    "rate_card",
    "tracer_provider",
    "meter_provider",
    "logger_provider",
    "call_records",
    "preview_chars",
    "active_requests",
    "server_metrics",
    *STORE_KEYWORDS,
)
CONTENT_KEYWORDS = (*INSTRUMENT_KEYWORDS[2:12], *STORE_KEYWORDS)
PRODUCT_KEYWORDS = (
    "prefix",
    "max_value_length",
    "max_distinct_values",
    "baggage",
    "baggage_keys",
    "tracer_provider",
    "meter_provider",
    "logger_provider",
    "evaluation_score_buckets",
    "on_stalled_loop",
    "raise_on_stalled_loop",
    *CONTENT_KEYWORDS,
)
ENVIRONMENT = (
    "GENAI_OTEL_PROVIDER_MAP",
    "GENAI_OTEL_TIME_PER_OUTPUT_CHUNK",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT",
    "OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK",
    "GENAI_OTEL_CONTENT_MAX_LENGTH",
    "GENAI_OTEL_CAPTURE_BINARY",
    "GENAI_OTEL_HASH_INPUTS",
    "GENAI_OTEL_HASH_KEY",
    "GENAI_OTEL_REDACTION_POLICY",
    "GENAI_OTEL_REDACT_PATTERNS",
    "GENAI_OTEL_REDACT_DISABLE",
    "GENAI_OTEL_REDACTOR",
    "GENAI_OTEL_REDACTION_TIMEOUT_MS",
    "GENAI_OTEL_RATE_CARD",
    "GENAI_OTEL_PRODUCT_PREFIX",
    "GENAI_OTEL_PRODUCT_MAX_VALUE_LENGTH",
    "GENAI_OTEL_PRODUCT_MAX_DISTINCT_VALUES",
    "GENAI_OTEL_PRODUCT_BAGGAGE",
    "GENAI_OTEL_PRODUCT_BAGGAGE_KEYS",
    "GENAI_OTEL_CALL_RECORDS",
    "GENAI_OTEL_PREVIEW_CHARS",
    "GENAI_OTEL_ACTIVE_REQUESTS",
    "GENAI_OTEL_SERVER_METRICS",
    "GENAI_OTEL_CONTENT_STORE",
    "GENAI_OTEL_CONTENT_STORE_KEY",
    "GENAI_OTEL_CONTENT_STORE_RAW",
    "GENAI_OTEL_CONTENT_STORE_INLINE",
    "GENAI_OTEL_CONTENT_STORE_QUEUE_SIZE",
    "GENAI_OTEL_CONTENT_STORE_QUEUE_BYTES",
    "GENAI_OTEL_CONTENT_STORE_FLUSH_TIMEOUT_MS",
)
# Store URLs that cannot make directories in the working tree: arbitrary text would be a local path.
STORE_URLS = ["", "nosuchprotocol://bucket/prefix", "memory://genai-otel-test/store", "file://"]


# --- fixtures -------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    _failsafe._warned_settings.clear()
    yield
    _failsafe._warned_settings.clear()


@pytest.fixture
def global_providers(telemetry, monkeypatch):
    """The test's providers as the global ones, so that a call whose provider setting was rejected (and so
    uses the global provider) is still seen."""
    from opentelemetry import trace
    from opentelemetry._logs import _internal as logs_internal
    from opentelemetry.metrics import _internal as metrics_internal

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", telemetry.tracer_provider)
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER", telemetry.meter_provider)
    monkeypatch.setattr(logs_internal, "_LOGGER_PROVIDER", telemetry.logger_provider)
    return telemetry


@pytest.fixture
def clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def product_reset():
    yield
    configure_product()


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "genai_otel" and r.levelno >= logging.WARNING]


def _chat(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-test", messages=MESSAGES)


def _chat_spans(telemetry) -> list[Any]:
    return [s for s in telemetry.spans() if s.name == "chat gpt-test"]


# --- arbitrary values -----------------------------------------------------------------------------------------
def _raises(text: str) -> str:
    raise RuntimeError("redactor down")


class _Weird:
    """Fails at everything a reader might try on it."""

    def __str__(self) -> str:
        raise RuntimeError("str")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    __hash__ = object.__hash__

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("iter")


class _HostileMapping(dict):
    def items(self):  # type: ignore[override]
        raise RuntimeError("items")


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3),
    st.binary(max_size=8),
)
ANY_VALUE = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.tuples(SCALARS),
    st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), SCALARS, max_size=3),
    st.builds(bytearray, st.binary(max_size=6)),
    st.sampled_from([object(), _Weird(), _HostileMapping(a="b"), frozenset({1, "x"}), 1j, ...]),
)
RATE_CARDS = st.one_of(
    ANY_VALUE,
    st.fixed_dictionaries(
        {},
        optional={
            "version": ANY_VALUE,
            "currency": st.one_of(ANY_VALUE, st.sampled_from(["USD", "EUR"])),
            "models": st.one_of(
                ANY_VALUE,
                st.dictionaries(
                    st.one_of(st.text(max_size=8), st.integers()),
                    st.one_of(
                        ANY_VALUE,
                        st.fixed_dictionaries(
                            {}, optional={"input": ANY_VALUE, "output": ANY_VALUE, "cached_input": ANY_VALUE}
                        ),
                    ),
                    max_size=3,
                ),
            ),
        },
    ),
    st.text(max_size=8).map(lambda text: f"no/such/dir/{text}.json"),
)
# Only names that cannot import anything: arbitrary text would be handed to importlib.
REDACTORS = st.one_of(
    ANY_VALUE.filter(lambda value: not isinstance(value, str)),
    st.text(max_size=8).map(lambda text: f"no_such_module_{text}:redact"),
    st.sampled_from(["presidio", "", ":", "json:nonexistent", "json:__doc__", _raises, str.upper]),
)
# A plausible good value per setting, so that good and bad settings are mixed.
GOOD = {
    "provider_map": {"127.0.0.1:9=vllm"},
    "time_per_output_chunk": {False},
    "capture_message_content": {"SPAN_AND_EVENT", "span_only", True},
    "content_max_length": {64, "128"},
    "capture_binary": {"true"},
    "hash_inputs": {"no"},
    "hash_key": {"tenant-secret-key", b"\x00\xffkey"},  # the first is SECRET_KEY
    "redaction_policy": {"support-2026-11"},
    "redact_patterns": {'{"ORDER_ID": "#A\\\\d{5}"}'},
    "redact_disable": {"ipv4,phone", ("card",)},
    "redaction_timeout_ms": {250},
    "prefix": {"shop"},
    "max_value_length": {32},
    "max_distinct_values": {5},
    "baggage": {True},
    "baggage_keys": {"template_id"},
    "on_stalled_loop": {print},
    "raise_on_stalled_loop": {False},
    "call_records": {True},
    "preview_chars": {40},
    "active_requests": {"yes"},
    "server_metrics": {"on"},
    "content_store_inline": {True},
    "content_store_queue_size": {10},
}


def _values(name: str) -> st.SearchStrategy[Any]:
    if name == "content_store":
        return st.one_of(
            ANY_VALUE.filter(lambda value: not isinstance(value, str)), st.sampled_from(STORE_URLS)
        )
    if name == "rate_card":
        return RATE_CARDS
    if name == "redactor":
        return REDACTORS
    good = GOOD.get(name)
    return st.one_of(ANY_VALUE, st.sampled_from(sorted(good, key=repr))) if good else ANY_VALUE


def _environment_text(name: str) -> st.SearchStrategy[str]:
    """What os.environ can hold: text without NUL, and bytes that are not UTF-8 (surrogate-escaped)."""
    raw = st.binary(max_size=10).filter(lambda data: b"\x00" not in data)
    choices = [
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
        ),
        raw.map(lambda data: data.decode("utf-8", "surrogateescape")),
        st.sampled_from(
            [
                "",
                " ",
                "true",
                "-1",
                "0",
                str(2**64),
                "1e9",
                "[]",
                "null",
                "{}",
                "x=y,=",
                "SPAN_ONLY",
            ]
        ),
    ]
    if name == "GENAI_OTEL_REDACTOR":
        return st.one_of(choices[2], st.text(max_size=6).map(lambda t: f"no_such_module_{t}:f")).filter(
            lambda text: "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        )
    if name == "GENAI_OTEL_CONTENT_STORE":
        return st.sampled_from(STORE_URLS)
    if name == "GENAI_OTEL_HASH_KEY":  # the planted key appears nowhere else
        return st.one_of(*choices, st.just(SECRET_KEY))
    if name == "GENAI_OTEL_RATE_CARD":
        return st.sampled_from(["", "no/such/card.json", ".", "/nonexistent/card.json"])
    return st.one_of(*choices)


def _setting_names(keywords: dict[str, Any], environment: dict[str, str], function: str) -> list[str]:
    return [f"{function}({name}=" for name in keywords] + list(environment)


def _assert_one_warning_per_setting(messages: list[str], names: list[str]) -> None:
    """Each warning names one of the settings given, and no setting gets two."""
    patterns = [
        re.compile(rf"^genai-otel: {re.escape(name)}" + ("" if name.endswith("=") else "(?![A-Z_])"))
        for name in names
    ]
    for message in messages:
        assert any(pattern.match(message) for pattern in patterns), message
    for pattern in patterns:
        assert sum(bool(pattern.match(m)) for m in messages) <= 1, (pattern.pattern, messages)


SECRET_KEY = "tenant-secret-key"


def _assert_no_secret(messages: list[str], key: Any) -> None:
    """The planted key (arbitrary short keys could match a message's own words) appears in no warning."""
    if isinstance(key, str) and key == SECRET_KEY:
        assert all(SECRET_KEY not in m for m in messages)


HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class _Environment:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for name in ENVIRONMENT:
            self.saved[name] = os.environ.pop(name, None)
        os.environ.update(self.values)

    def __exit__(self, *exc_info: Any) -> None:
        for name in ENVIRONMENT:
            os.environ.pop(name, None)
            if self.saved[name] is not None:
                os.environ[name] = self.saved[name]  # type: ignore[assignment]


# --- the property ---------------------------------------------------------------------------------------------
@HYPOTHESIS
@given(
    keywords=st.fixed_dictionaries({}, optional={name: _values(name) for name in INSTRUMENT_KEYWORDS}),
    environment=st.fixed_dictionaries({}, optional={name: _environment_text(name) for name in ENVIRONMENT}),
)
def test_instrument_never_raises_and_still_traces(
    global_providers, openai_client, caplog, keywords, environment
) -> None:
    telemetry = global_providers
    telemetry.exporter.clear()
    _failsafe._warned_settings.clear()
    caplog.clear()
    instrumentor = OpenAIInstrumentor()
    with _Environment(environment), caplog.at_level(logging.WARNING, logger="genai_otel"):
        instrumentor.instrument(**keywords)  # never raises
        try:
            configured = _warnings(caplog)
            result = _chat(openai_client)
        finally:
            instrumentor.uninstrument()
    assert isinstance(result, openai.types.chat.ChatCompletion)
    assert len(_chat_spans(telemetry)) == 1  # still traced, whatever the settings
    assert not [m for m in configured if "internal error" in m]  # bad settings are not bugs
    _assert_one_warning_per_setting(configured, _setting_names(keywords, environment, "instrument"))
    _assert_no_secret(_warnings(caplog), keywords.get("hash_key"))
    _assert_no_secret(_warnings(caplog), environment.get("GENAI_OTEL_HASH_KEY"))
    telemetry.assert_each_span_ended_once()


@HYPOTHESIS
@given(
    keywords=st.fixed_dictionaries({}, optional={name: _values(name) for name in PRODUCT_KEYWORDS}),
    environment=st.fixed_dictionaries({}, optional={name: _environment_text(name) for name in ENVIRONMENT}),
)
def test_configure_product_never_raises_and_the_app_still_runs(
    global_providers, openai_client, caplog, product_reset, keywords, environment
) -> None:
    telemetry = global_providers
    telemetry.exporter.clear()
    _failsafe._warned_settings.clear()
    caplog.clear()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument()

    @genai_otel.tool
    def track_parcel(parcel_id: str) -> dict:
        return {"parcel_id": parcel_id, "status": "in transit"}

    try:
        with _Environment(environment), caplog.at_level(logging.WARNING, logger="genai_otel"):
            in_force = configure_product(**keywords)  # never raises
            configured = _warnings(caplog)
            with genai_otel.product_context("answer", template_id="t-1", evidence_version="ev-1"):
                assert track_parcel("48213") == {"parcel_id": "48213", "status": "in transit"}
                result = _chat(openai_client)
                genai_otel.record_outcome(route="serve", first_failed_stage="passed")
    finally:
        instrumentor.uninstrument()
    assert isinstance(in_force, genai_otel.product.ProductSettings)
    assert isinstance(result, openai.types.chat.ChatCompletion)
    (chat,) = _chat_spans(telemetry)
    if in_force.max_value_length >= len("t-1"):
        assert chat.attributes[f"{in_force.prefix}.prompt.template_id"] == "t-1"
    assert [s for s in telemetry.spans() if s.name == "execute_tool track_parcel"]
    assert not [m for m in configured if "internal error" in m]
    _assert_one_warning_per_setting(configured, _setting_names(keywords, environment, "configure_product"))
    _assert_no_secret(_warnings(caplog), keywords.get("hash_key"))
    _assert_no_secret(_warnings(caplog), environment.get("GENAI_OTEL_HASH_KEY"))
    telemetry.assert_each_span_ended_once()


# --- the examples that used to break --------------------------------------------------------------------------
def _instrument_and_call(instrument_openai, openai_client, caplog, **keywords) -> tuple[Any, list[str]]:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai(**keywords)
        result = _chat(openai_client)
    assert isinstance(result, openai.types.chat.ChatCompletion)
    (span,) = _chat_spans(telemetry)
    return span, _warnings(caplog)


def _not_utf8(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")  # what os.environ hands over for such bytes


def test_hash_key_that_is_not_utf8_is_used_as_its_bytes(
    monkeypatch, instrument_openai, openai_client, caplog, product_reset
) -> None:
    monkeypatch.setenv("GENAI_OTEL_HASH_KEY", _not_utf8(b"\xff\xfetenant"))
    span, warnings = _instrument_and_call(instrument_openai, openai_client, caplog)
    key = b"\xff\xfetenant"
    messages = [{"role": "user", "parts": [{"type": "text", "content": MESSAGES[0]["content"]}]}]
    assert span.attributes[sc.GENAI_OTEL_INPUT_MESSAGES_HASH] == stable_hash(messages, key)
    assert warnings == []
    in_force = configure_product()  # used to raise UnicodeEncodeError

    @genai_otel.tool
    def ping(value: int) -> int:
        return value

    assert ping(3) == 3  # used to raise UnicodeEncodeError into the application
    assert in_force.content.hash_key == key


@pytest.mark.parametrize("key", [123, 1.5, ["k"], {"k": "v"}, object(), "\ud800-lone-surrogate"])
def test_unusable_hash_key_turns_hashing_off_not_unkeyed(
    instrument_openai, openai_client, caplog, key
) -> None:
    span, warnings = _instrument_and_call(instrument_openai, openai_client, caplog, hash_key=key)
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH not in span.attributes
    assert sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH not in span.attributes
    (warning,) = warnings
    assert "instrument(hash_key=<" in warning and "hashing is off" in warning
    assert "lone" not in warning and "123" not in warning  # the type, never the value


@pytest.mark.parametrize(
    "hashing",
    [{}, {"hash_key": 7}, {"hash_key": 7, "hash_inputs": True}, {"hash_inputs": False, "hash_key": "k"}],
)
def test_tools_get_no_arguments_hash_with_hashing_off(product_reset, telemetry, hashing) -> None:
    configure_product(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, **hashing
    )

    @genai_otel.tool
    def ping(value: int) -> int:
        return value

    with genai_otel.product_context("r"):
        assert [ping(1), ping(1)] == [1, 1]
    tools = [s for s in telemetry.spans() if s.name == "execute_tool ping"]
    assert len(tools) == 2
    assert all(sc.GENAI_OTEL_TOOL_ARGUMENTS_HASH not in s.attributes for s in tools)
    assert tools[1].attributes[sc.GENAI_OTEL_TOOL_STALLED] is True  # stall detection still works


@pytest.mark.parametrize("key", [bytearray(b"tenant-secret"), memoryview(b"tenant-secret"), b"tenant-secret"])
def test_bytes_like_hash_keys_are_keys(key) -> None:
    assert read_hash_key(key, "instrument(hash_key=...)") == (b"tenant-secret", True)
    content = Settings.load(hash_key=key).content
    assert content.hash_inputs and content.hash_key == b"tenant-secret"


@pytest.mark.parametrize("value", [123, [1], [("a", 1)], 1.5, object()])
def test_provider_map_of_the_wrong_type_keeps_the_builtin_rules(
    instrument_openai, openai_client, caplog, value
) -> None:
    span, warnings = _instrument_and_call(instrument_openai, openai_client, caplog, provider_map=value)
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai_compatible"
    (warning,) = warnings
    assert "instrument(provider_map=" in warning and "built-in rules apply" in warning


def test_provider_map_bad_entries_dropped_good_kept_in_one_warning(caplog, llm_server) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        rules = read_provider_map({"host:notaport": "x", 5: "y", "a.example": None, "good.example": "vllm"})
    assert rules == {"good.example": "vllm"}
    (warning,) = _warnings(caplog)
    assert "host:notaport" in warning and "<NoneType>" in warning and "other entries apply" in warning


@pytest.mark.parametrize("value", [5, [None], 3.0, {"email": True}, [1, "ipv4"], "ipv4,nonsense"])
def test_redact_disable_garbage_keeps_every_other_detector(
    instrument_openai, openai_client, caplog, value
) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        telemetry = instrument_openai(capture_message_content="SPAN_ONLY", redact_disable=value)
        openai_client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "mail jane.doe@example.org"}]
        )
    span = telemetry.span()
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert "jane.doe@example.org" not in span.attributes[sc.GEN_AI_INPUT_MESSAGES]
    (warning,) = _warnings(caplog)
    assert "instrument(redact_disable=" in warning


@pytest.mark.parametrize("content", ["[]", "null", "42", '"card"', "{not json", '{"version": "v"}', ""])
def test_rate_card_file_without_a_card_gives_no_cost_and_one_warning(
    monkeypatch, tmp_path, instrument_openai, openai_client, caplog, content
) -> None:
    card = tmp_path / "card.json"
    card.write_text(content)
    monkeypatch.setenv("GENAI_OTEL_RATE_CARD", str(card))
    span, warnings = _instrument_and_call(instrument_openai, openai_client, caplog)
    assert sc.GENAI_OTEL_COST not in span.attributes
    (warning,) = warnings
    assert warning.startswith("genai-otel: GENAI_OTEL_RATE_CARD") and "no cost is recorded" in warning
    assert str(tmp_path) not in warning  # a path is named by its failure, not shown


def test_rate_card_bad_models_are_left_out_the_others_priced(
    instrument_openai, openai_client, caplog
) -> None:
    card = {
        "version": "v1",
        "models": {
            "gpt-test-2026-01-01": {"input": 1, "output": 2},
            "bad-bool": {"input": True, "output": 1},
            "bad-negative": {"input": -1, "output": 1},
            "bad-nan": {"input": float("nan"), "output": 1},
            "bad-type": [1, 2],
            7: {"input": 1, "output": 1},
        },
    }
    span, warnings = _instrument_and_call(instrument_openai, openai_client, caplog, rate_card=card)
    assert span.attributes[sc.GENAI_OTEL_COST] > 0
    (warning,) = warnings
    for name in ("bad-bool", "bad-negative", "bad-nan", "bad-type"):
        assert name in warning
    assert "the others do" in warning


@pytest.mark.parametrize(
    "card",
    [
        {"version": "", "models": {"m": {"input": 1, "output": 1}}},
        {"version": "v", "currency": 5, "models": {"m": {"input": 1, "output": 1}}},
        {"version": "v", "models": []},
        RateCard(version="v", prices={"m": "not a price"}),  # type: ignore[dict-item]
    ],
)
def test_rate_card_without_usable_version_currency_or_models(card, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        assert read_rate_card(card) is None
    assert len(_warnings(caplog)) == 1


def test_rate_card_from_mapping_still_raises_for_code_that_builds_one() -> None:
    with pytest.raises(ValueError, match="version"):
        RateCard.from_mapping({"models": {"m": {"input": 1, "output": 1}}})
    with pytest.raises(ValueError, match="JSON object"):
        RateCard.from_mapping([])  # type: ignore[arg-type]


@pytest.mark.parametrize("argument", ["tracer_provider", "meter_provider", "logger_provider"])
@pytest.mark.parametrize("value", [5, "provider", object(), [None]])
def test_provider_that_is_not_a_provider_uses_the_global_one(
    global_providers, openai_client, caplog, argument, value
) -> None:
    instrumentor = OpenAIInstrumentor()
    keywords = {**global_providers.providers(), argument: value}
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        instrumentor.instrument(capture_message_content="EVENT_ONLY", **keywords)
        try:
            _chat(openai_client)
        finally:
            instrumentor.uninstrument()
    assert len(_chat_spans(global_providers)) == 1
    (warning,) = _warnings(caplog)
    assert f"instrument({argument}=<" in warning and "using the global one" in warning


def test_provider_whose_factory_fails_falls_back_to_the_global_one(
    global_providers, openai_client, caplog
) -> None:
    class Broken:
        def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("no tracer today")

    instrumentor = OpenAIInstrumentor()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        instrumentor.instrument(tracer_provider=Broken(), meter_provider=global_providers.meter_provider)
        try:
            _chat(openai_client)
        finally:
            instrumentor.uninstrument()
    assert len(_chat_spans(global_providers)) == 1
    (warning,) = _warnings(caplog)
    assert "using the global providers" in warning and "RuntimeError" in warning


def test_product_baggage_keys_garbage_keeps_llm_spans(
    instrument_openai, openai_client, caplog, product_reset
) -> None:
    telemetry = instrument_openai()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        settings_in_force = configure_product(
            baggage=True,
            baggage_keys=5,
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
        )
    assert settings_in_force.baggage_keys == ("template_id", "evidence_version")
    with genai_otel.product_context(template_id="t-1"):
        _chat(openai_client)
    _chat(openai_client)  # outside the context: the span reads the (validated) baggage keys
    assert len(_chat_spans(telemetry)) == 2
    (warning,) = _warnings(caplog)
    assert "configure_product(baggage_keys=5)" in warning


@pytest.mark.parametrize(
    ("keywords", "check"),
    [
        ({"prefix": 123}, lambda s: s.prefix == "app"),
        ({"prefix": "Not A Prefix"}, lambda s: s.prefix == "app"),
        ({"max_value_length": "x"}, lambda s: s.max_value_length == 256),
        ({"max_value_length": 10**12}, lambda s: s.max_value_length == MAX_VALUE_LENGTH_RANGE[1]),
        ({"max_value_length": 0}, lambda s: s.max_value_length == MAX_VALUE_LENGTH_RANGE[0]),
        ({"max_distinct_values": [3]}, lambda s: s.max_distinct_values == 100),
        ({"max_distinct_values": 10**9}, lambda s: s.max_distinct_values == MAX_DISTINCT_VALUES_RANGE[1]),
        ({"baggage": "maybe"}, lambda s: s.baggage is False),
        ({"baggage_keys": ["template_id", "Bad Key", 3]}, lambda s: s.baggage_keys == ("template_id",)),
        ({"on_stalled_loop": 5}, lambda s: s.on_stalled_loop is None),
        ({"raise_on_stalled_loop": "sometimes"}, lambda s: s.raise_on_stalled_loop is False),
        (
            {"redact_disable": 3, "capture_message_content": "SPAN_ONLY"},
            lambda s: s.content.policy is not None,
        ),
        ({"tracer_provider": 5}, lambda s: s.tracer_provider is None),
    ],
)
def test_configure_product_bad_argument_one_warning_rest_applies(
    caplog, product_reset, keywords, check
) -> None:
    neighbour = ("max_distinct_values", 7) if "max_distinct_values" not in keywords else ("prefix", "shop")
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        in_force = configure_product(**dict([neighbour]), **keywords)
    assert check(in_force)
    assert getattr(in_force, neighbour[0]) == neighbour[1]  # the good setting next to the bad one applies
    (warning,) = _warnings(caplog)
    assert warning.startswith(f"genai-otel: configure_product({next(iter(keywords))}=")


def test_redaction_timeout_above_timeout_max_is_clamped_and_content_kept(
    monkeypatch, instrument_openai, openai_client, caplog
) -> None:
    monkeypatch.setenv("GENAI_OTEL_REDACTION_TIMEOUT_MS", str(int(threading.TIMEOUT_MAX * 1000) * 10))
    span, warnings = _instrument_and_call(
        instrument_openai, openai_client, caplog, capture_message_content="SPAN_ONLY", redactor=str.strip
    )
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert sc.GEN_AI_INPUT_MESSAGES in span.attributes
    (warning,) = warnings
    assert f"using {REDACTION_TIMEOUT_MS_RANGE[1]}" in warning


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x", 16384),
        (None, 16384),
        ([5], 16384),
        (2.5, 16384),
        (True, 16384),
        (0, CONTENT_MAX_LENGTH_RANGE[0]),
        (-5, CONTENT_MAX_LENGTH_RANGE[0]),
        (10**30, CONTENT_MAX_LENGTH_RANGE[1]),
        (" 64 ", 64),
        (64.0, 64),
    ],
)
def test_content_max_length_range(value, expected) -> None:
    assert Settings.load(content_max_length=value).content.max_length == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("0", 1), ("-3", 1), ("250", 250), ("1e3", 100), (str(2**80), 60_000)]
)
def test_redaction_timeout_range(monkeypatch, value, expected) -> None:
    from genai_otel import config

    given: list[float] = []

    def policy(**kwargs: Any) -> Any:
        given.append(kwargs["custom_timeout"])
        return real(**kwargs)

    real = config.RedactionPolicy
    monkeypatch.setattr(config, "RedactionPolicy", policy)
    monkeypatch.setenv("GENAI_OTEL_REDACTION_TIMEOUT_MS", value)
    Settings.load(capture_message_content="SPAN_ONLY")
    assert given == [expected / 1000]


@pytest.mark.parametrize(
    ("text", "expected", "said"),
    [
        ("9" * 4001, 60_000, "above the maximum 60000"),
        ("9" * 100_000, 60_000, "above the maximum 60000"),
        ("+" + "9" * 5000, 60_000, "above the maximum 60000"),
        ("-" + "9" * 5000, 1, "below the minimum 1"),
        ("1_" * 3000 + "1", 60_000, "above the maximum 60000"),
        ("0" * 10_000 + "250", 250, None),  # leading zeros are not digits of the value
        ("-" + "0" * 10_000, 1, "below the minimum 1"),
        ("\u0665" * 5000, 60_000, "above the maximum 60000"),  # Arabic-Indic digits, as int() takes them
        ("9" * 5000 + "x", 100, "is not an integer"),
    ],
)
def test_an_integer_of_any_length_is_clamped_like_others(caplog, text, expected, said) -> None:
    # Shown in a warning at most as 60 characters: a huge value costs the log nothing.
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        assert read_int(text, "GENAI_OTEL_REDACTION_TIMEOUT_MS", 100, *REDACTION_TIMEOUT_MS_RANGE) == expected
    warnings = _warnings(caplog)
    if said is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert said in warning and len(warning) < 300


def test_empty_variables_count_as_unset(monkeypatch, global_providers, openai_client, caplog) -> None:
    for name in ENVIRONMENT:
        monkeypatch.setenv(name, "")
    instrumentor = OpenAIInstrumentor()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        instrumentor.instrument(capture_message_content="SPAN_ONLY")
        try:
            _chat(openai_client)
        finally:
            instrumentor.uninstrument()
        in_force = configure_product()
    assert _warnings(caplog) == []
    (span,) = _chat_spans(global_providers)
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH not in span.attributes  # no key, no hash: the defaults
    assert in_force == genai_otel.product.ProductSettings(content=in_force.content)


def test_readers_warn_once_per_setting_and_never_raise(caplog) -> None:
    class Hostile:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(name)

    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        assert read_bool(Hostile(), "S1", True) is True
        assert read_bool("maybe", "S1", True) is True
        assert read_int(Hostile(), "S2", 5, 1, 10) == 5
        assert read_int("99", "S2", 5, 1, 10) == 10
        assert read_names(_Weird(), "S3", ("a",)) == ("a",)
        assert read_provider_map(_HostileMapping(a="b"), "S4") == {}
    warnings = _warnings(caplog)
    assert [w.split()[1][:2] for w in warnings] == ["S1", "S2", "S3", "S4"]


def test_redactor_spec_is_not_shown_in_the_warning(instrument_openai, openai_client, caplog) -> None:
    span, warnings = _instrument_and_call(
        instrument_openai,
        openai_client,
        caplog,
        capture_message_content="SPAN_ONLY",
        redactor="/home/alice/private/redactors:scrub",
    )
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    (warning,) = warnings
    assert "alice" not in warning and "redactor could not be loaded" in warning


@pytest.mark.parametrize("value", [{"ORDER": 5}, [("ORDER", "x")], 5, '["x"]', '{"BAD": "(unclosed"}'])
def test_unusable_redact_patterns_drop_content_in_one_warning(
    instrument_openai, openai_client, caplog, value
) -> None:
    span, warnings = _instrument_and_call(
        instrument_openai, openai_client, caplog, capture_message_content="SPAN_ONLY", redact_patterns=value
    )
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is False
    assert span.attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] == "redaction_misconfigured"
    (warning,) = warnings
    assert "instrument(redact_patterns=" in warning and "dropped, not recorded unredacted" in warning


def test_one_bad_setting_leaves_the_others_applied(instrument_openai, openai_client, caplog) -> None:
    card = {"version": "v1", "models": {"gpt-test-2026-01-01": {"input": 1, "output": 1}}}
    span, warnings = _instrument_and_call(
        instrument_openai,
        openai_client,
        caplog,
        provider_map=123,
        capture_message_content="SPAN_ONLY",
        content_max_length="lots",
        hash_key="tenant-secret",
        rate_card=card,
    )
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert sc.GENAI_OTEL_COST in span.attributes
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH in span.attributes
    assert len(warnings) == 2
    assert not any("tenant-secret" in w for w in warnings)


def test_the_readme_states_the_ranges_in_code() -> None:
    readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
    with open(readme, encoding="utf-8") as handle:
        text = handle.read()
    for low, high in (
        PREVIEW_CHARS_RANGE,
        CONTENT_STORE_QUEUE_SIZE_RANGE,
        CONTENT_STORE_QUEUE_BYTES_RANGE,
        CONTENT_STORE_FLUSH_TIMEOUT_MS_RANGE,
        CONTENT_MAX_LENGTH_RANGE,
        REDACTION_TIMEOUT_MS_RANGE,
        MAX_VALUE_LENGTH_RANGE,
        MAX_DISTINCT_VALUES_RANGE,
    ):
        assert f"{low}\u2013{high}" in text, (low, high)  # an en dash


# --- the application's own calls never touch configuration outside a guard -----------------------------------
def test_product_api_runs_when_reading_its_settings_fails(
    monkeypatch, telemetry, caplog, product_reset
) -> None:
    from genai_otel import product

    def broken(cls: Any) -> Any:
        raise RuntimeError("settings unreadable")

    monkeypatch.setattr(product, "_telemetry", None)
    monkeypatch.setattr(product.ProductSettings, "from_environment", classmethod(broken))

    @genai_otel.tool
    def ping(value: int) -> int:
        return value

    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        with genai_otel.product_context("request", template_id="t"):
            assert ping(2) == 2
            genai_otel.record_outcome(route="serve")
        assert product._telemetry is not None
        assert product._telemetry.settings.content.hash_inputs is False  # the safe side: no hashes
        assert configure_product(prefix="shop").prefix == "shop"


def test_ollama_with_broken_settings_is_still_traced(monkeypatch, telemetry, ollama_client, caplog) -> None:
    from genai_otel.ollama import OllamaInstrumentor

    monkeypatch.setenv("GENAI_OTEL_HASH_KEY", _not_utf8(b"\xc3\x28key"))
    monkeypatch.setenv("GENAI_OTEL_PROVIDER_MAP", "no equals sign")
    monkeypatch.setenv("GENAI_OTEL_CONTENT_MAX_LENGTH", "-1")
    instrumentor = OllamaInstrumentor()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            rate_card=[],
            redact_disable=5,
            capture_message_content="SPAN_ONLY",
        )
        try:
            ollama_client.chat(model="llama-test", messages=MESSAGES)
        finally:
            instrumentor.uninstrument()
    (span,) = telemetry.spans()
    assert span.attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] is True
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH in span.attributes
    warnings = _warnings(caplog)
    named = sorted(w.split()[1].split("=")[0].split(":")[0] for w in warnings)
    # GENAI_OTEL_PROVIDER_MAP is for OpenAI clients only: the Ollama instrumentor does not read it.
    assert named == ["GENAI_OTEL_CONTENT_MAX_LENGTH", "instrument(rate_card", "instrument(redact_disable"]


# --- arguments instrument() does not take ---------------------------------------------------------------------
def test_the_keywords_tested_here_are_every_argument_instrument_takes() -> None:
    assert set(INSTRUMENT_KEYWORDS) == INSTRUMENT_ARGUMENTS


def test_an_unknown_instrument_argument_is_named_in_one_warning_and_the_rest_applies(
    instrument_openai, openai_client, caplog
) -> None:
    # A typo of capture_message_content must not look applied; it is not applied either (content off).
    span, warnings = _instrument_and_call(
        instrument_openai,
        openai_client,
        caplog,
        capture_content="SPAN_ONLY",
        provider_map={"*": "vllm"},
        retries=3,
    )
    assert warnings == ["genai-otel: instrument: unknown settings ['capture_content', 'retries'] ignored"]
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "vllm"
    assert sc.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert sc.GENAI_OTEL_CONTENT_CAPTURED not in span.attributes


def test_the_same_unknown_argument_is_warned_about_once(telemetry, openai_client, caplog) -> None:
    instrumentor = OpenAIInstrumentor()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        for _ in range(3):
            instrumentor.instrument(**telemetry.providers(), capture_content=True)
            _chat(openai_client)
            instrumentor.uninstrument()
    assert _warnings(caplog) == ["genai-otel: instrument: unknown settings ['capture_content'] ignored"]
    assert len(_chat_spans(telemetry)) == 3


def test_event_logger_provider_is_named_with_where_events_go(telemetry, ollama_client, caplog) -> None:
    from genai_otel.ollama import OllamaInstrumentor

    instrumentor = OllamaInstrumentor()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        instrumentor.instrument(**telemetry.providers(), event_logger_provider=object())
        try:
            ollama_client.chat(model="llama-test", messages=MESSAGES)
        finally:
            instrumentor.uninstrument()
    assert _warnings(caplog) == [
        "genai-otel: instrument: unknown settings ['event_logger_provider'] ignored "
        "(genai-otel emits its events through logger_provider)"
    ]
    assert len(telemetry.spans()) == 1


def test_configure_product_names_an_unknown_argument_in_one_warning(product_reset, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        settings = configure_product(prefx="shop", max_value_length=32)
        configure_product(prefx="shop", max_value_length=32)
    assert _warnings(caplog) == ["genai-otel: configure_product: unknown settings ['prefx'] ignored"]
    assert settings.max_value_length == 32


@pytest.mark.parametrize("function", ["instrument", "configure_product"])
def test_hostile_unknown_argument_names_give_one_short_escaped_warning(
    function, telemetry, openai_client, caplog, product_reset
) -> None:
    names = {"x" * 100_000: 1, "line\nforged: genai-otel: all clear": 2, "\ud800": 3}
    names.update({f"extra_{index}": index for index in range(20)})
    instrumentor = OpenAIInstrumentor()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        if function == "instrument":
            instrumentor.instrument(**telemetry.providers(), **names)
            try:
                _chat(openai_client)
            finally:
                instrumentor.uninstrument()
        else:
            configure_product(**names)
    (warning,) = _warnings(caplog)
    assert warning.startswith(f"genai-otel: {function}: unknown settings [")
    assert warning.endswith(", ... (23 in all)] ignored")
    assert len(warning) < 1_000
    assert "\n" not in warning and warning.isprintable()
    warning.encode("utf-8")  # no lone surrogate reaches the log
    if function == "instrument":
        assert len(_chat_spans(telemetry)) == 1


def test_base_instrumentor_arguments_are_not_unknown(telemetry, openai_client, caplog) -> None:
    # opentelemetry-instrument passes skip_dep_check; BaseInstrumentor takes both before they reach us.
    instrumentor = OpenAIInstrumentor()
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        instrumentor.instrument(
            **telemetry.providers(), skip_dep_check=True, raise_exception_on_conflict=False
        )
        try:
            _chat(openai_client)
        finally:
            instrumentor.uninstrument()
    assert _warnings(caplog) == []
    assert len(_chat_spans(telemetry)) == 1


AUTO_APP = """
import os
import genai_otel
import openai

@genai_otel.tool
def track_parcel(parcel_id: str) -> dict:
    return {"status": "in transit"}

genai_otel.configure_product(prefix=123, baggage=True, baggage_keys=5, max_value_length="x")
client = openai.OpenAI(base_url=os.environ["TEST_BASE_URL"], api_key="sk-test-0000", max_retries=0)
with genai_otel.product_context("answer", template_id="t-1"):
    track_parcel("48213")
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
"""


@pytest.mark.slow
def test_opentelemetry_instrument_with_garbage_everywhere_still_traces(tmp_path, llm_server) -> None:
    from tests.helpers import run_auto_instrumented

    script = tmp_path / "app.py"
    script.write_text(AUTO_APP)
    card = tmp_path / "card.json"
    card.write_text("null")
    spans = run_auto_instrumented(
        script,
        TEST_BASE_URL=llm_server.openai_base_url,
        GENAI_OTEL_HASH_KEY=_not_utf8(b"\xff\xfe\xfd"),
        GENAI_OTEL_PROVIDER_MAP="[1]",
        GENAI_OTEL_RATE_CARD=str(card),
        GENAI_OTEL_REDACTION_TIMEOUT_MS="1" + "0" * 30,
        GENAI_OTEL_REDACT_DISABLE=",,,nonsense",
        GENAI_OTEL_PRODUCT_MAX_DISTINCT_VALUES="lots",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_ONLY",
    )
    names = [span["name"] for span in spans]
    assert "chat gpt-test" in names and "execute_tool track_parcel" in names and "answer" in names
    chat = next(span for span in spans if span["name"] == "chat gpt-test")
    assert chat["attributes"]["app.prompt.template_id"] == "t-1"
    assert chat["attributes"][sc.GENAI_OTEL_CONTENT_CAPTURED] is True


# --- settings added by other parts of genai-otel go through the same readers ----------------------------------
@pytest.mark.parametrize(
    ("keywords", "check"),
    [
        ({"preview_chars": "lots"}, lambda s: s.preview_chars == 0),
        ({"preview_chars": 10**9}, lambda s: s.preview_chars == PREVIEW_CHARS_RANGE[1]),
        ({"call_records": "sometimes"}, lambda s: s.call_records is False),
        ({"active_requests": [True]}, lambda s: s.active_requests is False),
        ({"server_metrics": "sometimes"}, lambda s: s.server_metrics is False),
        ({"content_store": 5}, lambda s: s.content.store.unusable),
        ({"content_store": "memory://x/y", "content_store_key": 123}, lambda s: s.content.store.unusable),
        (
            {"content_store": "memory://x/y", "content_store_queue_size": 10**12},
            lambda s: s.content.store.queue_size == CONTENT_STORE_QUEUE_SIZE_RANGE[1],
        ),
        (
            {"content_store": "memory://x/y", "content_store_options": ["endpoint"]},
            lambda s: s.content.store.options == (),
        ),
    ],
)
def test_later_settings_are_read_the_same_way(caplog, keywords, check) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        loaded = Settings.load(capture_message_content="SPAN_ONLY", **keywords)
    assert check(loaded)
    (warning,) = _warnings(caplog)
    bad = [k for k in keywords if k != "content_store"] or ["content_store"]
    assert warning.startswith(f"genai-otel: instrument({bad[0]}=")
    assert "123" not in warning  # a store key is shown by its type only
