"""Where a call's document lives, and how a reference names it.

Objects: ``<store>/YYYY/MM/DD/<trace_id>/<span_id>.json`` (UTC date of the call's end), so retention is a
matter of deleting old date prefixes. A reference is the object's URL with the part's attribute name as
the fragment: ``s3://bucket/genai/2026/12/01/<trace_id>/<span_id>.json#gen_ai.input.messages``.
"""

from __future__ import annotations

import re
import time

_LAYOUT_KEY = re.compile(r"(\d{4}/\d{2}/\d{2}/[0-9a-f]{32}/[0-9a-f]{16}\.json)$")


def layout_key(trace_id: int, span_id: int, now: float | None = None) -> str:
    day = time.strftime("%Y/%m/%d", time.gmtime(now))
    return f"{day}/{trace_id:032x}/{span_id:016x}.json"


def public_url(url: str) -> str:
    """The URL without credentials, query or fragment: safe to put on a span."""
    scheme, separator, rest = url.partition("://")
    if separator:
        authority, slash, path = rest.partition("/")
        rest = authority.rpartition("@")[2] + slash + path
        url = scheme + separator + rest
    return url.split("?", 1)[0].split("#", 1)[0].rstrip("/")


def split_reference(reference: str) -> tuple[str, str | None, str]:
    """``(object URL, part or None, layout key)``; ValueError if it is not one of our references."""
    url, _, part = reference.partition("#")
    match = _LAYOUT_KEY.search(url)
    if match is None:
        raise ValueError(
            f"{reference!r} is not a genai-otel content reference (…/YYYY/MM/DD/<trace>/<span>.json)"
        )
    return url, part or None, match.group(1)
