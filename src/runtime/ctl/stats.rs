//! The stats socket: HAProxy's runtime API (management.txt §9.3), the subset an operator of
//! a TCP balancer uses — `show info`, `show stat`, `show backend`, `show version`, server
//! weight, state and addresses (`set server`, `set weight`, `get weight`, `disable|enable
//! server`, in set_server.rs),
//! `help`, `prompt`, `quit`, several commands per line separated by `;`.
//!
//! The socket is bound like HAProxy binds it: a UNIX path is bound under a temporary name,
//! given its `mode` and owner, then renamed over the old one, before privileges are dropped.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::table::Action;
use crate::ir::{Global, ListenAddr, StatsSocket};

use crate::runtime::lb::state::Shared;

/// What a CLI session may do (`level`), lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Read-only commands.
    User,
    /// Also non-sensitive changes.
    Operator,
    /// Everything.
    Admin,
}

impl Level {
    fn from_config(s: &StatsSocket) -> Level {
        match s.level.as_deref() {
            Some("user") => Level::User,
            Some("admin") => Level::Admin,
            _ => Level::Operator,
        }
    }
}

/// A bound stats socket.
#[derive(Debug)]
pub enum Listener {
    /// A UNIX socket path; true with `expose-fd listeners`; its maxconn.
    Unix(std::os::unix::net::UnixListener, Level, bool, u32),
    /// An IP address; its maxconn.
    Tcp(std::net::TcpListener, Level, u32),
}

/// Binds every `stats socket`; the error text is HAProxy's.
pub fn bind_all(g: &Global) -> Result<Vec<Listener>, String> {
    g.stats_sockets
        .iter()
        .map(|s| {
            // haproxy's stats frontend: 10 sessions unless `stats maxconn` or the socket's
            // own `maxconn` say otherwise; the backlog follows the maxconn.
            let maxconn = s.maxconn.or(g.stats_maxconn).unwrap_or(10);
            let l = bind_one(s, maxconn)?;
            let backlog = s.backlog.unwrap_or(maxconn).clamp(1, i32::MAX as u32) as i32;
            // listen() again on a listening socket only changes its backlog.
            let _ = match &l {
                Listener::Unix(l, ..) => socket2::SockRef::from(l).listen(backlog),
                Listener::Tcp(l, ..) => socket2::SockRef::from(l).listen(backlog),
            };
            Ok(l)
        })
        .collect()
}

fn bind_one(s: &StatsSocket, maxconn: u32) -> Result<Listener, String> {
    let level = Level::from_config(s);
    let fail = |what: &str, e: std::io::Error, name: &str| {
        let text = crate::sys::os_text(&e);
        format!(
            "Binding [{}] for frontend GLOBAL: cannot {what} ({text}) [{name}]",
            s.origin
        )
    };
    match &s.addr {
        ListenAddr::Inet(a) => std::net::TcpListener::bind(a)
            .map(|l| Listener::Tcp(l, level, maxconn))
            .map_err(|e| fail("bind socket", e, &a.to_string())),
        ListenAddr::Fd(n) => {
            let (owned, family) = crate::sys::listening_dup(*n, 10)
                .map_err(|e| format!("Binding [{}] for frontend GLOBAL: {e}", s.origin))?;
            Ok(if family == nix::libc::AF_UNIX {
                Listener::Unix(owned.into(), level, s.expose_fd, maxconn)
            } else {
                Listener::Tcp(owned.into(), level, maxconn)
            })
        }
        ListenAddr::Unix(path) => {
            // Bound aside then renamed: a client never finds the path missing, and a stale
            // socket left by a previous process is replaced.
            let tmp = format!("{path}.{}.tmp", std::process::id());
            let _ = std::fs::remove_file(&tmp);
            let l = std::os::unix::net::UnixListener::bind(&tmp)
                .map_err(|e| fail("bind UNIX socket", e, path))?;
            let setup = || -> std::io::Result<()> {
                if let Some(mode) = s.mode {
                    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
                }
                if s.uid.is_some() || s.gid.is_some() {
                    std::os::unix::fs::chown(&tmp, s.uid, s.gid)?;
                }
                std::fs::rename(&tmp, path)
            };
            if let Err(e) = setup() {
                let _ = std::fs::remove_file(&tmp);
                return Err(fail("change UNIX socket ownership", e, path));
            }
            Ok(Listener::Unix(l, level, s.expose_fd, maxconn))
        }
    }
}

