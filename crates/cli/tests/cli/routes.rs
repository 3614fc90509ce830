//! `thinktee proxy` records the Responses, Messages and Gemini APIs as it
//! records chat completions: the same forwarding, transcript records
//! with their `format`, Prometheus routes by template (issue 16).
//!
//! The streams are written by hand from FORMATS-MORE (§1 Responses, §2
//! Messages, §3 Gemini), and so are the values expected of them.

use serde_json::{Value, json};

use crate::ops::{free_addr, scrape, value};
use crate::replay::{Running, post, scratch};
use crate::support::{self, json_lines};

const RESPONSES: &str = "event: response.created\n\
data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"o4-mini\",\"status\":\"in_progress\"},\"sequence_number\":0}\n\n\
event: response.output_item.added\n\
data: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[]},\"sequence_number\":1}\n\n\
event: response.reasoning_summary_text.delta\n\
data: {\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_1\",\"output_index\":0,\"summary_index\":0,\"delta\":\"Compare the\",\"sequence_number\":2}\n\n\
event: response.output_text.delta\n\
data: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\"9.8\",\"sequence_number\":3}\n\n\
event: response.completed\n\
data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"model\":\"o4-mini\",\"status\":\"completed\",\"usage\":{\"input_tokens\":7,\"output_tokens\":5,\"output_tokens_details\":{\"reasoning_tokens\":2},\"total_tokens\":12}},\"sequence_number\":4}\n\n";

const MESSAGES: &str = "event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n\
event: content_block_start\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Paris weather?\"}}\n\n\
event: content_block_stop\n\
data: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\n\
data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Sunny.\"}}\n\n\
event: content_block_stop\n\
data: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: message_delta\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":6}}\n\n\
event: message_stop\n\
data: {\"type\":\"message_stop\"}\n\n";

/// The two chunks of every Gemini answer: a thought, then the answer.
const GEMINI_1: &str = r#"{"candidates":[{"content":{"parts":[{"text":"Compare","thought":true}],"role":"model"},"index":0}],"responseId":"g-1","modelVersion":"gemini-2.5-flash"}"#;
const GEMINI_2: &str = r#"{"candidates":[{"content":{"parts":[{"text":"9.8"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"thoughtsTokenCount":3,"totalTokenCount":9}}"#;
/// `generateContent`: both in one body.
const GEMINI_WHOLE: &str = r#"{"candidates":[{"content":{"parts":[{"text":"Compare","thought":true},{"text":"9.8"}],"role":"model"},"finishReason":"STOP","index":0}],"responseId":"g-1","modelVersion":"gemini-2.5-flash"}"#;

/// What the fake upstream answers a path with: (content type, body).
fn answer(path: &str) -> (&'static str, String) {
    if path.ends_with("/responses") {
        ("text/event-stream", RESPONSES.to_owned())
    } else if path.ends_with("/messages") {
        ("text/event-stream", MESSAGES.to_owned())
    } else if path.ends_with(":streamGenerateContent?alt=sse") {
        // Gemini frames with CRLF.
        ("text/event-stream", format!("data: {GEMINI_1}\r\n\r\ndata: {GEMINI_2}\r\n\r\n"))
    } else if path.contains(":streamGenerateContent") {
        // Without alt=sse: one JSON array of the chunks.
        ("application/json", format!("[{GEMINI_1}\n,\r\n{GEMINI_2}\n]"))
    } else {
        ("application/json", GEMINI_WHOLE.to_owned())
    }
}

/// An upstream answering by path ([`answer`]).
fn upstream() -> String {
    support::upstream(|head| {
        let path = head.split(' ').nth(1).unwrap_or("/");
        let (content_type, body) = answer(path);
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nconnection: close\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        )
    })
}

const GEMINI_SSE: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const GEMINI_ARRAY: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
const GEMINI_WHOLE_PATH: &str = "/v1beta/models/gemini-2.5-flash:generateContent";

