//! Ollama's native API (`/api/chat`, `/api/generate`), which streams NDJSON:
//! one JSON object per line, into the format-neutral parts.
//!
//! A stream is the lines from one with `"done": false` to the next with
//! `"done": true`; a lone `"done": true` object is a whole response. What
//! is read:
//!
//! - `model`;
//! - `message.thinking` (or, from `/api/generate`, `thinking`): reasoning;
//! - `message.content` (or `response`): answer text;
//! - `message.tool_calls[]`: whole tool calls (`function.name`,
//!   `function.arguments` as sent, usually an object);
//! - `done`, `done_reason` (the finish reason);
//! - on the last line: `prompt_eval_count` is `prompt_tokens` and
//!   `eval_count` (every generated token, thinking included) is
//!   `completion_tokens`; Ollama does not count reasoning apart;
//! - `error` (a string, or an object).

use std::borrow::Cow;

use crate::error::{ApiError, Error, read_api_error};
use crate::scan::{Known, Reject, Scan, Scanner};
use crate::update::{ToolCall, Trace};
use crate::usage::Usage;

/// One line of an Ollama stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Line<'a> {
    /// `model`, when non-empty.
    pub model: Option<Cow<'a, str>>,
    /// `message.thinking` or `thinking`.
    pub thinking: Option<Cow<'a, str>>,
    /// `message.content` or `response`.
    pub content: Option<Cow<'a, str>>,
    /// `message.tool_calls[]`, each a whole call (`index` is its position).
    pub tool_calls: Vec<ToolCall<'a>>,
    /// `done`.
    pub done: bool,
    /// `done_reason`.
    pub done_reason: Option<Cow<'a, str>>,
    /// The counts of the last line (see the module docs).
    pub usage: Option<Usage>,
    /// `error`.
    pub error: Option<ApiError<'a>>,
    /// [`Format::detect`](crate::Format::detect) would surely call this
    /// line Ollama's: `done` is a boolean, `message` or `response` is
    /// there, and no key another format is told by (`type`, `choices`,
    /// `candidates`). When `false`, ask `detect`.
    pub surely_ollama: bool,
}

/// Reads one line of an Ollama stream.
///
/// # Errors
///
/// [`Error::Json`] if it is not JSON; [`Error::Shape`] if it is not an
/// object with `done` (a boolean) or `error`.
pub fn parse(data: &str) -> Result<Line<'_>, Error> {
    parse_traced(data, &mut Trace::default())
}

/// [`parse`], noting in `trace` what [`crate::Parser`] needs to reuse it:
/// where the top-level values it skipped (`created_at`) sat, and the texts
/// read.
pub(crate) fn parse_traced<'a>(data: &'a str, trace: &mut Trace) -> Result<Line<'a>, Error> {
    trace.clear();
    let mut line = Line::default();
    let mut s = Scanner::new(data);
    let read = read_line(&mut s, &mut line, trace);
    trace.texts = s.texts();
    match read {
        Ok(true) => Ok(line),
        Ok(false) => Err(Error::Shape("ollama line without done or error")),
        Err(Reject) => Err(Error::json(data)),
    }
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Model,
    Message,
    Thinking,
    Response,
    Done,
    DoneReason,
    PromptEvalCount,
    EvalCount,
    Error,
    /// A key another format is told by.
    Foreign,
    Other,
}

const FIELDS: &[Known<Field>] = &[
    Known::new(b"model", Field::Model),
    Known::new(b"created_at", Field::Other),
    Known::new(b"message", Field::Message),
    Known::new(b"response", Field::Response),
    Known::new(b"thinking", Field::Thinking),
    Known::new(b"done", Field::Done),
    Known::new(b"done_reason", Field::DoneReason),
    Known::new(b"prompt_eval_count", Field::PromptEvalCount),
    Known::new(b"eval_count", Field::EvalCount),
    Known::new(b"error", Field::Error),
    Known::new(b"type", Field::Foreign),
    Known::new(b"choices", Field::Foreign),
    Known::new(b"candidates", Field::Foreign),
];

/// Reads the line into `line`: `false` if it is not an object with `done`
/// or `error`.
fn read_line<'a>(s: &mut Scanner<'a>, line: &mut Line<'a>, trace: &mut Trace) -> Scan<bool> {
    if !s.object()? {
        s.finish()?;
        return Ok(false);
    }
    let (mut done, mut prompt, mut completion) = (None, None, None);
    let (mut message, mut foreign) = (false, false);
    let mut first = true;
    while let Some(field) = s.field(&mut first, FIELDS, Field::Other)? {
        match field {
            Field::Model => line.model = s.str()?.filter(|m| !m.is_empty()),
            Field::Message => {
                message = true;
                read_message(s, line)?;
            }
            Field::Thinking => line.thinking = s.text()?,
            Field::Response => {
                message = true;
                line.content = s.text()?;
            }
            Field::Done => done = s.bool()?,
            Field::DoneReason => line.done_reason = s.str()?,
            Field::PromptEvalCount => prompt = s.u64()?,
            Field::EvalCount => completion = s.u64()?,
            Field::Error => line.error = read_api_error(s)?,
            Field::Foreign => {
                foreign = true;
                s.skip_value()?;
            }
            Field::Other => trace.skip(s)?,
        }
    }
    s.finish()?;
    line.done = done == Some(true);
    line.surely_ollama = done.is_some() && message && !foreign;
    if prompt.is_some() || completion.is_some() {
        line.usage = Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt.zip(completion).and_then(|(p, c)| p.checked_add(c)),
            ..Usage::default()
        });
    }
    Ok(done.is_some() || line.error.is_some())
}

