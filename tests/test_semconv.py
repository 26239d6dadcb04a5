"""Our pinned names agree with the installed opentelemetry-semantic-conventions wherever it has them."""

from __future__ import annotations

import importlib

from genai_otel import semconv as sc

_MODULES = [
    "opentelemetry.semconv._incubating.attributes.gen_ai_attributes",
    "opentelemetry.semconv._incubating.attributes.openai_attributes",
    "opentelemetry.semconv._incubating.attributes.server_attributes",
    "opentelemetry.semconv._incubating.attributes.error_attributes",
    "opentelemetry.semconv.attributes.server_attributes",
    "opentelemetry.semconv.attributes.error_attributes",
    "opentelemetry.semconv.attributes.http_attributes",
    "opentelemetry.semconv.attributes.exception_attributes",
    "opentelemetry.semconv._incubating.metrics.gen_ai_metrics",
]


def _upstream_constants() -> dict[str, str]:
    constants: dict[str, str] = {}
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for key, value in vars(module).items():
            if key.isupper() and isinstance(value, str):
                constants[key] = value
    return constants


UPSTREAM = _upstream_constants()

_METRIC_ALIASES = {
    "METRIC_OPERATION_DURATION": "GEN_AI_CLIENT_OPERATION_DURATION",
    "METRIC_TOKEN_USAGE": "GEN_AI_CLIENT_TOKEN_USAGE",
    "METRIC_TIME_TO_FIRST_CHUNK": "GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK",
    "METRIC_TIME_PER_OUTPUT_CHUNK": "GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK",
    "METRIC_SERVER_TIME_TO_FIRST_TOKEN": "GEN_AI_SERVER_TIME_TO_FIRST_TOKEN",
    "METRIC_SERVER_TIME_PER_OUTPUT_TOKEN": "GEN_AI_SERVER_TIME_PER_OUTPUT_TOKEN",
}


def _ours() -> list[tuple[str, str]]:
    return [(key, value) for key, value in vars(sc).items() if key.isupper() and isinstance(value, str)]


def test_upstream_constants_are_available() -> None:
    assert "GEN_AI_OPERATION_NAME" in UPSTREAM, (
        "opentelemetry-semantic-conventions lacks the GenAI attributes"
    )


def test_name_matches_upstream_where_defined() -> None:
    defined = {key: value for key, value in _ours() if _METRIC_ALIASES.get(key, key) in UPSTREAM}
    assert defined, "no name of ours has an upstream constant: is the semconv package importable?"
    differing = {
        key: (value, UPSTREAM[_METRIC_ALIASES.get(key, key)])
        for key, value in defined.items()
        if value != UPSTREAM[_METRIC_ALIASES.get(key, key)]
    }
    assert differing == {}, "(ours, upstream)"


