"""The governed content store: a call's captured content in a store of its own, referenced from the trace.

``GENAI_OTEL_CONTENT_STORE=<fsspec URL>`` (or ``instrument(content_store=...)``) with capture on writes
each call's content, redacted, as one JSON document (optionally encrypted) to
``<store>/YYYY/MM/DD/<trace_id>/<span_id>.json``, off the call path, and puts references on the span
and the details event in place of the content. See docs/content-capture.md#the-content-store.

Importing this package imports neither fsspec nor cryptography; :func:`open_store` does, at
``instrument()``.
"""

from __future__ import annotations

from genai_otel.content_store._settings import StoreSettings
from genai_otel.content_store._store import ContentStore, open_store
from genai_otel.content_store._writer import flush_all as flush

__all__ = ["ContentStore", "StoreSettings", "flush", "open_store"]
