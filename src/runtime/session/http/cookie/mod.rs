//! Cookie persistence (`cookie` in an HTTP backend, server `cookie`), as haproxy 2.6's
//! http_ana.c does it: the request's `cookie` headers choose the server and lose or
//! keep the persistence cookie by mode (`http_manage_client_side_cookies`); the
//! response's `set-cookie` headers are deleted, rewritten or prefixed, and a cookie is
//! inserted (`http_manage_server_side_cookies`, `http_process_res_common`). The
//! header values are edited byte for byte as haproxy edits them in place.

mod request;
mod response;

pub(super) use self::request::{on_request, Lookup, Server};
pub(super) use self::response::{on_response, Response};

use crate::runtime::stream::http1::head::Head;

/// The client-side state: haproxy's `TX_CK_*`, the log's third letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// `N`: no persistence cookie.
    None,
    /// `I`: a cookie naming no server.
    Invalid,
    /// `D`: a cookie naming a server that is down (or left on a redispatch).
    Down,
    /// `V`: a valid cookie, followed.
    Valid,
    /// `E`: idle for longer than `maxidle`.
    Expired,
    /// `O`: older than `maxlife`.
    Old,
    /// `U`: present but not used.
    Unused,
}

/// The server-side state: haproxy's `TX_SCK_*`, the log's fourth letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Set {
    /// `N`: none found or set.
    None,
    /// `P`: the server's cookie passed unchanged.
    Found,
    /// `D`: the server's cookie was deleted.
    Deleted,
    /// `I`: a cookie was inserted.
    Inserted,
    /// `R`: the server's cookie was rewritten or prefixed.
    Replaced,
    /// `U`: the cookie was inserted again with a new date.
    Updated,
}

/// One transaction's persistence state.
#[derive(Debug, Clone, Copy)]
pub(super) struct Persist {
    pub(super) seen: Seen,
    pub(super) set: Set,
    /// The server the cookie names (haproxy's SF_DIRECT target).
    pub(super) server: Option<usize>,
    /// The cookie's last-seen and first-seen dates (seconds, 0: none).
    pub(super) last: i64,
    pub(super) first: i64,
}

impl Persist {
    /// The log's third and fourth termination-state letters.
    pub(super) fn letters(&self) -> [u8; 2] {
        let a = match self.seen {
            Seen::None => b'N',
            Seen::Invalid => b'I',
            Seen::Down => b'D',
            Seen::Valid => b'V',
            Seen::Expired => b'E',
            Seen::Old => b'O',
            Seen::Unused => b'U',
        };
        let b = match self.set {
            Set::None => b'N',
            Set::Found => b'P',
            Set::Deleted => b'D',
            Set::Inserted => b'I',
            Set::Replaced => b'R',
            Set::Updated => b'U',
        };
        [a, b]
    }

    /// The connection went to `srv`, `redispatched` or not: a cookie server left
    /// behind turns a valid cookie into `D` (haproxy's `assign_server_and_queue`).
    pub(super) fn connected(&mut self, srv: usize, redispatched: bool) {
        let direct = self.server == Some(srv) && !redispatched;
        if self.server.is_some() && !direct && self.seen == Seen::Valid {
            self.seen = Seen::Down;
        }
    }
}

pub(super) fn sp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// haproxy's `http_find_cookie_value_end`: the next `;` or `,` outside quotes.
pub(super) fn value_end(h: &[u8], mut i: usize) -> usize {
    let (mut quoted, mut pair) = (false, false);
    while i < h.len() {
        let c = h[i];
        if pair {
            pair = false;
        } else if quoted {
            if c == b'\\' {
                pair = true;
            } else if c == b'"' {
                quoted = false;
            }
        } else if c == b'"' {
            quoted = true;
        } else if c == b',' || c == b';' {
            return i;
        }
        i += 1;
    }
    i
}

/// haproxy's `b64tos30`: five base64 characters to a 30-bit number (-1 if invalid).
pub(super) fn b64tos30(s: &[u8]) -> i64 {
    let mut out: i64 = 0;
    for &c in &s[..5] {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return -1,
        };
        out = (out << 6) + i64::from(v);
    }
    out
}

/// haproxy's `s30tob64`: the 30 low bits of `v` as five base64 characters.
pub(super) fn s30tob64(v: i64, out: &mut Vec<u8>) {
    const TAB: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for k in (0..5).rev() {
        out.push(TAB[((v >> (6 * k)) & 0x3f) as usize]);
    }
}