/// `message`: its `thinking`, `content` and `tool_calls`.
fn read_message<'a>(s: &mut Scanner<'a>, line: &mut Line<'a>) -> Scan<()> {
    if !s.object()? {
        return Ok(());
    }
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"thinking" => line.thinking = s.text()?,
            b"content" => line.content = s.text()?,
            b"tool_calls" => line.tool_calls = read_tool_calls(s)?,
            _ => s.skip_value()?,
        }
    }
    Ok(())
}

/// `tool_calls[]`: each `function`'s `name` and `arguments`.
fn read_tool_calls<'a>(s: &mut Scanner<'a>) -> Scan<Vec<ToolCall<'a>>> {
    let mut calls = Vec::new();
    if !s.array()? {
        return Ok(calls);
    }
    let mut first = true;
    while s.element(&mut first)? {
        if !s.object()? {
            continue;
        }
        let index = u32::try_from(calls.len()).unwrap_or(u32::MAX);
        let mut call = ToolCall { index, ..ToolCall::default() };
        let mut first = true;
        while let Some(key) = s.key(&mut first)? {
            match key.as_bytes() {
                b"id" => call.id = s.str()?,
                b"function" => read_function(s, &mut call)?,
                _ => s.skip_value()?,
            }
        }
        calls.push(call);
    }
    Ok(calls)
}

/// A tool call's `function`: its `name` and `arguments` (as sent).
fn read_function<'a>(s: &mut Scanner<'a>, call: &mut ToolCall<'a>) -> Scan<()> {
    if !s.object()? {
        return Ok(());
    }
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        match key.as_bytes() {
            b"name" => call.name = s.str()?,
            b"arguments" => call.arguments = crate::choice::read_arguments(s)?,
            _ => s.skip_value()?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_lines() {
        let l = parse(
            r#"{"model":"qwen3:8b","created_at":"2025-06-05T12:00:00.123456Z","message":{"role":"assistant","content":"","thinking":"Okay, the user"},"done":false}"#,
        )
        .unwrap();
        assert_eq!(
            (l.thinking.as_deref(), l.content.as_deref(), l.done),
            (Some("Okay, the user"), Some(""), false)
        );
        assert_eq!(l.model.as_deref(), Some("qwen3:8b"));
        let l = parse(
            r#"{"model":"qwen3:8b","created_at":"2025-06-05T12:00:02Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":5589157167,"load_duration":3013701500,"prompt_eval_count":26,"prompt_eval_duration":130079000,"eval_count":259,"eval_duration":2389000000}"#,
        )
        .unwrap();
        assert!(l.done);
        assert_eq!(l.done_reason.as_deref(), Some("stop"));
        assert_eq!(
            l.usage,
            Some(Usage {
                prompt_tokens: Some(26),
                completion_tokens: Some(259),
                total_tokens: Some(285),
                ..Usage::default()
            })
        );
    }

    #[test]
    fn surely_ollama_only_where_detect_says_ollama() {
        use crate::Format;
        // (line, what `surely_ollama` must be); `detect` is the oracle.
        for (line, sure) in [
            (r#"{"model":"m","message":{"content":"a"},"done":false}"#, true),
            (r#"{"model":"m","response":"a","done":true,"eval_count":3}"#, true),
            (r#"{"done":false,"message":null}"#, true),
            // Not a boolean `done`, no message: not Ollama's.
            (r#"{"model":"m","message":{"content":"a"},"done":"no"}"#, false),
            (r#"{"model":"m","thinking":"a","done":false}"#, false),
            (r#"{"error":"model 'qwen9' not found"}"#, false),
            // Keys another format is told by: `detect` decides.
            (r#"{"message":{"content":"a"},"done":false,"choices":[]}"#, false),
            (r#"{"candidates":[],"message":{"content":"a"},"done":false}"#, false),
            (r#"{"type":"message_start","message":{},"done":false}"#, false),
            (r#"{"type":"other","message":{},"done":false}"#, false),
        ] {
            let got = parse(line).is_ok_and(|l| l.surely_ollama);
            assert_eq!(got, sure, "{line}");
            if sure {
                assert_eq!(Format::detect("message", line), Format::Ollama, "{line}");
            }
        }
    }

    #[test]
    fn tool_calls_generate_and_errors() {
        let l = parse(
            r#"{"model":"llama3.2","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},"done":false}"#,
        )
        .unwrap();
        assert_eq!(
            l.tool_calls,
            [ToolCall {
                index: 0,
                id: None,
                name: Some("get_weather".into()),
                arguments: Some(r#"{"city":"Paris"}"#.into())
            }]
        );
        let l = parse(r#"{"model":"deepseek-r1","response":"Hi","thinking":"hm","done":false}"#)
            .unwrap();
        assert_eq!((l.thinking.as_deref(), l.content.as_deref()), (Some("hm"), Some("Hi")));
        let l = parse(r#"{"error":"model 'qwen9' not found"}"#).unwrap();
        assert_eq!(l.error.unwrap().message.as_deref(), Some("model 'qwen9' not found"));
        assert!(matches!(parse(r#"{"model":"m"}"#), Err(Error::Shape(_))));
        assert!(matches!(parse(r#"{"done":"#), Err(Error::Json(_))));
    }
}
