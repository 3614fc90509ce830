//! The upstream client: connections kept by the proxy itself, so that an
//! HTTP/1.1 exchange's upstream connection is polled by the task that writes
//! the response to the client.
//!
//! hyper_util's pooled client runs every upstream connection in a task of its
//! own: a chunk was read and de-chunked there, handed over hyper's body
//! channel and woke the client connection's task, whose taking it woke the
//! upstream task again for the next one. Here the response body owns its
//! connection and polls it before reading the channel, in the same task: a
//! chunk goes from the upstream socket to the client socket in one wakeup, as
//! in nginx's event loop.
//!
//! Measured, it saved nothing: callgrind 17,180 instructions per forwarded
//! chunk against 10,290 with hyper_util's client (14,852 without `Wakes`),
//! and 3.2-3.6 syscalls per chunk against 3.3-3.5
//! (`scripts/load-profile.sh`, `scripts/load-count.sh`, 20 streams x 65
//! chunks; crates/proxy/LOAD.md, "One task per exchange"). The task polls
//! fell by a third, but each poll of the body runs hyper's client dispatcher
//! (read, write and flush checks, twice a chunk: once for the piece, once
//! for the `Pending` after it), which costs more than the hand-over between
//! two tasks it replaces. Kept in history only: the next commit goes back to
//! hyper_util's client.
//!
//! An idle HTTP/1.1 connection waits in the pool unpolled; it is checked at
//! checkout (a read that finds the upstream closed it drops it) and dropped
//! after [`IDLE_TIMEOUT`] unused. A request that a reused connection could not
//! even start to send (the upstream closed it meanwhile) is sent again on a
//! new one. An upstream that chooses HTTP/2 by ALPN gets one shared
//! connection, run by a task of its own as before (HTTP/2 multiplexes).

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::connect::Connection as _;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower_service::Service;

use crate::reply::BoxError;
use crate::upstream::Connector;

/// How long an idle upstream connection is kept.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// What the connector gives: TCP, under TLS for `https`.
type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;
/// Request bodies are read whole before they go upstream.
type ReqBody = Full<Bytes>;

/// The proxy's connections to its one upstream.
pub(crate) struct Pool {
    connector: Connector,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Idle HTTP/1.1 connections, the most recently used last.
    idle: Vec<Idle>,
    /// The shared HTTP/2 connection, once the upstream chose HTTP/2.
    h2: Option<http2::SendRequest<ReqBody>>,
    /// Whether the task dropping expired idle connections runs.
    reaping: bool,
}

struct Idle {
    conn: H1,
    since: Instant,
}

/// An HTTP/1.1 connection: hyper's request handle and the connection itself,
/// polled by whoever holds it (no task of its own).
pub(crate) struct H1 {
    sender: http1::SendRequest<ReqBody>,
    conn: http1::Connection<Stream, ReqBody>,
}

/// Why a request got no response.
#[expect(clippy::large_enum_variant, reason = "short-lived, returned once per request")]
enum Failed {
    /// Not sent at all: the connection was closed before (the request back).
    NotSent(Request<ReqBody>, hyper::Error),
    Other(BoxError),
}

impl H1 {
    /// Whether the connection can take a request: polls it once (its
    /// dispatcher notices a close by the upstream, or finishes the last
    /// exchange and becomes idle) without registering for a wakeup.
    fn ready(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        if self.conn.poll_without_shutdown(&mut cx).is_ready() {
            return false;
        }
        self.sender.is_ready()
    }

