//! The line reader: network reads in, complete lines out.
//!
//! It finds the line ends (CR, LF or CRLF, also when a read cuts CRLF in
//! two), strips the byte order mark that may open the stream, keeps the
//! first bytes of a line that a read leaves unfinished, and enforces the
//! line limit: a line over it is reported once, as soon as it is known, and
//! its rest is discarded up to its line end without being buffered.
//!
//! A line is yielded borrowed: from the read when it lies whole inside it,
//! else from the reader's buffer, which then holds all of it.
//!
//! Bytes are searched once. A read is searched from the resume offset `pos`
//! on, which the caller keeps across calls (tokio-util's `LinesCodec` keeps
//! `next_index` for this), and bytes enter the buffer only once they are
//! known to hold no line end.

use memchr::memchr2;

// The WHATWG HTML standard, 9.2.5 "Parsing an event stream":
//
//   stream        = [ bom ] *event
//   event         = *( comment / field ) end-of-line
//   comment       = colon *any-char end-of-line
//   field         = 1*name-char [ colon [ space ] *any-char ] end-of-line
//   end-of-line   = ( cr lf / cr / lf )
//
//   ; characters
//   lf            = %x000A ; U+000A LINE FEED (LF)
//   cr            = %x000D ; U+000D CARRIAGE RETURN (CR)
//   bom           = %xFEFF ; U+FEFF BYTE ORDER MARK
//
// This reader implements `[ bom ]` and `end-of-line`; the event builder
// interprets the lines between them.

/// The UTF-8 byte order mark, stripped once at the start of the stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// What the line reader expects next.
///
/// ```text
///          BOM, or no BOM
///   Bom ──────────────────────▶ Start ◀──────────── line end ─────────┐
///    │                           │  ▲                                  │
///    │ held bytes that are       │  │                                  │
///    │ not a BOM start a line    │  │ line end                         │
///    │                           │  │                                  │
///    │     a read ends inside    ▼  │   over the limit, or in a        │
///    └──────────────────────▶  Rest ───────────────────────────▶ Discarding
///                                       skipped event
/// ```
///
/// `Start` goes to `Discarding` at once when a read ends inside a line that
/// is over the limit already. A CR ends a line at once; when it is the last
/// byte of a read, the line end leads to `AfterCr` instead of `Start`, which
/// swallows an LF that opens the next read: CRLF cut by a read is one line
/// end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineState {
    /// The first bytes of the stream, which may be a byte order mark:
    /// `matched` bytes of it were seen, held back until it is complete.
    Bom { matched: u8 },
    /// The first byte of a line.
    Start,
    /// The rest of a line whose first bytes are in the buffer.
    Rest,
    /// An LF completing the CRLF whose CR ended the last read, or else the
    /// first byte of a line.
    AfterCr,
    /// The rest of a line nobody needs (it broke the limit, or it is inside
    /// a skipped event), discarded up to its line end.
    Discarding,
}

/// A complete line that is not blank, without its line end, within the
/// line limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// Its bytes, borrowed from the read or from the reader's buffer.
    pub(crate) bytes: &'a [u8],
    /// Where its bytes are.
    pub(crate) at: At,
    /// A blank line followed it at once in the same read, and was read with
    /// it: every event ends with one.
    pub(crate) blank_after: bool,
}

/// Where the bytes of a [`Line`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    /// `chunk[start..start + len]`: the line lies whole inside the read.
    Chunk { start: usize },
    /// The reader's buffer: the line started in an earlier read, and its
    /// line end is `chunk[end]`.
    Buffer { end: usize },
}

/// What [`LineReader::next`] found.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Next<'a> {
    /// A complete line within the limit, not blank.
    Line(Line<'a>),
    /// A blank line.
    BlankLine,
    /// A line over the limit. Reported once, as soon as it is known; its
    /// bytes are discarded.
    TooLong,
    /// The read is used up. Its bytes from `unfinished` on belong to the
    /// line it leaves unfinished, which the reader keeps in its buffer
    /// (`chunk.len()` if there is none, or if they are discarded or held as
    /// a possible byte order mark).
    EndOfRead { unfinished: usize },
}

