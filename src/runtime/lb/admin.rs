//! The operator's admin states of a server (management.txt `set server … state`, the
//! statistics page's actions): haproxy's two flags, forced maintenance and forced drain,
//! what a change does to the balancer, and HAProxy's messages for it.

use std::sync::atomic::Ordering::Relaxed;

use super::check::say;
use crate::ir::Balance;
use crate::runtime::lb::health::Health;
use crate::runtime::lb::state::{Admin, Shared, DRAIN, FDRAIN, FMAINT, IDRAIN, IMAINT, MAINT};
use crate::runtime::log::level;

/// Counts of usable active and backup servers of backend `b` (haproxy's srv_act and
/// srv_bck: a server of weight 0 takes no load-balanced traffic and does not count).
pub(super) fn usable_counts(b: &crate::runtime::lb::state::BackendRt) -> (usize, usize) {
    let lb = b.lb.lock().unwrap_or_else(|e| e.into_inner());
    let counted = |x: &&crate::runtime::lb::balance::Slot| x.usable && x.weight > 0;
    let act = lb
        .slots
        .iter()
        .filter(counted)
        .filter(|x| !x.backup)
        .count();
    let bck = lb.slots.iter().filter(counted).filter(|x| x.backup).count();
    (act, bck)
}

/// The end of haproxy's state-change messages (`srv_append_status`): what is left of the
/// backend (a stopped server) or online, the backup note, sessions and queue.
pub(super) fn status_tail(
    stopped: bool,
    (act, bck): (usize, usize),
    sessions: u32,
    moved: u32,
    queued: u32,
) -> String {
    let note = if bck > 0 && act == 0 {
        " Running on backup."
    } else {
        ""
    };
    if stopped {
        format!(". {act} active and {bck} backup servers left.{note} {sessions} sessions active, {moved} requeued, {queued} remaining in queue.")
    } else {
        format!(". {act} active and {bck} backup servers online.{note} {moved} sessions requeued, {queued} total in queue.")
    }
}

pub(super) fn no_server_left(
    shared: &Shared,
    b: &crate::runtime::lb::state::BackendRt,
    quiet: bool,
) {
    let word = if b.ir.is_listen { "proxy" } else { "backend" };
    // Said of nothing at start (haproxy's MODE_STARTING).
    if shared.collecting() {
        return;
    }
    shared.logger.send(
        &b.ir.log,
        level::EMERG,
        &format!("{word} {} has no server available!", b.ir.name),
    );
    if !quiet {
        eprintln!(
            "[ALERT]    ({}) : {word} '{}' has no server available!",
            std::process::id(),
            b.ir.name
        );
    }
}

/// One change to a server's forced admin flags (haproxy's `srv_set_admin_flag` and
/// `srv_clr_admin_flag` on FMAINT and FDRAIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminFlag {
    /// Set maintenance, keeping a forced drain beneath it.
    SetMaint,
    /// Clear maintenance (a kept drain then applies).
    ClrMaint,
    /// Set forced drain (beneath maintenance when in it).
    SetDrain,
    /// Clear forced drain.
    ClrDrain,
}

/// Applies `f` to server `si` of backend `bi`; true when a flag changed. `cause` is
/// haproxy's reason in parentheses (`'disable' on stats page`).
pub fn admin_flag(
    shared: &Shared,
    at: (usize, usize),
    f: AdminFlag,
    cause: Option<&str>,
    quiet: bool,
) -> bool {
    match f {
        AdminFlag::SetMaint => set_flag(shared, at, FMAINT, cause, quiet),
        AdminFlag::ClrMaint => clr_flag(shared, at, FMAINT, quiet),
        AdminFlag::SetDrain => set_flag(shared, at, FDRAIN, cause, quiet),
        AdminFlag::ClrDrain => clr_flag(shared, at, FDRAIN, quiet),
    }
}

