//! `option abortonclose` against the real haproxy: a server with `maxconn 1` holds a
//! first client for a second; a second client sends its request, closes its sending
//! side and waits. In TCP mode with the option the queued session ends at once (`CQ`,
//! `<NOSRV>`, a FIN to the client); without it the session waits for the slot and is
//! served; in HTTP mode haproxy 2.6 serves the whole request either way. The answers
//! and the log lines (times to the 100 ms) are compared.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread::{sleep, spawn};
use std::time::Duration;

use common::{start, Backend, Which};

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  log global\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\n  timeout queue 3s\n\
frontend tcp_abort\n  mode tcp\n  option tcplog\n  bind 127.0.108.1:25340\n  default_backend tcp_abort\n\
frontend tcp_wait\n  mode tcp\n  option tcplog\n  bind 127.0.108.1:25341\n  default_backend tcp_wait\n\
frontend http_abort\n  mode http\n  option httplog\n  bind 127.0.108.1:25342\n  default_backend http_abort\n\
backend tcp_abort\n  mode tcp\n  option abortonclose\n  server s 127.0.108.2:25345 maxconn 1\n\
backend tcp_wait\n  mode tcp\n  server s 127.0.108.2:25346 maxconn 1\n\
backend http_abort\n  mode http\n  option abortonclose\n  server s 127.0.108.2:25347 maxconn 1\n\
frontend probe\n  mode tcp\n  bind 127.0.108.1:25349\n  no log\n  default_backend tcp_wait\n";

/// A server that reads a request head, waits a second, answers and closes.
fn slow(addr: &str) -> Backend {
    Backend::with(addr, |mut c: TcpStream, _| {
        let mut buf = Vec::new();
        let mut b = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut b) {
                Ok(n) if n > 0 => buf.extend_from_slice(&b[..n]),
                _ => return,
            }
        }
        sleep(Duration::from_secs(1));
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    })
}

/// A first client that takes the server's slot, then a second that sends and closes its
/// sending side while queued: what each received (the second's "FIN" when it got
/// nothing but the close).
fn pair(port: u16) -> (String, String) {
    let first = spawn(move || {
        let mut c = TcpStream::connect(("127.0.108.1", port)).unwrap();
        c.write_all(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    });
    sleep(Duration::from_millis(200));
    let mut c = TcpStream::connect(("127.0.108.1", port)).unwrap();
    c.write_all(b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    sleep(Duration::from_millis(100));
    c.shutdown(Shutdown::Write).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut out = Vec::new();
    let second = match c.read_to_end(&mut out) {
        Ok(_) if out.is_empty() => "FIN".to_string(),
        Ok(_) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("error: {:?}", e.kind()),
    };
    (first.join().unwrap(), second)
}

fn run(which: Which) -> (Vec<(String, String)>, Vec<String>) {
    let p = start(
        which,
        "abortonclose",
        CFG,
        "127.0.108.1:25349".parse().unwrap(),
    );
    let got = [25340, 25341, 25342]
        .iter()
        .map(|&port| pair(port))
        .collect();
    sleep(Duration::from_millis(300));
    let lines = p.lines.lock().unwrap().clone();
    (got, lines)
}

/// A log line without the client port and date, its times to the 100 ms, in order.
fn masked(lines: &[String]) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .map(|l| {
            l.split(' ')
                .filter(|w| !w.starts_with('[') && !w.starts_with("127.0.0.1:"))
                .map(|w| {
                    let parts: Vec<&str> = w.split('/').collect();
                    if parts.len() >= 3 && parts.iter().all(|t| t.parse::<i64>().is_ok()) {
                        parts
                            .iter()
                            .map(|t| match t.parse::<i64>() {
                                Ok(v) if v >= 0 => format!("{}", (v + 50) / 100),
                                _ => t.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join("/")
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn abortonclose_matches_haproxy() {
    let _a = slow("127.0.108.2:25345");
    let _b = slow("127.0.108.2:25346");
    let _c = slow("127.0.108.2:25347");
    let (want, want_log) = run(Which::Haproxy);
    let (got, got_log) = run(Which::Haproxide);
    assert_eq!(got, want);
    assert_eq!(masked(&got_log), masked(&want_log));
    // The cases do what they are for, under haproxy.
    assert_eq!(want[0].1, "FIN", "{want:?}");
    assert!(
        want[1].1.contains("200 OK") && want[2].1.contains("200 OK"),
        "{want:?}"
    );
    assert!(
        want_log
            .iter()
            .any(|l| l.contains("tcp_abort/<NOSRV>") && l.contains(" CQ ")),
        "{want_log:?}"
    );
}
