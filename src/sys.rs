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

/// An integer socket option of `fd`, None when `fd` is not an open socket.
fn sockopt_int(fd: i32, opt: nix::libc::c_int) -> Option<nix::libc::c_int> {
    use nix::libc::{getsockopt, socklen_t, SOL_SOCKET};
    let mut v: nix::libc::c_int = 0;
    let mut len = std::mem::size_of::<nix::libc::c_int>() as socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `v`, which is that large; an fd
    // that is not open or not a socket only makes it fail (EBADF, ENOTSOCK).
    let r = unsafe {
        getsockopt(
            fd,
            SOL_SOCKET,
            opt,
            (&mut v as *mut nix::libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// Whether `fd` is the master's end of the readiness socketpair: a Unix stream socket
/// whose peer is our parent process. The environment alone (which anyone can set) never
/// makes a process a worker.
pub fn is_master_socket(fd: i32) -> bool {
    use nix::libc::{getsockopt, socklen_t, ucred, SOCK_STREAM, SOL_SOCKET, SO_PEERCRED, SO_TYPE};
    if fd < 3 || sockopt_int(fd, SO_TYPE) != Some(SOCK_STREAM) {
        return false;
    }
    let mut cred = ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<ucred>() as socklen_t;
    // SAFETY: as in sockopt_int, with a `ucred` of the length given.
    let r = unsafe {
        getsockopt(
            fd,
            SOL_SOCKET,
            SO_PEERCRED,
            (&mut cred as *mut ucred).cast(),
            &mut len,
        )
    };
    r == 0 && cred.pid > 1 && cred.pid as u32 == std::os::unix::process::parent_id()
}

/// Checks that `fd` is an open socket, as haproxy's getsockname() test of an `fd@`
/// address does (EBADF: not open; ENOTSOCK: not a socket).
pub fn check_socket(fd: i32) -> std::io::Result<()> {
    use nix::libc::{getsockname, sockaddr_storage, socklen_t};
    // SAFETY: sockaddr_storage is plain data for which all-zero bytes are valid.
    let mut ss: sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<sockaddr_storage>() as socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `ss`, which is that large; a
    // descriptor that is not an open socket only makes it fail.
    let r = unsafe { getsockname(fd, (&mut ss as *mut sockaddr_storage).cast(), &mut len) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A listening stream socket made of a duplicate of the inherited descriptor `fd` (an
/// `fd@` address), with its family: the descriptor itself stays open for the next
/// configuration; listen() is called when the socket does not listen yet, as haproxy does.
pub fn listening_dup(fd: i32, backlog: i32) -> Result<(std::os::fd::OwnedFd, i32), String> {
    use nix::libc::{SOCK_STREAM, SO_ACCEPTCONN, SO_DOMAIN, SO_TYPE};
    use std::os::fd::{AsRawFd, BorrowedFd};
    let why = |e: std::io::Error| format!("cannot use file descriptor '{fd}' : {}", os_text(&e));
    check_socket(fd).map_err(why)?;
    if sockopt_int(fd, SO_TYPE) != Some(SOCK_STREAM) {
        return Err(format!("file descriptor '{fd}' is not a stream socket"));
    }
    // SAFETY: `fd` is an open socket (checked above) that stays open while borrowed here.
    let dup = unsafe { BorrowedFd::borrow_raw(fd) }
        .try_clone_to_owned()
        .map_err(why)?;
    if sockopt_int(fd, SO_ACCEPTCONN) != Some(1) {
        // SAFETY: listen() on an open socket we own; it fails cleanly otherwise.
        if unsafe { nix::libc::listen(dup.as_raw_fd(), backlog) } != 0 {
            return Err(why(std::io::Error::last_os_error()));
        }
    }
    let sock = socket2::SockRef::from(&dup);
    sock.set_nonblocking(true).map_err(why)?;
    let family = sockopt_int(fd, SO_DOMAIN).unwrap_or(-1);
    Ok((dup, family))
}

/// An `fd@` bind: the inherited TCP socket, listening.
pub fn listener_from_fd(fd: i32, backlog: i32) -> Result<std::net::TcpListener, String> {
    use nix::libc::{AF_INET, AF_INET6};
    let (owned, family) = listening_dup(fd, backlog)?;
    if family != AF_INET && family != AF_INET6 {
        return Err(format!(
            "file descriptor '{fd}' is not a TCP socket (a UNIX socket listener is not supported by haproxide yet)"
        ));
    }
    Ok(std::net::TcpListener::from(owned))
}

/// Takes ownership of a listening socket inherited from the master, after checking that
/// `fd` is a listening TCP socket bound to `want` (the address the master named for it).
pub fn inherited_listener(
    fd: i32,
    want: std::net::SocketAddr,
) -> Result<std::net::TcpListener, String> {
    use nix::libc::{SOCK_STREAM, SO_ACCEPTCONN, SO_TYPE};
    use std::os::fd::FromRawFd;
    if fd < 3
        || sockopt_int(fd, SO_TYPE) != Some(SOCK_STREAM)
        || sockopt_int(fd, SO_ACCEPTCONN) != Some(1)
    {
        return Err(format!("descriptor {fd} is not a listening TCP socket"));
    }
    // SAFETY: fd is an open listening stream socket (checked above) that the master made
    // inheritable for this worker; nothing else in this process owns it. If it is not
    // the one expected it is closed again when the listener drops.
    let l = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    match l.local_addr() {
        Ok(a)
            if a.port() == want.port()
                && (a.ip() == want.ip()
                    || want.ip().is_unspecified() && a.ip().is_unspecified()) =>
        {
            Ok(l)
        }
        Ok(a) => Err(format!("descriptor {fd} listens on {a}, not on {want}")),
        Err(e) => Err(format!("descriptor {fd}: {e}")),
    }
}

/// Takes ownership of the readiness socket inherited from the master, once
/// [`is_master_socket`] said it is one.
pub fn inherited_stream(fd: i32) -> Option<std::os::unix::net::UnixStream> {
    use std::os::fd::FromRawFd;
    // SAFETY: checked to be a socketpair end whose peer is our parent (the master made it
    // for this worker only); nothing else in this process owns it.
    is_master_socket(fd).then(|| unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) })
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
/// [`crate::runtime::ctl::handover`]): the kernel installed it in this process for us alone.
pub fn received_fd(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` comes straight from an SCM_RIGHTS control message of recvmsg(); nothing
    // else in the process knows the number, so this is its only owner.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

/// The strerror() text HAProxy prints.
pub fn os_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    }
}

/// The buffer handed to libxcrypt for its `struct crypt_data` (32,768 bytes in
/// libxcrypt 4.4); `crypt_rn` is told its size and refuses a buffer too small.
const CRYPT_DATA_SIZE: usize = 65536;

#[link(name = "crypt")]
extern "C" {
    // libxcrypt only (the library haproxy links on Debian): takes the buffer's size, so
    // a different struct layout is refused instead of written past.
    fn crypt_rn(
        phrase: *const nix::libc::c_char,
        setting: *const nix::libc::c_char,
        data: *mut nix::libc::c_void,
        size: nix::libc::c_int,
    ) -> *mut nix::libc::c_char;
}

/// The system's `crypt(3)` (libxcrypt, the library haproxy links): `phrase` hashed with
/// the method and salt `setting` names. A setting the library does not know gives its
/// failure token (`*0`), as haproxy's `crypt_r` does, which never equals a stored hash.
/// Both are cut at their first NUL, as C strings are.
pub fn crypt(phrase: &[u8], setting: &[u8]) -> Vec<u8> {
    let cut = |b: &[u8]| {
        let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        std::ffi::CString::new(&b[..n]).expect("no NUL left")
    };
    let (p, s) = (cut(phrase), cut(setting));
    let mut data = vec![0u8; CRYPT_DATA_SIZE];
    // SAFETY: both strings are NUL-terminated and live across the call; `data` is a
    // zeroed buffer of the size passed, owned by this call alone, which is what
    // crypt_rn needs to be thread-safe. The returned pointer, when not null, points into
    // `data` and is copied out before `data` is dropped.
    unsafe {
        let r = crypt_rn(
            p.as_ptr(),
            s.as_ptr(),
            data.as_mut_ptr().cast(),
            CRYPT_DATA_SIZE as nix::libc::c_int,
        );
        if r.is_null() {
            return b"*0".to_vec();
        }
        std::ffi::CStr::from_ptr(r).to_bytes().to_vec()
    }
}

/// Sets an integer IPPROTO_TCP option that neither socket2 nor nix wraps
/// (TCP_DEFER_ACCEPT, TCP_FASTOPEN on a listener).
pub fn set_tcp_option(
    fd: std::os::fd::RawFd,
    opt: nix::libc::c_int,
    value: i32,
) -> std::io::Result<()> {
    let v: nix::libc::c_int = value;
    // SAFETY: `fd` is an open socket owned by the caller for the duration of the call;
    // the pointer and length describe a live c_int.
    let r = unsafe {
        nix::libc::setsockopt(
            fd,
            nix::libc::IPPROTO_TCP,
            opt,
            (&v as *const nix::libc::c_int).cast(),
            std::mem::size_of::<nix::libc::c_int>() as nix::libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Stops a listening socket from listening (haproxy's tcp_suspend_receiver: a connect()
/// to AF_UNSPEC): new clients are refused until listen() is called again.
pub fn unlisten(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: an all-zero sockaddr is a valid AF_UNSPEC address; `fd` is an open socket
    // owned by the caller for the duration of the call.
    let r = unsafe {
        let mut sa: nix::libc::sockaddr = std::mem::zeroed();
        sa.sa_family = nix::libc::AF_UNSPEC as nix::libc::sa_family_t;
        nix::libc::connect(
            fd,
            &sa,
            std::mem::size_of::<nix::libc::sockaddr>() as nix::libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn crypt_as_libc() {
        // The SHA-512 crypt specification's first test vector.
        let h = super::crypt(b"Hello world!", b"$6$saltstring");
        assert_eq!(h, b"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1".to_vec());
        assert_eq!(super::crypt(b"Hello world!", &h), h);
        assert_ne!(super::crypt(b"Hello world?", &h), h);
        // An unknown method: a failure token, never the stored string.
        let t = super::crypt(b"", b"$99$x");
        assert!(t.starts_with(b"*"), "{t:?}");
    }
}
