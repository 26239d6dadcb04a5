"""Encryption at rest: AES-256-GCM envelopes with a key id, so keys can rotate.

Keys (``GENAI_OTEL_CONTENT_STORE_KEY``): comma-separated entries ``[id:]base64-of-32-bytes``. The first
entry encrypts; every entry decrypts. An entry without ``id:`` gets the id ``k`` + the first 8 hex digits
of the SHA-256 of the key. The envelope, a JSON object, is::

    {"genai_otel.envelope": 1, "alg": "A256GCM", "kid": "<key id>",
     "nonce": "<base64, 12 bytes>", "ciphertext": "<base64, ciphertext + 16-byte tag>"}

The object's layout key (``YYYY/MM/DD/<trace_id>/<span_id>.json``) is the associated data, so an object
copied over another one's name does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from typing import Any, NamedTuple

ENVELOPE_VERSION_KEY = "genai_otel.envelope"
ALGORITHM = "A256GCM"
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class KeySettingError(ValueError):
    """A key setting that cannot be used; the message never contains key material."""


class Key(NamedTuple):
    kid: str
    secret: bytes


def parse_keys(text: str) -> list[Key]:
    keys: list[Key] = []
    for position, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        kid, separator, encoded = entry.rpartition(":")
        if not separator:
            kid, encoded = "", entry
        try:
            secret = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise KeySettingError(f"entry {position} is not base64") from None
        if len(secret) != 32:
            raise KeySettingError(f"entry {position} decodes to {len(secret)} bytes, not 32")
        kid = kid or "k" + hashlib.sha256(secret).hexdigest()[:8]
        if not _KEY_ID.match(kid):
            raise KeySettingError(f"entry {position} has a key id that is not 1-64 of [A-Za-z0-9._-]")
        if any(key.kid == kid for key in keys):
            raise KeySettingError(f"key id {kid!r} appears twice")
        keys.append(Key(kid, secret))
    if not keys:
        raise KeySettingError("no key given")
    return keys


def _aead(secret: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(secret)


def check_available() -> None:
    """Raise ImportError now, at instrument(), rather than in the writer."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: F401


def seal(key: Key, plaintext: bytes, layout_key: str) -> bytes:
    nonce = os.urandom(12)
    ciphertext = _aead(key.secret).encrypt(nonce, plaintext, layout_key.encode())
    envelope = {
        ENVELOPE_VERSION_KEY: 1,
        "alg": ALGORITHM,
        "kid": key.kid,
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }
    return json.dumps(envelope).encode()


def is_envelope(document: Any) -> bool:
    return isinstance(document, dict) and ENVELOPE_VERSION_KEY in document


def open_envelope(envelope: dict[str, Any], keys: list[Key], layout_key: str) -> bytes:
    """The plaintext; ValueError naming what is wrong (unknown key id, wrong key or tampered object)."""
    if envelope.get(ENVELOPE_VERSION_KEY) != 1 or envelope.get("alg") != ALGORITHM:
        raise ValueError(
            f"unsupported envelope {envelope.get(ENVELOPE_VERSION_KEY)!r}/{envelope.get('alg')!r}"
        )
    kid = envelope.get("kid")
    key = next((k for k in keys if k.kid == kid), None)
    if key is None:
        known = ", ".join(k.kid for k in keys)
        raise ValueError(f"encrypted with key id {kid!r}, which is not among the keys given ({known})")
    from cryptography.exceptions import InvalidTag

    try:
        return _aead(key.secret).decrypt(
            base64.b64decode(envelope["nonce"]), base64.b64decode(envelope["ciphertext"]), layout_key.encode()
        )
    except (InvalidTag, KeyError, binascii.Error, ValueError):
        raise ValueError(
            f"cannot decrypt with key id {kid!r}: wrong key, or the object was altered or moved"
        ) from None
