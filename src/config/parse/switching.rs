//! The proxy keywords of the condition language: `acl` lines, `use_backend … if|unless`,
//! and the `if|unless` tail every rule keyword shares, with haproxy's messages.

use std::sync::Arc;

use super::acl::{self, AclError};
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind, ServerRuleConf, Spanned, UseBackend};
use crate::config::diag::{Diagnostic, Loc, LocStyle};
use crate::ir::acl::{AclTest, Cond};
use crate::ir::persist::PersistRule;

impl Parser {
    /// Prints an ACL parser's warnings as haproxy does: without a position.
    fn acl_warnings(&mut self, loc: &Loc, warnings: Vec<String>) {
        for w in warnings {
            self.push(Diagnostic::warning(loc, w).styled(LocStyle::None));
        }
    }

    /// The condition at `words` (from `if`/`unless`) of a rule of `p` at `loc`: its
    /// warnings said, its arguments noted for resolution; the caller words the error.
    pub(super) fn read_cond(
        &mut self,
        p: &mut ProxyConf,
        loc: &Loc,
        words: &[String],
    ) -> Result<Cond, AclError> {
        let c = acl::parse_cond(&mut p.acls, words)?;
        self.acl_warnings(loc, c.warnings);
        note_cond_args(p, loc, &c.cond);
        if reads_layer6(&c.cond) {
            p.l6_conds.push((self.rule_rank, loc.clone()));
        }
        Ok(c.cond)
    }

    /// `acl <name> <criterion> [flags] [operator] <value> …`
    pub(super) fn parse_acl(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        if p.kind == ProxyKind::Defaults && p.name.is_empty() {
            return self.alert(loc, "'acl' not allowed in anonymous 'defaults' section.");
        }
        let name = stmt.arg(1);
        if let Some(c) = acl::invalid_name_char(name) {
            return self.alert(
                loc,
                format!("character '{c}' is not permitted in acl name '{name}'."),
            );
        }
        if name.eq_ignore_ascii_case("or") {
            return self.alert(loc, format!("acl name '{name}' will never match. 'or' is used to express a logical disjunction within a condition."));
        }
        let old = p
            .acls
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.tests.clone());
        match acl::add_acl(&mut p.acls, &stmt.words[1..]) {
            Ok(w) => {
                self.acl_warnings(loc, w);
                let added = p
                    .acls
                    .iter()
                    .find(|a| a.name == name)
                    .map(|a| a.tests.clone());
                if let Some(t) = added {
                    note_args(p, loc, &t[t.len() - 1..]);
                }
            }
            Err(AclError::Invalid(m)) => {
                return self.alert(
                    loc,
                    format!("error detected while parsing ACL '{name}' : {m}."),
                )
            }
            Err(AclError::Unsupported(what)) => {
                return self.unsupported(loc, &what, "not evaluated by haproxide yet")
            }
        }
        // A rule already using this name sees the new line too, as haproxy's rules
        // point at the ACL itself.
        if let Some(old) = old {
            let new = p
                .acls
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.tests.clone());
            if let Some(new) = new {
                refresh(p, &old, &new);
            }
        }
    }

    /// The condition starting at word `i` (`if` or `unless`), or None after reporting
    /// it with `context` (haproxy's "error detected while parsing <context> : …").
    pub(super) fn rule_cond(
        &mut self,
        p: &mut ProxyConf,
        stmt: &Stmt,
        i: usize,
        context: &str,
    ) -> Option<Cond> {
        let loc = stmt.loc;
        match self.read_cond(p, loc, &stmt.words[i..]) {
            Ok(c) => Some(c),
            Err(AclError::Invalid(m)) => {
                self.alert(
                    loc,
                    format!("error detected while parsing {context} : {m}."),
                );
                None
            }
            Err(AclError::Unsupported(what)) => {
                self.unsupported(loc, &what, "not evaluated by haproxide yet");
                None
            }
        }
    }

    /// `monitor-uri <uri>`
    pub(super) fn parse_monitor_uri(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        if stmt.arg(1).is_empty() {
            return self.alert(loc, "'monitor-uri' expects an URI.");
        }
        if stmt.words.len() > 2 {
            return self.alert(
                loc,
                format!(
                    "'monitor-uri' cannot handle unexpected argument '{}'.",
                    stmt.arg(2)
                ),
            );
        }
        p.monitor_uri = Some(stmt.arg(1).to_string());
    }

    /// `monitor fail if|unless <cond>`
    pub(super) fn parse_monitor(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        if stmt.arg(1) != "fail" {
            return self.alert(loc, "'monitor' only supports 'fail'.");
        }
        if !matches!(stmt.arg(2), "if" | "unless") {
            return self.alert(
                loc,
                "'monitor fail' requires either 'if' or 'unless' followed by a condition.",
            );
        }
        if let Some(c) = self.rule_cond(p, stmt, 2, "a 'monitor fail' condition") {
            p.monitor_fail.push(c);
        }
    }

    /// `use-server <server> if|unless <cond>`: the name is resolved (or read as a
    /// log-format) once every section is read, as haproxy does.
    pub(super) fn parse_use_server(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        if stmt.arg(1).is_empty() {
            return self.alert(loc, "'use-server' expects a server name.");
        }
        if !matches!(stmt.arg(2), "if" | "unless") {
            return self.alert(
                loc,
                "'use-server' requires either 'if' or 'unless' followed by a condition.",
            );
        }
        let Some(cond) = self.rule_cond(p, stmt, 2, "switching rule") else {
            return;
        };
        self.warn_request_only(
            p,
            loc,
            &cond,
            "backend use-server, balance or stick-match rule",
        );
        p.server_rules.push(ServerRuleConf {
            name: stmt.arg(1).to_string(),
            cond,
            loc: loc.clone(),
        });
    }

    /// `force-persist|ignore-persist if|unless <cond>`
    pub(super) fn parse_persist_rule(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let kw = stmt.arg(0);
        if !matches!(stmt.arg(1), "if" | "unless") {
            return self.alert(
                loc,
                format!("'{kw}' requires either 'if' or 'unless' followed by a condition."),
            );
        }
        let Some(cond) = self.rule_cond(p, stmt, 1, &format!("a '{kw}' rule")) else {
            return;
        };
        // haproxy checks it where the first backend content rules run.
        self.warn_request_only(p, loc, &cond, "backend tcp-request content rule");
        p.persist_rules.push(PersistRule {
            force: kw == "force-persist",
            cond,
        });
    }

    /// `use_backend <backend> [if|unless <cond>]`
    pub(super) fn parse_use_backend(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let name = stmt.arg(1);
        if name.is_empty() {
            return self.alert(loc, "'use_backend' expects a backend name.");
        }
        let cond = match stmt.arg(2) {
            "" => None,
            "if" | "unless" => match self.rule_cond(p, stmt, 2, "switching rule") {
                Some(c) => Some(c),
                None => return,
            },
            w => {
                return self.alert(loc, format!("unexpected keyword '{w}' after switching rule, only 'if' and 'unless' are allowed."))
            }
        };
        p.use_backends.push(UseBackend {
            name: Spanned {
                v: name.to_string(),
                loc: loc.clone(),
            },
            cond,
        });
    }
}

