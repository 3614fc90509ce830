//! End-to-end tests across crates, one binary.

mod pipeline;
mod support;
mod tee;
mod transcript;
