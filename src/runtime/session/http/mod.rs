//! The HTTP phase of a `mode http` frontend's session: one transaction after another on
//! the client connection (haproxy 2.6's H1 multiplexer and stream analysers). Each
//! request is read within `timeout http-request`, goes through the queue and connect
//! phase again (per-request balancing, as haproxy does), may reuse an idle connection to
//! the chosen server (its pool, shared by sessions, as haproxy's `http-reuse safe`), and
//! gets its own log line.

mod answer;
mod cookie;
mod request;
mod response;
mod tunnel;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use self::answer::{proxy_answer, Answers};
use self::request::{balance_key, forwarded_for, original_to};
use self::response::response;
use self::tunnel::{run_tunnel, Tunnel};
use super::close_log::{write_log, LogState};
use super::connect::{connect_phase, private_conns, Idle, Reuse};
use super::slots::BackendSlot;
use super::Info;
use crate::ir::{HttpConnMode, HttpFrontend};
use crate::runtime::lb::state::Shared;
use crate::runtime::log::format::HttpFacts;
use crate::runtime::proto::proxy_protocol::SslInfo;
use crate::runtime::rules::{Ctx, Who};
use crate::runtime::stream::http1::answers::answer;
use crate::runtime::stream::http1::body::{copy, send, Fail, Framing, Inbuf, Limits, Side};
use crate::runtime::stream::http1::head::Head;
use crate::runtime::stream::ClientEnd;
use crate::runtime::termination::{Cause, Phase, Termination};

/// What the session's earlier phases hand to the HTTP phase.
pub(super) struct Start {
    pub(super) client: ClientEnd,
    /// Bytes read with a PROXY header.
    pub(super) early: Vec<u8>,
    pub(super) peer: SocketAddr,
    pub(super) local: SocketAddr,
    pub(super) ssl: SslInfo,
    /// Accept to session ready (PROXY header, TLS handshake), ms.
    pub(super) th: i64,
    /// The backend a TCP frontend's rules chose (the stream is upgraded to HTTP); None
    /// for an HTTP frontend, whose default backend serves every request.
    pub(super) backend: Option<usize>,
}

/// The HTTP settings of a TCP frontend's stream upgraded for an HTTP backend: haproxy's
/// defaults (the frontend has no HTTP settings of its own).
static UPGRADED: HttpFrontend = HttpFrontend::DEFAULT;

/// How reading a request head ended without a request.
enum NoRequest {
    /// The client closed, or a kept-alive connection timed out, before a byte: nothing
    /// to answer (logged as `CR` on a new connection).
    Closed { any: bool },
    /// `timeout http-request` struck: 408.
    Timeout,
    /// Not a valid request (or too long): haproxy's 400, 413 or 422.
    Invalid(u16),
}

/// What a transaction's `capture` lines took.
#[derive(Default)]
struct Captured {
    /// Request and response headers (`capture … header`), by declaration.
    req: Vec<Option<Vec<u8>>>,
    res: Vec<Option<Vec<u8>>>,
    /// Cookies of the request and the response (`capture cookie`).
    cookies: [Option<Vec<u8>>; 2],
}

/// One transaction's log facts.
struct Tx {
    log: LogState,
    date: SystemTime,
    th: i64,
    t_idle: i64,
    t_request: i64,
    t_data: i64,
    status: u16,
    request: Option<Vec<u8>>,
    /// The cookie letters of the termination state (None: `--`).
    cookie: Option<[u8; 2]>,
    /// What `capture` lines took, boxed: most transactions have none, and an idle
    /// kept-alive client holds its next transaction's state.
    captured: Option<Box<Captured>>,
}

impl Tx {
    fn new(start: Instant, date: SystemTime, th: i64) -> Self {
        Tx {
            log: LogState {
                tw: -1,
                tc: -1,
                server: None,
                retries: 0,
                redispatched: false,
                term: Termination::NORMAL,
                up: 0,
                down: 0,
                queues: [0, 0],
                start,
                extra: None,
            },
            date,
            th,
            t_idle: -1,
            t_request: -1,
            t_data: -1,
            status: 0,
            request: None,
            cookie: None,
            captured: None,
        }
    }

    fn ms(&self) -> i64 {
        self.log.since_accept()
    }

    /// The capture fields, made on first use.
    fn captured(&mut self) -> &mut Captured {
        self.captured.get_or_insert_with(Default::default)
    }
}

