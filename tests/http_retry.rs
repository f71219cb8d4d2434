//! HTTP retries (`retry-on`'s response conditions) compared with haproxy 2.6: a request
//! is sent again (its body too) after an empty response, a junk response, a response
//! timeout or a named status, within `retries`, on the same server or, with `option
//! redispatch`, on another; what the client gets, what each server saw, the log lines
//! (retries, redispatch, termination) and the retry counters must be haproxy's. Also a
//! later request of a kept-alive connection losing its server without a response:
//! haproxy closes the client connection with nothing sent or logged; and `http-request
//! disable-l7-retry`.
//! Servers 127.0.128.1-2:25481, frontend 127.0.128.100:25480.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{ask, proxy_field, start, Backend, Which};

const FRONT: &str = "127.0.128.100:25480";

fn config(sock: &str) -> String {
    let one = "  server s1 127.0.128.1:25481\n";
    let two = "  server s1 127.0.128.1:25481\n  server s2 127.0.128.2:25481\n";
    format!(
        "global\n  log stdout format raw local0\n  stats socket {sock} level admin\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 600ms\n\
frontend f\n  bind {FRONT}\n  http-request disable-l7-retry if {{ path_beg /e/off/ }}\n  use_backend e if {{ path_beg /e/ }}\n  use_backend j if {{ path_beg /j/ }}\n  use_backend t if {{ path_beg /t/ }}\n  use_backend s if {{ path_beg /s/ }}\n  use_backend d if {{ path_beg /d/ }}\n  default_backend n\n\
backend e\n  retry-on empty-response\n  retries 2\n{one}\
backend j\n  retry-on junk-response\n{one}\
backend t\n  retry-on response-timeout\n{one}\
backend s\n  retry-on 503 404\n{one}\
backend d\n  retry-on all-retryable-errors\n  option redispatch\n{two}\
backend n\n  retry-on conn-failure\n{two}"
    )
}

/// Server `i`: records each request ("s<i> <method> <path> <body>"); a path
/// "/x/<n>-<kind>" fails the first n times it is asked of any server (kind: close,
/// junk, slow, or a status), then gets 200 with the server's name.
fn server(
    i: usize,
    seen: Arc<Mutex<Vec<String>>>,
    asked: Arc<Mutex<HashMap<String, u32>>>,
) -> Backend {
    Backend::with(&format!("127.0.128.{i}:25481"), move |mut c, _| {
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        loop {
            let end = loop {
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p + 4;
                }
                match c.read(&mut tmp) {
                    Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                    _ => return,
                }
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + len {
                match c.read(&mut tmp) {
                    Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                    _ => return,
                }
            }
            let body = String::from_utf8_lossy(&buf[end..end + len]).to_string();
            buf.drain(..end + len);
            let mut words = head.split(' ');
            let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            seen.lock()
                .unwrap()
                .push(format!("s{i} {method} {path} {body}"));
            let rule = path.rsplit('/').next().and_then(|r| r.split_once('-'));
            let fail = rule.and_then(|(n, kind)| {
                let mut a = asked.lock().unwrap();
                let k = a.entry(path.to_string()).or_default();
                *k += 1;
                (*k <= n.parse().unwrap_or(0)).then_some(kind)
            });
            let answer = |status: &str, body: String| {
                format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            };
            let out = match fail {
                Some("close") => return,
                Some("junk") => "garbage, not HTTP\r\n\r\n".to_string(),
                Some("slow") => {
                    thread::sleep(Duration::from_millis(900));
                    answer("200 OK", format!("late s{i}"))
                }
                Some(status) => answer(&format!("{status} X"), format!("no s{i}")),
                None => answer("200 OK", format!("s{i}")),
            };
            if c.write_all(out.as_bytes()).is_err() {
                return;
            }
        }
    })
}

/// Each answer's status line and body, on one connection ("closed" when it ends early).
fn converse(reqs: &[&str]) -> Vec<String> {
    let mut c = TcpStream::connect(FRONT).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for r in reqs {
        let (method, rest) = r.split_once(' ').unwrap_or(("GET", r));
        let (path, body) = rest.split_once(' ').unwrap_or((rest, ""));
        let msg = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        c.write_all(msg.as_bytes()).unwrap();
        match common::read_http_message(&mut c, &mut buf) {
            Some(m) => {
                let m = String::from_utf8_lossy(&m).to_string();
                let status = m.lines().next().unwrap_or("").to_string();
                out.push(format!(
                    "{status} | {}",
                    m.split("\r\n\r\n").nth(1).unwrap_or("")
                ));
            }
            None => {
                out.push("closed".into());
                break;
            }
        }
    }
    out
}

