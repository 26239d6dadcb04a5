"""Cost estimated from recorded usage with a versioned rate card. No prices are built in.

A rate card is a JSON file (or the same structure in code)::

    {
      "version": "acme-contract-2026-11",
      "currency": "USD",
      "models": {
        "gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
        "gpt-4.1-*":   {"input": 2.00, "output": 8.00}
      }
    }

Prices are per million tokens. A model matches an entry by its exact name, or by an entry ending in
``*`` that the user wrote on purpose; the response model is tried before the request model. A model no
entry matches gets no cost: nothing is guessed. ``cached_input`` defaults to ``input``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RATE_CARD_ENV = "GENAI_OTEL_RATE_CARD"


_CURRENCY = re.compile(r"^[A-Za-z]{1,16}$")


def _shown(value: Any) -> str:
    return repr(value)[:60] if isinstance(value, str) else f"a {type(value).__name__}"


def _amount(value: Any) -> float | None:
    """A price per million tokens: a finite, non-negative real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    amount = float(value)
    return amount if math.isfinite(amount) and amount >= 0 else None


def _price(model: Any, entry: Any) -> tuple[Price | None, str | None]:
    if not isinstance(model, str) or not model or not model.isprintable():
        return None, f"model name {_shown(model)} is not a printable text"
    if isinstance(entry, Price):
        entry = {"input": entry.input, "output": entry.output, "cached_input": entry.cached_input}
    if not isinstance(entry, Mapping):
        return None, f"model {_shown(model)}: a {type(entry).__name__}, not a mapping of prices"
    amounts = {key: _amount(entry.get(key)) for key in ("input", "output")}
    cached = entry.get("cached_input")
    cached_amount = None if cached is None else _amount(cached)
    if None in amounts.values() or (cached is not None and cached_amount is None):
        return None, (
            f"model {_shown(model)}: needs 'input' and 'output' (and optional 'cached_input') prices that "
            "are non-negative numbers"
        )
    return Price(input=amounts["input"], output=amounts["output"], cached_input=cached_amount), None  # type: ignore[arg-type]


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cached_input: float | None = None


@dataclass(frozen=True)
class RateCard:
    version: str
    prices: Mapping[str, Price]
    currency: str = "USD"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RateCard:
        """The card ``data`` describes; raises ValueError naming everything wrong with it."""
        card, problems = cls.parse(data)
        if problems or card is None:
            raise ValueError("; ".join(problems))
        return card

    @classmethod
    def parse(cls, data: Any) -> tuple[RateCard | None, list[str]]:
        """(card, problems): each model entry is checked on its own and a bad one is left out; the card
        is None when it has no usable version, currency or model. Accepts a mapping or a RateCard."""
        if isinstance(data, RateCard):
            data = {"version": data.version, "currency": data.currency, "models": data.prices}
        if not isinstance(data, Mapping):
            kind = "null" if data is None else f"a {type(data).__name__}"
            return None, [f"a rate card is a JSON object, not {kind}"]
        problems: list[str] = []
        version = data.get("version")
        if (
            not isinstance(version, str)
            or not version.strip()
            or not version.isprintable()
            or len(version) > 128
        ):
            problems.append("a rate card needs a non-empty 'version' text (at most 128 characters)")
        currency = data.get("currency", "USD")
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            problems.append("'currency' must be a currency code such as 'USD' (letters, at most 16)")
        models = data.get("models")
        prices: dict[str, Price] = {}
        if not isinstance(models, Mapping) or not models:
            problems.append("a rate card needs a non-empty 'models' mapping")
        unusable = bool(problems)
        if isinstance(models, Mapping):
            for model, entry in list(models.items()):
                price, problem = _price(model, entry)
                if price is None:
                    problems.append(problem or f"model {_shown(model)}: unusable")
                else:
                    prices[model] = price
        if unusable or not prices:
            return None, problems
        return cls(version=version, prices=prices, currency=currency), problems

    @classmethod
    def load(cls, path: str) -> RateCard:
        with open(path, encoding="utf-8") as handle:
            return cls.from_mapping(json.load(handle))

    def price_for(self, *models: str | None) -> Price | None:
        for model in models:
            if not model:
                continue
            price = self.prices.get(model)
            if price is not None:
                return price
        for model in models:
            if not model:
                continue
            best = None
            for pattern, price in self.prices.items():
                wildcard = pattern.endswith("*") and model.startswith(pattern[:-1])
                if wildcard and (best is None or len(pattern) > len(best[0])):
                    best = (pattern, price)
            if best is not None:
                return best[1]
        return None

    def cost(
        self,
        request_model: str | None,
        response_model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cached_input_tokens: int | None,
    ) -> float | None:
        """Estimated cost of one call, or None when the model or the usage is unknown."""
        price = self.price_for(response_model, request_model)
        if price is None or input_tokens is None or output_tokens is None:
            return None
        cached = min(cached_input_tokens or 0, input_tokens)
        cached_price = price.cached_input if price.cached_input is not None else price.input
        return (
            (input_tokens - cached) * price.input + cached * cached_price + output_tokens * price.output
        ) / 1e6
