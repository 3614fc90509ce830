//! `thinktee demo`: the whole pipeline on the bundled recordings, offline.
//!
//! Every recording is played as a response body arriving over a network
//! (cut at event boundaries and inside events, a few milliseconds apart),
//! all at once as a proxy would see them, through the async tee into two
//! sinks: a transcript (one writer thread shared by every stream) and a
//! metrics sink. Then it prints a few streams split into thinking and
//! answer, the `analyze` summary of the transcripts it wrote, and where
//! they are.
//!
//! Recordings come from `fixtures/e2e/*.sse` under the current directory (a
//! clone of the repository); elsewhere a few built into the binary are used.
//!
//! It never deletes or overwrites a file: without `--out` each run writes a
//! new directory `thinktee-demo/run-<n>`; an `--out` directory that holds
//! anything is refused unless `--force`, which adds this run's transcripts
//! under names no file there has (and summarizes only those).

use std::collections::VecDeque;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use futures_core::Stream;
use thinktee_metrics::{MetricsSink, StreamMetrics};
use thinktee_pipeline::{Flow, Record, Sink};
use thinktee_tee::{
    Builder, ChannelOutput, ParsePool, TRANSCRIPT_QUEUE, TeeReport, TranscriptWriter,
};
use thinktee_testkit::network_pieces;
use thinktee_transcript::{JsonlWriter, RequestMeta, TranscriptRecord, TranscriptSink};
use tokio::time::{Instant, Sleep};

use crate::Outcome;
use crate::analyze;
use crate::term::{Style, escape};

/// A recording's name and bytes.
type Recording = (String, Vec<u8>);

/// Where the recordings are looked for, relative to the current directory.
const FIXTURE_DIR: &str = "fixtures/e2e";
/// Recordings built into the binary, for runs outside a clone.
const BUILT_IN: [(&str, &[u8]); 6] = [
    ("azure_inline_think", include_bytes!("../../../fixtures/e2e/azure_inline_think.sse")),
    (
        "deepseek_reasoning_content",
        include_bytes!("../../../fixtures/e2e/deepseek_reasoning_content.sse"),
    ),
    ("n2_interleaved_choices", include_bytes!("../../../fixtures/e2e/n2_interleaved_choices.sse")),
    ("azure_filter_default", include_bytes!("../../../fixtures/e2e/azure_filter_default.sse")),
    ("vllm_reasoning", include_bytes!("../../../fixtures/e2e/vllm_reasoning.sse")),
    ("midstream_error_openai", include_bytes!("../../../fixtures/e2e/midstream_error_openai.sse")),
];
/// Streams shown split into thinking and answer, when present.
const SHOWN: [&str; 3] =
    ["azure_inline_think", "deepseek_reasoning_content", "n2_interleaved_choices"];
/// Longest text shown per part, in characters.
const SHOWN_CHARS: usize = 400;
/// Where runs without `--out` go, each in a new `run-<n>` directory.
const DEFAULT_OUT: &str = "thinktee-demo";
/// The transcript's name (its stem, then `.jsonl`) where no file has it.
const TRANSCRIPT_STEM: &str = "transcripts";

/// `thinktee demo [--out DIR [--force]]`
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory for the transcripts: new or empty (default: a new
    /// thinktee-demo/run-N for each run).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write into a non-empty --out directory, under names no file there
    /// has (nothing is deleted or overwritten).
    #[arg(long, requires = "out")]
    force: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let (origin, recordings) = recordings()?;
    let (dir, fresh) = match &args.out {
        Some(dir) => (dir.clone(), given_dir(dir, args.force)?),
        None => (new_run_dir(Path::new(DEFAULT_OUT))?, true),
    };
    let path = dir.join(format!("{}.jsonl", free_stem(&dir)?));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .context("cannot start the async runtime")?;
    let (played, dropped) = runtime.block_on(play_all(&recordings, &path))?;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let style = Style::stdout();
    writeln!(
        out,
        "{}played {} recordings from {origin} through the tee{}",
        style.bold,
        recordings.len(),
        style.reset
    )?;
    let files = [path.clone()];
    let records = read_records(&files)?;
    for stem in SHOWN.iter().filter(|s| played.iter().any(|p| p.stem == **s)) {
        let p = played.iter().find(|p| p.stem == *stem).context("played")?;
        show(&mut out, &style, p, records.iter().filter(|r| request_id(r) == Some(stem)))?;
    }
    writeln!(out, "\n{}summary of the transcripts (thinktee analyze){}", style.bold, style.reset)?;
    let analysis = analyze::analyze(
        &files,
        &thinktee_pipeline::SplitterConfig::default(),
        1,
        &thinktee_export::Select::default(),
        None,
    )?;
    analysis.report_skipped();
    analysis.summary.print(analyze::Format::Text, &mut out)?;
    writeln!(out)?;
    let shown = |p: &Path| escape(&p.display().to_string()).into_owned();
    writeln!(out, "transcripts: {} ({} lines)", shown(&path), records.len())?;
    // A directory of its own is this run's alone; a shared one is not.
    let analyze_what = if fresh {
        shown(&dir)
    } else {
        files.iter().map(|f| shown(f)).collect::<Vec<_>>().join(" ")
    };
    writeln!(out, "analyze them: thinktee analyze {analyze_what}")?;
    out.flush()?;
    let failed = played.iter().filter(|p| p.report.sink_error.is_some()).count();
    if failed > 0 {
        eprintln!("thinktee: {failed} stream(s) could not be recorded");
    }
    if dropped > 0 {
        eprintln!("thinktee: {dropped} transcript record(s) dropped: the writer fell behind");
    }
    Ok(if failed > 0 || dropped > 0 || analysis.outcome() == Outcome::HadErrors {
        Outcome::HadErrors
    } else {
        Outcome::Clean
    })
}

