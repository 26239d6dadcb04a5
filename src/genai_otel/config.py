"""Settings: ``instrument(...)`` keyword arguments first, then environment variables, then defaults.

Every setting is read on its own by one of the typed readers below (``read_bool``, ``read_int``,
``read_choice``, ``read_text``, ``read_names``, ``read_mapping``, ``read_provider``, ``read_hash_key``).
A reader never raises: a bad value is named in one warning (per setting, per process) that says what
was wrong and what is used instead, and the rest of the configuration still applies. Values that may
be secret (keys) or hold paths (redactor specs, rate-card files) are described by their type only.
Numbers outside their documented range are clamped to it. For content capture, "instead" means the
safe side: an unusable redaction setting drops content rather than recording it unredacted, and an
unusable hash key turns hashing off rather than falling back to a guessable unkeyed hash.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from genai_otel._failsafe import warn_setting_once
from genai_otel.content import CaptureMode, ContentSettings
from genai_otel.content_store import StoreSettings
from genai_otel.cost import RATE_CARD_ENV, RateCard
from genai_otel.redaction import BUILTIN_DETECTORS, PresidioRedactor, RedactionPolicy, pattern_problem

TIME_PER_OUTPUT_CHUNK_ENV = "GENAI_OTEL_TIME_PER_OUTPUT_CHUNK"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# opentelemetry-util-genai's own switches, read as it reads them (1.3b0), so that a deployment configured for
# the official instrumentations gets no event, or no inline content, where it asked for none.
EMIT_EVENT_ENV = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"
COMPLETION_HOOK_ENV = "OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK"
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
SERVER_METRICS_ENV = "GENAI_OTEL_SERVER_METRICS"
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

# The content-capture arguments, taken by instrument() and by configure_product() alike.
CONTENT_ARGUMENTS = frozenset(
    {
        "capture_message_content",
        "content_max_length",
        "capture_binary",
        "hash_inputs",
        "hash_key",
        "redaction_policy",
        "redact_patterns",
        "redact_disable",
        "redactor",
        "redaction_timeout_ms",
        *STORE_ARGUMENTS,
    }
)

# Documented ranges (README, Configuration): values outside are clamped, with a warning.
CONTENT_MAX_LENGTH_RANGE = (1, 1_048_576)
REDACTION_TIMEOUT_MS_RANGE = (1, 60_000)  # far below threading.TIMEOUT_MAX; a call waits at most this
PREVIEW_CHARS_RANGE = (0, 16384)  # 0 is off
CONTENT_STORE_QUEUE_SIZE_RANGE = (1, 1_000_000)
CONTENT_STORE_QUEUE_BYTES_RANGE = (1, 4 * 1024**3)
CONTENT_STORE_FLUSH_TIMEOUT_MS_RANGE = (1, 60_000)

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})

T = TypeVar("T")
R = TypeVar("R", bound=Callable[..., Any])


# --- the readers --------------------------------------------------------------------------------------------
def shown(value: Any, secret: bool = False) -> str:
    """``value`` as a warning may show it: a short repr of a scalar, else (or if secret) only its type."""
    if secret or not isinstance(value, (str, int, float)):
        return f"a {type(value).__name__}"
    text = repr(value)  # repr escapes control characters and lone surrogates: the log stays encodable
    return text if len(text) <= 60 else f"{text[:56]}...{text[-1]}"


def described(name: str, value: Any, secret: bool = False) -> str:
    """The setting and its value for a warning: ``instrument(x=5)``, ``instrument(x=<list>)``,
    ``ENV='text'``, ``ENV=<str>`` (the type only for non-scalars and secrets)."""
    scalar = isinstance(value, (str, int, float)) and not secret
    text = shown(value) if scalar else f"<{type(value).__name__}>"
    if name.endswith("=...)"):
        return f"{name[:-4]}{text})"
    return f"{name}={text}"


def warn_unknown_arguments(function: str, names: Iterable[Any], hint: str = "") -> None:
    """One warning naming the arguments ``function`` does not take: at most ten, each shown short and
    escaped (a name can be any string, through ``**mapping``)."""
    listed = [shown(name) for name in sorted(names, key=str)]
    text = ", ".join(listed[:10]) + (f", ... ({len(listed)} in all)" if len(listed) > 10 else "")
    warn_setting_once(f"{function}:unknown:{text}", f"{function}: unknown settings [{text}] ignored{hint}")


def _never_raises(reader: R) -> R:
    """Last line of defence for a reader: a fault while reading one setting costs that setting only."""

    @functools.wraps(reader)
    def read(value: Any, name: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return reader(value, name, default, *args, **kwargs)
        except Exception as exc:
            warn_setting_once(
                name,
                f"{described(name, value, secret=True)} could not be read ({type(exc).__name__}); using the default",
            )
            return default

    return read  # type: ignore[return-value]


@_never_raises
def read_bool(value: Any, name: str, default: bool, shown_default: str | None = None) -> bool:
    """``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off`` (any case) or a bool.
    ``shown_default``: how the warning names the default, when it depends on other settings."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)):
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    warn_setting_once(
        name,
        f"{described(name, value)} is not a boolean (use true or false); "
        f"using {shown_default or str(default).lower()}",
    )
    return default


