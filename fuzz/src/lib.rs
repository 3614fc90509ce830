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
//! | `document_stream` | chunking, limit, kind, JSON Lines, cut short, pipeline limits | the framer's parts chunked == whole, held within twice the limit after every read, bodies and items within it; errors once where documented and last where documented; the kind is [`detect`]'s; SSE passed on byte for byte; JSON Lines line by line; one value one body; arrays against serde_json both ways; the reader's records and errors chunked == whole, its errors the framer's; Ollama streams as the NDJSON rule reads them with [`Format::detect`] alone |
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

use thinktee_chunk::{Chunk, FilterSource, Format, Payload, ReasoningField};
use thinktee_pipeline::{
    Collector, DocumentBuilder, DocumentError, DocumentKind, ErrorKind, Event, InputEnd,
    MAX_CHOICES, MAX_ERRORS_PER_KIND, MAX_META_LEN, Options, Part, Pipeline, ReasoningSource,
    Record, Sink, SplitChoice, StreamEnd, ToolCallRecord, detect,
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

// === document_stream ===

/// Limits of one JSON body, line or array element the `document_stream`
/// target picks from: the default (every input fits), then small ones so
/// the skip paths run.
pub const DOCUMENT_LIMITS: [usize; 8] =
    [thinktee_pipeline::MAX_DOCUMENT_LEN, 0, 1, 7, 32, 100, 1000, 65536];

/// A byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Settings of a [`DocumentReader`](thinktee_pipeline::DocumentReader)
/// chosen by one control byte (see [`document_options`]).
#[derive(Debug, Clone)]
pub struct DocumentOptions {
    /// [`DocumentBuilder::max_document_len`](thinktee_pipeline::DocumentBuilder::max_document_len).
    pub limit: usize,
    /// The kind the caller says, or `None` (sniffed).
    pub kind: Option<DocumentKind>,
    /// [`DocumentBuilder::json_lines`](thinktee_pipeline::DocumentBuilder::json_lines).
    pub lines: bool,
    /// The input is cut short: `finish_cut` (the reader's `finish_with`
    /// a client that went away) rather than `finish`.
    pub cut: bool,
    /// [`DocumentBuilder::keep_not_a_stream`](thinktee_pipeline::DocumentBuilder::keep_not_a_stream).
    pub keep_not_a_stream: bool,
    /// The pipeline's options ([`pipeline_options`] of 0, or of 0x80: small
    /// limits).
    pub pipeline: Options,
}

impl DocumentOptions {
    fn builder(&self) -> DocumentBuilder {
        let builder = DocumentBuilder::new()
            .max_document_len(self.limit)
            .json_lines(self.lines)
            .keep_not_a_stream(self.keep_not_a_stream);
        match self.kind {
            Some(kind) => builder.kind(kind),
            None => builder,
        }
    }
}

/// Bits 0-2: the limit ([`DOCUMENT_LIMITS`]); bits 3-4: the kind (0 and 1
/// sniffed, 2 JSON, 3 SSE); bit 5: JSON Lines from the start; bit 6: the
/// input is cut short; bit 7: the pipeline's small limits, and records of
/// input that is not a stream kept.
pub fn document_options(control: u8) -> DocumentOptions {
    let small = control & 0x80 != 0;
    DocumentOptions {
        limit: DOCUMENT_LIMITS[usize::from(control & 7)],
        kind: match (control >> 3) & 3 {
            2 => Some(DocumentKind::Json),
            3 => Some(DocumentKind::Sse),
            _ => None,
        },
        lines: control & 0x20 != 0,
        cut: control & 0x40 != 0,
        keep_not_a_stream: small,
        pipeline: pipeline_options(if small { 0x80 } else { 0 }),
    }
}

/// A [`Part`], owned; consecutive SSE bytes joined (a framer passes SSE on
/// read by read, so their cuts are the chunking's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedPart {
    /// SSE bytes.
    Sse(Vec<u8>),
    /// A JSON body and the line it starts on.
    Body(String, u64),
    /// An array element and the line it starts on.
    Item(String, u64),
    /// The array's `]`.
    ArrayEnd,
    /// What could not be read.
    Error(DocumentError),
}

fn push_part(parts: &mut Vec<OwnedPart>, part: Part<'_>) {
    match (part, parts.last_mut()) {
        (Part::Sse(b), Some(OwnedPart::Sse(last))) => last.extend_from_slice(b),
        (Part::Sse(b), _) => parts.push(OwnedPart::Sse(b.to_vec())),
        (Part::Body { text, line }, _) => parts.push(OwnedPart::Body(text.to_owned(), line)),
        (Part::Item { text, line }, _) => parts.push(OwnedPart::Item(text.to_owned(), line)),
        (Part::ArrayEnd, _) => parts.push(OwnedPart::ArrayEnd),
        (Part::Error(e), _) => parts.push(OwnedPart::Error(e)),
    }
}

