//! Process set-up as HAProxy does it: `daemon`/`-D` with a pid file, and privileges dropped
//! after binding (`chroot`, `user`, `group`). Needs root (CI runs as root).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{Backend, Which};

fn status_field(pid: u32, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .unwrap_or("")
        .to_string()
}

fn wait_listening(a: &str) {
    let t0 = Instant::now();
    while TcpStream::connect(a).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(5), "{a} never listened");
        thread::sleep(Duration::from_millis(20));
    }
}

fn echo_once(a: &str) -> Vec<u8> {
    common::roundtrip(a.parse().unwrap(), b"hello")
}

#[test]
fn privileges_are_dropped_after_binding() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test drops privileges and needs root (CI runs as root)"
    );
    let _echo = Backend::echo("127.0.140.2:24001");
    let root = std::env::temp_dir().join(format!("haproxide-chroot-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let dir = std::env::temp_dir().join(format!("haproxide-priv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("p.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n  chroot {}\n  user nobody\n  group nogroup\n  stats socket {}/admin.sock mode 660 level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.140.1:24000\n  server s1 127.0.140.2:24001\n",
            root.display(),
            dir.display()
        ),
    )
    .unwrap();
    let mut p = Command::new(Which::Haproxide.path())
        .arg("-db")
        .arg("-f")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening("127.0.140.1:24000");
    let pid = p.id();
    assert_eq!(
        status_field(pid, "Uid:").split_whitespace().nth(1),
        Some("65534"),
        "{}",
        status_field(pid, "Uid:")
    );
    assert_eq!(
        status_field(pid, "Gid:").split_whitespace().nth(1),
        Some("65534"),
        "{}",
        status_field(pid, "Gid:")
    );
    let proc_root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(proc_root, root.canonicalize().unwrap());
    assert_eq!(
        echo_once("127.0.140.1:24000"),
        b"hello",
        "still serves after dropping privileges"
    );
    // The stats socket was made before the chroot, with the configured mode, and answers.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let sock = dir.join("admin.sock");
    let meta = std::fs::metadata(&sock).expect("the stats socket exists");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(
        (meta.uid(), meta.gid()),
        (0, 0),
        "created by root, as haproxy does"
    );
    let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    c.write_all(b"show info\n").unwrap();
    let mut info = String::new();
    c.read_to_string(&mut info).unwrap();
    assert!(info.contains(&format!("Pid: {pid}\n")), "{info}");
    // Outside the chroot nothing is reachable: the process's root is the chroot itself.
    assert!(!std::path::Path::new(&format!("/proc/{pid}/root{}", dir.display())).exists());
    let _ = p.kill();
    let _ = p.wait();
}

#[test]
fn daemon_detaches_and_writes_its_pid() {
    let _echo = Backend::echo("127.0.141.2:24001");
    let dir = std::env::temp_dir().join(format!("haproxide-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("d.cfg");
    let pidfile = dir.join("h.pid");
    std::fs::write(&cfg, "global\n  daemon\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.141.1:24000\n  server s1 127.0.141.2:24001\n").unwrap();
    let st = Command::new(Which::Haproxide.path())
        .arg("-f")
        .arg(&cfg)
        .arg("-p")
        .arg(&pidfile)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "the parent exits 0 once detached");
    wait_listening("127.0.141.1:24000");
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Stopped by its PID even if an assertion below fails.
    struct KillPid(u32);
    impl Drop for KillPid {
        fn drop(&mut self) {
            let _ = common::kill(self.0, nix::libc::SIGTERM);
        }
    }
    let _guard = KillPid(pid);
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the pid file names the running daemon"
    );
    assert_eq!(echo_once("127.0.141.1:24000"), b"hello");
    // Stop it by the PID it wrote.
    common::kill(pid, nix::libc::SIGTERM).unwrap();
    let t0 = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !status_field(pid, "State:").contains('Z')
    {
        assert!(t0.elapsed() < Duration::from_secs(5), "daemon did not stop");
        thread::sleep(Duration::from_millis(20));
    }
}

/// CPU time (user + system, in clock ticks) process `pid` uses over `d`.
fn cpu_ticks_over(pid: i32, d: Duration) -> u64 {
    let ticks = || {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
    };
    let t0 = ticks();
    thread::sleep(d);
    ticks() - t0
}

/// `busy-polling` keeps the idle worker polling (a busy core, as HAProxy's zero-timeout
/// poller), traffic flows as usual, `no busy-polling` undoes it, and a soft stop turns it
/// off while the remaining sessions finish.
#[test]
fn busy_polling_spins_until_a_soft_stop() {
    let _echo = Backend::echo("127.0.142.2:24001");
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    let front = "127.0.142.1:24000";
    let body = format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind {front}\n  server s1 127.0.142.2:24001\n");
    // Undone on the next line: idle as usual.
    let p = common::start(
        Which::Haproxide,
        "nobusy",
        &format!("global\n  nbthread 1\n  busy-polling\n  no busy-polling\n{body}"),
        front.parse().unwrap(),
    );
    assert_eq!(echo_once(front), b"hello");
    let idle = cpu_ticks_over(p.pid(), Duration::from_secs(1));
    assert!(idle * 10 <= hz, "{idle} ticks in 1 s without busy polling");
    drop(p);
    thread::sleep(Duration::from_millis(200));

    let mut p = common::start(
        Which::Haproxide,
        "busy",
        &format!("global\n  nbthread 1\n  busy-polling\n{body}"),
        front.parse().unwrap(),
    );
    assert_eq!(echo_once(front), b"hello");
    let busy = cpu_ticks_over(p.pid(), Duration::from_secs(1));
    assert!(busy * 5 >= hz, "only {busy} ticks in 1 s with busy polling");
    // A session held across the soft stop keeps the process alive.
    let mut held = TcpStream::connect(front).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 1];
    held.write_all(b"x").unwrap();
    held.read_exact(&mut b).unwrap();
    p.signal(nix::libc::SIGUSR1);
    thread::sleep(Duration::from_millis(300));
    let stopping = cpu_ticks_over(p.pid(), Duration::from_secs(1));
    assert!(
        stopping * 10 <= hz,
        "{stopping} ticks in 1 s while stopping"
    );
    held.write_all(b"y").unwrap();
    held.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"y");
    drop(held);
    assert_eq!(p.wait_exit(Duration::from_secs(5)), Some(0));
}
