//! ACLs and conditions (configuration.txt §7.1, §7.2): `acl <name> <criterion> [flags]
//! [operator] <value> …` lines, the ACL keywords that name a fetch and a matching method
//! together (`path_beg`, `hdr_dom`, …), haproxy's predefined ACLs, and `if|unless`
//! conditions made of named and anonymous (`{ … }`) ACLs, as acl.c parses them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::sample::{self, castable, SampleError};
use crate::ir::acl::{AclTest, Cond, IntRange, IpNet, MatchKind, Patterns, Regex, SmpType, Term};

/// A named ACL of a proxy: every line with that name, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedAcl {
    /// Its name.
    pub name: String,
    /// Its tests, shared with the conditions that use it.
    pub tests: Arc<[AclTest]>,
}

/// Why an ACL or a condition was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AclError {
    /// haproxy refuses it too: its message.
    Invalid(String),
    /// haproxy accepts it; haproxide does not evaluate it: what to name.
    Unsupported(String),
}

impl From<SampleError> for AclError {
    fn from(e: SampleError) -> Self {
        match e {
            SampleError::Invalid(m) => AclError::Invalid(m),
            SampleError::Unsupported(m) => AclError::Unsupported(m),
        }
    }
}

/// The ACL keywords (acl.c, http_acl.c, payload.c, ssl_sample.c): the fetch each one
/// reads and its matching method; true when its integers are dotted versions.
fn acl_keyword(name: &str) -> Option<(&'static str, MatchKind, bool)> {
    const SUFFIXES: [(&str, MatchKind); 8] = [
        ("", MatchKind::Str),
        ("_beg", MatchKind::Beg),
        ("_dir", MatchKind::Dir),
        ("_dom", MatchKind::Dom),
        ("_end", MatchKind::End),
        ("_len", MatchKind::Len),
        ("_reg", MatchKind::Reg),
        ("_sub", MatchKind::Sub),
    ];
    const BASES: [(&str, &str); 8] = [
        ("base", "base"),
        ("cook", "req.cook"),
        ("hdr", "req.hdr"),
        ("path", "path"),
        ("url", "url"),
        ("urlp", "urlp"),
        ("scook", "res.cook"),
        ("shdr", "res.hdr"),
    ];
    for (b, fetch) in BASES {
        if let Some(rest) = name.strip_prefix(b) {
            if let Some((_, k)) = SUFFIXES.iter().find(|(s, _)| *s == rest) {
                return Some((fetch, *k, false));
            }
        }
    }
    Some(match name {
        "method" => ("method", MatchKind::Meth, false),
        "http_auth_group" => ("http_auth_group", MatchKind::AuthGroup, false),
        "req_ver" => ("req.ver", MatchKind::Str, false),
        "resp_ver" => ("res.ver", MatchKind::Str, false),
        "payload" => ("req.payload", MatchKind::Bin, false),
        "payload_lv" => ("req.payload_lv", MatchKind::Bin, false),
        "req_rdp_cookie" => ("req.rdp_cookie", MatchKind::Str, false),
        "req_rdp_cookie_cnt" => ("req.rdp_cookie_cnt", MatchKind::Int, false),
        "req_ssl_sni" => ("req.ssl_sni", MatchKind::Str, false),
        "req_ssl_ver" | "req.ssl_ver" => ("req.ssl_ver", MatchKind::Int, true),
        "ssl_fc_sni_end" => ("ssl_fc_sni", MatchKind::End, false),
        "ssl_fc_sni_reg" => ("ssl_fc_sni", MatchKind::Reg, false),
        _ => return None,
    })
}

/// The matching method a `-m` names.
fn match_name(n: &str) -> Option<MatchKind> {
    Some(match n {
        "found" => MatchKind::Found,
        "bool" => MatchKind::Bool,
        "int" => MatchKind::Int,
        "ip" => MatchKind::Ip,
        "bin" => MatchKind::Bin,
        "len" => MatchKind::Len,
        "str" => MatchKind::Str,
        "sub" => MatchKind::Sub,
        "reg" => MatchKind::Reg,
        "beg" => MatchKind::Beg,
        "end" => MatchKind::End,
        "dom" => MatchKind::Dom,
        "dir" => MatchKind::Dir,
        _ => return None,
    })
}

