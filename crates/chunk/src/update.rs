//! The format-neutral model: what one event of a stream says about its
//! output, whatever the API. Chat completions say it per choice
//! ([`Choice`](crate::Choice), which carries the same parts); the other
//! formats have one output per stream and say it in an [`Update`].

use std::borrow::Cow;
use std::ops::Range;

use crate::error::{ApiError, Error};
use crate::scan::{Reject, Scan, Scanner};
use crate::text::own;
use crate::usage::Usage;

/// Where a piece of reasoning text came from, in the formats whose
/// reasoning has its own parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasoningKind {
    /// A summary of the model's reasoning: the Responses API's
    /// `reasoning_summary_text`.
    Summary,
    /// The reasoning itself, as the model wrote it: the Responses API's
    /// `reasoning_text` (open-weight models served that way).
    ReasoningText,
    /// A thinking block: Anthropic Messages' `thinking`.
    Thinking,
}

/// Reasoning the stream carried in a form that cannot be read: its
/// presence is recorded, never its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Marks {
    /// A signature over the reasoning (Anthropic `signature`, LiteLLM's
    /// `thinking_blocks[].signature`, OpenRouter's `reasoning.text`
    /// `signature`).
    pub signed: bool,
    /// Reasoning withheld from the client (Anthropic `redacted_thinking`).
    pub redacted: bool,
    /// Reasoning sent encrypted (the Responses API's `encrypted_content`,
    /// OpenRouter's `reasoning.encrypted`).
    pub encrypted: bool,
}

impl Marks {
    /// Whether any mark is set.
    #[inline]
    pub fn any(self) -> bool {
        self.signed || self.redacted || self.encrypted
    }

    /// The marks of both.
    #[inline]
    pub fn union(self, other: Marks) -> Marks {
        Marks {
            signed: self.signed || other.signed,
            redacted: self.redacted || other.redacted,
            encrypted: self.encrypted || other.encrypted,
        }
    }
}

/// One piece of a tool call, as the wire streams it: the first piece of a
/// call carries its `id` and `name`, later ones more of its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolCall<'a> {
    /// Which call of the output this piece belongs to: the key the wire
    /// tells calls apart by (chat `tool_calls[].index`, or its position
    /// when absent; the Responses API's `output_index`; a Messages content
    /// block's `index`). Keys need not be dense or start at 0.
    pub index: u32,
    /// The call's id (chat `id`, Responses `call_id`, Messages `id`).
    pub id: Option<Cow<'a, str>>,
    /// The function's name.
    pub name: Option<Cow<'a, str>>,
    /// More of its arguments, exactly as sent: the text of a JSON string,
    /// or the JSON text of any other value (an object sent whole).
    pub arguments: Option<Cow<'a, str>>,
}

impl ToolCall<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> ToolCall<'static> {
        ToolCall {
            index: self.index,
            id: own(self.id),
            name: own(self.name),
            arguments: own(self.arguments),
        }
    }
}

/// Reasoning text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reasoning<'a> {
    /// Where it came from.
    pub kind: ReasoningKind,
    /// The text; `""` when a reasoning part began without text yet (a
    /// thinking block's start, a reasoning item with no summary).
    pub text: Cow<'a, str>,
}

/// What one event of a stream in a format other than chat completions says
/// (the Responses API, Anthropic Messages): a stream there has one output,
/// so there is no choice index.
///
/// The parts apply in field order: reasoning, answer text, the tool call,
/// marks, finish reason, usage, error; `start` before all of them and
/// `end` after.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update<'a> {
    /// The event begins a response (`response.created`, `message_start`):
    /// a stream already begun ends before it.
    pub start: bool,
    /// The response's id, when this event carries it.
    pub id: Option<Cow<'a, str>>,
    /// The model, when this event carries it.
    pub model: Option<Cow<'a, str>>,
    /// When the response was created (Unix seconds), when this event says.
    pub created: Option<i64>,
    /// Reasoning text.
    pub reasoning: Option<Reasoning<'a>>,
    /// Answer text (a refusal is answer text too).
    pub content: Option<Cow<'a, str>>,
    /// A piece of a tool call.
    pub tool_call: Option<ToolCall<'a>>,
    /// Opaque reasoning this event carried.
    pub marks: Marks,
    /// Why the output ended, as the wire says it (`end_turn`, `tool_use`,
    /// `max_tokens`; `completed`, `max_output_tokens`, ...).
    pub finish_reason: Option<Cow<'a, str>>,
    /// Token counts, normalised (see [`Usage`]); in Messages streams they
    /// are cumulative and may cover only some counts: merge them with
    /// [`Usage::merge`].
    pub usage: Option<Usage>,
    /// An error the API sent.
    pub error: Option<ApiError<'a>>,
    /// The format's terminal event (`response.completed`,
    /// `response.incomplete`, `response.failed`, `message_stop`).
    pub end: bool,
    /// A keep-alive (`ping`): it says nothing and is not counted as a
    /// chunk.
    pub keepalive: bool,
}

impl Update<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Update<'static> {
        Update {
            start: self.start,
            id: own(self.id),
            model: own(self.model),
            created: self.created,
            reasoning: self
                .reasoning
                .map(|r| Reasoning { kind: r.kind, text: r.text.into_owned().into() }),
            content: own(self.content),
            tool_call: self.tool_call.map(ToolCall::into_owned),
            marks: self.marks,
            finish_reason: own(self.finish_reason),
            usage: self.usage,
            error: self.error.map(ApiError::into_owned),
            end: self.end,
            keepalive: self.keepalive,
        }
    }
}

