//! HTTP/2 on either side of the proxy: a client speaking HTTP/2 (prior
//! knowledge) to the proxy, and an `https` upstream that picks HTTP/2 by
//! ALPN. Either way the client gets the upstream's bytes untouched and the
//! stream is recorded (thinking and answer split, a complete outcome).

mod pki;
mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use pki::{acceptor, test_pki};
use support::{LIMIT, Recordings};
use thinktee_pipeline::{Event, FnSink, InputEnd, SegmentKind};
use thinktee_proxy::{Config, Proxy, Upstream};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

/// Sent in three writes, the close tag cut across the first two.
const PIECES: [&str; 3] = [
    "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>weigh it</th\"}}]}\n\n",
    "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ink>42\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
];

/// What the recording saw: (thinking, answer, how the input ended).
#[derive(Debug, Default)]
struct Seen {
    thinking: String,
    answer: String,
    ends: Vec<InputEnd>,
}

/// `PIECES`, one data frame each.
struct Pieces(std::collections::VecDeque<&'static str>);

impl hyper::body::Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        let piece = self.0.pop_front();
        std::task::Poll::Ready(
            piece.map(|p| Ok(hyper::body::Frame::data(Bytes::from_static(p.as_bytes())))),
        )
    }
}

/// Serves `PIECES` as a streamed `text/event-stream` body.
async fn serve_sse(request: http::Request<Incoming>) -> Result<http::Response<Pieces>, Infallible> {
    let _ = request.into_body().collect().await;
    let mut response = http::Response::new(Pieces(PIECES.into()));
    response.headers_mut().insert("content-type", "text/event-stream".parse().unwrap());
    Ok(response)
}

/// A plain HTTP/1.1 upstream serving `PIECES`.
async fn h1_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), hyper::service::service_fn(serve_sse)),
            );
        }
    });
    addr
}

/// An `https` upstream offering only `h2` by ALPN, serving `PIECES`; the
/// flag says whether a request came over HTTP/2.
async fn h2_tls_upstream(
    cert: rustls::pki_types::CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (SocketAddr, Arc<Mutex<Vec<http::Version>>>) {
    let acceptor = acceptor(cert, key, b"h2");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let versions = Arc::new(Mutex::new(Vec::new()));
    let seen = versions.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        seen.lock().unwrap().push(request.version());
                        serve_sse(request)
                    });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, versions)
}

/// A recording proxy in front of `upstream`; what its recordings saw.
async fn proxy(config: Config) -> (support::Running, Arc<Mutex<Seen>>, Arc<Recordings>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let log = seen.clone();
    let pool = thinktee_tee::ParsePool::builder().threads(1).build().unwrap();
    let recordings = Arc::new(Recordings::default());
    let started = recordings.clone();
    let recorder = move |exchange: &thinktee_record::Exchange| {
        let log = log.clone();
        let sink = FnSink::new(move |r| {
            let mut seen = log.lock().unwrap();
            match r.event {
                Event::Text { kind: SegmentKind::Thinking, text, .. } => {
                    seen.thinking.push_str(text)
                }
                Event::Text { kind: SegmentKind::Answer, text, .. } => seen.answer.push_str(text),
                Event::InputEnd(end) => seen.ends.push(end.clone()),
                _ => {}
            }
        });
        Some(started.tap(exchange.tee(&pool), sink))
    };
    let proxy = Proxy::with_recorder(config, Some(Box::new(recorder))).unwrap();
    (support::serve(proxy, |server| server).await, seen, recordings)
}

fn chat_request(uri: String) -> http::Request<Full<Bytes>> {
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    http::Request::post(uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

/// Sends one request over a fresh connection (HTTP/2 with prior knowledge
/// when `h2`); the status, version and body.
async fn send(addr: SocketAddr, h2: bool) -> (u16, http::Version, Vec<u8>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let uri = format!("http://{addr}/v1/chat/completions");
    let response = if h2 {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(conn);
        timeout(LIMIT, sender.send_request(chat_request(uri))).await.unwrap().unwrap()
    } else {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.unwrap();
        tokio::spawn(conn);
        timeout(LIMIT, sender.send_request(chat_request(uri))).await.unwrap().unwrap()
    };
    let (status, version) = (response.status().as_u16(), response.version());
    let body = timeout(LIMIT, response.into_body().collect()).await.unwrap().unwrap().to_bytes();
    (status, version, body.to_vec())
}

fn assert_recorded(seen: &Seen) {
    assert_eq!((seen.thinking.as_str(), seen.answer.as_str()), ("weigh it", "42"));
    assert!(matches!(seen.ends[..], [InputEnd::Complete]), "{:?}", seen.ends);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_client_gets_the_upstream_bytes_and_the_stream_is_recorded() {
    let upstream = h1_upstream().await;
    let config = Config::new(format!("http://{upstream}").parse::<Upstream>().unwrap());
    let (running, seen, recordings) = proxy(config).await;
    let addr = running.addr;

    let (status, version, body) = send(addr, true).await;
    assert_eq!((status, version), (200, http::Version::HTTP_2));
    assert_eq!(String::from_utf8(body).unwrap(), PIECES.concat());

    recordings.done().await;
    assert_recorded(&seen.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_speaking_http2_is_forwarded_to_an_http1_client() {
    let (ca_pem, cert, key) = test_pki();
    let (upstream, versions) = h2_tls_upstream(cert, key).await;
    let url = format!("https://localhost:{}", upstream.port());
    let mut config = Config::new(url.parse::<Upstream>().unwrap());
    config.upstream_ca_pem = Some(ca_pem.into_bytes());
    let (running, seen, recordings) = proxy(config).await;
    let addr = running.addr;

    let (status, version, body) = send(addr, false).await;
    assert_eq!((status, version), (200, http::Version::HTTP_11));
    assert_eq!(String::from_utf8(body).unwrap(), PIECES.concat());
    assert_eq!(
        versions.lock().unwrap()[..],
        [http::Version::HTTP_2],
        "the upstream was asked over h2"
    );

    recordings.done().await;
    assert_recorded(&seen.lock().unwrap());
}
