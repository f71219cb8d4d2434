//! `http-request return` and `deny` with http-reply arguments compared with haproxy 2.6 on the same configuration and
//! requests: a string, a log-format string and a file as payload, `hdr` headers (one
//! rendering empty, which is not sent), no payload (and a 204, which has no length),
//! `default-errorfiles` through the proxy's own `errorfile`, an `errorfile` of its own,
//! haproxy's reason phrases (302 "Moved Temporarily"), keep-alive after an answer, and the
//! `option httplog` lines.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{start, Backend, Exchanges, Which};

type Seen = Arc<Mutex<Vec<String>>>;

fn config(dir: &str) -> String {
    format!(
        "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.80.100:8600\n\
  errorfile 503 {dir}/503.http\n\
  http-request return status 200 content-type text/plain string ok hdr X-A \"a %[path]\" hdr x-b b hdr X-Empty %[req.hdr(x-none)] if {{ path /s }}\n\
  http-request return if {{ path /empty }}\n\
  http-request return status 404 if {{ path /404 }}\n\
  http-request return status 503 default-errorfiles if {{ path /def }}\n\
  http-request return status 401 default-errorfiles if {{ path /def401 }}\n\
  http-request return status 403 content-type \"text/html; charset=utf-8\" file {dir}/body.txt if {{ path /file }}\n\
  http-request return content-type text/plain lf-string \"path=%[path] q=%[query]\" if {{ path_beg /lf }}\n\
  http-request return status 418 content-type text/plain lf-file {dir}/lf.txt if {{ path_beg /tea }}\n\
  http-request return status 302 hdr location /x if {{ path /loc }}\n\
  http-request return status 204 if {{ path /204 }}\n\
  http-request return status 429 errorfile {dir}/own.http if {{ path /own }}\n\
  http-request deny status 429 if {{ path /deny/a }}\n\
  http-request deny deny_status 429 if {{ path /deny/b }}\n\
  http-request deny deny_status 429 content-type text/plain string slow if {{ path /deny/c }}\n\
  http-request deny status 404 default-errorfiles if {{ path /deny/d }}\n\
  http-request deny status 503 errorfile {dir}/503.http if {{ path /deny/e }}\n\
  default_backend app\n\
backend app\n  server s 127.0.80.1:8000\n\
frontend probe\n  bind 127.0.80.100:8699\n  no log\n  default_backend app\n"
    )
}

fn conversations() -> Vec<Vec<String>> {
    let r = |line: &str| format!("{line}\r\nHost: ex.com\r\n\r\n");
    let close = |line: &str| format!("{line}\r\nHost: ex.com\r\nConnection: close\r\n\r\n");
    vec![
        vec![close("GET /s HTTP/1.1")],
        vec![close("GET /empty HTTP/1.1")],
        vec![close("GET /404 HTTP/1.1")],
        vec![close("GET /def HTTP/1.1")],
        vec![close("GET /def401 HTTP/1.1")],
        vec![close("GET /file HTTP/1.1")],
        vec![close("GET /lf/x?k=v HTTP/1.1")],
        vec![close("GET /tea HTTP/1.1")],
        vec![close("GET /loc HTTP/1.1")],
        vec![close("GET /own HTTP/1.1")],
        // deny with http-reply arguments: an empty 429, the legacy page, its own
        // payload, a page by status, an errorfile of its own (all logged PR).
        vec![close("GET /deny/a HTTP/1.1")],
        vec![close("GET /deny/b HTTP/1.1")],
        vec![close("GET /deny/c HTTP/1.1")],
        vec![close("GET /deny/d HTTP/1.1")],
        vec![close("GET /deny/e HTTP/1.1")],
        vec![close("HEAD /s HTTP/1.1")],
        vec![close("GET /s HTTP/1.0")],
        // Kept alive across answers, then forwarded.
        vec![
            r("GET /s HTTP/1.1"),
            r("GET /204 HTTP/1.1"),
            r("GET /def HTTP/1.1"),
            r("POST /lf/p HTTP/1.1").replace("\r\n\r\n", "\r\nContent-Length: 3\r\n\r\nabc"),
            close("GET /fwd HTTP/1.1"),
        ],
    ]
}

fn run(which: Which, seen: &Seen, dir: &str) -> (Exchanges, Vec<String>) {
    let p = start(
        which,
        "http-return",
        &config(dir),
        "127.0.80.100:8699".parse().unwrap(),
    );
    let to: SocketAddr = "127.0.80.100:8600".parse().unwrap();
    common::converse_all(&p, conversations().into_iter().map(|c| (to, c)), seen)
}

#[test]
fn http_return_matches_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-http-return-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        ("503.http", "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nbusy\n"),
        ("own.http", "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nRetry-After: 3\r\nContent-Length: 5\r\n\r\nslow\n"),
        ("body.txt", "hello file\n"),
        ("lf.txt", "teapot at %[path]\n"),
    ];
    for (n, c) in files {
        std::fs::write(dir.join(n), c).unwrap();
    }
    let d = dir.to_str().unwrap().to_string();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let _s: Backend = common::recording_server(
        "127.0.80.1:8000",
        seen.clone(),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    let (want, want_log) = run(Which::Haproxy, &seen, &d);
    let (got, got_log) = run(Which::Haproxide, &seen, &d);
    common::assert_same_exchanges((&want, &want_log), (&got, &got_log), &conversations());
    let _ = std::fs::remove_dir_all(&dir);
    let all: String = want.iter().flat_map(|(r, _)| r.clone()).collect();
    for s in [
        "x-a: a /s\r\nx-b: b\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok",
        "302 Moved Temporarily",
        "HTTP/1.1 204 No Content\r\n\r\n",
        "busy\n",
        "retry-after: 3",
        "path=/lf/x q=k=v",
        "teapot at /tea",
    ] {
        assert!(all.contains(s), "{s:?} in {all}");
    }
    assert_eq!(want.last().unwrap().0.len(), 5);
    assert!(
        want_log.iter().any(|l| l.contains(" LR-- ")),
        "{want_log:#?}"
    );
}
