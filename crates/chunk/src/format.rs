//! [`Format`]: which API a stream speaks, told from its first event.

use std::borrow::Cow;

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
    /// The name in records: `chat.completions`, `responses` or `messages`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::ChatCompletions => "chat.completions",
            Format::Responses => "responses",
            Format::Messages => "messages",
        }
    }

    /// The format of a stream whose first event has this SSE event type
    /// and data.
    ///
    /// The event type decides when it names an event of one of the formats
    /// (`response.*`, or a Messages event such as `message_start`);
    /// otherwise (`message`, the default, or `error`) the data's top-level
    /// `type` does, the same way, for streams whose `event:` lines were
    /// dropped on the way. Anything else, invalid JSON included, is chat
    /// completions (whose reader reports what is wrong with it).
    pub fn detect(event_type: &str, data: &str) -> Format {
        match Format::of_type(event_type) {
            Some(format) => format,
            None => top_level_type(data)
                .ok()
                .flatten()
                .and_then(|t| Format::of_type(&t))
                .unwrap_or(Format::ChatCompletions),
        }
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

/// The top-level `type` of a JSON object, if it is a string; other keys
/// are skipped (syntax only) until it is found.
fn top_level_type(data: &str) -> Scan<Option<Cow<'_, str>>> {
    const TYPE: &[Known<bool>] = &[Known::new(b"type", true)];
    let mut s = Scanner::new(data);
    if !s.object()? {
        return Ok(None);
    }
    let mut first = true;
    while let Some(is_type) = s.field(&mut first, TYPE, false)? {
        if is_type {
            return s.str();
        }
        s.skip_value()?;
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
        for chat in ["[DONE]", "{", r#"{"type":1}"#, r#"{"type":"responses"}"#, "[1]"] {
            assert_eq!(Format::detect("message", chat), Format::ChatCompletions, "{chat}");
        }
    }

    #[test]
    fn names_round_trip_through_serde() {
        for f in [Format::ChatCompletions, Format::Responses, Format::Messages] {
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
            assert_eq!(serde_json::from_str::<Format>(&json).unwrap(), f);
        }
    }
}
