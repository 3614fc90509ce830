//! Rewriting inline `<think>` text into a reasoning delta field.
//!
//! A [`Normalizer`] reads an SSE body as it arrives and re-emits each event
//! with SSE framing `data: ...\n\n`. In a chunk whose choice carries inline
//! reasoning in `delta.content`, the thinking text moves to
//! `delta.reasoning_content` (or `delta.reasoning`), the answer stays in
//! `content`, and the tags are dropped; every other field is copied byte for
//! byte, in order. One splitter runs per choice index. Text the splitter
//! holds (a tag prefix cut at the end of a chunk, e.g. `</th`) travels with
//! that choice's next chunk, or with its `finish_reason` chunk, or, if the
//! stream ends first, in one extra chunk just before `[DONE]`.
//!
//! Choices that already carry a reasoning field are passed through, and so
//! are choices whose `index` is not an integer in `0..=u32::MAX` (the
//! recorder refuses such a chunk) and choices past the first
//! [`MAX_CHOICES`] of a stream (a splitter each would cost memory without
//! bound). Events
//! that are not chunks (errors, invalid JSON, `[DONE]`) and comments are
//! re-emitted as they came. The splitter's start mode should be `explicit`
//! or `implicit`: `auto` holds undecided text (up to the hold bound) until a
//! tag or the end decides it, which would stall the client.
//!
//! An event is held (as it came, next to its decoded form) until the blank
//! line that ends it, up to [`MAX_NORMALIZE_EVENT`] bytes. An event that
//! grows past that cannot be rewritten, and is not dropped either: the
//! held text of every choice goes out first (as for `[DONE]`), then the
//! event's bytes as they came and the rest of the body untouched
//! ([`Normalizer::is_passing_through`] turns true).

use std::fmt::Write as _;

use thinktee_pipeline::{ChoiceMap, MAX_CHOICES, ReasoningField};
use thinktee_sse::{Decoder, Frame};
use thinktee_think::{Config as SplitterConfig, SegmentKind, Splitter};

use crate::json::{Field, RawObject, raw_array, write_array};

/// Default longest event normalized (1 MiB; chunks are a few hundred
/// bytes): an event past it, and the rest of its body, pass through
/// unnormalized. An event is held twice while it arrives (as it came, and
/// decoded), so this bounds a stream's normalizer to about twice it.
pub const MAX_NORMALIZE_EVENT: usize = 1 << 20;

/// The delta field normalized thinking is written into: one of the
/// [`ReasoningField`]s that carry plain text (`reasoning_details` is an
/// array of typed items, not something to write text into).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasoningTarget {
    /// `reasoning_content` (DeepSeek, Azure AI inference, older vLLM).
    ReasoningContent,
    /// `reasoning` (newer vLLM, OpenRouter).
    Reasoning,
}

impl ReasoningTarget {
    /// The reasoning field this is.
    pub fn field(self) -> ReasoningField {
        match self {
            ReasoningTarget::ReasoningContent => ReasoningField::ReasoningContent,
            ReasoningTarget::Reasoning => ReasoningField::Reasoning,
        }
    }

    /// The JSON field name.
    pub fn as_str(self) -> &'static str {
        self.field().as_str()
    }
}

/// Whether a delta or message carries reasoning in a field of its own (a
/// non-null value in any [`ReasoningField`]): then its content is answer
/// already.
fn has_reasoning_field(object: &RawObject<'_>) -> bool {
    ReasoningField::ALL.iter().any(|f| object.get(f.as_str()).is_some_and(|v| !v.is_null()))
}

/// Rewrites an SSE body so inline thinking travels in a reasoning field.
///
/// Feed each network read with [`Normalizer::feed`]; it appends whatever
/// complete events produced to `out` (nothing while an event is partial).
/// At a clean end call [`Normalizer::finish`]; after an upstream error, do
/// not (the client must see the same early end).
#[derive(Debug)]
pub struct Normalizer {
    sse: Decoder,
    state: State,
    /// The bytes since the last blank line, as they came: what goes out
    /// unchanged if the event cannot be rewritten.
    raw: Vec<u8>,
    /// The longest `raw` may grow.
    max_event: usize,
    line: LineEnd,
    /// An event was too long: everything goes out as it comes.
    passing_through: bool,
}

