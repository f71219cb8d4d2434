//! Server `maxconn`, `maxqueue` and `timeout queue` as haproxy applies them, run on both
//! with the same clients: balancers step over full servers, sessions wait in the
//! backend's queue when every server is full and in a server's own queue when a hash chose
//! it, a full `maxqueue` ends the session at once (`SQ`), and the queue positions, Tw and
//! srv_conn in the log lines are haproxy's.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use common::{assert_logs_match, connect_from, mask_tcplog, start, Backend, Which};

const DEFAULTS: &str = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option tcplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout queue 1200ms\n";

/// Four clients 100 ms apart each send a byte; the first leaves at 700 ms, the rest from
/// 2.5 s on, 150 ms apart. Returns what each got back at first ("x", "closed" or "waiting") and the log
/// lines, sorted so that lines ending close together compare in a fixed order.
fn scenario(
    which: Which,
    tag: &str,
    cfg: &str,
    front: SocketAddr,
    same_src: bool,
) -> (Vec<String>, Vec<String>) {
    let p = start(which, tag, cfg, front);
    let net = front.ip().to_string();
    let net = net.rsplit_once('.').unwrap().0.to_string();
    let mut clients = Vec::new();
    let mut first = Vec::new();
    for i in 0..4 {
        let src = format!("{net}.{}", if same_src { 50 } else { 50 + i });
        let mut c = connect_from(&src, front).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(250)))
            .unwrap();
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        first.push(match c.read(&mut b) {
            Ok(1) => "x".to_string(),
            Ok(_) => "closed".to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => "waiting".to_string(),
            Err(e) => format!("{:?}", e.kind()),
        });
        clients.push(c);
        thread::sleep(Duration::from_millis(100));
    }
    thread::sleep(Duration::from_millis(300));
    clients.remove(0);
    thread::sleep(Duration::from_millis(1800));
    // One at a time, so the counts each line shows do not depend on who closes first.
    for c in clients {
        drop(c);
        thread::sleep(Duration::from_millis(150));
    }
    let mut lines: Vec<String> = p
        .wait_lines(4, Duration::from_secs(6))
        .iter()
        .map(|l| mask_tcplog(l))
        .collect();
    // Client, server, termination state and queue positions: not the timers.
    lines.sort_by_key(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        [0, 3, 6, 8]
            .map(|i| f.get(i).copied().unwrap_or(""))
            .join(" ")
    });
    (first, lines)
}

#[test]
fn maxconn_and_maxqueue_match_haproxy() {
    let cases: [(&str, &str, bool); 4] = [
        // s1 is full after one session: roundrobin steps over it.
        ("rr-skips-full", "  balance roundrobin\n  server s1 S1 maxconn 1\n  server s2 S2 maxconn 10\n", false),
        // Both full: the third and fourth wait for any server; the fourth times out.
        ("backend-queue", "  balance roundrobin\n  server s1 S1 maxconn 1\n  server s2 S2 maxconn 1\n", false),
        // One client address: the hash keeps choosing s1; one may wait there, the others
        // find its queue full.
        ("maxqueue", "  balance source\n  server s1 S1 maxconn 1 maxqueue 1\n  server s2 S2 maxconn 1 maxqueue 1\n", true),
        ("leastconn", "  balance leastconn\n  server s1 S1 maxconn 1\n  server s2 S2 maxconn 2\n", false),
    ];
    for (k, (tag, servers, same_src)) in cases.iter().enumerate() {
        let net = 236 + k;
        let backends: Vec<Backend> = (1..=2)
            .map(|i| Backend::echo(&format!("127.0.{net}.{i}:0")))
            .collect();
        let front: SocketAddr = format!("127.0.{net}.100:24800").parse().unwrap();
        let servers = servers
            .replace("S1", &backends[0].addr.to_string())
            .replace("S2", &backends[1].addr.to_string());
        let cfg = format!(
            "{DEFAULTS}frontend f\n  bind {front}\n  default_backend b\nbackend b\n{servers}"
        );
        let (want, want_log) = scenario(Which::Haproxy, tag, &cfg, front, *same_src);
        let (got, got_log) = scenario(Which::Haproxide, tag, &cfg, front, *same_src);
        assert_eq!(got, want, "{tag}: what the clients saw");
        assert_logs_match(&want_log, &got_log);
    }
}

/// A server put into maintenance with `option redispatch`: the session waiting for it in
/// particular is balanced again (logged as redispatched) and the message counts it.
#[test]
fn a_server_leaving_sends_its_queue_back_to_balancing() {
    let net = 240;
    let backends: Vec<Backend> = (1..=2)
        .map(|i| Backend::echo(&format!("127.0.{net}.{i}:0")))
        .collect();
    let front: SocketAddr = format!("127.0.{net}.100:24800").parse().unwrap();
    let mut out = Vec::new();
    for which in [Which::Haproxy, Which::Haproxide] {
        let dir = std::env::temp_dir().join(format!(
            "haproxide-requeue-{}-{which:?}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("admin.sock");
        let _ = std::fs::remove_file(&sock);
        let cfg = format!(
            "global\n  log stdout format raw local0\n  stats socket {} level admin\n{}frontend f\n  bind {front}\n  default_backend b\nbackend b\n  balance source\n  option redispatch\n  server s1 {} maxconn 1\n  server s2 {} maxconn 1\n",
            sock.display(),
            DEFAULTS.replace("global\n  log stdout format raw local0\n", ""),
            backends[0].addr,
            backends[1].addr
        );
        let p = start(which, "requeue", &cfg, front);
        let mut held = connect_from(&format!("127.0.{net}.60"), front).unwrap();
        held.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        held.read_exact(&mut b).unwrap();
        let mut waiting = connect_from(&format!("127.0.{net}.60"), front).unwrap();
        waiting
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        waiting.write_all(b"y").unwrap();
        assert!(
            waiting.read(&mut b).is_err(),
            "{which:?}: the second session waits"
        );
        common::ask(&sock, "disable server b/s1");
        waiting
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        waiting.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"y", "{which:?}: served by the other server");
        drop(held);
        thread::sleep(Duration::from_millis(200));
        drop(waiting);
        let lines: Vec<String> = p
            .wait_lines(3, Duration::from_secs(5))
            .iter()
            .map(|l| mask_tcplog(l))
            .collect();
        out.push(lines);
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_logs_match(&out[0], &out[1]);
    assert!(
        out[0]
            .iter()
            .any(|l| l.contains("1 sessions active, 1 requeued, 0 remaining in queue")),
        "{:?}",
        out[0]
    );
}
