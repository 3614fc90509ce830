//! Running the binary and reading fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root (fixtures live there).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// The `thinktee` binary under test, to run with `args`, from the
/// repository root (every test spawns it through here).
pub(crate) fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(root());
    command
}

/// The path of the binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_thinktee");

/// `thinktee ARGS...`, run from the repository root, with `stdin` as input.
pub(crate) fn thinktee(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn thinktee");
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for thinktee");
    writer.join().expect("stdin writer");
    out
}

/// Fixture stems (`<dir>/<stem>.sse`) under `fixtures/<dir>`, sorted.
pub(crate) fn fixtures(dir: &str) -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(root().join("fixtures").join(dir))
        .expect("fixture dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".sse").map(str::to_owned))
        .collect();
    stems.sort();
    assert!(!stems.is_empty(), "no fixtures in {dir}");
    stems
}

/// The preset a fixture is split with: `preset_<name>_….sse` names it
/// (`-` written `_`); the others take the default.
pub(crate) fn preset_of(stem: &str) -> Option<&'static str> {
    ["deepseek-r1", "qwen3", "kimi-k2", "kimi", "magistral", "granite", "gpt-oss"]
        .into_iter()
        .find(|p| stem.starts_with(&format!("preset_{}_", p.replace('-', "_"))))
}

/// Parses JSON Lines.
pub(crate) fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// An HTTP/1.1 upstream on loopback, on a thread of its own: for each
/// connection it reads the request head and writes what `reply` makes of
/// it (a whole response, the connection then closes). Returns its URL.
pub(crate) fn upstream(reply: impl Fn(&str) -> String + Send + 'static) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(reply(&String::from_utf8_lossy(&got)).as_bytes());
        }
    });
    url
}
