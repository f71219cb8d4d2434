//! A session's own server connections compared with haproxy 2.6: `option
//! prefer-last-server` (which only private connections make count: `http-reuse never`
//! here), a 401 offering NTLM tying the connection and the session to its server,
//! `max-keep-alive-queue` deciding between queueing behind the preferred server and
//! balancing, `max-session-srv-conns` bounding the idle ones kept, and how each server
//! connection ends (haproxy resets what it closes without having seen the server's end).
//! Servers 127.0.127.1-26:25471, frontends 127.0.127.100-102:25470-25473.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{mask_httplog, read_http_message, start, Backend, Which};

fn head() -> String {
    "global\n  log stdout format raw local0\ndefaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n".into()
}

/// `n` server lines for the test's servers 127.0.127.(base+1…).
fn servers(n: usize, base: usize, extra: &str) -> String {
    (1..=n)
        .map(|i| format!("  server s{i} 127.0.127.{}:25471{extra}\n", base + i))
        .collect()
}

/// Server `i`: answers each request with its name (a 401 offering NTLM when the path
/// holds "ntlm", after 1.5 s when it holds "slow"); records "open", then "eof" or "rst"
/// for how the connection ended.
fn server(base: usize, i: usize) -> Backend {
    Backend::with(
        &format!("127.0.127.{}:25471", base + i),
        move |mut c, rec| {
            rec.lock().unwrap().push(b"open".to_vec());
            let mut buf = Vec::new();
            let end: &[u8] = loop {
                let mut tmp = [0u8; 4096];
                let head = loop {
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(buf.drain(..p + 4).collect::<Vec<u8>>());
                    }
                    match c.read(&mut tmp) {
                        Ok(0) => break None,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        Err(_) => break Some(Vec::new()),
                    }
                };
                let Some(head) = head else { break b"eof" };
                if head.is_empty() {
                    break b"rst";
                }
                let path = String::from_utf8_lossy(&head).to_string();
                if path.contains("slow") {
                    thread::sleep(Duration::from_millis(1500));
                }
                let resp = if path.contains("ntlm") {
                    let body = format!("auth s{i}");
                    format!("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x, NTLM\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                } else {
                    let body = format!("s{i}");
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                };
                if c.write_all(resp.as_bytes()).is_err() {
                    break b"rst";
                }
            };
            rec.lock().unwrap().push(end.to_vec());
        },
    )
}

/// The bodies of the answers to `paths`, sent one after the other on one connection
/// (a path "@N" waits N ms instead).
fn converse(to: &str, paths: &[&str]) -> Vec<String> {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for p in paths {
        if let Some(ms) = p.strip_prefix('@') {
            thread::sleep(Duration::from_millis(ms.parse().unwrap()));
            continue;
        }
        c.write_all(format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        match read_http_message(&mut c, &mut buf) {
            Some(m) => {
                let m = String::from_utf8_lossy(&m).to_string();
                out.push(m.split("\r\n\r\n").nth(1).unwrap_or("").to_string());
            }
            None => {
                out.push("closed".into());
                break;
            }
        }
    }
    out
}

/// What each run shows: the answers per conversation, each server's records, the log
/// lines (masked, sorted: concurrent conversations end in either order).
type Run = (Vec<Vec<String>>, Vec<Vec<String>>, Vec<String>);

/// Runs `cfg` on `which` with `n` fresh servers, the conversations of each group at
/// once (groups one after the other, each started 200 ms after the previous member).
fn run(which: Which, cfg: &str, (n, base): (usize, usize), groups: &[Group]) -> Run {
    let srvs: Vec<Backend> = (1..=n).map(|i| server(base, i)).collect();
    let front: SocketAddr = groups[0][0].0.parse().unwrap();
    let p = start(which, &format!("prefer-{base}"), cfg, front);
    let mut answers = Vec::new();
    for g in groups {
        let hs: Vec<_> = g
            .iter()
            .enumerate()
            .map(|(k, (to, paths))| {
                let (to, paths): (String, Vec<String>) = (
                    to.to_string(),
                    paths.iter().map(|s| s.to_string()).collect(),
                );
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(200 * k as u64));
                    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
                    converse(&to, &refs)
                })
            })
            .collect();
        answers.extend(hs.into_iter().map(|h| h.join().unwrap()));
    }
    // The connections the proxy keeps end with it.
    thread::sleep(Duration::from_millis(300));
    let mut lines: Vec<String> = p.lines.lock().unwrap().iter().map(|l| mask(l)).collect();
    lines.sort();
    drop(p);
    thread::sleep(Duration::from_millis(300));
    let recs = srvs
        .iter()
        .map(|s| {
            let r = s.accepted.lock().unwrap();
            r.iter()
                .map(|v| String::from_utf8_lossy(v).into())
                .collect()
        })
        .collect();
    (answers, recs, lines)
}

/// An httplog line without the run's details; the queue wait rounded to seconds.
fn mask(l: &str) -> String {
    let t = l
        .split(' ')
        .find(|w| w.split('/').count() == 5 && w.split('/').all(|t| t.parse::<i64>().is_ok()));
    let tw = t.and_then(|t| t.split('/').nth(1)?.parse::<i64>().ok());
    format!(
        "{} Tw~{}s",
        mask_httplog(l),
        tw.map_or(-1, |ms| (ms + 500) / 1000)
    )
}

/// Conversations started together: where to, and the paths.
type Group<'a> = Vec<(&'a str, Vec<&'a str>)>;

