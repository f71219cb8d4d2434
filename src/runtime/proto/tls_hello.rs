//! What the condition language reads from a TLS hello the balancer does not terminate
//! (`req.ssl_hello_type`, `req.ssl_sni`, `req.ssl_ver`), decoded from the client's first
//! bytes with the checks of haproxy 2.6's payload.c, so the same bytes give the same
//! value, "no value", or "wait for more".

/// A hello field: found, not there, or not yet decidable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hello<T> {
    /// The value.
    Got(T),
    /// Not a hello, or no such field: final.
    NotSsl,
    /// More bytes could give a value.
    TooShort,
}

/// `req.ssl_hello_type`: the handshake type of the first record, once the whole
/// handshake message is buffered.
pub fn hello_type(d: &[u8]) -> Hello<i64> {
    let Some(&first) = d.first() else {
        return Hello::TooShort;
    };
    if !((0x14..=0x17).contains(&first) || first == 0xff) {
        return Hello::NotSsl;
    }
    if d.len() < 9 {
        return Hello::TooShort;
    }
    if (usize::from(d[1]) << 16) + usize::from(d[2]) < 0x0003_0000 {
        return Hello::NotSsl;
    }
    if (usize::from(d[3]) << 8) + usize::from(d[4]) < 4 {
        return Hello::NotSsl;
    }
    let hs_len = (usize::from(d[6]) << 16) + (usize::from(d[7]) << 8) + usize::from(d[8]);
    if d.len() < 9 + hs_len {
        return Hello::TooShort;
    }
    Hello::Got(i64::from(d[5]))
}

/// `req.ssl_ver`: the hello's version as (major << 16) | minor, SSLv3 and later record
/// format or an SSLv2 hello. `limit` is how much the request buffer can hold.
pub fn hello_version(d: &[u8], limit: usize) -> Hello<i64> {
    let Some(&first) = d.first() else {
        return Hello::TooShort;
    };
    let b = |i: usize| usize::from(d[i]);
    let (version, msg_len, left) = if (0x14..=0x17).contains(&first) || first == 0xff {
        if d.len() < 11 {
            return Hello::TooShort;
        }
        if (b(1) << 16) + b(2) < 0x0003_0000 {
            return Hello::NotSsl;
        }
        let msg_len = (b(3) << 8) + b(4);
        if !(6..=(1 << 14) + 2048).contains(&msg_len) {
            return Hello::NotSsl;
        }
        ((b(9) << 16) + b(10), msg_len, d.len() - 5)
    } else {
        let (rlen, plen, mut at) = if first & 0x80 != 0 {
            if d.len() < 3 {
                return Hello::TooShort;
            }
            (((b(0) & 0x7f) << 8) | b(1), 0, 2)
        } else {
            if d.len() < 4 {
                return Hello::TooShort;
            }
            (((b(0) & 0x3f) << 8) | b(1), b(2), 3)
        };
        if d[at] != 0x01 {
            return Hello::NotSsl;
        }
        at += 1;
        if d.len() - at < 8 {
            return Hello::TooShort;
        }
        let version = (b(at) << 16) + b(at + 1);
        let cilen = (b(at + 2) << 8) + b(at + 3);
        let silen = (b(at + 4) << 8) + b(at + 5);
        let chlen = (b(at + 6) << 8) + b(at + 7);
        at += 8;
        if cilen % 3 != 0 || (silen != 0 && silen != 16) || !(16..=32).contains(&chlen) {
            return Hello::NotSsl;
        }
        if rlen != 9 + cilen + silen + chlen {
            return Hello::NotSsl;
        }
        (version, cilen + silen + chlen + plen, d.len() - at)
    };
    if left < msg_len.min(limit) {
        return Hello::TooShort;
    }
    Hello::Got(version as i64)
}

