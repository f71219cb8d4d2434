//! Master-worker mode as Debian's unit runs it (`-Ws -f … -p …`): systemd notifications,
//! reload through the master with sessions open, an invalid reload, SIGTERM, and a killed
//! worker taking the master down as haproxy's does. Loopback only; every process stopped
//! by PID.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{Backend, Which};

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn echo(to: &str, msg: &[u8]) -> Vec<u8> {
    common::roundtrip(to.parse().unwrap(), msg)
}

fn children(pid: u32) -> Vec<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    s.split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn master_worker_like_debians_unit() {
    let _echo = Backend::echo("127.0.150.2:24001");
    let dir = std::env::temp_dir().join(format!("haproxide-mw-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("mw.cfg");
    let good = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\nlisten li\n  bind 127.0.150.1:24000\n  server s1 127.0.150.2:24001\n";
    std::fs::write(&cfg, good).unwrap();
    let sock_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&sock_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let pidfile = dir.join("mw.pid");
    let master = Command::new(Which::Haproxide.path())
        .args(["-Ws", "-f"])
        .arg(&cfg)
        .arg("-p")
        .arg(&pidfile)
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mpid = master.id();
    // Stopped (with its workers) by the master's PID even if an assertion fails.
    struct Stop(u32);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = common::kill(self.0, nix::libc::SIGTERM);
        }
    }
    let _stop = Stop(mpid);
    let next = || {
        let mut b = [0u8; 256];
        let n = notify.recv(&mut b).expect("a notification");
        String::from_utf8_lossy(&b[..n]).into_owned()
    };
    assert_eq!(next(), "RELOADING=1\nSTATUS=Starting.");
    assert_eq!(next(), format!("READY=1\nMAINPID={mpid}\nSTATUS=Ready."));
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        mpid.to_string(),
        "the pid file holds the master"
    );
    assert_eq!(echo("127.0.150.1:24000", b"one"), b"one");
    let first_worker = children(mpid);
    assert_eq!(first_worker.len(), 1);

    // Reload through the master with a session open: it keeps working.
    let mut open = TcpStream::connect("127.0.150.1:24000").unwrap();
    open.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    common::kill(mpid, nix::libc::SIGUSR2).unwrap();
    assert_eq!(next(), "RELOADING=1\nSTATUS=Reloading the configuration.");
    assert_eq!(
        next(),
        format!("READY=1\nMAINPID={mpid}\nSTATUS=Ready (configuration reloaded).")
    );
    assert_eq!(echo("127.0.150.1:24000", b"two"), b"two");
    open.write_all(b"kept").unwrap();
    let mut b = [0u8; 4];
    open.read_exact(&mut b).unwrap();
    assert_eq!(
        &b, b"kept",
        "a session opened before the reload survives it"
    );
    drop(open);

    // An invalid configuration: the running worker is untouched.
    std::fs::write(&cfg, "listen li\n  bogus\n").unwrap();
    common::kill(mpid, nix::libc::SIGHUP).unwrap();
    assert_eq!(next(), "RELOADING=1\nSTATUS=Reloading the configuration.");
    assert_eq!(
        next(),
        format!("READY=1\nMAINPID={mpid}\nSTATUS=Reload failed: the previous configuration keeps serving.")
    );
    assert_eq!(echo("127.0.150.1:24000", b"three"), b"three");
    std::fs::write(&cfg, good).unwrap();

    // SIGTERM: workers stop, the master exits 0.
    common::kill(mpid, nix::libc::SIGTERM).unwrap();
    assert_eq!(next(), "STOPPING=1\nSTATUS=Stopping.");
    let out = master.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "New worker (",
        "Loading success.",
        "Reloading HAProxy",
        "Loading failure!",
        "All workers exited. Exiting... (0)",
    ] {
        assert!(err.contains(want), "missing '{want}' in:\n{err}");
    }
}

