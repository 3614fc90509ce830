//! OpenTelemetry GenAI export of thinktee records (the only crate that depends on opentelemetry).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
