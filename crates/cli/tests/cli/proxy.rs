//! `thinktee proxy` as a user runs it: in front of `thinktee replay`, with
//! raw HTTP and with the official `openai` Python client.

use std::process::Command;

use serde_json::Value;

use crate::replay::{NO_STREAM, Running, STREAM, expected, fixture_bytes, post, scratch};
use crate::support::{BIN, command, root, thinktee};

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

/// The `thinktee:` line a failed run printed, checked to name each cause
/// once: an operating-system error shows its `(os error N)` once.
fn the_error_line(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("thinktee: ")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert_eq!(lines[0].matches("(os error").count(), 1, "each cause once: {stderr}");
    lines[0].to_owned()
}

#[test]
fn a_failing_command_prints_each_cause_once() {
    // A transcripts directory under a regular file cannot be created.
    let dir = scratch("proxy-causes");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let under = file.join("transcripts");
    let args = ["proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9"];
    let out = thinktee(&[&args[..], &["--transcripts", under.to_str().unwrap()]].concat(), b"");
    let line = the_error_line(&out);
    assert_eq!(line.matches("transcript i/o failed").count(), 1, "{line}");
    assert!(line.contains(&format!("cannot use {} for recordings", under.display())), "{line}");
    // A port already taken cannot be listened on.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = thinktee(&["proxy", "--listen", &addr, "--upstream", "http://127.0.0.1:9"], b"");
    let line = the_error_line(&out);
    assert_eq!(line.matches(&format!("cannot listen on {addr}")).count(), 1, "{line}");
    let _ = std::fs::remove_dir_all(dir);
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

// === hostile: every exchange leaves a record; signals; files ===

/// A `thinktee` process whose stderr is kept, line by line.
struct Logged {
    running: Running,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Logged {
    /// Runs `thinktee ARGS...` with `env`, waits for its `http://ADDR` line.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Logged {
        Logged::spawn(command(&[]), args, env)
    }

    /// Runs `thinktee ARGS...` with files limited to `blocks` KiB (writes
    /// past it fail with EFBIG: a disk that fails, for one process).
    #[cfg(unix)]
    fn start_with_file_limit(blocks: u32, args: &[&str]) -> Logged {
        let mut bash = Command::new("bash");
        let script = format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\"");
        bash.args(["-c", &script, BIN]);
        Logged::spawn(bash, args, &[])
    }

    fn spawn(mut command: Command, args: &[&str], env: &[(&str, &str)]) -> Logged {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;
        let mut child = command
            .args(args)
            .envs(env.iter().copied())
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn thinktee");
        let (tx, lines) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("http://").unwrap_or_default().to_owned();
        assert!(!addr.is_empty(), "thinktee {args:?} printed {line:?}");
        Logged { running: Running { child, addr }, lines, stderr }
    }

    /// Waits (at most `GUARD`) for a stderr line containing `text`.
    fn wait_for_line(&self, text: &str) {
        let deadline = std::time::Instant::now() + GUARD;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(_) => panic!("no stderr line with {text:?} within {GUARD:?}"),
            }
        }
    }

    /// Sends `signal` (`HUP`, `INT`, `TERM`).
    fn signal(&self, signal: &str) {
        let pid = self.running.child.id().to_string();
        let sent = Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Waits (at most `GUARD`) for the exit; returns its status and stderr.
    fn exit(mut self) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + GUARD;
        let status = loop {
            if let Some(status) = self.running.child.try_wait().unwrap() {
                break status;
            }
            assert!(std::time::Instant::now() < deadline, "thinktee still running after {GUARD:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        (status, self.stderr.join().unwrap())
    }
}

/// A guard against hanging, far above anything the tests wait for (and
/// below the grace periods they set when a signal must cut one short).
const GUARD: std::time::Duration = std::time::Duration::from_secs(60);

/// Starts a streaming request and returns once the response head came; the
/// rest is read to its end on a thread.
fn open_stream(addr: &str, fixture: &str) -> std::thread::JoinHandle<Vec<u8>> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\
         x-thinktee-fixture: {fixture}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{STREAM}",
        STREAM.len()
    );
    stream.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the response head");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        rest
    })
}

fn transcript_lines(dir: &std::path::Path) -> Vec<Value> {
    crate::support::json_lines(&std::fs::read(dir.join("transcripts.jsonl")).unwrap_or_default())
}

