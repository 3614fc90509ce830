//! Decoding a `Content-Encoding` on the parse side: the forwarded bytes
//! stay as they came, the copy is decoded before it is parsed.
//!
//! Each decoder is pushed one piece at a time and writes into one output
//! buffer of [`DECODE_BUF`] bytes, handed on whenever it fills, so a piece
//! that expands a thousandfold never makes a larger buffer. What a stream
//! may decode in all is bounded ([`MAX_DECODED_BYTES`]): past it decoding
//! stops with [`DecodeError::TooLarge`]. Decoder state is bounded too: 32
//! KiB of window for gzip and deflate, at most 8 MiB for zstd (the window
//! RFC 9659 asks an HTTP decoder to accept; a frame asking more is refused)
//! and at most 16 MiB for br (RFC 7932's largest window; large-window
//! streams are refused), grown only as output comes.

use std::fmt;
use std::io;

/// Default bound on the bytes one stream may decode to (64 MiB): a
/// compression bomb costs at most this much parsing, and an error says
/// where it was cut.
pub const MAX_DECODED_BYTES: u64 = 64 << 20;

/// Size of the buffer decoded bytes are written into before they are
/// parsed: the size of the reads the pipeline gets from an encoded body.
pub const DECODE_BUF: usize = 16 * 1024;

/// Longest token of an encoding this crate does not decode kept in the
/// error naming it.
const MAX_CODING_NAME: usize = 64;

/// How a body is encoded: its HTTP `Content-Encoding`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ContentEncoding {
    /// Not encoded (no header, or `identity`).
    #[default]
    Identity,
    /// `gzip` (or `x-gzip`): RFC 1952, members back to back.
    Gzip,
    /// `deflate`: a zlib stream (RFC 1950), or a raw deflate one as some
    /// servers send it.
    Deflate,
    /// `br`: Brotli (RFC 7932).
    Brotli,
    /// `zstd`: Zstandard (RFC 8878, a window of at most 8 MiB as RFC 9659
    /// asks of HTTP).
    Zstd,
    /// Anything else, or several codings applied in turn (`gzip, br`): not
    /// decoded; the recording says so ([`DecodeError::Unsupported`]).
    Other(String),
}

impl ContentEncoding {
    /// Reads a `Content-Encoding` header value (codings separated by
    /// commas, case-insensitive; `identity` is no coding). Several header
    /// lines are one list: join them with `,`.
    pub fn parse(value: &str) -> ContentEncoding {
        let mut codings = value
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
        let Some(first) = codings.next() else { return ContentEncoding::Identity };
        if codings.next().is_some() {
            return ContentEncoding::Other(cut(value.trim()));
        }
        match first.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => ContentEncoding::Gzip,
            "deflate" => ContentEncoding::Deflate,
            "br" => ContentEncoding::Brotli,
            "zstd" => ContentEncoding::Zstd,
            _ => ContentEncoding::Other(cut(first)),
        }
    }

    /// The coding's name (`identity`, `gzip`, `deflate`, `br`, `zstd`, or
    /// the other one as it came).
    pub fn as_str(&self) -> &str {
        match self {
            ContentEncoding::Identity => "identity",
            ContentEncoding::Gzip => "gzip",
            ContentEncoding::Deflate => "deflate",
            ContentEncoding::Brotli => "br",
            ContentEncoding::Zstd => "zstd",
            ContentEncoding::Other(name) => name,
        }
    }
}

