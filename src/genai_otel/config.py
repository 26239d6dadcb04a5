"""Settings: ``instrument(...)`` keyword arguments first, then environment variables, then defaults.

A bad value is named in one warning (with the values that would have been accepted) and the
default is used instead; configuration never raises into the application.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genai_otel._failsafe import warn_setting_once

TIME_PER_OUTPUT_CHUNK_ENV = "GENAI_OTEL_TIME_PER_OUTPUT_CHUNK"

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def read_bool(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    warn_setting_once(
        name, f"{name}={value!r} is not a boolean (use true or false); using {str(default).lower()}"
    )
    return default


@dataclass(frozen=True)
class Settings:
    # None: the resolver reads GENAI_OTEL_PROVIDER_MAP itself (see genai_otel.providers).
    provider_map: Mapping[str, str] | str | None = None
    # Semconv records one time_per_output_chunk point per chunk. The SDK's cost per point is many
    # times our whole per-chunk cost (docs/performance.md), and an SDK View that drops the metric
    # does not save it; this switch does.
    time_per_output_chunk: bool = True

    @classmethod
    def load(cls, **kwargs: Any) -> Settings:
        chunk_metric = kwargs.get("time_per_output_chunk")
        if chunk_metric is None:
            chunk_metric = read_bool(
                os.environ.get(TIME_PER_OUTPUT_CHUNK_ENV), TIME_PER_OUTPUT_CHUNK_ENV, True
            )
        else:
            chunk_metric = read_bool(chunk_metric, "instrument(time_per_output_chunk=...)", True)
        return cls(provider_map=kwargs.get("provider_map"), time_per_output_chunk=chunk_metric)
