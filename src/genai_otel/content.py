"""Opt-in message content: the semconv message shapes, stream accumulation, and the fail-closed path
from a call's messages to span attributes and the ``gen_ai.client.inference.operation.details`` event.

Client adapters translate their messages into the semconv v1.41.1 JSON shapes (plain dicts and
lists, see :func:`text_part` and friends) and hand them over unredacted. This module is the only
place that decides what of it is recorded: every string goes through the redaction gate first; if
the gate cannot run, nothing of the call's content is recorded and the span says why.

With capture off, the only thing that may be computed from the messages is a stable hash of the input
messages and of the system instructions (``genai_otel.input.messages.hash``), so equal prompts can be
found without storing them: only when input hashing is on (by default only with a hash key; the rule is
``config._hashing``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from genai_otel import semconv as sc
from genai_otel._failsafe import report_internal_error
from genai_otel.content_store import StoreSettings, open_store
from genai_otel.redaction import RedactionFailed, RedactionPolicy

Message = dict[str, Any]
Part = dict[str, Any]

EVENT_NAME = sc.EVENT_INFERENCE_OPERATION_DETAILS
_SYSTEM_ROLES = ("system", "developer")


class CaptureMode(str, Enum):
    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_spans(self) -> bool:
        return self in (CaptureMode.SPAN_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def on_events(self) -> bool:
        return self in (CaptureMode.EVENT_ONLY, CaptureMode.SPAN_AND_EVENT)


# --- part and message builders, for adapters ---------------------------------------------------------------
def text_part(content: str) -> Part:
    return {"type": "text", "content": content}


def reasoning_part(content: str) -> Part:
    return {"type": "reasoning", "content": content}


def tool_call_part(call_id: str | None, name: str | None, arguments: Any) -> Part:
    part: Part = {"type": "tool_call", "name": name or ""}
    if call_id:
        part["id"] = call_id
    if arguments is not None and arguments != "":
        part["arguments"] = parse_json_or_keep(arguments)
    return part


def tool_call_response_part(call_id: str | None, response: Any) -> Part:
    part: Part = {"type": "tool_call_response", "response": response}
    if call_id:
        part["id"] = call_id
    return part


def blob_part(modality: str, mime_type: str | None, content: str) -> Part:
    """Inline binary data, base64-encoded. Recorded as its size and type unless binary capture is on."""
    part: Part = {"type": "blob", "modality": modality, "content": content}
    if mime_type:
        part["mime_type"] = mime_type
    return part


def uri_part(modality: str, uri: str, mime_type: str | None = None) -> Part:
    part: Part = {"type": "uri", "modality": modality, "uri": uri}
    if mime_type:
        part["mime_type"] = mime_type
    return part


def file_part(modality: str, file_id: str, mime_type: str | None = None) -> Part:
    part: Part = {"type": "file", "modality": modality, "file_id": file_id}
    if mime_type:
        part["mime_type"] = mime_type
    return part


def data_url_part(url: str, modality: str) -> Part:
    """An ``image_url``-style reference: a ``data:`` URL becomes a blob, anything else a uri part."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        mime_type = header[5:].split(";", 1)[0] or None
        return blob_part(modality, mime_type, data)
    return uri_part(modality, url)


def message(role: str, parts: list[Part], name: str | None = None) -> Message:
    result: Message = {"role": role, "parts": parts}
    if name:
        result["name"] = name
    return result


