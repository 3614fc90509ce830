//! Incremental, zero-copy server-sent events decoder following the WHATWG
//! rules for [interpreting an event stream][spec].
//!
//! - [`Decoder`]: the incremental decoder. [`feed`](Decoder::feed) it network
//!   reads cut anywhere; it calls back with each completed [`Frame`].
//!   [`finish`](Decoder::finish) reports an unfinished event as
//!   [`Frame::Truncated`].
//! - [`Builder`]: sets the limits [`MAX_LINE_LEN`] and [`MAX_EVENT_LEN`].
//! - [`Frame`]: an [`Event`], a comment, a skipped event or a truncated tail.
//! - [`Event`]: event type, data, last event ID and retry, borrowed from the
//!   fed chunk when the event lies wholly inside it.
//! - [`Error`]: a broken limit, reported in [`Frame::Skipped`].
//! - [`parse_all`]: decodes a whole input into [`OwnedFrame`]s
//!   ([`OwnedEvent`]), for tests and tools.
//!
//! Line ends are CRLF, LF or CR, also when CRLF is split across two reads; a
//! leading byte order mark is stripped; comments are reported; a blank line
//! dispatches an event only if it had `data`; invalid UTF-8 becomes U+FFFD.
//!
//! # Example
//!
//! An event split across two network reads is emitted once the blank line
//! that ends it arrives:
//!
//! ```
//! use thinktee_sse::{Decoder, Event, Frame};
//!
//! let mut decoder = Decoder::new();
//! let mut frames = Vec::new();
//!
//! decoder.feed(b"data: {\"delta\":\"Hel", |frame| frames.push(frame.to_owned_frame()));
//! assert!(frames.is_empty()); // the event is partial: nothing yet
//!
//! decoder.feed(b"lo\"}\n\n", |frame| frames.push(frame.to_owned_frame()));
//! let event = Event { event: "message", data: "{\"delta\":\"Hello\"}", id: None, retry: None };
//! assert_eq!(frames.len(), 1);
//! assert_eq!(frames[0].as_frame(), Frame::Event(event));
//!
//! decoder.finish(|frame| frames.push(frame.to_owned_frame()));
//! assert_eq!(frames.len(), 1); // nothing was left unfinished
//! ```
//!
//! # Conventions
//!
//! Slicing: a range that an invariant guarantees is sliced with plain
//! indexing (`&chunk[start..end]`), so that a broken invariant panics at once
//! (in tests, under fuzzing) instead of turning into an empty slice and wrong
//! output; the invariant is stated with `debug_assert!` where it is relied
//! on. `.get(..)` is used only where being out of range is a legitimate case
//! that the code handles, with a comment that says which: the byte after a
//! CR may be in the next read, a colon may end its line, a read may end
//! inside the byte order mark.
//!
//! [spec]: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod decoder;
mod error;
mod event_builder;
mod frame;
mod line_reader;
#[cfg(test)]
mod tests;

pub use crate::decoder::{Builder, Decoder, MAX_EVENT_LEN, MAX_LINE_LEN, parse_all};
pub use crate::error::Error;
pub use crate::frame::{Event, Frame, OwnedEvent, OwnedFrame};
