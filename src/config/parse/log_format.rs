//! `log-format` and `unique-id-format` strings (configuration.txt §8.2.4), parsed as
//! haproxy 2.6 parses them (log.c `parse_logformat_string`): the same nodes, the same
//! silent cases (`%-` is a `-`, unknown flags are ignored) and the same error texts.

use crate::config::ast::{LogFormatSetting, ProxyConf, Spanned};
use crate::config::diag::{Diagnostic, Diagnostics, Level, LocStyle};
use crate::ir::log_format::{
    LogFlags, LogFormat, LogNode, LogVar, HTTPLOG, HTTPLOG_CLF, HTTPSLOG, TCPLOG,
};
use crate::ir::Mode;

use super::sample::SampleError;
use crate::ir::acl::{Dir, Fetch, SampleExpr};

/// Why a format string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormatError {
    /// haproxy refuses it too: its message.
    Invalid(String),
    /// Valid for haproxy, not rendered by haproxide: what is missing.
    Unsupported(String),
}

/// Variables of haproxy's table that only exist in `mode http` (haproxy refuses them in a
/// TCP proxy's format).
const HTTP_ONLY: &[&str] = &[
    "CC", "CS", "Ta", "Ti", "Tq", "Tr", "TR", "HM", "HP", "HPO", "HQ", "HU", "HV", "r", "tr",
    "trg", "trl",
];

/// Whether `name` is a log-format variable haproxy knows (`%ci`, `%ST` …).
pub fn is_variable(name: &str) -> bool {
    var(name).is_some() || HTTP_ONLY.contains(&name)
}

fn var(name: &str) -> Option<LogVar> {
    use LogVar::*;
    Some(match name {
        "ci" => ClientIp,
        "cp" => ClientPort,
        "fi" => FrontendIp,
        "fp" => FrontendPort,
        "bi" => BackendIp,
        "bp" => BackendPort,
        "si" => ServerIp,
        "sp" => ServerPort,
        "t" => Date,
        "T" => DateGmt,
        "Tl" => DateLocal,
        "Ts" => Timestamp,
        "ms" => Millis,
        "f" => Frontend,
        "ft" => FrontendXprt,
        "b" => Backend,
        "s" => Server,
        "Th" => Th,
        "sslc" => SslCipher,
        "sslv" => SslVersion,
        "Tw" => Tw,
        "Tc" => Tc,
        "Td" => Td,
        "Tt" => Tt,
        "Tu" => Tu,
        "B" => BytesDown,
        "U" => BytesUp,
        "ts" => TermState,
        "tsc" => TermStateCookie,
        "ac" => ActConn,
        "fc" => FeConn,
        "bc" => BeConn,
        "sc" => SrvConn,
        "rc" => Retries,
        "sq" => SrvQueue,
        "bq" => BeQueue,
        "ID" => UniqueId,
        "rt" => StreamId,
        "lc" => LogCount,
        "H" => Hostname,
        "pid" => Pid,
        "ST" => Status,
        "hr" => HdrReq,
        "hrl" => HdrReqList,
        "hs" => HdrRes,
        "hsl" => HdrResList,
        "tr" => ReqDate,
        "trg" => ReqDateGmt,
        "trl" => ReqDateLocal,
        "TR" => TR,
        "Tq" => Tq,
        "Tr" => TrResp,
        "Ta" => Ta,
        "Ti" => Ti,
        "r" => Request,
        "HM" => Method,
        "HU" => Uri,
        "HP" => Path,
        "HPO" => PathOnly,
        "HQ" => Query,
        "HV" => Version,
        "CC" => CookieReq,
        "CS" => CookieRes,
        _ => return None,
    })
}

/// Applies a `%{…}` argument to `f`: comma-separated `+NAME`/`-NAME`, where only the last
/// sign of an item counts and unknown names are ignored (log.c `parse_logformat_var_args`).
fn apply_flags(arg: &str, f: &mut LogFlags) {
    for item in arg.split(',') {
        let Some(pos) = item.rfind(['+', '-']) else {
            continue;
        };
        let on = item.as_bytes()[pos] == b'+';
        match &item[pos + 1..] {
            "M" => f.mandatory = on,
            "Q" => f.quote = on,
            "X" => f.hex = on,
            "E" => f.escape = on,
            _ => {}
        }
    }
}

