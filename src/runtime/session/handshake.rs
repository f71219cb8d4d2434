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
use crate::runtime::stream::ClientEnd;

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
) -> Option<(ClientEnd, SslInfo)> {
    let mut ssl = SslInfo::default();
    let Some(cfg) = &li.tls else {
        return Some((ClientEnd::Plain(client), ssl));
    };
    let f = &shared.frontends[li.fe];
    let limit = f.ir.timeout_client.unwrap_or(Duration::from_secs(5));
    let hello = std::mem::take(early);
    let hs = crate::runtime::tls::stream::TlsServer::accept(cfg.config.clone(), client, hello);
    match timeout(limit, hs).await {
        Ok(Ok(s)) => {
            let conn = s.conn();
            ssl.tls = true;
            ssl.version = crate::runtime::tls::server::version_of(conn.protocol_version());
            ssl.alpn = conn.alpn_protocol().map(Box::from);
            ssl.sni = s.sni().map(Box::from);
            ssl.cipher = conn
                .negotiated_cipher_suite()
                .and_then(|c| crate::runtime::tls::server::cipher_of(c.suite()));
            ssl.own = cfg.served(s.sni());
            ssl.resumed = conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
            if let Some(leaf) = conn.peer_certificates().and_then(|c| c.first()) {
                ssl.cert = true;
                ssl.cn = crate::runtime::tls::server::subject_cn(leaf).map(Box::from);
            }
            Some((ClientEnd::Tls(Box::new(s)), ssl))
        }
        _ => {
            connection_error(shared, li, peer, "SSL handshake failure");
            None
        }
    }
}