@_never_raises
def read_int(value: Any, name: str, default: int, minimum: int, maximum: int) -> int:
    """An integer (or its text) in ``[minimum, maximum]``; outside it, clamped to the nearer bound."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        number = _integer_text(value.strip(), minimum, maximum)
    if number is None:
        warn_setting_once(
            name, f"{described(name, value)} is not an integer ({minimum} to {maximum}); using {default}"
        )
        return default
    if number < minimum:
        warn_setting_once(name, f"{described(name, value)} is below the minimum {minimum}; using {minimum}")
        return minimum
    if number > maximum:
        warn_setting_once(name, f"{described(name, value)} is above the maximum {maximum}; using {maximum}")
        return maximum
    return number


# What int() takes from text: decimal digits of any script, single underscores between them, a sign.
_INTEGER_TEXT = re.compile(r"[+-]?\d+(?:_\d+)*")
_INT_DIGITS = 4000  # int() refuses more than sys.get_int_max_str_digits() (4300 by default)


def _integer_text(text: str, minimum: int, maximum: int) -> int | None:
    """The integer ``text`` spells, or None. One with more significant digits than int() converts is
    beyond any range of ours: a number just past the bound on its side, so that it is clamped like others."""
    if not _INTEGER_TEXT.fullmatch(text):
        return None
    digits = text.lstrip("+-").replace("_", "")
    first = next(
        (index for index, digit in enumerate(digits) if unicodedata.decimal(digit) != 0), len(digits)
    )
    significant = digits[first:]  # leading zeros count towards int()'s limit, not towards the value
    negative = text.startswith("-")
    if len(significant) > _INT_DIGITS:
        return minimum - 1 if negative else maximum + 1
    number = int(significant or "0")
    return -number if negative else number


def read_positive_int(value: Any, name: str, default: int, maximum: int = 2**31 - 1) -> int:
    """:func:`read_int` from 1 to ``maximum``."""
    return read_int(value, name, default, 1, maximum)


@_never_raises
def read_choice(
    value: Any, name: str, default: T, choices: Mapping[str, T], fallback: str = "", valid: str = ""
) -> T:
    """One of ``choices`` (keys compared case-insensitively; an empty text is the default). ``valid``:
    how the warning lists what is accepted, when the keys alone would misstate it."""
    if value is None:
        return default
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return default
        for key, choice in choices.items():
            if key.lower() == text:
                return choice
    warn_setting_once(
        name,
        f"{described(name, value)} is not one of {valid or ', '.join(choices)}; "
        f"{fallback or f'using {default!r}'}",
    )
    return default


@_never_raises
def read_text(
    value: Any,
    name: str,
    default: str,
    pattern: re.Pattern[str] | None = None,
    expected: str = "a printable text",
    max_length: int = 256,
) -> str:
    """A printable string (stripped), at most ``max_length`` long and matching ``pattern`` if given."""
    if value is None:
        return default
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return default
        if len(text) <= max_length and text.isprintable() and (pattern is None or pattern.match(text)):
            return text
    warn_setting_once(
        name,
        f"{described(name, value)} is not {expected} (at most {max_length} characters); using {default!r}",
    )
    return default


@_never_raises
def read_names(
    value: Any,
    name: str,
    default: tuple[str, ...],
    valid: Callable[[str], bool] = bool,
    expected: str = "names",
    normalize: Callable[[str], str] = str.strip,
) -> tuple[str, ...]:
    """Comma-separated text or an iterable of strings; items failing ``valid`` are dropped, in one warning."""
    if value is None:
        return default
    if isinstance(value, str):
        if not value.strip():
            return default
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
    else:
        warn_setting_once(
            name,
            f"{described(name, value)} is not comma-separated text or a list of {expected}; "
            f"using {', '.join(default) or 'none'}",
        )
        return default
    names: list[str] = []
    ignored: list[str] = []
    for item in items:
        if not isinstance(item, str):
            ignored.append(f"<{type(item).__name__}>")
            continue
        text = normalize(item)
        if not text:
            continue
        if valid(text) and text.isprintable():
            if text not in names:
                names.append(text)
        else:
            ignored.append(shown(text))
    if ignored:
        warn_setting_once(name, f"{name}: ignored {', '.join(ignored)}, not {expected}; the others apply")
    return tuple(names)


def _json_object(text: str) -> tuple[Mapping[Any, Any] | None, list[str]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, [f"not JSON ({type(exc).__name__} at position {getattr(exc, 'pos', '?')})"]
    if not isinstance(data, dict):
        kind = "null" if data is None else f"a {type(data).__name__}"
        return None, [f"JSON holding {kind}, not an object"]
    return data, []


@_never_raises
def read_mapping(
    value: Any,
    name: str,
    default: T,
    expected: str,
    fallback: str,
    parse_text: Callable[[str], tuple[Mapping[Any, Any] | None, list[str]]] = _json_object,
    check_entry: Callable[[str, str], str | None] | None = None,
    strict: bool = False,
) -> dict[str, str] | T:
    """A mapping of strings to strings, or text ``parse_text`` turns into one (JSON by default).

    Bad entries (not strings, or failing ``check_entry``) are dropped, all named in one warning; with
    ``strict`` one bad entry makes the whole value unusable. Nothing given: ``{}``; an unusable value:
    ``default``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}  # nothing given: no entries
    problems: list[str] = []
    if isinstance(value, str):
        data, problems = parse_text(value)
    elif isinstance(value, Mapping):
        data = value
    else:
        warn_setting_once(
            name, f"{described(name, value)} is not a mapping or text of {expected}; {fallback}"
        )
        return default
    entries: dict[str, str] = {}
    if data is not None:
        for key, item in list(data.items()):
            if not isinstance(key, str) or not isinstance(item, str):
                problems.append(f"entry {shown(key)}: <{type(item).__name__}>, not a string")
                continue
            problem = check_entry(key, item) if check_entry is not None else None
            if problem is not None:
                problems.append(problem)
            else:
                entries[key] = item
    if not problems:
        return entries
    usable = data is not None and not strict
    warn_setting_once(
        name,
        f"{name} is not {expected}: {'; '.join(problems[:5])}{' ...' if len(problems) > 5 else ''}; "
        + (f"the other entries apply ({fallback} for these)" if usable else fallback),
    )
    return entries if usable else default


