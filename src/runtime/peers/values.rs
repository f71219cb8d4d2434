//! A table's definition and its entries as the peers protocol encodes them: key types
//! and sizes by haproxy's network numbering, data types by their number, counters as
//! integers, rates as (ms into the period, current, previous), the stick server as its
//! `id` and its name (a dictionary entry, cached per session).

use super::wire::{put_varint, Reader, Truncated};
use super::TableInfo;
use crate::ir::counters::{DataType, DATA_TYPES};
use crate::ir::StickKey;
use crate::runtime::lb::stick::{Remote, Snapshot, Table};

/// haproxy's number of data types in 2.6.
pub const TYPES: usize = 25;

/// How a data type travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    /// A signed 32-bit integer (server_id).
    Sint,
    /// An unsigned integer.
    Uint,
    /// A rate.
    Freq,
    /// A dictionary entry (server_key).
    Dict,
}

fn std_of(ty: DataType) -> Std {
    match ty {
        DataType::ServerId => Std::Sint,
        DataType::ServerKey => Std::Dict,
        t if t.is_rate() => Std::Freq,
        _ => Std::Uint,
    }
}

/// A key type's network number and size (a string's NUL counted, as haproxy sizes it).
fn wire_key(key: StickKey) -> (u64, u64) {
    match key {
        StickKey::Integer => (2, 4),
        StickKey::Ip => (4, 4),
        StickKey::Ipv6 => (5, 16),
        StickKey::String(n) => (6, n as u64 + 1),
        StickKey::Binary(n) => (7, n as u64),
    }
}

/// The definition of table `index` for the peers.
pub(super) fn info(
    index: usize,
    name: &str,
    table: &Table,
    servers: Option<Vec<(u32, String)>>,
) -> TableInfo {
    let cfg = table.config();
    let (ktype, ksize) = wire_key(cfg.key);
    let stored = table.shape().stored();
    let mut mask = 0u64;
    for (ty, _, _) in &stored {
        mask |= 1 << ty.index();
    }
    if servers.is_some() {
        mask |= 1 << DataType::ServerId.index();
        mask |= 1 << DataType::ServerKey.index();
    }
    let mut tail = Vec::new();
    put_varint(&mut tail, ktype);
    put_varint(&mut tail, ksize);
    put_varint(&mut tail, mask);
    put_varint(
        &mut tail,
        table.shape().expire().map_or(0, |d| d.as_millis() as u64),
    );
    for (ty, n, period) in &stored {
        if ty.is_array() {
            put_varint(&mut tail, ty.index() as u64);
            put_varint(&mut tail, u64::from(*n));
            if ty.is_rate() {
                put_varint(&mut tail, u64::from(*period));
            }
        } else if ty.is_rate() {
            put_varint(&mut tail, ty.index() as u64);
            put_varint(&mut tail, u64::from(*period));
        }
    }
    TableInfo {
        index,
        // A peers section's table `<section>/<name>` travels as `/<name>`.
        name: name.find('/').map_or(name, |i| &name[i..]).to_string(),
        key: cfg.key,
        mask,
        define_tail: tail,
        servers,
    }
}

/// A session's dictionary of server names sent (haproxy's 128-entry cache).
#[derive(Debug, Default)]
pub(super) struct TxDict {
    slots: Vec<String>,
    next: usize,
}

impl TxDict {
    /// Writes `name` as a dictionary value: its slot when already sent, else the slot
    /// it takes and the name.
    fn put(&mut self, out: &mut Vec<u8>, name: &str) {
        if let Some(i) = self.slots.iter().position(|s| s == name) {
            let mut id = Vec::new();
            put_varint(&mut id, i as u64 + 1);
            put_varint(out, id.len() as u64);
            out.extend_from_slice(&id);
            return;
        }
        let slot = self.next;
        if slot < self.slots.len() {
            self.slots[slot] = name.to_string();
        } else {
            self.slots.push(name.to_string());
        }
        self.next = (self.next + 1) % 128;
        let mut v = Vec::new();
        put_varint(&mut v, slot as u64 + 1);
        put_varint(&mut v, name.len() as u64);
        v.extend_from_slice(name.as_bytes());
        put_varint(out, v.len() as u64);
        out.extend_from_slice(&v);
    }
}

/// Appends `key` as the table's type travels.
pub(super) fn put_key(out: &mut Vec<u8>, key: StickKey, k: &[u8]) {
    if let StickKey::String(_) = key {
        put_varint(out, k.len() as u64);
    }
    out.extend_from_slice(k);
}

/// Appends an entry's values, every type of the definition in number order.
pub(super) fn put_values(out: &mut Vec<u8>, t: &TableInfo, s: &Snapshot, dict: &mut TxDict) {
    let server = t
        .servers
        .as_ref()
        .and_then(|v| s.server.and_then(|i| v.get(i)));
    for &ty in DATA_TYPES {
        if t.mask & (1 << ty.index()) == 0 {
            continue;
        }
        match std_of(ty) {
            Std::Sint => put_varint(out, server.map_or(0, |(id, _)| i64::from(*id)) as u64),
            Std::Dict => match server.filter(|_| s.keyed) {
                Some((_, name)) => dict.put(out, name),
                None => put_varint(out, 0),
            },
            Std::Uint => {
                for (_, _, v) in s.counters.iter().filter(|c| c.0 == ty) {
                    let v = if matches!(ty, DataType::BytesInCnt | DataType::BytesOutCnt) {
                        *v
                    } else {
                        u64::from(*v as u32)
                    };
                    put_varint(out, v);
                }
            }
            Std::Freq => {
                for (_, _, el, cur, prev) in s.rates.iter().filter(|c| c.0 == ty) {
                    put_varint(out, u64::from(*el));
                    put_varint(out, u64::from(*cur));
                    put_varint(out, u64::from(*prev));
                }
            }
        }
    }
}