/// The sample type a matching method reads (haproxy's `pat_match_types`).
fn match_type(k: MatchKind) -> SmpType {
    match k {
        MatchKind::Found | MatchKind::Bool => SmpType::Bool,
        MatchKind::Int => SmpType::Int,
        MatchKind::Ip => SmpType::Ip,
        MatchKind::Bin => SmpType::Bin,
        MatchKind::Meth => SmpType::Meth,
        _ => SmpType::Str,
    }
}

/// The method a sample type is matched with when none is named.
fn default_match(t: SmpType) -> MatchKind {
    match t {
        SmpType::Bool => MatchKind::Bool,
        SmpType::Int => MatchKind::Int,
        SmpType::Ip => MatchKind::Ip,
        // `Any` cannot go without `-m` (checked once the flags are read).
        SmpType::Str | SmpType::Meth | SmpType::Any => MatchKind::Str,
        SmpType::Bin => MatchKind::Bin,
    }
}

/// haproxy's message for a fetch of no fixed type (`var`) without `-m`.
fn needs_m(kw: &str) -> String {
    format!("matching method must be specified first (using '-m') when using a sample fetch of this type ('{kw}')")
}

/// The warning haproxy prints for an ACL without patterns that needs some.
pub fn no_pattern_warning(kw: &str) -> String {
    format!(
        "parsing acl keyword '{kw}' :\n  no pattern to match against were provided, so this ACL will never match.\n  If this is what you intended, please add '--' to get rid of this warning.\n  If you intended to match only for existence, please use '-m found'.\n  If you wanted to force an int to match as a bool, please use '-m bool'.\n"
    )
}

/// What parsing one ACL expression gives: the test and the warnings to print.
pub struct ParsedTest {
    /// The test.
    pub test: AclTest,
    /// Warnings (without position: haproxy prints them so).
    pub warnings: Vec<String>,
}

