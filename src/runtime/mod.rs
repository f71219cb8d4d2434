//! The runtime: listeners, sessions, balancing, logging and signals, built from the IR only.
//!
//! Start-up order follows HAProxy: size the fd limit from `maxconn`, bind every listener
//! (any failure stops the start with HAProxy's messages), then serve until a signal:
//! SIGUSR1 soft stop (listeners close, sessions finish, bounded by `hard-stop-after`),
//! SIGTERM/SIGINT immediate stop, SIGTTOU/SIGTTIN pause/resume listening.

pub mod cancel;
pub mod ctl;
pub mod freq;
pub mod lb;
pub mod limit;
pub mod log;
pub mod peers;
pub mod proc;
pub mod proto;
pub mod rules;
pub mod session;
pub mod source;
pub mod stream;
pub mod termination;
pub mod tls;

use ctl::{handover, stats};
use lb::{check, state};
use proc::process::{alert, warning};
use proc::{busy, master, memory, process, reload};
use session::listener;
use session::listener::{bind_all, bind_all_with, rebind};

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, Semaphore};

use crate::ir::Config;
use state::Shared;

/// Command-line facts the runtime needs.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `-q`: standard output and error are silent.
    pub quiet: bool,
    /// Reads the configuration again on reload.
    pub loader: reload::Loader,
    /// Detach (`-D` or `daemon` without `-db`).
    pub daemon: bool,
    /// `-p` or `pidfile`.
    pub pidfile: Option<String>,
    /// Set in a worker started by the master: its listeners are inherited, not bound.
    pub worker: bool,
    /// `-sf`: processes told to finish (SIGUSR1) once this one listens.
    pub finish: Vec<u32>,
    /// `-st`: processes terminated (SIGTERM) once this one listens.
    pub terminate: Vec<u32>,
    /// `-x <socket>`: take the listening sockets of the process being replaced.
    pub fd_socket: Option<String>,
    /// `-d`: debug lines for every session on stdout.
    pub debug: bool,
    /// `-n`: global maxconn from the command line.
    pub maxconn: Option<u32>,
}

