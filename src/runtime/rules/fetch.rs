//! Sample fetches and converters: the values a session gives, typed as haproxy types
//! them. A fetch gives zero or more values (a header may occur several times), or "not
//! yet" while the bytes that decide it may still arrive.

use std::borrow::Cow;
use std::net::IpAddr;

use super::Ctx;
use crate::ir::acl::{Conv, Dir, Fetch, HdrArg, SampleExpr, TlsFetch};
use crate::ir::Payload;
use crate::runtime::proto::mqtt::{self, Verdict as Mqtt};
use crate::runtime::proto::proxy_protocol::SslInfo;
use crate::runtime::proto::tls_hello::{self, Hello};
use crate::runtime::session::inspect::FULL;
use crate::runtime::stream::http1::authority;
use crate::runtime::stream::http1::head::{comma_items, trim_lws as trim, Head};

/// A sample value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `bool`
    Bool(bool),
    /// `sint`
    Int(i64),
    /// An address.
    Ip(IpAddr),
    /// `str`
    Str(Cow<'a, [u8]>),
    /// `bin`
    Bin(Cow<'a, [u8]>),
    /// An HTTP method.
    Meth(Cow<'a, [u8]>),
}

impl Value<'_> {
    /// The value as a string (haproxy's casts to `str`).
    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Value::Bool(b) => Cow::Borrowed(if *b { b"1" } else { b"0" }),
            Value::Int(i) => Cow::Owned(i.to_string().into_bytes()),
            Value::Ip(ip) => Cow::Owned(ip.to_string().into_bytes()),
            Value::Str(s) | Value::Bin(s) | Value::Meth(s) => Cow::Borrowed(s),
        }
    }

    /// The value cast to binary as haproxy casts it for a converter taking binary: an
    /// integer (or boolean) as 8 big-endian bytes, an address as its 4 or 16 bytes.
    pub fn to_bin(&self) -> Cow<'_, [u8]> {
        match self {
            Value::Bool(b) => Cow::Owned(i64::from(*b).to_be_bytes().to_vec()),
            Value::Int(i) => Cow::Owned(i.to_be_bytes().to_vec()),
            Value::Ip(IpAddr::V4(a)) => Cow::Owned(a.octets().to_vec()),
            Value::Ip(IpAddr::V6(a)) => Cow::Owned(a.octets().to_vec()),
            Value::Str(s) | Value::Bin(s) | Value::Meth(s) => Cow::Borrowed(s),
        }
    }

    /// The value as an integer, when it casts to one.
    pub fn to_int(&self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Int(i) => Some(*i),
            Value::Ip(IpAddr::V4(a)) => Some(i64::from(u32::from(*a))),
            Value::Ip(IpAddr::V6(_)) | Value::Bin(_) | Value::Meth(_) => None,
            Value::Str(s) => str2int(s),
        }
    }

    /// The value as an address, when it casts to one.
    pub fn to_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            Value::Int(i) => Some(IpAddr::V4((*i as u32).into())),
            Value::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
            _ => None,
        }
    }
}

/// haproxy's `c_str2int`: `read_int64` on a non-empty string (an optional sign, the
/// leading digits, 0 when there are none, saturating at the 64-bit limits).
pub(super) fn str2int(s: &[u8]) -> Option<i64> {
    (!s.is_empty()).then(|| crate::numbers::read_int64(s).0)
}

/// Not decidable yet: the bytes that decide may still come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotYet;

/// HAProxy's `tune.bufsize` default: a payload range past it can never match.
const BUFSIZE: u64 = 16384;

/// `req.payload(o,l)`: the bytes, None when they can never come, NotYet while more
/// bytes could still complete them.
pub fn payload(buf: &[u8], p: Payload, last: bool) -> Result<Option<&[u8]>, NotYet> {
    let (offset, length) = (u64::from(p.offset), u64::from(p.length));
    if length > BUFSIZE || offset + length > BUFSIZE {
        // haproxy: "will never match", final at once.
        return Ok(None);
    }
    let (offset, length) = (offset as usize, length as usize);
    let end = if length == 0 {
        buf.len()
    } else {
        offset + length
    };
    match buf.get(offset..end) {
        Some(s) if offset <= buf.len() => Ok(Some(s)),
        _ if last => Ok(None),
        _ => Err(NotYet),
    }
}

/// A fetch's values: most fetches give one, so one is held without an allocation.
#[derive(Debug, Default)]
pub enum Values<'a> {
    /// None.
    #[default]
    Zero,
    /// One.
    One(Value<'a>),
    /// Several (a header that occurs more than once …).
    Many(Vec<Value<'a>>),
}

impl<'a> Values<'a> {
    /// The values, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Value<'a>> {
        match self {
            Values::Zero => [].iter(),
            Values::One(v) => std::slice::from_ref(v).iter(),
            Values::Many(v) => v.iter(),
        }
    }
}

