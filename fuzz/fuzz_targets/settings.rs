#![no_main]
//! See `sluice_edge::fuzzing::settings_never_panic`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_edge::fuzzing::settings_never_panic(data));