/// What the CLI serves from: the generation now live (swapped on reload) and the process.
#[derive(Debug)]
pub struct Cli {
    /// The live generation.
    pub current: RwLock<Arc<Shared>>,
    /// Process start.
    pub started: (Instant, SystemTime),
    /// Global maxconn the process started with (`Hard_maxconn`).
    pub maxconn: u32,
    /// The process's session slots (`set maxconn global` changes their number).
    pub global_slots: Arc<crate::runtime::limit::DynLimit>,
    /// Descriptor limit in force.
    pub ulimit_n: u64,
    /// Worker threads.
    pub nbthread: usize,
    /// `stats timeout` (idle CLI sessions are closed after it; 10 s by default).
    pub timeout: Duration,
    /// No stderr messages.
    pub quiet: bool,
    /// Descriptors of the listening sockets now open, for `_getsocks`.
    pub listeners: RwLock<Vec<RawFd>>,
    /// `node` (the host name by default), as `show info` prints it.
    pub node: String,
    /// `description`, as `show info` prints it (empty by default).
    pub description: String,
}

impl Cli {
    /// Records the listening sockets `_getsocks` hands over (after a start, a reload, a
    /// pause or a stop).
    pub fn publish(&self, fds: Vec<RawFd>) {
        *self.listeners.write().unwrap_or_else(|e| e.into_inner()) = fds;
    }

    fn shared(&self) -> Arc<Shared> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A listening socket the CLI accepts on (UNIX or TCP).
trait Accept: Send + 'static {
    type Io: AsyncRead + AsyncWrite + AsRawFd + Unpin + Send + 'static;
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<Self::Io>>;
}

impl Accept for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<Self::Io>> {
        tokio::net::UnixListener::poll_accept(self, cx).map_ok(|(c, _)| c)
    }
}

impl Accept for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<Self::Io>> {
        tokio::net::TcpListener::poll_accept(self, cx).map_ok(|(c, _)| c)
    }
}

async fn accept_loop<A: Accept>(l: A, level: Level, expose_fd: bool, maxconn: u32, cli: Arc<Cli>) {
    // At most `maxconn` sessions: the next ones wait in the backlog, as haproxy's do.
    let slots = Arc::new(tokio::sync::Semaphore::new(maxconn.max(1) as usize));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        match std::future::poll_fn(|cx| l.poll_accept(cx)).await {
            Ok(c) => {
                // Each CLI connection is a stream in haproxy (CumReq counts it).
                if let Ok(s) = cli.current.read() {
                    s.other_conns.fetch_add(1, Relaxed);
                    s.next_stream_id();
                }
                let cli = cli.clone();
                tokio::spawn(async move {
                    session(c, level, expose_fd, cli).await;
                    drop(permit);
                });
            }
            // Out of descriptors: the proxy's own listeners back off the same way.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Serves every stats socket for the life of the process.
pub fn spawn_all(listeners: Vec<Listener>, cli: Arc<Cli>) {
    for l in listeners {
        let cli = cli.clone();
        match l {
            Listener::Unix(l, level, expose_fd, maxconn) => {
                let l = l
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::UnixListener::from_std(l));
                if let Ok(l) = l {
                    tokio::spawn(accept_loop(l, level, expose_fd, maxconn, cli));
                }
            }
            Listener::Tcp(l, level, maxconn) => {
                let l = l
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpListener::from_std(l));
                if let Ok(l) = l {
                    tokio::spawn(accept_loop(l, level, false, maxconn, cli));
                }
            }
        }
    }
}

