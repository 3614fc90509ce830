//! Reading one file as a stream: each stream is handed on when it ends, as
//! what the command makes of it (a [`Tally`]: `analyze` keeps counts and
//! no text, `export` the whole records).
//!
//! A file is framed as every command frames a document
//! ([`thinktee_pipeline::Framer`]): SSE goes through the pipeline read by
//! read; each JSON body (the document, or a line of JSON Lines) is a
//! transcript line if it reads as a [`TranscriptRecord`], else a body for
//! the pipeline. What the file is, is decided by its first good body:
//!
//! - a transcript line: the file is a transcript; a line that is not one is
//!   counted as malformed (before or after the first good one) and skipped;
//! - a chat-completion body (the pipeline found a chunk or an API error),
//!   or a line of another format a JSON document can hold (Ollama's NDJSON,
//!   Gemini chunks, a Responses API or Anthropic Messages body):
//!   the file is a recording; bodies that do not parse are streams with an
//!   `invalid_json` error, as `split` shows them;
//! - valid JSON of another shape: the file is skipped (like the `split`
//!   expectations in `fixtures/e2e/*.expected.jsonl`).
//!
//! Bodies that are not valid JSON before the first good one are held (as
//! the streams with an error they would be) until the kind is known, at
//! most [`MAX_LINES_BEFORE_KIND`].

use std::convert::Infallible;
use std::path::Path;

use thinktee_pipeline::{
    DocumentError, DocumentKind, Framer, Options, Part, Pipeline, Sink, SplitterConfig,
};
use thinktee_transcript::TranscriptRecord;

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

// === Tally ===

/// What a command makes of each stream it reads.
pub(crate) trait Tally {
    /// One stream's result.
    type Stream;
    /// The sink a recording's pipeline feeds.
    type Sink: Sink<Error = Infallible> + Default;
    /// Hands on each stream that ended in `sink`, in order.
    fn drain(sink: &mut Self::Sink, emit: &mut dyn FnMut(Self::Stream));
    /// A transcript line that starts a stream.
    fn transcript(r: TranscriptRecord) -> Self::Stream;
    /// A transcript line that adds a choice to `stream`.
    fn transcript_choice(stream: &mut Self::Stream, r: TranscriptRecord);
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
enum Class<T: Tally> {
    /// No good body yet; the bad ones so far (their streams, line, why).
    Undecided(Vec<(T::Stream, u64, String)>),
    Recording,
    Transcript(Box<Transcript<T>>),
    /// JSON of another kind: the rest is not read.
    Neither,
}

/// A transcript's lines grouped into streams: a run of consecutive lines
/// with the same request, stream index and id whose choice index goes up.
struct Transcript<T: Tally> {
    open: Option<(Key, Option<u32>, T::Stream)>,
    bad: u64,
    first_bad: Option<(u64, String)>,
}

impl<T: Tally> Default for Transcript<T> {
    fn default() -> Self {
        Transcript { open: None, bad: 0, first_bad: None }
    }
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

impl<T: Tally> Transcript<T> {
    fn line(&mut self, r: TranscriptRecord, emit: &mut dyn FnMut(T::Stream)) {
        let k = key(&r);
        match &mut self.open {
            Some((open, last, s)) if *open == k && r.split.choice > *last => {
                *last = r.split.choice;
                T::transcript_choice(s, r);
            }
            _ => {
                if let Some((_, _, s)) = self.open.take() {
                    emit(s);
                }
                let choice = r.split.choice;
                self.open = Some((k, choice, T::transcript(r)));
            }
        }
    }

    fn bad_line(&mut self, line: u64, why: String) {
        self.bad += 1;
        self.first_bad.get_or_insert((line, why));
    }

    fn finish(&mut self, emit: &mut dyn FnMut(T::Stream)) -> Option<String> {
        if let Some((_, _, s)) = self.open.take() {
            emit(s);
        }
        let (line, why) = self.first_bad.take()?;
        Some(format!("{} malformed transcript line(s), first at line {line}: {why}", self.bad))
    }
}

/// One file being read.
struct FileReader<'e, T: Tally> {
    framer: Framer,
    pipeline: Pipeline,
    sink: T::Sink,
    class: Class<T>,
    /// Anything but whitespace came.
    content: bool,
    /// The first thing that could not be read, and how many.
    problem: Option<String>,
    problems: u64,
    not_a_stream: bool,
    emit: &'e mut dyn FnMut(T::Stream),
}

/// Reads the file at `path`, handing on each stream as it ends.
pub(crate) fn read_file<T: Tally>(
    path: &Path,
    splitter: &SplitterConfig,
    emit: &mut dyn FnMut(T::Stream),
) -> FileKind {
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
    let mut reader = FileReader::<T> {
        framer: builder.framer(),
        pipeline: Pipeline::new(Options { splitter: splitter.clone(), ..Options::default() }),
        sink: T::Sink::default(),
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

impl<T: Tally> FileReader<'_, T> {
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
                let Ok(_) = self.pipeline.feed(bytes, &mut self.sink);
                self.flush();
            }
            Part::Body { text, line } => self.body(text, line, false),
            Part::Item { text, line } => self.body(text, line, true),
            Part::ArrayEnd => {
                if let Class::Recording = self.class {
                    let Ok(_) = self.pipeline.end_items(&mut self.sink);
                    self.flush();
                }
            }
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
        T::drain(&mut self.sink, self.emit);
    }

    /// A body, or an item of a top-level array (`item`: an event of the
    /// array's stream).
    fn body(&mut self, text: &str, line: u64, item: bool) {
        match &mut self.class {
            Class::Neither => {}
            Class::Recording if item => {
                let Ok(_) = self.pipeline.item(text, &mut self.sink);
                self.flush();
            }
            Class::Recording => {
                let Ok(_) = self.pipeline.body(text, &mut self.sink);
                self.flush();
            }
            Class::Transcript(t) => match serde_json::from_str::<TranscriptRecord>(text) {
                Ok(r) => t.line(r, self.emit),
                Err(e) => t.bad_line(line, e.to_string()),
            },
            Class::Undecided(_) => self.first_body(text, line, item),
        }
    }

    /// A body before the file's kind is known: decides it, or is held.
    fn first_body(&mut self, text: &str, line: u64, item: bool) {
        let Class::Undecided(held) = &mut self.class else { return };
        if let Ok(r) = serde_json::from_str::<TranscriptRecord>(text) {
            let mut t = Box::<Transcript<T>>::default();
            for (_, line, why) in held.drain(..) {
                t.bad_line(line, why);
            }
            t.line(r, self.emit);
            self.class = Class::Transcript(t);
            return;
        }
        let other_format = thinktee_pipeline::Format::detect("message", text)
            != thinktee_pipeline::Format::ChatCompletions
            || thinktee_pipeline::Format::of_body(text).is_some();
        match serde_json::from_str::<Shape>(text) {
            Ok(shape) if shape.choices.is_some() || shape.error.is_some() || other_format => {
                for (s, _, _) in held.drain(..) {
                    (self.emit)(s);
                }
                self.class = Class::Recording;
                self.body(text, line, item);
            }
            Err(e) if e.classify() != serde_json::error::Category::Data => {
                // Not JSON: a stream with an error if this is a recording.
                let Ok(_) = self.pipeline.body(text, &mut self.sink);
                T::drain(&mut self.sink, &mut |s| held.push((s, line, e.to_string())));
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
                    let Ok(_) = self.pipeline.finish(&mut self.sink);
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
