//! [`Parser`]: [`parse`](crate::parse) for a stream of payloads, reusing the
//! previous parse when only a text field's string changed.
//!
//! Consecutive chunks of one stream are nearly identical: the same `id`,
//! `object`, `created`, `model`, `system_fingerprint`, `index`, `logprobs`
//! and `finish_reason`, around a `content` (or reasoning) string that
//! changes. [`Parser`] keeps the last payload that had exactly one text
//! string (and nothing that it would have to copy), with where each field's
//! value sat in it. The next payload is compared with it byte for byte
//! before and after that string; if both sides are identical and what is
//! between them is one valid JSON string body, the result is the kept one
//! with the new text, and nothing else is scanned.
//!
//! Why this is exact: a JSON reading is decided token by token, left to
//! right, and a string token's bytes can change what is read only through
//! the string's value. Identical bytes before the text's opening quote give
//! the same tokens and the same reader state there; the new string is one
//! complete string token (checked by the same scanner, so its acceptance is
//! the same); identical bytes after its closing quote give the same tokens
//! after it. So the whole reading is the kept one with that one value
//! replaced; every other value read is the same bytes as in the kept copy,
//! and is borrowed from there. The property tests in
//! `tests/differential.rs` and the `chunk_json` fuzz target check it
//! against [`parse`](crate::parse) on sequences of related payloads.

use std::borrow::Cow;
use std::ops::Range;

use crate::choice::{Choice, FinishReason, ReasoningField, ToolCalls};
use crate::error::Error;
use crate::format::Format;
use crate::memo_update::UpdateMemo;
use crate::payload::{Choices, Chunk, Payload, parse_with};
use crate::scan::Scanner;
use crate::text::unescape;
use crate::update::{Marks, Update};
use crate::usage::Usage;

/// Payloads longer than this are parsed without being kept: keeping them
/// would cost memory for little gain, as their text dominates the parse.
const MAX_KEPT: usize = 4096;

/// [`parse`](crate::parse) and [`parse_event`](crate::parse_event) for the
/// payloads of one stream in order, with the same result for every input,
/// faster when consecutive chunks differ only in their text (as streamed
/// chunks do).
///
/// It keeps a copy of one earlier payload, at most 4 KiB, and a buffer
/// for text with escapes. A reused payload borrows its values other than
/// the text from that copy, and its text, if it had escapes, unescaped from
/// that buffer, so a payload from [`Parser::parse`] lives only until the
/// next call (use [`Payload::into_owned`] to keep it).
/// Once both have grown to size, reading a stream allocates only for the
/// payloads that are not reused.
///
/// ```
/// use thinktee_chunk::{Parser, Payload};
///
/// let mut parser = Parser::new();
/// for text in ["Compare", " 9.11", " and 9.8"] {
///     let data = format!(
///         r#"{{"id":"c1","model":"deepseek-reasoner","choices":[{{"index":0,"delta":{{"reasoning_content":"{text}"}}}}]}}"#
///     );
///     let payload = parser.parse(&data)?;
///     assert_eq!(payload, thinktee_chunk::parse(&data)?);
///     let Payload::Chunk(chunk) = payload else { panic!("not a chunk") };
///     assert_eq!(chunk.choices[0].reasoning.as_deref(), Some(text));
/// }
/// # Ok::<(), thinktee_chunk::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Parser {
    kept: Option<Kept>,
    /// The unescaped text of the last reused payload.
    text: String,
    hits: u64,
    /// The same for Responses API, Messages and Gemini events and Ollama
    /// lines.
    updates: UpdateMemo,
}

/// A payload and where the values of its one-choice chunk sat in it.
#[derive(Debug)]
struct Kept {
    src: String,
    /// The text string's body (between its quotes).
    body: Range<usize>,
    id: Option<Range<usize>>,
    model: Option<Range<usize>>,
    created: Option<i64>,
    usage: Option<Usage>,
    index: u32,
    role: Option<Range<usize>>,
    /// `None`: the text is `content`; else the reasoning field it came from.
    reasoning: Option<ReasoningField>,
    finish: Option<Finish>,
}

