//! What the decoder emits: [`Frame`] and [`Event`], borrowed, plus their owned
//! twins [`OwnedFrame`] and [`OwnedEvent`].

use crate::error::Error;

/// One thing the decoder found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A dispatched event: a blank line ended a block with at least one
    /// `data` field.
    Event(Event<'a>),
    /// A comment line: the text after the leading `:`, exactly (so
    /// `: keep-alive` gives `" keep-alive"`). Useful to reset idle timers;
    /// never payload.
    Comment(&'a str),
    /// A line or an event broke a limit. The event is dropped up to the next
    /// blank line; the stream goes on.
    Skipped(Error),
    /// Only from [`Decoder::finish`](crate::Decoder::finish): the raw bytes
    /// (lossy UTF-8) of the event or line left unfinished at the end of the
    /// stream, which the spec discards without dispatching.
    Truncated(&'a str),
}

/// A dispatched event, borrowing from the fed chunk when it lay wholly inside
/// it, otherwise from the decoder's internal buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The event type: the last `event` field of this event, or `"message"`
    /// when there was none (or it was empty).
    pub event: &'a str,
    /// The `data` lines joined by `'\n'`.
    pub data: &'a str,
    /// The last-event-ID buffer at dispatch. It persists across events;
    /// `None` if it was never set or was set to `""`.
    pub id: Option<&'a str>,
    /// The value of the last valid `retry` field of this event, if any.
    pub retry: Option<u64>,
}

/// An owned [`Frame`], for tests, tools and channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedFrame {
    /// See [`Frame::Event`].
    Event(OwnedEvent),
    /// See [`Frame::Comment`].
    Comment(String),
    /// See [`Frame::Skipped`].
    Skipped(Error),
    /// See [`Frame::Truncated`].
    Truncated(String),
}

/// An owned [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEvent {
    /// See [`Event::event`].
    pub event: String,
    /// See [`Event::data`].
    pub data: String,
    /// See [`Event::id`].
    pub id: Option<String>,
    /// See [`Event::retry`].
    pub retry: Option<u64>,
}

// === impl Frame ===

impl Frame<'_> {
    /// Copies the frame into an [`OwnedFrame`].
    pub fn to_owned_frame(&self) -> OwnedFrame {
        match self {
            Frame::Event(event) => OwnedFrame::Event(OwnedEvent::from(*event)),
            Frame::Comment(text) => OwnedFrame::Comment((*text).to_owned()),
            Frame::Skipped(error) => OwnedFrame::Skipped(error.clone()),
            Frame::Truncated(text) => OwnedFrame::Truncated((*text).to_owned()),
        }
    }
}

// === impl OwnedFrame ===

impl OwnedFrame {
    /// Borrows the frame as a [`Frame`].
    pub fn as_frame(&self) -> Frame<'_> {
        match self {
            OwnedFrame::Event(event) => Frame::Event(event.as_event()),
            OwnedFrame::Comment(text) => Frame::Comment(text),
            OwnedFrame::Skipped(error) => Frame::Skipped(error.clone()),
            OwnedFrame::Truncated(text) => Frame::Truncated(text),
        }
    }
}

impl From<Frame<'_>> for OwnedFrame {
    fn from(frame: Frame<'_>) -> OwnedFrame {
        frame.to_owned_frame()
    }
}

// === impl OwnedEvent ===

impl OwnedEvent {
    /// Borrows the event as an [`Event`].
    pub fn as_event(&self) -> Event<'_> {
        Event { event: &self.event, data: &self.data, id: self.id.as_deref(), retry: self.retry }
    }
}

impl From<Event<'_>> for OwnedEvent {
    fn from(event: Event<'_>) -> OwnedEvent {
        OwnedEvent {
            event: event.event.to_owned(),
            data: event.data.to_owned(),
            id: event.id.map(str::to_owned),
            retry: event.retry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_round_trip() {
        let frames = [
            Frame::Event(Event { event: "message", data: "a\nb", id: Some("7"), retry: Some(5) }),
            Frame::Comment(" keep-alive"),
            Frame::Skipped(Error::LineTooLong { limit: 3 }),
            Frame::Truncated("data: [DONE]"),
        ];
        for frame in frames {
            let owned = OwnedFrame::from(frame.clone());
            assert_eq!(owned.as_frame(), frame);
        }
    }
}
