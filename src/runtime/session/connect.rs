//! The queue and connect phase: a server slot (at once or from a queue), the connection
//! with retries, turn-around pauses and redispatch, the PROXY header and TLS towards the
//! server (haproxy-subset.md §7; configuration.txt §4.2 `retries`, `option redispatch`).

use super::close_log::LogState;
use super::dial::{connect, say_connect_failure, ConnectFail};
use super::own_conns::{private_conns, OwnConns};
use super::route::Pin;
use super::slots::ServerSlot;
use crate::ir::source::ConnSource;
use crate::ir::{HttpReuse, SendProxy};
use crate::runtime::lb::observe::{health_adjust, Event};
use crate::runtime::lb::queue::Line;
use crate::runtime::lb::state::{Assigned, BackendRt, FrontendRt, Shared};
use crate::runtime::proto::proxy_protocol::{self, V2Facts};
use crate::runtime::rules::fetch::list_header;
use crate::runtime::source::tproxy_from;
use crate::runtime::stream::forward::Timeouts;
use crate::runtime::stream::http1::head::Head;
use crate::runtime::stream::ServerEnd;
use crate::runtime::termination::{Cause, Phase, Termination};
use socket2::SockRef;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

/// A server connection ready for forwarding.
pub(super) struct Connected {
    pub(super) server: ServerEnd,
    pub(super) slot: ServerSlot,
    /// PROXY header and client bytes read early, sent before anything else.
    pub(super) first: Vec<u8>,
    pub(super) t: Timeouts,
    /// Taken from an idle list (it has carried a request before).
    pub(super) reused: bool,
    /// Taken from the session's own connections (it stays the session's).
    pub(super) private: bool,
}

/// The `source` connections to server `srv` leave from: its own, else the backend's.
pub(super) fn source_of(b: &BackendRt, srv: usize) -> Option<&ConnSource> {
    b.servers[srv].ir.source.as_ref().or(b.ir.source.as_ref())
}

/// Where a request may find an idle server connection: the session's own, or the
/// server's pool as `http-reuse` allows.
pub(super) struct Reuse<'a> {
    /// The session's own connections.
    pub(super) private: &'a mut OwnConns,
    /// The session's first request.
    pub(super) first: bool,
}

