//! The response half of a transaction: the server's head read (interim 1xx answers passed
//! on), rewritten for the client's connection mode, then its body.

use std::time::Duration;

use super::cookie::{Persist, Response};
use super::Tx;
use crate::ir::cookie::Cookie;
use crate::ir::http_rules::HttpRules;
use crate::runtime::rules::vars::Vars;
use crate::runtime::rules::Who;

/// The backend's cookie and the frontend's cookie capture, what the transaction knows
/// for them, and the persistence state.
pub(super) type CookieCtx<'a> = (
    (Option<&'a Cookie>, Option<&'a (String, usize)>),
    Response<'a>,
    &'a mut Persist,
);
use crate::runtime::stream::http1::body::{
    copy, copy_out, send, Fail, Framing, Inbuf, Limits, Out, Side,
};
use crate::runtime::stream::http1::compress::{self, Encoder};
use crate::runtime::stream::http1::head::Head;
use crate::runtime::termination::{Cause, Phase, Termination};

/// The `http-response` rules to run (the backend's, then the frontend's) and the
/// session facts they read, and the stick keys the request gave (rule index, key).
pub(super) type ResRules<'a> = (
    [&'a HttpRules; 2],
    &'a Who<'a>,
    &'a mut Vars,
    &'a [crate::runtime::session::inspect::StickKey],
);

/// The request a response answers: its head, whether the answer has no body (HEAD),
/// whether the frontend closes after it, the frontend's header case map, and the
/// compression filter's algorithm with the settings it came from.
pub(super) type ReqSide<'a> = (
    &'a Head,
    bool,
    bool,
    Option<&'a crate::ir::CaseMap>,
    Option<(crate::ir::compression::Algo, compress::Settings<'a>)>,
);

/// The transaction's side of a response: its log facts, the cookie work, the response
/// captures, the `http-response` rules, and the line to write early (logasap).
pub(super) type TxSide<'a> = (
    &'a mut Tx,
    Option<CookieCtx<'a>>,
    &'a [(String, usize)],
    ResRules<'a>,
    Option<&'a super::LogNow<'a>>,
);

/// How a response went.
pub(super) struct RespEnd {
    /// The server connection may carry another request.
    pub(super) server_reusable: bool,
    /// The client side may stay open (a tunnel or a forced close says no).
    pub(super) conn_kept_by_client_side: bool,
    /// Everything was forwarded.
    pub(super) done: bool,
    /// A 101 or a CONNECT's 2xx: the connection becomes a tunnel.
    pub(super) tunnel: bool,
    /// The body went through the compression filter: its encoder (what it took in).
    pub(super) compressed: Option<Encoder>,
}

/// A response haproxy does not forward: the status it answers instead, what the log
/// counts of the dropped response, and an `http-response return`'s reply.
pub(super) type Stop = (u16, u64, Option<super::rules::Verdict>);

/// Why a response was not forwarded.
pub(super) enum NoResponse {
    /// The client is gone.
    ClientGone,
    /// No usable head (or a rule denied or answered it): haproxy answers the status
    /// itself, its log counting the given bytes of the dropped response too.
    Answer(Stop),
    /// A `retry-on` condition was met with a retry left: nothing of the response went
    /// to the client, and the request goes again.
    Retry,
    /// A later request of the connection lost its server before any response: haproxy
    /// closes the client connection with nothing sent, logged or counted, so that the
    /// client sends the request again (http_wait_for_response's abort_keep_alive).
    KeepAliveAbort,
}

/// A server failure `retry-on` may name, seen before the response head went on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// A final response with this status.
    Status(u16),
    /// The server closed or reset the connection before a head (`empty-response`).
    Empty,
    /// `timeout server` before a head (`response-timeout`).
    Timeout,
    /// An unparsable head (`junk-response`).
    Junk,
}

/// Whether a fault is retried now (the transaction's L7 retry state and `retries`).
pub(super) type RetryAsk<'a> = Option<&'a (dyn Fn(Fault) -> bool + Sync)>;

