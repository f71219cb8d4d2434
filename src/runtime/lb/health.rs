//! Health checks: HAProxy 2.6's state machine, timing and messages (configuration.txt §5.2
//! `check`, `inter`, `fastinter`, `downinter`, `rise`, `fall`; haproxy-subset.md §4).
//!
//! - The health counter `h` lives in `0..=rise+fall-1`; a server is UP while `h >= rise`.
//!   Servers start UP with `h = rise` ("fragile"), so the first failure marks them DOWN.
//! - Next check after a result: `inter` when fully UP, `downinter` when fully DOWN,
//!   `fastinter` in between. First checks are spread over the smallest `inter`.
//! - A check is a TCP connect (closed with a reset), optionally followed by a PROXY header,
//!   `tcp-check` rules or an HTTP request (`option httpchk`).

//!
//! This module is the pure part (the counter, a check's outcome, start-up spreading);
//! `check` runs the checks and applies their results to the server state.

use std::time::Duration;

use crate::ir::ServerCheck;

/// The counter and what was last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// HAProxy's `check.health`.
    pub h: u32,
    /// Consecutive successes needed to go UP.
    pub rise: u32,
    /// Consecutive failures needed to go DOWN.
    pub fall: u32,
    /// Result of the previous check (None before the first one).
    pub last_ok: Option<bool>,
}

impl Health {
    /// A server at start-up: UP, but one failure takes it DOWN.
    pub fn new(rise: u32, fall: u32) -> Self {
        Health {
            h: rise,
            rise,
            fall,
            last_ok: None,
        }
    }

    /// UP for traffic.
    pub fn up(&self) -> bool {
        self.h >= self.rise
    }

    fn max(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// Applies one result; returns (state changed, counter or result changed).
    pub fn record(&mut self, ok: bool) -> (bool, bool) {
        let (was_up, old_h, old_ok) = (self.up(), self.h, self.last_ok);
        if ok {
            self.h += 1;
            if self.h >= self.rise {
                self.h = self.max();
            }
        } else {
            self.h = self.h.saturating_sub(1);
            if self.h < self.rise {
                self.h = 0;
            }
        }
        self.last_ok = Some(ok);
        (was_up != self.up(), old_h != self.h || old_ok != Some(ok))
    }

    /// Interval before the next check.
    pub fn next_interval(&self, c: &ServerCheck) -> Duration {
        if self.h == self.max() && self.up() {
            c.inter
        } else if self.h == 0 {
            c.downinter
        } else {
            c.fastinter
        }
    }

    /// `status: A/B UP|DRAIN|DOWN` as `option log-health-checks` prints it: DRAIN for a
    /// server up with a user weight of 0 (`drained`).
    pub fn status(&self, drained: bool) -> String {
        if self.up() {
            let word = if drained { "DRAIN" } else { "UP" };
            format!("{}/{} {word}", self.h + 1 - self.rise, self.fall)
        } else {
            format!("{}/{} DOWN", self.h, self.rise)
        }
    }
}

/// The reason of the failed check `observe` simulates (haproxy's HCHK_STATUS_HANA).
pub const HEALTH_ANALYZE: &str = "Health analyze";

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Passed.
    pub ok: bool,
    /// "Layer4 check passed", "Layer4 connection problem", "Layer7 invalid response" …
    pub reason: &'static str,
    /// Status code part (`code: 200`).
    pub code: Option<String>,
    /// Info part (`info: "Connection refused"`).
    pub info: Option<String>,
    /// Check duration in ms.
    pub ms: u128,
    /// The same result's text as haproxy first reported it, when its protocol check sets
    /// the status twice (mysql, ldap, spop: their reader, then the ruleset's end): the
    /// first report counts and logs as a check of its own.
    pub first_info: Option<String>,
}

impl Outcome {
    /// haproxy's short check status (`show stat`'s `check_status`) for this result.
    pub fn status(&self) -> &'static str {
        match self.reason {
            "Layer4 check passed" => "L4OK",
            "Layer4 timeout" => "L4TOUT",
            "Layer4 connection problem" => "L4CON",
            "Layer6 check passed" => "L6OK",
            "Layer6 timeout" => "L6TOUT",
            "Layer6 invalid response" => "L6RSP",
            "Layer7 check passed" => "L7OK",
            "Layer7 timeout" => "L7TOUT",
            "Layer7 wrong status" => "L7STS",
            "Layer7 invalid response" => "L7RSP",
            "No status change" => "CHECKED",
            "Socket error" => "SOCKERR",
            HEALTH_ANALYZE => "HANA",
            _ => "UNK",
        }
    }

    /// `reason: …[, code: …][, info: "…"], check duration: Nms`
    pub fn describe(&self) -> String {
        let mut s = format!("reason: {}", self.reason);
        if let Some(c) = &self.code {
            s.push_str(&format!(", code: {c}"));
        }
        if let Some(i) = &self.info {
            s.push_str(", info: \"");
            ascii_encode(i, &mut s);
            s.push('"');
        }
        // haproxy gives no duration for `observe`'s verdict (its duration is -1).
        if self.reason != HEALTH_ANALYZE {
            s.push_str(&format!(", check duration: {}ms", self.ms));
        }
        s
    }
}

