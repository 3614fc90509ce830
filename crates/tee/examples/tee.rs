//! The tee: a byte stream you forward (an HTTP body, a socket) goes on
//! untouched, and a copy is parsed on a pool of threads into a sink of
//! yours, handed back typed when the stream has been parsed.
//!
//! ```sh
//! cargo run -p thinktee-tee --example tee
//! ```

use bytes::Bytes;
use futures_util::StreamExt;
use thinktee_pipeline::{Collector, SplitChoice};
use thinktee_tee::{ParsePool, TeeReport};

/// A recorded stream, as three network reads cut mid-event.
const BODY: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>weigh it</th\"}}]}\n\n\
                    data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ink>42\"},\"finish_reason\":\"stop\"}]}\n\n\
                    data: [DONE]\n\n";

/// Forwards the stream, then awaits the parse of its copy.
async fn run() -> Result<
    (Vec<u8>, TeeReport<std::convert::Infallible>, Vec<SplitChoice>),
    Box<dyn std::error::Error>,
> {
    // One pool for the process; records reach the sink within a tick of
    // their bytes (1 to 8 ms by default, `PoolBuilder::tick` sets it).
    let pool = ParsePool::builder().threads(1).build()?;
    let reads = [&BODY[..50], &BODY[50..130], &BODY[130..]];
    let upstream =
        futures_util::stream::iter(reads.map(|r| Ok::<_, std::io::Error>(Bytes::from(r))));

    let (mut forwarded, handle) = thinktee_tee::tee(&pool, upstream, Collector::new());
    let mut client = Vec::new();
    while let Some(piece) = forwarded.next().await {
        client.extend_from_slice(&piece?); // on its way at once
    }
    // The parse side: its report and the collector back, once parsed.
    let (report, mut collector) = handle.await?;
    pool.shutdown().await;
    Ok((client, report, collector.drain().collect()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, report, split) = run().await?;
    println!("forwarded {} bytes; parsed {}", client.len(), report.bytes_parsed);
    for choice in split {
        println!("thinking {:?}, answer {:?}", choice.reasoning, choice.content);
    }
    Ok(())
}

#[tokio::test]
async fn the_stream_is_forwarded_untouched_and_its_copy_split() {
    let (client, report, split) = run().await.unwrap();
    assert_eq!(client, BODY.as_bytes());
    assert_eq!((report.bytes_seen, report.bytes_parsed), (BODY.len() as u64, BODY.len() as u64));
    assert_eq!((split[0].reasoning.as_str(), split[0].content.as_str()), ("weigh it", "42"));
}
