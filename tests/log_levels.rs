//! `option log-separate-errors` compared with haproxy 2.6: the syslog priority of each
//! line (rfc3164 on stdout shows it) for TCP sessions that end normally or with an error,
//! HTTP requests answered by a server, by haproxy's 503 and by a redirect (its own
//! answer, not an error), and failed TLS handshakes (connection errors, logged only by a
//! frontend with a log format).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

fn config(cert: &str) -> String {
    format!(
        "global\n  log stdout format rfc3164 local0\n\
defaults\n  log global\n  option log-separate-errors\n  timeout connect 1s\n  timeout client 2s\n  timeout server 2s\n\
frontend tcp\n  mode tcp\n  option tcplog\n  bind 127.0.72.100:8600\n  default_backend up\n\
frontend tcpdead\n  mode tcp\n  option tcplog\n  bind 127.0.72.100:8601\n  default_backend dead\n\
frontend web\n  mode http\n  option httplog\n  bind 127.0.72.100:8602\n\
  redirect location /elsewhere if {{ path /r }}\n  use_backend dead if {{ path /dead }}\n  default_backend webup\n\
frontend tls\n  mode tcp\n  option tcplog\n  bind 127.0.72.100:8603 ssl crt {cert}\n  default_backend up\n\
frontend tlsquiet\n  mode tcp\n  bind 127.0.72.100:8604 ssl crt {cert}\n  default_backend up\n\
backend up\n  mode tcp\n  server s 127.0.72.1:8000\n\
backend dead\n  mode http\n  server s 127.0.72.2:8000\n\
backend webup\n  mode http\n  server s 127.0.72.3:8000\n\
frontend probe\n  bind 127.0.72.100:8699\n  no log\n  default_backend up\n"
    )
}

/// Each line's `<PRI>` and what follows the syslog header's program name.
fn priorities(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with('<'))
        .map(|l| {
            let pri = &l[..l.find('>').map_or(0, |i| i + 1)];
            // The frontend's name follows the date in every line shape used here.
            let what = ["tcp ", "tcpdead ", "web ", "tls/", "tlsquiet/"]
                .iter()
                .find(|w| l.contains(&format!(" {w}")))
                .copied()
                .unwrap_or("?");
            format!("{pri} {what}")
        })
        .collect();
    out.sort();
    out
}

fn run(which: Which, cert: &str) -> Vec<String> {
    let p = start(
        which,
        "log-levels",
        &config(cert),
        "127.0.72.100:8699".parse().unwrap(),
    );
    let send = |port: u16, data: &[u8]| {
        let to: SocketAddr = format!("127.0.72.100:{port}").parse().unwrap();
        let mut c = TcpStream::connect(to).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c.write_all(data).unwrap();
        let _ = c.shutdown(std::net::Shutdown::Write);
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
    };
    send(8600, b"hello");
    send(8601, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    for path in ["/", "/dead", "/r"] {
        send(
            8602,
            format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").as_bytes(),
        );
    }
    // Not a TLS hello: a handshake failure, logged only with a log format.
    send(8603, b"plain text, not TLS\r\n");
    send(8604, b"plain text, not TLS\r\n");
    thread::sleep(Duration::from_millis(500));
    let lines = p.lines.lock().unwrap().clone();
    drop(p);
    priorities(&lines)
}

#[test]
fn error_lines_at_level_err_as_haproxy() {
    let cert = common::self_signed_pem("log-levels", &["-newkey", "rsa:2048"]);
    let cert = cert.to_str().unwrap().to_string();
    let _up = Backend::echo("127.0.72.1:8000");
    let _web = Backend::with("127.0.72.3:8000", |mut c: TcpStream, _| {
        if common::read_http_message(&mut c, &mut Vec::new()).is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let want = run(Which::Haproxy, &cert);
    let got = run(Which::Haproxide, &cert);
    assert_eq!(got, want);
    // local0 (16): info is <134>, err <131>; both kinds were seen.
    assert!(want.iter().any(|l| l.starts_with("<131>")), "{want:?}");
    assert!(want.iter().any(|l| l.starts_with("<134>")), "{want:?}");
    assert!(want.len() >= 6, "{want:?}");
}