/// Most bytes a framer may keep between reads with `limit`: a buffer at
/// most doubles past the limit it is held to, and the SSE probe holds up to
/// 33 bytes of a line's start (see [`thinktee_pipeline::Framer::held`]).
fn held_bound(limit: usize) -> usize {
    2 * limit.max(33)
}

/// Frames `pieces`, asserting after each read that the framer holds no
/// more than [`held_bound`]; the parts, and the kind known once every
/// piece was fed (before the end).
fn run_framer(
    options: &DocumentOptions,
    pieces: &[&[u8]],
) -> (Vec<OwnedPart>, Option<DocumentKind>) {
    let mut framer = options.builder().framer();
    let mut parts = Vec::new();
    let bound = held_bound(options.limit);
    for piece in pieces {
        framer.feed(piece, |p| push_part(&mut parts, p));
        let held = framer.held();
        assert!(held <= bound, "framer holds {held} bytes with a {}-byte limit", options.limit);
    }
    let kind = framer.kind();
    if options.cut {
        framer.finish_cut(|p| push_part(&mut parts, p));
    } else {
        framer.finish(|p| push_part(&mut parts, p));
    }
    assert_eq!(framer.held(), 0, "a finished framer holds nothing");
    (parts, kind)
}

/// What a [`DocumentReader`](thinktee_pipeline::DocumentReader) gave:
/// records, the `Collector`'s records, stream ends, and its errors in order.
type Read = (Vec<OwnedRecord>, Vec<SplitChoice>, Vec<StreamEnd>, Vec<DocumentError>);

fn run_reader(options: &DocumentOptions, pieces: &[&[u8]]) -> Read {
    let mut reader = options.builder().reader(Pipeline::new(options.pipeline.clone()));
    let mut run = Run::default();
    let mut errors = Vec::new();
    for piece in pieces {
        let _ = reader.feed(piece, &mut run);
        errors.extend(reader.errors());
    }
    let end = if options.cut { InputEnd::ClientCancelled } else { InputEnd::Complete };
    let _ = reader.finish_with(&end, None, &mut run);
    errors.extend(reader.errors());
    let collected = run.collected.drain().collect();
    (run.records.records, collected, run.ends, errors)
}

