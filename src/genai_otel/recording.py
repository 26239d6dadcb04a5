"""The only module that turns an :class:`~genai_otel.operation.Operation` into spans and metrics.

A :class:`Recorder` owns one tracer and the four semconv histograms. ``Recorder.start`` opens a
CLIENT span with the request attributes (all of them, so that samplers see them) and returns a
:class:`Call`. A call ends exactly once, in one of these ways:

* ``succeed()``: the provider answered; a stream that ended without the provider's end marker is
  recorded as ``error.type=stream_truncated``.
* ``fail(exc)``: an ``Exception`` escaped the client: status ERROR, ``error.type``, the exception
  recorded through the redaction gate (see :mod:`genai_otel._exceptions`).
* ``interrupt(outcome)``: the caller stopped it: closed a stream early, abandoned it to the garbage
  collector, or was cancelled (``asyncio.CancelledError``, ``KeyboardInterrupt``). Not an error;
  ``genai_otel.outcome`` says which. Such partial calls do not feed
  ``gen_ai.client.operation.duration``, whose percentiles describe whole operations.

Every string handed to the OTel API (span name, attributes, event, metric attributes) is made encodable
first (:mod:`genai_otel._encoding`): one value an exporter cannot encode would lose the whole batch.
"""

from __future__ import annotations

import time
from array import array
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Status, StatusCode

from genai_otel import semconv as sc
from genai_otel._encoding import encodable_attributes, encodable_text, encodable_value
from genai_otel._exceptions import GatedException, gated_error_code, record_exception
from genai_otel._exceptions import error_type as _error_type
from genai_otel._failsafe import report_internal_error
from genai_otel._recent_calls import case_calls as evaluation_case_calls
from genai_otel._recent_calls import remember as remember_call
from genai_otel.content import EVENT_NAME, ContentRecorder, ContentSettings
from genai_otel.cost import RateCard
from genai_otel.operation import Operation
from genai_otel.product import span_attributes as product_span_attributes
from genai_otel.redaction import RedactionFailed
from genai_otel.version import __version__

_NO_CONTEXT = otel_context.Context()
# For points that should carry no exemplar (the active-requests counter, a gauge to Prometheus, which
# carries no exemplars on gauges; all chunk gaps of a stream but its slowest): a context whose span is not
# sampled, so the SDK keeps none. An empty context would not do: the SDK then reads the current one.
_NO_EXEMPLAR = trace.set_span_in_context(trace.INVALID_SPAN, _NO_CONTEXT)
_perf_ns = time.perf_counter_ns
_wall_ns = time.time_ns

# Profile attributes that also go on metrics (bounded values only; the system fingerprint changes
# with every deployment of the provider's model and stays on spans).
_METRIC_PROFILE_KEYS = (sc.OPENAI_RESPONSE_SERVICE_TIER,)
# Content as the span carries it (JSON text); a call record carries content only in event modes.
_SPAN_CONTENT_KEYS = frozenset(
    (
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        sc.GEN_AI_SYSTEM_INSTRUCTIONS,
        sc.GEN_AI_TOOL_DEFINITIONS,
    )
)