/// One CLI connection: without `prompt`, one line of commands then close (as `socat`
/// scripts use it); with `prompt`, a `> ` prompt and commands until `quit` or the timeout.
async fn session<S: AsyncRead + AsyncWrite + AsRawFd + Unpin>(
    io: S,
    level: Level,
    expose_fd: bool,
    cli: Arc<Cli>,
) {
    let raw = io.as_raw_fd();
    let (r, mut w) = tokio::io::split(io);
    let mut lines = BufReader::new(r);
    let mut level = level;
    let mut interactive = false;
    loop {
        let mut line = String::new();
        // A request line is bounded like HAProxy's CLI buffer.
        let read = tokio::time::timeout(cli.timeout, async {
            let mut limited = (&mut lines).take(16384);
            limited.read_line(&mut line).await
        })
        .await;
        match read {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
        let mut out = String::new();
        let mut quit = false;
        for cmd in commands(line.trim_end_matches(['\n', '\r'])) {
            let owned = words(cmd);
            let words: Vec<&str> = owned.iter().map(String::as_str).collect();
            match words.as_slice() {
                [] => {}
                // The rest of the line is not run.
                ["quit"] => {
                    quit = true;
                    break;
                }
                // -x in the new process: the listening sockets over this connection.
                ["_getsocks"] if expose_fd => {
                    if let Err(e) = give_sockets(raw, &mut lines, &cli).await {
                        if !cli.quiet {
                            eprintln!("[WARNING]  ({}) : _getsocks: {e}", std::process::id());
                        }
                    }
                    return;
                }
                ["prompt"] => interactive = !interactive,
                // Each answers nothing (then the blank line); a level is never raised.
                ["user"] => {
                    level = Level::User;
                    out.push('\n');
                }
                ["operator"] if level < Level::Operator => out.push_str("Permission denied\n\n"),
                ["operator"] => {
                    level = Level::Operator;
                    out.push('\n');
                }
                _ => out.push_str(&execute(&words, level, &cli)),
            }
        }
        if interactive && !quit {
            out.push_str("\n> ");
        }
        if w.write_all(out.as_bytes()).await.is_err() || quit || !interactive {
            let _ = w.shutdown().await;
            return;
        }
    }
}

/// A request line's commands: separated by ';' unless it is escaped by a backslash.
fn commands(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in line.char_indices() {
        match c {
            ';' if !escaped => {
                out.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        escaped = c == '\\' && !escaped;
    }
    out.push(&line[start..]);
    out
}

/// A command's words as haproxy's cli_parse_request cuts them: spaces and tabs separate,
/// a backslash keeps the next character in the word and is removed ("\\" is one);
/// at most 64 words.
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = cmd.chars().peekable();
    while out.len() < 64 {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut w = String::new();
        while let Some(c) = chars.next_if(|c| *c != ' ' && *c != '\t') {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    w.push(n);
                }
            } else {
                w.push(c);
            }
        }
        out.push(w);
    }
    out
}

/// Sends the listening sockets in batches, each acknowledged by the receiver.
async fn give_sockets<R: AsyncRead + Unpin>(
    conn: RawFd,
    ack: &mut R,
    cli: &Cli,
) -> Result<(), String> {
    let fds = cli
        .listeners
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    crate::runtime::ctl::handover::send_count(conn, fds.len())?;
    for batch in fds.chunks(crate::runtime::ctl::handover::MAX_SEND_FD) {
        crate::runtime::ctl::handover::send_batch(conn, batch)?;
        let mut b = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(1), ack.read_exact(&mut b))
            .await
            .map_err(|_| "no acknowledgement from the new process".to_string())?
            .map_err(|e| format!("no acknowledgement from the new process ({e})"))?;
    }
    Ok(())
}

