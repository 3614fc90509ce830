//! The serde_json-driven parser thinktee-chunk shipped before its own
//! scanner: a slow, obviously-correct reference (STYLE.md 18) for the
//! differential tests in `tests/differential.rs` and the fuzz oracle
//! `chunk_json` (which includes this file with `#[path]`).
//!
//! Kept verbatim apart from imports and later rules (a choice `index` that
//! is present but not an integer in `0..=u32::MAX` refuses the payload,
//! `Error::ChoiceIndex`; issue 15: `content` as typed parts,
//! `thinking_blocks`, `tool_calls`, and the marks of opaque reasoning,
//! written here from the formats, not from the scanner): it builds the crate's public types
//! through the serde visitors, so `reference::parse(x) == parse(x)` (and the
//! same error kind) is the behaviour contract of the fast parser.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::all)]

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use thinktee_chunk::{
    ApiError, Choice, Choices, Chunk, Error, FilterEvent, FilterOffsets, FilterSource, Marks,
    Payload, ReasoningField, ToolCall, Usage,
};

// ---- de.rs ----

/// A JSON scalar other than `null` (which always means "absent").
#[derive(Debug)]
pub(crate) enum Scalar<'de> {
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'de, str>),
}

/// How a type is read from whatever JSON value sits where it is expected.
///
/// Every method defaults to "not this shape": the value is skipped and the
/// result is `None`. `null` never reaches these methods.
pub(crate) trait Lenient<'de>: Sized {
    /// A string, number or boolean.
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        let _ = value;
        None
    }

    /// An object. Implementations must consume every entry.
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        skip_map(map).map(|()| None)
    }

    /// An array. Implementations must consume every element.
    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        skip_seq(seq).map(|()| None)
    }
}

/// Deserializes any JSON value into `Option<T>` through [`Lenient`].
#[derive(Debug)]
pub(crate) struct L<T>(pub(crate) Option<T>);

impl<'de, T: Lenient<'de>> Deserialize<'de> for L<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor(PhantomData)).map(L)
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::I64(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::U64(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::F64(v)))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::Str(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::Str(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(T::from_scalar(Scalar::Str(Cow::Owned(v))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::from_seq(seq)
    }
}

/// Reads the value of the current map entry leniently.
#[inline]
pub(crate) fn value<'de, T: Lenient<'de>, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Option<T>, A::Error> {
    map.next_value::<L<T>>().map(|l| l.0)
}

/// Skips the value of the current map entry.
#[inline]
pub(crate) fn skip_value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

pub(crate) fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

pub(crate) fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

// === impl Lenient for scalars ===

impl<'de> Lenient<'de> for Cow<'de, str> {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for bool {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for u64 {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::U64(n) => Some(n),
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for i64 {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::I64(n) => Some(n),
            Scalar::U64(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for u32 {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        u64::from_scalar(value).and_then(|n| u32::try_from(n).ok())
    }
}

impl<'de> Lenient<'de> for u16 {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        u64::from_scalar(value).and_then(|n| u16::try_from(n).ok())
    }
}

/// An error `code`: a string, or a number rendered in decimal (OpenRouter
/// sends `502`).
#[derive(Debug)]
pub(crate) struct Code(pub(crate) String);

impl<'de> Lenient<'de> for Code {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::Str(s) => Some(Code(s.into_owned())),
            Scalar::U64(n) => Some(Code(n.to_string())),
            Scalar::I64(n) => Some(Code(n.to_string())),
            Scalar::F64(n) if n.is_finite() => Some(Code(n.to_string())),
            _ => None,
        }
    }
}

/// An object key as written on the wire (borrowed unless it had escapes).
#[derive(Debug)]
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Every object key this crate reads, across all payload types.
///
/// One enum serves every object: a key that means nothing in a given object
/// is skipped there, exactly like [`Field::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    // chunk
    Id,
    Object,
    Model,
    Created,
    Choices,
    Usage,
    PromptFilterResults,
    PromptAnnotations,
    Error,
    // choice
    Index,
    Delta,
    Message,
    FinishReason,
    ContentFilterResults,
    ContentFilterResult,
    ContentFilterOffsets,
    // message / delta
    Role,
    Content,
    Reasoning,
    ReasoningContent,
    ReasoningDetails,
    Type,
    Text,
    Summary,
    Signature,
    ThinkingBlocks,
    Thinking,
    ToolCalls,
    Function,
    Name,
    Arguments,
    // usage
    PromptTokens,
    CompletionTokens,
    TotalTokens,
    CompletionTokensDetails,
    PromptTokensDetails,
    ReasoningTokens,
    CachedTokens,
    PromptCacheHitTokens,
    PromptCacheMissTokens,
    // filters
    Filtered,
    Severity,
    Detected,
    Details,
    CheckOffset,
    StartOffset,
    EndOffset,
    // errors
    Code,
    Param,
    Status,
    InnerError,
    /// Anything else.
    Other,
}

