//! Looking a sample up in a map (haproxy's `sample_conv_map`): the first matching key in
//! file order, except `map_beg` and `map_ip`, whose indexes give the longest match.

use std::borrow::Cow;

use super::fetch::Value;
use super::matching::{in_net, in_range, match_word, DIR, DOM};
use crate::ir::map::{Map, MapKey, MapMatch, MapValue};

fn out<'a>(v: &MapValue) -> Value<'a> {
    match v {
        MapValue::Str(s) => Value::Str(Cow::Owned(s.to_vec())),
        MapValue::Int(i) => Value::Int(*i),
        MapValue::Ip(a) => Value::Ip(*a),
    }
}

/// The value `m` gives for `v`: its entry's, or the default; None when neither.
pub fn lookup<'a>(m: &Map, v: &Value) -> Option<Value<'a>> {
    let found = match m.how {
        MapMatch::Str => m.exact.get(&v.to_bytes()[..]).map(|&i| &m.entries[i].1),
        MapMatch::Ip => {
            let ip = v.to_ip()?;
            let mut best: Option<(u8, &MapValue)> = None;
            for (k, val) in &m.entries {
                if let MapKey::Net(n) = k {
                    if in_net(ip, n) && best.is_none_or(|(b, _)| n.bits > b) {
                        best = Some((n.bits, val));
                    }
                }
            }
            best.map(|(_, val)| val)
        }
        MapMatch::Int => {
            let i = v.to_int()?;
            m.entries.iter().find_map(|(k, val)| match k {
                MapKey::Int(r) if in_range(i, r) => Some(val),
                _ => None,
            })
        }
        MapMatch::Beg => {
            let s = v.to_bytes();
            let mut best: Option<(usize, &MapValue)> = None;
            for (k, val) in &m.entries {
                if let MapKey::Str(p) = k {
                    if s.starts_with(p) && best.is_none_or(|(b, _)| p.len() > b) {
                        best = Some((p.len(), val));
                    }
                }
            }
            best.map(|(_, val)| val)
        }
        how => {
            let s = v.to_bytes();
            m.entries.iter().find_map(|(k, val)| {
                let hit = match (how, k) {
                    (MapMatch::Sub, MapKey::Str(p)) => {
                        p.is_empty() || s.windows(p.len()).any(|w| w == &**p)
                    }
                    (MapMatch::End, MapKey::Str(p)) => s.ends_with(p),
                    (MapMatch::Dom, MapKey::Str(p)) => match_word(&s, p, DOM, false),
                    (MapMatch::Dir, MapKey::Str(p)) => match_word(&s, p, DIR, false),
                    (MapMatch::Reg, MapKey::Reg(r)) => r.0.is_match(&s),
                    _ => false,
                };
                hit.then_some(val)
            })
        }
    };
    found.or(m.default.as_ref()).map(out)
}
