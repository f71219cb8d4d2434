//! Conditions evaluated on real bytes: haproxy's three-valued logic.

use std::sync::Arc;

use super::*;
use crate::ir::acl::*;

fn test(fetch: Fetch, kind: MatchKind, patterns: Patterns) -> Arc<[AclTest]> {
    Arc::from(vec![AclTest {
        kw: "test".into(),
        expr: SampleExpr {
            fetch,
            convs: Vec::new(),
        },
        kind,
        icase: false,
        patterns,
    }])
}

#[test]
fn and_or_not_and_not_yet() {
    let ssl = SslInfo::default();
    let who = Who {
        proc: None,
        tables: None,
        uid: None,
        comp: None,
        peer: "10.1.2.3:5000".parse().unwrap(),
        local: "127.0.0.1:80".parse().unwrap(),
        fe_name: "f",
        be: None,
        ssl: &ssl,
    };
    let src10 = test(
        Fetch::Src,
        MatchKind::Ip,
        Patterns::Nets(vec![IpNet {
            addr: "10.0.0.0".parse().unwrap(),
            bits: 8,
        }]),
    );
    let hello = test(
        Fetch::ReqSslHelloType,
        MatchKind::Int,
        Patterns::Ints(vec![IntRange {
            min: Some(1),
            max: Some(1),
        }]),
    );
    let term = |neg, tests: &Arc<[AclTest]>| Term {
        neg,
        tests: tests.clone(),
    };
    // if src10 { req.ssl_hello_type 1 }
    let c = Cond {
        unless: false,
        suites: vec![vec![term(false, &src10), term(false, &hello)]],
    };
    assert_eq!(holds(Some(&c), &Ctx::tcp(&who, b"", false)), None);
    assert_eq!(holds(Some(&c), &Ctx::tcp(&who, b"", true)), Some(false));
    assert_eq!(
        holds(Some(&c), &Ctx::tcp(&who, b"GET /", false)),
        Some(false)
    );
    // unless !src10
    let c = Cond {
        unless: true,
        suites: vec![vec![term(true, &src10)]],
    };
    assert_eq!(holds(Some(&c), &Ctx::tcp(&who, b"", false)), Some(true));
    // An empty condition never matches.
    let c = Cond {
        unless: false,
        suites: vec![],
    };
    assert_eq!(holds(Some(&c), &Ctx::tcp(&who, b"", true)), Some(false));
}
