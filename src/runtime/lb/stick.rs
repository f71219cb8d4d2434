//! Stick tables (configuration.txt §4.2 `stick-table`): key → entry, where an entry holds
//! the server a key sticks to (`stick on`) and the data the table stores (`store`: the
//! counters `track-sc*` rules feed). An entry lives `expire` after its last update
//! unless a session still tracks it; a full table drops its oldest idle entries (about
//! size/256 + 1 at a time, as HAProxy purges), or with `nopurge` refuses new ones.
//! Tables start empty at every (re)load.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ir::counters::{DataType, Store, DATA_TYPES};
use crate::ir::{StickKey, StickTable};
use crate::runtime::freq::{now_ms, Freq};

mod repl;
pub use repl::{Remote, Repl, Snapshot};

/// One table and its entries.
#[derive(Debug)]
pub struct Table {
    /// The proxy that declares it (the table's name).
    pub name: Box<str>,
    cfg: StickTable,
    shape: Arc<Shape>,
    entries: Mutex<HashMap<Box<[u8]>, Arc<Entry>>>,
}

/// Where each stored data type lives in an entry, and its rate period.
#[derive(Debug, Default)]
pub struct Shape {
    /// Per data type: first slot and count (counters and rates have their own slots).
    at: [Option<(u16, u8)>; DATA_TYPES.len()],
    /// Per data type: a rate's period in milliseconds.
    period: [u32; DATA_TYPES.len()],
    counters: usize,
    rates: usize,
    expire: Option<Duration>,
    /// A table a `peers` section replicates: its local changes, for the peers to push.
    repl: Option<Arc<Repl>>,
}

impl Shape {
    fn new(store: &[Store], expire: Option<Duration>) -> Shape {
        let mut s = Shape {
            expire,
            ..Shape::default()
        };
        for st in store {
            let i = st.ty.index();
            let next = if st.ty.is_rate() {
                &mut s.rates
            } else {
                &mut s.counters
            };
            s.at[i] = Some((*next as u16, st.n));
            *next += usize::from(st.n);
            s.period[i] = st.period_ms;
        }
        s
    }

    /// The slot of element `idx` of `ty`, when the table stores it.
    fn slot(&self, ty: DataType, idx: u8) -> Option<usize> {
        let (first, n) = self.at[ty.index()]?;
        (idx < n).then(|| usize::from(first) + usize::from(idx))
    }

    /// Whether the table stores `ty`.
    pub fn stores(&self, ty: DataType) -> bool {
        self.at[ty.index()].is_some()
    }

    /// Every stored type in haproxy's order: its elements and its rate period (ms).
    pub fn stored(&self) -> Vec<(DataType, u8, u32)> {
        DATA_TYPES
            .iter()
            .filter_map(|&ty| {
                let (_, n) = self.at[ty.index()]?;
                Some((ty, n, self.period[ty.index()]))
            })
            .collect()
    }

    /// The table's `expire`.
    pub fn expire(&self) -> Option<Duration> {
        self.expire
    }
}

/// A table entry: shared by the table and the sessions tracking it.
#[derive(Debug)]
pub struct Entry {
    shape: Arc<Shape>,
    /// Its key, kept only in replicated tables (the peers push entries by key).
    key: Option<Box<[u8]>>,
    data: Mutex<Data>,
}

#[derive(Debug)]
struct Data {
    /// `stick on`: the server (index in its backend).
    server: Option<usize>,
    /// The server was stored by a stick rule, so its name is kept too (haproxy's
    /// `server_key`); `set table … data.server_id` sets the number alone.
    keyed: bool,
    /// Last update, from which the entry expires.
    touched: Instant,
    /// Its latest local change's number in a replicated table (0: none).
    upd: u64,
    counters: Box<[u64]>,
    rates: Box<[Freq]>,
}