/// Serves `cfg` until stopped; returns the exit status.
pub fn run(cfg: Config, opts: RunOptions) -> anyhow::Result<i32> {
    let threads = cfg.global.nbthread.map(|n| n as usize).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let Some(maxconn) = process::size_limits(&cfg, opts.maxconn, opts.quiet, threads) else {
        return Ok(1);
    };
    // A worker takes the master's sockets; otherwise bind everything first: HAProxy
    // reports every failure, then refuses to start.
    let (inherited, ready) = if opts.worker {
        match master::inherited() {
            Ok(v) => v,
            Err(e) => {
                alert(
                    opts.quiet,
                    &format!("Cannot take the listeners from the master: {e}."),
                );
                return Ok(1);
            }
        }
    } else {
        Default::default()
    };
    let mut inherited = inherited;
    // -x: the old process's sockets, matched to binds by address; as haproxy, a failure
    // to get them stops the start (binding anew could fail or steal half the traffic).
    let mut received = Vec::new();
    if let Some(path) = &opts.fd_socket {
        match handover::fetch(path) {
            Ok(r) => received = r,
            Err(e) => {
                warning(opts.quiet, &e);
                alert(
                    opts.quiet,
                    "Failed to get the sockets from the old process!",
                );
                return Ok(1);
            }
        }
    }
    let keys = reload::listener_keys(&cfg);
    let addrs: Vec<_> = cfg
        .frontends
        .iter()
        .flat_map(|f| f.binds.iter().map(|b| (b.addr.clone(), b.v6only)))
        .collect();
    let bound = bind_all_with(&cfg, maxconn, opts.quiet, |k| {
        keys.get(k)
            .and_then(|key| inherited.remove(key))
            .or_else(|| match addrs.get(k) {
                Some((crate::ir::ListenAddr::Inet(a), v6only)) => {
                    handover::take(&mut received, *a, *v6only)
                }
                _ => None,
            })
    });
    // Sockets of the old process that no bind wants any more are closed here.
    drop(received);
    // The stats sockets too, before privileges go (a path under /run needs root).
    let stats_bound = stats::bind_all(&cfg.global).map_err(|e| alert(opts.quiet, &e));
    let (Some(bound), Ok(stats_bound)) = (bound, stats_bound) else {
        alert(
            opts.quiet,
            "[haproxide.main()] Some protocols failed to start their listeners! Exiting.",
        );
        return Ok(1);
    };
    // `usesrc` and `source … interface` need CAP_NET_ADMIN and CAP_NET_RAW on every
    // connection: haproxy refuses to give up root for them, and warns when it has none.
    if cfg.needs_net_admin() {
        if cfg.global.uid.is_some_and(|u| u != 0) {
            alert(
                opts.quiet,
                "[haproxide.main()] Some configuration options require full privileges, so global.uid cannot be changed.",
            );
            return Ok(1);
        }
        if !nix::unistd::getuid().is_root() {
            warning(
                opts.quiet,
                "[haproxide.main()] Some options which require full privileges might not work well.",
            );
        }
    }
    // As HAProxy: detach after binding (bind errors reach the terminal), then the pid
    // file, then privileges, all before any thread exists.
    if opts.daemon {
        // The parent writes the pid file and exits; only the child returns.
        if let Err(e) = crate::sys::daemonize(opts.pidfile.as_deref()) {
            alert(opts.quiet, &e);
            return Ok(1);
        }
    } else if let Some(pf) = &opts.pidfile {
        if let Err(e) = process::write_pidfile(pf) {
            alert(opts.quiet, &format!("[haproxide.main()] {e}"));
            return Ok(1);
        }
    }
    if let Err(e) = process::drop_privileges(&cfg.global) {
        alert(opts.quiet, &e);
        return Ok(1);
    }
    let quiet = opts.quiet || opts.daemon;
    let opts = RunOptions { quiet, ..opts };
    if opts.debug {
        session::debug::enable();
    }
    // One thread (`nbthread 1`): a single-threaded scheduler, no work-stealing overhead.
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    let rt = builder
        .enable_all()
        .thread_name("haproxide")
        .build()
        .context("starting the runtime")?;
    // `show info` prints a configured `ulimit-n` as haproxy does, even where the limit
    // in force is higher (haproxy never lowers it; measured on 2.6.12).
    let ulimit_n = cfg.global.ulimit_n.unwrap_or_else(|| {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map(|l| l.0)
            .unwrap_or(0)
    });
    let process = ProcessInfo {
        stats: stats_bound,
        ulimit_n,
        nbthread: threads,
    };
    rt.block_on(serve(cfg, opts, bound, maxconn, ready, process))
}

/// What the stats socket reports about the process, and its bound sockets.
struct ProcessInfo {
    stats: Vec<stats::Listener>,
    ulimit_n: u64,
    nbthread: usize,
}

/// One configuration generation being served.
struct Live {
    cfg: Config,
    shared: Arc<Shared>,
    sockets: Vec<listener::Bound>,
    /// Stops this generation's accept loops; None while paused.
    listening: Option<watch::Sender<bool>>,
    fe_slots: Vec<Option<Arc<limit::DynLimit>>>,
    /// Each listener's `bind … maxconn` slots, in `sockets` order.
    l_slots: Vec<Option<Arc<Semaphore>>>,
    /// The `peers` sections' listeners and sessions.
    peers: Option<peers::Peers>,
}

impl Live {
    fn new(cfg: Config, shared: Arc<Shared>, sockets: Vec<listener::Bound>) -> Self {
        let fe_slots = shared.frontends.iter().map(|f| f.slots.clone()).collect();
        let l_slots = sockets
            .iter()
            .map(|b| {
                let bind = cfg.frontends.get(b.fe)?.binds.get(b.id.checked_sub(1)?)?;
                bind.maxconn
                    .filter(|&m| m > 0)
                    .map(|m| Arc::new(Semaphore::new(m as usize)))
            })
            .collect();
        Live {
            cfg,
            shared,
            sockets,
            listening: None,
            fe_slots,
            l_slots,
            peers: None,
        }
    }

