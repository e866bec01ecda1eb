#![no_main]
//! See `sluice_edge::fuzzing::client_input_never_panics`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_edge::fuzzing::client_input_never_panics(data));
