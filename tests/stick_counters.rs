//! Stick counters against the real haproxy: `stick-table … store`, `track-sc*` in
//! `tcp-request connection|session|content` and `http-request` rules, the `sc*`/`src_*`
//! fetches, `table_*` converters and `sc-inc-gpc*`/`sc-set-gpt*` actions — the values
//! each proxy shows for the same traffic, and the requests each lets through.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

const GLOBAL: &str = "global\n  log stdout format raw local0\ndefaults\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n";

/// An HTTP server answering `/missing` with a 404, `/boom` with `boom`, else a 200,
/// each with the `extra` header lines.
fn http_server(addr: &str, boom: &'static str, extra: &'static str) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let mut buf = Vec::new();
        while let Some(head) = common::read_http_message(&mut c, &mut buf) {
            let head = String::from_utf8_lossy(&head).into_owned();
            let status = if head.starts_with("GET /missing") {
                "404 Not Found"
            } else if head.starts_with("GET /boom") {
                boom
            } else {
                "200 OK"
            };
            let resp = format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 2\r\n\r\nok");
            if c.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    })
}

/// Sends each path as a GET on one kept-alive connection, reading each answer: the
/// status lines and bodies.
fn gets(to: SocketAddr, paths: &[&str]) -> Vec<String> {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for p in paths {
        let req = format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n");
        if c.write_all(req.as_bytes()).is_err() {
            break;
        }
        match common::read_http_message(&mut c, &mut buf) {
            Some(m) => {
                let m = String::from_utf8_lossy(&m).into_owned();
                let status = m.lines().next().unwrap_or("").to_string();
                let body = m.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
                out.push(format!("{p}: {status} | {body}"));
            }
            None => {
                out.push(format!("{p}: closed"));
                break;
            }
        }
    }
    out
}

/// The answers `which` gives running `cfg` to `client`, and its log lines.
fn run(which: Which, cfg: &str, probe: &str, client: &dyn Fn() -> Vec<String>) -> Vec<String> {
    // The probe's port names the test's files.
    let tag = format!("stick{}", probe.rsplit(':').next().unwrap_or(""));
    let p = start(which, &tag, cfg, probe.parse().unwrap());
    let mut got = client();
    thread::sleep(Duration::from_millis(300));
    // The client's port differs between runs.
    let port = regex::Regex::new(r"(127\.0\.0\.1|127\.0\.97\.\d+):\d{4,5}\b").unwrap();
    let lines = p.lines.lock().unwrap().clone();
    got.extend(
        lines
            .iter()
            .map(|l| port.replace_all(l, "$1:PORT").into_owned()),
    );
    drop(p);
    got
}

/// Runs `client` against haproxy then haproxide on `cfg`: the same answers and lines,
/// and haproxy's hold each of `wants`.
fn compare(cfg: &str, probe: &str, client: &dyn Fn() -> Vec<String>, wants: &[&str]) {
    let theirs = run(Which::Haproxy, cfg, probe, client);
    let ours = run(Which::Haproxide, cfg, probe, client);
    assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
    let all = theirs.join("\n");
    for want in wants {
        assert!(all.contains(want), "{want} in {all}");
    }
}

