//! The one module allowed `unsafe` (the crate denies it everywhere else).
//!
//! `fork()` is unsafe because a child of a multi-threaded process may only call
//! async-signal-safe functions. haproxide forks exactly once, to detach, before the
//! runtime starts any thread, which makes the child free to do anything.
#![allow(unsafe_code)]

use nix::unistd::{fork, setsid, ForkResult};

/// Detaches as HAProxy's `daemon` does: the parent writes the child's pid to `pidfile`
/// (so it exists as soon as the command returns) and exits 0; the child starts a new
/// session with stdin/stdout/stderr on /dev/null. Must be called before any thread exists.
pub fn daemonize(pidfile: Option<&str>) -> Result<(), String> {
    // SAFETY: called from `runtime::run` before the tokio runtime (or any other thread)
    // is created, so the process is single-threaded at this point.
    match unsafe { fork() } {
        Err(e) => Err(format!("cannot fork to detach: {e}")),
        Ok(ForkResult::Parent { child }) => {
            if let Some(p) = pidfile {
                if let Err(e) = std::fs::write(p, format!("{child}\n")) {
                    eprintln!(
                        "[ALERT]    ({}) : [haproxide.main()] Cannot create pidfile {p} : {e}",
                        std::process::id()
                    );
                    let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGTERM);
                    std::process::exit(1);
                }
            }
            std::process::exit(0);
        }
        Ok(ForkResult::Child) => {
            let _ = setsid();
            let null = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(|e| format!("/dev/null: {e}"))?;
            nix::unistd::dup2_stdin(&null).map_err(|e| format!("stdin: {e}"))?;
            nix::unistd::dup2_stdout(&null).map_err(|e| format!("stdout: {e}"))?;
            nix::unistd::dup2_stderr(&null).map_err(|e| format!("stderr: {e}"))?;
            Ok(())
        }
    }
}

/// Takes ownership of a listening socket inherited from the master (`fd` came from
/// [`crate::runtime::master`]'s environment).
pub fn inherited_listener(fd: i32) -> std::net::TcpListener {
    use std::os::fd::FromRawFd;
    // SAFETY: the master passed this descriptor number for a listening TCP socket it
    // bound and made inheritable; nothing else in this process owns it.
    unsafe { std::net::TcpListener::from_raw_fd(fd) }
}

/// Takes ownership of the readiness socket inherited from the master.
pub fn inherited_stream(fd: i32) -> std::os::unix::net::UnixStream {
    use std::os::fd::FromRawFd;
    // SAFETY: as above, a socketpair end created by the master for this worker only.
    unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) }
}

/// Hands the allocator's free pages back to the kernel. glibc keeps what a burst of
/// connections freed (per-thread arenas, fragmentation), so RSS would stay at its peak.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim takes no pointer; it only walks glibc's own free lists under
    // their locks, which is safe from any thread at any time.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// Takes ownership of a descriptor received over SCM_RIGHTS (`-x`, see
/// [`crate::runtime::handover`]): the kernel installed it in this process for us alone.
pub fn received_fd(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` comes straight from an SCM_RIGHTS control message of recvmsg(); nothing
    // else in the process knows the number, so this is its only owner.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}
