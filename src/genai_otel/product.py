"""Product decision telemetry: the application's own decisions, next to the model calls they govern.

    with genai_otel.product_context("answer delivery question", template_id="tracking-answerer-v1",
                                    evidence_version="fastship@v17", conversation_id=ticket.id):
        answer = client.chat.completions.create(...)     # the LLM span carries the product attributes
        ...
        genai_otel.record_outcome(route="serve", first_failed_stage="passed", unsafe_claim_served=False)

Everything inside the context (LLM calls, tool spans, in asyncio tasks started inside it, and in threads
that run a copy of the context) carries the attributes. The outcome lands on the context's own span
(when it was given a name) or on the span current when the outcome is recorded, and feeds two
counters: requests by route and first failed stage, and unsafe claims served (with an exemplar that
points at the trace). Values are validated: a wrong type or an over-long value is dropped with one
warning, never raised; metric attribute values are capped in number (see ``max_distinct_values``).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from opentelemetry import baggage, metrics, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind

from genai_otel import semconv as sc
from genai_otel._encoding import encodable_text
from genai_otel._exceptions import record_exception
from genai_otel._failsafe import report_internal_error, warn_setting_once
from genai_otel._values import integer
from genai_otel.config import (
    CONTENT_ARGUMENTS,
    described,
    load_content_settings,
    read_bool,
    read_int,
    read_names,
    read_provider,
    read_text,
    setting,
    warn_unknown_arguments,
)
from genai_otel.content import ContentRecorder, ContentSettings
from genai_otel.version import __version__

PREFIX_ENV = "GENAI_OTEL_PRODUCT_PREFIX"
MAX_VALUE_LENGTH_ENV = "GENAI_OTEL_PRODUCT_MAX_VALUE_LENGTH"
MAX_DISTINCT_ENV = "GENAI_OTEL_PRODUCT_MAX_DISTINCT_VALUES"
BAGGAGE_ENV = "GENAI_OTEL_PRODUCT_BAGGAGE"
BAGGAGE_KEYS_ENV = "GENAI_OTEL_PRODUCT_BAGGAGE_KEYS"

# Keyword -> attribute suffix under the prefix, for the decision attributes genai-otel knows.
KNOWN_ATTRIBUTES: Mapping[str, str] = {
    "template_id": sc.PRODUCT_TEMPLATE_ID,
    "evidence_version": sc.PRODUCT_EVIDENCE_VERSION,
    "route": sc.PRODUCT_ANSWER_ROUTE,
    "first_failed_stage": sc.PRODUCT_FIRST_FAILED_STAGE,
    "unsafe_claim_served": sc.PRODUCT_UNSAFE_CLAIM_SERVED,
}
OVERFLOW_VALUE = "_OTHER"  # the semconv convention for values past a cardinality limit
_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_PREFIX = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class StalledLoop:
    """What the stalled-loop callback is told: the tool, its arguments' hash, and how often in a row."""

    tool_name: str
    arguments_hash: str
    repeats: int


class StalledToolLoop(Exception):
    """Raised before a tool runs again with the same arguments and no progress, if the application
    opted into it (``configure_product(raise_on_stalled_loop=True)``)."""

    def __init__(self, loop: StalledLoop) -> None:
        super().__init__(
            f"tool {loop.tool_name!r} called {loop.repeats + 1} times with the same arguments and no progress"
        )
        self.loop = loop


@dataclass(frozen=True)
class ProductSettings:
    prefix: str = sc.PRODUCT_PREFIX_DEFAULT
    max_value_length: int = 256
    # Distinct values per metric attribute (template id, evidence version, route, stage) before new ones
    # are counted as "_OTHER": an id that is accidentally per-request cannot blow up the metric store.
    max_distinct_values: int = 100
    baggage: bool = False
    baggage_keys: tuple[str, ...] = ("template_id", "evidence_version")
    tracer_provider: Any = None
    meter_provider: Any = None
    # Evaluation results (genai_otel.record_evaluation): the Logs API provider for their events, and the
    # score histogram's bucket boundaries (None: GENAI_OTEL_EVALUATION_SCORE_BUCKETS, else the default).
    logger_provider: Any = None
    evaluation_score_buckets: tuple[float, ...] | None = None
    # Tool calls: what to do when the same tool is called with the same arguments and no progress.
    on_stalled_loop: Callable[[StalledLoop], None] | None = None
    raise_on_stalled_loop: bool = False
    # Tool arguments and results are content: captured only under the same opt-in and gate as messages.
    content: ContentSettings = field(default_factory=ContentSettings)

    @classmethod
    def from_environment(cls) -> ProductSettings:
        return _product_settings({})


