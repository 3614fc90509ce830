//! `thinktee analyze`: statistics over recorded material, offline.
//!
//! Inputs are raw SSE captures (`.sse`), non-streaming JSON bodies
//! (`.json`, also JSON Lines of bodies) and transcripts (`.jsonl` whose
//! lines are `TranscriptRecord`s), each also compressed (`.gz`, `.zst`:
//! recognized by their magic bytes and decoded as they are read).
//! Directories are searched recursively for those extensions; a FIFO,
//! socket or device met there is skipped with a notice (a path named on the
//! command line is always read). A file that is none of them (JSON that is
//! neither a transcript nor a chat-completion body, like the `split`
//! expectations in `fixtures/e2e/*.expected.jsonl`) is skipped and counted;
//! a file that cannot be read whole (unreadable, not a stream, malformed
//! transcript lines, a JSON line past the limit) is reported and counted as
//! malformed, the streams it did yield still count, and the exit code is 1.
//! See [`read`] for how a file is told apart.
//!
//! Memory stays flat however large the input: files are read as streams
//! (see [`read`]), each stream's counts are folded into the summary when it
//! ends (see [`summary`] for the distributions), and `--per-stream` lines
//! are written as they come, in input order (files as listed). Two workers
//! read files ahead of the one being folded, at most [`FILES_AHEAD`] files
//! and [`STREAMS_AHEAD`] streams each.
//!
//! Counting units: choices (one per choice of each stream) for text sizes,
//! reasoning sources and segments (of the choices that had any), opaque
//! (signed, redacted, encrypted) reasoning, tool calls, finish reasons,
//! unterminated thinking and completion-level filter events; streams for
//! wire formats, tokens, timings, errors, outcomes and prompt-level filter
//! events (which every choice of a stream repeats). A transcript's stream is a run of consecutive lines with the
//! same request, stream index and id whose choice index goes up.
//! Percentiles are nearest-rank (exact up to 10,000 values, within 0.1 %
//! past that).

use std::fs;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::Outcome;
use crate::term::escape;

mod read;
mod summary;

use read::{ChoiceStat, FileKind, StreamStat, read_file};
pub(crate) use summary::Summary;
use summary::Totals;

/// Show the progress bar from the start when there are this many files...
const PROGRESS_MIN_FILES: usize = 200;
/// ...or once the run has taken this long.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);
/// File extensions picked up when searching directories (also under
/// `.gz` and `.zst`).
const EXTENSIONS: [&str; 3] = ["sse", "json", "jsonl"];
/// Skipped files named on stderr before the rest are only counted.
const SKIPPED_NAMED: usize = 3;
/// Files read ahead of the one being folded.
pub(crate) const FILES_AHEAD: usize = 4;
/// Streams of one file read ahead of the fold.
pub(crate) const STREAMS_AHEAD: usize = 256;

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
    /// Recordings (.sse, .json), transcripts (.jsonl), compressed or not,
    /// or directories of them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let analysis = match &args.per_stream {
        Some(path) => {
            let file = fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::new(file);
            let analysis = analyze(&args.paths, workers, Some(&mut out))
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.flush().with_context(|| format!("cannot write {}", path.display()))?;
            analysis
        }
        None => analyze(&args.paths, workers, None)?,
    };
    analysis.report_skipped();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    analysis.summary.print(args.format, &mut out)?;
    out.flush()?;
    Ok(analysis.outcome())
}

// === listing ===

/// A file to read, or what is already known of a path.
struct Listed {
    path: PathBuf,
    known: Option<FileKind>,
}

