//! `set maxconn frontend` and `set maxconn global` on the stats socket, compared with
//! haproxy: the answers, `show stat` slim and `show info` Maxconn, and whether a new
//! client is served or waits in the backlog as the limits go down under the sessions
//! in progress and up again; a frontend without a `maxconn` of its own has the
//! process's starting one, and the command changes it too.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{ask, start, stat_field, Backend, Which};

const FE: &str = "127.0.102.1:25280";
const FREE: &str = "127.0.102.1:25281";

fn config(sock: &Path) -> String {
    format!(
        "global\n  maxconn 500\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n\
frontend fe\n  bind {FE}\n  maxconn 5\n  default_backend b\n\
frontend free\n  bind {FREE}\n  default_backend b\n\
backend b\n  server s 127.0.102.2:25282\n",
        sock.display()
    )
}

/// A client of `to` that sent a byte; whether its echo came within `wait` ms.
fn client(to: &str, wait: u64) -> (TcpStream, bool) {
    let mut c = TcpStream::connect(to).unwrap();
    c.write_all(b"k").unwrap();
    let got = echoed(&mut c, wait);
    (c, got)
}

/// Whether a byte comes back on `c` within `wait` milliseconds.
fn echoed(c: &mut TcpStream, wait: u64) -> bool {
    c.set_read_timeout(Some(Duration::from_millis(wait)))
        .unwrap();
    let mut b = [0u8; 1];
    matches!(c.read(&mut b), Ok(1))
}

fn run(which: Which) -> Vec<String> {
    let sock: PathBuf = std::env::temp_dir().join(format!(
        "haproxide-maxconn-{}-{which:?}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&sock);
    let _p = start(which, "maxconn", &config(&sock), FREE.parse().unwrap());
    let mut seen = Vec::new();
    let mut say = |what: String| seen.push(what);
    let info = |k: &str| {
        ask(&sock, "show info")
            .lines()
            .find(|l| l.starts_with(&format!("{k}:")))
            .unwrap_or("?")
            .to_string()
    };
    // Three sessions in progress, then a frontend limit of two under them.
    let mut held: Vec<TcpStream> = (0..3).map(|_| client(FE, 1000).0).collect();
    say(format!(
        "set 2: {:?}",
        ask(&sock, "set maxconn frontend fe 2")
    ));
    say(format!(
        "slim {}",
        stat_field(&ask(&sock, "show stat"), "FRONTEND", "slim")
    ));
    let (mut waiting, served) = client(FE, 500);
    say(format!("fourth client served: {served}"));
    // Two end: one session left, under the limit: the waiting client is served.
    held.truncate(1);
    say(format!(
        "served once two left: {}",
        echoed(&mut waiting, 2000)
    ));
    drop(waiting);
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    // The process's limit now, on the other frontend.
    say(format!(
        "set global 2: {:?}",
        ask(&sock, "set maxconn global 2")
    ));
    say(info("Maxconn"));
    say(info("Hard_maxconn"));
    let held: Vec<TcpStream> = (0..2).map(|_| client(FREE, 1000).0).collect();
    let (mut waiting, served) = client(FREE, 500);
    say(format!("third client served: {served}"));
    say(format!(
        "set global 0: {:?}",
        ask(&sock, "set maxconn global 0")
    ));
    say(info("Maxconn"));
    say(format!(
        "served once restored: {}",
        echoed(&mut waiting, 2000)
    ));
    drop(held);
    drop(waiting);
    std::thread::sleep(Duration::from_millis(200));
    // A frontend without a maxconn of its own has the process's starting one, which
    // the stats socket changes as any other.
    let slim = |px: &str| {
        let stat = ask(&sock, "show stat");
        format!(
            "{px} slim {}",
            common::proxy_field(&stat, px, "FRONTEND", "slim")
        )
    };
    say(slim("free"));
    say(format!(
        "set free 1: {:?}",
        ask(&sock, "set maxconn frontend free 1")
    ));
    say(slim("free"));
    let held = client(FREE, 1000);
    say(format!("first free client served: {}", held.1));
    let (_waiting, served) = client(FREE, 500);
    say(format!("second free client served: {served}"));
    seen
}

#[test]
fn maxconn_set_at_run_time_as_haproxy() {
    let _server = Backend::echo("127.0.102.2:25282");
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    assert_eq!(got, want);
    for s in [
        "fourth client served: false",
        "served once two left: true",
        "Maxconn: 2",
        "third client served: false",
        "served once restored: true",
        "free slim 500",
        "free slim 1",
        "second free client served: false",
    ] {
        assert!(
            want.iter().any(|l| l == s),
            "{s} in haproxy's run: {want:?}"
        );
    }
}
