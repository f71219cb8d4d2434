//! `tcp-check` and `http-check` rules: configuration.txt §4.2 `tcp-check *` and
//! `http-check *`. Only the subset an MQTT or plain TCP health check needs is implemented;
//! the rest is refused by name.

use super::{Parser, Stmt};
use crate::config::ast::{HttpExpectConf, ProxyConf, Spanned};
use crate::ir::{ExpectPattern, TcpCheckRule};

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
                let (mut port, mut send_proxy, mut ssl) = (None, false, false);
                let mut i = 2;
                while i < stmt.words.len() {
                    match stmt.arg(i) {
                        "port" => {
                            match stmt.arg(i + 1).parse::<u16>() {
                                Ok(v) => port = Some(v),
                                Err(_) => return self.alert(loc, format!("'tcp-check connect' : error detected while parsing port expression : unknown fetch method '{}'.", stmt.arg(i + 1))),
                            }
                            i += 1;
                        }
                        "send-proxy" => send_proxy = true,
                        "ssl" => ssl = true,
                        "comment" => i += 1,
                        "addr" | "sni" | "alpn" | "via-socks4" | "linger" | "default" | "proto" => {
                            return self.unsupported(loc, &format!("'tcp-check connect {}'", stmt.arg(i)), "only port, send-proxy, ssl and comment");
                        }
                        other => return self.alert(loc, format!("'tcp-check connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '{other}' as argument..")),
                    }
                    i += 1;
                }
                if ssl {
                    return self.unsupported(loc, "'tcp-check connect ssl'", "checks over TLS follow the server's own ssl setting");
                }
                // Only a leading connect rule (the check's own connection) is implemented.
                if p.tcp_checks.iter().any(|r| !matches!(r.v, TcpCheckRule::Comment(_))) {
                    return self.unsupported(loc, "'tcp-check connect' after other rules", "a second connection within one check");
                }
                TcpCheckRule::Connect { port, send_proxy, ssl }
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
            "expect" => {
                let mut i = 2;
                let mut negate = false;
                let mut kind = stmt.arg(i);
                if kind == "!" {
                    negate = true;
                    i += 1;
                    kind = stmt.arg(i);
                } else if let Some(k) = kind.strip_prefix('!') {
                    negate = true;
                    kind = k;
                }
                if kind.is_empty() {
                    return self.alert(loc, "'tcp-check expect' : expects at least a matching pattern as arguments.");
                }
                i += 1;
                let pat = stmt.arg(i);
                let known = ["string", "binary", "rstring", "rbinary", "string-lf", "binary-lf", "min-recv", "comment"];
                if !known.contains(&kind) {
                    return self.alert(loc, format!("'tcp-check expect' : 'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got '{kind}' as argument.."));
                }
                if pat.is_empty() {
                    return self.alert(loc, format!("'tcp-check expect' : '{kind}' expects a <pattern> as argument."));
                }
                let pattern = match kind {
                    "string" => ExpectPattern::String(stmt.bytes(i).to_vec()),
                    "rstring" => ExpectPattern::RString(pat.to_string()),
                    "rbinary" => ExpectPattern::RBinary(pat.to_string()),
                    "binary" => match decode_hex(pat) {
                        Ok(b) => ExpectPattern::Binary(b),
                        Err(c) => return self.alert(loc, format!("'tcp-check expect' : '{pat}' invalid binary string (an hex digit is expected (found '{c}')).")),
                    },
                    other => return self.unsupported(loc, &format!("'tcp-check expect {other}'"), "only string, binary, rstring and rbinary"),
                };
                // Extra parameters (error-status, on-success …) are not implemented.
                if stmt.words.len() > i + 1 && stmt.arg(i + 1) != "comment" {
                    return self.unsupported(loc, &format!("'tcp-check expect … {}'", stmt.arg(i + 1)), "only the pattern and comment");
                }
                TcpCheckRule::Expect { negate, pattern }
            }
            "" => return self.alert(loc, "'tcp-check' expects 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'."),
            a if a.starts_with("set-var") || a.starts_with("unset-var") || a == "send-binary-lf" => {
                return self.unsupported(loc, &format!("'tcp-check {a}'"), "variables and log-format strings");
            }
            other => return self.alert(loc, format!("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{other}'")),
        };
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
            "comment" | "disable-on-404" | "send-state" | "connect" => {
                self.unsupported(loc, &format!("'http-check {}'", stmt.arg(1)), "only send and expect");
            }
            a if a.starts_with("set-var") || a.starts_with("unset-var") => {
                self.unsupported(loc, &format!("'http-check {a}'"), "variables");
            }
            other => self.alert(loc, format!("'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{other}'")),
        }
    }
}
