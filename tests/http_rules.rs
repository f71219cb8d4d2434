//! HTTP rules compared with haproxy 2.6 on the same configuration and requests:
//! `http-request allow|deny [deny_status]|redirect|set-header|add-header|del-header`,
//! `set-method|set-path|set-pathq|set-query|set-uri|replace-path|replace-pathq|replace-uri`,
//! the `redirect` keyword (location, prefix, scheme, code, drop-query, append-slash,
//! set-cookie), `http-response set-header|add-header|del-header|deny`, frontend then
//! backend rules, log-format values (`%[sample]`, `%ci`, a missing sample, a header's last
//! value, control bytes encoded, `hdr` on the response side), keep-alive
//! after an answer, `monitor-uri` and `monitor fail`, request fetches that never match in response rules (haproxy has
//! dropped the request by then), and the `option httplog` lines (PR, LR, PH states). The bytes the
//! client got and the request head the server saw are compared request by request.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{start, Backend, Exchanges, Which};

type Seen = Arc<Mutex<Vec<String>>>;

fn server(addr: &str, seen: Seen) -> Backend {
    common::recording_server(
        addr,
        seen,
        "HTTP/1.1 200 OK\r\nX-Srv: 1\r\nX-Keep: k\r\nContent-Length: 2\r\n\r\nok",
    )
}

fn config() -> String {
    String::from(
        "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.71.100:8500\n\
  monitor-uri /health\n\
  monitor fail if { req.hdr(x-fail) -m found }\n\
  acl admin path_beg /admin\n\
  acl internal src 10.0.0.0/8\n\
  http-request deny if admin !internal\n\
  http-request deny deny_status 429 if { path_beg /slow }\n\
  http-request redirect scheme https code 301 if { path_beg /secure }\n\
  http-request redirect location /moved/%[path] if { path_beg /old/ }\n\
  http-request allow if { path_beg /raw }\n\
  http-request set-header X-Port %[dst_port]\n\
  http-request add-header X-Client \"%ci and %[req.hdr(x-none)]\"\n\
  http-request set-header X-Dup one\n\
  http-request set-header X-Dec %[url,url_dec] if { path_beg /enc }\n\
  http-request set-header X-Last %[req.hdr(x-ff)] if { path_beg /enc }\n\
  http-request redirect prefix / drop-query if { path_beg /self }\n\
  http-request del-header X-Secret\n\
  redirect prefix /new drop-query code 307 if { path_beg /pfx }\n\
  redirect scheme https append-slash set-cookie SEEN=1 if { path_beg /dir }\n\
  redirect location /gone clear-cookie SEEN code 303 if { path_beg /clear }\n\
  http-response set-header X-Resp %[status]\n\
  http-response del-header X-Srv\n\
  http-response add-header X-Fe fe\n\
  http-response add-header X-Seen %[hdr(x-keep)]\n\
  use_backend guarded if { path_beg /be }\n\
  use_backend rewrite if { path_beg /rw } || { path_beg http://ex.com/rw }\n\
  default_backend app\n\
backend app\n  server s 127.0.71.1:8000\n\
backend guarded\n\
  http-request deny if { hdr(x-token) -m str bad }\n\
  http-request set-header X-Be guarded\n\
  http-response deny if { path_beg /be/deny }\n\
  http-response deny if METH_DELETE\n\
  http-response set-header X-Keep be\n\
  server s 127.0.71.1:8000\n\
backend rewrite\n\
  http-request set-path /new%[path] if { path_beg /rw/p }\n\
  http-request set-pathq /pq?z=%[query] if { path_beg /rw/q }\n\
  http-request set-query %[req.hdr(x-q)] if { path_beg /rw/s }\n\
  http-request set-method PUT if { path_beg /rw/m }\n\
  http-request set-uri http://other.example:8080/u%[path] if { path_beg /rw/u }\n\
  http-request set-uri /plain if { path_beg /rw/o }\n\
  http-request replace-path /rw/r/([^/]*)/(.*) /r2/\\2/\\1 if { path_beg /rw/r/ }\n\
  http-request replace-pathq ^/rw/t/(.*)\\?(.*)$ /t2/\\2/\\1 if { path_beg /rw/t/ }\n\
  http-request replace-uri ^/rw/v(.*) http://v.example\\1\\x21 if { path_beg /rw/v }\n\
  http-request set-header X-After %[method]:%[path]:%[query]\n\
  server s 127.0.71.1:8000\n\
frontend probe\n  bind 127.0.71.100:8599\n  no log\n  default_backend app\n",
    )
}

