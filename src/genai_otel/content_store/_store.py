"""The content store seen from the recorder: ``divert`` a call's content into one document, get references."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from opentelemetry import metrics

import genai_otel.content_store._crypto as _crypto
from genai_otel import semconv as sc
from genai_otel._failsafe import report_internal_error, warn_setting_once
from genai_otel.content_store._layout import (
    layout_key,
    names_a_location,
    public_url,
    shown_url,
    url_credentials,
    without_credentials,
)
from genai_otel.content_store._settings import StoreSettings
from genai_otel.content_store._writer import Writer
from genai_otel.redaction import scrub_secrets
from genai_otel.version import __version__

FORMAT_VERSION = 1
REFERENCE_NAMES = {
    sc.GEN_AI_INPUT_MESSAGES: sc.GEN_AI_INPUT_MESSAGES_REF,
    sc.GEN_AI_OUTPUT_MESSAGES: sc.GEN_AI_OUTPUT_MESSAGES_REF,
    sc.GEN_AI_SYSTEM_INSTRUCTIONS: sc.GEN_AI_SYSTEM_INSTRUCTIONS_REF,
    sc.GEN_AI_TOOL_DEFINITIONS: sc.GEN_AI_TOOL_DEFINITIONS_REF,
    sc.GEN_AI_TOOL_CALL_ARGUMENTS: sc.GENAI_OTEL_TOOL_CALL_ARGUMENTS_REF,
    sc.GEN_AI_TOOL_CALL_RESULT: sc.GENAI_OTEL_TOOL_CALL_RESULT_REF,
}
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, default=str)


def encode_document(document: Any) -> bytes:
    try:
        return _ENCODER.encode(document).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escaped, so the object stays valid UTF-8 JSON
        return _ASCII_ENCODER.encode(document).encode("ascii")


class ContentStore:
    def __init__(
        self,
        settings: StoreSettings,
        make_filesystem: Callable[..., tuple[Any, str]],
        keys: list[_crypto.Key] | None,
        meter_provider: Any,
    ) -> None:
        self.settings = settings
        self.raw = settings.raw
        self.inline = settings.inline
        self._make_filesystem = make_filesystem
        self._filesystem, root = make_filesystem()
        self._root = root.rstrip("/")
        self.url = public_url(self._filesystem.unstrip_protocol(self._root))
        self._key = keys[0] if keys else None
        meter = metrics.get_meter(
            "genai_otel.content_store", __version__, meter_provider, schema_url=sc.SCHEMA_URL
        )
        self._dropped = meter.create_counter(
            sc.METRIC_CONTENT_STORE_DROPPED,
            unit=sc.UNIT_DOCUMENTS,
            description="Call content documents the content store could not take or write.",
        )
        self._drop_attributes = {sc.GENAI_OTEL_CONTENT_DROPPED_REASON: sc.DROPPED_STORE_UNAVAILABLE}
        self.writer = Writer(
            self.url,
            self._write,
            self._reset_filesystem,
            self._count_drops,
            settings.queue_size,
            settings.queue_bytes,
            settings.flush_timeout_ms / 1000,
            error_text=lambda exc: _error_text(exc, settings.url),
        )

    # --- the call path ---------------------------------------------------------------------------------
    def divert(
        self,
        structured: dict[str, Any],
        span: Any,
        raw: Callable[[], dict[str, Any]] | None,
        events: bool,
        policy: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Queue the call's content as one document: ``(content to keep inline, attributes to add)``.

        ``structured`` is the redacted content; ``raw`` gives the unredacted one (stored only when raw
        storage is on, which needs encryption). Never raises; a refused document drops the content."""
        if not structured or not (events or span.is_recording()):
            return structured, {}  # nothing to store, or nobody would ever see the reference
        try:
            context = span.get_span_context()
            trace_id, span_id = context.trace_id, context.span_id
            if not context.is_valid:  # no tracing SDK: still a unique, well-formed name
                trace_id, span_id = (
                    int.from_bytes(os.urandom(16), "big"),
                    int.from_bytes(os.urandom(8), "big"),
                )
            now = time.time()
            key = layout_key(trace_id, span_id, now)
            stored = raw() if self.raw and raw is not None else structured
            document = {
                "genai_otel.content": FORMAT_VERSION,
                "trace_id": f"{trace_id:032x}",
                "span_id": f"{span_id:016x}",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "redacted": stored is structured,
                "redaction_policy": policy.name,
                "redaction_policy_version": policy.version,
                "content": stored,
            }
            accepted = self.writer.submit(key, encode_document(document))
        except Exception:
            report_internal_error("queueing content for the content store")
            accepted = False
        kept = structured if self.inline else {}
        attributes: dict[str, Any] = {sc.GENAI_OTEL_CONTENT_STORE: self.url}
        if not accepted:
            self._count_drops(1)
            attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] = sc.DROPPED_STORE_UNAVAILABLE
            if not self.inline:
                attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] = False
            return kept, attributes
        base = f"{self.url}/{key}#"
        for name in structured:
            attributes[REFERENCE_NAMES.get(name, name + "_ref")] = base + name
        return kept, attributes

    # --- the writer thread ------------------------------------------------------------------------------
    def _write(self, key: str, data: bytes) -> None:
        if self._key is not None:
            data = _crypto.seal(self._key, data, key)
        filesystem = self._filesystem
        if filesystem is None:  # the first write in a forked child: a client of its own
            filesystem = self._filesystem = self._make_filesystem(fresh=True)[0]
        filesystem.pipe_file(f"{self._root}/{key}", data)

    def _reset_filesystem(self) -> None:
        # Inside the fork handler only drop the parent's client; the writer builds a new one when needed.
        self._filesystem = None

    def _count_drops(self, count: int) -> None:
        try:
            self._dropped.add(count, self._drop_attributes)
        except Exception:
            report_internal_error("counting content store drops")

    def flush(self, timeout: float | None = None) -> bool:
        return self.writer.flush(self.settings.flush_timeout_ms / 1000 if timeout is None else timeout)


