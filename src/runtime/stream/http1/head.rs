//! An HTTP/1 message head (start line and header list) as haproxy 2.6 keeps it: parsed
//! with `httparse`, then checked and cleaned the way haproxy's H1 parser does (h1.c
//! `h1_headers_to_hdr_list`): header names lower-cased, values trimmed, repeated
//! identical `content-length` folded, `close`/`keep-alive` taken out of `connection`,
//! a `content-length` beside `transfer-encoding` dropped. The header list keeps the
//! order and repeats of the wire, as haproxy's HTX does.

use std::ops::Range;

use super::version;

/// Why a head was refused (haproxy answers 400 to a request, 502 to a response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Not HTTP/1 syntax (httparse's verdict, or haproxy's stricter one).
    Syntax,
    /// More headers than `tune.http.maxhdr`.
    TooManyHeaders,
    /// `content-length` that is not a number, or two different ones.
    ContentLength,
    /// `transfer-encoding` that haproxy refuses (chunked twice, or not last in a request).
    TransferEncoding,
    /// Two `host` headers that differ, or a host that is not the target's authority.
    Host,
    /// A transfer coding other than `chunked` (haproxy's 422 to a request).
    UnknownCoding,
    /// An HTTP/1.0 GET, HEAD or DELETE with a body (haproxy's 413).
    PayloadTooLarge,
    /// A WebSocket handshake without its key (request) or accept (101 response).
    WebSocketKey,
}

impl HeadError {
    /// The status haproxy answers a request refused for this reason (a refused response
    /// is always a 502).
    pub fn request_status(self) -> u16 {
        match self {
            HeadError::UnknownCoding => 422,
            HeadError::PayloadTooLarge => 413,
            _ => 400,
        }
    }
}

/// What the parser learnt about the message (haproxy's `H1_MF_*` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// HTTP/1.1 (else 1.0).
    pub ver11: bool,
    /// A valid `content-length`.
    pub clen: bool,
    /// A `transfer-encoding` header.
    pub xfer_enc: bool,
    /// `chunked` is the last transfer coding.
    pub chunked: bool,
    /// `connection: keep-alive`.
    pub conn_kal: bool,
    /// `connection: close` (or forced by TE with CL, or TE in HTTP/1.0).
    pub conn_clo: bool,
    /// `connection: upgrade`.
    pub conn_upg: bool,
    /// `upgrade: websocket`.
    pub upg_websocket: bool,
    /// A transfer coding other than `chunked`.
    pub te_other: bool,
}

/// A parsed request or response head.
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// The bytes the ranges point into: the head as received, names lower-cased in
    /// place, cleaned `connection` values appended.
    store: Vec<u8>,
    /// Method, URI, version of a request; version, status, reason of a response. Kept as
    /// u32 offsets (a head is at most `tune.bufsize`): a session holds its head across
    /// the transaction's awaits, so every byte here is a byte of every session.
    line: [Span; 3],
    /// (name, value) in wire order.
    headers: Vec<(Range<usize>, Range<usize>)>,
    /// Response status (0 for a request).
    pub status: u16,
    /// Parser flags.
    pub flags: Flags,
    /// The body length announced by `content-length`.
    pub content_length: u64,
    /// The method the request came with, once `set-method` replaced the line's (haproxy
    /// keeps deciding on the parsed one: fetches, HEAD and CONNECT handling).
    parsed_method: Option<Span>,
}

/// A range of the store as u32 offsets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span(u32, u32);

impl Span {
    fn of(r: Range<usize>) -> Self {
        Span(r.start as u32, r.end as u32)
    }

    fn range(self) -> Range<usize> {
        self.0 as usize..self.1 as usize
    }

    fn len(self) -> usize {
        (self.1 - self.0) as usize
    }
}

fn lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn trim(s: &[u8], r: Range<usize>) -> Range<usize> {
    let (mut a, mut b) = (r.start, r.end);
    while a < b && lws(s[a]) {
        a += 1;
    }
    while b > a && lws(s[b - 1]) {
        b -= 1;
    }
    a..b
}

/// A header value's comma-separated items, blanks around each trimmed.
pub fn comma_items(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&c| c == b',').map(trim_lws)
}

/// An RFC 7230 token character (tchar).
pub fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// `s` without the blanks (spaces, tabs) around it.
pub fn trim_lws(s: &[u8]) -> &[u8] {
    let a = s.iter().position(|&c| !lws(c)).unwrap_or(s.len());
    let b = s.iter().rposition(|&c| !lws(c)).map_or(a, |p| p + 1);
    &s[a..b]
}