    /// Sends `req` and polls the connection until the response head came.
    async fn send(&mut self, req: Request<ReqBody>) -> Result<Response<Incoming>, Failed> {
        let mut response = pin!(self.sender.try_send_request(req));
        let conn = &mut self.conn;
        let mut closed = false;
        poll_fn(|cx| {
            if let Poll::Ready(r) = response.as_mut().poll(cx) {
                return Poll::Ready(r.map_err(|mut e| match e.take_message() {
                    Some(req) => Failed::NotSent(req, e.into_error()),
                    None => Failed::Other(Box::new(e.into_error())),
                }));
            }
            if closed {
                return Poll::Ready(Err(Failed::Other("upstream connection closed".into())));
            }
            match conn.poll_without_shutdown(cx) {
                Poll::Pending => Poll::Pending,
                // The dispatcher is done and has answered the request: poll
                // its answer once more.
                Poll::Ready(Err(e)) => Poll::Ready(Err(Failed::Other(Box::new(e)))),
                Poll::Ready(Ok(())) => {
                    closed = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl Pool {
    pub(crate) fn new(connector: Connector) -> Pool {
        Pool { connector, state: Mutex::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `req` (its URI absolute) upstream; resolves at the response
    /// head. The body polls the connection it came on.
    pub(crate) async fn request(
        self: &Arc<Pool>,
        mut req: Request<ReqBody>,
    ) -> Result<Response<UpstreamBody>, BoxError> {
        let target = req.uri().clone();
        loop {
            // A request sent back unsent is in origin form: absolute again.
            *req.uri_mut() = target.clone();
            let h2 = self.state().h2.clone().filter(|s| !s.is_closed());
            if let Some(sender) = h2 {
                return send_h2(sender, req).await;
            }
            let (mut conn, reused) = match self.checkout() {
                Some(conn) => (conn, true),
                None => match self.connect(&target).await? {
                    Opened::H1(conn) => (conn, false),
                    Opened::H2(sender) => return send_h2(sender, req).await,
                },
            };
            origin_form(&mut req);
            match conn.send(req).await {
                Ok(response) => {
                    let pool = Arc::downgrade(self);
                    return Ok(response.map(|incoming| UpstreamBody::H1 {
                        incoming,
                        conn: Some(conn),
                        pool,
                        wakes: Wakes::new(),
                    }));
                }
                // The upstream closed an idle connection as it was taken:
                // the request never left, so it is safe to send again.
                Err(Failed::NotSent(back, _)) if reused => req = back,
                Err(Failed::NotSent(_, e)) => return Err(Box::new(e)),
                Err(Failed::Other(e)) => return Err(e),
            }
        }
    }

    /// The most recently used idle connection that is still open.
    fn checkout(&self) -> Option<H1> {
        let mut state = self.state();
        while let Some(mut idle) = state.idle.pop() {
            if idle.since.elapsed() < IDLE_TIMEOUT && idle.conn.ready() {
                return Some(idle.conn);
            }
        }
        None
    }

    /// Takes back a connection whose exchange ended cleanly.
    fn put(self: &Arc<Pool>, mut conn: H1) {
        if !conn.ready() {
            return;
        }
        let mut state = self.state();
        state.idle.push(Idle { conn, since: Instant::now() });
        if !state.reaping {
            state.reaping = true;
            tokio::spawn(reap(Arc::downgrade(self)));
        }
    }

    async fn connect(&self, uri: &Uri) -> Result<Opened, BoxError> {
        let mut connector = self.connector.clone();
        poll_fn(|cx| connector.poll_ready(cx)).await?;
        let stream = connector.call(uri.clone()).await?;
        if stream.connected().is_negotiated_h2() {
            let (sender, conn) =
                http2::Builder::new(TokioExecutor::new()).handshake(stream).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "upstream HTTP/2 connection ended");
                }
            });
            self.state().h2 = Some(sender.clone());
            return Ok(Opened::H2(sender));
        }
        let (sender, conn) = http1::handshake(stream).await?;
        Ok(Opened::H1(H1 { sender, conn }))
    }
}

#[expect(clippy::large_enum_variant, reason = "short-lived, returned once per connect")]
enum Opened {
    H1(H1),
    H2(http2::SendRequest<ReqBody>),
}

async fn send_h2(
    mut sender: http2::SendRequest<ReqBody>,
    req: Request<ReqBody>,
) -> Result<Response<UpstreamBody>, BoxError> {
    let response = sender.send_request(req).await?;
    Ok(response.map(UpstreamBody::H2))
}

/// Drops idle connections unused for [`IDLE_TIMEOUT`], while the pool lives.
async fn reap(pool: Weak<Pool>) {
    loop {
        tokio::time::sleep(IDLE_TIMEOUT / 3).await;
        let Some(pool) = pool.upgrade() else { return };
        // Oldest first: keep from the first one still fresh.
        let expired: Vec<Idle> = {
            let mut state = pool.state();
            let fresh = state.idle.iter().position(|i| i.since.elapsed() < IDLE_TIMEOUT);
            let end = fresh.unwrap_or(state.idle.len());
            state.idle.drain(..end).collect()
        };
        drop(expired);
    }
}

/// The request target an HTTP/1.1 upstream expects: the path and query,
/// with `Host` from the URI (the port when not the scheme's default).
fn origin_form(req: &mut Request<ReqBody>) {
    let uri = req.uri();
    if let Some(host) = uri.host() {
        let default = if uri.scheme_str() == Some("https") { 443 } else { 80 };
        let value = match uri.port_u16() {
            Some(port) if port != default => format!("{host}:{port}"),
            _ => host.to_owned(),
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            req.headers_mut().entry(header::HOST).or_insert(value);
        }
    }
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    if let Ok(origin) = path.parse::<Uri>() {
        *req.uri_mut() = origin;
    }
}

/// An upstream response body. HTTP/1.1: it polls its connection first (the
/// connection reads, de-chunks and hands the piece over hyper's body channel)
/// and then the channel, in the task that polls the body; at a clean end the
/// connection goes back to the pool. HTTP/2: hyper's body as it is.
#[expect(
    clippy::large_enum_variant,
    reason = "HTTP/1.1 is the common case: boxing it would cost an allocation per exchange"
)]
pub(crate) enum UpstreamBody {
    H1 { incoming: Incoming, conn: Option<H1>, pool: Weak<Pool>, wakes: Wakes },
    H2(Incoming),
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            UpstreamBody::H2(incoming) => Pin::new(incoming).poll_frame(cx),
            UpstreamBody::H1 { incoming, conn, pool, wakes } => {
                let frame = loop {
                    // The connection and the body channel wake this very
                    // task: inside the poll that is no news (see `Wakes`).
                    let polled = wakes.poll(cx, |cx| {
                        if let Some(c) = conn {
                            // Ready: the connection is done (closed, or
                            // failed: its error went into the body channel);
                            // the channel still holds what was read.
                            if c.conn.poll_without_shutdown(cx).is_ready() {
                                *conn = None;
                            }
                        }
                        Pin::new(&mut *incoming).poll_frame(cx)
                    });
                    match polled {
                        (Poll::Ready(frame), _) => break frame,
                        (Poll::Pending, Woken::Yes) => continue,
                        (Poll::Pending, Woken::No) => return Poll::Pending,
                    }
                };
                let clean_end = match &frame {
                    None => true,
                    Some(Ok(_)) => incoming.is_end_stream(),
                    Some(Err(_)) => {
                        *conn = None;
                        false
                    }
                };
                if clean_end && let (Some(c), Some(pool)) = (conn.take(), pool.upgrade()) {
                    pool.put(c);
                }
                Poll::Ready(frame)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::H1 { incoming, .. } | UpstreamBody::H2(incoming) => {
                incoming.is_end_stream()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::H1 { incoming, .. } | UpstreamBody::H2(incoming) => incoming.size_hint(),
        }
    }
}

impl Drop for UpstreamBody {
    /// A body dropped at its end (hyper stops polling one whose length is
    /// reached) gives its connection back too.
    fn drop(&mut self) {
        if let UpstreamBody::H1 { incoming, conn, pool, .. } = self
            && incoming.is_end_stream()
            && let (Some(c), Some(pool)) = (conn.take(), pool.upgrade())
        {
            pool.put(c);
        }
    }
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpstreamBody::H1 { .. } => "UpstreamBody::H1",
            UpstreamBody::H2(_) => "UpstreamBody::H2",
        })
    }
}

