//! `thinktee analyze` against numbers worked out here from the
//! hand-written `fixtures/e2e/*.expected.jsonl`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::support::{fixtures, json_lines, preset_of, root, thinktee};

/// Nearest-rank percentiles, as the summary reports them.
fn dist(mut sample: Vec<u64>) -> Value {
    sample.sort_unstable();
    let n = sample.len();
    let rank = |q: f64| -> Value {
        if n == 0 {
            return Value::Null;
        }
        let k = (q * n as f64).ceil() as usize;
        json!(sample[k.max(1) - 1])
    };
    json!({"count": n, "p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "max": sample.last()})
}

fn no_timings() -> Value {
    let none = json!({"count": 0, "p50": null, "p90": null, "p99": null, "max": null});
    json!({"ttft": none, "first_answer": none, "thinking": none, "total": none})
}

/// A group's sums, as the summary reports them (no timings: recordings).
#[derive(Default)]
struct Group {
    streams: u64,
    reasoning_streams: u64,
    choices: u64,
    unterminated: u64,
    tool_calls: u64,
    not_complete: u64,
    with_errors: u64,
    with_usage: u64,
    tokens: [u64; 3],
    /// Output tokens of the streams whose usage gave a reasoning count.
    output_with_reasoning_count: u64,
}

impl Group {
    fn json(&self) -> Value {
        let [input, output, reasoning] = self.tokens;
        let none = json!({"ttft": null, "first_answer": null, "thinking": null, "total": null});
        json!({
            "streams": self.streams, "reasoning_streams": self.reasoning_streams,
            "choices": self.choices, "unterminated": self.unterminated,
            "tool_calls": self.tool_calls, "not_complete": self.not_complete,
            "with_errors": self.with_errors, "with_usage": self.with_usage,
            "input_tokens": input, "output_tokens": output, "reasoning_tokens": reasoning,
            "reasoning_token_share": (self.output_with_reasoning_count > 0)
                .then(|| reasoning as f64 / self.output_with_reasoning_count as f64),
            "mean_ms": none,
        })
    }
}

/// Shares of tokens to 9 decimals: serde_json reads floats back to within
/// one unit in the last place only.
fn round_shares(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                match v.as_f64() {
                    Some(share) if k == "reasoning_token_share" => {
                        *v = json!(format!("{share:.9}"));
                    }
                    _ => round_shares(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_shares),
        _ => {}
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_default() += 1;
}

/// The summary of `stems` (their `.sse` recordings), from their expected
/// `split` output: one line per choice, streams by `(file, stream)`.
fn expected_summary(stems: &[String]) -> Value {
    let mut summary = summed_up(stems);
    round_shares(&mut summary);
    summary
}

fn summed_up(stems: &[String]) -> Value {
    let mut choices = 0u64;
    let mut with_reasoning = 0u64;
    let mut sources = BTreeMap::new();
    let (mut reasoning_bytes, mut answer_bytes) = (Vec::new(), Vec::new());
    let (mut reasoning_tokens, mut answer_tokens) = (Vec::new(), Vec::new());
    let mut finish = BTreeMap::new();
    let mut unterminated = 0u64;
    let (mut events, mut filtered) = (0u64, 0u64);
    let (mut by_source, mut by_category, mut by_severity) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut errors = BTreeMap::new();
    let mut outcomes = BTreeMap::new();
    let mut streams = 0u64;
    let mut formats = BTreeMap::new();
    let mut segments = Vec::new();
    let (mut signed, mut redacted, mut encrypted) = (0u64, 0u64, 0u64);
    let (mut with_tool_calls, mut tool_calls) = (0u64, 0u64);
    let mut all = Group::default();
    let mut by_model: BTreeMap<String, Group> = BTreeMap::new();
    for stem in stems {
        let text =
            std::fs::read(root().join(format!("fixtures/e2e/{stem}.expected.jsonl"))).unwrap();
        let mut by_stream: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        for line in json_lines(&text) {
            by_stream.entry(line["stream"].as_u64().unwrap()).or_default().push(line);
        }
        for lines in by_stream.values() {
            streams += 1;
            let first = &lines[0];
            bump(&mut formats, first["format"].as_str().unwrap());
            // Stream level: errors, outcome, tokens, prompt filters.
            let kinds: Vec<&str> = first["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["kind"].as_str().unwrap())
                .collect();
            for kind in &kinds {
                bump(&mut errors, kind);
            }
            let outcome = if kinds.contains(&"api") {
                "upstream_error"
            } else if first["done"] == true || lines.iter().all(|l| !l["finish_reason"].is_null()) {
                "complete"
            } else {
                "incomplete"
            };
            bump(&mut outcomes, outcome);
            let usage = &first["usage"];
            // A stream reasons when its usage counts reasoning tokens or
            // a choice has reasoning of any kind.
            let reasons = usage["reasoning_tokens"].as_u64().is_some_and(|n| n > 0)
                || lines.iter().any(|l| {
                    !l["reasoning"].as_str().unwrap().is_empty()
                        || l["reasoning_segments"].as_u64().unwrap() > 0
                        || ["reasoning_signed", "reasoning_redacted", "reasoning_encrypted"]
                            .iter()
                            .any(|k| l[*k] == true)
                });
            if let Some(reasoning) = usage["reasoning_tokens"].as_u64() {
                if reasons {
                    reasoning_tokens.push(reasoning);
                }
                if let Some(completion) = usage["completion_tokens"].as_u64() {
                    answer_tokens.push(completion - reasoning);
                }
            }
            let model = first["model"].as_str().unwrap_or("(none)").to_owned();
            for g in [&mut all, by_model.entry(model).or_default()] {
                g.streams += 1;
                g.reasoning_streams += u64::from(reasons);
                g.choices += lines.len() as u64;
                g.unterminated += lines.iter().filter(|l| l["unterminated"] == true).count() as u64;
                g.tool_calls += lines
                    .iter()
                    .map(|l| l["tool_calls"].as_array().unwrap().len() as u64)
                    .sum::<u64>();
                g.not_complete += u64::from(outcome != "complete");
                g.with_errors += u64::from(!kinds.is_empty());
                if let Some(output) = usage["completion_tokens"].as_u64() {
                    g.with_usage += 1;
                    g.tokens[0] += usage["prompt_tokens"].as_u64().unwrap_or(0);
                    g.tokens[1] += output;
                    if let Some(reasoning) = usage["reasoning_tokens"].as_u64() {
                        g.tokens[2] += reasoning;
                        g.output_with_reasoning_count += output;
                    }
                }
            }
            let prompt =
                first["filters"].as_array().unwrap().iter().filter(|f| f["source"] == "prompt");
            let completion = lines.iter().flat_map(|l| {
                l["filters"].as_array().unwrap().iter().filter(|f| f["source"] == "completion")
            });
            for f in prompt.chain(completion) {
                events += 1;
                filtered += u64::from(f["filtered"] == true);
                bump(&mut by_source, f["source"].as_str().unwrap());
                bump(&mut by_category, f["category"].as_str().unwrap());
                if let Some(s) = f["severity"].as_str() {
                    bump(&mut by_severity, s);
                }
            }
            // Choice level.
            for l in lines {
                choices += 1;
                let reasoning = l["reasoning"].as_str().unwrap();
                with_reasoning += u64::from(!reasoning.is_empty());
                reasoning_bytes.push(reasoning.len() as u64);
                answer_bytes.push(l["content"].as_str().unwrap().len() as u64);
                bump(&mut sources, l["reasoning_source"].as_str().unwrap());
                let n = l["reasoning_segments"].as_u64().unwrap();
                if n > 0 {
                    segments.push(n);
                }
                signed += u64::from(l["reasoning_signed"] == true);
                redacted += u64::from(l["reasoning_redacted"] == true);
                encrypted += u64::from(l["reasoning_encrypted"] == true);
                let calls = l["tool_calls"].as_array().unwrap().len() as u64;
                with_tool_calls += u64::from(calls > 0);
                tool_calls += calls;
                bump(&mut finish, l["finish_reason"].as_str().unwrap_or("none"));
                unterminated += u64::from(l["unterminated"] == true);
            }
        }
    }
    json!({
        "streams": streams,
        "formats": formats,
        "choices": choices,
        "with_reasoning": with_reasoning,
        "reasoning_share": with_reasoning as f64 / choices as f64,
        "reasoning_sources": sources,
        "reasoning_segments": dist(segments),
        "opaque_reasoning": {"signed": signed, "redacted": redacted, "encrypted": encrypted},
        "with_tool_calls": with_tool_calls,
        "tool_calls": tool_calls,
        "reasoning_bytes": dist(reasoning_bytes),
        "answer_bytes": dist(answer_bytes),
        "reasoning_tokens": dist(reasoning_tokens),
        "answer_tokens": dist(answer_tokens),
        "finish_reasons": finish,
        "unterminated": unterminated,
        "filters": {
            "events": events,
            "filtered": filtered,
            "by_source": by_source,
            "by_category": by_category,
            "by_severity": by_severity,
        },
        "errors": errors,
        "outcomes": outcomes,
        "timings_ms": no_timings(),
        "totals": all.json(),
        "by_model": by_model.iter().map(|(k, g)| (k.clone(), g.json())).collect::<Map<_, _>>(),
        // Recordings have no request time.
        "by_day": {"(none)": all.json()},
    })
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn summary(stdout: &[u8]) -> Value {
    let mut lines = json_lines(stdout);
    assert_eq!(lines.len(), 1, "one JSON object");
    lines.pop().unwrap()
}

#[test]
fn the_fixture_folder_sums_up_as_its_expected_outputs_say() {
    // The fixtures split with the default preset, and their expected
    // outputs, named one by one: the `preset_*` ones are summed up below,
    // each group with its own preset.
    let (with_presets, stems): (Vec<String>, Vec<String>) =
        fixtures("e2e").into_iter().partition(|s| preset_of(s).is_some());
    let per_stream = temp_dir("per-stream").join("streams.jsonl");
    let mut args: Vec<String> =
        ["analyze", "--format", "json", "--per-stream", per_stream.to_str().unwrap()]
            .map(str::to_owned)
            .to_vec();
    for stem in &stems {
        args.push(format!("fixtures/e2e/{stem}.sse"));
        args.push(format!("fixtures/e2e/{stem}.expected.jsonl"));
    }
    let out = thinktee(&args.iter().map(String::as_str).collect::<Vec<_>>(), b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let mut got = summary(&out.stdout);
    round_shares(&mut got);
    let n = stems.len() as u64;
    // Every `.expected.jsonl` is skipped: it is split output, not a transcript.
    assert_eq!(
        got["files"],
        json!({"total": 2 * n, "recordings": n, "transcripts": 0, "skipped": n, "malformed": 0})
    );
    assert!(stderr.contains(&format!("skipped {n} file(s)")), "{stderr}");
    got.as_object_mut().unwrap().remove("files");
    assert_eq!(got, expected_summary(&stems));

    let lines = json_lines(&std::fs::read(&per_stream).unwrap());
    assert_eq!(lines.len() as u64, expected_summary(&stems)["choices"].as_u64().unwrap());
    assert!(lines.iter().all(|l| l["source"].as_str().unwrap().ends_with(".sse")));
    assert_eq!(lines[0]["source"], "fixtures/e2e/azure_400_content_filter.sse");
    std::fs::remove_dir_all(per_stream.parent().unwrap()).unwrap();

    let mut presets: Vec<&str> = with_presets.iter().filter_map(|s| preset_of(s)).collect();
    presets.dedup();
    assert!(presets.len() >= 5, "fixtures for only {presets:?}");
    for preset in presets {
        let group: Vec<String> =
            with_presets.iter().filter(|s| preset_of(s) == Some(preset)).cloned().collect();
        let paths: Vec<String> = group.iter().map(|s| format!("fixtures/e2e/{s}.sse")).collect();
        let mut args = vec!["analyze", "--format", "json", "--preset", preset];
        args.extend(paths.iter().map(String::as_str));
        let out = thinktee(&args, b"");
        let mut got = summary(&out.stdout);
        round_shares(&mut got);
        got.as_object_mut().unwrap().remove("files");
        assert_eq!(got, expected_summary(&group), "--preset {preset}");
    }
}

#[test]
fn a_malformed_file_is_reported_and_skipped_the_rest_summed_up() {
    let dir = temp_dir("malformed");
    let good = ["deepseek_reasoning_content".to_owned(), "n2_interleaved_choices".to_owned()];
    for stem in &good {
        std::fs::copy(
            root().join(format!("fixtures/e2e/{stem}.sse")),
            dir.join(format!("{stem}.sse")),
        )
        .unwrap();
    }
    std::fs::write(dir.join("broken.json"), "{\"choices\": [").unwrap();
    std::fs::create_dir(dir.join("nested")).unwrap();
    std::fs::write(dir.join("nested/garbage.jsonl"), "not json at all\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "ignored: not a known extension").unwrap();
    let out = thinktee(&["analyze", "--format", "json", dir.to_str().unwrap()], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.json"), "{stderr}");
    assert!(stderr.contains("garbage.jsonl"), "{stderr}");
    let mut got = summary(&out.stdout);
    round_shares(&mut got);
    assert_eq!(
        got["files"],
        json!({"total": 4, "recordings": 2, "transcripts": 0, "skipped": 0, "malformed": 2})
    );
    got.as_object_mut().unwrap().remove("files");
    assert_eq!(got, expected_summary(&good));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn text_is_a_table_and_a_missing_path_is_an_error() {
    let out = thinktee(&["analyze", "fixtures/e2e/vllm_reasoning.sse", "no/such/file.sse"], b"");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for row in ["streams            1", "reasoning bytes", "finish reasons     stop 1", "outcomes"]
    {
        assert!(text.contains(row), "{row}: {text}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.sse"));
    let usage = thinktee(&["analyze"], b"");
    assert_eq!(usage.status.code(), Some(2));
}
