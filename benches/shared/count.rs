//! thinktee end to end into a sink that counts text by channel: the thinktee
//! side of `benches/e2e.rs`, `benches/formats.rs` and
//! `examples/callgrind_formats.rs`. Each includes this file as `mod count`.

use std::convert::Infallible;

use thinktee_pipeline::{DocumentReader, Event, Flow, Pipeline, Record, SegmentKind, Sink};

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

/// thinktee reading a document (Ollama's NDJSON): `DocumentReader::feed`
/// per piece, into a counting sink.
#[allow(dead_code)] // Not every includer reads documents.
pub(crate) fn thinktee_document(pieces: &[&[u8]]) -> Tally {
    let mut reader = DocumentReader::new(Pipeline::default());
    let mut sink = CountingSink::default();
    for piece in pieces {
        let _ = reader.feed(piece, &mut sink);
    }
    let _ = reader.finish(&mut sink);
    sink.0
}
