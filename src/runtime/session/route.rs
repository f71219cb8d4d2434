//! The inspection and routing phase: `tcp-request content` rules, the backend, stick
//! table lookups.

use std::net::SocketAddr;

use super::close_log::LogState;
use super::slots::BackendSlot;
use crate::ir::persist::ServerTarget;
use crate::ir::SwitchTarget;
use crate::runtime::lb::state::{BackendRt, FrontendRt, Shared};
use crate::runtime::proto::proxy_protocol::SslInfo;
use crate::runtime::rules::vars::Vars;
use crate::runtime::rules::{self, Ctx, Who};
use crate::runtime::stream::ClientEnd;
use crate::runtime::termination::{Cause, Phase, Termination};
use socket2::SockRef;
use std::time::Duration;

/// A `tcp-request content reject`: HAProxy closes without lingering and logs "PR".
fn rejected(f: &FrontendRt, client: &ClientEnd, log: &mut LogState, read: &[u8]) {
    // A denied request for the frontend, whichever proxy's rule it was (tcp_inspect_request).
    crate::runtime::lb::counters::Refused::add(&f.refused.req);
    let _ = SockRef::from(client.tcp()).set_linger(Some(Duration::ZERO));
    log.term = Termination::new(Cause::Proxy, Phase::Request);
    log.up = read.len() as u64;
}

/// Runs content inspection on the client's data, appending what it reads to `buf` (sent
/// to the server first); false when the rules reject the connection.
async fn inspect(
    client: &mut ClientEnd,
    buf: &mut Vec<u8>,
    insp: &crate::ir::Inspect,
    who: &Who<'_>,
    vars: &mut Vars,
) -> bool {
    let (v, _) = match client {
        ClientEnd::Plain(s) => super::inspect::run(s, buf, insp, who, vars).await,
        ClientEnd::Tls(s) => super::inspect::run(s.as_mut(), buf, insp, who, vars).await,
    };
    v == super::inspect::Outcome::Accept
}

/// The backend the frontend's `use_backend` rules choose on what is buffered (haproxy
/// decides them once, on what is there), else its default backend.
pub(super) fn switch(f: &FrontendRt, ctx: &Ctx) -> Option<usize> {
    let rule =
        f.ir.switching
            .iter()
            .find(|r| rules::holds(r.cond.as_ref(), ctx) == Some(true));
    match rule.map(|r| &r.backend) {
        Some(SwitchTarget::Backend(b)) => Some(*b),
        // A name no backend has ends the rules as well: the default backend.
        Some(SwitchTarget::Named(fmt, names)) => {
            let name = rules::format::render(fmt, ctx);
            names
                .iter()
                .position(|n| n.as_bytes() == name)
                .or(f.ir.default_backend)
        }
        None => f.ir.default_backend,
    }
}

/// Where the inspection and routing phase leaves a session.
pub(super) enum Routed {
    /// To this backend, with the stick keys found (table rule index, key) and the server
    /// a `use-server` rule or a stick table chose.
    To {
        be: BackendSlot,
        keys: Vec<super::inspect::StickKey>,
        pin: Pin,
    },
    /// Rejected by a rule or with no backend: the session ends (counted on the backend when
    /// it got that far).
    Ended(Option<BackendSlot>),
}

/// Runs the frontend's then the backend's `tcp-request content` rules on the client's
/// first bytes (kept in `early` for the server), chooses the backend and looks the stick
/// keys up.
pub(super) async fn route(
    shared: &std::sync::Arc<Shared>,
    f: &FrontendRt,
    client: &mut ClientEnd,
    early: &mut Vec<u8>,
    (peer, local, ssl): (SocketAddr, SocketAddr, &SslInfo),
    log: &mut LogState,
    (vars, uid): (&mut Vars, Option<&dyn crate::runtime::rules::UniqueId>),
) -> Routed {
    let mut who = super::who(f, (peer, local), ssl);
    who.uid = uid;
    if !f.ir.inspect.rules.is_empty() && !inspect(client, early, &f.ir.inspect, &who, vars).await {
        rejected(f, client, log, early);
        return Routed::Ended(None);
    }
    let chosen = if f.ir.switching.is_empty() {
        f.ir.default_backend
    } else {
        let mut ctx = Ctx::tcp(&who, early, true);
        ctx.vars = Some(&*vars);
        switch(f, &ctx)
    };
    let Some(bi) = chosen else {
        log.up = early.len() as u64 + client.drain();
        return Routed::Ended(None);
    };
    let b = &shared.backends[bi];
    let be = BackendSlot::new(shared, bi);
    who.be = Some(b);
    // `force-persist`/`ignore-persist` as soon as the backend is known, before its own
    // content rules (process_switching_rules).
    let prst = {
        let mut ctx = Ctx::tcp(&who, early, true);
        ctx.vars = Some(&*vars);
        persistence(b, &ctx)
    };
    // An HTTP backend runs its content rules on each request once the stream is
    // upgraded (haproxy sets the backend, then its analysers run on the HTTP request).
    let own =
        b.ir.own_frontend
            .is_some_and(|i| std::ptr::eq(&shared.frontends[i], f));
    if !b.ir.inspect.rules.is_empty()
        && !own
        && b.ir.mode != crate::ir::Mode::Http
        && !inspect(client, early, &b.ir.inspect, &who, vars).await
    {
        rejected(f, client, log, early);
        return Routed::Ended(Some(be));
    }
    let mut ctx = Ctx::tcp(&who, early, true);
    ctx.vars = Some(&*vars);
    let chosen = use_server(b, &ctx, prst);
    // `stick` rules: the first stored server found wins over balancing when it is up.
    let keys = if b.ir.stick_rules.is_empty() {
        Vec::new()
    } else {
        super::inspect::stick_keys(&shared.tables, &b.ir.stick_rules, &ctx, false)
    };
    let sticky = stick_target(shared, b, &keys, prst);
    let pin = prst.pin(chosen.or(sticky));
    Routed::To { be, keys, pin }
}

