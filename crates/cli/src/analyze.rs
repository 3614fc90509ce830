//! `thinktee analyze`: statistics over recorded material, offline.
//!
//! Inputs are raw SSE captures (`.sse`), non-streaming JSON bodies
//! (`.json`, also JSON Lines of bodies) and transcripts (`.jsonl` whose
//! lines are `TranscriptRecord`s). Directories are searched recursively for
//! those three extensions. A file that is none of them (JSON that is neither
//! a transcript nor a chat-completion body, like the `split` expectations in
//! `fixtures/e2e/*.expected.jsonl`) is skipped and counted; a file that
//! cannot be read or does not parse is reported, counted as malformed and
//! skipped (a transcript keeps its good lines), and makes the exit code 1.
//!
//! Counting units: choices (one per choice of each stream) for text sizes,
//! reasoning sources, finish reasons, unterminated thinking and
//! completion-level filter events; streams for tokens, timings, errors,
//! outcomes and prompt-level filter events (which every choice of a stream
//! repeats). A transcript's stream is a run of consecutive lines with the
//! same request, stream index and id whose choice index goes up.
//! Percentiles are nearest-rank.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use thinktee_pipeline::{DocumentKind, FilterEvent, FilterSource, Pipeline};
use thinktee_transcript::{Assembler, TranscriptRecord};

use crate::Outcome;

/// Show the progress bar from the start when there are this many files...
const PROGRESS_MIN_FILES: usize = 200;
/// ...or once the run has taken this long.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);
/// File extensions picked up when searching directories.
const EXTENSIONS: [&str; 3] = ["sse", "json", "jsonl"];
/// Skipped files named on stderr before the rest are only counted.
const SKIPPED_NAMED: usize = 3;

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
    /// Recordings (.sse, .json), transcripts (.jsonl) or directories of them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let analysis = analyze(&args.paths);
    analysis.report_problems();
    if let Some(path) = &args.per_stream {
        let file =
            fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::new(file);
        analysis.write_per_stream(&mut out)?;
        out.flush().with_context(|| format!("cannot write {}", path.display()))?;
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    analysis.summary.print(args.format, &mut out)?;
    out.flush()?;
    Ok(analysis.outcome())
}

// === files ===

/// What a file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileKind {
    Recording,
    Transcript,
    Skipped(String),
    Malformed(String),
}

#[derive(Debug)]
struct FileResult {
    kind: FileKind,
    streams: Vec<StreamStat>,
}

impl FileResult {
    fn only(kind: FileKind) -> FileResult {
        FileResult { kind, streams: Vec::new() }
    }
}

/// Every file to read, in order: named files as given, directories
/// searched (sorted) for [`EXTENSIONS`]. Paths that cannot be listed come
/// back as malformed results.
fn list(paths: &[PathBuf]) -> Vec<(PathBuf, Option<FileKind>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<FileKind>)>) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                out.push((dir.to_owned(), Some(FileKind::Malformed(format!("cannot list: {e}")))));
                return;
            }
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => walk(&path, out),
                Ok(_) if has_extension(&path) => out.push((path, None)),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut out),
            Ok(_) => out.push((path.clone(), None)),
            Err(e) => out.push((path.clone(), Some(FileKind::Malformed(format!("{e}"))))),
        }
    }
    out
}

fn has_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e))
}

fn extension(path: &Path) -> &str {
    path.extension().and_then(|e| e.to_str()).unwrap_or("")
}

fn analyze_file(path: &Path) -> FileResult {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return FileResult::only(FileKind::Malformed(format!("cannot read: {e}"))),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return FileResult::only(FileKind::Skipped("empty".into()));
    }
    match extension(path) {
        // SSE, or a JSON body saved as `.sse` (`run_document` tells them apart).
        "sse" => recording(&bytes),
        "json" | "jsonl" => json(&bytes),
        _ if thinktee_pipeline::detect(&bytes) == DocumentKind::Json => json(&bytes),
        _ => recording(&bytes),
    }
}

