//! HTTP balancing compared with haproxy 2.6 on the same configuration and requests:
//! `balance uri` (len, depth, whole, path-only), `url_param` (query string and a POST's
//! form body), `hdr(<name>)` (use_domain_only), map-based and consistent hashing, and
//! the round robin a request without the hashed part falls back to. Servers answer with
//! their own address, so the sequence of servers each proxy chose is compared.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{start, Backend, Which};

/// Servers on 127.0.66.1-4: each answers every request with its address, then closes.
fn server(addr: &'static str) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        if common::read_http_message(&mut c, &mut Vec::new()).is_none() {
            return;
        }
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{addr}",
            addr.len()
        );
        let _ = c.write_all(resp.as_bytes());
    })
}

/// Frontend port, backend settings, and a request builder per index.
type Case = (u16, &'static str, fn(usize) -> Vec<u8>);

fn get(uri: &str, headers: &str) -> Vec<u8> {
    format!("GET {uri} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n{headers}\r\n").into_bytes()
}

const CASES: &[Case] = &[
    (8100, "balance uri", |i| {
        get(&format!("/d{}/x/y?q={i}", i % 5), "")
    }),
    (8101, "balance uri depth 1", |i| {
        get(&format!("/d{}/x{i}/y", i % 3), "")
    }),
    (8102, "balance uri whole len 8", |i| {
        get(&format!("/a?{}{i}", i % 4), "")
    }),
    (8103, "balance uri path-only", |i| {
        // The authority matches the host: haproxy refuses a request where they differ.
        format!(
            "GET http://h/p{}?{i} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            i % 4
        )
        .into_bytes()
    }),
    (8104, "balance url_param user", |i| {
        let q = if i % 3 == 0 {
            "/x?a=1".to_string()
        } else {
            format!("/x?a=1&user=u{}&b", i % 5)
        };
        get(&q, "")
    }),
    (8105, "balance url_param user check_post", |i| {
        let body = format!("a=2&user=p{}", i % 6);
        let uri = if i % 4 == 0 { "/f?user=q" } else { "/f" };
        format!(
            "POST {uri} HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }),
    (8106, "balance hdr(Host) use_domain_only", |i| {
        format!(
            "GET / HTTP/1.1\r\nHost: www.site{}.example\r\nConnection: close\r\n\r\n",
            i % 5
        )
        .into_bytes()
    }),
    (8107, "balance hdr(x-user)\n  hash-type consistent", |i| {
        let h = match i % 4 {
            0 => String::new(),
            1 => "X-User:\r\n".into(),
            _ => format!("X-User: n{i}, other\r\n"),
        };
        get("/", &h)
    }),
    (8108, "balance uri\n  hash-type consistent djb2", |i| {
        get(&format!("/c{i}"), "")
    }),
];

fn config() -> String {
    let mut c = String::from(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n",
    );
    for (port, balance, _) in CASES {
        c.push_str(&format!(
            "frontend f{port}\n  bind 127.0.66.100:{port}\n  default_backend b{port}\nbackend b{port}\n  {balance}\n  server s1 127.0.66.1:8000\n  server s2 127.0.66.2:8000 weight 2\n  server s3 127.0.66.3:8000\n  server s4 127.0.66.4:8000\n"
        ));
    }
    c + "frontend probe\n  bind 127.0.66.100:8199\n  default_backend b8100\n"
}

/// The server that answered each request of each case.
fn run(which: Which) -> Vec<Vec<String>> {
    let p = start(
        which,
        "http-balance",
        &config(),
        "127.0.66.100:8199".parse().unwrap(),
    );
    let mut out = Vec::new();
    for (port, _, req) in CASES {
        let to: SocketAddr = format!("127.0.66.100:{port}").parse().unwrap();
        let mut seq = Vec::new();
        for i in 0..16 {
            let mut c = TcpStream::connect(to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            c.write_all(&req(i)).unwrap();
            let mut got = Vec::new();
            let _ = c.read_to_end(&mut got);
            let got = String::from_utf8_lossy(&got).into_owned();
            seq.push(got.rsplit("\r\n\r\n").next().unwrap_or("").to_string());
        }
        out.push(seq);
    }
    drop(p);
    out
}

#[test]
fn http_balancing_matches_haproxy() {
    let _s: Vec<Backend> = [
        "127.0.66.1:8000",
        "127.0.66.2:8000",
        "127.0.66.3:8000",
        "127.0.66.4:8000",
    ]
    .into_iter()
    .map(server)
    .collect();
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    for ((w, g), (port, balance, _)) in want.iter().zip(&got).zip(CASES) {
        // Each case spreads its requests: a constant choice would prove nothing.
        let distinct: std::collections::HashSet<_> = w.iter().collect();
        assert!(
            distinct.len() > 1 && !w.iter().any(String::is_empty),
            "{port} ({balance}): haproxy's choices {w:?}"
        );
        assert_eq!(g, w, "{port} ({balance}): other servers chosen");
    }
}
