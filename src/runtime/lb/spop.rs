//! `option spop-check`: the agent's answer to haproxy's HAPROXY-HELLO health-check frame,
//! read as haproxy 2.6's SPOE code reads an AGENT-HELLO or AGENT-DISCONNECT frame
//! (flt_spoe.c), down to which error reason a malformed frame gets.

use super::proto_expect::Custom;
use crate::ir::CheckStatus;

const AGENT_HELLO: u8 = 101;
const AGENT_DISCON: u8 = 102;
const FIN: u32 = 1;
const T_MASK: u8 = 0x0f;
const T_INT32: u8 = 2;
const T_UINT32: u8 = 3;
const T_INT64: u8 = 4;
const T_UINT64: u8 = 5;
const T_IPV4: u8 = 6;
const T_IPV6: u8 = 7;
const T_STR: u8 = 8;
const T_BIN: u8 = 9;
const MIN_FRAME_SIZE: u64 = 256;

/// SPOE error codes (spoe_frm_err_reasons' indexes) this reader can end with.
const ERR_INVALID: u64 = 4;
const ERR_NO_VSN: u64 = 5;
const ERR_NO_FRAME_SIZE: u64 = 6;
const ERR_BAD_VSN: u64 = 8;
const ERR_BAD_FRAME_SIZE: u64 = 9;
const ERR_FRAG_NOT_SUPPORTED: u64 = 10;
const ERR_UNKNOWN: u64 = 99;

/// The text of an SPOE error code.
fn reason(code: u64) -> &'static str {
    match code {
        0 => "normal",
        1 => "I/O error",
        2 => "a timeout occurred",
        3 => "frame is too big",
        4 => "invalid frame received",
        5 => "version value not found",
        6 => "max-frame-size value not found",
        7 => "capabilities value not found",
        8 => "unsupported version",
        9 => "max-frame-size too big or too small",
        10 => "fragmentation not supported",
        11 => "invalid interlaced frames",
        12 => "frame-id not found",
        13 => "resource allocation error",
        _ => "an unknown error occurred",
    }
}

/// A frame being read, as a cursor.
struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let c = *self.b.get(self.p)?;
        self.p += 1;
        Some(c)
    }

    /// haproxy's variable-length integer.
    fn varint(&mut self) -> Option<u64> {
        let mut i = u64::from(self.byte()?);
        if i < 240 {
            return Some(i);
        }
        let mut shift = 4u32;
        loop {
            let c = self.byte()?;
            i = i.wrapping_add(u64::from(c).checked_shl(shift).unwrap_or(0));
            shift += 7;
            if c < 128 {
                return Some(i);
            }
        }
    }

    /// A length-prefixed buffer.
    fn buffer(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let s = self.b.get(self.p..self.p.checked_add(len)?)?;
        self.p += len;
        Some(s)
    }

    /// Skips a typed value of an unknown key.
    fn skip(&mut self) -> Option<()> {
        match self.byte()? & T_MASK {
            T_INT32 | T_INT64 | T_UINT32 | T_UINT64 => {
                self.varint()?;
            }
            T_IPV4 => self.advance(4)?,
            T_IPV6 => self.advance(16)?,
            T_STR | T_BIN => {
                self.buffer()?;
            }
            _ => {}
        }
        Some(())
    }

    fn advance(&mut self, n: usize) -> Option<()> {
        (self.p + n <= self.b.len()).then(|| self.p += n)
    }

    fn done(&self) -> bool {
        self.p >= self.b.len()
    }
}

/// spoe_str_to_vsn: "<major>.<minor>" with optional blanks around, as major*1000+minor.
fn version(s: &[u8]) -> Option<u32> {
    let t = s.trim_ascii();
    let dot = t.iter().position(|c| *c == b'.')?;
    let (maj, min) = (&t[..dot], &t[dot + 1..]);
    let digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !digits(maj) || !digits(min) {
        return None;
    }
    let num = |d: &[u8]| {
        d.iter().fold(0u32, |n, c| {
            n.saturating_mul(10).saturating_add(u32::from(c - b'0'))
        })
    };
    let (maj, min) = (num(maj), num(min));
    (maj != 0 && min <= 999).then(|| maj.saturating_mul(1000).saturating_add(min))
}

/// The frame header: type, FIN flag, zero stream and frame ids. `Err` is the SPOE error.
fn header(r: &mut Reader, want: u8) -> Result<(), u64> {
    if r.byte() != Some(want) || r.b.len() < 7 {
        return Err(ERR_INVALID);
    }
    let flags = u32::from_be_bytes([r.b[1], r.b[2], r.b[3], r.b[4]]);
    r.p = 5;
    if flags & FIN == 0 {
        return Err(ERR_FRAG_NOT_SUPPORTED);
    }
    if r.b[5] != 0 || r.b[6] != 0 {
        return Err(ERR_INVALID);
    }
    r.p = 7;
    Ok(())
}

