//! Capture actions against the real haproxy: `declare capture`, `http-request capture
//! <sample> len|id` and `http-response capture <sample> id`, in their slots among the
//! `capture request|response header` ones, as `option httplog` shows them in `{…}`.

mod common;

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.198.1:8800\n\
  capture request header host len 5\n\
  declare capture request len 20\n\
  http-request capture path id 1\n\
  http-request capture url len 7\n\
  capture request header user-agent len 4\n\
  declare capture response len 8\n\
  http-response capture res.hdr(server) id 0\n\
  capture response header content-length len 3\n\
  http-request capture str(a|b{c}d) len 12\n\
  http-request capture req.hdr(x-none) len 3\n\
  http-request capture req.hdr(x-denied) len 6 if { path /deny }\n\
  http-request deny if { path /deny }\n\
  default_backend app\n\
backend app\n  http-request capture req.hdr(x-be) id 2\n  server s 127.0.198.2:8801\n\
frontend probe\n  bind 127.0.198.1:8809\n  no log\n  default_backend app\n";

#[test]
fn captures_match_haproxy() {
    let convs = vec![vec![
        "GET /some/long/path?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\nX-Be: backend-value\r\n\r\n".to_string(),
        "GET /deny HTTP/1.1\r\nHost: h\r\nX-Denied: yes-it-was\r\n\r\n".to_string(),
    ]];
    let log = common::compare_http(
        ("capture", CFG),
        ("127.0.198.1:8809", "127.0.198.1:8800"),
        &convs,
        (
            "127.0.198.2:8801",
            "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 2\r\n\r\nok",
        ),
        &["HTTP/1.1 403 Forbidden"],
    );
    let all = log.join("\n");
    for want in [
        "{examp|/some/long/path|backend|curl|a#7Cb#7Bc#7Dd||} {nginx/1.|2}",
        // A deny keeps what the rules before it took.
        "{h|/deny|/deny||a#7Cb#7Bc#7Dd||yes-it} {|}",
    ] {
        assert!(all.contains(want), "{want} in {all}");
    }
}
