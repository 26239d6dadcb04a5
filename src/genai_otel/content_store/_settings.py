"""The content store's settings, as read by :mod:`genai_otel.config`; importing this costs nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_QUEUE_SIZE = 1000
DEFAULT_QUEUE_BYTES = 32 * 1024 * 1024
DEFAULT_FLUSH_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class StoreSettings:
    url: str
    # fsspec storage options (``instrument(content_store_options=...)``), as sorted pairs to stay hashable.
    options: tuple[tuple[str, Any], ...] = ()
    # GENAI_OTEL_CONTENT_STORE_KEY, unparsed; never shown in a repr or a log line.
    keys: str | None = field(default=None, repr=False)
    raw: bool = False
    inline: bool = False
    queue_size: int = DEFAULT_QUEUE_SIZE
    queue_bytes: int = DEFAULT_QUEUE_BYTES
    flush_timeout_ms: int = DEFAULT_FLUSH_TIMEOUT_MS
    # The settings' names as the user gave them, for warnings.
    url_source: str = "GENAI_OTEL_CONTENT_STORE"
    key_source: str = "GENAI_OTEL_CONTENT_STORE_KEY"
    raw_source: str = "GENAI_OTEL_CONTENT_STORE_RAW"
    # A store was asked for with settings that cannot be read (named in their warning): no store, and no
    # content either (fail closed).
    unusable: bool = False
