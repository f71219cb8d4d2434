//! A connection limit the stats socket can change while sessions hold its slots
//! (`set maxconn global`, `set maxconn frontend`). Lowered under the slots in use, the
//! surplus is a debt that the next slots to come free pay: the accept loop that takes
//! one throws it away and waits for another, so no client is accepted until the count
//! is under the new limit, as haproxy stops accepting until it is.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A semaphore of `limit` slots.
#[derive(Debug)]
pub struct DynLimit {
    sem: Arc<Semaphore>,
    /// Slots still to be taken out of use as they come free.
    debt: AtomicU32,
    /// The limit in force.
    limit: Mutex<u32>,
}

impl DynLimit {
    /// `n` slots.
    pub fn new(n: u32) -> Self {
        DynLimit {
            sem: Arc::new(Semaphore::new(n as usize)),
            debt: AtomicU32::new(0),
            limit: Mutex::new(n),
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> u32 {
        *self.limit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot, once one is free and owed to no lowered limit (None: closed).
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        loop {
            let p = self.sem.clone().acquire_owned().await.ok()?;
            let paid = self
                .debt
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
                .is_ok();
            if !paid {
                return Some(p);
            }
            p.forget();
        }
    }

    /// Sets the limit to `n`: free slots are taken out at once, the others owed.
    pub fn set(&self, n: u32) {
        let mut limit = self.limit.lock().unwrap_or_else(|e| e.into_inner());
        if n < *limit {
            let cut = *limit - n;
            let gone = self.sem.forget_permits(cut as usize) as u32;
            self.debt.fetch_add(cut - gone, Ordering::AcqRel);
        } else {
            let more = n - *limit;
            // What is still owed is forgiven first.
            let forgiven = self
                .debt
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                    Some(d.saturating_sub(more))
                })
                .map_or(0, |d| d.min(more));
            self.sem.add_permits((more - forgiven) as usize);
        }
        *limit = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_in_use_are_owed_until_they_come_free() {
        let l = DynLimit::new(3);
        let a = l.acquire().await.unwrap();
        let b = l.acquire().await.unwrap();
        l.set(1);
        assert_eq!(
            l.sem.available_permits(),
            0,
            "the free slot is gone at once"
        );
        drop(a);
        // The slot that came free pays the debt: nothing for a new session yet.
        let next = tokio::time::timeout(std::time::Duration::from_millis(50), l.acquire()).await;
        assert!(next.is_err());
        drop(b);
        let one = l.acquire().await.unwrap();
        assert_eq!(l.sem.available_permits(), 0);
        drop(one);
        l.set(5);
        assert_eq!((l.sem.available_permits(), l.limit()), (5, 5));
        l.set(0);
        assert_eq!(l.sem.available_permits(), 0);
    }
}