/// The commands, their minimum level and help line, in `help` order.
const COMMANDS: &[(&str, Level, &str)] = &[
    (
        "clear table <table> [<filter>]*",
        Level::User,
        "remove an entry from a table (filter: data/key)",
    ),
    ("disable agent", Level::Admin, "disable agent checks"),
    (
        "disable frontend <frontend>",
        Level::Admin,
        "temporarily disable specific frontend",
    ),
    ("disable health", Level::Admin, "disable health checks"),
    (
        "disable server (DEPRECATED)",
        Level::Admin,
        "disable a server for maintenance (use 'set server' instead)",
    ),
    ("enable agent", Level::Admin, "enable agent checks"),
    (
        "enable frontend <frontend>",
        Level::Admin,
        "re-enable specific frontend",
    ),
    ("enable health", Level::Admin, "enable health checks"),
    (
        "enable server  (DEPRECATED)",
        Level::Admin,
        "enable a disabled server (use 'set server' instead)",
    ),
    (
        "get weight <bk>/<srv>",
        Level::User,
        "report a server's current weight",
    ),
    (
        "operator",
        Level::User,
        "lower the level of the current CLI session to operator",
    ),
    (
        "set maxconn frontend <frontend> <value>",
        Level::Admin,
        "change a frontend's maxconn setting",
    ),
    (
        "set maxconn global <value>",
        Level::Admin,
        "change the per-process maxconn setting",
    ),
    (
        "set maxconn server <bk>/<srv>",
        Level::Admin,
        "change a server's maxconn setting",
    ),
    (
        "set rate-limit <setting> <value>",
        Level::Admin,
        "change a rate limiting value",
    ),
    (
        "set server <bk>/<srv> [opts]",
        Level::Admin,
        "change a server's state, weight, address or ssl",
    ),
    (
        "set table <table> key <k> [data.* <v>]*",
        Level::User,
        "update or create a table entry's data",
    ),
    (
        "set weight <bk>/<srv>  (DEPRECATED)",
        Level::Admin,
        "change a server's weight (use 'set server' instead)",
    ),
    (
        "show backend",
        Level::User,
        "list backends in the current running config",
    ),
    (
        "show cli level",
        Level::User,
        "display the level of the current CLI session",
    ),
    (
        "show env [var]",
        Level::Operator,
        "dump environment variables known to the process",
    ),
    (
        "show info",
        Level::User,
        "report information about the running process",
    ),
    (
        "show servers state [<backend>]",
        Level::User,
        "dump volatile server information (all or for a single backend)",
    ),
    (
        "show stat",
        Level::User,
        "report counters for each proxy and server",
    ),
    (
        "show table <table> [<filter>]*",
        Level::User,
        "report table usage stats or dump this table's contents (filter: data/key)",
    ),
    (
        "show version",
        Level::User,
        "show version of the current process",
    ),
    (
        "shutdown frontend <frontend>",
        Level::Admin,
        "stop a specific frontend",
    ),
    (
        "shutdown sessions server <bk>/<srv>",
        Level::Admin,
        "kill sessions on a server",
    ),
    (
        "user",
        Level::User,
        "lower the level of the current CLI session to user",
    ),
    (
        "help [<command>]",
        Level::User,
        "list matching or all commands",
    ),
    ("prompt", Level::User, "toggle interactive mode with prompt"),
    ("quit", Level::User, "disconnect"),
];

fn help(level: Level) -> String {
    let mut s = String::from("The following commands are valid at this level:\n");
    for (cmd, need, what) in COMMANDS {
        if level >= *need {
            s.push_str(&format!("  {cmd:<40}: {what}\n"));
        }
    }
    s
}

