//! SSE bytes → chunks → per-choice splitters → records.

use std::time::Duration;

use thinktee_chunk::{Choice, Chunk, Payload};
use thinktee_sse::{Decoder, Frame};
use thinktee_think::{Config, Segment, SegmentKind, Splitter};

use crate::choices::ChoiceMap;
use crate::record::{
    ChoiceEnd, ChunkInfo, ErrorKind, Event, InputEnd, ReasoningSource, Record, StreamEnd,
    StreamError, StreamOutcome,
};
use crate::sink::{Flow, Sink};

/// How many distinct choices a stream may have by default
/// ([`Options::max_choices`]).
///
/// Each choice has its own splitter and state until its stream ends.
/// Past the limit the stream records one [`ErrorKind::TooManyChoices`]
/// error, and the `choices[]` entries of further choices are counted
/// ([`StreamEnd::untracked_deltas`]) but not read: their text, filters and
/// finish reasons are ignored. OpenAI's largest `n` is 128.
pub const MAX_CHOICES: usize = 1024;

/// The longest `id` and `model` a stream keeps, in bytes: longer ones are
/// cut (at a character boundary). Sinks copy them onto every choice of the
/// stream, so one huge id must not be multiplied by the choices.
pub const MAX_META_LEN: usize = 256;

/// How many splitters of ended streams are kept for reuse: enough for the
/// streams of typical requests (one to a few choices); more would only
/// hold memory after a stream with many choices.
const MAX_SPARE_SPLITTERS: usize = 8;

/// Limits and policy for a [`Pipeline`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The splitter policy for choices whose reasoning is inline.
    pub splitter: Config,
    /// SSE line limit (default [`thinktee_sse::MAX_LINE_LEN`]).
    pub max_line_len: Option<usize>,
    /// SSE event limit (default [`thinktee_sse::MAX_EVENT_LEN`]).
    pub max_event_len: Option<usize>,
    /// How many distinct choices a stream may have (default
    /// [`MAX_CHOICES`], which says what happens past it).
    pub max_choices: Option<usize>,
    /// Treat the input as one exchange that must leave a record: if it ends
    /// before any stream started (no bytes, only comments, or a failure
    /// before the first event), one empty stream (no choices) is started
    /// and ended, with the outcome of how the input ended. What a
    /// recording proxy wants; off by default, so that `split` of an empty
    /// file prints nothing.
    pub record_empty: bool,
}

/// Pure, synchronous composition of the stages: feed it bytes as they
/// arrive, and it pushes [`Record`]s into a [`Sink`].
///
/// One pipeline reads one input, which may hold several streams back to
/// back (a stream ends at `data: [DONE]`). Memory is bounded by the SSE
/// limits, the splitter's hold bound per choice times the choice limit
/// ([`MAX_CHOICES`]), the stream's metadata ([`MAX_META_LEN`]), and the
/// chunk parser's copy of one earlier payload (at most 4 KiB) and its
/// buffer for one unescaped text (at most one event). The work per chunk
/// does not grow with the number of choices: a choice's state is found in
/// constant time ([`ChoiceMap`]).
#[derive(Debug)]
pub struct Pipeline {
    sse: Decoder,
    /// Reads payloads, reusing the previous parse when only the text
    /// changed. Its payloads borrow from it, so it is kept apart from the
    /// state they update.
    parser: thinktee_chunk::Parser,
    stream: StreamState,
    record_empty: bool,
    /// The sink said [`Flow::Stop`]: it gets no more records from this
    /// input (only its `finish`).
    stopped: bool,
}

/// Everything but the SSE decoder, so its callback can borrow this mutably.
#[derive(Debug)]
struct StreamState {
    splitter: Config,
    index: u64,
    started: bool,
    id: Option<String>,
    model: Option<String>,
    created: Option<i64>,
    usage: Option<thinktee_chunk::Usage>,
    done: bool,
    chunks: u64,
    errors: u64,
    choices: ChoiceMap<ChoiceState>,
    /// The most choices tracked per stream.
    max_choices: usize,
    /// `choices[]` entries of choices past the limit, this stream.
    untracked: u64,
    /// An upstream error object was seen in this stream.
    api_error: bool,
    /// How the input ended, once known.
    input_end: Option<InputEnd>,
    /// Reused splitters of ended streams.
    spare: Vec<Splitter>,
}

