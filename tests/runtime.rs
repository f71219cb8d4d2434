//! The TCP engine over real loopback sockets, compared with the real haproxy where the
//! behaviour is observable: server order, log lines, timeouts, retries, queueing,
//! half-close, signals, many idle connections. Every test uses its own 127.0.N.x addresses.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{assert_logs_match, bucket, mask_tcplog, start, Backend, Which};

const BOTH: [Which; 2] = [Which::Haproxy, Which::Haproxide];

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const DEFAULTS: &str = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option tcplog\n  timeout connect 300ms\n  timeout client 5s\n  timeout server 5s\n";

/// Which backend accepted each of `n` sequential connections.
fn sequence(
    which: Which,
    tag: &str,
    cfg: &str,
    front: SocketAddr,
    backends: &[Backend],
    n: usize,
) -> Vec<String> {
    let p = start(which, tag, cfg, front);
    let mut seq = Vec::new();
    for _ in 0..n {
        let before: Vec<usize> = backends.iter().map(Backend::count).collect();
        let mut c = TcpStream::connect(front).unwrap();
        c.write_all(b"x").unwrap();
        let deadline = Instant::now() + Duration::from_secs(3);
        let who = loop {
            if let Some(i) = backends
                .iter()
                .zip(&before)
                .position(|(b, n0)| b.count() > *n0)
            {
                break format!("s{}", i + 1);
            }
            if Instant::now() > deadline {
                break "?".into();
            }
            thread::sleep(Duration::from_millis(2));
        };
        seq.push(who);
    }
    drop(p);
    seq
}

#[test]
fn roundrobin_order_matches_haproxy() {
    let patterns: [(&str, &[&str]); 4] = [
        ("equal", &["weight 1", "weight 1", "weight 1"]),
        ("w123", &["weight 1", "weight 2", "weight 3"]),
        ("w7325", &["weight 7", "weight 3", "weight 2", "weight 5"]),
        (
            "zero-disabled",
            &["weight 1", "weight 0", "disabled", "weight 1"],
        ),
    ];
    for (k, (tag, servers)) in patterns.iter().enumerate() {
        let net = 10 + k;
        let front = addr(&format!("127.0.{net}.1:24000"));
        let backends: Vec<Backend> = (0..servers.len())
            .map(|i| Backend::echo(&format!("127.0.{net}.{}:24001", i + 2)))
            .collect();
        let mut cfg = format!("{DEFAULTS}listen li\n  bind {front}\n  balance roundrobin\n");
        for (i, opt) in servers.iter().enumerate() {
            cfg.push_str(&format!(
                "  server s{} 127.0.{net}.{}:24001 {opt}\n",
                i + 1,
                i + 2
            ));
        }
        let want = sequence(Which::Haproxy, tag, &cfg, front, &backends, 17);
        let got = sequence(Which::Haproxide, tag, &cfg, front, &backends, 17);
        assert_eq!(got, want, "roundrobin order for {tag}");
        assert!(!want.contains(&"?".to_string()));
    }
}

#[test]
fn backups_match_haproxy() {
    let front = addr("127.0.20.1:24000");
    let backends: Vec<Backend> = (0..3)
        .map(|i| Backend::echo(&format!("127.0.20.{}:24001", i + 2)))
        .collect();
    for allb in ["", "  option allbackups\n"] {
        let cfg = format!(
            "{DEFAULTS}listen li\n  bind {front}\n{allb}  server s1 127.0.20.2:24001 disabled\n  server s2 127.0.20.3:24001 backup\n  server s3 127.0.20.4:24001 backup\n"
        );
        let want = sequence(Which::Haproxy, "bck", &cfg, front, &backends, 6);
        let got = sequence(Which::Haproxide, "bck", &cfg, front, &backends, 6);
        assert_eq!(got, want, "backup order with '{}'", allb.trim());
    }
}

/// Runs `client` against both binaries on `cfg` and returns each one's masked log lines.
fn logs_of(
    tag: &str,
    cfg: &str,
    front: SocketAddr,
    client: &dyn Fn(),
    lines: usize,
) -> Vec<Vec<String>> {
    BOTH.iter()
        .map(|&w| {
            let p = start(w, tag, cfg, front);
            client();
            let v = p.wait_lines(lines, Duration::from_secs(6));
            v.iter().map(|l| mask_tcplog(l)).collect()
        })
        .collect()
}

