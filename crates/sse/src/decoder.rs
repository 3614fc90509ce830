//! The incremental decoder: [`Decoder`], its [`Builder`] and [`parse_all`].
//!
//! A decoder is two state machines in a row, each in its own module:
//!
//! ```text
//!   reads ──▶ LineReader ──▶ Next ──────────▶ EventBuilder ──▶ frames
//!             line ends,     Line, BlankLine,  fields, dispatch,
//!             BOM, the       TooLong,          the event limit,
//!             line limit     EndOfRead         skip to a blank line
//! ```
//!
//! [`Decoder::feed`] hands what the [line reader](crate::line_reader) finds
//! in a read to the [event builder](crate::event_builder), up to the end of
//! the read.
//!
//! Speed: the functions a line goes through in both modules are marked
//! `#[inline]`. Measured (callgrind, 1 MiB of the R1 bench stream): without
//! the marks the decoder runs 14 % more instructions at 1460-byte reads, 25 %
//! more at event-aligned and 21 % more at 10-byte reads. The event builder's
//! `first_line` (a comment, or the first line of an event that is not a lone
//! `data` line) is left unmarked: marked too, it ran no fewer instructions
//! and was slower in every timing taken, by up to 23 % at event-aligned
//! reads.

use std::fmt;

use crate::event_builder::{EventBuilder, EventState};
use crate::frame::{Frame, OwnedFrame};
use crate::line_reader::{LineReader, LineState, Next};

/// Default maximum length of one line in bytes, without its line end.
pub const MAX_LINE_LEN: usize = 8 * 1024 * 1024;

/// Default maximum length of one event in bytes: the sum of the lengths of its
/// lines (without line ends), from its first field line to the last line
/// before the blank line that dispatches it.
pub const MAX_EVENT_LEN: usize = 8 * 1024 * 1024;

/// Decodes a whole input, as [`Decoder::feed`] then [`Decoder::finish`] with
/// the default limits, into owned frames. For tests and tools.
pub fn parse_all(input: &[u8]) -> Vec<OwnedFrame> {
    let mut decoder = Decoder::new();
    let mut frames = Vec::new();
    decoder.feed(input, |frame| frames.push(OwnedFrame::from(frame)));
    decoder.finish(|frame| frames.push(OwnedFrame::from(frame)));
    frames
}

/// Configures the limits of a [`Decoder`].
///
/// ```
/// let decoder = thinktee_sse::Decoder::builder().max_line_len(1 << 16).max_event_len(1 << 20).build();
/// # drop(decoder);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Builder {
    max_line_len: usize,
    max_event_len: usize,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder { max_line_len: MAX_LINE_LEN, max_event_len: MAX_EVENT_LEN }
    }
}

// === impl Builder ===

impl Builder {
    /// Longest line accepted, in bytes, without its line end (default
    /// [`MAX_LINE_LEN`]). A longer line is never buffered: it yields
    /// [`Frame::Skipped`] with [`Error::LineTooLong`](crate::Error::LineTooLong)
    /// and its event is dropped.
    pub fn max_line_len(mut self, limit: usize) -> Builder {
        self.max_line_len = limit;
        self
    }

    /// Longest event accepted, in bytes: the sum of its line lengths without
    /// line ends (default [`MAX_EVENT_LEN`]). This bounds its data too. A
    /// longer event yields [`Frame::Skipped`] with
    /// [`Error::EventTooLong`](crate::Error::EventTooLong) and is dropped.
    pub fn max_event_len(mut self, limit: usize) -> Builder {
        self.max_event_len = limit;
        self
    }

    /// Builds a fresh decoder with these limits.
    pub fn build(self) -> Decoder {
        Decoder {
            max_line_len: self.max_line_len,
            max_event_len: self.max_event_len,
            lines: LineReader::new(self.max_line_len),
            events: EventBuilder::new(self.max_line_len, self.max_event_len),
        }
    }
}

