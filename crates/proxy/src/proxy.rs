//! The transparent recording reverse proxy.

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use thinktee_pipeline::InputEnd;
use thinktee_record::headers::{recordable, redact_query};
use thinktee_record::{Exchange, RecordBody, Recorder};
use thinktee_tee::{ShutdownFlag, Tap};
use thinktee_think::{Config as SplitterConfig, StartMode};

use crate::Error;
use crate::body::{IdleBody, NormalizeBody, Noted, WarnOnce, not_normalized};
use crate::h1::UpstreamClient;
use crate::headers::{self, strip_hop_by_hop};
use crate::ids::{Ids, REQUEST_ID, THINKTEE_REQUEST_ID};
use crate::normalize::{MAX_NORMALIZE_EVENT, Normalizer, ReasoningTarget, normalize_body};
use crate::reply::{BoxError, ProxyBody, close_after, error_response, failed, full};
use crate::request::{BodyBudget, BodyLimits, Unread, read_body};
use crate::serve::{DEFAULT_CLIENT_IDLE_TIMEOUT, Handler, Server};
use crate::upstream::{Upstream, client, connector};

/// Default largest request body accepted (32 MiB: room for base64 images).
pub const DEFAULT_MAX_REQUEST_BODY: usize = 32 << 20;
/// Default largest request header block accepted (64 KiB).
pub const DEFAULT_MAX_REQUEST_HEADERS: usize = 64 << 10;
/// Default time allowed to connect to the upstream.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest silence from the upstream (waiting for the response
/// head, or between two body reads) before the exchange is failed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default largest non-streaming body buffered to normalize it (64 MiB):
/// a larger one is passed through unnormalized (what was buffered, then
/// the rest as it comes), recorded as usual with a `not_normalized` error
/// saying so, and a warning is logged once. (An SSE event past
/// [`MAX_NORMALIZE_EVENT`](crate::MAX_NORMALIZE_EVENT) is treated the same
/// way, with the rest of its stream.)
pub const MAX_NORMALIZE_BODY: usize = 64 << 20;
/// Default budget for request bodies buffered at once, across all
/// requests (256 MiB: eight bodies of the default largest size).
pub const DEFAULT_MAX_BUFFERED_REQUEST_BYTES: usize = 256 << 20;

/// How a [`Proxy`] behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where every request goes.
    pub upstream: Upstream,
    /// Rewrite the inline thinking of successful chat-completion responses
    /// into this delta field (`None`: forward the upstream's bytes
    /// untouched; other APIs' responses are always forwarded untouched).
    pub normalize: Option<ReasoningTarget>,
    /// The splitter policy used to normalize. Its start mode must not be
    /// `auto` when normalizing ([`Proxy::new`] refuses it).
    pub splitter: SplitterConfig,
    /// Connect timeout (`None`: the OS default).
    pub connect_timeout: Option<Duration>,
    /// Idle timeout (`None`: wait forever).
    pub idle_timeout: Option<Duration>,
    /// Largest request body; larger ones get 413.
    pub max_request_body: usize,
    /// Largest request header block; larger ones get 431.
    pub max_request_headers: usize,
    /// Request body bytes buffered at once across all requests (at least
    /// `max_request_body`); a request that does not fit gets 503 with
    /// `Retry-After: 1`. See [`BodyBudget`].
    pub max_buffered_request_bytes: usize,
    /// How long a client may go without a request in flight before its
    /// connection is closed, and the longest silence inside a request body
    /// (then 408). `None`: forever. See [`Server::client_idle_timeout`].
    pub client_idle_timeout: Option<Duration>,
    /// Largest non-streaming body buffered to normalize it; larger ones
    /// pass through unnormalized (see [`MAX_NORMALIZE_BODY`]).
    pub max_normalize_body: usize,
    /// Largest SSE event normalized; from a larger one on, the stream
    /// passes through unnormalized (see [`MAX_NORMALIZE_EVENT`]).
    pub max_normalize_event: usize,
    /// Extra trusted roots for an `https` upstream, PEM (the bundled
    /// Mozilla roots are always trusted).
    pub upstream_ca_pem: Option<Vec<u8>>,
}

