//! Stick tables on the stats socket (management.txt `show table`, `clear table`, `set
//! table`): haproxy 2.6's listing, key and data filters, and their answers word for
//! word (stick_table.c's CLI handlers).

use std::sync::Arc;

use super::stats::Level;
use crate::ir::counters::{DataType, DATA_TYPES};
use crate::ir::StickKey;
use crate::runtime::lb::state::Shared;
use crate::runtime::lb::stick::{Entry, Raw, Table};

/// Which of the three commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `show table`
    Show,
    /// `clear table`
    Clear,
    /// `set table`
    Set,
}

/// At most this many `data.<type> <op> <value>` filters (STKTABLE_FILTER_LEN).
const FILTERS: usize = 4;

/// A data filter: the type, its operator, the value compared with.
type Filter = (DataType, &'static str, i64);

/// Runs `words` (the whole command line, `show table …`).
pub fn command(shared: &Shared, words: &[&str], level: Level, action: Action) -> String {
    // haproxy's argument array: missing words are empty.
    let arg = |i: usize| words.get(i).copied().unwrap_or("");
    let args_error = || {
        match action {
            Action::Show => "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n",
            Action::Clear => "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n",
            Action::Set => "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n",
        }
        .to_string()
            + "\n"
    };
    if arg(2).is_empty() {
        if action != Action::Show {
            return args_error();
        }
        // Every table, the last declared first (haproxy's list order).
        let mut out = String::new();
        for t in shared.tables.iter().rev().filter(|t| t.size() > 0) {
            out.push_str(&head(t));
        }
        return out + "\n";
    }
    let Some(ti) = shared.tables.iter().position(|t| *t.name == *arg(2)) else {
        return "No such table\n\n".into();
    };
    let t = &shared.tables[ti];
    let view = View::of(shared, ti);
    let oper = level >= Level::Operator;
    if arg(3) == "key" {
        return by_key(t, &view, words, oper, action) + "\n";
    }
    let filters = if arg(3).starts_with("data.") {
        if action == Action::Set {
            return "content-based lookup is only supported with the \"show\" and \"clear\" actions\n\n".into();
        }
        match filters(t, &view, words) {
            Ok(f) => f,
            Err(e) => return e + "\n",
        }
    } else if !arg(3).is_empty() {
        return args_error();
    } else {
        Vec::new()
    };
    let keep = |e: &Entry| {
        filters
            .iter()
            .all(|&(ty, op, v)| compare(view.value(e, ty), op, v))
    };
    match action {
        Action::Show => {
            let mut out = head(t);
            if !oper {
                out.push_str("# contents not dumped due to insufficient privileges\n");
            } else {
                for (k, e) in t.sorted() {
                    if keep(&e) {
                        out.push_str(&line(t, &view, &k, &e));
                    }
                }
            }
            out + "\n"
        }
        // `set table <t>` without a key walks the table as `clear` does, and so clears it
        // (haproxy's handler removes every idle entry for any action but show).
        Action::Clear | Action::Set => {
            if oper {
                t.remove_idle(keep);
            }
            "\n".into()
        }
    }
}

/// How a table's entries name servers: the backend whose stick rules use it (haproxy
/// then stores server_id and server_key in it).
struct View<'a> {
    servers: Option<&'a crate::runtime::lb::state::BackendRt>,
}

