//! The one error type of this crate.

use std::{fmt, io};

/// Why the tee, a capture or the transcript writer failed.
///
/// None of these ever affects the forwarded stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A thread (parse side or transcript writer) could not be started.
    Spawn(io::Error),
    /// The parse side panicked (a sink panicked); its report is lost.
    ParseSidePanicked,
    /// Creating or writing a capture file failed.
    Io(io::Error),
    /// The transcript writer failed or was already shut down.
    Transcript(thinktee_transcript::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn(e) => write!(f, "cannot start thread: {e}"),
            Error::ParseSidePanicked => f.write_str("parse side panicked"),
            Error::Io(e) => write!(f, "capture failed: {e}"),
            Error::Transcript(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn(e) | Error::Io(e) => Some(e),
            Error::Transcript(e) => Some(e),
            Error::ParseSidePanicked => None,
        }
    }
}

impl From<thinktee_transcript::Error> for Error {
    fn from(e: thinktee_transcript::Error) -> Error {
        Error::Transcript(e)
    }
}
