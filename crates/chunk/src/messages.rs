//! Anthropic Messages streams (`POST /v1/messages` with `"stream": true`),
//! one event at a time, into [`Update`]s.
//!
//! Every event's data is an object whose `type` is also its SSE event
//! type. A message's content is a list of blocks told apart by `index`.
//! What is read, by `type`:
//!
//! | event `type` | gives |
//! |---|---|
//! | `message_start` | `start`; `message.id`, `.model`, `.usage` |
//! | `content_block_start` | a `text` block: its `text`; `thinking`: an empty (or initial) [`Thinking`](ReasoningKind::Thinking) reasoning part, [`Marks::signed`] if it has a `signature`; `redacted_thinking`: an empty reasoning part and [`Marks::redacted`] (its `data` is opaque); `tool_use` (also `server_tool_use`, `mcp_tool_use`): a tool call's first piece (`id`, `name`, and `input` unless it is `{}`) keyed by `index` |
//! | `content_block_delta` | `text_delta`: answer text; `thinking_delta`: reasoning; `signature_delta`: [`Marks::signed`]; `input_json_delta`: more of the arguments (`partial_json`) of the call at `index` |
//! | `message_delta` | the finish reason (`delta.stop_reason`); usage |
//! | `message_stop` | `end` |
//! | `ping` | a keep-alive |
//! | `error` | the error (`error.type`, `error.message`) |
//!
//! Usage is cumulative and normalised: `prompt_tokens` is `input_tokens`
//! plus `cache_creation_input_tokens` plus `cache_read_input_tokens` (the
//! whole prompt, as chat completions count it), `completion_tokens` is
//! `output_tokens` (thinking included), `reasoning_tokens` is
//! `output_tokens_details.thinking_tokens`, `cached_tokens` is
//! `cache_read_input_tokens`. A `message_delta` may carry only some of the
//! counts: merge it into `message_start`'s with [`Usage::merge`].

use std::borrow::Cow;

use crate::error::{Error, read_api_error};
use crate::scan::{Known, Reject, Scan, Scanner};
use crate::update::{Marks, Read, Reasoning, ReasoningKind, ToolCall, Trace, Update, typed_event};
use crate::usage::Usage;

mod body;
pub use body::parse_body;

/// Reads one event of a Messages stream: its SSE event type (`message`
/// when it had none) and data.
///
/// The data's `type` names the event; without one, the event type does.
/// `[DONE]` is `end`. An `error` event whose data is not a JSON object is
/// read as [`parse_event`](crate::parse_event) reads it. When a key
/// repeats, the last value wins.
///
/// # Errors
///
/// [`Error::Json`] if the data is not JSON; [`Error::Shape`] if it is not
/// an object, or has no `type` and its event type is not a Messages one.
pub fn parse<'a>(event_type: &str, data: &'a str) -> Result<Update<'a>, Error> {
    typed_event(event_type, data, NO_TYPE, read_event, &mut Trace::default())
}

/// What an event without a `type` is, when no event type says.
const NO_TYPE: &str = "messages event without a type";

/// [`parse`], noting in `trace` what [`crate::Parser`] needs to reuse it.
pub(crate) fn parse_traced<'a>(
    event_type: &str,
    data: &'a str,
    trace: &mut Trace,
) -> Result<Update<'a>, Error> {
    typed_event(event_type, data, NO_TYPE, read_event, trace)
}

/// The events, by `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    MessageStart,
    BlockStart,
    BlockDelta,
    MessageDelta,
    MessageStop,
    Ping,
    Error,
    /// `content_block_stop`, and types this module does not know.
    Other,
}

impl Kind {
    /// The kind of a Messages event type; `None` for a type that is not
    /// one.
    fn of(event_type: &str) -> Option<Kind> {
        Some(match event_type {
            "content_block_delta" => Kind::BlockDelta,
            "content_block_start" => Kind::BlockStart,
            "message_start" => Kind::MessageStart,
            "message_delta" => Kind::MessageDelta,
            "message_stop" => Kind::MessageStop,
            "ping" => Kind::Ping,
            "error" => Kind::Error,
            "content_block_stop" => Kind::Other,
            _ => return None,
        })
    }
}

// === reading ===

/// The top-level keys.
#[derive(Debug, Clone, Copy)]
enum Field {
    Type,
    Index,
    Delta,
    Block,
    Message,
    Usage,
    Error,
    Other,
}

