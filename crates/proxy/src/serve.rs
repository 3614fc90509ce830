//! The accept loop shared by the proxy and the replay server: a cap on open
//! connections, an idle timeout for the quiet ones, graceful shutdown.

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
use hyper_util::server::graceful::GracefulConnection;
use thinktee_tee::ShutdownFlag;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::conn::{Close, Connections, InFlightBody, Registration, TrackedIo};
use crate::{Error, ProxyBody};

/// How long in-flight exchanges may run on after shutdown is asked for,
/// unless [`Server::grace`] says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// How long a client connection may stay without a request in flight
/// before the server closes it, unless [`Server::client_idle_timeout`] says
/// otherwise: from accept to the first request, between keep-alive
/// requests, an HTTP/2 connection with no stream open. An HTTP/1 request
/// head must arrive within it too.
pub const DEFAULT_CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection closed for idleness may take to say goodbye (an
/// HTTP/2 GOAWAY and the PING round trip that confirms it) before it is
/// dropped.
pub const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// File descriptors kept back from [`default_max_connections`] for the
/// listener, the runtime, stdio, logs, transcript files and telemetry.
pub const RESERVED_FDS: u64 = 32;

/// File descriptors one client connection may need: its socket, the
/// upstream socket, and a raw capture file.
pub const FDS_PER_CONNECTION: u64 = 3;

/// The least [`default_max_connections`] gives, however low the limit.
pub const MIN_DEFAULT_CONNECTIONS: usize = 8;

/// The most [`default_max_connections`] gives, however high the limit
/// (or with none).
pub const MAX_DEFAULT_CONNECTIONS: usize = 16_384;

/// Accept errors (out of file descriptors, mostly) are logged at most this
/// often; the line counts the ones left out.
pub const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// After an accept error, the longest wait before trying again (a
/// connection ending wakes the loop sooner).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Response<ProxyBody>> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(Request<Incoming>) -> BoxFuture + Send + Sync>;

/// The connection cap that fits the process's open-file limit (its soft
/// `RLIMIT_NOFILE`): `(limit - RESERVED_FDS) / FDS_PER_CONNECTION`, within
/// `MIN_DEFAULT_CONNECTIONS..=MAX_DEFAULT_CONNECTIONS`. With a limit of
/// 1024 that is 330.
pub fn default_max_connections() -> usize {
    max_connections_for(open_file_limit())
}

/// [`default_max_connections`] for a given soft limit (`None`: unlimited).
fn max_connections_for(fd_limit: Option<u64>) -> usize {
    let Some(limit) = fd_limit else { return MAX_DEFAULT_CONNECTIONS };
    let fit = limit.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION;
    usize::try_from(fit)
        .unwrap_or(usize::MAX)
        .clamp(MIN_DEFAULT_CONNECTIONS, MAX_DEFAULT_CONNECTIONS)
}

#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// A bound listener and the handler it serves; [`Server::run`] serves it.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    handler: Handler,
    max_header_bytes: usize,
    grace: Duration,
    max_connections: usize,
    client_idle_timeout: Option<Duration>,
    connections: Connections,
    /// Set when the grace period is over, before open connections are cut.
    cut: ShutdownFlag,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("grace", &self.grace)
            .field("max_connections", &self.max_connections)
            .field("client_idle_timeout", &self.client_idle_timeout)
            .finish()
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
            max_connections: default_max_connections(),
            client_idle_timeout: Some(DEFAULT_CLIENT_IDLE_TIMEOUT),
            connections: Connections::new(),
            cut: ShutdownFlag::new(),
        })
    }

    /// The flag set when the grace period is over, just before open
    /// connections are dropped (recordings cut then end as shutdown).
    pub(crate) fn shutdown_flag(mut self, flag: ShutdownFlag) -> Server {
        self.cut = flag;
        self
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

    /// The most client connections open at once (default
    /// [`default_max_connections`]; at least 1). At the cap the oldest
    /// connection that is fresh (no byte sent yet) or idle (between
    /// requests, or HTTP/2 with no stream open) is closed to make room;
    /// when every one has a request on its way, new clients wait in the
    /// listen backlog until one ends.
    pub fn max_connections(mut self, max: usize) -> Server {
        self.max_connections = max.max(1);
        self
    }

    /// How long a connection may stay without a request in flight (default
    /// [`DEFAULT_CLIENT_IDLE_TIMEOUT`]; `None`: forever). See there.
    pub fn client_idle_timeout(mut self, timeout: Option<Duration>) -> Server {
        self.client_idle_timeout = timeout;
        self
    }

    /// The connection cap in force.
    pub fn connection_limit(&self) -> usize {
        self.max_connections
    }

    /// A handle counting this server's connections.
    pub fn connections(&self) -> Connections {
        self.connections.clone()
    }

    fn http(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            // The client idle timeout bounds the head instead (hyper's
            // timer would also close keep-alive connections after it,
            // whatever the idle timeout says).
            .header_read_timeout(None)
            // Parsing stops at this size with a 431; the handler's own check
            // (with a JSON body) fires first for sizes below it.
            .max_buf_size(self.max_header_bytes.saturating_add(16 * 1024).max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(self.max_header_bytes).unwrap_or(u32::MAX));
        builder
    }

    /// Serves connections (HTTP/1.1, and HTTP/2 with prior knowledge) until
    /// `shutdown` completes, then stops accepting and waits up to the grace
    /// period for open connections to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let http = self.http();
        let (stop, stopping) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut accept_errors = AcceptErrors::default();
        tokio::pin!(shutdown);
        'serving: loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        if let Some(suppressed) = accept_errors.failed(Instant::now()) {
                            tracing::warn!(error = %e, suppressed, "accept failed");
                        }
                        // Out of descriptors, mostly: wait for one to be freed.
                        tokio::select! {
                            () = self.connections.freed() => {}
                            () = tokio::time::sleep(ACCEPT_RETRY) => {}
                            () = &mut shutdown => break,
                        }
                        continue;
                    }
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
                () = &mut shutdown => break,
            };
            // At the cap: make room for this client before serving it. The
            // ones behind it wait in the kernel's backlog meanwhile.
            while self.connections.open() >= self.max_connections {
                self.connections.evict_oldest_closable();
                tokio::select! {
                    () = self.connections.freed() => {}
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                    () = &mut shutdown => break 'serving,
                }
            }
            let registration = self.connections.register();
            let conn = self.serve(&http, stream, &registration);
            let task = Task {
                registration,
                idle_timeout: self.client_idle_timeout,
                stopping: stopping.clone(),
                peer,
            };
            tasks.spawn(task.drive(conn));
        }
        drop(self.listener);
        let _ = stop.send(true);
        let drained = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(self.grace, drained).await.is_err() {
            tracing::info!("grace period over; dropping open connections");
        }
        // Dropping a connection drops its bodies: recorders see the end,
        // and the flag tells them it was the shutdown that cut them.
        self.cut.set();
        tasks.shutdown().await;
        Ok(())
    }

    /// One connection: HTTP/1.1 or HTTP/2, its bytes and requests reported
    /// to `registration`.
    fn serve(
        &self,
        http: &auto::Builder<TokioExecutor>,
        stream: TcpStream,
        registration: &Registration,
    ) -> impl GracefulConnection<Error: fmt::Display> + Send + 'static {
        let _ = stream.set_nodelay(true);
        let handler = self.handler.clone();
        let conn = registration.conn().clone();
        let service = hyper::service::service_fn(move |req| {
            let request = conn.request_started();
            let response = handler(req);
            async move {
                let response = response.await;
                Ok::<_, std::convert::Infallible>(
                    response.map(|body| InFlightBody::new(body, request)),
                )
            }
        });
        let io = TokioIo::new(TrackedIo::new(stream, registration.conn().clone()));
        http.serve_connection(io, service).into_owned()
    }
}

