"""The redaction gate every captured string passes, and the secret scrubber for exception messages.

A :class:`RedactionPolicy` is a chain: built-in detectors (each replaces what it finds with a typed
placeholder such as ``[EMAIL]``), then user patterns, then an optional user callable (or Presidio).
It fails closed: :meth:`RedactionPolicy.redact` raises :class:`RedactionFailed` whenever any step
cannot run, and the caller then drops the content instead of recording it raw.

Regex redaction is a best effort against *recognisable* data. What it cannot catch (names, street
addresses, free-text secrets, data in images) is listed in docs/content-capture.md.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genai_otel import semconv as sc

BUILTIN_VERSION = "2026.11"


class RedactionFailed(Exception):
    """The policy could not run; the content it was given must be dropped."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- validators for detectors whose regex alone is too loose -------------------------------------------
def _luhn_ok(text: str) -> bool:
    digits = [int(ch) for ch in text if ch.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _ipv6_ok(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


_GROUP = re.compile(r"[^ -]+")

# Cheap necessary conditions. The regex engine walks a pattern that starts with a character class
# position by position (tens of ns each), so a 16 KB text costs a millisecond per such pattern;
# substring tests on a translated copy cost microseconds.
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")  # every IPv6 candidate holds two colons this close
_LETTER_DIGIT_CLASSES = bytes(
    ord("A") if 65 <= code <= 90 else ord("9") if 48 <= code <= 57 else ord(".") for code in range(256)
)


def _may_hold_iban(text: str) -> bool:
    """Every IBAN starts with two capital letters and two digits. Non-ASCII text may hold digits of
    other scripts, which ``\\d`` matches, so it always takes the full scan."""
    if not text.isascii():
        return True
    return b"AA99" in text.encode("ascii").translate(_LETTER_DIGIT_CLASSES)


@dataclass(frozen=True)
class Detector:
    name: str
    placeholder: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool] | None = None
    replacement: str | None = None  # a template with groups, for detectors that keep a prefix
    # A cheap necessary condition, tested before the regex runs at all (most texts hold no candidate).
    # It is given the text and the text lower-cased once per redaction, for case-insensitive literals.
    trigger: Callable[[str, str], bool] | None = None
    # Applied only inside runs of digits and separators found by one shared scan (see _NUMBER_RUN).
    numeric: bool = False
    min_digits: int = 0  # for numeric detectors: fewer digits in the run cannot match

    def apply(self, text: str) -> str:
        if self.replacement is not None:
            return self.pattern.sub(self.replacement, text)
        if self.validate is None:
            return self.pattern.sub(self.placeholder, text)
        return self.pattern.sub(lambda match: self._validated(match.group(0)), text)

    def _validated(self, candidate: str) -> str:
        """Replace the longest valid run of whole groups in ``candidate``.

        A greedy match can swallow a neighbouring group ("GB82 WEST ... 32 A", a year after a card
        number); its checksum then fails although a valid value sits inside, so sub-runs are tried."""
        validate = self.validate
        assert validate is not None
        if validate(candidate):
            return self.placeholder
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(candidate)]
        best: tuple[int, int] | None = None
        for first in range(len(groups)):
            for last in range(len(groups) - 1, first - 1, -1):
                start, end = groups[first][0], groups[last][1]
                if best is not None and end - start <= best[1] - best[0]:
                    break
                if validate(candidate[start:end]):
                    best = (start, end)
                    break
        if best is None:
            return candidate
        head, tail = candidate[: best[0]], candidate[best[1] :]
        return f"{self.apply(head)}{self.placeholder}{self.apply(tail)}"


