//! Hostile inputs (issue 13) through the two outputs that copy a stream
//! per choice: `split`'s records (a `Collector`, serialized as `thinktee
//! split --format json` does) and transcripts (`TranscriptSink` into a
//! `JsonlWriter`). Bounds are asserted by counting output bytes,
//! allocations and bytes allocated (this binary's allocator counts them),
//! never by time.

use std::time::Duration;

use proptest::prelude::*;
use thinktee_pipeline::{Collector, Pipeline, SplitChoice};
use thinktee_testkit::{Allocated, CountingAlloc, count_allocated};
use thinktee_transcript::{JsonlWriter, RequestMeta, TranscriptSink};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const DONE: &str = "data: [DONE]\n\n";

/// One event: one delta of choice `index` with `text`.
fn delta(index: usize, text: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"index\":{index},\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
    )
}

/// What a proxy puts on every transcript line of an exchange.
fn meta() -> RequestMeta {
    RequestMeta {
        method: Some("POST".into()),
        path: Some("/v1/chat/completions".into()),
        model: Some("deepseek-reasoner".into()),
        request_id: Some("r1-000001".into()),
        upstream: Some("https://api.deepseek.com".into()),
        started_unix_ms: Some(1_750_000_000_000),
        status: Some(200),
        body: None,
        ..RequestMeta::default()
    }
}

/// Bytes of `thinktee split --format json` for `input` (the records as the
/// CLI writes them, without its `"source"` key).
fn split_bytes(input: &[u8]) -> usize {
    let mut collector = Collector::new();
    let mut pipeline = Pipeline::default();
    let Ok(_) = pipeline.feed(input, &mut collector);
    let Ok(_) = pipeline.finish(&mut collector);
    let records: Vec<SplitChoice> = collector.drain().collect();
    let mut out = Counter(0);
    for r in &records {
        serde_json::to_writer(&mut out, r).unwrap();
        out.0 += 1; // the newline
    }
    out.0
}

/// An output that only counts its bytes, so that the measures of work are
/// the pipeline's and not a growing `Vec`'s.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes of the transcript of `input`, fed in reads of 1460 bytes with
/// timestamps, as a proxy does.
fn transcript_bytes(input: &[u8]) -> usize {
    let mut sink = TranscriptSink::with_meta(JsonlWriter::new(Counter(0)), meta());
    let mut pipeline = Pipeline::default();
    for (n, piece) in input.chunks(1460).enumerate() {
        let at = Duration::from_millis(n as u64);
        pipeline.feed_at(piece, at, &mut sink).unwrap();
    }
    pipeline.finish(&mut sink).unwrap();
    sink.output().get_ref().0
}

/// (a) `choices` choices with a tiny delta each, then `errors` invalid
/// events: the shape that gave 1.5 GB of `split` output.
fn errors_shape(choices: usize, errors: usize) -> String {
    let mut input: String = (0..choices).map(|i| delta(i, "x")).collect();
    for _ in 0..errors {
        input.push_str("data: {oops\n\n");
    }
    input.push_str(DONE);
    input
}

/// (b) `choices` distinct choices, each one event with one byte of text.
fn choices_shape(choices: usize) -> String {
    (0..choices).map(|i| delta(i, "x")).chain([DONE.to_owned()]).collect()
}

/// (b') the densest way to name choices: `choices` entries without text in
/// events of 100 entries.
fn dense_choices_shape(choices: usize) -> String {
    let mut input = String::new();
    for first in (0..choices).step_by(100) {
        let entries: Vec<String> =
            (first..choices.min(first + 100)).map(|i| format!("{{\"index\":{i}}}")).collect();
        input.push_str(&format!("data: {{\"choices\":[{}]}}\n\n", entries.join(",")));
    }
    input.push_str(DONE);
    input
}

/// (c) an `id` and a `model` of `len` bytes each, then `choices` choices.
fn huge_id_shape(len: usize, choices: usize) -> String {
    let huge = "i".repeat(len);
    let first = format!("data: {{\"id\":\"{huge}\",\"model\":\"{huge}\",\"choices\":[]}}\n\n");
    std::iter::once(first).chain([choices_shape(choices)]).collect()
}

/// Output beyond 4 bytes per input byte that a `split` record may add
/// whatever its input: its fixed keys (about 330 bytes: the record shape
/// of issue 15 has every format's keys), `id` and `model` (at most 256
/// bytes each, plain) and `usage` (at most about 300 bytes). Measured on
/// the shapes below: 345 bytes per record of choice shapes, 860 with a cut
/// 64 KiB id and model.
const SPLIT_PER_RECORD: usize = 1024;

