//! Reading one file into per-stream statistics, as a stream: each stream's
//! counts are handed on when it ends and nothing of its text is kept.
//!
//! A file is framed as every command frames a document
//! ([`thinktee_pipeline::Framer`]): SSE goes through the pipeline read by
//! read; each JSON body (the document, or a line of JSON Lines) is a
//! transcript line if it reads as a [`TranscriptRecord`], else a body for
//! the pipeline. What the file is, is decided by its first good body:
//!
//! - a transcript line: the file is a transcript; a line that is not one is
//!   counted as malformed (before or after the first good one) and skipped;
//! - a chat-completion body (with `choices` or `error`), or a line of
//!   another format a JSON document can hold (Ollama's NDJSON, Gemini
//!   chunks): the file is a recording; bodies that do not parse are streams with an
//!   `invalid_json` error, as `split` shows them;
//! - valid JSON of another shape: the file is skipped (like the `split`
//!   expectations in `fixtures/e2e/*.expected.jsonl`).
//!
//! Bodies that are not valid JSON before the first good one are held (their
//! counts only) until the kind is known, at most [`MAX_LINES_BEFORE_KIND`].

use std::convert::Infallible;
use std::path::Path;

use serde::Serialize;
use thinktee_pipeline::{
    DocumentError, DocumentKind, Event, FilterSource, Flow, Framer, Part, Pipeline, Record, Sink,
};
use thinktee_transcript::TranscriptRecord;

use super::summary::FilterCounts;
use crate::input::Input;
use crate::term::escape;

/// Bodies that are not valid JSON read before the file's kind is known: past
/// this many, the file is malformed.
pub(crate) const MAX_LINES_BEFORE_KIND: usize = 100;

/// What a file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileKind {
    Recording,
    Transcript,
    /// Not counted: empty, or JSON of another kind.
    Skipped(String),
    /// Could not be read whole: the streams it yielded still count.
    Malformed(String),
}

/// Compressed captures keep their inner extension: `a.sse.gz`.
pub(crate) const COMPRESSED: [&str; 2] = ["gz", "zst"];

/// The extension that says what a file holds (under `.gz` or `.zst`).
pub(crate) fn inner_extension(path: &Path) -> &str {
    fn ext(p: &Path) -> &str {
        p.extension().and_then(|e| e.to_str()).unwrap_or("")
    }
    match ext(path) {
        e if COMPRESSED.contains(&e) => path.file_stem().map_or("", |s| ext(Path::new(s))),
        e => e,
    }
}

// === StreamStat ===

/// What is counted of one choice (its text is not kept).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChoiceStat {
    pub(crate) choice: Option<u32>,
    pub(crate) reasoning_source: &'static str,
    pub(crate) reasoning_segments: u32,
    pub(crate) reasoning_signed: bool,
    pub(crate) reasoning_redacted: bool,
    pub(crate) reasoning_encrypted: bool,
    pub(crate) reasoning_bytes: u64,
    pub(crate) answer_bytes: u64,
    pub(crate) tool_calls: u64,
    pub(crate) finish_reason: Option<String>,
    pub(crate) unterminated: bool,
    #[serde(skip)]
    pub(crate) filters: FilterCounts,
}

impl ChoiceStat {
    fn new(choice: Option<u32>) -> ChoiceStat {
        ChoiceStat {
            choice,
            reasoning_source: "none",
            reasoning_segments: 0,
            reasoning_signed: false,
            reasoning_redacted: false,
            reasoning_encrypted: false,
            reasoning_bytes: 0,
            answer_bytes: 0,
            tool_calls: 0,
            finish_reason: None,
            unterminated: false,
            filters: FilterCounts::default(),
        }
    }
}

