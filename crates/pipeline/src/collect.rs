//! A sink that assembles per-choice results: what `thinktee split` prints.

use std::collections::BTreeMap;
use std::convert::Infallible;

use serde::Serialize;
use thinktee_chunk::{FilterEvent, Format, Usage};
use thinktee_think::SegmentKind;

use crate::choices::ChoiceMap;
use crate::pipeline::prefix_within;
use crate::record::{ChoiceEnd, ErrorKind, Event, ReasoningSource, Record, StreamEnd, StreamError};
use crate::sink::{Flow, Sink};

/// How many errors of each kind a [`Collector`] keeps per stream; the rest
/// are only counted ([`SplitChoice::errors_omitted`]). A stream of
/// invalid events must not cost memory and output per event forever.
pub const MAX_ERRORS_PER_KIND: usize = 8;

/// The assembled result of one choice of one stream.
///
/// Fields about the stream rather than the choice (`stream`, `format`,
/// `id`, `model`, `usage`, `done`) are on every record of the stream; those that
/// could be large are stream-level, on the first record of its stream
/// only (the lowest choice, or the record with no choice), and empty on
/// the others: `errors`, `errors_omitted`, `untracked_deltas` and the
/// prompt-level verdicts in `filters`. So a stream's records cost output in
/// proportion to the stream, not to the stream times its choices.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SplitChoice {
    /// 0-based stream index within the input.
    pub stream: u64,
    /// The choice index; `None` for a stream that carried no choice (an
    /// error body, an exchange that failed before any response).
    pub choice: Option<u32>,
    /// The stream's wire format (`chat.completions`, `responses`,
    /// `messages`).
    #[serde(default)]
    pub format: Format,
    /// The first non-empty `id` of the stream (at most
    /// [`MAX_META_LEN`](crate::MAX_META_LEN) bytes).
    pub id: Option<String>,
    /// The first non-empty `model` of the stream (at most
    /// [`MAX_META_LEN`](crate::MAX_META_LEN) bytes).
    pub model: Option<String>,
    /// All thinking text, concatenated exactly as sent (in order, from
    /// every reasoning segment, with nothing added between them).
    pub reasoning: String,
    /// All answer text, concatenated exactly as sent.
    pub content: String,
    /// The choice's tool calls, in the order they began.
    #[serde(default)]
    pub tool_calls: Vec<ToolCallRecord>,
    /// Where the reasoning came from (see
    /// [`ChoiceEnd::reasoning_source`]).
    pub reasoning_source: ReasoningSource,
    /// How many reasoning segments it had (see
    /// [`ChoiceEnd::reasoning_segments`]).
    #[serde(default)]
    pub reasoning_segments: u32,
    /// Its reasoning was signed.
    #[serde(default)]
    pub reasoning_signed: bool,
    /// Some of its reasoning was redacted (sent without text).
    #[serde(default)]
    pub reasoning_redacted: bool,
    /// Some of its reasoning was sent encrypted (without text).
    #[serde(default)]
    pub reasoning_encrypted: bool,
    /// The last `finish_reason`.
    pub finish_reason: Option<String>,
    /// Thinking was never closed.
    pub unterminated: bool,
    /// The last usage of the stream.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// This choice's verdicts; on the first record of its stream, the
    /// prompt-level verdicts of the stream first (stream-level).
    #[serde(default)]
    pub filters: Vec<FilterEvent>,
    /// The stream's errors, the first [`MAX_ERRORS_PER_KIND`] of each kind
    /// (stream-level, on the first record of its stream).
    #[serde(default)]
    pub errors: Vec<StreamError>,
    /// How many more errors of each kind the stream had than `errors`
    /// holds (stream-level, on the first record of its stream); left out
    /// when none were.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors_omitted: BTreeMap<ErrorKind, u64>,
    /// How many `choices[]` entries belonged to choices past the choice
    /// limit and were not read ([`StreamEnd::untracked_deltas`];
    /// stream-level, on the first record of its stream); left out when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub untracked_deltas: u64,
    /// Bytes of this choice's text (reasoning, answer and tool-call
    /// arguments) that were not kept because the stream had reached the
    /// collector's text limit ([`Collector::with_text_limit`]); left out
    /// when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub text_omitted: u64,
    /// The stream's terminal event was seen (see [`StreamEnd::done`]).
    pub done: bool,
}