// === typed events (Responses, Messages) ===

/// How reading a typed event (one whose JSON names its `type`) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    Event,
    NotAnObject,
    NoType,
}

/// What reading a typed event noted for [`crate::Parser`], which reuses a
/// read when the next event differs only where the reader did not look
/// (see `memo_update.rs`). Off (nothing noted) for a plain parse.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    /// Whether to note anything.
    on: bool,
    /// Where the top-level values the reader skipped unseen (whatever the
    /// event's type) sat, in order: each a whole value, from its first
    /// byte to past its last.
    pub(crate) skipped: Vec<Range<usize>>,
    /// The event's kind came from its own `type`, and every value was read
    /// where it stood: neither the SSE event type nor a value read out of
    /// order decided anything.
    pub(crate) self_typed: bool,
    /// How many text values were read, and the body of the last one
    /// ([`Scanner::texts`]).
    pub(crate) texts: (u32, Range<usize>),
    /// Where the numbers a reader counts on every event sat (Gemini's
    /// `usageMetadata` counts), each with the slot it was read into, in
    /// order: each a whole value.
    pub(crate) numbers: Vec<(Range<usize>, usize)>,
}

impl Trace {
    /// A trace that notes what it is told.
    pub(crate) fn on() -> Trace {
        Trace { on: true, ..Trace::default() }
    }

    /// Skips a top-level value nothing reads, noting where it was.
    #[inline]
    pub(crate) fn skip(&mut self, s: &mut Scanner<'_>) -> Scan<()> {
        if !self.on {
            return s.skip_value();
        }
        s.peek()?;
        let start = s.pos();
        s.skip_value()?;
        self.skipped.push(start..s.pos());
        Ok(())
    }

    /// Reads a count ([`Scanner::u64`]) for `slot`, noting where it was.
    #[inline]
    pub(crate) fn number(&mut self, s: &mut Scanner<'_>, slot: usize) -> Scan<Option<u64>> {
        if !self.on {
            return s.u64();
        }
        s.peek()?;
        let start = s.pos();
        let n = s.u64()?;
        self.numbers.push((start..s.pos(), slot));
        Ok(n)
    }

    /// Forgets what an earlier reading noted.
    pub(crate) fn clear(&mut self) {
        self.skipped.clear();
        self.numbers.clear();
        self.self_typed = false;
    }
}

/// The reader of one format's typed events: the event (at its first byte),
/// its SSE event type, the update to fill, and what to note.
pub(crate) type ReadEvent =
    for<'a> fn(&mut Scanner<'a>, &str, &mut Update<'a>, &mut Trace) -> Scan<Read>;

/// The reader of one format's whole bodies: the updates its stream would
/// have given, or why a JSON value is not a body it knows.
pub(crate) type ReadBody<'a> = fn(&mut Scanner<'a>) -> Scan<Result<Vec<Update<'a>>, &'static str>>;

/// Reads a whole body with `read`: [`Error::Json`] if `data` is not one
/// JSON value, [`Error::Shape`] with `read`'s reason if it is not a body.
pub(crate) fn whole_body<'a>(data: &'a str, read: ReadBody<'a>) -> Result<Vec<Update<'a>>, Error> {
    let mut s = Scanner::new(data);
    match read(&mut s).and_then(|body| s.finish().map(|()| body)) {
        Ok(Ok(updates)) => Ok(updates),
        Ok(Err(why)) => Err(Error::Shape(why)),
        Err(Reject) => Err(Error::json(data)),
    }
}

/// Reads one typed event's `data` with `read` into an [`Update`]: `[DONE]`
/// ends the stream, an `error` event that is not an object is read as chat
/// completions read it, and a failure is a typed [`Error`]; `no_type` names
/// an object without a `type`. `trace` is cleared first.
pub(crate) fn typed_event<'a>(
    event_type: &str,
    data: &'a str,
    no_type: &'static str,
    read: ReadEvent,
    trace: &mut Trace,
) -> Result<Update<'a>, Error> {
    trace.clear();
    if data.trim_ascii() == "[DONE]" {
        return Ok(Update { end: true, ..Update::default() });
    }
    let mut u = Update::default();
    let mut s = Scanner::new(data);
    let read = read(&mut s, event_type, &mut u, trace);
    trace.texts = s.texts();
    match read {
        Ok(Read::Event) => Ok(u),
        Ok(Read::NotAnObject) | Err(Reject) if event_type == "error" => error_event(data),
        Ok(Read::NotAnObject) => Err(Error::Shape("payload is not a json object")),
        Ok(Read::NoType) => Err(Error::Shape(no_type)),
        Err(Reject) => Err(Error::json(data)),
    }
}

/// An `error` event whose data is not an object: as chat completions read it.
fn error_event(data: &str) -> Result<Update<'_>, Error> {
    match crate::parse_event("error", data)? {
        crate::Payload::Error(e) => Ok(Update { error: Some(e), ..Update::default() }),
        // `parse_event` reads every `error` event as an error.
        _ => Err(Error::Shape("error event that is no error")),
    }
}
