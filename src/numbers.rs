//! haproxy's integer reading (`read_int64`), shared by the configuration parser (fetch
//! and converter arguments) and the runtime (a string sample cast to an integer).

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

#[cfg(test)]
mod tests {
    #[test]
    fn saturates() {
        assert_eq!(super::read_int64(b"-9223372036854775809"), (i64::MIN, 19));
        assert_eq!(super::read_int64(b"99999999999999999999x"), (i64::MAX, 20));
        assert_eq!(super::read_int64(b"abc"), (0, 0));
    }
}
