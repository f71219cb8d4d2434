//! Sessions waiting for a server slot (haproxy's pending connections, configuration.txt
//! §4.2 `maxconn`, `maxqueue`, `timeout queue`): one FIFO per server, for sessions whose
//! server is already chosen (a hash, a stick rule), and one per backend, for sessions any
//! server may take once a slot frees (every server was full when they came).
//!
//! A freed slot goes to the oldest waiter of its server's queue and of the backend's, as
//! haproxy's `pendconn_process_next_strm` does. The queues live under the balancer's lock,
//! so a slot can never free between "all full" and "queued".

use std::collections::VecDeque;

use tokio::sync::oneshot;

/// What a waiting session receives instead of a server: choose again.
pub const REASSIGN: usize = usize::MAX;

/// One waiting session: its arrival order and where to send the server it gets.
#[derive(Debug)]
struct Waiter {
    seq: u64,
    tx: oneshot::Sender<usize>,
}

/// Which queue a session waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Server `n`'s own queue.
    Server(usize),
    /// The backend's queue.
    Backend,
}

/// The queues of one backend.
#[derive(Debug, Default)]
pub struct Queues {
    servers: Vec<VecDeque<Waiter>>,
    backend: VecDeque<Waiter>,
    seq: u64,
}

impl Queues {
    /// Empty queues for `n` servers.
    pub fn new(n: usize) -> Self {
        Queues {
            servers: (0..n).map(|_| VecDeque::new()).collect(),
            ..Default::default()
        }
    }

    /// Sessions waiting for server `s` in particular.
    pub fn server_len(&self, s: usize) -> u32 {
        self.servers.get(s).map_or(0, |q| q.len() as u32)
    }

    /// Sessions waiting for any server.
    pub fn backend_len(&self) -> u32 {
        self.backend.len() as u32
    }

    /// Queues a session: its ticket number, its 1-based position (what haproxy logs), and
    /// where its server will arrive.
    pub fn push(&mut self, line: Line) -> (u64, u32, oneshot::Receiver<usize>) {
        self.seq += 1;
        let (tx, rx) = oneshot::channel();
        let q = match line {
            Line::Server(s) => &mut self.servers[s],
            Line::Backend => &mut self.backend,
        };
        q.push_back(Waiter { seq: self.seq, tx });
        (self.seq, q.len() as u32, rx)
    }

    /// Takes ticket `seq` out (its session gave up); false when it already got a server.
    pub fn remove(&mut self, seq: u64) -> Option<Line> {
        for (s, q) in self.servers.iter_mut().enumerate() {
            if let Some(i) = q.iter().position(|w| w.seq == seq) {
                q.remove(i);
                return Some(Line::Server(s));
            }
        }
        let i = self.backend.iter().position(|w| w.seq == seq)?;
        self.backend.remove(i);
        Some(Line::Backend)
    }

    /// Sends every session waiting for server `s` back to balancing (they receive
    /// [`REASSIGN`]): how many were still there to take it.
    pub fn send_back(&mut self, s: usize) -> u32 {
        let mut n = 0;
        for w in self.servers[s].drain(..) {
            n += u32::from(w.tx.send(REASSIGN).is_ok());
        }
        n
    }

    /// Gives a free slot of server `s` to the oldest waiter that can take it (the
    /// backend's only when `backend_ok`). Returns the queue it came from, or None when no
    /// live waiter is left (a waiter whose session is gone is skipped).
    pub fn hand_over(&mut self, s: usize, backend_ok: bool) -> Option<Line> {
        loop {
            let own = self.servers[s].front().map(|w| w.seq);
            let any = self.backend.front().map(|w| w.seq).filter(|_| backend_ok);
            let (w, line) = match (own, any) {
                (Some(a), Some(b)) if b < a => (self.backend.pop_front()?, Line::Backend),
                (Some(_), _) => (self.servers[s].pop_front()?, Line::Server(s)),
                (None, Some(_)) => (self.backend.pop_front()?, Line::Backend),
                (None, None) => return None,
            };
            if w.tx.send(s).is_ok() {
                return Some(line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_waiter_first_across_both_queues() {
        let mut q = Queues::new(2);
        let (_, p1, mut b1) = q.push(Line::Backend);
        let (_, p2, mut s0) = q.push(Line::Server(0));
        let (_, p3, mut b2) = q.push(Line::Backend);
        assert_eq!((p1, p2, p3), (1, 1, 2));
        assert_eq!(q.hand_over(0, true), Some(Line::Backend));
        assert_eq!(b1.try_recv(), Ok(0));
        assert_eq!(q.hand_over(0, true), Some(Line::Server(0)));
        assert_eq!(s0.try_recv(), Ok(0));
        // Server 1 cannot take the backend's sessions (say, a backup): nothing moves.
        assert_eq!(q.hand_over(1, false), None);
        assert_eq!(q.hand_over(1, true), Some(Line::Backend));
        assert_eq!(b2.try_recv(), Ok(1));
        assert_eq!(q.hand_over(1, true), None);
    }

    #[test]
    fn gone_waiters_are_skipped_and_removed_ones_never_served() {
        let mut q = Queues::new(1);
        let (_, _, gone) = q.push(Line::Server(0));
        let (seq, _, _kept) = q.push(Line::Server(0));
        let (_, _, mut live) = q.push(Line::Server(0));
        drop(gone);
        assert_eq!(q.remove(seq), Some(Line::Server(0)));
        assert_eq!(q.remove(seq), None);
        assert_eq!(q.hand_over(0, false), Some(Line::Server(0)));
        assert_eq!(live.try_recv(), Ok(0));
        assert_eq!(q.server_len(0), 0);
    }
}
