//! Converters (configuration.txt §7.3.1) applied to a fetched value, as sample.c
//! applies them; a converter that fails drops the value.

use std::borrow::Cow;
use std::net::IpAddr;

use super::fetch::Value;
use super::Ctx;
use crate::ir::acl::Conv;
use crate::ir::conv::{
    Arith, Concat, Digest, Hash, JsonInput, Operand, Regsub, Simple, Unary, Xxh,
};
use crate::ir::HashFn;
use crate::runtime::lb::chash;
use crate::runtime::proto::mqtt::{self, Verdict as Mqtt};

/// `field`/`word`: the `count` fields from `index` (1-based; negative from the end).
fn field(v: &[u8], index: i64, delims: &[u8], count: i64, word: bool) -> Option<Vec<u8>> {
    // The fields as ranges of `v`, so several are returned as the original text.
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for (i, c) in v.iter().enumerate() {
        if delims.contains(c) {
            parts.push((start, i));
            start = i + 1;
        }
    }
    parts.push((start, v.len()));
    if word {
        parts.retain(|(a, b)| a < b);
    }
    let n = parts.len() as i64;
    let (from, to) = if index > 0 {
        let from = index - 1;
        let to = if count == 0 {
            n
        } else {
            from.saturating_add(count).min(n)
        };
        (from, to)
    } else if index < 0 {
        let to = n.saturating_add(index).saturating_add(1);
        let from = if count == 0 {
            0
        } else {
            to.saturating_sub(count).max(0)
        };
        (from, to)
    } else {
        return None;
    };
    // sample_conv_field fails when the field is not there.
    if from >= n || to <= from || to <= 0 {
        return None;
    }
    Some(v[parts[from as usize].0..parts[to as usize - 1].1].to_vec())
}

