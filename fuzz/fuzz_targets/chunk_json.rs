//! Fuzz target `chunk_json`: see the oracle `thinktee_fuzz::check_chunk_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| thinktee_fuzz::check_chunk_json(data));
