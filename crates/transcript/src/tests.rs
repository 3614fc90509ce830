//! Transcripts of every e2e fixture, read back; rotation; failures.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use thinktee_pipeline::{InputEnd, Pipeline, Sink, StreamOutcome};

use crate::{Error, JsonlWriter, Output, RequestMeta, TranscriptRecord, TranscriptSink};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/e2e")
}

fn stems() -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            e.ok()?.file_name().into_string().ok()?.strip_suffix(".sse").map(Into::into)
        })
        .collect();
    stems.sort();
    stems
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("thinktee-transcript-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Error messages are ours, not part of the contract (as in the CLI tests).
fn normalize(mut v: Value) -> Value {
    for e in v["errors"].as_array_mut().into_iter().flatten() {
        if e["kind"] != "api" {
            *e = serde_json::json!({ "kind": e["kind"].clone() });
        }
    }
    v
}

#[test]
fn every_fixture_round_trips_and_agrees_with_the_split_contract() {
    let mut lines = 0;
    for stem in stems() {
        let input = std::fs::read(fixtures().join(format!("{stem}.sse"))).unwrap();
        let meta = RequestMeta { request_id: Some(stem.clone()), ..RequestMeta::default() };
        let mut sink = TranscriptSink::with_meta(JsonlWriter::new(Vec::new()), meta);
        // `preset_<name>_…` fixtures are split with that preset.
        let preset = thinktee_pipeline::Preset::ALL
            .into_iter()
            .find(|p| stem.starts_with(&format!("preset_{}_", p.as_str().replace('-', "_"))))
            .unwrap_or_default();
        let options = thinktee_pipeline::Options {
            splitter: thinktee_pipeline::SplitterConfig::preset(preset),
            ..thinktee_pipeline::Options::default()
        };
        let _ = Pipeline::new(options.clone()).run_document(&input, &mut sink);
        let mut memory = TranscriptSink::new(Vec::new());
        let _ = Pipeline::new(options).run_document(&input, &mut memory);
        let text = String::from_utf8(sink.output().get_ref().clone()).unwrap();
        let expected =
            std::fs::read_to_string(fixtures().join(format!("{stem}.expected.jsonl"))).unwrap();
        let expected: Vec<Value> =
            expected.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(text.lines().count(), expected.len(), "{stem}");
        for ((line, exp), mem) in text.lines().zip(&expected).zip(memory.output()) {
            let back: TranscriptRecord = serde_json::from_str(line).unwrap();
            assert_eq!(back.request.as_ref().unwrap().request_id.as_deref(), Some(&stem[..]));
            assert_eq!(TranscriptRecord { request: None, ..back.clone() }, *mem, "{stem}");
            assert_eq!(serde_json::to_string(&back).unwrap(), line, "{stem}: stable");
            let got: Value = serde_json::from_str(line).unwrap();
            for key in exp.as_object().unwrap().keys().filter(|k| *k != "source") {
                assert_eq!(
                    normalize(got.clone())[key],
                    normalize(exp.clone())[key],
                    "{stem}.{key}"
                );
            }
            lines += 1;
        }
    }
    assert!(lines >= 30, "{lines}");
}

#[test]
fn a_split_expected_line_is_not_a_transcript() {
    let line =
        std::fs::read_to_string(fixtures().join("azure_inline_think.expected.jsonl")).unwrap();
    assert!(serde_json::from_str::<TranscriptRecord>(line.trim()).is_err());
}

#[test]
fn outcome_and_timings_follow_the_feeder() {
    let ms = Duration::from_millis;
    let chunk = |i: u32, c: &str| {
        format!("data: {{\"choices\":[{{\"index\":{i},\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n")
    };
    let mut sink = TranscriptSink::new(Vec::new());
    let mut pipeline = Pipeline::default();
    sink.observe_first_byte(ms(5));
    pipeline.feed_at(chunk(0, "<think>a").as_bytes(), ms(10), &mut sink).unwrap();
    pipeline.feed_at(chunk(1, "<think>b</think>B").as_bytes(), ms(20), &mut sink).unwrap();
    pipeline.feed_at(chunk(0, "</think>A").as_bytes(), ms(30), &mut sink).unwrap();
    pipeline.finish_with(&InputEnd::ClientCancelled, Some(ms(40)), &mut sink).unwrap();
    let records = sink.into_output();
    assert_eq!(records.len(), 2);
    for (r, (first_answer, duration)) in records.iter().zip([(30.0, 20.0), (20.0, 0.0)]) {
        assert_eq!(r.outcome, StreamOutcome::ClientCancelled);
        assert_eq!(r.metrics.choices.len(), 1);
        let c = &r.metrics.choices[0];
        assert_eq!(Some(c.choice), r.split.choice);
        assert_eq!(c.time_to_first_answer_ms, Some(first_answer));
        assert_eq!(c.thinking_duration_ms, Some(duration));
        assert_eq!(r.metrics.time_to_first_byte_ms, Some(5.0));
        assert_eq!(r.metrics.total_duration_ms, Some(40.0));
    }
}

/// Fails every write while `fail` is set.
struct Flaky {
    fail: bool,
    out: Vec<u8>,
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.fail {
            return Err(io::Error::other("disk on fire"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.write(&[]).map(drop)
    }
}

#[test]
fn a_failed_write_is_counted_and_returned_never_panics() {
    let input = std::fs::read(fixtures().join("deepseek_reasoning_content.sse")).unwrap();
    let mut sink = TranscriptSink::new(JsonlWriter::new(Flaky { fail: true, out: Vec::new() }));
    let err = Pipeline::default().run_document(&input, &mut sink).unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(cause.is_some_and(|c| c.contains("disk on fire")), "{err:?}");
    assert!(sink.output().stats().failures >= 1);
    // Once the disk is back, the next stream is written on a line of its own.
    sink.output_mut().get_mut().fail = false;
    Pipeline::default().run_document(&input, &mut sink).unwrap();
    let text = String::from_utf8(sink.output().get_ref().out.clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines.iter().all(|l| serde_json::from_str::<TranscriptRecord>(l).is_ok()), "{text}");
    assert!(!lines.is_empty());
}

#[test]
fn outputs_compose() {
    let input = std::fs::read(fixtures().join("vllm_reasoning.sse")).unwrap();
    let mut records: Vec<TranscriptRecord> = Vec::new();
    {
        let boxed: Box<dyn Output> = Box::new(&mut records);
        let mut sink = TranscriptSink::new(boxed);
        Pipeline::default().run_document(&input, &mut sink).unwrap();
        sink.finish().unwrap();
    }
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, StreamOutcome::Complete);
}

// === hostile files and disks ===

fn one_record(i: u64) -> TranscriptRecord {
    let input = std::fs::read(fixtures().join("vllm_reasoning.sse")).unwrap();
    let meta = RequestMeta { request_id: Some(format!("req-{i}")), ..RequestMeta::default() };
    let mut sink = TranscriptSink::with_meta(Vec::new(), meta);
    Pipeline::default().run_document(&input, &mut sink).unwrap();
    sink.into_output().remove(0)
}

fn request_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<TranscriptRecord>(l).ok())
        .map(|r| r.request.unwrap().request_id.unwrap())
        .collect()
}

