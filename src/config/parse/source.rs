//! `source <addr>[:<port>] [usesrc …] [interface <name>]` of a backend (cfgparse-listen.c)
//! and the `source` server option with its port ranges (server.c `srv_parse_source`).

use super::addr::{expand_env, parse_addr, AddrRules, AddrSpec, Host};
use super::{Parser, Stmt};
use crate::config::ast::ProxyConf;
use crate::config::diag::Diagnostic;
use crate::ir::source::{ConnSource, UseSrc};
use std::net::{IpAddr, SocketAddr};

/// haproxy's MAX_HDR_HISTORY: how far from the last value `hdr_ip(<name>,<occ>)` reaches.
const MAX_HDR_HISTORY: i32 = 10;

/// Why a `usesrc` value was refused.
pub(super) enum UsesrcError {
    /// The address did not parse: str2sa_range's message, and whether it ends a line.
    Addr(String, bool),
    /// `hdr_ip(<name>,<occ>)` with `occ` below -10.
    Occurrence,
}

impl UsesrcError {
    /// haproxy's words for it, `word` being the `usesrc` value.
    pub(super) fn message(&self, word: &str) -> String {
        match self {
            UsesrcError::Addr(m, _) => format!("'usesrc {word}' : {m}"),
            UsesrcError::Occurrence => format!(
                "usesrc hdr_ip(name,num) does not support negative occurrences values smaller than {MAX_HDR_HISTORY}."
            ),
        }
    }
}

/// haproxy's strl2ic: an optional `-`, then digits, read until the first other byte.
fn strl2ic(s: &str) -> i32 {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i32, |v, d| {
            v.wrapping_mul(10).wrapping_add(i32::from(d - b'0'))
        });
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

/// `hdr_ip(<name>[,<occ>])` read as haproxy does: the name ends at a blank, a comma or
/// the parenthesis; the occurrence is what digits follow the comma (-1 without one).
fn hdr_ip(inner: &str) -> Result<UseSrc, UsesrcError> {
    let rest = inner.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == ',' || c == ')')
        .unwrap_or(rest.len());
    let name = rest[..end].to_string();
    let after = rest[end..].trim_start_matches(|c: char| c.is_ascii_whitespace());
    let occ = match after.strip_prefix(',') {
        Some(num) => {
            let body = num.strip_prefix('-').unwrap_or(num);
            let digits = body.bytes().take_while(u8::is_ascii_digit).count();
            let len = num.len() - body.len() + digits;
            strl2ic(&num[..len])
        }
        None => -1,
    };
    if occ < -MAX_HDR_HISTORY {
        return Err(UsesrcError::Occurrence);
    }
    Ok(UseSrc::Header { name, occ })
}

impl Parser {
    /// An address with an optional port (a range where `ranges`): `(ip, (low, high))`,
    /// or str2sa_range's message and whether it ends with a newline of its own.
    fn source_endpoint(
        &self,
        word: &str,
        ranges: bool,
    ) -> Result<(IpAddr, (u16, u16)), (String, bool)> {
        let text = expand_env(word, &|n| self.env.get(n).cloned());
        let rules = AddrRules {
            port_required: false,
            ranges,
            names: false,
            offsets: false,
            resolve: self.resolve_names,
            fds: false,
        };
        match parse_addr(&text, rules) {
            Ok(AddrSpec::Inet {
                host: Host::Ip(ip),
                port_lo,
                port_hi,
                ..
            }) => Ok((ip, (port_lo, port_hi))),
            Ok(_) => Err(("only IP addresses are supported".into(), false)),
            Err(e) => Err((e.message(word), e.ends_line())),
        }
    }

    /// A `usesrc` value: `client`, `clientip`, `hdr_ip(…)` or an address.
    pub(super) fn usesrc_value(&self, word: &str) -> Result<UseSrc, UsesrcError> {
        match word {
            "client" => Ok(UseSrc::Client),
            "clientip" => Ok(UseSrc::ClientIp),
            w if w.starts_with("hdr_ip(") => hdr_ip(&w[7..]),
            w => self
                .source_endpoint(w, false)
                .map(|(ip, (port, _))| UseSrc::Addr(SocketAddr::new(ip, port)))
                .map_err(|(m, nl)| UsesrcError::Addr(m, nl)),
        }
    }

