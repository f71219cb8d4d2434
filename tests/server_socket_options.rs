//! Server `tcp-ut` and `tfo` compared with haproxy 2.6 at the system-call level: both
//! proxies run under `strace`, pass one TCP and one HTTP session and some health checks,
//! and the TCP_USER_TIMEOUT values set on their server sockets must be the same, as must
//! the absence of TCP_FASTOPEN_CONNECT (haproxy 2.6 never meets its own condition for it)
//! and of a `default-server`'s `tcp-ut` (which haproxy 2.6 parses and drops). The TCP
//! keep-alive settings (`clitcpka-*`, `srvtcpka-*`) are compared the same way.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Backend, Which};

const CFG: &str = "defaults\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen tcp\n  mode tcp\n  bind 127.0.113.1:25380\n  server s 127.0.113.9:25389 tcp-ut 7s tfo\n\
listen web\n  mode http\n  bind 127.0.113.1:25381\n  server s 127.0.113.9:25388 tcp-ut 8s tfo\n\
backend checked\n  mode tcp\n  default-server tcp-ut 5s\n  server s 127.0.113.9:25389 check inter 200ms tcp-ut 9s\n\
  server zero 127.0.113.9:25389 check inter 200ms tcp-ut 0\n  server dflt 127.0.113.9:25389 check inter 200ms\n";

/// The setsockopt calls of one proxy running `cfg` while one TCP session passes through
/// `front` (an HTTP one through `web`, when given) and checks run, as strace saw them.
fn setsockopts(which: Which, cfg_text: &str, front: &str, web: Option<&str>) -> String {
    assert!(
        std::path::Path::new("/usr/bin/strace").exists(),
        "strace is missing: run ./run-tests (benches/install-deps.sh installs it)"
    );
    let dir = std::env::temp_dir().join(format!("haproxide-sockopt-{which:?}-{front}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("t.cfg");
    std::fs::write(&cfg, cfg_text).unwrap();
    let out = dir.join("strace.txt");
    let mut child = Command::new("/usr/bin/strace")
        .args(["-f", "-qq", "-e", "trace=setsockopt", "-o"])
        .arg(&out)
        .arg(which.path())
        .args(["-db", "-f"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace");
    let front: SocketAddr = front.parse().unwrap();
    let mut up = false;
    for _ in 0..100 {
        if TcpStream::connect_timeout(&front, Duration::from_millis(100)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if up {
        let mut c = TcpStream::connect(front).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        let _ = c.read_exact(&mut b);
        if let Some(web) = web {
            let mut h = TcpStream::connect(web).unwrap();
            h.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            h.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .unwrap();
            let mut r = Vec::new();
            let _ = h.read_to_end(&mut r);
        }
        // A few checks of each server.
        std::thread::sleep(Duration::from_millis(700));
    }
    // The proxy (strace's child) is stopped; strace ends with it.
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let proxy: Option<u32> = std::fs::read_to_string(children)
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok());
    match proxy {
        Some(pid) => drop(common::kill(pid, nix::libc::SIGTERM)),
        None => drop(child.kill()),
    }
    let _ = child.wait();
    assert!(up, "{which:?} did not listen under strace");
    std::fs::read_to_string(&out).unwrap_or_default()
}

/// The distinct non-zero TCP_USER_TIMEOUT values one proxy set, and how many
/// TCP_FASTOPEN_CONNECT calls it made.
fn traced(which: Which) -> (Vec<u64>, usize) {
    let text = setsockopts(which, CFG, "127.0.113.1:25380", Some("127.0.113.1:25381"));
    let mut uts: Vec<u64> = text
        .lines()
        .filter(|l| l.contains("TCP_USER_TIMEOUT"))
        .filter_map(|l| {
            let v = l.split('[').nth(1)?.split(']').next()?;
            v.parse().ok()
        })
        .filter(|&v| v > 0)
        .collect();
    uts.sort();
    uts.dedup();
    let tfo = text
        .lines()
        .filter(|l| l.contains("TCP_FASTOPEN_CONNECT"))
        .count();
    (uts, tfo)
}

#[test]
fn server_tcp_ut_and_tfo_match_haproxy() {
    let _echo = Backend::echo("127.0.113.9:25389");
    let _web = Backend::with("127.0.113.9:25388", |mut c, _| {
        let mut b = [0u8; 1024];
        let _ = c.read(&mut b);
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    });
    let want = traced(Which::Haproxy);
    let got = traced(Which::Haproxide);
    assert_eq!(got, want, "haproxide (left), haproxy (right)");
    // Traffic (7 s, 8 s) and checks (9 s; none for `tcp-ut 0`, none from a
    // default-server's, which haproxy 2.6 checks and then loses).
    assert_eq!(want, (vec![7000, 8000, 9000], 0));
}

/// `option clitcpka|srvtcpka` with `clitcpka-*` and `srvtcpka-*`: the keep-alive options
/// set on client and server sockets, and their values.
#[test]
fn tcp_keepalive_settings_match_haproxy() {
    let _echo = Backend::echo("127.0.113.8:25387");
    let cfg = "defaults\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen ka\n  mode tcp\n  bind 127.0.113.1:25382\n  option clitcpka\n  option srvtcpka\n\
  clitcpka-cnt 4\n  clitcpka-idle 2m\n  clitcpka-intvl 15\n  srvtcpka-idle 300\n  srvtcpka-cnt 0x9\n  srvtcpka-intvl 20s\n\
  server s 127.0.113.8:25387\n";
    let opts = |which| {
        let text = setsockopts(which, cfg, "127.0.113.1:25382", None);
        let mut v: Vec<String> = text
            .lines()
            .filter(|l| l.contains("KEEP"))
            .filter_map(|l| {
                let opt = l.split(", ").nth(2)?;
                let val = l.split('[').nth(1)?.split(']').next()?;
                Some(format!("{opt}={val}"))
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let want = opts(Which::Haproxy);
    assert_eq!(
        want,
        [
            "SO_KEEPALIVE=1",
            "TCP_KEEPCNT=4",
            "TCP_KEEPCNT=9",
            "TCP_KEEPIDLE=120",
            "TCP_KEEPIDLE=300",
            "TCP_KEEPINTVL=15",
            "TCP_KEEPINTVL=20"
        ]
    );
    assert_eq!(opts(Which::Haproxide), want);
}
