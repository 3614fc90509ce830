//! Oracles of the thinktee fuzz targets.
//!
//! Each `check_*` function takes one raw fuzz input, decodes its first
//! byte(s) into a chunking and options, runs the stage, and panics when an
//! oracle does not hold. The targets in `fuzz_targets/` are one-line calls
//! of these, and `crates/pipeline/tests/fuzz_replay.rs` includes this file
//! with `#[path]` to replay `fixtures/fuzz/<target>/*` (and every recorded
//! fixture) as an ordinary `cargo test`: a crash found here is a failing test
//! there, with no copy of the oracle to drift.
//!
//! | target | control bytes | oracles |
//! |---|---|---|
//! | `sse_feed` | chunking, limits | chunked == whole; no event, type, id or comment longer than the limits; a truncated tail bounded by them; a finished decoder is as new |
//! | `think_split` | chunking, start/trim/interleaved/tags, hold bound | segments concatenate to the input, whole and chunked; chunked == whole (adjacent segments of one kind merged); same outcome; no empty segment |
//! | `chunk_json` | event type | never panics; same payload (or error kind) as the serde_json-driven reference parser (`crates/chunk/tests/reference`); rejected as JSON iff serde_json rejects it as a `Value`, except for the documented leniencies, which `IgnoredAny` still bounds; `into_owned` is equal; content, reasoning, index and finish reason survive a serde_json round trip |
//! | `pipeline_stream` | chunking, splitter policy and limits | chunked == whole records (adjacent text merged), in every format; against an independent decode of the same bytes ([`decode_independently`]): per chat choice, tag-mode text (thinking + answer + markup) == the concatenated `content`, for the choices within the choice limit; per Responses/Messages stream, reasoning and answer == its parts' text; per choice, tool calls == their pieces assembled; the `Collector`'s records chunked == whole, within the limits (choices per stream, errors per kind, `id`/`model` length, stream-level fields on the first record only) and their counts add up |
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

use thinktee_chunk::{Chunk, FilterSource, Format, Payload, ReasoningField};
use thinktee_pipeline::{
    Collector, ErrorKind, Event, MAX_CHOICES, MAX_ERRORS_PER_KIND, MAX_META_LEN, Options, Pipeline,
    ReasoningSource, Record, Sink, SplitChoice, StreamEnd, ToolCallRecord,
};
use thinktee_sse::{Decoder, Frame, OwnedFrame};
use thinktee_think::{Builder, Config, DEFAULT_MAX_HOLD, Preset, SegmentKind, StartMode};

// === chunkings ===

