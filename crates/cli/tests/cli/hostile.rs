//! Hostile input and hostile clients (issue 13): each test counts (records,
//! bytes, files, exit codes), none times anything.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{BIN, command, json_lines, root, thinktee};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(stem: &str) -> Vec<u8> {
    std::fs::read(root().join(format!("fixtures/e2e/{stem}.sse"))).unwrap()
}

/// Lines of a fixture's hand-written expected `split` output.
fn expected_choices(stem: &str) -> usize {
    json_lines(&std::fs::read(root().join(format!("fixtures/e2e/{stem}.expected.jsonl"))).unwrap())
        .len()
}

fn summary(stdout: &[u8]) -> Value {
    let mut lines = json_lines(stdout);
    assert_eq!(lines.len(), 1, "one summary: {}", String::from_utf8_lossy(stdout));
    lines.pop().unwrap()
}

/// Runs `thinktee args` with a guard against hanging (the test fails, it
/// does not wait forever); returns (exit code, stdout, stderr).
fn run_guarded(args: &[&str], cwd: &Path) -> (Option<i32>, Vec<u8>, String) {
    let mut child = command(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = stdout.read_to_end(&mut out);
        let _ = stderr.read_to_end(&mut err);
        let _ = tx.send((out, err));
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok((out, err)) => {
            let status = child.wait().unwrap();
            (status.code(), out, String::from_utf8_lossy(&err).into_owned())
        }
        Err(_) => {
            let _ = child.kill();
            panic!("thinktee {args:?} hung");
        }
    }
}

/// SSE of one stream whose model, text and finish reason carry terminal
/// escapes: OSC 0 (window title), OSC 52 (clipboard), CSI 2J (clear
/// screen), a bidi override.
const ESCAPES: &str = concat!(
    r#"data: {"model":"m\u001b]0;pwned\u0007","choices":[{"index":0,"delta":{"content":"a\u001b]52;c;aGk=\u0007b\u001b[2Jc\u202eevil\td\ne"}}]}"#,
    "\n\n",
    r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"st\u001b[31mop"}]}"#,
    "\n\ndata: [DONE]\n\n"
);