MAX_VALUE_LENGTH_RANGE = (1, 16384)
# Above the SDK's default cardinality limit per metric (2000) a higher cap would change nothing.
MAX_DISTINCT_VALUES_RANGE = (1, 2000)


def _is_attribute_keyword(keyword: str) -> bool:
    return keyword in KNOWN_ATTRIBUTES or bool(_KEY.match(keyword))


def _read_prefix(value: Any, name: str) -> str:
    default = sc.PRODUCT_PREFIX_DEFAULT
    prefix = read_text(
        value,
        name,
        default,
        pattern=_PREFIX,
        expected="a dotted lower-case name such as 'app' or 'shop.checkout'",
        max_length=64,
    )
    namespace = prefix.partition(".")[0]
    if namespace in sc.RESERVED_NAMESPACES:
        warn_setting_once(
            name,
            f"{described(name, value)} is in the {namespace}.* namespace, which the LLM spans and metrics "
            f"use themselves (reserved: {', '.join(sorted(sc.RESERVED_NAMESPACES))}); using {default!r}",
        )
        return default
    return prefix


def _product_settings(overrides: Mapping[str, Any]) -> ProductSettings:
    """Each setting read on its own: the argument if given, else its environment variable, else the
    default; a bad value is named in one warning and replaced (see genai_otel.config). Never raises."""

    def source(argument: str, env: str | None = None) -> tuple[Any, str]:
        if env is None:
            return overrides.get(argument), f"configure_product({argument}=...)"
        return setting(overrides, argument, env, "configure_product")

    defaults = ProductSettings()
    callback, callback_source = source("on_stalled_loop")
    if callback is not None and not callable(callback):
        warn_setting_once(
            callback_source,
            f"{described(callback_source, callback, secret=True)} is not callable; no callback",
        )
        callback = None
    return ProductSettings(
        prefix=_read_prefix(*source("prefix", PREFIX_ENV)),
        max_value_length=read_int(
            *source("max_value_length", MAX_VALUE_LENGTH_ENV),
            defaults.max_value_length,
            *MAX_VALUE_LENGTH_RANGE,
        ),
        max_distinct_values=read_int(
            *source("max_distinct_values", MAX_DISTINCT_ENV),
            defaults.max_distinct_values,
            *MAX_DISTINCT_VALUES_RANGE,
        ),
        baggage=read_bool(*source("baggage", BAGGAGE_ENV), defaults.baggage),
        baggage_keys=read_names(
            *source("baggage_keys", BAGGAGE_KEYS_ENV),
            defaults.baggage_keys,
            valid=_is_attribute_keyword,
            expected="product attribute keywords (lower_case dotted names)",
        ),
        tracer_provider=read_provider(*source("tracer_provider"), None, "get_tracer", "TracerProvider"),
        meter_provider=read_provider(*source("meter_provider"), None, "get_meter", "MeterProvider"),
        logger_provider=read_provider(*source("logger_provider"), None, "get_logger", "LoggerProvider"),
        # Read (and warned about) by genai_otel.evaluation, where the buckets are used; None: the environment.
        evaluation_score_buckets=overrides.get("evaluation_score_buckets"),
        on_stalled_loop=callback,
        raise_on_stalled_loop=read_bool(*source("raise_on_stalled_loop"), False),
        content=load_content_settings(
            {k: v for k, v in overrides.items() if k in CONTENT_ARGUMENTS}, "configure_product"
        ),
    )


