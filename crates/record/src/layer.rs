//! A tower [`Layer`] that records the response bodies of any HTTP service.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use thinktee_tee::Tap;

use crate::body::RecordBody;
use crate::exchange::{Exchange, Recorder};
use crate::headers::{recordable, redact_query};

/// Wraps a service so each response body is a [`RecordBody`] handing a
/// copy to the [`Tap`] its [`Recorder`] gives: the way to record streams in
/// a proxy of your own (see `examples/axum.rs`). The tap is told the
/// response's `Content-Encoding`.
///
/// The request body is not read, so [`Exchange::request_body`] is empty,
/// [`Exchange::model`] is `None` and [`Exchange::stream`] is `false`.
pub struct RecordLayer<R> {
    recorder: Arc<R>,
}

impl<F> RecordLayer<F>
where
    F: Fn(&Exchange) -> Option<Tap> + Send + Sync + 'static,
{
    /// A layer asking `recorder` for a tap per response. The closure's
    /// parameter type comes from here: `RecordLayer::new(|exchange| ...)`
    /// needs no annotation.
    pub fn new(recorder: F) -> RecordLayer<F> {
        RecordLayer { recorder: Arc::new(recorder) }
    }
}

impl<R: Recorder> RecordLayer<R> {
    /// A layer asking `recorder` (any [`Recorder`], a closure or not) for
    /// a tap per response.
    pub fn with_recorder(recorder: R) -> RecordLayer<R> {
        RecordLayer { recorder: Arc::new(recorder) }
    }
}

impl<R> Clone for RecordLayer<R> {
    fn clone(&self) -> Self {
        RecordLayer { recorder: self.recorder.clone() }
    }
}

impl<R> fmt::Debug for RecordLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordLayer").finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for RecordLayer<R> {
    type Service = RecordService<S, R>;
    fn layer(&self, inner: S) -> RecordService<S, R> {
        RecordService { inner, recorder: self.recorder.clone(), next_id: Arc::default() }
    }
}

/// The service made by [`RecordLayer`].
pub struct RecordService<S, R> {
    inner: S,
    recorder: Arc<R>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

impl<S: Clone, R> Clone for RecordService<S, R> {
    fn clone(&self) -> Self {
        RecordService {
            inner: self.inner.clone(),
            recorder: self.recorder.clone(),
            next_id: self.next_id.clone(),
        }
    }
}

impl<S, R> fmt::Debug for RecordService<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordService").finish_non_exhaustive()
    }
}

impl<S, R, ReqB, ResB> Service<Request<ReqB>> for RecordService<S, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    R: Recorder,
    ResB: Body<Data = Bytes>,
    ResB::Error: fmt::Display + 'static,
{
    type Response = Response<RecordBody<ResB>>;
    type Error = S::Error;
    type Future = RecordFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut exchange = Exchange {
            id,
            request_id: req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            unique_id: None,
            started: SystemTime::now(),
            start: tokio::time::Instant::now(),
            method: req.method().clone(),
            path: redact_query(req.uri().path_and_query().map_or("/", |pq| pq.as_str())),
            request_headers: recordable(req.headers()),
            request_body: Bytes::new(),
            model: None,
            stream: false,
            status: None,
            response_status: None,
            response_headers: HeaderMap::new(),
            extensions: http::Extensions::new(),
        };
        self.recorder.prepare(&mut exchange, req.headers_mut());
        exchange.request_headers = recordable(req.headers());
        RecordFuture {
            inner: self.inner.call(req),
            exchange: Some(exchange),
            recorder: self.recorder.clone(),
        }
    }
}

pin_project! {
    /// The future of [`RecordService`].
    pub struct RecordFuture<F, R> {
        #[pin]
        inner: F,
        exchange: Option<Exchange>,
        recorder: Arc<R>,
    }
}

impl<F, R> fmt::Debug for RecordFuture<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordFuture").finish_non_exhaustive()
    }
}

impl<F, R, ResB, E> Future for RecordFuture<F, R>
where
    F: Future<Output = Result<Response<ResB>, E>>,
    R: Recorder,
    ResB: Body<Data = Bytes>,
    ResB::Error: fmt::Display + 'static,
{
    type Output = Result<Response<RecordBody<ResB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let tap = this.exchange.take().and_then(|mut exchange| {
            exchange.status = Some(response.status());
            exchange.response_status = Some(response.status());
            exchange.response_headers = recordable(response.headers());
            let mut tap = this.recorder.tap(&exchange)?;
            tap.content_encoding(exchange.content_encoding());
            Some(tap)
        });
        Poll::Ready(Ok(response.map(|body| match tap {
            Some(tap) => RecordBody::new(body, tap),
            None => RecordBody::passthrough(body),
        })))
    }
}