/// One tool call of a choice, assembled from its pieces.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct ToolCallRecord {
    /// The call's id (the first piece that had one).
    pub id: Option<String>,
    /// The function's name (the first piece that had one).
    pub name: Option<String>,
    /// Its arguments: every piece's, concatenated exactly as sent.
    pub arguments: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Default)]
struct Partial {
    reasoning: String,
    content: String,
    tool_calls: Vec<ToolCallRecord>,
    filters: Vec<FilterEvent>,
    end: Option<ChoiceEnd>,
    text_omitted: u64,
}

/// What a stream's first record carries for the whole stream.
#[derive(Debug, Default)]
struct StreamLevel {
    prompt_filters: Vec<FilterEvent>,
    errors: Vec<StreamError>,
    errors_omitted: BTreeMap<ErrorKind, u64>,
    /// Bytes of text kept so far, all choices together.
    text_kept: usize,
}

/// Collects [`SplitChoice`]s; take them with [`Collector::drain`] after
/// each feed (a stream's records appear when it ends).
///
/// It copies all text, up to a limit per stream if one is set
/// ([`Collector::with_text_limit`]): use it for tools, tests and records
/// that must hold the text ([`Collector::without_text`] copies none).
/// Besides the text it keeps at most [`MAX_ERRORS_PER_KIND`] errors of each
/// kind per stream, and stream-level fields once per stream (see
/// [`SplitChoice`]).
#[derive(Debug)]
pub struct Collector {
    choices: ChoiceMap<Partial>,
    stream: StreamLevel,
    finished: Vec<SplitChoice>,
    /// Text is not kept ([`Collector::without_text`]).
    no_text: bool,
    /// Bytes of text kept per stream ([`Collector::with_text_limit`]).
    text_limit: usize,
}

impl Default for Collector {
    fn default() -> Collector {
        Collector {
            choices: ChoiceMap::default(),
            stream: StreamLevel::default(),
            finished: Vec::new(),
            no_text: false,
            text_limit: usize::MAX,
        }
    }
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Collector {
        Collector::default()
    }

    /// Keeps at most `bytes` of text per stream, all its choices' reasoning,
    /// answer and tool-call arguments together, in arrival order; the text
    /// past that is cut at a character boundary and only counted, per
    /// choice, in [`SplitChoice::text_omitted`]. For a recorder that must
    /// not hold a whole response of any size (the proxy's transcripts).
    pub fn with_text_limit(mut self, bytes: usize) -> Collector {
        self.text_limit = bytes;
        self
    }

    /// An empty collector that keeps no text: its records' `reasoning`,
    /// `content` and tool-call `arguments` stay empty, the rest is as
    /// [`Collector::new`]'s. For a sink that passes the text on as it
    /// arrives and wants only how each choice ended.
    pub fn without_text() -> Collector {
        Collector { no_text: true, ..Collector::default() }
    }