/// The recordings: from the clone, else built in; and where they came from.
fn recordings() -> anyhow::Result<(String, Vec<Recording>)> {
    let dir = Path::new(FIXTURE_DIR);
    if !dir.is_dir() {
        let built_in = BUILT_IN.iter().map(|(s, b)| ((*s).to_owned(), b.to_vec())).collect();
        return Ok(("the built-in set".into(), built_in));
    }
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {FIXTURE_DIR}"))? {
        let path = entry?.path();
        if let Some(stem) = path.file_name().and_then(|n| n.to_str()?.strip_suffix(".sse")) {
            let bytes =
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            out.push((stem.to_owned(), bytes));
        }
    }
    out.sort();
    Ok((FIXTURE_DIR.into(), out))
}

/// A new directory under `base`: `run-1`, `run-2`, ... the first that
/// does not exist (created here, so two runs never share one).
fn new_run_dir(base: &Path) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(base).with_context(|| format!("cannot create {}", base.display()))?;
    for n in 1u64.. {
        let dir = base.join(format!("run-{n}"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
    unreachable!("some run number is free")
}

/// Checks `--out DIR`: created if missing; refused if it holds anything,
/// unless `force`. True when the directory was new or empty.
fn given_dir(dir: &Path, force: bool) -> anyhow::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            let empty = entries.next().is_none();
            anyhow::ensure!(
                empty || force,
                "{} is not empty: choose a new or empty directory, or pass --force to add this \
                 run's transcripts to it (nothing is deleted or overwritten)",
                escape(&dir.display().to_string())
            );
            Ok(empty)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            Ok(true)
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot use {} for the transcripts", dir.display()))
        }
    }
}

/// A transcript stem no file in `dir` has, nor any of its rotations
/// (`<stem>-….jsonl`): `transcripts`, else `transcripts-run<n>`.
fn free_stem(dir: &Path) -> anyhow::Result<String> {
    let names: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let free = |stem: &str| {
        let rotated = format!("{stem}-");
        !names.iter().any(|n| *n == format!("{stem}.jsonl") || n.starts_with(&rotated))
    };
    let mut stem = TRANSCRIPT_STEM.to_owned();
    let mut n = 0;
    while !free(&stem) {
        n += 1;
        stem = format!("{TRANSCRIPT_STEM}-run{n}");
    }
    Ok(stem)
}

fn read_records(files: &[PathBuf]) -> anyhow::Result<Vec<TranscriptRecord>> {
    let mut records = Vec::new();
    for path in files {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            records.push(
                serde_json::from_str(line)
                    .with_context(|| format!("bad transcript line in {}", path.display()))?,
            );
        }
    }
    Ok(records)
}

fn request_id(r: &TranscriptRecord) -> Option<&str> {
    r.request.as_ref()?.request_id.as_deref()
}

// === playing ===

/// One recording played through the tee.
struct Played {
    stem: String,
    report: TeeReport<thinktee_transcript::Error>,
    metrics: Vec<StreamMetrics>,
}

