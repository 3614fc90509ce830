//! `thinktee export`: the files read back with the Parquet reader (and,
//! through `scripts/setup-python.sh`, with pyarrow and DuckDB) hold the
//! rows `split --format json` prints for the same inputs, and the
//! transcripts' lines for transcripts.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, StructArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value, json};
use thinktee_export::{COLUMNS, Kind};

use crate::support::{fixtures, json_lines, root, thinktee};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every `.parquet` file under `dir`, with its partition directory.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for day in fs::read_dir(dir).unwrap() {
        let day = day.unwrap().path();
        if !day.file_name().unwrap().to_string_lossy().starts_with("date=") {
            continue;
        }
        for f in fs::read_dir(&day).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "parquet") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

/// One value of an Arrow array as JSON, by the column's kind.
fn value(array: &ArrayRef, kind: Kind, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match kind {
        Kind::Str => json!(array.as_string::<i32>().value(i)),
        Kind::Int => json!(array.as_primitive::<Int64Type>().value(i)),
        Kind::Bool => json!(array.as_boolean().value(i)),
        Kind::Time => json!(array.as_primitive::<TimestampMicrosecondType>().value(i)),
        Kind::Filters | Kind::Errors | Kind::ToolCalls => {
            let fields = match kind {
                Kind::Filters => thinktee_export::FILTER_FIELDS,
                Kind::Errors => thinktee_export::ERROR_FIELDS,
                _ => thinktee_export::TOOL_CALL_FIELDS,
            };
            let items = array.as_list::<i32>().value(i);
            let items: &StructArray = items.as_struct();
            (0..items.len())
                .map(|k| {
                    let mut m = Map::new();
                    for (f, (name, kind)) in fields.iter().enumerate() {
                        let v = value(items.column(f), *kind, k);
                        if !v.is_null() {
                            m.insert((*name).to_owned(), v);
                        }
                    }
                    Value::Object(m)
                })
                .collect()
        }
    }
}

/// Every row of the Parquet files under `dir`, as JSON objects, with the
/// partition directory as `date`.
fn rows(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for file in parquet_files(dir) {
        let date = file.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            for i in 0..batch.num_rows() {
                let mut m = Map::new();
                m.insert("date".into(), json!(date.trim_start_matches("date=")));
                for (c, column) in COLUMNS.iter().zip(batch.columns()) {
                    m.insert(c.name.to_owned(), value(column, c.kind, i));
                }
                out.push(Value::Object(m));
            }
        }
    }
    out
}

type Key = (String, u64, Option<u64>);

fn key(row: &Value) -> Key {
    (
        row["source"].as_str().unwrap().to_owned(),
        row["stream"].as_u64().unwrap(),
        row["choice"].as_u64(),
    )
}

fn by_key(rows: Vec<Value>) -> BTreeMap<Key, Value> {
    let n = rows.len();
    let map: BTreeMap<_, _> = rows.into_iter().map(|r| (key(&r), r)).collect();
    assert_eq!(map.len(), n, "one row per (source, stream, choice)");
    map
}