/// An AGENT-HELLO: a supported `version`, a `max-frame-size` within bounds.
fn hello(frame: &[u8], max_frame: u64) -> Result<(), u64> {
    let mut r = Reader { b: frame, p: 0 };
    header(&mut r, AGENT_HELLO)?;
    let (mut vsn, mut size) = (false, false);
    while !r.done() {
        let key = r.buffer().filter(|k| !k.is_empty()).ok_or(ERR_INVALID)?;
        if key.starts_with(b"version") {
            if r.byte().map(|t| t & T_MASK) != Some(T_STR) {
                return Err(ERR_INVALID);
            }
            let v = r.buffer().ok_or(ERR_INVALID)?;
            if version(v) != Some(2000) {
                return Err(ERR_BAD_VSN);
            }
            vsn = true;
        } else if key.starts_with(b"max-frame-size") {
            let t = r.byte().map(|t| t & T_MASK);
            if !matches!(t, Some(T_INT32 | T_INT64 | T_UINT32 | T_UINT64)) {
                return Err(ERR_INVALID);
            }
            let sz = r.varint().ok_or(ERR_INVALID)?;
            if !(MIN_FRAME_SIZE..=max_frame).contains(&sz) {
                return Err(ERR_BAD_FRAME_SIZE);
            }
            size = sz != 0;
        } else if key.starts_with(b"capabilities") {
            if r.byte().map(|t| t & T_MASK) != Some(T_STR) {
                return Err(ERR_INVALID);
            }
            r.buffer().ok_or(ERR_INVALID)?;
        } else {
            r.skip().ok_or(ERR_INVALID)?;
        }
    }
    if !vsn {
        return Err(ERR_NO_VSN);
    }
    if !size {
        return Err(ERR_NO_FRAME_SIZE);
    }
    Ok(())
}

/// An AGENT-DISCONNECT: always an error, its `status-code` the reason when it parses.
fn disconnect(frame: &[u8]) -> u64 {
    let mut r = Reader { b: frame, p: 0 };
    if let Err(e) = header(&mut r, AGENT_DISCON) {
        return e;
    }
    let mut code = 0;
    while !r.done() {
        let Some(key) = r.buffer().filter(|k| !k.is_empty()) else {
            return ERR_INVALID;
        };
        if key.starts_with(b"status-code") {
            let t = r.byte().map(|t| t & T_MASK);
            if !matches!(t, Some(T_INT32 | T_INT64 | T_UINT32 | T_UINT64)) {
                return ERR_INVALID;
            }
            match r.varint() {
                Some(v) => code = v,
                None => return ERR_INVALID,
            }
        } else if key.starts_with(b"message") {
            if r.byte().map(|t| t & T_MASK) != Some(T_STR) {
                return ERR_INVALID;
            }
            if r.buffer().is_none_or(|m| m.len() > 255) {
                return ERR_INVALID;
            }
        } else if r.skip().is_none() {
            return ERR_INVALID;
        }
    }
    code
}

/// tcpcheck_spop_expect_agenthello: the 4-byte length, then the whole frame.
pub(super) fn agent_hello(buf: &[u8], last_read: bool, max_frame: u32) -> Custom {
    let len = buf
        .get(..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    if !last_read && buf.len() < 4 + len {
        return Custom::Wait;
    }
    let frame = &buf[4.min(buf.len())..buf.len().min(4 + len)];
    let err = if frame.first() == Some(&AGENT_DISCON) {
        Some(disconnect(frame))
    } else {
        hello(frame, u64::from(max_frame)).err()
    };
    match err {
        None => Custom::Passed("SPOA server is ok".into()),
        Some(code) => Custom::Fail {
            status: CheckStatus::L7Rsp,
            code: 0,
            desc: reason(if code >= 100 { ERR_UNKNOWN } else { code }).to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv_str(out: &mut Vec<u8>, k: &str, v: &str) {
        out.push(k.len() as u8);
        out.extend_from_slice(k.as_bytes());
        out.push(T_STR);
        out.push(v.len() as u8);
        out.extend_from_slice(v.as_bytes());
    }

    /// haproxy's encode_varint.
    fn varint(mut i: u64) -> Vec<u8> {
        if i < 240 {
            return vec![i as u8];
        }
        let mut out = vec![(i as u8) | 240];
        i = (i - 240) >> 4;
        while i >= 128 {
            out.push((i as u8) | 128);
            i = (i - 128) >> 7;
        }
        out.push(i as u8);
        out
    }

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 239, 240, 2287, 2288, 16380, 264432, 1 << 40] {
            let b = varint(v);
            assert_eq!(Reader { b: &b, p: 0 }.varint(), Some(v), "{v}");
        }
    }

    fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![kind, 0, 0, 0, 1, 0, 0];
        f.extend_from_slice(body);
        let mut out = (f.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&f);
        out
    }

    #[test]
    fn versions_parse_as_haproxy() {
        assert_eq!(version(b"2.0"), Some(2000));
        assert_eq!(version(b" 2.0 "), Some(2000));
        assert_eq!(version(b"1.0"), Some(1000));
        assert_eq!(version(b"0.5"), None);
        assert_eq!(version(b"2"), None);
        assert_eq!(version(b"2."), None);
    }

    #[test]
    fn hello_needs_version_and_frame_size() {
        let mut body = Vec::new();
        kv_str(&mut body, "version", "2.0");
        let f = frame(AGENT_HELLO, &body);
        let want = |d: &str| Custom::Fail {
            status: CheckStatus::L7Rsp,
            code: 0,
            desc: d.into(),
        };
        assert_eq!(
            agent_hello(&f, false, 16380),
            want("max-frame-size value not found")
        );
        body.extend_from_slice(b"\x0emax-frame-size\x03");
        body.extend_from_slice(&varint(16380));
        kv_str(&mut body, "capabilities", "");
        let f = frame(AGENT_HELLO, &body);
        assert_eq!(
            agent_hello(&f, false, 16380),
            Custom::Passed("SPOA server is ok".into())
        );
        assert_eq!(agent_hello(&f[..f.len() - 1], false, 16380), Custom::Wait);
        assert_eq!(
            agent_hello(&f, false, 1000),
            want("max-frame-size too big or too small")
        );
        let d = frame(AGENT_DISCON, b"\x0bstatus-code\x03\x08");
        assert_eq!(agent_hello(&d, false, 16380), want("unsupported version"));
    }
}
