//! The close and log phase: what a session recorded for its log line, rendered by the
//! frontend's log format once both sockets are closed.

use super::Info;
use crate::runtime::lb::state::{FrontendRt, Shared};
use crate::runtime::log::format::{render, Facts, HttpFacts};
use crate::runtime::log::level;
use crate::runtime::proto::proxy_protocol::SslInfo;
use crate::runtime::rules::vars::Vars;
use crate::runtime::termination::Termination;
use chrono::Local;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use tokio::time::Instant;

pub(super) struct LogState {
    pub(super) tw: i64,
    pub(super) tc: i64,
    pub(super) server: Option<usize>,
    pub(super) retries: u32,
    pub(super) redispatched: bool,
    pub(super) term: Termination,
    pub(super) up: u64,
    pub(super) down: u64,
    /// 1-based position in the server's and in the backend's queue when this session had
    /// to wait (0: not queued there).
    pub(super) queues: [u32; 2],
    /// The accept.
    pub(super) start: Instant,
    /// What only some log formats print, kept only for them (an idle session stays small).
    pub(super) extra: Option<Box<LogExtra>>,
    /// A TCP session's line is written once its server connection is up (haproxy's
    /// logwait met early: `option logasap`, or a format that waits for nothing):
    /// `dontlognull`, which haproxy only applies to the line at the end, does not hold it
    /// back. (An HTTP line always has its request, which dontlognull never holds back.)
    pub(super) early: bool,
    /// The stream's number (`%rt`), once it has one: a TCP session's from its start, an
    /// HTTP request's from its head. A line without a stream takes one when written, as
    /// haproxy's sess_log does.
    pub(super) stream: Option<u32>,
}

/// Source (when wanted) and destination of a server connection attempt.
pub(super) type ServerAddrs = Option<(Option<SocketAddr>, SocketAddr)>;

/// The facts of a session that only some log formats print.
pub(super) struct LogExtra {
    /// The address the client connected to (the PROXY header's destination with
    /// `accept-proxy`).
    pub(super) local: SocketAddr,
    /// Accept to session ready, ms.
    pub(super) th: i64,
    /// The format prints the server connection's source (a getsockname() per connection).
    pub(super) want_src: bool,
    /// Source (when wanted) and destination of the server connection, from the last
    /// connection attempt.
    pub(super) server_addrs: ServerAddrs,
    /// A TCP session's TLS facts and variables, for a format with `%[…]` samples.
    pub(super) session: Option<Box<(SslInfo, Vars)>>,
    /// A TCP session's unique id, when a rule made it before the log line.
    pub(super) unique_id: Option<Box<str>>,
}

/// What a log line's `%[…]` samples read of the session (an HTTP transaction passes its
/// own; a TCP session's are kept in its [`LogExtra`]).
#[derive(Clone, Copy)]
pub(super) struct LogSess<'a> {
    /// The address the client reached.
    pub(super) local: SocketAddr,
    /// The client connection's TLS facts.
    pub(super) ssl: &'a SslInfo,
    /// The session's variables.
    pub(super) vars: &'a Vars,
    /// The stream's unique id, when a rule or the request's processing made it.
    pub(super) unique_id: Option<&'a str>,
}

impl<'a> LogSess<'a> {
    /// The session's view for its log line.
    pub(super) fn of(local: SocketAddr, ssl: &'a SslInfo, vars: &'a Vars) -> Self {
        LogSess {
            local,
            ssl,
            vars,
            unique_id: None,
        }
    }

    /// With the stream's unique id, if it was made.
    pub(super) fn with_id(self, id: Option<&'a dyn crate::runtime::rules::UniqueId>) -> Self {
        LogSess {
            unique_id: id.and_then(|u| u.made()),
            ..self
        }
    }
}