/// What is counted of one stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamStat {
    pub(crate) stream: u64,
    /// The wire format (`chat.completions`, `responses`, `messages`).
    pub(crate) format: &'static str,
    pub(crate) id: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) outcome: &'static str,
    /// Error kinds in order of first sight, with their counts.
    pub(crate) errors: Vec<(&'static str, u64)>,
    pub(crate) prompt_filters: FilterCounts,
    pub(crate) reasoning_tokens: Option<u64>,
    pub(crate) answer_tokens: Option<u64>,
    pub(crate) ttft_ms: Option<f64>,
    pub(crate) first_answer_ms: Option<f64>,
    pub(crate) thinking_ms: Option<f64>,
    pub(crate) total_ms: Option<f64>,
    pub(crate) choices: Vec<ChoiceStat>,
}

impl StreamStat {
    fn error(&mut self, kind: &'static str) {
        self.errors_of(kind, 1);
    }

    fn errors_of(&mut self, kind: &'static str, count: u64) {
        match self.errors.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += count,
            None => self.errors.push((kind, count)),
        }
    }

    fn choice(&mut self, index: u32) -> &mut ChoiceStat {
        let at = match self.choices.iter().position(|c| c.choice == Some(index)) {
            Some(at) => at,
            None => {
                self.choices.push(ChoiceStat::new(Some(index)));
                self.choices.len() - 1
            }
        };
        &mut self.choices[at]
    }

    /// The stream-level part of a transcript line (every choice of a
    /// stream carries the same stream-level fields).
    fn from_transcript(r: &TranscriptRecord) -> StreamStat {
        let m = &r.metrics;
        let tokens = (!m.tokens.estimated).then_some(m.tokens);
        // Transcripts written before time to first token was recorded:
        // the first text of either channel.
        let ttft = m.time_to_first_token_ms.or(
            match (m.time_to_first_thinking_ms, m.time_to_first_answer_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        );
        let mut s = StreamStat {
            stream: r.split.stream,
            format: r.split.format.as_str(),
            id: r.split.id.clone(),
            model: r.split.model.clone(),
            request_id: r.request.as_ref().and_then(|m| m.request_id.clone()),
            outcome: r.outcome.as_str(),
            reasoning_tokens: tokens.and_then(|t| t.reasoning),
            answer_tokens: tokens.and_then(|t| t.answer),
            ttft_ms: ttft,
            first_answer_ms: m.time_to_first_answer_ms,
            thinking_ms: m.thinking_duration_ms,
            total_ms: m.total_duration_ms,
            ..StreamStat::default()
        };
        for e in &r.split.errors {
            s.error(e.kind.as_str());
        }
        // Past the first few of a kind, a transcript only counts them.
        for (kind, n) in &r.split.errors_omitted {
            s.errors_of(kind.as_str(), *n);
        }
        for f in r.split.filters.iter().filter(|f| f.source == FilterSource::Prompt) {
            s.prompt_filters.add(f);
        }
        s
    }

    fn add_transcript_choice(&mut self, r: &TranscriptRecord) {
        let mut c = ChoiceStat::new(r.split.choice);
        c.reasoning_source = r.split.reasoning_source.as_str();
        c.reasoning_segments = r.split.reasoning_segments;
        c.reasoning_signed = r.split.reasoning_signed;
        c.reasoning_redacted = r.split.reasoning_redacted;
        c.reasoning_encrypted = r.split.reasoning_encrypted;
        c.reasoning_bytes = r.split.reasoning.len() as u64;
        c.answer_bytes = r.split.content.len() as u64;
        c.tool_calls = r.split.tool_calls.len() as u64;
        c.finish_reason = r.split.finish_reason.clone();
        c.unterminated = r.split.unterminated;
        for f in r.split.filters.iter().filter(|f| f.source == FilterSource::Completion) {
            c.filters.add(f);
        }
        self.choices.push(c);
    }
}

// === StatSink ===

/// A pipeline sink counting what `analyze` reports of each stream: sizes,
/// not text.
#[derive(Debug, Default)]
struct StatSink {
    current: StreamStat,
    finished: Vec<StreamStat>,
}