/// A transcript, or JSON bodies (one, or JSON Lines of them), or neither.
fn json(bytes: &[u8]) -> FileResult {
    use serde::de::IgnoredAny;
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    if serde_json::from_str::<TranscriptRecord>(first).is_ok() {
        return transcript(text);
    }
    // Bodies are read as `Pipeline::run_document` reads them: the whole
    // text if it is one JSON value, else each non-blank line.
    let whole = serde_json::from_str::<IgnoredAny>(text).is_ok();
    if !whole {
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let bad = lines
            .find_map(|(n, l)| serde_json::from_str::<IgnoredAny>(l).err().map(|e| (n + 1, e)));
        if let Some((line, e)) = bad {
            return FileResult::only(FileKind::Malformed(format!("line {line}: not JSON: {e}")));
        }
    }
    let first_body: serde_json::Value =
        serde_json::from_str(if whole { text } else { first }).unwrap_or_default();
    let is_body = ["choices", "error"].iter().any(|k| first_body.get(k).is_some());
    if !is_body {
        return FileResult::only(FileKind::Skipped(
            "JSON, but neither a transcript nor a chat-completion body".into(),
        ));
    }
    recording(bytes)
}

fn recording(bytes: &[u8]) -> FileResult {
    let mut assembler = Assembler::new();
    let Ok(_) = Pipeline::default().run_document(bytes, &mut assembler);
    let records: Vec<TranscriptRecord> = assembler.drain().collect();
    FileResult { kind: FileKind::Recording, streams: streams(&records) }
}

fn transcript(text: &str) -> FileResult {
    let mut records = Vec::new();
    let mut bad = 0;
    let mut first_bad = None;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<TranscriptRecord>(line) {
            Ok(r) => records.push(r),
            Err(e) => {
                bad += 1;
                first_bad.get_or_insert((n + 1, e));
            }
        }
    }
    let kind = match first_bad {
        None => FileKind::Transcript,
        Some((line, e)) => FileKind::Malformed(format!(
            "{bad} malformed transcript line(s), first at line {line}: {e}"
        )),
    };
    FileResult { kind, streams: streams(&records) }
}

// === streams ===

/// One filter event, as counted.
#[derive(Debug, Clone)]
struct FilterStat {
    source: &'static str,
    category: String,
    severity: Option<String>,
    filtered: bool,
}

impl From<&FilterEvent> for FilterStat {
    fn from(f: &FilterEvent) -> FilterStat {
        FilterStat {
            source: f.source.as_str(),
            category: f.category.clone(),
            severity: f.severity.clone(),
            filtered: f.filtered == Some(true),
        }
    }
}

/// What is counted of one choice (its text is not kept).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChoiceStat {
    choice: Option<u32>,
    reasoning_source: &'static str,
    reasoning_bytes: u64,
    answer_bytes: u64,
    finish_reason: Option<String>,
    unterminated: bool,
    #[serde(skip)]
    filters: Vec<FilterStat>,
}

/// What is counted of one stream.
#[derive(Debug, Clone)]
pub(crate) struct StreamStat {
    /// Index of the file in the run.
    file: usize,
    stream: u64,
    id: Option<String>,
    model: Option<String>,
    request_id: Option<String>,
    outcome: &'static str,
    errors: Vec<&'static str>,
    prompt_filters: Vec<FilterStat>,
    reasoning_tokens: Option<u64>,
    answer_tokens: Option<u64>,
    ttft_ms: Option<f64>,
    first_answer_ms: Option<f64>,
    thinking_ms: Option<f64>,
    total_ms: Option<f64>,
    choices: Vec<ChoiceStat>,
}

