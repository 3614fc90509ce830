//! An HTTP/1.1 response body's framing, undone incrementally: a length, the
//! chunked transfer coding, or everything until the connection closes
//! (RFC 9112, sections 6.3 and 7.1).
//!
//! The decoder owns no buffer. It is handed what has been read so far and
//! says how much of it it consumed and which part of that, if any, is body
//! data; the caller drops the consumed bytes and hands the rest (and more)
//! next time. It stops right after a run of data, so one call yields at most
//! one piece, and a piece is never copied here. Chunk extensions are read
//! and ignored; trailer fields are read and dropped (a proxy in front of an
//! SSE stream has no use for them).

use std::fmt;
use std::ops::Range;

/// How a response says where its body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length`: exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body ends when the connection closes.
    Close,
}

/// The longest chunk extension accepted on one size line, and the most
/// trailer bytes accepted in all: neither is kept, but neither may go on
/// forever.
pub(crate) const MAX_EXTENSION: usize = 16 << 10;
/// See [`MAX_EXTENSION`].
pub(crate) const MAX_TRAILERS: usize = 16 << 10;

/// A body whose framing is broken, or which ended before its framing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A chunk size line does not start with a hex digit, or has a byte
    /// that belongs neither to the size nor to an extension.
    InvalidChunkSize(u8),
    /// A chunk size with more than 16 hex digits (over `u64`).
    ChunkSizeTooLarge,
    /// A chunk size line's extension is over [`MAX_EXTENSION`] bytes.
    ExtensionTooLong,
    /// The trailer section is over [`MAX_TRAILERS`] bytes.
    TrailersTooLong,
    /// A line (size line, end of chunk data, trailer) ends otherwise than
    /// with CR LF; the byte found.
    BadLineEnd(u8),
    /// The connection closed before the body's end: this many bytes of a
    /// `Content-Length` were missing, or (`None`) a chunked body had not
    /// reached its last chunk.
    Incomplete(Option<u64>),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::InvalidChunkSize(b) => {
                write!(f, "invalid chunk size line: unexpected byte 0x{b:02x}")
            }
            DecodeError::ChunkSizeTooLarge => f.write_str("chunk size over 16 hex digits"),
            DecodeError::ExtensionTooLong => {
                write!(f, "chunk extension over {MAX_EXTENSION} bytes")
            }
            DecodeError::TrailersTooLong => write!(f, "trailers over {MAX_TRAILERS} bytes"),
            DecodeError::BadLineEnd(b) => {
                write!(f, "chunked body: expected CR LF, found byte 0x{b:02x}")
            }
            DecodeError::Incomplete(Some(left)) => {
                write!(f, "upstream closed the body {left} bytes before its content-length")
            }
            DecodeError::Incomplete(None) => {
                f.write_str("upstream closed a chunked body before its last chunk")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// What one [`Decoder::decode`] call did with its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// Bytes of the input used up (the data included).
    pub(crate) consumed: usize,
    /// Where in the input the body data is, if any was found.
    pub(crate) data: Option<Range<usize>>,
}

/// Where a decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A length-framed body with this many bytes still to come.
    Length(u64),
    /// A body that ends with the connection.
    Close,
    /// In a chunk size: the value so far and the digits read.
    Size { size: u64, digits: u8 },
    /// In the extension after a chunk size (its bytes so far).
    Extension { size: u64, len: usize },
    /// A size line's CR was read; its LF is next.
    SizeLf { size: u64 },
    /// In a chunk's data, this many bytes still to come.
    Data(u64),
    /// The CR after a chunk's data is next.
    DataCr,
    /// The LF after a chunk's data is next.
    DataLf,
    /// In the trailer section (after the last chunk): bytes of the current
    /// line, bytes of the section so far.
    Trailer { line: usize, total: usize },
    /// A trailer line's (or the section's closing) CR was read.
    TrailerLf { line: usize, total: usize },
    /// The body ended cleanly.
    Done,
}

/// Decodes one response body; see the module's documentation.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    state: State,
}

