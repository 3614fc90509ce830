//! The connection registry: what each client connection is doing, so the
//! accept loop can cap how many are open, time out the idle ones, and pick
//! which one to close when a new client arrives at the cap.
//!
//! Each connection has a [`Phase`], observed without locks (one atomic word
//! per connection, [`Conn`]):
//!
//! ```text
//!   from      on                                          to
//!   Fresh     bytes read                                  Reading
//!   Reading   the HTTP/2 preface complete                 Idle
//!   Reading   hyper calls the service                     Active
//!   Active    the last response body in flight dropped    Idle
//!   Idle      bytes read (HTTP/1 only: the next head)     Reading
//!   Idle      hyper calls the service (an HTTP/2 stream)  Active
//! ```
//!
//! - Bytes read are seen by [`TrackedIo`], which wraps the socket: one
//!   atomic load per read, a compare-and-swap only on a transition.
//! - A request starts when hyper calls the service ([`Conn::request_started`])
//!   and ends when its response body is dropped ([`InFlight`]), that is once
//!   hyper has written it all, or the client went away. HTTP/2 streams are
//!   counted: the connection is `Active` while any is open.
//! - HTTP/2 is told apart by its preface: after it, bytes read with no
//!   stream open (settings, pings, window updates) leave the connection
//!   `Idle`.
//!
//! The registry itself ([`Connections`]) takes a lock only when a
//! connection is accepted or ends, and when the accept loop looks for one
//! to close.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// What an HTTP/2 client sends first (RFC 9113, section 3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What a connection is doing, as the server sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Accepted; not a byte read yet. Closable at the cap; the idle timer runs.
    Fresh,
    /// Bytes arrived but no request has reached the service yet: an HTTP/1
    /// request head, or the HTTP/2 preface. Not closable at the cap (a
    /// request is on its way); the idle timer runs on.
    Reading,
    /// Between two requests (HTTP/1 keep-alive), or HTTP/2 with no stream
    /// open. Closable at the cap; the idle timer runs.
    Idle,
    /// At least one request in flight. Neither closable nor timed here (a
    /// stalled request body is the handler's to time out).
    Active,
}

impl Phase {
    /// Whether the accept loop may close it to make room for a new client.
    pub(crate) fn is_closable(self) -> bool {
        matches!(self, Phase::Fresh | Phase::Idle)
    }
}

/// Why the server closes a connection that is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Close {
    /// Fresh, reading or idle for the whole client idle timeout.
    IdleTimeout,
    /// Closed at the cap to make room for a new client.
    Evicted,
}

// === impl State ===

/// The word behind [`Conn`]: bits 0-1 the quiet phase (meaningful while no
/// request is in flight), bit 2 "speaks HTTP/2", bits 3.. the requests in
/// flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State(u32);

impl State {
    const PHASE_MASK: u32 = 0b11;
    const FRESH: u32 = 0;
    const READING: u32 = 1;
    const IDLE: u32 = 2;
    const H2: u32 = 0b100;
    const ONE_REQUEST: u32 = 0b1000;

    fn in_flight(self) -> u32 {
        self.0 / State::ONE_REQUEST
    }

    fn is_h2(self) -> bool {
        self.0 & State::H2 != 0
    }

    fn quiet(self) -> u32 {
        self.0 & State::PHASE_MASK
    }

    fn with_quiet(self, quiet: u32) -> State {
        State(self.0 & !State::PHASE_MASK | quiet)
    }

    fn phase(self) -> Phase {
        if self.in_flight() > 0 {
            return Phase::Active;
        }
        match self.quiet() {
            State::FRESH => Phase::Fresh,
            State::READING => Phase::Reading,
            _ => Phase::Idle,
        }
    }

    /// After request bytes arrive: `None` when nothing changes.
    fn on_bytes(self) -> Option<State> {
        let reading = self.in_flight() == 0 && self.quiet() != State::READING && !self.is_h2();
        reading.then(|| self.with_quiet(State::READING))
    }

