//! `clitcpka-cnt|idle|intvl` and `srvtcpka-cnt|idle|intvl` (configuration.txt §4.2): the
//! TCP keep-alive probes of client and server connections under `option clitcpka` /
//! `srvtcpka`, with haproxy 2.6's messages (proxy.c `proxy_parse_tcpka_*`).

use super::units::{parse_time_s, strtol0, TimeError};
use super::{Parser, Stmt};
use crate::config::ast::ProxyConf;

impl Parser {
    /// One of the six keywords: the value is kept even where it is ignored, as haproxy
    /// keeps it (with its warning).
    pub(super) fn parse_tcpka(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let kw = stmt.arg(0);
        let arg = stmt.arg(1);
        if arg.is_empty() {
            return self.alert(loc, format!("'{kw}' expects an integer value"));
        }
        let v = if kw.ends_with("-cnt") {
            // strtol(): where it stops is the character named.
            let (n, used) = strtol0(arg).unwrap_or((0, 0));
            if let Some(c) = arg[used..].chars().next() {
                return self.alert(
                    loc,
                    format!("'{kw}' : unexpected character '{c}' in integer value '{arg}'"),
                );
            }
            n as u32
        } else {
            match parse_time_s(arg) {
                Ok(n) => n as u32,
                Err(TimeError::Overflow) => {
                    return self.alert(loc, format!("timer overflow in argument '{arg}' to '{kw}' (maximum value is 2147483647 ms or ~24.8 days)"));
                }
                Err(TimeError::Unexpected(c)) => {
                    let mut d = crate::config::diag::Diagnostic::alert(
                        loc,
                        format!("unexpected character '{c}' in argument to <{kw}>."),
                    );
                    d.extra.push(String::new());
                    return self.push(d);
                }
                Err(TimeError::Empty) => return,
            }
        };
        let client = kw.starts_with("cli");
        let (side, cap, missing) = if client {
            (&mut p.clitcpka, 2, "frontend")
        } else {
            (&mut p.srvtcpka, 4, "backend")
        };
        match kw.rsplit('-').next() {
            Some("cnt") => side.cnt = v,
            Some("idle") => side.idle = v,
            _ => side.intvl = v,
        }
        if p.kind.caps() & cap == 0 {
            let msg = format!(
                "{kw} will be ignored because {} '{}' has no {missing} capability",
                p.kind.word(),
                p.name
            );
            self.warn(loc, msg);
        }
    }
}
