//! Body wrappers: tee a copy of what passes to a recording, time out an idle upstream,
//! normalize inline thinking.

use std::any::Any;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use thinktee_pipeline::{DynSink, InputEnd, Sink, dyn_sink};
use thinktee_tee::{ShutdownFlag, Tap, TeeHandle};
use tokio::time::{Instant, Sleep};

use crate::normalize::Normalizer;
use crate::reply::BoxError;

/// Where one response body is recorded: a sink and the tee's options
/// (start instant, pipeline options, document kind, raw capture).
pub struct Recording {
    tee: thinktee_tee::Builder,
    sink: DynSink,
}

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recording").field("tee", &self.tee).finish_non_exhaustive()
    }
}

impl Recording {
    /// Records into `sink` with the tee set up by `tee`.
    pub fn new<S>(tee: thinktee_tee::Builder, sink: S) -> Recording
    where
        S: Sink + Send + 'static,
    {
        Recording { tee, sink: dyn_sink(sink) }
    }

    /// A drop of the recorded body after `flag` is set is a shutdown, not
    /// a client that went away.
    pub(crate) fn shutdown_flag(mut self, flag: ShutdownFlag) -> Recording {
        self.tee = self.tee.shutdown_flag(flag);
        self
    }

    /// Records an exchange that has no body to record (the proxy answered
    /// it itself): the recording ends at once, with `end`.
    pub(crate) fn ended(self, end: InputEnd) -> TeeHandle<DynSink> {
        let (mut tap, handle) = self.tee.tap(self.sink);
        tap.end(end);
        handle
    }
}

/// An HTTP body that passes its frames through unchanged and tees a copy
/// of its data to a [`Recording`] with [`thinktee_tee`]: the copy is queued
/// (never waited on) and parsed on the tee's own thread.
///
/// The recording learns how the body ended: [`InputEnd::Complete`] at its
/// end; when the wrapped body fails (the error is passed on, so the client
/// sees the same early end), [`InputEnd::UpstreamTimeout`] if the error is
/// an [`IdleTimeout`] (found by its type, in a boxed error's source chain
/// too) and [`InputEnd::UpstreamError`] otherwise; and
/// [`InputEnd::ClientCancelled`] when this body is dropped first (hyper
/// drops a response body when its client disconnects; that drops the
/// wrapped upstream body, which cancels the upstream request), or
/// [`InputEnd::Shutdown`] when the proxy dropped it at the end of its
/// shutdown grace.
///
/// While recording, the size hint is unknown (a `content-length` header
/// still frames the response).
pub struct RecordBody<B> {
    inner: Pin<Box<B>>,
    tap: Option<Tap>,
}

impl<B> fmt::Debug for RecordBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBody").field("recording", &self.tap.is_some()).finish()
    }
}

impl<B> RecordBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: fmt::Display + 'static,
{
    /// Wraps `inner`, teeing it into `recording`; the handle says when the
    /// parse side is done and how it went.
    pub fn new(inner: B, recording: Recording) -> (RecordBody<B>, TeeHandle<DynSink>) {
        let (mut tap, handle) = recording.tee.tap(recording.sink);
        // An empty length-framed body is never polled at all.
        if inner.is_end_stream() {
            tap.end(InputEnd::Complete);
        }
        (RecordBody { inner: Box::pin(inner), tap: Some(tap) }, handle)
    }

    /// Wraps `inner` without recording it.
    pub fn passthrough(inner: B) -> RecordBody<B> {
        RecordBody { inner: Box::pin(inner), tap: None }
    }
}

impl<B> Body for RecordBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: fmt::Display + 'static,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(tap) = &mut this.tap {
            match &frame {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        tap.data(data);
                    }
                    // A length-framed body ends with its last byte: hyper
                    // then drops it without polling for the end, which must
                    // not read as a client that went away.
                    if this.inner.is_end_stream() {
                        tap.end(InputEnd::Complete);
                    }
                }
                Some(Err(e)) => tap.end(input_end_of(e)),
                None => tap.end(InputEnd::Complete),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        // Until the recording knows the end, polling must reach it.
        self.tap.as_ref().is_none_or(Tap::is_ended) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.tap {
            Some(_) => SizeHint::default(),
            None => self.inner.size_hint(),
        }
    }
}

