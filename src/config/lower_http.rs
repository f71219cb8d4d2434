//! Lowering of HTTP settings: `option forwardfor`/`originalto`, the connection mode,
//! error pages, header case adjustment and a `source` header address.

use std::net::IpAddr;

use super::ast::ProxyConf;
use super::diag::{check, Level};
use super::lower::{timeout, Pages};
use crate::ir::Mode;

/// `option forwardfor` or `option originalto` (`name`) of an HTTP proxy, its words
/// already checked by the parser.
pub(super) fn forwardfor(p: &ProxyConf, name: &str) -> Option<crate::ir::ForwardFor> {
    let o = p.options.get(name).filter(|o| o.enabled)?;
    if p.mode() != Mode::Http {
        return None;
    }
    let header = if name == "forwardfor" {
        "x-forwarded-for"
    } else {
        "x-original-to"
    };
    let mut ff = crate::ir::ForwardFor {
        header: header.into(),
        except: None,
        if_none: false,
    };
    let mut i = 0;
    while i < o.args.len() {
        let next = o.args.get(i + 1).map(String::as_str).unwrap_or("");
        match o.args[i].as_str() {
            "except" => ff.except = forwardfor_net(next),
            "header" => ff.header = next.to_ascii_lowercase(),
            _ => {
                ff.if_none = true;
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    Some(ff)
}

/// An `except` network as haproxy reads it: IPv4 `a.b.c.d[/len|/mask]` (any mask; no
/// name is resolved here), else IPv6 `addr[/len]`; the address masked to its network.
pub(crate) fn forwardfor_net(s: &str) -> Option<(IpAddr, IpAddr)> {
    let (a, m) = s.split_once('/').map_or((s, None), |(a, m)| (a, Some(m)));
    if let Ok(v4) = a.parse::<std::net::Ipv4Addr>() {
        let mask = match m {
            None => u32::MAX,
            Some(m) => match m.parse::<u32>() {
                Ok(n) if n <= 32 => u32::MAX.checked_shl(32 - n).unwrap_or(0),
                Ok(_) => return None,
                Err(_) => u32::from(m.parse::<std::net::Ipv4Addr>().ok()?),
            },
        };
        let net = u32::from(v4) & mask;
        return Some((IpAddr::V4(net.into()), IpAddr::V4(mask.into())));
    }
    let v6 = a.parse::<std::net::Ipv6Addr>().ok()?;
    let len = match m {
        None => 128,
        Some(m) => m.parse::<u32>().ok().filter(|n| *n <= 128)?,
    };
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    let net = u128::from(v6) & mask;
    Some((IpAddr::V6(net.into()), IpAddr::V6(mask.into())))
}

/// The HTTP-only keywords an HTTP proxy honours (the others are refused by name).
pub(super) const HTTP_SUPPORTED: &[&str] = &[
    "'timeout http-request'",
    "'timeout http-keep-alive'",
    "'option http-keep-alive'",
    "'option http-server-close'",
    "'option httpclose'",
    "'option forwardfor'",
    "'option originalto'",
    "'option http-ignore-probes'",
    "'option http-buffer-request'",
    "'option http-pretend-keepalive'",
    "'option http-no-delay'",
    "'option prefer-last-server'",
    "'option disable-h2-upgrade'",
    "'option h1-case-adjust-bogus-client'",
    "'option h1-case-adjust-bogus-server'",
    "'capture' statement",
    "'timeout tarpit'",
];

/// The connection mode the last of `option http-keep-alive|http-server-close|httpclose`
/// sets (each replaces the others, as in haproxy; `no option …` goes back to keep-alive).
pub(super) fn http_conn_mode(p: &ProxyConf) -> crate::ir::HttpConnMode {
    use crate::ir::HttpConnMode as M;
    ["http-keep-alive", "http-server-close", "httpclose"]
        .iter()
        .filter_map(|n| p.options.get(*n).map(|o| (*n, o)))
        .max_by_key(|(_, o)| (o.own, o.loc.line))
        .map_or(M::KeepAlive, |(n, o)| match (n, o.enabled) {
            ("http-server-close", true) => M::ServerClose,
            ("httpclose", true) => M::Close,
            _ => M::KeepAlive,
        })
}

/// `p`'s HTTP rules with each `auth` that names no realm given the proxy's name
/// (haproxy's `px->id`, also for rules a `defaults` section gave), and the proxy's
/// tarpit time.
pub(super) fn named_realms(p: &ProxyConf) -> crate::ir::http_rules::HttpRules {
    let (rules, name) = (&p.http_rules, &p.name);
    use crate::ir::http_rules::HttpAction;
    let mut r = rules.clone();
    // haproxy holds a tarpitted request `timeout tarpit`, else `timeout connect`.
    r.tarpit = timeout(p, "tarpit").or(timeout(p, "connect"));
    for rule in r.request.iter_mut() {
        if let HttpAction::Auth(realm) = &mut rule.action {
            if realm.is_empty() {
                *realm = name.as_bytes().into();
            }
        }
    }
    r
}

/// A `mode http` frontend or listen that serves only the statistics page: haproxide
/// answers it itself (no servers, no backend, no other HTTP feature).
pub(super) fn stats_only(p: &ProxyConf) -> bool {
    p.mode() == Mode::Http
        && p.kind.caps() & 2 != 0
        && p.stats.enabled
        && p.servers.is_empty()
        && p.default_backend.is_none()
        && p.use_backends.is_empty()
        && p.binds.iter().all(|b| !b.opts.ssl && !b.opts.accept_proxy)
}

/// A proxy's answer pages: its `errorfile`, `errorloc*` and `errorfiles` lines in order,
/// a later one replacing an earlier one's page for the same status, as haproxy's
/// `proxy_check_errors` applies them (with its messages for a section that does not
/// exist and a status a section does not have).
pub(super) fn error_pages(
    p: &ProxyConf,
    sections: &[super::ast::HttpErrorsConf],
    diags: &mut crate::config::diag::Diagnostics,
) -> Pages {
    use super::ast::ErrorPages;
    use crate::ir::ErrorPage;
    let mut pages: Pages = Vec::new();
    let set = |pages: &mut Pages, code: u16, page: ErrorPage| {
        pages.retain(|(c, _)| *c != code);
        pages.push((code, page));
    };
    for e in &p.errorfiles {
        match &e.v {
            ErrorPages::Page(code, raw) => set(&mut pages, *code, ErrorPage::Raw(raw.clone())),
            ErrorPages::Reply(code, r) => set(&mut pages, *code, ErrorPage::Reply(r.clone())),
            ErrorPages::Section(name, codes) => {
                let Some(sec) = sections.iter().find(|s| &s.name == name) else {
                    diags.push(check(
                        Level::Alert,
                        format!(
                            "proxy '{}': unknown http-errors section '{name}' (at {}).",
                            p.name, e.loc
                        ),
                    ));
                    continue;
                };
                let wanted: Vec<u16> = match codes {
                    Some(c) => c.clone(),
                    None => sec.pages.iter().map(|(c, _)| *c).collect(),
                };
                // haproxy walks its status table in order.
                let mut wanted = wanted;
                wanted.sort_unstable();
                wanted.dedup();
                for code in wanted {
                    match sec.pages.iter().find(|(c, _)| *c == code) {
                        Some((_, raw)) => set(&mut pages, code, ErrorPage::Raw(raw.clone())),
                        None => diags.push(check(
                            Level::Warning,
                            format!("config: proxy '{}' : status '{code}' not declared in http-errors section '{name}' (at {}).", p.name, e.loc),
                        )),
                    }
                }
            }
        }
    }
    pages
}

/// Adds `h1-case-adjust <from> <to>` to `map`, or haproxy's message
/// (`add_hdr_case_adjust`): the two may differ only by case, and a name comes once.
pub(crate) fn add_case_adjust(
    map: &mut Vec<(String, String)>,
    from: &str,
    to: &str,
) -> Result<(), String> {
    if to.is_empty() {
        return Err("expect <to>".into());
    }
    if !from.eq_ignore_ascii_case(to) {
        return Err("<from> and <to> must not differ execpt the case".into());
    }
    if map.iter().any(|(f, _)| f == from) {
        return Err(format!("duplicate entry '{from}'"));
    }
    map.push((from.to_string(), to.to_string()));
    Ok(())
}

/// The global case map with `h1-case-adjust-file`'s lines added (read now, as haproxy's
/// post-parser reads it), or haproxy's alert.
pub(super) fn case_map(
    g: &super::parse::GlobalConf,
    diags: &mut crate::config::diag::Diagnostics,
    file_checks: crate::config::FileChecks,
) -> Vec<(String, String)> {
    let mut map = g.h1_case.clone();
    let Some(path) = &g.h1_case_file else {
        return map;
    };
    if file_checks == crate::config::FileChecks::MissingIsWarning
        && !std::path::Path::new(path).exists()
    {
        // Named without a line: haproxy's own message for this file has none either.
        diags.push(
            check(
                Level::Warning,
                format!("h1-case-adjust-file : file '{path}' does not exist; not checked (--no-file-checks)."),
            )
            .coded(crate::config::MISSING_FILE),
        );
        return map;
    }
    let Ok(text) = std::fs::read(path) else {
        diags.push(check(
            Level::Alert,
            format!("h1-headers-case-adjust-file '{path}': failed to open file."),
        ));
        return map;
    };
    for (i, line) in String::from_utf8_lossy(&text).lines().enumerate() {
        let l = line.trim_start_matches([' ', '\t']);
        if l.is_empty() || l.starts_with('#') || l.starts_with('\r') {
            continue;
        }
        let l = l.trim_end_matches(['\r', '\n']);
        let (key, rest) = l.split_once([' ', '\t']).unwrap_or((l, ""));
        let value = rest.trim_matches([' ', '\t']);
        if let Err(e) = add_case_adjust(&mut map, key, value) {
            diags.push(check(
                Level::Alert,
                format!(
                    "h1-headers-case-adjust-file '{path}' : {e} at line {}.",
                    i + 1
                ),
            ));
            break;
        }
    }
    map
}

/// The header a `usesrc hdr_ip(…)` names, if `src` has one that can still be found.
pub(super) fn header_source(src: Option<&crate::ir::source::ConnSource>) -> Option<&str> {
    match src?.usesrc.as_ref()? {
        crate::ir::source::UseSrc::Header { name, occ } if *occ != 0 => Some(name),
        _ => None,
    }
}

/// `src` as a proxy in `mode` uses it: outside HTTP, haproxy warns about a `hdr_ip`
/// and sets its occurrence to 0, which no connection can then be made from.
pub(super) fn source_for_mode(
    src: Option<&crate::ir::source::ConnSource>,
    mode: Mode,
) -> Option<crate::ir::source::ConnSource> {
    let mut src = src.cloned()?;
    if let Some(crate::ir::source::UseSrc::Header { occ, .. }) = src.usesrc.as_mut() {
        if mode != Mode::Http {
            *occ = 0;
        }
    }
    Some(src)
}
