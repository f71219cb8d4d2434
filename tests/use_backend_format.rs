//! `use_backend %[…]` compared with haproxy 2.6: the backend named by a map lookup or a
//! piece of the path, per request on one kept-alive connection; a name no backend has
//! ends the rules (the default backend answers, the next rule is not tried); `%%`
//! alone is a plain name. The answering server and the log lines are compared.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{start, Which};

fn config(dir: &str) -> String {
    format!(
        "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.84.100:8600\n\
  use_backend be_%[path,field(3,/)] if {{ path_beg /p/ }}\n\
  use_backend be_two if {{ path_beg /p/ }}\n\
  use_backend %[req.hdr(host),lower,map({dir}/hosts.map)] if {{ req.hdr(host) -m found }}\n\
  default_backend be_one\n\
backend be_one\n  server s1 127.0.84.1:8000\n\
backend be_two\n  server s2 127.0.84.2:8000\n\
backend be_three\n  server s3 127.0.84.3:8000\n\
frontend probe\n  bind 127.0.84.100:8699\n  no log\n  default_backend be_one\n"
    )
}

fn run(which: Which, seen: &Arc<Mutex<Vec<String>>>, dir: &str) -> (Vec<String>, Vec<String>) {
    let p = start(
        which,
        "use-backend-format",
        &config(dir),
        "127.0.84.100:8699".parse().unwrap(),
    );
    let to: SocketAddr = "127.0.84.100:8600".parse().unwrap();
    let r = |line: &str, host: &str| format!("{line}\r\nHost: {host}\r\n\r\n");
    let conv = vec![
        r("GET /p/two/x HTTP/1.1", "a"),
        r("GET /p/three HTTP/1.1", "a"),
        r("GET /p/nosuch HTTP/1.1", "a"),
        r("GET /h HTTP/1.1", "Two.Example"),
        r("GET /h HTTP/1.1", "three.example"),
        r("GET /h HTTP/1.1", "unknown.example"),
        r("GET /h HTTP/1.1", "empty.example"),
    ];
    let (got, _) = common::converse(to, &conv, seen);
    thread::sleep(Duration::from_millis(300));
    let lines = p.lines.lock().unwrap().clone();
    (got, lines)
}

#[test]
fn use_backend_formats_match_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-ubf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts.map"),
        "two.example be_two\nthree.example be_three\nunknown.example be_nine\nempty.example\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _s: Vec<common::Backend> = [("1", "one"), ("2", "two"), ("3", "three")]
        .iter()
        .map(|(n, name)| {
            let resp: &'static str = Box::leak(
                format!("HTTP/1.1 200 OK\r\nX-Server: {name}\r\nContent-Length: 2\r\n\r\nok")
                    .into_boxed_str(),
            );
            common::recording_server(&format!("127.0.84.{n}:8000"), seen.clone(), resp)
        })
        .collect();
    let (want, want_log) = run(Which::Haproxy, &seen, &d);
    let (got, got_log) = run(Which::Haproxide, &seen, &d);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(got, want);
    let mask = |l: &Vec<String>| {
        l.iter()
            .map(|l| common::mask_httplog(l))
            .collect::<Vec<_>>()
    };
    assert_eq!(mask(&got_log), mask(&want_log));
    let servers: Vec<&str> = want
        .iter()
        .map(|r| {
            r.split("x-server: ")
                .nth(1)
                .unwrap_or("")
                .split('\r')
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(
        servers,
        ["two", "three", "one", "two", "three", "one", "one"],
        "{want:#?}"
    );
}