    /// After the HTTP/2 preface: no stream is open yet, so idle.
    fn on_h2_preface(self) -> State {
        State(self.0 | State::H2).with_quiet(State::IDLE)
    }
}

// === impl Conn ===

/// One client connection as the server sees it.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    state: AtomicU32,
    /// Wakes the idle timer when a request starts or the last one ends.
    changed: Notify,
    /// Asks the connection's task to drop it (at the cap).
    evict: Notify,
    /// The registry's "a slot may be free" signal.
    freed: Arc<Notify>,
}

impl Conn {
    /// What it is doing now.
    pub(crate) fn phase(&self) -> Phase {
        State(self.state.load(Ordering::Acquire)).phase()
    }

    /// Request bytes arrived (HTTP/1, or an HTTP/2 preface being read).
    fn on_bytes(&self) {
        let _ = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            State(s).on_bytes().map(|s| s.0)
        });
    }

    /// The HTTP/2 preface is complete: idle until a stream opens.
    fn on_h2_preface(&self) {
        let _ = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            Some(State(s).on_h2_preface().0)
        });
        self.freed.notify_one();
    }

    /// hyper called the service: a request is in flight until the returned
    /// guard is dropped.
    pub(crate) fn request_started(self: &Arc<Conn>) -> InFlight {
        let before = State(self.state.fetch_add(State::ONE_REQUEST, Ordering::AcqRel));
        if before.in_flight() == 0 {
            self.changed.notify_one();
        }
        InFlight { conn: self.clone() }
    }

    fn request_ended(&self) {
        let before = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            let s = State(s.saturating_sub(State::ONE_REQUEST));
            Some(if s.in_flight() == 0 { s.with_quiet(State::IDLE).0 } else { s.0 })
        });
        let before = State(before.unwrap_or_else(|s| s));
        if before.in_flight() == 1 {
            self.changed.notify_one();
            self.freed.notify_one();
        }
    }

    /// Completes when the server should close this connection: it was
    /// evicted, or (with a timeout) it spent `idle_timeout` without a
    /// request in flight. The timer starts at accept and again each time
    /// the last request in flight ends; bytes read meanwhile (a slow
    /// request head, HTTP/2 pings) do not restart it.
    pub(crate) async fn close_requested(&self, idle_timeout: Option<Duration>) -> Close {
        let idle = async {
            match idle_timeout {
                Some(timeout) => self.idle_for(timeout).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = self.evict.notified() => Close::Evicted,
            () = idle => Close::IdleTimeout,
        }
    }

    async fn idle_for(&self, timeout: Duration) {
        loop {
            // `notify_one` keeps a permit: a change between the load and
            // the wait is not lost.
            if self.phase() == Phase::Active {
                self.changed.notified().await;
            } else if tokio::time::timeout(timeout, self.changed.notified()).await.is_err() {
                return;
            }
        }
    }
}

/// A request in flight on a [`Conn`]; dropping it ends the request.
#[derive(Debug)]
pub(crate) struct InFlight {
    conn: Arc<Conn>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.request_ended();
    }
}

pin_project! {
    /// A response body that keeps its request in flight until it is
    /// dropped (written to its end, or abandoned).
    pub(crate) struct InFlightBody<B> {
        #[pin]
        body: B,
        request: InFlight,
    }
}

impl<B> InFlightBody<B> {
    pub(crate) fn new(body: B, request: InFlight) -> InFlightBody<B> {
        InFlightBody { body, request }
    }
}

impl<B: Body> Body for InFlightBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

// === impl TrackedIo ===

/// How far the HTTP/2 preface has matched the first bytes read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Preface {
    /// This many bytes match so far (fewer than 24).
    Matching(usize),
    /// Decided: HTTP/1, or HTTP/2 already reported.
    Settled,
}

pin_project! {
    /// The client socket, telling its [`Conn`] when request bytes arrive.
    pub(crate) struct TrackedIo<S> {
        #[pin]
        io: S,
        conn: Arc<Conn>,
        preface: Preface,
    }
}

