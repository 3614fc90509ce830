//! The table writer: files read back with the Parquet reader, limits
//! asserted by counting rows and bytes.

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

#[test]
fn past_the_open_file_limit_the_least_recent_partition_is_finished() {
    let dir = temp("open");
    let day = 86_400_000;
    // Days 0, 1, 0, 1 with one file open at a time: four files.
    let records: Vec<_> = (0..4).map(|i| record(i, 1, Some(day * (20_000 + i % 2)))).collect();
    let limits = Limits { open_partitions: 1, ..Limits::default() };
    let (stats, _) = write(&dir, Options { limits, ..Options::default() }, &records);
    assert_eq!(stats.files, 4);
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
