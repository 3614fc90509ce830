//! Realistic streams of the OpenAI Responses API, Anthropic Messages,
//! Gemini (`alt=sse`) and Ollama's NDJSON, and what a user writes today to
//! read them: serde_json into owned types shaped like each provider's SDK
//! types.

use crate::{Rng, delta, push_json_string};

/// Generated SSE bytes and what a correct reader must find in them.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The SSE body: streams back to back.
    pub bytes: Vec<u8>,
    /// Number of SSE events.
    pub events: usize,
    /// Number of streams.
    pub streams: usize,
    /// Total bytes of reasoning text.
    pub thinking_bytes: usize,
    /// Total bytes of answer text.
    pub answer_bytes: usize,
}

/// Writes `event: TYPE` / `data: JSON` events.
struct Events {
    bytes: Vec<u8>,
    events: usize,
}

impl Events {
    fn event(&mut self, event_type: &str, data: &[u8]) {
        self.bytes.extend_from_slice(b"event: ");
        self.bytes.extend_from_slice(event_type.as_bytes());
        self.bytes.extend_from_slice(b"\ndata: ");
        self.bytes.extend_from_slice(data);
        self.bytes.extend_from_slice(b"\n\n");
        self.events += 1;
    }
}

/// A JSON string literal of `s`.
fn json(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    push_json_string(&mut out, s);
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

/// Base64-looking opaque bytes (encrypted reasoning, signatures).
fn opaque(rng: &mut Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len).map(|_| ALPHABET[rng.range(0, 63)] as char).collect()
}

/// The reasoning deltas (100 to 700) and answer deltas (30 to 200) of one
/// response, as in [`crate::r1_stream`].
fn texts(rng: &mut Rng) -> (Vec<String>, Vec<String>) {
    let reasoning: Vec<String> = (0..rng.range(100, 700)).map(|_| delta(rng)).collect();
    let answer: Vec<String> = (0..rng.range(30, 200)).map(|_| delta(rng)).collect();
    (reasoning, answer)
}

