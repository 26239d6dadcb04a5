"""genai_otel.record_cache_lookup: the application's cache hits and misses, in the product context."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import trace

import genai_otel
from genai_otel import _failsafe
from genai_otel import semconv as sc
from genai_otel.product import configure_product


@pytest.fixture
def product(telemetry):
    _failsafe._warned_settings.clear()
    configure_product(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        max_distinct_values=3,
    )
    yield telemetry
    configure_product()


def _counts(telemetry) -> dict[frozenset, int]:
    return {
        frozenset(point.attributes.items()): point.value
        for point in telemetry.metric_points(sc.METRIC_CACHE_LOOKUPS)
    }


def test_hits_and_misses_by_cache_and_template(product) -> None:
    with genai_otel.product_context("answer", template_id="tracking-v1"):
        genai_otel.record_cache_lookup(True)
        genai_otel.record_cache_lookup(False)
        genai_otel.record_cache_lookup(True)
    genai_otel.record_cache_lookup(False, cache="exact")
    assert _counts(product) == {
        frozenset(
            {
                (sc.GENAI_OTEL_CACHE_NAME, "semantic"),
                (sc.GENAI_OTEL_CACHE_RESULT, "hit"),
                ("app.prompt.template_id", "tracking-v1"),
            }
        ): 2,
        frozenset(
            {
                (sc.GENAI_OTEL_CACHE_NAME, "semantic"),
                (sc.GENAI_OTEL_CACHE_RESULT, "miss"),
                ("app.prompt.template_id", "tracking-v1"),
            }
        ): 1,
        frozenset({(sc.GENAI_OTEL_CACHE_NAME, "exact"), (sc.GENAI_OTEL_CACHE_RESULT, "miss")}): 1,
    }
    metric = product.metric(sc.METRIC_CACHE_LOOKUPS)
    assert metric.unit == sc.UNIT_LOOKUPS and metric.data.is_monotonic


def test_exemplar_points_at_the_product_span(product) -> None:
    with genai_otel.product_context("answer", template_id="t"):
        genai_otel.record_cache_lookup(True)
    (span,) = product.spans()
    (point,) = product.metric_points(sc.METRIC_CACHE_LOOKUPS)
    assert point.exemplars and point.exemplars[0].span_id == span.context.span_id


def test_bad_arguments_warn_once_and_lose_nothing(product, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        genai_otel.record_cache_lookup(1)  # type: ignore[arg-type]
        genai_otel.record_cache_lookup(None)  # type: ignore[arg-type]
        genai_otel.record_cache_lookup(True, cache=42)  # type: ignore[arg-type]
        genai_otel.record_cache_lookup(True, cache="x" * 10_000)
    counts = _counts(product)
    assert sum(counts.values()) == 4
    assert (
        counts[frozenset({(sc.GENAI_OTEL_CACHE_NAME, "semantic"), (sc.GENAI_OTEL_CACHE_RESULT, "hit")})] == 3
    )
    assert caplog.text.count("hit should be a bool") == 1
    assert "not a usable name" in caplog.text


def test_cache_names_are_bounded(product) -> None:
    for index in range(6):
        genai_otel.record_cache_lookup(True, cache=f"cache-{index}")
    names = {dict(key)[sc.GENAI_OTEL_CACHE_NAME] for key in _counts(product)}
    assert names == {"cache-0", "cache-1", "cache-2", "_OTHER"}


def test_never_raises(product, monkeypatch) -> None:
    from genai_otel import product as product_module

    def broken():
        raise RuntimeError("bug")

    monkeypatch.setattr(product_module, "_get_telemetry", broken)
    monkeypatch.setattr("genai_otel.cache._get_telemetry", broken)
    genai_otel.record_cache_lookup(True)
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_an_unusable_cache_name_is_one_short_warning_and_still_counted(product, caplog) -> None:
    """docs/telemetry.md: an over-long cache name counts as `semantic`, with one warning (not one per check),
    and the warning does not copy the value into the log; a name whose repr raises is counted too."""

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with caplog.at_level(logging.WARNING, logger="genai_otel"):
        genai_otel.record_cache_lookup(True, cache="secret-" + "x" * 10_000)
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "not a usable name" in warning and len(warning) < 400
    _failsafe._warned_settings.clear()
    genai_otel.record_cache_lookup(True, cache=Hostile())  # type: ignore[arg-type]
    genai_otel.record_cache_lookup(True, cache="  ")
    hit = frozenset({(sc.GENAI_OTEL_CACHE_NAME, "semantic"), (sc.GENAI_OTEL_CACHE_RESULT, "hit")})
    assert _counts(product) == {hit: 3}
