//! PROXY protocol headers sent to servers, byte for byte as HAProxy 2.6 writes them
//! (proxy-protocol.txt; haproxy-subset.md §4.3 and §5).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::ir::{Cipher, ProxyV2Options, TlsVersion};

/// The v2 signature.
pub const V2_SIG: [u8; 12] = [
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
];

/// TLS facts of the client connection, for the SSL TLV (filled by the TLS issue).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslInfo {
    /// The client connection used TLS.
    pub tls: bool,
    /// The protocol version ([`SslInfo::version_name`]): a byte, as every session keeps
    /// these facts.
    pub version: Option<TlsVersion>,
    /// Client certificate CN.
    pub cn: Option<Box<str>>,
    /// Client presented a certificate.
    pub cert: bool,
    /// Negotiated ALPN protocol.
    pub alpn: Option<Box<[u8]>>,
    /// The server name the client sent (SNI).
    pub sni: Option<Box<str>>,
    /// The cipher the handshake negotiated.
    pub cipher: Option<Cipher>,
    /// The handshake resumed an earlier session (ticket or cache).
    pub resumed: bool,
    /// The certificate the handshake served (`cert-key`, `cert-sig`).
    pub own: Option<Arc<OwnCert>>,
    /// The authority a received PROXY v2 header carried: sent on instead of the SNI
    /// (boxed twice: one word in every session, for a field few have).
    #[allow(clippy::box_collection, clippy::redundant_allocation)]
    pub authority: Option<Box<Box<[u8]>>>,
}

impl SslInfo {
    /// The version as haproxy names it ("TLSv1.3").
    pub fn version_name(&self) -> Option<&'static str> {
        Some(match self.version? {
            TlsVersion::Ssl3 => "SSLv3",
            TlsVersion::Tls10 => "TLSv1",
            TlsVersion::Tls11 => "TLSv1.1",
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        })
    }
}

/// What the PROXY v2 `cert-key` and `cert-sig` sub-TLVs say of a certificate a bind
/// serves, read once at load.
#[derive(Debug, PartialEq, Eq)]
pub struct OwnCert {
    /// "RSA2048", "EC256"; none for other key types, as haproxy sends none.
    pub key: Option<Box<str>>,
    /// The signature algorithm's OpenSSL short name.
    pub sig: &'static str,
}

/// What a stream adds to the TLVs of its server connection's PROXY v2 header.
#[derive(Debug, Clone, Copy, Default)]
pub struct V2Facts<'a> {
    /// The client connection's TLS facts and received authority.
    pub ssl: Option<&'a SslInfo>,
    /// The stream's unique id (`unique-id`); empty without `unique-id-format`.
    pub unique_id: &'a str,
}

/// Both addresses in one family: IPv4 stays IPv4 only when both ends are IPv4.
fn same_family(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v6 = |a: SocketAddr| match a {
        SocketAddr::V4(v) => SocketAddr::new(IpAddr::V6(v.ip().to_ipv6_mapped()), v.port()),
        other => other,
    };
    match (src, dst) {
        (SocketAddr::V4(_), SocketAddr::V4(_)) | (SocketAddr::V6(_), SocketAddr::V6(_)) => {
            (src, dst)
        }
        _ => (v6(src), v6(dst)),
    }
}

/// `send-proxy` (v1): `PROXY TCP4 <src> <dst> <sport> <dport>\r\n`.
pub fn v1(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let (s, d) = same_family(src, dst);
    let fam = if s.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {fam} {} {} {} {}\r\n",
        s.ip(),
        d.ip(),
        s.port(),
        d.port()
    )
    .into_bytes()
}

