//! The formats bench's two sides, shared by `benches/formats.rs` (criterion)
//! and `examples/callgrind_formats.rs` (instruction counts): thinktee end to
//! end, and what a user writes today for each format.

use std::convert::Infallible;

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use futures::executor::block_on;
use thinktee_benches::formats::messages_today::{ContentBlockDelta, MessageStreamEvent};
use thinktee_benches::formats::responses_today::ResponseStreamEvent;
use thinktee_pipeline::{Event, Flow, Pipeline, Record, SegmentKind, Sink};

/// Bytes of thinking and of answer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) thinking: usize,
    pub(crate) answer: usize,
}

/// Counts text by channel; keeps nothing.
#[derive(Debug, Default)]
struct CountingSink(Tally);

impl Sink for CountingSink {
    type Error = Infallible;

    #[inline]
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Infallible> {
        if let Event::Text { kind, text, .. } = record.event {
            match kind {
                SegmentKind::Thinking => self.0.thinking += text.len(),
                SegmentKind::Answer => self.0.answer += text.len(),
                SegmentKind::Markup | SegmentKind::ToolCall => {}
            }
        }
        Ok(Flow::Continue)
    }
}

/// thinktee: `Pipeline::feed` per piece, into a counting sink.
pub(crate) fn thinktee(pieces: &[&[u8]]) -> Tally {
    let mut pipeline = Pipeline::default();
    let mut sink = CountingSink::default();
    for piece in pieces {
        let _ = pipeline.feed(piece, &mut sink);
    }
    let _ = pipeline.finish(&mut sink);
    sink.0
}

/// eventsource-stream over the pieces, each event's data into `T`.
fn today<T: serde::de::DeserializeOwned>(pieces: &[Bytes], mut count: impl FnMut(T)) {
    block_on(async {
        let mut events =
            futures::stream::iter(pieces.iter().cloned().map(Ok::<_, Infallible>)).eventsource();
        while let Some(Ok(event)) = events.next().await {
            if let Ok(event) = serde_json::from_str::<T>(&event.data) {
                count(event);
            }
        }
    })
}

/// The Responses API, as a user reads it today.
pub(crate) fn responses_today(pieces: &[Bytes]) -> Tally {
    let mut tally = Tally::default();
    today(pieces, |event| match event {
        ResponseStreamEvent::SummaryTextDelta { delta, .. } => tally.thinking += delta.len(),
        ResponseStreamEvent::OutputTextDelta { delta, .. } => tally.answer += delta.len(),
        _ => {}
    });
    tally
}

/// Anthropic Messages, as a user reads it today.
pub(crate) fn messages_today(pieces: &[Bytes]) -> Tally {
    let mut tally = Tally::default();
    today(pieces, |event| {
        if let MessageStreamEvent::ContentBlockDelta { delta, .. } = event {
            match delta {
                ContentBlockDelta::ThinkingDelta { thinking } => tally.thinking += thinking.len(),
                ContentBlockDelta::TextDelta { text } => tally.answer += text.len(),
                _ => {}
            }
        }
    });
    tally
}
