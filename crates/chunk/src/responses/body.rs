//! A whole Responses API body (`POST /v1/responses` without `"stream"`):
//! one `response` object, read into the [`Update`]s its stream would have
//! given, so that both read into the same record.
//!
//! | body | updates, in order |
//! |---|---|
//! | `id`, `model`, `created_at` | the first: `start` and the names |
//! | a `reasoning` item of `output[]` | an empty [`Summary`](ReasoningKind::Summary) part (as `response.output_item.added` gives), then each `summary[].text` ([`Summary`](ReasoningKind::Summary)) and each `content[].text` ([`ReasoningText`](ReasoningKind::ReasoningText)); `encrypted_content`: [`Marks::encrypted`](crate::Marks::encrypted) |
//! | a `message` item | each `content[]` part's `text` (`output_text`) or `refusal` (`refusal`): answer text |
//! | a `function_call` item (also `custom_tool_call`, `mcp_call`) | one whole tool call keyed by its place in `output`: `call_id` (else `id`), `name`, `arguments` (or `input`) |
//! | `status`, `incomplete_details`, `usage`, `error` | the last: the finish reason (`incomplete_details.reason`, else `status`), usage as [`read_usage`] normalises it, the error; `end` unless `status` is `in_progress` or `queued` (a background response polled before it ended) |
//!
//! Other items (web searches, images, ...) say nothing this crate reads.

use std::borrow::Cow;

use super::{read_incomplete, read_usage};
use crate::error::{Error, read_api_error};
use crate::scan::{Scan, Scanner};
use crate::update::{Reasoning, ReasoningKind, ToolCall, Update, whole_body};

const NOT_AN_OBJECT: &str = "responses body is not a json object";
const NOT_LISTED: &str = "responses body without an output array";

/// Reads a whole Responses API body: the updates its stream would have
/// given, the first with `start`, the last with the finish reason, usage
/// and `end`.
///
/// A field of an unexpected type is treated as absent, as in the stream's
/// events.
///
/// # Errors
///
/// [`Error::Json`] if the body is not JSON; [`Error::Shape`] if it is not
/// an object, or has no `output` array (even an empty one).
pub fn parse_body(data: &str) -> Result<Vec<Update<'_>>, Error> {
    whole_body(data, read_body)
}

/// The body's updates, or why it is not a body: not an object, or no list
/// of outputs.
fn read_body<'a>(s: &mut Scanner<'a>) -> Scan<Result<Vec<Update<'a>>, &'static str>> {
    if !s.object()? {
        return Ok(Err(NOT_AN_OBJECT));
    }
    let mut head = Update { start: true, ..Update::default() };
    let mut tail = Update::default();
    let mut items = Vec::new();
    let (mut status, mut reason) = (None, None);
    // Whether the body has its list of outputs: without one it is not a
    // body this reader knows.
    let mut listed = false;
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"id" => head.id = s.str()?.filter(|id| !id.is_empty()),
            b"model" => head.model = s.str()?.filter(|model| !model.is_empty()),
            b"created_at" => head.created = s.i64()?.filter(|&t| t != 0),
            b"status" => status = s.str()?,
            b"incomplete_details" => reason = read_incomplete(s)?,
            b"error" => tail.error = read_api_error(s)?,
            b"usage" => tail.usage = if s.object()? { Some(read_usage(s)?) } else { None },
            b"output" => {
                items.clear();
                listed = s.array()?;
                if listed {
                    let mut first = true;
                    let mut index = 0u32;
                    while s.element(&mut first)? {
                        read_item(s, index, &mut items)?;
                        index = index.saturating_add(1);
                    }
                }
            }
            _ => s.skip_value()?,
        }
    }
    tail.end = !matches!(status.as_deref(), Some("in_progress" | "queued"));
    if tail.end {
        tail.finish_reason = reason.or(status);
    }
    let mut updates = Vec::with_capacity(items.len() + 2);
    updates.push(head);
    updates.append(&mut items);
    updates.push(tail);
    Ok(if listed { Ok(updates) } else { Err(NOT_LISTED) })
}

