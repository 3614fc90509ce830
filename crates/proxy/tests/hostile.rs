//! Hostile clients against the in-process proxy: silent connections, idle
//! keep-alive and HTTP/2 connections, stalled and concurrent uploads, a
//! full house of busy connections. Bounds are asserted by counting
//! (connections, bytes, responses); timeouts only guard against hanging.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{Running, find};
use thinktee_proxy::{Config, Proxy, Server, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::timeout;

/// Guards every wait: far longer than any test needs.
const GUARD: Duration = Duration::from_secs(60);

const BODY: &str = r#"{"model":"m","messages":[]}"#;
const ANSWER: &str = r#"{"ok":true}"#;

// === the fake upstream ===

/// Answers each request with `ANSWER` once `release` grants a permit.
struct FakeUpstream {
    addr: SocketAddr,
    /// Requests read whole so far.
    seen: Arc<AtomicUsize>,
    /// Signalled after each request is read.
    arrived: Arc<Notify>,
    release: Arc<Semaphore>,
}

impl FakeUpstream {
    /// Answers at once.
    async fn open() -> FakeUpstream {
        FakeUpstream::with_permits(Semaphore::MAX_PERMITS).await
    }

    /// Holds every answer until [`FakeUpstream::release`] grants it.
    async fn holding() -> FakeUpstream {
        FakeUpstream::with_permits(0).await
    }

    async fn with_permits(permits: usize) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (seen, arrived) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        let release = Arc::new(Semaphore::new(permits));
        let (s, a, r) = (seen.clone(), arrived.clone(), release.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let (seen, arrived, release) = (s.clone(), a.clone(), r.clone());
                tokio::spawn(async move {
                    if !read_request(&mut stream).await {
                        return;
                    }
                    seen.fetch_add(1, Ordering::AcqRel);
                    arrived.notify_one();
                    let Ok(permit) = release.acquire().await else { return };
                    permit.forget();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ANSWER}",
                        ANSWER.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        FakeUpstream { addr, seen, arrived, release }
    }

    /// Waits until `n` requests have arrived.
    async fn wait_for(&self, n: usize) {
        timeout(GUARD, async {
            while self.seen.load(Ordering::Acquire) < n {
                self.arrived.notified().await;
            }
        })
        .await
        .expect("requests reach the upstream");
    }

    fn release(&self, n: usize) {
        self.release.add_permits(n);
    }
}

/// Reads one request head and its `content-length` body; false if the
/// connection ended first.
async fn read_request(stream: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return true;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

// === the proxy ===

async fn proxy(
    upstream: SocketAddr,
    tune: impl FnOnce(&mut Config),
    server: impl FnOnce(Server) -> Server,
) -> Running {
    let mut config = Config::new(format!("http://{upstream}").parse::<Upstream>().unwrap());
    tune(&mut config);
    support::serve(Proxy::new(config).unwrap(), server).await
}

// === the clients ===

fn post(body: &str, keep_alive: bool) -> String {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         connection: {connection}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A response with a `content-length` body, read exactly (the connection
/// may stay open).
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn read_reply(stream: &mut TcpStream) -> Reply {
    timeout(GUARD, async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
                let mut reply = Reply { status: 0, head, body: Vec::new() };
                reply.status = reply.head.split(' ').nth(1).unwrap().parse().unwrap();
                let len: usize = reply.header("content-length").unwrap().parse().unwrap();
                if buf.len() >= end + 4 + len {
                    reply.body = buf[end + 4..end + 4 + len].to_vec();
                    return reply;
                }
            }
            let n = stream.read(&mut chunk).await.expect("read a response");
            assert!(n > 0, "connection closed before a whole response: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .expect("a response arrives")
}

/// Reads until the server closes the connection (end of file, or a reset).
async fn closed_by_server(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    timeout(GUARD, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // an HTTP/2 server's SETTINGS and GOAWAY
            }
        }
    })
    .await
    .expect("the server closes the connection");
}

/// The HTTP/2 connection preface and an empty SETTINGS frame.
fn h2_preface() -> Vec<u8> {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    bytes
}

// === tests ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_silent_connections_are_closed_and_a_real_client_gets_through() {
    const CAP: usize = 64;
    const SILENT: usize = 150;
    let up = FakeUpstream::open().await;
    let p = proxy(
        up.addr,
        |_| {},
        |s| s.max_connections(CAP).client_idle_timeout(Some(Duration::from_secs(2))),
    )
    .await;

    let mut silent = Vec::new();
    for i in 0..SILENT {
        let mut stream = TcpStream::connect(p.addr).await.unwrap();
        if i % 3 == 0 {
            stream.write_all(&h2_preface()).await.unwrap();
        }
        silent.push(stream);
    }
    let mut client = TcpStream::connect(p.addr).await.unwrap();
    client.write_all(post(BODY, false).as_bytes()).await.unwrap();
    let reply = read_reply(&mut client).await;
    assert_eq!((reply.status, reply.body.as_slice()), (200, ANSWER.as_bytes()));

    for stream in &mut silent {
        closed_by_server(stream).await;
    }
    assert_eq!(p.connections.peak(), CAP, "the cap was reached, never passed");
    assert_eq!(
        p.connections.evicted() + p.connections.closed_idle(),
        SILENT as u64,
        "each silent connection closed once, by eviction or by the idle timeout"
    );
    assert_eq!(up.seen.load(Ordering::Acquire), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_http2_connections_with_no_stream_make_room_at_the_cap() {
    const CAP: usize = 4;
    let up = FakeUpstream::open().await;
    let p = proxy(up.addr, |_| {}, |s| s.max_connections(CAP).client_idle_timeout(None)).await;
    let mut idle = Vec::new();
    for _ in 0..CAP {
        let mut stream = TcpStream::connect(p.addr).await.unwrap();
        stream.write_all(&h2_preface()).await.unwrap();
        // The server's SETTINGS: it has read the preface.
        let mut first = [0u8; 1];
        assert_eq!(timeout(GUARD, stream.read(&mut first)).await.unwrap().unwrap(), 1);
        idle.push(stream);
    }
    let mut client = TcpStream::connect(p.addr).await.unwrap();
    client.write_all(post(BODY, false).as_bytes()).await.unwrap();
    let reply = read_reply(&mut client).await;
    assert_eq!((reply.status, reply.body.as_slice()), (200, ANSWER.as_bytes()));
    closed_by_server(&mut idle[0]).await; // the oldest
    assert_eq!((p.connections.peak(), p.connections.evicted()), (CAP, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_busy_connections_at_the_cap_are_not_evicted() {
    let up = FakeUpstream::holding().await;
    let p = proxy(up.addr, |_| {}, |s| s.max_connections(2)).await;
    let (mut a, mut b) =
        (TcpStream::connect(p.addr).await.unwrap(), TcpStream::connect(p.addr).await.unwrap());
    a.write_all(post(BODY, true).as_bytes()).await.unwrap();
    b.write_all(post(BODY, true).as_bytes()).await.unwrap();
    up.wait_for(2).await; // both in flight, held by the upstream
    let mut c = TcpStream::connect(p.addr).await.unwrap();
    c.write_all(post(BODY, false).as_bytes()).await.unwrap();

    // The two busy ones finish whole, and stay open (keep-alive): the
    // newcomer gets in by closing one of them, now idle.
    up.release(3);
    for stream in [&mut a, &mut b] {
        let reply = read_reply(stream).await;
        assert_eq!((reply.status, reply.body.as_slice()), (200, ANSWER.as_bytes()));
    }
    let reply = read_reply(&mut c).await;
    assert_eq!((reply.status, reply.body.as_slice()), (200, ANSWER.as_bytes()));
    assert_eq!(p.connections.peak(), 2, "the newcomer waited for room");
    assert_eq!(p.connections.evicted(), 1, "one idle connection made room");
    assert_eq!(up.seen.load(Ordering::Acquire), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_idle_keep_alive_connection_is_closed() {
    let up = FakeUpstream::open().await;
    let p = proxy(up.addr, |_| {}, |s| s.client_idle_timeout(Some(Duration::from_secs(1)))).await;
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    stream.write_all(post(BODY, true).as_bytes()).await.unwrap();
    let reply = read_reply(&mut stream).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("connection"), None, "kept alive");

    closed_by_server(&mut stream).await;
    assert_eq!((p.connections.closed_idle(), p.connections.evicted()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_idle_http2_connection_is_closed() {
    let up = FakeUpstream::open().await;
    let p = proxy(up.addr, |_| {}, |s| s.client_idle_timeout(Some(Duration::from_secs(1)))).await;
    let tcp = TcpStream::connect(p.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let request = http::Request::post(format!("http://{}/v1/chat/completions", p.addr))
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .unwrap();
    let response = timeout(GUARD, sender.send_request(request)).await.unwrap().unwrap();
    assert_eq!((response.status().as_u16(), response.version()), (200, http::Version::HTTP_2));
    let body = timeout(GUARD, response.into_body().collect()).await.unwrap().unwrap();
    assert_eq!(body.to_bytes(), ANSWER.as_bytes());

    // The stream is over, the connection open: the server ends it.
    timeout(GUARD, conn).await.expect("the server closes the connection").unwrap().unwrap();
    assert_eq!((p.connections.closed_idle(), p.connections.evicted()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_stalled_upload_gets_408_and_gives_its_bytes_back() {
    const DECLARED: usize = 64 << 10;
    let up = FakeUpstream::open().await;
    let p = proxy(up.addr, |c| c.client_idle_timeout = Some(Duration::from_secs(1)), |s| s).await;
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {DECLARED}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; DECLARED - 1]).await.unwrap(); // one byte short

    let reply = read_reply(&mut stream).await;
    assert_eq!(reply.status, 408);
    assert_eq!(reply.json()["error"]["code"], "request_timeout");
    assert_eq!(reply.header("connection"), Some("close"));
    closed_by_server(&mut stream).await;
    let budget = p.proxy.body_budget();
    assert_eq!((budget.peak(), budget.reserved()), (DECLARED, 0), "reserved, then given back");
    assert_eq!(up.seen.load(Ordering::Acquire), 0, "nothing reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_uploads_past_the_body_budget_get_503() {
    const BODY_SIZE: usize = 40_000;
    const BUDGET: usize = 100_000; // two bodies fit, not three
    const UPLOADS: usize = 5;
    let up = FakeUpstream::open().await;
    let p = proxy(
        up.addr,
        |c| {
            c.max_request_body = BODY_SIZE;
            c.max_buffered_request_bytes = BUDGET;
        },
        |s| s,
    )
    .await;
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(BODY_SIZE - 10));
    assert_eq!(body.len(), BODY_SIZE);
    let request = post(&body, false);
    let (head, body) = request.split_at(request.len() - BODY_SIZE);

    // Each upload sends its head, then its body only when told: until then
    // it holds what it reserved. A refusal may come first.
    let (go, _) = tokio::sync::watch::channel(false);
    let (early_tx, mut early) = tokio::sync::mpsc::unbounded_channel();
    let mut uploads = Vec::new();
    for _ in 0..UPLOADS {
        let mut stream = TcpStream::connect(p.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let (mut go, early, body) = (go.subscribe(), early_tx.clone(), body.to_owned());
        uploads.push(tokio::spawn(async move {
            let mut first = [0u8; 1];
            let refused = tokio::select! {
                read = stream.peek(&mut first) => read.unwrap() > 0,
                _ = go.wait_for(|go| *go) => false,
            };
            if refused {
                let _ = early.send(());
            } else {
                stream.write_all(body.as_bytes()).await.unwrap();
            }
            read_reply(&mut stream).await
        }));
    }
    // Three refusals arrive while two bodies are held back.
    for _ in 0..3 {
        timeout(GUARD, early.recv()).await.expect("refusals arrive").unwrap();
    }
    go.send_replace(true);
    let mut statuses = Vec::new();
    for upload in uploads {
        let reply = upload.await.unwrap();
        if reply.status == 503 {
            assert_eq!(reply.header("retry-after"), Some("1"));
            assert_eq!(reply.json()["error"]["code"], "request_buffer_full");
        }
        statuses.push(reply.status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 503, 503, 503]);
    let budget = p.proxy.body_budget();
    assert_eq!((budget.peak(), budget.reserved()), (2 * BODY_SIZE, 0));
    assert_eq!(up.seen.load(Ordering::Acquire), 2);
}
