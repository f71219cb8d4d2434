//! The server connections a client session owns (haproxy's session server list): those
//! no other session may use (they carry this client's PROXY header or source address,
//! the backend shares none with `http-reuse never`, or a server authenticated the
//! connection with NTLM or Negotiate), kept idle between requests, and the preference
//! for their servers (`option prefer-last-server`, `max-keep-alive-queue`,
//! `max-session-srv-conns`; backend.c assign_server, session.h session_check_idle_conn).

use super::connect::source_of;
use super::route::Pin;
use crate::ir::{Balance, HttpReuse, SendProxy};
use crate::runtime::lb::idle::{alive, discard};
use crate::runtime::lb::state::BackendRt;
use crate::runtime::stream::ServerEnd;

/// Whether connections to server `srv` stay with their session: they carry its
/// client's PROXY header, or the backend shares none (`http-reuse never`).
pub(super) fn private_conns(b: &BackendRt, srv: usize) -> bool {
    b.servers[srv].ir.send_proxy != SendProxy::None
        || b.ir.http_reuse == HttpReuse::Never
        || source_of(b, srv).is_some_and(|s| s.per_client())
}

/// An idle server connection only its session may reuse.
pub(super) struct Idle {
    pub(super) bi: usize,
    pub(super) srv: usize,
    pub(super) end: ServerEnd,
}

/// A session's own server connections, oldest first, and whether a server asked for
/// connection-based authentication (haproxy's SESS_FL_PREFER_LAST).
#[derive(Default)]
pub(super) struct OwnConns {
    pub(super) idle: Vec<Idle>,
    pub(super) prefer_last: bool,
}

/// The session ends: its idle connections are reset, as haproxy resets them.
impl Drop for OwnConns {
    fn drop(&mut self) {
        for c in self.idle.drain(..).filter(|c| alive(&c.end)) {
            discard(c.end);
        }
    }
}

impl OwnConns {
    /// The idle connection to `srv` of backend `bi`, taken out (one the server closed is
    /// dropped).
    pub(super) fn take(&mut self, bi: usize, srv: usize) -> Option<ServerEnd> {
        let i = self.idle.iter().position(|c| c.bi == bi && c.srv == srv)?;
        Some(self.idle.remove(i).end).filter(alive)
    }

    /// Keeps a connection left idle, unless the session already keeps `max` of them
    /// (`max-session-srv-conns`; at most 0: none), when it is closed instead, as
    /// session_check_idle_conn does (the ones kept stay).
    pub(super) fn keep(&mut self, conn: Idle, max: i32) {
        // Those the servers closed meanwhile are gone from haproxy's count already
        // (closed without a reset: haproxy saw their end).
        self.idle.retain(|c| alive(&c.end));
        if (self.idle.len() as i64) < i64::from(max) {
            self.idle.push(conn);
        } else {
            discard(conn.end);
        }
    }

    /// The server a later request of the session prefers, before (and instead of) the
    /// balancer: the first of backend `bi`'s servers the session holds an idle
    /// connection to that is usable, and, unless a server asked for authentication,
    /// has room or a queue shorter than `max-keep-alive-queue`. Never with persistence
    /// or a hash algorithm (assign_server's BE_LB_KIND_HI test).
    pub(super) fn preferred(&self, b: &BackendRt, bi: usize, pin: Pin) -> Option<usize> {
        let hashed = matches!(
            b.ir.balance,
            Balance::Source | Balance::Hash(_) | Balance::Http(_)
        );
        if pin.server.is_some() || hashed || !(self.prefer_last || b.ir.prefer_last_server) {
            return None;
        }
        let ka_queue = (!self.prefer_last).then_some(b.ir.max_ka_queue);
        self.idle
            .iter()
            .filter(|c| c.bi == bi)
            .find(|c| b.keeps_preference(c.srv, ka_queue) && alive(&c.end))
            .map(|c| c.srv)
    }
}
