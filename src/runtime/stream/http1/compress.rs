//! HTTP compression as haproxy 2.6's compression filter does it (flt_http_comp.c): the
//! algorithm chosen from the request's `accept-encoding`, the response's eligibility, the
//! head rewritten (chunked, no length, weak ETag, `vary`, `content-encoding`) and the
//! body encoded piece by piece. The encoder is flate2's: the decoded body is the same,
//! the compressed bytes are not libslz's.

use std::io::Write;

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

use super::head::{is_token, Head};
use crate::ir::compression::{Algo, Compression};

/// The backend's settings, then the frontend's: haproxy looks at the backend first.
pub type Settings<'a> = [Option<&'a Compression>; 2];

/// The algorithm for this request's response, if any (select_compression_request_header),
/// and with `offload`, the request's `accept-encoding` headers removed.
pub fn on_request(comp: Settings<'_>, req: &mut Head) -> Option<Algo> {
    if comp.iter().all(Option::is_none) {
        return None;
    }
    if old_mozilla(req.header(b"user-agent")) {
        return None;
    }
    let algos = first_listed(comp, |c| &c.algos);
    let mut chosen = None;
    if let Some(algos) = algos {
        let mut best_q = 0;
        for v in req.values(b"accept-encoding") {
            let tok = v.iter().take_while(|&&c| is_token(c)).count();
            let q = qvalue(&v[tok..]);
            if q <= best_q {
                continue;
            }
            let star = v.first() == Some(&b'*');
            if let Some(a) = algos
                .iter()
                .find(|a| star || v[..tok].eq_ignore_ascii_case(a.coding().as_bytes()))
            {
                chosen = Some(*a);
                best_q = q;
            }
        }
    }
    if chosen.is_some() {
        if comp.iter().flatten().any(|c| c.offload) {
            req.remove_named(b"accept-encoding");
        }
        return chosen;
    }
    // identity needs no header: listed, it is taken.
    algos.and_then(|a| a.iter().copied().find(|a| *a == Algo::Identity))
}

/// haproxy's exception for user agents that announce "Mozilla/4" and are not MSIE 6 SP2
/// or later: such clients get nothing compressed.
fn old_mozilla(ua: Option<&[u8]>) -> bool {
    let Some(v) = ua else {
        return false;
    };
    v.len() >= 9
        && v.starts_with(b"Mozilla/4")
        && (v.len() < 31
            || &v[25..30] != b"MSIE "
            || v[30] < b'6'
            || (v[30] == b'6' && (v.len() < 54 || &v[51..54] != b"SV1")))
}

/// The `q=` weight after a coding (1000 when absent), as http_parse_qvalue reads it.
fn qvalue(mut rest: &[u8]) -> u32 {
    loop {
        rest = super::head::trim_lws(rest);
        let Some(after) = rest.strip_prefix(b";") else {
            return 1000;
        };
        rest = super::head::trim_lws(after);
        if rest.is_empty() {
            return 1000;
        }
        // haproxy compares "q=" over what is left, at most two bytes.
        let n = rest.len().min(2);
        if rest[..n] == b"q="[..n] {
            return parse_q(rest.get(2..).unwrap_or_default());
        }
        let skip = rest.iter().position(|&c| c == b';').unwrap_or(rest.len());
        rest = &rest[skip..];
    }
}

fn parse_q(s: &[u8]) -> u32 {
    let digit = |i: usize| {
        s.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    };
    let Some(d0) = digit(0) else {
        return 1000;
    };
    let mut q = d0 * 1000;
    if s.get(1) == Some(&b'.') {
        for (i, w) in [(2, 100), (3, 10), (4, 1)] {
            match digit(i) {
                Some(d) => q += d * w,
                None => break,
            }
        }
    }
    q.min(1000)
}

