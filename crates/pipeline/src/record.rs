//! What the pipeline pushes into sinks.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use thinktee_chunk::{FilterEvent, Format, Usage};
use thinktee_think::SegmentKind;

/// One thing that happened in a stream, in order.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// 0-based index of the stream within this pipeline's input (streams
    /// end at their format's terminal event: `data: [DONE]`,
    /// `response.completed`, `message_stop`, ...).
    pub stream: u64,
    /// When the bytes that produced this record were fed, if the caller
    /// said (see [`Pipeline::feed_at`](crate::Pipeline::feed_at)).
    pub at: Option<Duration>,
    /// What happened.
    pub event: Event<'a>,
}

/// The kinds of [`Record`].
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A read of this many bytes was fed (before the records it produces):
    /// how sinks learn when the first byte of a stream came.
    Input {
        /// Length of the read.
        bytes: usize,
    },
    /// The first event of a stream arrived.
    StreamStart,
    /// An SSE comment (keep-alive); the text after the `:`.
    Comment(&'a str),
    /// A data event parsed as a chunk (or a whole completion body).
    Chunk(ChunkInfo<'a>),
    /// Text of one choice, routed to a channel.
    Text {
        /// The choice index.
        choice: u32,
        /// Thinking, answer or markup.
        kind: SegmentKind,
        /// How it was told apart: for thinking, the part it came from
        /// ([`ReasoningSource::Tags`] when the splitter found it, by tags
        /// or harmony channels); for
        /// answer, [`ReasoningSource::Tags`] when a splitter decided it and
        /// [`ReasoningSource::Field`] when it came in its own field or part.
        source: ReasoningSource,
        /// The text; never empty.
        text: &'a str,
    },
    /// A piece of one of a choice's tool calls: its first piece (with its
    /// `id` and `name` when the wire gave them), then more of its
    /// arguments. A call written as markup into the text comes whole, in
    /// one piece with no `id`, after the markup's text as
    /// [`SegmentKind::Markup`].
    ToolCall {
        /// The choice index.
        choice: u32,
        /// Which call of the choice: 0, 1, 2, ... in the order they began.
        call: u32,
        /// The call's id, when this piece carries it.
        id: Option<&'a str>,
        /// The function's name, when this piece carries it.
        name: Option<&'a str>,
        /// More of its arguments, exactly as sent; empty only on a call's
        /// first piece.
        arguments: &'a str,
    },
    /// A choice left thinking: its close tag arrived, or (reasoning in its
    /// own field or part) answer text or a tool call followed reasoning;
    /// once per reasoning segment.
    ThinkingEnd {
        /// The choice index.
        choice: u32,
    },
    /// A choice's `finish_reason`.
    Finish {
        /// The choice index.
        choice: u32,
        /// The wire string (`stop`, `length`, `content_filter`, ...).
        reason: &'a str,
    },
    /// A `usage` object (the last one of a stream wins).
    Usage(&'a Usage),
    /// A content-filter verdict; `choice` is `None` for prompt-level ones.
    Filter {
        /// The choice it annotates, or `None` for the prompt.
        choice: Option<u32>,
        /// The verdict.
        filter: &'a FilterEvent,
    },
    /// Something in the stream could not be used; the stream goes on.
    Error(&'a StreamError),
    /// A choice ended (emitted for every choice when its stream ends).
    ChoiceEnd(&'a ChoiceEnd),
    /// The stream ended, at `[DONE]` or at the end of input.
    StreamEnd(&'a StreamEnd),
    /// The input ended (emitted by [`Pipeline::finish_with`](crate::Pipeline::finish_with)
    /// before the open stream, if any, ends).
    InputEnd(&'a InputEnd),
}

/// How the input (an HTTP response body, a file) ended, as its reader saw it.
///
/// Only the reader knows this (the parser sees bytes stop, not why):
/// a proxy says whether the upstream failed, the client went away or the
/// proxy itself answered. Every variant but [`InputEnd::Complete`] names
/// the [`StreamOutcome`] of a stream it cuts ([`InputEnd::outcome`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InputEnd {
    /// It ended normally.
    Complete,
    /// Reading from the upstream failed mid-response (reset, protocol error).
    UpstreamError(String),
    /// The upstream could not be reached: no response at all (502).
    UpstreamUnreachable(String),
    /// The upstream sent nothing for too long: no response head (504), or
    /// silence between two reads.
    UpstreamTimeout(String),
    /// The client went away before the end.
    ClientCancelled,
    /// The client stalled sending its request (408).
    RequestTimeout,
    /// The proxy refused the request itself (too large, too many headers,
    /// no room to buffer it); the message says why.
    Rejected(String),
    /// The proxy shut down and cut the exchange when its grace period ended.
    Shutdown,
}

impl InputEnd {
    /// The outcome of a stream this end cuts short; `None` for
    /// [`InputEnd::Complete`], which cuts nothing.
    pub fn outcome(&self) -> Option<StreamOutcome> {
        match self {
            InputEnd::Complete => None,
            InputEnd::UpstreamError(_) => Some(StreamOutcome::UpstreamError),
            InputEnd::UpstreamUnreachable(_) => Some(StreamOutcome::UpstreamUnreachable),
            InputEnd::UpstreamTimeout(_) => Some(StreamOutcome::UpstreamTimeout),
            InputEnd::ClientCancelled => Some(StreamOutcome::ClientCancelled),
            InputEnd::RequestTimeout => Some(StreamOutcome::RequestTimeout),
            InputEnd::Rejected(_) => Some(StreamOutcome::Rejected),
            InputEnd::Shutdown => Some(StreamOutcome::Shutdown),
        }
    }
}

/// How a stream ended, for transcripts and telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamOutcome {
    /// `[DONE]` arrived, or every choice has a finish reason.
    Complete,
    /// The stream ended without `[DONE]` or a finish reason.
    Incomplete,
    /// The upstream sent an error object, or reading from it failed.
    UpstreamError,
    /// The upstream could not be reached.
    UpstreamUnreachable,
    /// The upstream went silent for longer than the proxy waits.
    UpstreamTimeout,
    /// The client went away first.
    ClientCancelled,
    /// The client stalled sending its request.
    RequestTimeout,
    /// The proxy refused the request.
    Rejected,
    /// The proxy shut down before the stream ended.
    Shutdown,
}

impl StreamOutcome {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamOutcome::Complete => "complete",
            StreamOutcome::Incomplete => "incomplete",
            StreamOutcome::UpstreamError => "upstream_error",
            StreamOutcome::UpstreamUnreachable => "upstream_unreachable",
            StreamOutcome::UpstreamTimeout => "upstream_timeout",
            StreamOutcome::ClientCancelled => "client_cancelled",
            StreamOutcome::RequestTimeout => "request_timeout",
            StreamOutcome::Rejected => "rejected",
            StreamOutcome::Shutdown => "shutdown",
        }
    }
}

/// The identifying fields of one chunk, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkInfo<'a> {
    /// `id`, when non-empty.
    pub id: Option<&'a str>,
    /// `model`, when non-empty.
    pub model: Option<&'a str>,
    /// `created`, when non-zero.
    pub created: Option<i64>,
    /// Length of the event's data in bytes.
    pub bytes: usize,
    /// Whether this was a whole non-streaming `chat.completion` body.
    pub completion: bool,
}

/// Where a choice's reasoning came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasoningSource {
    /// Inline `<think>` tags in `content`.
    Tags,
    /// A separate `reasoning_content` / `reasoning` / `reasoning_details`
    /// field of a chat completion.
    Field,
    /// A reasoning summary (the Responses API's `reasoning_summary_text`).
    Summary,
    /// Raw reasoning text (the Responses API's `reasoning_text`).
    ReasoningText,
    /// Thinking blocks or parts (Anthropic `thinking`, Mistral's typed
    /// `thinking` parts, LiteLLM's `thinking_blocks`).
    Thinking,
    /// Thought parts (Gemini's `"thought": true`).
    Thought,
    /// Harmony's `analysis` channel, inline in `content` (gpt-oss served
    /// without a reasoning parser).
    Channel,
    /// No reasoning found.
    None,
}

