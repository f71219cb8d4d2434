//! `capture cookie|request header|response header …` (configuration.txt §4.2), with
//! HAProxy 2.6's messages from `cfgparse-listen.c`.

use super::units::lenient_int;
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind, Spanned};

impl Parser {
    /// `capture …`: read in a backend too (haproxy warns first, then checks the line).
    pub(super) fn parse_capture(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let what = stmt.arg(1);
        let header = matches!(what, "request" | "response") && stmt.arg(2) == "header";
        if what != "cookie" && !header {
            return self.alert(
                loc,
                "'capture' expects 'cookie' or 'request header' or 'response header'.",
            );
        }
        if p.kind == ProxyKind::Defaults {
            return self.alert(
                loc,
                format!("'capture {what}' not allowed in 'defaults' section."),
            );
        }
        // At most four words after the second one.
        if let Some(extra) = stmt.words.get(6) {
            return self.alert(
                loc,
                format!("'capture {what}' cannot handle unexpected argument '{extra}'."),
            );
        }
        // atol(): a length that is not a number is 0.
        let len = |w: &str| lenient_int(w).max(0) as usize;
        if what == "cookie" {
            if stmt.arg(4).is_empty() {
                return self.alert(loc, "'capture' expects 'cookie' <cookie_name> 'len' <len>.");
            }
            p.captures.cookie = Some((stmt.arg(2).to_string(), len(stmt.arg(4))));
            // haproxy's one warning for captures in TCP mode is about this one.
            p.http_only.push(Spanned {
                v: "'capture' statement".into(),
                loc: loc.clone(),
            });
            return;
        }
        if stmt.arg(3).is_empty() || stmt.arg(4) != "len" || stmt.arg(5).is_empty() {
            return self.alert(
                loc,
                format!("'capture {what}' expects 'header' <header_name> 'len' <len>."),
            );
        }
        let cap = (stmt.arg(3).to_ascii_lowercase(), len(stmt.arg(5)));
        if what == "request" {
            p.captures.request.push(cap);
        } else {
            p.captures.response.push(cap);
        }
    }
}