class _Telemetry:
    """Tracer, meter and counters for the product API, built from the settings."""

    def __init__(self, settings: ProductSettings) -> None:
        self.settings = settings
        self.tracer = trace.get_tracer(
            "genai_otel.product", __version__, settings.tracer_provider, schema_url=sc.SCHEMA_URL
        )
        meter = metrics.get_meter(
            "genai_otel.product", __version__, settings.meter_provider, schema_url=sc.SCHEMA_URL
        )
        self.requests = meter.create_counter(
            sc.METRIC_PRODUCT_REQUESTS,
            unit=sc.UNIT_REQUESTS,
            description="Requests whose outcome the application recorded, by answer route and first failed stage.",
        )
        self.unsafe_claims = meter.create_counter(
            sc.METRIC_PRODUCT_UNSAFE_CLAIMS_SERVED,
            unit=sc.UNIT_CLAIMS,
            description="Answers served with a claim the evidence does not support.",
        )
        self.tool_duration = meter.create_histogram(
            sc.METRIC_TOOL_DURATION,
            unit=sc.UNIT_SECONDS,
            description="Duration of the application's tool executions, by tool and status.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.stalled_loops = meter.create_counter(
            sc.METRIC_TOOL_STALLED_LOOPS,
            unit=sc.UNIT_CALLS,
            description="Tool calls repeating an earlier call's tool and arguments with no progress in between.",
        )
        self.cache_lookups = meter.create_counter(
            sc.METRIC_CACHE_LOOKUPS,
            unit=sc.UNIT_LOOKUPS,
            description="Lookups in the application's own cache in front of the model, by cache and result.",
        )
        self.content = ContentRecorder(settings.content, None, settings.meter_provider)
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def name(self, suffix: str) -> str:
        return f"{self.settings.prefix}.{suffix}"

    def bounded(self, key: str, value: str) -> str:
        """``value`` for a metric attribute, or "_OTHER" once ``key`` has too many distinct values."""
        with self._lock:
            seen = self._seen.setdefault(key, set())
            if value in seen:
                return value
            if len(seen) < self.settings.max_distinct_values:
                seen.add(value)
                return value
        warn_setting_once(
            f"cardinality:{key}",
            f"{key} has more than {self.settings.max_distinct_values} distinct values; further ones are counted "
            f"as {OVERFLOW_VALUE!r} on metrics (spans keep the real value). Raise {MAX_DISTINCT_ENV} if that is "
            "intended, or keep per-request ids out of this attribute.",
        )
        return OVERFLOW_VALUE


_settings_lock = threading.Lock()
_telemetry: _Telemetry | None = None


def _build_telemetry(settings: ProductSettings) -> _Telemetry:
    try:
        return _Telemetry(settings)
    except Exception as exc:
        if settings.tracer_provider is None and settings.meter_provider is None:
            raise
        warn_setting_once(
            "configure_product(tracer_provider/meter_provider=...)",
            f"configure_product(): a provider given failed when asked for a tracer or meter "
            f"({type(exc).__name__}); using the global providers",
        )
        return _Telemetry(replace(settings, tracer_provider=None, meter_provider=None))


def _get_telemetry() -> _Telemetry:
    """The product telemetry in force, built from the environment on first use. Never raises: the
    application's own calls (tools, product contexts, outcomes) come through here."""
    global _telemetry
    telemetry = _telemetry
    if telemetry is None:
        with _settings_lock:
            if _telemetry is None:
                try:
                    _telemetry = _build_telemetry(ProductSettings.from_environment())
                except Exception:
                    report_internal_error("reading the product settings; using the defaults")
                    _telemetry = _Telemetry(ProductSettings(content=ContentSettings(hash_inputs=False)))
            telemetry = _telemetry
    return telemetry


_PRODUCT_ARGUMENTS = frozenset(ProductSettings.__dataclass_fields__) - {"content"}


