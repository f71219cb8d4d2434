//! haproxy's own answers to a request (errors, no server), from the proxies' pages
//! (`errorfile`, `http-error` …) or built in, and the answers rules give (deny, auth,
//! redirect, return, tarpit).

use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::Tx;
use crate::ir::http_rules::HttpRules;
use crate::ir::ErrorPage;
use crate::runtime::rules::vars::Vars;
use crate::runtime::rules::Who;
use crate::runtime::stream::http1::answers::{layer_answer, Answer};
use crate::runtime::stream::http1::body::{self, Inbuf};
use crate::runtime::stream::http1::head::Head;
use crate::runtime::stream::ClientEnd;
use crate::runtime::termination::{Cause, Phase, Termination};

/// Where haproxy's own answers come from for one request: the backend's `errorfile`s,
/// then the frontend's, then the built-in ones.
pub(super) struct Answers<'a> {
    pub(super) client_to: Option<Duration>,
    pub(super) be: &'a [(u16, ErrorPage)],
    pub(super) fe: &'a [(u16, ErrorPage)],
    /// The frontend's `h1-case-adjust` map, when it applies to clients.
    pub(super) case: Option<&'a crate::ir::CaseMap>,
    /// The `http-after-response` rules the answers go through.
    pub(super) after: Option<After<'a>>,
}

/// The `http-after-response` rules of a transaction's proxies: the backend's (an empty
/// list before there is one, or when it is the frontend), then the frontend's.
pub(super) struct After<'a> {
    pub(super) sets: [&'a HttpRules; 2],
    /// What the rules read.
    pub(super) who: &'a Who<'a>,
    /// The frontend's response capture slots.
    pub(super) caps: &'a [(String, usize)],
}

/// A proxy with no HTTP rule (the backend side of an answer given before one).
pub(super) static NO_RULES: HttpRules = HttpRules {
    request: Vec::new(),
    redirects: Vec::new(),
    response: Vec::new(),
    after: Vec::new(),
    tarpit: None,
};

/// Sends haproxy's answer `status` as a response to `req` and records it for the log
/// line; true when the client connection stays open (a kept-alive client whose request
/// was all read, and an answer with a known length, as with a server's response).
pub(super) async fn proxy_answer(
    client: &mut ClientEnd,
    status: u16,
    req: &Head,
    req_done: bool,
    an: &Answers<'_>,
    tx: (&mut Tx, &mut Vars),
    why: (Cause, Phase),
) -> bool {
    let file = page(status, an, (!tx.0.req_gone).then_some(req), tx.1);
    // The HTTP layer's page whatever the status (an `http-response deny` may give 400).
    let a = file.as_ref().unwrap_or_else(|| layer_answer(status));
    send_answer(client, a, status, (req, req_done), an, tx, why).await
}

/// The page for `status` (`errorfile`, `http-error` …): the backend's, then the
/// frontend's; an `http-error` reply is built now, its formats reading the request
/// (None once it went to the server) and the transaction's variables.
pub(super) fn page(
    status: u16,
    an: &Answers<'_>,
    req: Option<&Head>,
    vars: &Vars,
) -> Option<Answer> {
    let (_, p) = an.be.iter().chain(an.fe).find(|(s, _)| *s == status)?;
    match p {
        ErrorPage::Raw(raw) => Answer::from_file(raw),
        ErrorPage::Reply(r) => {
            let mut ctx = crate::runtime::rules::Ctx::tcp(an.after.as_ref()?.who, &[], true);
            ctx.req = req;
            ctx.vars = Some(vars);
            match super::rules::reply(r, &ctx) {
                super::rules::Verdict::Return(a, _) => Some(*a),
                // `default-errorfiles`, or a value a header cannot hold: built in.
                _ => None,
            }
        }
    }
}

/// An answer a rule gave (`deny`, a redirect) to a request whose body, when all read, is
/// dropped from `cin`; true when the client connection stays open.
pub(super) async fn rule_answer(
    client: &mut ClientEnd,
    cin: &mut Inbuf,
    a: &Answer,
    (status, req): (u16, &Head),
    an: &Answers<'_>,
    tx: (&mut Tx, &mut Vars),
    why: (Cause, Phase),
) -> bool {
    let req_done =
        !req.flags.chunked && (!req.flags.clen || cin.avail().len() as u64 >= req.content_length);
    if req_done && req.flags.clen {
        cin.consume(req.content_length as usize);
    }
    send_answer(client, a, status, (req, req_done), an, tx, why).await
}