/// Cuts `0..len` into consecutive ranges chosen by `control`:
///
/// - `0..=127`: pieces of `control % 32 + 1` bytes (1 to 32);
/// - `128..=255`: pieces of 1 to 64 bytes, sizes from an xorshift generator
///   seeded with `control`.
///
/// `boundary(i)` says whether a cut may fall at `i`; a cut that may not is
/// moved forward to the next position where it may (so text is never cut
/// inside a code point).
pub fn cuts(control: u8, len: usize, boundary: impl Fn(usize) -> bool) -> Vec<Range<usize>> {
    let mut rng = u64::from(control).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next_size = || {
        if control < 128 {
            usize::from(control % 32) + 1
        } else {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % 64) as usize + 1
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    while start < len {
        let mut end = (start + next_size()).min(len);
        while end < len && !boundary(end) {
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// The pieces of `bytes` chosen by `control` (see [`cuts`]).
pub fn byte_pieces(control: u8, bytes: &[u8]) -> Vec<&[u8]> {
    cuts(control, bytes.len(), |_| true).into_iter().map(|r| &bytes[r]).collect()
}

/// The pieces of `text` chosen by `control`, cut at code point boundaries.
pub fn text_pieces(control: u8, text: &str) -> Vec<&str> {
    cuts(control, text.len(), |i| text.is_char_boundary(i)).into_iter().map(|r| &text[r]).collect()
}

// === sse_feed ===

/// SSE limits chosen by one control byte: the defaults when its high bit is
/// clear, otherwise small ones (lines of 0 to 4096 bytes, events of 0 to
/// 65536 bytes) so the skip and recovery paths run.
pub fn sse_limits(control: u8) -> (usize, usize) {
    const LINES: [usize; 8] = [0, 1, 2, 5, 16, 64, 256, 4096];
    const EVENTS: [usize; 8] = [0, 1, 3, 8, 32, 100, 1000, 65536];
    if control & 0x80 == 0 {
        (thinktee_sse::MAX_LINE_LEN, thinktee_sse::MAX_EVENT_LEN)
    } else {
        (LINES[usize::from(control & 7)], EVENTS[usize::from((control >> 3) & 7)])
    }
}

fn decode(decoder: &mut Decoder, pieces: &[&[u8]]) -> Vec<OwnedFrame> {
    let mut frames = Vec::new();
    for piece in pieces {
        decoder.feed(piece, |frame| frames.push(frame.to_owned_frame()));
    }
    decoder.finish(|frame| frames.push(frame.to_owned_frame()));
    frames
}

/// Input bytes a decoded string stood for, at least: each U+FFFD (3 bytes)
/// may have replaced a single invalid byte.
fn input_len_lower_bound(text: &str) -> usize {
    text.len() - 2 * text.matches('\u{FFFD}').count()
}

/// `data[0]`: chunking; `data[1]`: limits (see [`sse_limits`]); the rest is
/// the stream.
pub fn check_sse_feed(data: &[u8]) {
    let [chunking, limits, input @ ..] = data else { return };
    let (max_line_len, max_event_len) = sse_limits(*limits);
    let mut decoder =
        Decoder::builder().max_line_len(max_line_len).max_event_len(max_event_len).build();

    let whole = decode(&mut decoder, &[input]);
    // `finish` leaves the decoder as new: the same decoder decodes again.
    let pieces = byte_pieces(*chunking, input);
    let chunked = decode(&mut decoder, &pieces);
    assert_eq!(chunked, whole, "chunked ({} pieces) differs from whole", pieces.len());

    for frame in &whole {
        match frame {
            OwnedFrame::Event(event) => {
                assert!(
                    input_len_lower_bound(&event.data) <= max_event_len,
                    "event data of {} bytes passed max_event_len {max_event_len}",
                    event.data.len()
                );
                // "message" is the default type, not read from the input.
                if event.event != "message" {
                    let event_type = input_len_lower_bound(&event.event);
                    assert!(event_type <= max_line_len, "event type too long");
                }
                let id = event.id.as_deref().unwrap_or_default();
                assert!(input_len_lower_bound(id) <= max_line_len, "id too long");
            }
            OwnedFrame::Comment(text) => {
                assert!(input_len_lower_bound(text) <= max_line_len, "comment too long");
            }
            OwnedFrame::Truncated(text) => {
                // The pending event's lines (each at least one byte, with a
                // line end of at most two) and the unfinished line.
                let bound = 3 * max_event_len.saturating_add(1) + max_line_len.saturating_add(3);
                assert!(
                    input_len_lower_bound(text) <= bound,
                    "truncated tail of {} bytes: more than the limits allow",
                    text.len()
                );
            }
            OwnedFrame::Skipped(_) => {}
        }
    }
}

// === think_split ===

/// Tag pairs the splitter is fuzzed with: the default, multi-byte ones,
/// short ones, one tag a prefix of the other, overlapping ones.
pub const TAGS: [(&str, &str); 8] = [
    ("<think>", "</think>"),
    ("◁think▷", "◁/think▷"),
    ("<t>", "</t>"),
    ("a", "aa"),
    ("</think>", "<think>"),
    ("ab", "ba"),
    ("<reasoning>", "</reasoning>"),
    ("é", "éé"),
];

/// The splitter policy chosen by two control bytes: `policy` bits 0-1 the
/// start mode, bit 2 trim, bit 3 interleaved, bits 4-6 the tag pair; `hold`
/// with its high bit set bounds undecided text at `hold & 63` bytes.
pub fn splitter_config(policy: u8, hold: u8) -> Config {
    let start = match policy & 3 {
        1 => StartMode::Explicit,
        2 => StartMode::Implicit,
        _ => StartMode::Auto,
    };
    let (open, close) = TAGS[usize::from((policy >> 4) & 7)];
    let max_hold = if hold & 0x80 == 0 { DEFAULT_MAX_HOLD } else { usize::from(hold & 63) };
    Builder::new()
        .start(start)
        .trim(policy & 4 != 0)
        .interleaved(policy & 8 != 0)
        .tags(open, close)
        .max_hold(max_hold)
        .config()
        .expect("every tag pair in TAGS is valid")
}

/// Segments with adjacent ones of the same kind merged.
fn merge(segments: impl IntoIterator<Item = (SegmentKind, String)>) -> Vec<(SegmentKind, String)> {
    let mut out: Vec<(SegmentKind, String)> = Vec::new();
    for (kind, text) in segments {
        match out.last_mut() {
            Some((k, t)) if *k == kind => t.push_str(&text),
            _ => out.push((kind, text)),
        }
    }
    out
}

/// `data[0]`: chunking; `data[1]`, `data[2]`: policy (see
/// [`splitter_config`]); the rest, as lossy UTF-8, is the text.
pub fn check_think_split(data: &[u8]) {
    let [chunking, policy, hold, input @ ..] = data else { return };
    let text = String::from_utf8_lossy(input);
    let mut splitter = thinktee_think::Splitter::with_config(splitter_config(*policy, *hold));

    let mut run = |pieces: &[&str]| {
        let mut segments = Vec::new();
        let mut push = |s: thinktee_think::Segment<'_>| {
            assert!(!s.text.is_empty(), "empty {:?} segment", s.kind);
            segments.push((s.kind, s.text.to_owned()));
        };
        for piece in pieces {
            splitter.feed(piece, &mut push);
        }
        let outcome = splitter.finish(&mut push);
        (segments, outcome)
    };

    let (whole, whole_outcome) = run(&[&text]);
    let joined: String = whole.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(joined, text, "whole: segments do not concatenate to the input");

    // `finish` leaves the splitter ready for a new stream: reuse it.
    let pieces = text_pieces(*chunking, &text);
    let (chunked, chunked_outcome) = run(&pieces);
    let joined: String = chunked.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(joined, text, "chunked: segments do not concatenate to the input");
    assert_eq!(
        merge(chunked),
        merge(whole),
        "chunked ({} pieces) differs from whole",
        pieces.len()
    );
    assert_eq!(chunked_outcome, whole_outcome, "outcome depends on the chunking");
}

// === chunk_json ===

/// The serde_json-driven parser the crate shipped before its own scanner,
/// kept as the behaviour reference (one copy, shared with the crate's
/// differential tests).
#[allow(dead_code, unreachable_pub, missing_docs, clippy::all)]
#[path = "../../crates/chunk/tests/reference/mod.rs"]
mod chunk_reference;

/// `data[0]` bit 0: the SSE event type (`message` or `error`); the rest,
/// when it is UTF-8, is one `data` payload, checked against the reference.
///
/// With bit 1 set the rest is a sequence of payloads instead, split at NUL
/// (which no valid payload holds raw), and with bit 2 too the first of them
/// is a template: each later one is the template with its first U+0001 (the
/// place of a text string's body) replaced. A [`thinktee_chunk::Parser`]
/// reads them in order and must give what [`thinktee_chunk::parse_event`]
/// gives each one alone.
pub fn check_chunk_json(data: &[u8]) {
    let [control, input @ ..] = data else { return };
    let Ok(text) = std::str::from_utf8(input) else { return };
    let event_type = if control & 1 == 0 { "message" } else { "error" };
    if control & 2 != 0 {
        return check_chunk_sequence(event_type, text, control & 4 != 0);
    }
    let result = thinktee_chunk::parse_event(event_type, text);
    let expected = chunk_reference::parse_event(event_type, text);
    assert_eq!(
        result.as_ref().map_err(std::mem::discriminant),
        expected.as_ref().map_err(std::mem::discriminant),
        "differs from the reference parser on {event_type} {text:?}"
    );
    if event_type == "message" && text.trim_ascii() != "[DONE]" {
        let value_ok = serde_json::from_str::<serde_json::Value>(text).is_ok();
        let ignored_ok = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
        let json_error = matches!(result, Err(thinktee_chunk::Error::Json(_)));
        assert!(!(value_ok && json_error), "serde_json reads {text:?} but the parser did not");
        if value_ok == ignored_ok {
            // No documented leniency in play: rejected iff serde_json rejects.
            assert_eq!(json_error, !value_ok, "{text:?}");
        }
    }
    let Ok(payload) = result else { return };

    assert_eq!(payload.clone().into_owned(), payload, "into_owned changed the payload");
    if event_type == "message" && text.trim_ascii() != "[DONE]" {
        assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok(),
            "accepted a payload that is not JSON: {text:?}"
        );
    }
    if let Payload::Chunk(chunk) | Payload::Completion(chunk) = &payload {
        round_trip(chunk);
    }
}

/// The sequence mode of [`check_chunk_json`].
fn check_chunk_sequence(event_type: &str, text: &str, template: bool) {
    let mut parts = text.split('\0');
    let payloads: Vec<String> = match parts.next() {
        Some(first) if template && first.contains('\u{1}') => {
            parts.map(|body| first.replacen('\u{1}', body, 1)).collect()
        }
        first => first.into_iter().chain(parts).map(str::to_owned).collect(),
    };
    let mut parser = thinktee_chunk::Parser::new();
    for payload in &payloads {
        let streamed = parser.parse_event(event_type, payload);
        let alone = thinktee_chunk::parse_event(event_type, payload);
        match (&streamed, &alone) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "Parser differs from parse on {payload:?}"),
            _ => assert_eq!(
                streamed.as_ref().map_err(std::mem::discriminant),
                alone.as_ref().map_err(std::mem::discriminant),
                "Parser differs from parse on {payload:?}"
            ),
        }
    }
}

