//! Stream processors: what carries a session between client and server once both are
//! connected. A processor takes the two ends, the session's timeouts and a way to be
//! ended from outside, and reports how it ended and what it carried. The TCP forwarder
//! (plain and TLS ends) is the one today; the HTTP/1 engine is the next, chosen by mode.

pub mod forward;
pub mod forward_tls;
pub mod http1;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpStream;

use crate::runtime::cancel::Cancel;
use crate::runtime::tls::stream::TlsServer;
use forward::{Counts, End, Timeouts};

/// The client end of a session: plain TCP, or TLS over it (`bind … ssl`).
pub enum ClientEnd {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS terminated here.
    Tls(Box<TlsServer>),
}

impl ClientEnd {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            ClientEnd::Plain(s) => s,
            ClientEnd::Tls(s) => s.tcp(),
        }
    }

    /// Reads and discards what the client already sent (up to HAProxy's buffer size) so
    /// that closing sends a FIN, not the reset the kernel sends over unread data: HAProxy
    /// has read those bytes when it gives up on a session that never reached a server,
    /// and counts them as received: their number, for a plain connection (a TLS one's
    /// are records, not data).
    pub fn drain(&self) -> u64 {
        let mut buf = [0u8; 4096];
        let mut left = 16384usize;
        while left > 0 {
            match self.tcp().try_read(&mut buf[..left.min(4096)]) {
                Ok(n) if n > 0 => left -= n,
                _ => break,
            }
        }
        match self {
            ClientEnd::Plain(_) => (16384 - left) as u64,
            ClientEnd::Tls(_) => 0,
        }
    }
}

/// The server end of a session: plain TCP, or TLS over it (`server … ssl`).
pub enum ServerEnd {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS towards the server.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl ServerEnd {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            ServerEnd::Plain(s) => s,
            ServerEnd::Tls(s) => s.get_ref().0,
        }
    }
}

/// How a processor's work ended and what it carried (the log line's `%ts`, `%B`, `%U`).
pub type Outcome = (End, Counts);

/// A processor at work on one session, owned by the session until it ends.
pub type Running = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// A stream processor.
pub trait Processor {
    /// Starts carrying the session between `client` and `server`.
    fn start(
        &self,
        client: ClientEnd,
        server: ServerEnd,
        t: Timeouts,
        cancel: Arc<Cancel>,
    ) -> Running;
}

/// The TCP forwarder: bytes both ways with half-close and haproxy's TCP-mode timeouts;
/// the plain future when both ends are plain, the TLS-aware one otherwise.
pub struct Tcp;

impl Processor for Tcp {
    fn start(
        &self,
        client: ClientEnd,
        server: ServerEnd,
        t: Timeouts,
        cancel: Arc<Cancel>,
    ) -> Running {
        use forward_tls::forward_tls;
        match (client, server) {
            (ClientEnd::Plain(c), ServerEnd::Plain(s)) => {
                Box::pin(forward::forward(c, s, t, cancel))
            }
            (ClientEnd::Tls(c), ServerEnd::Plain(s)) => Box::pin(forward_tls(*c, s, t, cancel)),
            (ClientEnd::Plain(c), ServerEnd::Tls(s)) => Box::pin(forward_tls(c, *s, t, cancel)),
            (ClientEnd::Tls(c), ServerEnd::Tls(s)) => Box::pin(forward_tls(*c, *s, t, cancel)),
        }
    }
}

/// Both ends read and write the same way whatever their transport, for the HTTP engine.
macro_rules! delegate_io {
    ($t:ident) => {
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $t::Plain(s) => Pin::new(s).poll_read(cx, buf),
                    $t::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
                }
            }
        }

        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $t::Plain(s) => Pin::new(s).poll_write(cx, buf),
                    $t::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
                }
            }

            fn poll_flush(
                self: Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $t::Plain(s) => Pin::new(s).poll_flush(cx),
                    $t::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
                }
            }

            fn poll_shutdown(
                self: Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $t::Plain(s) => Pin::new(s).poll_shutdown(cx),
                    $t::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
                }
            }
        }
    };
}

delegate_io!(ClientEnd);
delegate_io!(ServerEnd);
