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

BUILTIN_VERSION = "2026.12"


class RedactionFailed(Exception):
    """The policy could not run; the content it was given must be dropped."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- validators for detectors whose regex alone is too loose -------------------------------------------
def _ascii_digits(text: str) -> str:
    r"""The decimal digits of ``text`` as ASCII (``\d`` also matches the digits of other scripts)."""
    if text.isascii():
        return text if text.isdigit() else "".join(filter(str.isdigit, text))
    return "".join(str(int(ch)) for ch in text if ch.isdecimal())


def _luhn_ok(text: str) -> bool:
    digits = _ascii_digits(text)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# Issuer identification ranges (first digits, inclusive) and the lengths each issuer uses. A random
# 16-digit id passes Luhn one time in ten; requiring a known issuer cuts that to about one in 33
# (tests/redaction_corpus.py measures it).
_ANY_LONG = (16, 17, 18, 19)
_ISSUERS: tuple[tuple[int, int, int, tuple[int, ...]], ...] = (
    (1, 4, 4, (13, 16, 19)),  # Visa
    (2, 51, 55, (16,)),  # Mastercard
    (4, 2221, 2720, (16,)),  # Mastercard 2-series
    (2, 34, 34, (15,)),  # American Express
    (2, 37, 37, (15,)),
    (4, 6011, 6011, _ANY_LONG),  # Discover
    (3, 644, 649, _ANY_LONG),
    (2, 65, 65, _ANY_LONG),
    (4, 3528, 3589, _ANY_LONG),  # JCB
    (3, 300, 305, (14, *_ANY_LONG)),  # Diners Club
    (2, 36, 36, (14, *_ANY_LONG)),
    (2, 38, 38, (14, *_ANY_LONG)),
    (2, 62, 62, _ANY_LONG),  # UnionPay
)


def _issuer_ok(digits: str) -> bool:
    length = len(digits)
    return any(
        low <= int(digits[:width]) <= high and length in lengths for width, low, high, lengths in _ISSUERS
    )


def _card_ok(text: str) -> bool:
    return _luhn_ok(text) and _issuer_ok(_ascii_digits(text))


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


def _ipv4_ok(text: str) -> bool:
    """Four single-digit parts (``1.2.3.4``) read as a version, not as somebody's address."""
    return any(len(part) > 1 for part in text.split("."))


def _ipv6_ok(text: str) -> bool:
    """A real address holds a decimal digit somewhere; ``abc::def`` and ``dead::beef`` are code."""
    if not any(ch.isdigit() for ch in text):
        return False
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


_PHONE_SPLIT = re.compile(r"(\d+)")
_PLAIN_SEPARATORS = frozenset((" ", ".", "-"))
# A parenthesis around an area code or a trunk prefix, with at most one plain separator either side.
_PHONE_SEPARATORS = _PLAIN_SEPARATORS | {
    f"{before}{paren}{after}"
    for paren in "()"
    for before in ("", *_PLAIN_SEPARATORS)
    for after in ("", *_PLAIN_SEPARATORS)
}


