//! Ending sessions from outside: a hard stop, or a server marked DOWN with
//! `on-marked-down shutdown-sessions`. The forwarder polls a [`Cancel`]; load balancing
//! keeps a [`Registry`] of them per server. A leaf module, so neither side imports the other.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

/// A request to end a session from outside (hard stop, server marked DOWN).
#[derive(Debug, Default)]
pub struct Cancel {
    flag: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Cancel {
    /// Ends the session at its next wake-up, waking it now.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Release);
        if let Some(w) = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            w.wake();
        }
    }

    pub(crate) fn poll(&self, cx: &Context<'_>) -> bool {
        if self.flag.load(Ordering::Acquire) {
            return true;
        }
        let mut w = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match w.as_ref() {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => *w = Some(cx.waker().clone()),
        }
        self.flag.load(Ordering::Acquire)
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
    pub fn cancel_all(&self) {
        for c in self.live.lock().unwrap_or_else(|e| e.into_inner()).values() {
            c.cancel();
        }
    }
}
