//! `cookie <name> [options]` in a proxy (configuration.txt §4.2), with HAProxy 2.6's
//! messages from `cfgparse-listen.c`. Each `cookie` line starts over, except for its
//! `attr` values, which add to those already set (a `defaults` section's included).

use super::units::{parse_time_s, TimeError};
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, Spanned};
use crate::ir::cookie::{Cookie, CookieMode};

impl Parser {
    /// `cookie …`; `keep` is false on a proxy without a backend, where haproxy reads the
    /// line (and reports its errors) after warning that it has no effect.
    pub(super) fn parse_cookie(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let name = stmt.arg(1);
        if name.is_empty() {
            return self.alert(loc, "'cookie' expects <cookie_name> as argument.");
        }
        let mut c = Cookie {
            name: name.to_string(),
            attrs: p.cookie.take().map(|c| c.v.attrs).unwrap_or_default(),
            ..Cookie::default()
        };
        let (mut rw, mut ins, mut pfx) = (false, false, false);
        let mut i = 2;
        while i < stmt.words.len() {
            let w = stmt.arg(i);
            let arg = stmt.arg(i + 1);
            match w {
                "rewrite" => rw = true,
                "insert" => ins = true,
                "prefix" => pfx = true,
                "indirect" => c.indirect = true,
                "nocache" => c.nocache = true,
                "postonly" => c.postonly = true,
                "preserve" => c.preserve = true,
                "httponly" => c.httponly = true,
                "secure" => c.secure = true,
                "domain" => {
                    if arg.is_empty() {
                        return self.alert_tight(loc, "'domain' expects <domain> as argument.");
                    }
                    if !arg.contains('.') {
                        self.warn_tight(loc, format!("domain '{arg}' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3)."));
                    }
                    if let Some(bad) = arg
                        .chars()
                        .find(|ch| !(ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-')))
                    {
                        return self.alert_tight(
                            loc,
                            format!("character '{bad}' is not permitted in domain name '{arg}'."),
                        );
                    }
                    c.domains.push(arg.to_string());
                    i += 1;
                }
                "maxidle" | "maxlife" => {
                    if arg.is_empty() {
                        let what = if w == "maxidle" {
                            "<idletime>"
                        } else {
                            "<lifetime>"
                        };
                        return self.alert_tight(
                            loc,
                            format!("'{w}' expects {what} in seconds as argument."),
                        );
                    }
                    let secs = match parse_time_s(arg) {
                        Ok(s) => s as u32,
                        Err(TimeError::Overflow) => {
                            return self.alert_tight(loc, format!("timer overflow in argument <{arg}> to <{w}>, maximum value is 2147483647 s (~68 years)."));
                        }
                        Err(TimeError::Unexpected(ch)) => {
                            return self.alert_tight(
                                loc,
                                format!("unexpected character '{ch}' in argument to <{w}>."),
                            );
                        }
                        Err(TimeError::Empty) => 0,
                    };
                    if w == "maxidle" {
                        c.maxidle = secs;
                    } else {
                        c.maxlife = secs;
                    }
                    i += 1;
                }
                "dynamic" => {
                    return self.unsupported(
                        loc,
                        "'cookie … dynamic'",
                        "dynamic cookies; give each server its 'cookie' value",
                    );
                }
                "attr" => {
                    if arg.is_empty() {
                        return self.alert_tight(loc, "'attr' expects <value> as argument.");
                    }
                    if let Some(bad) = arg.bytes().find(|b| b.is_ascii_control() || *b == b';') {
                        return self.alert_tight(
                            loc,
                            format!("character '%x{bad:02X}' is not permitted in attribute value."),
                        );
                    }
                    c.attrs.push(arg.to_string());
                    i += 1;
                }
                _ => {
                    return self.alert(loc, "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.");
                }
            }
            i += 1;
        }
        if rw && c.indirect {
            self.alert(
                loc,
                "cookie 'rewrite' and 'indirect' modes are incompatible.",
            );
        }
        if [rw, ins, pfx].iter().filter(|&&b| b).count() > 1 {
            self.alert(
                loc,
                "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.",
            );
        }
        if c.preserve && !ins && !c.indirect {
            self.alert(
                loc,
                "cookie 'preserve' requires at least 'insert' or 'indirect'.",
            );
        }
        c.mode = if ins {
            CookieMode::Insert
        } else if pfx {
            CookieMode::Prefix
        } else if rw {
            CookieMode::Rewrite
        } else {
            CookieMode::Passive
        };
        p.cookie = Some(Spanned {
            v: c,
            loc: loc.clone(),
        });
    }
}