impl fmt::Display for ContentEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// At most [`MAX_CODING_NAME`] bytes of a name, cut at a character boundary.
fn cut(name: &str) -> String {
    let mut end = name.len().min(MAX_CODING_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// Why a body (from some point on) could not be decoded. Nothing after that
/// point was parsed; the recording carries an
/// [`ErrorKind::ContentEncoding`](thinktee_pipeline::ErrorKind::ContentEncoding)
/// error saying this.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// An encoding this crate does not decode.
    Unsupported {
        /// The encoding, as the header named it.
        coding: String,
    },
    /// An encoding this build leaves out (its cargo feature is off).
    NotBuilt {
        /// The encoding.
        coding: &'static str,
        /// The feature of `thinktee-tee` that decodes it.
        feature: &'static str,
    },
    /// The encoded bytes are not valid for the encoding, or stop inside it.
    Corrupt {
        /// The encoding.
        coding: &'static str,
        /// Bytes decoded before the fault.
        decoded: u64,
        /// What the decoder said.
        source: io::Error,
    },
    /// The body decodes to more than the bound allows: the first `limit`
    /// bytes were parsed.
    TooLarge {
        /// The bound ([`MAX_DECODED_BYTES`] unless set otherwise).
        limit: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Unsupported { coding } => {
                write!(f, "content encoding `{coding}` is not decoded: the body was not parsed")
            }
            DecodeError::NotBuilt { coding, feature } => write!(
                f,
                "content encoding `{coding}` is not decoded by this build (feature `{feature}` is off): the body was not parsed"
            ),
            DecodeError::Corrupt { coding, decoded, .. } => {
                write!(f, "{coding} body is corrupt after {decoded} decoded bytes")
            }
            DecodeError::TooLarge { limit } => {
                write!(f, "body decodes to more than {limit} bytes: parsing stopped there")
            }
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Corrupt { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Decodes one stream's pieces into bounded output.
pub(crate) struct Decoding {
    codec: Codec,
    out: Box<[u8]>,
    decoded: u64,
    max: u64,
}

impl fmt::Debug for Decoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoding")
            .field("coding", &self.codec.name())
            .field("decoded", &self.decoded)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Decoding {
    /// A decoder for `encoding` (`None` for identity), or why there is none.
    pub(crate) fn new(
        encoding: &ContentEncoding,
        max: u64,
    ) -> Result<Option<Decoding>, DecodeError> {
        let codec = match encoding {
            ContentEncoding::Identity => return Ok(None),
            ContentEncoding::Other(coding) => {
                return Err(DecodeError::Unsupported { coding: coding.clone() });
            }
            ContentEncoding::Gzip => Codec::gzip()?,
            ContentEncoding::Deflate => Codec::deflate()?,
            ContentEncoding::Brotli => Codec::brotli()?,
            ContentEncoding::Zstd => Codec::zstd()?,
        };
        Ok(Some(Decoding { codec, out: vec![0; DECODE_BUF].into_boxed_slice(), decoded: 0, max }))
    }

    /// Bytes decoded so far.
    pub(crate) fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Decodes `input`, handing each filled stretch of output to `out`
    /// (which says whether it wants more). Stops at the first error, or
    /// when `out` wants no more; past the bound it hands on only what fits
    /// and fails with [`DecodeError::TooLarge`].
    pub(crate) fn feed(
        &mut self,
        mut input: &[u8],
        mut out: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), DecodeError> {
        loop {
            let (read, written) = match self.codec.step(input, &mut self.out) {
                Ok(step) => step,
                Err(source) => {
                    return Err(DecodeError::Corrupt {
                        coding: self.codec.name(),
                        decoded: self.decoded,
                        source,
                    });
                }
            };
            input = &input[read..];
            if written > 0 {
                let room = self.max - self.decoded;
                let take = (written as u64).min(room) as usize;
                self.decoded += take as u64;
                if take > 0 && !out(&self.out[..take]) {
                    return Ok(());
                }
                if take < written {
                    return Err(DecodeError::TooLarge { limit: self.max });
                }
            }
            // No progress: the decoder needs more input than is left.
            if read == 0 && written == 0 {
                return Ok(());
            }
        }
    }

    /// The input ended: an error if it stopped inside the encoding.
    pub(crate) fn finish(&mut self) -> Result<(), DecodeError> {
        if self.codec.at_end() {
            return Ok(());
        }
        Err(DecodeError::Corrupt {
            coding: self.codec.name(),
            decoded: self.decoded,
            source: io::Error::new(io::ErrorKind::UnexpectedEof, "the body ended inside it"),
        })
    }
}

/// One decoder: [`Codec::step`] reads some input and writes some output.
enum Codec {
    #[cfg(feature = "gzip")]
    Gzip(gzip::Gzip),
    #[cfg(feature = "gzip")]
    Deflate(gzip::Deflate),
    #[cfg(feature = "br")]
    Brotli(brotli::Brotli),
    #[cfg(feature = "zstd")]
    Zstd(zstd::Zstd),
}

impl Codec {
    fn gzip() -> Result<Codec, DecodeError> {
        #[cfg(feature = "gzip")]
        return Ok(Codec::Gzip(gzip::Gzip::new()));
        #[cfg(not(feature = "gzip"))]
        Err(DecodeError::NotBuilt { coding: "gzip", feature: "gzip" })
    }

    fn deflate() -> Result<Codec, DecodeError> {
        #[cfg(feature = "gzip")]
        return Ok(Codec::Deflate(gzip::Deflate::new()));
        #[cfg(not(feature = "gzip"))]
        Err(DecodeError::NotBuilt { coding: "deflate", feature: "gzip" })
    }

    fn brotli() -> Result<Codec, DecodeError> {
        #[cfg(feature = "br")]
        return Ok(Codec::Brotli(brotli::Brotli::new()));
        #[cfg(not(feature = "br"))]
        Err(DecodeError::NotBuilt { coding: "br", feature: "br" })
    }

    fn zstd() -> Result<Codec, DecodeError> {
        #[cfg(feature = "zstd")]
        return zstd::Zstd::new().map(Codec::Zstd).map_err(|source| DecodeError::Corrupt {
            coding: "zstd",
            decoded: 0,
            source,
        });
        #[cfg(not(feature = "zstd"))]
        Err(DecodeError::NotBuilt { coding: "zstd", feature: "zstd" })
    }

    fn name(&self) -> &'static str {
        match *self {
            #[cfg(feature = "gzip")]
            Codec::Gzip(_) => "gzip",
            #[cfg(feature = "gzip")]
            Codec::Deflate(_) => "deflate",
            #[cfg(feature = "br")]
            Codec::Brotli(_) => "br",
            #[cfg(feature = "zstd")]
            Codec::Zstd(_) => "zstd",
        }
    }

    /// Reads from `input` and writes into `out`: (bytes read, bytes
    /// written). (0, 0) when it needs more input.
    #[allow(unused_variables)]
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> io::Result<(usize, usize)> {
        match *self {
            #[cfg(feature = "gzip")]
            Codec::Gzip(ref mut d) => d.step(input, out),
            #[cfg(feature = "gzip")]
            Codec::Deflate(ref mut d) => d.step(input, out),
            #[cfg(feature = "br")]
            Codec::Brotli(ref mut d) => d.step(input, out),
            #[cfg(feature = "zstd")]
            Codec::Zstd(ref mut d) => d.step(input, out),
        }
    }

    /// Whether the input so far ends where the encoding may end.
    fn at_end(&self) -> bool {
        match *self {
            #[cfg(feature = "gzip")]
            Codec::Gzip(ref d) => d.at_end(),
            #[cfg(feature = "gzip")]
            Codec::Deflate(ref d) => d.at_end(),
            #[cfg(feature = "br")]
            Codec::Brotli(ref d) => d.at_end(),
            #[cfg(feature = "zstd")]
            Codec::Zstd(ref d) => d.at_end(),
        }
    }
}

#[cfg(any(feature = "gzip", feature = "br"))]
fn corrupt(message: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(feature = "gzip")]
mod gzip {
    //! gzip (RFC 1952) and HTTP's deflate (zlib, RFC 1950, or raw deflate,
    //! RFC 1951) over flate2's raw inflater.

    use std::io;

    use flate2::{Crc, Decompress, FlushDecompress, Status};

    use super::corrupt;

    /// Longest gzip header accepted (its optional name, comment and extra
    /// field have no bound of their own).
    const MAX_HEADER: usize = 64 * 1024;

    /// Runs `inflate` once: (bytes read, bytes written, stream ended).
    fn inflate(
        inflate: &mut Decompress,
        input: &[u8],
        out: &mut [u8],
    ) -> io::Result<(usize, usize, bool)> {
        let (in0, out0) = (inflate.total_in(), inflate.total_out());
        let status = inflate.decompress(input, out, FlushDecompress::None).map_err(corrupt)?;
        let read = (inflate.total_in() - in0) as usize;
        let written = (inflate.total_out() - out0) as usize;
        Ok((read, written, status == Status::StreamEnd))
    }

    /// Where a gzip stream is: what comes next.
    enum Next {
        /// A member's header (its bytes so far).
        Header(Vec<u8>),
        /// Its deflate data.
        Body(Box<Decompress>),
        /// Its CRC-32 and size (the bytes so far).
        Trailer(Vec<u8>),
    }

    pub(super) struct Gzip {
        next: Next,
        crc: Crc,
        /// A member ended, and nothing of another has come.
        between: bool,
    }

    impl Gzip {
        pub(super) fn new() -> Gzip {
            Gzip { next: Next::Header(Vec::new()), crc: Crc::new(), between: true }
        }

        pub(super) fn at_end(&self) -> bool {
            self.between
        }

        pub(super) fn step(&mut self, input: &[u8], out: &mut [u8]) -> io::Result<(usize, usize)> {
            if input.is_empty() && !matches!(self.next, Next::Body(_)) {
                return Ok((0, 0));
            }
            match &mut self.next {
                Next::Header(head) => {
                    let before = head.len();
                    let take = input.len().min(MAX_HEADER + 1 - before);
                    head.extend_from_slice(&input[..take]);
                    self.between = false;
                    match header_len(head)? {
                        Some(len) => {
                            self.next = Next::Body(Box::new(Decompress::new(false)));
                            self.crc.reset();
                            Ok((len - before, 0))
                        }
                        None if head.len() > MAX_HEADER => {
                            Err(corrupt(format!("gzip header over {MAX_HEADER} bytes")))
                        }
                        None => Ok((take, 0)),
                    }
                }
                Next::Body(body) => {
                    let (read, written, end) = inflate(body, input, out)?;
                    self.crc.update(&out[..written]);
                    if end {
                        self.next = Next::Trailer(Vec::with_capacity(8));
                    }
                    Ok((read, written))
                }
                Next::Trailer(trailer) => {
                    let take = input.len().min(8 - trailer.len());
                    trailer.extend_from_slice(&input[..take]);
                    if trailer.len() == 8 {
                        let crc =
                            u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
                        let size =
                            u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
                        if crc != self.crc.sum() || size != self.crc.amount() {
                            return Err(corrupt("gzip checksum or length does not match the data"));
                        }
                        self.next = Next::Header(Vec::new());
                        self.between = true;
                    }
                    Ok((take, 0))
                }
            }
        }
    }

    /// The length of the gzip header at the start of `head`, once it is
    /// all there.
    fn header_len(head: &[u8]) -> io::Result<Option<usize>> {
        const FHCRC: u8 = 2;
        const FEXTRA: u8 = 4;
        const FNAME: u8 = 8;
        const FCOMMENT: u8 = 16;
        if head.len() >= 2 && head[..2] != [0x1f, 0x8b] {
            return Err(corrupt("not a gzip member (no 1f 8b magic)"));
        }
        if head.len() >= 3 && head[2] != 8 {
            return Err(corrupt("gzip member not compressed with deflate"));
        }
        if head.len() < 10 {
            return Ok(None);
        }
        let flags = head[3];
        let mut at = 10;
        if flags & FEXTRA != 0 {
            let Some(len) = head.get(at..at + 2) else { return Ok(None) };
            at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
        }
        for flag in [FNAME, FCOMMENT] {
            if flags & flag != 0 {
                let Some(rest) = head.get(at..) else { return Ok(None) };
                let Some(nul) = rest.iter().position(|&b| b == 0) else { return Ok(None) };
                at += nul + 1;
            }
        }
        if flags & FHCRC != 0 {
            at += 2;
        }
        Ok((head.len() >= at).then_some(at))
    }

    /// HTTP's deflate: zlib-wrapped as the spec says, or raw as some
    /// servers send it (told apart by the zlib header check).
    pub(super) enum Deflate {
        /// Not yet known: the first byte, if it came alone.
        Sniffing(Option<u8>),
        Inflating {
            state: Box<Decompress>,
            ended: bool,
        },
    }

    impl Deflate {
        pub(super) fn new() -> Deflate {
            Deflate::Sniffing(None)
        }

        pub(super) fn at_end(&self) -> bool {
            matches!(self, Deflate::Inflating { ended: true, .. } | Deflate::Sniffing(None))
        }

        pub(super) fn step(&mut self, input: &[u8], out: &mut [u8]) -> io::Result<(usize, usize)> {
            match self {
                Deflate::Sniffing(held) => {
                    let (first, second) = match (*held, input) {
                        (_, []) => return Ok((0, 0)),
                        (None, [only]) => {
                            *self = Deflate::Sniffing(Some(*only));
                            return Ok((1, 0));
                        }
                        (None, [first, second, ..]) => (*first, *second),
                        (Some(first), [second, ..]) => (first, *second),
                    };
                    // RFC 1950: method 8, a window of at most 32 KiB, and a
                    // check making the first two bytes a multiple of 31.
                    let zlib = first & 0x0f == 8
                        && first >> 4 <= 7
                        && (u16::from(first) << 8 | u16::from(second)) % 31 == 0;
                    let mut state = Box::new(Decompress::new(zlib));
                    if held.is_some() && inflate(&mut state, &[first], out)?.0 != 1 {
                        return Err(corrupt("the deflate stream could not start"));
                    }
                    let (read, written, ended) = inflate(&mut state, input, out)?;
                    *self = Deflate::Inflating { state, ended };
                    Ok((read, written))
                }
                Deflate::Inflating { ended: true, .. } if !input.is_empty() => {
                    Err(corrupt("bytes after the end of the deflate stream"))
                }
                Deflate::Inflating { state, ended } => {
                    let (read, written, end) = inflate(state, input, out)?;
                    *ended |= end;
                    Ok((read, written))
                }
            }
        }
    }
}

#[cfg(feature = "br")]
mod brotli {
    //! Brotli over brotli-decompressor's streaming state machine.

    use std::io;

    use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};

    use super::corrupt;

    pub(super) struct Brotli {
        state: Box<BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>>,
        started: bool,
        ended: bool,
    }

    impl Brotli {
        pub(super) fn new() -> Brotli {
            // Strict: RFC 7932's windows only (at most 16 MiB); the
            // large-window extension would let a few bytes ask for 1 GiB.
            let state = BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            );
            Brotli { state: Box::new(state), started: false, ended: false }
        }

        pub(super) fn at_end(&self) -> bool {
            self.ended || !self.started
        }

        pub(super) fn step(&mut self, input: &[u8], out: &mut [u8]) -> io::Result<(usize, usize)> {
            self.started |= !input.is_empty();
            if self.ended {
                return match input.is_empty() {
                    true => Ok((0, 0)),
                    false => Err(corrupt("bytes after the end of the brotli stream")),
                };
            }
            let (mut available_in, mut input_offset) = (input.len(), 0);
            let (mut available_out, mut output_offset, mut total) = (out.len(), 0, 0);
            let result = BrotliDecompressStream(
                &mut available_in,
                &mut input_offset,
                input,
                &mut available_out,
                &mut output_offset,
                out,
                &mut total,
                &mut self.state,
            );
            match result {
                BrotliResult::ResultFailure => Err(corrupt("invalid brotli data")),
                BrotliResult::ResultSuccess => {
                    self.ended = true;
                    Ok((input_offset, output_offset))
                }
                BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {
                    Ok((input_offset, output_offset))
                }
            }
        }
    }
}

#[cfg(feature = "zstd")]
mod zstd {
    //! Zstandard over the zstd crate's streaming decoder.

    use std::io;

    use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

    /// The largest window accepted: 8 MiB (RFC 9659 §3: HTTP decoders
    /// need not accept more).
    const WINDOW_LOG_MAX: u32 = 23;

    pub(super) struct Zstd {
        decoder: Decoder<'static>,
        /// The last frame ended and nothing of another has come.
        between: bool,
    }

    impl Zstd {
        pub(super) fn new() -> io::Result<Zstd> {
            let mut decoder = Decoder::new()?;
            decoder.set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))?;
            Ok(Zstd { decoder, between: true })
        }

        pub(super) fn at_end(&self) -> bool {
            self.between
        }

        pub(super) fn step(&mut self, input: &[u8], out: &mut [u8]) -> io::Result<(usize, usize)> {
            let mut input_buffer = InBuffer::around(input);
            let mut output = OutBuffer::around(out);
            let hint = self.decoder.run(&mut input_buffer, &mut output)?;
            let (read, written) = (input_buffer.pos(), output.pos());
            if read > 0 || written > 0 {
                // 0: a frame just ended, and all of its output is out.
                self.between = hint == 0;
            }
            Ok((read, written))
        }
    }
}

