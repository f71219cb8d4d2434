//! `peers`: haproxide and the real haproxy 2.6 replicate one stick table both ways over
//! haproxy's peers protocol. An entry set on either side shows on the other with the
//! same values; a key a stick rule stores on one balancer sends the same client to the
//! same server through the other (the EMQX pair's failover); a restarted peer learns
//! the whole table from the one that stayed up.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{ask, start, Backend, Proxy, Which};

const S1: &str = "127.0.91.3:25120";
const S2: &str = "127.0.91.4:25120";

fn front(n: u8) -> String {
    format!("127.0.91.{n}:25110")
}

fn sock(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("haproxide-peers-{tag}-{}.sock", std::process::id()))
}

fn config(n: u8, sock: &Path) -> String {
    format!(
        "global\n  localpeer lb{n}\n  stats socket {} level admin\n\
peers mypeers\n  peer lb1 127.0.91.1:25100\n  peer lb2 127.0.91.2:25100\n\
defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind {}\n  tcp-request inspect-delay 2s\n  tcp-request content accept if {{ req.len ge 4 }}\n  default_backend b\n\
backend b\n  stick-table type string len 32 size 1k expire 10m peers mypeers store gpc0,conn_cnt,conn_rate(10s)\n  stick on req.payload(0,4)\n  server s1 {S1}\n  server s2 {S2} id 7\n",
        sock.display(),
        front(n)
    )
}

fn run(which: Which, n: u8, s: &Path) -> Proxy {
    let _ = std::fs::remove_file(s);
    start(
        which,
        &format!("peer{n}"),
        &config(n, s),
        front(n).parse().unwrap(),
    )
}

/// The table without addresses and with the remaining lifetimes rounded to minutes.
fn table(s: &Path) -> Vec<String> {
    ask(s, "show table b")
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(' ')
                .skip(1)
                .map(|w| match w.strip_prefix("exp=") {
                    Some(v) => format!("exp~{}m", v.parse::<u64>().unwrap_or(0) / 60000),
                    None => w.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn wait_table(s: &Path, want: &[String]) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(8);
    loop {
        let got = table(s);
        if got == want || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends a 4-byte client id through balancer `n`; the server it reached says its name.
fn reach(n: u8, id: &[u8; 4]) -> String {
    let mut c = TcpStream::connect(front(n)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(id).unwrap();
    let mut v = Vec::new();
    let _ = c.read_to_end(&mut v);
    String::from_utf8_lossy(&v).into_owned()
}

fn named(name: &'static [u8], addr: &str) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let mut b = [0u8; 4];
        let _ = c.read_exact(&mut b);
        let _ = c.write_all(name);
    })
}

/// Balancer `n` (`localpeer lb<n>`: both run on one host).
fn start_as(which: Which, n: u8, s: &Path) -> Proxy {
    run(which, n, s)
}

#[test]
fn haproxide_and_haproxy_replicate_one_table_both_ways() {
    let _s1 = named(b"s1", S1);
    let _s2 = named(b"s2", S2);
    let (k1, k2) = (sock("x"), sock("h"));
    let mut x = start_as(Which::Haproxide, 1, &k1);
    let mut h = start_as(Which::Haproxy, 2, &k2);

    // Entries set by hand on either side reach the other, values and lifetime.
    ask(&k1, "set table b key dev1 data.gpc0 5");
    ask(&k2, "set table b key dev2 data.gpc0 7 data.conn_cnt 3");
    let want = wait_table(&k2, &table(&k1));
    assert_eq!(want.len(), 2, "{want:?}");
    assert_eq!(wait_table(&k1, &want), want);
    assert_eq!(table(&k2), want);

    // A client sticks to a server through one balancer and keeps it through the other.
    let mut seen = Vec::new();
    for (n, id) in [(1u8, b"aaaa"), (2, b"bbbb"), (1, b"cccc"), (2, b"dddd")] {
        let first = reach(n, id);
        assert!(first == "s1" || first == "s2", "{first}");
        let other = if n == 1 { 2 } else { 1 };
        // Give the update a moment to cross.
        let until = Instant::now() + Duration::from_secs(5);
        while !table(if other == 1 { &k1 } else { &k2 })
            .iter()
            .any(|l| l.starts_with(&format!("key={}", String::from_utf8_lossy(id))))
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(reach(other, id), first, "client {id:?} through lb{other}");
        seen.push(first);
    }
    let same = wait_table(&k2, &table(&k1));
    assert_eq!(same.len(), 6, "{same:?}");
    assert_eq!(
        table(&k1),
        same,
        "both tables alike, server_id and server_key included"
    );

    // haproxide restarts and learns everything from haproxy.
    drop(x);
    x = start_as(Which::Haproxide, 1, &k1);
    let relearnt = wait_table(&k1, &table(&k2));
    assert_eq!(relearnt, table(&k2));
    // Then haproxy restarts and learns from haproxide.
    drop(h);
    h = start_as(Which::Haproxy, 2, &k2);
    assert_eq!(wait_table(&k2, &table(&k1)), table(&k1));
    for (n, id) in [(2u8, b"aaaa"), (2, b"cccc")] {
        let was = &seen[if id == b"aaaa" { 0 } else { 2 }];
        assert_eq!(&reach(n, id), was, "after both restarts");
    }
    drop((x, h));
}