/// Comma-separated items of a header value, trimmed (haproxy's word loop).
fn items(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&c| c == b',').filter_map(|w| {
        let a = w.iter().position(|&c| !lws(c))?;
        let b = w.iter().rposition(|&c| !lws(c))? + 1;
        Some(&w[a..b])
    })
}

/// A `content-length` value as h1.c reads it: digits, possibly a list of equal values.
fn content_length(v: &[u8]) -> Option<u64> {
    let mut found = None;
    for part in v.split(|&c| c == b',') {
        let p = trim(part, 0..part.len());
        let d = &part[p];
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut n: u64 = 0;
        for &c in d {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        }
        if found.is_some_and(|f| f != n) {
            return None;
        }
        found = Some(n);
    }
    found
}

/// Offset of `sub` (a slice of `base`) within `base`.
fn offset(base: &[u8], sub: &[u8]) -> usize {
    sub.as_ptr() as usize - base.as_ptr() as usize
}

/// httparse's verdict as ours: the head's length, None while incomplete.
fn verdict(r: httparse::Result<usize>) -> Result<Option<usize>, HeadError> {
    match r {
        Ok(httparse::Status::Complete(n)) => Ok(Some(n)),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooManyHeaders),
        Err(_) => Err(HeadError::Syntax),
    }
}

/// Room for `max` headers: on the stack for haproxy's default of 101 or fewer.
fn slots<'a, 'b>(
    stack: &'a mut [httparse::Header<'b>; 101],
    heap: &'a mut Vec<httparse::Header<'b>>,
    max: usize,
) -> &'a mut [httparse::Header<'b>] {
    if max <= stack.len() {
        &mut stack[..max]
    } else {
        heap.resize(max, httparse::EMPTY_HEADER);
        heap
    }
}

