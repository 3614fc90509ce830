//! The summary `analyze` prints, folded one stream at a time in bounded
//! memory.
//!
//! Distributions are exact (nearest rank) up to [`EXACT_SAMPLES`] values;
//! past that they go into an HDR histogram with [`HISTOGRAM_SIGFIG`]
//! significant digits, so p50/p90/p99 are within 0.1 % of the exact
//! nearest-rank value (never above the exact maximum, which is always
//! exact). Count maps keep at most [`MAX_KEYS`] distinct keys; later new
//! keys are counted under [`OTHER_KEY`].
//!
//! Streams are also summed up by model and by day ([`Group`]): counts,
//! token sums and mean timings, which take the same few bytes per group
//! however many streams it has. At most [`MAX_GROUPS`] of each; streams of
//! later new models or days count under [`OTHER_KEY`].

use std::collections::BTreeMap;
use std::io::{self, Write};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::Format;
use super::stat::StreamStat;
use crate::files::FileKind;
use crate::term::escape;

/// Values kept exactly before a distribution switches to a histogram.
pub(crate) const EXACT_SAMPLES: usize = 10_000;
/// Significant decimal digits of the histogram: 3 keeps every reported
/// percentile within 0.1 % of the exact one.
const HISTOGRAM_SIGFIG: u8 = 3;
/// Distinct keys kept in each count map (finish reasons, categories, ...):
/// input chooses the keys, so their number is bounded.
pub(crate) const MAX_KEYS: usize = 1_000;
/// Where counts of keys past [`MAX_KEYS`] go.
pub(crate) const OTHER_KEY: &str = "(other)";
/// Models, and days, summed up apart: a year of days. Input chooses the
/// models, so their number is bounded.
pub(crate) const MAX_GROUPS: usize = 366;
/// The group of streams without a model, or without a request time.
pub(crate) const NO_KEY: &str = "(none)";

// === Counts ===

/// Counts per key, at most [`MAX_KEYS`] keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub(crate) struct Counts(BTreeMap<String, u64>);

impl Counts {
    pub(crate) fn bump(&mut self, key: &str) {
        self.add(key, 1);
    }

    pub(crate) fn add(&mut self, key: &str, n: u64) {
        if let Some(count) = self.0.get_mut(key) {
            *count += n;
        } else if self.0.len() < MAX_KEYS {
            self.0.insert(key.to_owned(), n);
        } else {
            *self.0.entry(OTHER_KEY.to_owned()).or_default() += n;
        }
    }

    pub(crate) fn merge(&mut self, other: &Counts) {
        for (k, n) in &other.0 {
            self.add(k, *n);
        }
    }

    /// `a 3 · b 1`, or `-` when empty; keys escaped for the terminal.
    fn text(&self) -> String {
        if self.0.is_empty() {
            return "-".into();
        }
        self.0.iter().map(|(k, v)| format!("{} {v}", escape(k))).collect::<Vec<_>>().join(" · ")
    }
}

/// Content-filter events.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct FilterCounts {
    pub(crate) events: u64,
    pub(crate) filtered: u64,
    by_source: Counts,
    by_category: Counts,
    by_severity: Counts,
    /// Events per category and severity, for `report`'s chart.
    #[serde(skip)]
    pub(crate) by_category_severity: Pairs,
}

impl FilterCounts {
    pub(crate) fn add(&mut self, f: &thinktee_pipeline::FilterEvent) {
        self.events += 1;
        self.filtered += u64::from(f.filtered == Some(true));
        self.by_source.bump(f.source.as_str());
        self.by_category.bump(&f.category);
        if let Some(severity) = &f.severity {
            self.by_severity.bump(severity);
        }
        self.by_category_severity.add(&f.category, f.severity.as_deref().unwrap_or("none"), 1);
    }

    pub(crate) fn merge(&mut self, other: &FilterCounts) {
        self.events += other.events;
        self.filtered += other.filtered;
        self.by_source.merge(&other.by_source);
        self.by_category.merge(&other.by_category);
        self.by_severity.merge(&other.by_severity);
        for ((category, severity), n) in &other.by_category_severity.0 {
            self.by_category_severity.add(category, severity, *n);
        }
    }
}

/// Counts per pair of keys, at most [`MAX_KEYS`] pairs; later new pairs
/// count under ([`OTHER_KEY`], [`OTHER_KEY`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Pairs(pub(crate) BTreeMap<(String, String), u64>);

