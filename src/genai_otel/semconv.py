"""Every attribute, metric and value name genai-otel emits, pinned to one semconv release.

The GenAI conventions moved out of the main semantic-conventions repository after v1.41.1 and are
still changing there, so we pin that release here and nowhere else. Names that the installed
``opentelemetry-semantic-conventions`` package also defines are checked against it by
``tests/test_semconv.py``.
"""

from __future__ import annotations

from typing import Final

SEMCONV_VERSION: Final = "1.41.1"
SCHEMA_URL: Final = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

# --- gen_ai.* attributes -------------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"

GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"

GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"

GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"

GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"

GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"

GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"

# --- openai.* (the OpenAI profile) --------------------------------------------------------------
OPENAI_API_TYPE: Final = "openai.api.type"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"

# --- general attributes ---------------------------------------------------------------------------
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
# The exception event's attributes (their text passes the redaction gate: docs/content-capture.md).
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"

# --- genai-otel's own attributes (no semconv equivalent) ------------------------------------------
# Why a call ended when it neither completed nor failed: "closed_early", "abandoned", "cancelled",
# "unobserved".
GENAI_OTEL_OUTCOME: Final = "genai_otel.outcome"
GENAI_OTEL_REQUEST_TOOL_DEFINITIONS_COUNT: Final = "genai_otel.request.tool_definitions.count"
GENAI_OTEL_RESPONSE_TOOL_CALLS_COUNT: Final = "genai_otel.response.tool_calls.count"
GENAI_OTEL_RESPONSE_CHUNK_COUNT: Final = "genai_otel.response.chunk_count"
# Content capture: what was captured and under which redaction policy, or why it was dropped.
GENAI_OTEL_CONTENT_CAPTURED: Final = "genai_otel.content.captured"
GENAI_OTEL_CONTENT_CAPTURE_MODE: Final = "genai_otel.content.capture_mode"
GENAI_OTEL_CONTENT_DROPPED_REASON: Final = "genai_otel.content.dropped_reason"
GENAI_OTEL_REDACTION_POLICY: Final = "genai_otel.redaction.policy"
GENAI_OTEL_REDACTION_POLICY_VERSION: Final = "genai_otel.redaction.policy_version"
# Stable hashes (SHA-256, or HMAC-SHA-256 with a key) of the input messages and system prompt.
GENAI_OTEL_INPUT_MESSAGES_HASH: Final = "genai_otel.input.messages.hash"
GENAI_OTEL_SYSTEM_INSTRUCTIONS_HASH: Final = "genai_otel.system_instructions.hash"
# Opt-in preview (GENAI_OTEL_PREVIEW_CHARS): the first N characters of the output text, redacted.
GENAI_OTEL_OUTPUT_PREVIEW: Final = "genai_otel.output.preview"
# Content store (docs/content-capture.md#the-content-store): references to the stored content in place of
# it. The four message references are not in semconv v1.41.1: they are the names the official GenAI
# utilities' upload hook writes (UTIL_GENAI_REFERENCES), kept for compatibility with readers of those. The
# tool references have no precedent there, so they are ours.
GEN_AI_INPUT_MESSAGES_REF: Final = "gen_ai.input.messages_ref"
GEN_AI_OUTPUT_MESSAGES_REF: Final = "gen_ai.output.messages_ref"
GEN_AI_SYSTEM_INSTRUCTIONS_REF: Final = "gen_ai.system_instructions_ref"
GEN_AI_TOOL_DEFINITIONS_REF: Final = "gen_ai.tool.definitions_ref"
GENAI_OTEL_TOOL_CALL_ARGUMENTS_REF: Final = "genai_otel.tool.call.arguments_ref"
GENAI_OTEL_TOOL_CALL_RESULT_REF: Final = "genai_otel.tool.call.result_ref"
UTIL_GENAI_REFERENCES: Final = frozenset(
    {
        GEN_AI_INPUT_MESSAGES_REF,
        GEN_AI_OUTPUT_MESSAGES_REF,
        GEN_AI_SYSTEM_INSTRUCTIONS_REF,
        GEN_AI_TOOL_DEFINITIONS_REF,
    }
)
GENAI_OTEL_CONTENT_STORE: Final = "genai_otel.content.store"
DROPPED_STORE_UNAVAILABLE: Final = "store_unavailable"
DROPPED_STORE_MISCONFIGURED: Final = "store_misconfigured"
METRIC_CONTENT_STORE_DROPPED: Final = "genai_otel.content.store.dropped"
UNIT_DOCUMENTS: Final = "{document}"

# --- well-known values ----------------------------------------------------------------------------
OPERATION_CHAT: Final = "chat"
OPERATION_EMBEDDINGS: Final = "embeddings"
OPERATION_TEXT_COMPLETION: Final = "text_completion"
OPERATION_GENERATE_CONTENT: Final = "generate_content"
OPERATION_EXECUTE_TOOL: Final = "execute_tool"

PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"
# Not a semconv well-known value (semconv v1.41.1 has none for Ollama); custom values are allowed.
PROVIDER_OLLAMA: Final = "ollama"
# What an OpenAI client talks to when its base URL matches no known provider: honest, not "openai".
PROVIDER_OPENAI_COMPATIBLE: Final = "openai_compatible"

OUTPUT_TYPE_TEXT: Final = "text"
OUTPUT_TYPE_JSON: Final = "json"
OUTPUT_TYPE_SPEECH: Final = "speech"
OUTPUT_TYPE_IMAGE: Final = "image"

TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

OPENAI_API_TYPE_CHAT_COMPLETIONS: Final = "chat_completions"
OPENAI_API_TYPE_RESPONSES: Final = "responses"

# Finish reasons, in the vocabulary of the semconv output-message schema.
FINISH_STOP: Final = "stop"
FINISH_LENGTH: Final = "length"
FINISH_CONTENT_FILTER: Final = "content_filter"
FINISH_TOOL_CALL: Final = "tool_call"
FINISH_ERROR: Final = "error"

# Why a call's content was dropped (genai_otel.content.dropped_reason).
DROPPED_REDACTION_FAILED: Final = "redaction_failed"
DROPPED_REDACTION_TIMEOUT: Final = "redaction_timeout"
DROPPED_REDACTION_OVERLOADED: Final = "redaction_overloaded"
DROPPED_REDACTION_MISCONFIGURED: Final = "redaction_misconfigured"
DROPPED_INTERNAL_ERROR: Final = "internal_error"

OUTCOME_CLOSED_EARLY: Final = "closed_early"
OUTCOME_ABANDONED: Final = "abandoned"
OUTCOME_CANCELLED: Final = "cancelled"
# Our own instrumentation could not read the response (a bug of ours, logged); the call went on.
OUTCOME_UNOBSERVED: Final = "unobserved"

# error.type for a stream that ended without the provider's end marker (no finish reason).
ERROR_STREAM_TRUNCATED: Final = "stream_truncated"
# error.type when the provider's error code could not pass the redaction gate (semconv's fallback value).
ERROR_TYPE_OTHER: Final = "_OTHER"

# --- metrics ----------------------------------------------------------------------------------------
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"

UNIT_SECONDS: Final = "s"
UNIT_TOKENS: Final = "{token}"

DURATION_BUCKETS: Final = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_BUCKETS: Final = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)

# --- product decision telemetry (genai-otel's own; attribute prefix configurable, "app" by default) ---
PRODUCT_PREFIX_DEFAULT: Final = "app"
# Top-level namespaces of the attributes on our spans, events and metric points (ours, semconv's, the
# providers' and OpenTelemetry's own), and the provider namespaces semconv puts on GenAI spans: a product
# prefix under one of them would overwrite or pose as those attributes ("gen_ai" + "request.model").
RESERVED_NAMESPACES: Final = frozenset(
    {
        "gen_ai",
        "genai_otel",
        "openai",
        "ollama",
        "azure",
        "aws",
        "server",
        "error",
        "http",
        "exception",
        "otel",
        "telemetry",
    }
)
# Suffixes under the product prefix: "app.prompt.template_id" and so on.
PRODUCT_TEMPLATE_ID: Final = "prompt.template_id"
PRODUCT_EVIDENCE_VERSION: Final = "evidence.version"
PRODUCT_ANSWER_ROUTE: Final = "answer.route"
PRODUCT_FIRST_FAILED_STAGE: Final = "first_failed_stage"
PRODUCT_UNSAFE_CLAIM_SERVED: Final = "unsafe_claim_served"

# Tool execution: status of the call, stalled-loop detection, the arguments' hash.
GENAI_OTEL_TOOL_STATUS: Final = "genai_otel.tool.status"
GENAI_OTEL_TOOL_STALLED: Final = "genai_otel.tool.stalled"
GENAI_OTEL_TOOL_REPEATS: Final = "genai_otel.tool.repeats"
GENAI_OTEL_TOOL_ARGUMENTS_HASH: Final = "genai_otel.tool.call.arguments.hash"
# Cost estimated from usage with a versioned rate card; throughput after the first chunk.
GENAI_OTEL_COST: Final = "genai_otel.usage.cost"
GENAI_OTEL_COST_CURRENCY: Final = "genai_otel.usage.cost.currency"
GENAI_OTEL_RATE_CARD_VERSION: Final = "genai_otel.rate_card.version"
GENAI_OTEL_POST_FIRST_CHUNK_TOKENS_PER_SECOND: Final = (
    "genai_otel.response.post_first_chunk_tokens_per_second"
)
GENAI_OTEL_TIMING_MALFORMED: Final = "genai_otel.response.timing_malformed"

