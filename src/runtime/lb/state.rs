//! Live state built from the IR: counters, balancer and queues per backend and server.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, Notify};

use crate::ir::{Backend, Config, Frontend, Server};
use crate::runtime::cancel::Registry;
use crate::runtime::lb::balance::Balancer;
use crate::runtime::lb::health::Health;
use crate::runtime::lb::queue::{Line, Queues};
use crate::runtime::log::Logger;

/// A frontend (or the frontend side of a listen).
#[derive(Debug)]
pub struct FrontendRt {
    /// Its configuration.
    pub ir: Frontend,
    /// Sessions now (`feconn`).
    pub feconn: AtomicU32,
    /// Sessions since start, counted once past the `tcp-request session` rules
    /// (haproxy's cum_sess, `show stat` stot).
    pub cumulated: AtomicU64,
    /// The generation's `proc.` variables (one set shared by every frontend).
    pub proc_vars: Arc<crate::runtime::rules::vars::ProcVars>,
    /// The configuration's stick tables (shared with [`Shared::tables`]).
    pub tables: Arc<[crate::runtime::lb::stick::Table]>,
    /// Whether its listeners accept (`disable`, `enable`, `shutdown frontend`).
    pub listening: tokio::sync::watch::Sender<Listening>,
    /// Its sessions per second, limited by `rate-limit sessions`.
    pub sess_rate: crate::runtime::freq::Rate,
    /// Its `maxconn` slots (`set maxconn frontend`): its own `maxconn`, else the
    /// process's starting one (see [`Shared::with_global_maxconn`]).
    pub slots: Option<Arc<crate::runtime::limit::DynLimit>>,
    /// Lines its log format produced (`%lc`).
    pub log_count: AtomicU32,
    /// Connections its listeners accepted, kept or not (`show stat` conn_tot), and
    /// their rate (conn_rate, conn_rate_max).
    pub conn_tot: AtomicU64,
    /// See [`FrontendRt::conn_tot`].
    pub conn_rate: crate::runtime::freq::Rate,
    /// Its HTTP requests as they come and responses as they end (`req_tot`, `hrsp_*`).
    pub http: crate::runtime::lb::counters::HttpCounters,
    /// Its bytes and most sessions at once (`bin`, `bout`, `smax`).
    pub traffic: crate::runtime::lb::counters::Traffic,
    /// What its rules refused and the requests it could not read.
    pub refused: crate::runtime::lb::counters::Refused,
    /// Its HTTP requests per second (`req_rate`, `req_rate_max`).
    pub req_rate: crate::runtime::freq::Rate,
    /// Requests it answered itself: monitor, redirect, `return`, stats (`intercepted`).
    pub intercepted: AtomicU64,
}

impl FrontendRt {
    /// One more HTTP request (haproxy's proxy_inc_fe_req_ctr).
    pub fn http_request(&self) {
        self.http.request();
        self.req_rate.add();
    }

    /// A transaction's end with `status` sent (0: none): counted in an HTTP frontend,
    /// as haproxy's stream end counts it.
    pub fn http_response(&self, status: u16) {
        if status != 0 && self.ir.http.is_some() {
            self.http.response(status);
        }
    }
}

/// The process's accept rates and their limits (`maxconnrate`, `maxsessrate`,
/// `maxsslrate`, `set rate-limit`).
#[derive(Debug, Default)]
pub struct Rates {
    /// Connections accepted.
    pub connections: crate::runtime::freq::Rate,
    /// Sessions (connections the `tcp-request connection` rules kept).
    pub sessions: crate::runtime::freq::Rate,
    /// Sessions on TLS listeners.
    pub ssl: crate::runtime::freq::Rate,
}

