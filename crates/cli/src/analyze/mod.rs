//! `thinktee analyze`: statistics over recorded material, offline.
//!
//! Inputs are read as [`crate::files`] says (recordings, JSON bodies,
//! transcripts, compressed or not, directories searched; malformed files
//! reported, other JSON skipped).
//!
//! Memory stays flat however large the input: files are read as streams,
//! each stream's counts ([`stat`]) are folded into the summary when it
//! ends (see [`summary`] for the distributions), and `--per-stream` lines
//! are written as they come, in input order (files as listed). Workers
//! read files ahead of the one being folded, at most [`AHEAD`].
//!
//! Counting units: choices (one per choice of each stream) for text sizes,
//! reasoning sources and segments (of the choices that had any), opaque
//! (signed, redacted, encrypted) reasoning, tool calls, finish reasons,
//! unterminated thinking and completion-level filter events; streams for
//! wire formats, tokens, timings, errors, outcomes and prompt-level filter
//! events (which every choice of a stream repeats). A transcript's stream is a run of consecutive lines with the
//! same request, stream index and id whose choice index goes up.
//! Percentiles are nearest-rank (exact up to 10,000 values, within 0.1 %
//! past that); reasoning tokens' are of the streams that reason only.
//! Streams are also summed up, all together and by model (the response's,
//! else the request's) and by day of the request (UTC): counts, token
//! sums, the share of output tokens spent reasoning, mean timings; at most
//! [`summary::MAX_GROUPS`] models and days, the rest under `(other)`.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use thinktee_export::Select;
use thinktee_pipeline::SplitterConfig;

use crate::Outcome;
use crate::files::{self, Ahead, FileReport, Item, Skipped};
use crate::select::SelectArgs;
use crate::split::SplitterArgs;

mod stat;
mod summary;

use stat::Stats;
pub(crate) use stat::{ChoiceStat, StreamStat};
#[cfg(test)]
pub(crate) use summary::EXACT_SAMPLES;
use summary::Totals;
pub(crate) use summary::{Dist, FilterCounts, Summary};

/// Workers read at most 4 files of 256 streams ahead of the fold (counts
/// hold no text).
pub(crate) const AHEAD: Ahead = Ahead { files: 4, streams: 256 };

/// Output format of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A table.
    Text,
    /// One JSON object.
    Json,
}

/// `thinktee analyze [--format text|json] [--per-stream FILE] PATH...`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Output format of the summary.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Also write one JSON line per choice of each stream to FILE.
    #[arg(long, value_name = "FILE")]
    per_stream: Option<PathBuf>,
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    splitter: SplitterArgs,
    /// Recordings (.sse, .json), transcripts (.jsonl), compressed or not,
    /// or directories of them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let select = args.select.select();
    let splitter = args.splitter.config()?;
    let analysis = match &args.per_stream {
        Some(path) => {
            let file = fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::new(file);
            let analysis = analyze(&args.paths, &splitter, workers, &select, Some(&mut out))
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.flush().with_context(|| format!("cannot write {}", path.display()))?;
            analysis
        }
        None => analyze(&args.paths, &splitter, workers, &select, None)?,
    };
    analysis.report_skipped();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    analysis.summary.print(args.format, &mut out)?;
    out.flush()?;
    Ok(analysis.outcome())
}

// === the run ===

/// What `analyze` found.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub(crate) summary: Summary,
    malformed: u64,
    skipped: Skipped,
}

/// Reads every file under `paths` with up to `workers` threads and folds
/// the streams `select` takes, in input order, into the summary; writes one
/// line per choice of each stream to `per_stream` as they come. Malformed
/// files are reported on stderr as they are folded. Errors only for
/// `per_stream`.
pub(crate) fn analyze(
    paths: &[PathBuf],
    splitter: &SplitterConfig,
    workers: usize,
    select: &Select,
    per_stream: Option<&mut dyn Write>,
) -> io::Result<Analysis> {
    match per_stream {
        Some(out) => analyze_each(paths, splitter, workers, select, &mut |path, s| {
            write_per_stream(&mut *out, path, s)
        }),
        None => analyze_each(paths, splitter, workers, select, &mut |_, _| Ok(())),
    }
}