impl<'a> FromIterator<Value<'a>> for Values<'a> {
    fn from_iter<I: IntoIterator<Item = Value<'a>>>(it: I) -> Self {
        let mut it = it.into_iter();
        let Some(a) = it.next() else {
            return Values::Zero;
        };
        let Some(b) = it.next() else {
            return Values::One(a);
        };
        let mut v = vec![a, b];
        v.extend(it);
        Values::Many(v)
    }
}

impl<'a> IntoIterator for Values<'a> {
    type Item = Value<'a>;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<Value<'a>>, std::vec::IntoIter<Value<'a>>>;
    fn into_iter(self) -> Self::IntoIter {
        match self {
            Values::Zero => None.into_iter().chain(Vec::new()),
            Values::One(v) => Some(v).into_iter().chain(Vec::new()),
            Values::Many(v) => None.into_iter().chain(v),
        }
    }
}

/// The fetch's values, or [`NotYet`].
pub type Fetched<'a> = Result<Values<'a>, NotYet>;

fn hello<'a, T>(h: Hello<T>, last: bool, f: impl FnOnce(T) -> Value<'a>) -> Fetched<'a> {
    match h {
        Hello::Got(v) => Ok(Values::One(f(v))),
        Hello::TooShort if !last => Err(NotYet),
        _ => Ok(Values::Zero),
    }
}

/// The request head a fetch reads: the transaction's, or in TCP mode the buffer parsed
/// as HTTP; None when there is none (yet).
fn request<'a>(ctx: &'a Ctx) -> Result<Option<&'a Head>, NotYet> {
    if let Some(r) = ctx.req {
        return Ok(Some(r));
    }
    let h = ctx
        .raw_req
        .get_or_init(|| Head::request(ctx.buf, 101).ok().flatten().map(|(h, _)| h));
    match h {
        Some(h) => Ok(Some(h)),
        // An incomplete head could still complete.
        None if !ctx.last && Head::request(ctx.buf, 101).is_ok() => Err(NotYet),
        None => Ok(None),
    }
}

/// The URI's path without the query (`path`); None when the URI has none.
fn path_of(uri: &[u8]) -> Option<&[u8]> {
    let p = authority::path(uri)?;
    Some(&p[..p.iter().position(|&c| c == b'?').unwrap_or(p.len())])
}

/// The values of the headers `h` names, split at commas unless `full`.
fn header_iter<'a>(head: &'a Head, h: &'a HdrArg) -> impl Iterator<Item = &'a [u8]> + 'a {
    head.headers()
        .filter(move |(n, _)| h.name.as_deref().is_none_or(|want| *n == want))
        .flat_map(move |(_, v)| {
            let (whole, items) = if h.full {
                (Some(v), None)
            } else {
                (None, Some(comma_items(v)))
            };
            whole.into_iter().chain(items.into_iter().flatten())
        })
}

/// [`header_iter`] collected.
fn header_values<'a>(head: &'a Head, h: &'a HdrArg) -> Vec<&'a [u8]> {
    header_iter(head, h).collect()
}

/// Occurrence `occ` of request header `name`'s comma-separated values (lower-case
/// name; 1 the first, -1 the last, 0 as 1), as haproxy's http_get_htx_hdr finds it.
pub(crate) fn list_header(head: &Head, name: &[u8], occ: i32) -> Option<Vec<u8>> {
    let vals: Vec<&[u8]> = head.values(name).collect();
    let i = if occ >= 0 {
        (occ.max(1) - 1) as usize
    } else {
        vals.len().checked_sub(occ.unsigned_abs() as usize)?
    };
    vals.get(i).map(|v| v.to_vec())
}

/// The occurrence `occ` of `vals` (0: all of them, negative: from the end).
fn occurrence(mut vals: Vec<&[u8]>, occ: i64) -> Vec<&[u8]> {
    if occ == 0 {
        return vals;
    }
    let i = if occ > 0 {
        occ as usize - 1
    } else {
        match vals.len().checked_sub(occ.unsigned_abs() as usize) {
            Some(i) => i,
            None => return Vec::new(),
        }
    };
    if i < vals.len() {
        vec![vals.swap_remove(i)]
    } else {
        Vec::new()
    }
}