/// `send-proxy-v2` for a proxied connection, with the TLVs `opts` asks for, in haproxy's
/// order: CRC32C, ALPN (whenever the client negotiated one), authority, unique id, SSL.
pub fn v2(src: SocketAddr, dst: SocketAddr, opts: &ProxyV2Options, f: V2Facts<'_>) -> Vec<u8> {
    let (s, d) = same_family(src, dst);
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&V2_SIG);
    let fam = match (s.ip(), d.ip()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            h.extend_from_slice(&[0x21, 0x11, 0, 0]);
            h.extend_from_slice(&a.octets());
            h.extend_from_slice(&b.octets());
            0x11
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            h.extend_from_slice(&[0x21, 0x21, 0, 0]);
            h.extend_from_slice(&a.octets());
            h.extend_from_slice(&b.octets());
            0x21
        }
        _ => 0x00,
    };
    debug_assert_ne!(fam, 0, "same_family gives one family");
    h.extend_from_slice(&s.port().to_be_bytes());
    h.extend_from_slice(&d.port().to_be_bytes());
    let crc_at = opts.crc32c.then(|| tlv(&mut h, 0x03, &[0; 4]));
    let none = SslInfo::default();
    let ssl = f.ssl.unwrap_or(&none);
    if let Some(alpn) = &ssl.alpn {
        tlv(&mut h, 0x01, alpn);
    }
    if opts.authority {
        let sni = ssl.sni.as_deref().map(str::as_bytes);
        if let Some(a) = ssl.authority.as_deref().map(|a| &a[..]).or(sni) {
            tlv(&mut h, 0x02, a);
        }
    }
    if opts.unique_id {
        tlv(&mut h, 0x05, f.unique_id.as_bytes());
    }
    if opts.ssl {
        ssl_tlv(&mut h, opts, ssl);
    }
    finish(h, crc_at)
}

/// The header a health check sends with `check-send-proxy` on a v2 server: LOCAL, no
/// address, with the CRC32C and an empty SSL TLV when the server sends them.
pub fn v2_local(opts: &ProxyV2Options) -> Vec<u8> {
    let mut h = Vec::with_capacity(32);
    h.extend_from_slice(&V2_SIG);
    h.extend_from_slice(&[0x20, 0x00, 0, 0]);
    let crc_at = opts.crc32c.then(|| tlv(&mut h, 0x03, &[0; 4]));
    if opts.ssl {
        ssl_tlv(&mut h, opts, &SslInfo::default());
    }
    finish(h, crc_at)
}

/// Appends a TLV; returns where its value starts.
fn tlv(h: &mut Vec<u8>, kind: u8, value: &[u8]) -> usize {
    h.push(kind);
    h.extend_from_slice(&(value.len() as u16).to_be_bytes());
    h.extend_from_slice(value);
    h.len() - value.len()
}

/// Writes the length, then the CRC32C of the whole header when there is one.
fn finish(mut h: Vec<u8>, crc_at: Option<usize>) -> Vec<u8> {
    let len = (h.len() - 16) as u16;
    h[14..16].copy_from_slice(&len.to_be_bytes());
    if let Some(at) = crc_at {
        let crc = crc32c(&h);
        h[at..at + 4].copy_from_slice(&crc.to_be_bytes());
    }
    h
}

/// `PP2_TYPE_SSL` (0x20): client flags, verify result, then the version, CN, key, signature
/// and cipher sub-TLVs, in haproxy's order.
fn ssl_tlv(h: &mut Vec<u8>, opts: &ProxyV2Options, ssl: &SslInfo) {
    let at = h.len();
    h.extend_from_slice(&[0x20, 0, 0, 0, 0, 0, 0, 0]);
    if ssl.tls {
        h[at + 3] |= 0x01;
        if let Some(v) = ssl.version_name() {
            tlv(h, 0x21, v.as_bytes());
        }
        // The session had a certificate; this connection verified one unless resumed
        // (haproxy's verify callback does not run then).
        if ssl.cert {
            h[at + 3] |= if ssl.resumed { 0x04 } else { 0x06 };
        }
        if let (true, Some(cn)) = (opts.cert_cn, &ssl.cn) {
            tlv(h, 0x22, cn.as_bytes());
        }
        let own = ssl.own.as_deref();
        if let (true, Some(k)) = (opts.cert_key, own.and_then(|o| o.key.as_deref())) {
            tlv(h, 0x25, k.as_bytes());
        }
        if let (true, Some(o)) = (opts.cert_sig, own) {
            tlv(h, 0x24, o.sig.as_bytes());
        }
        if let (true, Some(c)) = (opts.ssl_cipher, ssl.cipher) {
            tlv(h, 0x23, c.openssl_name().as_bytes());
        }
    }
    let len = (h.len() - at - 3) as u16;
    h[at + 1..at + 3].copy_from_slice(&len.to_be_bytes());
}

