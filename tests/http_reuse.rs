//! `http-reuse never|safe|aggressive|always` compared with haproxy 2.6: three clients
//! one after another (two requests, two requests, one request) through each mode, and
//! the server connection each request reached. The server numbers its connections and
//! answers with the number, so the client sees which one carried its request.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

/// A keep-alive server: each answer's body is the number of the connection it came on.
fn server(addr: &'static str, conns: Arc<AtomicUsize>) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let id = conns.fetch_add(1, Ordering::SeqCst) + 1;
        let mut buf = Vec::new();
        while common::read_http_message(&mut c, &mut buf).is_some() {
            let body = format!("c{id}");
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if c.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    })
}

const MODES: [(u16, &str); 4] = [
    (8300, "never"),
    (8301, "safe"),
    (8302, "aggressive"),
    (8303, "always"),
];

fn config() -> String {
    let mut c = String::from(
        "global\n  nbthread 1\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n",
    );
    for (i, (port, mode)) in MODES.iter().enumerate() {
        c.push_str(&format!(
            "frontend f{port}\n  bind 127.0.68.100:{port}\n  default_backend b{port}\nbackend b{port}\n  http-reuse {mode}\n  server s1 127.0.68.{}:8000\n",
            i + 1
        ));
    }
    // The readiness probe only connects: a TCP frontend without a backend.
    c + "frontend probe\n  mode tcp\n  bind 127.0.68.100:8399\n"
}

/// One client: `n` requests on one connection; the connection numbers that answered.
fn client(to: SocketAddr, n: usize) -> Vec<String> {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    for _ in 0..n {
        c.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        let buf = common::read_http_message(&mut c, &mut Vec::new()).unwrap_or_default();
        let text = String::from_utf8_lossy(&buf).into_owned();
        got.push(text.rsplit("\r\n\r\n").next().unwrap_or("").to_string());
    }
    got
}

fn run(which: Which) -> Vec<Vec<String>> {
    let counters: Vec<Arc<AtomicUsize>> = (0..4).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let addrs = [
        "127.0.68.1:8000",
        "127.0.68.2:8000",
        "127.0.68.3:8000",
        "127.0.68.4:8000",
    ];
    let _s: Vec<Backend> = addrs
        .iter()
        .zip(&counters)
        .map(|(a, n)| server(a, n.clone()))
        .collect();
    let p = start(
        which,
        "http-reuse",
        &config(),
        "127.0.68.100:8399".parse().unwrap(),
    );
    let mut out = Vec::new();
    for (port, _) in MODES {
        let to: SocketAddr = format!("127.0.68.100:{port}").parse().unwrap();
        let mut seq = Vec::new();
        for n in [2, 2, 1, 1] {
            seq.extend(client(to, n));
            // The client's close reaches the proxy before the next one comes.
            thread::sleep(Duration::from_millis(100));
        }
        out.push(seq);
    }
    drop(p);
    out
}

#[test]
fn http_reuse_modes_match_haproxy() {
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    for ((w, g), (_, mode)) in want.iter().zip(&got).zip(MODES) {
        assert_eq!(g, w, "http-reuse {mode}: other server connections used");
    }
    // The modes differ from each other here, or the comparison shows little.
    let distinct: std::collections::HashSet<_> = want.iter().collect();
    assert!(distinct.len() >= 3, "modes all alike: {want:?}");
}

/// A server that answers a connection's first request twice, in one write: the bytes
/// past the first answer make that connection unusable (haproxy's H1 mux closes an idle
/// connection holding data), so the client's next request goes on a new one, never
/// reading the extra answer.
#[test]
fn a_server_answering_twice_loses_its_connection_as_with_haproxy() {
    let run = |which: Which| {
        let conns = Arc::new(AtomicUsize::new(0));
        let n = conns.clone();
        let _s = Backend::with("127.0.68.5:8000", move |mut c: TcpStream, _| {
            let id = n.fetch_add(1, Ordering::SeqCst) + 1;
            let mut buf = Vec::new();
            let mut first = true;
            while common::read_http_message(&mut c, &mut buf).is_some() {
                let mut resp = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nc{id}");
                if std::mem::take(&mut first) {
                    resp.push_str("HTTP/1.1 299 Stale\r\nContent-Length: 2\r\n\r\nxx");
                }
                if c.write_all(resp.as_bytes()).is_err() {
                    return;
                }
            }
        });
        let cfg = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind 127.0.68.100:8304\n  default_backend b\nbackend b\n  server s1 127.0.68.5:8000\n";
        let p = start(
            which,
            "http-twice",
            cfg,
            "127.0.68.100:8304".parse().unwrap(),
        );
        let got = client("127.0.68.100:8304".parse().unwrap(), 3);
        drop(p);
        got
    };
    let want = run(Which::Haproxy);
    assert_eq!(want, ["c1", "c2", "c3"], "haproxy");
    assert_eq!(run(Which::Haproxide), want);
}
