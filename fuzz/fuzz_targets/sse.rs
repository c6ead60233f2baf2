//! `cargo fuzz run sse`: see `oai_compat::fuzzing::sse` and `fuzz/README.md`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oai_compat::fuzzing::sse(data));
