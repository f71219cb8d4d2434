//! `-c --diff OLD`: what a reload from OLD to the checked configuration would do, worked
//! out with the reload's own plan (`runtime::proc::reload`): listeners kept, opened and
//! closed, proxies and servers added, removed or changed, stick tables emptied, and the
//! settings only a restart applies.

use std::fmt::Debug;
use std::fmt::Write as _;

use crate::config::diag::json_str;
use crate::ir::{Backend, Config, Global, Server};
use crate::runtime::proc::reload;

/// One listening address and the proxy that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The frontend or listen section.
    pub proxy: String,
    /// The `bind` address as written.
    pub bind: String,
    /// For a kept socket: the bind settings that differ (new connections get them).
    pub changed: Vec<String>,
    /// For a kept socket: settings that differ but stay as they were on the socket
    /// (backlog, tcp-ut) until it is bound anew.
    pub not_applied: Vec<String>,
}

/// A server present in both configurations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerChange {
    /// `backend/server`
    pub name: String,
    /// What differs, as `setting: old -> new`.
    pub changes: Vec<String>,
    /// Same address and port: the health state carries over (no DOWN/UP flap).
    pub keeps_health: bool,
}

/// A section present in both configurations, with what differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyChange {
    /// The section's name.
    pub name: String,
    /// The settings that differ (IR field names).
    pub settings: Vec<String>,
}

/// A global setting a reload does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    /// The setting (IR field name, close to the keyword).
    pub setting: String,
    /// Its value in OLD.
    pub old: String,
    /// Its value in the checked configuration.
    pub new: String,
    /// Whether a master-worker reload (`-W`), which starts a new worker, applies it.
    pub master_worker_applies: bool,
}

/// What a reload from one configuration to another would change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadDiff {
    /// Sockets kept open across the reload: no connection refused on them.
    pub kept: Vec<Listener>,
    /// Sockets bound by the reload.
    pub opened: Vec<Listener>,
    /// Sockets closed: new connections refused; established sessions run on.
    pub closed: Vec<Listener>,
    /// Frontend/listen sections added.
    pub frontends_added: Vec<String>,
    /// Frontend/listen sections removed.
    pub frontends_removed: Vec<String>,
    /// Frontend/listen sections whose settings differ.
    pub frontends_changed: Vec<ProxyChange>,
    /// Backend/listen sections added.
    pub backends_added: Vec<String>,
    /// Backend/listen sections removed.
    pub backends_removed: Vec<String>,
    /// Backend/listen sections whose own settings differ (servers aside).
    pub backends_changed: Vec<ProxyChange>,
    /// `backend/server` added.
    pub servers_added: Vec<String>,
    /// `backend/server` removed (their sessions run on until they end).
    pub servers_removed: Vec<String>,
    /// Servers in both whose settings differ.
    pub servers_changed: Vec<ServerChange>,
    /// Stick tables whose entries the reload drops (no `peers` carries them over here).
    pub stick_tables_emptied: Vec<String>,
    /// Global settings a reload does not apply.
    pub restart: Vec<Restart>,
}

/// Top-level fields of a value's `{:#?}` form, by name: a generic field-by-field compare
/// for IR structures (every IR type derives Debug).
fn fields(v: &impl Debug) -> Vec<(String, String)> {
    let text = format!("{v:#?}");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines().skip(1) {
        match line.strip_prefix("    ") {
            Some(rest) if !rest.starts_with(' ') => {
                if let Some((name, value)) = rest.split_once(": ") {
                    out.push((name.to_string(), value.to_string()));
                    continue;
                }
                if let Some(last) = out.last_mut() {
                    last.1.push_str(rest);
                }
            }
            _ => {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(line.trim());
                }
            }
        }
    }
    out
}

/// Names of the top-level fields that differ between `a` and `b`, except `skip`.
fn changed_fields(a: &impl Debug, b: &impl Debug, skip: &[&str]) -> Vec<String> {
    let (fa, fb) = (fields(a), fields(b));
    fa.iter()
        .zip(fb.iter())
        .filter(|((n, va), (_, vb))| va != vb && !skip.contains(&n.as_str()))
        .map(|((n, _), _)| n.clone())
        .collect()
}

