//! `compression algo|type|offload` against the real haproxy: for each request, the same
//! response head byte for byte (chunked instead of a length, weak ETag, `vary`,
//! `content-encoding`, or nothing changed when haproxy leaves the response alone), the
//! same body once decoded, the same request at the server (`offload`), the same log
//! lines (`res.comp`, `res.comp_algo` in rules and logs), and the same compression counters in `show stat`
//! but for the compressed size. The compressed bytes themselves are libslz's in haproxy
//! and flate2's here.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Which;

fn cfg(sock: &str) -> String {
    format!(
        "global\n  log stdout format raw local0\n  stats socket {sock} level admin\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
  compression algo raw-deflate\n\
frontend typed\n  bind 127.0.105.1:25310\n  default_backend typed\n\
frontend ident\n  bind 127.0.105.1:25311\n  log-format \"%ST %[res.comp] %[res.comp_algo] %{{+Q}}r\"\n  default_backend ident\n\
frontend offload\n  bind 127.0.105.1:25312\n  default_backend offload\n\
frontend front\n  bind 127.0.105.1:25313\n  compression algo gzip\n  default_backend plain\n\
frontend probe\n  bind 127.0.105.1:25319\n  no log\n  default_backend plain\n\
backend typed\n  http-response add-header x-comp %[res.comp],%[res.comp_algo]\n  compression algo gzip deflate\n  compression type text/html text/plain\n  server s 127.0.105.2:25314\n\
backend ident\n  compression algo identity\n  compression algo gzip\n  server s 127.0.105.2:25314\n\
backend offload\n  compression offload\n  server s 127.0.105.2:25314\n\
backend plain\n  server s 127.0.105.2:25314\n"
    )
}