@_never_raises
def read_provider(value: Any, name: str, default: Any, method: str, kind: str) -> Any:
    """An OpenTelemetry provider: an object with a callable ``method`` (``get_tracer``, ...)."""
    if value is None or callable(getattr(value, method, None)):
        return value if value is not None else default
    warn_setting_once(
        name,
        f"{described(name, value, secret=True)} is not a {kind} (it has no {method}()); using the global one",
    )
    return default


def read_hash_key(value: Any, name: str) -> tuple[bytes | None, bool]:
    """(key, usable). Text is taken as UTF-8, and the bytes os.environ could not decode are restored
    (``surrogateescape``), so a key set as raw bytes in the environment is used as those bytes. Bytes,
    bytearray and memoryview are keys as they are. Anything else is unusable.

    Empty or only whitespace (an unset secret in a padded template) is no key, as for every other setting:
    such a key is known to everyone. A key with text in it is used byte for byte, surrounding whitespace
    included (a trailing newline from a key file changes the hashes, not their secrecy; stripping it would
    change the hashes of a deployment that has always used it)."""
    try:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None, True
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape"), True
        if isinstance(value, (bytes, bytearray, memoryview)):
            key = bytes(value)
            return (key, True) if key.strip() else (None, True)
        problem = "is not a key (use text or bytes)"
    except (UnicodeError, ValueError, TypeError):
        problem = "cannot be encoded as bytes"
    warn_setting_once(
        name,
        f"{described(name, value, secret=True)} {problem}; input hashing is off "
        "(no genai_otel.*.hash attributes) rather than an unkeyed, guessable hash",
    )
    return None, False


