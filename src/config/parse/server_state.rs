//! The proxy keywords that decide how a backend's saved server state is found
//! (configuration.txt §4.2 `id`, `load-server-state-from-file`, `server-state-file-name`):
//! a state file's lines name a backend by number and name, so the number is kept too.
//! Messages follow HAProxy 2.6's `cfgparse-listen.c`.

use super::units::lenient_int;
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind};
use crate::config::diag::{Diagnostic, LocStyle};
use crate::ir::StateFrom;

impl Parser {
    /// `id <number>`: the proxy's number, unique among proxies.
    pub(super) fn parse_proxy_id(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let tight = |d: Diagnostic| d.styled(LocStyle::ParsingTight);
        if p.kind == ProxyKind::Defaults {
            let d = Diagnostic::alert(loc, "'id' not allowed in 'defaults' section.");
            return self.push(tight(d));
        }
        if self.too_many(stmt, 1, "id") {
            return;
        }
        if stmt.arg(1).is_empty() {
            let d = Diagnostic::alert(loc, "'id' expects an integer argument.");
            return self.push(tight(d));
        }
        // atol, then kept as a signed int.
        let v = lenient_int(stmt.arg(1)) as i32;
        if v <= 0 {
            return self.push(tight(Diagnostic::alert(loc, "custom id has to be > 0.")));
        }
        let v = v as u32;
        if let Some(other) = self.proxies.iter().find(|o| o.id == Some(v)) {
            let msg = format!(
                "{} {} reuses same custom id as {} {} (declared at {}).",
                p.kind.word(),
                p.name,
                other.kind.word(),
                other.name,
                other.loc
            );
            return self.push(tight(Diagnostic::alert(loc, msg)));
        }
        p.id = Some(v);
    }

    /// `load-server-state-from-file global|local|none`.
    pub(super) fn parse_load_state(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        p.load_state = Some(match stmt.arg(1) {
            "global" => StateFrom::Global,
            "local" => StateFrom::Local,
            "none" => StateFrom::None,
            other => {
                let msg = format!(
                    "'load-server-state-from-file' expects 'global', 'local' or 'none'. Got '{other}'"
                );
                return self.alert(stmt.loc, msg);
            }
        });
    }

    /// `server-state-file-name [<file>|use-backend-name]`.
    pub(super) fn parse_state_file_name(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        if self.too_many(stmt, 1, "server-state-file-name") {
            return;
        }
        p.state_file_name = Some(match stmt.arg(1) {
            "" | "use-backend-name" => p.name.clone(),
            name => name.to_string(),
        });
    }
}
