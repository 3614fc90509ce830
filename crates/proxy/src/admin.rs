//! The admin listener: `/healthz`, `/readyz` and `/metrics` on an address
//! of their own. (Never on the proxied address: every path there belongs
//! to the upstream.)
//!
//! It is served by the proxy's own accept loop ([`Server`]), with limits
//! of its own: at most [`ADMIN_MAX_CONNECTIONS`] connections (at the cap
//! the oldest silent or idle one is closed for a newcomer), each closed
//! after [`ADMIN_IDLE_TIMEOUT`] without a request in flight, a request
//! head included. Probes and scrapes send their request at once and are
//! answered at once: a client that stays silent, or sends its head slowly,
//! holds a connection only that long.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::conn::Connections;
use crate::reply::full;
use crate::serve::Handler;
use crate::{Error, ProxyBody, Server};

/// The most connections the admin listener holds open at once: a
/// scraper, a few probes, a person with curl.
pub const ADMIN_MAX_CONNECTIONS: usize = 16;

/// How long an admin connection may stay without a request in flight
/// (from accept to its first request head, between keep-alive requests)
/// before it is closed.
pub const ADMIN_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request header block the admin listener reads.
pub const ADMIN_MAX_REQUEST_HEADERS: usize = 8 * 1024;

/// The content type of `/metrics`: the OpenMetrics text format, which
/// Prometheus reads (and which its classic text parsers read too).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether the proxy takes new work: `/readyz` says 503 once
/// [`set_shutting_down`](Readiness::set_shutting_down) is called (the
/// shutdown grace has begun), so load balancers stop sending requests
/// while open streams finish. An unreachable upstream does not make the
/// proxy unready: it still answers (502).
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Ready, until shutdown begins.
    pub fn new() -> Readiness {
        Readiness::default()
    }

    /// Shutdown has begun: not ready from now on.
    pub fn set_shutting_down(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What `/metrics` answers: the exposition text, made at each scrape.
pub type MetricsText = Arc<dyn Fn() -> String + Send + Sync>;

/// A bound admin listener; [`run`](AdminServer::run) serves it until its
/// task is dropped or aborted.
#[derive(Debug)]
pub struct AdminServer {
    server: Server,
}

impl AdminServer {
    /// Binds `addr`, with the limits [`ADMIN_MAX_CONNECTIONS`] and
    /// [`ADMIN_IDLE_TIMEOUT`].
    pub async fn bind(
        addr: SocketAddr,
        readiness: Readiness,
        metrics: MetricsText,
    ) -> Result<AdminServer, Error> {
        let handler: Handler = Arc::new(move |req| {
            let response = answer(&req, &readiness, &metrics);
            Box::pin(async move { response })
        });
        let server = Server::bind(addr, handler, ADMIN_MAX_REQUEST_HEADERS)
            .await?
            .max_connections(ADMIN_MAX_CONNECTIONS)
            .client_idle_timeout(Some(ADMIN_IDLE_TIMEOUT));
        Ok(AdminServer { server })
    }

    /// The most connections open at once (default
    /// [`ADMIN_MAX_CONNECTIONS`]; at least 1).
    pub fn max_connections(self, max: usize) -> AdminServer {
        AdminServer { server: self.server.max_connections(max) }
    }

    /// How long a connection may stay without a request in flight (default
    /// [`ADMIN_IDLE_TIMEOUT`]; `None`: forever).
    pub fn idle_timeout(self, timeout: Option<Duration>) -> AdminServer {
        AdminServer { server: self.server.client_idle_timeout(timeout) }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// A handle counting this listener's connections (open, peak, closed
    /// idle, closed at the cap).
    pub fn connections(&self) -> Connections {
        self.server.connections()
    }

    /// Serves HTTP/1.1 (and HTTP/2 with prior knowledge), forever.
    pub async fn run(self) {
        // Only an abort ends it: no shutdown to wait for.
        let _ = self.server.run(std::future::pending()).await;
    }
}

fn answer(
    req: &Request<Incoming>,
    readiness: &Readiness,
    metrics: &MetricsText,
) -> Response<ProxyBody> {
    let text = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(full(Bytes::from(body)))
            .expect("a valid response")
    };
    let plain = "text/plain; charset=utf-8";
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, plain, "GET only\n".into());
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, plain, "ok\n".into()),
        "/readyz" if readiness.is_shutting_down() => {
            text(StatusCode::SERVICE_UNAVAILABLE, plain, "shutting down\n".into())
        }
        "/readyz" => text(StatusCode::OK, plain, "ready\n".into()),
        "/metrics" => text(StatusCode::OK, METRICS_CONTENT_TYPE, metrics()),
        _ => text(StatusCode::NOT_FOUND, plain, "not found: /healthz, /readyz, /metrics\n".into()),
    }
}
