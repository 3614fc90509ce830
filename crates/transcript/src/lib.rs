//! JSON Lines transcript sink for thinktee records (lossless or fail).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
