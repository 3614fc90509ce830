//! The parse side of one stream: a document reader and its sink, driven by
//! a pool worker.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use thinktee_pipeline::{
    DocumentKind, DocumentReader, ErrorKind, Event, Flow, InputEnd, Pipeline, Record, Sink,
    StreamError,
};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::decode::{ContentEncoding, DecodeError, Decoding};
use crate::feed::{Msg, Shared, cost};
use crate::handle::{Parsed, TeeReport};
use crate::pool::Job;

/// Whether the sink still gets records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feeding {
    On,
    /// The sink said [`Flow::Stop`]: only its `finish` is still called.
    Stopped,
    /// The sink returned an error: it gets nothing more.
    Failed,
    /// The queue bound was hit: parsing stopped, the stream is ended at
    /// the input's end with what was parsed.
    Overflowed,
    /// The body could not be decoded: parsing stopped (an error in the
    /// stream says why), the stream is ended at the input's end.
    Undecodable,
}

/// How the pieces are decoded before they are parsed.
#[derive(Debug)]
enum Decode {
    /// They are not encoded.
    Identity,
    Decoding(Box<Decoding>),
    /// Their encoding cannot be decoded: said at the first piece.
    Refused(DecodeError),
    /// Decoding failed: nothing more is decoded.
    Failed,
}

/// How the input is read.
#[derive(Debug)]
enum Reading {
    /// As a document: SSE passed on read by read, a JSON body held whole
    /// (within the queue bound) until it ends.
    Document(DocumentReader),
    /// A JSON body passed the bound: what was held is dropped; the
    /// pipeline only learns how the input ended.
    Dropped(Pipeline),
}

/// Everything a stream's parse side is made of.
pub(crate) struct ParseSide<K> {
    pub(crate) reader: DocumentReader,
    pub(crate) sink: K,
    pub(crate) start: Instant,
    pub(crate) max_queued: usize,
    pub(crate) max_decoded: u64,
    pub(crate) shared: Arc<Shared>,
}

/// How the builder reads a document: SSE when the caller says so,
/// otherwise by its first byte (a JSON `Content-Type` on an HTML error page
/// must not make a record of each of its lines); what is not a stream is
/// recorded all the same (a tee keeps a trace of whatever passed).
pub(crate) fn reader(pipeline: Pipeline, kind: Option<DocumentKind>, max: usize) -> DocumentReader {
    let builder = DocumentReader::builder().max_document_len(max).keep_not_a_stream(true);
    match kind {
        Some(DocumentKind::Sse) => builder.kind(DocumentKind::Sse),
        Some(DocumentKind::Json) | None => builder,
    }
    .reader(pipeline)
}

/// One stream's parse side as a pool job: its state, and where its report
/// goes when the input has ended.
pub(crate) struct StreamJob<K: Sink> {
    /// `None` once the input has ended and the sink went to the handle.
    state: Option<State<K>>,
    done: Option<oneshot::Sender<Parsed<K>>>,
}

impl<K: Sink> StreamJob<K> {
    pub(crate) fn new(side: ParseSide<K>, done: oneshot::Sender<(TeeReport<K::Error>, K)>) -> Self {
        let ParseSide { reader, sink, start, max_queued, max_decoded, shared } = side;
        let state = State {
            reading: Reading::Document(reader),
            decode: Decode::Identity,
            sink,
            start,
            max_queued,
            max_decoded,
            shared,
            held: 0,
            feeding: Feeding::On,
            report: TeeReport::default(),
        };
        StreamJob { state: Some(state), done: Some(done) }
    }
}

impl<K> Job for StreamJob<K>
where
    K: Sink + Send + 'static,
{
    fn handle(&mut self, msg: Msg) -> bool {
        let Some(state) = &mut self.state else { return true };
        match msg {
            Msg::Data(bytes, at) => state.data(bytes, at),
            Msg::Overflow(at) => state.overflow(at),
            Msg::Encoding(encoding) => state.encoding(&encoding),
            Msg::Error(error, at) => state.error(error, at),
            Msg::End(end, at, seen) => {
                state.report.bytes_seen = seen;
                state.end(end, at);
                if let (Some(state), Some(done)) = (self.state.take(), self.done.take()) {
                    let _ = done.send((state.report, state.sink));
                }
                return true;
            }
        }
        false
    }
}

struct State<K: Sink> {
    reading: Reading,
    decode: Decode,
    sink: K,
    start: Instant,
    max_queued: usize,
    max_decoded: u64,
    shared: Arc<Shared>,
    /// Bytes fed while the document was not known to be SSE (a JSON body
    /// is held until it ends): at most `max_queued`.
    held: usize,
    feeding: Feeding,
    report: TeeReport<K::Error>,
}

impl<K: Sink> State<K> {
    fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    fn data(&mut self, bytes: Bytes, at: Instant) {
        self.shared.queued.fetch_sub(cost(bytes.len()), Ordering::AcqRel);
        if self.feeding != Feeding::On {
            return;
        }
        match std::mem::replace(&mut self.decode, Decode::Failed) {
            Decode::Identity => {
                self.decode = Decode::Identity;
                self.parse(&bytes, at);
            }
            Decode::Decoding(mut decoding) => {
                let result = decoding.feed(&bytes, |piece| {
                    self.parse(piece, at);
                    self.feeding == Feeding::On
                });
                self.report.bytes_decoded = decoding.decoded();
                self.decode = Decode::Decoding(decoding);
                if let Err(e) = result {
                    self.undecodable(e, at);
                }
            }
            Decode::Refused(e) => self.undecodable(e, at),
            Decode::Failed => {}
        }
    }