impl<S> TrackedIo<S> {
    pub(crate) fn new(io: S, conn: Arc<Conn>) -> TrackedIo<S> {
        TrackedIo { io, conn, preface: Preface::Matching(0) }
    }
}

impl<S> fmt::Debug for TrackedIo<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedIo").field("conn", &self.conn.id).finish_non_exhaustive()
    }
}

/// Reports `read` to `conn`: request bytes, or the end of an HTTP/2 preface.
fn observe(conn: &Conn, preface: &mut Preface, read: &[u8]) {
    if let Preface::Matching(matched) = *preface {
        let want = &H2_PREFACE[matched..];
        let n = read.len().min(want.len());
        if read[..n] != want[..n] {
            *preface = Preface::Settled;
        } else if matched + n == H2_PREFACE.len() {
            *preface = Preface::Settled;
            conn.on_h2_preface();
            return; // whatever follows is HTTP/2 frames
        } else {
            *preface = Preface::Matching(matched + n);
        }
    }
    conn.on_bytes();
}

impl<S: AsyncRead> AsyncRead for TrackedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let polled = this.io.poll_read(cx, buf);
        if buf.filled().len() > before {
            observe(this.conn, this.preface, &buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite> AsyncWrite for TrackedIo<S> {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

// === impl Connections ===

/// The open client connections of a [`Server`](crate::Server), counted: a
/// cheap handle to watch them (tests, metrics), taken before
/// [`Server::run`](crate::Server::run).
#[derive(Clone)]
pub struct Connections {
    shared: Arc<Shared>,
}

struct Shared {
    /// By accept order: the first closable one is the oldest.
    entries: Mutex<BTreeMap<u64, Entry>>,
    next_id: AtomicU64,
    peak: AtomicUsize,
    closed_idle: AtomicU64,
    evicted: AtomicU64,
    /// Wakes the accept loop: a connection ended or became closable.
    freed: Arc<Notify>,
}

struct Entry {
    conn: Arc<Conn>,
    /// Asked to close; it leaves the registry when its task ends.
    evicting: bool,
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("open", &self.open())
            .field("peak", &self.peak())
            .field("closed_idle", &self.closed_idle())
            .field("evicted", &self.evicted())
            .finish()
    }
}

impl Connections {
    pub(crate) fn new() -> Connections {
        Connections {
            shared: Arc::new(Shared {
                entries: Mutex::new(BTreeMap::new()),
                next_id: AtomicU64::new(0),
                peak: AtomicUsize::new(0),
                closed_idle: AtomicU64::new(0),
                evicted: AtomicU64::new(0),
                freed: Arc::new(Notify::new()),
            }),
        }
    }

    /// Connections open now (accepted, their task not yet ended).
    pub fn open(&self) -> usize {
        self.entries().len()
    }

    /// The most connections that were ever open at once.
    pub fn peak(&self) -> usize {
        self.shared.peak.load(Ordering::Acquire)
    }

    /// Connections closed by the client idle timeout.
    pub fn closed_idle(&self) -> u64 {
        self.shared.closed_idle.load(Ordering::Acquire)
    }

    /// Connections closed at the cap to make room for a new client.
    pub fn evicted(&self) -> u64 {
        self.shared.evicted.load(Ordering::Acquire)
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
        // A panic while holding the lock leaves the map consistent (every
        // change is one insert or remove).
        self.shared.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a just-accepted connection; it leaves when the guard drops.
    pub(crate) fn register(&self) -> Registration {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            state: AtomicU32::new(State::FRESH),
            changed: Notify::new(),
            evict: Notify::new(),
            freed: self.shared.freed.clone(),
        });
        let mut entries = self.entries();
        entries.insert(id, Entry { conn: conn.clone(), evicting: false });
        self.shared.peak.fetch_max(entries.len(), Ordering::AcqRel);
        Registration { connections: self.clone(), conn }
    }

    /// Asks the oldest closable connection to close (its task drops it),
    /// unless one asked before is still on its way out. Returns whether one
    /// was asked now.
    pub(crate) fn evict_oldest_closable(&self) -> bool {
        let mut entries = self.entries();
        if entries.values().any(|e| e.evicting) {
            return false;
        }
        let Some(entry) = entries.values_mut().find(|e| e.conn.phase().is_closable()) else {
            return false;
        };
        entry.evicting = true;
        entry.conn.evict.notify_one();
        tracing::debug!(conn = entry.conn.id, "closing the oldest idle connection at the cap");
        true
    }

    /// Completes when a connection may have ended or become closable (at
    /// most one wake-up is remembered while nobody waits).
    pub(crate) async fn freed(&self) {
        self.shared.freed.notified().await;
    }

    pub(crate) fn count_idle_close(&self) {
        self.shared.closed_idle.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn count_eviction(&self) {
        self.shared.evicted.fetch_add(1, Ordering::AcqRel);
    }
}

/// A connection's place in the registry, held by its task.
#[derive(Debug)]
pub(crate) struct Registration {
    connections: Connections,
    conn: Arc<Conn>,
}

impl Registration {
    pub(crate) fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }

    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.connections.entries().remove(&self.conn.id);
        self.connections.shared.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> (Connections, Registration) {
        let connections = Connections::new();
        let registration = connections.register();
        (connections, registration)
    }

    #[test]
    fn http1_phases_follow_bytes_and_requests() {
        let (_, reg) = conn();
        let conn = reg.conn();
        let mut preface = Preface::Matching(0);
        assert_eq!(conn.phase(), Phase::Fresh);
        observe(conn, &mut preface, b"POST / HT");
        assert_eq!((conn.phase(), preface), (Phase::Reading, Preface::Settled));
        let request = conn.request_started();
        assert_eq!(conn.phase(), Phase::Active);
        observe(conn, &mut preface, b"{\"body\":1}");
        assert_eq!(conn.phase(), Phase::Active);
        drop(request);
        assert_eq!(conn.phase(), Phase::Idle);
        observe(conn, &mut preface, b"G");
        assert_eq!(conn.phase(), Phase::Reading, "the next request head");
    }

    #[test]
    fn http2_is_idle_after_its_preface_and_active_while_a_stream_is_open() {
        let (_, reg) = conn();
        let conn = reg.conn();
        let mut preface = Preface::Matching(0);
        // The preface cut in two, the second read carrying a SETTINGS frame.
        observe(conn, &mut preface, &H2_PREFACE[..5]);
        assert_eq!((conn.phase(), preface), (Phase::Reading, Preface::Matching(5)));
        let mut rest = H2_PREFACE[5..].to_vec();
        rest.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        observe(conn, &mut preface, &rest);
        assert_eq!((conn.phase(), preface), (Phase::Idle, Preface::Settled));
        observe(conn, &mut preface, &[0, 0, 8, 6, 0, 0, 0, 0, 0]); // a PING
        assert_eq!(conn.phase(), Phase::Idle, "frames with no stream open stay idle");
        let (a, b) = (conn.request_started(), conn.request_started());
        drop(a);
        assert_eq!(conn.phase(), Phase::Active, "one stream still open");
        drop(b);
        assert_eq!(conn.phase(), Phase::Idle);
    }

    #[test]
    fn eviction_picks_the_oldest_closable_connection_once_at_a_time() {
        let connections = Connections::new();
        let busy = connections.register();
        let _request = busy.conn().request_started();
        let reading = connections.register();
        observe(reading.conn(), &mut Preface::Matching(0), b"GET");
        let fresh = connections.register();
        let idle = connections.register();
        drop(idle.conn().request_started());
        assert_eq!(connections.open(), 4);

        assert!(connections.evict_oldest_closable());
        assert!(connections.entries()[&fresh.conn.id].evicting, "the oldest closable one");
        assert!(!connections.evict_oldest_closable(), "one eviction at a time");
        drop(fresh);
        assert!(connections.evict_oldest_closable());
        assert!(connections.entries()[&idle.conn.id].evicting);
        drop(idle);
        assert!(!connections.evict_oldest_closable(), "active and reading ones stay");
        assert_eq!((connections.open(), connections.peak()), (2, 4));
    }
}