/// A frontend's listeners as the stats socket leaves them (haproxy's proxy states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listening {
    /// Accepting: `OPEN`.
    Ready,
    /// Not listening until enabled again (clients are refused): `PAUSED`.
    Paused,
    /// Closed for good: `STOP`.
    Stopped,
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
    /// Health-check state (servers without `check` stay UP).
    pub health: Mutex<Health>,
    /// `agent-check` state: its own health (rise 1, fall 1) and last status.
    pub agent: Mutex<crate::runtime::lb::agent::AgentState>,
    /// Its forwarding sessions, to end them (hard stop, `on-marked-down shutdown-sessions`).
    pub cancels: Registry,
    /// Admin flags ([`FMAINT`], [`FDRAIN`], [`IMAINT`], [`IDRAIN`]): the operator's, and
    /// those inherited from a tracked server; `disabled` starts in FMAINT.
    pub admin: AtomicU8,
    /// Sessions it took since start (`stot`).
    pub cumulated: AtomicU64,
    /// Its HTTP responses, counted as they come (`req_tot`, `hrsp_*`).
    pub http: crate::runtime::lb::counters::HttpCounters,
    /// Times the balancing algorithm chose it (`lbtot`).
    pub lbtot: AtomicU64,
    /// Its bytes and most sessions at once (`bin`, `bout`, `smax`).
    pub traffic: crate::runtime::lb::counters::Traffic,
    /// Failed connections, retries and redispatches (`econ`, `wretr`, `wredis`).
    pub conn: crate::runtime::lb::counters::ConnCounters,
    /// Its last session (`lastsess`).
    pub last_sess: crate::runtime::lb::counters::LastSession,
    /// TLS towards it for traffic (`ssl`); checked when the configuration was loaded.
    pub tls: Option<crate::runtime::tls::client::Connector>,
    /// TLS for its health checks (`check-ssl`, or `ssl` where the checks go too).
    pub check_tls: Option<crate::runtime::tls::client::Connector>,
    /// The last check's result (`show stat`'s check columns).
    pub last_check: Mutex<Option<crate::runtime::lb::health::Outcome>>,
    /// Checks that failed while the health could still drop (`chkfail`).
    pub chkfail: AtomicU64,
    /// UP to DOWN transitions (`chkdown`).
    pub chkdown: AtomicU64,
    /// Its last state change, or the start (`lastchg`).
    pub lastchg: Mutex<std::time::Instant>,
    /// Idle HTTP connections for later requests.
    pub idle: crate::runtime::lb::idle::IdlePool,
    /// The servers whose `track` names this one, in the order haproxy tells them of a
    /// change (the last one declared first).
    pub trackers: Vec<(usize, usize)>,
    /// `observe`: traffic errors in a row (haproxy's `consecutive_errors`).
    pub consecutive_errors: AtomicU32,
    /// Times `on-error` acted (`hanafail`).
    pub hanafail: AtomicU64,
    /// Wakes the check task early (`on-error` asks for the next check at `fastinter`).
    pub check_soon: Notify,
    /// The health check runs (`disable health` stops it, the state frozen).
    pub check_enabled: std::sync::atomic::AtomicBool,
    /// The agent asks (`disable agent`).
    pub agent_enabled: std::sync::atomic::AtomicBool,
    /// The next port of a `source` port range to try.
    pub source_port: AtomicU32,
    /// Where the server, its check and its agent are reached now (`set server … addr`).
    pub endpoint: std::sync::RwLock<crate::runtime::lb::endpoint::Endpoint>,
}

/// Admin flag: maintenance set by the operator (or `disabled`).
pub const FMAINT: u8 = 1;
/// Admin flag: drain set by the operator.
pub const FDRAIN: u8 = 2;
/// Admin flag: maintenance inherited from the tracked server.
pub const IMAINT: u8 = 4;
/// Admin flag: drain inherited from the tracked server.
pub const IDRAIN: u8 = 8;
/// Any maintenance flag.
pub const MAINT: u8 = FMAINT | IMAINT;
/// Any drain flag.
pub const DRAIN: u8 = FDRAIN | IDRAIN;

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
        let f = self.admin.load(Relaxed);
        if f & MAINT != 0 {
            Admin::Maint
        } else if f & DRAIN != 0 {
            Admin::Drain
        } else {
            Admin::Ready
        }
    }

    /// A health check is configured and enabled (haproxy's CHK_ST_ENABLED).
    pub fn checking(&self) -> bool {
        self.ir.check.is_some() && self.check_enabled.load(Relaxed)
    }

    /// An agent is configured and enabled.
    pub fn asking(&self) -> bool {
        self.ir.agent.is_some() && self.agent_enabled.load(Relaxed)
    }

    /// Whether its checks let it run: the health check (if any) and the agent (if any)
    /// both say UP, as haproxy's check_notify_success requires.
    pub fn running(&self) -> bool {
        let h = *self.health.lock().unwrap_or_else(|e| e.into_inner());
        // A server neither checked nor tracking runs unless a saved state stopped it;
        // its health is only what haproxy would show for it.
        let check = match (&self.ir.check, self.ir.track) {
            (None, None) => h.last_ok != Some(false),
            _ => h.up(),
        };
        check
            && (self.ir.agent.is_none()
                || self
                    .agent
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .health
                    .up())
    }

    /// Not stopped (haproxy's `cur_state != SRV_ST_STOPPED`): its checks say UP and it is
    /// not in maintenance. A drained server (or one of weight 0) still takes the sessions
    /// a cookie, a `use-server` or a stick rule sends it.
    pub fn persistable(&self) -> bool {
        self.admin() != Admin::Maint && self.running()
    }

    /// In maintenance with forced drain kept beneath it (haproxy's two admin flags:
    /// leaving maintenance then leaves the server draining).
    pub fn drain_kept(&self) -> bool {
        let f = self.admin.load(Relaxed);
        f & MAINT != 0 && f & DRAIN != 0
    }

    /// Where the server is reached now.
    pub fn endpoint(&self) -> crate::runtime::lb::endpoint::Endpoint {
        self.endpoint
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Where to connect for a client that reached `dst`: port 0 and `+N` follow its
    /// port, and a server without an address (`0.0.0.0`, `::`) takes the client's
    /// destination address (assign_server_address: handy to remap ports on many
    /// addresses).
    pub fn target_for(&self, dst: SocketAddr) -> Option<SocketAddr> {
        let ep = self.endpoint.read().unwrap_or_else(|e| e.into_inner());
        let mut a = ep.target(dst.port())?;
        if a.ip().is_unspecified() {
            a.set_ip(dst.ip());
        }
        Some(a)
    }
}