/// What is left at the end of the stream: see [`LineReader::finish`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tail<'a> {
    /// The unfinished line, without a line end (empty if there is none).
    Line(&'a [u8]),
    /// The stream ended inside a discarded line: one over the limit, or one
    /// in a skipped event.
    Discarded,
}

/// Splits network reads into lines. See the [module docs](self).
#[derive(Debug, Clone)]
pub(crate) struct LineReader {
    state: LineState,
    /// The longest line accepted, in bytes, without its line end.
    max_len: usize,
    /// In `Rest`: the first bytes of the unfinished line, at least one and
    /// at most `max_len`. In any other state its contents are stale (the
    /// last line completed from it, borrowed by the [`Line`] that carries
    /// it); they are replaced when a line next needs buffering.
    buf: Vec<u8>,
}

// === impl LineReader ===

impl LineReader {
    /// A reader at the start of a stream, with the line limit `max_len`.
    pub(crate) fn new(max_len: usize) -> LineReader {
        LineReader { state: LineState::Bom { matched: 0 }, max_len, buf: Vec::new() }
    }

    /// What the reader expects next.
    pub(crate) fn state(&self) -> LineState {
        self.state
    }

    /// The bytes of the unfinished line that are buffered.
    pub(crate) fn buffered(&self) -> usize {
        if self.state == LineState::Rest { self.buf.len() } else { 0 }
    }

    /// The capacity of the buffer, for memory bound tests.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The next complete line of `chunk[*pos..]`, or why there is none.
    /// Advances `*pos` past what it used; call again with the same `pos`
    /// until it returns [`Next::EndOfRead`].
    #[inline]
    pub(crate) fn next<'a>(&'a mut self, chunk: &'a [u8], pos: &mut usize) -> Next<'a> {
        // `Start` and `Rest` always have an answer; the other states read
        // what belongs to them and go on, unless the read ends first.
        loop {
            let stop = match self.state {
                LineState::Start => return self.start(chunk, pos),
                LineState::Rest => return self.rest(chunk, pos),
                LineState::AfterCr => self.after_cr(chunk, pos),
                LineState::Discarding => self.discarding(chunk, pos),
                LineState::Bom { matched } => self.bom(chunk, pos, matched),
            };
            if let Some(next) = stop {
                return next;
            }
        }
    }

    /// While an event is skipped only a blank line matters: the rest of an
    /// unfinished line, which is not blank, is discarded, not buffered.
    #[inline]
    pub(crate) fn discard_unfinished(&mut self) {
        if self.state == LineState::Rest {
            self.state = LineState::Discarding;
        }
    }

