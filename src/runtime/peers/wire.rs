//! The bytes of haproxy's peers protocol 2.1: the text handshake, then messages of a
//! class byte, a type byte and, for types with the top bit set, a length and a body.
//! Integers in bodies use haproxy's variable-length encoding (`intencode`): below 240 one
//! byte; otherwise the low four bits with the top nibble set, then 7-bit groups with a
//! continuation bit, each group taken after subtracting what the previous byte stood for.

/// The protocol banner.
pub const BANNER: &str = "HAProxyS";

/// Message classes.
pub mod class {
    /// Resync and heartbeat.
    pub const CONTROL: u8 = 0;
    /// Errors (sent before closing).
    pub const ERROR: u8 = 1;
    /// Table definitions, updates and acknowledgements.
    pub const TABLE: u8 = 10;
    /// Reserved: a protocol error.
    pub const RESERVED: u8 = 255;
}

/// CONTROL types.
pub mod control {
    /// "Teach me everything."
    pub const RESYNC_REQ: u8 = 0;
    /// The lesson is over and the teacher was up to date.
    pub const RESYNC_FINISHED: u8 = 1;
    /// The lesson is over but the teacher was not up to date itself.
    pub const RESYNC_PARTIAL: u8 = 2;
    /// The learner got the end of the lesson.
    pub const RESYNC_CONFIRM: u8 = 3;
    /// Still here.
    pub const HEARTBEAT: u8 = 4;
}

/// ERROR types.
pub mod error {
    /// A malformed message.
    pub const PROTOCOL: u8 = 0;
    /// A message longer than the buffer.
    pub const SIZE_LIMIT: u8 = 1;
}

/// TABLE types.
pub mod table {
    /// An update carrying its id.
    pub const UPDATE: u8 = 0x80;
    /// An update whose id is the previous one plus one.
    pub const INC_UPDATE: u8 = 0x81;
    /// A table definition (and selection).
    pub const DEFINE: u8 = 0x82;
    /// Selects a table defined earlier.
    pub const SWITCH: u8 = 0x83;
    /// Acknowledges updates up to an id.
    pub const ACK: u8 = 0x84;
    /// [`UPDATE`] with the entry's remaining lifetime.
    pub const UPDATE_TIMED: u8 = 0x85;
    /// [`INC_UPDATE`] with the entry's remaining lifetime.
    pub const INC_UPDATE_TIMED: u8 = 0x86;
}

/// The connecting side's handshake: the banner and version (2.0 for a peer that refused
/// 2.1), the name of the peer called, then this one's name and pid.
pub fn hello(to: &str, from: &str, downgrade: bool) -> String {
    let minor = if downgrade { 0 } else { 1 };
    format!(
        "{BANNER} 2.{minor}\n{to}\n{from} {} 1\n",
        std::process::id()
    )
}

/// Appends `v` in haproxy's variable-length encoding.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    if v < 240 {
        out.push(v as u8);
        return;
    }
    out.push((v as u8) | 0xF0);
    v = (v - 240) >> 4;
    while v >= 128 {
        out.push((v as u8) | 0x80);
        v = (v - 128) >> 7;
    }
    out.push(v as u8);
}

/// A cursor over a message body.
pub struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

/// A body ended before a field did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

impl<'a> Reader<'a> {
    /// Reads from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
    }

    /// Bytes not read yet.
    pub fn left(&self) -> usize {
        self.buf.len() - self.at
    }

    /// One variable-length integer (`intdecode`: continuation bytes are added whole).
    pub fn varint(&mut self) -> Result<u64, Truncated> {
        let b0 = *self.buf.get(self.at).ok_or(Truncated)?;
        self.at += 1;
        let mut v = u64::from(b0);
        if b0 < 240 {
            return Ok(v);
        }
        let mut shift = 4u32;
        loop {
            let b = *self.buf.get(self.at).ok_or(Truncated)?;
            self.at += 1;
            v = v.wrapping_add(u64::from(b).wrapping_shl(shift));
            shift += 7;
            if b < 128 {
                return Ok(v);
            }
        }
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.at.checked_add(n).ok_or(Truncated)?;
        let b = self.buf.get(self.at..end).ok_or(Truncated)?;
        self.at = end;
        Ok(b)
    }

    /// A big-endian 32-bit integer.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// A whole message cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// Its class.
    pub class: u8,
    /// Its type.
    pub ty: u8,
    /// Its body (empty for types below 0x80).
    pub body: Vec<u8>,
}