impl Field {
    fn from_key(key: &str) -> Self {
        match key {
            "id" => Field::Id,
            "object" => Field::Object,
            "model" => Field::Model,
            "created" => Field::Created,
            "choices" => Field::Choices,
            "usage" => Field::Usage,
            "prompt_filter_results" => Field::PromptFilterResults,
            "prompt_annotations" => Field::PromptAnnotations,
            "error" => Field::Error,
            "index" => Field::Index,
            "delta" => Field::Delta,
            "message" => Field::Message,
            "finish_reason" => Field::FinishReason,
            "content_filter_results" => Field::ContentFilterResults,
            "content_filter_result" => Field::ContentFilterResult,
            "content_filter_offsets" => Field::ContentFilterOffsets,
            "role" => Field::Role,
            "content" => Field::Content,
            "reasoning" => Field::Reasoning,
            "reasoning_content" => Field::ReasoningContent,
            "reasoning_details" => Field::ReasoningDetails,
            "type" => Field::Type,
            "text" => Field::Text,
            "summary" => Field::Summary,
            "signature" => Field::Signature,
            "thinking_blocks" => Field::ThinkingBlocks,
            "thinking" => Field::Thinking,
            "tool_calls" => Field::ToolCalls,
            "function" => Field::Function,
            "name" => Field::Name,
            "arguments" => Field::Arguments,
            "prompt_tokens" => Field::PromptTokens,
            "completion_tokens" => Field::CompletionTokens,
            "total_tokens" => Field::TotalTokens,
            "completion_tokens_details" => Field::CompletionTokensDetails,
            "prompt_tokens_details" => Field::PromptTokensDetails,
            "reasoning_tokens" => Field::ReasoningTokens,
            "cached_tokens" => Field::CachedTokens,
            "prompt_cache_hit_tokens" => Field::PromptCacheHitTokens,
            "prompt_cache_miss_tokens" => Field::PromptCacheMissTokens,
            "filtered" => Field::Filtered,
            "severity" => Field::Severity,
            "detected" => Field::Detected,
            "details" => Field::Details,
            "check_offset" => Field::CheckOffset,
            "start_offset" => Field::StartOffset,
            "end_offset" => Field::EndOffset,
            "code" => Field::Code,
            "param" => Field::Param,
            "status" => Field::Status,
            "innererror" | "inner_error" => Field::InnerError,
            _ => Field::Other,
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::from_key(v))
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

// ---- text.rs ----

/// Reads the current map value as text: `Some` for a JSON string, `None`
/// for `null` or any other kind of value (read leniently, as everywhere).
#[inline]
pub(crate) fn text_value<'de, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Option<Cow<'de, str>>, A::Error> {
    let raw: &'de RawValue = map.next_value()?;
    Ok(from_literal(raw.get()))
}

/// The text of a JSON string literal (with its quotes), or `None` when the
/// literal is not a string.
pub(crate) fn from_literal(literal: &str) -> Option<Cow<'_, str>> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        Some(Cow::Owned(unescape(inner)))
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// Decodes the escapes of a JSON string body (RFC 8259 §7). serde_json has
/// already checked the escapes' syntax; a lone surrogate (which serde_json
/// would reject when unescaping) becomes U+FFFD rather than failing.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at + 1..];
        let (ch, used) = match escape.as_bytes().first() {
            Some(b'"') => ('"', 1),
            Some(b'\\') => ('\\', 1),
            Some(b'/') => ('/', 1),
            Some(b'b') => ('\u{8}', 1),
            Some(b'f') => ('\u{c}', 1),
            Some(b'n') => ('\n', 1),
            Some(b'r') => ('\r', 1),
            Some(b't') => ('\t', 1),
            Some(b'u') => unicode_escape(&escape[1..]).map_or(('\u{fffd}', 1), |(c, n)| (c, 1 + n)),
            _ => ('\u{fffd}', 0),
        };
        out.push(ch);
        rest = &escape[used..];
    }
    out.push_str(rest);
    out
}

