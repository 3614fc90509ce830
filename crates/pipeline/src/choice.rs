//! What the pipeline keeps per choice of a stream, and how the parts that a
//! choice's events carry become records: the format-neutral model that
//! every format's reader feeds (chat completions per choice, the other
//! formats for their one output, choice 0).
//!
//! A part is reasoning text (with its source), answer text, a piece of a
//! tool call, marks of opaque reasoning, or a finish reason. Inline text
//! (chat `content` with no reasoning field) goes through the choice's
//! splitter instead; the `content` of a chat choice whose reasoning has a
//! field of its own goes through a [`FieldMarkup`] when it may hold
//! tool-call markup.

use std::time::Duration;

use thinktee_chunk::{Marks, ToolCall};
use thinktee_think::{Call, Config, FieldMarkup, Segment, SegmentKind, Splitter};

use crate::choices::ChoiceMap;
use crate::pipeline::Emitter;
use crate::record::{ChoiceEnd, ErrorKind, Event, ReasoningSource, StreamError};
use crate::sink::Sink;

/// A choice's state, from its first part to the end of its stream.
#[derive(Debug)]
pub(crate) struct ChoiceState {
    splitter: Splitter,
    /// How its text is read.
    mode: Mode,
    /// What it said last, for segments and the end of thinking.
    phase: Phase,
    /// Reasoning segments so far (in field mode).
    segments: u32,
    /// Where its reasoning came from, and whether that part had text.
    source: Option<(ReasoningSource, bool)>,
    marks: Marks,
    /// Its tool calls by the wire's key: the order each began.
    tools: Tools,
    finish_reason: Option<String>,
    /// When the oldest byte the splitter still holds arrived.
    pending_since: Option<Duration>,
    /// Tool-call markup in a chat choice's `content` in field mode, made
    /// when its text first may hold markup.
    content_calls: Option<Box<ContentCalls>>,
}

/// The markup reader of a choice's `content`, with when the oldest byte it
/// still holds arrived.
#[derive(Debug)]
struct ContentCalls {
    reader: FieldMarkup,
    since: Option<Duration>,
}

/// How a choice's text is read. A chat choice starts in `Tags`; the first
/// reasoning part it carries moves it to `Field` for good. The choice of a
/// format whose reasoning always has its own parts starts in `Field`.
///
/// ```text
///   Tags ── a reasoning part (splitter flushed) ──▶ Field
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Content is inline text, split by the choice's splitter.
    Tags,
    /// Reasoning arrives in its own parts and content is answer.
    Field,
}

/// What a choice said last (text or tool calls; markup and marks do not
/// count).
///
/// ```text
///   Start ── reasoning ──▶ Reasoning ── answer or tool call ──▶ Other
///                              ▲          (emits ThinkingEnd      │
///                              │           in field mode)         │
///                              └──────────── reasoning ───────────┘
/// ```
///
/// Entering `Reasoning` begins a reasoning segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Reasoning,
    Other,
}

impl ChoiceState {
    /// A choice's state on first sight, with a spare splitter if there is
    /// one.
    pub(crate) fn new(spare: &mut Vec<Splitter>, config: &Config, mode: Mode) -> ChoiceState {
        ChoiceState {
            splitter: spare.pop().unwrap_or_else(|| Splitter::with_config(config.clone())),
            mode,
            phase: Phase::Start,
            segments: 0,
            source: None,
            marks: Marks::default(),
            tools: Tools { keys: ChoiceMap::new(), markup_errors: 0 },
            finish_reason: None,
            pending_since: None,
            content_calls: None,
        }
    }

    #[inline]
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// Reasoning arrives in its own parts from now on: anything already
    /// given to the splitter is flushed as is.
    pub(crate) fn enter_field<S: Sink>(
        &mut self,
        index: u32,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        if self.mode == Mode::Tags {
            self.mode = Mode::Field;
            let mut stamp = HeldStamp::new(self);
            let tools = &mut self.tools;
            self.splitter.finish(|seg| stamp.emit(em, stream, index, seg, tools));
        }
    }

    /// Inline text: through the splitter; a close tag ends thinking.
    #[inline]
    pub(crate) fn inline<S: Sink>(
        &mut self,
        index: u32,
        text: &str,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        let (closed, bad) = (self.splitter.closed_blocks(), self.splitter.bad_headers());
        let mut stamp = HeldStamp::new(self);
        let tools = &mut self.tools;
        self.splitter.feed(text, |seg| stamp.emit(em, stream, index, seg, tools));
        stamp.update(self, em.at);
        if self.splitter.bad_headers() != bad {
            self.tools.bad_headers(em, stream, self.splitter.bad_headers() - bad);
        }
        if self.splitter.closed_blocks() != closed {
            em.emit(stream, Event::ThinkingEnd { choice: index });
        }
    }

