//! Saved server state (management.txt `show servers state`; configuration.txt
//! `load-server-state-from-file`): the dump in haproxy 2.6's version 1 format, and at
//! start the state a previous process saved, applied as srv_state_srv_update applies it.

use std::sync::atomic::Ordering::Relaxed;

use crate::ir::Config;
use crate::runtime::lb::admin::{admin_flag, AdminFlag};
use crate::runtime::lb::state::{Admin, BackendRt, ServerRt, Shared};
use crate::runtime::lb::state::{FDRAIN, FMAINT, IDRAIN, IMAINT};

/// The column names line of version 1.
const FIELDS: &str = "be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port";

/// haproxy's SRV_ADMF_* bits for a server's admin flags (CMAINT: `disabled`).
fn admin_bits(s: &ServerRt) -> u8 {
    let f = s.admin.load(Relaxed);
    let bit = |flag: u8, v: u8| if f & flag != 0 { v } else { 0 };
    bit(FMAINT, 0x01)
        | bit(IMAINT, 0x02)
        | bit(FDRAIN, 0x08)
        | bit(IDRAIN, 0x10)
        | if s.ir.disabled { 0x04 } else { 0 }
}

/// haproxy's HCHK_STATUS_* number for a short check status.
fn status_number(short: &str) -> u8 {
    const NAMES: [&str; 21] = [
        "UNK", "INI", "START", "CHECKED", "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK",
        "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L57DATA", "L7OK", "L7OKC", "L7STS", "PROCERR",
        "PROCTOUT", "PROCOK",
    ];
    NAMES.iter().position(|n| *n == short).unwrap_or(0) as u8
}

/// One server's line.
fn line(b: &BackendRt, si: usize, s: &ServerRt) -> String {
    let (op, uweight) = {
        let lb = b.lb.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &lb.slots[si];
        let op = if s.admin() == Admin::Maint || !s.running() {
            0
        } else if slot.throttle().is_some() {
            1
        } else {
            2
        };
        (op, slot.weight)
    };
    let mut h = *s.health.lock().unwrap_or_else(|e| e.into_inner());
    // A tracking server's own health is never moved by the tracked one's state (its
    // counter here carries that state): haproxy shows its start value, 0 in maintenance.
    if s.ir.track.is_some() {
        h.h = if s.admin() == Admin::Maint { 0 } else { h.rise };
    }
    let (status, result) = match &*s.last_check.lock().unwrap_or_else(|e| e.into_inner()) {
        Some(o) => {
            let n = status_number(o.status());
            (
                n,
                if !o.ok {
                    2
                } else if n == 16 {
                    4
                } else {
                    3
                },
            )
        }
        None => (1, 0),
    };
    // CONFIGURED|ENABLED, PAUSED in maintenance; an agent adds its AGENT bit.
    // Without a check, a server started `disabled` keeps the paused bit it started
    // with: only an enabled check clears it.
    let enabled = |on: bool| if on { 4 } else { 0 };
    let check_state = match &s.ir.check {
        Some(_) if s.admin() == Admin::Maint => 10 | enabled(s.checking()),
        Some(_) => 2 | enabled(s.checking()),
        None if s.ir.disabled => 8,
        None => 0,
    };
    let agent_state = match &s.ir.agent {
        Some(_) => 0x12 | enabled(s.asking()),
        None => 0,
    };
    let since = s
        .lastchg
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .elapsed()
        .as_secs();
    let dash = |a: Option<std::net::IpAddr>| a.map_or("-".to_string(), |a| a.to_string());
    // As the stats socket may have changed them. `port` and `addr` serve the agent too
    // unless agent-port/agent-addr say otherwise.
    let ep = s.endpoint();
    let (check_port, check_addr) = match &s.ir.check {
        Some(_) => (ep.check_port.unwrap_or(0), ep.check_addr),
        None => (0, None),
    };
    let (agent_port, agent_addr) = match &s.ir.agent {
        Some(_) => (ep.agent_port, ep.agent_addr),
        None => (check_port, check_addr),
    };
    let ssl = s.ir.tls.as_ref().is_some_and(|t| t.traffic);
    format!(
        "{} {} {} {} {} {op} {} {uweight} {} {since} {status} {result} {} {check_state} {agent_state} {} {} {} {} - {} {check_port} {} {} {agent_port}\n",
        b.ir.uuid,
        b.ir.name,
        s.ir.id,
        s.ir.name,
        dash(ep.addr),
        admin_bits(s),
        s.ir.weight,
        h.h,
        u8::from(b.ir.uuid_forced),
        u8::from(s.ir.id_forced),
        s.ir.hostname.as_deref().unwrap_or("-"),
        // svc_port printed unsigned: an offset of -10 shows as 4294967286.
        ep.port as u32,
        u8::from(ssl),
        dash(check_addr),
        dash(agent_addr),
    )
}

