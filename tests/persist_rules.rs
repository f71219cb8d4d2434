//! `use-server`, `force-persist`, `ignore-persist` and `option persist`, run on haproxy
//! and on haproxide with the same requests while the servers change state through the
//! stats socket: the server each request reaches, the cookie the server sees, the
//! `set-cookie` the client gets and the log line (server, status, the termination
//! state's cookie letters) must be the same.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ask, start, Backend, Which};

/// An HTTP server answering with its name, remembering the `cookie` header it got.
fn named(name: &'static str, addr: &str, seen: Arc<Mutex<Vec<String>>>) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let mut buf = Vec::new();
        while let Some(m) = common::read_http_message(&mut c, &mut buf) {
            let head = String::from_utf8_lossy(&m).to_ascii_lowercase();
            let cookie = head
                .lines()
                .find_map(|l| l.strip_prefix("cookie: "))
                .unwrap_or("-")
                .trim()
                .to_string();
            seen.lock().unwrap().push(cookie);
            let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{name}");
            if c.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    })
}

const FRONT: &str = "127.0.199.1:24400";
const PERSIST: &str = "127.0.199.1:24402";
const TCP: &str = "127.0.199.1:24403";
const TCP2: &str = "127.0.199.1:24404";

fn config(sock: &std::path::Path, s1: SocketAddr, s2: SocketAddr, dead: SocketAddr) -> String {
    let servers = format!(
        "  server s1 {s1} cookie s1\n  server s2 {s2} cookie s2\n  server s3 {dead} cookie s3\n"
    );
    format!(
        "global\n  log stdout format raw local0\n  stats socket {} level admin\n\
defaults\n  mode http\n  log global\n  log-format \"%ft %s %ST %tsc\"\n  timeout connect 200ms\n  timeout client 5s\n  timeout server 5s\n  retries 1\n\
listen l\n  bind {FRONT}\n  balance roundrobin\n  cookie SRV insert indirect\n  stick-table type string len 16 size 10\n  stick on req.hdr(x-k) if {{ req.hdr(x-k) -m found }}\n  use-server s1 if {{ path_beg /u1 }}\n  use-server %[req.hdr(x-srv)] if {{ req.hdr(x-srv) -m found }}\n  use-server s2 if {{ path_beg /u1 }}\n  use-server s3 if {{ path_end /dead }}\n  force-persist if {{ path_beg /force }}\n  ignore-persist if {{ path_beg /ignore }}\n  option redispatch\n{servers}\
listen p\n  bind {PERSIST}\n  balance roundrobin\n  cookie SRV insert indirect\n  option persist\n  option redispatch\n{servers}\
listen t\n  mode tcp\n  bind {TCP}\n  bind {TCP2}\n  balance roundrobin\n  use-server s2 if {{ dst_port 24404 }}\n  use-server s1 if {{ src 127.0.199.9 }}\n{servers}\
listen probe\n  bind 127.0.199.1:24401\n  server s {s1}\n",
        sock.display()
    )
}

/// One request: what came back (server name, set-cookie) and what the server saw.
fn get(to: &str, path: &str, hdrs: &[&str], seen: &Arc<Mutex<Vec<String>>>) -> String {
    let before = seen.lock().unwrap().len();
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let extra: String = hdrs.iter().map(|h| format!("{h}\r\n")).collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n");
    c.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).unwrap_or("-").to_string();
    let set = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("set-cookie: ")
                .map(str::to_string)
        })
        .unwrap_or_else(|| "-".into());
    let body = if status == "200" {
        text[text.len().saturating_sub(2)..].to_string()
    } else {
        "-".into()
    };
    let got = seen.lock().unwrap()[before..].join(",");
    format!("{path} {hdrs:?}: {status} {body} set={set} server-saw={got}")
}

