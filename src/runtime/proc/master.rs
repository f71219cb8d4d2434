//! Master-worker mode (`-W`, `-Ws`, `master-worker`; management.txt §4 "Master-worker").
//!
//! The master stays in the foreground with its privileges and outside any chroot: it binds
//! the listeners, starts a worker (this same binary, re-executed with `-db`) that inherits
//! them, and on SIGUSR2/SIGHUP re-reads the configuration, starts a new worker with the
//! listeners (kept ones are the same sockets) and asks the old one to finish (SIGUSR1).
//! An invalid configuration leaves the running worker untouched. With `-Ws` it reports to
//! systemd over `$NOTIFY_SOCKET` (READY=1, RELOADING=1, STOPPING=1, MAINPID, and a STATUS=
//! line that `systemctl status` shows: haproxy 2.6 sends none, the text is haproxide's).
//! A worker that dies unexpectedly is logged and replaced (HAProxy 2.6 exits instead).

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, SignalKind};

use crate::ir::Config;
use crate::runtime::ctl::master_cli::{Proc, Procs};
use crate::runtime::proc::reload;
use crate::runtime::session::listener::{self, bind_all};

/// Environment variable carrying inherited listening sockets: lines of `fd<TAB>key`.
pub const ENV_FDS: &str = "HAPROXIDE_LISTEN_FDS";
/// Environment variable naming the socket a worker writes one byte to once serving.
pub const ENV_READY: &str = "HAPROXIDE_READY_FD";

/// What the master needs from the command line.
#[derive(Debug, Clone)]
pub struct MasterOptions {
    /// Quiet (`-q`).
    pub quiet: bool,
    /// `-Ws`: notify systemd.
    pub systemd: bool,
    /// Reads the configuration again on reload.
    pub loader: reload::Loader,
    /// This executable.
    pub exe: String,
    /// Arguments for a worker (the master's own, without -W/-Ws/-D/-p/-sf/-st/-x, plus -db).
    pub worker_args: Vec<String>,
    /// `-sf`/`-st`/`-x` with their values: for the first worker only.
    pub first_only: Vec<String>,
    /// `-p`: the master's pid.
    pub pidfile: Option<String>,
    /// Global maxconn from the command line.
    pub maxconn: Option<u32>,
    /// `-S`: master CLI sockets.
    pub master_cli: Vec<String>,
}

fn say(quiet: bool, tag: &str, msg: &str) {
    if !quiet {
        eprintln!("{tag}({}) : {msg}", std::process::id());
    }
}

fn notify(enabled: bool, msg: &str) {
    if !enabled {
        return;
    }
    if let Ok(path) = std::env::var("NOTIFY_SOCKET") {
        if let Ok(s) = UnixDatagram::unbound() {
            let _ = s.send_to(msg.as_bytes(), path);
        }
    }
}

/// Lets `fd` survive exec (the worker inherits it).
fn inheritable(fd: &impl std::os::fd::AsFd) -> anyhow::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).context("clearing FD_CLOEXEC")?;
    Ok(())
}

/// Starts a worker with `sockets`; returns it once it said it is serving. A worker that
/// fails to say so in time is killed, never left running beside its successor.
async fn spawn_worker(
    o: &MasterOptions,
    sockets: &[listener::Bound],
    first: bool,
) -> anyhow::Result<Child> {
    let mut fds = String::new();
    for b in sockets {
        inheritable(&b.socket)?;
        fds.push_str(&format!("{}\t{}\n", b.socket.as_raw_fd(), b.key));
    }
    let (mut ours, theirs) = UnixStream::pair().context("readiness pipe")?;
    inheritable(&theirs)?;
    let mut cmd = Command::new(&o.exe);
    cmd.args(&o.worker_args)
        .args(if first { &o.first_only[..] } else { &[] })
        .env(ENV_FDS, fds)
        .env(ENV_READY, theirs.as_raw_fd().to_string());
    let mut child = cmd.spawn().context("starting a worker")?;
    drop(theirs);
    // The worker writes one byte once its listeners accept; EOF means it failed.
    let ready = tokio::task::spawn_blocking(move || {
        ours.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let mut b = [0u8; 1];
        matches!(ours.read(&mut b), Ok(1))
    })
    .await
    .unwrap_or(false);
    if !ready {
        let _ = child.start_kill();
        let _ = child.wait().await;
        anyhow::bail!("the new worker did not start");
    }
    Ok(child)
}

