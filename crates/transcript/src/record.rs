//! What one transcript line holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thinktee_metrics::StreamMetrics;
use thinktee_pipeline::{SplitChoice, StreamOutcome};

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
    /// An id unique to this exchange even when clients reuse request ids
    /// (thinktee's proxy: a UUIDv7, the name of its raw capture file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    /// The request ids the upstream answered with, by header name
    /// (`x-request-id`, `apim-request-id`, `x-ms-request-id`): what its
    /// operators ask for. Left out of the line when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub upstream_request_ids: BTreeMap<String, String>,
    /// The trace the exchange's span belongs to (32 hex digits): the
    /// caller's, from its `traceparent`, or a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The exchange's span (16 hex digits): the parent named in the
    /// `traceparent` the upstream got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// Request headers chosen to be recorded (user, session, tags), by
    /// lower-case name; several values of one header joined by `, `. Left
    /// out of the line when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The upstream the request went to (base URL or name).
    pub upstream: Option<String>,
    /// When the request started, in milliseconds since the Unix epoch.
    pub started_unix_ms: Option<u64>,
    /// The HTTP status the client got (the upstream's, or the proxy's own
    /// for an exchange it answered itself: 502, 504, 408, 413, 503).
    pub status: Option<u16>,
    /// The request body: JSON as sent, or a string when it was not JSON.
    /// Set it only when content capture is on; it is left out of the line
    /// when `None`. An [`Assembler`](crate::Assembler) puts it on the first
    /// record of each stream only, so that a large prompt is not copied
    /// once per choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// One finished choice of one stream: one transcript line.
///
/// Keys are written in field order: `dropped_before` (only when not 0),
/// `request`, then the keys of [`thinktee_pipeline::SplitChoice`] (what
/// `thinktee split --format json` prints: `stream` to `done`, flattened),
/// then `outcome` and `metrics`.
/// `outcome` and `metrics` are required when reading a line back, which
/// tells a transcript from other JSON Lines.
///
/// As in `SplitChoice`, the stream-level fields that could be large
/// (errors, prompt-level filters, and here the request body) are on the
/// first record of each stream only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptRecord {
    /// How many records were dropped since the line before this one was
    /// written: a writer shared by many streams (`thinktee-tee`'s
    /// `TranscriptWriter`) drops the records of streams that end while its
    /// queue is full, counts them, and marks the next line it writes with
    /// the count. Left out of the line when 0 (and read back as 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_before: u64,
    /// The request, when the recorder knew it.
    #[serde(default)]
    pub request: Option<RequestMeta>,
    /// The split result of this choice: text, source, finish reason, usage,
    /// filters, errors.
    #[serde(flatten)]
    pub split: SplitChoice,
    /// How the stream ended.
    pub outcome: StreamOutcome,
    /// Timings and sizes of the stream; `metrics.choices` holds this
    /// choice's entry only (none when the choice had no text).
    pub metrics: StreamMetrics,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
