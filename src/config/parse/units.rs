//! Value syntax shared by many keywords: times, sizes and HAProxy's lenient integers.
//!
//! configuration.txt §2.5 (time format): an integer with an optional unit among
//! `us ms s m h d`, milliseconds when bare; at most 2147483647 ms.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::combinator::opt;
use nom::{IResult, Parser};

/// The largest timer HAProxy accepts, in milliseconds (`TIMER_LOOK_BACK` limit).
pub const MAX_TIME_MS: u64 = 2_147_483_647;

/// Why a time value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// No digits at all (empty word).
    Empty,
    /// A character that is neither a digit nor a known unit.
    Unexpected(char),
    /// Larger than [`MAX_TIME_MS`].
    Overflow,
}

fn digits(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_digit())(i)
}

fn unit(i: &str) -> IResult<&str, &str> {
    alt((tag("us"), tag("ms"), tag("s"), tag("m"), tag("h"), tag("d"))).parse(i)
}

/// The number and unit of a time word, before any scaling.
fn time_parts(word: &str) -> Result<(u128, Option<&str>), TimeError> {
    if word.is_empty() {
        return Err(TimeError::Empty);
    }
    let res: IResult<&str, (&str, Option<&str>)> = (digits, opt(unit)).parse(word);
    let (rest, (num, unit)) = match res {
        Ok(v) => v,
        Err(_) => {
            return Err(TimeError::Unexpected(word.chars().next().unwrap_or(' ')));
        }
    };
    if let Some(c) = rest.chars().next() {
        return Err(TimeError::Unexpected(c));
    }
    Ok((num.parse().map_err(|_| TimeError::Overflow)?, unit))
}

/// Parses a time whose bare numbers are seconds (haproxy's `TIME_UNIT_S`, e.g.
/// `tune.ssl.lifetime`) into seconds; at most 2147483647 s.
pub fn parse_time_s(word: &str) -> Result<u64, TimeError> {
    let (n, unit) = time_parts(word)?;
    let us: u128 = match unit.unwrap_or("s") {
        "us" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        _ => 86_400_000_000,
    };
    let s = n
        .checked_mul(us)
        .ok_or(TimeError::Overflow)?
        .div_ceil(1_000_000);
    if s > MAX_TIME_MS as u128 {
        return Err(TimeError::Overflow);
    }
    Ok(s as u64)
}

/// Where C's strtol() stops in `word`: `None` when it reads the whole word (or the word
/// is empty), else the first character it leaves (the first one when it reads no digit).
pub fn strtol_rest(word: &str) -> Option<char> {
    let t = word.trim_start_matches([' ', '\t']);
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let rest = unsigned.trim_start_matches(|c: char| c.is_ascii_digit());
    if rest.len() == unsigned.len() {
        // No digit read: strtol() gives back the start of the word.
        return word.chars().next();
    }
    rest.chars().next()
}

/// Parses a time like `10s` into milliseconds (`us` values are rounded up to whole ms).
pub fn parse_time_ms(word: &str) -> Result<u64, TimeError> {
    let (n, unit) = time_parts(word)?;
    let ms: u128 = match unit.unwrap_or("ms") {
        // HAProxy 2.6 rounds up: `500us` is 1 ms, never an underflow.
        "us" => n.div_ceil(1000),
        "ms" => n,
        // 39 digits fit a u128 but not once scaled: that is an overflow too.
        "s" => n.checked_mul(1000).ok_or(TimeError::Overflow)?,
        "m" => n.checked_mul(60_000).ok_or(TimeError::Overflow)?,
        "h" => n.checked_mul(3_600_000).ok_or(TimeError::Overflow)?,
        _ => n.checked_mul(86_400_000).ok_or(TimeError::Overflow)?,
    };
    if ms > MAX_TIME_MS as u128 {
        return Err(TimeError::Overflow);
    }
    Ok(ms as u64)
}

/// What C's number readers skip first: blanks, then one optional sign. Returns whether
/// the sign was `-`, and where the digits start.
pub fn blanks_and_sign(b: &[u8]) -> (bool, usize) {
    let mut i = 0;
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    match b.get(i) {
        Some(b'-') => (true, i + 1),
        Some(b'+') => (false, i + 1),
        _ => (false, i),
    }
}

