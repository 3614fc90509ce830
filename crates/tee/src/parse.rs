//! The parse side of one stream: pipeline and sink, driven by a pool worker.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use thinktee_pipeline::{
    DocumentKind, ErrorKind, Event, Flow, InputEnd, Pipeline, Record, Sink, StreamError,
};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::feed::{Msg, Shared, cost};
use crate::handle::TeeReport;
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
}

/// What the input is, as far as known.
#[derive(Debug)]
enum Mode {
    /// Only whitespace (or part of a byte order mark) so far.
    Undecided(Vec<u8>),
    Sse,
    /// A JSON body, held whole until the end.
    Json(Vec<u8>),
}

pub(crate) struct ParseSide<K> {
    pub(crate) pipeline: Pipeline,
    pub(crate) sink: K,
    pub(crate) start: Instant,
    pub(crate) max_queued: usize,
    pub(crate) document: Option<DocumentKind>,
    pub(crate) shared: Arc<Shared>,
}

/// One stream's parse side as a pool job: its state, and where its report
/// goes when the input has ended.
pub(crate) struct StreamJob<K> {
    /// `None` once the input has ended and the sink went to the handle.
    state: Option<State<K>>,
    done: Option<oneshot::Sender<(TeeReport, K)>>,
}

impl<K> StreamJob<K>
where
    K: Sink,
    K::Error: Display,
{
    pub(crate) fn new(side: ParseSide<K>, done: oneshot::Sender<(TeeReport, K)>) -> Self {
        let mode = match side.document {
            Some(DocumentKind::Sse) => Mode::Sse,
            Some(DocumentKind::Json) => Mode::Json(Vec::new()),
            None => Mode::Undecided(Vec::new()),
        };
        let state = State { side, mode, feeding: Feeding::On, report: TeeReport::default() };
        StreamJob { state: Some(state), done: Some(done) }
    }
}

impl<K> Job for StreamJob<K>
where
    K: Sink + Send + 'static,
    K::Error: Display,
{
    fn handle(&mut self, msg: Msg) -> bool {
        let Some(state) = &mut self.state else { return true };
        match msg {
            Msg::Data(bytes, at) => state.data(bytes, at),
            Msg::Overflow(at) => state.overflow(at),
            Msg::End(end, at, seen) => {
                state.report.bytes_seen = seen;
                state.end(end, at);
                if let (Some(state), Some(done)) = (self.state.take(), self.done.take()) {
                    let _ = done.send((state.report, state.side.sink));
                }
                return true;
            }
        }
        false
    }
}

struct State<K> {
    side: ParseSide<K>,
    mode: Mode,
    feeding: Feeding,
    report: TeeReport,
}

