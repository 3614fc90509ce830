//! Transparent recording reverse proxy for OpenAI-compatible endpoints.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
