//! `thinktee report --html FILE`: one self-contained HTML page of charts
//! that observability products do not draw for reasoning models.
//!
//! The streams are read as `analyze` reads them ([`crate::analyze`]: the
//! same files, filters and per-stream counts, no text kept) and folded per
//! model into bounded summaries ([`ModelStats`]): at most [`MAX_MODELS`]
//! models by first appearance, later ones together as [`OTHER_MODEL`];
//! the [`SLOWEST`] slowest streams; filter events per category and
//! severity (at most [`crate::analyze`]'s key limit). The page
//! ([`html`]) holds inline SVG and CSS only: no script, no font, nothing
//! fetched, so it opens from disk and mails as one file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::Outcome;
use crate::analyze::{self, Dist, FilterCounts, StreamStat};
use crate::select::SelectArgs;
use crate::split::SplitterArgs;
use thinktee_pipeline::SplitterConfig;

mod html;

/// Models charted one by one (first come); the rest are one row.
pub(crate) const MAX_MODELS: usize = 12;
/// The row of the models past [`MAX_MODELS`].
pub(crate) const OTHER_MODEL: &str = "(other models)";
/// The row of streams that named no model.
pub(crate) const NO_MODEL: &str = "(no model)";
/// Streams listed in the slowest-streams table.
pub(crate) const SLOWEST: usize = 10;

/// `--help` text on how a stream's outcome is decided.
const OUTCOMES_HELP: &str = "Outcomes: each stream counts once, under the first that applies:
  filtered          a content filter blocked something (an event with filtered: true,
                    or a choice finished for content_filter or SAFETY)
  error             the stream carried an error (API error object, invalid event, ...)
                    or ended on the proxy's account (upstream error, unreachable or
                    timeout, request timeout, rejected, shutdown)
  cut in reasoning  a choice had reasoning, no answer and no tool call, and was cut:
                    finished for length (max_tokens, ...), or had no finish reason,
                    or the stream ended early; or its <think> never closed
  tool calls        a choice called a tool
  complete          the stream completed and no choice finished for length
  cut elsewhere     the rest: cut in the answer (length), or ended early without reasoning
Token charts use the counts the API reported (usage), never estimates; the page says
how many streams had none. Timings come from transcripts (recordings carry no arrival
times).";

/// `thinktee report --html FILE [--since T] [--until T] [--model M] [splitter options] PATH...`
#[derive(Debug, clap::Args)]
#[command(after_help = OUTCOMES_HELP)]
pub(crate) struct Args {
    /// Write the report to FILE: one HTML page (inline SVG and CSS, no
    /// script, nothing fetched from the network).
    #[arg(long, value_name = "FILE", required = true)]
    html: PathBuf,
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
    let splitter = args.splitter.config()?;
    let (report, analysis) = report(&args.paths, &splitter, workers, &args.select)?;
    analysis.report_skipped();
    let page = html::page(&report, &analysis.summary);
    fs::write(&args.html, page).with_context(|| format!("cannot write {}", args.html.display()))?;
    Ok(analysis.outcome())
}

/// Reads `paths` as `analyze` does and folds what `select` takes.
fn report(
    paths: &[PathBuf],
    splitter: &SplitterConfig,
    workers: usize,
    select: &SelectArgs,
) -> io::Result<(Report, analyze::Analysis)> {
    let mut report = Report::default();
    let analysis =
        analyze::analyze_each(paths, splitter, workers, &select.select(), &mut |path, s| {
            report.add(path, s);
            Ok(())
        })?;
    Ok((report, analysis))
}

// === outcomes ===

/// What became of a stream, for the outcomes chart. Decided in this order
/// of precedence (the first that applies), as [`OUTCOMES_HELP`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Filtered,
    Error,
    CutInReasoning,
    ToolCalls,
    Complete,
    CutElsewhere,
}

