//! `retry-on <condition>…` (configuration.txt §4.2), with HAProxy 2.6's messages from
//! `proxy_parse_retry_on()`: which failures a request is tried again for, within
//! `retries`.

use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, RetryOn, Spanned};

/// The response-side conditions (haproxy's L7 retries), which act in HTTP mode only
/// (`all-retryable-errors` names some of them and `conn-failure`: its own arm).
const L7: [&str; 14] = [
    "empty-response",
    "junk-response",
    "response-timeout",
    "0rtt-rejected",
    "401",
    "403",
    "404",
    "408",
    "425",
    "500",
    "501",
    "502",
    "503",
    "504",
];

impl Parser {
    /// `retry-on …`: replaces the section's earlier setting (haproxy resets it).
    pub(super) fn parse_retry_on(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        if stmt.arg(1).is_empty() {
            return self.alert(
                loc,
                "'retry-on' needs at least one keyword to specify when to retry",
            );
        }
        if p.kind.caps() & 4 == 0 {
            return self.alert(
                loc,
                "'retry-on' only available in backend or listen section",
            );
        }
        let mut r = RetryOn {
            conn_failure: false,
            l7: Vec::new(),
        };
        let words = &stmt.words[1..];
        for (i, w) in words.iter().enumerate() {
            match w.as_str() {
                "conn-failure" => r.conn_failure = true,
                "all-retryable-errors" => {
                    r.conn_failure = true;
                    r.l7.push(w.clone());
                }
                "none" if i != 0 || words.len() > 1 => {
                    return self.alert(loc, "'retry-on' 'none' keyworld only usable alone");
                }
                "none" => {}
                l7 if L7.contains(&l7) => r.l7.push(w.clone()),
                other => {
                    return self.alert(loc, format!("'retry-on': unknown keyword '{other}'"));
                }
            }
        }
        p.retry_on = Some(Spanned {
            v: r,
            loc: loc.clone(),
        });
    }
}
