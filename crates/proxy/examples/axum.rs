//! Recording streams in a proxy of your own: an axum app that forwards chat
//! completions to an upstream with its own client, wrapped in
//! `thinktee_proxy::RecordLayer`. Each response body passes through
//! untouched; a copy is parsed off the forward path and, here, printed.
//!
//! Runs offline: the upstream is thinktee's replay server, in-process,
//! serving the bundled recordings.
//!
//! ```sh
//! cargo run -p thinktee-proxy --example axum
//! ```

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use thinktee_pipeline::{Collector, Event, Flow, Record, Sink};
use thinktee_proxy::{Exchange, RecordLayer, Recording, replay};
use thinktee_tee::ParsePool;

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

/// A sink that prints each choice of each stream when the stream ends.
struct Print {
    request: u64,
    collector: Collector,
}

impl Sink for Print {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: &Record<'_>) -> Result<Flow, Self::Error> {
        self.collector.record(record)?;
        if let Event::StreamEnd(end) = record.event {
            for choice in self.collector.drain() {
                println!(
                    "request {} choice {:?}: outcome {}, thinking {:?}, answer {:?}",
                    self.request,
                    choice.choice,
                    end.outcome.as_str(),
                    choice.reasoning,
                    choice.content,
                );
            }
        }
        Ok(Flow::Continue)
    }
}

/// The recorder: which exchanges to record, and into what (parsed on
/// `pool`).
fn recording(pool: &ParsePool, exchange: &Exchange) -> Option<Recording> {
    if !exchange.is_chat_completion() {
        return None;
    }
    let tee =
        thinktee_tee::Builder::new(pool).start(exchange.start).document(exchange.document_kind());
    Some(Recording::new(tee, Print { request: exchange.id, collector: Collector::new() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The upstream: recorded streams, 5 ms between events.
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/e2e");
    let upstream = replay::Replay::new(replay::load_all(&[fixtures])?)?
        .chunk_delay(Duration::from_millis(5))
        .bind("127.0.0.1:0".parse()?)
        .await?;
    let base = format!("http://{}", upstream.local_addr());
    tokio::spawn(upstream.run(std::future::pending()));

    // Your proxy, with one layer added; its copies are parsed on a pool of
    // one thread.
    let pool = ParsePool::builder().threads(1).build()?;
    let recorder = pool.clone();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let app = Router::new()
        .fallback(forward)
        .with_state(Upstream { client, base })
        .layer(RecordLayer::new(move |exchange: &Exchange| recording(&recorder, exchange)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("axum proxy on http://{addr}");

    // A client streaming two recordings through it.
    let client = Client::builder(TokioExecutor::new()).build_http::<String>();
    for stem in ["azure_inline_think", "deepseek_reasoning_content"] {
        let req = http::Request::post(format!("http://{addr}/v1/chat/completions"))
            .header("content-type", "application/json")
            .header(replay::FIXTURE_HEADER, stem)
            .body(r#"{"model":"r1","stream":true,"messages":[]}"#.to_owned())?;
        let response = client.request(req).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        println!("client got {status} and {} bytes for {stem}", body.len());
    }
    // The parse sides run on the pool's thread: shutting it down waits
    // until they are done (and have printed).
    pool.shutdown().await;
    Ok(())
}
