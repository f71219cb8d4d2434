//! Faults and hostile clients: each case bounded in time, loopback only, asserting that the
//! bad peer is closed, everyone else is served, and memory and descriptors come back.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{start, Backend, Which};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit_once(')')
        .map(|x| x.1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn served(to: &str) -> bool {
    common::roundtrip(addr(to), b"ok?") == b"ok?"
}

#[test]
fn slowloris_clients_are_closed_at_timeout_client() {
    let _echo = Backend::echo("127.0.160.2:24001");
    let cfg =
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n\
listen li\n  bind 127.0.160.1:24000\n  server s1 127.0.160.2:24001\n";
    let p = start(
        Which::Haproxide,
        "slowloris",
        cfg,
        addr("127.0.160.1:24000"),
    );
    let pid = p.child.id();
    thread::sleep(Duration::from_millis(200));
    let (rss0, fd0) = (rss_kb(pid), fds(pid));
    let mut idle: Vec<TcpStream> = (0..500)
        .map(|i| {
            let s =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            s.bind(&addr(&format!("127.0.161.{}:0", 1 + i % 100)).into())
                .unwrap();
            s.connect(&addr("127.0.160.1:24000").into()).unwrap();
            let c: TcpStream = s.into();
            c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
            c
        })
        .collect();
    assert!(served("127.0.160.1:24000"), "others are served meanwhile");
    let t0 = Instant::now();
    for c in idle.iter_mut() {
        let mut b = [0u8; 1];
        assert!(
            matches!(c.read(&mut b), Ok(0) | Err(_)),
            "idle client closed"
        );
    }
    assert!(t0.elapsed() < Duration::from_secs(4));
    drop(idle);
    thread::sleep(Duration::from_millis(500));
    assert!(
        fds(pid) <= fd0 + 2,
        "descriptors back: {} -> {}",
        fd0,
        fds(pid)
    );
    assert!(
        rss_kb(pid) < rss0 + 4096,
        "memory back near baseline: {rss0} kB -> {} kB",
        rss_kb(pid)
    );
}

#[test]
fn garbage_on_plain_and_tls_binds_closes_only_that_connection() {
    let _echo = Backend::echo("127.0.162.2:24001");
    let d = std::env::temp_dir().join(format!("haproxide-faults-tls-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let (key, crt, pem) = (d.join("k.pem"), d.join("c.pem"), d.join("b.pem"));
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=t",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (./run-tests installs it)");
    assert!(st.success());
    std::fs::write(
        &pem,
        [std::fs::read(&crt).unwrap(), std::fs::read(&key).unwrap()].concat(),
    )
    .unwrap();
    let cfg = format!(
        "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n\
listen tls\n  bind 127.0.162.1:24000 ssl crt {}\n  server s1 127.0.162.2:24001\n\
listen pp\n  bind 127.0.162.1:24002 accept-proxy\n  server s1 127.0.162.2:24001\n",
        pem.display()
    );
    let p = start(Which::Haproxide, "garbage", &cfg, addr("127.0.162.1:24002"));
    let pid = p.child.id();
    let mut noise = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..60_000 {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        noise.push((x >> 16) as u8);
    }
    let sslv2_hello = [
        0x80u8, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
    ];
    let sslv3_hello = [
        0x16u8, 0x03, 0x00, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x00,
    ];
    let mut huge = vec![0x16u8, 0x03, 0x01, 0xc3, 0x50];
    huge.extend_from_slice(&noise[..50_000]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("127.0.162.1:24000", noise[..4096].to_vec()),
        ("127.0.162.1:24000", sslv2_hello.to_vec()),
        ("127.0.162.1:24000", sslv3_hello.to_vec()),
        ("127.0.162.1:24000", huge),
        ("127.0.162.1:24000", vec![0x16, 0x03, 0x01, 0x02]),
        ("127.0.162.1:24002", noise[..300].to_vec()),
        (
            "127.0.162.1:24002",
            b"PROXY TCP4 127.0.0.1 127.0.0.1 99999 1\r\n".to_vec(),
        ),
        (
            "127.0.162.1:24002",
            [&proxy_sig()[..], &[0x21, 0x11, 0xff, 0xff]].concat(),
        ),
    ];
    for (to, bytes) in &cases {
        let mut c = TcpStream::connect(to).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let _ = c.write_all(bytes);
        let t0 = Instant::now();
        let mut sink = Vec::new();
        let _ = c.read_to_end(&mut sink);
        assert!(
            t0.elapsed() < Duration::from_millis(2500),
            "{to}: closed within timeout client"
        );
    }
    // Still alive and serving: the PROXY bind with a good header.
    let mut c = TcpStream::connect("127.0.162.1:24002").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.write_all(b"PROXY TCP4 127.9.9.9 127.0.162.1 5555 24002\r\nhi")
        .unwrap();
    let mut b = [0u8; 2];
    c.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"hi");
    assert!(p.child.id() == pid && std::path::Path::new(&format!("/proc/{pid}")).exists());
    let lines = p.wait_lines(3, Duration::from_secs(2)).join("\n");
    assert!(
        lines.contains("SSL handshake failure")
            && lines.contains("does not look like a PROXY protocol header"),
        "{lines}"
    );
}

fn proxy_sig() -> [u8; 12] {
    [
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
    ]
}

#[test]
fn misbehaving_backends() {
    // silent: accepts, never answers; reset: accepts then resets; stuck: stops reading.
    let silent = TcpListener::bind("127.0.163.2:24001").unwrap();
    let silent_keep = thread::spawn(move || {
        let held: Vec<TcpStream> = silent.incoming().take(1).filter_map(Result::ok).collect();
        thread::sleep(Duration::from_secs(3));
        drop(held);
    });
    let _reset = Backend::with("127.0.163.3:24001", |c, _| {
        let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
        drop(c);
    });
    let stuck = TcpListener::bind("127.0.163.4:24001").unwrap();
    let stuck_keep = thread::spawn(move || {
        let held: Vec<TcpStream> = stuck.incoming().take(1).filter_map(Result::ok).collect();
        thread::sleep(Duration::from_secs(6));
        drop(held);
    });
    let cfg = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 1s\n\
listen silent\n  bind 127.0.163.1:24000\n  server s 127.0.163.2:24001\n\
listen reset\n  bind 127.0.163.1:24002\n  server s 127.0.163.3:24001\n\
listen stuck\n  bind 127.0.163.1:24004\n  timeout server 10s\n  timeout client 10s\n  server s 127.0.163.4:24001\n";
    let p = start(Which::Haproxide, "backends", cfg, addr("127.0.163.1:24002"));
    let pid = p.child.id();
    // Silent server: closed at timeout server.
    let mut c = TcpStream::connect("127.0.163.1:24000").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
    c.write_all(b"hello?").unwrap();
    let t0 = Instant::now();
    let _ = c.read(&mut [0u8; 8]);
    assert!(t0.elapsed() < Duration::from_secs(3));
    // Resetting server: the client is closed, no hang.
    let mut c = TcpStream::connect("127.0.163.1:24002").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = c.write_all(b"x");
    assert!(matches!(c.read(&mut [0u8; 8]), Ok(0) | Err(_)));
    // A server that stops reading: the client is back-pressured, the proxy does not
    // buffer what the client sends (memory stays flat).
    let rss0 = rss_kb(pid);
    let mut c = TcpStream::connect("127.0.163.1:24004").unwrap();
    c.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let chunk = vec![b'z'; 65536];
    let mut sent = 0usize;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        match c.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(
        sent < 64 * 1024 * 1024,
        "writes block: {sent} bytes accepted"
    );
    assert!(
        rss_kb(pid) < rss0 + 8 * 1024,
        "no piling up in the proxy: {rss0} kB -> {} kB after {sent} bytes",
        rss_kb(pid)
    );
    drop(c);
    drop(p);
    let _ = silent_keep.join();
    let _ = stuck_keep.join();
}

#[test]
fn fd_exhaustion_backs_off_without_spinning_and_recovers() {
    let _echo = Backend::echo("127.0.164.2:24001");
    let dir = std::env::temp_dir().join(format!("haproxide-fdlimit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("f.cfg");
    // maxconn above what 64 descriptors allow: accept hits EMFILE and must back off.
    std::fs::write(&cfg, "global\n  maxconn 1000\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 20s\n  timeout server 20s\nlisten li\n  bind 127.0.164.1:24000\n  server s1 127.0.164.2:24001\n").unwrap();
    let mut p = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 64 && exec {} -db -f {}",
            Which::Haproxide.path(),
            cfg.display()
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = p.id();
    let t0 = Instant::now();
    while TcpStream::connect("127.0.164.1:24000").is_err() {
        assert!(t0.elapsed() < Duration::from_secs(5));
        thread::sleep(Duration::from_millis(20));
    }
    let clients: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect("127.0.164.1:24000").ok())
        .collect();
    thread::sleep(Duration::from_millis(500));
    let c0 = cpu_ticks(pid);
    thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(pid) - c0;
    assert!(
        used < 60,
        "no busy loop while out of descriptors: {used} ticks in 2 s"
    );
    drop(clients);
    thread::sleep(Duration::from_millis(1500));
    assert!(
        served("127.0.164.1:24000"),
        "serves again once descriptors are free"
    );
    let _ = p.kill();
    let out = p.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Cannot raise FD limit"),
        "the cap is reported: {err}"
    );
}

#[test]
fn churn_leaves_no_leak() {
    let _echo = Backend::echo("127.0.165.2:24001");
    let cfg = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.165.1:24000\n  server s1 127.0.165.2:24001\n";
    let p = start(Which::Haproxide, "churn", cfg, addr("127.0.165.1:24000"));
    let pid = p.child.id();
    for _ in 0..200 {
        assert!(served("127.0.165.1:24000"));
    }
    thread::sleep(Duration::from_millis(300));
    let (rss0, fd0) = (rss_kb(pid), fds(pid));
    // 20,000 short connections from 4 threads, bounded in time.
    let workers: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || {
                let t0 = Instant::now();
                let mut n = 0;
                while n < 5000 && t0.elapsed() < Duration::from_secs(60) {
                    let s =
                        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                            .unwrap();
                    s.bind(&addr(&format!("127.0.166.{}:0", 1 + (n + t * 5000) % 200)).into())
                        .unwrap();
                    if s.connect(&addr("127.0.165.1:24000").into()).is_ok() {
                        let mut c: TcpStream = s.into();
                        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let _ = c.write_all(b"x");
                        let _ = c.read(&mut [0u8; 1]);
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(total, 20_000);
    thread::sleep(Duration::from_millis(1500));
    assert!(
        fds(pid) <= fd0 + 2,
        "descriptors back to baseline: {fd0} -> {}",
        fds(pid)
    );
    assert!(
        rss_kb(pid) < rss0 + 8 * 1024,
        "no leak: {rss0} kB -> {} kB",
        rss_kb(pid)
    );
}

#[test]
fn sigterm_during_a_reload_stops_cleanly() {
    let _echo = Backend::echo("127.0.167.2:24001");
    let cfg = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.167.1:24000\n  server s1 127.0.167.2:24001\n";
    let mut p = start(
        Which::Haproxide,
        "termreload",
        cfg,
        addr("127.0.167.1:24000"),
    );
    p.signal(1);
    p.signal(15);
    assert_eq!(p.wait_exit(Duration::from_secs(5)), Some(143));
}
