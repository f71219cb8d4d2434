//! `tcp-request connection` and `tcp-request session` rules compared with haproxy 2.6:
//! a connection rule sees the real peer and resets a rejected connection without a log
//! line; a session rule sees the address a PROXY header gave (and the variables the
//! connection rules set), and closes a rejected one without a line; accepted clients
//! reach the server and are logged as usual.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use common::{connect_from, start, Backend, Which};

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode tcp\n  log global\n  option tcplog\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\n\
frontend f\n  bind 127.0.88.1:8730\n\
  tcp-request connection reject if { src 127.0.88.2 }\n\
  tcp-request connection set-var(sess.peer) src\n\
  tcp-request session reject if { src 127.0.88.3 }\n\
  default_backend b\n\
frontend pp\n  bind 127.0.88.1:8731 accept-proxy\n\
  tcp-request connection reject if { src 10.0.0.0/8 }\n\
  tcp-request connection set-var(sess.real) src\n\
  tcp-request session reject if { src 10.9.0.0/16 }\n\
  tcp-request session accept if { var(sess.real) -m ip 127.0.88.0/24 }\n\
  tcp-request session reject\n\
  default_backend b\n\
frontend h\n  mode http\n  option httplog\n  bind 127.0.88.1:8732\n\
  tcp-request connection set-var(sess.peer) src\n\
  tcp-request session reject if { src 127.0.88.3 }\n\
  http-request return status 200 content-type text/plain lf-string \"peer=%[var(sess.peer,none)]\"\n\
frontend mon\n  mode http\n  bind 127.0.88.1:8733\n\
  tcp-request connection set-var(sess.down) bool(true) if { src 127.0.88.6 }\n\
  monitor-uri /health\n\
  monitor fail if { var(sess.down) -m bool }\n\
  http-request return status 200\n\
backend b\n  server s 127.0.88.9:8739\n";

/// How one client fared: what came back, and how the connection ended. A client that
/// `waits` sends only after 150 ms, so that a close at the accept comes before its bytes
/// (a FIN, where bytes already there would turn it into a reset).
fn client(src: &str, port: u16, send: &[u8], waits: bool) -> String {
    let to: SocketAddr = format!("127.0.88.1:{port}").parse().unwrap();
    let mut c = connect_from(src, to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    if waits {
        std::thread::sleep(Duration::from_millis(150));
    }
    // A reset that came first fails the write (and is then gone for the read).
    if let Err(e) = c.write_all(send) {
        if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) {
            return " <RST>".into();
        }
    }
    let (got, end) = common::read_to_end_kind(&mut c);
    format!("{} <{end}>", String::from_utf8_lossy(&got))
}

/// A log line without what differs between runs: client ports of 127/8 clients, the
/// date, the timers.
fn mask(l: &str) -> String {
    l.split(' ')
        .map(|w| {
            let timers = w.contains('/') && w.split('/').all(|t| t.parse::<i64>().is_ok());
            if w.starts_with('[') {
                "[DATE]".to_string()
            } else if timers {
                "T".to_string()
            } else if let Some((a, _)) = w.rsplit_once(':').filter(|(a, _)| a.starts_with("127.")) {
                format!("{a}:P")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(which: Which) -> (Vec<String>, Vec<String>) {
    let p = start(which, "tcpreq", CFG, "127.0.88.1:8731".parse().unwrap());
    let pp = |src: &str| format!("PROXY TCP4 {src} 127.0.88.1 4000 8731\r\nhello\n").into_bytes();
    let get = b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let outcomes = vec![
        client("127.0.88.2", 8730, b"hello\n", false),
        client("127.0.88.3", 8730, b"hello\n", true),
        client("127.0.88.4", 8730, b"hello\n", false),
        // The bytes after the header were there, unread, when the session was refused.
        client("127.0.88.5", 8731, &pp("10.9.1.1"), false),
        client("127.0.88.5", 8731, &pp("10.1.1.1"), false),
        client("127.0.88.3", 8732, get, true),
        client("127.0.88.4", 8732, get, false),
        // `monitor fail` sees what connection rules set.
        client(
            "127.0.88.6",
            8733,
            b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            false,
        ),
        client(
            "127.0.88.4",
            8733,
            b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            false,
        ),
    ];
    std::thread::sleep(Duration::from_millis(300));
    let mut lines: Vec<String> = p.lines.lock().unwrap().iter().map(|l| mask(l)).collect();
    lines.sort();
    (outcomes, lines)
}

#[test]
fn connection_and_session_rules_match_haproxy() {
    let _s = Backend::with("127.0.88.9:8739", |mut c, _| {
        let mut b = [0u8; 64];
        let n = c.read(&mut b).unwrap_or(0);
        let _ = c.write_all(&b[..n]);
    });
    let (want, want_log) = run(Which::Haproxy);
    let (got, got_log) = run(Which::Haproxide);
    assert_eq!(got, want, "haproxide (left), haproxy (right)");
    assert_eq!(got_log, want_log, "log lines");
    assert_eq!(want[0], " <RST>");
    assert_eq!(want[1], " <FIN>");
    assert_eq!(want[3], " <RST>");
    assert_eq!(want[2], "hello\n <FIN>");
    assert!(want[6].contains("peer=127.0.88.4"), "{want:?}");
    assert!(want[7].starts_with("HTTP/1.1 503"), "{want:?}");
    assert!(want[8].starts_with("HTTP/1.1 200"), "{want:?}");
}
