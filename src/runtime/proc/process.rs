//! Process set-up HAProxy performs before serving: detaching (`daemon`/`-D`), the pid file,
//! and dropping privileges (`chroot`, `user`/`uid`, `group`/`gid`) once every socket is
//! bound and every file read (configuration.txt §3.1).

use crate::ir::{Config, Global};

/// Writes `pid` and a newline to `path`, as HAProxy writes its pid file.
pub fn write_pidfile(path: &str) -> Result<(), String> {
    std::fs::write(path, format!("{}\n", std::process::id()))
        .map_err(|e| format!("Cannot create pidfile {path} : {e}"))
}

/// Enters `chroot` and switches to the configured group and user. Fails (and the process
/// must not serve) when the configuration asks for a change that cannot be made.
pub fn drop_privileges(g: &Global) -> Result<(), String> {
    use nix::unistd::{chdir, chroot, setgid, setgroups, setuid, Gid, Uid};
    if let Some(dir) = &g.chroot {
        chroot(dir.as_str())
            .map_err(|e| format!("[haproxide.main()] Cannot chroot({dir}): {e}"))?;
        chdir("/").map_err(|e| format!("[haproxide.main()] Cannot chdir(/) in the chroot: {e}"))?;
    }
    if let Some(gid) = g.gid {
        let gid = Gid::from_raw(gid);
        if Uid::effective().is_root() {
            setgroups(&[gid]).map_err(|e| {
                format!("[haproxide.main()] Failed to drop supplementary groups: {e}")
            })?;
        }
        setgid(gid).map_err(|e| format!("[haproxide.main()] Cannot set gid {gid}: {e}"))?;
    }
    if let Some(uid) = g.uid {
        let uid = Uid::from_raw(uid);
        setuid(uid).map_err(|e| format!("[haproxide.main()] Cannot set uid {uid}: {e}"))?;
    }
    Ok(())
}

/// Prints an ALERT line as haproxy does (nothing under `-q`).
pub fn alert(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("[ALERT]    ({}) : {msg}", std::process::id());
    }
}

/// Prints a WARNING line as haproxy does (nothing under `-q`).
pub fn warning(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("[WARNING]  ({}) : {msg}", std::process::id());
    }
}

/// Descriptors kept aside for listeners, logs and checks (HAProxy reserves some too).
const RESERVED_FDS: u64 = 100;

/// The descriptors HAProxy 2.6 reserves (its `maxsock`) for `maxconn`: two per session,
/// one per listener and checked server, eleven per stats socket (its listener and
/// `stats maxconn` 10), three per thread (poller and wake-up pipe) and ten for the rest.
fn maxsock(cfg: &Config, maxconn: u32, threads: usize) -> u64 {
    let checked: usize = cfg
        .backends
        .iter()
        .map(|b| b.servers.iter().filter(|s| s.check.is_some()).count())
        .sum();
    2 * maxconn as u64
        + 10
        + 3 * threads as u64
        + cfg.listener_count() as u64
        + checked as u64
        + 11 * cfg.global.stats_sockets.len() as u64
}

/// Raises the open-file limit as HAProxy's `ulimit-n` rule does and returns the maxconn;
/// None when the limit cannot be raised and `strict-limits` (the default) forbids going on.
pub fn size_limits(
    cfg: &Config,
    cli_maxconn: Option<u32>,
    quiet: bool,
    threads: usize,
) -> Option<u32> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024));
    // `maxconn 0` (or `-n 0`) is no limit asked: haproxy computes it, as when unset.
    let asked = cli_maxconn.or(cfg.global.maxconn).filter(|&m| m > 0);
    let want = cfg.global.ulimit_n.unwrap_or_else(|| match asked {
        Some(m) => maxsock(cfg, m, threads),
        None => hard,
    });
    let target = want.min(hard).max(soft);
    if target > soft {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, target, hard);
    }
    let (now, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((soft, hard));
    let fit = (now.saturating_sub(RESERVED_FDS) / 2).max(1) as u32;
    if want > now {
        let msg = format!("[haproxide.main()] Cannot raise FD limit to {want}, limit is {now}.");
        if !cfg.global.no_strict_limits {
            alert(quiet, &msg);
            return None;
        }
        warning(quiet, &msg);
        if let Some(m) = asked {
            alert(
                quiet,
                &format!("[haproxide.main()] FD limit ({now}) too low for maxconn={m}/maxsock={want}. Please raise 'ulimit-n' to {want} or more to avoid any trouble."),
            );
        }
        if !quiet {
            eprintln!(
                "[NOTICE]   ({}) : at most about {fit} connections can be held (each takes a client and a server descriptor).",
                std::process::id()
            );
        }
    }
    Some(match asked {
        Some(m) => m,
        None => fit,
    })
}

/// Sets the environment variables haproxy sets, in its order, for `show env` and the
/// programs the process starts: HAPROXY_STARTUP_VERSION (unless set), HAPROXY_LOCALPEER,
/// the global section's `setenv`/`unsetenv`/`resetenv`, HAPROXY_CFGFILES (the files
/// read, ';'-separated) and HAPROXY_CLI (the stats sockets). Called once, before any
/// thread starts.
pub fn export_env(cfg: &Config, localpeer: &str, files: &[String]) {
    use crate::ir::{EnvOp, ListenAddr};
    if std::env::var_os("HAPROXY_STARTUP_VERSION").is_none() {
        std::env::set_var("HAPROXY_STARTUP_VERSION", env!("CARGO_PKG_VERSION"));
    }
    // `localpeer` in the configuration names it when `-L` did not.
    let localpeer = cfg.global.localpeer.as_deref().unwrap_or(localpeer);
    std::env::set_var("HAPROXY_LOCALPEER", localpeer);
    for op in &cfg.global.env_ops {
        match op {
            EnvOp::Set(k, v) => std::env::set_var(k, v),
            EnvOp::Unset(k) => std::env::remove_var(k),
            EnvOp::Keep(keep) => {
                for (k, _) in std::env::vars_os() {
                    if !keep.iter().any(|n| std::ffi::OsStr::new(n) == k) {
                        std::env::remove_var(&k);
                    }
                }
            }
        }
    }
    std::env::set_var("HAPROXY_CFGFILES", files.join(";"));
    let cli: Vec<String> = cfg
        .global
        .stats_sockets
        .iter()
        .filter_map(|s| match &s.addr {
            ListenAddr::Unix(p) => Some(format!("unix@{p}")),
            ListenAddr::Inet(a) if a.is_ipv4() => Some(format!("ipv4@{a}")),
            ListenAddr::Inet(a) => Some(format!("ipv6@{a}")),
            ListenAddr::Fd(_) => None,
        })
        .collect();
    if !cli.is_empty() {
        std::env::set_var("HAPROXY_CLI", cli.join(";"));
    }
}
