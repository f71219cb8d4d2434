//! `set server <b>/<s> addr|check-addr|check-port|agent-addr|agent-port|agent-send|fqdn|
//! ssl` on the stats socket, compared with haproxy: every answer (valid and refused
//! values, port maps), `show servers state` and `show stat` afterwards, and what changes:
//! where the next session goes, a check that starts passing on its new port, and where
//! the agent connects and what it is sent.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{ask, mask_duration, start, Backend, Which};

const FE: &str = "127.0.97.1:25240";

/// The configuration with `backends` after the global part and a frontend.
fn config(sock: &Path, backends: &str) -> String {
    format!(
        "global\n  log stdout format raw local0\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend fe\n  bind {FE}\n  default_backend t\n\
backend t\n  server s 127.0.97.3:25242\n{backends}",
        sock.display()
    )
}

/// Backend `a`, whose servers are never reached: the answers are compared on it.
const ANSWERING: &str = "backend a\n  server s1 127.0.97.9:25249 check inter 60s agent-check agent-port 25248 agent-inter 60s\n\
  server s2 127.0.97.9:25249 disabled\n  server s3 127.0.97.9:25249 check port 25248 disabled\n";

/// Backend `c`: a check failing until its port changes, an agent.
const ACTING: &str = "backend c\n  server s1 127.0.97.2:25241 check inter 200 rise 1 fall 1\n\
  server s3 127.0.97.6:25246 agent-check agent-port 25247 agent-inter 200\n";

/// Answers to every variant, on backend `a` whose servers are never reached.
const ANSWERS: &[&str] = &[
    "set server a/s1 addr 127.0.97.10",
    "set server a/s1 addr 127.0.97.10",
    "set server a/s1 addr 127.0.97.11 port 9000",
    "set server a/s1 addr 127.0.97.11 port +10",
    "set server a/s3 addr 127.0.97.11 port +10",
    "set server a/s3 addr 127.0.97.11 port -5",
    "set server a/s3 check-port 0",
    "set server a/s1 port 5",
    "set server a/s1 addr bogus",
    "set server a/s1 addr ::1",
    "set server a/s1 addr",
    "set server a/s2 addr 127.0.97.12 port x",
    "set server a/s2 check-port 9001",
    "set server a/s1 check-addr 127.0.97.13 port 70000",
    "set server a/s1 check-addr 127.0.97.13 port 9002",
    "set server a/s1 check-addr nope",
    "set server a/s1 check-port",
    "set server a/s1 agent-addr 127.0.97.14",
    "set server a/s1 agent-port x",
    "set server a/s1 agent-port 9003",
    "set server a/s2 agent-send hello",
    "set server a/s2 agent-addr 127.0.97.14",
    "set server a/s1 fqdn x",
    "set server a/s1 fqdn",
    "set server a/s1 ssl on",
    "set server a/s1 foo",
    "set server a/s1",
    "set server a/nope addr 127.0.97.1",
    "set server a",
    "show servers state a",
];

/// A server that answers the agent `up` at once, then records what it was sent.
fn agent(addr: &str) -> Backend {
    Backend::with(addr, |mut c: TcpStream, rec| {
        let _ = c.write_all(b"up\n");
        c.set_read_timeout(Some(Duration::from_millis(150)))
            .unwrap();
        let mut v = vec![0u8; 64];
        let n = c.read(&mut v).unwrap_or(0);
        v.truncate(n);
        rec.lock().unwrap().push(v);
    })
}

/// `show servers state` and `show stat` lines without their times since the last change.
fn mask_state(answer: &str) -> String {
    answer
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(' ').collect();
            if f.len() == 25 && f[0] != "#" {
                f[9] = "T";
            }
            f.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits (at most 3 s) until a log line holds `what`.
fn wait_log(lines: &std::sync::Mutex<Vec<String>>, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if lines.lock().unwrap().iter().any(|l| l.contains(what)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn run(which: Which) -> Vec<String> {
    let sock: PathBuf = std::env::temp_dir().join(format!(
        "haproxide-setsrv-{}-{which:?}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&sock);
    let first = Backend::echo("127.0.97.3:25242");
    let moved = Backend::echo("127.0.97.5:25244");
    let check_port = Backend::echo("127.0.97.2:25245");
    let agent1 = agent("127.0.97.6:25247");
    let agent2 = agent("127.0.97.7:25248");
    let mut seen = Vec::new();
    let p = start(
        which,
        "setsrv",
        &config(&sock, ANSWERING),
        FE.parse().unwrap(),
    );
    for cmd in ANSWERS {
        seen.push(format!("{cmd}: {:?}", mask_state(&ask(&sock, cmd))));
    }
    seen.push(format!(
        "show stat a: {:?}",
        ask(&sock, "show stat")
            .lines()
            .filter(|l| l.starts_with("a,s"))
            .map(|l| l.split(',').nth(73).unwrap_or("?").to_string())
            .collect::<Vec<_>>()
    ));
    drop(p);
    let p = start(which, "setsrv", &config(&sock, ACTING), FE.parse().unwrap());
    // The next session goes to the new address.
    let session = || common::roundtrip(FE.parse().unwrap(), b"x");
    let before = (first.count(), moved.count());
    seen.push(format!("session: {:?}", session()));
    let answer = ask(&sock, "set server t/s addr 127.0.97.5 port 25244");
    seen.push(format!("moved: {answer:?} {:?}", session()));
    seen.push(format!(
        "sessions: {:?}",
        (first.count() - before.0, moved.count() - before.1)
    ));
    // The check fails on its port, then passes on the new one.
    seen.push(format!(
        "check-port: {:?}",
        ask(&sock, "set server c/s1 check-port 25245")
    ));
    seen.push(format!("up: {}", wait_log(&p.lines, "c/s1 is UP")));
    // The agent, sent what the operator set, then asked somewhere else.
    for (label, cmd, agent) in [
        ("agent", "set server c/s3 agent-send hello", &agent1),
        (
            "agent2",
            "set server c/s3 agent-addr 127.0.97.7 port 25248",
            &agent2,
        ),
    ] {
        seen.push(format!("{cmd}: {:?}", ask(&sock, cmd)));
        std::thread::sleep(Duration::from_millis(600));
        let sent = agent.accepted.lock().unwrap().last().cloned();
        seen.push(format!(
            "{label} got: {:?}",
            sent.map(|v| String::from_utf8_lossy(&v).to_string())
        ));
    }
    let _ = check_port.count();
    seen.extend(
        p.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("c/s1"))
            .take(2)
            .map(|l| mask_duration(l)),
    );
    seen
}

#[test]
fn set_server_addresses_as_haproxy() {
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(
            g, w,
            "haproxide (left) and haproxy (right) differ:\n{got:#?}"
        );
    }
    assert_eq!(got.len(), want.len(), "{got:#?}\n{want:#?}");
    let all = want.join("\n");
    for s in [
        "IP changed from '127.0.97.3' to '127.0.97.5', port changed from '25242' to '25244'",
        "sessions: (1, 1)",
        "up: true",
        "agent got: Some(\"hello\")",
        "agent2 got: Some(\"hello\")",
    ] {
        assert!(all.contains(s), "{s:?} in haproxy's run:\n{all}");
    }
}