# Order matters: secrets first (keys contain digit runs), phone numbers last (the loosest pattern).
_SECRETS: tuple[Detector, ...] = (
    Detector(
        "secret",
        "[PRIVATE_KEY]",
        re.compile(r"(?s:-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z))"),
        trigger=lambda text, lowered: "-----BEGIN" in text,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(r"\b(?:sk|pk|rk)-(?:[A-Za-z0-9_]+-)*[A-Za-z0-9_*]{8,}"),
        trigger=lambda text, lowered: "k-" in text,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
        trigger=lambda text, lowered: "AKIA" in text or "ASIA" in text,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
        trigger=lambda text, lowered: "_" in text,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"),
        trigger=lambda text, lowered: "github_pat_" in text,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(r"\bxox[abprse]-[A-Za-z0-9-]{10,}"),
        trigger=lambda text, lowered: "xox" in text,
    ),
    Detector(
        "secret",
        "[JWT]",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        trigger=lambda text, lowered: "eyJ" in text,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(r"(?i:\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,})"),
        replacement=r"\1\2[SECRET]",
        trigger=lambda text, lowered: "bearer" in lowered or "basic" in lowered,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(
            r"(?i:\b(api[_-]?key|access[_-]?token|token|secret|password|passwd)([\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]{6,})"
        ),
        replacement=r"\1\2[SECRET]",
        trigger=lambda text, lowered: any(word in lowered for word in ("key", "token", "secret", "passw")),
    ),
    Detector(  # signed URLs carry credentials in their query
        "secret",
        "[SECRET]",
        re.compile(
            r"(?i:([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|sig|signature|token|access_token|api_key|key)=)[^&\s\"'#]+)"
        ),
        replacement=r"\1[SECRET]",
        trigger=lambda text, lowered: "=" in text,
    ),
)

_BUILTINS: tuple[Detector, ...] = (
    *_SECRETS,
    Detector(
        "email",
        "[EMAIL]",
        re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
        trigger=lambda text, lowered: "@" in text,
    ),
    Detector(
        "iban",
        "[IBAN]",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
        _iban_ok,
        trigger=lambda text, lowered: _may_hold_iban(text),
    ),
    Detector(
        "card",
        "[CARD]",
        re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)"),
        _luhn_ok,
        numeric=True,
        min_digits=13,
    ),
    Detector(
        "ssn",
        "[SSN]",
        re.compile(r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)"),
        trigger=lambda run, lowered: "-" in run,
        numeric=True,
        min_digits=9,
    ),
    Detector(
        "ipv4",
        "[IP]",
        re.compile(
            r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"
        ),
        trigger=lambda run, lowered: run.count(".") >= 3,
        numeric=True,
        min_digits=4,
    ),
    Detector(
        "ipv6",
        "[IP]",
        re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"),
        _ipv6_ok,
        trigger=lambda text, lowered: _IPV6_HINT.search(text) is not None,
    ),
    Detector(
        "phone",
        "[PHONE]",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]?\d{3,4}(?![\w])"
        ),
        numeric=True,
        min_digits=8,
    ),
)
# Runs of digits and the separators numbers are written with: cards, SSNs, IPv4 and phone numbers
# all live inside one, so one scan finds every candidate and the detectors only read the runs.
_NUMBER_RUN = re.compile(r"[+(\d][\d ().+-]{5,}\d")
_RUN_SEPARATORS = " ().+-"
# The same runs in ASCII text, where ``\d`` is [0-9]: an ASCII class is several times cheaper to test.
_ASCII_NUMBER_RUN = re.compile(r"[+(0-9][0-9 ().+-]{5,}[0-9]")

BUILTIN_DETECTORS: tuple[str, ...] = ("email", "phone", "card", "iban", "ssn", "ipv4", "ipv6", "secret")


def scrub_secrets(text: str) -> str:
    """Replace anything that looks like a credential in ``text`` with a placeholder.

    Used on exception messages and stack traces, which are recorded whatever the content settings."""
    for detector in _SECRETS:
        text = detector.apply(text)
    return text


# --- the gate --------------------------------------------------------------------------------------------
Redactor = Callable[[str], str]

# --- the custom redactor's threads -----------------------------------------------------------------------
# A custom redactor runs in a thread of ours so that the caller can stop waiting for it. A call hands all
# its strings to one thread as one batch and waits for the batch at most its budget.
#
# A batch never queues: it gets an idle thread or a new one. A thread whose caller gave up stays with its
# batch until the redactor call in progress returns (a thread cannot be interrupted), then stops the batch
# and serves again; meanwhile later calls get other threads. The threads are bounded: when every one of
# them is busy (stuck in a runaway redactor), a call is refused at once instead of waiting for a thread.
_MAX_REDACTOR_THREADS = 8
_IDLE_REDACTOR_THREADS = 2  # kept when idle; the others end after _IDLE_SECONDS without work
_IDLE_SECONDS = 60.0