def read_capture_mode(value: Any, name: str) -> CaptureMode:
    """One of the four modes or the older ``true``/``false`` (true = SPAN_ONLY), any case, stripped; a bool.

    Not the generic booleans of :func:`read_bool`: ``1``, ``yes`` or ``on`` turn content on nowhere else
    (util-genai takes the modes only, openai-v2 ``true`` only), so they are a bad value, and content stays off."""
    if isinstance(value, CaptureMode):
        return value
    if isinstance(value, bool):
        return CaptureMode.SPAN_ONLY if value else CaptureMode.NO_CONTENT
    return read_choice(
        value,
        name,
        CaptureMode.NO_CONTENT,
        _CAPTURE_CHOICES,
        "capturing no content",
        valid=f"{', '.join(mode.value for mode in CaptureMode)} (any case), or the older true/false",
    )


_CAPTURE_CHOICES: Mapping[str, CaptureMode] = {
    **{mode.value: mode for mode in CaptureMode},
    "true": CaptureMode.SPAN_ONLY,
    "false": CaptureMode.NO_CONTENT,
}


# --- where a value comes from -------------------------------------------------------------------------------
def setting(
    kwargs: Mapping[str, Any], argument: str, env: str, function: str = "instrument"
) -> tuple[Any, str]:
    """The value and the name to blame for it: the argument if given (not None), else the environment
    variable (None when unset)."""
    if kwargs.get(argument) is not None:
        return kwargs[argument], f"{function}({argument}=...)"
    return os.environ.get(env), env


_setting = setting

_DROPPED = "content will be dropped, not recorded unredacted"