/// The value of URL parameter `name` (or every parameter's value) in the query.
fn url_params<'a>(uri: &'a [u8], name: Option<&[u8]>, delim: u8) -> Vec<&'a [u8]> {
    // The list starts after the first `delim` ('?' by default); parameters end at '&',
    // ';' or `delim` (http_find_next_url_param).
    let Some(q) = uri.iter().position(|&c| c == delim) else {
        return Vec::new();
    };
    let q = &uri[q + 1..];
    let is_d = |c: u8| c == b'&' || c == b';' || c == delim;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < q.len() {
        let vstart = match name {
            // A named parameter: `name=` at the start of a parameter.
            Some(n) => {
                let mut p = pos;
                let mut found = None;
                while p < q.len() {
                    if p + n.len() < q.len() && q[p + n.len()] == b'=' && &q[p..p + n.len()] == n {
                        found = Some(p + n.len() + 1);
                        break;
                    }
                    while p < q.len() && !is_d(q[p]) {
                        p += 1;
                    }
                    p += 1;
                }
                match found {
                    Some(v) => v,
                    None => break,
                }
            }
            // Any parameter: the value after the next '='.
            None => match q[pos..].iter().position(|&c| c == b'=') {
                Some(e) => pos + e + 1,
                None => break,
            },
        };
        let mut vend = vstart;
        while vend < q.len() && !is_d(q[vend]) {
            vend += 1;
        }
        out.push(&q[vstart..vend]);
        pos = vend;
    }
    out
}

/// Cookie values named `name` (or all) in the request's `cookie` headers.
fn cookies<'a>(head: &'a Head, name: Option<&[u8]>) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    for (n, v) in head.headers() {
        if n != b"cookie" {
            continue;
        }
        for c in v.split(|&c| c == b';') {
            let c = trim(c);
            let (k, val) = match c.iter().position(|&x| x == b'=') {
                Some(p) => (trim(&c[..p]), trim(&c[p + 1..])),
                None => continue,
            };
            if name.is_none_or(|want| want == k) {
                out.push(val);
            }
        }
    }
    out
}

fn strs<'a>(v: Vec<&'a [u8]>) -> Values<'a> {
    v.into_iter()
        .map(|s| Value::Str(Cow::Borrowed(s)))
        .collect()
}

fn one<'a>(v: Value<'a>) -> Fetched<'a> {
    Ok(Values::One(v))
}

