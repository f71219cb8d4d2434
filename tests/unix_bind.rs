//! `unix-bind` compared with haproxy 2.6: its prefix, mode and owner are defaults for
//! UNIX-socket binds in proxies (which haproxide refuses) and do not reach the stats
//! socket, so the sockets both proxies create must have the same path, permissions and
//! owner, with and without a socket-level `mode`.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::{Kill, Which};

/// Each socket's path (relative to the run's directory), permissions, owner and group.
fn sockets(w: Which) -> Vec<(String, u32, u32, u32)> {
    let dir = std::env::temp_dir().join(format!("haproxide-ub-{}-{w:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    let cfg = format!(
        "global\n  unix-bind prefix {d}/pfx- mode 0600 uid 1 gid 1\n  stats socket {d}/a.sock level admin\n  stats socket {d}/b.sock mode 640\n\
defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind 127.0.127.200:25479\n"
    );
    let path = dir.join("t.cfg");
    std::fs::write(&path, cfg).unwrap();
    let child = Command::new(w.path())
        .args(["-db", "-f"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _k = Kill(child);
    let t0 = Instant::now();
    while std::os::unix::net::UnixStream::connect(dir.join("b.sock")).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{w:?} did not start"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sock"))
        .map(|e| {
            let m = e.metadata().unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, m.mode() & 0o7777, m.uid(), m.gid())
        })
        .collect();
    out.sort();
    drop(_k);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn unix_bind_leaves_stats_sockets_as_haproxy_does() {
    let want = sockets(Which::Haproxy);
    let got = sockets(Which::Haproxide);
    assert_eq!(got, want);
    let names: Vec<&str> = want.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["a.sock", "b.sock"],
        "no prefix on the stats sockets"
    );
    assert_eq!(want[1].1, 0o640, "the socket's own mode");
}