def configure_product(**overrides: Any) -> ProductSettings:
    """Set product settings in code (they win over the environment); returns the settings in force.

    ``prefix``, ``max_value_length``, ``max_distinct_values``, ``baggage``, ``baggage_keys``,
    ``tracer_provider``, ``meter_provider``, ``logger_provider``, ``evaluation_score_buckets``,
    ``on_stalled_loop``, ``raise_on_stalled_loop``, and the content-capture arguments of ``instrument()``
    (``capture_message_content``, ``redact_patterns``, ...), which govern tool arguments and results and
    evaluation explanations. Each is checked on its own: a bad one is named in one warning and replaced
    by its default. Never raises."""
    global _telemetry
    try:
        unknown = set(overrides) - _PRODUCT_ARGUMENTS - CONTENT_ARGUMENTS
        if unknown:
            warn_unknown_arguments("configure_product", unknown)
        with _settings_lock:
            _telemetry = _build_telemetry(_product_settings(overrides))
            return _telemetry.settings
    except Exception:
        report_internal_error("configure_product(); the settings in force are kept")
        return _get_telemetry().settings


# --- validation ---------------------------------------------------------------------------------------------
def _valid_value(key: str, value: Any, telemetry: _Telemetry) -> Any:
    """The value if it can be an attribute, else None (with one warning naming the key)."""
    if isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        if integer(value) is not None:
            return value
        # OTLP's int64: out of it the attribute is dropped by the encoder, and on a metric point it
        # fails the export of the whole batch.
        warn_setting_once(
            f"value-range:{key}", f"product attribute {key} dropped: an integer outside the 64-bit range"
        )
        return None
    if isinstance(value, str):
        if len(value) <= telemetry.settings.max_value_length:
            return encodable_text(str(value))
        warn_setting_once(
            f"value-length:{key}",
            f"product attribute {key} dropped: {len(value)} characters, over the limit of "
            f"{telemetry.settings.max_value_length} ({MAX_VALUE_LENGTH_ENV})",
        )
        return None
    warn_setting_once(
        f"value-type:{key}",
        f"product attribute {key} dropped: a {type(value).__name__} is not a str, bool, int or float",
    )
    return None


def _attributes(values: Mapping[str, Any], telemetry: _Telemetry) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for keyword, value in values.items():
        if value is None:
            continue
        if keyword == "conversation_id":
            name = sc.GEN_AI_CONVERSATION_ID
        elif keyword in KNOWN_ATTRIBUTES:
            name = telemetry.name(KNOWN_ATTRIBUTES[keyword])
        elif _KEY.match(keyword):
            name = telemetry.name(keyword)
        else:
            warn_setting_once(
                f"key:{keyword}", f"product attribute {keyword!r} dropped: use lower_case dotted names"
            )
            continue
        checked = _valid_value(name, value, telemetry)
        if checked is not None:
            attributes[name] = checked
    return attributes


# --- the scope ----------------------------------------------------------------------------------------------
@dataclass
class ProductScope:
    """The decision context of one request. Obtained from :func:`current_scope`."""

    attributes: dict[str, Any]
    keywords: dict[str, Any]
    span: Any = None
    outcome_recorded: bool = False
    progress: Any = None
    # (tool name, arguments hash) -> [progress marker at the last such call, repeats without progress].
    tool_calls: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_current: contextvars.ContextVar[ProductScope | None] = contextvars.ContextVar(
    "genai_otel_product", default=None
)


def current_scope() -> ProductScope | None:
    return _current.get()


def span_attributes() -> dict[str, Any] | None:
    """Product attributes for a span starting now: the current scope's, else those in baggage."""
    scope = _current.get()
    if scope is not None:
        return scope.attributes
    telemetry = _telemetry
    if telemetry is None:
        # The product API never used: a downstream service that only sets GENAI_OTEL_PRODUCT_BAGGAGE=true
        # reads the baggage too. The rest of the product settings (a content store among them) is built
        # only then, not for every service's first LLM call.
        if not _baggage_in_environment():
            return None
        telemetry = _get_telemetry()
    if not telemetry.settings.baggage:
        return None
    found = {}
    for keyword in telemetry.settings.baggage_keys:
        name = telemetry.name(KNOWN_ATTRIBUTES.get(keyword, keyword))
        value = baggage.get_baggage(name)
        if isinstance(value, str):
            found[name] = value
    return found or None


