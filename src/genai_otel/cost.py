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
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genai_otel._failsafe import warn_setting_once

RATE_CARD_ENV = "GENAI_OTEL_RATE_CARD"


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
        version = data.get("version")
        if not isinstance(version, str) or not version:
            raise ValueError("a rate card needs a non-empty 'version'")
        models = data.get("models")
        if not isinstance(models, Mapping) or not models:
            raise ValueError("a rate card needs a non-empty 'models' mapping")
        prices = {}
        for model, entry in models.items():
            try:
                cached = entry.get("cached_input")
                prices[str(model)] = Price(
                    input=float(entry["input"]),
                    output=float(entry["output"]),
                    cached_input=None if cached is None else float(cached),
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ValueError(
                    f"model {model!r}: needs numeric 'input' and 'output' prices ({exc})"
                ) from exc
        return cls(version=version, prices=prices, currency=str(data.get("currency", "USD")))

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


def load_rate_card(value: Any) -> RateCard | None:
    """``instrument(rate_card=...)``: a RateCard, a mapping or a path; else ``GENAI_OTEL_RATE_CARD``.

    A card that cannot be read is named in one warning and no cost is recorded."""
    source = "instrument(rate_card=...)"
    if value is None:
        value = os.environ.get(RATE_CARD_ENV) or None
        source = RATE_CARD_ENV
    if value is None or isinstance(value, RateCard):
        return value
    try:
        return RateCard.from_mapping(value) if isinstance(value, Mapping) else RateCard.load(str(value))
    except (OSError, ValueError) as exc:
        warn_setting_once(source, f"{source}: rate card not usable ({exc}); no cost will be recorded")
        return None