/// Where the input is, line-wise: enough to see a blank line.
#[derive(Debug, Clone, Copy, Default)]
struct LineEnd {
    /// The current line has bytes before its line end.
    content: bool,
    /// The last byte was a CR: an LF next completes that line end.
    after_cr: bool,
}

#[derive(Debug)]
struct State {
    field: ReasoningTarget,
    config: SplitterConfig,
    choices: ChoiceMap<ChoiceSplit>,
    /// The last-event-ID sent to the client.
    last_id: Option<String>,
    /// `id`, `object`, `created`, `model` of the last chunk (raw JSON), for
    /// the flush chunk.
    template: Vec<(&'static str, String)>,
}

#[derive(Debug)]
struct ChoiceSplit {
    splitter: Splitter,
    /// The choice carries a reasoning field: pass it through.
    field_mode: bool,
}

/// What one choice's text became (its tags are dropped).
#[derive(Debug, Default)]
struct Split {
    thinking: String,
    answer: String,
}

// === impl Normalizer ===

impl Normalizer {
    /// A normalizer writing thinking into `field`, splitting with `config`,
    /// normalizing events up to [`MAX_NORMALIZE_EVENT`] bytes.
    pub fn new(field: ReasoningTarget, config: SplitterConfig) -> Normalizer {
        Normalizer::with_max_event(field, config, MAX_NORMALIZE_EVENT)
    }

    /// Like [`Normalizer::new`], normalizing events up to `max_event`
    /// bytes (with their field names and line ends).
    pub fn with_max_event(
        field: ReasoningTarget,
        config: SplitterConfig,
        max_event: usize,
    ) -> Normalizer {
        // The decoder's own limits lie past ours: it never drops an event
        // before this normalizer has passed it through.
        let limit = max_event.saturating_add(1);
        Normalizer {
            sse: Decoder::builder().max_line_len(limit).max_event_len(limit).build(),
            raw: Vec::new(),
            max_event,
            line: LineEnd::default(),
            passing_through: false,
            state: State {
                field,
                config,
                choices: ChoiceMap::new(),
                last_id: None,
                template: Vec::new(),
            },
        }
    }

    /// Feeds the next read; appends the re-framed complete events to `out`
    /// (or, once passing through, the read as it came).
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) {
        while !self.passing_through && !bytes.is_empty() {
            // One line (or what there is of it) at a time, so that a blank
            // line, where an event ends, is seen.
            let end = memchr::memchr2(b'\n', b'\r', bytes).map_or(bytes.len(), |i| i + 1);
            let (piece, rest) = bytes.split_at(end);
            if self.raw.len() + piece.len() > self.max_event {
                self.pass_through(out);
                break;
            }
            bytes = rest;
            self.raw.extend_from_slice(piece);
            let state = &mut self.state;
            self.sse.feed(piece, |frame| state.on_frame(frame, out));
            if self.line.blank_line_ends(piece) {
                // The event (if any) went out rewritten.
                self.raw.clear();
            }
        }
        if self.passing_through {
            out.extend_from_slice(bytes);
        }
    }

    /// The body ended cleanly: flushes held text (as one extra chunk) and a
    /// trailing unfinished event, unchanged.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.passing_through {
            return;
        }
        let state = &mut self.state;
        self.sse.finish(|frame| state.on_frame(frame, out));
        state.flush_all(out);
    }

    /// Whether an event was too long to rewrite: it and everything after
    /// it pass through as they came.
    pub fn is_passing_through(&self) -> bool {
        self.passing_through
    }

    /// The event being read is too long: the text the splitters hold goes
    /// out, then the event as it came; from now on, the input as it comes.
    fn pass_through(&mut self, out: &mut Vec<u8>) {
        self.state.flush_all(out);
        out.extend_from_slice(&self.raw);
        self.raw = Vec::new();
        self.sse = Decoder::new();
        self.passing_through = true;
    }
}

// === impl LineEnd ===

impl LineEnd {
    /// Takes the next piece of input (ending at the first line end in it,
    /// if any); true if it ended a blank line, where an SSE event ends.
    fn blank_line_ends(&mut self, piece: &[u8]) -> bool {
        if self.after_cr && piece == b"\n" {
            // The LF of a CRLF whose CR ended the line.
            self.after_cr = false;
            return false;
        }
        let (content, end) = match piece.split_last() {
            Some((&b, content)) if b == b'\n' || b == b'\r' => (content, Some(b)),
            _ => (piece, None),
        };
        self.content |= !content.is_empty();
        self.after_cr = end == Some(b'\r');
        let Some(_) = end else { return false };
        let blank = !self.content;
        self.content = false;
        blank
    }
}