impl Class {
    /// In order of precedence.
    pub(crate) const ALL: [Class; 6] = [
        Class::Filtered,
        Class::Error,
        Class::CutInReasoning,
        Class::ToolCalls,
        Class::Complete,
        Class::CutElsewhere,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Class::Filtered => "filtered",
            Class::Error => "error",
            Class::CutInReasoning => "cut in reasoning",
            Class::ToolCalls => "tool calls",
            Class::Complete => "complete",
            Class::CutElsewhere => "cut elsewhere",
        }
    }

    /// The first class (in [`Class::ALL`]'s order) that applies to `s`.
    pub(crate) fn of(s: &StreamStat) -> Class {
        let filtered = s.prompt_filters.filtered > 0
            || s.choices.iter().any(|c| {
                c.filters.filtered > 0
                    || c.finish_reason.as_deref().is_some_and(|r| FILTER_REASONS.contains(&r))
            });
        if filtered {
            return Class::Filtered;
        }
        if !s.errors.is_empty() || ERROR_OUTCOMES.contains(&s.outcome) {
            return Class::Error;
        }
        let completed = s.outcome == "complete";
        let length = |c: &analyze::ChoiceStat| c.finish_reason.as_deref().is_some_and(is_length);
        let cut_in_reasoning = s.choices.iter().any(|c| {
            let reasoned = c.reasoning_bytes > 0
                || c.reasoning_signed
                || c.reasoning_redacted
                || c.reasoning_encrypted;
            let cut = !completed || c.finish_reason.is_none() || length(c);
            c.answer_bytes == 0 && c.tool_calls == 0 && (c.unterminated || reasoned && cut)
        });
        if cut_in_reasoning {
            Class::CutInReasoning
        } else if s.choices.iter().any(|c| c.tool_calls > 0) {
            Class::ToolCalls
        } else if completed && !s.choices.iter().any(length) {
            Class::Complete
        } else {
            Class::CutElsewhere
        }
    }
}

/// Finish reasons that say a content filter stopped the choice (chat
/// completions and Responses; Gemini).
const FILTER_REASONS: [&str; 2] = ["content_filter", "SAFETY"];

/// Stream outcomes that are errors rather than cuts.
const ERROR_OUTCOMES: [&str; 6] = [
    "upstream_error",
    "upstream_unreachable",
    "upstream_timeout",
    "request_timeout",
    "rejected",
    "shutdown",
];

/// A finish reason saying the token limit cut the choice (chat
/// completions; Messages; Responses; Gemini).
fn is_length(reason: &str) -> bool {
    matches!(reason, "length" | "max_tokens" | "max_output_tokens" | "MAX_TOKENS")
}

// === the fold ===

/// What is charted of one model's streams.
#[derive(Debug, Default)]
pub(crate) struct ModelStats {
    pub(crate) streams: u64,
    /// Streams per [`Class`], in [`Class::ALL`]'s order.
    pub(crate) classes: [u64; Class::ALL.len()],
    pub(crate) ttft: Dist<f64>,
    pub(crate) first_answer: Dist<f64>,
    /// First answer minus first token, of the streams that had both.
    pub(crate) tax: Dist<f64>,
    pub(crate) thinking: Dist<f64>,
    /// Streams whose API reported both reasoning and answer tokens.
    pub(crate) with_tokens: u64,
    pub(crate) reasoning_tokens: u64,
    pub(crate) answer_tokens: u64,
    pub(crate) reasoning_per_stream: Dist<u64>,
    pub(crate) answer_per_stream: Dist<u64>,
}

impl ModelStats {
    fn add(&mut self, s: &StreamStat, class: Class) {
        self.streams += 1;
        self.classes[class as usize] += 1;
        self.ttft.extend(s.ttft_ms);
        self.first_answer.extend(s.first_answer_ms);
        if let (Some(first), Some(answer)) = (s.ttft_ms, s.first_answer_ms) {
            self.tax.add((answer - first).max(0.0));
        }
        self.thinking.extend(s.thinking_ms);
        if let (Some(r), Some(a)) = (s.reasoning_tokens, s.answer_tokens) {
            self.with_tokens += 1;
            self.reasoning_tokens = self.reasoning_tokens.saturating_add(r);
            self.answer_tokens = self.answer_tokens.saturating_add(a);
            self.reasoning_per_stream.add(r);
            self.answer_per_stream.add(a);
        }
    }
}

