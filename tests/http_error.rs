//! `http-error status <code> …` against the real haproxy: the answers haproxy gives for
//! a deny, a `deny_status`, a `return … default-errorfiles`, no server (503), a server
//! timeout (504) and an invalid response (502) built from `http-error` replies (a
//! string, a log-format string reading the request, `hdr` headers, an `http-errors`
//! section's page through `errorfiles`), from `defaults`, and ordered with `errorfile`
//! lines (the later one wins); the bytes the client gets and the `option httplog` lines.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{start, Backend, Which};

fn config(dir: &str) -> String {
    format!(
        "global\n  log stdout format raw local0\n\
http-errors site\n  errorfile 503 {dir}/site503.http\n  errorfile 404 {dir}/site404.http\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
  http-error status 503 content-type text/plain string busy\n\
frontend web\n  bind 127.0.106.1:25320\n\
  http-error status 403 content-type application/json lf-string \"{{\\\"host\\\":\\\"%[req.hdr(host)]\\\",\\\"st\\\":%[status]}}\" hdr x-path %[path]\n\
  http-error status 404 errorfiles site\n\
  http-error status 429 hdr retry-after 10\n\
  errorfile 502 {dir}/own502.http\n\
  http-error status 502 content-type text/plain string \"bad gateway here\"\n\
  http-error status 500 content-type text/plain string ignored\n\
  errorfile 500 {dir}/own500.http\n\
  http-request deny if {{ path /deny }}\n\
  http-request deny deny_status 429 if {{ path /slow }}\n\
  http-request deny deny_status 404 if {{ path /nf }}\n\
  http-request deny deny_status 500 if {{ path /500 }}\n\
  http-request return status 503 default-errorfiles if {{ path /def }}\n\
  use_backend down if {{ path /down }}\n\
  use_backend section if {{ path /section }}\n\
  use_backend slow if {{ path /timeout }}\n\
  use_backend garbage if {{ path /bad }}\n\
  default_backend app\n\
backend app\n  server s 127.0.106.2:25321\n\
backend down\n  server s 127.0.106.2:25329\n\
backend section\n  http-error status 503 errorfiles site\n  server s 127.0.106.2:25329\n\
backend slow\n  timeout server 300ms\n  http-error status 504 content-type text/html lf-string \"<p>%[path] timed out</p>\"\n  server s 127.0.106.2:25322\n\
backend garbage\n  server s 127.0.106.2:25323\n\
frontend probe\n  bind 127.0.106.1:25328\n  no log\n  default_backend app\n"
    )
}

fn requests() -> Vec<String> {
    let close =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: ex.com\r\nConnection: close\r\n\r\n");
    let mut v: Vec<String> = [
        "/deny", "/slow", "/nf", "/500", "/def", "/down", "/section", "/timeout", "/bad", "/ok",
    ]
    .iter()
    .map(|p| close(p))
    .collect();
    // Kept alive across an http-error answer, and its HEAD without a body.
    v.push("GET /deny HTTP/1.1\r\nHost: ex.com\r\n\r\nGET /ok HTTP/1.1\r\nHost: ex.com\r\nConnection: close\r\n\r\n".into());
    v.push("HEAD /deny HTTP/1.1\r\nHost: ex.com\r\nConnection: close\r\n\r\n".into());
    v
}

fn run(which: Which, dir: &str) -> (Vec<String>, Vec<String>) {
    let p = start(
        which,
        "http-error",
        &config(dir),
        "127.0.106.1:25328".parse().unwrap(),
    );
    let to: SocketAddr = "127.0.106.1:25320".parse().unwrap();
    let got = requests().iter().map(|r| common::once(to, r)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let lines = p.lines.lock().unwrap().clone();
    (got, lines)
}

#[test]
fn http_error_replies_match_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-http-error-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        ("site503.http", "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nsection 503\n"),
        ("site404.http", "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nsection 404\n"),
        ("own502.http", "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nfile 502!\n"),
        ("own500.http", "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nfile 500!\n"),
    ];
    for (n, c) in files {
        std::fs::write(dir.join(n), c).unwrap();
    }
    let d = dir.to_str().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _app: Backend = common::recording_server(
        "127.0.106.2:25321",
        seen,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    // A server that reads and never answers, and one that answers garbage.
    let _slow = Backend::with("127.0.106.2:25322", |mut c: TcpStream, _| {
        let mut b = [0u8; 4096];
        while matches!(c.read(&mut b), Ok(n) if n > 0) {}
    });
    let _bad = Backend::with("127.0.106.2:25323", |mut c: TcpStream, _| {
        let mut b = [0u8; 4096];
        let _ = c.read(&mut b);
        let _ = c.write_all(b"garbage\r\n\r\n");
        std::thread::sleep(Duration::from_millis(200));
    });
    let (want, want_log) = run(Which::Haproxy, &d);
    let (got, got_log) = run(Which::Haproxide, &d);
    let reqs = requests();
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(g, w, "answer to {:?}", reqs[i]);
    }
    let mask = |l: &[String]| {
        l.iter()
            .map(|l| common::mask_httplog(l))
            .collect::<Vec<_>>()
    };
    assert_eq!(mask(&got_log), mask(&want_log));
    let all = want.concat();
    for s in [
        // No status yet while haproxy builds its own answer.
        "{\"host\":\"ex.com\",\"st\":}",
        "x-path: /deny",
        "retry-after: 10",
        "section 404",
        "section 503",
        "bad gateway here",
        "file 500!",
        "busy",
        // The request went to the server: gone when the 504 is built.
        "<p> timed out</p>",
    ] {
        assert!(all.contains(s), "{s:?} in {all}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