/// The recordings of `fixtures/e2e`, plus a gzip copy of one of them.
fn recordings(scratch: &Path) -> Vec<String> {
    let mut paths: Vec<String> =
        fixtures("e2e").iter().map(|s| format!("fixtures/e2e/{s}.sse")).collect();
    let raw = fs::read(root().join("fixtures/e2e/deepseek_reasoning_content.sse")).unwrap();
    let gz = scratch.join("deepseek.sse.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&raw).unwrap();
    fs::write(&gz, enc.finish().unwrap()).unwrap();
    paths.push(gz.to_string_lossy().into_owned());
    paths
}

/// What a row must hold of a `split --format json` line.
fn assert_row_matches_split(row: &Value, line: &Value) {
    let k = key(line);
    for field in [
        "id",
        "model",
        "reasoning",
        "content",
        "reasoning_source",
        "finish_reason",
        "unterminated",
        "done",
        "format",
        "reasoning_segments",
        "reasoning_signed",
        "reasoning_redacted",
        "reasoning_encrypted",
    ] {
        assert_eq!(row[field], line[field], "{k:?}: {field}");
    }
    // Tool calls: split's, an unknown id or name left out as the reader
    // leaves out nulls.
    let calls: Vec<Value> = line["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.as_object().unwrap().clone();
            c.retain(|_, v| !v.is_null());
            Value::Object(c)
        })
        .collect();
    assert_eq!(row["tool_calls"], json!(calls), "{k:?}");
    assert_eq!(row["reasoning_bytes"], json!(line["reasoning"].as_str().unwrap().len()), "{k:?}");
    match line.get("usage").filter(|u| !u.is_null()) {
        Some(u) => {
            assert_eq!(row["tokens_estimated"], json!(false), "{k:?}");
            assert_eq!(row["input_tokens"], u["prompt_tokens"], "{k:?}");
            assert_eq!(row["output_tokens"], u["completion_tokens"], "{k:?}");
            assert_eq!(row["reasoning_tokens"], u["reasoning_tokens"], "{k:?}");
        }
        None => {
            assert_eq!(row["tokens_estimated"], json!(true), "{k:?}");
            assert_eq!(row["input_tokens"], Value::Null, "{k:?}");
        }
    }
    // Filters: split's events, offsets flattened into the struct.
    let filters: Vec<Value> = line["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.as_object().unwrap().clone();
            if let Some(Value::Object(offsets)) = f.remove("offsets") {
                f.extend(offsets);
            }
            Value::Object(f)
        })
        .collect();
    assert_eq!(row["filters"], json!(filters), "{k:?}");
    assert_eq!(row["errors"], line["errors"], "{k:?}");
    assert_eq!(row["date"], json!("__HIVE_DEFAULT_PARTITION__"), "{k:?}");
    assert_eq!(row["schema_version"], json!(2));
}

