//! A whole Anthropic Messages body (`POST /v1/messages` without
//! `"stream"`): one `message` object, read into the [`Update`]s its stream
//! would have given, so that both read into the same record.
//!
//! | body | updates, in order |
//! |---|---|
//! | `id`, `model`, `usage` | the first: `start`, the names; the usage (normalised as [`read_usage`] does) goes on the last |
//! | a `thinking` block of `content[]` | its `thinking` ([`Thinking`](ReasoningKind::Thinking) reasoning), [`Marks::signed`] if its `signature` is not empty |
//! | a `redacted_thinking` block | an empty reasoning part and [`Marks::redacted`] (its `data` is opaque) |
//! | a `text` block | its `text`: answer text |
//! | a `tool_use` block (also `server_tool_use`, `mcp_tool_use`) | one whole tool call keyed by its place in `content`: `id`, `name`, and `input` as sent (its JSON text, `{}` included: a body has no deltas to wait for) |
//! | `stop_reason`, `usage` | the last: the finish reason, usage, and `end` (a body is whole) |
//!
//! Other blocks (tool results, ...) say nothing this crate reads.

use super::{read_block, read_usage};
use crate::error::Error;
use crate::scan::{Reject, Scan, Scanner};
use crate::update::{Update, whole_body};

const NOT_AN_OBJECT: &str = "messages body is not a json object";
const NOT_LISTED: &str = "messages body without a content array";

/// Reads a whole Messages body: the updates its stream would have given,
/// the first with `start`, the last with the finish reason, usage and
/// `end`.
///
/// A field of an unexpected type is treated as absent, as in the stream's
/// events.
///
/// # Errors
///
/// [`Error::Json`] if the body is not JSON; [`Error::Shape`] if it is not
/// an object, or has no `content` array (even an empty one).
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
    let mut tail = Update { end: true, ..Update::default() };
    let mut blocks = Vec::new();
    // Whether the body has its list of outputs: without one it is not a
    // body this reader knows.
    let mut listed = false;
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"id" => head.id = s.str()?.filter(|id| !id.is_empty()),
            b"model" => head.model = s.str()?.filter(|model| !model.is_empty()),
            b"stop_reason" => tail.finish_reason = s.str()?,
            b"usage" => tail.usage = if s.object()? { Some(read_usage(s)?) } else { None },
            b"content" => {
                blocks.clear();
                listed = s.array()?;
                if listed {
                    let mut first = true;
                    let mut index = 0u32;
                    while s.element(&mut first)? {
                        if let Some(block) = read_block(s, index, raw_value)? {
                            blocks.push(block);
                        }
                        index = index.saturating_add(1);
                    }
                }
            }
            _ => s.skip_value()?,
        }
    }
    let mut updates = Vec::with_capacity(blocks.len() + 2);
    updates.push(head);
    updates.append(&mut blocks);
    updates.push(tail);
    Ok(if listed { Ok(updates) } else { Err(NOT_LISTED) })
}

/// A value's JSON text as sent; `None` for `null`.
fn raw_value<'a>(s: &mut Scanner<'a>) -> Scan<Option<&'a str>> {
    s.peek()?;
    let start = s.pos();
    s.skip_value()?;
    let raw = s.src().get(start..s.pos()).ok_or(Reject)?;
    Ok((raw != "null").then_some(raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::{Marks, Reasoning, ReasoningKind, ToolCall};

    #[test]
    fn blocks_read_as_their_stream_in_order() {
        let body = r#"{"id":"msg_1","type":"message","model":"claude","content":[{"type":"redacted_thinking","data":"x"},{"type":"thinking","thinking":"a","signature":""},{"type":"tool_use","id":"t1","name":"now","input":{}},{"type":"tool_result","content":"ignored"},{"type":"text","text":"b"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}}"#;
        let updates = parse_body(body).unwrap();
        let thinking = |text: &'static str, marks| Update {
            reasoning: Some(Reasoning { kind: ReasoningKind::Thinking, text: text.into() }),
            marks,
            ..Update::default()
        };
        let expected = vec![
            Update {
                start: true,
                id: Some("msg_1".into()),
                model: Some("claude".into()),
                ..Update::default()
            },
            thinking("", Marks { redacted: true, ..Marks::default() }),
            // An empty signature signs nothing.
            thinking("a", Marks::default()),
            Update {
                tool_call: Some(ToolCall {
                    index: 2,
                    id: Some("t1".into()),
                    name: Some("now".into()),
                    arguments: Some("{}".into()),
                }),
                ..Update::default()
            },
            Update { content: Some("b".into()), ..Update::default() },
            Update {
                finish_reason: Some("end_turn".into()),
                usage: Some(crate::Usage {
                    prompt_tokens: Some(1),
                    completion_tokens: Some(2),
                    ..crate::Usage::default()
                }),
                end: true,
                ..Update::default()
            },
        ];
        assert_eq!(updates, expected);
        assert!(matches!(parse_body(r#""message""#), Err(Error::Shape(_))));
        for listless in [r#"{"type":"message"}"#, r#"{"type":"message","content":"hi"}"#] {
            assert!(matches!(parse_body(listless), Err(Error::Shape(_))), "{listless}");
        }
        assert!(matches!(parse_body(r#"{"type":"message","content":[1,]}"#), Err(Error::Json(_))));
    }
}