/// Applies converter `c`: None when it fails (the value is dropped).
pub fn convert<'a>(c: &Conv, v: Value<'a>, ctx: &Ctx) -> Option<Value<'a>> {
    let owned = |b: Vec<u8>| Value::Str(Cow::Owned(b));
    Some(match c {
        Conv::Map(m) => return super::map::lookup(m, &v),
        // Needs the session's tables: applied by `sample`.
        Conv::Table(..) => return None,
        Conv::Lower => owned(text(&v).to_ascii_lowercase()),
        Conv::Upper => owned(text(&v).to_ascii_uppercase()),
        Conv::Length => Value::Int(text(&v).len() as i64),
        Conv::Hex => owned(
            v.to_bin()
                .iter()
                .flat_map(|b| format!("{b:02X}").into_bytes())
                .collect(),
        ),
        Conv::Base64 => owned(crate::runtime::rules::matching::base64(&v.to_bin()).into_bytes()),
        Conv::UrlDec => owned(url_dec(&text(&v))?),
        Conv::Field {
            index,
            delims,
            count,
            word,
        } => owned(field(&text(&v), *index, delims, *count, *word)?),
        Conv::Bytes(off, len) => {
            let b = v.to_bin();
            // sample_conv_bytes: an offset past the end gives an empty value.
            let off = ((*off).max(0) as usize).min(b.len());
            let end = len.map_or(b.len(), |l| (off + l.max(0) as usize).min(b.len()));
            Value::Bin(Cow::Owned(b[off..end].to_vec()))
        }
        Conv::IpMask(m4, m6) => match (v.to_ip()?, m4, m6) {
            (IpAddr::V4(a), IpAddr::V4(m), _) => {
                Value::Ip(IpAddr::V4((u32::from(a) & u32::from(*m)).into()))
            }
            (IpAddr::V6(a), _, Some(IpAddr::V6(m))) => {
                Value::Ip(IpAddr::V6((u128::from(a) & u128::from(*m)).into()))
            }
            _ => return None,
        },
        Conv::MqttIsValid => {
            let b = v.to_bytes();
            Value::Bool(mqtt::validate(&b) == Mqtt::Valid)
        }
        Conv::MqttField(f) => {
            let b = v.to_bytes();
            owned(mqtt::connect_field(&b, *f).ok()??)
        }
        Conv::Arith(op, b) => Value::Int(arith(*op, v.to_int()?, operand(b, ctx)?)),
        Conv::Unary(op) => unary(*op, v.to_int()?),
        Conv::Concat(c) => owned(concat(c, &text(&v), ctx)),
        Conv::Regsub(r) => owned(regsub(r, &text(&v))),
        Conv::Json(input) => owned(json(*input, &text(&v))?),
        Conv::Trim(chars, left) => {
            let b = text(&v);
            let t = if *left {
                let n = b.iter().take_while(|c| chars.contains(c)).count();
                &b[n..]
            } else {
                let n = b.iter().rev().take_while(|c| chars.contains(c)).count();
                &b[..b.len() - n]
            };
            owned(t.to_vec())
        }
        Conv::StrCmp(var) => {
            let other = super::vars::get(var, ctx).ok()??;
            Value::Int(strcmp(&text(&v), &text(&other)))
        }
        Conv::Iif(yes, no) => owned(if v.to_int()? != 0 { yes } else { no }.to_vec()),
        Conv::Hash(h, avalanche) => {
            let b = v.to_bin();
            let x = match h {
                Hash::Djb2 => chash::hash(HashFn::Djb2, &b),
                Hash::Sdbm => chash::hash(HashFn::Sdbm, &b),
                Hash::Wt6 => chash::hash(HashFn::Wt6, &b),
                Hash::Crc32 => chash::hash(HashFn::Crc32, &b),
                Hash::Crc32c => crate::runtime::proto::proxy_protocol::crc32c(&b),
            };
            let x = if *avalanche { chash::full_hash(x) } else { x };
            Value::Int(i64::from(x))
        }
        Conv::Xxh(x, seed) => {
            let b = v.to_bin();
            Value::Int(match x {
                // haproxy takes the seed's low 32 bits, and the result as unsigned.
                Xxh::X32 => i64::from(xxhash_rust::xxh32::xxh32(&b, *seed as u32)),
                Xxh::X64 => xxhash_rust::xxh64::xxh64(&b, *seed as u64) as i64,
                Xxh::X3 => xxhash_rust::xxh3::xxh3_64_with_seed(&b, *seed as u64) as i64,
            })
        }
        Conv::Digest(d) => {
            use aws_lc_rs::digest;
            let alg = match d {
                Digest::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
                Digest::Sha2(224) => &digest::SHA224,
                Digest::Sha2(384) => &digest::SHA384,
                Digest::Sha2(512) => &digest::SHA512,
                Digest::Sha2(_) => &digest::SHA256,
            };
            owned(digest::digest(alg, &v.to_bin()).as_ref().to_vec())
        }
        Conv::UrlEnc => {
            let mut out = Vec::new();
            for &c in text(&v).iter() {
                if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                    out.push(c);
                } else {
                    out.extend_from_slice(format!("%{c:02X}").as_bytes());
                }
            }
            owned(out)
        }
        Conv::HttpDate(offset, div, frac) => owned(http_date(v.to_int()?, *offset, *div, *frac)),
        Conv::Be2Dec(sep, chunk, truncate) => owned(be2(&v.to_bin(), sep, *chunk, *truncate, true)),
        Conv::Be2Hex(sep, chunk, truncate) => {
            owned(be2(&v.to_bin(), sep, *chunk, *truncate, false))
        }
        Conv::Simple(s) => simple(*s, v)?,
    })
}

