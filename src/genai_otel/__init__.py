"""genai-otel: OpenTelemetry instrumentation for LLM clients, to the GenAI semantic conventions v1.41.1.

The instrumentors live in :mod:`genai_otel.openai` and :mod:`genai_otel.ollama`. This package holds the
public API for the application's own telemetry: the product decision context, its outcome, cache lookups,
tool spans, and evaluation results (:mod:`genai_otel.evaluation` has scheduled runs and the promotion gate).
"""

from genai_otel import evaluation
from genai_otel.cache import record_cache_lookup
from genai_otel.cost import Price, RateCard
from genai_otel.evaluation import record_evaluation
from genai_otel.product import (
    StalledLoop,
    StalledToolLoop,
    configure_product,
    current_scope,
    product_context,
    record_outcome,
    report_progress,
)
from genai_otel.semconv import SEMCONV_VERSION
from genai_otel.tools import tool, tool_call
from genai_otel.version import __version__

__all__ = [
    "SEMCONV_VERSION",
    "Price",
    "RateCard",
    "StalledLoop",
    "StalledToolLoop",
    "__version__",
    "configure_product",
    "current_scope",
    "evaluation",
    "product_context",
    "record_cache_lookup",
    "record_evaluation",
    "record_outcome",
    "report_progress",
    "tool",
    "tool_call",
]
