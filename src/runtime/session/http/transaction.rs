//! One transaction after its request head: the backend's rules, the queue and connect
//! phase (per request), the request out and the response back, the server connection
//! kept for reuse when it may be.

use crate::runtime::session::close_log::LogSess;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use super::answer::{self, answer_rule, proxy_answer, After, Answers, NO_RULES};
use super::request::{balance_key, forwarded_for, original_to};
use super::response::{response, Fault, NoResponse};
use super::tunnel::Tunnel;
use super::{cookie, rules, Tx};
use crate::ir::{HttpConnMode, HttpFrontend};
use crate::runtime::lb::idle::close_after_use;
use crate::runtime::lb::observe::{health_adjust, Event};
use crate::runtime::lb::state::Shared;
use crate::runtime::proto::proxy_protocol::{SslInfo, V2Facts};
use crate::runtime::rules::vars::Vars;
use crate::runtime::rules::{Ctx, UniqueId, Who};
use crate::runtime::session::connect::{connect_phase, L7Retry, Reuse};
use crate::runtime::session::own_conns::{private_conns, Idle, OwnConns};
use crate::runtime::session::route;
use crate::runtime::session::slots::BackendSlot;
use crate::runtime::session::Info;
use crate::runtime::stream::http1::body::{copy, send, Fail, Framing, Inbuf, Limits, Side};
use crate::runtime::stream::http1::compress;
use crate::runtime::stream::http1::head::Head;
use crate::runtime::stream::ClientEnd;
use crate::runtime::termination::{Cause, Phase, Termination};

