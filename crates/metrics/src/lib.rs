//! Per-stream token and timing metrics computed from thinktee records.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
