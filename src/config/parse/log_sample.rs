//! `log … sample <ranges>:<size>` (configuration.txt §3.1): which lines of every `size`
//! a log target takes, with haproxy 2.6's messages (log.c `parse_logsrv`).

use crate::ir::LogSample;

/// haproxy's read_uint: the leading digits of `s` (0 without any), and what follows.
fn read_uint(s: &str) -> (u32, &str) {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    let v = s[..end].bytes().fold(0u32, |v, d| {
        v.wrapping_mul(10).wrapping_add(u32::from(d - b'0'))
    });
    (v, &s[end..])
}

/// One `low[-high]` range at the start of `s` (haproxy's get_logsrv_smp_range), and the
/// ranges after its comma.
fn range(s: &str) -> Result<((u32, u32), &str), String> {
    let bad = || format!("wrong sample range '{s}'");
    let (this, rest) = s.split_once(',').unwrap_or((s, ""));
    let (low, after) = read_uint(this);
    if low == 0 {
        return Err(bad());
    }
    let high = match after.strip_prefix('-') {
        None if after.is_empty() => low,
        None => return Err(bad()),
        Some(h) => match read_uint(h) {
            (high, "") if high > low => high,
            _ => return Err(bad()),
        },
    };
    Ok(((low, high), rest))
}

/// Parses the word after `sample`; `origin` names the `log` line (copies of it share
/// their ranges' progress, as haproxy's copies share its range array).
pub(super) fn parse(word: &str, origin: u64) -> Result<LogSample, String> {
    // haproxy cuts the word at the colon in place: later messages show the ranges only.
    let Some((mut left, size)) = word.split_once(':') else {
        return Err("Missing sample size".into());
    };
    let ranges_text = left;
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    let mut top = 0;
    while !left.is_empty() {
        let ((low, high), rest) = range(left)?;
        let overlaps = ranges
            .iter()
            .any(|&(l, h)| (low >= l && low <= h) || (high >= l && high <= h));
        if overlaps {
            return Err("ranges are overlapping".into());
        }
        ranges.push((low, high));
        top = top.max(high);
        left = rest;
    }
    if ranges.is_empty() {
        return Err("no sampling ranges given".into());
    }
    let (n, rest) = read_uint(size);
    if n == 0 || !rest.is_empty() {
        return Err(format!(
            "wrong sample size '{size}' for sample range '{ranges_text}'"
        ));
    }
    if n < top {
        return Err(format!(
            "sample size {n} should be greater or equal to {top} the maximum of the high ranges limits"
        ));
    }
    ranges.sort_by_key(|r| r.0);
    Ok(LogSample {
        ranges,
        size: n,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_haproxy_reads_them() {
        let s = parse("5,1-2:6", 7).unwrap();
        assert_eq!((s.ranges, s.size), (vec![(1, 2), (5, 5)], 6));
        assert_eq!(parse("1-2", 0).unwrap_err(), "Missing sample size");
        assert_eq!(parse("0:2", 0).unwrap_err(), "wrong sample range '0'");
        assert_eq!(parse("1,3-2:5", 0).unwrap_err(), "wrong sample range '3-2'");
        assert_eq!(parse("1-3,2:5", 0).unwrap_err(), "ranges are overlapping");
        assert_eq!(parse(":5", 0).unwrap_err(), "no sampling ranges given");
        assert_eq!(
            parse("1:x", 0).unwrap_err(),
            "wrong sample size 'x' for sample range '1'"
        );
        assert_eq!(
            parse("1-4:3", 0).unwrap_err(),
            "sample size 3 should be greater or equal to 4 the maximum of the high ranges limits"
        );
    }
}
