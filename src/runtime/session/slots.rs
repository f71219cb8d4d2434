//! What a session holds while it lives, as guards: its process and frontend counts and
//! `maxconn` slots, its backend count, its server slot. Dropping a guard gives the count
//! back, so a session that ends any way at all, a panic included, leaves nothing behind.

use crate::runtime::lb::state::Shared;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// The process and frontend `maxconn` slots a session holds until it ends.
pub type Permits = (
    tokio::sync::OwnedSemaphorePermit,
    Option<tokio::sync::OwnedSemaphorePermit>,
    Option<tokio::sync::OwnedSemaphorePermit>,
);

/// What an accepted session holds of the process and its frontend (`actconn`, `feconn`,
/// the `maxconn` slots): given back when dropped, so a session that ends any way at all,
/// a panic included, leaves no count behind (a soft-stopped process waits for these).
pub struct SessionSlot {
    pub(super) shared: Arc<Shared>,
    pub(super) fe: usize,
    pub(super) _permits: Permits,
}

impl SessionSlot {
    /// Counts a session just accepted on frontend `fe`.
    pub fn new(shared: Arc<Shared>, fe: usize, permits: Permits) -> Self {
        shared.actconn.fetch_add(1, Relaxed);
        let f = &shared.frontends[fe];
        f.traffic.sessions(f.feconn.fetch_add(1, Relaxed) + 1);
        SessionSlot {
            shared,
            fe,
            _permits: permits,
        }
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.shared.frontends[self.fe].feconn.fetch_sub(1, Relaxed);
        self.shared.actconn.fetch_sub(1, Relaxed);
        self.shared.session_ended();
    }
}

/// A session counted on a backend (`beconn`) until dropped.
pub(super) struct BackendSlot {
    pub(super) shared: Arc<Shared>,
    pub(super) bi: usize,
}

impl BackendSlot {
    pub(super) fn new(shared: &Arc<Shared>, bi: usize) -> Self {
        let b = &shared.backends[bi];
        b.traffic.sessions(b.beconn.fetch_add(1, Relaxed) + 1);
        b.cumulated.fetch_add(1, Relaxed);
        BackendSlot {
            shared: shared.clone(),
            bi,
        }
    }
}

impl Drop for BackendSlot {
    fn drop(&mut self) {
        self.shared.backends[self.bi].beconn.fetch_sub(1, Relaxed);
    }
}

/// A session's slot on a server (from `BackendRt::assign`, at once or from a queue) until
/// dropped; dropping it hands the slot to the oldest waiting session.
pub(super) struct ServerSlot {
    pub(super) shared: Arc<Shared>,
    pub(super) bi: usize,
    pub(super) srv: usize,
}

impl Drop for ServerSlot {
    fn drop(&mut self) {
        self.shared.backends[self.bi].release(self.srv);
    }
}