#[derive(Debug)]
struct ChoiceState {
    splitter: Splitter,
    /// How its text is read, and what comes next.
    mode: Mode,
    finish_reason: Option<String>,
    /// When the oldest byte the splitter still holds arrived.
    pending_since: Option<Duration>,
}

/// How a choice's text is read. Every choice starts in `Tags`; the first
/// reasoning field it carries moves it to `Field` for good.
///
/// ```text
///   Tags ── a reasoning field ──▶ Field { next: Reasoning }
///                                     │ reasoning text
///                                     ▼
///                                 Field { next: ThinkingEnd }
///                                     │ content text (emits ThinkingEnd)
///                                     ▼
///                                 Field { next: Answer }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Content is inline text, split by the choice's splitter.
    Tags,
    /// Reasoning arrives in its own field and content is answer.
    Field {
        /// What the choice's text may do next.
        next: FieldNext,
    },
}

/// What comes next in a field-mode choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldNext {
    /// No reasoning text yet: content is answer, nothing ends.
    Reasoning,
    /// Reasoning came: the first content text ends thinking.
    ThinkingEnd,
    /// Thinking ended: content is answer (reasoning text is still recorded).
    Answer,
}

/// Pushes records into a sink until it stops or fails; then swallows them.
struct Emitter<'s, S: Sink> {
    sink: &'s mut S,
    at: Option<Duration>,
    status: Result<Flow, S::Error>,
}

impl<'s, S: Sink> Emitter<'s, S> {
    /// An emitter for one call; a sink that stopped in an earlier call gets
    /// nothing.
    fn new(sink: &'s mut S, at: Option<Duration>, stopped: bool) -> Self {
        let status = Ok(if stopped { Flow::Stop } else { Flow::Continue });
        Emitter { sink, at, status }
    }

    #[inline]
    fn emit(&mut self, stream: u64, event: Event<'_>) {
        if let Ok(Flow::Continue) = self.status {
            self.status = self.sink.record(&Record { stream, at: self.at, event });
        }
    }

    /// What the call returns; remembers a `Stop` in `stopped`.
    fn status(self, stopped: &mut bool) -> Result<Flow, S::Error> {
        *stopped |= matches!(self.status, Ok(Flow::Stop));
        self.status
    }
}

// === impl Pipeline ===

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new(Options::default())
    }
}

impl Pipeline {
    /// A pipeline with the given options.
    pub fn new(options: Options) -> Pipeline {
        let mut sse = Decoder::builder();
        if let Some(n) = options.max_line_len {
            sse = sse.max_line_len(n);
        }
        if let Some(n) = options.max_event_len {
            sse = sse.max_event_len(n);
        }
        Pipeline {
            sse: sse.build(),
            parser: thinktee_chunk::Parser::new(),
            stream: StreamState {
                splitter: options.splitter,
                index: 0,
                started: false,
                id: None,
                model: None,
                created: None,
                usage: None,
                done: false,
                chunks: 0,
                errors: 0,
                choices: ChoiceMap::new(),
                max_choices: options.max_choices.unwrap_or(MAX_CHOICES),
                untracked: 0,
                api_error: false,
                input_end: None,
                spare: Vec::new(),
            },
            record_empty: options.record_empty,
            stopped: false,
        }
    }

    /// Index of the current (or next) stream.
    pub fn stream_index(&self) -> u64 {
        self.stream.index
    }

    /// Whether an input that held no stream still ends one, so that it
    /// leaves a record ([`Options::record_empty`]).
    pub fn records_empty_input(&self) -> bool {
        self.record_empty
    }