/// Fetches `f` in `ctx`.
pub fn fetch<'a>(f: &'a Fetch, ctx: &'a Ctx) -> Fetched<'a> {
    let last = ctx.last;
    let s = |b: &'a [u8]| Value::Str(Cow::Borrowed(b));
    match f {
        Fetch::Bool(b) => one(Value::Bool(*b)),
        Fetch::Int(i) => one(Value::Int(*i)),
        Fetch::Str(v) => one(s(v)),
        Fetch::Src => one(Value::Ip(ctx.peer.ip())),
        Fetch::SrcPort => one(Value::Int(i64::from(ctx.peer.port()))),
        Fetch::Dst => one(Value::Ip(ctx.local.ip())),
        Fetch::DstPort => one(Value::Int(i64::from(ctx.local.port()))),
        Fetch::FeName => one(s(ctx.fe_name.as_bytes())),
        // Only a stream has one (none in `tcp-request connection|session` rules).
        Fetch::ResComp => Ok(Values::One(Value::Bool(ctx.comp.is_some()))),
        Fetch::ResCompAlgo => Ok(ctx
            .comp
            .map(|a| s(a.cfg_name().as_bytes()))
            .into_iter()
            .collect()),
        Fetch::UniqueId => Ok(ctx
            .uid
            .filter(|_| ctx.stream)
            .and_then(|u| u.get(ctx))
            .map(|id| s(id.as_bytes()))
            .into_iter()
            .collect()),
        Fetch::BeName => Ok(ctx
            .be
            .map(|b| s(b.ir.name.as_bytes()))
            .into_iter()
            .collect()),
        Fetch::Nbsrv(_) => Ok(ctx
            .be
            .map(|b| {
                // A disabled backend has none (be_usable_srv).
                let up = b.usable_all().iter().filter(|u| **u).count();
                Value::Int(if b.ir.disabled { 0 } else { up as i64 })
            })
            .into_iter()
            .collect()),
        Fetch::SrvIsUp(..) => Ok(Values::Zero),
        Fetch::Env(n) => Ok(std::env::var_os(&**n)
            .map(|v| Value::Str(Cow::Owned(v.into_encoded_bytes())))
            .into_iter()
            .collect()),
        // Always a value; "may change" while the buffer can grow (matching::test).
        // In HTTP mode, the request's HTX size while it is still the proxy's (none left
        // once it went to the server, as in response rules).
        Fetch::ReqLen => one(Value::Int(
            ctx.http_len
                .or_else(|| {
                    let req = ctx.req.filter(|_| ctx.res.is_none())?;
                    Some(req.htx_size() as usize)
                })
                .unwrap_or(ctx.buf.len()) as i64,
        )),
        // Rules read the channel they run on: a response rule's buffer is the server's.
        Fetch::ResLen => one(Value::Int(
            ctx.res.map_or(ctx.buf.len(), |h| h.htx_size() as usize) as i64,
        )),
        // haproxy has no raw bytes for an HTTP message.
        Fetch::Payload(_) | Fetch::ResPayload(_) if ctx.req.is_some() || ctx.res.is_some() => {
            Ok(Values::Zero)
        }
        Fetch::Payload(p) | Fetch::ResPayload(p) => match payload(ctx.buf, *p, last) {
            Err(NotYet) => Err(NotYet),
            Ok(None) => Ok(Values::Zero),
            Ok(Some(b)) => one(Value::Bin(Cow::Borrowed(b))),
        },
        Fetch::ReqSslSni => hello(tls_hello::hello_sni(ctx.buf), last, s),
        Fetch::ReqSslHelloType => hello(tls_hello::hello_type(ctx.buf), last, Value::Int),
        Fetch::ReqSslVer => hello(tls_hello::hello_version(ctx.buf, FULL), last, Value::Int),
        Fetch::SslFc => one(Value::Bool(ctx.ssl.tls)),
        Fetch::SslCUsed => one(Value::Bool(ctx.ssl.tls && ctx.ssl.cert)),
        Fetch::Tls(t) => Ok(tls_fact(*t, ctx.ssl).into_iter().collect()),
        Fetch::FcErr => one(Value::Int(0)),
        Fetch::SslFcAlpn => Ok(ctx.ssl.alpn.as_deref().map(s).into_iter().collect()),
        Fetch::SslFcSni | Fetch::SslFcProtocol => {
            let text = match f {
                Fetch::SslFcSni => ctx.ssl.sni.as_deref(),
                _ => ctx.ssl.version_name(),
            };
            Ok(text.map(|t| s(t.as_bytes())).into_iter().collect())
        }
        // The stored value and type; else the default, as a string.
        Fetch::Var(v, def) => Ok(match super::vars::get(v, ctx) {
            Ok(Some(x)) => Values::One(x),
            Ok(None) => def.as_deref().map(s).into_iter().collect(),
            Err(super::vars::NoScope) => Values::Zero,
        }),
        Fetch::Sc(w, r) => Ok(super::track::fetch(w, *r, ctx).into_iter().collect()),
        Fetch::TableCnt(t) | Fetch::TableAvl(t) => {
            let avail = matches!(f, Fetch::TableAvl(_));
            let n = super::track::table_count(t.get(), avail, ctx);
            Ok(n.map(Value::Int).into_iter().collect())
        }
        Fetch::Status => Ok(ctx
            .res
            .map(|r| r.status)
            .or(ctx.logged.map(|l| l.1).filter(|s| *s > 0))
            .map(|st| Value::Int(i64::from(st)))
            .into_iter()
            .collect()),
        // A log line: the method the transaction kept.
        Fetch::Method if ctx.req.is_none() && ctx.logged.is_some() => Ok(ctx
            .logged
            .map(|l| Value::Meth(Cow::Borrowed(l.0)))
            .into_iter()
            .collect()),
        Fetch::Hdr(h) if h.dir == Dir::Res || (h.dir == Dir::Chn && ctx.res.is_some()) => Ok(ctx
            .res
            .map(|r| strs(occurrence(header_values(r, h), h.occ)))
            .unwrap_or_default()),
        Fetch::HdrCnt(h) if h.dir == Dir::Res => Ok(ctx
            .res
            .map(|r| Values::One(Value::Int(header_values(r, h).len() as i64)))
            .unwrap_or_default()),
        // The request is gone once the response is processed.
        f if ctx.res.is_some() && f.needs_request() => Ok(Values::Zero),
        _ => {
            let Some(req) = request(ctx)? else {
                return Ok(Values::Zero);
            };
            Ok(http_fetch(f, req))
        }
    }
}

