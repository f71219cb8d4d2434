//! Fuzz target: arbitrary bytes through the lexer, the keyword parsers and the lowering.
//! Run: `cargo fuzz run config fuzz/seeds` (seed with `cp testdata/*.cfg fuzz/seeds/`).
#![no_main]

use std::collections::BTreeMap;

use haproxide::config::check_offline;
use libfuzzer_sys::fuzz_target;

// Offline: no name the fuzzer invents may cause a DNS query.
fuzz_target!(|data: &[u8]| {
    let _ = check_offline("fuzz.cfg", data.to_vec(), BTreeMap::new());
});
