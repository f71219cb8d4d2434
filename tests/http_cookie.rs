//! Cookie persistence compared with haproxy 2.6 on the same configuration and requests:
//! `cookie … insert indirect nocache`, `rewrite`, `prefix`, `preserve`, `postonly`,
//! passive mode, `maxidle`/`maxlife` dates, a cookie naming a server in maintenance, an
//! unknown one. Compared: the response heads the client gets (the inserted
//! `set-cookie` and `cache-control` included), the `cookie` headers the servers get,
//! which server answered, and the `option httplog` lines with their cookie letters;
//! and the `capture` lines' fields (`%hr %hrl %hs %hsl %CC %CS`) in HTTP and TCP mode.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

/// What the servers received: their address and the request's `cookie` lines.
type Seen = Arc<Mutex<Vec<String>>>;

/// A server answering each request with `extra` headers and its own name in the body.
fn server(addr: &'static str, extra: &'static str, seen: Seen) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let Some(req) = common::read_http_message(&mut c, &mut Vec::new()) else {
            return;
        };
        let head = String::from_utf8_lossy(&req).into_owned();
        let cookies: Vec<&str> = head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("cookie:"))
            .collect();
        seen.lock()
            .unwrap()
            .push(format!("{addr} {}", cookies.join(" | ")));
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{addr}",
            addr.len()
        );
        let _ = c.write_all(resp.as_bytes());
    })
}

const CACHEABLE: &str = "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n";
const SETS_SRV: &str = "Set-Cookie: SRV=xyz; Path=/; HttpOnly\r\n";
const SETS_JSESSION: &str = "Set-Cookie: JSESSIONID=abc123; Path=/\r\n";

fn config() -> String {
    let mut c = String::from(
        "global\n  log stdout format raw local0\ndefaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n",
    );
    let backends: &[(u16, &str, &str)] = &[
        (8200, "cookie SRV insert indirect nocache", "1"),
        (8201, "cookie SRV rewrite", "3"),
        (8202, "cookie JSESSIONID prefix", "5"),
        (8203, "cookie SRV insert preserve", "3"),
        (8204, "cookie SRV", "1"),
        (8205, "cookie SRV insert postonly", "1"),
        (
            8206,
            "cookie SRV insert indirect httponly secure domain .a.com maxidle 30m maxlife 8h attr SameSite=Lax",
            "1",
        ),
        (8207, "cookie SRV insert", "3"),
        (8208, "cookie SRV indirect", "3"),
    ];
    for (port, line, net) in backends {
        let second = if *net == "1" {
            "2"
        } else if *net == "3" {
            "4"
        } else {
            "6"
        };
        c.push_str(&format!(
            "frontend f{port}\n  bind 127.0.67.100:{port}\n  default_backend b{port}\nbackend b{port}\n  {line}\n  server s1 127.0.67.{net}:8000 cookie s1\n  server s2 127.0.67.{second}:8000 cookie s2\n  server s3 127.0.67.{net}:8000 cookie s3 disabled\n  server s4 127.0.67.{second}:8000\n"
        ));
    }
    // Captures: httplog's `{…}` blocks and a custom format with every capture variable;
    // a TCP frontend counts its header captures without filling them.
    c.push_str("frontend f8209\n  bind 127.0.67.100:8209\n  capture request header Host len 5\n  capture request header X-A len 20\n  capture response header Content-Length len 10\n  capture response header X-None len 3\n  capture cookie SRV len 8\n  default_backend b8200\n");
    c.push_str("frontend f8210\n  bind 127.0.67.100:8210\n  log-format \"%hr|%hrl|%{+Q}hrl|%hs|%hsl|%{+Q}hs|%CC|%CS|%tsc\"\n  capture request header X-A len 20\n  capture request header X-B len 4\n  capture response header Set-Cookie len 12\n  capture cookie SR len 20\n  default_backend b8201\n");
    c.push_str("frontend f8211\n  mode tcp\n  bind 127.0.67.100:8211\n  log-format \"%hr %hrl %hs %ST\"\n  capture request header Host len 5\n  capture request header X len 5\n  default_backend t8211\nbackend t8211\n  mode tcp\n  server s1 127.0.67.1:8000\n");
    c + "frontend probe\n  bind 127.0.67.100:8299\n  no log\n  default_backend b8200\n"
}

/// Frontend port, the request's cookie lines, and the method.
type Case = (u16, &'static [&'static str], &'static str);

