//! The client side of a TLS session (`bind … ssl`) over rustls' unbuffered API, so that an
//! idle connection holds no buffer: TLS records are read into a per-thread scratch area
//! and decrypted there; only a record cut in the middle, plaintext the reader did not take
//! yet, or TLS bytes the socket did not accept stay with the connection, and only until
//! they are used. (rustls' buffered connection keeps a 4 KiB read buffer per connection
//! for its whole life: most of what an idle TLS device cost.)

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Largest TLS record on the wire (16 KiB of data plus header, tag and padding), and room
/// for a cut record before it.
const RECORD: usize = 16384 + 2048;

thread_local! {
    /// Where records are read and decrypted, and where outgoing records are encrypted.
    static SCRATCH: RefCell<(Vec<u8>, Vec<u8>)> =
        RefCell::new((vec![0u8; 2 * RECORD], vec![0u8; RECORD + 512]));
}

/// A server-side TLS connection over a TCP socket.
pub struct TlsServer {
    conn: UnbufferedServerConnection,
    io: TcpStream,
    /// Received TLS bytes of a record not complete yet (empty while idle).
    partial: Vec<u8>,
    /// Decrypted data the reader has not taken yet.
    plain: Vec<u8>,
    plain_at: usize,
    /// TLS bytes to send that the socket did not take yet.
    out: Vec<u8>,
    /// The client sent close_notify or closed the socket.
    peer_done: bool,
    /// close_notify queued.
    closing: bool,
    /// The client hello's server name, read while the handshake waits for it: the
    /// unbuffered connection does not give it back (`ssl_fc_sni`).
    sni: Hello,
}

/// What the client hello said of the server name so far.
enum Hello {
    /// Not all of it has arrived.
    Waiting,
    /// Read: the name, if any.
    Read(Option<Box<str>>),
}

fn tls_err(e: rustls::Error) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, e)
}

impl TlsServer {
    /// Runs the handshake on `io`, `early` being bytes already read from it.
    pub async fn accept(
        cfg: Arc<ServerConfig>,
        io: TcpStream,
        early: Vec<u8>,
    ) -> io::Result<TlsServer> {
        let conn = UnbufferedServerConnection::new(cfg).map_err(tls_err)?;
        let mut s = TlsServer {
            conn,
            io,
            partial: early,
            plain: Vec::new(),
            plain_at: 0,
            out: Vec::new(),
            peer_done: false,
            closing: false,
            sni: Hello::Waiting,
        };
        std::future::poll_fn(|cx| s.poll_handshake(cx)).await?;
        Ok(s)
    }

    /// The negotiated connection (version, ALPN, client certificate …).
    pub fn conn(&self) -> &rustls::CommonState {
        &self.conn
    }

