//! Map files for the `map_*` converters, read when the configuration is (haproxy's
//! `pat_ref_read_from_file_smp`): one key and its value per line, `#` lines and blank
//! lines skipped, blanks around the key and at the end of the value dropped; each key
//! read as the converter's matching method reads patterns, with haproxy's messages.

use std::sync::Arc;

use crate::ir::acl::Regex;
use crate::ir::map::{Map, MapKey, MapMatch, MapValue};

/// What a converter name asks for: how keys match and the output type (`Some("int")`,
/// `Some("ip")`, None for strings). None when it is no map converter haproxide runs.
pub fn kind(name: &str) -> Option<(MapMatch, Option<&'static str>)> {
    let rest = name.strip_prefix("map")?;
    let (how, rest) = match rest {
        "" => return Some((MapMatch::Str, None)),
        r => {
            let r = r.strip_prefix('_')?;
            let (m, out) = r.split_once('_').map_or((r, None), |(m, o)| (m, Some(o)));
            (m, out)
        }
    };
    let how = match how {
        "str" => MapMatch::Str,
        "beg" => MapMatch::Beg,
        "sub" => MapMatch::Sub,
        "dir" => MapMatch::Dir,
        "dom" => MapMatch::Dom,
        "end" => MapMatch::End,
        "reg" => MapMatch::Reg,
        "int" => MapMatch::Int,
        "ip" => MapMatch::Ip,
        _ => return None,
    };
    match rest {
        None => Some((how, None)),
        Some("int") => Some((how, Some("int"))),
        Some("ip") => Some((how, Some("ip"))),
        _ => None,
    }
}

/// A value of the map's output type, as haproxy parses it.
pub fn value(out: Option<&str>, v: &str) -> Option<MapValue> {
    Some(match out {
        None => MapValue::Str(v.as_bytes().into()),
        Some("int") => MapValue::Int(strtoll(v)?),
        _ => MapValue::Ip(v.parse().ok()?),
    })
}

/// A whole decimal integer, as haproxy's map_parse_int reads values.
fn strtoll(v: &str) -> Option<i64> {
    let d = v.strip_prefix(['-', '+']).unwrap_or(v);
    (!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .then(|| v.parse::<i64>().ok())
        .flatten()
}

/// Reads `file` for a converter matching `how` with output `out`; the message is
/// haproxy's (without its "invalid args in converter" prefix).
pub fn load(
    file: &str,
    how: MapMatch,
    out: Option<&str>,
    default: Option<MapValue>,
) -> Result<Map, String> {
    let text = std::fs::read(file).map_err(|_| format!("failed to open pattern file <{file}>"))?;
    let mut entries = Vec::new();
    for (n, raw) in text.split(|&c| c == b'\n').enumerate() {
        let line = n + 1;
        if raw.first() == Some(&b'#') {
            continue;
        }
        let blank = |c: &u8| *c == b' ' || *c == b'\t';
        let l = &raw[raw.iter().position(|c| !blank(c)).unwrap_or(raw.len())..];
        let l = &l[..l.iter().position(|&c| c == b'\r').unwrap_or(l.len())];
        if l.is_empty() {
            continue;
        }
        let key_end = l.iter().position(blank).unwrap_or(l.len());
        let key = String::from_utf8_lossy(&l[..key_end]).into_owned();
        let v = &l[key_end..];
        let v = &v[v.iter().position(|c| !blank(c)).unwrap_or(v.len())..];
        let v = &v[..v.iter().rposition(|c| !blank(c)).map_or(0, |p| p + 1)];
        let v = String::from_utf8_lossy(v).into_owned();
        let at = || format!(" at line {line} of file '{file}'");
        let k =
            match how {
                MapMatch::Reg => MapKey::Reg(
                    regex::bytes::RegexBuilder::new(&key)
                        .unicode(false)
                        .build()
                        .map(|r| Regex(Arc::new(r)))
                        .map_err(|e| {
                            let why = super::acl::regex_error(&e);
                            format!("regex '{key}' is invalid (error={why}){}", at())
                        })?,
                ),
                MapMatch::Int => MapKey::Int(
                    super::acl::int_range(&key, false)
                        .map_err(|_| format!("'{key}' is not a number{}", at()))?,
                ),
                MapMatch::Ip => MapKey::Net(super::acl::ip_net(&key).ok_or_else(|| {
                    format!("'{key}' is not a valid IPv4 or IPv6 address{}", at())
                })?),
                _ => MapKey::Str(key.into_bytes().into()),
            };
        let val = value(out, &v).ok_or_else(|| format!("unable to parse '{v}'{}", at()))?;
        entries.push((k, val));
    }
    let mut exact = std::collections::HashMap::new();
    if how == MapMatch::Str {
        for (i, (k, _)) in entries.iter().enumerate() {
            if let MapKey::Str(k) = k {
                exact.entry(k.clone()).or_insert(i);
            }
        }
    }
    Ok(Map {
        file: file.into(),
        how,
        entries,
        default,
        exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_files() {
        assert_eq!(kind("map"), Some((MapMatch::Str, None)));
        assert_eq!(kind("map_beg_int"), Some((MapMatch::Beg, Some("int"))));
        assert_eq!(kind("map_regm"), None);
        assert_eq!(kind("mapx"), None);
        let dir = std::env::temp_dir().join(format!("haproxide-map-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("m.map");
        std::fs::write(&f, "# c\n  a.com \t be1 x  \n\nb  \r\n10.0.0.0/8 n\n").unwrap();
        let f = f.to_str().unwrap();
        let m = load(f, MapMatch::Str, None, None).unwrap();
        assert_eq!(m.entries.len(), 3);
        assert_eq!(
            m.entries[0],
            (
                MapKey::Str(b"a.com"[..].into()),
                MapValue::Str(b"be1 x"[..].into())
            )
        );
        assert_eq!(m.entries[1].1, MapValue::Str(b""[..].into()));
        let e = load(f, MapMatch::Ip, None, None).unwrap_err();
        assert_eq!(
            e,
            format!("'a.com' is not a valid IPv4 or IPv6 address at line 2 of file '{f}'")
        );
        let e = load(f, MapMatch::Str, Some("int"), None).unwrap_err();
        assert_eq!(
            e,
            format!("unable to parse 'be1 x' at line 2 of file '{f}'")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