    /// Reasoning text from `source` (possibly empty: the part began).
    #[inline]
    pub(crate) fn reasoning<S: Sink>(
        &mut self,
        index: u32,
        source: ReasoningSource,
        text: &str,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        if !matches!(self.source, Some((_, true))) {
            self.note_source(source, text);
        }
        if !text.is_empty() {
            self.begin_reasoning();
            em.emit(
                stream,
                Event::Text { choice: index, kind: SegmentKind::Thinking, source, text },
            );
        }
    }

    /// Answer text in its own field or part.
    #[inline]
    pub(crate) fn answer<S: Sink>(
        &mut self,
        index: u32,
        text: &str,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        if text.is_empty() {
            return;
        }
        self.leave_reasoning(index, stream, em);
        let source = ReasoningSource::Field;
        em.emit(stream, Event::Text { choice: index, kind: SegmentKind::Answer, source, text });
    }

    /// Answer text of a chat choice's `content` in field mode: as
    /// [`answer`](Self::answer), except that tool-call markup in it is a
    /// tool call (a model's tool tokens, sent as text by a server that
    /// splits reasoning out but does not parse calls). Most deltas cannot
    /// hold any: one search says so.
    ///
    /// The reasoning field is not searched: models call tools after their
    /// thinking, and searching every reasoning delta cost 13-15 % of the
    /// time end to end on the field dialect (scripts/ab-time.sh against
    /// the tree before, 1 MiB of the R1 bench stream, 1460-byte and
    /// event-aligned reads); searching `content` only costs 1.5 %.
    #[inline]
    pub(crate) fn field_answer<S: Sink>(
        &mut self,
        index: u32,
        text: &str,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        let under_way = self.content_calls.as_ref().is_some_and(|c| !c.reader.idle());
        if under_way || self.splitter.config().may_hold_call(text) {
            return self.content_markup(index, text, stream, em);
        }
        self.answer(index, text, stream, em);
    }

    /// `content` through its markup reader.
    #[cold]
    #[inline(never)]
    fn content_markup<S: Sink>(
        &mut self,
        index: u32,
        text: &str,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        let config = self.splitter.config();
        let mut calls = self.content_calls.take().unwrap_or_else(|| {
            Box::new(ContentCalls {
                reader: FieldMarkup::new(config, SegmentKind::Answer),
                since: None,
            })
        });
        let mut stamp =
            HeldStamp { held: calls.reader.pending_len(), since: calls.since, emitted: 0 };
        calls.reader.feed(text, |seg| {
            let len = seg.text.len();
            stamp.stamped(em, len, |em| self.content_segment(index, seg, stream, em))
        });
        calls.since = stamp.since_after(calls.reader.pending_len(), em.at);
        self.content_calls = Some(calls);
    }

    /// The content's markup reader flushes what it held at the end of the
    /// stream; returns whether markup passed the hold limit.
    fn finish_content<S: Sink>(
        &mut self,
        index: u32,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) -> bool {
        let Some(mut calls) = self.content_calls.take() else { return false };
        let mut stamp =
            HeldStamp { held: calls.reader.pending_len(), since: calls.since, emitted: 0 };
        calls.reader.finish(|seg| {
            let len = seg.text.len();
            stamp.stamped(em, len, |em| self.content_segment(index, seg, stream, em))
        })
    }

