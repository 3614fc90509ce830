//! Chunk parsing: thinktee's borrowed, lenient model against serde_json into
//! owned `#[derive(Deserialize)]` structs (what a user writes today), on
//! every `data` payload of the realistic R1 streams in both dialects. The
//! stage takes whole payloads, so there is no chunking here.
//!
//! `thinktee` parses each payload alone (`parse`); `thinktee-parser` reads
//! them in stream order with one `Parser`, which reuses the previous parse
//! when only the text changed, as the pipeline does.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use thinktee_benches::user_today::ChatChunk;
use thinktee_benches::{Dialect, input_sizes, r1_stream};
use thinktee_chunk::Payload;
use thinktee_sse::OwnedFrame;

/// Choices seen and bytes of content and reasoning in them.
type Tally = (usize, usize);

fn thinktee(payloads: &[String]) -> Tally {
    let (mut choices, mut bytes) = (0, 0);
    for data in payloads {
        if let Ok(Payload::Chunk(chunk)) = thinktee_chunk::parse(data) {
            for choice in &chunk.choices {
                choices += 1;
                bytes += choice.content.as_deref().map_or(0, str::len);
                bytes += choice.reasoning.as_deref().map_or(0, str::len);
            }
        }
    }
    (choices, bytes)
}

fn thinktee_parser(payloads: &[String]) -> Tally {
    let (mut choices, mut bytes) = (0, 0);
    let mut parser = thinktee_chunk::Parser::new();
    for data in payloads {
        if let Ok(Payload::Chunk(chunk)) = parser.parse(data) {
            for choice in &chunk.choices {
                choices += 1;
                bytes += choice.content.as_deref().map_or(0, str::len);
                bytes += choice.reasoning.as_deref().map_or(0, str::len);
            }
        }
    }
    (choices, bytes)
}

fn serde_owned(payloads: &[String]) -> Tally {
    let (mut choices, mut bytes) = (0, 0);
    for data in payloads {
        if let Ok(chunk) = serde_json::from_str::<ChatChunk>(data) {
            for choice in &chunk.choices {
                choices += 1;
                bytes += choice.delta.content.as_deref().map_or(0, str::len);
                bytes += choice.delta.reasoning_content.as_deref().map_or(0, str::len);
            }
        }
    }
    (choices, bytes)
}

/// Reference: validate only (serde_json, every value ignored).
fn serde_ignored(payloads: &[String]) -> usize {
    payloads
        .iter()
        .filter(|data| serde_json::from_str::<serde::de::IgnoredAny>(data).is_ok())
        .count()
}

/// Reference: sonic-rs (SIMD) into its own DOM, then the same fields read.
fn sonic(payloads: &[String]) -> Tally {
    use sonic_rs::{JsonContainerTrait, JsonValueTrait};
    let (mut choices, mut bytes) = (0, 0);
    for data in payloads {
        let Ok(value) = sonic_rs::from_str::<sonic_rs::Value>(data) else { continue };
        for choice in value.get("choices").and_then(|c| c.as_array()).into_iter().flatten() {
            choices += 1;
            let delta = choice.get("delta");
            for field in ["content", "reasoning_content"] {
                bytes +=
                    delta.and_then(|d| d.get(field)).and_then(|v| v.as_str()).map_or(0, str::len);
            }
        }
    }
    (choices, bytes)
}

fn chunk(c: &mut Criterion) {
    let (main, _) = input_sizes();
    let mut group = c.benchmark_group("chunk");
    for dialect in [Dialect::Inline, Dialect::ReasoningContent] {
        let stream = r1_stream(dialect, main);
        let payloads: Vec<String> = thinktee_sse::parse_all(&stream.bytes)
            .into_iter()
            .filter_map(|frame| match frame {
                OwnedFrame::Event(event) if event.data != "[DONE]" => Some(event.data),
                _ => None,
            })
            .collect();
        assert_eq!(thinktee(&payloads), serde_owned(&payloads), "same choices and text");
        assert_eq!(thinktee_parser(&payloads), serde_owned(&payloads), "same choices and text");
        assert_eq!(thinktee(&payloads), sonic(&payloads), "same choices and text");
        assert_eq!(serde_ignored(&payloads), payloads.len(), "every payload is valid JSON");
        let len: usize = payloads.iter().map(String::len).sum();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("thinktee", dialect.name()), |b| {
            b.iter(|| thinktee(black_box(&payloads)))
        });
        group.bench_function(BenchmarkId::new("thinktee-parser", dialect.name()), |b| {
            b.iter(|| thinktee_parser(black_box(&payloads)))
        });
        group.bench_function(BenchmarkId::new("serde-owned", dialect.name()), |b| {
            b.iter(|| serde_owned(black_box(&payloads)))
        });
        group.bench_function(BenchmarkId::new("ref-serde-validate-only", dialect.name()), |b| {
            b.iter(|| serde_ignored(black_box(&payloads)))
        });
        group.bench_function(BenchmarkId::new("ref-sonic-rs-dom", dialect.name()), |b| {
            b.iter(|| sonic(black_box(&payloads)))
        });
    }
    group.finish();
}

criterion_group!(benches, chunk);
criterion_main!(benches);
