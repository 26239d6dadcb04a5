"""Property tests: planted PII and secrets, in every position a message can hold them, never reach the
exported spans, events or logs when content capture is on.

Every example goes through the real openai client and the loopback server. Streamed answers echo the
planted text back in pieces of 1 to 7 characters, so values are split across chunk boundaries.
"""

from __future__ import annotations

import json
import os
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genai_otel import semconv as sc

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
# CI runs a fixed, reproducible sample; set PII_EXAMPLES=500 to explore with fresh random examples.
_EXPLORE = os.environ.get("PII_EXAMPLES")
EXAMPLES = settings(
    max_examples=int(_EXPLORE or 30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=_EXPLORE is None,
)

digits = st.text(string.digits, min_size=1, max_size=1)
alnum = string.ascii_letters + string.digits


def _luhn_complete(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return body + str((10 - total % 10) % 10)


# Issuer prefixes the card detector knows (Visa, Mastercard, Discover, JCB, Diners Club, UnionPay),
# for 16-digit numbers; a Luhn-valid number of another prefix is a card only where the text says so.
CARD_PREFIXES = [
    "4",
    "51",
    "55",
    "2221",
    "2720",
    "6011",
    "644",
    "65",
    "3528",
    "3589",
    "300",
    "36",
    "38",
    "62",
]


@st.composite
def cards(draw) -> str:
    prefix = draw(st.sampled_from(CARD_PREFIXES))
    number = _luhn_complete(
        prefix + draw(st.text(string.digits, min_size=15 - len(prefix), max_size=15 - len(prefix)))
    )
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(number[i : i + 4] for i in range(0, 16, 4))


@st.composite
def amex_cards(draw) -> str:
    number = _luhn_complete(
        draw(st.sampled_from(["34", "37"])) + draw(st.text(string.digits, min_size=12, max_size=12))
    )
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join((number[:4], number[4:10], number[10:]))


@st.composite
def ibans(draw) -> str:
    country = draw(st.sampled_from(["GB", "DE", "FR", "NL"]))
    bban = draw(st.text(string.ascii_uppercase, min_size=4, max_size=4)) + draw(
        st.text(string.digits, min_size=14, max_size=14)
    )
    numeric = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{bban}"


emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(string.ascii_lowercase + string.digits + "._", min_size=1, max_size=12).filter(
        lambda s: s[0] not in "._" and s[-1] not in "._"
    ),
    st.text(string.ascii_lowercase + string.digits, min_size=2, max_size=10),
    st.sampled_from(["com", "org", "io", "co.uk", "net"]),
)
# Internationalised addresses: letters of other scripts in the local part and the domain.
LETTERS = "äöüßéèçñøåłžşğıαβγδлджшяæ"
international_emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(string.ascii_lowercase + LETTERS, min_size=1, max_size=10),
    st.text(string.ascii_lowercase + LETTERS, min_size=2, max_size=10),
    st.sampled_from(["de", "com", "рф", "ελ", "xn--p1ai"]),
)
# Secrets known by the name they are given: (what is planted, what must not be exported).
named_secrets = st.one_of(
    st.builds(
        lambda name, separator, key: (f"{name}{separator}{key}", key),
        st.sampled_from(["aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", '"SecretAccessKey"']),
        st.sampled_from(["=", " = ", ": "]),
        st.text(string.ascii_letters + string.digits + "/+", min_size=40, max_size=40),
    ),
    st.builds(
        lambda scheme, user, password, host: (f"{scheme}://{user}:{password}@{host}", password),
        st.sampled_from(["postgres", "postgresql", "mysql", "redis", "amqp", "mongodb+srv", "https"]),
        st.text(string.ascii_lowercase + "_", max_size=8),
        st.text(alnum + "-_.~!$*", min_size=8, max_size=20).map(lambda p: f"{p}7!"),  # unlike any filler
        st.sampled_from(["db.internal:5432/app", "cache-1", "localhost", "10.0.0.5:6379/0"]),
    ),
)
ssns = st.builds(
    lambda a, g, s: f"{a:03d}-{g:02d}-{s:04d}",
    st.integers(1, 665).filter(lambda n: n != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
)
ipv4s = st.builds(lambda *o: ".".join(map(str, o)), *[st.integers(1, 254)] * 4)
phones = st.one_of(
    st.builds(
        lambda cc, a, b, c: f"+{cc} {a}-{b}-{c}",
        st.integers(1, 99),
        st.text(string.digits, min_size=3, max_size=3),
        st.text(string.digits, min_size=3, max_size=3),
        st.text(string.digits, min_size=4, max_size=4),
    ),
    # E.164 without separators: a country code and 7 to 12 more digits
    st.builds(
        lambda cc, rest: f"+{cc}{rest}", st.integers(1, 99), st.text(string.digits, min_size=7, max_size=12)
    ),
    # national formats: FR, DE, UK, JP, IN
    st.builds(
        lambda a, rest: f"0{a} " + " ".join(rest[i : i + 2] for i in range(0, 8, 2)),
        st.integers(1, 9),
        st.text(string.digits, min_size=8, max_size=8),
    ),
    st.builds(
        lambda area, rest: f"0{area} {rest}",
        st.integers(30, 89),
        st.text(string.digits, min_size=7, max_size=8),
    ),
    st.builds(
        lambda a, b: f"0{a} {b}", st.integers(1000, 9999), st.text(string.digits, min_size=6, max_size=6)
    ),
    st.builds(
        lambda a, b, c: f"0{a}-{b}-{c}",
        st.integers(3, 90),
        st.text(string.digits, min_size=4, max_size=4),
        st.text(string.digits, min_size=4, max_size=4),
    ),
    st.builds(
        lambda a, b: f"+91 {a} {b}", st.integers(60000, 99999), st.text(string.digits, min_size=5, max_size=5)
    ),
)
secrets = st.one_of(
    st.builds(lambda s: f"sk-proj-{s}", st.text(alnum, min_size=20, max_size=40)),
    st.builds(lambda s: f"ghp_{s}", st.text(alnum, min_size=36, max_size=36)),
    st.builds(
        lambda s: f"AKIA{s}", st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16)
    ),
    st.builds(
        lambda a, b, c: f"eyJ{a}.eyJ{b}.{c}",
        st.text(alnum, min_size=10, max_size=20),
        st.text(alnum, min_size=10, max_size=20),
        st.text(alnum, min_size=10, max_size=20),
    ),
    st.builds(lambda s: f"AIza{s}", st.text(alnum + "_-", min_size=35, max_size=35)),
)
ipv4s = ipv4s.filter(lambda ip: any(len(part) > 1 for part in ip.split(".")))  # 1.2.3.4 reads as a version
planted = st.one_of(
    emails, international_emails, cards(), amex_cards(), ibans(), ssns, ipv4s, phones, secrets
)
separators = st.sampled_from([" ", "\n", ": ", " (", ", "])
# A number right after a version word is a version, not an address (docs/content-capture.md).
VERSION_WORD_AT_END = re.compile(r"(?i)(?:version|release|build|firmware|\brev|\bver)$")
fillers = (
    st.text(string.ascii_letters + " ", max_size=20)
    .map(lambda s: s.strip() or "note")
    .filter(lambda s: not VERSION_WORD_AT_END.search(s))
)