// === impl State ===

impl State {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Vec<u8>) {
        match frame {
            Frame::Event(event) => {
                if event.id != self.last_id.as_deref() {
                    if let Some(id) = event.id {
                        push_field(out, "id", id);
                    }
                    self.last_id = event.id.map(str::to_owned);
                }
                if event.event != "message" {
                    push_field(out, "event", event.event);
                }
                if let Some(retry) = event.retry {
                    push_field(out, "retry", &retry.to_string());
                }
                if event.data.trim() == "[DONE]" {
                    self.flush_all(out);
                    self.choices.clear();
                    push_data(out, event.data);
                    return;
                }
                match self.rewrite(event.data) {
                    Some(data) => push_data(out, &data),
                    None => push_data(out, event.data),
                }
            }
            Frame::Comment(text) => {
                out.push(b':');
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"\n\n");
            }
            // The decoder's limits lie past the normalizer's own: the event
            // passed through before the decoder could drop it.
            Frame::Skipped(_) => debug_assert!(false, "an event passed the decoder's limits"),
            // The body ended inside an event: pass the fragment on as it was.
            Frame::Truncated(raw) => out.extend_from_slice(raw.as_bytes()),
        }
    }

    /// The rewritten chunk, or `None` when nothing in it changes.
    fn rewrite(&mut self, data: &str) -> Option<String> {
        let mut chunk = RawObject::parse(data)?;
        self.remember_template(&chunk);
        let choices = raw_array(chunk.get("choices")?.text())?;
        let mut changed = false;
        let mut rewritten = Vec::with_capacity(choices.len());
        for (position, raw) in choices.iter().enumerate() {
            let text = raw.get();
            match RawObject::parse(text) {
                Some(mut choice) => {
                    if self.rewrite_choice(&mut choice, position) {
                        changed = true;
                        rewritten.push(choice.to_json());
                    } else {
                        rewritten.push(text.to_owned());
                    }
                }
                None => rewritten.push(text.to_owned()),
            }
        }
        if !changed {
            return None;
        }
        chunk.set("choices", Field::Owned(write_array(&rewritten)));
        Some(chunk.to_json())
    }

    /// Rewrites one choice in place; true if it changed.
    fn rewrite_choice(&mut self, choice: &mut RawObject<'_>, position: usize) -> bool {
        let index = match choice.get("index") {
            None => u32::try_from(position).unwrap_or(u32::MAX),
            Some(index) => match index.text().parse::<u32>() {
                Ok(index) => index,
                Err(_) => return false,
            },
        };
        if self.choices.get(index).is_none() && self.choices.len() >= MAX_CHOICES {
            return false;
        }
        let finished = choice.get("finish_reason").is_some_and(|f| !f.is_null());
        let Some(mut delta) = choice.get("delta").and_then(|f| RawObject::parse(f.text())) else {
            // No delta to carry text: a finish still flushes held text.
            if finished && self.choice(index).splitter.pending_len() > 0 {
                let split = self.finish_choice(index);
                let mut delta = RawObject::parse("{}").expect("empty object");
                self.put(&mut delta, &split);
                choice.set_after("index", "delta", Field::Owned(delta.to_json()));
                return true;
            }
            return false;
        };
        let field_mode = has_reasoning_field(&delta);
        let state = self.choice(index);
        if field_mode || state.field_mode {
            state.field_mode = true;
            return false;
        }
        let content = delta.get("content").and_then(Field::as_string).map(|c| c.into_owned());
        let mut split = Split::default();
        if let Some(content) = &content {
            state.splitter.feed(content, |seg| split.push(seg.kind, seg.text));
        }
        if finished {
            let rest = self.finish_choice(index);
            split.thinking.push_str(&rest.thinking);
            split.answer.push_str(&rest.answer);
        }
        let unchanged = split.thinking.is_empty()
            && match &content {
                Some(c) => split.answer == *c,
                None => split.answer.is_empty(),
            };
        if unchanged {
            return false;
        }
        self.put(&mut delta, &split);
        choice.set("delta", Field::Owned(delta.to_json()));
        true
    }

    /// Writes a split into a delta: answer in `content`, thinking (if any)
    /// in the reasoning field right after it.
    fn put(&self, delta: &mut RawObject<'_>, split: &Split) {
        delta.set("content", Field::string(&split.answer));
        if !split.thinking.is_empty() {
            delta.set_after("content", self.field.as_str(), Field::string(&split.thinking));
        }
    }

    fn choice(&mut self, index: u32) -> &mut ChoiceSplit {
        let config = &self.config;
        self.choices.get_or_insert_with(index, || ChoiceSplit {
            splitter: Splitter::with_config(config.clone()),
            field_mode: false,
        })
    }

    /// Ends a choice's splitter and returns the text it still held.
    fn finish_choice(&mut self, index: u32) -> Split {
        let state = self.choice(index);
        let mut split = Split::default();
        state.splitter.finish(|seg| split.push(seg.kind, seg.text));
        split
    }

    /// At `[DONE]` or the end: one chunk carrying every choice's held text.
    fn flush_all(&mut self, out: &mut Vec<u8>) {
        let pending: Vec<u32> = self
            .choices
            .iter()
            .filter(|(_, c)| c.splitter.pending_len() > 0 && !c.field_mode)
            .map(|(index, _)| index)
            .collect();
        let mut choices = Vec::new();
        for index in pending {
            let split = self.finish_choice(index);
            if split.thinking.is_empty() && split.answer.is_empty() {
                continue;
            }
            let mut delta = RawObject::parse("{}").expect("empty object");
            self.put(&mut delta, &split);
            choices.push(format!(
                "{{\"index\":{index},\"delta\":{},\"finish_reason\":null}}",
                delta.to_json()
            ));
        }
        if choices.is_empty() {
            return;
        }
        let mut chunk = String::from("{");
        for (key, raw) in &self.template {
            let _ = write!(chunk, "\"{key}\":{raw},");
        }
        chunk.push_str("\"choices\":");
        chunk.push_str(&write_array(&choices));
        chunk.push('}');
        push_data(out, &chunk);
    }

    fn remember_template(&mut self, chunk: &RawObject<'_>) {
        for key in ["id", "object", "created", "model"] {
            if let Some(value) = chunk.get(key) {
                let text = value.text();
                // Azure annotation chunks carry empty ids; keep a real one.
                if text == "\"\"" || text == "0" {
                    continue;
                }
                match self.template.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => text.clone_into(v),
                    None => self.template.push((key, text.to_owned())),
                }
            }
        }
    }
}