impl Pairs {
    pub(crate) fn add(&mut self, a: &str, b: &str, n: u64) {
        let key = (a.to_owned(), b.to_owned());
        if let Some(count) = self.0.get_mut(&key) {
            *count += n;
        } else if self.0.len() < MAX_KEYS {
            self.0.insert(key, n);
        } else {
            *self.0.entry((OTHER_KEY.to_owned(), OTHER_KEY.to_owned())).or_default() += n;
        }
    }
}

// === Dist ===

/// A value a distribution holds: kept exactly, or as a histogram's integer.
pub(crate) trait Value: Copy + PartialOrd + Serialize {
    fn to_hist(self) -> u64;
    fn from_hist(v: u64) -> Self;
}

impl Value for u64 {
    fn to_hist(self) -> u64 {
        self
    }
    fn from_hist(v: u64) -> u64 {
        v
    }
}

/// Milliseconds, held in the histogram as whole microseconds.
impl Value for f64 {
    fn to_hist(self) -> u64 {
        (self.max(0.0) * 1000.0).round() as u64
    }
    fn from_hist(v: u64) -> f64 {
        v as f64 / 1000.0
    }
}

/// A distribution being folded: exact values while few, then a histogram.
#[derive(Debug, Clone)]
pub(crate) struct Dist<T> {
    count: u64,
    max: Option<T>,
    sample: Sample<T>,
}

#[derive(Debug, Clone)]
enum Sample<T> {
    Exact(Vec<T>),
    Histogram(Histogram<u64>),
}

impl<T> Default for Dist<T> {
    fn default() -> Self {
        Dist { count: 0, max: None, sample: Sample::Exact(Vec::new()) }
    }
}

impl<T: Value> Dist<T> {
    pub(crate) fn add(&mut self, v: T) {
        self.count += 1;
        if self.max.is_none_or(|m| v > m) {
            self.max = Some(v);
        }
        match &mut self.sample {
            Sample::Exact(values) if values.len() < EXACT_SAMPLES => values.push(v),
            Sample::Exact(values) => {
                let mut h =
                    Histogram::new(HISTOGRAM_SIGFIG).expect("3 significant digits are valid");
                for old in values.drain(..) {
                    record(&mut h, old.to_hist());
                }
                record(&mut h, v.to_hist());
                self.sample = Sample::Histogram(h);
            }
            Sample::Histogram(h) => record(h, v.to_hist()),
        }
    }

    pub(crate) fn extend(&mut self, v: Option<T>) {
        if let Some(v) = v {
            self.add(v);
        }
    }

    /// Values added.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Nearest-rank percentiles (exact, or within the histogram's precision).
    pub(crate) fn summary(&self) -> Percentiles<T> {
        let [p50, p90, p99] = self.quantiles([0.50, 0.90, 0.99]);
        Percentiles { count: self.count, p50, p90, p99, max: self.max }
    }

    /// The nearest-rank value at each quantile (0 < q <= 1): exact, or
    /// within the histogram's precision and never above the maximum.
    pub(crate) fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [Option<T>; N] {
        match &self.sample {
            Sample::Exact(values) => {
                let mut sorted = values.clone();
                sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                qs.map(|q| {
                    let n = sorted.len();
                    let i = ((q * n as f64).ceil() as usize).max(1) - 1;
                    sorted.get(i.min(n.saturating_sub(1))).copied()
                })
            }
            Sample::Histogram(h) => qs.map(|q| {
                // A bucket's highest value may pass the exact maximum.
                let v = T::from_hist(h.value_at_quantile(q));
                Some(match self.max {
                    Some(max) if v > max => max,
                    _ => v,
                })
            }),
        }
    }
}

/// Records `v`, growing the histogram's range as needed (past the largest
/// range it can have, `v` counts as its highest value).
fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// What the summary reports of a distribution.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Percentiles<T> {
    count: u64,
    p50: Option<T>,
    p90: Option<T>,
    p99: Option<T>,
    max: Option<T>,
}

// === Group ===

/// A mean being folded.
#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    sum: f64,
    count: u64,
}