/// haproxy's `sample_conv_http_date`: the offset added in the input's unit, the fraction
/// (C's remainder, unpadded) shown for `ms` and `us`, the seconds masked to 55 bits as
/// haproxy masks them, so every year fits (gmtime's proleptic Gregorian calendar).
fn http_date(t: i64, offset: i64, div: u32, frac: bool) -> Vec<u8> {
    const DAY: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = t.wrapping_add(offset);
    let part = t % i64::from(div);
    let secs = (t / i64::from(div)) & 0x007f_ffff_ffff_ffff;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970 to a civil date (era-based, exact for any of these years).
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month0 = if mp < 10 { mp + 2 } else { mp - 10 };
    let year = yoe + era * 400 + i64::from(month0 < 2);
    let mut s = format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02}",
        DAY[((days + 4) % 7) as usize],
        MON[month0 as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if frac {
        s.push_str(&format!(".{part}"));
    }
    s.push_str(" GMT");
    s.into_bytes()
}

/// haproxy's `sample_conv_be2dec` and `sample_conv_be2hex`: the input cut in chunks of
/// `chunk` bytes (with `truncate`, a last short chunk is dropped), each as a big-endian
/// unsigned number or as hex digits, `sep` between them. be2hex without a separator nor
/// truncation makes the whole input one chunk.
fn be2(b: &[u8], sep: &[u8], chunk: usize, truncate: bool, dec: bool) -> Vec<u8> {
    let chunk = if !dec && sep.is_empty() && !truncate {
        b.len()
    } else {
        chunk
    };
    let last = if truncate {
        (b.len() + 1).saturating_sub(chunk)
    } else {
        b.len()
    };
    let mut out = Vec::new();
    let mut ptr = 0;
    while ptr < last {
        if ptr > 0 {
            out.extend_from_slice(sep);
        }
        let end = (ptr + chunk).min(b.len());
        if dec {
            let n = b[ptr..end]
                .iter()
                .fold(0u64, |n, &c| (n << 8) + u64::from(c));
            out.extend_from_slice(n.to_string().as_bytes());
        } else {
            for &c in &b[ptr..end] {
                out.extend_from_slice(format!("{c:02X}").as_bytes());
            }
        }
        ptr = end;
    }
    out
}

/// sample_conv_strcmp: `strncmp` over the shorter length (the C library's difference of
/// the first differing bytes; equal from a NUL on), then the shorter one first.
fn strcmp(a: &[u8], b: &[u8]) -> i64 {
    for (&x, &y) in a.iter().zip(b) {
        if x != y {
            return i64::from(x) - i64::from(y);
        }
        if x == 0 {
            break;
        }
    }
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}

/// A value cast to a string for a converter that takes one: binary stops at its first
/// NUL (haproxy's `c_bin2str`).
fn text<'b>(v: &'b Value) -> Cow<'b, [u8]> {
    match v {
        Value::Bin(b) => Cow::Borrowed(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]),
        v => v.to_bytes(),
    }
}

/// haproxy 2.6.12's `arith_add`, compiled with `-fwrapv`: its overflow test for two
/// non-negative operands also runs for two negative ones, where `LLONG_MAX - a` wraps,
/// so the sum of two negatives that does not underflow is the largest integer (fixed
/// after 2.6.12; kept here, the wire shows it).
fn arith_add(a: i64, b: i64) -> i64 {
    if (a ^ b) >= 0 {
        if a < 0 && i64::MIN.wrapping_sub(a) > b {
            return i64::MIN;
        }
        if i64::MAX.wrapping_sub(a) < b {
            return i64::MAX;
        }
    }
    a.wrapping_add(b)
}