/// The waker an HTTP/1.1 body polls its connection and hyper's body channel
/// with. Both sides of that channel are polled by the body itself, so each
/// hand-over of a piece (the connection filling the channel, the body
/// emptying it) would wake the task that is polling them right then, and
/// the runtime would poll the whole client connection once more for nothing.
/// A wake that comes during [`Wakes::poll`] is noted instead, and the body
/// polls again before it returns `Pending`; one that comes between polls (the
/// socket is readable) wakes the task. (Without it, one task per exchange
/// cost 14,852 instructions per forwarded chunk, more than hyper_util's two
/// tasks at 10,290; with it, 17,180: the extra polls were not the self
/// wakes.)
pub(crate) struct Wakes {
    shared: Arc<WakeState>,
    waker: Waker,
}

struct WakeState {
    /// `IDLE`, `POLLING` or `WOKEN` (woken while polling).
    state: AtomicU8,
    /// The task to wake between polls.
    task: Mutex<Option<Waker>>,
}

const IDLE: u8 = 0;
const POLLING: u8 = 1;
const WOKEN: u8 = 2;

/// Whether a wake came during [`Wakes::poll`].
enum Woken {
    Yes,
    No,
}

impl Wakes {
    fn new() -> Wakes {
        let shared = Arc::new(WakeState { state: AtomicU8::new(IDLE), task: Mutex::new(None) });
        Wakes { waker: Waker::from(Arc::clone(&shared)), shared }
    }

    /// Runs `f` with this waker, `cx`'s task to be woken by what comes
    /// later.
    fn poll<T>(&mut self, cx: &Context<'_>, f: impl FnOnce(&mut Context<'_>) -> T) -> (T, Woken) {
        {
            let mut task = self.shared.task.lock().unwrap_or_else(PoisonError::into_inner);
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        self.shared.state.store(POLLING, Ordering::SeqCst);
        let out = f(&mut Context::from_waker(&self.waker));
        match self.shared.state.swap(IDLE, Ordering::SeqCst) {
            WOKEN => (out, Woken::Yes),
            _ => (out, Woken::No),
        }
    }
}

impl Wake for WakeState {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.state.compare_exchange(POLLING, WOKEN, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return;
        }
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = &*task {
            task.wake_by_ref();
        }
    }
}
