//! [`Format`]: which API a stream speaks, told from its first event.

use serde::{Deserialize, Serialize};

use crate::scan::{Known, Scan, Scanner};

/// The wire format of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Format {
    /// OpenAI-compatible chat completions (`chat.completion.chunk`s, or a
    /// whole `chat.completion`): every dialect this crate's [`parse`]
    /// reads.
    ///
    /// [`parse`]: crate::parse
    #[default]
    #[serde(rename = "chat.completions")]
    ChatCompletions,
    /// The OpenAI Responses API (`POST /v1/responses`): read with
    /// [`responses::parse`](crate::responses::parse).
    #[serde(rename = "responses")]
    Responses,
    /// Anthropic Messages (`POST /v1/messages`): read with
    /// [`messages::parse`](crate::messages::parse).
    #[serde(rename = "messages")]
    Messages,
    /// Google Gemini's `streamGenerateContent?alt=sse`: read with
    /// [`gemini::parse`](crate::gemini::parse).
    #[serde(rename = "gemini")]
    Gemini,
    /// Ollama's native NDJSON (`/api/chat`, `/api/generate`): read with
    /// [`ollama::parse`](crate::ollama::parse).
    #[serde(rename = "ollama")]
    Ollama,
}

/// The event types of an Anthropic Messages stream (besides `error`, which
/// every format may send).
const MESSAGES_EVENTS: [&str; 7] = [
    "message_start",
    "message_delta",
    "message_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "ping",
];

impl Format {
    /// The name in records: `chat.completions`, `responses`, `messages`,
    /// `gemini` or `ollama`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::ChatCompletions => "chat.completions",
            Format::Responses => "responses",
            Format::Messages => "messages",
            Format::Gemini => "gemini",
            Format::Ollama => "ollama",
        }
    }

    /// The format of a stream whose first event has this SSE event type
    /// and data.
    ///
    /// The event type decides when it names an event of one of the formats
    /// (`response.*`, or a Messages event such as `message_start`);
    /// otherwise (`message`, the default, or `error`) the data's top-level
    /// keys do: a `type` the same way, for streams whose `event:` lines
    /// were dropped on the way; `candidates` (without `choices`) is
    /// Gemini; a boolean `done` with `message` or `response` is Ollama.
    /// Anything else, invalid JSON included, is chat completions (whose
    /// reader reports what is wrong with it).
    pub fn detect(event_type: &str, data: &str) -> Format {
        match Format::of_type(event_type) {
            Some(format) => format,
            None => of_keys(data).ok().flatten().unwrap_or(Format::ChatCompletions),
        }
    }

    /// The format of a whole (non-streaming) body that only that format's
    /// body reader reads: a Responses API `response` (top-level `"object":
    /// "response"`, read with
    /// [`responses::parse_body`](crate::responses::parse_body)) or an
    /// Anthropic `message` (top-level `"type": "message"`, read with
    /// [`messages::parse_body`](crate::messages::parse_body)). `None` for
    /// anything else, invalid JSON included: the bodies of the other
    /// formats are read as their streams' chunks are.
    pub fn of_body(data: &str) -> Option<Format> {
        body_keys(data).ok().flatten()
    }

    /// The format an event type belongs to, if it is one of the formats'
    /// own.
    fn of_type(event_type: &str) -> Option<Format> {
        if event_type.starts_with("response.") {
            Some(Format::Responses)
        } else if MESSAGES_EVENTS.contains(&event_type) {
            Some(Format::Messages)
        } else {
            None
        }
    }
}

/// The format a JSON object's top-level keys say: its `type`, if it is a
/// string naming one; else Gemini if it has `candidates` and no `choices`.
/// Other values are skipped (syntax only).
fn of_keys(data: &str) -> Scan<Option<Format>> {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Key {
        Type,
        Candidates,
        Choices,
        Done,
        Message,
        Other,
    }
    const KEYS: &[Known<Key>] = &[
        Known::new(b"type", Key::Type),
        Known::new(b"candidates", Key::Candidates),
        Known::new(b"choices", Key::Choices),
        Known::new(b"done", Key::Done),
        Known::new(b"message", Key::Message),
        Known::new(b"response", Key::Message),
    ];
    let mut s = Scanner::new(data);
    if !s.object()? {
        return Ok(None);
    }
    let (mut candidates, mut choices, mut done, mut message) = (false, false, false, false);
    let mut first = true;
    while let Some(key) = s.field(&mut first, KEYS, Key::Other)? {
        match key {
            Key::Type => {
                if let Some(format) = s.str()?.and_then(|t| Format::of_type(&t)) {
                    return Ok(Some(format));
                }
            }
            Key::Candidates => {
                candidates = true;
                s.skip_value()?;
            }
            Key::Choices => {
                choices = true;
                s.skip_value()?;
            }
            Key::Done => done = s.bool()?.is_some(),
            Key::Message => {
                message = true;
                s.skip_value()?;
            }
            Key::Other => s.skip_value()?,
        }
    }
    Ok(if choices {
        None
    } else if candidates {
        Some(Format::Gemini)
    } else if done && message {
        Some(Format::Ollama)
    } else {
        None
    })
}

