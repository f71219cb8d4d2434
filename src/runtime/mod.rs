//! The runtime: listeners, sessions, balancing, logging and signals, built from the IR only.
//!
//! Start-up order follows HAProxy: size the fd limit from `maxconn`, bind every listener
//! (any failure stops the start with HAProxy's messages), then serve until a signal:
//! SIGUSR1 soft stop (listeners close, sessions finish, bounded by `hard-stop-after`),
//! SIGTERM/SIGINT immediate stop, SIGTTOU/SIGTTIN pause/resume listening.

pub mod balance;
pub mod forward;
pub mod health;
pub mod listener;
pub mod log;
pub mod proxy_protocol;
pub mod session;
pub mod state;
pub mod tls;

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
    /// `-n`: global maxconn from the command line.
    pub maxconn: Option<u32>,
}

/// Descriptors kept aside for listeners, logs and checks (HAProxy reserves some too).
const RESERVED_FDS: u64 = 100;

fn alert(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("[ALERT]    ({}) : {msg}", std::process::id());
    }
}

fn warning(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("[WARNING]  ({}) : {msg}", std::process::id());
    }
}

/// Raises the open-file limit as HAProxy's `ulimit-n` rule does and returns the maxconn.
fn size_limits(cfg: &Config, opts: &RunOptions) -> u32 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024));
    let asked = opts.maxconn.or(cfg.global.maxconn);
    let want = cfg.global.ulimit_n.unwrap_or_else(|| match asked {
        Some(m) => 2 * m as u64 + RESERVED_FDS,
        None => hard,
    });
    let target = want.min(hard).max(soft);
    if target > soft {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, target, hard);
    }
    let (now, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((soft, hard));
    let fit = (now.saturating_sub(RESERVED_FDS) / 2).max(1) as u32;
    if want > now {
        warning(
            opts.quiet,
            &format!(
                "[haproxide.main()] Cannot raise FD limit to {want}, limit is {now}: at most about {fit} connections can be held (each takes a client and a server descriptor)."
            ),
        );
    }
    match asked {
        Some(m) => m,
        None => fit,
    }
}

/// Binds every listener of `cfg`, reporting each failure as HAProxy does; None if any failed.
fn bind_all(cfg: &Config, maxconn: u32, quiet: bool) -> Option<Vec<listener::Bound>> {
    let mut bound = Vec::new();
    let mut failed = false;
    for (fi, f) in cfg.frontends.iter().enumerate() {
        for (i, b) in f.binds.iter().enumerate() {
            let tls = match b.tls.as_ref().map(tls::server_config) {
                None => None,
                Some(Ok((c, dropped))) => {
                    if !dropped.is_empty() {
                        warning(quiet, &format!("Proxy '{}': bind [{}]: ciphers not offered (rustls has no equivalent): {}.", f.name, b.origin, dropped.join(", ")));
                    }
                    Some(c)
                }
                Some(Err(e)) => {
                    failed = true;
                    alert(
                        quiet,
                        &format!("Proxy '{}': bind [{}]: {e}", f.name, b.origin),
                    );
                    continue;
                }
            };
            match listener::bind_one(b, f.maxconn.unwrap_or(maxconn)) {
                Ok(socket) => bound.push(listener::Bound {
                    fe: fi,
                    id: i + 1,
                    accept_proxy: b.accept_proxy,
                    tls,
                    socket,
                }),
                Err(e) => {
                    failed = true;
                    let kind = if f.is_listen { "proxy" } else { "frontend" };
                    alert(
                        quiet,
                        &format!("Binding [{}] for {kind} {}: {e}", b.origin, f.name),
                    );
                }
            }
        }
    }
    (!failed).then_some(bound)
}

/// Serves `cfg` until stopped; returns the exit status.
pub fn run(cfg: Config, opts: RunOptions) -> anyhow::Result<i32> {
    let maxconn = size_limits(&cfg, &opts);
    // Bind everything first: HAProxy reports every failure, then refuses to start.
    let Some(bound) = bind_all(&cfg, maxconn, opts.quiet) else {
        alert(
            opts.quiet,
            "[haproxide.main()] Some protocols failed to start their listeners! Exiting.",
        );
        return Ok(1);
    };
    let threads = cfg.global.nbthread.map(|n| n as usize).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
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
    rt.block_on(serve(cfg, opts, bound, maxconn))
}

