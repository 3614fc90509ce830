//! Recording streams in a proxy of your own: an axum gateway that forwards
//! chat completions to an upstream with its own client, wrapped in
//! `thinktee_record::RecordLayer`. Each response body passes through
//! untouched; a copy is parsed off the forward path into a `Collector`,
//! and the gateway awaits each recording to print it.
//!
//! Runs offline: the upstream is a second axum app, in-process, serving a
//! recorded stream. `cargo test` runs it too (and checks what it prints).
//!
//! ```sh
//! cargo run -p thinktee-record --example axum
//! ```

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use thinktee_record::pipeline::{Collector, SplitChoice};
use thinktee_record::{ParsePool, RecordLayer, TeeHandle};
use tokio::sync::mpsc;

/// A recorded stream with inline `<think>` tags.
const STREAM: &str = include_str!("../../../fixtures/e2e/azure_inline_think.sse");

/// Your proxy's own state: a client and where it forwards to.
#[derive(Clone)]
struct Upstream {
    client: Client<HttpConnector, Body>,
    base: String,
}

/// Your proxy's handler: forward the request as it is, stream the answer.
async fn forward(State(up): State<Upstream>, mut req: Request) -> Response {
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
    *req.uri_mut() = match format!("{}{path}", up.base).parse() {
        Ok(uri) => uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    req.headers_mut().remove(http::header::HOST);
    match up.client.request(req).await {
        Ok(response) => response.map(Body::new).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Serves `app` on a free loopback port; its base URL.
async fn serve(app: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

/// Runs the gateway, streams two requests through it, and returns what
/// was recorded of each (awaited, not slept for).
async fn run() -> Result<Vec<Vec<SplitChoice>>, Box<dyn std::error::Error>> {
    // The upstream: one recorded stream for every request.
    let upstream = Router::new()
        .fallback(|| async { ([(http::header::CONTENT_TYPE, "text/event-stream")], STREAM) });
    let base = serve(upstream).await?;

    // Your gateway, with one layer added. Copies are parsed on a pool of
    // one thread; each recording's handle goes to `recorded`.
    let pool = ParsePool::builder().threads(1).build()?;
    let (handles, mut recorded) = mpsc::unbounded_channel::<TeeHandle<Collector>>();
    let record = RecordLayer::new(move |exchange| {
        if !exchange.is_chat_completion() {
            return None;
        }
        let (tap, handle) = exchange.tee(&pool).tap(Collector::new());
        let _ = handles.send(handle);
        Some(tap)
    });
    let client = Client::builder(TokioExecutor::new()).build_http();
    let gateway =
        Router::new().fallback(forward).with_state(Upstream { client, base }).layer(record);
    let gateway = serve(gateway).await?;
    println!("axum gateway on {gateway}");

    // A client streaming two requests through it.
    let client = Client::builder(TokioExecutor::new()).build_http::<String>();
    let mut splits = Vec::new();
    for _ in 0..2 {
        let req = http::Request::post(format!("{gateway}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(r#"{"model":"r1","stream":true,"messages":[]}"#.to_owned())?;
        let response = client.request(req).await?;
        let body = response.into_body().collect().await?.to_bytes();
        assert_eq!(body, STREAM.as_bytes(), "the client gets the upstream's bytes");

        // The recording of this response: awaited, with the collector back.
        let handle = recorded.recv().await.ok_or("no recording")?;
        let (report, mut collector) = handle.await?;
        let split: Vec<SplitChoice> = collector.drain().collect();
        for choice in &split {
            println!(
                "recorded {} bytes: thinking {:?}, answer {:?}",
                report.bytes_seen, choice.reasoning, choice.content
            );
        }
        splits.push(split);
    }
    Ok(splits)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().await?;
    Ok(())
}

#[tokio::test]
async fn the_gateway_forwards_untouched_and_records_each_response() {
    let splits = run().await.unwrap();
    assert_eq!(splits.len(), 2);
    for split in splits {
        assert_eq!(split.len(), 1);
        assert!(split[0].done);
        assert!(!split[0].reasoning.is_empty() && !split[0].content.is_empty());
        assert!(!split[0].content.contains("<think>") && !split[0].content.contains("</think>"));
    }
}
