//! Proxy and bind keywords whose effect is where traffic may go, compared with haproxy
//! on the same configuration: `v4v6`/`v6only` on an IPv6 wildcard bind, a frontend's
//! `maxconn`, an unconditional `use_backend`, and `default-server` parameters.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

const DEFAULTS: &str =
    "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n";

/// Sends a byte and says whether it came back within `wait`.
fn echoes(c: &mut TcpStream, wait: Duration) -> bool {
    c.set_read_timeout(Some(wait)).unwrap();
    if c.write_all(b"x").is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    matches!(c.read(&mut b), Ok(1))
}

fn reach(to: &str) -> bool {
    let a: SocketAddr = to.parse().unwrap();
    match TcpStream::connect_timeout(&a, Duration::from_millis(500)) {
        Ok(mut c) => echoes(&mut c, Duration::from_secs(2)),
        Err(_) => false,
    }
}

#[test]
fn v4v6_and_v6only_match_haproxy() {
    let echo = Backend::echo("127.0.248.9:0");
    let mut out = Vec::new();
    for which in [Which::Haproxy, Which::Haproxide] {
        let cfg = format!(
            "{DEFAULTS}listen a\n  bind :::24970 v4v6\n  server s {e}\nlisten b\n  bind :::24971 v6only\n  server s {e}\nlisten c\n  bind 127.0.248.1:24972\n  server s {e}\n",
            e = echo.addr
        );
        let p = start(which, "v6", &cfg, "127.0.248.1:24972".parse().unwrap());
        out.push(
            [
                "127.0.0.1:24970",
                "[::1]:24970",
                "127.0.0.1:24971",
                "[::1]:24971",
            ]
            .map(reach),
        );
        drop(p);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert_eq!(out[0], [true, true, false, true], "v6only keeps IPv4 out");
}

/// With `limit` slots: whether the first `limit` clients are served, whether one more is
/// served at once (it should wait in the backlog), and whether it is once a slot frees;
/// for haproxy then haproxide on `cfg`.
fn holds_extra(tag: &str, cfg: &str, front: &str, limit: usize) -> Vec<(Vec<bool>, bool, bool)> {
    [Which::Haproxy, Which::Haproxide]
        .into_iter()
        .map(|which| {
            let p = start(which, tag, cfg, front.parse().unwrap());
            let mut held: Vec<TcpStream> = (0..limit)
                .map(|_| TcpStream::connect(front).unwrap())
                .collect();
            let served = held
                .iter_mut()
                .map(|c| echoes(c, Duration::from_secs(2)))
                .collect::<Vec<_>>();
            let mut extra = TcpStream::connect(front).unwrap();
            let early = echoes(&mut extra, Duration::from_millis(400));
            held.remove(0);
            thread::sleep(Duration::from_millis(100));
            let mut b = [0u8; 1];
            extra
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            let later = matches!(extra.read(&mut b), Ok(1));
            drop(p);
            (served, early, later)
        })
        .collect()
}

#[test]
fn frontend_maxconn_holds_extra_clients_like_haproxy() {
    let echo = Backend::echo("127.0.249.9:0");
    let front = "127.0.249.1:24973";
    let cfg = format!(
        "{DEFAULTS}frontend f\n  bind {front}\n  maxconn 2\n  default_backend b\nbackend b\n  server s {}\n",
        echo.addr
    );
    let out = holds_extra("femaxconn", &cfg, front, 2);
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert_eq!(out[0], (vec![true, true], false, true));
}

/// Which of the backends' servers took each of `n` sequential connections.
fn servers_taking(front: &str, backends: &[Backend], n: usize) -> Vec<usize> {
    (0..n)
        .map(|_| {
            let before: Vec<usize> = backends.iter().map(Backend::count).collect();
            let mut c = TcpStream::connect(front).unwrap();
            assert!(echoes(&mut c, Duration::from_secs(2)));
            drop(c);
            backends
                .iter()
                .zip(&before)
                .position(|(b, n0)| b.count() > *n0)
                .unwrap_or(usize::MAX)
        })
        .collect()
}

#[test]
fn use_backend_and_default_server_match_haproxy() {
    let backends: Vec<Backend> = (1..=3)
        .map(|i| Backend::echo(&format!("127.0.250.{i}:0")))
        .collect();
    let front = "127.0.250.100:24974";
    let mut out = Vec::new();
    for which in [Which::Haproxy, Which::Haproxide] {
        let cfg = format!(
            "{DEFAULTS}frontend f\n  bind {front}\n  use_backend two\n  default_backend one\nbackend one\n  server s {}\nbackend two\n  default-server weight 3\n  server a {}\n  server b {} weight 1\n",
            backends[0].addr, backends[1].addr, backends[2].addr
        );
        let p = start(which, "usebe", &cfg, front.parse().unwrap());
        out.push(servers_taking(front, &backends, 8));
        drop(p);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert!(
        !out[0].contains(&0),
        "use_backend wins over default_backend"
    );
    assert_eq!(
        out[0].iter().filter(|&&s| s == 1).count(),
        6,
        "weight 3 from default-server"
    );
}

/// Whether the socket `ss` finds with `filter` has TCP keep-alive on (its timer shows).
fn keepalive(filter: &str) -> Option<bool> {
    let out = std::process::Command::new("ss")
        .args(["-tnoH", "state", "established", filter])
        .output()
        .expect("ss (./run-tests installs iproute2)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text.lines().next()?;
    Some(line.contains("timer:(keepalive"))
}

#[test]
fn tcp_keepalive_options_match_haproxy() {
    let echo = Backend::echo("127.0.253.9:0");
    let port = echo.addr.port();
    let mut out = Vec::new();
    for which in [Which::Haproxy, Which::Haproxide] {
        let mut table = Vec::new();
        for (i, opt) in ["", "option clitcpka", "option srvtcpka", "option tcpka"]
            .iter()
            .enumerate()
        {
            let front = format!("127.0.253.1:{}", 24980 + i);
            let cfg = format!(
                "{DEFAULTS}listen l\n  bind {front}\n  {opt}\n  server s {}\n",
                echo.addr
            );
            let p = start(which, "tcpka", &cfg, front.parse().unwrap());
            let mut c = TcpStream::connect(&front).unwrap();
            assert!(echoes(&mut c, Duration::from_secs(2)));
            let fport = 24980 + i;
            // The proxy's end towards the client, and its end towards the server (the
            // only connection to the echo server from the proxy's side).
            let client_side = keepalive(&format!("( sport = :{fport} )"));
            let server_side = keepalive(&format!("( dport = :{port} )"));
            table.push(format!(
                "[{opt}] client {client_side:?} server {server_side:?}"
            ));
            drop(c);
            drop(p);
        }
        out.push(table);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert!(
        out[0][3].contains("client Some(true) server Some(true)"),
        "{:?}",
        out[0]
    );
}

#[test]
fn bind_maxconn_holds_extra_clients_like_haproxy() {
    let echo = Backend::echo("127.0.253.19:0");
    let front = "127.0.253.11:24990";
    let cfg = format!(
        "{DEFAULTS}listen l\n  bind {front} maxconn 1\n  server s {}\n",
        echo.addr
    );
    let out = holds_extra("bindmaxconn", &cfg, front, 1);
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert_eq!(out[0], (vec![true], false, true));
}

/// The listen backlog the kernel holds for a socket (`ss -ltn`'s Send-Q).
fn backlog(port: u16) -> String {
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("( sport = :{port} )")])
        .output()
        .expect("ss (./run-tests installs iproute2)");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .to_string()
}

#[test]
fn backlogs_match_haproxy() {
    let echo = Backend::echo("127.0.227.9:0");
    let mut out = Vec::new();
    for which in [Which::Haproxy, Which::Haproxide] {
        let cfg = format!(
            "{DEFAULTS}listen a\n  bind 127.0.227.1:24991 backlog 17\n  server s {e}\nlisten b\n  backlog 23\n  bind 127.0.227.1:24992\n  server s {e}\nlisten c\n  maxconn 31\n  bind 127.0.227.1:24993\n  server s {e}\n",
            e = echo.addr
        );
        let p = start(which, "backlog", &cfg, "127.0.227.1:24991".parse().unwrap());
        out.push([24991, 24992, 24993].map(backlog));
        drop(p);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert_eq!(out[0][0], "17", "{:?}", out[0]);
}
