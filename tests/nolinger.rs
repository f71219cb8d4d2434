//! `option nolinger` in TCP mode compared with haproxy 2.6: how each peer sees the proxy
//! end its side (FIN or reset) when the server closes first, when the client does, and
//! when the client's timeout strikes first, for a frontend's, a backend's and a listen's
//! option, with the log line of each session.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::{read_to_end_kind, start, Which};

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode tcp\n  log global\n  log-format \"%ft %ts %B %U\"\n\
  timeout connect 1s\n  timeout client 600ms\n  timeout server 1200ms\n\
frontend fe\n  bind 127.0.112.1:25370\n  option nolinger\n  default_backend plain\n\
backend plain\n  server s 127.0.112.9:25379\n\
frontend be\n  bind 127.0.112.1:25371\n  default_backend nl\n\
backend nl\n  option nolinger\n  server s 127.0.112.9:25379\n\
listen both\n  bind 127.0.112.1:25372\n  option nolinger\n  server s 127.0.112.9:25379\n";

/// How a peer's side ended, read for at most `wait`: the bytes, then FIN, RST or open.
fn end_of(c: &mut TcpStream, wait: u64) -> String {
    c.set_read_timeout(Some(Duration::from_millis(wait)))
        .unwrap();
    let (got, end) = read_to_end_kind(c);
    let end = if end == "timeout" { "open" } else { end };
    format!("{}{end}", String::from_utf8_lossy(&got))
}

fn ms(n: u64) {
    std::thread::sleep(Duration::from_millis(n));
}

/// One session through `port`: the client sends, the server reads, then `case` plays.
fn scenario(port: u16, l: &TcpListener, case: &str) -> String {
    let front: SocketAddr = format!("127.0.112.1:{port}").parse().unwrap();
    let mut c = TcpStream::connect(front).unwrap();
    c.write_all(b"hello").unwrap();
    let (mut s, _) = l.accept().unwrap();
    let mut b = [0u8; 5];
    s.read_exact(&mut b).unwrap();
    match case {
        // The server ends its side; once the client has its FIN, it closes.
        "srvfirst" => {
            ms(100);
            s.write_all(b"bye ").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let cli = end_of(&mut c, 400);
            drop(c);
            format!("cli {cli}, srv {}", end_of(&mut s, 400))
        }
        // The client ends its side; a server that got a FIN answers and closes.
        "clifirst" => {
            ms(100);
            c.shutdown(Shutdown::Write).unwrap();
            let srv = end_of(&mut s, 300);
            if srv == "FIN" {
                let _ = s.write_all(b"reply ");
                // Closed a moment after: a reply and a close that come together reach
                // haproxy's client as a bare reset (its data discarded), a race left out.
                ms(200);
                drop(s);
            }
            format!("srv {srv}, cli {}", end_of(&mut c, 400))
        }
        // Nobody moves: the client's timeout (600 ms) strikes before the server's.
        _ => {
            let srv = end_of(&mut s, 900);
            format!("srv {srv}, cli {}", end_of(&mut c, 900))
        }
    }
}

fn run(which: Which) -> (Vec<String>, Vec<String>) {
    let l = TcpListener::bind("127.0.112.9:25379").unwrap();
    let p = start(which, "nolinger", CFG, "127.0.112.1:25372".parse().unwrap());
    // The readiness probe's session.
    drop(l.accept());
    ms(300);
    p.lines.lock().unwrap().clear();
    let mut seen = Vec::new();
    for port in [25370, 25371, 25372] {
        for case in ["srvfirst", "clifirst", "timeout"] {
            seen.push(format!("{port} {case}: {}", scenario(port, &l, case)));
        }
    }
    ms(300);
    let lines = p.lines.lock().unwrap().clone();
    (seen, lines)
}

#[test]
fn nolinger_matches_haproxy() {
    let (want, want_log) = run(Which::Haproxy);
    let (got, got_log) = run(Which::Haproxide);
    assert_eq!(got, want, "haproxide (left), haproxy (right)");
    assert_eq!(got_log, want_log, "log lines");
    // What haproxy does, so that the comparison cannot pass on nothing.
    assert_eq!(
        want[1], "25370 clifirst: srv FIN, cli reply RST",
        "{want:?}"
    );
    assert_eq!(want[4], "25371 clifirst: srv RST, cli FIN", "{want:?}");
    assert_eq!(want[5], "25371 timeout: srv RST, cli FIN", "{want:?}");
    assert_eq!(want[7], "25372 clifirst: srv RST, cli RST", "{want:?}");
    assert_eq!(want_log[4], "be -- 0 5", "{want_log:?}");
}
