//! The master CLI (`-S <path>[,mode,<octal>]`; management.txt §9.4): `show proc`, `reload`,
//! `show version`, `help`, `prompt`, `quit`, as Debian's unit opens it at
//! /run/haproxy-master.sock. Commands for a worker (`@1 …`, `@!<pid> …`) are answered with
//! a pointer to the worker's own stats socket: haproxide does not relay them.

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

/// A process as `show proc` lists it.
#[derive(Debug, Clone)]
pub struct Proc {
    /// Its pid.
    pub pid: u32,
    /// When it started.
    pub started: Instant,
    /// Reloads it has lived through.
    pub reloads: u32,
}

/// What `show proc` shows, kept up to date by the master's loop.
#[derive(Debug)]
pub struct Procs {
    /// The master itself (its `reloads` count every reload).
    pub master: Proc,
    /// Reloads that failed.
    pub failed: u32,
    /// The serving worker first, then old ones still finishing.
    pub workers: Vec<Proc>,
}

/// Binds `-S` `spec` (`path[,mode,<octal>]`; other options are accepted and ignored).
pub fn bind(spec: &str) -> Result<std::os::unix::net::UnixListener, String> {
    let mut parts = spec.split(',');
    let path = parts.next().unwrap_or_default();
    let opts: Vec<&str> = parts.collect();
    let _ = std::fs::remove_file(path);
    let l = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| format!("cannot bind master CLI socket '{path}' ({e})"))?;
    if let Some(i) = opts.iter().position(|o| *o == "mode") {
        if let Some(mode) = opts.get(i + 1).and_then(|m| u32::from_str_radix(m, 8).ok()) {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("master CLI socket '{path}': {e}"))?;
        }
    }
    Ok(l)
}

/// Serves the master CLI; a `reload` command is sent on `reload`.
pub fn spawn(
    l: std::os::unix::net::UnixListener,
    procs: Arc<Mutex<Procs>>,
    reload: mpsc::UnboundedSender<()>,
) -> std::io::Result<()> {
    l.set_nonblocking(true)?;
    let l = tokio::net::UnixListener::from_std(l)?;
    tokio::spawn(async move {
        loop {
            match l.accept().await {
                Ok((c, _)) => {
                    tokio::spawn(session(c, procs.clone(), reload.clone()));
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    });
    Ok(())
}

const HELP: &str = "The following commands are valid at this level:
  @!<pid>                                 : send a command to the <pid> process
  @<relative pid>                         : send a command to the <relative pid> process
  @master                                 : send a command to the master process
  operator                                : lower the level of the current CLI session to operator
  reload                                  : reload haproxy
  show cli level                          : display the level of the current CLI session
  show proc                               : show processes status
  show version                            : show version of the current process
  user                                    : lower the level of the current CLI session to user
  help [<command>]                        : list matching or all commands
  prompt                                  : toggle interactive mode with prompt
  quit                                    : disconnect
";

fn uptime(since: Instant) -> String {
    let s = since.elapsed().as_secs();
    format!(
        "{}d{:02}h{:02}m{:02}s",
        s / 86400,
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    )
}

fn show_proc(p: &Procs) -> String {
    let v = env!("CARGO_PKG_VERSION");
    let mut s = format!(
        "{:<15} {:<15} {:<15} {:<15} {:<15}\n",
        "#<PID>", "<type>", "<reloads>", "<uptime>", "<version>"
    );
    s.push_str(&format!(
        "{:<15} {:<15} {:<15} {:<15} {}\n",
        p.master.pid,
        "master",
        format!("{} [failed: {}]", p.master.reloads, p.failed),
        uptime(p.master.started),
        v
    ));
    s.push_str("# workers\n");
    for w in &p.workers {
        s.push_str(&format!(
            "{:<15} {:<15} {:<15} {:<15} {}\n",
            w.pid,
            "worker",
            w.reloads,
            uptime(w.started),
            v
        ));
    }
    s.push_str("# programs\n\n");
    s
}

/// One connection: commands until the client closes its side (or `quit`).
async fn session(c: UnixStream, procs: Arc<Mutex<Procs>>, reload: mpsc::UnboundedSender<()>) {
    let (r, mut w) = c.into_split();
    let mut lines = BufReader::new(r.take(1 << 20));
    let mut prompt = false;
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(n) if n > 0 => {}
            _ => return,
        }
        let mut out = String::new();
        for cmd in line.trim_end().split(';') {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                ["quit"] => {
                    let _ = w.write_all(out.as_bytes()).await;
                    return;
                }
                ["prompt"] => prompt = !prompt,
                ["user"] | ["operator"] | ["@master"] => {}
                ["help", ..] => out.push_str(HELP),
                ["show", "proc"] => {
                    let p = procs.lock().unwrap_or_else(|e| e.into_inner());
                    out.push_str(&show_proc(&p));
                }
                ["show", "version"] => out.push_str(&format!("{}\n\n", env!("CARGO_PKG_VERSION"))),
                ["show", "cli", "level"] => out.push_str("admin\n\n"),
                ["reload"] => {
                    let _ = reload.send(());
                }
                [w0, ..] if w0.starts_with('@') => out.push_str(
                    "haproxide does not relay commands to workers: use the worker's stats socket.\n\n",
                ),
                _ => {
                    out.push_str("Unknown command, but maybe one of the following ones is a better match:\n");
                    out.push_str(HELP.split_once('\n').map_or("", |x| x.1));
                    out.push('\n');
                }
            }
        }
        if prompt {
            out.push_str("\nmaster> ");
        }
        if w.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}
