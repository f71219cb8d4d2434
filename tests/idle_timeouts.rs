//! One side's idle timeout in a TCP session, compared with haproxy 2.6: when the client's
//! (or the server's) timeout strikes first and the other side's is longer, haproxy stops
//! reading that side and passes a FIN to the other, which keeps the session until its own
//! timeout; the line is logged then, with the first timeout's termination state.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{start, Which};

/// When each peer saw the proxy end its side (ms from the client's connect, rounded to
/// 100), and the log line's total time (rounded) and termination state.
fn run(which: Which, net: u8, client_ms: u64, server_ms: u64) -> (u64, u64, String) {
    let front: SocketAddr = format!("127.0.{net}.1:25360").parse().unwrap();
    let back = format!("127.0.{net}.9:25369");
    let l = TcpListener::bind(&back).unwrap();
    let cfg = format!(
        "global\n  log stdout format raw local0\ndefaults\n  mode tcp\n  log global\n\
         log-format \"%ts %Tt\"\n  timeout connect 1s\n  timeout client {client_ms}\n  timeout server {server_ms}\n\
         listen l\n  bind {front}\n  server s {back}\n"
    );
    let p = start(which, &format!("idle{net}"), &cfg, front);
    // The readiness probe's session.
    drop(l.accept());
    std::thread::sleep(Duration::from_millis(200));
    p.lines.lock().unwrap().clear();
    let mut c = TcpStream::connect(front).unwrap();
    let t0 = Instant::now();
    c.write_all(b"hello").unwrap();
    let (mut s, _) = l.accept().unwrap();
    // Neither peer ever closes first: each only notes when the proxy's end came.
    let watch = |mut x: TcpStream| {
        std::thread::spawn(move || {
            x.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut b = [0u8; 64];
            loop {
                match x.read(&mut b) {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                    Err(_) => break,
                }
            }
            let ms = t0.elapsed().as_millis() as u64;
            // Kept open: closing would end the other direction before its timeout.
            ((ms + 50) / 100 * 100, x)
        })
    };
    let mut got = [0u8; 5];
    s.read_exact(&mut got).unwrap();
    let (cw, sw) = (watch(c), watch(s));
    let ((cms, _c), (sms, _s)) = (cw.join().unwrap(), sw.join().unwrap());
    let line = p.wait_lines(1, Duration::from_secs(3));
    let logged = line.first().map_or(String::new(), |l| {
        let (ts, tt) = l.split_once(' ').unwrap_or((l, "0"));
        let tt: u64 = tt.trim().parse().unwrap_or(0);
        format!("{ts} {}", (tt + 50) / 100 * 100)
    });
    (cms, sms, logged)
}

#[test]
fn the_first_idle_timeout_half_closes_like_haproxy() {
    for (k, (c, s)) in [(600u64, 1500u64), (1500, 600)].into_iter().enumerate() {
        let net = 110 + k as u8;
        let want = run(Which::Haproxy, net, c, s);
        let got = run(Which::Haproxide, net, c, s);
        assert_eq!(got, want, "client {c} ms, server {s} ms: haproxide (left)");
        // What haproxy does, so that the comparison cannot pass on nothing: the side
        // that timed out first gets its FIN then, the other at its own timeout.
        let (first, code) = if c < s {
            ("server", "cD")
        } else {
            ("client", "sD")
        };
        let (cms, sms, logged) = &want;
        let (early, late) = if first == "server" {
            (sms, cms)
        } else {
            (cms, sms)
        };
        assert_eq!((*early, *late), (c.min(s), c.max(s)), "{want:?}");
        assert_eq!(*logged, format!("{code} {}", c.max(s)), "{want:?}");
    }
}
