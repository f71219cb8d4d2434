//! The server connections a client session owns (haproxy's session server list): those
//! no other session may use (they carry this client's PROXY header or source address,
//! the backend shares none with `http-reuse never`, or a server authenticated the
//! connection with NTLM or Negotiate), kept idle between requests, and the preference
//! for their servers (`option prefer-last-server`, `max-keep-alive-queue`,
//! `max-session-srv-conns`; backend.c assign_server, session.h session_check_idle_conn).

use super::connect::source_of;
use super::route::Pin;
use crate::ir::{HttpReuse, SendProxy};
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
    /// The unique id its PROXY header carried ([`header_id`]).
    pub(super) id: Option<Box<str>>,
}

/// The stream's unique id when the PROXY header to server `srv` carries it: a connection
/// is reused only for a stream with the same id, as haproxy hashes the header's bytes into
/// the connection's key (connect_server's proxy_prehash); the rest of the header is the
/// client connection's, the same for each request of the session.
pub(super) fn header_id<'a>(b: &BackendRt, srv: usize, id: &'a str) -> Option<&'a str> {
    let s = &b.servers[srv].ir;
    (s.send_proxy == SendProxy::V2 && s.proxy_v2.unique_id).then_some(id)
}

/// A session's own server connections in the order it first had each (haproxy's
/// session server list, where a connection stays while in use: `None` here), and
/// whether a server asked for connection-based authentication (SESS_FL_PREFER_LAST).
#[derive(Default)]
pub(super) struct OwnConns {
    conns: Vec<Own>,
    pub(super) prefer_last: bool,
}

/// One of the session's connections: its server, the connection while idle, and the
/// unique id its PROXY header carried.
struct Own {
    bi: usize,
    srv: usize,
    end: Option<ServerEnd>,
    id: Option<Box<str>>,
}

impl Own {
    fn idle(&self) -> Option<&ServerEnd> {
        self.end.as_ref().filter(|e| alive(e))
    }
}

/// The session ends: its idle connections are reset, as haproxy resets them.
impl Drop for OwnConns {
    fn drop(&mut self) {
        for c in self.conns.drain(..) {
            if let Some(e) = c.end.filter(alive) {
                discard(e);
            }
        }
    }
}

impl OwnConns {
    /// The idle connection to `srv` of backend `bi` whose PROXY header carried `id`,
    /// taken into use (its place kept); one the server closed is forgotten.
    pub(super) fn take(&mut self, bi: usize, srv: usize, id: Option<&str>) -> Option<ServerEnd> {
        let i = (self.conns.iter())
            .position(|c| c.bi == bi && c.srv == srv && c.end.is_some() && c.id.as_deref() == id)?;
        let end = self.conns[i].end.take().filter(alive);
        if end.is_none() {
            self.conns.remove(i);
        }
        end
    }

    /// Keeps a connection left idle, unless the session already keeps `max` of them
    /// (`max-session-srv-conns`; at most 0: none), when it is closed instead, as
    /// session_check_idle_conn does (the ones kept stay). A connection back from use
    /// takes its place again.
    pub(super) fn keep(&mut self, conn: Idle, max: i32) {
        // Those the servers closed meanwhile are gone from haproxy's count already
        // (closed without a reset: haproxy saw their end).
        self.conns.retain(|c| c.end.is_none() || c.idle().is_some());
        let idle = self.conns.iter().filter(|c| c.end.is_some()).count();
        let in_use = (self.conns.iter())
            .position(|c| c.bi == conn.bi && c.srv == conn.srv && c.end.is_none());
        if (idle as i64) >= i64::from(max) {
            discard(conn.end);
            self.forget_at(in_use);
            return;
        }
        match in_use {
            Some(i) => (self.conns[i].end, self.conns[i].id) = (Some(conn.end), conn.id),
            None => self.conns.push(Own {
                bi: conn.bi,
                srv: conn.srv,
                end: Some(conn.end),
                id: conn.id,
            }),
        }
    }

    /// A connection taken from here is not coming back (closed after its use).
    pub(super) fn forget(&mut self, bi: usize, srv: usize) {
        let i = (self.conns.iter()).position(|c| c.bi == bi && c.srv == srv && c.end.is_none());
        self.forget_at(i);
    }

    fn forget_at(&mut self, i: Option<usize>) {
        if let Some(i) = i {
            self.conns.remove(i);
        }
    }

    /// The server a later request of the session prefers, before (and instead of) the
    /// balancer: the first of backend `bi`'s servers the session holds an idle
    /// connection to that is usable, and, unless a server asked for authentication,
    /// has room or a queue shorter than `max-keep-alive-queue`. Never with persistence
    /// or a hash algorithm (assign_server's BE_LB_KIND_HI test).
    pub(super) fn preferred(&self, b: &BackendRt, bi: usize, pin: Pin) -> Option<usize> {
        if pin.server.is_some()
            || b.ir.balance.is_hash()
            || !(self.prefer_last || b.ir.prefer_last_server)
        {
            return None;
        }
        let ka_queue = (!self.prefer_last).then_some(b.ir.max_ka_queue);
        self.conns
            .iter()
            .filter(|c| c.bi == bi && c.idle().is_some())
            .find(|c| b.keeps_preference(c.srv, ka_queue))
            .map(|c| c.srv)
    }
}
