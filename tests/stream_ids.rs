//! Stream numbers and unique ids against the real haproxy: `%rt` (the process's request
//! counter, taken by each TCP session, HTTP request, stats socket connection, and by a
//! request error logged without a stream), `%lc` (the frontend's lines before this one),
//! their `+X` forms, `show info` CumReq and CumConns (which count stats socket
//! connections), `show stat` frontend conn_tot (every accepted connection) and stot
//! (sessions past the connection rules); `unique-id-format` made by its first reader (a rule's `unique-id`, the
//! HTTP request's processing, the log line), with what is known then, sent in
//! `unique-id-header`.

mod common;

use common::Which;
use std::io::Read;
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
frontend gate\n  mode tcp\n  bind 127.0.103.1:25289\n  tcp-request connection reject\n  default_backend echo\n\
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
    assert!(common::once(web, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
    // Each stats socket connection is a stream too.
    readings.push(format!("CumReq {}", info(&sock, "CumReq")));
    readings.push(format!("CumConns {}", info(&sock, "CumConns")));
    assert!(common::once(web, "GET /c HTTP/1.0\r\n\r\n").contains("200 OK"));
    readings.push(format!("CumReq {}", info(&sock, "CumReq")));
    // A connection refused by a rule counts as a connection, not a session.
    let mut c = TcpStream::connect("127.0.103.1:25289").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = c.read(&mut [0u8; 16]);
    std::thread::sleep(Duration::from_millis(100));
    let stat = common::ask(&sock, "show stat");
    for px in ["web", "raw", "gate"] {
        assert!(
            stat.contains(&format!("\n{px},FRONTEND,")),
            "{px} in {stat}"
        );
        let field = |c: &str| common::proxy_field(&stat, px, "FRONTEND", c);
        readings.push(format!(
            "{px} conn_tot={} stot={} conn_rate_max>0={}",
            field("conn_tot"),
            field("stot"),
            field("conn_rate_max").parse::<u32>().unwrap() > 0
        ));
    }
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
    assert_eq!(got.1, want.1, "show info and show stat");
    assert_eq!(
        want.1,
        [
            "CumReq 6",
            "CumConns 6",
            "CumReq 9",
            "web conn_tot=3 stot=3 conn_rate_max>0=true",
            "raw conn_tot=2 stot=2 conn_rate_max>0=true",
            "gate conn_tot=1 stot=0 conn_rate_max>0=true",
        ],
        "haproxy's readings"
    );
}

const UID_CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  log global\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\n\
frontend h\n  mode http\n  bind 127.0.103.1:25294\n  default_backend app\n\
  unique-id-format \"%{+X}o %ci_%rt:%b:%s:%ST:%Tw:%Tc:%Tq:%B:%ts:%{+Q}r:%[req.hdr(host)]\"\n\
  unique-id-header X-Unique-ID\n\
  http-request deny if { path /deny }\n\
  log-format \"H %ID | %[unique-id] | %ST\"\n\
frontend e\n  mode http\n  bind 127.0.103.1:25295\n  default_backend app\n\
  unique-id-format \"E%rt:%b:%[var(txn.a)]\"\n  unique-id-header X-Req-ID\n\
  http-request set-var(txn.a) str(va)\n  http-request set-header X-Early %[unique-id]\n\
  use_backend app2 if { path_beg /two }\n\
  log-format \"E %ID | %ST\"\n\
frontend t\n  mode tcp\n  bind 127.0.103.1:25296\n  default_backend echo\n\
  unique-id-format \"T%rt:%b:%s:%Tw:%B\"\n\
  tcp-request content set-var(sess.u) unique-id\n\
  log-format \"T %ID | %[var(sess.u)] | %[unique-id] | %B\"\n\
frontend u\n  mode tcp\n  bind 127.0.103.1:25297\n  default_backend echo\n\
  unique-id-format \"U%rt:%b:%s:%B\"\n  log-format \"U %ID | %[unique-id] | %B\"\n\
backend app\n  mode http\n  server s 127.0.103.2:25298\n\
backend app2\n  mode http\n  unique-id-header X-Back\n  server s 127.0.103.2:25298\n\
backend echo\n  mode tcp\n  server s 127.0.103.2:25299\n";

/// What the server saw, what the clients got, and the log lines, of one run.
fn uid_run(which: Which, seen: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    let p = common::start(
        which,
        "uniqueid",
        UID_CFG,
        "127.0.103.1:25297".parse().unwrap(),
    );
    let h: SocketAddr = "127.0.103.1:25294".parse().unwrap();
    let e: SocketAddr = "127.0.103.1:25295".parse().unwrap();
    let mut out = Vec::new();
    let conv = [
        "GET /a HTTP/1.1\r\nHost: one\r\nX-Unique-ID: spoof\r\n\r\n",
        "GET /deny HTTP/1.1\r\nHost: one\r\n\r\n",
        "GET /b HTTP/1.1\r\nHost: two\r\nConnection: close\r\n\r\n",
    ]
    .map(String::from);
    let (r, srv) = common::converse(h, &conv, seen);
    out.extend(r.into_iter().chain(srv));
    out.push(common::once(h, "garbage\r\n\r\n"));
    for path in ["/b", "/two"] {
        let (r, srv) = common::converse(e, &[format!("GET {path} HTTP/1.0\r\n\r\n")], seen);
        out.extend(r.into_iter().chain(srv));
    }
    for to in ["127.0.103.1:25296", "127.0.103.1:25297"] {
        let back = common::roundtrip(to.parse().unwrap(), b"ping");
        out.push(String::from_utf8_lossy(&back).into_owned());
    }
    std::thread::sleep(Duration::from_millis(300));
    out.extend(p.early.iter().cloned());
    out.extend(p.lines.lock().unwrap().iter().cloned());
    out
}

#[test]
fn unique_ids_match_haproxy() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _app = common::recording_server(
        "127.0.103.2:25298",
        seen.clone(),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    let _echo = common::Backend::echo("127.0.103.2:25299");
    let want = uid_run(Which::Haproxy, &seen);
    let got = uid_run(Which::Haproxide, &seen);
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(g, w);
    }
    assert_eq!(got.len(), want.len(), "{got:#?}");
    let all = want.join("\n");
    // What haproxy itself showed: the id made while the request was processed (no
    // server, status or request time yet) after the client's own header; a denied
    // request's made for its line (status known); a rule's, with the frontend as its
    // backend; none for a request that never parsed.
    for s in [
        "x-unique-id: spoof\r\nx-unique-id: 7F000001_0001:app:<NOSRV>:-1:-1:-1:-1:0:--:\"GET /a HTTP/1.1\":one\r\n",
        "H 7F000001_0002:h:<NOSRV>:403:-1:-1:",
        "x-early: E5:e:va\r\nx-req-id: E5:e:va\r\n",
        "T T7:t:<NOSRV>:-1:0 | T7:t:<NOSRV>:-1:0 | T7:t:<NOSRV>:-1:0 | 4",
        "U U8:echo:s:4 | U8:echo:s:4 | 4",
        "H - | - | 400",
    ] {
        assert!(all.contains(s), "{s:?} in {all}");
    }
}