    /// A segment from the content's markup reader: answer text, or markup.
    /// Markup that does not parse is an error, and answer text: nothing is
    /// lost.
    fn content_segment<S: Sink>(
        &mut self,
        index: u32,
        seg: Segment<'_>,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        if seg.kind == SegmentKind::ToolCall {
            // Markup in the content ends the reasoning, as answer text does.
            self.leave_reasoning(index, stream, em);
            return self.tools.markup(em, stream, index, seg.text, ReasoningSource::Field);
        }
        self.answer(index, seg.text, stream, em);
    }

    /// A piece of a tool call: recorded on the call's first sight (even
    /// with no arguments yet), and when it carries anything.
    pub(crate) fn tool_call<S: Sink>(
        &mut self,
        index: u32,
        call: &ToolCall<'_>,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        let next = u32::try_from(self.tools.keys.len()).unwrap_or(u32::MAX);
        let ordinal = *self.tools.keys.get_or_insert_with(call.index, || next);
        let arguments = call.arguments.as_deref().unwrap_or_default();
        let (id, name) = (call.id.as_deref(), call.name.as_deref());
        if ordinal == next || id.is_some() || name.is_some() || !arguments.is_empty() {
            self.leave_reasoning(index, stream, em);
            em.emit(stream, Event::ToolCall { choice: index, call: ordinal, id, name, arguments });
        }
    }

    /// A tool call sent whole (Gemini's `functionCall`): always a call of
    /// its own, whatever its key.
    pub(crate) fn whole_tool_call<S: Sink>(
        &mut self,
        index: u32,
        call: &ToolCall<'_>,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        // Keys counted down from the top are never a wire's (Gemini's
        // calls have none): each whole call gets a fresh one.
        let fresh = u32::MAX - u32::try_from(self.tools.keys.len()).unwrap_or(u32::MAX);
        self.tool_call(index, &ToolCall { index: fresh, ..call.clone() }, stream, em);
    }

    /// Marks of opaque reasoning. Redacted or encrypted reasoning is
    /// reasoning: it begins a segment if none is under way. A signature
    /// only vouches for reasoning already counted.
    #[inline]
    pub(crate) fn marks(&mut self, marks: Marks) {
        self.marks = self.marks.union(marks);
        if marks.redacted || marks.encrypted {
            self.begin_reasoning();
        }
    }

    /// The choice's finish reason.
    #[inline]
    pub(crate) fn finish<S: Sink>(
        &mut self,
        index: u32,
        reason: &str,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) {
        self.finish_reason = Some(reason.to_owned());
        em.emit(stream, Event::Finish { choice: index, reason });
    }

    /// Whether it had a finish reason.
    pub(crate) fn finished(&self) -> bool {
        self.finish_reason.is_some()
    }

    /// The stream ended: flushes the splitter and reports how the choice
    /// ended, and how many errors its markup had. Gives back the splitter,
    /// ready for another stream.
    pub(crate) fn end<S: Sink>(
        mut self,
        index: u32,
        stream: u64,
        em: &mut Emitter<'_, S>,
    ) -> (ChoiceEnd, Splitter, u64) {
        let content_hit = self.finish_content(index, stream, em);
        let closed = self.splitter.closed_blocks();
        let mut stamp = HeldStamp::new(&self);
        let tools = &mut self.tools;
        let outcome = self.splitter.finish(|seg| stamp.emit(em, stream, index, seg, tools));
        let field = self.mode == Mode::Field;
        let reasoning_source = match self.source {
            Some((source, _)) => source,
            None if outcome.thinking && outcome.channels => ReasoningSource::Channel,
            None if outcome.thinking => ReasoningSource::Tags,
            None => ReasoningSource::None,
        };
        let blocks = closed + u64::from(outcome.unterminated);
        let end = ChoiceEnd {
            choice: index,
            reasoning_source,
            reasoning_segments: if field {
                self.segments
            } else {
                u32::try_from(blocks).unwrap_or(u32::MAX)
            },
            reasoning_signed: self.marks.signed,
            reasoning_redacted: self.marks.redacted,
            reasoning_encrypted: self.marks.encrypted,
            finish_reason: self.finish_reason.take(),
            unterminated: !field && outcome.unterminated,
            hold_limit_hit: outcome.hold_limit_hit || content_hit,
        };
        (end, self.splitter, self.tools.markup_errors)
    }

    /// Where the reasoning comes from, while no part with text said so.
    #[cold]
    fn note_source(&mut self, source: ReasoningSource, text: &str) {
        if self.source.is_none() || !text.is_empty() {
            self.source = Some((source, !text.is_empty()));
        }
    }

    /// Reasoning is said: a segment begins unless one is under way.
    #[inline]
    fn begin_reasoning(&mut self) {
        if self.phase != Phase::Reasoning {
            self.phase = Phase::Reasoning;
            self.segments = self.segments.saturating_add(1);
        }
    }

    /// Something other than reasoning is said: a segment under way ends
    /// (and, in field mode, thinking with it).
    #[inline]
    fn leave_reasoning<S: Sink>(&mut self, index: u32, stream: u64, em: &mut Emitter<'_, S>) {
        if self.phase == Phase::Reasoning && self.mode == Mode::Field {
            em.emit(stream, Event::ThinkingEnd { choice: index });
        }
        self.phase = Phase::Other;
    }
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
        tools: &mut Tools,
    ) {
        if seg.kind == SegmentKind::ToolCall {
            return self.emit_markup(em, stream, choice, seg.text, tools);
        }
        let event =
            Event::Text { choice, kind: seg.kind, source: ReasoningSource::Tags, text: seg.text };
        if self.emitted < self.held && self.since.is_some() {
            let now = std::mem::replace(&mut em.at, self.since);
            em.emit(stream, event);
            em.at = now;
        } else {
            em.emit(stream, event);
        }
        self.emitted += seg.text.len();
    }

    /// Tool-call markup: its records are stamped as text is.
    #[cold]
    fn emit_markup<S: Sink>(
        &mut self,
        em: &mut Emitter<'_, S>,
        stream: u64,
        choice: u32,
        text: &str,
        tools: &mut Tools,
    ) {
        let source = ReasoningSource::Tags;
        self.stamped(em, text.len(), |em| tools.markup(em, stream, choice, text, source));
    }

    /// Runs `f`, which emits the records of the next `len` bytes, with the
    /// time those bytes arrived if they were held from an earlier call.
    fn stamped<S: Sink>(
        &mut self,
        em: &mut Emitter<'_, S>,
        len: usize,
        f: impl FnOnce(&mut Emitter<'_, S>),
    ) {
        let held = self.emitted < self.held && self.since.is_some();
        let now = if held { std::mem::replace(&mut em.at, self.since) } else { em.at };
        f(em);
        em.at = now;
        self.emitted += len;
    }

    /// After a call that left `pending` bytes held: when did the oldest of
    /// them arrive?
    fn since_after(&self, pending: usize, now: Option<Duration>) -> Option<Duration> {
        if pending == 0 {
            None
        } else if self.emitted < self.held {
            self.since // some of the old held bytes are still held
        } else {
            now
        }
    }

    /// After a feed: when did the oldest byte still held arrive?
    #[inline]
    fn update(&self, state: &mut ChoiceState, now: Option<Duration>) {
        state.pending_since = self.since_after(state.splitter.pending_len(), now);
    }
}

