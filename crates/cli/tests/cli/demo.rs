//! `thinktee demo`: the whole pipeline offline, from a clone or from
//! anywhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{command, fixtures, json_lines, root, thinktee};

/// The README promises it is quick.
const MAX_DEMO_TIME: Duration = Duration::from_secs(10);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn expected(stem: &str) -> Vec<Value> {
    json_lines(&std::fs::read(root().join(format!("fixtures/e2e/{stem}.expected.jsonl"))).unwrap())
}

/// Choice-streams of a recording: lines of its expected `split` output.
fn choice_streams(stem: &str) -> usize {
    expected(stem).len()
}

/// Streams of a recording: distinct `stream` indices of those lines.
fn streams(stem: &str) -> usize {
    expected(stem).iter().map(|l| l["stream"].as_u64().unwrap()).collect::<BTreeSet<_>>().len()
}

fn transcript(out: &Path) -> Vec<Value> {
    json_lines(&std::fs::read(out.join("transcripts.jsonl")).unwrap())
}

#[test]
fn demo_plays_every_fixture_and_summarizes_its_transcripts() {
    let out = temp_dir("demo");
    let _ = std::fs::remove_dir(&out); // `--out` may name a directory to create
    let started = Instant::now();
    let run = thinktee(&["demo", "--out", out.to_str().unwrap()], b"");
    assert!(started.elapsed() < MAX_DEMO_TIME, "{:?}", started.elapsed());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    for text in
        ["fixtures/e2e", "summary of the transcripts", "streams", "ttft ms", "transcripts.jsonl"]
    {
        assert!(stdout.contains(text), "{text}: {stdout}");
    }
    let stems = fixtures("e2e");
    let records = transcript(&out);
    assert_eq!(records.len(), stems.iter().map(|s| choice_streams(s)).sum::<usize>());
    assert!(records.iter().all(|r| r["metrics"]["total_duration_ms"].as_f64().unwrap() > 0.0));

    // The transcripts it wrote carry real timings for analyze.
    let again = thinktee(&["analyze", "--format", "json", out.to_str().unwrap()], b"");
    assert_eq!(again.status.code(), Some(0));
    let summary = &json_lines(&again.stdout)[0];
    assert_eq!(summary["files"]["transcripts"], 1);
    assert_eq!(summary["choices"].as_u64().unwrap() as usize, records.len());
    let want_streams: usize = stems.iter().map(|s| streams(s)).sum();
    assert_eq!(summary["streams"].as_u64().unwrap() as usize, want_streams);
    assert_eq!(summary["timings_ms"]["total"]["count"], summary["streams"]);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn outside_a_clone_the_built_in_recordings_are_played() {
    let cwd = temp_dir("demo-elsewhere");
    let run =
        command(&["demo", "--out", "out"]).env("NO_COLOR", "1").current_dir(&cwd).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("built-in"), "{stdout}");
    let records = transcript(&cwd.join("out"));
    let stems: BTreeSet<&str> =
        records.iter().map(|r| r["request"]["request_id"].as_str().unwrap()).collect();
    assert!(stems.len() >= 3, "{stems:?}");
    assert_eq!(records.len(), stems.iter().map(|s| choice_streams(s)).sum::<usize>());
    std::fs::remove_dir_all(&cwd).unwrap();
}
