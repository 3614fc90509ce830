//! The transcript sink.

use std::time::Duration;

use thinktee_pipeline::{Event, Flow, Record, Sink};

use crate::assemble::Assembler;
use crate::error::Error;
use crate::output::Output;
use crate::record::RequestMeta;

/// Text kept per stream by the proxy's transcripts unless told otherwise
/// (`thinktee proxy --max-transcript-text`): 8 MiB, some twenty times the
/// text of a 100,000-token answer, so only a runaway response is cut, and a
/// hundred of them at once hold at most 800 MiB of text.
pub const DEFAULT_MAX_TRANSCRIPT_TEXT: usize = 8 << 20;

/// A [`Sink`] that hands the [`TranscriptRecord`](crate::TranscriptRecord)s
/// of each stream to an [`Output`] as soon as the stream ends.
///
/// If the output fails, the sink returns the error (and the pipeline stops
/// feeding it); it never drops a record silently. An output that is
/// allowed to drop (the tee's shared writer, past its bound) drops, counts
/// and marks on its side and returns `Ok`: recording goes on. See the
/// crate's policy.
#[derive(Debug)]
pub struct TranscriptSink<O> {
    assembler: Assembler,
    output: O,
}

impl<O: Output> TranscriptSink<O> {
    /// A sink writing to `output`, without request metadata.
    pub fn new(output: O) -> TranscriptSink<O> {
        TranscriptSink { assembler: Assembler::new(), output }
    }

    /// A sink writing to `output` whose records carry `meta`.
    pub fn with_meta(output: O, meta: RequestMeta) -> TranscriptSink<O> {
        TranscriptSink { assembler: Assembler::with_meta(meta), output }
    }

    /// Keeps at most `bytes` of each stream's text in its records (see
    /// [`Collector::with_text_limit`](thinktee_pipeline::Collector::with_text_limit)):
    /// a recorder's memory per stream is bounded, whatever the response.
    pub fn with_text_limit(mut self, bytes: usize) -> TranscriptSink<O> {
        self.assembler = std::mem::take(&mut self.assembler).with_text_limit(bytes);
        self
    }

    /// The request metadata put on records of streams that end from now on.
    pub fn set_meta(&mut self, meta: Option<RequestMeta>) {
        self.assembler.set_meta(meta);
    }

    /// The first byte of the current stream's body arrived at `at`.
    pub fn observe_first_byte(&mut self, at: Duration) {
        self.assembler.observe_first_byte(at);
    }

    /// The output.
    pub fn output(&self) -> &O {
        &self.output
    }

    /// The output, mutably.
    pub fn output_mut(&mut self) -> &mut O {
        &mut self.output
    }

    /// Gives the output back.
    pub fn into_output(self) -> O {
        self.output
    }
}

impl<O: Output> Sink for TranscriptSink<O> {
    type Error = Error;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Error> {
        let Ok(_) = self.assembler.record(record);
        if let Event::StreamEnd(_) = record.event {
            let records: Vec<_> = self.assembler.drain().collect();
            if !records.is_empty() {
                self.output.write_stream(records)?;
            }
        }
        Ok(Flow::Continue)
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.output.flush()
    }
}
