//! Reload on SIGHUP/SIGUSR2 under load: no refused or reset connection, long-lived
//! sessions keep echoing, new sessions follow the new configuration at once, an invalid
//! configuration leaves the old one serving, and server health survives (no flap).
//! Bounded in count and time; loopback only.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{Backend, Which};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A server that answers every connection with its tag, then echoes.
fn tagged(a: &str, tag: &'static [u8]) -> Backend {
    Backend::with(a, move |mut c, rec| {
        rec.lock().unwrap().push(Vec::new());
        if c.write_all(tag).is_err() {
            return;
        }
        let mut b = [0u8; 256];
        while let Ok(n) = c.read(&mut b) {
            if n == 0 || c.write_all(&b[..n]).is_err() {
                break;
            }
        }
    })
}

fn cfg(server: &str, extra: &str) -> String {
    format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n\
listen li\n  bind 127.0.130.1:24000\n  server s1 {server}\n{extra}"
    )
}

/// Which tag a new connection gets.
fn tag_of(to: &str) -> Option<u8> {
    let mut c = TcpStream::connect(to).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut b = [0u8; 1];
    c.read_exact(&mut b).ok()?;
    Some(b[0])
}

#[test]
fn reload_storm_under_load_loses_nothing() {
    let _a = tagged("127.0.130.2:24001", b"A");
    let _b = tagged("127.0.130.3:24001", b"B");
    let dir = std::env::temp_dir().join(format!("haproxide-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.cfg");
    let good_a = cfg("127.0.130.2:24001", "");
    let good_b = cfg(
        "127.0.130.3:24001",
        "  listen extra\n  bind 127.0.130.1:24002\n  server s 127.0.130.3:24001\n",
    );
    let bad = "defaults\n  mode tcp\nlisten li\n  bind 127.0.130.1:24000\n  bogus-keyword\n";
    std::fs::write(&path, &good_a).unwrap();
    let mut p = std::process::Command::new(Which::Haproxide.path())
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = p.id();
    let t0 = Instant::now();
    while TcpStream::connect("127.0.130.1:24000").is_err() {
        assert!(t0.elapsed() < Duration::from_secs(5));
        thread::sleep(Duration::from_millis(20));
    }
    // 200 long-lived sessions opened on config A.
    let mut long: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut c = TcpStream::connect("127.0.130.1:24000").unwrap();
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            assert_eq!(&b, b"A");
            c
        })
        .collect();
    // Short connections in a loop while reloads happen: every one must be served.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let loaders: Vec<_> = (0..2)
        .map(|_| {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            thread::spawn(move || {
                let t0 = Instant::now();
                while !stop.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(30) {
                    match tag_of("127.0.130.1:24000") {
                        Some(_) => ok.fetch_add(1, Ordering::Relaxed),
                        None => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    // Two loaders at ~150 connections/s each.
                    thread::sleep(Duration::from_millis(6));
                }
            })
        })
        .collect();
    // 50 reloads: valid changed, invalid, identical, in turn.
    for i in 0..50 {
        let text = match i % 3 {
            0 => &good_b,
            1 => bad,
            _ => &good_b,
        };
        std::fs::write(&path, text).unwrap();
        let sig = if i % 2 == 0 {
            nix::libc::SIGHUP
        } else {
            nix::libc::SIGUSR2
        };
        common::kill(pid, sig).unwrap();
        thread::sleep(Duration::from_millis(120));
        if i % 3 == 0 {
            // After a valid reload, new sessions use the new backend at once.
            assert_eq!(tag_of("127.0.130.1:24000"), Some(b'B'), "reload {i}");
        }
        if i % 3 == 1 {
            // After an invalid one, the previous configuration still serves.
            assert_eq!(
                tag_of("127.0.130.1:24000"),
                Some(b'B'),
                "invalid reload {i}"
            );
        }
    }
    std::fs::write(&path, &good_a).unwrap();
    common::kill(pid, nix::libc::SIGHUP).unwrap();
    thread::sleep(Duration::from_millis(200));
    assert_eq!(tag_of("127.0.130.1:24000"), Some(b'A'));
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.join().unwrap();
    }
    // The long-lived sessions opened before any reload still echo.
    for (i, c) in long.iter_mut().enumerate() {
        c.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b)
            .unwrap_or_else(|e| panic!("long-lived session {i}: {e}"));
        assert_eq!(&b, b"ping");
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "refused or reset connections during the storm ({} served)",
        ok.load(Ordering::Relaxed)
    );
    assert!(ok.load(Ordering::Relaxed) > 50);
    // The listener added by config B was opened then closed again.
    assert!(
        TcpStream::connect_timeout(&addr("127.0.130.1:24002"), Duration::from_millis(300)).is_err()
    );
    let _ = p.kill();
    let out = p.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Loading failure! The previous configuration keeps serving."),
        "{err}"
    );
    assert!(err.contains("unknown keyword 'bogus-keyword'"), "{err}");
    assert!(
        err.contains("Reload complete: 1 listeners kept, 1 opened, 0 closed."),
        "{err}"
    );
    assert!(
        err.contains("Reload complete: 1 listeners kept, 0 opened, 1 closed."),
        "{err}"
    );
}