/// The balancer and the queues, under one lock: a slot cannot free between "every
/// server is full" and "queued". Reads through to the balancer.
#[derive(Debug)]
pub struct Lb {
    /// Server choice.
    pub bal: Balancer,
    /// Sessions waiting for a slot.
    pub queues: Queues,
}

impl std::ops::Deref for Lb {
    type Target = Balancer;
    fn deref(&self) -> &Balancer {
        &self.bal
    }
}

impl std::ops::DerefMut for Lb {
    fn deref_mut(&mut self) -> &mut Balancer {
        &mut self.bal
    }
}

/// What a new session gets from its backend.
#[derive(Debug)]
pub enum Assigned {
    /// A slot on this server now.
    Now(usize),
    /// A place in a queue: ticket, where (`Line`), 1-based position, and where the
    /// server will come from.
    Queued(u64, Line, u32, oneshot::Receiver<usize>),
    /// The chosen server's queue is at its `maxqueue`.
    QueueFull(usize),
    /// No server can take traffic.
    NoServer,
}

/// A backend (or the backend side of a listen).
#[derive(Debug)]
pub struct BackendRt {
    /// Its configuration.
    pub ir: Backend,
    /// Server choice and queues, shared by every thread as in HAProxy.
    pub lb: Mutex<Lb>,
    /// Servers in configuration order.
    pub servers: Vec<ServerRt>,
    /// Sessions now (`beconn`).
    pub beconn: AtomicU32,
    /// Sessions since start.
    pub cumulated: AtomicU64,
    /// Its HTTP transactions, counted as they end (`req_tot`, `hrsp_*`).
    pub http: crate::runtime::lb::counters::HttpCounters,
    /// Times its balancing algorithm chose a server (`lbtot`).
    pub lbtot: AtomicU64,
    /// Its bytes and most sessions at once (`bin`, `bout`, `smax`).
    pub traffic: crate::runtime::lb::counters::Traffic,
    /// Failed connections, retries and redispatches (`econ`, `wretr`, `wredis`).
    pub conn: crate::runtime::lb::counters::ConnCounters,
    /// Requests its own `http-request deny|tarpit` rules denied (`dreq`).
    pub denied: AtomicU64,
    /// Its last session given a server (`lastsess`).
    pub last_sess: crate::runtime::lb::counters::LastSession,
    /// Sessions waiting in the backend's own queue (any server will do).
    pub queued: AtomicU32,
    /// Its last change between UP and DOWN, or the start (`lastchg`).
    pub lastchg: Mutex<std::time::Instant>,
    /// Seconds it spent DOWN before its last change (haproxy's `down_time`).
    pub down_time: AtomicU64,
}

impl BackendRt {
    /// Its usable servers went from `before` to `after` (active, backup): the first one
    /// back or the last one gone is a change of the backend's own state, whose time
    /// `lastchg` shows; leaving DOWN adds the time spent there to `downtime` when a
    /// server's state brought it back (`by_state`), not when one left maintenance
    /// (haproxy's srv_update_status, measured).
    pub fn usable_changed(&self, before: (usize, usize), after: (usize, usize), by_state: bool) {
        let (was, is) = (before.0 + before.1 > 0, after.0 + after.1 > 0);
        if was == is {
            return;
        }
        let mut last = self.lastchg.lock().unwrap_or_else(|e| e.into_inner());
        if is && by_state {
            self.down_time.fetch_add(last.elapsed().as_secs(), Relaxed);
        }
        *last = std::time::Instant::now();
    }