/// What a peer's definition says of the values that follow in its updates.
#[derive(Debug, Clone)]
pub(super) struct RemoteDef {
    /// The types sent.
    pub mask: u64,
    /// Elements per array type.
    pub nbelem: [u8; TYPES],
}

/// Reads a definition's fields after the name; None when it does not fit `t` (haproxy
/// then ignores the table's updates).
pub(super) fn read_define(r: &mut Reader, t: &TableInfo) -> Result<Option<RemoteDef>, Truncated> {
    let ktype = r.varint()?;
    let ksize = r.varint()?;
    let mask = r.varint()?;
    if (ktype, ksize) != wire_key(t.key) {
        return Ok(None);
    }
    let mut nbelem = [1u8; TYPES];
    let arrays = (22..TYPES).any(|b| mask & (1 << b) != 0);
    if r.left() == 0 {
        // An older sender without the expire and the periods.
        return Ok((!arrays).then_some(RemoteDef { mask, nbelem }));
    }
    let _expire = r.varint()?;
    for (b, slot) in nbelem.iter_mut().enumerate() {
        if mask & (1 << b) == 0 {
            continue;
        }
        let ty = DATA_TYPES[b];
        if ty.is_array() {
            if r.varint()? != b as u64 {
                return Ok(None);
            }
            *slot = r.varint()?.min(100) as u8;
            if ty.is_rate() {
                r.varint()?;
            }
        } else if ty.is_rate() {
            if r.varint()? != b as u64 {
                return Ok(None);
            }
            r.varint()?;
        }
    }
    Ok(Some(RemoteDef { mask, nbelem }))
}

/// Reads a key of the table's type.
pub(super) fn read_key(r: &mut Reader, key: StickKey) -> Result<Vec<u8>, Truncated> {
    Ok(match key {
        StickKey::String(max) => {
            let len = r.varint()? as usize;
            let b = r.bytes(len)?;
            let mut k = b[..len.min(max)].to_vec();
            if let Some(z) = k.iter().position(|&c| c == 0) {
                k.truncate(z);
            }
            k
        }
        StickKey::Integer | StickKey::Ip => r.bytes(4)?.to_vec(),
        StickKey::Ipv6 => r.bytes(16)?.to_vec(),
        StickKey::Binary(n) => r.bytes(n)?.to_vec(),
    })
}

/// One value read from an update.
#[derive(Debug, Clone)]
pub(super) enum Val {
    Int(DataType, u8, u64),
    Rate(DataType, u8, u32, u32, u32),
    ServerId(i32),
    ServerKey(String),
}

/// Reads an update's values as the peer's definition announced them.
pub(super) fn read_values(
    r: &mut Reader,
    def: &RemoteDef,
    rx: &mut [Option<String>],
) -> Result<Vec<Val>, Truncated> {
    let mut out = Vec::new();
    for (b, &ty) in DATA_TYPES.iter().enumerate() {
        if def.mask & (1 << b) == 0 {
            continue;
        }
        let n = if ty.is_array() { def.nbelem[b] } else { 1 };
        match std_of(ty) {
            Std::Sint => out.push(Val::ServerId(r.varint()? as u32 as i32)),
            Std::Uint => {
                for i in 0..n {
                    out.push(Val::Int(ty, i, r.varint()?));
                }
            }
            Std::Freq => {
                for i in 0..n {
                    let (el, cur, prev) = (r.varint()?, r.varint()?, r.varint()?);
                    out.push(Val::Rate(ty, i, el as u32, cur as u32, prev as u32));
                }
            }
            Std::Dict => {
                let len = r.varint()? as usize;
                if len == 0 {
                    continue;
                }
                let body = r.bytes(len)?;
                let mut d = Reader::new(body);
                let id = d.varint()? as usize;
                if id == 0 || id > rx.len() {
                    return Err(Truncated);
                }
                if d.left() > 0 {
                    let vlen = d.varint()? as usize;
                    let v = d.bytes(vlen)?;
                    rx[id - 1] = Some(String::from_utf8_lossy(v).into_owned());
                }
                if let Some(v) = &rx[id - 1] {
                    out.push(Val::ServerKey(v.clone()));
                }
            }
        }
    }
    Ok(out)
}

/// Writes read values into an entry: the server found by name first, else by id.
pub(super) fn apply(r: &mut Remote, t: &TableInfo, vals: &[Val]) {
    let servers = t.servers.as_deref().unwrap_or(&[]);
    let by_name = vals.iter().find_map(|v| match v {
        Val::ServerKey(n) => servers.iter().position(|(_, s)| s == n),
        _ => None,
    });
    let by_id = vals.iter().find_map(|v| match v {
        Val::ServerId(id) => servers
            .iter()
            .position(|(s, _)| i64::from(*s) == i64::from(*id)),
        _ => None,
    });
    let sent_id = vals.iter().any(|v| matches!(v, Val::ServerId(_)));
    match (by_name, by_id) {
        (Some(i), _) => r.server(Some(i), true),
        (None, Some(i)) => r.server(Some(i), false),
        (None, None) if sent_id => r.server(None, false),
        _ => {}
    }
    for v in vals {
        match *v {
            // conn_cur is this process's own count (haproxy decodes and drops it).
            Val::Int(DataType::ConnCur, ..) => {}
            Val::Int(ty, i, n) => r.counter(ty, i, n),
            Val::Rate(ty, i, el, cur, prev) => r.rate(ty, i, el, cur, prev),
            _ => {}
        }
    }
}