/// `req.ssl_sni`: the host name of a ClientHello's server_name extension.
pub fn hello_sni(d: &[u8]) -> Hello<&[u8]> {
    let Some(&first) = d.first() else {
        return Hello::TooShort;
    };
    if first != 0x16 {
        return Hello::NotSsl;
    }
    if d.len() < 3 {
        return Hello::TooShort;
    }
    if d[1] < 3 {
        return Hello::NotSsl;
    }
    if d.len() < 5 {
        return Hello::TooShort;
    }
    let b = |i: usize| usize::from(d[i]);
    if (b(3) << 8) + b(4) < 1 + 3 + 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2 {
        return Hello::NotSsl;
    }
    let mut p = 5;
    if d.len() < p + 1 {
        return Hello::TooShort;
    }
    if d[p] != 0x01 {
        return Hello::NotSsl;
    }
    if d.len() < p + 4 {
        return Hello::TooShort;
    }
    let mut hs_len = ((b(p + 1) << 16) + (b(p + 2) << 8) + b(p + 3)) as isize;
    if hs_len < 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2 {
        return Hello::NotSsl;
    }
    // haproxy compares with what is left after the record header.
    if ((d.len() - p) as isize) < hs_len {
        return Hello::TooShort;
    }
    p += 4;
    if d[p] < 3 || d[p + 1] < 1 {
        return Hello::NotSsl;
    }
    let sid = b(p + 34) as isize;
    if sid > 32 || sid > hs_len - 35 {
        return Hello::NotSsl;
    }
    hs_len -= 35 + sid;
    p += 35 + sid as usize;
    let get = |i: usize| d.get(i).map_or(0, |&c| usize::from(c));
    let ciphers = ((get(p) << 8) + get(p + 1)) as isize;
    if hs_len < 4 || ciphers < 2 || ciphers > hs_len {
        return Hello::NotSsl;
    }
    hs_len -= 2 + ciphers;
    p += 2 + ciphers as usize;
    let comp = get(p) as isize;
    if hs_len < 2 || comp < 1 || comp > hs_len {
        return Hello::NotSsl;
    }
    hs_len -= 1 + comp;
    p += 1 + comp as usize;
    let ext_total = ((get(p) << 8) + get(p + 1)) as isize;
    if hs_len < 2 || ext_total > hs_len - 2 {
        return Hello::NotSsl;
    }
    let mut left = ext_total;
    p += 2;
    while left >= 4 {
        let ext_type = (get(p) << 8) + get(p + 1);
        let ext_len = ((get(p + 2) << 8) + get(p + 3)) as isize;
        if ext_len > left - 4 {
            return Hello::NotSsl;
        }
        if ext_type == 0 {
            if ext_len < 2 {
                return Hello::NotSsl;
            }
            let srv_len = ((get(p + 4) << 8) + get(p + 5)) as isize;
            if srv_len < 4 || srv_len > left - 6 {
                return Hello::NotSsl;
            }
            let name_len = (get(p + 7) << 8) + get(p + 8);
            if get(p + 6) == 0 {
                let start = p + 9;
                return match d.get(start..start + name_len) {
                    Some(n) => Hello::Got(n),
                    None => Hello::NotSsl,
                };
            }
        }
        left -= 4 + ext_len;
        p += 4 + ext_len as usize;
    }
    Hello::NotSsl
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal TLS 1.2 ClientHello record with one SNI name.
    fn client_hello(name: &[u8]) -> Vec<u8> {
        let mut sni = vec![0, 0];
        let list_len = 3 + name.len();
        sni.extend_from_slice(&((list_len + 2) as u16).to_be_bytes());
        sni.extend_from_slice(&(list_len as u16).to_be_bytes());
        sni.push(0);
        sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni.extend_from_slice(name);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
        body.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        body.extend_from_slice(&sni);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn client_hello_fields() {
        let h = client_hello(b"a.example");
        assert_eq!(hello_sni(&h), Hello::Got(&b"a.example"[..]));
        assert_eq!(hello_type(&h), Hello::Got(1));
        assert_eq!(hello_version(&h, 15360), Hello::Got(0x30003));
        for n in 0..h.len() - 1 {
            assert_eq!(hello_type(&h[..n]), Hello::TooShort, "{n}");
        }
        assert_eq!(hello_sni(&h[..20]), Hello::TooShort);
        assert_eq!(hello_sni(b"GET / HTTP/1.1\r\n"), Hello::NotSsl);
        assert_eq!(hello_type(b"GET / HTTP/1.1\r\n"), Hello::NotSsl);
    }
}