class Recorder:
    """Tracer and instruments for one instrumentor."""

    def __init__(
        self,
        instrumenting_module: str,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        time_per_output_chunk: bool = True,
        content: ContentSettings | None = None,
        logger_provider: Any = None,
        rate_card: RateCard | None = None,
        call_records: bool = False,
        preview_chars: int = 0,
        active_requests: bool = False,
        server_metrics: bool = False,
    ) -> None:
        self.time_per_output_chunk_enabled = time_per_output_chunk
        # Set by uninstrument(): a wrapper of ours left in place (another instrumentation wrapped on top of
        # it, or restored it) passes calls straight through.
        self.retired = False
        # Decided here, once: with these off, a call pays nothing for them but a falsy check.
        self.call_records = call_records
        self.preview_chars = preview_chars
        self._logger: Any = None
        if call_records or (content is not None and content.mode.on_events):
            self._logger = _logs.get_logger(
                instrumenting_module, __version__, logger_provider, schema_url=sc.SCHEMA_URL
            )
        # Otherwise the logger is made by the first call that raises (for semconv's exception event): a
        # logger provider that cannot make one then costs that event, not the tracer and meter given with it.
        self._logger_source = (instrumenting_module, logger_provider)
        self.content = ContentRecorder(content or ContentSettings(), self._emit_event, meter_provider)
        # Adapters read the request's messages for capture and hashes, and the output for the preview.
        self.reads_content = self.content.wanted or preview_chars > 0
        self.collects_output = self.content.capturing or preview_chars > 0
        self.rate_card = rate_card
        self.tracer = trace.get_tracer(
            instrumenting_module, __version__, tracer_provider, schema_url=sc.SCHEMA_URL
        )
        meter = metrics.get_meter(instrumenting_module, __version__, meter_provider, schema_url=sc.SCHEMA_URL)
        self.duration = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit=sc.UNIT_SECONDS,
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.token_usage = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit=sc.UNIT_TOKENS,
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(sc.TOKEN_BUCKETS),
        )
        self.time_to_first_chunk = meter.create_histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK,
            unit=sc.UNIT_SECONDS,
            description="Time from issuing the request to receiving the first output chunk.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.time_per_output_chunk = meter.create_histogram(
            sc.METRIC_TIME_PER_OUTPUT_CHUNK,
            unit=sc.UNIT_SECONDS,
            description="Time between the end of one output chunk and the end of the next, for each "
            "chunk after the first.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.active_requests = None
        if active_requests:
            self.active_requests = meter.create_up_down_counter(
                sc.METRIC_CLIENT_ACTIVE_REQUESTS,
                unit=sc.UNIT_REQUESTS,
                description="GenAI calls in flight: started and not yet ended (a stream until its span ends).",
            )
        self.cost = None
        if rate_card is not None:
            self.cost = meter.create_counter(
                sc.METRIC_CLIENT_COST,
                unit=f"{{{rate_card.currency}}}",
                description="Estimated cost of GenAI calls, from recorded usage and a versioned rate card.",
            )
        # Only for servers that report their own timings (Ollama), and only when asked for; see
        # Operation.server_time_*. Off, neither instrument exists and a call tests one attribute.
        self.server_time_to_first_token: Any = None
        self.server_time_per_output_token: Any = None
        if server_metrics:
            self.server_time_to_first_token = meter.create_histogram(
                sc.METRIC_SERVER_TIME_TO_FIRST_TOKEN,
                unit=sc.UNIT_SECONDS,
                description="Time to generate first token for successful responses.",
                explicit_bucket_boundaries_advisory=list(sc.SERVER_TIME_TO_FIRST_TOKEN_BUCKETS),
            )
            self.server_time_per_output_token = meter.create_histogram(
                sc.METRIC_SERVER_TIME_PER_OUTPUT_TOKEN,
                unit=sc.UNIT_SECONDS,
                description="Time per output token generated after the first token for successful responses.",
                explicit_bucket_boundaries_advisory=list(sc.SERVER_TIME_PER_OUTPUT_TOKEN_BUCKETS),
            )

    def emit_exception(
        self, exc: BaseException, gated: GatedException | None, span: Any, timestamp: int
    ) -> None:
        """Semconv's ``gen_ai.client.operation.exception`` event: the span's exception event as a log record
        (the same gated texts), for calls whose trace was sampled out too. Nothing is gated for a logger
        that would drop it."""
        try:
            logger = self._logger
            if logger is None:
                module, provider = self._logger_source
                logger = self._logger = _logs.get_logger(
                    module, __version__, provider, schema_url=sc.SCHEMA_URL
                )
            enabled = getattr(logger, "enabled", None)
            if enabled is not None and not enabled(event_name=sc.EVENT_CLIENT_OPERATION_EXCEPTION):
                return
            if gated is None:
                gated = GatedException(exc, self.content.policy)
            self._emit_event(
                sc.EVENT_CLIENT_OPERATION_EXCEPTION,
                gated.event_attributes(),
                span,
                timestamp,
                _logs.SeverityNumber.WARN,
            )
        except Exception:
            report_internal_error("emitting the exception event")

    def _emit_event(
        self,
        name: str,
        attributes: dict[str, Any],
        span: Any,
        timestamp: int | None = None,
        severity: _logs.SeverityNumber = _logs.SeverityNumber.INFO,
    ) -> None:
        logger = self._logger
        enabled = getattr(logger, "enabled", None)
        if enabled is not None and not enabled(event_name=name):
            return
        logger.emit(
            event_name=name,
            attributes=encodable_attributes(attributes),
            context=trace.set_span_in_context(span),
            severity_number=severity,
            severity_text=severity.name,  # "INFO", "WARN"
            timestamp=timestamp,
        )

    def start(self, op: Operation) -> Call:
        start_wall = _wall_ns()
        start_perf = _perf_ns()
        name = encodable_text(f"{op.name} {op.request_model}") if op.request_model else op.name
        common = _common_attributes(op)
        attributes = _request_attributes(op, common)
        product = product_span_attributes()
        if product:
            attributes.update(product)
            encodable_attributes(attributes)  # baggage values were never checked
        span = self.tracer.start_span(
            name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start_wall
        )
        call = Call(self, op, span, start_perf, start_wall, common)
        if op.stream and self.time_per_output_chunk_enabled:
            # Gaps between output chunks are buffered and recorded when the stream ends, so a chunk
            # costs an append; streams longer than a few thousand chunks flush as they go.
            call.chunk_gaps = array("q")
        # What the call is made under, kept for its end: a stream may end in another request's context, in
        # none (consumed after its product_context exited), or on the abandoned-streams thread.
        call.product = product
        call.case_calls = evaluation_case_calls.get()
        if self.active_requests is not None:
            active = {sc.GEN_AI_OPERATION_NAME: op.name, sc.GEN_AI_PROVIDER_NAME: op.provider}
            if op.request_model is not None:
                active[sc.GEN_AI_REQUEST_MODEL] = op.request_model
            # Last: once counted, the call is certain to end (and be discounted) exactly once.
            try:
                self.active_requests.add(1, active, _NO_EXEMPLAR)
                call.active = active
            except Exception:  # the call is traced all the same, just not counted
                report_internal_error("counting active requests")
        return call