#[test]
fn tcplog_lines_match_haproxy() {
    // Normal session, echo.
    let front = addr("127.0.30.1:24000");
    let _b = Backend::echo("127.0.30.2:24001");
    let cfg = format!("{DEFAULTS}frontend fe\n  bind {front}\n  default_backend be\nbackend be\n  server s1 127.0.30.2:24001\n");
    let r = logs_of(
        "normal",
        &cfg,
        front,
        &|| assert_eq!(common::roundtrip(front, b"hello"), b"hello"),
        1,
    );
    assert_logs_match(&r[0], &r[1]);
    assert!(
        r[0][0].contains(" fe be/s1 ") && r[0][0].contains(" 5 -- "),
        "{:?}",
        r[0]
    );

    // No usable server, and a frontend without backend.
    // The probe has a frontend of its own: still open on `fe`, it was counted in actconn.
    let front = addr("127.0.31.1:24000");
    let probe = addr("127.0.31.1:24050");
    let cfg = format!(
        "{DEFAULTS}frontend fe\n  bind {front}\n  default_backend be\nbackend be\n  server s1 127.0.31.2:24001 disabled\nfrontend lone\n  bind 127.0.31.1:24002\nfrontend probe\n  bind {probe}\n  no log\n"
    );
    let client = || {
        let _ = common::roundtrip(front, b"");
        let _ = common::roundtrip(addr("127.0.31.1:24002"), b"");
    };
    let r = logs_of("nosrv", &cfg, probe, &client, 2);
    assert_logs_match(&r[0], &r[1]);
    assert!(
        r[0].iter()
            .any(|l| bucket(l).contains("fe be/<NOSRV> -1/-1/~0 0 SC")),
        "{:?}",
        r[0]
    );

    // Refused connects: retries on the same server with the turn-around pause.
    let front = addr("127.0.32.1:24000");
    let probe = addr("127.0.32.1:24050");
    let cfg = format!("{DEFAULTS}frontend fe\n  bind {front}\n  default_backend be\nfrontend probe\n  bind {probe}\n  no log\nbackend be\n  retries 2\n  server s1 127.0.32.2:24009\n");
    // The client waits for the answer (a client that leaves ends the retries at once).
    let wait_eof = || {
        let mut c = TcpStream::connect(front).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        let _ = c.read(&mut [0u8; 8]);
    };
    let r = logs_of("refused", &cfg, probe, &wait_eof, 1);
    assert_logs_match(&r[0], &r[1]);
    assert!(
        bucket(&r[0][0]).contains("be/s1 ~0/-1/~600 0 SC 1/1/0/0/2"),
        "{:?}",
        r[0]
    );

    // Redispatch: the retry goes to the next server at once.
    // The readiness probe goes to a frontend of its own: balanced onto `be`, it moves the
    // round robin in one proxy or the other depending on when its close is seen.
    let front = addr("127.0.33.1:24000");
    let probe = addr("127.0.33.1:24050");
    let _g = Backend::echo("127.0.33.3:24001");
    let cfg = format!(
        "{DEFAULTS}frontend fe\n  bind {front}\n  default_backend be\nfrontend probe\n  bind {probe}\n  no log\nbackend be\n  option redispatch\n  server bad 127.0.33.2:24009\n  server good 127.0.33.3:24001\n"
    );
    let r = logs_of(
        "redispatch",
        &cfg,
        probe,
        &|| assert_eq!(common::roundtrip(front, b"hi"), b"hi"),
        1,
    );
    assert_logs_match(&r[0], &r[1]);
    assert!(
        r[0][0].contains("be/good") && r[0][0].contains("/+1 "),
        "{:?}",
        r[0]
    );

    // Any non-hash algorithm redispatches at once (leastconn here); a hash (source) only
    // on the redispatch interval, by default the last retry, after turn-around pauses.
    for (tag, net, balance, extra) in [
        ("redisp-lc", 35, "leastconn", ""),
        ("redisp-src", 36, "source", "  retries 2\n"),
        (
            "redisp-int",
            37,
            "source",
            "  retries 3\n  option redispatch 1\n",
        ),
    ] {
        let front = addr(&format!("127.0.{net}.1:24000"));
        let _g = Backend::echo(&format!("127.0.{net}.3:24001"));
        let _h = Backend::echo(&format!("127.0.{net}.4:24001"));
        // The bad server only ever refuses; it is the first choice of both algorithms for
        // this client (leastconn takes the first server, source hashes 127.0.0.1 onto the
        // second), so a source hash picks it again on every redispatch.
        let servers = if balance == "source" {
            format!("  server good 127.0.{net}.3:24001\n  server bad 127.0.{net}.2:24009\n")
        } else {
            format!("  server bad 127.0.{net}.2:24009\n  server good 127.0.{net}.3:24001\n")
        };
        // The readiness probe goes to a frontend of its own: a probe session balanced onto
        // `be` would still be retrying when the client comes, and change leastconn's order
        // in one proxy or the other.
        let probe = addr(&format!("127.0.{net}.1:24050"));
        let cfg = format!(
            "{DEFAULTS}frontend fe\n  bind {front}\n  default_backend be\nfrontend probe\n  bind {probe}\n  no log\nbackend be\n  balance {balance}\n  option redispatch\n{extra}{servers}"
        );
        let client = || {
            let mut c = TcpStream::connect(front).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
            c.write_all(b"hi").unwrap();
            let mut b = [0u8; 2];
            let _ = c.read_exact(&mut b);
        };
        let r = logs_of(tag, &cfg, probe, &client, 1);
        assert_logs_match(&r[0], &r[1]);
        let want = if balance == "source" {
            "be/bad"
        } else {
            "be/good"
        };
        assert!(r[0][0].contains(want), "{tag}: {:?}", r[0]);
    }
}