impl<K> State<K>
where
    K: Sink,
    K::Error: Display,
{
    fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.side.start)
    }

    fn data(&mut self, bytes: Bytes, at: Instant) {
        self.side.shared.queued.fetch_sub(cost(bytes.len()), Ordering::AcqRel);
        if self.feeding != Feeding::On {
            return;
        }
        self.report.bytes_parsed += bytes.len() as u64;
        let at = self.since_start(at);
        match &mut self.mode {
            Mode::Sse => self.feed(&bytes, at),
            Mode::Json(body) => {
                if body.len() + bytes.len() > self.side.max_queued {
                    self.overflow_json();
                } else {
                    body.extend_from_slice(&bytes);
                }
            }
            Mode::Undecided(pending) => {
                pending.extend_from_slice(&bytes);
                match sniff(pending) {
                    None => {}
                    Some(DocumentKind::Json) => self.mode = Mode::Json(std::mem::take(pending)),
                    Some(DocumentKind::Sse) => {
                        let pending = std::mem::take(pending);
                        self.mode = Mode::Sse;
                        self.feed(&pending, at);
                    }
                }
            }
        }
    }

    fn feed(&mut self, bytes: &[u8], at: Duration) {
        let result = self.side.pipeline.feed_at(bytes, at, &mut self.side.sink);
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
        tracing::warn!(error = %e, "thinktee sink failed: no more records for it (forwarding goes on)");
        self.report.sink_error = Some(e.to_string());
        self.feeding = Feeding::Failed;
    }

    /// Tells the forward side to stop queueing data nobody needs.
    fn update_stop(&self) {
        if self.feeding != Feeding::On {
            self.side.shared.stop.store(true, Ordering::Relaxed);
        }
    }

    fn overflow(&mut self, at: Instant) {
        self.report.overflowed = true;
        if self.feeding != Feeding::On {
            return;
        }
        self.feeding = Feeding::Overflowed;
        if let Mode::Json(body) = &mut self.mode {
            *body = Vec::new();
            return;
        }
        // Say so in the stream's own errors, so a transcript of what was
        // parsed does not pass for the whole stream.
        let error = StreamError {
            kind: ErrorKind::Truncated,
            code: None,
            message: format!(
                "thinktee stopped parsing after {} bytes: the parse side fell more than {} bytes behind",
                self.report.bytes_parsed, self.side.max_queued
            ),
        };
        let record = Record {
            stream: self.side.pipeline.stream_index(),
            at: Some(self.since_start(at)),
            event: Event::Error(&error),
        };
        let result = self.side.sink.record(&record);
        self.after(result.map(|_| Flow::Continue));
    }

    fn overflow_json(&mut self) {
        tracing::warn!(
            max = self.side.max_queued,
            "thinktee: JSON body larger than the bound: not parsed (forwarding goes on)"
        );
        self.report.overflowed = true;
        self.feeding = Feeding::Overflowed;
        self.mode = Mode::Json(Vec::new());
        self.update_stop();
    }

    fn end(&mut self, end: InputEnd, at: Instant) {
        let at = self.since_start(at);
        self.report.end = Some(end.clone());
        match self.feeding {
            Feeding::On | Feeding::Overflowed => {
                let result = match std::mem::replace(&mut self.mode, Mode::Sse) {
                    Mode::Undecided(pending) => {
                        let _ = self.side.pipeline.feed_at(&pending, at, &mut self.side.sink);
                        self.finish(&end, at)
                    }
                    Mode::Sse => self.finish(&end, at),
                    Mode::Json(body) if self.feeding == Feeding::On => self.json(&body, &end, at),
                    Mode::Json(_) => self.finish(&end, at),
                };
                if let Err(e) = result {
                    self.sink_failed(e);
                }
            }
            Feeding::Stopped => {
                if let Err(e) = self.side.sink.finish() {
                    self.sink_failed(e);
                }
            }
            Feeding::Failed => {}
        }
    }

    fn finish(&mut self, end: &InputEnd, at: Duration) -> Result<Flow, K::Error> {
        self.side.pipeline.finish_with(end, Some(at), &mut self.side.sink)
    }

    /// A whole JSON body (or JSON Lines of bodies), stamped with the time
    /// its end arrived.
    fn json(&mut self, body: &[u8], end: &InputEnd, at: Duration) -> Result<Flow, K::Error> {
        let mut sink = Stamped { inner: &mut self.side.sink, at };
        if *end == InputEnd::Complete {
            return self.side.pipeline.run_document(body, &mut sink);
        }
        // Cut short: what came is reported (as a body that does not parse).
        let text = String::from_utf8_lossy(body);
        if !text.trim().is_empty() {
            self.side.pipeline.body(&text, &mut sink)?;
        }
        self.side.pipeline.finish_with(end, Some(at), &mut sink)
    }
}

/// Tells JSON (first non-whitespace byte `{`, after an optional byte order
/// mark) from SSE, once a non-whitespace byte has come.
fn sniff(input: &[u8]) -> Option<DocumentKind> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if input.len() < BOM.len() && BOM.starts_with(input) {
        return None;
    }
    let input = input.strip_prefix(BOM).unwrap_or(input);
    let first = input.iter().find(|b| !b.is_ascii_whitespace())?;
    Some(if *first == b'{' { DocumentKind::Json } else { DocumentKind::Sse })
}

/// Stamps every record with one time (a JSON body's records all happen when
/// its last byte arrives).
struct Stamped<'a, K> {
    inner: &'a mut K,
    at: Duration,
}

impl<K: Sink> Sink for Stamped<'_, K> {
    type Error = K::Error;

    fn record(&mut self, record: &Record<'_>) -> Result<Flow, K::Error> {
        self.inner.record(&Record { at: Some(self.at), ..*record })
    }

    fn finish(&mut self) -> Result<(), K::Error> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_waits_for_a_non_whitespace_byte() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b" \r\n"), None);
        assert_eq!(sniff(b"\xEF\xBB"), None);
        assert_eq!(sniff(b"\xEF\xBB\xBF \n{"), Some(DocumentKind::Json));
        assert_eq!(sniff(b"\n{\"id\""), Some(DocumentKind::Json));
        assert_eq!(sniff(b": ping\n"), Some(DocumentKind::Sse));
        assert_eq!(sniff(b"data: {}"), Some(DocumentKind::Sse));
    }
}
