//! Opening one server connection: the socket, its `source` binding and connect(), and
//! what haproxy says when even the attempt fails (connect.rs chooses servers and
//! retries).

use super::close_log::ServerAddrs;
use crate::ir::source::ConnSource;
use crate::runtime::lb::state::{BackendRt, Shared};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Why no server connection was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnectFail {
    /// Refused, reset or unreachable on the last attempt.
    Refused,
    /// The last attempt timed out.
    Timeout,
    /// The server's certificate is not for the SNI sent: HAProxy retries at once, without
    /// the turn-around pause (a `verifyhost` mismatch is an ordinary failure).
    NameMismatch,
    /// The `source` or `usesrc` address could not be bound: retried at once.
    Bind(crate::runtime::source::BindFail),
    /// connect() found no free local port (haproxy's "no free ports" and "local address
    /// already in use"): retried at once.
    NoPorts(&'static str),
    /// No `usesrc` address to bind (a `hdr_ip` header missing): not retried, `IC`.
    Internal,
}

/// Connects to `target` for server `srv` of `b` within `limit`, bound as `bind` says
/// (the source, and the address `usesrc` chose); records the attempt's addresses in
/// `addrs`.
pub(super) async fn connect(
    target: Option<SocketAddr>,
    b: &BackendRt,
    srv: usize,
    limit: Duration,
    addrs: Option<(bool, &mut ServerAddrs)>,
    bind: Option<(&ConnSource, Option<SocketAddr>)>,
) -> Result<TcpStream, ConnectFail> {
    let Some(addr) = target else {
        return Err(ConnectFail::Refused);
    };
    let sock = open_socket(addr, b, srv, bind)?;
    // The attempt's addresses, for %bi/%bp/%si/%sp (haproxy logs the last attempt's, even
    // when it failed); the source costs a getsockname(), so only when the format prints it.
    if let Some((want_src, addrs)) = addrs {
        let src = if want_src {
            sock.local_addr().ok().and_then(|a| a.as_socket())
        } else {
            None
        };
        *addrs = Some((src, addr));
    }
    let stream =
        TcpStream::from_std(std::net::TcpStream::from(sock)).map_err(|_| ConnectFail::Refused)?;
    // The outcome is in the readiness itself: a failed connect reports the socket closed
    // for writing (EPOLLERR/EPOLLHUP). Unlike tokio's own connect, no getsockopt(SO_ERROR)
    // is spent on every connection that succeeds.
    match timeout(limit, stream.ready(Interest::WRITABLE)).await {
        Ok(Ok(r)) if !r.is_write_closed() => Ok(stream),
        Ok(_) => Err(ConnectFail::Refused),
        Err(_) => Err(ConnectFail::Timeout),
    }
}

/// A socket bound as the `source` says and connecting to `addr`. A port of a range
/// that connect() finds taken towards this server is skipped for the next one, as
/// haproxy's port allocator skips the ports its connections hold: ten tries, then
/// the bind failure haproxy reports when its range is exhausted.
fn open_socket(
    addr: SocketAddr,
    b: &BackendRt,
    srv: usize,
    bind: Option<(&ConnSource, Option<SocketAddr>)>,
) -> Result<socket2::Socket, ConnectFail> {
    use crate::runtime::source::{self, BindFail};
    let domain = socket2::Domain::for_address(addr);
    let new = || {
        let s = socket2::Socket::new(domain, socket2::Type::STREAM.nonblocking(), None)
            .map_err(|_| ConnectFail::Refused)?;
        // As haproxy, a failure here is minor and ignored.
        if let Some(ut) = b.servers[srv].ir.tcp_ut {
            let _ = s.set_tcp_user_timeout(Some(ut));
        }
        Ok(s)
    };
    let Some((src, from)) = bind else {
        let sock = new()?;
        return connect_socket(&sock, addr).map(|()| sock);
    };
    let ranged = source::ranged(src) && from.is_none();
    for port in source::ports(src, &b.servers[srv].source_port) {
        let sock = new()?;
        match source::bind(&sock, src, port, from) {
            Err(f) if ranged && !f.tproxy => continue,
            Err(f) => return Err(ConnectFail::Bind(f)),
            Ok(()) => {}
        }
        match connect_socket(&sock, addr) {
            Err(ConnectFail::NoPorts(_)) if ranged => continue,
            r => return r.map(|()| sock),
        }
    }
    Err(ConnectFail::Bind(BindFail {
        tproxy: false,
        errno: nix::libc::EADDRINUSE,
    }))
}

/// Starts connecting `sock` to `addr`.
fn connect_socket(sock: &socket2::Socket, addr: SocketAddr) -> Result<(), ConnectFail> {
    use nix::libc::{EADDRINUSE, EADDRNOTAVAIL, EAGAIN, EINPROGRESS};
    match sock.connect(&addr.into()) {
        Ok(()) => Ok(()),
        Err(e) => Err(match e.raw_os_error() {
            Some(EINPROGRESS) => return Ok(()),
            Some(EAGAIN | EADDRNOTAVAIL) => ConnectFail::NoPorts("no free ports"),
            Some(EADDRINUSE) => ConnectFail::NoPorts("local address already in use"),
            _ => ConnectFail::Refused,
        }),
    }
}

/// What haproxy says of a connection that could not even be attempted: an alert on
/// stderr and an emergency in the backend's logs for a bind, a raw stderr line and an
/// error in the logs for connect()'s want of ports.
pub(super) fn say_connect_failure(shared: &Shared, b: &BackendRt, f: &ConnectFail) {
    use crate::runtime::log::level;
    let quiet = shared.quiet.load(std::sync::atomic::Ordering::Relaxed);
    let (msg, lvl) = match f {
        ConnectFail::Bind(k) => {
            let msg = k.message(&b.ir.name);
            crate::runtime::proc::process::alert(quiet, &format!("{msg} Aborting."));
            (msg, level::EMERG)
        }
        ConnectFail::NoPorts(why) => {
            let msg = format!("Connect() failed for backend {}: {why}.", b.ir.name);
            if !quiet {
                eprintln!("{msg}");
            }
            (msg, level::ERR)
        }
        _ => return,
    };
    shared.logger.send(&b.ir.log, lvl, &msg);
}

/// `option clitcpka|srvtcpka` on a connection: SO_KEEPALIVE, then the probe settings
/// the proxy gives (each only when set, as haproxy's setsockopt calls).
pub(super) fn keepalive(sock: socket2::SockRef<'_>, t: crate::ir::TcpKeepalive) {
    let _ = sock.set_keepalive(true);
    let mut ka = socket2::TcpKeepalive::new();
    let mut any = false;
    if t.idle > 0 {
        ka = ka.with_time(Duration::from_secs(t.idle.into()));
        any = true;
    }
    if t.intvl > 0 {
        ka = ka.with_interval(Duration::from_secs(t.intvl.into()));
        any = true;
    }
    if t.cnt > 0 {
        ka = ka.with_retries(t.cnt);
        any = true;
    }
    if any {
        let _ = sock.set_tcp_keepalive(&ka);
    }
}
