//! FIN or reset, and what a server's accept() sees: the same packets from haproxide as from
//! haproxy in the cases where a broker or a device can tell the difference.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::{ask, start, Backend, Which};

/// How a client that sent bytes sees its session end when no server can be reached.
fn ending_without_server(which: Which, net: u8) -> String {
    let front: SocketAddr = format!("127.0.{net}.1:24801").parse().unwrap();
    // Nothing listens on the server's address: every connect is refused.
    let cfg = format!(
        "defaults\n  mode tcp\n  retries 1\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend f\n  bind {front}\n  default_backend b\nbackend b\n  server s 127.0.{net}.2:24802\n"
    );
    let _p = start(which, &format!("nosrv-{net}"), &cfg, front);
    let mut c = TcpStream::connect(front).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02hc")
        .unwrap();
    let mut b = [0u8; 16];
    match c.read(&mut b) {
        Ok(0) => "FIN".into(),
        Ok(n) => format!("{n} bytes"),
        Err(e) => format!("{:?}", e.kind()),
    }
}

#[test]
fn a_client_whose_session_reaches_no_server_gets_a_fin_as_with_haproxy() {
    let want = ending_without_server(Which::Haproxy, 196);
    assert_eq!(want, "FIN");
    assert_eq!(ending_without_server(Which::Haproxide, 197), want);
}

/// Connections a server's accept() returned while plain layer-4 checks ran every 100 ms
/// for 1.5 s, and the server's status then.
fn accepted_during_checks(which: Which, net: u8) -> (usize, String) {
    let dir = std::env::temp_dir().join(format!("haproxide-l4-{}-{which:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("stats.sock");
    let front: SocketAddr = format!("127.0.{net}.1:24803").parse().unwrap();
    let be = Backend::with(&format!("127.0.{net}.2:24804"), |c, rec| {
        rec.lock().unwrap().push(Vec::new());
        drop(c);
    });
    let cfg = format!(
        "global\n  stats socket {} level admin\n\
         defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend f\n  bind {front}\n  default_backend b\nbackend b\n  server s {} check inter 100ms\n",
        sock.display(),
        be.addr
    );
    // The readiness probe goes to the frontend, whose session connects to the server:
    // count from after it.
    let _p = start(which, &format!("l4-{net}"), &cfg, front);
    thread::sleep(Duration::from_millis(300));
    let before = be.count();
    thread::sleep(Duration::from_millis(1500));
    let accepted = be.count() - before;
    let stat = ask(&sock, "show stat");
    // Checks every 100 ms for 1.8 s: a failing one would have taken the server DOWN.
    let status = common::stat_field(&stat, "s", "status");
    let _ = std::fs::remove_dir_all(&dir);
    (accepted, status)
}

#[test]
fn layer4_checks_never_reach_the_servers_accept_as_with_haproxy() {
    let want = accepted_during_checks(Which::Haproxy, 198);
    assert_eq!(want, (0, "UP".to_string()));
    assert_eq!(accepted_during_checks(Which::Haproxide, 199), want);
}

/// What the server's socket holds once `timeout tunnel` has ended an idle session.
fn server_side_after_tunnel_timeout(which: Which, net: u8) -> String {
    let front: SocketAddr = format!("127.0.{net}.1:24805").parse().unwrap();
    let srv: SocketAddr = format!("127.0.{net}.2:24806").parse().unwrap();
    let l = TcpListener::bind(srv).unwrap();
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n  timeout tunnel 1s\n\
         frontend f\n  bind {front}\n  default_backend b\nbackend b\n  server s {srv}\n"
    );
    let _p = start(which, &format!("tunnel-{net}"), &cfg, front);
    // The readiness probe's session: accepted and closed by us.
    l.set_nonblocking(true).unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(500) {
        let _ = l.accept();
        thread::sleep(Duration::from_millis(20));
    }
    l.set_nonblocking(false).unwrap();
    let mut c = TcpStream::connect(front).unwrap();
    c.write_all(b"x").unwrap();
    let (s, _) = l.accept().unwrap();
    // Not read: the timeout's packets all arrive, then the socket's pending error says
    // whether a reset came while the connection was still established.
    thread::sleep(Duration::from_millis(2000));
    let err = socket2::SockRef::from(&s).take_error().unwrap();
    let mut b = [0u8; 4];
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let client = match c.read(&mut b) {
        Ok(0) => "FIN".to_string(),
        r => format!("{r:?}"),
    };
    // The kernel reports a received reset as ECONNRESET or, depending on the socket's
    // state when it arrived, EPIPE (seen once from haproxy under load): both are a reset.
    let server = match err.map(|e| e.kind()) {
        Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe) => {
            "reset".to_string()
        }
        other => format!("{other:?}"),
    };
    format!("server {server}, client {client}")
}

