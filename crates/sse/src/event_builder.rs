//! The event builder: complete lines in, [`Frame`]s out.
//!
//! It takes what the [line reader](crate::line_reader) finds, one
//! [`Next`](crate::line_reader::Next) at a time: a line, a blank line, a
//! line over the limit, the end of a read. It interprets comments and
//! fields, dispatches the pending event on a blank line, enforces the event
//! limit, and after a broken limit skips to the next blank line. Each of
//! those four inputs is one small function that matches on the
//! [`EventState`]: these are the transitions of its diagram.
//!
//! # Buffers
//!
//! An event that lies inside one read is emitted borrowing from it: nothing
//! is copied. Everything else goes through a few reusable buffers whose
//! capacity is kept, so a decoder in steady state does not allocate:
//!
//! - `raw`: the raw bytes of the pending event (from its first field line
//!   on, line ends included) up to the line the read leaves unfinished,
//!   which the line reader holds. Bytes enter it when the event goes on in
//!   the next read, and when a line that completed in the line reader's
//!   buffer joins the event. It gives [`Frame::Truncated`] its text.
//! - `data_buf`: the data of an event with several `data` lines, or with
//!   invalid UTF-8.
//! - `type_buf`, `text_buf`: an event type or comment with invalid UTF-8.
//! - `last_id`: the last-event-ID buffer, rewritten only by an `id` field.

use memchr::memchr;

use crate::error::Error;
use crate::frame::{Event, Frame};
use crate::line_reader::{At, Line, Tail};

/// What the event builder expects next.
///
/// ```text
///               field line                blank line: dispatch
///   FirstField ────────────▶ MoreFields ───────────────────────▶ FirstField
///       │                         │
///       │ line over the limit,    │ line over the limit,
///       │ event over the limit    │ event over the limit
///       ▼                         ▼
///   SkipToBlank ◀─────────────────┘
///       │  blank line
///       └────────────────────────────────────────────────────────▶ FirstField
/// ```
///
/// Comments, blank lines and reads that end leave `FirstField` as it is (a
/// lone `data` line followed by a blank line is emitted at once, and stays
/// there too; so is a `data` line followed by a blank line that is the
/// first data of the pending event, from `MoreFields`); comments, field lines and reads that end leave `MoreFields`
/// as it is; anything but a blank line leaves `SkipToBlank` as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventState {
    /// The first field line of an event. Comments and blank lines before it
    /// belong to no event.
    FirstField,
    /// More lines of the pending event, or the blank line that dispatches it.
    MoreFields,
    /// Anything, discarded, up to the blank line that ends a skipped event.
    SkipToBlank,
}

/// Where the bytes of a line or field value are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loc {
    /// `chunk[start..end]` of the current read.
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

/// Builds events from lines. See the [module docs](self).
#[derive(Debug, Clone)]
pub(crate) struct EventBuilder {
    state: EventState,
    /// The line limit, for [`Error::LineTooLong`] (the line reader
    /// enforces it).
    max_line_len: usize,
    max_event_len: usize,
    /// Sum of the line lengths of the pending event.
    event_len: usize,
    /// In `MoreFields`: where the bytes of the pending event that are not
    /// in `raw` yet start in the current read; 0 at the start of a read.
    mark: usize,
    /// The pending event's raw bytes kept from earlier reads (see the
    /// module docs); empty outside `MoreFields`.
    raw: Vec<u8>,
    /// The spec's data buffer.
    data: Data,
    /// The spec's event type buffer: the value of the last `event` field.
    event_type: Option<Loc>,
    /// The value of the last valid `retry` field of the pending event.
    event_retry: Option<u64>,
    data_buf: String,
    type_buf: String,
    text_buf: String,
    /// The spec's last event ID buffer, which outlives events.
    last_id: String,
    /// The spec's reconnection time, which outlives events.
    retry: Option<u64>,
}

// === impl EventBuilder ===

