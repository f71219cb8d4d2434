//! `tcp-response inspect-delay <time>` and `tcp-response content <action> [if|unless
//! <cond>]` (configuration.txt §4.2), read as haproxy 2.6's tcp_parse_tcp_rep reads them:
//! backends and named defaults only, the delay kept from the first line, and the
//! request-buffer fetches flagged as they can never match on a response.
//!
//! Actions run here: `accept`, `reject`, `close`, `set-var`, `set-var-fmt`, `unset-var`,
//! `sc-inc-gpc*`, `sc-set-gpt*` and `set-log-level`; the others haproxy knows are refused
//! by name.

use super::sample::SampleError;
use super::units::parse_time_ms;
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind};
use crate::config::diag::Loc;
use crate::config::keywords::cap;
use crate::ir::acl::{Cond, Fetch};
use crate::ir::counters::{GptValue, ScAction};
use crate::ir::vars::VarValue;
use crate::ir::{ContentAction, ContentRule};

/// Actions `tcp-response content` knows in HAProxy 2.6, as its error message lists them.
const ACTIONS: &str = "'accept', 'close', 'reject', 'ot-group', 'set-log-level', 'set-nice', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-mark', 'set-tos', 'silent-drop'";

/// Where haproxy says these rules run, in its "incompatible" warnings (a listen's too).
const PLACE: &str = "backend tcp-response content rule";

/// Fetches of the request buffer, which a response rule never sees.
fn request_buffer(f: &Fetch) -> bool {
    f.layer6() == Some(crate::ir::acl::Dir::Req)
}

impl Parser {
    /// One `tcp-response …` line.
    pub(super) fn parse_tcp_response(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let px = format!("{} '{}'", p.kind.proxy_word(), p.name);
        if stmt.arg(1).is_empty() {
            return self.alert(loc, format!("missing argument for 'tcp-response' in {px}"));
        }
        let here = match p.kind {
            ProxyKind::Defaults => !p.name.is_empty(),
            k => k.caps() & cap::BE != 0,
        };
        match stmt.arg(1) {
            "inspect-delay" | "content" if !here => self.alert(
                loc,
                format!(
                    "tcp-response {} is only allowed in 'backend' sections or 'defaults' section with a name",
                    stmt.arg(1)
                ),
            ),
            "inspect-delay" => match parse_time_ms(stmt.arg(2)) {
                Ok(_) if p.response.0.delay.is_some() => self.warn(
                    loc,
                    format!("ignoring tcp-response inspect-delay (was already defined) in {px}"),
                ),
                // A null delay is haproxy's "not set".
                Ok(ms) => {
                    p.response.0.delay =
                        (ms > 0).then(|| std::time::Duration::from_millis(ms))
                }
                Err(e) => self.alert(loc, super::rules::delay_error("tcp-response", &px, stmt.arg(2), e)),
            },
            "content" => {
                if let Some(rule) = self.response_rule(p, stmt, &px) {
                    p.response.0.rules.push(rule);
                    p.response.1.get_or_insert(loc.clone());
                }
            }
            w => self.alert(
                loc,
                format!("'tcp-response' expects 'inspect-delay' or 'content' in {px} (got '{w}')"),
            ),
        }
    }

