//! The forward side: the stream and reader wrappers and what they send to
//! the parse side.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use thinktee_pipeline::{InputEnd, StreamError};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Instant;

use crate::decode::ContentEncoding;
use crate::pool::JobSender;
use crate::shutdown::ShutdownFlag;

/// What each queued piece counts for beyond its length, so that many tiny
/// pieces cannot hide behind the byte bound.
pub const PIECE_OVERHEAD: usize = 64;

/// From the forward side to the parse side.
#[derive(Debug)]
pub(crate) enum Msg {
    /// A piece and when it arrived.
    Data(Bytes, Instant),
    /// The queue bound was hit at this time: nothing more will come but `End`.
    Overflow(Instant),
    /// The input ended this way, at this time, after this many bytes.
    End(InputEnd, Instant, u64),
    /// The pieces that follow are encoded so (sent before the first).
    Encoding(ContentEncoding),
    /// Something the forward side found about the body, for the record.
    Error(StreamError, Instant),
}

/// State both sides of one queue see (the parse side's, the capture's).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Bytes queued and not yet taken by the other side (with overhead).
    pub(crate) queued: AtomicUsize,
    /// The other side wants no more data (the parse side's sink stopped or
    /// failed; the capture's disk failed).
    pub(crate) stop: AtomicBool,
}

pub(crate) fn cost(len: usize) -> usize {
    len + PIECE_OVERHEAD
}

/// One queue from the forward side to a worker, bounded in bytes.
struct Queue {
    tx: Option<JobSender>,
    shared: Arc<Shared>,
    max_queued: usize,
    /// The bound was hit: nothing more is queued but the end.
    full: bool,
}

impl Queue {
    fn new(tx: JobSender, shared: Arc<Shared>, max_queued: usize) -> Queue {
        Queue { tx: Some(tx), shared, max_queued, full: false }
    }

    /// Queues a copy of `bytes`; false when the bound was hit now (an
    /// `Overflow` was sent instead).
    fn data(&mut self, bytes: &Bytes) -> bool {
        if self.full || self.shared.stop.load(Ordering::Relaxed) {
            return true;
        }
        let Some(tx) = &self.tx else { return true };
        let cost = cost(bytes.len());
        // Only this side adds, so the check cannot race past the bound.
        if self.shared.queued.load(Ordering::Acquire) + cost > self.max_queued {
            self.full = true;
            if !tx.send(Msg::Overflow(Instant::now()), true) {
                self.tx = None;
            }
            return false;
        }
        let queued = self.shared.queued.fetch_add(cost, Ordering::AcqRel) + cost;
        // Pieces wait for the worker's tick, unless they pile up: a
        // producer fast enough to fill the bound within a tick wakes it.
        let urgent = queued > self.max_queued / 4;
        if !tx.send(Msg::Data(bytes.clone(), Instant::now()), urgent) {
            // The worker is gone (it panicked): forward only.
            self.tx = None;
        }
        true
    }

    /// Sends a message that is not data (nothing is sent once the bound
    /// was hit or the other side stopped).
    fn note(&mut self, msg: Msg) {
        if self.full || self.shared.stop.load(Ordering::Relaxed) {
            return;
        }
        if let Some(tx) = &self.tx
            && !tx.send(msg, false)
        {
            self.tx = None;
        }
    }

    fn end(&mut self, end: InputEnd, seen: u64) {
        if let Some(tx) = self.tx.take() {
            tx.send(Msg::End(end, Instant::now(), seen), true);
        }
    }
}

/// The forward side's half: sends copies to the parse side and the
/// capture, never waits.
pub(crate) struct Feeder {
    parse: Option<Queue>,
    capture: Option<Queue>,
    /// Read when dropped before the end.
    shutdown: Option<ShutdownFlag>,
    seen: u64,
    ended: bool,
}

impl Feeder {
    pub(crate) fn new(
        parse: Option<(JobSender, Arc<Shared>, usize)>,
        capture: Option<(JobSender, Arc<Shared>, usize)>,
        shutdown: Option<ShutdownFlag>,
    ) -> Feeder {
        let queue = |(tx, shared, max)| Queue::new(tx, shared, max);
        Feeder {
            parse: parse.map(queue),
            capture: capture.map(queue),
            shutdown,
            seen: 0,
            ended: false,
        }
    }