#[test]
fn debian_stock_config_runs_as_is_under_the_master() {
    // examples/guide.cfg = Debian's stock haproxy.cfg + the guide, as Debian's unit runs it
    // (-Ws -f … -p …); binds moved to 127.0.0.151 so tests can run side by side.
    let dir = std::env::temp_dir().join(format!("haproxide-stock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/guide.cfg"))
        .unwrap();
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, text.replace("bind *:", "bind 127.0.0.151:")).unwrap();
    let sock_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&sock_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut master = Command::new(Which::Haproxide.path())
        .args(["-Ws", "-f"])
        .arg(&cfg)
        .args(["-p"])
        .arg(dir.join("haproxy.pid"))
        .args(["-S", "/run/haproxy-master.sock"])
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mpid = master.id();
    struct Stop(u32);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = common::kill(self.0, nix::libc::SIGTERM);
        }
    }
    let _stop = Stop(mpid);
    let mut b = [0u8; 256];
    let n = notify.recv(&mut b).unwrap();
    assert_eq!(&b[..n], b"RELOADING=1\nSTATUS=Starting.");
    let n = notify.recv(&mut b).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&b[..n]),
        format!("READY=1\nMAINPID={mpid}\nSTATUS=Ready.")
    );
    assert!(
        TcpStream::connect("127.0.0.151:1883").is_ok()
            && TcpStream::connect("127.0.0.151:18083").is_ok()
    );
    // The master keeps root; the worker runs as haproxy inside /var/lib/haproxy.
    let w = children(mpid)[0];
    let uid_of = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    let haproxy_uid = haproxide::config::parse::lookup_id("/etc/passwd", "haproxy")
        .expect("the haproxy user (installed with Debian's haproxy package)");
    assert_eq!(uid_of(mpid), "0");
    assert_eq!(uid_of(w), haproxy_uid.to_string());
    assert_eq!(
        std::fs::read_link(format!("/proc/{w}/root")).unwrap(),
        std::path::Path::new("/var/lib/haproxy")
    );
    // The stock `stats socket /run/haproxy/admin.sock mode 660 level admin` is the worker's.
    use std::os::unix::fs::PermissionsExt;
    let sock = std::path::Path::new("/run/haproxy/admin.sock");
    let meta = std::fs::metadata(sock).expect("the stock stats socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    let mut c = std::os::unix::net::UnixStream::connect(sock).unwrap();
    c.write_all(b"show info\n").unwrap();
    let mut info = String::new();
    c.read_to_string(&mut info).unwrap();
    assert!(info.contains(&format!("\nPid: {w}\n")), "{info}");
    // The master CLI at Debian's -S path: show proc, then a reload through it.
    let ask_master = |cmd: &str| {
        let mut c = std::os::unix::net::UnixStream::connect("/run/haproxy-master.sock")
            .expect("the master CLI socket (-S)");
        c.write_all(format!("{cmd}\n").as_bytes()).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        out
    };
    let procs = ask_master("show proc");
    let line_of = |text: &str, pid: u32| {
        text.lines()
            .find(|l| l.starts_with(&pid.to_string()))
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
    };
    assert_eq!(
        line_of(&procs, mpid),
        Some(format!("{mpid} master 0")),
        "{procs}"
    );
    assert_eq!(line_of(&procs, w), Some(format!("{w} worker 0")), "{procs}");
    ask_master("reload");
    wait_for("the CLI reload, counted", Duration::from_secs(5), || {
        ask_master("show proc").contains("master          1 [failed: 0]")
    });
    let procs = ask_master("show proc");
    let serving = procs
        .lines()
        .skip_while(|l| !l.starts_with("# workers"))
        .nth(1)
        .unwrap_or("");
    assert!(
        serving.contains(" worker ") && !serving.starts_with(&w.to_string()),
        "a new worker serves: {procs}"
    );
    drop(_stop);
    let st = master.wait().unwrap();
    assert_eq!(st.code(), Some(0), "SIGTERM: the master exits 0");
}

