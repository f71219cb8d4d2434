//! A server's idle HTTP connections (haproxy's idle and safe lists): a connection whose
//! response ended cleanly may wait here, "safe" once it has carried more than one
//! request, and a later request of any session takes the oldest one still open, an idle
//! one before a safe one; `http-reuse aggressive|always` let a session's first request
//! take a safe one (and, with `always`, an idle one after). Connections carrying a PROXY
//! header, or of a backend with `http-reuse never`, belong to their client and never
//! come here.
//!
//! Whether a connection is kept and how many are closed later follow haproxy 2.6's
//! `srv_add_to_idle_list` and `srv_cleanup_idle_conns`: one is kept when the server has
//! no safe connection (and it is safe, or there is no idle one either), or when the
//! connections in use and idle do not exceed the estimated need, which rises at once to
//! the most ever in use; every `pool-purge-delay` (5 s) it moves halfway down to the
//! most used since, and about half of the excess is closed, idle ones first.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use socket2::SockRef;

use crate::runtime::stream::ServerEnd;

/// At most this many idle connections per server (a memory bound haproxy leaves to
/// `pool-max-conn`); the oldest go first.
const MAX: usize = 64;

/// haproxy's `pool-purge-delay` default.
const PURGE: Duration = Duration::from_secs(5);

/// The idle connections of one server and haproxy's counts for them.
#[derive(Default)]
pub struct IdlePool {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Oldest first, each with whether it is safe.
    conns: VecDeque<(ServerEnd, bool)>,
    /// The most connections in use since the last purge (`max_used_conns`).
    max_used: u32,
    /// The estimated need (`est_need_conns`).
    est_need: u32,
    /// When the next purge is due (None: no idle connection waits for one).
    next_purge: Option<Instant>,
}

impl std::fmt::Debug for IdlePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.state.lock().map_or(0, |s| s.conns.len());
        write!(f, "IdlePool({n})")
    }
}

/// Which idle connections a request may take, in haproxy's order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A later request: an idle connection, else a safe one.
    IdleThenSafe,
    /// A first request with `http-reuse aggressive`: only a safe one.
    Safe,
    /// A first request with `http-reuse always`: a safe one, else an idle one.
    SafeThenIdle,
}

/// Still usable: the server neither closed it nor sent anything unasked.
pub fn alive(c: &ServerEnd) -> bool {
    let mut b = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    matches!(
        SockRef::from(c.tcp()).peek(&mut b),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
    )
}

/// Closes an idle server connection the way haproxy closes one it no longer keeps: at
/// once with a reset, no FIN (its socket lingers at risk: H1C_F_ST_SILENT_SHUT and
/// FD_LINGER_RISK).
pub fn discard(c: ServerEnd) {
    let _ = SockRef::from(c.tcp()).set_linger(Some(Duration::ZERO));
}

/// Closes a server connection haproxy does not keep after a transaction: reset if the
/// server has not closed it (haproxy closes without a shutdown, lingering at risk), else
/// a plain close after its end.
pub fn close_after_use(c: ServerEnd) {
    if alive(&c) {
        discard(c);
    }
}

impl Drop for State {
    fn drop(&mut self) {
        for (c, _) in self.conns.drain(..) {
            discard(c);
        }
    }
}

impl State {
    fn note(&mut self, used: u32) {
        self.max_used = self.max_used.max(used);
        self.est_need = self.est_need.max(used);
    }

    fn count(&self, safe: bool) -> usize {
        self.conns.iter().filter(|(_, s)| *s == safe).count()
    }

    /// The purges due by `now`, as haproxy's task runs them every `pool-purge-delay`.
    fn purge(&mut self, now: Instant, used: u32) {
        while let Some(due) = self.next_purge.filter(|d| *d <= now) {
            let idle = self.conns.len() as i64;
            if idle == 0 {
                self.next_purge = None;
                return;
            }
            let need = i64::from(self.max_used.max(self.est_need));
            let exceed = i64::from(used) + idle - need;
            let exceed = exceed / 2 + (exceed & 1);
            self.est_need = ((self.est_need + self.max_used) / 2).max(self.max_used);
            self.max_used = used;
            if exceed > 0 {
                let mut kill = (exceed + 1).min(idle) as usize;
                for safe in [false, true] {
                    while kill > 0 {
                        let Some(i) = self.conns.iter().position(|(_, s)| *s == safe) else {
                            break;
                        };
                        if let Some((c, _)) = self.conns.remove(i) {
                            discard(c);
                        }
                        kill -= 1;
                    }
                }
            }
            self.next_purge = (!self.conns.is_empty()).then_some(due + PURGE);
        }
    }
}

impl IdlePool {
    /// `used` connections to the server are in use now, one of them just taken into
    /// use: the most used and the estimated need rise with it (haproxy's
    /// `srv_use_conn`).
    pub fn note_used(&self, used: u32) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.note(used);
    }

    /// Offers `c` for a later request once its response ended cleanly; `safe` when it
    /// has carried more than one request, `used` the server's connections in use (this
    /// one included). Dropped (closed) when haproxy would not keep it.
    pub fn put(&self, c: ServerEnd, safe: bool, used: u32) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        st.purge(now, used);
        let (n_safe, n_idle) = (st.count(true), st.count(false));
        let keep = (n_safe == 0 && (safe || n_idle == 0))
            || used as usize + st.conns.len() <= used.max(st.est_need) as usize;
        if !keep {
            return discard(c);
        }
        if st.conns.len() >= MAX {
            if let Some((old, _)) = st.conns.pop_front() {
                discard(old);
            }
        }
        st.conns.push_back((c, safe));
        if st.next_purge.is_none() {
            st.next_purge = Some(now + PURGE);
        }
    }

    /// Closes every idle connection (the server's address changed:
    /// srv_cleanup_connections).
    pub fn clear(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (c, _) in st.conns.drain(..) {
            discard(c);
        }
        st.next_purge = None;
    }

    /// The oldest connection of the kinds `want` allows, still open, if any; `used` the
    /// server's connections in use before it.
    pub fn take(&self, want: Want, used: u32) -> Option<ServerEnd> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.purge(Instant::now(), used);
        let order: &[bool] = match want {
            Want::IdleThenSafe => &[false, true],
            Want::Safe => &[true],
            Want::SafeThenIdle => &[true, false],
        };
        for &safe in order {
            // Closed ones met on the way go.
            while let Some(i) = st.conns.iter().position(|(_, s)| *s == safe) {
                let Some((c, _)) = st.conns.remove(i) else {
                    break;
                };
                if alive(&c) {
                    st.note(used + 1);
                    return Some(c);
                }
            }
        }
        None
    }
}
