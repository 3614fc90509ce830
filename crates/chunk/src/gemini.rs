//! Google Gemini's `streamGenerateContent?alt=sse`, one `data` payload (a
//! `GenerateContentResponse`) at a time, into the format-neutral parts.
//!
//! Only `data:` lines (CRLF framing, which the SSE decoder handles), no
//! event types, no `[DONE]`. What is read:
//!
//! - `responseId` and `modelVersion` (the stream's id and model);
//! - per `candidates[]` entry (a choice, by its `index`): the `parts` of
//!   its `content`: text of a part with `"thought": true` is reasoning
//!   ([`ReasoningKind`]-less: its source is "thought"), text of another
//!   part is answer, a `functionCall` (`name`, `args` sent whole, `id`
//!   when present) is a whole tool call, and a `thoughtSignature` on any
//!   part marks the reasoning signed; its `finishReason` (`STOP`,
//!   `MAX_TOKENS`, `SAFETY`, ...);
//! - `usageMetadata`, on every chunk and cumulative: `promptTokenCount` is
//!   `prompt_tokens`; `candidatesTokenCount` plus `thoughtsTokenCount` is
//!   `completion_tokens` (Gemini counts thoughts outside the candidates;
//!   the other formats count reasoning inside the output);
//!   `thoughtsTokenCount` is `reasoning_tokens`; `cachedContentTokenCount`
//!   is `cached_tokens`; `totalTokenCount` is `total_tokens`;
//! - `error` (`code`, `message`).
//!
//! [`ReasoningKind`]: crate::ReasoningKind

use std::borrow::Cow;

use crate::error::{ApiError, Error, read_api_error};
use crate::scan::{Known, Reject, Scan, Scanner};
use crate::update::{Marks, ToolCall, Trace};
use crate::usage::Usage;

/// One chunk of a Gemini stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response<'a> {
    /// `responseId`, when non-empty.
    pub id: Option<Cow<'a, str>>,
    /// `modelVersion`, when non-empty.
    pub model: Option<Cow<'a, str>>,
    /// `candidates[]`, in wire order.
    pub candidates: Vec<Candidate<'a>>,
    /// `usageMetadata`, normalised (see the module docs).
    pub usage: Option<Usage>,
    /// `error`.
    pub error: Option<ApiError<'a>>,
}

/// What one chunk says of one candidate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Candidate<'a> {
    /// `index`; 0 when absent (or not an integer in `0..=u32::MAX`).
    pub index: u32,
    /// The text of its thought parts, joined; `None` without one.
    pub thought: Option<Cow<'a, str>>,
    /// The text of its other text parts, joined; `None` without one.
    pub text: Option<Cow<'a, str>>,
    /// Its `functionCall` parts: each a whole call (`index` is its
    /// position among them in this chunk).
    pub tool_calls: Vec<ToolCall<'a>>,
    /// A `thoughtSignature` on a part: [`Marks::signed`].
    pub marks: Marks,
    /// `finishReason`.
    pub finish_reason: Option<Cow<'a, str>>,
}

impl Response<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Response<'static> {
        let own = crate::text::own;
        Response {
            id: own(self.id),
            model: own(self.model),
            candidates: self
                .candidates
                .into_iter()
                .map(|c| Candidate {
                    index: c.index,
                    thought: own(c.thought),
                    text: own(c.text),
                    tool_calls: c.tool_calls.into_iter().map(ToolCall::into_owned).collect(),
                    marks: c.marks,
                    finish_reason: own(c.finish_reason),
                })
                .collect(),
            usage: self.usage,
            error: self.error.map(ApiError::into_owned),
        }
    }
}

/// Reads one `data` payload of a Gemini stream.
///
/// # Errors
///
/// [`Error::Json`] if the data is not JSON; [`Error::Shape`] if it is not
/// an object with any of `candidates`, `usageMetadata`, `error`.
pub fn parse(data: &str) -> Result<Response<'_>, Error> {
    parse_traced(data, &mut Trace::default())
}

