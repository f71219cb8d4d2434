//! Listening sockets and the accept loop (configuration.txt §4.2 `bind`, §3.2 `maxconn`).
//!
//! Every socket is bound before anything is served, so a bind error stops the start the way
//! HAProxy reports it. The accept loop never dies: on EMFILE/ENFILE it backs off and tries
//! again; `maxconn` (global and per frontend) is a semaphore taken before accepting, so
//! excess clients wait in the kernel's backlog as with HAProxy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::session;
use super::state::Shared;
use crate::ir::{Bind, ListenAddr};

/// A bound, listening socket and the frontend it belongs to.
#[derive(Debug)]
pub struct Bound {
    /// Frontend index.
    pub fe: usize,
    /// Listener number within the frontend (1-based, as HAProxy numbers them in logs).
    pub id: usize,
    /// `accept-proxy`
    pub accept_proxy: bool,
    /// TLS termination (`ssl`), built at start.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// Identity for reuse across reloads ([`super::reload::listener_key`]).
    pub key: String,
    /// The socket.
    pub socket: std::net::TcpListener,
}

/// What a session needs to know about the listener that accepted it.
#[derive(Clone)]
pub struct Info {
    /// Frontend index.
    pub fe: usize,
    /// Listener number within the frontend.
    pub id: usize,
    /// A PROXY header is expected first.
    pub accept_proxy: bool,
    /// TLS termination.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// The listening socket's descriptor (for `-d` lines).
    pub lfd: i32,
}

/// Binds one `bind` address; the error text is HAProxy's.
pub fn bind_one(b: &Bind, default_backlog: u32) -> Result<std::net::TcpListener, String> {
    let addr = match &b.addr {
        ListenAddr::Inet(a) => *a,
        ListenAddr::Unix(p) => {
            return Err(format!(
                "unix socket listeners ('{p}') are not supported by haproxide yet"
            ))
        }
        ListenAddr::Fd(n) => {
            let backlog = b.backlog.or(b.maxconn).unwrap_or(default_backlog);
            return crate::sys::listener_from_fd(*n, backlog.clamp(1, i32::MAX as u32) as i32);
        }
    };
    let fail = |e: std::io::Error| {
        let text = crate::sys::os_text(&e);
        format!("cannot bind socket ({text}) for [{}]", b.text)
    };
    let sock =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    sock.set_reuse_address(true).map_err(fail)?;
    // As HAProxy: a new process (-sf/-st) binds the same ports while the old one still
    // listens; a socket bound without SO_REUSEPORT still makes this bind fail.
    sock.set_reuse_port(true).map_err(fail)?;
    if addr.is_ipv6() {
        if b.v6only {
            sock.set_only_v6(true).map_err(fail)?;
        } else if b.v4v6 {
            sock.set_only_v6(false).map_err(fail)?;
        }
    }
    if b.transparent {
        sock.set_ip_transparent(true).map_err(fail)?;
    }
    if let Some(ms) = b.tcp_ut {
        let _ = sock.set_tcp_user_timeout(Some(ms));
    }
    sock.set_nonblocking(true).map_err(fail)?;
    sock.bind(&addr.into()).map_err(fail)?;
    let backlog = b
        .backlog
        .or(b.maxconn)
        .unwrap_or(default_backlog)
        .clamp(1, i32::MAX as u32);
    sock.listen(backlog as i32).map_err(fail)?;
    Ok(sock.into())
}

/// Errors that belong to one pending connection (it was reset or aborted before we took
/// it, accept(2) "Error handling"): the next accept may succeed at once.
fn client_gone(e: &std::io::Error) -> bool {
    use nix::libc::*;
    matches!(
        e.raw_os_error(),
        Some(
            ECONNABORTED
                | EINTR
                | EAGAIN
                | EPROTO
                | ENOPROTOOPT
                | EHOSTDOWN
                | ENONET
                | EHOSTUNREACH
                | ENETDOWN
                | ENETUNREACH
                | EPERM
        )
    )
}

/// Accepts on `l` until `paused` says stop, spawning one session task per client.
pub async fn accept_loop(
    shared: Arc<Shared>,
    info: Info,
    l: TcpListener,
    global: Arc<Semaphore>,
    fe_slots: Option<Arc<Semaphore>>,
    l_slots: Option<Arc<Semaphore>>,
    mut stop: watch::Receiver<bool>,
) {
    let fe = info.fe;
    let local_default = l.local_addr().ok();
    let mut backoff = Duration::from_millis(10);
    loop {
        if *stop.borrow() {
            return;
        }
        // The listener's own `maxconn` first (a full listener stops accepting, as
        // haproxy's does), then the frontend's, then the process'.
        let permits = async {
            let l = match &l_slots {
                Some(s) => Some(s.clone().acquire_owned().await.ok()?),
                None => None,
            };
            let f = match &fe_slots {
                Some(s) => Some(s.clone().acquire_owned().await.ok()?),
                None => None,
            };
            let g = global.clone().acquire_owned().await.ok()?;
            Some((g, f, l))
        };
        let permits = tokio::select! {
            p = permits => match p { Some(p) => p, None => return },
            _ = stop.changed() => return,
        };
        let accepted = tokio::select! {
            r = l.accept() => r,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((sock, peer)) => {
                backoff = Duration::from_millis(10);
                // A listener on one address already knows the destination: no getsockname().
                let local: SocketAddr = match local_default {
                    Some(a) if !a.ip().is_unspecified() => a,
                    _ => sock.local_addr().ok().or(local_default).unwrap_or(peer),
                };
                let slot = session::SessionSlot::new(shared.clone(), fe, permits);
                // The session future itself is the task: an async block around it would
                // keep a second copy of its arguments for the session's whole life.
                tokio::spawn(session::run(
                    shared.clone(),
                    info.clone(),
                    sock,
                    peer,
                    local,
                    slot,
                ));
            }
            Err(e) if client_gone(&e) => drop(permits),
            Err(_) => {
                // Out of descriptors or memory, or a listener the kernel no longer accepts
                // on: wait, longer each time, instead of spinning on the same error.
                drop(permits);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
