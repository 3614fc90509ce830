//! Tool-call markup in text whose kind is already known: reasoning and
//! answer that a provider sends in fields of their own (`reasoning_content`
//! beside `content`). No tag says which is which there, but a model's tool
//! tokens (DeepSeek's `<｜tool▁calls▁begin｜>` … `<｜tool▁calls▁end｜>`,
//! FORMATS-MORE §4: they "can leak into `content` or `reasoning_content`")
//! still arrive as text, cut anywhere across deltas.
//!
//! One [`FieldMarkup`] reads one field's text, deltas in order: what a
//! field holds is a function of that field's text alone, whatever the
//! deltas and whatever came in the other field meanwhile. Markup is held
//! from its open marker to its close marker and emitted whole as one
//! [`SegmentKind::ToolCall`] segment, as the [`Splitter`](crate::Splitter)
//! does for inline text; everything else is text of the field's kind.
//!
//! Most deltas hold no byte a marker could start with:
//! [`Config::may_hold_call`] says so with one search, and such text needs
//! no `FieldMarkup` at all while none is under way ([`FieldMarkup::idle`]).

use std::sync::Arc;

use crate::config::Config;
use crate::segment::{Segment, SegmentKind};

/// What a field's reader expects next.
///
/// ```text
///   Text ── call open marker ──▶ Call ── call close marker ──▶ Text
///   Call ── held markup over the hold limit ──▶ Rest
/// ```
///
/// Only the open marker matters in `Text`, only the close marker in
/// `Call`, nothing in `Rest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Text of the field's kind; `carry` bytes of the open marker ended the
    /// last feed (they are its own prefix: nothing is copied).
    Text { carry: usize },
    /// Inside markup, held (open marker included) until its close marker.
    Call,
    /// Text of the field's kind to the end of the stream, no marker looked
    /// for: markup held past the hold limit was given up on.
    Rest,
}

/// Finds tool-call markup in the text of one field (see the module docs).
///
/// Allocates only to hold markup, within the hold bound
/// ([`Config::max_hold`]) plus one feed.
#[derive(Debug, Clone)]
pub struct FieldMarkup {
    kind: SegmentKind,
    /// The call markers: open, close. `None`: no markup is looked for.
    markers: Option<(Arc<str>, Arc<str>)>,
    max_hold: usize,
    state: State,
    /// Markup under way, from its open marker.
    hold: String,
    hold_limit_hit: bool,
}

impl FieldMarkup {
    /// A reader of one field's text, whose text is `kind` (thinking or
    /// answer), looking for the tool-call markers of `config`.
    pub fn new(config: &Config, kind: SegmentKind) -> FieldMarkup {
        FieldMarkup {
            kind,
            markers: config.call.clone(),
            max_hold: config.max_hold,
            state: State::Text { carry: 0 },
            hold: String::new(),
            hold_limit_hit: false,
        }
    }

    /// Nothing held and no markup under way: text that
    /// [`Config::may_hold_call`] clears is all of the field's kind, and may
    /// be taken as such without feeding it here.
    #[inline]
    pub fn idle(&self) -> bool {
        matches!(self.state, State::Text { carry: 0 } | State::Rest)
    }

    /// Bytes fed but not yet emitted (a partial marker, held markup): they
    /// are emitted before anything fed later.
    #[inline]
    pub fn pending_len(&self) -> usize {
        match self.state {
            State::Text { carry } => carry,
            State::Call => self.hold.len(),
            State::Rest => 0,
        }
    }

    /// Feeds the field's next delta; calls `out` for every segment decided
    /// by it, in order: text of the field's kind, or whole markup.
    pub fn feed<F: FnMut(Segment<'_>)>(&mut self, text: &str, mut out: F) {
        let Some((open, close)) = self.markers.clone() else {
            return emit(&mut out, self.kind, text);
        };
        let mut rest = match self.state {
            State::Text { carry } if carry > 0 => self.resume(&open, carry, text, &mut out),
            _ => text,
        };
        loop {
            let next = match self.state {
                State::Text { .. } => self.scan_text(&open, rest, &mut out),
                State::Call => self.scan_call(&open, &close, rest, &mut out),
                State::Rest => {
                    emit(&mut out, self.kind, rest);
                    None
                }
            };
            match next {
                Some(after) => rest = after,
                None => return,
            }
        }
    }