/// [`parse`], noting in `trace` what [`crate::Parser`] needs to reuse it:
/// where the usage counts sat, and the text read.
pub(crate) fn parse_traced<'a>(data: &'a str, trace: &mut Trace) -> Result<Response<'a>, Error> {
    trace.clear();
    let mut r = Response::default();
    let mut s = Scanner::new(data);
    let read = read_response(&mut s, &mut r, trace);
    trace.texts = s.texts();
    match read {
        Ok(true) => Ok(r),
        Ok(false) => Err(Error::Shape("gemini payload without candidates, usageMetadata or error")),
        Err(Reject) => Err(Error::json(data)),
    }
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Candidates,
    Usage,
    Model,
    Id,
    Error,
    Other,
}

const FIELDS: &[Known<Field>] = &[
    Known::new(b"candidates", Field::Candidates),
    Known::new(b"usageMetadata", Field::Usage),
    Known::new(b"modelVersion", Field::Model),
    Known::new(b"responseId", Field::Id),
    Known::new(b"error", Field::Error),
];

/// Reads the payload into `r`: `false` if it is not an object with any of
/// the keys that make a Gemini chunk.
fn read_response<'a>(s: &mut Scanner<'a>, r: &mut Response<'a>, trace: &mut Trace) -> Scan<bool> {
    if !s.object()? {
        s.finish()?;
        return Ok(false);
    }
    let mut known = false;
    let mut first = true;
    while let Some(field) = s.field(&mut first, FIELDS, Field::Other)? {
        match field {
            Field::Candidates => {
                r.candidates.clear();
                if s.array()? {
                    known = true;
                    let mut first = true;
                    while s.element(&mut first)? {
                        if s.object()? {
                            r.candidates.push(read_candidate(s)?);
                        }
                    }
                }
            }
            Field::Usage => {
                // Only the counts of the last `usageMetadata` make the usage.
                trace.numbers.clear();
                r.usage = if s.object()? { Some(read_usage(s, trace)?) } else { None };
                known |= r.usage.is_some();
            }
            Field::Model => r.model = s.str()?.filter(|m| !m.is_empty()),
            Field::Id => r.id = s.str()?.filter(|id| !id.is_empty()),
            Field::Error => {
                r.error = read_api_error(s)?;
                known |= r.error.is_some();
            }
            Field::Other => s.skip_value()?,
        }
    }
    s.finish()?;
    Ok(known)
}

// The keys of candidates, parts and usage are matched in place
// ([`Scanner::field`]), not scanned and then compared. Measured (callgrind,
// 1 MiB of the Gemini bench stream, end to end): 19.9M -> 15.9M
// instructions (-20 %) at event-aligned and 1460-byte reads alike.

#[derive(Debug, Clone, Copy)]
enum CandidateField {
    Content,
    FinishReason,
    Index,
    Other,
}

const CANDIDATE_FIELDS: &[Known<CandidateField>] = &[
    Known::new(b"content", CandidateField::Content),
    Known::new(b"finishReason", CandidateField::FinishReason),
    Known::new(b"index", CandidateField::Index),
];

/// After a candidate's `{`.
fn read_candidate<'a>(s: &mut Scanner<'a>) -> Scan<Candidate<'a>> {
    let mut c = Candidate::default();
    let mut first = true;
    while let Some(field) = s.field(&mut first, CANDIDATE_FIELDS, CandidateField::Other)? {
        match field {
            CandidateField::Content => {
                (c.thought, c.text, c.tool_calls, c.marks) =
                    (None, None, Vec::new(), Marks::default());
                if s.object()? {
                    let mut first = true;
                    while let Some(parts) = s.field(&mut first, PARTS, false)? {
                        if parts {
                            read_parts(s, &mut c)?;
                        } else {
                            s.skip_value()?;
                        }
                    }
                }
            }
            CandidateField::FinishReason => c.finish_reason = s.str()?,
            CandidateField::Index => {
                c.index = s.u64()?.and_then(|i| u32::try_from(i).ok()).unwrap_or(0)
            }
            CandidateField::Other => s.skip_value()?,
        }
    }
    Ok(c)
}

/// `content`'s one key read: `parts`.
const PARTS: &[Known<bool>] = &[Known::new(b"parts", true)];

#[derive(Debug, Clone, Copy)]
enum PartField {
    Text,
    Thought,
    ThoughtSignature,
    FunctionCall,
    Other,
}

