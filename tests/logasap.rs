//! When a line is written, compared with haproxy 2.6: `option logasap` (TCP: once the
//! server connection is up, `%Tt` and `%B` marked `+`; HTTP: once the response head is
//! in, with the bytes haproxy holds then), a log-format that waits for no byte count
//! (written at the same moments without logasap), and an HTTP format of request facts
//! only (written once the request head is read). Each line must be there while the
//! session is still open, and read the same as haproxy's.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

const CONFIG: &str = "global\n  log stdout format raw local0\n\
defaults\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend tcpasap\n  mode tcp\n  option tcplog\n  option logasap\n  bind 127.0.75.100:8700\n  default_backend echo\n\
frontend tcpnobytes\n  mode tcp\n  log-format \"%ci %f %b/%s %ST %tsc\"\n  bind 127.0.75.100:8701\n  default_backend echo\n\
frontend tcpasapnull\n  mode tcp\n  option tcplog\n  option logasap\n  option dontlognull\n  bind 127.0.75.100:8702\n  default_backend echo\n\
frontend webasap\n  mode http\n  option httplog\n  option logasap\n  http-response set-header x-added yes\n  bind 127.0.75.100:8703\n  default_backend web\n\
frontend webreq\n  mode http\n  log-format \"%ci %f %b %r %HM %tsc\"\n  bind 127.0.75.100:8704\n  default_backend web\n\
frontend webres\n  mode http\n  log-format \"%ci %f %b/%s %ST %tsc %hs\"\n  capture response header server len 20\n  bind 127.0.75.100:8705\n  default_backend web\n\
frontend webreqonly\n  mode http\n  log-format \"%f %b %HM %r\"\n  bind 127.0.75.100:8707\n  default_backend slowhead\n\
frontend tcpend\n  mode tcp\n  option tcplog\n  bind 127.0.75.100:8706\n  default_backend echo\n\
frontend probe\n  mode tcp\n  bind 127.0.75.100:8799\n  no log\n  default_backend echo\n\
backend echo\n  mode tcp\n  server s 127.0.75.1:8000\n\
backend web\n  mode http\n  server s 127.0.75.2:8000\n\
backend slowhead\n  mode http\n  server s 127.0.75.3:8000\n";

/// The client's address, the date and the timers masked; `+` marks and byte counts kept.
fn mask(l: &str) -> String {
    l.split(' ')
        .map(|w| {
            if w.starts_with('[') {
                "[DATE]".to_string()
            } else if w.starts_with("127.0.0.1:") {
                "CLIENT".to_string()
            } else if w.contains('/')
                && w.split('/')
                    .all(|t| t.trim_start_matches('+').parse::<u64>().is_ok())
                && w.split('/').count() >= 3
            {
                w.split('/')
                    .map(|t| if t.starts_with('+') { "+T" } else { "T" })
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// For each case: the line (masked) and whether it was there before the session ended.
fn run(which: Which) -> Vec<(String, bool)> {
    let p = start(
        which,
        "logasap",
        CONFIG,
        "127.0.75.100:8799".parse().unwrap(),
    );
    let mut out = Vec::new();
    let seen = std::cell::Cell::new(0);
    // Waits (while the session is still open) for the next line.
    let next_line = |open: bool| -> Option<String> {
        let v = p.wait_lines(
            seen.get() + 1,
            Duration::from_millis(if open { 1500 } else { 3000 }),
        );
        (v.len() > seen.get()).then(|| {
            seen.set(seen.get() + 1);
            mask(&v[seen.get() - 1])
        })
    };
    let addr = |port: u16| -> SocketAddr { format!("127.0.75.100:{port}").parse().unwrap() };
    // TCP: a client that talks, then stays a while.
    for port in [8700, 8701, 8706] {
        let mut c = TcpStream::connect(addr(port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c.write_all(b"hello").unwrap();
        let mut b = [0u8; 5];
        c.read_exact(&mut b).unwrap();
        let early = next_line(true);
        drop(c);
        match early {
            Some(l) => out.push((l, true)),
            None => out.push((next_line(false).unwrap_or_default(), false)),
        }
    }
    // logasap with dontlognull, a client that sends nothing.
    {
        let c = TcpStream::connect(addr(8702)).unwrap();
        let early = next_line(true);
        drop(c);
        match early {
            Some(l) => out.push((l, true)),
            None => out.push((next_line(false).unwrap_or_default(), false)),
        }
    }
    // HTTP: a response whose body comes in two parts a second apart.
    for port in [8703, 8704, 8705] {
        let mut c = TcpStream::connect(addr(port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        c.write_all(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.ends_with(b"0123456789") {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "{which:?} closed early: {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        // The first half of the body is in: the second is a second away.
        let early = next_line(true);
        while !got.ends_with(b"abcdefghij") {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        drop(c);
        match early {
            Some(l) => out.push((l, true)),
            None => out.push((next_line(false).unwrap_or_default(), false)),
        }
    }
    // A format of request facts only: the line comes before the response (1.5 s away).
    {
        let mut c = TcpStream::connect(addr(8707)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        c.write_all(b"GET /y HTTP/1.1\r\nhost: a\r\n\r\n").unwrap();
        thread::sleep(Duration::from_millis(500));
        let before = p.wait_lines(0, Duration::ZERO).len() > seen.get();
        let mut buf = [0u8; 512];
        let mut got = Vec::new();
        while !got.ends_with(b"done") {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        drop(c);
        out.push((next_line(false).unwrap_or_default(), before));
        // haproxy writes it again once the response head is in, with its backend.
        out.push((next_line(false).unwrap_or_default(), false));
    }
    // Nothing more comes (no second line for a session logged early).
    thread::sleep(Duration::from_millis(300));
    let all = p.wait_lines(0, Duration::ZERO);
    assert_eq!(all.len(), seen.get(), "{which:?} {all:#?}");
    out
}

#[test]
fn lines_are_written_when_haproxy_writes_them() {
    let _echo = Backend::echo("127.0.75.1:8000");
    let _web = Backend::with("127.0.75.2:8000", |mut c, _| {
        let mut buf = [0u8; 1024];
        let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
        let mut req = Vec::new();
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut buf) {
                Ok(n) if n > 0 => req.extend_from_slice(&buf[..n]),
                _ => return,
            }
        }
        let _ =
            c.write_all(b"HTTP/1.1 200 OK\r\nServer: tiny\r\nContent-Length: 20\r\n\r\n0123456789");
        thread::sleep(Duration::from_millis(1000));
        let _ = c.write_all(b"abcdefghij");
        let _ = c.read(&mut buf);
    });
    let _slow = Backend::with("127.0.75.3:8000", |mut c, _| {
        let mut buf = [0u8; 1024];
        let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
        let _ = c.read(&mut buf);
        thread::sleep(Duration::from_millis(1500));
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndone");
        let _ = c.read(&mut buf);
    });
    let h = run(Which::Haproxy);
    let x = run(Which::Haproxide);
    assert_eq!(h, x);
    // What the comparison covers: logasap's marks, and the early lines.
    assert!(h[0].0.contains(" T/T/+T +0 -- "), "{h:?}");
    assert_eq!(
        h.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
        [true, true, false, true, true, true, true, true, false],
        "{h:?}"
    );
    assert_eq!(h[7].0, "webreqonly webreqonly GET GET /y HTTP/1.1");
    assert_eq!(h[8].0, "webreqonly slowhead GET GET /y HTTP/1.1");
    assert!(h[4].0.contains(" 200 +"), "{h:?}");
}
