//! Forwarding when the server side is TLS too (`server … ssl`), the client plain or TLS:
//! both ends are async streams. Same half-close, timeout and cancel rules as
//! [`super::forward::forward`], and the same per-thread scratch buffer, so an idle
//! session keeps no buffer of its own.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::forward::{idle_timer, Cancel, Counts, Dir, End, Limits, Timeouts, SCRATCH};

/// Which end failed.
enum Side {
    Src,
    Dst,
}

/// One end of a stream and whether its writes await a flush.
struct End2<T> {
    io: T,
    flush: bool,
}

/// Moves what `src` has into `dst` for one direction: returns whether anything happened.
fn step<R, W>(
    cx: &mut Context<'_>,
    src: &mut R,
    dst: &mut End2<W>,
    d: &mut Dir,
) -> Result<bool, Side>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut progress = false;
    if !d.pending.is_empty() {
        match Pin::new(&mut dst.io).poll_write(cx, &d.pending) {
            Poll::Ready(Ok(n)) => {
                d.pending.drain(..n);
                if d.pending.is_empty() {
                    d.pending = Vec::new();
                }
                dst.flush = true;
                progress = true;
            }
            Poll::Ready(Err(_)) => return Err(Side::Dst),
            Poll::Pending => {}
        }
    } else if !d.eof {
        let r = SCRATCH.with(|s| {
            let mut buf = s.borrow_mut();
            let mut rb = ReadBuf::new(&mut buf);
            match Pin::new(&mut *src).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let data = rb.filled();
                    if data.is_empty() {
                        d.eof = true;
                        return Ok(true);
                    }
                    d.bytes += data.len() as u64;
                    let mut off = 0;
                    while off < data.len() {
                        match Pin::new(&mut dst.io).poll_write(cx, &data[off..]) {
                            Poll::Ready(Ok(w)) => off += w,
                            Poll::Ready(Err(_)) => return Err(Side::Dst),
                            Poll::Pending => {
                                d.pending.extend_from_slice(&data[off..]);
                                break;
                            }
                        }
                    }
                    dst.flush = true;
                    Ok(true)
                }
                Poll::Ready(Err(_)) => Err(Side::Src),
                Poll::Pending => Ok(false),
            }
        });
        progress |= r?;
    }
    if dst.flush {
        match Pin::new(&mut dst.io).poll_flush(cx) {
            Poll::Ready(Ok(())) => dst.flush = false,
            Poll::Ready(Err(_)) => return Err(Side::Dst),
            Poll::Pending => {}
        }
    }
    // The source finished: pass the end on (close_notify and FIN on a TLS end).
    if d.done() && !d.shut && !dst.flush && Pin::new(&mut dst.io).poll_shutdown(cx).is_ready() {
        d.shut = true;
        progress = true;
    }
    Ok(progress)
}

/// Forwards between two async streams until both directions end, a side fails, a timeout
/// expires or `cancel` fires.
pub struct ForwardIo<C, S> {
    client: End2<C>,
    server: End2<S>,
    t: Limits,
    up: Dir,
    down: Dir,
    last: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    cancel: Arc<Cancel>,
}

/// Builds the forwarding future.
pub fn forward_io<C, S>(client: C, server: S, t: Timeouts, cancel: Arc<Cancel>) -> ForwardIo<C, S> {
    ForwardIo {
        client: End2 {
            io: client,
            flush: false,
        },
        server: End2 {
            io: server,
            flush: false,
        },
        t: t.into(),
        up: Dir::default(),
        down: Dir::default(),
        last: Instant::now(),
        timer: None,
        cancel,
    }
}

impl<C, S> std::future::Future for ForwardIo<C, S>
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Output = (End, Counts);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let end = loop {
            if me.cancel.poll(cx) {
                break End::Killed;
            }
            let up = step(cx, &mut me.client.io, &mut me.server, &mut me.up);
            let up = match up {
                Ok(p) => p,
                Err(Side::Src) => break End::ClientAbort,
                Err(Side::Dst) => break End::ServerAbort,
            };
            let down = match step(cx, &mut me.server.io, &mut me.client, &mut me.down) {
                Ok(p) => p,
                Err(Side::Src) => break End::ServerAbort,
                Err(Side::Dst) => break End::ClientAbort,
            };
            if me.up.done() && me.down.done() && me.up.shut && me.down.shut {
                break End::Normal;
            }
            if up || down {
                me.last = Instant::now();
                continue;
            }
            if let Some(end) = idle_timer(&mut me.timer, me.t, me.up.eof, me.down.eof, me.last, cx)
            {
                break end;
            }
            return Poll::Pending;
        };
        Poll::Ready((
            end,
            Counts {
                up: me.up.bytes,
                down: me.down.bytes,
            },
        ))
    }
}