/// An HTTP retry (haproxy's do_l7_retry): the slot on the server that failed, the
/// attempts made so far (connection retries included), and whether persistence chose
/// that server.
pub(super) struct L7Retry {
    pub(super) slot: ServerSlot,
    pub(super) attempts: u32,
    pub(super) direct: bool,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn connect_phase(
    f: &FrontendRt,
    (shared, bi): (&Arc<Shared>, usize),
    client: &TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    early: &[u8],
    pp: V2Facts<'_>,
    (pin, key): (Pin, Option<&[u8]>),
    start: Instant,
    log: &mut LogState,
    (reuse, l7): (Option<Reuse<'_>>, Option<L7Retry>),
    req: Option<&Head>,
) -> Option<Connected> {
    let b = &shared.backends[bi];
    let connect_to = b.ir.timeout_connect.unwrap_or(Duration::from_secs(86400));
    let queue_to =
        b.ir.timeout_queue
            .or(b.ir.timeout_connect)
            .unwrap_or(Duration::from_secs(86400));
    // A server persistence chose is "direct" (haproxy's SF_DIRECT): it is left only on
    // the redispatch interval or when it went down, and never under `force-persist`.
    // `option abortonclose`: a TCP session's client closing while it is queued ends it
    // (haproxy 2.6's HTTP layer does not pass on a close after a whole request).
    let watch = (b.ir.abortonclose && req.is_none()).then_some(client);
    let queue = (queue_to, watch);
    let taken = |srv| ServerSlot {
        shared: shared.clone(),
        bi,
        srv,
    };
    let (mut srv, mut slot, mut direct, mut attempt, same) = match l7 {
        None => {
            // `option prefer-last-server`: a server the session holds a connection to,
            // chosen as the balancer would (no persistence: not "direct").
            let prefer = reuse.as_ref().and_then(|r| r.private.preferred(b, bi, pin));
            let first_pin = match prefer {
                Some(s) => Pin {
                    server: Some(s),
                    force: false,
                    preferred: true,
                },
                None => pin,
            };
            let srv = Box::pin(obtain(b, peer.ip(), key, None, first_pin, queue, log)).await?;
            (srv, taken(srv), pin.server == Some(srv), 0, false)
        }
        // An HTTP retry: the same server again, keeping its slot, unless the retry is
        // where `option redispatch` balances again (stream_choose_redispatch).
        Some(r) => {
            let prev = r.slot.srv;
            if !pin.force && redispatch_now(b, prev, r.direct, r.attempts) {
                drop(r.slot);
                let avoid = Some(prev);
                let Some(next) =
                    Box::pin(obtain(b, peer.ip(), key, avoid, Pin::default(), queue, log)).await
                else {
                    log.retries = r.attempts;
                    return None;
                };
                log.redispatched |= next != prev;
                b.reassigned(prev, next);
                (next, taken(next), false, r.attempts, false)
            } else {
                b.reassigned(prev, prev);
                let _ = b.attempt(prev);
                (prev, r.slot, r.direct, r.attempts, true)
            }
        }
    };
    // A retry on the same server keeps its queue time, the failed attempt counting in
    // Tc (haproxy takes t_queue only when a server is assigned); Tc runs from there, in
    // whole milliseconds as haproxy subtracts them.
    if !same {
        log.tw = start.elapsed().as_millis() as i64;
    }
    let c_start = start + Duration::from_millis(log.tw.max(0) as u64);
    if let Some(r) = reuse {
        use crate::runtime::lb::idle::Want;
        // The session's own connection to this server first (session_get_conn), then
        // haproxy's table in connect_server: a later request takes an idle shared
        // connection, else a safe one; a first one only as `http-reuse` allows.
        let own = (r.private).take(bi, srv, super::own_conns::header_id(b, srv, pp.unique_id));
        let private = own.is_some();
        let found = if own.is_some() || private_conns(b, srv) {
            own
        } else {
            // A backend that retries failed connections, empty responses and response
            // timeouts lets a first request take an idle one too (connect_server's
            // retry_safe).
            let l7 = &b.ir.retry_l7;
            let retry_safe = b.ir.retry_conn_failure && l7.empty_response && l7.response_timeout;
            let want = match (r.first && !retry_safe, b.ir.http_reuse) {
                (false, _) => Some(Want::IdleThenSafe),
                (true, HttpReuse::Aggressive) => Some(Want::Safe),
                (true, HttpReuse::Always) => Some(Want::SafeThenIdle),
                (true, _) => None,
            };
            // The slot taken above counts this request already.
            let used = b.servers[srv]
                .sessions
                .load(std::sync::atomic::Ordering::Relaxed)
                .saturating_sub(1);
            want.and_then(|w| b.servers[srv].idle.take(w, used))
        };
        if let Some(server) = found {
            log.tc = c_start.elapsed().as_millis() as i64;
            log.server = Some(srv);
            log.retries = attempt;
            return Some(Connected {
                server,
                slot,
                first: Vec::new(),
                t: timeouts(f, b),
                reused: true,
                private,
            });
        }
    }
    let server = loop {
        let target = b.servers[srv].target_for(local);
        let addrs = log
            .extra
            .as_deref_mut()
            .map(|e| (e.want_src, &mut e.server_addrs));
        let header = |name: &[u8], occ: i32| req.and_then(|h| list_header(h, name, occ));
        let bind = match source_of(b, srv) {
            None => Ok(None),
            Some(src) => tproxy_from(src, Some(peer), req.map(|_| &header as _))
                .map(|from| Some((src, from)))
                .map_err(|_| ConnectFail::Internal),
        };
        let attempt_to = match bind {
            Ok(bind) => Box::pin(connect(target, b, srv, connect_to, addrs, bind)).await,
            Err(f) => Err(f),
        };
        if let Err(f) = &attempt_to {
            say_connect_failure(shared, b, f);
        }
        let got = match attempt_to {
            Ok(s) => match &b.servers[srv].tls {
                None => Ok(ServerEnd::Plain(s)),
                // The PROXY header goes first, in clear, then the handshake, all within
                // `timeout connect` (HAProxy counts the handshake in the connection).
                Some(c) => {
                    let header = proxy_header(&b.servers[srv].ir, peer, local, pp);
                    Box::pin(secure(c, s, &header, connect_to)).await
                }
            },
            Err(f) => Err(f),
        };
        // `observe`: each attempt counts for the server (health_adjust).
        let ev = if got.is_ok() {
            Event::L4Ok
        } else {
            Event::L4Err
        };
        health_adjust(shared, (bi, srv), ev);
        match got {
            Ok(s) => break s,
            Err(fail) => {
                let retry = attempt < b.ir.retries && b.ir.retry_conn_failure;
                if !retry || fail == ConnectFail::Internal {
                    let term = match fail {
                        ConnectFail::Refused => Cause::ServerAbort,
                        ConnectFail::Timeout => Cause::ServerTimeout,
                        ConnectFail::NameMismatch
                        | ConnectFail::Bind(_)
                        | ConnectFail::NoPorts(_) => Cause::ServerAbort,
                        ConnectFail::Internal => Cause::Internal,
                    };
                    {
                        b.connect_failed(Some(srv));
                        give_up(log, srv, attempt, Termination::new(term, Phase::Connect));
                        return None;
                    }
                }
                attempt += 1;
                if !pin.force && redispatch_now(b, srv, direct, attempt) {
                    // Redispatch: the next server in rotation, without a turn-around pause.
                    // The first server's slot goes back first (to a waiting session, if
                    // any); the new choice may queue as a new session would. A hash may
                    // pick the same server again: not shown as redispatched, but, as in
                    // haproxy, retried at once and Tw counts to this choice.
                    let avoid = Some(srv);
                    drop(slot);
                    let Some(next) =
                        Box::pin(obtain(b, peer.ip(), key, avoid, Pin::default(), queue, log))
                            .await
                    else {
                        log.retries = attempt;
                        return None;
                    };
                    slot = taken(next);
                    log.redispatched |= next != srv;
                    b.reassigned(srv, next);
                    log.tw = start.elapsed().as_millis() as i64;
                    srv = next;
                    direct = false;
                    continue;
                }
                // A client that already went away ends the attempts: "CC" as in HAProxy.
                if client_state(client) == ClientState::Gone {
                    give_up(log, srv, attempt, CLIENT_LEFT);
                    return None;
                }
                if let ConnectFail::Refused = fail {
                    // HAProxy's turn-around delay before retrying the same server; a client
                    // leaving meanwhile ends the attempts.
                    let pause = connect_to.min(Duration::from_secs(1));
                    if Box::pin(turnaround(client, pause)).await {
                        give_up(log, srv, attempt, CLIENT_LEFT);
                        return None;
                    }
                }
                // The same server again: a retry, one more attempt on it.
                b.reassigned(srv, srv);
                let _ = b.attempt(srv);
            }
        }
    };
    log.tc = c_start.elapsed().as_millis() as i64;
    log.server = Some(srv);
    log.retries = attempt;

    if b.ir.srvtcpka {
        super::dial::keepalive(SockRef::from(server.tcp()), b.ir.srvtcpka_tune);
    }
    let _ = server.tcp().set_nodelay(true);
    let header = match server {
        ServerEnd::Plain(_) => proxy_header(&b.servers[srv].ir, peer, local, pp),
        // Already sent before the handshake.
        ServerEnd::Tls(_) => Vec::new(),
    };
    let t = timeouts(f, b);
    let mut first = header;
    first.extend_from_slice(early);
    // A new connection in use: haproxy's idle-pool estimate counts it.
    let used = b.servers[srv]
        .sessions
        .load(std::sync::atomic::Ordering::Relaxed);
    b.servers[srv].idle.note_used(used);
    Some(Connected {
        server,
        slot,
        first,
        t,
        reused: false,
        private: false,
    })
}

/// The forwarding timeouts of a session from frontend `f` to backend `b`.
fn timeouts(f: &FrontendRt, b: &BackendRt) -> Timeouts {
    Timeouts {
        client: f.ir.timeout_client,
        server: b.ir.timeout_server,
        // HAProxy takes the tunnel timeout from the backend only.
        tunnel: b.ir.timeout_tunnel,
        client_fin: f.ir.timeout_client_fin,
        server_fin: b.ir.timeout_server_fin,
        nolinger_client: f.ir.nolinger,
        nolinger_server: b.ir.nolinger,
    }
}

/// The PROXY header `srv` wants for this client (empty without send-proxy).
pub(super) fn proxy_header(
    srv: &crate::ir::Server,
    peer: SocketAddr,
    local: SocketAddr,
    pp: V2Facts<'_>,
) -> Vec<u8> {
    match srv.send_proxy {
        SendProxy::None => Vec::new(),
        SendProxy::V1 => proxy_protocol::v1(peer, local),
        SendProxy::V2 => proxy_protocol::v2(peer, local, &srv.proxy_v2, pp),
    }
}

/// Sends `header` in clear, then opens TLS to the server within `limit`. A failed or late
/// handshake counts as a failed connection (retried like one).
pub(super) async fn secure(
    c: &crate::runtime::tls::client::Connector,
    tcp: TcpStream,
    header: &[u8],
    limit: Duration,
) -> Result<ServerEnd, ConnectFail> {
    let hs = async {
        write_header(&tcp, header).await;
        c.tls.connect(c.name.clone(), tcp).await
    };
    match timeout(limit, hs).await {
        Ok(Ok(t)) => Ok(ServerEnd::Tls(Box::new(t))),
        Ok(Err(e)) => {
            let name = matches!(
                e.get_ref().and_then(|x| x.downcast_ref::<rustls::Error>()),
                Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. }
                ))
            );
            Err(if name && c.sends_sni {
                ConnectFail::NameMismatch
            } else {
                ConnectFail::Refused
            })
        }
        Err(_) => Err(ConnectFail::Timeout),
    }
}

