"""Values the exporter cannot encode (issue 10, section 6).

A lone surrogate in a model name, in content, in a product attribute, a tool name or an error message must
not cost the batch: every string genai-otel hands to the OTel API is made encodable, the spans go through
the real OTLP/HTTP exporters into a loopback receiver, and the content a span says it captured is there.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import genai_otel
from genai_otel import semconv as sc
from genai_otel._encoding import encodable_attributes, encodable_text, encodable_value

openai = pytest.importorskip("openai")
ollama = pytest.importorskip("ollama")

LONE = "\ud800"
# Text with every kind of code point, lone surrogates included (hypothesis leaves them out by default).
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=40)


# --- the function ---------------------------------------------------------------------------------------------
@given(ANY_TEXT)
def test_any_text_becomes_encodable(text: str) -> None:
    result = encodable_text(text)
    result.encode("utf-8")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        assert len(result) <= len(text)
    else:
        assert result == text  # encodable text is never changed


def test_ascii_is_returned_as_is_and_surrogates_are_replaced_or_joined() -> None:
    text = "gpt-4o-mini"
    assert encodable_text(text) is text
    assert encodable_text(f"a{LONE}b") == "a\ufffdb"
    assert encodable_text("\ud83d\ude00 \udc80") == "\U0001f600 \ufffd"  # a pair is the character it encodes
    assert encodable_text("é ü 漢字") == "é ü 漢字"


def test_values_of_every_shape() -> None:
    value = {"k" + LONE: [f"x{LONE}", 1, {"n": LONE}], "ok": (1.5, True)}
    assert encodable_value(value) == {"k\ufffd": ["x\ufffd", 1, {"n": "\ufffd"}], "ok": (1.5, True)}
    attributes = {"a": LONE, "b": ["ok", LONE], "c": 3, "d": ("x", "y")}
    assert encodable_attributes(attributes) == {"a": "\ufffd", "b": ["ok", "\ufffd"], "c": 3, "d": ("x", "y")}


# --- a real OTLP/HTTP receiver on loopback ------------------------------------------------------------------
class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.traces: list[ExportTraceServiceRequest] = []
        self.logs: list[ExportLogsServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []

    def url(self, signal: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/{signal}"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind, store = {
            "/v1/traces": (ExportTraceServiceRequest, self.server.traces),
            "/v1/logs": (ExportLogsServiceRequest, self.server.logs),
            "/v1/metrics": (ExportMetricsServiceRequest, self.server.metrics),
        }[self.path]
        store.append(kind.FromString(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _surrogate_headers(model: str, answer: str) -> dict[str, str]:
    return {"X-Fake-Model": json.dumps(model), "X-Fake-Answer": json.dumps(answer)}


def _received_spans(receiver: _Receiver) -> list[Any]:
    return [
        span
        for request in receiver.traces
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


def _attribute(span: Any, key: str) -> Any:
    for item in span.attributes:
        if item.key == key:
            value = item.value
            return getattr(value, value.WhichOneof("value"))
    return None


def test_unencodable_strings_everywhere_lose_nothing(instrument_both, llm_server, receiver) -> None:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    telemetry = instrument_both(capture_message_content="SPAN_AND_EVENT")
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test-unused", max_retries=0)
    local = ollama.Client(host=llm_server.base_url, headers=_surrogate_headers(f"llama{LONE}", f"hi {LONE}"))
    headers = _surrogate_headers(f"gpt-test{LONE}", "answer \udc80 here")
    messages = [{"role": "user", "content": "hello"}]

    with genai_otel.product_context(f"answer{LONE}", template_id=f"tmpl{LONE}", tier=f"gold{LONE}"):
        client.chat.completions.create(model="gpt-test", messages=messages, extra_headers=headers)
        for _ in client.chat.completions.create(
            model="gpt-test", messages=messages, stream=True, extra_headers=headers
        ):
            pass
        local.chat(model="llama-test", messages=messages)
        with genai_otel.tool_call(f"look{LONE}up", arguments={f"q{LONE}": f"v{LONE}"}) as tool:
            tool.set_result(f"r{LONE}")
        with pytest.raises(ValueError), genai_otel.tool_call("failing"):
            raise ValueError(f"bad {LONE} input")
        # The client itself cannot send this model name; the span it leaves behind must still encode.
        with pytest.raises(UnicodeEncodeError):
            client.chat.completions.create(model=f"gpt-{LONE}", messages=messages)
        genai_otel.record_outcome(route=f"serve{LONE}")
    client.chat.completions.create(model="gpt-test", messages=messages)  # a span with nothing unusual

    spans = telemetry.spans()
    assert len(spans) == 8
    encode_spans(spans).SerializeToString()  # the whole batch encodes
    assert OTLPSpanExporter(endpoint=receiver.url("traces")).export(spans).name == "SUCCESS"
    received = _received_spans(receiver)
    assert sorted(span.name for span in received) == sorted(encodable_text(span.name) for span in spans)
    assert f"chat gpt-{chr(0xFFFD)}" in {span.name for span in received}

    for span in received:  # a span that says its content was captured holds it (the failing tool had none)
        if _attribute(span, sc.GENAI_OTEL_CONTENT_CAPTURED) is True and span.name != "execute_tool failing":
            assert any(
                _attribute(span, key) is not None
                for key in (
                    sc.GEN_AI_INPUT_MESSAGES,
                    sc.GEN_AI_TOOL_CALL_ARGUMENTS,
                    sc.GEN_AI_TOOL_CALL_RESULT,
                )
            ), span.name
    answered = [span for span in received if "\ufffd" in (_attribute(span, sc.GEN_AI_RESPONSE_MODEL) or "")]
    assert len(answered) == 3  # two OpenAI calls and the Ollama one answered with surrogates
    for span in answered:
        assert _attribute(span, sc.GENAI_OTEL_CONTENT_CAPTURED) is True
        output = json.loads(_attribute(span, sc.GEN_AI_OUTPUT_MESSAGES))
        assert "\ufffd" in output[0]["parts"][0]["content"]
        assert _attribute(span, sc.GEN_AI_INPUT_MESSAGES) is not None
        assert _attribute(span, "app.prompt.template_id") == "tmpl\ufffd"
        assert _attribute(span, "app.tier") == "gold\ufffd"
    (tool_span,) = [span for span in received if span.name == "execute_tool look\ufffdup"]
    assert _attribute(tool_span, sc.GENAI_OTEL_CONTENT_CAPTURED) is True
    assert json.loads(_attribute(tool_span, sc.GEN_AI_TOOL_CALL_RESULT)) == "r\ufffd"
    (failed_tool,) = [span for span in received if span.name == "execute_tool failing"]
    (event,) = failed_tool.events
    assert _attribute(event, "exception.message") == "bad \ufffd input"

    logs = telemetry.log_exporter.get_finished_logs()
    # The details event of each LLM call, and the exception event of the call the client could not send.
    names = [log.log_record.event_name for log in logs]
    assert names.count(sc.EVENT_INFERENCE_OPERATION_DETAILS) == 5
    assert names.count(sc.EVENT_CLIENT_OPERATION_EXCEPTION) == 1 and len(names) == 6
    assert OTLPLogExporter(endpoint=receiver.url("logs")).export(logs).name == "SUCCESS"
    assert sum(len(s.log_records) for r in receiver.logs[0].resource_logs for s in r.scope_logs) == 6

    metrics = telemetry.reader.get_metrics_data()
    exporter = OTLPMetricExporter(endpoint=receiver.url("metrics"))
    assert exporter.export(metrics).name == "SUCCESS"
    client.close()
    local._client.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=ANY_TEXT, answer=ANY_TEXT, value=ANY_TEXT, tool_name=ANY_TEXT, message=ANY_TEXT)
def test_planted_strings_always_encode(
    instrument_both, openai_client, telemetry, model, answer, value, tool_name, message
) -> None:
    if not getattr(telemetry, "instrumented", False):  # once: hypothesis reuses the fixtures
        instrument_both(capture_message_content="SPAN_ONLY")
        telemetry.instrumented = True
    telemetry.exporter.clear()
    with genai_otel.product_context(template_id=value):
        openai_client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "hello"}],
            extra_headers=_surrogate_headers(model, answer),
        )
        with pytest.raises(RuntimeError), genai_otel.tool_call(tool_name or "t", arguments={"a": value}):
            raise RuntimeError(message)
    spans = telemetry.spans()
    assert len(spans) == 2
    request = ExportTraceServiceRequest.FromString(encode_spans(spans).SerializeToString())
    assert sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans) == 2


class _OddServer(BaseHTTPRequestHandler):
    """Answers as OpenAI and Ollama do, with a lone surrogate (a JSON escape) in every text field."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/chat/completions"):
            body = {
                "id": "chatcmpl-\\ud800",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-\\ud800",
                "system_fingerprint": "fp-\\udc80",
                "service_tier": "tier-\\ud800",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop-\\ud800",
                        "message": {"role": "assistant", "content": "a"},
                    },
                    {"index": 1, "finish_reason": "length", "message": {"role": "assistant", "content": "b"}},
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            }
        else:
            body = {
                "model": "llama-\\ud800",
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": "a"},
                "done": True,
                "done_reason": "stop-\\udc80",
                "total_duration": 5_000_000,
                "load_duration": 1_000_000,
                "prompt_eval_count": 3,
                "prompt_eval_duration": 1_000_000,
                "eval_count": 2,
                "eval_duration": 2_000_000,
            }
        data = json.dumps(body).replace("\\\\u", "\\u").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def odd_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OddServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_unencodable_response_fields_encode_with_content_off(instrument_both, odd_server) -> None:
    """The default path (no content, no call records) checks each outside string as it is read."""
    telemetry = instrument_both()
    client = openai.OpenAI(base_url=f"{odd_server}/v1", api_key="sk-test-unused", max_retries=0)
    local = ollama.Client(host=odd_server)
    messages = [{"role": "user", "content": "hello"}]

    client.chat.completions.create(model="gpt-test", messages=messages, n=2)
    local.chat(model="llama-test", messages=messages)
    # The clients cannot send these; the spans they leave behind must still encode.
    with pytest.raises(UnicodeEncodeError):
        client.chat.completions.create(model="gpt-test", messages=messages, stop=[f"end{LONE}"])
    takes_think = "think" in inspect.signature(ollama.Client.chat).parameters  # ollama >= 0.5
    # Newer ollama clients cannot send it; 0.4 sends it JSON-escaped and gets an answer.
    with contextlib.suppress(UnicodeEncodeError):
        local.chat(
            model="llama-test",
            messages=messages,
            keep_alive=f"5m{LONE}",
            **({"think": f"high{LONE}"} if takes_think else {}),
        )

    spans = telemetry.spans()
    assert len(spans) == 4
    encode_spans(spans).SerializeToString()
    openai_span, ollama_span, failed, failed_ollama = (dict(span.attributes) for span in spans)
    assert openai_span[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-\ufffd"
    assert openai_span[sc.GEN_AI_RESPONSE_MODEL] == "gpt-\ufffd"
    assert openai_span[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop-\ufffd", "length")
    assert openai_span[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] == "fp-\ufffd"
    assert openai_span[sc.OPENAI_RESPONSE_SERVICE_TIER] == "tier-\ufffd"
    assert ollama_span[sc.GEN_AI_RESPONSE_MODEL] == "llama-\ufffd"
    assert ollama_span[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop-\ufffd",)
    assert failed_ollama[sc.OLLAMA_REQUEST_KEEP_ALIVE] == "5m\ufffd"
    if takes_think:
        assert failed_ollama[sc.OLLAMA_REQUEST_THINK] == "high\ufffd"
    assert failed[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("end\ufffd",)

    metrics = telemetry.reader.get_metrics_data()
    ExportMetricsServiceRequest(resource_metrics=_encoded_metrics(metrics)).SerializeToString()
    models = {
        point.attributes.get(sc.GEN_AI_RESPONSE_MODEL)
        for resource in metrics.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    }
    assert {"gpt-\ufffd", "llama-\ufffd"} <= models
    assert openai_span[sc.OPENAI_RESPONSE_SERVICE_TIER] in {
        point.attributes.get(sc.OPENAI_RESPONSE_SERVICE_TIER)
        for resource in metrics.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    }
    client.close()
    local._client.close()


def _encoded_metrics(metrics: Any) -> Any:
    from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics

    return encode_metrics(metrics).resource_metrics
