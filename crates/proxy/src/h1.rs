//! The proxy's own HTTP/1.1 client for the upstream: a pool of keep-alive
//! connections, the request written whole, the response head parsed with
//! `httparse`, and a response body that reads the upstream's socket itself
//! when it is polled.
//!
//! Why not hyper's client (issue 18): with it, a streamed chunk passes
//! through two tasks (the upstream connection's task reads and de-chunks
//! it and hands it over a channel to the client connection's task, which
//! frames and writes it): two task wakeups per chunk, where nginx reads and
//! writes in one event. Here the client connection's task polls the body,
//! the body reads the socket, and the chunk goes out from the same poll.
//! (Driving hyper's client dispatcher from the body's poll instead cost
//! more, not less: see LOAD.md, "One task per exchange".)
//!
//! Measured (LOAD.md, "Own HTTP/1.1 client"; callgrind, `scripts/load-profile.sh
//! callgrind`, two runs each, against hyper_util's client at 4a51643):
//! forwarding 7,984 / 8,357 instructions per chunk against 11,355 / 11,161
//! (-27 %), recording 12,701 / 12,685 against 16,545 / 16,202 (-22 %);
//! syscalls per chunk forwarding 2.67 against 3.33 (`futex` 0.18 against
//! 0.44, `scripts/load-count.sh`).
//!
//! Upstreams that pick HTTP/2 by ALPN stay on hyper's client: the first
//! connection that negotiates `h2` switches the proxy to it for good.

mod decode;

use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::Connection;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower_service::Service;

use decode::{Decoder, Framing};

use crate::reply::BoxError;
use crate::upstream::{Connector, Upstream};

/// How long an idle upstream connection is kept (hyper_util's pool used
/// the same).
pub(crate) const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// The largest response head read (hyper's default read buffer limit).
pub(crate) const MAX_HEAD: usize = 8192 + 4096 * 100;
/// The most header fields in a response head (hyper's default).
const MAX_HEADERS: usize = 100;
/// A request body up to this size is copied behind its head and written
/// with it.
const SMALL_BODY: usize = 64 << 10;
/// The read buffer of a connection: one read of the socket at most.
const READ_BUF: usize = 16 << 10;

type Stream = TokioIo<MaybeHttpsStream<TokioIo<TcpStream>>>;

/// An upstream connection and what was read from it but not yet used.
struct Conn {
    io: Stream,
    /// `buf[start..end]` is read and not yet used. `buf` is always fully
    /// initialized (its length is its size), so reading into it needs no
    /// `unsafe` and no zeroing per read.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    fn new(io: Stream) -> Conn {
        Conn { io, buf: vec![0; READ_BUF], start: 0, end: 0 }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads once more from the socket, after what is unread; `Ok(0)` at
    /// EOF. Grows the buffer up to `limit` when the unread part fills it.
    fn poll_fill(&mut self, cx: &mut Context<'_>, limit: usize) -> Poll<std::io::Result<usize>> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.end == self.buf.len() {
                if self.buf.len() >= limit {
                    return Poll::Ready(Err(std::io::Error::other(format!(
                        "response head over {limit} bytes"
                    ))));
                }
                self.buf.resize((self.buf.len() * 2).min(limit), 0);
            }
        }
        let mut read = ReadBuf::new(&mut self.buf[self.end..]);
        std::task::ready!(Pin::new(&mut self.io).poll_read(cx, &mut read))?;
        let n = read.filled().len();
        self.end += n;
        Poll::Ready(Ok(n))
    }

    async fn fill(&mut self, limit: usize) -> std::io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx, limit)).await
    }

    /// Whether an idle connection can take a request: the upstream has
    /// neither closed it nor sent anything on it since its last response.
    fn is_usable(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        let mut probe = [0u8; 1];
        let mut read = ReadBuf::new(&mut probe);
        matches!(Pin::new(&mut self.io).poll_read(&mut cx, &mut read), Poll::Pending)
    }
}

/// Idle keep-alive connections, the most recently used first out.
#[derive(Default)]
struct Pool {
    idle: Mutex<Vec<(Box<Conn>, Instant)>>,
}

impl Pool {
    fn checkout(&self) -> Option<Box<Conn>> {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(_, since)| now.duration_since(*since) < POOL_IDLE_TIMEOUT);
        while let Some((mut conn, _)) = idle.pop() {
            if conn.is_usable() {
                return Some(conn);
            }
        }
        None
    }

    fn checkin(&self, mut conn: Box<Conn>) {
        // A large response head grew the buffer: an idle connection keeps
        // no more than a read's worth.
        if conn.buf.len() > READ_BUF {
            conn.buf.truncate(READ_BUF);
            conn.buf.shrink_to_fit();
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(_, since)| now.duration_since(*since) < POOL_IDLE_TIMEOUT);
        idle.push((conn, now));
    }
}

