//! `observe layer4|layer7`, `error-limit` and `on-error`, on haproxy and haproxide with the
//! same servers: checks pass (they go to a port that answers) while the traffic fails
//! (refused connections, 503 answers), until enough errors in a row act. Compared: the
//! state-change and health-check log lines ("reason: Health analyze"), `show stat`'s
//! status, check status and hanafail, and where new connections go.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{ask, mask_duration, start, stat_field, wait_status, Backend, Which};

const L4: &str = "127.0.82.1:24550";
const FAIL: &str = "127.0.82.1:24551";
const L7: &str = "127.0.82.1:24552";
/// Nothing listens there: every connection is refused.
const DEAD: &str = "127.0.82.11:24560";
/// Answers checks (and HTTP with 503).
const CHECKS: &str = "127.0.82.12:24561";

fn config(sock: &Path) -> String {
    let dead_port = DEAD.rsplit(':').next().unwrap_or("");
    let dead_ip = DEAD.split(':').next().unwrap_or("");
    let (check_ip, check_port) = CHECKS.split_once(':').unwrap_or_default();
    format!(
        "global\n  log stdout format raw local0\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  log global\n  retries 0\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
listen l4\n  bind {L4}\n  server s1 {dead_ip}:{dead_port} check addr {check_ip} port {check_port} inter 3s downinter 300 fastinter 300 rise 2 fall 3 observe layer4 error-limit 2 on-error mark-down\n\
listen fail\n  bind {FAIL}\n  option log-health-checks\n  server f1 {dead_ip}:{dead_port} check addr {check_ip} port {check_port} inter 5s rise 2 fall 3 observe layer4 error-limit 1\n\
listen l7\n  mode http\n  bind {L7}\n  server h1 {CHECKS} check inter 300 rise 2 fall 2 observe layer7 error-limit 2 on-error sudden-death\n",
        sock.display()
    )
}

/// A server answering 503 to every HTTP request (a TCP check only connects).
fn unavailable() -> Backend {
    Backend::with(CHECKS, |mut c: TcpStream, _| {
        let mut buf = Vec::new();
        while common::read_http_message(&mut c, &mut buf).is_some() {
            let r = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
            if c.write_all(r).is_err() {
                return;
            }
        }
    })
}

/// One connection: what came back ("-" when it closed with nothing).
fn once(to: &str, http: bool) -> String {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    if http {
        let _ = c.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    }
    let mut v = Vec::new();
    let _ = c.read_to_end(&mut v);
    let text = String::from_utf8_lossy(&v);
    text.lines().next().unwrap_or("-").to_string()
}

fn stats(sock: &Path) -> String {
    let st = ask(sock, "show stat");
    ["s1", "f1", "h1"]
        .iter()
        .map(|sv| {
            format!(
                "{sv}:{}:{}:{}",
                stat_field(&st, sv, "status"),
                stat_field(&st, sv, "check_status").trim_start_matches("* "),
                stat_field(&st, sv, "hanafail")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(w: Which) -> (Vec<String>, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("haproxide-observe-{}-{w:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let p = start(w, "observe", &config(&sock), L4.parse().unwrap());
    // The first checks pass: every server is fully UP.
    thread::sleep(Duration::from_millis(700));
    let mut seen = vec![stats(&sock)];
    // layer4, mark-down: two refused connections take s1 down, its checks bring it back.
    // (Its checks are 3 s apart while it is UP: a passed check between the two would
    // clear the count, in haproxy too.)
    seen.push(once(L4, false));
    seen.push(stats(&sock));
    seen.push(once(L4, false));
    wait_status(&sock, "s1", "DOWN");
    seen.push(stats(&sock));
    wait_status(&sock, "s1", "UP");
    // layer4, fail-check (the default) at the first error: one failed check each time.
    for _ in 0..3 {
        seen.push(once(FAIL, false));
        seen.push(stats(&sock));
    }
    // layer7, sudden-death: two 503s leave h1 one failure from DOWN.
    for _ in 0..2 {
        seen.push(once(L7, true));
    }
    seen.push(stats(&sock));
    thread::sleep(Duration::from_millis(200));
    let logs = p
        .all_lines()
        .iter()
        .filter(|l| l.contains("Server") || l.contains("check for"))
        .map(|l| mask_duration(l))
        .collect();
    (seen, logs)
}

#[test]
fn observe_matches_haproxy() {
    let _srv = unavailable();
    let (want, want_logs) = run(Which::Haproxy);
    let (got, got_logs) = run(Which::Haproxide);
    assert_eq!(got, want, "haproxide (left), haproxy (right)");
    assert_eq!(got_logs, want_logs, "haproxide (left), haproxy (right)");
    // What haproxy showed, so that both cannot be wrong alike.
    assert!(
        want_logs.iter().any(|l| l.starts_with(
            "Server l4/s1 is DOWN, reason: Health analyze, info: \"Detected 2 consecutive errors, last one was: L4 unsuccessful connection\". 0 active"
        )),
        "{want_logs:#?}"
    );
    assert!(want[4].starts_with("s1:DOWN:HANA:1 "), "{want:#?}");
}
