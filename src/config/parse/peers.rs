//! `peers` sections (configuration.txt §3.5) and the local peer's name (`localpeer`,
//! `-L`). A section lists the peers that replicate the stick tables naming it; the one
//! called like the local peer is this process, and its address is where it listens.
//! haproxy 2.6 writes peers either as `peer <name> <addr>` lines or as one `bind` and
//! `server <name> [<addr>]` lines; the two styles do not mix.

use std::net::SocketAddr;

use super::addr::{parse_addr, AddrError, AddrRules, AddrSpec, Host};
use super::{Parser, Section, Stmt};
use crate::config::diag::{Diagnostic, Loc, LocStyle};

/// The key under which the entry point tells the parser that `-L` named the local peer
/// (then `localpeer` is ignored, as in haproxy). No environment variable can be called
/// this (a name holds no `=`), so `${…}` never reads it.
pub const LOCALPEER_FROM_CMDLINE: &str = "=-L";

/// A `table <name> …` line of a `peers` section: a stick table called
/// `<section>/<name>` (`/<name>` on the wire).
#[derive(Debug, Clone)]
pub struct PeersTable {
    /// `<section>/<name>`.
    pub name: String,
    /// Its definition.
    pub table: crate::ir::StickTable,
    /// How many proxies came before it (where it stands among the proxies' tables).
    pub after_proxies: usize,
}

/// One `peers` section as read.
#[derive(Debug, Clone)]
pub struct PeersConf {
    /// Its name.
    pub name: String,
    /// Where it starts.
    pub loc: Loc,
    /// `disabled` (and not `enabled` again).
    pub disabled: bool,
    /// A line made haproxy create the section's frontend (any peer, bind or server).
    pub has_frontend: bool,
    /// The local peer was named (the frontend has an id).
    pub local_named: bool,
    /// The listening address: the local peer's `peer` line or `bind`.
    pub bind: Option<SocketAddr>,
    /// Every peer but the local one, in configuration order.
    pub remotes: Vec<(String, SocketAddr)>,
    /// `table` lines, in order.
    pub tables: Vec<PeersTable>,
    bind_line: bool,
    peer_line: bool,
}

impl Parser {
    /// `peers <name>`: starts a section.
    pub(super) fn peers_section(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        let name = stmt.arg(1);
        if name.is_empty() {
            self.alert(loc, "missing name for peers section.");
            self.aborted = true;
            return;
        }
        if self.too_many(stmt, 1, "peers") {
            return;
        }
        self.check_section_name(loc, "peers", name);
        if let Some(first) = self.peers.iter().find(|p| p.name == name) {
            let msg = format!(
                "peers section '{name}' has the same name as another peers section declared at {}.",
                first.loc
            );
            self.push(Diagnostic::alert(loc, msg).styled(LocStyle::CapParsing));
        }
        self.peers.push(PeersConf {
            name: name.to_string(),
            loc: loc.clone(),
            disabled: false,
            has_frontend: false,
            local_named: false,
            bind: None,
            remotes: Vec::new(),
            tables: Vec::new(),
            bind_line: false,
            peer_line: false,
        });
        self.section = Section::Peers;
    }

    /// One line inside a `peers` section.
    pub(super) fn parse_peers(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        let kw = stmt.arg(0);
        let Some(mut cur) = self.peers.pop() else {
            return;
        };
        match kw {
            "peer" | "server" => self.peer_line(&mut cur, stmt),
            "bind" => {
                cur.has_frontend = true;
                if cur.peer_line {
                    self.alert(loc, "mixing \"peer\" and \"bind\" line is forbidden");
                } else if cur.bind_line {
                    self.unsupported(loc, "a second 'bind' in a 'peers' section", "");
                } else if let Some(a) = self.peer_addr(stmt, 1, true) {
                    cur.bind = Some(a);
                    cur.bind_line = true;
                    if stmt.words.len() > 2 {
                        self.unsupported(
                            loc,
                            &format!("'bind' option '{}' in a 'peers' section", stmt.arg(2)),
                            "peers listen on plain TCP",
                        );
                    }
                }
            }
            "disabled" => cur.disabled = true,
            "enabled" => cur.disabled = false,
            "table" => {
                cur.has_frontend = true;
                self.peers_table(&mut cur, stmt);
            }
            "log" | "default-bind" | "default-server" => {
                cur.has_frontend = true;
                self.unsupported(loc, &format!("'{kw}' in a 'peers' section"), "");
            }
            _ => self.alert(loc, format!("unknown keyword '{kw}' in 'peers' section")),
        }
        self.peers.push(cur);
    }

