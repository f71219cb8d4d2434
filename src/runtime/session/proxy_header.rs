//! The PROXY header phase (`bind … accept-proxy`): the header is read first, within
//! `timeout client`, and replaces the addresses; bytes after it are the client's data.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::close_log::connection_error;
use super::Info;
use crate::runtime::lb::state::Shared;
use crate::runtime::proto::proxy_protocol;

/// Reads the header of an `accept-proxy` bind within `timeout client`: its addresses
/// replace `peer` and `local` (a LOCAL header keeps them), and the bytes read past it are
/// returned with the authority a v2 header carried. None when it is refused, logged in
/// haproxy's connection-error shape.
pub(super) async fn receive(
    shared: &Shared,
    li: &Info,
    client: &TcpStream,
    peer: &mut SocketAddr,
    local: &mut SocketAddr,
) -> Option<(Vec<u8>, Option<Box<[u8]>>)> {
    let f = &shared.frontends[li.fe];
    let limit = f.ir.timeout_client.unwrap_or(Duration::from_secs(5));
    match read_proxy_header(client, limit).await {
        Ok((got, rest)) => match got {
            proxy_protocol::Received::Proxied {
                src,
                dst,
                authority,
            } => {
                *peer = src;
                *local = dst;
                Some((rest, authority))
            }
            proxy_protocol::Received::Local => Some((rest, None)),
        },
        Err(msg) => {
            connection_error(shared, li, *peer, msg);
            None
        }
    }
}

/// Reads a PROXY v1/v2 header within `limit`; returns it and any bytes read after it, or
/// HAProxy's error text.
async fn read_proxy_header(
    client: &TcpStream,
    limit: Duration,
) -> Result<(proxy_protocol::Received, Vec<u8>), &'static str> {
    let mut buf = Vec::with_capacity(128);
    let read = async {
        loop {
            if client.readable().await.is_err() {
                return Err("Connection error while waiting for PROXY protocol header");
            }
            let mut chunk = [0u8; 512];
            match client.try_read(&mut chunk) {
                Ok(0) => return Err("Connection closed while waiting for PROXY protocol header"),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return Err("Connection error while waiting for PROXY protocol header"),
            }
            match proxy_protocol::decode(&buf) {
                Ok((r, len)) => return Ok((r, buf[len..].to_vec())),
                Err(proxy_protocol::HeaderError::Incomplete)
                    if buf.len() < proxy_protocol::MAX_HEADER => {}
                Err(e) => return Err(e.text()),
            }
        }
    };
    match timeout(limit, read).await {
        Ok(r) => r,
        Err(_) => Err("Timeout while waiting for PROXY protocol header"),
    }
}