/// The number of lines of `bytes` (line feeds + 1).
fn line_count(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// `input` past a BOM and the whitespace before its first other byte:
/// (the content, the whitespace skipped).
fn content_of(input: &[u8]) -> (&[u8], &[u8]) {
    let unmarked = input.strip_prefix(BOM).unwrap_or(input);
    let at = unmarked.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(unmarked.len());
    (&unmarked[at..], &unmarked[..at])
}

/// `data[0]`: chunking; `data[1]`: settings (see [`document_options`]);
/// the rest is a recorded document: SSE, one JSON body, JSON Lines (Ollama's
/// NDJSON among them) or Gemini's unframed JSON array.
pub fn check_document_stream(data: &[u8]) {
    let [chunking, control, input @ ..] = data else { return };
    let options = document_options(*control);
    let pieces = byte_pieces(*chunking, input);

    // The framer: chunked == whole, held within its bound, parts within
    // the limit, errors that say what the settings and input allow.
    let (whole, kind) = run_framer(&options, &[input]);
    let (chunked, chunked_kind) = run_framer(&options, &pieces);
    assert_eq!(chunked, whole, "framer: chunked ({} pieces) differs from whole", pieces.len());
    assert_eq!(chunked_kind, kind, "kind: chunked differs from whole");
    check_parts(&options, input, &whole, kind);

    // The reader over a pipeline: the same records and errors either way.
    let (records, collected, ends, errors) = run_reader(&options, &[input]);
    let (chunked_records, chunked_collected, _, chunked_errors) = run_reader(&options, &pieces);
    assert_eq!(chunked_records, records, "reader: chunked records differ from whole");
    assert_eq!(chunked_collected, collected, "reader: chunked collected records differ");
    assert_eq!(chunked_errors, errors, "reader: chunked errors differ from whole");
    let framed: Vec<DocumentError> = whole
        .iter()
        .filter_map(|p| match p {
            OwnedPart::Error(e) => Some(*e),
            _ => None,
        })
        .collect();
    assert_eq!(errors, framed, "the reader reports what its framer found");
    check_collected(&options.pipeline, &collected, &ends);

    // Ollama's NDJSON, when the document is bodies only.
    let bodies: Option<Vec<&str>> = whole
        .iter()
        .filter(|p| !matches!(p, OwnedPart::Error(_)))
        .map(|p| match p {
            OwnedPart::Body(text, _) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if let Some(want) = bodies.as_deref().and_then(ollama_streams) {
        let got: Vec<bool> =
            ends.iter().filter(|e| e.format == Format::Ollama).map(|e| e.done).collect();
        assert_eq!(got, want, "ollama streams (each one's `done`) are not the lines' rule");
    }
}

/// Ollama's NDJSON rule, read from the bodies independently of the
/// pipeline: a line [`Format::detect`] calls Ollama's opens a stream if
/// none is open, and one with `"done": true` closes it; any other body
/// closes it cut short, and so does the end. Each stream's `done`, in
/// order; `None` when a body is an array (its items are a stream of
/// their own, which the rule does not speak of).
fn ollama_streams(bodies: &[&str]) -> Option<Vec<bool>> {
    let mut streams = Vec::new();
    let mut open = false;
    for body in bodies {
        if body.trim_ascii_start().starts_with('[') {
            return None;
        }
        if Format::detect("message", body) == Format::Ollama {
            open = true;
            if thinktee_chunk::ollama::parse(body).is_ok_and(|line| line.done) {
                streams.push(true);
                open = false;
            }
        } else if std::mem::take(&mut open) {
            streams.push(false);
        }
    }
    if open {
        streams.push(false);
    }
    Some(streams)
}

/// The whole input's parts against the format rules, read independently.
fn check_parts(
    options: &DocumentOptions,
    input: &[u8],
    parts: &[OwnedPart],
    kind: Option<DocumentKind>,
) {
    let limit = options.limit;
    let lines = line_count(input);
    let (content, skipped) = content_of(input);
    // A lone BOM prefix decides only at the end (as content: SSE).
    let bom_prefix = !input.is_empty() && input.len() < BOM.len() && BOM.starts_with(input);

    // The kind: the caller's, or the first byte past a BOM and whitespace.
    match options.kind {
        Some(forced) => assert_eq!(kind, Some(forced), "a forced kind"),
        None if content.is_empty() || bom_prefix => assert_eq!(kind, None, "nothing decided"),
        None => assert_eq!(kind, Some(detect(input)), "the kind is `detect`'s"),
    }
    // A lone BOM prefix is content once the input ends: `detect`'s SSE.
    let kind = if bom_prefix { kind.or(Some(detect(input))) } else { kind };
    let json = kind == Some(DocumentKind::Json);

    // Errors: each once where once is documented, with the limit as set.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            OwnedPart::Sse(_) => assert!(!json, "sse bytes from json"),
            OwnedPart::Body(text, line) | OwnedPart::Item(text, line) => {
                assert!(json, "a json part from sse");
                assert!(input_len_lower_bound(text) <= limit, "a part of {} bytes", text.len());
                assert!((1..=lines).contains(line), "line {line} of {lines}");
            }
            OwnedPart::ArrayEnd => assert!(json, "an array end from sse"),
            OwnedPart::Error(e) => {
                let name = format!("{e:?}").split([' ', '{']).next().unwrap_or_default().to_owned();
                *seen.entry(name).or_default() += 1;
                match *e {
                    DocumentError::DocumentTooLong { limit: l } => {
                        assert!(json && i == 0 && l == limit, "{e:?} at {i}");
                    }
                    DocumentError::LineTooLong { line, limit: l }
                    | DocumentError::ElementTooLong { line, limit: l } => {
                        assert!(json && l == limit && (1..=lines).contains(&line), "{e:?}");
                    }
                    DocumentError::ArrayMalformed { line } | DocumentError::AfterArray { line } => {
                        assert!(json && (1..=lines).contains(&line), "{e:?}");
                    }
                    DocumentError::NotAStream | DocumentError::ArrayNotClosed => {
                        assert_eq!(i, parts.len() - 1, "{e:?} is said at the end");
                        assert!(!options.cut || *e == DocumentError::NotAStream, "{e:?} when cut");
                        assert_eq!(json, *e == DocumentError::ArrayNotClosed, "{e:?}");
                    }
                    _ => panic!("an error the oracle does not know: {e:?}"),
                }
            }
        }
    }
    for (name, n) in &seen {
        let once = !matches!(name.as_str(), "LineTooLong" | "ElementTooLong");
        assert!(!once || *n == 1, "{name} said {n} times");
    }

    match kind {
        Some(DocumentKind::Sse) => check_sse_parts(input, parts),
        Some(DocumentKind::Json) if options.lines || content.first() != Some(&b'[') => {
            check_body_parts(options, content, skipped, parts);
        }
        Some(DocumentKind::Json) => check_array_parts(options, input, content, parts),
        _ => assert!(parts.is_empty(), "parts of nothing: {parts:?}"),
    }
}

/// SSE is passed on whole, past a BOM and leading whitespace, which stand
/// for what they meant to an SSE decoder: a line end if they held one, and
/// a line that starts with whitespace if any followed the last line end.
fn check_sse_parts(input: &[u8], parts: &[OwnedPart]) {
    let bom_prefix = input.len() < BOM.len() && BOM.starts_with(input);
    let (content, skipped) = if bom_prefix { (input, &b""[..]) } else { content_of(input) };
    let mut want = Vec::new();
    if !content.is_empty() {
        if skipped.iter().any(|&b| b == b'\n' || b == b'\r') {
            want.push(b'\n');
        }
        let last_line = skipped.rsplit(|&b| b == b'\n' || b == b'\r').next().unwrap_or_default();
        if !last_line.is_empty() {
            want.push(b' ');
        }
        want.extend_from_slice(content);
    }
    let got: Vec<u8> = parts
        .iter()
        .flat_map(|p| match p {
            OwnedPart::Sse(bytes) => bytes.clone(),
            _ => Vec::new(),
        })
        .collect();
    assert!(
        got == want,
        "sse bytes passed on: {:?}, not {:?}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
}

/// JSON that is not an array: one body when it is one value within the
/// limit (serde_json says where it ends), otherwise each non-blank line a
/// body.
fn check_body_parts(
    options: &DocumentOptions,
    content: &[u8],
    skipped: &[u8],
    parts: &[OwnedPart],
) {
    let first_line = line_count(skipped);
    if options.lines {
        // Each line as it is: the first past its leading whitespace, one
        // trailing CR dropped, blank ones skipped, long ones said.
        let mut want = Vec::new();
        for (i, raw) in content.split(|&b| b == b'\n').enumerate() {
            let line = first_line + i as u64;
            if raw.len() > options.limit {
                want.push(OwnedPart::Error(DocumentError::LineTooLong {
                    line,
                    limit: options.limit,
                }));
                continue;
            }
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if !raw.iter().all(u8::is_ascii_whitespace) {
                want.push(OwnedPart::Body(String::from_utf8_lossy(raw).into_owned(), line));
            }
        }
        assert_eq!(parts, want, "json lines: each line a body");
        return;
    }
    // One value, as serde_json reads it: the whole input is one body.
    let Ok(text) = std::str::from_utf8(content) else { return };
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    if values.next().is_some_and(|v| v.is_ok()) && values.next().is_none() {
        let end = values.byte_offset();
        let value = text[..end].trim_ascii_end();
        if value.len() <= options.limit {
            assert_eq!(
                parts,
                [OwnedPart::Body(value.to_owned(), first_line)],
                "one value, one body"
            );
        } else {
            assert_eq!(
                parts.first(),
                Some(&OwnedPart::Error(DocumentError::DocumentTooLong { limit: options.limit })),
                "one value past the limit"
            );
        }
    }
}

/// A top-level array, against serde_json: a valid array within the limit
/// is its elements, one item each, then its end, and nothing else; and an
/// array read with no error, every item of which is valid JSON, is a
/// valid array.
fn check_array_parts(options: &DocumentOptions, input: &[u8], content: &[u8], parts: &[OwnedPart]) {
    let Ok(text) = std::str::from_utf8(content) else { return };
    let items: Vec<&str> = parts
        .iter()
        .filter_map(|p| match p {
            OwnedPart::Item(text, _) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let errors = parts.iter().filter(|p| matches!(p, OwnedPart::Error(_))).count();
    let closed = parts.contains(&OwnedPart::ArrayEnd);
    let whole = serde_json::from_str::<Vec<serde_json::Value>>(text);
    match &whole {
        Ok(elements) if input.len() <= options.limit => {
            let read: Vec<serde_json::Value> = items
                .iter()
                .map(|item| {
                    serde_json::from_str(item).expect("an element of a valid array is valid")
                })
                .collect();
            assert_eq!(&read, elements, "the items are the array's elements");
            assert!(items.iter().all(|i| i.trim_ascii() == *i), "an item with whitespace around");
            assert_eq!(errors, 0, "a valid array read with errors: {parts:?}");
            assert!(closed, "a valid array not closed");
        }
        Ok(_) => {}
        Err(e) => {
            // Leniencies that are no malformed array: form feeds as
            // whitespace; nesting deeper than serde_json's limit.
            let lenient = text.contains('\x0c') || e.to_string().contains("recursion limit");
            let items_valid =
                items.iter().all(|item| serde_json::from_str::<serde_json::Value>(item).is_ok());
            assert!(
                lenient || errors > 0 || !closed || !items_valid,
                "an invalid array ({e}) read without an error: {parts:?}"
            );
        }
    }
}
