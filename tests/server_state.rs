//! `show servers state` and `load-server-state-from-file`: haproxy and haproxide run the
//! same configuration and the same operator commands; their dumps must be the same. Then
//! each starts again from the state file haproxy saved: the start-up messages, `-c`'s
//! output, the dump and where connections go must be the same.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{ask, start, Backend, Which};

const FRONT: &str = "127.0.86.1:24900";
const S1: &str = "127.0.86.2:24901";
const S2: &str = "127.0.86.3:24902";
const S3: &str = "127.0.86.4:24903";
const S4: &str = "127.0.86.5:24904";
const S5: &str = "127.0.86.6:24905";
const NOBODY: &str = "127.0.86.7:24906";

fn config(sock: &Path, state: &Path) -> String {
    format!(
        "global\n  stats socket {} level admin\n  server-state-file {}\n\
defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n  load-server-state-from-file global\n\
frontend fe\n  bind {FRONT}\n  default_backend b1\n\
backend b1\n  balance roundrobin\n  id 7\n  server s1 {S1} weight 10\n  server s2 {S2} weight 20 id 9\n  server s3 {S3}\n  server s4 {S4} disabled\n  server s5 {S5} backup\n\
backend b2\n  server dead {NOBODY} check inter 200 fall 1 rise 1 port 24907 addr 127.0.86.8\n  server none {NOBODY} weight 0\n",
        sock.display(),
        state.display()
    )
}

/// The dump with its time column (seconds since the last change) masked.
fn dump(sock: &Path) -> String {
    ask(sock, "show servers state")
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(' ').collect();
            if f.len() > 9 && !l.starts_with('#') {
                f[9] = "T";
            }
            f.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A server that sends its name and closes.
fn named(name: &'static [u8], addr: &str) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        use std::io::Write;
        let _ = c.write_all(name);
    })
}

fn reach() -> String {
    let mut c = TcpStream::connect(FRONT).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut v = Vec::new();
    let _ = c.read_to_end(&mut v);
    String::from_utf8_lossy(&v).into_owned()
}

/// Lines a proxy printed, pid and check durations masked, banner left out.
fn messages(errs: &[String]) -> Vec<String> {
    errs.iter()
        .filter(|l| !l.starts_with("[NOTICE]"))
        .map(|l| common::mask_duration(l))
        .map(|l| match l.split_once(") : ") {
            Some((tag, rest)) => format!("{}: {rest}", tag.split('(').next().unwrap_or("")),
            None => l.clone(),
        })
        .collect()
}

struct Run {
    first: Vec<String>,
    after: Vec<String>,
    check: String,
    reload_msgs: Vec<String>,
    route: Vec<String>,
}

fn run(w: Which, saved: Option<&Path>) -> (Run, String) {
    let dir = std::env::temp_dir().join(format!("haproxide-state-{}-{w:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let state = dir.join("state");
    let _ = std::fs::remove_file(&state);
    let cfg = config(&sock, &state);
    let _b = [
        named(b"s1", S1),
        named(b"s2", S2),
        named(b"s3", S3),
        named(b"s4", S4),
        named(b"s5", S5),
    ];
    let p = start(w, "state", &cfg, FRONT.parse().unwrap());
    // The dead server's first check fails.
    std::thread::sleep(Duration::from_millis(700));
    let mut first = vec![dump(&sock)];
    for cmd in [
        "set weight b1/s2 5",
        "set server b1/s3 state drain",
        "enable server b1/s4",
        "disable server b1/s1",
    ] {
        ask(&sock, cmd);
    }
    first.push(dump(&sock));
    first.push(
        ask(&sock, "show servers state b2")
            .lines()
            .count()
            .to_string(),
    );
    first.push(
        ask(&sock, "show servers state #7")
            .lines()
            .count()
            .to_string(),
    );
    first.push(ask(&sock, "show servers state nope"));
    let saved_text = ask(&sock, "show servers state");
    drop(p);
    // Both start from the file haproxy saved when there is one.
    let text = saved.map_or(saved_text.clone(), |f| std::fs::read_to_string(f).unwrap());
    std::fs::write(&state, &text).unwrap();
    let cfg_path = dir.join("c.cfg");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let out = Command::new(w.path())
        .args(["-c", "-f"])
        .arg(&cfg_path)
        .output()
        .unwrap();
    let check = format!(
        "{} {:?} {}",
        out.status.code().unwrap_or(-1),
        messages(
            &String::from_utf8_lossy(&out.stderr)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        ),
        String::from_utf8_lossy(&out.stdout)
    );
    let p = start(w, "state2", &cfg, FRONT.parse().unwrap());
    let reload_msgs = messages(&p.errs.lock().unwrap());
    let after = vec![dump(&sock)];
    let route = (0..6).map(|_| reach()).collect();
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
    (
        Run {
            first,
            after,
            check,
            reload_msgs,
            route,
        },
        saved_text,
    )
}

#[test]
fn server_state_matches_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-state-saved-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (want, saved) = run(Which::Haproxy, None);
    let file = dir.join("state");
    std::fs::write(&file, saved).unwrap();
    let (got, _) = run(Which::Haproxide, Some(&file));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        want.first, got.first,
        "show servers state before the restart"
    );
    assert_eq!(want.check, got.check, "-c with the saved state");
    assert_eq!(want.reload_msgs, got.reload_msgs, "start-up messages");
    assert_eq!(
        want.after, got.after,
        "show servers state after the restart"
    );
    assert_eq!(
        want.route, got.route,
        "where connections go after the restart"
    );
    // The restart kept what the operator did: s1 in maintenance, s3 draining, s2 at 5.
    assert!(want
        .reload_msgs
        .iter()
        .any(|l| l.contains("s3 remains in forced drain")));
    assert!(!want.route.iter().any(|r| r == "s1" || r == "s3"));
}

