//! PROXY protocol headers sent to servers, byte for byte as HAProxy 2.6 writes them
//! (proxy-protocol.txt; haproxy-subset.md §4.3 and §5).

use std::net::{IpAddr, SocketAddr};

/// The v2 signature.
pub const V2_SIG: [u8; 12] = [
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
];

/// TLS facts of the client connection, for the SSL TLV (filled by the TLS issue).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslInfo {
    /// The client connection used TLS.
    pub tls: bool,
    /// Protocol version name ("TLSv1.3"). Boxed strings keep every session's copy small.
    pub version: Option<Box<str>>,
    /// Client certificate CN.
    pub cn: Option<Box<str>>,
    /// Client presented a certificate.
    pub cert: bool,
    /// Negotiated ALPN protocol.
    pub alpn: Option<Box<[u8]>>,
    /// The server name the client sent (SNI).
    pub sni: Option<Box<str>>,
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

/// `send-proxy-v2` for a proxied connection, with the SSL TLV when `ssl_tlv` is set.
pub fn v2(src: SocketAddr, dst: SocketAddr, ssl_tlv: bool, cn_tlv: bool, ssl: &SslInfo) -> Vec<u8> {
    let (s, d) = same_family(src, dst);
    let mut body = Vec::with_capacity(64);
    let fam = match (s.ip(), d.ip()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            body.extend_from_slice(&a.octets());
            body.extend_from_slice(&b.octets());
            0x11
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            body.extend_from_slice(&a.octets());
            body.extend_from_slice(&b.octets());
            0x21
        }
        _ => 0x00,
    };
    body.extend_from_slice(&s.port().to_be_bytes());
    body.extend_from_slice(&d.port().to_be_bytes());
    // PP2_TYPE_ALPN first, whenever the client negotiated one (as HAProxy sends it).
    if let Some(alpn) = &ssl.alpn {
        body.push(0x01);
        body.extend_from_slice(&(alpn.len() as u16).to_be_bytes());
        body.extend_from_slice(alpn);
    }
    if ssl_tlv {
        body.extend_from_slice(&ssl_tlv_bytes(cn_tlv, ssl));
    }
    header(0x21, fam, &body)
}

/// The header a health check sends with `check-send-proxy` on a v2 server: LOCAL, no address,
/// with an empty SSL TLV when the server sends `-ssl`/`-ssl-cn`.
pub fn v2_local(ssl_tlv: bool) -> Vec<u8> {
    let body = if ssl_tlv {
        ssl_tlv_bytes(false, &SslInfo::default())
    } else {
        Vec::new()
    };
    header(0x20, 0x00, &body)
}

fn header(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(16 + body.len());
    h.extend_from_slice(&V2_SIG);
    h.push(cmd);
    h.push(fam);
    h.extend_from_slice(&(body.len() as u16).to_be_bytes());
    h.extend_from_slice(body);
    h
}

/// `PP2_TYPE_SSL` (0x20): client flags, verify result, then version / CN sub-TLVs.
fn ssl_tlv_bytes(cn_tlv: bool, ssl: &SslInfo) -> Vec<u8> {
    let mut client = 0u8;
    let mut sub = Vec::new();
    if ssl.tls {
        client |= 0x01;
        if let Some(v) = &ssl.version {
            sub.push(0x21);
            sub.extend_from_slice(&(v.len() as u16).to_be_bytes());
            sub.extend_from_slice(v.as_bytes());
        }
        if ssl.cert {
            client |= 0x06;
            if cn_tlv {
                if let Some(cn) = &ssl.cn {
                    sub.push(0x22);
                    sub.extend_from_slice(&(cn.len() as u16).to_be_bytes());
                    sub.extend_from_slice(cn.as_bytes());
                }
            }
        }
    }
    let mut t = vec![0x20];
    t.extend_from_slice(&((5 + sub.len()) as u16).to_be_bytes());
    t.push(client);
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(&sub);
    t
}

/// What a received PROXY header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The real client and destination addresses.
    Proxied {
        /// Client.
        src: SocketAddr,
        /// Destination the client connected to.
        dst: SocketAddr,
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

/// The largest header accepted (v1 is at most 107 bytes; v2 TLVs are bounded here).
pub const MAX_HEADER: usize = 16 + 1024;

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
    Ok((Received::Proxied { src, dst }, end + 2))
}

fn decode_v2(buf: &[u8]) -> Result<(Received, usize), HeaderError> {
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
            }
        }
        // UNSPEC or unix sockets: keep the connection's own addresses.
        0x00 | 0x31 | 0x32 => Received::Local,
        _ => return Err(HeaderError::Malformed),
    };
    Ok((r, 16 + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    const SIG: &str = "0d0a0d0a000d0a515549540a";

    #[test]
    fn bytes_match_haproxy() {
        let src: SocketAddr = "127.0.0.55:61166".parse().unwrap();
        let dst: SocketAddr = "127.0.0.1:24001".parse().unwrap();
        assert_eq!(
            v1(src, dst),
            b"PROXY TCP4 127.0.0.55 127.0.0.1 61166 24001\r\n"
        );
        assert_eq!(
            hex(&v2(src, dst, false, false, &SslInfo::default())),
            format!("{SIG}2111000c7f0000377f000001eeee5dc1")
        );
        assert_eq!(
            hex(&v2(src, dst, true, false, &SslInfo::default())),
            format!("{SIG}211100147f0000377f000001eeee5dc1200005000000000") + "0"
        );
        let s6: SocketAddr = "[::1]:61166".parse().unwrap();
        let d6: SocketAddr = "[::1]:24001".parse().unwrap();
        assert_eq!(v2(s6, d6, false, false, &SslInfo::default()).len(), 52);
        assert_eq!(v1(s6, d6), b"PROXY TCP6 ::1 ::1 61166 24001\r\n");
        assert_eq!(hex(&v2_local(false)), format!("{SIG}20000000"));
        assert_eq!(
            hex(&v2_local(true)),
            format!("{SIG}2000000820000500000000") + "00"
        );
        let tls = SslInfo {
            tls: true,
            version: Some("TLSv1.3".into()),
            cn: Some("client1".into()),
            cert: true,
            alpn: None,
            sni: None,
        };
        let b = v2(src, dst, true, true, &tls);
        assert!(hex(&b).ends_with(&format!(
            "200019070000000021000754{}22000763{}",
            "4c5376312e33", "6c69656e7431"
        )));
    }

    #[test]
    fn decoding_round_trips_and_refuses_garbage() {
        let src: SocketAddr = "127.1.2.3:5555".parse().unwrap();
        let dst: SocketAddr = "127.0.0.1:24001".parse().unwrap();
        let h = v1(src, dst);
        assert_eq!(decode(&h), Ok((Received::Proxied { src, dst }, h.len())));
        let mut h2 = v2(src, dst, true, false, &SslInfo::default());
        let n = h2.len();
        h2.extend_from_slice(b"MQTT");
        assert_eq!(decode(&h2), Ok((Received::Proxied { src, dst }, n)));
        assert_eq!(decode(&v2_local(false)), Ok((Received::Local, 16)));
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
        assert_eq!(decode(&[0x0d, 0x0a]), Err(HeaderError::Incomplete));
    }
}