/// The `sample_conv_arith_*` and binary functions on the input `a` and operand `b`.
fn arith(op: Arith, a: i64, b: i64) -> i64 {
    match op {
        Arith::Add => arith_add(a, b),
        // -LLONG_MIN does not exist: LLONG_MAX, then one more unless capped.
        Arith::Sub if b == i64::MIN => {
            let r = arith_add(a, i64::MAX);
            if r < i64::MAX {
                r + 1
            } else {
                r
            }
        }
        Arith::Sub => arith_add(a, -b),
        Arith::Mul if a == 0 || b == 0 => 0,
        Arith::Mul if a == i64::MIN && b == -1 => i64::MAX,
        Arith::Mul => {
            let c = a.wrapping_mul(b);
            if a != c.wrapping_div(b) {
                if (a < 0) == (b < 0) {
                    i64::MAX
                } else {
                    i64::MIN
                }
            } else {
                c
            }
        }
        Arith::Div if b == 0 => i64::MAX,
        Arith::Div => a.checked_div(b).unwrap_or(i64::MAX),
        Arith::Mod if b == 0 => 0,
        Arith::Mod => a.checked_rem(b).unwrap_or(0),
        Arith::And => a & b,
        Arith::Or => a | b,
        Arith::Xor => a ^ b,
    }
}

/// The second operand: the integer, or the variable cast to one.
fn operand(o: &Operand, ctx: &Ctx) -> Option<i64> {
    match o {
        Operand::Int(i) => Some(*i),
        Operand::Var(v) => super::vars::get(v, ctx).ok()??.to_int(),
    }
}

fn unary<'a>(op: Unary, a: i64) -> Value<'a> {
    match op {
        Unary::Neg => Value::Int(a.checked_neg().unwrap_or(i64::MAX)),
        Unary::Cpl => Value::Int(!a),
        Unary::Bool => Value::Bool(a != 0),
        Unary::Not => Value::Bool(a == 0),
        Unary::Odd => Value::Bool(a & 1 != 0),
        Unary::Even => Value::Bool(a & 1 == 0),
    }
}

/// haproxy's trash chunk: what a converter builds is cut at `tune.bufsize` - 1.
const TRASH: usize = 16383;

/// `concat`/`add_item`: the input, the first string (for `add_item`, a delimiter only
/// after a non-empty input with something to follow), the variable as a string when it
/// has a value, the last string.
fn concat(c: &Concat, input: &[u8], ctx: &Ctx) -> Vec<u8> {
    let var = c
        .var
        .as_ref()
        .and_then(|v| super::vars::get(v, ctx).ok()?)
        .map(|v| text(&v).into_owned());
    let mut out = input.to_vec();
    let delim = !c.item
        || (!input.is_empty()
            && (var.as_ref().is_some_and(|v| !v.is_empty()) || !c.end.is_empty()));
    if delim {
        out.extend_from_slice(&c.start);
    }
    if let Some(v) = var {
        out.extend_from_slice(&v);
    }
    out.extend_from_slice(&c.end);
    out.truncate(TRASH);
    out
}

/// `regsub`: s/re/subst/ once or (`g`) on every match after the last, as
/// sample_conv_regsub does (a match never begins a line after the first; an empty match
/// copies the next byte and moves past it).
fn regsub(r: &Regsub, s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut start = 0;
    let mut first = true;
    loop {
        let found = if r.global || first {
            r.re.0.captures_at(s, start)
        } else {
            None
        };
        let so = found
            .as_ref()
            .map_or(s.len(), |c| c.get(0).map_or(s.len(), |m| m.start()));
        out.extend_from_slice(&s[start..so.max(start)]);
        let Some(caps) = found else {
            break;
        };
        out.extend_from_slice(&exp_replace(&r.subst, &caps).unwrap_or_default());
        if start >= s.len() {
            break;
        }
        let mut eo = caps.get(0).map_or(start, |m| m.end());
        if eo == start {
            out.push(s[start]);
            eo += 1;
        }
        start = eo;
        first = false;
    }
    out.truncate(TRASH + 1);
    out
}

