//! Stick counters in the configuration (configuration.txt §4.2 `stick-table … store`,
//! `track-sc*`, `sc-inc-gpc*`, `sc-set-gpt*`; §7.3.3 the `sc*`/`src_*` fetches and the
//! `table_*` converters), read as haproxy 2.6 reads them, with its messages.

use std::cell::RefCell;

use super::sample::{make_args, Arg, ArgType, SampleError};
use crate::ir::acl::{Conv, Fetch, SmpType};
use crate::ir::counters::{
    DataType, Entry, Gp, GptValue, Read, ScAction, Store, TableRef, Track, DATA_TYPES, SLOTS,
};

/// A table argument met while parsing, resolved once every section is read.
#[derive(Debug, Clone)]
pub struct PendingTable {
    /// The reference the fetch or converter holds.
    pub r: TableRef,
    /// The keyword as written.
    pub kw: String,
    /// The argument's position, from 1.
    pub arg: usize,
    /// For a converter: the fetch it follows (None: the reference is a fetch's).
    pub conv_of: Option<String>,
    /// Named in an ACL (haproxy says "ACL keyword"), else in a sample expression.
    pub in_acl: Option<bool>,
    /// Written in a defaults section, where no proxy names the table by default.
    pub in_defaults: bool,
}

thread_local! {
    /// Table arguments of the statement being parsed (see `sample::take_userlist_refs`).
    static PENDING: RefCell<Vec<PendingTable>> = const { RefCell::new(Vec::new()) };
}