fn describe(code: Option<i32>, sig: Option<i32>) -> String {
    match (code, sig) {
        (Some(c), _) => format!("exited with code {c} (Exit)"),
        (None, Some(s)) => {
            let name = match s {
                9 => "Killed",
                15 => "Terminated",
                2 => "Interrupt",
                _ => "Signal",
            };
            format!("exited with code {} ({name})", 128 + s)
        }
        _ => "exited".into(),
    }
}

/// Runs the master until it is told to stop; returns its exit status.
pub fn run(cfg: Config, o: MasterOptions) -> anyhow::Result<i32> {
    let maxconn = o
        .maxconn
        .or(cfg.global.maxconn)
        .filter(|&m| m > 0)
        .unwrap_or(10_000);
    let Some(sockets) = bind_all(&cfg, maxconn, o.quiet) else {
        say(
            o.quiet,
            "[ALERT]    ",
            "[haproxide.main()] Some protocols failed to start their listeners! Exiting.",
        );
        return Ok(1);
    };
    if let Some(p) = &o.pidfile {
        if let Err(e) = crate::runtime::proc::process::write_pidfile(p) {
            say(o.quiet, "[ALERT]    ", &format!("[haproxide.main()] {e}"));
            return Ok(1);
        }
    }
    let mut cli = Vec::new();
    for spec in &o.master_cli {
        match crate::runtime::ctl::master_cli::bind(spec) {
            Ok(l) => cli.push(l),
            Err(e) => {
                say(o.quiet, "[ALERT]    ", &e);
                return Ok(1);
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("master runtime")?;
    rt.block_on(serve(cfg, o, sockets, maxconn, cli))
}

async fn serve(
    mut cfg: Config,
    o: MasterOptions,
    mut sockets: Vec<listener::Bound>,
    maxconn: u32,
    cli: Vec<std::os::unix::net::UnixListener>,
) -> anyhow::Result<i32> {
    let q = o.quiet;
    let started = std::time::Instant::now();
    let procs = Arc::new(Mutex::new(Procs {
        master: Proc {
            pid: std::process::id(),
            started,
            reloads: 0,
        },
        failed: 0,
        workers: Vec::new(),
    }));
    let (reload_tx, mut reload_rx) = tokio::sync::mpsc::unbounded_channel();
    for l in cli {
        crate::runtime::ctl::master_cli::spawn(l, procs.clone(), reload_tx.clone())
            .context("master CLI socket")?;
    }
    // Each worker's start and the master's reload count then, for `show proc`.
    let mut born: BTreeMap<u32, (std::time::Instant, u32)> = BTreeMap::new();
    // Signal handlers first: a SIGTERM right after READY must not kill the master by
    // default action and orphan the worker.
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    notify(o.systemd, "RELOADING=1\nSTATUS=Starting.");
    let mut current = spawn_worker(&o, &sockets, true).await?;
    say(
        q,
        "[NOTICE]   ",
        &format!("New worker ({}) forked", current.id().unwrap_or(0)),
    );
    say(q, "[NOTICE]   ", "Loading success.");
    notify(o.systemd, &ready("Ready."));
    let mut former: Vec<(u32, Child)> = Vec::new();
    let mut reap = tokio::time::interval(Duration::from_millis(100));
    loop {
        // Taken now: a child's id is gone once it has been waited for.
        let cur_id = current.id().unwrap_or(0);
        {
            let mut p = procs.lock().unwrap_or_else(|e| e.into_inner());
            let reloads = p.master.reloads;
            let ids: Vec<u32> = std::iter::once(cur_id)
                .chain(former.iter().map(|f| f.0))
                .collect();
            born.retain(|pid, _| ids.contains(pid));
            p.workers = ids
                .iter()
                .map(|&pid| {
                    let (when, at) = *born
                        .entry(pid)
                        .or_insert((std::time::Instant::now(), reloads));
                    Proc {
                        pid,
                        started: when,
                        reloads: reloads - at,
                    }
                })
                .collect();
        }
        let reloaded = |ok: bool| {
            let mut p = procs.lock().unwrap_or_else(|e| e.into_inner());
            p.master.reloads += 1;
            if !ok {
                p.failed += 1;
            }
        };
        tokio::select! {
            st = current.wait() => {
                let st = st?;
                use std::os::unix::process::ExitStatusExt;
                let code = st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
                // haproxy warns for an exit status below 128 and alerts for a signal.
                let tag = if code < 128 { "[WARNING]  " } else { "[ALERT]    " };
                say(q, tag, &format!("Current worker ({cur_id}) {}", describe(st.code(), st.signal())));
                // As haproxy 2.6 (exit-on-failure, which `no-exit-on-failure` does not
                // change in 2.6.12, measured): every process goes and the master exits with
                // the worker's status, for the service manager to restart the whole.
                if code != 0 && code != 130 && code != 143 {
                    say(q, "[ALERT]    ", "exit-on-failure: killing every processes with SIGTERM");
                }
                return stop_former(&o, former, code).await;
            }
            _ = usr2.recv() => reloaded(reload_workers(&mut cfg, &o, &mut sockets, &mut current, &mut former, maxconn).await),
            _ = hup.recv() => reloaded(reload_workers(&mut cfg, &o, &mut sockets, &mut current, &mut former, maxconn).await),
            Some(()) = reload_rx.recv() => reloaded(reload_workers(&mut cfg, &o, &mut sockets, &mut current, &mut former, maxconn).await),
            _ = usr1.recv() => return stop_all(&o, current, former, nix::sys::signal::Signal::SIGUSR1, 0).await,
            _ = term.recv() => return stop_all(&o, current, former, nix::sys::signal::Signal::SIGTERM, 0).await,
            _ = int.recv() => return stop_all(&o, current, former, nix::sys::signal::Signal::SIGINT, 130).await,
            _ = reap.tick() => {
                use std::os::unix::process::ExitStatusExt;
                let mut still = Vec::new();
                for (id, mut w) in former.drain(..) {
                    match w.try_wait() {
                        Ok(Some(st)) => say(q, "[WARNING]  ", &format!("Former worker ({id}) {}", describe(st.code(), st.signal()))),
                        _ => still.push((id, w)),
                    }
                }
                former = still;
            }
        }
    }
}

fn pid_of(c: &Child) -> Option<nix::unistd::Pid> {
    c.id().map(|p| nix::unistd::Pid::from_raw(p as i32))
}

async fn reload_workers(
    cfg: &mut Config,
    o: &MasterOptions,
    sockets: &mut Vec<listener::Bound>,
    current: &mut Child,
    former: &mut Vec<(u32, Child)>,
    maxconn: u32,
) -> bool {
    let q = o.quiet;
    notify(
        o.systemd,
        "RELOADING=1\nSTATUS=Reloading the configuration.",
    );
    say(q, "[NOTICE]   ", "Reloading HAProxy");
    let loaded = match o.loader.reread().await {
        Some(l) => l,
        None => {
            say(q, "[WARNING]  ", "Loading failure!");
            notify(o.systemd, &ready(RELOAD_FAILED));
            return false;
        }
    };
    if !q {
        eprint!("{}", loaded.messages);
    }
    let outcome = async {
        let new_cfg = loaded.config.ok_or(())?;
        let (new_sockets, _plan) = listener::rebind(&new_cfg, sockets, maxconn, q).ok_or(())?;
        let worker = spawn_worker(o, &new_sockets, false)
            .await
            .map_err(|e| say(q, "[ALERT]    ", &format!("{e:#}")))?;
        Ok::<_, ()>((new_cfg, new_sockets, worker))
    };
    match outcome.await {
        Ok((new_cfg, new_sockets, worker)) => {
            say(
                q,
                "[NOTICE]   ",
                &format!("New worker ({}) forked", worker.id().unwrap_or(0)),
            );
            let old = std::mem::replace(current, worker);
            if let Some(p) = pid_of(&old) {
                let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGUSR1);
            }
            former.push((old.id().unwrap_or(0), old));
            *sockets = new_sockets;
            *cfg = new_cfg;
            say(q, "[NOTICE]   ", "Loading success.");
            notify(o.systemd, &ready("Ready (configuration reloaded)."));
            true
        }
        Err(()) => {
            say(q, "[WARNING]  ", "Loading failure!");
            notify(o.systemd, &ready(RELOAD_FAILED));
            false
        }
    }
}

const RELOAD_FAILED: &str = "Reload failed: the previous configuration keeps serving.";

/// READY=1 with the master's pid and a STATUS= line.
fn ready(status: &str) -> String {
    format!("READY=1\nMAINPID={}\nSTATUS={status}", std::process::id())
}

/// The current worker is gone: the former ones get SIGTERM, then the master exits with
/// `code`, as haproxy's master does when its worker dies.
async fn stop_former(
    o: &MasterOptions,
    former: Vec<(u32, Child)>,
    code: i32,
) -> anyhow::Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    for (_, w) in &former {
        if let Some(p) = pid_of(w) {
            let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGTERM);
        }
    }
    for (id, mut w) in former {
        if let Ok(st) = w.wait().await {
            say(
                o.quiet,
                "[WARNING]  ",
                &format!("Former worker ({id}) {}", describe(st.code(), st.signal())),
            );
        }
    }
    say(
        o.quiet,
        "[WARNING]  ",
        &format!("All workers exited. Exiting... ({code})"),
    );
    Ok(code)
}