/// Groups the records of one file into streams.
fn streams(records: &[TranscriptRecord]) -> Vec<StreamStat> {
    let key = |r: &TranscriptRecord| {
        let request = r.request.as_ref();
        (
            request.and_then(|m| m.request_id.clone()),
            request.and_then(|m| m.started_unix_ms),
            r.split.stream,
            r.split.id.clone(),
        )
    };
    let mut out: Vec<StreamStat> = Vec::new();
    let mut last: Option<&TranscriptRecord> = None;
    for r in records {
        let same = last.is_some_and(|l| key(l) == key(r) && r.split.choice > l.split.choice);
        if !same {
            out.push(stream_stat(r));
        }
        if let Some(s) = out.last_mut() {
            s.choices.push(ChoiceStat {
                choice: r.split.choice,
                reasoning_source: r.split.reasoning_source.as_str(),
                reasoning_bytes: r.split.reasoning.len() as u64,
                answer_bytes: r.split.content.len() as u64,
                finish_reason: r.split.finish_reason.clone(),
                unterminated: r.split.unterminated,
                filters: r
                    .split
                    .filters
                    .iter()
                    .filter(|f| f.source == FilterSource::Completion)
                    .map(FilterStat::from)
                    .collect(),
            });
        }
        last = Some(r);
    }
    out
}

/// The stream-level part, from its first record (every choice of a stream
/// carries the same stream-level fields).
fn stream_stat(r: &TranscriptRecord) -> StreamStat {
    let m = &r.metrics;
    let tokens = (!m.tokens.estimated).then_some(m.tokens);
    let ttft = match (m.time_to_first_thinking_ms, m.time_to_first_answer_ms) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    StreamStat {
        file: 0,
        stream: r.split.stream,
        id: r.split.id.clone(),
        model: r.split.model.clone(),
        request_id: r.request.as_ref().and_then(|m| m.request_id.clone()),
        outcome: r.outcome.as_str(),
        errors: r.split.errors.iter().map(|e| e.kind.as_str()).collect(),
        prompt_filters: r
            .split
            .filters
            .iter()
            .filter(|f| f.source == FilterSource::Prompt)
            .map(FilterStat::from)
            .collect(),
        reasoning_tokens: tokens.and_then(|t| t.reasoning),
        answer_tokens: tokens.and_then(|t| t.answer),
        ttft_ms: ttft,
        first_answer_ms: m.time_to_first_answer_ms,
        thinking_ms: m.thinking_duration_ms,
        total_ms: m.total_duration_ms,
        choices: Vec::new(),
    }
}

// === the run ===

/// Everything `analyze` found.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub(crate) summary: Summary,
    files: Vec<(PathBuf, FileKind)>,
    streams: Vec<StreamStat>,
}

/// Reads every file under `paths` on all cores and sums them up.
pub(crate) fn analyze(paths: &[PathBuf]) -> Analysis {
    let listed = list(paths);
    let started = Instant::now();
    let progress = Progress::new(listed.len());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = workers.min(listed.len()).max(1);
    let mut results: Vec<Option<FileResult>> = (0..listed.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, listed_kind)) = listed.get(i) else { break };
                        let result = match listed_kind {
                            Some(kind) => FileResult::only(kind.clone()),
                            None => analyze_file(path),
                        };
                        done.push((i, result));
                        progress.tick(started);
                    }
                    done
                })
            })
            .collect();
        for handle in handles {
            let done = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
    });
    progress.finish();
    let mut files = Vec::new();
    let mut streams = Vec::new();
    for (i, ((path, _), result)) in listed.into_iter().zip(results).enumerate() {
        let Some(mut result) = result else { continue };
        for s in &mut result.streams {
            s.file = i;
        }
        streams.append(&mut result.streams);
        files.push((path, result.kind));
    }
    let summary = Summary::new(&files, &streams);
    Analysis { summary, files, streams }
}

impl Analysis {
    /// Exit status: malformed or unreadable inputs are errors, skipped
    /// files are not.
    pub(crate) fn outcome(&self) -> Outcome {
        if self.summary.files.malformed > 0 { Outcome::HadErrors } else { Outcome::Clean }
    }

