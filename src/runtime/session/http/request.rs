//! What a transaction derives from the request before sending it: the headers `option
//! forwardfor` and `option originalto` add, and the key of an HTTP balancing algorithm.

use std::net::{IpAddr, SocketAddr};

use crate::ir::{Balance, ForwardFor};
use crate::runtime::lb::http_hash::{key, Request};
use crate::runtime::stream::http1::head::Head;

/// The header `option forwardfor` adds to `req` from `peer`, as haproxy's
/// http_process_request decides: either proxy's option turns it on, the backend's header
/// name wins, `if-none` holds only when no proxy asks for it always, and a client in
/// either proxy's `except` network gets none.
pub(super) fn forwarded_for<'a>(
    fe: Option<&'a ForwardFor>,
    be: Option<&'a ForwardFor>,
    req: &Head,
    peer: SocketAddr,
) -> Option<(&'a str, String)> {
    let name = be.or(fe)?.header.as_str();
    let always = [fe, be].iter().flatten().any(|f| !f.if_none);
    if !always && req.header(name.as_bytes()).is_some() {
        return None;
    }
    address_header(name, fe, be, peer.ip())
}

/// The header `option originalto` adds: the address the client connected to, named as
/// the backend's option says, else the frontend's; none for an address in either
/// proxy's `except` network.
pub(super) fn original_to<'a>(
    fe: Option<&'a ForwardFor>,
    be: Option<&'a ForwardFor>,
    local: SocketAddr,
) -> Option<(&'a str, String)> {
    let name = be.or(fe)?.header.as_str();
    address_header(name, fe, be, local.ip())
}

/// `name: ip` unless `ip` is in either proxy's `except` network.
fn address_header<'a>(
    name: &'a str,
    fe: Option<&ForwardFor>,
    be: Option<&ForwardFor>,
    ip: IpAddr,
) -> Option<(&'a str, String)> {
    let excepted = |f: Option<&ForwardFor>| {
        f.and_then(|f| f.except)
            .is_some_and(|(net, mask)| match (net, mask, ip) {
                (IpAddr::V4(n), IpAddr::V4(m), IpAddr::V4(a)) => {
                    u32::from(a) & u32::from(m) == u32::from(n)
                }
                (IpAddr::V6(n), IpAddr::V6(m), IpAddr::V6(a)) => {
                    u128::from(a) & u128::from(m) == u128::from(n)
                }
                _ => false,
            })
    };
    if excepted(fe) || excepted(be) {
        return None;
    }
    Some((name, ip.to_string()))
}

/// What `balance uri|url_param|hdr` hashes of `req` (None: round robin for it). `body`
/// holds the bytes received past the head: a POST's form parameters are looked for in
/// the part of its body already there, as haproxy looks in its buffer.
pub(super) fn balance_key(b: &Balance, req: &Head, body: &[u8]) -> Option<Vec<u8>> {
    let Balance::Http(h) = b else {
        return None;
    };
    let post = req.method() == b"POST" && req.flags.clen && !req.flags.chunked;
    let header = |n: &[u8]| req.header(n);
    let r = Request {
        uri: req.part(1),
        header: &header,
        post_body: post.then(|| &body[..body.len().min(req.content_length as usize)]),
    };
    key(h, &r).map(<[u8]>::to_vec)
}
