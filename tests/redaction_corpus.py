"""A labelled corpus for the built-in redaction detectors: planted values per category, each in many
surroundings, and benign look-alikes that must come through untouched.

Used by tests/test_redaction_corpus.py (100 % recall on every documented category, a false-positive
ceiling per category) and by bench/redaction_recall.py, which writes :func:`table` into
docs/content-capture.md. A planted value counts as caught when its sensitive part is gone from the
redacted text and the category's placeholder is there; a look-alike counts as a false positive when
the redacted text no longer holds it verbatim.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Categories in the order of the docs' detector table; placeholders that count as that category.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "secret": ("[SECRET]", "[JWT]", "[PRIVATE_KEY]"),
    "email": ("[EMAIL]",),
    "iban": ("[IBAN]",),
    "card": ("[CARD]",),
    "ssn": ("[SSN]",),
    "ipv4": ("[IP]",),
    "ipv6": ("[IP]",),
    "phone": ("[PHONE]",),
}

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HECdnH\n"
    "lWu2/a1gB9JW5TBQ+AVpum9Okx7KfqkfBKL9mcHgSL0yWMdjMfNOqNtrQqKlN4kE\n-----END RSA PRIVATE KEY-----"
)

# (category, what is planted, the part of it that must not survive). A value planted whole is its own
# sensitive part; for "password=..." or a URL it is the credential, not the name in front of it.
PLANTED: tuple[tuple[str, str, str], ...] = (
    # e-mail addresses, ASCII and internationalised (non-ASCII local parts, IDN and punycode domains)
    ("email", "jane.doe@example.com", ""),
    ("email", "j.smith+billing@mail.example.co.uk", ""),
    ("email", "first_last@sub.example.org", ""),
    ("email", "UPPER.CASE@EXAMPLE.COM", ""),
    ("email", "o'brien@example.ie", ""),
    ("email", "jörg.müller@example.de", ""),
    ("email", "info@bücher.de", ""),
    ("email", "contact@xn--bcher-kva.de", ""),
    ("email", "δοκιμή@παράδειγμα.ελ", ""),
    ("email", "用户@例子.广告", ""),
    # phone numbers: E.164 compact and grouped, North American, and national formats
    ("phone", "+1 415-555-0134", ""),
    ("phone", "+14155550199", ""),
    ("phone", "+1 (415) 555-0134", ""),
    ("phone", "(415) 555-0134", ""),
    ("phone", "415-555-0134", ""),
    ("phone", "415.555.0134", ""),
    ("phone", "1-800-555-0199", ""),
    ("phone", "01 23 45 67 89", ""),  # FR
    ("phone", "01.23.45.67.89", ""),
    ("phone", "+33 1 23 45 67 89", ""),
    ("phone", "+33 (0)1 23 45 67 89", ""),
    ("phone", "030 1234567", ""),  # DE
    ("phone", "0171 1234567", ""),
    ("phone", "+49 30 1234567", ""),
    ("phone", "+4930123456", ""),
    ("phone", "020 7946 0958", ""),  # UK
    ("phone", "07700 900123", ""),
    ("phone", "+44 20 7946 0958", ""),
    ("phone", "+44 (0)20 7946 0958", ""),
    ("phone", "0044 20 7946 0958", ""),
    ("phone", "+447700900123", ""),
    ("phone", "+91 98765 43210", ""),  # IN
    ("phone", "98765 43210", ""),
    ("phone", "03-1234-5678", ""),  # JP
    ("phone", "090-1234-5678", ""),
    ("phone", "+81 3-1234-5678", ""),
    ("phone", "020-123 4567", ""),  # NL
    ("phone", "+61 2 9876 5432", ""),  # AU
    ("phone", "+86 138 0013 8000", ""),  # CN
    ("phone", "+55 11 91234-5678", ""),  # BR
    ("phone", "+34 612 34 56 78", ""),  # ES
    ("phone", "+1.415.555.0134", ""),
    ("phone", "phone: 4155550134", "4155550134"),  # compact national numbers count after a phone word
    ("phone", "Tel. 0612345678", "0612345678"),
    # payment cards of each listed issuer, spaced, dashed and compact (all are published test numbers)
    ("card", "4111 1111 1111 1111", ""),  # Visa
    ("card", "4532015112830366", ""),
    ("card", "4532-0151-1283-0366", ""),
    ("card", "4222222222222", ""),  # Visa, 13 digits
    ("card", "5555 5555 5555 4444", ""),  # Mastercard
    ("card", "2221 0000 0000 0009", ""),
    ("card", "3782 822463 10005", ""),  # American Express
    ("card", "378282246310005", ""),
    ("card", "6011 1111 1111 1117", ""),  # Discover
    ("card", "3530 1113 3330 0000", ""),  # JCB
    ("card", "3056 9309 0259 04", ""),  # Diners Club
    ("card", "6200 0000 0000 0005", ""),  # UnionPay
    ("card", "card no. 6759 6498 2643 8453", "6759 6498 2643 8453"),  # Maestro: unlisted, named a card
    # IBANs, grouped and compact
    ("iban", "GB82 WEST 1234 5698 7654 32", ""),
    ("iban", "GB82WEST12345698765432", ""),
    ("iban", "DE89 3704 0044 0532 0130 00", ""),
    ("iban", "FR14 2004 1010 0505 0001 3M02 606", ""),
    ("iban", "NL91ABNA0417164300", ""),
    ("iban", "ES91 2100 0418 4502 0005 1332", ""),
    ("iban", "CH93 0076 2011 6238 5295 7", ""),
    # US social security numbers
    ("ssn", "123-45-6789", ""),
    ("ssn", "078-05-1120", ""),
    ("ssn", "219-09-9999", ""),
    ("ssn", "SSN 123456789", "123456789"),
    # IP addresses
    ("ipv4", "192.168.10.254", ""),
    ("ipv4", "10.0.0.1", ""),
    ("ipv4", "203.0.113.42", ""),
    ("ipv4", "172.16.254.1", ""),
    ("ipv6", "2001:db8::8a2e:370:7334", ""),
    ("ipv6", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", ""),
    ("ipv6", "fe80::1ff:fe23:4567:890a", ""),
    ("ipv6", "2001:db8::1", ""),
    ("ipv6", "::1", ""),
    # secrets: provider keys and tokens, credentials by name, in URLs and in PEM blocks
    ("secret", "sk-proj-AbCdEf1234567890XyZabc", ""),
    ("secret", "sk-ant-api03-abcDEF123456789xyz", ""),
    ("secret", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", ""),
    ("secret", "AKIAIOSFODNN7EXAMPLE", ""),
    ("secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG"),
    ("secret", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG"),
    ("secret", '"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', "wJalrXUtnFEMI/K7MDENG"),
    ("secret", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", ""),
    ("secret", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", ""),
    ("secret", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", ""),
    ("secret", "xoxb-1234567890-abcdefghij", ""),
    ("secret", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", ""),
    ("secret", "Bearer abc.def-ghi_jkl0123", "abc.def-ghi_jkl0123"),
    ("secret", "Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("secret", "password=hunter2hunter2", "hunter2hunter2"),
    ("secret", "api_key: 9f8e7d6c5b4a", "9f8e7d6c5b4a"),
    ("secret", "db.password = Tr0ub4dor&3", "Tr0ub4dor"),
    ("secret", "postgres://app_user:S3cretPw@db.internal:5432/app", "S3cretPw"),
    ("secret", "redis://:c4che-pass@cache-1:6379", "c4che-pass"),
    ("secret", "mysql://root:hunter2@localhost/shop", "hunter2"),
    ("secret", "https://x-access-token:gho_16C7e42F292c6912E7710c838347Ae178B4a@github.com", "16C7e42F29"),
    ("secret", "https://bucket.s3.amazonaws.com/f?X-Amz-Signature=abcdef0123456789&v=1", "abcdef0123456789"),
    ("secret", PEM, "MIIEowIBAAKCAQEA1c7"),
)

# Look-alikes, by the category they could be mistaken for: none of them may be altered.
BENIGN: tuple[tuple[str, str], ...] = (
    ("email", "@genai_otel.tool"),
    ("email", "icon@2x.png"),
    ("email", "logo@3x.jpg"),
    ("email", "npm i @types/node"),
    ("email", "https://medium.com/@jane"),
    ("email", "2 apples @ 0.50 each"),
    ("phone", "ISBN 978-3-16-148410-0"),
    ("phone", "ISBN 0-306-40615-2"),
    ("phone", "978-0-306-40615-7"),
    ("phone", "2026-1123-4567"),
    ("phone", "2026-11-23"),
    ("phone", "23.11.2026"),
    ("phone", "01.12.2026 10:30"),
    ("phone", "2026-11-23 10:30:00"),
    ("phone", "2026-12-01T09:25:13Z"),
    ("phone", "ZIP 02139-4307"),
    ("phone", "48.8566140, 2.3522219"),
    ("phone", "3.14159265358979"),
    ("phone", "0.123456789"),
    ("phone", "0.99 1.99 2.99"),
    ("phone", "$1,299.99"),
    ("phone", "1 234 567,89 €"),
    ("phone", "ORD-2026-000123"),
    ("phone", "order 48213"),
    ("phone", "build 20261201.1"),
    ("phone", "1733045113"),
    ("phone", "1733045113000"),
    ("phone", "10:30-11:45"),
    ("phone", "pages 1024-2048"),
    ("phone", "PO 4500012345"),
    ("phone", "123e4567-e89b-12d3-a456-426614174000"),
    ("phone", "550e8400-e29b-41d4-a716-446655440000"),
    ("card", "1234567812345670"),  # Luhn-valid, no issuer
    ("card", "9999 9999 9999 9995"),
    ("card", "0000 0000 0000 0000"),
    ("card", "7000 0000 0000 0002"),
    ("card", "1733045113000000"),  # a microsecond timestamp
    ("card", "9783161484100"),  # ISBN-13
    ("card", "4111 1111 1111 1112"),  # a Visa prefix, Luhn fails
    ("card", "9400 1000 0000 0000 0000 00"),  # a parcel tracking number
    ("iban", "GB00 WEST 1234 5698 7654 32"),  # the check digits fail
    ("iban", "DE00 1234 5678 9012 3456 78"),
    ("iban", "AB12CDEF34567890"),
    ("iban", "ISO 8601"),
    ("ssn", "000-12-3456"),
    ("ssn", "666-12-3456"),
    ("ssn", "900-12-3456"),
    ("ssn", "123-00-4567"),
    ("ssn", "123-45-0000"),
    ("ipv4", "1.2.3.4"),
    ("ipv4", "version 1.2.3.4"),
    ("ipv4", "v10.2.0.1"),
    ("ipv4", "version 10.2.0.1"),
    ("ipv4", "release 12.4.1.100"),
    ("ipv4", "OID 1.3.6.1.4.1.311"),
    ("ipv4", "999.1.1.1"),
    ("ipv4", "1.2.3.4.5"),
    ("ipv4", "section 3.2.1.4"),
    ("ipv4", "192.168.1"),
    ("ipv4", "4.0.30319.42000"),
    ("ipv6", "abc::def()"),
    ("ipv6", "std::vector<int>"),
    ("ipv6", "Foo::bar()"),
    ("ipv6", "a::b"),
    ("ipv6", "dead::beef"),
    ("ipv6", "10:30:00"),
    ("ipv6", "12:34:56.789"),
    ("ipv6", "2026-12-01T09:25:13+01:00"),
    ("ipv6", "crate::module::func()"),
    ("ipv6", "ratio 16:9"),
    ("secret", "sk-learn"),
    ("secret", "task-management-system"),
    ("secret", "risk-assessment-framework"),
    ("secret", "the password is in the vault"),
    ("secret", "max_tokens=100000"),
    ("secret", "tokens: 123456"),
    ("secret", "api_key=None"),
    ("secret", "Basic information about the product"),
    ("secret", "bearer instruments"),
    ("secret", "https://example.com/docs?page=2&sort=asc"),
    ("secret", "ssh://deploy.example.com/srv"),
    ("secret", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),  # a SHA-256
    ("secret", "commit e8bfb68"),
    ("secret", "AIza is a prefix"),
)

# What the built-ins are known not to find (docs/content-capture.md, residual risks): measured so that the
# docs say how much of it leaks, not tested for recall.
KNOWN_GAPS: tuple[tuple[str, str, str], ...] = (
    ("phone", "4155550134", ""),  # national, compact, with no word saying it is a phone
    ("phone", "612 34 56 78", ""),  # a national number of a country without a trunk 0 (ES)
    ("phone", "030/1234567", ""),  # a slash as separator
    ("card", "4111.1111.1111.1111", ""),  # dots as separators
    ("card", "6759 6498 2643 8453", ""),  # an issuer outside the list (Maestro), not named a card
    ("ipv4", "8.8.8.8", ""),  # four single-digit parts read as a version
    ("email", "jane at example dot com", ""),  # spelled out
    ("secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),  # an AWS secret key with no name
    ("secret", "the door code is 4711-hunter", "4711-hunter"),  # a password in prose
)

# Where values are planted. {v} is the value. Surroundings hold nothing any detector reads, and
# no word that names a category (those help the detectors: see the context tests).
SURROUNDINGS: tuple[tuple[str, str], ...] = (
    ("prose", "Please use {v} for the follow-up tomorrow."),
    ("prose, start", "{v} is what the customer gave us"),
    ("JSON", '{{"contact": "{v}", "n": 1}}'),
    ("JSON, nested", '{{"customer": {{"notes": ["first", "{v}"]}}}}'),
    ("code", 'client = connect("{v}")'),
    ("code", "value = '{v}'  # from the ticket"),
    ("CSV", "id,name,value\n17,Jane,{v}\n18,John,n/a"),
    ("CSV, first column", "{v},2026-11-23,ok"),
    ("URL", "https://example.com/search?q={v}&lang=en"),
    ("markdown table", "| field | value |\n|---|---|\n| contact | {v} |"),
    ("markdown", "**{v}**"),
    ("markdown", "`{v}`"),
    ("markdown list", "- first item\n- {v}\n- last item"),
    ("multi-line", "Hello,\n\n{v}\n\nThanks"),
    ("punctuation", "({v})"),
    ("punctuation", "{v}."),
    ("punctuation", "{v},"),
    ("punctuation", '"{v}"'),
    ("punctuation", "«{v}»"),
    ("punctuation", "[{v}]"),
    ("punctuation", "<{v}>"),
    ("punctuation", "{v};"),
    ("German", "Bitte verwenden Sie {v} bis Freitag."),
    ("French", "Voici : {v}, merci !"),
    ("Spanish", "Mis datos son {v}."),
    ("Russian", "Данные: {v}, спасибо."),
    ("Japanese", "連絡先は{v}です。"),
    ("Chinese", "请使用{v}谢谢"),
)


@dataclass(frozen=True)
class Case:
    category: str
    value: str
    surrounding: str
    text: str
    sensitive: str  # for planted cases: what must be gone


def _fits(value: str, surrounding: str) -> bool:
    """A URL cannot hold spaces or line breaks; everything else takes every value."""
    return surrounding != "URL" or not any(ch.isspace() for ch in value)


def planted_cases() -> Iterator[Case]:
    for category, value, sensitive in PLANTED:
        for name, template in SURROUNDINGS:
            if _fits(value, name):
                yield Case(category, value, name, template.format(v=value), sensitive or value)


def benign_cases() -> Iterator[Case]:
    for category, value in BENIGN:
        for name, template in SURROUNDINGS:
            if _fits(value, name):
                yield Case(category, value, name, template.format(v=value), value)


def caught(case: Case, redacted: str) -> bool:
    return case.sensitive not in redacted and any(p in redacted for p in PLACEHOLDERS[case.category])


def known_gap_cases() -> Iterator[Case]:
    for category, value, sensitive in KNOWN_GAPS:
        yield Case(category, value, "prose", SURROUNDINGS[0][1].format(v=value), sensitive or value)


def random_ids(count: int, digits: int = 16, seed: int = 20261201) -> list[str]:
    """Random ids of ``digits`` digits (no leading zero), reproducible."""
    draw = random.Random(seed)
    return [str(draw.randrange(10 ** (digits - 1), 10**digits)) for _ in range(count)]


@dataclass
class Row:
    category: str
    planted: int = 0
    caught: int = 0
    benign: int = 0
    false_positives: int = 0
    misses: list[str] | None = None
    altered: list[str] | None = None


def measure(redact: Callable[[str], str]) -> dict[str, Row]:
    rows = {category: Row(category, misses=[], altered=[]) for category in PLACEHOLDERS}
    for case in planted_cases():
        row = rows[case.category]
        row.planted += 1
        if caught(case, redact(case.text)):
            row.caught += 1
        else:
            assert row.misses is not None
            row.misses.append(f"{case.surrounding}: {case.text!r}")
    for case in benign_cases():
        row = rows[case.category]
        row.benign += 1
        redacted = redact(case.text)
        if case.value not in redacted:
            row.false_positives += 1
            assert row.altered is not None
            row.altered.append(f"{case.surrounding}: {case.text!r} -> {redacted!r}")
    return rows


def random_id_false_positives(redact: Callable[[str], str], count: int) -> float:
    """The share of random 16-digit ids, in a sentence, that come back with a placeholder."""
    hits = sum("[" in redact(f"order id {number} shipped") for number in random_ids(count))
    return hits / count


RANDOM_IDS = 20000


def table(redact: Callable[[str], str]) -> str:
    rows = measure(redact)
    lines = [
        "| category | planted (values in surroundings) | caught | recall | look-alikes | false positives |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows.values():
        recall = 100 * row.caught / row.planted
        lines.append(
            f"| `{row.category}` | {row.planted} | {row.caught} | {recall:.1f} % | {row.benign} "
            f"| {row.false_positives} |"
        )
    rate = random_id_false_positives(redact, RANDOM_IDS)
    lines.append("")
    lines.append(
        f"Random 16-digit ids ({RANDOM_IDS:,} seeded draws, in a sentence) taken for a card: {100 * rate:.2f} %"
        " (a Luhn check alone lets one in ten through)."
    )
    lines.append("")
    lines.append("Known gaps, in prose (not counted above):")
    lines.append("")
    lines.append("| category | value | redacted |")
    lines.append("|---|---|---|")
    for case in known_gap_cases():
        verdict = "yes" if caught(case, redact(case.text)) else "**no**"
        lines.append(f"| `{case.category}` | `{case.value}` | {verdict} |")
    return "\n".join(lines)