/// The upstream client: this module's HTTP/1.1 connections, or hyper's
/// client once the upstream has picked HTTP/2.
pub(crate) struct UpstreamClient {
    upstream: Upstream,
    connector: Connector,
    pool: std::sync::Arc<Pool>,
    hyper: Client<Connector, Full<Bytes>>,
    h2: AtomicBool,
}

/// Why an exchange got no response head.
#[derive(Debug)]
struct Failed {
    error: BoxError,
    /// Nothing of the response came, on a connection that had served
    /// before: the upstream closed it while we took it; worth one retry.
    stale: bool,
}

impl UpstreamClient {
    pub(crate) fn new(
        upstream: Upstream,
        connector: Connector,
        hyper: Client<Connector, Full<Bytes>>,
    ) -> UpstreamClient {
        UpstreamClient {
            upstream,
            connector,
            pool: std::sync::Arc::default(),
            hyper,
            h2: AtomicBool::new(false),
        }
    }

    /// Sends `req` (its URI absolute, for hyper's client) and reads the
    /// response head. A request on a pooled connection the upstream had
    /// closed (nothing of a response came) is sent again on a new one.
    pub(crate) async fn request(
        &self,
        req: Request<Bytes>,
    ) -> Result<Response<UpstreamBody>, BoxError> {
        if !self.h2.load(Ordering::Relaxed) {
            let head = request_head(&req, &self.upstream);
            let is_head = req.method() == Method::HEAD;
            if let Some(conn) = self.pool.checkout() {
                match self.exchange(conn, true, &head, req.body(), is_head).await {
                    Err(Failed { stale: true, .. }) => {}
                    other => return other.map_err(|f| f.error),
                }
            }
            match self.connect().await? {
                Some(conn) => {
                    let sent = self.exchange(conn, false, &head, req.body(), is_head).await;
                    return sent.map_err(|f| f.error);
                }
                None => self.h2.store(true, Ordering::Relaxed),
            }
        }
        let response = self.hyper.request(req.map(Full::new)).await?;
        Ok(response.map(Either::Right))
    }

    /// A new connection, or `None` when the upstream picked HTTP/2.
    async fn connect(&self) -> Result<Option<Box<Conn>>, BoxError> {
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx)).await?;
        let uri = self.upstream.uri_for(None);
        let stream = connector.call(uri).await?;
        if stream.connected().is_negotiated_h2() {
            tracing::debug!("the upstream speaks HTTP/2: hyper's client from now on");
            return Ok(None);
        }
        Ok(Some(Box::new(Conn::new(TokioIo::new(stream)))))
    }

    async fn exchange(
        &self,
        mut conn: Box<Conn>,
        reused: bool,
        head: &[u8],
        body: &[u8],
        is_head: bool,
    ) -> Result<Response<UpstreamBody>, Failed> {
        let written = async {
            // A small body goes out with the head, in one write.
            if body.len() <= SMALL_BODY {
                conn.io.write_all(&[head, body].concat()).await?;
            } else {
                conn.io.write_all(head).await?;
                conn.io.write_all(body).await?;
            }
            conn.io.flush().await
        };
        if let Err(e) = written.await {
            return Err(Failed { stale: reused, error: e.into() });
        }
        let (parts, framing, keep_alive) = match read_head(&mut conn, is_head).await {
            Ok(read) => read,
            Err(e) => {
                // Nothing came back: the upstream had closed (or reset) the
                // connection before it saw the request.
                let nothing = conn.end == 0 && matches!(e, HeadError::Closed | HeadError::Io(_));
                return Err(Failed { stale: reused && nothing, error: e.to_string().into() });
            }
        };
        let mut body = H1Body {
            conn: Some(conn),
            decoder: Decoder::new(framing),
            keep_alive,
            pool: self.pool.clone(),
        };
        body.finish_if_done();
        Ok(Response::from_parts(parts, Either::Left(body)))
    }
}

