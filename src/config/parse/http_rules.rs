//! `http-request`, `http-response` and `redirect` (configuration.txt §4.2): the actions
//! haproxide runs (allow, deny, redirect, set/add/del-header), their log-format values,
//! and haproxy's messages; every other action haproxy knows is refused by name.

use super::acl::{self, AclError};
use super::http_reply::ReplyError;
use super::sample::SampleError;
use super::value_format::{parse_format_on, unavailable};
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind};
use crate::config::diag::{Diagnostic, Loc, LocStyle};
use crate::ir::acl::{self as acl_ir, AclTest, Cond, Fetch};
use crate::ir::http_rules::{FmtPart, HttpAction, HttpRule, LinePart, ReplyBody};

/// parse_http_deny's legacy form of `deny` and `tarpit`: nothing (the `default`
/// status) or `deny_status <code>` alone: the status and the word after it, or the
/// message; None when http-reply arguments follow instead.
fn legacy_status(words: &[String], default: u16) -> Option<Result<(u16, usize), String>> {
    let arg = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let ends = |w: &str| w.is_empty() || w == "if" || w == "unless";
    if ends(arg(2)) {
        return Some(Ok((default, 2)));
    }
    if arg(2) != "deny_status" || !ends(arg(4)) {
        return None;
    }
    let code = super::units::lenient_int(arg(3));
    if !(200..=599).contains(&code) {
        return Some(Err(format!("Unexpected status code '{}'", code as i32)));
    }
    let code = code as u16;
    if !ERR_CODES.contains(&code) && code != 504 {
        return Some(Err(format!(
            "status code '{code}' not handled by default with 'default-errorfiles' argument."
        )));
    }
    Some(Ok((code, 4)))
}

/// A rule's regex on bytes (haproxy's PCRE without UTF-8), or haproxy's message.
fn byte_regex(pattern: &str) -> Result<crate::ir::acl::Regex, String> {
    crate::ir::acl::Regex::bytes(pattern)
        .map_err(|e| format!("failed to parse the regex : {}", acl::regex_error(&e)))
}

/// `http-request` actions of haproxy 2.6, as its message lists them.
const REQ_ACTIONS: &str = "'wait-for-handshake', 'ot-group', 'set-log-level', 'set-nice', 'use-service', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'do-resolve(*)', 'cache-use', 'add-acl(*)', 'add-header', 'allow', 'auth', 'capture', 'del-acl(*)', 'del-header', 'del-map(*)', 'deny', 'disable-l7-retry', 'early-hint', 'normalize-uri', 'redirect', 'reject', 'replace-header', 'replace-path', 'replace-pathq', 'replace-uri', 'replace-value', 'return', 'set-header', 'set-map(*)', 'set-method', 'set-path', 'set-pathq', 'set-query', 'set-uri', 'strict-mode', 'tarpit', 'track-sc(*)', 'set-timeout', 'wait-for-body', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-dst', 'set-dst-port', 'set-mark', 'set-src', 'set-src-port', 'set-tos', 'silent-drop', 'set-priority-class', 'set-priority-offset'";

/// `http-response` actions of haproxy 2.6, as its message lists them.
/// haproxy's `action_suggest` over an action list as its message prints it: the closest
/// action by fingerprint (the first wins a tie), within twice the words' lengths, three
/// times for the prefix actions (`name(*)`).
fn action_suggest<'a>(list: &'a str, word: &str) -> Option<&'a str> {
    let mut best: Option<(usize, &str, bool)> = None;
    for item in list.split(", ") {
        let item = item.trim_matches('\'');
        let (name, prefix) = match item.strip_suffix("(*)") {
            Some(n) => (n, true),
            None => (item, false),
        };
        let d = crate::config::keywords::distance(word, name);
        if best.is_none_or(|(bd, _, _)| d < bd) {
            best = Some((d, name, prefix));
        }
    }
    let (d, name, prefix) = best?;
    let k = if prefix { 3 } else { 2 };
    (d <= k * word.len() && d <= k * name.len()).then_some(name)
}

const RES_ACTIONS: &str = "'ot-group', 'set-log-level', 'set-nice', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'cache-store', 'add-acl(*)', 'add-header', 'allow', 'capture', 'del-acl(*)', 'del-header', 'del-map(*)', 'deny', 'redirect', 'replace-header', 'replace-value', 'return', 'set-header', 'set-map(*)', 'set-status', 'strict-mode', 'track-sc(*)', 'wait-for-body', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-mark', 'set-tos', 'silent-drop'";