const CASES: &[Case] = &[
    (8200, &[], "GET"),
    (8200, &["SRV=s2"], "GET"),
    (8200, &["a=1; SRV=s2; b=2"], "GET"),
    (8200, &["SRV=zz"], "GET"),
    (8200, &["SRV=s3; a=1"], "GET"),
    (8200, &["a=1", "SRV=s1, b=2"], "GET"),
    (8200, &["SRV=s2"], "POST"),
    (8201, &[], "GET"),
    (8201, &["SRV=s2"], "GET"),
    (8202, &[], "GET"),
    (8202, &["a=1; JSESSIONID=s2~abc123; b=2"], "GET"),
    (8202, &["JSESSIONID=abc123"], "GET"),
    (8203, &[], "GET"),
    (8203, &["SRV=s1"], "GET"),
    (8204, &["SRV=s2"], "GET"),
    (8204, &[], "GET"),
    (8205, &[], "GET"),
    (8205, &[], "POST"),
    (8206, &[], "GET"),
    (8206, &["SRV=s2"], "GET"),
    (8206, &["SRV=s2|AAAAB"], "GET"),
    (8207, &["SRV=s1"], "GET"),
    (8207, &[], "GET"),
    (8208, &["SRV=s2"], "GET"),
    (8208, &[], "GET"),
    (8209, &["a=1; SRV = s2"], "GET"),
    (8209, &[], "GET"),
    (8210, &["SR=1; SRV=s2"], "GET"),
    (8210, &[], "GET"),
    (8211, &[], "GET"),
];

/// Dates in inserted cookies (`|xxxxx`) differ from run to run: masked.
fn mask_dates(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'|'
            && i + 6 <= b.len()
            && b[i + 1..i + 6]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        {
            out.push_str("|DATE");
            i += 6;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Per case: the response head the client got and what the server saw; and the log.
fn run(which: Which, seen: &Seen) -> (Vec<(String, Vec<String>)>, Vec<String>) {
    let p = start(
        which,
        "http-cookie",
        &config(),
        "127.0.67.100:8299".parse().unwrap(),
    );
    let mut out = Vec::new();
    for (port, cookies, method) in CASES {
        let before = seen.lock().unwrap().len();
        let to: SocketAddr = format!("127.0.67.100:{port}").parse().unwrap();
        let mut req = format!(
            "{method} /x HTTP/1.1\r\nHost: host-{port}\r\nX-A: first\r\nX-A: a|b\"c{{}}#\\]\r\n"
        );
        for ck in *cookies {
            req.push_str(&format!("Cookie: {ck}\r\n"));
        }
        if *method == "POST" {
            req.push_str("Content-Length: 0\r\n");
        }
        req.push_str("Connection: close\r\n\r\n");
        let mut c = TcpStream::connect(to).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c.write_all(req.as_bytes()).unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        thread::sleep(Duration::from_millis(30));
        let got = mask_dates(&String::from_utf8_lossy(&got));
        let srv = seen.lock().unwrap()[before..].to_vec();
        out.push((got, srv));
    }
    thread::sleep(Duration::from_millis(300));
    let lines = p.lines.lock().unwrap().clone();
    (out, lines)
}

#[test]
fn cookie_persistence_matches_haproxy() {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let _s: Vec<Backend> = [
        ("127.0.67.1:8000", CACHEABLE),
        ("127.0.67.2:8000", CACHEABLE),
        ("127.0.67.3:8000", SETS_SRV),
        ("127.0.67.4:8000", SETS_SRV),
        ("127.0.67.5:8000", SETS_JSESSION),
        ("127.0.67.6:8000", SETS_JSESSION),
    ]
    .into_iter()
    .map(|(a, e)| server(a, e, seen.clone()))
    .collect();
    let (want, want_log) = run(Which::Haproxy, &seen);
    let (got, got_log) = run(Which::Haproxide, &seen);
    for ((w, g), case) in want.iter().zip(&got).zip(CASES) {
        assert_eq!(g.0, w.0, "{case:?}: the client got another answer");
        assert_eq!(g.1, w.1, "{case:?}: the server got other cookies");
    }
    let want_log: Vec<String> = want_log.iter().map(|l| common::mask_httplog(l)).collect();
    let got_log: Vec<String> = got_log.iter().map(|l| common::mask_httplog(l)).collect();
    assert_eq!(got_log, want_log, "log lines differ");
    // Captures came out as haproxy writes them (compared above); show they are there.
    assert!(
        want_log
            .iter()
            .any(|l| l.contains("{host-|a#7Cb#22c#7B#7D#23\\]}")),
        "no capture in {want_log:#?}"
    );
    // The comparison covers every letter pair the cases are there for.
    for tsc in [
        "--NI", "--VN", "--II", "--DI", "--NR", "--VR", "--NP", "----", "--VU", "--VD",
    ] {
        assert!(
            want_log.iter().any(|l| l.contains(&format!(" {tsc} "))),
            "no {tsc} line in {want_log:#?}"
        );
    }
}
