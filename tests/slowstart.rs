//! `slowstart`, run on haproxy and on haproxide with the same servers: a server coming back
//! UP (by its checks, or out of maintenance) starts at a sixteenth of its weight and with
//! one connection of its `maxconn`, then grows each second. Compared: the round-robin order
//! while it warms up, `show stat`'s weight and throttle, the queue its small limit makes,
//! and the end of the ramp. `set weight` in the middle of a round-robin cycle takes the
//! same path in both (haproxy's `fwrr_update_server_weight`), so its order is compared here
//! too.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{ask, start, stat_field, wait_status, Backend, Which};

const RR: &str = "127.0.82.1:24500";
const LIMIT: &str = "127.0.82.1:24501";
const SHORT: &str = "127.0.82.1:24502";
const WEIGHTS: &str = "127.0.82.1:24503";
const S1: &str = "127.0.82.2:24510";
const S2: &str = "127.0.82.3:24511";
const S3: &str = "127.0.82.4:24512";
const S4: &str = "127.0.82.5:24513";

/// A server that sends its name, then waits for the client to end.
fn named(name: &'static [u8], addr: &str) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let _ = c.write_all(name);
        let _ = c.read_to_end(&mut Vec::new());
    })
}

fn config(sock: &Path) -> String {
    let check = "check inter 100 fall 1 rise 1";
    format!(
        "global\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n  timeout queue 3s\n\
listen rr\n  bind {RR}\n  balance roundrobin\n  server a1 {S1}\n  server a2 {S2} {check} slowstart 60s\n\
listen limit\n  bind {LIMIT}\n  balance roundrobin\n  server b2 {S2} {check} weight 2 maxconn 10 slowstart 60s\n\
listen short\n  bind {SHORT}\n  balance roundrobin\n  server c1 {S1} weight 2\n  server c2 {S2} {check} weight 3 slowstart 1s\n\
listen weights\n  bind {WEIGHTS}\n  balance roundrobin\n  server w1 {S3} weight 1\n  server w2 {S4} weight 2\n  server w3 {S1} weight 3\n",
        sock.display()
    )
}

/// The server names of `n` sequential connections.
fn order(to: &str, n: usize) -> String {
    (0..n)
        .map(|_| {
            let mut c = TcpStream::connect(to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut b = [0u8; 2];
            c.read_exact(&mut b)
                .map_or("--".into(), |_| String::from_utf8_lossy(&b).into_owned())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Column `col` of the `show stat` row of `px`/`sv`.
fn field(st: &str, px: &str, sv: &str, col: &str) -> String {
    let head = st.lines().next().unwrap_or("");
    let row = st
        .lines()
        .find(|l| l.starts_with(&format!("{px},{sv},")))
        .unwrap_or("");
    stat_field(&format!("{head}\n{row}"), sv, col)
}

/// weight, throttle and uweight of `sv`, and the weight of its backend `px`.
fn weights(sock: &Path, px: &str, sv: &str) -> String {
    let st = ask(sock, "show stat");
    format!(
        "{sv} weight={} throttle={} uweight={}; backend weight={}",
        field(&st, px, sv, "weight"),
        field(&st, px, sv, "throttle"),
        field(&st, px, sv, "uweight"),
        field(&st, px, "BACKEND", "weight")
    )
}

fn run(w: Which) -> Vec<String> {
    let dir =
        std::env::temp_dir().join(format!("haproxide-slowstart-{}-{w:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let _p = start(w, "slowstart", &config(&sock), RR.parse().unwrap());
    let mut seen = Vec::new();
    for sv in ["a2", "b2", "c2"] {
        wait_status(&sock, sv, "DOWN");
    }
    let s2 = named(b"s2", S2);
    for sv in ["a2", "b2", "c2"] {
        wait_status(&sock, sv, "UP");
    }
    seen.push(weights(&sock, "rr", "a2"));
    seen.push(weights(&sock, "limit", "b2"));
    // How many each server took: where in the 34 the warming server comes depends on
    // when its weight grows a step, which the two proxies need not see at the same
    // connection.
    let rr = order(RR, 34);
    let took = |n: &str| rr.split(' ').filter(|x| *x == n).count();
    seen.push(format!("s1={} s2={}", took("s1"), took("s2")));
    // One connection of maxconn 10 at first: the second waits in the queue for it.
    let mut c1 = TcpStream::connect(LIMIT).unwrap();
    let mut b = [0u8; 2];
    c1.read_exact(&mut b).unwrap();
    let mut c2 = TcpStream::connect(LIMIT).unwrap();
    c2.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    seen.push(format!(
        "second while the first holds: {:?}",
        c2.read(&mut b).map_err(|e| e.kind())
    ));
    let st = ask(&sock, "show stat");
    seen.push(format!(
        "qcur server {} backend {}",
        field(&st, "limit", "b2", "qcur"),
        field(&st, "limit", "BACKEND", "qcur")
    ));
    drop(c1);
    c2.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    seen.push(format!(
        "after the first ends: {:?}",
        c2.read_exact(&mut b).map(|_| b)
    ));
    drop(c2);
    // The ramp ends after a second or two: full weight, no throttle.
    thread::sleep(Duration::from_millis(2300));
    seen.push(weights(&sock, "short", "c2"));
    seen.push(order(SHORT, 10));
    // Weights changed in the middle of a cycle.
    seen.push(order(WEIGHTS, 5));
    for (cmd, n) in [
        ("set weight weights/w3 1", 12),
        ("set weight weights/w1 5", 12),
        ("set weight weights/w2 0", 6),
        ("set weight weights/w2 4", 12),
        ("set weight weights/w1 5%", 9),
    ] {
        seen.push(format!("{cmd}: {:?}", ask(&sock, cmd)));
        seen.push(order(WEIGHTS, n));
    }
    // Out of maintenance it warms up again.
    for cmd in ["disable server rr/a2", "enable server rr/a2"] {
        seen.push(format!("{cmd}: {:?}", ask(&sock, cmd)));
    }
    wait_status(&sock, "a2", "UP");
    seen.push(weights(&sock, "rr", "a2"));
    drop(s2);
    seen
}

#[test]
fn slowstart_matches_haproxy() {
    let _s = [named(b"s1", S1), named(b"s3", S3), named(b"s4", S4)];
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(g, w, "step {i}");
    }
    assert_eq!(want.len(), got.len());
    // What haproxy showed, so that this test cannot pass with both sides wrong alike.
    assert_eq!(
        want[0],
        "a2 weight=1 throttle=7 uweight=1; backend weight=2"
    );
    assert_eq!(
        want[1],
        "b2 weight=1 throttle=6 uweight=2; backend weight=1"
    );
    assert_eq!(want[2], "s1=33 s2=1");
    assert_eq!(want[3], "second while the first holds: Err(WouldBlock)");
}