impl ReasoningSource {
    /// `"tags"`, `"field"`, `"summary"`, `"reasoning_text"`, `"thinking"`,
    /// `"thought"`, `"channel"` or `"none"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningSource::Tags => "tags",
            ReasoningSource::Field => "field",
            ReasoningSource::Summary => "summary",
            ReasoningSource::ReasoningText => "reasoning_text",
            ReasoningSource::Thinking => "thinking",
            ReasoningSource::Thought => "thought",
            ReasoningSource::Channel => "channel",
            ReasoningSource::None => "none",
        }
    }

    /// The source of a chat completion's reasoning read from `field`.
    pub fn of_field(field: thinktee_chunk::ReasoningField) -> ReasoningSource {
        match field {
            thinktee_chunk::ReasoningField::Thinking => ReasoningSource::Thinking,
            _ => ReasoningSource::Field,
        }
    }

    /// The source of reasoning of kind `kind`.
    pub fn of_kind(kind: thinktee_chunk::ReasoningKind) -> ReasoningSource {
        match kind {
            thinktee_chunk::ReasoningKind::Summary => ReasoningSource::Summary,
            thinktee_chunk::ReasoningKind::ReasoningText => ReasoningSource::ReasoningText,
            thinktee_chunk::ReasoningKind::Thinking => ReasoningSource::Thinking,
        }
    }
}