impl EventBuilder {
    /// A builder at the start of a stream.
    pub(crate) fn new(max_line_len: usize, max_event_len: usize) -> EventBuilder {
        EventBuilder {
            state: EventState::FirstField,
            max_line_len,
            max_event_len,
            event_len: 0,
            mark: 0,
            raw: Vec::new(),
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

    /// What the builder expects next.
    pub(crate) fn state(&self) -> EventState {
        self.state
    }

    /// The raw bytes of the pending event kept in `raw`.
    pub(crate) fn buffered(&self) -> usize {
        self.raw.len()
    }

    /// The capacity of `raw`, for memory bound tests.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The last-event-ID buffer, `None` if empty.
    pub(crate) fn last_event_id(&self) -> Option<&str> {
        if self.last_id.is_empty() { None } else { Some(&self.last_id) }
    }

    /// The reconnection time from the last valid `retry` field.
    pub(crate) fn retry(&self) -> Option<u64> {
        self.retry
    }

    // The WHATWG HTML standard, 9.2.6 "Interpreting an event stream", for
    // each line:
    //
    //   If the line is empty (a blank line)
    //       Dispatch the event, as defined below.
    //   If the line starts with a U+003A COLON character (:)
    //       Ignore the line.
    //   If the line contains a U+003A COLON character (:)
    //       [see `on_field`]
    //   Otherwise, the string is not empty but does not contain a U+003A
    //   COLON character (:)
    //       [see `on_field`]
    //
    // Comments are not ignored here but reported as `Frame::Comment`. The
    // limits and what follows a broken one are this crate's own rules (see
    // `Builder`).

    /// A line of the read `chunk` that is not blank, then the blank line
    /// read with it, if any.
    #[inline]
    pub(crate) fn on_line<F: FnMut(Frame<'_>)>(
        &mut self,
        line: Line<'_>,
        chunk: &[u8],
        out: &mut F,
    ) {
        match self.state {
            EventState::FirstField => {
                let fast = if line.blank_after {
                    self.lone_data_event(line.bytes, out)
                } else {
                    self.event_line(line)
                };
                if !fast {
                    self.first_line(line, chunk, out);
                }
            }
            EventState::MoreFields => {
                if !(line.blank_after && self.last_data_line(line, chunk, out)) {
                    self.add_line(line, chunk, out);
                }
            }
            // Only a blank line ends a skipped event.
            EventState::SkipToBlank => {}
        }
        if line.blank_after {
            self.on_blank_line(chunk, out);
        }
    }

    /// A blank line.
    #[inline]
    pub(crate) fn on_blank_line<F: FnMut(Frame<'_>)>(&mut self, chunk: &[u8], out: &mut F) {
        match self.state {
            // Nothing is pending (a lone `data` line was emitted at once).
            EventState::FirstField => {}
            EventState::MoreFields => self.dispatch(chunk, out),
            EventState::SkipToBlank => self.state = EventState::FirstField,
        }
    }

    /// A line over the line limit.
    pub(crate) fn on_line_too_long<F: FnMut(Frame<'_>)>(&mut self, out: &mut F) {
        match self.state {
            EventState::FirstField | EventState::MoreFields => {
                self.skip(Error::LineTooLong { limit: self.max_line_len }, out);
            }
            EventState::SkipToBlank => {}
        }
    }

    /// The end of the read `chunk`: from `unfinished` on, its bytes belong
    /// to a line the line reader keeps.
    #[inline]
    pub(crate) fn on_end_of_read(&mut self, chunk: &[u8], unfinished: usize) {
        match self.state {
            EventState::FirstField | EventState::SkipToBlank => {
                debug_assert!(self.raw.is_empty() && self.mark == 0);
            }
            EventState::MoreFields => self.stash(chunk, unfinished),
        }
    }

    /// The first line of the events of the Responses API and Anthropic
    /// Messages (`event: TYPE`, then `data: JSON`): in `FirstField`,
    /// `line` is in this read and not followed by a blank line. If it is an
    /// `event` line within the event limit, starts the event with it (what
    /// `first_line` and `add_line` would do: the type is its value) and
    /// returns true. Else returns false, and the general path takes the
    /// line.
    ///
    /// Measured with [`EventBuilder::last_data_line`] (callgrind, 1 MiB of
    /// each bench stream, event-aligned reads): without the two the decoder
    /// runs 68 % more instructions on Anthropic Messages events and 57 %
    /// more on Responses API ones (this one alone 30 % and 25 %); chat
    /// completions' lone `data` events are unchanged (within 0.01 %).
    #[inline]
    fn event_line(&mut self, line: Line<'_>) -> bool {
        let At::Chunk { start } = line.at else { return false };
        let Some(value) = line.bytes.strip_prefix(b"event:") else { return false };
        let len = line.bytes.len();
        if len > self.max_event_len {
            return false;
        }
        let space = usize::from(value.first() == Some(&b' '));
        self.mark = start;
        self.event_len = len;
        self.event_type = Some(Loc::Chunk { start: start + 6 + space, end: start + len });
        self.state = EventState::MoreFields;
        true
    }

    /// The second fast path, for the events of the Responses API and
    /// Anthropic Messages (`event: TYPE`, then `data: JSON`): in
    /// `MoreFields` with no data yet, `line` is in this read and followed
    /// at once by a blank line. If it is a `data` line within the event
    /// limit, emits the event (what `add_line` and `dispatch` would make of
    /// it: its type, this one data value, the event's `retry`) and returns
    /// true, leaving the builder in `FirstField`, where the blank line finds
    /// nothing to dispatch. Else returns false, and the general path takes
    /// the line.
    ///
    /// Measured: see [`EventBuilder::event_line`].
    #[inline]
    fn last_data_line<F: FnMut(Frame<'_>)>(
        &mut self,
        line: Line<'_>,
        chunk: &[u8],
        out: &mut F,
    ) -> bool {
        let (Data::None, At::Chunk { start }) = (self.data, line.at) else { return false };
        let Some(value) = line.bytes.strip_prefix(b"data:") else { return false };
        let len = line.bytes.len();
        if self.event_len.saturating_add(len) > self.max_event_len {
            return false;
        }
        let space = usize::from(value.first() == Some(&b' '));
        self.data = Data::One(Loc::Chunk { start: start + 5 + space, end: start + len });
        self.dispatch(chunk, out);
        true
    }

    /// In `FirstField`, a line that is not blank and not a lone `data`
    /// event: a comment outside any event, or the first line of an event.
    fn first_line<F: FnMut(Frame<'_>)>(&mut self, line: Line<'_>, chunk: &[u8], out: &mut F) {
        debug_assert!(self.raw.is_empty() && self.mark == 0 && self.event_len == 0);
        debug_assert!(self.data == Data::None && self.event_type.is_none());
        if line.bytes[0] == b':' {
            out(Frame::Comment(text(&line.bytes[1..], &mut self.text_buf)));
            return;
        }
        // The event starts with this line: its bytes in the read start here
        // (for a line from the reader's buffer, `keep` sets `mark`).
        if let At::Chunk { start } = line.at {
            self.mark = start;
        }
        self.state = EventState::MoreFields;
        self.add_line(line, chunk, out);
    }

    /// The fast path for the event of nearly every chat completion
    /// chunk: in `FirstField`, `line` is followed at once by a blank line. If it is a `data` line within the event limit, emits the
    /// event and returns true, leaving the builder in `FirstField`: with no
    /// line before it there is no event type (so `"message"`) and no
    /// `retry`, and the blank line then finds nothing to dispatch. Else
    /// returns false, and the general path takes the line.
    ///
    /// Measured (callgrind, 1 MiB of the R1 bench stream): without it the
    /// decoder runs 61 % more instructions at 1460-byte reads and 58 % more
    /// at event-aligned ones.
    #[inline]
    fn lone_data_event<F: FnMut(Frame<'_>)>(&mut self, line: &[u8], out: &mut F) -> bool {
        let Some(value) = line.strip_prefix(b"data:") else {
            return false;
        };
        if line.len() > self.max_event_len {
            return false;
        }
        let value = value.strip_prefix(b" ").unwrap_or(value);
        emit(out, "", text(value, &mut self.data_buf), &self.last_id, None);
        true
    }

    /// In `MoreFields` (or as the first line of an event), a line that is
    /// not blank: counts it against the event limit, keeps it, and
    /// interprets it.
    fn add_line<F: FnMut(Frame<'_>)>(&mut self, line: Line<'_>, chunk: &[u8], out: &mut F) {
        self.event_len = self.event_len.saturating_add(line.bytes.len());
        if self.event_len > self.max_event_len {
            self.skip(Error::EventTooLong { limit: self.max_event_len }, out);
            return;
        }
        let loc = self.keep(line);
        if line.bytes[0] == b':' {
            // A comment inside an event: its bytes count, its text is
            // reported.
            out(Frame::Comment(text(&line.bytes[1..], &mut self.text_buf)));
            return;
        }
        self.on_field(chunk, loc);
    }

    /// Makes `line` part of the pending event: its raw bytes are kept until
    /// dispatch (in the read from `mark` on, or in `raw`). Returns where its
    /// bytes are.
    fn keep(&mut self, line: Line<'_>) -> Loc {
        match line.at {
            At::Chunk { start } => {
                debug_assert!(self.mark <= start);
                Loc::Chunk { start, end: start + line.bytes.len() }
            }
            At::Buffer { end } => {
                // The line started in an earlier read, before anything of
                // this one: it joins `raw`, and the read is kept from its
                // line end on.
                debug_assert_eq!(self.mark, 0);
                let start = self.raw.len();
                self.raw.extend_from_slice(line.bytes);
                self.mark = end;
                Loc::Raw { start, end: self.raw.len() }
            }
        }
    }

    // "If the line contains a U+003A COLON character (:)
    //     Collect the characters on the line before the first U+003A COLON
    //     character (:), and let field be that string.
    //     Collect the characters on the line after the first U+003A COLON
    //     character (:), and let value be that string. If value starts with
    //     a U+0020 SPACE character, remove it from value.
    //     Process the field using the steps described below, using field as
    //     the field name and value as the field value.
    //  Otherwise, the string is not empty but does not contain a U+003A
    //  COLON character (:)
    //     Process the field using the steps described below, using the whole
    //     line as the field name, and the empty string as the field value."

    /// Interprets a field line, at `line`.
    fn on_field(&mut self, chunk: &[u8], line: Loc) {
        let bytes = slice(chunk, &self.raw, line);
        let len = bytes.len();
        let (name, value) = match memchr(b':', bytes) {
            Some(colon) => {
                // `get`: the colon may end the line.
                let space = bytes.get(colon + 1) == Some(&b' ');
                (line.sub(0, colon), line.sub(colon + 1 + usize::from(space), len))
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

    /// A blank line ended the pending event: emits it if it had data.
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
            emit(out, event, data, &self.last_id, self.event_retry);
        }
        self.reset_event();
        self.state = EventState::FirstField;
    }

    /// Reports a broken limit and drops the pending event.
    fn skip<F: FnMut(Frame<'_>)>(&mut self, error: Error, out: &mut F) {
        out(Frame::Skipped(error));
        self.reset_event();
        self.state = EventState::SkipToBlank;
    }

    /// Forgets the pending event.
    fn reset_event(&mut self) {
        self.raw.clear();
        self.mark = 0;
        self.event_len = 0;
        self.data = Data::None;
        self.event_type = None;
        self.event_retry = None;
    }

    /// At the end of a read, with an event pending: moves the bytes of the
    /// event that are only in `chunk` into `raw`, namely `chunk[mark..
    /// unfinished]`. From `unfinished` on the bytes belong to a line the
    /// read leaves unfinished, which the line reader keeps.
    fn stash(&mut self, chunk: &[u8], unfinished: usize) {
        let mark = std::mem::take(&mut self.mark);
        debug_assert!(mark <= unfinished);
        let base = self.raw.len();
        self.raw.extend_from_slice(&chunk[mark..unfinished]);
        let moved = |loc: Loc| loc.moved(mark, base);
        if let Data::One(loc) = self.data {
            self.data = Data::One(moved(loc));
        }
        self.event_type = self.event_type.map(moved);
    }

    /// Ends the stream, which ended inside `tail`: reports what is left
    /// unfinished, and leaves the builder as new (buffers keep their
    /// capacity).
    ///
    /// Per the spec an unfinished event is not dispatched: if bytes of an
    /// unfinished line or of a pending event remain, they are emitted as one
    /// [`Frame::Truncated`] (from the event's first field line on). Nothing
    /// is emitted for an event already reported as [`Frame::Skipped`].
    pub(crate) fn finish<F: FnMut(Frame<'_>)>(&mut self, tail: Tail<'_>, out: &mut F) {
        debug_assert_eq!(self.mark, 0);
        match (self.state, tail) {
            // The skipped event was reported when it broke its limit.
            (EventState::SkipToBlank, _) => {}
            // Discarded outside a skipped event: held bytes of a byte order
            // mark, over the limit as the first line.
            (_, Tail::Discarded) => {
                out(Frame::Skipped(Error::LineTooLong { limit: self.max_line_len }));
            }
            (EventState::MoreFields, Tail::Line(line)) => {
                self.raw.extend_from_slice(line);
                out(Frame::Truncated(text(&self.raw, &mut self.text_buf)));
            }
            (EventState::FirstField, Tail::Line(line)) => {
                if !line.is_empty() {
                    out(Frame::Truncated(text(line, &mut self.text_buf)));
                }
            }
        }
        self.reset_event();
        self.state = EventState::FirstField;
        self.last_id.clear();
        self.retry = None;
    }
}

// === impl Loc ===

impl Loc {
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
            Loc::Chunk { start, end } => {
                debug_assert!(mark <= start, "a kept value lies before the kept bytes");
                Loc::Raw { start: base + start - mark, end: base + end - mark }
            }
            raw @ Loc::Raw { .. } => raw,
        }
    }
}

/// Emits an event, the one place one is assembled (steps 4 to 6 of the
/// dispatch above): of type `event`, or `message` if that is empty, with
/// the last event ID `last_id` unless that is empty.
#[inline]
fn emit<F: FnMut(Frame<'_>)>(
    out: &mut F,
    event: &str,
    data: &str,
    last_id: &str,
    retry: Option<u64>,
) {
    out(Frame::Event(Event {
        event: if event.is_empty() { "message" } else { event },
        data,
        id: if last_id.is_empty() { None } else { Some(last_id) },
        retry,
    }));
}

/// The bytes at `loc`.
#[inline]
fn slice<'a>(chunk: &'a [u8], raw: &'a [u8], loc: Loc) -> &'a [u8] {
    match loc {
        Loc::Chunk { start, end } => &chunk[start..end],
        Loc::Raw { start, end } => &raw[start..end],
    }
}

/// `bytes` as text: borrowed if valid UTF-8, else decoded into `buf` with
/// U+FFFD for each invalid sequence. Validated with SIMD (simdutf8 picks
/// AVX2 or SSE4.2 at run time): a chunk's payload is validated once, and at
/// std's speed this was the largest single cost of decoding an event.
/// Measured (callgrind, 1 MiB of the R1 bench stream): with
/// `std::str::from_utf8` the decoder runs 29 % more instructions at
/// 1460-byte and 30 % more at event-aligned reads.
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