    /// `table <name> type … size … [expire …] [nopurge] [store …]`.
    fn peers_table(&mut self, cur: &mut PeersConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let short = stmt.arg(1);
        // haproxy looks the short name up among the tables declared so far.
        if let Some(p) = self
            .proxies
            .iter()
            .find(|p| p.name == short && p.stick_table.is_some())
        {
            let at = p.stick_loc.as_ref().unwrap_or(&p.loc);
            let msg = format!(
                "stick-table name '{short}' conflicts with table declared in {} '{}' at {at}.",
                p.kind.proxy_word(),
                p.name
            );
            return self.alert(loc, msg);
        }
        if let Some((table, _)) = self.table_args(stmt, 2, "table") {
            cur.tables.push(PeersTable {
                name: format!("{}/{short}", cur.name),
                table,
                after_proxies: self.proxies.len(),
            });
        }
    }

    /// `peer <name> <addr>` or `server <name> [<addr>]`.
    fn peer_line(&mut self, cur: &mut PeersConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let (kw, name) = (stmt.arg(0), stmt.arg(1));
        let peer = kw == "peer";
        let local = name == self.localpeer();
        if peer {
            if cur.bind_line {
                return self.alert(loc, "mixing \"peer\" and \"bind\" line is forbidden");
            }
            cur.peer_line = true;
        }
        if name.is_empty() {
            return self.alert(loc, format!("'{kw}' : missing name for server"));
        }
        if local && cur.local_named {
            let msg = format!(
                "'{kw} {name}' : local peer name already referenced at {}. {name}",
                cur.loc
            );
            return self.alert(loc, msg);
        }
        cur.has_frontend = true;
        // A local `server` line takes its address from `bind`.
        let addr = if peer || !local {
            if stmt.arg(2).is_empty() {
                // haproxy makes no server of an address-less line (the peer is dropped).
                return;
            }
            match self.peer_addr(stmt, 2, false) {
                Some(a) => Some(a),
                None => return,
            }
        } else {
            None
        };
        let first_opt = if peer || !local { 3 } else { 2 };
        if stmt.words.len() > first_opt {
            return self.unsupported(
                loc,
                &format!(
                    "'{kw}' option '{}' in a 'peers' section",
                    stmt.arg(first_opt)
                ),
                "peers connect over plain TCP",
            );
        }
        if local {
            cur.local_named = true;
            if peer {
                cur.bind = addr;
            }
        } else if let Some(a) = addr {
            cur.remotes.push((name.to_string(), a));
        }
    }

    /// The address word `stmt.arg(at)`: an IP address and a port.
    fn peer_addr(&mut self, stmt: &Stmt, at: usize, bind: bool) -> Option<SocketAddr> {
        let loc = stmt.loc;
        let word = stmt.arg(at);
        let rules = AddrRules {
            port_required: bind,
            ranges: false,
            names: false,
            offsets: false,
            resolve: false,
            fds: false,
        };
        let what = format!("'{} {}'", stmt.arg(0), stmt.arg(1));
        match parse_addr(word, rules) {
            Ok(AddrSpec::Inet {
                host: Host::Ip(ip),
                port_lo,
                ..
            }) if port_lo != 0 => Some(SocketAddr::new(ip, port_lo)),
            Ok(AddrSpec::Inet {
                host: Host::Ip(_), ..
            }) if bind => {
                let msg = format!("{what} : missing port number: '{word}'");
                self.alert(loc, msg);
                None
            }
            // haproxy takes a peer without a port (and fails to connect to port 0).
            Ok(AddrSpec::Inet {
                host: Host::Ip(ip), ..
            }) => Some(SocketAddr::new(ip, 0)),
            Ok(_) | Err(AddrError::UnsupportedFamily(_)) => {
                self.unsupported(
                    loc,
                    &format!("peer address '{word}'"),
                    "peers are reached by IPv4 or IPv6 address and port",
                );
                None
            }
            Err(e) => {
                self.alert(loc, format!("{what} : {}", e.message(word)));
                None
            }
        }
    }

    /// The local peer's name as the configuration read so far sets it.
    pub(super) fn localpeer(&self) -> String {
        self.env
            .get("HAPROXY_LOCALPEER")
            .cloned()
            .unwrap_or_default()
    }
}