/// Every file to read, in order: named paths as given (any kind of file:
/// `analyze <(zcat x.gz)` works), directories searched (sorted) for
/// [`EXTENSIONS`]. Paths that cannot be listed, and files found in a
/// directory that are not regular files, come back already known.
fn list(paths: &[PathBuf]) -> Vec<Listed> {
    let mut out = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut out),
            Ok(_) => out.push(Listed { path: path.clone(), known: None }),
            Err(e) => out.push(Listed {
                path: path.clone(),
                known: Some(FileKind::Malformed(e.to_string())),
            }),
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<Listed>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let kind = FileKind::Malformed(format!("cannot list: {e}"));
            out.push(Listed { path: dir.to_owned(), known: Some(kind) });
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else { continue };
        if file_type.is_dir() {
            walk(&path, out);
            continue;
        }
        if !has_extension(&path) {
            continue;
        }
        // A symlink counts as what it points to (directories are not followed).
        let regular = file_type.is_file()
            || (file_type.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()));
        let known = (!regular).then(|| {
            FileKind::Skipped("not a regular file (a FIFO, socket, device or dangling link)".into())
        });
        out.push(Listed { path, known });
    }
}

fn has_extension(path: &Path) -> bool {
    EXTENSIONS.contains(&read::inner_extension(path))
}

// === the run ===

/// What `analyze` found.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub(crate) summary: Summary,
    malformed: u64,
    /// Skipped files per reason: how many, and the first few names.
    skipped: Vec<(String, u64, Vec<String>)>,
}

/// One file's results, in order.
enum Msg {
    Stream(Box<StreamStat>),
    Done(FileKind),
}

/// Reads every file under `paths` with up to `workers` threads and folds
/// them, in input order, into the summary; writes one line per choice of
/// each stream to `per_stream` as they come. Malformed files are reported
/// on stderr as they are folded. Errors only for `per_stream`.
pub(crate) fn analyze(
    paths: &[PathBuf],
    workers: usize,
    per_stream: Option<&mut dyn Write>,
) -> io::Result<Analysis> {
    let listed = list(paths);
    let progress = Progress::new(listed.len());
    let mut fold = Fold::new(&listed, per_stream, &progress);
    let workers = workers.min(listed.len());
    if workers <= 1 {
        for (i, file) in listed.iter().enumerate() {
            let kind = match &file.known {
                Some(kind) => kind.clone(),
                None => {
                    let mut result = Ok(());
                    let kind = read_file(&file.path, &mut |s| {
                        if result.is_ok() {
                            result = fold.stream(i, &s);
                        }
                    });
                    result?;
                    kind
                }
            };
            fold.file(i, &kind);
        }
    } else {
        in_parallel(&listed, workers, &mut fold)?;
    }
    progress.finish();
    Ok(fold.finish())
}

/// Workers take the next file in order and send its streams over a
/// channel of its own; the fold takes the channels in file order. The
/// channels are handed over in order through a bounded queue, so at most
/// [`FILES_AHEAD`] files (and the ones being read) are ahead of the fold.
fn in_parallel(listed: &[Listed], workers: usize, fold: &mut Fold<'_, '_>) -> io::Result<()> {
    let (hand_over, files) = sync_channel::<Receiver<Msg>>(FILES_AHEAD);
    let claims = Mutex::new(Claims { next: 0, hand_over: Some(hand_over), workers });
    let cancelled = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| worker(listed, &claims, &cancelled));
        }
        let result = fold_in_order(listed, &files, fold);
        if result.is_err() {
            cancelled.store(true, Ordering::Relaxed);
        }
        drop(files);
        result
    })
}

/// Which file is next, and the queue its channel goes into (dropped by
/// the last worker to leave, so the fold sees the end even after a panic).
struct Claims {
    next: usize,
    hand_over: Option<SyncSender<Receiver<Msg>>>,
    workers: usize,
}

/// A worker leaving, by return or by panic.
struct Leave<'a>(&'a Mutex<Claims>);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let mut claims = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        claims.workers -= 1;
        if claims.workers == 0 {
            claims.hand_over = None;
        }
    }
}

