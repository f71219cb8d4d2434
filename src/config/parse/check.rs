//! `tcp-check` and `http-check` rules: configuration.txt §4.2 `tcp-check *` and
//! `http-check *`. Only the subset an MQTT or plain TCP health check needs is implemented;
//! the rest is refused by name.

use super::{Parser, Stmt};
use crate::config::ast::{HttpExpectConf, ProxyConf, Spanned};
use crate::ir::checks::CheckConnect;
use crate::ir::{CheckStatus, CheckText, ExpectPattern, TcpCheckRule, TcpExpect};

/// Decodes a hex string as `send-binary` and `expect binary` take it.
pub fn decode_hex(s: &str) -> Result<Vec<u8>, char> {
    let b = s.as_bytes();
    if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(c);
    }
    if b.len() % 2 != 0 {
        return Err(' ');
    }
    Ok(b.chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16).unwrap_or(0) as u8;
            let l = (p[1] as char).to_digit(16).unwrap_or(0) as u8;
            h << 4 | l
        })
        .collect())
}

impl Parser {
    pub(super) fn parse_tcp_check(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let action = stmt.arg(1);
        let rule = match action {
            "comment" => {
                if stmt.arg(2).is_empty() {
                    return self.alert(loc, "'tcp-check comment' : expects a string as argument.");
                }
                TcpCheckRule::Comment(stmt.arg(2).to_string())
            }
            "connect" => {
                let Some(c) = self.check_connect(stmt, "tcp-check") else {
                    return;
                };
                // Only a leading connect rule (the check's own connection) is implemented.
                if p.tcp_checks.iter().any(|r| !matches!(r.v, TcpCheckRule::Comment(_))) {
                    return self.unsupported(loc, "'tcp-check connect' after other rules", "a second connection within one check");
                }
                TcpCheckRule::Connect {
                    port: c.port,
                    send_proxy: c.send_proxy,
                    ssl: c.ssl,
                    linger: c.linger,
                }
            }
            "send" | "send-lf" => {
                let s = stmt.arg(2);
                if s.is_empty() {
                    return self.alert(loc, format!("'tcp-check {action}' : 'string' expects a send as argument."));
                }
                if action == "send-lf" {
                    return self.unsupported(loc, "'tcp-check send-lf'", "log-format strings");
                }
                TcpCheckRule::Send(stmt.bytes(2).to_vec())
            }
            "send-binary" => {
                let s = stmt.arg(2);
                if s.is_empty() {
                    return self.alert(loc, "'tcp-check send-binary' : 'binary' expects a send as argument.");
                }
                match decode_hex(s) {
                    Ok(b) => TcpCheckRule::Send(b),
                    Err(c) => {
                        let mut d = crate::config::diag::Diagnostic::alert(loc, format!("'tcp-check send-binary' : '{s}' invalid binary string (an hex digit is expected (found '{c}'))."));
                        d.extra.push(".".into());
                        return self.push(d);
                    }
                }
            }
            "expect" => match self.tcp_expect(stmt) {
                Some(e) => TcpCheckRule::Expect(Box::new(e)),
                None => return,
            },
            "" => return self.alert(loc, "'tcp-check' expects 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'."),
            a if a.starts_with("set-var") || a.starts_with("unset-var") || a == "send-binary-lf" => {
                return self.unsupported(loc, &format!("'tcp-check {a}'"), "variables and log-format strings");
            }
            other => return self.alert(loc, format!("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{other}'")),
        };
        p.tcp_checks_unused = !p.option("tcp-check");
        p.tcp_checks.push(Spanned {
            v: rule,
            loc: loc.clone(),
        });
    }

