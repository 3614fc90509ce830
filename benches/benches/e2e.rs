//! End to end: bytes → `Pipeline` → a sink that counts text by channel,
//! against what a user writes today: eventsource-stream, serde_json into
//! owned structs, and a `String`-buffer tag splitter
//! ([`thinktee_benches::user_today`]), driven the same way as the SSE
//! baselines (`futures::stream::iter` over pre-cut `Bytes`, `block_on`).

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use futures::executor::block_on;
use thinktee_benches::user_today::{ChatChunk, TagSplitter};
use thinktee_benches::{Chunking, Dialect, cut, input_sizes, r1_stream, shared_pieces};

#[path = "../shared/count.rs"]
mod count;

use count::{Tally, thinktee};

fn user_today(pieces: &[Bytes]) -> Tally {
    block_on(async {
        let mut events =
            futures::stream::iter(pieces.iter().cloned().map(Ok::<_, Infallible>)).eventsource();
        let mut splitter = TagSplitter::default();
        let (mut thinking, mut answer) = (0, 0);
        while let Some(Ok(event)) = events.next().await {
            if event.data == "[DONE]" {
                splitter
                    .finish(&mut |t: &str| thinking += t.len(), &mut |t: &str| answer += t.len());
                continue;
            }
            let Ok(chunk) = serde_json::from_str::<ChatChunk>(&event.data) else { continue };
            for choice in chunk.choices {
                if let Some(text) = choice.delta.reasoning_content {
                    thinking += text.len();
                }
                if let Some(text) = choice.delta.content {
                    splitter.push(&text, &mut |t: &str| thinking += t.len(), &mut |t: &str| {
                        answer += t.len()
                    });
                }
            }
        }
        splitter.finish(&mut |t: &str| thinking += t.len(), &mut |t: &str| answer += t.len());
        Tally { thinking, answer }
    })
}

fn e2e(c: &mut Criterion) {
    let (main, one_byte) = input_sizes();
    let mut group = c.benchmark_group("e2e");
    for dialect in [Dialect::Inline, Dialect::ReasoningContent] {
        let big = r1_stream(dialect, main);
        let small = r1_stream(dialect, one_byte);
        for chunking in Chunking::ALL {
            let input = if chunking == Chunking::Bytes(1) { &small } else { &big };
            let pieces = cut(&input.bytes, chunking);
            let owned = shared_pieces(&pieces);
            let expected = Tally { thinking: input.thinking_bytes, answer: input.answer_bytes };
            assert_eq!(thinktee(&pieces), expected, "thinktee");
            assert_eq!(user_today(&owned), expected, "user today");

            group.throughput(Throughput::Bytes(input.bytes.len() as u64));
            let name = format!("{}/{}", dialect.name(), chunking.name());
            group.bench_function(BenchmarkId::new("thinktee", &name), |b| {
                b.iter(|| thinktee(black_box(&pieces)))
            });
            group.bench_function(BenchmarkId::new("user-today", &name), |b| {
                b.iter(|| user_today(black_box(&owned)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, e2e);
criterion_main!(benches);