/// One `name[=value]` element of a cookie header, as offsets into its value.
pub(super) struct Pair {
    pub(super) att_beg: usize,
    pub(super) att_end: usize,
    pub(super) equal: usize,
    pub(super) val_beg: usize,
    pub(super) val_end: usize,
    /// The delimiter after the element (or the end).
    pub(super) next: usize,
}

impl Pair {
    /// Reads the element at `att_beg` (blanks skipped); `comma` ends a name too (in a
    /// `cookie` header, not in a `set-cookie` one).
    pub(super) fn read(h: &[u8], mut att_beg: usize, comma: bool) -> Pair {
        while att_beg < h.len() && sp(h[att_beg]) {
            att_beg += 1;
        }
        let (mut equal, mut att_end) = (att_beg, att_beg);
        while equal < h.len() {
            let ch = h[equal];
            if ch == b'=' || ch == b';' || (comma && ch == b',') {
                break;
            }
            equal += 1;
            if !sp(ch) {
                att_end = equal;
            }
        }
        if equal < h.len() && h[equal] == b'=' {
            let mut val_beg = equal + 1;
            while val_beg < h.len() && sp(h[val_beg]) {
                val_beg += 1;
            }
            let next = value_end(h, val_beg);
            let mut val_end = next;
            while val_end > val_beg && sp(h[val_end - 1]) {
                val_end -= 1;
            }
            Pair {
                att_beg,
                att_end,
                equal,
                val_beg,
                val_end,
                next,
            }
        } else {
            Pair {
                att_beg,
                att_end,
                equal,
                val_beg: equal,
                val_end: equal,
                next: equal,
            }
        }
    }

    /// Takes the blanks around `=` out of `h` (haproxy does, in every mode): true when
    /// there were some.
    pub(super) fn strip_blanks(&mut self, h: &mut Vec<u8>) -> bool {
        if self.att_end == self.equal && self.val_beg == self.equal + 1 {
            return false;
        }
        let before = self.equal - self.att_end;
        h.drain(self.att_end..self.equal);
        self.equal = self.att_end;
        let after = self.val_beg - before - (self.equal + 1);
        h.drain(self.equal + 1..self.equal + 1 + after);
        self.val_beg = self.equal + 1;
        self.val_end -= before + after;
        self.next -= before + after;
        true
    }

    pub(super) fn name<'a>(&self, h: &'a [u8]) -> &'a [u8] {
        &h[self.att_beg..self.att_end]
    }
}

/// `capture cookie <prefix> len <n>`: the first cookie whose `name=value` starts with
/// the prefix, cut to the length (haproxy's `cli_cookie`/`srv_cookie`).
pub(super) struct Capture<'a> {
    pub(super) prefix: &'a [u8],
    pub(super) len: usize,
    pub(super) got: Option<Vec<u8>>,
}

impl<'a> Capture<'a> {
    pub(super) fn new(conf: Option<&'a (String, usize)>) -> Option<Self> {
        conf.map(|(prefix, len)| Capture {
            prefix: prefix.as_bytes(),
            len: *len,
            got: None,
        })
    }

    /// Offers element `e` of `h` (blanks around `=` already out).
    pub(super) fn offer(&mut self, h: &[u8], e: &Pair) {
        let pair = &h[e.att_beg..e.val_end];
        if self.got.is_none() && pair.starts_with(self.prefix) {
            self.got = Some(pair[..pair.len().min(self.len)].to_vec());
        }
    }
}

/// What an edit did to a header's value.
pub(super) enum Edit {
    Keep,
    Changed,
    Remove,
}

/// Runs `f` on the value of every header called `name`, in order, and applies its edit.
pub(super) fn edit_headers(head: &mut Head, name: &[u8], mut f: impl FnMut(&mut Vec<u8>) -> Edit) {
    let mut i = 0;
    while i < head.header_count() {
        let (n, v) = head.header_at(i);
        if n != name {
            i += 1;
            continue;
        }
        let mut h = v.to_vec();
        match f(&mut h) {
            Edit::Remove => {
                head.remove_header(i);
                continue;
            }
            Edit::Changed => head.set_value(i, &h),
            Edit::Keep => {}
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests;