    /// The server name the client's hello asked for.
    pub fn sni(&self) -> Option<&str> {
        match &self.sni {
            Hello::Read(n) => n.as_deref(),
            Hello::Waiting => None,
        }
    }

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        &self.io
    }

    /// Sends close_notify and, with `fin`, ends the socket's write side. Without: the
    /// caller closes the socket next, which sends the FIN (one shutdown() call less).
    pub fn poll_close(&mut self, cx: &mut Context<'_>, fin: bool) -> Poll<io::Result<()>> {
        if !self.closing {
            self.closing = true;
            let UnbufferedStatus { state, .. } = self.conn.process_tls_records(&mut []);
            if let Ok(ConnectionState::WriteTraffic(mut wt)) = state {
                let mut b = [0u8; 64];
                if let Ok(n) = wt.queue_close_notify(&mut b) {
                    self.out.extend_from_slice(&b[..n]);
                }
            }
        }
        std::task::ready!(self.poll_send(cx))?;
        if fin {
            Pin::new(&mut self.io).poll_shutdown(cx)
        } else {
            Poll::Ready(Ok(()))
        }
    }

    /// Writes `out` to the socket; Ready(Ok) once all of it is gone.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.out.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.out = Vec::new();
        Poll::Ready(Ok(()))
    }

    /// Reads more TLS bytes: appends to `partial`. Ready(Ok(false)) at EOF.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        SCRATCH.with(|s| {
            let buf = &mut s.borrow_mut().0;
            let mut rb = ReadBuf::new(&mut buf[..RECORD]);
            match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let got = rb.filled();
                    if got.is_empty() {
                        return Poll::Ready(Ok(false));
                    }
                    self.partial.extend_from_slice(got);
                    Poll::Ready(Ok(true))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    }

    /// Encodes what rustls has to send (handshake, tickets, alerts) into `out`.
    fn encode(
        out: &mut Vec<u8>,
        mut enc: rustls::unbuffered::EncodeTlsData<'_, rustls::server::ServerConnectionData>,
    ) -> io::Result<()> {
        let at = out.len();
        out.resize(at + 4096, 0);
        loop {
            match enc.encode(&mut out[at..]) {
                Ok(n) => {
                    out.truncate(at + n);
                    return Ok(());
                }
                Err(EncodeError::InsufficientSize(e)) => out.resize(at + e.required_size, 0),
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
    }

    /// After an error rustls has queued an alert: sends it if the socket takes it now,
    /// and returns the error.
    fn fail(&mut self, e: rustls::Error) -> io::Error {
        while let UnbufferedStatus {
            state: Ok(ConnectionState::EncodeTlsData(enc)),
            ..
        } = self.conn.process_tls_records(&mut [])
        {
            if Self::encode(&mut self.out, enc).is_err() {
                break;
            }
        }
        let _ = self.io.try_write(&self.out);
        self.out = Vec::new();
        tls_err(e)
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Hello::Waiting = self.sni {
                use crate::runtime::proto::tls_hello::{hello_sni, Hello as H};
                match hello_sni(&self.partial) {
                    H::TooShort => {}
                    H::NotSsl => self.sni = Hello::Read(None),
                    H::Got(n) => {
                        let name = String::from_utf8_lossy(n).into();
                        self.sni = Hello::Read(Some(name));
                    }
                }
            }
            let UnbufferedStatus { discard, state } =
                self.conn.process_tls_records(&mut self.partial);
            let state = match state {
                Ok(s) => s,
                Err(e) => {
                    self.partial.drain(..discard);
                    return Poll::Ready(Err(self.fail(e)));
                }
            };
            let mut done = false;
            let mut need = false;
            let mut send = false;
            let mut data = Vec::new();
            match state {
                // A flight's messages are gathered and leave in one write when rustls says
                // the flight is complete (one sendto instead of one per message).
                ConnectionState::EncodeTlsData(enc) => Self::encode(&mut self.out, enc)?,
                ConnectionState::TransmitTlsData(t) => {
                    t.done();
                    send = true;
                }
                ConnectionState::BlockedHandshake => need = true,
                ConnectionState::WriteTraffic(_) => done = true,
                ConnectionState::ReadTraffic(mut rt) => {
                    // Data right behind the handshake: keep it for the first read.
                    let mut extra = 0;
                    while let Some(rec) = rt.next_record() {
                        let rec = rec.map_err(tls_err)?;
                        extra += rec.discard;
                        data.extend_from_slice(rec.payload);
                    }
                    self.partial.drain(..discard + extra);
                    self.plain.extend_from_slice(&data);
                    continue;
                }
                ConnectionState::PeerClosed | ConnectionState::Closed => {
                    return Poll::Ready(Err(ErrorKind::UnexpectedEof.into()))
                }
                _ => return Poll::Ready(Err(io::Error::other("unexpected TLS state"))),
            }
            self.partial.drain(..discard);
            // Also before waiting for the peer: what it waits for must be out (and a
            // write left Pending is finished here when the task is polled again).
            if (send || need || done) && !self.out.is_empty() {
                std::task::ready!(self.poll_send(cx))?;
            }
            if done {
                self.shrink();
                return Poll::Ready(Ok(()));
            }
            if need && !std::task::ready!(self.poll_fill(cx))? {
                return Poll::Ready(Err(ErrorKind::UnexpectedEof.into()));
            }
        }
    }

    /// Releases what an idle connection does not need.
    fn shrink(&mut self) {
        if self.partial.is_empty() {
            self.partial = Vec::new();
        }
        if self.plain_at >= self.plain.len() {
            self.plain = Vec::new();
            self.plain_at = 0;
        }
    }

    /// Decrypts the complete records in `partial` into `plain`; sends what rustls asks to.
    /// Ok(true) when something changed.
    fn decrypt(&mut self) -> io::Result<bool> {
        let mut progress = false;
        loop {
            let UnbufferedStatus { discard, state } =
                self.conn.process_tls_records(&mut self.partial);
            let state = match state {
                Ok(s) => s,
                Err(e) => {
                    self.partial.drain(..discard);
                    return Err(self.fail(e));
                }
            };
            let mut extra = 0;
            let mut stop = false;
            match state {
                ConnectionState::ReadTraffic(mut rt) => {
                    while let Some(rec) = rt.next_record() {
                        let rec = rec.map_err(tls_err)?;
                        extra += rec.discard;
                        self.plain.extend_from_slice(rec.payload);
                    }
                    progress = true;
                }
                ConnectionState::EncodeTlsData(enc) => {
                    Self::encode(&mut self.out, enc)?;
                    progress = true;
                }
                ConnectionState::TransmitTlsData(t) => t.done(),
                ConnectionState::PeerClosed | ConnectionState::Closed => {
                    self.peer_done = true;
                    stop = true;
                }
                _ => stop = true,
            }
            self.partial.drain(..discard + extra);
            if stop {
                return Ok(progress);
            }
        }
    }

    /// Encrypts `data` (at most one record) into `out`.
    fn encrypt(&mut self, data: &[u8]) -> io::Result<()> {
        let UnbufferedStatus { state, .. } = self.conn.process_tls_records(&mut []);
        match state.map_err(tls_err)? {
            ConnectionState::WriteTraffic(mut wt) => SCRATCH.with(|s| {
                let buf = &mut s.borrow_mut().1;
                match wt.encrypt(data, buf) {
                    Ok(n) => {
                        self.out.extend_from_slice(&buf[..n]);
                        Ok(())
                    }
                    Err(EncryptError::InsufficientSize(e)) => {
                        let mut big = vec![0u8; e.required_size];
                        let n = wt
                            .encrypt(data, &mut big)
                            .map_err(|e| io::Error::other(e.to_string()))?;
                        self.out.extend_from_slice(&big[..n]);
                        Ok(())
                    }
                    Err(e) => Err(io::Error::other(e.to_string())),
                }
            }),
            ConnectionState::EncodeTlsData(enc) => {
                Self::encode(&mut self.out, enc)?;
                self.encrypt(data)
            }
            ConnectionState::TransmitTlsData(t) => {
                t.done();
                self.encrypt(data)
            }
            _ => Err(ErrorKind::BrokenPipe.into()),
        }
    }
}

impl AsyncRead for TlsServer {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        loop {
            if me.plain_at < me.plain.len() {
                let n = buf.remaining().min(me.plain.len() - me.plain_at);
                buf.put_slice(&me.plain[me.plain_at..me.plain_at + n]);
                me.plain_at += n;
                me.shrink();
                return Poll::Ready(Ok(()));
            }
            if me.peer_done {
                return Poll::Ready(Ok(()));
            }
            me.decrypt()?;
            if !me.out.is_empty() {
                // Alerts and key updates go out as they come; a full socket waits.
                let _ = me.poll_send(cx)?;
            }
            if me.plain_at < me.plain.len() || me.peer_done {
                continue;
            }
            me.shrink();
            match std::task::ready!(me.poll_fill(cx)) {
                Ok(true) => continue,
                Ok(false) => me.peer_done = true,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for TlsServer {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        // Earlier records first: accept nothing new while they cannot leave.
        if !me.out.is_empty() {
            std::task::ready!(me.poll_send(cx))?;
        }
        let n = data.len().min(16384);
        me.encrypt(&data[..n])?;
        // Start sending now; what the socket does not take waits in `out`.
        let _ = me.poll_send(cx)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_close(cx, true)
    }
}