/// `XXXX` (after `\u`), or a surrogate pair `XXXX\uYYYY`: the character
/// and how many bytes it used.
fn unicode_escape(s: &str) -> Option<(char, usize)> {
    let hex = |s: &str| s.get(..4).and_then(|h| u16::from_str_radix(h, 16).ok());
    let unit = hex(s)?;
    match unit {
        0xD800..=0xDBFF => {
            let low = s.get(4..).and_then(|r| r.strip_prefix("\\u")).and_then(hex);
            match low {
                Some(low @ 0xDC00..=0xDFFF) => {
                    let c =
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    Some((char::from_u32(c).unwrap_or('\u{fffd}'), 10))
                }
                _ => Some(('\u{fffd}', 4)),
            }
        }
        0xDC00..=0xDFFF => Some(('\u{fffd}', 4)),
        _ => Some((char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}'), 4)),
    }
}

// ---- usage.rs ----
impl<'de> Lenient<'de> for Usage {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut usage = Usage::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::PromptTokens => usage.prompt_tokens = value(&mut map)?,
                Field::CompletionTokens => usage.completion_tokens = value(&mut map)?,
                Field::TotalTokens => usage.total_tokens = value(&mut map)?,
                Field::PromptCacheHitTokens => usage.cache_hit_tokens = value(&mut map)?,
                Field::PromptCacheMissTokens => usage.cache_miss_tokens = value(&mut map)?,
                Field::CompletionTokensDetails => {
                    usage.reasoning_tokens =
                        value::<TokenDetails, _>(&mut map)?.and_then(|d| d.reasoning_tokens);
                }
                Field::PromptTokensDetails => {
                    usage.cached_tokens =
                        value::<TokenDetails, _>(&mut map)?.and_then(|d| d.cached_tokens);
                }
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(usage))
    }
}

/// `completion_tokens_details` / `prompt_tokens_details`: the one count of
/// each that thinktee reports.
#[derive(Debug, Default)]
struct TokenDetails {
    reasoning_tokens: Option<u64>,
    cached_tokens: Option<u64>,
}

impl<'de> Lenient<'de> for TokenDetails {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut details = TokenDetails::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::ReasoningTokens => details.reasoning_tokens = value(&mut map)?,
                Field::CachedTokens => details.cached_tokens = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(details))
    }
}

// ---- filter.rs ----
/// Wire category key to [`FilterEvent::category`].
fn category_name(key: Cow<'_, str>) -> String {
    if key == "self-harm" { "self_harm".to_owned() } else { key.into_owned() }
}

/// Moves `src` onto the end of `dst` without allocating when `dst` is empty.
pub(crate) fn append(dst: &mut Vec<FilterEvent>, mut src: Vec<FilterEvent>) {
    if dst.is_empty() {
        *dst = src;
    } else {
        dst.append(&mut src);
    }
}

/// Sets `offsets` on every event.
pub(crate) fn attach_offsets(events: &mut [FilterEvent], offsets: Option<FilterOffsets>) {
    if let Some(offsets) = offsets {
        for event in events {
            event.offsets = Some(offsets);
        }
    }
}

// === parsing ===

impl<'de> Lenient<'de> for FilterOffsets {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut offsets = FilterOffsets::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::CheckOffset => offsets.check_offset = value(&mut map)?,
                Field::StartOffset => offsets.start_offset = value(&mut map)?,
                Field::EndOffset => offsets.end_offset = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(offsets))
    }
}

/// A results object read as events; `PROMPT` picks the [`FilterSource`].
#[derive(Debug)]
pub(crate) struct FilterResults<const PROMPT: bool>(pub(crate) Vec<FilterEvent>);

impl<'de, const PROMPT: bool> Lenient<'de> for FilterResults<PROMPT> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let source = if PROMPT { FilterSource::Prompt } else { FilterSource::Completion };
        let mut events = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == "content_filter_raw" {
                skip_value(&mut map)?;
                continue;
            }
            if let Some(verdict) = value::<Verdict<'de>, _>(&mut map)? {
                verdict.push_events(source, category_name(key), &mut events);
            }
        }
        Ok(Some(FilterResults(events)))
    }
}

/// One category's value, whatever its shape.
#[derive(Debug, Default)]
struct Verdict<'a> {
    filtered: Option<bool>,
    severity: Option<Cow<'a, str>>,
    detected: Option<bool>,
    id: Option<Cow<'a, str>>,
    code: Option<String>,
    message: Option<Cow<'a, str>>,
    /// `{filtered, details: [..]}`.
    details: Option<Vec<Entry<'a>>>,
    /// The value itself was an array: `[{filtered, id}, ..]`.
    entries: Option<Vec<Entry<'a>>>,
}

impl Verdict<'_> {
    fn push_events(self, source: FilterSource, category: String, out: &mut Vec<FilterEvent>) {
        if let Some(entries) = self.entries {
            for entry in entries {
                let mut event = FilterEvent::new(source, category.clone());
                event.filtered = entry.filtered;
                event.id = entry.id.map(Cow::into_owned);
                out.push(event);
            }
            return;
        }
        let base = FilterEvent {
            source,
            category,
            filtered: self.filtered,
            severity: self.severity.map(Cow::into_owned),
            detected: self.detected,
            id: self.id.map(Cow::into_owned),
            code: self.code,
            message: self.message.map(Cow::into_owned),
            offsets: None,
        };
        match self.details {
            Some(details) if !details.is_empty() => {
                for entry in details {
                    let mut event = base.clone();
                    event.filtered = entry.filtered.or(base.filtered);
                    if let Some(id) = entry.id {
                        event.id = Some(id.into_owned());
                    }
                    out.push(event);
                }
            }
            _ => out.push(base),
        }
    }
}

