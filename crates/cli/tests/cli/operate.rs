//! What operators set and see: variables for every flag, logs for people
//! and for shippers, `--version`, completions, transcript rotation.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::replay::{Running, STREAM, post, scratch};
use crate::support::root;

/// `thinktee ARGS...` with `env` (and no THINKTEE_*, OTEL_* or log
/// variables from the test's own environment), stdin closed.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_thinktee"));
    for (name, _) in std::env::vars() {
        if name.starts_with("THINKTEE_") || name.starts_with("OTEL_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.args(args).envs(env.iter().copied()).current_dir(root()).stdin(Stdio::null());
    command
}

/// Runs to the end; stderr piped (not a terminal).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env).stdout(Stdio::piped()).stderr(Stdio::piped()).output().expect("run thinktee")
}

/// Starts a server and waits for its `http://ADDR` line; stderr piped to
/// `stderr` (a file) when given, else inherited.
fn start(args: &[&str], env: &[(&str, &str)], stderr: Option<&std::path::Path>) -> Running {
    let mut command = command(args, env);
    command.stdout(Stdio::piped());
    match stderr {
        Some(path) => command.stderr(std::fs::File::create(path).unwrap()),
        None => command.stderr(Stdio::inherit()),
    };
    let mut child = command.spawn().expect("spawn thinktee");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("http://").map(str::to_owned);
    let Some(addr) = addr else {
        let _ = child.kill();
        panic!("thinktee {args:?} printed {line:?}, not http://ADDR");
    };
    Running { child, addr }
}

fn fixture(addr: &str, stem: &str) -> u16 {
    post(addr, "/v1/chat/completions", &[("x-thinktee-fixture", stem)], STREAM).status
}

/// An address nothing listens on.
fn dead_url() -> String {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", dead.local_addr().unwrap())
}

// === variables ===

#[test]
fn variables_configure_replay_and_proxy_and_flags_win_over_them() {
    // Nothing on the command line: the address and the recordings come
    // from the variables.
    let env =
        [("THINKTEE_REPLAY_LISTEN", "127.0.0.1:0"), ("THINKTEE_REPLAY_PATHS", "fixtures/e2e")];
    let upstream = start(&["replay"], &env, None);
    assert_eq!(fixture(&upstream.addr, "azure_inline_think"), 200);

    // Flags win: one recording instead of the directory, and a variable
    // that would not even parse is not read.
    let env = [
        ("THINKTEE_REPLAY_PATHS", "fixtures/e2e"),
        ("THINKTEE_REPLAY_CHUNK_DELAY_MS", "not-a-number"),
    ];
    let one = start(
        &[
            "replay",
            "--listen",
            "127.0.0.1:0",
            "--chunk-delay-ms",
            "0",
            "fixtures/e2e/vllm_reasoning.sse",
        ],
        &env,
        None,
    );
    assert_eq!(fixture(&one.addr, "vllm_reasoning"), 200);
    assert_ne!(
        fixture(&one.addr, "azure_inline_think"),
        200,
        "only the flag's recording is served"
    );
    // A variable that does not parse is refused like its flag.
    let out = run(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"], &env[1..]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    let url = upstream.url();
    let env = [("THINKTEE_LISTEN", "127.0.0.1:0"), ("THINKTEE_UPSTREAM", url.as_str())];
    let proxy = start(&["proxy"], &env, None);
    assert_eq!(fixture(&proxy.addr, "azure_inline_think"), 200);
    let dead = dead_url();
    let env = [("THINKTEE_LISTEN", "127.0.0.1:0"), ("THINKTEE_UPSTREAM", dead.as_str())];
    let proxy = start(&["proxy", "--upstream", &url], &env, None);
    assert_eq!(fixture(&proxy.addr, "azure_inline_think"), 200, "--upstream wins");
}

/// Whether the transcript of one request through a proxy run with `env`
/// holds the prompt.
fn records_the_prompt(upstream: &Running, env: &[(&str, &str)]) -> bool {
    let dir = scratch(&format!("operate-capture-{}", env.len()));
    let url = upstream.url();
    let args = [
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &url,
        "--transcripts",
        dir.to_str().unwrap(),
    ];
    let proxy = start(&args, env, None);
    assert_eq!(fixture(&proxy.addr, "vllm_reasoning"), 200);
    assert!(proxy.terminate().success());
    let text = std::fs::read_to_string(dir.join("transcripts.jsonl")).unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    line["request"].get("body").is_some()
}

#[test]
fn thinktee_variables_win_over_otel_variables() {
    let upstream = start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"], &[], None);
    // An endpoint that refuses connections: export fails, a warning.
    let endpoint = dead_url();
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"),
    ];
    assert!(records_the_prompt(&upstream, &otel), "OTEL_* when nothing else says");
    let mut env = otel.to_vec();
    env.push(("THINKTEE_CAPTURE_CONTENT", "false"));
    assert!(!records_the_prompt(&upstream, &env), "THINKTEE_* over OTEL_*");
}

