//! The incremental decoder: [`Decoder`], its [`Builder`] and [`parse_all`].
//!
//! # Buffers
//!
//! An event that starts and ends inside one fed chunk, with a single `data`
//! line, is emitted borrowing from that chunk: nothing is copied. Everything
//! else goes through a few reusable buffers whose capacity is kept, so a
//! decoder in steady state does not allocate:
//!
//! - `raw`: the raw bytes of the pending event (from its first field line on,
//!   line ends included), followed by the unfinished line. Bytes enter it only
//!   at the end of a `feed`, when an event or a line continues in the next
//!   chunk; they are never searched again. It also gives
//!   [`Frame::Truncated`] its text.
//! - `data_buf`: the data of an event with several `data` lines, or with
//!   invalid UTF-8.
//! - `type_buf`, `text_buf`: an event type or comment with invalid UTF-8.
//! - `last_id`: the last-event-ID buffer, rewritten only by an `id` field.

use std::fmt;

use memchr::memchr;

use crate::error::Error;
use crate::frame::{Event, Frame, OwnedFrame};
use crate::line_end::{SHORT, Words, append_word, find_in_word, find_line_end, tail_word};

/// Default maximum length of one line in bytes, without its line end.
pub const MAX_LINE_LEN: usize = 8 * 1024 * 1024;

/// Default maximum length of one event in bytes: the sum of the lengths of its
/// lines (without line ends), from its first field line to the last line
/// before the blank line that dispatches it.
pub const MAX_EVENT_LEN: usize = 8 * 1024 * 1024;

/// The UTF-8 byte order mark, stripped once at the start of the stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

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

impl Builder {
    /// Longest line accepted, in bytes, without its line end (default
    /// [`MAX_LINE_LEN`]). A longer line is never buffered: it yields
    /// [`Frame::Skipped`] with [`Error::LineTooLong`] and its event is dropped.
    pub fn max_line_len(mut self, limit: usize) -> Builder {
        self.max_line_len = limit;
        self
    }

    /// Longest event accepted, in bytes: the sum of its line lengths without
    /// line ends (default [`MAX_EVENT_LEN`]). This bounds its data too. A
    /// longer event yields [`Frame::Skipped`] with [`Error::EventTooLong`] and
    /// is dropped.
    pub fn max_event_len(mut self, limit: usize) -> Builder {
        self.max_event_len = limit;
        self
    }

    /// Builds a fresh decoder with these limits.
    pub fn build(self) -> Decoder {
        Decoder {
            max_line_len: self.max_line_len,
            max_event_len: self.max_event_len,
            line: LineState::Bom { matched: 0 },
            event: EventState::Fields,
            raw: Vec::new(),
            line_start: 0,
            line_limit: self.max_line_len,
            pending: false,
            event_len: 0,
            data: Data::None,
            event_type: None,
            event_retry: None,
            data_buf: String::new(),
            type_buf: String::new(),
            text_buf: String::new(),
            last_id: String::new(),
            retry: None,
        }
    }
}

/// What the decoder expects next on the byte level.
///
/// ```text
///            3rd BOM byte / first non-BOM byte
///     Bom ─────────────────────────────────────▶ Start ◀─────────┐
///                                                 │  ▲            │
///                          byte other than CR, LF │  │ LF         │ LF (same line end)
///                                                 ▼  │            │ or any other byte
///                                                InLine ──CR──▶ AfterCr
/// ```
///
/// A CR ends a line at once; `AfterCr` only remembers to swallow an LF that
/// follows it, even in the next chunk, so CRLF split across two feeds is one
/// line end. A line found whole inside a chunk goes from `Start` to `Start`
/// (or `AfterCr`) in one step; `InLine` means its first bytes are waiting in
/// `raw` (or, while skipping, that the discarded line is not blank).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// The first bytes of the stream, which may be a byte order mark. The
    /// bytes matched so far are held back until the mark is complete.
    Bom { matched: u8 },
    /// The start of a line.
    Start,
    /// More of a line that started in an earlier chunk.
    InLine,
    /// A line just ended with CR; an LF next belongs to that line end.
    AfterCr,
}

