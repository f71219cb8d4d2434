//! Stick tables and the rules that track counters in them, checked as haproxy checks
//! them once every section is read (check_trk_action): the table a `track-sc*` rule
//! names exists, and a `tcp-request content` tracking rule gets haproxy's warnings.

use super::ast::ProxyConf;
use super::diag::{Diagnostics, Level};
use super::parse::rules::{stage, Stage};
use super::parse::sample::castable;
use crate::ir::acl::{Cond, SampleExpr, SmpType};
use crate::ir::counters::{TableDef, Track};
use crate::ir::http_rules::HttpAction;
use crate::ir::{ContentAction, Mode, StickKey};

/// Every stick table in configuration order: the proxies' and the peers sections'.
pub(super) fn tables(
    proxies: &[ProxyConf],
    peers: &[super::parse::peers::PeersConf],
) -> Vec<TableDef> {
    let mut extra: Vec<&super::parse::peers::PeersTable> =
        peers.iter().flat_map(|s| s.tables.iter()).collect();
    extra.sort_by_key(|t| t.after_proxies);
    let mut extra = extra.into_iter().peekable();
    let mut out = Vec::new();
    for (i, p) in proxies.iter().enumerate() {
        while let Some(t) = extra.next_if(|t| t.after_proxies <= i) {
            out.push(TableDef {
                name: t.name.as_str().into(),
                table: t.table.clone(),
            });
        }
        if let Some(t) = &p.stick_table {
            out.push(TableDef {
                name: p.name.as_str().into(),
                table: t.clone(),
            });
        }
    }
    out.extend(extra.map(|t| TableDef {
        name: t.name.as_str().into(),
        table: t.table.clone(),
    }));
    out
}

use super::diag::check;

/// Resolves the tables of `p`'s `track-sc*` rules, with haproxy's messages.
pub(super) fn track_checks(p: &ProxyConf, tables: &[TableDef], diags: &mut Diagnostics) {
    let resolve = |t: &Track, diags: &mut Diagnostics| {
        let name = if t.named {
            &*t.table.name
        } else {
            p.name.as_str()
        };
        let Some(i) = tables.iter().position(|d| *d.name == *name) else {
            diags.push(check(
                Level::Alert,
                format!(
                    "Proxy '{}': unable to find table '{name}' referenced by track-sc{}.",
                    p.name, t.slot
                ),
            ));
            return;
        };
        // stktable_compatible_sample: the key must cast to the table's type.
        let to = match tables[i].table.key {
            StickKey::Ip | StickKey::Ipv6 => SmpType::Ip,
            StickKey::Integer => SmpType::Int,
            StickKey::String(_) => SmpType::Str,
            StickKey::Binary(_) => SmpType::Bin,
        };
        let bool_to_ip = t.key_type == SmpType::Bool && to == SmpType::Ip;
        if !castable(t.key_type, to) || bool_to_ip {
            diags.push(check(
                Level::Alert,
                format!(
                    "Proxy '{}': stick-table '{name}' uses a type incompatible with the 'track-sc{}' rule.",
                    p.name, t.slot
                ),
            ));
            return;
        }
        let _ = t.table.id.set(i);
    };
    for r in p.inspect.connection.iter().chain(&p.inspect.session) {
        if let ContentAction::Track(t) = &r.action {
            resolve(t, diags);
        }
    }
    let fe = p.kind.caps() & 2 != 0;
    for r in &p.inspect.rules {
        let ContentAction::Track(t) = &r.action else {
            continue;
        };
        resolve(t, diags);
        if !fe {
            continue;
        }
        let word = p.kind.proxy_word();
        let later = |e: &SampleExpr| !matches!(stage(&e.fetch), Stage::Any | Stage::L4 | Stage::L5);
        if p.inspect.delay.is_none() && later(&t.key) {
            diags.push(check(Level::Warning, format!("{word} '{}' : a 'tcp-request content track-sc*' rule explicitly depending on request contents without any 'tcp-request inspect-delay' setting. This means that this rule will randomly find its contents. This can be fixed by setting the tcp-request inspect-delay.", p.name)));
        }
        let content = |e: &SampleExpr| stage(&e.fetch) == Stage::Request;
        let cond_content = |c: &Cond| {
            c.suites
                .iter()
                .flatten()
                .flat_map(|t| t.tests.iter())
                .any(|x| content(&x.expr))
        };
        if p.mode() == Mode::Http && !content(&t.key) && !r.cond.as_ref().is_some_and(cond_content)
        {
            diags.push(check(Level::Warning, format!("{word} '{}' : a 'tcp-request content track-sc*' rule not depending on request contents for an HTTP frontend should be executed at the session level, using a 'tcp-request session' rule (mandatory to track invalid HTTP requests).", p.name)));
        }
    }
    for r in &p.http_rules.request {
        if let HttpAction::Track(t) = &r.action {
            resolve(t, diags);
        }
    }
}

/// Warns about the tables of disabled proxies that enabled ones use: haproxy never sets
/// such a table up and crashes on its first use, where haproxide keeps it working.
pub(super) fn disabled_table_uses(
    proxies: &[ProxyConf],
    refs: &[(
        super::diag::Loc,
        String,
        String,
        super::parse::counters::PendingTable,
    )],
    diags: &mut Diagnostics,
) {
    let owner = |name: &str| {
        proxies
            .iter()
            .find(|p| p.disabled && p.stick_table.is_some() && p.name == name)
    };
    for p in proxies.iter().filter(|p| !p.disabled) {
        let tracks = p
            .inspect
            .connection
            .iter()
            .chain(&p.inspect.session)
            .chain(&p.inspect.rules)
            .filter_map(|r| match &r.action {
                ContentAction::Track(t) if t.named => Some(&*t.table.name),
                _ => None,
            });
        let http = p.http_rules.request.iter().filter_map(|r| match &r.action {
            HttpAction::Track(t) if t.named => Some(&*t.table.name),
            _ => None,
        });
        let sticks = p.stick_rules.iter().filter_map(|r| r.table.as_deref());
        let args = refs.iter().filter(|r| r.1 == p.name).map(|r| &*r.3.r.name);
        let mut named: Vec<&str> = tracks.chain(http).chain(sticks).chain(args).collect();
        named.dedup();
        for name in named {
            if let Some(d) = owner(name) {
                diags.push(check(
                    Level::Warning,
                    format!(
                        "Proxy '{}': stick-table '{name}' belongs to disabled {} '{name}': haproxide keeps it working (haproxy never sets it up and crashes on its first use).",
                        p.name,
                        d.kind.proxy_word()
                    ),
                ));
            }
        }
    }
}
