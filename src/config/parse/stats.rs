//! `stats` lines of a proxy (configuration.txt §4.2): the statistics page's settings,
//! `stats http-request` rules and `stats admin` conditions, with haproxy's messages.

use super::acl::AclError;
use super::units::{parse_time_s, TimeError};
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind, Spanned};
use crate::config::diag::{Diagnostic, LocStyle};
use crate::ir::http_rules::HttpAction;

impl Parser {
    /// `stats enable|uri|refresh|realm|auth|hide-version|…` (configuration.txt §4.2).
    pub(super) fn parse_stats(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let sub = stmt.arg(1);
        let val = stmt.arg(2);
        let page = p.stats.page.get_or_insert_with(|| crate::ir::StatsPage {
            uri: "/haproxy?stats".into(),
            refresh: None,
            realm: "HAProxy Statistics".into(),
            realm_set: false,
            rules: Vec::new(),
            admin: Vec::new(),
            auth: Vec::new(),
            hide_version: false,
            request_timeout: None,
        });
        match sub {
            "enable" => {}
            "uri" | "realm" | "auth" | "refresh" if val.is_empty() => {
                let what = match sub {
                    "uri" => "'uri' needs an URI prefix.",
                    "realm" => "'realm' needs an realm name.",
                    "auth" => "'auth' needs a user:password account.",
                    _ => "'refresh' needs a positive interval in seconds.",
                };
                return self.alert(loc, what);
            }
            "uri" => page.uri = val.to_string(),
            "realm" => {
                page.realm = val.to_string();
                page.realm_set = true;
            }
            "admin" => return self.stats_admin(p, stmt),
            "http-request" => return self.stats_http_request(p, stmt),
            "auth" => page.auth.push(val.to_string()),
            // In seconds (TIME_UNIT_S): `stats refresh 10` is ten seconds.
            "refresh" => match parse_time_s(val) {
                Ok(s) => page.refresh = Some(std::time::Duration::from_secs(s)),
                Err(e) => {
                    let msg = match e {
                        TimeError::Overflow => format!("timer overflow in argument <{val}> to stats refresh interval, maximum value is 2147483647 s (~68 years)."),
                        TimeError::Unexpected(c) => format!("unexpected character '{c}' in argument to stats refresh interval."),
                        TimeError::Empty => "'refresh' needs a positive interval in seconds.".to_string(),
                    };
                    return self.push(Diagnostic::alert(loc, msg).styled(LocStyle::ParsingTight));
                }
            },
            "hide-version" => page.hide_version = true,
            "show-legends" | "show-node" | "show-desc" | "show-modules" | "scope"
            | "bind-process" => {
                p.stats.unsupported.push(Spanned {
                    v: format!("'stats {sub}'"),
                    loc: loc.clone(),
                });
            }
            _ => {
                let msg = format!("unknown stats parameter '{sub}', expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'.");
                return self.push(Diagnostic::alert(loc, msg).styled(LocStyle::ParsingTight));
            }
        }
        p.stats.enabled = true;
    }
}

impl Parser {
    /// `stats admin if|unless <cond>`.
    fn stats_admin(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        if p.kind == ProxyKind::Defaults {
            return self.alert_tight(loc, "'stats admin' not allowed in 'defaults' section.");
        }
        if !matches!(stmt.arg(2), "if" | "unless") {
            return self.alert(
                loc,
                "'stats admin' requires either 'if' or 'unless' followed by a condition.",
            );
        }
        match self.read_cond(p, loc, &stmt.words[2..]) {
            Ok(c) => {
                if let Some(page) = p.stats.page.as_mut() {
                    page.admin.push(c);
                }
                p.stats.enabled = true;
            }
            Err(AclError::Invalid(m)) => self.alert(
                loc,
                format!("error detected while parsing a 'stats admin' rule : {m}."),
            ),
            Err(AclError::Unsupported(what)) => {
                self.unsupported(loc, &what, "not evaluated by haproxide yet")
            }
        }
    }

    /// `stats http-request allow|deny|auth … [if|unless <cond>]`: read by the
    /// `http-request` parser, as haproxy does, then kept for the page.
    fn stats_http_request(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        if p.kind == ProxyKind::Defaults {
            return self.alert_tight(loc, "'stats' not allowed in 'defaults' section.");
        }
        let after_uncond = p
            .stats
            .page
            .as_ref()
            .and_then(|pg| pg.rules.last())
            .is_some_and(|r| r.cond.is_none());
        if after_uncond {
            self.warn_tight(
                loc,
                "previous 'stats' action has no condition attached, further entries are NOOP.",
            );
        }
        let sub = Stmt {
            words: &stmt.words[1..],
            bytes: &stmt.bytes[1.min(stmt.bytes.len())..],
            loc,
            kwm: stmt.kwm,
        };
        let before = p.http_rules.request.len();
        self.stats_rules = true;
        self.parse_http_rule(p, &sub);
        self.stats_rules = false;
        let Some(mut rule) =
            (p.http_rules.request.len() > before).then(|| p.http_rules.request.remove(before))
        else {
            return;
        };
        // The page's own realm when the rule names none (STATS_DEFAULT_REALM).
        if let (HttpAction::Auth(realm), false) = (&mut rule.action, stmt.arg(3) == "realm") {
            *realm = b"HAProxy Statistics"[..].into();
        }
        if !matches!(
            rule.action,
            HttpAction::Allow | HttpAction::Deny(_) | HttpAction::Auth(_)
        ) {
            let what = format!("'stats http-request {}'", stmt.arg(2));
            return self.unsupported(loc, &what, "the statistics page runs allow, deny and auth");
        }
        if let Some(page) = p.stats.page.as_mut() {
            page.rules.push(rule);
        }
        p.stats.enabled = true;
    }
}
