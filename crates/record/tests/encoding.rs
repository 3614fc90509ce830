//! Encoded upstream bodies through `RecordLayer`: the client gets the bytes
//! as they came; the recording is of what they decode to, or says why it
//! could not be.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use thinktee_record::pipeline::{Collector, ErrorKind, SplitChoice};
use thinktee_record::{ParsePool, RecordLayer, TeeHandle};
use tokio::sync::mpsc;
use tower_layer::Layer;
use tower_service::Service;

#[cfg(feature = "gzip")]
const SSE: &[u8] = include_bytes!("../../../fixtures/e2e/azure_inline_think.sse");

/// Answers every request with `body`, sent with `content-encoding`.
#[derive(Clone)]
struct Encoded {
    encoding: &'static str,
    body: Bytes,
}

impl Service<http::Request<()>> for Encoded {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        let response = http::Response::builder()
            .header("content-type", "text/event-stream")
            .header("content-encoding", self.encoding)
            .body(Full::new(self.body.clone()))
            .unwrap();
        std::future::ready(Ok(response))
    }
}

/// One exchange through the layer: the bytes the client got, and the
/// recording.
async fn through_layer(encoding: &'static str, body: Vec<u8>) -> (Bytes, Vec<SplitChoice>) {
    let pool = ParsePool::builder().threads(1).build().unwrap();
    let (handles, mut recorded) = mpsc::unbounded_channel::<TeeHandle<Collector>>();
    let layer = RecordLayer::new(move |exchange| {
        let (tap, handle) = exchange.tee(&pool).tap(Collector::new());
        handles.send(handle).unwrap();
        Some(tap)
    });
    let mut service = layer.layer(Encoded { encoding, body: Bytes::from(body) });
    let request = http::Request::post("/v1/chat/completions").body(()).unwrap();
    let response = service.call(request).await.unwrap();
    let got = response.into_body().collect().await.unwrap().to_bytes();
    let (_, mut collector) = recorded.recv().await.unwrap().await.unwrap();
    (got, collector.drain().collect())
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn a_gzip_upstream_is_recorded_decoded_and_forwarded_untouched() {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(SSE).unwrap();
    let gzip = encoder.finish().unwrap();
    let (got, split) = through_layer("gzip", gzip.clone()).await;
    assert_eq!(got, gzip, "the client gets the gzip bytes as they came");
    let (_, plain) = through_layer("identity", SSE.to_vec()).await;
    assert_eq!(split, plain, "recorded as the plain stream is");
    assert!(split[0].done && split[0].errors.is_empty());
    assert!(split[0].reasoning.starts_with("\nOkay, the user is asking how many languages"));
}

#[tokio::test]
async fn an_encoding_not_decoded_is_an_error_in_the_record_not_garbage() {
    let (got, split) = through_layer("compress", b"\x1f\x9d\x90garbage".to_vec()).await;
    assert_eq!(got.as_ref(), b"\x1f\x9d\x90garbage");
    assert_eq!(split.len(), 1);
    assert_eq!(split[0].errors.len(), 1);
    assert_eq!(split[0].errors[0].kind, ErrorKind::ContentEncoding);
    assert!(split[0].errors[0].message.contains("`compress`"), "{:?}", split[0].errors);
    assert!(split[0].content.is_empty() && !split[0].done);
}
