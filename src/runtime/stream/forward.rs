//! Moves bytes both ways between a client and a server until both are done, with
//! half-close and HAProxy's TCP-mode timeouts (haproxy-subset.md §8). This is the plain
//! TCP future; `forward_tls` runs the same rules, on the same `Flow`, when an end is TLS.
//!
//! Memory is what decides how many idle devices one machine holds, so this is a hand-written
//! future rather than an `async` block with `select!`: waiting on a socket registers the
//! task in the socket's own readiness slot (`poll_read_ready`), there is one timer, and no
//! buffer is held while a connection is idle. Data is read into a per-thread scratch buffer
//! only when a socket is readable and written on at once; only what the peer could not take
//! yet is kept, and then nothing more is read from that side (back-pressure).

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

pub use crate::runtime::cancel::Cancel;
use crate::runtime::termination::{Cause, Phase, Termination};

/// Bytes read per wake-up.
const CHUNK: usize = 16 * 1024;

thread_local! {
    pub(super) static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0u8; CHUNK]);
}

/// Timeouts that apply once the server is connected, and how each side is closed.
#[derive(Debug, Clone, Copy, Default)]
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
    /// The frontend's `option nolinger`: a client that closed its side first is reset
    /// when the session closes (haproxy closes it with SO_LINGER 0, no FIN sent before).
    pub nolinger_client: bool,
    /// The backend's `option nolinger`: an end to pass to a server still open resets it
    /// instead, which ends the session.
    pub nolinger_server: bool,
}

/// [`Timeouts`] in 24 bytes instead of 88: every session keeps them while it lives
/// (milliseconds, 0 = not set; HAProxy's timers stop at 2^31-1 ms anyway; then the
/// nolinger flags, client 1, server 2).
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits([u32; 5], u8);

impl From<Timeouts> for Limits {
    fn from(t: Timeouts) -> Self {
        let ms =
            |d: Option<Duration>| d.map_or(0, |d| d.as_millis().clamp(1, u32::MAX as u128) as u32);
        Limits(
            [
                ms(t.client),
                ms(t.server),
                ms(t.tunnel),
                ms(t.client_fin),
                ms(t.server_fin),
            ],
            u8::from(t.nolinger_client) | u8::from(t.nolinger_server) << 1,
        )
    }
}

impl Limits {
    fn expand(self) -> Timeouts {
        let d = |v: u32| (v > 0).then(|| Duration::from_millis(v as u64));
        Timeouts {
            client: d(self.0[0]),
            server: d(self.0[1]),
            tunnel: d(self.0[2]),
            client_fin: d(self.0[3]),
            server_fin: d(self.0[4]),
            nolinger_client: self.1 & 1 != 0,
            nolinger_server: self.1 & 2 != 0,
        }
    }
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
    /// Ended from outside: `K-`, `D-` or `U-` (haproxy's stream_shutdown sets the
    /// cause, not the phase).
    Killed(crate::runtime::cancel::Reason),
}

