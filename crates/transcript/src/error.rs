//! The one error type of this crate.

use std::path::PathBuf;
use std::{fmt, io};

/// Why a transcript could not be written.
///
/// Every one of these means records were not (or not entirely) written,
/// and the sink returned it. The cause, when there is one (an I/O or JSON
/// error), is the [`source`](std::error::Error::source), not part of the
/// message.
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
    /// A transcript file is a symbolic link: it is never followed.
    Symlink(PathBuf),
    /// A transcript path names something other than a regular file.
    NotAFile(PathBuf),
    /// A transcript directory path names something other than a directory.
    NotADirectory(PathBuf),
    /// Others may read this file or directory and it is not ours to
    /// tighten (another user's, or a shared directory with the sticky bit).
    NotPrivate {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(_) => f.write_str("transcript i/o failed"),
            Error::Json(_) => f.write_str("transcript record not serializable"),
            Error::Closed => f.write_str("transcript output is closed"),
            Error::Symlink(path) => {
                write!(f, "refusing {}: it is a symbolic link", path.display())
            }
            Error::NotAFile(path) => write!(f, "refusing {}: not a regular file", path.display()),
            Error::NotADirectory(path) => write!(f, "{} is not a directory", path.display()),
            Error::NotPrivate { path, mode } => write!(
                f,
                "refusing {}: mode {mode:o} lets others in and it is not ours to tighten",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Json(e) => Some(e),
            Error::Closed
            | Error::Symlink(_)
            | Error::NotAFile(_)
            | Error::NotADirectory(_)
            | Error::NotPrivate { .. } => None,
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
