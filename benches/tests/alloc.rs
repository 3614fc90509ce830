//! Heap allocations per event on the realistic R1 streams of the benches,
//! after a warm-up stream, counted with `thinktee-testkit`'s allocator:
//! none in the SSE decoder and the splitter, at most one per event end to
//! end (`Pipeline` into a sink that does nothing), and in fact almost none:
//! the pipeline's `chunk::Parser` reuses the previous parse, escaped text
//! included, for nearly every payload of a stream.
//!
//! Run with `--nocapture` to see the measured counts.

use std::convert::Infallible;

use thinktee_benches::{Chunking, Dialect, R1Stream, cut, r1_stream};
use thinktee_chunk::Payload;
use thinktee_pipeline::{Flow, Pipeline, Record, Sink};
use thinktee_sse::{Decoder, Frame, OwnedFrame};
use thinktee_testkit::{CountingAlloc, count_allocations};
use thinktee_think::Splitter;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// About 2000 events.
const LEN: usize = 512 << 10;

/// The cuts the budget is held to: one event per read, one TCP segment per read.
const CUTS: [Chunking; 2] = [Chunking::Events, Chunking::Bytes(1460)];

/// A sink that does nothing.
struct NullSink;

impl Sink for NullSink {
    type Error = Infallible;
    fn record(&mut self, _: &Record<'_>) -> Result<Flow, Infallible> {
        Ok(Flow::Continue)
    }
}

fn run_pipeline(pipeline: &mut Pipeline, pieces: &[&[u8]]) {
    for piece in pieces {
        let _ = pipeline.feed(piece, &mut NullSink);
    }
    let _ = pipeline.finish(&mut NullSink);
}

/// Allocations of one pass through the pipeline, after a warm-up pass.
fn pipeline_allocations(stream: &R1Stream, chunking: Chunking) -> u64 {
    let pieces = cut(&stream.bytes, chunking);
    let mut pipeline = Pipeline::default();
    run_pipeline(&mut pipeline, &pieces);
    count_allocations(|| run_pipeline(&mut pipeline, &pieces)).1
}

fn report(what: &str, allocations: u64, events: usize) -> f64 {
    let per_event = allocations as f64 / events as f64;
    eprintln!("{what}: {allocations} allocations for {events} events = {per_event:.3} per event");
    per_event
}

#[test]
fn the_counter_counts() {
    let (v, allocations) = count_allocations(|| vec![1u8; 10]);
    assert_eq!((v.len(), allocations), (10, 1));
}

#[test]
fn sse_decoder_allocates_nothing_per_event() {
    let stream = r1_stream(Dialect::ReasoningContent, LEN);
    for chunking in CUTS {
        let pieces = cut(&stream.bytes, chunking);
        let mut decoder = Decoder::new();
        let feed = |decoder: &mut Decoder| {
            let mut events = 0;
            for piece in &pieces {
                decoder
                    .feed(piece, |frame| events += usize::from(matches!(frame, Frame::Event(_))));
            }
            decoder.finish(|_| {});
            events
        };
        feed(&mut decoder);
        let (events, allocations) = count_allocations(|| feed(&mut decoder));
        assert_eq!(events, stream.events);
        report(&format!("sse {}", chunking.name()), allocations, events);
        assert_eq!(allocations, 0, "the SSE decoder allocated ({})", chunking.name());
    }
}

#[test]
fn splitter_allocates_nothing_per_delta() {
    let stream = r1_stream(Dialect::Inline, LEN);
    let mut splitter = Splitter::new();
    let split = |splitter: &mut Splitter| {
        let mut bytes = 0;
        for deltas in &stream.contents {
            for delta in deltas {
                splitter.feed(delta, |s| bytes += s.text.len());
            }
            splitter.finish(|s| bytes += s.text.len());
        }
        bytes
    };
    split(&mut splitter);
    let (bytes, allocations) = count_allocations(|| split(&mut splitter));
    assert!(bytes > 0);
    report("splitter (inline deltas)", allocations, stream.events);
    assert_eq!(allocations, 0, "the splitter allocated");
}

/// Where the end-to-end allocations come from: parsing the payloads alone
/// (the `choices` vector of each chunk, and each string the JSON escaped).
#[test]
fn chunk_parse_allocations_are_reported() {
    for dialect in [Dialect::ReasoningContent, Dialect::Inline] {
        let stream = r1_stream(dialect, LEN);
        let payloads: Vec<String> = thinktee_sse::parse_all(&stream.bytes)
            .into_iter()
            .filter_map(|f| match f {
                OwnedFrame::Event(e) => Some(e.data),
                _ => None,
            })
            .collect();
        let escaped = payloads.iter().filter(|p| p.contains('\\')).count();
        let (chunks, allocations) = count_allocations(|| {
            payloads
                .iter()
                .filter(|p| matches!(thinktee_chunk::parse(p), Ok(Payload::Chunk(_))))
                .count()
        });
        eprintln!(
            "chunk parse ({}): {chunks} chunks, {escaped} with an escaped string",
            dialect.name()
        );
        report(&format!("chunk parse ({})", dialect.name()), allocations, payloads.len());
        let mut parser = thinktee_chunk::Parser::new();
        let (chunks, allocations) = count_allocations(|| {
            payloads.iter().filter(|p| matches!(parser.parse(p), Ok(Payload::Chunk(_)))).count()
        });
        eprintln!(
            "chunk::Parser ({}): {chunks} chunks, {} reused",
            dialect.name(),
            parser.reused()
        );
        report(&format!("chunk::Parser ({})", dialect.name()), allocations, payloads.len());
    }
}

/// A reused payload borrows its unescaped text from the parser, so the
/// pipeline allocates only for the few payloads of a stream it reads in
/// full (the first chunks, the switch from reasoning to answer, the last):
/// well under one allocation in twenty events.
#[test]
fn end_to_end_allocates_only_for_payloads_it_cannot_reuse() {
    for dialect in [Dialect::ReasoningContent, Dialect::Inline] {
        let stream = r1_stream(dialect, LEN);
        for chunking in CUTS {
            let allocations = pipeline_allocations(&stream, chunking);
            let per_event = allocations as f64 / stream.events as f64;
            assert!(
                per_event < 0.05,
                "{per_event:.3} allocations per event ({} {})",
                dialect.name(),
                chunking.name()
            );
        }
    }
}

#[test]
fn end_to_end_at_most_one_allocation_per_event() {
    let stream = r1_stream(Dialect::ReasoningContent, LEN);
    for chunking in CUTS {
        let allocations = pipeline_allocations(&stream, chunking);
        let per_event = report(
            &format!("pipeline reasoning_content {}", chunking.name()),
            allocations,
            stream.events,
        );
        assert!(per_event <= 1.0, "{per_event:.3} allocations per event ({})", chunking.name());
    }
}

/// The inline dialect, for the record: the same budget holds.
#[test]
fn end_to_end_inline_at_most_one_allocation_per_event() {
    let stream = r1_stream(Dialect::Inline, LEN);
    for chunking in CUTS {
        let allocations = pipeline_allocations(&stream, chunking);
        let per_event =
            report(&format!("pipeline inline {}", chunking.name()), allocations, stream.events);
        assert!(per_event <= 1.0, "{per_event:.3} allocations per event ({})", chunking.name());
    }
}