fn server_addr(s: &Server) -> String {
    match s.addr {
        Some(a) if a.is_ipv6() => format!("[{a}]:{}", s.port),
        Some(a) => format!("{a}:{}", s.port),
        None => format!("(none):{}", s.port),
    }
}

fn check_text(s: &Server) -> String {
    match &s.check {
        None => "off".into(),
        Some(c) => format!(
            "inter {}ms rise {} fall {}{}",
            c.inter.as_millis(),
            c.rise,
            c.fall,
            c.port.map(|p| format!(" port {p}")).unwrap_or_default()
        ),
    }
}

fn server_change(b: &str, o: &Server, n: &Server) -> Option<ServerChange> {
    let mut changes = Vec::new();
    if (o.addr, o.port) != (n.addr, n.port) {
        changes.push(format!("address: {} -> {}", server_addr(o), server_addr(n)));
    }
    if o.weight != n.weight {
        changes.push(format!("weight: {} -> {}", o.weight, n.weight));
    }
    if o.check != n.check {
        changes.push(format!("check: {} -> {}", check_text(o), check_text(n)));
    }
    // A saved state is what the new process starts from, not a setting.
    let skip = ["addr", "port", "weight", "check", "origin", "id", "saved"];
    for f in changed_fields(o, n, &skip) {
        changes.push(f);
    }
    (!changes.is_empty()).then(|| ServerChange {
        name: format!("{b}/{}", n.name),
        keeps_health: (o.addr, o.port) == (n.addr, n.port),
        changes,
    })
}

fn backend_diff(d: &mut ReloadDiff, o: &Backend, n: &Backend) {
    // Proxy numbers move when proxies come and go (a forced one shows as uuid_forced);
    // what reading a state file said is no setting either.
    let skip = ["servers", "loc", "origin", "uuid", "state_notes"];
    let settings = changed_fields(o, n, &skip);
    if !settings.is_empty() {
        d.backends_changed.push(ProxyChange {
            name: n.name.clone(),
            settings,
        });
    }
    for s in &n.servers {
        match o.servers.iter().find(|x| x.name == s.name) {
            None => d.servers_added.push(format!("{}/{}", n.name, s.name)),
            Some(os) => d.servers_changed.extend(server_change(&n.name, os, s)),
        }
    }
    for s in &o.servers {
        if !n.servers.iter().any(|x| x.name == s.name) {
            d.servers_removed.push(format!("{}/{}", o.name, s.name));
        }
    }
}

/// Global settings the running process keeps across a reload (bound, dropped or sized
/// once at start); a master-worker reload starts a new worker, which applies all but
/// the master's own.
fn restart_settings(o: &Global, n: &Global) -> Vec<Restart> {
    // Where a stats socket is written is no setting of it.
    let (mut o, mut n) = (o.clone(), n.clone());
    for s in o.stats_sockets.iter_mut().chain(n.stats_sockets.iter_mut()) {
        s.origin.clear();
    }
    // A new worker binds TCP stats sockets anew while the old one still holds them:
    // they, too, wait for a restart.
    let master_only = ["daemon", "master_worker", "pidfile", "stats_sockets"];
    let at_start = [
        "maxconn",
        "daemon",
        "master_worker",
        "chroot",
        "user",
        "group",
        "uid",
        "gid",
        "pidfile",
        "nbthread",
        "ulimit_n",
        "no_strict_limits",
        "stats_sockets",
        "stats_timeout",
        "stats_maxconn",
        "node",
        "description",
    ];
    let (fo, fne) = (fields(&o), fields(&n));
    fo.iter()
        .zip(fne.iter())
        .filter(|((name, a), (_, b))| a != b && at_start.contains(&name.as_str()))
        .map(|((name, a), (_, b))| Restart {
            setting: name.clone(),
            old: plain(a),
            new: plain(b),
            master_worker_applies: !master_only.contains(&name.as_str()),
        })
        .collect()
}

/// A field's Debug text as an operator reads it: `Some(2,)` is `2`, `None` is `unset`.
fn plain(v: &str) -> String {
    let v = v.trim_end_matches(',');
    if v == "None" {
        return "unset".into();
    }
    match v.strip_prefix("Some(").and_then(|r| r.strip_suffix(')')) {
        Some(inner) => inner.trim_end_matches(',').to_string(),
        None => v.to_string(),
    }
}

