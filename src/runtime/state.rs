//! Live state built from the IR: counters, balancer and queues per backend and server.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, Semaphore};

use super::balance::Balancer;
use super::forward::Registry;
use super::health::Health;
use super::log::Logger;
use crate::ir::{Backend, Config, Frontend, Server};

/// A frontend (or the frontend side of a listen).
#[derive(Debug)]
pub struct FrontendRt {
    /// Its configuration.
    pub ir: Frontend,
    /// Sessions now (`feconn`).
    pub feconn: AtomicU32,
    /// Sessions since start.
    pub cumulated: AtomicU64,
}

/// A server with its live counters.
#[derive(Debug)]
pub struct ServerRt {
    /// Its configuration.
    pub ir: Server,
    /// Sessions now (`srv_conn`).
    pub sessions: AtomicU32,
    /// Sessions waiting in its queue.
    pub queued: AtomicU32,
    /// `maxconn` slots, when limited: waiting on it is the server queue (FIFO).
    pub slots: Option<Arc<Semaphore>>,
    /// Health-check state (servers without `check` stay UP).
    pub health: Mutex<Health>,
    /// Its forwarding sessions, to end them (hard stop, `on-marked-down shutdown-sessions`).
    pub cancels: Registry,
    /// Administrative state set by the operator ([`Admin`] as u8); `disabled` starts in MAINT.
    pub admin: AtomicU8,
    /// Sessions it took since start (`stot`).
    pub cumulated: AtomicU64,
    /// TLS towards it (`ssl`); checked when the configuration was loaded.
    pub tls: Option<super::tls_client::Connector>,
}

/// A server's administrative state (management.txt `set server … state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    /// Takes traffic when its checks say UP.
    Ready = 0,
    /// Keeps its sessions, gets no new ones.
    Drain = 1,
    /// Maintenance: no new sessions, no checks.
    Maint = 2,
}

impl ServerRt {
    /// The operator's state for this server.
    pub fn admin(&self) -> Admin {
        match self.admin.load(Relaxed) {
            1 => Admin::Drain,
            2 => Admin::Maint,
            _ => Admin::Ready,
        }
    }

    /// Where to connect for a client that reached `dst_port` (port 0 and `+N` follow it).
    pub fn target(&self, dst_port: u16) -> Option<SocketAddr> {
        let ip = self.ir.addr?;
        let port = match (self.ir.port, self.ir.port_offset) {
            (_, Some(off)) => (dst_port as i32 + off).clamp(0, 65535) as u16,
            (0, None) => dst_port,
            (p, None) => p,
        };
        Some(SocketAddr::new(ip, port))
    }
}

/// A backend (or the backend side of a listen).
#[derive(Debug)]
pub struct BackendRt {
    /// Its configuration.
    pub ir: Backend,
    /// Server choice state, shared by every thread as in HAProxy.
    pub lb: Mutex<Balancer>,
    /// Servers in configuration order.
    pub servers: Vec<ServerRt>,
    /// Sessions now (`beconn`).
    pub beconn: AtomicU32,
    /// Sessions since start.
    pub cumulated: AtomicU64,
    /// Sessions waiting in any server queue.
    pub queued: AtomicU32,
    /// Its `stick-table`, empty at every (re)load.
    pub stick: Option<super::stick::Table>,
}

