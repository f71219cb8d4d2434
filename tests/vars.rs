//! Variables compared with haproxy 2.6 on the same configuration and requests: `set-var`
//! (typed samples, conditions), `set-var-fmt`, `unset-var`, `var()` with a default, the
//! scopes' lifetimes (`sess.` across requests, `txn.` per request, `req.` gone in the
//! response, `res.`), `proc.` from the global section, variables in ACLs and
//! `use_backend`; `tcp-request content` rules run on each HTTP request (set-var,
//! reject), and in TCP mode on the client's first bytes. The bytes each side gets and the
//! log lines are compared.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{start, Backend, Which};

const HTTP: &str = "global\n  log stdout format raw local0\n\
  set-var proc.greeting str(hello)\n\
  setenv VARS_TEST_ENV from-env\n\
  set-var proc.env env(VARS_TEST_ENV)\n\
  set-var-fmt proc.both %[var(proc.greeting)]-world\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.87.1:8710\n\
  tcp-request content set-var(sess.first) path if { path_beg /first }\n\
  tcp-request content reject if { path /reject }\n\
  tcp-request content set-var(txn.early) req.hdr_cnt(x-a)\n\
  tcp-request content set-var(txn.len) req.len\n\
  http-request set-var(txn.host) req.hdr(host),lower\n\
  http-request set-var(req.ua) req.hdr(user-agent)\n\
  http-request set-var(txn.n,ifnotexists) int(5)\n\
  http-request set-var(txn.n,ifgt) req.hdr_cnt(x-a)\n\
  http-request set-var(txn.empty,ifnotempty) req.hdr(x-empty)\n\
  http-request set-var-fmt(txn.fmt) \"%[var(txn.host)]:%[var(txn.n)]\"\n\
  http-request set-var(proc.hits) int(1) if { path /proc }\n\
  http-request unset-var(txn.host) if { path /unset }\n\
  http-request set-header x-vars \"%[var(txn.host)]|%[var(req.ua)]|%[var(txn.n)]|%[var(sess.first)]|%[var(proc.both)]|%[var(txn.fmt)]|%[var(txn.none,dflt)]|%[var(txn.early)]|%[var(txn.empty,none)]|%[var(proc.hits)]|%[var(proc.env)]|%[var(txn.len)]\"\n\
  http-request deny if { var(txn.host) -m str blocked.example }\n\
  use_backend alt if { var(txn.host) -m beg alt. }\n\
  default_backend app\n\
backend app\n\
  http-response set-var(res.code) status\n\
  http-response set-header x-res \"%[var(res.code)]|%[var(req.ua,gone)]|%[var(txn.n)]|%[var(txn.fmt)]|%[var(res.none,dflt)]\"\n\
  server s 127.0.87.2:8711\n\
backend alt\n\
  tcp-request content reject if { path /alt-reject }\n\
  http-request set-header x-alt %[var(txn.host)]\n\
  server s 127.0.87.2:8711\n\
frontend probe\n  bind 127.0.87.1:8719\n  no log\n  default_backend app\n";

fn conversations() -> Vec<Vec<String>> {
    let r = |line: &str, extra: &str| {
        format!("{line}\r\nHost: Ex.COM\r\nUser-Agent: t/1\r\n{extra}\r\n")
    };
    vec![
        // sess.first from the first request stays; txn and req variables start again.
        vec![
            r("GET /first HTTP/1.1", "X-A: 1\r\nX-A: 2\r\n"),
            r("GET /second HTTP/1.1", "X-Empty: \r\n"),
            r("GET /unset HTTP/1.1", "X-Empty: v\r\n"),
        ],
        vec![r("GET /proc HTTP/1.1", ""), r("GET /after HTTP/1.1", "")],
        vec![format!("GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n")],
        vec![format!("GET /x HTTP/1.1\r\nHost: alt.ex\r\n\r\n")],
        vec![format!("GET /alt-reject HTTP/1.1\r\nHost: alt.ex\r\n\r\n")],
        vec![r("GET /reject HTTP/1.1", "")],
    ]
}

