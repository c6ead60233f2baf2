//! `cargo fuzz run error_body`: see `oai_compat::fuzzing::error_body` and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oai_compat::fuzzing::error_body(data));
