//! A server's `status` in `show stat`, as haproxy's stats_fill_sv_stats_computestate
//! gives it: the admin state first, then the server's own state told with the health of
//! the checked server at the end of its `track` chain, transitions included ("UP 1/3"
//! while failures count down, "DOWN 1/2" while successes count up).

use std::sync::atomic::Ordering::Relaxed;

use crate::runtime::lb::state::{ServerRt, Shared, DRAIN, IMAINT, MAINT};

/// The server at the end of `s`'s track chain (`s` itself when it tracks none).
pub fn checked<'a>(shared: &'a Shared, s: &'a ServerRt) -> &'a ServerRt {
    let mut r = s;
    while let Some((tb, ts)) = r.ir.track {
        r = &shared.backends[tb].servers[ts];
    }
    r
}

/// The `status` column of server `s`.
pub fn status(shared: &Shared, s: &ServerRt) -> String {
    let flags = s.admin.load(Relaxed);
    if flags & IMAINT != 0 {
        if let Some((tb, ts)) = s.ir.track {
            let t = &shared.backends[tb];
            return format!("MAINT (via {}/{})", t.ir.name, t.servers[ts].ir.name);
        }
    }
    if flags & MAINT != 0 {
        return "MAINT".into();
    }
    let lock = |m: &std::sync::Mutex<_>| *m.lock().unwrap_or_else(|e| e.into_inner());
    let running = s.running();
    let r = checked(shared, s);
    let rh = lock(&r.health);
    // Only enabled checks count (`disable health|agent`).
    let r_check = r.checking();
    let r_agent = r.asking().then(|| r.agent.lock().map_or(0, |a| a.health.h));
    if running {
        let going_down = r_check && rh.h < rh.rise + rh.fall - 1;
        let steps = || format!("{}/{}", rh.h + 1 - rh.rise, rh.fall);
        if flags & DRAIN != 0 {
            if r_agent.is_some() {
                "DRAIN (agent)".into()
            } else if going_down {
                format!("DRAIN {}", steps())
            } else {
                "DRAIN".into()
            }
        } else if going_down {
            format!("UP {}", steps())
        } else if !r_check {
            "no check".into()
        } else {
            "UP".into()
        }
    } else if r_agent == Some(0) {
        "DOWN (agent)".into()
    } else if r_check && rh.h == 0 {
        "DOWN".into()
    } else if r_agent.is_some() || r_check {
        format!("DOWN {}/{}", rh.h, rh.rise)
    } else {
        "DOWN".into()
    }
}
