//! An `https` upstream: the proxy verifies its certificate against the
//! configured extra CA (`--upstream-ca`), forwards its bytes untouched, and
//! refuses an upstream whose certificate it cannot verify.

mod pki;
mod support;

use std::net::SocketAddr;

use pki::{acceptor, test_pki};
use support::{LIMIT, dechunk};
use thinktee_proxy::{Config, Proxy, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

const SSE: &str = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>a</th\"}}]}\n\n\
                   data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ink>b\"},\"finish_reason\":\"stop\"}]}\n\n\
                   data: [DONE]\n\n";

/// An HTTP/1.1-over-TLS upstream answering every request with `SSE`.
async fn tls_upstream(
    cert: rustls::pki_types::CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> SocketAddr {
    let acceptor = acceptor(cert, key, b"http/1.1");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if tls.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = tls.read_exact(&mut body).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{SSE}",
                    SSE.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// Starts a proxy in front of `https://localhost:PORT` and sends one request.
async fn through_proxy(upstream: SocketAddr, ca_pem: Option<&str>) -> (u16, Vec<u8>) {
    let url = format!("https://localhost:{}", upstream.port());
    let mut config = Config::new(url.parse::<Upstream>().unwrap());
    config.upstream_ca_pem = ca_pem.map(|p| p.as_bytes().to_vec());
    let running = support::serve(Proxy::new(config).unwrap(), |server| server).await;
    let addr = running.addr;
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(LIMIT, client.read_to_end(&mut raw)).await.expect("response ends").unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(&raw[end..]).0
    } else {
        raw[end..].to_vec()
    };
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_verified_with_the_extra_ca_is_forwarded_byte_for_byte() {
    let (ca_pem, cert, key) = test_pki();
    let upstream = tls_upstream(cert, key).await;
    let (status, body) = through_proxy(upstream, Some(&ca_pem)).await;
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(body).unwrap(), SSE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_with_an_unknown_ca_is_refused_with_a_502() {
    let (_ca_pem, cert, key) = test_pki();
    let upstream = tls_upstream(cert, key).await;
    let (status, body) = through_proxy(upstream, None).await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(error["error"]["message"].is_string(), "{error}");
}

#[test]
fn a_ca_file_without_certificates_is_a_configuration_error() {
    let mut config = Config::new("https://localhost:1".parse::<Upstream>().unwrap());
    config.upstream_ca_pem = Some(b"not a certificate".to_vec());
    assert!(Proxy::new(config).is_err());
}