/// Writes the choices' text fields back with serde_json (as a
/// `reasoning_content` dialect chunk) and parses them again: every string,
/// whatever escapes it needed, must come back equal.
fn round_trip(chunk: &Chunk<'_>) {
    let choices: Vec<serde_json::Value> = chunk
        .choices
        .iter()
        .map(|c| {
            serde_json::json!({
                "index": c.index,
                "delta": {
                    "role": c.role.as_deref(),
                    "content": c.content.as_deref(),
                    "reasoning_content": c.reasoning.as_deref(),
                },
                "finish_reason": c.finish_reason.as_ref().map(|f| f.as_str()),
            })
        })
        .collect();
    let json = serde_json::json!({ "id": chunk.id.as_deref(), "choices": choices }).to_string();
    let again = match thinktee_chunk::parse(&json) {
        Ok(Payload::Chunk(again)) => again,
        other => panic!("re-serialized chunk {json} parsed as {other:?}"),
    };
    assert_eq!(again.id, chunk.id, "id");
    assert_eq!(again.choices.len(), chunk.choices.len(), "choice count");
    for (a, b) in again.choices.iter().zip(&chunk.choices) {
        assert_eq!(a.index, b.index, "index");
        assert_eq!(a.role, b.role, "role");
        assert_eq!(a.content, b.content, "content");
        assert_eq!(a.reasoning, b.reasoning, "reasoning");
        let field = b.reasoning.as_ref().map(|_| ReasoningField::ReasoningContent);
        assert_eq!(a.reasoning_field, field, "reasoning field");
        assert_eq!(
            a.finish_reason.as_ref().map(|f| f.as_str()),
            b.finish_reason.as_ref().map(|f| f.as_str()),
            "finish reason"
        );
    }
}