    /// Whether the sink said [`Flow::Stop`]: it gets no more records from
    /// this pipeline (every later call returns `Stop` at once, and
    /// [`finish`](Pipeline::finish) only calls its `finish`).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Feeds the next network read of an SSE body.
    pub fn feed<S: Sink>(&mut self, bytes: &[u8], sink: &mut S) -> Result<Flow, S::Error> {
        self.feed_inner(bytes, None, sink)
    }

    /// Like [`Pipeline::feed`], stamping every record with `at` (time since
    /// the request started, or since the recording started).
    pub fn feed_at<S: Sink>(
        &mut self,
        bytes: &[u8],
        at: Duration,
        sink: &mut S,
    ) -> Result<Flow, S::Error> {
        self.feed_inner(bytes, Some(at), sink)
    }

    fn feed_inner<S: Sink>(
        &mut self,
        bytes: &[u8],
        at: Option<Duration>,
        sink: &mut S,
    ) -> Result<Flow, S::Error> {
        if self.stopped {
            return Ok(Flow::Stop);
        }
        let mut em = Emitter::new(sink, at, self.stopped);
        let (stream, parser) = (&mut self.stream, &mut self.parser);
        if !bytes.is_empty() {
            em.emit(stream.index, Event::Input { bytes: bytes.len() });
        }
        self.sse.feed(bytes, |frame| stream.on_frame(frame, parser, &mut em));
        em.status(&mut self.stopped)
    }

    /// The input ended: reports a truncated event, ends the open stream
    /// (with `done: false` unless `[DONE]` came) and finishes the sink.
    pub fn finish<S: Sink>(&mut self, sink: &mut S) -> Result<Flow, S::Error> {
        self.finish_with(&InputEnd::Complete, None, sink)
    }

    /// Like [`Pipeline::finish`], stamped with `at`.
    pub fn finish_at<S: Sink>(
        &mut self,
        at: Option<Duration>,
        sink: &mut S,
    ) -> Result<Flow, S::Error> {
        self.finish_with(&InputEnd::Complete, at, sink)
    }

    /// The input ended the way `end` says (the caller knows whether the
    /// upstream failed or the client went away; the parser cannot). Emits
    /// [`Event::InputEnd`], then finishes as [`Pipeline::finish`] does; the
    /// open stream's [`StreamEnd::outcome`] reflects `end`.
    pub fn finish_with<S: Sink>(
        &mut self,
        end: &InputEnd,
        at: Option<Duration>,
        sink: &mut S,
    ) -> Result<Flow, S::Error> {
        let mut em = Emitter::new(sink, at, self.stopped);
        let (stream, parser) = (&mut self.stream, &mut self.parser);
        em.emit(stream.index, Event::InputEnd(end));
        stream.input_end = Some(end.clone());
        self.sse.finish(|frame| stream.on_frame(frame, parser, &mut em));
        // No stream so far (streams are counted as they end).
        if self.record_empty && !stream.started && stream.index == 0 {
            stream.start(&mut em);
        }
        if stream.started {
            stream.end(&mut em);
        }
        self.stopped |= matches!(em.status, Ok(Flow::Stop));
        let flow = em.status?;
        em.sink.finish()?;
        Ok(flow)
    }

    /// Records a problem the reader of the input found and the parser
    /// cannot see (a body that could not be decoded, a response the proxy
    /// could not rewrite) as an [`Event::Error`] of the open stream,
    /// starting one if none is open: it counts in [`StreamEnd::errors`].
    pub fn error_at<S: Sink>(
        &mut self,
        error: StreamError,
        at: Option<Duration>,
        sink: &mut S,
    ) -> Result<Flow, S::Error> {
        if self.stopped {
            return Ok(Flow::Stop);
        }
        let mut em = Emitter::new(sink, at, self.stopped);
        self.stream.error(error, &mut em);
        em.status(&mut self.stopped)
    }