/// The fetches that read a request head.
fn http_fetch<'a>(f: &'a Fetch, req: &'a Head) -> Values<'a> {
    let s = |b: &'a [u8]| Value::Str(Cow::Borrowed(b));
    let uri = req.part(1);
    match f {
        Fetch::Method => Values::One(Value::Meth(Cow::Borrowed(req.method()))),
        Fetch::Path => path_of(uri).map(s).into_iter().collect(),
        Fetch::Url => Values::One(s(uri)),
        Fetch::Query => match uri.iter().position(|&c| c == b'?') {
            Some(p) => Values::One(s(&uri[p + 1..])),
            None => Values::Zero,
        },
        Fetch::Base => {
            let mut v = req.header(b"host").unwrap_or(b"").to_vec();
            v.extend_from_slice(path_of(uri).unwrap_or(b""));
            Values::One(Value::Str(Cow::Owned(v)))
        }
        Fetch::ReqVer => {
            let v = req.part(2);
            Values::One(s(v.strip_prefix(b"HTTP/").unwrap_or(v)))
        }
        Fetch::UrlParam(name, delim) => strs(url_params(uri, name.as_deref(), *delim)),
        // Every value of every header: no list to build.
        Fetch::Hdr(h) if h.occ == 0 => header_iter(req, h).map(s).collect(),
        Fetch::Hdr(h) => strs(occurrence(header_values(req, h), h.occ)),
        Fetch::HdrCnt(h) => Values::One(Value::Int(header_iter(req, h).count() as i64)),
        Fetch::Cook(name) => strs(cookies(req, name.as_deref())),
        Fetch::HttpAuth(_)
        | Fetch::HttpAuthGroup(_)
        | Fetch::HttpAuthType
        | Fetch::HttpAuthUser
        | Fetch::HttpAuthPass => super::auth::fetch(f, req),
        _ => Values::Zero,
    }
}

/// A sample expression's values: the fetch's, each through the converters.
pub fn sample<'a>(e: &'a SampleExpr, ctx: &'a Ctx) -> Fetched<'a> {
    let vals = fetch(&e.fetch, ctx)?;
    if e.convs.is_empty() {
        return Ok(vals);
    }
    // An MQTT validity check on a partial packet could still turn: wait as haproxy does.
    if !ctx.last
        && e.convs.first() == Some(&Conv::MqttIsValid)
        && vals
            .iter()
            .any(|v| mqtt::validate(&v.to_bytes()) == Mqtt::NeedMore)
    {
        return Err(NotYet);
    }
    Ok(vals
        .into_iter()
        .filter_map(|v| {
            e.convs.iter().try_fold(v, |v, c| match c {
                Conv::Table(t, r) => super::track::convert(t.get(), *r, &v, ctx),
                c => super::convert::convert(c, v, ctx),
            })
        })
        .collect())
}

/// A fact of the client connection's TLS, as haproxy's ssl_sample.c gives it.
fn tls_fact(t: TlsFetch, ssl: &SslInfo) -> Option<Value<'_>> {
    match t {
        TlsFetch::HasSni => return Some(Value::Bool(ssl.tls && ssl.sni.is_some())),
        TlsFetch::IsResumed => return Some(Value::Bool(ssl.tls && ssl.resumed)),
        _ if !ssl.tls => return None,
        _ => {}
    }
    Some(match t {
        TlsFetch::Cipher => {
            let name = ssl.cipher?.openssl_name();
            Value::Str(Cow::Borrowed(name.as_bytes()))
        }
        // Set by the verify callback, which a resumed handshake does not run.
        TlsFetch::HasCrt => Value::Bool(ssl.cert && !ssl.resumed),
        TlsFetch::KeySize => Value::Int(ssl.cipher?.key_bits().into()),
        _ => Value::Int(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_paths() {
        assert_eq!(path_of(b"/a/b?x=1"), Some(&b"/a/b"[..]));
        assert_eq!(path_of(b"http://h:80/p?q"), Some(&b"/p"[..]));
        assert_eq!(path_of(b"*"), None);
        assert_eq!(path_of(b"http://h"), None);
        assert_eq!(
            url_params(b"/p?a=1&b=2&a=3", Some(b"a"), b'?'),
            vec![&b"1"[..], b"3"]
        );
        assert_eq!(url_params(b"/p?a=1;b=2", Some(b"b"), b'?'), vec![&b"2"[..]]);
        assert!(url_params(b"/p?a&b", Some(b"a"), b'?').is_empty());
        assert_eq!(url_params(b"/p?a&b=2", None, b'?'), vec![&b"2"[..]]);
        assert_eq!(url_params(b"/p?x=1&y=2", Some(b"y"), b'&'), vec![&b"2"[..]]);
        assert_eq!(occurrence(vec![b"1", b"2", b"3"], -1), vec![&b"3"[..]]);
        assert_eq!(str2int(b"12ab"), Some(12));
        assert_eq!(str2int(b"abc"), Some(0));
        assert_eq!(str2int(b"-9223372036854775809"), Some(i64::MIN));
        assert_eq!(str2int(b""), None);
    }
}
