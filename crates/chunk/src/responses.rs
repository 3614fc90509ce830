//! The OpenAI Responses API's stream (`POST /v1/responses` with
//! `"stream": true`), one event at a time, into [`Update`]s.
//!
//! Every event's data is an object whose `type` is also its SSE event
//! type; a stream's output is a list of items told apart by
//! `output_index`. What is read, by `type`:
//!
//! | event `type` | gives |
//! |---|---|
//! | `response.created` | `start`; id, model, `created_at` of `response` |
//! | `response.in_progress`, `response.queued` | id, model, `created_at` |
//! | `response.output_item.added` | a `function_call` (also `custom_tool_call`, `mcp_call`) item: a tool call's first piece (`call_id`, `name`, `arguments` if any) keyed by `output_index`; a `reasoning` item: an empty [`Summary`](ReasoningKind::Summary) reasoning part |
//! | `response.output_item.done` | a `reasoning` item's `encrypted_content`: [`Marks::encrypted`](crate::Marks::encrypted) |
//! | `response.reasoning_summary_text.delta` | reasoning, [`Summary`](ReasoningKind::Summary) |
//! | `response.reasoning_text.delta` | reasoning, [`ReasoningText`](ReasoningKind::ReasoningText) |
//! | `response.output_text.delta`, `response.refusal.delta` | answer text |
//! | `response.function_call_arguments.delta` (and `custom_tool_call_input`, `mcp_call_arguments`) | more of the arguments of the call at `output_index` |
//! | `response.completed`, `response.incomplete`, `response.failed` | `end`; usage; the finish reason (`incomplete_details.reason`, else `status`); `response.error` |
//! | `error` | the error (`code`, `message`, `param`) |
//!
//! Other events say nothing this crate reads. The `.done` events of text
//! and arguments repeat what their deltas sent and are not read, so no
//! text is counted twice. Usage is normalised: `input_tokens` is
//! `prompt_tokens`, `output_tokens` (reasoning included) is
//! `completion_tokens`, `output_tokens_details.reasoning_tokens` and
//! `input_tokens_details.cached_tokens` are `reasoning_tokens` and
//! `cached_tokens`.

use std::borrow::Cow;

use crate::error::{Error, read_api_error};
use crate::scan::{Known, Scan, Scanner};
use crate::update::{Read, Reasoning, ReasoningKind, ToolCall, Trace, Update, typed_event};
use crate::usage::{Usage, read_token_details};

mod body;
pub use body::parse_body;

/// Reads one event of a Responses API stream: its SSE event type (`message`
/// when it had none) and data.
///
/// The data's `type` names the event; without one, the event type does.
/// `[DONE]` (which some gateways add) is `end`. An `error` event whose data
/// is not a JSON object is read as [`parse_event`](crate::parse_event)
/// reads it. When a key repeats, the last value wins.
///
/// # Errors
///
/// [`Error::Json`] if the data is not JSON; [`Error::Shape`] if it is not
/// an object, or has no `type` and no event type says what it is.
pub fn parse<'a>(event_type: &str, data: &'a str) -> Result<Update<'a>, Error> {
    typed_event(event_type, data, NO_TYPE, read_event, &mut Trace::default())
}

/// What an event without a `type` is, when no event type says.
const NO_TYPE: &str = "responses event without a type";

/// [`parse`], noting in `trace` what [`crate::Parser`] needs to reuse it.
pub(crate) fn parse_traced<'a>(
    event_type: &str,
    data: &'a str,
    trace: &mut Trace,
) -> Result<Update<'a>, Error> {
    typed_event(event_type, data, NO_TYPE, read_event, trace)
}

/// The events this module reads, by `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Created,
    InProgress,
    Completed,
    Incomplete,
    Failed,
    ItemAdded,
    ItemDone,
    Text,
    Summary,
    ReasoningText,
    Arguments,
    Error,
    Other,
}

