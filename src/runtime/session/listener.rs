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

use crate::ir::{Bind, Config, ListenAddr};
use crate::runtime::lb::state::{Listening, Shared};
use crate::runtime::limit::DynLimit;
use crate::runtime::proc::process::{alert, warning};
use crate::runtime::proc::reload;
use crate::runtime::session;

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
    pub tls: Option<std::sync::Arc<crate::runtime::tls::server::Terminator>>,
    /// Identity for reuse across reloads ([`crate::runtime::proc::reload::listener_key`]).
    pub key: String,
    /// Its listen backlog (to listen again after a pause).
    pub backlog: i32,
    /// The socket.
    pub socket: std::net::TcpListener,
}

/// The descriptors of `sockets`, for the CLI's `_getsocks`.
pub fn fds(sockets: &[Bound]) -> Vec<std::os::fd::RawFd> {
    use std::os::fd::AsRawFd;
    sockets.iter().map(|b| b.socket.as_raw_fd()).collect()
}

/// The TLS configuration of a bind (None without `ssl`); errors are reported here.
fn tls_for(
    f: &crate::ir::Frontend,
    b: &crate::ir::Bind,
    quiet: bool,
) -> Result<Option<Arc<crate::runtime::tls::server::Terminator>>, ()> {
    match b
        .tls
        .as_ref()
        .map(crate::runtime::tls::server::server_config)
    {
        None => Ok(None),
        // Cipher names rustls lacks were reported by the configuration check.
        Some(Ok(c)) => Ok(Some(c)),
        Some(Err(e)) => {
            alert(
                quiet,
                &format!("Proxy '{}': bind [{}]: {e}", f.name, b.origin),
            );
            Err(())
        }
    }
}

/// Binds every listener of `cfg`, reporting each failure as HAProxy does; None if any failed.
/// `reuse` gives, per listener in configuration order, an already bound socket to take over.
pub fn bind_all_with(
    cfg: &Config,
    maxconn: u32,
    quiet: bool,
    mut reuse: impl FnMut(usize) -> Option<std::net::TcpListener>,
) -> Option<Vec<Bound>> {
    let mut bound = Vec::new();
    let mut failed = false;
    let mut n = 0;
    // TLS towards servers: files are read now, so a bad one fails the start or the reload.
    for b in &cfg.backends {
        for s in &b.servers {
            let checks = crate::runtime::tls::client::check_connector(s);
            if let Err(e) = crate::runtime::tls::client::connector(s).and(checks) {
                alert(
                    quiet,
                    &format!(
                        "Proxy '{}': server '{}' ({}): {e}",
                        b.name, s.name, s.origin
                    ),
                );
                failed = true;
            }
        }
    }
    for (fi, f) in cfg.frontends.iter().enumerate() {
        for (i, b) in f.binds.iter().enumerate() {
            let k = n;
            n += 1;
            let Ok(tls) = tls_for(f, b, quiet) else {
                failed = true;
                continue;
            };
            let socket = match reuse(k) {
                Some(s) => Ok((s, None)),
                None => bind_one(b, f.maxconn.unwrap_or(maxconn)),
            };
            let kind = if f.is_listen { "proxy" } else { "frontend" };
            match socket {
                Ok((socket, warn)) => {
                    if let Some(w) = warn {
                        warning(
                            quiet,
                            &format!("Binding [{}] for {kind} {}: {w}", b.origin, f.name),
                        );
                    }
                    bound.push(Bound {
                        fe: fi,
                        id: i + 1,
                        accept_proxy: b.accept_proxy,
                        tls,
                        key: reload::listener_key(b),
                        backlog: backlog_of(b, f.maxconn.unwrap_or(maxconn)),
                        socket,
                    })
                }
                Err(e) => {
                    failed = true;
                    alert(
                        quiet,
                        &format!("Binding [{}] for {kind} {}: {e}", b.origin, f.name),
                    );
                }
            }
        }
    }
    (!failed).then_some(bound)
}