impl Mean {
    fn extend(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.sum += v;
            self.count += 1;
        }
    }

    fn value(self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// Sums over the streams of one group (a model, a day, or all of them).
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupSums {
    counts: GroupCounts,
    /// Output tokens of the streams whose usage gave a reasoning count: the
    /// share's denominator (DeepSeek-R1 on Azure reports none, which is
    /// not 0 %).
    output_with_reasoning_count: u64,
    ttft: Mean,
    first_answer: Mean,
    thinking: Mean,
    total: Mean,
}

impl GroupSums {
    fn add(&mut self, s: &StreamStat) {
        let c = &mut self.counts;
        c.streams += 1;
        c.reasoning_streams += u64::from(s.reasons());
        c.choices += s.choices.len() as u64;
        c.unterminated += s.choices.iter().filter(|c| c.unterminated).count() as u64;
        c.tool_calls += s.choices.iter().map(|c| c.tool_calls).sum::<u64>();
        c.not_complete += u64::from(s.outcome != "complete");
        c.with_errors += u64::from(!s.errors.is_empty());
        // Streams whose usage gave the output tokens: a reasoning count
        // it left out is none.
        if let Some(output) = s.output_tokens {
            c.with_usage += 1;
            c.output_tokens += output;
            c.input_tokens += s.input_tokens.unwrap_or(0);
            if let Some(reasoning) = s.reasoning_tokens {
                c.reasoning_tokens += reasoning;
                self.output_with_reasoning_count += output;
            }
        }
        self.ttft.extend(s.ttft_ms);
        self.first_answer.extend(s.first_answer_ms);
        self.thinking.extend(s.thinking_ms);
        self.total.extend(s.total_ms);
    }

    fn group(&self) -> Group {
        Group {
            counts: self.counts,
            reasoning_token_share: (self.output_with_reasoning_count > 0).then(|| {
                self.counts.reasoning_tokens as f64 / self.output_with_reasoning_count as f64
            }),
            mean_ms: Means {
                ttft: self.ttft.value(),
                first_answer: self.first_answer.value(),
                thinking: self.thinking.value(),
                total: self.total.value(),
            },
        }
    }
}

/// Groups by key, at most [`MAX_GROUPS`]; later new keys go to [`OTHER_KEY`].
#[derive(Debug, Clone, Default)]
struct Breakdown(BTreeMap<String, GroupSums>);

impl Breakdown {
    fn add(&mut self, key: &str, s: &StreamStat) {
        let group = if let Some(group) = self.0.get_mut(key) {
            group
        } else if self.0.len() < MAX_GROUPS {
            self.0.entry(key.to_owned()).or_default()
        } else {
            self.0.entry(OTHER_KEY.to_owned()).or_default()
        };
        group.add(s);
    }

    fn groups(&self) -> BTreeMap<String, Group> {
        self.0.iter().map(|(k, g)| (k.clone(), g.group())).collect()
    }
}

/// The model a stream is grouped under: the response's, else the
/// request's.
fn model_key(s: &StreamStat) -> &str {
    s.model.as_deref().or(s.request_model.as_deref()).unwrap_or(NO_KEY)
}

/// The day (UTC) a stream is grouped under: its request's.
fn day_key(s: &StreamStat) -> String {
    s.started_unix_ms
        .and_then(thinktee_export::unix_ms_to_us)
        .map_or_else(|| NO_KEY.to_owned(), thinktee_export::date)
}

// === Totals ===

/// Everything counted so far; [`Totals::summary`] makes the [`Summary`].
#[derive(Debug, Default)]
pub(crate) struct Totals {
    files: FileCounts,
    streams: u64,
    formats: Counts,
    choices: u64,
    with_reasoning: u64,
    reasoning_sources: Counts,
    reasoning_segments: Dist<u64>,
    opaque_reasoning: Opaque,
    with_tool_calls: u64,
    tool_calls: u64,
    reasoning_bytes: Dist<u64>,
    answer_bytes: Dist<u64>,
    reasoning_tokens: Dist<u64>,
    answer_tokens: Dist<u64>,
    finish_reasons: Counts,
    unterminated: u64,
    filters: FilterCounts,
    errors: Counts,
    outcomes: Counts,
    ttft: Dist<f64>,
    first_answer: Dist<f64>,
    thinking: Dist<f64>,
    total: Dist<f64>,
    all: GroupSums,
    by_model: Breakdown,
    by_day: Breakdown,
}

impl Totals {
    pub(crate) fn add_file(&mut self, kind: &FileKind) {
        let f = &mut self.files;
        f.total += 1;
        match kind {
            FileKind::Recording => f.recordings += 1,
            FileKind::Transcript => f.transcripts += 1,
            FileKind::Skipped(_) => f.skipped += 1,
            FileKind::Malformed { .. } => f.malformed += 1,
        }
    }

    pub(crate) fn malformed_files(&self) -> u64 {
        self.files.malformed
    }

    pub(crate) fn add_stream(&mut self, s: &StreamStat) {
        self.streams += 1;
        self.formats.bump(s.format);
        self.outcomes.bump(s.outcome);
        for (kind, n) in &s.errors {
            self.errors.add(kind, *n);
        }
        self.filters.merge(&s.prompt_filters);
        self.all.add(s);
        self.by_model.add(model_key(s), s);
        self.by_day.add(&day_key(s), s);
        // Of streams that reason only: others report 0 or nothing.
        if s.reasons() {
            self.reasoning_tokens.extend(s.reasoning_tokens);
        }
        self.answer_tokens.extend(s.answer_tokens);
        self.ttft.extend(s.ttft_ms);
        self.first_answer.extend(s.first_answer_ms);
        self.thinking.extend(s.thinking_ms);
        self.total.extend(s.total_ms);
        for c in &s.choices {
            self.choices += 1;
            self.with_reasoning += u64::from(c.reasoning_bytes > 0);
            self.unterminated += u64::from(c.unterminated);
            self.reasoning_sources.bump(c.reasoning_source);
            if c.reasoning_segments > 0 {
                self.reasoning_segments.add(u64::from(c.reasoning_segments));
            }
            self.opaque_reasoning.signed += u64::from(c.reasoning_signed);
            self.opaque_reasoning.redacted += u64::from(c.reasoning_redacted);
            self.opaque_reasoning.encrypted += u64::from(c.reasoning_encrypted);
            self.with_tool_calls += u64::from(c.tool_calls > 0);
            self.tool_calls += c.tool_calls;
            self.finish_reasons.bump(c.finish_reason.as_deref().unwrap_or("none"));
            self.reasoning_bytes.add(c.reasoning_bytes);
            self.answer_bytes.add(c.answer_bytes);
            self.filters.merge(&c.filters);
        }
    }

    pub(crate) fn summary(&self) -> Summary {
        Summary {
            files: self.files.clone(),
            streams: self.streams,
            formats: self.formats.clone(),
            choices: self.choices,
            with_reasoning: self.with_reasoning,
            reasoning_share: if self.choices > 0 {
                self.with_reasoning as f64 / self.choices as f64
            } else {
                0.0
            },
            reasoning_sources: self.reasoning_sources.clone(),
            reasoning_segments: self.reasoning_segments.summary(),
            opaque_reasoning: self.opaque_reasoning.clone(),
            with_tool_calls: self.with_tool_calls,
            tool_calls: self.tool_calls,
            reasoning_bytes: self.reasoning_bytes.summary(),
            answer_bytes: self.answer_bytes.summary(),
            reasoning_tokens: self.reasoning_tokens.summary(),
            answer_tokens: self.answer_tokens.summary(),
            finish_reasons: self.finish_reasons.clone(),
            unterminated: self.unterminated,
            filters: self.filters.clone(),
            errors: self.errors.clone(),
            outcomes: self.outcomes.clone(),
            timings_ms: Timings {
                ttft: self.ttft.summary(),
                first_answer: self.first_answer.summary(),
                thinking: self.thinking.summary(),
                total: self.total.summary(),
            },
            totals: self.all.group(),
            by_model: self.by_model.groups(),
            by_day: self.by_day.groups(),
        }
    }
}

// === Summary ===

/// How many files were of which kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct FileCounts {
    pub(crate) total: u64,
    pub(crate) recordings: u64,
    pub(crate) transcripts: u64,
    pub(crate) skipped: u64,
    pub(crate) malformed: u64,
}

