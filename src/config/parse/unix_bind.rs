//! `unix-bind` (configuration.txt §3.1): defaults for the UNIX-socket listeners of
//! proxies, read with haproxy 2.6's messages (cfgparse-global.c). haproxide refuses
//! such listeners, and haproxy's stats socket takes none of these settings, so a
//! configuration haproxide accepts behaves the same with or without the line.

use super::global::lookup_id;
use super::{Parser, Stmt};
use crate::config::diag::Diagnostic;

impl Parser {
    /// Its options, two words each, in any order and number.
    pub(super) fn global_unix_bind(&mut self, stmt: &Stmt) {
        let (loc, kw) = (stmt.loc, stmt.arg(0));
        let mut i = 1;
        while !stmt.arg(i).is_empty() {
            let (opt, v) = (stmt.arg(i), stmt.arg(i + 1));
            match opt {
                "prefix" if self.global.unix_bind_prefix => {
                    let msg = format!("{kw} '{opt}' already specified. Continuing.");
                    self.push(Diagnostic::alert(loc, msg).continuing());
                }
                "prefix" if v.is_empty() => {
                    let msg = format!("unix_bind '{opt}' expects a path as an argument.");
                    return self.alert(loc, msg);
                }
                "prefix" => self.global.unix_bind_prefix = true,
                // strtol() in base 8 and atol(): never an error.
                "mode" | "uid" | "gid" => {}
                "user" | "group" => {
                    let file = if opt == "user" {
                        "/etc/passwd"
                    } else {
                        "/etc/group"
                    };
                    if lookup_id(file, v).is_none() {
                        return self.alert(loc, format!("'{kw}' : '{v}' unknown {opt}."));
                    }
                }
                _ => {
                    let msg = format!("'{kw}' only supports the 'prefix', 'mode', 'uid', 'gid', 'user' and 'group' options.");
                    return self.alert(loc, msg);
                }
            }
            i += 2;
        }
    }
}