/// Sends `a` as the answer to `req` and records it for the log line.
pub(super) async fn send_answer(
    client: &mut ClientEnd,
    a: &Answer,
    status: u16,
    (req, req_done): (&Head, bool),
    an: &Answers<'_>,
    (tx, vars): (&mut Tx, &mut Vars),
    (cause, phase): (Cause, Phase),
) -> bool {
    // The request's variables are gone once haproxy answers (http_eval_after_res_rules
    // swaps them, rules or not). The after-response rules edit a copy of the answer
    // (haproxy's HTX message); the multiplexer's own answers (no head) never reach them.
    vars.to_response();
    let edited = match (&an.after, &a.head) {
        (Some(af), Some(h)) if af.sets.iter().any(|s| !s.after.is_empty()) => {
            let mut head = h.clone();
            super::after_response(af.sets, af.who, (req, &mut head), vars, (tx, af.caps));
            Some(a.with_head(head))
        }
        _ => None,
    };
    let (a, status) = match &edited {
        Some(e) => (e, e.head.as_ref().map_or(status, |h| h.status)),
        None => (a, status),
    };
    let head = a.head.as_ref();
    // 204 and 304 carry no body whatever their headers say.
    let xfer_len =
        head.is_none_or(|h| h.flags.clen || h.flags.chunked || matches!(h.status, 204 | 304));
    let resp11 = head.is_none_or(|h| h.flags.ver11);
    // A page that says `connection: close` itself (the built-in 400 and 408, many
    // errorfiles) closes, as haproxy's multiplexer reads it.
    let keep = req_done
        && xfer_len
        && (req.flags.ver11 || req.flags.conn_kal)
        && !req.flags.conn_clo
        && !head.is_some_and(|h| h.flags.conn_clo);
    let conn = if keep {
        (!resp11 || !req.flags.ver11).then_some("keep-alive")
    } else {
        resp11.then_some("close")
    };
    let mut wire = a.with_connection(conn, an.case);
    // The answer to a HEAD leaves without its body, as haproxy's H1 layer sends it, and
    // the body is not counted.
    let head_only = req.method() == b"HEAD" && a.head.is_some();
    if head_only {
        wire.truncate(wire.len() - a.body.len());
    }
    let sent = body::send(client, &wire, an.client_to).await;
    tx.status = status;
    tx.log.down = a.logged_bytes - if head_only { a.body.len() as u64 } else { 0 };
    tx.log.term = Termination::new(cause, phase);
    keep && sent.is_ok()
}

/// Sends the answer an HTTP rule gave: haproxy's page (or `errorfile`) for a `deny`,
/// logged `PR`; a redirect, logged `LR`.
pub(super) async fn answer_rule(
    client: &mut ClientEnd,
    cin: &mut Inbuf,
    verdict: super::rules::Verdict,
    req: &Head,
    an: &Answers<'_>,
    (tx, vars): (&mut Tx, &mut Vars),
) -> bool {
    tx.t_request = tx.ms();
    match verdict {
        super::rules::Verdict::Deny(s) | super::rules::Verdict::Monitor(s) => {
            let file = page(s, an, Some(req), vars);
            let a = file.as_ref().unwrap_or_else(|| layer_answer(s));
            let why = (Cause::Proxy, Phase::Request);
            rule_answer(client, cin, a, (s, req), an, (tx, vars), why).await
        }
        super::rules::Verdict::Auth(realm) => {
            let file = page(401, an, Some(req), vars);
            let page = file.as_ref().unwrap_or_else(|| layer_answer(401));
            let value = [&b"Basic realm=\""[..], &realm[..], b"\""].concat();
            let a = page.with_header(b"www-authenticate", &value);
            let why = (Cause::Local, Phase::Request);
            rule_answer(client, cin, &a, (401, req), an, (tx, vars), why).await
        }
        super::rules::Verdict::Page(s) => {
            let file = page(s, an, Some(req), vars);
            let a = file.as_ref().unwrap_or_else(|| layer_answer(s));
            let why = (Cause::Local, Phase::Request);
            rule_answer(client, cin, a, (s, req), an, (tx, vars), why).await
        }
        super::rules::Verdict::DenyReply(a, s) => {
            let why = (Cause::Proxy, Phase::Request);
            rule_answer(client, cin, &a, (s, req), an, (tx, vars), why).await
        }
        super::rules::Verdict::Return(a, s) => {
            let why = (Cause::Local, Phase::Request);
            rule_answer(client, cin, &a, (s, req), an, (tx, vars), why).await
        }
        super::rules::Verdict::Redirect(a) => {
            let s = a.head.as_ref().map_or(302, |h| h.status);
            let why = (Cause::Local, Phase::Request);
            rule_answer(client, cin, &a, (s, req), an, (tx, vars), why).await
        }
        super::rules::Verdict::Tarpit(s, ms) => {
            // Held, the request's bytes read and dropped, until the time is up or the
            // client leaves; the wait counts as the queue time (haproxy's t_queue).
            let gone = Box::pin(hold(client, Duration::from_millis(u64::from(ms)))).await;
            // No request time (haproxy logs -1 there), the wait as the queue time.
            tx.t_request = -1;
            tx.log.tw = tx.ms();
            if gone {
                tx.log.term = Termination::new(Cause::ClientAbort, Phase::Tarpit);
                return false;
            }
            let file = page(s, an, Some(req), vars);
            let a = file.as_ref().unwrap_or_else(|| layer_answer(s));
            let why = (Cause::Proxy, Phase::Tarpit);
            rule_answer(client, cin, a, (s, req), an, (tx, vars), why).await
        }
        super::rules::Verdict::Continue => true,
    }
}

/// Waits `d` while reading and dropping what the client sends; true when it closed.
async fn hold(client: &mut ClientEnd, d: Duration) -> bool {
    let end = tokio::time::Instant::now() + d;
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(end, client.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}
