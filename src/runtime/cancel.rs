//! Ending sessions from outside: a hard stop, or a server marked DOWN with
//! `on-marked-down shutdown-sessions`. The forwarder polls a [`Cancel`]; load balancing
//! keeps a [`Registry`] of them per server. A leaf module, so neither side imports the other.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

/// Why a session is ended from outside: the first letter of its termination state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Hard stop, `shutdown sessions server`: `K`.
    Killed = 1,
    /// Its server went DOWN with `on-marked-down shutdown-sessions`: `D`.
    Down = 2,
    /// A backup's session when an active server came UP with `on-marked-up
    /// shutdown-backup-sessions`: `U`.
    Up = 3,
}

/// A request to end a session from outside (hard stop, server marked DOWN).
#[derive(Debug, Default)]
pub struct Cancel {
    reason: AtomicU8,
    waker: Mutex<Option<Waker>>,
}

impl Cancel {
    /// Ends the session at its next wake-up, waking it now (the first reason stands).
    pub fn cancel(&self, why: Reason) {
        let _ = self
            .reason
            .compare_exchange(0, why as u8, Ordering::AcqRel, Ordering::Acquire);
        if let Some(w) = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            w.wake();
        }
    }

    fn reason(&self) -> Option<Reason> {
        match self.reason.load(Ordering::Acquire) {
            0 => None,
            2 => Some(Reason::Down),
            3 => Some(Reason::Up),
            _ => Some(Reason::Killed),
        }
    }

    pub(crate) fn poll(&self, cx: &Context<'_>) -> Option<Reason> {
        if let Some(r) = self.reason() {
            return Some(r);
        }
        let mut w = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match w.as_ref() {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => *w = Some(cx.waker().clone()),
        }
        self.reason()
    }
}

/// The sessions of one server that can be ended from outside.
#[derive(Debug, Default)]
pub struct Registry {
    next: std::sync::atomic::AtomicU64,
    live: Mutex<std::collections::HashMap<u64, Arc<Cancel>>>,
}

impl Registry {
    /// Registers a session; keep the id to unregister it when it ends.
    pub fn register(&self) -> (u64, Arc<Cancel>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let c = Arc::new(Cancel::default());
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, c.clone());
        (id, c)
    }

    /// The session ended.
    pub fn unregister(&self, id: u64) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Ends every registered session.
    pub fn cancel_all(&self, why: Reason) {
        for c in self.live.lock().unwrap_or_else(|e| e.into_inner()).values() {
            c.cancel(why);
        }
    }
}
