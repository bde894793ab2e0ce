#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferroflux_fuzzing::helm_render(data));
