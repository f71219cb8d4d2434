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