impl<'a> View<'a> {
    fn of(shared: &'a Shared, ti: usize) -> View<'a> {
        let servers = shared
            .backends
            .iter()
            .find(|b| b.ir.stick_rules.iter().any(|r| r.table == ti));
        View { servers }
    }

    /// Whether `ty` is in the table: stored, or a server column of a stick-rule table.
    fn stores(&self, t: &Table, ty: DataType) -> bool {
        t.shape().stores(ty)
            || (self.servers.is_some() && matches!(ty, DataType::ServerId | DataType::ServerKey))
    }

    /// The server an entry sticks to: its id and name.
    fn server(&self, e: &Entry) -> Option<(u32, &'a str)> {
        let b = self.servers?;
        let s = b.servers.get(e.server()?)?;
        Some((s.ir.id, &s.ir.name))
    }

    /// Element 0 of `ty` as a filter compares it.
    fn value(&self, e: &Entry, ty: DataType) -> i64 {
        if ty == DataType::ServerId && self.servers.is_some() {
            return self.server(e).map_or(0, |(id, _)| i64::from(id));
        }
        e.values()
            .into_iter()
            .find(|v| v.0 == ty && v.1 == 0)
            .map_or(0, |v| shown(ty, v.2))
    }
}

/// A stored value as haproxy's type holds it (server_id signed, counters 32 bits,
/// byte counts 64).
fn shown(ty: DataType, v: u64) -> i64 {
    match ty {
        DataType::ServerId => i64::from(v as i32),
        DataType::BytesInCnt | DataType::BytesOutCnt => v as i64,
        _ => i64::from(v as u32),
    }
}

fn compare(data: i64, op: &str, v: i64) -> bool {
    match op {
        "eq" => data == v,
        "ne" => data != v,
        "le" => data <= v,
        "ge" => data >= v,
        "lt" => data < v,
        _ => data > v,
    }
}

/// strl2llrc: an optional sign and digits, nothing else.
fn integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

fn data_type(name: &str) -> Option<DataType> {
    DATA_TYPES.iter().copied().find(|t| t.name() == name)
}

/// table_prepare_data_request: up to four filters, each `data.<type> <op> <value>`.
fn filters(t: &Table, view: &View, words: &[&str]) -> Result<Vec<Filter>, String> {
    let arg = |i: usize| words.get(i).copied().unwrap_or("");
    let mut out = Vec::new();
    let mut i = 0;
    while i < FILTERS {
        if i > 0 && arg(3 + 3 * i).is_empty() {
            break;
        }
        let n = i + 1;
        // haproxy skips five characters without looking at them after the first.
        let name = arg(3 + 3 * i).get(5..).unwrap_or("");
        let Some(ty) = data_type(name) else {
            return Err(format!("Filter entry #{n}: Unknown data type\n"));
        };
        if !view.stores(t, ty) {
            return Err(format!(
                "Filter entry #{n}: Data type not stored in this table\n"
            ));
        }
        let Some(op) = ["eq", "ne", "le", "ge", "lt", "gt"]
            .into_iter()
            .find(|o| *o == arg(4 + 3 * i))
        else {
            return Err(format!("Filter entry #{n}: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n"));
        };
        let Some(v) = integer(arg(5 + 3 * i)) else {
            return Err(format!(
                "Filter entry #{n}: Require a valid integer value to compare against\n"
            ));
        };
        out.push((ty, op, v));
        i += 1;
    }
    if !arg(3 + 3 * i).is_empty() {
        return Err(format!(
            "Detected extra data in filter, {}th word of input, after '{}'\n",
            3 + 3 * i + 1,
            arg(2 + 3 * i)
        ));
    }
    Ok(out)
}

/// The key of a `key <key>` argument, or haproxy's refusal.
fn parse_key(t: &Table, text: &str, action: Action) -> Result<Box<[u8]>, &'static str> {
    match t.config().key {
        StickKey::Ip => Ok(Box::new(crate::numbers::inetaddr_host(text.as_bytes()).to_be_bytes())),
        StickKey::Ipv6 => text
            .parse::<std::net::Ipv6Addr>()
            .map(|a| Box::new(a.octets()) as Box<[u8]>)
            .map_err(|_| "Invalid key\n"),
        StickKey::Integer => {
            // strtoul: leading blanks, a sign, digits; at most 32 bits.
            let s = text.trim_start();
            let (neg, digits) = match s.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, s.strip_prefix('+').unwrap_or(s)),
            };
            let n = digits.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err("Invalid key\n");
            }
            let v: u64 = digits[..n].parse().map_err(|_| "Invalid key\n")?;
            let v = if neg { v.wrapping_neg() } else { v };
            if v > 0xffff_ffff {
                return Err("Invalid key\n");
            }
            Ok(Box::new((v as u32).to_be_bytes()))
        }
        StickKey::String(_) => t.key(&Raw::Str(text.as_bytes())).ok_or("Invalid key\n"),
        StickKey::Binary(_) => Err(match action {
            Action::Show => "Showing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
            Action::Clear => "Removing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
            Action::Set => "Inserting keys into tables of type other than ip, ipv6, string and integer is not supported\n",
        }),
    }
}

/// table_process_entry_per_key.
fn by_key(t: &Table, view: &View, words: &[&str], oper: bool, action: Action) -> String {
    let arg = |i: usize| words.get(i).copied().unwrap_or("");
    if arg(4).is_empty() {
        return "Key value expected\n".into();
    }
    let key = match parse_key(t, arg(4), action) {
        Ok(k) => k,
        Err(e) => return e.into(),
    };
    if !oper {
        return "Permission denied\n".into();
    }
    match action {
        Action::Show => match t.find(&key) {
            Some(e) => head(t) + &line(t, view, &key, &e),
            None => String::new(),
        },
        Action::Clear if !t.remove(&key) => "Entry currently in use, cannot remove\n".into(),
        Action::Clear => String::new(),
        Action::Set => {
            let Some(e) = t.get(&key) else {
                return "Unable to allocate a new entry\n".into();
            };
            let out = set_pairs(t, view, &e, &words[5.min(words.len())..]);
            e.touch();
            out
        }
    }
}