/// Reads `-f` pattern files as haproxy does: one pattern per line, blanks around it
/// dropped, empty lines and `#` comments skipped.
fn read_pattern_file(path: &str) -> Result<Vec<String>, AclError> {
    let text = std::fs::read(path)
        .map_err(|_| AclError::Invalid(format!("failed to open pattern file <{path}>")))?;
    Ok(text
        .split(|&c| c == b'\n')
        .map(|l| {
            String::from_utf8_lossy(l)
                .trim_matches([' ', '\t', '\r'])
                .to_string()
        })
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

/// The last line of a regex crate error, the part that says what is wrong.
pub(crate) fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .last()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string()
}

/// `parse_acl_expr`: `words[0]` is the criterion, then flags and patterns.
pub fn parse_test(words: &[String]) -> Result<ParsedTest, AclError> {
    let first = words.first().map(String::as_str).unwrap_or("");
    let kw_name = &first[..first.find([',', '(']).unwrap_or(first.len())];
    let aclkw = acl_keyword(kw_name);
    // A fetch's expression goes on in the next word after a trailing comma; an ACL
    // keyword's does not (haproxy parses its converters itself).
    let (crit, next) = match aclkw {
        Some(_) => (first.to_string(), 1),
        None => sample::expr_words(words, 0),
    };
    let words = &words[next.saturating_sub(1).min(words.len())..];
    let crit = crit.as_str();
    let after = &crit[kw_name.len()..];
    let parsed = match aclkw {
        Some((fetch, _, _)) => sample::parse(crit, Some(fetch)).map_err(|e| match e {
            // haproxy ends its converter messages with a period of their own.
            SampleError::Invalid(m)
                if m.starts_with("unknown converter") || m.contains("converter '") =>
            {
                AclError::Invalid(format!("ACL keyword '{kw_name}' : {m}."))
            }
            SampleError::Invalid(m) => AclError::Invalid(format!("ACL keyword '{kw_name}' : {m}")),
            SampleError::Unsupported(m) => AclError::Unsupported(m),
        })?,
        None => sample::parse(crit, None).map_err(|e| match e {
            SampleError::Invalid(m) => AclError::Invalid(format!("{m} in ACL expression '{crit}'")),
            SampleError::Unsupported(m) => AclError::Unsupported(m),
        })?,
    };
    sample::mark_userlist_refs(true);
    let has_convs = after.contains(',') && !parsed.expr.convs.is_empty();
    let (mut kind, dotted) = match aclkw {
        Some((_, k, d)) if !has_convs => (k, d),
        _ => (default_match(parsed.ty), false),
    };
    let mut warnings = Vec::new();
    if parsed.ty != SmpType::Bool && words.len() < 2 {
        warnings.push(no_pattern_warning(crit));
    }
    let mut icase = false;
    let mut texts: Vec<String> = Vec::new();
    let mut loaded = false;
    let mut explicit = false;
    let mut i = 1;
    while i < words.len() && words[i].starts_with('-') {
        match words[i].as_str() {
            "-i" => icase = true,
            "-n" => {}
            "-u" => {
                let v = words.get(i + 1).map(String::as_str).unwrap_or("");
                if v.parse::<i64>().is_err() {
                    return Err(AclError::Invalid("the argument of -u must be an integer".into()));
                }
                i += 1;
            }
            "-f" => {
                if parsed.ty == SmpType::Any && !explicit {
                    return Err(AclError::Invalid(needs_m(kw_name)));
                }
                let f = words.get(i + 1).map(String::as_str).unwrap_or("");
                texts.extend(read_pattern_file(f)?);
                loaded = true;
                i += 1;
            }
            "-m" => {
                if loaded {
                    return Err(AclError::Invalid("'-m' must only be specified before patterns and files in parsing ACL expression".into()));
                }
                let m = words.get(i + 1).map(String::as_str).unwrap_or("");
                let Some(k) = match_name(m) else {
                    return Err(AclError::Invalid(format!(
                        "unknown matching method '{m}' when parsing ACL expression"
                    )));
                };
                if k != MatchKind::Found && !castable(parsed.ty, match_type(k)) {
                    return Err(AclError::Invalid(format!(
                        "matching method '{m}' cannot be used with fetch keyword '{kw_name}'"
                    )));
                }
                kind = k;
                explicit = true;
                i += 1;
            }
            "-M" => return Err(AclError::Unsupported("ACL flag '-M'".into())),
            "--" => {
                i += 1;
                break;
            }
            w => {
                return Err(AclError::Invalid(format!(
                    "'{w}' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'"
                )))
            }
        }
        i += 1;
    }
    if parsed.ty == SmpType::Any && !explicit {
        return Err(AclError::Invalid(needs_m(kw_name)));
    }
    let dotted = dotted && kind == MatchKind::Int;
    let patterns = patterns(kind, icase, dotted, &texts, &words[i.min(words.len())..])?;
    if kw_name == "http_auth_group" {
        if let Patterns::Strs(groups) = &patterns {
            sample::note_userlist_groups(groups);
        }
    }
    Ok(ParsedTest {
        test: AclTest {
            kw: kw_name.into(),
            expr: parsed.expr,
            kind,
            icase,
            patterns,
        },
        warnings,
    })
}

/// The comparison operators of integer patterns.
#[derive(Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

fn op(w: &str) -> Option<Op> {
    Some(match w {
        "eq" => Op::Eq,
        "gt" => Op::Gt,
        "ge" => Op::Ge,
        "lt" => Op::Lt,
        "le" => Op::Le,
        _ => return None,
    })
}

/// haproxy's `strl2llrc`: an optionally signed decimal, nothing else.
fn strict_int(s: &str) -> Option<i64> {
    let d = s.strip_prefix(['-', '+']).unwrap_or(s);
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A dotted version `M[.m]` as (M << 16) | m.
fn dotted_int(s: &str) -> Option<i64> {
    let (maj, min) = s.split_once('.').unwrap_or((s, "0"));
    let (a, b) = (strict_int(maj)?, strict_int(min)?);
    Some((a << 16) | (b & 0xffff))
}

/// One integer pattern (`pat_parse_int`, `pat_parse_dotted_ver`).
pub(super) fn int_range(t: &str, dotted: bool) -> Result<IntRange, String> {
    let num = |s: &str| if dotted { dotted_int(s) } else { strict_int(s) };
    let bad = || {
        if dotted {
            format!("'{t}' is not a valid dotted number range")
        } else {
            format!("'{t}' is not a valid number range")
        }
    };
    if t.is_empty() {
        return Err(bad());
    }
    let Some(sep) = t.find([':', '-']) else {
        return num(t)
            .map(|v| IntRange {
                min: Some(v),
                max: Some(v),
            })
            .ok_or_else(|| {
                if dotted {
                    format!("'{t}' is not a dotted number")
                } else {
                    format!("'{t}' is not a number")
                }
            });
    };
    let (a, b) = (&t[..sep], &t[sep + 1..]);
    if a.is_empty() && !b.is_empty() {
        return num(b)
            .map(|v| IntRange {
                min: None,
                max: Some(v),
            })
            .ok_or_else(bad);
    }
    if b.is_empty() {
        return num(a)
            .map(|v| IntRange {
                min: Some(v),
                max: None,
            })
            .ok_or_else(bad);
    }
    let (lo, hi) = (num(a).ok_or_else(bad)?, num(b).ok_or_else(bad)?);
    if lo > hi {
        return Err(bad());
    }
    Ok(IntRange {
        min: Some(lo),
        max: Some(hi),
    })
}

/// Integer patterns with haproxy's `eq|gt|ge|lt|le` operator words.
fn int_patterns(words: &[String], dotted: bool) -> Result<Vec<IntRange>, String> {
    let mut cur = Op::Eq;
    let mut out = Vec::new();
    for w in words {
        if let Some(o) = op(w) {
            cur = o;
            continue;
        }
        if cur == Op::Eq || w.contains([':', '-']) {
            out.push(int_range(w, dotted)?);
            continue;
        }
        let nan = || format!("'{w}' is neither a number nor a supported operator");
        let v = if dotted {
            let (maj, min) = w.split_once('.').unwrap_or((w, "0"));
            let min = strict_int(min).ok_or_else(nan)?;
            if min >= 65536 {
                return Err(format!("'{w}' contains too large a minor value"));
            }
            let maj = strict_int(maj).ok_or_else(nan)?;
            if maj >= 65536 {
                return Err(format!("'{w}' contains too large a major value"));
            }
            (maj << 16) | min
        } else {
            strict_int(w).ok_or_else(nan)?
        };
        out.push(match cur {
            Op::Gt => IntRange {
                min: Some(v + 1),
                max: None,
            },
            Op::Ge => IntRange {
                min: Some(v),
                max: None,
            },
            Op::Lt => IntRange {
                min: None,
                max: Some(v - 1),
            },
            Op::Le | Op::Eq => IntRange {
                min: None,
                max: Some(v),
            },
        });
    }
    Ok(out)
}

/// An address pattern (`str2net`, `str62net`): IPv4 with a prefix length or a dotted
/// mask, or IPv6 with a prefix length. Host names are not resolved (no DNS here).
pub fn ip_net(t: &str) -> Option<IpNet> {
    let (a, m) = match t.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (t, None),
    };
    if let Ok(v4) = a.parse::<Ipv4Addr>() {
        let bits = match m {
            None => 32,
            Some(m) => match m.parse::<u8>() {
                Ok(b) if b <= 32 => b,
                Ok(_) => return None,
                Err(_) => {
                    let mask = u32::from(m.parse::<Ipv4Addr>().ok()?);
                    if mask.leading_ones() + mask.trailing_zeros() != 32 {
                        return None;
                    }
                    mask.leading_ones() as u8
                }
            },
        };
        let mask = (!0u32).checked_shl(32 - u32::from(bits)).unwrap_or(0);
        return Some(IpNet {
            addr: IpAddr::V4((u32::from(v4) & mask).into()),
            bits,
        });
    }
    let v6 = a.parse::<Ipv6Addr>().ok()?;
    let bits = match m {
        None => 128,
        Some(m) => m.parse::<u8>().ok().filter(|b| *b <= 128)?,
    };
    let mask = (!0u128).checked_shl(128 - u32::from(bits)).unwrap_or(0);
    Some(IpNet {
        addr: IpAddr::V6((u128::from(v6) & mask).into()),
        bits,
    })
}

/// A `-m bin` pattern: hex digits, two per byte.
fn hex_pattern(t: &str) -> Result<Box<[u8]>, String> {
    if let Some(c) = t.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("an hex digit is expected (found '{c}')"));
    }
    if t.len() % 2 != 0 {
        return Err("an even number of hex digit is expected".into());
    }
    Ok((0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).unwrap_or(0))
        .collect())
}