/// The table arguments parsed since the last call.
pub fn take_table_refs() -> Vec<PendingTable> {
    PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// Marks the table arguments parsed since the last mark as named by an ACL or not.
pub fn mark_table_refs(in_acl: bool) {
    PENDING.with(|p| {
        for r in p.borrow_mut().iter_mut().filter(|r| r.in_acl.is_none()) {
            r.in_acl = Some(in_acl);
        }
    });
}

/// Names the fetch that the converters' table arguments parsed since it follow.
pub fn name_converter_fetch(fetch: &str) {
    PENDING.with(|p| {
        for r in p.borrow_mut().iter_mut() {
            if r.conv_of.as_deref() == Some("") {
                r.conv_of = Some(fetch.to_string());
            }
        }
    });
}

fn table_arg(kw: &str, arg: usize, a: Option<&Arg>, conv: bool) -> TableRef {
    let r = TableRef::new(a.map_or("", Arg::str));
    PENDING.with(|p| {
        p.borrow_mut().push(PendingTable {
            r: r.clone(),
            kw: kw.to_string(),
            arg,
            conv_of: conv.then(String::new),
            in_acl: None,
            in_defaults: false,
        })
    });
    r
}

/// `store <list>`: the items of one word, added to `out` (duplicates are warnings),
/// with haproxy's messages (`stick-table: …`); Err stops the line.
pub fn store(word: &str, out: &mut Vec<Store>, warnings: &mut Vec<String>) -> Result<(), String> {
    let b = word.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let (mut name_end, mut sa, mut sa2) = (None, None, None);
        while i < b.len() && b[i] != b',' {
            if b[i] == b'(' {
                name_end = Some(i);
                let from = i + 1;
                let (mut first, mut last) = (None, None);
                i = from;
                while b.get(i) != Some(&b')') {
                    if i >= b.len() {
                        let cw = &word[start..from - 1];
                        return Err(format!(
                            "stick-table: missing closing parenthesis after store option '{cw}'."
                        ));
                    }
                    if b[i] == b',' {
                        first.get_or_insert(i);
                        last = Some(i);
                    }
                    i += 1;
                }
                // Each comma ends an argument: the first is up to the first comma, the
                // second after the last one.
                sa = Some(&word[from..first.unwrap_or(i)]);
                sa2 = last.map(|c| &word[c + 1..i]);
            }
            i += 1;
        }
        let cw = &word[start..name_end.unwrap_or(i.min(b.len()))];
        i += 1;
        let ty = DATA_TYPES
            .iter()
            .copied()
            .find(|t| t.name() == cw)
            .or((cw == "server_name").then_some(DataType::ServerKey))
            .ok_or_else(|| format!("stick-table: unknown store option '{cw}'."))?;
        if out.iter().any(|s| s.ty == ty) {
            warnings.push(format!(
                "stick-table: store option '{cw}' already enabled, ignored."
            ));
            continue;
        }
        let missing = || format!("stick-table: missing argument to store option '{cw}'.");
        let mut n = 1u8;
        let mut arg = sa;
        if ty.is_array() {
            let a = arg.ok_or_else(missing)?;
            let v = atoi(a);
            if !(1..=100).contains(&v) {
                return Err(format!("stick-table: array size is out of allowed range (1-100) for store option '{cw}'."));
            }
            n = v as u8;
            arg = sa2;
        }
        let mut period_ms = 0;
        if ty.is_rate() {
            let a = arg.ok_or_else(missing)?;
            period_ms = match super::units::parse_time_ms(a) {
                Ok(ms) if ms <= u64::from(u32::MAX) => ms as u32,
                _ => {
                    return Err(format!(
                        "stick-table: error when processing store option '{cw}'."
                    ))
                }
            };
        } else if arg.is_some() {
            return Err(format!(
                "stick-table: unexpected argument to store option '{cw}'."
            ));
        }
        out.push(Store { ty, n, period_ms });
    }
    let has = |t: DataType| out.iter().any(|s| s.ty == t);
    use DataType::*;
    if has(Gpt) && has(Gpt0) {
        return Err("stick-table: simultaneous usage of 'gpt' and 'gpt0' in a same table is not permitted as 'gpt' overrides 'gpt0'.".into());
    }
    if has(Gpc) && (has(Gpc0) || has(Gpc1)) {
        return Err("stick-table: simultaneous usage of 'gpc' and 'gpc[0/1]' in a same table is not permitted as 'gpc' overrides 'gpc[0/1]'.".into());
    }
    if has(GpcRate) && (has(Gpc0Rate) || has(Gpc1Rate)) {
        return Err("stick-table: simultaneous usage of 'gpc_rate' and 'gpc[0/1]_rate' in a same table is not permitted as 'gpc_rate' overrides 'gpc[0/1]_rate'.".into());
    }
    Ok(())
}

/// C's `atoi`: leading blanks, a sign, the digits; 0 when there are none.
fn atoi(s: &str) -> i64 {
    crate::numbers::strtol(s.trim_start()).0
}

/// What the part of an `sc*`/`src_*`/`table_*` name after its prefix reads, and
/// whether it takes an array index first.
fn read_of(what: &str) -> Option<(Read, bool)> {
    use Read::*;
    Some(match what {
        "conn_cnt" => (ConnCnt, false),
        "conn_cur" => (ConnCur, false),
        "conn_rate" => (ConnRate, false),
        "sess_cnt" => (SessCnt, false),
        "sess_rate" => (SessRate, false),
        "http_req_cnt" => (HttpReqCnt, false),
        "http_req_rate" => (HttpReqRate, false),
        "http_err_cnt" => (HttpErrCnt, false),
        "http_err_rate" => (HttpErrRate, false),
        "http_fail_cnt" => (HttpFailCnt, false),
        "http_fail_rate" => (HttpFailRate, false),
        "get_gpt0" => (Gpt0, false),
        "get_gpc0" => (Gpc0, false),
        "get_gpc1" => (Gpc1, false),
        "gpc0_rate" => (Gpc0Rate, false),
        "gpc1_rate" => (Gpc1Rate, false),
        "inc_gpc0" => (IncGpc0, false),
        "inc_gpc1" => (IncGpc1, false),
        "clr_gpc0" => (ClrGpc0, false),
        "clr_gpc1" => (ClrGpc1, false),
        "tracked" => (Tracked, false),
        "trackers" => (Trackers, false),
        "get_gpt" => (Gpt(0), true),
        "get_gpc" => (Gpc(0), true),
        "gpc_rate" => (GpcRate(0), true),
        "inc_gpc" => (IncGpc(0), true),
        "clr_gpc" => (ClrGpc(0), true),
        _ => return None,
    })
}

