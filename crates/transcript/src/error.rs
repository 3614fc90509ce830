//! The one error type of this crate.

use std::{fmt, io};

/// Why a transcript could not be written.
///
/// Transcripts are lossless or fail: every one of these means records were
/// not (or not entirely) written, and the sink returned it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Writing, flushing, opening or rotating a file failed.
    Io(io::Error),
    /// A record could not be serialized.
    Json(serde_json::Error),
    /// The output no longer takes records (a writer task was shut down or
    /// failed).
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "transcript write failed: {e}"),
            Error::Json(e) => write!(f, "transcript record not serializable: {e}"),
            Error::Closed => f.write_str("transcript output is closed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Json(e) => Some(e),
            Error::Closed => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::Json(e)
    }
}
