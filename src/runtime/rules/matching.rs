//! Matching a sample against an ACL's patterns (haproxy's pattern.c `pat_match_*`): the
//! value cast to what the method reads, then compared with each pattern.

use std::net::IpAddr;

use super::fetch::{sample, Value};
use super::{Ctx, Verdict};
use crate::ir::acl::{AclTest, Fetch, IntRange, IpNet, MatchKind, Patterns};

/// `/ ? . :` for `dom`, `/ ?` for `dir`.
pub(super) const DOM: &[u8] = b"/?.:";
pub(super) const DIR: &[u8] = b"/?";

/// haproxy's `match_word`: `pat` (its delimiters at either end dropped) found in `s`
/// starting after a delimiter or at the start, ending before one or at the end.
pub(super) fn match_word(s: &[u8], pat: &[u8], delims: &[u8], icase: bool) -> bool {
    let is_d = |c: u8| delims.contains(&c);
    let a = pat.iter().position(|&c| !is_d(c)).unwrap_or(pat.len());
    let b = pat.iter().rposition(|&c| !is_d(c)).map_or(a, |p| p + 1);
    let p = &pat[a..b];
    if p.len() > s.len() {
        return false;
    }
    let eq = |x: &[u8]| {
        if icase {
            x.eq_ignore_ascii_case(p)
        } else {
            x == p
        }
    };
    let mut may = true;
    for i in 0..=s.len() - p.len() {
        if i < s.len() && is_d(s[i]) {
            may = true;
            continue;
        }
        if !may {
            continue;
        }
        if eq(&s[i..i + p.len()]) && (i + p.len() == s.len() || is_d(s[i + p.len()])) {
            return true;
        }
        may = false;
    }
    false
}

pub(super) fn in_range(v: i64, r: &IntRange) -> bool {
    r.min.is_none_or(|m| v >= m) && r.max.is_none_or(|m| v <= m)
}

/// An address in a network, IPv4 and IPv6 compared through the v4-mapped form as
/// haproxy's `pat_match_ip` does.
pub(super) fn in_net(ip: IpAddr, n: &IpNet) -> bool {
    match (ip, n.addr) {
        (IpAddr::V4(a), IpAddr::V4(net)) => {
            let mask = (!0u32).checked_shl(32 - u32::from(n.bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(net)
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => match a.to_ipv4_mapped() {
            Some(v4) => in_net(IpAddr::V4(v4), n),
            None => false,
        },
        (IpAddr::V4(a), IpAddr::V6(_)) => in_net(IpAddr::V6(a.to_ipv6_mapped()), n),
        (IpAddr::V6(a), IpAddr::V6(net)) => {
            let mask = (!0u128).checked_shl(128 - u32::from(n.bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(net)
        }
    }
}

/// Whether one value matches the test's patterns.
fn matches(t: &AclTest, v: &Value) -> bool {
    let ic = t.icase;
    let strs = |f: &dyn Fn(&[u8], &[u8]) -> bool| {
        let s = v.to_bytes();
        match &t.patterns {
            Patterns::Strs(p) => p.iter().any(|p| f(&s, p)),
            _ => false,
        }
    };
    let eq = |a: &[u8], b: &[u8]| {
        if ic {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match t.kind {
        MatchKind::Found => true,
        MatchKind::Bool => v.to_int().is_some_and(|i| i != 0),
        MatchKind::Int => match (&t.patterns, v.to_int()) {
            (Patterns::Ints(r), Some(i)) => r.iter().any(|r| in_range(i, r)),
            _ => false,
        },
        MatchKind::Len => match &t.patterns {
            Patterns::Ints(r) => {
                let l = v.to_bytes().len() as i64;
                r.iter().any(|r| in_range(l, r))
            }
            _ => false,
        },
        MatchKind::Ip => match (&t.patterns, v.to_ip()) {
            (Patterns::Nets(n), Some(ip)) => n.iter().any(|n| in_net(ip, n)),
            _ => false,
        },
        MatchKind::Str | MatchKind::Meth => strs(&|s, p| eq(s, p)),
        MatchKind::Bin => strs(&|s, p| s == p),
        MatchKind::Beg => strs(&|s, p| s.len() >= p.len() && eq(&s[..p.len()], p)),
        MatchKind::End => strs(&|s, p| s.len() >= p.len() && eq(&s[s.len() - p.len()..], p)),
        MatchKind::Sub => strs(&|s, p| p.is_empty() || s.windows(p.len()).any(|w| eq(w, p))),
        MatchKind::Dom => strs(&|s, p| match_word(s, p, DOM, ic)),
        MatchKind::Dir => strs(&|s, p| match_word(s, p, DIR, ic)),
        MatchKind::Reg => match &t.patterns {
            Patterns::Regs(r) => {
                let s = v.to_bytes();
                r.iter().any(|r| r.0.is_match(&s))
            }
            _ => false,
        },
        // pat_match_auth: one of the user's groups is one of the patterns.
        MatchKind::AuthGroup => match (&t.expr.fetch, &t.patterns) {
            (Fetch::HttpAuthGroup(r), Patterns::Strs(p)) => {
                let user = r.get().and_then(|l| l.user(&v.to_bytes()));
                user.is_some_and(|u| p.iter().any(|p| u.groups.contains(p)))
            }
            _ => false,
        },
    }
}

/// One ACL test: Pass when a value matches, Miss when none does yet but one may still
/// come, else Fail.
pub fn test(t: &AclTest, ctx: &Ctx) -> Verdict {
    let vals = match sample(&t.expr, ctx) {
        Ok(v) => v,
        Err(_) => return Verdict::Miss,
    };
    if vals.iter().any(|v| matches(t, v)) {
        return Verdict::Pass;
    }
    // `req.len` is flagged "may change" while the buffer can still grow.
    if !ctx.last && matches!(t.expr.fetch, Fetch::ReqLen | Fetch::ResLen) {
        return Verdict::Miss;
    }
    Verdict::Fail
}

/// Standard base64 with padding.
pub fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_nets() {
        assert!(match_word(b"www.example.com", b"example", DOM, false));
        assert!(match_word(b"www.example.com", b".example.", DOM, false));
        assert!(!match_word(b"www.myexample.com", b"example", DOM, false));
        assert!(match_word(b"/img/a.png", b"img", DIR, false));
        assert!(!match_word(b"/images/a", b"img", DIR, false));
        assert!(match_word(b"A.B", b"b", DOM, true));
        let n = IpNet {
            addr: "10.0.0.0".parse().unwrap(),
            bits: 8,
        };
        assert!(in_net("10.1.2.3".parse().unwrap(), &n));
        assert!(in_net("::ffff:10.1.2.3".parse().unwrap(), &n));
        assert!(!in_net("11.1.2.3".parse().unwrap(), &n));
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }
}