/// A sample before it is shaped into a key of the table's type, typed as haproxy types
/// samples (the casts differ by type).
pub enum Raw<'a> {
    /// An address (`src`).
    Addr(IpAddr),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// Text (a header, an MQTT field).
    Str(&'a [u8]),
    /// Bytes (`req.payload`).
    Bin(&'a [u8]),
}

impl Table {
    /// An empty table named `name`.
    pub fn new(name: &str, cfg: StickTable) -> Self {
        Table {
            name: name.into(),
            shape: Arc::new(Shape {
                repl: cfg.peers.map(|_| Arc::new(Repl::new())),
                ..Shape::new(&cfg.store, cfg.expire)
            }),
            cfg,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// What the table stores where.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Its definition.
    pub fn config(&self) -> &StickTable {
        &self.cfg
    }

    /// The live entries in haproxy's tree order (the keys' bytes).
    pub fn sorted(&self) -> Vec<(Box<[u8]>, Arc<Entry>)> {
        let now = Instant::now();
        let m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = m
            .iter()
            .filter(|(_, e)| !self.dead(e, now))
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        drop(m);
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Removes `key`'s entry unless a session holds it (stksess_kill); false when a
    /// session holds it (there being none is no refusal).
    pub fn remove(&self, key: &[u8]) -> bool {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if m.get(key).is_some_and(|e| Arc::strong_count(e) > 1) {
            return false;
        }
        m.remove(key);
        true
    }

    /// Removes the entries no session holds and `drop` picks.
    pub fn remove_idle(&self, drop: impl Fn(&Entry) -> bool) {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|_, e| Arc::strong_count(e) > 1 || !drop(e));
    }

    /// Converts a sample to this table's key type as haproxy's `smp_to_stkey` does (its
    /// `sample_casts`, then the key's size); None when haproxy has no cast (then the rule
    /// does nothing).
    pub fn key(&self, raw: &Raw) -> Option<Box<[u8]>> {
        let k: Vec<u8> = match self.cfg.key {
            StickKey::Ip => match raw {
                Raw::Addr(IpAddr::V4(a)) => a.octets().to_vec(),
                // c_ipv62ip: only a v4-mapped address.
                Raw::Addr(IpAddr::V6(a)) => a.to_ipv4_mapped()?.octets().to_vec(),
                Raw::Int(n) => (*n as u32).to_be_bytes().to_vec(),
                Raw::Str(b) => {
                    let a: std::net::Ipv4Addr = std::str::from_utf8(b).ok()?.parse().ok()?;
                    a.octets().to_vec()
                }
                Raw::Bool(_) | Raw::Bin(_) => return None,
            },
            StickKey::Ipv6 => match raw {
                Raw::Addr(ip) => to_v6(*ip).to_vec(),
                Raw::Int(n) => to_v6(IpAddr::V4((*n as u32).into())).to_vec(),
                Raw::Str(b) => {
                    let a: std::net::Ipv6Addr = std::str::from_utf8(b).ok()?.parse().ok()?;
                    a.octets().to_vec()
                }
                Raw::Bool(_) | Raw::Bin(_) => return None,
            },
            // A 32-bit unsigned integer.
            StickKey::Integer => {
                let n = match raw {
                    Raw::Addr(IpAddr::V4(a)) => i64::from(u32::from(*a)),
                    Raw::Int(n) => *n,
                    Raw::Bool(b) => i64::from(*b),
                    // c_str2int: the leading digits, none on an empty string.
                    Raw::Str(b) if !b.is_empty() => crate::numbers::read_int64(b).0,
                    _ => return None,
                };
                (n as u32).to_be_bytes().to_vec()
            }
            StickKey::String(len) => {
                let mut v = match raw {
                    Raw::Addr(ip) => ip.to_string().into_bytes(),
                    Raw::Int(n) => n.to_string().into_bytes(),
                    Raw::Bool(b) => i64::from(*b).to_string().into_bytes(),
                    Raw::Str(b) | Raw::Bin(b) => b.to_vec(),
                };
                // String keys compare as C strings: they stop at a NUL, then at `len`.
                if let Some(z) = v.iter().position(|&c| c == 0) {
                    v.truncate(z);
                }
                v.truncate(len);
                v
            }
            StickKey::Binary(len) => {
                let mut v = match raw {
                    // c_addr2bin, c_int2bin, c_bool2bin: the raw bytes.
                    Raw::Addr(IpAddr::V4(a)) => a.octets().to_vec(),
                    Raw::Addr(IpAddr::V6(a)) => a.octets().to_vec(),
                    Raw::Int(n) => n.to_be_bytes().to_vec(),
                    Raw::Bool(b) => i64::from(*b).to_be_bytes().to_vec(),
                    Raw::Str(b) | Raw::Bin(b) => b.to_vec(),
                };
                // Padded with zeros to the key's size, cut to it.
                v.resize(len, 0);
                v
            }
        };
        Some(k.into_boxed_slice())
    }

    /// The live entry for `key` (stktable_lookup_key), if any.
    pub fn find(&self, key: &[u8]) -> Option<Arc<Entry>> {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.get(key)?;
        if self.dead(e, Instant::now()) {
            m.remove(key);
            return None;
        }
        Some(e.clone())
    }

    /// The entry for `key`, created when missing (stktable_get_entry); None when the
    /// table is full and `nopurge` forbids dropping entries.
    pub fn get(&self, key: &[u8]) -> Option<Arc<Entry>> {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(e) = m.get(key) {
            if !self.dead(e, now) {
                return Some(e.clone());
            }
            m.remove(key);
        }
        if m.len() as u64 >= self.cfg.size {
            m.retain(|_, e| !self.dead(e, now));
        }
        if m.len() as u64 >= self.cfg.size {
            if self.cfg.nopurge {
                return None;
            }
            let n = (self.cfg.size / 256 + 1) as usize;
            let mut ages: Vec<(Instant, Box<[u8]>)> = m
                .iter()
                .filter(|(_, e)| Arc::strong_count(e) == 1)
                .map(|(k, e)| (e.lock().touched, k.clone()))
                .collect();
            if !ages.is_empty() {
                let nth = n.min(ages.len()) - 1;
                ages.select_nth_unstable_by_key(nth, |(t, _)| *t);
                for (_, k) in ages.into_iter().take(n) {
                    m.remove(&k);
                }
            }
            if m.len() as u64 >= self.cfg.size {
                return None;
            }
        }
        if let Some(r) = &self.shape.repl {
            r.forget_gone(2 * self.cfg.size + 64, |k| m.contains_key(k));
        }
        let e = Arc::new(Entry {
            shape: self.shape.clone(),
            key: self.shape.repl.as_ref().map(|_| key.into()),
            data: Mutex::new(Data {
                server: None,
                keyed: false,
                touched: now,
                upd: 0,
                counters: vec![0; self.shape.counters].into(),
                rates: vec![Freq::default(); self.shape.rates].into(),
            }),
        });
        m.insert(key.into(), e.clone());
        Some(e)
    }

    /// The server `key` sticks to, refreshing the entry's expiry.
    pub fn lookup(&self, key: &[u8]) -> Option<usize> {
        let e = self.find(key)?;
        let mut d = e.lock();
        e.local(&mut d);
        d.server
    }

    /// Makes `key` stick to `server` (re-pointing an existing entry).
    pub fn store(&self, key: Box<[u8]>, server: usize) {
        if let Some(e) = self.get(&key) {
            let mut d = e.lock();
            d.server = Some(server);
            d.keyed = true;
            e.local(&mut d);
        }
    }

    /// Entries now (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Entries that still count (`table_cnt`): expired idle ones are gone in haproxy.
    pub fn live(&self) -> usize {
        let now = Instant::now();
        let m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        m.values().filter(|e| !self.dead(e, now)).count()
    }

    /// The table's size (`table_avl` is the size less the live entries).
    pub fn size(&self) -> u64 {
        self.cfg.size
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Expired and tracked by no session: haproxy's expiry task has removed it.
    fn dead(&self, e: &Arc<Entry>, now: Instant) -> bool {
        Arc::strong_count(e) == 1 && e.expired(now)
    }
}

impl Entry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expired(&self, now: Instant) -> bool {
        let touched = self.lock().touched;
        self.shape
            .expire
            .is_some_and(|t| now.duration_since(touched) >= t.max(Duration::from_millis(1)))
    }

    /// haproxy's `ref_cnt`: every holder of the entry but the table itself (the
    /// sessions tracking it, and a fetch looking at it now).
    pub fn refs(self: &Arc<Self>) -> u64 {
        Arc::strong_count(self).saturating_sub(1) as u64
    }

    /// Whether the table stores `ty`.
    pub fn stores(&self, ty: DataType) -> bool {
        self.shape.stores(ty)
    }

    /// A counter's value (element `idx`); None when the table does not store it.
    pub fn counter(&self, ty: DataType, idx: u8) -> Option<u64> {
        let s = self.shape.slot(ty, idx).filter(|_| !ty.is_rate())?;
        Some(self.lock().counters[s])
    }

    /// A rate's value over its period; None when the table does not store it.
    pub fn rate(&self, ty: DataType, idx: u8) -> Option<u64> {
        let s = self.shape.slot(ty, idx).filter(|_| ty.is_rate())?;
        let p = self.shape.period[ty.index()];
        Some(u64::from(self.lock().rates[s].read(p, now_ms())))
    }

    /// The `stick on` server.
    pub fn server(&self) -> Option<usize> {
        self.lock().server
    }

    /// Applies `f` to the counter and the rate it has (either may be absent), then
    /// refreshes the expiry when the table stores either (stktable_touch_local). Gives
    /// what `f` returns, None when the table stores neither.
    pub fn update<R>(
        &self,
        (cnt, rate): ((DataType, u8), (DataType, u8)),
        f: impl FnOnce(Option<&mut u64>, Option<(&mut RateCell, u32)>) -> R,
    ) -> Option<R> {
        // A counter's slot is no rate's: each kind has its own list.
        let c = self.shape.slot(cnt.0, cnt.1).filter(|_| !cnt.0.is_rate());
        let r = self.shape.slot(rate.0, rate.1).filter(|_| rate.0.is_rate());
        if c.is_none() && r.is_none() {
            return None;
        }
        let period = self.shape.period[rate.0.index()];
        let mut d = self.lock();
        let d = &mut *d;
        let counter = c.map(|i| &mut d.counters[i]);
        let mut cell = r.map(|i| RateCell(&mut d.rates[i]));
        let out = f(counter, cell.as_mut().map(|c| (c, period)));
        self.local(d);
        Some(out)
    }

    /// Adds one to a counter and its rate (conn_cnt and conn_rate, http_req_*, …): what
    /// the table stores of the pair.
    pub fn bump(&self, cnt: DataType, rate: DataType) {
        self.update(((cnt, 0), (rate, 0)), |c, r| {
            if let Some(c) = c {
                *c = c.wrapping_add(1);
            }
            if let Some((r, p)) = r {
                r.add(p, 1);
            }
        });
    }

    /// Changes `conn_cur` by one up or down (never below 0), refreshing the expiry.
    pub fn conn_cur(&self, up: bool) {
        let Some(s) = self.shape.slot(DataType::ConnCur, 0) else {
            return;
        };
        let mut d = self.lock();
        let v = &mut d.counters[s];
        *v = if up {
            v.wrapping_add(1)
        } else {
            v.saturating_sub(1)
        };
        self.local(&mut d);
    }

    /// Refreshes the expiry (a new tracker: stream_start_counters).
    pub fn touch(&self) {
        self.local(&mut self.lock());
    }

    /// Milliseconds before it expires (0 without `expire`, or when due).
    pub fn expires_in(&self) -> u64 {
        let Some(t) = self.shape.expire else { return 0 };
        t.saturating_sub(self.lock().touched.elapsed()).as_millis() as u64
    }

    /// Every stored datum in haproxy's order, element by element, rates read now:
    /// (type, element, value, the rate's period in ms).
    pub fn values(&self) -> Vec<(DataType, u8, u64, u32)> {
        let d = self.lock();
        let now = now_ms();
        let mut out = Vec::new();
        for &ty in DATA_TYPES {
            let Some((first, n)) = self.shape.at[ty.index()] else {
                continue;
            };
            let period = self.shape.period[ty.index()];
            for i in 0..n {
                let s = usize::from(first) + usize::from(i);
                let v = if ty.is_rate() {
                    u64::from(d.rates[s].read(period, now))
                } else {
                    d.counters[s]
                };
                out.push((ty, i, v, period));
            }
        }
        out
    }

    /// `set table … data.<type> <value>`: element 0 of `ty` takes `v` (a rate: as its
    /// current period's count, the previous one forgotten). False when not stored.
    pub fn set(&self, ty: DataType, v: i64) -> bool {
        let Some(s) = self.shape.slot(ty, 0) else {
            return false;
        };
        let mut d = self.lock();
        self.local(&mut d);
        if ty.is_rate() {
            d.rates[s] = Freq {
                tick: now_ms() & !1,
                curr: v as u32,
                prev: 0,
            };
        } else {
            d.counters[s] = v as u64;
        }
        true
    }

    /// Points the entry at `server` (`set table … data.server_id`): its name is not
    /// kept (shown as "-").
    pub fn set_server(&self, server: Option<usize>) {
        let mut d = self.lock();
        d.server = server;
        d.keyed = false;
        self.local(&mut d);
    }

    /// The stick server and whether its name was stored with it.
    pub fn server_keyed(&self) -> (Option<usize>, bool) {
        let d = self.lock();
        (d.server, d.keyed)
    }
}

/// A rate being updated.
pub struct RateCell<'a>(&'a mut Freq);

impl RateCell<'_> {
    /// Adds `inc` events now; gives the current period's count.
    pub fn add(&mut self, period: u32, inc: u32) -> u32 {
        self.0.add(period, inc, now_ms())
    }

    /// The current period's count (haproxy's `curr_ctr`).
    pub fn current(&self) -> u32 {
        self.0.curr
    }
}

fn to_v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

#[cfg(test)]
mod tests;
