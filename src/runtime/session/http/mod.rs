//! The HTTP phase of a `mode http` frontend's session: one transaction after another on
//! the client connection (haproxy 2.6's H1 multiplexer and stream analysers). Each
//! request is read within `timeout http-request`, goes through the queue and connect
//! phase again (per-request balancing, as haproxy does), may reuse an idle connection to
//! the chosen server (its pool, shared by sessions, as haproxy's `http-reuse safe`), and
//! gets its own log line.

mod answer;
mod body_wait;
mod cookie;
mod reading;
mod request;
mod response;
mod rules;
mod transaction;
mod tunnel;

use crate::runtime::session::close_log::LogSess;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use self::answer::{answer_rule, Answers};
use self::body_wait::waited_ok;
use self::reading::{read_head, NoRequest};
use self::transaction::transaction;
use self::tunnel::run_tunnel;
use super::close_log::{write_log, LogState};
use super::own_conns::OwnConns;
use super::Info;
use crate::ir::HttpFrontend;
use crate::runtime::lb::state::{FrontendRt, Shared};
use crate::runtime::log::format::HttpFacts;
use crate::runtime::proto::proxy_protocol::SslInfo;
use crate::runtime::rules::vars::Vars;
use crate::runtime::rules::{Ctx, IdMaker, UniqueId};
use crate::runtime::stream::http1::answers::answer;
use crate::runtime::stream::http1::body::{send, Inbuf};
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
    /// The session's variables (set by a TCP frontend's content rules, or none yet).
    pub(super) vars: Vars,
    /// The number of a TCP frontend's stream, which its first request keeps.
    pub(super) stream: Option<u32>,
}

/// The HTTP settings of a TCP frontend's stream upgraded for an HTTP backend: haproxy's
/// defaults (the frontend has no HTTP settings of its own).
static UPGRADED: HttpFrontend = HttpFrontend::DEFAULT;

/// What a transaction's `capture` lines took.
#[derive(Default)]
struct Captured {
    /// Request and response headers (`capture … header`), by declaration.
    req: Vec<Option<Vec<u8>>>,
    res: Vec<Option<Vec<u8>>>,
    /// Cookies of the request and the response (`capture cookie`).
    cookies: [Option<Vec<u8>>; 2],
}

/// Writes a transaction's line before its end (true when written).
type LogNow<'a> = dyn Fn(&Tx, &Vars) -> bool + Sync + 'a;

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
    /// The algorithm compressing the response (`res.comp`, `res.comp_algo` at log time).
    comp: Option<crate::ir::compression::Algo>,
    /// What `capture` lines took, boxed: most transactions have none, and an idle
    /// kept-alive client holds its next transaction's state.
    captured: Option<Box<Captured>>,
    /// Its line is written already (haproxy's logwait met before the end).
    logged: bool,
    /// The request went to the server: haproxy's answers after that (502, 504) no
    /// longer see it.
    req_gone: bool,
    /// The server asked for NTLM or Negotiate authentication: its connection becomes
    /// the session's own.
    conn_auth: bool,
    /// Not the connection's first request (haproxy's TX_NOT_FIRST).
    not_first: bool,
}

