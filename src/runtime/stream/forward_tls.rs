//! Forwarding when either end is TLS (`bind … ssl`, `server … ssl`): both ends are async
//! streams. Same half-close, timeout and cancel rules as [`crate::runtime::stream::forward::forward`] (plain
//! TCP both ways, which works on the sockets directly), and the same per-thread scratch
//! buffer, so an idle session keeps no buffer of its own.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::runtime::stream::forward::{
    reset_on_close, send_fin, Cancel, Counts, Dir, End, Flow, Timeouts, SCRATCH,
};
use crate::runtime::tls::stream::TlsServer;

/// An end that passes on the other side's end of data (half-close).
pub trait PassEnd {
    /// Ends the write side: close_notify on TLS, then a FIN when `fin`. Without it the
    /// other direction is over too and the socket's close, next, sends the FIN: haproxy
    /// makes no shutdown() call there either.
    fn poll_end(&mut self, cx: &mut Context<'_>, fin: bool) -> Poll<io::Result<()>>;

    /// The TCP socket underneath.
    fn socket(&self) -> &TcpStream;
}

impl PassEnd for TcpStream {
    fn poll_end(&mut self, _: &mut Context<'_>, fin: bool) -> Poll<io::Result<()>> {
        if fin {
            send_fin(self);
        }
        Poll::Ready(Ok(()))
    }

    fn socket(&self) -> &TcpStream {
        self
    }
}

impl PassEnd for TlsServer {
    fn poll_end(&mut self, cx: &mut Context<'_>, fin: bool) -> Poll<io::Result<()>> {
        self.poll_close(cx, fin)
    }

    fn socket(&self) -> &TcpStream {
        self.tcp()
    }
}

impl PassEnd for tokio_rustls::client::TlsStream<TcpStream> {
    // tokio-rustls sends close_notify and shuts the socket down in one call; a server-side
    // TLS end always gets both, as it did before this hook existed.
    fn poll_end(&mut self, cx: &mut Context<'_>, _: bool) -> Poll<io::Result<()>> {
        Pin::new(self).poll_shutdown(cx)
    }

    fn socket(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Which end failed.
enum Side {
    Src,
    Dst,
}

/// Moves what `src` has into `dst` for one direction: returns whether anything happened.
/// `other_done`: the opposite direction is over (see [`PassEnd`]); `pass`: the source's
/// end may be passed on.
fn step<R, W>(
    cx: &mut Context<'_>,
    src: &mut R,
    dst: &mut W,
    d: &mut Dir,
    (other_done, pass): (bool, bool),
) -> Result<bool, Side>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + PassEnd + Unpin,
{
    let mut progress = false;
    if !d.pending.is_empty() {
        match Pin::new(&mut *dst).poll_write(cx, &d.pending) {
            Poll::Ready(Ok(n)) => {
                d.pending.drain(..n);
                if d.pending.is_empty() {
                    d.pending = Vec::new();
                }
                d.flush = true;
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
                        match Pin::new(&mut *dst).poll_write(cx, &data[off..]) {
                            Poll::Ready(Ok(w)) => off += w,
                            Poll::Ready(Err(_)) => return Err(Side::Dst),
                            Poll::Pending => {
                                d.pending.extend_from_slice(&data[off..]);
                                break;
                            }
                        }
                    }
                    d.flush = true;
                    Ok(true)
                }
                Poll::Ready(Err(_)) => Err(Side::Src),
                Poll::Pending => Ok(false),
            }
        });
        progress |= r?;
    }
    if d.flush {
        match Pin::new(&mut *dst).poll_flush(cx) {
            Poll::Ready(Ok(())) => d.flush = false,
            Poll::Ready(Err(_)) => return Err(Side::Dst),
            Poll::Pending => {}
        }
    }
    // The source finished: pass the end on.
    if pass && d.done() && !d.shut && !d.flush && dst.poll_end(cx, !other_done).is_ready() {
        d.shut = true;
        progress = true;
    }
    Ok(progress)
}

/// Forwards between two async streams until both directions end, a side fails, a timeout
/// expires or `cancel` fires.
pub struct ForwardTls<C, S> {
    client: C,
    server: S,
    f: Flow,
}

/// Builds the forwarding future.
pub fn forward_tls<C, S>(
    client: C,
    server: S,
    t: Timeouts,
    cancel: Arc<Cancel>,
) -> ForwardTls<C, S> {
    ForwardTls {
        client,
        server,
        f: Flow::new(t, cancel),
    }
}

impl<C, S> std::future::Future for ForwardTls<C, S>
where
    C: AsyncRead + AsyncWrite + PassEnd + Unpin,
    S: AsyncRead + AsyncWrite + PassEnd + Unpin,
{
    type Output = (End, Counts);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        let end = loop {
            if let Some(why) = me.f.cancelled(cx) {
                break End::Killed(why);
            }
            let down_done = me.f.down.done();
            // Held back while `option nolinger` may turn it into a reset (below).
            let pass = down_done || !me.f.nolinger_server();
            let up = step(
                cx,
                &mut me.client,
                &mut me.server,
                &mut me.f.up,
                (down_done, pass),
            );
            let up = match up {
                Ok(p) => p,
                Err(Side::Src) => break End::ClientAbort,
                Err(Side::Dst) => break End::ServerAbort,
            };
            if me.f.resets_server() {
                reset_on_close(me.server.socket());
                break End::Normal;
            }
            let up_done = me.f.up.done();
            let down = match step(
                cx,
                &mut me.server,
                &mut me.client,
                &mut me.f.down,
                (up_done, true),
            ) {
                Ok(p) => p,
                Err(Side::Src) => break End::ServerAbort,
                Err(Side::Dst) => break End::ClientAbort,
            };
            if me.f.up.done() && me.f.down.done() && me.f.up.shut && me.f.down.shut {
                break End::Normal;
            }
            match me.f.after(up || down, cx) {
                None => continue,
                Some(Poll::Ready(end)) => break end,
                Some(Poll::Pending) => return Poll::Pending,
            }
        };
        if me.f.tunnel_expired(end) {
            reset_on_close(me.server.socket());
        }
        if me.f.resets_client() {
            reset_on_close(me.client.socket());
        }
        Poll::Ready((me.f.logged(end), me.f.counts()))
    }
}