/// The listeners of a new configuration for a reload: sockets whose key is unchanged are
/// the same sockets (duplicated descriptors), others are bound now. None if any failed.
pub fn rebind(
    cfg: &Config,
    old: &[Bound],
    maxconn: u32,
    quiet: bool,
) -> Option<(Vec<Bound>, reload::Plan)> {
    let old_keys: Vec<String> = old.iter().map(|b| b.key.clone()).collect();
    let plan = reload::plan(&old_keys, &reload::listener_keys(cfg));
    let kept: std::collections::HashMap<usize, usize> =
        plan.keep.iter().map(|(o, n)| (*n, *o)).collect();
    let sockets = bind_all_with(cfg, maxconn, quiet, |k| {
        kept.get(&k).and_then(|oi| old[*oi].socket.try_clone().ok())
    })?;
    Some((sockets, plan))
}

/// Binds every listener of `cfg` (start-up and resume after pause).
pub fn bind_all(cfg: &Config, maxconn: u32, quiet: bool) -> Option<Vec<Bound>> {
    bind_all_with(cfg, maxconn, quiet, |_| None)
}

/// The listen backlog of `b`: `backlog`, else `maxconn`, else the default.
fn backlog_of(b: &Bind, default_backlog: u32) -> i32 {
    b.backlog
        .or(b.maxconn)
        .unwrap_or(default_backlog)
        .clamp(1, i32::MAX as u32) as i32
}