/// A weight change (`set weight`, an agent's `N%`), parsed as haproxy's
/// server_parse_weight_change_request: a relative weight is capped before scaling, so no
/// value overflows. `Some` is haproxy's refusal, word for word.
pub fn change_weight(shared: &Shared, bi: usize, si: usize, w: &str) -> Option<&'static str> {
    let b = &shared.backends[bi];
    let initial = i64::from(b.servers[si].ir.weight);
    let (mut v, rest) = crate::numbers::strtol(w);
    if rest.len() == w.len() {
        return Some("Empty weight string empty or preceded by garbage");
    }
    if rest == "%" {
        if v < 0 {
            return Some("Relative weight must be positive.\n");
        }
        v = (initial * v.min(25600) / 100).min(256);
    } else if !(0..=256).contains(&v) {
        return Some("Absolute weight can only be between 0 and 256 inclusive.\n");
    } else if !rest.is_empty() {
        return Some("Trailing garbage in weight string");
    }
    // Algorithms whose server map is built once (static-rr, map-based hashing) only take
    // a server out or back at its initial weight.
    let dynamic = match &b.ir.balance {
        Balance::StaticRr => false,
        Balance::Source | Balance::Hash(_) | Balance::Http(_) => b.ir.hash_type.consistent,
        _ => true,
    };
    if v != 0 && v != initial && !dynamic {
        return Some(
            "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n",
        );
    }
    b.set_weight(si, v as u32);
    None
}

/// A maxconn change (an agent's `maxconn:N`), parsed as haproxy's
/// server_parse_maxconn_change_request; `Some` is its refusal.
pub fn change_maxconn(shared: &Shared, bi: usize, si: usize, m: &str) -> Option<&'static str> {
    if m.is_empty() {
        return Some("Require <maxconn>.\n");
    }
    let (v, rest) = crate::numbers::strtol(m);
    if rest.len() == m.len() {
        return Some("maxconn string empty or preceded by garbage");
    }
    if !rest.is_empty() {
        return Some("Trailing garbage in maxconn string");
    }
    // haproxy keeps it in an int and shows it unsigned: -4 is 4294967292, no limit.
    shared.backends[bi].set_maxconn(si, v as i32 as u32);
    None
}

/// The operator puts server `si` of backend `bi` in `to` (stats socket `set server … state`,
/// `disable`/`enable server`), in haproxy's two steps (srv_adm_set_maint, _drain, _ready).
pub fn set_admin(shared: &Shared, bi: usize, si: usize, to: Admin, quiet: bool) {
    let at = (bi, si);
    match to {
        Admin::Maint => {
            set_flag(shared, at, FMAINT, None, quiet);
            clr_flag(shared, at, FDRAIN, quiet);
        }
        Admin::Drain => {
            set_flag(shared, at, FDRAIN, None, quiet);
            clr_flag(shared, at, FMAINT, quiet);
        }
        Admin::Ready => {
            clr_flag(shared, at, FDRAIN, quiet);
            clr_flag(shared, at, FMAINT, quiet);
        }
    }
}

/// Sets admin flag `mode` on a server, then the matching inherited flag on the servers
/// tracking it, unless the server had the equivalent flag already (`srv_set_admin_flag`).
fn set_flag(
    shared: &Shared,
    at: (usize, usize),
    mode: u8,
    cause: Option<&str>,
    quiet: bool,
) -> bool {
    let s = &shared.backends[at.0].servers[at.1];
    let cur = s.admin.load(Relaxed);
    if cur & mode != 0 {
        return false;
    }
    let next = cur | mode;
    update(shared, at, cur, next, cause, quiet);
    let kind = if mode & MAINT != 0 { MAINT } else { DRAIN };
    if next & !mode & kind == 0 {
        let inherited = if kind == MAINT { IMAINT } else { IDRAIN };
        for &t in &s.trackers {
            set_flag(shared, t, inherited, cause, quiet);
        }
    }
    true
}

/// Clears admin flag `mode`, then the inherited one on the trackers unless the server
/// keeps the equivalent flag (`srv_clr_admin_flag`).
fn clr_flag(shared: &Shared, at: (usize, usize), mode: u8, quiet: bool) -> bool {
    let s = &shared.backends[at.0].servers[at.1];
    let cur = s.admin.load(Relaxed);
    if cur & mode == 0 {
        return false;
    }
    let next = cur & !mode;
    update(shared, at, cur, next, None, quiet);
    let kind = if mode & MAINT != 0 { MAINT } else { DRAIN };
    if next & kind == 0 {
        let inherited = if kind == MAINT { IMAINT } else { IDRAIN };
        for &t in &s.trackers {
            clr_flag(shared, t, inherited, quiet);
        }
    }
    true
}

