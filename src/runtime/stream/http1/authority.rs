//! The request target's authority against the `host` header, as haproxy 2.6's H1 parser
//! checks them (h1.c `h1_validate_connect_authority`, `h1_validate_mismatch_authority`)
//! and its scheme-based normalization rewrites them (http_htx.c
//! `http_scheme_based_normalize`): a request whose authority and host disagree is
//! refused (400), and a default port (`:80` for http, `:443` for https) is taken out of
//! an absolute URI and of the host.

/// What a valid request has rewritten.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// The URI without its default port.
    pub uri: Option<Vec<u8>>,
    /// The host value (every `host` header for an absolute URI, the first for CONNECT).
    pub host: Option<Vec<u8>>,
}

/// The request is refused: its authority is missing (CONNECT) or disagrees with `host`.
#[derive(Debug, PartialEq, Eq)]
pub struct Mismatch;

/// Checks `uri` (of a request with `method`) against its `host` header value.
pub fn check(method: &[u8], uri: &[u8], host: Option<&[u8]>) -> Result<Rewrite, Mismatch> {
    let (scheme, authority) = split(uri);
    if method == b"CONNECT" {
        let host = connect(authority, host)?;
        return Ok(Rewrite { uri: None, host });
    }
    if let (Some(h), Some(a)) = (host, authority.filter(|a| !a.is_empty())) {
        if !a.eq_ignore_ascii_case(h) {
            mismatch(scheme, a, h)?;
        }
    }
    Ok(normalize(uri, scheme, authority))
}

/// A request URI's path with its query (haproxy's `http_parse_path`): the URI itself in
/// origin form, what follows the authority in absolute form; None when there is none
/// (`*`, authority form, an absolute URI ending at its authority).
pub fn path(uri: &[u8]) -> Option<&[u8]> {
    match uri.first() {
        Some(b'/') => Some(uri),
        Some(c) if c.is_ascii_alphabetic() => {
            let scheme = uri[1..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || b"+-.".contains(c)))
                .map(|p| p + 1);
            let s = scheme.filter(|&s| uri[s..].starts_with(b"://"))?;
            let rest = &uri[s + 3..];
            rest.iter().position(|&c| c == b'/').map(|p| &rest[p..])
        }
        _ => None,
    }
}

/// The authority of a URI that is neither origin-form (`/…`) nor `*` (after any user
/// info), as http_update_host takes it for the `host` header.
pub fn authority(uri: &[u8]) -> Option<&[u8]> {
    split(uri).1
}

/// The scheme (with its `://`) and the authority (after any user info) of a URI that
/// is neither origin-form (`/…`) nor `*`.
fn split(uri: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    match uri.first() {
        None | Some(b'/') | Some(b'*') => return (None, None),
        _ => {}
    }
    let scheme_len = uri[0].is_ascii_alphabetic().then(|| {
        let n = 1 + uri[1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
            .count();
        uri[n..].starts_with(b"://").then_some(n + 3)
    });
    let s = scheme_len.flatten().unwrap_or(0);
    let rest = &uri[s..];
    let end = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
    let auth = &rest[..end];
    let auth = match auth.iter().rposition(|&c| c == b'@') {
        Some(at) => &auth[at + 1..],
        None => auth,
    };
    ((s > 0).then(|| &uri[..s]), Some(auth))
}

/// haproxy's `http_get_host_port`: the digits after a final `:` (empty after a bare
/// colon), None without one.
fn port(v: &[u8]) -> Option<&[u8]> {
    let digits = v.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    let colon = v.len().checked_sub(digits + 1)?;
    (v[colon] == b':').then(|| &v[colon + 1..])
}

/// The value less its port and colon.
fn host_part<'a>(v: &'a [u8], p: Option<&[u8]>) -> &'a [u8] {
    p.map_or(v, |p| &v[..v.len() - p.len() - 1])
}

fn default_port(scheme: Option<&[u8]>, p: &[u8]) -> bool {
    if p.is_empty() {
        return true;
    }
    match scheme {
        None => p == b"443" || p == b"80",
        Some(s) => {
            (p == b"443" && s.eq_ignore_ascii_case(b"https://"))
                || (p == b"80" && s.eq_ignore_ascii_case(b"http://"))
        }
    }
}