/// The read with its array index set (an index no table has reads nothing).
fn indexed(r: Read, idx: i64) -> Read {
    let i = u8::try_from(idx).unwrap_or(u8::MAX);
    match r {
        Read::Gpt(_) => Read::Gpt(i),
        Read::Gpc(_) => Read::Gpc(i),
        Read::GpcRate(_) => Read::GpcRate(i),
        Read::IncGpc(_) => Read::IncGpc(i),
        Read::ClrGpc(_) => Read::ClrGpc(i),
        r => r,
    }
}

/// Stick counter data haproxide does not keep: the byte counters.
const BYTES: &[&str] = &["bytes_in_rate", "bytes_out_rate", "kbytes_in", "kbytes_out"];

/// An `sc*`/`src_*`/`table_cnt`/`table_avl` fetch: None when `name` is none of them.
pub fn fetch(name: &str, inner: Option<&str>) -> Option<Result<(Fetch, SmpType), SampleError>> {
    use ArgType::{Int, Tab};
    let args = |spec: &[ArgType], m: usize| {
        make_args(inner, spec, m)
            .map_err(|e| SampleError::Invalid(format!("fetch method '{name}' : {e}")))
    };
    if name == "table_cnt" || name == "table_avl" {
        return Some(args(&[Tab], 0).map(|a| {
            let t = table_arg(name, 1, a.first(), false);
            let f = if name == "table_cnt" {
                Fetch::TableCnt(t)
            } else {
                Fetch::TableAvl(t)
            };
            (f, SmpType::Int)
        }));
    }
    let (prefix, what) = if let Some(w) = name.strip_prefix("src_") {
        ("src", w)
    } else if let Some(w) = name.strip_prefix("sc_") {
        ("sc", w)
    } else {
        let w = name.strip_prefix("sc")?;
        let (d, rest) = w.split_at_checked(1)?;
        let n = d.parse::<u8>().ok().filter(|&n| usize::from(n) < SLOTS)?;
        (
            ["sc0", "sc1", "sc2"][usize::from(n)],
            rest.strip_prefix('_')?,
        )
    };
    if BYTES.contains(&what) || (prefix == "src" && what == "updt_conn_cnt") {
        return Some(Err(SampleError::Unsupported(format!(
            "fetch '{name}' (byte counters are not kept)"
        ))));
    }
    let (read, idx) = read_of(what)?;
    let only_sc = matches!(read, Read::Tracked | Read::Trackers);
    if (prefix == "src" && only_sc) || (prefix.len() == 3 && idx) {
        return None;
    }
    let ty = if read == Read::Tracked {
        SmpType::Bool
    } else {
        SmpType::Int
    };
    let r = (|| {
        let (entry, read) = match (prefix, idx) {
            ("src", false) => {
                let a = args(&[Tab], 0)?;
                (Entry::Src(table_arg(name, 1, a.first(), false)), read)
            }
            ("src", true) => {
                let a = args(&[Int, Tab], 1)?;
                let t = table_arg(name, 2, a.get(1), false);
                (Entry::Src(t), indexed(read, a[0].int()))
            }
            ("sc", false) => {
                let a = args(&[Int, Tab], 1)?;
                let t = a.get(1).map(|x| table_arg(name, 2, Some(x), false));
                (Entry::Slot(slot(a[0].int()), t), read)
            }
            ("sc", true) => {
                let a = args(&[Int, Int, Tab], 2)?;
                let t = a.get(2).map(|x| table_arg(name, 3, Some(x), false));
                (Entry::Slot(slot(a[1].int()), t), indexed(read, a[0].int()))
            }
            (p, _) => {
                let a = args(&[Tab], 0)?;
                let t = a.first().map(|x| table_arg(name, 1, Some(x), false));
                (Entry::Slot(p.as_bytes()[2] - b'0', t), read)
            }
        };
        Ok((Fetch::Sc(entry, read), ty))
    })();
    Some(r)
}

