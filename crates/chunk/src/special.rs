//! Where a run of plain string characters ends: the workspace's one
//! word-at-a-time byte search.
//!
//! Inside a JSON string every byte is one of RFC 8259's `unescaped`
//! characters (copied as they are) until a `"` (the end), a `\` (an escape)
//! or a control character (an error). [`find_special`] finds the first of
//! those three; every string the scanner reads, key or value, is searched
//! with it. memchr cannot do this search: it finds up to three given bytes,
//! and a control character is any of 32.
//!
//! Measured against the plain alternatives: callgrind instructions on
//! 1 MiB of the R1 bench stream, the pipeline end to end at 1460-byte and
//! at event-aligned reads, and `parse` and `Parser` over its payloads; what
//! each alternative costs more than these eight-byte words:
//!
//! | instead                                    | end to end   | parse        | Parser       |
//! |--------------------------------------------|--------------|--------------|--------------|
//! | a byte loop over a 256-entry table         | +9 to +10 %  | +14 to +15 % | +24 %        |
//! | a byte loop testing the three cases        | +17 to +18 % | +27 to +28 % | +33 %        |
//! | `memchr2('"', '\\')`, then a control check | +15 to +17 % | +23 to +24 % | +30 %        |
//!
//! In time (best of 1000 runs, alternating the two builds, on a loaded
//! machine) the table loop is 1.07x to 1.11x slower end to end and 1.16x to
//! 1.25x for `parse` and `Parser`. Strings here are short (keys, ids,
//! deltas of one to eight words), so a call to memchr2 costs more than its
//! search, and a byte loop pays a branch per byte where this pays one per
//! eight. At 10-byte reads, where the SSE layer dominates, the table loop
//! costs 1.7 % more.

/// One in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The top bit of every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Index of the first `"`, `\` or control character (`< 0x20`) in
/// `bytes[at..]`, or `bytes.len()` if there is none.
///
/// Eight bytes at a time, as one little-endian word `w`: a byte of `w`
/// equal to `b` is a zero byte of `x = w ^ (ONES * b)`; `(x - ONES) & !x &
/// HIGHS` sets the top bit of every zero byte of `x`, and `(w - ONES * 0x20)
/// & !w & HIGHS` that of every byte of `w` below `0x20`. A bit may also be
/// set above a true one, through the borrow, but never below it: so the
/// lowest bit set by the three tests together marks the first special byte.
#[inline]
pub(crate) fn find_special(bytes: &[u8], at: usize) -> usize {
    debug_assert!(at <= bytes.len());
    let mut at = at;
    while let Some(word) = bytes.get(at..at + 8) {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(word);
        let w = u64::from_le_bytes(buf);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let flags = flags & HIGHS;
        if flags != 0 {
            return at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    // Fewer than 8 bytes are left: one at a time.
    while let Some(&b) = bytes.get(at) {
        if is_special(b) {
            return at;
        }
        at += 1;
    }
    at
}

/// Whether `b` ends a run of plain string characters.
#[inline]
fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn naive(bytes: &[u8], at: usize) -> usize {
        (at..bytes.len()).find(|&i| is_special(bytes[i])).unwrap_or(bytes.len())
    }

    #[test]
    fn finds_what_a_byte_loop_finds() {
        // Every special byte next to bytes that borrow or look alike, at
        // every offset of every length up to 300.
        let pattern = [b'a', 0xC3, 0xA9, b' ', 0x7F, 0x1F, b'"', b'\\', 0x20, 0x00, 0xFF];
        let text: Vec<u8> = (0..300).map(|i| pattern[i % pattern.len()]).collect();
        for len in 0..text.len() {
            for at in 0..=len {
                assert_eq!(find_special(&text[..len], at), naive(&text[..len], at), "{len} {at}");
            }
        }
        let plain = [b'x'; 40];
        for len in 0..40 {
            assert_eq!(find_special(&plain[..len], 0), len);
        }
    }

    proptest! {
        #[test]
        fn is_a_byte_search(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'"'), Just(b'\\'), Just(0x1F), Just(0x20), Just(0x21), Just(0x5B), Just(0x5D), Just(0x80), any::<u8>()],
                0..100,
            ),
            at in 0usize..100,
        ) {
            let at = at.min(bytes.len());
            prop_assert_eq!(find_special(&bytes, at), naive(&bytes, at));
        }
    }
}