/// What a backend's `force-persist`/`ignore-persist` rules and `option persist` make of
/// the servers persistence names (haproxy's SF_FORCE_PRST, SF_IGNORE_PRST, PR_O_PERSIST).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Prst {
    /// `force-persist` held.
    pub(crate) force: bool,
    /// `ignore-persist` held.
    pub(crate) ignore: bool,
    /// A named server is taken in any state (`force-persist` or `option persist`).
    pub(crate) any_state: bool,
}

impl Prst {
    /// Whether server `s` of `b` takes a session persistence sends it: not stopped (a
    /// drained one does), or any state when persistence is forced.
    pub(crate) fn takes(&self, b: &BackendRt, s: usize) -> bool {
        self.any_state || b.servers[s].persistable()
    }

    /// The connect step's instructions for `server` (None: balance).
    pub(crate) fn pin(&self, server: Option<usize>) -> Pin {
        Pin {
            server,
            force: self.force,
            preferred: false,
        }
    }
}

/// The server a session is sent to before balancing, and how firmly.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pin {
    /// The server (haproxy's SF_DIRECT target); None: the balancer chooses.
    pub(crate) server: Option<usize>,
    /// `force-persist`: never left for another server (no redispatch).
    pub(crate) force: bool,
    /// Not persistence but `option prefer-last-server`'s choice: a full queue there is
    /// an error, as for a balanced session, not a redispatch.
    pub(crate) preferred: bool,
}

/// The first of the backend's persistence rules that holds, as soon as the backend is
/// known (process_switching_rules).
pub(crate) fn persistence(b: &BackendRt, ctx: &Ctx) -> Prst {
    let p = &b.ir.persist;
    let rule = p
        .rules
        .iter()
        .find(|r| rules::holds(Some(&r.cond), ctx) == Some(true));
    let force = rule.is_some_and(|r| r.force);
    Prst {
        force,
        ignore: rule.is_some_and(|r| !r.force),
        any_state: force || p.down_too,
    }
}

/// The server the first holding `use-server` rule names when it can take the session
/// (process_server_rules): one that is down is passed over for the next rule; a
/// `%[…]` name no server has ends the rules.
pub(crate) fn use_server(b: &BackendRt, ctx: &Ctx, prst: Prst) -> Option<usize> {
    for r in &b.ir.persist.server_rules {
        if rules::holds(Some(&r.cond), ctx) != Some(true) {
            continue;
        }
        let s = match &r.target {
            ServerTarget::Server(s) => *s,
            ServerTarget::Named(fmt) => {
                let name = rules::format::render(fmt, ctx);
                b.ir.servers
                    .iter()
                    .position(|s| s.name.as_bytes() == name)?
            }
        };
        if prst.takes(b, s) {
            return Some(s);
        }
    }
    None
}

/// The server the matching stick rules send a session to (process_sticking_rules): each
/// key found refreshes its entry, and the first naming a server that is not stopped (up
/// and not in maintenance: a drained server keeps its sticky sessions), or any server
/// when persistence is forced, wins.
pub(crate) fn stick_target(
    shared: &Shared,
    b: &BackendRt,
    keys: &[super::inspect::StickKey],
    prst: Prst,
) -> Option<usize> {
    let mut found = None;
    for (i, k) in keys {
        let r = &b.ir.stick_rules[*i];
        let Some(t) = shared.tables.get(r.table).filter(|_| r.lookup) else {
            continue;
        };
        if let Some(s) = t.lookup(k) {
            let up = s < b.servers.len() && prst.takes(b, s);
            if up && found.is_none() {
                found = Some(s);
            }
        }
    }
    found
}
