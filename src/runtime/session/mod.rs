//! One client connection from accept to log line: choose a server, queue when it is full,
//! connect with retries and redispatch, send the PROXY header, forward, log
//! (haproxy-subset.md §7 and §9; configuration.txt §4.2 `retries`, `option redispatch`).

pub mod debug;
pub mod inspect;
pub mod listener;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use chrono::Local;
use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

use crate::ir::{Balance, SendProxy};
use crate::runtime::lb::queue::Line;
use crate::runtime::lb::state::{Assigned, BackendRt, FrontendRt, Shared};
use crate::runtime::log::format::{render, Facts};
use crate::runtime::log::level;
use crate::runtime::proto::proxy_protocol::{self, SslInfo};
use crate::runtime::stream::forward::{forward, Timeouts};

/// Why no server connection was made.
enum ConnectFail {
    /// Refused, reset or unreachable on the last attempt.
    Refused,
    /// The last attempt timed out.
    Timeout,
    /// The server's certificate is not for the SNI sent: HAProxy retries at once, without
    /// the turn-around pause (a `verifyhost` mismatch is an ordinary failure).
    NameMismatch,
}

/// The process and frontend `maxconn` slots a session holds until it ends.
pub type Permits = (
    tokio::sync::OwnedSemaphorePermit,
    Option<tokio::sync::OwnedSemaphorePermit>,
    Option<tokio::sync::OwnedSemaphorePermit>,
);

/// What an accepted session holds of the process and its frontend (`actconn`, `feconn`,
/// the `maxconn` slots): given back when dropped, so a session that ends any way at all,
/// a panic included, leaves no count behind (a soft-stopped process waits for these).
pub struct SessionSlot {
    shared: Arc<Shared>,
    fe: usize,
    _permits: Permits,
}

impl SessionSlot {
    /// Counts a session just accepted on frontend `fe`.
    pub fn new(shared: Arc<Shared>, fe: usize, permits: Permits) -> Self {
        shared.actconn.fetch_add(1, Relaxed);
        shared.frontends[fe].feconn.fetch_add(1, Relaxed);
        shared.frontends[fe].cumulated.fetch_add(1, Relaxed);
        SessionSlot {
            shared,
            fe,
            _permits: permits,
        }
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.shared.frontends[self.fe].feconn.fetch_sub(1, Relaxed);
        self.shared.actconn.fetch_sub(1, Relaxed);
        self.shared.session_ended();
    }
}

/// A session counted on a backend (`beconn`) until dropped.
struct BackendSlot {
    shared: Arc<Shared>,
    bi: usize,
}

impl BackendSlot {
    fn new(shared: &Arc<Shared>, bi: usize) -> Self {
        let b = &shared.backends[bi];
        b.beconn.fetch_add(1, Relaxed);
        b.cumulated.fetch_add(1, Relaxed);
        BackendSlot {
            shared: shared.clone(),
            bi,
        }
    }
}

impl Drop for BackendSlot {
    fn drop(&mut self) {
        self.shared.backends[self.bi].beconn.fetch_sub(1, Relaxed);
    }
}

/// A session's slot on a server (from `BackendRt::assign`, at once or from a queue) until
/// dropped; dropping it hands the slot to the oldest waiting session.
struct ServerSlot {
    shared: Arc<Shared>,
    bi: usize,
    srv: usize,
}

impl Drop for ServerSlot {
    fn drop(&mut self) {
        self.shared.backends[self.bi].release(self.srv);
    }
}

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
        start,
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
        } = prepared.await;
        if let (Some(bi), Some(mut w)) = (be.as_ref().map(|b| b.bi), fwd) {
            let b = &shared.backends[bi];
            // Awaited in place: moving the forwarding state into the await would reserve its
            // size twice in this future.
            #[cfg(debug_assertions)]
            fault::after_connect();
            let (end, counts) = w.forward.as_mut().await;
            b.servers[w.slot.srv].cancels.unregister(w.cid);
            log.up = counts.up + w.early;
            log.down = counts.down;
            log.term = end.code();
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
        if !quiet {
            write_log(&shared, &li, accept, start, peer, bi, tls, &log);
        }
        drop(slot);
    }
}