#[test]
fn responses_messages_and_gemini_are_recorded_like_chat_completions() {
    let dir = scratch("routes");
    let transcripts = dir.join("t");
    let admin = free_addr();
    let url = upstream();
    let p = Running::start(&[
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &url,
        "--transcripts",
        transcripts.to_str().unwrap(),
        "--admin-listen",
        &admin,
        // Chat completions only: the other APIs' bytes pass untouched.
        "--normalize",
        "reasoning_content",
    ]);
    let requests = [
        ("/v1/responses", r#"{"model":"o4-mini","stream":true,"input":"hi"}"#),
        ("/v1/messages", r#"{"model":"claude-x","stream":true,"messages":[]}"#),
        (GEMINI_SSE, r#"{"contents":[]}"#),
        (GEMINI_ARRAY, r#"{"contents":[]}"#),
        (GEMINI_WHOLE_PATH, r#"{"contents":[]}"#),
    ];
    for (path, body) in requests {
        let reply = post(&p.addr, path, &[], body);
        assert_eq!(reply.status, 200, "{path}");
        // Forwarded byte for byte (the normalizer would have re-framed
        // Gemini's CRLF events).
        assert_eq!(String::from_utf8_lossy(&reply.body), answer(path).1, "{path}");
    }
    // Gemini's model is in the path: more models than the label cap (64)
    // leave the rest under `_other`, and the path never becomes a label.
    for i in 0..70 {
        let path = format!("/v1beta/models/tuned-{i}:generateContent");
        assert_eq!(post(&p.addr, &path, &[], "{}").status, 200);
    }
    let samples = scrape(&admin);
    let requests = |route: &str, model: &str| {
        value(&samples, "thinktee_requests_total", &[("route", route), ("model", model)])
    };
    assert_eq!(requests("/responses", "o4-mini"), 1.0);
    assert_eq!(requests("/messages", "claude-x"), 1.0);
    // Templates without braces: some exposition parsers (this test's)
    // trip on `{` inside label values.
    let stream = "/models/*:streamGenerateContent";
    let whole = "/models/*:generateContent";
    assert_eq!(requests(stream, "gemini-2.5-flash"), 2.0);
    assert_eq!(requests(whole, "gemini-2.5-flash"), 1.0);
    // 64 distinct models: o4-mini, claude-x, gemini-2.5-flash and 61 tuned ones.
    assert_eq!(requests(whole, "_other"), 9.0);
    let models: std::collections::BTreeSet<&str> = samples
        .iter()
        .filter(|s| s.metric == "thinktee_requests_total")
        .filter_map(|s| s.labels.get("model"))
        .collect();
    assert_eq!(models.len(), 65, "64 models and _other: {models:?}");
    assert!(
        !samples.iter().any(|s| s.labels.values().any(|v| v.contains("v1beta"))),
        "raw paths are never labels"
    );
    assert!(p.terminate().success());

    let lines = json_lines(&std::fs::read(transcripts.join("transcripts.jsonl")).unwrap());
    assert_eq!(lines.len(), 75, "every call leaves a record");
    // Lines are written as streams end (each is parsed on the pool), not
    // in request order: the five of the first requests, in their order.
    let paths = ["/v1/responses", "/v1/messages", GEMINI_SSE, GEMINI_ARRAY, GEMINI_WHOLE_PATH];
    let at = |l: &Value| paths.iter().position(|p| l["request"]["path"] == *p);
    let mut recorded: Vec<&Value> = lines.iter().filter(|l| at(l).is_some()).collect();
    recorded.sort_by_key(|l| at(l));
    let pick = |l: &Value| {
        json!({
            "path": l["request"]["path"],
            "format": l["format"],
            "id": l["id"],
            "model": l["model"],
            "reasoning": l["reasoning"],
            "content": l["content"],
            "finish_reason": l["finish_reason"],
            "done": l["done"],
        })
    };
    let gemini = |path: &str| {
        json!({
            "path": path, "format": "gemini", "id": "g-1", "model": "gemini-2.5-flash",
            "reasoning": "Compare", "content": "9.8", "finish_reason": "STOP", "done": true,
        })
    };
    let want = [
        json!({
            "path": "/v1/responses", "format": "responses", "id": "resp_1", "model": "o4-mini",
            "reasoning": "Compare the", "content": "9.8", "finish_reason": "completed",
            "done": true,
        }),
        json!({
            "path": "/v1/messages", "format": "messages", "id": "msg_1", "model": "claude-x",
            "reasoning": "Paris weather?", "content": "Sunny.", "finish_reason": "end_turn",
            "done": true,
        }),
        gemini(GEMINI_SSE),
        gemini(GEMINI_ARRAY),
        gemini(GEMINI_WHOLE_PATH),
    ];
    let got: Vec<Value> = recorded.iter().map(|l| pick(l)).collect();
    assert_eq!(got, want);
    // The Gemini requests carry the model of their path.
    assert_eq!(recorded[2]["request"]["model"], "gemini-2.5-flash");
}

/// A Messages request with instructions apart and a tool round trip.
const MESSAGES_REQUEST: &str = r#"{"model":"claude-x","stream":true,"system":"Be brief.","messages":[
    {"role":"user","content":"Weather in Paris?"},
    {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]}"#;

/// A Gemini request: history in `contents`, the model in the path.
const GEMINI_REQUEST: &str = r#"{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Which is larger?"}]}]}"#;

#[test]
fn exported_spans_carry_the_provider_and_messages_of_each_api() {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Pv;
    let (otlp, exported) = crate::ops::otlp_receiver();
    let url = upstream();
    let p = Running::start(&[
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &url,
        "--otlp-endpoint",
        &otlp,
        "--otlp-protocol",
        "http",
        "--capture-content",
    ]);
    assert_eq!(post(&p.addr, "/v1/messages", &[], MESSAGES_REQUEST).status, 200);
    assert_eq!(post(&p.addr, GEMINI_SSE, &[], GEMINI_REQUEST).status, 200);
    assert!(p.terminate().success());

    let spans: Vec<_> = exported.try_iter().flatten().collect();
    let span = |name: &str| {
        spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"))
    };
    // The span's attributes and those of its details event, as text.
    let attrs = |name: &str| {
        let s = span(name);
        let event = s.events.iter().find(|e| e.name == "gen_ai.client.inference.operation.details");
        let all = s.attributes.iter().chain(event.into_iter().flat_map(|e| &e.attributes));
        all.filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Pv::StringValue(v) => Some((kv.key.clone(), v.clone())),
            _ => None,
        })
        .collect::<std::collections::BTreeMap<String, String>>()
    };
    let json = |s: &str| serde_json::from_str::<Value>(s).unwrap();

    let claude = attrs("chat claude-x");
    // The upstream is 127.0.0.1: the API names the provider.
    assert_eq!(claude["gen_ai.provider.name"], "anthropic");
    assert_eq!(
        json(&claude["gen_ai.input.messages"]),
        json!([
            {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
            {"role": "assistant", "parts": [
                {"type": "tool_call", "id": "toolu_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"role": "user", "parts": [{"type": "tool_call_response", "id": "toolu_1", "response": "sunny"}]},
        ])
    );
    assert_eq!(
        json(&claude["gen_ai.system_instructions"]),
        json!([{"type": "text", "content": "Be brief."}])
    );
    assert_eq!(
        json(&claude["gen_ai.output.messages"]),
        json!([{"role": "assistant", "finish_reason": "stop", "parts": [
            {"type": "reasoning", "content": "Paris weather?"},
            {"type": "text", "content": "Sunny."},
        ]}])
    );

    let gemini = attrs("chat gemini-2.5-flash");
    assert_eq!(gemini["gen_ai.provider.name"], "gcp.gemini");
    assert_eq!(
        json(&gemini["gen_ai.input.messages"]),
        json!([{"role": "user", "parts": [{"type": "text", "content": "Which is larger?"}]}])
    );
    assert_eq!(
        json(&gemini["gen_ai.output.messages"]),
        json!([{"role": "assistant", "finish_reason": "stop", "parts": [
            {"type": "reasoning", "content": "Compare"},
            {"type": "text", "content": "9.8"},
        ]}])
    );
}
