//! Incremental, zero-copy splitter of reasoning-model text into thinking, answer and markup segments.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