/// A counter number as given; one past the last reads nothing, as in haproxy.
fn slot(n: i64) -> u8 {
    u8::try_from(n)
        .ok()
        .filter(|&n| usize::from(n) < SLOTS)
        .unwrap_or(SLOTS as u8)
}

/// A `table_*` converter: None when `name` is none of them; Err holds haproxy's message
/// or, after a NUL, what is unsupported.
pub fn conv(name: &str, inner: Option<&str>) -> Option<Result<(Conv, SmpType), String>> {
    use ArgType::{Int, Tab};
    let what = name.strip_prefix("table_")?;
    let invalid = |e: String| format!("invalid args in converter '{name}' : {e}");
    if BYTES.contains(&what) || matches!(what, "expire" | "idle" | "server_id") {
        return Some(Err(format!("\u{0}{name}")));
    }
    let (read, idx) = match what {
        "gpt0" => (Read::Gpt0, false),
        "gpc0" => (Read::Gpc0, false),
        "gpc1" => (Read::Gpc1, false),
        "gpt" => (Read::Gpt(0), true),
        "gpc" => (Read::Gpc(0), true),
        w => match read_of(w)? {
            (r @ (Read::Gpc0Rate | Read::Gpc1Rate | Read::GpcRate(_) | Read::Trackers), i) => {
                (r, i)
            }
            (
                r @ (Read::ConnCnt
                | Read::ConnCur
                | Read::ConnRate
                | Read::SessCnt
                | Read::SessRate
                | Read::HttpReqCnt
                | Read::HttpReqRate
                | Read::HttpErrCnt
                | Read::HttpErrRate
                | Read::HttpFailCnt
                | Read::HttpFailRate),
                i,
            ) => (r, i),
            _ => return None,
        },
    };
    Some((|| {
        if idx {
            let a = make_args(inner, &[Int, Tab], 2).map_err(invalid)?;
            let t = table_arg(name, 2, a.get(1), true);
            Ok((Conv::Table(t, indexed(read, a[0].int())), SmpType::Int))
        } else {
            let a = make_args(inner, &[Tab], 1).map_err(invalid)?;
            let t = table_arg(name, 1, a.first(), true);
            Ok((Conv::Table(t, read), SmpType::Int))
        }
    })())
}

/// `track-sc<n> <key> [table <name>]` from `words[at]` (the action word): the rule and
/// where its condition starts (and the expression's last word), or haproxy's message
/// (the rule's prefix left to the caller). `tcp`: a `tcp-request` rule, which takes a
/// missing table name as empty.
pub fn track(words: &[String], at: usize, tcp: bool) -> Result<(Track, usize, &str), String> {
    let num = words[at].strip_prefix("track-sc").unwrap_or("");
    // read_uint64 must read it all; an empty number is 0.
    if !num.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("Wrong track-sc number '{num}'"));
    }
    let n = num.bytes().fold(0u64, |v, c| {
        v.wrapping_mul(10).wrapping_add(u64::from(c - b'0'))
    }) as u32;
    if n as usize >= SLOTS {
        return Err(format!(
            "{n} track-sc number exceeding {} (MAX_SESS_STKCTR-1) value",
            SLOTS - 1
        ));
    }
    let (expr, mut next) = super::sample::expr_words(words, at + 1);
    let last = words.get(next.wrapping_sub(1)).map_or("", String::as_str);
    let parsed = super::sample::parse(&expr, None).map_err(|e| match e {
        SampleError::Invalid(m) => m,
        SampleError::Unsupported(m) => format!("\u{0}{m}"),
    })?;
    let mut table = TableRef::new("");
    let named = words.get(next).map(String::as_str) == Some("table");
    if named {
        let name = words.get(next + 1).map_or("", String::as_str);
        if name.is_empty() && !tcp {
            return Err("missing table name".into());
        }
        table = TableRef::new(name);
        next += 2;
    }
    Ok((
        Track {
            slot: n as u8,
            key: parsed.expr,
            key_type: parsed.ty,
            table,
            named,
        },
        next,
        last,
    ))
}