/// The request head as it goes upstream: origin-form target, the
/// upstream's `Host`, the client's headers (hop-by-hop ones are already
/// gone), and a `Content-Length` for the buffered body.
fn request_head(req: &Request<Bytes>, upstream: &Upstream) -> Vec<u8> {
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(req.method().as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(upstream.host_header().as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in req.headers() {
        if name == header::HOST || name == header::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // As hyper's client: no length for an empty GET, HEAD or CONNECT.
    let len = req.body().len();
    let bodiless = matches!(*req.method(), Method::GET | Method::HEAD | Method::CONNECT);
    if len > 0 || !bodiless {
        out.extend_from_slice(format!("content-length: {len}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Why a response head could not be read.
#[derive(Debug)]
enum HeadError {
    Io(std::io::Error),
    Closed,
    Parse(httparse::Error),
    Invalid(&'static str),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::Io(e) => write!(f, "reading the response head: {e}"),
            HeadError::Closed => {
                f.write_str("connection closed before the response head was complete")
            }
            HeadError::Parse(e) => write!(f, "invalid response head: {e}"),
            HeadError::Invalid(why) => write!(f, "invalid response head: {why}"),
        }
    }
}

/// Reads a final response head (1xx heads are skipped); its parts, how its
/// body is framed, and whether the connection can serve again after it.
async fn read_head(
    conn: &mut Conn,
    is_head: bool,
) -> Result<(http::response::Parts, Framing, bool), HeadError> {
    loop {
        let parsed = parse_head(conn.unread(), is_head)?;
        match parsed {
            Some((used, head)) => {
                conn.start += used;
                match head {
                    Some(head) => return Ok(head),
                    None => continue, // an informational head
                }
            }
            None => {
                if conn.fill(MAX_HEAD).await.map_err(HeadError::Io)? == 0 {
                    return Err(HeadError::Closed);
                }
            }
        }
    }
}

type Head = (http::response::Parts, Framing, bool);

/// Parses a response head from `input`: `None` when it is not whole yet;
/// else the bytes it took and the head (`None` for a 1xx one).
fn parse_head(input: &[u8], is_head: bool) -> Result<Option<(usize, Option<Head>)>, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut fields);
    let used = match parsed.parse(input).map_err(HeadError::Parse)? {
        httparse::Status::Complete(used) => used,
        httparse::Status::Partial => return Ok(None),
    };
    let code = parsed.code.ok_or(HeadError::Invalid("no status"))?;
    let status = StatusCode::from_u16(code).map_err(|_| HeadError::Invalid("status code"))?;
    if status.is_informational() {
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(HeadError::Invalid("101 Switching Protocols was not asked for"));
        }
        return Ok(Some((used, None)));
    }
    let version = if parsed.version == Some(1) { Version::HTTP_11 } else { Version::HTTP_10 };
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    for field in parsed.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| HeadError::Invalid("header name"))?;
        let value =
            HeaderValue::from_bytes(field.value).map_err(|_| HeadError::Invalid("header value"))?;
        headers.append(name, value);
    }
    let framing = framing(status, is_head, &headers)?;
    let close = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"));
    let keep_alive = version == Version::HTTP_11 && !close && framing != Framing::Close;
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    let (parts, ()) = response.into_parts();
    Ok(Some((used, Some((parts, framing, keep_alive)))))
}

/// Where a response's body ends (RFC 9112, section 6.3).
fn framing(status: StatusCode, is_head: bool, headers: &HeaderMap) -> Result<Framing, HeadError> {
    if is_head || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok(Framing::Length(0));
    }
    if let Some(last) = headers.get_all(header::TRANSFER_ENCODING).iter().next_back() {
        let chunked = last
            .to_str()
            .ok()
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"));
        return Ok(if chunked { Framing::Chunked } else { Framing::Close });
    }
    let mut length = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        let value = value.to_str().map_err(|_| HeadError::Invalid("content-length"))?;
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HeadError::Invalid("content-length"));
            }
            let n: u64 = item.parse().map_err(|_| HeadError::Invalid("content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(HeadError::Invalid("content-lengths that differ"));
            }
            length = Some(n);
        }
    }
    Ok(length.map_or(Framing::Close, Framing::Length))
}

/// A response body read from the upstream's socket when it is polled.
pub(crate) struct H1Body {
    /// `None` once the body has ended (the connection went back to the
    /// pool, or was closed). Boxed: a TLS connection is over a kilobyte.
    conn: Option<Box<Conn>>,
    decoder: Decoder,
    keep_alive: bool,
    pool: std::sync::Arc<Pool>,
}

impl H1Body {
    /// Once the body has ended cleanly, gives the connection back to the
    /// pool (if the upstream keeps it alive and sent nothing after it).
    fn finish_if_done(&mut self) {
        if !self.decoder.is_done() {
            return;
        }
        if let Some(conn) = self.conn.take()
            && self.keep_alive
            && conn.start == conn.end
        {
            self.pool.checkin(conn);
        }
    }
}

