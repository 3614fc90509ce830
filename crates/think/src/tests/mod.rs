//! Tests against a naive whole-string reference, plus hand-written vectors.

mod field;
mod naive;
mod presets;
mod properties;
mod vectors;

use crate::{Config, Segment, SegmentKind, Splitter};

/// Joined segments, as a consumer sees them.
pub(crate) type Joined = Vec<(SegmentKind, String)>;

pub(crate) fn push(out: &mut Joined, kind: SegmentKind, text: &str) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some((k, t)) if *k == kind => t.push_str(text),
        _ => out.push((kind, text.to_owned())),
    }
}

/// Feeds `pieces` one by one into a fresh splitter.
pub(crate) fn feed_pieces(config: &Config, pieces: &[&str]) -> (Joined, crate::Outcome) {
    let mut splitter = Splitter::with_config(config.clone());
    let mut out = Joined::new();
    for piece in pieces {
        splitter.feed(piece, |s: Segment<'_>| push(&mut out, s.kind, s.text));
    }
    let outcome = splitter.finish(|s: Segment<'_>| push(&mut out, s.kind, s.text));
    (out, outcome)
}

/// Every char boundary of `text`.
pub(crate) fn boundaries(text: &str) -> Vec<usize> {
    (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect()
}
