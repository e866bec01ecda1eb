#![no_main]
//! See `sluice_edge::fuzzing::streaming_equals_single_shot`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_edge::fuzzing::streaming_equals_single_shot(data));