async fn serve(
    cfg: Config,
    opts: RunOptions,
    bound: Vec<listener::Bound>,
    maxconn: u32,
) -> anyhow::Result<i32> {
    let logger = log::Logger::new(
        &cfg.global.log_tag,
        cfg.global.log_send_hostname.clone(),
        !opts.quiet,
    );
    let shared = Arc::new(Shared::new(&cfg, logger));
    let global = Arc::new(Semaphore::new(maxconn as usize));
    let fe_slots: Vec<Option<Arc<Semaphore>>> = cfg
        .frontends
        .iter()
        .map(|f| f.maxconn.map(|m| Arc::new(Semaphore::new(m as usize))))
        .collect();
    let mut sockets = bound;

    let mut sig_usr1 = signal(SignalKind::user_defined1()).context("SIGUSR1")?;
    let mut sig_term = signal(SignalKind::terminate()).context("SIGTERM")?;
    let mut sig_int = signal(SignalKind::interrupt()).context("SIGINT")?;
    let mut sig_hup = signal(SignalKind::hangup()).context("SIGHUP")?;
    let mut sig_ttou = signal(SignalKind::from_raw(nix::libc::SIGTTOU)).context("SIGTTOU")?;
    let mut sig_ttin = signal(SignalKind::from_raw(nix::libc::SIGTTIN)).context("SIGTTIN")?;

    let start = |sockets: &Vec<listener::Bound>| -> anyhow::Result<watch::Sender<bool>> {
        let (stop_tx, stop_rx) = watch::channel(false);
        for b in sockets {
            let l = tokio::net::TcpListener::from_std(b.socket.try_clone()?)?;
            let info = listener::Info {
                fe: b.fe,
                id: b.id,
                accept_proxy: b.accept_proxy,
                tls: b.tls.clone().map(tokio_rustls::TlsAcceptor::from),
            };
            tokio::spawn(listener::accept_loop(
                shared.clone(),
                info,
                l,
                global.clone(),
                fe_slots[b.fe].clone(),
                stop_rx.clone(),
            ));
        }
        Ok(stop_tx)
    };
    let mut listening = Some(start(&sockets)?);
    health::spawn_all(&shared, opts.quiet);
    loop {
        tokio::select! {
            _ = sig_usr1.recv() => break,
            _ = sig_term.recv() => die(nix::libc::SIGTERM),
            _ = sig_int.recv() => die(nix::libc::SIGINT),
            _ = sig_hup.recv() => {
                warning(opts.quiet, "SIGHUP received: configuration reload is not implemented yet; nothing changed.");
            }
            _ = sig_ttou.recv() => {
                if let Some(tx) = listening.take() {
                    // Closing every copy of the sockets makes new connects fail at once,
                    // as HAProxy's pause does; established sessions go on.
                    let _ = tx.send(true);
                    sockets.clear();
                    for f in &cfg.frontends {
                        let msg = format!("Paused frontend {}.", f.name);
                        shared.logger.send(&f.log, log::level::WARNING, &msg);
                        warning(opts.quiet, &msg);
                    }
                }
            }
            _ = sig_ttin.recv() => {
                if listening.is_none() {
                    let reopened = bind_all(&cfg, maxconn, opts.quiet).unwrap_or_default();
                    for f in &cfg.frontends {
                        let msg = format!("Resumed frontend {}.", f.name);
                        shared.logger.send(&f.log, log::level::WARNING, &msg);
                        warning(opts.quiet, &msg);
                    }
                    sockets = reopened;
                    listening = Some(start(&sockets)?);
                }
            }
        }
    }
    // Soft stop: close every listener, say so per proxy, let sessions finish.
    if let Some(tx) = listening.take() {
        let _ = tx.send(true);
    }
    drop(sockets);
    for (f, b) in &cfg.order {
        let name = f
            .map(|i| cfg.frontends[i].name.as_str())
            .or(b.map(|i| cfg.backends[i].name.as_str()))
            .unwrap_or("");
        let fe_c = f
            .map(|i| shared.frontends[i].cumulated.load(Relaxed))
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
    Ok(0)
}

/// Ends the process by `sig` with the default action, so the exit status says so (143, 130).
fn die(sig: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig);
}