    pub(super) fn parse_http_check(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        match stmt.arg(1) {
            "send" => {
                let (mut meth, mut uri, mut ver, mut hdrs) = (None, None, None, Vec::new());
                let mut i = 2;
                while i < stmt.words.len() {
                    let k = stmt.arg(i);
                    let v = stmt.arg(i + 1);
                    match k {
                        "meth" | "uri" | "ver" => {
                            if v.is_empty() {
                                return self.alert(loc, format!("'http-check send' : '{k}' expects a string as argument.."));
                            }
                            let slot = match k {
                                "meth" => &mut meth,
                                "uri" => &mut uri,
                                _ => &mut ver,
                            };
                            *slot = Some(v.to_string());
                            i += 2;
                        }
                        "hdr" => {
                            hdrs.push((v.to_string(), stmt.arg(i + 2).to_string()));
                            i += 3;
                        }
                        "comment" => i += 2,
                        other => return self.unsupported(loc, &format!("'http-check send {other}'"), "only meth, uri, ver, hdr and comment"),
                    }
                }
                p.http_check_send = Some((meth, uri, ver, hdrs));
            }
            "expect" => {
                let mut kind = stmt.arg(2);
                let mut negate = false;
                let mut at = 3;
                if kind == "!" {
                    negate = true;
                    kind = stmt.arg(3);
                    at = 4;
                } else if let Some(k) = kind.strip_prefix('!') {
                    negate = true;
                    kind = k;
                }
                if kind.is_empty() {
                    return self.alert(loc, "'http-check expect' : expects at least a matching pattern as arguments.");
                }
                let pat = stmt.arg(at);
                if pat.is_empty() {
                    return self.alert(loc, format!("'http-check expect' : '{kind}' expects a <pattern> as argument."));
                }
                if !matches!(kind, "status" | "string") {
                    return self.unsupported(loc, &format!("'http-check expect {kind}'"), "only status and string");
                }
                p.http_check_expect = Some(HttpExpectConf { negate, kind: kind.to_string(), pattern: pat.to_string() });
            }
            "connect" => {
                let Some(c) = self.check_connect(stmt, "http-check") else {
                    return;
                };
                // Only a leading connect (the check's own connection) is implemented.
                if p.http_check_send.is_some() || p.http_check_expect.is_some() || p.http_check_connect.is_some() {
                    return self.unsupported(loc, "'http-check connect' after other rules", "a second connection within one check");
                }
                p.http_check_connect = Some(c);
            }
            "comment" | "disable-on-404" | "send-state" => {
                self.unsupported(loc, &format!("'http-check {}'", stmt.arg(1)), "only send and expect");
            }
            a if a.starts_with("set-var") || a.starts_with("unset-var") => {
                self.unsupported(loc, &format!("'http-check {a}'"), "variables");
            }
            other => self.alert(loc, format!("'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{other}'")),
        }
    }
}

impl Parser {
    /// The arguments of `tcp-check connect` or `http-check connect` (`kw`), as
    /// tcpcheck_parse_connect reads them; None when a diagnostic was pushed.
    fn check_connect(&mut self, stmt: &Stmt, kw: &str) -> Option<CheckConnect> {
        let loc = stmt.loc;
        let mut c = CheckConnect::default();
        let mut i = 2;
        while i < stmt.words.len() {
            match stmt.arg(i) {
                "port" => {
                    match stmt.arg(i + 1).parse::<u16>() {
                        Ok(v) => c.port = Some(v),
                        Err(_) => {
                            self.alert(loc, format!("'{kw} connect' : error detected while parsing port expression : unknown fetch method '{}'.", stmt.arg(i + 1)));
                            return None;
                        }
                    }
                    i += 1;
                }
                "send-proxy" => c.send_proxy = true,
                "ssl" => c.ssl = true,
                "linger" => c.linger = true,
                // The server's own check settings, which a leading connect uses anyway.
                "default" => {}
                "comment" => i += 1,
                "addr" | "sni" | "alpn" | "via-socks4" | "proto" => {
                    self.unsupported(
                        loc,
                        &format!("'{kw} connect {}'", stmt.arg(i)),
                        "only port, send-proxy, ssl, linger, default and comment",
                    );
                    return None;
                }
                other => {
                    self.alert(loc, format!("'{kw} connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '{other}' as argument.."));
                    return None;
                }
            }
            i += 1;
        }
        Some(c)
    }

