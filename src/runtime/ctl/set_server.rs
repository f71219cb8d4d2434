//! The stats socket's server commands (management.txt §9.3): `get weight`, `set weight`,
//! `set server <b>/<s> addr|agent|agent-addr|agent-port|agent-send|check-addr|
//! check-port|fqdn|health|ssl|state|weight`, `set maxconn server`, `enable|disable
//! server|health|agent`, with haproxy's answers (server.c cli_parse_set_server and its
//! neighbours).

use super::stats::Level;
use crate::runtime::lb::admin;
use crate::runtime::lb::endpoint::{self, Aux};
use crate::runtime::lb::state::{Admin, Shared};
use std::sync::atomic::Ordering::Relaxed;

/// Whether `words` is one of this module's commands.
pub(super) fn handles(words: &[&str]) -> bool {
    matches!(
        words,
        ["get", "weight", ..]
            | ["set", "weight", ..]
            | ["set", "server", ..]
            | ["set", "maxconn", "server", ..]
            | ["enable" | "disable", "server" | "health" | "agent", ..]
    )
}

/// haproxy's `set server` usage line.
const USAGE: &str = "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n\n";

/// Runs one of this module's commands: its answer, ending with the CLI's blank line.
pub(super) fn command(shared: &Shared, words: &[&str], level: Level, quiet: bool) -> String {
    let arg = |i: usize| words.get(i).copied().unwrap_or("");
    match words {
        ["get", "weight", ..] => match find(shared, arg(2)) {
            Err(e) => e,
            Ok((bi, si)) => {
                let b = &shared.backends[bi];
                let w = b.lb.lock().unwrap_or_else(|e| e.into_inner()).slots[si].weight;
                format!("{w} (initial {})\n\n", b.servers[si].ir.weight)
            }
        },
        ["set", "weight", rest @ ..] => on_server(shared, level, rest, |bi, si| {
            admin::change_weight(shared, bi, si, arg(3)).map(str::to_string)
        }),
        ["set", "server", rest @ ..] => on_server(shared, level, rest, |bi, si| {
            set_server(shared, (bi, si), &words[3.min(words.len())..], quiet)
        }),
        ["set", "maxconn", "server", rest @ ..] => on_server(shared, level, rest, |bi, si| {
            admin::change_maxconn(shared, bi, si, arg(4)).map(str::to_string)
        }),
        [verb @ ("disable" | "enable"), what @ ("health" | "agent"), rest @ ..] => {
            on_server(shared, level, rest, |bi, si| {
                let s = &shared.backends[bi].servers[si];
                let (configured, flag, refusal) = if *what == "health" {
                    (
                        s.ir.check.is_some(),
                        &s.check_enabled,
                        "Health check was not configured on this server, cannot enable.\n",
                    )
                } else {
                    (
                        s.ir.agent.is_some(),
                        &s.agent_enabled,
                        "Agent was not configured on this server, cannot enable.\n",
                    )
                };
                let on = *verb == "enable";
                if on && !configured {
                    return Some(refusal.to_string());
                }
                flag.store(on, Relaxed);
                None
            })
        }
        [verb, _, rest @ ..] => on_server(shared, level, rest, |bi, si| {
            // srv_adm_set_maint and srv_adm_set_ready: each clears the other flag.
            let to = if *verb == "disable" {
                Admin::Maint
            } else {
                Admin::Ready
            };
            admin::set_admin(shared, bi, si, to, quiet);
            None
        }),
        _ => on_server(shared, level, &[], |_, _| None),
    }
}

