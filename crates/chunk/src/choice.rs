//! One entry of `choices[]`: the text delta (or whole message), its reasoning
//! text, finish reason and completion-side content-filter annotations.

use std::borrow::Cow;

use crate::filter::{
    FilterEvent, FilterOffsets, FilterSource, attach_offsets, read_filter_results, read_offsets,
};
use crate::scan::{Known, Reject, Scalar, Scan, Scanner};
use crate::text::own;
use crate::update::{Marks, ToolCall};

/// One choice of a chunk (`delta`) or of a whole completion (`message`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Choice<'a> {
    /// `index`; 0 when absent. A payload whose `index` is present but not
    /// an integer in `0..=u32::MAX` is refused ([`Error::ChoiceIndex`]).
    ///
    /// [`Error::ChoiceIndex`]: crate::Error::ChoiceIndex
    pub index: u32,
    /// `role`, usually only on the first delta.
    pub role: Option<Cow<'a, str>>,
    /// `content`: a string, or the text of its `text` parts when it is an
    /// array of typed parts (Mistral), joined; `None` when absent, `null`,
    /// of another type, or an array without text parts.
    pub content: Option<Cow<'a, str>>,
    /// The reasoning text of this delta, de-duplicated across the fields that
    /// carry it; see [`ReasoningField`] for the precedence.
    pub reasoning: Option<Cow<'a, str>>,
    /// Which field [`Choice::reasoning`] came from; `None` when no reasoning
    /// field had a string value or a details array.
    pub reasoning_field: Option<ReasoningField>,
    /// `tool_calls[]`, in wire order: pieces of tool calls (see
    /// [`ToolCall`]). In a chunk, the first piece of a call has its `id`
    /// and `function.name`, later ones more of `function.arguments`; a
    /// whole completion has each call whole. An entry without an `index`
    /// (or with one that is not an integer in `0..=u32::MAX`) is keyed by
    /// its position in the array.
    pub tool_calls: ToolCalls<'a>,
    /// Opaque reasoning in this delta: `reasoning_details` items of type
    /// `reasoning.encrypted` (encrypted) or with a `signature` (signed);
    /// `thinking_blocks` with a `signature` (signed) or of type
    /// `redacted_thinking` (redacted).
    pub marks: Marks,
    /// `finish_reason`.
    pub finish_reason: Option<FinishReason<'a>>,
    /// `content_filter_results` and `content_filter_result` (both kept, in
    /// wire order), each carrying the choice's `content_filter_offsets`.
    pub filters: Vec<FilterEvent>,
}

/// The wire field a choice's reasoning text was read from.
///
/// When several are present (OpenRouter can send all three with the same
/// text, LiteLLM `reasoning_content` and `thinking_blocks`) the first of
/// these wins: `reasoning_details` (if any element holds text),
/// `reasoning`, `reasoning_content`, thinking parts, and finally a
/// `reasoning_details` array without text (as `""`). A string value, even
/// `""`, counts as present; `null` does not; an array of thinking blocks
/// or a thinking part counts even without text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasoningField {
    /// `reasoning_content` (DeepSeek, SGLang, vLLM before the rename).
    ReasoningContent,
    /// `reasoning` (vLLM after the rename, OpenRouter).
    Reasoning,
    /// `reasoning_details[]` (OpenRouter): `reasoning.text` items contribute
    /// `text`, `reasoning.summary` items `summary`, others nothing.
    ReasoningDetails,
    /// Thinking parts: `content` parts of type `thinking` (Mistral, whose
    /// `thinking` holds `text` parts or a string), and `thinking_blocks[]`
    /// of type `thinking` (LiteLLM, its `thinking`).
    Thinking,
}

impl ReasoningField {
    /// The reasoning fields whose value is plain text or a details array,
    /// in the order of precedence above (thinking parts are structured,
    /// and not among them).
    pub const ALL: [ReasoningField; 3] = [
        ReasoningField::ReasoningDetails,
        ReasoningField::Reasoning,
        ReasoningField::ReasoningContent,
    ];

    /// The wire name: `reasoning_content`, `reasoning`, `reasoning_details`
    /// or `thinking`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningField::ReasoningContent => "reasoning_content",
            ReasoningField::Reasoning => "reasoning",
            ReasoningField::ReasoningDetails => "reasoning_details",
            ReasoningField::Thinking => "thinking",
        }
    }
}

/// `finish_reason`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FinishReason<'a> {
    /// `stop`.
    Stop,
    /// `length`.
    Length,
    /// `content_filter` (Azure output filtering).
    ContentFilter,
    /// `tool_calls`.
    ToolCalls,
    /// `error` (OpenRouter mid-stream error).
    Error,
    /// Anything else, as on the wire (e.g. DeepSeek's
    /// `insufficient_system_resource`).
    Other(Cow<'a, str>),
}