_environment_baggage: bool | None = None


def _baggage_in_environment() -> bool:
    """GENAI_OTEL_PRODUCT_BAGGAGE, read once per process (a bad value is warned about as the product
    settings warn about it, under the same name, so once)."""
    global _environment_baggage
    if _environment_baggage is None:
        _environment_baggage = read_bool(os.environ.get(BAGGAGE_ENV), BAGGAGE_ENV, False)
    return _environment_baggage


def _enter(name: str | None, values: dict[str, Any]) -> tuple[ProductScope, Any, Any]:
    telemetry = _get_telemetry()
    parent = _current.get()
    keywords = {**(parent.keywords if parent else {}), **{k: v for k, v in values.items() if v is not None}}
    attributes = {**(parent.attributes if parent else {}), **_attributes(values, telemetry)}
    span = None
    context = otel_context.get_current()
    if name is not None:
        span = telemetry.tracer.start_span(
            encodable_text(str(name)), kind=SpanKind.INTERNAL, attributes=attributes
        )
        context = trace.set_span_in_context(span, context)
    if telemetry.settings.baggage:
        for keyword in telemetry.settings.baggage_keys:
            attribute = telemetry.name(KNOWN_ATTRIBUTES.get(keyword, keyword))
            value = attributes.get(attribute)
            if isinstance(value, str):
                context = baggage.set_baggage(attribute, value, context)
    scope = ProductScope(attributes=attributes, keywords=keywords, span=span)
    token = otel_context.attach(context) if context is not otel_context.get_current() else None
    return scope, token, _current.set(scope)


@contextmanager
def _scope(name: str | None, values: dict[str, Any]) -> Iterator[ProductScope]:
    try:
        scope, token, scope_token = _enter(name, values)
    except Exception:  # our bug: the application's block still runs, without product attributes
        report_internal_error("product_context")
        yield ProductScope(attributes={}, keywords={})
        return
    span = scope.span
    try:
        yield scope
    except BaseException as exc:
        if span is not None and isinstance(exc, Exception):
            try:
                record_exception(span, exc, _get_telemetry().content.policy)
            except Exception:
                report_internal_error("product_context recording an error")
        raise
    finally:
        _leave(scope_token, token, span)


def _leave(scope_token: contextvars.Token[ProductScope | None], token: Any, span: Any) -> None:
    """Undo what _enter did, each step on its own: a context can be left in another contextvars.Context
    than it was entered in (a generator stepped in copied contexts, as Starlette's iterate_in_threadpool
    does; an async generator closed by the event loop's finalizer), where neither token can be reset, and
    its span must end all the same."""
    try:
        _current.reset(scope_token)
    except ValueError:
        # "created in a different Context": that Context keeps its value, as it keeps OTel's. OTel's
        # detach below logs the mismatch once, as it does for its own start_as_current_span; not ours too.
        pass
    except Exception:
        report_internal_error("leaving product_context")
    try:
        if token is not None:
            otel_context.detach(token)
    except Exception:  # OTel's own detach logs and returns; a runtime context of someone else's may raise
        report_internal_error("leaving product_context")
    if span is not None:
        try:
            span.end()
        except Exception:
            report_internal_error("ending a product_context span")