/// Responses API streams (o4-mini with reasoning summaries) back to back
/// until the body holds at least `target_len` bytes. Each: `created` (the
/// whole request echo), `in_progress`, a reasoning item whose summary comes
/// in 100 to 700 deltas and whose `.done` events repeat it (with 1 KiB of
/// `encrypted_content`), a message item whose text comes in 30 to 200
/// deltas and is repeated by its `.done` events, and `completed` with the
/// whole output again and usage.
pub fn responses_stream(target_len: usize) -> Generated {
    let mut rng = Rng::new(0x5EED_0E5B);
    let mut w = Events { bytes: Vec::with_capacity(target_len + 64 * 1024), events: 0 };
    let (mut streams, mut thinking_bytes, mut answer_bytes) = (0, 0, 0);
    while streams == 0 || w.bytes.len() < target_len {
        streams += 1;
        let id = format!("resp_{:016x}{:016x}", rng.next_u64(), rng.next_u64());
        let rs = format!("rs_{:016x}", rng.next_u64());
        let msg = format!("msg_{:016x}", rng.next_u64());
        let (reasoning, answer) = texts(&mut rng);
        let summary: String = reasoning.concat();
        let text: String = answer.concat();
        thinking_bytes += summary.len();
        answer_bytes += text.len();
        let mut seq = 0;
        let mut next = || {
            seq += 1;
            seq - 1
        };
        let echo = r#""background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"parallel_tool_calls":true,"reasoning":{"effort":"medium","summary":"auto"},"store":true,"temperature":1.0,"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","user":null,"metadata":{}"#;
        for (t, status) in
            [("response.created", "in_progress"), ("response.in_progress", "in_progress")]
        {
            let data = format!(
                r#"{{"type":"{t}","sequence_number":{},"response":{{"id":"{id}","object":"response","created_at":1757500000,"status":"{status}",{echo},"model":"o4-mini-2025-04-16","output":[],"usage":null}}}}"#,
                next()
            );
            w.event(t, data.as_bytes());
        }
        let t = "response.output_item.added";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"output_index":0,"item":{{"id":"{rs}","type":"reasoning","summary":[]}}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        let t = "response.reasoning_summary_part.added";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"item_id":"{rs}","output_index":0,"summary_index":0,"part":{{"type":"summary_text","text":""}}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        for piece in &reasoning {
            let t = "response.reasoning_summary_text.delta";
            let len = rng.range(1, 12);
            let obfuscation = opaque(&mut rng, len);
            let data = format!(
                r#"{{"type":"{t}","sequence_number":{},"item_id":"{rs}","output_index":0,"summary_index":0,"delta":{},"obfuscation":"{obfuscation}"}}"#,
                next(),
                json(piece)
            );
            w.event(t, data.as_bytes());
        }
        let summary_json = json(&summary);
        let t = "response.reasoning_summary_text.done";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"item_id":"{rs}","output_index":0,"summary_index":0,"text":{summary_json}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        let t = "response.reasoning_summary_part.done";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"item_id":"{rs}","output_index":0,"summary_index":0,"part":{{"type":"summary_text","text":{summary_json}}}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        let encrypted = opaque(&mut rng, 1024);
        let reasoning_item = format!(
            r#"{{"id":"{rs}","type":"reasoning","encrypted_content":"{encrypted}","summary":[{{"type":"summary_text","text":{summary_json}}}]}}"#
        );
        let t = "response.output_item.done";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"output_index":0,"item":{reasoning_item}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        let t = "response.output_item.added";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"output_index":1,"item":{{"id":"{msg}","type":"message","status":"in_progress","content":[],"role":"assistant"}}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        let t = "response.content_part.added";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"item_id":"{msg}","output_index":1,"content_index":0,"part":{{"type":"output_text","annotations":[],"logprobs":[],"text":""}}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        for piece in &answer {
            let t = "response.output_text.delta";
            let len = rng.range(1, 12);
            let obfuscation = opaque(&mut rng, len);
            let data = format!(
                r#"{{"type":"{t}","sequence_number":{},"item_id":"{msg}","output_index":1,"content_index":0,"delta":{},"logprobs":[],"obfuscation":"{obfuscation}"}}"#,
                next(),
                json(piece)
            );
            w.event(t, data.as_bytes());
        }
        let text_json = json(&text);
        let t = "response.output_text.done";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"item_id":"{msg}","output_index":1,"content_index":0,"text":{text_json},"logprobs":[]}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        let part = format!(
            r#"{{"type":"output_text","annotations":[],"logprobs":[],"text":{text_json}}}"#
        );
        let t = "response.content_part.done";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"item_id":"{msg}","output_index":1,"content_index":0,"part":{part}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        let message_item = format!(
            r#"{{"id":"{msg}","type":"message","status":"completed","content":[{part}],"role":"assistant"}}"#
        );
        let t = "response.output_item.done";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"output_index":1,"item":{message_item}}}"#,
            next()
        );
        w.event(t, data.as_bytes());
        let (r, a) = (reasoning.len() * 3, answer.len() * 3);
        let t = "response.completed";
        let data = format!(
            r#"{{"type":"{t}","sequence_number":{},"response":{{"id":"{id}","object":"response","created_at":1757500000,"status":"completed",{echo},"model":"o4-mini-2025-04-16","output":[{reasoning_item},{message_item}],"usage":{{"input_tokens":61,"input_tokens_details":{{"cached_tokens":0}},"output_tokens":{},"output_tokens_details":{{"reasoning_tokens":{r}}},"total_tokens":{}}}}}}}"#,
            next(),
            r + a,
            61 + r + a
        );
        w.event(t, data.as_bytes());
    }
    Generated { bytes: w.bytes, events: w.events, streams, thinking_bytes, answer_bytes }
}