// === impl FinishReason ===

impl<'a> FinishReason<'a> {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::Error => "error",
            FinishReason::Other(s) => s,
        }
    }

    /// Detaches from the input buffer.
    pub fn into_owned(self) -> FinishReason<'static> {
        match self {
            FinishReason::Stop => FinishReason::Stop,
            FinishReason::Length => FinishReason::Length,
            FinishReason::ContentFilter => FinishReason::ContentFilter,
            FinishReason::ToolCalls => FinishReason::ToolCalls,
            FinishReason::Error => FinishReason::Error,
            FinishReason::Other(s) => FinishReason::Other(Cow::Owned(s.into_owned())),
        }
    }
}

impl<'a> From<Cow<'a, str>> for FinishReason<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        match &*s {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "content_filter" => FinishReason::ContentFilter,
            "tool_calls" => FinishReason::ToolCalls,
            "error" => FinishReason::Error,
            _ => FinishReason::Other(s),
        }
    }
}

impl<'a> From<&'a str> for FinishReason<'a> {
    fn from(s: &'a str) -> Self {
        FinishReason::from(Cow::Borrowed(s))
    }
}

// === impl Choice ===

impl Choice<'_> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> Choice<'static> {
        Choice {
            index: self.index,
            role: own(self.role),
            content: own(self.content),
            reasoning: own(self.reasoning),
            reasoning_field: self.reasoning_field,
            tool_calls: self.tool_calls.into_owned(),
            marks: self.marks,
            finish_reason: self.finish_reason.map(FinishReason::into_owned),
            filters: self.filters,
        }
    }
}

// === impl ToolCalls ===

/// The tool-call pieces of a choice, in wire order; a slice (through
/// `Deref`).
///
/// Nearly every chunk has none, and then this is a null pointer: a chunk is
/// moved and dropped on every event, and as a `Vec` (8 bytes more, and its
/// drop) the pipeline ran about 1 % more instructions on chat streams
/// (callgrind, 1 MiB of the R1 stream, event-aligned).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolCalls<'a>(Option<Box<[ToolCall<'a>]>>);

impl<'a> ToolCalls<'a> {
    /// Detaches from the input buffer.
    pub fn into_owned(self) -> ToolCalls<'static> {
        ToolCalls(self.0.map(|calls| calls.into_iter().map(ToolCall::into_owned).collect()))
    }
}

impl<'a> From<Vec<ToolCall<'a>>> for ToolCalls<'a> {
    fn from(calls: Vec<ToolCall<'a>>) -> Self {
        ToolCalls((!calls.is_empty()).then(|| calls.into_boxed_slice()))
    }
}