/// Whether the response may be compressed (select_compression_response_header): both
/// messages HTTP/1.1, not HEAD, a 200 to 203 with a known length and a body (`has_body`:
/// not a length of 0), not encoded already,
/// no `no-transform`, at most one valid ETag, a content type the settings accept.
pub fn response_fits(comp: Settings<'_>, req: &Head, res: &Head, has_body: bool) -> bool {
    if !res.flags.ver11 || !req.flags.ver11 || req.method() == b"HEAD" {
        return false;
    }
    if !(200..=203).contains(&res.status) || !has_body {
        return false;
    }
    if res.header(b"content-encoding").is_some() {
        return false;
    }
    let no_transform = res.values(b"cache-control").any(|v| {
        v.len() >= 12
            && v[..12].eq_ignore_ascii_case(b"no-transform")
            && v[12..].iter().all(|&c| c == b' ' || c == b'\t')
    });
    if no_transform {
        return false;
    }
    let mut etags = res.headers().filter(|(n, _)| *n == b"etag");
    if let Some((_, e)) = etags.next() {
        if etag_kind(e).is_none() || etags.next().is_some() {
            return false;
        }
    }
    let types = first_listed(comp, |c| &c.types);
    match res.header(b"content-type") {
        Some(ct) => {
            if ct.len() >= 9 && ct[..9].eq_ignore_ascii_case(b"multipart") {
                return false;
            }
            types.is_none_or(|t| {
                t.iter().any(|t| {
                    ct.len() >= t.len() && ct[..t.len()].eq_ignore_ascii_case(t.as_bytes())
                })
            })
        }
        None => types.is_none(),
    }
}

/// The list `pick` takes from the first proxy (backend first) whose list is not empty:
/// haproxy takes a proxy's algorithms or types whole, never merged with the other's.
fn first_listed<T>(comp: Settings<'_>, pick: impl Fn(&Compression) -> &Vec<T>) -> Option<&Vec<T>> {
    comp.iter()
        .flatten()
        .map(|c| pick(c))
        .find(|l| !l.is_empty())
}

/// Some(true) for a strong ETag, Some(false) for a weak one, None when malformed.
fn etag_kind(e: &[u8]) -> Option<bool> {
    if e.len() < 2 || e[e.len() - 1] != b'"' {
        return None;
    }
    if e[0] == b'"' {
        Some(true)
    } else if e.starts_with(b"W/\"") {
        Some(false)
    } else {
        None
    }
}

/// The response head as haproxy rewrites it for a compressed body
/// (set_compression_response_header).
pub fn rewrite_head(res: &mut Head, algo: Algo) {
    if !res.flags.chunked {
        res.add_header(b"transfer-encoding", b"chunked");
        res.flags.chunked = true;
        res.flags.xfer_enc = true;
    }
    res.remove_named(b"content-length");
    res.flags.clen = false;
    let strong = (0..res.header_count()).find(|&i| res.header_at(i).0 == b"etag");
    if let Some(i) = strong {
        if res.header_at(i).1.first() == Some(&b'"') {
            let weak = [b"W/", res.header_at(i).1].concat();
            res.set_value(i, &weak);
        }
    }
    res.add_header(b"vary", b"Accept-Encoding");
    if algo != Algo::Identity {
        res.add_header(b"content-encoding", algo.coding().as_bytes());
    }
}

/// A body being encoded: data in, encoded bytes out, each piece flushed so that the
/// client gets what the server sent as it comes (haproxy flushes per data block).
pub struct Encoder {
    codec: Codec,
    /// Body bytes taken in so far (haproxy's `comp_in`, or `comp_byp` for identity).
    pub consumed: u64,
    /// Bytes given out so far (`comp_out`).
    pub produced: u64,
}

enum Codec {
    Identity,
    Zlib(ZlibEncoder<Vec<u8>>),
    Raw(DeflateEncoder<Vec<u8>>),
    Gzip(GzEncoder<Vec<u8>>),
}

/// haproxy's default `tune.comp.maxlevel`.
const LEVEL: u32 = 1;

impl Encoder {
    /// An encoder for `algo`.
    pub fn new(algo: Algo) -> Self {
        let level = flate2::Compression::new(LEVEL);
        let codec = match algo {
            Algo::Identity => Codec::Identity,
            Algo::Deflate => Codec::Zlib(ZlibEncoder::new(Vec::new(), level)),
            Algo::RawDeflate => Codec::Raw(DeflateEncoder::new(Vec::new(), level)),
            Algo::Gzip => Codec::Gzip(GzEncoder::new(Vec::new(), level)),
        };
        Encoder {
            codec,
            consumed: 0,
            produced: 0,
        }
    }

    /// True when the body goes out as it came (haproxy counts it as bypassed).
    pub fn is_identity(&self) -> bool {
        matches!(self.codec, Codec::Identity)
    }

