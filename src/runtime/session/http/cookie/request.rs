//! The request side: each `cookie` header read and edited as haproxy's
//! `http_manage_client_side_cookies` does, and the server the persistence cookie names.

use super::{b64tos30, edit_headers, sp, Capture, Edit, Pair, Persist, Seen, Set};
use crate::ir::cookie::{Cookie, CookieMode};
use crate::runtime::stream::http1::head::Head;

/// haproxy's `http_del_hdr_value`: removes `h[from..next]`, where `next` is the
/// delimiter before the element that stays. At the start of the value the delimiter
/// and the blanks after it go too; elsewhere the blanks before `from` go, and the
/// element keeps its own delimiter followed by one space. Returns the new `from` and
/// the shift of everything after `next`.
fn del_value(h: &mut Vec<u8>, from: usize, next: usize) -> (usize, isize) {
    let end = h.len();
    let (mut prev, mut next) = (from, next);
    if prev == 0 {
        if next < end {
            next += 1;
        }
        while next < end && sp(h[next]) {
            next += 1;
        }
    } else {
        while prev > 0 && sp(h[prev - 1]) {
            prev -= 1;
        }
        if next < end {
            h[prev] = h[next];
            prev += 1;
            next += 1;
            if prev + 1 < next {
                h[prev] = b' ';
                prev += 1;
            }
            while next < end && sp(h[next]) {
                next += 1;
            }
        }
    }
    let from_new = if from == 0 { 0 } else { prev };
    h.drain(prev..next);
    (from_new, prev as isize - next as isize)
}

fn shift(i: usize, d: isize) -> usize {
    (i as isize + d) as usize
}

/// A backend server as the persistence cookie sees it.
pub(in crate::runtime::session::http) struct Server<'a> {
    /// Its `cookie` value.
    pub(in crate::runtime::session::http) value: Option<&'a str>,
    /// Not stopped: a valid cookie says `V`, else `D`.
    pub(in crate::runtime::session::http) up: bool,
    /// It takes the session (up, or persistence is forced).
    pub(in crate::runtime::session::http) takes: bool,
}

/// Where the request side looks for the cookie's server.
pub(in crate::runtime::session::http) struct Lookup<'a, 'b> {
    /// The backend's servers in order (empty when the request has no cookie).
    pub(in crate::runtime::session::http) servers: &'b [Server<'a>],
    /// `ignore-persist` held or a `use-server` rule chose: the cookie is read but
    /// chooses nothing (`U`).
    pub(in crate::runtime::session::http) skip: bool,
}

/// Request side: reads every `cookie` header of `req` (editing them as the mode asks)
/// and finds the server the persistence cookie `c` names as `look` says, capturing the
/// cookie `cap` names. `now` is the Unix time.
pub(in crate::runtime::session::http) fn on_request(
    c: Option<&Cookie>,
    cap: Option<&(String, usize)>,
    look: Lookup<'_, '_>,
    req: &mut Head,
    now: i64,
) -> (Persist, Option<Vec<u8>>) {
    let mut cap = Capture::new(cap);
    let mut p = Persist {
        seen: Seen::None,
        set: Set::None,
        server: None,
        last: 0,
        first: 0,
    };
    edit_headers(req, b"cookie", |h| {
        let changed = client_line((c, &mut cap), &look, h, now, &mut p);
        if h.is_empty() {
            Edit::Remove
        } else if changed {
            Edit::Changed
        } else {
            Edit::Keep
        }
    });
    (p, cap.and_then(|c| c.got))
}