def _sentence(filler: str, separator: str, value: str) -> str:
    return f"{filler}{separator}{value} {filler}"


def _assert_absent(telemetry, *values: str) -> None:
    exported = telemetry.exported_text()
    for value in values:
        assert value not in exported, f"{value!r} leaked"
    assert telemetry.spans()[-1].attributes.get(sc.GENAI_OTEL_CONTENT_CAPTURED) is True


@pytest.fixture
def capturing(instrument_openai):
    return instrument_openai(capture_message_content="SPAN_AND_EVENT")


def _reset(telemetry) -> None:
    telemetry.exporter.clear()
    telemetry.log_exporter.clear()


@EXAMPLES
@given(value=planted, filler=fillers, separator=separators, piece=st.integers(1, 7))
def test_plain_text_and_streamed_echo(capturing, openai_client, value, filler, separator, piece) -> None:
    _reset(capturing)
    text = _sentence(filler, separator, value)
    stream = openai_client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "system", "content": text}, {"role": "user", "content": text}],
        stream=True,
        extra_headers={"X-Fake-Echo": "1", "X-Fake-Piece-Size": str(piece)},
    )
    echoed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert value in echoed  # the model really served it, split across chunks
    _assert_absent(capturing, value)


@EXAMPLES
@given(value=planted, other=planted, filler=fillers, separator=separators)
def test_nested_tool_arguments_results_and_definitions(
    capturing, openai_client, value, other, filler, separator
) -> None:
    _reset(capturing)
    arguments = json.dumps({"customer": {"contacts": [_sentence(filler, separator, value)], "note": other}})
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": _sentence("Looks up", separator, other),
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": value}},
            },
        },
    }
    history = [
        {"role": "user", "content": "find the customer"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": _sentence(filler, separator, other)},
        {"role": "user", "content": _sentence(filler, separator, value)},
    ]
    openai_client.chat.completions.create(
        model="gpt-test", messages=history, tools=[tool], extra_headers={"X-Fake-Echo": "1"}
    )
    _assert_absent(capturing, value, other)


@EXAMPLES
@given(value=planted, filler=fillers, separator=separators, piece=st.integers(1, 7))
def test_streamed_tool_call_arguments(capturing, openai_client, value, filler, separator, piece) -> None:
    _reset(capturing)
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    stream = openai_client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": _sentence(filler, separator, value)}],
        tools=[tool],
        stream=True,
        extra_headers={"X-Fake-Echo": "1", "X-Fake-Piece-Size": str(piece)},
    )
    arguments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""
        for c in stream
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert value in json.loads(arguments)["query"]
    _assert_absent(capturing, value)


@EXAMPLES
@given(named=named_secrets, filler=fillers, separator=separators, piece=st.integers(1, 7))
def test_named_secrets_in_text_and_stream(capturing, openai_client, named, filler, separator, piece) -> None:
    _reset(capturing)
    text, secret = named
    stream = openai_client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": _sentence(filler, separator, text)}],
        stream=True,
        extra_headers={"X-Fake-Echo": "1", "X-Fake-Piece-Size": str(piece)},
    )
    assert secret in "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    _assert_absent(capturing, secret)


@EXAMPLES
@given(value=planted, filler=fillers, separator=separators)
def test_multimodal_parts(capturing, openai_client, value, filler, separator) -> None:
    _reset(capturing)
    content = [
        {"type": "text", "text": _sentence(filler, separator, value)},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "text", "text": value},
    ]
    openai_client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": content}])
    _assert_absent(capturing, value)


@EXAMPLES
@given(value=planted, filler=fillers, separator=separators)
def test_responses_instructions_and_input(capturing, openai_client, value, filler, separator) -> None:
    if not hasattr(openai_client, "responses"):
        pytest.skip("no Responses API in this openai version")
    _reset(capturing)
    list(
        openai_client.responses.create(
            model="gpt-test",
            instructions=_sentence(filler, separator, value),
            input=[
                {
                    "role": "user",
                    "content": [{"type": "input_text", "text": _sentence(filler, separator, value)}],
                }
            ],
            stream=True,
        )
    )
    _assert_absent(capturing, value)