const PART_FIELDS: &[Known<PartField>] = &[
    Known::new(b"text", PartField::Text),
    Known::new(b"thought", PartField::Thought),
    Known::new(b"thoughtSignature", PartField::ThoughtSignature),
    Known::new(b"functionCall", PartField::FunctionCall),
];

/// `parts[]`: thought text, answer text, function calls, signatures.
fn read_parts<'a>(s: &mut Scanner<'a>, c: &mut Candidate<'a>) -> Scan<()> {
    (c.thought, c.text, c.tool_calls, c.marks) = (None, None, Vec::new(), Marks::default());
    if !s.array()? {
        return Ok(());
    }
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let (mut text, mut thought, mut call) = (None, false, None);
        let mut first = true;
        while let Some(field) = s.field(&mut first, PART_FIELDS, PartField::Other)? {
            match field {
                PartField::Text => text = s.text()?,
                PartField::Thought => thought = s.bool()? == Some(true),
                PartField::ThoughtSignature => {
                    c.marks.signed |= s.str()?.is_some_and(|sig| !sig.is_empty())
                }
                PartField::FunctionCall => call = read_function_call(s)?,
                PartField::Other => s.skip_value()?,
            }
        }
        if let Some(text) = text {
            join(if thought { &mut c.thought } else { &mut c.text }, text);
        }
        if let Some(mut call) = call {
            call.index = u32::try_from(c.tool_calls.len()).unwrap_or(u32::MAX);
            c.tool_calls.push(call);
        }
    }
    Ok(())
}

/// Appends `piece` to text joined from parts (one part stays borrowed).
fn join<'a>(text: &mut Option<Cow<'a, str>>, piece: Cow<'a, str>) {
    match text {
        Some(acc) if !acc.is_empty() => {
            if !piece.is_empty() {
                acc.to_mut().push_str(&piece);
            }
        }
        _ => *text = Some(piece),
    }
}

/// A `functionCall`: `name`, `args` as sent (its JSON text), `id`.
fn read_function_call<'a>(s: &mut Scanner<'a>) -> Scan<Option<ToolCall<'a>>> {
    if !s.object()? {
        return Ok(None);
    }
    let mut call = ToolCall::default();
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"name" => call.name = s.str()?,
            b"id" => call.id = s.str()?,
            b"args" => call.arguments = crate::choice::read_arguments(s)?,
            _ => s.skip_value()?,
        }
    }
    Ok(Some(call))
}

/// A `usageMetadata` key: one of the counts (its slot in [`Counts`]), or
/// another key.
#[derive(Debug, Clone, Copy)]
enum UsageField {
    Count(usize),
    Other,
}

const PROMPT: usize = 0;
const CANDIDATES: usize = 1;
const THOUGHTS: usize = 2;
const CACHED: usize = 3;
const TOTAL: usize = 4;

const USAGE_FIELDS: &[Known<UsageField>] = &[
    Known::new(b"promptTokenCount", UsageField::Count(PROMPT)),
    Known::new(b"candidatesTokenCount", UsageField::Count(CANDIDATES)),
    Known::new(b"totalTokenCount", UsageField::Count(TOTAL)),
    Known::new(b"thoughtsTokenCount", UsageField::Count(THOUGHTS)),
    Known::new(b"cachedContentTokenCount", UsageField::Count(CACHED)),
];

/// The counts of one `usageMetadata`, as read (the last of a repeated key),
/// by slot: prompt, candidates, thoughts, cached, total.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts(pub(crate) [Option<u64>; 5]);

impl Counts {
    /// The usage they say, normalised (see the module docs).
    pub(crate) fn usage(self) -> Usage {
        let [prompt, candidates, thoughts, cached, total] = self.0;
        let completion_tokens = match (candidates, thoughts) {
            (None, None) => None,
            (c, t) => c.unwrap_or(0).checked_add(t.unwrap_or(0)),
        };
        Usage {
            prompt_tokens: prompt,
            completion_tokens,
            total_tokens: total,
            reasoning_tokens: thoughts,
            cached_tokens: cached,
            ..Usage::default()
        }
    }
}

