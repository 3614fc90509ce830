//! Rotation by size, at UTC midnight (an injected clock) and on demand;
//! names; compression; the files kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use thinktee_pipeline::Pipeline;

use crate::{JsonlWriter, Output, RequestMeta, Rotation, TranscriptRecord, TranscriptSink};

/// 2025-01-15T00:00:00.000Z, in ms since the epoch (`date -u -d 2025-01-15 +%s`).
const JAN_15: u64 = 1_736_899_200_000;
const DAY: u64 = 86_400_000;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-rotation-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A clock the test moves.
#[derive(Clone)]
struct Clock(Arc<AtomicU64>);

impl Clock {
    fn at(ms: u64) -> Clock {
        Clock(Arc::new(AtomicU64::new(ms)))
    }
    fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::Relaxed);
    }
    fn rotation(&self) -> Rotation {
        let clock = self.0.clone();
        Rotation::new()
            .max_file_bytes(u64::MAX)
            .clock(move || UNIX_EPOCH + Duration::from_millis(clock.load(Ordering::Relaxed)))
    }
}

fn record(id: &str) -> TranscriptRecord {
    let input = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/e2e/vllm_reasoning.sse"),
    )
    .unwrap();
    let meta = RequestMeta { request_id: Some(id.to_owned()), ..RequestMeta::default() };
    let mut sink = TranscriptSink::with_meta(Vec::new(), meta);
    Pipeline::default().run_document(&input, &mut sink).unwrap();
    sink.into_output().remove(0)
}

fn write(writer: &mut JsonlWriter<std::fs::File>, id: &str) {
    writer.write_stream(vec![record(id)]).unwrap();
}