/// Runs one command and returns its output (each answer ends with an empty line).
pub fn execute(words: &[&str], level: Level, cli: &Cli) -> String {
    let need = |l: Level| level >= l;
    let denied = || "Permission denied\n\n".to_string();
    let shared = cli.shared();
    match words {
        ["help", ..] => help(level) + "\n",
        ["show", "info", ..] => show_info(cli, &shared),
        ["show", "stat", ..] => super::show_stat::show_stat(&shared),
        ["show", "env", rest @ ..] => {
            if !need(Level::Operator) {
                return denied();
            }
            show_env(rest.first().copied())
        }
        ["show", "table", ..] => super::table::command(&shared, words, level, Action::Show),
        ["clear", "table", ..] => super::table::command(&shared, words, level, Action::Clear),
        ["set", "table", ..] => super::table::command(&shared, words, level, Action::Set),
        ["show", "servers", "state", rest @ ..] => {
            crate::runtime::lb::server_state::show(&shared, rest.first().copied())
        }
        ["show", "backend"] => {
            let mut s = String::from("# name\n");
            for b in &shared.backends {
                s.push_str(&b.ir.name);
                s.push('\n');
            }
            s + "\n"
        }
        ["show", "version"] => format!("{}\n\n", env!("CARGO_PKG_VERSION")),
        ["show", "cli", "level"] => {
            let l = match level {
                Level::User => "user",
                Level::Operator => "operator",
                Level::Admin => "admin",
            };
            format!("{l}\n\n")
        }
        ["set", "maxconn", what @ ("global" | "frontend"), rest @ ..] => {
            if level < Level::Admin {
                return "Permission denied\n\n".into();
            }
            super::limits::set_maxconn(cli, &shared, what, rest) + "\n"
        }
        ["set", "rate-limit", rest @ ..] => {
            if level < Level::Admin {
                return "Permission denied\n\n".into();
            }
            super::limits::set_rate_limit(&shared, rest) + "\n"
        }
        [verb @ ("disable" | "enable" | "shutdown"), "frontend", rest @ ..] => {
            if level < Level::Admin {
                return "Permission denied\n\n".into();
            }
            frontend_state(
                &shared,
                verb,
                rest.first().copied().unwrap_or(""),
                cli.quiet,
            ) + "\n"
        }
        // srv_shutdown_streams(SF_ERR_KILLED): each session on it ends, logged `K`.
        ["shutdown", "sessions", "server", rest @ ..] => {
            super::set_server::on_server(&shared, level, rest, |bi, si| {
                shared.backends[bi].servers[si]
                    .cancels
                    .cancel_all(crate::runtime::cancel::Reason::Killed);
                None
            })
        }
        [verb @ ("get" | "set" | "enable" | "disable"), ..]
            if super::set_server::handles(words) =>
        {
            super::set_server::command(&shared, words, level, cli.quiet)
        }
        _ => {
            format!("Unknown command: '{}'\n{}\n", words.join(" "), help(level))
        }
    }
}

/// `disable|enable|shutdown frontend <name>` (pause_proxy, resume_proxy, stop_proxy):
/// haproxy's answer, empty when done.
fn frontend_state(shared: &Shared, verb: &str, name: &str, quiet: bool) -> String {
    use crate::runtime::lb::state::Listening;
    if name.is_empty() {
        return "A frontend name is expected.\n".into();
    }
    let Some(f) = shared.frontends.iter().find(|f| f.ir.name == name) else {
        // A disabled one is known, and shut down for good.
        if shared.disabled_frontends.iter().any(|d| d == name) {
            return match verb {
                "disable" => "Frontend was previously shut down, cannot disable.\n",
                "enable" => "Frontend was previously shut down, cannot enable.\n",
                _ => "Frontend was already shut down.\n",
            }
            .into();
        }
        return "No such frontend.\n".into();
    };
    let now = *f.listening.borrow();
    let (next, refusal) = match (verb, now) {
        ("disable", Listening::Stopped) => {
            (now, "Frontend was previously shut down, cannot disable.\n")
        }
        ("disable", Listening::Paused) => (now, "All sockets are already disabled.\n"),
        ("disable", _) => (Listening::Paused, ""),
        ("enable", Listening::Stopped) => {
            (now, "Frontend was previously shut down, cannot enable.\n")
        }
        ("enable", Listening::Ready) => (now, "All sockets are already enabled.\n"),
        ("enable", _) => (Listening::Ready, ""),
        (_, Listening::Stopped) => (now, "Frontend was already shut down.\n"),
        _ => (Listening::Stopped, ""),
    };
    f.listening.send_replace(next);
    let say = |msg: &str| {
        shared
            .logger
            .send(&f.ir.log, crate::runtime::log::level::WARNING, msg);
        crate::runtime::proc::process::warning(quiet, msg);
    };
    // pause_listener, resume_listener: said when the proxy's state changes.
    let cap = if f.ir.is_listen { "proxy" } else { "frontend" };
    match (now, next) {
        (Listening::Ready, Listening::Paused) => say(&format!("Paused {cap} {name}.")),
        (Listening::Paused, Listening::Ready) => say(&format!("Resumed {cap} {name}.")),
        _ => {}
    }
    if next == Listening::Stopped && now != Listening::Stopped {
        // proxy_cond_disable: said once, on stderr and in the proxy's logs.
        let be = shared
            .backends
            .iter()
            .find(|b| f.ir.is_listen && b.ir.name == f.ir.name)
            .map_or(0, |b| {
                b.cumulated.load(std::sync::atomic::Ordering::Relaxed)
            });
        say(&format!(
            "Proxy {name} stopped (cumulated conns: FE: {}, BE: {be}).",
            f.conn_tot.load(std::sync::atomic::Ordering::Relaxed)
        ));
    }
    refusal.to_string()
}