/// What reloading from `old` to `new` would do.
pub fn diff(old: &Config, new: &Config) -> ReloadDiff {
    let mut d = ReloadDiff::default();
    let binds = |c: &Config| -> Vec<(String, crate::ir::Bind)> {
        c.frontends
            .iter()
            .flat_map(|f| f.binds.iter().map(|b| (f.name.clone(), b.clone())))
            .collect()
    };
    let (ob, nb) = (binds(old), binds(new));
    let plan = reload::plan(&reload::listener_keys(old), &reload::listener_keys(new));
    let listener = |(p, b): &(String, crate::ir::Bind), changed| Listener {
        proxy: p.clone(),
        bind: b.text.clone(),
        changed,
        not_applied: Vec::new(),
    };
    for (oi, ni) in &plan.keep {
        // The text differs when only the spelling of the address does ("*:80").
        let changed = changed_fields(&ob[*oi].1, &nb[*ni].1, &["origin", "text"]);
        // The socket is reused as it is: its listen backlog and TCP_USER_TIMEOUT were set
        // when it was bound, so changes to them wait for a new socket.
        let (not_applied, changed): (Vec<String>, Vec<String>) = changed
            .into_iter()
            .partition(|f| f == "backlog" || f == "tcp_ut");
        let mut l = listener(&nb[*ni], changed);
        l.not_applied = not_applied;
        d.kept.push(l);
    }
    d.opened = plan
        .open
        .iter()
        .map(|i| listener(&nb[*i], vec![]))
        .collect();
    d.closed = plan
        .close
        .iter()
        .map(|i| listener(&ob[*i], vec![]))
        .collect();
    // Backend references are indexes: old ones are renumbered as the new configuration
    // numbers the same names (a backend gone or renamed gets a number no backend has).
    let remap = |i: usize| -> usize {
        old.backends
            .get(i)
            .and_then(|b| new.backends.iter().position(|n| n.name == b.name))
            .unwrap_or(usize::MAX - i)
    };
    for f in &new.frontends {
        match old.frontends.iter().find(|o| o.name == f.name) {
            None => d.frontends_added.push(f.name.clone()),
            Some(o) => {
                let mut o = o.clone();
                o.default_backend = o.default_backend.map(remap);
                for r in &mut o.switching {
                    if let crate::ir::SwitchTarget::Backend(b) = &mut r.backend {
                        *b = remap(*b);
                    }
                }
                let settings = changed_fields(&o, f, &["binds", "loc", "origin", "uuid"]);
                if !settings.is_empty() {
                    d.frontends_changed.push(ProxyChange {
                        name: f.name.clone(),
                        settings,
                    });
                }
            }
        }
    }
    d.frontends_removed = old
        .frontends
        .iter()
        .filter(|o| !new.frontends.iter().any(|f| f.name == o.name))
        .map(|o| o.name.clone())
        .collect();
    for b in &new.backends {
        match old.backend(&b.name) {
            None => d.backends_added.push(b.name.clone()),
            Some(o) => {
                let mut o = o.clone();
                for r in &mut o.stick_rules {
                    r.table = remap(r.table);
                }
                backend_diff(&mut d, &o, b)
            }
        }
    }
    d.backends_removed = old
        .backends
        .iter()
        .filter(|o| new.backend(&o.name).is_none())
        .map(|o| o.name.clone())
        .collect();
    // A replicated table whose successor replicates too keeps its entries (they move
    // to the new generation, as haproxy's local peer teaches its successor).
    let kept = |name: &str| {
        let replicated = |c: &Config| {
            c.tables
                .iter()
                .any(|t| *t.name == *name && t.table.peers.is_some())
        };
        replicated(old) && replicated(new)
    };
    d.stick_tables_emptied = old
        .backends
        .iter()
        .filter(|b| b.stick_table.is_some() && !kept(&b.name))
        .map(|b| b.name.clone())
        .collect();
    d.restart = restart_settings(&old.global, &new.global);
    d
}