# Our names that the installed opentelemetry-semantic-conventions has no constant for (checked against
# 0.66b2, the version every venv of the Makefile resolves: opentelemetry-sdk pins it exactly). Names in
# genai-otel's own namespace (values starting with "genai_otel.") can never have one and are left out by
# that rule. When upstream gains a constant for a name here, the test fails: take the name off the list,
# and the test above then checks its value.
NO_UPSTREAM_CONSTANT = frozenset(
    {
        "SEMCONV_VERSION",
        "SCHEMA_URL",
        # values of enumerated attributes (upstream has them as enum members, not module constants)
        "OPERATION_CHAT",
        "OPERATION_EMBEDDINGS",
        "OPERATION_TEXT_COMPLETION",
        "OPERATION_GENERATE_CONTENT",
        "OPERATION_EXECUTE_TOOL",
        "PROVIDER_OPENAI",
        "PROVIDER_AZURE_OPENAI",
        "PROVIDER_OLLAMA",
        "PROVIDER_OPENAI_COMPATIBLE",
        "OUTPUT_TYPE_TEXT",
        "OUTPUT_TYPE_JSON",
        "OUTPUT_TYPE_SPEECH",
        "OUTPUT_TYPE_IMAGE",
        "TOKEN_TYPE_INPUT",
        "TOKEN_TYPE_OUTPUT",
        "OPENAI_API_TYPE_CHAT_COMPLETIONS",
        "OPENAI_API_TYPE_RESPONSES",
        "FINISH_STOP",
        "FINISH_LENGTH",
        "FINISH_CONTENT_FILTER",
        "FINISH_TOOL_CALL",
        "FINISH_ERROR",
        "OUTCOME_CLOSED_EARLY",
        "OUTCOME_ABANDONED",
        "OUTCOME_CANCELLED",
        "OUTCOME_UNOBSERVED",
        "ERROR_STREAM_TRUNCATED",
        "ERROR_TYPE_OTHER",  # semconv's fallback value "_OTHER", spelled in prose only
        # why content was dropped (genai_otel.content.dropped_reason values)
        "DROPPED_INTERNAL_ERROR",
        "DROPPED_REDACTION_FAILED",
        "DROPPED_REDACTION_MISCONFIGURED",
        "DROPPED_REDACTION_OVERLOADED",
        "DROPPED_REDACTION_TIMEOUT",
        "DROPPED_STORE_UNAVAILABLE",
        "DROPPED_STORE_MISCONFIGURED",
        "CACHE_RESULT_HIT",
        "CACHE_RESULT_MISS",
        # the references the official GenAI utilities' upload hook writes; not in semconv v1.41.1
        "GEN_AI_INPUT_MESSAGES_REF",
        "GEN_AI_OUTPUT_MESSAGES_REF",
        "GEN_AI_SYSTEM_INSTRUCTIONS_REF",
        "GEN_AI_TOOL_DEFINITIONS_REF",
        "UNIT_SECONDS",
        "UNIT_TOKENS",
        "UNIT_REQUESTS",
        "UNIT_CLAIMS",
        "UNIT_CALLS",
        "UNIT_USD",
        "UNIT_LOOKUPS",
        "UNIT_RESULTS",
        "UNIT_SCORE",
        # the installed package has no events module
        "EVENT_EVALUATION_RESULT",
        "EVENT_INFERENCE_OPERATION_DETAILS",
        "EVENT_CLIENT_OPERATION_EXCEPTION",
        "UNIT_DOCUMENTS",
        # the product attributes, under the application's own configurable prefix
        "PRODUCT_PREFIX_DEFAULT",
        "PRODUCT_TEMPLATE_ID",
        "PRODUCT_EVIDENCE_VERSION",
        "PRODUCT_ANSWER_ROUTE",
        "PRODUCT_FIRST_FAILED_STAGE",
        "PRODUCT_UNSAFE_CLAIM_SERVED",
        "PRODUCT_EVALUATION_RUN",
        "PRODUCT_EVALUATION_RUN_ID",
        "PRODUCT_EVALUATION_CASE",
        # Ollama's attributes: semconv has no ollama.* registry yet
        "OLLAMA_REQUEST_KEEP_ALIVE",
        "OLLAMA_REQUEST_NUM_CTX",
        "OLLAMA_REQUEST_REPEAT_PENALTY",
        "OLLAMA_REQUEST_THINK",
        "OLLAMA_RESPONSE_TOTAL_DURATION",
        "OLLAMA_RESPONSE_LOAD_DURATION",
        "OLLAMA_RESPONSE_PROMPT_EVAL_DURATION",
        "OLLAMA_RESPONSE_EVAL_DURATION",
        "OLLAMA_RESPONSE_TIME_TO_FIRST_TOKEN",
        "OLLAMA_RESPONSE_TIME_PER_OUTPUT_TOKEN",
    }
)


def test_exactly_the_expected_names_have_no_upstream_constant() -> None:
    from importlib.metadata import version

    missing = {
        key
        for key, value in _ours()
        if _METRIC_ALIASES.get(key, key) not in UPSTREAM and not value.startswith("genai_otel.")
    }
    installed = version("opentelemetry-semantic-conventions")
    assert missing - NO_UPSTREAM_CONSTANT == set(), (
        f"names without a constant in opentelemetry-semantic-conventions {installed}: add them to "
        "NO_UPSTREAM_CONSTANT if they are meant to be ours, or fix their spelling"
    )
    assert NO_UPSTREAM_CONSTANT - missing == set(), (
        f"opentelemetry-semantic-conventions {installed} now has these (or we no longer define them): "
        "take them off NO_UPSTREAM_CONSTANT"
    )


def test_no_name_of_ours_collides_with_upstream() -> None:
    own = {value for key, value in _ours() if value.startswith("genai_otel.")}
    assert own & set(UPSTREAM.values()) == set()


def test_every_gen_ai_attribute_we_emit_is_known_upstream() -> None:
    known = set(UPSTREAM.values())
    # Event names (EVENT_*) are left out: the installed package defines attributes and metrics, not events.
    ours = {
        value
        for key, value in _ours()
        if value.startswith(("gen_ai.", "openai.")) and "." in value and not key.startswith("EVENT_")
    }
    # The content store's references: the official GenAI utilities' names, not (yet) semconv's.
    assert ours - known - sc.UTIL_GENAI_REFERENCES == set(), "names not in the installed semconv package"


def test_version_is_pinned_once() -> None:
    assert sc.SEMCONV_VERSION == "1.41.1"
    assert sc.SCHEMA_URL.endswith("/1.41.1")


def test_bucket_boundaries_follow_the_spec() -> None:
    assert sc.DURATION_BUCKETS[0] == 0.01 and sc.DURATION_BUCKETS[-1] == 81.92
    assert all(b == a * 2 for a, b in zip(sc.DURATION_BUCKETS, sc.DURATION_BUCKETS[1:], strict=False))
    assert sc.TOKEN_BUCKETS[0] == 1 and sc.TOKEN_BUCKETS[-1] == 67108864
    assert all(b == a * 4 for a, b in zip(sc.TOKEN_BUCKETS, sc.TOKEN_BUCKETS[1:], strict=False))


def test_server_metric_buckets_follow_the_spec() -> None:
    assert sc.SERVER_TIME_TO_FIRST_TOKEN_BUCKETS == (
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    )  # fmt: skip
    assert sc.SERVER_TIME_PER_OUTPUT_TOKEN_BUCKETS == (
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
    )  # fmt: skip