    /// A piece was forwarded: queue a copy (a reference count, not bytes)
    /// for the capture, then for the parse side.
    pub(crate) fn data(&mut self, bytes: &Bytes) {
        if self.ended || bytes.is_empty() {
            return;
        }
        self.seen += bytes.len() as u64;
        if let Some(capture) = &mut self.capture {
            // The capture worker says which file it cut, once.
            capture.data(bytes);
        }
        if let Some(parse) = &mut self.parse
            && !parse.data(bytes)
        {
            tracing::warn!(
                max_queued = parse.max_queued,
                seen = self.seen,
                "thinktee parse side fell behind: stopped parsing this stream (forwarding goes on)"
            );
        }
    }

    /// The pieces to come are encoded so: the parse side decodes them.
    /// Only before the first piece.
    pub(crate) fn content_encoding(&mut self, encoding: ContentEncoding) {
        if self.seen > 0 || self.ended {
            tracing::warn!(%encoding, "thinktee: a content encoding set after the first piece is ignored");
            return;
        }
        if encoding != ContentEncoding::Identity
            && let Some(parse) = &mut self.parse
        {
            parse.note(Msg::Encoding(encoding));
        }
    }

    /// Records `error` in the open stream, after the pieces queued so far.
    pub(crate) fn error(&mut self, error: StreamError) {
        if self.ended {
            return;
        }
        if let Some(parse) = &mut self.parse {
            parse.note(Msg::Error(error, Instant::now()));
        }
    }

    /// The input ended (once; later calls do nothing).
    pub(crate) fn end(&mut self, end: InputEnd) {
        if self.ended {
            return;
        }
        self.ended = true;
        if let Some(capture) = &mut self.capture {
            capture.end(end.clone(), self.seen);
        }
        if let Some(parse) = &mut self.parse {
            parse.end(end, self.seen);
        }
    }
}

impl Drop for Feeder {
    /// Dropped before the input ended: the client went away, or the server
    /// cut it when shutting down.
    fn drop(&mut self) {
        let end = match &self.shutdown {
            Some(flag) if flag.is_set() => InputEnd::Shutdown,
            _ => InputEnd::ClientCancelled,
        };
        self.end(end);
    }
}

impl fmt::Debug for Feeder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queued =
            |q: &Option<Queue>| q.as_ref().map(|q| q.shared.queued.load(Ordering::Relaxed));
        f.debug_struct("Feeder")
            .field("seen", &self.seen)
            .field("parse_queued", &queued(&self.parse))
            .field("capture_queued", &queued(&self.capture))
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

// === impl Tap ===

/// The forward side of a tee for callers that poll their own body: hand
/// it each piece as it is forwarded ([`Tap::data`]), then how the input
/// ended ([`Tap::end`]). Nothing here waits; copies are queued as for
/// [`TeeStream`].
///
/// Dropped before [`end`](Tap::end), the input ended by
/// [`InputEnd::ClientCancelled`], or by [`InputEnd::Shutdown`] once the
/// [`ShutdownFlag`] given to the builder is set. Made by
/// [`Builder::tap`](crate::Builder::tap).
#[derive(Debug)]
pub struct Tap {
    feeder: Feeder,
}

impl Tap {
    pub(crate) fn new(feeder: Feeder) -> Tap {
        Tap { feeder }
    }

    /// A piece was forwarded (empty pieces are ignored).
    pub fn data(&mut self, bytes: &Bytes) {
        self.feeder.data(bytes);
    }

    /// The input ended this way (only the first call counts; pieces after
    /// it are ignored).
    pub fn end(&mut self, end: InputEnd) {
        self.feeder.end(end);
    }

    /// Whether [`end`](Tap::end) was called.
    pub fn is_ended(&self) -> bool {
        self.feeder.ended
    }