/// Whether the `done`-th failed attempt on `srv` moves the session to another server.
pub(super) fn redispatch_now(b: &BackendRt, srv: usize, direct: bool, done: u32) -> bool {
    redispatch_due(
        b.ir.redispatch,
        b.ir.retries,
        done,
        Choice {
            usable: b.servers[srv].persistable(),
            direct,
            others: b.active_usable() > 1,
            hash: b.ir.balance.is_hash(),
        },
    )
}

/// What `redispatch_due` needs to know about the server a session failed on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Choice {
    /// The server is not stopped (neither DOWN nor in MAINT; haproxy's `cur_state`).
    pub(super) usable: bool,
    /// A stick rule chose it (haproxy's SF_DIRECT).
    pub(super) direct: bool,
    /// More than one active server can take the session.
    pub(super) others: bool,
    /// The algorithm is a hash (`source`, `hash`): the same server would be chosen again.
    pub(super) hash: bool,
}

/// haproxy's `sess_update_st_cer` decision after `done` failed attempts with `option
/// redispatch <interval>` (None: no redispatch): the server went down; or the interval is
/// reached (P > 0: every Pth retry; N < 0: the Nth retry before the last); or at once when
/// the server was not chosen by a stick rule, another active server can take the session
/// and the algorithm is not a hash.
pub(super) fn redispatch_due(interval: Option<i64>, retries: u32, done: u32, c: Choice) -> bool {
    let Some(interval) = interval else {
        return false;
    };
    let done = i64::from(done);
    let periodic = match interval {
        p if p > 0 => done % p == 0,
        n => {
            let every = i64::from(retries) + 1 + n;
            every > 0 && done % every == 0
        }
    };
    let immediate = !c.direct && c.others && !c.hash;
    !c.usable || periodic || immediate
}

