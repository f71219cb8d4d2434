//! `replace-header`, `replace-value` (request and response) and `http-response
//! set-status` compared with haproxy 2.6 on the same configuration and requests: the
//! heads each side receives and the `option httplog` lines (with the new status).

mod common;

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.89.1:8740\n\
  http-request replace-header X-Path ^/([^/]*)/(.*)$ /new/\\2/\\1\n\
  http-request replace-value X-List ^a(.*)$ b\\1\n\
  http-request replace-header X-Host (.*) %[req.hdr(host)]-\\1\n\
  http-request replace-header X-None (.*) never\n\
  default_backend app\n\
backend app\n\
  http-response replace-value Cache-Control ^max-age=([0-9]+)$ max-age=0\n\
  http-response replace-header Location ^http://([^/]*)(.*)$ https://\\1\\2\n\
  http-response set-status 201 if { res.hdr(x-make) -m found }\n\
  http-response set-status 299 reason \"Fine Thanks\" if { res.hdr(x-reason) -m found }\n\
  server s 127.0.89.2:8741\n\
frontend probe\n  bind 127.0.89.1:8749\n  no log\n  default_backend app\n";

fn conversations() -> Vec<Vec<String>> {
    vec![
        vec![
            "GET /a HTTP/1.1\r\nHost: ex.com\r\nX-Path: /one/two/three\r\nX-List: a1, b2 ,\"a,3\", a4\r\nX-List: ax\r\nX-Host: h\r\n\r\n".to_string(),
            "GET /b HTTP/1.1\r\nHost: ex.com\r\nX-Path: nothing\r\nX-Reason: 1\r\n\r\n".to_string(),
        ],
    ]
}

#[test]
fn header_rewrites_and_set_status_match_haproxy() {
    // The response carries what the response rules rewrite.
    let log = common::compare_http(
        ("rewrite", CFG),
        ("127.0.89.1:8749", "127.0.89.1:8740"),
        &conversations(),
        (
            "127.0.89.2:8741",
            "HTTP/1.1 200 OK\r\nCache-Control: no-cache, max-age=60 , private\r\nLocation: http://ex.com/a?b\r\nX-Make: 1\r\nContent-Length: 2\r\n\r\nok",
        ),
        &[
            "x-path: /new/two/three/one",
            "x-list: b1, b2 ,\"a,3\",b4",
            "x-list: bx",
            "x-host: ex.com-h",
            "HTTP/1.1 201 Created",
            // The replaced value loses the blanks around it.
            "cache-control: no-cache,max-age=0, private",
            "location: https://ex.com/a?b",
        ],
    );
    assert!(log.iter().any(|l| l.contains(" 201 ")), "{log:#?}");
}

/// `http-request tarpit [deny_status <code>]`: held for the proxy's `timeout tarpit`
/// (a backend's rule: its own, else its `timeout connect`), then haproxy's page, the
/// connection kept; logged `PT--` with the wait as the queue time.
#[test]
fn tarpit_matches_haproxy() {
    let cfg = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 300ms\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.89.1:8750\n  timeout tarpit 200ms\n\
  http-request tarpit if { path /t }\n\
  http-request tarpit deny_status 403 if { path /t403 }\n\
  use_backend app if { path_beg /b/ }\n\
  http-request return status 200 content-type text/plain string ok unless { path_beg /b/ }\n\
backend app\n  http-request tarpit if { path /b/t }\n  server s 127.0.89.2:8751\n\
frontend probe\n  bind 127.0.89.1:8759\n  no log\n  default_backend app\n";
    let get = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: ex.com\r\n\r\n");
    let log = common::compare_http(
        ("tarpit", cfg),
        ("127.0.89.1:8759", "127.0.89.1:8750"),
        &[
            vec![get("/t"), get("/")],
            vec![get("/t403")],
            vec![get("/b/t"), get("/b/x")],
        ],
        (
            "127.0.89.2:8751",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
        &[
            "HTTP/1.1 500 Internal Server Error",
            "HTTP/1.1 403 Forbidden",
        ],
    );
    assert_eq!(
        log.iter().filter(|l| l.contains(" PT-- ")).count(),
        3,
        "{log:#?}"
    );
}

/// A listen's rules run once for its own clients (as frontend rules) and, for clients
/// another frontend sends it, as backend rules: `http-request`, `http-response` and
/// `tcp-request content` alike, as haproxy runs them.
#[test]
fn listen_rules_run_once_and_for_other_frontends() {
    let cfg = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.89.1:8760\n  use_backend lst if { path_beg /via }\n  default_backend lst\n\
listen lst\n  bind 127.0.89.1:8761\n\
  tcp-request content set-var(txn.t) int(7)\n\
  http-request add-header x-l %[var(txn.t)]\n\
  http-response add-header x-lr 1\n\
  server s 127.0.89.2:8762\n\
frontend probe\n  bind 127.0.89.1:8769\n  no log\n  default_backend lst\n";
    let get = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: ex.com\r\n\r\n");
    common::compare_http(
        ("listen", cfg),
        ("127.0.89.1:8769", "127.0.89.1:8761"),
        &[vec![get("/own")]],
        (
            "127.0.89.2:8762",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
        &["x-l: 7\r\n\r\n", "content-length: 2\r\nx-lr: 1\r\n\r\n"],
    );
    common::compare_http(
        ("listen-via", cfg),
        ("127.0.89.1:8769", "127.0.89.1:8760"),
        &[vec![get("/via")]],
        (
            "127.0.89.2:8762",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
        &["x-l: 7\r\n\r\n", "content-length: 2\r\nx-lr: 1\r\n\r\n"],
    );
}