/// One of the slowest streams, and where to find it.
#[derive(Debug, Clone)]
pub(crate) struct Slow {
    pub(crate) total_ms: f64,
    pub(crate) ttft_ms: Option<f64>,
    pub(crate) first_answer_ms: Option<f64>,
    pub(crate) thinking_ms: Option<f64>,
    pub(crate) model: String,
    pub(crate) source: String,
    pub(crate) stream: u64,
    /// Its choice indices: the first, and how many.
    pub(crate) choice: Option<u32>,
    pub(crate) choices: usize,
    pub(crate) request_id: Option<String>,
    pub(crate) class: Class,
}

/// Everything the page charts, folded one stream at a time.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// At most [`MAX_MODELS`], in order of first appearance.
    pub(crate) models: Vec<(String, ModelStats)>,
    /// The models past [`MAX_MODELS`], together.
    pub(crate) other: Option<ModelStats>,
    pub(crate) all: ModelStats,
    pub(crate) filters: FilterCounts,
    /// The [`SLOWEST`] slowest streams by total duration, slowest first
    /// (ties in input order).
    pub(crate) slowest: Vec<Slow>,
}

impl Report {
    pub(crate) fn add(&mut self, path: &Path, s: &StreamStat) {
        let class = Class::of(s);
        let name = s.model.as_deref().or(s.request_model.as_deref()).unwrap_or(NO_MODEL);
        self.all.add(s, class);
        self.model(name).add(s, class);
        self.filters.merge(&s.prompt_filters);
        for c in &s.choices {
            self.filters.merge(&c.filters);
        }
        if let Some(total) = s.total_ms {
            self.slow(path, s, name, total, class);
        }
    }

    fn model(&mut self, name: &str) -> &mut ModelStats {
        if let Some(at) = self.models.iter().position(|(n, _)| n == name) {
            return &mut self.models[at].1;
        }
        if self.models.len() < MAX_MODELS {
            self.models.push((name.to_owned(), ModelStats::default()));
            return &mut self.models.last_mut().expect("just pushed").1;
        }
        self.other.get_or_insert_with(ModelStats::default)
    }

    fn slow(&mut self, path: &Path, s: &StreamStat, model: &str, total: f64, class: Class) {
        if self.slowest.len() == SLOWEST && self.slowest.last().is_some_and(|l| l.total_ms >= total)
        {
            return;
        }
        let at = self.slowest.iter().position(|l| l.total_ms < total).unwrap_or(self.slowest.len());
        self.slowest.insert(
            at,
            Slow {
                total_ms: total,
                ttft_ms: s.ttft_ms,
                first_answer_ms: s.first_answer_ms,
                thinking_ms: s.thinking_ms,
                model: model.to_owned(),
                source: path.display().to_string(),
                stream: s.stream,
                choice: s.choices.first().and_then(|c| c.choice),
                choices: s.choices.len(),
                request_id: s.request_id.clone(),
                class,
            },
        );
        self.slowest.truncate(SLOWEST);
    }

    /// The rows charted per model: each model, then the others together.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (&str, &ModelStats)> {
        let other = self.other.as_ref().map(|o| (OTHER_MODEL, o));
        self.models.iter().map(|(n, m)| (n.as_str(), m)).chain(other)
    }
}

/// The page for `report`, as `run` writes it (for the tests).
#[cfg(test)]
pub(crate) fn page_for(
    paths: &[PathBuf],
    select: &SelectArgs,
) -> (Report, analyze::Summary, String) {
    let (report, analysis) = report(paths, &SplitterConfig::default(), 1, select).unwrap();
    let page = html::page(&report, &analysis.summary);
    (report, analysis.summary, page)
}

#[cfg(test)]
mod tests;
