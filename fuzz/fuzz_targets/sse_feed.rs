//! Fuzz target `sse_feed`: see the oracle `thinktee_fuzz::check_sse_feed`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| thinktee_fuzz::check_sse_feed(data));
