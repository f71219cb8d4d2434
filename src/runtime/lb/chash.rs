//! Consistent hashing as HAProxy 2.6 does it (`lb_chash.c`), and the hash functions
//! `hash-type` names (`hash.c`), so the same key reaches the same server as under haproxy.
//!
//! Each usable server owns `weight × 16` points on a 32-bit ring, at
//! `full_hash(id × 4096 + n)`. A key goes to the point nearest to it, before or after (the
//! one before on a tie), so a server leaving moves only the keys that were on its points.
//! Pure data: no I/O, no clock.

use crate::ir::HashFn;

/// HAProxy's `SRV_EWGHT_RANGE`: point numbers of one server never reach the next id's.
const EWGHT_RANGE: u32 = 256 * 16;

/// Bob Jenkins' 32-bit integer mix with haproxy's final multiplication (`full_hash`):
/// ring points, and `avalanche` keys.
pub fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

/// `hash-type`'s function over `key` (haproxy's `gen_hash`).
pub fn hash(f: HashFn, key: &[u8]) -> u32 {
    match f {
        HashFn::Sdbm => key.iter().fold(0u32, |h, &c| {
            u32::from(c)
                .wrapping_add(h << 6)
                .wrapping_add(h << 16)
                .wrapping_sub(h)
        }),
        HashFn::Djb2 => key.iter().fold(5381u32, |h, &c| {
            (h << 5).wrapping_add(h).wrapping_add(c.into())
        }),
        HashFn::Crc32 => {
            let mut h = !0u32;
            for &c in key {
                h ^= u32::from(c);
                for _ in 0..8 {
                    h = (h >> 1) ^ if h & 1 != 0 { 0xedb8_8320 } else { 0 };
                }
            }
            !h
        }
        HashFn::Wt6 => wt6(key),
    }
}

fn wt6(key: &[u8]) -> u32 {
    let (mut h0, mut h1) = (0xa53c_965a_u32, 0x5ca6_953a_u32);
    let (mut step0, mut step1) = (6u32, 18u32);
    for &c in key {
        let t = u32::from(c);
        h0 = !(h0 ^ t);
        h1 = !(h1.wrapping_add(t));
        let t = h1.rotate_left(step0);
        h1 = h0.rotate_left(step1);
        h0 = t;
        let t = ((h0 >> 16) ^ h1) & 0xffff;
        step0 = t & 0x1f;
        step1 = t >> 11;
    }
    h0 ^ h1
}

/// One point: its key, insertion order among equal keys, server, point number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    key: u32,
    seq: u64,
    srv: usize,
    n: u32,
}

/// One ring (haproxy keeps one for active servers and one for backups).
#[derive(Debug, Clone, Default)]
pub struct Ring {
    /// Sorted by (key, seq): haproxy's tree keeps equal keys in insertion order.
    points: Vec<Point>,
    seq: u64,
    /// The point `next_server` stopped at (haproxy's `chash.last`).
    last: Option<(usize, u32)>,
}

impl Ring {
    fn position(&self, srv: usize, n: u32) -> Option<usize> {
        self.points.iter().position(|p| p.srv == srv && p.n == n)
    }

    /// Points server `srv` (ring id `id`) owns now.
    pub fn count(&self, srv: usize) -> u32 {
        self.points.iter().filter(|p| p.srv == srv).count() as u32
    }

    /// Gives server `srv` exactly `want` points (`chash_queue_dequeue_srv`): the last
    /// ones go first, new ones are added in order.
    pub fn set_points(&mut self, srv: usize, id: u32, want: u32) {
        let mut now = self.count(srv);
        while now > want {
            now -= 1;
            self.remove_point(srv, now);
        }
        while now < want {
            let key = full_hash(id.wrapping_mul(EWGHT_RANGE).wrapping_add(now));
            self.seq += 1;
            let at = self
                .points
                .partition_point(|p| (p.key, p.seq) <= (key, self.seq));
            self.points.insert(
                at,
                Point {
                    key,
                    seq: self.seq,
                    srv,
                    n: now,
                },
            );
            now += 1;
        }
    }

    fn remove_point(&mut self, srv: usize, n: u32) {
        let Some(at) = self.position(srv, n) else {
            return;
        };
        // haproxy moves its walk pointer to the next point before deleting this one.
        if self.last == Some((srv, n)) {
            self.last = if self.points.len() > 1 {
                let p = self.points[(at + 1) % self.points.len()];
                Some((p.srv, p.n))
            } else {
                None
            };
        }
        self.points.remove(at);
    }

