//! Every keyword grammar/keywords.md marks supported is in grammar/keyword-tests.tsv, with
//! an example line and the tests that show its behaviour. Two checks keep that honest:
//!
//! - the example, added to a small configuration, changes the validated configuration
//!   (the IR): a keyword that reaches the parser but no IR field is dropped, a defect;
//! - every test the registry names exists; a keyword with no test yet says `NONE` and is
//!   counted, so the gap stays visible (the list is in the closing notes).

use std::collections::BTreeMap;

use haproxide::config::keywords::{self, Keyword, Status};

const REGISTRY: &str = include_str!("../grammar/keyword-tests.tsv");

/// A base configuration with one line (or one bind/server parameter) slotted in; `\n` in
/// an example starts another line of the same section.
fn config(place: &str, example: &str) -> String {
    let example = example.replace("\\n", "\n  ");
    let slot = |p: &str| if p == place { example.as_str() } else { "" };
    format!(
        "global\n  log 127.0.0.1:514 local0\n  {}\ndefaults\n  mode tcp\n  log global\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend f\n  bind 127.0.0.1:21990 {}\n  default_backend b\n  {}\nbackend b\n  {}\n  server s1 127.0.0.1:21991 {}\n  server s2 127.0.0.1:21992\nbackend b2\n  server s 127.0.0.1:21994\nresolvers dns\n  nameserver ns1 127.0.0.1:53\n",
        slot("global"),
        slot("bind"),
        slot("frontend"),
        slot("backend"),
        slot("server"),
    )
}

struct Row<'a> {
    section: &'a str,
    keyword: &'a str,
    place: &'a str,
    example: &'a str,
    tests: &'a str,
    /// Compare with this line instead of the base (`=line`: the two must give the same
    /// configuration), for keywords that undo or feed another one.
    against: &'a str,
}

fn rows() -> Vec<Row<'static>> {
    REGISTRY
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 5, "registry line with fewer than 5 columns: {l}");
            Row {
                section: f[0],
                keyword: f[1],
                place: f[2],
                example: f[3],
                tests: f[4],
                against: f.get(7).copied().unwrap_or(""),
            }
        })
        .collect()
}

fn table(section: &str) -> &'static [Keyword] {
    match section {
        "section" => keywords::SECTIONS,
        "global" => keywords::GLOBAL,
        "proxy" => keywords::PROXY,
        "option" => keywords::OPTIONS,
        "bind" => keywords::BIND,
        "server" => keywords::SERVER,
        other => panic!("unknown registry section '{other}'"),
    }
}

#[test]
fn every_supported_keyword_is_registered() {
    let rows = rows();
    let mut missing = Vec::new();
    for section in ["section", "global", "proxy", "option", "bind", "server"] {
        for k in table(section)
            .iter()
            .filter(|k| k.status == Status::Supported)
        {
            if !rows
                .iter()
                .any(|r| r.section == section && r.keyword == k.name)
            {
                missing.push(format!("{section} {}", k.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "supported keywords missing from grammar/keyword-tests.tsv: {missing:?}"
    );
    for r in &rows {
        let k = keywords::lookup(table(r.section), r.keyword).unwrap_or_else(|| {
            panic!(
                "registry names an unknown keyword: {} {}",
                r.section, r.keyword
            )
        });
        assert_eq!(
            k.status,
            Status::Supported,
            "{} {} is registered but not supported",
            r.section,
            r.keyword
        );
    }
}

#[test]
fn every_supported_keyword_reaches_the_ir() {
    let base =
        haproxide::config::check_offline("kw.cfg", config("", "").into_bytes(), BTreeMap::new())
            .expect("the base configuration is valid");
    let (mut dropped, mut refused, mut checked) = (Vec::new(), Vec::new(), 0);
    for r in rows() {
        if r.place == "-" {
            continue;
        }
        let text = config(r.place, r.example);
        checked += 1;
        let Some(ir) =
            haproxide::config::check_offline("kw.cfg", text.into_bytes(), BTreeMap::new())
        else {
            refused.push(format!("{} {} ({})", r.section, r.keyword, r.example));
            continue;
        };
        let (same, line) = match r.against.strip_prefix('=') {
            Some(l) => (true, l),
            None => (false, r.against),
        };
        let other = if line.is_empty() {
            Some(base.clone())
        } else {
            haproxide::config::check_offline(
                "kw.cfg",
                config(r.place, line).into_bytes(),
                BTreeMap::new(),
            )
        };
        let Some(other) = other else {
            refused.push(format!("{} {} (against: {line})", r.section, r.keyword));
            continue;
        };
        if (ir == other) != same {
            dropped.push(format!(
                "{} {} ({} against {})",
                r.section, r.keyword, r.example, r.against
            ));
        }
    }
    println!("{checked} examples checked");
    assert!(checked > 100, "only {checked} examples checked");
    assert!(refused.is_empty(), "examples refused: {refused:#?}");
    assert!(
        dropped.is_empty(),
        "parsed but no effect on the configuration: {dropped:#?}"
    );
}

#[test]
fn every_named_test_exists() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut none = 0;
    for r in rows() {
        if r.tests == "NONE" {
            none += 1;
            continue;
        }
        for t in r.tests.split(',').map(str::trim) {
            let (file, name) = t
                .split_once("::")
                .unwrap_or_else(|| panic!("test '{t}' is not file::name"));
            let text = std::fs::read_to_string(format!("{root}/{file}"))
                .unwrap_or_else(|_| panic!("{} {}: no file {file}", r.section, r.keyword));
            assert!(
                text.contains(&format!("fn {name}(")),
                "{} {}: {file} has no test {name}",
                r.section,
                r.keyword
            );
        }
    }
    // The gap, printed with --nocapture; the closing note of issue #18 lists it.
    println!("{none} supported keywords have no behaviour test yet");
}