/// In the order deltas carry them.
const FIELDS: &[Known<Field>] = &[
    Known::new(b"type", Field::Type),
    Known::new(b"index", Field::Index),
    Known::new(b"delta", Field::Delta),
    Known::new(b"content_block", Field::Block),
    Known::new(b"message", Field::Message),
    Known::new(b"usage", Field::Usage),
    Known::new(b"error", Field::Error),
];

/// Reads the whole event into `u`.
///
/// A value is read as the event's `type` says, so it is read where it
/// stands when the type came first (as it always does on the wire), and
/// otherwise from where it was (remembered) once the object is read.
/// Values the type does not use are skipped; `trace` notes the top-level
/// ones no type uses.
fn read_event<'a>(
    s: &mut Scanner<'a>,
    event_type: &str,
    u: &mut Update<'a>,
    trace: &mut Trace,
) -> Scan<Read> {
    if !s.object()? {
        s.finish()?;
        return Ok(Read::NotAnObject);
    }
    let (mut kind, mut index) = (None, None);
    let mut later: Vec<(Field, usize)> = Vec::new();
    let mut first = true;
    while let Some(field) = s.field(&mut first, FIELDS, Field::Other)? {
        match (field, kind) {
            (Field::Type, _) => kind = read_kind(s)?,
            (Field::Index, _) => index = s.u64()?,
            (Field::Other, _) => trace.skip(s)?,
            (_, Some(kind)) => read_value(s, kind, field, u)?,
            (_, None) => {
                s.peek()?;
                later.push((field, s.pos()));
                s.skip_value()?;
            }
        }
    }
    s.finish()?;
    trace.self_typed = kind.is_some() && later.is_empty();
    let Some(kind) = kind.or_else(|| Kind::of(event_type)) else { return Ok(Read::NoType) };
    for (field, at) in later {
        read_value(&mut Scanner::at(s.src(), at), kind, field, u)?;
    }
    match kind {
        Kind::MessageStart => u.start = true,
        Kind::MessageStop => u.end = true,
        Kind::Ping => u.keepalive = true,
        Kind::Error => {
            u.error.get_or_insert_default();
        }
        _ => {}
    }
    if let Some(call) = &mut u.tool_call {
        call.index = index.and_then(|i| u32::try_from(i).ok()).unwrap_or(0);
    }
    Ok(Read::Event)
}

/// `type`: the kind of a string (the hottest one compared in place);
/// `None` for any other value.
#[inline]
fn read_kind(s: &mut Scanner<'_>) -> Scan<Option<Kind>> {
    if s.eat_str(b"content_block_delta")? {
        return Ok(Some(Kind::BlockDelta));
    }
    Ok(s.str()?.map(|t| Kind::of(&t).unwrap_or(Kind::Other)))
}

/// A top-level value, as an event of `kind` reads it.
fn read_value<'a>(s: &mut Scanner<'a>, kind: Kind, field: Field, u: &mut Update<'a>) -> Scan<()> {
    match (kind, field) {
        (Kind::BlockDelta, Field::Delta) => read_block_delta(s, u),
        (Kind::MessageDelta, Field::Delta) => {
            u.finish_reason = read_message_delta(s)?;
            Ok(())
        }
        (Kind::MessageDelta, Field::Usage) => {
            u.usage = if s.object()? { Some(read_usage(s)?) } else { None };
            Ok(())
        }
        (Kind::BlockStart, Field::Block) => read_start_block(s, u),
        (Kind::MessageStart, Field::Message) => read_message(s, u),
        (Kind::Error, Field::Error) => {
            u.error = Some(read_api_error(s)?.unwrap_or_default());
            Ok(())
        }
        _ => s.skip_value(),
    }
}

/// The kinds of `content_block_delta`'s delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeltaKind {
    Text,
    Thinking,
    Signature,
    InputJson,
    Other,
}

#[derive(Debug, Clone, Copy)]
enum DeltaField {
    Type,
    Text,
    Thinking,
    PartialJson,
    Signature,
    Other,
}

/// The keys of a block's delta, in the order they come.
const DELTA_FIELDS: &[Known<DeltaField>] = &[
    Known::new(b"type", DeltaField::Type),
    Known::new(b"text", DeltaField::Text),
    Known::new(b"thinking", DeltaField::Thinking),
    Known::new(b"partial_json", DeltaField::PartialJson),
    Known::new(b"signature", DeltaField::Signature),
];