    /// Encodes `d`: the bytes to send now (empty when the encoder holds them back).
    pub fn add(&mut self, d: &[u8]) -> Vec<u8> {
        // Writing into a Vec cannot fail.
        fn step<W: Write>(w: &mut W, d: &[u8]) {
            let _ = w.write_all(d);
            let _ = w.flush();
        }
        self.consumed += d.len() as u64;
        match &mut self.codec {
            Codec::Identity => {
                self.produced += d.len() as u64;
                return d.to_vec();
            }
            Codec::Zlib(e) => step(e, d),
            Codec::Raw(e) => step(e, d),
            Codec::Gzip(e) => step(e, d),
        }
        self.take()
    }

    /// Counts `n` bytes the filter passes through unchanged (trailers, their end).
    pub fn pass(&mut self, n: u64) {
        self.consumed += n;
        self.produced += n;
    }

    /// Ends the stream: its last bytes (the checksum and length trailers).
    pub fn finish(&mut self) -> Vec<u8> {
        let _ = match &mut self.codec {
            Codec::Identity => return Vec::new(),
            Codec::Zlib(e) => e.try_finish(),
            Codec::Raw(e) => e.try_finish(),
            Codec::Gzip(e) => e.try_finish(),
        };
        self.take()
    }

    fn take(&mut self) -> Vec<u8> {
        let out = std::mem::take(match &mut self.codec {
            Codec::Zlib(e) => e.get_mut(),
            Codec::Raw(e) => e.get_mut(),
            Codec::Gzip(e) => e.get_mut(),
            Codec::Identity => return Vec::new(),
        });
        self.produced += out.len() as u64;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn req(extra: &str) -> Head {
        let text = format!("GET / HTTP/1.1\r\nhost: x\r\n{extra}\r\n");
        Head::request(text.as_bytes(), 101).unwrap().unwrap().0
    }

    fn comp(algos: &[Algo]) -> Compression {
        // Configuration order in, haproxy's (reversed) order kept.
        Compression {
            algos: algos.iter().rev().copied().collect(),
            ..Default::default()
        }
    }

    #[test]
    fn request_choice_follows_q_values_and_order() {
        let c = comp(&[Algo::Gzip, Algo::Deflate]);
        let pick = |ae: &str| on_request([None, Some(&c)], &mut req(ae));
        assert_eq!(pick("accept-encoding: gzip\r\n"), Some(Algo::Gzip));
        assert_eq!(
            pick("accept-encoding: deflate;q=0.5, gzip;q=0.4\r\n"),
            Some(Algo::Deflate)
        );
        // A tie keeps the first; `*` takes the last configured algorithm.
        assert_eq!(pick("accept-encoding: gzip, deflate\r\n"), Some(Algo::Gzip));
        assert_eq!(pick("accept-encoding: *\r\n"), Some(Algo::Deflate));
        assert_eq!(pick("accept-encoding: GZIP;q=0\r\n"), None);
        assert_eq!(pick("accept-encoding: br\r\n"), None);
        assert_eq!(pick(""), None);
        let ua = "accept-encoding: gzip\r\nuser-agent: Mozilla/4.0 (compatible)\r\n";
        assert_eq!(pick(ua), None);
        let with_id = comp(&[Algo::Identity, Algo::Gzip]);
        assert_eq!(
            on_request([Some(&with_id), Some(&c)], &mut req("")),
            Some(Algo::Identity)
        );
    }

    #[test]
    fn offload_removes_accept_encoding() {
        let mut c = comp(&[Algo::Gzip]);
        c.offload = true;
        let mut r = req("accept-encoding: br\r\naccept-encoding: gzip\r\n");
        assert_eq!(on_request([Some(&c), None], &mut r), Some(Algo::Gzip));
        assert_eq!(r.header(b"accept-encoding"), None);
    }

    #[test]
    fn encoders_round_trip() {
        let body: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for algo in [Algo::Gzip, Algo::Deflate, Algo::RawDeflate] {
            let mut e = Encoder::new(algo);
            let mut out = Vec::new();
            for piece in body.chunks(7000) {
                out.extend(e.add(piece));
            }
            out.extend(e.finish());
            let mut plain = Vec::new();
            match algo {
                Algo::Gzip => flate2::read::GzDecoder::new(&out[..]).read_to_end(&mut plain),
                Algo::Deflate => flate2::read::ZlibDecoder::new(&out[..]).read_to_end(&mut plain),
                _ => flate2::read::DeflateDecoder::new(&out[..]).read_to_end(&mut plain),
            }
            .unwrap();
            assert_eq!(plain, body, "{algo:?}");
        }
    }
}