    /// Reads one whole non-streaming body (a `chat.completion` or an error
    /// object) as one stream.
    pub fn body<S: Sink>(&mut self, json: &str, sink: &mut S) -> Result<Flow, S::Error> {
        if self.stopped {
            return Ok(Flow::Stop);
        }
        let mut em = Emitter::new(sink, None, self.stopped);
        let stream = &mut self.stream;
        em.emit(stream.index, Event::Input { bytes: json.len() });
        stream.on_data("message", json, &mut self.parser, &mut em);
        if stream.started {
            stream.end(&mut em);
        }
        em.status(&mut self.stopped)
    }
}

// === impl StreamState ===

impl StreamState {
    fn start<S: Sink>(&mut self, em: &mut Emitter<'_, S>) {
        if !self.started {
            self.started = true;
            em.emit(self.index, Event::StreamStart);
        }
    }

    fn on_frame<S: Sink>(
        &mut self,
        frame: Frame<'_>,
        parser: &mut thinktee_chunk::Parser,
        em: &mut Emitter<'_, S>,
    ) {
        match frame {
            Frame::Event(ev) => self.on_data(ev.event, ev.data, parser, em),
            Frame::Comment(text) => em.emit(self.index, Event::Comment(text)),
            Frame::Skipped(e) => {
                let kind = match e {
                    thinktee_sse::Error::EventTooLong { .. } => ErrorKind::EventTooLong,
                    _ => ErrorKind::LineTooLong,
                };
                self.error(StreamError { kind, code: None, message: e.to_string() }, em);
            }
            Frame::Truncated(raw) => {
                let message =
                    format!("input ended inside an event ({} bytes discarded)", raw.len());
                self.error(StreamError { kind: ErrorKind::Truncated, code: None, message }, em);
            }
        }
    }

    fn error<S: Sink>(&mut self, error: StreamError, em: &mut Emitter<'_, S>) {
        self.start(em);
        self.errors += 1;
        em.emit(self.index, Event::Error(&error));
    }

    fn on_data<S: Sink>(
        &mut self,
        event_type: &str,
        data: &str,
        parser: &mut thinktee_chunk::Parser,
        em: &mut Emitter<'_, S>,
    ) {
        // Matched by reference: moving a chunk out of the result is a
        // copy of several hundred bytes per event.
        match &parser.parse_event(event_type, data) {
            Ok(Payload::Done) => {
                self.start(em);
                self.done = true;
                self.end(em);
            }
            Ok(Payload::Chunk(chunk)) => self.on_chunk(chunk, data.len(), false, em),
            Ok(Payload::Completion(chunk)) => {
                self.on_chunk(chunk, data.len(), true, em);
                self.done = true;
            }
            Ok(Payload::Error(api)) => self.on_api_error(api, em),
            Err(e) => {
                let kind = chunk_error_kind(e);
                self.error(StreamError { kind, code: None, message: with_causes(e) }, em);
            }
        }
    }

    fn on_api_error<S: Sink>(
        &mut self,
        api: &thinktee_chunk::ApiError<'_>,
        em: &mut Emitter<'_, S>,
    ) {
        self.start(em);
        for filter in &api.filters {
            em.emit(self.index, Event::Filter { choice: None, filter });
        }
        self.api_error = true;
        let message = api.message.as_deref().unwrap_or("upstream error").to_owned();
        self.error(StreamError { kind: ErrorKind::Api, code: api.code.clone(), message }, em);
    }

