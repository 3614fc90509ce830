//! Async tee: forwards stream bytes untouched and feeds a copy to the thinktee pipeline.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