impl Sink for StatSink {
    type Error = Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        use thinktee_pipeline::SegmentKind;
        let s = &mut self.current;
        match record.event {
            Event::Text { choice, kind, text, .. } => match kind {
                SegmentKind::Thinking => s.choice(choice).reasoning_bytes += text.len() as u64,
                SegmentKind::Answer => s.choice(choice).answer_bytes += text.len() as u64,
                SegmentKind::Markup => {}
            },
            Event::ToolCall { choice, call, .. } => {
                let c = s.choice(choice);
                c.tool_calls = c.tool_calls.max(u64::from(call) + 1);
            }
            Event::Filter { choice: None, filter } => s.prompt_filters.add(filter),
            Event::Filter { choice: Some(c), filter } => s.choice(c).filters.add(filter),
            Event::Error(e) => s.error(e.kind.as_str()),
            Event::ChoiceEnd(end) => {
                let c = s.choice(end.choice);
                c.reasoning_source = end.reasoning_source.as_str();
                c.reasoning_segments = end.reasoning_segments;
                c.reasoning_signed = end.reasoning_signed;
                c.reasoning_redacted = end.reasoning_redacted;
                c.reasoning_encrypted = end.reasoning_encrypted;
                c.finish_reason.clone_from(&end.finish_reason);
                c.unterminated = end.unterminated;
            }
            Event::StreamEnd(end) => {
                s.stream = record.stream;
                s.format = end.format.as_str();
                s.id.clone_from(&end.id);
                s.model.clone_from(&end.model);
                s.outcome = end.outcome.as_str();
                if let Some(u) = &end.usage {
                    s.reasoning_tokens = u.reasoning_tokens;
                    s.answer_tokens = match (u.completion_tokens, u.reasoning_tokens) {
                        (Some(c), Some(r)) => Some(c.saturating_sub(r)),
                        _ => None,
                    };
                }
                s.choices.sort_by_key(|c| c.choice);
                if s.choices.is_empty() {
                    // A stream without choices is one record, `choice: null`,
                    // as in `split` output and transcripts.
                    s.choices.push(ChoiceStat::new(None));
                }
                let s = std::mem::take(s);
                self.finished.push(s);
            }
            _ => {}
        }
        Ok(Flow::Continue)
    }
}

// === reading a file ===

/// The top-level keys that make a chat-completion body (or chunk, or API
/// error). Values are skipped unparsed, at any depth.
#[derive(serde::Deserialize)]
struct Shape {
    choices: Option<serde::de::IgnoredAny>,
    error: Option<serde::de::IgnoredAny>,
}

/// What the file is, as far as read.
#[derive(Debug)]
enum Class {
    /// No good body yet; the bad ones so far (their streams, line, why).
    Undecided(Vec<(StreamStat, u64, String)>),
    Recording,
    Transcript(Box<Transcript>),
    /// JSON of another kind: the rest is not read.
    Neither,
}

/// A transcript's lines grouped into streams: a run of consecutive lines
/// with the same request, stream index and id whose choice index goes up.
#[derive(Debug, Default)]
struct Transcript {
    open: Option<(Key, Option<u32>, StreamStat)>,
    bad: u64,
    first_bad: Option<(u64, String)>,
}

type Key = (Option<String>, Option<u64>, u64, Option<String>);

fn key(r: &TranscriptRecord) -> Key {
    let request = r.request.as_ref();
    (
        request.and_then(|m| m.request_id.clone()),
        request.and_then(|m| m.started_unix_ms),
        r.split.stream,
        r.split.id.clone(),
    )
}

impl Transcript {
    fn line(&mut self, r: &TranscriptRecord, emit: &mut dyn FnMut(StreamStat)) {
        let k = key(r);
        match &mut self.open {
            Some((open, last, s)) if *open == k && r.split.choice > *last => {
                *last = r.split.choice;
                s.add_transcript_choice(r);
            }
            _ => {
                if let Some((_, _, s)) = self.open.take() {
                    emit(s);
                }
                let mut s = StreamStat::from_transcript(r);
                s.add_transcript_choice(r);
                self.open = Some((k, r.split.choice, s));
            }
        }
    }

    fn bad_line(&mut self, line: u64, why: String) {
        self.bad += 1;
        self.first_bad.get_or_insert((line, why));
    }