#[derive(Debug)]
enum Finish {
    Known(FinishReason<'static>),
    Other(Range<usize>),
}

impl Parser {
    /// A parser that has seen nothing yet.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Parses one `data` payload, exactly as [`parse`](crate::parse) does.
    ///
    /// # Errors
    ///
    /// As [`parse`](crate::parse).
    #[inline]
    pub fn parse<'a>(&'a mut self, data: &'a str) -> Result<Payload<'a>, Error> {
        let buf = &mut self.text;
        if let Some((text, escaped)) = self.kept.as_ref().and_then(|kept| kept.reuse(data, buf)) {
            self.hits += 1;
            let text = if escaped { self.text.as_str() } else { text };
            // `reuse` answered from the kept copy. It is borrowed again here,
            // where the call returns: the borrow checker cannot follow one
            // borrow that is returned on one path and replaced on the other.
            let Some(kept) = &self.kept else { unreachable!("reused a payload never kept") };
            return Ok(kept.build(text));
        }
        let mut s = Scanner::new(data);
        let payload = parse_with(&mut s)?;
        let (texts, body) = s.texts();
        if texts == 1 && data.len() <= MAX_KEPT {
            self.keep(data, body, &payload);
        }
        Ok(payload)
    }

    /// Parses one payload, honouring the SSE `event` type, exactly as
    /// [`parse_event`](crate::parse_event) does.
    ///
    /// # Errors
    ///
    /// As [`parse_event`](crate::parse_event).
    #[inline]
    pub fn parse_event<'a>(
        &'a mut self,
        event_type: &str,
        data: &'a str,
    ) -> Result<Payload<'a>, Error> {
        if event_type == "error" { crate::parse_event(event_type, data) } else { self.parse(data) }
    }

    /// Reads one event of a Responses API stream exactly as
    /// [`responses::parse`](crate::responses::parse) does, faster when it
    /// differs from an earlier one only in its text and in values nothing
    /// reads (as deltas do). The result lives until the next call.
    ///
    /// # Errors
    ///
    /// As [`responses::parse`](crate::responses::parse).
    #[inline]
    pub fn parse_responses<'a>(
        &'a mut self,
        event_type: &str,
        data: &'a str,
    ) -> Result<Update<'a>, Error> {
        self.updates.parse(Format::Responses, event_type, data)
    }

    /// Reads one event of an Anthropic Messages stream exactly as
    /// [`messages::parse`](crate::messages::parse) does, faster when it
    /// differs from an earlier one only in its text (as deltas do). The
    /// result lives until the next call.
    ///
    /// # Errors
    ///
    /// As [`messages::parse`](crate::messages::parse).
    #[inline]
    pub fn parse_messages<'a>(
        &'a mut self,
        event_type: &str,
        data: &'a str,
    ) -> Result<Update<'a>, Error> {
        self.updates.parse(Format::Messages, event_type, data)
    }

    /// Reads one chunk of a Gemini stream exactly as
    /// [`gemini::parse`](crate::gemini::parse) does, faster when it differs
    /// from an earlier one only in its text and its usage counts (as
    /// streamed chunks do). The result lives until the next call.
    ///
    /// # Errors
    ///
    /// As [`gemini::parse`](crate::gemini::parse).
    #[inline]
    pub fn parse_gemini<'a>(
        &'a mut self,
        data: &'a str,
    ) -> Result<crate::gemini::Response<'a>, Error> {
        self.updates.parse_gemini(data)
    }

    /// Reads one line of an Ollama stream exactly as
    /// [`ollama::parse`](crate::ollama::parse) does, faster when it differs
    /// from an earlier one only in its text and values nothing reads (as
    /// streamed lines do, in `created_at`). The result lives until the
    /// next call.
    ///
    /// # Errors
    ///
    /// As [`ollama::parse`](crate::ollama::parse).
    #[inline]
    pub fn parse_ollama<'a>(&'a mut self, data: &'a str) -> Result<crate::ollama::Line<'a>, Error> {
        self.updates.parse_ollama(data)
    }

    /// How many payloads (and events) were read by reusing an earlier
    /// parse.
    pub fn reused(&self) -> u64 {
        self.hits + self.updates.reused()
    }

    /// Keeps `data` if its one text string is the only thing that a reuse
    /// would change; otherwise keeps what it had.
    fn keep(&mut self, data: &str, body: Range<usize>, payload: &Payload<'_>) {
        let Some(mut kept) = Kept::new(data, body, payload) else { return };
        // The old copy's buffer holds the new one.
        let mut src = self.kept.take().map(|old| old.src).unwrap_or_default();
        src.clear();
        src.push_str(data);
        kept.src = src;
        self.kept = Some(kept);
    }
}