/// Serves `st`'s client until it or haproxy's rules end the connection.
pub(super) async fn serve(
    shared: Arc<Shared>,
    li: Info,
    st: Start,
    accept: SystemTime,
    t_accept: Instant,
    tls: bool,
) {
    let f = &shared.frontends[li.fe];
    let h = f.ir.http.as_ref().unwrap_or(&UPGRADED);
    let Start {
        mut client,
        early,
        peer,
        local,
        ssl,
        th,
        backend,
    } = st;
    let fixed = backend.or(f.ir.default_backend);
    let mut cin = Inbuf::default();
    cin.extend(&early);
    let mut idle: Vec<Idle> = Vec::new();
    let (mut t0, mut date0, mut th) = (t_accept, accept, th);
    let mut first = true;
    loop {
        let mut tx = Tx::new(t0, date0, th);
        // A session's first request takes an idle server connection only as `http-reuse`
        // allows; a request already waiting (pipelined) gets a new one: haproxy looks
        // for an idle one before the previous one is back in its pool.
        let pipelined = !first && !cin.avail().is_empty();
        let head = read_head(
            &mut client,
            &mut cin,
            h,
            f.ir.timeout_client,
            first,
            &mut tx,
        )
        .await;
        let head = match head {
            Ok(hd) => hd,
            // `option http-ignore-probes`: a connection that sent nothing (a browser's
            // pre-connect) closes without an answer or a line.
            Err(NoRequest::Closed { .. } | NoRequest::Timeout)
                if h.ignore_probes && tx.t_idle < 0 =>
            {
                break;
            }
            Err(NoRequest::Closed { any }) => {
                // A kept-alive connection that ends quietly is not logged.
                if first || any {
                    tx.status = 400;
                    tx.log.term = Termination::new(Cause::ClientAbort, Phase::Request);
                    log_tx(&shared, &li, peer, None, tls, &tx);
                }
                break;
            }
            Err(e) => {
                let (status, term) = match e {
                    NoRequest::Timeout => (408, Cause::ClientTimeout),
                    NoRequest::Invalid(s) => (s, Cause::Proxy),
                    NoRequest::Closed { .. } => (400, Cause::Proxy),
                };
                let a = answer(status);
                // Boxed, as the cold paths below: an idle session keeps only its wait.
                let _ = Box::pin(send(&mut client, &a.wire, f.ir.timeout_client)).await;
                tx.status = status;
                tx.log.term = Termination::new(term, Phase::Request);
                log_tx(&shared, &li, peer, None, tls, &tx);
                break;
            }
        };
        tx.request = Some(head.request_line());
        // `use_backend` rules choose per request, on its head.
        let bi = match backend {
            None if !f.ir.switching.is_empty() => {
                let who = Who {
                    peer,
                    local,
                    fe_name: &f.ir.name,
                    be: None,
                    ssl: &ssl,
                };
                let mut ctx = Ctx::tcp(&who, &[], true);
                ctx.req = Some(&head);
                super::route::switch(f, &ctx)
            }
            _ => fixed,
        };
        if let Some(req) = capture_headers(&head, &f.ir.captures.request) {
            tx.captured().req = req;
        }
        let mut head = head;
        let mut tunnel = None;
        // Boxed: between requests the session holds only what waits for the next one.
        let keep = Box::pin(transaction(
            (&shared, &li, bi),
            h,
            &mut client,
            &mut cin,
            (&mut idle, (!pipelined).then_some(first)),
            &mut head,
            (peer, local, &ssl),
            (&mut tx, &mut tunnel),
        ))
        .await;
        if let Some(t) = tunnel {
            // The rest of the connection is a tunnel; its line is logged at its end.
            drop(idle);
            return Box::pin(run_tunnel(&shared, &li, client, *t, (peer, tls), tx)).await;
        }
        log_tx(&shared, &li, peer, bi, tls, &tx);
        if !keep {
            break;
        }
        first = false;
        th = 0;
        t0 = Instant::now();
        date0 = SystemTime::now();
        cin.shrink();
    }
    // A close after an answer: the FIN goes after the last byte.
    let _ = Box::pin(client.shutdown()).await;
    drop(idle);
}

