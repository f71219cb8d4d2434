//! Log target options against haproxy's output on the same events: `len` cuts the line
//! (newline included), `<minlevel>` caps the severity, and each `format`'s header.

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use common::{start, Which};

fn lines(which: Which, net: u8) -> Vec<String> {
    let front: SocketAddr = format!("127.0.{net}.1:24730").parse().unwrap();
    // Nothing listens on the checked server: it goes DOWN, the backend has none left.
    let cfg = format!(
        "global\n  log stdout len 80 format raw local0 info\n  log stdout format short local0 info err\n  log stdout format priority local1 info\n  log stdout format timed local0 info\n\
         defaults\n  mode tcp\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         backend b\n  server s 127.0.{net}.2:24731 check inter 300ms\n\
         listen l\n  bind {front}\n  server s 127.0.{net}.2:24731\n"
    );
    let p = start(which, &format!("logt-{net}"), &cfg, front);
    thread::sleep(Duration::from_millis(800));
    let mut out: Vec<String> = p.early.clone();
    out.extend(p.lines.lock().unwrap().iter().cloned());
    out.into_iter()
        .filter(|l| l.contains("Server b/s") || l.contains("backend b "))
        .map(|l| {
            // The check's duration and the timed format's date vary between runs.
            let l = l.replace("duration: 1ms", "duration: 0ms");
            match l.split_once('>') {
                Some((pri, rest))
                    if l.starts_with('<') && rest.as_bytes().get(4) == Some(&b'-') =>
                {
                    let after = rest.split_once(' ').map_or("", |x| x.1);
                    format!("{pri}>DATE {after}")
                }
                _ => l,
            }
        })
        .collect()
}

#[test]
fn len_minlevel_and_formats_as_haproxy_writes_them() {
    let want = lines(Which::Haproxy, 215);
    assert!(
        want.iter()
            .any(|l| l.len() == 79 && l.starts_with("Server b/s is DOWN")),
        "{want:?}"
    );
    assert!(
        want.iter().any(|l| l.starts_with("<3>Server b/s is DOWN")),
        "{want:?}"
    );
    let mut got = lines(Which::Haproxide, 216);
    let mut want = want;
    // Each target writes its own line: their order on the shared stdout is not fixed.
    got.sort();
    want.sort();
    assert_eq!(got, want);
}