/// Anthropic Messages streams (extended thinking) back to back until the
/// body holds at least `target_len` bytes. Each: `message_start`, `ping`, a
/// thinking block of 100 to 700 `thinking_delta`s and its `signature_delta`,
/// a text block of 30 to 200 `text_delta`s, `message_delta` with the stop
/// reason and usage, `message_stop`.
pub fn messages_stream(target_len: usize) -> Generated {
    let mut rng = Rng::new(0x5EED_A7C0);
    let mut w = Events { bytes: Vec::with_capacity(target_len + 64 * 1024), events: 0 };
    let (mut streams, mut thinking_bytes, mut answer_bytes) = (0, 0, 0);
    while streams == 0 || w.bytes.len() < target_len {
        streams += 1;
        let id = format!("msg_01{}", opaque(&mut rng, 22).replace(['+', '/'], "x"));
        let (reasoning, answer) = texts(&mut rng);
        thinking_bytes += reasoning.iter().map(String::len).sum::<usize>();
        answer_bytes += answer.iter().map(String::len).sum::<usize>();
        let data = format!(
            r#"{{"type":"message_start","message":{{"id":"{id}","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}}}}}"#
        );
        w.event("message_start", data.as_bytes());
        w.event("ping", br#"{"type": "ping"}"#);
        w.event(
            "content_block_start",
            br#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
        );
        for piece in &reasoning {
            let data = format!(
                r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"thinking_delta","thinking":{}}}}}"#,
                json(piece)
            );
            w.event("content_block_delta", data.as_bytes());
        }
        let data = format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"signature_delta","signature":"{}"}}}}"#,
            opaque(&mut rng, 344)
        );
        w.event("content_block_delta", data.as_bytes());
        w.event("content_block_stop", br#"{"type":"content_block_stop","index":0}"#);
        w.event(
            "content_block_start",
            br#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
        );
        for piece in &answer {
            let data = format!(
                r#"{{"type":"content_block_delta","index":1,"delta":{{"type":"text_delta","text":{}}}}}"#,
                json(piece)
            );
            w.event("content_block_delta", data.as_bytes());
        }
        w.event("content_block_stop", br#"{"type":"content_block_stop","index":1}"#);
        let data = format!(
            r#"{{"type":"message_delta","delta":{{"stop_reason":"end_turn","stop_sequence":null}},"usage":{{"output_tokens":{}}}}}"#,
            (reasoning.len() + answer.len()) * 3
        );
        w.event("message_delta", data.as_bytes());
        w.event("message_stop", br#"{"type":"message_stop"}"#);
    }
    Generated { bytes: w.bytes, events: w.events, streams, thinking_bytes, answer_bytes }
}

/// Gemini `streamGenerateContent?alt=sse` streams (gemini-2.5-flash with
/// thought summaries) back to back until the body holds at least
/// `target_len` bytes. Each: 100 to 700 chunks whose one part is a thought
/// (`"thought": true`), then 30 to 200 chunks of answer text, the first
/// with a `thoughtSignature`, the last with `finishReason`; every chunk
/// with `usageMetadata`, `modelVersion` and `responseId`, CRLF framing and
/// no `[DONE]` (FORMATS-MORE §3). The JSON is spaced as Google sends it.
pub fn gemini_stream(target_len: usize) -> Generated {
    let mut rng = Rng::new(0x5EED_6E31);
    let mut bytes = Vec::with_capacity(target_len + 64 * 1024);
    let (mut events, mut streams, mut thinking_bytes, mut answer_bytes) = (0, 0, 0, 0);
    while streams == 0 || bytes.len() < target_len {
        streams += 1;
        let id = opaque(&mut rng, 22).replace(['+', '/'], "x");
        let (reasoning, answer) = texts(&mut rng);
        thinking_bytes += reasoning.iter().map(String::len).sum::<usize>();
        answer_bytes += answer.iter().map(String::len).sum::<usize>();
        let thoughts = reasoning.len() * 3;
        let signature = opaque(&mut rng, 344);
        let mut chunk = |part: String, candidates: usize, finish: &str| {
            let usage = if candidates == 0 {
                format!(
                    r#""promptTokenCount": 52,"totalTokenCount": {},"promptTokensDetails": [{{"modality": "TEXT","tokenCount": 52}}],"thoughtsTokenCount": {thoughts}"#,
                    52 + thoughts
                )
            } else {
                format!(
                    r#""promptTokenCount": 52,"candidatesTokenCount": {candidates},"totalTokenCount": {},"promptTokensDetails": [{{"modality": "TEXT","tokenCount": 52}}],"thoughtsTokenCount": {thoughts}"#,
                    52 + thoughts + candidates
                )
            };
            let data = format!(
                r#"{{"candidates": [{{"content": {{"parts": [{part}],"role": "model"}},{finish}"index": 0}}],"usageMetadata": {{{usage}}},"modelVersion": "gemini-2.5-flash","responseId": "{id}"}}"#
            );
            bytes.extend_from_slice(b"data: ");
            bytes.extend_from_slice(data.as_bytes());
            bytes.extend_from_slice(b"\r\n\r\n");
            events += 1;
        };
        for piece in &reasoning {
            chunk(format!(r#"{{"text": {},"thought": true}}"#, json(piece)), 0, "");
        }
        for (i, piece) in answer.iter().enumerate() {
            let part = if i == 0 {
                format!(r#"{{"text": {},"thoughtSignature": "{signature}"}}"#, json(piece))
            } else {
                format!(r#"{{"text": {}}}"#, json(piece))
            };
            let finish = if i + 1 == answer.len() { r#""finishReason": "STOP","# } else { "" };
            chunk(part, (i + 1) * 3, finish);
        }
    }
    Generated { bytes, events, streams, thinking_bytes, answer_bytes }
}

/// Ollama `/api/chat` NDJSON streams (a thinking model, `"think": true`)
/// back to back until the body holds at least `target_len` bytes. Each:
/// 100 to 700 lines with `message.thinking`, 30 to 200 lines with
/// `message.content`, then the `"done": true` line with `done_reason`
/// and the counts and durations (FORMATS-MORE §5). One object per line,
/// compact, as Ollama writes them.
pub fn ollama_stream(target_len: usize) -> Generated {
    let mut rng = Rng::new(0x5EED_011A);
    let mut bytes = Vec::with_capacity(target_len + 64 * 1024);
    let (mut events, mut streams, mut thinking_bytes, mut answer_bytes) = (0, 0, 0, 0);
    while streams == 0 || bytes.len() < target_len {
        streams += 1;
        let (reasoning, answer) = texts(&mut rng);
        thinking_bytes += reasoning.iter().map(String::len).sum::<usize>();
        answer_bytes += answer.iter().map(String::len).sum::<usize>();
        let mut nanos = rng.range(0, 999_999_999);
        let mut line = |message: String, tail: &str| {
            nanos = (nanos + 23_456_789) % 1_000_000_000;
            let data = format!(
                r#"{{"model":"qwen3:8b","created_at":"2025-09-10T12:00:01.{nanos:09}Z","message":{message},{tail}}}"#
            );
            bytes.extend_from_slice(data.as_bytes());
            bytes.push(b'\n');
            events += 1;
        };
        for piece in &reasoning {
            line(
                format!(r#"{{"role":"assistant","content":"","thinking":{}}}"#, json(piece)),
                r#""done":false"#,
            );
        }
        for piece in &answer {
            line(format!(r#"{{"role":"assistant","content":{}}}"#, json(piece)), r#""done":false"#);
        }
        let tail = format!(
            r#""done_reason":"stop","done":true,"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":{},"eval_duration":4535599000"#,
            (reasoning.len() + answer.len()) * 3
        );
        line(r#"{"role":"assistant","content":""}"#.to_owned(), &tail);
    }
    Generated { bytes, events, streams, thinking_bytes, answer_bytes }
}

/// What a user writes today for the Responses API: the stream events as
/// owned types shaped like async-openai's `ResponseStreamEvent` (an enum
/// internally tagged by `type`, one struct per event, `String` fields, the
/// `response` and items whole), read with serde_json.
pub mod responses_today {
    #![allow(missing_docs)]

    use serde::Deserialize;

    /// One event.
    #[derive(Debug, Deserialize)]
    #[serde(tag = "type")]
    pub enum ResponseStreamEvent {
        #[serde(rename = "response.created")]
        Created { sequence_number: u64, response: Response },
        #[serde(rename = "response.in_progress")]
        InProgress { sequence_number: u64, response: Response },
        #[serde(rename = "response.completed")]
        Completed { sequence_number: u64, response: Response },
        #[serde(rename = "response.output_item.added")]
        OutputItemAdded { sequence_number: u64, output_index: u32, item: OutputItem },
        #[serde(rename = "response.output_item.done")]
        OutputItemDone { sequence_number: u64, output_index: u32, item: OutputItem },
        #[serde(rename = "response.content_part.added")]
        ContentPartAdded {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            content_index: u32,
            part: Content,
        },
        #[serde(rename = "response.content_part.done")]
        ContentPartDone {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            content_index: u32,
            part: Content,
        },
        #[serde(rename = "response.reasoning_summary_part.added")]
        SummaryPartAdded {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            summary_index: u32,
            part: Summary,
        },
        #[serde(rename = "response.reasoning_summary_part.done")]
        SummaryPartDone {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            summary_index: u32,
            part: Summary,
        },
        #[serde(rename = "response.reasoning_summary_text.delta")]
        SummaryTextDelta {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            summary_index: u32,
            delta: String,
            obfuscation: Option<String>,
        },
        #[serde(rename = "response.reasoning_summary_text.done")]
        SummaryTextDone {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            summary_index: u32,
            text: String,
        },
        #[serde(rename = "response.output_text.delta")]
        OutputTextDelta {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            content_index: u32,
            delta: String,
            obfuscation: Option<String>,
        },
        #[serde(rename = "response.output_text.done")]
        OutputTextDone {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            content_index: u32,
            text: String,
        },
        #[serde(rename = "response.function_call_arguments.delta")]
        FunctionCallArgumentsDelta {
            sequence_number: u64,
            item_id: String,
            output_index: u32,
            delta: String,
        },
        #[serde(rename = "error")]
        Error { code: Option<String>, message: String, param: Option<String> },
        #[serde(other)]
        Other,
    }

    /// The response object.
    #[derive(Debug, Deserialize)]
    pub struct Response {
        pub id: String,
        pub object: String,
        pub created_at: u64,
        pub status: String,
        pub model: String,
        pub output: Vec<OutputItem>,
        pub usage: Option<Usage>,
        pub instructions: Option<String>,
        pub max_output_tokens: Option<u32>,
        pub parallel_tool_calls: Option<bool>,
        pub temperature: Option<f32>,
        pub top_p: Option<f32>,
    }

    /// One output item.
    #[derive(Debug, Deserialize)]
    #[serde(tag = "type")]
    pub enum OutputItem {
        #[serde(rename = "reasoning")]
        Reasoning { id: String, summary: Vec<Summary>, encrypted_content: Option<String> },
        #[serde(rename = "message")]
        Message { id: String, role: String, status: String, content: Vec<Content> },
        #[serde(rename = "function_call")]
        FunctionCall { id: String, call_id: String, name: String, arguments: String },
    }

    /// A summary part.
    #[derive(Debug, Deserialize)]
    pub struct Summary {
        pub text: String,
    }

    /// A content part.
    #[derive(Debug, Deserialize)]
    #[serde(tag = "type")]
    pub enum Content {
        #[serde(rename = "output_text")]
        OutputText { text: String },
        #[serde(rename = "refusal")]
        Refusal { refusal: String },
    }

    /// Token counts.
    #[derive(Debug, Deserialize)]
    pub struct Usage {
        pub input_tokens: u64,
        pub output_tokens: u64,
        pub total_tokens: u64,
        pub output_tokens_details: Option<OutputTokensDetails>,
    }

    /// Output token details.
    #[derive(Debug, Deserialize)]
    pub struct OutputTokensDetails {
        pub reasoning_tokens: u64,
    }
}

/// What a user writes today for Anthropic Messages: the stream events as
/// owned types shaped like the Anthropic SDKs' `MessageStreamEvent` (enums
/// internally tagged by `type` for events, blocks and deltas; `String`
/// fields; a tool's `input` as a `serde_json::Value`), read with
/// serde_json.
pub mod messages_today {
    #![allow(missing_docs)]

    use serde::Deserialize;

    /// One event.
    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum MessageStreamEvent {
        MessageStart { message: Message },
        ContentBlockStart { index: u32, content_block: ContentBlock },
        ContentBlockDelta { index: u32, delta: ContentBlockDelta },
        ContentBlockStop { index: u32 },
        MessageDelta { delta: MessageDeltaBody, usage: Usage },
        MessageStop,
        Ping,
        Error { error: ApiError },
    }

    /// `message_start`'s message.
    #[derive(Debug, Deserialize)]
    pub struct Message {
        pub id: String,
        pub role: String,
        pub model: String,
        pub content: Vec<ContentBlock>,
        pub stop_reason: Option<String>,
        pub stop_sequence: Option<String>,
        pub usage: Usage,
    }

    /// A content block.
    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ContentBlock {
        Text { text: String },
        Thinking { thinking: String, signature: Option<String> },
        RedactedThinking { data: String },
        ToolUse { id: String, name: String, input: serde_json::Value },
    }

    /// A block's delta.
    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ContentBlockDelta {
        TextDelta { text: String },
        ThinkingDelta { thinking: String },
        SignatureDelta { signature: String },
        InputJsonDelta { partial_json: String },
    }

    /// `message_delta`'s delta.
    #[derive(Debug, Deserialize)]
    pub struct MessageDeltaBody {
        pub stop_reason: Option<String>,
        pub stop_sequence: Option<String>,
    }

    /// Token counts.
    #[derive(Debug, Deserialize)]
    pub struct Usage {
        pub input_tokens: Option<u64>,
        pub output_tokens: u64,
        pub cache_creation_input_tokens: Option<u64>,
        pub cache_read_input_tokens: Option<u64>,
    }

    /// An error event's error.
    #[derive(Debug, Deserialize)]
    pub struct ApiError {
        #[serde(rename = "type")]
        pub kind: String,
        pub message: String,
    }
}

/// What a user writes today for Gemini: each chunk as an owned
/// `GenerateContentResponse` shaped like the google-genai SDKs' (and the
/// Rust crates that copy them): `camelCase` fields, every field optional,
/// a `Part` a struct of optional `text`, `thought`, `thoughtSignature`,
/// `functionCall` (its `args` a `serde_json::Value`), read with serde_json.
pub mod gemini_today {
    #![allow(missing_docs)]

    use serde::Deserialize;

    /// One chunk of the stream (or a whole response).
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GenerateContentResponse {
        #[serde(default)]
        pub candidates: Vec<Candidate>,
        pub prompt_feedback: Option<PromptFeedback>,
        pub usage_metadata: Option<UsageMetadata>,
        pub model_version: Option<String>,
        pub response_id: Option<String>,
    }

    /// One candidate.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Candidate {
        pub content: Option<Content>,
        pub finish_reason: Option<String>,
        pub index: Option<u32>,
        pub safety_ratings: Option<Vec<SafetyRating>>,
    }

    /// A candidate's content.
    #[derive(Debug, Deserialize)]
    pub struct Content {
        #[serde(default)]
        pub parts: Vec<Part>,
        pub role: Option<String>,
    }

    /// One part: text (a thought summary when `thought`), or a call.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Part {
        pub text: Option<String>,
        pub thought: Option<bool>,
        pub thought_signature: Option<String>,
        pub function_call: Option<FunctionCall>,
    }

    /// A tool call.
    #[derive(Debug, Deserialize)]
    pub struct FunctionCall {
        pub id: Option<String>,
        pub name: String,
        pub args: Option<serde_json::Value>,
    }

    /// Token counts; thoughts are outside candidates.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct UsageMetadata {
        pub prompt_token_count: Option<u32>,
        pub candidates_token_count: Option<u32>,
        pub thoughts_token_count: Option<u32>,
        pub cached_content_token_count: Option<u32>,
        pub total_token_count: Option<u32>,
    }

    /// Why a prompt was blocked.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PromptFeedback {
        pub block_reason: Option<String>,
    }

    /// A safety rating.
    #[derive(Debug, Deserialize)]
    pub struct SafetyRating {
        pub category: String,
        pub probability: String,
    }
}

/// What a user writes today for Ollama: each line as an owned
/// `ChatResponse` shaped like ollama-rs's `ChatMessageResponse` (model,
/// `created_at` as a `String`, the message with `role`, `content`,
/// `thinking` and `tool_calls`, `done`), read with serde_json. ollama-rs
/// puts the final counts in a `#[serde(flatten)] Option<…>`, which makes
/// serde buffer every line into a map first; they are plain optional
/// fields here, as a user writing the type by hand would, and faster.
pub mod ollama_today {
    #![allow(missing_docs)]

    use serde::Deserialize;

    /// One line.
    #[derive(Debug, Deserialize)]
    pub struct ChatResponse {
        pub model: String,
        pub created_at: String,
        pub message: Option<Message>,
        pub done: bool,
        pub done_reason: Option<String>,
        pub total_duration: Option<u64>,
        pub load_duration: Option<u64>,
        pub prompt_eval_count: Option<u64>,
        pub prompt_eval_duration: Option<u64>,
        pub eval_count: Option<u64>,
        pub eval_duration: Option<u64>,
    }

    /// The message of a line.
    #[derive(Debug, Deserialize)]
    pub struct Message {
        pub role: Role,
        pub content: String,
        pub thinking: Option<String>,
        #[serde(default)]
        pub tool_calls: Vec<ToolCall>,
    }

    /// Who wrote a message.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Role {
        User,
        Assistant,
        System,
        Tool,
    }

    /// A tool call.
    #[derive(Debug, Deserialize)]
    pub struct ToolCall {
        pub function: Function,
    }

    /// A called function.
    #[derive(Debug, Deserialize)]
    pub struct Function {
        pub name: String,
        pub arguments: serde_json::Value,
    }
}