/// What haproxy names the data a fetch reads, in its "none of which is available
/// here" messages.
pub fn source_name(f: &Fetch) -> &'static str {
    use crate::ir::acl::Dir;
    match f {
        Fetch::SslFc
        | Fetch::SslFcAlpn
        | Fetch::SslFcSni
        | Fetch::SslFcProtocol
        | Fetch::SslCUsed
        | Fetch::Tls(_)
        | Fetch::FcErr => "client-side connection",
        f if f.layer6() == Some(Dir::Req) => "request buffer",
        f if f.layer6() == Some(Dir::Res) => "response buffer",
        Fetch::Method
        | Fetch::Path
        | Fetch::Base
        | Fetch::Url
        | Fetch::Query
        | Fetch::ReqVer
        | Fetch::UrlParam(..) => "HTTP request",
        Fetch::BeName => "backend",
        Fetch::Status | Fetch::ResComp | Fetch::ResCompAlgo => "HTTP response",
        Fetch::Hdr(h) | Fetch::HdrCnt(h) if h.dir == Dir::Res => "HTTP response headers",
        _ => "HTTP request headers",
    }
}

/// `sc-inc-gpc0[(<n>)]`, `sc-inc-gpc1[(<n>)]`, `sc-inc-gpc(<idx>,<n>)`,
/// `sc-set-gpt0[(<n>)] <value>`, `sc-set-gpt(<idx>,<n>) <value>` at `words[at]`: the
/// action and the next word, or haproxy's message. None: not one of them.
pub fn sc_action(words: &[String], at: usize) -> Option<Result<(ScAction, usize), SampleError>> {
    let w = words[at].as_str();
    let inv = SampleError::Invalid;
    if let Some(rest) = w.strip_prefix("sc-inc-gpc") {
        let r = (|| {
            let (which, slot) = gp_ids(w, rest, "sc-inc-gpc", "GPC", true)?;
            Ok((ScAction::IncGpc { which, slot }, at + 1))
        })();
        return Some(r.map_err(inv));
    }
    let rest = w.strip_prefix("sc-set-gpt")?;
    let r = (|| {
        let (which, slot) = gp_ids(w, rest, "sc-set-gpt", "GPT", false).map_err(inv)?;
        let v = words.get(at + 1).map_or("", String::as_str);
        let (n, rest) = crate::numbers::strtol(v);
        if rest.is_empty() {
            let value = GptValue::Int(n);
            return Ok((ScAction::SetGpt { which, slot, value }, at + 2));
        }
        let (expr, next) = super::sample::expr_words(words, at + 1);
        let p = super::sample::parse(&expr, None)?;
        let value = GptValue::Expr(p.expr);
        Ok((ScAction::SetGpt { which, slot, value }, next))
    })();
    Some(r)
}