    /// Malformed files one per line on stderr, skipped ones summed up
    /// per reason.
    pub(crate) fn report_problems(&self) {
        let mut skipped: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (path, kind) in &self.files {
            match kind {
                FileKind::Malformed(why) => eprintln!("thinktee: {}: {why}", path.display()),
                FileKind::Skipped(why) => {
                    skipped.entry(why).or_default().push(path.display().to_string())
                }
                FileKind::Recording | FileKind::Transcript => {}
            }
        }
        for (why, paths) in skipped {
            let named = paths[..paths.len().min(SKIPPED_NAMED)].join(", ");
            let more = match paths.len().saturating_sub(SKIPPED_NAMED) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            eprintln!("thinktee: skipped {} file(s), {why}: {named}{more}", paths.len());
        }
    }

    /// One JSON line per choice of each stream.
    pub(crate) fn write_per_stream(&self, out: &mut impl Write) -> anyhow::Result<()> {
        #[derive(Serialize)]
        struct Line<'a> {
            source: String,
            stream: u64,
            id: &'a Option<String>,
            model: &'a Option<String>,
            request_id: &'a Option<String>,
            #[serde(flatten)]
            choice: &'a ChoiceStat,
            filters: usize,
            filtered: usize,
            errors: &'a [&'static str],
            outcome: &'static str,
            reasoning_tokens: Option<u64>,
            answer_tokens: Option<u64>,
            ttft_ms: Option<f64>,
            first_answer_ms: Option<f64>,
            thinking_ms: Option<f64>,
            total_ms: Option<f64>,
        }
        for s in &self.streams {
            for c in &s.choices {
                let filters = s.prompt_filters.iter().chain(&c.filters);
                let line = Line {
                    source: self.files[s.file].0.display().to_string(),
                    stream: s.stream,
                    id: &s.id,
                    model: &s.model,
                    request_id: &s.request_id,
                    choice: c,
                    filters: filters.clone().count(),
                    filtered: filters.filter(|f| f.filtered).count(),
                    errors: &s.errors,
                    outcome: s.outcome,
                    reasoning_tokens: s.reasoning_tokens,
                    answer_tokens: s.answer_tokens,
                    ttft_ms: s.ttft_ms,
                    first_answer_ms: s.first_answer_ms,
                    thinking_ms: s.thinking_ms,
                    total_ms: s.total_ms,
                };
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    }
}

/// A progress bar on stderr, drawn only on a terminal and only for long
/// runs (many files, or past [`PROGRESS_AFTER`]).
struct Progress {
    bar: ProgressBar,
    terminal: bool,
    shown: AtomicBool,
}

impl Progress {
    fn new(files: usize) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}") {
            bar.set_style(style);
        }
        let progress =
            Progress { bar, terminal: io::stderr().is_terminal(), shown: AtomicBool::new(false) };
        if files >= PROGRESS_MIN_FILES {
            progress.show();
        }
        progress
    }

    fn show(&self) {
        if self.terminal && !self.shown.swap(true, Ordering::Relaxed) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn tick(&self, started: Instant) {
        self.bar.inc(1);
        if started.elapsed() >= PROGRESS_AFTER {
            self.show();
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

// === the summary ===

/// Nearest-rank percentiles of a sample.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Dist<T> {
    count: usize,
    p50: Option<T>,
    p90: Option<T>,
    p99: Option<T>,
    max: Option<T>,
}

impl<T: Copy + PartialOrd> Dist<T> {
    fn of(mut sample: Vec<T>) -> Dist<T> {
        sample.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let rank = |q: f64| {
            let n = sample.len();
            let i = ((q * n as f64).ceil() as usize).max(1) - 1;
            sample.get(i.min(n.saturating_sub(1))).copied()
        };
        Dist {
            count: sample.len(),
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: sample.last().copied(),
        }
    }
}

/// How many files were of which kind.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct FileCounts {
    total: u64,
    recordings: u64,
    transcripts: u64,
    skipped: u64,
    malformed: u64,
}

/// Content-filter events.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct FilterCounts {
    events: u64,
    filtered: u64,
    by_source: BTreeMap<String, u64>,
    by_category: BTreeMap<String, u64>,
    by_severity: BTreeMap<String, u64>,
}

