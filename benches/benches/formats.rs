//! The formats other than chat completions, end to end: bytes →
//! `Pipeline` (which tells the format from the first event) → a sink that
//! counts text by channel, against what a user writes today for that
//! format.
//!
//! "User today" is the SSE parser users pick (eventsource-stream, driven as
//! in the `e2e` bench: `futures::stream::iter` over pre-cut `Bytes`,
//! `block_on`), then serde_json into owned types shaped like the provider's
//! SDK types ([`thinktee_benches::formats::responses_today`],
//! [`thinktee_benches::formats::messages_today`]): one enum internally
//! tagged by `type`, one struct per event, `String` fields, the big objects
//! (`response`, output items) whole, as async-openai and the Anthropic SDKs
//! declare them. It counts reasoning text from the summary (or thinking)
//! deltas and answer text from the text deltas, as a program following
//! the stream does; the `.done` events, which repeat the text, are parsed
//! and not counted. Both sides must find the same bytes of each.
//!
//! Gemini (`alt=sse`, [`gemini_stream`]) is read the same way into types
//! shaped like the google-genai SDKs' `GenerateContentResponse`
//! ([`thinktee_benches::formats::gemini_today`]: structs of optional
//! `camelCase` fields, a part's `thought` flag telling reasoning from
//! answer). Ollama's NDJSON ([`ollama_stream`]) is not SSE: a user reads
//! it with a line reader (`BufRead::read_until` over the body's chunks,
//! as `tokio_util::io::StreamReader` + `lines()` does) and
//! `serde_json::from_slice` into a type shaped like ollama-rs's
//! `ChatMessageResponse` ([`thinktee_benches::formats::ollama_today`]);
//! thinktee reads it with a `DocumentReader`, as `split` does.
//!
//! The inputs are [`responses_stream`], [`messages_stream`],
//! [`gemini_stream`] and [`ollama_stream`]: realistic streams back to back
//! (100 to 700 reasoning deltas and 30 to 200 answer deltas of 1 to 8
//! words each, escapes now and then), cut per event (what an HTTP client
//! hands on when the server flushes each event; per line for NDJSON) and
//! in 1460-byte pieces (one TCP segment).
//!
//! Measured (issue 15, 2026-12-07, the shared 2-core machine at load
//! average 8-9; details in `benches/RESULTS.md`): callgrind, 1 MiB of each
//! stream (`scripts/callgrind-formats.sh`), instructions of the user-today
//! code over thinktee's, both fed the same pieces:
//!
//! | stream | event-aligned | 1460-byte pieces |
//! |---|---|---|
//! | Responses API | 7.39x (57.7M / 7.81M) | 10.32x (85.5M / 8.29M) |
//! | Anthropic Messages | 7.57x (90.1M / 11.9M) | 7.83x (92.0M / 11.7M) |
//!
//! Gemini and Ollama (2026-12-08 00:30 UTC, since `Parser` reuses their
//! chunks and lines as it does typed deltas): callgrind 8.36x and 8.96x
//! (Gemini, event-aligned and 1460 B), 4.05x and 4.37x (Ollama,
//! line-aligned and 1460 B). Gemini meets 5x, Ollama does not;
//! `benches/RESULTS.md` has the criterion runs and says what bounds
//! Ollama.
//!
//! One short criterion run before the last 4-7 % (`--warm-up-time 1 --measurement-time 3
//! --sample-size 10`), medians, thinktee / user today: Responses 5.50 /
//! 29.5 ms event-aligned (5.37x), 5.11 / 30.9 ms at 1460 bytes (6.05x);
//! Messages 5.15 / 44.8 ms (8.69x), 6.70 / 51.0 ms (7.62x). The run after
//! it: 3.60x, 7.93x, 5.85x, 5.64x (the user-today medians moved by up to
//! 1.5x between the two).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use thinktee_benches::formats::{
    Generated, gemini_stream, messages_stream, ollama_stream, responses_stream,
};
use thinktee_benches::{Chunking, cut, input_sizes, line_pieces, shared_pieces};

#[path = "../shared/count.rs"]
mod count;
#[path = "../shared/formats_today.rs"]
mod sides;

use count::{Tally, thinktee, thinktee_document};
use sides::{gemini_today, messages_today, ollama_today, responses_today};

/// One format: its input, what a user writes today, thinktee's entry
/// (`Pipeline::feed` for SSE, `DocumentReader::feed` for NDJSON), and
/// whether an event is a line (NDJSON) rather than an SSE event.
struct Case {
    name: &'static str,
    input: Generated,
    today: fn(&[Bytes]) -> Tally,
    ours: fn(&[&[u8]]) -> Tally,
    lines: bool,
}

fn formats(c: &mut Criterion) {
    let (main, _) = input_sizes();
    let mut group = c.benchmark_group("formats");
    let sse = |name, input, today| Case { name, input, today, ours: thinktee, lines: false };
    let cases = [
        sse("responses", responses_stream(main), responses_today as fn(&[Bytes]) -> Tally),
        sse("messages", messages_stream(main), messages_today),
        sse("gemini", gemini_stream(main), gemini_today),
        Case {
            name: "ollama",
            input: ollama_stream(main),
            today: ollama_today,
            ours: thinktee_document,
            lines: true,
        },
    ];
    for Case { name, input, today, ours, lines } in &cases {
        for chunking in [Chunking::Events, Chunking::Bytes(1460)] {
            let pieces = match chunking {
                Chunking::Events if *lines => line_pieces(&input.bytes),
                _ => cut(&input.bytes, chunking),
            };
            let owned = shared_pieces(&pieces);
            let expected = Tally { thinking: input.thinking_bytes, answer: input.answer_bytes };
            assert_eq!(ours(&pieces), expected, "thinktee, {name}");
            assert_eq!(today(&owned), expected, "user today, {name}");

            group.throughput(Throughput::Bytes(input.bytes.len() as u64));
            let id = format!("{name}/{}", chunking.name());
            group.bench_function(BenchmarkId::new("thinktee", &id), |b| {
                b.iter(|| ours(black_box(&pieces)))
            });
            group.bench_function(BenchmarkId::new("user-today", &id), |b| {
                b.iter(|| today(black_box(&owned)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, formats);
criterion_main!(benches);
