//! Awaiting the parse side and what it reports.

use std::future::{Future, IntoFuture};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;

use thinktee_pipeline::{InputEnd, Sink};
use tokio::sync::oneshot;

use crate::capture::CaptureReport;
use crate::decode::DecodeError;
use crate::error::Error;

/// What the parse side of one tee did; `E` is its sink's error type.
#[derive(Debug)]
pub struct TeeReport<E> {
    /// Bytes forwarded (all of them, parsed or not).
    pub bytes_seen: u64,
    /// Bytes handed to the pipeline (decoded bytes, for an encoded body).
    pub bytes_parsed: u64,
    /// Bytes an encoded body decoded to (0 for one that is not encoded).
    pub bytes_decoded: u64,
    /// The body could not be decoded (from some point on): nothing after
    /// that point was parsed, and the stream carries an error saying so.
    pub decode_error: Option<DecodeError>,
    /// The queue to the parse side hit its bound: parsing stopped there
    /// (forwarding went on). Also set for a JSON body over the bound.
    pub overflowed: bool,
    /// The sink returned this error; it got no records after it.
    pub sink_error: Option<E>,
    /// The sink said [`Flow::Stop`](thinktee_pipeline::Flow::Stop); it got
    /// no records after it (its `finish` was still called).
    pub sink_stopped: bool,
    /// Writing the raw capture failed with this error.
    pub capture_error: Option<io::Error>,
    /// Bytes written to the raw capture (equal to `bytes_seen` unless it
    /// was cut).
    pub bytes_captured: u64,
    /// The raw capture was cut (it could not keep up, or its disk failed)
    /// and renamed `<id>.cut.sse`.
    pub capture_cut: bool,
    /// The raw capture file, if a byte was written to it.
    pub capture_path: Option<PathBuf>,
    /// How the input ended, as the forward side saw it.
    pub end: Option<InputEnd>,
}

impl<E> Default for TeeReport<E> {
    fn default() -> Self {
        TeeReport {
            bytes_seen: 0,
            bytes_parsed: 0,
            bytes_decoded: 0,
            decode_error: None,
            overflowed: false,
            sink_error: None,
            sink_stopped: false,
            capture_error: None,
            bytes_captured: 0,
            capture_cut: false,
            capture_path: None,
            end: None,
        }
    }
}

/// What a parse side hands back at its end: its report and its sink.
pub(crate) type Parsed<K> = (TeeReport<<K as Sink>::Error>, K);

/// Awaits the end of a tee's parse side.
///
/// The parse side ends once the forwarded stream has ended or been dropped
/// and every queued piece has been parsed. Dropping the handle does not
/// stop it. Awaiting the handle itself is [`join_sink`](TeeHandle::join_sink):
/// the report and the sink, with its own type.
#[derive(Debug)]
pub struct TeeHandle<K: Sink> {
    pub(crate) rx: Result<oneshot::Receiver<Parsed<K>>, Error>,
    pub(crate) capture: Option<oneshot::Receiver<CaptureReport>>,
}

impl<K: Sink> TeeHandle<K> {
    /// Waits for the parse side to end and returns its report.
    pub async fn join(self) -> Result<TeeReport<K::Error>, Error> {
        self.join_sink().await.map(|(report, _)| report)
    }

    /// Waits for the parse side (and the raw capture) to end and returns
    /// the report and the sink (finished).
    pub async fn join_sink(self) -> Result<(TeeReport<K::Error>, K), Error> {
        let (mut report, sink) = self.rx?.await.map_err(|_| Error::ParseSidePanicked)?;
        if let Some(capture) = self.capture {
            match capture.await {
                Ok(c) => {
                    report.bytes_captured = c.bytes;
                    report.capture_cut = c.cut;
                    report.capture_path = c.path;
                    report.capture_error = c.error;
                }
                Err(_) => {
                    report.capture_error = Some(io::Error::other("the capture thread panicked"));
                }
            }
        }
        Ok((report, sink))
    }
}

impl<K> IntoFuture for TeeHandle<K>
where
    K: Sink + Send + 'static,
{
    type Output = Result<(TeeReport<K::Error>, K), Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.join_sink())
    }
}
