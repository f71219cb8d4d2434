//! haproxy's number reading (`read_int64`, `strtol`, `inetaddr_host`), shared by the
//! configuration parser (fetch and converter arguments) and the runtime (a string
//! sample cast to an integer, stats socket arguments, addresses in headers).

/// An optional sign, then the leading decimal digits of `s`, saturating at the 64-bit
/// limits; also how many digits there were.
pub fn read_int64(s: &[u8]) -> (i64, usize) {
    let (neg, d) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = d.iter().take_while(|c| c.is_ascii_digit()).count();
    let mag = d[..n].iter().fold(0u64, |v, c| {
        v.saturating_mul(10).saturating_add(u64::from(c - b'0'))
    });
    let v = if neg {
        if mag > 1 << 63 {
            i64::MIN
        } else {
            (mag as i64).wrapping_neg()
        }
    } else {
        mag.min(i64::MAX as u64) as i64
    };
    (v, n)
}

/// `strtol(s, &end, 10)`: the value (saturated at the `long` limits) and what follows it.
pub fn strtol(s: &str) -> (i64, &str) {
    let t = s.trim_start_matches([' ', '\t']);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return (0, s);
    }
    let mag = body[..digits].bytes().fold(0i64, |v, b| {
        v.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    (
        if neg { mag.saturating_neg() } else { mag },
        &body[digits..],
    )
}

/// haproxy's inetaddr_host_lim: an IPv4 address read as dotted groups of digits, each
/// worth its last three digits, without any check (junk reads as 0.0.0.0), as the
/// stats socket's table keys and `usesrc hdr_ip()` read one.
pub fn inetaddr_host(text: &[u8]) -> u32 {
    let mut total: u32 = 0;
    let mut shift = 24u32;
    let mut rest = text;
    loop {
        let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let v = rest[n.saturating_sub(3)..n]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        total = total.wrapping_add(v.wrapping_shl(shift));
        rest = &rest[n..];
        if shift == 0 || rest.first() != Some(&b'.') {
            break;
        }
        shift -= 8;
        rest = &rest[1..];
    }
    total
}

#[cfg(test)]
mod tests {
    #[test]
    fn saturates() {
        assert_eq!(super::read_int64(b"-9223372036854775809"), (i64::MIN, 19));
        assert_eq!(super::read_int64(b"99999999999999999999x"), (i64::MAX, 20));
        assert_eq!(super::read_int64(b"abc"), (0, 0));
    }

    #[test]
    fn addresses_read_as_haproxy_reads_them() {
        let ip = |t: &[u8]| std::net::Ipv4Addr::from(super::inetaddr_host(t));
        assert_eq!(ip(b"127.0.93.73"), std::net::Ipv4Addr::new(127, 0, 93, 73));
        assert_eq!(ip(b"junk"), std::net::Ipv4Addr::UNSPECIFIED);
        assert_eq!(ip(b"::1"), std::net::Ipv4Addr::UNSPECIFIED);
        // Each group keeps its last three digits; a short address fills from the left.
        assert_eq!(ip(b"1234.5"), std::net::Ipv4Addr::new(234, 5, 0, 0));
    }
}
