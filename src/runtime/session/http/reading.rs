//! Reading the next request head of a client connection, within the timeouts haproxy
//! applies to a new connection and to a kept-alive one.

use std::time::Duration;

use tokio::time::Instant;

use super::Tx;
use crate::ir::HttpFrontend;
use crate::runtime::stream::http1::body::{Fail, Inbuf};
use crate::runtime::stream::http1::head::Head;
use crate::runtime::stream::ClientEnd;

/// How reading a request head ended without a request.
pub(super) enum NoRequest {
    /// The client closed, or a kept-alive connection timed out, before a byte: nothing
    /// to answer (logged as `CR` on a new connection).
    Closed { any: bool },
    /// `timeout http-request` struck: 408.
    Timeout,
    /// Not a valid request (or too long): haproxy's 400, 413 or 422.
    Invalid(u16),
}

/// Reads the next request head: within `timeout http-request` (else `timeout client`)
/// on a new connection; a kept-alive one waits `timeout http-keep-alive` for the first
/// byte.
pub(super) async fn read_head(
    client: &mut ClientEnd,
    cin: &mut Inbuf,
    h: &HttpFrontend,
    client_to: Option<Duration>,
    first: bool,
    tx: &mut Tx,
) -> Result<Head, NoRequest> {
    let request_to = h.request_timeout.or(client_to);
    let wait_to = if first {
        request_to
    } else {
        h.keep_alive_timeout.or(request_to)
    };
    let start = Instant::now();
    let mut deadline = wait_to.map(|d| start + d);
    let mut got_any = !cin.avail().is_empty();
    if got_any {
        tx.t_idle = 0;
    }
    loop {
        if !cin.avail().is_empty() {
            match Head::request(cin.avail(), h.max_headers) {
                Ok(Some((head, n))) => {
                    cin.consume(n);
                    tx.t_request = tx.ms();
                    tx.log.up = head.htx_size();
                    return Ok(head);
                }
                Ok(None) if cin.avail().len() < h.max_head => {}
                Ok(None) => return Err(NoRequest::Invalid(400)),
                Err(e) => return Err(NoRequest::Invalid(e.request_status())),
            }
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // An idle plain connection waits without a buffer: it is allocated once bytes
        // are there to read (TLS may hold decrypted bytes already: it reads at once).
        if let (ClientEnd::Plain(s), true) = (&*client, cin.avail().is_empty()) {
            let ready = match left {
                Some(d) => tokio::time::timeout(d, s.readable()).await.ok(),
                None => Some(s.readable().await),
            };
            if ready.is_none() {
                if !got_any && !first {
                    return Err(NoRequest::Closed { any: false });
                }
                return Err(NoRequest::Timeout);
            }
        }
        match cin.fill(client, left).await {
            Ok(0) | Err(Fail::Closed) | Err(Fail::Invalid) => {
                return Err(NoRequest::Closed { any: got_any });
            }
            Ok(_) => {
                if !got_any {
                    got_any = true;
                    tx.t_idle = tx.ms();
                    // From the first byte, the whole head has `timeout http-request`.
                    deadline = request_to.map(|d| Instant::now() + d);
                }
            }
            Err(Fail::Timeout) if !got_any && !first => {
                return Err(NoRequest::Closed { any: false })
            }
            Err(Fail::Timeout) => return Err(NoRequest::Timeout),
        }
    }
}