/// After `usageMetadata`'s `{`: normalised (see the module docs).
fn read_usage(s: &mut Scanner<'_>, trace: &mut Trace) -> Scan<Usage> {
    let mut counts = Counts::default();
    let mut first = true;
    while let Some(field) = s.field(&mut first, USAGE_FIELDS, UsageField::Other)? {
        match field {
            UsageField::Count(slot) => counts.0[slot] = trace.number(s, slot)?,
            UsageField::Other => s.skip_value()?,
        }
    }
    Ok(counts.usage())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(s))
    }

    #[test]
    fn thought_parts_are_reasoning_others_answer() {
        let r = parse(
            r#"{"candidates": [{"content": {"parts": [{"text": "**Weighing the decimals**\n\nCompare 9.11 and 9.8.","thought": true}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"totalTokenCount": 60,"thoughtsTokenCount": 48},"modelVersion": "gemini-2.5-flash","responseId": "mCq0aL2xGoSd1dkPnq2o6Ag"}"#,
        )
        .unwrap();
        assert_eq!((r.id, r.model), (text("mCq0aL2xGoSd1dkPnq2o6Ag"), text("gemini-2.5-flash")));
        let c = &r.candidates[0];
        assert_eq!(
            (c.thought.as_deref(), c.text.as_deref()),
            (Some("**Weighing the decimals**\n\nCompare 9.11 and 9.8."), None)
        );
        assert_eq!(
            r.usage,
            Some(Usage {
                prompt_tokens: Some(12),
                completion_tokens: Some(48),
                total_tokens: Some(60),
                reasoning_tokens: Some(48),
                ..Usage::default()
            })
        );
        let r = parse(
            r#"{"candidates":[{"content":{"parts":[{"text":"9.8"},{"text":" is larger."},{"text":"","thought":true,"thoughtSignature":"CiQB0e2Kb3k"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":5,"totalTokenCount":65,"thoughtsTokenCount":48,"cachedContentTokenCount":4}}"#,
        )
        .unwrap();
        let c = &r.candidates[0];
        assert_eq!((c.thought.as_deref(), c.text.as_deref()), (Some(""), Some("9.8 is larger.")));
        assert_eq!((c.marks.signed, c.finish_reason.as_deref()), (true, Some("STOP")));
        let u = r.usage.unwrap();
        assert_eq!(
            (u.completion_tokens, u.reasoning_tokens, u.cached_tokens),
            (Some(53), Some(48), Some(4))
        );
    }

    #[test]
    fn function_calls_are_whole() {
        let r = parse(
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris","unit":"celsius"}},"thoughtSignature":"CtwFAdHtim9"},{"functionCall":{"name":"get_time","args":{},"id":"c2"}}],"role":"model"},"index":1}]}"#,
        )
        .unwrap();
        let c = &r.candidates[0];
        assert_eq!(c.index, 1);
        assert_eq!(
            c.tool_calls,
            [
                ToolCall {
                    index: 0,
                    id: None,
                    name: text("get_weather"),
                    arguments: text(r#"{"city":"Paris","unit":"celsius"}"#)
                },
                ToolCall {
                    index: 1,
                    id: text("c2"),
                    name: text("get_time"),
                    arguments: text("{}")
                },
            ]
        );
        assert!(c.marks.signed);
    }

    #[test]
    fn errors_and_shapes() {
        let r = parse(r#"{"error":{"code":500,"message":"An internal error has occurred. Please retry.","status":"INTERNAL"}}"#).unwrap();
        let e = r.error.unwrap();
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("500"), Some("An internal error has occurred. Please retry."))
        );
        assert!(matches!(parse(r#"{"choices":[]}"#), Err(Error::Shape(_))));
        assert!(matches!(parse("[]"), Err(Error::Shape(_))));
        assert!(matches!(parse(r#"{"candidates":"#), Err(Error::Json(_))));
        assert_eq!(r.candidates.len(), 0);
        let owned = parse(r#"{"candidates":[{"content":{"parts":[{"text":"a\nb"}]}}]}"#)
            .unwrap()
            .into_owned();
        assert_eq!(owned.candidates[0].text.as_deref(), Some("a\nb"));
    }
}
