"""Defensive readers for values out of client requests and responses, shared by the client adapters.

OpenAI-compatible servers and callers pass whatever they like; these return a value of the expected
type or None, never raise, and never iterate a one-shot iterable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# OTLP carries integers as int64. A larger one is dropped by the encoder (an error in the host's log) and,
# on a metric point's exemplar, fails the export of the whole batch; as a float it may not even convert.
# Out of that range is as good as not sent.
_INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


# Each reader tests the exact type first: that is what nearly every value has, and one identity test is
# cheaper than the isinstance pair (these run several times per call).
def number(value: Any) -> float | None:
    if type(value) is float:
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value) if _INT64_MIN <= value <= INT64_MAX else None
    return None


def integer(value: Any) -> int | None:
    if type(value) is int:
        return value if _INT64_MIN <= value <= INT64_MAX else None
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value) if _INT64_MIN <= value <= INT64_MAX else None
    return None


def non_negative_integer(value: Any) -> int | None:
    """A count or duration as a server reports it (tokens, nanoseconds): 0 to the int64 maximum, else
    None. A negative one is no usage figure, and recorded on a histogram it makes the SDK warn."""
    if type(value) is int:
        return value if 0 <= value <= INT64_MAX else None
    value = integer(value)
    return value if value is not None and value >= 0 else None


def text(value: Any) -> str | None:
    """A non-empty string, else None."""
    if type(value) is str:
        return value or None
    return value if isinstance(value, str) and value else None


def string(value: Any) -> str | None:
    """Any string, the empty one included, else None."""
    return value if isinstance(value, str) else None


def field(obj: Any, name: str) -> Any:
    """A field of a client model or of a mapping (requests accept either)."""
    if type(obj) is dict:
        return obj.get(name)
    if obj is None:
        return None
    # A pydantic (v2) model, as the clients' responses are, is no Mapping: skip the Mapping check, an ABC
    # isinstance that runs Python code, for the attribute read.
    if hasattr(type(obj), "__pydantic_fields__"):
        return getattr(obj, name, None)
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def sequence(value: Any) -> list[Any] | tuple[Any, ...]:
    """Lists and tuples as they are; anything else (a one-shot iterable included) as empty."""
    return value if isinstance(value, (list, tuple)) else ()


def count(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return len(value)
    except TypeError:  # an iterable that is not a collection (or a "not given" sentinel): not counted
        return None


def stop_sequences(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value] if value else None
    if isinstance(value, (list, tuple)):
        sequences = [item for item in value if isinstance(item, str)]
        return sequences or None
    return None


def model_fields(model: Any) -> dict[str, Any] | None:
    """A client model's fields, those set to None left out; None if ``model`` is no pydantic model.

    pydantic warns when it serializes a field holding a value of another type than the one declared, which
    is what an off-spec server's response holds (the clients build responses without validating them). That
    warning would be ours, not the client's: in the host's logs, or an exception under ``-W error``. So it is
    turned off. Under pydantic 1 there is no such warning, and openai's shim refuses the argument."""
    dump = getattr(model, "model_dump", None)
    if not callable(dump):
        return None
    if _PYDANTIC_1:
        return dump(exclude_none=True)  # type: ignore[no-any-return]
    return dump(exclude_none=True, warnings=False)  # type: ignore[no-any-return]


def _pydantic_1() -> bool:
    try:
        import pydantic
    except ImportError:  # no client installed needs it then
        return False
    return str(getattr(pydantic, "VERSION", "2")).startswith("1.")


_PYDANTIC_1 = _pydantic_1()