# --- content capture ----------------------------------------------------------------------------------------
def _load_redactor(spec: Any, source: str) -> tuple[Callable[[str], str] | None, str | None]:
    """A callable, ``"presidio"`` or ``"module:function"`` -> (redactor, reason it is broken)."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None, None
    if callable(spec):
        return spec, None
    if not isinstance(spec, str):
        warn_setting_once(
            source,
            f"{described(source, spec, secret=True)} is not a callable, 'module:function' or 'presidio'; {_DROPPED}",
        )
        return None, "redactor unusable"
    text = spec.strip()
    try:
        if text.lower() == "presidio":
            return PresidioRedactor(), None
        module, _, attribute = text.partition(":")
        redactor = getattr(importlib.import_module(module), attribute)
        if not callable(redactor):
            raise TypeError("not callable")
        return redactor, None
    except Exception as exc:  # the spec may hold a path or a module name: name the failure, not the text
        warn_setting_once(
            source,
            f"{source}: the redactor could not be loaded ({type(exc).__name__}); {_DROPPED} "
            "(use 'module:function' or 'presidio')",
        )
        return None, "redactor unavailable"


def _load_policy(kwargs: Mapping[str, Any], function: str) -> RedactionPolicy:
    name_value, name_source = setting(kwargs, "redaction_policy", REDACTION_POLICY_ENV, function)
    patterns_value, patterns_source = setting(kwargs, "redact_patterns", REDACT_PATTERNS_ENV, function)
    disabled_value, disabled_source = setting(kwargs, "redact_disable", REDACT_DISABLE_ENV, function)
    redactor_value, redactor_source = setting(kwargs, "redactor", REDACTOR_ENV, function)
    timeout_value, timeout_source = setting(kwargs, "redaction_timeout_ms", REDACTION_TIMEOUT_ENV, function)
    patterns = read_mapping(
        patterns_value,
        patterns_source,
        None,
        expected='a mapping of placeholder names to regular expressions (e.g. {"ORDER_ID": "#A\\\\d{5}"})',
        fallback=_DROPPED,
        check_entry=pattern_problem,
        strict=True,
    )
    custom, custom_broken = _load_redactor(redactor_value, redactor_source)
    disabled = read_names(
        disabled_value,
        disabled_source,
        (),
        valid=BUILTIN_DETECTORS.__contains__,
        expected=f"built-in detector names ({', '.join(BUILTIN_DETECTORS)})",
        normalize=lambda item: item.strip().lower(),
    )
    timeout_ms = read_int(timeout_value, timeout_source, 100, *REDACTION_TIMEOUT_MS_RANGE)
    policy = RedactionPolicy(
        name=read_text(
            name_value,
            name_source,
            "default",
            expected="a printable policy name",
            max_length=128,
        ),
        disabled=disabled,
        patterns=patterns or {},
        custom=custom,
        custom_timeout=timeout_ms / 1000,
        broken=("unreadable patterns" if patterns is None else None) or custom_broken,
    )
    if policy.broken and patterns is not None and not custom_broken:
        warn_setting_once(patterns_source, f"{patterns_source}: {policy.broken}; {_DROPPED}")
    return policy


def load_content_settings(kwargs: Mapping[str, Any], function: str = "instrument") -> ContentSettings:
    """The content-capture settings of ``function`` (``instrument`` or ``configure_product``); never raises."""
    try:
        return _content_settings(kwargs, function)
    except Exception as exc:  # a bug of ours: the safe side is no content and no hash
        warn_setting_once(
            f"{function}:content",
            f"{function}: content settings could not be read ({type(exc).__name__}); capturing no content "
            "and no hashes",
        )
        return ContentSettings(hash_inputs=False)


def _content_settings(kwargs: Mapping[str, Any], function: str) -> ContentSettings:
    mode = read_capture_mode(*setting(kwargs, "capture_message_content", CAPTURE_CONTENT_ENV, function))
    hash_inputs, hash_key = _hashing(kwargs, function)
    length_value, length_source = setting(kwargs, "content_max_length", CONTENT_MAX_LENGTH_ENV, function)
    binary_value, binary_source = setting(kwargs, "capture_binary", CAPTURE_BINARY_ENV, function)
    # Built in every mode: exception messages are content, and pass this gate even with capture off.
    try:
        policy = _load_policy(kwargs, function)
    except Exception as exc:
        warn_setting_once(
            f"{function}:redaction",
            f"{function}: redaction settings could not be read ({type(exc).__name__}); {_DROPPED}",
        )
        policy = RedactionPolicy(broken="redaction settings unreadable")
    store = _load_store_settings(kwargs, function) if mode is not CaptureMode.NO_CONTENT else None
    hook = os.environ.get(COMPLETION_HOOK_ENV)
    if hook and hook.strip() and mode is not CaptureMode.NO_CONTENT:
        # util-genai would upload the content through the hook and keep it off spans and events; we run no
        # hooks, so inline content would land exactly where it was meant not to.
        if store is None:
            warn_setting_once(
                f"{COMPLETION_HOOK_ENV}:no store",
                f"{COMPLETION_HOOK_ENV} is set, but genai-otel runs no util-genai completion hooks: capturing no "
                "content rather than putting it inline; to keep content out of the telemetry, use "
                "GENAI_OTEL_CONTENT_STORE (docs/content-capture.md#the-content-store)",
            )
            mode, store = CaptureMode.NO_CONTENT, None
        elif not store.unusable:  # an unusable store's own warning says that no content is captured
            warn_setting_once(
                f"{COMPLETION_HOOK_ENV}:ignored",
                f"{COMPLETION_HOOK_ENV} is ignored (genai-otel runs no util-genai completion hooks): content "
                "goes to GENAI_OTEL_CONTENT_STORE",
            )
    return ContentSettings(
        mode=mode,
        max_length=read_int(length_value, length_source, 16384, *CONTENT_MAX_LENGTH_RANGE),
        capture_binary=read_bool(binary_value, binary_source, False),
        hash_inputs=hash_inputs,
        hash_key=hash_key,
        policy=policy,
        store=store,
    )


def _hashing(kwargs: Mapping[str, Any], function: str) -> tuple[bool, bytes | None]:
    """(hash inputs, key): the one rule for input hashing. A hash is derived from content, so it is
    exported only when asked for: by default only with a usable key (an HMAC nobody without the key can
    reproduce); an explicit true without a key is a plain, guessable SHA-256 the user opted into; an
    unusable key turns hashing off even when asked for, never falling back to an unkeyed hash."""
    key_value, key_source = setting(kwargs, "hash_key", HASH_KEY_ENV, function)
    hash_key, key_usable = read_hash_key(key_value, key_source)
    keyed = hash_key is not None
    default = (
        "true (the default when a hash key is set: keyed HMAC-SHA-256 hashes)"
        if keyed
        else "false (the default without a usable hash key: no input hashes)"
    )
    asked = read_bool(*setting(kwargs, "hash_inputs", HASH_INPUTS_ENV, function), keyed, default)
    return asked and key_usable, hash_key


_UNUSABLE_STORE = StoreSettings(url="", unusable=True)


def _load_store_settings(kwargs: Mapping[str, Any], function: str) -> StoreSettings | None:
    """The content store's settings, or None for no store. The URL and keys may hold credentials: a
    warning gives their type only (the store names what it cannot open, credentials removed)."""
    url, url_source = setting(kwargs, "content_store", CONTENT_STORE_ENV, function)
    if url is None or (isinstance(url, str) and not url.strip()):
        return None
    no_store = "no content is captured (none goes inline where the store was to keep it out of)"
    try:
        url = os.fspath(url) if isinstance(url, os.PathLike) else url
        if not isinstance(url, str):
            warn_setting_once(
                url_source, f"{described(url_source, url, secret=True)} is not a URL or path; {no_store}"
            )
            return _UNUSABLE_STORE
        keys, key_source = setting(kwargs, "content_store_key", CONTENT_STORE_KEY_ENV, function)
        if keys is not None and not isinstance(keys, str):
            warn_setting_once(
                key_source,
                f"{described(key_source, keys, secret=True)} is not text ([id:]base64 of 32 bytes, comma-separated); "
                f"{no_store}",
            )
            return _UNUSABLE_STORE
        raw, raw_source = setting(kwargs, "content_store_raw", CONTENT_STORE_RAW_ENV, function)
        inline, inline_source = setting(kwargs, "content_store_inline", CONTENT_STORE_INLINE_ENV, function)
        size, size_source = setting(
            kwargs, "content_store_queue_size", CONTENT_STORE_QUEUE_SIZE_ENV, function
        )
        memory, memory_source = setting(
            kwargs, "content_store_queue_bytes", CONTENT_STORE_QUEUE_BYTES_ENV, function
        )
        flush, flush_source = setting(
            kwargs, "content_store_flush_timeout_ms", CONTENT_STORE_FLUSH_TIMEOUT_ENV, function
        )
        options_source = f"{function}(content_store_options=...)"
        options = kwargs.get("content_store_options")
        if options is not None and not isinstance(options, Mapping):
            warn_setting_once(
                options_source, f"{described(options_source, options, secret=True)} is not a mapping; ignored"
            )
            options = None
        defaults = StoreSettings(url="")
        return StoreSettings(
            url=url,
            options=tuple(sorted((str(k), v) for k, v in (options or {}).items())),
            keys=keys or None,
            raw=read_bool(raw, raw_source, False),
            inline=read_bool(inline, inline_source, False),
            queue_size=read_int(size, size_source, defaults.queue_size, *CONTENT_STORE_QUEUE_SIZE_RANGE),
            queue_bytes=read_int(
                memory, memory_source, defaults.queue_bytes, *CONTENT_STORE_QUEUE_BYTES_RANGE
            ),
            flush_timeout_ms=read_int(
                flush, flush_source, defaults.flush_timeout_ms, *CONTENT_STORE_FLUSH_TIMEOUT_MS_RANGE
            ),
            url_source=url_source,
            key_source=key_source,
            raw_source=raw_source,
        )
    except Exception as exc:  # e.g. storage options whose keys cannot be read
        warn_setting_once(
            f"{function}:content_store",
            f"{function}: content store settings could not be read ({type(exc).__name__}); {no_store}",
        )
        return _UNUSABLE_STORE


# --- rate card --------------------------------------------------------------------------------
def read_rate_card(value: Any, name: str = "instrument(rate_card=...)") -> RateCard | None:
    """A RateCard, a mapping, or the path of a JSON file; else ``GENAI_OTEL_RATE_CARD``. A card that cannot
    be used is named in one warning and no cost is recorded; a bad model entry costs only that model."""
    if value is None:
        value, name = os.environ.get(RATE_CARD_ENV), RATE_CARD_ENV
    try:
        return _read_rate_card(value, name)
    except Exception as exc:
        warn_setting_once(
            name,
            f"{described(name, value, secret=True)} could not be read ({type(exc).__name__}); no cost is recorded",
        )
        return None


def _read_rate_card(value: Any, name: str) -> RateCard | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (str, os.PathLike)):  # a path: named by its failure, never shown
        try:
            handle = open(value, encoding="utf-8")  # noqa: SIM115 - closed below
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            warn_setting_once(
                name, f"{name}: the rate card file could not be opened ({reason}); no cost is recorded"
            )
            return None
        try:
            with handle:
                data = json.load(handle)
        except (OSError, ValueError, RecursionError) as exc:
            warn_setting_once(
                name,
                f"{name}: the rate card file is not UTF-8 JSON ({type(exc).__name__}); no cost is recorded",
            )
            return None
    elif isinstance(value, (Mapping, RateCard)):
        data = value
    else:
        warn_setting_once(
            name,
            f"{described(name, value, secret=True)} is not a path, a mapping or a RateCard; no cost is recorded",
        )
        return None
    card, problems = RateCard.parse(data)
    if problems:
        listed = "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else "")
        outcome = "those models get no cost, the others do" if card is not None else "no cost is recorded"
        warn_setting_once(name, f"{name}: {listed}; {outcome}")
    return card


# --- all of instrument()'s settings -------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    # The user's rules for gen_ai.provider.name, read (and warned about) by genai_otel.providers; None: the
    # GENAI_OTEL_PROVIDER_MAP variable.
    provider_map: Any = None
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
    # The gen_ai.server.* metrics from the timings a server reports (Ollama). Semconv defines them for
    # model servers, not clients; two more points per call, hence opt-in (the timings stay on the span).
    server_metrics: bool = False
    # None: the global providers.
    tracer_provider: Any = None
    meter_provider: Any = None
    logger_provider: Any = None

    @classmethod
    def load(cls, **kwargs: Any) -> Settings:
        """Each setting read on its own; never raises. An argument instrument() does not take (a typo, or
        another instrumentation's) is named in one warning: silently ignored, it would look applied."""
        unknown = set(kwargs) - INSTRUMENT_ARGUMENTS
        if unknown:
            hint = (
                " (genai-otel emits its events through logger_provider)"
                if "event_logger_provider" in unknown
                else ""
            )
            warn_unknown_arguments("instrument", unknown, hint)
        chunk_value, chunk_source = setting(kwargs, "time_per_output_chunk", TIME_PER_OUTPUT_CHUNK_ENV)
        # util-genai's switch for the gen_ai.client.inference.operation.details event, which our call
        # records are: true turns them on by default, false off; ours, more specific, wins when given.
        emit_event: bool | None = read_choice(
            os.environ.get(EMIT_EVENT_ENV),
            EMIT_EVENT_ENV,
            None,
            {"true": True, "false": False},
            "using the default (the event only in event capture modes)",
            valid="true, false (any case)",
        )
        records_value, records_source = setting(kwargs, "call_records", CALL_RECORDS_ENV)
        records_default = bool(emit_event)
        call_records = read_bool(
            records_value,
            records_source,
            records_default,
            f"{str(records_default).lower()} (the default{f' with {EMIT_EVENT_ENV}' if emit_event else ''})",
        )
        content = load_content_settings(kwargs)
        if emit_event is False and not call_records and content.mode.on_events:
            # No details event at all: EVENT_ONLY content goes nowhere, SPAN_AND_EVENT keeps the spans'.
            on_spans = content.mode.on_spans
            content = dataclasses.replace(
                content,
                mode=CaptureMode.SPAN_ONLY if on_spans else CaptureMode.NO_CONTENT,
                store=content.store if on_spans else None,
            )
        preview_value, preview_source = setting(kwargs, "preview_chars", PREVIEW_CHARS_ENV)
        active_value, active_source = setting(kwargs, "active_requests", ACTIVE_REQUESTS_ENV)
        server_value, server_source = setting(kwargs, "server_metrics", SERVER_METRICS_ENV)
        return cls(
            provider_map=kwargs.get("provider_map"),
            time_per_output_chunk=read_bool(chunk_value, chunk_source, True),
            content=content,
            rate_card=read_rate_card(kwargs.get("rate_card")),
            call_records=call_records,
            preview_chars=read_int(preview_value, preview_source, 0, *PREVIEW_CHARS_RANGE),
            active_requests=read_bool(active_value, active_source, False),
            server_metrics=read_bool(server_value, server_source, False),
            tracer_provider=read_provider(
                kwargs.get("tracer_provider"),
                "instrument(tracer_provider=...)",
                None,
                "get_tracer",
                "TracerProvider",
            ),
            meter_provider=read_provider(
                kwargs.get("meter_provider"),
                "instrument(meter_provider=...)",
                None,
                "get_meter",
                "MeterProvider",
            ),
            logger_provider=read_provider(
                kwargs.get("logger_provider"),
                "instrument(logger_provider=...)",
                None,
                "get_logger",
                "LoggerProvider",
            ),
        )


# Every argument instrument() takes (BaseInstrumentor takes skip_dep_check and raise_exception_on_conflict
# itself, before they get here).
INSTRUMENT_ARGUMENTS = (frozenset(Settings.__dataclass_fields__) - {"content"}) | CONTENT_ARGUMENTS


__all__ = [
    "CONTENT_ARGUMENTS",
    "INSTRUMENT_ARGUMENTS",
    "Settings",
    "described",
    "load_content_settings",
    "read_bool",
    "read_capture_mode",
    "read_choice",
    "read_hash_key",
    "read_int",
    "read_mapping",
    "read_names",
    "read_positive_int",
    "read_provider",
    "read_rate_card",
    "read_text",
    "setting",
    "shown",
    "warn_unknown_arguments",
]
