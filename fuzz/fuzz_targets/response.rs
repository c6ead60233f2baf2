//! `cargo fuzz run response`: see `oai_compat::fuzzing::response` and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oai_compat::fuzzing::response(data));