    /// `source` in a proxy: the address (no port range here), then any number of
    /// `usesrc <what>` and `interface <name>`, the last of each winning.
    pub(super) fn parse_proxy_source(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let a = stmt.arg(1);
        if a.is_empty() {
            return self.alert(loc, "'source' expects <addr>[:<port>], and optionally 'usesrc' <addr>, and 'interface' <name>.");
        }
        let (addr, ports) = match self.source_endpoint(a, false) {
            Ok(v) => v,
            Err((msg, newline)) => {
                let mut d = Diagnostic::alert(loc, format!("'source {a}' : {msg}"));
                if newline {
                    d.extra.push(String::new());
                }
                return self.push(d);
            }
        };
        // An inherited `usesrc` or `interface` does not survive a new `source` line.
        let mut src = ConnSource {
            addr,
            ports,
            usesrc: None,
            interface: None,
        };
        let mut i = 2;
        while !stmt.arg(i).is_empty() {
            let val = stmt.arg(i + 1);
            match stmt.arg(i) {
                "usesrc" => {
                    if val.is_empty() {
                        return self.alert(loc, "'usesrc' expects <addr>[:<port>], 'client', or 'clientip' as argument.");
                    }
                    match self.usesrc_value(val) {
                        Ok(u) => src.usesrc = Some(u),
                        Err(e) => {
                            let mut d = Diagnostic::alert(loc, e.message(val));
                            if matches!(e, UsesrcError::Addr(_, true)) {
                                d.extra.push(String::new());
                            }
                            return self.push(d);
                        }
                    }
                }
                "interface" => {
                    if val.is_empty() {
                        return self.alert(loc, "'source' : missing interface name.");
                    }
                    src.interface = Some(val.to_string());
                }
                _ => {
                    return self.alert(
                        loc,
                        "'source' only supports optional keywords 'interface' and 'usesrc'.",
                    )
                }
            }
            i += 2;
        }
        p.source = Some(src);
    }

    /// The `source` server option from word `i` (its value at `i + 1`), with the
    /// `usesrc` and `interface` words that follow it. Returns the index of the next
    /// server option, or haproxy's message and whether it is followed by "error
    /// encountered while processing '<word>'." (haproxy's direct alerts).
    pub(super) fn server_source(
        &self,
        stmt: &Stmt,
        mut i: usize,
    ) -> Result<(ConnSource, usize), (String, Option<String>)> {
        let val = stmt.arg(i + 1);
        if val.is_empty() {
            return Err(("'source' expects <addr>[:<port>[-<port>]], and optionally 'usesrc' <addr>, and 'interface' <name> as argument..".into(), None));
        }
        let (addr, ports) = self
            .source_endpoint(val, true)
            .map_err(|(m, _)| (format!("'source {val}' : {m}."), None))?;
        let mut src = ConnSource {
            addr,
            ports,
            usesrc: None,
            interface: None,
        };
        i += 2;
        loop {
            let (word, val) = (stmt.arg(i), stmt.arg(i + 1));
            let then = || Some(word.to_string());
            match word {
                "usesrc" => {
                    if val.is_empty() {
                        return Err(("'usesrc' expects <addr>[:<port>], 'client', 'clientip', or 'hdr_ip(name,#)' as argument.".into(), then()));
                    }
                    src.usesrc = Some(
                        self.usesrc_value(val)
                            .map_err(|e| (e.message(val), then()))?,
                    );
                }
                "interface" => {
                    if val.is_empty() {
                        return Err(("'server' : missing interface name.".into(), then()));
                    }
                    src.interface = Some(val.to_string());
                }
                _ => return Ok((src, i)),
            }
            i += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdr_ip_reads_as_haproxy() {
        let h = |s: &str| match hdr_ip(s) {
            Ok(UseSrc::Header { name, occ }) => Some((name, occ)),
            _ => None,
        };
        assert_eq!(h("x-forwarded-for)"), Some(("x-forwarded-for".into(), -1)));
        assert_eq!(h(" x ,3)"), Some(("x".into(), 3)));
        // haproxy reads the digits right after the comma: a blank there reads 0.
        assert_eq!(h("x, 3)"), Some(("x".into(), 0)));
        assert_eq!(h("x,-10)"), Some(("x".into(), -10)));
        // No digits after the comma: occurrence 0, which cannot be found.
        assert_eq!(h("x,)"), Some(("x".into(), 0)));
        assert!(h("x,-11)").is_none());
    }
}