impl<'de> Lenient<'de> for Verdict<'de> {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        let mut verdict = Verdict::default();
        match value {
            Scalar::Bool(b) => verdict.filtered = Some(b),
            Scalar::Str(s) => verdict.message = Some(s),
            _ => {}
        }
        Some(verdict)
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut verdict = Verdict::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Filtered => verdict.filtered = value(&mut map)?,
                Field::Severity => verdict.severity = value(&mut map)?,
                Field::Detected => verdict.detected = value(&mut map)?,
                Field::Id => verdict.id = value(&mut map)?,
                Field::Code => verdict.code = value::<Code, _>(&mut map)?.map(|c| c.0),
                Field::Message => verdict.message = value(&mut map)?,
                Field::Details => {
                    verdict.details = value::<Entries<'de>, _>(&mut map)?.map(|e| e.0)
                }
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(verdict))
    }

    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        let entries = Entries::from_seq(seq)?.map(|e| e.0);
        Ok(Some(Verdict { entries, ..Verdict::default() }))
    }
}

/// An array of `{filtered, id}`; non-object elements are skipped.
#[derive(Debug)]
struct Entries<'a>(Vec<Entry<'a>>);

impl<'de> Lenient<'de> for Entries<'de> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut entries = Vec::new();
        while let Some(L(entry)) = seq.next_element::<L<Entry<'de>>>()? {
            entries.extend(entry);
        }
        Ok(Some(Entries(entries)))
    }
}

#[derive(Debug, Default)]
struct Entry<'a> {
    filtered: Option<bool>,
    id: Option<Cow<'a, str>>,
}

impl<'de> Lenient<'de> for Entry<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut entry = Entry::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Filtered => entry.filtered = value(&mut map)?,
                Field::Id => entry.id = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(entry))
    }
}

/// `prompt_filter_results` / `prompt_annotations`: an array of
/// `{prompt_index, content_filter_results}`, flattened into prompt events.
#[derive(Debug)]
pub(crate) struct PromptFilters(pub(crate) Vec<FilterEvent>);

impl<'de> Lenient<'de> for PromptFilters {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut events = Vec::new();
        while let Some(L(entry)) = seq.next_element::<L<PromptEntry>>()? {
            if let Some(entry) = entry {
                append(&mut events, entry.0);
            }
        }
        Ok(Some(PromptFilters(events)))
    }
}

#[derive(Debug)]
struct PromptEntry(Vec<FilterEvent>);

impl<'de> Lenient<'de> for PromptEntry {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut events = Vec::new();
        let mut offsets = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::ContentFilterResults | Field::ContentFilterResult => {
                    if let Some(results) = value::<FilterResults<true>, _>(&mut map)? {
                        append(&mut events, results.0);
                    }
                }
                Field::ContentFilterOffsets => offsets = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        attach_offsets(&mut events, offsets);
        Ok(Some(PromptEntry(events)))
    }
}

// ---- choice.rs ----
// === parsing ===

/// A parsed choice and whether it carried `message` (a whole completion).
#[derive(Debug)]
pub(crate) struct ChoiceParts<'a> {
    pub(crate) choice: Choice<'a>,
    pub(crate) has_message: bool,
    /// `index` was present but not a `u32`: what it was instead.
    pub(crate) bad_index: Option<&'static str>,
}

/// A choice's `index`: a `u32`, or what the value was instead.
#[derive(Debug)]
struct Index(Result<u32, &'static str>);

impl<'de> Lenient<'de> for Index {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        Some(Index(match value {
            Scalar::U64(n) => u32::try_from(n).map_err(|_| "2^32 or more"),
            Scalar::I64(_) => Err("negative"),
            Scalar::F64(n) if n.is_sign_negative() => Err("negative"),
            Scalar::F64(n) if n >= 4_294_967_296.0 => Err("2^32 or more"),
            Scalar::F64(_) => Err("not an integer"),
            Scalar::Str(_) => Err("a string"),
            Scalar::Bool(_) => Err("a boolean"),
        }))
    }

    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        skip_map(map).map(|()| Some(Index(Err("an object or array"))))
    }

    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        skip_seq(seq).map(|()| Some(Index(Err("an object or array"))))
    }
}

impl<'de> Lenient<'de> for ChoiceParts<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut choice = Choice::default();
        let mut delta: Option<MessageParts<'de>> = None;
        let mut message: Option<MessageParts<'de>> = None;
        let mut offsets: Option<FilterOffsets> = None;
        let mut bad_index = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Index => {
                    let index = value::<Index, _>(&mut map)?.map_or(Err("null"), |i| i.0);
                    (choice.index, bad_index) = match index {
                        Ok(n) => (n, None),
                        Err(what) => (0, Some(what)),
                    };
                }
                Field::Delta => delta = value(&mut map)?,
                Field::Message => message = value(&mut map)?,
                Field::FinishReason => {
                    choice.finish_reason = value::<Cow<'de, str>, _>(&mut map)?.map(Into::into);
                }
                Field::ContentFilterResults | Field::ContentFilterResult => {
                    if let Some(results) = value::<FilterResults<false>, _>(&mut map)? {
                        append(&mut choice.filters, results.0);
                    }
                }
                Field::ContentFilterOffsets => offsets = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        attach_offsets(&mut choice.filters, offsets);
        let has_message = message.is_some();
        if let Some(parts) = delta.or(message) {
            parts.fill(&mut choice);
        }
        Ok(Some(ChoiceParts { choice, has_message, bad_index }))
    }
}