    /// The field ended: a partial marker is text, markup cut short goes out
    /// as it was held (what it was is for its reader to say). Returns
    /// whether markup passed the hold limit. Ready for another stream.
    pub fn finish<F: FnMut(Segment<'_>)>(&mut self, mut out: F) -> bool {
        match self.state {
            State::Text { carry } if carry > 0 => {
                if let Some((open, _)) = &self.markers {
                    emit(&mut out, self.kind, &open[..carry]);
                }
            }
            State::Call => emit(&mut out, SegmentKind::ToolCall, &self.hold),
            State::Text { .. } | State::Rest => {}
        }
        let hit = self.hold_limit_hit;
        self.state = State::Text { carry: 0 };
        self.hold.clear();
        self.hold_limit_hit = false;
        hit
    }

    /// The open marker's first `carry` bytes ended the last feed; `text`
    /// follows them. Each place in the carried bytes where the marker
    /// could start is tried in turn (a marker may overlap itself); bytes
    /// before it are text. Returns what is left of `text` to read.
    fn resume<'t, F: FnMut(Segment<'_>)>(
        &mut self,
        open: &str,
        carry: usize,
        text: &'t str,
        out: &mut F,
    ) -> &'t str {
        self.state = State::Text { carry: 0 };
        let (marker, text_bytes) = (open.as_bytes(), text.as_bytes());
        for at in (0..carry).filter(|&at| open.is_char_boundary(at)) {
            let head = &marker[at..carry];
            if !marker.starts_with(head) {
                continue;
            }
            let need = &marker[head.len()..];
            if text_bytes.starts_with(need) {
                emit(out, self.kind, &open[..at]);
                self.enter_call(open);
                return &text[need.len()..];
            }
            if need.starts_with(text_bytes) {
                emit(out, self.kind, &open[..at]);
                self.state = State::Text { carry: head.len() + text.len() };
                return "";
            }
        }
        emit(out, self.kind, &open[..carry]);
        text
    }

    /// Text up to the open marker is the field's; at the marker, markup
    /// begins (returns what follows it). A marker's prefix at the end is
    /// carried.
    fn scan_text<'t, F: FnMut(Segment<'_>)>(
        &mut self,
        open: &str,
        text: &'t str,
        out: &mut F,
    ) -> Option<&'t str> {
        let (bytes, marker) = (text.as_bytes(), open.as_bytes());
        let mut from = 0;
        while let Some(i) = memchr::memchr(marker[0], &bytes[from..]) {
            let at = from + i;
            let tail = &bytes[at..];
            if tail.starts_with(marker) {
                emit(out, self.kind, &text[..at]);
                self.enter_call(open);
                return Some(&text[at + marker.len()..]);
            }
            if marker.starts_with(tail) {
                emit(out, self.kind, &text[..at]);
                self.state = State::Text { carry: tail.len() };
                return None;
            }
            from = at + 1;
        }
        emit(out, self.kind, text);
        None
    }

    /// Markup is held until its close marker (returns what follows it),
    /// within the hold limit: markup whose close marker does not start
    /// within `max_hold` bytes of its open marker goes out as far as the
    /// limit, and the rest of the field is text. Where that happens depends
    /// on the field's bytes, not on the deltas.
    fn scan_call<'t, F: FnMut(Segment<'_>)>(
        &mut self,
        open: &str,
        close: &str,
        text: &'t str,
        out: &mut F,
    ) -> Option<&'t str> {
        // A close marker may have begun in the held bytes: search again
        // from where it could, never before the open marker's end.
        let from = self.hold.len().saturating_sub(close.len().saturating_sub(1)).max(open.len());
        let before = self.hold.len();
        self.hold.push_str(text);
        let found = memchr::memmem::find(&self.hold.as_bytes()[from..], close.as_bytes());
        match found.map(|i| from + i) {
            Some(at) if at <= self.max_hold => {
                let end = at + close.len();
                emit(out, SegmentKind::ToolCall, &self.hold[..end]);
                self.hold.clear();
                self.state = State::Text { carry: 0 };
                Some(&text[end - before..])
            }
            // A close marker may still start within the limit: it would
            // end within `max_hold + close.len()` bytes.
            None if self.hold.len() < self.max_hold + close.len() => None,
            _ => {
                let mut cut = self.max_hold;
                while !self.hold.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.hold_limit_hit = true;
                emit(out, SegmentKind::ToolCall, &self.hold[..cut]);
                emit(out, self.kind, &self.hold[cut..]);
                self.hold.clear();
                self.state = State::Rest;
                None
            }
        }
    }

    fn enter_call(&mut self, open: &str) {
        self.hold.push_str(open);
        self.state = State::Call;
    }
}

#[inline]
fn emit<F: FnMut(Segment<'_>)>(out: &mut F, kind: SegmentKind, text: &str) {
    if !text.is_empty() {
        out(Segment { kind, text });
    }
}