/// An httplog line without the client port, the date and the timers (the first group
/// of five numbers); the connection counts and retries (the second) are kept.
fn mask(l: &str) -> String {
    let mut timers = true;
    l.split(' ')
        .map(|w| {
            let five = w.split('/').count() == 5 && w.split('/').all(|t| t.parse::<i64>().is_ok());
            if w.starts_with('[') {
                "[DATE]".to_string()
            } else if w.starts_with("127.0.0.1:") {
                "CLIENT".to_string()
            } else if five && timers {
                timers = false;
                "T".to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Run {
    answers: Vec<Vec<String>>,
    seen: Vec<String>,
    lines: Vec<String>,
    counters: Vec<String>,
}

fn run(which: Which, convs: &[Vec<&str>]) -> Run {
    let dir =
        std::env::temp_dir().join(format!("haproxide-retry-{}-{which:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let asked = Arc::new(Mutex::new(HashMap::new()));
    let _s: Vec<Backend> = (1..=2)
        .map(|i| server(i, seen.clone(), asked.clone()))
        .collect();
    let p = start(
        which,
        "retry",
        &config(&sock.display().to_string()),
        FRONT.parse().unwrap(),
    );
    // Each conversation once the previous session has ended (the log's counts).
    let answers = convs
        .iter()
        .map(|c| {
            let a = converse(c);
            thread::sleep(Duration::from_millis(100));
            a
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    let stat = ask(&sock, "show stat");
    let mut counters = Vec::new();
    for (px, sv) in [
        ("e", "s1"),
        ("j", "s1"),
        ("t", "s1"),
        ("s", "s1"),
        ("d", "s1"),
        ("d", "s2"),
        ("d", "BACKEND"),
        ("s", "BACKEND"),
    ] {
        let f = |c| proxy_field(&stat, px, sv, c);
        counters.push(format!(
            "{px}/{sv} wretr {} wredis {} hrsp_5xx {}",
            f("wretr"),
            f("wredis"),
            f("hrsp_5xx")
        ));
    }
    let lines = p.lines.lock().unwrap().iter().map(|l| mask(l)).collect();
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
    let seen = seen.lock().unwrap().clone();
    Run {
        answers,
        seen,
        lines,
        counters,
    }
}

#[test]
fn http_retries_match_haproxy() {
    let convs: Vec<Vec<&str>> = vec![
        // Empty responses: a retry left, then none; a rule turning retries off.
        vec!["/e/2-close"],
        vec!["/e/5-close"],
        vec!["/e/off/1-close"],
        // Junk and a response timeout, once each.
        vec!["/j/1-junk"],
        vec!["/t/1-slow"],
        // Named statuses: the body goes again; retries run out (3) on a 404.
        vec!["POST /s/2-503 hello"],
        vec!["/s/9-404"],
        // Redispatched to the other server on each retry.
        vec!["/d/1-503", "/d/3-close"],
        // A kept-alive request retried, and one whose server closes without retry-on.
        vec!["/e/ok", "/e/1-close"],
        vec!["/n/ok", "/n/1-close", "/n/never"],
    ];
    let want = run(Which::Haproxy, &convs);
    let got = run(Which::Haproxide, &convs);
    assert_eq!(got.answers, want.answers, "answers");
    assert_eq!(got.seen, want.seen, "requests the servers saw");
    assert_eq!(got.lines, want.lines, "log lines");
    assert_eq!(got.counters, want.counters, "retry counters");
    // What the comparison covers: retried successes, exhausted retries, the body sent
    // again, redispatch, and the silent close.
    assert_eq!(want.answers[0], ["HTTP/1.1 200 OK | s1"]);
    assert!(
        want.answers[1][0].starts_with("HTTP/1.1 502"),
        "{:?}",
        want.answers[1]
    );
    assert!(
        want.answers[2][0].starts_with("HTTP/1.1 502"),
        "{:?}",
        want.answers[2]
    );
    assert_eq!(want.answers[5], ["HTTP/1.1 200 OK | s1"]);
    assert_eq!(
        want.seen
            .iter()
            .filter(|s| s.ends_with("/s/2-503 hello"))
            .count(),
        3
    );
    assert_eq!(want.answers[9], ["HTTP/1.1 200 OK | s1", "closed"]);
    assert!(
        want.lines.iter().any(|l| l.contains("+1")),
        "{:?}",
        want.lines
    );
}
