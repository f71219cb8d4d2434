//! Listener socket options (`bind … mss`, `defer-accept`, `interface`), compared with
//! haproxy on the same config: the MSS a client is offered, when the server side of a
//! session starts (only once the client has sent something, under `defer-accept`), and
//! a device that cannot be bound to (a warning; the listener serves anyway).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{start, Backend, Which};

const SERVER: &str = "127.0.91.63:25163";

fn config() -> String {
    format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend fe\n  bind 127.0.91.60:25160\n  bind 127.0.91.60:25161 mss 1000 defer-accept interface lo\n  bind 127.0.91.60:25162 interface nosuch0\n  default_backend b\n\
backend b\n  server s1 {SERVER}\n"
    )
}

/// The MSS the client side of a connection to `to` ends up with.
fn mss(to: &str) -> u32 {
    let c = TcpStream::connect(to).unwrap();
    let s = socket2::SockRef::from(&c);
    s.mss().unwrap()
}

/// Server connections made while a client that sent nothing waits 400 ms, then after it
/// sends a byte; and the echo it gets.
fn deferred(to: &str, server: &Backend) -> (usize, usize, Vec<u8>) {
    // Earlier clients' server connections settle first.
    std::thread::sleep(Duration::from_millis(300));
    let before = server.count();
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let idle = server.count() - before;
    c.write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    let _ = c.read_exact(&mut b);
    (idle, server.count() - before, b.to_vec())
}

fn run(which: Which, server: &Backend) -> Vec<String> {
    let p = start(
        which,
        "bindopts",
        &config(),
        "127.0.91.60:25160".parse().unwrap(),
    );
    let mut seen = vec![
        format!("mss plain {}", mss("127.0.91.60:25160") <= 1000),
        format!("mss 1000 {}", mss("127.0.91.60:25161")),
        format!("no defer {:?}", deferred("127.0.91.60:25160", server)),
        format!("defer {:?}", deferred("127.0.91.60:25161", server)),
        format!(
            "unbound device serves {:?}",
            common::roundtrip("127.0.91.60:25162".parse().unwrap(), b"y")
        ),
    ];
    seen.extend(
        p.warnings()
            .into_iter()
            // The configuration's directory differs between the two runs.
            .map(|l| match (l.find('['), l.find(":9]")) {
                (Some(a), Some(b)) if a < b => format!("{}[t.cfg{}", &l[..a], &l[b..]),
                _ => l,
            }),
    );
    seen
}

/// An echo server that counts connections as they are accepted.
fn counting_echo() -> Backend {
    Backend::with(SERVER, |mut c: TcpStream, rec| {
        rec.lock().unwrap().push(Vec::new());
        let mut b = [0u8; 512];
        while let Ok(n) = c.read(&mut b) {
            if n == 0 || c.write_all(&b[..n]).is_err() {
                break;
            }
        }
    })
}

#[test]
fn listener_socket_options_as_haproxy() {
    let server = counting_echo();
    let want = run(Which::Haproxy, &server);
    let got = run(Which::Haproxide, &server);
    assert_eq!(got, want);
    // What haproxy showed, so that both sides cannot be wrong alike.
    assert_eq!(want[0], "mss plain false");
    assert!(
        want[1].starts_with("mss 1000 ") && !want[1].ends_with(" 0"),
        "{}",
        want[1]
    );
    assert_eq!(want[2], "no defer (1, 1, [120])");
    assert_eq!(want[3], "defer (0, 1, [120])");
    assert!(
        want.iter()
            .any(|l| l.contains("cannot bind receiver to device 'nosuch0'")),
        "{want:?}"
    );
}