impl Tx {
    fn new(start: Instant, date: SystemTime, th: i64) -> Self {
        Tx {
            log: LogState::new(start, Termination::NORMAL),
            date,
            th,
            t_idle: -1,
            t_request: -1,
            t_data: -1,
            status: 0,
            request: None,
            cookie: None,
            comp: None,
            req_gone: false,
            conn_auth: false,
            not_first: false,
            captured: None,
            logged: false,
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
        mut vars,
        stream,
    } = st;
    let mut cin = Inbuf::default();
    cin.extend(&early);
    // A transaction's line, with what its `%[…]` samples read of the session (a macro:
    // a closure would keep its captures in every idle session).
    macro_rules! log {
        ($tx:expr, $bi:expr) => {
            log!($tx, $bi, None::<&dyn UniqueId>)
        };
        ($tx:expr, $bi:expr, $uid:expr) => {
            log_tx(
                &shared,
                &li,
                peer,
                $bi,
                tls,
                $tx,
                LogSess::of(local, &ssl, &vars).with_id($uid),
            )
        };
    }

    let mut idle = OwnConns::default();
    let (mut t0, mut date0, mut th) = (t_accept, accept, th);
    let mut first = true;
    loop {
        let mut tx = Tx::new(t0, date0, th);
        tx.not_first = !first;
        // Each request is a new transaction (a TCP frontend's first one keeps what its
        // content rules set).
        if !first {
            vars.new_transaction();
        }
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
                    // haproxy's H1 layer takes it as a parsing error: it counts it, and
                    // sends its 400 to a client that only closed its sending side (the
                    // line still counts no bytes).
                    count_bad_request(f, &vars, 400, backend.is_some() && first);
                    let a = answer(400);
                    let _ = Box::pin(send(&mut client, &a.wire, f.ir.timeout_client)).await;
                    tx.status = 400;
                    tx.log.term = Termination::new(Cause::ClientAbort, Phase::Request);
                    log!(&tx, None);
                }
                break;
            }
            Err(e) => {
                let (status, term) = match e {
                    NoRequest::Timeout => (408, Cause::ClientTimeout),
                    NoRequest::Invalid(s) => (s, Cause::Proxy),
                    NoRequest::Closed { .. } => (400, Cause::Proxy),
                };
                count_bad_request(f, &vars, status, backend.is_some() && first);
                let a = answer(status);
                // Boxed, as the cold paths below: an idle session keeps only its wait.
                let _ = Box::pin(send(&mut client, &a.wire, f.ir.timeout_client)).await;
                tx.status = status;
                tx.log.term = Termination::new(term, Phase::Request);
                log!(&tx, None);
                break;
            }
        };
        // The request's stream begins with its head (an upgraded TCP stream's first
        // request is that stream).
        tx.log.stream = match (first, stream) {
            (true, Some(id)) => Some(id),
            _ => Some(shared.next_stream_id()),
        };
        // The stream's unique id, made by its first reader with what is known then
        // (boxed: most frontends have none, and an idle session keeps only the box).
        let uid_box: Option<Box<dyn UniqueId + '_>> = (f.ir.unique_id_format.as_ref()).map(|_| {
            // In here: what it keeps is the box's, not the session's future's.
            let (at, t_idle) = ((tx.date, tx.log.start, tx.log.stream, tx.th), tx.t_idle);
            let (sh, l) = (&shared, &li);
            let make = move |ctx: &Ctx| -> Box<str> {
                let line = ctx.req.map(|r| r.request_line());
                // Made before the request's processing ends: no request time yet
                // (haproxy sets tv_request after).
                let hf = HttpFacts {
                    status: 0,
                    t_idle,
                    t_request: -1,
                    t_data: -1,
                    request: line.as_deref(),
                    th: at.3,
                    cookie: *b"--",
                    req_cap: &[],
                    res_cap: &[],
                    cookies: [None, None],
                    comp: None,
                };
                super::close_log::unique_id_now(sh, l, at, (peer, tls), Some(&hf), ctx)
            };
            Box::new(IdMaker::new(make)) as Box<dyn UniqueId>
        });
        let uid = uid_box.as_deref();
        // The frontend's `tcp-request content` rules, before the HTTP analysis: a reject
        // closes the connection, logged as a request never parsed (`<BADREQ>`, PR).
        if backend.is_none() && !f.ir.inspect.rules.is_empty() {
            let mut who = super::who(f, (peer, local), &ssl);
            who.uid = uid;
            let verdict = super::inspect::on_http_request(&f.ir.inspect, &who, &head, &mut vars);
            if verdict == super::inspect::Outcome::Reject {
                crate::runtime::lb::counters::Refused::add(&f.refused.req);
                tx.t_request = -1;
                tx.log.term = Termination::new(Cause::Proxy, Phase::Request);
                log!(&tx, None, uid);
                break;
            }
        }
        // One more request for the frontend (http_wait_for_request).
        f.http_request();
        // Without a log format, a new stream's line (a TCP frontend's first one was
        // said when its session started).
        if f.ir.log_format.is_none() && !f.ir.log.is_empty() && (f.ir.http.is_some() || !first) {
            super::close_log::connect_line(&shared, f, peer, local);
        }
        // A new request on every tracked counter (http_wait_for_request).
        if let Some(t) = vars.trackers() {
            t.http_req(false);
        }
        // PRI is the HTTP/2 preface's method (all of it, under `option
        // disable-h2-upgrade`): haproxy refuses it as a bad request before it keeps the
        // URI for the log, with the HTTP layer's 400 (or the frontend's page for it).
        if head.method().eq_ignore_ascii_case(b"PRI") {
            crate::runtime::lb::counters::Refused::add(&f.refused.failed);
            // Refused before the request's time is taken (TR -1).
            tx.t_request = -1;
            let answered = async {
                let mut who = super::who(f, (peer, local), &ssl);
                who.uid = uid;
                let an = frontend_answers(f, h, &who);
                let why = (Cause::Proxy, Phase::Request);
                let tx = (&mut tx, &mut vars);
                answer::proxy_answer(&mut client, 400, &head, false, &an, tx, why).await
            };
            Box::pin(answered).await;
            transaction_end(&shared, f, None, &tx.log, tx.status);
            log!(&tx, None, uid);
            vars.end_stream();
            break;
        }
        tx.request = Some(head.request_line());
        if let Some(req) = capture_headers(&head, &f.ir.captures.request) {
            tx.captured().req = req;
        }
        // A format of request facts only: haproxy writes its line now (logwait met).
        if f.ir.log_at == crate::ir::LogAt::Request {
            tx.logged = log!(&tx, None, uid);
        }
        let mut head = head;
        // `option http-buffer-request`: the body before the frontend's rules.
        if h.buffer_request {
            let limit = h.request_timeout.or(f.ir.timeout_client);
            let room = h.max_head;
            // Boxed: a session waiting for its next request keeps none of it.
            let ok = Box::pin(async {
                let to = (&mut client, &mut cin);
                let w = body_wait::wait_body(to, &mut head, room, limit, &mut tx.log.down).await;
                waited_ok(w, (&mut client, &cin), f, (&head, &mut tx), &mut vars).await
            })
            .await;
            if !ok {
                transaction_end(&shared, f, None, &tx.log, tx.status);
                log!(&tx, None, uid);
                vars.end_stream();
                break;
            }
        }
        // The frontend's `http-request` and `redirect` rules, then `use_backend`.
        // In a block: what the rules took is gone before the next await.
        let decided = {
            let mut taken = Vec::new();
            let d = front_rules(
                f,
                (peer, local, &ssl),
                &mut head,
                (backend, uid),
                (&mut vars, &mut taken),
            );
            if !taken.is_empty() {
                keep_taken(&mut tx.captured().req, &f.ir.captures.request, taken);
            }
            d
        };
        // Monitor requests are not logged.
        let mut logged = true;
        let (keep, bi) = match decided {
            Ok(bi) => {
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
                    (&mut tx, &mut tunnel, tls),
                    (&mut vars, uid),
                ))
                .await;
                if let Some(t) = tunnel {
                    // The rest of the connection is a tunnel; its line is logged at its end.
                    drop(idle);
                    let sess = LogSess::of(local, &ssl, &vars).with_id(uid);
                    let status = tx.status;
                    // The heads' bytes; the tunnel's own are not counted here.
                    let head_bytes = LogState::new(tx.log.start, Termination::NORMAL);
                    let head_bytes = LogState {
                        up: tx.log.up,
                        down: tx.log.down,
                        server: tx.log.server,
                        ..head_bytes
                    };
                    Box::pin(run_tunnel(&shared, &li, client, *t, (peer, tls), tx, sess)).await;
                    // The stream ends with its tunnel: its answer is counted now.
                    transaction_end(&shared, f, bi, &head_bytes, status);
                    return;
                }
                (keep, bi)
            }
            Err(verdict) => {
                logged = !matches!(verdict, rules::Verdict::Monitor(_));
                if denied(&verdict) {
                    crate::runtime::lb::counters::Refused::add(&f.refused.req);
                }
                // Answered by the frontend itself (haproxy's intercepted requests).
                if matches!(
                    verdict,
                    rules::Verdict::Monitor(_)
                        | rules::Verdict::Redirect(_)
                        | rules::Verdict::Return(..)
                        | rules::Verdict::Page(_)
                        | rules::Verdict::Auth(_)
                ) {
                    f.intercepted
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                count_verdict(&verdict, &vars);
                // Answered by a rule before any backend: logged on the frontend. Boxed,
                // with what it needs, out of the session's own future.
                let answered = async {
                    let mut who = super::who(f, (peer, local), &ssl);
                    who.uid = uid;
                    let an = frontend_answers(f, h, &who);
                    let tx = (&mut tx, &mut vars);
                    answer_rule(&mut client, &mut cin, verdict, &head, &an, tx).await
                };
                (Box::pin(answered).await, None)
            }
        };
        transaction_end(&shared, f, bi, &tx.log, tx.status);
        if logged && !tx.logged {
            log!(&tx, bi, uid);
        }
        // The stream ends: the counters it tracked are released.
        vars.end_stream();
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