fn list(s: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(s, "{title}:");
    for i in items {
        let _ = writeln!(s, "  {i}");
    }
}

impl ReloadDiff {
    /// True when the reload would change nothing but keep every listener as it is.
    pub fn is_empty(&self) -> bool {
        let only_kept = ReloadDiff {
            kept: self.kept.clone(),
            ..Default::default()
        };
        *self == only_kept
            && self
                .kept
                .iter()
                .all(|l| l.changed.is_empty() && l.not_applied.is_empty())
    }

    /// The text form.
    pub fn text(&self) -> String {
        let mut s = String::from("Reload plan:\n");
        let l = |v: &[Listener]| -> Vec<String> {
            v.iter()
                .map(|l| {
                    let mut t = format!("{} ({})", l.bind, l.proxy);
                    if !l.changed.is_empty() {
                        let _ = write!(t, ": new connections get changed {}", l.changed.join(", "));
                    }
                    if !l.not_applied.is_empty() {
                        let _ = write!(
                            t,
                            "; not applied to the kept socket (a restart applies it): {}",
                            l.not_applied.join(", ")
                        );
                    }
                    t
                })
                .collect()
        };
        list(
            &mut s,
            "listeners kept (socket stays open, no connection refused)",
            &l(&self.kept),
        );
        list(&mut s, "listeners opened", &l(&self.opened));
        list(
            &mut s,
            "listeners closed (new connections refused; established sessions run on)",
            &l(&self.closed),
        );
        list(&mut s, "frontends added", &self.frontends_added);
        list(&mut s, "frontends removed", &self.frontends_removed);
        let pc = |v: &[ProxyChange]| -> Vec<String> {
            v.iter()
                .map(|p| format!("{}: {}", p.name, p.settings.join(", ")))
                .collect()
        };
        list(&mut s, "frontends changed", &pc(&self.frontends_changed));
        list(&mut s, "backends added", &self.backends_added);
        list(
            &mut s,
            "backends removed (their sessions run on until they end)",
            &self.backends_removed,
        );
        list(&mut s, "backends changed", &pc(&self.backends_changed));
        list(&mut s, "servers added", &self.servers_added);
        list(
            &mut s,
            "servers removed (their sessions run on until they end)",
            &self.servers_removed,
        );
        let sc: Vec<String> = self
            .servers_changed
            .iter()
            .map(|c| {
                format!(
                    "{}: {}{}",
                    c.name,
                    c.changes.join("; "),
                    if c.keeps_health {
                        ""
                    } else {
                        " (health state starts anew)"
                    }
                )
            })
            .collect();
        list(&mut s, "servers changed", &sc);
        list(
            &mut s,
            "stick tables emptied (no peers section carries entries over)",
            &self.stick_tables_emptied,
        );
        let rs: Vec<String> = self
            .restart
            .iter()
            .map(|r| {
                format!(
                    "{}: {} -> {}{}",
                    r.setting,
                    r.old,
                    r.new,
                    if r.master_worker_applies {
                        " (a master-worker reload applies it; a standalone reload keeps the old value)"
                    } else {
                        " (only a restart applies it)"
                    }
                )
            })
            .collect();
        list(&mut s, "settings a reload does not apply", &rs);
        if self.is_empty() {
            s.push_str("no change besides that\n");
        }
        s
    }

