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


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//)?")


def names_a_location(url: str, root: str) -> bool:
    """Whether the URL names a bucket or directory: ``file://`` and ``s3://`` name none (fsspec reads
    the first as the current directory), nor does a root of ``/``."""
    return bool(_SCHEME.sub("", public_url(url.strip()), count=1).strip("/")) and bool(root.strip("/"))


def shown_url(url: str) -> str:
    """``public_url`` for a message: ``file://`` stays ``file://``, not ``file:``."""
    shown = public_url(url)
    return shown + "//" if shown.endswith(":") and "://" in url else shown


def url_credentials(url: str) -> str:
    """The ``user:password`` of ``scheme://user:password@host/...``, or ``""``."""
    _, separator, rest = url.partition("://")
    return rest.partition("/")[0].rpartition("@")[0] if separator else ""


def without_credentials(text: str, url: str) -> str:
    """``text`` (an error message about ``url``) without the URL's user and password, which a library
    may repeat, e.g. taking them for a bucket name."""
    credentials = url_credentials(url)
    # The user and the password alone too, unless so short that hiding them would garble the message.
    parts = {part for part in credentials.split(":") if len(part) >= 4}
    for secret in sorted({credentials, *parts} - {""}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


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
