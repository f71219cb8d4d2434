//! The HTTP counters of a frontend, a backend or a server (haproxy's `p.http`
//! counters): requests, and responses by status class, for `show stat`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// Requests and responses by status class (haproxy's `cum_req` and `rsp[]`).
#[derive(Debug, Default)]
pub struct HttpCounters {
    /// Requests (`req_tot`).
    pub req: AtomicU64,
    /// Responses by class: 1xx to 5xx at 1 to 5, any other status at 0 (`hrsp_*`).
    pub rsp: [AtomicU64; 6],
    /// What the compression filter took in, sent out, passed through unchanged
    /// (`identity`), and the responses it handled (`comp_in`, `comp_out`, `comp_byp`,
    /// `comp_rsp`; frontends and backends only).
    pub comp: [AtomicU64; 4],
}

/// The `show stat` columns of [`HttpCounters::comp`], by index.
pub const COMP_COLUMNS: [&str; 4] = ["comp_in", "comp_out", "comp_byp", "comp_rsp"];

/// The `show stat` columns of [`HttpCounters::rsp`], by index.
pub const RSP_COLUMNS: [&str; 6] = [
    "hrsp_other",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
];

impl HttpCounters {
    /// One more request.
    pub fn request(&self) {
        self.req.fetch_add(1, Relaxed);
    }

    /// One response with `status`, counted in its class.
    pub fn response(&self, status: u16) {
        let n = usize::from(status / 100);
        self.rsp[if (1..=5).contains(&n) { n } else { 0 }].fetch_add(1, Relaxed);
    }

    /// A request and its response, as a backend or a server counts them.
    pub fn exchange(&self, status: u16) {
        self.request();
        self.response(status);
    }

    /// A body through the compression filter: `consumed` bytes in, `produced` out (a
    /// bypass for `identity`), and the response itself when `rsp` (an HTTP proxy's).
    pub fn compressed(&self, identity: bool, (consumed, produced): (u64, u64), rsp: bool) {
        if identity {
            self.comp[2].fetch_add(consumed, Relaxed);
        } else {
            self.comp[0].fetch_add(consumed, Relaxed);
            self.comp[1].fetch_add(produced, Relaxed);
        }
        if rsp {
            self.comp[3].fetch_add(1, Relaxed);
        }
    }

    /// The compression filter's counters by `show stat` column.
    pub fn comp_columns(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        COMP_COLUMNS
            .iter()
            .zip(&self.comp)
            .map(|(c, n)| (*c, n.load(Relaxed)))
    }

    /// The responses by `show stat` column.
    pub fn columns(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        RSP_COLUMNS
            .iter()
            .zip(&self.rsp)
            .map(|(c, n)| (*c, n.load(Relaxed)))
    }
}

/// A proxy's or a server's bytes and its highest session count (`bin`, `bout`, `smax`).
#[derive(Debug, Default)]
pub struct Traffic {
    /// Bytes from clients (`bin`).
    pub bin: AtomicU64,
    /// Bytes to clients (`bout`).
    pub bout: AtomicU64,
    /// The most sessions at once (`smax`).
    pub smax: AtomicU32,
}

impl Traffic {
    /// A stream's bytes, counted at its end.
    pub fn bytes(&self, up: u64, down: u64) {
        self.bin.fetch_add(up, Relaxed);
        self.bout.fetch_add(down, Relaxed);
    }

    /// `now` sessions at once.
    pub fn sessions(&self, now: u32) {
        self.smax.fetch_max(now, Relaxed);
    }

