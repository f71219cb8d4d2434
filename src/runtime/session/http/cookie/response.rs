//! The response side: the server's `set-cookie` headers handled by mode
//! (`http_manage_server_side_cookies`), then a cookie inserted as
//! `http_process_res_common` inserts it.

use super::{edit_headers, s30tob64, Capture, Edit, Pair, Persist, Set};
use crate::ir::cookie::{Cookie, CookieMode};
use crate::runtime::stream::http1::head::Head;

/// What the response side needs to know about the transaction.
pub(in crate::runtime::session::http) struct Response<'a> {
    /// The server's own cookie value.
    pub(in crate::runtime::session::http) srv_value: Option<&'a str>,
    /// The request went where persistence said (SF_DIRECT).
    pub(in crate::runtime::session::http) direct: bool,
    /// `ignore-persist` held: the server's cookie is not ours, none is inserted.
    pub(in crate::runtime::session::http) ignore: bool,
    /// The request was a POST (`postonly`).
    pub(in crate::runtime::session::http) post: bool,
    /// The request method allows caching (GET, HEAD, OPTIONS, TRACE).
    pub(in crate::runtime::session::http) cacheable_method: bool,
    /// Unix time.
    pub(in crate::runtime::session::http) now: i64,
}

/// Response side: the server's `set-cookie` headers handled by mode (the one `cap`
/// names captured), then a cookie inserted (with `cache-control: private` under
/// `nocache`) when haproxy would.
pub(in crate::runtime::session::http) fn on_response(
    (c, cap): (Option<&Cookie>, Option<&(String, usize)>),
    r: &Response<'_>,
    p: &mut Persist,
    resp: &mut Head,
) -> Option<Vec<u8>> {
    let mut cap = Capture::new(cap);
    server_cookies(c, &mut cap, r, p, resp);
    let captured = cap.and_then(|c| c.got);
    if let Some(c) = c {
        insert(c, r, p, resp);
    }
    captured
}

/// Appends the persistence cookie when haproxy would (`http_process_res_common`).
fn insert(c: &Cookie, r: &Response<'_>, p: &mut Persist, resp: &mut Head) {
    let status = resp.status;
    let cacheable = c.nocache && cacheable(r.cacheable_method, status, resp);
    let dated = |p: &Persist| {
        ((c.maxidle != 0 || p.last != 0) && (p.last == 0 || p.last - r.now < 0))
            || (c.maxlife != 0 && p.first == 0)
            || (c.maxlife == 0 && p.first != 0)
    };
    let insert = c.mode == CookieMode::Insert
        && !r.ignore
        && !(p.set == Set::Found && c.preserve)
        && (!r.direct || dated(p))
        && (!c.postonly || r.post);
    if !insert {
        return;
    }
    let mut v = Vec::with_capacity(64);
    v.extend_from_slice(c.name.as_bytes());
    match r.srv_value {
        None => v.extend_from_slice(b"=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"),
        Some(sv) => {
            v.push(b'=');
            v.extend_from_slice(sv.as_bytes());
            if c.maxidle != 0 || c.maxlife != 0 {
                v.push(b'|');
                s30tob64((r.now + 3) >> 2, &mut v);
                if c.maxlife != 0 {
                    v.push(b'|');
                    let f = if p.first != 0 {
                        p.first >> 2
                    } else {
                        (r.now + 3) >> 2
                    };
                    s30tob64(f, &mut v);
                }
            }
            v.extend_from_slice(b"; path=/");
        }
    }
    for d in &c.domains {
        v.extend_from_slice(b"; domain=");
        v.extend_from_slice(d.as_bytes());
    }
    if c.httponly {
        v.extend_from_slice(b"; HttpOnly");
    }
    if c.secure {
        v.extend_from_slice(b"; Secure");
    }
    if !c.attrs.is_empty() {
        v.extend_from_slice(b"; ");
        v.extend_from_slice(c.attrs.join("; ").as_bytes());
    }
    resp.add_header(b"Set-Cookie", &v);
    p.set = if r.srv_value.is_some() && r.direct {
        Set::Updated
    } else {
        Set::Inserted
    };
    if cacheable {
        resp.add_header(b"Cache-control", b"private");
    }
}

/// The first `name=value` of each `set-cookie` header: the persistence cookie is kept
/// (`preserve`), deleted, rewritten or prefixed.
fn server_cookies(
    c: Option<&Cookie>,
    cap: &mut Option<Capture<'_>>,
    r: &Response<'_>,
    p: &mut Persist,
    resp: &mut Head,
) {
    edit_headers(resp, b"set-cookie", |h| {
        let mut e = Pair::read(h, 0, false);
        if e.equal == e.val_end {
            return Edit::Keep;
        }
        let mut changed = e.strip_blanks(h);
        if let Some(cap) = cap.as_mut() {
            cap.offer(h, &e);
        }
        if let Some(c) = c.filter(|c| !r.ignore && e.name(h) == c.name.as_bytes()) {
            p.set = Set::Found;
            if c.preserve {
            } else if c.mode == CookieMode::Insert || (r.direct && c.indirect) {
                // The whole line is this cookie's: the header goes.
                p.set = Set::Deleted;
                return Edit::Remove;
            } else if let (Some(sv), CookieMode::Rewrite) = (r.srv_value, c.mode) {
                h.splice(e.val_beg..e.val_end, sv.bytes());
                p.set = Set::Replaced;
                changed = true;
            } else if let (Some(sv), CookieMode::Prefix) = (r.srv_value, c.mode) {
                let pre = sv.bytes().chain(std::iter::once(b'~'));
                h.splice(e.val_beg..e.val_beg, pre);
                p.set = Set::Replaced;
                changed = true;
            }
        }
        if changed {
            Edit::Changed
        } else {
            Edit::Keep
        }
    });
}

/// haproxy's cacheability of a response: a safe method and a status cacheable by
/// default (`http_wait_for_response`), then its headers
/// (`http_check_response_for_cacheability`: `public` makes any response cacheable).
fn cacheable(method_ok: bool, status: u16, resp: &Head) -> bool {
    if status < 200 {
        return false;
    }
    let mut ok = method_ok
        && matches!(
            status,
            200 | 203 | 204 | 206 | 300 | 301 | 404 | 405 | 410 | 414 | 501
        );
    if resp
        .headers()
        .find(|(n, _)| *n == b"pragma")
        .is_some_and(|(_, v)| v.eq_ignore_ascii_case(b"no-cache"))
    {
        return false;
    }
    let mut fresh = false;
    let values = resp
        .headers()
        .filter(|(n, _)| *n == b"cache-control")
        .flat_map(|(_, v)| v.split(|&b| b == b','))
        .map(|w| w.trim_ascii());
    for w in values {
        let starts = |p: &[u8]| w.len() >= p.len() && w[..p.len()].eq_ignore_ascii_case(p);
        if w.eq_ignore_ascii_case(b"public") {
            ok = true;
        } else if [
            &b"private"[..],
            b"no-cache",
            b"no-store",
            b"max-age=0",
            b"s-maxage=0",
        ]
        .iter()
        .any(|x| w.eq_ignore_ascii_case(x))
        {
            ok = false;
        } else if starts(b"no-cache=\"set-cookie") {
        } else if starts(b"s-maxage") || starts(b"max-age") {
            fresh = true;
        }
    }
    let has = |name: &[u8]| resp.headers().any(|(n, _)| n == name);
    if !fresh {
        fresh = has(b"expires");
    }
    let validator = !fresh && (has(b"etag") || has(b"last-modified"));
    ok && (fresh || validator)
}
