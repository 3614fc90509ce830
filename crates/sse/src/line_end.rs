//! Finding the next line end (CR or LF): [`find_line_end`], and [`Words`]
//! for reads of 8 to 15 bytes.
//!
//! `memchr2` is the right tool for long haystacks, but a network read of a
//! few bytes pays its fixed cost (dispatch, then a byte-by-byte loop below
//! the vector width) on every call. Short haystacks are searched here a
//! 64-bit word at a time instead ("SWAR": SIMD within a register).

use memchr::memchr2;

/// Haystacks shorter than this are searched word by word, longer ones with
/// `memchr2`.
pub(crate) const SHORT: usize = 16;

/// `0x01` in every byte.
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
/// `0x80` in every byte.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
/// LF in every byte.
const LFS: u64 = u64::from_ne_bytes([b'\n'; 8]);
/// CR in every byte.
const CRS: u64 = u64::from_ne_bytes([b'\r'; 8]);

/// The index of the first CR or LF in `haystack`.
#[inline]
pub(crate) fn find_line_end(haystack: &[u8]) -> Option<usize> {
    if haystack.len() < SHORT { find_short(haystack) } else { memchr2(b'\n', b'\r', haystack) }
}

/// 8 to 15 bytes held as two words that cover them: the first 8 bytes and
/// the last 8, which overlap (and are the same 8 bytes when there are 8).
///
/// A read this short that lands inside a line is searched and, if it holds
/// no line end, appended to the line with the same two loads and no
/// `memcpy` call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Words {
    head: u64,
    tail: u64,
    /// The number of bytes, 8 to 15.
    len: usize,
}

impl Words {
    /// `bytes` as two words, if it is 8 to 15 bytes long.
    #[inline]
    pub(crate) fn new(bytes: &[u8]) -> Option<Words> {
        let len = bytes.len();
        // One comparison: `len - 8` wraps around for shorter inputs.
        if len.wrapping_sub(8) >= SHORT - 8 {
            return None;
        }
        let (head, tail) = (bytes.first_chunk::<8>()?, bytes.last_chunk::<8>()?);
        Some(Words { head: u64::from_le_bytes(*head), tail: u64::from_le_bytes(*tail), len })
    }

    /// The number of bytes.
    #[inline]
    pub(crate) fn len(self) -> usize {
        self.len
    }

    /// The index of the first CR or LF. The bytes the words share hold no
    /// line end if the first word has none.
    #[inline]
    pub(crate) fn find_line_end(self) -> Option<usize> {
        // Most reads hold no line end: one test rejects both words.
        if below_0e(self.head) | below_0e(self.tail) == 0 {
            return None;
        }
        let last = self.len - 8;
        find_in_word(self.head).or_else(|| find_in_word(self.tail).map(|found| last + found))
    }

    /// Appends the bytes to `buf`: 16 bytes appended whole, then cut back to
    /// `len`. The first 8 are `head`; the next `len - 8` are the top bytes
    /// of `tail`, shifted down (for `len == 8` none are kept, and the
    /// wrapped shift does no harm).
    #[inline]
    pub(crate) fn append_to(self, buf: &mut Vec<u8>) {
        let end = buf.len() + self.len;
        let rest = self.tail.wrapping_shr(8 * (16 - self.len) as u32);
        let block = u128::from(self.head) | u128::from(rest) << 64;
        buf.extend_from_slice(&block.to_le_bytes());
        buf.truncate(end);
    }
}

/// Appends the first `len` bytes (at most 8) of `word` to `buf`: all 8 are
/// appended, then cut back, with no `memcpy` call.
#[inline]
pub(crate) fn append_word(buf: &mut Vec<u8>, word: u64, len: usize) {
    let end = buf.len() + len;
    buf.extend_from_slice(&word.to_le_bytes());
    buf.truncate(end);
}

/// `bytes[from..]`, if `bytes` is at least 8 long and that is 1 to 8 bytes,
/// as a word (first byte lowest) and its length. The bytes above are zero,
/// which no line end is: [`find_in_word`] searches it as is.
#[inline]
pub(crate) fn tail_word(bytes: &[u8], from: usize) -> Option<(u64, usize)> {
    let len = bytes.len().checked_sub(from).filter(|len| (1..=8).contains(len))?;
    let tail = u64::from_le_bytes(*bytes.last_chunk::<8>()?);
    Some((tail >> (8 * (8 - len)), len))
}

/// [`find_line_end`] for a short haystack: whole words, then one last word
/// that may overlap the previous one (bytes seen twice hold no line end).
#[inline]
fn find_short(haystack: &[u8]) -> Option<usize> {
    let Some(last) = haystack.len().checked_sub(8) else {
        return haystack.iter().position(|&byte| byte == b'\n' || byte == b'\r');
    };
    let mut at = 0;
    while at < last {
        if let Some(found) = find_in_word(word_at(haystack, at)) {
            return Some(at + found);
        }
        at += 8;
    }
    find_in_word(word_at(haystack, last)).map(|found| last + found)
}

