//! Stick tables: key → server, as `stick on` uses them (configuration.txt §4.2
//! `stick-table`, `stick on`). An entry lives `expire` after it was last stored or matched;
//! a full table drops its oldest entries (about size/256 + 1 at a time, as HAProxy purges),
//! or with `nopurge` refuses new ones. Tables start empty at every (re)load.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ir::{StickKey, StickTable};

/// One table and its entries.
#[derive(Debug)]
pub struct Table {
    cfg: StickTable,
    entries: Mutex<HashMap<Box<[u8]>, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    server: usize,
    touched: Instant,
}

/// A sample before it is shaped into a key of the table's type.
pub enum Raw<'a> {
    /// An address (`src`).
    Addr(IpAddr),
    /// Text or bytes (an MQTT field).
    Bytes(&'a [u8]),
}

impl Table {
    /// An empty table.
    pub fn new(cfg: StickTable) -> Self {
        Table {
            cfg,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Converts a sample to this table's key type, as HAProxy casts samples; None when it
    /// cannot be converted (then the rule does nothing).
    pub fn key(&self, raw: &Raw) -> Option<Box<[u8]>> {
        let v4 = |ip: &IpAddr| match ip {
            IpAddr::V4(a) => Some(a.octets()),
            IpAddr::V6(a) => a.to_ipv4_mapped().map(|a| a.octets()),
        };
        let k: Vec<u8> = match (self.cfg.key, raw) {
            (StickKey::Ip, Raw::Addr(ip)) => v4(ip)?.to_vec(),
            (StickKey::Ip, Raw::Bytes(b)) => {
                let ip: IpAddr = std::str::from_utf8(b).ok()?.parse().ok()?;
                v4(&ip)?.to_vec()
            }
            (StickKey::Ipv6, Raw::Addr(ip)) => to_v6(*ip).to_vec(),
            (StickKey::Ipv6, Raw::Bytes(b)) => {
                to_v6(std::str::from_utf8(b).ok()?.parse().ok()?).to_vec()
            }
            (StickKey::Integer, Raw::Addr(ip)) => {
                u32::from_be_bytes(v4(ip)?).to_be_bytes().to_vec()
            }
            (StickKey::Integer, Raw::Bytes(b)) => {
                let n: i64 = std::str::from_utf8(b).ok()?.trim().parse().ok()?;
                (n as u32).to_be_bytes().to_vec()
            }
            (StickKey::String(len) | StickKey::Binary(len), raw) => {
                let mut v = match raw {
                    Raw::Addr(ip) => ip.to_string().into_bytes(),
                    Raw::Bytes(b) => b.to_vec(),
                };
                // String keys compare as C strings: they stop at a NUL, then at `len`.
                if let (StickKey::String(_), Some(z)) =
                    (self.cfg.key, v.iter().position(|&c| c == 0))
                {
                    v.truncate(z);
                }
                v.truncate(len);
                v
            }
        };
        Some(k.into_boxed_slice())
    }

    /// The server `key` sticks to, refreshing the entry's expiry.
    pub fn lookup(&self, key: &[u8]) -> Option<usize> {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let e = m.get_mut(key)?;
        if self.expired(e, now) {
            m.remove(key);
            return None;
        }
        e.touched = now;
        Some(e.server)
    }

    /// Makes `key` stick to `server` (re-pointing an existing entry).
    pub fn store(&self, key: Box<[u8]>, server: usize) {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(e) = m.get_mut(&key) {
            *e = Entry {
                server,
                touched: now,
            };
            return;
        }
        if m.len() as u64 >= self.cfg.size {
            m.retain(|_, e| !self.expired(e, now));
        }
        if m.len() as u64 >= self.cfg.size {
            if self.cfg.nopurge {
                return;
            }
            let n = (self.cfg.size / 256 + 1) as usize;
            let mut ages: Vec<(Instant, Box<[u8]>)> =
                m.iter().map(|(k, e)| (e.touched, k.clone())).collect();
            let nth = n.min(ages.len()) - 1;
            ages.select_nth_unstable_by_key(nth, |(t, _)| *t);
            for (_, k) in ages.into_iter().take(n) {
                m.remove(&k);
            }
        }
        m.insert(
            key,
            Entry {
                server,
                touched: now,
            },
        );
    }

    /// Entries now (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expired(&self, e: &Entry, now: Instant) -> bool {
        self.cfg
            .expire
            .is_some_and(|t| now.duration_since(e.touched) >= t.max(Duration::from_millis(1)))
    }
}

fn to_v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(key: StickKey, size: u64, nopurge: bool) -> Table {
        Table::new(StickTable {
            key,
            size,
            expire: None,
            nopurge,
        })
    }

    #[test]
    fn string_keys_truncate_and_stick() {
        let t = table(StickKey::String(4), 10, false);
        let k = t.key(&Raw::Bytes(b"device-1")).unwrap();
        assert_eq!(&*k, b"devi");
        t.store(k.clone(), 2);
        assert_eq!(
            t.lookup(&t.key(&Raw::Bytes(b"devi-other")).unwrap()),
            Some(2)
        );
        t.store(k.clone(), 1);
        assert_eq!(t.lookup(&k), Some(1));
    }

    #[test]
    fn full_tables_purge_oldest_or_refuse() {
        let t = table(StickKey::Integer, 3, false);
        for i in 0..4u8 {
            t.store(Box::new([i]), i as usize);
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(&[0]), None);
        assert_eq!(t.lookup(&[3]), Some(3));
        let t = table(StickKey::Integer, 2, true);
        for i in 0..3u8 {
            t.store(Box::new([i]), i as usize);
        }
        assert_eq!(t.lookup(&[2]), None);
        assert_eq!(t.lookup(&[0]), Some(0));
    }

    #[test]
    fn addresses() {
        let t = table(StickKey::Ip, 10, false);
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        assert_eq!(&*t.key(&Raw::Addr(ip)).unwrap(), &[127, 0, 0, 9]);
        assert!(t.key(&Raw::Bytes(b"not an ip")).is_none());
    }
}