// === logs ===

/// A proxy in front of nothing, asked once: the upstream is unreachable,
/// which is logged as a warning. Returns its stderr.
fn logs_of_a_failed_exchange(extra: &[&str], env: &[(&str, &str)]) -> String {
    let dir = scratch(&format!("operate-logs-{}", extra.len() + env.len()));
    let stderr = dir.join("stderr");
    let dead = dead_url();
    let mut args = vec!["proxy", "--listen", "127.0.0.1:0", "--upstream", dead.as_str()];
    args.extend_from_slice(extra);
    let proxy = start(&args, env, Some(&stderr));
    assert_eq!(fixture(&proxy.addr, "vllm_reasoning"), 502);
    assert!(proxy.terminate().success());
    let text = std::fs::read_to_string(&stderr).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    text
}

#[test]
fn logs_off_a_terminal_carry_no_colour_codes() {
    let text = logs_of_a_failed_exchange(&[], &[]);
    assert!(text.contains("WARN") && text.contains("upstream unreachable"), "{text}");
    assert!(!text.contains('\u{1b}'), "an escape code in logs that are not a terminal: {text:?}");
}

#[test]
fn json_logs_are_one_object_per_line_operator_lines_included() {
    for (extra, env) in [
        (&["--log-format", "json"][..], &[("THINKTEE_LOG", "info")][..]),
        (&[][..], &[("THINKTEE_LOG_FORMAT", "json")][..]),
    ] {
        let text = logs_of_a_failed_exchange(extra, env);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect();
        let message = |l: &Value| l["fields"]["message"].as_str().unwrap_or_default().to_owned();
        let warned =
            lines.iter().find(|l| message(l) == "upstream unreachable").expect("the warning");
        assert_eq!(warned["level"], "WARN");
        assert_eq!(warned["target"], "thinktee_proxy::proxy");
        // The operator's lines too, whatever the filter.
        let listening = lines.iter().find(|l| message(l).starts_with("thinktee proxy: http://"));
        assert_eq!(listening.expect("the listening line")["level"], "INFO", "{text}");
    }
    // A failed run's last words are JSON too.
    let out = run(&["--log-format", "json", "replay", "no/such/recordings"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stderr).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "ERROR");
    assert!(last["fields"]["message"].as_str().unwrap().starts_with("thinktee: "), "{text}");
}

// === version, completions ===