class _Batch:
    """The strings of one call for the custom redactor, and what came of them."""

    __slots__ = ("_redactor", "_texts", "deadline", "done", "error", "failed", "given_up", "results")

    def __init__(self, redactor: Redactor, texts: list[str], deadline: float) -> None:
        self._redactor = redactor
        self._texts = texts
        self.deadline = deadline
        self.done = threading.Event()
        self.failed = False
        # Chained to the RedactionFailed for our log's frames and types; its message (which may quote
        # the text it was given) is never logged or exported (see _failsafe).
        self.error: BaseException | None = None
        self.given_up = False  # set by the caller when its budget has run out
        self.results: list[str] | None = None  # all of them, or None

    def run(self) -> None:
        """Never raises; ``done`` is the worker's to set."""
        results: list[str] = []
        try:
            for text in self._texts:
                if self.given_up or time.monotonic() >= self.deadline:
                    return  # nobody waits for the rest: the redactor is not given more text
                result = self._redactor(text)
                if not isinstance(result, str):
                    self.failed = True
                    return
                results.append(result)
            self.results = results
        except BaseException as exc:
            self.failed = True
            self.error = exc


class _Worker:
    __slots__ = ("batch", "wake")

    def __init__(self) -> None:
        self.batch: _Batch | None = None
        self.wake = threading.Event()


class _RedactorPool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._threads = 0
        self.submissions = 0  # batches accepted, for tests and diagnostics

    def submit(self, batch: _Batch) -> bool:
        """Start ``batch`` in a thread at once; False when every thread allowed is busy."""
        with self._lock:
            if self._idle:
                worker = self._idle.pop()
                worker.batch = batch
                worker.wake.set()
                self.submissions += 1
                return True
            if self._threads >= _MAX_REDACTOR_THREADS:
                return False
            self._threads += 1
            self.submissions += 1
        try:
            thread = threading.Thread(
                target=self._serve, args=(_Worker(), batch), name="genai-otel-redactor", daemon=True
            )
            thread.start()
        except Exception:  # no thread to be had (a resource limit): the same as a full pool
            with self._lock:
                self._threads -= 1
                self.submissions -= 1
            return False
        return True

    def _serve(self, worker: _Worker, batch: _Batch | None) -> None:
        # Daemon threads: one stuck in a redactor must not keep the application from exiting.
        while batch is not None:
            batch.run()
            with self._lock:
                worker.batch = None
                worker.wake.clear()
                self._idle.append(worker)
            batch.done.set()  # once idle again, so that the caller's next call finds this thread
            batch = self._next_batch(worker)

    def _next_batch(self, worker: _Worker) -> _Batch | None:
        while not worker.wake.wait(_IDLE_SECONDS):
            with self._lock:
                if worker.wake.is_set():
                    break  # handed a batch as the wait ended
                if self._threads > _IDLE_REDACTOR_THREADS:
                    self._idle.remove(worker)
                    self._threads -= 1
                    return None
        return worker.batch


_pool = _RedactorPool()


def _custom_pool() -> _RedactorPool:
    return _pool


def _new_pool_after_fork() -> None:
    """A forked child (gunicorn --preload, multiprocessing) has none of the parent's threads, while the
    inherited pool would count them as idle or busy: the child starts a pool of its own."""
    global _pool
    _pool = _RedactorPool()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_pool_after_fork)


