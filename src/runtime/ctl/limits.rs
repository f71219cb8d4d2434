//! The stats socket's limit commands (management.txt §9.3): `set maxconn global`,
//! `set maxconn frontend` and `set rate-limit`, with haproxy's answers.

use super::stats::Cli;
use crate::runtime::lb::state::Shared;
use std::sync::atomic::Ordering::Relaxed;

/// `set maxconn global <n>` (cli.c cli_parse_set_maxconn_global: at most the starting
/// value, which 0 or less restores) and `set maxconn frontend <name> <n>` (proxy.c
/// cli_parse_set_maxconn_frontend): haproxy's answer, empty when done.
pub(super) fn set_maxconn(cli: &Cli, shared: &Shared, what: &str, args: &[&str]) -> String {
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    // atoi: leading digits, 0 without any.
    let int = |s: &str| {
        crate::numbers::strtol(s)
            .0
            .clamp(i32::MIN as i64, i32::MAX as i64)
    };
    if what == "global" {
        if arg(0).is_empty() {
            return "Expects an integer value.\n".into();
        }
        let v = int(arg(0));
        if v > i64::from(cli.maxconn) {
            return "Value out of range.\n".into();
        }
        cli.global_slots
            .set(if v <= 0 { cli.maxconn } else { v as u32 });
        shared.limits_changed.send_modify(|n| *n += 1);
        return String::new();
    }
    if arg(0).is_empty() {
        return "A frontend name is expected.\n".into();
    }
    let f = shared.frontends.iter().find(|f| f.ir.name == arg(0));
    // A disabled frontend takes the value, which nothing reads.
    if f.is_none() && !shared.disabled_frontends.iter().any(|d| d == arg(0)) {
        return "No such frontend.\n".into();
    }
    if arg(1).is_empty() {
        return "Integer value expected.\n".into();
    }
    let v = int(arg(1));
    if v < 0 {
        return "Value out of range.\n".into();
    }
    let Some(f) = f else {
        return String::new();
    };
    if let Some(l) = &f.slots {
        l.set(v as u32);
        shared.limits_changed.send_modify(|n| *n += 1);
    }
    String::new()
}

/// `set rate-limit connections|sessions|ssl-sessions global <n>` (cli.c
/// cli_parse_set_ratelimit): haproxy's answer, empty when done. The accepts waiting on
/// a limit look again at their next check (at most the wait the old limit set).
pub(super) fn set_rate_limit(shared: &Shared, args: &[&str]) -> String {
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    let r = &shared.rates;
    let rate = match (arg(0), arg(1)) {
        ("connections", "global") => &r.connections,
        ("sessions", "global") => &r.sessions,
        ("ssl-sessions", "global") => &r.ssl,
        ("http-compression", "global") => {
            return "'set rate-limit http-compression' is not supported by haproxide (compression is not rate-limited here).\n".into()
        }
        _ => {
            return "'set rate-limit' only supports :\n   - 'connections global' to set the per-process maximum connection rate\n   - 'sessions global' to set the per-process maximum session rate\n   - 'ssl-sessions global' to set the per-process maximum SSL session rate\n   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n".into()
        }
    };
    if arg(2).is_empty() {
        return "Expects an integer value.\n".into();
    }
    // atoi: leading digits, 0 without any.
    let v = crate::numbers::strtol(arg(2)).0 as i32;
    if v < 0 {
        return "Value out of range.\n".into();
    }
    rate.limit.store(v as u32, Relaxed);
    String::new()
}