/// A choice's tool calls: the wire's keys, in the order each began, and the
/// calls written as markup into its text.
#[derive(Debug)]
struct Tools {
    keys: ChoiceMap<u32>,
    /// Markup that did not parse, so far.
    markup_errors: u64,
}

impl Tools {
    /// Harmony headers that did not parse (the splitter kept their text as
    /// answer): one error each.
    #[cold]
    #[inline(never)]
    fn bad_headers<S: Sink>(&mut self, em: &mut Emitter<'_, S>, stream: u64, count: u64) {
        for _ in 0..count {
            self.markup_errors += 1;
            let error = StreamError {
                kind: ErrorKind::HarmonyHeader,
                code: None,
                message: "harmony header did not parse: its text was kept as answer".to_owned(),
            };
            em.emit(stream, Event::Error(&error));
        }
    }

    /// Tool-call markup a splitter or the content's markup reader delimited:
    /// read whole (nom, in `thinktee_think::markup`), its text is markup and
    /// each call it holds a whole call of its own. Markup that does not
    /// parse is an error and answer text: nothing is lost.
    #[cold]
    #[inline(never)]
    fn markup<S: Sink>(
        &mut self,
        em: &mut Emitter<'_, S>,
        stream: u64,
        choice: u32,
        text: &str,
        source: ReasoningSource,
    ) {
        match thinktee_think::parse_calls(text) {
            Ok(calls) => {
                em.emit(stream, Event::Text { choice, kind: SegmentKind::Markup, source, text });
                self.calls(em, stream, choice, calls);
            }
            Err(e) => {
                self.markup_error(em, stream, &e);
                em.emit(stream, Event::Text { choice, kind: SegmentKind::Answer, source, text });
            }
        }
    }

    /// The calls read from markup, each a whole call of its own.
    fn calls<S: Sink>(
        &mut self,
        em: &mut Emitter<'_, S>,
        stream: u64,
        choice: u32,
        calls: Vec<Call<'_>>,
    ) {
        for call in calls {
            // Keys counted down from the top are never a wire's.
            let next = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
            let ordinal = *self.keys.get_or_insert_with(u32::MAX - next, || next);
            let (name, arguments) = (Some(call.name), call.arguments);
            em.emit(stream, Event::ToolCall { choice, call: ordinal, id: None, name, arguments });
        }
    }

    /// Markup that did not parse: one error.
    fn markup_error<S: Sink>(
        &mut self,
        em: &mut Emitter<'_, S>,
        stream: u64,
        e: &thinktee_think::MarkupError,
    ) {
        self.markup_errors += 1;
        let message = e.to_string();
        let error = StreamError { kind: ErrorKind::ToolCallMarkup, code: None, message };
        em.emit(stream, Event::Error(&error));
    }
}