impl Config {
    /// Defaults for everything but the upstream.
    pub fn new(upstream: Upstream) -> Config {
        Config {
            upstream,
            normalize: None,
            splitter: SplitterConfig::default(),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
            max_request_headers: DEFAULT_MAX_REQUEST_HEADERS,
            max_normalize_body: MAX_NORMALIZE_BODY,
            max_normalize_event: MAX_NORMALIZE_EVENT,
            max_buffered_request_bytes: DEFAULT_MAX_BUFFERED_REQUEST_BYTES,
            client_idle_timeout: Some(DEFAULT_CLIENT_IDLE_TIMEOUT),
            upstream_ca_pem: None,
        }
    }
}

/// A transparent reverse proxy in front of one OpenAI-compatible upstream.
///
/// It forwards method, path, query, headers (minus hop-by-hop ones; `Host`
/// is the upstream's) and body, and streams the response back frame by
/// frame as it arrives, handing a copy to the [`Recorder`]'s tap. Every
/// exchange is offered to the recorder: when the proxy answered it itself
/// (`exchange.status` is `None`, `exchange.response_status` is its own
/// status) the tap gets no bytes and ends at once with what happened:
/// [`InputEnd::UpstreamUnreachable`] (502), [`InputEnd::UpstreamTimeout`]
/// (504), [`InputEnd::Rejected`] (413, 431, 400, 503),
/// [`InputEnd::RequestTimeout`] (408); set
/// [`Options::record_empty`](thinktee_pipeline::Options::record_empty) for
/// those to leave a record. Taps are told the response's content encoding
/// and the proxy's [`ShutdownFlag`]. Cloning is cheap (the client pool is
/// shared).
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    client: UpstreamClient,
    recorder: Option<Box<dyn Recorder>>,
    next_id: AtomicU64,
    /// Set when the server cuts what is still open at shutdown.
    shutdown: ShutdownFlag,
    /// A body or event over its normalize limit was passed through: said
    /// once.
    warned_normalize: Arc<WarnOnce>,
    budget: BodyBudget,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("config", &self.shared.config)
            .field("recording", &self.shared.recorder.is_some())
            .finish()
    }
}

/// Why the proxy answers a request itself instead of forwarding it.
#[derive(Debug)]
enum Refusal {
    /// The header block is over `max_request_headers` (431).
    HeadersTooLarge,
    /// The body was not read: too large (413), unreadable (400), stalled
    /// (408) or over the budget (503).
    Body(Unread),
}

/// What the request body says, as far as the proxy cares.
#[derive(serde::Deserialize)]
struct RequestSummary {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
}

impl Proxy {
    /// A proxy without a recorder. Fails if the TLS client cannot be set
    /// up, or if normalization is asked for with start mode `auto`.
    pub fn new(config: Config) -> Result<Proxy, Error> {
        Proxy::with_recorder(config, None)
    }