/// An incremental server-sent events decoder.
///
/// Feed it network reads cut anywhere with [`feed`](Decoder::feed); it calls
/// back with each [`Frame`] they complete. Call [`finish`](Decoder::finish) at
/// the end of the stream. See the [crate docs](crate) for an example.
pub struct Decoder {
    max_line_len: usize,
    max_event_len: usize,
    lines: LineReader,
    events: EventBuilder,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("max_line_len", &self.max_line_len)
            .field("max_event_len", &self.max_event_len)
            .field("line", &self.lines.state())
            .field("event", &self.events.state())
            .field("pending_bytes", &(self.events.buffered() + self.lines.buffered()))
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.retry())
            .finish_non_exhaustive()
    }
}

// === impl Decoder ===

impl Decoder {
    /// A decoder with the default limits [`MAX_LINE_LEN`] and [`MAX_EVENT_LEN`].
    pub fn new() -> Decoder {
        Builder::default().build()
    }

    /// A [`Builder`] to set the limits.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The last-event-ID buffer: the value of the last `id` field without a
    /// NUL, or `None` if there was none or it was empty.
    #[inline]
    pub fn last_event_id(&self) -> Option<&str> {
        self.events.last_event_id()
    }

    /// The reconnection time in milliseconds from the last valid `retry`
    /// field, if any. Values beyond `u64::MAX` saturate.
    #[inline]
    pub fn retry(&self) -> Option<u64> {
        self.events.retry()
    }

    /// Feeds the next network read (any size, cut anywhere: inside a line,
    /// inside CRLF, inside a UTF-8 character). Calls `out` for each frame
    /// completed by these bytes, in order.
    #[inline]
    pub fn feed<F: FnMut(Frame<'_>)>(&mut self, chunk: &[u8], mut out: F) {
        // The resume offset in `chunk`: everything before it was read.
        let mut pos = 0;
        let unfinished = loop {
            match self.lines.next(chunk, &mut pos) {
                Next::Line(line) => self.events.on_line(line, chunk, &mut out),
                Next::BlankLine => self.events.on_blank_line(chunk, &mut out),
                Next::TooLong => self.events.on_line_too_long(&mut out),
                Next::EndOfRead { unfinished } => break unfinished,
            }
        };
        self.events.on_end_of_read(chunk, unfinished);
        if self.events.state() == EventState::SkipToBlank {
            // A skipped event needs no line that is not blank.
            self.lines.discard_unfinished();
        }
        debug_assert!(
            self.lines.state() != LineState::Discarding
                || self.events.state() == EventState::SkipToBlank
        );
    }

    /// Signals the end of input.
    ///
    /// Per the spec an unfinished event is not dispatched. Instead, if bytes
    /// of an unfinished line or of a pending event remain, this emits one
    /// [`Frame::Truncated`] with them (from the event's first field line on).
    /// Nothing is emitted for an event already reported as
    /// [`Frame::Skipped`]. Afterwards the decoder is as new (a leading BOM is
    /// stripped again, the last event ID and retry are cleared), keeping its
    /// limits and buffers.
    pub fn finish<F: FnMut(Frame<'_>)>(&mut self, mut out: F) {
        let tail = self.lines.finish();
        self.events.finish(tail, &mut out);
    }

    /// The capacity of the decoder's byte buffers, for memory bound tests.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.lines.capacity() + self.events.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::frame::OwnedEvent;

