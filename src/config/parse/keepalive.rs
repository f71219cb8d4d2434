//! `max-keep-alive-queue` and `max-session-srv-conns` (configuration.txt §4.2): how far
//! a session's preference for its server connection goes, and how many idle server
//! connections it may keep, with haproxy 2.6's messages (proxy.c
//! `proxy_parse_max_ka_queue`, cfgparse-listen.c).

use super::units::{atoi, strtol0};
use super::{Parser, Stmt};
use crate::config::ast::ProxyConf;
use crate::config::diag::{Diagnostic, LocStyle};
use crate::config::keywords::cap;

impl Parser {
    /// `max-keep-alive-queue <n>`: read in any proxy (haproxy warns, after reading it,
    /// where there is no backend); -1 is no limit.
    pub(super) fn parse_max_ka_queue(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let (loc, kw, arg) = (stmt.loc, stmt.arg(0), stmt.arg(1));
        if arg.is_empty() {
            return self.alert(
                loc,
                format!("'{kw}' expects expects an integer value (or -1 to disable)"),
            );
        }
        // strtol() into an unsigned int: where it stops is the character named.
        let (n, used) = strtol0(arg).unwrap_or((0, 0));
        if let Some(c) = arg[used..].chars().next() {
            return self.alert(
                loc,
                format!("'{kw}' : unexpected character '{c}' in integer value '{arg}'"),
            );
        }
        if p.kind.caps() & cap::BE == 0 {
            let msg = format!(
                "{kw} will be ignored because {} '{}' has no backend capability",
                p.kind.word(),
                p.name
            );
            self.warn(loc, msg);
        }
        // Stored plus one, so that -1 (and unset) is 0, "no limit".
        p.max_ka_queue = (n as u32).wrapping_add(1);
    }

    /// `max-session-srv-conns <n>`: atoi(), so anything reads as a number; only a missing
    /// one is an error (haproxy's message spells "parsine").
    pub(super) fn parse_max_session_srv_conns(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let (loc, kw) = (stmt.loc, stmt.arg(0));
        if stmt.arg(1).is_empty() {
            let msg = format!("parsine [{loc}] : '{kw}' expects a number. Got no argument");
            return self.push(Diagnostic::alert(loc, msg).styled(LocStyle::None));
        }
        p.max_session_srv_conns = atoi(stmt.arg(1));
    }
}