#[test]
fn reload_keeps_server_health() {
    // s2 is dead: DOWN before the reload, and still DOWN after it without a new DOWN line.
    let _a = tagged("127.0.131.2:24001", b"A");
    let dir = std::env::temp_dir().join(format!("haproxide-reload-h-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("h.cfg");
    let text = |extra: &str| {
        format!(
            "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen li\n  bind 127.0.131.1:24000\n  server s1 127.0.131.2:24001 check inter 200\n  server s2 127.0.131.3:24009 check inter 200\n{extra}"
        )
    };
    std::fs::write(&path, text("")).unwrap();
    let p = common::start_file(Which::Haproxide, &path, addr("127.0.131.1:24000"));
    thread::sleep(Duration::from_millis(600));
    let downs = |p: &common::Proxy| {
        p.errs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("li/s2 is DOWN"))
            .count()
    };
    assert_eq!(downs(&p), 1);
    std::fs::write(&path, text("  timeout queue 1s\n")).unwrap();
    p.signal(1);
    thread::sleep(Duration::from_millis(800));
    let errs = p.errs.lock().unwrap().join("\n");
    assert!(
        errs.contains("Reload complete: 1 listeners kept, 0 opened, 0 closed."),
        "{errs}"
    );
    assert_eq!(downs(&p), 1, "no DOWN/UP flap on reload: {errs}");
    assert!(
        !errs.contains("li/s2 is UP") && !errs.contains("li/s1 is DOWN"),
        "{errs}"
    );
    // Traffic still avoids the dead server.
    for _ in 0..4 {
        assert_eq!(tag_of("127.0.131.1:24000"), Some(b'A'));
    }
}

#[test]
fn reload_succeeds_near_the_fd_limit() {
    // ulimit -n 300: maxconn is derived as (300 - 100 reserved) / 2 = 100; with 100
    // sessions open the process still has the descriptors a reload needs.
    let _a = tagged("127.0.132.2:24001", b"A");
    let _b = tagged("127.0.132.3:24001", b"B");
    let dir = std::env::temp_dir().join(format!("haproxide-reload-fd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f.cfg");
    let text = |srv: &str| {
        format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\nlisten li\n  bind 127.0.132.1:24000\n  server s1 {srv}\n")
    };
    std::fs::write(&path, text("127.0.132.2:24001")).unwrap();
    let mut p = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 300 && exec {} -db -f {}",
            Which::Haproxide.path(),
            path.display()
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while TcpStream::connect("127.0.132.1:24000").is_err() {
        assert!(t0.elapsed() < Duration::from_secs(5));
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(100));
    let mut held: Vec<TcpStream> = Vec::new();
    for _ in 0..99 {
        let mut c = TcpStream::connect("127.0.132.1:24000").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        held.push(c);
    }
    std::fs::write(&path, text("127.0.132.3:24001")).unwrap();
    common::kill(p.id(), nix::libc::SIGHUP).unwrap();
    thread::sleep(Duration::from_millis(400));
    drop(held.pop());
    thread::sleep(Duration::from_millis(100));
    assert_eq!(
        tag_of("127.0.132.1:24000"),
        Some(b'B'),
        "the reload took effect at the fd limit"
    );
    for c in held.iter_mut().take(5) {
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
    }
    let _ = p.kill();
    let out = p.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Reload complete: 1 listeners kept, 0 opened, 0 closed."),
        "{err}"
    );
}

#[test]
fn hard_stop_after_bounds_sessions_of_the_old_configuration() {
    let _a = tagged("127.0.133.2:24001", b"A");
    let dir = std::env::temp_dir().join(format!("haproxide-reload-hsa-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("h.cfg");
    std::fs::write(
        &path,
        "global\n  hard-stop-after 500ms\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\nlisten li\n  bind 127.0.133.1:24000\n  server s1 127.0.133.2:24001\n",
    )
    .unwrap();
    let p = common::start_file(Which::Haproxide, &path, addr("127.0.133.1:24000"));
    let mut old = TcpStream::connect("127.0.133.1:24000").unwrap();
    old.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut b = [0u8; 1];
    old.read_exact(&mut b).unwrap();
    p.signal(1);
    let t0 = Instant::now();
    // The old configuration's session is closed once hard-stop-after has passed.
    let mut rest = Vec::new();
    let _ = old.read_to_end(&mut rest);
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_millis(2500),
        "{waited:?}"
    );
    // New sessions are served by the new configuration meanwhile and after.
    assert_eq!(tag_of("127.0.133.1:24000"), Some(b'A'));
}