    fn on_chunk<S: Sink>(
        &mut self,
        chunk: &Chunk<'_>,
        bytes: usize,
        completion: bool,
        em: &mut Emitter<'_, S>,
    ) {
        self.start(em);
        self.chunks += 1;
        let stream = self.index;
        if self.id.is_none() {
            self.id = chunk.id.as_deref().map(meta);
        }
        if self.model.is_none() {
            self.model = chunk.model.as_deref().map(meta);
        }
        if self.created.is_none() {
            self.created = chunk.created;
        }
        em.emit(
            stream,
            Event::Chunk(ChunkInfo {
                id: chunk.id.as_deref(),
                model: chunk.model.as_deref(),
                created: chunk.created,
                bytes,
                completion,
            }),
        );
        for filter in &chunk.filters {
            em.emit(stream, Event::Filter { choice: None, filter });
        }
        if let Some(api) = &chunk.error {
            self.on_api_error(api, em);
        }
        for choice in &chunk.choices {
            let Some(state) = self.choice(choice.index, em) else { continue };
            for filter in &choice.filters {
                em.emit(stream, Event::Filter { choice: Some(choice.index), filter });
            }
            if choice.reasoning_field.is_some() && state.mode == Mode::Tags {
                // Reasoning arrives in its own field: content is answer.
                // Anything already given to the splitter is flushed as is.
                state.mode = Mode::Field { next: FieldNext::Reasoning };
                let mut stamp = HeldStamp::new(state);
                state.splitter.finish(|seg| stamp.emit(em, stream, choice.index, seg));
            }
            match state.mode {
                Mode::Tags => state.on_inline(choice, stream, em),
                Mode::Field { next } => state.on_field(next, choice, stream, em),
            }
            if let Some(reason) = &choice.finish_reason {
                let reason = reason.as_str();
                state.finish_reason = Some(reason.to_owned());
                em.emit(stream, Event::Finish { choice: choice.index, reason });
            }
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(*usage);
            em.emit(stream, Event::Usage(usage));
        }
    }

    /// The state of choice `index`, created on first sight; `None` for a
    /// choice past the limit, which is only counted (and reported once
    /// per stream).
    #[inline]
    fn choice<S: Sink>(&mut self, index: u32, em: &mut Emitter<'_, S>) -> Option<&mut ChoiceState> {
        if self.choices.len() >= self.max_choices && self.choices.get(index).is_none() {
            self.untracked_choice(em);
            return None;
        }
        let (spare, config) = (&mut self.spare, &self.splitter);
        Some(self.choices.get_or_insert_with(index, || ChoiceState::new(spare, config)))
    }

    /// A `choices[]` entry of a choice past the limit: counted; the first
    /// of the stream is an error.
    #[cold]
    fn untracked_choice<S: Sink>(&mut self, em: &mut Emitter<'_, S>) {
        if self.untracked == 0 {
            let message = format!(
                "more than {} distinct choices in one stream: further choices are counted, not read",
                self.max_choices
            );
            self.error(StreamError { kind: ErrorKind::TooManyChoices, code: None, message }, em);
        }
        self.untracked += 1;
    }

    /// Ends the current stream: flushes every choice, reports how each ended.
    fn end<S: Sink>(&mut self, em: &mut Emitter<'_, S>) {
        let stream = self.index;
        let finished =
            !self.choices.is_empty() && self.choices.iter().all(|(_, c)| c.finish_reason.is_some());
        let cut = self.input_end.as_ref().and_then(InputEnd::outcome).filter(|_| !self.done);
        let outcome = match cut {
            _ if self.api_error => StreamOutcome::UpstreamError,
            Some(outcome) => outcome,
            None if self.done || finished => StreamOutcome::Complete,
            None => StreamOutcome::Incomplete,
        };
        for (index, mut c) in self.choices.drain_sorted() {
            let mut stamp = HeldStamp::new(&c);
            let outcome = c.splitter.finish(|seg| stamp.emit(em, stream, index, seg));
            let field = matches!(c.mode, Mode::Field { .. });
            let reasoning_source = if field {
                ReasoningSource::Field
            } else if outcome.thinking {
                ReasoningSource::Tags
            } else {
                ReasoningSource::None
            };
            let end = ChoiceEnd {
                choice: index,
                reasoning_source,
                finish_reason: c.finish_reason.take(),
                unterminated: !field && outcome.unterminated,
                hold_limit_hit: outcome.hold_limit_hit,
            };
            em.emit(stream, Event::ChoiceEnd(&end));
            if self.spare.len() < MAX_SPARE_SPLITTERS {
                self.spare.push(c.splitter);
            }
        }
        let end = StreamEnd {
            id: self.id.take(),
            model: self.model.take(),
            created: self.created.take(),
            usage: self.usage.take(),
            done: self.done,
            outcome,
            chunks: self.chunks,
            errors: self.errors,
            untracked_deltas: self.untracked,
        };
        em.emit(stream, Event::StreamEnd(&end));
        self.index += 1;
        self.started = false;
        self.done = false;
        self.api_error = false;
        self.chunks = 0;
        self.errors = 0;
        self.untracked = 0;
    }
}

