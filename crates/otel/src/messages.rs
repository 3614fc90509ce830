//! Messages in the GenAI conventions' format (`gen-ai-input-messages.json`,
//! `gen-ai-output-messages.json`): `{role, parts, name?, finish_reason?}`,
//! parts typed `text` / `reasoning` (`content`), `tool_call` (`id`, `name`,
//! `arguments`), `tool_call_response` (`id`, `response`), `blob` / `uri`
//! (`modality`, `mime_type`, `content` / `uri`), and a part of any other
//! type carried by its `type` alone.

use serde_json::{Map, Value, json};
use thinktee_pipeline::Format;

/// What a request body says, as the conventions' attributes want it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputMessages {
    /// `gen_ai.input.messages`: the history, a JSON array of messages.
    pub messages: Option<String>,
    /// `gen_ai.system_instructions`: instructions given apart from the
    /// history, a JSON array of parts.
    pub system_instructions: Option<String>,
}

/// Reads the messages of a request `body` of `format`'s API; what it does
/// not hold (a body of another shape) is `None`:
///
/// | format | history | system instructions |
/// |---|---|---|
/// | chat completions | `messages` (`content` string or parts, `reasoning_content` / `reasoning`, `tool_calls`, role `tool` with `tool_call_id`) | in the history (role `system` / `developer`) |
/// | Responses | `input` (a string, or items: messages, `function_call`, `function_call_output`, `reasoning` summaries) | `instructions` |
/// | Messages | `messages` (`content` string or blocks: `text`, `thinking`, `tool_use`, `tool_result`) | `system` |
/// | Gemini | `contents` (role `model` is `assistant`; parts: `text`, `thought`, `functionCall`, `functionResponse`, `inlineData`, `fileData`) | `systemInstruction` |
/// | Ollama | `messages` (`content`, `thinking`, `tool_calls`, role `tool`) | in the history |
///
/// Instructions given apart from the history go to
/// `gen_ai.system_instructions` (a list of parts), as the conventions ask.
/// Tool-call arguments that are a JSON text become the JSON value; others
/// stay a string.
pub fn input_messages(format: Format, body: &Value) -> InputMessages {
    let (history, system) = match format {
        Format::Responses => {
            (responses_input(body.get("input")), text_parts(body.get("instructions")))
        }
        Format::Messages => {
            (anthropic_messages(body.get("messages")), text_parts(body.get("system")))
        }
        Format::Gemini => {
            let system = body.get("systemInstruction").or_else(|| body.get("system_instruction"));
            (
                gemini_contents(body.get("contents")),
                system.map(gemini_parts).filter(|p| !p.is_empty()),
            )
        }
        Format::Ollama => (ollama_messages(body.get("messages")), None),
        _ => (chat_messages(body.get("messages")), None),
    };
    let text = |parts: Vec<Value>| Value::Array(parts).to_string();
    InputMessages { messages: history.map(text), system_instructions: system.map(text) }
}

/// A message of `role` with `parts`.
fn message(role: &str, parts: Vec<Value>) -> Value {
    json!({"role": role, "parts": parts})
}

fn text(content: &str) -> Value {
    json!({"type": "text", "content": content})
}

fn reasoning(content: &str) -> Value {
    json!({"type": "reasoning", "content": content})
}

/// Arguments as the JSON they spell, or the text itself when they are not JSON.
pub(crate) fn arguments(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

/// A `tool_call` part; `arguments` already a value.
fn tool_call(id: Option<&Value>, name: Option<&Value>, arguments: Value) -> Value {
    let mut part = Map::new();
    part.insert("type".into(), "tool_call".into());
    if let Some(id) = id.filter(|v| !v.is_null()) {
        part.insert("id".into(), id.clone());
    }
    part.insert("name".into(), name.cloned().unwrap_or(Value::Null));
    part.insert("arguments".into(), arguments);
    Value::Object(part)
}

fn tool_call_response(id: Option<&Value>, response: Value) -> Value {
    let mut part = Map::new();
    part.insert("type".into(), "tool_call_response".into());
    if let Some(id) = id.filter(|v| !v.is_null()) {
        part.insert("id".into(), id.clone());
    }
    part.insert("response".into(), response);
    Value::Object(part)
}

/// The modality of a MIME type: `image`, `audio` or `video` (else none).
fn modality(mime: Option<&str>) -> Option<&'static str> {
    let top = mime?.split('/').next()?;
    ["image", "audio", "video"].into_iter().find(|m| top.eq_ignore_ascii_case(m))
}

