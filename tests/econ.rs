//! `show stat` connection errors (`econ`) compared with haproxy 2.6: a session with no
//! usable server counts on its backend, one refused by a full server queue and one
//! that timed out in a server's queue count on the server and its backend, one that
//! timed out in the backend's queue on the backend, and failed connections on both, in
//! TCP and HTTP mode; what the client sent meanwhile counts as received (`bin`).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{start, Backend, Which};

const CFG: &str = "global\n  stats socket SOCK level admin\n\
defaults\n  mode tcp\n  timeout connect 300ms\n  timeout client 4s\n  timeout server 4s\n  timeout queue 300ms\n\
listen nosrv\n  bind 127.0.121.1:25420\n  server s 127.0.121.9:25429 disabled\n\
listen full\n  bind 127.0.121.1:25421\n  balance source\n  server s ECHO maxconn 1 maxqueue 1\n\
listen bq\n  bind 127.0.121.1:25422\n  server s ECHO maxconn 1\n\
listen refused\n  bind 127.0.121.1:25423\n  retries 1\n  server s 127.0.121.9:25429\n\
frontend web\n  mode http\n  bind 127.0.121.1:25424\n  default_backend nosrv_http\n\
backend nosrv_http\n  mode http\n  server s 127.0.121.9:25429 disabled\n";

fn addr(port: u16) -> SocketAddr {
    format!("127.0.121.1:{port}").parse().unwrap()
}

/// A client that sends a byte and reads what comes back (until the end or 3 s).
fn client(port: u16, data: &[u8]) -> TcpStream {
    let mut c = TcpStream::connect(addr(port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(data).unwrap();
    c
}

/// Reads until the end, and gives what came.
fn drain(mut c: TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    got
}

/// The `econ` column of every row, once the sessions above are done.
fn run(which: Which, echo: &Backend) -> Vec<String> {
    let sock = std::env::temp_dir().join(format!("haproxide-econ-{which:?}.sock"));
    let _ = std::fs::remove_file(&sock);
    let cfg = CFG
        .replace("SOCK", &sock.display().to_string())
        .replace("ECHO", &echo.addr.to_string());
    let p = start(which, "econ", &cfg, addr(25423));
    drain(client(25420, b"x"));
    // A held session, one queued behind it (timing out), one refused by the full queue.
    let mut held = client(25421, b"x");
    let mut b = [0u8; 1];
    held.read_exact(&mut b).unwrap();
    let queued = client(25421, b"x");
    std::thread::sleep(Duration::from_millis(100));
    drain(client(25421, b"x"));
    drain(queued);
    drop(held);
    // The backend's queue: the server is full, and the balancer waits for any server.
    let mut held = client(25422, b"x");
    held.read_exact(&mut b).unwrap();
    drain(client(25422, b"x"));
    drop(held);
    drain(client(25423, b"hello"));
    let answer = drain(client(25424, b"GET / HTTP/1.1\r\nhost: a\r\n\r\n"));
    assert!(answer.starts_with(b"HTTP/1.1 503"), "{which:?}: {answer:?}");
    std::thread::sleep(Duration::from_millis(300));
    let stat = common::ask(&sock, "show stat");
    drop(p);
    stat.lines()
        .skip(1)
        .filter(|l| !l.is_empty() && !l.contains(",FRONTEND,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let field = |c: &str| common::proxy_field(&stat, f[0], f[1], c);
            // Bytes a client sent while its connection was retried count as received
            // (elsewhere whether they came before the session ended is a race).
            let bin = if f[0] == "refused" {
                format!(" bin={}", field("bin"))
            } else {
                String::new()
            };
            format!("{}/{} econ={}{bin}", f[0], f[1], field("econ"))
        })
        .collect()
}

#[test]
fn connection_errors_count_as_haproxy_counts_them() {
    let echo = Backend::echo("127.0.121.8:0");
    let want = run(Which::Haproxy, &echo);
    let got = run(Which::Haproxide, &echo);
    assert_eq!(got, want, "econ: haproxide (left), haproxy (right)");
    // What haproxy counts, so that the comparison cannot pass on nothing.
    for row in [
        "nosrv/BACKEND econ=1",
        "full/s econ=2",
        "full/BACKEND econ=2",
    ] {
        assert!(want.contains(&row.to_string()), "{row}: {want:?}");
    }
    for row in [
        "bq/s econ=0",
        "bq/BACKEND econ=1",
        "refused/BACKEND econ=1 bin=5",
    ] {
        assert!(want.contains(&row.to_string()), "{row}: {want:?}");
    }
    assert!(
        want.contains(&"nosrv_http/BACKEND econ=1".to_string()),
        "{want:?}"
    );
}