    /// A proxy handing each exchange's response to `recorder`.
    pub fn with_recorder(
        config: Config,
        recorder: Option<Box<dyn Recorder>>,
    ) -> Result<Proxy, Error> {
        if config.normalize.is_some() && config.splitter.start() == StartMode::Auto {
            return Err(Error::InvalidConfig(
                "normalizing needs start mode explicit or implicit: auto holds undecided text back from the client".into(),
            ));
        }
        if config.max_buffered_request_bytes < config.max_request_body {
            return Err(Error::InvalidConfig(format!(
                "the request body budget ({} bytes) is below the largest request body ({} bytes): \
                 such a request could never be buffered",
                config.max_buffered_request_bytes, config.max_request_body
            )));
        }
        let connector = connector(config.connect_timeout, config.upstream_ca_pem.as_deref())?;
        let client =
            UpstreamClient::new(config.upstream.clone(), connector.clone(), client(connector));
        Ok(Proxy {
            shared: Arc::new(Shared {
                budget: BodyBudget::new(config.max_buffered_request_bytes),
                config,
                client,
                recorder,
                next_id: AtomicU64::new(0),
                shutdown: ShutdownFlag::new(),
                warned_normalize: Arc::default(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The flag the server sets when it cuts open exchanges at shutdown
    /// (its grace period ended): recordings cut after it end as
    /// [`InputEnd::Shutdown`]. Set it yourself before dropping the server's
    /// task to stop at once.
    pub fn shutdown_flag(&self) -> ShutdownFlag {
        self.shared.shutdown.clone()
    }

    /// The budget request bodies are buffered within (its gauge returns to
    /// 0 when no request body is held).
    pub fn body_budget(&self) -> &BodyBudget {
        &self.shared.budget
    }

    /// Binds `addr`; [`Server::run`] then serves this proxy there. The
    /// server's client idle timeout is the configuration's.
    pub async fn bind(&self, addr: SocketAddr) -> Result<Server, Error> {
        let proxy = self.clone();
        let handler: Handler = Arc::new(move |req| {
            let proxy = proxy.clone();
            Box::pin(async move { proxy.handle(req).await })
        });
        let config = &self.shared.config;
        let server = Server::bind(addr, handler, config.max_request_headers).await?;
        Ok(server
            .client_idle_timeout(config.client_idle_timeout)
            .shutdown_flag(self.shared.shutdown.clone()))
    }

    /// Proxies one request: usable as the body of any hyper or tower
    /// service. Never fails: errors become OpenAI-shaped JSON responses
    /// (413, 431, 400, 502, 504), and every exchange is offered to the
    /// recorder, those it answered itself too.
    ///
    /// Every response carries the exchange's request id as
    /// `x-thinktee-request-id` (see [`THINKTEE_REQUEST_ID`](crate::THINKTEE_REQUEST_ID)),
    /// and a streaming one `X-Accel-Buffering: no`, so that a buffering
    /// reverse proxy in front (nginx) passes events on as they come.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<ProxyBody>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let ids = Ids::for_request(req.headers());
        let request_id = ids.request.clone();
        let mut response = self.exchange(req, ids).await;
        let headers = response.headers_mut();
        headers.insert(THINKTEE_REQUEST_ID, request_id);
        if is_event_stream(headers) {
            headers.insert(ACCEL_BUFFERING, HeaderValue::from_static("no"));
        }
        response
    }

    /// [`handle`](Proxy::handle) but for the response headers it adds.
    async fn exchange<B>(&self, req: Request<B>, ids: Ids) -> Response<ProxyBody>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let shared = &*self.shared;
        let config = &shared.config;
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let started = SystemTime::now();
        let start = tokio::time::Instant::now();
        let (parts, body) = req.into_parts();
        let path = redact_query(parts.uri.path_and_query().map_or("/", |pq| pq.as_str()));
        let header_bytes = headers::block_size(&parts.headers);
        let mut headers = parts.headers;
        strip_hop_by_hop(&mut headers);
        // The client set Host for us; the upstream's comes from its URI.
        headers.remove(header::HOST);
        // Compressed bodies could not be parsed: ask for identity.
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        // The upstream learns the id the client is told.
        headers.insert(REQUEST_ID, ids.request.clone());
        let mut exchange = Exchange {
            id,
            request_id: Some(ids.request_str().to_owned()),
            unique_id: Some(ids.unique),
            started,
            start,
            method: parts.method.clone(),
            path,
            request_headers: recordable(&headers),
            request_body: Bytes::new(),
            model: None,
            stream: false,
            status: None,
            response_status: None,
            response_headers: HeaderMap::new(),
            extensions: http::Extensions::new(),
        };
        if let Some(recorder) = &shared.recorder {
            recorder.prepare(&mut exchange, &mut headers);
            exchange.request_headers = recordable(&headers);
        }
        if header_bytes > config.max_request_headers {
            return self.refuse(exchange, parts.version, Refusal::HeadersTooLarge);
        }
        let declared =
            headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let limits =
            BodyLimits { max_bytes: config.max_request_body, stall: config.client_idle_timeout };
        let (request_body, reservation) =
            match read_body(body, declared, limits, Some(&shared.budget)).await {
                Ok(read) => read,
                Err(unread) => {
                    return self.refuse(exchange, parts.version, Refusal::Body(unread));
                }
            };
        let summary = summarize(&request_body);
        exchange.request_body = request_body.clone();
        // Gemini names the model and the streaming in the path, not the body.
        let route = exchange.route();
        let path_model = route.and_then(|r| r.model).map(str::to_owned);
        exchange.stream = route.and_then(|r| r.stream).or(summary.stream).unwrap_or(false);
        exchange.model = summary.model.or(path_model);

        let mut upstream_req = Request::new(request_body);
        *upstream_req.method_mut() = parts.method;
        *upstream_req.uri_mut() = config.upstream.uri_for(parts.uri.path_and_query());
        *upstream_req.version_mut() = Version::HTTP_11;
        *upstream_req.headers_mut() = headers;

        let sent = shared.client.request(upstream_req);
        let result = match config.idle_timeout {
            Some(t) => tokio::time::timeout(t, sent).await.map_err(|_| t),
            None => Ok(sent.await),
        };
        let response = match result {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                let why = error_chain(&*e);
                tracing::warn!(id, path = %exchange.path, error = %why, "upstream unreachable");
                return self.reply_own(
                    exchange,
                    OwnReply {
                        status: StatusCode::BAD_GATEWAY,
                        message: format!(
                            "thinktee proxy: upstream {} unreachable: {why}",
                            config.upstream
                        ),
                        end: InputEnd::UpstreamUnreachable(why),
                        kind: "upstream_error",
                        code: Some("bad_gateway"),
                    },
                );
            }
            Err(t) => {
                let why = format!("no response head within {} s", t.as_secs_f64());
                tracing::warn!(id, path = %exchange.path, "upstream timed out");
                return self.reply_own(
                    exchange,
                    OwnReply {
                        status: StatusCode::GATEWAY_TIMEOUT,
                        message: format!("thinktee proxy: upstream {}: {why}", config.upstream),
                        end: InputEnd::UpstreamTimeout(why),
                        kind: "upstream_error",
                        code: Some("gateway_timeout"),
                    },
                );
            }
        };

        let (mut head, body) = response.into_parts();
        strip_hop_by_hop(&mut head.headers);
        head.version = Version::HTTP_11;
        exchange.status = Some(head.status);
        exchange.response_status = Some(head.status);
        exchange.response_headers = recordable(&head.headers);
        tracing::info!(id, request_id = exchange.request_id.as_deref(), method = %exchange.method, path = %exchange.path, status = head.status.as_u16(), "proxied");
        let tap = self.tap(&exchange);
        let event_stream = exchange.is_event_stream();
        // Only chat completions carry inline thinking to move.
        let chat = exchange.is_chat_completion();
        // The request body has gone upstream: its bytes leave the budget.
        drop(exchange);
        drop(reservation);
        let body: ProxyBody = match config.idle_timeout {
            Some(t) => IdleBody::new(body, t).boxed_unsync(),
            None => body.boxed_unsync(),
        };
        let normalize = config.normalize.filter(|_| chat && head.status.is_success());
        let body = match (tap, normalize) {
            (None, None) => body,
            (Some(tap), None) => RecordBody::new(body, tap).boxed_unsync(),
            (Some(tap), Some(field)) => {
                let body = RecordBody::new(body, tap);
                self.normalize(body, field, event_stream, &mut head.headers).await
            }
            (None, Some(field)) => {
                self.normalize(body, field, event_stream, &mut head.headers).await
            }
        };
        Response::from_parts(head, body)
    }

    /// Rewrites a successful response's inline thinking into `field`, as
    /// it streams or (not a stream) once it is whole.
    async fn normalize<B: Noted>(
        &self,
        body: B,
        field: ReasoningTarget,
        event_stream: bool,
        headers: &mut HeaderMap,
    ) -> ProxyBody {
        let config = &self.shared.config;
        if !event_stream {
            return self.normalize_whole(body, field, headers).await;
        }
        headers.remove(header::CONTENT_LENGTH);
        let max = config.max_normalize_event;
        let normalizer = Normalizer::with_max_event(field, config.splitter.clone(), max);
        let warn = self.shared.warned_normalize.clone();
        NormalizeBody::new(body, normalizer, warn, max).boxed_unsync()
    }

    /// Answers an exchange itself (no upstream response): records it, with
    /// `reply.status` as the status the client got and `reply.end` as how
    /// it ended, and returns the OpenAI-shaped error response.
    fn reply_own(&self, mut exchange: Exchange, reply: OwnReply) -> Response<ProxyBody> {
        exchange.response_status = Some(reply.status);
        self.record_unanswered(&exchange, reply.end);
        error_response(reply.status, &reply.message, reply.kind, reply.code)
    }

    /// Offers an exchange that gets no upstream response to the recorder;
    /// its tap gets no bytes and ends at once with `end`.
    fn record_unanswered(&self, exchange: &Exchange, end: InputEnd) {
        if let Some(mut tap) = self.tap(exchange) {
            tap.end(end);
        }
    }

    /// The recorder's tap for an exchange, told the body's encoding and
    /// the shutdown flag.
    fn tap(&self, exchange: &Exchange) -> Option<Tap> {
        let mut tap = self.shared.recorder.as_ref()?.tap(exchange)?;
        tap.content_encoding(exchange.content_encoding());
        tap.set_shutdown_flag(self.shared.shutdown.clone());
        Some(tap)
    }

    /// Answers a request the proxy will not forward (431, 413, 400, 408,
    /// 503), and records it as [`InputEnd::Rejected`] or
    /// [`InputEnd::RequestTimeout`].
    fn refuse(
        &self,
        exchange: Exchange,
        version: Version,
        refusal: Refusal,
    ) -> Response<ProxyBody> {
        let config = &self.shared.config;
        let (id, path) = (exchange.id, exchange.path.as_str());
        let rejected = |status, message: String, code| OwnReply {
            status,
            end: InputEnd::Rejected(message.clone()),
            message,
            kind: "invalid_request_error",
            code,
        };
        let reply = match &refusal {
            Refusal::HeadersTooLarge => {
                tracing::info!(id, %path, "request headers over the limit");
                rejected(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    format!("request headers exceed {} bytes", config.max_request_headers),
                    Some("request_header_fields_too_large"),
                )
            }
            Refusal::Body(Unread::TooLarge) => {
                tracing::info!(id, %path, "request body over the limit");
                rejected(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body exceeds {} bytes", config.max_request_body),
                    Some("request_too_large"),
                )
            }
            Refusal::Body(Unread::Broken(e)) => {
                tracing::info!(id, %path, error = %e, "could not read the request body");
                OwnReply {
                    end: InputEnd::Rejected(format!("could not read the request body: {e}")),
                    ..rejected(
                        StatusCode::BAD_REQUEST,
                        "could not read the request body".into(),
                        None,
                    )
                }
            }
            Refusal::Body(Unread::Stalled(after)) => {
                tracing::info!(id, %path, "request body stalled");
                OwnReply {
                    end: InputEnd::RequestTimeout,
                    ..rejected(
                        StatusCode::REQUEST_TIMEOUT,
                        format!("no request body bytes for {} s", after.as_secs_f64()),
                        Some("request_timeout"),
                    )
                }
            }
            Refusal::Body(Unread::OverBudget) => {
                tracing::warn!(id, %path, "request body budget full");
                OwnReply {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    end: InputEnd::Rejected("request body budget full".into()),
                    message: format!(
                        "thinktee proxy: request bodies in flight already take {} bytes; retry shortly",
                        config.max_buffered_request_bytes
                    ),
                    kind: "server_error",
                    code: Some("request_buffer_full"),
                }
            }
        };
        let mut response = self.reply_own(exchange, reply);
        if let Refusal::Body(Unread::OverBudget) = refusal {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if matches!(refusal, Refusal::Body(Unread::Stalled(_) | Unread::OverBudget)) {
            close_after(&mut response, version);
        }
        response
    }

    /// Buffers a non-streaming body (up to `max_normalize_body`) and
    /// normalizes it if it is a `chat.completion` with inline thinking. A
    /// larger body is not rewritten and not broken: what was buffered is
    /// sent, then the rest as it comes (a warning says so, once).
    async fn normalize_whole<B: Noted>(
        &self,
        mut body: B,
        field: ReasoningTarget,
        headers: &mut HeaderMap,
    ) -> ProxyBody {
        let config = &self.shared.config;
        let max = config.max_normalize_body;
        if body.size_hint().lower() > max as u64 {
            self.not_normalized(&mut body);
            return body.boxed_unsync();
        }
        let mut buf = Vec::new();
        while let Some(frame) = body.frame().await {
            match frame.map(Frame::into_data) {
                Ok(Ok(data)) if buf.len() + data.len() <= max => buf.extend_from_slice(&data),
                Ok(Ok(data)) => {
                    self.not_normalized(&mut body);
                    let prefix = vec![Bytes::from(buf), data];
                    let rest = body.boxed_unsync();
                    return Prefixed { prefix: prefix.into(), rest }.boxed_unsync();
                }
                Ok(Err(_trailers)) => {}
                Err(e) => return failed(e),
            }
        }
        let bytes = Bytes::from(buf);
        let Ok(text) = std::str::from_utf8(&bytes) else { return full(bytes) };
        match normalize_body(text, field, &config.splitter) {
            Some(new) => {
                headers.remove(header::CONTENT_LENGTH);
                full(new)
            }
            None => full(bytes),
        }
    }

    /// A non-streaming body is too large to normalize: it passes through,
    /// its recording says so, and the proxy warns once.
    fn not_normalized<B: Noted>(&self, body: &mut B) {
        let limit = self.shared.config.max_normalize_body;
        self.shared.warned_normalize.not_normalized("a non-streaming response", limit);
        body.note(not_normalized(format!(
            "the body is over {limit} bytes: it went to the client as the upstream sent it, \
             not normalized"
        )));
    }
}

/// Tells nginx (and proxies that copy it) not to buffer a response.
const ACCEL_BUFFERING: http::HeaderName = http::HeaderName::from_static("x-accel-buffering");

/// Whether a response head says `text/event-stream`.
fn is_event_stream(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        ct.trim_start().get(..17).is_some_and(|t| t.eq_ignore_ascii_case("text/event-stream"))
    })
}

fn summarize(body: &[u8]) -> RequestSummary {
    let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let parsed = if looks_json { serde_json::from_slice(body).ok() } else { None };
    parsed.unwrap_or(RequestSummary { model: None, stream: None })
}

/// `error: cause: cause`, for messages that name no secrets (hyper's
/// errors carry no headers).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// An answer the proxy gives itself: the OpenAI-shaped error the client
/// gets, and how the exchange's recording ends. (The 408 and 503 the
/// proxy may add go through [`Proxy::reply_own`] the same way.)
struct OwnReply {
    status: StatusCode,
    end: InputEnd,
    message: String,
    kind: &'static str,
    code: Option<&'static str>,
}

/// A body that was partly read: the pieces read, then the rest.
struct Prefixed {
    prefix: std::collections::VecDeque<Bytes>,
    rest: ProxyBody,
}

impl Body for Prefixed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        while let Some(piece) = self.prefix.pop_front() {
            if !piece.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let prefix: u64 = self.prefix.iter().map(|p| p.len() as u64).sum();
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + prefix);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + prefix);
        }
        hint
    }
}