async fn stop_all(
    o: &MasterOptions,
    current: Child,
    former: Vec<(u32, Child)>,
    sig: nix::sys::signal::Signal,
    code: i32,
) -> anyhow::Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    notify(o.systemd, "STOPPING=1\nSTATUS=Stopping.");
    say(o.quiet, "[WARNING]  ", "Exiting Master process...");
    let mut all: Vec<(u32, Child, &str)> = former
        .into_iter()
        .map(|(id, w)| (id, w, "Former"))
        .collect();
    all.push((current.id().unwrap_or(0), current, "Current"));
    for (_, w, _) in &all {
        if let Some(p) = pid_of(w) {
            let _ = nix::sys::signal::kill(p, sig);
        }
    }
    for (id, mut w, which) in all {
        if let Ok(st) = w.wait().await {
            // As haproxy: a worker that did not exit 0 is an alert.
            let tag = if st.code() == Some(0) {
                "[WARNING]  "
            } else {
                "[ALERT]    "
            };
            say(
                o.quiet,
                tag,
                &format!("{which} worker ({id}) {}", describe(st.code(), st.signal())),
            );
        }
    }
    say(
        o.quiet,
        "[WARNING]  ",
        &format!("All workers exited. Exiting... ({code})"),
    );
    Ok(code)
}

