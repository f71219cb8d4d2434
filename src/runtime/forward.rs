//! Moves bytes both ways between a client and a server until both are done, with
//! half-close and HAProxy's TCP-mode timeouts (haproxy-subset.md §8).
//!
//! No buffer is held while a connection is idle: data is read into a per-thread scratch
//! buffer only when the socket is readable, written on at once, and only what the peer could
//! not take yet is kept (and then no more is read from that side: back-pressure).

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::time::Duration;

use socket2::SockRef;
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant};

/// Bytes read per wake-up.
const CHUNK: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0u8; CHUNK]);
}

/// Timeouts that apply once the server is connected.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// `timeout client`
    pub client: Option<Duration>,
    /// `timeout server`
    pub server: Option<Duration>,
    /// `timeout tunnel`: replaces both while both sides are open.
    pub tunnel: Option<Duration>,
    /// `timeout client-fin`: after the server closed its side.
    pub client_fin: Option<Duration>,
    /// `timeout server-fin`: after the client closed its side.
    pub server_fin: Option<Duration>,
}

/// How forwarding ended, as the two letters of the termination state mean it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Both sides closed normally: `--`.
    Normal,
    /// The client reset or failed: `CD`.
    ClientAbort,
    /// The server reset or failed: `SD`.
    ServerAbort,
    /// Client-side timeout: `cD`.
    ClientTimeout,
    /// Server-side timeout: `sD`.
    ServerTimeout,
    /// Told to stop (hard stop): `KD`.
    Killed,
}

impl End {
    /// The termination-state letters.
    pub fn code(self) -> [u8; 2] {
        match self {
            End::Normal => *b"--",
            End::ClientAbort => *b"CD",
            End::ServerAbort => *b"SD",
            End::ClientTimeout => *b"cD",
            End::ServerTimeout => *b"sD",
            End::Killed => *b"KD",
        }
    }
}

/// Byte counts of a finished session.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Client to server.
    pub up: u64,
    /// Server to client.
    pub down: u64,
}

/// One direction's state.
#[derive(Default)]
struct Dir {
    /// Source has sent EOF.
    eof: bool,
    /// EOF already passed on (shutdown of the destination's write side).
    shut: bool,
    /// Bytes read but not yet written.
    pending: Vec<u8>,
    bytes: u64,
}

impl Dir {
    fn wants_read(&self) -> bool {
        !self.eof && self.pending.is_empty()
    }
    fn done(&self) -> bool {
        self.eof && self.pending.is_empty()
    }
}

enum Step {
    Ok,
    Fail,
}

/// Reads what `src` has and writes it to `dst` at once; keeps the rest in `d.pending`.
fn pump(src: &TcpStream, dst: &TcpStream, d: &mut Dir) -> Result<(), (bool, io::Error)> {
    SCRATCH.with(|s| {
        let mut buf = s.borrow_mut();
        loop {
            match src.try_read(&mut buf) {
                Ok(0) => {
                    d.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    d.bytes += n as u64;
                    let mut off = 0;
                    while off < n {
                        match dst.try_write(&buf[off..n]) {
                            Ok(w) => off += w,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                                d.pending.extend_from_slice(&buf[off..n]);
                                return Ok(());
                            }
                            Err(e) => return Err((false, e)),
                        }
                    }
                    // A short read means the socket is drained for now.
                    if n < buf.len() {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err((true, e)),
            }
        }
    })
}

fn flush(dst: &TcpStream, d: &mut Dir) -> Result<(), io::Error> {
    while !d.pending.is_empty() {
        match dst.try_write(&d.pending) {
            Ok(w) => {
                d.pending.drain(..w);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    d.pending = Vec::new();
    Ok(())
}

fn pass_eof(dst: &TcpStream, d: &mut Dir) {
    if d.done() && !d.shut {
        d.shut = true;
        let _ = SockRef::from(dst).shutdown(Shutdown::Write);
    }
}

/// Forwards until both directions are finished, a side fails, a timeout expires or `stop`
/// resolves. `first_up` is client data already read (written to the server first).
pub async fn forward(
    client: &TcpStream,
    server: &TcpStream,
    t: Timeouts,
    first_up: &[u8],
    stop: impl std::future::Future<Output = ()>,
) -> (End, Counts) {
    let mut up = Dir {
        bytes: first_up.len() as u64,
        pending: first_up.to_vec(),
        ..Dir::default()
    };
    let mut down = Dir::default();
    let mut last = Instant::now();
    tokio::pin!(stop);
    let end = loop {
        if up.done() && down.done() {
            pass_eof(server, &mut up);
            pass_eof(client, &mut down);
            break End::Normal;
        }
        // Idle limit: tunnel while both are open, the *-fin value once one side closed.
        let (limit, client_side) = match (up.eof, down.eof) {
            (false, false) => match t.tunnel {
                Some(tn) => (Some(tn), true),
                None => match (t.client, t.server) {
                    (Some(c), Some(s)) if s < c => (Some(s), false),
                    (Some(c), _) => (Some(c), true),
                    (None, s) => (s, false),
                },
            },
            (true, _) => (t.server_fin.or(t.tunnel).or(t.server), false),
            (false, true) => (t.client_fin.or(t.tunnel).or(t.client), true),
        };
        let deadline = limit.map(|l| last + l);
        let step = tokio::select! {
            r = client.readable(), if up.wants_read() => match r {
                Ok(()) => match pump(client, server, &mut up) {
                    Ok(()) => { pass_eof(server, &mut up); last = Instant::now(); Step::Ok }
                    Err((true, _)) => break End::ClientAbort,
                    Err((false, _)) => break End::ServerAbort,
                },
                Err(_) => Step::Fail,
            },
            r = server.readable(), if down.wants_read() => match r {
                Ok(()) => match pump(server, client, &mut down) {
                    Ok(()) => { pass_eof(client, &mut down); last = Instant::now(); Step::Ok }
                    Err((true, _)) => break End::ServerAbort,
                    Err((false, _)) => break End::ClientAbort,
                },
                Err(_) => Step::Fail,
            },
            r = server.writable(), if !up.pending.is_empty() => match r.and_then(|_| flush(server, &mut up)) {
                Ok(()) => { pass_eof(server, &mut up); last = Instant::now(); Step::Ok }
                Err(_) => break End::ServerAbort,
            },
            r = client.writable(), if !down.pending.is_empty() => match r.and_then(|_| flush(client, &mut down)) {
                Ok(()) => { pass_eof(client, &mut down); last = Instant::now(); Step::Ok }
                Err(_) => break End::ClientAbort,
            },
            _ = sleep_until(deadline.unwrap_or_else(far_future)), if deadline.is_some() => {
                break if client_side { End::ClientTimeout } else { End::ServerTimeout };
            }
            _ = &mut stop => break End::Killed,
        };
        if let Step::Fail = step {
            break End::ClientAbort;
        }
    };
    (
        end,
        Counts {
            up: up.bytes,
            down: down.bytes,
        },
    )
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365)
}