fn slow_replay() -> Running {
    Running::start(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--chunk-delay-ms",
        "200",
        "fixtures/e2e",
    ])
}

#[test]
fn hostile_sighup_shuts_down_like_sigterm_and_records_the_cut_stream() {
    let dir = scratch("proxy-hup");
    let upstream = slow_replay();
    let url = upstream.url();
    let p = Logged::start(
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &url,
            "--transcripts",
            dir.to_str().unwrap(),
            "--shutdown-grace-s",
            "0",
        ],
        &[],
    );
    let client = open_stream(&p.running.addr, "azure_inline_think");
    p.signal("HUP");
    let (status, stderr) = p.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let _ = client.join();
    let lines = transcript_lines(&dir);
    let outcomes: Vec<&Value> = lines.iter().map(|l| &l["outcome"]).collect();
    assert_eq!(outcomes, ["shutdown"], "the cut stream is recorded as shutdown");
    assert_eq!(lines[0]["request"]["status"], 200);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hostile_a_second_signal_cuts_open_streams_at_once_and_records_them() {
    let dir = scratch("proxy-int-int");
    let upstream = slow_replay();
    let url = upstream.url();
    // A grace period the guard would run out long before.
    let p = Logged::start(
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &url,
            "--transcripts",
            dir.to_str().unwrap(),
            "--shutdown-grace-s",
            "3600",
        ],
        &[],
    );
    let clients = [
        open_stream(&p.running.addr, "azure_inline_think"),
        open_stream(&p.running.addr, "vllm_reasoning"),
    ];
    p.signal("INT");
    p.wait_for_line("shutting down");
    p.signal("INT");
    let (status, stderr) = p.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
    for client in clients {
        let _ = client.join();
    }
    let lines = transcript_lines(&dir);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l["outcome"] == "shutdown"), "{lines:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hostile_an_unreachable_otlp_collector_is_a_warning_not_a_failure() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let collector = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let upstream = replay();
    let url = upstream.url();
    let p = Logged::start(
        &["proxy", "--listen", "127.0.0.1:0", "--upstream", &url, "--otlp-endpoint", &collector],
        &[],
    );
    // Something to export.
    let reply = post(
        &p.running.addr,
        "/v1/chat/completions",
        &[("x-thinktee-fixture", "vllm_reasoning")],
        STREAM,
    );
    assert_eq!(reply.status, 200);
    p.signal("TERM");
    let (status, stderr) = p.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("cannot flush OpenTelemetry").count(), 1, "{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
}

/// A fake upstream on a thread: each connection gets `answer` (`None`:
/// read the request, then hold the connection without a word).
fn fake_upstream(answer: Option<&'static [u8]>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            match answer {
                Some(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                None => held.push(stream),
            }
        }
    });
    url
}