impl Kept {
    /// What to keep of `payload` (parsed from `data`, whose only text string
    /// is at `body`), or `None` if a reuse could not rebuild it without
    /// copying, or if its text did not come from that string.
    fn new(data: &str, body: Range<usize>, payload: &Payload<'_>) -> Option<Kept> {
        // A whole completion is read once, not streamed: not worth keeping.
        let Payload::Chunk(chunk) = payload else { return None };
        let [choice] = &*chunk.choices else { return None };
        if !chunk.filters.is_empty()
            || chunk.error.is_some()
            || !choice.filters.is_empty()
            || !choice.tool_calls.is_empty()
            || choice.marks.any()
        {
            return None;
        }
        // The one text string must be the choice's one text value (it could
        // also be a `message` text shadowed by `delta`, or a reasoning field
        // shadowed by `reasoning_details`).
        let (text, reasoning) = match (&choice.content, &choice.reasoning, choice.reasoning_field) {
            (Some(text), None, None) => (text, None),
            (
                None,
                Some(text),
                field @ Some(
                    ReasoningField::Reasoning
                    | ReasoningField::ReasoningContent
                    | ReasoningField::Thinking,
                ),
            ) => (text, field),
            _ => return None,
        };
        let from_body = match text {
            Cow::Borrowed(text) => span(data, text) == Some(body.clone()),
            Cow::Owned(text) => unescape(&data[body.clone()]) == *text,
        };
        if !from_body {
            return None;
        }
        let borrowed = |field: &Option<Cow<'_, str>>| match field {
            None => Some(None),
            Some(Cow::Borrowed(s)) => span(data, s).map(Some),
            Some(Cow::Owned(_)) => None,
        };
        let finish = match &choice.finish_reason {
            None => None,
            Some(FinishReason::Other(Cow::Borrowed(s))) => Some(Finish::Other(span(data, s)?)),
            Some(FinishReason::Other(Cow::Owned(_))) => return None,
            Some(known) => Some(Finish::Known(known.clone().into_owned())),
        };
        Some(Kept {
            src: String::new(),
            body,
            id: borrowed(&chunk.id)?,
            model: borrowed(&chunk.model)?,
            created: chunk.created,
            usage: chunk.usage,
            index: choice.index,
            role: borrowed(&choice.role)?,
            reasoning,
            finish,
        })
    }

    /// If `data` is the kept payload with only the text string's body
    /// changed: that body, and whether it has escapes (then it was
    /// unescaped into `buf` on the way).
    #[inline]
    fn reuse<'a>(&self, data: &'a str, buf: &mut String) -> Option<(&'a str, bool)> {
        let (old, new) = (self.src.as_bytes(), data.as_bytes());
        let (start, end) = (self.body.start, self.body.end);
        let tail = old.len() - end;
        let new_end = new.len().checked_sub(tail).filter(|&e| e >= start)?;
        if new[new_end..] != old[end..] || new[..start] != old[..start] {
            return None;
        }
        // The same scanner reads the new string from its opening quote; it
        // must end exactly at the kept closing quote.
        let mut s = Scanner::at(data, start - 1);
        let (text, escaped) = s.text_into(buf).ok()??;
        (s.pos() == new_end + 1).then_some((text, escaped))
    }

    /// The kept payload with `text` (unescaped) as its text. Every other
    /// value is, byte for byte, what the new payload holds: it is borrowed
    /// from the kept copy, whose ranges lie on its own character boundaries
    /// (they were the spans of `&str` values borrowed from it).
    #[inline]
    fn build<'a>(&'a self, text: &'a str) -> Payload<'a> {
        let src = self.src.as_str();
        let text = Some(Cow::Borrowed(text));
        let (content, reasoning) = match self.reasoning {
            None => (text, None),
            Some(_) => (None, text),
        };
        let finish_reason = match &self.finish {
            None => None,
            Some(Finish::Known(known)) => Some(known.clone()),
            Some(Finish::Other(r)) => Some(FinishReason::Other(Cow::Borrowed(&src[r.clone()]))),
        };
        let slice = |r: &Option<Range<usize>>| r.clone().map(|r| Cow::Borrowed(&src[r]));
        // Built in one expression, straight into the result.
        Payload::Chunk(Chunk {
            id: slice(&self.id),
            model: slice(&self.model),
            created: self.created,
            choices: Choices::one(Choice {
                index: self.index,
                role: slice(&self.role),
                content,
                reasoning,
                reasoning_field: self.reasoning,
                tool_calls: ToolCalls::default(),
                marks: Marks::default(),
                finish_reason,
                filters: Vec::new(),
            }),
            usage: self.usage,
            filters: Vec::new(),
            error: None,
        })
    }
}

/// Where `part` (a slice of `whole`) sits in `whole`; `None` if it is not a
/// slice of it.
pub(crate) fn span(whole: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}
