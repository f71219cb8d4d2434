//! Stream numbers against the real haproxy: `%rt` (the process's request counter, taken
//! by each TCP session, HTTP request, stats socket connection, and by a request error
//! logged without a stream), `%lc` (the frontend's lines before this one), their `+X`
//! forms, and `show info` CumReq and CumConns (which count stats socket connections).

mod common;

use common::Which;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn cfg(sock: &std::path::Path) -> String {
    format!(
        "global\n  log stdout format raw local0\n  stats socket {} level admin\n\
defaults\n  log global\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\n\
frontend web\n  mode http\n  bind 127.0.103.1:25290\n  default_backend app\n\
  log-format \"H rt=%rt x=%{{+X}}rt lc=%lc %ST %r\"\n\
frontend raw\n  mode tcp\n  bind 127.0.103.1:25291\n  default_backend echo\n\
  log-format \"T rt=%rt lc=%lc xl=%{{+X}}lc %B\"\n\
backend app\n  mode http\n  server s 127.0.103.2:25292\n\
backend echo\n  mode tcp\n  server s 127.0.103.2:25293\n",
        sock.display()
    )
}

fn sock_path(which: Which) -> PathBuf {
    std::env::temp_dir().join(format!(
        "haproxide-streamids-{}-{which:?}.sock",
        std::process::id()
    ))
}

/// One request on its own connection, its answer read to the end.
fn once(to: SocketAddr, req: &str) -> String {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `field` in a `show info` answer.
fn info(sock: &std::path::Path, field: &str) -> String {
    let a = common::ask(sock, "show info");
    a.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}: ")))
        .unwrap_or_else(|| panic!("{field} in {a}"))
        .to_string()
}

/// The log lines and the CumReq/CumConns readings of one run.
fn run(which: Which) -> (Vec<String>, Vec<String>) {
    let sock = sock_path(which);
    let _ = std::fs::remove_file(&sock);
    let p = common::start(
        which,
        "streamids",
        &cfg(&sock),
        "127.0.103.1:25291".parse().unwrap(),
    );
    // The readiness probe was a TCP session: it took stream 0 and logged line 0.
    let web: SocketAddr = "127.0.103.1:25290".parse().unwrap();
    let raw: SocketAddr = "127.0.103.1:25291".parse().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut readings = Vec::new();
    // Two requests on one connection: a stream each.
    let two = vec![
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n".to_string(),
        "GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".to_string(),
    ];
    common::converse(web, &two, &seen);
    assert_eq!(common::roundtrip(raw, b"ping"), b"ping");
    // A request that never parses: its line takes the next number.
    assert!(once(web, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
    // Each stats socket connection is a stream too.
    readings.push(format!("CumReq {}", info(&sock, "CumReq")));
    readings.push(format!("CumConns {}", info(&sock, "CumConns")));
    assert!(once(web, "GET /c HTTP/1.0\r\n\r\n").contains("200 OK"));
    readings.push(format!("CumReq {}", info(&sock, "CumReq")));
    std::thread::sleep(Duration::from_millis(300));
    let mut lines = p.early.clone();
    lines.extend(p.lines.lock().unwrap().iter().cloned());
    let _ = std::fs::remove_file(&sock);
    (lines, readings)
}

#[test]
fn stream_numbers_and_log_counts_match_haproxy() {
    let _app = common::recording_server(
        "127.0.103.2:25292",
        Arc::new(Mutex::new(Vec::new())),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    let _echo = common::Backend::echo("127.0.103.2:25293");
    let want = run(Which::Haproxy);
    let got = run(Which::Haproxide);
    // Shown by haproxy itself: the numbers this test is about, not a copy of our own.
    assert_eq!(
        want.0,
        [
            "T rt=0 lc=0 xl=0000 0",
            "H rt=1 x=0001 lc=0 200 GET /a HTTP/1.1",
            "H rt=2 x=0002 lc=1 200 GET /b HTTP/1.1",
            "T rt=3 lc=1 xl=0001 4",
            "H rt=4 x=0004 lc=2 400 <BADREQ>",
            "H rt=7 x=0007 lc=3 200 GET /c HTTP/1.0",
        ],
        "haproxy's lines"
    );
    assert_eq!(got.0, want.0, "log lines");
    assert_eq!(got.1, want.1, "show info");
    assert_eq!(
        want.1,
        ["CumReq 6", "CumConns 6", "CumReq 9"],
        "haproxy's readings"
    );
}