/// The frontend's `http-request` and `redirect` rules on `head`, then its `use_backend`
/// rules unless the session came with its backend (a TCP frontend's stream upgraded to
/// HTTP): the backend, or the answer a rule gave. Not async, so that what the rules read is never held by the
/// session's future while it waits.
fn front_rules(
    f: &crate::runtime::lb::state::FrontendRt,
    (peer, local, ssl): (SocketAddr, SocketAddr, &SslInfo),
    head: &mut Head,
    (backend, uid): (Option<usize>, Option<&dyn UniqueId>),
    (vars, taken): (&mut Vars, &mut rules::Taken),
) -> Result<Option<usize>, rules::Verdict> {
    let mut who = super::who(f, (peer, local), ssl);
    who.uid = uid;
    // `monitor-uri` comes first (haproxy checks it as the request arrives).
    if let Some(h) = f.ir.http.as_ref().filter(|h| h.monitor_uri.is_some()) {
        if rules::is_monitor(h.monitor_uri.as_deref().unwrap_or(b""), head.part(1)) {
            let mut ctx = Ctx::tcp(&who, &[], true);
            ctx.req = Some(head);
            ctx.vars = Some(&*vars);
            let failed = h
                .monitor_fail
                .iter()
                .any(|c| crate::runtime::rules::holds(Some(c), &ctx) == Some(true));
            return Err(rules::Verdict::Monitor(if failed { 503 } else { 200 }));
        }
    }
    let fe_rules = &f.ir.http_rules;
    if !fe_rules.request.is_empty() || !fe_rules.redirects.is_empty() {
        match rules::on_request(fe_rules, &who, head, (vars, taken)) {
            rules::Verdict::Continue => {}
            v => return Err(v),
        }
    }
    if backend.is_some() || f.ir.switching.is_empty() {
        return Ok(backend.or(f.ir.default_backend));
    }
    let mut ctx = Ctx::tcp(&who, &[], true);
    ctx.req = Some(head);
    ctx.vars = Some(&*vars);
    Ok(super::route::switch(f, &ctx))
}