def _phone_ok(text: str) -> bool:
    """Whether a run of digit groups is written the way phone numbers are.

    International (``+`` or ``00`` then a country code): 8 to 15 digits, compact or grouped.
    National: a trunk ``0`` and a 2-5 digit area code (FR, DE, UK, JP, IN, NL, ...) with 9 to 11
    digits, the North American 3-3-4 shape, or an Indian 5-5 mobile number. Groups after the first
    separator of a national number must be split alike (``01 23 45 67 89``, not the date-and-time
    ``01.12.2026 10``), and only a country code and the group after it may be a single digit (so
    ISBNs are not phones)."""
    if not 8 <= len(text) <= 32:
        return False
    pieces = _PHONE_SPLIT.split(text)  # [lead, group, separator, group, ..., group, trail]
    lead = pieces[0]
    if pieces[-1] or lead not in ("", "+", "("):
        return False
    groups = pieces[1::2]
    if list(map(len, groups)).count(1) > 2:
        return False  # only a country code, the group after it and a (0) trunk prefix are one digit long
    if not text.isascii():
        groups = [_ascii_digits(group) for group in groups]
    separators = pieces[2:-1:2]
    if lead == "(" and not (separators and separators[0].startswith(")")):
        return False
    if not _PHONE_SEPARATORS.issuperset(separators):
        return False
    if lead != "+" and len(_PLAIN_SEPARATORS.intersection(separators[1:])) > 1:
        return False  # a + is evidence enough ("+55 11 91234-5678"); national numbers are split alike
    international = lead == "+"
    if not international and groups[0].startswith("00"):
        international = True  # the 00 prefix dialled instead of +
        groups[0] = groups[0][2:]
        if not groups[0]:
            groups.pop(0)
    if international:
        if len(groups) > 2 and groups[1] == "0" and "(" in separators[0]:
            groups.pop(1)  # "+44 (0)20 ...": the national trunk prefix, not dialled from abroad
        total = sum(map(len, groups))
        if not groups or groups[0][0] == "0" or not 8 <= total <= 15:
            return False
        if len(groups) == 1:
            return True
        return len(groups[0]) <= 3 and all(len(group) >= 2 for group in groups[2:])
    sizes = [len(group) for group in groups]
    total = sum(sizes)
    if len(groups) < 2:
        return False
    if groups[0][0] == "0":
        area = sizes[0]
        return 2 <= area <= 5 and min(sizes) >= 2 and (10 <= total <= 11 or (total == 9 and area <= 4))
    if sizes == [3, 3, 4] or (sizes == [1, 3, 3, 4] and groups[0] == "1"):
        return True
    return sizes == [5, 5] and groups[0][0] in "6789" and separators[0] in (" ", "-")


def _ssn_ok(text: str) -> bool:
    digits = _ascii_digits(text)
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


_GROUP = re.compile(r"[^ -]+")
_PHONE_GROUP = re.compile(r"[^ .-]+")

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


# Words just before a number that say what it is ("card 1234 ...", {"phone": 4155550134}), or that it
# is something else ("version 1.2.3.4"). Matched against the lower-cased text between the previous
# digit (at most _CONTEXT_CHARS back) and the number, or against the key a structured number sits under.
_CONTEXT_CHARS = 40
_CARD_WORDS = re.compile(
    r"card|carte|karte|tarjeta|cart[aã]o|kaart|kort|visa|master|amex|credit|cr[ée]dit|kredit|d[ée]bit"
    r"|(?<![a-z])(?:cc|pan)(?![a-z])|カード|卡"
)
_PHONE_WORDS = re.compile(
    r"phone|mobile|whatsapp|msisdn|telefon|t[ée]l[ée]phone|tel[ée]fono|m[óo]vil|portable|電話|携帯"
    r"|(?<![a-z])(?:tel|cell|fax|sms|handy)(?![a-z])"
)
_SSN_WORDS = re.compile(r"(?<![a-z])ssn(?![a-z])|social.?security")
_VERSION_WORDS = re.compile(
    r"(?:(?<![a-z])v|(?:version|versi[óo]n|vers[ãa]o|release|build|firmware|(?<![a-z])(?:rev|ver))\W{0,3})$"
)


def _context_before(text: str, start: int) -> str:
    window = text[max(0, start - _CONTEXT_CHARS) : start]
    if window.isascii():
        last_digit = max(map(window.rfind, "0123456789"))
    else:
        last_digit = max((i for i, ch in enumerate(window) if ch.isdecimal()), default=-1)
    return window[last_digit + 1 :].lower()