impl<'a> std::ops::Deref for ToolCalls<'a> {
    type Target = [ToolCall<'a>];
    #[inline]
    fn deref(&self) -> &[ToolCall<'a>] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl<'b, 'a> IntoIterator for &'b ToolCalls<'a> {
    type Item = &'b ToolCall<'a>;
    type IntoIter = std::slice::Iter<'b, ToolCall<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

// === parsing ===

/// The keys of a choice that [`read_choice`] reads.
#[derive(Debug, Clone, Copy)]
enum ChoiceField {
    Index,
    Delta,
    Message,
    FinishReason,
    FilterResults,
    FilterOffsets,
    Other,
}

/// In the order they are tried (the usual wire order); `logprobs` is listed
/// (as [`ChoiceField::Other`]) only because streams carry it on every choice.
const CHOICE_FIELDS: &[Known<ChoiceField>] = &[
    Known::new(b"index", ChoiceField::Index),
    Known::new(b"delta", ChoiceField::Delta),
    Known::new(b"logprobs", ChoiceField::Other),
    Known::new(b"finish_reason", ChoiceField::FinishReason),
    Known::new(b"message", ChoiceField::Message),
    Known::new(b"content_filter_results", ChoiceField::FilterResults),
    Known::new(b"content_filter_result", ChoiceField::FilterResults),
    Known::new(b"content_filter_offsets", ChoiceField::FilterOffsets),
];

/// The keys of `delta` / `message` that [`read_message`] reads.
#[derive(Debug, Clone, Copy)]
enum MessageField {
    Content,
    ReasoningContent,
    Reasoning,
    Role,
    ReasoningDetails,
    ToolCalls,
    ThinkingBlocks,
    Other,
}

/// In the order they are tried: the text fields first.
const MESSAGE_FIELDS: &[Known<MessageField>] = &[
    Known::new(b"content", MessageField::Content),
    Known::new(b"reasoning_content", MessageField::ReasoningContent),
    Known::new(b"role", MessageField::Role),
    Known::new(b"reasoning", MessageField::Reasoning),
    Known::new(b"reasoning_details", MessageField::ReasoningDetails),
    Known::new(b"tool_calls", MessageField::ToolCalls),
    Known::new(b"thinking_blocks", MessageField::ThinkingBlocks),
];

/// What [`read_choice`] saw besides the choice's own fields.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ChoiceSeen {
    /// The choice carried `message` (a whole completion).
    pub(crate) message: bool,
    /// Its `index` was present but not an integer in `0..=u32::MAX`: what
    /// it was instead (the payload is then refused, once it is read to the
    /// end, so that invalid JSON is still reported as such).
    pub(crate) bad_index: Option<&'static str>,
}

/// After a choice's `{`: fills `choice`.
pub(crate) fn read_choice<'a>(s: &mut Scanner<'a>, choice: &mut Choice<'a>) -> Scan<ChoiceSeen> {
    let mut delta: Option<MessageParts<'a>> = None;
    let mut message: Option<MessageParts<'a>> = None;
    let mut offsets: Option<FilterOffsets> = None;
    let mut bad_index = None;
    let mut first = true;
    while let Some(field) = s.field(&mut first, CHOICE_FIELDS, ChoiceField::Other)? {
        match field {
            // When the key repeats, the last value wins, as for any key.
            ChoiceField::Index => match read_index(s)? {
                Ok(index) => (choice.index, bad_index) = (index, None),
                Err(what) => (choice.index, bad_index) = (0, Some(what)),
            },
            ChoiceField::Delta => delta = read_message(s)?,
            ChoiceField::Message => message = read_message(s)?,
            ChoiceField::FinishReason => choice.finish_reason = s.str()?.map(Into::into),
            ChoiceField::FilterResults => {
                if s.object()? {
                    read_filter_results(s, FilterSource::Completion, &mut choice.filters)?;
                }
            }
            ChoiceField::FilterOffsets => offsets = read_offsets(s)?,
            ChoiceField::Other => s.skip_value()?,
        }
    }
    attach_offsets(&mut choice.filters, offsets);
    let has_message = message.is_some();
    if let Some(parts) = delta.or(message) {
        parts.fill(choice);
    }
    Ok(ChoiceSeen { message: has_message, bad_index })
}

/// `index`: an integer in `0..=u32::MAX`, or what the value was instead.
///
/// Anything else is an error rather than choice 0: a provider that sends
/// `"1"` or `1.0` for choice 1 must not have that text merged into choice
/// 0's.
fn read_index(s: &mut Scanner<'_>) -> Scan<Result<u32, &'static str>> {
    let container = matches!(s.peek()?, b'{' | b'[');
    Ok(match s.number_first()? {
        Some(Scalar::U64(n)) => u32::try_from(n).map_err(|_| "2^32 or more"),
        Some(Scalar::I64(_)) => Err("negative"),
        Some(Scalar::F64(n)) if n.is_sign_negative() => Err("negative"),
        Some(Scalar::F64(n)) if n >= 4_294_967_296.0 => Err("2^32 or more"),
        Some(Scalar::F64(_)) => Err("not an integer"),
        Some(Scalar::Str(_)) => Err("a string"),
        Some(Scalar::Bool(_)) => Err("a boolean"),
        None if container => Err("an object or array"),
        None => Err("null"),
    })
}

/// The fields of `delta` / `message` before reasoning de-duplication.
#[derive(Debug, Default)]
struct MessageParts<'a> {
    role: Option<Cow<'a, str>>,
    content: Option<Cow<'a, str>>,
    reasoning: Option<Cow<'a, str>>,
    reasoning_content: Option<Cow<'a, str>>,
    /// `reasoning_details` was an array; its text, if any item had some.
    details: Option<Option<Cow<'a, str>>>,
    /// The marks of `reasoning_details`.
    details_marks: Marks,
    /// `content` had thinking parts: their text, `""` when they had none.
    content_thinking: Option<Cow<'a, str>>,
    /// `thinking_blocks` was an array: its text, `""` when it had none.
    blocks: Option<Cow<'a, str>>,
    /// The marks of `thinking_blocks`.
    blocks_marks: Marks,
    tool_calls: ToolCalls<'a>,
}

impl<'a> MessageParts<'a> {
    fn fill(self, choice: &mut Choice<'a>) {
        choice.role = self.role;
        choice.content = self.content;
        choice.tool_calls = self.tool_calls;
        choice.marks = self.details_marks.union(self.blocks_marks);
        let thinking = self.content_thinking.or(self.blocks);
        let (reasoning, field) =
            match (self.details, self.reasoning, self.reasoning_content, thinking) {
                (Some(Some(text)), ..) => (Some(text), Some(ReasoningField::ReasoningDetails)),
                (_, Some(text), ..) => (Some(text), Some(ReasoningField::Reasoning)),
                (_, None, Some(text), _) => (Some(text), Some(ReasoningField::ReasoningContent)),
                (_, None, None, Some(text)) => (Some(text), Some(ReasoningField::Thinking)),
                (Some(None), None, None, None) => {
                    (Some(Cow::Borrowed("")), Some(ReasoningField::ReasoningDetails))
                }
                (None, None, None, None) => (None, None),
            };
        choice.reasoning = reasoning;
        choice.reasoning_field = field;
    }
}

/// `delta` / `message`: `None` unless an object.
fn read_message<'a>(s: &mut Scanner<'a>) -> Scan<Option<MessageParts<'a>>> {
    if !s.object()? {
        return Ok(None);
    }
    let mut parts = MessageParts::default();
    let mut first = true;
    while let Some(field) = s.field(&mut first, MESSAGE_FIELDS, MessageField::Other)? {
        match field {
            MessageField::Content => (parts.content, parts.content_thinking) = read_content(s)?,
            MessageField::ReasoningContent => parts.reasoning_content = s.text()?,
            MessageField::Reasoning => parts.reasoning = s.text()?,
            MessageField::Role => parts.role = s.str()?,
            MessageField::ReasoningDetails => {
                parts.details_marks = Marks::default();
                parts.details = read_details(s, &mut parts.details_marks)?;
            }
            MessageField::ToolCalls => parts.tool_calls = read_tool_calls(s)?.into(),
            MessageField::ThinkingBlocks => {
                (parts.blocks, parts.blocks_marks) = read_thinking_blocks(s)?;
            }
            MessageField::Other => s.skip_value()?,
        }
    }
    Ok(Some(parts))
}

