//! `http-after-response` compared with haproxy 2.6 on the same configuration and
//! requests: the rules edit the server's response after the `http-response` rules and
//! the cookie, and haproxy's own answers too (a deny page, a `return`, a redirect, the
//! 503 of a backend with no server); the backend's rules run before the frontend's, an
//! `allow` ends only its own list, `set-status` changes the logged status, `capture`
//! fills a response slot, and a `res.` variable the response rules set is still there.
//! The bytes each side receives and the log lines must be the same.

mod common;

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.85.1:8730\n\
  log-format \"%ST %hs %[var(res.a)] %[var(req.r)] %{+Q}r\"\n\
  declare capture response len 12\n\
  http-request set-var(txn.p) path\n\
  http-request set-var(req.r) str(R)\n\
  http-request deny if { path /deny }\n\
  http-request return status 202 content-type text/plain string hi if { path /return }\n\
  http-request redirect location /elsewhere if { path /redirect }\n\
  use_backend empty if { path /empty }\n\
  http-response set-var(res.a) res.hdr(server)\n\
  http-after-response set-header x-fe \"%[res.hdr(x-be)]+fe %[var(res.a)] %[status]\"\n\
  http-after-response del-header server\n\
  http-after-response capture res.hdr(x-be) id 0\n\
  http-after-response set-status 299 reason \"Fine\" if { status 200 } { var(txn.p) -m str /status }\n\
  http-after-response add-header x-after-deny yes if { status 403 }\n\
  default_backend app\n\
backend app\n\
  cookie SRV insert\n\
  http-after-response set-header x-be be\n\
  http-response deny deny_status 400 if { var(txn.p) -m str /deny400 }\n\
  http-after-response replace-header set-cookie (.*) \\1;\\ SameSite=Lax\n\
  http-after-response allow if { var(txn.p) -m str /allow }\n\
  http-after-response set-header x-be2 late\n\
  server s 127.0.85.2:8731 cookie s1\n\
backend empty\n\
  http-after-response set-header x-empty yes\n\
frontend probe\n  bind 127.0.85.1:8739\n  no log\n  default_backend app\n";

fn conversations() -> Vec<Vec<String>> {
    let r = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    vec![
        vec![r("/"), r("/status"), r("/allow")],
        vec![r("/deny")],
        vec![r("/deny400")],
        vec![r("/return"), r("/redirect")],
        vec![r("/empty")],
    ]
}

#[test]
fn after_response_rules_match_haproxy() {
    let log = common::compare_http(
        ("after", CFG),
        ("127.0.85.1:8739", "127.0.85.1:8730"),
        &conversations(),
        (
            "127.0.85.2:8731",
            "HTTP/1.1 200 OK\r\nServer: origin\r\nContent-Length: 2\r\n\r\nok",
        ),
        &[
            "x-fe: be+fe origin 200",
            // The backend's `allow` ended its list, not the frontend's.
            "x-be: be\r\nx-fe: be+fe origin 200",
            "x-empty: yes\r\nx-fe: +fe  503",
            "HTTP/1.1 299 Fine",
            "x-after-deny: yes",
            // An http-response deny's 400 is the HTTP layer's: the rules see it.
            "HTTP/1.1 400 Bad request\r\ncontent-length: 90\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nx-be: be",
            "SameSite=Lax",
        ],
    );
    assert!(log.iter().any(|l| l.starts_with("299 ")), "{log:#?}");
    // The request's variables are gone by the log line, whoever answered.
    assert!(log.iter().all(|l| !l.contains(" R ")), "{log:#?}");
}
