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
use crate::update::{Marks, Reasoning, ReasoningKind, ToolCall, Update};
use crate::usage::Usage;

/// Reads one event of a Messages stream: its SSE event type (`message`
/// when it had none) and data.
///
/// The data's `type` names the event; without one, the event type does.
/// `[DONE]` is `end`. An `error` event whose data is not a JSON object is
/// read as [`parse_event`](crate::parse_event) reads it.
///
/// # Errors
///
/// [`Error::Json`] if the data is not JSON; [`Error::Shape`] if it is not
/// an object, or has no `type` and its event type is not a Messages one.
pub fn parse<'a>(event_type: &str, data: &'a str) -> Result<Update<'a>, Error> {
    if data.trim_ascii() == "[DONE]" {
        return Ok(Update { end: true, ..Update::default() });
    }
    let mut s = Scanner::new(data);
    let raw = match read_event(&mut s) {
        Ok(Some(raw)) => raw,
        Ok(None) | Err(Reject) if event_type == "error" => return error_event(data),
        Ok(None) => return Err(Error::Shape("payload is not a json object")),
        Err(Reject) => return Err(Error::json(data)),
    };
    let kind = match raw.kind.as_deref() {
        Some(t) => Kind::of(t),
        None => match Kind::of(event_type) {
            Kind::Other => return Err(Error::Shape("messages event without a type")),
            kind => kind,
        },
    };
    Ok(raw.into_update(kind))
}

/// An `error` event whose data is not an object: as chat completions read it.
fn error_event(data: &str) -> Result<Update<'_>, Error> {
    match crate::parse_event("error", data)? {
        crate::Payload::Error(e) => Ok(Update { error: Some(e), ..Update::default() }),
        // `parse_event` reads every `error` event as an error.
        _ => Err(Error::Shape("error event that is no error")),
    }
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
    fn of(event_type: &str) -> Kind {
        match event_type {
            "content_block_delta" => Kind::BlockDelta,
            "content_block_start" => Kind::BlockStart,
            "message_start" => Kind::MessageStart,
            "message_delta" => Kind::MessageDelta,
            "message_stop" => Kind::MessageStop,
            "ping" => Kind::Ping,
            "error" => Kind::Error,
            _ => Kind::Other,
        }
    }
}

/// The fields of one event, as read (their meaning depends on `type`).
#[derive(Debug, Default)]
struct Raw<'a> {
    kind: Option<Cow<'a, str>>,
    index: Option<u64>,
    message: Option<Message<'a>>,
    block: Option<Block<'a>>,
    delta: Option<Delta<'a>>,
    usage: Option<Usage>,
    error: Option<crate::ApiError<'a>>,
}

/// `message_start`'s `message`.
#[derive(Debug, Default)]
struct Message<'a> {
    id: Option<Cow<'a, str>>,
    model: Option<Cow<'a, str>>,
    usage: Option<Usage>,
}

/// `content_block_start`'s `content_block`.
#[derive(Debug, Default)]
struct Block<'a> {
    kind: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
    thinking: Option<Cow<'a, str>>,
    signed: bool,
    id: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    /// `input` as sent, unless it is `{}`.
    input: Option<&'a str>,
}

/// The `delta` of `content_block_delta` or of `message_delta`.
#[derive(Debug, Default)]
struct Delta<'a> {
    kind: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
    thinking: Option<Cow<'a, str>>,
    partial_json: Option<Cow<'a, str>>,
    signed: bool,
    stop_reason: Option<Cow<'a, str>>,
}

impl<'a> Raw<'a> {
    fn into_update(self, kind: Kind) -> Update<'a> {
        let mut u = Update::default();
        let index = self.index.and_then(|i| u32::try_from(i).ok()).unwrap_or(0);
        match kind {
            Kind::MessageStart => {
                u.start = true;
                if let Some(m) = self.message {
                    u.id = m.id.filter(|s| !s.is_empty());
                    u.model = m.model.filter(|s| !s.is_empty());
                    u.usage = m.usage;
                }
            }
            Kind::BlockStart => {
                if let Some(block) = self.block {
                    block.fill(index, &mut u);
                }
            }
            Kind::BlockDelta => {
                if let Some(delta) = self.delta {
                    delta.fill(index, &mut u);
                }
            }
            Kind::MessageDelta => {
                u.finish_reason = self.delta.and_then(|d| d.stop_reason);
                u.usage = self.usage;
            }
            Kind::MessageStop => u.end = true,
            Kind::Ping => u.keepalive = true,
            Kind::Error => u.error = Some(self.error.unwrap_or_default()),
            Kind::Other => {}
        }
        u
    }
}