/// The statuses haproxy has a built-in page for (`http_err_codes`), which `deny_status`
/// may name without a page of its own.
pub const ERR_CODES: [u16; 18] = [
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503,
];

/// Whether `action` is one `list` names (`name(*)` covers `name(…)` and `name0`…).
fn known(list: &str, action: &str) -> bool {
    let base = action.split('(').next().unwrap_or(action);
    list.contains(&format!("'{action}'"))
        || list.contains(&format!("'{base}(*)'"))
        || (base.starts_with("track-sc") && list.contains("'track-sc(*)'"))
}

/// Which rule list a line goes to.
#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Request,
    Response,
    /// `http-after-response`: response rules that also see haproxy's own answers.
    After,
}

impl Dir {
    fn kw(self) -> &'static str {
        match self {
            Dir::Request => "http-request",
            Dir::Response => "http-response",
            Dir::After => "http-after-response",
        }
    }
}

/// The actions haproxy 2.6 knows for `http-after-response`, as its message lists them.
const AFTER_ACTIONS: &str = "'ot-group', 'add-header', 'allow', 'capture', 'del-header', 'replace-header', 'replace-value', 'set-header', 'set-status', 'strict-mode', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'";

impl Parser {
    /// `http-request <action> …` and `http-response <action> …`.
    pub(super) fn parse_http_rule(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let dir = match stmt.arg(0) {
            "http-response" => Dir::Response,
            "http-after-response" => Dir::After,
            _ => Dir::Request,
        };
        // The after-response rules are response rules too.
        let resp = dir != Dir::Request;
        let loc = stmt.loc;
        let kw = dir.kw();
        if p.kind == ProxyKind::Defaults && p.name.is_empty() {
            return self.alert(
                loc,
                format!("'{kw}' not allowed in anonymous 'defaults' section."),
            );
        }
        // haproxy warns about an unconditional final rule before it reads this one.
        if !self.stats_rules {
            self.warn_after_final(p, stmt, dir);
        }
        let action = stmt.arg(1);
        let px = format!("{} '{}'", p.kind.proxy_word(), p.name);
        // haproxy stops reading the file at an http rule it cannot build.
        let fail = |this: &mut Parser, msg: String, tight: bool| {
            let d = Diagnostic::alert(loc, msg);
            this.push(if tight {
                d.styled(LocStyle::ParsingTight)
            } else {
                d
            });
            this.aborted = true;
        };
        let rule_err =
            |m: &str| format!("error detected in {px} while parsing '{kw} {action}' rule : {m}.");
        // A rule's log-format value, or its error said as haproxy says it (then None).
        let on = Some(resp);
        let value_format = |this: &mut Self, text: &str| match parse_format_on(text, on) {
            Ok(f) => Some(f),
            Err(SampleError::Invalid(m)) => {
                fail(this, rule_err(&m), false);
                None
            }
            Err(SampleError::Unsupported(what)) => {
                this.unsupported(loc, &what, "not evaluated by haproxide yet");
                None
            }
        };
        // A reply's arguments from word 2 (`return`, `deny …`), or its error said.
        let reply_args = |this: &mut Self, w: &[String], status: u16| match this.parse_reply(
            loc,
            w,
            (2, status),
            Some(resp),
        ) {
            Ok((_, _, Some(_))) => {
                let what = format!("'{kw} {action} … errorfiles'");
                this.unsupported(loc, &what, "not evaluated by haproxide yet");
                None
            }
            Ok((r, next, None)) => Some((r, next)),
            Err(ReplyError::Invalid(m)) => {
                fail(this, rule_err(&m), false);
                None
            }
            Err(ReplyError::Unsupported(what)) => {
                this.unsupported(loc, &what, "not evaluated by haproxide yet");
                None
            }
        };
        let list = match dir {
            Dir::Request => REQ_ACTIONS,
            Dir::Response => RES_ACTIONS,
            Dir::After => AFTER_ACTIONS,
        };
        // haproxy's message for an action it does not know here.
        let unknown = |this: &mut Self, a: &str| {
            let hint = action_suggest(list, a)
                .map(|b| format!(" Did you mean '{b}' maybe ?"))
                .unwrap_or_default();
            fail(
                this,
                format!("'{kw}' expects {list}, but got '{a}'.{hint}"),
                true,
            );
        };
        if dir == Dir::After && !known(list, action) {
            return unknown(self, action);
        }
        let mut i = 2;
        let words = stmt.words;
        let arg = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        // Arguments end at `if`/`unless`.
        let n_args = words[2.min(words.len())..]
            .iter()
            .position(|w| w == "if" || w == "unless")
            .unwrap_or(words.len().saturating_sub(2));
        // `deny_status <code>` alone (or nothing): the status and where the arguments end;
        // a whole http reply is not built for this action yet (refused by name).
        let legacy_only = |this: &mut Self, default: u16| match legacy_status(words, default) {
            None => {
                this.unsupported(
                    loc,
                    &format!("'{kw} {action}' with http-reply arguments"),
                    &format!("only '{action} [deny_status <code>]'"),
                );
                None
            }
            Some(Err(m)) => {
                fail(this, rule_err(&m), false);
                None
            }
            Some(Ok(r)) => Some(r),
        };
        let act = match action {
            "allow" => HttpAction::Allow,
            "tarpit" if dir == Dir::Request => match legacy_only(self, 500) {
                Some((code, next)) => {
                    i = next;
                    HttpAction::Tarpit(code)
                }
                None => return,
            },
            // parse_http_deny as for requests, 502 by default.
            "deny" if dir == Dir::Response => match legacy_only(self, 502) {
                Some((code, next)) => {
                    i = next;
                    HttpAction::Deny(code)
                }
                None => return,
            },
            "deny" => {
                // parse_http_deny: nothing, or only `deny_status <code>`, is the legacy
                // form (the error page); anything else is a whole http reply.
                if let Some(legacy) = legacy_status(words, 403) {
                    match legacy {
                        Ok((code, next)) => {
                            i = next;
                            HttpAction::Deny(code)
                        }
                        Err(m) => return fail(self, rule_err(&m), false),
                    }
                } else {
                    let mut w = words.to_vec();
                    if w[2] == "deny_status" {
                        w[2] = "status".into();
                    }
                    let Some((r, next)) = reply_args(self, &w, 403) else {
                        return;
                    };
                    i = next;
                    match r.body {
                        ReplyBody::ErrorPage => HttpAction::Deny(r.status),
                        _ => HttpAction::DenyReply(Box::new(r)),
                    }
                }
            }
            "auth" if dir == Dir::Request => {
                let realm = if arg(2) == "realm" {
                    if arg(3).is_empty() {
                        return fail(self, rule_err("missing realm value.\n"), false);
                    }
                    i = 4;
                    arg(3)
                } else {
                    // Empty (haproxy refuses an empty realm): the running proxy's name,
                    // filled in when a frontend or backend takes the rule.
                    ""
                };
                HttpAction::Auth(realm.as_bytes().into())
            }
            // Not an after-response action (refused above).
            "return" => {
                let Some((r, next)) = reply_args(self, words, 200) else {
                    return;
                };
                i = next;
                HttpAction::Return(Box::new(r))
            }
            "set-header" | "add-header" => {
                if n_args < 2 {
                    return fail(self, rule_err("expects exactly 2 arguments"), false);
                }
                let name: Box<[u8]> = arg(2).to_ascii_lowercase().into_bytes().into();
                let value = match value_format(self, arg(3)) {
                    Some(f) => f,
                    None => return,
                };
                i = 4;
                // `nbsrv` names the proxy it is in: not a frontend (haproxy's message).
                let nbsrv = value
                    .iter()
                    .any(|f| matches!(f, FmtPart::Sample(e) if e.fetch == Fetch::Nbsrv(None)));
                if nbsrv && p.kind == ProxyKind::Frontend {
                    let msg = format!("proxy '{0}', referenced in arg 1 of sample fetch keyword 'nbsrv' in {kw} expression in proxy '{0}', has not backend capability.", p.name);
                    p.arg_errors.push((loc.clone(), msg));
                }
                if action == "set-header" {
                    HttpAction::SetHeader(name, value)
                } else {
                    HttpAction::AddHeader(name, value)
                }
            }
            "set-method" | "set-path" | "set-pathq" | "set-query" | "set-uri"
                if dir == Dir::Request =>
            {
                if n_args != 1 {
                    return fail(self, rule_err("expects exactly 1 argument <format>"), false);
                }
                let value = match value_format(self, arg(2)) {
                    Some(f) => f,
                    None => return,
                };
                i = 3;
                let part = match action {
                    "set-method" => LinePart::Method,
                    "set-path" => LinePart::Path,
                    "set-pathq" => LinePart::PathQuery,
                    "set-query" => LinePart::Query,
                    _ => LinePart::Uri,
                };
                HttpAction::SetLine(part, value)
            }
            "replace-path" | "replace-pathq" | "replace-uri" if dir == Dir::Request => {
                if n_args != 2 {
                    return fail(
                        self,
                        rule_err("expects exactly 2 arguments <match-regex> and <replace-format>"),
                        false,
                    );
                }
                let re = match byte_regex(arg(2)) {
                    Ok(r) => r,
                    Err(m) => return fail(self, rule_err(&m), false),
                };
                let value = match value_format(self, arg(3)) {
                    Some(f) => f,
                    None => return,
                };
                i = 4;
                let part = match action {
                    "replace-path" => LinePart::Path,
                    "replace-pathq" => LinePart::PathQuery,
                    _ => LinePart::Uri,
                };
                HttpAction::ReplaceLine(part, re, value)
            }
            "replace-header" | "replace-value" => {
                if arg(2).is_empty() || arg(3).is_empty() || arg(4).is_empty() {
                    return fail(self, rule_err("expects exactly 3 arguments"), false);
                }
                let re = match byte_regex(arg(3)) {
                    Ok(r) => r,
                    Err(m) => return fail(self, rule_err(&m), false),
                };
                let Some(fmt) = value_format(self, arg(4)) else {
                    return;
                };
                i = 5;
                HttpAction::ReplaceHeader(Box::new(crate::ir::http_rules::ReplaceHeader {
                    name: arg(2).to_ascii_lowercase().into_bytes().into(),
                    re,
                    fmt,
                    full: action == "replace-header",
                }))
            }
            "disable-l7-retry" if dir == Dir::Request => HttpAction::DisableL7Retry,
            "set-log-level" => match log_level(arg(2)) {
                Some(l) => {
                    i = 3;
                    HttpAction::SetLogLevel(l)
                }
                None => return fail(self, rule_err(LOG_LEVEL_ARG), false),
            },
            "capture" => match self.http_capture(p, (loc, words), resp) {
                Ok((c, next)) => {
                    i = next;
                    HttpAction::Capture(Box::new(c))
                }
                Err(Some(m)) => return fail(self, rule_err(&m), false),
                Err(None) => return,
            },
            "set-status" if resp => {
                let code = arg(2);
                if code.is_empty() {
                    return fail(
                        self,
                        rule_err(
                            "expects 1 argument: <status>; or 3 arguments: <status> reason <fmt>",
                        ),
                        false,
                    );
                }
                let status = match code.parse::<u16>() {
                    Ok(v)
                        if (100..=999).contains(&v) && code.bytes().all(|c| c.is_ascii_digit()) =>
                    {
                        v
                    }
                    _ => {
                        return fail(
                            self,
                            rule_err("expects an integer status code between 100 and 999"),
                            false,
                        )
                    }
                };
                i = 3;
                let reason =
                    (arg(3) == "reason" && !matches!(arg(4), "" | "if" | "unless")).then(|| {
                        i = 5;
                        arg(4).as_bytes().into()
                    });
                HttpAction::SetStatus(status, reason)
            }
            "del-header" => {
                if n_args < 1 {
                    return fail(self, rule_err("expects at least 1 argument"), false);
                }
                if matches!(arg(3), "-m") {
                    return self.unsupported(
                        loc,
                        &format!("'{kw} del-header … -m'"),
                        "exact names only",
                    );
                }
                i = 3;
                HttpAction::DelHeader(arg(2).to_ascii_lowercase().into_bytes().into())
            }
            "redirect" if dir == Dir::Request => match self.redirect_args(p, stmt, 2, true) {
                Ok((r, cond)) => {
                    p.http_rules.request.push(HttpRule {
                        action: HttpAction::Redirect(Box::new(r)),
                        cond,
                    });
                    self.misplaced_http_req(p, stmt);
                    return;
                }
                Err(Some(m)) => return fail(self, rule_err(&m), false),
                Err(None) => return,
            },
            a if super::vars::is_var_action(a) => match super::vars::var_action(words, 1, on) {
                Ok((v, next)) => {
                    i = next;
                    HttpAction::Var(Box::new(v))
                }
                Err(SampleError::Invalid(m)) => return fail(self, rule_err(&m), false),
                Err(SampleError::Unsupported(what)) => {
                    return self.unsupported(loc, &what, "not evaluated by haproxide yet")
                }
            },
            a if a.starts_with("track-sc") => match super::counters::track(words, 1, false) {
                Ok((t, next, last)) => {
                    if let Some(src) = unavailable(&t.key.fetch, resp) {
                        let m = format!("fetch method '{last}' extracts information from '{src}', none of which is available here");
                        return fail(self, rule_err(&m), false);
                    }
                    i = next;
                    HttpAction::Track(Box::new(t))
                }
                Err(m) => match m.strip_prefix('\0') {
                    Some(what) => {
                        return self.unsupported(loc, what, "not evaluated by haproxide yet")
                    }
                    None => return fail(self, rule_err(&m), false),
                },
            },
            a if a.starts_with("sc-inc-gpc") || a.starts_with("sc-set-gpt") => {
                match super::counters::sc_action(words, 1) {
                    Some(Ok((act, next))) => {
                        if let crate::ir::counters::ScAction::SetGpt {
                            value: crate::ir::counters::GptValue::Expr(e),
                            ..
                        } = &act
                        {
                            if let Some(src) = unavailable(&e.fetch, resp) {
                                let last = &words[next - 1];
                                let m = format!("fetch method '{last}' extracts information from '{src}', none of which is available here");
                                return fail(self, rule_err(&m), false);
                            }
                        }
                        i = next;
                        HttpAction::Sc(Box::new(act))
                    }
                    Some(Err(SampleError::Invalid(m))) => return fail(self, rule_err(&m), false),
                    Some(Err(SampleError::Unsupported(what))) => {
                        return self.unsupported(loc, &what, "not evaluated by haproxide yet")
                    }
                    None => unreachable!("the prefix was checked"),
                }
            }
            a if known(list, a) => {
                let built = match dir {
                    Dir::Request => "actions other than allow, deny, tarpit, auth, return, redirect, set-header, add-header, del-header, replace-header, replace-value, set-method, set-path, set-pathq, set-query, set-uri, replace-path, replace-pathq, replace-uri, set-var, set-var-fmt, unset-var, capture, track-sc*, sc-inc-gpc* and sc-set-gpt*",
                    Dir::Response => "actions other than allow, deny, return, set-header, add-header, del-header, replace-header, replace-value, set-status, set-var, set-var-fmt, unset-var, capture, track-sc*, sc-inc-gpc* and sc-set-gpt*",
                    Dir::After => "actions other than allow, set-header, add-header, del-header, replace-header, replace-value, set-status, set-var, set-var-fmt, unset-var and capture",
                };
                return self.unsupported(loc, &format!("'{kw} {a}'"), built);
            }
            a => return unknown(self, a),
        };
        let cond = match arg(i) {
            "" => None,
            "if" | "unless" => match self.read_cond(p, loc, &words[i..]) {
                Ok(c) => Some(c),
                Err(AclError::Invalid(m)) => {
                    return fail(self, format!("error detected while parsing an '{kw} {action}' condition : {m}."), false)
                }
                Err(AclError::Unsupported(what)) => {
                    return self.unsupported(loc, &what, "not evaluated by haproxide yet")
                }
            },
            w => {
                return fail(self, format!("'{kw} {action}' expects either 'if' or 'unless' followed by a condition but found '{w}'."), true)
            }
        };
        if let Some(c) = &cond {
            self.warn_never_matches(p, stmt, c, dir);
        }
        let rule = HttpRule { action: act, cond };
        if self.stats_rules {
            // A `stats http-request` rule: its caller takes it from the list.
            p.http_rules.request.push(rule);
            return;
        }
        match dir {
            Dir::Request => {
                p.http_rules.request.push(rule);
                self.misplaced_http_req(p, stmt);
            }
            Dir::Response => p.http_rules.response.push(rule),
            Dir::After => p.http_rules.after.push(rule),
        }
    }