/// Parses the patterns (`texts` from files first, then `words`) for `kind`.
fn patterns(
    kind: MatchKind,
    icase: bool,
    dotted: bool,
    texts: &[String],
    words: &[String],
) -> Result<Patterns, AclError> {
    let all: Vec<String> = texts.iter().chain(words).cloned().collect();
    let inv = AclError::Invalid;
    Ok(match kind {
        MatchKind::Found | MatchKind::Bool => Patterns::None,
        MatchKind::Int | MatchKind::Len => Patterns::Ints(int_patterns(&all, dotted).map_err(inv)?),
        MatchKind::Ip => Patterns::Nets(
            all.iter()
                .map(|t| {
                    ip_net(t).ok_or_else(|| {
                        AclError::Invalid(format!("'{t}' is not a valid IPv4 or IPv6 address"))
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        MatchKind::Bin => Patterns::Strs(
            all.iter()
                .map(|t| hex_pattern(t))
                .collect::<Result<_, _>>()
                .map_err(inv)?,
        ),
        MatchKind::Reg => Patterns::Regs(
            all.iter()
                .map(|t| {
                    regex::bytes::RegexBuilder::new(t)
                        .case_insensitive(icase)
                        .unicode(false)
                        .build()
                        .map(|r| Regex(Arc::new(r)))
                        .map_err(|e| {
                            let why = regex_error(&e);
                            AclError::Invalid(format!("regex '{t}' is invalid (error={why})"))
                        })
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => Patterns::Strs(all.iter().map(|t| t.as_bytes().into()).collect()),
    })
}

/// haproxy's predefined ACLs (`default_acl_list`): the words of each one's expression.
fn predefined(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "TRUE" => &["always_true"],
        "FALSE" => &["always_false"],
        "LOCALHOST" => &["src", "127.0.0.1/8", "::1"],
        "HTTP" => &["req.proto_http"],
        "HTTP_1.0" => &["req.ver", "1.0"],
        "HTTP_1.1" => &["req.ver", "1.1"],
        "HTTP_2.0" => &["req.ver", "2.0"],
        "METH_CONNECT" => &["method", "CONNECT"],
        "METH_DELETE" => &["method", "DELETE"],
        "METH_GET" => &["method", "GET", "HEAD"],
        "METH_HEAD" => &["method", "HEAD"],
        "METH_OPTIONS" => &["method", "OPTIONS"],
        "METH_POST" => &["method", "POST"],
        "METH_PUT" => &["method", "PUT"],
        "METH_TRACE" => &["method", "TRACE"],
        "HTTP_URL_ABS" => &["url_reg", "^[^/:]*://"],
        "HTTP_URL_SLASH" => &["url_beg", "/"],
        "HTTP_URL_STAR" => &["url", "*"],
        "HTTP_CONTENT" => &["req.hdr_val(content-length)", "gt", "0"],
        "RDP_COOKIE" => &["req.rdp_cookie_cnt", "gt", "0"],
        "REQ_CONTENT" => &["req.len", "gt", "0"],
        "WAIT_END" => &["wait_end"],
        _ => return None,
    })
}

/// haproxy's `invalid_char` for names: the first character not alphanumeric nor one of
/// `. - _ :`.
pub fn invalid_name_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
}

/// `acl <name> <criterion> …` added to `acls`: the warnings to print, or the message.
pub fn add_acl(acls: &mut Vec<NamedAcl>, words: &[String]) -> Result<Vec<String>, AclError> {
    let name = words.first().map(String::as_str).unwrap_or("");
    let p = parse_test(&words[1.min(words.len())..])?;
    match acls.iter_mut().find(|a| a.name == name) {
        Some(a) => {
            let mut v = a.tests.to_vec();
            v.push(p.test);
            a.tests = v.into();
        }
        None => acls.push(NamedAcl {
            name: name.to_string(),
            tests: Arc::from(vec![p.test]),
        }),
    }
    Ok(p.warnings)
}

/// A parsed condition and the warnings its anonymous ACLs gave.
pub struct ParsedCond {
    /// The condition.
    pub cond: Cond,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// `build_acl_cond`: `words[0]` is `if` or `unless`. Named ACLs are looked up in `acls`;
/// a predefined one used for the first time is added there, as haproxy does.
pub fn parse_cond(acls: &mut Vec<NamedAcl>, words: &[String]) -> Result<ParsedCond, AclError> {
    let unless = match words.first().map(String::as_str) {
        Some("if") => false,
        Some("unless") => true,
        _ => {
            return Err(AclError::Invalid(
                "conditions must start with either 'if' or 'unless'".into(),
            ))
        }
    };
    let mut suites: Vec<Vec<Term>> = Vec::new();
    let mut cur: Option<Vec<Term>> = None;
    let mut warnings = Vec::new();
    let mut neg = false;
    let mut i = 1;
    while i < words.len() {
        let mut w = words[i].as_str();
        while let Some(r) = w.strip_prefix('!') {
            neg = !neg;
            w = r;
        }
        if w.is_empty() {
            i += 1;
            continue;
        }
        if w.eq_ignore_ascii_case("or") || w == "||" {
            if let Some(s) = cur.take() {
                suites.push(s);
            }
            neg = false;
            i += 1;
            continue;
        }
        let tests = if w == "{" {
            let Some(end) = words[i + 1..].iter().position(|x| x == "}") else {
                return Err(AclError::Invalid("missing closing '}' in condition".into()));
            };
            let inner = &words[i + 1..i + 1 + end];
            let p = parse_test(inner)?;
            warnings.extend(p.warnings);
            i += end + 1;
            Arc::from(vec![p.test])
        } else if let Some(a) = acls.iter().find(|a| a.name == w) {
            a.tests.clone()
        } else if let Some(expr) = predefined(w) {
            let words: Vec<String> = expr.iter().map(|s| s.to_string()).collect();
            let p = parse_test(&words)?;
            let tests: Arc<[AclTest]> = Arc::from(vec![p.test]);
            acls.push(NamedAcl {
                name: w.to_string(),
                tests: tests.clone(),
            });
            tests
        } else {
            return Err(AclError::Invalid(format!("no such ACL : '{w}'")));
        };
        cur.get_or_insert_with(Vec::new).push(Term { neg, tests });
        neg = false;
        i += 1;
    }
    if let Some(s) = cur {
        suites.push(s);
    }
    Ok(ParsedCond {
        cond: Cond { unless, suites },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn tests_parse_as_haproxy_reads_them() {
        let t = parse_test(&w("path_beg -i /a /b")).ok().unwrap().test;
        assert_eq!(t.kind, MatchKind::Beg);
        assert!(t.icase);
        let t = parse_test(&w("src 10.0.0.0/255.0.0.0 ::1"))
            .ok()
            .unwrap()
            .test;
        assert_eq!(t.kind, MatchKind::Ip);
        let Patterns::Nets(n) = t.patterns else {
            panic!()
        };
        assert_eq!(n[0].bits, 8);
        let t = parse_test(&w("dst_port 80:90 ge 3 lt 2"))
            .ok()
            .unwrap()
            .test;
        assert_eq!(
            t.patterns,
            Patterns::Ints(vec![
                IntRange {
                    min: Some(80),
                    max: Some(90)
                },
                IntRange {
                    min: Some(3),
                    max: None
                },
                IntRange {
                    min: None,
                    max: Some(1)
                },
            ])
        );
        let t = parse_test(&w("req.ssl_ver 3.1")).ok().unwrap().test;
        assert_eq!(
            t.patterns,
            Patterns::Ints(vec![IntRange {
                min: Some(0x30001),
                max: Some(0x30001)
            }])
        );
        assert_eq!(
            parse_test(&w("dst_port ge:3")).err(),
            Some(AclError::Invalid(
                "'ge:3' is not a valid number range".into()
            ))
        );
        assert_eq!(
            parse_test(&w("src 1.2.3.4.5")).err(),
            Some(AclError::Invalid(
                "'1.2.3.4.5' is not a valid IPv4 or IPv6 address".into()
            ))
        );
        assert_eq!(
            parse_test(&w("payload(0,2) zz")).err(),
            Some(AclError::Invalid(
                "an hex digit is expected (found 'z')".into()
            ))
        );
        assert_eq!(
            parse_test(&w("nosuch 1")).err(),
            Some(AclError::Invalid(
                "unknown fetch method 'nosuch' in ACL expression 'nosuch'".into()
            ))
        );
        assert_eq!(
            parse_test(&w("path,foo x")).err(),
            Some(AclError::Invalid(
                "ACL keyword 'path' : unknown converter 'foo'.".into()
            ))
        );
        assert!(parse_test(&w("path_beg")).ok().unwrap().warnings.len() == 1);
    }

    #[test]
    fn conditions() {
        let mut acls = Vec::new();
        add_acl(&mut acls, &w("a src 1.2.3.4")).ok().unwrap();
        let c = parse_cond(&mut acls, &w("if a !{ path_beg /x } || !TRUE"))
            .ok()
            .unwrap()
            .cond;
        assert_eq!(c.suites.len(), 2);
        assert!(c.suites[0][1].neg && c.suites[1][0].neg);
        assert_eq!(acls.len(), 2, "TRUE joined the proxy's ACLs");
        assert_eq!(
            parse_cond(&mut acls, &w("if a b")).err(),
            Some(AclError::Invalid("no such ACL : 'b'".into()))
        );
        assert_eq!(
            parse_cond(&mut acls, &w("if { src 1.2.3.4")).err(),
            Some(AclError::Invalid("missing closing '}' in condition".into()))
        );
        assert!(parse_cond(&mut acls, &w("if"))
            .ok()
            .unwrap()
            .cond
            .suites
            .is_empty());
    }
}
