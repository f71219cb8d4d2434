//! `server … track [<backend>/]<server>`: which server each tracking server follows,
//! resolved as haproxy's `srv_apply_track` does, backend by backend and server by server
//! in configuration order (so the same server of a loop is the one refused), with its
//! messages.

use std::collections::HashMap;

use super::ast::ProxyConf;
use super::diag::{Diagnostic, Diagnostics, LocStyle};

/// A server by (backend index among the proxies with a backend side, server index).
pub type At = (usize, usize);

/// Resolved `track` settings: tracking server to tracked server.
#[derive(Debug, Default)]
pub struct Tracks {
    /// Tracking server to the server it follows.
    pub of: HashMap<At, At>,
}

impl Tracks {
    /// Resolves the `track` lines of backend `bi` (`p`), among `backends` (the proxies
    /// with a backend side, in order); refusals go to `diags` when given.
    pub fn resolve_backend(
        &mut self,
        bi: usize,
        backends: &[&ProxyConf],
        mut diags: Option<&mut Diagnostics>,
    ) {
        let p = backends[bi];
        for (si, s) in p.servers.iter().enumerate() {
            let Some(text) = &s.opts.track else { continue };
            match self.one((bi, si), text, backends) {
                Ok(t) => {
                    self.of.insert((bi, si), t);
                }
                Err(msg) => {
                    if let Some(d) = diags.as_deref_mut() {
                        let m = format!("'server {}/{}' : {msg}", p.name, s.name);
                        d.push(
                            Diagnostic::alert(&s.loc, m)
                                .styled(LocStyle::Bare)
                                .checked(),
                        );
                    }
                }
            }
        }
    }

    fn one(&self, me: At, text: &str, backends: &[&ProxyConf]) -> Result<At, String> {
        let (px, sname) = match text.rsplit_once('/') {
            Some((pname, sname)) => {
                let Some(px) = backends.iter().position(|b| b.name == pname) else {
                    return Err(format!(
                        "unable to find required proxy '{pname}' for tracking."
                    ));
                };
                (px, sname)
            }
            None => (me.0, text),
        };
        let b = backends[px];
        let Some(si) = b.servers.iter().position(|s| s.name == sname) else {
            return Err(format!(
                "unable to find required server '{sname}' for tracking."
            ));
        };
        let strack = &b.servers[si];
        if !strack.opts.check && !strack.opts.agent_check && strack.opts.track.is_none() {
            return Err(format!(
                "unable to use {}/{} for tracking as it does not have any check nor agent enabled.",
                b.name, strack.name
            ));
        }
        // haproxy names the tracked proxy with the looping server, wherever it is.
        let mut at = self.of.get(&(px, si)).copied();
        while let Some(l) = at.filter(|&l| l != me) {
            at = self.of.get(&l).copied();
        }
        if me == (px, si) || at.is_some() {
            let back = at.map_or(&strack.name, |(lb, ls)| &backends[lb].servers[ls].name);
            return Err(format!(
                "unable to track {}/{} as it belongs to a tracking chain looping back to {}/{back}.",
                b.name, strack.name, b.name
            ));
        }
        Ok((px, si))
    }
}

/// Every `track` of the configuration, without messages (the diagnostics pass gave them).
pub fn resolve_all(proxies: &[ProxyConf]) -> Tracks {
    let backends: Vec<&ProxyConf> = proxies.iter().filter(|p| p.kind.caps() & 4 != 0).collect();
    let mut t = Tracks::default();
    for bi in 0..backends.len() {
        t.resolve_backend(bi, &backends, None);
    }
    t
}
