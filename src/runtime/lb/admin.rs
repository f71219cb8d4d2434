//! The operator's admin states of a server (management.txt `set server … state`, the
//! statistics page's actions): haproxy's two flags, forced maintenance and forced drain,
//! what a change does to the balancer, and HAProxy's messages for it.

use std::sync::atomic::Ordering::Relaxed;

use super::check::say;
use crate::ir::Balance;
use crate::runtime::lb::health::Health;
use crate::runtime::lb::state::{Admin, Shared};
use crate::runtime::log::level;

/// Counts of usable active and backup servers of backend `b`.
pub(super) fn usable_counts(b: &crate::runtime::lb::state::BackendRt) -> (usize, usize) {
    let lb = b.lb.lock().unwrap_or_else(|e| e.into_inner());
    let act = lb.slots.iter().filter(|x| !x.backup && x.usable).count();
    let bck = lb.slots.iter().filter(|x| x.backup && x.usable).count();
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

/// One change to a server's two admin flags (haproxy's `srv_set_admin_flag` and
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
    (bi, si): (usize, usize),
    f: AdminFlag,
    cause: Option<&str>,
    quiet: bool,
) -> bool {
    let s = &shared.backends[bi].servers[si];
    let (maint, drain) = match s.admin.load(Relaxed) {
        1 => (false, true),
        2 => (true, false),
        crate::runtime::lb::state::MAINT_OVER_DRAIN => (true, true),
        _ => (false, false),
    };
    let (to_maint, to_drain) = match f {
        AdminFlag::SetMaint => (true, drain),
        AdminFlag::ClrMaint => (false, drain),
        AdminFlag::SetDrain => (maint, true),
        AdminFlag::ClrDrain => (maint, false),
    };
    if (to_maint, to_drain) == (maint, drain) {
        return false;
    }
    let to = match (to_maint, to_drain) {
        (true, _) => Admin::Maint,
        (false, true) => Admin::Drain,
        (false, false) => Admin::Ready,
    };
    set_admin_why(shared, bi, si, to, cause, quiet);
    if to_maint && to_drain {
        s.admin
            .store(crate::runtime::lb::state::MAINT_OVER_DRAIN, Relaxed);
    }
    true
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
    shared.backends[bi].set_maxconn(si, v.clamp(0, i64::from(u32::MAX)) as u32);
    None
}

/// Why the operator may not change the admin state of server `si` of backend `bi`: other
/// servers track it, and haproxide does not build the maintenance and drain they would
/// inherit from it (haproxy's IMAINT and IDRAIN). The CLI's answer.
pub fn tracked_refusal(shared: &Shared, bi: usize, si: usize) -> Option<String> {
    let b = &shared.backends[bi];
    let s = &b.servers[si];
    (!s.trackers.is_empty()).then(|| {
        format!(
            "haproxide: {}/{} is tracked by other servers, which would not inherit its maintenance or drain: not supported.\n\n",
            b.ir.name, s.ir.name
        )
    })
}

/// The operator puts server `si` of backend `bi` in `to` (stats socket `set server … state`,
/// `disable`/`enable server`); the messages are HAProxy's.
pub fn set_admin(shared: &Shared, bi: usize, si: usize, to: Admin, quiet: bool) {
    set_admin_why(shared, bi, si, to, None, quiet)
}

/// [`set_admin`] with haproxy's reason for the change, shown in its message.
fn set_admin_why(
    shared: &Shared,
    bi: usize,
    si: usize,
    to: Admin,
    cause: Option<&str>,
    quiet: bool,
) {
    let b = &shared.backends[bi];
    let s = &b.servers[si];
    let from = s.admin();
    let why = cause.map(|c| format!(" ({c})")).unwrap_or_default();
    let bk = if s.ir.backup { "Backup " } else { "" };
    let who = format!("{bk}Server {}/{}", b.ir.name, s.ir.name);
    let health_up = s.running();
    let was_usable = b.lb.lock().unwrap_or_else(|e| e.into_inner()).slots[si].usable;
    s.admin.store(to as u8, Relaxed);
    // A server leaving the rotation for maintenance is an alert, unless it was already
    // stopping (drained), as haproxy's srv_update_status logs it.
    let mut severity = level::NOTICE;
    let msg = match (from, to) {
        (Admin::Maint, Admin::Maint)
        | (Admin::Ready, Admin::Ready)
        | (Admin::Drain, Admin::Drain) => return,
        (_, Admin::Maint) => {
            b.stopped(si);
            let moved = b.server_down(si);
            if was_usable || from == Admin::Drain && health_up {
                let (act, bck) = usable_counts(b);
                let n = s.sessions.load(Relaxed);
                if from != Admin::Drain {
                    severity = level::ALERT;
                }
                let queued = s.queued.load(Relaxed);
                let tail = status_tail(true, (act, bck), n, moved, queued);
                format!("{who} is going DOWN for maintenance{why}{tail}")
            } else {
                format!("{who} was DOWN and now enters maintenance.")
            }
        }
        (Admin::Maint, _) => {
            // Back from maintenance as a fresh server: UP until a check says otherwise.
            if let Some(c) = &s.ir.check {
                *s.health.lock().unwrap_or_else(|e| e.into_inner()) = Health::new(c.rise, c.fall);
            }
            // A down agent keeps it down (haproxy's srv_clr_admin_flag asks both).
            let state = if s.running() { "UP" } else { "DOWN" };
            if s.running() {
                b.start(si);
            }
            if to == Admin::Ready {
                if s.running() {
                    b.server_up(si);
                }
                format!("{who} is {state}/READY (leaving forced maintenance).")
            } else {
                let msg = format!("{who} is {state}/DRAIN (leaving forced maintenance).");
                say(shared, b, quiet, level::NOTICE, false, &msg);
                format!("{who} remains in forced drain mode.")
            }
        }
        (Admin::Ready, Admin::Drain) => {
            let moved = b.server_down(si);
            let (act, bck) = usable_counts(b);
            let queued = s.queued.load(Relaxed);
            let n = s.sessions.load(Relaxed);
            let tail = status_tail(!health_up, (act, bck), n, moved, queued);
            format!("{who} enters drain state{why}{tail}")
        }
        (Admin::Drain, Admin::Ready) => {
            if health_up {
                b.server_up(si);
            }
            format!("{who} is UP (leaving forced drain).")
        }
    };
    say(shared, b, quiet, severity, false, &msg);
    if to != Admin::Ready && was_usable && usable_counts(b) == (0, 0) {
        no_server_left(shared, b, quiet);
    }
}
