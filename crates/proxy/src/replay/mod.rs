//! An OpenAI-compatible upstream that serves recorded streams: for tests,
//! demos and load tests.
//!
//! Routes (`POST`, any query string such as `?api-version=...`):
//! `/v1/chat/completions`, `/chat/completions`, `/openai/v1/chat/completions`,
//! `/openai/deployments/{name}/chat/completions`, `/models/chat/completions`.
//! Anything else is a 404 (405 for another method on a known route) with an
//! OpenAI-shaped JSON error.
//!
//! The fixture is the one the `x-thinktee-fixture: <stem>` request header
//! names, else the next one round-robin. The response says which in its own
//! `x-thinktee-fixture` header.
//!
//! - A recorded stream, asked for with `"stream": true`, is sent byte for
//!   byte as `text/event-stream`, one frame per SSE event, with
//!   [`Replay::chunk_delay`] between events. A plain `.sse` file has no
//!   timings, so the delay is uniform.
//! - The same stream asked for without `"stream": true` becomes one
//!   `chat.completion` body assembled from its first stream.
//! - A recorded `{"error":...}` body is sent with its `error.status` (else
//!   400) as `application/json`, whatever the request asked.
//! - A recorded JSON body is sent as it is.

mod fixture;

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use fixture::Kind;
pub use fixture::{Fixture, FixtureKind, load_all};

use crate::Error;
use crate::reply::{BoxError, ProxyBody, close_after, error_response, full};
use crate::request::{BodyLimits, Unread, read_body};
use crate::serve::{DEFAULT_CLIENT_IDLE_TIMEOUT, Handler, Server};

/// Request header naming the fixture to serve (its file stem).
pub const FIXTURE_HEADER: &str = "x-thinktee-fixture";

/// Largest request body the replay server reads (32 MiB).
pub const MAX_REQUEST_BODY: usize = 32 << 20;

/// The replay server: fixtures plus pacing. Cloning is cheap.
#[derive(Clone)]
pub struct Replay {
    shared: Arc<Shared>,
}

struct Shared {
    fixtures: Vec<Fixture>,
    delay: Duration,
    client_idle_timeout: Option<Duration>,
    next: AtomicUsize,
}

impl fmt::Debug for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replay")
            .field("fixtures", &self.shared.fixtures.len())
            .field("delay", &self.shared.delay)
            .field("client_idle_timeout", &self.shared.client_idle_timeout)
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct RequestSummary {
    #[serde(default)]
    stream: Option<bool>,
}

impl Replay {
    /// Serves `fixtures` (see [`load_all`]) with no delay between events.
    pub fn new(fixtures: Vec<Fixture>) -> Result<Replay, Error> {
        if fixtures.is_empty() {
            return Err(Error::NoFixtures);
        }
        Ok(Replay {
            shared: Arc::new(Shared {
                fixtures,
                delay: Duration::ZERO,
                client_idle_timeout: Some(DEFAULT_CLIENT_IDLE_TIMEOUT),
                next: AtomicUsize::new(0),
            }),
        })
    }

    /// Sets the pause between two events of a stream.
    pub fn chunk_delay(self, delay: Duration) -> Replay {
        Replay { shared: Arc::new(Shared { delay, ..self.into_shared() }) }
    }

    /// How long a client may go without a request in flight, and the
    /// longest silence inside a request body (then 408); default
    /// [`DEFAULT_CLIENT_IDLE_TIMEOUT`], `None`: forever. See
    /// [`Server::client_idle_timeout`].
    pub fn client_idle_timeout(self, timeout: Option<Duration>) -> Replay {
        Replay { shared: Arc::new(Shared { client_idle_timeout: timeout, ..self.into_shared() }) }
    }

    fn into_shared(self) -> Shared {
        Arc::try_unwrap(self.shared).unwrap_or_else(|arc| Shared {
            fixtures: arc.fixtures.clone(),
            delay: arc.delay,
            client_idle_timeout: arc.client_idle_timeout,
            next: AtomicUsize::new(arc.next.load(Ordering::Relaxed)),
        })
    }

    /// The fixtures, in round-robin order.
    pub fn fixtures(&self) -> &[Fixture] {
        &self.shared.fixtures
    }

    /// Binds `addr`; [`Server::run`] then serves the fixtures there, with
    /// this replay's client idle timeout.
    pub async fn bind(&self, addr: SocketAddr) -> Result<Server, Error> {
        let replay = self.clone();
        let handler: Handler = Arc::new(move |req| {
            let replay = replay.clone();
            Box::pin(async move { replay.handle(req).await })
        });
        let server = Server::bind(addr, handler, 64 << 10).await?;
        Ok(server.client_idle_timeout(self.shared.client_idle_timeout))
    }