#[test]
fn exported_rows_are_splits_lines_for_every_recording() {
    let scratch = temp_dir("export-split");
    let paths = recordings(&scratch);
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let lines =
        json_lines(&thinktee(&[&["split", "--format", "json"], &args[..]].concat(), b"").stdout);
    let out = scratch.join("out");
    let export = thinktee(&[&["export", "--out", out.to_str().unwrap()], &args[..]].concat(), b"");
    // Streams with errors make split exit 1; export, like analyze, only
    // files it could not read.
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let rows = by_key(rows(&out));
    let lines = by_key(lines);
    assert_eq!(rows.keys().collect::<Vec<_>>(), lines.keys().collect::<Vec<_>>());
    for (k, line) in &lines {
        assert_row_matches_split(&rows[k], line);
    }
    // Each stream's first row says so; the others do not.
    let firsts = rows.values().filter(|r| r["first_of_stream"] == json!(true)).count();
    let streams: std::collections::BTreeSet<_> = rows.keys().map(|(s, n, _)| (s, n)).collect();
    assert_eq!(firsts, streams.len());
    // The fixtures have what the version 2 columns hold.
    let any = |f: &dyn Fn(&Value) -> bool| rows.values().any(f);
    assert!(any(&|r| r["format"] == json!("messages")));
    assert!(any(&|r| r["tool_calls"].as_array().is_some_and(|c| !c.is_empty())));
    assert!(any(&|r| r["reasoning_segments"] == json!(2)));
    assert!(any(&|r| r["reasoning_encrypted"] == json!(true)));
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn a_second_export_of_the_same_sources_adds_nothing_and_a_changed_one_is_named() {
    let scratch = temp_dir("export-again");
    let source = scratch.join("r.sse");
    fs::copy(root().join("fixtures/e2e/azure_reasoning_content.sse"), &source).unwrap();
    let out = scratch.join("out");
    let run =
        || thinktee(&["export", "--out", out.to_str().unwrap(), source.to_str().unwrap()], b"");
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let n = rows(&out).len();
    assert!(n > 0);
    let second = run();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("1 file(s) already exported"));
    assert_eq!((rows(&out).len(), parquet_files(&out).len()), (n, 1));
    // Grown: exported again, whole, and said so.
    let mut more = fs::read(&source).unwrap();
    more.extend(fs::read(root().join("fixtures/e2e/deepseek_reasoning_content.sse")).unwrap());
    fs::write(&source, more).unwrap();
    let third = run();
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(stderr.contains("changed since it was exported"), "{stderr}");
    assert!(stderr.contains("deduplicate on source, stream, choice"), "{stderr}");
    assert_eq!(parquet_files(&out).len(), 2);
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn a_source_exported_with_other_filters_is_exported_again_with_these() {
    let scratch = temp_dir("export-taken");
    // Streams whose requests asked for models a, b, a (one row each).
    let (path, _) = transcript(&scratch, &[(MAY_1, "a"), (MAY_2, "b"), (MAY_2, "a")]);
    let out = scratch.join("out");
    let run = |filter: &[&str]| {
        let args = [&["export", "--out", out.to_str().unwrap()], filter, &[path.to_str().unwrap()]]
            .concat();
        let run = thinktee(&args, b"");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    let models = || {
        let mut m: Vec<String> =
            rows(&out).iter().map(|r| r["request_model"].as_str().unwrap().to_owned()).collect();
        m.sort();
        m
    };
    run(&["--model", "a"]);
    assert_eq!(models(), ["a", "a"]);
    // Before, this found the file in the manifest and added nothing: b's
    // row was silently missing.
    let stderr = run(&["--model", "b"]);
    assert!(stderr.contains("before with other --since, --until, --model"), "{stderr}");
    assert_eq!(models(), ["a", "a", "b"]);
    // The same filters again: nothing.
    let stderr = run(&["--model", "b"]);
    assert!(stderr.contains("1 file(s) already exported"), "{stderr}");
    assert_eq!(models(), ["a", "a", "b"]);
    // Every row: all three, said so; the key tells the copies apart.
    let stderr = run(&[]);
    assert!(stderr.contains("deduplicate on source, stream, choice"), "{stderr}");
    assert_eq!(models(), ["a", "a", "a", "a", "b", "b"]);
    let stderr = run(&[]);
    assert!(stderr.contains("1 file(s) already exported"), "{stderr}");
    // Every row is there now, whatever the filters.
    let stderr = run(&["--model", "a", "--no-text"]);
    assert!(stderr.contains("1 file(s) already exported"), "{stderr}");
    assert_eq!(rows(&out).len(), 6);
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn a_source_exported_with_schema_version_1_is_skipped_and_said_so() {
    let scratch = temp_dir("export-v1");
    let source = scratch.join("r.sse");
    fs::copy(root().join("fixtures/e2e/azure_reasoning_content.sse"), &source).unwrap();
    let out = scratch.join("out");
    let run =
        || thinktee(&["export", "--out", out.to_str().unwrap(), source.to_str().unwrap()], b"");
    assert!(run().status.success());
    // The run's manifest line as version 1 wrote it: no schema_version.
    let manifests = out.join(thinktee_export::MANIFEST_DIR);
    let file = fs::read_dir(&manifests).unwrap().next().unwrap().unwrap().path();
    let mut line: Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(line["schema_version"], json!(2));
    line.as_object_mut().unwrap().remove("schema_version");
    fs::write(&file, format!("{line}\n")).unwrap();
    let again = run();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("1 file(s) already exported"), "{stderr}");
    assert!(stderr.contains("1 of the files already exported"), "{stderr}");
    assert!(stderr.contains("schema version 1"), "{stderr}");
    assert_eq!(parquet_files(&out).len(), 1);
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn no_text_keeps_sizes_and_drops_texts() {
    let scratch = temp_dir("export-no-text");
    let out = scratch.join("out");
    let fixture = "fixtures/e2e/azure_reasoning_content.sse";
    let export = thinktee(&["export", "--no-text", "--out", out.to_str().unwrap(), fixture], b"");
    assert!(export.status.success());
    let split = json_lines(&thinktee(&["split", "--format", "json", fixture], b"").stdout);
    let rows = rows(&out);
    assert_eq!(rows.len(), split.len());
    for (row, line) in rows.iter().zip(&split) {
        assert_eq!((&row["reasoning"], &row["content"]), (&Value::Null, &Value::Null));
        assert_eq!(row["content_bytes"], json!(line["content"].as_str().unwrap().len()));
    }
    fs::remove_dir_all(&scratch).unwrap();
}

/// A transcript of the demo's recordings, its lines rewritten to carry
/// the given request times (ms) and models, one stream each.
fn transcript(dir: &Path, times_and_models: &[(u64, &str)]) -> (PathBuf, Vec<Value>) {
    let demo = dir.join("demo");
    let run = thinktee(&["demo", "--out", demo.to_str().unwrap()], b"");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let lines = json_lines(&fs::read(demo.join("transcripts.jsonl")).unwrap());
    let mut out = Vec::new();
    for (line, (ms, model)) in
        lines.into_iter().filter(|l| l["choice"] == json!(0)).zip(times_and_models)
    {
        let mut line = line;
        line["request"]["started_unix_ms"] = json!(ms);
        line["request"]["model"] = json!(model);
        out.push(line);
    }
    assert_eq!(out.len(), times_and_models.len());
    let path = dir.join("t.jsonl");
    let text: String = out.iter().map(|l| format!("{l}\n")).collect();
    fs::write(&path, text).unwrap();
    (path, out)
}

// 2026-05-01T12:10:00Z and a day later.
const MAY_1: u64 = 1_777_637_400_000;
const MAY_2: u64 = MAY_1 + 86_400_000;

#[test]
fn transcript_rows_carry_the_request_and_timings_in_microseconds() {
    let scratch = temp_dir("export-transcript");
    let (path, lines) = transcript(&scratch, &[(MAY_1, "a"), (MAY_2, "b"), (MAY_2, "a")]);
    let out = scratch.join("out");
    let export = thinktee(&["export", "--out", out.to_str().unwrap(), path.to_str().unwrap()], b"");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let rows = rows(&out);
    assert_eq!(rows.len(), 3);
    let dates: Vec<_> = rows.iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-05-01", "2026-05-02", "2026-05-02"]);
    let us = |v: &Value| v.as_f64().map(|ms| json!((ms * 1000.0).round() as i64));
    for (row, line) in rows.iter().zip(&lines) {
        assert_eq!(row["request_id"], line["request"]["request_id"]);
        assert_eq!(row["request_model"], line["request"]["model"]);
        assert_eq!(row["status"], line["request"]["status"]);
        assert_eq!(
            row["started_at"],
            json!(line["request"]["started_unix_ms"].as_u64().unwrap() * 1000)
        );
        assert_eq!(row["outcome"], line["outcome"]);
        assert_eq!((&row["reasoning"], &row["content"]), (&line["reasoning"], &line["content"]));
        let m = &line["metrics"];
        assert_eq!(
            Some(row["time_to_first_byte_us"].clone()),
            us(&m["time_to_first_byte_ms"]).or(Some(Value::Null))
        );
        assert_eq!(
            Some(row["total_duration_us"].clone()),
            us(&m["total_duration_ms"]).or(Some(Value::Null))
        );
        assert_eq!(row["tokens_estimated"], m["tokens"]["estimated"]);
        assert_eq!(row["output_tokens"], m["tokens"]["completion"]);
    }
    assert!(rows.iter().any(|r| !r["total_duration_us"].is_null()), "the demo records timings");
    fs::remove_dir_all(&scratch).unwrap();
}

/// The demo's transcript lines again and again, `n` streams whose request
/// days cycle over `days` days (stream i on day i % days): what one
/// transcript gathered from proxies whose clocks took turns would hold.
fn cycling_days(dir: &Path, n: u64, days: u64) -> (PathBuf, Vec<Value>) {
    let demo = dir.join("demo");
    let run = thinktee(&["demo", "--out", demo.to_str().unwrap()], b"");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let lines: Vec<Value> = json_lines(&fs::read(demo.join("transcripts.jsonl")).unwrap())
        .into_iter()
        .filter(|l| l["choice"] == json!(0))
        .collect();
    let out: Vec<Value> = (0..n)
        .map(|i| {
            let mut line = lines[i as usize % lines.len()].clone();
            line["stream"] = json!(i);
            line["request"]["request_id"] = json!(format!("q{i}"));
            line["request"]["started_unix_ms"] = json!(MAY_1 + (i % days) * 86_400_000 + i);
            line
        })
        .collect();
    let path = dir.join("cycling.jsonl");
    fs::write(&path, out.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    (path, out)
}

#[test]
fn rows_whose_days_alternate_make_one_file_per_day() {
    let scratch = temp_dir("export-cycling");
    // 9 days in turn (more than the 4 files export kept open before its
    // memory budget, when this made a file per row).
    let (path, lines) = cycling_days(&scratch, 180, 9);
    let out = scratch.join("out");
    let export = thinktee(&["export", "--out", out.to_str().unwrap(), path.to_str().unwrap()], b"");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let files = parquet_files(&out);
    let dirs: Vec<String> = files
        .iter()
        .map(|f| f.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let expected: Vec<String> = (1..=9).map(|d| format!("date=2026-05-{d:02}")).collect();
    assert_eq!(dirs, expected);
    let rows = rows(&out);
    assert_eq!(rows.len(), 180);
    for (row, line) in by_key(rows).values().zip(&lines) {
        assert_eq!(row["stream"], line["stream"]);
        assert_eq!(row["request_id"], line["request"]["request_id"]);
        assert_eq!(
            row["started_at"],
            json!(line["request"]["started_unix_ms"].as_u64().unwrap() * 1000)
        );
        assert_eq!((&row["reasoning"], &row["content"]), (&line["reasoning"], &line["content"]));
    }
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn since_until_and_model_select_streams_in_export_and_analyze() {
    let scratch = temp_dir("export-select");
    let (path, _) = transcript(&scratch, &[(MAY_1, "a"), (MAY_2, "b"), (MAY_2, "a")]);
    let path = path.to_str().unwrap();
    let exported = |name: &str, filter: &[&str]| {
        let out = scratch.join(name);
        let args = [&["export", "--out", out.to_str().unwrap()], filter, &[path]].concat();
        let run = thinktee(&args, b"");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        rows(&out).len()
    };
    let analyzed = |filter: &[&str]| {
        let args = [&["analyze", "--format", "json"], filter, &[path]].concat();
        let summary: Value = serde_json::from_slice(&thinktee(&args, b"").stdout).unwrap();
        summary["streams"].as_u64().unwrap() as usize
    };
    for (name, filter, n) in [
        ("all", &[][..], 3),
        ("since", &["--since", "2026-05-02"][..], 2),
        ("until", &["--until", "2026-05-01T12:10:00.001Z"][..], 1),
        ("both", &["--since", "2026-05-01T12:10:00Z", "--until", "2026-05-02"][..], 1),
        ("model", &["--model", "a"][..], 2),
        ("model-since", &["--model", "a", "--since", "2026-05-02"][..], 1),
    ] {
        assert_eq!((exported(name, filter), analyzed(filter)), (n, n), "{name}");
    }
    // Recordings have no request time: a time bound leaves them out.
    let fixture = "fixtures/e2e/azure_reasoning_content.sse";
    let summary: Value = serde_json::from_slice(
        &thinktee(&["analyze", "--format", "json", "--since", "2026-01-01", fixture], b"").stdout,
    )
    .unwrap();
    assert_eq!(summary["streams"], json!(0));
    let bad = thinktee(&["export", "--out", "x", "--since", "May 1st", path], b"");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a time"));
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn csv_export_has_the_same_rows() {
    let scratch = temp_dir("export-csv");
    let out = scratch.join("out");
    let fixture = "fixtures/e2e/n2_interleaved_choices.sse";
    let export =
        thinktee(&["export", "--format", "csv", "--out", out.to_str().unwrap(), fixture], b"");
    assert!(export.status.success());
    let dir = out.join("date=__HIVE_DEFAULT_PARTITION__");
    let files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    assert!(files[0].extension().is_some_and(|e| e == "csv"));
    let text = fs::read_to_string(&files[0]).unwrap();
    let split = json_lines(&thinktee(&["split", "--format", "json", fixture], b"").stdout);
    // A header, then one record per choice, each ended by CRLF (the texts
    // hold LF only, inside quotes).
    assert_eq!(text.matches("\r\n").count(), 1 + split.len());
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn a_progress_bar_shows_on_a_terminal_only() {
    // 200 files show the bar from the start (PROGRESS_MIN_FILES).
    let scratch = temp_dir("export-progress");
    let inputs = scratch.join("in");
    fs::create_dir_all(&inputs).unwrap();
    let raw = fs::read(root().join("fixtures/e2e/azure_reasoning_content.sse")).unwrap();
    for i in 0..200 {
        fs::write(inputs.join(format!("r{i:03}.sse")), &raw).unwrap();
    }
    let bar = "/200 files";
    let piped = thinktee(
        &["export", "--out", scratch.join("piped").to_str().unwrap(), inputs.to_str().unwrap()],
        b"",
    );
    assert!(piped.status.success());
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains(bar), "{stderr}");
    assert!(stderr.contains("from 200 file(s)"), "{stderr}");
    // script(1) runs it on a terminal; its output is the terminal's.
    let command = format!(
        "{} export --out '{}' '{}'",
        crate::support::BIN,
        scratch.join("tty").display(),
        inputs.display()
    );
    let tty = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1), from util-linux");
    assert!(tty.status.success());
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(shown.contains(bar), "{shown}");
    assert!(shown.contains("from 200 file(s)"), "{shown}");
    fs::remove_dir_all(&scratch).unwrap();
}

// === pyarrow and DuckDB ===

/// Reads the export with pyarrow and DuckDB and prints, per row, what the
/// test compares with `split`.
const CHECK: &str = r#"
import json, sys
import duckdb, pyarrow as pa, pyarrow.dataset as ds

out = sys.argv[1]
part = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")
table = ds.dataset(out, format="parquet", partitioning=part).to_table()
cols = ["source", "stream", "choice", "id", "reasoning", "content", "reasoning_source",
        "input_tokens", "output_tokens", "reasoning_tokens", "tokens_estimated",
        "format", "tool_calls", "reasoning_segments", "reasoning_signed", "reasoning_redacted",
        "reasoning_encrypted"]
by_pyarrow = sorted(json.dumps(r, sort_keys=True) for r in table.select(cols).to_pylist())
rel = duckdb.sql(f"SELECT {', '.join(cols)} FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true)")
by_duckdb = sorted(json.dumps(dict(zip(cols, r)), sort_keys=True) for r in rel.fetchall())
dates = duckdb.sql(f"SELECT DISTINCT date IS NULL FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true)").fetchall()
print(json.dumps({"pyarrow": by_pyarrow, "duckdb": by_duckdb, "date_is_null": dates}))
"#;

fn python() -> Option<String> {
    if std::env::var_os("THINKTEE_SKIP_PYTHON").is_some_and(|v| v == "1") {
        eprintln!("THINKTEE_SKIP_PYTHON=1: skipping the pyarrow and DuckDB test");
        return None;
    }
    let out = Command::new("bash")
        .arg(root().join("scripts/setup-python.sh"))
        .args(["pyarrow", "duckdb"])
        .current_dir(root())
        .output()
        .expect("run scripts/setup-python.sh");
    assert!(
        out.status.success(),
        "scripts/setup-python.sh pyarrow duckdb failed (it needs python3 with venv and network \
         to PyPI; set THINKTEE_SKIP_PYTHON=1 to skip this test):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    Some(stdout.lines().last().expect("the venv's python").trim().to_owned())
}

/// Reads an export with pyarrow and DuckDB and prints, from each, its rows'
/// (date, stream, request id, reasoning, content), and DuckDB's rows per date.
const CHECK_DAYS: &str = r#"
import json, sys
import duckdb, pyarrow as pa, pyarrow.dataset as ds

out = sys.argv[1]
part = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")
cols = ["date", "stream", "request_id", "reasoning", "content"]
table = ds.dataset(out, format="parquet", partitioning=part).to_table().select(cols)
by_pyarrow = sorted([r["date"], r["stream"], r["request_id"], r["reasoning"], r["content"]]
                    for r in table.to_pylist())
rel = duckdb.sql(f"SELECT CAST(date AS VARCHAR), stream, request_id, reasoning, content "
                 f"FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true) ORDER BY stream")
by_duckdb = sorted(list(r) for r in rel.fetchall())
per_date = duckdb.sql(f"SELECT CAST(date AS VARCHAR), count(*) FROM read_parquet('{out}/**/*.parquet', "
                      f"hive_partitioning = true) GROUP BY ALL ORDER BY 1").fetchall()
print(json.dumps({"pyarrow": by_pyarrow, "duckdb": by_duckdb, "per_date": per_date}))
"#;

#[test]
fn pyarrow_and_duckdb_read_rows_whose_days_alternate() {
    let Some(python) = python() else { return };
    let scratch = temp_dir("export-python-cycling");
    let (path, lines) = cycling_days(&scratch, 180, 9);
    let out = scratch.join("out");
    let export = thinktee(&["export", "--out", out.to_str().unwrap(), path.to_str().unwrap()], b"");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    assert_eq!(parquet_files(&out).len(), 9);
    let script = scratch.join("check.py");
    fs::write(&script, CHECK_DAYS).unwrap();
    let run = Command::new(&python).arg(&script).arg(&out).output().expect("run python");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let got: Value = serde_json::from_slice(&run.stdout).unwrap();
    // Stream i went on 2026-05-(1 + i % 9): 20 rows a day.
    let mut expected: Vec<Value> = lines
        .iter()
        .map(|l| {
            let day = 1 + l["stream"].as_u64().unwrap() % 9;
            json!([
                format!("2026-05-{day:02}"),
                l["stream"],
                l["request"]["request_id"],
                l["reasoning"],
                l["content"]
            ])
        })
        .collect();
    expected.sort_by_key(Value::to_string);
    for engine in ["pyarrow", "duckdb"] {
        let mut rows = got[engine].as_array().unwrap().clone();
        rows.sort_by_key(Value::to_string);
        assert_eq!(rows, expected, "{engine}");
    }
    let per_date: Vec<Value> = (1..=9).map(|d| json!([format!("2026-05-{d:02}"), 20])).collect();
    assert_eq!(got["per_date"], json!(per_date));
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn pyarrow_and_duckdb_read_splits_rows() {
    let Some(python) = python() else { return };
    let scratch = temp_dir("export-python");
    let paths = recordings(&scratch);
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let out = scratch.join("out");
    thinktee(&[&["export", "--out", out.to_str().unwrap()], &args[..]].concat(), b"");
    let split =
        json_lines(&thinktee(&[&["split", "--format", "json"], &args[..]].concat(), b"").stdout);
    let script = scratch.join("check.py");
    fs::write(&script, CHECK).unwrap();
    let run = Command::new(&python).arg(&script).arg(&out).output().expect("run python");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let got: Value = serde_json::from_slice(&run.stdout).unwrap();
    // The same facts, from split's lines.
    let mut expected: Vec<String> = split
        .iter()
        .map(|l| {
            let usage = l.get("usage").filter(|u| !u.is_null());
            let token = |k: &str| usage.map_or(Value::Null, |u| u[k].clone());
            let mut row = json!({
                "source": l["source"], "stream": l["stream"], "choice": l["choice"], "id": l["id"],
                "reasoning": l["reasoning"], "content": l["content"],
                "reasoning_source": l["reasoning_source"],
                "format": l["format"], "tool_calls": l["tool_calls"],
                "reasoning_segments": l["reasoning_segments"],
                "reasoning_signed": l["reasoning_signed"],
                "reasoning_redacted": l["reasoning_redacted"],
                "reasoning_encrypted": l["reasoning_encrypted"],
                "input_tokens": token("prompt_tokens"),
                "tokens_estimated": usage.is_none(),
            });
            if usage.is_some() {
                row["output_tokens"] = token("completion_tokens");
                row["reasoning_tokens"] = token("reasoning_tokens");
            }
            row
        })
        .map(|r| r.to_string())
        .collect();
    expected.sort();
    for engine in ["pyarrow", "duckdb"] {
        let rows: Vec<Value> = got[engine]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_str::<Value>(r.as_str().unwrap()).unwrap())
            .map(|mut r| {
                // Estimated counts are not split's to say.
                if r["tokens_estimated"] == json!(true) {
                    let m = r.as_object_mut().unwrap();
                    m.remove("output_tokens");
                    m.remove("reasoning_tokens");
                }
                r
            })
            .collect();
        let mut rows: Vec<String> = rows.iter().map(Value::to_string).collect();
        rows.sort();
        assert_eq!(rows, expected, "{engine}");
    }
    // The default partition reads as a null date.
    assert_eq!(got["date_is_null"], json!([[true]]));
    fs::remove_dir_all(&scratch).unwrap();
}