impl Split {
    fn push(&mut self, kind: SegmentKind, text: &str) {
        match kind {
            SegmentKind::Thinking => self.thinking.push_str(text),
            // Tool-call markup stays in the content, for the client to read.
            SegmentKind::Answer | SegmentKind::ToolCall => self.answer.push_str(text),
            SegmentKind::Markup => {}
        }
    }
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// `data: <line>\n` for each line, then the blank line.
fn push_data(out: &mut Vec<u8>, data: &str) {
    for line in data.split('\n') {
        push_field(out, "data", line);
    }
    out.push(b'\n');
}

/// Normalizes a whole non-streaming `chat.completion` body: each choice's
/// `message.content` with inline tags is split into `content` and the
/// reasoning field. `None` when nothing changes (or it is not such a body).
pub fn normalize_body(
    body: &str,
    field: ReasoningTarget,
    config: &SplitterConfig,
) -> Option<String> {
    let mut completion = RawObject::parse(body)?;
    let choices = raw_array(completion.get("choices")?.text())?;
    let mut changed = false;
    let mut rewritten = Vec::with_capacity(choices.len());
    for raw in choices {
        let text = raw.get();
        let new = RawObject::parse(text).and_then(|mut choice| {
            let mut message = RawObject::parse(choice.get("message")?.text())?;
            if has_reasoning_field(&message) {
                return None;
            }
            let content = message.get("content")?.as_string()?.into_owned();
            let (segments, _) = thinktee_think::split_all(config, &content);
            let mut split = Split::default();
            for (kind, text) in &segments {
                split.push(*kind, text);
            }
            if split.thinking.is_empty() && split.answer == content {
                return None;
            }
            message.set("content", Field::string(&split.answer));
            if !split.thinking.is_empty() {
                message.set_after("content", field.as_str(), Field::string(&split.thinking));
            }
            choice.set("message", Field::Owned(message.to_json()));
            Some(choice.to_json())
        });
        match new {
            Some(new) => {
                changed = true;
                rewritten.push(new);
            }
            None => rewritten.push(text.to_owned()),
        }
    }
    if !changed {
        return None;
    }
    completion.set("choices", Field::Owned(write_array(&rewritten)));
    Some(completion.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use thinktee_think::{Builder, StartMode};

    fn explicit() -> SplitterConfig {
        Builder::new().start(StartMode::Explicit).config().unwrap()
    }

    fn chunk(content: &str, finish: Option<&str>) -> String {
        let finish = finish.map_or("null".to_owned(), |f| format!("\"{f}\""));
        format!(
            "data: {{\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"finish_reason\":{finish}}}]}}\n\n",
            serde_json::to_string(content).unwrap()
        )
    }

    fn run(input: &[u8], pieces: usize) -> String {
        let mut n = Normalizer::new(ReasoningTarget::ReasoningContent, explicit());
        let mut out = Vec::new();
        let step = input.len().div_ceil(pieces.max(1)).max(1);
        for piece in input.chunks(step) {
            n.feed(piece, &mut out);
        }
        n.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// Concatenated (reasoning, content) of choice 0 of a normalized body.
    fn texts(body: &str) -> (String, String) {
        let (mut reasoning, mut content) = (String::new(), String::new());
        for frame in thinktee_sse::parse_all(body.as_bytes()) {
            let thinktee_sse::OwnedFrame::Event(e) = frame else { continue };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&e.data) else { continue };
            let delta = &v["choices"][0]["delta"];
            reasoning.push_str(delta["reasoning_content"].as_str().unwrap_or(""));
            content.push_str(delta["content"].as_str().unwrap_or(""));
        }
        (reasoning, content)
    }

    #[test]
    fn hostile_choices_past_the_limit_or_with_a_bad_index_pass_through() {
        let event = |index: &str| {
            format!(
                "data: {{\"choices\":[{{\"index\":{index},\"delta\":{{\"content\":\"<think>t</think>a\"}}}}]}}\n\n"
            )
        };
        // Choices whose index is not a u32 are passed on as they came.
        for index in ["\"1\"", "-1", "1.5", "null"] {
            let input = event(index);
            assert_eq!(run(input.as_bytes(), 1), input, "{index}");
        }
        // The last tracked choice is rewritten, the next one is not.
        let mut input: String = (0..MAX_CHOICES).map(|i| event(&i.to_string())).collect();
        let untouched = event(&MAX_CHOICES.to_string());
        input.push_str(&untouched);
        let out = run(input.as_bytes(), 1);
        assert!(out.ends_with(&untouched), "{}", &out[out.len() - 300..]);
        let last_tracked = event(&(MAX_CHOICES - 1).to_string());
        assert!(!out.contains(&last_tracked), "the last tracked choice is rewritten");
        assert!(out.contains("\"reasoning_content\":\"t\""));
    }

    #[test]
    fn splits_inline_thinking_across_chunks_and_tags() {
        let input = [
            chunk("<think>", None),
            chunk("Hmm, 9.11 vs 9.8.</th", None),
            chunk("ink>\n\n9.8 is larger.", None),
            chunk("", Some("stop")),
            "data: [DONE]\n\n".to_owned(),
        ]
        .concat();
        for pieces in [1, 2, 7, input.len()] {
            let out = run(input.as_bytes(), pieces);
            assert_eq!(
                texts(&out),
                ("Hmm, 9.11 vs 9.8.".to_owned(), "\n\n9.8 is larger.".to_owned()),
                "{pieces} pieces"
            );
            assert!(out.ends_with("data: [DONE]\n\n"));
        }
    }

    #[test]
    fn other_fields_are_copied_in_order() {
        let input = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"<think>a</think>b\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":{\"total_tokens\":1.0e1}}\n\n";
        let out = run(input.as_bytes(), 1);
        assert_eq!(
            out,
            "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"b\",\"reasoning_content\":\"a\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":{\"total_tokens\":1.0e1}}\n\n"
        );
    }

    #[test]
    fn untouched_events_are_reframed_verbatim() {
        let input = ": keep-alive\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"plain\"}}]}\r\n\r\ndata: not json\r\n\r\ndata: [DONE]\r\n\r\n";
        let out = run(input.as_bytes(), 3);
        assert_eq!(
            out,
            ": keep-alive\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"plain\"}}]}\n\ndata: not json\n\ndata: [DONE]\n\n"
        );
    }

    #[test]
    fn held_tag_prefix_is_flushed_before_done() {
        let input =
            [chunk("<think>a", None), chunk("b</th", None), "data: [DONE]\n\n".into()].concat();
        let out = run(input.as_bytes(), 1);
        // Thinking never closed: the held `</th` is thinking text.
        assert_eq!(texts(&out), ("ab</th".to_owned(), String::new()));
        assert!(out.ends_with("data: [DONE]\n\n"));
    }

    #[test]
    fn field_mode_choices_pass_through() {
        let input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>x\",\"reasoning_content\":\"r\"}}]}\n\n";
        assert_eq!(run(input.as_bytes(), 1), input);
    }

    #[test]
    fn truncated_tail_is_passed_on() {
        let input = [chunk("<think>a</think>b", None), "data: {\"id\":".into()].concat();
        let out = run(input.as_bytes(), 2);
        assert!(out.ends_with("\n\ndata: {\"id\":"), "{out}");
    }

    #[test]
    fn regression_14_an_event_over_the_limit_passes_through_with_the_rest() {
        // Past even the SSE decoder's default limit, which dropped it.
        let long = "x".repeat(thinktee_sse::MAX_EVENT_LEN);
        let input = [
            chunk("<think>a</th", None),
            chunk(&format!("ink>{long}"), None),
            chunk("<think>b</think>c", Some("stop")),
            "data: [DONE]\n\n".to_owned(),
        ]
        .concat();
        let first = chunk("<think>a</th", None).len();
        for pieces in [1, 3, 1000] {
            let mut n = Normalizer::new(ReasoningTarget::ReasoningContent, explicit());
            let mut out = Vec::new();
            let step = input.len().div_ceil(pieces);
            for piece in input.as_bytes().chunks(step) {
                n.feed(piece, &mut out);
            }
            n.finish(&mut out);
            assert!(n.is_passing_through(), "{pieces} pieces");
            let out = String::from_utf8(out).unwrap();
            // The first event rewritten, the text it held flushed, then
            // the rest of the body as it came.
            let rest = &input[first..];
            assert!(out.ends_with(rest), "{pieces} pieces");
            let head = &out[..out.len() - rest.len()];
            assert_eq!(texts(head), ("a</th".to_owned(), String::new()), "{pieces} pieces");
        }
    }

    #[test]
    fn an_event_is_held_only_up_to_the_limit_and_blank_lines_reset_it() {
        // Events under the limit, framed every way, are all normalized.
        for framing in ["\n", "\r\n", "\r"] {
            let event = |text: &str| chunk(text, None).replace("\n\n", &framing.repeat(2));
            let input = [event("<think>a</think>b"), event("c"), event("d")].concat();
            let limit = event("<think>a</think>b").len();
            for step in 1..=input.len() {
                let mut n = Normalizer::with_max_event(
                    ReasoningTarget::ReasoningContent,
                    explicit(),
                    limit,
                );
                let mut out = Vec::new();
                for piece in input.as_bytes().chunks(step) {
                    n.feed(piece, &mut out);
                }
                n.finish(&mut out);
                assert!(!n.is_passing_through(), "{framing:?} step {step}");
                let out = String::from_utf8(out).unwrap();
                assert_eq!(texts(&out), ("a".to_owned(), "bcd".to_owned()), "{framing:?} {step}");
            }
        }
    }

    #[test]
    fn non_streaming_body() {
        let body = r#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"<think>t</think>answer"},"finish_reason":"stop"}]}"#;
        let out = normalize_body(body, ReasoningTarget::Reasoning, &explicit()).unwrap();
        assert_eq!(
            out,
            r#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"answer","reasoning":"t"},"finish_reason":"stop"}]}"#
        );
        assert!(
            normalize_body(r#"{"choices":[]}"#, ReasoningTarget::Reasoning, &explicit()).is_none()
        );
    }
}