#[test]
fn hostile_escape_sequences_are_shown_escaped_in_text_output() {
    let out = thinktee(&["split", "--format", "text"], ESCAPES.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        !text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202e}'),
        "{text:?}"
    );
    for shown in [
        r"m\x1b]0;pwned\x07",
        r"a\x1b]52;c;aGk=\x07b\x1b[2Jc\u{202e}evil",
        "evil\td\ne",
        r"finish: st\x1b[31mop",
    ] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    // The JSON output keeps the text as it is (serde_json escapes it).
    let out = thinktee(&["split", "--format", "json"], ESCAPES.as_bytes());
    let record = &json_lines(&out.stdout)[0];
    assert_eq!(record["finish_reason"], "st\x1b[31mop");
    // The analyze table shows the finish reason escaped too.
    let dir = temp_dir("escapes");
    std::fs::write(dir.join("x.sse"), ESCAPES).unwrap();
    let (code, stdout, _) = run_guarded(&["analyze", dir.to_str().unwrap()], &dir);
    let table = String::from_utf8(stdout).unwrap();
    assert_eq!(code, Some(0));
    assert!(!table.contains('\x1b'), "{table:?}");
    assert!(table.contains(r"finish reasons     st\x1b[31mop 1"), "{table}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_colour_only_on_a_terminal_and_never_with_no_color() {
    // `script` gives thinktee a terminal for stdout.
    let path = root().join("fixtures/e2e/azure_inline_think.sse");
    let command = format!("{} split --format text {}", BIN, path.display());
    let on_terminal = |no_color: &str| {
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("NO_COLOR", no_color)
            .stdin(Stdio::null())
            .output()
            .expect("script(1) from util-linux");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(on_terminal("").contains("\x1b[2m"), "NO_COLOR empty counts as unset");
    assert!(!on_terminal("1").contains('\x1b'), "NO_COLOR=1: no colour");
}

#[test]
fn hostile_demo_never_deletes_a_users_files() {
    let cwd = temp_dir("demo");
    let out = cwd.join("out");
    std::fs::create_dir(&out).unwrap();
    let mine = [
        ("transcripts.jsonl", "{\"mine\":1}\n"),
        ("transcripts-1.jsonl", "{}\n"),
        ("notes.txt", "x"),
    ];
    for (name, text) in mine {
        std::fs::write(out.join(name), text).unwrap();
    }
    let unchanged = || {
        for (name, text) in mine {
            assert_eq!(std::fs::read_to_string(out.join(name)).unwrap(), text, "{name}");
        }
    };
    // Non-empty without --force: refused, nothing touched.
    let (code, _, stderr) = run_guarded(&["demo", "--out", "out"], &cwd);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    unchanged();
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 3);
    // --force: adds this run's transcript under a new name, deletes nothing,
    // and summarizes only what it wrote.
    let (code, stdout, stderr) = run_guarded(&["demo", "--out", "out", "--force"], &cwd);
    assert_eq!(code, Some(0), "{stderr}");
    unchanged();
    let new: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !mine.iter().any(|(m, _)| m == n))
        .collect();
    assert_eq!(new, ["transcripts-run1.jsonl"]);
    let written = json_lines(&std::fs::read(out.join(&new[0])).unwrap()).len();
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(stdout.contains(&format!("choices            {written}\n")), "{stdout}");
    // Without --out: a new directory for each run.
    for _ in 0..2 {
        let (code, _, stderr) = run_guarded(&["demo"], &cwd);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let mut runs: Vec<String> = std::fs::read_dir(cwd.join("thinktee-demo"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    runs.sort();
    assert_eq!(runs, ["run-1", "run-2"]);
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn hostile_a_directory_among_inputs_is_reported_and_the_rest_go_on() {
    let dir = temp_dir("dir-input");
    let good = "fixtures/e2e/vllm_reasoning.sse";
    for command in ["split", "events"] {
        let out = thinktee(&[command, dir.to_str().unwrap(), good], b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(stderr.contains("is a directory"), "{stderr}");
        assert!(!json_lines(&out.stdout).is_empty(), "{command}: the file after it is read");
    }
    let out = thinktee(&["split", "--format", "json", dir.to_str().unwrap(), good], b"");
    assert_eq!(json_lines(&out.stdout).len(), expected_choices("vllm_reasoning"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_a_closed_pipe_is_a_quiet_exit_0_for_every_command() {
    let dir = temp_dir("pipe");
    let big = dir.join("big.sse");
    let one = fixture("vllm_reasoning");
    std::fs::write(&big, one.repeat(2_000)).unwrap();
    let big = big.to_str().unwrap().to_owned();
    // Read one line, then close the pipe, as `| head -1` does.
    for args in [&["split", "--format", "json", &big][..], &["events", &big][..]] {
        let mut child = command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(first.starts_with('{'), "{first}");
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
    // Closed before anything is written.
    for args in [
        &["analyze", &big][..],
        &["split", "--format", "text", &big][..],
        &["demo", "--out", "d"][..],
    ] {
        let mut child = command(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_a_fifo_in_a_directory_is_skipped_and_a_named_one_is_read() {
    let dir = temp_dir("fifo");
    std::fs::write(dir.join("good.sse"), fixture("vllm_reasoning")).unwrap();
    let fifo = dir.join("x.sse");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (code, stdout, stderr) =
        run_guarded(&["analyze", "--format", "json", dir.to_str().unwrap()], &dir);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("not a regular file") && stderr.contains("x.sse"), "{stderr}");
    let s = summary(&stdout);
    assert_eq!(s["files"]["skipped"], 1);
    assert_eq!(s["choices"].as_u64().unwrap() as usize, expected_choices("vllm_reasoning"));
    // Named on the command line, it is read (like `split <(curl …)`).
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(fifo)
                .unwrap()
                .write_all(&fixture("vllm_reasoning"))
                .unwrap();
        })
    };
    let (code, stdout, stderr) =
        run_guarded(&["analyze", "--format", "json", fifo.to_str().unwrap()], &dir);
    writer.join().unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        summary(&stdout)["choices"].as_u64().unwrap() as usize,
        expected_choices("vllm_reasoning")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_a_json_body_after_a_read_of_only_whitespace_is_still_json() {
    // More whitespace than one read (64 KiB): the first read holds nothing else.
    let body = r#"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;
    let input = [vec![b' '; 100 * 1024], b"\n".to_vec(), body.as_bytes().to_vec()].concat();
    let out = thinktee(&["split", "--format", "json"], &input);
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        (records[0]["content"].as_str(), records[0]["done"].as_bool()),
        (Some("hi"), Some(true))
    );
    assert_eq!(out.status.code(), Some(0));
}

/// A transcript written by `demo` (real records), for the transcript tests.
fn demo_transcript(cwd: &Path) -> Vec<String> {
    let (code, _, stderr) = run_guarded(&["demo", "--out", "t"], cwd);
    assert_eq!(code, Some(0), "{stderr}");
    let text = std::fs::read_to_string(cwd.join("t/transcripts.jsonl")).unwrap();
    text.lines().map(str::to_owned).collect()
}

#[test]
fn hostile_a_transcript_whose_first_line_is_malformed_keeps_its_good_lines() {
    let dir = temp_dir("first-line");
    let lines = demo_transcript(&dir);
    assert!(lines.len() >= 3);
    // Cut short (a writer killed mid-line), then garbage, then the rest.
    let cut = &lines[0][..lines[0].len() / 2];
    let text = format!("{cut}\n{}\n", lines[1..].join("\n"));
    std::fs::write(dir.join("t.jsonl"), &text).unwrap();
    let (code, stdout, stderr) = run_guarded(&["analyze", "--format", "json", "t.jsonl"], &dir);
    assert_eq!(code, Some(1), "a malformed line is an error: {stderr}");
    assert!(stderr.contains("1 malformed transcript line(s), first at line 1"), "{stderr}");
    let s = summary(&stdout);
    assert_eq!(s["files"]["malformed"], 1);
    assert_eq!(s["choices"].as_u64().unwrap() as usize, lines.len() - 1, "every good line counts");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_analyze_reads_a_deeply_nested_body_as_split_does() {
    let dir = temp_dir("deep");
    let depth = 1_000;
    let extra = format!("{}1{}", "{\"x\":".repeat(depth), "}".repeat(depth));
    let body = format!(
        r#"{{"id":"c","object":"chat.completion","model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":"hi"}},"finish_reason":"stop","extra":{extra}}}]}}"#
    );
    std::fs::write(dir.join("deep.json"), &body).unwrap();
    let out =
        thinktee(&["split", "--format", "json", dir.join("deep.json").to_str().unwrap()], b"");
    assert_eq!(json_lines(&out.stdout).len(), 1);
    let (code, stdout, stderr) = run_guarded(&["analyze", "--format", "json", "deep.json"], &dir);
    assert_eq!(code, Some(0), "{stderr}");
    let s = summary(&stdout);
    assert_eq!((s["files"]["recordings"].as_u64(), s["choices"].as_u64()), (Some(1), Some(1)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_compressed_captures_are_read_and_what_is_no_stream_is_an_error() {
    let dir = temp_dir("compressed");
    let raw = fixture("deepseek_reasoning_content");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&raw[..], 3).unwrap();
    std::fs::write(dir.join("a.sse.gz"), &gz).unwrap();
    std::fs::write(dir.join("b.sse.zst"), &zst).unwrap();
    // Told by content, not by name.
    std::fs::write(dir.join("c.sse"), &gz).unwrap();
    let n = expected_choices("deepseek_reasoning_content");
    let (code, stdout, stderr) = run_guarded(&["analyze", "--format", "json", "."], &dir);
    assert_eq!(code, Some(0), "{stderr}");
    let s = summary(&stdout);
    assert_eq!(
        (s["files"]["recordings"].as_u64(), s["choices"].as_u64()),
        (Some(3), Some(3 * n as u64))
    );
    for name in ["a.sse.gz", "b.sse.zst", "c.sse"] {
        let out = thinktee(&["split", "--format", "json", dir.join(name).to_str().unwrap()], b"");
        assert_eq!(json_lines(&out.stdout).len(), n, "{name}");
    }
    // An HTML page and binary data: a clear error each, exit 1, no records.
    std::fs::write(
        dir.join("page.sse"),
        "<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("noise.sse"),
        (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    for name in ["page.sse", "noise.sse"] {
        let out = thinktee(&["split", "--format", "json", dir.join(name).to_str().unwrap()], b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains("not an event stream"), "{name}: {stderr}");
        assert_eq!(json_lines(&out.stdout).len(), 0, "{name}");
        let (code, stdout, stderr) = run_guarded(&["analyze", "--format", "json", name], &dir);
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert_eq!(summary(&stdout)["files"]["malformed"], 1, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_a_json_document_past_the_limit_is_an_error_and_is_not_held() {
    // One line, one byte over 64 MiB of string: refused as a body, and as a line.
    let dir = temp_dir("too-long");
    let limit = 64 * 1024 * 1024;
    let mut doc = b"{\"x\":\"".to_vec();
    doc.resize(limit + 1, b'a');
    doc.extend_from_slice(
        b"\"}\n{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"after\"}}]}\n",
    );
    std::fs::write(dir.join("big.json"), &doc).unwrap();
    drop(doc);
    let out = thinktee(&["split", "--format", "json", dir.join("big.json").to_str().unwrap()], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("json document longer than {limit} bytes")), "{stderr}");
    assert!(stderr.contains(&format!("json line 1 longer than {limit} bytes")), "{stderr}");
    // The line after it is still read.
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["content"], "after");
    std::fs::remove_dir_all(&dir).unwrap();
}