/// Plays every recording at once; what each did, and how many transcript
/// records were dropped.
async fn play_all(recordings: &[Recording], path: &Path) -> anyhow::Result<(Vec<Played>, u64)> {
    // A few KiB: one file, never rotated.
    let writer = JsonlWriter::create(path, u64::MAX)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let writer = TranscriptWriter::spawn(writer, TRANSCRIPT_QUEUE)?;
    let dropped = writer.dropped_total();
    let pool = ParsePool::new().context("cannot start the parse threads")?;
    let started_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut tasks = Vec::new();
    for (stem, bytes) in recordings {
        let meta = RequestMeta {
            method: Some("POST".into()),
            path: Some("/v1/chat/completions".into()),
            request_id: Some(stem.clone()),
            upstream: Some(format!("recording:{stem}")),
            started_unix_ms: Some(started_unix_ms),
            ..RequestMeta::default()
        };
        let sink = DemoSink { transcript: writer.sink(Some(meta)), metrics: MetricsSink::new() };
        let (stem, bytes) = (stem.clone(), Bytes::from(bytes.clone()));
        let tee = Builder::new(&pool).start(Instant::now());
        tasks.push(tokio::spawn(async move {
            let (mut forwarded, handle) = tee.stream(Paced::new(&bytes), sink);
            // The client side: take each piece as it comes.
            let mut received = 0;
            while let Some(piece) =
                std::future::poll_fn(|cx| Pin::new(&mut forwarded).poll_next(cx)).await
            {
                received += piece.map_or(0, |p| p.len());
            }
            debug_assert_eq!(received, bytes.len());
            let (report, mut sink) = handle.join_sink().await?;
            let metrics = sink.metrics.drain().collect();
            Ok::<_, thinktee_tee::Error>(Played { stem, report, metrics })
        }));
    }
    let mut played = Vec::new();
    for task in tasks {
        played.push(task.await.context("a demo stream panicked")??);
    }
    // Every stream was joined: the parse threads end at once.
    pool.shutdown().await;
    let writer = writer.shutdown().await?;
    anyhow::ensure!(writer.stats().failures == 0, "transcript writes failed");
    Ok((played, dropped.load(std::sync::atomic::Ordering::Relaxed)))
}

/// The two sinks of each stream.
struct DemoSink {
    transcript: TranscriptSink<ChannelOutput>,
    metrics: MetricsSink,
}

impl Sink for DemoSink {
    type Error = thinktee_transcript::Error;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Self::Error> {
        let Ok(_) = self.metrics.record(record);
        self.transcript.record(record)
    }

    fn finish(&mut self) -> Result<(), Self::Error> {
        self.transcript.finish()
    }
}

/// A recording as a body arriving over a network: cut at every blank line
/// and inside every event, pieces a few milliseconds apart.
struct Paced {
    pieces: VecDeque<Bytes>,
    sleep: Pin<Box<Sleep>>,
    sent: u64,
}

impl Paced {
    fn new(bytes: &Bytes) -> Paced {
        let pieces = network_pieces(bytes).into_iter().map(|range| bytes.slice(range)).collect();
        Paced { pieces, sleep: Box::pin(tokio::time::sleep(gap(0))), sent: 0 }
    }
}

/// 2 to 6 ms, varying.
fn gap(n: u64) -> Duration {
    Duration::from_millis(2 + (n * 7) % 5)
}

impl Stream for Paced {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.pieces.is_empty() {
            return Poll::Ready(None);
        }
        std::task::ready!(self.sleep.as_mut().poll(cx));
        self.sent += 1;
        let next = Instant::now() + gap(self.sent);
        self.sleep.as_mut().reset(next);
        Poll::Ready(self.pieces.pop_front().map(Ok))
    }
}

// === showing ===

fn show<'a>(
    out: &mut impl Write,
    style: &Style,
    played: &Played,
    records: impl Iterator<Item = &'a TranscriptRecord>,
) -> io::Result<()> {
    let Style { bold, dim, reset } = style;
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} ms"));
    for r in records {
        let model = escape(r.split.model.as_deref().unwrap_or("?"));
        writeln!(
            out,
            "\n{bold}── {} · choice {} · {model} · reasoning: {} · finish: {} · {}{reset}",
            escape(&played.stem),
            r.split.choice.map_or_else(|| "-".to_owned(), |c| c.to_string()),
            r.split.reasoning_source.as_str(),
            escape(r.split.finish_reason.as_deref().unwrap_or("none")),
            r.outcome.as_str()
        )?;
        if !r.split.reasoning.is_empty() {
            writeln!(out, "{dim}{}{reset}", escape(&clip(r.split.reasoning.trim())))?;
        }
        writeln!(out, "{}", escape(&clip(r.split.content.trim())))?;
    }
    for m in &played.metrics {
        writeln!(
            out,
            "{dim}first chunk {} · first thinking {} · first answer {} · thinking {} · total {} · {} bytes forwarded{reset}",
            ms(m.time_to_first_chunk_ms),
            ms(m.time_to_first_thinking_ms),
            ms(m.time_to_first_answer_ms),
            ms(m.thinking_duration_ms),
            ms(m.total_duration_ms),
            played.report.bytes_seen
        )?;
    }
    Ok(())
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
