//! `thinktee export`: the `streams` table, one row per choice of each
//! stream, as files that analytics engines read (see `thinktee_export`).
//!
//! Inputs are read as [`crate::files`] says, by workers ahead of the
//! writer, at most [`AHEAD`]; the writer holds its budget of rows and row
//! groups over every open partition, and a file per date being written
//! ([`thinktee_export::Limits`]). Memory is bounded by those, not by the
//! input (a single stream is held whole).
//!
//! Sources already exported into the output directory, as they are now
//! and with the same filters, are skipped ([`Manifest`]); a source exported
//! before that has changed since, or was exported with other filters, is
//! exported again whole, with a warning naming the key to deduplicate on.
//! The run's manifest is written last, so a run that fails leaves its
//! finished files and no manifest: its sources are exported again by the
//! next run.

use std::io;
use std::mem;
use std::path::PathBuf;

use anyhow::Context;
use thinktee_export::{
    Entry, Limits, MANIFEST_DIR, Manifest, Options, Row, Seen, SourceId, TableWriter, Taken,
};
use thinktee_pipeline::SplitterConfig;
use thinktee_transcript::{Assembler, TranscriptRecord};

use crate::Outcome;
use crate::files::{self, Ahead, FileReport, Item, Tally};
use crate::select::SelectArgs;
use crate::split::SplitterArgs;
use crate::term::escape;

/// Workers read at most 2 files of 32 streams ahead of the writer: streams
/// hold their text.
const AHEAD: Ahead = Ahead { files: 2, streams: 32 };

/// File format of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Parquet, zstd-compressed (the default).
    Parquet,
    /// CSV with a header line; lists and structs as JSON strings.
    Csv,
}

/// `thinktee export [--format parquet|csv] --out DIR PATH...`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// File format.
    #[arg(long, value_enum, default_value = "parquet")]
    format: Format,
    /// Directory the table goes into, as DIR/date=YYYY-MM-DD/part-UUIDv7.parquet
    /// (created if missing). Files are added, never replaced; sources
    /// already exported there with the same filters are skipped.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Leave out reasoning and answer text and request bodies (their sizes
    /// stay), for files that travel.
    #[arg(long)]
    no_text: bool,
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    splitter: SplitterArgs,
    /// Recordings (.sse, .json), transcripts (.jsonl), compressed or not,
    /// or directories of them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// `export`'s [`Tally`]: the records of each stream, text and all.
#[derive(Debug)]
pub(crate) enum Records {}

impl Tally for Records {
    type Stream = Vec<TranscriptRecord>;
    type Sink = Assembler;

    fn drain(sink: &mut Assembler, emit: &mut dyn FnMut(Vec<TranscriptRecord>)) {
        let mut stream: Vec<TranscriptRecord> = Vec::new();
        for r in sink.drain() {
            if stream.last().is_some_and(|last| last.split.stream != r.split.stream) {
                emit(mem::take(&mut stream));
            }
            stream.push(r);
        }
        if !stream.is_empty() {
            emit(stream);
        }
    }

    fn transcript(r: TranscriptRecord) -> Vec<TranscriptRecord> {
        vec![r]
    }

