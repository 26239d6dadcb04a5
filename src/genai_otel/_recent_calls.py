"""The LLM calls this process made recently, so that an evaluation result can land in the trace it judges.

recording.py calls :func:`remember` once at the end of every LLM call. It keeps, by ``gen_ai.response.id``,
the call's span context, request model, provider and the product attributes it was made under (those of its
start: a stream may end in another request's context, or in none), in an insertion-ordered map of at most
``GENAI_OTEL_EVALUATION_RECENT_CALLS`` entries (1024 by default): one tuple and one dict insert per call,
the oldest entry dropped when full. Nothing else is kept: not the span, not the messages.

An evaluation run (:func:`genai_otel.evaluation.run`) also collects the calls made inside each of its cases,
through a context variable read as each call starts; it is unset (one lookup per call) everywhere else.
"""

from __future__ import annotations

import contextvars
import os
from collections import OrderedDict
from typing import Any

from genai_otel.config import read_int

CAPACITY_ENV = "GENAI_OTEL_EVALUATION_RECENT_CALLS"

# (span context, gen_ai.request.model, gen_ai.provider.name, product attributes or None)
RecentCall = tuple[Any, "str | None", "str | None", "dict[str, Any] | None"]

CAPACITY_RANGE = (1, 1_000_000)
_capacity = read_int(os.environ.get(CAPACITY_ENV), CAPACITY_ENV, 1024, *CAPACITY_RANGE)
_recent: OrderedDict[str, RecentCall] = OrderedDict()
# Set by an evaluation run around each case: the calls the case's target made, as (response id, call).
case_calls: contextvars.ContextVar[list[tuple[str | None, RecentCall]] | None] = contextvars.ContextVar(
    "genai_otel_evaluation_case_calls", default=None
)


def remember(
    response_id: str | None,
    span: Any,
    model: str | None,
    provider: str | None,
    product: dict[str, Any] | None,
    collecting: list[tuple[str | None, RecentCall]] | None,
) -> None:
    """Called by recording.py as an LLM span ends, with the product attributes and the evaluation case's
    list (``case_calls``) that were current as the call started. Never raises (the caller's try covers it)."""
    if response_id is None and collecting is None:
        return
    call = (span.get_span_context(), model, provider, product)
    if response_id is not None:
        recent = _recent
        recent[response_id] = call
        if len(recent) > _capacity:
            try:  # noqa: SIM105 (contextlib.suppress would allocate on every call once full)
                recent.popitem(last=False)
            except KeyError:  # another thread emptied it first
                pass
    if collecting is not None:
        collecting.append((response_id, call))


def lookup(response_id: str) -> RecentCall | None:
    return _recent.get(response_id)
