//! The body wrapper: passes frames through and taps a copy.

use std::any::Any;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use thinktee_pipeline::{InputEnd, StreamError};
use thinktee_tee::Tap;

/// A boxed error, as bodies of boxed types carry them.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An HTTP body that passes its frames through unchanged and hands a copy
/// of its data to a [`Tap`]: the copy is queued (never waited on) and
/// parsed on the [`ParsePool`](crate::ParsePool) the tap was made for.
///
/// The tap learns how the body ended: [`InputEnd::Complete`] at its end;
/// when the wrapped body fails (the error is passed on, so the client sees
/// the same early end), [`InputEnd::UpstreamTimeout`] if the error is an
/// [`IdleTimeout`] (found by its type, in a boxed error's source chain
/// too) and [`InputEnd::UpstreamError`] otherwise; and
/// [`InputEnd::ClientCancelled`] when this body is dropped first (hyper
/// drops a response body when its client disconnects; that drops the
/// wrapped upstream body, which cancels the upstream request), or
/// [`InputEnd::Shutdown`] once the tap's
/// [`ShutdownFlag`](crate::tee::ShutdownFlag) is set.
///
/// A body with a `Content-Encoding` must say so to the tap first
/// ([`Tap::content_encoding`]; [`RecordLayer`](crate::RecordLayer) does).
/// While recording, the size hint is unknown (a `content-length` header
/// still frames the response).
pub struct RecordBody<B> {
    inner: Pin<Box<B>>,
    tap: Option<Tap>,
    /// The wrapped body has given its last frame: the tap is told so when
    /// this body ends or is dropped, whichever comes first, so that
    /// [`error`](RecordBody::error) can still add to the recording.
    complete: bool,
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
    /// Wraps `inner`, handing a copy of it to `tap`.
    pub fn new(inner: B, tap: Tap) -> RecordBody<B> {
        // An empty length-framed body is never polled at all.
        let complete = inner.is_end_stream();
        RecordBody { inner: Box::pin(inner), tap: Some(tap), complete }
    }

    /// Wraps `inner` without recording it.
    pub fn passthrough(inner: B) -> RecordBody<B> {
        RecordBody { inner: Box::pin(inner), tap: None, complete: false }
    }

    /// Records `error` in this body's recording, after the data passed on
    /// so far: something the parser cannot see in the bytes (say, that the
    /// client got the rest of them unrewritten).
    pub fn error(&mut self, error: StreamError) {
        if let Some(tap) = &mut self.tap {
            tap.error(error);
        }
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
                    this.complete |= this.inner.is_end_stream();
                }
                Some(Err(e)) => tap.end(input_end_of(e)),
                None => tap.end(InputEnd::Complete),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        // Until the recording knows the end, polling must reach it.
        let known = self.complete || self.tap.as_ref().is_none_or(Tap::is_ended);
        known && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.tap {
            Some(_) => SizeHint::default(),
            None => self.inner.size_hint(),
        }
    }
}

impl<B> Drop for RecordBody<B> {
    fn drop(&mut self) {
        if let (true, Some(tap)) = (self.complete, &mut self.tap) {
            tap.end(InputEnd::Complete);
        }
        // Otherwise the tap, dropped before its end, ends as cancelled.
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

/// The upstream sent nothing for longer than an idle timeout: a body that
/// fails with this error (itself, or boxed, or as the source of one) is
/// recorded as [`InputEnd::UpstreamTimeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleTimeout(pub Duration);

impl fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream idle for {} ms", self.0.as_millis())
    }
}

impl std::error::Error for IdleTimeout {}
