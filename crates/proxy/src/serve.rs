//! The accept loop shared by the proxy and the replay server.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use thinktee_tee::ShutdownFlag;
use tokio::net::TcpListener;

use crate::{Error, ProxyBody};

/// How long in-flight exchanges may run on after shutdown is asked for,
/// unless [`Server::grace`] says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// How long a client may take to send a request head (HTTP/1).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Response<ProxyBody>> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(Request<Incoming>) -> BoxFuture + Send + Sync>;

/// A bound listener and the handler it serves; [`Server::run`] serves it.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    handler: Handler,
    max_header_bytes: usize,
    grace: Duration,
    /// Set when the grace period is over, before open connections are cut.
    cut: ShutdownFlag,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).field("grace", &self.grace).finish()
    }
}

impl Server {
    pub(crate) async fn bind(
        addr: SocketAddr,
        handler: Handler,
        max_header_bytes: usize,
    ) -> Result<Server, Error> {
        let listener =
            TcpListener::bind(addr).await.map_err(|source| Error::Bind { addr, source })?;
        let addr = listener.local_addr()?;
        Ok(Server {
            listener,
            addr,
            handler,
            max_header_bytes,
            grace: DEFAULT_GRACE,
            cut: ShutdownFlag::new(),
        })
    }

    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How long in-flight exchanges may go on after shutdown is asked for
    /// (default [`DEFAULT_GRACE`]); then their connections are dropped.
    pub fn grace(mut self, grace: Duration) -> Server {
        self.grace = grace;
        self
    }

    /// The flag set when the grace period is over, just before open
    /// connections are dropped (recordings cut then end as shutdown).
    pub(crate) fn shutdown_flag(mut self, flag: ShutdownFlag) -> Server {
        self.cut = flag;
        self
    }

    /// Serves connections (HTTP/1.1, and HTTP/2 with prior knowledge) until
    /// `shutdown` completes, then stops accepting and waits up to the grace
    /// period for open connections to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            // Parsing stops at this size with a 431; the handler's own check
            // (with a JSON body) fires first for sizes below it.
            .max_buf_size(self.max_header_bytes.saturating_add(16 * 1024).max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(self.max_header_bytes).unwrap_or(u32::MAX));
        let graceful = GracefulShutdown::new();
        let mut connections = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            // Out of descriptors and the like: back off, go on.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let handler = self.handler.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let fut = handler(req);
                        async move { Ok::<_, std::convert::Infallible>(fut.await) }
                    });
                    let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                    let conn = graceful.watch(conn);
                    connections.spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        if tokio::time::timeout(self.grace, graceful.shutdown()).await.is_err() {
            tracing::info!("grace period over; dropping open connections");
        }
        // Dropping a connection drops its bodies: recorders see the end,
        // and the flag tells them it was the shutdown.
        self.cut.set();
        connections.shutdown().await;
        Ok(())
    }
}