/// Per-stream timings in milliseconds (inputs with arrival times only:
/// transcripts).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Timings {
    /// First text of any kind.
    ttft: Dist<f64>,
    first_answer: Dist<f64>,
    thinking: Dist<f64>,
    total: Dist<f64>,
}

/// The summary `analyze` prints.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Summary {
    files: FileCounts,
    streams: u64,
    choices: u64,
    /// Choices with non-empty reasoning text.
    with_reasoning: u64,
    reasoning_share: f64,
    reasoning_sources: BTreeMap<String, u64>,
    reasoning_bytes: Dist<u64>,
    answer_bytes: Dist<u64>,
    reasoning_tokens: Dist<u64>,
    answer_tokens: Dist<u64>,
    finish_reasons: BTreeMap<String, u64>,
    unterminated: u64,
    filters: FilterCounts,
    errors: BTreeMap<String, u64>,
    outcomes: BTreeMap<String, u64>,
    timings_ms: Timings,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_default() += 1;
}

impl FilterCounts {
    fn add(&mut self, f: &FilterStat) {
        self.events += 1;
        self.filtered += u64::from(f.filtered);
        bump(&mut self.by_source, f.source);
        bump(&mut self.by_category, &f.category);
        if let Some(severity) = &f.severity {
            bump(&mut self.by_severity, severity);
        }
    }
}

impl Summary {
    fn new(files: &[(PathBuf, FileKind)], streams: &[StreamStat]) -> Summary {
        let mut s = Summary::default();
        for (_, kind) in files {
            s.files.total += 1;
            match kind {
                FileKind::Recording => s.files.recordings += 1,
                FileKind::Transcript => s.files.transcripts += 1,
                FileKind::Skipped(_) => s.files.skipped += 1,
                FileKind::Malformed(_) => s.files.malformed += 1,
            }
        }
        let (mut reasoning_bytes, mut answer_bytes) = (Vec::new(), Vec::new());
        let (mut reasoning_tokens, mut answer_tokens) = (Vec::new(), Vec::new());
        let (mut ttft, mut first_answer, mut thinking, mut total) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for stream in streams {
            s.streams += 1;
            bump(&mut s.outcomes, stream.outcome);
            for kind in &stream.errors {
                bump(&mut s.errors, kind);
            }
            for f in &stream.prompt_filters {
                s.filters.add(f);
            }
            reasoning_tokens.extend(stream.reasoning_tokens);
            answer_tokens.extend(stream.answer_tokens);
            ttft.extend(stream.ttft_ms);
            first_answer.extend(stream.first_answer_ms);
            thinking.extend(stream.thinking_ms);
            total.extend(stream.total_ms);
            for c in &stream.choices {
                s.choices += 1;
                s.with_reasoning += u64::from(c.reasoning_bytes > 0);
                s.unterminated += u64::from(c.unterminated);
                bump(&mut s.reasoning_sources, c.reasoning_source);
                bump(&mut s.finish_reasons, c.finish_reason.as_deref().unwrap_or("none"));
                reasoning_bytes.push(c.reasoning_bytes);
                answer_bytes.push(c.answer_bytes);
                for f in &c.filters {
                    s.filters.add(f);
                }
            }
        }
        if s.choices > 0 {
            s.reasoning_share = s.with_reasoning as f64 / s.choices as f64;
        }
        s.reasoning_bytes = Dist::of(reasoning_bytes);
        s.answer_bytes = Dist::of(answer_bytes);
        s.reasoning_tokens = Dist::of(reasoning_tokens);
        s.answer_tokens = Dist::of(answer_tokens);
        s.timings_ms = Timings {
            ttft: Dist::of(ttft),
            first_answer: Dist::of(first_answer),
            thinking: Dist::of(thinking),
            total: Dist::of(total),
        };
        s
    }

