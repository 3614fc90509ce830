//! Borrowed model of OpenAI-compatible chat-completion chunks, usage and content-filter annotations.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