/// CRC-32C (Castagnoli), as haproxy's `hash_crc32c`.
pub fn crc32c(b: &[u8]) -> u32 {
    let mut h = !0u32;
    for &c in b {
        h ^= u32::from(c);
        for _ in 0..8 {
            h = (h >> 1) ^ if h & 1 != 0 { 0x82f6_3b78 } else { 0 };
        }
    }
    !h
}

/// What a received PROXY header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// The real client and destination addresses.
    Proxied {
        /// Client.
        src: SocketAddr,
        /// Destination the client connected to.
        dst: SocketAddr,
        /// A v2 header's authority TLV (the name the client asked for).
        authority: Option<Box<[u8]>>,
    },
    /// `LOCAL` (v2) or `UNKNOWN` (v1): keep the connection's own addresses.
    Local,
}

/// Why a received header was refused; the texts are HAProxy's connection error strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Not a PROXY header at all.
    NotProxy,
    /// More bytes are needed (caller keeps reading, bounded).
    Incomplete,
    /// A v1 line that stops before its CRLF (HAProxy does not wait for the rest).
    Truncated,
    /// Looked like one but a field is invalid.
    Malformed,
}

impl HeaderError {
    /// HAProxy's wording for the log.
    pub fn text(self) -> &'static str {
        match self {
            HeaderError::NotProxy => {
                "Received something which does not look like a PROXY protocol header"
            }
            HeaderError::Incomplete | HeaderError::Truncated => {
                "Truncated PROXY protocol header received"
            }
            HeaderError::Malformed => "Received an invalid PROXY protocol header",
        }
    }
}

/// The largest header accepted: what haproxy peeks at once, a buffer (`tune.bufsize`'s
/// default); v1 is at most 107 bytes.
pub const MAX_HEADER: usize = 16384;

/// Decodes a v1 or v2 header at the start of `buf`; returns it and its length.
pub fn decode(buf: &[u8]) -> Result<(Received, usize), HeaderError> {
    if buf.len() >= 12 && buf[..12] == V2_SIG {
        return decode_v2(buf);
    }
    if V2_SIG.starts_with(&buf[..buf.len().min(12)]) && buf.len() < 12 {
        return Err(HeaderError::Incomplete);
    }
    if b"PROXY ".starts_with(&buf[..buf.len().min(6)]) {
        if buf.len() < 6 {
            return Err(HeaderError::Incomplete);
        }
        return decode_v1(buf);
    }
    Err(HeaderError::NotProxy)
}

fn decode_v1(buf: &[u8]) -> Result<(Received, usize), HeaderError> {
    let Some(end) = buf.windows(2).take(107).position(|w| w == b"\r\n") else {
        // HAProxy parses the first 8+ bytes it gets and calls a missing CRLF truncation.
        return Err(if buf.len() >= 107 {
            HeaderError::Malformed
        } else if buf.len() >= 8 {
            HeaderError::Truncated
        } else {
            HeaderError::Incomplete
        });
    };
    let line = std::str::from_utf8(&buf[6..end]).map_err(|_| HeaderError::Malformed)?;
    let f: Vec<&str> = line.split(' ').collect();
    if f.first() == Some(&"UNKNOWN") {
        return Ok((Received::Local, end + 2));
    }
    if f.len() != 5 || !matches!(f[0], "TCP4" | "TCP6") {
        return Err(HeaderError::Malformed);
    }
    let ip = |s: &str| s.parse::<IpAddr>().map_err(|_| HeaderError::Malformed);
    let port = |s: &str| -> Result<u16, HeaderError> {
        if s.is_empty()
            || s.len() > 5
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return Err(HeaderError::Malformed);
        }
        s.parse().map_err(|_| HeaderError::Malformed)
    };
    let (sa, da) = (ip(f[1])?, ip(f[2])?);
    if (f[0] == "TCP4") != (sa.is_ipv4() && da.is_ipv4()) || sa.is_ipv4() != da.is_ipv4() {
        return Err(HeaderError::Malformed);
    }
    let src = SocketAddr::new(sa, port(f[3])?);
    let dst = SocketAddr::new(da, port(f[4])?);
    let authority = None;
    Ok((
        Received::Proxied {
            src,
            dst,
            authority,
        },
        end + 2,
    ))
}