    /// Starts one accept loop per listener.
    fn start(&mut self, global: &Arc<limit::DynLimit>) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        for (k, b) in self.sockets.iter().enumerate() {
            // A socket kept from a generation that had its frontend disabled listens again.
            let _ = socket2::SockRef::from(&b.socket).listen(b.backlog);
            let l = tokio::net::TcpListener::from_std(b.socket.try_clone()?)?;
            let info = session::Info {
                fe: b.fe,
                id: b.id,
                accept_proxy: b.accept_proxy,
                tls: b.tls.clone(),
                lfd: std::os::fd::AsRawFd::as_raw_fd(&b.socket),
            };
            tokio::spawn(listener::accept_loop(
                self.shared.clone(),
                info,
                l,
                global.clone(),
                listener::Slots {
                    frontend: self.fe_slots[b.fe].clone(),
                    listener: self.l_slots.get(k).cloned().flatten(),
                },
                stop_rx.clone(),
                b.backlog,
            ));
        }
        self.listening = Some(stop_tx);
        Ok(())
    }

    /// Stops accepting (the sockets stay open while `sockets` holds them).
    fn stop(&mut self) {
        if let Some(tx) = self.listening.take() {
            let _ = tx.send(true);
        }
    }
}

fn logger_for(cfg: &Config, quiet: bool) -> log::Logger {
    log::Logger::new(
        &cfg.global.log_tag,
        cfg.global.log_send_hostname.clone(),
        !quiet,
    )
}

/// Re-reads the configuration and, when valid, switches to it: unchanged listeners keep
/// their sockets, new ones are bound first (any failure keeps the old configuration), new
/// sessions use the new configuration at once, established ones go on untouched.
async fn reload(live: &mut Live, opts: &RunOptions, global: &Arc<limit::DynLimit>, maxconn: u32) {
    let q = opts.quiet;
    live.shared.logger.send(
        &live.cfg.global.log,
        log::level::NOTICE,
        "Reloading configuration.",
    );
    warning(q, "Reloading configuration.");
    let Some(loaded) = opts.loader.reread().await else {
        warning(
            q,
            "Loading failure! The previous configuration keeps serving.",
        );
        return;
    };
    if !q {
        eprint!("{}", loaded.messages);
    }
    let Some(cfg) = loaded.config else {
        warning(
            q,
            "Loading failure! The previous configuration keeps serving.",
        );
        return;
    };
    let Some((sockets, plan)) = rebind(&cfg, &live.sockets, maxconn, q) else {
        warning(
            q,
            "Loading failure! The previous configuration keeps serving.",
        );
        return;
    };
    let shared = Arc::new(Shared::successor(&cfg, logger_for(&cfg, q), &live.shared));
    lb::server_state::apply(&shared);
    let mut next = Live::new(cfg, shared, sockets);
    if let Err(e) = next.start(global) {
        alert(
            q,
            &format!("reload: {e:#}; the previous configuration keeps serving."),
        );
        next.stop();
        return;
    }
    // The old sections end before the new ones listen on the same addresses; the new
    // tables took the old entries (Shared::successor), as haproxy's local peer teaches
    // its successor.
    if let Some(p) = live.peers.take() {
        p.stop();
    }
    match peers::start(&next.cfg, &next.shared) {
        Ok(p) => next.peers = Some(p),
        Err(e) => {
            alert(
                q,
                &format!("reload: {e:#}; the previous configuration keeps serving."),
            );
            next.stop();
            live.peers = peers::start(&live.cfg, &live.shared).ok();
            return;
        }
    }
    check::spawn_all(&next.shared, q);
    // The new accept loops run; now the old ones stop. Kept sockets never closed.
    live.stop();
    live.shared.retire();
    // Sessions of the old configuration may run on, bounded by hard-stop-after.
    if let Some(limit) = next.cfg.global.hard_stop_after {
        let old = live.shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            old.cancel_all();
        });
    }
    let msg = format!(
        "Reload complete: {} listeners kept, {} opened, {} closed.",
        plan.keep.len(),
        plan.open.len(),
        plan.close.len()
    );
    next.shared
        .logger
        .send(&next.cfg.global.log, log::level::NOTICE, &msg);
    warning(q, &msg);
    *live = next;
}