/// What the decoder expects next on the event level.
///
/// ```text
///            line or event over its limit
///   Fields ──────────────────────────────▶ SkipToBlank
///      ▲                                        │
///      └──────────────── blank line ────────────┘
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventState {
    /// Field lines, comments, or the blank line that dispatches the event.
    Fields,
    /// Anything, discarded, up to the blank line that ends a skipped event.
    SkipToBlank,
}

/// Where the bytes of a line or field value are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loc {
    /// `chunk[start..end]` of the current `feed`.
    Chunk { start: usize, end: usize },
    /// `raw[start..end]`.
    Raw { start: usize, end: usize },
}

/// The data buffer of the pending event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Data {
    /// No `data` field yet: a blank line dispatches nothing.
    None,
    /// Exactly one `data` field, with this value.
    One(Loc),
    /// Several `data` fields, joined by LF in `data_buf`.
    Joined,
}

/// An incremental server-sent events decoder.
///
/// Feed it network reads cut anywhere with [`feed`](Decoder::feed); it calls
/// back with each [`Frame`] they complete. Call [`finish`](Decoder::finish) at
/// the end of the stream. See the [crate docs](crate) for an example.
pub struct Decoder {
    max_line_len: usize,
    max_event_len: usize,
    line: LineState,
    event: EventState,
    /// Raw bytes of the pending event's complete lines (if `pending`), then
    /// the unfinished line from `line_start` on.
    raw: Vec<u8>,
    line_start: usize,
    /// `line_start + max_line_len` (saturating): the unfinished line fits
    /// while `raw` is no longer than this. Set with `line_start` (see
    /// [`set_line_start`](Decoder::set_line_start)), so that each read costs
    /// one comparison. 0 in [`EventState::SkipToBlank`] (see
    /// [`skip`](Decoder::skip)), so that no read fits there.
    line_limit: usize,
    /// A field line has been seen since the last blank line.
    pending: bool,
    /// Sum of the line lengths of the pending event.
    event_len: usize,
    data: Data,
    event_type: Option<Loc>,
    event_retry: Option<u64>,
    data_buf: String,
    type_buf: String,
    text_buf: String,
    last_id: String,
    retry: Option<u64>,
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
            .field("line", &self.line)
            .field("event", &self.event)
            .field("pending_bytes", &self.raw.len())
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

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
        if self.last_id.is_empty() { None } else { Some(&self.last_id) }
    }

    /// The reconnection time in milliseconds from the last valid `retry`
    /// field, if any. Values beyond `u64::MAX` saturate.
    #[inline]
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Feeds the next network read (any size, cut anywhere: inside a line,
    /// inside CRLF, inside a UTF-8 character). Calls `out` for each frame
    /// completed by these bytes, in order.
    #[inline]
    pub fn feed<F: FnMut(Frame<'_>)>(&mut self, chunk: &[u8], out: F) {
        // While an event is skipped, `line_limit` is 0: no read fits, so
        // this one state check is enough to know the event state is `Fields`.
        if self.line == LineState::InLine {
            // Small reads mostly land in the middle of a line that goes on
            // past them: then the chunk only joins the line in `raw`. This
            // path is kept small, so that it is inlined into the caller; the
            // rest takes `out` by value, so that it is not even spilled here.
            let found = match Words::new(chunk) {
                Some(words) => {
                    let found = words.find_line_end();
                    if found.is_none() && self.line_fits(words.len()) {
                        words.append_to(&mut self.raw);
                        return;
                    }
                    found
                }
                None => {
                    let found = find_line_end(chunk);
                    if found.is_none() && self.line_fits(chunk.len()) {
                        self.raw.extend_from_slice(chunk);
                        return;
                    }
                    found
                }
            };
            self.feed_in_line(chunk, found, out);
        } else {
            self.feed_at_start(chunk, out);
        }
    }

    /// [`feed`](Decoder::feed) in `InLine` when `chunk` ends the line (its
    /// first line end is at `found`), breaks the line limit, or is discarded.
    fn feed_in_line<F: FnMut(Frame<'_>)>(
        &mut self,
        chunk: &[u8],
        found: Option<usize>,
        mut out: F,
    ) {
        if self.event == EventState::SkipToBlank {
            // The rest of a discarded line, which is not blank.
            let Some(found) = found else { return };
            let pos = self.line_end(chunk, found);
            return self.feed_lines(chunk, pos, None, &mut out);
        }
        // `mark`: where the bytes of the pending event that are not yet in
        // `raw` start in `chunk`.
        let mut mark = None;
        match found {
            Some(end) if !self.pending && self.line_fits(end) => {
                self.raw.extend_from_slice(chunk.get(..end).unwrap_or_default());
                if let Some(pos) = self.lone_data_event_in_raw(chunk, end, &mut out) {
                    if !self.start_short_line(chunk, pos) {
                        self.feed_lines(chunk, pos, None, &mut out);
                    }
                    return;
                }
                let pos = self.end_raw_line(chunk, end, &mut mark, &mut out);
                self.feed_lines(chunk, pos, mark, &mut out);
            }
            _ => {
                if let Some(pos) = self.continue_line(chunk, 0, found, &mut mark, &mut out) {
                    self.feed_lines(chunk, pos, mark, &mut out);
                }
            }
        }
    }

    /// The likely next step of [`feed_in_line`](Decoder::feed_in_line), for
    /// nearly every event of a chat completion stream at small reads: the
    /// line now whole in `raw`, ended at `chunk[end]`, is the first line of
    /// its event, a `data` line, and a blank line follows at once. The event
    /// is emitted straight from `raw`, without `on_line`, `Data`, `mark` or
    /// `stash`. Returns where the next line starts in `chunk`, or `None`
    /// (with nothing changed but the line state) to take the general path.
    #[inline]
    fn lone_data_event_in_raw<F: FnMut(Frame<'_>)>(
        &mut self,
        chunk: &[u8],
        end: usize,
        out: &mut F,
    ) -> Option<usize> {
        let next = self.line_end(chunk, end);
        if !is_blank_line(chunk, next)
            || !lone_data_event(&self.raw, self.limits(), &mut self.data_buf, &self.last_id, out)
        {
            return None;
        }
        self.raw.clear();
        Some(self.line_end(chunk, next))
    }

    /// With no event pending (so `raw` is empty) and a line starting at
    /// `chunk[pos..]`: if that is all of `chunk` (returns true), or a short
    /// piece without a line end, which then goes into `raw` as the start of
    /// the line (returns true). At small reads it usually is: the start of
    /// the next event's first line. Otherwise returns false, having done
    /// nothing: a longer piece is searched once, by `feed_lines`.
    #[inline]
    fn start_short_line(&mut self, chunk: &[u8], pos: usize) -> bool {
        debug_assert!(!self.pending && self.raw.is_empty() && self.event == EventState::Fields);
        let rest = chunk.get(pos..).unwrap_or_default();
        if let Some(words) = Words::new(rest) {
            if words.find_line_end().is_some() || words.len() > self.max_line_len {
                return false;
            }
            words.append_to(&mut self.raw);
        } else if let Some((word, len)) = tail_word(chunk, pos) {
            if find_in_word(word).is_some() || len > self.max_line_len {
                return false;
            }
            append_word(&mut self.raw, word, len);
        } else {
            return rest.is_empty();
        }
        self.line = LineState::InLine;
        true
    }

    /// A small read at the start of a line, in the two cases small reads
    /// leave often: the read before ended with a line (at small reads, with
    /// an event), or it cut the `\n\n` after an event whose lines are now
    /// all in `raw`. Returns false, having done nothing, for anything else.
    fn small_read_at_start<F: FnMut(Frame<'_>)>(&mut self, chunk: &[u8], out: &mut F) -> bool {
        if !self.pending {
            return self.start_short_line(chunk, 0);
        }
        if !is_blank_line(chunk, 0) {
            return false;
        }
        self.dispatch(chunk, out);
        let pos = self.line_end(chunk, 0);
        if !self.start_short_line(chunk, pos) {
            self.feed_lines(chunk, pos, None, out);
        }
        true
    }

    /// [`feed`](Decoder::feed) in any other state.
    fn feed_at_start<F: FnMut(Frame<'_>)>(&mut self, chunk: &[u8], mut out: F) {
        if chunk.len() < SHORT
            && self.line == LineState::Start
            && self.event == EventState::Fields
            && self.small_read_at_start(chunk, &mut out)
        {
            return;
        }
        let mut pos = 0;
        if let LineState::Bom { matched } = self.line {
            pos = self.strip_bom(chunk, matched);
            if let LineState::Bom { .. } = self.line {
                return;
            }
        }
        let mark = if self.pending && self.line != LineState::InLine { Some(pos) } else { None };
        self.feed_lines(chunk, pos, mark, &mut out);
    }

    /// The rest of [`feed`](Decoder::feed): decodes `chunk[pos..]`, then
    /// stashes what the next chunk needs (from `mark` on, if the pending
    /// event started before `pos`).
    fn feed_lines<F: FnMut(Frame<'_>)>(
        &mut self,
        chunk: &[u8],
        mut pos: usize,
        mut mark: Option<usize>,
        out: &mut F,
    ) {
        let mut unfinished = None;
        while let Some(&byte) = chunk.get(pos) {
            if self.event == EventState::SkipToBlank {
                pos = self.skip_to_blank(chunk, pos);
                continue;
            }
            match self.line {
                LineState::AfterCr => {
                    if byte == b'\n' {
                        pos += 1;
                    }
                    self.line = LineState::Start;
                }
                LineState::InLine => {
                    let found = find_line_end(chunk.get(pos..).unwrap_or_default());
                    pos = self
                        .continue_line(chunk, pos, found, &mut mark, out)
                        .unwrap_or(chunk.len());
                }
                LineState::Start | LineState::Bom { .. } => {
                    let Some(found) = find_line_end(chunk.get(pos..).unwrap_or_default()) else {
                        unfinished = Some(pos);
                        break;
                    };
                    let end = pos + found;
                    let next = self.line_end(chunk, end);
                    // A lone `data` line and its blank line: the event is
                    // emitted at once, borrowing from `chunk`.
                    if !self.pending
                        && is_blank_line(chunk, next)
                        && lone_data_event(
                            chunk.get(pos..end).unwrap_or_default(),
                            self.limits(),
                            &mut self.data_buf,
                            &self.last_id,
                            out,
                        )
                    {
                        pos = self.line_end(chunk, next);
                        continue;
                    }
                    self.on_line(chunk, Loc::Chunk { start: pos, end }, out);
                    if !self.pending {
                        mark = None;
                    } else if mark.is_none() {
                        mark = Some(pos);
                    }
                    pos = next;
                }
            }
        }
        if let Some(start) = unfinished {
            if chunk.len() - start > self.max_line_len {
                self.skip(Error::LineTooLong { limit: self.max_line_len }, out);
                self.line = LineState::InLine;
                return;
            }
            self.line = LineState::InLine;
        }
        self.stash(chunk, mark, unfinished);
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
        if let LineState::Bom { matched } = self.line {
            // An incomplete byte order mark is the start of an unfinished line.
            self.raw.clear();
            self.raw.extend_from_slice(BOM.get(..usize::from(matched)).unwrap_or_default());
            self.set_line_start(0);
        }
        if self.event == EventState::Fields && !self.raw.is_empty() {
            if self.raw.len().saturating_sub(self.line_start) > self.max_line_len {
                out(Frame::Skipped(Error::LineTooLong { limit: self.max_line_len }));
            } else {
                out(Frame::Truncated(text(&self.raw, &mut self.text_buf)));
            }
        }
        self.line = LineState::Bom { matched: 0 };
        self.event = EventState::Fields;
        self.reset_event();
        self.last_id.clear();
        self.retry = None;
    }

    /// Matches the start of `chunk` against the rest of the byte order mark,
    /// `matched` bytes of which were seen already. Returns where the stream
    /// proper starts.
    fn strip_bom(&mut self, chunk: &[u8], mut matched: u8) -> usize {
        let mut pos = 0;
        while let (Some(&want), Some(&byte)) = (BOM.get(usize::from(matched)), chunk.get(pos)) {
            if byte != want {
                // Not a byte order mark: the bytes held back start the first line.
                let held = BOM.get(..usize::from(matched)).unwrap_or_default();
                self.raw.clear();
                self.raw.extend_from_slice(held);
                self.set_line_start(0);
                self.line = if held.is_empty() { LineState::Start } else { LineState::InLine };
                return pos;
            }
            matched += 1;
            pos += 1;
        }
        self.line = if usize::from(matched) == BOM.len() {
            LineState::Start
        } else {
            LineState::Bom { matched }
        };
        pos
    }

    /// `chunk[at]` is CR or LF ending a line: returns where the next line
    /// starts and sets the line state.
    #[inline]
    fn line_end(&mut self, chunk: &[u8], at: usize) -> usize {
        self.line = LineState::Start;
        if chunk.get(at) == Some(&b'\r') {
            match chunk.get(at + 1) {
                Some(b'\n') => return at + 2,
                None => self.line = LineState::AfterCr,
                Some(_) => {}
            }
        }
        at + 1
    }

    /// Continues the line whose first bytes are in `raw[line_start..]` with
    /// `chunk[pos..]`, whose first line end (if any) is at `pos + found`.
    /// Returns where to go on in `chunk`, or `None` if the line goes on past
    /// it (all of `chunk[pos..]` is then in `raw`, or discarded if the line
    /// is too long).
    fn continue_line<F: FnMut(Frame<'_>)>(
        &mut self,
        chunk: &[u8],
        pos: usize,
        found: Option<usize>,
        mark: &mut Option<usize>,
        out: &mut F,
    ) -> Option<usize> {
        let rest = chunk.get(pos..).unwrap_or_default();
        let piece = rest.get(..found.unwrap_or(rest.len())).unwrap_or_default();
        if !self.line_fits(piece.len()) {
            return self.line_too_long(chunk, pos, found, mark, out);
        }
        self.raw.extend_from_slice(piece);
        Some(self.end_raw_line(chunk, pos + found?, mark, out))
    }

    /// [`continue_line`](Decoder::continue_line) when the line breaks
    /// [`max_line_len`](Builder::max_line_len): skips the event.
    #[cold]
    fn line_too_long<F: FnMut(Frame<'_>)>(
        &mut self,
        chunk: &[u8],
        pos: usize,
        found: Option<usize>,
        mark: &mut Option<usize>,
        out: &mut F,
    ) -> Option<usize> {
        self.skip(Error::LineTooLong { limit: self.max_line_len }, out);
        *mark = None;
        // Without a line end, the rest of the line is discarded in `InLine`.
        found.map(|found| self.line_end(chunk, pos + found))
    }

    /// Whether the unfinished line in `raw[line_start..]` stays within
    /// [`max_line_len`](Builder::max_line_len) with `more` bytes added.
    #[inline]
    fn line_fits(&self, more: usize) -> bool {
        self.raw.len().saturating_add(more) <= self.line_limit
    }

    /// `(max_line_len, max_event_len)`, for [`lone_data_event`].
    #[inline]
    fn limits(&self) -> (usize, usize) {
        (self.max_line_len, self.max_event_len)
    }

    /// Sets where the unfinished line starts in `raw`, and with it
    /// `line_limit`.
    #[inline]
    fn set_line_start(&mut self, start: usize) {
        self.line_start = start;
        self.line_limit = start.saturating_add(self.max_line_len);
    }

    /// `chunk[end]` ends the line in `raw[line_start..]`: interprets it.
    /// Returns where the next line starts in `chunk`.
    fn end_raw_line<F: FnMut(Frame<'_>)>(
        &mut self,
        chunk: &[u8],
        end: usize,
        mark: &mut Option<usize>,
        out: &mut F,
    ) -> usize {
        let next = self.line_end(chunk, end);
        self.on_line(chunk, Loc::Raw { start: self.line_start, end: self.raw.len() }, out);
        if self.pending {
            // The line stays in `raw` as part of the event; its line end and
            // what follows are still in `chunk`.
            self.set_line_start(self.raw.len());
            *mark = Some(end);
        } else {
            // A comment outside any event, a blank line, or a skipped line.
            // Without a pending event, the line started at 0 (and
            // `line_limit` is kept: it is 0 if the event is being skipped).
            debug_assert_eq!(self.line_start, 0);
            self.raw.clear();
            *mark = None;
        }
        next
    }

    /// In [`EventState::SkipToBlank`]: discards `chunk[pos..]` up to and
    /// including the next blank line. Returns where to go on.
    fn skip_to_blank(&mut self, chunk: &[u8], mut pos: usize) -> usize {
        while let Some(&byte) = chunk.get(pos) {
            match self.line {
                LineState::AfterCr => {
                    if byte == b'\n' {
                        pos += 1;
                    }
                    self.line = LineState::Start;
                }
                LineState::Start | LineState::Bom { .. } if byte == b'\n' || byte == b'\r' => {
                    self.event = EventState::Fields;
                    self.set_line_start(0);
                    return self.line_end(chunk, pos);
                }
                LineState::Start | LineState::Bom { .. } | LineState::InLine => {
                    match find_line_end(chunk.get(pos..).unwrap_or_default()) {
                        Some(found) => pos = self.line_end(chunk, pos + found),
                        None => {
                            self.line = LineState::InLine;
                            return chunk.len();
                        }
                    }
                }
            }
        }
        pos
    }

    // The WHATWG HTML standard, 9.2.5 "Parsing an event stream":
    //
    //   stream        = [ bom ] *event
    //   event         = *( comment / field ) end-of-line
    //   comment       = colon *any-char end-of-line
    //   field         = 1*name-char [ colon [ space ] *any-char ] end-of-line
    //   end-of-line   = ( cr lf / cr / lf )
    //
    // and 9.2.6 "Interpreting an event stream", for each line:
    //
    //   If the line is empty (a blank line)
    //       Dispatch the event, as defined below.
    //   If the line starts with a U+003A COLON character (:)
    //       Ignore the line.
    //   If the line contains a U+003A COLON character (:)
    //       Collect the characters on the line before the first U+003A COLON
    //       character (:), and let field be that string.
    //       Collect the characters on the line after the first U+003A COLON
    //       character (:), and let value be that string. If value starts with
    //       a U+0020 SPACE character, remove it from value.
    //       Process the field using the steps described below, using field as
    //       the field name and value as the field value.
    //   Otherwise, the string is not empty but does not contain a U+003A
    //   COLON character (:)
    //       Process the field using the steps described below, using the whole
    //       line as the field name, and the empty string as the field value.
    //
    // Comments are not ignored here but reported as `Frame::Comment`.

    /// Interprets one complete line, without its line end.
    fn on_line<F: FnMut(Frame<'_>)>(&mut self, chunk: &[u8], line: Loc, out: &mut F) {
        let len = line.len();
        if len == 0 {
            self.dispatch(chunk, out);
            return;
        }
        if len > self.max_line_len {
            self.skip(Error::LineTooLong { limit: self.max_line_len }, out);
            return;
        }
        let bytes = slice(chunk, &self.raw, line);
        let comment = bytes.first() == Some(&b':');
        if !comment || self.pending {
            self.pending = true;
            self.event_len = self.event_len.saturating_add(len);
            if self.event_len > self.max_event_len {
                self.skip(Error::EventTooLong { limit: self.max_event_len }, out);
                return;
            }
        }
        if comment {
            let body = slice(chunk, &self.raw, line.sub(1, len));
            out(Frame::Comment(text(body, &mut self.text_buf)));
            return;
        }
        // Nearly every line is a `data:` line: its colon needs no search,
        // nor its name a second look.
        if let Some(rest) = bytes.strip_prefix(b"data:") {
            let start = if rest.first() == Some(&b' ') { 6 } else { 5 };
            self.on_data(chunk, line.sub(start, len));
            return;
        }
        let (name, value) = match memchr(b':', bytes) {
            Some(colon) => {
                let start = if bytes.get(colon + 1) == Some(&b' ') { colon + 2 } else { colon + 1 };
                (line.sub(0, colon), line.sub(start, len))
            }
            None => (line, line.sub(len, len)),
        };
        match slice(chunk, &self.raw, name) {
            b"data" => self.on_data(chunk, value),
            b"event" => self.event_type = Some(value),
            b"id" => self.on_id(chunk, value),
            b"retry" => self.on_retry(chunk, value),
            _ => {}
        }
    }

    // "If the field name is "data": Append the field value to the data
    // buffer, then append a single U+000A LINE FEED (LF) character to the
    // data buffer."
    //
    // The final LF is never stored: `Data` says whether the buffer is empty,
    // and the values are joined by LF.
    fn on_data(&mut self, chunk: &[u8], value: Loc) {
        match self.data {
            Data::None => self.data = Data::One(value),
            Data::One(first) => {
                self.data_buf.clear();
                push_lossy(&mut self.data_buf, slice(chunk, &self.raw, first));
                self.data_buf.push('\n');
                push_lossy(&mut self.data_buf, slice(chunk, &self.raw, value));
                self.data = Data::Joined;
            }
            Data::Joined => {
                self.data_buf.push('\n');
                push_lossy(&mut self.data_buf, slice(chunk, &self.raw, value));
            }
        }
    }

    // "If the field name is "id": If the field value does not contain U+0000
    // NULL, then set the last event ID buffer to the field value. Otherwise,
    // ignore the field."
    fn on_id(&mut self, chunk: &[u8], value: Loc) {
        let value = slice(chunk, &self.raw, value);
        if memchr(0, value).is_none() {
            self.last_id.clear();
            push_lossy(&mut self.last_id, value);
        }
    }

    // "If the field name is "retry": If the field value consists of only ASCII
    // digits, then interpret the field value as an integer in base ten, and
    // set the event stream's reconnection time to that integer. Otherwise,
    // ignore the field."
    fn on_retry(&mut self, chunk: &[u8], value: Loc) {
        let value = slice(chunk, &self.raw, value);
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return;
        }
        let millis = value.iter().fold(0u64, |acc, digit| {
            acc.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
        });
        self.retry = Some(millis);
        self.event_retry = Some(millis);
    }

    // "When the user agent is required to dispatch the event, the user agent
    // must process the data buffer, the event type buffer, and the last event
    // ID buffer [...]:
    //  2. If the data buffer is an empty string, set the data buffer and the
    //     event type buffer to the empty string and return.
    //  3. If the data buffer's last character is a U+000A LINE FEED (LF)
    //     character, then remove the last character from the data buffer.
    //  [...]
    //  6. If the event type buffer has a value other than the empty string,
    //     change the type of the newly created event to equal the value of
    //     the event type buffer.
    //  7. Set the data buffer and the event type buffer to the empty string."
    fn dispatch<F: FnMut(Frame<'_>)>(&mut self, chunk: &[u8], out: &mut F) {
        let data = match self.data {
            Data::None => None,
            Data::One(loc) => Some(text(slice(chunk, &self.raw, loc), &mut self.data_buf)),
            Data::Joined => Some(self.data_buf.as_str()),
        };
        if let Some(data) = data {
            let event = match self.event_type {
                Some(loc) => text(slice(chunk, &self.raw, loc), &mut self.type_buf),
                None => "",
            };
            let id = if self.last_id.is_empty() { None } else { Some(self.last_id.as_str()) };
            out(Frame::Event(Event {
                event: if event.is_empty() { "message" } else { event },
                data,
                id,
                retry: self.event_retry,
            }));
        }
        self.reset_event();
    }

    /// Reports a broken limit and drops the pending event.
    fn skip<F: FnMut(Frame<'_>)>(&mut self, error: Error, out: &mut F) {
        out(Frame::Skipped(error));
        self.event = EventState::SkipToBlank;
        self.reset_event();
        // No read fits: `feed` needs no check of the event state.
        self.line_limit = 0;
    }

    /// Forgets the pending event and any unfinished line.
    fn reset_event(&mut self) {
        self.raw.clear();
        self.set_line_start(0);
        self.pending = false;
        self.event_len = 0;
        self.data = Data::None;
        self.event_type = None;
        self.event_retry = None;
    }

    /// At the end of `feed`: moves what the next chunk still needs into `raw`,
    /// namely the pending event from `mark` on and the unfinished line from
    /// `unfinished` on.
    #[inline]
    fn stash(&mut self, chunk: &[u8], mark: Option<usize>, unfinished: Option<usize>) {
        if mark.is_some() || unfinished.is_some() {
            self.stash_rest(chunk, mark, unfinished);
        }
    }

    /// [`stash`](Decoder::stash) when there is something to keep.
    fn stash_rest(&mut self, chunk: &[u8], mark: Option<usize>, unfinished: Option<usize>) {
        if let Some(mark) = mark {
            let base = self.raw.len();
            self.raw.extend_from_slice(chunk.get(mark..).unwrap_or_default());
            let moved = |loc: Loc| loc.moved(mark, base);
            if let Data::One(loc) = self.data {
                self.data = Data::One(moved(loc));
            }
            self.event_type = self.event_type.map(moved);
            self.set_line_start(match unfinished {
                Some(start) => base + start.saturating_sub(mark),
                None => self.raw.len(),
            });
        } else if let Some(start) = unfinished {
            self.raw.clear();
            self.raw.extend_from_slice(chunk.get(start..).unwrap_or_default());
            self.set_line_start(0);
        }
    }
}