    pub(crate) fn print(&self, format: Format, out: &mut impl Write) -> anyhow::Result<()> {
        match format {
            Format::Json => {
                serde_json::to_writer(&mut *out, self)?;
                writeln!(out)?;
            }
            Format::Text => self.print_text(out)?,
        }
        Ok(())
    }

    fn print_text(&self, out: &mut impl Write) -> io::Result<()> {
        let f = &self.files;
        writeln!(
            out,
            "files              {} ({} recordings, {} transcripts, {} skipped, {} malformed)",
            f.total, f.recordings, f.transcripts, f.skipped, f.malformed
        )?;
        writeln!(out, "streams            {}", self.streams)?;
        writeln!(out, "choices            {}", self.choices)?;
        writeln!(
            out,
            "with reasoning     {} ({:.1}%)   {}",
            self.with_reasoning,
            self.reasoning_share * 100.0,
            counts(&self.reasoning_sources)
        )?;
        writeln!(
            out,
            "{:<18} {:>7} {:>9} {:>9} {:>9} {:>9}",
            "", "count", "p50", "p90", "p99", "max"
        )?;
        dist_row(out, "reasoning bytes", &self.reasoning_bytes)?;
        dist_row(out, "answer bytes", &self.answer_bytes)?;
        dist_row(out, "reasoning tokens", &self.reasoning_tokens)?;
        dist_row(out, "answer tokens", &self.answer_tokens)?;
        let t = &self.timings_ms;
        dist_row(out, "ttft ms", &t.ttft)?;
        dist_row(out, "first answer ms", &t.first_answer)?;
        dist_row(out, "thinking ms", &t.thinking)?;
        dist_row(out, "total ms", &t.total)?;
        writeln!(out, "finish reasons     {}", counts(&self.finish_reasons))?;
        writeln!(out, "unterminated       {}", self.unterminated)?;
        let fc = &self.filters;
        writeln!(out, "content filters    {} events, {} filtered", fc.events, fc.filtered)?;
        if fc.events > 0 {
            writeln!(out, "  by source        {}", counts(&fc.by_source))?;
            writeln!(out, "  by category      {}", counts(&fc.by_category))?;
            writeln!(out, "  by severity      {}", counts(&fc.by_severity))?;
        }
        writeln!(out, "errors             {}", counts(&self.errors))?;
        writeln!(out, "outcomes           {}", counts(&self.outcomes))
    }
}

/// `a 3 · b 1`, or `-` when empty.
fn counts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "-".into();
    }
    map.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(" · ")
}

/// How a value shows in the table.
trait Cell: Copy {
    fn cell(self) -> String;
}

impl Cell for u64 {
    fn cell(self) -> String {
        self.to_string()
    }
}

impl Cell for f64 {
    fn cell(self) -> String {
        format!("{self:.1}")
    }
}

fn dist_row<T: Cell>(out: &mut impl Write, name: &str, d: &Dist<T>) -> io::Result<()> {
    let cell = |v: Option<T>| v.map_or_else(|| "-".to_owned(), Cell::cell);
    writeln!(
        out,
        "{name:<18} {:>7} {:>9} {:>9} {:>9} {:>9}",
        d.count,
        cell(d.p50),
        cell(d.p90),
        cell(d.p99),
        cell(d.max)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let d = Dist::of((1..=10u64).rev().collect());
        assert_eq!(
            (d.count, d.p50, d.p90, d.p99, d.max),
            (10, Some(5), Some(9), Some(10), Some(10))
        );
        let d = Dist::of(vec![7.5]);
        assert_eq!((d.p50, d.p99), (Some(7.5), Some(7.5)));
        let d = Dist::<u64>::of(Vec::new());
        assert_eq!((d.count, d.p50, d.max), (0, None, None));
    }
}