# E-mail addresses in any script (non-ASCII local parts, IDN and punycode domains). Scripts written
# without spaces (CJK, kana, hangul, Thai) may touch an address directly ("連絡先はjane@example.orgです"),
# so they are not part of a local part unless it is written in them alone, with a domain that starts
# with a non-ASCII letter ("用户@例子.广告"). Image names (icon@2x.png) are not addresses.
_UNSPACED = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_LOCAL_CHAR = f"[^\\W{_UNSPACED}]"
_TLD = r"\.(?!(?:png|jpe?g|gif|svg|webp|bmp|ico)(?![A-Za-z0-9-]))(?:[A-Za-z]{2,}|xn--[\w-]+|[^\W\d_]{2,})"
# On ASCII text (most text) the same addresses are found by a pattern of ASCII classes, several times
# cheaper to test than Unicode word classes.
_ASCII_EMAIL = re.compile(
    r"(?<![A-Za-z0-9_.%+-])(?<![A-Za-z0-9_.%+-]')[A-Za-z0-9_%+-][A-Za-z0-9_.%+'-]*"
    r"@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*" + _TLD
)
_EMAIL = re.compile(
    f"(?<!{_LOCAL_CHAR})(?<![.%+-])(?<!{_LOCAL_CHAR}')(?<![.%+-]')"
    f"(?:(?:{_LOCAL_CHAR}|[%+-])(?:{_LOCAL_CHAR}|[.%+'-])*@[\\w-]+(?:\\.[\\w-]+)*"
    # an unspaced-script local part may start anywhere in a run, so it and its labels are bounded
    f"|[{_UNSPACED}][{_UNSPACED}.]{{0,63}}@[^\\W\\x00-\\x7f][\\w-]{{0,62}}(?:\\.[\\w-]{{1,63}}){{0,8}})"
    f"{_TLD}"
)


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
    groups: re.Pattern[str] = _GROUP  # how a candidate splits into the groups _validated tries
    # For numeric detectors: applied only when the words before the number match ``context``, and
    # never when they match ``veto``.
    context: re.Pattern[str] | None = None
    veto: re.Pattern[str] | None = None
    # Set for a lower-case pattern that is matched against the text lower-cased, several times faster
    # than (?i); only this group of each match is replaced, in the text as it was written.
    lowered_value_group: int = 0
    ascii_pattern: re.Pattern[str] | None = None  # the same matches on ASCII text, found faster

    def apply(self, text: str) -> str:
        if self.lowered_value_group:
            return self._apply_lowered(text)
        if self.replacement is not None:
            return self.pattern.sub(self.replacement, text)
        if self.validate is None:
            if self.ascii_pattern is not None and text.isascii():
                return self.ascii_pattern.sub(self.placeholder, text)
            return self.pattern.sub(self.placeholder, text)
        return self.pattern.sub(lambda match: self._validated(match.group(0)), text)

    def _apply_lowered(self, text: str) -> str:
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters lower-case to two ("İ"): offsets would move
            pattern = re.compile(self.pattern.pattern, re.IGNORECASE)
            lowered = text
        else:
            pattern = self.pattern
        pieces: list[str] = []
        written = 0
        for match in pattern.finditer(lowered):
            start, end = match.span(self.lowered_value_group)
            pieces.append(text[written:start])
            pieces.append(self.placeholder)
            written = end
        if not pieces:
            return text
        pieces.append(text[written:])
        return "".join(pieces)

    def _validated(self, candidate: str) -> str:
        """Replace the longest valid run of whole groups in ``candidate``.

        A greedy match can swallow a neighbouring group ("GB82 WEST ... 32 A", a year after a card
        number); its checksum then fails although a valid value sits inside, so sub-runs are tried."""
        validate = self.validate
        assert validate is not None
        if validate(candidate):
            return self.placeholder
        groups = [(g.start(), g.end()) for g in self.groups.finditer(candidate)]
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


def _literal(*words: str) -> Callable[[str], re.Match[str] | None]:
    """A search for any of ``words``. The regex engine finds a literal, or literals sharing their
    first character, two to three times faster than ``in`` does on long texts."""
    return re.compile("|".join(map(re.escape, words))).search