/// A place in a queue, left on drop: a session that gives up (or is dropped while waiting)
/// frees its place, or gives back the slot it was handed meanwhile.
pub(super) struct Ticket<'a> {
    pub(super) b: &'a BackendRt,
    pub(super) seq: u64,
    pub(super) rx: Option<tokio::sync::oneshot::Receiver<usize>>,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            if !self.b.leave_queue(self.seq) {
                match rx.try_recv() {
                    Ok(crate::runtime::lb::queue::REASSIGN) | Err(_) => {}
                    Ok(s) => self.b.unclaim(s),
                }
            }
        }
    }
}

/// A server slot for a session, waiting in a queue at most `queue_to` when every server is
/// full (or the chosen one is): the server, with its slot counted, or None with the log
/// state of a session that got none (`SC` no server, `sQ` queue timeout, `SQ` the chosen
/// server's queue was full). Tw counts from the accept, as HAProxy's does: a TLS
/// handshake, a PROXY header and content inspection are in it, not only the queue.
pub(super) async fn obtain(
    b: &BackendRt,
    src: std::net::IpAddr,
    input: Option<&[u8]>,
    avoid: Option<usize>,
    pin: Pin,
    (queue_to, watch): (Duration, Option<&TcpStream>),
    log: &mut LogState,
) -> Option<usize> {
    let mut sticky = pin.server;
    let mut deadline = None;
    // The sticky server whose queue was full: leaving it is a redispatch (haproxy's
    // SF_REDISP, `+` before the retries in the log).
    let mut left: Option<usize> = None;
    loop {
        match b.assign(src, input, avoid, sticky) {
            Assigned::Now(s) => {
                log.redispatched |= left.is_some_and(|l| l != s);
                return Some(s);
            }
            // assign_server_and_queue's failures count as connection errors (econ).
            Assigned::NoServer => {
                b.connect_failed(None);
                log.term = Termination::new(Cause::ServerAbort, Phase::Connect);
                return None;
            }
            // A stick rule's server whose queue is full: with `option redispatch` the
            // session is balanced instead (haproxy's SF_DIRECT case).
            Assigned::QueueFull(s)
                if sticky.is_some()
                    && b.ir.redispatch.is_some()
                    && !pin.force
                    && !pin.preferred =>
            {
                left = Some(s);
                sticky = None;
            }
            Assigned::QueueFull(s) => {
                b.connect_failed(Some(s));
                log.server = Some(s);
                log.term = Termination::new(Cause::ServerAbort, Phase::Queue);
                return None;
            }
            Assigned::Queued(seq, line, pos, rx) => {
                let queue_of = match line {
                    Line::Server(s) => Some(s),
                    Line::Backend => None,
                };
                match line {
                    Line::Server(_) => log.queues[0] = pos,
                    Line::Backend => log.queues[1] = pos,
                }
                let mut t = Ticket {
                    b,
                    seq,
                    rx: Some(rx),
                };
                let rx = t.rx.as_mut()?;
                // `timeout queue` runs from the first time the session queued, also when
                // its server went down and it was balanced again.
                let until = *deadline.get_or_insert_with(|| tokio::time::Instant::now() + queue_to);
                let got = match watch {
                    None => tokio::time::timeout_at(until, rx).await,
                    Some(c) => tokio::select! {
                        got = tokio::time::timeout_at(until, &mut *rx) => got,
                        () = client_closed(c) => {
                            drop(t);
                            log.tw = log.since_accept();
                            log.term = Termination::new(Cause::ClientAbort, Phase::Queue);
                            log.server = None;
                            return None;
                        }
                    },
                };
                log.tw = log.since_accept();
                match got {
                    // Its server went down: balanced again, as a new session.
                    // (`force-persist` keeps its server: queued again behind it.)
                    Ok(Ok(crate::runtime::lb::queue::REASSIGN)) => {
                        t.rx = None;
                        if !pin.force {
                            sticky = None;
                            log.redispatched = true;
                        }
                        continue;
                    }
                    Ok(Ok(s)) => {
                        t.rx = None;
                        b.claim(s);
                        log.redispatched |= left.is_some_and(|l| l != s);
                        return Some(s);
                    }
                    _ => {}
                }
                drop(t);
                b.connect_failed(queue_of);
                log.term = Termination::new(Cause::ServerTimeout, Phase::Queue);
                // A server's queue leaves the session assigned to it (the log names it).
                log.server = queue_of;
                return None;
            }
        }
    }
}

