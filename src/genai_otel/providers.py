"""Which provider an OpenAI-compatible endpoint really is, from its host and port.

An OpenAI client pointed at Ollama's ``/v1`` or at a vLLM server is not talking to OpenAI, and
``gen_ai.provider.name`` must say so. Rules map a host pattern to a provider name:

* ``api.example.com`` — that host, any port; ``api.example.com:8443`` — that host and port;
* ``*.example.com`` — any subdomain (and ``example.com`` itself), optionally with ``:port``;
* ``:11434`` — any host on that port; ``*`` — everything not matched otherwise.

The most specific matching rule wins; user rules (``GENAI_OTEL_PROVIDER_MAP`` or
``instrument(provider_map=...)``) beat the built-in ones at equal specificity. An endpoint no rule
matches is ``openai_compatible``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from genai_otel import semconv as sc
from genai_otel.config import read_mapping

PROVIDER_MAP_ENV = "GENAI_OTEL_PROVIDER_MAP"

BUILTIN_RULES: Mapping[str, str] = {
    "*.api.openai.com": sc.PROVIDER_OPENAI,  # and OpenAI's regional hosts: eu.api.openai.com
    "*.openai.azure.com": sc.PROVIDER_AZURE_OPENAI,
    "*.cognitiveservices.azure.com": sc.PROVIDER_AZURE_OPENAI,
    ":11434": sc.PROVIDER_OLLAMA,
    "api.anthropic.com": "anthropic",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "api.cohere.ai": "cohere",
    "api.cohere.com": "cohere",
    "api.moonshot.ai": "moonshot_ai",
}


class _Rule:
    __slots__ = ("host", "port", "provider", "rank", "suffix")

    def __init__(self, pattern: str, provider: str, user: bool) -> None:
        host, _, port_text = pattern.strip().lower().rpartition(":") if ":" in pattern else (pattern, "", "")
        host = host.strip().lower()
        port_text = port_text.strip()
        if port_text and not (port_text.isascii() and port_text.isdigit()):
            raise ValueError("the port is not a number")
        self.port = int(port_text) if port_text else None
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError("port out of range")
        self.suffix: str | None = None
        if host == "*" or (host == "" and self.port is not None):
            self.host = None
        elif host.startswith("*."):
            self.host = None
            self.suffix = host[2:]
            if not self.suffix:
                raise ValueError("empty domain")
        elif host and "*" not in host:
            self.host = host
        else:
            raise ValueError("cannot read the host pattern")
        if not provider or not provider.isprintable() or any(ch.isspace() for ch in provider):
            raise ValueError(f"bad provider name {provider[:60]!r}")
        self.provider = provider
        specificity = (4 if self.host else 2 if self.suffix else 0) + (1 if self.port is not None else 0)
        # Longer suffixes are more specific; user rules win ties.
        self.rank = (specificity, len(self.suffix or ""), 1 if user else 0)

    def matches(self, host: str, port: int | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return self.host == host
        if self.suffix is not None:
            return host == self.suffix or host.endswith("." + self.suffix)
        return True


def parse_rule_entries(text: str) -> tuple[dict[str, str], list[str]]:
    """``"host=provider, *.corp:8000=vllm"`` -> (mapping, the entries that are not ``pattern=provider``)."""
    rules: dict[str, str] = {}
    problems: list[str] = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        pattern, sep, provider = entry.partition("=")
        if not sep or not pattern.strip() or not provider.strip():
            problems.append(f"entry {entry[:60]!r} is not of the form pattern=provider")
            continue
        rules[pattern.strip()] = provider.strip()
    return rules, problems


def parse_rules(text: str) -> dict[str, str]:
    """``"host=provider, *.corp:8000=vllm"`` -> mapping. Raises ValueError naming the bad entry."""
    rules, problems = parse_rule_entries(text)
    if problems:
        raise ValueError(problems[0])
    return rules


def rule_problem(pattern: str, provider: str) -> str | None:
    """Why ``pattern=provider`` is not a usable rule, or None."""
    try:
        _Rule(pattern, provider, user=True)
    except ValueError as exc:
        return f"rule {pattern[:60]!r}: {exc}"
    return None


_PROVIDER_MAP_EXAMPLE = "api.example.com=openai,:8000=vllm,*.corp.example=azure.ai.openai"


def read_provider_map(value: Any, name: str = "instrument(provider_map=...)") -> dict[str, str]:
    """User rules: a mapping or ``pattern=provider,...`` text; None reads ``GENAI_OTEL_PROVIDER_MAP``. Rules
    that cannot be used are skipped, all named in one warning; a value of another type is ignored."""
    if value is None:
        value, name = os.environ.get(PROVIDER_MAP_ENV), PROVIDER_MAP_ENV
    return read_mapping(
        value,
        name,
        {},
        expected=f"pattern=provider rules (e.g. {_PROVIDER_MAP_EXAMPLE!r})",
        fallback="the built-in rules apply",
        parse_text=parse_rule_entries,
        check_entry=rule_problem,
    )


class ProviderResolver:
    """Resolves (host, port) to a provider name; results are cached per endpoint."""

    def __init__(self, user_rules: Mapping[str, str] | str | None = None) -> None:
        """``user_rules``: a mapping or ``pattern=provider,...`` text; None reads ``GENAI_OTEL_PROVIDER_MAP``.
        Unusable rules are named in one warning and skipped."""
        rules = [_Rule(pattern, provider, user=False) for pattern, provider in BUILTIN_RULES.items()]
        rules.extend(_Rule(p, v, user=True) for p, v in read_provider_map(user_rules).items())
        rules.sort(key=lambda rule: rule.rank, reverse=True)
        self._rules = rules
        self._cache: dict[tuple[str, int | None, str], str] = {}

    def resolve(
        self, host: str | None, port: int | None, default: str = sc.PROVIDER_OPENAI_COMPATIBLE
    ) -> str:
        key = ((host or "").lower(), port, default)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        provider = default
        for rule in self._rules:
            if rule.matches(key[0], port):
                provider = rule.provider
                break
        if len(self._cache) < 1024:
            self._cache[key] = provider
        return provider