/// `show servers state [<backend>]`: the version line, the field names, a line per
/// server; a backend is named or given as `#<id>`.
pub fn show(shared: &Shared, backend: Option<&str>) -> String {
    let only = match backend {
        None => None,
        Some(name) => {
            let found = shared
                .backends
                .iter()
                .position(|b| match name.strip_prefix('#') {
                    Some(id) => id.parse::<u32>().ok() == Some(b.ir.uuid),
                    None => b.ir.name == name,
                });
            match found {
                Some(i) => Some(i),
                None => return "Can't find backend.\n\n".into(),
            }
        }
    };
    let mut out = format!("1\n# {FIELDS}\n");
    for (bi, b) in shared.backends.iter().enumerate() {
        if only.is_some_and(|o| o != bi) {
            continue;
        }
        for (si, s) in b.servers.iter().enumerate() {
            out.push_str(&line(b, si, s));
        }
    }
    out + "\n"
}

/// Applies the saved state of every server that has one, in configuration order, as
/// haproxy does at start: operational state, then maintenance and drain, weight and
/// last change. Returns haproxy's messages for it (maintenance entered at start is
/// silent, as in haproxy), each with whether it is an alert.
pub fn apply(shared: &Shared) -> Vec<(bool, String)> {
    *shared.startup.lock().unwrap_or_else(|e| e.into_inner()) = Some(Vec::new());
    for (bi, b) in shared.backends.iter().enumerate() {
        for n in &b.ir.state_notes.0 {
            shared.collect(false, n);
        }
        for (si, s) in b.servers.iter().enumerate() {
            if let Some(st) = s.ir.saved.clone() {
                apply_one(shared, (bi, si), &st);
            }
        }
        for n in &b.ir.state_notes.1 {
            shared.collect(false, n);
        }
    }
    shared
        .startup
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default()
}

fn apply_one(shared: &Shared, at: (usize, usize), st: &crate::ir::SavedState) {
    if let Some(why) = &st.failed {
        shared.collect(false, why);
        return;
    }
    let b = &shared.backends[at.0];
    let s = &b.servers[at.1];
    let (rise, fall) = {
        let h = s.health.lock().unwrap_or_else(|e| e.into_inner());
        (h.rise, h.fall)
    };
    let stop = st.op == 0 || (st.op == 3 && fall == 1);
    if stop {
        // A server in maintenance is not stopped (srv_set_stopped returns).
        if s.admin() != Admin::Maint && s.running() {
            {
                let mut h = s.health.lock().unwrap_or_else(|e| e.into_inner());
                h.h = 0;
                h.last_ok = Some(false);
            }
            let why = ", changed from server-state after a reload";
            super::check::change(shared, at.0, at.1, false, why, false);
        }
    } else {
        // Starting and stopping (NOLB) are kept running here: haproxide has neither a
        // starting health below rise nor the NOLB state.
        let h = match st.op {
            2 => rise + fall - 1,
            1 if rise == 1 => rise + fall - 1,
            1 => rise,
            _ => (st.check_health.clamp(0, i64::from(u32::MAX)) as u32)
                .clamp(rise, (rise + fall).saturating_sub(2).max(rise)),
        };
        s.health.lock().unwrap_or_else(|e| e.into_inner()).h = h;
    }
    let quiet = shared.quiet.load(Relaxed);
    let (file_c, file_f, file_d) = (st.admin & 4 != 0, st.admin & 1 != 0, st.admin & 8 != 0);
    // A configuration change of `disabled` wins; otherwise the operator's maintenance.
    if file_c == s.ir.disabled {
        if file_f && !s.ir.disabled {
            admin_flag(shared, at, AdminFlag::SetMaint, None, quiet);
        } else if !file_f && s.ir.disabled {
            admin_flag(shared, at, AdminFlag::ClrDrain, None, quiet);
            admin_flag(shared, at, AdminFlag::ClrMaint, None, quiet);
        }
    }
    // A drain that came from a configured weight of 0 ends when the weight is back.
    if s.admin.load(Relaxed) & FMAINT == 0 && file_d && (st.iweight > 0 || s.ir.weight == 0) {
        admin_flag(shared, at, AdminFlag::SetDrain, None, quiet);
    }
    if st.iweight == s.ir.weight {
        b.set_weight(at.1, st.uweight);
    }
    // Only a check or agent disabled from the CLI is taken over (configured then and now).
    if s.ir.check.is_some() && st.check_state & 2 != 0 && st.check_state & 4 == 0 {
        s.check_enabled.store(false, Relaxed);
    }
    if s.ir.agent.is_some() && st.agent_state & 2 != 0 && st.agent_state & 4 == 0 {
        s.agent_enabled.store(false, Relaxed);
    }
    let mut last = s.lastchg.lock().unwrap_or_else(|e| e.into_inner());
    let now = std::time::Instant::now();
    *last = now
        .checked_sub(std::time::Duration::from_secs(st.since))
        .unwrap_or(now);
    drop(last);
    if let Some(why) = &st.partial {
        shared.collect(false, why);
    }
}

/// The messages applying `cfg`'s saved states at start gives, for `-c` and the start-up
/// report (printed before the process detaches, as haproxy's are).
pub fn preview(cfg: &Config) -> Vec<(bool, String)> {
    let any = cfg.backends.iter().any(|b| {
        b.servers.iter().any(|s| s.saved.is_some())
            || !b.state_notes.0.is_empty()
            || !b.state_notes.1.is_empty()
    });
    if !any {
        return Vec::new();
    }
    let logger = crate::runtime::log::Logger::new("", None, false);
    apply(&Shared::new(cfg, logger))
}