/// `retry-on` decides whether a refused connection is tried again: `none`, or response
/// conditions alone (which act in HTTP mode only), leave no retry; `conn-failure` keeps
/// them, after the turn-around pause.
#[test]
fn retry_on_decides_connection_retries_like_haproxy() {
    for (tag, net, retry_on, want) in [
        ("retry-none", 118, "none", "be/s1 ~0/-1/~0 0 SC 1/1/0/0/0"),
        (
            "retry-l7",
            119,
            "503 empty-response",
            "be/s1 ~0/-1/~0 0 SC 1/1/0/0/0",
        ),
        (
            "retry-conn",
            120,
            "conn-failure 503",
            "be/s1 ~0/-1/~600 0 SC 1/1/0/0/2",
        ),
    ] {
        let front = addr(&format!("127.0.{net}.1:24000"));
        let probe = addr(&format!("127.0.{net}.1:24050"));
        let cfg = format!("{DEFAULTS}frontend fe\n  bind {front}\n  default_backend be\nfrontend probe\n  bind {probe}\n  no log\nbackend be\n  retries 2\n  retry-on {retry_on}\n  server s1 127.0.{net}.2:24009\n");
        let wait_eof = || {
            let mut c = TcpStream::connect(front).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
            let _ = c.read(&mut [0u8; 8]);
        };
        let r = logs_of(tag, &cfg, probe, &wait_eof, 1);
        assert_logs_match(&r[0], &r[1]);
        assert!(bucket(&r[0][0]).contains(want), "{tag}: {:?}", r[0]);
    }
}

