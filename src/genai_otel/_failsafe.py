"""Reporting of genai-otel's own bugs: once loudly, then quietly, never into the host application.

Every place where our code runs inside a client call catches its own exceptions and hands them
here. The first failure at a site is logged at WARNING with its traceback; repeats go to DEBUG, so
a bug that fires on every call cannot flood the application's logs.

The traceback is written into the message as frames and exception types, never with ``exc_info`` and
never with exception messages: our failures happen while handling the application's data (a redactor that
raises on the text it was given, a ``KeyError`` naming a value), and a log record may be exported wherever
Python logging is bridged to OpenTelemetry.
"""

from __future__ import annotations

import logging
import sys
import threading

from genai_otel._exceptions import format_chain

logger = logging.getLogger("genai_otel")

_reported_sites: set[str] = set()
_lock = threading.Lock()


def report_internal_error(site: str) -> None:
    """Log the exception being handled as an internal genai-otel error at ``site``.

    Call only from inside an ``except`` block. Never raises.
    """
    try:
        with _lock:
            first = site not in _reported_sites
            _reported_sites.add(site)
        if first:
            logger.warning(
                "genai-otel: internal error in %s; the client call goes on uninstrumented "
                "where needed (reported once per site, later ones at DEBUG)\n%s",
                site,
                _where(),
            )
        elif logger.isEnabledFor(logging.DEBUG):
            logger.debug("genai-otel: internal error in %s\n%s", site, _where())
    except Exception:  # logging itself failed: nothing more we can safely do
        pass


def _where() -> str:
    exc = sys.exc_info()[1]
    return format_chain(exc, _no_message) if exc is not None else ""


def _no_message(exc: BaseException) -> None:
    return None


_warned_settings: set[str] = set()


def warn_setting_once(key: str, message: str) -> None:
    """Warn about a bad configuration value once per ``key`` (usually the setting's name). Never raises."""
    try:
        with _lock:
            if key in _warned_settings:
                return
            _warned_settings.add(key)
        logger.warning("genai-otel: %s", message)
    except Exception:  # logging itself failed: nothing more we can safely do
        pass
