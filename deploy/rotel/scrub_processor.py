"""The Collector's ``transform/scrub`` stage (deploy/otel-collector/config.yaml), as a rotel processor.

rotel (https://rotel.dev, ``pip install rotel``) is a small OpenTelemetry collector that runs Python
processors in its own embedded interpreter::

    rotel-agent start --otlp-with-trace-processor deploy/rotel/scrub_processor.py \
        --otlp-with-logs-processor deploy/rotel/scrub_processor.py ...

It removes message-content attributes and masks obvious PII and credentials in every remaining string
attribute, exactly like the Collector config: same keys, same key patterns, same regular expressions in
the same order (tests/e2e/test_deploy_static.py compares the two). The end-to-end tests run it between
an auto-instrumented app and Arize Phoenix. Only the standard library is used: rotel's interpreter has
no site-packages.
"""

from __future__ import annotations

import re
from typing import Any

# Removed outright: message content as semconv v1.41.1 defines it.
CONTENT_KEYS: tuple[str, ...] = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    # An evaluator's explanation quotes the answer it judged (gen_ai.evaluation.result events).
    "gen_ai.evaluation.explanation",
)

# Removed outright: content keys of older semconv drafts and of OpenInference.
CONTENT_KEY_PATTERNS: tuple[str, ...] = (
    "^gen_ai[.](prompt|completion)([.].*)?$",
    "^(input|output)[.]value$",
    "^llm[.](input|output)_messages([.].*)?$",
)

# Masked in every remaining string value, in this order (credentials before cards: keys hold digit
# runs). Valid both as RE2 (the Collector) and as Python patterns.
MASKS: tuple[tuple[str, str], ...] = (
    ("(sk|pk|rk)-[A-Za-z0-9_-]{16,}", "[SECRET]"),
    ("(AKIA|ASIA)[A-Z0-9]{16}", "[SECRET]"),
    ("eyJ[A-Za-z0-9_-]{5,}[.][A-Za-z0-9_-]{5,}[.][A-Za-z0-9_-]*", "[JWT]"),
    ("[Bb]earer [A-Za-z0-9._~+/=-]{8,}", "Bearer [SECRET]"),
    ("[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}", "[EMAIL]"),
    ("[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{1,7}", "[CARD]"),
    ("[0-9]{3}-[0-9]{2}-[0-9]{4}", "[SSN]"),
)

_KEY_RES = tuple(re.compile(pattern) for pattern in CONTENT_KEY_PATTERNS)
_MASK_RES = tuple((re.compile(pattern), replacement) for pattern, replacement in MASKS)


def is_content_key(key: str) -> bool:
    return key in CONTENT_KEYS or any(regex.search(key) for regex in _KEY_RES)


def scrub_text(text: str) -> str:
    # The replacements hold no backslashes or group references, so re.sub takes them literally, as
    # Go's ReplaceAllString does in the Collector.
    for regex, replacement in _MASK_RES:
        text = regex.sub(replacement, text)
    return text


def scrub_attributes(attributes: Any) -> None:
    """Drop content keys from a rotel ``AttributesList`` and mask its string values, in place.

    In place on purpose: rotel hands out live lists, and assigning a new list to an event's
    ``attributes`` is rejected (or, assigning the same list back, hangs the pipeline in rotel
    0.0.1a15). Works on anything with ``len``, ``del``, item access and ``KeyValue``-like items; a
    masked value is written through ``new_string_value`` of the item's own class, so this module needs
    no rotel import."""
    for index in range(len(attributes) - 1, -1, -1):
        kv = attributes[index]
        if is_content_key(kv.key):
            del attributes[index]
            continue
        value = kv.value.value if kv.value is not None else None
        if isinstance(value, str):
            masked = scrub_text(value)
            if masked != value:
                attributes[index] = type(kv).new_string_value(kv.key, masked)


def process_spans(resource_spans: Any) -> None:
    """rotel's trace hook: called with one ResourceSpans at a time, edited in place."""
    for scope_spans in resource_spans.scope_spans:
        for span in scope_spans.spans:
            scrub_attributes(span.attributes)
            for event in span.events:
                scrub_attributes(event.attributes)


def process_logs(resource_logs: Any) -> None:
    """rotel's log hook: GenAI content events are log records whose attributes carry the content."""
    for scope_logs in resource_logs.scope_logs:
        for record in scope_logs.log_records:
            scrub_attributes(record.attributes)
            body = record.body.value if record.body is not None else None
            if isinstance(body, str):
                masked = scrub_text(body)
                if masked != body:
                    record.body = type(record.body)(masked)
