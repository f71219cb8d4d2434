//! Fuzz target: arbitrary bytes through the lexer, the keyword parsers and the lowering.
//! Run: `cargo fuzz run config fuzz/seeds` (seed with `cp testdata/*.cfg fuzz/seeds/`).
#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use haproxide::config::lower::lower_with;
use haproxide::config::parse::Parser;
use haproxide::config::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = SourceFile { name: Arc::from("fuzz.cfg"), text: data.to_vec() };
    let mut parsed = Parser::new(BTreeMap::new()).without_resolver().parse_sources(&[src]);
    // No resolver: no name the fuzzer invents may cause a DNS query.
    let _ = lower_with(&mut parsed, &|_| None);
});