/// `set server <b>/<s> <what> …` once the server is found: the refusal or message to
/// print (with its own newline where haproxy gives one), or nothing.
fn set_server(
    shared: &Shared,
    (bi, si): (usize, usize),
    args: &[&str],
    quiet: bool,
) -> Option<String> {
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    let s = &shared.backends[bi].servers[si];
    // `<what> <addr> [port <port>]`: the port only after the word `port`.
    let port = (arg(2) == "port").then(|| arg(3));
    let ep = || s.endpoint.write().unwrap_or_else(|e| e.into_inner());
    match arg(0) {
        "weight" => admin::change_weight(shared, bi, si, arg(1)).map(str::to_string),
        "state" => {
            let to = match arg(1) {
                "ready" => Admin::Ready,
                "drain" => Admin::Drain,
                "maint" => Admin::Maint,
                _ => {
                    return Some(
                        "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n".into(),
                    )
                }
            };
            admin::set_admin(shared, bi, si, to, quiet);
            None
        }
        what @ ("health" | "agent") => {
            admin::set_health(shared, (bi, si), what == "agent", arg(1), quiet).map(str::to_string)
        }
        "addr" if arg(1).is_empty() => {
            Some("set server <b>/<s> addr requires an address and optionally a port.\n".into())
        }
        "addr" => {
            let checked_port = s.ir.check.as_ref().is_some_and(|c| c.port.is_some());
            let (msg, changed) = endpoint::update_addr_port(&mut ep(), checked_port, arg(1), port);
            if changed {
                s.idle.clear();
            }
            Some(msg)
        }
        what @ ("check-addr" | "check-port" | "agent-addr" | "agent-port") => {
            let (kind, part) = what.split_at(6);
            let aux = match kind {
                "check-" => (Aux::Check, s.ir.check.is_some()),
                _ => (Aux::Agent, s.ir.agent.is_some()),
            };
            // `<what> <addr> [port <port>]`, or `<what> <port>`.
            let (addr, port, wants) = match part {
                "addr" => (Some(arg(1)), port, "an address and optionally a port"),
                _ => (None, Some(arg(1)), "a port"),
            };
            if arg(1).is_empty() {
                return Some(format!("set server <b>/<s> {what} requires {wants}.\n"));
            }
            endpoint::update_aux(&mut ep(), aux, addr, port)
        }
        "agent-send" if s.ir.agent.is_none() => {
            Some("agent checks are not enabled on this server.\n".into())
        }
        "agent-send" => {
            ep().agent_send = Some(arg(1).as_bytes().into());
            None
        }
        "fqdn" if arg(1).is_empty() => Some("set server <b>/<s> fqdn requires a FQDN.\n".into()),
        "fqdn" if !s.ir.resolvers => {
            Some("set server <b>/<s> fqdn failed because no resolution is configured.\n".into())
        }
        "fqdn" => {
            Some("set server <b>/<s> fqdn is not supported by haproxide (no runtime DNS).\n".into())
        }
        "ssl" if s.tls.is_none() => Some(
            "'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n"
                .into(),
        ),
        "ssl" => Some("'set server <srv> ssl' is not supported by haproxide.\n".into()),
        _ => Some(USAGE[..USAGE.len() - 1].to_string()),
    }
}

/// An admin command on the server `args[0]` names: haproxy's answers when the level or
/// the name is wrong, else `act`'s refusal (ending with its newline) or nothing, then
/// the CLI's blank line.
pub(super) fn on_server(
    shared: &Shared,
    level: Level,
    args: &[&str],
    act: impl FnOnce(usize, usize) -> Option<String>,
) -> String {
    if level < Level::Admin {
        return "Permission denied\n\n".into();
    }
    match find(shared, args.first().copied().unwrap_or("")) {
        Err(e) => e,
        // cli_find_server: a disabled backend's servers cannot be changed.
        Ok((bi, _)) if shared.backends[bi].ir.disabled => "Proxy is disabled.\n\n".into(),
        Ok((bi, si)) => act(bi, si).unwrap_or_default() + "\n",
    }
}

/// `backend/server` to indexes, with HAProxy's answers when either is missing.
fn find(shared: &Shared, target: &str) -> Result<(usize, usize), String> {
    let Some((bname, sname)) = target.split_once('/') else {
        return Err("Require 'backend/server'.\n\n".into());
    };
    let Some(bi) = shared.backends.iter().position(|b| b.ir.name == bname) else {
        return Err("No such backend.\n\n".into());
    };
    let Some(si) = shared.backends[bi]
        .servers
        .iter()
        .position(|s| s.ir.name == sname)
    else {
        return Err("No such server.\n\n".into());
    };
    Ok((bi, si))
}
