//! The crate's one error type.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What can go wrong setting up a proxy or a replay server.
///
/// The cause, when there is one (an I/O error), is the
/// [`source`](std::error::Error::source), not part of the message.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The upstream URL is not an absolute `http://` or `https://` URL.
    InvalidUpstream(String),
    /// The listening socket could not be bound.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Accepting or serving failed.
    Io(io::Error),
    /// The TLS client could not be configured.
    Tls(String),
    /// A recording could not be read or used.
    Fixture {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        message: String,
    },
    /// No recordings were found in the paths given.
    NoFixtures,
    /// The configuration contradicts itself.
    InvalidConfig(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUpstream(why) => write!(f, "invalid upstream URL: {why}"),
            Error::Bind { addr, .. } => write!(f, "cannot listen on {addr}"),
            Error::Io(_) => f.write_str("proxy i/o failed"),
            Error::Tls(why) => write!(f, "tls setup failed: {why}"),
            Error::Fixture { path, message } => write!(f, "{}: {message}", path.display()),
            Error::NoFixtures => f.write_str("no recordings (.sse or .json files) found"),
            Error::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. } => Some(source),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}
