//! SSE decoding: thinktee's `Decoder` against the SSE crates users pick
//! today, on the same realistic R1 stream cut the same ways.
//!
//! The baselines are stream adapters: each is driven by
//! `futures::stream::iter` over the same pieces, pre-cut as `bytes::Bytes`
//! (cloning one is a reference-count increment), under `block_on`. sse-core
//! is measured twice: through its `SseStream` adapter and through its
//! low-level `SseDecoder`, the fairest match for thinktee's decoder.

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use futures::executor::block_on;
use thinktee_benches::{Chunking, Dialect, cut, input_sizes, r1_stream, shared_pieces};
use thinktee_sse::{Decoder, Frame};

/// Events seen and data bytes in them: every implementation must agree.
type Tally = (usize, usize);

fn thinktee(decoder: &mut Decoder, pieces: &[&[u8]]) -> Tally {
    let (mut events, mut bytes) = (0, 0);
    for piece in pieces {
        decoder.feed(piece, |frame| {
            if let Frame::Event(event) = frame {
                events += 1;
                bytes += event.data.len();
            }
        });
    }
    decoder.finish(|_| {});
    (events, bytes)
}

fn byte_stream(pieces: &[Bytes]) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + '_ {
    futures::stream::iter(pieces.iter().cloned().map(Ok))
}

fn sse_core_stream(pieces: &[Bytes]) -> Tally {
    block_on(async {
        let mut stream = sse_core::SseStream::new(byte_stream(pieces));
        let (mut events, mut bytes) = (0, 0);
        while let Some(item) = stream.next().await {
            if let Ok(sse_core::SseEvent::Message(message)) = item {
                events += 1;
                bytes += message.data.len();
            }
        }
        (events, bytes)
    })
}

fn sse_core_decoder(decoder: &mut sse_core::SseDecoder, pieces: &[Bytes]) -> Tally {
    let (mut events, mut bytes) = (0, 0);
    for piece in pieces {
        let mut buf = piece.clone();
        while let Some(item) = decoder.next(&mut buf) {
            if let Ok(sse_core::SseEvent::Message(message)) = item {
                events += 1;
                bytes += message.data.len();
            }
        }
    }
    decoder.clear();
    (events, bytes)
}

fn sse_stream(pieces: &[Bytes]) -> Tally {
    block_on(async {
        let mut stream = sse_stream::SseByteStream::new(byte_stream(pieces));
        let (mut events, mut bytes) = (0, 0);
        while let Some(item) = stream.next().await {
            if let Some(data) = item.ok().and_then(|sse| sse.data) {
                events += 1;
                bytes += data.len();
            }
        }
        (events, bytes)
    })
}

fn eventsource_stream(pieces: &[Bytes]) -> Tally {
    block_on(async {
        let mut stream = byte_stream(pieces).eventsource();
        let (mut events, mut bytes) = (0, 0);
        while let Some(item) = stream.next().await {
            if let Ok(event) = item {
                events += 1;
                bytes += event.data.len();
            }
        }
        (events, bytes)
    })
}

fn sse(c: &mut Criterion) {
    let (main, one_byte) = input_sizes();
    let big = r1_stream(Dialect::Inline, main);
    let small = r1_stream(Dialect::Inline, one_byte);
    let mut group = c.benchmark_group("sse");
    for chunking in Chunking::ALL {
        let input = if chunking == Chunking::Bytes(1) { &small } else { &big };
        let pieces = cut(&input.bytes, chunking);
        let owned = shared_pieces(&pieces);

        // Every implementation sees the same events and data.
        let mut decoder = Decoder::new();
        let mut core = sse_core::SseDecoder::new();
        let expected = thinktee(&mut decoder, &pieces);
        assert_eq!(expected.0, input.events);
        assert_eq!(sse_core_stream(&owned), expected, "sse-core stream");
        assert_eq!(sse_core_decoder(&mut core, &owned), expected, "sse-core decoder");
        assert_eq!(sse_stream(&owned), expected, "sse-stream");
        assert_eq!(eventsource_stream(&owned), expected, "eventsource-stream");

        group.throughput(Throughput::Bytes(input.bytes.len() as u64));
        let name = chunking.name();
        group.bench_function(BenchmarkId::new("thinktee", &name), |b| {
            b.iter(|| thinktee(&mut decoder, black_box(&pieces)))
        });
        group.bench_function(BenchmarkId::new("sse-core", &name), |b| {
            b.iter(|| sse_core_stream(black_box(&owned)))
        });
        group.bench_function(BenchmarkId::new("sse-core-decoder", &name), |b| {
            b.iter(|| sse_core_decoder(&mut core, black_box(&owned)))
        });
        group.bench_function(BenchmarkId::new("sse-stream", &name), |b| {
            b.iter(|| sse_stream(black_box(&owned)))
        });
        group.bench_function(BenchmarkId::new("eventsource-stream", &name), |b| {
            b.iter(|| eventsource_stream(black_box(&owned)))
        });
    }
    group.finish();
}

criterion_group!(benches, sse);
criterion_main!(benches);