/// Keeps what `capture` rules took in the transaction's slots (the frontend's: `slots`),
/// each cut to the rule's length, else the slot's.
/// Runs the `http-after-response` rules of `sets` (the backend's, then the frontend's; an
/// `allow` ends only its own list) on `res`, its captures kept in `caps`' slots, and
/// logs the status they leave. The request's variables are gone by then (the callers
/// saw to it: the connect step, or the answer).
fn after_response(
    sets: [&crate::ir::http_rules::HttpRules; 2],
    who: &crate::runtime::rules::Who,
    (req, res): (&Head, &mut Head),
    vars: &mut Vars,
    (tx, caps): (&mut Tx, &[(String, usize)]),
) {
    if sets.iter().all(|s| s.after.is_empty()) {
        return;
    }
    for set in sets.iter().filter(|r| !r.after.is_empty()) {
        let mut taken = Vec::new();
        // No after-response action ends the response.
        let _ = rules::on_response(&set.after, who, (req, &mut *res), (vars, &mut taken));
        if !taken.is_empty() {
            keep_taken(&mut tx.captured().res, caps, taken);
        }
    }
    tx.status = res.status;
}

fn keep_taken(got: &mut Vec<Option<Vec<u8>>>, slots: &[(String, usize)], taken: rules::Taken) {
    if got.len() < slots.len() {
        got.resize(slots.len(), None);
    }
    for (i, len, mut v) in taken {
        let Some((_, slot_len)) = slots.get(i) else {
            continue;
        };
        v.truncate(len.unwrap_or(*slot_len));
        got[i] = Some(v);
    }
}

