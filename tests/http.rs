//! `mode http` compared with haproxy 2.6 on the same configuration and traffic: the bytes
//! the client and the servers receive (header case, order and repeats, connection
//! headers, framing, built-in answers, FIN after a close) and the `option httplog` and
//! `httplog clf` lines.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{start, Backend, Which};

/// The requests servers received: connection number and bytes.
type Seen = Arc<Mutex<Vec<(usize, Vec<u8>)>>>;

/// What one case gave: the client's bytes and the servers' requests.
type Outcome = (String, Vec<(usize, String)>);

/// A server that reads HTTP/1 requests (content-length or chunked bodies) and answers
/// each with `resp`, closing after it when `close`; it records every request as received,
/// after its own address, with the number of the connection it came on (numbered across
/// all servers by `conns`).
fn http_server(
    addr: &'static str,
    resp: &'static [u8],
    close: bool,
    log: Seen,
    conns: Arc<Mutex<usize>>,
) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let id = {
            let mut n = conns.lock().unwrap();
            *n += 1;
            *n
        };
        let mut buf = Vec::new();
        let mut tmp = [0u8; 65536];
        loop {
            // One whole request in `buf`?
            if let Some(end) = request_end(&buf) {
                let mut req = format!("{addr} ").into_bytes();
                req.extend(buf.drain(..end));
                log.lock().unwrap().push((id, req));
                if c.write_all(resp).is_err() {
                    return;
                }
                if close {
                    return;
                }
                continue;
            }
            match c.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
    })
}

/// A WebSocket server: records the handshake, answers 101, then echoes what comes with
/// an `echo:` prefix until the client closes.
fn ws_server(addr: &'static str, log: Seen, conns: Arc<Mutex<usize>>) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let id = {
            let mut n = conns.lock().unwrap();
            *n += 1;
            *n
        };
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
        let mut req = format!("{addr} ").into_bytes();
        req.extend_from_slice(&buf);
        log.lock().unwrap().push((id, req));
        let _ = c.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
        loop {
            match c.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let mut out = b"echo:".to_vec();
                    out.extend_from_slice(&tmp[..n]);
                    if c.write_all(&out).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

/// Where the first request in `b` ends, once it is all there.
fn request_end(b: &[u8]) -> Option<usize> {
    let h = b.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&b[..h]).to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        let body = &b[h..];
        // Good enough for the test's own bodies: the last chunk and an empty trailer.
        let end = body
            .windows(5)
            .position(|w| w == b"0\r\n\r\n")
            .or_else(|| {
                // Trailers: "0\r\n" then lines then an empty line.
                let z = body.windows(3).position(|w| w == b"0\r\n")?;
                body[z..]
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map(|e| z + e - 1)
            })?;
        return Some(h + end + 5);
    }
    common::http_message_end(b)
}

