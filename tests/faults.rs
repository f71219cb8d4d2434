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
fn garbage_on_plain_and_tls_binds_closes_only_that_connection() {
    let _echo = Backend::echo("127.0.162.2:24001");
    let pem = common::self_signed_pem("garbage", &["-newkey", "rsa:2048"]);
    let cfg = format!(
        "global\n  log stdout format raw local0\ndefaults\n  log global\n  option tcplog\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n\
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
    // Reads the PROXY v2 header haproxide sends, then resets.
    let reset_after_header = Backend::with("127.0.163.5:24001", |mut c, rec| {
        let mut head = [0u8; 16];
        if c.read_exact(&mut head).is_ok() {
            rec.lock().unwrap().push(head.to_vec());
        }
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
listen pp\n  bind 127.0.163.1:24006\n  server s 127.0.163.5:24001 send-proxy-v2\n\
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
    // A server that resets right after the PROXY header: the client is closed, no hang.
    let mut c = TcpStream::connect("127.0.163.1:24006").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = c.write_all(b"MQTT?");
    let t0 = Instant::now();
    assert!(matches!(c.read(&mut [0u8; 8]), Ok(0) | Err(_)));
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(
        reset_after_header.accepted.lock().unwrap()[0][..12],
        proxy_sig()
    );
    // A server that stops reading: the client is back-pressured, the proxy does not
    // buffer what the client sends (memory stays flat).
    let rss0 = common::rss_kb(pid);
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
        common::rss_kb(pid) < rss0 + 8 * 1024,
        "no piling up in the proxy: {rss0} kB -> {} kB after {sent} bytes",
        common::rss_kb(pid)
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
    // maxconn above what 256 descriptors allow: accept hits EMFILE and must back off
    // (`no strict-limits`: start anyway, as haproxy would).
    std::fs::write(&cfg, "global\n  maxconn 1000\n  no strict-limits\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 20s\n  timeout server 20s\nlisten li\n  bind 127.0.164.1:24000\n  server s1 127.0.164.2:24001\n").unwrap();
    let mut p = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec {} -db -f {}",
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
    // 1,000 clients arrive (from many sources): more than the descriptors allow.
    let clients: Vec<TcpStream> = (0..1000)
        .filter_map(|i| {
            let s =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
            s.bind(&addr(&format!("127.0.168.{}:0", 1 + i % 200)).into())
                .ok()?;
            s.connect_timeout(
                &addr("127.0.164.1:24000").into(),
                Duration::from_millis(200),
            )
            .ok()?;
            Some(TcpStream::from(s))
        })
        .collect();
    assert!(
        clients.len() > 300,
        "most clients connect (kernel backlog): {}",
        clients.len()
    );
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

/// A descriptor limit that cannot be raised for `maxconn`: by default (`strict-limits`)
/// both proxies refuse to start with the same ALERT and the same figure.
#[test]
fn fd_limit_too_low_stops_the_start_like_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("s.cfg");
    std::fs::write(&cfg, "global\n  maxconn 1000\n  nbthread 2\n  stats socket 127.0.165.1:24009\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.165.1:24000\n  server s1 127.0.165.2:24001 check\n").unwrap();
    let run = |w: Which| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -n 256 && exec timeout 5 {} -db -f {}",
                w.path(),
                cfg.display()
            ))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let line = err
            .lines()
            .find(|l| l.contains("Cannot raise FD limit"))
            .map(|l| l.split_once(".main()] ").map_or(l, |(_, m)| m).to_string());
        (out.status.code(), line, err)
    };
    let (h, o) = (run(Which::Haproxy), run(Which::Haproxide));
    assert_eq!(h.0, Some(1), "haproxy: {}", h.2);
    assert_eq!(o.0, Some(1), "haproxide: {}", o.2);
    assert_eq!(
        h.1.as_deref(),
        Some("Cannot raise FD limit to 2029, limit is 256."),
        "{}",
        h.2
    );
    assert_eq!(o.1, h.1, "{}", o.2);
    assert!(o.2.contains("[ALERT]"), "{}", o.2);
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

/// Global `maxconn` reached: the next client waits in the kernel backlog, unserved, and is
/// served as soon as a session ends — the same with haproxy and haproxide.
#[test]
fn global_maxconn_reached_waits_in_the_backlog_like_haproxy() {
    let _echo = Backend::echo("127.0.169.2:24001");
    for (which, port) in [(Which::Haproxy, 24000), (Which::Haproxide, 24002)] {
        let front = format!("127.0.169.1:{port}");
        let cfg = format!("global\n  maxconn 10\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\nlisten li\n  bind {front}\n  server s1 127.0.169.2:24001\n");
        let p = start(which, "gmaxconn", &cfg, addr(&front));
        thread::sleep(Duration::from_millis(300));
        let mut full: Vec<TcpStream> = (0..10)
            .map(|_| {
                let mut c = TcpStream::connect(&front).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                c.write_all(b"a").unwrap();
                let mut b = [0u8; 1];
                c.read_exact(&mut b).unwrap();
                c
            })
            .collect();
        let mut extra = TcpStream::connect(&front).expect("the kernel backlog takes it");
        extra.write_all(b"b").unwrap();
        extra
            .set_read_timeout(Some(Duration::from_millis(700)))
            .unwrap();
        let mut b = [0u8; 1];
        assert!(
            extra.read_exact(&mut b).is_err(),
            "{which:?}: not served beyond maxconn"
        );
        full.pop();
        extra
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        extra
            .read_exact(&mut b)
            .unwrap_or_else(|e| panic!("{which:?}: served once a slot frees: {e}"));
        assert_eq!(&b, b"b");
        drop(p);
    }
}

/// A real broker (mosquitto) started on `ip`:11883, killed by PID when dropped.
struct Broker(std::process::Child);

impl Broker {
    fn start(dir: &std::path::Path, ip: &str) -> Broker {
        assert!(
            std::path::Path::new("/usr/sbin/mosquitto").exists(),
            "mosquitto is missing: ./run-tests installs it"
        );
        let conf = dir.join(format!("mosquitto-{ip}.conf"));
        std::fs::write(
            &conf,
            format!("listener 11883 {ip}\nallow_anonymous true\n"),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto");
        let t0 = Instant::now();
        while TcpStream::connect(format!("{ip}:11883")).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(5), "mosquitto on {ip}");
            thread::sleep(Duration::from_millis(20));
        }
        Broker(child)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// MQTT CONNECT through the proxy and its CONNACK: a session on a live broker.
fn mqtt_session(to: &str) -> Option<TcpStream> {
    let mut c = TcpStream::connect(to).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.write_all(&[
        0x10, 0x0e, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x02, b'f',
        b't',
    ])
    .ok()?;
    let mut ack = [0u8; 4];
    c.read_exact(&mut ack).ok()?;
    (ack == [0x20, 0x02, 0x00, 0x00]).then_some(c)
}

/// Brokers killed with SIGKILL: the sessions on a dead broker end at once, the others go
/// on; with every broker dead a new client is closed at once (no hang), and once the
/// brokers are back the health checks put them in again and clients are served.
#[test]
fn brokers_killed_mid_stream_then_all_down_and_back() {
    let d = std::env::temp_dir().join(format!("haproxide-faults-mq-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let ips = ["127.0.173.2", "127.0.173.3"];
    let mut brokers: Vec<Option<Broker>> =
        ips.iter().map(|ip| Some(Broker::start(&d, ip))).collect();
    let cfg = "defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 20s\n  timeout server 20s\n\
listen mqtt\n  bind 127.0.173.1:24000\n  balance roundrobin\n  server a 127.0.173.2:11883 check inter 200 fall 2 rise 2\n  server b 127.0.173.3:11883 check inter 200 fall 2 rise 2\n";
    let front = "127.0.173.1:24000";
    let p = start(Which::Haproxide, "brokers", cfg, addr(front));
    thread::sleep(Duration::from_millis(300));
    // Two sessions: round robin puts one on each broker.
    let mut s1 = mqtt_session(front).expect("session 1");
    let mut s2 = mqtt_session(front).expect("session 2");
    // Kill broker a mid-stream: exactly one of the two sessions ends, promptly.
    brokers[0] = None;
    let pingreq = [0xc0u8, 0x00];
    let alive = |c: &mut TcpStream| -> bool {
        let _ = c.write_all(&pingreq);
        let mut b = [0u8; 2];
        matches!(c.read_exact(&mut b), Ok(())) && b == [0xd0, 0x00]
    };
    let t0 = Instant::now();
    let (a1, a2) = (alive(&mut s1), alive(&mut s2));
    assert!(
        a1 ^ a2,
        "one session ended with its broker, the other goes on ({a1}, {a2})"
    );
    assert!(t0.elapsed() < Duration::from_secs(3));
    // Kill broker b too: every server is DOWN after fall x inter.
    brokers[1] = None;
    let down = |what: &str| p.errs.lock().unwrap().iter().any(|l| l.contains(what));
    let t0 = Instant::now();
    while !down("proxy 'mqtt' has no server available!") {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "both servers go DOWN: {:?}",
            p.errs.lock().unwrap()
        );
        thread::sleep(Duration::from_millis(20));
    }
    // A client arriving now is closed promptly rather than left hanging.
    let t0 = Instant::now();
    assert!(mqtt_session(front).is_none(), "no broker, no CONNACK");
    assert!(
        t0.elapsed() < Duration::from_millis(1500),
        "closed at once: {:?}",
        t0.elapsed()
    );
    // Back up: the checks bring both in, clients are served again.
    brokers = ips.iter().map(|ip| Some(Broker::start(&d, ip))).collect();
    let t0 = Instant::now();
    while !(down("Server mqtt/a is UP") && down("Server mqtt/b is UP")) {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "both servers come back UP"
        );
        thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..4 {
        assert!(
            mqtt_session(front).is_some(),
            "served once the brokers are back"
        );
    }
    drop(brokers);
}
