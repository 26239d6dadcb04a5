"""Our pinned names agree with the installed opentelemetry-semantic-conventions wherever it has them."""

from __future__ import annotations

import importlib

import pytest

from genai_otel import semconv as sc

_MODULES = [
    "opentelemetry.semconv._incubating.attributes.gen_ai_attributes",
    "opentelemetry.semconv._incubating.attributes.openai_attributes",
    "opentelemetry.semconv._incubating.attributes.server_attributes",
    "opentelemetry.semconv._incubating.attributes.error_attributes",
    "opentelemetry.semconv.attributes.server_attributes",
    "opentelemetry.semconv.attributes.error_attributes",
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


@pytest.mark.parametrize(("key", "value"), _ours())
def test_name_matches_upstream_where_defined(key: str, value: str) -> None:
    upstream_key = _METRIC_ALIASES.get(key, key)
    if upstream_key not in UPSTREAM:
        pytest.skip(f"{key} has no upstream constant")
    assert value == UPSTREAM[upstream_key]


def test_every_gen_ai_attribute_we_emit_is_known_upstream() -> None:
    known = set(UPSTREAM.values())
    # Event names (EVENT_*) are left out: the installed package defines attributes and metrics, not events.
    ours = {
        value
        for key, value in _ours()
        if value.startswith(("gen_ai.", "openai.")) and "." in value and not key.startswith("EVENT_")
    }
    assert ours - known == set(), "names not in the installed semconv package"


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