fn decode_v2(buf: &[u8]) -> Result<(Received, usize), HeaderError> {
    // The version first, as haproxy checks it with the signature.
    if buf.len() > 12 && buf[12] & 0xf0 != 0x20 {
        return Err(HeaderError::NotProxy);
    }
    if buf.len() < 16 {
        return Err(HeaderError::Incomplete);
    }
    let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
    if 16 + len > MAX_HEADER {
        return Err(HeaderError::Malformed);
    }
    if buf.len() < 16 + len {
        return Err(HeaderError::Incomplete);
    }
    let body = &buf[16..16 + len];
    match buf[12] {
        0x20 => return Ok((Received::Local, 16 + len)),
        0x21 => {}
        _ => return Err(HeaderError::Malformed),
    }
    let ports = |at: usize| -> (u16, u16) {
        (
            u16::from_be_bytes([body[at], body[at + 1]]),
            u16::from_be_bytes([body[at + 2], body[at + 3]]),
        )
    };
    let r = match buf[13] {
        0x11 if len >= 12 => {
            let s: [u8; 4] = body[0..4].try_into().map_err(|_| HeaderError::Malformed)?;
            let d: [u8; 4] = body[4..8].try_into().map_err(|_| HeaderError::Malformed)?;
            let (sp, dp) = ports(8);
            Received::Proxied {
                src: SocketAddr::new(IpAddr::from(s), sp),
                dst: SocketAddr::new(IpAddr::from(d), dp),
                authority: tlvs(&buf[..16 + len], 16 + 12)?,
            }
        }
        0x21 if len >= 36 => {
            let s: [u8; 16] = body[0..16].try_into().map_err(|_| HeaderError::Malformed)?;
            let d: [u8; 16] = body[16..32]
                .try_into()
                .map_err(|_| HeaderError::Malformed)?;
            let (sp, dp) = ports(32);
            Received::Proxied {
                src: SocketAddr::new(IpAddr::from(s), sp),
                dst: SocketAddr::new(IpAddr::from(d), dp),
                authority: tlvs(&buf[..16 + len], 16 + 36)?,
            }
        }
        // Other families with the PROXY command: haproxy reads TLVs from the header's
        // first byte, which never fit (a LOCAL header keeps the addresses instead).
        _ => return Err(HeaderError::Malformed),
    };
    Ok((r, 16 + len))
}

