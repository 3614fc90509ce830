//! The proxy's upstream connections, counted: a keep-alive upstream on
//! loopback that counts the connections it accepts (issue 18: the reuse
//! that keeps a connect and a TLS handshake off most exchanges, as nginx's
//! `keepalive` does).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{LIMIT, dechunk, find, header};
use thinktee_proxy::{Config, Proxy, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::time::timeout;

/// What the upstream answers: an SSE stream of three events (chunked), or a
/// JSON body with a length.
const EVENTS: [&str; 3] = [
    "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n",
    "data: [DONE]\n\n",
];
const JSON: &str = r#"{"object":"chat.completion","choices":[]}"#;

/// How the upstream treats a connection after answering a request.
#[derive(Clone, Copy, PartialEq)]
enum After {
    /// Waits for the next request on it (HTTP/1.1 keep-alive).
    KeepAlive,
    /// Closes it (without saying so in the response: an idle timeout).
    Close,
}

struct CountingUpstream {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
    /// A message per connection the upstream closed.
    closed: mpsc::UnboundedReceiver<()>,
    /// With `hold`, a stream waits after its first event for this.
    go: Arc<Notify>,
}

/// Reads a request head and its `content-length` body; false at EOF.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut piece = [0u8; 4096];
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut piece).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&piece[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let len: usize = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut have = buf.len() - end;
    while have < len {
        let n = stream.read(&mut piece).await.ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    Some(head)
}

/// `POST /stream` gets the events, anything else the JSON. With `hold`,
/// the stream waits after its first event until `go` is notified.
async fn upstream(after: After, hold: bool) -> CountingUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted, served) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (closed_tx, closed) = mpsc::unbounded_channel();
    let go = Arc::new(Notify::new());
    let (count, serve, wait) = (accepted.clone(), served.clone(), go.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (serve, wait, closed_tx) = (serve.clone(), wait.clone(), closed_tx.clone());
            tokio::spawn(async move {
                while let Some(head) = read_request(&mut stream).await {
                    if head.starts_with("POST /stream ") {
                        let mut out = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                                        transfer-encoding: chunked\r\n\r\n"
                            .to_vec();
                        for (i, event) in EVENTS.iter().enumerate() {
                            out.extend_from_slice(
                                format!("{:x}\r\n{event}\r\n", event.len()).as_bytes(),
                            );
                            if i == 0 && hold {
                                stream.write_all(&out).await.unwrap();
                                out.clear();
                                wait.notified().await;
                            }
                        }
                        out.extend_from_slice(b"0\r\n\r\n");
                        stream.write_all(&out).await.unwrap();
                    } else {
                        let out = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\n\r\n{JSON}",
                            JSON.len()
                        );
                        stream.write_all(out.as_bytes()).await.unwrap();
                    }
                    serve.fetch_add(1, Ordering::SeqCst);
                    if after == After::Close {
                        break;
                    }
                }
                drop(stream);
                let _ = closed_tx.send(());
            });
        }
    });
    CountingUpstream { addr, accepted, served, closed, go }
}

async fn proxy_to(upstream: SocketAddr) -> support::Running {
    let config = Config::new(format!("http://{upstream}").parse::<Upstream>().unwrap());
    support::serve(Proxy::new(config).unwrap(), |server| server).await
}

/// One request on a connection of its own; the de-chunked (or length-read)
/// body.
async fn get(proxy: SocketAddr, path: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    let body = r#"{"model":"m","stream":true}"#;
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(LIMIT, stream.read_to_end(&mut raw)).await.expect("response ends").unwrap();
    let end = find(&raw, b"\r\n\r\n").expect("a response head") + 4;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    if header(&head, "transfer-encoding").is_some() {
        let (body, complete) = dechunk(&raw[end..]);
        assert!(complete, "the stream ended cleanly");
        body
    } else {
        raw[end..].to_vec()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_reuse_one_upstream_connection() {
    let upstream = upstream(After::KeepAlive, false).await;
    let proxy = proxy_to(upstream.addr).await;
    let events = EVENTS.concat().into_bytes();
    // Streams and length-framed bodies, one after the other: six requests.
    for path in ["/stream", "/json", "/stream", "/stream", "/json", "/json"] {
        let expected = if path == "/stream" { &events } else { JSON.as_bytes() };
        assert_eq!(get(proxy.addr, path).await, *expected, "{path}");
    }
    assert_eq!(upstream.served.load(Ordering::SeqCst), 6);
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 1, "one connection, reused five times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_the_upstream_closed_is_replaced_not_an_error() {
    let mut upstream = upstream(After::Close, false).await;
    let proxy = proxy_to(upstream.addr).await;
    let events = EVENTS.concat().into_bytes();
    for round in 1..=3 {
        assert_eq!(get(proxy.addr, "/stream").await, events, "round {round}");
        // The upstream has closed the connection the proxy keeps idle.
        timeout(LIMIT, upstream.closed.recv()).await.expect("upstream closes").unwrap();
    }
    assert_eq!(upstream.served.load(Ordering::SeqCst), 3);
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 3, "a new connection each time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_open_one_connection_each_then_reuse_them() {
    let upstream = upstream(After::KeepAlive, true).await;
    let proxy = proxy_to(upstream.addr).await;
    let events = EVENTS.concat().into_bytes();
    let addr = proxy.addr;
    // Three streams held open at once need three connections.
    let streams: Vec<_> = (0..3).map(|_| tokio::spawn(get(addr, "/stream"))).collect();
    while upstream.accepted.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Every one is past its first event before any goes on.
    let go = upstream.go.clone();
    let releaser = tokio::spawn(async move {
        loop {
            go.notify_waiters();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    for s in streams {
        assert_eq!(timeout(LIMIT, s).await.unwrap().unwrap(), events);
    }
    // Then six one after the other take the idle ones.
    for _ in 0..6 {
        assert_eq!(get(addr, "/stream").await, events);
    }
    releaser.abort();
    assert_eq!(upstream.served.load(Ordering::SeqCst), 9);
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 3);
}