/// Applies a change of admin flags from `cur` to `next` with haproxy's messages (the
/// admin part of `srv_update_status`): entering, leaving or staying in maintenance, then
/// entering, leaving or staying in drain.
fn update(
    shared: &Shared,
    (bi, si): (usize, usize),
    cur: u8,
    next: u8,
    cause: Option<&str>,
    quiet: bool,
) {
    let b = &shared.backends[bi];
    let s = &b.servers[si];
    let why = cause.map(|c| format!(" ({c})")).unwrap_or_default();
    let bk = if s.ir.backup { "Backup " } else { "" };
    let who = format!("{bk}Server {}/{}", b.ir.name, s.ir.name);
    // haproxy names the tracked server when the flag is not the server's own.
    let via = |forced: bool| match s.ir.track {
        Some((tb, ts)) if !forced => {
            let t = &shared.backends[tb];
            format!(" via {}/{}", t.ir.name, t.servers[ts].ir.name)
        }
        _ => String::new(),
    };
    let prev = usable_counts(b);
    // At start (a saved state applied), haproxy says nothing of maintenance entered and
    // words a drain entered as one kept.
    let starting = shared.collecting();
    let mut msgs: Vec<(u8, String)> = Vec::new();
    s.admin.store(next, Relaxed);
    if cur & MAINT == 0 && next & MAINT != 0 {
        b.stopped(si);
        let forced = next & FMAINT != 0;
        let was_running = s.running();
        // haproxy's health drops to 0 (a tracking server's follows its tracked one).
        if was_running && s.ir.track.is_none() {
            s.health.lock().unwrap_or_else(|e| e.into_inner()).h = 0;
        }
        if starting {
            if was_running {
                b.server_down(si);
            }
        } else if !was_running {
            msgs.push((
                level::NOTICE,
                format!(
                    "{who} was DOWN and now enters maintenance{why}{}.",
                    via(forced)
                ),
            ));
        } else {
            let moved = b.server_down(si);
            if s.ir.shutdown_on_down {
                s.cancels.cancel_all(crate::runtime::cancel::Reason::Down);
            }
            let tail = status_tail(
                true,
                usable_counts(b),
                s.sessions.load(Relaxed),
                moved,
                s.queued.load(Relaxed),
            );
            // A server already drained was stopping: no alarm.
            let sev = if cur & DRAIN != 0 {
                level::NOTICE
            } else {
                level::ALERT
            };
            msgs.push((
                sev,
                format!(
                    "{who} is going DOWN for maintenance{why}{}{tail}",
                    via(forced)
                ),
            ));
        }
    } else if cur & MAINT != 0 && next & MAINT == 0 {
        // Back as a fresh server: UP until a check says otherwise; without a check
        // (nor a tracked server) it simply runs again.
        if let Some(c) = &s.ir.check {
            *s.health.lock().unwrap_or_else(|e| e.into_inner()) = Health::new(c.rise, c.fall);
        } else if s.ir.track.is_none() {
            s.health.lock().unwrap_or_else(|e| e.into_inner()).last_ok = None;
        }
        let up = s.running();
        let state = if up { "UP" } else { "DOWN" };
        let mode = if next & DRAIN != 0 { "DRAIN" } else { "READY" };
        if cur & FMAINT != 0 && next & FMAINT == 0 {
            msgs.push((
                level::NOTICE,
                format!("{who} is {state}/{mode} (leaving forced maintenance)."),
            ));
        }
        if cur & IMAINT != 0 && next & IMAINT == 0 {
            msgs.push((
                level::NOTICE,
                format!("{who} is {state}/{mode} (leaving maintenance)."),
            ));
        }
        if up {
            b.start(si);
            if next & DRAIN == 0 {
                b.server_up(si);
            }
        }
    } else if next & MAINT != 0 {
        if cur & FMAINT != 0 && next & FMAINT == 0 {
            msgs.push((
                level::NOTICE,
                format!(
                    "{who} is leaving forced maintenance but remains in maintenance{}.",
                    via(false)
                ),
            ));
        } else if cur & IMAINT != 0 && next & IMAINT == 0 {
            msgs.push((
                level::NOTICE,
                format!("{who} remains in forced maintenance."),
            ));
        }
    }
    if next & MAINT == 0 {
        if cur & DRAIN == 0 && next & DRAIN != 0 && starting {
            b.server_down(si);
            msgs.push((
                level::NOTICE,
                format!("{who} remains in forced drain mode."),
            ));
        } else if cur & DRAIN == 0 && next & DRAIN != 0 {
            let moved = b.server_down(si);
            let tail = status_tail(
                !s.running(),
                usable_counts(b),
                s.sessions.load(Relaxed),
                moved,
                s.queued.load(Relaxed),
            );
            msgs.push((
                level::NOTICE,
                format!(
                    "{who} enters drain state{why}{}{tail}",
                    via(next & FDRAIN != 0)
                ),
            ));
        } else if cur & DRAIN != 0 && next & DRAIN == 0 {
            let up = s.running();
            msgs.push((
                level::NOTICE,
                format!(
                    "{who} is {} (leaving forced drain).",
                    if up { "UP" } else { "DOWN" }
                ),
            ));
            if up {
                b.server_up(si);
            }
        } else if next & DRAIN != 0 {
            let m = if next & FDRAIN == 0 {
                format!(
                    "{who} is leaving forced drain but remains in drain mode{}.",
                    via(false)
                )
            } else {
                format!("{who} remains in forced drain mode.")
            };
            msgs.push((level::NOTICE, m));
        }
    }
    for (sev, m) in msgs {
        say(shared, b, quiet, sev, false, &m);
    }
    // The last server leaving for maintenance or drain takes the backend DOWN
    // (set_backend_down); the first one back takes it UP, its time DOWN not counted.
    let now = usable_counts(b);
    b.usable_changed(prev, now, false);
    if prev != (0, 0) && now == (0, 0) && next & (MAINT | DRAIN) != 0 {
        no_server_left(shared, b, quiet);
    }
}