/// The same for a transcript line: the split record's keys, the request
/// metadata (about 200 bytes here), the outcome and the stream's metrics
/// (about 450 bytes) with the choice's own entry (about 170). Measured:
/// 1,020 bytes per line of choice shapes, 1,530 with a cut id and model.
const TRANSCRIPT_PER_RECORD: usize = 2048;

/// What the issue asks of every stream: 4 bytes out per byte in, plus
/// 4 KiB.
fn four_x(input: usize, streams: usize) -> usize {
    4 * input + 4096 * streams
}

#[test]
fn hostile_split_and_transcript_outputs_are_bounded() {
    // (name, input, records, whether `split` stays within 4x + 4 KiB).
    // A choice of one byte of text in an event of its own (about 60 input
    // bytes) makes a record of about 345, and with a cut id and model of
    // about 860 (a 64 KiB id makes 1,000 records of 190 input bytes each):
    // shapes made mostly of those are bounded per record, as densely
    // packed choices are.
    let shapes = [
        ("(a) 300 choices, 2,000 invalid events", errors_shape(300, 2000), 300, true),
        ("(a) 300 choices, 100 invalid events", errors_shape(300, 100), 300, false),
        ("(b) 100 choices", choices_shape(100), 100, false),
        ("(b) 2,000 choices, past the limit", choices_shape(2000), 1024, true),
        ("(b) 2,000 choices, 100 per event", dense_choices_shape(2000), 1024, false),
        ("(c) 64 KiB id and model, 1,000 choices", huge_id_shape(65536, 1000), 1000, false),
    ];
    for (name, input, records, within_four_x) in shapes {
        let (input, streams) = (input.as_bytes(), 1);
        let split = split_bytes(input);
        let transcript = transcript_bytes(input);
        eprintln!(
            "{name}: input {} B, split {split} B ({:.2}x), transcript {transcript} B ({:.2}x)",
            input.len(),
            split as f64 / input.len() as f64,
            transcript as f64 / input.len() as f64,
        );
        let bound = four_x(input.len(), streams);
        assert!(split <= bound + SPLIT_PER_RECORD * records, "{name}: split {split} B");
        assert!(
            transcript <= bound + TRANSCRIPT_PER_RECORD * records,
            "{name}: transcript {transcript} B"
        );
        if within_four_x {
            assert!(split <= bound, "{name}: split {split} B, 4x + 4 KiB is {bound} B");
        }
    }
}

/// `n` choices sending two deltas each (thinking then answer), round-robin,
/// with `e` invalid events among them; sparse choice indexes if `sparse`.
fn mixed_shape(n: usize, e: usize, sparse: bool) -> String {
    let index = |i: usize| if sparse { i * 7 + 5 } else { i };
    let mut events: Vec<String> = Vec::new();
    for text in ["<think>a", "</think>b"] {
        events.extend((0..n).map(|i| delta(index(i), text)));
    }
    for k in 0..e {
        events.insert(k * events.len() / e.max(1), "data: {oops\n\n".into());
    }
    events.push(DONE.into());
    events.concat()
}

/// Allocations, bytes allocated and output bytes of `split` and of a
/// transcript of `input`.
fn work(input: &[u8]) -> [(&'static str, u64); 6] {
    let (split, split_alloc) = count_allocated(|| split_bytes(input));
    let (transcript, transcript_alloc) = count_allocated(|| transcript_bytes(input));
    let Allocated { count: a, bytes: b } = split_alloc;
    let Allocated { count: c, bytes: d } = transcript_alloc;
    [
        ("split allocations", a),
        ("split bytes allocated", b),
        ("split output bytes", split as u64),
        ("transcript allocations", c),
        ("transcript bytes allocated", d),
        ("transcript output bytes", transcript as u64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Work grows linearly with the number of choices and of errors: with
    /// both doubled (which doubles the input), allocations, bytes
    /// allocated and output bytes grow at most 2.2 times. A cost in choices
    /// squared, or in choices times errors (errors copied onto every
    /// choice), quadruples.
    #[test]
    fn hostile_work_grows_linearly_with_choices_and_errors(
        n in 50usize..600,
        e in 0usize..600,
        sparse in any::<bool>(),
    ) {
        let small = work(mixed_shape(n, e, sparse).as_bytes());
        let large = work(mixed_shape(2 * n, 2 * e, sparse).as_bytes());
        for ((what, at_n), (_, at_2n)) in small.iter().zip(&large) {
            prop_assert!(
                at_2n * 10 <= at_n * 22,
                "{what}: {at_n} at n = {n}, e = {e}; {at_2n} at 2n, 2e"
            );
        }
    }
}
