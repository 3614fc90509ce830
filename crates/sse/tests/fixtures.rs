//! Fixture-driven tests: every `fixtures/sse/<name>.sse` decoded whole, in
//! 1-byte pieces and split in two at every offset must give the frames in
//! `<name>.expected.json` (format in `fixtures/sse/README.md`).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use thinktee_sse::{Decoder, Error, MAX_EVENT_LEN, MAX_LINE_LEN, OwnedEvent, OwnedFrame};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/sse");

/// The limits for a fixture, from its optional `<name>.limits` file.
fn limits(sse: &Path) -> (usize, usize) {
    let (mut max_line_len, mut max_event_len) = (MAX_LINE_LEN, MAX_EVENT_LEN);
    let Ok(text) = fs::read_to_string(sse.with_extension("limits")) else {
        return (max_line_len, max_event_len);
    };
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let (key, value) =
            line.split_once('=').unwrap_or_else(|| panic!("bad limits line {line:?}"));
        let value: usize = value.trim().parse().unwrap_or_else(|_| panic!("bad limit {line:?}"));
        match key.trim() {
            "max_line_len" => max_line_len = value,
            "max_event_len" => max_event_len = value,
            other => panic!("unknown limit {other:?} in {}", sse.display()),
        }
    }
    (max_line_len, max_event_len)
}

fn string(value: &Value, what: &str) -> String {
    value.as_str().unwrap_or_else(|| panic!("{what} must be a string, got {value}")).to_owned()
}

/// One expected frame, as described in `fixtures/sse/README.md`.
fn frame(value: &Value, (max_line_len, max_event_len): (usize, usize)) -> OwnedFrame {
    let object =
        value.as_object().unwrap_or_else(|| panic!("frame must be an object, got {value}"));
    if let Some(text) = object.get("comment") {
        return OwnedFrame::Comment(string(text, "comment"));
    }
    if let Some(text) = object.get("truncated") {
        return OwnedFrame::Truncated(string(text, "truncated"));
    }
    if let Some(kind) = object.get("skipped") {
        return OwnedFrame::Skipped(match kind.as_str() {
            Some("line_too_long") => Error::LineTooLong { limit: max_line_len },
            Some("event_too_long") => Error::EventTooLong { limit: max_event_len },
            _ => panic!("unknown skipped kind {kind}"),
        });
    }
    for key in object.keys() {
        assert!(
            ["event", "data", "id", "retry"].contains(&key.as_str()),
            "unknown key {key:?} in {value}"
        );
    }
    let field =
        |key: &str| object.get(key).unwrap_or_else(|| panic!("event needs {key:?}: {value}"));
    let id = match object.get("id") {
        None | Some(Value::Null) => None,
        Some(id) => Some(string(id, "id")),
    };
    let retry = match object.get("retry") {
        None | Some(Value::Null) => None,
        Some(retry) => {
            Some(retry.as_u64().unwrap_or_else(|| panic!("retry must be a u64: {value}")))
        }
    };
    OwnedFrame::Event(OwnedEvent {
        event: string(field("event"), "event"),
        data: string(field("data"), "data"),
        id,
        retry,
    })
}

fn decode(limits: (usize, usize), chunks: &[&[u8]]) -> Vec<OwnedFrame> {
    let mut decoder = Decoder::builder().max_line_len(limits.0).max_event_len(limits.1).build();
    let mut frames = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, |frame| frames.push(frame.into()));
    }
    decoder.finish(|frame| frames.push(frame.into()));
    frames
}

fn fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(DIR)
        .unwrap_or_else(|err| panic!("{DIR}: {err}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sse"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_fixture_every_split() {
    let paths = fixtures();
    assert!(paths.len() >= 10, "expected the SSE fixtures in {DIR}, found {paths:?}");
    for sse in paths {
        let name = sse.display();
        let input = fs::read(&sse).unwrap_or_else(|err| panic!("{name}: {err}"));
        let expected_path = sse.with_extension("expected.json");
        let expected_text = fs::read_to_string(&expected_path)
            .unwrap_or_else(|err| panic!("{}: {err}", expected_path.display()));
        let expected_json: Value = serde_json::from_str(&expected_text)
            .unwrap_or_else(|err| panic!("{}: {err}", expected_path.display()));
        let limits = limits(&sse);
        let expected: Vec<OwnedFrame> = expected_json
            .as_array()
            .unwrap_or_else(|| panic!("{}: must be an array", expected_path.display()))
            .iter()
            .map(|value| frame(value, limits))
            .collect();

        assert_eq!(decode(limits, &[&input]), expected, "{name}: fed whole");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode(limits, &bytes), expected, "{name}: fed in 1-byte pieces");
        for k in 0..=input.len() {
            let (a, b) = input.split_at(k);
            assert_eq!(decode(limits, &[a, b]), expected, "{name}: split at {k}");
        }
    }
}

#[test]
fn every_expected_file_has_an_input() {
    for entry in fs::read_dir(DIR).unwrap_or_else(|err| panic!("{DIR}: {err}")) {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        if let Some(stem) =
            name.strip_suffix(".expected.json").or_else(|| name.strip_suffix(".limits"))
        {
            assert!(
                path.with_file_name(format!("{stem}.sse")).exists(),
                "{} has no .sse input",
                path.display()
            );
        }
    }
}