class Call:
    """One in-flight operation: its span, its clock, and for streams its chunk timing."""

    __slots__ = (
        "_recorder",
        "_unended",
        "active",
        "case_calls",
        "chunk_count",
        "chunk_gaps",
        "common",
        "context",
        "first_chunk_ns",
        "last_chunk_ns",
        "op",
        "product",
        "request_ns",
        "span",
        "start_ns",
        "start_wall_ns",
    )
    # Set by Recorder.start, not here: what the call was made under, for its end (see remember_call).
    product: dict[str, Any] | None
    case_calls: list[tuple[str | None, Any]] | None

    def __init__(
        self,
        recorder: Recorder,
        op: Operation,
        span: Any,
        start_ns: int,
        start_wall_ns: int,
        common: dict[str, Any] | None = None,
    ) -> None:
        self._recorder = recorder
        # The request attributes shared with metric points, encodable (see _common_attributes).
        self.common = _common_attributes(op) if common is None else common
        # One token, taken by the first ending: list.pop() is atomic, so two threads ending the call at once
        # (a stream read to its end in one while another closes it) cannot both record it.
        self._unended = [True]
        self.op = op
        self.span = span
        self.start_ns = start_ns
        self.start_wall_ns = start_wall_ns
        # When the client sent the request, if later than the call: a lazy stream (Ollama's) sends it on the
        # first next(). Semconv times the first chunk from there; the span and its duration start at the call.
        self.request_ns = 0
        self.first_chunk_ns = 0
        self.last_chunk_ns = 0
        self.chunk_count = 0
        self.chunk_gaps: array[int] | None = None
        # A context holding the span, for the metric points the call records: an exemplar then points at
        # this call's span whatever is current when it ends (a stream ends in the caller's context).
        self.context: Any = None

    @property
    def ended(self) -> bool:
        return not self._unended

    def _claim_the_ending(self) -> bool:
        try:
            self._unended.pop()
        except IndexError:
            return False
        return True

    def activate(self) -> object:
        """Make the span current (so HTTP spans nest under it); pass the token to ``deactivate``."""
        context = trace.set_span_in_context(self.span)
        if self.context is None:
            self.context = context
        return otel_context.attach(context)

    def metric_context(self) -> Any:
        """The context the call's metric points are recorded in: the span's."""
        context = self.context
        if context is None:
            context = self.context = trace.set_span_in_context(self.span, _NO_CONTEXT)
        return context

    @staticmethod
    def deactivate(token: object) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]

    def flush_chunk_gaps(self) -> None:
        """Record buffered chunk gaps now; for very long streams."""
        gaps = self.chunk_gaps
        if gaps:
            self.chunk_gaps = array("q")
            try:
                self._record_gaps(gaps, _metric_attributes(self.op, self.common), self.metric_context())
            except Exception:
                report_internal_error("recording chunk gaps")

    # --- endings ---------------------------------------------------------------------------------
    def succeed(self) -> None:
        if not self._claim_the_ending():
            return
        op = self.op
        if (
            op.stream
            and op.error_type is None
            and not op.finish_reasons
            and op.name != sc.OPERATION_EMBEDDINGS
        ):
            op.error_type = sc.ERROR_STREAM_TRUNCATED
        self._finish(_perf_ns(), None, None)

    def fail(self, exc: BaseException) -> None:
        if not self._claim_the_ending():
            return
        self._finish(_perf_ns(), exc, None)

    def interrupt(self, outcome: str, *, at_last_activity: bool = False) -> None:
        """End a call the caller stopped. ``at_last_activity`` dates the end at the last chunk
        (for streams found abandoned by the garbage collector, whose collection time means nothing)."""
        if not self._claim_the_ending():
            return
        end = (self.last_chunk_ns or self.start_ns) if at_last_activity else _perf_ns()
        self._finish(end, None, outcome)

    def _finish(self, end_perf_ns: int, exc: BaseException | None, outcome: str | None) -> None:
        span = self.span
        try:
            op = self.op
            if exc is not None:
                error_type: str | None = _error_type(exc)
            elif op.error_type is not None and op.error_type != sc.ERROR_STREAM_TRUNCATED:
                # A code the provider reported inside its response: text of theirs, so it passes the gate.
                error_type = gated_error_code(op.error_type, self._recorder.content.policy)
            else:
                error_type = op.error_type
            recorder = self._recorder
            recording = span.is_recording()
            attributes = (
                response_attributes(op)
                if recording or op.content is not None or recorder.call_records
                else {}
            )
            if self.first_chunk_ns:
                attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (
                    self.first_chunk_ns - (self.request_ns or self.start_ns)
                ) / 1e9
                attributes[sc.GENAI_OTEL_RESPONSE_CHUNK_COUNT] = self.chunk_count
                if op.output_tokens is not None and op.output_tokens > 1:
                    _add_throughput(attributes, op.output_tokens, self.first_chunk_ns, end_perf_ns)
            # Response attributes are encodable as built, and so are the numbers and genai-otel's own
            # constants added below; what else comes from outside (an error code, a rate card's names,
            # content, the preview) clears this, and the whole set is checked once before it is set.
            encodable = True
            cost = self._cost() if recorder.rate_card is not None else None
            if cost is not None:
                encodable = False
                card = self._recorder.rate_card
                attributes[sc.GENAI_OTEL_COST] = cost
                attributes[sc.GENAI_OTEL_COST_CURRENCY] = card.currency  # type: ignore[union-attr]
                attributes[sc.GENAI_OTEL_RATE_CARD_VERSION] = card.version  # type: ignore[union-attr]
            if outcome is not None:
                attributes[sc.GENAI_OTEL_OUTCOME] = outcome
            if error_type is not None:
                encodable = False
                attributes[sc.ERROR_TYPE] = error_type
                status_code = getattr(exc, "status_code", None)
                # Not every client's status_code is HTTP's (ollama.ResponseError has -1 for an error
                # reported inside a 200 stream).
                if isinstance(status_code, int) and 100 <= status_code <= 599:
                    attributes[sc.HTTP_RESPONSE_STATUS_CODE] = status_code
            record = {} if recorder.call_records else None
            # Content and preview are redacted (a redactor budget each) only for something that exports
            # them: a sampled-out span in SPAN_ONLY mode has nowhere to put content, and a call record
            # must not claim content.captured for content that went nowhere.
            if op.content is not None and (recording or record is not None or recorder.content.on_events):
                encodable = False
                if recorder.preview_chars:
                    self._add_preview(attributes, outcome, error_type)
                if recorder.content.capturing and (recording or recorder.content.on_events):
                    try:
                        output = self._output_messages(outcome, error_type)
                        attributes.update(self._content_attributes(attributes, output, record))
                    except Exception:  # fail closed: no content rather than unredacted content
                        report_internal_error("recording message content")
                        attributes[sc.GENAI_OTEL_CONTENT_CAPTURED] = False
                        attributes[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] = sc.DROPPED_INTERNAL_ERROR
                        record = {} if record is not None else None
            if record is not None:
                self._emit_record(attributes, record, end_perf_ns, error_type)
            gated = None
            if recording:
                span.set_attributes(attributes if encodable else encodable_attributes(attributes))
                if exc is not None:
                    gated = record_exception(span, exc, self._recorder.content.policy)
                elif error_type is not None:
                    span.set_status(Status(StatusCode.ERROR, error_type))
            if exc is not None:
                recorder.emit_exception(exc, gated, span, self.start_wall_ns + (end_perf_ns - self.start_ns))
            self._record_metrics(end_perf_ns, error_type, outcome)
            # So that an evaluation naming this response lands in this trace (genai_otel.evaluation).
            remember_call(op.response_id, span, op.request_model, op.provider, self.product, self.case_calls)
        except Exception:
            report_internal_error("recording the end of a call")
        finally:
            if self._recorder.active_requests is not None:
                try:
                    active = getattr(self, "active", None)
                    if active is not None:
                        self._recorder.active_requests.add(-1, active, _NO_EXEMPLAR)
                except Exception:
                    report_internal_error("counting active requests")
            try:
                span.end(end_time=self.start_wall_ns + (end_perf_ns - self.start_ns))
            except Exception:
                report_internal_error("ending a span")

    def _cost(self) -> float | None:
        card = self._recorder.rate_card
        if card is None:
            return None
        op = self.op
        return card.cost(
            op.request_model, op.response_model, op.input_tokens, op.output_tokens, op.cache_read_input_tokens
        )

    def _output_messages(self, outcome: str | None, error_type: str | None) -> Any:
        content = self.op.content
        assert content is not None
        output = content.output_messages
        if output is None and content.stream is not None:
            unfinished = outcome or (sc.FINISH_ERROR if error_type is not None else sc.FINISH_STOP)
            output = content.stream.messages(self.op.finish_reasons, unfinished)
        return output

    def _add_preview(self, attributes: dict[str, Any], outcome: str | None, error_type: str | None) -> None:
        try:
            output = self._output_messages(outcome, error_type)
            preview = self._recorder.content.preview(output, self._recorder.preview_chars)
        except RedactionFailed as failure:  # fail closed: no preview rather than a raw one
            # A bad setting is already named in its warning; anything else is reported once per reason.
            if failure.reason != sc.DROPPED_REDACTION_MISCONFIGURED:
                report_internal_error(f"redacting the output preview ({failure.reason}); preview dropped")
            return
        except Exception:  # a bug: fail closed too
            report_internal_error("redacting the output preview; preview dropped")
            return
        if preview is not None:
            attributes[sc.GENAI_OTEL_OUTPUT_PREVIEW] = preview

    def _content_attributes(
        self, end_attributes: dict[str, Any], output: Any, record: dict[str, Any] | None
    ) -> dict[str, Any]:
        op = self.op
        content = op.content
        assert content is not None
        return self._recorder.content.finish(
            content, output, lambda: {**request_attributes(op), **end_attributes}, self.span, record
        )

    def _emit_record(
        self, attributes: dict[str, Any], content: dict[str, Any], end_perf_ns: int, error_type: str | None
    ) -> None:
        """The call record: every attribute of the call, its trace context, and content only where the
        capture mode puts content on events (``content`` holds it then)."""
        try:
            record = request_attributes(self.op)
            if self.product:
                record.update(self.product)
            for key, value in attributes.items():
                if key not in _SPAN_CONTENT_KEYS:
                    record[key] = value
            record.update(content)
            self._recorder._emit_event(
                EVENT_NAME,
                record,
                self.span,
                self.start_wall_ns + (end_perf_ns - self.start_ns),
                _logs.SeverityNumber.WARN if error_type is not None else _logs.SeverityNumber.INFO,
            )
        except Exception:
            report_internal_error("emitting the call record")

    def _record_metrics(self, end_perf_ns: int, error_type: str | None, outcome: str | None) -> None:
        recorder = self._recorder
        op = self.op
        attributes = _metric_attributes(op, self.common)
        context = self.metric_context()
        if outcome is None:
            recorder.duration.record(
                (end_perf_ns - self.start_ns) / 1e9,
                attributes if error_type is None else {**attributes, sc.ERROR_TYPE: error_type},
                context,
            )
        if op.input_tokens is not None:
            recorder.token_usage.record(
                op.input_tokens, {**attributes, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}, context
            )
        if op.output_tokens is not None:
            recorder.token_usage.record(
                op.output_tokens, {**attributes, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}, context
            )
        if self.first_chunk_ns:
            recorder.time_to_first_chunk.record(
                (self.first_chunk_ns - (self.request_ns or self.start_ns)) / 1e9, attributes, context
            )
        if recorder.server_time_to_first_token is not None:
            if op.server_time_to_first_token is not None:
                recorder.server_time_to_first_token.record(op.server_time_to_first_token, attributes, context)
            if op.server_time_per_output_token is not None:
                recorder.server_time_per_output_token.record(
                    op.server_time_per_output_token, attributes, context
                )
        if self.chunk_gaps:
            self._record_gaps(self.chunk_gaps, attributes, context)
            self.chunk_gaps = None
        if recorder.cost is not None:
            cost = self._cost()
            if cost is not None:
                cost_attributes = {
                    key: attributes[key]
                    for key in (sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_RESPONSE_MODEL)
                    if key in attributes
                }
                cost_attributes[sc.GENAI_OTEL_RATE_CARD_VERSION] = recorder.rate_card.version  # type: ignore[union-attr]
                recorder.cost.add(cost, cost_attributes, context)

    def _record_gaps(self, gaps: array[int], attributes: dict[str, Any], context: Any) -> None:
        """Record the chunk gaps; the slowest carries the stream's exemplar, the others none. The SDK keeps
        one exemplar per bucket, so offering it every gap (~1.4 µs each) would buy only the last of each;
        the slowest gap is the one to follow to its trace."""
        record = self._recorder.time_per_output_chunk.record
        slowest = gaps.index(max(gaps))
        record(gaps[slowest] / 1e9, attributes, context)
        for gap in gaps[:slowest]:
            record(gap / 1e9, attributes, _NO_EXEMPLAR)
        for gap in gaps[slowest + 1 :]:
            record(gap / 1e9, attributes, _NO_EXEMPLAR)