/// `reasoning_details[]`: `None` unless an array; else the concatenated
/// text of its text-bearing items (`None` inside when no item had any). One
/// item stays borrowed; several are joined into one owned string.
fn read_details<'a>(s: &mut Scanner<'a>, marks: &mut Marks) -> Scan<Option<Option<Cow<'a, str>>>> {
    if !s.array()? {
        return Ok(None);
    }
    let mut text: Option<Cow<'a, str>> = None;
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let Some(piece) = read_detail_item(s, marks)? else { continue };
        match &mut text {
            None => text = Some(piece),
            Some(acc) => acc.to_mut().push_str(&piece),
        }
    }
    Ok(Some(text))
}

/// After a `reasoning_details` item's `{`: `text` of a `reasoning.text`
/// item, `summary` of a `reasoning.summary` item, else `None`; a
/// `reasoning.encrypted` item marks the reasoning encrypted, a
/// `reasoning.text` item with a non-empty `signature` signed.
fn read_detail_item<'a>(s: &mut Scanner<'a>, marks: &mut Marks) -> Scan<Option<Cow<'a, str>>> {
    let (mut kind, mut text, mut summary, mut signed) = (None, None, None, false);
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"type" => kind = s.str()?,
            b"text" => text = s.str()?,
            b"summary" => summary = s.str()?,
            b"signature" => signed = s.str()?.is_some_and(|sig| !sig.is_empty()),
            _ => s.skip_value()?,
        }
    }
    Ok(match kind.as_deref() {
        Some("reasoning.text") => {
            marks.signed |= signed;
            text
        }
        Some("reasoning.summary") => summary,
        Some("reasoning.encrypted") => {
            marks.encrypted = true;
            None
        }
        _ => None,
    })
}

/// Appends `piece` to text joined from several parts: one part stays
/// borrowed; a second makes it owned.
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

/// Text and thinking text.
type TextAndThinking<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>);

/// `content`: a string is the text (as any text field); an array is typed
/// parts (Mistral): `text` parts are the text, joined (`None` without
/// one), and `thinking` parts the thinking text, joined (`None` without
/// one, `""` for parts without text). Anything else is neither.
fn read_content<'a>(s: &mut Scanner<'a>) -> Scan<TextAndThinking<'a>> {
    if s.peek()? != b'[' {
        return Ok((s.text()?, None));
    }
    s.array()?;
    let (mut text, mut thinking) = (None, None);
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let part = read_part(s)?;
        match part.kind.as_deref() {
            Some("text") => {
                if let Some(piece) = part.text {
                    join(&mut text, piece);
                }
            }
            Some("thinking") => join(&mut thinking, part.thinking.unwrap_or_default()),
            _ => {}
        }
    }
    Ok((text, thinking))
}

