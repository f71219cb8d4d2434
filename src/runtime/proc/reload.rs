//! Reload planning: what a new configuration keeps, opens and closes (issue: reload on
//! SIGHUP/SIGUSR2 without dropping a connection). Pure functions, unit-tested; the runtime
//! applies the plan.
//!
//! A listener whose address and socket options are unchanged keeps its socket, so there is
//! no moment where connects are refused; servers present in both configurations (same
//! backend, name and address) keep their health state.

use std::sync::Arc;

use crate::ir::{Bind, Config, ListenAddr};

/// The configuration read again for a reload.
#[derive(Debug)]
pub struct Reread {
    /// The IR, when the configuration is valid.
    pub config: Option<Config>,
    /// What `-c` would print on standard error (warnings, alerts), in haproxy's order.
    pub messages: String,
}

/// Reads the `-f` sources again. The entry point builds it, so the runtime never parses
/// configuration text itself and never names the config module.
#[derive(Clone)]
pub struct Loader(Arc<dyn Fn() -> Reread + Send + Sync>);

impl Loader {
    /// A loader calling `f` on each reload.
    pub fn new(f: impl Fn() -> Reread + Send + Sync + 'static) -> Self {
        Loader(Arc::new(f))
    }

    /// Reads the configuration on a blocking thread (file reads, certificate checks);
    /// `None` when the reading itself panicked.
    pub async fn reread(&self) -> Option<Reread> {
        let f = self.0.clone();
        tokio::task::spawn_blocking(move || f()).await.ok()
    }
}

impl Default for Loader {
    /// Refuses every reload: for runs started without configuration files.
    fn default() -> Self {
        Loader::new(|| Reread {
            config: None,
            messages: String::new(),
        })
    }
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loader")
    }
}

/// What identifies a listening socket across reloads: address and socket options.
pub fn listener_key(b: &Bind) -> String {
    let addr = match &b.addr {
        ListenAddr::Inet(a) => a.to_string(),
        ListenAddr::Unix(p) => format!("unix@{p}"),
        ListenAddr::Fd(n) => format!("fd@{n}"),
    };
    format!(
        "{addr}|v4v6={}|v6only={}|transparent={}|mss={:?}|defer={}|tfo={}|if={:?}",
        b.v4v6, b.v6only, b.transparent, b.mss, b.defer_accept, b.tfo, b.interface
    )
}

/// Keys of `cfg`'s listeners in order (to pick inherited sockets).
pub fn listener_keys(cfg: &Config) -> Vec<String> {
    cfg.frontends
        .iter()
        .flat_map(|f| f.binds.iter().map(listener_key))
        .collect()
}

/// The listeners of a reload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// (index in the old listener list, index in the new one): the socket is kept.
    pub keep: Vec<(usize, usize)>,
    /// New listeners to bind (index in the new list).
    pub open: Vec<usize>,
    /// Old listeners to close (index in the old list).
    pub close: Vec<usize>,
}

/// Matches old listener keys with new ones (each old socket is reused at most once).
pub fn plan(old: &[String], new: &[String]) -> Plan {
    let mut used = vec![false; old.len()];
    let mut p = Plan::default();
    for (ni, k) in new.iter().enumerate() {
        match old
            .iter()
            .enumerate()
            .position(|(oi, ok)| !used[oi] && ok == k)
        {
            Some(oi) => {
                used[oi] = true;
                p.keep.push((oi, ni));
            }
            None => p.open.push(ni),
        }
    }
    p.close = (0..old.len()).filter(|i| !used[*i]).collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn unchanged_listeners_are_kept() {
        let p = plan(&keys(&["a", "b"]), &keys(&["a", "b"]));
        assert_eq!(
            p,
            Plan {
                keep: vec![(0, 0), (1, 1)],
                open: vec![],
                close: vec![]
            }
        );
    }

    #[test]
    fn added_removed_and_moved() {
        let p = plan(&keys(&["a", "b", "c"]), &keys(&["c", "d", "a"]));
        assert_eq!(p.keep, vec![(2, 0), (0, 2)]);
        assert_eq!(p.open, vec![1]);
        assert_eq!(p.close, vec![1]);
    }

    #[test]
    fn duplicates_reuse_each_socket_once() {
        let p = plan(&keys(&["a"]), &keys(&["a", "a"]));
        assert_eq!(p.keep, vec![(0, 0)]);
        assert_eq!(p.open, vec![1]);
    }
}