class product_context:  # lower case: it reads as a function at the call site, like contextlib's
    """Set the application's decision context for everything inside it; a context manager and a decorator.

    ``name`` starts a span of that name (INTERNAL) for the request, on which the outcome is recorded;
    without it no span is started and the outcome goes on the span current at :func:`record_outcome`.
    Known keywords: ``template_id``, ``evidence_version``, ``conversation_id`` (recorded as
    ``gen_ai.conversation.id``); any other lower-case keyword becomes ``<prefix>.<keyword>``.
    Nested contexts inherit and override their parent's attributes.
    """

    def __init__(self, name: str | None = None, **attributes: Any) -> None:
        self._name = name
        self._values = attributes
        # One instance may be in force several times at once: nested in itself, or a module-level context
        # shared by concurrent requests (asyncio tasks, threads). Each entry keeps its own scope and exit.
        self._entries: list[tuple[ProductScope, AbstractContextManager[ProductScope]]] = []
        self._entries_lock = threading.Lock()

    def __enter__(self) -> ProductScope:
        entry = _scope(self._name, self._values)
        scope = entry.__enter__()
        with self._entries_lock:
            self._entries.append((scope, entry))
        return scope

    def __exit__(self, *exc_info: Any) -> bool | None:
        current = _current.get()
        with self._entries_lock:
            entries = self._entries
            if not entries:  # an exit without an entry is the caller's; nothing of ours to undo
                return None
            # The entry whose scope is current here is this `with`'s, in every task and thread. None is
            # when it is left in another context than it was entered in (a generator stepped in copied
            # contexts): then the latest, so that its span still ends.
            latest = len(entries) - 1
            index = next((i for i in range(latest, -1, -1) if entries[i][0] is current), latest)
            _, entry = entries.pop(index)
        return entry.__exit__(*exc_info)

    def __call__(self, function: F) -> F:
        name, values = self._name, self._values
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with _scope(name, values):
                    return await function(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with _scope(name, values):
                return function(*args, **kwargs)

        return run  # type: ignore[return-value]


def record_outcome(
    route: str | None = None,
    first_failed_stage: str | None = None,
    unsafe_claim_served: bool | None = None,
    **attributes: Any,
) -> None:
    """Record what the application decided for the current request (once per product context).

    ``route``: ``serve``, ``shorten``, ``abstain`` or your own; ``first_failed_stage``: ``passed``,
    ``evidence_admission``, ``claim_generation``, ``serving_gate`` or your own; ``unsafe_claim_served``:
    whether an answer with an unsupported claim went out. Never raises."""
    try:
        _record_outcome(route, first_failed_stage, unsafe_claim_served, attributes)
    except Exception:
        report_internal_error("record_outcome")


def _record_outcome(
    route: str | None, stage: str | None, unsafe: bool | None, extra: Mapping[str, Any]
) -> None:
    telemetry = _get_telemetry()
    scope = _current.get()
    if scope is not None:
        with scope.lock:
            if scope.outcome_recorded:
                warn_setting_once(
                    "record_outcome:twice",
                    "record_outcome called twice in one product context; the second call is ignored",
                )
                return
            scope.outcome_recorded = True
    if unsafe is not None and not isinstance(unsafe, bool):
        warn_setting_once("value-type:unsafe_claim_served", "unsafe_claim_served must be a bool; dropped")
        unsafe = None
    outcome = _attributes(
        {"route": route, "first_failed_stage": stage, "unsafe_claim_served": unsafe, **extra}, telemetry
    )
    span = scope.span if scope is not None and scope.span is not None else trace.get_current_span()
    if span.is_recording():
        span.set_attributes(outcome)
    keywords = scope.keywords if scope is not None else {}
    labels: dict[str, str] = {}
    for keyword, value in (
        ("template_id", keywords.get("template_id")),
        ("evidence_version", keywords.get("evidence_version")),
        ("first_failed_stage", stage),
    ):
        name = telemetry.name(KNOWN_ATTRIBUTES[keyword])
        if name in outcome or (scope is not None and name in scope.attributes):
            labels[name] = telemetry.bounded(name, encodable_text(str(value)))
    exemplar_context = trace.set_span_in_context(span)
    route_name = telemetry.name(sc.PRODUCT_ANSWER_ROUTE)
    request_labels = dict(labels)
    if route_name in outcome:
        request_labels[route_name] = telemetry.bounded(route_name, str(outcome[route_name]))
    telemetry.requests.add(1, request_labels, context=exemplar_context)
    if unsafe:
        telemetry.unsafe_claims.add(1, labels, context=exemplar_context)


def report_progress(marker: Any) -> None:
    """Tell stalled-loop detection that the current request made progress (new evidence, a new step)."""
    scope = _current.get()
    if scope is not None:
        scope.progress = marker