// === impl Loc ===

impl Loc {
    #[inline]
    fn len(self) -> usize {
        match self {
            Loc::Chunk { start, end } | Loc::Raw { start, end } => end.saturating_sub(start),
        }
    }

    /// The part `from..to` of this location (offsets relative to its start).
    #[inline]
    fn sub(self, from: usize, to: usize) -> Loc {
        match self {
            Loc::Chunk { start, .. } => Loc::Chunk { start: start + from, end: start + to },
            Loc::Raw { start, .. } => Loc::Raw { start: start + from, end: start + to },
        }
    }

    /// Where this location is after `chunk[mark..]` was appended to `raw` at
    /// `base`.
    fn moved(self, mark: usize, base: usize) -> Loc {
        match self {
            Loc::Chunk { start, end } => Loc::Raw {
                start: base + start.saturating_sub(mark),
                end: base + end.saturating_sub(mark),
            },
            raw @ Loc::Raw { .. } => raw,
        }
    }
}

/// Whether a line starts at `chunk[at]` and is blank.
#[inline]
fn is_blank_line(chunk: &[u8], at: usize) -> bool {
    matches!(chunk.get(at), Some(b'\n' | b'\r'))
}

/// The dedicated path for the event of nearly every chat completion chunk:
/// `line` is the first line of its event, and a blank line follows it at
/// once. If it is a `data` line within the limits, emits its event and
/// returns true, without touching the decoder's event state: with no line
/// before it, there is no event type (so `"message"`) and no `retry`. Else
/// returns false, and `on_line` takes it (and reports a broken limit).
fn lone_data_event<F: FnMut(Frame<'_>)>(
    line: &[u8],
    (max_line_len, max_event_len): (usize, usize),
    data_buf: &mut String,
    last_id: &str,
    out: &mut F,
) -> bool {
    let Some(rest) = line.strip_prefix(b"data:") else {
        return false;
    };
    if line.len() > max_line_len || line.len() > max_event_len {
        return false;
    }
    let value = rest.strip_prefix(b" ").unwrap_or(rest);
    let id = if last_id.is_empty() { None } else { Some(last_id) };
    out(Frame::Event(Event { event: "message", data: text(value, data_buf), id, retry: None }));
    true
}

/// The bytes at `loc`.
#[inline]
fn slice<'a>(chunk: &'a [u8], raw: &'a [u8], loc: Loc) -> &'a [u8] {
    let bytes = match loc {
        Loc::Chunk { start, end } => chunk.get(start..end),
        Loc::Raw { start, end } => raw.get(start..end),
    };
    bytes.unwrap_or_default()
}

/// `bytes` as text: borrowed if valid UTF-8, else decoded into `buf` with
/// U+FFFD for each invalid sequence. Validated with SIMD (simdutf8 picks
/// AVX2 or SSE4.2 at run time): a chunk's payload is validated once, and at
/// std's speed this was the largest single cost of decoding an event.
#[inline]
fn text<'a>(bytes: &'a [u8], buf: &'a mut String) -> &'a str {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            buf.clear();
            push_lossy(buf, bytes);
            buf
        }
    }
}

/// Appends `bytes` to `buf`, replacing invalid UTF-8 like
/// [`String::from_utf8_lossy`] but without allocating a new string.
fn push_lossy(buf: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        buf.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            buf.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            assert!(decoder.raw.capacity() <= 64, "{}", decoder.raw.capacity());
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
            assert!(decoder.raw.capacity() <= 1024, "{}", decoder.raw.capacity());
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