/// Ends a session whose server connection was never made (its server count goes with
/// the slot `connect_phase` drops).
/// The client left while its session was connecting: `CC`.
const CLIENT_LEFT: Termination = Termination::new(Cause::ClientAbort, Phase::Connect);

/// Records a session that got no server connection on `srv` after `attempts` retries.
pub(super) fn give_up(log: &mut LogState, srv: usize, attempts: u32, term: Termination) {
    log.server = Some(srv);
    log.retries = attempts;
    log.term = term;
}

/// Waits `pause` before a retry; true when the client left meanwhile.
pub(super) async fn turnaround(client: &TcpStream, pause: Duration) -> bool {
    let pause = sleep(pause);
    tokio::pin!(pause);
    loop {
        tokio::select! {
            _ = &mut pause => return false,
            r = client.readable() => match client_state(client) {
                ClientState::Idle if r.is_ok() => continue,
                ClientState::Data => {
                    // Data is waiting: keep it for the server, finish the pause.
                    pause.as_mut().await;
                    return false;
                }
                _ => return true,
            },
        }
    }
}

/// What a peek at the client shows while no server is connected yet.
#[derive(PartialEq, Eq)]
pub(super) enum ClientState {
    /// Closed (EOF or reset) with nothing left to read.
    Gone,
    /// Data waiting for the server.
    Data,
    /// Nothing new.
    Idle,
}