/// `strtol(…, 0)`: an optional sign, then a decimal, `0x` hexadecimal or `0` octal
/// number; None when no digit was read. Overflow saturates, as strtol does.
pub fn strtol0(t: &str) -> Option<(i64, usize)> {
    let b = t.as_bytes();
    let (neg, i) = blanks_and_sign(b);
    let (radix, digits_at) = if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, i + 2)
    } else if b.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let n = b[digits_at..]
        .iter()
        .take_while(|c| (**c as char).is_digit(radix))
        .count();
    if n == 0 {
        return None;
    }
    let v = b[digits_at..digits_at + n].iter().fold(0i64, |v, c| {
        v.saturating_mul(i64::from(radix))
            .saturating_add(i64::from((*c as char).to_digit(radix).unwrap_or(0)))
    });
    Some((if neg { -v } else { v }, digits_at + n))
}

/// HAProxy's `atol()`-style integer: leading digits (optional sign), the rest ignored.
///
/// Many keywords (`maxconn 10k`, `retries x`) are read this way and never fail.
pub fn lenient_int(word: &str) -> i64 {
    let b = word.as_bytes();
    let (neg, mut i) = blanks_and_sign(b);
    let mut v: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add((b[i] - b'0') as i64);
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// HAProxy's `atoi()`: [`lenient_int`] truncated to a C `int`, as glibc does, so
/// `4294967297` reads as 1 and `4294967295` as -1.
pub fn atoi(word: &str) -> i32 {
    lenient_int(word) as i32
}

/// Parses a size with an optional `k`, `m` or `g` suffix (powers of 1024).
pub fn parse_size(word: &str) -> Option<u64> {
    let res: IResult<&str, &str> = digits(word);
    let (rest, num) = res.ok()?;
    let n: u64 = num.parse().ok()?;
    let mult = match rest {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_strtol_follow_haproxy() {
        assert_eq!(parse_time_s("3600"), Ok(3600));
        assert_eq!(parse_time_s("2m"), Ok(120));
        assert_eq!(parse_time_s("1500ms"), Ok(2));
        assert_eq!(parse_time_s("2147483647"), Ok(2_147_483_647));
        assert_eq!(parse_time_s("3000000000"), Err(TimeError::Overflow));
        assert_eq!(parse_time_s("100000000d"), Err(TimeError::Overflow));
        assert_eq!(parse_time_s("1k"), Err(TimeError::Unexpected('k')));
        assert_eq!(strtol_rest(""), None);
        assert_eq!(strtol_rest("-5"), None);
        assert_eq!(strtol_rest("+5"), None);
        assert_eq!(strtol_rest("10q"), Some('q'));
        assert_eq!(strtol_rest("foo"), Some('f'));
        assert_eq!(strtol_rest("-"), Some('-'));
        assert_eq!(strtol_rest("99999999999999999999"), None);
    }

    #[test]
    fn times_follow_haproxy() {
        assert_eq!(parse_time_ms("5000"), Ok(5000));
        assert_eq!(parse_time_ms("10s"), Ok(10_000));
        assert_eq!(parse_time_ms("2m"), Ok(120_000));
        assert_eq!(parse_time_ms("24d"), Ok(2_073_600_000));
        assert_eq!(parse_time_ms("1500us"), Ok(2));
        assert_eq!(parse_time_ms("500us"), Ok(1));
        assert_eq!(parse_time_ms("1us"), Ok(1));
        assert_eq!(parse_time_ms("0us"), Ok(0));
        assert_eq!(parse_time_ms("25d"), Err(TimeError::Overflow));
        assert_eq!(parse_time_ms("10S"), Err(TimeError::Unexpected('S')));
        assert_eq!(parse_time_ms("1.5s"), Err(TimeError::Unexpected('.')));
        assert_eq!(parse_time_ms("-5"), Err(TimeError::Unexpected('-')));
        assert_eq!(parse_time_ms("abc"), Err(TimeError::Unexpected('a')));
        assert_eq!(parse_time_ms(""), Err(TimeError::Empty));
        // Found by the fuzzer: fits a u128, overflows once scaled.
        let big = "1328227980609736608000000000000000000";
        for u in ["s", "m", "h", "d"] {
            assert_eq!(
                parse_time_ms(&format!("{big}{u}")),
                Err(TimeError::Overflow)
            );
        }
    }

    #[test]
    fn lenient_ints_never_fail() {
        assert_eq!(lenient_int("10k"), 10);
        assert_eq!(lenient_int("x"), 0);
        assert_eq!(lenient_int("-1"), -1);
        assert_eq!(atoi("4294967296"), 0);
        assert_eq!(atoi("4294967297"), 1);
        assert_eq!(atoi("4294967295"), -1);
        assert_eq!(atoi("18446744073709551616"), -1);
        assert_eq!(parse_size("16k"), Some(16384));
        assert_eq!(parse_size("1x"), None);
    }
}