/// haproxy's `utf8_next`: the character at the start of `s`, the bytes it takes, and
/// whether it is overlong, out of range (surrogates, U+FFFE/F) or a bad sequence.
fn utf8_next(s: &[u8]) -> (u32, usize, Utf8) {
    let b = s[0];
    let (mut c, dec) = match b {
        0x00..=0x7f => return (b.into(), 1, Utf8::default()),
        0xc0..=0xdf if s.len() >= 2 => (u32::from(b & 0x1f), 1),
        0xe0..=0xef if s.len() >= 3 => (u32::from(b & 0x0f), 2),
        0xf0..=0xf7 if s.len() >= 4 => (u32::from(b & 0x07), 3),
        0xf8..=0xfb if s.len() >= 5 => (u32::from(b & 0x03), 4),
        0xfc..=0xfd if s.len() >= 6 => (u32::from(b & 0x01), 5),
        _ => {
            return (
                b.into(),
                1,
                Utf8 {
                    bad_seq: true,
                    ..Utf8::default()
                },
            )
        }
    };
    for (i, &b) in s.iter().enumerate().take(dec + 1).skip(1) {
        if b & 0xc0 != 0x80 {
            return (
                c,
                i & 0x0f,
                Utf8 {
                    bad_seq: true,
                    ..Utf8::default()
                },
            );
        }
        c = (c << 6) | u32::from(b & 0x3f);
    }
    let n = dec + 1;
    let overlong = (c <= 0x7f && n > 1)
        || ((0x80..=0x7ff).contains(&c) && n > 2)
        || ((0x800..=0xffff).contains(&c) && n > 3)
        || ((0x10000..=0x1f_ffff).contains(&c) && n > 4);
    let invalid_range = (0xd800..=0xdfff).contains(&c) || (0xfffe..=0xffff).contains(&c);
    (
        c,
        n & 0x0f,
        Utf8 {
            overlong,
            invalid_range,
            bad_seq: false,
        },
    )
}

/// What `utf8_next` found wrong with a character.
#[derive(Default, Clone, Copy)]
struct Utf8 {
    overlong: bool,
    invalid_range: bool,
    bad_seq: bool,
}

/// `json`: the input escaped for a JSON string as sample_conv_json escapes it; None when
/// the input mode refuses a character.
fn json(input: JsonInput, s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() + 8);
    let mut p = 0;
    while p < s.len() {
        let c = if input == JsonInput::Ascii {
            p += 1;
            u32::from(s[p - 1])
        } else {
            let (c, n, e) = utf8_next(&s[p..]);
            p += n;
            let any = e.overlong || e.invalid_range || e.bad_seq;
            let hard = e.invalid_range || e.bad_seq;
            match input {
                JsonInput::Utf8 if any => return None,
                JsonInput::Utf8s if any => continue,
                JsonInput::Utf8p if hard => return None,
                JsonInput::Utf8ps if hard => continue,
                _ => {}
            }
            if c > 0xffff {
                if matches!(input, JsonInput::Utf8 | JsonInput::Utf8p) {
                    return None;
                }
                continue;
            }
            // A zero-length step (an empty input cannot give one) would loop.
            if n == 0 {
                p += 1;
            }
            c
        };
        match c {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5c => out.extend_from_slice(b"\\\\"),
            0x2f => out.extend_from_slice(b"\\/"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x20..=0x7e => out.push(c as u8),
            _ => out.extend_from_slice(format!("\\u{:04x}", c as u16).as_bytes()),
        }
        if out.len() > TRASH + 1 {
            return None;
        }
    }
    Some(out)
}

