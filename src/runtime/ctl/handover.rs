//! `-x <socket>`: take the listening sockets of the process being replaced over its stats
//! socket, so that no connection is refused while the old one finishes (management.txt
//! §4 "seamless reload"). The exchange is HAProxy's `_getsocks`, so the old process may be
//! a real haproxy (stats socket with `expose-fd listeners`) or another haproxide:
//!
//! 1. the new process sends `_getsocks\n`;
//! 2. the old one sends the number of descriptors (a native-endian 32-bit int);
//! 3. then batches of at most [`MAX_SEND_FD`] descriptors (SCM_RIGHTS), each with, per
//!    descriptor, a namespace name and an interface name (a length byte, then the bytes)
//!    and 32 bits of options, and waits for a 4-byte acknowledgement after each batch.
//!
//! The receiver matches each socket to a `bind` by its bound address.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::sys::socket::{
    getsockname, getsockopt, recvmsg, sendmsg, sockopt, ControlMessage, ControlMessageOwned,
    MsgFlags, SockaddrStorage,
};

/// Descriptors per message, as HAProxy sends them.
pub const MAX_SEND_FD: usize = 253;

/// A listening socket received from the old process.
#[derive(Debug)]
pub struct Received {
    /// Its bound address.
    pub addr: SocketAddr,
    /// IPV6_V6ONLY is set on it.
    pub v6only: bool,
    /// The socket.
    pub socket: std::net::TcpListener,
}

/// Fetches the old process's listening TCP sockets from its stats socket at `path`.
/// Other descriptors (UNIX sockets, datagram sockets) are closed.
pub fn fetch(path: &str) -> Result<Vec<Received>, String> {
    let mut s = UnixStream::connect(path)
        .map_err(|_| format!("Failed to connect to the old process socket '{path}'"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let count_err = |e: std::io::Error| {
        format!("Failed to get the number of sockets to be transferred ! ({e})")
    };
    s.write_all(b"_getsocks\n").map_err(count_err)?;
    let mut n = [0u8; 4];
    s.read_exact(&mut n).map_err(count_err)?;
    let total = i32::from_ne_bytes(n);
    if !(0..=65536).contains(&total) {
        return Err(format!("Bad number of sockets to be transferred ({total})"));
    }
    let total = total as usize;
    let mut fds: Vec<OwnedFd> = Vec::with_capacity(total);
    let mut meta = Vec::new();
    let mut buf = vec![0u8; MAX_SEND_FD * (1 + 4096 + 1 + 16 + 4)];
    while fds.len() < total {
        let mut cmsg = nix::cmsg_space!([RawFd; MAX_SEND_FD]);
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map_err(|e| format!("Failed to receive the sockets ({e})"))?;
        let got = msg.bytes;
        for c in msg
            .cmsgs()
            .map_err(|e| format!("Bad control message ({e})"))?
        {
            if let ControlMessageOwned::ScmRights(list) = c {
                fds.extend(list.into_iter().map(crate::sys::received_fd));
            }
        }
        if got == 0 {
            break;
        }
        meta.extend_from_slice(&buf[..got]);
        // The acknowledgement lets the sender go on with the next batch; after the last
        // one haproxy may already have closed, so a failure here is not an error.
        let _ = s.write_all(&(fds.len() as i32).to_ne_bytes());
    }
    if fds.len() != total {
        return Err(format!(
            "We didn't get the expected number of sockets (expecting {total} got {})",
            fds.len()
        ));
    }
    check_meta(&meta, total)?;
    Ok(fds.into_iter().filter_map(listener).collect())
}

/// The per-descriptor data must be complete (namespace and interface names, options).
fn check_meta(meta: &[u8], n: usize) -> Result<(), String> {
    let mut at = 0;
    for _ in 0..n {
        for _ in 0..2 {
            let len = *meta
                .get(at)
                .ok_or("Inconsistency while transferring sockets")? as usize;
            at += 1 + len;
        }
        at += 4;
        if at > meta.len() {
            return Err("Inconsistency while transferring sockets".into());
        }
    }
    Ok(())
}

/// A received descriptor as a TCP listener, if it is one.
fn listener(fd: OwnedFd) -> Option<Received> {
    let ty = getsockopt(&fd, sockopt::SockType).ok()?;
    if ty != nix::sys::socket::SockType::Stream || !getsockopt(&fd, sockopt::AcceptConn).ok()? {
        return None;
    }
    let sa: SockaddrStorage = getsockname(fd.as_raw_fd()).ok()?;
    let addr = if let Some(v4) = sa.as_sockaddr_in() {
        SocketAddr::from((v4.ip(), v4.port()))
    } else {
        let v6 = sa.as_sockaddr_in6()?;
        SocketAddr::from((v6.ip(), v6.port()))
    };
    let v6only = addr.is_ipv6() && getsockopt(&fd, sockopt::Ipv6V6Only).unwrap_or(false);
    Some(Received {
        addr,
        v6only,
        socket: std::net::TcpListener::from(fd),
    })
}

/// Takes the received socket for a bind on `addr` (v6only as configured), if there is one.
pub fn take(
    received: &mut Vec<Received>,
    addr: SocketAddr,
    v6only: bool,
) -> Option<std::net::TcpListener> {
    let i = received
        .iter()
        .position(|r| r.addr == addr && r.v6only == (addr.is_ipv6() && v6only))?;
    Some(received.swap_remove(i).socket)
}

/// The old process's side of `_getsocks`, first message: how many descriptors follow.
pub fn send_count(conn: RawFd, n: usize) -> Result<(), String> {
    let count = (n as i32).to_ne_bytes();
    let iov = [std::io::IoSlice::new(&count)];
    let sent = sendmsg::<()>(conn, &iov, &[], MsgFlags::empty(), None)
        .map_err(|e| format!("sending the number of sockets: {e}"))?;
    if sent != count.len() {
        return Err("sending the number of sockets: short write".into());
    }
    Ok(())
}

/// One batch of at most [`MAX_SEND_FD`] descriptors; the receiver acknowledges each.
pub fn send_batch(conn: RawFd, batch: &[RawFd]) -> Result<(), String> {
    // No namespace, no interface, no options for each descriptor.
    let meta = vec![0u8; batch.len() * 6];
    let iov = [std::io::IoSlice::new(&meta)];
    let cmsg = [ControlMessage::ScmRights(batch)];
    sendmsg::<()>(conn, &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(|e| format!("sending the listening sockets: {e}"))?;
    Ok(())
}