_stores: dict[tuple[StoreSettings, Any], ContentStore] = {}
_stores_lock = threading.Lock()
# Bounded, so that an application instrumenting again and again with new meter providers (tests do) does
# not keep every provider alive; a store dropped from here lives on with the recorders that hold it.
_MAX_SHARED_STORES = 16


def open_store(settings: StoreSettings | None, meter_provider: Any = None) -> ContentStore | None:
    """The store for these settings (one per distinct settings, shared), or None after one warning."""
    if settings is None or settings.unusable:
        return None
    try:
        hash((settings, meter_provider))
    except TypeError:  # unhashable storage options: a store of its own
        return _open(settings, meter_provider)
    key = (settings, meter_provider)  # the drop counter belongs to the caller's meter provider
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _open(settings, meter_provider)
            if store is not None:
                _stores[key] = store
                while len(_stores) > _MAX_SHARED_STORES:
                    del _stores[next(iter(_stores))]
        return store


def _fallback(source: str, message: str) -> None:
    warn_setting_once(
        source,
        f"{message}; no content is captured (none goes inline where the store was to keep it out of)",
    )


def _open(settings: StoreSettings, meter_provider: Any) -> ContentStore | None:
    source = settings.url_source
    url = settings.url.strip()
    if not url:
        _fallback(source, f"{source} is empty")
        return None
    try:
        import fsspec.core
    except ImportError:
        _fallback(
            source, f"{source} needs fsspec: pip install 'genai-otel[store]' (and 'genai-otel[s3]' for S3)"
        )
        return None
    options = dict(settings.options)

    def make_filesystem(fresh: bool = False) -> tuple[Any, str]:
        extra: dict[str, Any] = {"skip_instance_cache": True} if fresh else {}
        filesystem, root = fsspec.core.url_to_fs(url, **options, **extra)
        if "file" in _protocols(filesystem):
            filesystem, root = fsspec.core.url_to_fs(url, auto_mkdir=True, **options, **extra)
        return filesystem, root

    try:
        _, root = make_filesystem()
    except ImportError as exc:
        _fallback(
            source,
            f"{source}={public_url(url)!r} needs a package that is not installed ({_error_text(exc, url)})",
        )
        return None
    except Exception as exc:
        _fallback(
            source,
            f"{source}={public_url(url)!r} is not a usable fsspec URL ({type(exc).__name__}: {_error_text(exc, url)})",
        )
        return None
    if not names_a_location(url, root):
        _fallback(source, f"{source}={shown_url(url)!r} names no bucket or directory")
        return None
    credentials = url_credentials(url)
    if credentials and credentials in root:
        # fsspec took them for part of the bucket or path (s3, file, memory do): they would be written
        # into every reference on every span.
        _fallback(
            source,
            f"{source}={shown_url(url)!r} holds credentials in the URL, which this filesystem reads as part of "
            "the path; give them in content_store_options (or the provider's own settings)",
        )
        return None
    keys = None
    if settings.keys:
        try:
            keys = _crypto.parse_keys(settings.keys)
            _crypto.check_available()
        except _crypto.KeySettingError as exc:
            _fallback(
                settings.key_source,
                f"{settings.key_source} is not usable ({exc}; use [id:]base64 of 32 bytes, comma-separated); the store is off",
            )
            return None
        except ImportError:
            _fallback(
                settings.key_source,
                f"{settings.key_source} needs cryptography: pip install 'genai-otel[store]'; the store is off",
            )
            return None
    if settings.raw and keys is None:
        warn_setting_once(
            settings.raw_source,
            f"{settings.raw_source}=true refused: raw content is stored only encrypted (set "
            f"{settings.key_source}); storing redacted content",
        )
        settings_used = replace(settings, raw=False)
    else:
        settings_used = settings
    try:
        store = ContentStore(settings_used, make_filesystem, keys, meter_provider)
    except Exception as exc:
        _fallback(
            source,
            f"{source}={public_url(url)!r} could not be opened ({type(exc).__name__}: {_error_text(exc, url)})",
        )
        return None
    return store


def _error_text(exc: BaseException, url: str) -> str:
    return scrub_secrets(without_credentials(str(exc), url))


def _protocols(filesystem: Any) -> tuple[str, ...]:
    protocol = filesystem.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