/// Tw counts from the accept in both proxies: a client slow to send what content
/// inspection waits for, or slow to start its TLS handshake, shows that wait in Tw.
#[test]
fn tw_counts_from_the_accept_like_haproxy() {
    let _b = Backend::echo("127.0.34.2:24001");
    let pem = common::self_signed_pem(
        "tw",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let (plain, tls) = (addr("127.0.34.1:24000"), addr("127.0.34.1:24002"));
    let cfg = format!(
        "{DEFAULTS}listen insp\n  bind {plain}\n  tcp-request inspect-delay 3s\n  tcp-request content accept if {{ req.payload(0,0),mqtt_is_valid }}\n  server s1 127.0.34.2:24001\nlisten tls\n  bind {tls} ssl crt {}\n  server s1 127.0.34.2:24001\n",
        pem.display()
    );
    let pkt = haproxide::runtime::proto::mqtt::connect_packet("tw");
    let client = || {
        let mut c = TcpStream::connect(plain).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        thread::sleep(Duration::from_millis(400));
        c.write_all(&pkt).unwrap();
        let mut back = vec![0u8; pkt.len()];
        c.read_exact(&mut back).unwrap();
        drop(c);
        // The first line is logged before the next client arrives (its actconn is 1).
        thread::sleep(Duration::from_millis(300));
        // The TLS client waits before its ClientHello.
        let tcp = TcpStream::connect(tls).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        thread::sleep(Duration::from_millis(400));
        let name = rustls::pki_types::ServerName::try_from("t").unwrap();
        let conn = rustls::ClientConnection::new(common::tls_client_config(), name).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        s.write_all(b"hi").unwrap();
        let mut two = [0u8; 2];
        s.read_exact(&mut two).unwrap();
        assert_eq!(&two, b"hi");
    };
    let r = logs_of("tw", &cfg, plain, &client, 2);
    assert_logs_match(&r[0], &r[1]);
    for l in r.iter().flatten() {
        let tw: i64 = l
            .split(' ')
            .nth(4)
            .and_then(|t| t.split('/').next()?.parse().ok())
            .unwrap();
        assert!((390..1000).contains(&tw), "Tw {tw} in {l}");
    }
}

#[test]
fn idle_timeouts_match_haproxy() {
    let cases = [
        ("cli", "  timeout client 600ms\n  timeout server 5s\n", "cD"),
        ("srv", "  timeout client 5s\n  timeout server 600ms\n", "sD"),
        (
            "tun",
            "  timeout client 300ms\n  timeout server 300ms\n  timeout tunnel 900ms\n",
            "cD",
        ),
    ];
    for (k, (tag, t, code)) in cases.iter().enumerate() {
        let net = 40 + k;
        let front = addr(&format!("127.0.{net}.1:24000"));
        let _b = Backend::echo(&format!("127.0.{net}.2:24001"));
        let cfg = format!(
            "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option tcplog\n  timeout connect 1s\n{t}frontend fe\n  bind {front}\n  default_backend be\nbackend be\n  server s1 127.0.{net}.2:24001\n"
        );
        let client = || {
            let mut c = TcpStream::connect(front).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
            let mut b = [0u8; 8];
            let t0 = Instant::now();
            // The proxy closes the idle session: read sees EOF.
            assert!(matches!(c.read(&mut b), Ok(0) | Err(_)));
            assert!(t0.elapsed() < Duration::from_secs(3));
        };
        let r = logs_of(tag, &cfg, front, &client, 1);
        assert_logs_match(&r[0], &r[1]);
        assert!(
            r[0][0].contains(&format!(" 0 {code} ")),
            "{tag}: {:?}",
            r[0]
        );
    }
}

#[test]
fn half_close_both_ways() {
    // Client sends then closes its side: the server's late reply still arrives.
    let late = Backend::with("127.0.50.2:24001", |mut c, _| {
        let mut v = Vec::new();
        let _ = c.read_to_end(&mut v);
        thread::sleep(Duration::from_millis(300));
        let _ = c.write_all(&v);
    });
    // Server sends and closes first: the client still sends afterwards and is answered by FIN only.
    let early = Backend::closes_first("127.0.50.3:24001", b"banner");
    let cfg = format!(
        "{DEFAULTS}listen a\n  bind 127.0.50.1:24000\n  server s1 127.0.50.2:24001\nlisten b\n  bind 127.0.50.1:24002\n  server s1 127.0.50.3:24001\n"
    );
    let p = start(
        Which::Haproxide,
        "halfclose",
        &cfg,
        addr("127.0.50.1:24000"),
    );
    assert_eq!(
        common::roundtrip(addr("127.0.50.1:24000"), b"ping"),
        b"ping"
    );
    let mut c = TcpStream::connect("127.0.50.1:24002").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"banner");
    c.write_all(b"after-fin").unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    early.assert_last(b"after-fin", "data after the server's FIN reaches it");
    drop(p);
    drop(late);
}