    /// Answers one request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<ProxyBody>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        if !is_chat_route(req.uri().path()) {
            return error_response(
                StatusCode::NOT_FOUND,
                &format!(
                    "no route for {} (thinktee replay serves chat completions only)",
                    req.uri().path()
                ),
                "invalid_request_error",
                Some("not_found"),
            );
        }
        if req.method() != Method::POST {
            return error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "chat completions take POST",
                "invalid_request_error",
                Some("method_not_allowed"),
            );
        }
        let fixture = match req.headers().get(FIXTURE_HEADER) {
            Some(name) => {
                let name = name.to_str().unwrap_or("");
                match self.shared.fixtures.iter().find(|f| f.stem() == name) {
                    Some(f) => f,
                    None => {
                        return error_response(
                            StatusCode::NOT_FOUND,
                            &format!("no fixture named {name:?}"),
                            "invalid_request_error",
                            Some("fixture_not_found"),
                        );
                    }
                }
            }
            None => {
                let n = self.shared.next.fetch_add(1, Ordering::Relaxed);
                &self.shared.fixtures[n % self.shared.fixtures.len()]
            }
        };
        let limits =
            BodyLimits { max_bytes: MAX_REQUEST_BODY, stall: self.shared.client_idle_timeout };
        let version = req.version();
        let body = match read_body(req.into_body(), None, limits, None).await {
            Ok((body, _unbudgeted)) => body,
            Err(Unread::Stalled(after)) => {
                let mut response = error_response(
                    StatusCode::REQUEST_TIMEOUT,
                    &format!("no request body bytes for {} s", after.as_secs_f64()),
                    "invalid_request_error",
                    Some("request_timeout"),
                );
                close_after(&mut response, version);
                return response;
            }
            Err(_) => {
                return error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large or unreadable",
                    "invalid_request_error",
                    None,
                );
            }
        };
        let Ok(summary) = serde_json::from_slice::<RequestSummary>(&body) else {
            return error_response(
                StatusCode::BAD_REQUEST,
                "the request body must be a JSON object",
                "invalid_request_error",
                None,
            );
        };
        let mut response = match fixture.served() {
            Kind::Stream { events, .. } if summary.stream == Some(true) => {
                let body = ReplayBody::new(events.clone(), self.shared.delay);
                let mut r = Response::new(body.boxed_unsync());
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            }
            Kind::Stream { assembled, .. } => json(StatusCode::OK, assembled.clone()),
            Kind::Error { status, body } => json(*status, body.clone()),
            Kind::Body { body } => json(StatusCode::OK, body.clone()),
        };
        if let Ok(stem) = HeaderValue::from_str(fixture.stem()) {
            response.headers_mut().insert(FIXTURE_HEADER, stem);
        }
        response
    }
}

fn json(status: StatusCode, body: Bytes) -> Response<ProxyBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The chat-completion routes of OpenAI, Azure OpenAI and Azure AI inference.
fn is_chat_route(path: &str) -> bool {
    match path {
        "/v1/chat/completions"
        | "/chat/completions"
        | "/openai/v1/chat/completions"
        | "/models/chat/completions" => true,
        _ => path
            .strip_prefix("/openai/deployments/")
            .and_then(|rest| rest.strip_suffix("/chat/completions"))
            .is_some_and(|name| !name.is_empty() && !name.contains('/')),
    }
}

pin_project! {
    /// A recorded stream, one frame per event, paced.
    struct ReplayBody {
        events: Arc<[Bytes]>,
        next: usize,
        delay: Duration,
        #[pin]
        sleep: Sleep,
        armed: bool,
    }
}

impl ReplayBody {
    fn new(events: Arc<[Bytes]>, delay: Duration) -> ReplayBody {
        ReplayBody {
            events,
            next: 0,
            delay,
            sleep: tokio::time::sleep(Duration::ZERO),
            armed: false,
        }
    }
}

impl Body for ReplayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if *this.next >= this.events.len() {
            return Poll::Ready(None);
        }
        if *this.next > 0 && !this.delay.is_zero() {
            if !*this.armed {
                this.sleep.as_mut().reset(Instant::now() + *this.delay);
                *this.armed = true;
            }
            ready!(this.sleep.as_mut().poll(cx));
            *this.armed = false;
        }
        let event = this.events[*this.next].clone();
        *this.next += 1;
        Poll::Ready(Some(Ok(Frame::data(event))))
    }

    fn is_end_stream(&self) -> bool {
        self.next >= self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::is_chat_route;

    #[test]
    fn routes() {
        for ok in [
            "/v1/chat/completions",
            "/chat/completions",
            "/models/chat/completions",
            "/openai/deployments/r1/chat/completions",
        ] {
            assert!(is_chat_route(ok), "{ok}");
        }
        for bad in [
            "/v1/models",
            "/openai/deployments//chat/completions",
            "/openai/deployments/a/b/chat/completions",
            "/",
        ] {
            assert!(!is_chat_route(bad), "{bad}");
        }
    }
}