    /// Ends the stream: returns what is left of the line it ended inside,
    /// and leaves the reader as new (its buffer keeps its capacity).
    pub(crate) fn finish(&mut self) -> Tail<'_> {
        if let LineState::Bom { matched } = self.state {
            // The bytes of an incomplete byte order mark start a line.
            self.not_a_bom(matched);
        }
        let tail = match self.state {
            LineState::Rest => Tail::Line(&self.buf),
            LineState::Discarding => Tail::Discarded,
            LineState::Start | LineState::AfterCr | LineState::Bom { .. } => Tail::Line(&[]),
        };
        self.state = LineState::Bom { matched: 0 };
        tail
    }

    /// In `Start`: the line starting at `chunk[*pos]`.
    #[inline]
    fn start<'a>(&mut self, chunk: &'a [u8], pos: &mut usize) -> Next<'a> {
        let start = *pos;
        let rest = &chunk[start..];
        let len = match rest.first() {
            None => return Next::EndOfRead { unfinished: start },
            Some(b'\n' | b'\r') => {
                *pos = self.after_line_end(chunk, start);
                return Next::BlankLine;
            }
            Some(_) => match find_line_end(rest) {
                Some(len) => len,
                None => {
                    *pos = chunk.len();
                    return self.unfinished(rest, start);
                }
            },
        };
        *pos = self.after_line_end(chunk, start + len);
        if len > self.max_len {
            return Next::TooLong;
        }
        let blank_after = self.blank_line_after(chunk, pos);
        Next::Line(Line { bytes: &rest[..len], at: At::Chunk { start }, blank_after })
    }

    /// `rest`, which starts at `chunk[start]` and holds no line end, is the
    /// start of a line the read does not finish.
    fn unfinished(&mut self, rest: &[u8], start: usize) -> Next<'static> {
        if rest.len() > self.max_len {
            self.state = LineState::Discarding;
            return Next::TooLong;
        }
        self.buf.clear();
        self.buf.extend_from_slice(rest);
        self.state = LineState::Rest;
        Next::EndOfRead { unfinished: start }
    }

    /// In `Rest`: the rest of the line whose first bytes are in `buf`.
    #[inline]
    fn rest<'a>(&'a mut self, chunk: &'a [u8], pos: &mut usize) -> Next<'a> {
        debug_assert!(!self.buf.is_empty() && self.buf.len() <= self.max_len);
        let start = *pos;
        let rest = &chunk[start..];
        let found = find_line_end(rest);
        let piece = &rest[..found.unwrap_or(rest.len())];
        if self.buf.len() + piece.len() > self.max_len {
            *pos = match found {
                Some(len) => self.after_line_end(chunk, start + len),
                None => {
                    self.state = LineState::Discarding;
                    chunk.len()
                }
            };
            return Next::TooLong;
        }
        self.buf.extend_from_slice(piece);
        let Some(len) = found else {
            *pos = chunk.len();
            return Next::EndOfRead { unfinished: start };
        };
        let end = start + len;
        *pos = self.after_line_end(chunk, end);
        let blank_after = self.blank_line_after(chunk, pos);
        Next::Line(Line { bytes: &self.buf, at: At::Buffer { end }, blank_after })
    }

    /// After a line, whose line end was read up to `*pos`: reads a blank
    /// line that follows in the same read, and says whether there was one.
    ///
    /// Measured (R1 bench stream): handing the blank line over with the line
    /// that ends an event, rather than on its own, saves 7 % of the
    /// instructions (callgrind) and 3 to 4 % of the time (best of 300 runs)
    /// at 1460-byte and at event-aligned reads.
    #[inline]
    fn blank_line_after(&mut self, chunk: &[u8], pos: &mut usize) -> bool {
        // `get`: the read may end here; then the state is `AfterCr` or
        // `Start`, and the next read tells.
        let blank = matches!(chunk.get(*pos), Some(b'\n' | b'\r'));
        if blank {
            *pos = self.after_line_end(chunk, *pos);
        }
        blank
    }

    /// In `AfterCr`: swallows an LF that completes the CRLF. Returns `None`
    /// to go on, in `Start`.
    fn after_cr(&mut self, chunk: &[u8], pos: &mut usize) -> Option<Next<'static>> {
        // `get`: the read may end here.
        let Some(&byte) = chunk.get(*pos) else {
            return Some(Next::EndOfRead { unfinished: chunk.len() });
        };
        if byte == b'\n' {
            *pos += 1;
        }
        self.state = LineState::Start;
        None
    }

    /// In `Discarding`: skips to the line end. Returns `None` to go on after
    /// it.
    fn discarding(&mut self, chunk: &[u8], pos: &mut usize) -> Option<Next<'static>> {
        match find_line_end(&chunk[*pos..]) {
            Some(len) => {
                *pos = self.after_line_end(chunk, *pos + len);
                None
            }
            None => {
                *pos = chunk.len();
                Some(Next::EndOfRead { unfinished: chunk.len() })
            }
        }
    }

    /// In `Bom`: matches `chunk[*pos..]` against the rest of the byte order
    /// mark, `matched` bytes of which were seen. Returns `None` to go on
    /// with the first line.
    fn bom(&mut self, chunk: &[u8], pos: &mut usize, mut matched: u8) -> Option<Next<'static>> {
        // `get`: the mark may be complete, and the read may end inside it.
        while let Some(&want) = BOM.get(usize::from(matched)) {
            let Some(&byte) = chunk.get(*pos) else {
                self.state = LineState::Bom { matched };
                return Some(Next::EndOfRead { unfinished: chunk.len() });
            };
            if byte != want {
                return self.not_a_bom(matched);
            }
            matched += 1;
            *pos += 1;
        }
        self.state = LineState::Start;
        None
    }

    /// The `matched` bytes held back were not a byte order mark: they start
    /// the first line. Returns `None` to go on with it.
    fn not_a_bom(&mut self, matched: u8) -> Option<Next<'static>> {
        let held = &BOM[..usize::from(matched)];
        if held.is_empty() {
            self.state = LineState::Start;
            return None;
        }
        if held.len() > self.max_len {
            self.state = LineState::Discarding;
            return Some(Next::TooLong);
        }
        self.buf.clear();
        self.buf.extend_from_slice(held);
        self.state = LineState::Rest;
        None
    }

    /// `chunk[end]` is the CR or LF that ends a line: returns where the next
    /// line starts, and sets the state for it.
    #[inline]
    fn after_line_end(&mut self, chunk: &[u8], end: usize) -> usize {
        debug_assert!(matches!(chunk[end], b'\n' | b'\r'));
        // `get`: a CR may be the last byte of the read.
        match (chunk[end], chunk.get(end + 1)) {
            (b'\r', Some(b'\n')) => {
                self.state = LineState::Start;
                end + 2
            }
            (b'\r', None) => {
                self.state = LineState::AfterCr;
                end + 1
            }
            _ => {
                self.state = LineState::Start;
                end + 1
            }
        }
    }
}

