//! What must never weaken or leak, whatever a client, a syslog daemon or a bug does: a
//! stalled log socket does not stall traffic, a slow stats request is bounded, a session
//! that panics gives back everything it counted, and only a master hands listeners over.
//! Where haproxy has the same behaviour the two are run side by side.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{ask, start, Backend, Which};

fn info_field(info: &str, name: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .and_then(|v| v.trim().parse().ok())
}

/// A syslog socket whose reader has stopped (a hung rsyslog): once its queue is full every
/// further line is dropped and counted, and sessions go on at full speed.
fn stalled_syslog(which: Which, net: u8) -> (Duration, u64) {
    let dir =
        std::env::temp_dir().join(format!("haproxide-stall-{}-{which:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log.sock");
    let stats = dir.join("stats.sock");
    // Bound and never read.
    let _sink = UnixDatagram::bind(&log).unwrap();
    let front: SocketAddr = format!("127.0.{net}.1:24701").parse().unwrap();
    let be = Backend::echo(&format!("127.0.{net}.2:24702"));
    let cfg = format!(
        "global\n  log {} local0\n  stats socket {} level admin\n\
         defaults\n  mode tcp\n  log global\n  option tcplog\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n\
         frontend f\n  bind {front}\n  default_backend b\n\
         backend b\n  server s {}\n",
        log.display(),
        stats.display(),
        be.addr
    );
    let _p = start(which, &format!("stall-{net}"), &cfg, front);
    let t0 = Instant::now();
    // More lines than a Unix datagram queue holds (net.unix.max_dgram_qlen, 512 here).
    for i in 0..1500u32 {
        let mut c = TcpStream::connect(front).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(&i.to_be_bytes()).unwrap();
        let mut back = [0u8; 4];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("{which:?}: session {i} stalled: {e}"));
        assert_eq!(back, i.to_be_bytes());
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{which:?}: 60 s for {i} sessions"
        );
    }
    let took = t0.elapsed();
    thread::sleep(Duration::from_millis(200));
    let dropped = info_field(&ask(&stats, "show info"), "DroppedLogs").expect("DroppedLogs");
    let _ = std::fs::remove_dir_all(&dir);
    (took, dropped)
}

#[test]
fn a_stalled_syslog_socket_drops_lines_and_never_stalls_sessions() {
    for (which, net) in [(Which::Haproxy, 190), (Which::Haproxide, 191)] {
        let (_, dropped) = stalled_syslog(which, net);
        // 1,500 lines, at most 512 queued: the rest (and the probe's) were dropped.
        assert!(dropped >= 900, "{which:?}: DroppedLogs {dropped}");
    }
}