#[test]
fn hostile_a_torn_last_line_gets_the_next_record_on_a_line_of_its_own() {
    let dir = temp_dir("torn");
    let path = dir.join("transcripts.jsonl");
    let whole = serde_json::to_string(&one_record(0)).unwrap();
    let fragment = &whole[..whole.len() / 2];
    std::fs::write(&path, format!("{whole}\n{fragment}")).unwrap();
    let mut writer = JsonlWriter::create(&path, u64::MAX).unwrap();
    writer.write_stream(vec![one_record(1)]).unwrap();
    let stats = writer.stats();
    drop(writer);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1], fragment, "the fragment stays alone on its line");
    assert_eq!(request_ids(&text), ["req-0", "req-1"]);
    assert_eq!((stats.records, stats.torn_lines, stats.lost), (1, 1, 0));
    // A file ending in a newline is not torn.
    let stats = JsonlWriter::create(&path, u64::MAX).unwrap().stats();
    assert_eq!(stats.torn_lines, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn hostile_a_symlinked_transcript_file_is_refused() {
    let dir = temp_dir("symlink");
    let elsewhere = dir.join("elsewhere.txt");
    std::fs::write(&elsewhere, "not yours\n").unwrap();
    let path = dir.join("transcripts.jsonl");
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    let err = JsonlWriter::create(&path, u64::MAX).unwrap_err();
    assert!(matches!(&err, Error::Symlink(p) if *p == path), "{err}");
    // A link named like a rotated file is neither compressed nor removed.
    std::fs::remove_file(&path).unwrap();
    let rotated = dir.join("transcripts-2020-01-01T000000.000Z.jsonl");
    std::os::unix::fs::symlink(&elsewhere, &rotated).unwrap();
    let rotation = crate::Rotation::new().compress(true).keep(Some(0));
    let mut writer = JsonlWriter::with_rotation(&path, rotation).unwrap();
    writer.write_stream(vec![one_record(0)]).unwrap();
    writer.rotate().unwrap();
    drop(writer);
    assert!(std::fs::symlink_metadata(&rotated).unwrap().file_type().is_symlink());
    std::fs::remove_file(&rotated).unwrap();
    // A dangling link is no way around it.
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere"), &path).unwrap();
    assert!(matches!(JsonlWriter::create(&path, u64::MAX), Err(Error::Symlink(_))));
    assert!(!dir.join("nowhere").exists());
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "not yours\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn hostile_loose_modes_on_our_files_and_directories_are_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let dir = temp_dir("modes");
    let transcripts = dir.join("t");
    std::fs::create_dir(&transcripts).unwrap();
    std::fs::set_permissions(&transcripts, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = transcripts.join("transcripts.jsonl");
    std::fs::write(&path, "").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    crate::private_dir(&transcripts).unwrap();
    assert_eq!(mode(&transcripts), 0o700);
    drop(JsonlWriter::create(&path, u64::MAX).unwrap());
    assert_eq!(mode(&path), 0o600);
    // A new directory is private from the start; a shared one is refused.
    crate::private_dir(&dir.join("new/deeper")).unwrap();
    assert_eq!(mode(&dir.join("new/deeper")), 0o700);
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let err = crate::private_dir(&shared).unwrap_err();
    assert!(matches!(err, Error::NotPrivate { mode: 0o1777, .. }), "{err}");
    assert_eq!(mode(&shared), 0o1777, "a shared directory is never changed");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Takes `room` more bytes, then fails every write `fail` times (the
/// first failing write may take part of its buffer), then takes all.
struct FullDisk {
    room: usize,
    fail: u32,
    out: Vec<u8>,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 && self.fail > 0 {
            self.fail -= 1;
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        let n = if self.fail > 0 { buf.len().min(self.room) } else { buf.len() };
        self.room -= n.min(self.room);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn hostile_a_full_disk_loses_what_failed_and_writes_what_came_after() {
    let line = serde_json::to_string(&one_record(0)).unwrap().len() + 1;
    // Room for two lines and a half: the third is cut, then two more fail.
    let disk = FullDisk { room: 2 * line + line / 2, fail: 3, out: Vec::new() };
    let mut writer = JsonlWriter::new(disk);
    let mut failed = 0;
    for i in 0..8 {
        // One stream per record, written and flushed as the sink does.
        if writer.write_stream(vec![one_record(i)]).is_err() {
            failed += 1;
        }
    }
    let stats = writer.stats();
    let text = String::from_utf8(writer.get_ref().out.clone()).unwrap();
    // req-2 was cut (its half stays alone on its line), req-3 and req-4
    // failed whole; from req-5 on the disk had room again.
    assert_eq!(failed, 3);
    assert_eq!(request_ids(&text), ["req-0", "req-1", "req-5", "req-6", "req-7"]);
    assert_eq!(text.lines().count(), 6, "{text}");
    assert_eq!((stats.records, stats.lost, stats.failures, stats.torn_lines), (5, 3, 3, 1));
    assert_eq!(stats.bytes, text.len() as u64);

    // A stream whose records overflow the buffer on a full disk: every
    // one of them is settled, none is left uncounted.
    let per_buffer = crate::WRITE_BUFFER_SIZE / line + 1;
    let disk = FullDisk { room: 0, fail: 1, out: Vec::new() };
    let mut writer = JsonlWriter::new(disk);
    let stream: Vec<_> = (0..2 * per_buffer as u64).map(one_record).collect();
    assert!(writer.write_stream(stream).is_err());
    let stats = writer.stats();
    assert_eq!((stats.records, stats.lost), (0, 2 * per_buffer as u64));
}

#[test]
fn hostile_a_removed_transcript_directory_is_noticed_and_created_anew() {
    let dir = temp_dir("removed");
    let transcripts = dir.join("t");
    crate::private_dir(&transcripts).unwrap();
    let path = transcripts.join("transcripts.jsonl");
    let mut writer = JsonlWriter::create(&path, u64::MAX).unwrap();
    writer.write_stream(vec![one_record(0)]).unwrap();
    std::fs::remove_dir_all(&transcripts).unwrap();
    writer.write_stream(vec![one_record(1)]).unwrap();
    writer.write_stream(vec![one_record(2)]).unwrap();
    let stats = writer.stats();
    assert_eq!((stats.records, stats.lost, stats.reopened), (3, 0, 1));
    let text = std::fs::read_to_string(&path).expect("the file is back");
    assert_eq!(request_ids(&text), ["req-1", "req-2"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&transcripts).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    // Moved away (rotated by hand): the writer follows the path, not the file.
    std::fs::rename(&path, transcripts.join("old.jsonl")).unwrap();
    writer.write_stream(vec![one_record(3)]).unwrap();
    assert_eq!(request_ids(&std::fs::read_to_string(&path).unwrap()), ["req-3"]);
    assert_eq!(writer.stats().reopened, 2);
    drop(writer);
    std::fs::remove_dir_all(&dir).unwrap();
}

// === the drop mark, errors ===

#[test]
fn a_drop_mark_leads_its_line_and_is_left_out_when_zero() {
    let plain = one_record(0);
    let line = serde_json::to_string(&plain).unwrap();
    assert!(!line.contains("dropped_before"), "{line}");
    assert_eq!(serde_json::from_str::<TranscriptRecord>(&line).unwrap().dropped_before, 0);
    let marked = TranscriptRecord { dropped_before: 7, ..plain };
    let line = serde_json::to_string(&marked).unwrap();
    assert!(line.starts_with("{\"dropped_before\":7,\"request\":"), "{line}");
    assert_eq!(serde_json::from_str::<TranscriptRecord>(&line).unwrap(), marked);
}

#[test]
fn an_error_s_cause_is_its_source_not_part_of_its_message() {
    let e = Error::Io(io::Error::other("disk on fire"));
    assert_eq!(e.to_string(), "transcript i/o failed");
    let source = std::error::Error::source(&e).expect("the i/o error");
    assert_eq!(source.to_string(), "disk on fire");
}