/// `set server … health|agent`: the same commands on both, the same answers, messages,
/// statuses and saved state.
#[test]
fn health_and_agent_commands_match_haproxy() {
    fn session(w: Which) -> (Vec<String>, Vec<String>) {
        let dir =
            std::env::temp_dir().join(format!("haproxide-health-{}-{w:?}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("s.sock");
        let cfg = format!(
            "global\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
frontend fe\n  bind 127.0.86.1:24920\n  default_backend b1\n\
backend b1\n  server s1 127.0.86.2:24921\n  server s2 127.0.86.3:24922 check inter 60s\n  server s3 127.0.86.4:24923 track s2\n  server s4 127.0.86.5:24924 agent-check agent-port 24925 agent-inter 60s\n",
            sock.display()
        );
        let p = start(w, "health", &cfg, "127.0.86.1:24920".parse().unwrap());
        // s2's first check fails (nothing listens): DOWN, and s3 with it.
        std::thread::sleep(Duration::from_millis(300));
        let mut answers = Vec::new();
        for c in [
            "set server b1/s1 health down",
            "set server b1/s1 health down",
            "set server b1/s3 health up",
            "set server b1/s1 health bogus",
            "set server b1/s1 health up",
            "set server b1/s2 health down",
            "set server b1/s2 health up",
            "set server b1/s1 agent up",
            "set server b1/s4 agent down",
            "set server b1/s4 agent up",
            "set server b1/s4 agent x",
            "set server b1/s1 state maint",
            "set server b1/s1 health down",
            "set server b1/s1 state ready",
            "set server b1/s1 health up",
            "set server b1/s1 health down",
            "set maxconn server b1/s2 5",
            "set maxconn server b1/s2",
            "set maxconn server b1/s2 x",
            "set maxconn server b1/s2 7x",
            "set maxconn server b1/nope 3",
            "set maxconn server nope/s1 3",
            "set maxconn server b1 3",
            "set maxconn server b1/s4 -4",
            "disable health b1/s2",
            "enable health b1/s1",
            "disable agent b1/s1",
            "enable agent b1/s1",
            "disable agent b1/s4",
            "disable health b1",
            "disable health b1/zz",
        ] {
            answers.push(format!("{c} -> {}", ask(&sock, c)));
        }
        answers.push(dump(&sock));
        let st = ask(&sock, "show stat");
        for sv in ["s1", "s2", "s3", "s4"] {
            answers.push(
                [
                    "status",
                    "slim",
                    "iid",
                    "check_status",
                    "chkfail",
                    "agent_status",
                ]
                .iter()
                .map(|c| common::stat_field(&st, sv, c))
                .collect::<Vec<_>>()
                .join(" "),
            );
        }
        let msgs = messages(&p.errs.lock().unwrap());
        drop(p);
        let _ = std::fs::remove_dir_all(&dir);
        (answers, msgs)
    }
    let (want, want_msgs) = session(Which::Haproxy);
    let (got, got_msgs) = session(Which::Haproxide);
    assert_eq!(want, got, "answers, saved state, statuses");
    assert_eq!(want_msgs, got_msgs, "messages");
    assert!(want_msgs
        .iter()
        .any(|m| m.contains("s1 is DOWN, changed from CLI")));
}