/// How a choice ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChoiceEnd {
    /// The choice index.
    pub choice: u32,
    /// Where its reasoning came from: the part its first reasoning text
    /// came from, or without any text the first reasoning part it had (a
    /// reasoning field even if empty, an empty thinking block, a reasoning
    /// item without summary); [`ReasoningSource::Tags`] when tag splitting
    /// found thinking, [`ReasoningSource::Channel`] when harmony's
    /// `analysis` channel held it.
    pub reasoning_source: ReasoningSource,
    /// How many reasoning segments it had. With tags: thinking blocks
    /// (closed, or open at the end). Otherwise: runs of reasoning text (or
    /// of redacted or encrypted reasoning) not interrupted by answer text
    /// or a tool call.
    pub reasoning_segments: u32,
    /// Its reasoning was signed.
    pub reasoning_signed: bool,
    /// Some of its reasoning was redacted.
    pub reasoning_redacted: bool,
    /// Some of its reasoning was sent encrypted.
    pub reasoning_encrypted: bool,
    /// The last `finish_reason` seen.
    pub finish_reason: Option<String>,
    /// Thinking was never closed.
    pub unterminated: bool,
    /// Undecided text passed the hold bound and was decided as answer.
    pub hold_limit_hit: bool,
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamEnd {
    /// Its wire format, told from its first event.
    pub format: Format,
    /// The first non-empty `id`, cut to
    /// [`MAX_META_LEN`](crate::MAX_META_LEN) bytes.
    pub id: Option<String>,
    /// The first non-empty `model`, cut to
    /// [`MAX_META_LEN`](crate::MAX_META_LEN) bytes.
    pub model: Option<String>,
    /// The first non-zero `created`.
    pub created: Option<i64>,
    /// The last `usage` seen (Messages streams: every usage merged, as
    /// their counts are cumulative and each may carry only some).
    pub usage: Option<Usage>,
    /// The format's terminal event was seen: `data: [DONE]` (or a whole
    /// completion body), `response.completed` / `.incomplete` / `.failed`,
    /// `message_stop`, Ollama's `"done": true`; for Gemini, which has none,
    /// a chunk in which every candidate has its `finishReason`.
    pub done: bool,
    /// How it ended.
    pub outcome: StreamOutcome,
    /// How many data events were parsed as chunks.
    pub chunks: u64,
    /// How many errors were recorded.
    pub errors: u64,
    /// How many `choices[]` entries (deltas, or the messages of a whole
    /// body) belonged to choices past the choice limit
    /// ([`MAX_CHOICES`](crate::MAX_CHOICES)): counted, not read.
    pub untracked_deltas: u64,
}

/// The kinds of problem a stream can carry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The upstream sent an error object.
    Api,
    /// A data payload was not JSON.
    InvalidJson,
    /// A data payload was JSON of an unknown shape.
    UnknownShape,
    /// The input ended inside an event.
    Truncated,
    /// An SSE line passed the line limit; its event was discarded.
    LineTooLong,
    /// An SSE event passed the event limit and was discarded.
    EventTooLong,
    /// A stream had more distinct choices than the limit
    /// ([`MAX_CHOICES`](crate::MAX_CHOICES)); recorded once per stream.
    TooManyChoices,
    /// A chunk's choice `index` was not an integer in `0..=u32::MAX`; the
    /// chunk was not used.
    InvalidChoiceIndex,
    /// The body's `Content-Encoding` could not be decoded (an encoding not
    /// decoded here, corrupt data, or more decoded bytes than the bound):
    /// nothing from that point on was parsed.
    ContentEncoding,
    /// The proxy could not rewrite the response as asked (an event over
    /// its normalize limit): the client got it unchanged from that point on.
    NotNormalized,
    /// Tool-call markup in the text (Qwen's `<tool_call>`, DeepSeek's tool
    /// tokens, a harmony call) did not parse, or was cut off; its text was
    /// kept as answer.
    ToolCallMarkup,
    /// A harmony message header (`<|channel|>…<|message|>`) did not parse:
    /// its text, and its message's, were kept as answer.
    HarmonyHeader,
}

impl ErrorKind {
    /// The snake_case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Api => "api",
            ErrorKind::InvalidJson => "invalid_json",
            ErrorKind::UnknownShape => "unknown_shape",
            ErrorKind::Truncated => "truncated",
            ErrorKind::LineTooLong => "line_too_long",
            ErrorKind::EventTooLong => "event_too_long",
            ErrorKind::TooManyChoices => "too_many_choices",
            ErrorKind::InvalidChoiceIndex => "invalid_choice_index",
            ErrorKind::ContentEncoding => "content_encoding",
            ErrorKind::NotNormalized => "not_normalized",
            ErrorKind::ToolCallMarkup => "tool_call_markup",
            ErrorKind::HarmonyHeader => "harmony_header",
        }
    }
}

/// A problem found in a stream. The stream it came in goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StreamError {
    /// What kind of problem.
    pub kind: ErrorKind,
    /// The upstream's error code, for [`ErrorKind::Api`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A human-readable description (the upstream's message for API errors).
    pub message: String,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} ({code}): {}", self.kind.as_str(), self.message),
            None => write!(f, "{}: {}", self.kind.as_str(), self.message),
        }
    }
}

impl std::error::Error for StreamError {}