#[test]
fn hostile_every_exchange_leaves_one_record_with_its_status_and_outcome() {
    let dir = scratch("proxy-every");
    let (transcripts, raw) = (dir.join("t"), dir.join("raw"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let silent = fake_upstream(None);
    let empty = fake_upstream(Some(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n",
    ));
    let record =
        ["--transcripts", transcripts.to_str().unwrap(), "--capture-raw", raw.to_str().unwrap()];
    for (upstream, status, extra) in [
        (&dead, 502, &[][..]),
        (&silent, 504, &["--idle-timeout-s", "1"][..]),
        (&empty, 200, &[][..]),
    ] {
        let mut args = vec!["proxy", "--listen", "127.0.0.1:0", "--upstream", upstream.as_str()];
        args.extend_from_slice(&record);
        args.extend_from_slice(extra);
        let p = Running::start(&args);
        let reply = post(&p.addr, "/v1/chat/completions", &[], STREAM);
        assert_eq!(reply.status, status);
        assert!(p.terminate().success());
    }
    let lines = transcript_lines(&transcripts);
    let got: Vec<(Value, Value, Value)> = lines
        .iter()
        .map(|l| (l["request"]["status"].clone(), l["outcome"].clone(), l["choice"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (502.into(), "upstream_unreachable".into(), Value::Null),
            (504.into(), "upstream_timeout".into(), Value::Null),
            (200.into(), "incomplete".into(), Value::Null),
        ]
    );
    let files: Vec<_> = std::fs::read_dir(&raw).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.is_empty(), "no capture file without a byte: {files:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hostile_a_body_over_the_normalize_limit_passes_through_whole_and_is_recorded() {
    let dir = scratch("proxy-normalize-limit");
    let upstream = replay();
    let direct = post(
        &upstream.addr,
        "/v1/chat/completions",
        &[("x-thinktee-fixture", "azure_inline_think")],
        NO_STREAM,
    );
    assert_eq!(direct.status, 200);
    assert!(direct.body.len() > 100);
    let p = proxy(
        &upstream,
        &[
            "--transcripts",
            dir.to_str().unwrap(),
            "--normalize",
            "reasoning_content",
            "--max-normalize-body",
            "100",
        ],
    );
    let reply = post(
        &p.addr,
        "/v1/chat/completions",
        &[("x-thinktee-fixture", "azure_inline_think")],
        NO_STREAM,
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, direct.body, "passed through whole, unnormalized");
    assert!(p.terminate().success());
    let lines = transcript_lines(&dir);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["outcome"], "complete");
    assert_eq!(lines[0]["request"]["status"], 200);
    assert_eq!(lines[0]["reasoning"], expected("azure_inline_think")[0]["reasoning"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hostile_encoded_query_credentials_are_neither_recorded_nor_logged() {
    let dir = scratch("proxy-query");
    let upstream = replay();
    let url = upstream.url();
    let p = Logged::start(
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &url,
            "--transcripts",
            dir.to_str().unwrap(),
        ],
        &[("THINKTEE_LOG", "info")],
    );
    let path = "/v1/chat/completions?api-version=1&api%2Dkey=SeCrEt-one&%61pi-key=SeCrEt-two\
                &subscription%2dkey=SeCrEt-three&API%2DKEY=SeCrEt-four&Subscription-Key=SeCrEt-five";
    let reply = post(&p.running.addr, path, &[("x-thinktee-fixture", "vllm_reasoning")], STREAM);
    assert_eq!(reply.status, 200);
    p.signal("TERM");
    let (status, stderr) = p.exit();
    assert_eq!(status.code(), Some(0));
    assert!(stderr.contains("proxied"), "the exchange was logged: {stderr}");
    let transcript = std::fs::read_to_string(dir.join("transcripts.jsonl")).unwrap();
    for text in [&transcript, &stderr] {
        assert!(!text.to_lowercase().contains("secret-"), "a credential leaked: {text}");
    }
    let line: Value = serde_json::from_str(transcript.lines().next().unwrap()).unwrap();
    assert_eq!(
        line["request"]["path"],
        "/v1/chat/completions?api-version=1&api%2Dkey=redacted&%61pi-key=redacted\
         &subscription%2dkey=redacted&API%2DKEY=redacted&Subscription-Key=redacted"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
#[test]
fn hostile_a_symlinked_transcript_is_refused_and_loose_modes_are_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("proxy-files");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // A link to somewhere else: refused, exit 2, the target untouched.
    let linked = dir.join("linked");
    std::fs::create_dir(&linked).unwrap();
    let target = dir.join("target.txt");
    std::fs::write(&target, "mine\n").unwrap();
    std::os::unix::fs::symlink(&target, linked.join("transcripts.jsonl")).unwrap();
    let mut child =
        command(&["proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9"])
            .args(["--transcripts", linked.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    let deadline = std::time::Instant::now() + GUARD;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("a symlinked transcript was accepted: the proxy is serving");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");

    // Ours, but open to others: tightened.
    let loose = dir.join("loose");
    std::fs::create_dir(&loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(loose.join("transcripts.jsonl"), "").unwrap();
    std::fs::set_permissions(
        loose.join("transcripts.jsonl"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let p = Running::start(&[
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        "http://127.0.0.1:9",
        "--transcripts",
        loose.to_str().unwrap(),
    ]);
    assert!(p.terminate().success());
    assert_eq!((mode(&loose), mode(&loose.join("transcripts.jsonl"))), (0o700, 0o600));
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
#[test]
fn hostile_a_capture_whose_disk_fails_is_cut_and_named_so() {
    let dir = scratch("proxy-capture-efbig");
    let upstream = replay();
    let url = upstream.url();
    let fixture = fixture_bytes("openrouter_details_types");
    assert!(fixture.len() > 1024);
    let p = Logged::start_with_file_limit(
        1,
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &url,
            "--capture-raw",
            dir.to_str().unwrap(),
        ],
    );
    let reply = post(
        &p.running.addr,
        "/v1/chat/completions",
        &[("x-thinktee-fixture", "openrouter_details_types")],
        STREAM,
    );
    assert_eq!(reply.body, fixture, "the client gets every byte");
    p.signal("TERM");
    let (status, stderr) = p.exit();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with(".cut.sse"), "{name}");
    // What the disk took, exactly: the first KiB of the stream.
    assert_eq!(std::fs::read(&files[0]).unwrap(), fixture[..1024]);
    assert_eq!(stderr.matches("raw capture cut").count(), 1, "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Reads from `stream` until the server closes it (end of file or a
/// reset); false if the guard ran out first (a read timeout).
fn closed_by_server(stream: &mut std::net::TcpStream, guard: std::time::Duration) -> bool {
    use std::io::{ErrorKind, Read};
    stream.set_read_timeout(Some(guard)).unwrap();
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true, // reset
        }
    }
}

#[test]
fn hostile_connection_limit_flags_reach_the_server() {
    use std::net::TcpStream;
    use std::time::Duration;
    // A budget smaller than one body: a usage error.
    let out = thinktee(
        &[
            "proxy",
            "--upstream",
            "http://127.0.0.1:9",
            "--max-request-body",
            "1000",
            "--max-buffered-request-bytes",
            "999",
        ],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");

    let upstream = replay();
    let url = upstream.url();
    let proxy_args = ["proxy", "--listen", "127.0.0.1:0", "--upstream", url.as_str()];
    let replay_args = ["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"];
    for base in [&proxy_args[..], &replay_args[..]] {
        // One place, no idle timeout: a silent connection holds the place
        // until a client arrives, then is closed to make room for it.
        let args = [base, &["--max-connections", "1", "--client-idle-timeout-s", "0"]].concat();
        let server = Running::start(&args);
        let mut silent = TcpStream::connect(&server.addr).unwrap();
        let reply = post(
            &server.addr,
            "/v1/chat/completions",
            &[("x-thinktee-fixture", "vllm_reasoning")],
            STREAM,
        );
        assert_eq!(reply.status, 200, "{}", base[0]);
        // Far less than the default timeout (60 s): only the cap closes it.
        assert!(closed_by_server(&mut silent, Duration::from_secs(30)), "{}: not evicted", base[0]);
        drop(server);

        // A 1-second idle timeout closes a silent connection; the default
        // of 60 seconds would outlast the 30-second guard.
        let args = [base, &["--client-idle-timeout-s", "1"]].concat();
        let server = Running::start(&args);
        let mut silent = TcpStream::connect(&server.addr).unwrap();
        assert!(
            closed_by_server(&mut silent, Duration::from_secs(30)),
            "{}: not closed by the idle timeout",
            base[0]
        );
    }
}

#[test]
fn hostile_a_transcript_keeps_at_most_max_transcript_text_and_counts_the_rest() {
    let dir = scratch("proxy-text-limit");
    let transcripts = dir.join("t");
    let upstream = replay();
    let p = proxy(
        &upstream,
        &["--transcripts", transcripts.to_str().unwrap(), "--max-transcript-text", "20"],
    );
    let reply = post(
        &p.addr,
        "/v1/chat/completions",
        &[("x-thinktee-fixture", "azure_inline_think")],
        STREAM,
    );
    // The client gets every byte; only the record is cut.
    assert_eq!(reply.body, fixture_bytes("azure_inline_think"));
    assert!(p.terminate().success());
    let lines = transcript_lines(&transcripts);
    let stream = lines.iter().find(|l| l["choice"] == 0).expect("the stream's record");
    let want = &expected("azure_inline_think")[0];
    let (reasoning, content) =
        (stream["reasoning"].as_str().unwrap(), stream["content"].as_str().unwrap());
    let whole = want["reasoning"].as_str().unwrap().len() + want["content"].as_str().unwrap().len();
    assert!(whole > 20, "the fixture must be longer than the limit");
    let kept = reasoning.len() + content.len();
    // Cut at a character boundary: at most 3 bytes short of the limit.
    assert!((17..=20).contains(&kept), "kept {kept} bytes");
    assert!(want["reasoning"].as_str().unwrap().starts_with(reasoning));
    assert_eq!(stream["text_omitted"].as_u64(), Some((whole - kept) as u64));
    let _ = std::fs::remove_dir_all(dir);
}
