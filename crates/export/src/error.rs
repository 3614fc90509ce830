//! Why an export failed.

use std::fmt;
use std::io;
use std::path::PathBuf;

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;

/// Why rows could not be written. Files finished before it stay complete
/// and readable; the file being written is removed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Creating, writing, renaming or listing a file or directory failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Encoding Parquet failed.
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// Why.
        source: ParquetError,
    },
    /// A record batch could not be built from the rows.
    Arrow(ArrowError),
    /// A line of a manifest is not a manifest entry.
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Why.
        source: serde_json::Error,
    },
    /// A row's text is more than one Parquet value can hold.
    RowTooLarge {
        /// The file the row came from.
        source_name: String,
        /// Its stream index.
        stream: u64,
        /// Its size in bytes.
        bytes: usize,
    },
    /// The name a finished file was to get is taken (files are never
    /// replaced).
    Exists(PathBuf),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, .. } => write!(f, "cannot write {}", path.display()),
            Error::Parquet { path, .. } => write!(f, "cannot encode {}", path.display()),
            Error::Arrow(_) => write!(f, "cannot build a record batch"),
            Error::Manifest { path, line, .. } => {
                write!(f, "{}: line {line} is not a manifest entry", path.display())
            }
            Error::RowTooLarge { source_name, stream, bytes } => write!(
                f,
                "{source_name}: stream {stream}: {bytes} bytes of text, more than a row can hold"
            ),
            Error::Exists(path) => write!(f, "{} exists already", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Parquet { source, .. } => Some(source),
            Error::Arrow(source) => Some(source),
            Error::Manifest { source, .. } => Some(source),
            Error::RowTooLarge { .. } | Error::Exists(_) => None,
        }
    }
}

impl From<ArrowError> for Error {
    fn from(e: ArrowError) -> Error {
        Error::Arrow(e)
    }
}

/// `Error::Io` for `path`.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
