//! `shutdown sessions server <b>/<s>` on the stats socket, compared with haproxy: the
//! sessions on that server end (logged `KD`), the others go on, and the answers to a
//! wrong name or a low level are haproxy's.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::{ask, mask_tcplog, start, Backend, Which};

const FRONT: &str = "127.0.91.70:25170";

fn config(sock: &std::path::Path) -> String {
    format!(
        "global\n  log stdout format raw local0\n  stats socket {} level admin\n\
defaults\n  log global\n  mode tcp\n  option tcplog\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n\
frontend fe\n  bind {FRONT}\n  default_backend b\n\
backend b\n  balance roundrobin\n  server s1 127.0.91.71:25171\n  server s2 127.0.91.72:25172\n",
        sock.display()
    )
}

fn open() -> TcpStream {
    let mut c = TcpStream::connect(FRONT).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(b"a").unwrap();
    let mut b = [0u8; 1];
    c.read_exact(&mut b).unwrap();
    c
}

fn run(which: Which) -> Vec<String> {
    let sock: PathBuf = std::env::temp_dir().join(format!(
        "haproxide-clisess-{}-{which:?}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&sock);
    let p = start(which, "clisess", &config(&sock), FRONT.parse().unwrap());
    // The readiness probe's line comes first; set it aside.
    let early = p.wait_lines(1, Duration::from_secs(2)).len();
    // Round robin: s1, s2, s1.
    let mut c = [open(), open(), open()];
    let mut seen = vec![
        format!(
            "wrong server {:?}",
            ask(&sock, "shutdown sessions server b/nope")
        ),
        format!("no server {:?}", ask(&sock, "shutdown sessions server b")),
        format!(
            "operator {:?}",
            ask(&sock, "operator; shutdown sessions server b/s1")
        ),
        format!("done {:?}", ask(&sock, "shutdown sessions server b/s1")),
    ];
    for (i, c) in c.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        let _ = c.write_all(b"z");
        let got = c
            .read(&mut b)
            .map(|n| b[..n].to_vec())
            .map_err(|e| e.kind());
        seen.push(format!("client {i}: {got:?}"));
    }
    // One at a time, so that each line's counters are settled.
    for c in c {
        drop(c);
        std::thread::sleep(Duration::from_millis(200));
    }
    let lines = p.wait_lines(early + 3, Duration::from_secs(3));
    let mut logged: Vec<String> = lines[early..]
        .iter()
        .map(|l| common::bucket(&mask_tcplog(l)))
        .collect();
    logged.sort();
    seen.extend(logged);
    seen
}

#[test]
fn shutdown_sessions_server_as_haproxy() {
    let _s1 = Backend::echo("127.0.91.71:25171");
    let _s2 = Backend::echo("127.0.91.72:25172");
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    assert_eq!(got, want);
    assert_eq!(
        want.iter().filter(|l| l.contains(" K- ")).count(),
        1,
        "{want:#?}"
    );
    assert_eq!(
        want[5], "client 1: Ok([])",
        "the session on s1 ended: {want:#?}"
    );
    assert_eq!(want[6], "client 2: Ok([122])", "{want:#?}");
}

/// A tcplog line without its total time: when a session cut by its server going DOWN
/// ends depends on where the 200 ms check cycle stood when it began (0 to 200 ms, under
/// both proxies alike), not on the proxy.
fn without_tt(l: &str) -> String {
    l.split(' ')
        .map(|w| match w.rsplit_once('/') {
            Some((head, _)) if w.starts_with('~') && head.matches('/').count() == 1 => {
                format!("{head}/Tt")
            }
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A session ended because its server went DOWN (`on-marked-down shutdown-sessions`).
fn down(which: Which) -> Vec<String> {
    let server = Backend::echo("127.0.91.74:25174");
    let cfg = "global\n  log stdout format raw local0\n\
defaults\n  log global\n  mode tcp\n  option tcplog\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n\
listen li\n  bind 127.0.91.73:25173\n  server s1 127.0.91.74:25174 check inter 200 fall 1 rise 1 on-marked-down shutdown-sessions\n";
    let p = start(which, "clidown", cfg, "127.0.91.73:25173".parse().unwrap());
    let early = p.wait_lines(1, Duration::from_secs(2)).len();
    let mut c = TcpStream::connect("127.0.91.73:25173").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"a").unwrap();
    let mut b = [0u8; 1];
    c.read_exact(&mut b).unwrap();
    // The server stops listening: its check fails, the established session ends.
    drop(server);
    let got = c.read(&mut b).map_err(|e| e.kind());
    // The session's line, whatever the server-state lines logged around it.
    let mut session = Vec::new();
    let until = std::time::Instant::now() + Duration::from_secs(3);
    while session.is_empty() && std::time::Instant::now() < until {
        let lines = p.wait_lines(early + 1, Duration::from_secs(1));
        session = lines[early..]
            .iter()
            .filter(|l| l.contains(" li li/s1 "))
            .map(|l| without_tt(&common::bucket(&mask_tcplog(l))))
            .collect();
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut seen = vec![format!("client: {got:?}")];
    seen.extend(session);
    seen
}

#[test]
fn a_session_ended_by_its_server_going_down_is_logged_as_haproxy() {
    let want = down(Which::Haproxy);
    assert!(want.iter().any(|l| l.contains(" D- ")), "{want:#?}");
    assert_eq!(down(Which::Haproxide), want);
}