/// The 8 bytes at `haystack[at..]`, first byte lowest. Never called out of
/// bounds; if it were, the zero word it gives holds no line end.
#[inline]
fn word_at(haystack: &[u8], at: usize) -> u64 {
    let bytes = haystack.get(at..at + 8).and_then(|bytes| <[u8; 8]>::try_from(bytes).ok());
    bytes.map_or(0, u64::from_le_bytes)
}

/// The index of the first CR or LF byte in `word` (first byte lowest).
///
/// `word ^ LFS` has a zero byte where `word` has an LF, and for each byte
/// `b`, `(b - 1) & !b & 0x80` is set iff `b == 0`, except that the borrow
/// out of a zero byte can also mark the byte above it: the lowest mark is
/// always right, and only the lowest is used. Likewise `(b - 0x0E) & !b &
/// 0x80` marks bytes below 0x0E: if there are none, there is no CR (0x0D)
/// or LF (0x0A) either, which rejects most words in three operations.
#[inline]
pub(crate) fn find_in_word(word: u64) -> Option<usize> {
    if below_0e(word) == 0 {
        return None;
    }
    let marks = zero_bytes(word ^ LFS) | zero_bytes(word ^ CRS);
    if marks == 0 { None } else { Some(marks.trailing_zeros() as usize / 8) }
}

/// Marks (see [`find_in_word`]) the bytes of `word` below 0x0E: zero iff
/// it has none, and then it has no CR or LF.
#[inline]
fn below_0e(word: u64) -> u64 {
    word.wrapping_sub(ONES * 0x0E) & !word & HIGHS
}

/// See [`find_in_word`].
#[inline]
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Bytes close to CR and LF, with CR and LF often.
    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![Just(b'\n'), Just(b'\r'), 0u8..=0x0F, any::<u8>(), Just(0x8A), Just(0x8D)]
    }

    #[test]
    fn every_position_and_length() {
        for len in 0..=2 * SHORT + 1 {
            assert_eq!(find_line_end(&vec![b'x'; len]), None);
            for at in 0..len {
                for end in [b'\n', b'\r'] {
                    let mut haystack = vec![b'x'; len];
                    haystack[at] = end;
                    assert_eq!(find_line_end(&haystack), Some(at), "{haystack:?}");
                    assert_eq!(find_short(&haystack), Some(at), "{haystack:?}");
                }
            }
        }
    }

    #[test]
    fn other_control_bytes_are_not_line_ends() {
        assert_eq!(find_short(b"\0\t\x0B\x0C\x0E\x8A\x8Dxx\n"), Some(9));
        assert_eq!(find_short(b"\0\t\x0B\x0C\x0E\x8A\x8Dxx"), None);
    }

    #[test]
    fn zero_byte_borrow_does_not_fool_it() {
        // A line end right above a byte that is one away from a line end.
        assert_eq!(find_short(b"\x0B\n\x0C\rxxxxxx"), Some(1));
        assert_eq!(find_short(b"xxxxxxx\x0E\x0B\x0C\r"), Some(10));
    }

    #[test]
    fn words_only_from_8_to_15_bytes() {
        for len in 0..=2 * SHORT {
            assert_eq!(Words::new(&vec![b'x'; len]).is_some(), (8..SHORT).contains(&len), "{len}");
        }
    }

    #[test]
    fn words_find_every_line_end_and_append_every_byte() {
        for len in 8..SHORT {
            let bytes: Vec<u8> = (0..len as u8).map(|i| 0xF0 ^ i).collect();
            let words = Words::new(&bytes).unwrap();
            assert_eq!(words.len(), len);
            assert_eq!(words.find_line_end(), None);
            let mut buf = b"abc".to_vec();
            words.append_to(&mut buf);
            assert_eq!(buf, [&b"abc"[..], &bytes].concat());
            for at in 0..len {
                for end in [b'\n', b'\r'] {
                    let mut haystack = vec![b'x'; len];
                    haystack[at] = end;
                    assert_eq!(Words::new(&haystack).unwrap().find_line_end(), Some(at));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn words_agree_with_memchr2(haystack in prop::collection::vec(byte(), 8..SHORT)) {
            let words = Words::new(&haystack).unwrap();
            prop_assert_eq!(words.find_line_end(), memchr2(b'\n', b'\r', &haystack));
            let mut buf = Vec::new();
            words.append_to(&mut buf);
            prop_assert_eq!(buf, haystack);
        }

        #[test]
        fn agrees_with_memchr2(haystack in prop::collection::vec(byte(), 0..2 * SHORT)) {
            let expected = memchr2(b'\n', b'\r', &haystack);
            prop_assert_eq!(find_short(&haystack), expected);
            prop_assert_eq!(find_line_end(&haystack), expected);
        }
    }
}
