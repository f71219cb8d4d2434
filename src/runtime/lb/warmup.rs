//! `slowstart`: a server coming back warms up, its weight (dynamic algorithms) and its
//! `maxconn` growing each second, as haproxy's `server_warmup` task does. The arithmetic
//! is the balancer's ([`crate::runtime::lb::balance::Balancer::warm`]); this is the clock.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::runtime::lb::state::{unix_secs, Shared};

/// Starts the warm-up clock of a configuration generation with any `slowstart` server;
/// it ends with the generation.
pub fn spawn(shared: &Arc<Shared>) {
    let any = shared
        .backends
        .iter()
        .any(|b| b.servers.iter().any(|s| s.ir.slowstart > 0));
    if !any {
        return;
    }
    let sh = shared.clone();
    tokio::spawn(async move {
        loop {
            // Just after the next wall-clock second: haproxy counts warm-up time in whole
            // seconds, and its connection limit follows the second as soon as it turns.
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let wait = Duration::from_nanos(1_000_000_000 - u64::from(now.subsec_nanos()));
            tokio::time::sleep(wait + Duration::from_millis(1)).await;
            if sh.retired.load(Relaxed) {
                return;
            }
            let secs = unix_secs();
            for b in &sh.backends {
                b.warm_step(secs);
            }
        }
    });
}