/// Whether this process is a worker started by a haproxide master: the environment
/// names the readiness socket and that socket's peer is our parent. A variable set by
/// anyone else does not turn a process into a worker.
pub fn started_by_master() -> bool {
    std::env::var_os(ENV_FDS).is_some()
        && std::env::var(ENV_READY)
            .ok()
            .and_then(|v| v.parse().ok())
            .is_some_and(crate::sys::is_master_socket)
}

/// In a worker: the inherited listening sockets by key, and the readiness socket. Each
/// descriptor is taken only once checked to be a listening TCP socket on its key's
/// address; anything else is an error (the worker does not start).
pub fn inherited() -> anyhow::Result<(BTreeMap<String, std::net::TcpListener>, Option<UnixStream>)>
{
    let spec = std::env::var(ENV_FDS).unwrap_or_default();
    let ready = std::env::var(ENV_READY)
        .ok()
        .and_then(|v| v.parse().ok())
        .and_then(crate::sys::inherited_stream);
    // Not passed on to anything this worker starts.
    std::env::remove_var(ENV_FDS);
    std::env::remove_var(ENV_READY);
    anyhow::ensure!(ready.is_some(), "not started by a haproxide master");
    let mut map = BTreeMap::new();
    for line in spec.lines() {
        let parsed = line.split_once('\t').and_then(|(fd, key)| {
            let addr = key.split('|').next()?.parse().ok()?;
            Some((fd.parse::<i32>().ok()?, key, addr))
        });
        let Some((fd, key, addr)) = parsed else {
            anyhow::bail!("bad inherited listener entry {line:?}");
        };
        let l = crate::sys::inherited_listener(fd, addr).map_err(anyhow::Error::msg)?;
        map.insert(key.to_string(), l);
    }
    Ok((map, ready))
}
