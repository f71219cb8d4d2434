//! `option http-buffer-request` against the real haproxy, on a frontend and on a backend
//! only: a body that comes 300 ms after its head reaches the server with it (the request
//! time then counts the wait), a body that never comes ends in the proxy's 408 (`cR`,
//! no request time, the bytes received counted), `expect: 100-continue` answered by the
//! proxy itself (its `100 Continue` counted, the header not passed on), a chunked body
//! waited for to its last chunk, invalid chunks refused with the H1 layer's 400
//! (`<BADREQ>`), a body larger than the buffer passed on once the buffer is full; the
//! bytes the client and the server get, and the log lines (times to the 100 ms).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::Duration;

use common::{start, Backend, Which};

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  log-format \"%ST %TR %Tw %Tc %B %U %tsc %{+Q}r\"\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\n\
frontend front\n  bind 127.0.107.1:25330\n  option http-buffer-request\n  timeout http-request 800ms\n  default_backend app\n\
frontend plain\n  bind 127.0.107.1:25331\n  default_backend waits\n\
backend app\n  server s 127.0.107.2:25332\n\
backend waits\n  option http-buffer-request\n  timeout http-request 600ms\n  server s 127.0.107.2:25332\n\
frontend probe\n  bind 127.0.107.1:25339\n  no log\n  default_backend app\n";

/// Requests in parts, a pause between them.
fn conversations() -> Vec<Vec<Vec<u8>>> {
    let head = |path: &str, extra: &str| {
        format!("POST {path} HTTP/1.1\r\nHost: h\r\n{extra}Connection: close\r\n\r\n").into_bytes()
    };
    let big = vec![b'x'; 20_000];
    vec![
        vec![head("/late", "Content-Length: 5\r\n"), b"hello".to_vec()],
        vec![[head("/never", "Content-Length: 5\r\n"), b"he".to_vec()].concat()],
        vec![
            head("/expect", "Content-Length: 5\r\nExpect: 100-continue\r\n"),
            b"hello".to_vec(),
        ],
        vec![
            [
                head("/chunks", "Transfer-Encoding: chunked\r\n"),
                b"3\r\nabc\r\n".to_vec(),
            ]
            .concat(),
            b"0\r\n\r\n".to_vec(),
        ],
        vec![[
            head("/bad", "Transfer-Encoding: chunked\r\n"),
            b"zz\r\n".to_vec(),
        ]
        .concat()],
        vec![[head("/big", "Content-Length: 20000\r\n"), big].concat()],
        vec![b"GET /get HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".to_vec()],
    ]
}

/// Sends the parts 300 ms apart and reads to the close.
fn converse(port: u16, parts: &[Vec<u8>]) -> String {
    let mut c = TcpStream::connect(("127.0.107.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            sleep(Duration::from_millis(300));
            // What came meanwhile (a 100 Continue) is read before the rest is sent.
            c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut b = [0u8; 4096];
            if let Ok(n) = c.read(&mut b) {
                out.extend_from_slice(&b[..n]);
            }
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        }
        let _ = c.write_all(p);
    }
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The server answers with what it read of the request in its first 100 ms.
fn server(seen: Arc<Mutex<Vec<String>>>) -> Backend {
    Backend::with("127.0.107.2:25332", move |mut c: TcpStream, _| {
        let mut buf = Vec::new();
        let mut b = [0u8; 65536];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut b) {
                Ok(n) if n > 0 => buf.extend_from_slice(&b[..n]),
                _ => return,
            }
        }
        c.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        while let Ok(n) = c.read(&mut b) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&b[..n]);
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let head_len = text.find("\r\n\r\n").map_or(0, |p| p + 4);
        let summary = format!("{}[{} body bytes]", &text[..head_len], buf.len() - head_len);
        seen.lock().unwrap().push(summary.clone());
        let _ = c.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{summary}",
                summary.len()
            )
            .as_bytes(),
        );
    })
}

fn run(which: Which) -> (Vec<String>, Vec<String>) {
    let p = start(
        which,
        "buffer-request",
        CFG,
        "127.0.107.1:25339".parse().unwrap(),
    );
    let mut got = Vec::new();
    for port in [25330, 25331] {
        for conv in conversations() {
            got.push(converse(port, &conv));
        }
    }
    sleep(Duration::from_millis(300));
    let lines = p.lines.lock().unwrap().clone();
    (got, lines)
}

/// A line with its times to the 100 ms (the waits are 300 ms; the rest is noise).
fn rounded(l: &str) -> String {
    l.split(' ')
        .enumerate()
        .map(|(i, w)| match (i, w.parse::<i64>()) {
            (1..=3, Ok(v)) if v >= 0 => format!("{}00ms", (v + 50) / 100),
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn http_buffer_request_matches_haproxy() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _s = server(seen);
    let (want, want_log) = run(Which::Haproxy);
    let (got, got_log) = run(Which::Haproxide);
    let convs = conversations();
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        let first = String::from_utf8_lossy(&convs[i % convs.len()][0]).into_owned();
        assert_eq!(
            g,
            w,
            "answer to {first:?} on the {} proxy",
            ["frontend", "backend"][i / convs.len()]
        );
    }
    let r = |l: &[String]| l.iter().map(|l| rounded(l)).collect::<Vec<_>>();
    assert_eq!(r(&got_log), r(&want_log));
    // The cases do what they are for, under haproxy.
    let all = want.concat();
    for s in [
        // The body 300 ms after its head, there within the server's first 100 ms.
        "POST /late HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\n\r\n[5 body bytes]",
        "408 Request Time-out",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK",
        "transfer-encoding: chunked\r\n\r\n[13 body bytes]",
        "400 Bad request",
    ] {
        assert!(all.contains(s), "{s:?} in {all}");
    }
    assert!(!all.contains("expect:"), "{all}");
    assert!(
        want_log
            .iter()
            .any(|l| l.starts_with("200 300") || l.starts_with("200 301")),
        "{want_log:?}"
    );
}