/// What a client that sends a request head slowly receives, and after how long.
fn slow_stats_request(which: Which, net: u8) -> (Vec<u8>, Duration) {
    let stats: SocketAddr = format!("127.0.{net}.1:24703").parse().unwrap();
    let cfg = format!(
        "defaults\n  mode http\n  timeout client 30s\n  timeout http-request 1s\n  timeout connect 5s\n  timeout server 5s\n\
         listen st\n  bind {stats}\n  stats enable\n  stats uri /\n"
    );
    let _p = start(which, &format!("slowstats-{net}"), &cfg, stats);
    let mut c = TcpStream::connect(stats).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t0 = Instant::now();
    c.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    // A header line every 300 ms: each read is quick, the whole head never ends.
    for _ in 0..20 {
        thread::sleep(Duration::from_millis(300));
        if c.write_all(b"X: y\r\n").is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    (out, t0.elapsed())
}

#[test]
fn a_dribbled_stats_request_gets_haproxys_408_at_timeout_http_request() {
    let (want, _) = slow_stats_request(Which::Haproxy, 192);
    let (got, took) = slow_stats_request(Which::Haproxide, 193);
    assert!(
        want.starts_with(b"HTTP/1.1 408 Request Time-out\r\n"),
        "haproxy: {}",
        String::from_utf8_lossy(&want)
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
    // One second of `timeout http-request`, not 30 s of `timeout client` per read.
    assert!(took < Duration::from_secs(4), "answered after {took:?}");
}

#[test]
fn a_panicking_session_gives_back_every_count() {
    let dir = std::env::temp_dir().join(format!("haproxide-panic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let stats = dir.join("stats.sock");
    let front: SocketAddr = "127.0.194.1:24704".parse().unwrap();
    // Records every connection it accepts.
    let be = Backend::with("127.0.194.2:24705", |c, rec| {
        rec.lock().unwrap().push(Vec::new());
        drop(c);
    });
    let cfg = format!(
        "global\n  stats socket {} level admin\n\
         defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n\
         frontend f\n  bind {front}\n  maxconn 100\n  default_backend b\n\
         backend b\n  server s {} maxconn 10\n",
        stats.display(),
        be.addr
    );
    std::fs::write(dir.join("t.cfg"), cfg).unwrap();
    let mut child = Command::new(Which::Haproxide.path())
        .args(["-db", "-f"])
        .arg(dir.join("t.cfg"))
        .env("HAPROXIDE_FAULT", "panic-after-connect")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_port(&front.to_string());
    thread::sleep(Duration::from_millis(300));
    let before = be.count();
    // More sessions than the server's maxconn: leaked slots would make the later ones
    // wait in the queue and time out instead of being connected (and then panicking).
    for _ in 0..30 {
        let mut c = TcpStream::connect(front).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = c.write_all(b"x");
        let mut b = [0u8; 1];
        // The panicking session closes the connection.
        let _ = c.read(&mut b);
    }
    thread::sleep(Duration::from_millis(300));
    let info = ask(&stats, "show info");
    assert_eq!(info_field(&info, "CurrConns"), Some(0), "{info}");
    let stat = ask(&stats, "show stat");
    let scur = |name: &str| common::stat_field(&stat, name, "scur");
    assert_eq!(
        (scur("FRONTEND"), scur("BACKEND"), scur("s")),
        ("0".into(), "0".into(), "0".into()),
        "{stat}"
    );
    // Every session was connected to the server: none was stuck in a queue.
    assert_eq!(be.count() - before, 30);
    // A soft stop waits for sessions: with none left it exits at once.
    common::kill(child.id(), nix::libc::SIGUSR1).unwrap();
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "{st}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "soft stop never finished"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn listener_descriptors_in_the_environment_alone_are_not_adopted() {
    let dir = std::env::temp_dir().join(format!("haproxide-envfds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let front: SocketAddr = "127.0.195.1:24706".parse().unwrap();
    let be = Backend::echo("127.0.195.2:24707");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n\
         frontend f\n  bind {front}\n  default_backend b\nbackend b\n  server s {}\n",
        be.addr
    );
    std::fs::write(dir.join("t.cfg"), cfg).unwrap();
    // Descriptor 1 (stdout) dressed up as the frontend's listener, and a "master" socket
    // that is no socket at all.
    let mut child = Command::new(Which::Haproxide.path())
        .args(["-db", "-f"])
        .arg(dir.join("t.cfg"))
        .env(
            "HAPROXIDE_LISTEN_FDS",
            format!("1\t{front}|v4v6=false|v6only=false|transparent=false\n"),
        )
        .env("HAPROXIDE_READY_FD", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let errs = child.stderr.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let l2 = lines.clone();
    thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(errs).lines().map_while(Result::ok) {
            l2.lock().unwrap().push(l);
        }
    });
    // It binds its own listener and serves.
    common::wait_port(&front.to_string());
    assert_eq!(common::roundtrip(front, b"ping"), b"ping");
    thread::sleep(Duration::from_millis(100));
    let text = lines.lock().unwrap().join("\n");
    assert!(
        text.contains("HAPROXIDE_LISTEN_FDS is set but this process was not started by a haproxide master: ignored."),
        "{text}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `maxconn 0` is "compute it", as when unset: both proxies serve (haproxide took none).
#[test]
fn global_maxconn_zero_is_computed_from_the_fd_limit() {
    for (which, net) in [(Which::Haproxy, 206), (Which::Haproxide, 207)] {
        let dir =
            std::env::temp_dir().join(format!("haproxide-mc0-{}-{which:?}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let stats = dir.join("stats.sock");
        let front: SocketAddr = format!("127.0.{net}.1:24720").parse().unwrap();
        let be = Backend::echo(&format!("127.0.{net}.2:24721"));
        let cfg = format!(
            "global\n  maxconn 0\n  stats socket {} level admin\n\
             defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n\
             listen l\n  bind {front}\n  server s {}\n",
            stats.display(),
            be.addr
        );
        let _p = start(which, &format!("mc0-{net}"), &cfg, front);
        assert_eq!(common::roundtrip(front, b"ping"), b"ping", "{which:?}");
        let maxconn = info_field(&ask(&stats, "show info"), "Maxconn").unwrap_or(0);
        assert!(maxconn > 1000, "{which:?}: Maxconn {maxconn}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
