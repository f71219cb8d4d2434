//! Process set-up HAProxy performs before serving: detaching (`daemon`/`-D`), the pid file,
//! and dropping privileges (`chroot`, `user`/`uid`, `group`/`gid`) once every socket is
//! bound and every file read (configuration.txt §3.1).

use crate::ir::Global;

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
