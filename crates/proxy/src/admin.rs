//! The admin listener: `/healthz`, `/readyz` and `/metrics` on an address
//! of their own. (Never on the proxied address: every path there belongs
//! to the upstream.)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::Error;

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
pub struct AdminServer {
    listener: TcpListener,
    readiness: Readiness,
    metrics: MetricsText,
}

impl std::fmt::Debug for AdminServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminServer").field("listener", &self.listener).finish_non_exhaustive()
    }
}

impl AdminServer {
    /// Binds `addr`.
    pub async fn bind(
        addr: SocketAddr,
        readiness: Readiness,
        metrics: MetricsText,
    ) -> Result<AdminServer, Error> {
        let listener =
            TcpListener::bind(addr).await.map_err(|source| Error::Bind { addr, source })?;
        Ok(AdminServer { listener, readiness, metrics })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves HTTP/1.1, one task per connection, forever.
    pub async fn run(self) {
        loop {
            let Ok((stream, _)) = self.listener.accept().await else { continue };
            let (readiness, metrics) = (self.readiness.clone(), self.metrics.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let response = answer(&req, &readiness, &metrics);
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}

fn answer(
    req: &Request<Incoming>,
    readiness: &Readiness,
    metrics: &MetricsText,
) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
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
