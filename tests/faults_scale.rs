//! Faults at scale: thousands of hostile or stuck clients, signals in the middle of a storm,
//! half a million short connections. Each case is bounded in count and time, loopback only,
//! and asserts that the bad peers are closed, everyone else is served, and descriptors and
//! memory come back.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{connect_from, start, start_file, Backend, Which};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Waits until `cond` holds, at most `limit`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A ClientHello as a real client sends it (rustls' first flight), to dribble byte by byte.
fn client_hello() -> Vec<u8> {
    let mut conn = rustls::ClientConnection::new(
        common::tls_client_config(),
        rustls::pki_types::ServerName::try_from("t").unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    conn.write_tls(&mut out).unwrap();
    out
}

/// 2,000 slow clients on a plain bind and 2,000 on a TLS bind: half send nothing, half one
/// byte a second. Silent ones are closed at `timeout client`; on TLS the handshake is
/// bounded by it even for the dribblers; on plain TCP a dribbler is an active client and
/// keeps its session, as with haproxy (its bytes come back from the echo server). Others
/// are served throughout, and descriptors and memory come back afterwards.
#[test]
fn slowloris_2000_on_plain_and_tls_binds() {
    let _echo = Backend::echo("127.0.170.2:24001");
    let pem = common::self_signed_pem(
        "slow",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let cfg = format!(
        "global\n  maxconn 8000\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 3s\n  timeout server 30s\n\
listen plain\n  bind 127.0.170.1:24000\n  server s1 127.0.170.2:24001\n\
listen tls\n  bind 127.0.170.1:24443 ssl crt {}\n  server s1 127.0.170.2:24001\n",
        pem.display()
    );
    let p = start(
        Which::Haproxide,
        "slow2000",
        &cfg,
        addr("127.0.170.1:24000"),
    );
    let pid = p.child.id();
    thread::sleep(Duration::from_millis(300));
    let (rss0, fd0) = (common::rss_kb(pid), common::fds(pid));
    let (plain, tls) = (addr("127.0.170.1:24000"), addr("127.0.170.1:24443"));
    let hello = client_hello();
    let open = |to: SocketAddr, base: usize| -> Vec<TcpStream> {
        (0..1000)
            .map(|i| {
                let c = connect_from(
                    &format!("127.0.{}.{}", 171 + (base + i) / 250, 1 + (base + i) % 250),
                    to,
                )
                .expect("connect");
                c.set_nonblocking(true).unwrap();
                c
            })
            .collect()
    };
    let t0 = Instant::now();
    let plain_silent = open(plain, 0);
    let mut plain_drip = open(plain, 1000);
    let tls_silent = open(tls, 2000);
    let mut tls_drip = open(tls, 3000);
    // One byte a second to every dribbler, for 8 s (more than twice timeout client).
    let mut tls_closed_at: Vec<Option<Duration>> = vec![None; 1000];
    let mut plain_echoed = vec![0usize; 1000];
    let mut sec = 0;
    while t0.elapsed() < Duration::from_secs(8) {
        for c in plain_drip.iter_mut() {
            let _ = c.write(b"z");
        }
        for (i, c) in tls_drip.iter_mut().enumerate() {
            if tls_closed_at[i].is_none() && sec < hello.len() {
                let _ = c.write(&hello[sec..sec + 1]);
            }
        }
        sec += 1;
        // Meanwhile a normal client of each kind is served at once.
        let t = Instant::now();
        assert_eq!(
            common::roundtrip(plain, b"ok?"),
            b"ok?",
            "plain client served"
        );
        let mut s = common::tls_connect(tls);
        s.write_all(b"tls?").unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"tls?");
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "served promptly: {:?}",
            t.elapsed()
        );
        while t0.elapsed() < Duration::from_secs(sec as u64) {
            for (i, c) in tls_drip.iter_mut().enumerate() {
                let mut b = [0u8; 64];
                if tls_closed_at[i].is_none() && matches!(c.read(&mut b), Ok(0)) {
                    tls_closed_at[i] = Some(t0.elapsed());
                }
            }
            for (i, c) in plain_drip.iter_mut().enumerate() {
                let mut b = [0u8; 64];
                if let Ok(n) = c.read(&mut b) {
                    plain_echoed[i] += n;
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    let closed = |v: &[TcpStream]| {
        v.iter()
            .filter(|c| {
                let mut b = [0u8; 8];
                matches!((&**c).read(&mut b), Ok(0))
                    || matches!((&**c).read(&mut b), Err(e) if e.kind() != std::io::ErrorKind::WouldBlock)
            })
            .count()
    };
    // Accepting 4,000 clients takes a while on a loaded 2-core machine: each is closed
    // 3 s after its own accept, well before `timeout server` (30 s) would.
    let all_closed = wait_until(Duration::from_secs(4), || {
        closed(&plain_silent) == 1000 && closed(&tls_silent) == 1000
    });
    assert!(
        all_closed,
        "silent clients closed at timeout client: plain {}, TLS {} of 1000",
        closed(&plain_silent),
        closed(&tls_silent)
    );
    // A dribbled ClientHello would last minutes: the handshake is cut at timeout client.
    let tls_late: Vec<_> = tls_closed_at
        .iter()
        .filter(|t| t.is_none_or(|t| t > Duration::from_millis(7500)))
        .collect();
    assert!(
        tls_late.is_empty(),
        "TLS dribblers closed at timeout client (3 s): {} late",
        tls_late.len()
    );
    assert!(
        plain_echoed.iter().all(|&n| n >= 4),
        "plain dribblers are active sessions, served: min {} bytes back",
        plain_echoed.iter().min().unwrap()
    );
    assert_eq!(closed(&plain_drip), 0, "active plain sessions are kept");
    drop((plain_silent, plain_drip, tls_silent, tls_drip));
    assert!(
        wait_until(Duration::from_secs(5), || common::fds(pid) <= fd0 + 2),
        "descriptors back: {fd0} -> {}",
        common::fds(pid)
    );
    // The allocator's free pages go back once the load has dropped (within a second).
    let back = wait_until(Duration::from_secs(3), || {
        common::rss_kb(pid) < rss0 + 4 * 1024
    });
    let rss = common::rss_kb(pid);
    assert!(back, "memory back near baseline: {rss0} kB -> {rss} kB");
}

/// SIGUSR1 with 2,000 sessions open: the listener closes at once, every session goes on
/// working to its end, and the process exits 0 after the last one.
#[test]
fn sigusr1_with_2000_sessions_open() {
    let _echo = Backend::echo("127.0.176.2:24001");
    let cfg = "global\n  maxconn 5000\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n\
listen li\n  bind 127.0.176.1:24000\n  server s1 127.0.176.2:24001\n";
    let to = addr("127.0.176.1:24000");
    let mut p = start(Which::Haproxide, "usr1", cfg, to);
    let mut sessions: Vec<TcpStream> = (0..2000)
        .map(|i| {
            let mut c = connect_from(&format!("127.0.177.{}", 1 + i % 250), to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            c.write_all(b"a").unwrap();
            c
        })
        .collect();
    for c in sessions.iter_mut() {
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
    }
    p.signal(10);
    assert!(
        wait_until(Duration::from_secs(2), || TcpStream::connect(to).is_err()),
        "the listener is closed after SIGUSR1"
    );
    for (i, c) in sessions.iter_mut().enumerate() {
        c.write_all(b"b").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b)
            .unwrap_or_else(|e| panic!("session {i} lost after SIGUSR1: {e}"));
        assert_eq!(&b, b"b");
    }
    assert_eq!(
        p.child.try_wait().unwrap(),
        None,
        "still running while sessions are open"
    );
    sessions.truncate(1);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        p.child.try_wait().unwrap(),
        None,
        "one session left keeps it running"
    );
    drop(sessions);
    assert_eq!(
        p.wait_exit(Duration::from_secs(5)),
        Some(0),
        "exits 0 after the last session"
    );
}

/// SIGHUP (reload) again and again during a storm of TLS handshakes: no handshake and no
/// request fails, whether it began before, during or after a reload.
#[test]
fn sighup_during_a_tls_handshake_storm() {
    let _echo = Backend::echo("127.0.178.2:24001");
    let pem = common::self_signed_pem(
        "storm",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let dir = pem.parent().unwrap().to_path_buf();
    let path = dir.join("h.cfg");
    std::fs::write(
        &path,
        format!(
            "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen tls\n  bind 127.0.178.1:24443 ssl crt {}\n  server s1 127.0.178.2:24001\n",
            pem.display()
        ),
    )
    .unwrap();
    let to = addr("127.0.178.1:24443");
    let p = start_file(Which::Haproxide, &path, to);
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            thread::spawn(move || {
                while !stop.load(Relaxed) {
                    let r = std::panic::catch_unwind(|| {
                        let mut s = common::tls_connect(to);
                        s.write_all(b"ping").unwrap();
                        let mut b = [0u8; 4];
                        s.read_exact(&mut b).unwrap();
                        b == *b"ping"
                    });
                    match r {
                        Ok(true) => ok.fetch_add(1, Relaxed),
                        _ => failed.fetch_add(1, Relaxed),
                    };
                }
            })
        })
        .collect();
    for _ in 0..15 {
        thread::sleep(Duration::from_millis(250));
        p.signal(1);
    }
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let reloads = p
        .errs
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("Reloading configuration."))
        .count();
    assert!(reloads >= 10, "the reloads happened: {reloads}");
    assert_eq!(
        failed.load(Relaxed),
        0,
        "handshakes failed across reloads ({} ok)",
        ok.load(Relaxed)
    );
    assert!(
        ok.load(Relaxed) > 100,
        "the storm ran: {} handshakes",
        ok.load(Relaxed)
    );
}

/// 500,000 short connections (connect, one byte each way, close) in a bounded loop, then
/// the proxy's descriptors and RSS are back at their baseline: nothing leaks per session.
#[test]
fn churn_500k_leaves_no_leak() {
    const TOTAL: usize = 500_000;
    const LANES: usize = 32;
    let cfg = "global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen li\n  bind 127.0.180.1:24000\n  server s1 127.0.180.2:24001\n";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let echo = rt
        .block_on(tokio::net::TcpListener::bind("127.0.180.2:24001"))
        .unwrap();
    let to = addr("127.0.180.1:24000");
    let p = start(Which::Haproxide, "churn500k", cfg, to);
    let pid = p.child.id();
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut fd0 = 0;
    let mut rss0 = 0;
    let t0 = Instant::now();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        tokio::spawn(async move {
            while let Ok((mut c, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 64];
                    while let Ok(n) = c.read(&mut b).await {
                        if n == 0 || c.write_all(&b[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let one = move |src: std::net::IpAddr| async move {
            let s = tokio::net::TcpSocket::new_v4()?;
            s.bind(SocketAddr::new(src, 0))?;
            let mut c = s.connect(to).await?;
            c.write_all(b"x").await?;
            let mut b = [0u8; 1];
            c.read_exact(&mut b).await?;
            std::io::Result::Ok(())
        };
        // Warm up, then take the baseline.
        for i in 0..2000 {
            let _ = one(std::net::IpAddr::from([127, 0, 181, 1 + (i % 200) as u8])).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        fd0 = common::fds(pid);
        rss0 = common::rss_kb(pid);
        let lanes: Vec<_> = (0..LANES)
            .map(|lane| {
                let (done, failed) = (done.clone(), failed.clone());
                tokio::spawn(async move {
                    let mut n = lane;
                    while n < TOTAL && t0.elapsed() < Duration::from_secs(300) {
                        let src = std::net::IpAddr::from([
                            127,
                            0,
                            182 + (n % 4) as u8,
                            1 + (n / 4 % 250) as u8,
                        ]);
                        match tokio::time::timeout(Duration::from_secs(5), one(src)).await {
                            Ok(Ok(())) => done.fetch_add(1, Relaxed),
                            _ => failed.fetch_add(1, Relaxed),
                        };
                        n += LANES;
                    }
                })
            })
            .collect();
        for l in lanes {
            l.await.unwrap();
        }
    });
    let took = t0.elapsed();
    assert_eq!(failed.load(Relaxed), 0, "no connection failed");
    assert_eq!(
        done.load(Relaxed),
        TOTAL,
        "all done within the bound ({took:?})"
    );
    assert!(
        wait_until(Duration::from_secs(5), || common::fds(pid) <= fd0 + 2),
        "descriptors back to baseline: {fd0} -> {}",
        common::fds(pid)
    );
    let rss = common::rss_kb(pid);
    assert!(
        rss < rss0 + 4 * 1024,
        "no leak after {TOTAL} sessions: {rss0} kB -> {rss} kB"
    );
    eprintln!("churn: {TOTAL} sessions in {took:?}, RSS {rss0} -> {rss} kB");
}