/// Whether the frontend's log or unique-id format has `%[…]` samples.
fn samples_logged(f: &FrontendRt) -> bool {
    let has =
        |l: &Option<crate::ir::log_format::LogFormat>| l.as_ref().is_some_and(|l| l.needs_session);
    has(&f.ir.log_format) || has(&f.ir.unique_id_format)
}

/// Keeps a TCP session's TLS facts and variables for its log line, when the frontend's
/// formats sample them, and its stick counters, which it tracks until it ends.
pub(super) fn keep_session(
    f: &FrontendRt,
    log: &mut LogState,
    (ssl, local): (&SslInfo, SocketAddr),
    vars: Vars,
) {
    // Counters are tracked until the session ends; a rule's log level is read at the end.
    let tracks = vars.trackers().is_some() || vars.log_level().is_some();
    if !samples_logged(f) && !tracks {
        return;
    }
    if log.extra.is_none() && tracks {
        // Only the counters need it: no format reads these facts.
        log.extra = Some(Box::new(LogExtra {
            local,
            th: 0,
            want_src: false,
            server_addrs: None,
            session: None,
            unique_id: None,
        }));
    }
    if let Some(e) = log.extra.as_mut() {
        e.session = Some(Box::new((ssl.clone(), vars)));
    }
}

/// Keeps a TCP session's unique id that a rule made, for its log line.
pub(super) fn keep_unique_id(log: &mut LogState, local: SocketAddr, id: Box<str>) {
    let th = log.since_accept();
    let e = log.extra.get_or_insert_with(|| {
        Box::new(LogExtra {
            local,
            th,
            want_src: false,
            server_addrs: None,
            session: None,
            unique_id: None,
        })
    });
    e.unique_id = Some(id);
}

impl LogState {
    /// A stream's record at `start`, nothing known yet but how it would end now.
    pub(super) fn new(start: Instant, term: Termination) -> Self {
        LogState {
            tw: -1,
            tc: -1,
            server: None,
            retries: 0,
            redispatched: false,
            term,
            up: 0,
            down: 0,
            queues: [0, 0],
            start,
            extra: None,
            early: false,
            stream: None,
        }
    }

    /// Milliseconds since the accept.
    pub(super) fn since_accept(&self) -> i64 {
        self.start.elapsed().as_millis() as i64
    }
}

