//! What `balance uri`, `url_param` and `hdr(<name>)` hash of a request, as haproxy 2.6's
//! `get_server_uh`, `get_server_ph`, `get_server_ph_post` and `get_server_hh` pick it.
//! None: the part is missing, and the backend balances round robin for this request.

use crate::ir::HttpHash;
use crate::runtime::stream::http1::authority::path;
use crate::runtime::stream::http1::head::{comma_items, is_token};

/// The parts of a request the HTTP algorithms read.
pub struct Request<'a> {
    /// The request URI as received (origin or absolute form).
    pub uri: &'a [u8],
    /// The first value of a header (name in lower case), as `http_find_header` finds it.
    pub header: &'a dyn Fn(&[u8]) -> Option<&'a [u8]>,
    /// A POST's body bytes already received, for `url_param`.
    pub post_body: Option<&'a [u8]>,
}

/// The bytes `h` hashes for `req`.
pub fn key<'a>(h: &HttpHash, req: &Request<'a>) -> Option<&'a [u8]> {
    match h {
        HttpHash::Uri {
            len,
            depth,
            whole,
            path_only,
        } => {
            let uri = if *path_only {
                path(req.uri).unwrap_or(b"")
            } else {
                req.uri
            };
            Some(uri_part(uri, *len as usize, *depth, *whole))
        }
        HttpHash::UrlParam(name) => {
            let q = req.uri.iter().position(|&c| c == b'?');
            q.and_then(|q| param(&req.uri[q + 1..], name.as_bytes(), false))
                .or_else(|| param(req.post_body?, name.as_bytes(), true))
        }
        HttpHash::Hdr { name, domain_only } => {
            let v = first_value((req.header)(name.as_bytes())?);
            if v.is_empty() {
                return None;
            }
            Some(if *domain_only { domain(v) } else { v })
        }
    }
}

/// The URI up to `len` bytes, cut at the `depth`+1-th slash and (unless `whole`) at
/// the query string.
fn uri_part(uri: &[u8], len: usize, depth: u32, whole: bool) -> &[u8] {
    let uri = if len > 0 && uri.len() > len {
        &uri[..len]
    } else {
        uri
    };
    let mut slashes = 0;
    let end = uri
        .iter()
        .position(|&c| {
            if c == b'/' {
                slashes += 1;
                depth > 0 && slashes == depth + 1
            } else {
                c == b'?' && !whole
            }
        })
        .unwrap_or(uri.len());
    &uri[..end]
}

/// The value of parameter `name` in `params` (`a=1&b=2`). A form body (`post`) whose
/// value does not start as a URI-encoded one holds no parameters.
fn param<'a>(params: &'a [u8], name: &[u8], post: bool) -> Option<&'a [u8]> {
    let mut rest = params;
    // haproxy looks only while more than the name is left.
    while rest.len() > name.len() {
        if rest[name.len()] == b'=' && rest.starts_with(name) {
            let v = &rest[name.len() + 1..];
            let end = v.iter().position(|&c| c == b'&').unwrap_or(v.len());
            if post && end > 0 && !is_token(v[0]) {
                // haproxy tests the value's first byte at every step: a blank ends the
                // value before it starts, anything else rules the body out.
                return (v[0] == b' ' || v[0] == b'\t' || v[0] == b'\r' || v[0] == b'\n')
                    .then_some(&v[..0]);
            }
            return Some(&v[..end]);
        }
        let amp = rest.iter().position(|&c| c == b'&')?;
        rest = &rest[amp + 1..];
    }
    None
}

/// The first comma-separated value, trimmed.
fn first_value(v: &[u8]) -> &[u8] {
    comma_items(v).next().unwrap_or(v)
}

/// `use_domain_only`: the label before the last dot (`www.example.com` → `example`),
/// as haproxy's backwards scan finds it: a value without a dot past its first byte is
/// hashed whole, and the byte just before the last dot is never taken for a dot.
fn domain(v: &[u8]) -> &[u8] {
    let Some(d) = v.iter().rposition(|&c| c == b'.').filter(|&d| d >= 1) else {
        return v;
    };
    let start = v[..d - 1]
        .iter()
        .rposition(|&c| c == b'.')
        .map_or(0, |p| p + 1);
    &v[start..d]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_cuts_as_haproxy() {
        assert_eq!(uri_part(b"/a/b/c?x=1", 0, 0, false), b"/a/b/c");
        assert_eq!(uri_part(b"/a/b/c?x=1", 0, 0, true), b"/a/b/c?x=1");
        assert_eq!(uri_part(b"/a/b/c?x=1", 0, 2, false), b"/a/b");
        assert_eq!(uri_part(b"/a/b/c?x=1", 4, 0, false), b"/a/b");
        assert_eq!(path(b"http://h:80/p?q"), Some(&b"/p?q"[..]));
        assert_eq!(path(b"http://h"), None);
        assert_eq!(path(b"h:443"), None);
    }

    #[test]
    fn params_and_domains() {
        assert_eq!(param(b"a=1&user=bob&c", b"user", false), Some(&b"bob"[..]));
        assert_eq!(param(b"user=", b"user", false), Some(&b""[..]));
        assert_eq!(param(b"user", b"user", false), None);
        assert_eq!(param(b"user=&x", b"user", false), Some(&b""[..]));
        assert_eq!(param(b"xuser=1", b"user", false), None);
        assert_eq!(param(b"user=\x01", b"user", true), None);
        assert_eq!(domain(b"www.example.com"), b"example");
        assert_eq!(domain(b"example.com"), b"example");
        assert_eq!(domain(b"localhost"), b"localhost");
        assert_eq!(domain(b"a..b"), b"a.");
        assert_eq!(first_value(b" a , b"), b"a");
    }
}
