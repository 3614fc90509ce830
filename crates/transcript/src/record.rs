//! What one transcript line holds.

use serde::{Deserialize, Serialize};
use thinktee_metrics::StreamMetrics;
use thinktee_pipeline::{FilterEvent, ReasoningSource, StreamError, StreamOutcome, Usage};

/// What the recorder knew about the request a stream answered.
///
/// Every field is optional: a file replayed offline has none, a proxy has
/// most. Missing keys read back as `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestMeta {
    /// HTTP method (`POST`).
    pub method: Option<String>,
    /// Request path (`/v1/chat/completions`).
    pub path: Option<String>,
    /// The `model` asked for in the request body.
    pub model: Option<String>,
    /// The request id (from the client, or made up by the recorder).
    pub request_id: Option<String>,
    /// The upstream the request went to (base URL or name).
    pub upstream: Option<String>,
    /// When the request started, in milliseconds since the Unix epoch.
    pub started_unix_ms: Option<u64>,
    /// The request body: JSON as sent, or a string when it was not JSON.
    /// Set it only when content capture is on; it is left out of the line
    /// when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// One finished choice of one stream: one transcript line.
///
/// Keys are written in field order. The fields from `stream` to `done` mean
/// what they mean in [`thinktee_pipeline::ChoiceRecord`] (what `thinktee
/// split --format json` prints); `outcome` and `metrics` are required when
/// reading a line back, which tells a transcript from other JSON Lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptRecord {
    /// The request, when the recorder knew it.
    #[serde(default)]
    pub request: Option<RequestMeta>,
    /// 0-based index of the stream within its input.
    pub stream: u64,
    /// The choice index.
    pub choice: u32,
    /// The first non-empty `id` of the stream.
    pub id: Option<String>,
    /// The first non-empty `model` of the stream.
    pub model: Option<String>,
    /// All thinking text, concatenated.
    pub reasoning: String,
    /// All answer text, concatenated.
    pub content: String,
    /// Where the reasoning came from.
    pub reasoning_source: ReasoningSource,
    /// The last `finish_reason`.
    pub finish_reason: Option<String>,
    /// Thinking was never closed.
    pub unterminated: bool,
    /// The last usage of the stream.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Prompt-level verdicts of the stream, then this choice's own.
    #[serde(default)]
    pub filters: Vec<FilterEvent>,
    /// Stream-level errors.
    #[serde(default)]
    pub errors: Vec<StreamError>,
    /// The stream ended with `[DONE]` (or was a whole completion body).
    pub done: bool,
    /// How the stream ended.
    pub outcome: StreamOutcome,
    /// Timings and sizes of the stream; `metrics.choices` holds this
    /// choice's entry only (none when the choice had no text).
    pub metrics: StreamMetrics,
}