    /// The JSON form (one object).
    pub fn json(&self) -> String {
        let strs = |v: &[String]| -> String {
            format!(
                "[{}]",
                v.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(",")
            )
        };
        let ls = |v: &[Listener]| -> String {
            let items: Vec<String> = v
                .iter()
                .map(|l| {
                    format!(
                        "{{\"proxy\":{},\"bind\":{},\"changed\":{},\"not_applied\":{}}}",
                        json_str(&l.proxy),
                        json_str(&l.bind),
                        strs(&l.changed),
                        strs(&l.not_applied)
                    )
                })
                .collect();
            format!("[{}]", items.join(","))
        };
        let pc = |v: &[ProxyChange]| -> String {
            let items: Vec<String> = v
                .iter()
                .map(|p| {
                    format!(
                        "{{\"name\":{},\"settings\":{}}}",
                        json_str(&p.name),
                        strs(&p.settings)
                    )
                })
                .collect();
            format!("[{}]", items.join(","))
        };
        let sc: Vec<String> = self
            .servers_changed
            .iter()
            .map(|c| {
                format!(
                    "{{\"name\":{},\"changes\":{},\"keeps_health\":{}}}",
                    json_str(&c.name),
                    strs(&c.changes),
                    c.keeps_health
                )
            })
            .collect();
        let rs: Vec<String> = self
            .restart
            .iter()
            .map(|r| {
                format!(
                    "{{\"setting\":{},\"old\":{},\"new\":{},\"master_worker_applies\":{}}}",
                    json_str(&r.setting),
                    json_str(&r.old),
                    json_str(&r.new),
                    r.master_worker_applies
                )
            })
            .collect();
        format!(
            "{{\"listeners\":{{\"kept\":{},\"opened\":{},\"closed\":{}}},\"frontends\":{{\"added\":{},\"removed\":{},\"changed\":{}}},\"backends\":{{\"added\":{},\"removed\":{},\"changed\":{}}},\"servers\":{{\"added\":{},\"removed\":{},\"changed\":[{}]}},\"stick_tables_emptied\":{},\"restart\":[{}]}}",
            ls(&self.kept),
            ls(&self.opened),
            ls(&self.closed),
            strs(&self.frontends_added),
            strs(&self.frontends_removed),
            pc(&self.frontends_changed),
            strs(&self.backends_added),
            strs(&self.backends_removed),
            pc(&self.backends_changed),
            strs(&self.servers_added),
            strs(&self.servers_removed),
            sc.join(","),
            strs(&self.stick_tables_emptied),
            rs.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        let head = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n";
        crate::config::check_offline(
            "t.cfg",
            format!("{head}{text}").into_bytes(),
            Default::default(),
        )
        .expect("valid")
    }

    #[test]
    fn backends_are_compared_by_name_not_position() {
        let old = cfg("frontend fe\n  bind 127.0.0.1:1\n  default_backend a\nbackend a\n  server s 127.0.0.1:2\nbackend b\n  server s 127.0.0.1:3\n");
        // A backend inserted before the others renumbers them: nothing changed for fe.
        let moved = cfg("frontend fe\n  bind 127.0.0.1:1\n  default_backend a\nbackend z\n  server s 127.0.0.1:4\nbackend a\n  server s 127.0.0.1:2\nbackend b\n  server s 127.0.0.1:3\n");
        let d = diff(&old, &moved);
        assert!(d.frontends_changed.is_empty(), "{d:?}");
        assert_eq!(d.backends_added, ["z"]);
        // A renamed backend at the same position: fe now sends elsewhere.
        let renamed = cfg("frontend fe\n  bind 127.0.0.1:1\n  default_backend a2\nbackend a2\n  server s 127.0.0.1:2\nbackend b\n  server s 127.0.0.1:3\n");
        let d = diff(&old, &renamed);
        assert_eq!(d.frontends_changed.len(), 1, "{d:?}");
        assert_eq!(d.frontends_changed[0].settings, ["default_backend"]);
    }

    #[test]
    fn kept_sockets_keep_their_backlog_and_stats_sockets_their_place() {
        let old = cfg("frontend fe\n  bind 127.0.0.1:1 backlog 10\n  default_backend a\nbackend a\n  server s 127.0.0.1:2\n");
        let new = cfg("frontend fe\n  bind 127.0.0.1:1 backlog 20 accept-proxy\n  default_backend a\nbackend a\n  server s 127.0.0.1:2\n");
        let d = diff(&old, &new);
        assert_eq!(d.kept[0].not_applied, ["backlog"]);
        assert_eq!(d.kept[0].changed, ["accept_proxy"]);
        let g1 = crate::config::check_offline("t.cfg", b"global\n  stats socket 127.0.0.1:9 level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten l\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n".to_vec(), Default::default()).unwrap();
        let g2 = crate::config::check_offline("t.cfg", b"global\n  # a comment moves the socket's line\n  stats socket 127.0.0.1:9 level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten l\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n".to_vec(), Default::default()).unwrap();
        assert!(diff(&g1, &g2).restart.is_empty());
    }
}
