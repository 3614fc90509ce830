//! The splitter: realistic R1 content (`<think>` inline, the close tag cut
//! across deltas, one splitter reused across streams) in every chunking, and
//! prose without a `<` in large pieces, where only `memchr` should run.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use thinktee_benches::{Chunking, Dialect, input_sizes, plain_text, r1_stream, text_pieces};
use thinktee_think::{Builder, SegmentKind, Splitter, StartMode};

/// Bytes of thinking, answer and markup: every cut must give the same.
type Tally = [usize; 3];

fn tally(tally: &mut Tally, kind: SegmentKind, len: usize) {
    tally[match kind {
        SegmentKind::Thinking => 0,
        SegmentKind::Answer => 1,
        SegmentKind::Markup | SegmentKind::ToolCall => 2,
    }] += len;
}

/// Feeds each stream's pieces, finishing the splitter at each stream's end.
fn split(splitter: &mut Splitter, streams: &[Vec<&str>]) -> Tally {
    let mut out = [0; 3];
    for pieces in streams {
        for piece in pieces {
            splitter.feed(piece, |s| tally(&mut out, s.kind, s.text.len()));
        }
        splitter.finish(|s| tally(&mut out, s.kind, s.text.len()));
    }
    out
}

fn think(c: &mut Criterion) {
    let (main, one_byte) = input_sizes();
    let mut group = c.benchmark_group("think");

    // Realistic: the content deltas of the inline R1 stream.
    let big = r1_stream(Dialect::Inline, main);
    let small = r1_stream(Dialect::Inline, one_byte);
    let mut expected = None;
    for chunking in Chunking::ALL {
        let input = if chunking == Chunking::Bytes(1) { &small } else { &big };
        let texts: Vec<String> = input.contents.iter().map(|deltas| deltas.concat()).collect();
        let streams: Vec<Vec<&str>> = match chunking {
            Chunking::Bytes(n) => texts.iter().map(|t| text_pieces(t, n)).collect(),
            Chunking::Events => input
                .contents
                .iter()
                .map(|deltas| deltas.iter().map(String::as_str).collect())
                .collect(),
        };
        let len: usize = texts.iter().map(String::len).sum();
        let mut splitter = Splitter::new();
        let got = split(&mut splitter, &streams);
        assert_eq!(got.iter().sum::<usize>(), len, "lossless");
        if chunking != Chunking::Bytes(1) {
            assert_eq!(*expected.get_or_insert(got), got, "same split whatever the cut");
            assert_eq!((got[0], got[1]), (input.thinking_bytes, input.answer_bytes));
        }
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("realistic", chunking.name()), |b| {
            b.iter(|| split(&mut splitter, black_box(&streams)))
        });
    }

    // Tagless: prose with no `<`. `implicit` starts inside thinking, so the
    // whole text is scanned for the close tag: the memchr-bound path.
    // `auto` (the default) holds undecided text up to the 1 MiB bound, then
    // decides it is answer and stops scanning.
    let text = plain_text(main);
    group.throughput(Throughput::Bytes(text.len() as u64));
    for (mode, start) in
        [("tagless-implicit", StartMode::Implicit), ("tagless-auto", StartMode::Auto)]
    {
        for size in [1460, 64 << 10] {
            let streams = vec![text_pieces(&text, size)];
            let mut splitter = Builder::new().start(start).build().expect("valid policy");
            assert_eq!(split(&mut splitter, &streams).iter().sum::<usize>(), text.len());
            let name = if size == 1460 { "1460B".to_owned() } else { "64KiB".to_owned() };
            group.bench_function(BenchmarkId::new(mode, name), |b| {
                b.iter(|| split(&mut splitter, black_box(&streams)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, think);
criterion_main!(benches);
