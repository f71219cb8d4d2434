//! `bind fd@<n>` and `stats socket fd@<n>`: sockets handed over open, as systemd socket
//! activation and test harnesses do, served by haproxy and haproxide alike (one already
//! listening, one only bound: the proxy calls listen()). Its own test binary: the
//! descriptors are made inheritable, and no other test may spawn a process meanwhile.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

use common::{ask, roundtrip, start, Backend, Which};

fn inheritable(fd: i32) {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    // SAFETY: the descriptor is open and owned by this test for its whole duration.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).expect("clear FD_CLOEXEC");
}

#[test]
fn fd_binds_serve_like_haproxy() {
    let echo = Backend::echo("127.0.241.9:0");
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let net = 242 + k;
        let listening = TcpListener::bind(format!("127.0.{net}.1:0")).unwrap();
        let bound =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let b_addr: SocketAddr = format!("127.0.{net}.2:0").parse().unwrap();
        bound.bind(&b_addr.into()).unwrap();
        let b_addr = bound.local_addr().unwrap().as_socket().unwrap();
        let stats = std::os::unix::net::UnixListener::bind(
            std::env::temp_dir().join(format!("haproxide-fd-{}-{net}.sock", std::process::id())),
        )
        .unwrap();
        let stats_path =
            std::env::temp_dir().join(format!("haproxide-fd-{}-{net}.sock", std::process::id()));
        for fd in [listening.as_raw_fd(), bound.as_raw_fd(), stats.as_raw_fd()] {
            inheritable(fd);
        }
        let l_addr = listening.local_addr().unwrap();
        let cfg = format!(
            "global\n  stats socket fd@{}\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten a\n  bind fd@{}\n  server s {}\nlisten b\n  bind fd@{}\n  server s {}\n",
            stats.as_raw_fd(),
            listening.as_raw_fd(),
            echo.addr,
            bound.as_raw_fd(),
            echo.addr
        );
        let p = start(which, "fdbind", &cfg, l_addr);
        assert_eq!(
            roundtrip(l_addr, b"via a listening fd"),
            b"via a listening fd",
            "{which:?}"
        );
        assert_eq!(
            roundtrip(b_addr, b"via a bound fd"),
            b"via a bound fd",
            "{which:?}"
        );
        let info = ask(&stats_path, "show info");
        assert!(
            info.contains("Pid: "),
            "{which:?}: the stats socket answers: {info}"
        );
        drop(p);
        let _ = std::fs::remove_file(&stats_path);
    }
}