impl BackendRt {
    fn new(ir: Backend) -> Self {
        let slots: Vec<_> = ir
            .servers
            .iter()
            .map(|s| {
                (
                    s.weight,
                    s.backup,
                    !s.disabled && s.addr.is_some(),
                    s.maxconn,
                )
            })
            .collect();
        let ids: Vec<u32> = ir.servers.iter().map(|s| s.id).collect();
        let lb = Balancer::with_ids(
            ir.balance.clone(),
            ir.hash_type,
            ir.allbackups,
            &slots,
            &ids,
        );
        let servers = ir
            .servers
            .iter()
            .map(|s| ServerRt {
                ir: s.clone(),
                sessions: AtomicU32::new(0),
                queued: AtomicU32::new(0),
                slots: (s.maxconn > 0).then(|| Arc::new(Semaphore::new(s.maxconn as usize))),
                health: Mutex::new(
                    s.check
                        .as_ref()
                        .map_or(Health::new(1, 1), |c| Health::new(c.rise, c.fall)),
                ),
                cancels: Registry::default(),
                admin: AtomicU8::new(if s.disabled {
                    Admin::Maint
                } else {
                    Admin::Ready
                } as u8),
                cumulated: AtomicU64::new(0),
                tls: super::tls_client::connector(s).ok().flatten(),
            })
            .collect();
        BackendRt {
            lb: Mutex::new(lb),
            servers,
            beconn: AtomicU32::new(0),
            cumulated: AtomicU64::new(0),
            queued: AtomicU32::new(0),
            stick: ir.stick_table.clone().map(super::stick::Table::new),
            ir,
        }
    }

    /// Picks a server for a client from `src` and counts the session on it.
    pub fn pick(&self, src: IpAddr) -> Option<usize> {
        self.pick_with(src, None, None)
    }

    /// As [`BackendRt::pick`], with `balance hash`'s input and a server to avoid (the one
    /// a redispatch leaves).
    pub fn pick_with(
        &self,
        src: IpAddr,
        input: Option<&[u8]>,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        let s = lb.pick_with(Some(src), input, avoid)?;
        lb.track(s, true);
        self.servers[s].sessions.fetch_add(1, Relaxed);
        self.servers[s].cumulated.fetch_add(1, Relaxed);
        Some(s)
    }

    /// Takes server `s` for a session that sticks to it, when `s` can take traffic now
    /// (up and not in maintenance; weight 0, drain and backup servers still can).
    pub fn take_sticky(&self, s: usize) -> bool {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        if !lb.slots.get(s).is_some_and(|x| x.usable) {
            return false;
        }
        lb.track(s, true);
        self.servers[s].sessions.fetch_add(1, Relaxed);
        self.servers[s].cumulated.fetch_add(1, Relaxed);
        true
    }

    /// The session on server `s` ended (or moved elsewhere).
    pub fn release(&self, s: usize) {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        lb.track(s, false);
        self.servers[s].sessions.fetch_sub(1, Relaxed);
    }

    /// Whether server `s` can take traffic now (up, not in maintenance or drained).
    pub fn usable(&self, s: usize) -> bool {
        let lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        lb.slots.get(s).is_some_and(|x| x.usable)
    }

    /// Active (non-backup) servers that can take traffic now.
    pub fn active_usable(&self) -> usize {
        let lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        lb.slots
            .iter()
            .filter(|s| !s.backup && s.usable && s.weight > 0)
            .count()
    }
}