def _add_throughput(attributes: dict[str, Any], output_tokens: int, first_ns: int, end_ns: int) -> None:
    """Tokens per second after the first chunk: (output_tokens - 1) / (total - time to first chunk).

    A stream whose remaining tokens took no time at all cannot be right; it is flagged, not hidden."""
    after_first = (end_ns - first_ns) / 1e9
    if after_first <= 0:
        attributes[sc.GENAI_OTEL_TIMING_MALFORMED] = True
    else:
        attributes[sc.GENAI_OTEL_POST_FIRST_CHUNK_TOKENS_PER_SECOND] = (output_tokens - 1) / after_first


# --- attribute building -----------------------------------------------------------------------------
# Written out rather than looped over: this runs on every call, and a loop over (key, value) pairs would
# build them all each time. Strings from outside (models, addresses, ids, reasons) are made encodable as
# they are read; numbers come from the adapters' readers as int or float and need no check; op.name and
# op.output_type are genai-otel's own constants.
def _common_attributes(op: Operation) -> dict[str, Any]:
    """The request attributes spans and metrics share, encodable; a call's metric points reuse them."""
    provider = op.provider
    attributes: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: op.name,
        sc.GEN_AI_PROVIDER_NAME: provider if provider.isascii() else encodable_text(provider),
    }
    model = op.request_model
    if model is not None:
        attributes[sc.GEN_AI_REQUEST_MODEL] = model if model.isascii() else encodable_text(model)
    address = op.server_address
    if address is not None:
        attributes[sc.SERVER_ADDRESS] = address if address.isascii() else encodable_text(address)
        if op.server_port is not None:
            attributes[sc.SERVER_PORT] = op.server_port
    return attributes


