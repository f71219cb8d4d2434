//! `busy-polling` (configuration.txt §3.2): the worker threads never sleep in `epoll_wait`.
//!
//! On a virtual machine the wakeup of an idle CPU is most of what a proxy adds to a
//! message's latency; a thread that keeps polling with a zero timeout is woken by nothing
//! and sees the next event at once, at the cost of a busy core. Each worker runs one task
//! that only yields: tokio then polls the I/O driver without blocking between two runs
//! of it, which is what HAProxy's zero-timeout poller loop does. A soft stop turns it off
//! (an old process finishing its sessions should not take the core from the new one).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// Whether busy polling is wanted now (the current configuration, not stopping).
static WANTED: AtomicBool = AtomicBool::new(false);
/// Spinning tasks alive.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Turns busy polling on (one spinning task per worker thread) or off; called at start,
/// after each reload and at a soft stop, from inside the runtime.
pub fn set(on: bool, threads: usize) {
    WANTED.store(on, Relaxed);
    if !on {
        return;
    }
    while RUNNING.load(Relaxed) < threads.max(1) {
        RUNNING.fetch_add(1, Relaxed);
        tokio::spawn(spin());
    }
}

async fn spin() {
    while WANTED.load(Relaxed) {
        tokio::task::yield_now().await;
    }
    RUNNING.fetch_sub(1, Relaxed);
}
