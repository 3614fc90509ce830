//! `thinktee proxy` as a user runs it: in front of `thinktee replay`, with
//! raw HTTP and with the official `openai` Python client.

use std::process::Command;

use serde_json::Value;

use crate::replay::{NO_STREAM, Running, STREAM, expected, fixture_bytes, post, scratch};
use crate::support::{root, thinktee};

const SECRET: &str = "sk-cli-SECRET-7d2a";

fn replay() -> Running {
    Running::start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"])
}

fn proxy(upstream: &Running, extra: &[&str]) -> Running {
    let url = upstream.url();
    let mut args = vec!["proxy", "--listen", "127.0.0.1:0", "--upstream", url.as_str()];
    args.extend_from_slice(extra);
    Running::start(&args)
}

#[test]
fn records_transcripts_and_raw_captures_privately_and_flushes_on_sigterm() {
    let dir = scratch("proxy-record");
    let (transcripts, raw) = (dir.join("t"), dir.join("raw"));
    let upstream = replay();
    let p = proxy(
        &upstream,
        &["--transcripts", transcripts.to_str().unwrap(), "--capture-raw", raw.to_str().unwrap()],
    );
    let auth = format!("Bearer {SECRET}");
    let headers = [
        ("x-thinktee-fixture", "azure_inline_think"),
        ("authorization", auth.as_str()),
        ("api-key", SECRET),
        ("ocp-apim-subscription-key", SECRET),
        ("cookie", SECRET),
    ];
    let reply = post(&p.addr, "/v1/chat/completions", &headers, STREAM);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, fixture_bytes("azure_inline_think"));
    let reply = post(
        &p.addr,
        "/v1/chat/completions",
        &[("x-thinktee-fixture", "azure_400_content_filter")],
        NO_STREAM,
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body, fixture_bytes("azure_400_content_filter"));

    let status = p.terminate();
    assert!(status.success(), "proxy exit: {status:?}");
    let path = transcripts.join("transcripts.jsonl");
    let text = std::fs::read_to_string(&path).expect("transcript written by shutdown");
    assert!(!text.contains(SECRET), "a credential reached the transcript");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let stream =
        lines.iter().find(|l| l["id"] == "23b54589eba14564ad8a2e6978775a39").expect("stream line");
    let want = &expected("azure_inline_think")[0];
    assert_eq!(stream["reasoning"], want["reasoning"]);
    assert_eq!(stream["content"], want["content"]);
    assert_eq!(stream["outcome"], "complete");
    assert_eq!(stream["request"]["model"], "r1");
    assert!(
        stream["request"].get("body").is_none(),
        "prompts are recorded only with --capture-content"
    );
    assert!(lines.iter().any(|l| l["outcome"] == "upstream_error"), "the 400 is recorded too");

    let mut captures: Vec<_> =
        std::fs::read_dir(&raw).unwrap().map(|e| e.unwrap().path()).collect();
    captures.sort();
    assert_eq!(captures.len(), 2);
    assert_eq!(std::fs::read(&captures[0]).unwrap(), fixture_bytes("azure_inline_think"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in captures.iter().chain([&path]) {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn normalize_refuses_start_auto() {
    let out = thinktee(
        &[
            "proxy",
            "--upstream",
            "http://127.0.0.1:9",
            "--normalize",
            "reasoning_content",
            "--start",
            "auto",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--start auto") && stderr.contains("explicit"), "{stderr}");
}

#[test]
fn unreachable_upstream_is_a_502() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let p = Running::start(&["proxy", "--listen", "127.0.0.1:0", "--upstream", &url]);
    let reply = post(&p.addr, "/v1/chat/completions", &[], STREAM);
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json()["error"]["code"], "bad_gateway");
}

#[test]
fn hostile_listen_on_a_non_loopback_address_warns_once() {
    // Each run stops at a bad upstream or missing recordings, before it
    // binds: the test opens no socket beyond loopback.
    let runs: [&[&str]; 2] = [
        &["proxy", "--listen", "0.0.0.0:0", "--upstream", "not-a-url"],
        &["replay", "--listen", "0.0.0.0:0", "no/such/recordings"],
    ];
    for args in runs {
        let out = thinktee(args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(warnings.len(), 1, "{stderr}");
        assert!(warnings[0].contains("0.0.0.0:0"), "{stderr}");
    }
    let out = thinktee(&["proxy", "--listen", "127.0.0.1:0", "--upstream", "not-a-url"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("warning"), "loopback is quiet: {stderr}");
}

// === with the official openai Python client ===

/// Streams each fixture through `proxy_url` and directly from `direct_url`
/// (and once without streaming), and prints what the client saw as JSON.
const CLIENT: &str = r#"
import json, sys
from openai import OpenAI

proxy_url, direct_url, stems = sys.argv[1], sys.argv[2], sys.argv[3].split(",")

def chunks(base, stem):
    client = OpenAI(base_url=base + "/v1", api_key="sk-test-not-recorded", max_retries=0, timeout=20)
    out = []
    try:
        stream = client.chat.completions.create(
            model="r1", messages=[{"role": "user", "content": "hi"}], stream=True,
            extra_headers={"x-thinktee-fixture": stem})
        for chunk in stream:
            out.append(chunk.model_dump())
    except Exception as e:
        out.append({"exception": type(e).__name__})
    return out

def whole(base, stem):
    client = OpenAI(base_url=base + "/v1", api_key="sk-test-not-recorded", max_retries=0, timeout=20)
    done = client.chat.completions.create(
        model="r1", messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-thinktee-fixture": stem})
    return done.model_dump()

result = {}
for stem in stems:
    result[stem] = {
        "proxied": chunks(proxy_url, stem),
        "direct": chunks(direct_url, stem) if direct_url != "-" else None,
        "proxied_whole": whole(proxy_url, stem),
        "direct_whole": whole(direct_url, stem) if direct_url != "-" else None,
    }
print(json.dumps(result))
"#;

/// The venv's python, or `None` when the test is to be skipped. The setup
/// runs once per test binary (the tests using it run in parallel threads).
fn python() -> Option<String> {
    static PYTHON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    PYTHON.get_or_init(setup_python).clone()
}

fn setup_python() -> Option<String> {
    if std::env::var_os("THINKTEE_SKIP_PYTHON").is_some_and(|v| v == "1") {
        eprintln!("THINKTEE_SKIP_PYTHON=1: skipping the openai-python test");
        return None;
    }
    let out = Command::new("bash")
        .arg(root().join("scripts/setup-python.sh"))
        .current_dir(root())
        .output()
        .expect("run scripts/setup-python.sh");
    assert!(
        out.status.success(),
        "scripts/setup-python.sh failed (it needs python3 with venv and network to PyPI to \
         install `openai`; set THINKTEE_SKIP_PYTHON=1 to skip this test):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    Some(stdout.lines().last().expect("the venv's python").trim().to_owned())
}

fn run_client(python: &str, proxy: &Running, direct: Option<&Running>, stems: &[&str]) -> Value {
    let dir = scratch("py-client");
    let script = dir.join("client.py");
    std::fs::write(&script, CLIENT).unwrap();
    let direct = direct.map_or("-".to_owned(), Running::url);
    let out = Command::new(python)
        .arg(&script)
        .args([proxy.url(), direct, stems.join(",")])
        .output()
        .expect("run the python client");
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        out.status.success(),
        "python client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("client output")
}

/// Streams whose chunks the official client parses (error events make it raise).
const CLIENT_STREAMS: [&str; 10] = [
    "azure_inline_think",
    "r1_no_open_tag",
    "deepseek_reasoning_content",
    "azure_reasoning_content",
    "vllm_reasoning",
    "openrouter_reasoning_details",
    "openai_usage_final",
    "azure_filter_default",
    "n2_interleaved_choices",
    "unicode_split",
];

#[test]
fn openai_python_client_sees_the_same_chunks_through_the_proxy() {
    let Some(python) = python() else { return };
    let upstream = replay();
    let p = proxy(&upstream, &[]);
    let result = run_client(&python, &p, Some(&upstream), &CLIENT_STREAMS);
    for stem in CLIENT_STREAMS {
        let r = &result[stem];
        let proxied = r["proxied"].as_array().unwrap();
        assert!(proxied.len() >= 2, "{stem}: {proxied:?}");
        assert!(proxied.iter().all(|c| c.get("exception").is_none()), "{stem}: {proxied:?}");
        assert_eq!(r["proxied"], r["direct"], "{stem}: chunks differ through the proxy");
        assert_eq!(r["proxied_whole"], r["direct_whole"], "{stem}: completion differs");
    }
}

#[test]
fn openai_python_client_gets_reasoning_content_when_normalizing() {
    let Some(python) = python() else { return };
    let upstream = replay();
    // The streams that open with `<think>`: explicit start mode finds them.
    let p = proxy(&upstream, &["--normalize", "reasoning_content"]);
    let stems = ["azure_inline_think", "unicode_split", "n2_interleaved_choices"];
    let result = run_client(&python, &p, None, &stems);
    for stem in stems {
        let chunks = result[stem]["proxied"].as_array().unwrap();
        for record in expected(stem) {
            let choice = record["choice"].as_u64().unwrap();
            let (mut reasoning, mut content) = (String::new(), String::new());
            for chunk in chunks {
                assert!(chunk.get("exception").is_none(), "{stem}: {chunk}");
                for c in chunk["choices"].as_array().unwrap() {
                    if c["index"].as_u64() == Some(choice) {
                        let delta = &c["delta"];
                        reasoning.push_str(delta["reasoning_content"].as_str().unwrap_or(""));
                        content.push_str(delta["content"].as_str().unwrap_or(""));
                        let text = delta["content"].as_str().unwrap_or("");
                        assert!(
                            !text.contains("<think>") && !text.contains("</think>"),
                            "{stem}: tag in content"
                        );
                    }
                }
            }
            assert_eq!(
                reasoning,
                record["reasoning"].as_str().unwrap(),
                "{stem} choice {choice}: reasoning"
            );
            assert_eq!(
                content,
                record["content"].as_str().unwrap(),
                "{stem} choice {choice}: content"
            );
        }
        // Non-streaming bodies are normalized too.
        let whole = &result[stem]["proxied_whole"];
        let first = &expected(stem)[0];
        assert_eq!(
            whole["choices"][0]["message"]["reasoning_content"], first["reasoning"],
            "{stem}"
        );
        assert_eq!(whole["choices"][0]["message"]["content"], first["content"], "{stem}");
    }
}

#[test]
fn capture_content_records_the_prompt_in_the_transcript() {
    let dir = scratch("proxy-capture");
    let upstream = replay();
    let p = proxy(&upstream, &["--transcripts", dir.to_str().unwrap(), "--capture-content"]);
    let reply =
        post(&p.addr, "/v1/chat/completions", &[("x-thinktee-fixture", "vllm_reasoning")], STREAM);
    assert_eq!(reply.status, 200);
    assert!(p.terminate().success());
    let text = std::fs::read_to_string(dir.join("transcripts.jsonl")).unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["request"]["body"]["messages"][0]["content"], "hi");
    assert_eq!(line["reasoning_source"], "field");
    let _ = std::fs::remove_dir_all(dir);
}
