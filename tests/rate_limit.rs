//! Accept rate limits (`rate-limit sessions`, `maxconnrate`, `set rate-limit`), compared
//! with haproxy: how many of a burst of clients reach the server after half a second,
//! one and a half and two and a half (the others wait in the backlog while the sliding
//! one-second window is full), the sessions a TLS frontend holds under `maxsslrate`,
//! the stats socket's answers, and the limits `show info` and `show stat` report.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{ask, start, stat_field, Backend, Which};

const LIMITED: &str = "127.0.99.1:25260";
const FREE: &str = "127.0.99.1:25262";
const TLS: &str = "127.0.99.1:25263";

fn config(sock: &Path, pem: &Path) -> String {
    format!(
        "global\n  nbthread 1\n  maxsslrate 3\n  stats socket {} level admin\n\
defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n\
frontend free\n  bind {FREE}\n  default_backend b\n\
frontend limited\n  bind {LIMITED}\n  rate-limit sessions 10\n  default_backend b\n\
frontend tls\n  bind {TLS} ssl crt {}\n  default_backend b\n\
backend b\n  server s 127.0.99.2:25261\n",
        sock.display(),
        pem.display()
    )
}

/// Sends `n` clients to `to` at once and counts, at each of `at` after the burst, how
/// many reached `server`; the clients are kept until the end.
fn burst(to: &str, n: usize, server: &Backend, at: &[u64]) -> Vec<usize> {
    let before = server.count();
    let start = Instant::now();
    let clients: Vec<TcpStream> = (0..n)
        .map(|_| {
            let mut c = TcpStream::connect(to).unwrap();
            let _ = c.write_all(b"x");
            c
        })
        .collect();
    let counts = at
        .iter()
        .map(|ms| {
            let due = start + Duration::from_millis(*ms);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            server.count() - before
        })
        .collect();
    drop(clients);
    counts
}

/// The lines of `show info` about the accept rate limits.
fn limits(sock: &Path) -> Vec<String> {
    ask(sock, "show info")
        .lines()
        .filter(|l| l.contains("RateLimit"))
        .map(str::to_string)
        .collect()
}

/// Sessions the TLS frontend holds at each of `at` after a burst of `n` clients that
/// never start their handshake (each was accepted, and counted as a TLS session).
fn tls_burst(sock: &Path, n: usize, at: &[u64]) -> Vec<String> {
    let start = Instant::now();
    let clients: Vec<TcpStream> = (0..n).map(|_| TcpStream::connect(TLS).unwrap()).collect();
    let seen = at
        .iter()
        .map(|ms| {
            let due = start + Duration::from_millis(*ms);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let stat = ask(sock, "show stat");
            stat.lines()
                .find(|l| l.starts_with("tls,FRONTEND,"))
                .and_then(|l| l.split(',').nth(4))
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    drop(clients);
    seen
}

fn run(which: Which, server: &Backend, pem: &Path) -> (Vec<Vec<usize>>, Vec<String>) {
    let sock: PathBuf = std::env::temp_dir().join(format!(
        "haproxide-rate-{}-{which:?}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&sock);
    // Ready when the unlimited frontend answers: the limited one's window stays empty.
    let _p = start(which, "rate", &config(&sock, pem), FREE.parse().unwrap());
    let mut counts = vec![burst(LIMITED, 25, server, &[500, 1500, 2500])];
    let mut said = vec![stat_field(&ask(&sock, "show stat"), "FRONTEND", "rate_lim")];
    said.push(format!(
        "tls sessions: {:?}",
        tls_burst(&sock, 8, &[500, 1500, 2500])
    ));
    said.extend(limits(&sock));
    for cmd in [
        "set rate-limit connections global 4",
        "set rate-limit connections",
        "set rate-limit sessions global",
        "set rate-limit sessions global -1",
        "set rate-limit sessions global 50",
        "set rate-limit ssl-sessions global 7",
    ] {
        said.push(format!("{cmd}: {:?}", ask(&sock, cmd)));
    }
    said.extend(limits(&sock));
    // The process's connection rate now limits the other frontend too.
    std::thread::sleep(Duration::from_millis(1200));
    counts.push(burst(FREE, 12, server, &[500, 1500]));
    (counts, said)
}

#[test]
fn accept_rates_are_limited_as_haproxy_limits_them() {
    let server = Backend::echo("127.0.99.2:25261");
    let pem = common::self_signed_pem("rate", &["-newkey", "rsa:2048"]);
    let (want, want_said) = run(Which::Haproxy, &server, &pem);
    let (got, got_said) = run(Which::Haproxide, &server, &pem);
    assert_eq!(got_said, want_said);
    // haproxy's own figures first: ten in the first second, then one every 100 ms.
    assert!((9..=11).contains(&want[0][0]), "haproxy: {want:?}");
    assert!(want[0][2] == 25, "haproxy: {want:?}");
    for (w, g) in want.iter().flatten().zip(got.iter().flatten()) {
        assert!(
            w.abs_diff(*g) <= 1,
            "clients through after each wait: haproxy {want:?}, haproxide {got:?}"
        );
    }
}
