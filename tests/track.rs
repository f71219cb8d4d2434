//! `server … track`: servers without checks of their own take the state of the server they
//! track, in the same backend or another, through chains. Run on haproxy and haproxide
//! with the same checked server going DOWN and UP: the log lines ("is DOWN via a/s1",
//! depth first, the last tracker declared first), `show stat`'s status and tracked
//! columns, and where new connections go must be the same; so must the maintenance and
//! drain the trackers inherit when the operator changes the tracked server's state.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{ask, mask_duration, settle, start, stat_field, wait_status, Backend, Which};

const FRONT: &str = "127.0.82.1:24530";
const FRONT_B: &str = "127.0.82.1:24531";
const FRONT_C: &str = "127.0.82.1:24536";
const CHECKED: &str = "127.0.82.6:24532";
const OTHER: &str = "127.0.82.7:24533";

fn config(sock: &Path) -> String {
    format!(
        "global\n  log stdout format raw local0\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  log global\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
listen a\n  bind {FRONT}\n  server s1 {CHECKED} check inter 100 fall 1 rise 1\n  server s2 {OTHER} track s1\n\
listen b\n  bind {FRONT_B}\n  server x1 {OTHER} track a/s1\n  server x2 {OTHER} track a/s2 backup\n\
listen c\n  bind {FRONT_C}\n  server c1 {CHECKED} check disabled\n  server c2 {OTHER} track c1\n",
        sock.display()
    )
}

/// A server that sends its name and closes.
fn named(name: &'static [u8], addr: &str) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        use std::io::Write;
        let _ = c.write_all(name);
    })
}

/// What one connection to `to` got ("-" when closed without a server).
fn reach(to: &str) -> String {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut v = Vec::new();
    let _ = c.read_to_end(&mut v);
    if v.is_empty() {
        "-".into()
    } else {
        String::from_utf8_lossy(&v).into_owned()
    }
}

fn stats(sock: &Path) -> String {
    let st = ask(sock, "show stat");
    ["s1", "s2", "x1", "x2", "c1", "c2"]
        .iter()
        .map(|sv| {
            format!(
                "{sv}:{}:{}:{}",
                stat_field(&st, sv, "status"),
                stat_field(&st, sv, "tracked"),
                // haproxy marks a check in progress with "* ": timing, not state.
                stat_field(&st, sv, "check_status").trim_start_matches("* ")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(w: Which) -> (Vec<String>, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("haproxide-track-{}-{w:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let mut seen = Vec::new();
    let checked = named(b"s1", CHECKED);
    let p = start(w, "track", &config(&sock), FRONT.parse().unwrap());
    seen.push(stats(&sock));
    seen.push(format!("a:{} b:{}", reach(FRONT), reach(FRONT_B)));
    drop(checked);
    wait_status(&sock, "x2", "DOWN");
    seen.push(stats(&sock));
    seen.push(format!("a:{} b:{}", reach(FRONT), reach(FRONT_B)));
    let _checked = named(b"s1", CHECKED);
    wait_status(&sock, "x2", "UP");
    seen.push(stats(&sock));
    seen.push(format!("a:{} b:{}", reach(FRONT), reach(FRONT_B)));
    // A tracker's own maintenance: it records the state meanwhile and shows it after.
    settle(&sock);
    seen.push(format!("{:?}", ask(&sock, "disable server b/x1")));
    seen.push(stats(&sock));
    seen.push(format!("{:?}", ask(&sock, "enable server b/x1")));
    seen.push(stats(&sock));
    // The operator's changes on tracked servers: the trackers inherit them.
    for cmd in [
        "disable server b/x1",
        "disable server a/s1",
        "enable server b/x1",
        "set server a/s2 state drain",
        "enable server a/s1",
        "set server a/s1 state drain",
        "set server a/s2 state ready",
        "set server a/s1 state maint",
        "set server a/s1 state ready",
        "enable server c/c1",
    ] {
        settle(&sock);
        seen.push(format!("{cmd}: {:?}", ask(&sock, cmd)));
        seen.push(stats(&sock));
        seen.push(format!(
            "a:{} b:{} c:{}",
            reach(FRONT),
            reach(FRONT_B),
            reach(FRONT_C)
        ));
    }
    thread::sleep(Duration::from_millis(300));
    let logs = p
        .all_lines()
        .iter()
        .filter(|l| l.contains("Server") || l.contains("server available"))
        .map(|l| mask_duration(l))
        .collect();
    (seen, logs)
}

#[test]
fn track_matches_haproxy() {
    let _other = named(b"s2", OTHER);
    let (want, want_logs) = run(Which::Haproxy);
    let (got, got_logs) = run(Which::Haproxide);
    assert_eq!(got, want, "haproxide (left), haproxy (right)");
    assert_eq!(got_logs, want_logs, "haproxide (left), haproxy (right)");
    // What haproxy showed, so that both cannot be wrong alike.
    assert_eq!(
        want[2],
        "s1:DOWN::L4CON s2:DOWN:a/s1: x1:DOWN:a/s1: x2:DOWN:a/s2: c1:MAINT:: c2:MAINT (via c/c1):c/c1:"
    );
    assert!(
        want_logs
            .iter()
            .any(|l| l.contains("is going DOWN for maintenance via a/s1")),
        "{want_logs:#?}"
    );
    assert!(
        want_logs
            .iter()
            .any(|l| l.starts_with("Server b/x1 is DOWN via a/s1.")),
        "{want_logs:#?}"
    );
}
