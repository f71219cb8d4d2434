//! `http-response return` compared with haproxy 2.6 on the same configuration and
//! requests: the server's response is dropped and the reply takes its place (a string,
//! a log-format string, an empty body, the proxy's page for the status), logged `LH--`
//! with no response time and, in `%B`, the dropped response as well as the reply; rules
//! after it do not run. The bytes each side receives and the log lines must be the same.

mod common;

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.83.1:8740\n\
  log-format \"%ST %B %Tr %tsc %{+Q}r\"\n\
  http-request set-var(txn.p) path\n\
  http-response return status 202 content-type text/plain string \"front\" if { var(txn.p) -m str /front }\n\
  default_backend app\n\
backend app\n\
  http-response return status 418 content-type text/plain string teapot hdr x-r yes if { var(txn.p) -m str /r1 }\n\
  http-response return status 503 default-errorfiles if { var(txn.p) -m str /r2 }\n\
  http-response return if { var(txn.p) -m str /r3 }\n\
  http-response return status 200 content-type text/plain lf-string \"path=%[var(txn.p)]\" if { var(txn.p) -m beg /lf }\n\
  http-response set-header x-after yes\n\
  server s 127.0.83.2:8741\n\
frontend probe\n  bind 127.0.83.1:8749\n  no log\n  default_backend app\n";

#[test]
fn http_response_return_matches_haproxy() {
    let r = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    let convs = vec![
        vec![r("/r1"), r("/r2")],
        // (No plainly forwarded request: its response time would differ between runs.)
        vec![r("/r3"), r("/lf/x"), r("/front")],
    ];
    let log = common::compare_http(
        ("resreturn", CFG),
        ("127.0.83.1:8749", "127.0.83.1:8740"),
        &convs,
        (
            "127.0.83.2:8741",
            "HTTP/1.1 200 OK\r\nServer: origin\r\nContent-Length: 2\r\n\r\nok",
        ),
        &[
            "HTTP/1.1 418 I'm a teapot",
            "x-r: yes",
            "path=/lf/x",
            "503 Service Unavailable",
        ],
    );
    assert!(log.iter().all(|l| l.contains(" -1 LH-- ")), "{log:#?}");
}