/// The converters without arguments.
fn simple<'a>(s: Simple, v: Value<'a>) -> Option<Value<'a>> {
    let owned = |b: Vec<u8>| Value::Str(Cow::Owned(b));
    Some(match s {
        Simple::CutCrlf => {
            let b = text(&v);
            let n = b
                .iter()
                .position(|&c| c == b'\r' || c == b'\n')
                .unwrap_or(b.len());
            owned(b[..n].to_vec())
        }
        Simple::HostOnly | Simple::PortOnly => {
            let b = text(&v);
            // The last ':' not inside an IPv6 literal's brackets.
            let colon = b
                .iter()
                .rposition(|&c| c == b':' || c == b']')
                .filter(|&i| b[i] == b':');
            if s == Simple::HostOnly {
                owned(b[..colon.unwrap_or(b.len())].to_ascii_lowercase())
            } else {
                let port = colon.map_or(&b[..0], |i| &b[i + 1..]);
                Value::Int(strl2ui(port))
            }
        }
        Simple::Hex2i => {
            let b = text(&v);
            let mut n: i64 = 0;
            for &c in b.iter() {
                let d = (c as char).to_digit(16)?;
                n = (n << 4).wrapping_add(i64::from(d));
            }
            Value::Int(n)
        }
        Simple::B64Dec => Value::Bin(Cow::Owned(b64dec(&text(&v))?)),
        Simple::Ub64Dec => Value::Bin(Cow::Owned(ub64dec(&text(&v))?)),
        Simple::Ub64Enc => {
            use base64::Engine;
            let t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_bin());
            owned(t.into_bytes())
        }
        Simple::Htonl => Value::Bin(Cow::Owned((v.to_int()? as u32).to_be_bytes().to_vec())),
    })
}

/// haproxy's `__strl2ui`: every byte taken as a digit, wrapping as an unsigned int.
fn strl2ui(s: &[u8]) -> i64 {
    let n = s.iter().fold(0u32, |n, &c| {
        n.wrapping_mul(10)
            .wrapping_sub(u32::from(b'0'))
            .wrapping_add(u32::from(c))
    });
    i64::from(n)
}

/// haproxy's `base64dec`, step by step: four characters a group, `=` only after two
/// others of its group and only followed by `=` there; a group's padding does not
/// stop the next group. None for anything else.
fn b64dec(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u8> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => 64,
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut t, mut i, mut pad) = ([0u8; 4], 0, 0);
    for &c in s {
        let b = val(c)?;
        if pad > 0 && (b != 64 || i < 2) {
            return None;
        }
        if b == 64 {
            pad += 1;
        }
        t[i] = b;
        i += 1;
        if i == 4 {
            let bytes = [
                (t[0] << 2).wrapping_add(t[1] >> 4),
                (t[1] << 4).wrapping_add(t[2] >> 2),
                (t[2] << 6).wrapping_add(t[3]),
            ];
            out.extend_from_slice(&bytes[..3usize.saturating_sub(pad)]);
            (i, pad) = (0, 0);
        }
    }
    Some(out)
}

/// haproxy's `base64urldec`: no padding (a length of 4n+1 is refused), its table, in
/// which '=' reads as '_' does; the missing characters stand for padding.
fn ub64dec(s: &[u8]) -> Option<Vec<u8>> {
    const REV: &[u8] =
        b"b##XYZ[\\]^_`a###c###$%&'()*+,-./0123456789:;<=####c#>?@ABCDEFGHIJKLMNOPQRSTUVW";
    let pad = match s.len() % 4 {
        0 => 0,
        2 => 2,
        3 => 1,
        _ => return None,
    };
    let mut vals = Vec::with_capacity(s.len() + pad);
    for &c in s {
        let r = *REV.get(usize::from(c.checked_sub(b'-')?))?;
        vals.push(r.checked_sub(b'#' + 1)?);
    }
    vals.extend(std::iter::repeat_n(64u8, pad));
    let mut out = Vec::with_capacity(vals.len() / 4 * 3);
    for t in vals.chunks(4) {
        out.push((t[0] << 2).wrapping_add(t[1] >> 4));
        out.push((t[1] << 4).wrapping_add(t[2] >> 2));
        out.push((t[2] << 6).wrapping_add(t[3]));
    }
    out.truncate(out.len() - pad);
    Some(out)
}