/// The end of a sample expression starting at `s[0]`: the fetch and converter names with
/// their parenthesised arguments, as haproxy's expression parser consumes them.
fn expr_end(s: &[u8]) -> usize {
    let mut i = 0;
    let mut depth = 0usize;
    while i < s.len() {
        let c = s[i];
        match c {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            b',' => {}
            c if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-') => {}
            _ => break,
        }
        i += 1;
    }
    i
}

/// Parses `fmt`. `http` is the proxy's mode (HTTP-only variables are refused otherwise);
/// `mandatory` is off for `unique-id-format` only, where an empty value prints nothing
/// and samples may read the request (haproxy parses it for the request headers' stage:
/// the id is made while the request is processed).
pub fn parse(fmt: &str, http: bool, mandatory: bool) -> Result<LogFormat, LogFormatError> {
    let b = fmt.as_bytes();
    let mut defaults = LogFlags {
        mandatory,
        ..LogFlags::default()
    };
    let mut nodes = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, nodes: &mut Vec<LogNode>| {
        if !text.is_empty() {
            nodes.push(LogNode::Text(std::mem::take(text)));
        }
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b' ' {
            flush(&mut text, &mut nodes);
            nodes.push(LogNode::Separator);
            i += 1;
            continue;
        }
        if c != b'%' {
            // Copy the whole UTF-8 character.
            let len = fmt[i..].chars().next().map_or(1, char::len_utf8);
            text.push_str(&fmt[i..i + len]);
            i += len;
            continue;
        }
        // After '%'.
        i += 1;
        let Some(&n) = b.get(i) else {
            return Err(LogFormatError::Invalid("truncated line after '%'".into()));
        };
        let mut arg: Option<&str> = None;
        if n == b'%' {
            text.push('%');
            i += 1;
            continue;
        }
        if n.is_ascii_digit() || n == b' ' || n == b'\t' {
            return Err(LogFormatError::Invalid(format!(
                "unexpected variable name near '{}' at position {i} line : '{fmt}'. Maybe you want to write a single '%', use the syntax '%%'",
                n as char
            )));
        }
        if n == b'{' {
            let start = i + 1;
            let Some(len) = fmt[start..].find('}') else {
                return Err(LogFormatError::Invalid(format!(
                    "truncated line after '{}'",
                    &fmt[start..]
                )));
            };
            arg = Some(&fmt[start..start + len]);
            i = start + len + 1;
            match b.get(i) {
                Some(b'[') => {}
                // After `%{...}` a name may start with a digit, as in haproxy.
                Some(c) if c.is_ascii_alphanumeric() => {}
                _ => {
                    return Err(LogFormatError::Invalid(format!(
                        "parse argument modifier without variable name near '%{{{}}}'",
                        arg.unwrap_or("")
                    )))
                }
            }
        } else if n != b'[' && !n.is_ascii_alphabetic() {
            // Any other character: the '%' is dropped, the character is text.
            continue;
        }
        let mut flags = defaults;
        if b[i] == b'[' {
            let start = i + 1;
            let rest = &fmt[start..];
            let end = start + expr_end(&b[start..]);
            let expr = &fmt[start..end];
            let sample = log_sample(expr, rest, !mandatory)?;
            match b.get(end) {
                Some(b']') => {}
                Some(&c) if (0x20..0x7f).contains(&c) => {
                    return Err(LogFormatError::Invalid(format!(
                        "expected ']' after '{expr}', but found '{}'",
                        c as char
                    )))
                }
                _ => {
                    return Err(LogFormatError::Invalid(format!(
                        "missing ']' after '{expr}'"
                    )))
                }
            }
            if let Some(a) = arg {
                apply_flags(a, &mut flags);
            }
            flush(&mut text, &mut nodes);
            nodes.push(LogNode::Sample(sample, flags));
            i = end + 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let name = &fmt[start..i];
        if let Some(a) = arg {
            apply_flags(a, &mut flags);
        }
        if name == "o" {
            defaults = flags;
            continue;
        }
        if HTTP_ONLY.contains(&name) && !http {
            return Err(LogFormatError::Invalid(format!(
                "format variable '{name}' is reserved for HTTP mode"
            )));
        }
        let Some(v) = var(name) else {
            return Err(LogFormatError::Invalid(format!("no such format variable '{name}'. If you wanted to emit the '%' character verbatim, you need to use '%%'")));
        };
        flush(&mut text, &mut nodes);
        nodes.push(LogNode::Var(v, flags));
    }
    flush(&mut text, &mut nodes);
    Ok(LogFormat::new(nodes))
}

/// The sample of a `%[…]` node. `rest` is the format from after `[`, which haproxy quotes
/// in its messages. A line is written when the session ends: fetches of the request or
/// response contents (buffers, HTTP headers) are refused as haproxy refuses them there;
/// a unique id (`request`) may read the request.
fn log_sample(expr: &str, rest: &str, request: bool) -> Result<Box<SampleExpr>, LogFormatError> {
    if expr.is_empty() {
        return Err(LogFormatError::Invalid(format!(
            "failed to parse sample expression <{rest}> : missing fetch method"
        )));
    }
    let p = match super::value_format::format_expr(expr, rest) {
        Ok(p) => p,
        Err(SampleError::Invalid(m)) => return Err(LogFormatError::Invalid(m)),
        Err(SampleError::Unsupported(what)) => return Err(LogFormatError::Unsupported(what)),
    };
    // haproxy reads what is left of the request there, or warns in HTTP mode.
    if matches!(p.expr.fetch, Fetch::ResLen | Fetch::ResPayload(_)) {
        let name = &expr[..expr.find(['(', ',']).unwrap_or(expr.len())];
        return Err(LogFormatError::Unsupported(format!(
            "sample fetch '{name}' in a log format"
        )));
    }
    let need = match unavailable_at_log(expr, &p.expr.fetch) {
        // A fetch that reads the request (alone or among others) is usable there.
        Some(n) if request && n.contains("request") => None,
        n => n,
    };
    if let Some(need) = need {
        return Err(LogFormatError::Invalid(format!(
            "sample fetch <{rest}> may not be reliably used here because it needs '{need}' which is not available here"
        )));
    }
    Ok(Box::new(p.expr))
}

/// What fetch `f` (named first in `expr`) needs that a log line does not have, in
/// haproxy's words (its sample_src_names).
fn unavailable_at_log(expr: &str, f: &Fetch) -> Option<&'static str> {
    let name = &expr[..expr.find(['(', ',']).unwrap_or(expr.len())];
    match (name, f) {
        ("hdr", _) => Some("HTTP request headers,HTTP response headers"),
        ("payload" | "payload_lv", _) => Some("request buffer,response buffer"),
        (_, f) if f.layer6() == Some(Dir::Req) => Some("request buffer"),
        (_, Fetch::Hdr(h) | Fetch::HdrCnt(h)) if h.dir == Dir::Res => Some("HTTP response headers"),
        _ if f.needs_request() => Some("HTTP request headers"),
        _ => None,
    }
}