fn log_tx(shared: &Shared, li: &Info, peer: SocketAddr, bi: Option<usize>, tls: bool, tx: &Tx) {
    let facts = HttpFacts {
        status: tx.status,
        t_idle: tx.t_idle,
        t_request: tx.t_request,
        t_data: tx.t_data,
        request: tx.request.as_deref(),
        th: tx.th,
        cookie: tx.cookie.unwrap_or(*b"--"),
        req_cap: tx.captured.as_ref().map_or(&[][..], |c| &c.req),
        res_cap: tx.captured.as_ref().map_or(&[][..], |c| &c.res),
        cookies: tx.captured.as_ref().map_or([None, None], |c| {
            [c.cookies[0].as_deref(), c.cookies[1].as_deref()]
        }),
    };
    let bi = if tx.request.is_some() { bi } else { None };
    write_log(shared, li, tx.date, peer, bi, tls, &tx.log, Some(&facts));
}

/// Reads the next request head: within `timeout http-request` (else `timeout client`)
/// on a new connection; a kept-alive one waits `timeout http-keep-alive` for the first
/// byte.
async fn read_head(
    client: &mut ClientEnd,
    cin: &mut Inbuf,
    h: &HttpFrontend,
    client_to: Option<Duration>,
    first: bool,
    tx: &mut Tx,
) -> Result<Head, NoRequest> {
    let request_to = h.request_timeout.or(client_to);
    let wait_to = if first {
        request_to
    } else {
        h.keep_alive_timeout.or(request_to)
    };
    let start = Instant::now();
    let mut deadline = wait_to.map(|d| start + d);
    let mut got_any = !cin.avail().is_empty();
    if got_any {
        tx.t_idle = 0;
    }
    loop {
        if !cin.avail().is_empty() {
            match Head::request(cin.avail(), h.max_headers) {
                Ok(Some((head, n))) => {
                    cin.consume(n);
                    tx.t_request = tx.ms();
                    tx.log.up = head.htx_size();
                    return Ok(head);
                }
                Ok(None) if cin.avail().len() < h.max_head => {}
                Ok(None) => return Err(NoRequest::Invalid(400)),
                Err(e) => return Err(NoRequest::Invalid(e.request_status())),
            }
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // An idle plain connection waits without a buffer: it is allocated once bytes
        // are there to read (TLS may hold decrypted bytes already: it reads at once).
        if let (ClientEnd::Plain(s), true) = (&*client, cin.avail().is_empty()) {
            let ready = match left {
                Some(d) => tokio::time::timeout(d, s.readable()).await.ok(),
                None => Some(s.readable().await),
            };
            if ready.is_none() {
                if !got_any && !first {
                    return Err(NoRequest::Closed { any: false });
                }
                return Err(NoRequest::Timeout);
            }
        }
        match cin.fill(client, left).await {
            Ok(0) | Err(Fail::Closed) | Err(Fail::Invalid) => {
                return Err(NoRequest::Closed { any: got_any });
            }
            Ok(_) => {
                if !got_any {
                    got_any = true;
                    tx.t_idle = tx.ms();
                    // From the first byte, the whole head has `timeout http-request`.
                    deadline = request_to.map(|d| Instant::now() + d);
                }
            }
            Err(Fail::Timeout) if !got_any && !first => {
                return Err(NoRequest::Closed { any: false })
            }
            Err(Fail::Timeout) => return Err(NoRequest::Timeout),
        }
    }
}

/// Runs one request to its end: backend, server, request out, response back. True when
/// the client connection stays open for another request.
#[allow(clippy::too_many_arguments)]
async fn transaction(
    (shared, li, bi): (&Arc<Shared>, &Info, Option<usize>),
    h: &HttpFrontend,
    client: &mut ClientEnd,
    cin: &mut Inbuf,
    (idle, reuse_first): (&mut Vec<Idle>, Option<bool>),
    req: &mut Head,
    (peer, local, ssl): (SocketAddr, SocketAddr, &SslInfo),
    (tx, tunnel): (&mut Tx, &mut Option<Box<Tunnel>>),
) -> bool {
    let f = &shared.frontends[li.fe];
    let client_to = f.ir.timeout_client;
    // haproxy answers a request it has all read (its body already in the buffer) as any
    // other and keeps the connection; a request with a body still to come is closed.
    let req_done =
        !req.flags.chunked && (!req.flags.clen || cin.avail().len() as u64 >= req.content_length);
    let read_body = (req_done && req.flags.clen).then_some(req.content_length as usize);
    let early_answer = |cin: &mut Inbuf| {
        if let Some(n) = read_body {
            cin.consume(n);
        }
    };
    let Some(bi) = bi else {
        let why = (Cause::ServerAbort, Phase::Connect);
        early_answer(cin);
        let an = Answers {
            client_to,
            be: &[],
            fe: &h.errorfiles,
            case: h.case_adjust.as_deref(),
        };
        return proxy_answer(client, 503, req, req_done, &an, tx, why).await;
    };
    let be = BackendSlot::new(shared, bi);
    let b = &shared.backends[bi];
    let an = Answers {
        client_to,
        be: &b.ir.errorfiles,
        fe: &h.errorfiles,
        case: h.case_adjust.as_deref(),
    };
    let key = balance_key(&b.ir.balance, req, cin.avail());
    // haproxy reads the cookies for the backend's persistence or the frontend's capture.
    let cap_cookie = f.ir.captures.cookie.as_ref();
    let cookie_work = b.ir.cookie.is_some() || cap_cookie.is_some();
    // Cookie dates only: no clock read for the other requests.
    let now = if cookie_work { unix_now() } else { 0 };
    let mut persist = cookie_work.then(|| {
        // Servers are looked at only when the request has cookies.
        let usable = if b.ir.cookie.is_some() && req.header(b"cookie").is_some() {
            b.usable_all()
        } else {
            Vec::new()
        };
        let servers: Vec<_> = b
            .servers
            .iter()
            .zip(&usable)
            .map(|(sv, u)| (sv.ir.cookie.as_deref(), *u))
            .collect();
        let (p, got) = cookie::on_request(b.ir.cookie.as_ref(), cap_cookie, &servers, req, now);
        if got.is_some() {
            tx.captured().cookies[0] = got;
        }
        p
    });
    let log_cookie = |tx: &mut Tx, p: &Option<cookie::Persist>| {
        if let (Some(p), Some(ck)) = (p, &b.ir.cookie) {
            tx.cookie = ck.logged().then(|| p.letters());
        }
    };
    log_cookie(tx, &persist);
    let Some(c) = connect_phase(
        f,
        (shared, bi),
        client.tcp(),
        peer,
        local,
        &[],
        ssl,
        (persist.and_then(|p| p.server), key.as_deref()),
        tx.log.start,
        &mut tx.log,
        reuse_first.map(|first| Reuse {
            private: idle,
            first,
        }),
    )
    .await
    else {
        // No server, or no connection to it: haproxy's 503.
        let why = (tx.log.term.cause, tx.log.term.phase);
        drop(be);
        early_answer(cin);
        return proxy_answer(client, 503, req, req_done, &an, tx, why).await;
    };
    let srv = c.slot.srv;
    let direct = persist
        .as_mut()
        .is_some_and(|p| p.connected(srv, tx.log.redispatched));
    let mut server = c.server;
    let server_to = b.ir.timeout_server;
    // The server-side mode: haproxy closes server connections after the response with
    // `http-server-close` or `httpclose` on either proxy.
    let srv_close = matches!(h.conn_mode, HttpConnMode::ServerClose | HttpConnMode::Close)
        || matches!(
            b.ir.http_conn_mode,
            HttpConnMode::ServerClose | HttpConnMode::Close
        );
    let conn_val = if req.flags.conn_upg {
        None
    } else if !srv_close && !req.flags.ver11 {
        Some("keep-alive")
    } else if srv_close && req.flags.ver11 {
        Some("close")
    } else {
        None
    };
    // X-Forwarded-For, then X-Original-To, after the request's own headers.
    if let Some((n, v)) = forwarded_for(h.forwardfor.as_ref(), b.ir.forwardfor.as_ref(), req, peer)
    {
        req.add_header(n.as_bytes(), v.as_bytes());
    }
    if let Some((n, v)) = original_to(h.originalto.as_ref(), b.ir.originalto.as_ref(), local) {
        req.add_header(n.as_bytes(), v.as_bytes());
    }
    let mut out = c.first;
    req.write_cased(&mut out, conn_val, b.ir.case_adjust.as_deref());
    if send(&mut server, &out, server_to).await.is_err() {
        let why = (Cause::ServerAbort, Phase::Headers);
        early_answer(cin);
        return proxy_answer(client, 502, req, req_done, &an, tx, why).await;
    }
    let req_framing = if req.flags.chunked {
        Framing::Chunked
    } else if req.flags.clen && req.content_length > 0 {
        Framing::Length(req.content_length)
    } else {
        Framing::Empty
    };
    let bodyless_resp = req.method() == b"HEAD";
    let mut sin = Inbuf::default();
    let (req_res, resp) = {
        let (mut cr, mut cw) = tokio::io::split(&mut *client);
        let (mut sr, mut sw) = tokio::io::split(&mut server);
        let req = &*req;
        let req_lim = Limits {
            read: client_to,
            write: server_to,
        };
        let upload = copy(
            req_framing,
            req.flags.chunked,
            cin,
            &mut cr,
            &mut sw,
            req_lim,
        );
        let method = req.method();
        let ck = persist.as_mut().map(|p| {
            let r = cookie::Response {
                srv_value: b.servers[srv].ir.cookie.as_deref(),
                direct,
                post: method == b"POST",
                cacheable_method: matches!(method, b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE"),
                now,
            };
            ((b.ir.cookie.as_ref(), cap_cookie), r, p)
        });
        let download = response(
            &mut sr,
            &mut cw,
            &mut sin,
            (
                req,
                bodyless_resp,
                h.conn_mode == HttpConnMode::Close,
                h.case_adjust.as_deref(),
            ),
            (h.max_headers, h.max_head),
            (server_to, client_to),
            (tx, ck, &f.ir.captures.response),
        );
        tokio::join!(upload, download)
    };
    log_cookie(tx, &persist);
    let (sent_up, up_res) = req_res;
    tx.log.up += sent_up;
    let end = match resp {
        Ok(r) if r.tunnel => {
            // Bytes either side sent past the heads are the tunnel's first bytes.
            let to_server = cin.avail().to_vec();
            cin.consume(to_server.len());
            *tunnel = Some(Box::new(Tunnel {
                server,
                t: c.t,
                slot: c.slot,
                to_server,
                to_client: sin.avail().to_vec(),
            }));
            drop(be);
            return false;
        }
        Ok(r) => r,
        Err(status) => {
            drop(server);
            let Some(s) = status else {
                return false;
            };
            // No response head: haproxy's own answer; the server connection is done.
            let why = (tx.log.term.cause, tx.log.term.phase);
            let done = up_res.is_ok();
            return proxy_answer(client, s, req, done, &an, tx, why).await;
        }
    };
    let srv_keep = !srv_close && end.server_reusable && up_res.is_ok() && end.done;
    if let Err(side) = up_res {
        tx.log.term = match side {
            Side::Read(Fail::Timeout) => Termination::new(Cause::ClientTimeout, Phase::Data),
            Side::Read(_) => Termination::new(Cause::ClientAbort, Phase::Data),
            Side::Write(Fail::Timeout) => Termination::new(Cause::ServerTimeout, Phase::Data),
            Side::Write(_) => Termination::new(Cause::ServerAbort, Phase::Data),
        };
    }
    if srv_keep && !private_conns(b, srv) {
        // Back to the server's pool, for a later request of any session; safe once it
        // has carried a second request.
        let used = b.servers[srv]
            .sessions
            .load(std::sync::atomic::Ordering::Relaxed);
        b.servers[srv].idle.put(server, c.reused, used);
    } else if srv_keep {
        // Its PROXY header names this client (or the backend shares no connection):
        // only this session may reuse it.
        idle.push(Idle {
            bi,
            srv,
            end: server,
        });
        if idle.len() > 4 {
            idle.remove(0);
        }
    } else {
        drop(server);
    }
    drop(c.slot);
    drop(be);
    // response() decided the client side with the request (h1_set_cli_conn_mode).
    end.conn_kept_by_client_side && end.done && up_res.is_ok()
}

/// Seconds since the Unix epoch (cookie dates).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `capture request|response header`: each one's value, the last of its headers, cut to
/// its length (haproxy's `http_capture_headers`); None without captures.
fn capture_headers(head: &Head, caps: &[(String, usize)]) -> Option<Vec<Option<Vec<u8>>>> {
    if caps.is_empty() {
        return None;
    }
    let mut got = vec![None; caps.len()];
    for (n, v) in head.headers() {
        for (i, (name, len)) in caps.iter().enumerate() {
            if n == name.as_bytes() {
                got[i] = Some(v[..v.len().min(*len)].to_vec());
            }
        }
    }
    Some(got)
}
