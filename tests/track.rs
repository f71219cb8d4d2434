//! `server … track`: servers without checks of their own take the state of the server they
//! track, in the same backend or another, through chains. Run on haproxy and haproxide
//! with the same checked server going DOWN and UP: the log lines ("is DOWN via a/s1",
//! depth first, the last tracker declared first), `show stat`'s status and tracked
//! columns, and where new connections go must be the same.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::{ask, mask_duration, start, stat_field, Backend, Which};

const FRONT: &str = "127.0.82.1:24530";
const FRONT_B: &str = "127.0.82.1:24531";
const CHECKED: &str = "127.0.82.6:24532";
const OTHER: &str = "127.0.82.7:24533";

fn config(sock: &Path) -> String {
    format!(
        "global\n  log stdout format raw local0\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  log global\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
listen a\n  bind {FRONT}\n  server s1 {CHECKED} check inter 100 fall 1 rise 1\n  server s2 {OTHER} track s1\n\
listen b\n  bind {FRONT_B}\n  server x1 {OTHER} track a/s1\n  server x2 {OTHER} track a/s2 backup\n",
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
    ["s1", "s2", "x1", "x2"]
        .iter()
        .map(|sv| {
            format!(
                "{sv}:{}:{}:{}",
                stat_field(&st, sv, "status"),
                stat_field(&st, sv, "tracked"),
                stat_field(&st, sv, "check_status")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn wait_status(sock: &Path, sv: &str, want: &str) {
    let t0 = Instant::now();
    while stat_field(&ask(sock, "show stat"), sv, "status") != want {
        assert!(t0.elapsed() < Duration::from_secs(5), "{sv} never {want}");
        thread::sleep(Duration::from_millis(20));
    }
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
    seen.push(format!("{:?}", ask(&sock, "disable server b/x1")));
    seen.push(stats(&sock));
    seen.push(format!("{:?}", ask(&sock, "enable server b/x1")));
    seen.push(stats(&sock));
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
        "s1:DOWN::L4CON s2:DOWN:a/s1: x1:DOWN:a/s1: x2:DOWN:a/s2:"
    );
    assert!(
        want_logs
            .iter()
            .any(|l| l.starts_with("Server b/x1 is DOWN via a/s1.")),
        "{want_logs:#?}"
    );
}

#[test]
fn maintenance_of_a_tracked_server_is_refused_by_name() {
    let dir = std::env::temp_dir().join(format!("haproxide-track-maint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let cfg = config(&sock)
        .replace(FRONT, "127.0.82.1:24534")
        .replace(FRONT_B, "127.0.82.1:24535");
    let _p = start(
        Which::Haproxide,
        "trackmaint",
        &cfg,
        "127.0.82.1:24534".parse().unwrap(),
    );
    for cmd in ["disable server a/s1", "set server a/s2 state drain"] {
        let a = ask(&sock, cmd);
        assert!(a.contains("not supported"), "{cmd}: {a}");
    }
    assert_eq!(stat_field(&ask(&sock, "show stat"), "s1", "status"), "UP");
}
