//! The lexer, the parser and the lowering never panic, whatever the bytes: arbitrary input
//! and mutated real configurations (bounded number of cases, so the suite stays quick).

use std::collections::BTreeMap;
use std::sync::Arc;

use haproxide::config::lower::lower_with;
use haproxide::config::parse::Parser;
use haproxide::config::source::SourceFile;
use proptest::prelude::*;

fn check(bytes: Vec<u8>) {
    let src = SourceFile {
        name: Arc::from("fuzz.cfg"),
        text: bytes,
    };
    let mut env = BTreeMap::new();
    env.insert("V".to_string(), "127.0.0.1:1883".to_string());
    let mut parsed = Parser::new(env).without_resolver().parse_sources(&[src]);
    // No resolver: nothing may leave the machine, whatever names the input invents.
    let _ = lower_with(&mut parsed, &|_| None);
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
        .collect();
    v.sort();
    v.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(bytes);
    }

    #[test]
    fn arbitrary_lines(lines in proptest::collection::vec("[ -~\t]{0,80}", 0..40)) {
        check(lines.join("\n").into_bytes());
    }

    #[test]
    fn mutated_real_configs(pick in any::<prop::sample::Index>(),
                            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12)) {
        let all = seeds();
        let mut bytes = all[pick.index(all.len())].clone();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => { bytes.remove(i); }
                _ if i < bytes.len() => bytes[i] = byte,
                _ => bytes.push(byte),
            }
        }
        check(bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// The PROXY header decoder never panics and never claims more bytes than it was given.
    #[test]
    fn proxy_header_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600), v2 in any::<bool>()) {
        let mut input = if v2 { vec![0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a] } else { b"PROXY ".to_vec() };
        input.extend_from_slice(&bytes);
        for data in [&bytes[..], &input[..]] {
            if let Ok((_, n)) = haproxide::runtime::proto::proxy_protocol::decode(data) {
                prop_assert!(n <= data.len());
            }
        }
    }

    /// The command-line parser never panics on any argv.
    #[test]
    fn argv_parser(args in proptest::collection::vec(prop_oneof!["-[a-zA-Z]{1,3}", "[ -~]{0,12}", Just("-sf".to_string()), Just("-f".to_string()), Just("--".to_string())], 0..12)) {
        let _ = haproxide::cli::parse(&args);
    }
}