impl End {
    /// The termination state: every end of forwarding is in the data phase.
    pub fn termination(self) -> Termination {
        let cause = match self {
            End::Normal => return Termination::NORMAL,
            End::ClientAbort => Cause::ClientAbort,
            End::ServerAbort => Cause::ServerAbort,
            End::ClientTimeout => Cause::ClientTimeout,
            End::ServerTimeout => Cause::ServerTimeout,
            End::Killed(why) => {
                let cause = match why {
                    crate::runtime::cancel::Reason::Killed => Cause::Killed,
                    crate::runtime::cancel::Reason::Down => Cause::Down,
                    crate::runtime::cancel::Reason::Up => Cause::Up,
                };
                return Termination::new(cause, Phase::Normal);
            }
        };
        Termination::new(cause, Phase::Data)
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
pub(super) struct Dir {
    /// Source has sent EOF.
    pub(super) eof: bool,
    /// EOF already passed on (shutdown of the destination's write side).
    pub(super) shut: bool,
    /// Written to a destination that buffers (TLS) and not flushed yet.
    pub(super) flush: bool,
    /// Bytes read but not yet written (empty, without allocation, while idle).
    pub(super) pending: Vec<u8>,
    /// Bytes moved.
    pub(super) bytes: u64,
}

impl Dir {
    pub(super) fn done(&self) -> bool {
        self.eof && self.pending.is_empty()
    }
}

/// Which side failed.
enum Fail {
    Src,
    Dst,
}

/// Moves what `src` has to `dst` until `src` would block (its waker is then registered),
/// `dst` is full, or EOF; returns whether anything happened. Reading through `poll_read`
/// rather than `try_read` matters: after a short read tokio then knows the socket is
/// drained, which saves a `recvfrom` that would only say EAGAIN (two per session).
fn pump(
    cx: &mut Context<'_>,
    src: &mut TcpStream,
    dst: &TcpStream,
    d: &mut Dir,
) -> Result<bool, Fail> {
    SCRATCH.with(|s| {
        let mut buf = s.borrow_mut();
        let mut progress = false;
        loop {
            let mut rb = ReadBuf::new(&mut buf[..]);
            match Pin::new(&mut *src).poll_read(cx, &mut rb) {
                Poll::Pending => return Ok(progress),
                Poll::Ready(Err(_)) => return Err(Fail::Src),
                Poll::Ready(Ok(())) => {}
            }
            progress = true;
            let n = rb.filled().len();
            if n == 0 {
                d.eof = true;
                return Ok(true);
            }
            d.bytes += n as u64;
            let mut off = 0;
            while off < n {
                match dst.try_write(&buf[off..n]) {
                    Ok(w) => off += w,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        d.pending.extend_from_slice(&buf[off..n]);
                        return Ok(true);
                    }
                    Err(_) => return Err(Fail::Dst),
                }
            }
            if n < buf.len() {
                return Ok(true);
            }
        }
    })
}

/// Writes pending bytes; `Ok(true)` when all are out.
fn flush(dst: &TcpStream, d: &mut Dir) -> io::Result<bool> {
    while !d.pending.is_empty() {
        match dst.try_write(&d.pending) {
            Ok(w) => {
                d.pending.drain(..w);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    // Give the memory back: an idle session holds no buffer.
    d.pending = Vec::new();
    Ok(true)
}

/// Passes a finished direction's EOF on. When the other direction is finished too, the
/// session ends and closing the socket sends that FIN: no separate shutdown() call.
fn pass_eof(dst: &TcpStream, d: &mut Dir, other_done: bool) {
    if d.done() && !d.shut && !other_done {
        d.shut = true;
        send_fin(dst);
    }
}

/// Ends a socket's write side. A peer already gone makes this fail (ENOTCONN); the
/// session then ends on its next read, so the error is not kept.
pub(super) fn send_fin(s: &TcpStream) {
    let _ = SockRef::from(s).shutdown(Shutdown::Write);
}

/// A side closed with a reset (no FIN first) when its socket closes: the server of a
/// session whose `timeout tunnel` expired, as haproxy's, or a side `option nolinger`
/// resets.
pub(super) fn reset_on_close(s: &TcpStream) {
    let _ = SockRef::from(s).set_linger(Some(Duration::ZERO));
}

/// What a forwarding future keeps besides its two ends: both directions, the limits, the
/// one idle timer and the cancel request.
pub(super) struct Flow {
    pub(super) up: Dir,
    pub(super) down: Dir,
    t: Limits,
    last: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    cancel: Arc<Cancel>,
    /// The idle timeout that half-closed the session, which its log line reports.
    first: Option<End>,
}

impl Flow {
    /// A flow with nothing moved yet, its idle limits counting from now.
    pub(super) fn new(t: Timeouts, cancel: Arc<Cancel>) -> Self {
        Flow {
            up: Dir::default(),
            down: Dir::default(),
            t: t.into(),
            last: Instant::now(),
            timer: None,
            cancel,
            first: None,
        }
    }

    /// Whether the session was cancelled; registers the task's waker otherwise.
    pub(super) fn cancelled(&self, cx: &Context<'_>) -> Option<crate::runtime::cancel::Reason> {
        self.cancel.poll(cx)
    }

    /// After a pass over both directions: None to loop again (bytes moved, so readiness
    /// was consumed and the next pass registers the wakers; the idle limits count from
    /// now), else wait for a socket or the idle limit, or the end that limit caused.
    pub(super) fn after(&mut self, progress: bool, cx: &mut Context<'_>) -> Option<Poll<End>> {
        if progress {
            self.last = Instant::now();
            return None;
        }
        let (t, up, down, last) = (self.t, self.up.eof, self.down.eof, self.last);
        match idle_timer(&mut self.timer, t, up, down, last, cx) {
            None => Some(Poll::Pending),
            Some(end) if self.half_close(end) => None,
            Some(end) => Some(Poll::Ready(end)),
        }
    }

    /// haproxy's answer to one side's idle timeout while both are open and no `timeout
    /// tunnel` is set: it stops reading that side and passes its end on, as if it had
    /// closed (the next pass sends the FIN); the other side goes on until it ends or
    /// times out in turn (measured on 2.6.12: `timeout client 3s`, `timeout server 5s`,
    /// both idle: the server gets a FIN at 3 s, the client at 5 s, logged `cD` at 5 s).
    fn half_close(&mut self, end: End) -> bool {
        if self.first.is_some() || self.up.eof || self.down.eof || self.t.expand().tunnel.is_some()
        {
            return false;
        }
        match end {
            End::ClientTimeout => self.up.eof = true,
            End::ServerTimeout => self.down.eof = true,
            _ => return false,
        }
        self.first = Some(end);
        true
    }

    /// Whether the client's end is due to the server while a backend's `option nolinger`
    /// turns that end into a reset of the server, which ends the session (measured on
    /// 2.6.12: the server gets a reset, the client a FIN, logged `--`, or with the
    /// client's timeout first, `cD`). A server that closed first gets its FIN.
    pub(super) fn resets_server(&self) -> bool {
        self.nolinger_server() && self.up.done() && !self.up.shut && !self.down.done()
    }

    /// The backend's `option nolinger`.
    pub(super) fn nolinger_server(&self) -> bool {
        self.t.1 & 2 != 0
    }

    /// Whether a frontend's `option nolinger` resets the client as the session closes:
    /// when the client ended its side first (not by a timeout) and was sent no FIN.
    pub(super) fn resets_client(&self) -> bool {
        self.t.1 & 1 != 0
            && self.up.eof
            && self.first != Some(End::ClientTimeout)
            && !self.down.shut
    }

    /// How the session is logged: the timeout that half-closed it, else how it ended.
    pub(super) fn logged(&self, end: End) -> End {
        self.first.unwrap_or(end)
    }

    /// Whether `end` is `timeout tunnel` expiring while both directions were open.
    pub(super) fn tunnel_expired(&self, end: End) -> bool {
        matches!(end, End::ClientTimeout | End::ServerTimeout)
            && !self.up.eof
            && !self.down.eof
            && self.t.expand().tunnel.is_some()
    }

    /// Bytes moved each way.
    pub(super) fn counts(&self) -> Counts {
        Counts {
            up: self.up.bytes,
            down: self.down.bytes,
        }
    }
}

/// The forwarding future; see [`forward`]. It owns both sockets: they close when it is
/// dropped, which is also when the session's memory is given back.
pub struct Forward {
    client: TcpStream,
    server: TcpStream,
    f: Flow,
}

/// Forwards until both directions are finished, a side fails, a timeout expires or `cancel`
/// fires.
pub fn forward(client: TcpStream, server: TcpStream, t: Timeouts, cancel: Arc<Cancel>) -> Forward {
    Forward {
        client,
        server,
        f: Flow::new(t, cancel),
    }
}

/// Idle limit now and whether it is the client's: tunnel while both sides are open,
/// the *-fin value once one side closed, else the smaller of client/server.
fn limit_of(t: Limits, up_eof: bool, down_eof: bool) -> (Option<Duration>, bool) {
    let t = t.expand();
    match (up_eof, down_eof) {
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
    }
}

/// Arms the single idle timer at `last` + the limit that applies now; the end it caused
/// when it already fired.
fn idle_timer(
    timer: &mut Option<Pin<Box<Sleep>>>,
    t: Limits,
    up_eof: bool,
    down_eof: bool,
    last: Instant,
    cx: &mut Context<'_>,
) -> Option<End> {
    let (limit, client_side) = limit_of(t, up_eof, down_eof);
    let Some(l) = limit else {
        *timer = None;
        return None;
    };
    let at = last + l;
    match timer.as_mut() {
        Some(t) if t.deadline() == at => {}
        Some(t) => t.as_mut().reset(at),
        None => *timer = Some(Box::pin(tokio::time::sleep_until(at))),
    }
    let fired = timer
        .as_mut()
        .is_some_and(|t| t.as_mut().poll(cx).is_ready());
    fired.then_some(if client_side {
        End::ClientTimeout
    } else {
        End::ServerTimeout
    })
}

impl Future for Forward {
    type Output = (End, Counts);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let end = 'outer: loop {
            if let Some(why) = me.f.cancelled(cx) {
                break End::Killed(why);
            }
            let mut progress = false;
            // Client to server: flush what is pending, else read more.
            if !me.f.up.pending.is_empty() {
                if let Poll::Ready(r) = me.server.poll_write_ready(cx) {
                    match r.and_then(|_| flush(&me.server, &mut me.f.up)) {
                        Ok(_) => progress = true,
                        Err(_) => break 'outer End::ServerAbort,
                    }
                }
            } else if !me.f.up.eof {
                match pump(cx, &mut me.client, &me.server, &mut me.f.up) {
                    Ok(p) => progress |= p,
                    Err(Fail::Src) => break 'outer End::ClientAbort,
                    Err(Fail::Dst) => break 'outer End::ServerAbort,
                }
            }
            if me.f.resets_server() {
                reset_on_close(&me.server);
                break 'outer End::Normal;
            }
            pass_eof(&me.server, &mut me.f.up, me.f.down.done());
            // Server to client.
            if !me.f.down.pending.is_empty() {
                if let Poll::Ready(r) = me.client.poll_write_ready(cx) {
                    match r.and_then(|_| flush(&me.client, &mut me.f.down)) {
                        Ok(_) => progress = true,
                        Err(_) => break 'outer End::ClientAbort,
                    }
                }
            } else if !me.f.down.eof {
                match pump(cx, &mut me.server, &me.client, &mut me.f.down) {
                    Ok(p) => progress |= p,
                    Err(Fail::Src) => break 'outer End::ServerAbort,
                    Err(Fail::Dst) => break 'outer End::ClientAbort,
                }
            }
            pass_eof(&me.client, &mut me.f.down, me.f.up.done());
            if me.f.up.done() && me.f.down.done() {
                break End::Normal;
            }
            match me.f.after(progress, cx) {
                None => continue,
                Some(Poll::Ready(end)) => break end,
                Some(Poll::Pending) => return Poll::Pending,
            }
        };
        if me.f.tunnel_expired(end) {
            reset_on_close(&me.server);
        }
        if me.f.resets_client() {
            reset_on_close(&me.client);
        }
        Poll::Ready((me.f.logged(end), me.f.counts()))
    }
}

impl Cancel {
    /// Resolves when the session is cancelled.
    pub fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.poll(cx).is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(c: u64, s: u64, tunnel: u64, cf: u64, sf: u64) -> Limits {
        let d = |v: u64| (v > 0).then(|| Duration::from_millis(v));
        Limits::from(Timeouts {
            client: d(c),
            server: d(s),
            tunnel: d(tunnel),
            client_fin: d(cf),
            server_fin: d(sf),
            ..Default::default()
        })
    }

    #[test]
    fn the_idle_limit_haproxy_applies() {
        let ms = |v| Some(Duration::from_millis(v));
        // Both open: the smaller of client and server (the client's on a tie), or the
        // tunnel timeout instead of both.
        assert_eq!(
            limit_of(t(500, 300, 0, 0, 0), false, false),
            (ms(300), false)
        );
        assert_eq!(
            limit_of(t(300, 300, 0, 0, 0), false, false),
            (ms(300), true)
        );
        assert_eq!(
            limit_of(t(500, 300, 9000, 0, 0), false, false),
            (ms(9000), true)
        );
        assert_eq!(limit_of(t(0, 0, 0, 0, 0), false, false), (None, false));
        // The client closed its side: server-fin, else tunnel, else server.
        assert_eq!(
            limit_of(t(500, 300, 0, 0, 100), true, false),
            (ms(100), false)
        );
        assert_eq!(
            limit_of(t(500, 300, 0, 0, 0), true, false),
            (ms(300), false)
        );
        // The server closed its side: client-fin, else tunnel, else client.
        assert_eq!(
            limit_of(t(500, 300, 700, 0, 0), false, true),
            (ms(700), true)
        );
        assert_eq!(limit_of(t(500, 300, 0, 50, 0), false, true), (ms(50), true));
    }

    #[test]
    fn limits_keep_a_millisecond_and_round_trip() {
        let l = t(1, 0, 4_000_000_000, 0, 2);
        let e = l.expand();
        assert_eq!(e.client, Some(Duration::from_millis(1)));
        assert_eq!(e.server, None);
        assert_eq!(e.tunnel, Some(Duration::from_millis(4_000_000_000)));
        // A sub-millisecond timeout still times out (never "none").
        let sub = Limits::from(Timeouts {
            client: Some(Duration::from_micros(10)),
            server: None,
            tunnel: None,
            ..Default::default()
        });
        assert_eq!(sub.expand().client, Some(Duration::from_millis(1)));
        // The nolinger flags come back as they went.
        let both = Limits::from(Timeouts {
            nolinger_client: true,
            nolinger_server: true,
            ..Default::default()
        });
        assert!(both.expand().nolinger_client && both.expand().nolinger_server);
        let server = Limits::from(Timeouts {
            nolinger_server: true,
            ..Default::default()
        });
        assert!(!server.expand().nolinger_client && server.expand().nolinger_server);
    }

    #[test]
    fn ends_map_to_haproxys_letters() {
        assert_eq!(&End::Normal.termination().letters(), b"--");
        assert_eq!(&End::ClientAbort.termination().letters(), b"CD");
        assert_eq!(&End::ServerTimeout.termination().letters(), b"sD");
        use crate::runtime::cancel::Reason;
        assert_eq!(&End::Killed(Reason::Killed).termination().letters(), b"K-");
        assert_eq!(&End::Killed(Reason::Down).termination().letters(), b"D-");
        assert_eq!(&End::Killed(Reason::Up).termination().letters(), b"U-");
    }
}