/// [`analyze`], handing each stream `select` takes (and the file it came
/// from) to `each` as it is folded, in input order; stops at the first
/// error `each` returns.
pub(crate) fn analyze_each(
    paths: &[PathBuf],
    splitter: &SplitterConfig,
    workers: usize,
    select: &Select,
    each: &mut dyn FnMut(&Path, &StreamStat) -> io::Result<()>,
) -> io::Result<Analysis> {
    let listed = files::list(paths);
    let mut report = FileReport::new(listed.len());
    let mut totals = Totals::default();
    files::read_all::<Stats>(&listed, splitter, workers, AHEAD, &mut |item| {
        match item {
            Item::Stream(i, s) => {
                let request_model = s.request_model.as_deref();
                if !select.matches(s.started_unix_ms, s.model.as_deref(), request_model) {
                    return Ok(());
                }
                totals.add_stream(&s);
                each(&listed[i].path, &s)?;
            }
            Item::File(i, kind) => {
                totals.add_file(kind);
                report.file(&listed[i].path, kind);
            }
        }
        Ok(())
    })?;
    let malformed = totals.malformed_files();
    Ok(Analysis { summary: totals.summary(), malformed, skipped: report.finish() })
}

/// One JSON line per choice of a stream.
fn write_per_stream(out: &mut dyn Write, path: &Path, s: &StreamStat) -> io::Result<()> {
    #[derive(Serialize)]
    struct Line<'a> {
        source: String,
        stream: u64,
        format: &'static str,
        id: &'a Option<String>,
        model: &'a Option<String>,
        request_id: &'a Option<String>,
        #[serde(flatten)]
        choice: &'a ChoiceStat,
        filters: u64,
        filtered: u64,
        errors: Errors<'a>,
        outcome: &'static str,
        reasoning_tokens: Option<u64>,
        answer_tokens: Option<u64>,
        ttft_ms: Option<f64>,
        first_answer_ms: Option<f64>,
        thinking_ms: Option<f64>,
        total_ms: Option<f64>,
    }
    /// Each error's kind, as a list.
    struct Errors<'a>(&'a [(&'static str, u64)]);
    impl Serialize for Errors<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(
                self.0.iter().flat_map(|(kind, n)| std::iter::repeat_n(*kind, *n as usize)),
            )
        }
    }
    for c in &s.choices {
        let line = Line {
            source: path.display().to_string(),
            stream: s.stream,
            format: s.format,
            id: &s.id,
            model: &s.model,
            request_id: &s.request_id,
            choice: c,
            filters: s.prompt_filters.events + c.filters.events,
            filtered: s.prompt_filters.filtered + c.filters.filtered,
            errors: Errors(&s.errors),
            outcome: s.outcome,
            reasoning_tokens: s.reasoning_tokens,
            answer_tokens: s.answer_tokens,
            ttft_ms: s.ttft_ms,
            first_answer_ms: s.first_answer_ms,
            thinking_ms: s.thinking_ms,
            total_ms: s.total_ms,
        };
        serde_json::to_writer(&mut *out, &line).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

impl Analysis {
    /// Exit status: malformed or unreadable inputs are errors, skipped
    /// files are not.
    pub(crate) fn outcome(&self) -> Outcome {
        if self.malformed > 0 { Outcome::HadErrors } else { Outcome::Clean }
    }

    /// Skipped files summed up per reason (malformed ones were reported as
    /// they were folded).
    pub(crate) fn report_skipped(&self) {
        self.skipped.report();
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::time::Duration;

    use thinktee_pipeline::Pipeline;
    use thinktee_transcript::{JsonlWriter, TranscriptSink};

    use super::*;

    /// Stream `i` of a recording: reasoning and answer whose sizes vary
    /// with `i`, usage, `[DONE]`.
    fn stream(i: usize, out: &mut String) {
        let (r, a) = ("r".repeat(i % 97 + 1), "a".repeat(i % 89 + 1));
        let delta = |field: &str, text: &str| {
            format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"{field}\":\"{text}\"}}}}]}}\n\n"
            )
        };
        out.push_str(&delta("reasoning_content", &r));
        out.push_str(&delta("content", &a));
        let _ = write!(
            out,
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}],\
             \"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":{},\
             \"completion_tokens_details\":{{\"reasoning_tokens\":{}}}}}}}\n\ndata: [DONE]\n\n",
            i % 89 + i % 97 + 2,
            i % 97 + 1
        );
    }

    /// In `dir`: a transcript of `transcript` streams (with timings), a
    /// recording of `n` streams and JSON Lines of `n` bodies.
    fn inputs(dir: &Path, transcript: usize, n: usize) {
        fs::create_dir_all(dir).unwrap();
        let mut sse = String::new();
        let mut bodies = String::new();
        for i in 0..n {
            stream(i, &mut sse);
            let _ = writeln!(
                bodies,
                "{{\"object\":\"chat.completion\",\"choices\":[{{\"index\":0,\"message\":\
                 {{\"content\":\"{}\"}},\"finish_reason\":\"stop\"}}]}}",
                "b".repeat(i % 83)
            );
        }
        fs::write(dir.join("r.sse"), &sse).unwrap();
        fs::write(dir.join("b.jsonl"), &bodies).unwrap();
        let mut recorded = String::new();
        for i in 0..transcript {
            stream(i, &mut recorded);
        }
        let mut sink = TranscriptSink::new(JsonlWriter::new(Vec::new()));
        let mut pipeline = Pipeline::default();
        for (k, event) in recorded.split_inclusive("\n\n").enumerate() {
            let at = Duration::from_millis(k as u64 * 7 % 1000);
            pipeline.feed_at(event.as_bytes(), at, &mut sink).unwrap();
        }
        pipeline.finish(&mut sink).unwrap();
        sink.output_mut().flush().unwrap();
        fs::write(dir.join("t.jsonl"), sink.output().get_ref()).unwrap();
    }

    /// The most heap `analyze` holds, on this thread, for `dir`.
    fn peak(dir: &Path) -> (Summary, u64) {
        let paths = [dir.to_owned()];
        let (analysis, peak) = thinktee_testkit::peak_bytes(|| {
            let splitter = SplitterConfig::default();
            analyze(&paths, &splitter, 1, &Select::default(), Some(&mut io::sink())).unwrap()
        });
        (analysis.summary, peak)
    }

    #[test]
    fn hostile_memory_stays_flat_when_the_input_grows_tenfold() {
        // The transcript alone has more streams than EXACT_SAMPLES at 1x
        // (it alone has timings), so every distribution is a histogram in
        // both runs; the other two files grow tenfold as well.
        let (t, n) = (summary::EXACT_SAMPLES + 1_000, 1_000);
        let base =
            std::env::temp_dir().join(format!("thinktee-analyze-mem-{}", std::process::id()));
        let (small, large) = (base.join("x1"), base.join("x10"));
        inputs(&small, t, n);
        inputs(&large, 10 * t, 10 * n);
        let (s1, p1) = peak(&small);
        let (s10, p10) = peak(&large);
        let streams = |s: &Summary| serde_json::to_value(s).unwrap()["streams"].as_u64().unwrap();
        assert_eq!((streams(&s1), streams(&s10)), ((t + 2 * n) as u64, 10 * (t + 2 * n) as u64));
        let input: u64 = ["r.sse", "t.jsonl", "b.jsonl"]
            .iter()
            .map(|f| fs::metadata(large.join(f)).unwrap().len())
            .sum();
        eprintln!("peak heap: {p1} bytes at 1x, {p10} bytes at 10x ({input} bytes of input)");
        assert!(p10 * 10 <= p1 * 12, "peak {p10} bytes at 10x vs {p1} at 1x");
        fs::remove_dir_all(&base).unwrap();
    }
}