/// A proxy's formats: the log line's, `unique-id-format`'s, `log-format-sd`'s.
pub type ProxyFormats = (Option<LogFormat>, Option<LogFormat>, Option<LogFormat>);

/// The formats of one proxy, parsed as haproxy does once the whole file is read: the log
/// format and its structured data only for proxies that log (frontends, listens),
/// `unique-id-format` for all.
pub fn proxy_formats(p: &ProxyConf, diags: &mut Diagnostics) -> ProxyFormats {
    let http = p.mode() == Mode::Http;
    let mut one =
        |text: &Spanned<String>, what: &str, mandatory: bool| match parse(&text.v, http, mandatory)
        {
            Ok(f) => Some(f),
            Err(LogFormatError::Invalid(m)) => {
                let msg = format!("failed to parse {what} : {m}.");
                // Line 0 is haproxy's "(null):0", no place: said in the text only.
                let d = if text.loc.line == 0 {
                    let msg = format!("Parsing [(null):0]: {msg}");
                    Diagnostic::new(Level::Alert, None, LocStyle::None, msg)
                } else {
                    Diagnostic::alert(&text.loc, msg).styled(LocStyle::CapParsing)
                };
                diags.push(d.checked());
                None
            }
            Err(LogFormatError::Unsupported(m)) => {
                let msg = format!(
                    "{m} in '{what}' is not supported by haproxide; see grammar/keywords.md."
                );
                let d = if text.loc.line == 0 {
                    Diagnostic::new(Level::Alert, None, LocStyle::None, msg)
                } else {
                    Diagnostic::alert(&text.loc, msg)
                };
                diags.push(d.checked());
                None
            }
        };
    let log = match (&p.log_format, p.kind.caps() & 2 != 0) {
        (Some(LogFormatSetting::Custom(text)), true) => one(text, "log-format", true),
        (Some(LogFormatSetting::Option(o)), true) => {
            let text = match (http, *o) {
                (true, "option httplog") => HTTPLOG,
                (true, "option httplog clf") => HTTPLOG_CLF,
                (true, "option httpslog") => HTTPSLOG,
                _ => TCPLOG,
            };
            Some(parse(text, http, true).unwrap_or_default())
        }
        _ => None,
    };
    // haproxy names the log format's place in this one's errors (its lfs_file), which
    // is "(null):0" when the proxy has no log format of its own.
    let sd = p
        .log_format_sd
        .as_ref()
        .filter(|_| p.kind.caps() & 2 != 0)
        .and_then(|t| {
            let loc = match &p.log_format {
                Some(LogFormatSetting::Custom(l)) => l.loc.clone(),
                Some(LogFormatSetting::Option(o)) => {
                    let name = o
                        .trim_start_matches("option ")
                        .split(' ')
                        .next()
                        .unwrap_or("");
                    p.options.get(name).map_or(p.loc.clone(), |s| s.loc.clone())
                }
                None => crate::config::diag::Loc {
                    file: "(null)".into(),
                    line: 0,
                },
            };
            let at = Spanned {
                v: t.v.clone(),
                loc,
            };
            one(&at, "log-format-sd", true)
        });
    let unique = p
        .unique_id_format
        .as_ref()
        .and_then(|text| one(text, "unique-id", false));
    (log, unique, sd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use LogNode::*;

    fn src() -> Box<SampleExpr> {
        Box::new(SampleExpr {
            fetch: Fetch::Src,
            convs: Vec::new(),
        })
    }

    fn ok(s: &str) -> Vec<LogNode> {
        parse(s, false, true).expect("valid").nodes
    }

    fn err(s: &str) -> String {
        match parse(s, false, true) {
            Err(LogFormatError::Invalid(m)) => m,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn nodes_as_haproxy_builds_them() {
        let m = LogFlags::default();
        assert_eq!(
            ok("%ci:%cp  x%%"),
            vec![
                Var(LogVar::ClientIp, m),
                Text(":".into()),
                Var(LogVar::ClientPort, m),
                Separator,
                Separator,
                Text("x%".into())
            ]
        );
        // `%-` drops the '%'; flags: last sign wins, unknown and unsigned items ignored.
        assert_eq!(ok("a%-b"), vec![Text("a-b".into())]);
        let q = LogFlags { quote: true, ..m };
        assert_eq!(ok("%{+Q,Z,X}f"), vec![Var(LogVar::Frontend, q)]);
        let x = LogFlags { hex: true, ..m };
        assert_eq!(ok("%{+Q+X}ci"), vec![Var(LogVar::ClientIp, x)]);
        // %o changes the defaults of what follows, including samples.
        assert_eq!(
            ok("%f %{+Q}o%f %{-Q}[src]"),
            vec![
                Var(LogVar::Frontend, m),
                Separator,
                Var(LogVar::Frontend, q),
                Separator,
                Sample(src(), m)
            ]
        );
        assert_eq!(ok("%[src]x"), vec![Sample(src(), m), Text("x".into())]);
    }

    #[test]
    fn errors_are_haproxys() {
        assert_eq!(err("%foo"), "no such format variable 'foo'. If you wanted to emit the '%' character verbatim, you need to use '%%'");
        assert_eq!(err("%cifoo"), "no such format variable 'cifoo'. If you wanted to emit the '%' character verbatim, you need to use '%%'");
        assert_eq!(err("a % b"), "unexpected variable name near ' ' at position 3 line : 'a % b'. Maybe you want to write a single '%', use the syntax '%%'");
        assert_eq!(err("abc %"), "truncated line after '%'");
        assert_eq!(err("%{+Q"), "truncated line after '+Q'");
        assert_eq!(
            err("%{+Q}"),
            "parse argument modifier without variable name near '%{+Q}'"
        );
        assert_eq!(
            err("%{+Q}:x"),
            "parse argument modifier without variable name near '%{+Q}'"
        );
        assert_eq!(err("%[src"), "missing ']' after 'src'");
        assert_eq!(err("%[src x]"), "expected ']' after 'src', but found ' '");
        assert_eq!(
            err("%[]"),
            "failed to parse sample expression <]> : missing fetch method"
        );
        assert_eq!(
            err("%["),
            "failed to parse sample expression <> : missing fetch method"
        );
        assert_eq!(
            err("%[nosuch]"),
            "failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'"
        );
        assert_eq!(err("%[req.payload(0,4)]"), "sample fetch <req.payload(0,4)]> may not be reliably used here because it needs 'request buffer' which is not available here");
        assert_eq!(
            err("%ci %Ti"),
            "format variable 'Ti' is reserved for HTTP mode"
        );
        assert!(matches!(
            parse("%[ssl_c_s_dn]", false, true),
            Err(LogFormatError::Unsupported(_))
        ));
    }

    #[test]
    fn tcplog_renders_haproxys_line() {
        use crate::runtime::log::format::{render, Facts};
        use chrono::TimeZone;
        let f = parse(TCPLOG, false, true).expect("valid");
        assert_eq!(f.nodes.len(), 37);
        let accept = chrono::Local
            .with_ymd_and_hms(2026, 11, 24, 13, 39, 30)
            .unwrap()
            + chrono::Duration::milliseconds(662);
        let mut facts = Facts {
            client: Some("127.0.0.55:41234".parse().unwrap()),
            frontend_addr: None,
            backend_src: None,
            server_addr: None,
            accept,
            frontend: "fe",
            tls: false,
            backend: "be",
            server: Some("s1"),
            th: 0,
            t_queue: 0,
            tc: 0,
            tt: 300,
            bytes_down: 3,
            bytes_up: 5,
            term: crate::runtime::termination::Termination::NORMAL,
            conns: [1, 1, 0, 0],
            retries: 0,
            redispatched: false,
            queues: [0, 0],
            unique_id: None,
            stream_id: 0,
            log_count: 0,
            captures: [0, 0],
            hostname: "h",
            pid: 1,
            http: None,
            plus: false,
            session: None,
        };
        let mut line = String::new();
        render(&f, &facts, &mut line);
        // Captured from haproxy 2.6.12.
        assert_eq!(
            line,
            "127.0.0.55:41234 [24/Nov/2026:13:39:30.662] fe be/s1 1/0/300 3 -- 1/1/0/0/0 0/0"
        );
        facts.tls = true;
        facts.redispatched = true;
        facts.retries = 1;
        line.clear();
        render(&f, &facts, &mut line);
        assert!(line.contains(" fe~ be/s1 ") && line.ends_with("1/1/0/0/+1 0/0"));
    }
}
