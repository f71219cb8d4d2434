//! Layer-6 fetches in HTTP rules, compared with haproxy 2.6: `req.len` is the request's
//! HTX size while the proxy holds it, and `req.payload` has no value on an HTTP message
//! (haproxy's HTX buffers hold no raw bytes).

mod common;

use std::net::SocketAddr;

use common::{start, Which};

const CFG: &str = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend h\n  bind 127.0.114.1:25390\n\
  http-request set-var(txn.l) req.len\n\
  http-request return status 200 content-type text/plain lf-string \"payload l=%[var(txn.l)]\" if { req.payload(0,0) -m found }\n\
  http-request return status 200 content-type text/plain lf-string \"no-payload l=%[var(txn.l)] p=%[req.payload(0,0),hex]\"\n";

fn run(which: Which) -> Vec<String> {
    let to: SocketAddr = "127.0.114.1:25390".parse().unwrap();
    let _p = start(which, "l6fetch", CFG, to);
    [
        "GET /abc HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        "GET /a/longer/path?q=1 HTTP/1.1\r\nhost: example.com\r\nx-one: 12345\r\nconnection: close\r\n\r\n",
    ]
    .iter()
    .map(|r| {
        let out = common::once(to, r);
        out.rsplit("\r\n\r\n").next().unwrap_or("").to_string()
    })
    .collect()
}

#[test]
fn l6_fetches_in_http_rules_match_haproxy() {
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    assert_eq!(got, want, "haproxide (left), haproxy (right)");
    // What haproxy answers, so that the comparison cannot pass on nothing.
    assert!(want[0].starts_with("no-payload l="), "{want:?}");
    assert_ne!(want[0], "no-payload l=0 p=", "{want:?}");
}
