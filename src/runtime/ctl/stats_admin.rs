//! The statistics page's admin actions (`stats admin`, stats.c
//! `stats_process_http_post`): a POSTed form names a backend (`b`), an action and
//! servers (`s`); the answer is the status the page then shows (`DONE`, `PART`, `NONE`,
//! `ERRP`, …).

use crate::runtime::lb::admin::{self, AdminFlag};
use crate::runtime::lb::state::Shared;

/// haproxy's `url_decode` in form mode: `%XX` to its byte, `+` to a space; None for a
/// `%` not followed by two hex digits.
fn url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let (h, l) = (hex(*s.get(i + 1)?)?, hex(*s.get(i + 2)?)?);
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// The admin flag changes an action makes (stats.c's `ST_ADM_ACTION_*`), and whether
/// it counts only when it changes something (the older names).
fn flags(action: &str) -> Option<(&'static [AdminFlag], bool)> {
    use AdminFlag::*;
    Some(match action {
        "ready" => (&[ClrDrain, ClrMaint], false),
        "drain" => (&[SetDrain, ClrMaint], false),
        "maint" => (&[SetMaint, ClrDrain], false),
        "disable" => (&[SetMaint], true),
        "enable" => (&[ClrMaint], true),
        "stop" => (&[SetDrain], true),
        "start" => (&[ClrDrain], true),
        _ => return None,
    })
}

/// haproxy's reason for the older actions' changes.
fn cause(action: &str) -> Option<&'static str> {
    match action {
        "disable" => Some("'disable' on stats page"),
        "stop" => Some("'stop' on stats page"),
        _ => None,
    }
}

/// The actions haproxy knows that haproxide's page does not run (forcing a health state,
/// killing a server's sessions): refused with `ERRP` and a warning.
const NOT_RUN: &[&str] = &["shutdown", "hrunn", "hnolb", "hdown"];

/// Actions on a server's agent check, which haproxide never has: haproxy changes and
/// counts nothing for such a server either.
const AGENT: &[&str] = &["dagent", "eagent", "arunn", "adown"];

/// Actions on a server's health check: nothing for a server without one, as in haproxy;
/// refused for one with a check (haproxide cannot pause checks).
const HEALTH: &[&str] = &["dhlth", "ehlth"];

fn not_run(a: &str) -> &'static str {
    eprintln!(
        "[WARNING]  ({}) : stats page action '{a}' is not supported by haproxide; nothing changed.",
        std::process::id()
    );
    "ERRP"
}

/// Runs the form `body` against the servers of `shared`; returns the status code the
/// page reports. Parameters are read from the last to the first, so the last `b` and
/// `action` win and every `s` is applied once both are known, as haproxy reads them.
pub fn process(shared: &Shared, body: &[u8]) -> &'static str {
    let params: Vec<&[u8]> = body.split(|&c| c == b'&').collect();
    let mut backend: Option<usize> = None;
    let mut action: Option<String> = None;
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let (mut total, mut altered) = (0u32, 0u32);
    let mut servers: Vec<Vec<u8>> = Vec::new();
    for p in params.iter().rev() {
        // haproxy's key buffer is a line long (LINESIZE).
        if p.len() >= 2048 {
            return "ERRP";
        }
        let (k, v) = match p.iter().position(|&c| c == b'=') {
            Some(e) => (&p[..e], &p[e + 1..]),
            None => (&p[..], &b""[..]),
        };
        let (Some(k), Some(v)) = (url_decode(k), url_decode(v)) else {
            break;
        };
        // C strings: a NUL ends them.
        let cut = |b: Vec<u8>| b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())].to_vec();
        let (k, v) = (cut(k), cut(v));
        match &k[..] {
            b"b" if backend.is_none() => {
                let named: Vec<usize> = (0..shared.backends.len())
                    .filter(|&i| shared.backends[i].ir.name.as_bytes() == v)
                    .collect();
                match named[..] {
                    [one] => backend = Some(one),
                    _ => return "ERRP",
                }
            }
            b"action" if action.is_none() => {
                let a = String::from_utf8_lossy(&v).into_owned();
                if NOT_RUN.contains(&a.as_str()) {
                    return not_run(&a);
                }
                if flags(&a).is_none()
                    && !AGENT.contains(&a.as_str())
                    && !HEALTH.contains(&a.as_str())
                {
                    return "ERRP";
                }
                action = Some(a);
            }
            b"s" => {
                if backend.is_some() && action.is_some() {
                    servers.append(&mut pending);
                    servers.push(v);
                } else {
                    pending.push(v);
                }
            }
            _ => {}
        }
        if let (Some(bi), Some(a)) = (backend, &action) {
            servers.append(&mut pending);
            for name in servers.drain(..) {
                let b = &shared.backends[bi];
                // An unknown server counts as not done; an action that changes nothing
                // does not count at all.
                let Some(si) = b.servers.iter().position(|s| s.ir.name.as_bytes() == name) else {
                    total += 1;
                    continue;
                };
                let Some((ops, only_changes)) = flags(a) else {
                    if HEALTH.contains(&a.as_str()) && b.servers[si].ir.check.is_some() {
                        return not_run(a);
                    }
                    continue;
                };
                let mut changed = false;
                for &f in ops {
                    changed |= admin::admin_flag(shared, (bi, si), f, cause(a), false);
                }
                if changed || !only_changes {
                    total += 1;
                    altered += 1;
                }
            }
        }
    }
    if total == 0 {
        "NONE"
    } else if altered == 0 {
        "ERRP"
    } else if altered == total {
        "DONE"
    } else {
        "PART"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(url_decode(b"a+b%20c%2f").unwrap(), b"a b c/");
        assert_eq!(url_decode(b"%2"), None);
        assert_eq!(url_decode(b"%zz"), None);
        assert_eq!(flags("stop"), Some((&[AdminFlag::SetDrain][..], true)));
        assert_eq!(flags("bogus"), None);
    }
}
