"""Settings: ``instrument(...)`` keyword arguments first, then environment variables, then defaults.

A bad value is named in one warning (with the values that would have been accepted) and the safe
default is used instead; configuration never raises into the application. For content capture,
"safe" means capturing nothing: an unusable redaction setting drops content rather than recording it
unredacted.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from genai_otel._failsafe import warn_setting_once
from genai_otel.content import CaptureMode, ContentSettings
from genai_otel.content_store import StoreSettings
from genai_otel.cost import RateCard, load_rate_card
from genai_otel.redaction import BUILTIN_DETECTORS, PresidioRedactor, RedactionPolicy

TIME_PER_OUTPUT_CHUNK_ENV = "GENAI_OTEL_TIME_PER_OUTPUT_CHUNK"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CONTENT_MAX_LENGTH_ENV = "GENAI_OTEL_CONTENT_MAX_LENGTH"
CAPTURE_BINARY_ENV = "GENAI_OTEL_CAPTURE_BINARY"
HASH_INPUTS_ENV = "GENAI_OTEL_HASH_INPUTS"
HASH_KEY_ENV = "GENAI_OTEL_HASH_KEY"
REDACTION_POLICY_ENV = "GENAI_OTEL_REDACTION_POLICY"
REDACT_PATTERNS_ENV = "GENAI_OTEL_REDACT_PATTERNS"
REDACT_DISABLE_ENV = "GENAI_OTEL_REDACT_DISABLE"
REDACTOR_ENV = "GENAI_OTEL_REDACTOR"
REDACTION_TIMEOUT_ENV = "GENAI_OTEL_REDACTION_TIMEOUT_MS"
CALL_RECORDS_ENV = "GENAI_OTEL_CALL_RECORDS"
PREVIEW_CHARS_ENV = "GENAI_OTEL_PREVIEW_CHARS"
ACTIVE_REQUESTS_ENV = "GENAI_OTEL_ACTIVE_REQUESTS"
CONTENT_STORE_ENV = "GENAI_OTEL_CONTENT_STORE"
CONTENT_STORE_KEY_ENV = "GENAI_OTEL_CONTENT_STORE_KEY"
CONTENT_STORE_RAW_ENV = "GENAI_OTEL_CONTENT_STORE_RAW"
CONTENT_STORE_INLINE_ENV = "GENAI_OTEL_CONTENT_STORE_INLINE"
CONTENT_STORE_QUEUE_SIZE_ENV = "GENAI_OTEL_CONTENT_STORE_QUEUE_SIZE"
CONTENT_STORE_QUEUE_BYTES_ENV = "GENAI_OTEL_CONTENT_STORE_QUEUE_BYTES"
CONTENT_STORE_FLUSH_TIMEOUT_ENV = "GENAI_OTEL_CONTENT_STORE_FLUSH_TIMEOUT_MS"
STORE_ARGUMENTS = (
    "content_store",
    "content_store_options",
    "content_store_key",
    "content_store_raw",
    "content_store_inline",
    "content_store_queue_size",
    "content_store_queue_bytes",
    "content_store_flush_timeout_ms",
)

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def read_bool(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    warn_setting_once(
        name, f"{name}={value!r} is not a boolean (use true or false); using {str(default).lower()}"
    )
    return default


def read_positive_int(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number > 0:
        return number
    warn_setting_once(name, f"{name}={value!r} is not a positive integer; using {default}")
    return default


def read_capture_mode(value: Any, name: str) -> CaptureMode:
    """The current modes, case-insensitive, and the older true/false (true = SPAN_ONLY)."""
    if value is None:
        return CaptureMode.NO_CONTENT
    if isinstance(value, CaptureMode):
        return value
    if isinstance(value, bool):
        return CaptureMode.SPAN_ONLY if value else CaptureMode.NO_CONTENT
    text = str(value).strip().upper()
    if text in CaptureMode.__members__:
        return CaptureMode[text]
    if text.lower() in _TRUE:
        return CaptureMode.SPAN_ONLY
    if text.lower() in _FALSE or not text:
        return CaptureMode.NO_CONTENT
    valid = ", ".join([*CaptureMode.__members__, "true", "false"])
    warn_setting_once(name, f"{name}={value!r} is not a capture mode (valid: {valid}); capturing no content")
    return CaptureMode.NO_CONTENT


def _setting(kwargs: Mapping[str, Any], argument: str, env: str) -> tuple[Any, str]:
    """The value and the name to blame for it: the argument if given, else the environment variable."""
    if kwargs.get(argument) is not None:
        return kwargs[argument], f"instrument({argument}=...)"
    return os.environ.get(env), env


def _load_redactor(spec: Any, source: str) -> tuple[Callable[[str], str] | None, str | None]:
    """A callable, ``"presidio"`` or ``"module:function"`` -> (redactor, reason it is broken)."""
    if spec is None or spec == "":
        return None, None
    if callable(spec):
        return spec, None
    text = str(spec).strip()
    try:
        if text.lower() == "presidio":
            return PresidioRedactor(), None
        module, _, attribute = text.partition(":")
        redactor = getattr(importlib.import_module(module), attribute)
        if not callable(redactor):
            raise TypeError(f"{text} is not callable")
        return redactor, None
    except Exception as exc:
        warn_setting_once(
            source,
            f"{source}={text!r} could not be loaded ({exc}); content will be dropped, not recorded "
            "unredacted (use 'module:function' or 'presidio')",
        )
        return None, f"redactor {text!r} unavailable"


def _load_patterns(value: Any, source: str) -> tuple[dict[str, str], str | None]:
    if value is None or value == "":
        return {}, None
    try:
        patterns = json.loads(value) if isinstance(value, str) else dict(value)
        if not isinstance(patterns, dict):
            raise ValueError("not a JSON object")
        return {str(k): str(v) for k, v in patterns.items()}, None
    except (ValueError, TypeError) as exc:
        warn_setting_once(
            source,
            f"{source} is not a mapping of placeholder names to regular expressions ({exc}), e.g. "
            '\'{"ORDER_ID": "#A\\\\d{5}"}\'; content will be dropped, not recorded unredacted',
        )
        return {}, f"unreadable {source}"


def _load_disabled(value: Any, source: str) -> list[str]:
    if value is None:
        return []
    items = [
        s.strip().lower() for s in (value.split(",") if isinstance(value, str) else value) if str(s).strip()
    ]
    unknown = sorted(set(items) - set(BUILTIN_DETECTORS))
    if unknown:
        warn_setting_once(
            source, f"{source}: unknown detectors {unknown} ignored (known: {', '.join(BUILTIN_DETECTORS)})"
        )
    return [item for item in items if item in BUILTIN_DETECTORS]


def load_content_settings(kwargs: Mapping[str, Any]) -> ContentSettings:
    mode_value, mode_source = _setting(kwargs, "capture_message_content", CAPTURE_CONTENT_ENV)
    mode = read_capture_mode(mode_value, mode_source)
    hash_value, hash_source = _setting(kwargs, "hash_inputs", HASH_INPUTS_ENV)
    key_value, _ = _setting(kwargs, "hash_key", HASH_KEY_ENV)
    hash_key = key_value.encode() if isinstance(key_value, str) and key_value else key_value or None
    # Built in every mode: exception messages are content, and pass this gate even with capture off.
    policy = _load_policy(kwargs)
    store = _load_store_settings(kwargs) if mode is not CaptureMode.NO_CONTENT else None
    length_value, length_source = _setting(kwargs, "content_max_length", CONTENT_MAX_LENGTH_ENV)
    binary_value, binary_source = _setting(kwargs, "capture_binary", CAPTURE_BINARY_ENV)
    return ContentSettings(
        mode=mode,
        max_length=read_positive_int(length_value, length_source, 16384),
        capture_binary=read_bool(binary_value, binary_source, False),
        hash_inputs=read_bool(hash_value, hash_source, True),
        hash_key=hash_key if isinstance(hash_key, bytes) else None,
        policy=policy,
        store=store,
    )


def _load_store_settings(kwargs: Mapping[str, Any]) -> StoreSettings | None:
    url, url_source = _setting(kwargs, "content_store", CONTENT_STORE_ENV)
    if url is None or str(url).strip() == "":
        return None
    keys, key_source = _setting(kwargs, "content_store_key", CONTENT_STORE_KEY_ENV)
    raw, raw_source = _setting(kwargs, "content_store_raw", CONTENT_STORE_RAW_ENV)
    inline, inline_source = _setting(kwargs, "content_store_inline", CONTENT_STORE_INLINE_ENV)
    size, size_source = _setting(kwargs, "content_store_queue_size", CONTENT_STORE_QUEUE_SIZE_ENV)
    memory, memory_source = _setting(kwargs, "content_store_queue_bytes", CONTENT_STORE_QUEUE_BYTES_ENV)
    flush, flush_source = _setting(kwargs, "content_store_flush_timeout_ms", CONTENT_STORE_FLUSH_TIMEOUT_ENV)
    options = kwargs.get("content_store_options") or {}
    if not isinstance(options, Mapping):
        warn_setting_once(
            "content_store_options", "instrument(content_store_options=...) is not a mapping; ignored"
        )
        options = {}
    defaults = StoreSettings(url="")
    return StoreSettings(
        url=str(url),
        options=tuple(sorted((str(k), v) for k, v in options.items())),
        keys=str(keys) if keys else None,
        raw=read_bool(raw, raw_source, False),
        inline=read_bool(inline, inline_source, False),
        queue_size=read_positive_int(size, size_source, defaults.queue_size),
        queue_bytes=read_positive_int(memory, memory_source, defaults.queue_bytes),
        flush_timeout_ms=read_positive_int(flush, flush_source, defaults.flush_timeout_ms),
        url_source=url_source,
        key_source=key_source,
        raw_source=raw_source,
    )


def _load_policy(kwargs: Mapping[str, Any]) -> RedactionPolicy:
    name_value, _ = _setting(kwargs, "redaction_policy", REDACTION_POLICY_ENV)
    patterns_value, patterns_source = _setting(kwargs, "redact_patterns", REDACT_PATTERNS_ENV)
    disabled_value, disabled_source = _setting(kwargs, "redact_disable", REDACT_DISABLE_ENV)
    redactor_value, redactor_source = _setting(kwargs, "redactor", REDACTOR_ENV)
    timeout_value, timeout_source = _setting(kwargs, "redaction_timeout_ms", REDACTION_TIMEOUT_ENV)
    patterns, patterns_broken = _load_patterns(patterns_value, patterns_source)
    custom, custom_broken = _load_redactor(redactor_value, redactor_source)
    policy = RedactionPolicy(
        name=str(name_value or "default"),
        disabled=_load_disabled(disabled_value, disabled_source),
        patterns=patterns,
        custom=custom,
        custom_timeout=read_positive_int(timeout_value, timeout_source, 100) / 1000,
        broken=patterns_broken or custom_broken,
    )
    if policy.broken and not (patterns_broken or custom_broken):
        warn_setting_once(
            patterns_source,
            f"{patterns_source}: {policy.broken}; content will be dropped, not recorded unredacted",
        )
    return policy


@dataclass(frozen=True)
class Settings:
    # None: the resolver reads GENAI_OTEL_PROVIDER_MAP itself (see genai_otel.providers).
    provider_map: Mapping[str, str] | str | None = None
    # Semconv records one time_per_output_chunk point per chunk. The SDK's cost per point is many
    # times our whole per-chunk cost (docs/performance.md), and an SDK View that drops the metric
    # does not save it; this switch does.
    time_per_output_chunk: bool = True
    content: ContentSettings = field(default_factory=ContentSettings)
    rate_card: RateCard | None = None
    # One gen_ai.client.inference.operation.details log record per call (docs/telemetry.md).
    call_records: bool = False
    # First N characters of the output text, redacted, on the span and the call record; 0 is off.
    preview_chars: int = 0
    # The genai_otel.client.active_requests up-down counter: two SDK calls per call, hence opt-in.
    active_requests: bool = False

    @classmethod
    def load(cls, **kwargs: Any) -> Settings:
        chunk_value, chunk_source = _setting(kwargs, "time_per_output_chunk", TIME_PER_OUTPUT_CHUNK_ENV)
        records_value, records_source = _setting(kwargs, "call_records", CALL_RECORDS_ENV)
        preview_value, preview_source = _setting(kwargs, "preview_chars", PREVIEW_CHARS_ENV)
        active_value, active_source = _setting(kwargs, "active_requests", ACTIVE_REQUESTS_ENV)
        preview_chars = 0
        if preview_value is not None and str(preview_value).strip() not in ("", "0"):
            preview_chars = read_positive_int(preview_value, preview_source, 0)
        content = load_content_settings(kwargs)
        if preview_chars and content.policy is None:
            # The preview passes the same redaction gate as captured content, with the user's policy.
            content = replace(content, policy=_load_policy(kwargs))
        return cls(
            provider_map=kwargs.get("provider_map"),
            time_per_output_chunk=read_bool(chunk_value, chunk_source, True),
            content=content,
            rate_card=load_rate_card(kwargs.get("rate_card")),
            call_records=read_bool(records_value, records_source, False),
            preview_chars=preview_chars,
            active_requests=read_bool(active_value, active_source, False),
        )


__all__ = ["Settings", "load_content_settings", "read_bool", "read_capture_mode"]