    /// The pieces to come are encoded so.
    fn encoding(&mut self, encoding: &ContentEncoding) {
        if self.report.bytes_parsed > 0 || !matches!(self.decode, Decode::Identity) {
            return;
        }
        self.decode = match Decoding::new(encoding, self.max_decoded) {
            Ok(None) => Decode::Identity,
            Ok(Some(decoding)) => Decode::Decoding(Box::new(decoding)),
            Err(e) => Decode::Refused(e),
        };
    }

    /// The body cannot be decoded from here on: parsing stops, and the
    /// stream says why.
    fn undecodable(&mut self, e: DecodeError, at: Instant) {
        tracing::warn!(
            error = &e as &dyn std::error::Error,
            "thinktee: body could not be decoded: not parsed from here on (forwarding goes on)"
        );
        let error =
            StreamError { kind: ErrorKind::ContentEncoding, code: None, message: e.to_string() };
        self.report.decode_error = Some(e);
        self.decode = Decode::Failed;
        if self.feeding != Feeding::On {
            return;
        }
        self.drop_document(Feeding::Undecodable);
        self.error(error, at);
    }

    /// Records an error in the open stream.
    fn error(&mut self, error: StreamError, at: Instant) {
        if matches!(self.feeding, Feeding::Failed | Feeding::Stopped) {
            return;
        }
        let at = Some(self.since_start(at));
        let result = match &mut self.reading {
            Reading::Document(reader) => reader.error_at(error, at, &mut self.sink),
            Reading::Dropped(pipeline) => pipeline.error_at(error, at, &mut self.sink),
        };
        self.after(result);
    }

    /// Parses one (decoded) piece.
    fn parse(&mut self, bytes: &[u8], at: Instant) {
        let Reading::Document(reader) = &mut self.reading else { return };
        if reader.kind() != Some(DocumentKind::Sse) {
            if self.held + bytes.len() > self.max_queued {
                return self.overflow_json();
            }
            self.held += bytes.len();
        }
        self.report.bytes_parsed += bytes.len() as u64;
        let at = at.saturating_duration_since(self.start);
        let result = reader.feed_at(bytes, at, &mut self.sink);
        for e in reader.errors() {
            tracing::debug!(error = %e, "thinktee: part of a body could not be read");
        }
        self.after(result);
    }

    /// Applies what the sink said.
    fn after(&mut self, result: Result<Flow, K::Error>) {
        match result {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop) => {
                self.report.sink_stopped = true;
                self.feeding = Feeding::Stopped;
            }
            Err(e) => self.sink_failed(e),
        }
        self.update_stop();
    }

    fn sink_failed(&mut self, e: K::Error) {
        tracing::warn!(
            error = &e as &dyn std::error::Error,
            "thinktee sink failed: no more records for it (forwarding goes on)"
        );
        self.report.sink_error = Some(e);
        self.feeding = Feeding::Failed;
    }

    /// Tells the forward side to stop queueing data nobody needs.
    fn update_stop(&self) {
        if self.feeding != Feeding::On {
            self.shared.stop.store(true, Ordering::Relaxed);
        }
    }

    fn overflow(&mut self, at: Instant) {
        self.report.overflowed = true;
        if self.feeding != Feeding::On {
            return;
        }
        let Reading::Document(reader) = &self.reading else { return };
        if reader.kind() != Some(DocumentKind::Sse) {
            // Nothing of a body is parsed before its end: drop it whole.
            return self.drop_document(Feeding::Overflowed);
        }
        self.feeding = Feeding::Overflowed;
        // Say so in the stream's own errors, so a transcript of what was
        // parsed does not pass for the whole stream.
        let error = StreamError {
            kind: ErrorKind::Truncated,
            code: None,
            message: format!(
                "thinktee stopped parsing after {} bytes: the parse side fell more than {} bytes behind",
                self.report.bytes_parsed, self.max_queued
            ),
        };
        let record = Record {
            stream: reader.pipeline().stream_index(),
            at: Some(self.since_start(at)),
            event: Event::Error(&error),
        };
        let result = self.sink.record(&record);
        self.after(result.map(|_| Flow::Continue));
    }

    /// A JSON body (or what came before its kind was known) passed the
    /// bound.
    fn overflow_json(&mut self) {
        tracing::warn!(
            max = self.max_queued,
            "thinktee: JSON body larger than the bound: not parsed (forwarding goes on)"
        );
        self.drop_document(Feeding::Overflowed);
    }

    /// What is held of the document is dropped, not parsed; at the end the
    /// pipeline learns how the input ended.
    fn drop_document(&mut self, why: Feeding) {
        self.report.overflowed |= why == Feeding::Overflowed;
        self.feeding = why;
        let reading = std::mem::replace(&mut self.reading, Reading::Dropped(Pipeline::default()));
        self.reading = match reading {
            Reading::Document(reader) => Reading::Dropped(reader.into_pipeline()),
            dropped @ Reading::Dropped(_) => dropped,
        };
        self.update_stop();
    }

    fn end(&mut self, end: InputEnd, at: Instant) {
        // A body cut short may stop inside its encoding; one that ended
        // cleanly may not.
        if let (InputEnd::Complete, Decode::Decoding(decoding)) = (&end, &mut self.decode)
            && let Err(e) = decoding.finish()
        {
            self.undecodable(e, at);
        }
        let at = self.since_start(at);
        self.report.end = Some(end.clone());
        // A sink that stopped gets only its `finish` (the pipeline remembers).
        let result = match (self.feeding, &mut self.reading) {
            (Feeding::Failed, _) => return,
            (_, Reading::Document(reader)) => reader.finish_with(&end, Some(at), &mut self.sink),
            (_, Reading::Dropped(pipeline)) => pipeline.finish_with(&end, Some(at), &mut self.sink),
        };
        if let Err(e) = result {
            self.sink_failed(e);
        }
    }
}
