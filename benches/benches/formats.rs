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
//! The inputs are [`responses_stream`] and [`messages_stream`]: realistic
//! streams back to back (100 to 700 reasoning deltas and 30 to 200 answer
//! deltas of 1 to 8 words each, escapes now and then), cut per event (what
//! an HTTP client hands on when the server flushes each event) and in
//! 1460-byte pieces (one TCP segment).
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
//! One short criterion run before the last 4-7 % (`--warm-up-time 1 --measurement-time 3
//! --sample-size 10`), medians, thinktee / user today: Responses 5.50 /
//! 29.5 ms event-aligned (5.37x), 5.11 / 30.9 ms at 1460 bytes (6.05x);
//! Messages 5.15 / 44.8 ms (8.69x), 6.70 / 51.0 ms (7.62x). The run after
//! it: 3.60x, 7.93x, 5.85x, 5.64x (the user-today medians moved by up to
//! 1.5x between the two).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use thinktee_benches::formats::{Generated, messages_stream, responses_stream};
use thinktee_benches::{Chunking, cut, input_sizes, shared_pieces};

#[path = "../shared/count.rs"]
mod count;
#[path = "../shared/formats_today.rs"]
mod sides;

use count::{Tally, thinktee};
use sides::{messages_today, responses_today};

type Today = fn(&[Bytes]) -> Tally;

fn formats(c: &mut Criterion) {
    let (main, _) = input_sizes();
    let mut group = c.benchmark_group("formats");
    let inputs: [(&str, Generated, Today); 2] = [
        ("responses", responses_stream(main), responses_today),
        ("messages", messages_stream(main), messages_today),
    ];
    for (name, input, today) in &inputs {
        for chunking in [Chunking::Events, Chunking::Bytes(1460)] {
            let pieces = cut(&input.bytes, chunking);
            let owned = shared_pieces(&pieces);
            let expected = Tally { thinking: input.thinking_bytes, answer: input.answer_bytes };
            assert_eq!(thinktee(&pieces), expected, "thinktee, {name}");
            assert_eq!(today(&owned), expected, "user today, {name}");

            group.throughput(Throughput::Bytes(input.bytes.len() as u64));
            let id = format!("{name}/{}", chunking.name());
            group.bench_function(BenchmarkId::new("thinktee", &id), |b| {
                b.iter(|| thinktee(black_box(&pieces)))
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