#[test]
fn http_variables_match_haproxy() {
    let log = common::compare_http(
        ("vars", HTTP),
        ("127.0.87.1:8719", "127.0.87.1:8710"),
        &conversations(),
        (
            "127.0.87.2:8711",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
        &[
            "x-vars: ex.com|t/1|2|/first|hello-world|ex.com:2|dflt|2|none|",
            // ifgt: the 5 set first is greater than no x-a at all.
            "x-vars: ex.com|t/1|0|/first|hello-world|ex.com:0|dflt|0|none|",
            "x-vars: |t/1|0|/first|hello-world|ex.com:0|dflt|0|v|",
            "|1|from-env|",
            "x-res: 200||2|ex.com:2|dflt",
            "|from-env|",
            "x-alt: alt.ex",
        ],
    );
    assert!(
        log.iter()
            .any(|l| l.contains(" PR-- ") && l.contains("<BADREQ>")),
        "{log:#?}"
    );
}

/// In TCP mode: `tcp-request content` variables on the client's first bytes choose the
/// backend, and a rule that waits for data resumes where it stopped.
#[test]
fn tcp_variables_match_haproxy() {
    let cfg =
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind 127.0.87.1:8720\n  tcp-request inspect-delay 2s\n\
  tcp-request content set-var(sess.hits,ifnotexists) int(1)\n\
  tcp-request content set-var(sess.hits,iflt) int(2)\n\
  tcp-request content set-var(sess.tag) req.payload(0,3) if { req.len ge 3 }\n\
  tcp-request content accept if { var(sess.hits) -m int 2 }\n\
  default_backend a\n\
  use_backend b if { var(sess.tag) -m str BBB }\n\
backend a\n  server s 127.0.87.3:8721\n\
backend b\n  server s 127.0.87.4:8722\n\
frontend again\n  bind 127.0.87.1:8723\n  tcp-request inspect-delay 2s\n\
  tcp-request content reject if { var(txn.seen) -m bool }\n\
  tcp-request content set-var(txn.seen) bool(true)\n\
  tcp-request content accept if { req.len ge 3 }\n\
  default_backend a\n\
frontend upgrade\n  bind 127.0.87.1:8724\n  default_backend web\n\
backend web\n  mode http\n  tcp-request content set-var(txn.k) req.len\n\
  http-request return status 200 content-type text/plain lf-string \"k=%[var(txn.k)]\"\n";
    let a = Backend::with("127.0.87.3:8721", |mut c: TcpStream, _| {
        let _ = c.write_all(b"from a\n");
    });
    let b = Backend::with("127.0.87.4:8722", |mut c: TcpStream, _| {
        let _ = c.write_all(b"from b\n");
    });
    let mut outs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let to: SocketAddr = "127.0.87.1:8720".parse().unwrap();
        let p = start(w, "tcpvars", cfg, to);
        let mut got = Vec::new();
        for (first, port) in [("BBB", 8720), ("AAA", 8720), ("B", 8720), ("BBB", 8723)] {
            let to: SocketAddr = format!("127.0.87.1:{port}").parse().unwrap();
            let mut c = TcpStream::connect(to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
            // Sent in two parts: the set-var rule waits for its length on the first.
            // (A rejected connection may be reset before the second part.)
            let _ = c.write_all(&first.as_bytes()[..1]);
            std::thread::sleep(Duration::from_millis(100));
            let _ = c.write_all(&first.as_bytes()[1..]);
            let mut out = Vec::new();
            let _ = c.read_to_end(&mut out);
            got.push(String::from_utf8_lossy(&out).into_owned());
        }
        // A TCP frontend's stream upgraded for an HTTP backend: its content rules run
        // once, on the request.
        let mut c = TcpStream::connect("127.0.87.1:8724").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        got.push(String::from_utf8_lossy(&out).into_owned());
        drop(p);
        outs.push(got);
    }
    drop((a, b));
    assert_eq!(outs[1], outs[0], "haproxide (left), haproxy (right)");
    assert_eq!(outs[0][0], "from b\n");
    // The rules start again from the first on new data: the variable set on the first
    // pass rejects on the second.
    assert_eq!(outs[0][3], "");
    assert!(outs[0][4].contains("k="), "{:?}", outs[0]);
}
