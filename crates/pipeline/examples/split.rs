//! The pipeline alone: no runtime, no threads. Feed it the reads of a
//! stream as they come (cut anywhere), get thinking and answer apart.
//!
//! ```sh
//! cargo run -p thinktee-pipeline --example split
//! ```

use thinktee_pipeline::{Collector, Event, FnSink, Pipeline, SegmentKind, Sink, SplitChoice};

/// Two reads of a stream whose close tag is cut between them.
const READS: [&str; 2] = [
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>9.11 or 9.8?</th\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ink>9.8\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
];

/// Prints text as it is split, and returns what was assembled per choice.
fn run() -> Vec<SplitChoice> {
    let mut pipeline = Pipeline::default();
    // Assembled: one result per choice when its stream ends.
    let mut collector = Collector::new();
    // Live: each piece of text as soon as it is known.
    let mut sink = FnSink::new(|record| {
        if let Event::Text { kind, text, .. } = record.event {
            let channel = if kind == SegmentKind::Thinking { "thinking" } else { "answer" };
            println!("{channel}: {text:?}");
        }
        let Ok(_) = collector.record(record);
    });
    for read in READS {
        pipeline.feed(read.as_bytes(), &mut sink).unwrap();
    }
    pipeline.finish(&mut sink).unwrap();
    collector.drain().collect()
}

fn main() {
    for choice in run() {
        println!("choice {:?}: {:?} then {:?}", choice.choice, choice.reasoning, choice.content);
    }
}

#[test]
fn the_reads_split_into_thinking_and_answer() {
    let split = run();
    assert_eq!(split.len(), 1);
    assert_eq!((split[0].reasoning.as_str(), split[0].content.as_str()), ("9.11 or 9.8?", "9.8"));
    assert_eq!(split[0].finish_reason.as_deref(), Some("stop"));
    assert!(split[0].done);
}
