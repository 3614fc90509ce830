//! A sink that assembles per-choice results: what `thinktee split` prints.

use std::collections::BTreeMap;
use std::convert::Infallible;

use serde::Serialize;
use thinktee_chunk::{FilterEvent, Usage};
use thinktee_think::SegmentKind;

use crate::record::{Event, ReasoningSource, Record, StreamError};
use crate::sink::{Flow, Sink};

/// The assembled result of one choice of one stream.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ChoiceRecord {
    /// 0-based stream index within the input.
    pub stream: u64,
    /// The choice index; `None` for a stream that carried no choice (an
    /// error body, an exchange that failed before any response).
    pub choice: Option<u32>,
    /// The first non-empty `id` of the stream.
    pub id: Option<String>,
    /// The first non-empty `model` of the stream.
    pub model: Option<String>,
    /// All thinking text, concatenated.
    pub reasoning: String,
    /// All answer text, concatenated.
    pub content: String,
    /// Where the reasoning came from.
    pub reasoning_source: ReasoningSource,
    /// The last `finish_reason`.
    pub finish_reason: Option<String>,
    /// Thinking was never closed.
    pub unterminated: bool,
    /// The last usage of the stream.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Prompt-level verdicts of the stream, then this choice's own.
    #[serde(default)]
    pub filters: Vec<FilterEvent>,
    /// Stream-level errors.
    #[serde(default)]
    pub errors: Vec<StreamError>,
    /// The stream ended with `[DONE]` (or was a whole completion body).
    pub done: bool,
}

#[derive(Debug, Default)]
struct Partial {
    reasoning: String,
    content: String,
    filters: Vec<FilterEvent>,
    end: Option<crate::ChoiceEnd>,
}

/// Collects [`ChoiceRecord`]s; take them with [`Collector::drain`] after
/// each feed (a stream's records appear when it ends).
///
/// It copies all text: use it for tools and tests, not on a proxy's hot path.
#[derive(Debug, Default)]
pub struct Collector {
    choices: BTreeMap<u32, Partial>,
    prompt_filters: Vec<FilterEvent>,
    errors: Vec<StreamError>,
    finished: Vec<ChoiceRecord>,
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Collector {
        Collector::default()
    }

    /// The records of every stream that ended since the last drain.
    pub fn drain(&mut self) -> std::vec::Drain<'_, ChoiceRecord> {
        self.finished.drain(..)
    }
}

impl Sink for Collector {
    type Error = Infallible;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        match record.event {
            Event::Text { choice, kind, text, .. } => {
                let p = self.choices.entry(choice).or_default();
                match kind {
                    SegmentKind::Thinking => p.reasoning.push_str(text),
                    SegmentKind::Answer => p.content.push_str(text),
                    SegmentKind::Markup => {}
                }
            }
            Event::Filter { choice: None, filter } => self.prompt_filters.push(filter.clone()),
            Event::Filter { choice: Some(c), filter } => {
                self.choices.entry(c).or_default().filters.push(filter.clone())
            }
            Event::Error(e) => self.errors.push(e.clone()),
            Event::ChoiceEnd(end) => {
                self.choices.entry(end.choice).or_default().end = Some(end.clone())
            }
            Event::StreamEnd(end) => {
                let prompt = std::mem::take(&mut self.prompt_filters);
                let errors = std::mem::take(&mut self.errors);
                let mut choices: Vec<_> = std::mem::take(&mut self.choices)
                    .into_iter()
                    .map(|(i, p)| (Some(i), p))
                    .collect();
                if choices.is_empty() {
                    // A stream without choices still leaves one record.
                    choices.push((None, Partial::default()));
                }
                for (choice, p) in choices {
                    let e = p.end.unwrap_or(crate::ChoiceEnd {
                        choice: choice.unwrap_or(0),
                        reasoning_source: ReasoningSource::None,
                        finish_reason: None,
                        unterminated: false,
                        hold_limit_hit: false,
                    });
                    self.finished.push(ChoiceRecord {
                        stream: record.stream,
                        choice,
                        id: end.id.clone(),
                        model: end.model.clone(),
                        reasoning: p.reasoning,
                        content: p.content,
                        reasoning_source: e.reasoning_source,
                        finish_reason: e.finish_reason,
                        unterminated: e.unterminated,
                        usage: end.usage,
                        filters: prompt.iter().cloned().chain(p.filters).collect(),
                        errors: errors.clone(),
                        done: end.done,
                    });
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pipeline;

    fn collect(input: &[u8]) -> Vec<ChoiceRecord> {
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
}