    /// Feeds `chunks` then finishes, collecting owned frames.
    fn run(decoder: &mut Decoder, chunks: &[&[u8]]) -> Vec<OwnedFrame> {
        let mut frames = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, |frame| frames.push(frame.into()));
        }
        decoder.finish(|frame| frames.push(frame.into()));
        frames
    }

    /// Decodes `chunks` with default limits.
    fn decode(chunks: &[&[u8]]) -> Vec<OwnedFrame> {
        run(&mut Decoder::new(), chunks)
    }

    /// Decodes `input` whole, in 1-byte pieces and split at every offset, and
    /// checks that all agree before returning the frames.
    fn decode_all_ways(input: &[u8]) -> Vec<OwnedFrame> {
        let whole = decode(&[input]);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode(&bytes), whole, "1-byte feeds of {input:?}");
        for k in 0..=input.len() {
            let (a, b) = input.split_at(k);
            assert_eq!(decode(&[a, b]), whole, "split at {k} of {input:?}");
        }
        whole
    }

    fn event(event: &str, data: &str, id: Option<&str>, retry: Option<u64>) -> OwnedFrame {
        OwnedFrame::Event(OwnedEvent {
            event: event.to_owned(),
            data: data.to_owned(),
            id: id.map(str::to_owned),
            retry,
        })
    }

    fn msg(data: &str) -> OwnedFrame {
        event("message", data, None, None)
    }

    fn comment(text: &str) -> OwnedFrame {
        OwnedFrame::Comment(text.to_owned())
    }

    fn truncated(text: &str) -> OwnedFrame {
        OwnedFrame::Truncated(text.to_owned())
    }

    fn line_too_long(limit: usize) -> OwnedFrame {
        OwnedFrame::Skipped(Error::LineTooLong { limit })
    }

    fn event_too_long(limit: usize) -> OwnedFrame {
        OwnedFrame::Skipped(Error::EventTooLong { limit })
    }

    #[test]
    fn lf_line_ends() {
        assert_eq!(decode_all_ways(b"data: a\n\ndata: b\n\n"), [msg("a"), msg("b")]);
    }

    #[test]
    fn crlf_line_ends() {
        assert_eq!(decode_all_ways(b"data: a\r\n\r\ndata: b\r\n\r\n"), [msg("a"), msg("b")]);
    }

    #[test]
    fn cr_line_ends() {
        assert_eq!(decode_all_ways(b"data: a\r\rdata: b\rdata: c\r\r"), [msg("a"), msg("b\nc")]);
    }

    #[test]
    fn mixed_line_ends() {
        assert_eq!(decode_all_ways(b"data: a\rdata: b\ndata: c\r\n\n"), [msg("a\nb\nc")]);
    }

    #[test]
    fn crlf_split_across_feeds_is_one_line_end() {
        // Were the LF a line end of its own, it would dispatch "a" alone.
        assert_eq!(decode(&[b"data: a\r", b"\ndata: b\n\n"]), [msg("a\nb")]);
        assert_eq!(decode(&[b"data: a\r", b"", b"\ndata: b\r", b"\n\r", b"\n"]), [msg("a\nb")]);
    }

    #[test]
    fn every_piece_size_gives_the_same_frames() {
        // Pieces shorter and longer than a word, and than the short-haystack
        // cut-off of `find_line_end`, with line ends at every word offset.
        let input: &[u8] = b"data: 0123456789abcdef\r\ndata: x\rdata:\n\n: c\r\n\
            event: e\nid: 7\ndata: {\"a\":\"0123456789012345678901234567890123\"}\r\r\
            data: \xE2\x82\xAC\xFF\n\ndata: tail";
        let whole = decode(&[input]);
        assert_eq!(whole.len(), 5, "{whole:?}");
        for size in 1..=input.len() {
            let pieces: Vec<&[u8]> = input.chunks(size).collect();
            assert_eq!(decode(&pieces), whole, "pieces of {size}");
        }
    }

    #[test]
    fn cr_at_chunk_end_then_other_byte() {
        assert_eq!(decode(&[b"data: a\r", b"data: b\r", b"\r"]), [msg("a\nb")]);
    }

    #[test]
    fn cr_cr_is_a_blank_line() {
        assert_eq!(decode(&[b"data: a\r", b"\r", b"data: b\n\n"]), [msg("a"), msg("b")]);
    }

    #[test]
    fn bom_stripped_at_start() {
        assert_eq!(decode_all_ways(b"\xEF\xBB\xBFdata: a\n\n"), [msg("a")]);
    }

    #[test]
    fn bom_split_across_feeds() {
        assert_eq!(decode(&[b"\xEF", b"\xBB", b"\xBF", b"data: a\n\n"]), [msg("a")]);
        assert_eq!(decode(&[b"", b"\xEF\xBB", b"\xBFdata: a\n\n"]), [msg("a")]);
    }

    #[test]
    fn only_one_bom_is_stripped() {
        // The second BOM is part of the field name "\u{FEFF}data": ignored.
        assert_eq!(decode_all_ways(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"), [msg("b")]);
    }

    #[test]
    fn bom_elsewhere_is_data() {
        assert_eq!(decode_all_ways(b"data: \xEF\xBB\xBFa\n\n"), [msg("\u{FEFF}a")]);
        assert_eq!(decode_all_ways(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n"), [msg("a")]);
    }

    #[test]
    fn incomplete_bom_starts_the_first_line() {
        assert_eq!(decode_all_ways(b"\xEF\xBBdata: a\n\ndata: b\n\n"), [msg("b")]);
        assert_eq!(decode_all_ways(b"\xEF\xBB\n\ndata: b\n\n"), [msg("b")]);
        assert_eq!(decode_all_ways(b"\xEF\xBB"), [truncated("\u{FFFD}")]);
        assert_eq!(decode_all_ways(b"\xEF"), [truncated("\u{FFFD}")]);
        assert_eq!(decode_all_ways(b"\xEF\xBB\xBF"), []);
    }

    #[test]
    fn comments_are_reported_exactly() {
        assert_eq!(
            decode_all_ways(b": keep-alive\n:\n:: x \ndata: a\n: inside\n\n"),
            [comment(" keep-alive"), comment(""), comment(": x "), comment(" inside"), msg("a")]
        );
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        assert_eq!(decode_all_ways(b"data\n\n"), [msg("")]);
        assert_eq!(decode_all_ways(b"data\ndata\n\n"), [msg("\n")]);
        assert_eq!(decode_all_ways(b"event\ndata: a\n\n"), [msg("a")]);
    }

    #[test]
    fn exactly_one_space_is_removed() {
        assert_eq!(
            decode_all_ways(b"data:a\n\ndata: a\n\ndata:  a\n\ndata:\ta\n\n"),
            [msg("a"), msg("a"), msg(" a"), msg("\ta")]
        );
    }

    #[test]
    fn only_the_first_colon_splits() {
        assert_eq!(decode_all_ways(b"data: {\"a\":1}\n\n"), [msg("{\"a\":1}")]);
    }

    #[test]
    fn field_names_are_case_sensitive_and_unknown_ignored() {
        assert_eq!(
            decode_all_ways(b"Data: a\n\nDATA: b\n\ndata : c\n\nfoo: d\ndata: e\n\n"),
            [msg("e")]
        );
    }

    #[test]
    fn data_lines_join_with_lf_and_one_trailing_lf_goes() {
        assert_eq!(decode_all_ways(b"data: a\ndata: b\n\n"), [msg("a\nb")]);
        assert_eq!(decode_all_ways(b"data: a\ndata:\n\n"), [msg("a\n")]);
        assert_eq!(decode_all_ways(b"data:\ndata:\ndata:\n\n"), [msg("\n\n")]);
    }

    #[test]
    fn empty_data_still_dispatches() {
        assert_eq!(decode_all_ways(b"data:\n\n"), [msg("")]);
    }

    #[test]
    fn dispatch_only_on_blank_line() {
        assert_eq!(decode_all_ways(b"data: a\ndata: b\n"), [truncated("data: a\ndata: b\n")]);
    }

    #[test]
    fn blank_line_without_data_dispatches_nothing_and_resets_type() {
        assert_eq!(decode_all_ways(b"event: x\n\ndata: a\n\n"), [msg("a")]);
        assert_eq!(decode_all_ways(b"id: 1\n\n\n\nretry: 5\n\n"), []);
    }

    #[test]
    fn event_type_applies_to_the_next_dispatch_only() {
        assert_eq!(
            decode_all_ways(b"event: x\ndata: 1\n\ndata: 2\n\nevent: y\nevent: z\ndata: 3\n\nevent:\ndata: 4\n\n"),
            [event("x", "1", None, None), msg("2"), event("z", "3", None, None), msg("4")]
        );
    }

    #[test]
    fn id_persists_and_nul_ids_are_ignored() {
        let mut decoder = Decoder::new();
        let mut frames: Vec<OwnedFrame> = Vec::new();
        decoder
            .feed(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0\ndata: c\n\n", |f| frames.push(f.into()));
        assert_eq!(decoder.last_event_id(), Some("1"));
        decoder.feed(b"id\ndata: d\n\nid: 3\n\ndata: e\n\n", |f| frames.push(f.into()));
        assert_eq!(decoder.last_event_id(), Some("3"));
        assert_eq!(
            frames,
            [
                event("message", "a", Some("1"), None),
                event("message", "b", Some("1"), None),
                event("message", "c", Some("1"), None),
                event("message", "d", None, None),
                event("message", "e", Some("3"), None),
            ]
        );
    }

    #[test]
    fn retry_only_when_all_digits() {
        let mut decoder = Decoder::new();
        let mut frames: Vec<OwnedFrame> = Vec::new();
        let input = b"retry: 1500\ndata: a\n\ndata: b\n\nretry: 12a\nretry:\nretry:  7\nretry: -1\ndata: c\n\n";
        decoder.feed(input, |f| frames.push(f.into()));
        assert_eq!(frames, [event("message", "a", None, Some(1500)), msg("b"), msg("c")]);
        assert_eq!(decoder.retry(), Some(1500));
        decoder.feed(b"retry: 99999999999999999999999\n\n", |_| {});
        assert_eq!(decoder.retry(), Some(u64::MAX));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(
            decode_all_ways(b"event: \xFFx\ndata: a\xC3\ndata: \xE2\x82\n: \x80\n\n"),
            [comment(" \u{FFFD}"), event("\u{FFFD}x", "a\u{FFFD}\n\u{FFFD}", None, None)]
        );
        assert_eq!(decode_all_ways("data: é€😀\n\n".as_bytes()), [msg("é€😀")]);
        assert_eq!(decode(&[b"data: \xE2\x82", b"\xAC\n\n"]), [msg("€")]);
    }

    #[test]
    fn single_line_event_in_one_chunk_borrows_from_it() {
        let chunk = b"data: {\"x\":1}\n\nevent: e\ndata: 2\n\n";
        let range = chunk.as_ptr_range();
        let mut seen = 0;
        Decoder::new().feed(chunk, |frame| {
            let Frame::Event(event) = frame else { panic!("{frame:?}") };
            assert!(range.contains(&event.data.as_ptr()));
            assert!(event.event == "message" || range.contains(&event.event.as_ptr()));
            seen += 1;
        });
        assert_eq!(seen, 2);
    }

    #[test]
    fn many_events_in_one_chunk() {
        let input = b"data: 1\n\ndata: 2\n\n: c\n\ndata: 3\n\n";
        assert_eq!(decode_all_ways(input), [msg("1"), msg("2"), comment(" c"), msg("3")]);
    }

    #[test]
    fn long_line_is_skipped_with_its_event() {
        let mut decoder = Decoder::builder().max_line_len(14).build();
        let input: &[u8] = b"id: 1\ndata: 123456789\ndata: b\n\ndata: 12345678\n\n";
        let frames = run(&mut decoder, &[input]);
        assert_eq!(frames, [line_too_long(14), event("message", "12345678", Some("1"), None)]);
        for k in 0..=input.len() {
            let (a, b) = input.split_at(k);
            assert_eq!(run(&mut decoder, &[a, b]), frames, "split at {k}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(&mut decoder, &bytes), frames);
    }

    #[test]
    fn long_line_is_reported_once_and_never_buffered() {
        let mut decoder = Decoder::builder().max_line_len(16).build();
        let mut frames = Vec::new();
        decoder.feed(b"data: ", |f| frames.push(OwnedFrame::from(f)));
        for _ in 0..1000 {
            decoder.feed(&[b'x'; 100], |f| frames.push(f.into()));
            assert!(decoder.capacity() <= 64, "{}", decoder.capacity());
        }
        decoder.feed(b"\ndata: huge too\n: hidden\n\r\ndata: ok\n\n", |f| frames.push(f.into()));
        assert_eq!(frames, [line_too_long(16), msg("ok")]);
    }

    #[test]
    fn long_comment_is_skipped_too() {
        let mut decoder = Decoder::builder().max_line_len(7).build();
        assert_eq!(
            run(&mut decoder, &[b": 1234567\ndata: a\n\ndata: b\n\n"]),
            [line_too_long(7), msg("b")]
        );
    }

    #[test]
    fn long_event_is_skipped() {
        let mut decoder = Decoder::builder().max_event_len(20).build();
        let input: &[u8] = b"data: 1234567\ndata: 1234567\ndata: x\n\ndata: 12345678901234\n\n";
        let frames = run(&mut decoder, &[input]);
        assert_eq!(frames, [event_too_long(20), msg("12345678901234")]);
        for k in 0..=input.len() {
            let (a, b) = input.split_at(k);
            assert_eq!(run(&mut decoder, &[a, b]), frames, "split at {k}");
        }
    }

    #[test]
    fn event_memory_is_bounded() {
        let mut decoder = Decoder::builder().max_line_len(64).max_event_len(256).build();
        let mut frames = Vec::new();
        for _ in 0..1000 {
            decoder.feed(b"data: 0123456789\n", |f| frames.push(OwnedFrame::from(f)));
            assert!(decoder.capacity() <= 1024, "{}", decoder.capacity());
        }
        decoder.feed(b"\ndata: ok\n\n", |f| frames.push(f.into()));
        assert_eq!(frames, [event_too_long(256), msg("ok")]);
    }

    #[test]
    fn zero_limits() {
        let mut decoder = Decoder::builder().max_line_len(0).build();
        assert_eq!(run(&mut decoder, &[b"\n\ndata\n\n\n"]), [line_too_long(0)]);
    }

    #[test]
    fn over_long_line_is_reported_before_its_line_end() {
        let mut decoder = Decoder::builder().max_line_len(10).build();
        let mut frames: Vec<OwnedFrame> = Vec::new();
        decoder.feed(b"data: 1234", |f| frames.push(f.into()));
        assert_eq!(frames, []);
        decoder.feed(b"5", |f| frames.push(f.into()));
        assert_eq!(frames, [line_too_long(10)]);
    }

    #[test]
    fn the_line_end_of_a_discarded_line_is_not_a_blank_line() {
        // "\n" ends the over-long line; "data: a" is still in the skipped
        // event, which the blank line after it ends.
        let mut decoder = Decoder::builder().max_line_len(8).build();
        let reads: [&[u8]; 4] = [b"data: 123456789", b"\n", b"data: a\n\n", b"data: b\n\n"];
        assert_eq!(run(&mut decoder, &reads), [line_too_long(8), msg("b")]);
    }

    #[test]
    fn a_discarded_line_spans_reads_up_to_a_crlf_cut_by_a_read() {
        // The LF that opens the sixth read completes the CRLF of the
        // discarded line: it is no blank line, so "data: x" is still in
        // the skipped event.
        let mut decoder = Decoder::builder().max_line_len(8).build();
        let reads: [&[u8]; 7] = [
            b"data: 1234",
            b"56789",
            b"abcdef",
            b"ghij",
            b"kl\r",
            b"\ndata: x\n",
            b"\ndata: ok\n\n",
        ];
        assert_eq!(run(&mut decoder, &reads), [line_too_long(8), msg("ok")]);
        assert!(decoder.capacity() <= 16, "{}", decoder.capacity());
    }

    #[test]
    fn lines_of_a_skipped_event_are_not_buffered() {
        // The event breaks its limit on its first line; the next line is
        // far within the line limit, but only a blank line matters now.
        let mut decoder = Decoder::builder().max_event_len(10).build();
        let mut frames = Vec::new();
        decoder.feed(b"data: 0123456789\ndata: ", |f| frames.push(OwnedFrame::from(f)));
        for _ in 0..1000 {
            decoder.feed(&[b'x'; 100], |f| frames.push(f.into()));
            assert!(decoder.capacity() <= 64, "{}", decoder.capacity());
        }
        decoder.feed(b"\n\ndata: ok\n\n", |f| frames.push(f.into()));
        assert_eq!(frames, [event_too_long(10), msg("ok")]);
    }

    #[test]
    fn bom_cut_across_three_reads_is_stripped_once() {
        // The second byte order mark, cut too, is part of the field name
        // "\u{FEFF}data", which is ignored.
        let reads: [&[u8]; 5] =
            [b"\xEF", b"\xBB", b"\xBF\xEF", b"\xBB\xBFdata: a\n\n", b"data: b\n\n"];
        assert_eq!(decode(&reads), [msg("b")]);
    }

    #[test]
    fn held_bom_bytes_count_against_the_line_limit() {
        // Two bytes of a byte order mark, then not the third: they start a
        // line, which is over a limit of 1 already.
        let mut decoder = Decoder::builder().max_line_len(1).build();
        assert_eq!(run(&mut decoder, &[b"\xEF\xBB"]), [line_too_long(1)]);
        assert_eq!(run(&mut decoder, &[b"\xEF\xBB", b"x\n\n"]), [line_too_long(1)]);
        // One held byte is within it.
        assert_eq!(run(&mut decoder, &[b"\xEF"]), [truncated("\u{FFFD}")]);
        assert_eq!(run(&mut decoder, &[b"\xEF", b"\n\n"]), []);
    }

    #[test]
    fn finish_reports_unfinished_line() {
        assert_eq!(decode_all_ways(b"data: [DONE]"), [truncated("data: [DONE]")]);
        assert_eq!(decode_all_ways(b"data: a\n\ndata: {\"x"), [msg("a"), truncated("data: {\"x")]);
        assert_eq!(decode_all_ways(b": ke"), [truncated(": ke")]);
    }

    #[test]
    fn finish_reports_pending_event_raw() {
        assert_eq!(
            decode_all_ways(b": c\r\nid: 1\r\n: d\r\ndata: a\r\n"),
            [comment(" c"), comment(" d"), truncated("id: 1\r\n: d\r\ndata: a\r\n")]
        );
        assert_eq!(decode_all_ways(b"data: \xFF\n"), [truncated("data: \u{FFFD}\n")]);
    }

    #[test]
    fn finish_is_silent_after_a_complete_event() {
        assert_eq!(decode_all_ways(b"data: a\n\n: bye\n\r\n"), [msg("a"), comment(" bye")]);
        assert_eq!(decode_all_ways(b""), []);
    }

    #[test]
    fn finish_is_silent_while_skipping() {
        let mut decoder = Decoder::builder().max_line_len(4).build();
        assert_eq!(run(&mut decoder, &[b"data: 12345"]), [line_too_long(4)]);
        assert_eq!(run(&mut decoder, &[b"data: 1234\ndata"]), [line_too_long(4)]);
    }

    #[test]
    fn finish_resets_the_decoder() {
        let mut decoder = Decoder::new();
        assert_eq!(run(&mut decoder, &[b"id: 5\nretry: 9\ndata: a\n\ndata: b"]).len(), 2);
        assert_eq!(decoder.last_event_id(), None);
        assert_eq!(decoder.retry(), None);
        // A BOM is stripped again, and nothing of the old stream is left.
        assert_eq!(run(&mut decoder, &[b"\xEF\xBB\xBFdata: c\n\n"]), [msg("c")]);
    }

    #[test]
    fn parse_all_uses_default_limits() {
        assert_eq!(parse_all(b"data: a\n\ndata: b"), [msg("a"), truncated("data: b")]);
    }

    #[test]
    fn debug_does_not_dump_buffers() {
        let mut decoder = Decoder::new();
        decoder.feed(b"id: 7\ndata: secret", |_| {});
        let debug = format!("{decoder:?}");
        assert!(debug.contains("pending_bytes: 18") && !debug.contains("secret"), "{debug}");
    }
}