    /// One `tcp-response content <action> [if|unless <cond>]`; None when a diagnostic
    /// was pushed.
    fn response_rule(&mut self, p: &mut ProxyConf, stmt: &Stmt, px: &str) -> Option<ContentRule> {
        let loc = stmt.loc;
        let action = stmt.arg(2);
        let mut at = 3;
        let bare = |m: String| SampleError::Invalid(m);
        let parsed: Result<ContentAction, SampleError> = match action {
            "accept" => Ok(ContentAction::Accept),
            "reject" => Ok(ContentAction::Reject),
            "close" => Ok(ContentAction::Close),
            "set-log-level" => match super::http_rules::log_level(stmt.arg(3)) {
                Some(l) => {
                    at = 4;
                    Ok(ContentAction::SetLogLevel(l))
                }
                None => Err(bare(super::http_rules::LOG_LEVEL_ARG.into())),
            },
            a if super::vars::is_var_action(a) => {
                super::vars::var_action(stmt.words, 2, None).and_then(|(v, next)| {
                    at = next;
                    match &v.value {
                        VarValue::Expr(e) if request_buffer(&e.fetch) => Err(bare(format!(
                            "fetch method '{a}' extracts information from 'request buffer', none of which is available here"
                        ))),
                        _ => Ok(ContentAction::Var(Box::new(v))),
                    }
                })
            }
            a if a.starts_with("sc-inc-gpc") || a.starts_with("sc-set-gpt") => {
                match super::counters::sc_action(stmt.words, 2) {
                    Some(Ok((act, next))) => {
                        if let ScAction::SetGpt {
                            value: GptValue::Expr(e),
                            ..
                        } = &act
                        {
                            if request_buffer(&e.fetch) {
                                let last = &stmt.words[next - 1];
                                return self.refuse(loc, bare(format!("fetch method '{last}' extracts information from 'request buffer', none of which is available here")), action);
                            }
                        }
                        at = next;
                        Ok(ContentAction::Sc(Box::new(act)))
                    }
                    Some(Err(e)) => Err(e),
                    None => Err(bare(format!(
                        "'tcp-response content' expects {ACTIONS} in {px} (got '{a}')."
                    ))),
                }
            }
            a @ ("ot-group" | "set-nice" | "send-spoe-group" | "set-mark" | "set-tos"
            | "silent-drop") => Err(SampleError::Unsupported(format!(
                "'tcp-response content {a}'"
            ))),
            a => Err(bare(format!(
                "'tcp-response content' expects {ACTIONS} in {px} (got '{a}')."
            ))),
        };
        let action_ir = match parsed {
            Ok(a) => a,
            Err(e) => return self.refuse(loc, e, action),
        };
        let cond = match stmt.words.get(at).map(String::as_str) {
            None => None,
            Some(w @ ("if" | "unless")) => match self.read_cond(p, loc, &stmt.words[at..]) {
                Ok(c) => Some(c),
                Err(super::acl::AclError::Invalid(m)) => {
                    self.alert(loc, format!("'tcp-response content {action}' : error detected in {px} while parsing '{w}' condition : {m}"));
                    return None;
                }
                Err(super::acl::AclError::Unsupported(what)) => {
                    self.unsupported(loc, &what, "not evaluated by haproxide yet");
                    return None;
                }
            },
            Some(w) => {
                self.alert(
                    loc,
                    format!("'tcp-response content {action}' only accepts 'if' or 'unless', in {px} (got '{w}')"),
                );
                return None;
            }
        };
        if let Some(m) = cond.as_ref().and_then(|c| conflicts(p, c)) {
            self.warn(loc, m);
        }
        Some(ContentRule {
            action: action_ir,
            cond,
        })
    }

    /// Pushes the diagnostic for a refused action: haproxy's own message, or haproxide's
    /// "not supported" naming it.
    fn refuse(&mut self, loc: &Loc, e: SampleError, action: &str) -> Option<ContentRule> {
        match e {
            SampleError::Invalid(m) => self.alert(loc, m),
            SampleError::Unsupported(what) if what.starts_with('\'') => self.unsupported(
                loc,
                &what,
                "only accept, reject, close, set-var, set-var-fmt, unset-var, sc-inc-gpc*, sc-set-gpt* and set-log-level",
            ),
            SampleError::Unsupported(what) => self.unsupported(
                loc,
                &format!("{what} in 'tcp-response content {action}'"),
                "sample expressions",
            ),
        }
        None
    }
}

/// haproxy's warning for a condition that reads the request buffer.
fn conflicts(p: &ProxyConf, c: &Cond) -> Option<String> {
    super::rules::incompatible(p, c, "tcp-response content", PLACE, |f| !request_buffer(f))
}