/// One `cookie` header value, processed as haproxy's loop does: true when its bytes
/// changed (blanks around `=`, a prefix, a deleted cookie).
fn client_line(
    (c, cap): (Option<&Cookie>, &mut Option<Capture<'_>>),
    look: &Lookup<'_, '_>,
    h: &mut Vec<u8>,
    now: i64,
    p: &mut Persist,
) -> bool {
    let name = c.map(|c| c.name.as_bytes());
    let remove = c.is_some_and(|c| c.mode == CookieMode::Insert && c.indirect);
    let mut changed = false;
    let mut del_from: Option<usize> = None;
    let mut preserve = false;
    let mut first = true;
    let mut prev = 0;
    while prev < h.len() {
        let mut e = Pair::read(h, if first { prev } else { prev + 1 }, true);
        first = false;
        let mut next = e.next;
        // `$` attributes go with the cookie before them.
        if h.get(e.att_beg) == Some(&b'$') {
            prev = next;
            continue;
        }
        let has_eq = e.equal != next;
        if has_eq && e.strip_blanks(h) {
            next = e.next;
            changed = true;
        }
        let (val_beg, val_end) = (e.val_beg, e.val_end);
        if let (true, Some(cap)) = (has_eq, cap.as_mut()) {
            cap.offer(h, &e);
        }
        if let (true, Some(c)) = (has_eq, c.filter(|_| Some(e.name(h)) == name)) {
            let delim = persistence(c, look, h, (val_beg, val_end), now, p);
            if c.mode == CookieMode::Prefix && delim != val_end {
                // The server's part and its `~` go; the application's value stays.
                let n = delim + 1 - val_beg;
                h.drain(val_beg..=delim);
                next -= n;
                del_from = None;
                preserve = true;
                changed = true;
            } else if del_from.is_none() && remove {
                del_from = Some(prev);
            }
        } else {
            // Not ours (another cookie, or no `=`): it stays, and a cookie waiting for
            // deletion goes now.
            preserve = true;
            if let Some(df) = del_from.take() {
                let (_, d) = del_value(h, df, prev);
                next = shift(next, d);
                changed = true;
            }
        }
        prev = next;
    }
    if let Some(df) = del_from {
        h.truncate(if preserve { df } else { 0 });
        changed = true;
    }
    changed
}

/// The persistence cookie's value at `h[val_beg..val_end]`: its dates checked, its
/// server looked for; returns where the server's part ends (`delim`).
fn persistence(
    c: &Cookie,
    look: &Lookup<'_, '_>,
    h: &[u8],
    (val_beg, val_end): (usize, usize),
    now: i64,
    p: &mut Persist,
) -> usize {
    let mut delim = val_end;
    if c.mode == CookieMode::Prefix {
        delim = h[val_beg..val_end]
            .iter()
            .position(|&b| b == b'~')
            .map_or(val_end, |i| val_beg + i);
    } else if let Some(bar) = h[val_beg..val_end].iter().position(|&b| b == b'|') {
        // `SRV|LAST|FIRST`: dates in 4-second units, base64.
        delim = val_beg + bar;
        let v1 = delim + 1;
        if val_end - v1 >= 5 {
            let v = b64tos30(&h[v1..]);
            if v > 0 {
                p.last = v << 2;
            }
        }
        if let Some(b2) = h[v1..val_end].iter().position(|&b| b == b'|') {
            let b2 = v1 + b2;
            if val_end - b2 > 5 {
                let v = b64tos30(&h[b2 + 1..]);
                if v > 0 {
                    p.first = v << 2;
                }
            }
        }
    }
    let (maxidle, maxlife) = (i64::from(c.maxidle), i64::from(c.maxlife));
    // haproxy compares the dates as signed 32-bit numbers.
    let diff = |a: i64, b: i64| (a as i32).wrapping_sub(b as i32) as i64;
    if p.first != 0 && maxlife != 0 && (diff(now, p.first) > maxlife || diff(p.first, now) > 86400)
    {
        p.seen = Seen::Old;
        delim = val_beg;
        (p.first, p.last) = (0, 0);
    } else if p.last != 0
        && maxidle != 0
        && (diff(now, p.last) > maxidle || diff(p.last, now) > 86400)
    {
        p.seen = Seen::Expired;
        delim = val_beg;
        (p.first, p.last) = (0, 0);
    }
    let id = &h[val_beg..delim];
    let mut found = false;
    // A server already chosen (by `use-server` or an earlier cookie) or persistence
    // ignored: the cookie chooses nothing (haproxy's SF_IGNORE_PRST | SF_ASSIGNED).
    let skip = look.skip || p.server.is_some();
    if !id.is_empty() && !skip {
        for (i, sv) in look.servers.iter().enumerate() {
            if sv.value.is_some_and(|v| v.as_bytes() == id) {
                if sv.takes {
                    p.seen = if sv.up { Seen::Valid } else { Seen::Down };
                    p.server = Some(i);
                    found = true;
                    break;
                }
                // Down: another server may share the value.
                p.seen = Seen::Down;
            }
        }
    }
    // haproxy tests TX_CK_DOWN|TX_CK_EXPIRED|TX_CK_OLD, which together cover every bit
    // of its TX_CK_* values: only a first verdict is written here.
    if !found && p.seen == Seen::None {
        p.seen = if skip { Seen::Unused } else { Seen::Invalid };
    }
    delim
}