/// Everything sessions share.
#[derive(Debug)]
pub struct Shared {
    /// Frontends in configuration order.
    pub frontends: Vec<FrontendRt>,
    /// Backends in configuration order.
    pub backends: Vec<BackendRt>,
    /// Sessions in the process (`actconn`), shared by every configuration generation.
    pub actconn: Arc<AtomicU32>,
    /// Log output.
    pub logger: Logger,
    /// Woken when the last session ends (soft stop waits on it); shared across reloads.
    pub idle: Arc<Notify>,
    /// Set when a reload replaced this generation: its health checks stop.
    pub retired: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// Live state for `cfg`.
    pub fn new(cfg: &Config, logger: Logger) -> Self {
        Shared {
            frontends: cfg
                .frontends
                .iter()
                .map(|f| FrontendRt {
                    ir: f.clone(),
                    feconn: AtomicU32::new(0),
                    cumulated: AtomicU64::new(0),
                })
                .collect(),
            backends: cfg.backends.iter().cloned().map(BackendRt::new).collect(),
            actconn: Arc::new(AtomicU32::new(0)),
            logger,
            idle: Arc::new(Notify::new()),
            retired: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The next generation after a reload: process-wide counters are shared, and servers
    /// present in both (same backend, name, address and port) keep their health, so a
    /// reload causes no DOWN/UP flap.
    pub fn successor(cfg: &Config, logger: Logger, prev: &Shared) -> Self {
        let mut next = Shared::new(cfg, logger);
        next.actconn = prev.actconn.clone();
        next.idle = prev.idle.clone();
        for b in &next.backends {
            let Some(old) = prev.backends.iter().find(|o| o.ir.name == b.ir.name) else {
                continue;
            };
            for (si, s) in b.servers.iter().enumerate() {
                let same = old.servers.iter().find(|o| {
                    o.ir.name == s.ir.name && o.ir.addr == s.ir.addr && o.ir.port == s.ir.port
                });
                let Some(o) = same else { continue };
                let h = *o.health.lock().unwrap_or_else(|e| e.into_inner());
                let was_up = old
                    .lb
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .slots
                    .iter()
                    .zip(&old.servers)
                    .any(|(slot, os)| std::ptr::eq(os, o) && slot.usable)
                    // Drain and maintenance are the operator's, and end with a reload as
                    // with HAProxy (no server-state file): what counts is the checks' view.
                    || (o.admin() != Admin::Ready && h.up());
                if s.ir.check.is_some() && o.ir.check.is_some() {
                    let mut nh = s.health.lock().unwrap_or_else(|e| e.into_inner());
                    // Same counter position, rescaled if rise/fall changed.
                    let fully_up = h.h == h.rise + h.fall - 1;
                    nh.h = match (h.up(), fully_up) {
                        (true, true) => nh.rise + nh.fall - 1,
                        (true, false) => nh.rise,
                        (false, _) => h.h.min(nh.rise.saturating_sub(1)),
                    };
                    nh.last_ok = h.last_ok;
                }
                if !was_up && !s.ir.disabled {
                    b.lb.lock().unwrap_or_else(|e| e.into_inner()).set_down(si);
                }
            }
        }
        next
    }

    /// Marks this generation replaced: its health checks end.
    pub fn retire(&self) {
        self.retired.store(true, Relaxed);
    }

    /// Hard stop: every forwarding session ends now.
    pub fn cancel_all(&self) {
        for b in &self.backends {
            for s in &b.servers {
                s.cancels.cancel_all();
            }
        }
    }

    /// Called when a session task ends.
    pub fn session_ended(&self) {
        if self.actconn.load(Relaxed) == 0 {
            self.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cfg(text: &str) -> Config {
        crate::config::check_offline("t.cfg", text.as_bytes().to_vec(), BTreeMap::new())
            .expect("valid")
    }

    #[test]
    fn successor_keeps_health_of_the_same_servers_only() {
        let base = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten li\n  bind 127.0.0.1:1\n";
        let old = Shared::new(
            &cfg(&format!(
                "{base}  server a 127.0.0.2:1 check\n  server b 127.0.0.3:1 check\n"
            )),
            Logger::new("t", None, false),
        );
        // b goes DOWN in the old generation.
        old.backends[0].servers[1]
            .health
            .lock()
            .unwrap()
            .record(false);
        old.backends[0].lb.lock().unwrap().set_down(1);
        // New config: same a and b, plus b moved to another address under the name c.
        let new_cfg = cfg(&format!("{base}  server a 127.0.0.2:1 check\n  server b 127.0.0.3:1 check\n  server c 127.0.0.4:1 check\n"));
        let next = Shared::successor(&new_cfg, Logger::new("t", None, false), &old);
        let lb = next.backends[0].lb.lock().unwrap();
        assert!(lb.slots[0].usable, "a stays UP");
        assert!(!lb.slots[1].usable, "b stays DOWN: no flap");
        assert!(lb.slots[2].usable, "c is new: UP as at start-up");
        assert!(!next.backends[0].servers[1].health.lock().unwrap().up());
        assert!(
            Arc::ptr_eq(&next.actconn, &old.actconn),
            "process-wide counters are shared"
        );
    }
}