#[test]
fn server_maxconn_queues_then_times_out() {
    let front = addr("127.0.60.1:24000");
    let hold = Backend::with("127.0.60.2:24001", |mut c, _| {
        let mut b = [0u8; 64];
        while let Ok(n) = c.read(&mut b) {
            if n == 0 || c.write_all(&b[..n]).is_err() {
                break;
            }
        }
    });
    let cfg = format!(
        "{DEFAULTS}  timeout queue 700ms\nfrontend fe\n  bind {front}\n  default_backend be\nbackend be\n  server s1 127.0.60.2:24001 maxconn 1\n"
    );
    let client = || {
        let mut a = TcpStream::connect(front).unwrap();
        a.write_all(b"a").unwrap();
        let mut buf = [0u8; 1];
        a.read_exact(&mut buf).unwrap();
        // The second client waits in the queue longer than `timeout queue`: closed.
        let mut b = TcpStream::connect(front).unwrap();
        b.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let t0 = Instant::now();
        let _ = b.read(&mut buf);
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_millis(2500),
            "{waited:?}"
        );
        // The queued session is logged while the first one still holds the server.
        thread::sleep(Duration::from_millis(300));
        drop(a);
    };
    let mut r = logs_of("queue", &cfg, front, &client, 2);
    // The queued session's line and the first session's come close together, in either
    // order: compare them sorted.
    for v in &mut r {
        v.sort_by_key(|l| l.replace(|c: char| c.is_ascii_digit(), ""));
    }
    assert_logs_match(&r[0], &r[1]);
    assert!(
        r[0].iter()
            .any(|l| bucket(l).contains("be/<NOSRV> ~700/-1/~700 0 sQ")),
        "{:?}",
        r[0]
    );
    drop(hold);
}

#[test]
fn soft_stop_keeps_sessions_and_hard_stop_dies_by_signal() {
    let front = addr("127.0.70.1:24000");
    let _b = Backend::echo("127.0.70.2:24001");
    let cfg = format!("{DEFAULTS}listen li\n  bind {front}\n  server s1 127.0.70.2:24001\n");
    let mut p = start(Which::Haproxide, "usr1", &cfg, front);
    let mut c = TcpStream::connect(front).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    p.signal(10); // SIGUSR1
    thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect_timeout(&front, Duration::from_millis(300)).is_err(),
        "listener closed on soft stop"
    );
    let mut b = [0u8; 4];
    c.write_all(b"ping").unwrap();
    c.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"ping", "established session keeps flowing");
    assert_eq!(
        p.wait_exit(Duration::from_millis(300)),
        None,
        "still running while a session is open"
    );
    drop(c);
    assert_eq!(p.wait_exit(Duration::from_secs(5)), Some(0));
    let errs = p.errs.lock().unwrap().join("\n");
    assert!(
        errs.contains("Proxy li stopped (cumulated conns: FE: 2, BE: 2)."),
        "{errs}"
    );

    let mut p = start(Which::Haproxide, "term", &cfg, front);
    p.signal(15);
    assert_eq!(p.wait_exit(Duration::from_secs(5)), Some(143));
}

