//! What a user writes today for each format: the other side of
//! `benches/formats.rs` (criterion) and `examples/callgrind_formats.rs`
//! (instruction counts), beside thinktee end to end (`count.rs`).

use std::convert::Infallible;

use crate::count::Tally;
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use futures::executor::block_on;
use thinktee_benches::formats::messages_today::{ContentBlockDelta, MessageStreamEvent};
use thinktee_benches::formats::responses_today::ResponseStreamEvent;

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
