//! The one error type of this crate: a broken limit.

use std::fmt;

/// Why an event was skipped.
///
/// Malformed SSE does not exist: the WHATWG rules give every byte sequence a
/// meaning. The only errors are broken limits, and even those are not fatal:
/// the decoder reports them as [`Frame::Skipped`](crate::Frame::Skipped),
/// drops the event and carries on after the next blank line.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A line (without its line end) was longer than `limit` bytes.
    LineTooLong {
        /// The configured maximum line length in bytes.
        limit: usize,
    },
    /// The lines of one event added up to more than `limit` bytes.
    EventTooLong {
        /// The configured maximum event length in bytes.
        limit: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LineTooLong { limit } => write!(f, "line longer than {limit} bytes"),
            Error::EventTooLong { limit } => write!(f, "event longer than {limit} bytes"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn display_is_short_and_lowercase() {
        assert_eq!(Error::LineTooLong { limit: 8 }.to_string(), "line longer than 8 bytes");
        assert_eq!(Error::EventTooLong { limit: 9 }.to_string(), "event longer than 9 bytes");
    }
}
