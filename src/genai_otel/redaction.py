"""Redaction applied to text genai-otel records.

Exception messages are recorded on error spans whatever the content settings, and a provider's
error message can echo a credential (``Incorrect API key provided: sk-...``). They pass through
:func:`scrub_secrets` first.
"""

from __future__ import annotations

import re

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S),
        "[PRIVATE_KEY]",
    ),
    (re.compile(r"\b(?:sk|pk|rk)-(?:[A-Za-z0-9_-]*-)?[A-Za-z0-9_*-]{8,}"), "[SECRET]"),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), "[SECRET]"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), "[SECRET]"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), "[SECRET]"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"), "[SECRET]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[JWT]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [SECRET]"),
    (
        re.compile(r"(?i)\b(api[_-]?key|token|secret|password)([\"']?\s*[:=]\s*[\"']?)[^\s\"',;]{6,}"),
        r"\1\2[SECRET]",
    ),
)


def scrub_secrets(text: str) -> str:
    """Replace anything that looks like a credential in ``text`` with a placeholder."""
    for pattern, placeholder in _SECRET_PATTERNS:
        text = pattern.sub(placeholder, text)
    return text