_has_k_dash = _literal("k-")
_has_scheme = _literal("://")
_has_stripe = _literal("_live_", "_test_")
_has_aws_or_google = _literal("AKIA", "ASIA", "AIza")
_has_slack = _literal("xox")
_has_jwt = _literal("eyJ")
_has_auth_scheme = _literal("bearer", "basic")
_CREDENTIAL_WORDS = (_literal("key"), _literal("token"), _literal("secret"), _literal("pass", "pwd"))

# Order matters: secrets first (keys contain digit runs), phone numbers last (the loosest pattern).
_SECRETS: tuple[Detector, ...] = (
    Detector(
        "secret",
        "[PRIVATE_KEY]",
        re.compile(r"(?s:-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z))"),
        trigger=lambda text, lowered: "-----BEGIN" in text,
    ),
    Detector(  # a password in a URL of any scheme (postgres://u:p@db, redis://:p@cache), or a token as user
        "secret",
        "[SECRET]",
        re.compile(
            r"(?i:(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*://)"
            r"(?:[^\s/?#\"'<>\[\]@:]*:[^\s/?#\"'<>\[\]]*|[^\s/?#\"'<>\[\]@:]{16,})@)"
        ),
        replacement=r"\1[SECRET]@",
        trigger=lambda text, lowered: "@" in text and _has_scheme(text) is not None,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(r"(?<![A-Za-z0-9_])(?:sk|pk|rk)-(?:[A-Za-z0-9_]+-)*[A-Za-z0-9_*]{8,}"),
        trigger=lambda text, lowered: _has_k_dash(text) is not None,
    ),
    Detector(  # Stripe
        "secret",
        "[SECRET]",
        re.compile(r"(?<![A-Za-z0-9_])(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"),
        trigger=lambda text, lowered: "_" in text and _has_stripe(text) is not None,
    ),
    Detector(  # AWS access key ids, Google API keys
        "secret",
        "[SECRET]",
        re.compile(
            r"(?<![A-Za-z0-9_])(?:(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])|AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-]))"
        ),
        trigger=lambda text, lowered: _has_aws_or_google(text) is not None,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(
            r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,}(?![A-Za-z0-9_])|github_pat_[A-Za-z0-9_]{20,})"
        ),
        trigger=lambda text, lowered: "_" in text,
    ),
    Detector(
        "secret",
        "[SECRET]",
        re.compile(r"(?<![A-Za-z0-9_])xox[abprse]-[A-Za-z0-9-]{10,}"),
        trigger=lambda text, lowered: _has_slack(text) is not None,
    ),
    Detector(
        "secret",
        "[JWT]",
        re.compile(r"(?<![A-Za-z0-9_])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        trigger=lambda text, lowered: _has_jwt(text) is not None,
    ),
    Detector(  # a credential holds a digit, an inner symbol or a capital after a small letter: not "Basic usage"
        "secret",
        "[SECRET]",
        re.compile(
            r"(?<![A-Za-z0-9_])((?i:bearer|basic))(\s+)"
            r"(?=[A-Za-z._~+/=-]*[0-9]|[A-Za-z0-9]*[._~+/-][A-Za-z0-9]|[A-Z]?[a-z]+[A-Z]|[A-Za-z0-9+/]{8,}=)"
            r"[A-Za-z0-9._~+/=-]{8,}"
        ),
        replacement=r"\1\2[SECRET]",
        trigger=lambda text, lowered: _has_auth_scheme(lowered) is not None,
    ),
    Detector(  # a value given to a credential's name: password=..., AWS_SECRET_ACCESS_KEY=..., in JSON too
        "secret",
        "[SECRET]",
        re.compile(
            r"(?<![a-z])(api[_-]?key|secret(?:[_-]?access)?(?:[_-]?key)?|access[_-]?key|private[_-]?key"
            r"|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|password|passwd|passphrase|pwd)"
            r"([\"']?\s*(?::|=>?)\s*[\"']?)(?!(?:none|null|nil|true|false|undefined)(?![a-z0-9]))"
            r"([^\s\"',;&]{6,})"
        ),
        trigger=lambda text, lowered: any(has(lowered) is not None for has in _CREDENTIAL_WORDS),
        lowered_value_group=3,
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
        _EMAIL,
        trigger=lambda text, lowered: "@" in text,
        ascii_pattern=_ASCII_EMAIL,
    ),
    Detector(
        "iban",
        "[IBAN]",
        re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"),
        _iban_ok,
        trigger=lambda text, lowered: _may_hold_iban(text),
    ),
    Detector(
        "card",
        "[CARD]",
        re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)"),
        _card_ok,
        numeric=True,
        min_digits=13,
    ),
    Detector(  # issuers we do not list (Maestro, RuPay, ...) when the text says it is a card
        "card",
        "[CARD]",
        re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)"),
        _luhn_ok,
        numeric=True,
        min_digits=13,
        context=_CARD_WORDS,
    ),
    Detector(
        "ssn",
        "[SSN]",
        re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"),
        _ssn_ok,
        trigger=lambda run, lowered: "-" in run,
        numeric=True,
        min_digits=9,
    ),
    Detector(
        "ssn",
        "[SSN]",
        re.compile(r"(?<!\d)\d{3} ?\d{2} ?\d{4}(?!\d)"),
        _ssn_ok,
        trigger=lambda run, lowered: len(run) <= 11,
        numeric=True,
        min_digits=9,
        context=_SSN_WORDS,
    ),
    Detector(
        "ipv4",
        "[IP]",
        re.compile(
            r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"
        ),
        _ipv4_ok,
        trigger=lambda run, lowered: run.count(".") >= 3,
        numeric=True,
        min_digits=4,
        veto=_VERSION_WORDS,
    ),
    Detector(
        "ipv6",
        "[IP]",
        re.compile(r"(?<![A-Za-z0-9_:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![A-Za-z0-9_:(])"),
        _ipv6_ok,
        trigger=lambda text, lowered: _IPV6_HINT.search(text) is not None,
    ),
    Detector(
        "phone",
        "[PHONE]",
        # At most 17 digits (15 and a 00 prefix): bounded, so a long run of digit groups is judged
        # piece by piece rather than as all its sub-runs.
        re.compile(r"(?<![\d)])\+?(?:\(\d{1,5}\)[ .-]?)?\d(?:[ ().-]{0,2}\d){7,16}"),
        _phone_ok,
        numeric=True,
        min_digits=8,
        groups=_PHONE_GROUP,
    ),
    Detector(  # "phone: 4155550134", {"mobile": 4155550134}: no separators, so only when said so
        "phone",
        "[PHONE]",
        re.compile(r"(?<!\d)\+?\d{8,15}(?!\d)"),
        trigger=lambda run, lowered: run[1:].isdecimal(),
        numeric=True,
        min_digits=8,
        context=_PHONE_WORDS,
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


# A placeholder name becomes the placeholder, upper-cased in brackets: [ORDER_ID]. Only names that read as one.
PLACEHOLDER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def _min_width(regex: str) -> int:
    """The fewest characters a match of ``regex`` can take; 0 when it can match the empty string."""
    try:
        from re import _parser as parser  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as parser  # type: ignore[no-redef]
    try:
        return int(parser.parse(regex).getwidth()[0])
    except Exception:  # the parser's internals changed: the same question, asked of sample texts
        pattern = re.compile(regex)
        texts = ("", "a b\n1.-_x@Z")
        return 0 if any(m.end() == m.start() for t in texts for m in pattern.finditer(t)) else 1


def pattern_problem(placeholder: Any, regex: Any) -> str | None:
    """Why a user pattern is unusable, or None. The text names the placeholder, never the regex (which may
    spell the very value it is meant to hide). A regex that can match the empty string is unusable: its
    empty matches would put the placeholder between every two characters of every string, keys included."""
    if not isinstance(placeholder, str) or not PLACEHOLDER_NAME.fullmatch(placeholder):
        shown_name = repr(placeholder) if isinstance(placeholder, str) else f"a {type(placeholder).__name__}"
        shown_name = shown_name if len(shown_name) <= 40 else f"{shown_name[:36]}...{shown_name[-1]}"
        return (
            f"placeholder name {shown_name} is not a name (letters, digits and _, starting with a letter, "
            "at most 64)"
        )
    try:
        re.compile(regex)
        if _min_width(regex) == 0:
            return f"pattern {placeholder!r}: matches the empty string"
    except re.error as exc:
        # Not str(exc): its message can quote a piece of the regex (a group's name, an escape).
        where = f" at position {exc.pos}" if isinstance(exc.pos, int) else ""
        return f"pattern {placeholder!r}: not a valid regular expression{where}"
    except Exception as exc:
        return f"pattern {placeholder!r}: {type(exc).__name__}"
    return None


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
            problem = pattern_problem(placeholder, regex)
            if problem is not None:
                self.broken = problem
                continue
            label = placeholder.upper()
            self._patterns.append(Detector(f"pattern:{label}", f"[{label}]", re.compile(regex)))
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
            raise RedactionFailed(sc.DROPPED_REDACTION_MISCONFIGURED)
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
            raise RedactionFailed(sc.DROPPED_REDACTION_FAILED) from exc
        return text

    def redact_number(self, value: int | float, context: str = "") -> int | float | str:
        """A number from structured content (a JSON number in tool arguments, a tool's result), judged
        by its digits as a text would be: ``value`` itself, or the redacted text of its digits
        (``"[CARD]"``) when a built-in detector or a user pattern matches. ``context`` is what the
        number is called (its key), read like the words before a number in a text.

        Only the built-ins and patterns see numbers; a custom redactor is given text."""
        if self.broken is not None:
            raise RedactionFailed(sc.DROPPED_REDACTION_MISCONFIGURED)
        try:
            # int() also for integral floats: a card number stored as a float is still a card number.
            integral = not isinstance(value, float) or value.is_integer()
            digits = str(int(value)) if integral else repr(float(value))
        except (ValueError, OverflowError):  # too long for str(); no detector reads past 19 digits
            return value
        if len(digits) < 7 and not self._patterns:  # no built-in matches fewer than 7 characters
            return value
        try:
            text = digits
            if self._numeric_detectors and len(digits) >= 7:
                lowered = context.lower()
                number_run = _ASCII_NUMBER_RUN if text.isascii() else _NUMBER_RUN
                text = number_run.sub(lambda match: self._redact_run(match.group(), lambda: lowered), text)
            for detector in self._patterns:
                text = detector.apply(text)
        except Exception as exc:
            raise RedactionFailed(sc.DROPPED_REDACTION_FAILED) from exc
        return value if text == digits else text

    def _numbers(self, match: re.Match[str]) -> str:
        return self._redact_run(match.group(), lambda: _context_before(match.string, match.start()))

    def _redact_run(self, run: str, context_of: Callable[[], str]) -> str:
        digits = len(run) - sum(map(run.count, _RUN_SEPARATORS))
        context: str | None = None
        for detector in self._numeric_detectors:
            if digits < detector.min_digits or (
                detector.trigger is not None and not detector.trigger(run, run)
            ):
                continue
            if detector.context is not None or detector.veto is not None:
                if context is None:
                    context = context_of()
                if detector.context is not None and detector.context.search(context) is None:
                    continue
                if detector.veto is not None and detector.veto.search(context) is not None:
                    continue
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