/// The top-level `object` and `type` of a body, as [`Format::of_body`]
/// reads them: the first key that names a body decides.
fn body_keys(data: &str) -> Scan<Option<Format>> {
    let mut s = Scanner::new(data);
    if !s.object()? {
        return Ok(None);
    }
    let mut first = true;
    while let Some(key) = s.key(&mut first)? {
        let body = match key.as_bytes() {
            b"object" => s.str()?.filter(|o| o == "response").map(|_| Format::Responses),
            b"type" => s.str()?.filter(|t| t == "message").map(|_| Format::Messages),
            _ => {
                s.skip_value()?;
                None
            }
        };
        if body.is_some() {
            return Ok(body);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_type_decides_first() {
        assert_eq!(Format::detect("response.created", "{}"), Format::Responses);
        assert_eq!(Format::detect("message_start", "not json"), Format::Messages);
        assert_eq!(Format::detect("ping", "{}"), Format::Messages);
        assert_eq!(Format::detect("message", r#"{"choices":[]}"#), Format::ChatCompletions);
    }

    #[test]
    fn without_an_event_type_the_data_s_type_decides() {
        let responses = r#"{"sequence_number":0,"type":"response.created","response":{}}"#;
        assert_eq!(Format::detect("message", responses), Format::Responses);
        let messages = r#"{"type":"message_start","message":{"id":"msg_1"}}"#;
        assert_eq!(Format::detect("message", messages), Format::Messages);
        // An error is any format's: chat completions read it.
        let error = r#"{"type":"error","error":{"type":"overloaded_error"}}"#;
        assert_eq!(Format::detect("error", error), Format::ChatCompletions);
        let escaped = r#"{"type":"resp\u006fnse.created"}"#;
        assert_eq!(Format::detect("message", escaped), Format::Responses);
        let gemini = r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}],"modelVersion":"gemini-2.5-flash"}"#;
        assert_eq!(Format::detect("message", gemini), Format::Gemini);
        let ollama =
            r#"{"model":"qwen3","message":{"role":"assistant","content":"Hi"},"done":false}"#;
        assert_eq!(Format::detect("message", ollama), Format::Ollama);
        let generate = r#"{"model":"qwen3","response":"Hi","done":true}"#;
        assert_eq!(Format::detect("message", generate), Format::Ollama);
        for chat in [
            "[DONE]",
            "{",
            r#"{"type":1}"#,
            r#"{"type":"responses"}"#,
            "[1]",
            r#"{"candidates":[],"choices":[]}"#,
            r#"{"message":{},"done":"no"}"#,
        ] {
            assert_eq!(Format::detect("message", chat), Format::ChatCompletions, "{chat}");
        }
    }

    #[test]
    fn bodies_are_told_by_object_or_type() {
        let responses = r#"{"id":"resp_1","object":"response","output":[]}"#;
        assert_eq!(Format::of_body(responses), Some(Format::Responses));
        let messages = r#"{"id":"msg_1","type":"message","content":[]}"#;
        assert_eq!(Format::of_body(messages), Some(Format::Messages));
        // Told by the first key that names it: the body reader then reports
        // what is wrong with the rest.
        assert_eq!(Format::of_body(r#"{"object":"response","#), Some(Format::Responses));
        for other in [
            r#"{"object":"chat.completion","choices":[]}"#,
            r#"{"type":"error","error":{"type":"overloaded_error"}}"#,
            r#"{"type":"message_start","message":{"type":"message"}}"#,
            r#"{"candidates":[]}"#,
            "[1]",
            "not json",
        ] {
            assert_eq!(Format::of_body(other), None, "{other}");
        }
    }

    #[test]
    fn names_round_trip_through_serde() {
        for f in [
            Format::ChatCompletions,
            Format::Responses,
            Format::Messages,
            Format::Gemini,
            Format::Ollama,
        ] {
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
            assert_eq!(serde_json::from_str::<Format>(&json).unwrap(), f);
        }
    }
}