/// Reads the response head (forwarding interim 1xx answers), sends it rewritten, then
/// its body; `retry` is asked first about each fault it could retry (as haproxy's
/// http_wait_for_response does before counting anything).
#[allow(clippy::too_many_arguments)]
pub(super) async fn response<R, W>(
    sr: &mut R,
    cw: &mut W,
    sin: &mut Inbuf,
    (req, bodyless, fe_close, case, comp): ReqSide<'_>,
    (max_headers, max_head): (usize, usize),
    (server_to, client_to): (Option<Duration>, Option<Duration>),
    (tx, ck, caps, (rule_sets, who, vars, stick), early_log): TxSide<'_>,
    retry: RetryAsk<'_>,
) -> Result<RespEnd, NoResponse>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut head = loop {
        let parsed = Head::response(sin.avail(), max_headers);
        match parsed {
            Ok(Some((head, n))) => {
                sin.consume(n);
                if head.status >= 100 && head.status < 200 && head.status != 101 {
                    // Interim answers (100-continue) go to the client as they come.
                    let mut out = Vec::new();
                    head.write_cased(&mut out, None, case);
                    if send(cw, &out, client_to).await.is_err() {
                        tx.log.term = Termination::new(Cause::ClientAbort, Phase::Headers);
                        return Err(NoResponse::ClientGone);
                    }
                    continue;
                }
                break head;
            }
            Ok(None) if sin.avail().len() < max_head => {}
            _ => {
                if retry.is_some_and(|r| r(Fault::Junk)) {
                    return Err(NoResponse::Retry);
                }
                tx.log.term = Termination::new(Cause::Proxy, Phase::Headers);
                count_fail(vars);
                return Err(NoResponse::Answer((502, 0, None)));
            }
        }
        match sin.fill(sr, server_to).await {
            Ok(n) if n > 0 => {}
            Err(Fail::Timeout) => {
                if retry.is_some_and(|r| r(Fault::Timeout)) {
                    return Err(NoResponse::Retry);
                }
                tx.log.term = Termination::new(Cause::ServerTimeout, Phase::Headers);
                count_fail(vars);
                return Err(NoResponse::Answer((504, 0, None)));
            }
            _ => {
                if retry.is_some_and(|r| r(Fault::Empty)) {
                    return Err(NoResponse::Retry);
                }
                if tx.not_first {
                    return Err(NoResponse::KeepAliveAbort);
                }
                tx.log.term = Termination::new(Cause::ServerAbort, Phase::Headers);
                count_fail(vars);
                return Err(NoResponse::Answer((502, 0, None)));
            }
        }
    };
    // A status `retry-on` names: dropped unseen and uncounted, the request goes again.
    if retry.is_some_and(|r| r(Fault::Status(head.status))) {
        return Err(NoResponse::Retry);
    }
    tx.t_data = tx.ms();
    tx.status = head.status;
    tx.conn_auth = connection_auth(&head);
    // The server counts its answer as it sent it (http_wait_for_response).
    if let (Some(b), Some(srv)) = (who.be, tx.log.server) {
        b.servers[srv].http.exchange(head.status);
    }
    // A 4xx counts as a request error, a 5xx as a server failure.
    if let Some(t) = vars.trackers() {
        t.http_status(head.status);
    }
    let tunnel = head.status == 101 || (req.method() == b"CONNECT" && head.status / 100 == 2);
    let no_body = bodyless || head.status == 204 || head.status == 304 || tunnel;
    let framing = if no_body {
        Framing::Empty
    } else if head.flags.chunked {
        Framing::Chunked
    } else if head.flags.clen {
        Framing::Length(head.content_length)
    } else {
        Framing::Close
    };
    let xfer_len = framing != Framing::Close;
    // Transfer-encoding with a length, or in HTTP/1.0: the client connection closes.
    let forced_close = head.flags.xfer_enc && (head.flags.clen || !head.flags.ver11);
    let cli_kal_now = (req.flags.ver11 || req.flags.conn_kal) && !req.flags.conn_clo;
    let cli_close = !cli_kal_now || !xfer_len || forced_close || fe_close;
    let conn_val = if tunnel || head.flags.conn_upg {
        None
    } else if !cli_close {
        (!head.flags.ver11 || !req.flags.ver11).then_some("keep-alive")
    } else {
        head.flags.ver11.then_some("close")
    };
    // The compression filter looks at the response before the rules do (its
    // post-analyzer of http_wait_for_response), so `res.comp` reads its choice. A length
    // of 0 is a message without body to haproxy (HTX_SL_F_BODYLESS).
    let has_body = xfer_len && !no_body && framing != Framing::Length(0);
    let algo = comp
        .filter(|(_, set)| compress::response_fits(*set, req, &head, has_body))
        .map(|(a, _)| a);
    tx.comp = algo;
    let who = &Who { comp: algo, ..*who };
    // After what was sent before it (haproxy's own `100 Continue`).
    let before = tx.log.down;
    tx.log.down = before + head.htx_size();
    if let Some(res) = super::capture_headers(&head, caps) {
        tx.captured().res = res;
    }
    // The stick keys are stored now, with the `store-response` ones (process_store_rules,
    // before the response rules): a server that never answered is not stored.
    if let (Some(b), Some(srv)) = (who.be, tx.log.server) {
        if b.ir.stick_rules.iter().any(|r| r.store) {
            store_keys(b, who, (req, &head, stick), vars, srv);
        }
    }
    // `http-response` rules: the backend's, then the frontend's (`req.` variables went
    // when the server connection was asked for).
    for set in rule_sets.iter().filter(|r| !r.response.is_empty()) {
        let mut taken = Vec::new();
        let denied =
            super::rules::on_response(&set.response, who, (req, &mut head), (vars, &mut taken));
        if !taken.is_empty() {
            super::keep_taken(&mut tx.captured().res, caps, taken);
        }
        if let Some(verdict) = denied {
            // With the body bytes that came with the head (haproxy had them too).
            let body_now = match framing {
                Framing::Length(n) => sin.avail().len().min(n.min(usize::MAX as u64) as usize),
                Framing::Empty => 0,
                _ => sin.avail().len(),
            };
            let counted = tx.log.down + body_now as u64;
            return Err(NoResponse::Answer(match verdict {
                // Kept, so that the denial is counted (`dresp`).
                super::rules::Verdict::Deny(status) => {
                    tx.log.term = Termination::new(Cause::Proxy, Phase::Headers);
                    (status, counted, Some(verdict))
                }
                // A `return`: haproxy's own answer, logged `LH` with no response time
                // (the reply takes the response's place).
                v => {
                    tx.log.term = Termination::new(Cause::Local, Phase::Headers);
                    tx.t_data = -1;
                    (0, counted, Some(v))
                }
            }));
        }
    }
    // `set-status` changes what is logged too.
    tx.status = head.status;
    if let Some((c, r, p)) = ck {
        // After the count: haproxy counts the response as the server sent it.
        if let Some(got) = super::cookie::on_response(c, &r, &mut *p, &mut head) {
            tx.captured().cookies[1] = Some(got);
        }
        // The termination state's cookie letters, for a line written now.
        if let (Some(ck), true) = (c.0, early_log.is_some()) {
            tx.cookie = ck.logged().then(|| p.letters());
        }
    }
    // `http-after-response` rules last (http_eval_after_res_rules), the backend's then the
    // frontend's; `set-status` there changes what is logged too.
    super::after_response(rule_sets, who, (req, &mut head), vars, (tx, caps));
    // The line now (logasap, or a format without byte facts), where haproxy writes it:
    // after the response rules and cookies, its bytes what its buffer then holds (the
    // head as rewritten, and the body that came with it). The count goes on as before.
    if let Some(log_now) = early_log {
        let body_now = match framing {
            Framing::Length(n) => sin.avail().len().min(n.min(usize::MAX as u64) as usize),
            Framing::Empty => 0,
            _ => sin.avail().len(),
        } as u64;
        let counted = std::mem::replace(&mut tx.log.down, before + head.htx_size() + body_now);
        tx.logged |= log_now(tx, vars);
        tx.log.down = counted;
    }
    // The filter rewrites the head as it is forwarded, after every rule.
    if let Some(a) = algo {
        compress::rewrite_head(&mut head, a);
    }
    let mut out = Vec::with_capacity(512);
    head.write_cased(&mut out, conn_val, case);
    // The body bytes already read leave with the head, in one write (haproxy's output
    // buffer does the same); the copy below carries the rest.
    let framing = match framing {
        Framing::Length(n) if algo.is_none() => {
            let take = sin.avail().len().min(n.min(usize::MAX as u64) as usize);
            out.extend_from_slice(&sin.avail()[..take]);
            sin.consume(take);
            tx.log.down += take as u64;
            Framing::Length(n - take as u64)
        }
        other => other,
    };
    if send(cw, &out, client_to).await.is_err() {
        tx.log.term = Termination::new(Cause::ClientAbort, Phase::Data);
        return Err(NoResponse::ClientGone);
    }
    let server_reusable =
        xfer_len && !tunnel && !head.flags.conn_clo && (head.flags.ver11 || head.flags.conn_kal);
    let lim = Limits {
        read: server_to,
        write: client_to,
    };
    let mut compressed = algo.map(Encoder::new);
    let (n, res) = match (framing, compressed.as_mut()) {
        (f, Some(e)) => copy_out(f, Out::Encoded(e), sin, sr, cw, lim).await,
        (Framing::Length(0), None) => (0, Ok(())),
        (f, None) => copy(f, head.flags.chunked && !no_body, sin, sr, cw, lim).await,
    };
    tx.log.down += n;
    if let Err(side) = res {
        // A server that fails while sending the body is a failure too.
        if matches!(side, Side::Read(_)) {
            count_fail(vars);
        }
        tx.log.term = match side {
            Side::Read(Fail::Timeout) => Termination::new(Cause::ServerTimeout, Phase::Data),
            Side::Read(Fail::Invalid) => Termination::new(Cause::Proxy, Phase::Data),
            Side::Read(_) => Termination::new(Cause::ServerAbort, Phase::Data),
            Side::Write(Fail::Timeout) => Termination::new(Cause::ClientTimeout, Phase::Data),
            Side::Write(_) => Termination::new(Cause::ClientAbort, Phase::Data),
        };
    }
    Ok(RespEnd {
        // Bytes past the response's end (a server answering twice) make the connection
        // unusable: haproxy's H1 mux closes an idle connection that has data.
        server_reusable: server_reusable && !tunnel && sin.avail().is_empty(),
        conn_kept_by_client_side: !cli_close && !tunnel,
        done: res.is_ok(),
        tunnel,
        compressed,
    })
}