impl Kind {
    fn of(event_type: &str) -> Kind {
        match event_type {
            "response.output_text.delta" | "response.refusal.delta" => Kind::Text,
            "response.reasoning_summary_text.delta" => Kind::Summary,
            "response.reasoning_text.delta" => Kind::ReasoningText,
            "response.function_call_arguments.delta"
            | "response.custom_tool_call_input.delta"
            | "response.mcp_call_arguments.delta" => Kind::Arguments,
            "response.output_item.added" => Kind::ItemAdded,
            "response.output_item.done" => Kind::ItemDone,
            "response.created" => Kind::Created,
            "response.in_progress" | "response.queued" => Kind::InProgress,
            "response.completed" => Kind::Completed,
            "response.incomplete" => Kind::Incomplete,
            "response.failed" => Kind::Failed,
            "error" => Kind::Error,
            _ => Kind::Other,
        }
    }

    /// The events that end a response.
    fn is_terminal(self) -> bool {
        matches!(self, Kind::Completed | Kind::Incomplete | Kind::Failed)
    }
}

// === reading ===

/// The top-level keys.
#[derive(Debug, Clone, Copy)]
enum Field {
    Type,
    Delta,
    OutputIndex,
    Item,
    Response,
    Code,
    Message,
    Param,
    Error,
    Other,
}

/// In the order deltas carry them; the keys every delta has but nothing
/// reads are listed (as [`Field::Other`]) only because recognising them is
/// cheaper than scanning them.
const FIELDS: &[Known<Field>] = &[
    Known::new(b"type", Field::Type),
    Known::new(b"sequence_number", Field::Other),
    Known::new(b"item_id", Field::Other),
    Known::new(b"output_index", Field::OutputIndex),
    Known::new(b"content_index", Field::Other),
    Known::new(b"summary_index", Field::Other),
    Known::new(b"delta", Field::Delta),
    Known::new(b"obfuscation", Field::Other),
    Known::new(b"logprobs", Field::Other),
    Known::new(b"item", Field::Item),
    Known::new(b"response", Field::Response),
    Known::new(b"code", Field::Code),
    Known::new(b"message", Field::Message),
    Known::new(b"param", Field::Param),
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
    // Whether `error` held the error (it wins over top-level fields).
    let mut nested = false;
    let mut later: Vec<(Field, usize)> = Vec::new();
    let mut first = true;
    while let Some(field) = s.field(&mut first, FIELDS, Field::Other)? {
        match (field, kind) {
            (Field::Type, _) => kind = read_kind(s)?,
            (Field::OutputIndex, _) => index = s.u64()?,
            (Field::Other, _) => trace.skip(s)?,
            (_, Some(kind)) => read_value(s, kind, field, u, &mut nested)?,
            (_, None) => {
                s.peek()?;
                later.push((field, s.pos()));
                s.skip_value()?;
            }
        }
    }
    s.finish()?;
    let kind = match kind {
        Some(kind) => {
            trace.self_typed = later.is_empty();
            kind
        }
        None if event_type.starts_with("response.") || event_type == "error" => {
            Kind::of(event_type)
        }
        None => return Ok(Read::NoType),
    };
    for (field, at) in later {
        read_value(&mut Scanner::at(s.src(), at), kind, field, u, &mut nested)?;
    }
    match kind {
        Kind::Created => u.start = true,
        Kind::Completed | Kind::Incomplete | Kind::Failed => {
            u.end = true;
            let status = match kind {
                Kind::Completed => "completed",
                Kind::Incomplete => "incomplete",
                _ => "failed",
            };
            u.finish_reason.get_or_insert(Cow::Borrowed(status));
        }
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

/// `type`: the kind of a string (the hot ones compared in place); `None`
/// for any other value.
#[inline]
fn read_kind(s: &mut Scanner<'_>) -> Scan<Option<Kind>> {
    for (hot, kind) in [
        (&b"response.output_text.delta"[..], Kind::Text),
        (b"response.reasoning_summary_text.delta", Kind::Summary),
        (b"response.reasoning_text.delta", Kind::ReasoningText),
        (b"response.function_call_arguments.delta", Kind::Arguments),
    ] {
        if s.eat_str(hot)? {
            return Ok(Some(kind));
        }
    }
    Ok(s.str()?.map(|t| Kind::of(&t)))
}

/// A top-level value, as an event of `kind` reads it.
fn read_value<'a>(
    s: &mut Scanner<'a>,
    kind: Kind,
    field: Field,
    u: &mut Update<'a>,
    nested: &mut bool,
) -> Scan<()> {
    let reasoning = |kind, text| Some(Reasoning { kind, text });
    match (kind, field) {
        (Kind::Text, Field::Delta) => u.content = s.text()?,
        (Kind::Summary, Field::Delta) => {
            u.reasoning = s.text()?.and_then(|t| reasoning(ReasoningKind::Summary, t));
        }
        (Kind::ReasoningText, Field::Delta) => {
            u.reasoning = s.text()?.and_then(|t| reasoning(ReasoningKind::ReasoningText, t));
        }
        (Kind::Arguments, Field::Delta) => {
            u.tool_call = Some(ToolCall { arguments: s.text()?, ..ToolCall::default() });
        }
        (Kind::ItemAdded | Kind::ItemDone, Field::Item) => {
            read_item(s, kind == Kind::ItemAdded, u)?
        }
        (
            Kind::Created | Kind::InProgress | Kind::Completed | Kind::Incomplete | Kind::Failed,
            Field::Response,
        ) => read_response(s, kind.is_terminal(), u)?,
        (Kind::Error, Field::Error) => {
            u.error = Some(read_api_error(s)?.unwrap_or_default());
            *nested = true;
        }
        (Kind::Error, Field::Code | Field::Message | Field::Param) if !*nested => {
            let e = u.error.get_or_insert_default();
            match field {
                Field::Code => e.code = s.code()?,
                Field::Message => e.message = s.str()?,
                _ => e.param = s.str()?,
            }
        }
        _ => s.skip_value()?,
    }
    Ok(())
}

/// An item of `response.output_item.added` / `.done`: when added, a
/// function (or custom tool, or MCP) call's first piece, or an empty
/// [`Summary`](ReasoningKind::Summary) part for a reasoning item; either
/// way, `encrypted_content` marks the reasoning encrypted.
fn read_item<'a>(s: &mut Scanner<'a>, added: bool, u: &mut Update<'a>) -> Scan<()> {
    let (mut kind, mut id, mut call_id, mut name, mut arguments) = (None, None, None, None, None);
    let mut encrypted = false;
    if s.object()? {
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            match key.as_bytes() {
                b"type" => kind = s.str()?,
                b"id" => id = s.str()?,
                b"call_id" => call_id = s.str()?,
                b"name" => name = s.str()?,
                b"arguments" | b"input" => arguments = s.text()?,
                b"encrypted_content" => encrypted = s.str()?.is_some_and(|c| !c.is_empty()),
                _ => s.skip_value()?,
            }
        }
    }
    (u.reasoning, u.tool_call) = (None, None);
    u.marks.encrypted = encrypted;
    match (added, kind.as_deref()) {
        (true, Some("function_call" | "custom_tool_call" | "mcp_call")) => {
            let (id, arguments) = (call_id.or(id), arguments.filter(|a| !a.is_empty()));
            u.tool_call = Some(ToolCall { index: 0, id, name, arguments });
        }
        (true, Some("reasoning")) => {
            u.reasoning = Some(Reasoning { kind: ReasoningKind::Summary, text: Cow::Borrowed("") });
        }
        _ => {}
    }
    Ok(())
}

