"""Small helpers shared by the tests."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
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


def live_objects(*classes: type) -> int:
    """How many objects of exactly these classes the garbage collector still tracks."""
    return sum(1 for obj in gc.get_objects() if type(obj) in classes)


def growth_in_our_code(workload: Callable[[], object]) -> tuple[int, list[Any]]:
    """Bytes that ``workload`` left allocated in genai_otel's own files, and the largest entries."""
    tracemalloc.start(1)
    try:
        before = tracemalloc.take_snapshot()
        workload()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    ours = [
        stat
        for stat in after.compare_to(before, "filename")
        if "genai_otel" in stat.traceback[0].filename and stat.size_diff > 0
    ]
    return sum(stat.size_diff for stat in ours), ours[:5]


def run_auto_instrumented(
    script: Path, *, python: Path | None = None, cwd: Path | None = None, **env: str
) -> list[dict[str, Any]]:
    """Run ``script`` under ``opentelemetry-instrument`` with the console exporter; its spans as dicts.

    ``python``: the interpreter of another venv (its ``opentelemetry-instrument`` is used), run in ``cwd``."""
    interpreter = python or Path(sys.executable)
    instrument = interpreter.with_name("opentelemetry-instrument")
    environment = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "auto-test",
        **env,
    }
    done = subprocess.run(
        [str(instrument), str(interpreter), str(script)],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    spans, depth, buffer = [], 0, ""
    for line in done.stdout.splitlines():  # the console exporter prints one JSON object per span
        if line.startswith("{") and depth == 0:
            buffer = ""
        depth += line.count("{") - line.count("}")
        buffer += line + "\n"
        if depth == 0 and buffer.strip():
            spans.append(json.loads(buffer))
            buffer = ""
    return spans


# A function tool both clients accept in the same shape.
TRACK_PARCEL_TOOL = {
    "type": "function",
    "function": {
        "name": "track_parcel",
        "description": "Look a parcel up",
        "parameters": {"type": "object", "properties": {"parcel_id": {"type": "string"}}},
    },
}


class _BytesHandler(BaseHTTPRequestHandler):
    server: BytesServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", self.server.content_type)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)


class BytesServer(ThreadingHTTPServer):
    """A loopback HTTP server answering every POST with the exact bytes set by :meth:`serve`: the wire
    shapes recorded from real servers, which the fake server does not produce."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _BytesHandler)
        self.body = b""
        self.content_type = "application/json"
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        Thread(target=self.serve_forever, daemon=True).start()

    def serve(self, *documents: Any, stream: str = "") -> None:
        """One JSON body, or a stream of them: ``sse`` (OpenAI, ending in ``[DONE]``) or ``ndjson`` (Ollama)."""
        if stream == "sse":
            self.body = (
                "".join(f"data: {json.dumps(d)}\n\n" for d in documents).encode() + b"data: [DONE]\n\n"
            )
            self.content_type = "text/event-stream"
        elif stream == "ndjson":
            self.body = "".join(json.dumps(d) + "\n" for d in documents).encode()
            self.content_type = "application/x-ndjson"
        else:
            (document,) = documents
            self.body = document if isinstance(document, bytes) else json.dumps(document).encode()
            self.content_type = "application/json"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
