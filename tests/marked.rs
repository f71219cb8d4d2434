//! `on-marked-down shutdown-sessions`, `on-marked-up shutdown-backup-sessions` and the
//! check `port`, compared with haproxy: checks go to a port the test opens and closes, and
//! what happens to an established session when its server changes state is the same.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

const DEFAULTS: &str = "defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 10s\n  timeout server 10s\n  timeout check 300ms\n";

/// Whether `c` is still served: a byte goes through and comes back.
fn alive(c: &mut TcpStream) -> bool {
    c.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    if c.write_all(b"?").is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    matches!(c.read(&mut b), Ok(1))
}

/// A check port that answers (accepts) until dropped.
fn check_port(addr: &str) -> TcpListener {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&addr.parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    s.listen(64).unwrap();
    s.into()
}

#[test]
fn marked_down_shuts_sessions_like_haproxy() {
    let data = Backend::echo("127.0.229.2:0");
    let mut out = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let mut got = Vec::new();
        for (i, opt) in ["", "on-marked-down shutdown-sessions"].iter().enumerate() {
            let front = format!("127.0.229.{}:{}", 10 + k, 24910 + i);
            let chk = format!("127.0.229.3:{}", 24920 + 2 * k + i);
            let port = chk.rsplit(':').next().unwrap();
            let listener = check_port(&chk);
            let cfg = format!(
                "{DEFAULTS}listen l\n  bind {front}\n  server s {} check addr 127.0.229.3 port {port} inter 200ms fall 1 rise 1 {opt}\n",
                data.addr
            );
            let p = start(which, "markeddown", &cfg, front.parse().unwrap());
            thread::sleep(Duration::from_millis(300));
            let mut c = TcpStream::connect(&front).unwrap();
            let before = alive(&mut c);
            drop(listener);
            thread::sleep(Duration::from_millis(900));
            got.push(format!("[{opt}] before={before} after={}", alive(&mut c)));
            drop(p);
        }
        out.push(got);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert_eq!(
        out[0],
        [
            "[] before=true after=true",
            "[on-marked-down shutdown-sessions] before=true after=false"
        ]
    );
}

#[test]
fn marked_up_shuts_backup_sessions_like_haproxy() {
    let main = Backend::echo("127.0.228.2:0");
    let backup = Backend::echo("127.0.228.4:0");
    let mut out = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let mut got = Vec::new();
        for (i, opt) in ["", "on-marked-up shutdown-backup-sessions"]
            .iter()
            .enumerate()
        {
            let front = format!("127.0.228.{}:{}", 10 + k, 24930 + i);
            let chk = format!("127.0.228.3:{}", 24940 + 2 * k + i);
            let port = chk.rsplit(':').next().unwrap();
            let cfg = format!(
                "{DEFAULTS}listen l\n  bind {front}\n  server main {} check addr 127.0.228.3 port {port} inter 200ms fall 1 rise 1 {opt}\n  server bk {} backup\n",
                main.addr, backup.addr
            );
            let p = start(which, "markedup", &cfg, front.parse().unwrap());
            // The main server's checks fail: its sessions go to the backup.
            thread::sleep(Duration::from_millis(600));
            let before_bk = backup.count();
            let mut c = TcpStream::connect(&front).unwrap();
            let on_backup = alive(&mut c) && backup.count() > before_bk;
            let listener = check_port(&chk);
            thread::sleep(Duration::from_millis(900));
            got.push(format!(
                "[{opt}] on_backup={on_backup} after={}",
                alive(&mut c)
            ));
            drop(listener);
            drop(p);
        }
        out.push(got);
    }
    assert_eq!(out[1], out[0], "haproxide (left), haproxy (right)");
    assert_eq!(
        out[0],
        [
            "[] on_backup=true after=true",
            "[on-marked-up shutdown-backup-sessions] on_backup=true after=false"
        ]
    );
}