#[cfg(all(test, feature = "gzip", feature = "br", feature = "zstd"))]
mod tests {
    use std::io::Write;

    use super::*;

    /// A stream with a tag cut across events (what the tests decode to).
    const BODY: &[u8] =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>hm</th\"}}]}\n\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ink>Hi\"}}]}\n\ndata: [DONE]\n\n";

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ::zstd::encode_all(data, 3).unwrap()
    }

    /// Decodes `pieces` in turn: what came out, or the error.
    fn decode(
        encoding: &ContentEncoding,
        pieces: &[&[u8]],
        max: u64,
    ) -> (Vec<u8>, Result<(), DecodeError>) {
        let mut decoding = Decoding::new(encoding, max).unwrap().unwrap();
        let mut out = Vec::new();
        for piece in pieces {
            if let Err(e) = decoding.feed(piece, |d| {
                out.extend_from_slice(d);
                true
            }) {
                return (out, Err(e));
            }
        }
        let end = decoding.finish();
        (out, end)
    }

    fn encodings() -> Vec<(ContentEncoding, Vec<u8>)> {
        vec![
            (ContentEncoding::Gzip, gzip(BODY)),
            (ContentEncoding::Gzip, [gzip(&BODY[..50]), gzip(&BODY[50..])].concat()),
            (ContentEncoding::Deflate, zlib(BODY)),
            (ContentEncoding::Deflate, raw_deflate(BODY)),
            (ContentEncoding::Zstd, zstd(BODY)),
            (ContentEncoding::Zstd, [zstd(&BODY[..50]), zstd(&BODY[50..])].concat()),
            (ContentEncoding::Brotli, fixture("stream.sse.br")),
        ]
    }

    #[test]
    fn every_encoding_decodes_the_same_whole_byte_by_byte_and_split_anywhere() {
        for (encoding, encoded) in encodings() {
            let (whole, end) = decode(&encoding, &[&encoded], MAX_DECODED_BYTES);
            assert!(end.is_ok(), "{encoding}: {end:?}");
            assert_eq!(whole, BODY, "{encoding} whole");
            let bytes: Vec<&[u8]> = encoded.chunks(1).collect();
            let (one_by_one, end) = decode(&encoding, &bytes, MAX_DECODED_BYTES);
            assert!(end.is_ok(), "{encoding}: {end:?}");
            assert_eq!(one_by_one, BODY, "{encoding} byte by byte");
            for at in 0..=encoded.len() {
                let (a, b) = encoded.split_at(at);
                let (split, end) = decode(&encoding, &[a, b], MAX_DECODED_BYTES);
                assert!(end.is_ok(), "{encoding} split at {at}: {end:?}");
                assert_eq!(split, BODY, "{encoding} split at {at}");
            }
        }
    }

    #[test]
    fn a_body_cut_inside_its_encoding_is_corrupt_at_the_end() {
        for (encoding, encoded) in encodings() {
            let cut = &encoded[..encoded.len() - 3];
            let (_, end) = decode(&encoding, &[cut], MAX_DECODED_BYTES);
            assert!(
                matches!(end, Err(DecodeError::Corrupt { source, .. }) if source.kind() == io::ErrorKind::UnexpectedEof
                    || source.kind() == io::ErrorKind::InvalidData),
                "{encoding}"
            );
        }
    }

    #[test]
    fn garbage_is_corrupt_not_decoded() {
        let garbage = b"data: this was never gzip\n\n";
        for encoding in [ContentEncoding::Gzip, ContentEncoding::Zstd, ContentEncoding::Brotli] {
            let (out, end) = decode(&encoding, &[garbage], MAX_DECODED_BYTES);
            assert!(matches!(end, Err(DecodeError::Corrupt { .. })), "{encoding}: {end:?}");
            assert!(out.len() < garbage.len(), "{encoding}: {out:?}");
        }
        // A gzip member whose checksum does not match its data.
        let mut bad = gzip(BODY);
        let crc = bad.len() - 8;
        bad[crc] ^= 1;
        let (_, end) = decode(&ContentEncoding::Gzip, &[&bad], MAX_DECODED_BYTES);
        assert!(matches!(end, Err(DecodeError::Corrupt { .. })), "{end:?}");
    }

    #[test]
    fn an_empty_body_is_no_error() {
        for (encoding, _) in encodings() {
            let (out, end) = decode(&encoding, &[], MAX_DECODED_BYTES);
            assert!(out.is_empty() && end.is_ok(), "{encoding}: {end:?}");
        }
    }

    #[test]
    fn hostile_a_compression_bomb_stops_at_the_bound_in_bounded_memory() {
        const MAX: u64 = 1 << 20;
        let x = vec![b'x'; 16 << 20];
        // Each with the most heap it may hold meanwhile, whatever the bomb
        // expands to: gzip's and deflate's 32 KiB window and tables;
        // brotli's ring buffer, up to the stream's window (4 MiB here);
        // zstd's is allocated by its C library and not counted here.
        let bombs = [
            (ContentEncoding::Gzip, gzip(&x), 64 << 10),
            (ContentEncoding::Deflate, zlib(&x), 64 << 10),
            (ContentEncoding::Zstd, zstd(&x), 0),
            // 64 MiB of `x`, window 4 MiB.
            (ContentEncoding::Brotli, fixture("64mib-of-x.br"), (4 << 20) + (64 << 10)),
        ];
        drop(x);
        for (encoding, bomb, held_at_most) in bombs {
            let mut decoding = Decoding::new(&encoding, MAX).unwrap().unwrap();
            let mut handed = 0u64;
            let mut largest = 0;
            let (result, peak) = thinktee_testkit::peak_bytes(|| {
                let mut result = Ok(());
                for piece in bomb.chunks(1460) {
                    result = decoding.feed(piece, |d| {
                        handed += d.len() as u64;
                        largest = largest.max(d.len());
                        true
                    });
                    if result.is_err() {
                        break;
                    }
                }
                result
            });
            assert!(matches!(result, Err(DecodeError::TooLarge { limit: MAX })), "{encoding}");
            // Exactly the bound was parsed, in pieces of at most the buffer.
            assert_eq!((handed, decoding.decoded()), (MAX, MAX), "{encoding}");
            assert!(largest <= DECODE_BUF, "{encoding}: {largest}");
            assert!(peak <= held_at_most, "{encoding}: {peak} bytes held");
        }
    }

    #[test]
    fn hostile_windows_past_the_http_bounds_are_refused() {
        // zstd: a frame asking for a 16 MiB window.
        let mut encoder = ::zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.window_log(24).unwrap();
        encoder.write_all(BODY).unwrap();
        let frame = encoder.finish().unwrap();
        let (out, end) = decode(&ContentEncoding::Zstd, &[&frame], MAX_DECODED_BYTES);
        assert!(matches!(end, Err(DecodeError::Corrupt { coding: "zstd", .. })), "{end:?}");
        assert!(out.is_empty());
        // br: the large-window marker (window bits 0x11) of a stream that
        // could ask for 1 GiB.
        let (_, end) = decode(&ContentEncoding::Brotli, &[&[0x11, 0x00, 0x00]], MAX_DECODED_BYTES);
        assert!(matches!(end, Err(DecodeError::Corrupt { coding: "br", .. })), "{end:?}");
    }

    #[test]
    fn content_encoding_headers_name_one_coding_or_none() {
        use ContentEncoding::*;
        for (header, expected) in [
            ("", Identity),
            ("identity", Identity),
            ("gzip", Gzip),
            ("x-gzip", Gzip),
            (" GZip ", Gzip),
            ("deflate", Deflate),
            ("br", Brotli),
            ("zstd", Zstd),
            ("identity, gzip", Gzip),
            ("compress", Other("compress".into())),
            ("gzip, br", Other("gzip, br".into())),
        ] {
            assert_eq!(ContentEncoding::parse(header), expected, "{header:?}");
        }
        let long = "x".repeat(1000);
        assert_eq!(ContentEncoding::parse(&long).as_str().len(), MAX_CODING_NAME);
        assert!(matches!(
            Decoding::new(&Other("compress".into()), MAX_DECODED_BYTES),
            Err(DecodeError::Unsupported { coding }) if coding == "compress"
        ));
    }
}
