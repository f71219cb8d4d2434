//! Global and server keywords whose effect shows on the process or on the server's side,
//! compared with haproxy on the same configuration: `uid`/`gid`, `ulimit-n`, the
//! `source` address of server connections (proxy and server lines), and `option httplog`
//! on a TCP frontend (the tcplog line, as haproxy falls back to it).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{assert_logs_match, mask_tcplog, start, Backend, Which};

const DEFAULTS: &str =
    "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n";

/// A `/proc/<pid>/<file>` line starting with `key`, without the key.
fn proc_line(pid: u32, file: &str, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_default()
}

#[test]
fn uid_gid_and_ulimit_n_match_haproxy() {
    let echo = Backend::echo("127.0.255.9:0");
    let mut out = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let front = format!("127.0.255.{}:24995", 1 + k);
        // The stats socket is made before privileges go, as haproxy does.
        let sock =
            std::env::temp_dir().join(format!("haproxide-uid-{}-{k}.sock", std::process::id()));
        let cfg = format!(
            "global\n  uid 65534\n  gid 65534\n  ulimit-n 4321\n  stats socket {} mode 666\n{DEFAULTS}listen l\n  bind {front}\n  server s {}\n",
            sock.display(),
            echo.addr
        );
        let p = start(which, "uidgid", &cfg, front.parse().unwrap());
        let pid = p.pid() as u32;
        out.push([
            proc_line(pid, "status", "Uid:"),
            proc_line(pid, "status", "Gid:"),
            proc_line(pid, "limits", "Max open files"),
            common::ask(&sock, "show info")
                .lines()
                .filter(|l| l.starts_with("Ulimit-n:") || l.starts_with("Maxsock:"))
                .collect::<Vec<_>>()
                .join(" "),
        ]);
        let _ = std::fs::remove_file(&sock);
        drop(p);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert!(out[0][0].starts_with("65534"), "{:?}", out[0]);
    // haproxy never lowers the limit; it shows the configured one.
    assert!(out[0][3].starts_with("Ulimit-n: 4321"), "{:?}", out[0]);
}

#[test]
fn source_addresses_match_haproxy() {
    let seen = Backend::with("127.0.255.29:0", |mut c: TcpStream, rec| {
        let peer = c.peer_addr().unwrap().ip().to_string();
        rec.lock().unwrap().push(peer.into_bytes());
        let mut b = [0u8; 16];
        if let Ok(n) = c.read(&mut b) {
            let _ = c.write_all(&b[..n]);
        }
    });
    let mut out = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let (a, b) = (
            format!("127.0.255.{}:24996", 21 + 2 * k),
            format!("127.0.255.{}:24997", 21 + 2 * k),
        );
        let cfg = format!(
            "{DEFAULTS}listen by_proxy\n  bind {a}\n  source 127.0.255.41\n  server s {s}\nlisten by_server\n  bind {b}\n  source 127.0.255.41\n  server s {s} source 127.0.255.42\n",
            s = seen.addr
        );
        let p = start(which, "source", &cfg, a.parse().unwrap());
        let mut got = Vec::new();
        for to in [&a, &b] {
            let before = seen.accepted.lock().unwrap().len();
            let mut c = TcpStream::connect(to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            c.write_all(b"x").unwrap();
            let mut one = [0u8; 1];
            let _ = c.read(&mut one);
            let acc = seen.accepted.lock().unwrap();
            got.push(
                acc.get(before)
                    .map(|v| String::from_utf8_lossy(v).to_string())
                    .unwrap_or_default(),
            );
        }
        out.push(got);
        drop(p);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert_eq!(out[0], ["127.0.255.41", "127.0.255.42"]);
}

#[test]
fn httplog_on_a_tcp_frontend_logs_like_haproxy() {
    let echo = Backend::echo("127.0.255.59:0");
    for (n, option) in ["httplog", "httpslog"].into_iter().enumerate() {
        httplog_fallback(&echo, option, 51 + 2 * n);
    }
}

/// `option <option>` on a TCP frontend logs tcplog lines, as haproxy falls back to it.
fn httplog_fallback(echo: &Backend, option: &str, net: usize) {
    let mut logs = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let front = format!("127.0.255.{}:24998", net + k);
        let cfg = format!(
            "global\n  log stdout format raw local0\ndefaults\n  mode tcp\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend f\n  bind {front}\n  option {option}\n  default_backend b\nbackend b\n  server s {}\n",
            echo.addr
        );
        let p = start(which, "httplogtcp", &cfg, front.parse().unwrap());
        let mut c = TcpStream::connect(&front).unwrap();
        c.write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        c.read_exact(&mut one).unwrap();
        drop(c);
        let lines = p.wait_lines(1, Duration::from_secs(5));
        logs.push(
            lines
                .iter()
                .map(|l| mask_tcplog(l).replacen(&front, "FRONT", 1))
                .collect::<Vec<_>>(),
        );
    }
    // Client addresses differ by design (one front per proxy): compare from the frontend on.
    let tail = |v: &Vec<String>| -> Vec<String> {
        v.iter()
            .map(|l| l.split_once("] ").map_or(l.clone(), |x| x.1.to_string()))
            .collect()
    };
    assert_eq!(logs[0].len(), 1, "{:?}", logs[0]);
    assert_logs_match(&tail(&logs[0]), &tail(&logs[1]));
}