    /// The `show stat` columns.
    pub fn columns(&self) -> [(&'static str, u64); 3] {
        [
            ("bin", self.bin.load(Relaxed)),
            ("bout", self.bout.load(Relaxed)),
            ("smax", u64::from(self.smax.load(Relaxed))),
        ]
    }
}

/// What a frontend's rules refused and the requests it could not read (`dcon`, `dses`,
/// `dreq`, `ereq`, `dresp`).
#[derive(Debug, Default)]
pub struct Refused {
    /// Connections a `tcp-request connection` rule rejected (`dcon`).
    pub conn: AtomicU64,
    /// Sessions a `tcp-request session` rule rejected (`dses`).
    pub sess: AtomicU64,
    /// Requests denied: `tcp-request content reject`, `http-request deny|tarpit` (`dreq`).
    pub req: AtomicU64,
    /// Requests that could not be read: invalid, too large, timed out (`ereq`).
    pub failed: AtomicU64,
    /// Responses denied: `tcp-response content reject`, `http-response deny` (`dresp`).
    pub resp: AtomicU64,
}

impl Refused {
    /// One more of `c`.
    pub fn add(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    /// The `show stat` columns.
    pub fn columns(&self) -> [(&'static str, u64); 5] {
        [
            ("dcon", self.conn.load(Relaxed)),
            ("dses", self.sess.load(Relaxed)),
            ("dreq", self.req.load(Relaxed)),
            ("ereq", self.failed.load(Relaxed)),
            ("dresp", self.resp.load(Relaxed)),
        ]
    }
}

/// An `http-response deny` or `tcp-response content reject`: counted for the frontend,
/// the backend and the server (`dresp`), as haproxy counts denied responses.
pub fn denied_response(
    f: &crate::runtime::lb::state::FrontendRt,
    b: &crate::runtime::lb::state::BackendRt,
    srv: usize,
) {
    Refused::add(&f.refused.resp);
    Refused::add(&b.conn.denied_resp);
    if let Some(s) = b.servers.get(srv) {
        Refused::add(&s.conn.denied_resp);
    }
}

/// A server's or a backend's connection outcomes and denied responses (haproxy's
/// `failed_conns`, `retries`, `redispatches`, `denied_resp`: `show stat` econ, wretr,
/// wredis, dresp).
#[derive(Debug, Default)]
pub struct ConnCounters {
    /// Sessions whose connection attempts all failed (`econ`).
    pub failed: AtomicU64,
    /// Redispatch attempts that chose the same server again (`wretr`).
    pub retries: AtomicU64,
    /// Sessions moved to another server after failing on this one (`wredis`).
    pub redispatches: AtomicU64,
    /// Its responses a `tcp-response content reject` or `http-response deny` refused
    /// (`dresp`).
    pub denied_resp: AtomicU64,
}

impl ConnCounters {
    /// The `show stat` columns.
    pub fn columns(&self) -> [(&'static str, u64); 4] {
        [
            ("econ", self.failed.load(Relaxed)),
            ("wretr", self.retries.load(Relaxed)),
            ("wredis", self.redispatches.load(Relaxed)),
            ("dresp", self.denied_resp.load(Relaxed)),
        ]
    }
}

/// When a server or a backend last took a session (haproxy's `last_sess`), for
/// `show stat` lastsess.
#[derive(Debug, Default)]
pub struct LastSession(AtomicU64);

/// Wall-clock seconds, as haproxy's `now.tv_sec` (0 is "never").
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs())
}

impl LastSession {
    /// A session at `secs` ([`LastSession::now`]).
    pub fn touch(&self, secs: u64) {
        self.0.store(secs, Relaxed);
    }

    /// The clock it counts with (one read serves a server and its backend).
    pub fn now() -> u64 {
        now_secs()
    }

    /// Seconds since the last session, -1 when there was none.
    pub fn age(&self) -> i64 {
        match self.0.load(Relaxed) {
            0 => -1,
            t => now_secs().saturating_sub(t) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_in_haproxys_classes() {
        let c = HttpCounters::default();
        for s in [100, 204, 302, 404, 503, 599, 600, 99, 0] {
            c.response(s);
        }
        let got: Vec<_> = c.columns().collect();
        assert_eq!(
            got,
            [
                ("hrsp_other", 3),
                ("hrsp_1xx", 1),
                ("hrsp_2xx", 1),
                ("hrsp_3xx", 1),
                ("hrsp_4xx", 1),
                ("hrsp_5xx", 2),
            ]
        );
    }
}