#[test]
fn version_tells_the_commit_and_the_features() {
    let out = run(&["--version"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("thinktee {}", env!("CARGO_PKG_VERSION")));
    // The checkout the test runs in, as git tells it (or no checkout).
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |o| String::from_utf8(o.stdout).unwrap().trim().to_owned(),
        );
    assert_eq!(lines[1], format!("commit: {head}"));
    // The features this very test binary was built with: CI also runs the
    // suite once with `sql` (scripts/test-sql.sh).
    let features = if cfg!(feature = "sql") { "features: sql" } else { "features: none" };
    assert_eq!(lines[2], features);
    assert_eq!(lines.len(), 3, "{text}");
    // -V stays one line.
    let out = run(&["-V"], &[]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("thinktee {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_for_each_shell_name_every_command() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell], &[]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for word in ["proxy", "replay", "analyze", "upstream", "log-format"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let out = run(&["completions", "tcsh"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

// === transcript rotation ===

/// Whether `name` is `transcripts-YYYY-MM-DDThhmmss.mmmZ.jsonl` plus `tail`.
fn is_rotated(name: &str, tail: &str) -> bool {
    let Some(stamp) = name.strip_prefix("transcripts-").and_then(|r| r.strip_suffix(tail)) else {
        return false;
    };
    let shape = "dddd-dd-ddTdddddd.dddZ.jsonl";
    stamp.len() == shape.len()
        && stamp
            .chars()
            .zip(shape.chars())
            .all(|(c, s)| if s == 'd' { c.is_ascii_digit() } else { c == s })
}

fn sorted_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Waits (at most a minute, a guard against hanging) until `dir` holds
/// `n` compressed rotated transcripts.
fn wait_for_compressed(dir: &std::path::Path, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let names = sorted_names(dir);
        if names.iter().filter(|n| is_rotated(n, ".zst")).count() >= n {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no {n} compressed files: {names:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits (at most a minute, a guard against hanging) until `file` holds a
/// whole line.
fn wait_for_a_line(file: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read(file).is_ok_and(|b| b.contains(&b'\n')) {
        assert!(std::time::Instant::now() < deadline, "no line in {}", file.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(unix)]
fn usr1(running: &Running) {
    let pid = running.child.id().to_string();
    assert!(Command::new("kill").args(["-USR1", &pid]).status().unwrap().success());
}

#[cfg(unix)]
#[test]
fn sigusr1_rotates_the_transcript_compressed_and_analyze_reads_every_file() {
    let dir = scratch("operate-usr1");
    let t = dir.join("t");
    let upstream = start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"], &[], None);
    let url = upstream.url();
    let env = [("THINKTEE_TRANSCRIPTS", t.to_str().unwrap())];
    let proxy = start(&["proxy", "--listen", "127.0.0.1:0", "--upstream", &url], &env, None);
    let stems = ["vllm_reasoning", "azure_inline_think", "deepseek_reasoning_content"];
    for (i, stem) in stems.iter().enumerate() {
        assert_eq!(fixture(&proxy.addr, stem), 200);
        if i < 2 {
            // The line is written after the response ended: SIGUSR1 before
            // it would find an empty file, which is never rotated.
            wait_for_a_line(&t.join("transcripts.jsonl"));
            usr1(&proxy);
            wait_for_compressed(&t, i + 1);
        }
    }
    assert!(proxy.terminate().success());
    let names = sorted_names(&t);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(is_rotated(&names[0], ".zst") && is_rotated(&names[1], ".zst"), "{names:?}");
    assert_eq!(names[2], "transcripts.jsonl");
    let first = zstd::stream::decode_all(&std::fs::read(t.join(&names[0])).unwrap()[..]).unwrap();
    assert!(String::from_utf8(first).unwrap().contains("\"model\":\"r1\""));

    let out = run(&["analyze", "--format", "json", t.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["files"]["transcripts"], 3, "{summary}");
    assert_eq!(summary["streams"], 3, "{summary}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A logrotate `postrotate` may signal a proxy that records no transcripts:
/// it must keep serving, not die of SIGUSR1's default action.
#[cfg(unix)]
#[test]
fn sigusr1_without_transcripts_is_ignored() {
    let upstream = start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"], &[], None);
    let url = upstream.url();
    let proxy = start(&["proxy", "--listen", "127.0.0.1:0", "--upstream", &url], &[], None);
    usr1(&proxy);
    usr1(&proxy);
    assert_eq!(fixture(&proxy.addr, "vllm_reasoning"), 200);
    assert!(proxy.terminate().success());
}

#[cfg(unix)]
#[test]
fn transcripts_keep_removes_only_the_oldest_rotated_files() {
    let dir = scratch("operate-keep");
    let t = dir.join("t");
    std::fs::create_dir_all(&t).unwrap();
    // Not this writer's: never removed.
    for name in ["transcripts.jsonl.1", "transcripts-7.jsonl", "notes.txt"] {
        std::fs::write(t.join(name), "keep me\n").unwrap();
    }
    let upstream = start(&["replay", "--listen", "127.0.0.1:0", "fixtures/e2e"], &[], None);
    let url = upstream.url();
    let args = [
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &url,
        "--transcripts",
        t.to_str().unwrap(),
        "--transcripts-keep",
        "1",
    ];
    let proxy = start(&args, &[], None);
    let mut newest = String::new();
    for _ in 0..3 {
        assert_eq!(fixture(&proxy.addr, "vllm_reasoning"), 200);
        wait_for_a_line(&t.join("transcripts.jsonl"));
        usr1(&proxy);
        // Each rotation's file is named after the last one's.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let names = sorted_names(&t);
            let last = names.iter().filter(|n| is_rotated(n, ".zst")).max();
            if let Some(last) = last.filter(|l| **l > newest) {
                newest = last.clone();
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no new rotation: {names:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    assert!(proxy.terminate().success());
    let names = sorted_names(&t);
    assert_eq!(names.len(), 5, "{names:?}");
    let rotated: Vec<&String> = names.iter().filter(|n| is_rotated(n, ".zst")).collect();
    assert_eq!(rotated, [&newest], "only the newest is kept");
    for name in ["transcripts.jsonl.1", "transcripts-7.jsonl", "notes.txt"] {
        assert_eq!(std::fs::read_to_string(t.join(name)).unwrap(), "keep me\n");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
