//! What `analyze` counts of each stream: sizes, tokens, timings, filters,
//! outcomes; nothing of the text is kept.

use std::convert::Infallible;

use serde::Serialize;
use thinktee_pipeline::{ChoiceMap, Event, FilterSource, Flow, Record, Sink};
use thinktee_transcript::TranscriptRecord;

use super::summary::FilterCounts;
use crate::files::Tally;

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
    pub(crate) fn new(choice: Option<u32>) -> ChoiceStat {
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
    /// The wire format (`chat.completions`, `responses`, `messages`, ...).
    pub(crate) format: &'static str,
    pub(crate) id: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) request_id: Option<String>,
    /// What `--since`, `--until` and `--model` look at.
    pub(crate) started_unix_ms: Option<u64>,
    pub(crate) request_model: Option<String>,
    pub(crate) outcome: &'static str,
    /// Error kinds in order of first sight, with their counts.
    pub(crate) errors: Vec<(&'static str, u64)>,
    pub(crate) prompt_filters: FilterCounts,
    /// Reported by the stream's usage (never estimated), like the next two.
    pub(crate) input_tokens: Option<u64>,
    /// Output tokens, reasoning included.
    pub(crate) output_tokens: Option<u64>,
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

    /// The stream reasoned: a choice had reasoning (text, segments, or
    /// opaque reasoning), or its usage counts reasoning tokens.
    pub(crate) fn reasons(&self) -> bool {
        self.reasoning_tokens.is_some_and(|n| n > 0)
            || self.choices.iter().any(|c| {
                c.reasoning_bytes > 0
                    || c.reasoning_segments > 0
                    || c.reasoning_signed
                    || c.reasoning_redacted
                    || c.reasoning_encrypted
            })
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
            started_unix_ms: r.request.as_ref().and_then(|m| m.started_unix_ms),
            request_model: r.request.as_ref().and_then(|m| m.model.clone()),
            outcome: r.outcome.as_str(),
            input_tokens: tokens.and_then(|t| t.prompt),
            output_tokens: tokens.and_then(|t| t.completion),
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
        c.tool_calls = r.split.tool_calls.len() as u64;
        c.reasoning_bytes = r.split.reasoning.len() as u64;
        c.answer_bytes = r.split.content.len() as u64;
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
pub(crate) struct StatSink {
    current: StreamStat,
    /// The current stream's choices, found by index in constant time (a
    /// search of a list made each event cost as much as the choices before
    /// it); moved into `current.choices` by index when the stream ends.
    choices: ChoiceMap<ChoiceStat>,
    finished: Vec<StreamStat>,
}

impl StatSink {
    fn choice(&mut self, index: u32) -> &mut ChoiceStat {
        self.choices.get_or_insert_with(index, || ChoiceStat::new(Some(index)))
    }
}

impl Sink for StatSink {
    type Error = Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        use thinktee_pipeline::SegmentKind;
        match record.event {
            Event::Text { choice, kind, text, .. } => match kind {
                SegmentKind::Thinking => self.choice(choice).reasoning_bytes += text.len() as u64,
                SegmentKind::Answer => self.choice(choice).answer_bytes += text.len() as u64,
                SegmentKind::Markup | SegmentKind::ToolCall => {}
            },
            Event::Filter { choice: None, filter } => self.current.prompt_filters.add(filter),
            Event::Filter { choice: Some(c), filter } => self.choice(c).filters.add(filter),
            Event::Error(e) => self.current.error(e.kind.as_str()),
            Event::ToolCall { choice, call, .. } => {
                let c = self.choice(choice);
                c.tool_calls = c.tool_calls.max(u64::from(call) + 1);
            }
            Event::ChoiceEnd(end) => {
                let c = self.choice(end.choice);
                c.reasoning_source = end.reasoning_source.as_str();
                c.reasoning_segments = end.reasoning_segments;
                c.reasoning_signed = end.reasoning_signed;
                c.reasoning_redacted = end.reasoning_redacted;
                c.reasoning_encrypted = end.reasoning_encrypted;
                c.finish_reason.clone_from(&end.finish_reason);
                c.unterminated = end.unterminated;
            }
            Event::StreamEnd(end) => {
                let s = &mut self.current;
                s.stream = record.stream;
                s.format = end.format.as_str();
                s.id.clone_from(&end.id);
                s.model.clone_from(&end.model);
                s.outcome = end.outcome.as_str();
                if let Some(u) = &end.usage {
                    s.input_tokens = u.prompt_tokens;
                    s.output_tokens = u.completion_tokens;
                    s.reasoning_tokens = u.reasoning_tokens;
                    s.answer_tokens = match (u.completion_tokens, u.reasoning_tokens) {
                        (Some(c), Some(r)) => Some(c.saturating_sub(r)),
                        _ => None,
                    };
                }
                s.choices.extend(self.choices.drain_sorted().map(|(_, c)| c));
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

// === Tally ===

/// `analyze`'s [`Tally`]: a [`StreamStat`] per stream.
#[derive(Debug)]
pub(crate) enum Stats {}

impl Tally for Stats {
    type Stream = StreamStat;
    type Sink = StatSink;

    fn drain(sink: &mut StatSink, emit: &mut dyn FnMut(StreamStat)) {
        for s in sink.finished.drain(..) {
            emit(s);
        }
    }

    fn transcript(r: TranscriptRecord) -> StreamStat {
        let mut s = StreamStat::from_transcript(&r);
        s.add_transcript_choice(&r);
        s
    }

    fn transcript_choice(s: &mut StreamStat, r: TranscriptRecord) {
        s.add_transcript_choice(&r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_choice_is_counted_on_its_own_in_index_order() {
        use thinktee_pipeline::Pipeline;
        // Sparse indexes first seen in descending order, each sending a
        // number of bytes of its own, twice over.
        let indexes: Vec<u32> = (0..300).rev().map(|i| i * 7 + 3).collect();
        let mut input = String::new();
        for _round in 0..2 {
            for &i in &indexes {
                let text = "x".repeat(i as usize % 5 + 1);
                input.push_str(&format!(
                    "data: {{\"choices\":[{{\"index\":{i},\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
                ));
            }
        }
        input.push_str("data: [DONE]\n\n");
        let mut sink = StatSink::default();
        let mut pipeline = Pipeline::default();
        let Ok(_) = pipeline.feed(input.as_bytes(), &mut sink);
        let Ok(_) = pipeline.finish(&mut sink);
        let [stream] = &sink.finished[..] else { panic!("{} streams", sink.finished.len()) };
        let got: Vec<(Option<u32>, u64)> =
            stream.choices.iter().map(|c| (c.choice, c.answer_bytes)).collect();
        let mut want: Vec<(Option<u32>, u64)> =
            indexes.iter().map(|&i| (Some(i), 2 * (u64::from(i) % 5 + 1))).collect();
        want.sort();
        assert_eq!(got, want);
    }

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