/// CONNECT: the authority needs a port; a host header must name it (its port, or
/// none for a default port). The host loses a default port.
fn connect(authority: Option<&[u8]>, host: Option<&[u8]>) -> Result<Option<Vec<u8>>, Mismatch> {
    let a = authority.ok_or(Mismatch)?;
    let a_port = port(a).filter(|p| !p.is_empty()).ok_or(Mismatch)?;
    let a_host = host_part(a, Some(a_port));
    let Some(h) = host else {
        return Ok(None);
    };
    let h_port = port(h);
    let h_host = host_part(h, h_port);
    match h_port.filter(|p| !p.is_empty()) {
        Some(hp) => {
            if !h_host.eq_ignore_ascii_case(a_host) || hp != a_port {
                return Err(Mismatch);
            }
            Ok(default_port(None, a_port).then(|| h_host.to_vec()))
        }
        None => {
            if !default_port(None, a_port) || !h_host.eq_ignore_ascii_case(a_host) {
                return Err(Mismatch);
            }
            Ok(None)
        }
    }
}

/// An absolute URI whose authority differs from the host in more than a default port.
fn mismatch(scheme: Option<&[u8]>, a: &[u8], h: &[u8]) -> Result<(), Mismatch> {
    let scheme = scheme.ok_or(Mismatch)?;
    let (a_port, h_port) = (port(a), port(h));
    let (a_host, h_host) = (host_part(a, a_port), host_part(h, h_port));
    let ok = match (a_port, h_port) {
        (None, None) => false,
        (Some(p), _) if !default_port(Some(scheme), p) => false,
        (_, Some(p)) if !default_port(Some(scheme), p) => false,
        _ => a_host.eq_ignore_ascii_case(h_host),
    };
    ok.then_some(()).ok_or(Mismatch)
}

/// An absolute URI with its scheme's default port: the URI without it, and its host
/// for every host header.
fn normalize(uri: &[u8], scheme: Option<&[u8]>, authority: Option<&[u8]>) -> Rewrite {
    let (Some(s), Some(a)) = (scheme, authority) else {
        return Rewrite::default();
    };
    let Some(p) = port(a).filter(|p| default_port(Some(s), p)) else {
        return Rewrite::default();
    };
    let host = host_part(a, Some(p));
    // The authority is a slice of `uri`: cut its port out.
    let a_end = a.as_ptr() as usize - uri.as_ptr() as usize + a.len();
    let mut out = uri[..a_end - p.len() - 1].to_vec();
    out.extend_from_slice(&uri[a_end..]);
    Rewrite {
        uri: Some(out),
        host: Some(host.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(m: &str, u: &str, h: Option<&str>) -> Rewrite {
        check(m.as_bytes(), u.as_bytes(), h.map(str::as_bytes)).expect("valid")
    }

    fn bad(m: &str, u: &str, h: Option<&str>) -> bool {
        check(m.as_bytes(), u.as_bytes(), h.map(str::as_bytes)).is_err()
    }

    #[test]
    fn absolute_uris() {
        assert_eq!(ok("GET", "/x", Some("a")), Rewrite::default());
        assert_eq!(ok("GET", "http://h/x", Some("H")), Rewrite::default());
        assert!(bad("GET", "http://other/", Some("h")));
        assert!(bad("GET", "h:80", Some("h")));
        assert!(bad("GET", "http://h:8080/", Some("h")));
        let r = ok("GET", "http://u@h:80/p?q", Some("h"));
        assert_eq!(r.uri.as_deref(), Some(&b"http://u@h/p?q"[..]));
        assert_eq!(r.host.as_deref(), Some(&b"h"[..]));
        assert_eq!(
            ok("GET", "https://h:443", None).uri.as_deref(),
            Some(&b"https://h"[..])
        );
        assert_eq!(ok("GET", "http://h:443/", Some("h:443")).uri, None);
    }

    #[test]
    fn connect_targets() {
        assert!(bad("CONNECT", "/x", None));
        assert!(bad("CONNECT", "h", None));
        assert!(bad("CONNECT", "h:", None));
        assert_eq!(ok("CONNECT", "h:8443", None), Rewrite::default());
        assert!(bad("CONNECT", "h:8443", Some("h")));
        assert!(bad("CONNECT", "h:8443", Some("g:8443")));
        assert_eq!(
            ok("CONNECT", "h:443", Some("H:443")).host.as_deref(),
            Some(&b"H"[..])
        );
        assert_eq!(ok("CONNECT", "h:80", Some("h")), Rewrite::default());
    }
}