/// The fields of `delta` / `message` before reasoning de-duplication.
#[derive(Debug, Default)]
struct MessageParts<'a> {
    role: Option<Cow<'a, str>>,
    content: Option<Cow<'a, str>>,
    reasoning: Option<Cow<'a, str>>,
    reasoning_content: Option<Cow<'a, str>>,
    details: Option<Details<'a>>,
    /// Thinking parts of `content` (Mistral), when it had any.
    content_thinking: Option<Cow<'a, str>>,
    /// `thinking_blocks` (LiteLLM), when it was an array.
    blocks: Option<Blocks<'a>>,
    tool_calls: Vec<ToolCall<'a>>,
}

impl<'a> MessageParts<'a> {
    fn fill(self, choice: &mut Choice<'a>) {
        choice.role = self.role;
        choice.content = self.content;
        choice.tool_calls = self.tool_calls.into();
        let details_marks = self.details.as_ref().map(|d| d.marks).unwrap_or_default();
        let blocks_marks = self.blocks.as_ref().map(|b| b.marks).unwrap_or_default();
        choice.marks = Marks {
            signed: details_marks.signed || blocks_marks.signed,
            redacted: details_marks.redacted || blocks_marks.redacted,
            encrypted: details_marks.encrypted || blocks_marks.encrypted,
        };
        let thinking = self.content_thinking.or(self.blocks.map(|b| b.text));
        let details = self.details.map(|d| d.text);
        let (reasoning, field) = match (details, self.reasoning, self.reasoning_content, thinking) {
            (Some(Some(text)), _, _, _) => (Some(text), Some(ReasoningField::ReasoningDetails)),
            (_, Some(text), _, _) => (Some(text), Some(ReasoningField::Reasoning)),
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

impl<'de> Lenient<'de> for MessageParts<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut parts = MessageParts::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Role => parts.role = value(&mut map)?,
                Field::Content => {
                    (parts.content, parts.content_thinking) = content_value(&mut map)?;
                }
                Field::Reasoning => parts.reasoning = text_value(&mut map)?,
                Field::ReasoningContent => parts.reasoning_content = text_value(&mut map)?,
                Field::ReasoningDetails => parts.details = value(&mut map)?,
                Field::ThinkingBlocks => parts.blocks = value(&mut map)?,
                Field::ToolCalls => {
                    parts.tool_calls =
                        value::<ToolCalls<'de>, _>(&mut map)?.map_or_else(Vec::new, |t| t.0);
                }
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(parts))
    }
}

/// Appends a piece to text joined from parts (the first piece as is).
fn join<'a>(text: &mut Option<Cow<'a, str>>, piece: Cow<'a, str>) {
    match text {
        None => *text = Some(piece),
        Some(acc) if acc.is_empty() => *text = Some(piece),
        Some(acc) => acc.to_mut().push_str(&piece),
    }
}

/// Reads the raw value again as `T` (its syntax was checked when it was
/// taken raw; reading it checks what a read value must be).
fn reread<'de, T: Lenient<'de>, E: de::Error>(raw: &'de RawValue) -> Result<Option<T>, E> {
    serde_json::from_str::<L<T>>(raw.get()).map(|l| l.0).map_err(E::custom)
}

/// `content`: a string (as a text field), or an array of typed parts whose
/// `text` parts are the text and `thinking` parts the thinking text.
fn content_value<'de, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<(Option<Cow<'de, str>>, Option<Cow<'de, str>>), A::Error> {
    let raw: &'de RawValue = map.next_value()?;
    if raw.get().starts_with('[') {
        let parts = reread::<ContentParts<'de>, A::Error>(raw)?.unwrap_or_default();
        return Ok((parts.text, parts.thinking));
    }
    Ok((from_literal(raw.get()), None))
}

/// Typed parts: the joined text of `text` parts and of `thinking` parts.
#[derive(Debug, Default)]
struct ContentParts<'a> {
    text: Option<Cow<'a, str>>,
    thinking: Option<Cow<'a, str>>,
}

impl<'de> Lenient<'de> for ContentParts<'de> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut out = ContentParts::default();
        while let Some(L(part)) = seq.next_element::<L<Part<'de>>>()? {
            let Some(part) = part else { continue };
            match part.kind.as_deref() {
                Some("text") => {
                    if let Some(text) = part.text {
                        join(&mut out.text, text);
                    }
                }
                Some("thinking") => join(&mut out.thinking, part.thinking.unwrap_or_default()),
                _ => {}
            }
        }
        Ok(Some(out))
    }
}

