//! Log-format values of rules (`set-header` values, redirect targets, `return`
//! payloads): text, `%%`, `%[expr]` and the address variables, with haproxy's messages,
//! and the check that a rule's fetches read what its side of the transaction has.

use super::sample::{self, SampleError};
use crate::ir::acl::{self as acl_ir, Fetch};
use crate::ir::http_rules::{FmtPart, Format};

/// A log-format value (`set-header` values, redirect targets): text, `%%`, `%[expr]`
/// and the address variables; other variables haproxy knows are refused by name.
pub fn parse_format(s: &str) -> Result<Format, SampleError> {
    parse_format_on(s, None)
}

/// What a fetch needs that the side a rule runs on (`response`: http-response) does
/// not have, named as haproxy names it.
pub(crate) fn unavailable(f: &Fetch, response: bool) -> Option<&'static str> {
    if response {
        return f.needs_request().then_some("HTTP request headers");
    }
    match f {
        Fetch::Status | Fetch::ResComp | Fetch::ResCompAlgo => Some("HTTP response"),
        Fetch::ResLen | Fetch::ResPayload(_) => Some("response buffer"),
        Fetch::Hdr(h) | Fetch::HdrCnt(h) if h.dir == acl_ir::Dir::Res => {
            Some("HTTP response headers")
        }
        _ => None,
    }
}

/// [`parse_format`] for a rule on one side of the transaction (`Some(true)`: the
/// response): a fetch of what that side does not have is refused as haproxy does.
pub(crate) fn parse_format_on(s: &str, response: Option<bool>) -> Result<Format, SampleError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut text = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            text.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'%') => {
                text.push(b'%');
                i += 2;
                continue;
            }
            Some(b'{') => {
                return Err(SampleError::Unsupported(format!(
                    "format flags '%{{…}}' in '{s}'"
                )))
            }
            Some(b'[') => {
                let start = i + 2;
                let end = sample_end(&b[start..]).map(|n| start + n);
                let Some(end) = end else {
                    let expr = &s[start..];
                    return Err(SampleError::Invalid(format!("missing ']' after '{expr}'")));
                };
                let p = format_expr(&s[start..end], &s[start..])?;
                if let Some(need) = response.and_then(|r| unavailable(&p.expr.fetch, r)) {
                    let rest = &s[start..];
                    return Err(SampleError::Invalid(format!("sample fetch <{rest}> may not be reliably used here because it needs '{need}' which is not available here")));
                }
                if !text.is_empty() {
                    out.push(FmtPart::Text(std::mem::take(&mut text).into()));
                }
                out.push(FmtPart::Sample(p.expr));
                i = end + 1;
                continue;
            }
            Some(c) if c.is_ascii_alphabetic() => {}
            // Any other character: the '%' is dropped, the character is text.
            _ => {
                i += 1;
                continue;
            }
        }
        let start = i + 1;
        let mut j = start;
        while j < b.len() && b[j].is_ascii_alphanumeric() {
            j += 1;
        }
        let name = &s[start..j];
        let part = match name {
            "ci" => FmtPart::ClientIp,
            "cp" => FmtPart::ClientPort,
            "fi" => FmtPart::FrontendIp,
            "fp" => FmtPart::FrontendPort,
            "f" => FmtPart::Frontend,
            n if super::log_format::is_variable(n) => {
                return Err(SampleError::Unsupported(format!(
                    "format variable '%{n}' in a rule"
                )))
            }
            n => {
                return Err(SampleError::Invalid(format!("no such format variable '{n}'. If you wanted to emit the '%' character verbatim, you need to use '%%'")))
            }
        };
        if !text.is_empty() {
            out.push(FmtPart::Text(std::mem::take(&mut text).into()));
        }
        out.push(part);
        i = j;
    }
    if !text.is_empty() {
        out.push(FmtPart::Text(text.into()));
    }
    Ok(out)
}

/// The sample expression `expr` of a `%[…]`, `rest` being the format from after `[`
/// (which haproxy quotes in its messages).
pub(crate) fn format_expr(expr: &str, rest: &str) -> Result<sample::Parsed, SampleError> {
    // A comma before the closing ']' names an empty converter here (a rule's expression
    // would go on in its next word instead).
    if expr.ends_with(',') {
        return Err(SampleError::Invalid(format!(
            "failed to parse sample expression <{rest}> : unknown converter ''"
        )));
    }
    let p = sample::parse(expr, None);
    sample::mark_userlist_refs(false);
    p.map_err(|e| match e {
        SampleError::Invalid(m) => SampleError::Invalid(format!(
            "failed to parse sample expression <{rest}> : {}",
            // Only a fetch's messages lose their "fetch method" prefix.
            m.strip_prefix("fetch method '")
                .and_then(|r| r.split_once("' : "))
                .map_or(m.as_str(), |(_, r)| r)
        )),
        e => e,
    })
}

/// Where a `%[` expression ends: the first ']' outside parentheses and quotes.
fn sample_end(b: &[u8]) -> Option<usize> {
    let mut depth = 0i32;
    let mut quote = None;
    for (i, &c) in b.iter().enumerate() {
        match (c, quote) {
            (q @ (b'\'' | b'"'), None) => quote = Some(q),
            (q, Some(o)) if q == o => quote = None,
            (b'(', None) => depth += 1,
            (b')', None) => depth -= 1,
            (b']', None) if depth <= 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// A `use_backend` name: a backend's name, or a log-format string naming one when the
/// rule runs (haproxy keeps a format of one text node as a plain name, `%%` read).
pub enum BackendName {
    /// A name known at load.
    Static(String),
    /// Rendered per session.
    Dynamic(Format),
}

/// Reads a `use_backend` argument as haproxy's check_config_validity does.
pub fn backend_name(name: &str) -> Result<BackendName, SampleError> {
    if !name.contains('%') {
        return Ok(BackendName::Static(name.to_string()));
    }
    let f = parse_format(name)?;
    Ok(match f.as_slice() {
        [] => BackendName::Static(String::new()),
        [FmtPart::Text(t)] => BackendName::Static(String::from_utf8_lossy(t).into_owned()),
        _ => BackendName::Dynamic(f),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let f = parse_format("a%%b %[dst_port] %ci:%cp").ok().unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(
            parse_format("%zz").err(),
            Some(SampleError::Invalid("no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to use '%%'".into()))
        );
        assert_eq!(
            parse_format("%[nosuch]").err(),
            Some(SampleError::Invalid(
                "failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'"
                    .into()
            ))
        );
        assert_eq!(
            parse_format("%[req.hdr(a)").err(),
            Some(SampleError::Invalid(
                "missing ']' after 'req.hdr(a)'".into()
            ))
        );
    }
}