/// The client side of a session: plain TCP, or TLS over it.
enum ClientConn {
    Plain(TcpStream),
    Tls(Box<crate::runtime::tls::stream::TlsServer>),
}

impl ClientConn {
    /// Runs content inspection on this client's data, appending what it reads to `buf`
    /// (sent to the server first); false when the rules reject the connection.
    async fn inspect(&mut self, buf: &mut Vec<u8>, insp: &crate::ir::Inspect) -> bool {
        let (v, _) = match self {
            ClientConn::Plain(s) => crate::runtime::session::inspect::run(s, buf, insp).await,
            ClientConn::Tls(s) => {
                crate::runtime::session::inspect::run(s.as_mut(), buf, insp).await
            }
        };
        v == crate::runtime::session::inspect::Outcome::Accept
    }

    /// Reads and discards what the client already sent (up to HAProxy's buffer size) so
    /// that closing sends a FIN, not the reset the kernel sends over unread data: HAProxy
    /// has read those bytes when it gives up on a session that never reached a server.
    fn drain(&self) {
        let mut buf = [0u8; 4096];
        let mut left = 16384usize;
        while left > 0 {
            match self.tcp().try_read(&mut buf[..left.min(4096)]) {
                Ok(n) if n > 0 => left -= n,
                _ => break,
            }
        }
    }