/// One typed part: `type`, `text`, and `thinking` (a string, or parts
/// whose `text` parts are joined).
#[derive(Debug, Default)]
struct Part<'a> {
    kind: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
    thinking: Option<Cow<'a, str>>,
}

impl<'de> Lenient<'de> for Part<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut part = Part::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Type => part.kind = value(&mut map)?,
                Field::Text => part.text = text_value(&mut map)?,
                Field::Thinking => {
                    let raw: &'de RawValue = map.next_value()?;
                    part.thinking = if raw.get().starts_with('[') {
                        reread::<ThinkingParts<'de>, A::Error>(raw)?.and_then(|t| t.0)
                    } else {
                        from_literal(raw.get())
                    };
                }
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(part))
    }
}

/// A thinking part's `thinking` array: the joined text of its `text` parts.
#[derive(Debug)]
struct ThinkingParts<'a>(Option<Cow<'a, str>>);

impl<'de> Lenient<'de> for ThinkingParts<'de> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut text = None;
        while let Some(L(part)) = seq.next_element::<L<Part<'de>>>()? {
            if let Some(Part { kind: Some(kind), text: Some(piece), .. }) = part {
                if kind == "text" {
                    join(&mut text, piece);
                }
            }
        }
        Ok(Some(ThinkingParts(text)))
    }
}

/// `thinking_blocks[]`: the joined `thinking` of `thinking` blocks (`""`
/// without any), and their marks.
#[derive(Debug)]
struct Blocks<'a> {
    text: Cow<'a, str>,
    marks: Marks,
}

impl<'de> Lenient<'de> for Blocks<'de> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut text: Option<Cow<'de, str>> = None;
        let mut marks = Marks::default();
        while let Some(L(block)) = seq.next_element::<L<Block<'de>>>()? {
            let Some(block) = block else { continue };
            match block.kind.as_deref() {
                Some("thinking") => {
                    marks.signed |= block.signature.is_some_and(|s| !s.is_empty());
                    if let Some(piece) = block.thinking {
                        join(&mut text, piece);
                    }
                }
                Some("redacted_thinking") => marks.redacted = true,
                _ => {}
            }
        }
        Ok(Some(Blocks { text: text.unwrap_or_default(), marks }))
    }
}

#[derive(Debug, Default)]
struct Block<'a> {
    kind: Option<Cow<'a, str>>,
    thinking: Option<Cow<'a, str>>,
    signature: Option<Cow<'a, str>>,
}

impl<'de> Lenient<'de> for Block<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut block = Block::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Type => block.kind = value(&mut map)?,
                Field::Thinking => block.thinking = text_value(&mut map)?,
                Field::Signature => block.signature = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(block))
    }
}

/// `tool_calls[]`: the entries that are objects, each keyed by its `index`
/// or, without a valid one, its position in the array.
#[derive(Debug)]
struct ToolCalls<'a>(Vec<ToolCall<'a>>);

impl<'de> Lenient<'de> for ToolCalls<'de> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut calls = Vec::new();
        let mut position = 0u32;
        while let Some(L(entry)) = seq.next_element::<L<CallEntry<'de>>>()? {
            if let Some(e) = entry {
                let (name, arguments) = e.function.map_or((None, None), |f| (f.name, f.arguments));
                calls.push(ToolCall {
                    index: e.index.unwrap_or(position),
                    id: e.id,
                    name,
                    arguments,
                });
            }
            position = position.saturating_add(1);
        }
        Ok(Some(ToolCalls(calls)))
    }
}

#[derive(Debug, Default)]
struct CallEntry<'a> {
    index: Option<u32>,
    id: Option<Cow<'a, str>>,
    function: Option<Function<'a>>,
}

impl<'de> Lenient<'de> for CallEntry<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut entry = CallEntry::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Index => entry.index = value(&mut map)?,
                Field::Id => entry.id = value(&mut map)?,
                Field::Function => entry.function = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(entry))
    }
}

#[derive(Debug, Default)]
struct Function<'a> {
    name: Option<Cow<'a, str>>,
    arguments: Option<Cow<'a, str>>,
}

impl<'de> Lenient<'de> for Function<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut f = Function::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Name => f.name = value(&mut map)?,
                Field::Arguments => {
                    // A string's text; any other value but `null` as sent.
                    let raw: &'de RawValue = map.next_value()?;
                    f.arguments = match from_literal(raw.get()) {
                        Some(text) => Some(text),
                        None if raw.get() == "null" => None,
                        None => Some(Cow::Borrowed(raw.get())),
                    };
                }
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(f))
    }
}