fn worker(listed: &[Listed], claims: &Mutex<Claims>, cancelled: &AtomicBool) {
    let _leave = Leave(claims);
    loop {
        // Claimed and handed over under one lock: channels queue in order.
        let (i, sender) = {
            let Ok(mut claims) = claims.lock() else { return };
            let i = claims.next;
            if i >= listed.len() || cancelled.load(Ordering::Relaxed) {
                return;
            }
            claims.next += 1;
            let (sender, receiver) = sync_channel(STREAMS_AHEAD);
            match &claims.hand_over {
                Some(hand_over) if hand_over.send(receiver).is_ok() => {}
                _ => return,
            }
            (i, sender)
        };
        let file = &listed[i];
        let kind = match &file.known {
            Some(kind) => kind.clone(),
            None => read_file(&file.path, &mut |s| {
                let _ = sender.send(Msg::Stream(Box::new(s)));
            }),
        };
        let _ = sender.send(Msg::Done(kind));
    }
}

fn fold_in_order(
    listed: &[Listed],
    files: &Receiver<Receiver<Msg>>,
    fold: &mut Fold<'_, '_>,
) -> io::Result<()> {
    for i in 0..listed.len() {
        let Ok(file) = files.recv() else { break };
        loop {
            match file.recv() {
                Ok(Msg::Stream(s)) => fold.stream(i, &s)?,
                Ok(Msg::Done(kind)) => {
                    fold.file(i, &kind);
                    break;
                }
                Err(_) => {
                    fold.file(i, &FileKind::Malformed("its reader stopped".into()));
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Folds streams and files, in order, into the totals.
struct Fold<'a, 'w> {
    listed: &'a [Listed],
    per_stream: Option<&'w mut dyn Write>,
    progress: &'a Progress,
    started: Instant,
    totals: Totals,
    skipped: Vec<(String, u64, Vec<String>)>,
}

impl<'a, 'w> Fold<'a, 'w> {
    fn new(
        listed: &'a [Listed],
        per_stream: Option<&'w mut dyn Write>,
        progress: &'a Progress,
    ) -> Self {
        let (totals, skipped, started) = (Totals::default(), Vec::new(), Instant::now());
        Fold { listed, per_stream, progress, started, totals, skipped }
    }

    fn stream(&mut self, file: usize, s: &StreamStat) -> io::Result<()> {
        self.totals.add_stream(s);
        if let Some(out) = &mut self.per_stream {
            write_per_stream(&mut **out, &self.listed[file].path, s)?;
        }
        Ok(())
    }

    fn file(&mut self, file: usize, kind: &FileKind) {
        self.totals.add_file(kind);
        let name = escape(&self.listed[file].path.display().to_string()).into_owned();
        match kind {
            FileKind::Malformed(why) => {
                self.progress.bar.suspend(|| eprintln!("thinktee: {name}: {}", escape(why)));
            }
            FileKind::Skipped(why) => match self.skipped.iter_mut().find(|(w, ..)| w == why) {
                Some((_, n, names)) => {
                    *n += 1;
                    if names.len() < SKIPPED_NAMED {
                        names.push(name);
                    }
                }
                None => self.skipped.push((why.clone(), 1, vec![name])),
            },
            FileKind::Recording | FileKind::Transcript => {}
        }
        self.progress.tick(self.started);
    }

    fn finish(self) -> Analysis {
        let mut skipped = self.skipped;
        skipped.sort();
        Analysis {
            summary: self.totals.summary(),
            malformed: self.totals.malformed_files(),
            skipped,
        }
    }
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
        for (why, n, names) in &self.skipped {
            let more = match *n as usize - names.len() {
                0 => String::new(),
                more => format!(" and {more} more"),
            };
            eprintln!("thinktee: skipped {n} file(s), {why}: {}{more}", names.join(", "));
        }
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
        let (analysis, peak) =
            thinktee_testkit::peak_bytes(|| analyze(&paths, 1, Some(&mut io::sink())).unwrap());
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