    fn finish(&mut self, emit: &mut dyn FnMut(StreamStat)) -> Option<String> {
        if let Some((_, _, s)) = self.open.take() {
            emit(s);
        }
        let (line, why) = self.first_bad.take()?;
        Some(format!("{} malformed transcript line(s), first at line {line}: {why}", self.bad))
    }
}

/// One file being read.
struct FileReader<'e> {
    framer: Framer,
    pipeline: Pipeline,
    stats: StatSink,
    class: Class,
    /// Anything but whitespace came.
    content: bool,
    /// The first thing that could not be read, and how many.
    problem: Option<String>,
    problems: u64,
    not_a_stream: bool,
    emit: &'e mut dyn FnMut(StreamStat),
}

/// Reads the file at `path`, handing on each stream's counts as it ends.
pub(crate) fn read_file(path: &Path, emit: &mut dyn FnMut(StreamStat)) -> FileKind {
    let name = escape(&path.display().to_string()).into_owned();
    let mut input = match Input::open_path(path, name) {
        Ok(input) => input,
        Err(e) => return FileKind::Malformed(format!("cannot read: {e}")),
    };
    // `.jsonl` is JSON Lines by name: a transcript whose first line is
    // garbage is still read line by line.
    let lines = inner_extension(path) == "jsonl";
    let builder = thinktee_pipeline::DocumentBuilder::new();
    let builder = if lines { builder.kind(DocumentKind::Json).json_lines(true) } else { builder };
    let mut reader = FileReader {
        framer: builder.framer(),
        pipeline: Pipeline::default(),
        stats: StatSink::default(),
        class: Class::Undecided(Vec::new()),
        content: false,
        problem: None,
        problems: 0,
        not_a_stream: false,
        emit,
    };
    let mut buf = Vec::new();
    loop {
        match input.read_piece(&mut buf) {
            Ok(true) => {
                reader.content |= buf.iter().any(|b| !b.is_ascii_whitespace());
                reader.feed(&buf);
                if reader.done() {
                    break;
                }
            }
            Ok(false) => break,
            Err(e) => {
                reader.problem(format!("cannot read: {e}"));
                break;
            }
        }
    }
    reader.finish()
}