    /// haproxy's `warnif_cond_conflicts` for an HTTP rule of direction `dir`.
    fn warn_never_matches(&mut self, p: &ProxyConf, stmt: &Stmt, c: &Cond, dir: Dir) {
        let side = if p.kind == ProxyKind::Backend {
            "backend"
        } else {
            "frontend"
        };
        // haproxy checks an after-response rule where it checks the response rules.
        let kw = if dir == Dir::Request {
            Dir::Request.kw()
        } else {
            Dir::Response.kw()
        };
        let place = format!("{side} {kw} header rule");
        match dir {
            Dir::Response | Dir::After => {
                self.warn_useless_acl(p, stmt.loc, c, &place, |t| t.expr.fetch.needs_request())
            }
            Dir::Request => self.warn_request_only(p, stmt.loc, c, &place),
        }
    }

    /// haproxy's `warnif_cond_conflicts` for a rule run on the request, at `place`.
    pub(super) fn warn_request_only(&mut self, p: &ProxyConf, loc: &Loc, c: &Cond, place: &str) {
        self.warn_useless_acl(p, loc, c, place, |t| {
            matches!(&t.expr.fetch, Fetch::Status | Fetch::ResComp | Fetch::ResCompAlgo)
                || matches!(&t.expr.fetch, Fetch::Hdr(h) | Fetch::HdrCnt(h) if h.dir == acl_ir::Dir::Res)
        });
    }