/// The request ids in a file, plain or zstd.
fn ids(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = if path.extension().is_some_and(|e| e == "zst") {
        zstd::stream::decode_all(&bytes[..]).unwrap()
    } else {
        bytes
    };
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<TranscriptRecord>(l).unwrap())
        .map(|r| r.request.unwrap().request_id.unwrap())
        .collect()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn files_roll_at_utc_midnight_and_are_named_by_their_first_line() {
    let dir = temp_dir("midnight");
    let clock = Clock::at(JAN_15 + DAY - 100); // 2025-01-15T23:59:59.900Z
    let mut writer =
        JsonlWriter::with_rotation(dir.join("transcripts.jsonl"), clock.rotation().daily(true))
            .unwrap();
    assert_eq!(writer.next_tick(), None, "an empty file has nothing to roll");
    write(&mut writer, "a");
    assert_eq!(writer.next_tick(), Some(Duration::from_millis(100)));
    clock.set(JAN_15 + DAY - 1); // 23:59:59.999, the same day
    write(&mut writer, "b");
    clock.set(JAN_15 + DAY + 1); // 2025-01-16T00:00:00.001Z
    write(&mut writer, "c");
    assert_eq!(
        names(&dir),
        ["transcripts-2025-01-15T235959.900Z.jsonl", "transcripts.jsonl"],
        "the old file is named by its first line"
    );
    assert_eq!(ids(&dir.join("transcripts-2025-01-15T235959.900Z.jsonl")), ["a", "b"]);
    assert_eq!(ids(&dir.join("transcripts.jsonl")), ["c"]);

    // No line comes: the tick rolls at the next midnight all the same.
    clock.set(JAN_15 + 2 * DAY - 1);
    writer.tick().unwrap();
    assert_eq!(names(&dir).len(), 2, "not yet");
    assert_eq!(writer.next_tick(), Some(Duration::from_millis(1)));
    clock.set(JAN_15 + 2 * DAY + 5_000); // 2025-01-17T00:00:05Z
    writer.tick().unwrap();
    assert_eq!(
        names(&dir),
        [
            "transcripts-2025-01-15T235959.900Z.jsonl",
            "transcripts-2025-01-16T000000.001Z.jsonl",
            "transcripts.jsonl"
        ]
    );
    assert_eq!(std::fs::metadata(dir.join("transcripts.jsonl")).unwrap().len(), 0);
    // An empty file is never rolled.
    clock.set(JAN_15 + 3 * DAY);
    writer.tick().unwrap();
    assert_eq!(writer.next_tick(), None);
    assert_eq!(names(&dir).len(), 3);
    assert_eq!(writer.stats().files, 3);
    drop(writer);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_daily_rotation_midnight_changes_nothing() {
    let dir = temp_dir("no-midnight");
    let clock = Clock::at(JAN_15 + DAY - 100);
    let mut writer =
        JsonlWriter::with_rotation(dir.join("transcripts.jsonl"), clock.rotation()).unwrap();
    write(&mut writer, "a");
    assert_eq!(writer.next_tick(), None);
    clock.set(JAN_15 + DAY + 1);
    write(&mut writer, "b");
    writer.tick().unwrap();
    assert_eq!(names(&dir), ["transcripts.jsonl"]);
    drop(writer);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn files_rotate_by_size_in_order() {
    let dir = temp_dir("size");
    let clock = Clock::at(JAN_15);
    let line = serde_json::to_vec(&record("x")).unwrap().len() as u64 + 1;
    // Two lines fit, a third does not.
    let rotation = clock.rotation().max_file_bytes(2 * line + 1);
    let mut writer = JsonlWriter::with_rotation(dir.join("transcripts.jsonl"), rotation).unwrap();
    for (i, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        // All in the same millisecond but the first: names still differ
        // and sort in order.
        clock.set(JAN_15 + u64::from(i > 0));
        write(&mut writer, id);
    }
    assert_eq!(
        names(&dir),
        [
            "transcripts-2025-01-15T000000.000Z.jsonl",
            "transcripts-2025-01-15T000000.001Z.jsonl",
            "transcripts.jsonl"
        ]
    );
    assert_eq!(ids(&dir.join("transcripts-2025-01-15T000000.000Z.jsonl")), ["a", "b"]);
    assert_eq!(ids(&dir.join("transcripts-2025-01-15T000000.001Z.jsonl")), ["c", "d"]);
    assert_eq!(ids(&dir.join("transcripts.jsonl")), ["e"]);
    // A line longer than the limit gets a file of its own.
    drop(writer);
    let rotation = clock.rotation().max_file_bytes(10);
    let mut writer = JsonlWriter::with_rotation(dir.join("transcripts.jsonl"), rotation).unwrap();
    write(&mut writer, "f");
    assert_eq!(ids(&dir.join("transcripts.jsonl")), ["f"]);
    drop(writer);
    let names = names(&dir);
    assert_eq!(names.len(), 4);
    assert_eq!(ids(&dir.join(&names[2])), ["e"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn names_only_grow_even_when_the_clock_goes_back() {
    let dir = temp_dir("monotonic");
    // 2099-01-01 (`date -u -d 2099-01-01 +%s`): later than any file's
    // creation time on the machine running the test.
    let future = 4_070_908_800_000;
    let clock = Clock::at(future);
    let path = dir.join("transcripts.jsonl");
    let mut writer = JsonlWriter::with_rotation(&path, clock.rotation()).unwrap();
    write(&mut writer, "a");
    writer.rotate().unwrap();
    clock.set(JAN_15); // stepped back
    write(&mut writer, "b");
    writer.rotate().unwrap();
    drop(writer);
    // The next run resumes a file created now, before 2099.
    std::fs::write(&path, serde_json::to_string(&record("c")).unwrap() + "\n").unwrap();
    let mut writer = JsonlWriter::with_rotation(&path, clock.rotation()).unwrap();
    writer.rotate().unwrap();
    drop(writer);
    assert_eq!(
        names(&dir),
        [
            "transcripts-2099-01-01T000000.000Z.jsonl",
            "transcripts-2099-01-01T000000.001Z.jsonl",
            "transcripts-2099-01-01T000000.002Z.jsonl",
            "transcripts.jsonl"
        ]
    );
    assert_eq!(ids(&dir.join("transcripts-2099-01-01T000000.002Z.jsonl")), ["c"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn rotated_files_are_private() {
    let dir = temp_dir("private");
    let clock = Clock::at(JAN_15);
    let rotation = clock.rotation().max_file_bytes(10).compress(true);
    let mut writer = JsonlWriter::with_rotation(dir.join("transcripts.jsonl"), rotation).unwrap();
    write(&mut writer, "a");
    clock.set(JAN_15 + 1);
    write(&mut writer, "b");
    clock.set(JAN_15 + 2);
    write(&mut writer, "c");
    drop(writer);
    let names = names(&dir);
    assert_eq!(names.len(), 3, "{names:?}");
    for name in names {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(&name)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rotate_on_demand_and_after_logrotate_moved_the_file() {
    let dir = temp_dir("on-demand");
    let clock = Clock::at(JAN_15 + 3_600_000); // 01:00
    let path = dir.join("transcripts.jsonl");
    let mut writer = JsonlWriter::with_rotation(&path, clock.rotation()).unwrap();
    writer.rotate().unwrap();
    assert_eq!(names(&dir), ["transcripts.jsonl"], "nothing to rotate");
    write(&mut writer, "a");
    clock.set(JAN_15 + 7_200_000);
    Output::rotate(&mut writer).unwrap();
    assert_eq!(names(&dir), ["transcripts-2025-01-15T010000.000Z.jsonl", "transcripts.jsonl"]);
    // logrotate moves the file away, then signals: the moved file is
    // left as it is, a new one is opened at the path.
    write(&mut writer, "b");
    std::fs::rename(&path, dir.join("transcripts.jsonl.1")).unwrap();
    writer.rotate().unwrap();
    write(&mut writer, "c");
    assert_eq!(
        names(&dir),
        ["transcripts-2025-01-15T010000.000Z.jsonl", "transcripts.jsonl", "transcripts.jsonl.1"]
    );
    assert_eq!(ids(&dir.join("transcripts.jsonl.1")), ["b"]);
    assert_eq!(ids(&path), ["c"]);
    drop(writer);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rotated_files_are_compressed_and_read_back_whole() {
    let dir = temp_dir("zstd");
    let clock = Clock::at(JAN_15);
    let rotation = clock.rotation().daily(true).compress(true);
    let mut writer = JsonlWriter::with_rotation(dir.join("transcripts.jsonl"), rotation).unwrap();
    for day in 0..3 {
        clock.set(JAN_15 + day * DAY);
        write(&mut writer, &format!("day{day}-a"));
        write(&mut writer, &format!("day{day}-b"));
    }
    drop(writer); // waits for the compressions
    assert_eq!(
        names(&dir),
        [
            "transcripts-2025-01-15T000000.000Z.jsonl.zst",
            "transcripts-2025-01-16T000000.000Z.jsonl.zst",
            "transcripts.jsonl"
        ]
    );
    assert_eq!(ids(&dir.join(&names(&dir)[0])), ["day0-a", "day0-b"]);
    assert_eq!(ids(&dir.join(&names(&dir)[1])), ["day1-a", "day1-b"]);
    assert_eq!(ids(&dir.join("transcripts.jsonl")), ["day2-a", "day2-b"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(&names(&dir)[0])).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_interrupted_compression_is_finished_at_the_next_start() {
    let dir = temp_dir("recover");
    let plain = |stamp: &str| dir.join(format!("transcripts-{stamp}.jsonl"));
    let zst = |stamp: &str| dir.join(format!("transcripts-{stamp}.jsonl.zst"));
    // Cut while writing the .zst.tmp: the plain file is whole.
    let a = "2025-01-13T000000.000Z";
    std::fs::write(plain(a), serde_json::to_string(&record("a")).unwrap() + "\n").unwrap();
    std::fs::write(dir.join(format!("transcripts-{a}.jsonl.zst.tmp")), b"\x28\xb5\x2f").unwrap();
    // Cut after the rename, before the plain file was removed.
    let b = "2025-01-14T000000.000Z";
    let line = serde_json::to_string(&record("b")).unwrap() + "\n";
    std::fs::write(plain(b), &line).unwrap();
    std::fs::write(zst(b), zstd::stream::encode_all(line.as_bytes(), 3).unwrap()).unwrap();
    let rotation = Clock::at(JAN_15).rotation().compress(true);
    drop(JsonlWriter::with_rotation(dir.join("transcripts.jsonl"), rotation).unwrap());
    assert_eq!(
        names(&dir),
        [
            "transcripts-2025-01-13T000000.000Z.jsonl.zst",
            "transcripts-2025-01-14T000000.000Z.jsonl.zst",
            "transcripts.jsonl"
        ]
    );
    assert_eq!(ids(&zst(a)), ["a"]);
    assert_eq!(ids(&zst(b)), ["b"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keep_removes_only_the_oldest_rotated_files_of_this_path() {
    let dir = temp_dir("keep");
    let others = [
        "transcripts.jsonl.1",                           // logrotate's
        "transcripts-3.jsonl",                           // an older thinktee's
        "transcripts-run1-2020-01-01T000000.000Z.jsonl", // another stem
        "notes-2020-01-01T000000.000Z.jsonl",
        "transcripts-2020-01-01T000000.000Z.jsonl.gz", // not ours to read
        "transcripts-2020-01-01T000000.000Z.jsonl.zst.tmp", // not named as ours by a writer
    ];
    for name in others {
        std::fs::write(dir.join(name), "keep me\n").unwrap();
    }
    let clock = Clock::at(JAN_15);
    let rotation = clock.rotation().daily(true).compress(true).keep(Some(2));
    let mut writer = JsonlWriter::with_rotation(dir.join("transcripts.jsonl"), rotation).unwrap();
    for day in 0..5 {
        clock.set(JAN_15 + day * DAY);
        write(&mut writer, &format!("day{day}"));
    }
    drop(writer);
    let mut want: Vec<&str> = others.to_vec();
    want.extend([
        "transcripts-2025-01-17T000000.000Z.jsonl.zst",
        "transcripts-2025-01-18T000000.000Z.jsonl.zst",
        "transcripts.jsonl",
    ]);
    // The leftover .zst.tmp with no plain file is an interrupted
    // compression's: removed at the start, like the module docs say.
    want.retain(|n| !n.ends_with(".zst.tmp"));
    want.sort();
    assert_eq!(names(&dir), want);
    for name in others.iter().filter(|n| !n.ends_with(".zst.tmp")) {
        assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), "keep me\n", "{name}");
    }
    assert_eq!(ids(&dir.join("transcripts-2025-01-18T000000.000Z.jsonl.zst")), ["day3"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
