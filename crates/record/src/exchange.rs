//! What a recorder learns about one exchange, and the recorder itself.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Method, StatusCode};
use thinktee_pipeline::DocumentKind;
use thinktee_tee::{ContentEncoding, ParsePool, Tap};

use crate::Route;

/// What a [`Recorder`] learns about one exchange when its response head
/// arrives (or, in thinktee's own proxy, when the proxy answered it
/// itself).
///
/// Credentials never appear here: headers are
/// [`recordable`](crate::headers::recordable) copies and credential-like
/// query parameters are [redacted](crate::headers::redact_query).
#[derive(Debug, Clone)]
pub struct Exchange {
    /// A sequence number per layer (or proxy), from 0.
    pub id: u64,
    /// The request id: in thinktee's proxy, the client's `x-request-id` or
    /// a new UUIDv7 (returned as `x-thinktee-request-id`, forwarded as
    /// `x-request-id`); in [`RecordLayer`](crate::RecordLayer), the
    /// request's `x-request-id`, if any.
    pub request_id: Option<String>,
    /// An id unique to this exchange even when clients reuse request ids:
    /// in thinktee's proxy a UUIDv7 (the request id too when the client
    /// sent none), which its raw captures are named by; `None` in
    /// [`RecordLayer`](crate::RecordLayer).
    pub unique_id: Option<String>,
    /// When the request arrived.
    pub started: SystemTime,
    /// The same moment on the monotonic clock (record times count from it).
    pub start: tokio::time::Instant,
    /// The request method.
    pub method: Method,
    /// The request path and query (redacted).
    pub path: String,
    /// The request headers, without sensitive ones.
    pub request_headers: HeaderMap,
    /// The request body, when the one recording read it (thinktee's proxy
    /// buffers it to forward it; [`RecordLayer`](crate::RecordLayer) does
    /// not read it: empty).
    pub request_body: Bytes,
    /// The request's `model`, if its body was read and is JSON with one.
    pub model: Option<String>,
    /// The request's `stream` flag (`false` when absent or not read).
    pub stream: bool,
    /// The upstream's status: `None` when no response head came from it
    /// (unreachable, timed out, or never asked).
    pub status: Option<StatusCode>,
    /// The status the client gets: the upstream's, or the proxy's own
    /// (502, 504, 413, 431, ...) for an exchange it answered itself.
    pub response_status: Option<StatusCode>,
    /// The response headers, without sensitive ones.
    pub response_headers: HeaderMap,
    /// What the recorder keeps about the exchange between
    /// [`Recorder::prepare`] and [`Recorder::tap`] (a trace context).
    pub extensions: http::Extensions,
}

impl Exchange {
    /// A `POST` to a path ending in `/chat/completions`: what thinktee
    /// parses. Other exchanges (model lists, embeddings) can pass unrecorded.
    pub fn is_chat_completion(&self) -> bool {
        let path = self.path.split_once('?').map_or(self.path.as_str(), |(p, _)| p);
        self.method == Method::POST && path.trim_end_matches('/').ends_with("/chat/completions")
    }

    /// The LLM API call this exchange is, if it is one: a `POST` to a
    /// path [`Route::of_path`] knows (chat completions, Responses,
    /// Messages, Gemini's `generateContent` and `streamGenerateContent`).
    pub fn route(&self) -> Option<Route<'_>> {
        (self.method == Method::POST).then(|| Route::of_path(&self.path)).flatten()
    }

    /// Whether the response body is an SSE stream.
    pub fn is_event_stream(&self) -> bool {
        self.document_kind() == DocumentKind::Sse
    }

    /// How to read the response body: SSE for `text/event-stream`, else
    /// JSON (a `chat.completion` or an `{"error":...}` body).
    pub fn document_kind(&self) -> DocumentKind {
        match self.response_headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
            Some(ct) if ct.trim_start().to_ascii_lowercase().starts_with("text/event-stream") => {
                DocumentKind::Sse
            }
            _ => DocumentKind::Json,
        }
    }

    /// The response body's `Content-Encoding`.
    pub fn content_encoding(&self) -> ContentEncoding {
        content_encoding(&self.response_headers)
    }

    /// A tee set up for this exchange's response body, parsed on `pool`:
    /// record times from the request's start, the document kind and the
    /// content encoding from the response headers. Finish it with
    /// [`tap`](thinktee_tee::Builder::tap), or change it first.
    pub fn tee(&self, pool: &ParsePool) -> thinktee_tee::Builder {
        thinktee_tee::Builder::new(pool)
            .start(self.start)
            .document(self.document_kind())
            .content_encoding(self.content_encoding())
    }
}

/// The `Content-Encoding` of a header block (several header lines are
/// one list).
pub fn content_encoding(headers: &HeaderMap) -> ContentEncoding {
    let mut values = headers.get_all(header::CONTENT_ENCODING).iter();
    let Some(first) = values.next() else { return ContentEncoding::Identity };
    let mut list = String::from_utf8_lossy(first.as_bytes()).into_owned();
    for value in values {
        list.push(',');
        list.push_str(&String::from_utf8_lossy(value.as_bytes()));
    }
    ContentEncoding::parse(&list)
}

/// Decides, per exchange, whether and where its response body is recorded.
///
/// Any `Fn(&Exchange) -> Option<Tap>` is one.
pub trait Recorder: Send + Sync + 'static {
    /// The tap to hand this exchange's response body to, or `None` to pass
    /// it through unrecorded. Make it with [`Exchange::tee`] and keep its
    /// [`TeeHandle`](thinktee_tee::TeeHandle) to await the recording (and
    /// get the sink back), or drop the handle: the recording goes on.
    ///
    /// The caller tells the tap the body's content encoding, and how the
    /// body ended. In thinktee's proxy every exchange is offered: when the
    /// proxy answered it itself (`exchange.status` is `None`,
    /// `exchange.response_status` is its own status) the tap gets no bytes
    /// and ends at once with what happened.
    fn tap(&self, exchange: &Exchange) -> Option<Tap>;

    /// Called before the request goes on, with the headers it will carry:
    /// a recorder may change them (a `traceparent` naming its span) and
    /// keep what it will need in [`Exchange::extensions`] for
    /// [`tap`](Recorder::tap). Does nothing by default.
    fn prepare(&self, exchange: &mut Exchange, headers: &mut HeaderMap) {
        let _ = (exchange, headers);
    }
}

impl<F> Recorder for F
where
    F: Fn(&Exchange) -> Option<Tap> + Send + Sync + 'static,
{
    fn tap(&self, exchange: &Exchange) -> Option<Tap> {
        self(exchange)
    }
}