/// Choices whose reasoning was (partly) opaque.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Opaque {
    signed: u64,
    redacted: u64,
    encrypted: u64,
}

/// Per-stream timings in milliseconds (inputs with arrival times only:
/// transcripts).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Timings {
    /// First text of any kind (thinking, answer, tool-call arguments).
    ttft: Percentiles<f64>,
    first_answer: Percentiles<f64>,
    thinking: Percentiles<f64>,
    total: Percentiles<f64>,
}

/// The summary `analyze` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Summary {
    pub(crate) files: FileCounts,
    pub(crate) streams: u64,
    /// Streams by wire format.
    formats: Counts,
    pub(crate) choices: u64,
    /// Choices with non-empty reasoning text.
    pub(crate) with_reasoning: u64,
    reasoning_share: f64,
    reasoning_sources: Counts,
    /// Reasoning segments of the choices that had any.
    reasoning_segments: Percentiles<u64>,
    opaque_reasoning: Opaque,
    /// Choices with at least one tool call.
    with_tool_calls: u64,
    /// Tool calls, all choices.
    tool_calls: u64,
    reasoning_bytes: Percentiles<u64>,
    answer_bytes: Percentiles<u64>,
    /// Of the streams that reason.
    reasoning_tokens: Percentiles<u64>,
    answer_tokens: Percentiles<u64>,
    finish_reasons: Counts,
    unterminated: u64,
    filters: FilterCounts,
    errors: Counts,
    outcomes: Counts,
    timings_ms: Timings,
    totals: Group,
    by_model: BTreeMap<String, Group>,
    /// By the day (UTC) of the request.
    by_day: BTreeMap<String, Group>,
}

