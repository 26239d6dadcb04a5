"""genai-otel: OpenTelemetry instrumentation for LLM clients, to the GenAI semantic conventions v1.41.1.

The instrumentors live in :mod:`genai_otel.openai` and :mod:`genai_otel.ollama`.
"""

from genai_otel.semconv import SEMCONV_VERSION
from genai_otel.version import __version__

__all__ = ["SEMCONV_VERSION", "__version__"]
