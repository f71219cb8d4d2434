//! A transaction's HTTP rules (http_ana.c `http_req_get_intercept_rule`,
//! `http_apply_redirect_rule`, `http_res_get_intercept_rule`): header edits on the request
//! or response, `allow` ending a list, `deny` and redirects answering the client.

use crate::ir::http_rules::{
    HttpAction, HttpRule, HttpRules, LinePart, RedirectKind, Reply, ReplyBody,
};
use crate::runtime::rules::convert::exp_replace;
use crate::runtime::rules::format::render;
use crate::runtime::rules::track;
use crate::runtime::rules::vars::{self, ProcVars, Stored, Vars};
use crate::runtime::rules::{self, Ctx, Who};
use crate::runtime::stream::http1::answers::Answer;
use crate::runtime::stream::http1::authority;
use crate::runtime::stream::http1::head::Head;

/// What the request rules decided.
pub(super) enum Verdict {
    /// Go on with the request.
    Continue,
    /// Answer with haproxy's page for this status (logged `PR`).
    Deny(u16),
    /// Answer with this redirect (logged `LR`).
    Redirect(Box<Answer>),
    /// Ask for credentials: haproxy's 401 page with this realm (logged `LR`); boxed
    /// twice so the verdict, which session futures hold, stays two words.
    Auth(Box<Box<[u8]>>),
    /// A `return` rule's answer and the status logged (the rule's, even when an
    /// `errorfile` says another), logged `LR`.
    Return(Box<Answer>, u16),
    /// A `return … default-errorfiles` rule: the proxy's page for the status (logged `LR`).
    Page(u16),
    /// A `deny` rule's own answer and its status (logged `PR`).
    DenyReply(Box<Answer>, u16),
    /// A `monitor-uri` request: answer this status (200, or 503 under `monitor fail`),
    /// not logged.
    Monitor(u16),
    /// A `tarpit` rule: hold the request this many milliseconds, then answer the page
    /// for the status (logged `PT`).
    Tarpit(u16, u32),
}

/// Whether `uri` asks for `monitor-uri` `m`: its path (with the query) when `m` starts
/// with '/', else the whole URI, as http_wait_for_request compares them.
pub(super) fn is_monitor(m: &[u8], uri: &[u8]) -> bool {
    (m.first() == Some(&b'/') && authority::path(uri) == Some(m)) || uri == m
}

/// The path part of a request's URI as `http_parse_path` gives it (with the query),
/// "/" when it has none.
fn uri_path(uri: &[u8]) -> &[u8] {
    authority::path(uri).unwrap_or(b"/")
}