/// Runs one request to its end: backend, server, request out, response back. True when
/// the client connection stays open for another request.
#[allow(clippy::too_many_arguments)]
pub(super) async fn transaction(
    (shared, li, bi): (&Arc<Shared>, &Info, Option<usize>),
    h: &HttpFrontend,
    client: &mut ClientEnd,
    cin: &mut Inbuf,
    (idle, reuse_first): (&mut OwnConns, Option<bool>),
    req: &mut Head,
    (peer, local, ssl): (SocketAddr, SocketAddr, &SslInfo),
    (tx, tunnel, tls): (&mut Tx, &mut Option<Box<Tunnel>>, bool),
    (vars, uid): (&mut Vars, Option<&dyn UniqueId>),
) -> bool {
    let f = &shared.frontends[li.fe];
    let client_to = f.ir.timeout_client;
    let (req_done, read_body) = body_state(req, cin);
    let early_answer = |cin: &mut Inbuf| {
        if let Some(n) = read_body {
            cin.consume(n);
        }
    };
    let Some(bi) = bi else {
        let why = (Cause::ServerAbort, Phase::Connect);
        early_answer(cin);
        let mut who = crate::runtime::session::who(f, (peer, local), ssl);
        who.uid = uid;
        let an = Answers {
            client_to,
            be: &[],
            fe: &h.errorfiles,
            case: h.case_adjust.as_deref(),
            after: Some(After {
                sets: [&NO_RULES, &f.ir.http_rules],
                who: &who,
                caps: &f.ir.captures.response,
            }),
        };
        return proxy_answer(client, 503, req, req_done, &an, (tx, vars), why).await;
    };
    let be = BackendSlot::new(shared, bi);
    let b = &shared.backends[bi];
    // haproxy's logwait met once the response head is in (`option logasap`, or a format
    // that waits for nothing): the line then. (haproxy tests only for byte facts there:
    // a line written at the request comes again, with its backend.) Built here, in the
    // boxed transaction, so that an idle session's future does not reserve it.
    let log_now = |tx: &Tx, vars: &Vars| {
        let sess = LogSess::of(local, ssl, vars).with_id(uid);
        super::log_tx(shared, li, peer, Some(bi), tls, tx, sess)
    };
    let early_log =
        (f.ir.log_at != crate::ir::LogAt::End).then_some(&log_now as &super::LogNow<'_>);
    // What the backend's rules read: its own `http-request` and `redirect` rules now,
    // the `http-response` rules later.
    let who = Who {
        peer,
        local,
        fe_name: &f.ir.name,
        be: Some(b),
        ssl,
        proc: Some(&f.proc_vars),
        tables: Some(&shared.tables),
        uid,
        comp: None,
    };
    // A listen's own sessions ran its rules as the frontend's already.
    let own = b.ir.own_frontend == Some(li.fe);
    let b_rules = if own { &NO_RULES } else { &b.ir.http_rules };
    let an = Answers {
        client_to,
        be: &b.ir.errorfiles,
        fe: &h.errorfiles,
        case: h.case_adjust.as_deref(),
        after: Some(After {
            sets: [b_rules, &f.ir.http_rules],
            who: &who,
            caps: &f.ir.captures.response,
        }),
    };
    // The backend's `option http-buffer-request` when the frontend did not wait: the
    // body before the backend's rules (stream_set_backend's AN_REQ_HTTP_BODY).
    if b.ir.buffer_request.0 && !h.buffer_request {
        let limit = b.ir.buffer_request.1.or(client_to);
        let to = (&mut *client, &mut *cin);
        let waited = super::body_wait::wait_body(to, req, h.max_head, limit, &mut tx.log.down);
        let waited = waited.await;
        if !super::body_wait::waited_ok(waited, (client, cin), f, (req, tx), vars).await {
            drop(be);
            return false;
        }
    }
    // The body may be all in now (HTTP retries and answers see it so).
    let (req_done, read_body) = body_state(req, cin);
    let early_answer = |cin: &mut Inbuf| {
        if let Some(n) = read_body {
            cin.consume(n);
        }
    };
    // The backend's `tcp-request content` rules come first; a reject closes the
    // connection, logged with no status and no request time, as haproxy does.
    // A listen's own sessions ran its rules as the frontend's already.
    // `force-persist`/`ignore-persist` as soon as the backend is known, on the request
    // as it came (process_switching_rules).
    // A disabled backend runs none of its analysers, the one that takes the request's
    // time (http_process_request) among them: TR is logged -1.
    if b.ir.disabled {
        tx.t_request = -1;
    }
    let prst = route::persistence(b, &Ctx::http(&who, req, vars));
    if !own && !b.ir.inspect.rules.is_empty() {
        let before = vars.trackers().map_or(0, |t| t.mask());
        let verdict =
            crate::runtime::session::inspect::on_http_request(&b.ir.inspect, &who, req, vars);
        if verdict == crate::runtime::session::inspect::Outcome::Reject {
            crate::runtime::lb::counters::Refused::add(&f.refused.req);
            tx.t_request = -1;
            tx.log.term = Termination::new(Cause::Proxy, Phase::Request);
            return false;
        }
        // Counters the backend tracked count this request too, as haproxy counts its
        // backend-tracked counters when the backend's HTTP processing starts.
        if let Some(t) = vars.trackers() {
            t.http_req_on(t.mask() & !before);
        }
    }
    if !b_rules.request.is_empty() || !b_rules.redirects.is_empty() {
        let mut taken = Vec::new();
        let verdict = rules::on_request(b_rules, &who, req, (vars, &mut taken));
        if !taken.is_empty() {
            super::keep_taken(&mut tx.captured().req, &f.ir.captures.request, taken);
        }
        if !matches!(verdict, rules::Verdict::Continue) {
            drop(be);
            super::count_verdict(&verdict, vars);
            // Denied by the backend's rules: the frontend and the backend count it.
            if super::denied(&verdict) {
                crate::runtime::lb::counters::Refused::add(&f.refused.req);
                crate::runtime::lb::counters::Refused::add(&b.denied);
            }
            return Box::pin(answer_rule(client, cin, verdict, req, &an, (tx, vars))).await;
        }
    }
    // `use-server` after the backend's rules, before the headers added below.
    let chosen = route::use_server(b, &Ctx::http(&who, req, vars), prst);
    // The unique id is made now if no rule made it (http_process_request), and sent in
    // `unique-id-header`, before the forwarding headers.
    if let Some(u) = uid {
        let id = u.get(&Ctx::http(&who, req, vars));
        if let (Some(name), Some(id)) = (&f.ir.unique_id_header, id) {
            req.add_header(name.as_bytes(), id.as_bytes());
        }
    }
    // X-Forwarded-For, then X-Original-To, after the request's own headers: haproxy adds
    // them while processing the request, so balancing and stick rules see them.
    if let Some((n, v)) = forwarded_for(h.forwardfor.as_ref(), b.ir.forwardfor.as_ref(), req, peer)
    {
        req.add_header(n.as_bytes(), v.as_bytes());
    }
    if let Some((n, v)) = original_to(h.originalto.as_ref(), b.ir.originalto.as_ref(), local) {
        req.add_header(n.as_bytes(), v.as_bytes());
    }
    let key = balance_key(&b.ir.balance, req, cin.avail());
    // haproxy reads the cookies for the backend's persistence or the frontend's capture.
    let cap_cookie = f.ir.captures.cookie.as_ref();
    let cookie_work = b.ir.cookie.is_some() || cap_cookie.is_some();
    // Cookie dates only: no clock read for the other requests.
    let now = if cookie_work { unix_now() } else { 0 };
    let mut persist = cookie_work.then(|| {
        // Servers are looked at only when the request has cookies.
        let servers: Vec<_> = if b.ir.cookie.is_some() && req.header(b"cookie").is_some() {
            (b.servers.iter().enumerate())
                .map(|(i, sv)| cookie::Server {
                    value: sv.ir.cookie.as_deref(),
                    up: sv.persistable(),
                    takes: prst.takes(b, i),
                })
                .collect()
        } else {
            Vec::new()
        };
        let look = cookie::Lookup {
            servers: &servers,
            skip: prst.ignore || chosen.is_some(),
        };
        let (p, got) = cookie::on_request(b.ir.cookie.as_ref(), cap_cookie, look, req, now);
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
    // `stick` rules on the request (process_sticking_rules): a server `use-server` or a
    // cookie chose already wins; else the first stored server found.
    let stick = if b.ir.stick_rules.is_empty() {
        Vec::new()
    } else {
        let ctx = Ctx::http(&who, req, vars);
        crate::runtime::session::inspect::stick_keys(&shared.tables, &b.ir.stick_rules, &ctx, false)
    };
    let sticky = route::stick_target(shared, b, &stick, prst);
    // The compression filter chooses its algorithm from the request as it leaves (the
    // backend's settings first), `offload` taking `accept-encoding` out.
    let comp_set = [b.ir.compression.as_ref(), f.ir.compression.as_ref()];
    let comp = compress::on_request(comp_set, req).map(|a| (a, comp_set));
    let cookie_srv = persist.as_ref().and_then(|p| p.server);
    let pin = prst.pin(chosen.or(cookie_srv).or(sticky));
    // The request's variables are gone once the server connection is asked for
    // (process_stream prunes them as the stream leaves for its server).
    vars.to_response();
    let server_to = b.ir.timeout_server;
    // The server-side mode: haproxy closes server connections after the response with
    // `http-server-close` or `httpclose` on either proxy.
    let srv_close = matches!(h.conn_mode, HttpConnMode::ServerClose | HttpConnMode::Close)
        || matches!(
            b.ir.http_conn_mode,
            HttpConnMode::ServerClose | HttpConnMode::Close
        );
    // `http-pretend-keepalive` writes the request as for a kept connection (h1_update_req_conn_value).
    let kept = !srv_close || b.ir.pretend_keepalive;
    let conn_val = if req.flags.conn_upg {
        None
    } else if kept && !req.flags.ver11 {
        Some("keep-alive")
    } else if !kept && req.flags.ver11 {
        Some("close")
    } else {
        None
    };
    let req_framing = if req.flags.chunked {
        Framing::Chunked
    } else if req.flags.clen && req.content_length > 0 {
        Framing::Length(req.content_length)
    } else {
        Framing::Empty
    };
    let bodyless_resp = req.method() == b"HEAD";
    // HTTP retries (`retry-on`'s response conditions) are armed for a request whole in
    // the buffer when it leaves: haproxy keeps a copy of it then, to send it again.
    let l7_armed =
        b.ir.retry_l7.any() && req_done && !req.flags.chunked && !vars.l7_retry_disabled();
    let body_copy: Vec<u8> = match read_body {
        Some(n) if l7_armed => cin.avail()[..n].to_vec(),
        _ => Vec::new(),
    };
    let junk = std::sync::atomic::AtomicBool::new(false);
    let mut l7: Option<L7Retry> = None;
    // What the client sent of the body (counted once, whatever the attempts).
    let mut sent_up = 0;
    let (held, srv, server, sin, up_res, resp) = loop {
        let retrying = l7.is_some();
        let Some(mut c) = connect_phase(
            f,
            (shared, bi),
            client.tcp(),
            peer,
            local,
            &[],
            V2Facts {
                ssl: Some(ssl),
                unique_id: uid.and_then(|u| u.made()).unwrap_or(""),
            },
            (pin, key.as_deref()),
            tx.log.start,
            &mut tx.log,
            (
                reuse_first.map(|first| Reuse {
                    private: &mut *idle,
                    first,
                }),
                l7.take(),
            ),
            Some(&*req),
        )
        .await
        else {
            // No server, or no connection to it: haproxy's 503; no address to connect
            // from (a `usesrc hdr_ip` header missing): its 500.
            let why = (tx.log.term.cause, tx.log.term.phase);
            let status = if why.0 == Cause::Internal { 500 } else { 503 };
            drop(be);
            if !retrying {
                early_answer(cin);
            }
            return proxy_answer(client, status, req, req_done, &an, (tx, vars), why).await;
        };
        let srv = c.slot.srv;
        // The request went where persistence said (haproxy's SF_DIRECT, kept unless
        // redispatched).
        let direct = pin.server == Some(srv) && !tx.log.redispatched;
        if let Some(p) = persist.as_mut() {
            p.connected(srv, tx.log.redispatched);
        }
        // Whether a fault is retried now: armed, a retry left, and named by retry-on.
        let can_retry = l7_armed && tx.log.retries < b.ir.retries;
        let retry_l7 = &b.ir.retry_l7;
        let junk = &junk;
        let ask = move |fault: Fault| {
            let named = match fault {
                Fault::Status(s) => retry_l7.statuses.contains(&s),
                Fault::Empty => retry_l7.empty_response,
                Fault::Timeout => retry_l7.response_timeout,
                Fault::Junk => retry_l7.junk_response,
            };
            junk.store(fault == Fault::Junk, std::sync::atomic::Ordering::Relaxed);
            can_retry && named
        };
        let mut out = std::mem::take(&mut c.first);
        let server_name =
            (b.ir.send_name_header.as_deref()).map(|h| (h, b.servers[srv].ir.name.as_bytes()));
        req.write_to_server(&mut out, conn_val, b.ir.case_adjust.as_deref(), server_name);
        // A retry sends the kept copy of the body with the head.
        if retrying {
            out.extend_from_slice(&body_copy);
        }
        let sent = send(&mut c.server, &out, server_to).await;
        tx.req_gone = true;
        // haproxy waits for the response side after a write error when it may retry:
        // the connection's end is then an empty response.
        let resp = if sent.is_err() && !ask(Fault::Empty) {
            // A later request of the connection: the client's to send again (the read
            // error haproxy meets next goes to abort_keep_alive).
            if tx.not_first {
                tx.logged = true;
                return false;
            }
            let why = (Cause::ServerAbort, Phase::Headers);
            if !retrying {
                early_answer(cin);
            }
            return proxy_answer(client, 502, req, req_done, &an, (tx, vars), why).await;
        } else if sent.is_err() {
            // The body stays with its copy: the client's bytes are taken now.
            if !retrying {
                early_answer(cin);
                sent_up = body_copy.len() as u64;
            }
            (Ok(()), Err(NoResponse::Retry), Inbuf::default())
        } else {
            let mut sin = Inbuf::default();
            let (mut cr, mut cw) = tokio::io::split(&mut *client);
            let (mut sr, mut sw) = tokio::io::split(&mut c.server);
            let req = &*req;
            let req_lim = Limits {
                read: client_to,
                write: server_to,
            };
            let method = req.method();
            let ck = persist.as_mut().map(|p| {
                let r = cookie::Response {
                    srv_value: b.servers[srv].ir.cookie.as_deref(),
                    direct,
                    ignore: prst.ignore,
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
                    comp,
                ),
                (h.max_headers, h.max_head),
                (server_to, client_to),
                (
                    tx,
                    ck,
                    &f.ir.captures.response,
                    ([b_rules, &f.ir.http_rules], &who, vars, &stick),
                    early_log,
                ),
                Some(&ask),
            );
            if retrying {
                // The body went with the head.
                (Ok(()), download.await, sin)
            } else {
                let upload = copy(
                    req_framing,
                    req.flags.chunked,
                    cin,
                    &mut cr,
                    &mut sw,
                    req_lim,
                );
                let ((n, up), resp) = tokio::join!(upload, download);
                sent_up = n;
                (up, resp, sin)
            }
        };
        let (up_res, resp, sin) = resp;
        if let Err(NoResponse::Retry) = resp {
            // do_l7_retry: one more attempt counted for the server and the backend, the
            // connection given up (a junk response counted for `observe` first).
            if junk.load(std::sync::atomic::Ordering::Relaxed) {
                health_adjust(shared, (bi, srv), Event::HttpHeaders);
            }
            b.reassigned(srv, srv);
            close_after_use(c.server);
            if c.private {
                idle.forget(bi, srv);
            }
            l7 = Some(L7Retry {
                slot: c.slot,
                attempts: tx.log.retries + 1,
                direct,
            });
            continue;
        }
        let held = (c.slot, c.t, c.reused, c.private);
        break (held, srv, c.server, sin, up_res, resp);
    };
    // A connection-based authentication ties the session's later requests to this
    // server (SESS_FL_PREFER_LAST), whatever becomes of the response.
    idle.prefer_last |= tx.conn_auth;
    log_cookie(tx, &persist);
    // `observe layer7`: the response (or its absence) counts for the server.
    let ev = match &resp {
        _ if tx.status >= 100 => Some(Event::for_status(tx.status)),
        Err(NoResponse::Answer(_)) => match tx.log.term.cause {
            Cause::ServerTimeout => Some(Event::HttpTimeout),
            Cause::ServerAbort => Some(Event::HttpClosed),
            Cause::Proxy => Some(Event::HttpHeaders),
            _ => None,
        },
        _ => None,
    };
    if let Some(ev) = ev {
        health_adjust(shared, (bi, srv), ev);
    }
    let (slot, t, reused, was_private) = held;
    tx.log.up += sent_up;
    let end = match resp {
        Ok(r) if r.tunnel => {
            // Bytes either side sent past the heads are the tunnel's first bytes.
            let to_server = cin.avail().to_vec();
            cin.consume(to_server.len());
            *tunnel = Some(Box::new(Tunnel {
                server,
                t,
                slot,
                to_server,
                to_client: sin.avail().to_vec(),
            }));
            drop(be);
            return false;
        }
        Ok(r) => {
            if let Some(e) = &r.compressed {
                let counts = (e.consumed, e.produced);
                f.http
                    .compressed(e.is_identity(), counts, f.ir.http.is_some());
                b.http
                    .compressed(e.is_identity(), counts, b.ir.mode == crate::ir::Mode::Http);
            }
            r
        }
        Err(status) => {
            close_after_use(server);
            if was_private {
                idle.forget(bi, srv);
            }
            if let NoResponse::KeepAliveAbort = status {
                tx.logged = true;
                return false;
            }
            let NoResponse::Answer((s, dropped, reply)) = status else {
                return false;
            };
            // No response head: haproxy's own answer; the server connection is done.
            let why = (tx.log.term.cause, tx.log.term.phase);
            if let Some(rules::Verdict::Deny(_)) = reply {
                crate::runtime::lb::counters::denied_response(f, b, srv);
            }
            let done = up_res.is_ok();
            // A response an `http-response deny` or `return` dropped still counts in %B,
            // as in haproxy, before the answer that replaces it.
            let keep = match reply {
                Some(rules::Verdict::Return(a, st)) => {
                    let to = (&*req, done);
                    answer::send_answer(client, &a, st, to, &an, (tx, vars), why).await
                }
                Some(rules::Verdict::Page(st)) => {
                    proxy_answer(client, st, req, done, &an, (tx, vars), why).await
                }
                _ => proxy_answer(client, s, req, done, &an, (tx, vars), why).await,
            };
            tx.log.down += dropped;
            return keep;
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
    // A connection-based authentication makes the connection the session's own.
    let private = was_private || tx.conn_auth || private_conns(b, srv);
    if srv_keep && !private {
        // Back to the server's pool, for a later request of any session; safe once it
        // has carried a second request.
        let used = b.servers[srv]
            .sessions
            .load(std::sync::atomic::Ordering::Relaxed);
        b.servers[srv].idle.put(server, reused, used);
    } else if srv_keep {
        // Its PROXY header names this client, the backend shares no connection, or
        // the server authenticated it: only this session may reuse it.
        let made = uid.and_then(|u| u.made()).unwrap_or("");
        let conn = Idle {
            bi,
            srv,
            end: server,
            id: super::super::own_conns::header_id(b, srv, made).map(Box::from),
        };
        idle.keep(conn, f.ir.max_session_srv_conns);
    } else {
        close_after_use(server);
        if was_private {
            idle.forget(bi, srv);
        }
    }
    drop(slot);
    drop(be);
    // response() decided the client side with the request (h1_set_cli_conn_mode).
    end.conn_kept_by_client_side && end.done && up_res.is_ok()
}

/// Whether the request is all read (its body already in the buffer), and the length of a
/// body to drop with it: haproxy answers such a request as any other and keeps the
/// connection; a request with a body still to come is closed.
fn body_state(req: &Head, cin: &Inbuf) -> (bool, Option<usize>) {
    let done =
        !req.flags.chunked && (!req.flags.clen || cin.avail().len() as u64 >= req.content_length);
    (
        done,
        (done && req.flags.clen).then_some(req.content_length as usize),
    )
}

/// Seconds since the Unix epoch (cookie dates).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