/// `set server <b>/<s> health up|stopping|down` and `… agent up|down` (management.txt):
/// the check's (or agent's) health set to its top or to 0, then the server set running
/// or stopped "changed from CLI" unless it is in maintenance or already so. `Some` is
/// haproxy's refusal.
pub fn set_health(
    shared: &Shared,
    (bi, si): (usize, usize),
    agent: bool,
    how: &str,
    quiet: bool,
) -> Option<&'static str> {
    let s = &shared.backends[bi].servers[si];
    let up = match (agent, how) {
        (false, _) if s.ir.track.is_some() => {
            return Some("cannot change health on a tracking server.\n")
        }
        (true, _) if s.ir.agent.is_none() => {
            return Some("agent checks are not enabled on this server.\n")
        }
        (_, "up") => true,
        (_, "down") => false,
        // haproxide has no NOLB state to put the server in.
        (false, "stopping") => return Some(
            "'set server <srv> health stopping' is not supported by haproxide (no NOLB state).\n",
        ),
        (false, _) => {
            return Some("'set server <srv> health' expects 'up', 'stopping', or 'down'.\n")
        }
        (true, _) => return Some("'set server <srv> agent' expects 'up' or 'down'.\n"),
    };
    let was = s.running();
    let unchecked = s.ir.check.is_none() && s.ir.track.is_none();
    let in_maint = s.admin() == Admin::Maint;
    if agent {
        let mut a = s.agent.lock().unwrap_or_else(|e| e.into_inner());
        a.health.h = if up {
            a.health.rise + a.health.fall - 1
        } else {
            0
        };
    } else {
        let mut h = s.health.lock().unwrap_or_else(|e| e.into_inner());
        h.h = if up { h.rise + h.fall - 1 } else { 0 };
        // Without a check only this says whether it runs (not while in maintenance:
        // haproxy's srv_set_stopped leaves such a server alone).
        if unchecked && !in_maint {
            h.last_ok = (!up).then_some(false);
        }
    }
    if !in_maint && was != s.running() {
        super::check::change(shared, bi, si, up, ", changed from CLI", quiet);
    }
    None
}
