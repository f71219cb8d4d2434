//! One client connection from accept to log line: choose a server, queue when it is full,
//! connect with retries and redispatch, send the PROXY header, forward, log
//! (haproxy-subset.md §7 and §9; configuration.txt §4.2 `retries`, `option redispatch`).

mod close_log;
mod connect;
pub mod debug;
mod dial;
mod handshake;
mod http;
pub mod inspect;
pub mod listener;
mod own_conns;
mod proxy_header;
mod respond;
mod route;
mod slots;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::SockRef;
use tokio::net::TcpStream;
use tokio::time::Instant;

use self::close_log::{write_log, LogState};
use self::connect::{connect_phase, write_header, Connected};
use self::slots::{BackendSlot, ServerSlot};
pub use self::slots::{Permits, SessionSlot};
use crate::runtime::lb::state::Shared;
use crate::runtime::proto::proxy_protocol::SslInfo;
use crate::runtime::rules::vars::Vars;
use crate::runtime::stream::{Processor, Running, ServerEnd, Tcp};
use crate::runtime::termination::{Cause, Phase, Termination};

/// Handles one accepted client of frontend `li.fe` until it is logged, then gives back
/// its connection counts and `permits`.
///
/// Everything up to a connected server runs in `prepare`, boxed before the session
/// future is made, so that while a session is idle its task holds only the forwarding
/// state and what the log line needs (not the socket and addresses it started from:
/// an async fn keeps its arguments for its whole life).
pub fn run(
    shared: Arc<Shared>,
    li: Info,
    client: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    slot: SessionSlot,
) -> impl std::future::Future<Output = ()> + Send {
    // Converted to local time only when a line is logged: localtime costs syscalls.
    let accept = std::time::SystemTime::now();
    let start = Instant::now();
    let debug = crate::runtime::session::debug::enabled().then(|| {
        let id = crate::runtime::session::debug::next_id();
        let cfd = std::os::fd::AsRawFd::as_raw_fd(&client);
        crate::runtime::session::debug::accept(
            id,
            &shared.frontends[li.fe].ir.name,
            li.lfd,
            cfd,
            peer,
        );
        id
    });
    let prepared = Box::pin(prepare(
        shared.clone(),
        li.clone(),
        client,
        peer,
        local,
        (start, accept),
    ));
    async move {
        let mut server_fd = None;
        let Prepared {
            mut log,
            peer,
            be,
            fwd,
            quiet,
            tls,
            http,
        } = prepared.await;
        if let Some(st) = http {
            // Boxed: a TCP session's task must not reserve the HTTP phase's state.
            Box::pin(http::serve(
                shared.clone(),
                li.clone(),
                *st,
                accept,
                start,
                tls,
            ))
            .await;
        }
        if let (Some(bi), Some(mut w)) = (be.as_ref().map(|b| b.bi), fwd) {
            let b = &shared.backends[bi];
            // Awaited in place: moving the forwarding state into the await would reserve its
            // size twice in this future.
            #[cfg(debug_assertions)]
            fault::after_connect();
            let (end, counts) = w.forward.as_mut().await;
            b.servers[w.slot.srv].cancels.unregister(w.cid);
            log.up = counts.up + w.early;
            log.down = counts.down + w.held;
            log.term = end.termination();
            server_fd = Some(w.sfd);
            // Closes both sockets and frees the server slot before the log line.
            drop(w);
        }
        if let Some(id) = debug {
            crate::runtime::session::debug::closed(
                id,
                &shared.frontends[li.fe].ir.name,
                server_fd,
                log.up > 0,
            );
        }
        let bi = be.as_ref().map(|b| b.bi);
        drop(be);
        // The session's bytes for its frontend, backend and server.
        let bytes = (log.up, log.down);
        shared.frontends[li.fe].traffic.bytes(bytes.0, bytes.1);
        if let Some(bi) = bi {
            shared.backends[bi].count_bytes(log.server, bytes);
        }
        if !quiet {
            write_log(&shared, &li, accept, peer, bi, tls, &log, None, None);
        }
        drop(slot);
    }
}