/// Where the first CR or LF of `bytes` is. Short pieces are searched with a
/// plain loop: below 16 bytes `memchr2`'s set-up (CPU dispatch, then its own
/// byte loop) costs more than the search. Measured with callgrind on the R1
/// stream (the benches' input), against `memchr2` alone: −32 % instructions
/// at 10-byte reads (33.4 M → 22.8 M), −6.6 % at 1460-byte reads (2.02 M →
/// 1.89 M), −6.0 % event-aligned (1.99 M → 1.87 M); the short remainders of
/// lines cut by a read, blank lines and `data: [DONE]` are common at every
/// chunking. 8 bytes loses most of the 10-byte gain; 32 gains nothing more.
///
/// Most short pieces are the middle of a line (every read at 10-byte reads)
/// and hold no byte at or below CR at all: JSON text escapes control
/// characters. The smallest byte tells, without the loop's early exit, so
/// the compiler can compare several bytes at once; only a piece that holds
/// such a byte is searched. Measured (`scripts/callgrind.sh`, 1.25 MB of
/// the R1 stream), against the loop alone: decoder −22 % instructions at
/// 10-byte reads (21.5 M → 16.8 M), end to end −15 % (inline 30.5 M →
/// 26.1 M, reasoning_content 26.8 M → 22.8 M); 1460-byte reads +0.6 %
/// (decoder) and +0.13 % (end to end), event-aligned within 0.01 % end to
/// end. memchr's portable word-at-a-time `Two` here saved 8 % at 10-byte
/// reads, and a zero-padded 16-byte block compared whole cost 9 % more.
/// From 8 bytes on, the smallest byte is taken over the first and the last
/// eight (overlapping), two fixed-size arrays the compiler folds without a
/// loop: decoder −20 % instructions at 10-byte reads (16.8 M → 13.5 M), end
/// to end −12 % (inline 26.2 M → 23.0 M, reasoning_content 22.8 M →
/// 19.9 M), 1460-byte and event-aligned reads within 0.2 % (decoder −0.9 %
/// and −0.5 %); criterion, alternating the two builds on a loaded machine:
/// 2.80–2.92x sse-stream at 10-byte reads, against 2.38–2.41x.
#[inline]
fn find_line_end(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 16 {
        let smallest = match bytes.len() {
            n @ 8.. => {
                let head: &[u8; 8] = bytes[..8].try_into().expect("8 bytes");
                let tail: &[u8; 8] = bytes[n - 8..].try_into().expect("8 bytes");
                head.iter().zip(tail).fold(u8::MAX, |min, (&a, &b)| min.min(a).min(b))
            }
            _ => bytes.iter().fold(u8::MAX, |min, &b| min.min(b)),
        };
        if smallest > b'\r' {
            return None;
        }
        bytes.iter().position(|&b| b == b'\n' || b == b'\r')
    } else {
        memchr2(b'\n', b'\r', bytes)
    }
}