def parse_json_or_keep(value: Any) -> Any:
    """Tool arguments arrive as JSON text; record them as the object they encode when they do."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class RequestContent:
    """What an adapter reads from a request, in semconv shapes, unredacted."""

    input_messages: list[Message]
    system_instructions: list[Part] | None = None  # only for APIs that take instructions separately
    tool_definitions: list[dict[str, Any]] | None = None


# --- stream accumulation ------------------------------------------------------------------------------------
class _ChoiceBuffer:
    __slots__ = ("reasoning", "refusal", "role", "text", "tool_calls")

    def __init__(self) -> None:
        self.role = "assistant"
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, list[Any]] = {}  # index -> [id, name, argument pieces]


class StreamContent:
    """Pieces of the streamed answer, per choice, joined once the stream ends.

    Only strings are appended; ``None`` deltas (which some servers send) are ignored."""

    __slots__ = ("_choices",)

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceBuffer] = {}

    def _choice(self, index: int) -> _ChoiceBuffer:
        buffer = self._choices.get(index)
        if buffer is None:
            buffer = self._choices[index] = _ChoiceBuffer()
        return buffer

    def add_text(self, index: int, piece: Any) -> None:
        if isinstance(piece, str) and piece:
            self._choice(index).text.append(piece)

    def add_reasoning(self, index: int, piece: Any) -> None:
        if isinstance(piece, str) and piece:
            self._choice(index).reasoning.append(piece)

    def add_refusal(self, index: int, piece: Any) -> None:
        if isinstance(piece, str) and piece:
            self._choice(index).refusal.append(piece)

    def add_tool_call(self, index: int, call_index: int, call_id: Any, name: Any, arguments: Any) -> None:
        calls = self._choice(index).tool_calls
        call = calls.get(call_index)
        if call is None:
            call = calls[call_index] = [None, None, []]
        if isinstance(call_id, str) and call_id:
            call[0] = call_id
        if isinstance(name, str) and name:
            call[1] = name
        if isinstance(arguments, str) and arguments:
            call[2].append(arguments)

    def tool_call_count(self, index: int) -> int:
        return len(self._choice(index).tool_calls)

    def messages(self, finish_reasons: Mapping[int, str] | None, unfinished: str) -> list[Message]:
        result = []
        for index in sorted(self._choices):
            buffer = self._choices[index]
            parts: list[Part] = []
            if buffer.reasoning:
                parts.append(reasoning_part("".join(buffer.reasoning)))
            if buffer.text:
                parts.append(text_part("".join(buffer.text)))
            if buffer.refusal:
                parts.append({"type": "refusal", "content": "".join(buffer.refusal)})
            for call_index in sorted(buffer.tool_calls):
                call_id, name, pieces = buffer.tool_calls[call_index]
                parts.append(tool_call_part(call_id, name, "".join(pieces)))
            finished = (finish_reasons or {}).get(index, unfinished)
            result.append({"role": buffer.role, "parts": parts, "finish_reason": finished})
        return result


class Content:
    """The content of one call, attached to its Operation while capture is on."""

    __slots__ = ("output_messages", "request", "stream")

    def __init__(self, request: RequestContent, stream: bool) -> None:
        self.request = request
        self.output_messages: list[Message] | None = None
        self.stream = StreamContent() if stream else None


# --- hashing -----------------------------------------------------------------------------------------------
# Built once: json.dumps with options builds a new encoder per call, a fifth of a short prompt's hash.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _canonical_encoder() -> Callable[[Any], str]:
    """``_CANONICAL_JSON.encode``, or the C encoder it builds on every call, built once.

    Building it (and its circular-reference memo) is half the cost of encoding a short prompt. It is only
    used if it encodes a probe exactly as the encoder does; a circular value then fails with
    RecursionError instead of ValueError, which the callers catch alike."""
    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

        encode = c_make_encoder(None, str, encode_basestring, None, ":", ",", True, False, True)
        probe = [{"b": [1, 2.5, -0.0, 1e300, True, None], "a": "é\ud800\n", "": {}}, object]
        if "".join(encode(probe, 0)) == _CANONICAL_JSON.encode(probe):
            return lambda value: "".join(encode(value, 0))
    except Exception:
        pass
    return _CANONICAL_JSON.encode


_encode_canonical = _canonical_encoder()


def _canonical(value: Any) -> bytes:
    return _encode_canonical(value).encode("utf-8", "surrogatepass")  # lone surrogates still hash


def stable_hash(value: Any, key: bytes | None) -> str:
    data = _canonical(value)
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()[:32]
    return hashlib.sha256(data).hexdigest()[:32]


def system_prompt_of(request: RequestContent) -> list[Part] | None:
    if request.system_instructions:
        return request.system_instructions
    parts = [
        part for m in request.input_messages if m.get("role") in _SYSTEM_ROLES for part in m.get("parts", ())
    ]
    return parts or None


# --- text values, for the custom redactor ------------------------------------------------------------------
# Fields of the semconv shapes whose values the protocol or genai-otel decides, not the user: roles, part
# types, ids, tool names, MIME types, JSON Schema keywords. The custom redactor is not given them (the
# built-in detectors and patterns are), nor dictionary keys; everything else is text, everything below a
# part's own fields included (tool-call arguments and responses, schema descriptions).
_MESSAGE_FIELDS = frozenset({"role", "finish_reason"})
_PART_FIELDS = frozenset({"type", "id", "name", "modality", "mime_type", "file_id"})
_TOOL_DEFINITION_FIELDS = frozenset({"type", "name"})
_SCHEMA_KEYWORDS = frozenset({"type", "format", "required", "$ref", "$schema", "$id"})
# The walk of each content attribute; any other value (tool arguments and results) is text throughout.
_SHAPES = {
    sc.GEN_AI_INPUT_MESSAGES: "messages",
    sc.GEN_AI_OUTPUT_MESSAGES: "messages",
    sc.GEN_AI_SYSTEM_INSTRUCTIONS: "parts",
    sc.GEN_AI_TOOL_DEFINITIONS: "tool_definitions",
}
_Slot = tuple[Any, Any]  # (container, key or index) of a string in a cleaned structure


def _is_blob(value: dict[str, Any]) -> bool:
    # The test ContentRecorder._clean applies; a cleaned blob's content is its size or its payload.
    return value.get("type") == "blob" and isinstance(value.get("content"), str)


class _TextValues:
    """Where the strings of a cleaned structure sit: text values for the custom redactor, and structural
    values, which are only capped. Cleaned structures are built afresh, so they are written in place."""

    __slots__ = ("slots", "structure")

    def __init__(self) -> None:
        self.slots: list[_Slot] = []
        self.structure: list[_Slot] = []

    def values(self, container: Any, key: Any) -> None:
        value = container[key]
        if isinstance(value, str):
            self.slots.append((container, key))
        elif isinstance(value, dict):
            blob = _is_blob(value)
            for field in value:
                if blob and field == "content":
                    continue
                if blob and field in _PART_FIELDS:
                    self._structural(value, field, "values")
                else:
                    self.values(value, field)
        elif isinstance(value, list):
            for index in range(len(value)):
                self.values(value, index)

    def _structural(self, container: Any, key: Any, walk: str) -> None:
        value = container[key]
        if isinstance(value, str):
            self.structure.append((container, key))
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            self.structure.extend((value, index) for index in range(len(value)))
        else:  # not a value of ours after all (a property named "type" in a schema)
            getattr(self, walk)(container, key)

    def _fields(
        self, record: Any, structural: frozenset[str], walks: Mapping[str, str], default: str
    ) -> None:
        for field in record:
            if field in structural:
                self._structural(record, field, default)
            else:
                getattr(self, walks.get(field, default))(record, field)

    def _records(
        self, container: Any, key: Any, structural: frozenset[str], walks: Mapping[str, str]
    ) -> None:
        records = container[key]
        if not isinstance(records, list):
            self.values(container, key)
            return
        for index, record in enumerate(records):
            if isinstance(record, dict) and not _is_blob(record):
                self._fields(record, structural, walks, "values")
            else:
                self.values(records, index)

    def messages(self, container: Any, key: Any) -> None:
        self._records(container, key, _MESSAGE_FIELDS, {"parts": "parts"})

    def parts(self, container: Any, key: Any) -> None:
        self._records(container, key, _PART_FIELDS, {})

    def tool_definitions(self, container: Any, key: Any) -> None:
        self._records(container, key, _TOOL_DEFINITION_FIELDS, {"parameters": "schema"})

    def schema(self, container: Any, key: Any) -> None:
        value = container[key]
        if isinstance(value, dict) and not _is_blob(value):
            self._fields(value, _SCHEMA_KEYWORDS, {}, "schema")
        elif isinstance(value, list):
            for index in range(len(value)):
                self.schema(value, index)
        else:
            self.values(container, key)


# --- the recorder's content stage ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ContentSettings:
    mode: CaptureMode = CaptureMode.NO_CONTENT
    max_length: int = 16384
    capture_binary: bool = False
    hash_inputs: bool = False  # decided by config._hashing: on by default only with a hash key
    hash_key: bytes | None = None
    policy: RedactionPolicy | None = None
    store: StoreSettings | None = None


def _content_by_attribute(content: Content, output_messages: list[Message] | None) -> dict[str, Any]:
    """A call's content, unredacted, by the attribute it goes to (what raw storage keeps, encrypted)."""
    request = content.request
    raw: dict[str, Any] = {}
    if request.input_messages:
        raw[sc.GEN_AI_INPUT_MESSAGES] = request.input_messages
    if request.system_instructions:
        raw[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = request.system_instructions
    if request.tool_definitions:
        raw[sc.GEN_AI_TOOL_DEFINITIONS] = request.tool_definitions
    if output_messages:
        raw[sc.GEN_AI_OUTPUT_MESSAGES] = output_messages
    return raw


# A blob's summary names its type only when that is a plain MIME type or modality: the caller (a data:
# URL) or a tool chooses the text, and the summary is written here, after the detectors, where a custom
# redactor may not see it as the type field's own value.
_MIME_TYPE = re.compile(
    r"(?:application|audio|font|image|message|model|multipart|text|video)/[a-z0-9][a-z0-9.+-]{0,63}", re.ASCII
)
_MODALITIES = frozenset({"image", "audio", "video"})


def _blob_kind(mime_type: Any, modality: Any) -> str | None:
    if isinstance(mime_type, str) and _MIME_TYPE.fullmatch(mime_type.lower()):
        return mime_type
    return modality if modality in _MODALITIES else None


class ContentRecorder:
    """Turns a call's Content into redacted span attributes and the details event; fails closed."""

    def __init__(
        self,
        settings: ContentSettings,
        emit_event: Callable[[str, dict[str, Any], Any], None] | None,
        meter_provider: Any = None,
    ) -> None:
        self.settings = settings
        self.capturing = settings.mode is not CaptureMode.NO_CONTENT
        self.on_events = settings.mode.on_events
        self._emit_event = emit_event if settings.mode.on_events else None
        self.policy = settings.policy or RedactionPolicy()
        self._redactor_follows = self.policy.has_redactor
        # Decided here, at instrument(): without a store, finish() pays one attribute check.
        self.store = open_store(settings.store, meter_provider) if self.capturing else None
        # A store asked for and not opened (named in its one warning): no content then, rather than content
        # inline on the spans and events the store was set up to keep it out of. Fail closed.
        # (A blank URL asks for no store.)
        self.store_refused = (
            self.capturing
            and self.store is None
            and settings.store is not None
            and (settings.store.unusable or bool(settings.store.url.strip()))
        )

    @property
    def wanted(self) -> bool:
        """Whether adapters should read request content at all."""
        return self.capturing or self.settings.hash_inputs

    def hash_attributes(self, request: RequestContent) -> dict[str, str]:
        attributes: dict[str, str] = {}
        key = self.settings.hash_key
        if request.input_messages:
            attributes[sc.GENAI_OTEL_INPUT_MESSAGES_HASH] = stable_hash(request.input_messages, key)
        system = system_prompt_of(request)
        if system:
            attributes[sc.GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH] = stable_hash(system, key)
        return attributes

    def finish(
        self,
        content: Content,
        output_messages: list[Message] | None,
        event_attributes: Callable[[], dict[str, Any]],
        span_context: Any,
        record: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Span attributes for the content (or for its absence); emits the event in event modes.

        With call records on, ``record`` is given: in event modes the redacted content goes into it
        (the call's one record) instead of into an event of its own."""
        mode = self.settings.mode
        status: dict[str, Any] = {
            sc.GENAI_OTEL_CONTENT_CAPTURE_MODE: mode.value,
            sc.GENAI_OTEL_REDACTION_POLICY: self.policy.name,
            sc.GENAI_OTEL_REDACTION_POLICY_VERSION: self.policy.version,
        }
        if self.store_refused:
            status[sc.GENAI_OTEL_CONTENT_CAPTURED] = False
            status[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] = sc.DROPPED_STORE_MISCONFIGURED
            return status
        try:
            structured = self._redacted(content, output_messages)
        except RedactionFailed as failure:
            # A bad setting is already named in its warning.
            if failure.reason != sc.DROPPED_REDACTION_MISCONFIGURED:
                report_internal_error(f"redaction ({failure.reason}); content dropped")
            status[sc.GENAI_OTEL_CONTENT_CAPTURED] = False
            status[sc.GENAI_OTEL_CONTENT_DROPPED_REASON] = failure.reason
            return status
        status[sc.GENAI_OTEL_CONTENT_CAPTURED] = True
        if self.store is not None:  # the content goes to the store; references go where it would have
            structured, stored = self.store.divert(
                structured,
                span_context,
                lambda: _content_by_attribute(content, output_messages),
                self._emit_event is not None,
                self.policy,
            )
            status.update(stored)
        attributes = dict(status)
        if mode.on_spans:
            for key, value in structured.items():
                attributes[key] = json.dumps(value, ensure_ascii=False)
        if record is not None:
            if mode.on_events:
                record.update(structured)
        elif self._emit_event is not None:
            try:
                event = event_attributes()
                event.update(status)
                event.update(structured)
                self._emit_event(EVENT_NAME, event, span_context)
            except Exception:
                report_internal_error("emitting the content event")
        return attributes

    def preview(self, output_messages: list[Message] | None, chars: int) -> str | None:
        """The first ``chars`` characters of the output text, redacted; None without output text.

        The whole text is redacted before it is cut, so that a cut cannot split an e-mail address or a
        card number into a piece the detectors no longer recognise. Raises RedactionFailed."""
        texts = [
            part["content"]
            for message in output_messages or ()
            for part in message.get("parts", ())
            if part.get("type") == "text" and isinstance(part.get("content"), str) and part["content"]
        ]
        if not texts:
            return None
        return self.policy.redact("\n".join(texts))[:chars]

    def _redacted(self, content: Content, output_messages: list[Message] | None) -> dict[str, Any]:
        return self.redacted(_content_by_attribute(content, output_messages))

    def redacted(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """``raw`` (values by attribute name) through the gate: every string, keys included, through the
        built-in detectors and patterns, then the call's text values through the custom redactor as one
        batch with one budget, then capped. Raises RedactionFailed."""
        cleaned = {key: self._clean(value) for key, value in raw.items()}
        if self._redactor_follows:
            texts = _TextValues()
            for key in cleaned:
                getattr(texts, _SHAPES.get(key, "values"))(cleaned, key)
            results = self.policy.apply_redactor([container[key] for container, key in texts.slots])
            for (container, key), text in zip(texts.slots, results, strict=True):
                container[key] = self._cap(text)
            for container, key in texts.structure:
                container[key] = self._cap(container[key])
        return cleaned

    def _clean(self, value: Any, key: str = "") -> Any:
        """Every string (keys included) through the built-in detectors and patterns, then capped (see
        _text). Blob payloads become a size and type.

        Numbers are judged by their digits, with the key they sit under as their context: a card
        number sent as a JSON number becomes the string ``"[CARD]"``; other numbers stay numbers."""
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, Mapping):
            if value.get("type") == "blob" and isinstance(value.get("content"), str):
                return self._blob(value)
            return {self.policy.apply_detectors(str(k)): self._clean(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(item, key) for item in value]
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return self.policy.redact_number(value, key)
        return self._text(str(value))

    def _text(self, text: str) -> str:
        """A string through the built-in detectors and patterns; capped now unless the custom redactor is
        still to see it (the cap comes after all redaction)."""
        text = self.policy.apply_detectors(text)
        return text if self._redactor_follows else self._cap(text)

    def _blob(self, part: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = {
            self.policy.apply_detectors(str(k)): self._clean(v, str(k))
            for k, v in part.items()
            if k != "content"
        }
        payload = part["content"]
        if self.settings.capture_binary:
            cleaned["content"] = payload  # binary opted into explicitly; regexes would corrupt it
        else:
            size = len(payload) * 3 // 4 - payload.count("=", -2)
            kind = _blob_kind(cleaned.get("mime_type"), cleaned.get("modality"))
            cleaned["content"] = f"[omitted: {size} bytes of {kind}]" if kind else f"[omitted: {size} bytes]"
        return cleaned

    def _cap(self, text: str) -> str:
        limit = self.settings.max_length
        if len(text) <= limit:
            return text
        return f"{text[:limit]}…[truncated {len(text) - limit} chars]"