// === pipeline_stream ===

/// One record, owned, for comparing runs: text by key, the rest by its
/// `Debug` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedRecord {
    /// [`Event::Text`], possibly merged with the text records right after it.
    Text {
        /// The stream index.
        stream: u64,
        /// The choice.
        choice: u32,
        /// The channel.
        kind: SegmentKind,
        /// Field or tags.
        source: ReasoningSource,
        /// The text.
        text: String,
    },
    /// Any other record.
    Other(u64, String),
}

/// A sink that keeps [`OwnedRecord`]s, merging adjacent text of one key.
#[derive(Debug, Default)]
pub struct Recorder {
    /// The records so far.
    pub records: Vec<OwnedRecord>,
}

impl Sink for Recorder {
    type Error = std::convert::Infallible;

    fn record(&mut self, r: &Record<'_>) -> Result<thinktee_pipeline::Flow, Self::Error> {
        assert_eq!(r.at, None);
        match r.event {
            Event::Text { choice, kind, source, text } => {
                assert!(!text.is_empty(), "empty text record");
                if let Some(OwnedRecord::Text { stream, choice: c, kind: k, source: s, text: t }) =
                    self.records.last_mut()
                    && (*stream, *c, *k, *s) == (r.stream, choice, kind, source)
                {
                    t.push_str(text);
                } else {
                    self.records.push(OwnedRecord::Text {
                        stream: r.stream,
                        choice,
                        kind,
                        source,
                        text: text.to_owned(),
                    });
                }
            }
            // One per read fed: depends on the chunking by design.
            Event::Input { .. } => {}
            other => {
                let mut debug = String::new();
                let _ = write!(debug, "{other:?}");
                self.records.push(OwnedRecord::Other(r.stream, debug));
            }
        }
        Ok(thinktee_pipeline::Flow::Continue)
    }
}