/// HTTP rate limiting as configs write it: each request counted on the client's entry,
/// errors (4xx from the server, denies) and failures (5xx) counted, general purpose
/// counters and tags changed by actions and by fetches, the limit enforced.
#[test]
fn http_request_counters_match_haproxy() {
    let srv = http_server("127.0.97.2:0", "503 Service Unavailable", "");
    let info = "s1=%[sc1_http_req_cnt]/%[sc1_http_err_cnt]/%[sc1_sess_cnt] c=%[sc0_http_req_cnt] r=%[sc_http_req_rate(0)] e=%[sc0_http_err_cnt] er=%[sc0_http_err_rate] f=%[sc0_http_fail_cnt] cc=%[sc0_conn_cnt] cur=%[sc0_conn_cur] g=%[sc0_get_gpc0] gr=%[sc0_gpc0_rate] t=%[sc0_get_gpt0] trk=%[sc0_trackers] tr=%[sc0_tracked] s=%[src_http_req_cnt] n=%[table_cnt] a=%[table_avl] cv=%[src,table_http_req_cnt(fh)] ct=%[src,table_trackers] none=%[sc1_http_req_cnt] st=%[sc1_tracked] sess=%[sc0_sess_cnt]";
    let cfg = format!(
        "{GLOBAL}frontend fh\n  mode http\n  bind 127.0.97.1:24190\n  stick-table type ip size 100 expire 30s store http_req_cnt,http_req_rate(10s),http_err_cnt,http_err_rate(10s),http_fail_cnt,conn_cnt,conn_cur,gpc0,gpc0_rate(10s),gpt0,sess_cnt\n  tcp-request connection track-sc1 src table t1\n  http-request track-sc0 src\n  http-request deny deny_status 429 if {{ sc_http_req_cnt(0) gt 18 }} !{{ path /final }}\n  http-request deny if {{ path /forbidden }}\n  http-request sc-inc-gpc0(0) if {{ path /inc }}\n  http-request sc-set-gpt0(0) 7 if {{ path /gpt }}\n  http-request sc-set-gpt0(0) req.hdr(host),length if {{ path /gptx }}\n  http-request return status 200 content-type text/plain lf-string \"{info} i=%[sc0_inc_gpc0] k=%[sc0_clr_gpc0]\" if {{ path /incfetch }}\n  http-request return status 200 content-type text/plain lf-string \"{info}\" if {{ path /info }} || {{ path /final }}\n  default_backend b\n\
backend b\n  mode http\n  server s {}\n\
backend t1\n  stick-table type ip size 10 store http_req_cnt,http_err_cnt,sess_cnt\n\
listen probe\n  mode http\n  bind 127.0.97.1:24193\n  server s {}\n",
        srv.addr, srv.addr
    );
    let to: SocketAddr = "127.0.97.1:24190".parse().unwrap();
    let client = || {
        let mut out = gets(
            to,
            &[
                "/info",
                "/a",
                "/missing",
                "/info",
                "/forbidden",
                "/boom",
                "/info",
                "/inc",
                "/inc",
                "/info",
                "/gpt",
                "/info",
                "/gptx",
                "/incfetch",
                "/info",
            ],
        );
        // A second connection: the same entry, one more connection on it.
        out.extend(gets(to, &["/info", "/a", "/a", "/info", "/a", "/info"]));
        // A request that is no HTTP, one cut short: the HTTP layer counts them on the
        // session's counters.
        for bad in [&b"BAD\r\n\r\n"[..], b"GET /half HTTP/1.1\r\nHo"] {
            let mut c = TcpStream::connect(to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            c.write_all(bad).unwrap();
            let _ = c.shutdown(std::net::Shutdown::Write);
            let mut resp = Vec::new();
            let _ = std::io::Read::read_to_end(&mut c, &mut resp);
            let line = String::from_utf8_lossy(&resp);
            out.push(format!("bad: {}", line.lines().next().unwrap_or("")));
        }
        out.extend(gets(to, &["/final"]));
        out
    };
    // Every kind of event counted, and the limit enforced past the 18th request.
    let wants = [
        "/info: HTTP/1.1 200 OK | s1=1/0/1 c=1 r=1 e=0 er=0 f=0 cc=1 cur=1 g=0",
        "c=7 r=7 e=2 er=2 f=1 cc=7 cur=1 g=0 gr=0 t=0",
        "c=10 r=10 e=2 er=2 f=1 cc=10 cur=1 g=2 gr=2 t=0",
        "t=7 trk=1",
        "/a: HTTP/1.1 429 Too Many Requests",
        "bad: HTTP/1.1 400 Bad request",
        // The two bad requests count on the connection-tracked counter only.
        "/final: HTTP/1.1 200 OK | s1=24/7/5 c=22",
    ];
    // Probed elsewhere: the probe's connection would count on the client's entry.
    compare(&cfg, "127.0.97.1:24193", &client, &wants);
}

/// TCP counters as an MQTT balancer would keep them: connections and sessions counted
/// per client address at accept, a key taken from the client's first bytes, the
/// concurrent connections limited, values read through other tables and converters.
#[test]
fn tcp_counters_match_haproxy() {
    let echo = Backend::echo("127.0.97.3:0");
    let cfg = format!(
        "{GLOBAL}frontend ft\n  mode tcp\n  bind 127.0.97.1:24191\n  tcp-request inspect-delay 1s\n  tcp-request connection track-sc1 src table tconn\n  tcp-request connection reject if {{ sc1_conn_cur gt 3 }}\n  tcp-request session track-sc2 src table tsess\n  tcp-request content track-sc0 req.payload(0,4) table tkey\n  tcp-request content sc-inc-gpc(1,0)\n  tcp-request content sc-set-gpt(1,1) int(5)\n  tcp-request content sc-inc-gpc0(2)\n  log-format \"L c1=%[sc1_conn_cnt] cur1=%[sc1_conn_cur] r1=%[sc1_conn_rate] s1=%[sc1_sess_cnt] sr1=%[sc1_sess_rate] c2=%[sc2_conn_cnt] s2=%[sc2_sess_cnt] c0=%[sc0_conn_cnt] g=%[sc_get_gpc(1,0)] gr=%[sc_gpc_rate(1,0)] t=%[sc_get_gpt(1,1)] t0=%[sc1_get_gpt0] g2=%[sc2_get_gpc0] k=%[src,table_conn_cnt(tconn)] x=%[src_conn_cnt(tsess)] y=%[sc0_conn_cnt(tkey)] z=%[sc1_conn_cnt(tsess)] w=%[sc0_trackers] v=%[sc_trackers(1)] u=%[str(wxyz),table_conn_cnt(tkey)] n=%[table_cnt(tkey)]\"\n  default_backend bt\n\
backend bt\n  mode tcp\n  server s {}\n\
listen probe\n  mode tcp\n  bind 127.0.97.1:24192\n  server s {}\n\
backend tconn\n  stick-table type ip size 10 store conn_cnt,conn_cur,conn_rate(10s),sess_cnt,sess_rate(10s),gpt(2)\n\
backend tsess\n  stick-table type ip size 10 store conn_cnt,sess_cnt,gpc0\n\
backend tkey\n  stick-table type string len 8 size 10 store conn_cnt,gpc(2),gpc_rate(2,10s)\n",
        echo.addr, echo.addr
    );
    let to: SocketAddr = "127.0.97.1:24191".parse().unwrap();
    let client = || {
        let mut out = Vec::new();
        let mut open = Vec::new();
        for first in ["abcd", "abcd", "wxyz"] {
            let mut c = TcpStream::connect(to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            c.write_all(first.as_bytes()).unwrap();
            let mut b = [0u8; 4];
            let got = std::io::Read::read_exact(&mut c, &mut b).is_ok();
            out.push(format!("{first}: echoed {got}"));
            open.push(c);
        }
        // A fourth concurrent connection from the address is refused at accept.
        let mut c = TcpStream::connect(to).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let _ = c.write_all(b"late");
        let mut b = [0u8; 4];
        out.push(format!(
            "late: echoed {}",
            std::io::Read::read_exact(&mut c, &mut b).is_ok()
        ));
        for c in open {
            drop(c);
            thread::sleep(Duration::from_millis(100));
        }
        // Once they are gone, the address connects again.
        let got = common::roundtrip(to, b"abcd");
        out.push(format!("again: {}", String::from_utf8_lossy(&got)));
        out
    };
    // Probed elsewhere: the probe's connection would count on the client's entry.
    let wants = [
        "late: echoed false",
        "again: abcd",
        "L c1=3 cur1=3 r1=3",
        "L c1=5 cur1=1",
    ];
    compare(&cfg, "127.0.97.1:24192", &client, &wants);
}

/// `http-response` rules track on a response header and count as haproxy does: the
/// request, and its error or failure by the response's status.
#[test]
fn response_tracking_matches_haproxy() {
    let srv = http_server(
        "127.0.97.4:0",
        "500 Internal Server Error",
        "X-User: alice\r\n",
    );
    let cfg = format!(
        "{GLOBAL}frontend fr\n  mode http\n  bind 127.0.97.1:24194\n  default_backend b\n\
backend b\n  mode http\n  stick-table type string len 16 size 10 store http_req_cnt,http_err_cnt,http_fail_cnt,gpc0,gpt0\n  http-response track-sc2 res.hdr(x-user)\n  http-response sc-inc-gpc0(2) if {{ status 200 }}\n  http-response sc-set-gpt0(2) status\n  http-response set-header x-cnt \"%[sc2_http_req_cnt]/%[sc2_http_err_cnt]/%[sc2_http_fail_cnt]/%[sc2_get_gpc0]/%[sc2_get_gpt0]/%[str(alice),table_http_req_cnt(b)]\"\n  server s {}\n\
listen probe\n  mode http\n  bind 127.0.97.1:24195\n  server s {}\n",
        srv.addr, srv.addr
    );
    let to: SocketAddr = "127.0.97.1:24194".parse().unwrap();
    let client = || {
        let mut c = TcpStream::connect(to).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for p in ["/a", "/missing", "/boom", "/a", "/missing"] {
            let req = format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n");
            c.write_all(req.as_bytes()).unwrap();
            let m = common::read_http_message(&mut c, &mut buf).unwrap_or_default();
            let m = String::from_utf8_lossy(&m).into_owned();
            let cnt = m
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("x-cnt:"))
                .unwrap_or("no x-cnt")
                .to_string();
            out.push(format!("{p}: {cnt}"));
        }
        out
    };
    let wants = ["/a: x-cnt: 1/0/0/1/200", "/missing: x-cnt: 5/2/1/2/404"];
    compare(&cfg, "127.0.97.1:24195", &client, &wants);
}