/// A `blob` or `uri` part.
fn media(kind: &str, mime: Option<&str>, key: &str, value: &Value) -> Value {
    let mut part = Map::new();
    part.insert("type".into(), kind.into());
    if let Some(m) = modality(mime) {
        part.insert("modality".into(), m.into());
    }
    if let Some(mime) = mime {
        part.insert("mime_type".into(), mime.into());
    }
    part.insert(key.into(), value.clone());
    Value::Object(part)
}

/// A part this module does not read: its type alone.
fn other(kind: Option<&Value>) -> Value {
    json!({"type": kind.and_then(Value::as_str).unwrap_or("unknown")})
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A string, or a list of `{type: "text", text}` blocks, as text parts.
fn text_parts(value: Option<&Value>) -> Option<Vec<Value>> {
    let parts: Vec<Value> = match value? {
        Value::String(s) => vec![text(s)],
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.as_str().or_else(|| str_of(b, "text")))
            .map(text)
            .collect(),
        _ => return None,
    };
    Some(parts).filter(|p| !p.is_empty())
}

// === chat completions ===

fn chat_messages(messages: Option<&Value>) -> Option<Vec<Value>> {
    let messages = messages?.as_array()?;
    Some(messages.iter().map(chat_message).collect())
}

fn chat_message(m: &Value) -> Value {
    let role = str_of(m, "role").unwrap_or("user");
    let mut parts = Vec::new();
    if let Some(r) = str_of(m, "reasoning_content").or_else(|| str_of(m, "reasoning")) {
        parts.push(reasoning(r));
    }
    if role == "tool" {
        let response = m.get("content").cloned().unwrap_or(Value::Null);
        parts.push(tool_call_response(m.get("tool_call_id"), response));
    } else {
        match m.get("content") {
            Some(Value::String(s)) => parts.push(text(s)),
            Some(Value::Array(items)) => parts.extend(items.iter().map(chat_part)),
            _ => {}
        }
    }
    for call in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        let function = call.get("function");
        let args = function.and_then(|f| str_of(f, "arguments")).map_or(Value::Null, arguments);
        parts.push(tool_call(call.get("id"), function.and_then(|f| f.get("name")), args));
    }
    let mut out = message(role, parts);
    if let Some(name) = m.get("name").filter(|n| n.is_string()) {
        out["name"] = name.clone();
    }
    out
}

/// One item of a chat message's `content` array.
fn chat_part(item: &Value) -> Value {
    match str_of(item, "type") {
        Some("text") | Some("input_text") => text(str_of(item, "text").unwrap_or_default()),
        Some("refusal") => text(str_of(item, "refusal").unwrap_or_default()),
        Some("image_url") => match item.get("image_url").and_then(|i| i.get("url")) {
            Some(url) => json!({"type": "uri", "modality": "image", "uri": url}),
            None => other(item.get("type")),
        },
        Some("input_audio") => {
            let audio = item.get("input_audio");
            let format = audio.and_then(|a| str_of(a, "format"));
            let data = audio.and_then(|a| a.get("data")).cloned().unwrap_or(Value::Null);
            let mime = format.map(|f| format!("audio/{f}"));
            let mut part = media("blob", mime.as_deref(), "content", &data);
            part["modality"] = "audio".into();
            part
        }
        _ => other(item.get("type")),
    }
}

// === Responses ===

fn responses_input(input: Option<&Value>) -> Option<Vec<Value>> {
    match input? {
        Value::String(s) => Some(vec![message("user", vec![text(s)])]),
        Value::Array(items) => Some(items.iter().map(responses_item).collect()),
        _ => None,
    }
}

fn responses_item(item: &Value) -> Value {
    match str_of(item, "type") {
        Some("function_call" | "custom_tool_call") => {
            let args = str_of(item, "arguments").or_else(|| str_of(item, "input"));
            let call = tool_call(
                item.get("call_id"),
                item.get("name"),
                args.map_or(Value::Null, arguments),
            );
            message("assistant", vec![call])
        }
        Some("function_call_output" | "custom_tool_call_output") => {
            let output = item.get("output").cloned().unwrap_or(Value::Null);
            message("tool", vec![tool_call_response(item.get("call_id"), output)])
        }
        Some("reasoning") => {
            let summary = item.get("summary").and_then(Value::as_array).into_iter().flatten();
            let parts = summary.filter_map(|s| str_of(s, "text")).map(reasoning).collect();
            message("assistant", parts)
        }
        Some("message") | None => {
            let role = str_of(item, "role").unwrap_or("user");
            let parts = match item.get("content") {
                Some(Value::String(s)) => vec![text(s)],
                Some(Value::Array(items)) => items.iter().map(responses_part).collect(),
                _ => Vec::new(),
            };
            message(role, parts)
        }
        Some(_) => message("user", vec![other(item.get("type"))]),
    }
}

