//! `observe layer4|layer7`, `error-limit`, `on-error`: the traffic itself counts as the
//! server's successes and errors, as haproxy's `health_adjust` does. Enough errors in a
//! row simulate a failed check ("Health analyze"), take the server down at once, or only
//! bring the next check forward; a passed check or a success clears the count.

use std::sync::atomic::Ordering::Relaxed;

use crate::ir::{Observe, OnError};
use crate::runtime::lb::health::{Outcome, HEALTH_ANALYZE};
use crate::runtime::lb::state::Shared;

/// What the traffic showed about a server (haproxy's HANA_STATUS_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The connection was established.
    L4Ok,
    /// A connection attempt failed.
    L4Err,
    /// An HTTP response with a status that is not a server failure.
    HttpOk,
    /// A 5xx response (but 501 and 505, which clients cause).
    HttpStatus,
    /// A response head that could not be parsed.
    HttpHeaders,
    /// The server closed before its response head.
    HttpClosed,
    /// No response head before `timeout server`.
    HttpTimeout,
}

impl Event {
    /// The event for an HTTP response status.
    pub fn for_status(status: u16) -> Event {
        if status >= 100 && (status < 500 || status == 501 || status == 505) {
            Event::HttpOk
        } else {
            Event::HttpStatus
        }
    }

    fn desc(self) -> &'static str {
        match self {
            Event::L4Ok => "L4 successful connection",
            Event::L4Err => "L4 unsuccessful connection",
            Event::HttpOk => "Correct http response",
            Event::HttpStatus => "Wrong http response",
            Event::HttpHeaders => "Invalid http response (headers)",
            Event::HttpClosed => "Close from server (http)",
            Event::HttpTimeout => "Read timeout (http)",
        }
    }

    /// Some(true): an error, Some(false): a success, None: not counted at this layer
    /// (haproxy's analyze_statuses table).
    fn failed(self, layer: Observe) -> Option<bool> {
        match (self, layer) {
            (Event::L4Ok, Observe::Layer4) => Some(false),
            (Event::L4Ok, Observe::Layer7) => None,
            (Event::L4Err, _) => Some(true),
            (Event::HttpOk, Observe::Layer7) => Some(false),
            (_, Observe::Layer7) => Some(true),
            (_, Observe::Layer4) => None,
        }
    }
}

/// Counts `ev` for server `si` of backend `bi` and acts once `error-limit` errors came
/// in a row.
pub fn health_adjust(shared: &Shared, (bi, si): (usize, usize), ev: Event) {
    let b = &shared.backends[bi];
    let s = &b.servers[si];
    // Without checks, haproxy's simulated check changes nothing.
    let (Some(layer), Some(c)) = (s.ir.observe, &s.ir.check) else {
        return;
    };
    match ev.failed(layer) {
        None => return,
        Some(false) => {
            s.consecutive_errors.store(0, Relaxed);
            return;
        }
        Some(true) => {}
    }
    let n = s.consecutive_errors.fetch_add(1, Relaxed) + 1;
    if n < s.ir.error_limit {
        return;
    }
    let quiet = shared.quiet.load(Relaxed);
    let info = format!(
        "Detected {n} consecutive errors, last one was: {}",
        ev.desc()
    );
    if s.ir.on_error != OnError::FastInter {
        {
            let mut h = s.health.lock().unwrap_or_else(|e| e.into_inner());
            match s.ir.on_error {
                OnError::SuddenDeath if h.h > h.rise => h.h = h.rise + 1,
                OnError::MarkDown => h.h = h.rise,
                _ => {}
            }
        }
        let out = Outcome {
            ok: false,
            reason: HEALTH_ANALYZE,
            code: None,
            info: Some(info),
            ms: 0,
            first_info: None,
        };
        let was_up = s.running();
        super::check::report(shared, b, s, &out, quiet);
        *s.last_check.lock().unwrap_or_else(|e| e.into_inner()) = Some(out.clone());
        if was_up && !s.running() && s.admin() != super::state::Admin::Maint {
            super::check::transition(shared, bi, si, false, &out, quiet);
        }
    }
    s.consecutive_errors.store(0, Relaxed);
    s.hanafail.fetch_add(1, Relaxed);
    // Every mode brings the next check forward to a configured `fastinter`.
    if c.fastinter_set {
        s.check_soon.notify_one();
    }
}