/// A child killed by PID when dropped, also when an assertion fails midway.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client connecting again and again (bounded by `secs`) until told to stop; counts
/// connections that fail or do not echo.
fn keep_connecting(
    to: &'static str,
    secs: u64,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::sync::Arc<std::sync::atomic::AtomicU32>,
    thread::JoinHandle<()>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let (s2, f2) = (stop.clone(), failures.clone());
    let loader = thread::spawn(move || {
        let t0 = Instant::now();
        while !s2.load(std::sync::atomic::Ordering::Relaxed)
            && t0.elapsed() < Duration::from_secs(secs)
        {
            if common::roundtrip(to.parse().unwrap(), b"x") != b"x" {
                f2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            thread::sleep(Duration::from_millis(3));
        }
    });
    (stop, failures, loader)
}

#[test]
fn sf_handover_refuses_no_connection() {
    // Old process serving; a new one started with -sf takes over the same port, the old
    // one finishes its session and exits; connects never fail meanwhile.
    let _echo = Backend::echo("127.0.152.2:24001");
    let dir = std::env::temp_dir().join(format!("haproxide-sf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("sf.cfg");
    std::fs::write(&cfg, "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\nlisten li\n  bind 127.0.152.1:24000\n  server s1 127.0.152.2:24001\n").unwrap();
    let mut old = Kill(
        Command::new(Which::Haproxide.path())
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("old listener", Duration::from_secs(5), || {
        TcpStream::connect("127.0.152.1:24000").is_ok()
    });
    let mut held = TcpStream::connect("127.0.152.1:24000").unwrap();
    held.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let (stop, failures, loader) = keep_connecting("127.0.152.1:24000", 10);
    thread::sleep(Duration::from_millis(200));
    let _new = Kill(
        Command::new(Which::Haproxide.path())
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .arg("-sf")
            .arg(old.0.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    thread::sleep(Duration::from_millis(500));
    // The old process keeps its established session until it ends, then exits 0.
    held.write_all(b"old").unwrap();
    let mut b = [0u8; 3];
    held.read_exact(&mut b).unwrap();
    drop(held);
    let t0 = Instant::now();
    let code = loop {
        if let Some(st) = old.0.try_wait().unwrap() {
            break st.code();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "old process did not finish"
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    loader.join().unwrap();
    assert_eq!(
        failures.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "refused or failed connections during the handover"
    );
}

/// The inode of the listening TCP socket `pid` holds on `port` (from /proc/net/tcp).
fn listening_inode(pid: u32, port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let want = format!(":{port:04X}");
    let inodes: Vec<u64> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1)?.ends_with(&want) && f.get(3)? == &"0A").then(|| f.get(9)?.parse().ok())?
        })
        .collect();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    fds.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|t| {
            t.to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse::<u64>()
                .ok()
        })
        .find(|i| inodes.contains(i))
}

#[test]
fn x_takes_the_listening_socket_from_haproxy_then_from_haproxide() {
    // haproxy with `noreuseport`: nobody else can bind its port, so a new process serves
    // only with the very socket it got over the stats socket (-x). Then haproxide hands it
    // on to another haproxide the same way. Connects never fail meanwhile.
    let _echo = Backend::echo("127.0.153.2:24001");
    let dir = std::env::temp_dir().join(format!("haproxide-x-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let body = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\nlisten li\n  bind 127.0.153.1:24000\n  server s1 127.0.153.2:24001\n";
    let sock = |n: &str| dir.join(format!("{n}.sock"));
    let cfg = |n: &str, extra: &str| {
        let p = dir.join(format!("{n}.cfg"));
        std::fs::write(
            &p,
            format!(
                "global\n{extra}  stats socket {} mode 600 level admin expose-fd listeners\n{body}",
                sock(n).display()
            ),
        )
        .unwrap();
        p
    };
    let mut old = Kill(
        Command::new(Which::Haproxy.path())
            .arg("-db")
            .arg("-f")
            .arg(cfg("a", "  noreuseport\n"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("haproxy listening", Duration::from_secs(5), || {
        TcpStream::connect("127.0.153.1:24000").is_ok() && sock("a").exists()
    });
    let inode = listening_inode(old.0.id(), 24000).expect("haproxy's listening socket");
    let (stop, failures, loader) = keep_connecting("127.0.153.1:24000", 20);
    thread::sleep(Duration::from_millis(200));
    // haproxy -> haproxide, then haproxide -> haproxide.
    let mut newest = None;
    for (from, to) in [("a", "b"), ("b", "c")] {
        let new = Kill(
            Command::new(Which::Haproxide.path())
                .arg("-db")
                .arg("-f")
                .arg(cfg(to, ""))
                .arg("-x")
                .arg(sock(from))
                .arg("-sf")
                .arg(old.0.id().to_string())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join(format!("{to}.err"))).unwrap())
                .spawn()
                .unwrap(),
        );
        let t0 = Instant::now();
        let code = loop {
            if let Some(st) = old.0.try_wait().unwrap() {
                break st.code();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "{from} did not finish; {to} said {:?}",
                std::fs::read_to_string(dir.join(format!("{to}.err")))
            );
            thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(code, Some(0), "{from} exits 0 after handing over");
        assert_eq!(
            listening_inode(new.0.id(), 24000),
            Some(inode),
            "{to} serves on the socket it was handed, not a new one"
        );
        thread::sleep(Duration::from_millis(200));
        old = new;
        newest = Some(old.0.id());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    loader.join().unwrap();
    assert_eq!(
        failures.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "refused or failed connections during the handovers"
    );
    assert!(newest.is_some());
    drop(old);
    // No old process at that path: both say so and refuse to start.
    let mut said = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let out = Command::new(w.path())
            .arg("-db")
            .arg("-f")
            .arg(cfg("d", ""))
            .arg("-x")
            .arg(dir.join("none.sock"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.contains("NOTICE"))
            .map(|l| {
                l.split_once(") : ")
                    .map_or(l.to_string(), |x| x.1.to_string())
            })
            .collect::<Vec<_>>();
        said.push((out.status.code(), text));
    }
    assert_eq!(said[1], said[0]);
    assert_eq!(said[0].0, Some(1));
}

/// The master's own messages for a reload, a soft stop, or a SIGTERM: tags and words, PIDs
/// masked; the workers' "Proxy … stopped" lines and haproxy's version notices, whose place
/// among the master's lines depends on scheduling, are left out.
fn master_messages(which: Which, net: u8, signals: &[i32]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!(
        "haproxide-mwmsg-{}-{which:?}-{net}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("mw.cfg");
    let front = format!("127.0.{net}.1:24010");
    std::fs::write(
        &cfg,
        format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind {front}\n  server s1 127.0.{net}.2:24011\n"),
    )
    .unwrap();
    let mut master = Command::new(which.path())
        .args(["-W", "-f"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mpid = master.id();
    common::wait_port(&front);
    for &sig in signals {
        thread::sleep(Duration::from_millis(500));
        // A negative signal goes to the (only) worker instead of the master.
        let to = if sig < 0 { children(mpid)[0] } else { mpid };
        common::kill(to, sig.abs()).unwrap();
        if sig == nix::libc::SIGUSR2 {
            // The new worker is up once the master has two children (old, new) or one new.
            thread::sleep(Duration::from_millis(1000));
        }
    }
    let mut status = None;
    wait_for("the master to exit", Duration::from_secs(10), || {
        status = master.try_wait().unwrap();
        status.is_some()
    });
    let mut err = String::new();
    master
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let code = format!("exit status {:?}", status.and_then(|s| s.code()));
    std::iter::once(code)
        .chain(err.lines().map(str::to_string))
        .filter(|l| {
            !l.contains("Proxy ") && !l.contains("version is") && !l.contains("path to executable")
        })
        .map(|l| {
            // "[TAG]    (pid) : text (pid)": mask every number in parentheses.
            let mut s = String::new();
            let mut in_num = false;
            for c in l.chars() {
                if c.is_ascii_digit() {
                    if !in_num {
                        s.push('N');
                    }
                    in_num = true;
                } else {
                    in_num = false;
                    s.push(c);
                }
            }
            s
        })
        .collect()
}

#[test]
fn master_messages_are_haproxys() {
    for (i, signals) in [
        vec![nix::libc::SIGUSR2, nix::libc::SIGUSR1],
        vec![nix::libc::SIGTERM],
        // The worker dies: haproxy's master stops everything and exits with its status.
        vec![-nix::libc::SIGKILL],
    ]
    .iter()
    .enumerate()
    {
        let (hn, on) = [(208, 209), (210, 211), (252, 253)][i];
        let want = master_messages(Which::Haproxy, hn, signals);
        assert!(
            want.iter().any(|l| l.contains("All workers exited")),
            "{want:?}"
        );
        let got = master_messages(Which::Haproxide, on, signals);
        assert_eq!(got, want, "signals {signals:?}");
    }
}

/// `-sf` names processes running when the master starts: its first worker signals them,
/// a worker started later (by a reload) must not (those pids may belong to others by
/// then).
#[test]
fn only_the_first_worker_gets_sf() {
    let dir = std::env::temp_dir().join(format!("haproxide-mwsf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("mw.cfg");
    let front = "127.0.212.1:24012";
    std::fs::write(
        &cfg,
        format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind {front}\n  server s1 127.0.212.2:24013\n"),
    )
    .unwrap();
    // The "old process": a sleep that SIGUSR1 ends.
    let mut old = Command::new("sleep").arg("30").spawn().unwrap();
    let mut master = Command::new(Which::Haproxide.path())
        .args(["-W", "-f"])
        .arg(&cfg)
        .arg("-sf")
        .arg(old.id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mpid = master.id();
    common::wait_port(front);
    wait_for(
        "the old process to get SIGUSR1",
        Duration::from_secs(5),
        || old.try_wait().unwrap().is_some(),
    );
    let cmdline = |pid: u32| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .split(|b| *b == 0)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect::<Vec<_>>()
    };
    wait_for("one worker", Duration::from_secs(5), || {
        children(mpid).len() == 1
    });
    let first = children(mpid)[0];
    assert!(
        cmdline(first).contains(&"-sf".to_string()),
        "{:?}",
        cmdline(first)
    );
    // A worker started later (here by a reload) does not get them.
    common::kill(mpid, nix::libc::SIGUSR2).unwrap();
    wait_for("a new worker", Duration::from_secs(5), || {
        children(mpid).iter().any(|n| *n != first)
    });
    let second = *children(mpid).iter().find(|n| **n != first).unwrap();
    let words = cmdline(second);
    assert!(
        !words.is_empty() && !words.contains(&"-sf".to_string()),
        "{words:?}"
    );
    common::kill(mpid, nix::libc::SIGTERM).unwrap();
    wait_for("the master to exit", Duration::from_secs(10), || {
        master.try_wait().unwrap().is_some()
    });
    let _ = std::fs::remove_dir_all(&dir);
}