    /// The TCP socket underneath (for peeks while connecting).
    fn tcp(&self) -> &TcpStream {
        match self {
            ClientConn::Plain(s) => s,
            ClientConn::Tls(s) => s.tcp(),
        }
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
}

impl Prepared {
    /// A session that ends before forwarding (refused, rejected, or no server).
    fn ended(
        log: LogState,
        peer: SocketAddr,
        be: Option<BackendSlot>,
        quiet: bool,
        tls: bool,
    ) -> Self {
        Prepared {
            log,
            peer,
            be,
            fwd: None,
            quiet,
            tls,
        }
    }
}

/// The result of forwarding (plain or TLS).
type Forwarder = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = (
                    crate::runtime::stream::forward::End,
                    crate::runtime::stream::forward::Counts,
                ),
            > + Send,
    >,
>;

/// A connected session ready to forward.
struct Forwarding {
    forward: Forwarder,
    /// The server socket's descriptor, for `-d` lines.
    sfd: i32,
    cid: u64,
    /// Client bytes read before forwarding (after a PROXY header).
    early: u64,
    /// The session's count on its server, released last (after the sockets close).
    slot: ServerSlot,
}

async fn prepare(
    shared: Arc<Shared>,
    li: Info,
    client: TcpStream,
    mut peer: SocketAddr,
    mut local: SocketAddr,
    start: Instant,
) -> Prepared {
    let (shared, li) = (&shared, &li);
    let f = &shared.frontends[li.fe];
    let mut log = LogState {
        tw: -1,
        tc: -1,
        server: None,
        retries: 0,
        redispatched: false,
        term: *b"SC",
        up: 0,
        down: 0,
        queues: [0, 0],
        start,
        local,
        th: 0,
        server_addrs: None,
    };
    if let (Some(page), false) = (&f.ir.stats_page, li.tls.is_some()) {
        let limit = f.ir.timeout_client.unwrap_or(Duration::from_secs(5));
        crate::runtime::ctl::stats_page::serve(shared, client, page, limit).await;
        return Prepared::ended(log, peer, None, true, false);
    }
    // `accept-proxy`: the header comes first and replaces the addresses; bytes read past
    // it are the client's first data.
    let mut early = Vec::new();
    if li.accept_proxy {
        let limit = f.ir.timeout_client.unwrap_or(Duration::from_secs(5));
        match read_proxy_header(&client, limit).await {
            Ok((got, rest)) => {
                if let proxy_protocol::Received::Proxied { src, dst } = got {
                    peer = src;
                    local = dst;
                }
                early = rest;
            }
            Err(msg) => {
                // Logged in HAProxy's connection-error shape: "ip:port [date] fe/listener: why".
                let when = Local::now().format("%d/%b/%Y:%H:%M:%S%.3f");
                let line = format!(
                    "{} [{when}] {}/{}: {msg}",
                    crate::runtime::log::fmt_addr(peer),
                    f.ir.name,
                    li.id
                );
                shared.logger.send(&f.ir.log, level::INFO, &line);
                return Prepared::ended(log, peer, None, true, false);
            }
        }
    }
    if f.ir.clitcpka {
        let _ = SockRef::from(&client).set_keepalive(true);
    }
    let _ = client.set_nodelay(true);
    // TLS termination: the handshake is bounded by `timeout client`, as in HAProxy.
    let tls_on = li.tls.is_some();
    let mut ssl = SslInfo::default();
    let client = match &li.tls {
        None => ClientConn::Plain(client),
        Some(cfg) => {
            let limit = f.ir.timeout_client.unwrap_or(Duration::from_secs(5));
            // Bytes read past a PROXY header are the start of the ClientHello.
            let hello = std::mem::take(&mut early);
            let hs = crate::runtime::tls::stream::TlsServer::accept(cfg.clone(), client, hello);
            match timeout(limit, hs).await {
                Ok(Ok(s)) => {
                    let conn = s.conn();
                    ssl.tls = true;
                    ssl.version =
                        crate::runtime::tls::server::version_name(conn.protocol_version());
                    ssl.alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
                    if let Some(leaf) = conn.peer_certificates().and_then(|c| c.first()) {
                        ssl.cert = true;
                        ssl.cn = crate::runtime::tls::server::subject_cn(leaf);
                    }
                    ClientConn::Tls(Box::new(s))
                }
                _ => {
                    let when = Local::now().format("%d/%b/%Y:%H:%M:%S%.3f");
                    let line = format!(
                        "{} [{when}] {}/{}: SSL handshake failure",
                        crate::runtime::log::fmt_addr(peer),
                        f.ir.name,
                        li.id
                    );
                    shared.logger.send(&f.ir.log, level::INFO, &line);
                    return Prepared::ended(log, peer, None, true, true);
                }
            }
        }
    };
    // The session is ready (PROXY header read, TLS established): haproxy's t_handshake.
    log.local = local;
    log.th = log.since_accept();
    if f.ir.log_format.is_none() && !f.ir.log.is_empty() {
        let msg = format!(
            "Connect from {} to {} ({}/TCP)",
            crate::runtime::log::fmt_addr(peer),
            crate::runtime::log::fmt_addr(local),
            f.ir.name
        );
        shared.logger.send(&f.ir.log, level::INFO, &msg);
    }
    let mut client = client;
    if !f.ir.inspect.rules.is_empty() && !client.inspect(&mut early, &f.ir.inspect).await {
        rejected(&client, &mut log, &early);
        return Prepared::ended(log, peer, None, false, tls_on);
    }
    let Some(bi) = f.ir.default_backend else {
        log.up = early.len() as u64;
        client.drain();
        return Prepared::ended(log, peer, None, false, tls_on);
    };
    let b = &shared.backends[bi];
    let be = BackendSlot::new(shared, bi);
    if !b.ir.inspect.rules.is_empty() && !client.inspect(&mut early, &b.ir.inspect).await {
        rejected(&client, &mut log, &early);
        return Prepared::ended(log, peer, Some(be), false, tls_on);
    }
    // `stick` rules: the first stored server found wins over balancing when it is up.
    let keys = if b.ir.stick_rules.is_empty() {
        Vec::new()
    } else {
        crate::runtime::session::inspect::stick_keys(&shared.backends, b, &early, peer.ip())
    };
    let table = |i: usize| shared.backends[b.ir.stick_rules[i].table].stick.as_ref();
    let sticky = keys
        .iter()
        .filter(|(i, _)| b.ir.stick_rules[*i].lookup)
        .find_map(|(i, k)| table(*i)?.lookup(k));
    let Some(c) = connect_phase(
        f,
        (shared, bi),
        client.tcp(),
        peer,
        local,
        &early,
        &ssl,
        sticky,
        start,
        &mut log,
    )
    .await
    else {
        // Client bytes read with the PROXY header count as received (%U, dontlognull).
        log.up = early.len() as u64;
        client.drain();
        return Prepared::ended(log, peer, Some(be), false, tls_on);
    };
    let Connected {
        server,
        slot,
        first,
        t,
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
            ServerConn::Plain(s) => write_header(s, &first).await,
            ServerConn::Tls(s) => {
                use tokio::io::AsyncWriteExt;
                let _ = s.write_all(&first).await;
                let _ = s.flush().await;
            }
        }
    }
    // Registered so a hard stop or `on-marked-down shutdown-sessions` can end it.
    let (cid, cancel) = b.servers[srv].cancels.register();
    let sfd = std::os::fd::AsRawFd::as_raw_fd(server.tcp());
    let forward: Forwarder = match (client, server) {
        (ClientConn::Plain(c), ServerConn::Plain(s)) => Box::pin(forward(c, s, t, cancel)),
        (ClientConn::Tls(c), ServerConn::Plain(s)) => Box::pin(
            crate::runtime::stream::forward_tls::forward_tls(*c, s, t, cancel),
        ),
        (ClientConn::Plain(c), ServerConn::Tls(s)) => Box::pin(
            crate::runtime::stream::forward_tls::forward_tls(c, *s, t, cancel),
        ),
        (ClientConn::Tls(c), ServerConn::Tls(s)) => Box::pin(
            crate::runtime::stream::forward_tls::forward_tls(*c, *s, t, cancel),
        ),
    };
    Prepared {
        log,
        peer,
        be: Some(be),
        fwd: Some(Box::new(Forwarding {
            forward,
            sfd,
            cid,
            early: early.len() as u64,
            slot,
        })),
        tls: tls_on,
        quiet: false,
    }
}