/// Counts a request the HTTP layer answered itself (`status`: 400 and the like for a
/// request it could not parse, 408, 501): a request, and an error when it could not be
/// parsed. haproxy's H1 layer counts it on the session's counters; a TCP frontend's
/// upgraded stream (`stream`) counts it on the stream's.
fn count_bad_request(f: &FrontendRt, vars: &Vars, status: u16, stream: bool) {
    // The frontend counts the request, the answer (h1_handle_parsing_error & co) and,
    // but for its own internal errors, a failed request.
    f.http_request();
    f.http_response(status);
    if status != 500 {
        crate::runtime::lb::counters::Refused::add(&f.refused.failed);
    }
    if let Some(t) = vars.trackers() {
        t.http_req(!stream);
        if status != 408 && status != 501 {
            t.http_err(!stream);
        }
    }
}

/// A transaction's end with `status` sent (0: none): its frontend counts the answer,
/// and its backend, in HTTP mode, the request and the answer (haproxy's stream end).
/// How the frontend answers a request itself, before any backend: its pages, its
/// clients' header case, its `http-after-response` rules.
fn frontend_answers<'a>(
    f: &'a FrontendRt,
    h: &'a HttpFrontend,
    who: &'a crate::runtime::rules::Who<'a>,
) -> Answers<'a> {
    Answers {
        client_to: f.ir.timeout_client,
        be: &[],
        fe: &h.errorfiles,
        case: h.case_adjust.as_deref(),
        after: Some(answer::After {
            sets: [&answer::NO_RULES, &f.ir.http_rules],
            who,
            caps: &f.ir.captures.response,
        }),
    }
}

fn transaction_end(
    shared: &Shared,
    f: &FrontendRt,
    bi: Option<usize>,
    log: &LogState,
    status: u16,
) {
    f.http_response(status);
    f.traffic.bytes(log.up, log.down);
    if let Some(b) = bi.map(|i| &shared.backends[i]) {
        b.count_bytes(log.server, (log.up, log.down));
    }
    let b = bi.map(|i| &shared.backends[i]);
    if let (Some(b), true) = (b, status != 0) {
        if b.ir.mode == crate::ir::Mode::Http {
            b.http.exchange(status);
        }
    }
}

/// Whether a rule's answer denies the request (`dreq`: deny, tarpit).
fn denied(v: &rules::Verdict) -> bool {
    matches!(
        v,
        rules::Verdict::Deny(_) | rules::Verdict::DenyReply(..) | rules::Verdict::Tarpit(..)
    )
}

/// Counts a rule's answer on the tracked counters: a deny, a tarpit or an auth
/// challenge is a request error (haproxy's stream_inc_http_err_ctr).
fn count_verdict(v: &rules::Verdict, vars: &Vars) {
    let err = matches!(
        v,
        rules::Verdict::Deny(_)
            | rules::Verdict::DenyReply(..)
            | rules::Verdict::Tarpit(..)
            | rules::Verdict::Auth(_)
    );
    if let (true, Some(t)) = (err, vars.trackers()) {
        t.http_err(false);
    }
}

/// Writes a request's line; true when written.
fn log_tx(
    shared: &Shared,
    li: &Info,
    peer: SocketAddr,
    bi: Option<usize>,
    tls: bool,
    tx: &Tx,
    sess: LogSess<'_>,
) -> bool {
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
        comp: tx.comp,
    };
    let bi = if tx.request.is_some() { bi } else { None };
    write_log(
        shared,
        li,
        tx.date,
        peer,
        bi,
        tls,
        &tx.log,
        Some(&facts),
        Some(sess),
    )
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
