//! `balance <algorithm> [<arguments>]` (configuration.txt §4.2), with HAProxy 2.6's
//! messages from `backend_parse_balance()`.

use super::units::lenient_int;
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, Spanned};
use crate::config::diag::Loc;
use crate::ir::{Balance, HttpHash};

impl Parser {
    /// `balance …`: the algorithm replaces any earlier one of the section.
    pub(super) fn parse_balance(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let b = match stmt.arg(1) {
            "" | "roundrobin" => Balance::RoundRobin,
            "static-rr" => Balance::StaticRr,
            "leastconn" => Balance::LeastConn,
            "first" => Balance::First,
            "source" => Balance::Source,
            a if a.starts_with("random") => {
                let Some(draws) = self.random_draws(loc, a) else { return };
                Balance::Random(draws)
            }
            "hash" => {
                let Some(sample) = self.balance_hash(p, loc, stmt.arg(2)) else { return };
                Balance::Hash(sample)
            }
            "uri" => match uri_options(&stmt.words[2..]) {
                Ok(h) => Balance::Http(h),
                Err(m) => return self.alert(loc, format!("balance uri {m}")),
            },
            "url_param" => {
                let name = stmt.arg(2);
                if name.is_empty() {
                    return self.alert(loc, "balance url_param requires an URL parameter name.");
                }
                let m = stmt.arg(3);
                if !m.is_empty() && m != "check_post" {
                    return self.alert(loc, format!("balance url_param only accepts 'check_post' modifier (got '{m}')."));
                }
                Balance::Http(HttpHash::UrlParam(name.to_string()))
            }
            a if a.starts_with("hdr(") => {
                let name = a[4..].split(')');
                let (name, closed) = (name.clone().next().unwrap_or(""), a[4..].contains(')'));
                if !closed || name.is_empty() {
                    return self.alert(loc, "balance hdr requires an http header field name.");
                }
                let m = stmt.arg(2);
                if !m.is_empty() && m != "use_domain_only" {
                    return self.alert(loc, format!("balance {a} only accepts 'use_domain_only' modifier (got '{m}')."));
                }
                Balance::Http(HttpHash::Hdr {
                    name: name.to_ascii_lowercase(),
                    domain_only: !m.is_empty(),
                })
            }
            a if a.starts_with("rdp-cookie") => {
                return self.unsupported(loc, &format!("'balance {a}'"), "the RDP algorithm");
            }
            _ => return self.alert(loc, "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options."),
        };
        p.balance = Some(Spanned {
            v: b,
            loc: loc.clone(),
        });
    }

    /// `random` or `random(<draws>)`.
    fn random_draws(&mut self, loc: &Loc, word: &str) -> Option<u32> {
        let Some(arg) = word["random".len()..].strip_prefix('(') else {
            return Some(2);
        };
        if arg.starts_with(')') {
            return Some(2);
        }
        // strtol(…, 0): decimal, 0x hexadecimal or leading-0 octal, with a sign.
        let (neg, body) = match arg.as_bytes().first() {
            Some(b'-') => (true, &arg[1..]),
            Some(b'+') => (false, &arg[1..]),
            _ => (false, arg),
        };
        let (radix, digits_from) = if body.starts_with("0x") || body.starts_with("0X") {
            (16, 2)
        } else if body.starts_with('0') {
            (8, 0)
        } else {
            (10, 0)
        };
        let digits: String = body[digits_from..]
            .chars()
            .take_while(|c| c.is_digit(radix))
            .collect();
        let mut rest = &body[digits_from + digits.len()..];
        let digits = if radix == 16 && digits.is_empty() {
            // "0x" without a digit: strtol reads the 0 and stops at the x.
            rest = &body[1..];
            "0".to_string()
        } else {
            digits
        };
        if rest != ")" {
            let msg = match rest.chars().next() {
                None => "balance random : missing closing parenthesis.".to_string(),
                Some(c) => format!("balance random : unexpected character '{c}' after argument."),
            };
            self.alert(loc, msg);
            return None;
        }
        let n = i64::from_str_radix(&digits, radix).unwrap_or(0);
        let n = if neg { -n } else { n };
        if n < 1 {
            self.alert(loc, "balance random : number of draws must be at least 1.");
            return None;
        }
        Some(n.min(i64::from(i32::MAX)) as u32)
    }
}

/// `balance uri`'s options, or the message (after "balance uri ") for a bad one.
fn uri_options(words: &[String]) -> Result<HttpHash, String> {
    let (mut len, mut depth, mut whole, mut path_only) = (0, 0, false, false);
    let mut i = 0;
    while i < words.len() && !words[i].is_empty() {
        let w = words[i].as_str();
        match w {
            "len" | "depth" => {
                let v = words.get(i + 1).map_or("", String::as_str);
                let n = lenient_int(v);
                if v.is_empty() || n <= 0 {
                    return Err(format!(": '{w}' expects a positive integer (got '{v}')."));
                }
                let n = n.min(i64::from(i32::MAX)) as u32;
                if w == "len" {
                    len = n;
                } else {
                    depth = n;
                }
                i += 2;
            }
            "whole" => {
                whole = true;
                i += 1;
            }
            "path-only" => {
                path_only = true;
                i += 1;
            }
            other => {
                return Err(format!("only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '{other}')."));
            }
        }
    }
    Ok(HttpHash::Uri {
        len,
        depth,
        whole,
        path_only,
    })
}
