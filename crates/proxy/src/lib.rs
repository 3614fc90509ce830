//! Transparent recording reverse proxy for OpenAI-compatible endpoints,
//! and a replay server: what the `thinktee` binary serves. (To record the
//! streams of a proxy of your own, depend on `thinktee-record` alone: its
//! body wrapper and tower layer are what this proxy records with, without
//! its server, client and TLS stack.)
//!
//! - [`Proxy`] / [`Config`] / [`Upstream`]: forwards every request to one
//!   upstream (HTTP, or HTTPS with rustls) and streams the response back as
//!   it arrives, frame by frame, handing a copy to a
//!   [`Recorder`](thinktee_record::Recorder)'s tap. Errors of its own are
//!   OpenAI-shaped JSON ([`error_response`]): 400, 408, 413, 431, 502, 503,
//!   504. Request bodies are buffered within a shared [`BodyBudget`].
//! - [`AdminServer`] / [`Readiness`]: `/healthz`, `/readyz` and
//!   `/metrics` on an address of their own, with a connection cap and an
//!   idle timeout of their own ([`ADMIN_MAX_CONNECTIONS`],
//!   [`ADMIN_IDLE_TIMEOUT`]).
//! - [`Normalizer`] / [`ReasoningTarget`]: rewrites inline `<think>` text
//!   into `reasoning_content` (or `reasoning`), copying every other field.
//! - [`replay`]: an OpenAI-compatible server that serves recordings.
//! - [`Server`]: a bound listener; `run(shutdown)` serves until shutdown,
//!   then lets open exchanges finish within a grace period. It caps open
//!   connections ([`default_max_connections`], making room by closing the
//!   oldest idle one) and closes those without a request in flight for
//!   [`DEFAULT_CLIENT_IDLE_TIMEOUT`]; [`Connections`] counts them.
//!
//! Memory per exchange is bounded: a slow client stops the proxy reading
//! from the upstream (hyper polls a body only when it can write), the tap
//! queue is bounded ([`thinktee_tee::MAX_QUEUED_BYTES`]) and never blocks
//! the stream.
//!
//! # Example
//! Normalizing a stream whose close tag is cut across two reads: nothing
//! comes out while an event is partial, then the chunk carries its thinking
//! in `reasoning_content`.
//! ```
//! use thinktee_proxy::{Normalizer, ReasoningTarget};
//! use thinktee_think::{Builder, StartMode};
//!
//! let config = Builder::new().start(StartMode::Explicit).config().unwrap();
//! let mut normalizer = Normalizer::new(ReasoningTarget::ReasoningContent, config);
//! let mut out = Vec::new();
//! normalizer.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>hm</th", &mut out);
//! assert!(out.is_empty()); // Partial: the event has not ended
//! normalizer.feed(b"ink>Hi\"}}]}\n\ndata: [DONE]\n\n", &mut out);
//! normalizer.finish(&mut out);
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\",\"reasoning_content\":\"hm\"}}]}\n\n\
//!      data: [DONE]\n\n"
//! );
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

pub mod admin;
mod body;
mod conn;
mod error;
mod h1;
pub mod headers;
mod ids;
mod json;
mod normalize;
mod proxy;
pub mod replay;
mod reply;
mod request;
mod serve;
mod upstream;

pub use admin::{
    ADMIN_IDLE_TIMEOUT, ADMIN_MAX_CONNECTIONS, ADMIN_MAX_REQUEST_HEADERS, AdminServer, Readiness,
};
pub use conn::Connections;
pub use error::Error;
pub use ids::{MAX_CLIENT_REQUEST_ID, REQUEST_ID, THINKTEE_REQUEST_ID, UPSTREAM_REQUEST_IDS};
pub use normalize::{MAX_NORMALIZE_EVENT, Normalizer, ReasoningTarget, normalize_body};
pub use proxy::{
    Config, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BUFFERED_REQUEST_BYTES,
    DEFAULT_MAX_REQUEST_BODY, DEFAULT_MAX_REQUEST_HEADERS, MAX_NORMALIZE_BODY, Proxy,
};
pub use reply::{BoxError, ProxyBody, error_json, error_response};
pub use request::BodyBudget;
pub use serve::{
    ACCEPT_ERROR_LOG_INTERVAL, DEFAULT_CLIENT_IDLE_TIMEOUT, DEFAULT_GRACE, FDS_PER_CONNECTION,
    IDLE_CLOSE_GRACE, MAX_DEFAULT_CONNECTIONS, MIN_DEFAULT_CONNECTIONS, RESERVED_FDS, Server,
    default_max_connections,
};
pub use upstream::Upstream;
