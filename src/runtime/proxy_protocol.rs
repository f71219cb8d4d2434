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
    /// Protocol version name ("TLSv1.3").
    pub version: Option<String>,
    /// Client certificate CN.
    pub cn: Option<String>,
    /// Client presented a certificate.
    pub cert: bool,
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
        };
        let b = v2(src, dst, true, true, &tls);
        assert!(hex(&b).ends_with(&format!(
            "200019070000000021000754{}22000763{}",
            "4c5376312e33", "6c69656e7431"
        )));
    }
}
