//! `thinktee split` on hostile inputs (issue 13): many choices, floods of
//! invalid events, huge ids, choice indexes that are not integers. Bounds
//! are counted in output bytes and records, never in time.

use serde_json::Value;

use crate::support::{json_lines, thinktee};

const DONE: &str = "data: [DONE]\n\n";

/// One event: one delta of choice `index` (raw JSON) with `text`.
fn delta(index: &str, text: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"index\":{index},\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
    )
}

fn choices(range: std::ops::Range<usize>) -> String {
    range.map(|i| delta(&i.to_string(), "x")).collect()
}

/// `split --format json` of `input` on stdin: (stdout bytes, records, exit code).
fn split(input: &str) -> (usize, Vec<Value>, Option<i32>) {
    let out = thinktee(&["split", "--format", "json", "-"], input.as_bytes());
    (out.stdout.len(), json_lines(&out.stdout), out.status.code())
}

/// The bound is a constant factor of the input, so that nothing is copied
/// per record in proportion to something else (a huge id per choice, the
/// stream's errors per choice). The factor is set by the smallest case: a
/// one-byte delta (about 59 bytes of SSE) makes a record with every key of
/// the record shape (about 355 bytes).
#[test]
fn hostile_split_output_stays_within_seven_times_the_input() {
    let invalid_events = "data: {oops\n\n".repeat(2000);
    let huge = "i".repeat(64 << 10);
    let huge_id = format!("data: {{\"id\":\"{huge}\",\"model\":\"{huge}\",\"choices\":[]}}\n\n");
    let shapes = [
        ("300 choices, then 2,000 invalid events", [choices(0..300), invalid_events].concat()),
        ("1,000 choices of one byte each", choices(0..1000)),
        ("2,000 choices, past the limit", choices(0..2000)),
        ("a 64 KiB id and model, then 1,000 choices", [huge_id, choices(0..1000)].concat()),
    ];
    for (name, body) in shapes {
        let input = [body, DONE.to_owned()].concat();
        let (bytes, records, _) = split(&input);
        let bound = 7 * input.len() + 4096;
        assert!(bytes <= bound, "{name}: {bytes} bytes out of {} in", input.len());
        assert!(records.len() <= 1024, "{name}: {} records", records.len());
        // Live segments: a piece per delta and an end per choice, no text
        // copied into the ends.
        let out = thinktee(&["split", "--format", "segments", "-"], input.as_bytes());
        let bytes = out.stdout.len();
        assert!(bytes <= bound, "{name}, segments: {bytes} bytes out of {} in", input.len());
    }
}

#[test]
fn hostile_split_counts_choices_past_the_limit() {
    let input = [choices(0..1030), DONE.to_owned()].concat();
    let (_, records, code) = split(&input);
    assert_eq!(records.len(), 1024);
    assert_eq!(records[0]["errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(records[0]["errors"][0]["kind"], "too_many_choices");
    assert_eq!(records[0]["untracked_deltas"], 6);
    for r in &records[1..] {
        assert_eq!(r["errors"], serde_json::json!([]));
        assert!(r.get("untracked_deltas").is_none() && r.get("errors_omitted").is_none());
    }
    assert_eq!(code, Some(1), "an input with errors");
}

#[test]
fn hostile_split_caps_errors_on_the_first_record() {
    let input = [choices(0..3), "data: {oops\n\n".repeat(20), DONE.to_owned()].concat();
    let (_, records, code) = split(&input);
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["errors"].as_array().map(Vec::len), Some(8));
    assert_eq!(records[0]["errors_omitted"], serde_json::json!({"invalid_json": 12}));
    assert_eq!(records[1]["errors"], serde_json::json!([]));
    assert_eq!(code, Some(1));
}

#[test]
fn hostile_split_refuses_choice_indexes_that_are_not_integers() {
    for index in ["\"1\"", "-1", "1.5", "null", "4294967296"] {
        let input = [delta("0", "a"), delta(index, "EVIL"), DONE.to_owned()].concat();
        let (_, records, code) = split(&input);
        assert_eq!(records.len(), 1, "{index}");
        assert_eq!(records[0]["content"], "a", "{index}: merged into choice 0");
        assert_eq!(records[0]["errors"][0]["kind"], "invalid_choice_index", "{index}");
        assert_eq!(code, Some(1), "{index}");
    }
}
