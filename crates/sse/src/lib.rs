//! Incremental, zero-copy server-sent events decoder (WHATWG rules).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
