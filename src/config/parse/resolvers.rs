//! `resolvers` sections: configuration.txt §5.3.2. haproxide has no runtime DNS, so a
//! section is read and checked as HAProxy checks it, and `server … resolvers` is accepted
//! only where it changes nothing: on a server given by IP address (HAProxy never queries
//! DNS for those). A server given by name with `resolvers` is refused at its line.

use super::addr::{parse_addr, AddrRules};
use super::units::parse_time_ms;
use super::{Parser, Section, Stmt};
use crate::config::diag::Diagnostic;

/// Events `hold` accepts, in the order HAProxy's message lists them.
const HOLD_EVENTS: [&str; 6] = ["nx", "timeout", "valid", "obsolete", "other", "refused"];

impl Parser {
    /// `resolvers <id>`: starts the section, refusing a second section of the same name.
    pub(super) fn resolvers_section(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        let name = stmt.arg(1);
        if name.is_empty() {
            self.alert(loc, "missing name for resolvers section.");
            self.aborted = true;
            return;
        }
        if let Some((_, first)) = self.resolvers.iter().find(|(n, _)| n == name) {
            // HAProxy then fails to allocate and aborts the whole read.
            let msg = format!(
                "resolvers '{name}' has same name as another resolvers (declared at {first})."
            );
            self.push(
                Diagnostic::alert(loc, msg).styled(crate::config::diag::LocStyle::CapParsing),
            );
            self.alert(loc, "out of memory.");
            self.aborted = true;
            return;
        }
        self.resolvers.push((name.to_string(), loc.clone()));
        self.section = Section::Resolvers;
    }

    /// One line inside a `resolvers` section.
    pub(super) fn parse_resolvers(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        let kw = stmt.arg(0);
        let val = stmt.arg(1);
        match kw {
            "nameserver" => {
                let rules = AddrRules {
                    port_required: true,
                    ranges: false,
                    names: false,
                    offsets: false,
                    resolve: self.resolve_names,
                    fds: false,
                };
                let addr = stmt.arg(2);
                if let Err(e) = parse_addr(addr, rules) {
                    self.alert(loc, format!("'{kw} {val}' : {}", e.message(addr)));
                }
            }
            "parse-resolv-conf" => {}
            "accepted_payload_size" | "resolve_retries" => {
                if val.parse::<u32>().map_or(true, |v| v == 0) {
                    self.alert(loc, format!("'{kw}' expects <nb> as argument."));
                }
            }
            "timeout" => {
                if !matches!(val, "retry" | "resolve") {
                    return self.alert(loc, format!("'timeout' expects 'retry' or 'resolve' and <time> as arguments got '{val}'."));
                }
                if parse_time_ms(stmt.arg(2)).is_err() {
                    self.alert(loc, format!("'timeout {val}' expects <time> as argument."));
                }
            }
            "hold" => {
                if !HOLD_EVENTS.contains(&val) {
                    return self.alert(loc, format!("'hold' unknown <event>: '{val}', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'."));
                }
                if parse_time_ms(stmt.arg(2)).is_err() {
                    self.alert(loc, format!("'hold {val}' expects <time> as argument."));
                }
            }
            _ => self.alert(
                loc,
                format!("unknown keyword '{kw}' in 'resolvers' section"),
            ),
        }
    }
}