/// One item of `output`, at `index`: its updates pushed onto `out`.
fn read_item<'a>(s: &mut Scanner<'a>, index: u32, out: &mut Vec<Update<'a>>) -> Scan<()> {
    if !s.object()? {
        return Ok(());
    }
    let (mut kind, mut id, mut call_id, mut name, mut arguments) = (None, None, None, None, None);
    let (mut summary, mut content, mut encrypted) = (Vec::new(), Vec::new(), false);
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"type" => kind = s.str()?,
            b"id" => id = s.str()?,
            b"call_id" => call_id = s.str()?,
            b"name" => name = s.str()?,
            b"arguments" | b"input" => arguments = s.text()?,
            b"summary" => summary = read_parts(s)?,
            b"content" => content = read_parts(s)?,
            b"encrypted_content" => encrypted = s.str()?.is_some_and(|c| !c.is_empty()),
            _ => s.skip_value()?,
        }
    }
    let reasoning =
        |kind, text| Update { reasoning: Some(Reasoning { kind, text }), ..Update::default() };
    match kind.as_deref() {
        Some("reasoning") => {
            out.push(reasoning(ReasoningKind::Summary, Cow::Borrowed("")));
            for text in summary {
                out.push(reasoning(ReasoningKind::Summary, text));
            }
            for text in content {
                out.push(reasoning(ReasoningKind::ReasoningText, text));
            }
            if encrypted {
                let mut u = Update::default();
                u.marks.encrypted = true;
                out.push(u);
            }
        }
        Some("message") => {
            for text in content {
                out.push(Update { content: Some(text), ..Update::default() });
            }
        }
        Some("function_call" | "custom_tool_call" | "mcp_call") => {
            let (id, arguments) = (call_id.or(id), arguments.filter(|a| !a.is_empty()));
            let call = ToolCall { index, id, name, arguments };
            out.push(Update { tool_call: Some(call), ..Update::default() });
        }
        _ => {}
    }
    Ok(())
}

/// `summary[]` or `content[]`: each part's text (`text`, or a refusal's
/// `refusal`), parts without text left out.
fn read_parts<'a>(s: &mut Scanner<'a>) -> Scan<Vec<Cow<'a, str>>> {
    let mut parts = Vec::new();
    if !s.array()? {
        return Ok(parts);
    }
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let mut text = None;
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            match key.as_bytes() {
                b"text" | b"refusal" => text = s.text()?.or(text),
                _ => s.skip_value()?,
            }
        }
        if let Some(text) = text {
            parts.push(text);
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::Marks;

    #[test]
    fn a_body_reads_as_its_stream_in_output_order() {
        let body = r#"{"id":"resp_1","object":"response","created_at":1758000000,"status":"completed","model":"o3","output":[{"type":"message","content":[{"type":"refusal","refusal":"I can't."}]},{"type":"reasoning","summary":[{"type":"summary_text","text":"Why"}],"content":[{"type":"reasoning_text","text":"raw"}],"encrypted_content":"gA"},{"type":"custom_tool_call","id":"ctc_1","name":"run","input":"ls"},{"type":"web_search_call","id":"ws_1"}],"usage":{"input_tokens":3,"output_tokens":5}}"#;
        let updates = parse_body(body).unwrap();
        let reasoning = |kind, text: &'static str| Update {
            reasoning: Some(Reasoning { kind, text: text.into() }),
            ..Update::default()
        };
        let expected = vec![
            Update {
                start: true,
                id: Some("resp_1".into()),
                model: Some("o3".into()),
                created: Some(1758000000),
                ..Update::default()
            },
            Update { content: Some("I can't.".into()), ..Update::default() },
            reasoning(ReasoningKind::Summary, ""),
            reasoning(ReasoningKind::Summary, "Why"),
            reasoning(ReasoningKind::ReasoningText, "raw"),
            Update { marks: Marks { encrypted: true, ..Marks::default() }, ..Update::default() },
            Update {
                tool_call: Some(ToolCall {
                    index: 2,
                    id: Some("ctc_1".into()),
                    name: Some("run".into()),
                    arguments: Some("ls".into()),
                }),
                ..Update::default()
            },
            Update {
                finish_reason: Some("completed".into()),
                usage: Some(crate::Usage {
                    prompt_tokens: Some(3),
                    completion_tokens: Some(5),
                    ..crate::Usage::default()
                }),
                end: true,
                ..Update::default()
            },
        ];
        assert_eq!(updates, expected);
    }

    #[test]
    fn a_polled_response_is_not_ended_and_errors_are_typed() {
        let updates = parse_body(r#"{"object":"response","status":"queued","output":[]}"#).unwrap();
        assert_eq!(updates.len(), 2);
        assert!(!updates[1].end && updates[1].finish_reason.is_none());
        let failed = r#"{"object":"response","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}"#;
        let last = parse_body(failed).unwrap().pop().unwrap();
        assert!(last.end);
        assert_eq!(last.finish_reason.as_deref(), Some("failed"));
        assert_eq!(last.error.unwrap().code.as_deref(), Some("server_error"));
        assert!(matches!(parse_body("[1]"), Err(Error::Shape(_))));
        // Without its list of outputs it is no body this reader knows.
        for listless in [r#"{"object":"response"}"#, r#"{"object":"response","output":5}"#] {
            assert!(matches!(parse_body(listless), Err(Error::Shape(_))), "{listless}");
        }
        assert!(matches!(parse_body(r#"{"object":"response","output":[}"#), Err(Error::Json(_))));
        assert!(matches!(parse_body(r#"{"object":"response"} x"#), Err(Error::Json(_))));
    }
}
