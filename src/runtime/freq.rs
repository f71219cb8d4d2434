//! haproxy's frequency counters (freq_ctr.h, freq_ctr.c): events in the current period
//! and the previous one, read as a sliding window. Stick-table rates and the accept
//! rate limits (`rate-limit sessions`, `maxconnrate`, `maxsessrate`) count with them.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// haproxy's millisecond clock (`global_now_ms`), here from a fixed start far enough in
/// the past that a new counter's first event always opens a period.
pub fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    start.elapsed().as_millis() as u64 + (1 << 32)
}

/// haproxy's `freq_ctr`: events in the current period and in the previous one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Freq {
    /// When the current period started (its lowest bit clear, as haproxy's).
    pub tick: u64,
    /// Events in the current period.
    pub curr: u32,
    /// Events in the previous period.
    pub prev: u32,
}

impl Freq {
    /// update_freq_ctr_period: adds `inc`, rotating the periods when the current one is
    /// over (and forgetting both when two have passed).
    pub fn add(&mut self, period: u32, inc: u32, now: u64) -> u32 {
        let p = u64::from(period);
        if now.wrapping_sub(self.tick) < p {
            self.curr = self.curr.wrapping_add(inc);
            return self.curr;
        }
        self.prev = self.curr;
        self.curr = inc;
        self.tick += p;
        if now.wrapping_sub(self.tick) >= p {
            self.prev = 0;
            self.tick = now;
        }
        // haproxy's tick keeps its lowest bit for a lock.
        self.tick &= !1;
        inc
    }

    /// freq_ctr_total: the events over the last period times the period, the previous
    /// period's share weighted by the time left in the current one, plus `pend` events
    /// to come; None for `pend` asks for the flapping correction at very low rates.
    fn total(&self, period: u32, pend: Option<u32>, now: u64) -> u64 {
        let p = i64::from(period);
        let (mut curr, mut past) = (u64::from(self.curr), u64::from(self.prev));
        let mut remain = self.tick as i64 + p - now as i64;
        if remain < 0 {
            remain += p;
            past = if remain >= 0 { curr } else { 0 };
            curr = 0;
        }
        let pend = match pend {
            Some(n) => u64::from(n),
            None if curr == 0 && past <= 1 => return past * p as u64,
            None => 0,
        };
        past * remain.max(0) as u64 + (curr + pend) * p as u64
    }

    /// read_freq_ctr_period: the events over the last period.
    pub fn read(&self, period: u32, now: u64) -> u32 {
        if period == 0 {
            return self.curr;
        }
        (self.total(period, None, now) / u64::from(period)) as u32
    }

    /// freq_ctr_remain: how many more events one second allows under `freq`.
    pub fn remain(&self, freq: u32, now: u64) -> u32 {
        let avg = (self.total(1000, Some(0), now) / 1000).min(u64::from(freq)) as u32;
        freq - avg
    }

    /// next_event_delay: how many milliseconds until `freq` per second allows one more
    /// event (0: now; else at least 1).
    pub fn next_event_delay(&self, freq: u32, now: u64) -> u64 {
        let total = self.total(1000, Some(0), now);
        let limit = u64::from(freq) * 1000;
        if total < limit {
            return 0;
        }
        ((total - limit) / u64::from(freq.max(1))).max(1)
    }
}

/// A one-second rate shared by threads, with an optional limit (0: none) that the
/// stats socket may change.
#[derive(Debug, Default)]
pub struct Rate {
    freq: Mutex<Freq>,
    /// The highest rate seen (`show info` MaxConnRate, `show stat` rate_max).
    max: std::sync::atomic::AtomicU32,
    /// Events per second allowed (0: unlimited).
    pub limit: std::sync::atomic::AtomicU32,
}

impl Rate {
    /// A rate limited to `limit` per second (0: unlimited).
    pub fn limited(limit: u32) -> Self {
        let r = Rate::default();
        r.limit.store(limit, std::sync::atomic::Ordering::Relaxed);
        r
    }

    /// One more event.
    pub fn add(&self) {
        let n = self
            .freq
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(1000, 1, now_ms());
        self.max.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Events over the last second.
    pub fn read(&self) -> u32 {
        let f = *self.freq.lock().unwrap_or_else(|e| e.into_inner());
        f.read(1000, now_ms())
    }

    /// The highest rate seen.
    pub fn max(&self) -> u32 {
        self.max.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How long to wait before the limit allows one more event (None: now, or no limit).
    pub fn wait(&self) -> Option<std::time::Duration> {
        let limit = self.limit.load(std::sync::atomic::Ordering::Relaxed);
        if limit == 0 {
            return None;
        }
        let f = *self.freq.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_ms();
        (f.remain(limit, now) == 0)
            .then(|| std::time::Duration::from_millis(f.next_event_delay(limit, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_wait_as_haproxy_computes() {
        let t0 = 1 << 32;
        let mut f = Freq::default();
        for _ in 0..10 {
            f.add(1000, 1, t0);
        }
        // Ten in this second under a limit of ten: none left, the next in 1 ms.
        assert_eq!(f.remain(10, t0 + 100), 0);
        assert_eq!(f.next_event_delay(10, t0 + 100), 1);
        // 400 ms into the next second, 60% of the ten still count: four more now.
        assert_eq!(f.remain(10, t0 + 1400), 4);
        assert_eq!(f.next_event_delay(10, t0 + 1400), 0);
        // Twenty in a second under ten: a wait of (20 - 10) × 1000 / 10 ms.
        let mut g = Freq::default();
        for _ in 0..20 {
            g.add(1000, 1, t0);
        }
        assert_eq!(g.next_event_delay(10, t0 + 10), 1000);
    }
}
