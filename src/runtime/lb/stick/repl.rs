//! Replication of stick tables (`peers`): the local changes queued for the peers, what a
//! peer is sent of an entry, and a peer's update written into one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{now_ms, Data, Entry, Freq, Shape, Table};
use crate::ir::counters::{DataType, DATA_TYPES};

/// A replicated table's local changes in order (haproxy's update tree, local part):
/// each changed entry holds one number, the latest, so several changes before a push go
/// out as one update with the entry's values at that time.
#[derive(Debug)]
pub struct Repl {
    state: Mutex<ReplState>,
    /// Wakes the peer sessions of the section replicating the table.
    waker: OnceLock<Arc<tokio::sync::Notify>>,
}

#[derive(Debug, Default)]
struct ReplState {
    last: u64,
    pending: BTreeMap<u64, Box<[u8]>>,
}

impl Repl {
    pub(super) fn new() -> Self {
        Repl {
            state: Mutex::new(ReplState::default()),
            waker: OnceLock::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the changes of entries gone since, once there are more than `limit`.
    pub(super) fn forget_gone(&self, limit: u64, live: impl Fn(&[u8]) -> bool) {
        let mut st = self.lock();
        if st.pending.len() as u64 > limit {
            st.pending.retain(|_, k| live(k));
        }
    }

    /// Records a local change of `key`, whose previous change was `old` (0: none).
    fn push(&self, key: &[u8], old: u64) -> u64 {
        let mut s = self.lock();
        s.last += 1;
        let n = s.last;
        if old != 0 {
            s.pending.remove(&old);
        }
        s.pending.insert(n, key.into());
        drop(s);
        if let Some(w) = self.waker.get() {
            w.notify_waiters();
        }
        n
    }

    /// Has every change wake `w` (the sessions of the section replicating the table).
    pub fn wake(&self, w: Arc<tokio::sync::Notify>) {
        let _ = self.waker.set(w);
    }

    /// The last change's number.
    pub fn last(&self) -> u64 {
        self.lock().last
    }

    /// Up to `max` changes after `from`, in order.
    pub fn after(&self, from: u64, max: usize) -> Vec<(u64, Box<[u8]>)> {
        let s = self.lock();
        s.pending
            .range(from + 1..)
            .take(max)
            .map(|(n, k)| (*n, k.clone()))
            .collect()
    }
}

/// What a peer sends of an entry: its values as haproxy's types hold them.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The stick server (index in the table's backend) and whether its name was stored.
    pub server: Option<usize>,
    /// A stick rule stored the server with its name.
    pub keyed: bool,
    /// Counters: type, element, value.
    pub counters: Vec<(DataType, u8, u64)>,
    /// Rates: type, element, milliseconds into the current period, current and previous
    /// periods' counts.
    pub rates: Vec<(DataType, u8, u32, u32, u32)>,
    /// Milliseconds before it expires.
    pub expires_in: u64,
}

/// An entry being overwritten by a peer's update.
pub struct Remote<'a> {
    d: &'a mut Data,
    shape: &'a Shape,
}

impl Remote<'_> {
    /// Element `idx` of counter `ty` (ignored when the table does not store it).
    pub fn counter(&mut self, ty: DataType, idx: u8, v: u64) {
        if let Some(s) = self.shape.slot(ty, idx).filter(|_| !ty.is_rate()) {
            self.d.counters[s] = v;
        }
    }

    /// Element `idx` of rate `ty`: `elapsed` ms into its current period, the current and
    /// previous periods' counts.
    pub fn rate(&mut self, ty: DataType, idx: u8, elapsed: u32, curr: u32, prev: u32) {
        if let Some(s) = self.shape.slot(ty, idx).filter(|_| ty.is_rate()) {
            self.d.rates[s] = Freq {
                tick: now_ms().wrapping_sub(u64::from(elapsed)) & !1,
                curr,
                prev,
            };
        }
    }

    /// The stick server, and whether its name came with it.
    pub fn server(&mut self, server: Option<usize>, keyed: bool) {
        self.d.server = server;
        self.d.keyed = keyed;
    }

    /// The stick server now.
    pub fn current_server(&self) -> Option<usize> {
        self.d.server
    }
}

impl Table {
    /// The replication queue of a table a `peers` section names.
    pub fn repl(&self) -> Option<&Arc<Repl>> {
        self.shape.repl.as_ref()
    }

    /// Applies a peer's update of `key` (stktable_touch_remote: values overwritten, not
    /// queued for the other peers). The entry lives `expire_ms` more when the update says
    /// so, else the table's own `expire`. False when the table is full (`nopurge`).
    pub fn apply(&self, key: &[u8], expire_ms: Option<u64>, f: impl FnOnce(&mut Remote)) -> bool {
        let Some(e) = self.get(key) else {
            return false;
        };
        let mut d = e.lock();
        f(&mut Remote {
            d: &mut d,
            shape: &self.shape,
        });
        let now = Instant::now();
        d.touched = match (expire_ms, self.shape.expire) {
            // Expiry is measured from `touched`: move it so that it falls when the peer said.
            (Some(ms), Some(t)) => {
                let left = Duration::from_millis(ms);
                if left >= t {
                    now + (left - t)
                } else {
                    now.checked_sub(t - left).unwrap_or(now)
                }
            }
            _ => now,
        };
        true
    }

    /// Takes the entries of `old`, the same table in the configuration before a reload
    /// (its key type unchanged), each with its remaining lifetime.
    pub fn adopt(&self, old: &Table) {
        if old.cfg.key != self.cfg.key {
            return;
        }
        for (k, e) in old.sorted() {
            let s = e.snapshot();
            let left = old.shape.expire.map(|_| s.expires_in);
            self.apply(&k, left, |r| {
                r.server(s.server, s.keyed);
                for &(ty, i, v) in &s.counters {
                    r.counter(ty, i, v);
                }
                for &(ty, i, el, cur, prev) in &s.rates {
                    r.rate(ty, i, el, cur, prev);
                }
            });
        }
    }
}

impl Entry {
    /// A change made here (stktable_touch_local): the expiry restarts and, in a
    /// replicated table, the entry is queued for the peers.
    pub(super) fn local(&self, d: &mut Data) {
        d.touched = Instant::now();
        if let (Some(r), Some(k)) = (&self.shape.repl, &self.key) {
            d.upd = r.push(k, d.upd);
        }
    }

    /// What a peer sends of it.
    pub fn snapshot(&self) -> Snapshot {
        let d = self.lock();
        let now = now_ms();
        let mut out = Snapshot {
            server: d.server,
            keyed: d.keyed,
            expires_in: self.shape.expire.map_or(0, |t| {
                t.saturating_sub(d.touched.elapsed()).as_millis() as u64
            }),
            ..Snapshot::default()
        };
        for &ty in DATA_TYPES {
            let Some((first, n)) = self.shape.at[ty.index()] else {
                continue;
            };
            for i in 0..n {
                let s = usize::from(first) + usize::from(i);
                if ty.is_rate() {
                    let f = d.rates[s];
                    let elapsed = now.wrapping_sub(f.tick) as u32;
                    out.rates.push((ty, i, elapsed, f.curr, f.prev));
                } else {
                    out.counters.push((ty, i, d.counters[s]));
                }
            }
        }
        out
    }
}