/// A connection's task: serves it until it ends, the server closes it
/// (idle, or evicted at the cap), or the server shuts down.
struct Task {
    registration: Registration,
    idle_timeout: Option<Duration>,
    stopping: watch::Receiver<bool>,
    peer: SocketAddr,
}

impl Task {
    async fn drive<C>(mut self, conn: C)
    where
        C: GracefulConnection<Error: fmt::Display>,
    {
        tokio::pin!(conn);
        let (idle_timeout, peer) = (self.idle_timeout, self.peer);
        let why = tokio::select! {
            result = conn.as_mut() => return ended(peer, result),
            close = self.registration.conn().close_requested(idle_timeout) => Some(close),
            _ = self.stopping.wait_for(|stop| *stop) => None,
        };
        match why {
            // Nothing in flight: nothing to say goodbye to.
            Some(Close::Evicted) => self.registration.connections().count_eviction(),
            Some(Close::IdleTimeout) => {
                self.registration.connections().count_idle_close();
                conn.as_mut().graceful_shutdown();
                if let Ok(result) = tokio::time::timeout(IDLE_CLOSE_GRACE, conn).await {
                    ended(peer, result);
                }
            }
            // Shutdown: the grace period bounds this.
            None => {
                conn.as_mut().graceful_shutdown();
                ended(peer, conn.await);
            }
        }
    }
}

fn ended<E: fmt::Display>(peer: SocketAddr, result: Result<(), E>) {
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Rate-limits the "accept failed" log line.
#[derive(Debug, Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    /// An accept error at `now`: `Some(n)` to log it, `n` being the errors
    /// left unlogged since the last line; `None` to stay quiet.
    fn failed(&mut self, now: Instant) -> Option<u64> {
        let due = self
            .last_logged
            .is_none_or(|last| now.saturating_duration_since(last) >= ACCEPT_ERROR_LOG_INTERVAL);
        if !due {
            self.suppressed += 1;
            return None;
        }
        self.last_logged = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_accept_errors_are_logged_at_most_once_a_second() {
        let mut errors = AcceptErrors::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(errors.failed(at(0)), Some(0));
        // A hundred a second, as with a full descriptor table.
        let logged: Vec<_> = (1..=250).filter_map(|i| errors.failed(at(i * 10))).collect();
        // At 1000 ms (99 left out since 0 ms) and 2000 ms (99 more).
        assert_eq!(logged, [99, 99]);
        assert_eq!(errors.failed(at(2_999)), None);
        assert_eq!(errors.failed(at(3_000)), Some(51), "2010..=2500 ms, and 2999 ms");
    }

    #[test]
    fn the_default_cap_leaves_room_for_upstream_sockets_and_files() {
        assert_eq!(max_connections_for(Some(1024)), 330); // (1024 - 32) / 3
        assert_eq!(max_connections_for(Some(128)), 32); // the 128 descriptors
        assert_eq!(max_connections_for(Some(20)), MIN_DEFAULT_CONNECTIONS);
        assert_eq!(max_connections_for(Some(1 << 20)), MAX_DEFAULT_CONNECTIONS);
        assert_eq!(max_connections_for(None), MAX_DEFAULT_CONNECTIONS);
    }
}