fn compare(cfg: &str, n: (usize, usize), groups: &[Group]) -> Run {
    let want = run(Which::Haproxy, cfg, n, groups);
    let got = run(Which::Haproxide, cfg, n, groups);
    assert_eq!(got.0, want.0, "answers");
    assert_eq!(got.2, want.2, "log lines");
    // Each server's connections: opened, and ended by a FIN or a reset.
    let sorted = |r: &Vec<Vec<String>>| {
        r.iter()
            .map(|v| {
                let mut v = v.clone();
                v.sort();
                v
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(sorted(&got.1), sorted(&want.1), "server connections");
    want
}

#[test]
fn prefer_last_server_and_ntlm_match_haproxy() {
    const FRONT: &str = "127.0.127.100:25470";
    let cfg = format!(
        "{}frontend f\n  bind {FRONT}\n  use_backend never if {{ path_beg /n }}\n  use_backend plain if {{ path_beg /x }}\n  default_backend safe\n\
backend safe\n  option prefer-last-server\n{}backend never\n  http-reuse never\n  option prefer-last-server\n{}backend plain\n{}",
        head(),
        servers(3, 0, ""),
        servers(3, 0, ""),
        servers(3, 0, "")
    );
    let one = |paths: &[&'static str]| vec![(FRONT, paths.to_vec())];
    let want = compare(
        &cfg,
        (3, 0),
        &[
            // Shared connections: the preference has nothing to hold on to.
            one(&["/a", "/b", "/c", "/d"]),
            // Private ones: every request to the first server.
            one(&["/n1", "/n2", "/n3", "/n4"]),
            // NTLM: the rest of the session stays on the server that asked.
            one(&["/x1", "/xntlm", "/x2", "/x3", "/x4"]),
            // ... in its own backend only.
            one(&["/xntlm", "/a", "/b", "/c"]),
        ],
    );
    assert_eq!(want.0[0], ["s1", "s2", "s3", "s1"]);
    assert_eq!(want.0[1], ["s1", "s1", "s1", "s1"]);
    assert_eq!(want.0[2], ["s1", "auth s2", "s2", "s2", "s2"]);
}

#[test]
fn max_keep_alive_queue_matches_haproxy() {
    // `balance first`, one connection per server: a second client occupies s1 with a
    // slow request while the first, which holds an idle connection to s1, asks again.
    const FRONT: &str = "127.0.127.101:25470";
    let cfg = format!(
        "{}frontend f\n  bind {FRONT}\n  use_backend k0 if {{ path_beg /k0 }}\n  default_backend k1\n\
backend k0\n  http-reuse never\n  balance first\n  option prefer-last-server\n  max-keep-alive-queue 0\n{}\
backend k1\n  http-reuse never\n  balance first\n  option prefer-last-server\n  max-keep-alive-queue 1\n{}",
        head(),
        servers(2, 10, " maxconn 1"),
        servers(2, 10, " maxconn 1")
    );
    let pair = |k: &'static str| {
        vec![
            (FRONT, vec![k, "@500", k]),
            (
                FRONT,
                vec![if k == "/k0" { "/k0-slow" } else { "/k1-slow" }],
            ),
        ]
    };
    let want = compare(&cfg, (2, 10), &[pair("/k0"), pair("/k1")]);
    // A queue of 0 allowed: balanced to s2 at once; of 1: queued behind s1 until the
    // queue timeout (timeout connect).
    assert_eq!(want.0[0], ["s1", "s2"]);
    assert_eq!(want.0[2][0], "s1");
    assert!(want.0[2][1].contains("503"), "{:?}", want.0[2]);
}

#[test]
fn max_session_srv_conns_and_server_closes_match_haproxy() {
    const FRONT: &str = "127.0.127.102:25470";
    let paths: Vec<&str> = vec!["/1", "/2", "/3", "/4", "/5", "/6", "/7", "/8", "/9"];
    let cfg = format!(
        "{}frontend f\n  bind {FRONT}\n  max-session-srv-conns 2\n  default_backend m\n\
frontend f0\n  bind 127.0.127.102:25472\n  max-session-srv-conns 0\n  default_backend m0\n\
frontend fd\n  bind 127.0.127.102:25473\n  default_backend md\n\
frontend close\n  bind 127.0.127.102:25471\n  option http-server-close\n  default_backend mc\n\
backend m\n  http-reuse never\n{m}backend m0\n  http-reuse never\n{m}backend md\n  http-reuse never\n{m}backend mc\n  http-reuse never\n{m}",
        head(),
        m = servers(6, 20, "")
    );
    let want = compare(
        &cfg,
        (6, 20),
        &[
            vec![(FRONT, paths.clone())],
            vec![("127.0.127.102:25472", paths.clone())],
            vec![("127.0.127.102:25473", paths.clone())],
            vec![("127.0.127.102:25471", paths[..3].to_vec())],
        ],
    );
    // Two kept: s1 and s2 reused on the second round, s3 and s4 connected again.
    let opens = |r: &Vec<String>| r.iter().filter(|x| *x == "open").count();
    let per_server: Vec<usize> = want.1.iter().map(opens).collect();
    // Rounds: two kept (9 requests), none kept (9), five kept (9), server-close (3).
    assert_eq!(
        per_server.iter().sum::<usize>(),
        7 + 9 + 6 + 3,
        "{per_server:?}"
    );
    assert!(
        want.1.iter().flatten().all(|e| e != "eof"),
        "haproxy resets what it closes: {:?}",
        want.1
    );
}
