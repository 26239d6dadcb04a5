"""``genai-otel content``: read a stored call's content by its reference, purge old date prefixes.

    genai-otel content get 's3://bucket/genai/2026/12/01/<trace>/<span>.json#gen_ai.input.messages'
    genai-otel content purge --older-than 30d s3://bucket/genai

Both use fsspec, so credentials and endpoints come from the usual places (``AWS_PROFILE``, the
``FSSPEC_S3_ENDPOINT_URL``-style variables fsspec reads, ...). ``get`` decrypts with the keys in
``GENAI_OTEL_CONTENT_STORE_KEY`` (never taken on the command line, where other users could see it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from typing import Any

import genai_otel.content_store._crypto as _crypto
from genai_otel.content_store._layout import (
    names_a_location,
    shown_url,
    split_reference,
    without_credentials,
)
from genai_otel.redaction import scrub_secrets

KEY_ENV = "GENAI_OTEL_CONTENT_STORE_KEY"
_AGE = re.compile(r"^\s*(\d+)\s*d\s*$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "content", help="read or purge the content store", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    get = commands.add_parser("get", help="print the content a span's reference points at, as JSON")
    get.add_argument("reference", help="a *_ref attribute value, or an object URL for the whole document")
    get.set_defaults(func=_get)
    purge = commands.add_parser("purge", help="delete the date prefixes older than an age")
    purge.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30d: days older than that go")
    purge.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    purge.add_argument("url", help="the store's URL, as in GENAI_OTEL_CONTENT_STORE")
    purge.set_defaults(func=_purge)


def _fail(message: str) -> int:
    print(f"genai-otel content: {message}", file=sys.stderr)
    return 1


def _fsspec() -> Any:
    import fsspec
    import fsspec.core

    return fsspec


def _get(arguments: argparse.Namespace) -> int:
    try:
        url, part, layout_key = split_reference(arguments.reference)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        fsspec = _fsspec()
    except ImportError:
        return _fail("needs fsspec: pip install 'genai-otel[store]'")
    try:
        with fsspec.open(url, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return _fail(f"{url} does not exist (never written, dropped, or purged)")
    except Exception as exc:
        return _fail(f"cannot read {url}: {type(exc).__name__}: {exc}")
    try:
        document = json.loads(data)
        if _crypto.is_envelope(document):
            keys_text = os.environ.get(KEY_ENV)
            if not keys_text:
                return _fail(f"{url} is encrypted (key id {document.get('kid')!r}); set {KEY_ENV}")
            document = json.loads(_crypto.open_envelope(document, _crypto.parse_keys(keys_text), layout_key))
    except ImportError:
        return _fail("decrypting needs cryptography: pip install 'genai-otel[store]'")
    except ValueError as exc:
        return _fail(f"{url}: {exc}")
    if part is None:
        value = document
    else:
        content = document.get("content") if isinstance(document, dict) else None
        if not isinstance(content, dict) or part not in content:
            return _fail(f"{url} holds no {part!r}")
        value = content[part]
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    return 0


def _purge(arguments: argparse.Namespace) -> int:
    match = _AGE.match(arguments.older_than)
    if match is None:
        return _fail(f"--older-than {arguments.older_than!r}: give a number of days, e.g. 30d")
    # Refused as the store refuses it: a URL that names no directory would purge the current one, or /.
    url = shown_url(arguments.url)  # never the credentials, in cron mail or CI logs
    if not arguments.url.strip():
        return _fail("give the store's URL, as in GENAI_OTEL_CONTENT_STORE")
    try:
        fsspec = _fsspec()
        filesystem, root = fsspec.core.url_to_fs(arguments.url)
    except ImportError as exc:
        return _fail(f"needs a package that is not installed ({exc}); pip install 'genai-otel[store]'")
    except Exception as exc:
        return _fail(
            f"{url!r} is not a usable fsspec URL ({type(exc).__name__}: {_error_text(exc, arguments.url)})"
        )
    root = root.rstrip("/")
    if not names_a_location(arguments.url, root):
        return _fail(f"{url!r} names no bucket or directory")
    # A day goes once all of it is older than the age: nothing younger than the age is ever deleted.
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=int(match.group(1)))
    removed = 0
    try:
        for day, path in _days(filesystem, root):
            if day + dt.timedelta(days=1) > cutoff:
                continue
            print(("would delete " if arguments.dry_run else "deleting ") + filesystem.unstrip_protocol(path))
            if not arguments.dry_run:
                filesystem.rm(path, recursive=True)
                _remove_empty_parents(filesystem, path, root)
            removed += 1
    except FileNotFoundError:
        pass  # an empty or never-written store
    except Exception as exc:
        return _fail(f"purging {url}: {type(exc).__name__}: {_error_text(exc, arguments.url)}")
    print(
        f"{'would delete' if arguments.dry_run else 'deleted'} {removed} day(s) older than {match.group(1)} days"
    )
    return 0


def _error_text(exc: BaseException, url: str) -> str:
    return scrub_secrets(without_credentials(str(exc), url))


def _children(filesystem: Any, path: str, digits: int) -> list[tuple[str, str]]:
    names = []
    for entry in filesystem.ls(path, detail=False):
        name = entry.rstrip("/").rsplit("/", 1)[-1]
        if len(name) == digits and name.isdigit():
            names.append((name, entry.rstrip("/")))
    return sorted(names)


def _days(filesystem: Any, root: str) -> list[tuple[dt.datetime, str]]:
    days = []
    for year, year_path in _children(filesystem, root, 4):
        for month, month_path in _children(filesystem, year_path, 2):
            for day, day_path in _children(filesystem, month_path, 2):
                try:
                    date = dt.datetime(int(year), int(month), int(day), tzinfo=dt.timezone.utc)
                except ValueError:
                    continue  # not one of ours
                days.append((date, day_path))
    return days


def _remove_empty_parents(filesystem: Any, path: str, root: str) -> None:
    """Directory stores keep empty month and year directories otherwise (object stores have none)."""
    for parent in (path.rsplit("/", 1)[0], path.rsplit("/", 2)[0]):
        if parent == root:
            return
        try:
            if not filesystem.ls(parent, detail=False):
                filesystem.rmdir(parent)
        except Exception:
            return
