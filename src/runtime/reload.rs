//! Reload planning: what a new configuration keeps, opens and closes (issue: reload on
//! SIGHUP/SIGUSR2 without dropping a connection). Pure functions, unit-tested; the runtime
//! applies the plan.
//!
//! A listener whose address and socket options are unchanged keeps its socket, so there is
//! no moment where connects are refused; servers present in both configurations (same
//! backend, name and address) keep their health state.

use crate::ir::{Bind, ListenAddr};

/// What identifies a listening socket across reloads: address and socket options.
pub fn listener_key(b: &Bind) -> String {
    let addr = match &b.addr {
        ListenAddr::Inet(a) => a.to_string(),
        ListenAddr::Unix(p) => format!("unix@{p}"),
        ListenAddr::Fd(n) => format!("fd@{n}"),
    };
    format!(
        "{addr}|v4v6={}|v6only={}|transparent={}",
        b.v4v6, b.v6only, b.transparent
    )
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