/// `reasoning_details[]`: the concatenated text of its text-bearing items
/// (`None` when no item had any), and the marks of opaque ones. One item
/// stays borrowed; several are joined into one owned string.
#[derive(Debug)]
struct Details<'a> {
    text: Option<Cow<'a, str>>,
    marks: Marks,
}

impl<'de> Lenient<'de> for Details<'de> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut text: Option<Cow<'de, str>> = None;
        let mut marks = Marks::default();
        while let Some(L(item)) = seq.next_element::<L<DetailItem<'de>>>()? {
            let Some(item) = item else { continue };
            match item.kind.as_deref() {
                Some("reasoning.encrypted") => marks.encrypted = true,
                Some("reasoning.text") => {
                    marks.signed |= item.signature.as_deref().is_some_and(|s| !s.is_empty());
                }
                _ => {}
            }
            let Some(piece) = item.into_text() else { continue };
            match &mut text {
                None => text = Some(piece),
                Some(acc) => acc.to_mut().push_str(&piece),
            }
        }
        Ok(Some(Details { text, marks }))
    }
}

#[derive(Debug, Default)]
struct DetailItem<'a> {
    kind: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
    summary: Option<Cow<'a, str>>,
    signature: Option<Cow<'a, str>>,
}

impl<'a> DetailItem<'a> {
    fn into_text(self) -> Option<Cow<'a, str>> {
        match self.kind.as_deref()? {
            "reasoning.text" => self.text,
            "reasoning.summary" => self.summary,
            _ => None,
        }
    }
}

impl<'de> Lenient<'de> for DetailItem<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut item = DetailItem::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Type => item.kind = value(&mut map)?,
                Field::Text => item.text = value(&mut map)?,
                Field::Summary => item.summary = value(&mut map)?,
                Field::Signature => item.signature = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(item))
    }
}

// ---- error.rs ----
// === impl ApiError ===

struct ErrFields;

impl ErrFields {
    /// Reads one key of an error object; `false` if the key is not an error
    /// field (its value is then still unread).
    fn read_field<'de, A: MapAccess<'de>>(
        err: &mut ApiError<'de>,
        field: Field,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        match field {
            Field::Message => err.message = value(map)?,
            Field::Code => err.code = value::<Code, _>(map)?.map(|c| c.0),
            Field::Type => err.kind = value(map)?,
            Field::Param => err.param = value(map)?,
            Field::Status => err.status = value(map)?,
            Field::InnerError => {
                if let Some(inner) = value::<InnerError, _>(map)? {
                    append(&mut err.filters, inner.0);
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl<'de> Lenient<'de> for ApiError<'de> {
    /// `"error": "text"` is taken as the message.
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        match value {
            Scalar::Str(message) => {
                Some(ApiError { message: Some(message), ..ApiError::default() })
            }
            _ => None,
        }
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut err = ApiError::default();
        while let Some(field) = map.next_key::<Field>()? {
            if !ErrFields::read_field(&mut err, field, &mut map)? {
                skip_value(&mut map)?;
            }
        }
        Ok(Some(err))
    }
}

/// `innererror`: only its content-filter results are kept.
#[derive(Debug)]
struct InnerError(Vec<FilterEvent>);

impl<'de> Lenient<'de> for InnerError {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut events = Vec::new();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::ContentFilterResult | Field::ContentFilterResults => {
                    if let Some(results) = value::<FilterResults<true>, _>(&mut map)? {
                        append(&mut events, results.0);
                    }
                }
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(InnerError(events)))
    }
}

/// The data of an `event: error`: either `{"error": {..}}` or the error
/// object itself (`{"message": ..}`).
#[derive(Debug)]
pub(crate) struct ErrorEnvelope<'a> {
    outer: ApiError<'a>,
    nested: Option<ApiError<'a>>,
}

impl<'a> ErrorEnvelope<'a> {
    /// The nested `error` object if there was one, else the outer fields.
    pub(crate) fn into_error(self) -> ApiError<'a> {
        self.nested.unwrap_or(self.outer)
    }
}

impl<'de> Lenient<'de> for ErrorEnvelope<'de> {
    fn from_scalar(value: Scalar<'de>) -> Option<Self> {
        ApiError::from_scalar(value).map(|outer| ErrorEnvelope { outer, nested: None })
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut envelope = ErrorEnvelope { outer: ApiError::default(), nested: None };
        while let Some(field) = map.next_key::<Field>()? {
            if field == Field::Error {
                envelope.nested = map.next_value::<L<ApiError<'de>>>()?.0;
            } else if !ErrFields::read_field(&mut envelope.outer, field, &mut map)? {
                skip_value(&mut map)?;
            }
        }
        Ok(Some(envelope))
    }
}

// ---- payload.rs ----
/// `[DONE]` after trimming ASCII whitespace.
#[inline]
fn is_done(data: &str) -> bool {
    data.trim_ascii() == "[DONE]"
}