/// `url_dec`: %XX sequences decoded, '+' left as is (haproxy's default for paths).
fn url_dec(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let h = std::str::from_utf8(s.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// haproxy's `exp_replace`: `template` with `\0`-`\9` replaced by the groups of `caps`
/// (an unmatched group gives nothing), `\xHH` by that byte and `\c` by `c`; None when it
/// ends in a lone backslash or a cut `\x`.
pub fn exp_replace(template: &[u8], caps: &regex::bytes::Captures) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(template.len());
    let mut i = 0;
    while i < template.len() {
        let c = template[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let n = *template.get(i)?;
        i += 1;
        if n.is_ascii_digit() {
            if let Some(m) = caps.get((n - b'0') as usize) {
                out.extend_from_slice(m.as_bytes());
            }
        } else if n == b'x' {
            let (h1, h2) = (*template.get(i)?, *template.get(i + 1)?);
            i += 2;
            // As haproxy's arithmetic on upper-cased characters, valid hex or not.
            let nib = |c: u8| {
                let v = c.to_ascii_uppercase().wrapping_sub(b'0');
                if v > 9 {
                    v.wrapping_sub(b'A' - b'9' - 1)
                } else {
                    v
                }
            };
            out.push((nib(h1) << 4).wrapping_add(nib(h2)));
        } else {
            out.push(n);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(field(b"a.b.c", 2, b".", 1, false), Some(b"b".to_vec()));
        assert_eq!(field(b"a.b.c", -1, b".", 1, false), Some(b"c".to_vec()));
        assert_eq!(field(b"a.b.c", 2, b".", 0, false), Some(b"b.c".to_vec()));
        assert_eq!(field(b"a.b:c", 2, b".:", 0, false), Some(b"b:c".to_vec()));
        assert_eq!(field(b"a.b", 3, b".", 1, false), None);
        assert_eq!(field(b"a..c", 2, b".", 1, true), Some(b"c".to_vec()));
    }

    #[test]
    fn arithmetic_saturates_as_haproxy() {
        assert_eq!(arith(Arith::Add, i64::MAX, 1), i64::MAX);
        assert_eq!(arith(Arith::Sub, 0, i64::MIN), i64::MAX);
        assert_eq!(arith(Arith::Sub, -1, i64::MIN), i64::MAX);
        // 2.6.12's arith_add: two negatives give the largest integer unless they
        // underflow.
        assert_eq!(arith(Arith::Add, -2, -5), i64::MAX);
        assert_eq!(arith(Arith::Sub, -2, 5), i64::MAX);
        assert_eq!(arith(Arith::Add, i64::MIN, -1), i64::MIN);
        assert_eq!(arith(Arith::Add, -2, 5), 3);
        assert_eq!(arith(Arith::Mul, i64::MIN, -1), i64::MAX);
        assert_eq!(arith(Arith::Mul, i64::MAX, -2), i64::MIN);
        assert_eq!(arith(Arith::Div, 7, 0), i64::MAX);
        assert_eq!(arith(Arith::Div, i64::MIN, -1), i64::MAX);
        assert_eq!(arith(Arith::Div, -7, 2), -3);
        assert_eq!(arith(Arith::Mod, -7, 2), -1);
        assert_eq!(arith(Arith::Mod, 7, 0), 0);
        assert_eq!(arith(Arith::Mod, i64::MIN, -1), 0);
    }

    #[test]
    fn base64_decoding_as_haproxy() {
        assert_eq!(b64dec(b"aGk="), Some(b"hi".to_vec()));
        assert_eq!(b64dec(b"aGVsbG8h"), Some(b"hello!".to_vec()));
        assert_eq!(b64dec(b"aGk"), None);
        assert_eq!(b64dec(b"a==="), Some(Vec::new()));
        assert_eq!(b64dec(b"===="), None);
        assert_eq!(b64dec(b"aG=k"), None);
        assert_eq!(b64dec(b"aGk=aGk="), Some(b"hihi".to_vec()));
        assert_eq!(
            crate::runtime::proto::proxy_protocol::crc32c(b"123456789"),
            0xe306_9283
        );
    }
}