def request_attributes(op: Operation) -> dict[str, Any]:
    """The span's request attributes, encodable."""
    return _request_attributes(op, _common_attributes(op))


def _request_attributes(op: Operation, common: dict[str, Any]) -> dict[str, Any]:
    attributes = dict(common)
    if op.stream:
        attributes[sc.GEN_AI_REQUEST_STREAM] = True
    if op.temperature is not None:
        attributes[sc.GEN_AI_REQUEST_TEMPERATURE] = op.temperature
    if op.top_p is not None:
        attributes[sc.GEN_AI_REQUEST_TOP_P] = op.top_p
    if op.top_k is not None:
        attributes[sc.GEN_AI_REQUEST_TOP_K] = op.top_k
    if op.max_tokens is not None:
        attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] = op.max_tokens
    if op.seed is not None:
        attributes[sc.GEN_AI_REQUEST_SEED] = op.seed
    if op.stop_sequences is not None:
        attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = encodable_value(op.stop_sequences)
    if op.frequency_penalty is not None:
        attributes[sc.GEN_AI_REQUEST_FREQUENCY_PENALTY] = op.frequency_penalty
    if op.presence_penalty is not None:
        attributes[sc.GEN_AI_REQUEST_PRESENCE_PENALTY] = op.presence_penalty
    if op.choice_count is not None:
        attributes[sc.GEN_AI_REQUEST_CHOICE_COUNT] = op.choice_count
    if op.output_type is not None:
        attributes[sc.GEN_AI_OUTPUT_TYPE] = op.output_type
    if op.encoding_formats is not None:
        attributes[sc.GEN_AI_REQUEST_ENCODING_FORMATS] = encodable_value(op.encoding_formats)
    if op.conversation_id is not None:
        attributes[sc.GEN_AI_CONVERSATION_ID] = encodable_text(op.conversation_id)
    if op.tool_definitions is not None:
        attributes[sc.GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT] = op.tool_definitions
    if op.request_attributes:
        attributes.update(encodable_attributes(op.request_attributes))
    return attributes