    /// The records of every stream that ended since the last drain.
    pub fn drain(&mut self) -> std::vec::Drain<'_, SplitChoice> {
        self.finished.drain(..)
    }

    /// Keeps `error` unless its kind already has [`MAX_ERRORS_PER_KIND`].
    fn error(&mut self, error: &StreamError) {
        let level = &mut self.stream;
        // At most MAX_ERRORS_PER_KIND times the number of kinds: a bounded scan.
        let same_kind = level.errors.iter().filter(|e| e.kind == error.kind).count();
        if same_kind < MAX_ERRORS_PER_KIND {
            level.errors.push(error.clone());
        } else {
            *level.errors_omitted.entry(error.kind).or_default() += 1;
        }
    }

    /// The stream ended: one record per choice, by index (one with no
    /// choice when it had none), the stream-level fields on the first.
    fn end(&mut self, stream: u64, end: &StreamEnd) {
        let mut level = Some(std::mem::take(&mut self.stream));
        let mut choices: Vec<(Option<u32>, Partial)> =
            self.choices.drain_sorted().map(|(i, p)| (Some(i), p)).collect();
        if choices.is_empty() {
            // A stream without choices still leaves one record.
            choices.push((None, Partial::default()));
        }
        for (choice, p) in choices {
            let e = p.end.unwrap_or(ChoiceEnd {
                choice: choice.unwrap_or(0),
                reasoning_source: ReasoningSource::None,
                reasoning_segments: 0,
                reasoning_signed: false,
                reasoning_redacted: false,
                reasoning_encrypted: false,
                finish_reason: None,
                unterminated: false,
                hold_limit_hit: false,
            });
            let (filters, errors, errors_omitted, untracked_deltas) = match level.take() {
                Some(mut level) => {
                    level.prompt_filters.extend(p.filters);
                    (level.prompt_filters, level.errors, level.errors_omitted, end.untracked_deltas)
                }
                None => (p.filters, Vec::new(), BTreeMap::new(), 0),
            };
            self.finished.push(SplitChoice {
                stream,
                choice,
                format: end.format,
                id: end.id.clone(),
                model: end.model.clone(),
                reasoning: p.reasoning,
                content: p.content,
                tool_calls: p.tool_calls,
                reasoning_source: e.reasoning_source,
                reasoning_segments: e.reasoning_segments,
                reasoning_signed: e.reasoning_signed,
                reasoning_redacted: e.reasoning_redacted,
                reasoning_encrypted: e.reasoning_encrypted,
                finish_reason: e.finish_reason,
                unterminated: e.unterminated,
                usage: end.usage,
                filters,
                errors,
                errors_omitted,
                untracked_deltas,
                text_omitted: p.text_omitted,
                done: end.done,
            });
        }
    }
}

impl Sink for Collector {
    type Error = Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        match record.event {
            Event::Text { choice, kind, text, .. } => {
                if self.no_text {
                    return Ok(Flow::Continue);
                }
                let p = self.choices.get_or_insert_with(choice, Partial::default);
                let into = match kind {
                    SegmentKind::Thinking => &mut p.reasoning,
                    SegmentKind::Answer => &mut p.content,
                    // Tool-call markup reaches sinks as markup and calls.
                    SegmentKind::Markup | SegmentKind::ToolCall => return Ok(Flow::Continue),
                };
                let budget = self.text_limit - self.stream.text_kept;
                self.stream.text_kept += keep(into, text, budget, &mut p.text_omitted);
            }
            Event::ToolCall { choice, call, id, name, arguments } => {
                let p = self.choices.get_or_insert_with(choice, Partial::default);
                // The pipeline numbers calls in the order they began: a new
                // one is the next.
                let at = match usize::try_from(call).ok().filter(|&c| c < p.tool_calls.len()) {
                    Some(at) => at,
                    None => {
                        p.tool_calls.push(ToolCallRecord::default());
                        p.tool_calls.len() - 1
                    }
                };
                let c = &mut p.tool_calls[at];
                if c.id.is_none() {
                    c.id = id.map(str::to_owned);
                }
                if c.name.is_none() {
                    c.name = name.map(str::to_owned);
                }
                if !self.no_text {
                    let budget = self.text_limit - self.stream.text_kept;
                    self.stream.text_kept +=
                        keep(&mut c.arguments, arguments, budget, &mut p.text_omitted);
                }
            }
            Event::Filter { choice: None, filter } => {
                self.stream.prompt_filters.push(filter.clone());
            }
            Event::Filter { choice: Some(c), filter } => {
                self.choices.get_or_insert_with(c, Partial::default).filters.push(filter.clone());
            }
            Event::Error(e) => self.error(e),
            Event::ChoiceEnd(end) => {
                self.choices.get_or_insert_with(end.choice, Partial::default).end =
                    Some(end.clone());
            }
            Event::StreamEnd(end) => self.end(record.stream, end),
            Event::Input { .. }
            | Event::StreamStart
            | Event::Comment(_)
            | Event::Chunk(_)
            | Event::ThinkingEnd { .. }
            | Event::InputEnd(_)
            | Event::Finish { .. }
            | Event::Usage(_) => {}
        }
        Ok(Flow::Continue)
    }
}

