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

/// The upstream connection has no task of its own: while a stream passes,
/// the proxy's runtime runs one task more than before it (the client
/// connection's), where hyper_util's pooled client ran more (that, the
/// upstream connection's, and its pool's timer), and every chunk crossed
/// from the upstream connection's task to the client connection's.
#[test]
fn a_streamed_exchange_runs_in_one_task() {
    // The upstream on a runtime of its own: only the proxy's tasks count.
    let upstream_rt = tokio::runtime::Runtime::new().unwrap();
    let upstream = upstream_rt.block_on(upstream(After::KeepAlive, true));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let proxy = proxy_to(upstream.addr).await;
        let metrics = tokio::runtime::Handle::current().metrics();
        let before = metrics.num_alive_tasks();
        let mut client = TcpStream::connect(proxy.addr).await.unwrap();
        client.write_all(post("/stream").as_bytes()).await.unwrap();
        // Read until the first event arrived: the stream is mid-way.
        let mut raw = Vec::new();
        let mut piece = [0u8; 4096];
        while find(&raw, EVENTS[0].as_bytes()).is_none() {
            let n = timeout(LIMIT, client.read(&mut piece)).await.unwrap().unwrap();
            assert!(n > 0, "the first event arrives");
            raw.extend_from_slice(&piece[..n]);
        }
        let during = metrics.num_alive_tasks();
        assert_eq!(during, before + 1, "the client connection's task and no other");
        upstream.go.notify_one();
        timeout(LIMIT, client.read_to_end(&mut raw)).await.unwrap().unwrap();
        let end = find(&raw, b"\r\n\r\n").unwrap() + 4;
        let (body, complete) = dechunk(&raw[end..]);
        assert!(complete);
        assert_eq!(body, EVENTS.concat().into_bytes());
    });
}

/// A streaming request on a connection of its own.
fn post(path: &str) -> String {
    let body = r#"{"model":"m","stream":true}"#;
    format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// An upstream that answers each request with `answer`, written one byte
/// at a time, then waits for the next request on the connection, or with
/// `close` closes it; counts the connections it accepts.
async fn scripted(answer: &'static [u8], close: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            stream.set_nodelay(true).unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                while read_request(&mut stream).await.is_some() {
                    for byte in answer {
                        if stream.write_all(&[*byte]).await.is_err() {
                            return;
                        }
                    }
                    if close {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// The response as the client got it: head, de-chunked body, and whether
/// the body ended cleanly.
async fn exchange(proxy: SocketAddr, path: &str) -> (String, Vec<u8>, bool) {
    let raw = exchange_raw(proxy, path).await;
    let (head, body, complete) = split_response(&raw);
    assert!(!head.is_empty(), "a response head: {:?}", String::from_utf8_lossy(&raw));
    (head, body, complete)
}

/// What the client read until the proxy closed its connection.
async fn exchange_raw(proxy: SocketAddr, path: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream.write_all(post(path).as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // A reset after an error counts as the end.
    let _ = timeout(LIMIT, stream.read_to_end(&mut raw)).await.expect("response ends");
    raw
}

/// Head (empty if none came whole), de-chunked body, clean end.
fn split_response(raw: &[u8]) -> (String, Vec<u8>, bool) {
    let Some(end) = find(raw, b"\r\n\r\n") else { return (String::new(), Vec::new(), false) };
    let head = String::from_utf8_lossy(&raw[..end + 4]).into_owned();
    let (body, complete) = dechunk(&raw[end + 4..]);
    (head, body, complete)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_read_a_byte_at_a_time_is_forwarded_whole_on_one_connection() {
    // A 100 Continue first, a chunk extension, a trailer.
    let (addr, accepted) = scripted(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
          transfer-encoding: chunked\r\n\r\n7;x=y\r\ndata: a\r\n2\r\n\n\n\r\n0\r\nx-t: 1\r\n\r\n",
        false,
    )
    .await;
    let proxy = proxy_to(addr).await;
    for _ in 0..3 {
        let (head, body, complete) = exchange(proxy.addr, "/stream").await;
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert_eq!(header(&head, "content-type").as_deref(), Some("text/event-stream"));
        assert_eq!(body, b"data: a\n\n");
        assert!(complete, "the stream ended cleanly");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the connection was reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_chunked_framing_ends_the_stream_early_and_the_connection_is_not_reused() {
    let (addr, accepted) = scripted(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
          transfer-encoding: chunked\r\n\r\n9\r\ndata: a\n\n\r\nzz\r\n",
        false,
    )
    .await;
    let proxy = proxy_to(addr).await;
    for round in 1..=2 {
        // The response head and the data before the bad size may or may not
        // have left the proxy before the error cut the client's connection.
        let raw = exchange_raw(proxy.addr, "/stream").await;
        let (head, body, complete) = split_response(&raw);
        assert!(head.is_empty() || head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(b"data: a\n\n".starts_with(&body), "nothing made up: {body:?}");
        assert!(!complete, "the client sees the stream end early");
        assert_eq!(accepted.load(Ordering::SeqCst), round, "a new connection each time");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_delimited_body_is_whole_and_a_length_cut_short_ends_early() {
    let json = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"a\":1}";
    let (addr, accepted) = scripted(json, true).await;
    let proxy = proxy_to(addr).await;
    for round in 1..=2 {
        let (head, body, complete) = exchange(proxy.addr, "/json").await;
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert_eq!(body, br#"{"a":1}"#);
        assert!(complete, "the body ended with the upstream's connection, cleanly");
        assert_eq!(accepted.load(Ordering::SeqCst), round, "never reused");
    }

    let (addr, _) = scripted(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{\"a\"",
        true,
    )
    .await;
    let proxy = proxy_to(addr).await;
    // What left the proxy before the error cut the client's connection
    // varies; never a whole body.
    let raw = exchange_raw(proxy.addr, "/json").await;
    if let Some(end) = find(&raw, b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&raw[..end + 4]).into_owned();
        assert_eq!(header(&head, "content-length").as_deref(), Some("10"));
        assert!(br#"{"a""#.starts_with(&raw[end + 4..]), "nothing made up");
    }
}