#[test]
fn bind_error_is_reported_like_haproxy() {
    let busy = TcpListener::bind("127.0.80.1:24000").unwrap();
    let cfg =
        format!("{DEFAULTS}listen li\n  bind 127.0.80.1:24000\n  server s1 127.0.80.2:24001\n");
    let dir = std::env::temp_dir().join(format!("haproxide-bind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("b.cfg");
    std::fs::write(&path, cfg).unwrap();
    let out = std::process::Command::new(Which::Haproxide.path())
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains(&format!("Binding [{}:11] for proxy li: cannot bind socket (Address already in use) for [127.0.80.1:24000]", path.display())), "{err}");
    assert!(err.contains("Some protocols failed to start their listeners! Exiting."));
    drop(busy);
}

#[test]
fn five_thousand_idle_connections() {
    // Backend that only accepts and holds sockets (no thread per connection).
    // A real server's backlog: the test must not lose SYNs in its own listener.
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&addr("127.0.90.2:24001").into()).unwrap();
    s.listen(8192).unwrap();
    let l: TcpListener = s.into();
    l.set_nonblocking(true).unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let h2 = held.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let acceptor = thread::spawn(move || {
        while !s2.load(std::sync::atomic::Ordering::Relaxed) {
            match l.accept() {
                Ok((c, _)) => h2.lock().unwrap().push(c),
                Err(_) => thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    let cfg = "global\n  maxconn 6000\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\nlisten li\n  bind 127.0.90.1:24000\n  server s1 127.0.90.2:24001\n";
    let p = start(Which::Haproxide, "5k", cfg, addr("127.0.90.1:24000"));
    let n = 5000;
    let t0 = Instant::now();
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        // Several source addresses so the client side never runs short of ports.
        let src = format!("127.0.91.{}:0", 1 + i % 50);
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.bind(&src.parse::<SocketAddr>().unwrap().into()).unwrap();
        s.connect(&addr("127.0.90.1:24000").into())
            .unwrap_or_else(|e| panic!("connect #{i}: {e}"));
        clients.push(s);
        assert!(t0.elapsed() < Duration::from_secs(60), "too slow");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while held.lock().unwrap().len() <= n && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    // n clients plus the harness' readiness probe.
    assert!(
        held.lock().unwrap().len() >= n,
        "every client reached the server: {}",
        held.lock().unwrap().len()
    );
    // All of them still work: a byte sent on the last one arrives.
    let last = clients.last().unwrap();
    assert_eq!(last.send(b"z").unwrap(), 1);
    drop(clients);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    acceptor.join().unwrap();
    drop(p);
}

#[test]
fn source_address_is_used_for_server_connections() {
    let l = TcpListener::bind("127.0.95.2:24001").unwrap();
    let cfg = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.95.1:24000\n  source 127.0.95.9\n  server s1 127.0.95.2:24001\n";
    let p = start(Which::Haproxide, "source", cfg, addr("127.0.95.1:24000"));
    let _c = TcpStream::connect("127.0.95.1:24000").unwrap();
    l.set_nonblocking(false).unwrap();
    // The readiness probe came first; both used the configured source address.
    for _ in 0..2 {
        let (_s, peer) = l.accept().unwrap();
        assert_eq!(peer.ip().to_string(), "127.0.95.9");
    }
    drop(p);
}

#[test]
fn dontlognull_matches_haproxy() {
    // A client that connects and leaves without a byte is not logged; a real one is.
    let front = addr("127.0.35.1:24000");
    let _b = Backend::echo("127.0.35.2:24001");
    let cfg = format!(
        "{DEFAULTS}  option dontlognull\nlisten li\n  bind {front}\n  server s1 127.0.35.2:24001\n"
    );
    let client = || {
        drop(TcpStream::connect(front).unwrap());
        thread::sleep(Duration::from_millis(200));
        assert_eq!(common::roundtrip(front, b"data"), b"data");
        // Anything logged late would show up now.
        thread::sleep(Duration::from_millis(300));
    };
    let r = logs_of("dontlognull", &cfg, front, &client, 2);
    assert_eq!(
        r[0].len(),
        1,
        "haproxy logs only the session with data: {:?}",
        r[0]
    );
    assert_logs_match(&r[0], &r[1]);
}

#[test]
fn client_fin_and_server_fin_match_haproxy() {
    // client-fin: the client has closed its side and the server says nothing: the session
    // ends after `timeout client-fin`, not `timeout client`. server-fin: the same the
    // other way round.
    let _mute = Backend::with("127.0.36.2:24001", |mut c, _| {
        let mut v = Vec::new();
        let _ = c.read_to_end(&mut v);
        thread::sleep(Duration::from_secs(4));
    });
    let _closer = Backend::with("127.0.36.3:24001", |c, _| {
        let _ = c.shutdown(std::net::Shutdown::Write);
        thread::sleep(Duration::from_secs(4));
    });
    let cfg = format!(
        "{DEFAULTS}  timeout client-fin 500ms\n  timeout server-fin 500ms\n\
listen cfin\n  bind 127.0.36.1:24000\n  server s1 127.0.36.2:24001\n\
listen sfin\n  bind 127.0.36.1:24002\n  server s1 127.0.36.3:24001\n\
listen probe\n  bind 127.0.36.1:24099\n  no log\n  server s1 127.0.36.2:24001\n"
    );
    let client = || {
        let mut c = TcpStream::connect("127.0.36.1:24000").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        c.write_all(b"bye").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let t0 = Instant::now();
        assert!(matches!(c.read(&mut [0u8; 8]), Ok(0) | Err(_)));
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "client-fin: {:?}",
            t0.elapsed()
        );
        let mut c = TcpStream::connect("127.0.36.1:24002").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        let t0 = Instant::now();
        // The server's FIN arrives; the client stays silent with its side open.
        assert!(matches!(c.read(&mut [0u8; 8]), Ok(0) | Err(_)));
        thread::sleep(Duration::from_millis(1500));
        assert!(t0.elapsed() < Duration::from_secs(3));
    };
    // The readiness probe goes to a listener of its own: a probe session on `cfin`
    // would last the client-fin timeout and be logged beside the test's (seen under load).
    let r = logs_of("fin", &cfg, addr("127.0.36.1:24099"), &client, 2);
    assert_logs_match(&r[0], &r[1]);
}

#[test]
fn sigttou_sigttin_match_haproxy() {
    // SIGTTOU: new connections are refused, the established session goes on; SIGTTIN:
    // listening again.
    let front = addr("127.0.37.1:24000");
    let _b = Backend::echo("127.0.37.2:24001");
    let cfg = format!("{DEFAULTS}listen li\n  bind {front}\n  server s1 127.0.37.2:24001\n");
    for w in BOTH {
        let p = start(w, "ttou", &cfg, front);
        let mut held = TcpStream::connect(front).unwrap();
        held.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        // One exchange first: a connection still in the accept queue when the listener
        // pauses is reset by the kernel, in haproxy as here; the test is about sessions
        // already established.
        held.write_all(b"up").unwrap();
        let mut b = [0u8; 2];
        held.read_exact(&mut b).unwrap();
        p.signal(22);
        let t0 = Instant::now();
        while TcpStream::connect(front).is_ok() {
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "{w:?}: still accepting after SIGTTOU"
            );
            thread::sleep(Duration::from_millis(20));
        }
        held.write_all(b"on").unwrap();
        held.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"on", "{w:?}: the session survives the pause");
        p.signal(21);
        let t0 = Instant::now();
        while TcpStream::connect(front).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "{w:?}: not listening after SIGTTIN"
            );
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(common::roundtrip(front, b"again"), b"again");
    }
}

