//! Pure composition of SSE, chunk and splitter stages into records pushed to sinks.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