/// Pipeline options chosen by one control byte: bits 0-3 as in
/// [`splitter_config`] (start, trim, interleaved), bits 4-6 the markers:
/// 0 to 6 the presets of [`Preset::ALL`] (deepseek-r1, qwen3, kimi-k2,
/// kimi, magistral, granite, gpt-oss), 7 the tags `<t>`/`</t>`; bit 7 small
/// limits (SSE lines of 256 bytes, events of 1024, one choice per stream,
/// and a 32-byte hold bound: markup held past it).
pub fn pipeline_options(control: u8) -> Options {
    let start = match control & 3 {
        1 => StartMode::Explicit,
        2 => StartMode::Implicit,
        _ => StartMode::Auto,
    };
    let markers = usize::from((control >> 4) & 7);
    // Every preset, whatever their number: past the last, the tags.
    let builder = match Preset::ALL.get(markers) {
        Some(&preset) => Builder::new().preset(preset),
        None => Builder::new().tags("<t>", "</t>"),
    };
    let small = control & 0x80 != 0;
    let builder = if small { builder.max_hold(32) } else { builder };
    let splitter = builder
        .start(start)
        .trim(control & 4 != 0)
        .interleaved(control & 8 != 0)
        .config()
        .expect("every preset and TAGS pair is valid");
    Options {
        splitter,
        max_line_len: small.then_some(256),
        max_event_len: small.then_some(1024),
        max_choices: small.then_some(1),
        ..Options::default()
    }
}

/// What one run of the pipeline gave: its records, the `Collector`'s
/// records, and each stream's end.
#[derive(Debug, Default)]
struct Run {
    records: Recorder,
    collected: Collector,
    ends: Vec<StreamEnd>,
    /// The calls read from tool-call markup in each choice's text (markup
    /// text that parses as calls): the wire's calls are the others.
    markup_calls: BTreeMap<(u64, u32), Vec<ToolCallRecord>>,
}

impl Sink for Run {
    type Error = std::convert::Infallible;

    fn record(&mut self, r: &Record<'_>) -> Result<thinktee_pipeline::Flow, Self::Error> {
        if let Event::StreamEnd(end) = r.event {
            self.ends.push(end.clone());
        }
        if let Event::Text { kind: SegmentKind::Markup, text, choice, .. } = r.event
            && let Ok(calls) = thinktee_think::parse_calls(text)
        {
            let of_choice = self.markup_calls.entry((r.stream, choice)).or_default();
            of_choice.extend(calls.into_iter().map(|c| ToolCallRecord {
                id: None,
                name: Some(c.name.to_owned()),
                arguments: c.arguments.to_owned(),
            }));
        }
        let Ok(_) = self.collected.record(r);
        self.records.record(r)
    }
}

/// What [`run_pipeline`] gives: records, the `Collector`'s records, stream
/// ends, and the calls read from markup.
type Ran =
    (Vec<OwnedRecord>, Vec<SplitChoice>, Vec<StreamEnd>, BTreeMap<(u64, u32), Vec<ToolCallRecord>>);

fn run_pipeline(options: &Options, pieces: &[&[u8]]) -> Ran {
    let mut pipeline = Pipeline::new(options.clone());
    let mut run = Run::default();
    for piece in pieces {
        let _ = pipeline.feed(piece, &mut run);
    }
    let _ = pipeline.finish(&mut run);
    let collected = run.collected.drain().collect();
    (run.records.records, collected, run.ends, run.markup_calls)
}