#[test]
fn timeout_tunnel_resets_the_server_side_as_haproxy_does() {
    let want = server_side_after_tunnel_timeout(Which::Haproxy, 200);
    assert_eq!(want, "server reset, client FIN");
    assert_eq!(
        server_side_after_tunnel_timeout(Which::Haproxide, 201),
        want
    );
}

/// The status `show stat` gives backend `b`'s server `s` (declared by `server_opts`,
/// checked every 100 ms, down at the first failure) once checks have run for `wait`,
/// while only `listening` accepts connections.
fn checked_status(
    which: Which,
    tag: &str,
    net: u8,
    listening: &str,
    server_opts: &str,
    wait: Duration,
) -> String {
    let dir =
        std::env::temp_dir().join(format!("haproxide-{tag}-{}-{which:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("stats.sock");
    let front: SocketAddr = format!("127.0.{net}.1:24807").parse().unwrap();
    let _listener = TcpListener::bind(listening).unwrap();
    let cfg = format!(
        "global\n  stats socket {} level admin\n\
         defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 500ms\n\
         frontend f\n  bind {front}\n  default_backend b\n\
         backend b\n  server s {server_opts} check inter 100ms fall 1\n",
        sock.display()
    );
    let _p = start(which, &format!("{tag}-{net}"), &cfg, front);
    thread::sleep(wait);
    let stat = ask(&sock, "show stat");
    let _ = std::fs::remove_dir_all(&dir);
    common::stat_field(&stat, "s", "status")
}

/// Where `addr <ip>:<port>` sends the checks: only that port listens, so the server is UP
/// if and only if the checks go there.
fn status_with_addr_port(which: Which, net: u8) -> String {
    checked_status(
        which,
        "addr",
        net,
        &format!("127.0.{net}.3:24809"),
        &format!("127.0.{net}.2:24808 addr 127.0.{net}.3:24809"),
        Duration::from_millis(800),
    )
}

#[test]
fn checks_go_to_the_port_of_addr_as_with_haproxy() {
    let want = status_with_addr_port(Which::Haproxy, 217);
    assert_eq!(want, "UP");
    assert_eq!(status_with_addr_port(Which::Haproxide, 218), want);
}

/// `no-check-ssl` on an `ssl` server: the checks are plain TCP (haproxy's use_ssl = -1),
/// so a plain listener keeps the server UP; with TLS checks the handshake would fail.
fn status_with_no_check_ssl(which: Which, net: u8) -> String {
    checked_status(
        which,
        "ncs",
        net,
        &format!("127.0.{net}.2:24811"),
        &format!("127.0.{net}.2:24811 ssl verify none no-check-ssl"),
        Duration::from_millis(1000),
    )
}

#[test]
fn no_check_ssl_makes_plain_checks_as_with_haproxy() {
    let want = status_with_no_check_ssl(Which::Haproxy, 221);
    assert_eq!(want, "UP");
    assert_eq!(status_with_no_check_ssl(Which::Haproxide, 222), want);
}