/// The `response` of `response.created`, `.completed`, ...: its id, model
/// and creation time; for a terminal event also its usage, finish reason
/// (`incomplete_details.reason`, else `status`) and error. Its `output`
/// (every item again, whole) is skipped: the deltas carried it.
fn read_response<'a>(s: &mut Scanner<'a>, terminal: bool, u: &mut Update<'a>) -> Scan<()> {
    if !s.object()? {
        return Ok(());
    }
    let (mut status, mut reason) = (None, None);
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"id" => u.id = s.str()?.filter(|id| !id.is_empty()),
            b"model" => u.model = s.str()?.filter(|model| !model.is_empty()),
            b"created_at" => u.created = s.i64()?.filter(|&t| t != 0),
            b"status" if terminal => status = s.str()?,
            b"usage" if terminal => {
                u.usage = if s.object()? { Some(read_usage(s)?) } else { None };
            }
            b"incomplete_details" if terminal => reason = read_incomplete(s)?,
            b"error" if terminal => u.error = read_api_error(s)?,
            _ => s.skip_value()?,
        }
    }
    u.finish_reason = reason.or(status);
    Ok(())
}

/// `incomplete_details`: its `reason`.
fn read_incomplete<'a>(s: &mut Scanner<'a>) -> Scan<Option<Cow<'a, str>>> {
    let mut reason = None;
    if s.object()? {
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            match key.as_bytes() {
                b"reason" => reason = s.str()?,
                _ => s.skip_value()?,
            }
        }
    }
    Ok(reason)
}