fn responses_part(part: &Value) -> Value {
    match str_of(part, "type") {
        Some("input_text" | "output_text" | "text") => {
            text(str_of(part, "text").unwrap_or_default())
        }
        Some("refusal") => text(str_of(part, "refusal").unwrap_or_default()),
        Some("input_image") => match part.get("image_url") {
            Some(url) if url.is_string() => json!({"type": "uri", "modality": "image", "uri": url}),
            _ => other(part.get("type")),
        },
        _ => other(part.get("type")),
    }
}

// === Anthropic Messages ===

fn anthropic_messages(messages: Option<&Value>) -> Option<Vec<Value>> {
    let messages = messages?.as_array()?;
    let one = |m: &Value| {
        let role = str_of(m, "role").unwrap_or("user");
        let parts = match m.get("content") {
            Some(Value::String(s)) => vec![text(s)],
            Some(Value::Array(blocks)) => blocks.iter().filter_map(anthropic_block).collect(),
            _ => Vec::new(),
        };
        message(role, parts)
    };
    Some(messages.iter().map(one).collect())
}

/// One content block; `None` for opaque ones (redacted thinking).
fn anthropic_block(block: &Value) -> Option<Value> {
    Some(match str_of(block, "type") {
        Some("text") => text(str_of(block, "text").unwrap_or_default()),
        Some("thinking") => reasoning(str_of(block, "thinking").unwrap_or_default()),
        Some("redacted_thinking") => return None,
        Some("tool_use" | "server_tool_use" | "mcp_tool_use") => {
            let input = block.get("input").cloned().unwrap_or(Value::Null);
            tool_call(block.get("id"), block.get("name"), input)
        }
        Some("tool_result") => {
            let content = block.get("content").cloned().unwrap_or(Value::Null);
            tool_call_response(block.get("tool_use_id"), content)
        }
        Some("image" | "document") => {
            let source = block.get("source");
            let mime = source.and_then(|s| str_of(s, "media_type"));
            match (source.and_then(|s| s.get("data")), source.and_then(|s| s.get("url"))) {
                (Some(data), _) => media("blob", mime, "content", data),
                (None, Some(url)) => media("uri", mime, "uri", url),
                _ => other(block.get("type")),
            }
        }
        _ => other(block.get("type")),
    })
}

// === Gemini ===

fn gemini_contents(contents: Option<&Value>) -> Option<Vec<Value>> {
    let contents = contents?.as_array()?;
    let one = |c: &Value| {
        let role = match str_of(c, "role") {
            Some("model") => "assistant",
            Some("function") => "tool",
            Some(role) => role,
            None => "user",
        };
        message(role, gemini_parts(c))
    };
    Some(contents.iter().map(one).collect())
}

/// The `parts` of a `Content`.
fn gemini_parts(content: &Value) -> Vec<Value> {
    let parts = content.get("parts").and_then(Value::as_array).into_iter().flatten();
    parts.filter_map(gemini_part).collect()
}

/// One part; `None` for one holding only a thought signature.
fn gemini_part(part: &Value) -> Option<Value> {
    if let Some(t) = str_of(part, "text") {
        let thought = part.get("thought").and_then(Value::as_bool) == Some(true);
        if thought && t.is_empty() {
            return None;
        }
        return Some(if thought { reasoning(t) } else { text(t) });
    }
    if let Some(call) = part.get("functionCall") {
        let args = call.get("args").cloned().unwrap_or(Value::Null);
        return Some(tool_call(call.get("id"), call.get("name"), args));
    }
    if let Some(response) = part.get("functionResponse") {
        let body = response.get("response").cloned().unwrap_or(Value::Null);
        return Some(tool_call_response(response.get("id"), body));
    }
    if let Some(data) = part.get("inlineData") {
        let mime = str_of(data, "mimeType");
        return Some(media("blob", mime, "content", data.get("data").unwrap_or(&Value::Null)));
    }
    if let Some(file) = part.get("fileData") {
        let mime = str_of(file, "mimeType");
        return Some(media("uri", mime, "uri", file.get("fileUri").unwrap_or(&Value::Null)));
    }
    // A part holding only a thought signature says nothing to show.
    let signature_only = part
        .as_object()
        .is_some_and(|o| o.keys().all(|k| matches!(k.as_str(), "thoughtSignature" | "thought")));
    (!signature_only).then(|| json!({"type": "unknown"}))
}

