//! The response inspection phase of a TCP session (`tcp-response content` rules): once
//! the server is connected, what it sends is held from the client until the rules decide,
//! while the client's bytes go on reaching the server (haproxy's request channel keeps
//! flowing while its response analyser waits).
//!
//! As in haproxy 2.6 (tcp_inspect_response), the rules first run as the connection is up,
//! on nothing; a rule whose answer could still change waits for more, until the
//! `tcp-response inspect-delay` (counted from the connection), a full buffer or the
//! server's end; without a delay every rule is decided at once.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep_until, Instant};

use super::inspect::{self, Outcome, FULL};
use crate::ir::ResponseInspect;
use crate::runtime::rules::vars::Vars;
use crate::runtime::rules::Who;
use crate::runtime::stream::forward::{End, Timeouts};
use crate::runtime::stream::{ClientEnd, ServerEnd};
use crate::runtime::termination::{Cause, Phase, Termination};

/// How the phase ended.
pub enum Verdict {
    /// The rules decided.
    Decided(Outcome),
    /// A side failed or timed out first: the session ends so.
    Ended(End),
}

/// What the phase leaves.
pub struct Inspected {
    /// The verdict.
    pub verdict: Verdict,
    /// What the server sent, not yet given to the client.
    pub held: Vec<u8>,
    /// Client bytes read meanwhile and not yet written to the server.
    pub pending: Vec<u8>,
    /// Client bytes written to the server meanwhile.
    pub up: u64,
}

/// Runs the rules on the server's first bytes, passing the client's on.
pub async fn inspect(
    client: &mut ClientEnd,
    server: &mut ServerEnd,
    ri: &ResponseInspect,
    who: &Who<'_>,
    vars: &mut Vars,
    t: &Timeouts,
) -> Inspected {
    let start = Instant::now();
    let deadline = start + ri.delay.unwrap_or(Duration::ZERO);
    let far = start + Duration::from_secs(86400 * 365);
    let idle = |d: Option<Duration>, from: Instant| d.map_or(far, |d| from + d);
    let (mut cr, _cw) = tokio::io::split(&mut *client);
    let (mut sr, mut sw) = tokio::io::split(&mut *server);
    let mut held = Vec::new();
    let mut pending = Vec::new();
    let mut cbuf = vec![0u8; 16 * 1024];
    let mut sbuf = vec![0u8; FULL];
    let mut up = 0u64;
    let (mut client_done, mut shut_sent, mut server_done) = (false, false, false);
    let (mut client_seen, mut server_seen) = (start, start);
    let verdict = loop {
        let now = Instant::now();
        let last = server_done || held.len() >= FULL || now >= deadline;
        if let Some(v) = inspect::on_response(ri, who, &held, last, vars) {
            break Verdict::Decided(v);
        }
        let (c_to, s_to) = (idle(t.client, client_seen), idle(t.server, server_seen));
        let room = FULL - held.len();
        tokio::select! {
            r = sr.read(&mut sbuf[..room]) => {
                server_seen = Instant::now();
                match r {
                    Ok(0) => server_done = true,
                    Ok(n) => held.extend_from_slice(&sbuf[..n]),
                    Err(_) => break Verdict::Ended(End::ServerAbort),
                }
            }
            r = cr.read(&mut cbuf), if pending.is_empty() && !client_done => {
                client_seen = Instant::now();
                match r {
                    Ok(0) => client_done = true,
                    Ok(n) => pending.extend_from_slice(&cbuf[..n]),
                    Err(_) => break Verdict::Ended(End::ClientAbort),
                }
            }
            // The client's bytes, then its end, go on to the server, as haproxy's
            // request channel carries them.
            r = async {
                if pending.is_empty() {
                    sw.shutdown().await.map(|_| 0)
                } else {
                    sw.write(&pending).await
                }
            }, if !pending.is_empty() || (client_done && !shut_sent) => match r {
                Ok(_) if pending.is_empty() => shut_sent = true,
                Ok(n) => {
                    pending.drain(..n);
                    up += n as u64;
                }
                Err(_) if pending.is_empty() => shut_sent = true,
                Err(_) => break Verdict::Ended(End::ServerAbort),
            },
            _ = sleep_until(deadline), if now < deadline => {}
            _ = sleep_until(c_to), if !client_done => break Verdict::Ended(End::ClientTimeout),
            _ = sleep_until(s_to) => break Verdict::Ended(End::ServerTimeout),
        }
    };
    Inspected {
        verdict,
        held,
        pending,
        up,
    }
}

/// Gives the held bytes to the client and the pending ones to the server, together (each
/// peer may wait for the other before reading).
pub async fn release(client: &mut ClientEnd, server: &mut ServerEnd, held: &[u8], pending: &[u8]) {
    let to_client = async {
        if !held.is_empty() {
            let _ = client.write_all(held).await;
            let _ = client.flush().await;
        }
    };
    let to_server = async {
        if !pending.is_empty() {
            let _ = server.write_all(pending).await;
            let _ = server.flush().await;
        }
    };
    tokio::join!(to_client, to_server);
}

/// Ends a session the phase did not accept, as haproxy closes each side, and says how it
/// ended: `close` gives the client what the server sent then resets the server (logged
/// `--`); `reject` closes both sides with nothing more sent (`PD`); a failure or timeout
/// ends it as the forwarder would.
pub async fn close(mut client: ClientEnd, server: ServerEnd, got: Inspected) -> Termination {
    let term = match got.verdict {
        Verdict::Decided(Outcome::Close) => {
            let _ = socket2::SockRef::from(server.tcp()).set_linger(Some(Duration::ZERO));
            drop(server);
            if !got.held.is_empty() {
                let _ = client.write_all(&got.held).await;
            }
            Termination::NORMAL
        }
        Verdict::Decided(_) => {
            drop(server);
            Termination::new(Cause::Proxy, Phase::Data)
        }
        Verdict::Ended(end) => {
            drop(server);
            end.termination()
        }
    };
    // What the client sent since is read, so that the close is a FIN, not a reset.
    let _ = client.drain();
    let _ = client.shutdown().await;
    term
}
