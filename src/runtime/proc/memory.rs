//! Memory back to the kernel after a burst: once the session count has fallen to half of
//! its peak (and by at least [`MIN_DROP`] sessions), the allocator's free pages are
//! released, so RSS follows the load down instead of staying at its high-water mark.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// A drop smaller than this is not worth a trim (a few hundred KB at most).
pub const MIN_DROP: u32 = 256;

/// How often the session count is looked at.
const TICK: Duration = Duration::from_secs(1);

/// Whether the drop from `peak` to `now` calls for a trim.
pub fn should_trim(peak: u32, now: u32) -> bool {
    peak.saturating_sub(now) >= MIN_DROP && now <= peak / 2
}

/// Watches `actconn` for the life of the runtime and trims after each large drop.
pub fn spawn_trimmer(actconn: Arc<AtomicU32>) {
    tokio::spawn(async move {
        let mut peak = 0u32;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = actconn.load(Relaxed);
            peak = peak.max(now);
            if should_trim(peak, now) {
                // malloc_trim can take milliseconds on a large heap: off the event loop.
                let _ = tokio::task::spawn_blocking(crate::sys::release_free_memory).await;
                peak = now;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_after_a_large_drop() {
        assert!(!should_trim(100, 0), "small bursts are left alone");
        assert!(should_trim(4000, 0));
        assert!(should_trim(4000, 2000));
        assert!(!should_trim(4000, 2001), "not yet half");
        assert!(!should_trim(0, 0));
    }
}