impl<'a> Block<'a> {
    fn fill(self, index: u32, u: &mut Update<'a>) {
        let thinking = |text| Some(Reasoning { kind: ReasoningKind::Thinking, text });
        match self.kind.as_deref() {
            Some("text") => u.content = self.text,
            Some("thinking") => {
                u.reasoning = thinking(self.thinking.unwrap_or_default());
                u.marks.signed = self.signed;
            }
            Some("redacted_thinking") => {
                u.reasoning = thinking(Cow::Borrowed(""));
                u.marks = Marks { redacted: true, ..Marks::default() };
            }
            Some("tool_use" | "server_tool_use" | "mcp_tool_use") => {
                u.tool_call = Some(ToolCall {
                    index,
                    id: self.id,
                    name: self.name,
                    arguments: self.input.map(Cow::Borrowed),
                });
            }
            _ => {}
        }
    }
}

impl<'a> Delta<'a> {
    fn fill(self, index: u32, u: &mut Update<'a>) {
        match self.kind.as_deref() {
            Some("text_delta") => u.content = self.text,
            Some("thinking_delta") => {
                u.reasoning =
                    self.thinking.map(|text| Reasoning { kind: ReasoningKind::Thinking, text });
            }
            Some("signature_delta") => u.marks.signed = self.signed,
            Some("input_json_delta") => {
                u.tool_call =
                    Some(ToolCall { index, arguments: self.partial_json, ..ToolCall::default() });
            }
            _ => {}
        }
    }
}

// === reading ===

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

/// The keys of a `delta`, in the order they come.
const DELTA_FIELDS: &[Known<DeltaField>] = &[
    Known::new(b"type", DeltaField::Type),
    Known::new(b"text", DeltaField::Text),
    Known::new(b"thinking", DeltaField::Thinking),
    Known::new(b"partial_json", DeltaField::PartialJson),
    Known::new(b"signature", DeltaField::Signature),
    Known::new(b"stop_reason", DeltaField::StopReason),
];

#[derive(Debug, Clone, Copy)]
enum DeltaField {
    Type,
    Text,
    Thinking,
    PartialJson,
    Signature,
    StopReason,
    Other,
}

/// Reads the whole event: `None` if it is not an object.
fn read_event<'a>(s: &mut Scanner<'a>) -> Scan<Option<Raw<'a>>> {
    if !s.object()? {
        s.finish()?;
        return Ok(None);
    }
    let mut raw = Raw::default();
    let mut first = true;
    while let Some(field) = s.field(&mut first, FIELDS, Field::Other)? {
        match field {
            Field::Type => raw.kind = s.str()?,
            Field::Index => raw.index = s.u64()?,
            Field::Delta => raw.delta = if s.object()? { Some(read_delta(s)?) } else { None },
            Field::Block => raw.block = if s.object()? { Some(read_block(s)?) } else { None },
            Field::Message => raw.message = if s.object()? { Some(read_message(s)?) } else { None },
            Field::Usage => raw.usage = if s.object()? { Some(read_usage(s)?) } else { None },
            Field::Error => raw.error = read_api_error(s)?,
            Field::Other => s.skip_value()?,
        }
    }
    s.finish()?;
    Ok(Some(raw))
}

/// After a delta's `{`.
fn read_delta<'a>(s: &mut Scanner<'a>) -> Scan<Delta<'a>> {
    let mut d = Delta::default();
    let mut first = true;
    while let Some(field) = s.field(&mut first, DELTA_FIELDS, DeltaField::Other)? {
        match field {
            DeltaField::Type => d.kind = s.str()?,
            DeltaField::Text => d.text = s.text()?,
            DeltaField::Thinking => d.thinking = s.text()?,
            DeltaField::PartialJson => d.partial_json = s.text()?,
            DeltaField::Signature => d.signed = s.str()?.is_some_and(|sig| !sig.is_empty()),
            DeltaField::StopReason => d.stop_reason = s.str()?,
            DeltaField::Other => s.skip_value()?,
        }
    }
    Ok(d)
}

/// After a content block's `{`.
fn read_block<'a>(s: &mut Scanner<'a>) -> Scan<Block<'a>> {
    let mut b = Block::default();
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"type" => b.kind = s.str()?,
            b"text" => b.text = s.text()?,
            b"thinking" => b.thinking = s.text()?,
            b"signature" => b.signed = s.str()?.is_some_and(|sig| !sig.is_empty()),
            b"id" => b.id = s.str()?,
            b"name" => b.name = s.str()?,
            b"input" => b.input = raw_input(s)?,
            _ => s.skip_value()?,
        }
    }
    Ok(b)
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

/// After `message_start`'s `message` `{`. Its `content` (empty when
/// streaming) is skipped.
fn read_message<'a>(s: &mut Scanner<'a>) -> Scan<Message<'a>> {
    let mut m = Message::default();
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"id" => m.id = s.str()?,
            b"model" => m.model = s.str()?,
            b"usage" => m.usage = if s.object()? { Some(read_usage(s)?) } else { None },
            _ => s.skip_value()?,
        }
    }
    Ok(m)
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
    }
}