/// Requests; those in one inner list share a keep-alive connection.
fn conversations() -> Vec<Vec<String>> {
    let r = |line: &str, headers: &str| format!("{line}\r\nHost: ex.com\r\n{headers}\r\n");
    let close = "Connection: close\r\n";
    vec![
        vec![r("GET /admin/x HTTP/1.1", close)],
        vec![r("GET /slow HTTP/1.1", close)],
        vec![r("GET /secure/a?b=1 HTTP/1.1", close)],
        vec![r("GET /old/page HTTP/1.1", close)],
        vec![r("GET /raw HTTP/1.1", &format!("X-Secret: s\r\n{close}"))],
        vec![r(
            "GET /p?x HTTP/1.1",
            &format!("X-Secret: s\r\nX-Dup: 1\r\nX-Dup: 2\r\n{close}"),
        )],
        vec![r("GET /pfx/a?q HTTP/1.1", close)],
        vec![r(
            "GET /enc/a%0d%0aX-Admin:%201%7f HTTP/1.1",
            &format!("X-FF: 1.1.1.1, 2.2.2.2\r\nX-FF: 3.3.3.3\r\n{close}"),
        )],
        vec![r("GET /self/x?y HTTP/1.1", close)],
        vec![r("GET /clear HTTP/1.1", close)],
        // monitor-uri: answered 200, or 503 under monitor fail, never logged.
        vec![
            r("GET /health HTTP/1.1", ""),
            r("GET /health HTTP/1.1", &format!("X-Fail: 1\r\n{close}")),
        ],
        vec![r("GET http://ex.com/health HTTP/1.1", close)],
        vec![r("GET /health?x HTTP/1.1", close)],
        vec![r("GET /dir/a HTTP/1.1", close)],
        vec![r("GET /be/ok HTTP/1.1", close)],
        vec![r("GET /be/x HTTP/1.1", &format!("X-Token: bad\r\n{close}"))],
        vec![r("GET /be/deny HTTP/1.1", close)],
        vec![r("DELETE /be/y HTTP/1.1", close)],
        // The request line rewritten: path, path and query, query, method, URI (an
        // absolute one takes the host header with it), what fetches then see.
        vec![
            r("GET /rw/p/a?k=1 HTTP/1.1", ""),
            r("GET /rw/q/b?k=2 HTTP/1.1", ""),
            r("GET /rw/s/c?old HTTP/1.1", "X-Q: new=1\r\n"),
            r("GET /rw/s/d?old HTTP/1.1", ""),
            r("GET /rw/s/e HTTP/1.1", ""),
            r("GET /rw/s/f HTTP/1.1", "X-Q: a\r\n"),
            r("GET /rw/m/x HTTP/1.1", ""),
            r("GET /rw/u/x?q HTTP/1.1", ""),
            r("GET http://ex.com/rw/p/abs?z HTTP/1.1", ""),
            r("GET /rw/o/x?q HTTP/1.1", ""),
            r("GET /rw/r/a/b/c?x HTTP/1.1", ""),
            r("GET /rw/r/nomatch HTTP/1.1", ""),
            r("GET /rw/t/abc?k=v HTTP/1.1", ""),
            r("GET /rw/v/z?q HTTP/1.1", close),
        ],
        // Kept alive across a deny, a redirect and a forwarded request.
        vec![
            r("GET /admin HTTP/1.1", ""),
            r("GET /secure HTTP/1.1", ""),
            r("POST /p HTTP/1.1", "Content-Length: 3\r\n") + "abc",
            r("GET /last HTTP/1.1", close),
        ],
    ]
}

fn run(which: Which, seen: &Seen) -> (Exchanges, Vec<String>) {
    let p = start(
        which,
        "http-rules",
        &config(),
        "127.0.71.100:8599".parse().unwrap(),
    );
    let to: SocketAddr = "127.0.71.100:8500".parse().unwrap();
    common::converse_all(&p, conversations().into_iter().map(|c| (to, c)), seen)
}

#[test]
fn http_rules_match_haproxy() {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let _s = server("127.0.71.1:8000", seen.clone());
    let (want, want_log) = run(Which::Haproxy, &seen);
    let (got, got_log) = run(Which::Haproxide, &seen);
    common::assert_same_exchanges((&want, &want_log), (&got, &got_log), &conversations());
    // The rules did act: a deny, a 429, redirects, edited heads, a 502 from a response
    // rule, and the kept-alive connection answered all four requests.
    let all: String = want.iter().flat_map(|(r, _)| r.clone()).collect();
    for s in [
        "403 Forbidden",
        "429 Too Many",
        "301 Moved",
        "302 Found",
        "307 Temporary",
        "502 Bad Gateway",
    ] {
        assert!(all.contains(s), "no {s} answer");
    }
    assert!(want[5].1[0].contains("x-port: 8500") && !want[5].1[0].contains("X-Secret"));
    // The request lines were rewritten (compared above; shown here to be there).
    let heads: String = want.iter().flat_map(|(_, srv)| srv.clone()).collect();
    for line in [
        "GET /new/rw/p/a?k=1 HTTP/1.1",
        "GET /rw/s/d? HTTP/1.1",
        "PUT /rw/m/x HTTP/1.1",
        "GET /r2/b/c/a?x HTTP/1.1",
        "GET /rw/r/nomatch HTTP/1.1",
        "GET /t2/k=v/abc HTTP/1.1",
        "GET http://v.example/z?q! HTTP/1.1\r\nhost: v.example\r\n",
    ] {
        assert!(heads.contains(line), "{line}");
    }
    assert_eq!(want.last().unwrap().0.len(), 4);
    let enc = &want
        .iter()
        .find(|(_, srv)| srv.iter().any(|h| h.contains("/enc/")))
        .unwrap()
        .1[0];
    assert!(
        enc.contains("x-dec: /enc/a%0D%0AX-Admin: 1%7F\r\n") && enc.contains("x-last: 3.3.3.3\r\n"),
        "{enc}"
    );
    assert!(
        want_log.iter().any(|l| l.contains(" PR-- ")),
        "{want_log:#?}"
    );
    assert!(
        want_log.iter().any(|l| l.contains(" LR-- ")),
        "{want_log:#?}"
    );
}