def response_attributes(op: Operation) -> dict[str, Any]:
    """The span's response attributes, encodable."""
    attributes: dict[str, Any] = {}
    response_id = op.response_id
    if response_id is not None:
        attributes[sc.GEN_AI_RESPONSE_ID] = (
            response_id if response_id.isascii() else encodable_text(response_id)
        )
    model = op.response_model
    if model is not None:
        attributes[sc.GEN_AI_RESPONSE_MODEL] = model if model.isascii() else encodable_text(model)
    reasons = op.finish_reasons
    if reasons:
        if len(reasons) == 1 and 0 in reasons:
            reason = reasons[0]
            attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [
                reason if type(reason) is str and reason.isascii() else encodable_value(reason)
            ]
        else:
            attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = encodable_value(
                [reasons[index] for index in sorted(reasons)]
            )
    if op.input_tokens is not None:
        attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] = op.input_tokens
    if op.output_tokens is not None:
        attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = op.output_tokens
    if op.cache_read_input_tokens is not None:
        attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = op.cache_read_input_tokens
    if op.cache_creation_input_tokens is not None:
        attributes[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = op.cache_creation_input_tokens
    if op.reasoning_output_tokens is not None:
        attributes[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = op.reasoning_output_tokens
    if op.embedding_dimensions is not None:
        attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = op.embedding_dimensions
    if op.tool_calls is not None:
        attributes[sc.GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT] = op.tool_calls
    if op.response_attributes:
        attributes.update(encodable_attributes(op.response_attributes))
    return attributes


def _metric_attributes(op: Operation, common: dict[str, Any]) -> dict[str, Any]:
    """``common`` (encodable already), plus the response model and the bounded profile attributes."""
    model = op.response_model
    profile = op.response_attributes
    if model is None and not profile:
        return common  # the SDK copies what it keeps, so sharing it between points is safe
    attributes = dict(common)
    if model is not None:
        attributes[sc.GEN_AI_RESPONSE_MODEL] = model if model.isascii() else encodable_text(model)
    if profile:
        for key in _METRIC_PROFILE_KEYS:
            value = profile.get(key)
            if value is not None:
                attributes[key] = encodable_value(value)
    return attributes