METRIC_PRODUCT_REQUESTS: Final = "genai_otel.product.requests"
METRIC_PRODUCT_UNSAFE_CLAIMS_SERVED: Final = "genai_otel.product.unsafe_claims_served"
METRIC_TOOL_DURATION: Final = "genai_otel.tool.duration"
METRIC_TOOL_STALLED_LOOPS: Final = "genai_otel.tool.stalled_loops"
METRIC_CLIENT_COST: Final = "genai_otel.client.cost"
# Opt-in (GENAI_OTEL_ACTIVE_REQUESTS): LLM calls in flight, a stream until its span ends.
METRIC_CLIENT_ACTIVE_REQUESTS: Final = "genai_otel.client.active_requests"
# genai_otel.record_cache_lookup(): the application's own cache in front of the model (semantic or exact).
METRIC_CACHE_LOOKUPS: Final = "genai_otel.cache.lookups"
GENAI_OTEL_CACHE_NAME: Final = "genai_otel.cache.name"
GENAI_OTEL_CACHE_RESULT: Final = "genai_otel.cache.result"
CACHE_RESULT_HIT: Final = "hit"
CACHE_RESULT_MISS: Final = "miss"
UNIT_LOOKUPS: Final = "{lookup}"
UNIT_REQUESTS: Final = "{request}"
UNIT_CLAIMS: Final = "{claim}"
UNIT_CALLS: Final = "{call}"
UNIT_USD: Final = "{USD}"

# --- server-side timings a model server reports in its response (Ollama does) ----------------------
# Semconv's model-server metrics. A server without OpenTelemetry of its own can only reach them through
# the client that relays its figures; see docs/ollama.md for which figures feed them.
METRIC_SERVER_TIME_TO_FIRST_TOKEN: Final = "gen_ai.server.time_to_first_token"
METRIC_SERVER_TIME_PER_OUTPUT_TOKEN: Final = "gen_ai.server.time_per_output_token"
SERVER_TIME_TO_FIRST_TOKEN_BUCKETS: Final = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
SERVER_TIME_PER_OUTPUT_TOKEN_BUCKETS: Final = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
)

# --- ollama.* (genai-otel's Ollama profile; semconv v1.41.1 has none) --------------------------------
OLLAMA_REQUEST_KEEP_ALIVE: Final = "ollama.request.keep_alive"
OLLAMA_REQUEST_NUM_CTX: Final = "ollama.request.num_ctx"
OLLAMA_REQUEST_REPEAT_PENALTY: Final = "ollama.request.repeat_penalty"
OLLAMA_REQUEST_THINK: Final = "ollama.request.think"
# Ollama's own timings of the request, converted from nanoseconds to seconds.
OLLAMA_RESPONSE_TOTAL_DURATION: Final = "ollama.response.total_duration"
OLLAMA_RESPONSE_LOAD_DURATION: Final = "ollama.response.load_duration"
OLLAMA_RESPONSE_PROMPT_EVAL_DURATION: Final = "ollama.response.prompt_eval_duration"
OLLAMA_RESPONSE_EVAL_DURATION: Final = "ollama.response.eval_duration"
# Derived from them: load + prompt evaluation, and eval_duration / (eval_count - 1).
OLLAMA_RESPONSE_TIME_TO_FIRST_TOKEN: Final = "ollama.response.time_to_first_token"
OLLAMA_RESPONSE_TIME_PER_OUTPUT_TOKEN: Final = "ollama.response.time_per_output_token"
# Images attached to the request (counted, never recorded); not Ollama-specific, hence genai_otel.*.
GENAI_OTEL_REQUEST_IMAGES_COUNT: Final = "genai_otel.request.images.count"

# --- events ------------------------------------------------------------------------------------------
# One per call with content in an event mode, or with call records on (docs/telemetry.md#call-records).
EVENT_INFERENCE_OPERATION_DETAILS: Final = "gen_ai.client.inference.operation.details"
# One per LLM call that raised, severity WARN: exception.type, exception.message, exception.stacktrace (1.41.0).
EVENT_CLIENT_OPERATION_EXCEPTION: Final = "gen_ai.client.operation.exception"

# --- evaluation results (semconv event gen_ai.evaluation.result; metrics are genai-otel's own) -------
EVENT_EVALUATION_RESULT: Final = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"
# Product attributes (under the product prefix) of an evaluation run's cases: "app.evaluation.run" etc.
PRODUCT_EVALUATION_RUN: Final = "evaluation.run"
PRODUCT_EVALUATION_RUN_ID: Final = "evaluation.run_id"
PRODUCT_EVALUATION_CASE: Final = "evaluation.case"
METRIC_EVALUATION_SCORE: Final = "genai_otel.evaluation.score"
METRIC_EVALUATION_RESULTS: Final = "genai_otel.evaluation.results"
UNIT_SCORE: Final = "1"
UNIT_RESULTS: Final = "{result}"
# Scores come on 0..1 and 1..5 scales: tenths up to 1 (finer near the top, where quality floors sit),
# then halves up to 5.
EVALUATION_SCORE_BUCKETS: Final = (
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.75,
    0.8,
    0.85,
    0.9,
    0.95,
    1.0,
    1.5,
    2.0,
    2.5,
    3.0,
    3.5,
    4.0,
    4.5,
    5.0,
)