/// The server's answer for a path.
fn answer(path: &str) -> Vec<u8> {
    let body: String = (0..300)
        .map(|i| format!("line {i} of the page\n"))
        .collect();
    let head = |extra: &str, len: Option<usize>| {
        let len = len.map_or(String::new(), |n| format!("Content-Length: {n}\r\n"));
        format!("HTTP/1.1 200 OK\r\n{extra}{len}Server: t\r\n\r\n")
    };
    let with = |extra: &str| [head(extra, Some(body.len())).as_bytes(), body.as_bytes()].concat();
    match path {
        "/html" => with("Content-Type: text/html; charset=utf-8\r\n"),
        "/json" => with("Content-Type: application/json\r\n"),
        "/none" => with(""),
        "/multi" => with("Content-Type: multipart/mixed\r\n"),
        "/etag" => with("Content-Type: text/plain\r\nETag: \"v1\"\r\n"),
        "/weak" => with("Content-Type: text/plain\r\nETag: W/\"v1\"\r\n"),
        "/etags" => with("Content-Type: text/plain\r\nETag: \"a\"\r\nETag: \"b\"\r\n"),
        "/badtag" => with("Content-Type: text/plain\r\nETag: v1\r\n"),
        "/encoded" => with("Content-Type: text/plain\r\nContent-Encoding: br\r\n"),
        "/notransform" => {
            with("Content-Type: text/plain\r\nCache-Control: public, No-Transform\r\n")
        }
        "/empty" => head("Content-Type: text/plain\r\n", Some(0)).into_bytes(),
        "/404" => [
            format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
            body.as_bytes(),
        ]
        .concat(),
        "/trailers" => {
            let mut v = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            v.extend_from_slice(
                format!(
                    "{:x}\r\n{body}\r\n0\r\nX-Sum:  abc \r\nX-Other: 1\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            v
        }
        "/chunked" => {
            let mut v = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for part in body.as_bytes().chunks(1000) {
                v.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                v.extend_from_slice(part);
                v.extend_from_slice(b"\r\n");
            }
            v.extend_from_slice(b"0\r\n\r\n");
            v
        }
        _ => b"HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n".to_vec(),
    }
}

/// A server answering by path, recording each request head.
fn server(seen: Arc<Mutex<Vec<String>>>) -> common::Backend {
    common::Backend::with("127.0.105.2:25314", move |mut c: TcpStream, _| {
        let mut buf = Vec::new();
        while let Some(head) = common::read_http_message(&mut c, &mut buf) {
            let text = String::from_utf8_lossy(&head).into_owned();
            let path = text.split(' ').nth(1).unwrap_or("").to_string();
            seen.lock().unwrap().push(text);
            if c.write_all(&answer(&path)).is_err() {
                return;
            }
        }
    })
}

/// Reads one response: its head as sent, and its body with chunks joined and the
/// content-encoding undone.
fn read_response(c: &mut TcpStream, head_only: bool) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let head = common::read_http_head(c, &mut buf).expect("a response head");
    let head = String::from_utf8_lossy(&head).into_owned();
    let lower = head.to_ascii_lowercase();
    let mut fill = |buf: &mut Vec<u8>, want: usize| {
        let mut tmp = [0u8; 8192];
        while buf.len() < want {
            match c.read(&mut tmp) {
                Ok(0) | Err(_) => panic!("the response ended early: {head}"),
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
    };
    let mut body = Vec::new();
    let mut trailers = String::new();
    if head_only {
    } else if lower.contains("\r\ntransfer-encoding: chunked\r\n") {
        loop {
            let eol = loop {
                if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                    break p;
                }
                let have = buf.len();
                fill(&mut buf, have + 1);
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&buf[..eol]).unwrap(), 16).unwrap();
            buf.drain(..eol + 2);
            if size == 0 {
                break;
            }
            fill(&mut buf, size + 2);
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
        }
        // The trailers, up to the empty line.
        loop {
            let have = buf.len();
            if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                let l: Vec<u8> = buf.drain(..p + 2).collect();
                if l.len() == 2 {
                    break;
                }
                trailers.push_str(&String::from_utf8_lossy(&l));
            } else {
                fill(&mut buf, have + 1);
            }
        }
    } else {
        let len = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |v| v.trim().parse().unwrap());
        fill(&mut buf, len);
        body = buf[..len].to_vec();
    }
    let decoded = if lower.contains("\r\ncontent-encoding: gzip\r\n") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else if lower.contains("\r\ncontent-encoding: deflate\r\n") {
        // zlib-wrapped, or bare for raw-deflate (its first byte tells them apart).
        let mut out = Vec::new();
        if body.first() == Some(&0x78) {
            flate2::read::ZlibDecoder::new(&body[..])
                .read_to_end(&mut out)
                .unwrap();
        } else {
            flate2::read::DeflateDecoder::new(&body[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        out
    } else {
        body
    };
    (head + &trailers, decoded)
}

/// (port, request) pairs, each on its own connection.
fn requests() -> Vec<(u16, String)> {
    let get = |path: &str, extra: &str| format!("GET {path} HTTP/1.1\r\nHost: h\r\n{extra}\r\n");
    let gz = "Accept-Encoding: gzip\r\n";
    let mut v = Vec::new();
    for path in [
        "/html",
        "/json",
        "/none",
        "/multi",
        "/etag",
        "/weak",
        "/etags",
        "/badtag",
        "/encoded",
        "/notransform",
        "/empty",
        "/404",
        "/chunked",
    ] {
        v.push((25310, get(path, gz)));
    }
    for ae in [
        "Accept-Encoding: deflate;q=0.5, gzip;q=0.2\r\n",
        "Accept-Encoding: gzip, deflate\r\n",
        "Accept-Encoding: *\r\n",
        "Accept-Encoding: GZIP;q=0\r\n",
        "Accept-Encoding: br\r\nAccept-Encoding: deflate ; foo=1;q=0.9\r\n",
        "Accept-Encoding: gzip\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 5.0; Windows)\r\n",
        "Accept-Encoding: gzip\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)\r\n",
    ] {
        v.push((25310, get("/html", ae)));
    }
    v.push((25310, get("/trailers", "")));
    v.push((25310, get("/chunked", "")));
    v.push((
        25310,
        "HEAD /html HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n".into(),
    ));
    v.push((
        25310,
        "GET /html HTTP/1.0\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n".into(),
    ));
    // identity listed: taken when nothing else is asked for.
    for ae in [
        "",
        gz,
        "Accept-Encoding: identity\r\n",
        "Accept-Encoding: br\r\n",
    ] {
        v.push((25311, get("/json", ae)));
    }
    // The defaults' raw-deflate; `offload` takes accept-encoding out at the server.
    for ae in [
        gz,
        "Accept-Encoding: deflate\r\n",
        "Accept-Encoding: deflate\r\nAccept-Encoding: x\r\n",
    ] {
        v.push((25312, get("/etag", ae)));
    }
    // The frontend's settings for a backend without any.
    for ae in [gz, "Accept-Encoding: deflate\r\n"] {
        v.push((25313, get("/html", ae)));
    }
    v
}

/// What one proxy gave: per request the head, the decoded body and the server's view.
type Seen = Vec<(String, Vec<u8>, Vec<String>)>;

fn run(which: Which, sock: &std::path::Path) -> (Seen, Vec<String>, String) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _s = server(seen.clone());
    let p = common::start(
        which,
        "compression",
        &cfg(&sock.display().to_string()),
        "127.0.105.1:25319".parse().unwrap(),
    );
    let mut out = Vec::new();
    for (port, req) in requests() {
        let before = seen.lock().unwrap().len();
        let mut c = TcpStream::connect(("127.0.105.1", port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c.write_all(req.as_bytes()).unwrap();
        let (head, body) = read_response(&mut c, req.starts_with("HEAD"));
        drop(c);
        std::thread::sleep(Duration::from_millis(20));
        let srv = seen.lock().unwrap()[before..].to_vec();
        out.push((head, body, srv));
    }
    // Several responses on one connection: each compressed one ends where it should.
    let mut c = TcpStream::connect("127.0.105.1:25310").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    for path in ["/html", "/chunked", "/json", "/trailers", "/etag"] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
        c.write_all(req.as_bytes()).unwrap();
        let (head, body) = read_response(&mut c, false);
        out.push((head, body, Vec::new()));
    }
    drop(c);
    std::thread::sleep(Duration::from_millis(300));
    let stat = common::ask(sock, "show stat");
    let lines = p.lines.lock().unwrap().clone();
    (out, lines, stat)
}

#[test]
fn compression_matches_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-compression-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("stats.sock");
    let (want, want_log, want_stat) = run(Which::Haproxy, &sock);
    let (got, got_log, got_stat) = run(Which::Haproxide, &sock);
    let reqs = requests();
    assert_eq!(got.len(), want.len());
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        let what = reqs
            .get(i)
            .map_or("the keep-alive conversation".into(), |r| format!("{r:?}"));
        assert_eq!(g.0, w.0, "head for {what}");
        assert_eq!(g.1, w.1, "decoded body for {what}");
        assert_eq!(g.2, w.2, "what the server saw for {what}");
    }
    // The cases do what they are for: haproxy compressed some and left others.
    let coded = want
        .iter()
        .filter(|r| r.0.contains("content-encoding: gzip"))
        .count();
    assert!(coded >= 4, "{want:?}");
    assert!(
        want[1].0.contains("content-length:"),
        "json untouched: {}",
        want[1].0
    );
    assert!(
        want[0].0.contains("\r\nx-comp: 1,gzip\r\n"),
        "{}",
        want[0].0
    );
    assert!(want[1].0.contains("\r\nx-comp: 0,\r\n"), "{}", want[1].0);
    assert!(
        want_log
            .iter()
            .any(|l| l.contains("200 1 identity \"GET /json")),
        "{want_log:?}"
    );
    assert!(
        want_log
            .iter()
            .any(|l| l.contains("200 1 gzip \"GET /json")),
        "{want_log:?}"
    );
    // haproxy logs the bytes the server sent (its channel counts them as they come in),
    // so the lines agree whatever the compressor.
    let masked = |l: &[String]| {
        l.iter()
            .map(|l| common::mask_httplog(l))
            .collect::<Vec<_>>()
    };
    assert_eq!(masked(&got_log), masked(&want_log));
    for px in ["typed", "ident", "offload", "front", "plain"] {
        for sv in ["FRONTEND", "BACKEND"] {
            for col in ["comp_in", "comp_byp", "comp_rsp"] {
                let w = common::proxy_field(&want_stat, px, sv, col);
                let g = common::proxy_field(&got_stat, px, sv, col);
                assert_eq!(g, w, "{px}/{sv} {col}");
            }
            let out = common::proxy_field(&got_stat, px, sv, "comp_out");
            let w_out = common::proxy_field(&want_stat, px, sv, "comp_out");
            assert_eq!(
                out == "0" || out.is_empty(),
                w_out == "0" || w_out.is_empty(),
                "{px}/{sv} comp_out"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