/// A `tcp-request content reject`: HAProxy closes without lingering and logs "PR".
fn rejected(client: &ClientConn, log: &mut LogState, read: &[u8]) {
    let _ = SockRef::from(client.tcp()).set_linger(Some(Duration::ZERO));
    log.term = *b"PR";
    log.up = read.len() as u64;
}

/// Writes the session's tcplog line (when the frontend logs it).
#[allow(clippy::too_many_arguments)]
fn write_log(
    shared: &Shared,
    li: &Info,
    accept: std::time::SystemTime,
    start: Instant,
    peer: SocketAddr,
    be: Option<usize>,
    tls: bool,
    log: &LogState,
) {
    let f = &shared.frontends[li.fe];
    let tt = start.elapsed().as_millis() as i64;
    let (be_name, be_conn, srv_conn, queues) = match be {
        Some(bi) => {
            let b = &shared.backends[bi];
            let sc = log
                .server
                .map(|s| b.servers[s].sessions.load(Relaxed))
                .unwrap_or(0);
            // HAProxy reports the queue position the session had, not the queue at log time.
            (b.ir.name.as_str(), b.beconn.load(Relaxed), sc, log.queues)
        }
        None => (f.ir.name.as_str(), 0, 0, [0, 0]),
    };
    let Some(fmt) = f.ir.log_format.as_ref() else {
        return;
    };
    if f.ir.dontlognull && log.up == 0 {
        return;
    }
    let mut facts = Facts {
        client: Some(peer),
        frontend_addr: Some(log.local),
        backend_src: log.server_addrs.and_then(|a| a.0),
        server_addr: log.server_addrs.map(|a| a.1),
        accept: chrono::DateTime::<Local>::from(accept),
        frontend: &f.ir.name,
        tls,
        backend: be_name,
        server: match (be, log.server) {
            (Some(bi), Some(s)) => Some(shared.backends[bi].servers[s].ir.name.as_str()),
            _ => None,
        },
        th: log.th,
        t_queue: log.tw,
        tc: log.tc,
        tt,
        bytes_down: log.down,
        bytes_up: log.up,
        term: log.term,
        conns: [
            shared.actconn.load(Relaxed),
            f.feconn.load(Relaxed),
            be_conn,
            srv_conn,
        ],
        retries: log.retries,
        redispatched: log.redispatched,
        queues,
        unique_id: None,
        hostname: crate::runtime::log::hostname(),
        pid: std::process::id(),
    };
    // haproxy renders the unique id at log time in TCP mode, at most 127 bytes.
    let mut id = String::new();
    if let Some(u) = &f.ir.unique_id_format {
        render(u, &facts, &mut id);
        let mut end = id.len().min(127);
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        id.truncate(end);
        facts.unique_id = Some(&id);
    }
    let mut line = String::with_capacity(128);
    render(fmt, &facts, &mut line);
    shared.logger.send(&f.ir.log, level::INFO, &line);
}

