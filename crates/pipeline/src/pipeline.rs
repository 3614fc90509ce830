//! SSE bytes → events of the stream's format → per-choice parts → records.

use std::time::Duration;

use thinktee_chunk::{Choice, Chunk, Format, Payload, Update};
use thinktee_sse::{Decoder, Frame};
use thinktee_think::{Config, Splitter};

use crate::choice::{ChoiceState, Mode};
use crate::choices::ChoiceMap;
use crate::record::{
    ChunkInfo, ErrorKind, Event, InputEnd, ReasoningSource, Record, StreamEnd, StreamError,
    StreamOutcome,
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
/// back. Each stream's format is told from its first event
/// ([`Format::detect`]): chat completions, the Responses API or Anthropic
/// Messages; a stream ends at its format's terminal event (`data: [DONE]`,
/// `response.completed` / `.incomplete` / `.failed`, `message_stop`), at
/// the start of another response, or at the end of input. Memory is bounded by the SSE
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
    /// The stream's format, once its first event came.
    format: Option<Format>,
    /// A start event (`response.created`, `message_start`) came: another
    /// one begins a new stream.
    began: bool,
    /// The last stream ended at its terminal event and nothing came since:
    /// a `data: [DONE]` now (which some gateways add) is not a stream.
    after_terminal: bool,
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

/// Pushes records into a sink until it stops or fails; then swallows them.
pub(crate) struct Emitter<'s, S: Sink> {
    sink: &'s mut S,
    /// The time records are stamped with.
    pub(crate) at: Option<Duration>,
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
    pub(crate) fn emit(&mut self, stream: u64, event: Event<'_>) {
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
                format: None,
                began: false,
                after_terminal: false,
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
    /// object) as one stream; or one line of Ollama's NDJSON, which
    /// belongs to the stream of the lines before it up to the one with
    /// `"done": true` (a line of another kind ends such a stream cut
    /// short, and is a stream of its own); or a whole JSON array, whose
    /// items are the events of one stream (Gemini's
    /// `streamGenerateContent` without `alt=sse` sends the chunks of its
    /// stream so; a [`DocumentReader`](crate::DocumentReader) hands them
    /// on one by one as they arrive, to [`Pipeline::item`]).
    pub fn body<S: Sink>(&mut self, json: &str, sink: &mut S) -> Result<Flow, S::Error> {
        if self.stopped {
            return Ok(Flow::Stop);
        }
        let mut em = Emitter::new(sink, None, self.stopped);
        let stream = &mut self.stream;
        em.emit(stream.index, Event::Input { bytes: json.len() });
        if json.trim_ascii_start().starts_with('[') {
            if stream.started {
                stream.end(&mut em);
            }
            // The items as a reader finds them, cut short or not.
            let parser = &mut self.parser;
            let mut framer = crate::document::Builder::new()
                .max_document_len(json.len())
                .kind(crate::DocumentKind::Json)
                .framer();
            let mut part = |part: crate::Part<'_>| {
                if let crate::Part::Item { text, .. } = part {
                    stream.on_data("message", text, parser, &mut em);
                }
            };
            framer.feed(json.as_bytes(), &mut part);
            framer.finish_cut(&mut part);
            if stream.started {
                stream.end(&mut em);
            }
            return em.status(&mut self.stopped);
        }
        // A line of an open Ollama stream that surely is one is read once,
        // not told by `Format::detect` first (a walk over the same keys).
        // Measured (callgrind, 1 MiB of the Ollama NDJSON bench stream,
        // line-aligned reads): 32.1M -> 18.9M instructions for the whole read
        // (-41 %).
        if stream.started
            && stream.format == Some(Format::Ollama)
            // By reference, as `on_chat` matches a chunk: moving the line
            // out of the result copied it, 4.5 % of the instructions
            // (callgrind, line-aligned: 10.03M to 9.58M; 4.8 % at 1460-byte
            // reads, 9.35M to 8.90M).
            && let Ok(line) = &self.parser.parse_ollama(json)
            && line.surely_ollama
        {
            stream.on_ollama(line, json.len(), &mut em);
            return em.status(&mut self.stopped);
        }
        let detected = Format::detect("message", json);
        // Looked for only where the chat reader would take it (not on every
        // line of Ollama's NDJSON): a Responses or Messages body.
        let body = (detected == Format::ChatCompletions).then(|| Format::of_body(json)).flatten();
        if let Some(format) = body {
            if stream.started {
                stream.end(&mut em);
            }
            stream.on_body(format, json, &mut em);
            stream.end(&mut em);
            return em.status(&mut self.stopped);
        }
        let ollama = detected == Format::Ollama;
        if stream.started && stream.format == Some(Format::Ollama) && !ollama {
            stream.end(&mut em);
        }
        stream.on_data("message", json, &mut self.parser, &mut em);
        if stream.started && !ollama {
            stream.end(&mut em);
        }
        em.status(&mut self.stopped)
    }

    /// Reads one item of a JSON array whose items are the events of one
    /// stream, as soon as it came (Gemini's `streamGenerateContent`
    /// without `alt=sse`; [`Part::Item`](crate::Part::Item)): an event
    /// of the open stream, which the first item starts.
    pub fn item<S: Sink>(&mut self, json: &str, sink: &mut S) -> Result<Flow, S::Error> {
        if self.stopped {
            return Ok(Flow::Stop);
        }
        let mut em = Emitter::new(sink, None, self.stopped);
        em.emit(self.stream.index, Event::Input { bytes: json.len() });
        self.stream.on_data("message", json, &mut self.parser, &mut em);
        em.status(&mut self.stopped)
    }

    /// The array of [`Pipeline::item`]s closed: ends its stream.
    pub fn end_items<S: Sink>(&mut self, sink: &mut S) -> Result<Flow, S::Error> {
        if self.stopped {
            return Ok(Flow::Stop);
        }
        let mut em = Emitter::new(sink, None, self.stopped);
        if self.stream.started {
            self.stream.end(&mut em);
        }
        em.status(&mut self.stopped)
    }
}

