//! End-to-end tests across crates, one binary.

mod pipeline;
mod support;
