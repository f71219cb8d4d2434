//! `disabled` proxies compared with haproxy 2.6 on the same config and traffic: a
//! disabled frontend or listen does not listen, a disabled backend gives no server (TCP
//! sessions end `SC`, HTTP requests get the 503 with `SC--` and no request time), runs no
//! health check, is left out of `show stat` but listed by `show backend` and `show
//! servers state` (servers unnumbered, last first), and refuses server commands; a
//! server of an enabled backend may track one of its servers, which stays up. A
//! `disabled` defaults section disables the proxies after it, but one saying `enabled`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{start, Backend, Which};

const CFG: &str = "global\n  log stdout format raw local0\n  stats socket SOCK level admin\n\
defaults\n  log global\n  timeout connect 1s\n  timeout client 4s\n  timeout server 4s\n\
frontend off\n  mode tcp\n  disabled\n  bind 127.0.115.1:25400\n  default_backend nowhere\n\
frontend tcp\n  mode tcp\n  option tcplog\n  bind 127.0.115.1:25401\n  bind 127.0.115.1:25404\n\
  use_backend live if { dst_port 25404 }\n  default_backend b1\n\
frontend web\n  mode http\n  option httplog\n  bind 127.0.115.1:25402\n  default_backend b2\n\
listen l1\n  mode tcp\n  disabled\n  bind 127.0.115.1:25403\n  server s1 127.0.115.9:25409 check inter 200\n\
backend b1\n  mode tcp\n  disabled\n  server s1 127.0.115.9:25409 check inter 200\n\
  server s2 127.0.115.9:25409 check inter 200\n\
backend b2\n  mode http\n  disabled\n  http-request deny\n  server s1 127.0.115.9:25409\n\
backend live\n  mode tcp\n  server t 127.0.115.9:25409 track b1/s1\n\
defaults\n  disabled\n  mode tcp\n  timeout connect 1s\n  timeout client 4s\n  timeout server 4s\n\
listen l2\n  bind 127.0.115.1:25406\n  server s 127.0.115.9:25409\n\
frontend back_on\n  enabled\n  bind 127.0.115.1:25405\n  default_backend live\n";

/// What a client gets from `port` after sending `data`: the bytes, or why none came.
fn client(port: u16, data: &[u8]) -> String {
    let to: SocketAddr = format!("127.0.115.1:{port}").parse().unwrap();
    let mut c = match TcpStream::connect(to) {
        Ok(c) => c,
        Err(e) => return format!("{port}: {:?}", e.kind()),
    };
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = c.write_all(data);
    let mut got = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        match c.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                got.extend_from_slice(&b[..n]);
                // The echo server answers once and stays open.
                if data == b"ping\n" && got.ends_with(b"\n") {
                    break;
                }
            }
        }
    }
    format!("{port}: {}", String::from_utf8_lossy(&got))
}

/// A `show servers state` line without the seconds since the last change.
fn mask_state(l: &str) -> String {
    if l.starts_with('#') {
        return l.to_string();
    }
    l.split(' ')
        .enumerate()
        .map(|(i, w)| if i == 9 { "T" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A log line without the client's port, the date and the times (a time that was never
/// taken, -1, stays).
fn mask_log(l: &str) -> String {
    l.split(' ')
        .map(|w| {
            if w.starts_with('[') {
                return "[DATE]".to_string();
            }
            if let Some((ip, _)) = w.split_once(':').filter(|_| w.starts_with("127.")) {
                return ip.to_string();
            }
            let parts: Vec<&str> = w.split('/').collect();
            if parts.len() >= 3 && parts.iter().all(|t| t.parse::<i64>().is_ok()) {
                let t: Vec<&str> = parts
                    .iter()
                    .map(|t| if *t == "-1" { t } else { "N" })
                    .collect();
                return t.join("/");
            }
            w.to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one run shows: the clients' outcomes, the log lines, the stats socket's
/// answers, and how many connections the server saw.
fn run(which: Which, srv: &Backend) -> (Vec<String>, Vec<String>, Vec<String>, usize) {
    let sock = std::env::temp_dir().join(format!("haproxide-disabled-{which:?}.sock"));
    let _ = std::fs::remove_file(&sock);
    let cfg = CFG.replace("SOCK", &sock.display().to_string());
    let before = srv.count();
    let p = start(
        which,
        "disabled",
        &cfg,
        "127.0.115.1:25401".parse().unwrap(),
    );
    let outcomes = vec![
        client(25400, b"x"),
        client(25403, b"x"),
        client(25401, b"x"),
        client(25402, b"GET / HTTP/1.1\r\nhost: a\r\n\r\n"),
        client(25404, b"ping\n"),
        client(25405, b"ping\n"),
        client(25406, b"ping\n"),
    ];
    // Long enough for several check intervals, had any check run.
    std::thread::sleep(Duration::from_millis(700));
    let mut lines: Vec<String> = p
        .lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| mask_log(l))
        .collect();
    lines.sort();
    let stat = common::ask(&sock, "show stat");
    let rows = stat
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","));
    let mut cli: Vec<String> = rows.collect();
    cli.push(common::ask(&sock, "show backend"));
    cli.extend(
        common::ask(&sock, "show servers state")
            .lines()
            .map(mask_state),
    );
    for cmd in [
        "set server b1/s1 state drain",
        "disable server b1/s2",
        "set server b1/nosuch state drain",
        "get weight b1/s1",
        "shutdown sessions server b2/s1",
        "disable frontend off",
        "enable frontend l1",
        "shutdown frontend off",
        "set maxconn frontend off 10",
        "set maxconn frontend off",
        "show servers state b1",
    ] {
        let answer = common::ask(&sock, cmd);
        let answer: Vec<String> = answer.trim_end().lines().map(mask_state).collect();
        cli.push(format!("{cmd}: {}", answer.join("\n")));
    }
    drop(p);
    (outcomes, lines, cli, srv.count() - before)
}

#[test]
fn disabled_proxies_match_haproxy() {
    let srv = Backend::echo("127.0.115.9:25409");
    let (want, want_log, want_cli, want_conns) = run(Which::Haproxy, &srv);
    let (got, got_log, got_cli, got_conns) = run(Which::Haproxide, &srv);
    assert_eq!(got, want, "clients: haproxide (left), haproxy (right)");
    assert_eq!(got_log, want_log, "log lines");
    assert_eq!(got_cli, want_cli, "stats socket");
    assert_eq!(got_conns, want_conns, "server connections");
    // What haproxy does, so that the comparisons above cannot pass on nothing.
    assert_eq!(want[0], "25400: ConnectionRefused");
    assert_eq!(want[1], "25403: ConnectionRefused");
    assert_eq!(want[2], "25401: ");
    assert!(want[3].starts_with("25402: HTTP/1.1 503"), "{want:?}");
    assert_eq!(want[4], "25404: ping\n");
    assert_eq!(want[5], "25405: ping\n");
    assert_eq!(want[6], "25406: ConnectionRefused");
    assert_eq!(want_conns, 2, "only the tracking server's sessions");
    assert!(
        want_log
            .iter()
            .any(|l| l.contains("b2/<NOSRV> -1/-1/-1/-1/N 503")),
        "{want_log:?}"
    );
    assert!(
        want_log.iter().any(|l| l.contains("tcp b1/<NOSRV>")),
        "{want_log:?}"
    );
    assert!(
        want_cli.contains(&"set server b1/s1 state drain: Proxy is disabled.".to_string()),
        "{want_cli:?}"
    );
    assert!(
        !want_cli.iter().any(|l| l.starts_with("b1,")),
        "{want_cli:?}"
    );
}