/// The general purpose counter or tag and the counter number of an `sc-inc-gpc*` or
/// `sc-set-gpt*` action word (`rest` follows `base`), with haproxy's messages.
fn gp_ids(word: &str, rest: &str, base: &str, up: &str, inc: bool) -> Result<(Gp, u8), String> {
    let max = SLOTS - 1;
    let low = up.to_ascii_lowercase();
    if let Some(args) = rest.strip_prefix('(') {
        let (idx, tail) = crate::numbers::strtol(args);
        let Some(rest) = tail.strip_prefix(',') else {
            return Err(format!(
                "Missing {low} ID '{word}'. Expects {base}(<{up} ID>,<Track ID>)"
            ));
        };
        let (sc, tail) = crate::numbers::strtol(rest);
        if !tail.starts_with(')') {
            return Err(format!(
                "invalid stick table track ID '{word}'. Expects {base}(<{up} ID>,<Track ID>)"
            ));
        }
        if sc < 0 || sc as usize > max {
            return Err(format!(
                "invalid stick table track ID '{word}'. The max allowed ID is {max}"
            ));
        }
        let idx = u8::try_from(idx).unwrap_or(u8::MAX);
        return Ok((Gp::Idx(idx), sc as u8));
    }
    let which = match rest.as_bytes().first() {
        Some(b'0') => Gp::Zero,
        Some(b'1') if inc => Gp::One,
        _ => {
            return Err(format!(
                "invalid {low} ID '{word}'. Expects {base}(<{up} ID>,<Track ID>)"
            ))
        }
    };
    let tail = &rest[1..];
    if tail.is_empty() {
        return Ok((which, 0));
    }
    // sc-inc-gpc0 names the word only in its "max" message; sc-set-gpt0 in all.
    let bad = |what: &str| {
        if inc {
            format!("invalid stick table track ID. {what}")
        } else {
            format!("invalid stick table track ID '{word}'. {what}")
        }
    };
    // sc-inc-gpc0/1 repeat the word as written; sc-set-gpt0 its own name.
    let shape = if inc {
        format!("Expects {word}(<Track ID>)")
    } else {
        "Expects sc-set-gpt0(<Track ID>)".to_string()
    };
    let Some(args) = tail.strip_prefix('(') else {
        return Err(bad(&shape));
    };
    let (sc, tail) = crate::numbers::strtol(args);
    if !tail.starts_with(')') {
        return Err(bad(&shape));
    }
    if sc < 0 || sc as usize > max {
        return Err(bad(&format!("The max allowed ID is {max}")));
    }
    Ok((which, sc as u8))
}

/// Points every table argument at its table (`tables` by proxy name): haproxy's
/// messages for the ones that name none (where, the proxy, the message).
pub fn bind_refs(
    tables: &[crate::ir::counters::TableDef],
    refs: &[(crate::config::diag::Loc, String, String, PendingTable)],
) -> Vec<(crate::config::diag::Loc, String, String)> {
    let mut errors = Vec::new();
    for (loc, proxy, stmt_kw, p) in refs {
        // haproxy names where the sample was: an ACL, a rule's expression, a log format.
        let ctx = if stmt_kw == "log-format" {
            "log-format string".to_string()
        } else {
            format!("{stmt_kw} expression")
        };
        let place = match (&p.conv_of, p.in_acl == Some(true)) {
            (Some(f), true) => format!("conversion keyword '{}' for ACL keyword '{f}'", p.kw),
            (Some(f), false) => format!(
                "conversion keyword '{}' for sample fetch keyword '{f}' in {ctx}",
                p.kw
            ),
            (None, true) => format!("ACL keyword '{}'", p.kw),
            (None, false) => format!("sample fetch keyword '{}' in {ctx}", p.kw),
        };
        let name = if !p.r.name.is_empty() {
            &*p.r.name
        } else if p.in_defaults {
            let m = format!(
                "table name must be set in arg {} of {place} in proxy '{proxy}'.",
                p.arg
            );
            errors.push((loc.clone(), proxy.clone(), m));
            continue;
        } else {
            proxy.as_str()
        };
        match tables.iter().position(|t| *t.name == *name) {
            Some(i) => {
                let _ = p.r.id.set(i);
            }
            None => errors.push((
                loc.clone(),
                proxy.clone(),
                format!(
                    "unable to find table '{name}' referenced in arg {} of {place} in proxy '{proxy}'.",
                    p.arg
                ),
            )),
        }
    }
    errors
}