/// What [`cut`] found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Cut {
    /// A message and the bytes it took.
    Msg(Msg, usize),
    /// More bytes are needed.
    Partial,
    /// The length field is malformed (haproxy answers a protocol error).
    BadLength,
    /// The body is longer than `max` (haproxy answers a size-limit error).
    TooLong,
}

/// Cuts the first message from `buf`; bodies longer than `max` are refused.
pub fn cut(buf: &[u8], max: usize) -> Cut {
    if buf.len() < 2 {
        return Cut::Partial;
    }
    let (class, ty) = (buf[0], buf[1]);
    if ty < 0x80 {
        return Cut::Msg(
            Msg {
                class,
                ty,
                body: Vec::new(),
            },
            2,
        );
    }
    // The length is read from at most five bytes.
    let avail = &buf[2..buf.len().min(7)];
    let mut r = Reader::new(avail);
    let len = match r.varint() {
        Ok(l) => l,
        Err(Truncated) if avail.len() >= 5 => return Cut::BadLength,
        Err(Truncated) => return Cut::Partial,
    };
    let len = len as u32 as usize;
    if len > max {
        return Cut::TooLong;
    }
    let start = 2 + r.at;
    if buf.len() < start + len {
        return Cut::Partial;
    }
    Cut::Msg(
        Msg {
            class,
            ty,
            body: buf[start..start + len].to_vec(),
        },
        start + len,
    )
}

/// Appends a message: header, and for long types the body's length then the body.
pub fn put_msg(out: &mut Vec<u8>, class: u8, ty: u8, body: &[u8]) {
    out.push(class);
    out.push(ty);
    if ty >= 0x80 {
        put_varint(out, body.len() as u64);
        out.extend_from_slice(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: u64) -> Vec<u8> {
        let mut o = Vec::new();
        put_varint(&mut o, v);
        o
    }

    #[test]
    fn varints_round_trip_at_every_length_boundary() {
        let edges = [
            0u64,
            239,
            240,
            2287,
            2288,
            264431,
            264432,
            33818863,
            33818864,
            4328786159,
            4328786160,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        let mut lens = Vec::new();
        for v in edges {
            let b = enc(v);
            lens.push(b.len());
            let mut r = Reader::new(&b);
            assert_eq!(r.varint(), Ok(v), "{v}");
            assert_eq!(r.left(), 0);
        }
        assert_eq!(lens, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 5, 10]);
        // Every value below 2^20 decodes back, and a cut encoding is refused.
        for v in (0..1u64 << 20).step_by(7) {
            let b = enc(v);
            assert_eq!(Reader::new(&b).varint(), Ok(v));
            assert!(Reader::new(&b[..b.len() - 1]).varint().is_err());
        }
    }

    #[test]
    fn messages_are_cut_by_their_length() {
        let mut b = Vec::new();
        put_msg(&mut b, class::CONTROL, control::HEARTBEAT, &[]);
        put_msg(&mut b, class::TABLE, table::ACK, &[1, 0, 0, 0, 2]);
        let Cut::Msg(m, n) = cut(&b, 16384) else {
            panic!()
        };
        assert_eq!((m.class, m.ty, n), (0, 4, 2));
        assert_eq!(cut(&b[2..6], 16384), Cut::Partial);
        let Cut::Msg(m, n) = cut(&b[2..], 16384) else {
            panic!()
        };
        assert_eq!((m.body.as_slice(), n), (&[1, 0, 0, 0, 2][..], 8));
        assert_eq!(cut(&b[2..], 4), Cut::TooLong);
        assert_eq!(
            cut(&[10, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 16384),
            Cut::BadLength
        );
    }
}
