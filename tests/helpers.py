"""Small helpers shared by the tests."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


def chat_helpers(client: Any) -> Any:
    """The resource with the chat ``parse``/``stream`` helpers: ``chat.completions`` in newer openai
    releases, ``beta.chat.completions`` in older ones."""
    if hasattr(client.chat.completions, "parse"):
        return client.chat.completions
    return client.beta.chat.completions


def upper_redactor(text: str) -> str:
    """A custom redactor loadable as ``tests.helpers:upper_redactor``."""
    return text.upper()


class CountingExporter(SpanExporter):
    """Exports by counting: spans are not kept, so any memory growth is somebody else's."""

    def __init__(self) -> None:
        self.count = 0
        self.outcomes: dict[str, int] = {}

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            self.count += 1
            outcome = str(span.attributes.get("genai_otel.outcome", "completed"))
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return SpanExportResult.SUCCESS


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
