//! `option http-buffer-request`: the request's body waited for before the rules run, as
//! haproxy's http_wait_for_request_body does (http_wait_for_msg_body).

use std::time::Duration;

use super::answer::{self, Answers};
use super::{Tx, UPGRADED};
use crate::runtime::lb::state::FrontendRt;
use crate::runtime::rules::vars::Vars;
use crate::runtime::stream::http1::answers::answer;
use crate::runtime::stream::http1::body::{chunk_size, send, Fail, Inbuf};
use crate::runtime::stream::http1::head::{comma_items, Head};
use crate::runtime::stream::ClientEnd;
use crate::runtime::termination::{Cause, Phase, Termination};

/// haproxy's own interim answer to `expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How the wait ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Waited {
    /// The body is all there, the buffer is full, or the client stopped sending: go on.
    Go,
    /// The time ran out: haproxy's 408, logged `cR`.
    Timeout,
    /// The chunked framing is invalid: haproxy's 400.
    Invalid,
}

/// Waits until `req`'s body is all in `cin` or the buffer (`room` bytes for head and
/// body, haproxy's bufsize less maxrewrite) is full, within `limit` from now. A request
/// without a body, or a CONNECT, does not wait. An HTTP/1.1 request that expects
/// `100-continue` gets haproxy's own `100 Continue` first (counted in `down`), its `expect`
/// header removed.
pub(super) async fn wait_body(
    (client, cin): (&mut ClientEnd, &mut Inbuf),
    req: &mut Head,
    room: usize,
    limit: Option<Duration>,
    down: &mut u64,
) -> Waited {
    let has_body = req.flags.chunked || (req.flags.clen && req.content_length > 0);
    if !has_body || req.method() == b"CONNECT" {
        return Waited::Go;
    }
    if req.flags.ver11 {
        let expect = (0..req.header_count()).find(|&i| req.header_at(i).0 == b"expect");
        if let Some(i) = expect {
            let first = comma_items(req.header_at(i).1).next().unwrap_or_default();
            if first.eq_ignore_ascii_case(b"100-continue") {
                req.remove_header(i);
                if send(client, CONTINUE, limit).await.is_err() {
                    return Waited::Go;
                }
                // Counted in %B as its HTX message: 20 bytes, the start line's parts, one
                // for the end of headers.
                *down += 20 + 8 + 3 + 8 + 1;
            }
        }
    }
    let deadline = limit.map(|d| tokio::time::Instant::now() + d);
    let head = req.htx_size() as usize;
    loop {
        let have = cin.avail();
        let done = if req.flags.chunked {
            match chunked_end(have) {
                Some(Ok(_)) => true,
                Some(Err(())) => return Waited::Invalid,
                None => false,
            }
        } else {
            have.len() as u64 >= req.content_length
        };
        if done || head + have.len() >= room {
            return Waited::Go;
        }
        let left = deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
        match cin.fill(client, left).await {
            Ok(n) if n > 0 => {}
            Err(Fail::Timeout) => return Waited::Timeout,
            // The client stopped sending: haproxy goes on with what it has.
            _ => return Waited::Go,
        }
    }
}

/// Where a chunked body that starts `b` ends (after its trailers): Some(Ok(len)) when
/// all there, Some(Err) for invalid framing, None when more is needed.
fn chunked_end(b: &[u8]) -> Option<Result<usize, ()>> {
    let line = |at: usize| -> Option<usize> {
        b.get(at..)?
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| at + p)
    };
    let mut at = 0;
    loop {
        let eol = line(at)?;
        let Some(size) = chunk_size(&b[at..eol]) else {
            return Some(Err(()));
        };
        at = eol + 2;
        if size == 0 {
            break;
        }
        let end = at.checked_add(usize::try_from(size).ok()?)?;
        if b.len() < end + 2 {
            return None;
        }
        if &b[end..end + 2] != b"\r\n" {
            return Some(Err(()));
        }
        at = end + 2;
    }
    // Trailers up to the empty line.
    loop {
        let eol = line(at)?;
        if eol == at {
            return Some(Ok(at + 2));
        }
        at = eol + 2;
    }
}

/// What a body wait (`option http-buffer-request`) came to: true to go on (the request
/// time taken then, as haproxy's http_end), else the client connection closes after
/// haproxy's 408 (`cR`, the frontend's page, the body bytes received counted) or, for
/// invalid chunks, its H1 layer's 400 (`PR`, logged as `<BADREQ>` with no bytes).
pub(super) async fn waited_ok(
    waited: Waited,
    (client, cin): (&mut ClientEnd, &Inbuf),
    f: &FrontendRt,
    (req, tx): (&Head, &mut Tx),
    vars: &mut Vars,
) -> bool {
    match waited {
        Waited::Go => {
            tx.t_request = tx.ms();
            return true;
        }
        // Both failures count as failed requests (ereq).
        _ => crate::runtime::lb::counters::Refused::add(&f.refused.failed),
    }
    if waited == Waited::Invalid {
        let _ = send(client, &answer(400).wire, f.ir.timeout_client).await;
        tx.status = 400;
        tx.t_request = -1;
        tx.request = None;
        (tx.log.up, tx.log.down) = (0, 0);
        tx.log.term = Termination::new(Cause::Proxy, Phase::Request);
        return false;
    }
    // No request time: haproxy takes it once the body is in.
    tx.t_request = -1;
    tx.log.up += cin.avail().len() as u64;
    let h = f.ir.http.as_ref().unwrap_or(&UPGRADED);
    let an = Answers {
        client_to: f.ir.timeout_client,
        be: &[],
        fe: &h.errorfiles,
        case: h.case_adjust.as_deref(),
        after: None,
    };
    let why = (Cause::ClientTimeout, Phase::Request);
    answer::proxy_answer(client, 408, req, false, &an, (tx, vars), why).await;
    false
}

#[cfg(test)]
mod tests {
    use super::chunked_end;

    #[test]
    fn chunked_ends_are_found() {
        assert_eq!(chunked_end(b"3\r\nabc\r\n0\r\n\r\n"), Some(Ok(13)));
        assert_eq!(
            chunked_end(b"3\r\nabc\r\n0\r\nx: 1\r\n\r\nNEXT"),
            Some(Ok(19))
        );
        assert_eq!(chunked_end(b"3\r\nab"), None);
        assert_eq!(chunked_end(b"3\r\nabc\r\n0\r\n"), None);
        assert_eq!(chunked_end(b"zz\r\n"), Some(Err(())));
        assert_eq!(chunked_end(b"3\r\nabcd\r\n"), Some(Err(())));
    }
}