#[test]
fn debug_lines_have_haproxys_shape() {
    // -d: accept, clicls, srvcls, closed for a session, as haproxy prints them (session
    // numbers and descriptors masked: they depend on the process).
    let front = addr("127.0.38.1:24000");
    let _b = Backend::echo("127.0.38.2:24001");
    let cfg_text = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.38.1:24000\n  server s1 127.0.38.2:24001\n";
    let dir = std::env::temp_dir().join(format!("haproxide-debug-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("d.cfg");
    std::fs::write(&cfg, cfg_text).unwrap();
    let mask = |l: &str| -> String {
        let re = regex::Regex::new(r"^[0-9a-f]{8}:li\.(\w+)[\[(]([0-9a-f]{4})[:)]").unwrap();
        let l = re.replace(l, "ID:li.$1<FD>").to_string();
        let l = regex::Regex::new(r"=[0-9a-f]{4} from \[127\.0\.0\.1:\d+\]")
            .unwrap()
            .replace(&l, "=FD from [127.0.0.1:P]")
            .to_string();
        regex::Regex::new(r"\[?[0-9a-f]{4}\]$")
            .unwrap()
            .replace(&l, "FD]")
            .to_string()
    };
    let mut seen = Vec::new();
    for w in BOTH {
        let mut p = std::process::Command::new(w.path())
            .arg("-d")
            .arg("-f")
            .arg(&cfg)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while TcpStream::connect(front).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(5));
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(common::roundtrip(front, b"dbg"), b"dbg");
        thread::sleep(Duration::from_millis(300));
        let _ = p.kill();
        let out = p.wait_with_output().unwrap();
        let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| {
                l.len() > 9
                    && l.as_bytes()[8] == b':'
                    && l[..8].chars().all(|c| c.is_ascii_hexdigit())
            })
            .map(mask)
            .collect();
        // haproxy's own order of clicls/srvcls varies with timing: compare the sets.
        let mut lines = lines;
        lines.sort();
        seen.push(lines);
    }
    // Two sessions each: the readiness probe, then the roundtrip.
    assert_eq!(seen[1], seen[0], "haproxy: {:?}", seen[0]);
    assert_eq!(seen[0].len(), 8, "{:?}", seen[0]);
}