struct LogState {
    tw: i64,
    tc: i64,
    server: Option<usize>,
    retries: u32,
    redispatched: bool,
    term: [u8; 2],
    up: u64,
    down: u64,
    /// 1-based position in the server's and in the backend's queue when this session had
    /// to wait (0: not queued there).
    queues: [u32; 2],
    /// The accept.
    start: Instant,
    /// The address the client connected to (the PROXY header's destination with
    /// `accept-proxy`).
    local: SocketAddr,
    /// Accept to session ready, ms.
    th: i64,
    /// Source (when the log line needs it) and destination of the server connection,
    /// from the last connection attempt.
    server_addrs: Option<(Option<SocketAddr>, SocketAddr)>,
}

impl LogState {
    /// Milliseconds since the accept.
    fn since_accept(&self) -> i64 {
        self.start.elapsed().as_millis() as i64
    }
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

/// A server connection ready for forwarding.
struct Connected {
    server: ServerConn,
    slot: ServerSlot,
    /// PROXY header and client bytes read early, sent before anything else.
    first: Vec<u8>,
    t: Timeouts,
}

#[allow(clippy::too_many_arguments)]
async fn connect_phase(
    f: &FrontendRt,
    (shared, bi): (&Arc<Shared>, usize),
    client: &TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    early: &[u8],
    ssl: &SslInfo,
    sticky: Option<usize>,
    start: Instant,
    log: &mut LogState,
) -> Option<Connected> {
    let b = &shared.backends[bi];
    let connect_to = b.ir.timeout_connect.unwrap_or(Duration::from_secs(86400));
    let queue_to =
        b.ir.timeout_queue
            .or(b.ir.timeout_connect)
            .unwrap_or(Duration::from_secs(86400));
    // A server a stick rule chose is "direct" (haproxy's SF_DIRECT): it is left only on
    // the redispatch interval or when it went down.
    let input = match &b.ir.balance {
        Balance::Hash(sample) => crate::runtime::session::inspect::hash_input(sample, peer.ip()),
        _ => None,
    };
    let mut direct = sticky.is_some();
    let mut srv = Box::pin(obtain(
        b,
        peer.ip(),
        input.as_deref(),
        None,
        sticky,
        queue_to,
        log,
    ))
    .await?;
    direct &= sticky == Some(srv);
    let taken = |srv| ServerSlot {
        shared: shared.clone(),
        bi,
        srv,
    };
    let mut slot = taken(srv);
    log.tw = start.elapsed().as_millis() as i64;
    let c_start = Instant::now();
    let mut attempt = 0u32;
    // The source address costs a getsockname(): only for a log line that prints it.
    let want_src =
        f.ir.log_format
            .as_ref()
            .is_some_and(|l| l.uses_backend_source());
    let server = loop {
        let target = b.servers[srv].target(local.port());
        let src = (want_src, &mut log.server_addrs);
        let got = match Box::pin(connect(target, b, srv, connect_to, src)).await {
            Ok(s) => match &b.servers[srv].tls {
                None => Ok(ServerConn::Plain(s)),
                // The PROXY header goes first, in clear, then the handshake, all within
                // `timeout connect` (HAProxy counts the handshake in the connection).
                Some(c) => {
                    let header = proxy_header(&b.servers[srv].ir, peer, local, ssl);
                    Box::pin(secure(c, s, &header, connect_to)).await
                }
            },
            Err(f) => Err(f),
        };
        match got {
            Ok(s) => break s,
            Err(fail) => {
                if attempt >= b.ir.retries {
                    let term = match fail {
                        ConnectFail::Refused => *b"SC",
                        ConnectFail::Timeout => *b"sC",
                        ConnectFail::NameMismatch => *b"SC",
                    };
                    {
                        give_up(log, srv, attempt, term);
                        return None;
                    }
                }
                attempt += 1;
                if redispatch_now(b, srv, direct, attempt) {
                    // Redispatch: the next server in rotation, without a turn-around pause.
                    // The first server's slot goes back first (to a waiting session, if
                    // any); the new choice may queue as a new session would. A hash may
                    // pick the same server again: not shown as redispatched, but, as in
                    // haproxy, retried at once and Tw counts to this choice.
                    let avoid = Some(srv);
                    drop(slot);
                    let Some(next) = Box::pin(obtain(
                        b,
                        peer.ip(),
                        input.as_deref(),
                        avoid,
                        None,
                        queue_to,
                        log,
                    ))
                    .await
                    else {
                        log.retries = attempt;
                        return None;
                    };
                    slot = taken(next);
                    log.redispatched |= next != srv;
                    log.tw = start.elapsed().as_millis() as i64;
                    srv = next;
                    direct = false;
                    continue;
                }
                // A client that already went away ends the attempts: "CC" as in HAProxy.
                if client_state(client) == ClientState::Gone {
                    {
                        give_up(log, srv, attempt, *b"CC");
                        return None;
                    }
                }
                if let ConnectFail::Refused = fail {
                    // HAProxy's turn-around delay before retrying the same server; a client
                    // leaving meanwhile ends the attempts.
                    let pause = connect_to.min(Duration::from_secs(1));
                    if Box::pin(turnaround(client, pause)).await {
                        {
                            give_up(log, srv, attempt, *b"CC");
                            return None;
                        }
                    }
                }
            }
        }
    };
    log.tc = c_start.elapsed().as_millis() as i64;
    log.server = Some(srv);
    log.retries = attempt;

    if b.ir.srvtcpka {
        let _ = SockRef::from(server.tcp()).set_keepalive(true);
    }
    let _ = server.tcp().set_nodelay(true);
    let header = match server {
        ServerConn::Plain(_) => proxy_header(&b.servers[srv].ir, peer, local, ssl),
        // Already sent before the handshake.
        ServerConn::Tls(_) => Vec::new(),
    };
    let t = Timeouts {
        client: f.ir.timeout_client,
        server: b.ir.timeout_server,
        // HAProxy takes the tunnel timeout from the backend only.
        tunnel: b.ir.timeout_tunnel,
        client_fin: f.ir.timeout_client_fin,
        server_fin: b.ir.timeout_server_fin,
    };
    let mut first = header;
    first.extend_from_slice(early);
    Some(Connected {
        server,
        slot,
        first,
        t,
    })
}

/// The PROXY header `srv` wants for this client (empty without send-proxy).
fn proxy_header(
    srv: &crate::ir::Server,
    peer: SocketAddr,
    local: SocketAddr,
    ssl: &SslInfo,
) -> Vec<u8> {
    match srv.send_proxy {
        SendProxy::None => Vec::new(),
        SendProxy::V1 => proxy_protocol::v1(peer, local),
        SendProxy::V2 => {
            proxy_protocol::v2(peer, local, srv.proxy_v2.ssl, srv.proxy_v2.cert_cn, ssl)
        }
    }
}

/// The server side of a session: plain TCP, or TLS over it (`server … ssl`).
enum ServerConn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl ServerConn {
    fn tcp(&self) -> &TcpStream {
        match self {
            ServerConn::Plain(s) => s,
            ServerConn::Tls(s) => s.get_ref().0,
        }
    }
}

/// Sends `header` in clear, then opens TLS to the server within `limit`. A failed or late
/// handshake counts as a failed connection (retried like one).
async fn secure(
    c: &crate::runtime::tls::client::Connector,
    tcp: TcpStream,
    header: &[u8],
    limit: Duration,
) -> Result<ServerConn, ConnectFail> {
    let hs = async {
        write_header(&tcp, header).await;
        c.tls.connect(c.name.clone(), tcp).await
    };
    match timeout(limit, hs).await {
        Ok(Ok(t)) => Ok(ServerConn::Tls(Box::new(t))),
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

/// Reads a PROXY v1/v2 header within `limit`; returns it and any bytes read after it, or
/// HAProxy's error text.
async fn read_proxy_header(
    client: &TcpStream,
    limit: Duration,
) -> Result<(proxy_protocol::Received, Vec<u8>), &'static str> {
    let mut buf = Vec::with_capacity(128);
    let read = async {
        loop {
            if client.readable().await.is_err() {
                return Err("Connection error while waiting for PROXY protocol header");
            }
            let mut chunk = [0u8; 512];
            match client.try_read(&mut chunk) {
                Ok(0) => return Err("Connection closed while waiting for PROXY protocol header"),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return Err("Connection error while waiting for PROXY protocol header"),
            }
            match proxy_protocol::decode(&buf) {
                Ok((r, len)) => return Ok((r, buf[len..].to_vec())),
                Err(proxy_protocol::HeaderError::Incomplete)
                    if buf.len() < proxy_protocol::MAX_HEADER => {}
                Err(e) => return Err(e.text()),
            }
        }
    };
    match timeout(limit, read).await {
        Ok(r) => r,
        Err(_) => Err("Timeout while waiting for PROXY protocol header"),
    }
}

/// Whether the `done`-th failed attempt on `srv` moves the session to another server, as
/// haproxy's `sess_update_st_cer` decides: the server went down; or the redispatch
/// interval is reached (P > 0: every Pth retry; N < 0: the Nth retry before the last);
/// or at once when the server was not chosen by a stick rule, more than one active server
/// can take it and the algorithm is not a hash (`source`, `hash`).
fn redispatch_now(b: &BackendRt, srv: usize, direct: bool, done: u32) -> bool {
    let Some(interval) = b.ir.redispatch else {
        return false;
    };
    let done = i64::from(done);
    let periodic = match interval {
        p if p > 0 => done % p == 0,
        n => {
            let every = i64::from(b.ir.retries) + 1 + n;
            every > 0 && done % every == 0
        }
    };
    let immediate = !direct && b.active_usable() > 1 && !b.ir.balance.is_hash();
    !b.usable(srv) || periodic || immediate
}

/// A place in a queue, left on drop: a session that gives up (or is dropped while waiting)
/// frees its place, or gives back the slot it was handed meanwhile.
struct Ticket<'a> {
    b: &'a BackendRt,
    seq: u64,
    rx: Option<tokio::sync::oneshot::Receiver<usize>>,
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
async fn obtain(
    b: &BackendRt,
    src: std::net::IpAddr,
    input: Option<&[u8]>,
    avoid: Option<usize>,
    sticky: Option<usize>,
    queue_to: Duration,
    log: &mut LogState,
) -> Option<usize> {
    let mut sticky = sticky;
    let mut deadline = None;
    loop {
        match b.assign(src, input, avoid, sticky) {
            Assigned::Now(s) => return Some(s),
            Assigned::NoServer => {
                log.term = *b"SC";
                return None;
            }
            // A stick rule's server whose queue is full: with `option redispatch` the
            // session is balanced instead (haproxy's SF_DIRECT case).
            Assigned::QueueFull(_) if sticky.is_some() && b.ir.redispatch.is_some() => {
                sticky = None;
            }
            Assigned::QueueFull(s) => {
                log.server = Some(s);
                log.term = *b"SQ";
                return None;
            }
            Assigned::Queued(seq, line, pos, rx) => {
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
                let got = tokio::time::timeout_at(until, rx).await;
                log.tw = log.since_accept();
                match got {
                    // Its server went down: balanced again, as a new session.
                    Ok(Ok(crate::runtime::lb::queue::REASSIGN)) => {
                        t.rx = None;
                        sticky = None;
                        log.redispatched = true;
                        continue;
                    }
                    Ok(Ok(s)) => {
                        t.rx = None;
                        b.claim(s);
                        return Some(s);
                    }
                    _ => {}
                }
                drop(t);
                log.term = *b"sQ";
                log.server = None;
                return None;
            }
        }
    }
}

/// Ends a session whose server connection was never made (its server count goes with
/// the slot `connect_phase` drops).
fn give_up(log: &mut LogState, srv: usize, attempts: u32, term: [u8; 2]) {
    log.server = Some(srv);
    log.retries = attempts;
    log.term = term;
}

/// Waits `pause` before a retry; true when the client left meanwhile.
async fn turnaround(client: &TcpStream, pause: Duration) -> bool {
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
enum ClientState {
    /// Closed (EOF or reset) with nothing left to read.
    Gone,
    /// Data waiting for the server.
    Data,
    /// Nothing new.
    Idle,
}

/// Peeks through tokio so that "nothing to read" also clears the readiness flag.
fn client_state(client: &TcpStream) -> ClientState {
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

async fn write_header(server: &TcpStream, header: &[u8]) {
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

async fn connect(
    target: Option<SocketAddr>,
    b: &BackendRt,
    srv: usize,
    limit: Duration,
    (want_src, addrs): (bool, &mut Option<(Option<SocketAddr>, SocketAddr)>),
) -> Result<TcpStream, ConnectFail> {
    let Some(addr) = target else {
        return Err(ConnectFail::Refused);
    };
    let domain = match addr {
        SocketAddr::V4(_) => socket2::Domain::IPV4,
        SocketAddr::V6(_) => socket2::Domain::IPV6,
    };
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM.nonblocking(), None)
        .map_err(|_| ConnectFail::Refused)?;
    let source: Option<IpAddr> = b.servers[srv].ir.source.or(b.ir.source);
    if let Some(ip) = source {
        // Let the kernel pick the port at connect time, per destination: one source
        // address then serves more than 64k connections (IP_BIND_ADDRESS_NO_PORT).
        let _ = nix::sys::socket::setsockopt(
            &sock,
            nix::sys::socket::sockopt::IpBindAddressNoPort,
            &true,
        );
        if sock.bind(&SocketAddr::new(ip, 0).into()).is_err() {
            return Err(ConnectFail::Refused);
        }
    }
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(nix::libc::EINPROGRESS) => {}
        Err(_) => return Err(ConnectFail::Refused),
    }
    // The attempt's addresses, for %bi/%bp/%si/%sp (haproxy logs the last attempt's, even
    // when it failed).
    let src = if want_src {
        sock.local_addr().ok().and_then(|a| a.as_socket())
    } else {
        None
    };
    *addrs = Some((src, addr));
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
