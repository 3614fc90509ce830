//! Fuzz target `document_stream`: see the oracle `thinktee_fuzz::check_document_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| thinktee_fuzz::check_document_stream(data));