/// The `Collector`'s records of each stream against that stream's end:
/// within the limits, stream-level fields on the first record only, and
/// counts that add up.
fn check_collected(options: &Options, records: &[SplitChoice], ends: &[StreamEnd]) {
    let max_choices = options.max_choices.unwrap_or(MAX_CHOICES);
    let mut at = 0;
    for (stream, end) in ends.iter().enumerate() {
        let stream = stream as u64;
        let of_stream: Vec<&SplitChoice> =
            records[at..].iter().take_while(|r| r.stream == stream).collect();
        at += of_stream.len();
        assert!(!of_stream.is_empty(), "stream {stream} left no record");
        assert!(
            of_stream.len() <= max_choices.max(1),
            "stream {stream}: more records than choices allowed"
        );
        let (first, rest) = of_stream.split_first().expect("not empty");
        for r in &of_stream {
            for meta in [&r.id, &r.model].into_iter().flatten() {
                assert!(meta.len() <= MAX_META_LEN, "id or model of {} bytes", meta.len());
            }
        }
        for r in rest {
            assert!(
                r.errors.is_empty() && r.errors_omitted.is_empty() && r.untracked_deltas == 0,
                "stream-level fields past the first record of stream {stream}"
            );
            assert!(
                r.filters.iter().all(|f| f.source != FilterSource::Prompt),
                "prompt filters past the first record of stream {stream}"
            );
        }
        let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &first.errors {
            *per_kind.entry(e.kind.as_str()).or_default() += 1;
        }
        assert!(per_kind.values().all(|&n| n <= MAX_ERRORS_PER_KIND), "{per_kind:?}");
        assert_eq!(
            first.errors.len() as u64 + first.errors_omitted.values().sum::<u64>(),
            end.errors,
            "stream {stream}: kept + omitted errors"
        );
        assert_eq!(first.untracked_deltas, end.untracked_deltas, "stream {stream}");
        let too_many = first.errors.iter().filter(|e| e.kind == ErrorKind::TooManyChoices).count();
        assert_eq!(
            too_many,
            usize::from(end.untracked_deltas > 0),
            "stream {stream}: too_many_choices once iff choices were untracked"
        );
    }
    assert_eq!(at, records.len(), "records of no stream");
}

/// What an independent decode of an input finds: the SSE decoder, then
/// the chunk crate's public readers, with the stream boundaries the
/// pipeline documents (a stream's format is detected from its first data
/// event; it ends at `[DONE]`, at its format's terminal event, or where
/// another response starts; a `[DONE]` right after a terminal event is no
/// stream). Only the first [`Options::max_choices`] distinct choices of
/// each stream are read.
#[derive(Debug, Default)]
pub struct Expected {
    /// Per `(stream, choice)` of chat streams, the concatenated `content` of
    /// the deltas the pipeline should tag-split: up to the first delta of
    /// that choice that carries a reasoning field (from there on its
    /// content is answer).
    pub tagged: BTreeMap<(u64, u32), String>,
    /// Per `(stream, choice)` of another format: its reasoning text and its
    /// answer text, each concatenated as sent.
    pub parts: BTreeMap<(u64, u32), (String, String)>,
    /// Per `(stream, choice)`: its tool calls as the pieces assemble them,
    /// in the order they began.
    pub tool_calls: BTreeMap<(u64, u32), Vec<ToolCallRecord>>,
    /// The streams of formats other than chat completions.
    pub other_formats: std::collections::BTreeSet<u64>,
}

/// Tool-call pieces of one choice, assembled by the wire's key.
fn add_tool_call(calls: &mut Vec<(u32, ToolCallRecord)>, piece: &thinktee_chunk::ToolCall<'_>) {
    let at = match calls.iter().position(|(key, _)| *key == piece.index) {
        Some(at) => at,
        None => {
            calls.push((piece.index, ToolCallRecord::default()));
            calls.len() - 1
        }
    };
    let call = &mut calls[at].1;
    if call.id.is_none() {
        call.id = piece.id.as_deref().map(str::to_owned);
    }
    if call.name.is_none() {
        call.name = piece.name.as_deref().map(str::to_owned);
    }
    call.arguments.push_str(piece.arguments.as_deref().unwrap_or_default());
}