    /// Warns about the first ACL of `c` whose every test is `useless` at `place`.
    fn warn_useless_acl(
        &mut self,
        p: &ProxyConf,
        loc: &Loc,
        c: &Cond,
        place: &str,
        useless: impl Fn(&AclTest) -> bool,
    ) {
        let Some(term) = c
            .suites
            .iter()
            .flatten()
            .find(|t| !t.tests.is_empty() && t.tests.iter().all(&useless))
        else {
            return;
        };
        let named = p
            .acls
            .iter()
            .find(|a| std::sync::Arc::ptr_eq(&a.tests, &term.tests));
        let msg = match named {
            Some(a) => format!("acl '{}' will never match because it only involves keywords that are incompatible with '{place}'", a.name),
            None => format!("anonymous acl will never match because it uses keyword '{}' which is incompatible with '{place}'", term.tests[0].kw),
        };
        self.warn(loc, msg);
    }

    /// haproxy's warning for a rule after a final action without a condition.
    fn warn_after_final(&mut self, p: &ProxyConf, stmt: &Stmt, dir: Dir) {
        let list = match dir {
            Dir::Request => &p.http_rules.request,
            Dir::Response => &p.http_rules.response,
            Dir::After => &p.http_rules.after,
        };
        let final_uncond = list.last().is_some_and(|r| {
            r.cond.is_none()
                && matches!(
                    r.action,
                    HttpAction::Allow
                        | HttpAction::Deny(_)
                        | HttpAction::Tarpit(_)
                        | HttpAction::DenyReply(_)
                        | HttpAction::Redirect(_)
                        | HttpAction::Auth(_)
                        | HttpAction::Return(_)
                )
        });
        if final_uncond {
            let d = Diagnostic::warning(stmt.loc, format!("previous '{}' action is final and has no condition attached, further entries are NOOP.", dir.kw()));
            self.push(d.styled(LocStyle::ParsingTight));
        }
    }