/// `data.<type> <value>` pairs of `set table`, applied until one is wrong.
fn set_pairs(t: &Table, view: &View, e: &Arc<Entry>, pairs: &[&str]) -> String {
    for pair in pairs.chunks(2) {
        let Some(name) = pair[0].strip_prefix("data.") else {
            return "\"data.<type>\" followed by a value expected\n".into();
        };
        let Some(ty) = data_type(name) else {
            return "Unknown data type\n".into();
        };
        if !view.stores(t, ty) {
            return "Data type not stored in this table\n".into();
        }
        let Some(v) = pair.get(1).and_then(|v| integer(v)) else {
            return "Require a valid integer value to store\n".into();
        };
        match ty {
            DataType::ServerId if view.servers.is_some() => {
                let b = view.servers.expect("checked");
                e.set_server(b.servers.iter().position(|s| i64::from(s.ir.id) == v));
            }
            // A dictionary entry: haproxy sets nothing.
            DataType::ServerKey => {}
            _ => {
                e.set(ty, v);
            }
        }
    }
    String::new()
}

/// `# table: <name>, type: <type>, size:<n>, used:<n>`.
fn head(t: &Table) -> String {
    let ty = match t.config().key {
        StickKey::Ip => "ip",
        StickKey::Ipv6 => "ipv6",
        StickKey::Integer => "integer",
        StickKey::String(_) => "string",
        StickKey::Binary(_) => "binary",
    };
    format!(
        "# table: {}, type: {ty}, size:{}, used:{}\n",
        t.name,
        t.size(),
        t.live()
    )
}

/// dump_text: printable ASCII as is, blanks and '\\' '=' escaped, the rest in hex.
fn text(out: &mut String, bytes: &[u8]) {
    for &c in bytes.iter().take_while(|&&c| c != 0) {
        match c {
            b' ' | b'\\' | b'=' => {
                out.push('\\');
                out.push(c as char);
            }
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0x1b => out.push_str("\\e"),
            0x21..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02X}")),
        }
    }
}

/// One entry: its address, key, trackers, expiry and data (table_dump_entry_to_buffer).
fn line(t: &Table, view: &View, key: &[u8], e: &Arc<Entry>) -> String {
    let mut out = format!("{:p}: key=", Arc::as_ptr(e));
    match t.config().key {
        StickKey::Ip => {
            let b: [u8; 4] = key.try_into().unwrap_or([0; 4]);
            out.push_str(&std::net::Ipv4Addr::from(b).to_string());
        }
        StickKey::Ipv6 => {
            let b: [u8; 16] = key.try_into().unwrap_or([0; 16]);
            out.push_str(&std::net::Ipv6Addr::from(b).to_string());
        }
        StickKey::Integer => {
            let b: [u8; 4] = key.try_into().unwrap_or([0; 4]);
            out.push_str(&u32::from_be_bytes(b).to_string());
        }
        StickKey::String(_) => text(&mut out, key),
        StickKey::Binary(_) => {
            for c in key {
                out.push_str(&format!("{c:02X}"));
            }
        }
    }
    // The table's own reference and this listing's are not trackers.
    let refs = Arc::strong_count(e).saturating_sub(2);
    out.push_str(&format!(" use={refs} exp={}", e.expires_in()));
    let values = e.values();
    for &ty in DATA_TYPES {
        if view.servers.is_some() && ty == DataType::ServerId {
            let id = view.server(e).map_or(0, |(id, _)| id);
            out.push_str(&format!(" server_id={id}"));
            continue;
        }
        if view.servers.is_some() && ty == DataType::ServerKey {
            let keyed = e.server_keyed().1;
            let name = view.server(e).filter(|_| keyed).map_or("-", |(_, n)| n);
            out.push_str(&format!(" server_key={name}"));
            continue;
        }
        let array = matches!(ty, DataType::Gpt | DataType::Gpc | DataType::GpcRate);
        for &(vt, idx, v, period) in values.iter().filter(|v| v.0 == ty) {
            let name = ty.name();
            let name = if array {
                match name.split_once('_') {
                    Some((p, s)) => format!("{p}{idx}_{s}"),
                    None => format!("{name}{idx}"),
                }
            } else {
                name.to_string()
            };
            let arg = if vt.is_rate() {
                format!("({period})")
            } else {
                String::new()
            };
            out.push_str(&format!(" {name}{arg}={}", shown(vt, v)));
        }
    }
    out + "\n"
}