/// Sends each part in turn on one connection, reading what comes back after each (until
/// the answer is quiet for a while, or the proxy closes: shown as `<FIN>`).
fn exchange(to: SocketAddr, parts: &[&[u8]]) -> String {
    let mut c = TcpStream::connect(to).expect("connect");
    let mut out = Vec::new();
    for p in parts {
        if !p.is_empty() {
            let _ = c.write_all(p);
        }
        if read_quiet(&mut c, &mut out) {
            out.extend_from_slice(b"<FIN>");
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until 250 ms pass without data (false) or the peer closes (true).
fn read_quiet(c: &mut TcpStream, out: &mut Vec<u8>) -> bool {
    c.set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    let mut b = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match c.read(&mut b) {
            Ok(0) => return true,
            Ok(n) => out.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Mixed-Case: v\r\n\r\nok";
const CHUNKED: &[u8] =
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
const NO_LENGTH: &[u8] = b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nhello";
const SRV_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-B: 2\r\n\r\n";
const GARBAGE: &[u8] = b"garbage\r\n\r\n";
/// Responses of versions haproxy takes though httparse does not.
const V20: &[u8] = b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
const V09: &[u8] = b"HTTP/0.9 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// The configuration: one frontend per case family, servers on 127.0.62.x.
fn config() -> String {
    let mut c = String::from(
        "global\n  log stdout format raw local0\n  h1-case-adjust content-length Content-Length\n  h1-case-adjust x-mixed-case X-Mixed-CASE\n  h1-case-adjust connection Connection\n  h1-case-adjust host HOST\n  h1-case-adjust content-type Content-Type\ndefaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 1s\n",
    );
    let fe = |c: &mut String, port: u16, be: &str, extra: &str| {
        c.push_str(&format!(
            "frontend f{port}\n  bind 127.0.62.100:{port}\n{extra}  default_backend {be}\n"
        ));
    };
    fe(&mut c, 8000, "ok", "");
    fe(&mut c, 8001, "chunked", "");
    fe(&mut c, 8002, "nolength", "");
    fe(&mut c, 8003, "srvclose", "");
    fe(&mut c, 8004, "nocontent", "");
    fe(&mut c, 8005, "garbage", "");
    fe(&mut c, 8006, "refused", "");
    fe(&mut c, 8007, "ok", "  option http-server-close\n");
    fe(&mut c, 8008, "ok", "  option httpclose\n");
    fe(&mut c, 8009, "ok", "  timeout http-request 300ms\n");
    fe(&mut c, 8010, "rr", "");
    fe(&mut c, 8011, "ok", "  option httplog clf\n");
    // Debian's stock error pages (installed with haproxy): no length, HTTP/1.0.
    fe(
        &mut c,
        8012,
        "refused",
        "  errorfile 503 /etc/haproxy/errors/503.http\n",
    );
    fe(&mut c, 8013, "garbage2", "");
    // A TCP frontend reaching an HTTP backend: the stream is upgraded, each request is
    // logged in the frontend's tcplog format.
    fe(&mut c, 8014, "rr", "  mode tcp\n  option tcplog\n");
    fe(&mut c, 8015, "ws", "");
    // option forwardfor: plain, with except and header, if-none, in the backend.
    fe(&mut c, 8016, "ok", "  option forwardfor\n");
    fe(
        &mut c,
        8017,
        "ok",
        "  option forwardfor except 127.0.0.0/8 header X-Real-IP\n",
    );
    fe(&mut c, 8018, "ok", "  option forwardfor if-none\n");
    fe(&mut c, 8019, "ffbe", "  option forwardfor if-none\n");
    // option originalto: with forwardfor (its header after), a name, an except network.
    fe(
        &mut c,
        8023,
        "otbe",
        "  option forwardfor\n  option originalto header X-Dst\n",
    );
    fe(
        &mut c,
        8024,
        "ok",
        "  option originalto except 127.0.62.0/24\n",
    );
    // errorloc: a redirect instead of haproxy's 503, from the frontend or the backend.
    fe(
        &mut c,
        8025,
        "refused",
        "  errorloc 503 http://d.example/x?a=1\n",
    );
    fe(&mut c, 8026, "refused303", "");
    // h1-case-adjust: names written in the global map's case, to clients (the
    // frontend's option) and to servers (the backend's), haproxy's own answers too.
    fe(
        &mut c,
        8028,
        "casebe",
        "  option h1-case-adjust-bogus-client\n",
    );
    fe(
        &mut c,
        8029,
        "refused",
        "  option h1-case-adjust-bogus-client\n",
    );
    // The HTTP/2 preface where HTTP/2 upgrades are off: a PRI request, haproxy's 400.
    fe(&mut c, 8031, "ok", "  option disable-h2-upgrade\n");
    fe(&mut c, 8032, "v20", "");
    fe(&mut c, 8033, "v09", "");
    // errorfiles: an http-errors section's page wins over an earlier errorfile.
    fe(
        &mut c,
        8027,
        "refused",
        "  errorfile 503 /etc/haproxy/errors/503.http\n  errorfiles site 503\n",
    );
    // option dontlog-normal: a 200 is not logged, a 503 is.
    fe(&mut c, 8020, "ok", "  option dontlog-normal\n");
    fe(&mut c, 8021, "refused", "  option dontlog-normal\n");
    // option http-ignore-probes: nothing sent, nothing answered or logged.
    fe(
        &mut c,
        8022,
        "ok",
        "  option http-ignore-probes\n  timeout http-request 300ms\n",
    );
    for (name, n) in [
        ("ok", 1),
        ("chunked", 2),
        ("nolength", 3),
        ("srvclose", 4),
        ("nocontent", 5),
        ("garbage", 6),
        ("v20", 11),
        ("v09", 12),
    ] {
        c.push_str(&format!("backend {name}\n  server s1 127.0.62.{n}:8000\n"));
    }
    c.push_str("backend refused\n  retries 0\n  server s1 127.0.62.7:8000\n");
    c.push_str("backend garbage2\n  errorfile 502 /etc/haproxy/errors/502.http\n  server s1 127.0.62.6:8000\n");
    c.push_str(
        "backend refused303\n  retries 0\n  errorloc303 503 /y\n  server s1 127.0.62.7:8000\n",
    );
    c.push_str(
        "backend casebe\n  option h1-case-adjust-bogus-server\n  server s1 127.0.62.1:8000\n",
    );
    c.push_str("http-errors site\n  errorfile 503 /etc/haproxy/errors/504.http\n");
    c.push_str("backend otbe\n  option originalto\n  server s1 127.0.62.1:8000\n");
    c.push_str("backend ffbe\n  option forwardfor header X-Client\n  server s1 127.0.62.1:8000\n");
    c.push_str("backend ws\n  timeout tunnel 2s\n  server s1 127.0.62.10:8000\n");
    c.push_str("backend rr\n  server s1 127.0.62.8:8000\n  server s2 127.0.62.9:8000\n");
    c
}

/// One case: the frontend port and what the client sends, part after part.
type Case = (u16, &'static [&'static [u8]]);

const CASES: &[Case] = &[
    // Keep-alive: header names lower-cased, order and repeats kept, two requests.
    (
        8000,
        &[
            b"GET /a?x=1 HTTP/1.1\r\nHost: Example\r\nX-Foo: Bar\r\nx-foo: baz\r\nUser-Agent: t\r\n\r\n",
            b"GET /b HTTP/1.1\r\nhost: e\r\n\r\n",
        ],
    ),
    // HTTP/1.0: closed after the answer; with keep-alive: kept.
    (8000, &[b"GET /c HTTP/1.0\r\n\r\n"]),
    (8000, &[b"GET /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]),
    // An explicit close from the client.
    (8000, &[b"GET /e HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"]),
    // Bodies: a length, chunks (extensions dropped, trailers lower-cased).
    (8000, &[b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"]),
    (
        8000,
        &[b"POST /g HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\n\r\n"],
    ),
    // Smuggling: both framings, the length goes and the client connection closes.
    (
        8000,
        &[b"POST /h HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
    ),
    // Refused: two lengths, a coding after chunked, garbage, two hosts.
    (8000, &[b"POST /i HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc"]),
    (8000, &[b"POST /j HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"]),
    (8000, &[b"garbage\r\n\r\n"]),
    (8000, &[b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"]),
    // A '#' or a non-ASCII byte in the URI (a UTF-8 one in the Host header is fine).
    (8000, &[b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8000, &[b"GET /a\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8000, &[b"GET /u HTTP/1.1\r\nHost: a\xc3\xa9\r\n\r\n"]),
    // Pipelined requests in one write.
    (
        8000,
        &[b"GET /k HTTP/1.1\r\nHost: a\r\n\r\nGET /l HTTP/1.1\r\nHost: a\r\n\r\n"],
    ),
    // HEAD: no body follows the length.
    (8000, &[b"HEAD /m HTTP/1.1\r\nHost: a\r\n\r\n"]),
    // Responses: chunked with a trailer, no length (close), the server's close, a 204.
    (8001, &[b"GET /n HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8002, &[b"GET /o HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8002, &[b"GET /o10 HTTP/1.0\r\n\r\n"]),
    (8003, &[b"GET /p HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /p2 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8004, &[b"GET /q HTTP/1.1\r\nHost: a\r\n\r\n"]),
    // haproxy's answers: a server that is not HTTP (502), none listening (503).
    (8005, &[b"GET /r HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8006, &[b"GET /s HTTP/1.1\r\nHost: a\r\n\r\n"]),
    // Connection modes.
    (8007, &[b"GET /t HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8008, &[b"GET /u HTTP/1.1\r\nHost: a\r\n\r\n"]),
    // An incomplete head past `timeout http-request`: 408.
    (8009, &[b"GET /v HTTP/1.1\r\nHost", b""]),
    // Round robin per request on one connection.
    (
        8010,
        &[
            b"GET /w1 HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /w2 HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /w3 HTTP/1.1\r\nHost: a\r\n\r\n",
        ],
    ),
    // The CLF form of the log.
    (8011, &[b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"]),
    // A kept-alive client after haproxy's own 503: the next request is served.
    (
        8006,
        &[b"GET /y HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /y2 HTTP/1.1\r\nHost: a\r\n\r\n"],
    ),
    (8006, &[b"GET /y10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]),
    (8006, &[b"POST /y3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"]),
    // errorfile pages, in the frontend and in the backend.
    (8012, &[b"GET /z HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8013, &[b"GET /z2 HTTP/1.0\r\n\r\n"]),
    (
        8014,
        &[
            b"GET /u1 HTTP/1.1\r\nHost: A\r\nX-Foo: b\r\n\r\n",
            b"GET /u2 HTTP/1.1\r\nHost: a\r\n\r\nGET /u3 HTTP/1.1\r\nHost: a\r\n\r\n",
        ],
    ),
    (8014, &[b"garbage\r\n\r\n"]),
    (8014, &[b"GET /u4 HTTP/1.0\r\n\r\n"]),
    // WebSocket: the 101 passed on, then a tunnel; a handshake without a valid key: 400.
    (
        8015,
        &[
            b"GET /mqtt HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            b"hello",
            b"again",
        ],
    ),
    (
        8015,
        &[b"GET /mqtt HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n"],
    ),
    (
        8016,
        &[b"GET /f1 HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n", b"GET /f2 HTTP/1.0\r\n\r\n"],
    ),
    (8017, &[b"GET /f3 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (
        8018,
        &[
            b"GET /f4 HTTP/1.1\r\nHost: a\r\nx-forwarded-FOR: 1.2.3.4\r\n\r\n",
            b"GET /f5 HTTP/1.1\r\nHost: a\r\n\r\n",
        ],
    ),
    (8019, &[b"GET /f6 HTTP/1.1\r\nHost: a\r\nX-Client: 1.2.3.4\r\n\r\n"]),
    (8023, &[b"GET /o1 HTTP/1.1\r\nHost: a\r\nX-Original-To: 1.2.3.4\r\n\r\n"]),
    (8024, &[b"GET /o2 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (
        8025,
        &[b"GET /e1 HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /e2 HTTP/1.1\r\nHost: a\r\n\r\n"],
    ),
    (8026, &[b"GET /e3 HTTP/1.0\r\n\r\n"]),
    (8027, &[b"GET /e4 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (
        8028,
        &[b"POST /c1 HTTP/1.0\r\nHost: a\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nab"],
    ),
    (8029, &[b"GET /c2 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8020, &[b"GET /n1 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8021, &[b"GET /n2 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8022, &[b"", b""]),
    (8022, &[b"GET /p1 HTTP/1.1\r\nHost", b""]),
    (8009, &[b"", b""]),
    // An absolute URI: its authority must be the host; a default port is dropped.
    (8000, &[b"GET http://other/a HTTP/1.1\r\nHost: h\r\n\r\n"]),
    (
        8000,
        &[b"GET http://u@H:80/a?b HTTP/1.1\r\nHost: h\r\nX: 1\r\n\r\n"],
    ),
    (8000, &[b"GET http://h:8080/a HTTP/1.1\r\nHost: h:8080\r\n\r\n"]),
    (8000, &[b"CONNECT h:8443 HTTP/1.1\r\nHost: h\r\n\r\n"]),
    // Any HTTP/<digit>.<digit> version: 1.1 and above go as HTTP/1.1, older ones as they
    // came (kept alive to the server); the log shows what the client wrote; HTTP/1.10
    // and a letter are 400s.
    (
        8000,
        &[
            b"GET /v20 HTTP/2.0\r\nHost: a\r\n\r\n",
            b"\r\nGET /v35 HTTP/3.5\r\nHost: a\r\n\r\n",
        ],
    ),
    (8000, &[b"GET /v05 HTTP/0.5\r\nHost: a\r\n\r\n"]),
    (8000, &[b"GET /v110 HTTP/1.10\r\nHost: a\r\n\r\n"]),
    (8000, &[b"GET /vx HTTP/x.1\r\nHost: a\r\n\r\n"]),
    // PRI (the HTTP/2 preface's method) is refused by the HTTP layer, as a later request
    // too; the whole preface under `option disable-h2-upgrade`.
    (
        8000,
        &[b"GET /p1 HTTP/1.1\r\nHost: a\r\n\r\n", b"pri /x HTTP/1.1\r\nHost: a\r\n\r\n"],
    ),
    (8031, &[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]),
    // Responses of other versions: HTTP/2.0 goes on as HTTP/1.1, HTTP/0.9 as it came.
    (8032, &[b"GET /r20 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    (8033, &[b"GET /r09 HTTP/1.1\r\nHost: a\r\n\r\n"]),
    // haproxy's 413 (HTTP/1.0 GET with a body) and 422 (a coding before chunked).
    (8000, &[b"GET /b1 HTTP/1.0\r\nContent-Length: 1\r\n\r\nx"]),
    (
        8000,
        &[b"POST /b2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"],
    ),
];

/// What one proxy did with every case: per case, the client's bytes and the requests the
/// servers saw (connection numbers renumbered from 1 within the case); and the log.
fn run(which: Which) -> (Vec<Outcome>, Vec<String>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let conns = Arc::new(Mutex::new(0usize));
    let servers = [
        ("127.0.62.1:8000", OK, false),
        ("127.0.62.2:8000", CHUNKED, false),
        ("127.0.62.3:8000", NO_LENGTH, true),
        ("127.0.62.4:8000", SRV_CLOSE, false),
        ("127.0.62.5:8000", NO_CONTENT, false),
        ("127.0.62.6:8000", GARBAGE, false),
        ("127.0.62.8:8000", OK, false),
        ("127.0.62.9:8000", OK, false),
        ("127.0.62.11:8000", V20, false),
        ("127.0.62.12:8000", V09, false),
    ];
    let mut _s: Vec<Backend> = servers
        .iter()
        .map(|(a, r, c)| http_server(a, r, *c, log.clone(), conns.clone()))
        .collect();
    _s.push(ws_server("127.0.62.10:8000", log.clone(), conns.clone()));
    // The readiness probe goes to a frontend of its own, not logged by a case.
    let cfg =
        config() + "frontend probe\n  bind 127.0.62.100:8099\n  no log\n  default_backend ok\n";
    let p = start(which, "http", &cfg, "127.0.62.100:8099".parse().unwrap());
    let mut out = Vec::new();
    for (port, parts) in CASES {
        let before = log.lock().unwrap().len();
        let got = exchange(format!("127.0.62.100:{port}").parse().unwrap(), parts);
        thread::sleep(Duration::from_millis(50));
        let seen: Vec<(usize, Vec<u8>)> = log.lock().unwrap()[before..].to_vec();
        // Connection numbers as they first appear in this case.
        let mut ids: Vec<(usize, usize)> = Vec::new();
        let reqs = seen
            .into_iter()
            .map(|(id, b)| {
                let n = match ids.iter().find(|(i, _)| *i == id) {
                    Some((_, n)) => *n,
                    None => {
                        ids.push((id, ids.len() + 1));
                        ids.len()
                    }
                };
                (n, String::from_utf8_lossy(&b).into_owned())
            })
            .collect();
        out.push((got, reqs));
    }
    thread::sleep(Duration::from_millis(300));
    let lines = p.lines.lock().unwrap().clone();
    (out, lines)
}

/// A log line with the client port and the dates masked, and its timers apart.
fn mask(l: &str) -> (String, Vec<i64>) {
    let mut timers = Vec::new();
    let words: Vec<String> = l
        .split(' ')
        .map(|w| {
            if w.starts_with('[') {
                return "[DATE]".into();
            }
            if let Some((ip, port)) = w.rsplit_once(':') {
                if ip.starts_with("127.") && port.parse::<u16>().is_ok() {
                    return format!("{ip}:P");
                }
            }
            let parts: Vec<&str> = w.split('/').collect();
            if (parts.len() == 5 || parts.len() == 3)
                && parts.iter().all(|p| p.parse::<i64>().is_ok())
            {
                timers.extend(parts.iter().map(|p| p.parse::<i64>().unwrap()));
                return vec!["T"; parts.len()].join("/");
            }
            w.to_string()
        })
        .collect();
    // The CLF form: client port, milliseconds and five timers after the two `""`.
    let mut words = words;
    if let Some(q) = words
        .iter()
        .enumerate()
        .filter(|(_, w)| *w == "\"\"")
        .nth(1)
        .map(|(i, _)| i)
    {
        for i in [q + 1, q + 2] {
            if let Some(w) = words.get_mut(i) {
                *w = "N".into();
            }
        }
        for i in q + 6..q + 11 {
            if let Some(w) = words.get_mut(i) {
                timers.push(w.parse().unwrap_or(-2));
                *w = "T".into();
            }
        }
    }
    (words.join(" "), timers)
}

#[test]
fn http_mode_matches_haproxy() {
    let (want, want_log) = run(Which::Haproxy);
    let (got, got_log) = run(Which::Haproxide);
    for (i, ((w, g), case)) in want.iter().zip(&got).zip(CASES).enumerate() {
        assert_eq!(
            g.0, w.0,
            "case {i} {case:?}: the client received other bytes"
        );
        assert_eq!(
            g.1, w.1,
            "case {i} {case:?}: the servers received other requests"
        );
    }
    // h1-case-adjust did act (the comparison above would pass if neither proxy did).
    let i = CASES.iter().position(|c| c.0 == 8028).unwrap();
    assert!(
        want[i].0.contains("X-Mixed-CASE: v") && want[i].1[0].1.contains("HOST: a"),
        "h1-case-adjust: {:?}",
        want[i]
    );
    assert_eq!(
        got_log.len(),
        want_log.len(),
        "log lines\nhaproxy: {want_log:#?}\nhaproxide: {got_log:#?}"
    );
    let mut want_sorted: Vec<_> = want_log.iter().map(|l| mask(l)).collect();
    let mut got_sorted: Vec<_> = got_log.iter().map(|l| mask(l)).collect();
    // Lines of one case may come in another order (a response ends before a request).
    want_sorted.sort();
    got_sorted.sort();
    for (w, g) in want_sorted.iter().zip(&got_sorted) {
        assert_eq!(g.0, w.0, "log line differs");
        for (a, b) in w.1.iter().zip(&g.1) {
            assert!(
                (*a == -1) == (*b == -1) && (a - b).abs() <= 150,
                "timers differ: haproxy {:?} haproxide {:?} in {}",
                w.1,
                g.1,
                w.0
            );
        }
    }
}