/// Builds a redirect's answer for `req`.
fn redirect(r: &crate::ir::http_rules::Redirect, req: &Head, ctx: &Ctx) -> Box<Answer> {
    let mut loc = Vec::new();
    let path = || {
        let p = uri_path(req.part(1));
        if r.drop_query {
            &p[..p.iter().position(|&c| c == b'?').unwrap_or(p.len())]
        } else {
            p
        }
    };
    match r.kind {
        RedirectKind::Scheme => {
            loc.extend(render(&r.target, ctx));
            loc.extend_from_slice(b"://");
            loc.extend_from_slice(req.header(b"host").unwrap_or(b""));
            loc.extend_from_slice(path());
        }
        RedirectKind::Prefix => {
            if !r.literal_slash {
                loc.extend(render(&r.target, ctx));
            }
            loc.extend_from_slice(path());
        }
        RedirectKind::Location => loc.extend(render(&r.target, ctx)),
    }
    if r.kind != RedirectKind::Location && r.append_slash && loc.last().is_some_and(|&c| c != b'/')
    {
        loc.push(b'/');
    }
    let reason = match r.code {
        301 => "Moved Permanently",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        _ => "Found",
    };
    let mut raw = format!(
        "HTTP/1.1 {} {reason}\r\nContent-length: 0\r\nLocation: ",
        r.code
    )
    .into_bytes();
    raw.extend_from_slice(&loc);
    raw.extend_from_slice(b"\r\n");
    if matches!(r.code, 302 | 303 | 307) {
        raw.extend_from_slice(b"Cache-Control: no-cache\r\n");
    }
    if let Some(c) = &r.cookie {
        raw.extend_from_slice(b"Set-Cookie: ");
        raw.extend_from_slice(c);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    // A location with bytes a header cannot hold gives haproxy's 500 instead.
    Box::new(Answer::from_file(&raw).unwrap_or_else(|| {
        Answer::from_file(b"HTTP/1.1 500 Internal Server Error\r\nContent-length: 0\r\n\r\n")
            .expect("valid")
    }))
}

/// Builds a `return` rule's answer as http_reply_to_htx does: the status line, the
/// `hdr` headers whose value is not empty, `content-length` (which the H1 layer does not
/// send for 204 and 304), `content-type` with a payload, the payload.
pub(super) fn reply(r: &Reply, ctx: &Ctx) -> Verdict {
    let body: Vec<u8> = match &r.body {
        ReplyBody::ErrorPage => return Verdict::Page(r.status),
        ReplyBody::ErrorFile(raw) => {
            return match Answer::from_file(raw) {
                Some(a) => Verdict::Return(Box::new(a), r.status),
                None => Verdict::Page(r.status),
            }
        }
        ReplyBody::Empty => Vec::new(),
        ReplyBody::Raw(b) => b.to_vec(),
        ReplyBody::Fmt(f) => render(f, ctx),
    };
    let reason = crate::runtime::stream::http1::reason::reason(r.status);
    let mut raw = format!("HTTP/1.1 {} {reason}\r\n", r.status).into_bytes();
    for (name, f) in &r.hdrs {
        let v = render(f, ctx);
        if !v.is_empty() {
            raw.extend_from_slice(name);
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(&v);
            raw.extend_from_slice(b"\r\n");
        }
    }
    raw.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    if let (Some(ct), false) = (&r.ctype, body.is_empty()) {
        raw.extend_from_slice(b"content-type: ");
        raw.extend_from_slice(ct);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(&body);
    match Answer::from_file(&raw) {
        Some(mut a) => {
            // Counted in %B, but the H1 layer does not send it for these.
            if let (Some(h), true) = (a.head.as_mut(), matches!(r.status, 204 | 304)) {
                h.remove_named(b"content-length");
            }
            Verdict::Return(Box::new(a), r.status)
        }
        // A value with bytes a header cannot hold: haproxy's 500.
        None => Verdict::Deny(500),
    }
}

/// Applies one header action to `h`, its value rendered with `ctx` first.
fn edit(action: &HttpAction, value: Option<Vec<u8>>, h: &mut Head) {
    match action {
        HttpAction::SetHeader(n, _) => {
            h.remove_named(n);
            h.add_header(n, &value.unwrap_or_default());
        }
        HttpAction::AddHeader(n, _) => h.add_header(n, &value.unwrap_or_default()),
        HttpAction::DelHeader(n) => h.remove_named(n),
        HttpAction::ReplaceHeader(r) => replace_header(h, r, &value.unwrap_or_default()),
        HttpAction::SetStatus(code, reason) => {
            h.status = *code;
            h.set_part(1, code.to_string().as_bytes());
            let phrase = crate::runtime::stream::http1::reason::reason(*code).as_bytes();
            h.set_part(2, reason.as_deref().unwrap_or(phrase));
        }
        HttpAction::SetLine(part, _) => set_line(h, *part, &value.unwrap_or_default()),
        HttpAction::ReplaceLine(part, re, _) => {
            let uri = h.part(1);
            let subject = match part {
                LinePart::Path | LinePart::PathQuery => {
                    let p = authority::path(uri).unwrap_or(b"");
                    match part {
                        LinePart::Path => {
                            &p[..p.iter().position(|&c| c == b'?').unwrap_or(p.len())]
                        }
                        _ => p,
                    }
                }
                _ => uri,
            };
            if subject.is_empty() {
                return;
            }
            let Some(caps) = re.0.captures(subject) else {
                return;
            };
            // A template ending in a lone backslash fails the rewrite: nothing changes.
            if let Some(out) = exp_replace(&value.unwrap_or_default(), &caps) {
                set_line(h, *part, &out);
            }
        }
        _ => {}
    }
}

/// `replace-header` / `replace-value` on every header named `r.name`: a value the regex
/// matches (anywhere) becomes `template` expanded with its groups. The template is read
/// as a C string (up to a NUL); a failed expansion leaves the value.
fn replace_header(h: &mut Head, r: &crate::ir::http_rules::ReplaceHeader, template: &[u8]) {
    let template = &template[..template
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(template.len())];
    for i in 0..h.header_count() {
        let (name, value) = h.header_at(i);
        if name != &*r.name {
            continue;
        }
        let value = value.to_vec();
        let new = if r.full {
            match r
                .re
                .0
                .captures(&value)
                .and_then(|c| exp_replace(template, &c))
            {
                Some(v) => v,
                None => continue,
            }
        } else {
            // Each comma-separated value (quotes kept whole); a replaced one loses the
            // blanks around it, as http_replace_header_value replaces them too.
            let mut out = Vec::with_capacity(value.len());
            for (start, end) in value_spans(&value) {
                let core = crate::runtime::stream::http1::head::trim_lws(&value[start..end]);
                match r
                    .re
                    .0
                    .captures(core)
                    .and_then(|c| exp_replace(template, &c))
                {
                    Some(v) => out.extend_from_slice(&v),
                    None => out.extend_from_slice(&value[start..end]),
                }
                if end < value.len() {
                    out.push(b',');
                }
            }
            out
        };
        h.set_value(i, &new);
    }
}

/// The spans of a header value's comma-separated parts; a comma inside a quoted string
/// does not split (http_find_hdr_value_end).
fn value_spans(v: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let (mut start, mut i, mut quoted) = (0, 0, false);
    while i < v.len() {
        match v[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                spans.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    spans.push((start, v.len()));
    spans
}

/// Replaces a part of the request line as http_req_replace_stline does.
fn set_line(h: &mut Head, part: LinePart, v: &[u8]) {
    let uri = h.part(1).to_vec();
    // Where the path starts and its length without (or with) the query; a URI without
    // a path has its whole self replaced, as haproxy does.
    let path_at = |with_query: bool| {
        let p = authority::path(&uri).unwrap_or(&uri);
        let at = p.as_ptr() as usize - uri.as_ptr() as usize;
        let len = if with_query {
            p.len()
        } else {
            p.iter().position(|&c| c == b'?').unwrap_or(p.len())
        };
        (at, len)
    };
    let new_uri = match part {
        LinePart::Method => return h.set_part(0, v),
        LinePart::Path | LinePart::PathQuery => {
            let (at, len) = path_at(part == LinePart::PathQuery);
            [&uri[..at], v, &uri[at + len..]].concat()
        }
        LinePart::Query => match uri.iter().position(|&c| c == b'?') {
            Some(q) => [&uri[..=q], v].concat(),
            None if !v.is_empty() => [&uri[..], b"?", v].concat(),
            None => return,
        },
        LinePart::Uri => {
            h.set_part(1, v);
            // http_update_host: an authority in the new URI becomes every host value.
            let host = if h.method() == b"CONNECT" {
                Some(v.to_vec())
            } else {
                authority::authority(v)
                    .filter(|a| !a.is_empty())
                    .map(<[u8]>::to_vec)
            };
            if let Some(host) = host {
                for i in 0..h.header_count() {
                    if h.header_at(i).0 == b"host" {
                        h.set_value(i, &host);
                    }
                }
            }
            return;
        }
    };
    h.set_part(1, &new_uri);
}

/// What an action computes before anything changes: a header or line value, or what a
/// variable action stores.
enum Computed {
    None,
    Value(Vec<u8>),
    Var(Option<Option<Stored>>),
    /// A `track-sc*` key (None: nothing to track).
    Track(Option<Box<[u8]>>),
    /// An `sc-*` action's value.
    Gpt(Option<i64>),
    /// A `capture` action's text (None: the sample is missing).
    Capture(Option<Vec<u8>>),
}

/// An action's value, rendered before the head or the variables are changed.
fn value(action: &HttpAction, ctx: &Ctx) -> Computed {
    match action {
        HttpAction::SetHeader(_, f)
        | HttpAction::AddHeader(_, f)
        | HttpAction::SetLine(_, f)
        | HttpAction::ReplaceLine(_, _, f) => Computed::Value(render(f, ctx)),
        HttpAction::ReplaceHeader(r) => Computed::Value(render(&r.fmt, ctx)),
        HttpAction::Var(a) => Computed::Var(vars::value_of(a, ctx)),
        HttpAction::Track(t) => Computed::Track(track::track_key(t, ctx).ok().flatten()),
        HttpAction::Sc(a) => Computed::Gpt(track::gpt_value(a, ctx)),
        // The sample cast to a string, as haproxy stores it (a C string).
        HttpAction::Capture(c) => Computed::Capture(
            crate::runtime::rules::format::single(&c.expr, ctx).map(|v| {
                let b = v.to_bytes();
                let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
                b[..end].to_vec()
            }),
        ),
        _ => Computed::None,
    }
}

/// Applies an action that changes the head or the variables, with what it computed.
fn change(action: &HttpAction, computed: Computed, h: &mut Head, st: &mut State) {
    match (action, computed) {
        (HttpAction::Var(a), Computed::Var(Some(v))) => {
            vars::apply(a, v, st.vars, st.proc, st.response)
        }
        (HttpAction::Var(_), _) => {}
        (HttpAction::Track(t), Computed::Track(Some(key))) => {
            if let Some(table) = st.tables.and_then(|ts| ts.get(t.table.get())) {
                let n = usize::from(t.slot);
                let trk = st.vars.trackers_mut();
                // The request being processed counts on the new counter at once.
                if trk.track(n, table, key, true) {
                    trk.http_tracked(n, st.response.then_some(h.status));
                }
            }
        }
        (HttpAction::Sc(a), Computed::Gpt(v)) => {
            if let Some(trk) = st.vars.trackers() {
                track::apply(trk, a, v);
            }
        }
        (HttpAction::Capture(c), Computed::Capture(Some(v))) => st.caps.push((c.slot, c.len, v)),
        (HttpAction::SetLogLevel(l), _) => st.vars.set_log_level(*l),
        (HttpAction::DisableL7Retry, _) => st.vars.disable_l7_retry(),
        (HttpAction::Track(_) | HttpAction::Sc(_) | HttpAction::Capture(_), _) => {}
        (a, Computed::Value(v)) => edit(a, Some(v), h),
        (a, _) => edit(a, None, h),
    }
}

/// The session state rules read and change besides the head: its variables.
pub(super) struct State<'v, 'p> {
    /// The session's variables.
    pub(super) vars: &'v mut Vars,
    /// The process's variables.
    pub(super) proc: Option<&'p ProcVars>,
    /// Response rules (`res.` variables, not `req.` ones).
    pub(super) response: bool,
    /// The stick tables counters are tracked in.
    pub(super) tables: Option<&'p [crate::runtime::lb::stick::Table]>,
    /// What `capture` rules took, for the transaction's log.
    pub(super) caps: &'v mut Taken,
}

/// What `capture` rules took: (slot, its `len` when the rule gave one, the text).
pub(super) type Taken = Vec<(usize, Option<usize>, Vec<u8>)>;

/// Whether `r`'s condition holds for the transaction (decided on what is there).
fn applies(r: &HttpRule, ctx: &Ctx) -> bool {
    rules::holds(r.cond.as_ref(), ctx).unwrap_or(false)
}

/// Runs a proxy's `http-request` rules then its `redirect` rules on `req`.
pub(super) fn on_request(
    rules: &HttpRules,
    who: &Who,
    req: &mut Head,
    (vars, caps): (&mut Vars, &mut Taken),
) -> Verdict {
    let mut st = State {
        vars,
        proc: who.proc,
        response: false,
        tables: who.tables,
        caps,
    };
    for r in &rules.request {
        let (hit, val, answer) = {
            let mut ctx = Ctx::tcp(who, &[], true);
            ctx.req = Some(&*req);
            ctx.vars = Some(&*st.vars);
            if !applies(r, &ctx) {
                continue;
            }
            let answer = match &r.action {
                HttpAction::Redirect(rd) => Some(Verdict::Redirect(redirect(rd, req, &ctx))),
                HttpAction::Return(rp) => Some(reply(rp, &ctx)),
                HttpAction::DenyReply(rp) => Some(match reply(rp, &ctx) {
                    Verdict::Return(a, s) => Verdict::DenyReply(a, s),
                    v => v,
                }),
                _ => None,
            };
            (true, value(&r.action, &ctx), answer)
        };
        debug_assert!(hit);
        match &r.action {
            HttpAction::Allow => break,
            HttpAction::Deny(s) => return Verdict::Deny(*s),
            HttpAction::Tarpit(s) => {
                let ms = rules
                    .tarpit
                    .map_or(0, |d| d.as_millis().min(u128::from(u32::MAX)));
                return Verdict::Tarpit(*s, ms as u32);
            }
            HttpAction::Auth(realm) => return Verdict::Auth(Box::new(realm.clone())),
            HttpAction::Redirect(_) | HttpAction::Return(_) | HttpAction::DenyReply(_) => {
                if let Some(v) = answer {
                    return v;
                }
            }
            a => change(a, val, req, &mut st),
        }
    }
    for r in &rules.redirects {
        let mut ctx = Ctx::tcp(who, &[], true);
        ctx.req = Some(&*req);
        ctx.vars = Some(&*st.vars);
        if let (true, HttpAction::Redirect(rd)) = (applies(r, &ctx), &r.action) {
            return Verdict::Redirect(redirect(rd, req, &ctx));
        }
    }
    Verdict::Continue
}

/// Runs a proxy's `http-response` (or `http-after-response`) rules on `res`: Some when
/// one ends the response there (`Verdict::Deny` with its status, a `return`'s reply).
pub(super) fn on_response(
    rules: &[HttpRule],
    who: &Who,
    (req, res): (&Head, &mut Head),
    (vars, caps): (&mut Vars, &mut Taken),
) -> Option<Verdict> {
    let mut st = State {
        vars,
        proc: who.proc,
        tables: who.tables,
        response: true,
        caps,
    };
    for r in rules {
        let (val, answer) = {
            let mut ctx = Ctx::tcp(who, &[], true);
            ctx.req = Some(req);
            ctx.res = Some(&*res);
            ctx.vars = Some(&*st.vars);
            if !applies(r, &ctx) {
                continue;
            }
            let answer = match &r.action {
                HttpAction::Return(rp) => Some(reply(rp, &ctx)),
                _ => None,
            };
            (value(&r.action, &ctx), answer)
        };
        match &r.action {
            HttpAction::Allow => break,
            HttpAction::Deny(s) => return Some(Verdict::Deny(*s)),
            HttpAction::Return(_) => return answer,
            a => change(a, val, res, &mut st),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(uri_path(b"/a?b"), b"/a?b");
        assert_eq!(uri_path(b"http://h"), b"/");
        assert_eq!(uri_path(b"http://h/x?y"), b"/x?y");
        assert_eq!(uri_path(b"*"), b"/");
        assert!(is_monitor(b"/health", b"/health"));
        assert!(is_monitor(b"/health", b"http://h/health"));
        assert!(!is_monitor(b"/health", b"/health?x"));
        assert!(!is_monitor(b"/", b"http://h"));
        let mut out = Vec::new();
        crate::runtime::rules::format::encode_into(b"a\r\nX: 1\t\x7f", &mut out);
        assert_eq!(out, b"a%0D%0AX: 1\t%7F");
    }

    #[test]
    fn verdict_stays_two_words() {
        // Session futures hold it across awaits: every idle connection pays for it.
        assert!(std::mem::size_of::<Verdict>() <= 16);
    }

    #[test]
    fn exp_replace_as_haproxy() {
        let re = regex::bytes::Regex::new(r"^/(a)(x)?/(.*)$").unwrap();
        let caps = re.captures(b"/a/rest").unwrap();
        // Groups, an unmatched group, \xHH, an escaped character, group 0.
        assert_eq!(
            exp_replace(br"\3-\1\2-\x41\x7e-\q-\0", &caps).unwrap(),
            b"rest-a-A~-q-/a/rest"
        );
        // A lone backslash or a cut \x fails the rewrite.
        assert_eq!(exp_replace(br"x\", &caps), None);
        assert_eq!(exp_replace(br"\x4", &caps), None);
    }
}