/// `content_block_delta`'s delta: one of text, thinking, a signature, or
/// more of a tool call's arguments (keyed later by the event's `index`).
fn read_block_delta<'a>(s: &mut Scanner<'a>, u: &mut Update<'a>) -> Scan<()> {
    let (mut kind, mut text, mut signed) = (DeltaKind::Other, None, false);
    let (mut thinking, mut partial_json) = (None, None);
    if s.object()? {
        let mut first = true;
        while let Some(field) = s.field(&mut first, DELTA_FIELDS, DeltaField::Other)? {
            match field {
                DeltaField::Type => kind = read_delta_kind(s)?,
                DeltaField::Text => text = s.text()?,
                DeltaField::Thinking => thinking = s.text()?,
                DeltaField::PartialJson => partial_json = s.text()?,
                DeltaField::Signature => signed = s.str()?.is_some_and(|sig| !sig.is_empty()),
                DeltaField::Other => s.skip_value()?,
            }
        }
    }
    (u.content, u.reasoning, u.tool_call) = (None, None, None);
    match kind {
        DeltaKind::Text => u.content = text,
        DeltaKind::Thinking => {
            u.reasoning = thinking.map(|text| Reasoning { kind: ReasoningKind::Thinking, text });
        }
        DeltaKind::Signature => u.marks.signed = signed,
        DeltaKind::InputJson => {
            u.tool_call = Some(ToolCall { arguments: partial_json, ..ToolCall::default() });
        }
        DeltaKind::Other => {}
    }
    Ok(())
}

/// A delta's `type`, the two hot ones compared in place.
#[inline]
fn read_delta_kind(s: &mut Scanner<'_>) -> Scan<DeltaKind> {
    if s.eat_str(b"text_delta")? {
        return Ok(DeltaKind::Text);
    }
    if s.eat_str(b"thinking_delta")? {
        return Ok(DeltaKind::Thinking);
    }
    Ok(match s.str()?.as_deref() {
        Some("signature_delta") => DeltaKind::Signature,
        Some("input_json_delta") => DeltaKind::InputJson,
        Some("text_delta") => DeltaKind::Text,
        Some("thinking_delta") => DeltaKind::Thinking,
        _ => DeltaKind::Other,
    })
}

/// `message_delta`'s delta: its `stop_reason`.
fn read_message_delta<'a>(s: &mut Scanner<'a>) -> Scan<Option<Cow<'a, str>>> {
    let mut stop_reason = None;
    if s.object()? {
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            match key.as_bytes() {
                b"stop_reason" => stop_reason = s.str()?,
                _ => s.skip_value()?,
            }
        }
    }
    Ok(stop_reason)
}

/// `content_block_start`'s block: what [`read_block`] reads, in place of
/// the update's parts (a tool call's `input` of `{}` is what a streamed
/// call starts with, before its `input_json_delta`s: no arguments yet).
fn read_start_block<'a>(s: &mut Scanner<'a>, u: &mut Update<'a>) -> Scan<()> {
    let block = read_block(s, 0, raw_input)?.unwrap_or_default();
    (u.content, u.reasoning, u.tool_call, u.marks) =
        (block.content, block.reasoning, block.tool_call, block.marks);
    Ok(())
}

/// A content block, the `index`th of its message: a text block's text, a
/// thinking block (an empty or initial reasoning part, signed if it has a
/// signature), a redacted one (an empty part, redacted), or a tool call's
/// first piece with the `input` that `input` reads. `None` for any other
/// block, or what is not an object.
pub(crate) fn read_block<'a>(
    s: &mut Scanner<'a>,
    index: u32,
    input: fn(&mut Scanner<'a>) -> Scan<Option<&'a str>>,
) -> Scan<Option<Update<'a>>> {
    if !s.object()? {
        return Ok(None);
    }
    let (mut kind, mut text, mut thinking, mut signed) = (None, None, None, false);
    let (mut id, mut name, mut arguments) = (None, None, None);
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"type" => kind = s.str()?,
            b"text" => text = s.text()?,
            b"thinking" => thinking = s.text()?,
            b"signature" => signed = s.str()?.is_some_and(|sig| !sig.is_empty()),
            b"id" => id = s.str()?,
            b"name" => name = s.str()?,
            b"input" => arguments = input(s)?,
            _ => s.skip_value()?,
        }
    }
    let reasoning = |text, marks| Update {
        reasoning: Some(Reasoning { kind: ReasoningKind::Thinking, text }),
        marks,
        ..Update::default()
    };
    Ok(match kind.as_deref() {
        Some("text") => Some(Update { content: text, ..Update::default() }),
        Some("thinking") => {
            let marks = Marks { signed, ..Marks::default() };
            Some(reasoning(thinking.unwrap_or_default(), marks))
        }
        Some("redacted_thinking") => {
            Some(reasoning(Cow::Borrowed(""), Marks { redacted: true, ..Marks::default() }))
        }
        Some("tool_use" | "server_tool_use" | "mcp_tool_use") => {
            let call = ToolCall { index, id, name, arguments: arguments.map(Cow::Borrowed) };
            Some(Update { tool_call: Some(call), ..Update::default() })
        }
        _ => None,
    })
}