/// After a Responses `usage`'s `{`: normalised to chat-completion names.
fn read_usage(s: &mut Scanner<'_>) -> Scan<Usage> {
    let mut usage = Usage::default();
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"input_tokens" => usage.prompt_tokens = s.u64()?,
            b"output_tokens" => usage.completion_tokens = s.u64()?,
            b"total_tokens" => usage.total_tokens = s.u64()?,
            b"input_tokens_details" => {
                usage.cached_tokens = read_token_details(s)?.and_then(|d| d.cached_tokens);
            }
            b"output_tokens_details" => {
                usage.reasoning_tokens = read_token_details(s)?.and_then(|d| d.reasoning_tokens);
            }
            _ => s.skip_value()?,
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::Marks;

    fn update<'a>(event_type: &str, data: &'a str) -> Update<'a> {
        parse(event_type, data).unwrap_or_else(|e| panic!("{data}: {e}"))
    }

    fn text(s: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(s))
    }

    #[test]
    fn created_starts_and_names_the_response() {
        let u = update(
            "response.created",
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_68a1","object":"response","created_at":1755000000,"status":"in_progress","model":"o4-mini-2025-04-16","output":[],"usage":null}}"#,
        );
        assert_eq!(
            u,
            Update {
                start: true,
                id: text("resp_68a1"),
                model: text("o4-mini-2025-04-16"),
                created: Some(1755000000),
                ..Update::default()
            }
        );
    }

    #[test]
    fn deltas_by_type() {
        // FORMATS-MORE.md §1, verbatim.
        let u = update(
            "response.reasoning_summary_text.delta",
            r#"{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Compare the","sequence_number":4}"#,
        );
        assert_eq!(
            u.reasoning,
            Some(Reasoning { kind: ReasoningKind::Summary, text: Cow::Borrowed("Compare the") })
        );
        let u = update(
            "response.reasoning_text.delta",
            r#"{"type":"response.reasoning_text.delta","item_id":"rs_1","output_index":0,"content_index":0,"delta":"We need \"x\"","sequence_number":5}"#,
        );
        assert_eq!(
            u.reasoning,
            Some(Reasoning { kind: ReasoningKind::ReasoningText, text: "We need \"x\"".into() })
        );
        let u = update(
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":1,"content_index":0,"delta":"9.8","logprobs":[],"obfuscation":"Zp1","sequence_number":9}"#,
        );
        assert_eq!(u, Update { content: text("9.8"), ..Update::default() });
        let u = update(
            "response.refusal.delta",
            r#"{"type":"response.refusal.delta","item_id":"msg_1","output_index":1,"content_index":0,"delta":"I can't","sequence_number":9}"#,
        );
        assert_eq!(u.content, text("I can't"));
        let u = update(
            "response.function_call_arguments.delta",
            r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":2,"delta":"{\"city\":","sequence_number":12}"#,
        );
        assert_eq!(
            u.tool_call,
            Some(ToolCall {
                index: 2,
                arguments: Some("{\"city\":".into()),
                ..ToolCall::default()
            })
        );
    }

    #[test]
    fn items_open_tool_calls_and_mark_encrypted_reasoning() {
        let u = update(
            "response.output_item.added",
            r#"{"type":"response.output_item.added","output_index":2,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_7","name":"get_weather"},"sequence_number":11}"#,
        );
        assert_eq!(
            u.tool_call,
            Some(ToolCall {
                index: 2,
                id: text("call_7"),
                name: text("get_weather"),
                arguments: None
            })
        );
        let u = update(
            "response.output_item.added",
            r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]},"sequence_number":2}"#,
        );
        assert_eq!(u.reasoning, Some(Reasoning { kind: ReasoningKind::Summary, text: "".into() }));
        let u = update(
            "response.output_item.done",
            r#"{"type":"response.output_item.done","output_index":0,"item":{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAABo","summary":[{"type":"summary_text","text":"Compare the decimals."}]},"sequence_number":8}"#,
        );
        assert_eq!(
            u,
            Update { marks: Marks { encrypted: true, ..Marks::default() }, ..Update::default() }
        );
        // A message item's `.done`, and text `.done` events, repeat what the
        // deltas sent: nothing is read from them.
        for (t, data) in [
            (
                "response.output_item.done",
                r#"{"type":"response.output_item.done","output_index":1,"item":{"id":"msg_1","type":"message","content":[{"type":"output_text","text":"9.8"}]}}"#,
            ),
            (
                "response.output_text.done",
                r#"{"type":"response.output_text.done","output_index":1,"text":"9.8"}"#,
            ),
            (
                "response.function_call_arguments.done",
                r#"{"type":"response.function_call_arguments.done","output_index":2,"arguments":"{}"}"#,
            ),
            (
                "response.reasoning_summary_text.done",
                r#"{"type":"response.reasoning_summary_text.done","text":"Compare"}"#,
            ),
        ] {
            assert_eq!(update(t, data), Update::default(), "{t}");
        }
    }

    #[test]
    fn terminal_events_end_with_usage_and_a_reason() {
        let u = update(
            "response.completed",
            r#"{"type":"response.completed","sequence_number":20,"response":{"id":"resp_68a1","created_at":1755000000,"status":"completed","model":"o4-mini-2025-04-16","output":[{"type":"message","content":[{"type":"output_text","text":"9.8"}]}],"usage":{"input_tokens":22,"input_tokens_details":{"cached_tokens":0},"output_tokens":210,"output_tokens_details":{"reasoning_tokens":192},"total_tokens":232}}}"#,
        );
        assert!(u.end && !u.start);
        assert_eq!(u.finish_reason, text("completed"));
        assert_eq!(
            u.usage,
            Some(Usage {
                prompt_tokens: Some(22),
                completion_tokens: Some(210),
                total_tokens: Some(232),
                reasoning_tokens: Some(192),
                cached_tokens: Some(0),
                ..Usage::default()
            })
        );
        let u = update(
            "response.incomplete",
            r#"{"type":"response.incomplete","response":{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}"#,
        );
        assert_eq!((u.end, u.finish_reason), (true, text("max_output_tokens")));
        let u = update(
            "response.failed",
            r#"{"type":"response.failed","response":{"id":"r","status":"failed","error":{"code":"server_error","message":"The model failed."}}}"#,
        );
        assert_eq!((u.end, u.finish_reason.as_deref()), (true, Some("failed")));
        let e = u.error.unwrap();
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("server_error"), Some("The model failed."))
        );
        // Without a status the event's own name says it.
        let u = update("response.completed", r#"{"type":"response.completed","response":{}}"#);
        assert_eq!(u.finish_reason, text("completed"));
        assert_eq!(update("message", "[DONE]"), Update { end: true, ..Update::default() });
    }

    #[test]
    fn errors() {
        let u = update(
            "error",
            r#"{"type":"error","code":"rate_limit_exceeded","message":"Slow down.","param":null,"sequence_number":3}"#,
        );
        let e = u.error.unwrap();
        assert_eq!(e.code.as_deref(), Some("rate_limit_exceeded"));
        assert_eq!(e.message.as_deref(), Some("Slow down."));
        assert_eq!(e.kind, None);
        let u = update("error", "upstream went away");
        assert_eq!(u.error.unwrap().message.as_deref(), Some("upstream went away"));
        assert!(matches!(parse("message", r#"{"delta":"x"}"#), Err(Error::Shape(_))));
        assert!(matches!(parse("response.created", "[1]"), Err(Error::Shape(_))));
        assert!(matches!(parse("response.created", r#"{"type":"#), Err(Error::Json(_))));
        // The event type stands in for a missing `type`.
        let u = update("response.output_text.delta", r#"{"delta":"hi"}"#);
        assert_eq!(u.content, text("hi"));
        // The type may come last; the nested error wins over top-level fields.
        let u = update(
            "message",
            r#"{"delta":"{}","output_index":3,"type":"response.function_call_arguments.delta"}"#,
        );
        assert_eq!(
            u.tool_call,
            Some(ToolCall { index: 3, arguments: text("{}"), ..ToolCall::default() })
        );
        let u = update(
            "message",
            r#"{"message":"outer","error":{"message":"inner","code":"c"},"code":"x","type":"error"}"#,
        );
        let e = u.error.unwrap();
        assert_eq!((e.message.as_deref(), e.code.as_deref()), (Some("inner"), Some("c")));
    }
}
