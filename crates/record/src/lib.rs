//! Record the LLM streams passing through an HTTP proxy of your own: each
//! response body goes to the client untouched, and a copy is parsed (off
//! the forward path, on a [`ParsePool`]) into thinking, answer, timings and
//! errors, pushed into a [`Sink`] of yours.
//!
//! - [`RecordLayer`]: a tower layer (axum, hyper, tonic) asking a
//!   [`Recorder`] — any `Fn(&Exchange) -> Option<Tap>` — for a [`Tap`] per
//!   response; [`RecordService`] and [`RecordFuture`] are its service and
//!   future.
//! - [`RecordBody`]: the body wrapper the layer uses, for a proxy that
//!   polls its own bodies.
//! - [`Exchange`]: what the recorder learns about a request and its
//!   response, credentials removed ([`headers`]); [`Exchange::tee`] sets up
//!   the tap for it.
//! - Awaiting a recording: the [`TeeHandle`] made with the tap resolves,
//!   once the body has ended and its copy is parsed, to its [`TeeReport`]
//!   and your sink, with its own type.
//! - Content encodings: the tap is told the response's
//!   `Content-Encoding`; gzip, deflate, br and zstd are decoded on the
//!   parse side (features `gzip`, `br`, `zstd`, on by default), anything
//!   else is recorded as an error, never parsed as garbage.
//! - [`IdleTimeout`]: the error a body fails with to be recorded as an
//!   upstream timeout.
//!
//! This crate depends on the pipeline and the tee, `http`, `http-body` and
//! the tower traits: not on a server, a client or TLS. `thinktee-proxy`
//! builds its proxy on it.
//!
//! # How soon records come
//! Records carry the time their bytes arrived. They reach the sink a little
//! later: the pool's workers look at their queues once per tick (1 to 8 ms
//! by default), so as to cost little per piece. A pool built with
//! `ParsePool::builder().tick(Duration::ZERO, Duration::ZERO)` wakes its
//! worker for every piece instead (see [`PoolBuilder::tick`]), for more
//! CPU per piece. Measured from a piece handed to the tap to its record in
//! the sink (one piece every 5 ms, one parse thread, a 2-core VM): median
//! 4.3 ms, 90th percentile 7.8 ms with the default tick; 0.6 ms and 1.0 ms
//! with `tick(500 µs, 1 ms)`; 20 µs and 40 µs with `tick(0, 0)`.
//!
//! # Example
//! A service answering one SSE body, wrapped in the layer; the recorder
//! collects each response's split, and the test awaits it.
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use thinktee_record::pipeline::Collector;
//! use thinktee_record::{ParsePool, RecordLayer};
//! use tokio::sync::mpsc;
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! const SSE: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"<think>hm</think>Hi\"}}]}\n\ndata: [DONE]\n\n";
//!
//! /// Your service: answers every request with one stream.
//! #[derive(Clone)]
//! struct Upstream;
//! impl Service<http::Request<()>> for Upstream {
//!     type Response = http::Response<Full<Bytes>>;
//!     type Error = Infallible;
//!     type Future = std::future::Ready<Result<Self::Response, Infallible>>;
//!     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
//!         std::task::Poll::Ready(Ok(()))
//!     }
//!     fn call(&mut self, _: http::Request<()>) -> Self::Future {
//!         let response = http::Response::builder()
//!             .header("content-type", "text/event-stream")
//!             .body(Full::new(Bytes::from_static(SSE.as_bytes())));
//!         std::future::ready(Ok(response.unwrap()))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = ParsePool::builder().threads(1).build()?;
//! let (done_tx, mut done) = mpsc::unbounded_channel();
//! // No parameter types needed: the layer names them.
//! let layer = RecordLayer::new(move |exchange| {
//!     if !exchange.is_chat_completion() {
//!         return None;
//!     }
//!     let (tap, handle) = exchange.tee(&pool).tap(Collector::new());
//!     let _ = done_tx.send(handle); // awaited below; dropping it is fine too
//!     Some(tap)
//! });
//! let mut service = layer.layer(Upstream);
//!
//! let request = http::Request::post("/v1/chat/completions").body(())?;
//! let response = service.call(request).await?;
//! let body = response.into_body().collect().await?.to_bytes();
//! assert_eq!(body, SSE.as_bytes()); // the client's bytes, untouched
//!
//! // The recording of that response: its report and the collector back.
//! let (report, mut collector) = done.recv().await.unwrap().await?;
//! let split: Vec<_> = collector.drain().collect();
//! assert_eq!((split[0].reasoning.as_str(), split[0].content.as_str()), ("hm", "Hi"));
//! assert_eq!(report.bytes_seen, SSE.len() as u64);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod body;
mod exchange;
pub mod headers;
mod layer;
mod route;

pub use body::{IdleTimeout, RecordBody};
pub use exchange::{Exchange, Recorder, content_encoding};
pub use layer::{RecordFuture, RecordLayer, RecordService};
pub use route::Route;

/// The pipeline: [`Sink`], [`Record`](thinktee_pipeline::Record),
/// [`Collector`](thinktee_pipeline::Collector), [`FnSink`](thinktee_pipeline::FnSink), ...
pub use thinktee_pipeline as pipeline;
/// The tee: [`ParsePool`], [`Tap`], [`TeeHandle`], the tee's
/// [`Builder`](thinktee_tee::Builder), [`ContentEncoding`], ...
pub use thinktee_tee as tee;

pub use thinktee_pipeline::Sink;
pub use thinktee_tee::{
    ContentEncoding, DecodeError, ParsePool, PoolBuilder, Tap, TeeHandle, TeeReport,
};
