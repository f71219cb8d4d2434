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

/// Table `b` without addresses and with the remaining lifetimes rounded to the minute.
fn table(s: &Path) -> Vec<String> {
    table_of(s, "b")
}

/// Table `name` as [`table`] shows it.
fn table_of(s: &Path, name: &str) -> Vec<String> {
    ask(s, &format!("show table {name}"))
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(' ')
                .skip(1)
                .map(|w| match w.strip_prefix("exp=") {
                    Some(v) => format!("exp~{}m", (v.parse::<u64>().unwrap_or(0) + 30000) / 60000),
                    None => w.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn wait_table(s: &Path, want: &[String]) -> Vec<String> {
    wait_same(|| table(s), want)
}

/// What `get` gives once it equals `want`, or after 8 s.
fn wait_same(get: impl Fn() -> Vec<String>, want: &[String]) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(8);
    loop {
        let got = get();
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

/// A master (`-W`) on the config; stopped by PID when dropped.
struct Master(std::process::Child);

impl Drop for Master {
    fn drop(&mut self) {
        let _ = common::kill(self.0.id(), nix::libc::SIGTERM);
        let _ = self.0.wait();
    }
}

fn workers(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A master-worker reload: the worker that stops teaches its successor the replicated
/// table (haproxy's local peer), so no entry is lost though no other peer is up.
fn reload_keeps(which: Which, tag: &str) -> (Vec<String>, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("haproxide-peers-mw-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = dir.join("s.sock");
    let cfg = dir.join("t.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n  localpeer lb1\n  stats socket {} level admin\n\
peers mypeers\n  peer lb1 127.0.91.21:25130\n  peer lb2 127.0.91.22:25130\n\
defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind 127.0.91.21:25131\n  default_backend b\n\
backend b\n  stick-table type integer size 1k expire 10m peers mypeers store gpc0,http_req_cnt\n  server s1 {S1}\n",
            s.display()
        ),
    )
    .unwrap();
    let m = Master(
        std::process::Command::new(which.path())
            .args(["-W", "-f"])
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    common::wait_port("127.0.91.21:25131");
    let until = Instant::now() + Duration::from_secs(5);
    while !s.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    for (k, v) in [(1, 5), (2, 9), (300, 1)] {
        ask(
            &s,
            &format!(
                "set table b key {k} data.gpc0 {v} data.http_req_cnt {}",
                v * 2
            ),
        );
    }
    let before = table(&s);
    // A process teaches its successor only once its own start-up learning is over: with
    // the other peer down, after haproxy's 5 s resync timeout.
    std::thread::sleep(Duration::from_millis(5500));
    let first = workers(m.0.id());
    common::kill(m.0.id(), nix::libc::SIGUSR2).unwrap();
    // The former worker leaves once its successor has the table.
    let until = Instant::now() + Duration::from_secs(10);
    while workers(m.0.id()).iter().any(|w| first.contains(w)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !workers(m.0.id()).iter().any(|w| first.contains(w)),
        "{tag}: the old worker left"
    );
    let after = table(&s);
    drop(m);
    let _ = std::fs::remove_dir_all(&dir);
    (before, after)
}

#[test]
fn a_master_worker_reload_keeps_the_replicated_table_as_haproxy() {
    let (hb, ha) = reload_keeps(Which::Haproxy, "h");
    let (xb, xa) = reload_keeps(Which::Haproxide, "x");
    assert_eq!(hb.len(), 3, "{hb:?}");
    assert_eq!(ha, hb, "haproxy keeps the table across its reload");
    assert_eq!(xb, hb);
    assert_eq!(xa, ha, "haproxide keeps it the same way");
}

/// An MQTT CONNECT packet (3.1.1) for `client`.
fn connect_packet(client: &str) -> Vec<u8> {
    let mut v = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60];
    v.extend_from_slice(&(client.len() as u16).to_be_bytes());
    v.extend_from_slice(client.as_bytes());
    let mut p = vec![0x10, v.len() as u8];
    p.extend_from_slice(&v);
    p
}

/// A broker that reads the CONNECT and answers its name.
fn broker(name: &'static [u8], addr: &str) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let mut b = [0u8; 64];
        let _ = c.read(&mut b);
        let _ = c.write_all(name);
    })
}

fn mqtt_lb(n: u8, sock: &Path) -> String {
    format!(
        "global\n  localpeer lb{n}\n  stats socket {} level admin\n\
peers emqx\n  peer lb1 127.0.91.31:25140\n  peer lb2 127.0.91.32:25140\n\
defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend mqtt\n  bind 127.0.91.3{n}:1883\n  tcp-request inspect-delay 2s\n  tcp-request content reject unless {{ req.payload(0,0),mqtt_is_valid }}\n  default_backend brokers\n\
backend brokers\n  stick-table type string len 32 size 100k expire 30m peers emqx\n  stick on req.payload(0,0),mqtt_field_value(connect,client_identifier)\n  server emqx1 127.0.91.35:25141\n  server emqx2 127.0.91.36:25141\n",
        sock.display()
    )
}

fn mqtt_reach(n: u8, client: &str) -> String {
    let mut c = TcpStream::connect(format!("127.0.91.3{n}:1883")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(&connect_packet(client)).unwrap();
    let mut v = Vec::new();
    let _ = c.read_to_end(&mut v);
    String::from_utf8_lossy(&v).into_owned()
}

#[test]
fn a_device_keeps_its_broker_when_its_balancer_dies() {
    let _b1 = broker(b"emqx1", "127.0.91.35:25141");
    let _b2 = broker(b"emqx2", "127.0.91.36:25141");
    let (k1, k2) = (sock("m1"), sock("m2"));
    let lb1 = start(
        Which::Haproxide,
        "mqtt1",
        &mqtt_lb(1, &k1),
        "127.0.91.31:1883".parse().unwrap(),
    );
    let lb2 = start(
        Which::Haproxide,
        "mqtt2",
        &mqtt_lb(2, &k2),
        "127.0.91.32:1883".parse().unwrap(),
    );
    let ids: Vec<String> = (0..6).map(|i| format!("device-{i}")).collect();
    let first: Vec<String> = ids.iter().map(|id| mqtt_reach(1, id)).collect();
    assert!(
        first.contains(&"emqx1".to_string()) && first.contains(&"emqx2".to_string()),
        "{first:?}"
    );
    // lb2 has every client id before lb1 goes away (pushed as they were stored).
    let ask_table = |s: &Path| table_of(s, "brokers");
    let want = ask_table(&k1);
    assert_eq!(want.len(), 6, "{want:?}");
    assert_eq!(
        wait_same(|| ask_table(&k2), &want),
        want,
        "server_id and server_key replicated"
    );
    drop(lb1);
    // The devices reconnect through the other balancer, in another order (round robin
    // alone would give them other brokers): each finds its broker again.
    for (id, was) in ids.iter().zip(&first).rev() {
        assert_eq!(&mqtt_reach(2, id), was, "{id} after lb1 died");
    }
    drop(lb2);
}

fn counting(n: u8, sock: &Path) -> String {
    format!(
        "global\n  localpeer lb{n}\n  stats socket {} level admin\n\
peers mypeers\n  peer lb1 127.0.91.41:25150\n  peer lb2 127.0.91.42:25150\n  table src type ip size 1k expire 1m store conn_cnt,conn_rate(10s),gpc0\n\
defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind 127.0.91.4{n}:25151\n  tcp-request connection track-sc0 src table mypeers/src\n  default_backend b\n\
backend b\n  stick-table type ip size 10 peers mypeers\n  server s1 {S1}\n",
        sock.display()
    )
}

#[test]
fn a_peers_section_table_replicates_as_haproxy() {
    let _s1 = named(b"s1", S1);
    let (k1, k2) = (sock("t1"), sock("t2"));
    let x = start(
        Which::Haproxide,
        "ptab1",
        &counting(1, &k1),
        "127.0.91.41:25151".parse().unwrap(),
    );
    let h = start(
        Which::Haproxy,
        "ptab2",
        &counting(2, &k2),
        "127.0.91.42:25151".parse().unwrap(),
    );
    let hit = |n: u8, src: &str| {
        let mut c =
            common::connect_from(src, format!("127.0.91.4{n}:25151").parse().unwrap()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let _ = c.write_all(b"ping");
        let mut v = Vec::new();
        let _ = c.read_to_end(&mut v);
    };
    for _ in 0..3 {
        hit(1, "127.0.91.50");
    }
    for _ in 0..2 {
        hit(2, "127.0.91.51");
    }
    let masked = |s: &Path| -> Vec<String> {
        table_of(s, "mypeers/src")
            .into_iter()
            // The start-up probes' connections (from 127.0.0.1) count too.
            .filter(|l| !l.starts_with("key=127.0.0.1 "))
            .map(|l| {
                // Rates decay with time: keep their presence, not their value.
                l.split(' ')
                    .map(|w| {
                        if w.starts_with("conn_rate(") {
                            "conn_rate"
                        } else {
                            w
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    let until = Instant::now() + Duration::from_secs(8);
    while (masked(&k1).len() < 2 || masked(&k1) != masked(&k2)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    let want = masked(&k2);
    assert_eq!(want.len(), 2, "{want:?}");
    assert!(
        want.iter()
            .any(|l| l.contains("key=127.0.91.50") && l.contains("conn_cnt=3")),
        "{want:?}"
    );
    assert!(
        want.iter()
            .any(|l| l.contains("key=127.0.91.51") && l.contains("conn_cnt=2")),
        "{want:?}"
    );
    assert_eq!(masked(&k1), want);
    // `show table` lists both kinds of tables, in haproxy's order.
    let heads = |s: &Path| -> Vec<String> {
        ask(s, "show table")
            .lines()
            .filter(|l| l.starts_with("# table:"))
            .map(|l| l.split(", used").next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(heads(&k1), heads(&k2));
    assert_eq!(heads(&k1).len(), 2);
    drop((x, h));
}

/// What a peer listener answers to `hello` and then to `msg`: every byte until it closes
/// (at most 2 s).
fn probe(to: &str, hello: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.write_all(hello).unwrap();
    let mut out = Vec::new();
    let mut b = [0u8; 64];
    // The status line first, then the message.
    while !out.contains(&b'\n') {
        match c.read(&mut b) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&b[..n]),
        }
    }
    if !msg.is_empty() {
        let _ = c.write_all(msg);
    }
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        match c.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&b[..n]),
        }
    }
    // Heartbeats and the start-up resync request are the listener's own traffic.
    out
}

fn bad_peers(which: Which) -> Vec<String> {
    let s = sock(&format!("bad{which:?}"));
    let _ = std::fs::remove_file(&s);
    let p = start(which, "badpeer", &config(1, &s), front(1).parse().unwrap());
    let at = "127.0.91.1:25100";
    let hello = |v: &str, to: &str, from: &str| format!("HAProxyS {v}\n{to}\n{from} 1 1\n");
    let cases: Vec<(String, Vec<u8>, Vec<u8>)> = vec![
        (
            "banner".into(),
            b"HELLO 2.1\nlb1\nlb2 1 1\n".to_vec(),
            vec![],
        ),
        (
            "version".into(),
            hello("3.0", "lb1", "lb2").into_bytes(),
            vec![],
        ),
        (
            "name".into(),
            hello("2.1", "lb9", "lb2").into_bytes(),
            vec![],
        ),
        (
            "peer".into(),
            hello("2.1", "lb1", "nobody").into_bytes(),
            vec![],
        ),
        (
            "no space".into(),
            b"HAProxyS 2.1\nlb1\nlb2\n".to_vec(),
            vec![],
        ),
        // After the handshake: a reserved class, a cut length, a body over the limit.
        (
            "reserved".into(),
            hello("2.1", "lb1", "lb2").into_bytes(),
            vec![255, 0],
        ),
        (
            "length".into(),
            hello("2.1", "lb1", "lb2").into_bytes(),
            vec![10, 0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            "size".into(),
            hello("2.1", "lb1", "lb2").into_bytes(),
            vec![10, 0x82, 0xF0, 0xFF, 0x7F],
        ),
        (
            "define cut".into(),
            hello("2.1", "lb1", "lb2").into_bytes(),
            vec![10, 0x82, 2, 1, 9],
        ),
    ];
    let mut seen = Vec::new();
    for (what, h, m) in cases {
        let got = probe(at, &h, &m);
        // The peer's own messages after 200 (its resync request, heartbeats) vary with
        // timing: keep the status line and the error bytes.
        let text = String::from_utf8_lossy(&got);
        let status = text.lines().next().unwrap_or("").to_string();
        let errors: Vec<u8> = got
            .windows(2)
            .filter(|w| w[0] == 1 && w[1] <= 1)
            .map(|w| w[1])
            .collect();
        seen.push(format!("{what}: {status:?} errors {errors:?}"));
    }
    // The balancer still serves and answers on its socket.
    seen.push(format!(
        "table answers {}",
        ask(&s, "show table b").starts_with("# table: b")
    ));
    drop(p);
    seen
}

#[test]
fn bad_peer_input_gets_haproxys_answers() {
    let _s1 = named(b"s1", S1);
    let want = bad_peers(Which::Haproxy);
    assert_eq!(bad_peers(Which::Haproxide), want, "{want:#?}");
    assert_eq!(want[0], "banner: \"501\" errors []");
    assert_eq!(want[5], "reserved: \"200\" errors [0]");
}
