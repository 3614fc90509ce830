//! What the proxy's test binaries share: a proxy served on loopback, the
//! recordings it made (awaited, not slept for), and the bits of raw
//! HTTP/1.1 the fake upstreams and clients read.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use thinktee_pipeline::Sink;
use thinktee_proxy::{Connections, Proxy, Server};
use thinktee_tee::Tap;
use tokio::task::JoinHandle;

/// Guards every wait: far longer than any test needs (not a budget).
pub(crate) const LIMIT: Duration = Duration::from_secs(20);

// === the proxy ===

/// A proxy serving on loopback until dropped.
pub(crate) struct Running {
    pub(crate) proxy: Proxy,
    pub(crate) addr: SocketAddr,
    pub(crate) connections: Connections,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Binds `proxy` on a free loopback port, set up by `server`, and serves
/// it until the result is dropped.
pub(crate) async fn serve(proxy: Proxy, server: impl FnOnce(Server) -> Server) -> Running {
    let bound = server(proxy.bind("127.0.0.1:0".parse().unwrap()).await.unwrap());
    let (addr, connections) = (bound.local_addr(), bound.connections());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.run(async move {
        let _ = stopped.await;
    }));
    Running { proxy, addr, connections, _stop: stop }
}

impl Running {
    /// Asks the server to shut down (it lets open exchanges finish within
    /// its grace period); the proxy stays.
    pub(crate) fn stop(self) -> Proxy {
        self.proxy
    }
}

// === recordings ===

/// The recordings a test's recorder started, to await.
#[derive(Debug, Default)]
pub(crate) struct Recordings {
    pending: Mutex<Vec<JoinHandle<()>>>,
}

impl Recordings {
    /// Finishes `tee` with `sink`, keeping its handle to await.
    pub(crate) fn tap<K: Sink + Send + 'static>(&self, tee: thinktee_tee::Builder, sink: K) -> Tap {
        let (tap, handle) = tee.tap(sink);
        let waiting = tokio::spawn(async move {
            let _ = handle.join().await;
        });
        self.pending.lock().unwrap().push(waiting);
        tap
    }

    /// Waits until every recording started so far has been parsed.
    pub(crate) async fn done(&self) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap());
        for waiting in pending {
            tokio::time::timeout(LIMIT, waiting).await.expect("recordings finish").unwrap();
        }
    }
}

// === raw HTTP/1.1 ===

/// Where `needle` first starts in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value of header `name` in a response or request head.
pub(crate) fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// A chunked body's bytes, and whether its terminating chunk came.
pub(crate) fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(rest, b"\r\n") else { return (body, false) };
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size else { return (body, false) };
        rest = &rest[line_end + 2..];
        if size == 0 {
            return (body, rest.starts_with(b"\r\n"));
        }
        if rest.len() < size + 2 {
            body.extend_from_slice(&rest[..rest.len().min(size)]);
            return (body, false);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
