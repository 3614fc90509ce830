//! This crate's [`Error`].

use std::fmt;
use std::time::Duration;

/// Why OpenTelemetry export could not be set up or shut down.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// [`Otel::init`](crate::Otel::init) was called outside a tokio runtime.
    NoRuntime,
    /// The endpoint is not a usable URL.
    InvalidEndpoint(String),
    /// An exporter could not be built (bad configuration, missing TLS, ...).
    Build(String),
    /// Flushing or shutting down a provider failed; telemetry may be lost.
    Shutdown(String),
    /// Shutdown did not finish within its bound; telemetry may be lost.
    ShutdownTimeout(Duration),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoRuntime => f.write_str("opentelemetry export needs a tokio runtime"),
            Error::InvalidEndpoint(e) => write!(f, "invalid otlp endpoint: {e}"),
            Error::Build(e) => write!(f, "cannot build otlp exporter: {e}"),
            Error::Shutdown(e) => write!(f, "opentelemetry shutdown failed: {e}"),
            Error::ShutdownTimeout(t) => {
                write!(f, "opentelemetry shutdown timed out after {} ms", t.as_millis())
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<opentelemetry_otlp::ExporterBuildError> for Error {
    fn from(e: opentelemetry_otlp::ExporterBuildError) -> Self {
        Error::Build(e.to_string())
    }
}