impl Body for H1Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let Some(conn) = this.conn.as_mut() else { return Poll::Ready(None) };
            if conn.start < conn.end {
                let step = match this.decoder.decode(conn.unread()) {
                    Ok(step) => step,
                    Err(e) => {
                        this.conn = None;
                        return Poll::Ready(Some(Err(Box::new(e))));
                    }
                };
                let base = conn.start;
                conn.start += step.consumed;
                if let Some(data) = step.data {
                    let piece =
                        Bytes::copy_from_slice(&conn.buf[base + data.start..base + data.end]);
                    this.finish_if_done();
                    return Poll::Ready(Some(Ok(Frame::data(piece))));
                }
                if this.decoder.is_done() {
                    this.finish_if_done();
                    return Poll::Ready(None);
                }
            }
            let Some(conn) = this.conn.as_mut() else { return Poll::Ready(None) };
            match std::task::ready!(conn.poll_fill(cx, READ_BUF)) {
                Ok(0) => {
                    this.conn = None;
                    return match this.decoder.eof() {
                        Ok(()) => Poll::Ready(None),
                        Err(e) => Poll::Ready(Some(Err(Box::new(e)))),
                    };
                }
                Ok(_) => {}
                Err(e) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.remaining() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// The upstream's response body, from this module's client (`Left`) or
/// hyper's (`Right`).
pub(crate) type UpstreamBody = Either<H1Body, Incoming>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a whole head; its framing and keep-alive.
    fn head(raw: &str, is_head: bool) -> Result<(StatusCode, Framing, bool), String> {
        match parse_head(raw.as_bytes(), is_head).map_err(|e| e.to_string())? {
            Some((used, Some((parts, framing, keep_alive)))) => {
                assert_eq!(used, raw.len(), "the whole head and nothing more");
                Ok((parts.status, framing, keep_alive))
            }
            other => panic!("not a whole final head: {:?}", other.map(|(used, _)| used)),
        }
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let ok = StatusCode::OK;
        let cases = [
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n",
                false,
                (ok, Framing::Length(12), true),
            ),
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 3, 3\r\n\r\n",
                false,
                (ok, Framing::Length(3), true),
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
                false,
                (ok, Framing::Chunked, true),
            ),
            // Transfer-Encoding wins over a length.
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
                false,
                (ok, Framing::Chunked, true),
            ),
            // Not chunked last: the body ends with the connection.
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
                false,
                (ok, Framing::Close, false),
            ),
            ("HTTP/1.1 200 OK\r\n\r\n", false, (ok, Framing::Close, false)),
            ("HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n", true, (ok, Framing::Length(0), true)),
            (
                "HTTP/1.1 204 No Content\r\n\r\n",
                false,
                (StatusCode::NO_CONTENT, Framing::Length(0), true),
            ),
            (
                "HTTP/1.1 304 Not Modified\r\n\r\n",
                false,
                (StatusCode::NOT_MODIFIED, Framing::Length(0), true),
            ),
            (
                "HTTP/1.1 200 OK\r\nconnection: keep-alive, Close\r\ncontent-length: 1\r\n\r\n",
                false,
                (ok, Framing::Length(1), false),
            ),
            (
                "HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n",
                false,
                (ok, Framing::Length(1), false),
            ),
        ];
        for (raw, is_head, expected) in cases {
            assert_eq!(head(raw, is_head), Ok(expected), "{raw:?}");
        }
    }

    #[test]
    fn bad_heads_are_errors() {
        for raw in [
            "HTTP/1.1 200 OK\r\ncontent-length: 3, 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: +1\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: \r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/2 200 OK\r\n\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
        ] {
            assert!(parse_head(raw.as_bytes(), false).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn a_head_is_partial_until_its_blank_line_and_1xx_heads_are_skipped() {
        let raw =
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 2\r\n\r\nok";
        let end = raw.len() - 2;
        for cut in 0..end {
            assert!(matches!(parse_head(&raw[..cut], false), Ok(None)), "cut at {cut}");
        }
        let Ok(Some((used, Some((parts, ..))))) = parse_head(raw, false) else { panic!() };
        assert_eq!(used, end, "the body is not the head's");
        assert_eq!(parts.headers["content-type"], "text/event-stream");
        let informational = b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n";
        let Ok(Some((used, None))) = parse_head(informational, false) else { panic!() };
        assert_eq!(used, 40);
    }

    #[test]
    fn the_request_head_has_the_upstream_host_and_the_body_length() {
        let upstream: Upstream = "http://127.0.0.1:8080/v1".parse().unwrap();
        let mut req = Request::new(Bytes::from_static(b"{}"));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = upstream.uri_for(Some(&"/chat?x=1".parse().unwrap()));
        req.headers_mut().insert("host", HeaderValue::from_static("client.example"));
        req.headers_mut().insert("content-length", HeaderValue::from_static("99"));
        req.headers_mut().append("x-a", HeaderValue::from_static("1"));
        req.headers_mut().append("x-a", HeaderValue::from_static("2"));
        assert_eq!(
            String::from_utf8(request_head(&req, &upstream)).unwrap(),
            "POST /v1/chat?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-a: 1\r\nx-a: 2\r\n\
             content-length: 2\r\n\r\n"
        );
        let mut get = Request::new(Bytes::new());
        *get.uri_mut() = upstream.uri_for(Some(&"/models".parse().unwrap()));
        assert_eq!(
            String::from_utf8(request_head(&get, &upstream)).unwrap(),
            "GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\r\n"
        );
    }
}