/// See [`Expected`].
pub fn decode_independently(options: &Options, input: &[u8]) -> Expected {
    /// Where an event stands.
    enum Seen {
        Data(String, String),
        /// A frame that is an error of the stream (and starts one).
        Error,
    }
    let mut decoder = Decoder::builder()
        .max_line_len(options.max_line_len.unwrap_or(thinktee_sse::MAX_LINE_LEN))
        .max_event_len(options.max_event_len.unwrap_or(thinktee_sse::MAX_EVENT_LEN))
        .build();
    let mut events: Vec<Seen> = Vec::new();
    decoder.feed(input, |frame| match frame {
        Frame::Event(e) => events.push(Seen::Data(e.event.to_owned(), e.data.to_owned())),
        Frame::Skipped(_) | Frame::Truncated(_) => events.push(Seen::Error),
        Frame::Comment(_) => {}
    });
    let max_choices = options.max_choices.unwrap_or(MAX_CHOICES);
    let mut out = Expected::default();
    let mut stream = 0;
    let mut format: Option<Format> = None;
    let (mut began, mut after_terminal) = (false, false);
    // A Gemini stream's first `responseId`, as the pipeline keeps it.
    let mut first_id: Option<String> = None;
    // Per stream, the choices within the limit.
    let mut tracked: std::collections::BTreeSet<(u64, u32)> = std::collections::BTreeSet::new();
    let mut track = |stream: u64, choice: u32| {
        let n = tracked.range((stream, 0)..=(stream, u32::MAX)).count();
        tracked.contains(&(stream, choice)) || (n < max_choices && tracked.insert((stream, choice)))
    };
    let mut field: BTreeMap<(u64, u32), bool> = BTreeMap::new();
    let mut calls: BTreeMap<(u64, u32), Vec<(u32, ToolCallRecord)>> = BTreeMap::new();
    for event in &events {
        let (event_type, data) = match event {
            Seen::Data(event_type, data) => (event_type, data),
            Seen::Error => {
                after_terminal = false;
                continue;
            }
        };
        let f = match format {
            Some(f) => f,
            None if after_terminal && data.trim_ascii() == "[DONE]" => {
                after_terminal = false;
                continue;
            }
            None => *format.insert(Format::detect(event_type, data)),
        };
        after_terminal = false;
        let update = match f {
            Format::Responses => thinktee_chunk::responses::parse(event_type, data),
            Format::Messages => thinktee_chunk::messages::parse(event_type, data),
            Format::Gemini => {
                let Ok(r) = thinktee_chunk::gemini::parse(data) else { continue };
                let id = r.id.as_deref().map(|id| cut_meta(id).to_owned());
                if let (Some(id), Some(first)) = (&id, &first_id)
                    && id != first
                {
                    stream += 1;
                    first_id = None;
                }
                if first_id.is_none() {
                    first_id = id;
                }
                out.other_formats.insert(stream);
                for c in &r.candidates {
                    if !track(stream, c.index) {
                        continue;
                    }
                    let (reasoning, answer) = out.parts.entry((stream, c.index)).or_default();
                    reasoning.push_str(c.thought.as_deref().unwrap_or_default());
                    answer.push_str(c.text.as_deref().unwrap_or_default());
                    let calls = calls.entry((stream, c.index)).or_default();
                    for piece in &c.tool_calls {
                        // Sent whole: each a call of its own.
                        let fresh = u32::MAX - calls.len() as u32;
                        add_tool_call(
                            calls,
                            &thinktee_chunk::ToolCall { index: fresh, ..piece.clone() },
                        );
                    }
                }
                continue;
            }
            Format::Ollama => {
                let Ok(line) = thinktee_chunk::ollama::parse(data) else { continue };
                out.other_formats.insert(stream);
                let (reasoning, answer) = out.parts.entry((stream, 0)).or_default();
                reasoning.push_str(line.thinking.as_deref().unwrap_or_default());
                answer.push_str(line.content.as_deref().unwrap_or_default());
                let calls = calls.entry((stream, 0)).or_default();
                for piece in &line.tool_calls {
                    // Sent whole: each a call of its own.
                    let fresh = u32::MAX - calls.len() as u32;
                    add_tool_call(
                        calls,
                        &thinktee_chunk::ToolCall { index: fresh, ..piece.clone() },
                    );
                }
                if line.done {
                    stream += 1;
                    (format, began) = (None, false);
                }
                continue;
            }
            _ => {
                match thinktee_chunk::parse_event(event_type, data) {
                    Ok(Payload::Done) => {
                        stream += 1;
                        (format, began) = (None, false);
                    }
                    Ok(Payload::Chunk(chunk) | Payload::Completion(chunk)) => {
                        for choice in &chunk.choices {
                            let key = (stream, choice.index);
                            if !track(stream, choice.index) {
                                continue;
                            }
                            let in_field = field.entry(key).or_default();
                            *in_field |= choice.reasoning_field.is_some();
                            let text = out.tagged.entry(key).or_default();
                            if !*in_field {
                                text.push_str(choice.content.as_deref().unwrap_or_default());
                            }
                            for piece in &choice.tool_calls {
                                add_tool_call(calls.entry(key).or_default(), piece);
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
        };
        let Ok(u) = update else { continue };
        if u.start && began {
            stream += 1;
        }
        began |= u.start;
        out.other_formats.insert(stream);
        let (reasoning, answer) = out.parts.entry((stream, 0)).or_default();
        if let Some(r) = &u.reasoning {
            reasoning.push_str(&r.text);
        }
        if let Some(text) = &u.content {
            answer.push_str(text);
        }
        if let Some(piece) = &u.tool_call {
            add_tool_call(calls.entry((stream, 0)).or_default(), piece);
        }
        if u.end {
            stream += 1;
            (format, began, after_terminal) = (None, false, true);
        }
    }
    out.tagged.retain(|_, text| !text.is_empty());
    out.parts.retain(|_, (reasoning, answer)| !reasoning.is_empty() || !answer.is_empty());
    out.tool_calls = calls
        .into_iter()
        .filter(|(_, c)| !c.is_empty())
        .map(|(key, c)| (key, c.into_iter().map(|(_, call)| call).collect()))
        .collect();
    out
}

/// An id as a stream keeps it: cut to [`MAX_META_LEN`] bytes at a
/// character boundary.
fn cut_meta(s: &str) -> &str {
    let mut end = s.len().min(MAX_META_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `data[0]`: chunking; `data[1]`: options (see [`pipeline_options`]); the
/// rest is an SSE body.
pub fn check_pipeline_stream(data: &[u8]) {
    let [chunking, control, input @ ..] = data else { return };
    let options = pipeline_options(*control);

    let (whole, whole_collected, ends, markup_calls) = run_pipeline(&options, &[input]);
    let pieces = byte_pieces(*chunking, input);
    let (chunked, chunked_collected, _, _) = run_pipeline(&options, &pieces);
    assert_eq!(chunked, whole, "chunked ({} pieces) differs from whole", pieces.len());
    assert_eq!(chunked_collected, whole_collected, "collected records: chunked differs from whole");
    check_collected(&options, &whole_collected, &ends);

    let expected = decode_independently(&options, input);
    let mut tagged: BTreeMap<(u64, u32), String> = BTreeMap::new();
    let mut parts: BTreeMap<(u64, u32), (String, String)> = BTreeMap::new();
    for record in &whole {
        let OwnedRecord::Text { stream, choice, kind, source, text } = record else { continue };
        if *source == ReasoningSource::Tags {
            tagged.entry((*stream, *choice)).or_default().push_str(text);
        } else if expected.other_formats.contains(stream) {
            let (reasoning, answer) = parts.entry((*stream, *choice)).or_default();
            match kind {
                SegmentKind::Thinking => reasoning.push_str(text),
                SegmentKind::Answer => answer.push_str(text),
                SegmentKind::Markup | SegmentKind::ToolCall => {
                    panic!("markup outside tag splitting")
                }
            }
        }
    }
    assert_eq!(
        tagged, expected.tagged,
        "tag-mode text (thinking + answer + markup) is not the concatenated content"
    );
    assert_eq!(
        parts, expected.parts,
        "reasoning and answer of a responses or messages stream are not its parts' text"
    );
    // The calls read from markup are among the choice's calls; the others
    // are the wire's, assembled from their pieces.
    let mut collected: BTreeMap<(u64, u32), Vec<ToolCallRecord>> = whole_collected
        .iter()
        .filter(|r| !r.tool_calls.is_empty())
        .filter_map(|r| Some(((r.stream, r.choice?), r.tool_calls.clone())))
        .collect();
    for (key, calls) in &markup_calls {
        let of_choice = collected.get_mut(key).expect("markup calls are the choice's calls");
        for call in calls {
            let at = of_choice.iter().position(|c| c == call).expect("a markup call is collected");
            of_choice.remove(at);
        }
        if of_choice.is_empty() {
            collected.remove(key);
        }
    }
    assert_eq!(collected, expected.tool_calls, "tool calls are not their pieces assembled");
}
