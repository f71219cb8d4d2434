//! `show env`: started with the same environment and a global section that sets, unsets
//! and resets variables, haproxy and haproxide must list the same variables in the same
//! order (the startup version's value and the run's directory aside), and answer the
//! same for one variable, a missing one and a user-level socket.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::{ask, Kill, Which};

fn config(dir: &Path) -> String {
    format!(
        "global\n  stats socket {d}/s.sock level admin\n  stats socket {d}/u.sock level user\n  stats socket 127.0.86.1:24931 level operator\n\
  setenv FOO bar\n  presetenv PATH ignored\n  presetenv NEWP set\n  unsetenv HOME\n  setenv Z 2\n  resetenv PATH Z FOO NEWP KEEP HAPROXY_LOCALPEER HAPROXY_STARTUP_VERSION\n  setenv AFTER 1\n\
defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind 127.0.86.1:24930\n",
        d = dir.display()
    )
}

fn run(w: Which) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("haproxide-env-{}-{w:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("t.cfg");
    std::fs::write(&cfg, config(&dir)).unwrap();
    let child = Command::new(w.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/root")
        .env("Z", "1")
        .env("DROPPED", "x")
        .env("KEEP", "y")
        .args(["-db", "-L", "peer1", "-f"])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _k = Kill(child);
    let sock = dir.join("s.sock");
    let t0 = Instant::now();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{w:?} did not start"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let d = dir.display().to_string();
    let out = [
        ask(&sock, "show env"),
        ask(&sock, "show env FOO"),
        ask(&sock, "show env NOPE"),
        ask(&sock, "show env HOME"),
        ask(&dir.join("u.sock"), "show env"),
    ]
    .iter()
    .map(|s| {
        s.lines()
            .map(|l| match l.split_once('=') {
                Some(("HAPROXY_STARTUP_VERSION", _)) => "HAPROXY_STARTUP_VERSION=V".into(),
                _ => l.replace(&d, "DIR"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
    .collect();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn show_env_lists_what_haproxy_lists() {
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    assert_eq!(want, got);
    assert!(want[0].contains("HAPROXY_CFGFILES=DIR/t.cfg"), "{want:?}");
    assert!(!want[0].contains("DROPPED"), "{want:?}");
}