/// One TCP connection from `src`: the server's name.
fn tcp(src: &str, to: &str) -> String {
    let mut c = common::connect_from(src, to.parse().unwrap()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let m = common::read_http_message(&mut c, &mut buf).unwrap_or_default();
    let m = String::from_utf8_lossy(&m).into_owned();
    format!("tcp {src}->{to}: {}", &m[m.len().saturating_sub(2)..])
}

fn scenario(which: Which) -> (Vec<String>, Vec<String>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s1 = named("s1", "127.0.199.2:0", seen.clone());
    let s2 = named("s2", "127.0.199.3:0", seen.clone());
    // Nothing listens there: a connection to s3 is refused.
    let dead: SocketAddr = "127.0.199.4:24409".parse().unwrap();
    let sock: PathBuf = std::env::temp_dir().join(format!(
        "haproxide-persist-{}-{which:?}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&sock);
    let cfg = config(&sock, s1.addr, s2.addr, dead);
    let p = start(which, "persist", &cfg, "127.0.199.1:24401".parse().unwrap());
    let mut out = Vec::new();
    let round = |out: &mut Vec<String>| {
        let g = |path: &str, hdrs: &[&str]| get(FRONT, path, hdrs, &seen);
        // use-server before the cookie: the cookie is unused, not sent on.
        out.push(g("/u1", &["Cookie: SRV=s2"]));
        out.push(g("/any", &["X-Srv: s2", "Cookie: SRV=s1"]));
        // A %[…] name no server has ends the rules: balanced.
        out.push(g("/any", &["X-Srv: nosuch"]));
        out.push(g("/u1/x", &["X-Srv: nosuch"]));
        // Persistence ignored: the cookie chooses nothing and none is set.
        out.push(g("/ignore", &["Cookie: SRV=s2"]));
        out.push(g("/ignore", &["Cookie: SRV=s1"]));
        out.push(g("/", &["Cookie: SRV=s2"]));
        out.push(g("/", &["Cookie: SRV=s1; SRV=s2"]));
        out.push(g("/", &["Cookie: SRV=zz; SRV=s2"]));
        out.push(g("/", &["X-K: a"]));
        out.push(g("/", &["X-K: a"]));
        // Forced persistence to a server that refuses: never redispatched.
        out.push(g("/force/dead", &[]));
        out.push(g("/dead", &[]));
        out.push(g("/force", &["Cookie: SRV=s1"]));
        out.push(g("/force", &["X-K: a"]));
        let gp = |path: &str, hdrs: &[&str]| get(PERSIST, path, hdrs, &seen);
        out.push(gp("/", &["Cookie: SRV=s1"]));
        out.push(gp("/", &["Cookie: SRV=s3"]));
        out.push(tcp("127.0.199.8", TCP));
        out.push(tcp("127.0.199.8", TCP2));
        out.push(tcp("127.0.199.9", TCP));
        out.push(tcp("127.0.199.9", TCP));
    };
    round(&mut out);
    // Each phase: its state changes (on every proxy that has the server), then a round.
    let phases: [(&str, &[&str]); 2] = [
        (
            "s1 drained",
            &["l/s1 state drain", "p/s1 state drain", "t/s1 state drain"],
        ),
        (
            "s1 and s3 in maintenance",
            &[
                "l/s1 state maint",
                "p/s1 state maint",
                "t/s1 state maint",
                "l/s3 state maint",
                "p/s3 state maint",
            ],
        ),
    ];
    for (what, cmds) in phases {
        // The sessions of the round before end first (the messages count them).
        common::settle(&sock);
        for c in cmds {
            ask(&sock, &format!("set server {c}"));
        }
        out.push(format!("-- {what}"));
        round(&mut out);
    }
    std::thread::sleep(Duration::from_millis(300));
    let logs: Vec<String> = p
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| !l.starts_with("probe"))
        .cloned()
        .collect();
    drop(p);
    let _ = std::fs::remove_file(&sock);
    (out, logs)
}

#[test]
fn persistence_rules_choose_servers_as_haproxy() {
    let (theirs, their_logs) = scenario(Which::Haproxy);
    let (ours, our_logs) = scenario(Which::Haproxide);
    assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
    assert_eq!(
        our_logs, their_logs,
        "log lines: haproxide (left), haproxy (right)"
    );
    let has = |s: &str| theirs.iter().any(|l| l.contains(s));
    // The scenario shows what it is for: use-server wins over the cookie, a drained
    // server keeps its persistent requests, forced persistence reaches a server in
    // maintenance, and a refused forced one is not redispatched.
    assert!(has("/u1 [\"Cookie: SRV=s2\"]: 200 s1"), "{theirs:#?}");
    assert!(has("/force [\"Cookie: SRV=s1\"]: 200 s1"), "{theirs:#?}");
    assert!(has("/force/dead []: 503"), "{theirs:#?}");
    assert!(
        their_logs.iter().any(|l| l.contains(" --UN")),
        "{their_logs:#?}"
    );
}
