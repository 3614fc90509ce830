//! `thinktee replay`: recordings served as an OpenAI-compatible endpoint.
//! Also home of the helpers the proxy tests share: a running server and a
//! tiny blocking HTTP/1.1 client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{command, fixtures, json_lines, root};

// === helpers ===

/// A `thinktee` server process, killed on drop.
pub(crate) struct Running {
    pub(crate) child: Child,
    /// `127.0.0.1:PORT`, read from its stdout.
    pub(crate) addr: String,
}

impl Running {
    /// Runs `thinktee ARGS...` and waits for the `http://ADDR` line.
    pub(crate) fn start(args: &[&str]) -> Running {
        let mut child = command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn thinktee");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the bound address");
        let addr = line.trim().strip_prefix("http://").unwrap_or_else(|| {
            let _ = child.kill();
            panic!("thinktee {args:?} printed {line:?}, not http://ADDR")
        });
        Running { addr: addr.to_owned(), child }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("thinktee did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A response read to its end (the request said `connection: close`).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// `POST path` with `body` and extra header lines, over a fresh connection.
pub(crate) fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut req = format!("POST {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ));
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("response head") + 4;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    let mut reply = Reply { status, head, body: Vec::new() };
    reply.body = match reply.header("transfer-encoding") {
        Some(te) if te.contains("chunked") => dechunk(&raw[end..]),
        _ => raw[end..].to_vec(),
    };
    reply
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..i]).unwrap().trim(), 16)
            .expect("chunk size");
        rest = &rest[i + 2..];
        if size == 0 {
            break;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    body
}

pub(crate) const STREAM: &str =
    r#"{"model":"r1","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
pub(crate) const NO_STREAM: &str = r#"{"model":"r1","messages":[{"role":"user","content":"hi"}]}"#;

pub(crate) fn fixture_bytes(stem: &str) -> Vec<u8> {
    std::fs::read(root().join(format!("fixtures/e2e/{stem}.sse"))).expect("fixture")
}

/// The hand-computed records of a fixture.
pub(crate) fn expected(stem: &str) -> Vec<Value> {
    json_lines(&std::fs::read(root().join(format!("fixtures/e2e/{stem}.expected.jsonl"))).unwrap())
}

/// A fresh, empty scratch directory for one test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn is_sse(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    !matches!(bytes.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['))
}

// === tests ===

#[test]
fn serves_every_recorded_stream_byte_for_byte_by_name() {
    let replay = Running::start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"]);
    let mut served = 0;
    for stem in fixtures("e2e") {
        let bytes = fixture_bytes(&stem);
        if !is_sse(&bytes) {
            continue;
        }
        let path = "/openai/deployments/r1/chat/completions?api-version=2024-10-21";
        let reply = post(&replay.addr, path, &[("x-thinktee-fixture", &stem)], STREAM);
        assert_eq!(reply.status, 200, "{stem}");
        assert_eq!(reply.header("content-type"), Some("text/event-stream"), "{stem}");
        assert_eq!(reply.header("x-thinktee-fixture"), Some(stem.as_str()));
        assert!(reply.body == bytes, "{stem}: served bytes differ from the file");
        served += 1;
    }
    assert!(served >= 20, "only {served} streams");
}

#[test]
fn round_robin_without_a_header() {
    let dir = scratch("replay-rr");
    for stem in ["azure_inline_think", "vllm_reasoning"] {
        std::fs::copy(
            root().join(format!("fixtures/e2e/{stem}.sse")),
            dir.join(format!("{stem}.sse")),
        )
        .unwrap();
    }
    let replay = Running::start(&["replay", "--listen", "127.0.0.1:0", dir.to_str().unwrap()]);
    let order: Vec<String> = (0..4)
        .map(|_| {
            let reply = post(&replay.addr, "/v1/chat/completions", &[], STREAM);
            let stem = reply.header("x-thinktee-fixture").unwrap().to_owned();
            assert_eq!(reply.body, fixture_bytes(&stem));
            stem
        })
        .collect();
    assert_eq!(
        order,
        ["azure_inline_think", "vllm_reasoning", "azure_inline_think", "vllm_reasoning"]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn non_streaming_request_gets_the_assembled_completion() {
    let replay = Running::start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"]);
    for stem in [
        "azure_inline_think",
        "deepseek_reasoning_content",
        "n2_interleaved_choices",
        "openai_usage_final",
    ] {
        let reply =
            post(&replay.addr, "/chat/completions", &[("x-thinktee-fixture", stem)], NO_STREAM);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let body = reply.json();
        assert_eq!(body["object"], "chat.completion");
        let records = expected(stem);
        assert_eq!(body["id"], records[0]["id"], "{stem}");
        assert_eq!(body["model"], records[0]["model"], "{stem}");
        let choices = body["choices"].as_array().unwrap();
        assert_eq!(choices.len(), records.len(), "{stem}");
        for (choice, record) in choices.iter().zip(&records) {
            assert_eq!(choice["index"], record["choice"], "{stem}");
            assert_eq!(choice["message"]["role"], "assistant");
            assert_eq!(choice["message"]["content"], record["content"], "{stem}");
            assert_eq!(choice["finish_reason"], record["finish_reason"], "{stem}");
            if record["reasoning_source"] == "none" {
                assert!(choice["message"].get("reasoning_content").is_none(), "{stem}");
            } else {
                assert_eq!(choice["message"]["reasoning_content"], record["reasoning"], "{stem}");
            }
        }
        let usage = &records[0]["usage"];
        if !usage.is_null() {
            assert_eq!(body["usage"]["total_tokens"], usage["total_tokens"], "{stem}");
            assert_eq!(body["usage"]["prompt_tokens"], usage["prompt_tokens"], "{stem}");
        }
    }
}

#[test]
fn recorded_http_error_is_replayed_with_its_status() {
    let replay = Running::start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"]);
    for body in [STREAM, NO_STREAM] {
        let reply = post(
            &replay.addr,
            "/models/chat/completions?api-version=2024-05-01-preview",
            &[("x-thinktee-fixture", "azure_400_content_filter")],
            body,
        );
        assert_eq!(reply.status, 400);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.body, fixture_bytes("azure_400_content_filter"));
        assert_eq!(reply.json()["error"]["code"], "content_filter");
    }
}

#[test]
fn unknown_routes_and_fixtures_are_404_json() {
    let replay = Running::start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"]);
    let reply = post(&replay.addr, "/v1/embeddings", &[], NO_STREAM);
    assert_eq!(reply.status, 404);
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("/v1/embeddings"));
    let reply =
        post(&replay.addr, "/v1/chat/completions", &[("x-thinktee-fixture", "nope")], STREAM);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"]["code"], "fixture_not_found");
}

#[test]
fn replay_without_recordings_is_a_usage_error() {
    let dir = scratch("replay-empty");
    let out = crate::support::thinktee(
        &["replay", "--listen", "127.0.0.1:0", dir.to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no recordings"));
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}
