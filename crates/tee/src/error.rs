//! The one error type of this crate.

use std::{fmt, io};

/// Why the tee, its pool, a capture or the transcript writer failed.
///
/// None of these ever affects the forwarded stream. The cause, when there
/// is one, is the [`source`](std::error::Error::source), not part of the
/// message.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A thread (parse or capture worker, transcript writer) could not be
    /// started.
    Spawn(io::Error),
    /// The pool was shut down ([`ParsePool::shutdown`](crate::ParsePool::shutdown))
    /// before this tee started: it forwarded without parsing.
    PoolShutDown,
    /// The parse side panicked (a sink panicked); its report is lost.
    ParseSidePanicked,
    /// Creating or writing a capture file failed.
    Io(io::Error),
    /// The transcript writer failed or was already shut down.
    Transcript(thinktee_transcript::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Spawn(_) => "cannot start a thinktee thread",
            Error::PoolShutDown => "the parse pool is shut down",
            Error::ParseSidePanicked => "parse side panicked",
            Error::Io(_) => "raw capture failed",
            Error::Transcript(_) => "transcript writer failed",
        })
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn(e) | Error::Io(e) => Some(e),
            Error::Transcript(e) => Some(e),
            Error::PoolShutDown | Error::ParseSidePanicked => None,
        }
    }
}

impl From<thinktee_transcript::Error> for Error {
    fn from(e: thinktee_transcript::Error) -> Error {
        Error::Transcript(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_the_source_and_not_repeated_in_the_message() {
        let errors = [
            Error::Spawn(io::Error::other("no threads left")),
            Error::Io(io::Error::other("disk on fire")),
            Error::Transcript(thinktee_transcript::Error::Closed),
        ];
        for e in errors {
            let cause = std::error::Error::source(&e).expect("a cause").to_string();
            assert!(!e.to_string().contains(&cause), "{e} repeats {cause}");
        }
    }
}