// === impl StreamState ===

impl StreamState {
    fn start<S: Sink>(&mut self, em: &mut Emitter<'_, S>) {
        if !self.started {
            self.started = true;
            self.after_terminal = false;
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

    /// One data event, read as its stream's format says (told from the
    /// stream's first event).
    fn on_data<S: Sink>(
        &mut self,
        event_type: &str,
        data: &str,
        parser: &mut thinktee_chunk::Parser,
        em: &mut Emitter<'_, S>,
    ) {
        let format = match self.format {
            Some(format) => format,
            None if self.after_terminal && data.trim_ascii() == "[DONE]" => {
                // What a gateway adds after a stream that already ended.
                self.after_terminal = false;
                return;
            }
            None => *self.format.insert(Format::detect(event_type, data)),
        };
        match format {
            Format::Responses => {
                self.on_update(format, parser.parse_responses(event_type, data), data, em)
            }
            Format::Messages => {
                self.on_update(format, parser.parse_messages(event_type, data), data, em)
            }
            Format::Gemini => match &parser.parse_gemini(data) {
                Ok(response) => self.on_gemini(response, data.len(), em),
                Err(e) => self.chunk_error(e, em),
            },
            Format::Ollama => match &parser.parse_ollama(data) {
                Ok(line) => self.on_ollama(line, data.len(), em),
                Err(e) => self.chunk_error(e, em),
            },
            // Chat completions, and any format a later chunk crate adds.
            _ => self.on_chat(event_type, data, parser, em),
        }
    }

    /// One data event of a chat-completions stream.
    fn on_chat<S: Sink>(
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
            Err(e) => self.chunk_error(e, em),
        }
    }

    /// A data payload that could not be read.
    fn chunk_error<S: Sink>(&mut self, e: &thinktee_chunk::Error, em: &mut Emitter<'_, S>) {
        let kind = chunk_error_kind(e);
        self.error(StreamError { kind, code: None, message: with_causes(e) }, em);
    }

    /// One event of a stream in a format with one output (choice 0).
    fn on_update<S: Sink>(
        &mut self,
        format: Format,
        update: Result<Update<'_>, thinktee_chunk::Error>,
        data: &str,
        em: &mut Emitter<'_, S>,
    ) {
        let u = match &update {
            Ok(u) => u,
            Err(e) => return self.chunk_error(e, em),
        };
        if u.start && self.began {
            // Another response began: the one under way ended without its
            // terminal event.
            self.end(em);
            self.format = Some(format);
        }
        self.began |= u.start;
        self.start(em);
        let stream = self.index;
        if !u.keepalive {
            self.chunks += 1;
            self.meta(u.id.as_deref(), u.model.as_deref(), u.created);
            em.emit(
                stream,
                Event::Chunk(ChunkInfo {
                    id: u.id.as_deref(),
                    model: u.model.as_deref(),
                    created: u.created,
                    bytes: data.len(),
                    completion: false,
                }),
            );
        }
        self.apply(u, em);
        if u.end {
            self.done = true;
            self.end(em);
            self.after_terminal = true;
        }
    }

    /// A whole body of a format with one output (choice 0), read as the
    /// updates its stream would have given: one chunk (a completion), the
    /// updates' parts in order. The caller ends the stream.
    fn on_body<S: Sink>(&mut self, format: Format, data: &str, em: &mut Emitter<'_, S>) {
        let updates = match format {
            Format::Responses => thinktee_chunk::responses::parse_body(data),
            _ => thinktee_chunk::messages::parse_body(data),
        };
        self.format = Some(format);
        let updates = match &updates {
            Ok(updates) => updates,
            Err(e) => return self.chunk_error(e, em),
        };
        self.start(em);
        self.chunks += 1;
        let head = updates.first();
        let (id, model) = head.map_or((None, None), |u| (u.id.as_deref(), u.model.as_deref()));
        let created = head.and_then(|u| u.created);
        self.meta(id, model, created);
        em.emit(
            self.index,
            Event::Chunk(ChunkInfo { id, model, created, bytes: data.len(), completion: true }),
        );
        for u in updates {
            self.apply(u, em);
            self.done |= u.end;
        }
    }

    /// What an update says of the output (choice 0), its usage and error.
    fn apply<S: Sink>(&mut self, u: &Update<'_>, em: &mut Emitter<'_, S>) {
        let stream = self.index;
        if let Some(api) = &u.error {
            self.on_api_error(api, em);
        }
        let says = u.reasoning.is_some()
            || u.content.is_some()
            || u.tool_call.is_some()
            || u.marks.any()
            || u.finish_reason.is_some();
        if says && let Some(state) = self.choice(0, Mode::Field, em) {
            if let Some(r) = &u.reasoning {
                state.reasoning(0, ReasoningSource::of_kind(r.kind), &r.text, stream, em);
            }
            if let Some(text) = &u.content {
                state.answer(0, text, stream, em);
            }
            if let Some(call) = &u.tool_call {
                state.tool_call(0, call, stream, em);
            }
            state.marks(u.marks);
            if let Some(reason) = &u.finish_reason {
                state.finish(0, reason, stream, em);
            }
        }
        if let Some(usage) = &u.usage {
            // Cumulative, and possibly partial (Messages): merged.
            let merged = self.usage.get_or_insert_default();
            merged.merge(usage);
            em.emit(stream, Event::Usage(merged));
        }
    }

    /// One chunk of a Gemini stream: its candidates are the choices. Gemini
    /// has no terminal event: the stream is done once a chunk gives every
    /// candidate it carries a finish reason, and it ends at another
    /// `responseId` (another response) or at the end of input.
    fn on_gemini<S: Sink>(
        &mut self,
        r: &thinktee_chunk::gemini::Response<'_>,
        bytes: usize,
        em: &mut Emitter<'_, S>,
    ) {
        if let (Some(id), Some(ours)) = (r.id.as_deref(), self.id.as_deref())
            && meta(id) != ours
        {
            self.end(em);
            self.format = Some(Format::Gemini);
        }
        self.start(em);
        self.chunks += 1;
        let stream = self.index;
        self.meta(r.id.as_deref(), r.model.as_deref(), None);
        let (id, model) = (r.id.as_deref(), r.model.as_deref());
        let info = ChunkInfo { id, model, created: None, bytes, completion: false };
        em.emit(stream, Event::Chunk(info));
        if let Some(api) = &r.error {
            self.on_api_error(api, em);
        }
        for c in &r.candidates {
            let Some(state) = self.choice(c.index, Mode::Field, em) else { continue };
            if let Some(text) = &c.thought {
                state.reasoning(c.index, ReasoningSource::Thought, text, stream, em);
            }
            if let Some(text) = &c.text {
                state.answer(c.index, text, stream, em);
            }
            for call in &c.tool_calls {
                state.whole_tool_call(c.index, call, stream, em);
            }
            state.marks(c.marks);
            if let Some(reason) = &c.finish_reason {
                state.finish(c.index, reason, stream, em);
            }
        }
        if !r.candidates.is_empty() && r.candidates.iter().all(|c| c.finish_reason.is_some()) {
            self.done = true;
        }
        if let Some(usage) = &r.usage {
            // Cumulative and whole on every chunk: the last one wins.
            self.usage = Some(*usage);
            em.emit(stream, Event::Usage(usage));
        }
    }

    /// One line of an Ollama stream (choice 0): a line with `"done": true`
    /// is the last of its stream.
    fn on_ollama<S: Sink>(
        &mut self,
        line: &thinktee_chunk::ollama::Line<'_>,
        bytes: usize,
        em: &mut Emitter<'_, S>,
    ) {
        self.start(em);
        self.chunks += 1;
        let stream = self.index;
        self.meta(None, line.model.as_deref(), None);
        let model = line.model.as_deref();
        let info = ChunkInfo { id: None, model, created: None, bytes, completion: false };
        em.emit(stream, Event::Chunk(info));
        if let Some(api) = &line.error {
            self.on_api_error(api, em);
        }
        let says = line.thinking.is_some()
            || line.content.is_some()
            || !line.tool_calls.is_empty()
            || line.done_reason.is_some();
        if says && let Some(state) = self.choice(0, Mode::Field, em) {
            if let Some(text) = &line.thinking {
                state.reasoning(0, ReasoningSource::Field, text, stream, em);
            }
            if let Some(text) = &line.content {
                state.answer(0, text, stream, em);
            }
            for call in &line.tool_calls {
                state.whole_tool_call(0, call, stream, em);
            }
            if let Some(reason) = &line.done_reason {
                state.finish(0, reason, stream, em);
            }
        }
        if let Some(usage) = &line.usage {
            self.usage = Some(*usage);
            em.emit(stream, Event::Usage(usage));
        }
        if line.done {
            self.done = true;
            self.end(em);
        }
    }

    /// Keeps the first non-empty id and model, and the first creation time.
    #[inline]
    fn meta(&mut self, id: Option<&str>, model: Option<&str>, created: Option<i64>) {
        if self.id.is_none() {
            self.id = id.map(meta);
        }
        if self.model.is_none() {
            self.model = model.map(meta);
        }
        if self.created.is_none() {
            self.created = created;
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
        self.meta(chunk.id.as_deref(), chunk.model.as_deref(), chunk.created);
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
            let Some(state) = self.choice(choice.index, Mode::Tags, em) else { continue };
            for filter in &choice.filters {
                em.emit(stream, Event::Filter { choice: Some(choice.index), filter });
            }
            on_choice(state, choice, stream, em);
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(*usage);
            em.emit(stream, Event::Usage(usage));
        }
    }

    /// The state of choice `index`, created on first sight; `None` for a
    /// choice past the limit, which is only counted (and reported once
    /// per stream).
    /// A new choice starts in `mode`. Inlined always: once per choice of
    /// every chunk, and left to the compiler it was not (callgrind, 1 MiB
    /// of the R1 stream: 1 % more instructions).
    #[inline(always)]
    fn choice<S: Sink>(
        &mut self,
        index: u32,
        mode: Mode,
        em: &mut Emitter<'_, S>,
    ) -> Option<&mut ChoiceState> {
        if self.choices.len() >= self.max_choices && self.choices.get(index).is_none() {
            self.untracked_choice(em);
            return None;
        }
        let (spare, config) = (&mut self.spare, &self.splitter);
        Some(self.choices.get_or_insert_with(index, || ChoiceState::new(spare, config, mode)))
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
        let finished = !self.choices.is_empty() && self.choices.iter().all(|(_, c)| c.finished());
        let cut = self.input_end.as_ref().and_then(InputEnd::outcome).filter(|_| !self.done);
        let outcome = match cut {
            _ if self.api_error => StreamOutcome::UpstreamError,
            Some(outcome) => outcome,
            None if self.done || finished => StreamOutcome::Complete,
            None => StreamOutcome::Incomplete,
        };
        for (index, c) in self.choices.drain_sorted() {
            let (end, splitter, markup_errors) = c.end(index, stream, em);
            self.errors += markup_errors;
            em.emit(stream, Event::ChoiceEnd(&end));
            if self.spare.len() < MAX_SPARE_SPLITTERS {
                self.spare.push(splitter);
            }
        }
        let end = StreamEnd {
            format: self.format.take().unwrap_or_default(),
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
        self.began = false;
        self.done = false;
        self.api_error = false;
        self.chunks = 0;
        self.errors = 0;
        self.untracked = 0;
    }
}

/// One choice of a chat chunk: its parts, in the order the wire gives
/// them (reasoning, content, tool calls), then its finish reason.
#[inline]
fn on_choice<S: Sink>(
    state: &mut ChoiceState,
    choice: &Choice<'_>,
    stream: u64,
    em: &mut Emitter<'_, S>,
) {
    let index = choice.index;
    if let Some(field) = choice.reasoning_field {
        // Reasoning arrives in its own field: content is answer.
        state.enter_field(index, stream, em);
        let text = choice.reasoning.as_deref().unwrap_or_default();
        state.reasoning(index, ReasoningSource::of_field(field), text, stream, em);
    }
    if let Some(text) = choice.content.as_deref() {
        match state.mode() {
            Mode::Tags => state.inline(index, text, stream, em),
            Mode::Field => state.field_answer(index, text, stream, em),
        }
    }
    if !choice.tool_calls.is_empty() || choice.marks.any() {
        on_calls_and_marks(state, choice, stream, em);
    }
    if let Some(reason) = &choice.finish_reason {
        state.finish(index, reason.as_str(), stream, em);
    }
}

/// A chat choice's tool calls and marks, which few chunks have: kept out
/// of the path every chunk takes.
#[cold]
#[inline(never)]
fn on_calls_and_marks<S: Sink>(
    state: &mut ChoiceState,
    choice: &Choice<'_>,
    stream: u64,
    em: &mut Emitter<'_, S>,
) {
    for call in &choice.tool_calls {
        state.tool_call(choice.index, call, stream, em);
    }
    state.marks(choice.marks);
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
    prefix_within(s, MAX_META_LEN).to_owned()
}

/// The longest start of `s` that is at most `max` bytes and ends at a
/// character boundary: how every bounded copy of stream text (metadata,
/// transcripts, captured content) is cut.
pub fn prefix_within(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FnSink, SegmentKind};

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

    /// Gemini's `streamGenerateContent` without `alt=sse`: one JSON array
    /// of the chunks (pretty-printed, `,\r\n` between items, as Google
    /// sends it; FORMATS-MORE §3 for the parts).
    const GEMINI_ARRAY: &str = "[{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Compare [a, b]\", \"thought\": true}], \"role\": \"model\"}, \"index\": 0}]\n}\n,\r\n{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \"9.8 \\\"wins\\\"}\"}], \"role\": \"model\"}, \"finishReason\": \"STOP\", \"index\": 0}],\n  \"usageMetadata\": {\"promptTokenCount\": 5, \"candidatesTokenCount\": 3, \"thoughtsTokenCount\": 2}\n}\n]";

    /// (kind, text) of every text record, then (format, done, chunks,
    /// outcome) of every stream end.
    type Seen = (Vec<(SegmentKind, String)>, Vec<(Format, bool, u64, StreamOutcome)>);

    fn seen(feed: impl FnOnce(&mut dyn FnMut(&Record<'_>))) -> Seen {
        let (mut texts, mut ends) = (Vec::new(), Vec::new());
        feed(&mut |r: &Record<'_>| match r.event {
            Event::Text { kind, text, .. } => texts.push((kind, text.to_owned())),
            Event::StreamEnd(e) => ends.push((e.format, e.done, e.chunks, e.outcome)),
            _ => {}
        });
        (texts, ends)
    }

    #[test]
    fn a_json_array_body_is_one_stream_of_its_items() {
        let want: Seen = (
            vec![
                (SegmentKind::Thinking, "Compare [a, b]".to_owned()),
                (SegmentKind::Answer, "9.8 \"wins\"}".to_owned()),
            ],
            vec![(Format::Gemini, true, 2, StreamOutcome::Complete)],
        );
        let whole = seen(|f| {
            let mut pipeline = Pipeline::default();
            let mut sink = FnSink::new(|r| f(r));
            pipeline.body(GEMINI_ARRAY, &mut sink).unwrap();
            pipeline.finish(&mut sink).unwrap();
        });
        assert_eq!(whole, want);
        // Through a document reader told it is JSON (`application/json`),
        // and one finding out from its first byte, cut at every offset.
        let bytes = GEMINI_ARRAY.as_bytes();
        let told = crate::document::Builder::new().kind(crate::DocumentKind::Json);
        for (builder, cut) in [told, crate::document::Builder::new()]
            .into_iter()
            .flat_map(|b| (0..=bytes.len()).map(move |cut| (b, cut)))
        {
            let got = seen(|f| {
                let mut reader = builder.reader(Pipeline::default());
                let mut sink = FnSink::new(|r| f(r));
                reader.feed(&bytes[..cut], &mut sink).unwrap();
                reader.feed(&bytes[cut..], &mut sink).unwrap();
                reader.finish(&mut sink).unwrap();
            });
            assert_eq!(got, want, "cut at {cut}");
        }
    }

    #[test]
    fn each_array_item_is_read_and_stamped_when_it_arrives() {
        // Cut after the first item's `}`, and again before the `]`.
        let first_end = GEMINI_ARRAY.find("\n}\n,").unwrap() + 2;
        let cuts = [first_end, GEMINI_ARRAY.len() - 1, GEMINI_ARRAY.len()];
        let mut reader = crate::DocumentReader::new(Pipeline::default());
        let mut seen = Vec::new();
        let mut sink = FnSink::new(|r: &Record<'_>| match r.event {
            Event::Text { text, .. } => seen.push((r.at, text.to_owned())),
            Event::StreamEnd(e) => seen.push((r.at, format!("end done={}", e.done))),
            _ => {}
        });
        let mut from = 0;
        for (i, to) in cuts.into_iter().enumerate() {
            let at = Duration::from_millis(10 * (i as u64 + 1));
            reader.feed_at(&GEMINI_ARRAY.as_bytes()[from..to], at, &mut sink).unwrap();
            from = to;
        }
        reader.finish(&mut sink).unwrap();
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(
            seen,
            [
                (ms(10), "Compare [a, b]".to_owned()),
                (ms(20), "9.8 \"wins\"}".to_owned()),
                (ms(30), "end done=true".to_owned()),
            ]
        );
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

    fn collect(input: &[u8]) -> Vec<crate::SplitChoice> {
        let mut collector = crate::Collector::new();
        let mut pipeline = Pipeline::default();
        pipeline.feed(input, &mut collector).unwrap();
        pipeline.finish(&mut collector).unwrap();
        collector.drain().collect()
    }

    /// A chat stream of one choice whose deltas carry `(field, text)`.
    fn chat_stream(deltas: &[(&str, &str)]) -> String {
        let mut input = String::new();
        for (field, text) in deltas {
            let delta = serde_json::json!({ *field: text });
            let chunk = serde_json::json!({ "choices": [{ "index": 0, "delta": delta }] });
            input.push_str(&format!("data: {chunk}\n\n"));
        }
        input + "data: [DONE]\n\n"
    }

    #[test]
    fn tool_tokens_in_content_beside_a_reasoning_field_are_calls_however_the_deltas_cut_them() {
        // DeepSeek V3.1 tool tokens (FORMATS-MORE section 4) in the
        // content, `<` in prose in both fields. The reasoning field is not
        // searched (see `ChoiceState::field_answer`): tokens there stay
        // reasoning text, as sent.
        let call = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{\"a\":1}<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        let reasoning = format!("Think <{call}more");
        let content = format!("x<y{call}<");
        let cuts = |s: &str| (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect::<Vec<_>>();
        let f = crate::ToolCallRecord {
            id: None,
            name: Some("f".into()),
            arguments: "{\"a\":1}".into(),
        };
        // Every cut of each field against every fourth cut of the other.
        let (rs, cs) = (cuts(&reasoning), cuts(&content));
        let pairs = rs.iter().enumerate().flat_map(|(i, &r)| {
            cs.iter()
                .enumerate()
                .filter(move |(j, _)| i % 4 == 0 || j % 4 == 0)
                .map(move |(_, &c)| (r, c))
        });
        for (r, c) in pairs {
            let (r1, r2) = reasoning.split_at(r);
            let (c1, c2) = content.split_at(c);
            // All the reasoning, then the content; and the two fields
            // taking turns.
            let one_then_other = [
                ("reasoning_content", r1),
                ("reasoning_content", r2),
                ("content", c1),
                ("content", c2),
            ];
            let in_turns = [
                ("reasoning_content", r1),
                ("content", c1),
                ("reasoning_content", r2),
                ("content", c2),
            ];
            for (order, deltas) in [("one then other", one_then_other), ("in turns", in_turns)] {
                let records = collect(chat_stream(&deltas).as_bytes());
                let at = format!("{order}: reasoning cut at {r}, content at {c}");
                assert_eq!(records.len(), 1, "{at}");
                let got = &records[0];
                assert_eq!(got.reasoning, reasoning, "{at}");
                assert_eq!(got.content, "x<y<", "{at}");
                assert_eq!(got.tool_calls, std::slice::from_ref(&f), "{at}");
                assert_eq!(
                    (got.reasoning_source, got.errors.len()),
                    (ReasoningSource::Field, 0),
                    "{at}"
                );
                if order == "one then other" {
                    assert_eq!(got.reasoning_segments, 1, "{at}");
                }
            }
        }
    }

    const RESPONSES: &[u8] = b"data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n\
        data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hi\"}\n\n\
        data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\"}}\n\n";

    #[test]
    fn a_stream_without_event_lines_is_told_by_its_data() {
        let records = collect(RESPONSES);
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(
            (r.format, r.content.as_str(), r.done),
            (thinktee_chunk::Format::Responses, "Hi", true)
        );
        assert_eq!(r.finish_reason.as_deref(), Some("completed"));
    }

    #[test]
    fn a_done_after_a_terminal_event_is_no_stream() {
        let then_done = [RESPONSES, b"data: [DONE]\n\n"].concat();
        assert_eq!(collect(&then_done).len(), 1);
        // Anything else in between, and it is one (an empty chat stream).
        let then_more =
            [RESPONSES, b": ping\n\ndata: {\"choices\":[]}\n\ndata: [DONE]\n\n"].concat();
        let records = collect(&then_more);
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[1].format, records[1].done),
            (thinktee_chunk::Format::ChatCompletions, true)
        );
        // Twice is one too many.
        let twice = [RESPONSES, b"data: [DONE]\n\ndata: [DONE]\n\n"].concat();
        assert_eq!(collect(&twice).len(), 2);
    }

    #[test]
    fn thinking_ends_once_per_reasoning_segment() {
        // Messages: thinking, a tool call, thinking, text.
        let events = [
            r#"{"type":"message_start","message":{"id":"m"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"s"}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"thinking_delta","thinking":"b"}}"#,
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"c"}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let input: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        let mut seen = Vec::new();
        let mut sink = crate::FnSink::new(|r: &Record<'_>| match r.event {
            Event::Text { kind, text, .. } => seen.push(format!("{}:{text}", kind.as_str())),
            Event::ToolCall { call, arguments, .. } => seen.push(format!("call{call}:{arguments}")),
            Event::ThinkingEnd { .. } => seen.push("end".to_owned()),
            Event::ChoiceEnd(e) => seen.push(format!("segments:{}", e.reasoning_segments)),
            _ => {}
        });
        let mut pipeline = Pipeline::default();
        pipeline.feed(input.as_bytes(), &mut sink).unwrap();
        pipeline.finish(&mut sink).unwrap();
        assert_eq!(
            seen,
            [
                "thinking:a",
                "end",
                "call0:",
                "call0:{}",
                "thinking:b",
                "end",
                "answer:c",
                "segments:2"
            ]
        );
    }
}
