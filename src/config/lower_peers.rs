//! `peers` sections after every file is read, as haproxy's check_config_validity treats
//! them: each table naming a section finds it (or the configuration is refused), a
//! section without this process among its peers is removed with a warning, a `disabled`
//! one silently.

use super::ast::ProxyConf;
use super::diag::{check, Diagnostic, Diagnostics, Level};
use super::parse::peers::PeersConf;
use crate::ir::counters::TableDef;
use crate::ir::{Peer, PeersSection};

/// The per-proxy check of `stick-table … peers <name>` (haproxy runs it in its proxy
/// loop, after the stick rules).
pub(super) fn proxy_check(
    p: &ProxyConf,
    sections: &[PeersConf],
    localpeer: &str,
    diags: &mut Diagnostics,
) {
    let Some((name, _)) = &p.stick_peers else {
        return;
    };
    // haproxy looks the name up in its list, where the last section declared comes
    // first (duplicates are refused while parsing anyway).
    match sections.iter().rev().find(|s| &s.name == name) {
        None => diags.push(check(
            Level::Alert,
            format!("Proxy '{}': unable to find sync peers '{name}'.", p.name),
        )),
        Some(s) if s.disabled => {}
        Some(s) if !s.has_frontend => diags.push(check(
            Level::Alert,
            format!(
                "Proxy '{}': unable to find local peer '{localpeer}' in peers section '{}'.",
                p.name, s.name
            ),
        )),
        Some(_) => {}
    }
}

/// The sections kept, in configuration order, and each table's section; warns about the
/// ones removed (in haproxy's order: last declared first).
pub(super) fn sections(
    sections: &[PeersConf],
    proxies: &[ProxyConf],
    localpeer: &str,
    tables: &mut [TableDef],
    diags: &mut Diagnostics,
) -> Vec<PeersSection> {
    let mut keep = vec![false; sections.len()];
    for (i, s) in sections.iter().enumerate().rev() {
        if s.disabled {
            continue;
        }
        if !s.has_frontend || !s.local_named {
            diags.push(check(
                Level::Warning,
                format!(
                    "Removing incomplete section 'peers {}' (no peer named '{localpeer}').",
                    s.name
                ),
            ));
            continue;
        }
        if s.bind.is_none() {
            diags.push(
                Diagnostic::alert(&s.loc, format!("peers section '{}': the local peer '{localpeer}' has a 'server' line but no 'bind' is not supported by haproxide (it would not listen); see grammar/keywords.md.", s.name))
                    .checked(),
            );
            continue;
        }
        keep[i] = true;
    }
    let kept: Vec<usize> = (0..sections.len()).filter(|&i| keep[i]).collect();
    for t in tables.iter_mut() {
        // A peers section's own table is `<section>/<name>`; a proxy's names its section.
        let named = match t.name.split_once('/') {
            Some((sec, _)) => Some(sec),
            None => proxies
                .iter()
                .find(|p| *p.name == *t.name && p.stick_table.is_some())
                // haproxy unhooks a disabled proxy's table from its peers.
                .filter(|p| !p.disabled)
                .and_then(|p| p.stick_peers.as_ref())
                .map(|(n, _)| n.as_str()),
        };
        t.table.peers = named.and_then(|n| {
            let i = sections.iter().rposition(|s| s.name == n)?;
            kept.iter().position(|&k| k == i)
        });
    }
    kept.iter()
        .map(|&i| {
            let s = &sections[i];
            PeersSection {
                name: s.name.clone(),
                local: localpeer.to_string(),
                bind: s.bind.unwrap_or_else(|| ([0, 0, 0, 0], 0).into()),
                remotes: s
                    .remotes
                    .iter()
                    .map(|(name, addr)| Peer {
                        name: name.clone(),
                        addr: *addr,
                    })
                    .collect(),
            }
        })
        .collect()
}