/// Parses one SSE `data` payload.
///
/// `[DONE]` (after trimming ASCII whitespace) is [`Payload::Done`]. Unknown
/// fields are skipped, `null` means absent, and a known field holding an
/// unexpected type is treated as absent too.
///
/// # Errors
///
/// [`Error::Json`] if the payload is not JSON; [`Error::Shape`] if it is
/// JSON but not an object with any of `choices`, `error`,
/// `prompt_filter_results`, `prompt_annotations` or `usage`.
pub fn parse(data: &str) -> Result<Payload<'_>, Error> {
    if is_done(data) {
        return Ok(Payload::Done);
    }
    match serde_json::from_str::<L<RawPayload<'_>>>(data)?.0 {
        Some(raw) => raw.into_payload(),
        None => Err(Error::Shape("payload is not a json object")),
    }
}

/// Parses one SSE `data` payload, honouring the SSE `event` type.
///
/// For `event: error` the data is an error whatever it holds:
/// `{"error": {..}}`, a bare error object (`{"message": ..}`), a JSON
/// string, or plain text (kept whole as the message, borrowed). Any other
/// event type is parsed with [`parse`].
///
/// # Errors
///
/// As [`parse`]; never for `event: error`.
pub fn parse_event<'a>(event_type: &str, data: &'a str) -> Result<Payload<'a>, Error> {
    if event_type != "error" {
        return parse(data);
    }
    let text = data.trim_ascii();
    if let Ok(L(Some(envelope))) = serde_json::from_str::<L<ErrorEnvelope<'a>>>(text) {
        return Ok(Payload::Error(envelope.into_error()));
    }
    let message = (!text.is_empty()).then_some(Cow::Borrowed(text));
    Ok(Payload::Error(ApiError { message, ..ApiError::default() }))
}

/// A top-level object before classification.
#[derive(Debug, Default)]
struct RawPayload<'a> {
    chunk: Chunk<'a>,
    object: Option<Cow<'a, str>>,
    has_choices: bool,
    has_message: bool,
    has_prompt_filters: bool,
    bad_index: Option<&'static str>,
}

impl<'a> RawPayload<'a> {
    fn into_payload(self) -> Result<Payload<'a>, Error> {
        let RawPayload {
            mut chunk,
            object,
            has_choices,
            has_message,
            has_prompt_filters,
            bad_index,
        } = self;
        if let Some(what) = bad_index {
            return Err(Error::ChoiceIndex(what));
        }
        if !has_choices && let Some(error) = chunk.error.take() {
            return Ok(Payload::Error(error));
        }
        if !(has_choices || has_prompt_filters || chunk.usage.is_some()) {
            return Err(Error::Shape(
                "object has none of choices, error, prompt_filter_results, prompt_annotations, usage",
            ));
        }
        if has_message || object.as_deref() == Some("chat.completion") {
            Ok(Payload::Completion(chunk))
        } else {
            Ok(Payload::Chunk(chunk))
        }
    }
}

/// `None` for `""`.
#[inline]
fn non_empty(s: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    s.filter(|s| !s.is_empty())
}

impl<'de> Lenient<'de> for RawPayload<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut raw = RawPayload::default();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Id => raw.chunk.id = non_empty(value(&mut map)?),
                Field::Model => raw.chunk.model = non_empty(value(&mut map)?),
                Field::Object => raw.object = value(&mut map)?,
                Field::Created => raw.chunk.created = value(&mut map)?.filter(|&t| t != 0),
                Field::Choices => {
                    if let Some(list) = value::<ChoiceList<'de>, _>(&mut map)? {
                        raw.chunk.choices = list.choices;
                        raw.has_choices = true;
                        raw.has_message = list.has_message;
                        raw.bad_index = list.bad_index;
                    }
                }
                Field::Usage => raw.chunk.usage = value(&mut map)?,
                Field::PromptFilterResults | Field::PromptAnnotations => {
                    if let Some(list) = value::<PromptFilters, _>(&mut map)? {
                        append(&mut raw.chunk.filters, list.0);
                        raw.has_prompt_filters = true;
                    }
                }
                Field::Error => raw.chunk.error = value(&mut map)?,
                _ => skip_value(&mut map)?,
            }
        }
        Ok(Some(raw))
    }
}

/// `choices[]`: inline when there is one (streams almost always have
/// `choices[]`, visited in place.
#[derive(Debug)]
struct ChoiceList<'a> {
    choices: Choices<'a>,
    has_message: bool,
    bad_index: Option<&'static str>,
}

impl<'de> Lenient<'de> for ChoiceList<'de> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut list =
            ChoiceList { choices: Choices::default(), has_message: false, bad_index: None };
        while let Some(L(parts)) = seq.next_element::<L<ChoiceParts<'de>>>()? {
            if let Some(parts) = parts {
                list.has_message |= parts.has_message;
                list.bad_index = list.bad_index.or(parts.bad_index);
                list.choices.push(parts.choice);
            }
        }
        Ok(Some(list))
    }
}