/// Writes the session's log line (when the frontend has a log format); true when written.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_log(
    shared: &Shared,
    li: &Info,
    accept: std::time::SystemTime,
    peer: SocketAddr,
    be: Option<usize>,
    tls: bool,
    log: &LogState,
    http: Option<&HttpFacts<'_>>,
    sess: Option<LogSess<'_>>,
) -> bool {
    let f = &shared.frontends[li.fe];
    // Nothing to render for a frontend without a format or a target (haproxy ignores the
    // format then), nor for an empty session under `dontlognull`.
    let Some(fmt) = f.ir.log_format.as_ref().filter(|_| !f.ir.log.is_empty()) else {
        return false;
    };
    // `dontlog-normal`: only errors, retries, redispatches and 5xx answers are logged
    // (haproxy's strm_log; an answer of its own, a redirect, is not an error).
    use crate::runtime::termination::Cause;
    let error = log.redispatched
        || !matches!(log.term.cause, Cause::Normal | Cause::Local)
        || log.retries > 0
        || http.is_some_and(|h| h.status >= 500);
    if f.ir.dontlog_normal && !error {
        return false;
    }
    if f.ir.dontlognull && !log.early && log.up == 0 && http.is_none_or(|h| h.request.is_none()) {
        return false;
    }
    // The samples' view of the session, as haproxy's log sees it: no request or response
    // contents, the transaction's method and status.
    let kept = log.extra.as_ref().and_then(|e| {
        let (ssl, vars) = e.session.as_deref()?;
        Some(LogSess {
            local: e.local,
            ssl,
            vars,
            unique_id: e.unique_id.as_deref(),
        })
    });
    // `set-log-level`: `silent` writes nothing, a level replaces haproxy's own choice.
    let level_set = sess
        .as_ref()
        .or(kept.as_ref())
        .and_then(|s| s.vars.log_level());
    if level_set == Some(None) {
        return false;
    }
    let view = sess.or(kept).filter(|_| samples_logged(f));
    let ctx_with = |uid| {
        view.map(|s| crate::runtime::rules::Ctx {
            peer,
            local: s.local,
            fe_name: &f.ir.name,
            be: be.map(|bi| &shared.backends[bi]),
            buf: &[],
            last: true,
            ssl: s.ssl,
            req: None,
            res: None,
            raw_req: std::cell::OnceCell::new(),
            vars: Some(s.vars),
            proc: Some(&f.proc_vars),
            tables: Some(&shared.tables),
            stream: true,
            http_len: None,
            uid,
            comp: http.and_then(|h| h.comp),
            logged: http.map(|h| {
                let line = h.request.unwrap_or(b"");
                let method = &line[..line.iter().position(|c| *c == b' ').unwrap_or(line.len())];
                (method, h.status)
            }),
        })
    };
    // The unique id made earlier (by a rule, or the HTTP request's processing), else now
    // (haproxy's strm_log makes it when nobody did; a line without a stream has none).
    let made = sess.as_ref().and_then(|s| s.unique_id).or_else(|| {
        let e = log.extra.as_ref()?;
        e.unique_id.as_deref()
    });
    let rendered;
    let id = match (made, &f.ir.unique_id_format) {
        (Some(m), _) => Some(m),
        (None, Some(u)) if log.stream.is_some() => {
            let ctx = ctx_with(None);
            let facts = facts(shared, f, (accept, peer, be, tls), log, http, ctx.as_ref());
            rendered = truncated_id(u, &facts);
            Some(rendered.as_str())
        }
        _ => None,
    };
    // The line's `%[unique-id]` reads the same id.
    let made = id.map(crate::runtime::rules::Made);
    let ctx = ctx_with(made.as_ref().map(|m| m as _));
    let mut facts = facts(shared, f, (accept, peer, be, tls), log, http, ctx.as_ref());
    facts.unique_id = id;
    let mut line = String::with_capacity(128);
    // The structured data first, as haproxy builds it; its trailing spaces go.
    let mut sd_buf = String::new();
    let sd = match &f.ir.log_sd {
        Some(f) => {
            render(f, &facts, &mut sd_buf);
            match sd_buf.trim_end_matches(' ') {
                "" => "-",
                s => s,
            }
        }
        None => "-",
    };
    render(fmt, &facts, &mut line);
    // `log-separate-errors`: the errors above at level err.
    let lvl = match level_set {
        Some(Some(l)) => l,
        _ if error && f.ir.log_separate_errors => level::ERR,
        _ => level::INFO,
    };
    shared.logger.send_sd(&f.ir.log, lvl, &line, sd);
    f.log_count.fetch_add(1, Relaxed);
    true
}

/// A session refused before it started (PROXY header, TLS handshake), logged in haproxy's
/// connection-error shape: "ip:port [date] frontend/listener: why".
pub(super) fn connection_error(shared: &Shared, li: &Info, peer: SocketAddr, msg: &str) {
    let f = &shared.frontends[li.fe];
    // haproxy reports these only for a frontend with a log format (its `to_log`).
    if f.ir.log_format.is_none() {
        return;
    }
    let when = Local::now().format("%d/%b/%Y:%H:%M:%S%.3f");
    let line = format!(
        "{} [{when}] {}/{}: {msg}",
        crate::runtime::log::fmt_addr(peer),
        f.ir.name,
        li.id
    );
    // haproxy logs these at level err under `log-separate-errors`.
    let lvl = if f.ir.log_separate_errors {
        level::ERR
    } else {
        level::INFO
    };
    shared.logger.send(&f.ir.log, lvl, &line);
}