/// The (name, value) ranges of httparse's headers within `buf`.
fn ranges(buf: &[u8], hs: &[httparse::Header<'_>]) -> Vec<(Range<usize>, Range<usize>)> {
    hs.iter()
        .map(|h| {
            let no = offset(buf, h.name.as_bytes());
            let vo = offset(buf, h.value);
            (no..no + h.name.len(), vo..vo + h.value.len())
        })
        .collect()
}

impl Head {
    /// Parses a request head at the start of `buf`: `Ok(None)` while incomplete,
    /// `Ok(Some((head, length)))` once the empty line is in.
    pub fn request(buf: &[u8], max_headers: usize) -> Result<Option<(Head, usize)>, HeadError> {
        let original = buf;
        // httparse knows HTTP/1.0 and 1.1 only; haproxy any HTTP/<digit>.<digit>.
        let (patched, above11) = version::request(buf);
        let buf = patched.as_deref().unwrap_or(buf);
        let mut stack = [httparse::EMPTY_HEADER; 101];
        let mut heap = Vec::new();
        let mut req = httparse::Request::new(slots(&mut stack, &mut heap, max_headers));
        let parsed = match verdict(req.parse(buf)) {
            // httparse refuses a version other than 1.0 or 1.1 as soon as it sees its
            // first bytes: while the line is not complete, it may still be one haproxy
            // takes.
            Err(HeadError::Syntax) if patched.is_none() && version::request_so_far(buf) => Ok(None),
            r => r,
        };
        let Some(n) = parsed? else {
            return Ok(None);
        };
        let (Some(m), Some(u), Some(v)) = (req.method, req.path, req.version) else {
            return Err(HeadError::Syntax);
        };
        // haproxy's H1 parser refuses a '#' and any non-ASCII byte in the URI (unless
        // `option accept-invalid-http-request`, which haproxide refuses by name).
        if u.bytes().any(|c| c == b'#' || c >= 0x80) {
            return Err(HeadError::Syntax);
        }
        let mut head = Head {
            // As received: the log shows the version the client wrote.
            store: original[..n].to_vec(),
            ..Head::default()
        };
        let (mo, uo) = (offset(buf, m.as_bytes()), offset(buf, u.as_bytes()));
        // The version is the 8 bytes after the URI and its space.
        let vo = uo + u.len() + 1;
        head.line = [
            Span::of(mo..mo + m.len()),
            Span::of(uo..uo + u.len()),
            Span::of(vo..vo + 8),
        ];
        head.flags.ver11 = v == 1 || above11;
        head.index(ranges(buf, req.headers), false)?;
        head.authority()?;
        let m = head.method();
        let has_body = (head.flags.clen && head.content_length > 0) || head.flags.chunked;
        if !head.flags.ver11 && has_body && matches!(m, b"GET" | b"HEAD" | b"DELETE") {
            return Err(HeadError::PayloadTooLarge);
        }
        if head.flags.te_other {
            return Err(HeadError::UnknownCoding);
        }
        if head.websocket()
            && head
                .header(b"sec-websocket-key")
                .is_none_or(|k| k.len() != 24)
        {
            return Err(HeadError::WebSocketKey);
        }
        Ok(Some((head, n)))
    }

    /// Parses a response head at the start of `buf`, as [`Head::request`].
    pub fn response(buf: &[u8], max_headers: usize) -> Result<Option<(Head, usize)>, HeadError> {
        let original = buf;
        // As for requests: haproxy takes any HTTP/<digit>.<digit> (h1_process_res_vsn).
        let (patched, above11) = version::response(buf);
        let buf = patched.as_deref().unwrap_or(buf);
        let mut stack = [httparse::EMPTY_HEADER; 101];
        let mut heap = Vec::new();
        let mut res = httparse::Response::new(slots(&mut stack, &mut heap, max_headers));
        let parsed = match verdict(res.parse(buf)) {
            // A version httparse refuses at its first byte may still become one haproxy
            // takes while the status line is short of it.
            Err(HeadError::Syntax) if patched.is_none() && version::response_so_far(buf) => {
                Ok(None)
            }
            r => r,
        };
        let Some(n) = parsed? else {
            return Ok(None);
        };
        let (Some(v), Some(code), Some(reason)) = (res.version, res.code, res.reason) else {
            return Err(HeadError::Syntax);
        };
        let mut head = Head {
            store: original[..n].to_vec(),
            status: code,
            ..Head::default()
        };
        // "HTTP/1.x" at the start (after any empty lines httparse skipped), the status
        // after it, the reason where httparse found it.
        let start = buf[..n]
            .windows(5)
            .position(|w| w == b"HTTP/")
            .ok_or(HeadError::Syntax)?;
        let ro = if reason.is_empty() {
            // No reason: it ends where the status line does.
            start + 13
        } else {
            offset(buf, reason.as_bytes())
        };
        head.line = [
            Span::of(start..start + 8),
            Span::of(start + 9..start + 12),
            Span::of(ro..ro + reason.len()),
        ];
        head.flags.ver11 = v == 1 || above11;
        head.index(ranges(buf, res.headers), true)?;
        if code != 101 {
            head.flags.conn_upg = false;
            head.flags.upg_websocket = false;
        }
        if head.flags.te_other {
            return Err(HeadError::UnknownCoding);
        }
        if head.websocket() && head.header(b"sec-websocket-accept").is_none() {
            return Err(HeadError::WebSocketKey);
        }
        Ok(Some((head, n)))
    }

    /// The target's authority against the host: refused when they disagree, a default
    /// port taken out of both (see [`super::authority`]).
    fn authority(&mut self) -> Result<(), HeadError> {
        let r = super::authority::check(self.method(), self.part(1), self.header(b"host"))
            .map_err(|_| HeadError::Host)?;
        if let Some(uri) = r.uri {
            self.line[1] = Span::of(self.append(&uri));
        }
        if let Some(host) = r.host {
            let at = self.append(&host);
            // CONNECT rewrites its one host header; an absolute URI, every one.
            for (n, v) in &mut self.headers {
                if &self.store[n.clone()] == b"host" {
                    *v = at.clone();
                }
            }
        }
        Ok(())
    }

    /// How many headers the list holds.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// Header `i`: lower-case name and value.
    pub fn header_at(&self, i: usize) -> (&[u8], &[u8]) {
        let (n, v) = &self.headers[i];
        (&self.store[n.clone()], &self.store[v.clone()])
    }

    /// Gives header `i` the value `v` (its place in the list is kept).
    pub fn set_value(&mut self, i: usize, v: &[u8]) {
        let at = self.append(v);
        self.headers[i].1 = at;
    }

    /// Takes header `i` out of the list.
    pub fn remove_header(&mut self, i: usize) {
        self.headers.remove(i);
    }

    /// Takes every header called `name` (lower case) out of the list.
    pub fn remove_named(&mut self, name: &[u8]) {
        let mut i = 0;
        while i < self.header_count() {
            if self.header_at(i).0 == name {
                self.remove_header(i);
            } else {
                i += 1;
            }
        }
    }

    /// Adds a header after the others (as haproxy's `http_add_header`); the name is
    /// written in lower case, as haproxy's H1 output does.
    pub fn add_header(&mut self, name: &[u8], v: &[u8]) {
        let n = self.append(&name.to_ascii_lowercase());
        let at = self.append(v);
        self.headers.push((n, at));
    }

    /// Adds `bytes` to the store: their range.
    fn append(&mut self, bytes: &[u8]) -> Range<usize> {
        let at = self.store.len();
        self.store.extend_from_slice(bytes);
        at..self.store.len()
    }

    /// Checks and cleans the header list as haproxy's parser does.
    fn index(
        &mut self,
        list: Vec<(Range<usize>, Range<usize>)>,
        resp: bool,
    ) -> Result<(), HeadError> {
        let mut host: Option<Range<usize>> = None;
        let mut chunked_seen = false;
        for (name, value) in list {
            self.store[name.clone()].make_ascii_lowercase();
            let value = trim(&self.store, value);
            let n = &self.store[name.clone()];
            if n == b"transfer-encoding" {
                self.flags.xfer_enc = true;
                for w in items(&self.store[value.clone()]) {
                    let chunked = w.eq_ignore_ascii_case(b"chunked");
                    // Chunked applied twice, or another coding after it in a request.
                    if chunked_seen && (chunked || !resp) {
                        return Err(HeadError::TransferEncoding);
                    }
                    chunked_seen |= chunked;
                    self.flags.chunked = chunked;
                    self.flags.te_other |= !chunked;
                }
            } else if n == b"content-length" {
                let Some(cl) = content_length(&self.store[value.clone()]) else {
                    return Err(HeadError::ContentLength);
                };
                if self.flags.clen {
                    if cl != self.content_length {
                        return Err(HeadError::ContentLength);
                    }
                    // A repeat of the same length is dropped.
                    continue;
                }
                self.flags.clen = true;
                self.content_length = cl;
            } else if n == b"connection" {
                let mut kept: Vec<u8> = Vec::new();
                for w in items(&self.store[value.clone()]) {
                    if w.eq_ignore_ascii_case(b"keep-alive") {
                        self.flags.conn_kal = true;
                        continue;
                    }
                    if w.eq_ignore_ascii_case(b"close") {
                        self.flags.conn_clo = true;
                        continue;
                    }
                    if w.eq_ignore_ascii_case(b"upgrade") {
                        self.flags.conn_upg = true;
                    }
                    if !kept.is_empty() {
                        kept.push(b',');
                    }
                    kept.extend_from_slice(w);
                }
                if kept.is_empty() {
                    continue;
                }
                let at = self.store.len();
                self.store.extend_from_slice(&kept);
                self.headers.push((name, at..self.store.len()));
                continue;
            } else if n == b"upgrade" {
                self.flags.upg_websocket =
                    items(&self.store[value.clone()]).any(|w| w.eq_ignore_ascii_case(b"websocket"));
            } else if !resp && n == b"host" {
                if let Some(h) = &host {
                    if !self.store[h.clone()].eq_ignore_ascii_case(&self.store[value.clone()]) {
                        return Err(HeadError::Host);
                    }
                    continue;
                }
                host = Some(value.clone());
            }
            self.headers.push((name, value));
        }
        if self.flags.xfer_enc {
            if self.flags.clen {
                // Both: the length is dropped and the connection closes (request smuggling).
                self.flags.conn_clo = true;
                self.flags.clen = false;
                let store = &self.store;
                self.headers
                    .retain(|(n, _)| &store[n.clone()] != b"content-length");
            } else if !self.flags.ver11 {
                self.flags.conn_clo = true;
            }
            if !self.flags.chunked && !resp {
                return Err(HeadError::TransferEncoding);
            }
        }
        Ok(())
    }

    /// A WebSocket handshake (`connection: upgrade` and `upgrade: websocket`).
    pub fn websocket(&self) -> bool {
        self.flags.conn_upg && self.flags.upg_websocket
    }

    /// A part of the start line (0, 1, 2).
    pub fn part(&self, i: usize) -> &[u8] {
        &self.store[self.line[i].range()]
    }

    /// Gives part `i` of the start line the bytes `v` (an `http-request set-…` rule).
    pub fn set_part(&mut self, i: usize, v: &[u8]) {
        if i == 0 && self.parsed_method.is_none() {
            self.parsed_method = Some(self.line[0]);
        }
        self.line[i] = Span::of(self.append(v));
    }

    /// The method of a request, as it was parsed (a `set-method` changes only the bytes
    /// sent on, as in haproxy, whose transaction keeps the parsed method).
    pub fn method(&self) -> &[u8] {
        match &self.parsed_method {
            Some(r) => &self.store[r.range()],
            None => self.part(0),
        }
    }

    /// The headers, in order: lower-case name and value.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|(n, v)| (&self.store[n.clone()], &self.store[v.clone()]))
    }

    /// The comma-separated items of every header `name` (lower case), in order, trimmed
    /// (haproxy's http_find_header without `full`).
    pub fn values<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers()
            .filter(move |(n, _)| *n == name)
            .flat_map(|(_, v)| comma_items(v))
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The size haproxy's HTX gives this head (what `%B`/`%U` count for it): a start
    /// line of 20 bytes plus its parts, each header's name and value, one byte for the
    /// end of headers.
    pub fn htx_size(&self) -> u64 {
        let line: usize = self.line.iter().map(|r| r.len()).sum();
        let hdrs: usize = self.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        (20 + line + hdrs + 1) as u64
    }

    /// Writes the head as haproxy's H1 multiplexer sends it: the start line as received,
    /// lower-case headers in order (without framing headers a 1xx/204 answer may not
    /// carry, `te` reduced to `trailers`; headers the HTTP layer added come last, as
    /// `option forwardfor` adds them), then `connection: <conn>` when given.
    pub fn write(&self, out: &mut Vec<u8>, conn: Option<&str>) {
        self.write_cased(out, conn, None)
    }

    /// [`Head::write_cased`] for a request to a server whose backend has
    /// `http-send-name-header`: `server` is that header (lower case) and the server's
    /// name, which replaces any header of that name, after the `connection` header (as
    /// haproxy's H1 multiplexer writes it).
    pub fn write_to_server(
        &self,
        out: &mut Vec<u8>,
        conn: Option<&str>,
        case: Option<&crate::ir::CaseMap>,
        server: Option<(&[u8], &[u8])>,
    ) {
        self.write_head(out, conn, case, server)
    }

    /// [`Head::write`] with header names written in the case `h1-case-adjust` gives
    /// them (`case`: lower-case name, written form), the `connection` header included.
    pub fn write_cased(
        &self,
        out: &mut Vec<u8>,
        conn: Option<&str>,
        case: Option<&crate::ir::CaseMap>,
    ) {
        self.write_head(out, conn, case, None)
    }

    fn write_head(
        &self,
        out: &mut Vec<u8>,
        conn: Option<&str>,
        case: Option<&crate::ir::CaseMap>,
        server: Option<(&[u8], &[u8])>,
    ) {
        let name = |out: &mut Vec<u8>, n: &[u8]| {
            let mapped = case.and_then(|m| m.iter().find(|(f, _)| f.as_bytes() == n));
            out.extend_from_slice(mapped.map_or(n, |(_, t)| t.as_bytes()));
        };
        let resp = self.status != 0;
        for i in 0..3 {
            // A message at HTTP/1.1 or above goes as HTTP/1.1 (h1_format_htx_reqline,
            // h1_format_htx_stline); an older one with the version it came with.
            let part = match i {
                2 if !resp && self.flags.ver11 => b"HTTP/1.1",
                0 if resp && self.flags.ver11 => b"HTTP/1.1",
                _ => self.part(i),
            };
            out.extend_from_slice(part);
            out.extend_from_slice(if i < 2 { b" " } else { b"\r\n" });
        }
        let no_framing = resp && (self.status < 200 || self.status == 204);
        for (n, v) in self.headers() {
            let v = match n {
                b"transfer-encoding" | b"content-length" if no_framing => continue,
                n if server.is_some_and(|(h, _)| h == n) => continue,
                b"te" => {
                    // Only "trailers" may be passed on.
                    let pos = v.windows(8).position(|w| w == b"trailers");
                    match pos {
                        Some(p) if v.len() == p + 8 || v[p + 8] == b',' => &b"trailers"[..],
                        _ => continue,
                    }
                }
                _ => v,
            };
            name(out, n);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(c) = conn {
            name(out, b"connection");
            out.extend_from_slice(b": ");
            out.extend_from_slice(c.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some((h, v)) = server {
            name(out, h);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The request line as `%r` logs it: method, URI and version, single-spaced.
    pub fn request_line(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.line.iter().map(|r| r.len() + 1).sum());
        v.extend_from_slice(self.part(0));
        v.push(b' ');
        v.extend_from_slice(self.part(1));
        v.push(b' ');
        v.extend_from_slice(self.part(2));
        v
    }
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
