//! Body wrappers: time out an idle upstream, normalize inline thinking.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use thinktee_pipeline::{ErrorKind, StreamError};
use thinktee_record::{IdleTimeout, RecordBody};
use tokio::time::{Instant, Sleep};

use crate::normalize::Normalizer;
use crate::reply::{BoxError, ProxyBody};

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

/// A response body the proxy can note things about in its recording (a
/// [`RecordBody`]), or one that is not recorded.
pub(crate) trait Noted:
    Body<Data = Bytes, Error = BoxError> + Unpin + Send + 'static
{
    /// Records `error` after the data passed so far (nothing when not
    /// recorded).
    fn note(&mut self, error: StreamError);
}

impl Noted for ProxyBody {
    fn note(&mut self, _: StreamError) {}
}

impl Noted for RecordBody<ProxyBody> {
    fn note(&mut self, error: StreamError) {
        self.error(error);
    }
}

/// Says once per proxy that a response passed through unnormalized.
#[derive(Debug, Default)]
pub(crate) struct WarnOnce(AtomicBool);

impl WarnOnce {
    pub(crate) fn not_normalized(&self, what: &str, limit: usize) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                limit,
                "{what} is larger than the normalize limit: passed through unnormalized (said once)"
            );
        }
    }
}

/// The error a recording gets when the client got a response unnormalized.
pub(crate) fn not_normalized(message: String) -> StreamError {
    StreamError { kind: ErrorKind::NotNormalized, code: None, message }
}

/// Re-frames an SSE body through a [`Normalizer`]. An error from the
/// wrapped body is passed on without flushing held text, so the client
/// sees the same early end. An event too long to rewrite passes through
/// with the rest of the body; the recording says so, and the proxy warns
/// once.
pub(crate) struct NormalizeBody<B> {
    inner: B,
    normalizer: Normalizer,
    done: bool,
    warn: Arc<WarnOnce>,
    limit: usize,
}

impl<B> NormalizeBody<B> {
    pub(crate) fn new(
        inner: B,
        normalizer: Normalizer,
        warn: Arc<WarnOnce>,
        limit: usize,
    ) -> NormalizeBody<B> {
        NormalizeBody { inner, normalizer, done: false, warn, limit }
    }
}

impl<B: Noted> NormalizeBody<B> {
    fn feed(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let before = self.normalizer.is_passing_through();
        self.normalizer.feed(data, &mut out);
        if !before && self.normalizer.is_passing_through() {
            self.warn.not_normalized("an SSE event", self.limit);
            self.inner.note(not_normalized(format!(
                "an event over {} bytes could not be normalized: it and the rest of the stream \
                 went to the client as the upstream sent them",
                self.limit
            )));
        }
        out
    }
}

impl<B: Noted> Body for NormalizeBody<B> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let out = this.feed(&data);
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                        }
                    }
                    Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                },
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    this.done = true;
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
