//! Reading an MQTT CONNECT from the client's first bytes, as HAProxy 2.6's `mqtt_is_valid`
//! and `mqtt_field_value(connect, …)` converters do (configuration.txt §7.3.1): MQTT 3.1,
//! 3.1.1 and 5.0 (checked against haproxy 2.6.12), the packet must end exactly where its remaining length says, and a packet
//! not yet complete is "not known yet" rather than invalid, so inspection can wait for it.

use crate::ir::MqttField;

/// What the buffered bytes say so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A complete, well-formed CONNECT (or CONNACK).
    Valid,
    /// Not an acceptable MQTT packet, whatever follows.
    Invalid,
    /// The first packet is not complete yet.
    NeedMore,
}

/// A complete CONNECT, split into the fields converters can return.
#[derive(Debug, Default)]
struct Connect<'a> {
    protocol_name: &'a [u8],
    level: u8,
    flags: u8,
    keepalive: u16,
    client_id: &'a [u8],
    will_topic: Option<&'a [u8]>,
    will_payload: Option<&'a [u8]>,
    username: Option<&'a [u8]>,
    password: Option<&'a [u8]>,
}

/// A cursor over one packet body; every read past its end fails.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A two-byte length and that many bytes (MQTT strings and binary data).
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
    fn varint(&mut self) -> Option<usize> {
        let mut v = 0usize;
        for i in 0..4 {
            let b = self.u8()?;
            v |= ((b & 0x7f) as usize) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

/// MQTT 5 properties: `allowed` lists (id, kind) where kind is 1/2/4-byte integer,
/// 's' string, 'b' binary, 'p' string pair; 'x' a byte that must be 0 or 1, 'n' a
/// non-zero 2-byte and 'N' a non-zero 4-byte integer. Unknown or repeated ids fail
/// (user properties may repeat).
fn properties(r: &mut Reader, allowed: &[(u8, char)]) -> Option<Vec<u8>> {
    let len = r.varint()?;
    let mut p = Reader { b: r.take(len)? };
    let mut seen = Vec::new();
    while !p.b.is_empty() {
        let id = p.u8()?;
        let kind = allowed.iter().find(|(i, _)| *i == id)?.1;
        if kind != 'p' && seen.contains(&id) {
            return None;
        }
        seen.push(id);
        match kind {
            '1' => drop(p.u8()?),
            'x' => (p.u8()? <= 1).then_some(())?,
            '2' => drop(p.u16()?),
            'n' => (p.u16()? != 0).then_some(())?,
            '4' => drop(p.u32()?),
            'N' => (p.u32()? != 0).then_some(())?,
            's' | 'b' => drop(p.bytes()?),
            _ => {
                p.bytes()?;
                p.bytes()?;
            }
        }
    }
    Some(seen)
}

fn parse_connect(body: &[u8]) -> Option<Connect<'_>> {
    let mut r = Reader { b: body };
    let mut c = Connect {
        protocol_name: r.bytes()?,
        ..Default::default()
    };
    // HAProxy 2.6.12 takes MQTT 3.1 ("MQIsdp", level 3) too, either name with either level.
    let name = c.protocol_name;
    if !name.eq_ignore_ascii_case(b"MQTT") && !name.eq_ignore_ascii_case(b"MQIsdp") {
        return None;
    }
    c.level = r.u8()?;
    if !(3..=5).contains(&c.level) {
        return None;
    }
    c.flags = r.u8()?;
    let f = c.flags;
    if f & 0x01 != 0 || (f & 0x18 == 0x18 && f & 0x24 == 0) {
        return None;
    }
    c.keepalive = r.u16()?;
    if c.level == 5 {
        let allowed = [
            (0x11, '4'),
            (0x21, 'n'),
            (0x27, 'N'),
            (0x22, '2'),
            (0x19, 'x'),
            (0x17, 'x'),
            (0x26, 'p'),
            (0x15, 's'),
            (0x16, 'b'),
        ];
        let seen = properties(&mut r, &allowed)?;
        if seen.contains(&0x16) && !seen.contains(&0x15) {
            return None;
        }
    }
    c.client_id = r.bytes()?;
    if f & 0x04 != 0 {
        if c.level == 5 {
            let allowed = [
                (0x18, '4'),
                (0x01, 'x'),
                (0x02, '4'),
                (0x03, 's'),
                (0x08, 's'),
                (0x09, 'b'),
                (0x26, 'p'),
            ];
            properties(&mut r, &allowed)?;
        }
        c.will_topic = Some(r.bytes()?);
        c.will_payload = Some(r.bytes()?);
    }
    if f & 0x80 != 0 {
        c.username = Some(r.bytes()?);
    }
    if f & 0x40 != 0 {
        c.password = Some(r.bytes()?);
    }
    r.b.is_empty().then_some(c)
}

/// The first packet's type and body, or why there is none yet.
fn first_packet(buf: &[u8]) -> Result<(u8, &[u8]), Verdict> {
    if buf.len() < 2 {
        return Err(Verdict::NeedMore);
    }
    let (ty, flags) = (buf[0] >> 4, buf[0] & 0x0f);
    // Fixed-header flags as MQTT requires them (PUBLISH carries its own).
    let want = match ty {
        0 => return Err(Verdict::Invalid),
        3 => flags,
        6 | 8 | 10 => 0x02,
        _ => 0,
    };
    if flags != want {
        return Err(Verdict::Invalid);
    }
    // Remaining length: a cut-off varint counts with the bytes it has, as HAProxy reads it.
    let (mut len, mut i) = (0usize, 1usize);
    while let Some(&b) = buf.get(i) {
        len |= ((b & 0x7f) as usize) << (7 * (i - 1));
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        if i == 5 {
            return Err(Verdict::Invalid);
        }
    }
    match buf.get(i..i + len) {
        Some(body) => Ok((ty, body)),
        None => Err(Verdict::NeedMore),
    }
}

/// `mqtt_is_valid` on `buf`.
pub fn validate(buf: &[u8]) -> Verdict {
    match first_packet(buf) {
        Err(v) => v,
        Ok((1, body)) if parse_connect(body).is_some() => Verdict::Valid,
        // CONNACK: acknowledge flags (bit 0 only) and a reason code.
        Ok((2, body)) if body.len() >= 2 && body[0] <= 1 => Verdict::Valid,
        Ok(_) => Verdict::Invalid,
    }
}

/// `mqtt_field_value(connect, <field>)` on `buf`: Err(NeedMore) while the packet is
/// incomplete, Ok(None) when there is no such value (invalid, not a CONNECT, empty).
pub fn connect_field(buf: &[u8], field: MqttField) -> Result<Option<Vec<u8>>, Verdict> {
    let (ty, body) = match first_packet(buf) {
        Err(Verdict::NeedMore) => return Err(Verdict::NeedMore),
        Err(_) => return Ok(None),
        Ok(p) => p,
    };
    let Some(c) = (ty == 1).then(|| parse_connect(body)).flatten() else {
        return Ok(None);
    };
    let v: Vec<u8> = match field {
        MqttField::ProtocolName => c.protocol_name.to_vec(),
        MqttField::ProtocolVersion => c.level.to_string().into_bytes(),
        MqttField::Flags => c.flags.to_string().into_bytes(),
        MqttField::Keepalive => c.keepalive.to_string().into_bytes(),
        MqttField::ClientIdentifier => c.client_id.to_vec(),
        MqttField::WillTopic => c.will_topic.unwrap_or_default().to_vec(),
        MqttField::WillPayload => c.will_payload.unwrap_or_default().to_vec(),
        MqttField::Username => c.username.unwrap_or_default().to_vec(),
        MqttField::Password => c.password.unwrap_or_default().to_vec(),
    };
    Ok((!v.is_empty()).then_some(v))
}

/// An MQTT 3.1.1 CONNECT as mosquitto_pub sends it (clean session, keepalive 60) for
/// client id `id` (under 128 bytes); tests and the load generator speak MQTT with it.
pub fn connect_packet(id: &str) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
    body.extend_from_slice(&(id.len() as u16).to_be_bytes());
    body.extend_from_slice(id.as_bytes());
    let mut p = vec![0x10, body.len() as u8];
    p.extend(body);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_packets() {
        let p = connect_packet("dev-1");
        assert_eq!(validate(&p), Verdict::Valid);
        let id = connect_field(&p, MqttField::ClientIdentifier);
        assert_eq!(id, Ok(Some(b"dev-1".to_vec())));
        assert_eq!(
            connect_field(&p, MqttField::Keepalive),
            Ok(Some(b"60".to_vec()))
        );
        // Every shorter prefix is "not yet", never invalid.
        for n in 0..p.len() {
            assert_eq!(validate(&p[..n]), Verdict::NeedMore, "prefix {n}");
        }
        // Bytes after the first packet do not matter.
        let mut more = p.clone();
        more.extend_from_slice(&[0xc0, 0x00]);
        assert_eq!(validate(&more), Verdict::Valid);
        // An empty client id is valid but gives no sample.
        let e = connect_packet("");
        assert_eq!(validate(&e), Verdict::Valid);
        assert_eq!(connect_field(&e, MqttField::ClientIdentifier), Ok(None));
    }

    #[test]
    fn refused() {
        assert_eq!(validate(b"GET / HTTP/1.1\r\n"), Verdict::Invalid);
        assert_eq!(validate(&[0xc0, 0x00]), Verdict::Invalid); // PINGREQ
        let mut p = connect_packet("x");
        p[8] = 6; // no such protocol level
        assert_eq!(validate(&p), Verdict::Invalid);
        let mut p = connect_packet("x");
        p[9] |= 0x01; // reserved flag
        assert_eq!(validate(&p), Verdict::Invalid);
        // A cut-off length byte with no continuation counts as zero: invalid at once.
        assert_eq!(validate(&[0x10, 0x80]), Verdict::Invalid);
        assert_eq!(validate(&[0x10, 0x81]), Verdict::NeedMore);
    }
}