/// A tool call's `input` as sent (its JSON text), unless it is `null` or
/// an empty object (what a streamed call starts with, before its
/// `input_json_delta`s).
fn raw_input<'a>(s: &mut Scanner<'a>) -> Scan<Option<&'a str>> {
    s.peek()?;
    let start = s.pos();
    s.skip_value()?;
    let raw = s.src().get(start..s.pos()).ok_or(Reject)?;
    let empty = raw == "null" || raw.bytes().filter(|b| !b.is_ascii_whitespace()).eq(*b"{}");
    Ok((!empty).then_some(raw))
}

/// `message_start`'s message: its id, model and usage (its `content`,
/// empty when streaming, is skipped).
fn read_message<'a>(s: &mut Scanner<'a>, u: &mut Update<'a>) -> Scan<()> {
    if !s.object()? {
        return Ok(());
    }
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"id" => u.id = s.str()?.filter(|id| !id.is_empty()),
            b"model" => u.model = s.str()?.filter(|model| !model.is_empty()),
            b"usage" => u.usage = if s.object()? { Some(read_usage(s)?) } else { None },
            _ => s.skip_value()?,
        }
    }
    Ok(())
}

/// After a Messages `usage`'s `{`: normalised to chat-completion names
/// (see the module docs).
fn read_usage(s: &mut Scanner<'_>) -> Scan<Usage> {
    let mut usage = Usage::default();
    let (mut input, mut created, mut read) = (None, None, None);
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"input_tokens" => input = s.u64()?,
            b"cache_creation_input_tokens" => created = s.u64()?,
            b"cache_read_input_tokens" => read = s.u64()?,
            b"output_tokens" => usage.completion_tokens = s.u64()?,
            b"output_tokens_details" => {
                if s.object()? {
                    let mut first = true;
                    while let Some(key) = s.key(&mut first)? {
                        match key.as_bytes() {
                            b"thinking_tokens" => usage.reasoning_tokens = s.u64()?,
                            _ => s.skip_value()?,
                        }
                    }
                }
            }
            _ => s.skip_value()?,
        }
    }
    usage.cached_tokens = read;
    let prompt = [input, created, read];
    usage.prompt_tokens = if prompt.iter().all(Option::is_none) {
        None
    } else {
        prompt.iter().flatten().try_fold(0u64, |sum, &n| sum.checked_add(n))
    };
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update<'a>(event_type: &str, data: &'a str) -> Update<'a> {
        parse(event_type, data).unwrap_or_else(|e| panic!("{data}: {e}"))
    }

    fn text(s: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(s))
    }

    fn thinking(s: &str) -> Option<Reasoning<'_>> {
        Some(Reasoning { kind: ReasoningKind::Thinking, text: Cow::Borrowed(s) })
    }

    #[test]
    fn message_start_names_the_message_and_counts_the_prompt() {
        let u = update(
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":2}}}"#,
        );
        assert!(u.start);
        assert_eq!(u.id, text("msg_01XFDUDYJgAACzvnptvVoYEL"));
        assert_eq!(u.model, text("claude-sonnet-4-5-20250929"));
        assert_eq!(
            u.usage,
            Some(Usage {
                prompt_tokens: Some(1496),
                completion_tokens: Some(2),
                cached_tokens: Some(1024),
                ..Usage::default()
            })
        );
    }

    #[test]
    fn blocks_and_their_deltas() {
        let u = update(
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
        );
        assert_eq!(u, Update { reasoning: thinking(""), ..Update::default() });
        let u = update(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Compare 9.11\nand 9.8"}}"#,
        );
        assert_eq!(
            u.reasoning,
            Some(Reasoning { kind: ReasoningKind::Thinking, text: "Compare 9.11\nand 9.8".into() })
        );
        let u = update(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}"#,
        );
        assert_eq!(
            u,
            Update { marks: Marks { signed: true, ..Marks::default() }, ..Update::default() }
        );
        let u = update(
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}}"#,
        );
        assert_eq!(u.reasoning, thinking(""));
        assert_eq!(u.marks, Marks { redacted: true, ..Marks::default() });
        let u = update(
            "content_block_start",
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}"#,
        );
        assert_eq!(u, Update { content: text(""), ..Update::default() });
        let u = update(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"9.8 is larger."}}"#,
        );
        assert_eq!(u.content, text("9.8 is larger."));
        assert_eq!(
            update("content_block_stop", r#"{"type":"content_block_stop","index":2}"#),
            Update::default()
        );
    }

    #[test]
    fn tool_use_blocks_are_tool_calls() {
        let u = update(
            "content_block_start",
            r#"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}"#,
        );
        assert_eq!(
            u.tool_call,
            Some(ToolCall {
                index: 3,
                id: text("toolu_01T1x1fJ34qAmk2tNTrN7Up6"),
                name: text("get_weather"),
                arguments: None
            })
        );
        let u = update(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}"#,
        );
        assert_eq!(
            u.tool_call,
            Some(ToolCall {
                index: 3,
                arguments: Some("{\"location\": \"San Fra".into()),
                ..ToolCall::default()
            })
        );
        // An input sent whole is the arguments, as sent.
        let u = update(
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{ "query" : "rust" }}}"#,
        );
        assert_eq!(u.tool_call.unwrap().arguments, text(r#"{ "query" : "rust" }"#));
        let u = update(
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n","input": { } }}"#,
        );
        assert_eq!(u.tool_call.unwrap().arguments, None);
    }

    #[test]
    fn message_delta_stop_and_ping() {
        let u = update(
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":503,"output_tokens_details":{"thinking_tokens":310}}}"#,
        );
        assert_eq!(u.finish_reason, text("tool_use"));
        assert_eq!(
            u.usage,
            Some(Usage {
                completion_tokens: Some(503),
                reasoning_tokens: Some(310),
                ..Usage::default()
            })
        );
        assert_eq!(
            update("message_stop", r#"{"type":"message_stop"}"#),
            Update { end: true, ..Update::default() }
        );
        assert_eq!(
            update("ping", r#"{"type": "ping"}"#),
            Update { keepalive: true, ..Update::default() }
        );
    }

    #[test]
    fn errors() {
        let u = update(
            "error",
            r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
        );
        let e = u.error.unwrap();
        assert_eq!(
            (e.kind.as_deref(), e.message.as_deref()),
            (Some("overloaded_error"), Some("Overloaded"))
        );
        assert_eq!(
            update("error", "Overloaded").error.unwrap().message.as_deref(),
            Some("Overloaded")
        );
        assert!(matches!(parse("message", r#"{"index":0}"#), Err(Error::Shape(_))));
        assert!(matches!(parse("message_stop", "null"), Err(Error::Shape(_))));
        assert!(matches!(parse("message_stop", "{"), Err(Error::Json(_))));
        // Without a `type`, the event type says what it is.
        assert_eq!(update("message_stop", "{}"), Update { end: true, ..Update::default() });
        assert_eq!(update("content_block_stop", r#"{"index":1}"#), Update::default());
        // The type may come last; a key repeated counts once, the last.
        let u = update(
            "message",
            r#"{"index":2,"delta":{"partial_json":"{}","type":"input_json_delta"},"delta":{"text":"x","type":"text_delta"},"type":"content_block_delta"}"#,
        );
        assert_eq!((u.content, u.tool_call), (text("x"), None));
        let u = update(
            "message",
            r#"{"delta":{"type":"input_json_delta","partial_json":"{}"},"index":2,"type":"content_block_delta"}"#,
        );
        assert_eq!(
            u.tool_call,
            Some(ToolCall { index: 2, arguments: text("{}"), ..ToolCall::default() })
        );
    }
}