/// What [`prepare`] leaves for the forwarding phase and the log line.
struct Prepared {
    log: LogState,
    /// Client address (from the PROXY header with `accept-proxy`).
    peer: SocketAddr,
    /// The backend when one was chosen (its `beconn` counts this session).
    be: Option<BackendSlot>,
    fwd: Option<Box<Forwarding>>,
    /// Already logged (a refused PROXY header, a failed handshake): no tcplog line.
    quiet: bool,
    /// The client connection is TLS (logged as `frontend~`).
    tls: bool,
    /// A `mode http` frontend's client, for the HTTP phase (which logs each request).
    http: Option<Box<http::Start>>,
}

impl Prepared {
    /// A session that ends before forwarding (rejected, or no server) and gets its log line.
    fn ended(log: LogState, peer: SocketAddr, be: Option<BackendSlot>, tls: bool) -> Self {
        Prepared {
            log,
            peer,
            be,
            fwd: None,
            quiet: false,
            tls,
            http: None,
        }
    }

    /// A session refused before it started (PROXY header, TLS handshake, or a stats page
    /// request): already logged in its own shape, no log line.
    fn refused(log: LogState, peer: SocketAddr, tls: bool) -> Self {
        Prepared {
            quiet: true,
            ..Prepared::ended(log, peer, None, tls)
        }
    }
}

/// A connected session ready to forward.
struct Forwarding {
    forward: Running,
    /// The server socket's descriptor, for `-d` lines.
    sfd: i32,
    cid: u64,
    /// Client bytes read before forwarding (after a PROXY header, or passed on while
    /// `tcp-response` rules held the server's first bytes).
    early: u64,
    /// Server bytes the `tcp-response` rules held before forwarding.
    held: u64,
    /// The session's count on its server, released last (after the sockets close).
    slot: ServerSlot,
}

/// What a frontend's rules read of a session before it has a backend.
pub(super) fn who<'a>(
    f: &'a crate::runtime::lb::state::FrontendRt,
    (peer, local): (SocketAddr, SocketAddr),
    ssl: &'a SslInfo,
) -> crate::runtime::rules::Who<'a> {
    crate::runtime::rules::Who {
        peer,
        local,
        fe_name: &f.ir.name,
        be: None,
        ssl,
        proc: Some(&f.proc_vars),
        tables: Some(&f.tables),
        uid: None,
        comp: None,
    }
}