    /// The pieces to come are encoded so (an HTTP `Content-Encoding`): the
    /// parse side decodes its copy before parsing it, or records why it
    /// cannot ([`DecodeError`](crate::DecodeError)). Call it before the
    /// first piece; later it is ignored (and a warning logged).
    pub fn content_encoding(&mut self, encoding: ContentEncoding) {
        self.feeder.content_encoding(encoding);
    }

    /// Records `error` in the stream being parsed, after the pieces handed
    /// over so far: something the parser cannot see, such as "the client
    /// got this part unnormalized". Ignored after [`end`](Tap::end).
    pub fn error(&mut self, error: StreamError) {
        self.feeder.error(error);
    }

    /// Reads `flag` when dropped before [`end`](Tap::end): once it is set,
    /// the input ended by [`InputEnd::Shutdown`] rather than
    /// [`InputEnd::ClientCancelled`] (as
    /// [`Builder::shutdown_flag`](crate::Builder::shutdown_flag) does).
    pub fn set_shutdown_flag(&mut self, flag: ShutdownFlag) {
        self.feeder.shutdown = Some(flag);
    }

    /// Bytes queued for the parse side and not yet taken (with overhead).
    #[cfg(test)]
    pub(crate) fn queued_for_parse(&self) -> usize {
        self.feeder.parse.as_ref().map_or(0, |q| q.shared.queued.load(Ordering::Acquire))
    }
}

// === impl TeeStream ===

/// Yields the items of the wrapped stream unchanged, each as soon as it
/// arrives, and queues a copy of each `Bytes` for the parse side.
///
/// How the input ended is told to the pipeline: the end of the wrapped
/// stream is [`InputEnd::Complete`], its first `Err` item
/// [`InputEnd::UpstreamError`] (with the error's `Display`; later items are
/// still forwarded, not parsed), and dropping this stream before either is
/// [`InputEnd::ClientCancelled`] (or [`InputEnd::Shutdown`], see
/// [`ShutdownFlag`]). Made by [`Builder::stream`](crate::Builder::stream).
///
/// The wrapped stream must be `Unpin` (wrap others in `Box::pin`).
#[derive(Debug)]
pub struct TeeStream<S> {
    inner: S,
    feeder: Feeder,
    done: bool,
}

impl<S> TeeStream<S> {
    pub(crate) fn new(inner: S, feeder: Feeder) -> TeeStream<S> {
        TeeStream { inner, feeder, done: false }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, E> Stream for TeeStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: fmt::Display,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let item = ready!(Pin::new(&mut this.inner).poll_next(cx));
        match &item {
            Some(Ok(bytes)) => this.feeder.data(bytes),
            Some(Err(e)) => this.feeder.end(InputEnd::UpstreamError(e.to_string())),
            None => {
                this.done = true;
                this.feeder.end(InputEnd::Complete);
            }
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done { (0, Some(0)) } else { self.inner.size_hint() }
    }
}

// === impl TeeReader ===

/// Reads through the wrapped reader unchanged and queues a copy of every
/// read for the parse side (copied into a new `Bytes`: the read buffer is
/// the caller's).
///
/// A read of 0 bytes into a non-empty buffer is the end
/// ([`InputEnd::Complete`]), a read error [`InputEnd::UpstreamError`], and
/// dropping the reader before either [`InputEnd::ClientCancelled`]. Made by
/// [`Builder::reader`](crate::Builder::reader). The wrapped reader must be
/// `Unpin`.
#[derive(Debug)]
pub struct TeeReader<R> {
    inner: R,
    feeder: Feeder,
}

impl<R> TeeReader<R> {
    pub(crate) fn new(inner: R, feeder: Feeder) -> TeeReader<R> {
        TeeReader { inner, feeder }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for TeeReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let room = buf.remaining();
        match ready!(Pin::new(&mut this.inner).poll_read(cx, buf)) {
            Ok(()) => {
                let new = &buf.filled()[before..];
                if !new.is_empty() {
                    this.feeder.data(&Bytes::copy_from_slice(new));
                } else if room > 0 {
                    this.feeder.end(InputEnd::Complete);
                }
                Poll::Ready(Ok(()))
            }
            Err(e) => {
                this.feeder.end(InputEnd::UpstreamError(e.to_string()));
                Poll::Ready(Err(e))
            }
        }
    }
}
