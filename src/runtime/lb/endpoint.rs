//! Where a server, its health check and its agent are reached: set by the
//! configuration, changed by the stats socket's `set server … addr|check-addr|
//! check-port|agent-addr|agent-port|agent-send` with haproxy's answers (server.c
//! srv_update_addr_port, srv_update_check_addr_port, srv_update_agent_addr_port).

use crate::ir::Server;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A server's addresses as they are now.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The traffic address (None: a server without one, never connected to).
    pub addr: Option<IpAddr>,
    /// The traffic port, or the offset added to the client's destination port when
    /// `mapped` (haproxy's svc_port: the configuration's `-5` stays -5, the stats
    /// socket's becomes 65531, both reaching the same port).
    pub port: i32,
    /// The port follows the client's destination port (haproxy's SRV_F_MAPPORTS).
    pub mapped: bool,
    /// The health check's `addr` (None: the traffic address).
    pub check_addr: Option<IpAddr>,
    /// The health check's `port` (None: the traffic port).
    pub check_port: Option<u16>,
    /// The agent's address (None: the traffic address).
    pub agent_addr: Option<IpAddr>,
    /// The agent's port.
    pub agent_port: u16,
    /// What the agent is sent once connected.
    pub agent_send: Option<Arc<[u8]>>,
}

impl Endpoint {
    /// The configuration's addresses for `s`.
    pub fn of(s: &Server) -> Self {
        let (port, mapped) = match s.port_offset {
            Some(off) => (off, true),
            None => (i32::from(s.port), s.port == 0),
        };
        Endpoint {
            addr: s.addr,
            port,
            mapped,
            check_addr: s.check.as_ref().and_then(|c| c.addr),
            check_port: s.check.as_ref().and_then(|c| c.port),
            agent_addr: s.agent.as_ref().and_then(|a| a.addr),
            agent_port: s.agent.as_ref().map_or(0, |a| a.port),
            agent_send: s
                .agent
                .as_ref()
                .and_then(|a| a.send.as_deref().map(Arc::from)),
        }
    }

    /// Where to connect for a client that reached `dst_port`.
    pub fn target(&self, dst_port: u16) -> Option<SocketAddr> {
        // set_host_port keeps 16 bits of the sum.
        let port = if self.mapped {
            (i32::from(dst_port) + self.port) as u16
        } else {
            self.port as u16
        };
        Some(SocketAddr::new(self.addr?, port))
    }

    /// `ip:port` as `show stat` prints it (the port signed, IPv6 in brackets).
    pub fn shown(&self) -> Option<String> {
        Some(match self.addr? {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        })
    }
}

/// `set server <b>/<s> addr <ip> [port <port>]`: what changed, or why not, ending with
/// the updater's name, as haproxy answers; the bool says whether anything changed (the
/// server's idle connections are then closed).
pub fn update_addr_port(
    ep: &mut Endpoint,
    checked_port: bool,
    addr: &str,
    port: Option<&str>,
) -> (String, bool) {
    let mut msg = String::new();
    let mut changed = false;
    let done = |mut msg: String, changed| {
        msg.push_str(" by 'stats socket command'\n");
        (msg, changed)
    };
    // str2ip2 without resolution: only a literal address.
    let Ok(new) = addr.parse::<IpAddr>() else {
        return done(format!("Invalid addr '{addr}'"), false);
    };
    if ep.addr.is_none() {
        let m = "Update for the current server address family is only supported through configuration file";
        return done(m.into(), false);
    }
    if ep.addr == Some(new) {
        msg.push_str("no need to change the addr");
    } else {
        msg = format!(
            "IP changed from '{}' to '{addr}'",
            ep.addr.map(|a| a.to_string()).unwrap_or_default()
        );
        ep.addr = Some(new);
        changed = true;
    }
    let Some(port) = port else {
        return done(msg, changed);
    };
    msg.push_str(", ");
    let (value, rest) = crate::numbers::strtol(port);
    if rest.len() == port.len() || value == i64::MAX || value == i64::MIN {
        msg.push_str(&format!("problem converting port '{port}' to an int"));
        return done(msg, changed);
    }
    // strtol's value kept in 16 bits, as haproxy's uint16_t does.
    let new_port = value as u16;
    let current = ep.port as u16;
    let sign = port.as_bytes()[0];
    let mapping = sign == b'-' || sign == b'+';
    let required = if mapping && !ep.mapped {
        if !checked_port {
            msg.push_str("can't change <port> to port map because it is incompatible with current health check port configuration (use 'port' statement from the 'server' directive.");
            return done(msg, changed);
        }
        true
    } else {
        current != new_port
    };
    if !required {
        msg.push_str("no need to change the port");
        return done(msg, changed);
    }
    msg.push_str(&format!(
        "port changed from '{}{}' to '",
        if ep.mapped { "+" } else { "" },
        current
    ));
    ep.port = i32::from(new_port);
    ep.mapped = mapping;
    let shown = if sign == b'-' {
        msg.push('-');
        new_port.wrapping_neg()
    } else {
        if sign == b'+' {
            msg.push('+');
        }
        new_port
    };
    msg.push_str(&format!("{shown}'"));
    done(msg, true)
}