/// Appends to `into` what of `text` fits in `budget` bytes, cut at a
/// character boundary, and adds the bytes left out to `omitted`. Returns
/// the bytes appended.
fn keep(into: &mut String, text: &str, budget: usize, omitted: &mut u64) -> usize {
    let kept = prefix_within(text, budget);
    into.push_str(kept);
    *omitted += (text.len() - kept.len()) as u64;
    kept.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pipeline;

    fn collect(input: &[u8]) -> Vec<SplitChoice> {
        let mut collector = Collector::new();
        let Ok(_) = Pipeline::default().run_document(input, &mut collector);
        collector.drain().collect()
    }

    #[test]
    fn a_stream_without_choices_is_one_record_with_no_choice() {
        let records = collect(b"data: {\"error\":{\"message\":\"boom\",\"code\":\"x\"}}\n\n");
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].choice, records[0].errors.len()), (None, 1));
        let json = serde_json::to_value(&records[0]).unwrap();
        assert_eq!(json["choice"], serde_json::Value::Null);
    }

    #[test]
    fn choices_keep_their_index() {
        let records = collect(
            b"data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"b\"}},{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
        );
        let got: Vec<_> = records.iter().map(|r| (r.choice, r.content.as_str())).collect();
        assert_eq!(got, [(Some(0), "a"), (Some(1), "b")]);
    }

    #[test]
    fn a_text_limit_keeps_that_many_bytes_per_stream_and_counts_the_rest() {
        // 9 bytes per stream: "héllo" (6) whole, of "wörld" (6) the 3 bytes
        // "wö", then nothing: not "abc", nor a tool call's arguments. The
        // next stream starts afresh.
        let input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"héllo\"}}]}\n\n\
            data: {\"choices\":[{\"index\":1,\"delta\":{\"reasoning_content\":\"wörld\"}}]}\n\n\
            data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"abc\",\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n\
            data: [DONE]\n\n\
            data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"xy\"}}]}\n\n\
            data: [DONE]\n\n";
        let mut collector = Collector::new().with_text_limit(9);
        let Ok(_) = Pipeline::default().run_document(input.as_bytes(), &mut collector);
        let records: Vec<SplitChoice> = collector.drain().collect();
        let got: Vec<_> = records
            .iter()
            .map(|r| {
                let args = r.tool_calls.iter().map(|c| c.arguments.as_str()).collect::<String>();
                (r.stream, r.choice, r.reasoning.as_str(), r.content.as_str(), args, r.text_omitted)
            })
            .collect();
        assert_eq!(
            got,
            [
                (0, Some(0), "héllo", "", String::new(), 3 + 2),
                (0, Some(1), "wö", "", String::new(), 3),
                (1, Some(0), "", "xy", String::new(), 0),
            ]
        );
        // The call itself is kept, its name and id are not text.
        assert_eq!(records[0].tool_calls[0].name.as_deref(), Some("f"));
        let json = serde_json::to_value(&records[0]).unwrap();
        assert_eq!(json["text_omitted"], 5);
        assert!(serde_json::to_value(&records[2]).unwrap().get("text_omitted").is_none());
    }

    #[test]
    fn without_text_the_records_are_the_same_but_for_their_text() {
        let input = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\",\"content\":\"a\",\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n";
        let mut collector = Collector::without_text();
        let Ok(_) = Pipeline::default().run_document(input, &mut collector);
        let records: Vec<SplitChoice> = collector.drain().collect();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!((r.reasoning.as_str(), r.content.as_str()), ("", ""));
        assert_eq!(
            r.tool_calls,
            [ToolCallRecord {
                id: Some("c1".into()),
                name: Some("f".into()),
                arguments: "".into()
            }]
        );
        assert_eq!(
            (r.reasoning_source, r.finish_reason.as_deref()),
            (ReasoningSource::Field, Some("tool_calls"))
        );
        assert!(r.done);
    }
}
