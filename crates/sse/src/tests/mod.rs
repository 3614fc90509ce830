//! Property tests: the incremental [`Decoder`] against the whole-input
//! [`naive`] decoder, for random inputs cut at random places.

mod naive;

use proptest::prelude::*;
use proptest::sample::Index;

use crate::{Decoder, MAX_EVENT_LEN, MAX_LINE_LEN, OwnedFrame};

/// Pieces SSE inputs are built from: line ends, colons, spaces, field names,
/// BOM bytes (whole and partial), multi-byte and invalid UTF-8, NUL, digits.
const TOKENS: &[&[u8]] = &[
    b"\r",
    b"\r",
    b"\n",
    b"\n",
    b"\r\n",
    b"\n\n",
    b":",
    b":",
    b" ",
    b" ",
    b"data",
    b"data",
    b"data: ",
    b"event",
    b"event: ",
    b"id",
    b"id: ",
    b"retry",
    b"retry: ",
    b"\xEF\xBB\xBF",
    b"\xEF",
    b"\xEF\xBB",
    b"\xBF",
    "é".as_bytes(),
    "€".as_bytes(),
    "😀".as_bytes(),
    b"\xFF",
    b"\xC3",
    b"\x80",
    b"\0",
    b"x",
    b"y",
    b"7",
    b"42",
    b": keep-alive",
    b"{\"a\":1}",
];

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..48).prop_map(|tokens| tokens.concat())
}

fn cuts() -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 0..8)
}

/// Cuts `input` at the given places into consecutive chunks.
fn split<'a>(input: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(input.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in at.into_iter().chain([input.len()]) {
        chunks.push(&input[start..end]);
        start = end;
    }
    chunks
}

/// Feeds `chunks` one by one, then finishes.
fn feed(decoder: &mut Decoder, chunks: &[&[u8]]) -> Vec<OwnedFrame> {
    let mut frames = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, |frame| frames.push(frame.into()));
    }
    decoder.finish(|frame| frames.push(frame.into()));
    frames
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn split_feeds_equal_naive(input in input(), cuts in cuts()) {
        let chunks = split(&input, &cuts);
        let expected = naive::decode(&input, MAX_LINE_LEN, MAX_EVENT_LEN);
        prop_assert_eq!(feed(&mut Decoder::new(), &chunks), expected);
    }

    #[test]
    fn one_byte_feeds_equal_whole(input in input()) {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let whole = feed(&mut Decoder::new(), &[&input]);
        prop_assert_eq!(feed(&mut Decoder::new(), &bytes), whole);
    }

    #[test]
    fn small_limits_equal_naive(
        input in input(),
        cuts in cuts(),
        max_line_len in 0usize..24,
        max_event_len in 0usize..48,
    ) {
        let chunks = split(&input, &cuts);
        let expected = naive::decode(&input, max_line_len, max_event_len);
        let mut decoder = Decoder::builder().max_line_len(max_line_len).max_event_len(max_event_len).build();
        prop_assert_eq!(feed(&mut decoder, &chunks), expected);
    }

    #[test]
    fn finish_leaves_a_fresh_decoder(first in input(), second in input(), cuts in cuts()) {
        let mut decoder = Decoder::new();
        feed(&mut decoder, &split(&first, &cuts));
        let chunks = split(&second, &cuts);
        prop_assert_eq!(feed(&mut decoder, &chunks), feed(&mut Decoder::new(), &chunks));
    }
}