/// haproxy's own 502 or 504 for a server that failed: a failure on the tracked counters.
/// haproxy's test in http_wait_for_response: a 401's `www-authenticate` or a 407's
/// `proxy-authenticate` offering NTLM or Negotiate (any item starting `NTLM` or `Nego`,
/// in any case) authenticates the connection rather than the requests.
fn connection_auth(head: &Head) -> bool {
    let name: &[u8] = match head.status {
        401 => b"www-authenticate",
        407 => b"proxy-authenticate",
        _ => return false,
    };
    head.values(name).any(|v| {
        v.get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"NTLM") || p.eq_ignore_ascii_case(b"Nego"))
    })
}

fn count_fail(vars: &crate::runtime::rules::vars::Vars) {
    if let Some(t) = vars.trackers() {
        t.http_fail();
    }
}

/// The backend's stick keys (the request's `stick`, then `store-response` ones from the
/// response) stored for the server `srv` that answered.
fn store_keys(
    b: &crate::runtime::lb::state::BackendRt,
    who: &crate::runtime::rules::Who,
    (req, res, stick): (&Head, &Head, &[crate::runtime::session::inspect::StickKey]),
    vars: &crate::runtime::rules::vars::Vars,
    srv: usize,
) {
    let Some(tables) = who.tables else {
        return;
    };
    let mut ctx = crate::runtime::rules::Ctx::tcp(who, &[], true);
    ctx.req = Some(req);
    ctx.res = Some(res);
    ctx.vars = Some(vars);
    let rules = &b.ir.stick_rules;
    let from_res = crate::runtime::session::inspect::stick_keys(tables, rules, &ctx, true);
    let from_req = stick.iter().filter(|(i, _)| rules[*i].store).cloned();
    for (i, k) in from_req.chain(from_res) {
        if let Some(t) = tables.get(b.ir.stick_rules[i].table) {
            t.store(k, srv);
        }
    }
}
