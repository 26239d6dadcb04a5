"""The application's own cache in front of the model (a semantic cache, an exact-match cache): how often
it answers instead of the model.

    cached = semantic_cache.get(question)
    genai_otel.record_cache_lookup(cached is not None)            # cache="semantic"
    if cached is None:
        answer = client.chat.completions.create(...)

Each lookup adds one to ``genai_otel.cache.lookups`` with the cache's name, the result (``hit`` or
``miss``) and, inside a :func:`~genai_otel.product_context`, its prompt template id, under the same
cardinality bound as the other product metrics. The exemplar points at the current span.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace

from genai_otel import semconv as sc
from genai_otel._encoding import encodable_text
from genai_otel._failsafe import report_internal_error, warn_setting_once
from genai_otel.config import shown
from genai_otel.product import KNOWN_ATTRIBUTES, MAX_VALUE_LENGTH_ENV, _get_telemetry, current_scope


def record_cache_lookup(hit: bool, *, cache: str = "semantic") -> None:
    """Count one lookup in ``cache``: a hit (the cache answered) or a miss. Never raises.

    ``hit`` should be a bool; anything else is counted by its truth value, with one warning."""
    try:
        _record(hit, cache)
    except Exception:
        report_internal_error("record_cache_lookup")


def _record(hit: Any, cache: Any) -> None:
    telemetry = _get_telemetry()
    if not isinstance(hit, bool):
        warn_setting_once(
            "record_cache_lookup:hit",
            f"record_cache_lookup: hit should be a bool, not a {type(hit).__name__}; counted as "
            f"{'a hit' if hit else 'a miss'} by its truth value",
        )
        hit = bool(hit)
    limit = telemetry.settings.max_value_length
    if isinstance(cache, str) and cache.strip() and len(cache) <= limit:
        name = encodable_text(cache)
    else:  # one warning, showing a long or non-text value by its type or a short excerpt only
        warn_setting_once(
            "record_cache_lookup:cache",
            f"record_cache_lookup: cache={shown(cache)} is not a usable name (a non-empty text of at most "
            f"{limit} characters, {MAX_VALUE_LENGTH_ENV}); counted as cache='semantic'",
        )
        name = "semantic"
    attributes = {
        sc.GENAI_OTEL_CACHE_NAME: telemetry.bounded(sc.GENAI_OTEL_CACHE_NAME, name),
        sc.GENAI_OTEL_CACHE_RESULT: sc.CACHE_RESULT_HIT if hit else sc.CACHE_RESULT_MISS,
    }
    scope = current_scope()
    if scope is not None:
        template = telemetry.name(KNOWN_ATTRIBUTES["template_id"])
        value = scope.attributes.get(template)
        if value is not None:
            attributes[template] = telemetry.bounded(template, str(value))
    span = scope.span if scope is not None and scope.span is not None else trace.get_current_span()
    telemetry.cache_lookups.add(1, attributes, context=trace.set_span_in_context(span))
