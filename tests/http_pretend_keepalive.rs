//! `option http-pretend-keepalive` compared with haproxy 2.6: under `http-server-close`
//! a backend with it writes requests to its servers as for a kept connection (no
//! `connection: close` on HTTP/1.1, `keep-alive` on HTTP/1.0), one without it says
//! `close`; the server connection still ends after each response.

mod common;

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 4s\n  timeout server 4s\n\
frontend f\n  bind 127.0.125.1:25450\n  option http-server-close\n\
  use_backend plain if { path_beg /plain }\n  default_backend pretend\n\
backend pretend\n  option http-pretend-keepalive\n  server s 127.0.125.9:25459\n\
backend plain\n  server s 127.0.125.9:25459\n\
frontend probe\n  bind 127.0.125.1:25451\n  no log\n  default_backend plain\n";

#[test]
fn pretend_keepalive_matches_haproxy() {
    let req = |path: &str, ver: &str, extra: &str| {
        format!("GET {path} HTTP/{ver}\r\nHost: x\r\n{extra}\r\n")
    };
    let convs = vec![
        vec![req("/p", "1.1", ""), req("/p2", "1.1", "")],
        vec![req("/p", "1.0", "Connection: keep-alive\r\n")],
        vec![req("/plain", "1.1", "")],
        vec![req("/p", "1.1", "Connection: close\r\n")],
    ];
    common::compare_http(
        ("pretend", CFG),
        ("127.0.125.1:25451", "127.0.125.1:25450"),
        &convs,
        (
            "127.0.125.9:25459",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
        &[
            "GET /p HTTP/1.1\r\nhost: x\r\n\r\n",
            "GET /p HTTP/1.0\r\nhost: x\r\nconnection: keep-alive\r\n\r\n",
            "GET /plain HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        ],
    );
}
