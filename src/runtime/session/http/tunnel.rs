//! A connection switched to a tunnel (WebSocket, CONNECT) by a transaction.

use crate::runtime::session::close_log::LogSess;
use std::net::SocketAddr;
use std::sync::Arc;

use super::{log_tx, Tx};
use crate::runtime::lb::state::Shared;
use crate::runtime::session::Info;
use crate::runtime::stream::http1::body::send;
use crate::runtime::stream::ClientEnd;
use crate::runtime::termination::{Cause, Phase, Termination};

/// A connection switched to a tunnel (WebSocket, CONNECT): what carries it on.
pub(super) struct Tunnel {
    pub(super) server: crate::runtime::stream::ServerEnd,
    pub(super) t: crate::runtime::stream::forward::Timeouts,
    pub(super) slot: crate::runtime::session::slots::ServerSlot,
    /// Client bytes already read past the request.
    pub(super) to_server: Vec<u8>,
    /// Server bytes already read past the 101.
    pub(super) to_client: Vec<u8>,
}

/// Carries a tunnel to its end with the TCP forwarder (`timeout tunnel`, half-close),
/// then logs the transaction that opened it with the tunnel's bytes counted.
pub(super) async fn run_tunnel(
    shared: &Arc<Shared>,
    li: &Info,
    mut client: ClientEnd,
    t: Tunnel,
    (peer, tls): (SocketAddr, bool),
    mut tx: Tx,
    sess: LogSess<'_>,
) {
    use crate::runtime::stream::Processor;
    let Tunnel {
        mut server,
        t,
        slot,
        to_server,
        to_client,
    } = t;
    let sent = send(&mut client, &to_client, t.client).await.is_ok()
        && send(&mut server, &to_server, t.server).await.is_ok();
    let srv = &shared.backends[slot.bi].servers[slot.srv];
    if sent {
        let (cid, cancel) = srv.cancels.register();
        let (end, counts) = crate::runtime::stream::Tcp
            .start(client, server, t, cancel)
            .await;
        srv.cancels.unregister(cid);
        tx.log.up += counts.up;
        tx.log.down += counts.down;
        tx.log.term = end.termination();
    } else {
        tx.log.term = Termination::new(Cause::ClientAbort, Phase::Data);
    }
    tx.log.up += to_server.len() as u64;
    tx.log.down += to_client.len() as u64;
    let bi = Some(slot.bi);
    drop(slot);
    if !tx.logged {
        log_tx(shared, li, peer, bi, tls, &tx, sess);
    }
}