// === impl ChoiceState ===

impl ChoiceState {
    /// A choice's state on first sight, with a spare splitter if there is
    /// one.
    fn new(spare: &mut Vec<Splitter>, config: &Config) -> ChoiceState {
        ChoiceState {
            splitter: spare.pop().unwrap_or_else(|| Splitter::with_config(config.clone())),
            mode: Mode::Tags,
            finish_reason: None,
            pending_since: None,
        }
    }

    /// Inline text: through the splitter; a close tag ends thinking.
    fn on_inline<S: Sink>(&mut self, choice: &Choice<'_>, stream: u64, em: &mut Emitter<'_, S>) {
        let Some(text) = choice.content.as_deref() else { return };
        let closed = self.splitter.closed_blocks();
        let mut stamp = HeldStamp::new(self);
        self.splitter.feed(text, |seg| stamp.emit(em, stream, choice.index, seg));
        stamp.update(self, em.at);
        if self.splitter.closed_blocks() != closed {
            em.emit(stream, Event::ThinkingEnd { choice: choice.index });
        }
    }

    /// Field mode: reasoning is thinking, content is answer; the first
    /// content after reasoning ends thinking.
    fn on_field<S: Sink>(
        &mut self,
        mut next: FieldNext,
        choice: &Choice<'_>,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        let index = choice.index;
        if let Some(text) = choice.reasoning.as_deref().filter(|t| !t.is_empty()) {
            if next == FieldNext::Reasoning {
                next = FieldNext::ThinkingEnd;
            }
            em.emit(stream, text_event(index, SegmentKind::Thinking, ReasoningSource::Field, text));
        }
        if let Some(text) = choice.content.as_deref().filter(|t| !t.is_empty()) {
            if next == FieldNext::ThinkingEnd {
                next = FieldNext::Answer;
                em.emit(stream, Event::ThinkingEnd { choice: index });
            }
            em.emit(stream, text_event(index, SegmentKind::Answer, ReasoningSource::Field, text));
        }
        self.mode = Mode::Field { next };
    }
}

/// The error kind of a payload the chunk parser refused.
fn chunk_error_kind(e: &thinktee_chunk::Error) -> ErrorKind {
    match e {
        thinktee_chunk::Error::Json(_) => ErrorKind::InvalidJson,
        thinktee_chunk::Error::ChoiceIndex(_) => ErrorKind::InvalidChoiceIndex,
        thinktee_chunk::Error::Shape(_) => ErrorKind::UnknownShape,
        // A kind a later version of the chunk crate adds.
        _ => ErrorKind::UnknownShape,
    }
}