/// Binds one `bind` address, with what haproxy only warns about (the device it could
/// not bind to); the error text is HAProxy's.
pub fn bind_one(
    b: &Bind,
    default_backlog: u32,
) -> Result<(std::net::TcpListener, Option<String>), String> {
    let addr = match &b.addr {
        ListenAddr::Inet(a) => *a,
        ListenAddr::Unix(p) => {
            return Err(format!(
                "unix socket listeners ('{p}') are not supported by haproxide yet"
            ))
        }
        ListenAddr::Fd(n) => {
            return crate::sys::listener_from_fd(*n, backlog_of(b, default_backlog))
                .map(|l| (l, None));
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
    // A device that cannot be bound to is a warning in haproxy: the listener serves on.
    let warn = b.interface.as_ref().and_then(|dev| {
        let e = sock.bind_device(Some(dev.as_bytes())).err()?;
        let text = crate::sys::os_text(&e);
        Some(format!(
            "cannot bind receiver to device '{dev}' ({text}) for [{}]",
            b.text
        ))
    });
    sock.set_nonblocking(true).map_err(fail)?;
    sock.bind(&addr.into()).map_err(fail)?;
    let backlog = backlog_of(b, default_backlog) as u32;
    // haproxy's tcp_bind_listener: failures here are warnings, the listener still runs.
    if let Some(m) = b.mss {
        let _ = sock.set_mss(m);
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
    if b.defer_accept {
        let _ = crate::sys::set_tcp_option(fd, nix::libc::TCP_DEFER_ACCEPT, 1);
    }
    if b.tfo {
        let _ = crate::sys::set_tcp_option(fd, nix::libc::TCP_FASTOPEN, backlog as i32);
    }
    sock.listen(backlog as i32).map_err(fail)?;
    Ok((sock.into(), warn))
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

/// The connection limits a listener's sessions take a slot of besides the process':
/// its frontend's `maxconn` and its own.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    /// The frontend's `maxconn` (`set maxconn frontend` changes it).
    pub frontend: Option<Arc<crate::runtime::limit::DynLimit>>,
    /// The listener's `maxconn`.
    pub listener: Option<Arc<Semaphore>>,
}

/// A paused listener (haproxy's pause): the socket stops listening (new clients are
/// refused, the ones waiting in the backlog reset) until the frontend is enabled again,
/// then listens with `backlog`. The reactor lets go of it meanwhile: the hang-up it
/// reports would stay. None when the frontend is shut down or the generation stops.
async fn paused(
    l: TcpListener,
    state: &mut watch::Receiver<Listening>,
    stop: &mut watch::Receiver<bool>,
    backlog: i32,
) -> Option<TcpListener> {
    let std_l = l.into_std().ok()?;
    let _ = crate::sys::unlisten(std::os::fd::AsRawFd::as_raw_fd(&std_l));
    loop {
        match *state.borrow_and_update() {
            Listening::Ready => break,
            Listening::Stopped => return None,
            Listening::Paused => {}
        }
        tokio::select! {
            r = state.changed() => r.ok()?,
            _ = stop.changed() => return None,
        }
    }
    let _ = socket2::SockRef::from(&std_l).listen(backlog);
    TcpListener::from_std(std_l).ok()
}

/// The slots a session takes: the listener's own `maxconn` first (a full listener stops
/// accepting, as haproxy's does), then the frontend's, then the process'.
async fn take_permits(slots: &Slots, global: &DynLimit) -> Option<super::slots::Permits> {
    let l = match &slots.listener {
        Some(s) => Some(s.clone().acquire_owned().await.ok()?),
        None => None,
    };
    let f = match &slots.frontend {
        Some(s) => Some(s.acquire().await?),
        None => None,
    };
    let g = global.acquire().await?;
    Some((g, f, l))
}

/// How long the accept rates make a listener of frontend `fe` wait before its next
/// accept, checked in listener_accept's order (the process's sessions, connections,
/// TLS sessions, then the frontend's sessions); None: accept now.
fn rate_wait(shared: &Shared, fe: usize, tls: bool) -> Option<Duration> {
    let r = &shared.rates;
    r.sessions
        .wait()
        .or_else(|| r.connections.wait())
        .or_else(|| tls.then(|| r.ssl.wait()).flatten())
        .or_else(|| shared.frontends[fe].sess_rate.wait())
}

/// Whether a session of listener `li` is counted in the accept rates as soon as it is
/// accepted: the process's sessions when no `tcp-request connection` rule may refuse
/// it, and also the frontend's when no PROXY header, TLS handshake or `tcp-request
/// session` rule comes first (haproxy's session_accept_fd then completes the session
/// within the accept, and the next accept sees it counted).
pub fn counted_at_accept(f: &crate::ir::Frontend, li: &session::Info) -> (bool, bool) {
    let process = f.inspect.connection.is_empty();
    let frontend = process && !li.accept_proxy && li.tls.is_none() && f.inspect.session.is_empty();
    (process, frontend)
}

/// Accepts on `l` until `stop` says so, spawning one session task per client.
pub async fn accept_loop(
    shared: Arc<Shared>,
    info: session::Info,
    mut l: TcpListener,
    global: Arc<DynLimit>,
    slots: Slots,
    mut stop: watch::Receiver<bool>,
    backlog: i32,
) {
    let fe = info.fe;
    let (count_process, count_frontend) = counted_at_accept(&shared.frontends[fe].ir, &info);
    let local_default = l.local_addr().ok();
    let mut backoff = Duration::from_millis(10);
    let mut state = shared.frontends[fe].listening.subscribe();
    let mut limits = shared.limits_changed.subscribe();
    loop {
        if *stop.borrow() {
            return;
        }
        if *state.borrow_and_update() != Listening::Ready {
            match paused(l, &mut state, &mut stop, backlog).await {
                Some(again) => l = again,
                None => return,
            }
            continue;
        }
        // Over an accept rate: clients wait in the backlog until the rate allows one.
        if let Some(wait) = rate_wait(&shared, fe, info.tls.is_some()) {
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                _ = state.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        // Biased: under load the permits and the next client are there at once, and
        // the other branches are not even polled (the loop's head checks them).
        let permits = tokio::select! {
            biased;
            p = take_permits(&slots, &global) => match p { Some(p) => p, None => return },
            _ = stop.changed() => return,
            _ = state.changed() => continue,
        };
        let accepted = tokio::select! {
            biased;
            r = l.accept() => r,
            _ = stop.changed() => return,
            _ = state.changed() => continue,
            // A limit lowered: the slots taken for the next client go back first.
            _ = limits.changed() => continue,
        };
        match accepted {
            Ok((sock, peer)) => {
                // A limit lowered while this client came: its slots are taken again under
                // the new limit (the client waits, as in haproxy's backlog).
                let permits = if limits.has_changed().unwrap_or(false) {
                    limits.borrow_and_update();
                    drop(permits);
                    match take_permits(&slots, &global).await {
                        Some(p) => p,
                        None => return,
                    }
                } else {
                    permits
                };
                backoff = Duration::from_millis(10);
                shared.rates.connections.add();
                // The frontend's connections, as haproxy's proxy_inc_fe_conn_ctr.
                let fr = &shared.frontends[fe];
                fr.conn_tot
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                fr.conn_rate.add();
                if count_process {
                    shared.rates.sessions.add();
                    if info.tls.is_some() {
                        shared.rates.ssl.add();
                    }
                }
                if count_frontend {
                    shared.frontends[fe].sess_rate.add();
                }
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