/// What the summary says of a group of streams (a model, a day, or all).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Group {
    #[serde(flatten)]
    counts: GroupCounts,
    /// Reasoning tokens over the output tokens of the streams whose usage
    /// gave a reasoning count (none: unknown, not 0).
    reasoning_token_share: Option<f64>,
    /// Mean timings of the streams that have them (transcripts); thinking
    /// of the streams that reason.
    mean_ms: Means,
}

/// The counts of a group, summed as they are shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct GroupCounts {
    streams: u64,
    /// Streams that reason (reasoning text, segments or opaque reasoning,
    /// or reasoning tokens).
    reasoning_streams: u64,
    choices: u64,
    /// Choices whose thinking never ended.
    unterminated: u64,
    tool_calls: u64,
    /// Streams whose outcome is not `complete`.
    not_complete: u64,
    /// Streams with at least one error.
    with_errors: u64,
    /// Streams whose usage reported output tokens: the token sums are
    /// theirs (a reasoning count left out counts as 0).
    with_usage: u64,
    input_tokens: u64,
    output_tokens: u64,
    reasoning_tokens: u64,
}

/// Mean timings in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Means {
    ttft: Option<f64>,
    first_answer: Option<f64>,
    thinking: Option<f64>,
    total: Option<f64>,
}

impl Summary {
    pub(crate) fn print(&self, format: Format, out: &mut impl Write) -> io::Result<()> {
        match format {
            Format::Json => {
                serde_json::to_writer(&mut *out, self)?;
                writeln!(out)
            }
            Format::Text => self.print_text(out),
        }
    }

    fn print_text(&self, out: &mut impl Write) -> io::Result<()> {
        let f = &self.files;
        writeln!(
            out,
            "files              {} ({} recordings, {} transcripts, {} skipped, {} malformed)",
            f.total, f.recordings, f.transcripts, f.skipped, f.malformed
        )?;
        writeln!(out, "streams            {}   {}", self.streams, self.formats.text())?;
        writeln!(out, "choices            {}", self.choices)?;
        writeln!(
            out,
            "with reasoning     {} ({:.1}%)   {}",
            self.with_reasoning,
            self.reasoning_share * 100.0,
            self.reasoning_sources.text()
        )?;
        writeln!(
            out,
            "{:<18} {:>7} {:>9} {:>9} {:>9} {:>9}",
            "", "count", "p50", "p90", "p99", "max"
        )?;
        dist_row(out, "reasoning segments", &self.reasoning_segments)?;
        dist_row(out, "reasoning bytes", &self.reasoning_bytes)?;
        dist_row(out, "answer bytes", &self.answer_bytes)?;
        dist_row(out, "reasoning tokens", &self.reasoning_tokens)?;
        dist_row(out, "answer tokens", &self.answer_tokens)?;
        let t = &self.timings_ms;
        dist_row(out, "ttft ms", &t.ttft)?;
        dist_row(out, "first answer ms", &t.first_answer)?;
        dist_row(out, "thinking ms", &t.thinking)?;
        dist_row(out, "total ms", &t.total)?;
        let o = &self.opaque_reasoning;
        writeln!(
            out,
            "opaque reasoning   signed {} · redacted {} · encrypted {}",
            o.signed, o.redacted, o.encrypted
        )?;
        writeln!(
            out,
            "tool calls         {} in {} choices",
            self.tool_calls, self.with_tool_calls
        )?;
        writeln!(out, "finish reasons     {}", self.finish_reasons.text())?;
        writeln!(out, "unterminated       {}", self.unterminated)?;
        let fc = &self.filters;
        writeln!(out, "content filters    {} events, {} filtered", fc.events, fc.filtered)?;
        if fc.events > 0 {
            writeln!(out, "  by source        {}", fc.by_source.text())?;
            writeln!(out, "  by category      {}", fc.by_category.text())?;
            writeln!(out, "  by severity      {}", fc.by_severity.text())?;
        }
        writeln!(out, "errors             {}", self.errors.text())?;
        writeln!(out, "outcomes           {}", self.outcomes.text())?;
        // The name column fits the longest name, up to NAME_WIDTH.
        let names = self.by_model.keys().chain(self.by_day.keys());
        let width =
            names.map(|k| 2 + escape(k).chars().count()).max().unwrap_or(0).clamp(18, NAME_WIDTH);
        writeln!(
            out,
            "{:<width$} {:>7} {:>9} {:>11} {:>11} {:>10} {:>9} {:>9} {:>9}",
            "",
            "streams",
            "reasoning",
            "in tokens",
            "out tokens",
            "reasoning%",
            "ttft ms",
            "answer ms",
            "think ms"
        )?;
        group_row(out, "all", width, &self.totals)?;
        for (title, groups) in [("by model", &self.by_model), ("by day", &self.by_day)] {
            writeln!(out, "{title}")?;
            for (key, g) in groups {
                group_row(out, &format!("  {}", escape(key)), width, g)?;
            }
        }
        Ok(())
    }
}

