//! What a user writes today for each format: the other side of
//! `benches/formats.rs` (criterion) and `examples/callgrind_formats.rs`
//! (instruction counts), beside thinktee end to end (`count.rs`).

use std::convert::Infallible;

use crate::count::Tally;
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use futures::executor::block_on;
use thinktee_benches::formats::gemini_today::GenerateContentResponse;
use thinktee_benches::formats::messages_today::{ContentBlockDelta, MessageStreamEvent};
use thinktee_benches::formats::ollama_today::ChatResponse;
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

/// Gemini (`alt=sse`), as a user reads it today: a part with `thought` is
/// reasoning, any other text answer.
pub(crate) fn gemini_today(pieces: &[Bytes]) -> Tally {
    let mut tally = Tally::default();
    today(pieces, |chunk: GenerateContentResponse| {
        for candidate in chunk.candidates {
            for part in candidate.content.into_iter().flat_map(|c| c.parts) {
                match (part.text, part.thought) {
                    (Some(text), Some(true)) => tally.thinking += text.len(),
                    (Some(text), _) => tally.answer += text.len(),
                    (None, _) => {}
                }
            }
        }
    });
    tally
}

/// A byte stream read through `std::io::BufRead` piece by piece, without a
/// copy into another buffer: what `tokio_util::io::StreamReader` does over
/// an HTTP body's chunks, in its blocking form.
struct PieceReader<'a> {
    pieces: std::slice::Iter<'a, Bytes>,
    current: &'a [u8],
}

impl std::io::Read for PieceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::io::BufRead::fill_buf(self)?.len().min(buf.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = &self.current[n..];
        Ok(n)
    }
}

impl std::io::BufRead for PieceReader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.current.is_empty() {
            match self.pieces.next() {
                Some(piece) => self.current = piece,
                None => break,
            }
        }
        Ok(self.current)
    }

    fn consume(&mut self, n: usize) {
        self.current = &self.current[n..];
    }
}

/// Ollama's NDJSON, as a user reads it today: a line reader
/// (`BufRead::read_until`, which finds line ends with memchr) over the
/// body's chunks, each non-blank line into `ChatResponse` with
/// `serde_json::from_slice` (no UTF-8 check of its own, no `String` per
/// line beyond the one buffer reused).
pub(crate) fn ollama_today(pieces: &[Bytes]) -> Tally {
    use std::io::BufRead;
    let mut tally = Tally::default();
    let mut reader = PieceReader { pieces: pieces.iter(), current: &[] };
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        if let Ok(response) = serde_json::from_slice::<ChatResponse>(&line)
            && let Some(message) = response.message
        {
            tally.thinking += message.thinking.map_or(0, |t| t.len());
            tally.answer += message.content.len();
        }
        line.clear();
    }
    tally
}
