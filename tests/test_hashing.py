"""The input hash's canonical encoding: the encoder built once encodes exactly as json.JSONEncoder does, so
hashes stay what they were; a value it cannot encode costs the hash, never the call."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from genai_otel import semconv as sc
from genai_otel.content import _CANONICAL_JSON, _encode_canonical, stable_hash

VALUES = [
    [{"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]}],
    [{"role": "user", "parts": [{"type": "text", "content": "Wo ist mein Päckchen? 包裹 🚚 \ud800 \u2028"}]}],
    [{"z": 1, "a": [1.5, -0.0, 1e300, 2**70, True, False, None], "": {"nested": {"b": 2, "a": 1}}}],
    [{"role": "tool", "parts": [{"type": "tool_call_response", "response": Decimal("1.10")}]}],
    [{"tool": object}, ("a", "tuple")],
    [],
    "text alone",
]


@pytest.mark.parametrize("value", VALUES)
def test_the_canonical_encoding_is_json_encoders(value) -> None:
    assert _encode_canonical(value) == _CANONICAL_JSON.encode(value)


def test_hashes_are_unchanged() -> None:
    value = VALUES[1]
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    digest = hashlib.sha256(expected.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    assert stable_hash(value, None) == digest


def test_a_circular_value_fails_the_hash_not_the_caller(instrument_openai, openai_client) -> None:
    # The client cannot send it either: the caller gets the client's own error, as without us.
    telemetry = instrument_openai(hash_inputs=True)
    part: dict = {"type": "custom"}  # kept whole by the translation, loop included
    part["self"] = part
    with pytest.raises(ValueError, match="Circular reference"):
        openai_client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": [part]}]
        )
    span = telemetry.span()
    assert sc.GENAI_OTEL_INPUT_MESSAGES_HASH not in span.attributes
    assert span.attributes[sc.ERROR_TYPE] == "ValueError"