class RedactionPolicy:
    """Built-in detectors + user patterns + an optional callable, failing closed.

    ``broken`` is set when the configuration itself is unusable (an invalid pattern, a redactor
    that could not be loaded): such a policy redacts nothing and refuses everything."""

    def __init__(
        self,
        *,
        name: str = "default",
        disabled: Iterable[str] = (),
        patterns: Mapping[str, str] | None = None,
        custom: Redactor | None = None,
        custom_timeout: float = 0.1,
        broken: str | None = None,
    ) -> None:
        disabled = {item.strip().lower() for item in disabled if item.strip()}
        self.name = name
        self.broken = broken
        enabled = [d for d in _BUILTINS if d.name not in disabled]
        self._text_detectors = [d for d in enabled if not d.numeric]
        self._numeric_detectors = [d for d in enabled if d.numeric]
        self._patterns: list[Detector] = []
        self._custom = custom
        self._custom_timeout = custom_timeout
        for placeholder, regex in (patterns or {}).items():
            label = re.sub(r"[^A-Za-z0-9_]", "_", str(placeholder)).upper() or "REDACTED"
            try:
                self._patterns.append(Detector(f"pattern:{label}", f"[{label}]", re.compile(regex)))
            except (re.error, TypeError) as exc:
                self.broken = f"invalid pattern {placeholder!r}: {exc}"
        fingerprint = hashlib.sha256(
            repr(
                (
                    sorted(disabled),
                    sorted((patterns or {}).items()),
                    getattr(custom, "__qualname__", None) if custom else None,
                )
            ).encode()
        ).hexdigest()[:8]
        self.version = f"builtin-{BUILTIN_VERSION}+{fingerprint}"

    @property
    def has_redactor(self) -> bool:
        return self._custom is not None

    def redact(self, text: str) -> str:
        """``text`` with everything recognisable replaced: the whole gate, the custom redactor within its
        budget included. Raises RedactionFailed, never anything else. Several strings of one call go
        through :meth:`apply_detectors` each, then :meth:`apply_redactor` all together."""
        text = self.apply_detectors(text)
        if self._custom is not None:
            text = self.apply_redactor([text])[0]
        return text

    def apply_detectors(self, text: str) -> str:
        """``text`` through the built-in detectors and the user's patterns, in the calling thread (the
        custom redactor excepted). Raises RedactionFailed, never anything else."""
        if self.broken is not None:
            raise RedactionFailed("redaction_misconfigured")
        try:
            lowered = text.lower()
            for detector in self._text_detectors:
                if detector.trigger is None or detector.trigger(text, lowered):
                    text = detector.apply(text)
            if self._numeric_detectors:
                number_run = _ASCII_NUMBER_RUN if text.isascii() else _NUMBER_RUN
                text = number_run.sub(self._numbers, text)
            for detector in self._patterns:
                text = detector.apply(text)
        except Exception as exc:
            raise RedactionFailed("redaction_failed") from exc
        return text

    def _numbers(self, match: re.Match[str]) -> str:
        run = match.group()
        digits = len(run) - sum(map(run.count, _RUN_SEPARATORS))
        for detector in self._numeric_detectors:
            if digits >= detector.min_digits and (detector.trigger is None or detector.trigger(run, run)):
                run = detector.apply(run)
        return run

    def apply_redactor(self, texts: Sequence[str]) -> list[str]:
        """The custom redactor over ``texts`` (called once per distinct string), as one batch in one of
        our threads: the caller waits at most the budget for all of them together, and the redactor is
        given no string once the budget has run out. Raises RedactionFailed, never anything else."""
        if self._custom is None or not texts:
            return list(texts)
        distinct = list(dict.fromkeys(texts))
        budget = min(max(0.0, self._custom_timeout), threading.TIMEOUT_MAX)  # NaN counts as 0
        batch = _Batch(self._custom, distinct, time.monotonic() + budget)
        if not _custom_pool().submit(batch):
            raise RedactionFailed(sc.DROPPED_REDACTION_OVERLOADED)
        if not batch.done.wait(budget):
            batch.given_up = True
            raise RedactionFailed(sc.DROPPED_REDACTION_TIMEOUT)
        if batch.failed:
            raise RedactionFailed(sc.DROPPED_REDACTION_FAILED) from batch.error
        if batch.results is None:  # stopped at the deadline, just before the caller gave up
            raise RedactionFailed(sc.DROPPED_REDACTION_TIMEOUT)
        redacted = dict(zip(distinct, batch.results, strict=True))
        return [redacted[text] for text in texts]


class PresidioRedactor:
    """Adapter for Microsoft Presidio (``pip install genai-otel[presidio]``): replaces every entity the
    analyzer finds with ``[ENTITY_TYPE]``. Pass your own configured ``AnalyzerEngine`` to choose
    languages, models and recognizers."""

    def __init__(self, analyzer: Any = None, language: str = "en", score_threshold: float = 0.5) -> None:
        if analyzer is None:
            from presidio_analyzer import AnalyzerEngine  # an optional dependency

            analyzer = AnalyzerEngine()
        self._analyzer = analyzer
        self._language = language
        self._threshold = score_threshold

    def __call__(self, text: str) -> str:
        results = self._analyzer.analyze(text=text, language=self._language)
        spans = sorted(
            (r for r in results if getattr(r, "score", 1.0) >= self._threshold),
            key=lambda r: r.start,
            reverse=True,
        )
        last_start = len(text) + 1
        for result in spans:  # right to left, so earlier offsets stay valid; overlaps are merged
            if result.end > last_start:
                continue
            text = f"{text[: result.start]}[{result.entity_type}]{text[result.end :]}"
            last_start = result.start
        return text