/// A typed part of `content` (`text`, `thinking`, others), or of a
/// thinking part's `thinking` array.
#[derive(Debug, Default)]
struct Part<'a> {
    kind: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
    /// `thinking`: a string, or the joined text of its `text` parts.
    thinking: Option<Cow<'a, str>>,
}

/// After a part's `{`.
fn read_part<'a>(s: &mut Scanner<'a>) -> Scan<Part<'a>> {
    let mut part = Part::default();
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"type" => part.kind = s.str()?,
            b"text" => part.text = s.text()?,
            b"thinking" => part.thinking = read_thinking_text(s)?,
            _ => s.skip_value()?,
        }
    }
    Ok(part)
}

/// A thinking part's `thinking`: a string, or an array whose `text` parts'
/// text is joined; `None` for anything else.
fn read_thinking_text<'a>(s: &mut Scanner<'a>) -> Scan<Option<Cow<'a, str>>> {
    if s.peek()? != b'[' {
        return s.text();
    }
    s.array()?;
    let mut text = None;
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let part = read_part(s)?;
        if let (Some("text"), Some(piece)) = (part.kind.as_deref(), part.text) {
            join(&mut text, piece);
        }
    }
    Ok(text)
}

/// `thinking_blocks[]` (LiteLLM): the joined `thinking` of `thinking`
/// blocks (`""` when the array has none; `None` unless an array); a
/// non-empty `signature` marks it signed, a `redacted_thinking` block
/// redacted.
fn read_thinking_blocks<'a>(s: &mut Scanner<'a>) -> Scan<(Option<Cow<'a, str>>, Marks)> {
    let mut marks = Marks::default();
    if !s.array()? {
        return Ok((None, marks));
    }
    let mut thinking = Some(Cow::Borrowed(""));
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let (mut kind, mut text, mut signed) = (None, None, false);
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            match key.as_bytes() {
                b"type" => kind = s.str()?,
                b"thinking" => text = s.text()?,
                b"signature" => signed = s.str()?.is_some_and(|sig| !sig.is_empty()),
                _ => s.skip_value()?,
            }
        }
        match kind.as_deref() {
            Some("thinking") => {
                marks.signed |= signed;
                if let Some(piece) = text {
                    join(&mut thinking, piece);
                }
            }
            Some("redacted_thinking") => marks.redacted = true,
            _ => {}
        }
    }
    Ok((thinking, marks))
}

/// `tool_calls[]`: every entry that is an object, in order; `[]` unless an
/// array.
fn read_tool_calls<'a>(s: &mut Scanner<'a>) -> Scan<Vec<ToolCall<'a>>> {
    let mut calls = Vec::new();
    if !s.array()? {
        return Ok(calls);
    }
    let mut position = 0u32;
    let mut first = true;
    while s.element(&mut first)? {
        if s.object()? {
            calls.push(read_tool_call(s, position)?);
        }
        position = position.saturating_add(1);
    }
    Ok(calls)
}

/// After a `tool_calls` entry's `{`: `index` (else `position`), `id`,
/// `function.name` and `function.arguments`.
fn read_tool_call<'a>(s: &mut Scanner<'a>, position: u32) -> Scan<ToolCall<'a>> {
    let mut call = ToolCall { index: position, ..ToolCall::default() };
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"index" => {
                call.index = s.u64()?.and_then(|i| u32::try_from(i).ok()).unwrap_or(position);
            }
            b"id" => call.id = s.str()?,
            b"function" => {
                (call.name, call.arguments) = (None, None);
                if s.object()? {
                    let mut first = true;
                    while let Some(key) = s.key(&mut first)? {
                        match key.as_bytes() {
                            b"name" => call.name = s.str()?,
                            b"arguments" => call.arguments = read_arguments(s)?,
                            _ => s.skip_value()?,
                        }
                    }
                }
            }
            _ => s.skip_value()?,
        }
    }
    Ok(call)
}

