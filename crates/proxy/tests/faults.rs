//! The proxy under faults, in-process: a tiny fake upstream on loopback
//! that speaks raw HTTP/1.1 (so it can cut, stall and count), a raw TCP
//! client (so it can stop reading or hang up), and a recorder that keeps
//! what the pipeline reported.

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use support::{LIMIT, Recordings, dechunk, find, header};
use thinktee_pipeline::{DocumentKind, ErrorKind, Event, FnSink, InputEnd, Options, StreamOutcome};
use thinktee_proxy::{Config, Proxy, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const SECRET: &str = "sk-SECRET-do-not-record-4f1c";

// === logs ===

/// Every log line of this test binary, at TRACE: no secret may appear.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || LogWriter(logs))
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
}

struct LogWriter(&'static Mutex<Vec<u8>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// === the fake upstream ===

/// The head and body of the request the upstream got.
#[derive(Debug, Clone, Default)]
struct Got {
    head: String,
    body: Vec<u8>,
}

type Script = Arc<dyn Fn(Got, TcpStream) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

struct Upstream_ {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Got>>>,
}

/// Serves each connection: reads one request, then runs `script`.
async fn upstream(script: Script) -> Upstream_ {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let script = script.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let got = read_request(&mut stream).await;
                seen.lock().unwrap().push(got.clone());
                script(got, stream).await;
            });
        }
    });
    Upstream_ { addr, requests }
}

async fn read_request(stream: &mut TcpStream) -> Got {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return Got::default();
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0usize);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Got { head, body }
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/e2e/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

// === the proxy and its recorder ===

#[derive(Debug, Default)]
struct Seen {
    exchanges: Vec<thinktee_record::Exchange>,
    input_ends: Vec<InputEnd>,
    outcomes: Vec<StreamOutcome>,
    errors: Vec<ErrorKind>,
}

struct Harness {
    running: support::Running,
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    recordings: Arc<Recordings>,
}

/// `--normalize reasoning_content`, with the explicit start it needs.
fn normalize_to_reasoning_content(c: &mut Config) {
    c.normalize = Some(thinktee_proxy::ReasoningTarget::ReasoningContent);
    c.splitter =
        thinktee_think::Builder::new().start(thinktee_think::StartMode::Explicit).config().unwrap();
}

async fn proxy_to(upstream: SocketAddr, tune: impl FnOnce(&mut Config)) -> Harness {
    proxy_with_grace(upstream, tune, thinktee_proxy::DEFAULT_GRACE).await
}

async fn proxy_with_grace(
    upstream: SocketAddr,
    tune: impl FnOnce(&mut Config),
    grace: Duration,
) -> Harness {
    logs();
    let mut config = Config::new(format!("http://{upstream}").parse::<Upstream>().unwrap());
    tune(&mut config);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let log = seen.clone();
    // A pool of this proxy's own.
    let pool = thinktee_tee::ParsePool::builder().threads(2).build().unwrap();
    let recordings = Arc::new(Recordings::default());
    let started = recordings.clone();
    let recorder = move |exchange: &thinktee_record::Exchange| {
        log.lock().unwrap().exchanges.push(exchange.clone());
        let log = log.clone();
        let sink = FnSink::new(move |r| match r.event {
            Event::InputEnd(end) => log.lock().unwrap().input_ends.push(end.clone()),
            Event::StreamEnd(end) => log.lock().unwrap().outcomes.push(end.outcome),
            Event::Error(e) => log.lock().unwrap().errors.push(e.kind),
            _ => {}
        });
        // Every exchange leaves a record, those without a body too.
        let options = Options { record_empty: true, ..Options::default() };
        Some(started.tap(exchange.tee(&pool).pipeline(options), sink))
    };
    let proxy = Proxy::with_recorder(config, Some(Box::new(recorder))).unwrap();
    let running = support::serve(proxy, |server| server.grace(grace)).await;
    Harness { addr: running.addr, running, seen, recordings }
}

impl Harness {
    /// Waits until the parse sides are done, then returns what they saw.
    async fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.recordings.done().await;
        self.seen.lock().unwrap()
    }
}

// === the raw client ===