/// `show env [<name>]`: the process's environment, in its order.
fn show_env(name: Option<&str>) -> String {
    let mut out = String::new();
    for (k, v) in std::env::vars_os() {
        let (k, v) = (k.to_string_lossy(), v.to_string_lossy());
        match name {
            Some(n) if n != k => continue,
            Some(_) => return format!("{k}={v}\n\n"),
            None => out.push_str(&format!("{k}={v}\n")),
        }
    }
    if name.is_some() {
        return "Variable not found\n\n".into();
    }
    out + "\n"
}

fn show_info(cli: &Cli, shared: &Shared) -> String {
    let up = cli.started.0.elapsed().as_secs();
    let start = cli
        .started
        .1
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let conns = shared.actconn.load(Relaxed);
    let cum: u64 = shared
        .frontends
        .iter()
        .map(|f| f.conn_tot.load(Relaxed))
        .sum::<u64>()
        + shared.other_conns.load(Relaxed);
    let listeners: usize = shared
        .frontends
        .iter()
        .map(|f| f.ir.binds.len())
        .sum::<usize>()
        + shared.other_listeners;
    let v = env!("CARGO_PKG_VERSION");
    let r = &shared.rates;
    let limit = |x: &crate::runtime::freq::Rate| x.limit.load(Relaxed).to_string();
    let fields: Vec<(&str, String)> = vec![
        ("Name", "haproxide".into()),
        ("Version", v.into()),
        ("Nbthread", cli.nbthread.to_string()),
        ("Nbproc", "1".into()),
        ("Process_num", "1".into()),
        ("Pid", std::process::id().to_string()),
        (
            "Uptime",
            format!(
                "{}d {}h{:02}m{:02}s",
                up / 86400,
                up / 3600 % 24,
                up / 60 % 60,
                up % 60
            ),
        ),
        ("Uptime_sec", up.to_string()),
        ("Ulimit-n", cli.ulimit_n.to_string()),
        (
            "Maxsock",
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .map_or(cli.ulimit_n, |l| l.0)
                .to_string(),
        ),
        ("Maxconn", cli.global_slots.limit().to_string()),
        ("Hard_maxconn", cli.maxconn.to_string()),
        ("CurrConns", conns.to_string()),
        ("CumConns", cum.to_string()),
        ("CumReq", shared.req_count.load(Relaxed).to_string()),
        ("ConnRate", r.connections.read().to_string()),
        ("ConnRateLimit", limit(&r.connections)),
        ("MaxConnRate", r.connections.max().to_string()),
        ("SessRate", r.sessions.read().to_string()),
        ("SessRateLimit", limit(&r.sessions)),
        ("MaxSessRate", r.sessions.max().to_string()),
        ("SslRate", r.ssl.read().to_string()),
        ("SslRateLimit", limit(&r.ssl)),
        ("MaxSslRate", r.ssl.max().to_string()),
        ("node", cli.node.clone()),
        ("description", cli.description.clone()),
        ("Stopping", "0".into()),
        ("Listeners", listeners.to_string()),
        ("DroppedLogs", shared.logger.dropped().to_string()),
        ("Build info", v.into()),
        ("Start_time_sec", start.to_string()),
    ];
    let mut s = String::new();
    // haproxy leaves out a description that was never set.
    for (k, v) in fields
        .iter()
        .filter(|(k, v)| *k != "description" || !v.is_empty())
    {
        // Values are CSV-encoded, as haproxy's csv_enc() does: quoted when they hold a
        // comma, a quote or a line break, inner quotes doubled.
        let v = if v.contains([',', '"', '\r', '\n']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.clone()
        };
        s.push_str(&format!("{k}: {v}\n"));
    }
    s + "\n"
}