    /// haproxy's warning for an `http-request` rule after rules that run later.
    fn misplaced_http_req(&mut self, p: &ProxyConf, stmt: &Stmt) {
        let kw = stmt.arg(0);
        if !p.http_rules.redirects.is_empty() {
            self.warn(
                stmt.loc,
                format!(
                    "a '{kw}' rule placed after a 'redirect' rule will still be processed before."
                ),
            );
        } else if !p.use_backends.is_empty() {
            self.warn(stmt.loc, format!("a '{kw}' rule placed after a 'use_backend' rule will still be processed before."));
        }
    }
}

/// haproxy's message for a `set-log-level` without a level it knows.
pub(super) const LOG_LEVEL_ARG: &str = "expects exactly 1 argument (log level name or 'silent')";

/// `set-log-level`'s argument: a syslog level name (0 emerg … 7 debug), or `silent`
/// (-1); None for anything else.
pub(super) fn log_level(w: &str) -> Option<i8> {
    if w == "silent" {
        return Some(-1);
    }
    super::global::LEVELS
        .iter()
        .position(|l| *l == w)
        .map(|i| i as i8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_actions() {
        assert!(known(REQ_ACTIONS, "set-var(txn.x)"));
        assert!(known(REQ_ACTIONS, "track-sc0"));
        assert!(!known(REQ_ACTIONS, "foo"));
    }
}
