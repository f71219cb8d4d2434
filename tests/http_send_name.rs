//! `http-send-name-header` against the real haproxy: the chosen server's name in the
//! request header it names, any header of that name the client sent dropped, written
//! last (after the `connection` header haproxy adds), in the case
//! `h1-case-adjust` gives, and inherited from `defaults`.

mod common;

const CFG: &str = "global\n  log stdout format raw local0\n  h1-case-adjust x-served-by X-Served-By\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
  http-send-name-header X-Served-By\n\
frontend web\n  bind 127.0.101.1:25270\n  default_backend app\n\
frontend cased\n  bind 127.0.101.1:25271\n  default_backend cased\n\
backend app\n  server alpha 127.0.101.2:25272\n\
backend cased\n  option h1-case-adjust-bogus-server\n  http-send-name-header x-served-by\n  server beta 127.0.101.2:25272\n\
frontend probe\n  bind 127.0.101.1:25279\n  no log\n  default_backend app\n";

#[test]
fn server_name_header_matches_haproxy() {
    let convs = vec![
        vec![
            "GET /a HTTP/1.1\r\nHost: h\r\nX-Served-By: spoofed\r\nx-served-by: again\r\nAccept: */*\r\n\r\n".to_string(),
            "GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".to_string(),
        ],
        vec!["GET /c HTTP/1.0\r\nHost: h\r\n\r\n".to_string()],
    ];
    let resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let log = common::compare_http(
        ("sendname", CFG),
        ("127.0.101.1:25279", "127.0.101.1:25270"),
        &convs,
        ("127.0.101.2:25272", resp),
        &[
            "accept: */*\r\nx-served-by: alpha\r\n\r\n",
            "GET /b HTTP/1.1\r\nhost: h\r\nx-served-by: alpha\r\n\r\n",
            // The `connection` header haproxy adds comes before the name.
            "connection: keep-alive\r\nx-served-by: alpha\r\n\r\n",
        ],
    );
    assert_eq!(log.len(), 3, "{log:?}");
    common::compare_http(
        ("sendname-cased", CFG),
        ("127.0.101.1:25279", "127.0.101.1:25271"),
        &convs[..1],
        ("127.0.101.2:25272", resp),
        &["X-Served-By: beta\r\n"],
    );
}