/// An error and its causes, `error: cause: cause`: a record's message is
/// text, so the chain the error carries is written out in it.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A stream's `id` or `model` as kept: at most [`MAX_META_LEN`] bytes.
fn meta(s: &str) -> String {
    let mut end = s.len().min(MAX_META_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn text_event(choice: u32, kind: SegmentKind, source: ReasoningSource, text: &str) -> Event<'_> {
    Event::Text { choice, kind, source, text }
}

/// Stamps the segments of one splitter call: text the splitter held from
/// earlier feeds (undecided text in `auto` mode, a partial tag) is stamped
/// with the time it arrived, not the time it was decided, so "time to first
/// answer" of a stream without reasoning is when its text came.
struct HeldStamp {
    /// Bytes still to emit that were held before this call.
    held: usize,
    since: Option<Duration>,
    emitted: usize,
}

impl HeldStamp {
    #[inline]
    fn new(state: &ChoiceState) -> HeldStamp {
        HeldStamp { held: state.splitter.pending_len(), since: state.pending_since, emitted: 0 }
    }

    #[inline]
    fn emit<S: Sink>(
        &mut self,
        em: &mut Emitter<'_, S>,
        stream: u64,
        choice: u32,
        seg: Segment<'_>,
    ) {
        let event = text_event(choice, seg.kind, ReasoningSource::Tags, seg.text);
        if self.emitted < self.held && self.since.is_some() {
            let now = std::mem::replace(&mut em.at, self.since);
            em.emit(stream, event);
            em.at = now;
        } else {
            em.emit(stream, event);
        }
        self.emitted += seg.text.len();
    }

    /// After a feed: when did the oldest byte still held arrive?
    #[inline]
    fn update(&self, state: &mut ChoiceState, now: Option<Duration>) {
        state.pending_since = if state.splitter.pending_len() == 0 {
            None
        } else if self.emitted < self.held {
            self.since // some of the old held bytes are still held
        } else {
            now
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FnSink;

    fn outcomes(input: &[u8], end: &InputEnd) -> Vec<StreamOutcome> {
        let mut pipeline = Pipeline::default();
        let mut out = Vec::new();
        let mut sink = FnSink::new(|r| {
            if let Event::StreamEnd(e) = r.event {
                out.push(e.outcome);
            }
        });
        pipeline.feed(input, &mut sink).unwrap();
        pipeline.finish_with(end, None, &mut sink).unwrap();
        out
    }

    const DELTA: &[u8] = b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
    const FINISH: &[u8] = b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";

    #[test]
    fn outcome_follows_done_finish_reason_and_input_end() {
        let done = [DELTA, b"data: [DONE]\n\n"].concat();
        let finished = [DELTA, FINISH].concat();
        let api = [DELTA, b"data: {\"error\":{\"message\":\"boom\"}}\n\n"].concat();
        let cut = InputEnd::UpstreamError("reset".into());
        assert_eq!(outcomes(&done, &InputEnd::Complete), [StreamOutcome::Complete]);
        assert_eq!(outcomes(&finished, &InputEnd::Complete), [StreamOutcome::Complete]);
        assert_eq!(outcomes(DELTA, &InputEnd::Complete), [StreamOutcome::Incomplete]);
        assert_eq!(outcomes(DELTA, &cut), [StreamOutcome::UpstreamError]);
        assert_eq!(outcomes(DELTA, &InputEnd::ClientCancelled), [StreamOutcome::ClientCancelled]);
        assert_eq!(outcomes(&api, &InputEnd::Complete), [StreamOutcome::UpstreamError]);
        // A stream that already ended is not changed by how the input ended.
        assert_eq!(outcomes(&done, &InputEnd::ClientCancelled), [StreamOutcome::Complete]);
        // Every way a reader can see an input cut names its own outcome,
        // even when every choice already had its finish reason.
        for (end, outcome) in [
            (InputEnd::Shutdown, StreamOutcome::Shutdown),
            (InputEnd::UpstreamTimeout("idle".into()), StreamOutcome::UpstreamTimeout),
            (InputEnd::UpstreamUnreachable("refused".into()), StreamOutcome::UpstreamUnreachable),
            (InputEnd::RequestTimeout, StreamOutcome::RequestTimeout),
            (InputEnd::Rejected("too large".into()), StreamOutcome::Rejected),
        ] {
            assert_eq!(outcomes(&finished, &end), [outcome], "{end:?}");
        }
    }

    /// What a sink sees of an input: (stream, choices ended, outcome) per stream.
    fn streams(options: Options, input: &[u8], end: &InputEnd) -> Vec<(u64, u32, StreamOutcome)> {
        let mut pipeline = Pipeline::new(options);
        let mut out = Vec::new();
        let mut choices = 0;
        let mut sink = FnSink::new(|r| match r.event {
            Event::ChoiceEnd(_) => choices += 1,
            Event::StreamEnd(e) => out.push((r.stream, std::mem::take(&mut choices), e.outcome)),
            _ => {}
        });
        pipeline.feed(input, &mut sink).unwrap();
        pipeline.finish_with(end, None, &mut sink).unwrap();
        out
    }

    #[test]
    fn an_error_from_the_reader_starts_a_stream_and_counts_in_it() {
        let mut pipeline = Pipeline::default();
        let mut seen = Vec::new();
        let mut sink = FnSink::new(|r| match r.event {
            Event::StreamStart => seen.push("start".to_owned()),
            Event::Error(e) => seen.push(e.kind.as_str().to_owned()),
            Event::StreamEnd(e) => seen.push(format!("end {} {}", e.errors, e.outcome.as_str())),
            _ => {}
        });
        let error = StreamError {
            kind: ErrorKind::ContentEncoding,
            code: None,
            message: "content encoding `compress` is not decoded".into(),
        };
        pipeline.error_at(error, None, &mut sink).unwrap();
        pipeline.finish(&mut sink).unwrap();
        assert_eq!(seen, ["start", "content_encoding", "end 1 incomplete"]);
    }

    #[test]
    fn record_empty_ends_one_stream_for_an_input_that_held_none() {
        let record = Options { record_empty: true, ..Options::default() };
        let refused = InputEnd::UpstreamUnreachable("connection refused".into());
        // Nothing came: one stream, no choice, with how the exchange ended.
        assert_eq!(
            streams(record.clone(), b"", &refused),
            [(0, 0, StreamOutcome::UpstreamUnreachable)]
        );
        assert_eq!(
            streams(record.clone(), b": keep-alive\n\n", &InputEnd::Complete),
            [(0, 0, StreamOutcome::Incomplete)]
        );
        // Off by default: an empty input is no stream.
        assert_eq!(streams(Options::default(), b"", &refused), []);
        // An input that had streams gets no extra one.
        let done = [DELTA, b"data: [DONE]\n\n"].concat();
        assert_eq!(streams(record, &done, &refused), [(0, 1, StreamOutcome::Complete)]);
    }

    /// Probes (see `choices::probes`) made by reading `n` choices, each
    /// sent in 3 deltas round-robin, through the pipeline and a collector.
    fn probes(n: u32, index: impl Fn(u32) -> u32) -> u64 {
        let mut input = String::new();
        for _round in 0..3 {
            for i in 0..n {
                let index = index(i);
                input.push_str(&format!(
                    "data: {{\"choices\":[{{\"index\":{index},\"delta\":{{\"content\":\"x\"}}}}]}}\n\n"
                ));
            }
        }
        let options = Options { max_choices: Some(1 << 20), ..Options::default() };
        let mut pipeline = Pipeline::new(options);
        let mut collector = crate::Collector::new();
        crate::choices::probes::during(|| {
            let Ok(_) = pipeline.feed(input.as_bytes(), &mut collector);
            let Ok(_) = pipeline.finish(&mut collector);
        })
    }

    #[test]
    fn hostile_choice_lookup_is_constant_time() {
        // Dense indexes in order, the same in reverse order of first sight,
        // and sparse ones: a lookup looks at one entry or one hash map.
        type Order = (&'static str, fn(u32) -> u32);
        let orders: [Order; 3] =
            [("dense", |i| i), ("reversed", |i| 4095 - i), ("sparse", |i| i * 7919 + 3)];
        for (name, index) in orders {
            let (small, large) = (probes(1000, index), probes(2000, index));
            // Each of the 3n deltas: the pipeline's lookup, and the
            // collector's for its text and its end: a few probes each.
            assert!(small <= 3 * 1000 * 6, "{name}: {small} probes for 1000 choices");
            assert!(large * 10 <= small * 22, "{name}: {small} probes at n, {large} at 2n");
        }
    }

    #[test]
    fn a_stream_without_choices_ends_no_choice() {
        let api = b"data: {\"error\":{\"message\":\"boom\"}}\n\n";
        assert_eq!(
            streams(Options::default(), api, &InputEnd::Complete),
            [(0, 0, StreamOutcome::UpstreamError)]
        );
    }
}