/// Resolves once the client has closed its sending side (or reset), without reading
/// what it sent: through a duplicate descriptor with a readiness of its own, so the
/// session's own registration still sees its data as ready (pending forever if the
/// duplicate cannot be watched).
async fn client_closed(client: &TcpStream) {
    use std::os::fd::AsFd;
    use tokio::io::Interest;
    // A second stream on the same socket: dropping it closes only the duplicate.
    let watched = (client.as_fd().try_clone_to_owned())
        .map(std::net::TcpStream::from)
        .and_then(TcpStream::from_std);
    let Ok(dup) = watched else {
        return std::future::pending().await;
    };
    loop {
        let Ok(ready) = dup.ready(Interest::READABLE).await else {
            return std::future::pending().await;
        };
        if ready.is_read_closed() {
            return;
        }
        // Data only: wait for the next change (edge-triggered), the FIN among them.
        let _ = dup.try_io(Interest::READABLE, || {
            Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
        });
    }
}

/// Peeks through tokio so that "nothing to read" also clears the readiness flag.
pub(super) fn client_state(client: &TcpStream) -> ClientState {
    let mut b = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    match client.try_io(tokio::io::Interest::READABLE, || {
        SockRef::from(client).peek(&mut b)
    }) {
        Ok(0) => ClientState::Gone,
        Ok(_) => ClientState::Data,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ClientState::Idle,
        Err(_) => ClientState::Gone,
    }
}

pub(super) async fn write_header(server: &TcpStream, header: &[u8]) {
    let mut off = 0;
    while off < header.len() {
        if server.writable().await.is_err() {
            return;
        }
        match server.try_write(&header[off..]) {
            Ok(n) => off += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: Choice = Choice {
        usable: true,
        direct: false,
        others: true,
        hash: true,
    };

    #[test]
    fn redispatch_when_haproxy_redispatches() {
        let rr = Choice {
            hash: false,
            ..HASH
        };
        // Without `option redispatch`: never, even when the server went down.
        assert!(!redispatch_due(
            None,
            3,
            1,
            Choice {
                usable: false,
                ..rr
            }
        ));
        // Round robin with another server: at the first failure.
        assert!(redispatch_due(Some(-1), 3, 1, rr));
        // ...but not for a server a stick rule chose, nor when it is the only one.
        assert!(!redispatch_due(
            Some(-1),
            3,
            1,
            Choice { direct: true, ..rr }
        ));
        assert!(!redispatch_due(
            Some(-1),
            3,
            1,
            Choice {
                others: false,
                ..rr
            }
        ));
        // A hash: on the interval only. Default (-1) with 3 retries: the 3rd attempt.
        let due = |interval, retries| {
            (1..=retries)
                .filter(|&d| redispatch_due(Some(interval), retries, d, HASH))
                .collect::<Vec<u32>>()
        };
        assert_eq!(due(-1, 3), vec![3]);
        assert_eq!(due(-2, 4), vec![3]);
        assert_eq!(due(2, 5), vec![2, 4]);
        // A server that went down is left at once, whatever the algorithm.
        assert!(redispatch_due(
            Some(5),
            9,
            1,
            Choice {
                usable: false,
                ..HASH
            }
        ));
    }
}