impl Decoder {
    pub(crate) fn new(framing: Framing) -> Decoder {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Size { size: 0, digits: 0 },
            Framing::Close => State::Close,
        };
        Decoder { state }
    }

    /// Whether the body has ended cleanly (nothing after it is consumed).
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The body's bytes still expected, when its framing says.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// Consumes framing from `input` up to and including the first run of
    /// body data, or all of it. An error leaves the decoder where it was.
    pub(crate) fn decode(&mut self, input: &[u8]) -> Result<Step, DecodeError> {
        let mut at = 0;
        while at < input.len() {
            let left = (input.len() - at) as u64;
            let run = match self.state {
                State::Done => break,
                State::Close => left,
                State::Length(n) | State::Data(n) => n.min(left),
                _ => {
                    self.state = self.byte(input[at])?;
                    at += 1;
                    continue;
                }
            };
            self.state = match self.state {
                State::Length(n) if n == run => State::Done,
                State::Length(n) => State::Length(n - run),
                State::Data(n) if n == run => State::DataCr,
                State::Data(n) => State::Data(n - run),
                other => other,
            };
            let data = at..at + run as usize;
            return Ok(Step { consumed: data.end, data: Some(data) });
        }
        Ok(Step { consumed: at, data: None })
    }

    /// The connection closed: fine only where the body may end there.
    pub(crate) fn eof(&mut self) -> Result<(), DecodeError> {
        match self.state {
            State::Close | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            State::Length(left) => Err(DecodeError::Incomplete(Some(left))),
            _ => Err(DecodeError::Incomplete(None)),
        }
    }

    /// The state after one byte of chunked framing.
    fn byte(&self, b: u8) -> Result<State, DecodeError> {
        Ok(match self.state {
            State::Size { size, digits } => match (b as char).to_digit(16) {
                Some(_) if digits == 16 => return Err(DecodeError::ChunkSizeTooLarge),
                Some(v) => State::Size { size: size << 4 | u64::from(v), digits: digits + 1 },
                None if digits == 0 => return Err(DecodeError::InvalidChunkSize(b)),
                None => match b {
                    b'\r' => State::SizeLf { size },
                    b';' | b' ' | b'\t' => State::Extension { size, len: 1 },
                    _ => return Err(DecodeError::InvalidChunkSize(b)),
                },
            },
            State::Extension { size, len } => match b {
                b'\r' => State::SizeLf { size },
                b'\n' => return Err(DecodeError::BadLineEnd(b)),
                _ if len == MAX_EXTENSION => return Err(DecodeError::ExtensionTooLong),
                _ => State::Extension { size, len: len + 1 },
            },
            State::SizeLf { size } => match b {
                b'\n' if size == 0 => State::Trailer { line: 0, total: 0 },
                b'\n' => State::Data(size),
                _ => return Err(DecodeError::BadLineEnd(b)),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                _ => return Err(DecodeError::BadLineEnd(b)),
            },
            State::DataLf => match b {
                b'\n' => State::Size { size: 0, digits: 0 },
                _ => return Err(DecodeError::BadLineEnd(b)),
            },
            State::Trailer { line, total } => match b {
                b'\r' => State::TrailerLf { line, total },
                b'\n' => return Err(DecodeError::BadLineEnd(b)),
                _ if total == MAX_TRAILERS => return Err(DecodeError::TrailersTooLong),
                _ => State::Trailer { line: line + 1, total: total + 1 },
            },
            State::TrailerLf { line, total } => match b {
                b'\n' if line == 0 => State::Done,
                b'\n' => State::Trailer { line: 0, total },
                _ => return Err(DecodeError::BadLineEnd(b)),
            },
            State::Length(_) | State::Close | State::Data(_) | State::Done => {
                unreachable!("data states are not read a byte at a time")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` as a reader would: what the decoder did not consume
    /// is handed again with the next piece. Returns the data and whether
    /// the body ended (after `eof` when `closed`).
    fn feed(
        framing: Framing,
        pieces: &[&[u8]],
        closed: bool,
    ) -> Result<(Vec<u8>, bool), DecodeError> {
        let mut decoder = Decoder::new(framing);
        let mut pending = Vec::new();
        let mut out = Vec::new();
        for piece in pieces {
            pending.extend_from_slice(piece);
            loop {
                let step = decoder.decode(&pending)?;
                if let Some(data) = &step.data {
                    assert!(!data.is_empty(), "an empty data run");
                    out.extend_from_slice(&pending[data.clone()]);
                }
                pending.drain(..step.consumed);
                if step.data.is_none() || pending.is_empty() {
                    break;
                }
            }
        }
        if closed {
            decoder.eof()?;
        }
        Ok((out, decoder.is_done()))
    }

    /// `input` fed whole, one byte at a time, and split in two at every
    /// offset: the same result every time; that result.
    fn every_chunking(
        framing: Framing,
        input: &[u8],
        closed: bool,
    ) -> Result<(Vec<u8>, bool), DecodeError> {
        let whole = feed(framing, &[input], closed);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed(framing, &bytes, closed), whole, "byte at a time");
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(feed(framing, &[a, b], closed), whole, "split at {cut}");
        }
        whole
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let input = b"5\r\nhello\r\n7;name=\"v\"\r\n, world\r\n1A \t; x\r\n\
                      abcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\ny: 2\r\n\r\n";
        let (data, done) = every_chunking(Framing::Chunked, input, false).unwrap();
        assert_eq!(data, b"hello, worldabcdefghijklmnopqrstuvwxyz");
        assert!(done);
    }

    #[test]
    fn chunked_body_ends_at_its_last_chunk_not_after() {
        // What follows the body belongs to the next response.
        let input = b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n";
        let mut decoder = Decoder::new(Framing::Chunked);
        let step = decoder.decode(input).unwrap();
        assert_eq!(step, Step { consumed: 6, data: Some(3..6) });
        let step = decoder.decode(&input[6..]).unwrap();
        assert_eq!(step, Step { consumed: 7, data: None });
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(b"more").unwrap(), Step { consumed: 0, data: None });
    }

    #[test]
    fn upper_and_lower_case_hex_and_leading_zeros() {
        let input = b"00A\r\n0123456789\r\n0b\r\nabcdefghijk\r\n000\r\n\r\n";
        let (data, done) = every_chunking(Framing::Chunked, input, false).unwrap();
        assert_eq!(data, b"0123456789abcdefghijk");
        assert!(done);
    }

    #[test]
    fn bad_chunk_sizes_are_typed_errors() {
        let cases: [(&[u8], DecodeError); 7] = [
            (b"\r\n", DecodeError::InvalidChunkSize(b'\r')),
            (b"g\r\n", DecodeError::InvalidChunkSize(b'g')),
            (b"-1\r\n", DecodeError::InvalidChunkSize(b'-')),
            (b"5x\r\n", DecodeError::InvalidChunkSize(b'x')),
            (b";ext\r\n", DecodeError::InvalidChunkSize(b';')),
            (b"10000000000000000\r\n", DecodeError::ChunkSizeTooLarge),
            (b"5\n", DecodeError::InvalidChunkSize(b'\n')),
        ];
        for (input, error) in cases {
            assert_eq!(every_chunking(Framing::Chunked, input, false), Err(error), "{input:?}");
        }
        // Sixteen digits still fit.
        let mut d = Decoder::new(Framing::Chunked);
        assert!(d.decode(b"ffffffffffffffff\r\n").is_ok());
    }

    #[test]
    fn bad_line_ends_are_typed_errors() {
        let cases: [(&[u8], DecodeError); 5] = [
            (b"3\rabc", DecodeError::BadLineEnd(b'a')),
            (b"3\r\nabcX", DecodeError::BadLineEnd(b'X')),
            (b"3\r\nabc\rX", DecodeError::BadLineEnd(b'X')),
            (b"3;ext\n", DecodeError::BadLineEnd(b'\n')),
            (b"0\r\nx: 1\n", DecodeError::BadLineEnd(b'\n')),
        ];
        for (input, error) in cases {
            assert_eq!(every_chunking(Framing::Chunked, input, false), Err(error), "{input:?}");
        }
    }

    #[test]
    fn data_before_an_error_is_yielded_first() {
        let input = b"3\r\nabc\r\nzz";
        let mut decoder = Decoder::new(Framing::Chunked);
        let step = decoder.decode(input).unwrap();
        assert_eq!(&input[step.data.unwrap()], b"abc");
        assert_eq!(
            decoder.decode(&input[step.consumed..]),
            Err(DecodeError::InvalidChunkSize(b'z'))
        );
    }

    #[test]
    fn extensions_and_trailers_are_bounded() {
        let mut long = b"1;".to_vec();
        long.extend(std::iter::repeat_n(b'e', MAX_EXTENSION));
        long.extend_from_slice(b"\r\n");
        assert_eq!(feed(Framing::Chunked, &[&long], false), Err(DecodeError::ExtensionTooLong));
        let mut fits = b"1;".to_vec();
        fits.extend(std::iter::repeat_n(b'e', MAX_EXTENSION - 1));
        fits.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert_eq!(feed(Framing::Chunked, &[&fits], false), Ok((b"x".to_vec(), true)));

        // Trailer bytes are counted without their line ends.
        let trailers = |lines: usize| {
            let mut t = b"0\r\n".to_vec();
            for _ in 0..lines {
                t.extend_from_slice(b"x: 12345\r\n");
            }
            t.extend_from_slice(b"\r\n");
            t
        };
        let (over, fits) = (trailers(MAX_TRAILERS / 8 + 1), trailers(MAX_TRAILERS / 8));
        assert_eq!(feed(Framing::Chunked, &[&over], false), Err(DecodeError::TrailersTooLong));
        assert_eq!(feed(Framing::Chunked, &[&fits], false), Ok((Vec::new(), true)));
    }

    #[test]
    fn a_chunked_body_cut_short_is_incomplete() {
        for input in
            [&b""[..], b"5\r\nhel", b"5\r\nhello\r\n", b"5\r\nhello\r\n0\r\n", b"0\r\nx: 1\r\n"]
        {
            assert_eq!(
                every_chunking(Framing::Chunked, input, true),
                Err(DecodeError::Incomplete(None)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn length_framed_body() {
        let (data, done) = every_chunking(Framing::Length(11), b"hello world", false).unwrap();
        assert_eq!(data, b"hello world");
        assert!(done);
        // Bytes past the length are not the body's.
        let mut decoder = Decoder::new(Framing::Length(3));
        assert_eq!(decoder.decode(b"abcdef").unwrap(), Step { consumed: 3, data: Some(0..3) });
        assert!(decoder.is_done());
        assert_eq!(
            every_chunking(Framing::Length(11), b"hello", true),
            Err(DecodeError::Incomplete(Some(6)))
        );
        assert!(Decoder::new(Framing::Length(0)).is_done());
    }

    #[test]
    fn close_delimited_body_ends_with_the_connection() {
        let (data, done) = every_chunking(Framing::Close, b"all of it\r\n0\r\n\r\n", true).unwrap();
        assert_eq!(data, b"all of it\r\n0\r\n\r\n");
        assert!(done);
        let (_, done) = every_chunking(Framing::Close, b"so far", false).unwrap();
        assert!(!done, "not over until the connection closes");
    }
}