    /// `tcp-check expect …`, read word by word in any order as parse_tcpcheck_expect
    /// reads it, with its messages. None when a diagnostic was pushed.
    fn tcp_expect(&mut self, stmt: &Stmt) -> Option<TcpExpect> {
        let loc = stmt.loc;
        let fail = |me: &mut Parser, msg: String| {
            me.alert(loc, format!("'tcp-check expect' : {msg}."));
            None
        };
        if stmt.arg(2).is_empty() {
            return fail(
                self,
                "expects at least a matching pattern as arguments".into(),
            );
        }
        let mut e = TcpExpect::new(false, ExpectPattern::String(Vec::new()));
        let mut kind: Option<(&str, usize)> = None;
        let mut i = 2;
        while i < stmt.words.len() && !stmt.arg(i).is_empty() {
            let mut w = stmt.arg(i);
            let mut in_pattern = false;
            if w.starts_with('!') {
                in_pattern = true;
                while let Some(rest) = w.strip_prefix('!') {
                    e.negate = !e.negate;
                    w = rest;
                }
                if w.is_empty() {
                    i += 1;
                    w = stmt.arg(i);
                }
            }
            let value = stmt.arg(i + 1);
            let needs = |what: &str| format!("'{w}' expects {what} as argument");
            let not_after_bang = |w: &str| format!("[!] not supported with '{w}'");
            match w {
                "string" | "rstring" | "binary" | "rbinary" | "string-lf" | "binary-lf"
                | "custom" => {
                    if w == "custom" && in_pattern {
                        return fail(self, not_after_bang(w));
                    }
                    if kind.is_some() {
                        return fail(self, "only on pattern expected".into());
                    }
                    if w == "custom" {
                        kind = Some((w, 0));
                    } else {
                        if value.is_empty() {
                            return fail(self, needs("a <pattern>"));
                        }
                        i += 1;
                        kind = Some((w, i));
                    }
                }
                "min-recv" | "comment" | "on-success" | "on-error" | "ok-status"
                | "error-status" | "tout-status" | "status-code"
                    if in_pattern =>
                {
                    return fail(self, not_after_bang(w));
                }
                "min-recv" => {
                    if value.is_empty() {
                        return fail(self, needs("a integer"));
                    }
                    // atol: leading spaces, a sign and digits; anything else reads 0.
                    let n = crate::numbers::read_int64(value.trim_start().as_bytes()).0;
                    if !(-1..=i64::from(i32::MAX)).contains(&n) {
                        return fail(
                            self,
                            "'min-recv' expects -1 or an integer from 0 to INT_MAX".into(),
                        );
                    }
                    e.min_recv = usize::try_from(n).ok();
                    i += 1;
                }
                "comment" => {
                    if value.is_empty() {
                        return fail(self, needs("a string"));
                    }
                    e.comment = Some(value.to_string());
                    i += 1;
                }
                "on-success" | "on-error" => {
                    if value.is_empty() {
                        return fail(self, needs("a string"));
                    }
                    if value.contains('%') {
                        self.unsupported(
                            loc,
                            &format!("'tcp-check expect … {w}' with a log-format expression"),
                            "only a fixed text",
                        );
                        return None;
                    }
                    let text = Some(CheckText::Literal(value.to_string()));
                    if w == "on-success" {
                        e.on_success = text;
                    } else {
                        e.on_error = text;
                    }
                    i += 1;
                }
                "ok-status" | "error-status" | "tout-status" => {
                    if value.is_empty() {
                        return fail(self, needs("a string"));
                    }
                    let v = value.to_ascii_uppercase();
                    let (allowed, msg): (&[(&str, CheckStatus)], &str) = match w {
                        "ok-status" => (
                            &[
                                ("L7OK", CheckStatus::L7Ok),
                                ("L6OK", CheckStatus::L6Ok),
                                ("L4OK", CheckStatus::L4Ok),
                            ],
                            "'L4OK', 'L6OK', 'L7OK' or 'L7OKC'",
                        ),
                        "error-status" => (
                            &[
                                ("L7RSP", CheckStatus::L7Rsp),
                                ("L7STS", CheckStatus::L7Sts),
                                ("L6RSP", CheckStatus::L6Rsp),
                                ("L4CON", CheckStatus::L4Con),
                            ],
                            "'L4CON', 'L6RSP', 'L7RSP' or 'L7STS'",
                        ),
                        _ => (
                            &[
                                ("L7TOUT", CheckStatus::L7Tout),
                                ("L6TOUT", CheckStatus::L6Tout),
                                ("L4TOUT", CheckStatus::L4Tout),
                            ],
                            "'L4TOUT', 'L6TOUT' or 'L7TOUT'",
                        ),
                    };
                    let Some(st) = allowed.iter().find(|(n, _)| *n == v).map(|x| x.1) else {
                        if v == "L7OKC" && w != "tout-status" {
                            self.unsupported(
                                loc,
                                &format!("'tcp-check expect … {w} L7OKC'"),
                                "a conditional pass (the server would drain)",
                            );
                            return None;
                        }
                        return fail(
                            self,
                            format!("'{w}' only supports {msg} status (got '{value}')."),
                        );
                    };
                    match w {
                        "ok-status" => e.ok_status = st,
                        "error-status" => e.error_status = st,
                        _ => e.tout_status = st,
                    }
                    i += 1;
                }
                "status-code" => {
                    if value.is_empty() {
                        return fail(self, needs("an expression"));
                    }
                    let Some(range) = payload_range(value) else {
                        self.unsupported(
                            loc,
                            &format!("'tcp-check expect … status-code {value}'"),
                            "only res.payload(<offset>,<length>)",
                        );
                        return None;
                    };
                    e.status_code = Some(range);
                    i += 1;
                }
                other => {
                    return fail(self, format!("'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '{other}' as argument."));
                }
            }
            i += 1;
        }
        let Some((k, at)) = kind else {
            return fail(self, "pattern not found".into());
        };
        let pat = stmt.arg(at);
        e.pattern = match k {
            "string" => ExpectPattern::String(stmt.bytes(at).to_vec()),
            "rstring" | "rbinary" => {
                let re = match crate::ir::acl::Regex::bytes(pat) {
                    Ok(re) => re,
                    Err(err) => {
                        let first = err.to_string();
                        let first = first.lines().last().unwrap_or("").trim().to_string();
                        return fail(self, format!("regex '{pat}' is invalid ({first})"));
                    }
                };
                if k == "rstring" {
                    ExpectPattern::RString(re)
                } else {
                    ExpectPattern::RBinary(re)
                }
            }
            "binary" => match decode_hex(pat) {
                Ok(b) => ExpectPattern::Binary(b),
                Err(c) => {
                    return fail(
                        self,
                        format!(
                        "'{pat}' invalid binary string (an hex digit is expected (found '{c}'))"
                    ),
                    )
                }
            },
            other => {
                self.unsupported(
                    loc,
                    &format!("'tcp-check expect {other}'"),
                    "only string, binary, rstring and rbinary",
                );
                return None;
            }
        };
        Some(e)
    }
}

/// `res.payload(<offset>,<length>)` as a status-code expression.
fn payload_range(expr: &str) -> Option<(usize, usize)> {
    let args = expr.strip_prefix("res.payload(")?.strip_suffix(')')?;
    let (off, len) = args.split_once(',')?;
    Some((off.trim().parse().ok()?, len.trim().parse().ok()?))
}
