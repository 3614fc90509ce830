//! Names, units and bucket boundaries from the OpenTelemetry GenAI semantic
//! conventions (v1.41.1, plus `gen_ai.guardrail.*` from the GenAI repository's
//! main branch), and thinktee's own `thinktee.*` names.
//!
//! Deprecated names (`gen_ai.system`, `gen_ai.usage.prompt_tokens`, ...) are
//! never emitted.

// === attributes: the inference span ===

/// `gen_ai.operation.name` (always [`OPERATION_CHAT`]).
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// The operation name of chat completions.
pub const OPERATION_CHAT: &str = "chat";
/// `gen_ai.provider.name`.
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.request.model`.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.request.stream` (bool).
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
/// `gen_ai.response.id`.
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
/// `gen_ai.response.model`.
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.response.finish_reasons` (string array, one per choice).
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.response.time_to_first_chunk` (double, seconds).
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// `gen_ai.usage.input_tokens` (cached tokens included).
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens` (reasoning tokens included).
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.reasoning.output_tokens`.
pub const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
/// `gen_ai.usage.cache_read.input_tokens`.
pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// `gen_ai.input.messages` (opt-in; a JSON string here).
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.system_instructions` (opt-in; a JSON string here).
pub const GEN_AI_SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
/// `gen_ai.output.messages` (opt-in; a JSON string here).
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// `gen_ai.token.type` on `gen_ai.client.token.usage`: `input` or `output`.
pub const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";
/// `server.address`.
pub const SERVER_ADDRESS: &str = "server.address";
/// `server.port`.
pub const SERVER_PORT: &str = "server.port";
/// `error.type`.
pub const ERROR_TYPE: &str = "error.type";
/// `http.response.status_code`, set on spans of HTTP error responses.
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";

// === attributes: guardrail events ===

/// `gen_ai.guardrail.source`: `prompt` or `completion`.
pub const GEN_AI_GUARDRAIL_SOURCE: &str = "gen_ai.guardrail.source";
/// `gen_ai.guardrail.result.type`: `severity`, `detected`, `filtered` or `error`.
pub const GEN_AI_GUARDRAIL_RESULT_TYPE: &str = "gen_ai.guardrail.result.type";
/// `gen_ai.guardrail.result.value`: the provider's value, as a string.
pub const GEN_AI_GUARDRAIL_RESULT_VALUE: &str = "gen_ai.guardrail.result.value";
/// `gen_ai.guardrail.risk.category`: the Azure category key.
pub const GEN_AI_GUARDRAIL_RISK_CATEGORY: &str = "gen_ai.guardrail.risk.category";
/// `gen_ai.guardrail.policy.id`: the custom blocklist id.
pub const GEN_AI_GUARDRAIL_POLICY_ID: &str = "gen_ai.guardrail.policy.id";

// === attributes: thinktee ===

/// Seconds from the request to the first answer text.
pub const THINKTEE_TIME_TO_FIRST_ANSWER: &str = "thinktee.time_to_first_answer";
/// Seconds from the first thinking text to the end of thinking.
pub const THINKTEE_THINKING_DURATION: &str = "thinktee.thinking.duration";
/// Where the reasoning came from: `tags`, `field` or `none`.
pub const THINKTEE_REASONING_SOURCE: &str = "thinktee.reasoning.source";
/// Thinking was never closed (bool).
pub const THINKTEE_THINKING_UNTERMINATED: &str = "thinktee.thinking.unterminated";
/// How the stream ended: `complete`, `incomplete`, `upstream_error`, `client_cancelled`.
pub const THINKTEE_OUTCOME: &str = "thinktee.outcome";
/// Whether the content filter blocked the content (bool).
pub const THINKTEE_CONTENT_FILTER_FILTERED: &str = "thinktee.content_filter.filtered";
/// The severity the content filter reported (metric attribute).
pub const THINKTEE_CONTENT_FILTER_SEVERITY: &str = "thinktee.content_filter.severity";
/// The choice a completion-side verdict annotates.
pub const THINKTEE_CONTENT_FILTER_CHOICE: &str = "thinktee.content_filter.choice";
/// `content_filter_offsets.check_offset`.
pub const THINKTEE_CONTENT_FILTER_CHECK_OFFSET: &str = "thinktee.content_filter.check_offset";
/// `content_filter_offsets.start_offset`.
pub const THINKTEE_CONTENT_FILTER_START_OFFSET: &str = "thinktee.content_filter.start_offset";
/// `content_filter_offsets.end_offset`.
pub const THINKTEE_CONTENT_FILTER_END_OFFSET: &str = "thinktee.content_filter.end_offset";
/// The kind of a parse error (`invalid_json`, `unknown_shape`, `truncated`, ...).
pub const THINKTEE_PARSE_ERROR_KIND: &str = "kind";

// === events ===

/// Span event and log record name of one content-filter verdict.
pub const EVENT_GUARDRAIL_RESULT: &str = "gen_ai.guardrail.result";
/// Span event and log record name carrying the (opt-in) messages.
pub const EVENT_OPERATION_DETAILS: &str = "gen_ai.client.inference.operation.details";

// === metrics ===

/// Histogram `{token}`, with [`GEN_AI_TOKEN_TYPE`].
pub const METRIC_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// Histogram `s`.
pub const METRIC_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
/// Histogram `s`, streaming only.
pub const METRIC_TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
/// Histogram `s`: one sample per chunk after the first.
pub const METRIC_TIME_PER_OUTPUT_CHUNK: &str = "gen_ai.client.operation.time_per_output_chunk";
/// Histogram `s`.
pub const METRIC_TIME_TO_FIRST_ANSWER: &str = "thinktee.client.time_to_first_answer";
/// Histogram `s`.
pub const METRIC_THINKING_DURATION: &str = "thinktee.client.thinking.duration";
/// Histogram `{token}`.
pub const METRIC_REASONING_TOKENS: &str = "thinktee.client.reasoning.tokens";
/// Counter `{event}`.
pub const METRIC_CONTENT_FILTER_EVENTS: &str = "thinktee.content_filter.events";
/// Counter `{record}`.
pub const METRIC_RECORDS_DROPPED: &str = "thinktee.records.dropped";
/// Counter `{error}`, with [`THINKTEE_PARSE_ERROR_KIND`].
pub const METRIC_PARSE_ERRORS: &str = "thinktee.parse.errors";

/// Bucket boundaries of the token histograms.
pub const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// Bucket boundaries of the duration histograms (seconds).
pub const DURATION_BUCKETS: [f64; 14] =
    [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
