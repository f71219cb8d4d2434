//! The HTTP statistics page of a `mode http` frontend that only has `stats enable`, as
//! EMQX's published configs declare it: the same answers from haproxy and haproxide for a
//! wrong path (503), a missing password (401), and the CSV with the right one.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{start, Which};

fn get(to: SocketAddr, path: &str, auth: Option<&str>) -> (String, String) {
    let mut c = TcpStream::connect(to).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: Basic {a}\r\n"));
    }
    req.push_str("\r\n");
    c.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    // haproxy keeps the connection open after a chunked answer: read until the end marker.
    let mut buf = [0u8; 8192];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        let s = String::from_utf8_lossy(&out);
        if s.ends_with("\r\n0\r\n\r\n") || s.contains("</body></html>\n") && !s.contains("chunked")
        {
            break;
        }
    }
    let s = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = s.split_once("\r\n\r\n").unwrap_or((&s, ""));
    (head.to_string(), body.to_string())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// (status line, www-authenticate, body of the 503 and 401, CSV header, CSV rows' names).
fn answers(which: Which, net: u8) -> Vec<String> {
    let front: SocketAddr = format!("127.0.{net}.1:24601").parse().unwrap();
    let stats: SocketAddr = format!("127.0.{net}.1:24602").parse().unwrap();
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend mqtt_servers\n  bind {front}\n  default_backend mqtt_backend\n\
         backend mqtt_backend\n  server emqx1 127.0.{net}.2:1883\n  server emqx2 127.0.{net}.3:1883\n\
         frontend stats\n  mode http\n  bind {stats}\n  stats enable\n  stats uri /stats\n  stats refresh 10s\n  stats auth admin:public\n"
    );
    let _p = start(which, &format!("statspage-{net}"), &cfg, stats);
    let mut out = Vec::new();
    let (h, b) = get(stats, "/", None);
    out.push(h.lines().next().unwrap_or("").to_string());
    out.push(b);
    let (h, b) = get(stats, "/stats", None);
    out.push(h.lines().next().unwrap_or("").to_string());
    out.push(header(&h, "www-authenticate").unwrap_or("").to_string());
    out.push(b);
    // admin:public
    let (h, b) = get(stats, "/stats;csv", Some("YWRtaW46cHVibGlj"));
    out.push(h.lines().next().unwrap_or("").to_string());
    let body = if header(&h, "transfer-encoding") == Some("chunked") {
        // One or more chunks: keep the lines that look like CSV.
        b.lines()
            .filter(|l| l.contains(','))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        b
    };
    let mut lines = body.lines();
    out.push(lines.next().unwrap_or("").to_string());
    let mut names: Vec<String> = lines
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join("/"))
        .filter(|n| n.chars().any(|c| c.is_ascii_alphabetic()))
        .collect();
    names.sort();
    out.push(names.join(" "));
    let (h, b) = get(stats, "/stats", Some("YWRtaW46cHVibGlj"));
    out.push(h.lines().next().unwrap_or("").to_string());
    out.push(header(&h, "refresh").unwrap_or("").to_string());
    assert!(b.contains("mqtt_backend"), "{which:?} page: {b}");
    out
}

#[test]
fn stats_page_answers_like_haproxy() {
    let want = answers(Which::Haproxy, 188);
    let got = answers(Which::Haproxide, 189);
    assert_eq!(want[0], "HTTP/1.1 503 Service Unavailable");
    assert_eq!(want[2], "HTTP/1.1 401 Unauthorized");
    assert_eq!(want[5], "HTTP/1.1 200 OK");
    assert_eq!(got, want);
}
