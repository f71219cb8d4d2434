//! A server's idle HTTP connections (haproxy's idle and safe lists with `http-reuse
//! safe`, its default): a connection whose response ended cleanly waits here, and a
//! later request of any session (not a session's first) takes the oldest one still
//! open. Connections carrying a PROXY header belong to their client and never come here.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use socket2::SockRef;

use crate::runtime::stream::ServerEnd;

/// At most this many idle connections per server; the oldest go first.
const MAX: usize = 64;

/// haproxy's `pool-purge-delay` default: an idle connection older than this is closed.
const PURGE: Duration = Duration::from_secs(5);

/// The idle connections of one server, oldest first.
#[derive(Default)]
pub struct IdlePool {
    conns: Mutex<VecDeque<(ServerEnd, Instant)>>,
}

impl std::fmt::Debug for IdlePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.conns.lock().map_or(0, |c| c.len());
        write!(f, "IdlePool({n})")
    }
}

/// Still usable: the server neither closed it nor sent anything unasked.
pub fn alive(c: &ServerEnd) -> bool {
    let mut b = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    matches!(
        SockRef::from(c.tcp()).peek(&mut b),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
    )
}

impl IdlePool {
    /// Keeps `c` for a later request.
    pub fn put(&self, c: ServerEnd) {
        let mut q = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        while q
            .front()
            .is_some_and(|(_, t)| q.len() >= MAX || now.duration_since(*t) > PURGE)
        {
            q.pop_front();
        }
        q.push_back((c, now));
    }

    /// The oldest idle connection still open, if any.
    pub fn take(&self) -> Option<ServerEnd> {
        let mut q = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        while let Some((c, t)) = q.pop_front() {
            if now.duration_since(t) <= PURGE && alive(&c) {
                return Some(c);
            }
        }
        None
    }
}
