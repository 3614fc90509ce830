//! Fuzz target `think_split`: see the oracle `thinktee_fuzz::check_think_split`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| thinktee_fuzz::check_think_split(data));