impl FileReader<'_> {
    fn feed(&mut self, bytes: &[u8]) {
        let mut framer = std::mem::take(&mut self.framer);
        framer.feed(bytes, |part| self.part(part));
        self.framer = framer;
    }

    /// Nothing more to read: the file is of another kind, or malformed
    /// before its kind was known.
    fn done(&self) -> bool {
        match &self.class {
            Class::Neither => true,
            Class::Undecided(bad) => bad.len() >= MAX_LINES_BEFORE_KIND,
            _ => false,
        }
    }

    fn part(&mut self, part: Part<'_>) {
        if self.done() {
            return;
        }
        match part {
            Part::Sse(bytes) => {
                self.class = Class::Recording;
                let Ok(_) = self.pipeline.feed(bytes, &mut self.stats);
                self.flush();
            }
            Part::Body { text, line } => self.body(text, line),
            Part::Error(e) => {
                self.not_a_stream |= e == DocumentError::NotAStream;
                self.problem(e.to_string());
            }
        }
    }

    fn problem(&mut self, why: String) {
        self.problems += 1;
        self.problem.get_or_insert(why);
    }

    /// Hands on the streams that ended.
    fn flush(&mut self) {
        for s in self.stats.finished.drain(..) {
            (self.emit)(s);
        }
    }

    fn body(&mut self, text: &str, line: u64) {
        match &mut self.class {
            Class::Neither => {}
            Class::Recording => {
                let Ok(_) = self.pipeline.body(text, &mut self.stats);
                self.flush();
            }
            Class::Transcript(t) => match serde_json::from_str::<TranscriptRecord>(text) {
                Ok(r) => t.line(&r, self.emit),
                Err(e) => t.bad_line(line, e.to_string()),
            },
            Class::Undecided(_) => self.first_body(text, line),
        }
    }

    /// A body before the file's kind is known: decides it, or is held.
    fn first_body(&mut self, text: &str, line: u64) {
        let Class::Undecided(held) = &mut self.class else { return };
        if let Ok(r) = serde_json::from_str::<TranscriptRecord>(text) {
            let mut t = Box::<Transcript>::default();
            for (_, line, why) in held.drain(..) {
                t.bad_line(line, why);
            }
            t.line(&r, self.emit);
            self.class = Class::Transcript(t);
            return;
        }
        let other_format = thinktee_pipeline::Format::detect("message", text)
            != thinktee_pipeline::Format::ChatCompletions;
        match serde_json::from_str::<Shape>(text) {
            Ok(shape) if shape.choices.is_some() || shape.error.is_some() || other_format => {
                for (s, _, _) in held.drain(..) {
                    (self.emit)(s);
                }
                self.class = Class::Recording;
                self.body(text, line);
            }
            Err(e) if e.classify() != serde_json::error::Category::Data => {
                // Not JSON: a stream with an error if this is a recording.
                let Ok(_) = self.pipeline.body(text, &mut self.stats);
                for s in self.stats.finished.drain(..) {
                    held.push((s, line, e.to_string()));
                }
            }
            _ => self.class = Class::Neither,
        }
    }

    fn finish(mut self) -> FileKind {
        let mut framer = std::mem::take(&mut self.framer);
        if !self.done() {
            framer.finish(|part| self.part(part));
        }
        let kind = match std::mem::replace(&mut self.class, Class::Neither) {
            Class::Neither => FileKind::Skipped(
                "JSON, but neither a transcript nor a chat-completion body".into(),
            ),
            Class::Undecided(held) => match held.first() {
                Some((_, line, why)) => FileKind::Malformed(format!(
                    "no transcript line or chat-completion body{}: line {line}: {why}",
                    if held.len() >= MAX_LINES_BEFORE_KIND {
                        format!(" in the first {MAX_LINES_BEFORE_KIND} lines")
                    } else {
                        String::new()
                    }
                )),
                None if self.problem.is_none() && !self.content => {
                    FileKind::Skipped("empty".into())
                }
                None => FileKind::Recording,
            },
            Class::Recording => {
                // What the decoder made of input that is no stream is noise.
                if !self.not_a_stream {
                    let Ok(_) = self.pipeline.finish(&mut self.stats);
                    self.flush();
                }
                FileKind::Recording
            }
            Class::Transcript(mut t) => match t.finish(self.emit) {
                Some(why) => FileKind::Malformed(why),
                None => FileKind::Transcript,
            },
        };
        match (self.problem, kind) {
            (Some(why), FileKind::Recording | FileKind::Transcript) => {
                FileKind::Malformed(match self.problems {
                    1 => why,
                    n => format!("{why} (and {} more problems)", n - 1),
                })
            }
            (Some(why), FileKind::Malformed(first)) => {
                FileKind::Malformed(format!("{first}; {why}"))
            }
            (_, kind) => kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transcript_counts_the_errors_it_only_counted() {
        // What the Collector writes for a stream with 20 invalid events:
        // the first 8 kept, the 12 others counted by kind.
        let error = r#"{"kind":"invalid_json","message":"x"}"#;
        let errors = [error; 8].join(",");
        let line = format!(
            r#"{{"stream":0,"choice":0,"id":null,"model":null,"reasoning":"","content":"a","reasoning_source":"none","finish_reason":"stop","unterminated":false,"errors":[{errors}],"errors_omitted":{{"invalid_json":12}},"done":true,"outcome":"complete","metrics":{{"stream":0,"time_to_first_byte_ms":null,"time_to_first_chunk_ms":null,"time_to_first_thinking_ms":null,"time_to_first_answer_ms":null,"thinking_duration_ms":null,"total_duration_ms":null,"chunks":1,"data_bytes":1,"thinking_bytes":0,"answer_bytes":1,"gaps":null,"tokens":{{"prompt":null,"completion":null,"reasoning":null,"answer":null,"cached":null,"estimated":true}},"choices":[]}}}}"#
        );
        let record: TranscriptRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(StreamStat::from_transcript(&record).errors, [("invalid_json", 20)]);
    }
}