async fn prepare(
    shared: Arc<Shared>,
    li: Info,
    client: TcpStream,
    mut peer: SocketAddr,
    mut local: SocketAddr,
    (start, accept): (Instant, std::time::SystemTime),
) -> Prepared {
    let (shared, li) = (&shared, &li);
    let f = &shared.frontends[li.fe];
    let mut log = LogState::new(start, Termination::new(Cause::ServerAbort, Phase::Connect));
    // `tcp-request connection` rules, before anything is read: a reject resets the
    // connection and logs nothing, as haproxy's (session_accept_fd's no-linger close).
    let mut vars = Vars::default();
    if !f.ir.inspect.connection.is_empty() {
        let none = SslInfo::default();
        let who = who(f, (peer, local), &none);
        if inspect::at_once(&f.ir.inspect.connection, &who, &mut vars) == inspect::Outcome::Reject {
            crate::runtime::lb::counters::Refused::add(&f.refused.conn);
            let _ = SockRef::from(&client).set_linger(Some(Duration::ZERO));
            return Prepared::refused(log, peer, false);
        }
    }
    // Past the connection rules, the process counts a session (and a TLS one on a TLS
    // listener), as listener_accept does once the listener's accept() kept it; the
    // accept loop did when there were none.
    let (counted, fe_counted) = listener::counted_at_accept(&f.ir, li);
    if !counted {
        shared.rates.sessions.add();
        if li.tls.is_some() {
            shared.rates.ssl.add();
        }
    }
    if let (Some(page), false) = (&f.ir.stats_page, li.tls.is_some()) {
        f.cumulated
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let limit = f.ir.timeout_client.unwrap_or(Duration::from_secs(5));
        // Boxed: its buffers would otherwise size every session's future.
        Box::pin(crate::runtime::ctl::stats_page::serve(
            shared, client, page, limit, &f.ir.name,
        ))
        .await;
        return Prepared::refused(log, peer, false);
    }
    // `accept-proxy`: the header comes first and replaces the addresses; bytes read past
    // it are the client's first data.
    let mut early = Vec::new();
    let mut authority = None;
    if li.accept_proxy {
        match proxy_header::receive(shared, li, &client, &mut peer, &mut local).await {
            Some((rest, a)) => (early, authority) = (rest, a),
            None => return Prepared::refused(log, peer, false),
        }
    }
    if f.ir.clitcpka {
        dial::keepalive(SockRef::from(&client), f.ir.clitcpka_tune);
    }
    let _ = client.set_nodelay(true);
    let tls_on = li.tls.is_some();
    let Some((client, mut ssl)) = handshake::accept(shared, li, client, &mut early, peer).await
    else {
        return Prepared::refused(log, peer, true);
    };
    ssl.authority = authority.map(Box::new);
    // `tcp-request session` rules, once the PROXY header and the handshake are done: a
    // reject closes the connection and logs nothing.
    if !f.ir.inspect.session.is_empty() {
        let who = who(f, (peer, local), &ssl);
        if inspect::at_once(&f.ir.inspect.session, &who, &mut vars) == inspect::Outcome::Reject {
            crate::runtime::lb::counters::Refused::add(&f.refused.sess);
            // Bytes read past a PROXY header were still unread in haproxy's socket: its
            // close sends a reset then, as this one does.
            if !early.is_empty() {
                let _ = SockRef::from(client.tcp()).set_linger(Some(Duration::ZERO));
            }
            // After a handshake (PROXY header, TLS) haproxy ends the embryonic session
            // with its connection-error line, whose error is none ("Success").
            if (li.accept_proxy || tls_on) && !f.ir.dontlognull {
                close_log::connection_error(shared, li, peer, "Success");
            }
            return Prepared::refused(log, peer, tls_on);
        }
    }
    // The session is established: its frontend and its counters count it
    // (session_count_new).
    f.cumulated
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if !fe_counted {
        f.sess_rate.add();
    }
    if let Some(t) = vars.trackers() {
        t.count_session();
    }
    // A TCP frontend's session is its stream (an HTTP frontend makes one per request).
    if f.ir.http.is_none() {
        log.stream = Some(shared.next_stream_id());
    }
    // The session is ready (PROXY header read, TLS established): haproxy's t_handshake.
    let needs = |l: &Option<crate::ir::log_format::LogFormat>| {
        l.as_ref()
            .map_or((false, false), |l| (l.needs_extra, l.needs_backend_source))
    };
    let ((e1, s1), (e2, s2)) = (needs(&f.ir.log_format), needs(&f.ir.unique_id_format));
    if e1 || e2 {
        log.extra = Some(Box::new(close_log::LogExtra {
            local,
            th: log.since_accept(),
            want_src: s1 || s2,
            server_addrs: None,
            session: None,
            unique_id: None,
        }));
    }
    // Without a log format haproxy says when each stream starts: in an HTTP frontend,
    // each request (see http::serve).
    if f.ir.log_format.is_none() && !f.ir.log.is_empty() && f.ir.http.is_none() {
        close_log::connect_line(shared, f, peer, local);
    }
    let th = log.since_accept();
    let to_http = |client, early, ssl, backend, log: LogState, vars| {
        let st = http::Start {
            client,
            early,
            peer,
            local,
            ssl,
            th,
            backend,
            vars,
            stream: log.stream,
        };
        Prepared {
            http: Some(Box::new(st)),
            ..Prepared::refused(log, peer, tls_on)
        }
    };
    if f.ir.http.is_some() {
        return to_http(client, early, ssl, None, log, vars);
    }
    let mut client = client;
    // The stream's unique id, when a rule reads it before the log line: boxed apart, so
    // that sessions of frontends without one do not reserve its room.
    let routed = if f.ir.unique_id_format.is_some() {
        let made = (accept, start, log.stream, th);
        let io = (&mut client, &mut early, &mut log, &mut vars);
        let (routed, id) =
            Box::pin(route_with_id(shared, li, f, io, (peer, local, &ssl), made)).await;
        if let Some(id) = id {
            close_log::keep_unique_id(&mut log, local, id);
        }
        routed
    } else {
        route::route(
            shared,
            f,
            &mut client,
            &mut early,
            (peer, local, &ssl),
            &mut log,
            (&mut vars, None),
        )
        .await
    };
    let (be, keys, pin) = match routed {
        route::Routed::To { be, keys, pin } => (be, keys, pin),
        route::Routed::Ended(be) => {
            close_log::keep_session(f, &mut log, (&ssl, local), vars);
            return Prepared::ended(log, peer, be, tls_on);
        }
    };
    let bi = be.bi;
    if shared.backends[bi].ir.mode == crate::ir::Mode::Http {
        // A TCP frontend reaching an HTTP backend: haproxy upgrades the stream to HTTP,
        // with what the inspection read as the start of the first request. Each request
        // is then logged in the frontend's format.
        drop(be);
        return to_http(client, early, ssl, Some(bi), log, vars);
    }
    // Nothing reads the variables past the routing but the log line, and the request's
    // are gone once the server connection is asked for (process_stream prunes them).
    vars.to_response();
    let b = &shared.backends[bi];
    let table = |i: usize| shared.tables.get(b.ir.stick_rules[i].table);
    let key = match &b.ir.balance {
        crate::ir::Balance::Hash(sample) => inspect::hash_input(sample, peer.ip()),
        _ => None,
    };
    // `proxy-v2-options unique-id` sends the stream's id: made now if no rule made it
    // (haproxy's stream_generate_unique_id when the header is built), and logged the same.
    let wants_id = f.ir.unique_id_format.is_some()
        && b.servers
            .iter()
            .any(|s| s.ir.send_proxy == crate::ir::SendProxy::V2 && s.ir.proxy_v2.unique_id);
    let made_id = |log: &LogState| log.extra.as_ref().and_then(|e| e.unique_id.clone());
    if wants_id && made_id(&log).is_none() {
        let mut w = who(f, (peer, local), &ssl);
        w.be = Some(b);
        let ctx = crate::runtime::rules::Ctx::tcp(&w, &early, false);
        let at = (accept, start, log.stream, th);
        let id = close_log::unique_id_now(shared, li, at, (peer, tls_on), None, &ctx);
        close_log::keep_unique_id(&mut log, local, id);
    }
    let uid = if wants_id { made_id(&log) } else { None };
    let pp = crate::runtime::proto::proxy_protocol::V2Facts {
        ssl: Some(&ssl),
        unique_id: uid.as_deref().unwrap_or(""),
    };
    let Some(c) = connect_phase(
        f,
        (shared, bi),
        client.tcp(),
        peer,
        local,
        &early,
        pp,
        (pin, key.as_deref()),
        start,
        &mut log,
        (None, None),
        None,
    )
    .await
    else {
        // Client bytes read with the PROXY header, and the ones that came meanwhile,
        // count as received (%U, bin, dontlognull), as haproxy has read them.
        log.up = early.len() as u64 + client.drain();
        close_log::keep_session(f, &mut log, (&ssl, local), vars);
        return Prepared::ended(log, peer, Some(be), tls_on);
    };
    let Connected {
        server,
        slot,
        first,
        t,
        ..
    } = c;
    let srv = slot.srv;
    // Stored once the server is connected, as HAProxy commits store rules.
    for (i, k) in keys {
        if let (true, Some(t)) = (b.ir.stick_rules[i].store, table(i)) {
            t.store(k, srv);
        }
    }
    let mut server = server;
    if !first.is_empty() {
        match &mut server {
            // The header and any early client bytes leave in one write, as HAProxy sends them.
            ServerEnd::Plain(s) => write_header(s, &first).await,
            ServerEnd::Tls(s) => {
                use tokio::io::AsyncWriteExt;
                let _ = s.write_all(&first).await;
                let _ = s.flush().await;
            }
        }
    }
    let mut up = early.len() as u64;
    let mut down = 0;
    if !b.ir.response.rules.is_empty() {
        let mut who = who(f, (peer, local), &ssl);
        who.be = Some(b);
        let got = respond::inspect(
            &mut client,
            &mut server,
            &b.ir.response,
            &who,
            &mut vars,
            &t,
        );
        let got = Box::pin(got).await;
        up += got.up;
        down = got.held.len() as u64;
        if let respond::Verdict::Decided(inspect::Outcome::Accept) = got.verdict {
            respond::release(&mut client, &mut server, &got.held, &got.pending).await;
        } else {
            if let respond::Verdict::Decided(inspect::Outcome::Reject) = got.verdict {
                crate::runtime::lb::counters::denied_response(f, b, slot.srv);
            }
            (log.up, log.down) = (up, down);
            log.term = respond::close(client, server, got).await;
            close_log::keep_session(f, &mut log, (&ssl, local), vars);
            drop(slot);
            return Prepared::ended(log, peer, Some(be), tls_on);
        }
    }
    close_log::keep_session(f, &mut log, (&ssl, local), vars);
    // haproxy's logwait met once the server connection is up (`option logasap`, or a
    // format that waits for nothing): the line now, with what is known now.
    let mut logged = false;
    if f.ir.log_at == crate::ir::LogAt::Early {
        log.early = true;
        log.term = Termination::NORMAL;
        log.up = up;
        logged = write_log(shared, li, accept, peer, Some(bi), tls_on, &log, None, None);
        // Held back (dontlog-normal): the line at the end decides, as haproxy's does.
        log.early = false;
    }
    // Registered so a hard stop or `on-marked-down shutdown-sessions` can end it.
    let (cid, cancel) = b.servers[srv].cancels.register();
    let sfd = std::os::fd::AsRawFd::as_raw_fd(server.tcp());
    let forward = Tcp.start(client, server, t, cancel);
    Prepared {
        log,
        peer,
        be: Some(be),
        fwd: Some(Box::new(Forwarding {
            forward,
            sfd,
            cid,
            early: up,
            held: down,
            slot,
        })),
        tls: tls_on,
        quiet: logged,
        http: None,
    }
}

