"""Strings an exporter can encode: every string genai-otel hands to the OTel API passes here.

OTLP carries strings as UTF-8, and a Python ``str`` can hold what UTF-8 cannot: lone surrogates (from
``os.environ``, ``surrogateescape``-decoded bytes, JSON ``"\\ud800"`` escapes, a model name echoed by a
server). The protobuf encoder raises on them: an attribute holding one is dropped, and a span name holding
one fails the whole export batch, losing every other span in it. Surrogate pairs are joined into the
character they encode and lone surrogates become U+FFFD; nothing else changes.

ASCII text, nearly all of it, is recognised by ``str.isascii`` (tens of nanoseconds) and returned as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_NUMBERS = frozenset((bool, int, float))


def encodable_text(text: str) -> str:
    """``text``, or a copy whose surrogates are joined into characters or replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def encodable_value(value: Any) -> Any:
    """An attribute or event value with every string in it encodable (sequences and mappings too)."""
    if type(value) is str:
        return value if value.isascii() else encodable_text(value)
    if isinstance(value, (list, tuple)):
        return [encodable_value(item) for item in value] if _holds_text(value) else value
    if isinstance(value, Mapping):
        return {encodable_value(key): encodable_value(item) for key, item in value.items()}
    if isinstance(value, str):  # a str subclass
        return encodable_text(str(value))
    return value


def encodable_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` with every value encodable, changed in place (keys are genai-otel's own names)."""
    if _NUMBERS.issuperset(map(type, attributes.values())):
        return attributes  # numbers only (an Ollama response's timings): one pass in C
    for key, value in attributes.items():
        if type(value) is str:
            if not value.isascii():
                attributes[key] = encodable_text(value)
        elif not isinstance(value, (bool, int, float)):
            attributes[key] = encodable_value(value)
    return attributes


def _holds_text(values: list[Any] | tuple[Any, ...]) -> bool:
    """Whether any item may need a change: a non-ASCII string, or something holding strings."""
    for item in values:
        if type(item) is str:
            if not item.isascii():
                return True
        elif not isinstance(item, (bool, int, float)) and item is not None:
            return True
    return False