fn request(path: &str, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: client-chosen.example\r\ncontent-type: application/json\r\n\
         authorization: Bearer {SECRET}\r\napi-key: {SECRET}\r\ncookie: session={SECRET}\r\n\
         connection: close\r\n{extra}content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const STREAM_BODY: &str =
    r#"{"model":"DeepSeek-R1","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

struct Reply {
    head: String,
    /// The body after de-chunking (or as read, for length-framed bodies).
    body: Vec<u8>,
    /// The chunked terminator (or the full content length) arrived.
    complete: bool,
}

impl Reply {
    fn status(&self) -> u16 {
        self.head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }
}

async fn roundtrip(addr: SocketAddr, req: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(req).await.unwrap();
    let mut raw = Vec::new();
    let _ = timeout(LIMIT, stream.read_to_end(&mut raw)).await.expect("response ends");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let end = find(raw, b"\r\n\r\n").expect("a response head") + 4;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let rest = &raw[end..];
    if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let (body, complete) = dechunk(rest);
        Reply { head, body, complete }
    } else {
        let len = header(&head, "content-length").and_then(|v| v.parse().ok());
        let complete = len.is_none_or(|n: usize| rest.len() == n);
        Reply { head, body: rest.to_vec(), complete }
    }
}

// === tests ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transparent_byte_for_byte_with_normalize_none() {
    let sse = fixture("azure_inline_think.sse");
    let body = sse.clone();
    let up = upstream(Arc::new(move |_, mut s| {
        let body = body.clone();
        Box::pin(async move {
            s.write_all(SSE_HEAD).await.unwrap();
            // Cut at odd places, inside events and inside `</think>`.
            for piece in body.chunks(37) {
                s.write_all(&chunk(piece)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            s.write_all(b"0\r\n\r\n").await.unwrap();
        })
    }))
    .await;
    let h = proxy_to(up.addr, |_| {}).await;
    let reply =
        roundtrip(h.addr, &request("/v1/chat/completions?api-version=1", STREAM_BODY, "")).await;
    assert_eq!(reply.status(), 200);
    assert!(reply.complete);
    assert_eq!(reply.body, sse, "the client gets exactly the upstream's bytes");
    assert_eq!(header(&reply.head, "content-type").as_deref(), Some("text/event-stream"));
    let seen = h.seen().await;
    assert_eq!(seen.input_ends, [InputEnd::Complete]);
    assert_eq!(seen.outcomes, [StreamOutcome::Complete]);
    assert_eq!(seen.exchanges[0].model.as_deref(), Some("DeepSeek-R1"));
    assert!(seen.exchanges[0].stream);
    assert_eq!(seen.exchanges[0].document_kind(), DocumentKind::Sse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_forwarded_host_rewritten_secrets_never_recorded_or_logged() {
    let up = upstream(Arc::new(|_, mut s| {
        Box::pin(async move {
            let body = br#"{"id":"c","object":"chat.completion","choices":[]}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nset-cookie: s={SECRET}\r\nx-request-id: up-1\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body).await.unwrap();
        })
    }))
    .await;
    let h = proxy_to(up.addr, |_| {}).await;
    let req = request(
        "http://evil.example/v1/chat/completions?api-key=QSECRET",
        r#"{"model":"m","stream":false}"#,
        "connection: x-hop\r\nx-hop: 1\r\nx-custom: kept\r\n",
    );
    let reply = roundtrip(h.addr, &req).await;
    assert_eq!(reply.status(), 200);
    assert!(reply.head.contains(SECRET), "set-cookie goes back to the client");

    let got = up.requests.lock().unwrap()[0].clone();
    let host = header(&got.head, "host").unwrap();
    assert_eq!(host, up.addr.to_string(), "Host is the upstream's, never the client's");
    assert!(
        got.head.starts_with("POST /v1/chat/completions?api-key=QSECRET HTTP/1.1\r\n"),
        "{}",
        got.head
    );
    assert_eq!(header(&got.head, "authorization"), Some(format!("Bearer {SECRET}")));
    assert_eq!(header(&got.head, "api-key").as_deref(), Some(SECRET));
    assert!(header(&got.head, "cookie").is_some());
    assert_eq!(header(&got.head, "x-custom").as_deref(), Some("kept"));
    assert!(header(&got.head, "x-hop").is_none(), "Connection-named headers are hop-by-hop");
    assert_eq!(got.body, br#"{"model":"m","stream":false}"#);

    let seen = h.seen().await;
    let recorded = format!("{:?}", seen.exchanges);
    assert!(!recorded.contains(SECRET), "secrets in the recorded exchange: {recorded}");
    assert!(!recorded.contains("QSECRET"));
    assert!(seen.exchanges[0].request_headers.contains_key("x-custom"));
    assert_eq!(seen.exchanges[0].path, "/v1/chat/completions?api-key=redacted");
    drop(seen);
    let logs = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(logs.contains("proxied"), "the exchange was logged");
    assert!(!logs.contains(SECRET) && !logs.contains("QSECRET"), "secret in logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_cut_mid_stream_is_an_early_close_for_the_client() {
    let sse = fixture("azure_inline_think.sse");
    let half = sse[..sse.len() / 2].to_vec();
    let sent = half.clone();
    let up = upstream(Arc::new(move |_, mut s| {
        let sent = sent.clone();
        Box::pin(async move {
            s.write_all(SSE_HEAD).await.unwrap();
            s.write_all(&chunk(&sent)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            // No terminating chunk: the connection just ends.
        })
    }))
    .await;
    let h = proxy_to(up.addr, |_| {}).await;
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", STREAM_BODY, "")).await;
    assert_eq!(reply.status(), 200);
    assert!(!reply.complete, "the client must see the stream end early");
    assert_eq!(reply.body, half, "what was sent, and nothing made up");
    assert!(!String::from_utf8_lossy(&reply.body).contains("[DONE]"));
    let seen = h.seen().await;
    assert!(matches!(seen.input_ends[..], [InputEnd::UpstreamError(_)]), "{:?}", seen.input_ends);
    assert_eq!(seen.outcomes, [StreamOutcome::UpstreamError]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_cancels_the_upstream_request() {
    let upstream_saw_cancel = Arc::new(tokio::sync::Notify::new());
    let flag = upstream_saw_cancel.clone();
    let up = upstream(Arc::new(move |_, mut s| {
        let flag = flag.clone();
        Box::pin(async move {
            s.write_all(SSE_HEAD).await.unwrap();
            let event =
                b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tick \"}}]}\n\n";
            for _ in 0..2000 {
                if s.write_all(&chunk(event)).await.is_err() {
                    flag.notify_one();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    }))
    .await;
    let h = proxy_to(up.addr, |_| {}).await;
    let mut client = TcpStream::connect(h.addr).await.unwrap();
    client.write_all(&request("/v1/chat/completions", STREAM_BODY, "")).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = timeout(LIMIT, client.read(&mut buf)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    drop(client);
    timeout(LIMIT, upstream_saw_cancel.notified())
        .await
        .expect("the upstream connection is closed when the client goes away");
    let seen = h.seen().await;
    assert_eq!(seen.input_ends, [InputEnd::ClientCancelled]);
    assert_eq!(seen.outcomes, [StreamOutcome::ClientCancelled]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_client_backpressures_the_upstream_with_bounded_memory() {
    const TOTAL: u64 = 512 << 20; // what the upstream would send if unblocked
    const PIECE: usize = 64 << 10;
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    let up = upstream(Arc::new(move |_, mut s| {
        let counter = counter.clone();
        Box::pin(async move {
            s.write_all(SSE_HEAD).await.unwrap();
            let mut event = b"data: ".to_vec();
            event.resize(PIECE - 2, b'x');
            event.extend_from_slice(b"\n\n");
            let piece = chunk(&event);
            while counter.load(Ordering::Relaxed) < TOTAL {
                if s.write_all(&piece).await.is_err() {
                    return;
                }
                counter.fetch_add(piece.len() as u64, Ordering::Relaxed);
            }
        })
    }))
    .await;
    let h = proxy_to(up.addr, |_| {}).await;
    let rss_before = rss_kib();
    let mut client = TcpStream::connect(h.addr).await.unwrap();
    client.write_all(&request("/v1/chat/completions", STREAM_BODY, "")).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let _ = timeout(LIMIT, client.read(&mut buf)).await.unwrap().unwrap();
    // Now the client reads nothing. The upstream must stall, not buffer.
    let mut last = 0;
    let mut stable = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = written.load(Ordering::Relaxed);
        if now == last {
            stable += 1;
            if stable >= 5 {
                break;
            }
        } else {
            stable = 0;
        }
        last = now;
    }
    eprintln!("upstream stalled after {last} bytes");
    assert!(stable >= 5, "the upstream kept writing: {last} bytes");
    assert!(last < 64 << 20, "upstream got {last} bytes out while the client read none");
    if let (Some(before), Some(after)) = (rss_before, rss_kib()) {
        let grown = after.saturating_sub(before);
        assert!(grown < 96 * 1024, "RSS grew by {grown} KiB");
    }
    drop(client);
    let seen = h.seen().await;
    assert_eq!(seen.input_ends, [InputEnd::ClientCancelled]);
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_is_a_502_json_error() {
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = dead.local_addr().unwrap();
    drop(dead);
    let h = proxy_to(addr, |_| {}).await;
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", STREAM_BODY, "")).await;
    assert_eq!(reply.status(), 502);
    assert_eq!(header(&reply.head, "content-type").as_deref(), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert!(json["error"]["message"].as_str().unwrap().contains("unreachable"), "{json}");
    assert_eq!(json["error"]["code"], "bad_gateway");
    let seen = h.seen().await;
    assert!(seen.exchanges[0].status.is_none());
    assert!(
        matches!(seen.input_ends[..], [InputEnd::UpstreamUnreachable(_)]),
        "{:?}",
        seen.input_ends
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_body_is_413_and_headers_431() {
    let up = upstream(Arc::new(|_, _| Box::pin(async {}))).await;
    let h = proxy_to(up.addr, |c| {
        c.max_request_body = 1024;
        c.max_request_headers = 2048;
    })
    .await;
    let big = format!("{{\"model\":\"m\",\"pad\":\"{}\"}}", "x".repeat(4096));
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", &big, "")).await;
    assert_eq!(reply.status(), 413);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json["error"]["code"], "request_too_large");

    // Chunked, so the length is found only while reading.
    let mut req = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunk(big.as_bytes()));
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(roundtrip(h.addr, &req).await.status(), 413);

    let fat = format!("x-fat: {}\r\n", "y".repeat(4096));
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", "{}", &fat)).await;
    assert_eq!(reply.status(), 431);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json["error"]["code"], "request_header_fields_too_large");
    assert!(up.requests.lock().unwrap().is_empty(), "nothing reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_429_passes_through_with_its_headers() {
    let body = br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    let up = upstream(Arc::new(move |_, mut s| {
        Box::pin(async move {
            let head = format!(
                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 7\r\nx-ratelimit-remaining-requests: 0\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body).await.unwrap();
        })
    }))
    .await;
    let h = proxy_to(up.addr, |_| {}).await;
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", STREAM_BODY, "")).await;
    assert_eq!(reply.status(), 429);
    assert_eq!(header(&reply.head, "retry-after").as_deref(), Some("7"));
    assert_eq!(header(&reply.head, "x-ratelimit-remaining-requests").as_deref(), Some("0"));
    assert_eq!(header(&reply.head, "content-length"), Some(body.len().to_string()));
    assert_eq!(reply.body, body);
    let seen = h.seen().await;
    assert_eq!(seen.exchanges[0].status.map(|s| s.as_u16()), Some(429));
    assert_eq!(seen.exchanges[0].document_kind(), DocumentKind::Json);
    assert_eq!(seen.outcomes, [StreamOutcome::UpstreamError], "the error body was parsed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_an_idle_upstream_mid_stream_is_an_upstream_timeout() {
    let up = upstream(Arc::new(|_, mut s| {
        Box::pin(async move {
            s.write_all(SSE_HEAD).await.unwrap();
            s.write_all(&chunk(b": hello\n\n")).await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        })
    }))
    .await;
    let h = proxy_to(up.addr, |c| c.idle_timeout = Some(Duration::from_millis(300))).await;
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", STREAM_BODY, "")).await;
    assert_eq!(reply.status(), 200);
    assert!(!reply.complete);
    assert_eq!(reply.body, b": hello\n\n");
    let seen = h.seen().await;
    // Decided by the error's type: the message is ours to change.
    assert!(
        matches!(&seen.input_ends[..], [InputEnd::UpstreamTimeout(_)]),
        "{:?}",
        seen.input_ends
    );
    assert_eq!(seen.outcomes, [StreamOutcome::UpstreamTimeout]);
}

// === every exchange leaves a record ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_exchanges_the_proxy_answers_itself_are_recorded_with_its_status() {
    // Accepts, reads the request, never answers.
    let silent = upstream(Arc::new(|_, s| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(s);
        })
    }))
    .await;
    let h = proxy_to(silent.addr, |c| {
        c.idle_timeout = Some(Duration::from_millis(200));
        c.max_request_body = 1024;
        c.max_request_headers = 2048;
    })
    .await;
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", STREAM_BODY, "")).await;
    assert_eq!(reply.status(), 504);
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(4096));
    assert_eq!(roundtrip(h.addr, &request("/v1/chat/completions", &big, "")).await.status(), 413);
    let fat = format!("x-fat: {}\r\n", "y".repeat(4096));
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", "{}", &fat)).await;
    assert_eq!(reply.status(), 431);
    {
        let seen = h.seen().await;
        let statuses: Vec<_> = seen
            .exchanges
            .iter()
            .map(|e| (e.status, e.response_status.map(|s| s.as_u16())))
            .collect();
        assert_eq!(statuses, [(None, Some(504)), (None, Some(413)), (None, Some(431))]);
        assert!(
            matches!(
                &seen.input_ends[..],
                [InputEnd::UpstreamTimeout(_), InputEnd::Rejected(_), InputEnd::Rejected(_)]
            ),
            "{:?}",
            seen.input_ends
        );
        // One stream each, without a choice, with what happened.
        use StreamOutcome::*;
        assert_eq!(seen.outcomes, [UpstreamTimeout, Rejected, Rejected]);
    }

    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = dead.local_addr().unwrap();
    drop(dead);
    let h = proxy_to(addr, |_| {}).await;
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", STREAM_BODY, "")).await;
    assert_eq!(reply.status(), 502);
    let seen = h.seen().await;
    assert_eq!(seen.exchanges[0].response_status.map(|s| s.as_u16()), Some(502));
    assert_eq!(seen.outcomes, [StreamOutcome::UpstreamUnreachable]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_stalled_and_over_budget_requests_are_recorded() {
    // The upstream is never reached: both requests are refused by the proxy.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = dead.local_addr().unwrap();
    drop(dead);
    let h = proxy_to(addr, |c| {
        c.max_request_body = 1000;
        c.max_buffered_request_bytes = 1000;
        // Long enough for the second request to come while the first holds
        // the budget, even on a loaded machine.
        c.client_idle_timeout = Some(Duration::from_secs(2));
    })
    .await;
    // Declares 1000 bytes (the whole budget), sends 10, then stalls.
    let mut stalled = TcpStream::connect(h.addr).await.unwrap();
    let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n";
    stalled.write_all(format!("{head}{{\"model\":1").as_bytes()).await.unwrap();
    // While it holds the budget, a second body cannot be buffered: 503. It
    // waits for the proxy to have reserved the first body's bytes.
    timeout(LIMIT, async {
        while h.running.proxy.body_budget().reserved() < 1000 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the stalled body is reserved");
    let reply = roundtrip(h.addr, &request("/v1/chat/completions", STREAM_BODY, "")).await;
    assert_eq!(reply.status(), 503);
    let mut raw = Vec::new();
    let _ = timeout(LIMIT, stalled.read_to_end(&mut raw)).await.expect("the proxy answers");
    assert_eq!(parse_reply(&raw).status(), 408);

    let seen = h.seen().await;
    let mut statuses: Vec<_> =
        seen.exchanges.iter().map(|e| e.response_status.map(|s| s.as_u16())).collect();
    statuses.sort();
    assert_eq!(statuses, [Some(408), Some(503)]);
    let mut outcomes: Vec<_> = seen.outcomes.iter().map(|o| o.as_str()).collect();
    outcomes.sort();
    assert_eq!(outcomes, ["rejected", "request_timeout"]);
    assert_eq!(h.running.proxy.body_budget().reserved(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_a_body_over_the_normalize_limit_passes_through_whole_and_is_recorded() {
    let body = fixture("nonstreaming_completion.sse");
    assert!(body.len() > 300);
    let sent = body.clone();
    let up = upstream(Arc::new(move |got, mut s| {
        let sent = sent.clone();
        Box::pin(async move {
            if got.head.contains("x-framing: length") {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    sent.len()
                );
                s.write_all(head.as_bytes()).await.unwrap();
                s.write_all(&sent).await.unwrap();
                return;
            }
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n").await.unwrap();
            for piece in sent.chunks(100) {
                s.write_all(&chunk(piece)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            s.write_all(b"0\r\n\r\n").await.unwrap();
        })
    }))
    .await;
    let h = proxy_to(up.addr, |c| {
        normalize_to_reasoning_content(c);
        c.max_normalize_body = 250;
    })
    .await;
    let no_stream = r#"{"model":"m","messages":[]}"#;
    for framing in ["chunked", "length"] {
        let extra = format!("x-framing: {framing}\r\n");
        let reply = roundtrip(h.addr, &request("/v1/chat/completions", no_stream, &extra)).await;
        assert_eq!(reply.status(), 200, "{framing}");
        assert!(reply.complete, "{framing}: the client gets the whole body");
        assert_eq!(reply.body, body, "{framing}: unnormalized, byte for byte");
    }
    let seen = h.seen().await;
    assert_eq!(seen.input_ends, [InputEnd::Complete, InputEnd::Complete]);
    assert_eq!(seen.outcomes, [StreamOutcome::Complete, StreamOutcome::Complete]);
    // Each recording says its client got the body unnormalized.
    assert_eq!(seen.errors, [ErrorKind::NotNormalized, ErrorKind::NotNormalized]);
    drop(seen);
    let logs = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    let warning = "a non-streaming response is larger than the normalize limit";
    assert_eq!(logs.matches(warning).count(), 1, "warned once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_14_an_event_over_the_normalize_limit_passes_through_and_is_recorded() {
    let event = |text: &str| {
        format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}}}}]}}\n\n",
            serde_json::to_string(text).unwrap()
        )
    };
    let long = format!("</think>{}", "x".repeat(2000));
    let sent =
        [event("<think>hm"), event(&long), event("<think>a</think>b"), "data: [DONE]\n\n".into()]
            .concat();
    let stream = sent.clone();
    let up = upstream(Arc::new(move |_, mut s| {
        let stream = stream.clone();
        Box::pin(async move {
            s.write_all(SSE_HEAD).await.unwrap();
            for piece in stream.as_bytes().chunks(700) {
                s.write_all(&chunk(piece)).await.unwrap();
            }
            s.write_all(b"0\r\n\r\n").await.unwrap();
        })
    }))
    .await;
    let h = proxy_to(up.addr, |c| {
        normalize_to_reasoning_content(c);
        c.max_normalize_event = 1000;
    })
    .await;
    for _ in 0..2 {
        let reply = roundtrip(h.addr, &request("/v1/chat/completions", STREAM_BODY, "")).await;
        assert_eq!(reply.status(), 200);
        assert!(reply.complete, "the client gets the whole stream");
        let body = String::from_utf8(reply.body).unwrap();
        // The first event normalized; from the long one on, as sent.
        let rest = &sent[event("<think>hm").len()..];
        assert!(body.ends_with(rest), "{body}");
        assert!(body.starts_with("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\",\"reasoning_content\":\"hm\"}}]}\n\n"), "{body}");
    }
    let seen = h.seen().await;
    assert_eq!(seen.errors, [ErrorKind::NotNormalized, ErrorKind::NotNormalized]);
    assert_eq!(seen.outcomes, [StreamOutcome::Complete, StreamOutcome::Complete]);
    drop(seen);
    let logs = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    let warning = "an SSE event is larger than the normalize limit";
    assert_eq!(logs.matches(warning).count(), 1, "warned once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_streams_cut_when_the_grace_ends_are_recorded_as_shutdown() {
    let up = upstream(Arc::new(|_, mut s| {
        Box::pin(async move {
            s.write_all(SSE_HEAD).await.unwrap();
            let event =
                b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tick \"}}]}\n\n";
            // Never ends on its own.
            while s.write_all(&chunk(event)).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }))
    .await;
    let h = proxy_with_grace(up.addr, |_| {}, Duration::from_millis(100)).await;
    let mut client = TcpStream::connect(h.addr).await.unwrap();
    client.write_all(&request("/v1/chat/completions", STREAM_BODY, "")).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = timeout(LIMIT, client.read(&mut buf)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Keep reading (the client is there to the end), and shut down.
    let reader = tokio::spawn(async move {
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest).await;
    });
    let Harness { running, seen, recordings, .. } = h;
    let _proxy = running.stop();
    timeout(LIMIT, reader).await.expect("the connection is cut").unwrap();
    recordings.done().await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.input_ends, [InputEnd::Shutdown]);
    assert_eq!(seen.outcomes, [StreamOutcome::Shutdown]);
}