/// The routing phase of a frontend with a `unique-id-format`: the id a rule made, if
/// any, comes back with the route.
async fn route_with_id(
    shared: &Arc<Shared>,
    li: &Info,
    f: &crate::runtime::lb::state::FrontendRt,
    (client, early, log, vars): (
        &mut crate::runtime::stream::ClientEnd,
        &mut Vec<u8>,
        &mut LogState,
        &mut Vars,
    ),
    (peer, local, ssl): (SocketAddr, SocketAddr, &SslInfo),
    made: (std::time::SystemTime, Instant, Option<u32>, i64),
) -> (route::Routed, Option<Box<str>>) {
    let tls = li.tls.is_some();
    let uid = crate::runtime::rules::IdMaker::new(move |ctx: &crate::runtime::rules::Ctx| {
        close_log::unique_id_now(shared, li, made, (peer, tls), None, ctx)
    });
    let routed = route::route(
        shared,
        f,
        client,
        early,
        (peer, local, ssl),
        log,
        (vars, Some(&uid)),
    )
    .await;
    (routed, uid.into_inner())
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
    pub tls: Option<std::sync::Arc<crate::runtime::tls::server::Terminator>>,
    /// The listening socket's descriptor (for `-d` lines).
    pub lfd: i32,
}

/// Fault injection for the test suite, in builds with debug assertions only (the `ci`
/// profile the tests run): `HAPROXIDE_FAULT=panic-after-connect` makes every session
/// panic once its server is connected, to show that nothing it counted is leaked.
#[cfg(debug_assertions)]
mod fault {
    use std::sync::OnceLock;

    pub(super) fn after_connect() {
        static ON: OnceLock<bool> = OnceLock::new();
        if *ON.get_or_init(|| {
            std::env::var("HAPROXIDE_FAULT").is_ok_and(|v| v == "panic-after-connect")
        }) {
            panic!("HAPROXIDE_FAULT=panic-after-connect");
        }
    }
}