async fn serve(
    cfg: Config,
    opts: RunOptions,
    bound: Vec<listener::Bound>,
    maxconn: u32,
    ready: Option<std::os::unix::net::UnixStream>,
    process: ProcessInfo,
) -> anyhow::Result<i32> {
    let started = (std::time::Instant::now(), std::time::SystemTime::now());
    let shared =
        Arc::new(Shared::new(&cfg, logger_for(&cfg, opts.quiet)).with_global_maxconn(maxconn));
    // The saved server states; what it says was printed with the configuration's report.
    lb::server_state::apply(&shared);
    let global_slots = Arc::new(limit::DynLimit::new(maxconn));
    let cli = Arc::new(stats::Cli {
        current: std::sync::RwLock::new(shared.clone()),
        started,
        maxconn,
        global_slots: global_slots.clone(),
        ulimit_n: process.ulimit_n,
        nbthread: process.nbthread,
        timeout: cfg
            .global
            .stats_timeout
            .unwrap_or(std::time::Duration::from_secs(10)),
        quiet: opts.quiet,
        listeners: std::sync::RwLock::new(Vec::new()),
        node: cfg.global.node.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default()
        }),
        description: cfg.global.description.clone().unwrap_or_default(),
    });
    stats::spawn_all(process.stats, cli.clone());
    let global = global_slots.clone();
    let mut live = Live::new(cfg, shared, bound);
    // Every generation ever served, for a hard stop (old ones may still hold sessions).
    let mut generations: Vec<std::sync::Weak<Shared>> = Vec::new();

    let mut sig_usr1 = signal(SignalKind::user_defined1()).context("SIGUSR1")?;
    let mut sig_usr2 = signal(SignalKind::user_defined2()).context("SIGUSR2")?;
    let mut sig_term = signal(SignalKind::terminate()).context("SIGTERM")?;
    let mut sig_int = signal(SignalKind::interrupt()).context("SIGINT")?;
    let mut sig_hup = signal(SignalKind::hangup()).context("SIGHUP")?;
    let mut sig_ttou = signal(SignalKind::from_raw(nix::libc::SIGTTOU)).context("SIGTTOU")?;
    let mut sig_ttin = signal(SignalKind::from_raw(nix::libc::SIGTTIN)).context("SIGTTIN")?;

    live.start(&global)?;
    live.peers = Some(peers::start(&live.cfg, &live.shared)?);
    cli.publish(listener::fds(&live.sockets));
    busy::set(live.cfg.global.busy_polling, process.nbthread);
    check::spawn_all(&live.shared, opts.quiet);
    memory::spawn_trimmer(live.shared.actconn.clone());
    // -sf/-st: the old process stops accepting only once this one accepts.
    for (pids, sig) in [
        (&opts.finish, nix::sys::signal::Signal::SIGUSR1),
        (&opts.terminate, nix::sys::signal::Signal::SIGTERM),
    ] {
        for p in pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*p as i32), sig);
        }
    }
    // Tell the master this worker accepts now (it then stops the previous one).
    if let Some(mut r) = ready {
        use std::io::Write;
        let _ = r.write_all(b"1");
    }
    loop {
        tokio::select! {
            _ = sig_usr1.recv() => break,
            _ = sig_term.recv() => die(nix::libc::SIGTERM),
            _ = sig_int.recv() => die(nix::libc::SIGINT),
            // haproxide reloads on both (HAProxy standalone only dumps states on SIGHUP).
            _ = sig_hup.recv() => {
                generations.push(Arc::downgrade(&live.shared));
                reload(&mut live, &opts, &global, maxconn).await;
                busy::set(live.cfg.global.busy_polling, process.nbthread);
                *cli.current.write().unwrap_or_else(|e| e.into_inner()) = live.shared.clone();
                cli.publish(listener::fds(&live.sockets));
            }
            _ = sig_usr2.recv() => {
                generations.push(Arc::downgrade(&live.shared));
                reload(&mut live, &opts, &global, maxconn).await;
                busy::set(live.cfg.global.busy_polling, process.nbthread);
                *cli.current.write().unwrap_or_else(|e| e.into_inner()) = live.shared.clone();
                cli.publish(listener::fds(&live.sockets));
            }
            _ = sig_ttou.recv() => {
                if live.listening.is_some() {
                    // Closing every copy of the sockets makes new connects fail at once,
                    // as HAProxy's pause does; established sessions go on.
                    live.stop();
                    live.sockets.clear();
                    cli.publish(listener::fds(&live.sockets));
                    for f in &live.cfg.frontends {
                        let msg = format!("Paused frontend {}.", f.name);
                        live.shared.logger.send(&f.log, log::level::WARNING, &msg);
                        warning(opts.quiet, &msg);
                    }
                }
            }
            _ = sig_ttin.recv() => {
                if live.listening.is_none() {
                    live.sockets = bind_all(&live.cfg, maxconn, opts.quiet).unwrap_or_default();
                    for f in &live.cfg.frontends {
                        let msg = format!("Resumed frontend {}.", f.name);
                        live.shared.logger.send(&f.log, log::level::WARNING, &msg);
                        warning(opts.quiet, &msg);
                    }
                    live.start(&global)?;
                    cli.publish(listener::fds(&live.sockets));
                }
            }
        }
    }
    // Soft stop: close every listener, say so per proxy, let sessions finish.
    busy::set(false, 0);
    live.stop();
    // The replicated tables go to the process that replaces this one, if any.
    let lessons = live.peers.take().map(|p| tokio::spawn(p.hand_over()));
    live.sockets.clear();
    cli.publish(listener::fds(&live.sockets));
    let (cfg, shared) = (&live.cfg, &live.shared);
    for (f, b) in &cfg.order {
        // A frontend shut down from the stats socket was announced then.
        if f.is_some_and(|i| {
            *shared.frontends[i].listening.borrow() == lb::state::Listening::Stopped
        }) {
            continue;
        }
        let name = f
            .map(|i| cfg.frontends[i].name.as_str())
            .or(b.map(|i| cfg.backends[i].name.as_str()))
            .unwrap_or("");
        let fe_c = f
            .map(|i| shared.frontends[i].conn_tot.load(Relaxed))
            .unwrap_or(0);
        let be_c = b
            .map(|i| shared.backends[i].cumulated.load(Relaxed))
            .unwrap_or(0);
        let msg = format!("Proxy {name} stopped (cumulated conns: FE: {fe_c}, BE: {be_c}).");
        let targets = f
            .map(|i| &cfg.frontends[i].log)
            .or(b.map(|i| &cfg.backends[i].log));
        if let Some(t) = targets {
            shared.logger.send(t, log::level::WARNING, &msg);
        }
        warning(opts.quiet, &msg);
    }
    let drained = async {
        loop {
            let notified = shared.idle.notified();
            if shared.actconn.load(Relaxed) == 0 {
                return;
            }
            notified.await;
        }
    };
    match cfg.global.hard_stop_after {
        Some(limit) => {
            if tokio::time::timeout(limit, drained).await.is_err() {
                warning(
                    opts.quiet,
                    "soft-stop running for too long, performing a hard-stop.",
                );
                for (i, f) in cfg.frontends.iter().enumerate() {
                    let n = shared.frontends[i].feconn.load(Relaxed);
                    if n > 0 {
                        warning(
                            opts.quiet,
                            &format!(
                                "Proxy {} hard-stopped ({n} remaining conns will be closed).",
                                f.name
                            ),
                        );
                    }
                }
                shared.cancel_all();
                for g in generations.iter().filter_map(std::sync::Weak::upgrade) {
                    g.cancel_all();
                }
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
                    while shared.actconn.load(Relaxed) > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                })
                .await;
            }
        }
        None => drained.await,
    }
    // haproxy's old process stays until its successor has the tables (5 s at most).
    if let Some(l) = lessons {
        let _ = l.await;
    }
    Ok(0)
}

/// Ends the process by `sig` with the default action, so the exit status says so (143, 130).
fn die(sig: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig);
}
