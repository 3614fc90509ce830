//! The table writer: files read back with the Parquet reader, limits
//! asserted by counting rows and bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use thinktee_export::{Format, Limits, Options, Row, Stats, TableWriter, schema};
use thinktee_transcript::TranscriptRecord;

fn temp(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("thinktee-export-table-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// A transcript record of stream `i`: `size` bytes of reasoning, started
/// at `started_ms` when given.
fn record(i: u64, size: usize, started_ms: Option<u64>) -> TranscriptRecord {
    let request = match started_ms {
        Some(ms) => format!(r#"{{"request_id":"r{i}","started_unix_ms":{ms}}}"#),
        None => "null".into(),
    };
    let line = format!(
        r#"{{"request":{request},"stream":{i},"choice":0,"id":"c{i}","model":"m","reasoning":"{}","content":"a{i}","reasoning_source":"field","finish_reason":"stop","unterminated":false,"done":true,"outcome":"complete","metrics":{{"stream":{i},"time_to_first_byte_ms":null,"time_to_first_chunk_ms":null,"time_to_first_thinking_ms":null,"time_to_first_answer_ms":null,"thinking_duration_ms":null,"total_duration_ms":null,"chunks":2,"data_bytes":0,"thinking_bytes":0,"answer_bytes":0,"gaps":null,"tokens":{{"prompt":null,"completion":2,"reasoning":1,"answer":1,"cached":null,"estimated":true}},"choices":[]}}}}"#,
        "r".repeat(size)
    );
    serde_json::from_str(&line).unwrap()
}

fn write(dir: &Path, options: Options, records: &[TranscriptRecord]) -> (Stats, Vec<PathBuf>) {
    let mut table = TableWriter::new(dir, "run", options).unwrap();
    for r in records {
        table.push(&Row { source: "s.jsonl", record: r, first_of_stream: true }).unwrap();
    }
    table.finish().unwrap()
}

fn read(path: &Path) -> (Vec<RecordBatch>, usize) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap();
    let row_groups = builder.metadata().num_row_groups();
    (builder.build().unwrap().map(Result::unwrap).collect(), row_groups)
}

/// Every file under `dir`, by name.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for day in fs::read_dir(dir).unwrap() {
        let day = day.unwrap().path();
        for f in fs::read_dir(&day).unwrap() {
            let f = f.unwrap().path();
            out.push(f.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

const SMALL: Limits = Limits {
    batch_rows: 10,
    batch_bytes: 4096,
    row_group_rows: 25,
    row_group_bytes: 1 << 20,
    file_bytes: 1 << 30,
    buffer_bytes: 64 << 20,
    open_partitions: 4,
};

#[test]
fn batches_are_bounded_in_rows_and_row_groups_in_rows() {
    let dir = temp("rows");
    let records: Vec<_> = (0..101).map(|i| record(i, 10, None)).collect();
    let (stats, written) = write(&dir, Options { limits: SMALL, ..Options::default() }, &records);
    assert_eq!(stats.rows, 101);
    // 10 batches of 10 rows, and 1 of 1.
    assert_eq!((stats.batches, stats.max_batch_rows), (11, 10));
    assert_eq!(written.len(), 1);
    let (batches, row_groups) = read(&written[0]);
    // 25 + 25 + 25 + 25 + 1 rows.
    assert_eq!(row_groups, 5);
    assert_eq!(stats.row_groups, 5);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 101);
    assert_eq!(batches[0].schema().fields(), schema().fields());
    let streams: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("stream").unwrap().as_primitive::<Int64Type>().values().to_vec()
        })
        .collect();
    assert_eq!(streams, (0..101).collect::<Vec<i64>>());
    let content = batches[0].column_by_name("content").unwrap().as_string::<i32>();
    assert_eq!(content.value(7), "a7");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batches_are_bounded_in_bytes_and_memory_does_not_grow_with_the_input() {
    // Rows of ~1 KiB against batches of 4 KiB: at most 4 rows a batch.
    let run = |n: u64| {
        let dir = temp(&format!("bytes-{n}"));
        let records: Vec<_> = (0..n).map(|i| record(i, 1000, None)).collect();
        let (stats, _) = write(&dir, Options { limits: SMALL, ..Options::default() }, &records);
        fs::remove_dir_all(&dir).unwrap();
        stats
    };
    let (small, large) = (run(40), run(400));
    assert_eq!((small.rows, large.rows), (40, 400));
    assert!(large.max_batch_bytes <= SMALL.batch_bytes, "{large:?}");
    assert!(large.max_batch_rows <= 4, "{large:?}");
    // What is held at once: a batch and a row group being encoded. Ten
    // times the rows hold no more (row groups of 25 rows flush alike).
    assert!(large.max_buffered_bytes <= small.max_buffered_bytes * 11 / 10, "{small:?} {large:?}");
    // ... and about what the column writers' buffers take empty (2 MiB
    // for 41 columns), far from what 10 times the rows would take.
    assert!(large.max_buffered_bytes < 2 << 20, "{large:?}");
}

#[test]
fn a_row_larger_than_a_batch_is_a_batch_of_its_own() {
    let dir = temp("large-row");
    let records = [record(0, 10, None), record(1, 10_000, None), record(2, 10, None)];
    let (stats, written) = write(&dir, Options { limits: SMALL, ..Options::default() }, &records);
    assert_eq!((stats.batches, stats.max_batch_rows), (3, 1));
    let (batches, _) = read(&written[0]);
    let reasoning = batches[0].column_by_name("reasoning").unwrap().as_string::<i32>();
    assert_eq!(reasoning.value(1).len(), 10_000);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rows_go_to_their_request_dates_partition_and_files_are_never_rewritten() {
    let dir = temp("dates");
    // 2026-05-01T12:10:00Z, 2026-05-02T00:00:00Z, none.
    let (d1, d2) = (1_777_637_400_000, 1_777_680_000_000);
    let records = [record(0, 1, Some(d1)), record(1, 1, Some(d2)), record(2, 1, None)];
    let (_, first) = write(&dir, Options::default(), &records);
    let names = files(&dir);
    assert_eq!(names.len(), 3);
    assert!(names[0].starts_with("date=2026-05-01/part-") && names[0].ends_with(".parquet"));
    assert!(names[1].starts_with("date=2026-05-02/part-"));
    assert!(names[2].starts_with("date=__HIVE_DEFAULT_PARTITION__/part-"));
    let (batches, _) = read(&dir.join(&names[0]));
    let started = batches[0].column_by_name("started_at").unwrap();
    assert_eq!(started.as_primitive::<TimestampMicrosecondType>().value(0), d1 as i64 * 1000);
    let before: Vec<_> = first.iter().map(|f| fs::read(f).unwrap()).collect();
    // A second run adds files; the first run's are untouched.
    write(&dir, Options::default(), &records);
    assert_eq!(files(&dir).len(), 6);
    let after: Vec<_> = first.iter().map(|f| fs::read(f).unwrap()).collect();
    assert_eq!(before, after);
    fs::remove_dir_all(&dir).unwrap();
}

const DAY_MS: u64 = 86_400_000;

/// 2024-10-04 plus `day` days, at midnight UTC, in ms.
fn day_ms(day: u64) -> u64 {
    (20_000 + day) * DAY_MS
}

/// `rounds` rows for each of `dates` days in turn (day 0, 1, ..., 0, 1,
/// ...), stream `i` of `size + i % 7 * 100` bytes of reasoning on day
/// `i % dates`.
fn round_robin(dates: u64, rounds: u64, size: usize) -> Vec<TranscriptRecord> {
    (0..dates * rounds)
        .map(|i| record(i, size + (i % 7) as usize * 100, Some(day_ms(i % dates))))
        .collect()
}

/// Per partition directory, the streams of its rows in file order, and
/// the row groups of its files.
fn streams_by_date(dir: &Path) -> BTreeMap<String, (Vec<i64>, usize)> {
    let mut out = BTreeMap::new();
    for name in files(dir) {
        let (batches, row_groups) = read(&dir.join(&name));
        let (date, _) = name.split_once('/').unwrap();
        let entry: &mut (Vec<i64>, usize) = out.entry(date.to_owned()).or_default();
        for b in &batches {
            let stream = b.column_by_name("stream").unwrap().as_primitive::<Int64Type>();
            entry.0.extend(stream.values().iter());
            let reasoning = b.column_by_name("reasoning").unwrap().as_string::<i32>();
            for (k, s) in stream.values().iter().enumerate() {
                assert_eq!(reasoning.value(k).len(), 1000 + (*s % 7) as usize * 100);
            }
        }
        entry.1 += row_groups;
    }
    out
}

#[test]
fn with_the_default_limits_a_month_of_dates_in_turn_makes_one_file_per_date() {
    let dir = temp("month");
    // 31 days in turn, 10 rounds: 310 rows (with 4 files open at most, as
    // before the memory budget, 310 files).
    let records = round_robin(31, 10, 1000);
    let (stats, written) = write(&dir, Options::default(), &records);
    assert_eq!((stats.rows, stats.files, written.len()), (310, 31, 31), "{stats:?}");
    assert_eq!((stats.evictions, stats.budget_flushes), (0, 0), "{stats:?}");
    let by_date = streams_by_date(&dir);
    assert_eq!(by_date.keys().next().unwrap(), "date=2024-10-04");
    assert_eq!(by_date.keys().last().unwrap(), "date=2024-11-03");
    for (d, (streams, row_groups)) in by_date.values().enumerate() {
        let expected: Vec<i64> = (0..10).map(|r| r * 31 + d as i64).collect();
        assert_eq!((streams, *row_groups), (&expected, 1));
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rows_of_dates_in_round_robin_make_one_file_per_date() {
    let dir = temp("round-robin");
    // 12 days in turn, 30 rounds: 360 rows, 12 files (before the memory
    // budget, 4 files open at most: a new file at nearly every row).
    let records = round_robin(12, 30, 1000);
    let limits = Limits { open_partitions: 16, ..SMALL };
    let (stats, written) = write(&dir, Options { limits, ..Options::default() }, &records);
    assert_eq!((stats.rows, stats.files, written.len()), (360, 12, 12), "{stats:?}");
    assert_eq!((stats.evictions, stats.budget_flushes), (0, 0), "{stats:?}");
    let by_date = streams_by_date(&dir);
    assert_eq!(by_date.len(), 12);
    for (d, (date, (streams, _))) in by_date.iter().enumerate() {
        assert_eq!(date, &format!("date=2024-10-{:02}", 4 + d));
        // Day d holds streams d, d + 12, d + 24, ..., in order.
        let expected: Vec<i64> = (0..30).map(|r| r * 12 + d as i64).collect();
        assert_eq!(streams, &expected, "{date}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn memory_held_over_all_dates_stays_within_the_budget_and_one_row() {
    let dir = temp("budget");
    // Rows of 1.3 to 1.9 KiB as rows count them (reasoning, content,
    // source and 8 bytes a column) over 10 days in turn, under a budget of
    // 16 KiB: about one row a day held before the budget writes row groups.
    let records = round_robin(10, 40, 1000);
    let budget = 16 << 10;
    let largest_row = 1000 + 600 + 4 + 7 + 8 * thinktee_export::COLUMNS.len();
    let limits = Limits { open_partitions: 16, buffer_bytes: budget, ..SMALL };
    let (stats, written) = write(&dir, Options { limits, ..Options::default() }, &records);
    assert!(stats.max_buffered_bytes <= budget + largest_row, "{stats:?}");
    // The budget did act: rows groups were written early ...
    assert!(stats.budget_flushes >= 10, "{stats:?}");
    // ... yet each date has its one file, holding its rows in order.
    assert_eq!((stats.rows, stats.files, written.len(), stats.evictions), (400, 10, 10, 0));
    let by_date = streams_by_date(&dir);
    assert_eq!(by_date.len(), 10);
    let mut row_groups = 0;
    for (d, (_, (streams, groups))) in by_date.iter().enumerate() {
        let expected: Vec<i64> = (0..40).map(|r| r * 10 + d as i64).collect();
        assert_eq!(streams, &expected);
        row_groups += groups;
    }
    assert_eq!(row_groups as u64, stats.row_groups);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn past_the_open_file_limit_the_least_recent_partition_is_finished() {
    let dir = temp("open");
    let day = DAY_MS;
    // Days 0, 1, 0, 1 with one file open at a time: four files.
    let records: Vec<_> = (0..4).map(|i| record(i, 1, Some(day * (20_000 + i % 2)))).collect();
    let limits = Limits { open_partitions: 1, ..Limits::default() };
    let (stats, _) = write(&dir, Options { limits, ..Options::default() }, &records);
    assert_eq!((stats.files, stats.evictions), (4, 3));
    let names = files(&dir);
    assert_eq!(names.len(), 4);
    assert!(names.iter().all(|n| !n.contains("inprogress")));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unfinished_writer_leaves_no_file() {
    let dir = temp("dropped");
    let mut table = TableWriter::new(&dir, "run", Options::default()).unwrap();
    let r = record(0, 1, None);
    table.push(&Row { source: "s", record: &r, first_of_stream: true }).unwrap();
    drop(table);
    assert_eq!(files(&dir), Vec::<String>::new());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_has_a_header_and_one_line_per_row() {
    let dir = temp("csv");
    let records = [record(0, 3, Some(1_777_637_400_000)), record(1, 0, Some(1_777_637_400_000))];
    let (_, written) = write(&dir, Options { format: Format::Csv, ..Options::default() }, &records);
    assert_eq!(written.len(), 1);
    assert!(written[0].to_string_lossy().ends_with(".csv"));
    let text = fs::read_to_string(&written[0]).unwrap();
    let lines: Vec<_> = text.split("\r\n").collect();
    let header: Vec<_> = thinktee_export::COLUMNS.iter().map(|c| c.name).collect();
    assert_eq!(lines[0], header.join(","));
    assert_eq!(lines.len(), 4, "{text}"); // header, two rows, and the end
    assert!(lines[1].starts_with("2,run,s.jsonl,0,0,true,c0,m,rrr,a0,field,stop,false,true,chat.completions,[],0,false,false,false,complete,r0,,,,,,2026-05-01T12:10:00.000000Z,"), "{}", lines[1]);
    // An empty reasoning is an empty string, not null.
    assert!(lines[2].contains(",m,\"\",a1,"), "{}", lines[2]);
    assert!(lines[1].ends_with(",[],[],"), "{}", lines[1]);
    fs::remove_dir_all(&dir).unwrap();
}