/// The widest the name column of the group table grows (longer names
/// push their row's numbers right).
const NAME_WIDTH: usize = 48;

/// A group's row: streams, those that reason, token sums, the share of
/// output tokens spent reasoning, mean timings (`-` when unknown).
fn group_row(out: &mut impl Write, name: &str, width: usize, g: &Group) -> io::Result<()> {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), Cell::cell);
    let share =
        g.reasoning_token_share.map_or_else(|| "-".to_owned(), |s| format!("{:.1}", s * 100.0));
    let (c, m) = (&g.counts, &g.mean_ms);
    writeln!(
        out,
        "{name:<width$} {:>7} {:>9} {:>11} {:>11} {share:>10} {:>9} {:>9} {:>9}",
        c.streams,
        c.reasoning_streams,
        c.input_tokens,
        c.output_tokens,
        ms(m.ttft),
        ms(m.first_answer),
        ms(m.thinking)
    )
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

fn dist_row<T: Cell>(out: &mut impl Write, name: &str, d: &Percentiles<T>) -> io::Result<()> {
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
    use super::super::stat::ChoiceStat;
    use super::*;

    fn dist<T: Value>(values: impl IntoIterator<Item = T>) -> Percentiles<T> {
        let mut d = Dist::default();
        for v in values {
            d.add(v);
        }
        d.summary()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let d = dist((1..=10u64).rev());
        assert_eq!(
            (d.count, d.p50, d.p90, d.p99, d.max),
            (10, Some(5), Some(9), Some(10), Some(10))
        );
        let d = dist([7.5]);
        assert_eq!((d.p50, d.p99), (Some(7.5), Some(7.5)));
        let d = dist(Vec::<u64>::new());
        assert_eq!((d.count, d.p50, d.max), (0, None, None));
    }

    #[test]
    fn past_the_exact_samples_percentiles_stay_within_a_tenth_of_a_percent() {
        // 1..=100,000 shuffled: nearest rank puts p50 at 50,000, p90 at
        // 90,000 and p99 at 99,000.
        let n = 100_000u64;
        let d = dist((0..n).map(|i| (i * 7_919) % n + 1));
        assert_eq!((d.count, d.max), (n, Some(n)));
        for (got, exact) in [(d.p50, 50_000.0), (d.p90, 90_000.0), (d.p99, 99_000.0)] {
            let got = got.unwrap() as f64;
            assert!((got - exact).abs() / exact <= 0.001, "{got} vs {exact}");
        }
        // Milliseconds too: 0.001 .. 100.000.
        let d = dist((0..n).map(|i| ((i * 7_919) % n + 1) as f64 / 1000.0));
        assert_eq!(d.max, Some(100.0));
        let p99 = d.p99.unwrap();
        assert!((p99 - 99.0).abs() / 99.0 <= 0.001, "{p99}");
    }

    /// 2026-05-01T12:10:00Z.
    const MAY_1: u64 = 1_777_637_400_000;

    fn choice(index: u32) -> ChoiceStat {
        ChoiceStat::new(Some(index))
    }

    /// Four streams whose sums are worked out by hand in the tests below.
    fn four_streams() -> Vec<StreamStat> {
        let complete = |s: StreamStat| StreamStat { outcome: "complete", ..s };
        // m-a on May 1st: reasoning text and tokens, timings.
        let mut thinking = choice(0);
        thinking.reasoning_bytes = 10;
        let s1 = complete(StreamStat {
            model: Some("m-a".into()),
            started_unix_ms: Some(MAY_1),
            input_tokens: Some(7),
            output_tokens: Some(100),
            reasoning_tokens: Some(40),
            ttft_ms: Some(100.0),
            first_answer_ms: Some(300.0),
            thinking_ms: Some(200.0),
            total_ms: Some(500.0),
            choices: vec![thinking],
            ..StreamStat::default()
        });
        // m-a (asked for; the response named none) on May 2nd: no
        // reasoning, its usage says 0 reasoning tokens.
        let s2 = complete(StreamStat {
            request_model: Some("m-a".into()),
            started_unix_ms: Some(MAY_1 + 86_400_000),
            input_tokens: Some(5),
            output_tokens: Some(20),
            reasoning_tokens: Some(0),
            ttft_ms: Some(50.0),
            first_answer_ms: Some(50.0),
            total_ms: Some(80.0),
            choices: vec![choice(0)],
            ..StreamStat::default()
        });
        // m-b, no request time: encrypted reasoning (no text), two
        // choices, tool calls, cut with an error.
        let (mut encrypted, mut cut) = (choice(0), choice(1));
        encrypted.reasoning_encrypted = true;
        encrypted.tool_calls = 2;
        cut.unterminated = true;
        let s3 = StreamStat {
            model: Some("m-b".into()),
            outcome: "upstream_error",
            errors: vec![("api", 1)],
            input_tokens: Some(9),
            output_tokens: Some(60),
            reasoning_tokens: Some(30),
            choices: vec![encrypted, cut],
            ..StreamStat::default()
        };
        // No model, no time, no usage.
        let s4 = complete(StreamStat { choices: vec![choice(0)], ..StreamStat::default() });
        vec![s1, s2, s3, s4]
    }

    fn summary_of(streams: &[StreamStat]) -> Summary {
        let mut totals = Totals::default();
        for s in streams {
            totals.add_stream(s);
        }
        totals.summary()
    }

    #[test]
    fn streams_are_summed_up_by_model_and_by_day() {
        let got = serde_json::to_value(summary_of(&four_streams())).unwrap();
        let none = serde_json::json!({"ttft": null, "first_answer": null, "thinking": null, "total": null});
        let group = |streams, reasoning, choices, usage: [u64; 4], share: Option<f64>| {
            serde_json::json!({
                "streams": streams, "reasoning_streams": reasoning, "choices": choices,
                "unterminated": 0, "tool_calls": 0, "not_complete": 0, "with_errors": 0,
                "with_usage": usage[0], "input_tokens": usage[1], "output_tokens": usage[2],
                "reasoning_tokens": usage[3], "reasoning_token_share": share, "mean_ms": none,
            })
        };
        let cut = |mut g: serde_json::Value| {
            g["unterminated"] = 1.into();
            g["tool_calls"] = 2.into();
            g["not_complete"] = 1.into();
            g["with_errors"] = 1.into();
            g
        };
        let timed = |mut g: serde_json::Value, ttft: f64, answer: f64, think, total: f64| {
            g["mean_ms"] = serde_json::json!({
                "ttft": ttft, "first_answer": answer, "thinking": think, "total": total
            });
            g
        };
        let totals = timed(
            cut(group(4, 2, 5, [3, 21, 180, 70], Some(70.0 / 180.0))),
            75.0,
            175.0,
            Some(200.0),
            290.0,
        );
        assert_eq!(got["totals"], totals);
        let m_a = timed(
            group(2, 1, 2, [2, 12, 120, 40], Some(40.0 / 120.0)),
            75.0,
            175.0,
            Some(200.0),
            290.0,
        );
        let m_b = cut(group(1, 1, 2, [1, 9, 60, 30], Some(0.5)));
        assert_eq!(
            got["by_model"],
            serde_json::json!({"(none)": group(1, 0, 1, [0; 4], None), "m-a": m_a, "m-b": m_b})
        );
        let may_1 =
            timed(group(1, 1, 1, [1, 7, 100, 40], Some(0.4)), 100.0, 300.0, Some(200.0), 500.0);
        let may_2 = timed(group(1, 0, 1, [1, 5, 20, 0], Some(0.0)), 50.0, 50.0, None, 80.0);
        assert_eq!(
            got["by_day"],
            serde_json::json!({
                "(none)": cut(group(2, 1, 3, [1, 9, 60, 30], Some(0.5))),
                "2026-05-01": may_1,
                "2026-05-02": may_2,
            })
        );
        // Reasoning tokens of the two streams that reason (40 and 30),
        // not the 0 of the one that does not.
        assert_eq!(
            got["reasoning_tokens"],
            serde_json::json!({"count": 2, "p50": 30, "p90": 40, "p99": 40, "max": 40})
        );
    }

    #[test]
    fn the_reasoning_share_counts_only_streams_that_report_reasoning_tokens() {
        // o1 reports 40 of 100 output tokens as reasoning; DeepSeek-R1 on
        // Azure reports 50 output tokens and no reasoning count: unknown,
        // so the share is 40 / 100, not 40 / 150.
        let reported = StreamStat {
            model: Some("m".into()),
            output_tokens: Some(100),
            reasoning_tokens: Some(40),
            choices: vec![choice(0)],
            ..StreamStat::default()
        };
        let unreported = StreamStat {
            model: Some("m".into()),
            output_tokens: Some(50),
            choices: vec![choice(0)],
            ..StreamStat::default()
        };
        let got = serde_json::to_value(summary_of(&[reported, unreported.clone()])).unwrap();
        assert_eq!(got["by_model"]["m"]["output_tokens"], 150);
        assert_eq!(got["by_model"]["m"]["reasoning_token_share"], 0.4);
        // No stream with a count: no share (not 0 %).
        let got = serde_json::to_value(summary_of(&[unreported])).unwrap();
        assert_eq!(got["totals"]["reasoning_token_share"], serde_json::Value::Null);
    }

    #[test]
    fn long_names_widen_the_name_column_up_to_its_limit() {
        let named = |model: &str| StreamStat {
            model: Some(model.into()),
            choices: vec![choice(0)],
            ..StreamStat::default()
        };
        let long = "gpt-4.1-mini-2025-04-14-with-a-long-suffix"; // 42 characters
        let mut out = Vec::new();
        summary_of(&[named("a"), named(long)]).print(Format::Text, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let table: Vec<&str> = text
            .lines()
            .skip_while(|l| !(l.starts_with(' ') && l.trim_start().starts_with("streams ")))
            .collect();
        let rows: Vec<&str> = table.iter().copied().filter(|l| !l.starts_with("by ")).collect();
        // Header, all, two models, one day: every row ends at the same column.
        assert_eq!(rows.len(), 5, "{text}");
        let width = 2 + long.len() + " streams".len();
        for row in &rows {
            assert_eq!(row.chars().count(), rows[0].chars().count(), "{text}");
        }
        assert_eq!(&rows[0][..width], format!("{:width$}", "", width = width - 8) + " streams");
        // Past the limit the column stops growing.
        let mut out = Vec::new();
        summary_of(&[named(&"m".repeat(100))]).print(Format::Text, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let header = text
            .lines()
            .find(|l| l.starts_with(' ') && l.trim_start().starts_with("streams "))
            .unwrap();
        assert_eq!(header.find("streams"), Some(NAME_WIDTH + 1));
    }

    #[test]
    fn the_text_has_a_row_per_group() {
        let mut out = Vec::new();
        summary_of(&four_streams()).print(Format::Text, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
        let at = |first: &str| rows.iter().position(|r| r.first() == Some(&first)).unwrap();
        assert_eq!(
            rows[at("all")],
            ["all", "4", "2", "21", "180", "38.9", "75.0", "175.0", "200.0"]
        );
        let by_model = at("by");
        assert_eq!(rows[by_model], ["by", "model"]);
        assert_eq!(rows[by_model + 1], ["(none)", "1", "0", "0", "0", "-", "-", "-", "-"]);
        assert_eq!(
            rows[by_model + 2],
            ["m-a", "2", "1", "12", "120", "33.3", "75.0", "175.0", "200.0"]
        );
        assert_eq!(rows[by_model + 3], ["m-b", "1", "1", "9", "60", "50.0", "-", "-", "-"]);
        assert_eq!(rows[by_model + 4], ["by", "day"]);
        assert_eq!(
            rows[by_model + 7],
            ["2026-05-02", "1", "0", "5", "20", "0.0", "50.0", "50.0", "-"]
        );
        assert_eq!(rows.len(), by_model + 8);
    }

    #[test]
    fn groups_past_the_limit_count_as_other() {
        let streams: Vec<StreamStat> = (0..MAX_GROUPS + 5)
            .map(|i| StreamStat {
                model: Some(format!("m-{i}")),
                outcome: "complete",
                choices: vec![choice(0)],
                ..StreamStat::default()
            })
            .collect();
        let got = serde_json::to_value(summary_of(&streams)).unwrap();
        let by_model = got["by_model"].as_object().unwrap();
        assert_eq!(by_model.len(), MAX_GROUPS + 1);
        assert_eq!(by_model[OTHER_KEY]["streams"], 5);
        assert_eq!(by_model["m-0"]["streams"], 1);
        assert_eq!(got["totals"]["streams"], (MAX_GROUPS + 5) as u64);
    }

    #[test]
    fn keys_past_the_limit_count_as_other() {
        let mut c = Counts::default();
        for i in 0..MAX_KEYS + 5 {
            c.bump(&format!("reason-{i}"));
        }
        c.bump("reason-0");
        assert_eq!(c.0.len(), MAX_KEYS + 1);
        assert_eq!(c.0[OTHER_KEY], 5);
        assert_eq!(c.0["reason-0"], 2);
    }
}
