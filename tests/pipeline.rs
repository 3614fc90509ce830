//! The pure pipeline gives the same records whatever the chunking.

use thinktee_pipeline::{
    Collector, DocumentKind, DocumentReader, Options, Pipeline, SplitChoice, SplitterConfig, detect,
};

use crate::support::{splitter_of, sse_fixtures};

fn run(splitter: &SplitterConfig, pieces: &[&[u8]]) -> Vec<SplitChoice> {
    let mut pipeline = Pipeline::new(Options { splitter: splitter.clone(), ..Options::default() });
    let mut collector = Collector::new();
    let mut out = Vec::new();
    for piece in pieces {
        pipeline.feed(piece, &mut collector).unwrap();
        out.extend(collector.drain());
    }
    pipeline.finish(&mut collector).unwrap();
    out.extend(collector.drain());
    out
}

#[test]
fn every_fixture_whole_bytewise_and_split_at_every_offset() {
    let mut checked = 0;
    for (stem, bytes) in sse_fixtures("e2e") {
        if detect(&bytes) == DocumentKind::Json {
            continue; // whole bodies, not streams
        }
        let splitter = splitter_of(&stem);
        let whole = run(&splitter, &[&bytes]);
        assert!(!whole.is_empty(), "{stem}");
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(run(&splitter, &singles), whole, "{stem}: 1-byte pieces");
        for k in 0..=bytes.len() {
            let (a, b) = bytes.split_at(k);
            assert_eq!(run(&splitter, &[a, b]), whole, "{stem}: split at {k}");
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} stream fixtures");
}

/// A document (JSON bodies, JSON Lines such as Ollama's NDJSON) read by a
/// `DocumentReader` fed `pieces`.
fn read(pieces: &[&[u8]]) -> Vec<SplitChoice> {
    let mut reader = DocumentReader::new(Pipeline::default());
    let mut collector = Collector::new();
    let mut out = Vec::new();
    for piece in pieces {
        reader.feed(piece, &mut collector).unwrap();
        out.extend(collector.drain());
    }
    reader.finish(&mut collector).unwrap();
    out.extend(collector.drain());
    out
}

#[test]
fn every_json_fixture_whole_bytewise_and_split_at_every_offset() {
    let mut checked = 0;
    for (stem, bytes) in sse_fixtures("e2e") {
        if detect(&bytes) != DocumentKind::Json {
            continue;
        }
        let whole = read(&[&bytes]);
        assert!(!whole.is_empty(), "{stem}");
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(read(&singles), whole, "{stem}: 1-byte pieces");
        for k in 0..=bytes.len() {
            let (a, b) = bytes.split_at(k);
            assert_eq!(read(&[a, b]), whole, "{stem}: split at {k}");
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} json fixtures");
}

#[test]
fn a_stream_is_reported_when_it_ends_not_before() {
    let bytes =
        std::fs::read(crate::support::fixtures_dir().join("e2e/two_streams_back_to_back.sse"))
            .unwrap();
    let mut pipeline = Pipeline::default();
    let mut collector = Collector::new();
    let first_done = bytes.windows(12).position(|w| w == b"data: [DONE]").unwrap();
    pipeline.feed(&bytes[..first_done], &mut collector).unwrap();
    assert_eq!(collector.drain().count(), 0, "stream 0 has not ended yet");
    pipeline.feed(&bytes[first_done..first_done + 14], &mut collector).unwrap();
    let first: Vec<_> = collector.drain().collect();
    assert_eq!((first.len(), first[0].stream, first[0].done), (1, 0, true));
    pipeline.feed(&bytes[first_done + 14..], &mut collector).unwrap();
    pipeline.finish(&mut collector).unwrap();
    let second: Vec<_> = collector.drain().collect();
    assert_eq!((second.len(), second[0].stream), (1, 1));
    assert_ne!(first[0].id, second[0].id);
}