/// Checks the TLVs of a v2 header with addresses as haproxy does (each within the header,
/// a CRC32C that matches, an authority of at most 255 bytes and a unique id of at most
/// 128); returns the authority.
fn tlvs(h: &[u8], mut at: usize) -> Result<Option<Box<[u8]>>, HeaderError> {
    let mut authority = None;
    while at < h.len() {
        if at + 3 > h.len() {
            return Err(HeaderError::Malformed);
        }
        let (kind, len) = (h[at], u16::from_be_bytes([h[at + 1], h[at + 2]]) as usize);
        let v = at + 3;
        at = v + len;
        if at > h.len() {
            return Err(HeaderError::Malformed);
        }
        match kind {
            0x03 => {
                if len != 4 {
                    return Err(HeaderError::Malformed);
                }
                let mut zeroed = h.to_vec();
                zeroed[v..v + 4].fill(0);
                if crc32c(&zeroed).to_be_bytes() != h[v..v + 4] {
                    return Err(HeaderError::Malformed);
                }
            }
            0x02 if len > 255 => return Err(HeaderError::Malformed),
            0x02 => authority = Some(Box::from(&h[v..at])),
            0x05 if len > 128 => return Err(HeaderError::Malformed),
            _ => {}
        }
    }
    Ok(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    const SIG: &str = "0d0a0d0a000d0a515549540a";

    fn opts(ssl: bool, cn: bool) -> ProxyV2Options {
        ProxyV2Options {
            ssl,
            cert_cn: cn,
            ..Default::default()
        }
    }

    fn plain(o: &ProxyV2Options, src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
        v2(src, dst, o, V2Facts::default())
    }

    #[test]
    fn bytes_match_haproxy() {
        let src: SocketAddr = "127.0.0.55:61166".parse().unwrap();
        let dst: SocketAddr = "127.0.0.1:24001".parse().unwrap();
        assert_eq!(
            v1(src, dst),
            b"PROXY TCP4 127.0.0.55 127.0.0.1 61166 24001\r\n"
        );
        assert_eq!(
            hex(&plain(&opts(false, false), src, dst)),
            format!("{SIG}2111000c7f0000377f000001eeee5dc1")
        );
        assert_eq!(
            hex(&plain(&opts(true, false), src, dst)),
            format!("{SIG}211100147f0000377f000001eeee5dc1200005000000000") + "0"
        );
        let s6: SocketAddr = "[::1]:61166".parse().unwrap();
        let d6: SocketAddr = "[::1]:24001".parse().unwrap();
        assert_eq!(plain(&opts(false, false), s6, d6).len(), 52);
        assert_eq!(v1(s6, d6), b"PROXY TCP6 ::1 ::1 61166 24001\r\n");
        assert_eq!(
            hex(&v2_local(&opts(false, false))),
            format!("{SIG}20000000")
        );
        assert_eq!(
            hex(&v2_local(&opts(true, false))),
            format!("{SIG}2000000820000500000000") + "00"
        );
        let tls = SslInfo {
            tls: true,
            version: Some(TlsVersion::Tls13),
            cn: Some("client1".into()),
            cert: true,
            ..Default::default()
        };
        let f = V2Facts {
            ssl: Some(&tls),
            unique_id: "",
        };
        let b = v2(src, dst, &opts(true, true), f);
        assert!(hex(&b).ends_with(&format!(
            "200019070000000021000754{}22000763{}",
            "4c5376312e33", "6c69656e7431"
        )));
    }

    /// Every session keeps these facts (an idle MQTT or keep-alive client too): no larger
    /// than before the TLVs' fields came (measured by benches' RSS per idle client).
    #[test]
    fn ssl_info_stays_small() {
        assert!(std::mem::size_of::<SslInfo>() <= 72);
    }

    /// Every option at once: the header haproxy 2.6.12 sent for a TLS 1.3 client that
    /// asked for ec.test (an EC P-256 certificate signed by an RSA CA).
    #[test]
    fn all_options_match_haproxy_bytes() {
        let src: SocketAddr = "127.0.0.1:42020".parse().unwrap();
        let dst: SocketAddr = "127.0.133.1:26000".parse().unwrap();
        let o = ProxyV2Options {
            ssl: true,
            ssl_cipher: true,
            cert_sig: true,
            cert_key: true,
            authority: true,
            crc32c: true,
            unique_id: true,
            cert_cn: false,
        };
        let tls = SslInfo {
            tls: true,
            version: Some(TlsVersion::Tls13),
            sni: Some("ec.test".into()),
            cipher: Some(Cipher::Tls13Aes256Gcm),
            own: Some(Arc::new(OwnCert {
                key: Some("EC256".into()),
                sig: "RSA-SHA256",
            })),
            ..Default::default()
        };
        let id = "7F000001:A424_7F008501:6590_6B173979_0001:191E";
        let f = V2Facts {
            ssl: Some(&tls),
            unique_id: id,
        };
        let want = "0d0a0d0a000d0a515549540a2111008e7f0000017f008501a42465900300049bca5abc\
            02000765632e7465737405002e37463030303030313a413432345f37463030383530313a363539\
            305f36423137333937395f303030313a3139314520003d0100000000210007544c5376312e3325\
            0005454332353624000a5253412d534841323536230016544c535f4145535f3235365f47434d5f\
            534841333834";
        let got = v2(src, dst, &o, f);
        assert_eq!(hex(&got), want);
        // Received back: the CRC holds, the authority is kept; a flipped byte is refused.
        let (r, n) = decode(&got).unwrap();
        assert_eq!(n, got.len());
        let authority = Some(Box::from(&b"ec.test"[..]));
        assert_eq!(
            r,
            Received::Proxied {
                src,
                dst,
                authority
            }
        );
        let mut bad = got.clone();
        bad[40] ^= 1;
        assert_eq!(decode(&bad), Err(HeaderError::Malformed));
    }

    #[test]
    fn bad_tlvs_are_refused_as_haproxy_refuses_them() {
        let src: SocketAddr = "127.1.2.3:5555".parse().unwrap();
        let dst: SocketAddr = "127.0.0.1:24001".parse().unwrap();
        let with = |extra: &[u8]| {
            let mut h = plain(&opts(false, false), src, dst);
            h.extend_from_slice(extra);
            let len = (h.len() - 16) as u16;
            h[14..16].copy_from_slice(&len.to_be_bytes());
            decode(&h).map(|(r, _)| r)
        };
        // A TLV running past the header, a lone type byte, an over-long authority or
        // unique id, a CRC of the wrong size.
        assert_eq!(with(&[0x04, 0, 9, 1]), Err(HeaderError::Malformed));
        assert_eq!(with(&[0x04]), Err(HeaderError::Malformed));
        let long = [&[0x02, 1, 0][..], &[b'a'; 256]].concat();
        assert_eq!(with(&long), Err(HeaderError::Malformed));
        let long = [&[0x05, 0, 129][..], &[b'a'; 129]].concat();
        assert_eq!(with(&long), Err(HeaderError::Malformed));
        assert_eq!(with(&[0x03, 0, 2, 0, 0]), Err(HeaderError::Malformed));
        // Unknown TLVs and limits met are fine.
        let ok = [&[0x05, 0, 128][..], &[b'a'; 128], &[0xee, 0, 1, 7]].concat();
        let authority = None;
        assert_eq!(
            with(&ok),
            Ok(Received::Proxied {
                src,
                dst,
                authority
            })
        );
    }

    #[test]
    fn decoding_round_trips_and_refuses_garbage() {
        let src: SocketAddr = "127.1.2.3:5555".parse().unwrap();
        let dst: SocketAddr = "127.0.0.1:24001".parse().unwrap();
        let h = v1(src, dst);
        let authority = None;
        let want = Received::Proxied {
            src,
            dst,
            authority,
        };
        assert_eq!(decode(&h), Ok((want.clone(), h.len())));
        let mut h2 = plain(&opts(true, false), src, dst);
        let n = h2.len();
        h2.extend_from_slice(b"MQTT");
        assert_eq!(decode(&h2), Ok((want, n)));
        assert_eq!(
            decode(&v2_local(&opts(false, false))),
            Ok((Received::Local, 16))
        );
        assert_eq!(decode(b"PROXY UNKNOWN\r\n"), Ok((Received::Local, 15)));
        assert_eq!(decode(b"GET / HTTP/1.0\r\n"), Err(HeaderError::NotProxy));
        assert_eq!(decode(b"PROXY TCP4 1.2.3"), Err(HeaderError::Truncated));
        assert_eq!(decode(b"PROXY T"), Err(HeaderError::Incomplete));
        assert_eq!(
            decode(b"PROXY TCP4 1.2.3.999 1.2.3.4 1 2\r\n"),
            Err(HeaderError::Malformed)
        );
        assert_eq!(
            decode(b"PROXY TCP4 ::1 1.2.3.4 1 2\r\n"),
            Err(HeaderError::Malformed)
        );
        assert_eq!(decode(&h2[..20]), Err(HeaderError::Incomplete));
        // The PROXY command with an unspecified or unix family, as haproxy refuses it;
        // another version is not a PROXY header at all, said before the length.
        let mut unspec = v2_local(&opts(false, false));
        unspec[12] = 0x21;
        assert_eq!(decode(&unspec), Err(HeaderError::Malformed));
        unspec[13] = 0x31;
        assert_eq!(decode(&unspec), Err(HeaderError::Malformed));
        assert_eq!(
            decode(&[&V2_SIG[..], &[0x11]].concat()),
            Err(HeaderError::NotProxy)
        );
        assert_eq!(decode(&[0x0d, 0x0a]), Err(HeaderError::Incomplete));
    }
}