    /// Seconds spent DOWN (`downtime`): the time of the current stay too when DOWN now.
    pub fn downtime(&self, down_now: bool) -> u64 {
        let before = self.down_time.load(Relaxed);
        if !down_now {
            return before;
        }
        let last = self.lastchg.lock().unwrap_or_else(|e| e.into_inner());
        before + last.elapsed().as_secs()
    }

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
        let mut bal = Balancer::with_ids(
            ir.balance.clone(),
            ir.hash_type,
            ir.allbackups,
            &slots,
            &ids,
        );
        for (slot, s) in bal.slots.iter_mut().zip(&ir.servers) {
            slot.maxqueue = s.maxqueue;
        }
        bal.balance_factor = ir.hash_balance_factor;
        let lb = Lb {
            bal,
            queues: Queues::new(ir.servers.len()),
        };
        let servers = ir
            .servers
            .iter()
            .map(|s| {
                let connector = crate::runtime::tls::client::connector(s).ok().flatten();
                ServerRt {
                    ir: s.clone(),
                    sessions: AtomicU32::new(0),
                    queued: AtomicU32::new(0),
                    // Without a check, haproxy's default rise and fall still set the
                    // health a saved state shows.
                    health: Mutex::new({
                        let mut h = s
                            .check
                            .as_ref()
                            .map_or(Health::new(2, 3), |c| Health::new(c.rise, c.fall));
                        // Starting in maintenance zeroes it, as entering it does.
                        if s.disabled && s.track.is_none() {
                            h.h = 0;
                        }
                        h
                    }),
                    agent: Mutex::default(),
                    cancels: Registry::default(),
                    admin: AtomicU8::new(if s.disabled { FMAINT } else { 0 }),
                    cumulated: AtomicU64::new(0),
                    tls: connector
                        .clone()
                        .filter(|_| s.tls.as_ref().is_some_and(|t| t.traffic)),
                    check_tls: crate::runtime::tls::client::check_connector(s)
                        .ok()
                        .flatten(),
                    last_check: Mutex::new(None),
                    chkfail: AtomicU64::new(0),
                    chkdown: AtomicU64::new(0),
                    http: Default::default(),
                    lbtot: AtomicU64::new(0),
                    traffic: Default::default(),
                    conn: Default::default(),
                    last_sess: Default::default(),
                    lastchg: Mutex::new(std::time::Instant::now()),
                    idle: Default::default(),
                    trackers: Vec::new(),
                    consecutive_errors: AtomicU32::new(0),
                    hanafail: AtomicU64::new(0),
                    check_soon: Notify::new(),
                    source_port: AtomicU32::new(0),
                    endpoint: std::sync::RwLock::new(crate::runtime::lb::endpoint::Endpoint::of(s)),
                    check_enabled: std::sync::atomic::AtomicBool::new(true),
                    agent_enabled: std::sync::atomic::AtomicBool::new(true),
                }
            })
            .collect();
        BackendRt {
            lb: Mutex::new(lb),
            servers,
            beconn: AtomicU32::new(0),
            cumulated: AtomicU64::new(0),
            http: Default::default(),
            lbtot: AtomicU64::new(0),
            traffic: Default::default(),
            conn: Default::default(),
            denied: AtomicU64::new(0),
            last_sess: Default::default(),
            queued: AtomicU32::new(0),
            lastchg: Mutex::new(std::time::Instant::now()),
            down_time: AtomicU64::new(0),
            ir,
        }
    }

    /// Picks a server for a client from `src` and counts the session on it (None: no
    /// server now; the session does not queue).
    pub fn pick(&self, src: IpAddr) -> Option<usize> {
        match self.assign(src, None, None, None) {
            Assigned::Now(s) => Some(s),
            _ => None,
        }
    }

    /// Finds a slot for a new session as haproxy's `assign_server_and_queue` does: the
    /// `sticky` server (chosen by persistence, which checked its state) or the balancer's choice (`input` for `balance
    /// hash`, `avoid` on a redispatch); a full server queues the session on itself, up to
    /// its `maxqueue`; when every server is full, the backend's queue.
    pub fn assign(
        &self,
        src: IpAddr,
        input: Option<&[u8]>,
        avoid: Option<usize>,
        sticky: Option<usize>,
    ) -> Assigned {
        // A disabled backend never gives a server.
        if self.ir.disabled {
            return Assigned::NoServer;
        }
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        let lb = &mut *lb;
        let chosen = match sticky.filter(|&s| s < lb.bal.slots.len()) {
            Some(s) => s,
            None => {
                if !lb.bal.has_usable() {
                    return Assigned::NoServer;
                }
                // Sessions already waiting for any server go first (haproxy does so for
                // the algorithms that would pick a full server otherwise).
                let fifo = matches!(
                    self.ir.balance,
                    crate::ir::Balance::RoundRobin
                        | crate::ir::Balance::StaticRr
                        | crate::ir::Balance::First
                );
                let waiting = lb.queues.backend_len() > 0;
                match lb.bal.pick_with(Some(src), input, avoid) {
                    Some(s) if !(fifo && waiting) => {
                        // The algorithm's choice, unless it is the server a redispatch
                        // left (assign_server's cum_lbconn).
                        if avoid != Some(s) {
                            self.lbtot.fetch_add(1, Relaxed);
                            self.servers[s].lbtot.fetch_add(1, Relaxed);
                        }
                        s
                    }
                    _ => return self.enqueue(lb, Line::Backend),
                }
            }
        };
        let slot = &lb.bal.slots[chosen];
        if slot.full() {
            if slot.maxqueue > 0 && slot.queued >= slot.maxqueue {
                return Assigned::QueueFull(chosen);
            }
            return self.enqueue(lb, Line::Server(chosen));
        }
        self.take(lb, chosen);
        Assigned::Now(chosen)
    }

    /// Whether server `srv` may keep a session's preference (assign_server's test for
    /// `prefer-last-server`): usable and, with `ka_queue` (`max-keep-alive-queue` as
    /// stored, 0: no limit), room for one more or a queue shorter than the limit.
    pub fn keeps_preference(&self, srv: usize, ka_queue: Option<u32>) -> bool {
        let lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = lb.bal.slots.get(srv) else {
            return false;
        };
        let room = match ka_queue {
            None | Some(0) => true,
            Some(max) => s.maxconn == 0 || s.served < s.limit() || s.queued + 1 < max,
        };
        s.lb_usable() && room
    }

    fn enqueue(&self, lb: &mut Lb, line: Line) -> Assigned {
        let (seq, pos, rx) = lb.queues.push(line);
        self.count_queue(lb, line);
        Assigned::Queued(seq, line, pos, rx)
    }

    /// Mirrors a queue's length into the balancer and the statistics.
    fn count_queue(&self, lb: &mut Lb, line: Line) {
        match line {
            Line::Server(s) => {
                let n = lb.queues.server_len(s);
                lb.bal.slots[s].queued = n;
                self.servers[s].queued.store(n, Relaxed);
            }
            Line::Backend => self.queued.store(lb.queues.backend_len(), Relaxed),
        }
    }

    /// Counts a session on server `s`.
    fn take(&self, lb: &mut Lb, s: usize) {
        lb.bal.track(s, true);
        let now = self.servers[s].sessions.fetch_add(1, Relaxed) + 1;
        self.servers[s].traffic.sessions(now);
        self.last_sess.touch(self.attempt(s));
    }

    /// A stream's bytes at its end, for the backend and the server it had.
    pub fn count_bytes(&self, srv: Option<usize>, (up, down): (u64, u64)) {
        self.traffic.bytes(up, down);
        if let Some(s) = srv {
            self.servers[s].traffic.bytes(up, down);
        }
    }

    /// A session whose connection attempts to server `s` all failed (`econ`); with no
    /// server (none usable, or a backend queue's timeout), the backend's alone.
    pub fn connect_failed(&self, s: Option<usize>) {
        if let Some(s) = s {
            self.servers[s].conn.failed.fetch_add(1, Relaxed);
        }
        self.conn.failed.fetch_add(1, Relaxed);
    }

    /// A retry after a failed connection to server `prev` goes to `next`: a redispatch
    /// for `prev`, or a retry when it is `prev` again (stream_choose_redispatch's and
    /// assign_server_and_queue's counts).
    pub fn reassigned(&self, prev: usize, next: usize) {
        let (s, b) = (&self.servers[prev].conn, &self.conn);
        let (sc, bc) = if next != prev {
            (&s.redispatches, &b.redispatches)
        } else {
            (&s.retries, &b.retries)
        };
        sc.fetch_add(1, Relaxed);
        bc.fetch_add(1, Relaxed);
    }

    /// A connection attempt to server `s` (`stot`, lastsess: haproxy counts each one,
    /// retries too) for a session it was assigned.
    /// Gives the time it noted.
    pub fn attempt(&self, s: usize) -> u64 {
        let now = crate::runtime::lb::counters::LastSession::now();
        self.servers[s].cumulated.fetch_add(1, Relaxed);
        self.servers[s].last_sess.touch(now);
        now
    }

    /// A queued session gave up (timeout, client gone): its place is freed. False when it
    /// was given a server meanwhile (the caller then holds that slot).
    pub fn leave_queue(&self, seq: u64) -> bool {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        let lb = &mut *lb;
        match lb.queues.remove(seq) {
            Some(line) => {
                self.count_queue(lb, line);
                true
            }
            None => false,
        }
    }

    /// Which servers the balancer may choose now, in configuration order (`nbsrv`).
    pub fn usable_all(&self) -> Vec<bool> {
        let lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        lb.slots.iter().map(|x| x.usable).collect()
    }

    /// The session on server `s` ended (or moved elsewhere): its slot goes to a waiting
    /// session, if any.
    pub fn release(&self, s: usize) {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        let lb = &mut *lb;
        lb.bal.track(s, false);
        self.servers[s].sessions.fetch_sub(1, Relaxed);
        self.hand_over(lb, s);
    }

    /// Server `s` takes load-balanced traffic again: its free slots go to waiting
    /// sessions at once. How many came from the backend's queue.
    pub fn server_up(&self, s: usize) -> u32 {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        lb.bal.set_up(s);
        self.hand_over(&mut lb, s)
    }

    /// Server `s` starts again (its checks say UP, or it leaves maintenance): with
    /// `slowstart` it warms up from now on. Before [`BackendRt::server_up`].
    pub fn start(&self, s: usize) {
        let secs = u64::from(self.ir.servers[s].slowstart);
        if secs > 0 {
            let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
            lb.bal.start(s, secs, unix_secs());
        }
    }

    /// Server `s` stopped (its checks say DOWN, or maintenance): no more warm-up.
    pub fn stopped(&self, s: usize) {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        lb.bal.stop_warming(s);
    }

    /// One warm-up step at unix second `now` (haproxy's `server_warmup`): each warming
    /// server's weight and connection limit grow, and its new slots go to waiting
    /// sessions. False when no server warms up any more.
    pub fn warm_step(&self, now: u64) -> bool {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        let mut any = false;
        for s in 0..self.servers.len() {
            if lb.bal.warming(s) {
                any |= lb.bal.warm(s, now);
                self.hand_over(&mut lb, s);
            }
        }
        any
    }

    /// Server `s` takes no new sessions (down, maintenance, drain): with `option
    /// redispatch`, the sessions waiting for it in particular are balanced again
    /// (haproxy's `pendconn_redistribute`). How many.
    pub fn server_down(&self, s: usize) -> u32 {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        let lb = &mut *lb;
        lb.bal.set_down(s);
        // `option persist` keeps them waiting for it (pendconn_redistribute).
        if self.ir.redispatch.is_none() || self.ir.persist.down_too {
            return 0;
        }
        let n = lb.queues.send_back(s);
        self.count_queue(lb, Line::Server(s));
        n
    }

    /// The operator changed server `s`'s weight; a server back in the rotation takes
    /// waiting sessions.
    pub fn set_weight(&self, s: usize, weight: u32) {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        lb.bal.set_weight(s, weight);
        self.hand_over(&mut lb, s);
    }

    /// The agent or operator changed server `s`'s maxconn (0: no limit); freed slots go to
    /// waiting sessions.
    pub fn set_maxconn(&self, s: usize, maxconn: u32) {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        lb.bal.slots[s].maxconn = maxconn;
        self.hand_over(&mut lb, s);
    }

    /// Gives server `s`'s free slots to the oldest waiters: its own queue's, and the
    /// backend's when `s` takes load-balanced traffic (a backup only with no active server
    /// left), as haproxy's `process_srv_queue`.
    fn hand_over(&self, lb: &mut Lb, s: usize) -> u32 {
        // Every session's end comes here: with nobody waiting, nothing to look at.
        if lb.queues.server_len(s) == 0 && lb.queues.backend_len() == 0 {
            return 0;
        }
        let mut from_backend = 0;
        loop {
            let slot = &lb.bal.slots[s];
            if slot.maxconn > 0 && slot.served >= slot.limit() {
                return from_backend;
            }
            let active_left = lb
                .bal
                .slots
                .iter()
                .any(|x| !x.backup && x.usable && x.weight > 0);
            let backend_ok = slot.usable && slot.weight > 0 && (!slot.backup || !active_left);
            let Some(line) = lb.queues.hand_over(s, backend_ok) else {
                return from_backend;
            };
            from_backend += u32::from(line == Line::Backend);
            self.count_queue(lb, line);
            // The slot is reserved now; the session counts on the server once it wakes
            // ([`BackendRt::claim`]), as haproxy's cur_sess does.
            lb.bal.track(s, true);
        }
    }

    /// A queued session woke up with a slot on server `s`: it counts there now.
    pub fn claim(&self, s: usize) {
        let now = self.servers[s].sessions.fetch_add(1, Relaxed) + 1;
        self.servers[s].traffic.sessions(now);
        self.last_sess.touch(self.attempt(s));
    }

    /// A slot handed to a queued session that had already given up goes back.
    pub fn unclaim(&self, s: usize) {
        let mut lb = self.lb.lock().unwrap_or_else(|e| e.into_inner());
        let lb = &mut *lb;
        lb.bal.track(s, false);
        self.hand_over(lb, s);
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

/// Fills in each server's trackers: haproxy links every new tracker in front of the
/// earlier ones.
fn with_trackers(mut backends: Vec<BackendRt>) -> Vec<BackendRt> {
    let links: Vec<((usize, usize), (usize, usize))> = backends
        .iter()
        .enumerate()
        .flat_map(|(bi, b)| {
            b.servers
                .iter()
                .enumerate()
                .filter_map(move |(si, s)| s.ir.track.map(|t| ((bi, si), t)))
        })
        .collect();
    for (me, (tb, ts)) in links {
        backends[tb].servers[ts].trackers.insert(0, me);
    }
    // A tracked server starting in maintenance passes it on (haproxy's
    // srv_propagate_admin_state), silently.
    fn inherit(backends: &[BackendRt], (bi, si): (usize, usize)) {
        for &(tb, ts) in &backends[bi].servers[si].trackers {
            let t = &backends[tb];
            t.servers[ts].admin.fetch_or(IMAINT, Relaxed);
            t.lb.lock().unwrap_or_else(|e| e.into_inner()).set_down(ts);
            inherit(backends, (tb, ts));
        }
    }
    for bi in 0..backends.len() {
        for si in 0..backends[bi].servers.len() {
            if backends[bi].servers[si].ir.disabled {
                inherit(&backends, (bi, si));
            }
        }
    }
    backends
}

/// Seconds since the epoch: haproxy counts warm-ups in whole wall-clock seconds.
pub fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Everything sessions share.
#[derive(Debug)]
pub struct Shared {
    /// Frontends in configuration order.
    pub frontends: Vec<FrontendRt>,
    /// Backends in configuration order.
    pub backends: Vec<BackendRt>,
    /// The `disabled` frontends' names ([`crate::ir::Config::disabled_frontends`]).
    pub disabled_frontends: Vec<String>,
    /// Listeners that serve no frontend: stats sockets and peers sections' binds
    /// (`show info` counts them among its Listeners, as haproxy does).
    pub other_listeners: usize,
    /// Stick tables ([`crate::ir::Config::tables`] order), empty at each generation.
    pub tables: Arc<[crate::runtime::lb::stick::Table]>,
    /// Sessions in the process (`actconn`), shared by every configuration generation.
    pub actconn: Arc<AtomicU32>,
    /// The process's starting `maxconn` (0 until [`Shared::with_global_maxconn`]).
    pub maxconn: u32,
    /// Streams begun (haproxy's `global.req_count`: `%rt`, `show info` CumReq): one per
    /// TCP session, HTTP request, stats socket connection and peers session. Each
    /// generation counts from 0, as a reloaded haproxy's new process does.
    pub req_count: Arc<AtomicU32>,
    /// Connections the stats sockets and peers listeners accepted, which haproxy counts
    /// in `show info` CumConns with the proxies' (its `totalconn`).
    pub other_conns: Arc<AtomicU64>,
    /// The process's accept rates and limits.
    pub rates: Rates,
    /// Bumped when the stats socket changes a `maxconn`: accept loops give back the
    /// slots they took for their next client and take them again under the new limit.
    pub limits_changed: tokio::sync::watch::Sender<u64>,
    /// Log output.
    pub logger: Logger,
    /// Woken when the last session ends (soft stop waits on it); shared across reloads.
    pub idle: Arc<Notify>,
    /// Set when a reload replaced this generation: its health checks stop.
    pub retired: std::sync::atomic::AtomicBool,
    /// Server state messages go to the logs only (`-q`): set when checks start.
    pub quiet: std::sync::atomic::AtomicBool,
    /// While a saved server state is applied at start: its messages, collected instead
    /// of logged (haproxy prints them with the configuration's, logs none).
    pub startup: Mutex<Option<Vec<(bool, String)>>>,
}

impl Shared {
    /// Live state for `cfg`.
    pub fn new(cfg: &Config, logger: Logger) -> Self {
        let proc_vars = Arc::new(crate::runtime::rules::vars::proc_vars(&cfg.global));
        let tables: Arc<[crate::runtime::lb::stick::Table]> = cfg
            .tables
            .iter()
            .map(|t| crate::runtime::lb::stick::Table::new(&t.name, t.table.clone()))
            .collect();
        Shared {
            frontends: cfg
                .frontends
                .iter()
                .map(|f| FrontendRt {
                    proc_vars: proc_vars.clone(),
                    tables: tables.clone(),
                    ir: f.clone(),
                    feconn: AtomicU32::new(0),
                    cumulated: AtomicU64::new(0),
                    listening: tokio::sync::watch::channel(Listening::Ready).0,
                    sess_rate: crate::runtime::freq::Rate::limited(f.rate_limit_sessions),
                    slots: f
                        .maxconn
                        .map(|m| Arc::new(crate::runtime::limit::DynLimit::new(m))),
                    log_count: AtomicU32::new(0),
                    conn_tot: AtomicU64::new(0),
                    conn_rate: crate::runtime::freq::Rate::default(),
                    http: Default::default(),
                    traffic: Default::default(),
                    refused: Default::default(),
                    req_rate: crate::runtime::freq::Rate::default(),
                    intercepted: AtomicU64::new(0),
                })
                .collect(),
            backends: with_trackers(cfg.backends.iter().cloned().map(BackendRt::new).collect()),
            disabled_frontends: cfg.disabled_frontends.clone(),
            other_listeners: cfg.global.stats_sockets.len() + cfg.peers.len(),
            tables,
            actconn: Arc::new(AtomicU32::new(0)),
            maxconn: 0,
            req_count: Arc::new(AtomicU32::new(0)),
            other_conns: Arc::new(AtomicU64::new(0)),
            limits_changed: tokio::sync::watch::channel(0).0,
            rates: Rates {
                connections: crate::runtime::freq::Rate::limited(cfg.global.maxconnrate),
                sessions: crate::runtime::freq::Rate::limited(cfg.global.maxsessrate),
                ssl: crate::runtime::freq::Rate::limited(cfg.global.maxsslrate),
            },
            logger,
            idle: Arc::new(Notify::new()),
            retired: std::sync::atomic::AtomicBool::new(false),
            quiet: std::sync::atomic::AtomicBool::new(false),
            startup: Mutex::new(None),
        }
    }

    /// The process's starting `maxconn`, which frontends without their own take as
    /// haproxy's do (a frontend's limit `set maxconn frontend` may then change).
    pub fn with_global_maxconn(mut self, maxconn: u32) -> Self {
        self.maxconn = maxconn;
        for f in self.frontends.iter_mut().filter(|f| f.slots.is_none()) {
            f.slots = Some(Arc::new(crate::runtime::limit::DynLimit::new(maxconn)));
        }
        self
    }

    /// A new stream's number (`%rt`), counted in `show info` CumReq.
    pub fn next_stream_id(&self) -> u32 {
        self.req_count.fetch_add(1, Relaxed)
    }

    /// Whether a saved state is being applied (see [`Shared::startup`]).
    pub fn collecting(&self) -> bool {
        self.startup
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Keeps a server state message while a saved state is applied; false otherwise.
    pub fn collect(&self, alert: bool, msg: &str) -> bool {
        match &mut *self.startup.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(v) => {
                v.push((alert, msg.to_string()));
                true
            }
            None => false,
        }
    }

    /// The next generation after a reload: process-wide counters are shared, and servers
    /// present in both (same backend, name, address and port) keep their health, so a
    /// reload causes no DOWN/UP flap.
    pub fn successor(cfg: &Config, logger: Logger, prev: &Shared) -> Self {
        let mut next = Shared::new(cfg, logger).with_global_maxconn(prev.maxconn);
        next.actconn = prev.actconn.clone();
        next.idle = prev.idle.clone();
        // Replicated tables keep their entries across a reload.
        for t in next.tables.iter().filter(|t| t.repl().is_some()) {
            if let Some(old) = prev.tables.iter().find(|o| o.name == t.name) {
                t.adopt(old);
            }
        }
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
                    || (o.admin() != Admin::Ready && o.running());
                if s.ir.agent.is_some() && o.ir.agent.is_some() {
                    let old_agent = o.agent.lock().unwrap_or_else(|e| e.into_inner());
                    let mut na = s.agent.lock().unwrap_or_else(|e| e.into_inner());
                    na.health = old_agent.health;
                    na.last = old_agent.last.clone();
                }
                // A tracking server's state is its tracked server's, kept in its health.
                let followed = s.ir.track.is_some() && o.ir.track.is_some();
                if followed {
                    *s.health.lock().unwrap_or_else(|e| e.into_inner()) = h;
                }
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
                s.cancels.cancel_all(crate::runtime::cancel::Reason::Killed);
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