/// Tool-call arguments as sent: a string's text (read as any text field),
/// the JSON text of any other value but `null` (an object sent whole).
pub(crate) fn read_arguments<'a>(s: &mut Scanner<'a>) -> Scan<Option<Cow<'a, str>>> {
    match s.peek()? {
        b'"' => s.text(),
        b'n' => s.skip_value().map(|()| None),
        _ => {
            let start = s.pos();
            s.skip_value()?;
            s.src().get(start..s.pos()).ok_or(Reject).map(|raw| Some(Cow::Borrowed(raw)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(json: &str) -> (Choice<'_>, bool) {
        let mut s = Scanner::new(json);
        assert!(s.object().unwrap(), "not an object: {json}");
        let mut c = Choice::default();
        let seen = read_choice(&mut s, &mut c).unwrap();
        s.finish().unwrap();
        assert_eq!(seen.bad_index, None, "{json}");
        (c, seen.message)
    }

    /// What `index` is read as: the index, or what it was instead.
    fn index(json: &str) -> Result<u32, &'static str> {
        let mut s = Scanner::new(json);
        assert!(s.object().unwrap(), "not an object: {json}");
        let mut c = Choice::default();
        let seen = read_choice(&mut s, &mut c).unwrap();
        s.finish().unwrap();
        seen.bad_index.map_or(Ok(c.index), Err)
    }

    #[test]
    fn inline_think_content_delta() {
        // FORMATS.md 1(a), first chunk's choice.
        let (c, msg) = choice(
            r#"{"index":0,"delta":{"role":"assistant","content":"<think>"},"finish_reason":null,"logprobs":null}"#,
        );
        assert!(!msg);
        assert_eq!(c.index, 0);
        assert_eq!(c.role.as_deref(), Some("assistant"));
        assert_eq!(c.content.as_deref(), Some("<think>"));
        assert_eq!(c.reasoning, None);
        assert_eq!(c.reasoning_field, None);
        assert_eq!(c.finish_reason, None);
    }

    #[test]
    fn reasoning_content_empty_vs_null() {
        // FORMATS.md 1(b): "" is present, null is absent.
        let (c, _) = choice(
            r#"{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}"#,
        );
        assert_eq!(c.content, None);
        assert_eq!(c.reasoning.as_deref(), Some(""));
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningContent));

        let (c, _) = choice(
            r#"{"index":0,"delta":{"content":"9.8 is greater.","reasoning_content":null},"logprobs":null,"finish_reason":null}"#,
        );
        assert_eq!(c.content.as_deref(), Some("9.8 is greater."));
        assert_eq!(c.reasoning, None);
        assert_eq!(c.reasoning_field, None);
    }

    #[test]
    fn vllm_reasoning_and_stop_reason_ignored() {
        // FORMATS.md 1(c).
        let (c, _) = choice(
            r#"{"index":0,"delta":{"reasoning":"Okay, 9.11 vs 9.8"},"logprobs":null,"finish_reason":null}"#,
        );
        assert_eq!(c.reasoning.as_deref(), Some("Okay, 9.11 vs 9.8"));
        assert_eq!(c.reasoning_field, Some(ReasoningField::Reasoning));
        let (c, _) = choice(
            r#"{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null}"#,
        );
        assert_eq!(c.finish_reason, Some(FinishReason::Stop));
        assert_eq!(c.content.as_deref(), Some(""));
    }

    #[test]
    fn openrouter_details_preferred_over_reasoning() {
        // FORMATS.md 1(d), first chunk's choice.
        let (c, _) = choice(
            r#"{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Compare decimals","reasoning_details":[{"type":"reasoning.text","text":"Compare decimals","format":"unknown","index":0}]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}"#,
        );
        assert_eq!(c.reasoning.as_deref(), Some("Compare decimals"));
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningDetails));
        assert!(matches!(c.reasoning, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn all_three_reasoning_fields_dedupe() {
        let (c, _) = choice(
            r#"{"delta":{"reasoning_content":"A","reasoning":"A","reasoning_details":[{"type":"reasoning.text","text":"A"}]}}"#,
        );
        assert_eq!(c.reasoning.as_deref(), Some("A"));
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningDetails));

        let (c, _) = choice(r#"{"delta":{"reasoning_content":"B","reasoning":"A"}}"#);
        assert_eq!(
            (c.reasoning.as_deref(), c.reasoning_field),
            (Some("A"), Some(ReasoningField::Reasoning))
        );

        let (c, _) = choice(r#"{"delta":{"reasoning_content":"B","reasoning":null}}"#);
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningContent));
    }

    #[test]
    fn details_concatenate_text_and_summary_skip_encrypted() {
        let (c, _) = choice(
            r#"{"delta":{"reasoning_details":[{"type":"reasoning.summary","summary":"S1 "},{"type":"reasoning.encrypted","data":"xx"},{"text":"untyped"},{"type":"reasoning.text","text":"T2","signature":"sig"}]}}"#,
        );
        assert_eq!(c.reasoning.as_deref(), Some("S1 T2"));
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningDetails));
    }

    #[test]
    fn encrypted_only_details_fall_back_to_reasoning() {
        let (c, _) = choice(
            r#"{"delta":{"reasoning":"plain","reasoning_details":[{"type":"reasoning.encrypted","data":"xx"}]}}"#,
        );
        assert_eq!(c.reasoning.as_deref(), Some("plain"));
        assert_eq!(c.reasoning_field, Some(ReasoningField::Reasoning));

        let (c, _) = choice(r#"{"delta":{"reasoning_details":[]}}"#);
        assert_eq!(c.reasoning.as_deref(), Some(""));
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningDetails));
    }

    #[test]
    fn message_marks_completion() {
        let (c, msg) = choice(
            r#"{"index":1,"message":{"role":"assistant","content":"Hi","reasoning_content":"think"},"finish_reason":"length"}"#,
        );
        assert!(msg);
        assert_eq!(c.index, 1);
        assert_eq!(c.content.as_deref(), Some("Hi"));
        assert_eq!(c.reasoning.as_deref(), Some("think"));
        assert_eq!(c.finish_reason, Some(FinishReason::Length));
        let (_, msg) = choice(r#"{"message":null,"delta":{}}"#);
        assert!(!msg);
    }

    #[test]
    fn per_choice_filters_get_offsets_and_both_keys() {
        // FORMATS.md 1(f), last annotation chunk's choice.
        let (c, _) = choice(
            r#"{"index":0,"finish_reason":"content_filter","content_filter_results":{"protected_material_text":{"detected":true,"filtered":true}},"content_filter_offsets":{"check_offset":65,"start_offset":65,"end_offset":1056}}"#,
        );
        assert_eq!(c.finish_reason, Some(FinishReason::ContentFilter));
        let offsets = FilterOffsets {
            check_offset: Some(65),
            start_offset: Some(65),
            end_offset: Some(1056),
        };
        assert_eq!(
            c.filters,
            [FilterEvent {
                filtered: Some(true),
                detected: Some(true),
                offsets: Some(offsets),
                ..FilterEvent::new(FilterSource::Completion, "protected_material_text")
            }]
        );

        let (c, _) = choice(
            r#"{"content_filter_result":{"error":{"code":"content_filter_error","message":"m"}},"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{}}"#,
        );
        let cats: Vec<&str> = c.filters.iter().map(|e| e.category.as_str()).collect();
        assert_eq!(cats, ["error", "hate"]);
        assert!(c.filters.iter().all(|e| e.offsets.is_none()));
    }

    #[test]
    fn finish_reason_variants_round_trip() {
        for s in [
            "stop",
            "length",
            "content_filter",
            "tool_calls",
            "error",
            "insufficient_system_resource",
        ] {
            assert_eq!(FinishReason::from(s).as_str(), s);
        }
        assert_eq!(
            FinishReason::from("function_call"),
            FinishReason::Other(Cow::Borrowed("function_call"))
        );
        assert_eq!(FinishReason::from("stop").into_owned(), FinishReason::Stop);
        assert_eq!(ReasoningField::ReasoningDetails.as_str(), "reasoning_details");
        assert_eq!(ReasoningField::ReasoningContent.as_str(), "reasoning_content");
        assert_eq!(ReasoningField::Reasoning.as_str(), "reasoning");
    }

    #[test]
    fn wrong_types_are_absent() {
        let (c, _) = choice(
            r#"{"index":0,"delta":{"content":{"type":"text","text":"x"},"role":7,"tool_calls":{"id":"c"},"thinking_blocks":"t"},"finish_reason":1}"#,
        );
        assert_eq!(c, Choice::default());
    }

    #[test]
    fn mistral_content_is_typed_parts() {
        // FORMATS-MORE.md §5: thinking parts hold text parts.
        let (c, _) = choice(
            r#"{"index":0,"delta":{"role":"assistant","content":[{"type":"thinking","thinking":[{"type":"text","text":"Compare 9.11"}]}]},"finish_reason":null}"#,
        );
        assert_eq!(c.content, None);
        assert_eq!(c.reasoning.as_deref(), Some("Compare 9.11"));
        assert!(matches!(c.reasoning, Some(Cow::Borrowed(_))), "one part is borrowed");
        assert_eq!(c.reasoning_field, Some(ReasoningField::Thinking));
        let (c, _) = choice(
            r#"{"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":" and"},{"type":"text","text":" 9.8."}]},{"type":"text","text":"9.8"},{"type":"image_url","image_url":"x"},{"text":"untyped"},{"type":"text","text":" is larger."}]}}"#,
        );
        assert_eq!(c.reasoning.as_deref(), Some(" and 9.8."));
        assert_eq!(c.content.as_deref(), Some("9.8 is larger."));
        // A thinking part without text still says where reasoning is.
        let (c, _) = choice(r#"{"delta":{"content":[{"type":"thinking","thinking":[]}]}}"#);
        assert_eq!(
            (c.reasoning.as_deref(), c.reasoning_field),
            (Some(""), Some(ReasoningField::Thinking))
        );
        let (c, _) =
            choice(r#"{"delta":{"content":[{"type":"thinking","thinking":"plain"},7,null]}}"#);
        assert_eq!(c.reasoning.as_deref(), Some("plain"));
        let (c, _) = choice(r#"{"delta":{"content":[]}}"#);
        assert_eq!(c, Choice::default());
    }

    #[test]
    fn litellm_thinking_blocks_beside_reasoning_content_count_once() {
        let (c, _) = choice(
            r#"{"delta":{"reasoning_content":"Let me think","thinking_blocks":[{"type":"thinking","thinking":"Let me think","signature":"EqQBCgIYAhIM"}]}}"#,
        );
        assert_eq!(c.reasoning.as_deref(), Some("Let me think"));
        assert_eq!(c.reasoning_field, Some(ReasoningField::ReasoningContent));
        assert_eq!(c.marks, Marks { signed: true, ..Marks::default() });
        let (c, _) = choice(
            r#"{"delta":{"thinking_blocks":[{"type":"redacted_thinking","data":"EmwKAhgB"},{"type":"thinking","thinking":"a","signature":""},{"type":"thinking","thinking":"b"}]}}"#,
        );
        assert_eq!(
            (c.reasoning.as_deref(), c.reasoning_field),
            (Some("ab"), Some(ReasoningField::Thinking))
        );
        assert_eq!(c.marks, Marks { redacted: true, ..Marks::default() });
        assert_eq!(ReasoningField::Thinking.as_str(), "thinking");
    }

    #[test]
    fn openrouter_details_mark_encrypted_and_signed_reasoning() {
        let (c, _) = choice(
            r#"{"delta":{"reasoning_details":[{"type":"reasoning.encrypted","data":"gAAAA"},{"type":"reasoning.text","text":"x","signature":"sig","format":"anthropic-claude-v1"}]}}"#,
        );
        assert_eq!(c.reasoning.as_deref(), Some("x"));
        assert_eq!(c.marks, Marks { signed: true, encrypted: true, ..Marks::default() });
    }

    #[test]
    fn tool_calls_are_pieces_in_wire_order() {
        // FORMATS-MORE.md §5: the first delta of a call has id and name.
        let (c, _) = choice(
            r#"{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}"#,
        );
        assert_eq!(
            *c.tool_calls,
            [ToolCall {
                index: 0,
                id: Some("call_abc".into()),
                name: Some("get_weather".into()),
                arguments: Some("".into())
            }]
        );
        let (c, _) = choice(
            r#"{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\":"}},{"function":{"arguments":"\"Paris\"}"}}]}}"#,
        );
        assert_eq!(
            *c.tool_calls,
            [
                ToolCall { index: 1, arguments: Some("{\"city\":".into()), ..ToolCall::default() },
                ToolCall { index: 1, arguments: Some("\"Paris\"}".into()), ..ToolCall::default() },
            ]
        );
        // Arguments sent as an object are its JSON text; a bad index is the
        // position.
        let (c, _) = choice(
            r#"{"message":{"tool_calls":[7,{"index":"x","id":"c","function":{"name":"f","arguments":{"a": [1, 2]}}},{"index":null,"function":{"arguments":null}}]}}"#,
        );
        assert_eq!(
            *c.tool_calls,
            [
                ToolCall {
                    index: 1,
                    id: Some("c".into()),
                    name: Some("f".into()),
                    arguments: Some(r#"{"a": [1, 2]}"#.into())
                },
                ToolCall { index: 2, ..ToolCall::default() },
            ]
        );
        assert_eq!(c.clone().into_owned(), c);
    }

    #[test]
    fn index_is_a_u32_or_an_error() {
        assert_eq!(index(r#"{"delta":{}}"#), Ok(0), "absent is choice 0");
        assert_eq!(index(r#"{"index":7}"#), Ok(7));
        assert_eq!(index(r#"{"index": 4294967295}"#), Ok(u32::MAX));
        for (json, what) in [
            (r#"{"index":"1"}"#, "a string"),
            (r#"{"index":-1}"#, "negative"),
            (r#"{"index":-0}"#, "negative"),
            (r#"{"index":1.5}"#, "not an integer"),
            (r#"{"index":1.0}"#, "not an integer"),
            (r#"{"index":1e0}"#, "not an integer"),
            (r#"{"index":null}"#, "null"),
            (r#"{"index":4294967296}"#, "2^32 or more"),
            (r#"{"index":18446744073709551616}"#, "2^32 or more"),
            (r#"{"index":true}"#, "a boolean"),
            (r#"{"index":{"n":1}}"#, "an object or array"),
            (r#"{"index":[1]}"#, "an object or array"),
        ] {
            assert_eq!(index(json), Err(what), "{json}");
        }
        // The last `index` wins, either way.
        assert_eq!(index(r#"{"index":"1","index":2}"#), Ok(2));
        assert_eq!(index(r#"{"index":2,"index":"1"}"#), Err("a string"));
    }
}