/// haproxy's line at accept for a frontend that logs without a log format.
pub(super) fn connect_line(shared: &Shared, f: &FrontendRt, peer: SocketAddr, local: SocketAddr) {
    let mode = if f.ir.mode == crate::ir::Mode::Http {
        "HTTP"
    } else {
        "TCP"
    };
    let msg = format!(
        "Connect from {} to {} ({}/{mode})",
        crate::runtime::log::fmt_addr(peer),
        crate::runtime::log::fmt_addr(local),
        f.ir.name
    );
    shared.logger.send(&f.ir.log, level::INFO, &msg);
}

/// What a line (or a unique id) made now can say of the stream: `(accept, peer, backend,
/// tls)` and what the session recorded so far.
fn facts<'a>(
    shared: &'a Shared,
    f: &'a FrontendRt,
    (accept, peer, be, tls): (std::time::SystemTime, SocketAddr, Option<usize>, bool),
    log: &LogState,
    http: Option<&'a HttpFacts<'a>>,
    ctx: Option<&'a crate::runtime::rules::Ctx<'a>>,
) -> Facts<'a> {
    let tt = log.since_accept();
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
    Facts {
        client: Some(peer),
        frontend_addr: log.extra.as_ref().map(|e| e.local),
        backend_src: log.extra.as_ref().and_then(|e| e.server_addrs?.0),
        server_addr: log.extra.as_ref().and_then(|e| e.server_addrs).map(|a| a.1),
        accept: chrono::DateTime::<Local>::from(accept),
        frontend: &f.ir.name,
        tls,
        backend: be_name,
        server: match (be, log.server) {
            (Some(bi), Some(s)) => Some(shared.backends[bi].servers[s].ir.name.as_str()),
            _ => None,
        },
        th: http.map_or_else(|| log.extra.as_ref().map_or(0, |e| e.th), |h| h.th),
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
        stream_id: log.stream.unwrap_or_else(|| shared.next_stream_id()),
        log_count: f.log_count.load(Relaxed),
        captures: [f.ir.captures.request.len(), f.ir.captures.response.len()],
        hostname: crate::runtime::log::hostname(),
        pid: std::process::id(),
        http,
        plus: f.ir.logasap,
        session: ctx,
    }
}

/// The unique id `u` renders from `facts`: at most 127 bytes (haproxy's UNIQUEID_LEN).
fn truncated_id(u: &crate::ir::log_format::LogFormat, facts: &Facts) -> String {
    let mut id = String::new();
    render(u, facts, &mut id);
    let mut end = id.len().min(127);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    id.truncate(end);
    id
}

/// The unique id made before the stream's end, by a rule's `unique-id` fetch or the HTTP
/// request's processing: the format rendered with what the stream knows then (no server,
/// no queue, no bytes; the rule's view for its `%[…]` samples).
#[allow(clippy::too_many_arguments)]
pub(super) fn unique_id_now(
    shared: &Shared,
    li: &Info,
    (accept, start, stream, th): (std::time::SystemTime, Instant, Option<u32>, i64),
    (peer, tls): (SocketAddr, bool),
    http: Option<&HttpFacts<'_>>,
    ctx: &crate::runtime::rules::Ctx<'_>,
) -> Box<str> {
    let f = &shared.frontends[li.fe];
    let Some(u) = &f.ir.unique_id_format else {
        return "".into();
    };
    let mut log = LogState::new(start, Termination::NORMAL);
    log.stream = stream;
    log.extra = Some(Box::new(LogExtra {
        local: ctx.local,
        th,
        want_src: false,
        server_addrs: None,
        session: None,
        unique_id: None,
    }));
    let be = ctx
        .be
        .and_then(|b| shared.backends.iter().position(|x| std::ptr::eq(x, b)));
    let facts = facts(shared, f, (accept, peer, be, tls), &log, http, Some(ctx));
    truncated_id(u, &facts).into()
}