/// A port as haproxy's strl2irc reads it for `check-port` and `agent-port`: every byte
/// a digit after an optional sign, within 0-65535.
fn port_value(port: &str) -> Result<u16, &'static str> {
    let digits = port.strip_prefix(['-', '+']).unwrap_or(port);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err("provided port is not an integer");
    }
    match port.parse::<i64>() {
        Ok(v) if (0..=65535).contains(&v) => Ok(v as u16),
        Ok(_) => Err("provided port is invalid"),
        // More digits than 32 bits hold: strl2irc's overflow, not an integer.
        Err(_) => Err("provided port is not an integer"),
    }
}

/// A server's health check or its agent, whose address and port the stats socket sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aux {
    /// `check-addr`, `check-port`.
    Check,
    /// `agent-addr`, `agent-port`.
    Agent,
}

/// `set server … check-addr|agent-addr <ip> [port <port>]` and `check-port|agent-port
/// <port>` (srv_update_check_addr_port, srv_update_agent_addr_port): nothing applied
/// unless everything is valid; Some(answer) when refused. `enabled`: the server has
/// that check.
pub fn update_aux(
    ep: &mut Endpoint,
    (aux, enabled): (Aux, bool),
    addr: Option<&str>,
    port: Option<&str>,
) -> Option<String> {
    if !enabled {
        let what = match aux {
            Aux::Check => "health",
            Aux::Agent => "agent",
        };
        return Some(format!("{what} checks are not enabled on this server"));
    }
    let new_addr = match addr.map(|a| a.parse::<IpAddr>().map_err(|_| a)) {
        Some(Err(a)) => return Some(format!("invalid addr '{a}'")),
        Some(Ok(a)) => Some(a),
        None => None,
    };
    let new_port = match port.map(port_value) {
        Some(Err(m)) => return Some(m.into()),
        Some(Ok(0)) if aux == Aux::Check && ep.mapped => {
            return Some("can't unset 'port' since MAPPORTS is in use".into())
        }
        Some(Ok(p)) => Some(p),
        None => None,
    };
    match aux {
        Aux::Check => {
            ep.check_addr = new_addr.or(ep.check_addr);
            ep.check_port = new_port.or(ep.check_port);
        }
        Aux::Agent => {
            ep.agent_addr = new_addr.or(ep.agent_addr);
            ep.agent_port = new_port.unwrap_or(ep.agent_port);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> Endpoint {
        Endpoint {
            addr: Some("127.0.0.1".parse().unwrap()),
            port: 80,
            mapped: false,
            check_addr: None,
            check_port: None,
            agent_addr: None,
            agent_port: 0,
            agent_send: None,
        }
    }

    #[test]
    fn addr_and_port_answers_are_haproxys() {
        let mut e = ep();
        let (m, c) = update_addr_port(&mut e, false, "127.0.0.2", Some("x"));
        assert_eq!(m, "IP changed from '127.0.0.1' to '127.0.0.2', problem converting port 'x' to an int by 'stats socket command'\n");
        assert!(c);
        let (m, c) = update_addr_port(&mut e, true, "127.0.0.2", Some("-5"));
        assert_eq!(m, "no need to change the addr, port changed from '80' to '-5' by 'stats socket command'\n");
        assert!(c && e.mapped && e.port == 65531);
        assert_eq!(e.shown().as_deref(), Some("127.0.0.2:65531"));
        assert_eq!(e.target(26000).unwrap().port(), 25995);
        let (m, _) = update_addr_port(&mut e, true, "127.0.0.2", Some("9000"));
        assert_eq!(m, "no need to change the addr, port changed from '+65531' to '9000' by 'stats socket command'\n");
    }

    #[test]
    fn check_and_agent_ports_are_checked_first() {
        let mut e = ep();
        assert_eq!(
            update_aux(&mut e, (Aux::Check, true), Some("127.0.0.3"), Some("70000")).as_deref(),
            Some("provided port is invalid")
        );
        assert_eq!(e.check_addr, None);
        assert_eq!(
            update_aux(&mut e, (Aux::Agent, true), None, Some("x")).as_deref(),
            Some("provided port is not an integer")
        );
        assert_eq!(
            update_aux(&mut e, (Aux::Agent, true), None, Some("+9")),
            None
        );
        assert_eq!(e.agent_port, 9);
    }
}
