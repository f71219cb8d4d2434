//! The TLS handshake phase: the client side of a session, plain or TLS (`bind … ssl`),
//! bounded by `timeout client`, and what the session learns from it for PROXY v2 TLVs.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;

use super::close_log::connection_error;
use super::Info;
use crate::runtime::lb::state::Shared;
use crate::runtime::proto::proxy_protocol::SslInfo;

/// The client side of a session: plain TCP, or TLS over it.
pub(super) enum ClientConn {
    Plain(TcpStream),
    Tls(Box<crate::runtime::tls::stream::TlsServer>),
}

impl ClientConn {
    /// Runs content inspection on this client's data, appending what it reads to `buf`
    /// (sent to the server first); false when the rules reject the connection.
    pub(super) async fn inspect(&mut self, buf: &mut Vec<u8>, insp: &crate::ir::Inspect) -> bool {
        let (v, _) = match self {
            ClientConn::Plain(s) => crate::runtime::session::inspect::run(s, buf, insp).await,
            ClientConn::Tls(s) => {
                crate::runtime::session::inspect::run(s.as_mut(), buf, insp).await
            }
        };
        v == crate::runtime::session::inspect::Outcome::Accept
    }

    /// Reads and discards what the client already sent (up to HAProxy's buffer size) so
    /// that closing sends a FIN, not the reset the kernel sends over unread data: HAProxy
    /// has read those bytes when it gives up on a session that never reached a server.
    pub(super) fn drain(&self) {
        let mut buf = [0u8; 4096];
        let mut left = 16384usize;
        while left > 0 {
            match self.tcp().try_read(&mut buf[..left.min(4096)]) {
                Ok(n) if n > 0 => left -= n,
                _ => break,
            }
        }
    }

    /// The TCP socket underneath (for peeks while connecting).
    pub(super) fn tcp(&self) -> &TcpStream {
        match self {
            ClientConn::Plain(s) => s,
            ClientConn::Tls(s) => s.tcp(),
        }
    }
}

/// The TLS handshake of a `bind … ssl` client, bounded by `timeout client` as in haproxy;
/// `early` (bytes read past a PROXY header) is the start of the ClientHello. A plain bind
/// passes the socket through. None when the handshake fails or times out, logged as
/// haproxy logs it ("SSL handshake failure").
pub(super) async fn accept(
    shared: &Shared,
    li: &Info,
    client: TcpStream,
    early: &mut Vec<u8>,
    peer: SocketAddr,
) -> Option<(ClientConn, SslInfo)> {
    let mut ssl = SslInfo::default();
    let Some(cfg) = &li.tls else {
        return Some((ClientConn::Plain(client), ssl));
    };
    let f = &shared.frontends[li.fe];
    let limit = f.ir.timeout_client.unwrap_or(Duration::from_secs(5));
    let hello = std::mem::take(early);
    let hs = crate::runtime::tls::stream::TlsServer::accept(cfg.clone(), client, hello);
    match timeout(limit, hs).await {
        Ok(Ok(s)) => {
            let conn = s.conn();
            ssl.tls = true;
            ssl.version = crate::runtime::tls::server::version_name(conn.protocol_version());
            ssl.alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
            if let Some(leaf) = conn.peer_certificates().and_then(|c| c.first()) {
                ssl.cert = true;
                ssl.cn = crate::runtime::tls::server::subject_cn(leaf);
            }
            Some((ClientConn::Tls(Box::new(s)), ssl))
        }
        _ => {
            connection_error(shared, li, peer, "SSL handshake failure");
            None
        }
    }
}