/// How a body error ends the input: decided by the error's type, never its
/// text.
fn input_end_of<E: fmt::Display + 'static>(e: &E) -> InputEnd {
    let any: &dyn Any = e;
    let idle = any.downcast_ref::<IdleTimeout>().copied().or_else(|| {
        let boxed = any.downcast_ref::<BoxError>()?;
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(boxed.as_ref());
        while let Some(c) = cause {
            if let Some(idle) = c.downcast_ref::<IdleTimeout>() {
                return Some(*idle);
            }
            cause = c.source();
        }
        None
    });
    match idle {
        Some(idle) => InputEnd::UpstreamTimeout(idle.to_string()),
        None => InputEnd::UpstreamError(e.to_string()),
    }
}

/// The upstream sent nothing for longer than the idle timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleTimeout(pub Duration);

impl fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream idle for {} ms", self.0.as_millis())
    }
}

impl std::error::Error for IdleTimeout {}

pin_project! {
    /// Fails with [`IdleTimeout`] when the wrapped body yields no frame for
    /// `timeout`.
    ///
    /// The timer is not reset on every frame (resetting takes the timer
    /// wheel's lock): a frame only notes the time, and when the timer fires
    /// early it is re-armed from the last frame.
    pub(crate) struct IdleBody<B> {
        #[pin]
        inner: B,
        timeout: Duration,
        last: Instant,
        #[pin]
        sleep: Sleep,
    }
}

impl<B> IdleBody<B> {
    pub(crate) fn new(inner: B, timeout: Duration) -> IdleBody<B> {
        IdleBody { inner, timeout, last: Instant::now(), sleep: tokio::time::sleep(timeout) }
    }
}

impl<B> Body for IdleBody<B>
where
    B: Body,
    B::Error: Into<crate::BoxError>,
{
    type Data = B::Data;
    type Error = crate::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, crate::BoxError>>> {
        let mut this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            *this.last = Instant::now();
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        loop {
            ready!(this.sleep.as_mut().poll(cx));
            let deadline = *this.last + *this.timeout;
            if deadline <= Instant::now() {
                return Poll::Ready(Some(Err(Box::new(IdleTimeout(*this.timeout)))));
            }
            this.sleep.as_mut().reset(deadline);
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// Re-frames an SSE body through a [`Normalizer`]. An error from the
    /// wrapped body is passed on without flushing held text, so the client
    /// sees the same early end.
    pub(crate) struct NormalizeBody<B> {
        #[pin]
        inner: B,
        normalizer: Normalizer,
        done: bool,
    }
}

impl<B> NormalizeBody<B> {
    pub(crate) fn new(inner: B, normalizer: Normalizer) -> NormalizeBody<B> {
        NormalizeBody { inner, normalizer, done: false }
    }
}

impl<B> Body for NormalizeBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        loop {
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let mut out = Vec::new();
                        this.normalizer.feed(&data, &mut out);
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                        }
                    }
                    Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                },
                Some(Err(e)) => {
                    *this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    *this.done = true;
                    let mut out = Vec::new();
                    this.normalizer.finish(&mut out);
                    if out.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// `left` one-byte frames, one every `every`.
    struct Ticks {
        left: u32,
        every: Duration,
        sleep: Pin<Box<Sleep>>,
    }

    impl Ticks {
        fn new(left: u32, every: Duration) -> Ticks {
            Ticks { left, every, sleep: Box::pin(tokio::time::sleep(every)) }
        }
    }

    impl Body for Ticks {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            ready!(self.sleep.as_mut().poll(cx));
            let next = Instant::now() + self.every;
            self.sleep.as_mut().reset(next);
            self.left -= 1;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn frames_keep_an_idle_body_alive() {
        let body =
            IdleBody::new(Ticks::new(6, Duration::from_millis(200)), Duration::from_millis(300));
        let bytes = body.collect().await.expect("no timeout").to_bytes();
        assert_eq!(bytes.len(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_silence_times_out() {
        let body =
            IdleBody::new(Ticks::new(3, Duration::from_millis(400)), Duration::from_millis(300));
        let error = body.collect().await.expect_err("times out");
        assert_eq!(error.to_string(), "upstream idle for 300 ms");
    }
}