    fn transcript_choice(stream: &mut Vec<TranscriptRecord>, r: TranscriptRecord) {
        stream.push(r);
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let options = Options {
        format: match args.format {
            Format::Parquet => thinktee_export::Format::Parquet,
            Format::Csv => thinktee_export::Format::Csv,
        },
        text: !args.no_text,
        limits: Limits::default(),
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let splitter = args.splitter.config()?;
    let select = args.select.select();
    let done = export(&args.paths, &args.out, options, &splitter, &select, workers)?;
    let out = escape(&args.out.display().to_string()).into_owned();
    if done.already > 0 {
        eprintln!(
            "thinktee: {} file(s) already exported to {out} as they are now: skipped",
            done.already
        );
    }
    eprintln!(
        "thinktee: {} row(s) from {} file(s) into {} new file(s) under {out}",
        done.rows, done.sources, done.files
    );
    Ok(if done.malformed > 0 { Outcome::HadErrors } else { Outcome::Clean })
}

/// What an export did.
#[derive(Debug, Default)]
pub(crate) struct Done {
    pub(crate) rows: u64,
    /// Files rows were read from.
    pub(crate) sources: u64,
    /// Files written.
    pub(crate) files: u64,
    /// Sources skipped, already exported as they are.
    pub(crate) already: u64,
    pub(crate) malformed: u64,
    pub(crate) stats: thinktee_export::Stats,
}

/// Exports the streams `select` takes of every file under `paths` into
/// `dir`, reading with up to `workers` threads.
pub(crate) fn export(
    paths: &[PathBuf],
    dir: &std::path::Path,
    options: Options,
    splitter: &SplitterConfig,
    select: &thinktee_export::Select,
    workers: usize,
) -> anyhow::Result<Done> {
    let manifest = Manifest::load(dir)?;
    let taken = Taken { select: select.clone(), no_text: !options.text };
    let mut done = Done::default();
    let mut older = Vec::new();
    let mut listed = Vec::new();
    let mut ids = Vec::new();
    for file in files::list(paths) {
        let id = match &file.known {
            None => SourceId::of(&file.path).ok(),
            Some(_) => None,
        };
        match id.as_ref().map(|id| manifest.seen(id, &taken)) {
            Some(Seen::Exported) => {
                done.already += 1;
                older.extend(id.as_ref().and_then(|id| manifest.older(id)));
                continue;
            }
            Some(Seen::Changed) => eprintln!(
                "thinktee: {}: changed since it was exported to {}: all its rows are exported \
                 again (deduplicate on source, stream, choice, keeping the greatest export_id)",
                escape(&file.path.display().to_string()),
                escape(&dir.display().to_string()),
            ),
            Some(Seen::OtherRows) => eprintln!(
                "thinktee: {}: exported to {} before with other --since, --until, --model or \
                 --no-text: the rows these take are exported (rows both took are there twice: \
                 deduplicate on source, stream, choice, keeping the greatest export_id)",
                escape(&file.path.display().to_string()),
                escape(&dir.display().to_string()),
            ),
            Some(Seen::New) | None => {}
        }
        listed.push(file);
        ids.push(id);
    }
    if let Some(version) = older.iter().min() {
        eprintln!(
            "thinktee: {} of the files already exported to {} were exported with schema version \
             {version}: their rows lack the columns added since (null there; export them into \
             a new directory to have them)",
            older.len(),
            escape(&dir.display().to_string()),
        );
    }
    let export_id = thinktee_export::new_export_id();
    let mut table = TableWriter::new(dir, &export_id, options)?;
    let mut report = FileReport::new(listed.len());
    let mut entries = Vec::new();
    let mut rows_of_file = 0;
    let mut failed = None;
    let result =
        files::read_all::<Records>(&listed, splitter, workers, AHEAD, &mut |item| match item {
            Item::Stream(i, stream) => {
                if !stream.first().is_some_and(|r| select.matches_record(r)) {
                    return Ok(());
                }
                for (k, record) in stream.iter().enumerate() {
                    let source = listed[i].path.to_string_lossy();
                    let row = Row { source: &source, record, first_of_stream: k == 0 };
                    if let Err(e) = table.push(&row) {
                        failed = Some(e);
                        return Err(io::Error::other("export failed"));
                    }
                    rows_of_file += 1;
                }
                Ok(())
            }
            Item::File(i, kind) => {
                report.file(&listed[i].path, kind);
                let rows = mem::take(&mut rows_of_file);
                if rows > 0 {
                    done.sources += 1;
                    if let Some(source) = ids[i].clone() {
                        entries.push(Entry {
                            source,
                            rows,
                            export_id: export_id.clone(),
                            schema_version: thinktee_export::SCHEMA_VERSION,
                            taken: taken.clone(),
                        });
                    }
                }
                Ok(())
            }
        });
    if let Some(e) = failed {
        return Err(e.into());
    }
    result?;
    done.malformed = report.malformed();
    report.finish().report();
    let (stats, written) = table.finish()?;
    if !entries.is_empty() {
        thinktee_export::write_manifest(dir, &export_id, &entries)
            .with_context(|| format!("cannot write the manifest under {MANIFEST_DIR}"))?;
    }
    done.rows = stats.rows;
    done.files = written.len() as u64;
    done.stats = stats;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::fs;
    use std::path::Path;

    use thinktee_export::Select;

    use super::*;

    /// A recording of `n` streams whose texts vary in size with `i`.
    fn recording(dir: &Path, n: usize) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let mut sse = String::new();
        for i in 0..n {
            let (r, a) = ("r".repeat(i % 97 + 1), "a".repeat(i % 89 + 1));
            let _ = write!(
                sse,
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"reasoning_content\":\"{r}\"}}}}]}}\n\n\
                 data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{a}\"}},\"finish_reason\":\"stop\"}}]}}\n\n\
                 data: [DONE]\n\n"
            );
        }
        let path = dir.join("r.sse");
        fs::write(&path, sse).unwrap();
        path
    }

    /// Small bounds, so that both runs fill many batches, row groups and
    /// files. A file's footer (the metadata of each of its row groups)
    /// grows until the file is finished: `file_bytes` bounds it.
    const LIMITS: Limits = Limits {
        batch_rows: 256,
        batch_bytes: 64 << 10,
        row_group_rows: 1024,
        row_group_bytes: 1 << 20,
        file_bytes: 64 << 10,
        buffer_bytes: 64 << 20,
        open_partitions: 4,
    };

    /// The most heap an export of `n` streams holds, on this thread.
    fn peak(base: &Path, n: usize) -> (Done, u64) {
        let input = recording(&base.join(format!("in-{n}")), n);
        let out = base.join(format!("out-{n}"));
        let options = Options { limits: LIMITS, ..Options::default() };
        let (done, peak) = thinktee_testkit::peak_bytes(|| {
            export(&[input], &out, options, &SplitterConfig::default(), &Select::default(), 1)
                .unwrap()
        });
        (done, peak)
    }

    /// A transcript of `n` streams of about 2 KB of text whose request
    /// days cycle over `days` days (stream i on day i % days).
    fn cycling_transcript(dir: &Path, n: u64, days: u64) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let mut text = String::new();
        for i in 0..n {
            let ms = (20_000 + i % days) * 86_400_000 + i;
            let r = "r".repeat(1000 + (i % 13) as usize * 50);
            let _ = writeln!(
                text,
                r#"{{"request":{{"request_id":"q{i}","started_unix_ms":{ms}}},"stream":{i},"choice":0,"id":"c{i}","model":"m","reasoning":"{r}","content":"answer {i}","reasoning_source":"field","finish_reason":"stop","unterminated":false,"done":true,"outcome":"complete","metrics":{{"stream":{i},"chunks":2,"data_bytes":0,"thinking_bytes":0,"answer_bytes":0,"tokens":{{"completion":2,"reasoning":1,"answer":1,"estimated":true}},"choices":[]}}}}"#
            );
        }
        let path = dir.join("t.jsonl");
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn interleaved_dates_hold_the_budget_and_a_small_cost_per_open_file() {
        let base =
            std::env::temp_dir().join(format!("thinktee-export-days-{}", std::process::id()));
        let limits =
            Limits { buffer_bytes: 4 << 20, open_partitions: 128, file_bytes: 1 << 30, ..LIMITS };
        let run = |days: u64| {
            let input = cycling_transcript(&base.join(format!("in-{days}")), 6_000, days);
            let out = base.join(format!("out-{days}"));
            let options = Options { limits, ..Options::default() };
            thinktee_testkit::peak_bytes(|| {
                export(&[input], &out, options, &SplitterConfig::default(), &Select::default(), 1)
                    .unwrap()
            })
        };
        let (few, p8) = run(8);
        let (many, p96) = run(96);
        eprintln!("peak heap: {p8} bytes over 8 days ({:?}), {p96} over 96", few.stats);
        // One file per day, whatever the order of the rows.
        assert_eq!((few.rows, few.files, many.rows, many.files), (6_000, 8, 6_000, 96));
        assert_eq!((few.stats.evictions, many.stats.evictions), (0, 0));
        // The budget acted, and held: rows are under 2 KB of text and 8
        // bytes a column, plus the source's path.
        assert!(many.stats.budget_flushes > 0, "{:?}", many.stats);
        for s in [&few.stats, &many.stats] {
            assert!(s.max_buffered_bytes <= limits.buffer_bytes + 4096, "{s:?}");
        }
        // What the budget does not count, each open file's writer and
        // builders, is small: 72 KB measured (374 KB before the builders
        // started empty).
        let per_file = p96.saturating_sub(p8) / 88;
        assert!(per_file <= 128 << 10, "{per_file} bytes per open file ({p8} for 8, {p96} for 96)");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn hostile_memory_stays_flat_when_the_input_grows_tenfold() {
        let base = std::env::temp_dir().join(format!("thinktee-export-mem-{}", std::process::id()));
        let (small, p1) = peak(&base, 5_000);
        let (large, p10) = peak(&base, 50_000);
        assert_eq!((small.rows, large.rows), (5_000, 50_000));
        // Counted by the writer: batches never pass their bounds.
        assert!(large.stats.max_batch_rows <= LIMITS.batch_rows, "{:?}", large.stats);
        assert!(large.stats.max_batch_bytes <= LIMITS.batch_bytes, "{:?}", large.stats);
        assert!(large.stats.row_groups >= 49, "{:?}", large.stats);
        assert!(large.files > 2 * small.files, "{:?} {:?}", small.stats, large.stats);
        eprintln!("peak heap: {p1} bytes for 5,000 streams, {p10} bytes for 50,000");
        assert!(p10 * 10 <= p1 * 12, "peak {p10} bytes at 10x vs {p1} at 1x");
        fs::remove_dir_all(&base).unwrap();
    }
}