// === Ollama ===

fn ollama_messages(messages: Option<&Value>) -> Option<Vec<Value>> {
    let messages = messages?.as_array()?;
    let one = |m: &Value| {
        let role = str_of(m, "role").unwrap_or("user");
        let mut parts = Vec::new();
        if let Some(t) = str_of(m, "thinking").filter(|t| !t.is_empty()) {
            parts.push(reasoning(t));
        }
        let content = str_of(m, "content").unwrap_or_default();
        if role == "tool" {
            parts.push(tool_call_response(None, content.into()));
        } else if !content.is_empty() {
            parts.push(text(content));
        }
        for call in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let function = call.get("function");
            let args = function.and_then(|f| f.get("arguments")).cloned().unwrap_or(Value::Null);
            parts.push(tool_call(call.get("id"), function.and_then(|f| f.get("name")), args));
        }
        message(role, parts)
    };
    Some(messages.iter().map(one).collect())
}

// === output ===

/// A finish reason of `format` as the output-messages schema's enum
/// (`stop`, `length`, `content_filter`, `tool_call`, `error`) where one
/// fits, else as sent; `tool_calls` says whether the message holds tool
/// calls (Responses and Gemini have no finish reason of their own for
/// them). No reason at all is `error`: the stream did not finish.
pub(crate) fn finish_reason(format: Format, reason: Option<&str>, tool_calls: bool) -> String {
    let Some(reason) = reason else { return "error".to_owned() };
    let mapped = match (format, reason) {
        (_, "tool_calls" | "function_call" | "tool_use") => "tool_call",
        (Format::Messages, "end_turn" | "stop_sequence") => "stop",
        (Format::Messages, "max_tokens") => "length",
        (Format::Messages, "refusal") => "content_filter",
        (Format::Responses, "completed") => "stop",
        (Format::Responses, "max_output_tokens") => "length",
        (Format::Responses, "failed") => "error",
        (Format::Gemini, "STOP") => "stop",
        (Format::Gemini, "MAX_TOKENS") => "length",
        (
            Format::Gemini,
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY",
        ) => "content_filter",
        (Format::Gemini, "MALFORMED_FUNCTION_CALL") => "error",
        (_, other) => other,
    };
    let tool_format = matches!(format, Format::Responses | Format::Gemini);
    if mapped == "stop" && tool_calls && tool_format { "tool_call" } else { mapped }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(format: Format, body: &str) -> (Option<Value>, Option<Value>) {
        let body: Value = serde_json::from_str(body).unwrap();
        let got = input_messages(format, &body);
        let parse = |s: Option<String>| s.map(|s| serde_json::from_str::<Value>(&s).unwrap());
        (parse(got.messages), parse(got.system_instructions))
    }

    #[test]
    fn chat_completions_messages() {
        let body = r#"{"model":"m","messages":[
            {"role":"system","content":"Be brief."},
            {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image_url","image_url":{"url":"https://x/a.png"}}]},
            {"role":"assistant","content":null,"reasoning_content":"Use the tool.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"sunny"},
            {"role":"assistant","name":"bot","content":"Sunny."}]}"#;
        let want = json!([
            {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
            {"role": "user", "parts": [
                {"type": "text", "content": "Weather?"},
                {"type": "uri", "modality": "image", "uri": "https://x/a.png"}]},
            {"role": "assistant", "parts": [
                {"type": "reasoning", "content": "Use the tool."},
                {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}]},
            {"role": "assistant", "name": "bot", "parts": [{"type": "text", "content": "Sunny."}]},
        ]);
        assert_eq!(input(Format::ChatCompletions, body), (Some(want), None));
    }

    #[test]
    fn responses_input_and_instructions() {
        assert_eq!(
            input(Format::Responses, r#"{"input":"hi","instructions":"Be brief."}"#),
            (
                Some(json!([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}])),
                Some(json!([{"type": "text", "content": "Be brief."}])),
            )
        );
        let body = r#"{"input":[
            {"role":"user","content":[{"type":"input_text","text":"Weather?"}]},
            {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Use the tool."}],"encrypted_content":"gAAA"},
            {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
            {"type":"function_call_output","call_id":"call_1","output":"sunny"}]}"#;
        let want = json!([
            {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
            {"role": "assistant", "parts": [{"type": "reasoning", "content": "Use the tool."}]},
            {"role": "assistant", "parts": [
                {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}]},
        ]);
        assert_eq!(input(Format::Responses, body), (Some(want), None));
    }

    #[test]
    fn anthropic_messages_and_system() {
        let body = r#"{"system":[{"type":"text","text":"Be brief."}],"messages":[
            {"role":"user","content":"Weather?"},
            {"role":"assistant","content":[
                {"type":"thinking","thinking":"Use the tool.","signature":"EqQB"},
                {"type":"redacted_thinking","data":"opaque"},
                {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]}"#;
        let want = json!([
            {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
            {"role": "assistant", "parts": [
                {"type": "reasoning", "content": "Use the tool."},
                {"type": "tool_call", "id": "toolu_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"role": "user", "parts": [{"type": "tool_call_response", "id": "toolu_1", "response": "sunny"}]},
        ]);
        let system = json!([{"type": "text", "content": "Be brief."}]);
        assert_eq!(input(Format::Messages, body), (Some(want), Some(system)));
        assert_eq!(
            input(Format::Messages, r#"{"system":"Be brief.","messages":[]}"#).1,
            Some(json!([{"type": "text", "content": "Be brief."}]))
        );
    }

    #[test]
    fn gemini_contents_and_system_instruction() {
        let body = r#"{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[
            {"role":"user","parts":[{"text":"Weather?"},{"inlineData":{"mimeType":"image/png","data":"iVBO"}}]},
            {"role":"model","parts":[{"text":"Use the tool.","thought":true},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"text":"","thought":true,"thoughtSignature":"CiQB"}]},
            {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"sky":"sunny"}}}]}]}"#;
        let want = json!([
            {"role": "user", "parts": [
                {"type": "text", "content": "Weather?"},
                {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBO"}]},
            {"role": "assistant", "parts": [
                {"type": "reasoning", "content": "Use the tool."},
                {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"role": "user", "parts": [{"type": "tool_call_response", "response": {"sky": "sunny"}}]},
        ]);
        let system = json!([{"type": "text", "content": "Be brief."}]);
        assert_eq!(input(Format::Gemini, body), (Some(want), Some(system)));
    }

    #[test]
    fn ollama_messages() {
        let body = r#"{"model":"qwen3","messages":[
            {"role":"user","content":"Weather?"},
            {"role":"assistant","content":"","thinking":"Use the tool.","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
            {"role":"tool","content":"sunny","tool_name":"get_weather"}]}"#;
        let want = json!([
            {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
            {"role": "assistant", "parts": [
                {"type": "reasoning", "content": "Use the tool."},
                {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "response": "sunny"}]},
        ]);
        assert_eq!(input(Format::Ollama, body), (Some(want), None));
    }

    #[test]
    fn bodies_of_another_shape_hold_no_messages() {
        for format in [
            Format::ChatCompletions,
            Format::Responses,
            Format::Messages,
            Format::Gemini,
            Format::Ollama,
        ] {
            assert_eq!(input(format, r#"{"prompt":"hi"}"#), (None, None), "{format:?}");
            assert_eq!(input(format, "[1]"), (None, None), "{format:?}");
        }
    }

    #[test]
    fn finish_reasons_follow_the_output_schema() {
        let cases = [
            (Format::ChatCompletions, Some("tool_calls"), false, "tool_call"),
            (Format::ChatCompletions, Some("function_call"), false, "tool_call"),
            (Format::ChatCompletions, Some("content_filter"), false, "content_filter"),
            (Format::ChatCompletions, None, false, "error"),
            (Format::Messages, Some("end_turn"), false, "stop"),
            (Format::Messages, Some("tool_use"), true, "tool_call"),
            (Format::Messages, Some("max_tokens"), false, "length"),
            (Format::Messages, Some("pause_turn"), false, "pause_turn"),
            (Format::Responses, Some("completed"), false, "stop"),
            (Format::Responses, Some("completed"), true, "tool_call"),
            (Format::Responses, Some("max_output_tokens"), false, "length"),
            (Format::Gemini, Some("STOP"), false, "stop"),
            (Format::Gemini, Some("STOP"), true, "tool_call"),
            (Format::Gemini, Some("SAFETY"), false, "content_filter"),
            (Format::Gemini, Some("MAX_TOKENS"), false, "length"),
            (Format::Ollama, Some("stop"), false, "stop"),
            (Format::Ollama, Some("length"), false, "length"),
        ];
        for (format, reason, tools, want) in cases {
            assert_eq!(finish_reason(format, reason, tools), want, "{format:?} {reason:?}");
        }
    }
}