/// haproxy's chunk_asciiencode quoting with '"': a byte that is not printable ASCII, and
/// '<', '>' and '"', written `<XX>`, so a server's text cannot break the line.
fn ascii_encode(text: &str, out: &mut String) {
    for &c in text.as_bytes() {
        if (0x20..0x7f).contains(&c) && !matches!(c, b'<' | b'>' | b'"') {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("<{c:02X}>"));
        }
    }
}

/// When each checked server runs its first check: `max(inter_k, M) * k / N`, with `M` the
/// smallest `inter` of at least one second (HAProxy's start-up spreading).
pub fn first_offsets(inters: &[Duration]) -> Vec<Duration> {
    let n = inters.len() as u32;
    let m = inters
        .iter()
        .filter(|i| **i >= Duration::from_secs(1))
        .min()
        .copied();
    inters
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let base = match m {
                Some(m) => (*i).max(m),
                None => *i,
            };
            base * k as u32 / n.max(1)
        })
        .collect()
}

#[cfg(test)]
mod tests {

    use super::*;

    fn check(inter: u64, fast: u64, down: u64) -> ServerCheck {
        ServerCheck {
            inter: Duration::from_millis(inter),
            fastinter: Duration::from_millis(fast),
            fastinter_set: true,
            downinter: Duration::from_millis(down),
            rise: 2,
            fall: 2,
            port: None,
            addr: None,
            send_proxy: false,
        }
    }

    #[test]
    fn state_machine_and_intervals_match_haproxy() {
        // haproxy-subset.md §4.2: inter 400 fastinter 100 downinter 200 fall 2 rise 2.
        let c = check(400, 100, 200);
        let mut h = Health::new(2, 2);
        let plan = [true, true, false, false, false, false, true, true, true];
        let mut got = Vec::new();
        for ok in plan {
            let (changed, _) = h.record(ok);
            let mark = if changed {
                if h.up() {
                    "(UP)"
                } else {
                    "(DOWN)"
                }
            } else {
                ""
            };
            got.push(format!(
                "{}{mark} +{}",
                if ok { "OK" } else { "NO" },
                h.next_interval(&c).as_millis()
            ));
        }
        assert_eq!(
            got.join(" "),
            "OK +400 OK +400 NO +100 NO(DOWN) +200 NO +200 NO +200 OK +100 OK(UP) +400 OK +400"
        );
    }

    #[test]
    fn first_failure_bypasses_fall_and_rise_restarts() {
        let mut h = Health::new(2, 3);
        assert!(h.up());
        assert_eq!(h.record(false), (true, true));
        assert!(!h.up());
        let mut h = Health::new(3, 2);
        h.record(false);
        for ok in [true, true, false, true, true] {
            h.record(ok);
            assert!(!h.up());
        }
        h.record(true);
        assert!(
            h.up(),
            "OK,OK,NO,OK,OK,OK with rise 3 -> UP at the 6th check"
        );
        assert_eq!(h.status(false), "2/2 UP");
        assert_eq!(h.status(true), "2/2 DRAIN");
    }

    #[test]
    fn check_texts_are_ascii_encoded() {
        let o = Outcome {
            ok: true,
            reason: "Layer7 check passed",
            code: None,
            info: Some("say \"hi\" <x>\n\u{e9}".into()),
            ms: 1,
            first_info: None,
        };
        assert_eq!(
            o.describe(),
            "reason: Layer7 check passed, info: \"say <22>hi<22> <3C>x<3E><0A><C3><A9>\", check duration: 1ms"
        );
    }

    #[test]
    fn start_up_spreading() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|x| Duration::from_millis(*x))
                .collect::<Vec<_>>()
        };
        assert_eq!(first_offsets(&ms(&[1000; 5])), ms(&[0, 200, 400, 600, 800]));
        assert_eq!(
            first_offsets(&ms(&[10000, 10000, 2000, 2000, 500])),
            ms(&[0, 2000, 800, 1200, 1600])
        );
    }
}