/// `nbsrv` without a backend names the proxy it is in: haproxy refuses it in a proxy
/// without backend capability. Records haproxy's message for `tests`.
pub(super) fn note_args(p: &mut ProxyConf, loc: &Loc, tests: &[AclTest]) {
    if p.kind != ProxyKind::Frontend {
        return;
    }
    for t in tests {
        if t.expr.fetch == crate::ir::acl::Fetch::Nbsrv(None) {
            let msg = format!("proxy '{0}', referenced in arg 1 of ACL keyword '{1}' in proxy '{0}', has not backend capability.", p.name, t.kw);
            p.arg_errors.push((loc.clone(), msg));
        }
    }
}

/// [`note_args`] for the anonymous ACLs of `c` (named ones were noted at their line).
/// Whether a condition reads the raw bytes of a buffer (haproxy's SMP_USE_L6REQ and
/// SMP_USE_L6RES fetches).
fn reads_layer6(c: &Cond) -> bool {
    c.suites
        .iter()
        .flatten()
        .flat_map(|t| t.tests.iter())
        .any(|x| x.expr.fetch.layer6().is_some())
}

pub(super) fn note_cond_args(p: &mut ProxyConf, loc: &Loc, c: &Cond) {
    for t in c.suites.iter().flatten() {
        if !p.acls.iter().any(|a| Arc::ptr_eq(&a.tests, &t.tests)) {
            note_args(p, loc, &t.tests);
        }
    }
}

/// Points the terms of `p`'s conditions that use `old` at `new`.
fn refresh(p: &mut ProxyConf, old: &Arc<[AclTest]>, new: &Arc<[AclTest]>) {
    let conds = p
        .use_backends
        .iter_mut()
        .filter_map(|u| u.cond.as_mut())
        .chain(p.inspect.rules.iter_mut().filter_map(|r| r.cond.as_mut()))
        .chain(p.monitor_fail.iter_mut())
        .chain(p.stick_rules.iter_mut().filter_map(|r| r.cond.as_mut()))
        .chain(p.server_rules.iter_mut().map(|r| &mut r.cond))
        .chain(p.persist_rules.iter_mut().map(|r| &mut r.cond))
        .chain(
            p.http_rules
                .request
                .iter_mut()
                .chain(&mut p.http_rules.redirects)
                .chain(&mut p.http_rules.response)
                .chain(&mut p.http_rules.after)
                .filter_map(|r| r.cond.as_mut()),
        );
    for c in conds {
        for t in c.suites.iter_mut().flatten() {
            if Arc::ptr_eq(&t.tests, old) {
                t.tests = new.clone();
            }
        }
    }
}