    /// The server nearest to `hash` (`chash_get_server_hash`), walking on past `avoid`
    /// and the servers not `eligible` (`hash-balance-factor`).
    pub fn lookup(
        &self,
        hash: u32,
        avoid: Option<usize>,
        eligible: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let len = self.points.len();
        if len == 0 {
            return None;
        }
        let next = self.points.partition_point(|p| p.key < hash) % len;
        let prev = (next + len - 1) % len;
        let (dp, dn) = (
            hash.wrapping_sub(self.points[prev].key),
            self.points[next].key.wrapping_sub(hash),
        );
        let mut at = if dp <= dn { prev } else { next };
        let mut wrapped = 0;
        while Some(self.points[at].srv) == avoid || !eligible(self.points[at].srv) {
            at += 1;
            if at == len {
                at = 0;
                wrapped += 1;
                if wrapped > 1 {
                    break;
                }
            }
        }
        Some(self.points[at].srv)
    }

    /// The next server along the ring from where the last walk stopped, skipping the
    /// `full` ones and `avoid` unless nothing else is left (`chash_get_next_server`):
    /// round robin on the ring, for a hash whose key is missing.
    pub fn next_server(
        &mut self,
        avoid: Option<usize>,
        full: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let len = self.points.len();
        if len == 0 {
            return None;
        }
        let start = self.last.and_then(|(s, n)| self.position(s, n));
        let mut at = start;
        let mut stop = start;
        let mut avoided = None;
        loop {
            let i = match at {
                Some(i) => (i + 1) % len,
                None => 0,
            };
            at = Some(i);
            let p = self.points[i];
            self.last = Some((p.srv, p.n));
            if stop.is_none() {
                stop = Some(i);
            }
            if !full(p.srv) {
                if Some(p.srv) != avoid {
                    return Some(p.srv);
                }
                avoided = Some(i);
            }
            if at == stop {
                break;
            }
        }
        let i = avoided?;
        let p = self.points[i];
        self.last = Some((p.srv, p.n));
        Some(p.srv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_functions_match_haproxys() {
        // Reference values from haproxy's C functions compiled on the same inputs.
        assert_eq!(hash(HashFn::Crc32, b"123456789"), 0xcbf4_3926);
        assert_eq!(hash(HashFn::Djb2, b""), 5381);
        assert_eq!(hash(HashFn::Djb2, b"a"), 5381 * 33 + 97);
        assert_eq!(hash(HashFn::Sdbm, b"a"), 97);
        assert_eq!(hash(HashFn::Sdbm, b"ab"), 98 + (97 << 6) + (97 << 16) - 97);
        assert_eq!(full_hash(0), 2_874_071_335);
        assert_eq!(full_hash(4096), 1_237_450_891);
        assert_eq!(full_hash(0x7f00_0001), 2_317_047_883);
        assert_eq!(hash(HashFn::Wt6, b"client-42"), 1_740_885_273);
    }

    #[test]
    fn a_server_leaving_moves_only_its_keys() {
        let mut r = Ring::default();
        for s in 0..3 {
            r.set_points(s, s as u32 + 1, 16);
        }
        let before: Vec<_> = (0..2000u32)
            .map(|k| r.lookup(full_hash(k), None, |_| true).unwrap())
            .collect();
        r.set_points(1, 2, 0);
        for (k, was) in before.iter().enumerate() {
            let now = r.lookup(full_hash(k as u32), None, |_| true).unwrap();
            if *was != 1 {
                assert_eq!(now, *was, "key {k} moved though its server stayed");
            } else {
                assert_ne!(now, 1);
            }
        }
        // Back with the same points: every key goes home.
        r.set_points(1, 2, 16);
        for (k, was) in before.iter().enumerate() {
            assert_eq!(r.lookup(full_hash(k as u32), None, |_| true).unwrap(), *was);
        }
    }

    #[test]
    fn next_server_walks_the_ring_and_skips_full_ones() {
        let mut r = Ring::default();
        r.set_points(0, 1, 16);
        r.set_points(1, 2, 16);
        let mut seen = [0u32; 2];
        for _ in 0..64 {
            seen[r.next_server(None, |_| false).unwrap()] += 1;
        }
        assert_eq!(seen, [32, 32]);
        for _ in 0..10 {
            assert_eq!(r.next_server(None, |s| s == 0), Some(1));
        }
        assert_eq!(
            r.next_server(Some(1), |s| s == 0),
            Some(1),
            "avoided, yet the only one"
        );
        assert_eq!(r.next_server(None, |_| true), None);
    }
}
