"""Small helpers shared by the tests."""

from __future__ import annotations

from typing import Any


def chat_helpers(client: Any) -> Any:
    """The resource with the chat ``parse``/``stream`` helpers: ``chat.completions`` in newer openai
    releases, ``beta.chat.completions`` in older ones."""
    if hasattr(client.chat.completions, "parse"):
        return client.chat.completions
    return client.beta.chat.completions


def upper_redactor(text: str) -> str:
    """A custom redactor loadable as ``tests.helpers:upper_redactor``."""
    return text.upper()
