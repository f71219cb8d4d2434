//! Message bodies: read with the framing the head announced (a length, chunks, or up to
//! the close), written with the framing the other side gets (haproxy re-chunks a body
//! without length for an HTTP/1.1 peer, and forwards chunk data, not chunk sizes).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How many bytes one read asks for (a head, a chunk-size line).
const READ: usize = 16384;

/// How many bytes one read of body data asks for: fewer system calls for large bodies.
const BODY_READ: usize = 65536;

/// Bytes read from one side and not yet used: pipelined requests, a body's first bytes.
#[derive(Default)]
pub struct Inbuf {
    data: Vec<u8>,
    pos: usize,
}

impl Inbuf {
    /// The unread bytes.
    pub fn avail(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    /// Marks `n` bytes as used.
    pub fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.data.len() {
            self.data.clear();
            self.pos = 0;
        }
    }

    /// Puts bytes read before this buffer existed (a PROXY header's tail, inspected data).
    pub fn extend(&mut self, b: &[u8]) {
        self.data.extend_from_slice(b);
    }

    /// Frees memory an idle connection does not need.
    pub fn shrink(&mut self) {
        if self.pos == self.data.len() {
            self.data = Vec::new();
            self.pos = 0;
        }
    }

    /// Reads more from `r` within `limit`: the count read (0 at end of stream).
    pub async fn fill<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        limit: Option<Duration>,
    ) -> Result<usize, Fail> {
        self.fill_up(r, limit, READ).await
    }

    /// Reads at most about `size` more bytes from `r` within `limit`.
    async fn fill_up<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        limit: Option<Duration>,
        size: usize,
    ) -> Result<usize, Fail> {
        if self.pos > 0 && self.pos * 2 > self.data.capacity() {
            self.data.drain(..self.pos);
            self.pos = 0;
        }
        // Into spare capacity: no zeroing of a buffer the read overwrites.
        self.data.reserve(size);
        let read = r.read_buf(&mut self.data);
        let got = match limit {
            Some(d) => tokio::time::timeout(d, read)
                .await
                .map_err(|_| Fail::Timeout)?,
            None => read.await,
        };
        got.map_err(|_| Fail::Closed)
    }
}

/// Why a transfer stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// The peer closed or reset.
    Closed,
    /// The timeout struck.
    Timeout,
    /// Framing that haproxy refuses (a bad chunk size or chunk end).
    Invalid,
}

/// Which side a failure happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Reading from the sender.
    Read(Fail),
    /// Writing to the receiver.
    Write(Fail),
}

/// How a body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `content-length`.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
    /// Up to the end of the stream (a response without length).
    Close,
}

/// Writes `b` within `limit`.
pub async fn send<W: AsyncWrite + Unpin>(
    w: &mut W,
    b: &[u8],
    limit: Option<Duration>,
) -> Result<(), Fail> {
    let fut = async {
        w.write_all(b).await?;
        w.flush().await
    };
    let r = match limit {
        Some(d) => tokio::time::timeout(d, fut)
            .await
            .map_err(|_| Fail::Timeout)?,
        None => fut.await,
    };
    r.map_err(|_: io::Error| Fail::Closed)
}

/// One side's timeouts for a transfer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Between two reads.
    pub read: Option<Duration>,
    /// For one write.
    pub write: Option<Duration>,
}

/// How body data leaves: as it came, as chunks, or encoded (then as chunks).
pub enum Out<'e> {
    /// As it came (a length, or up to the close).
    Plain,
    /// As chunks.
    Chunks,
    /// Compressed, as chunks.
    Encoded(&'e mut super::compress::Encoder),
}

/// Copies a body framed as `from` from `inb`/`r` to `w`, framed as chunks when
/// `chunk_out`. Returns the data bytes carried (what HTX counts) with the outcome.
pub async fn copy<R, W>(
    from: Framing,
    chunk_out: bool,
    inb: &mut Inbuf,
    r: &mut R,
    w: &mut W,
    lim: Limits,
) -> (u64, Result<(), Side>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let out = if chunk_out { Out::Chunks } else { Out::Plain };
    copy_out(from, out, inb, r, w, lim).await
}

/// [`copy`] with the body's way out given. The bytes counted are those read, encoded or
/// not (haproxy counts a response's bytes as they come in, before its filters).
pub async fn copy_out<R, W>(
    from: Framing,
    mut out: Out<'_>,
    inb: &mut Inbuf,
    r: &mut R,
    w: &mut W,
    lim: Limits,
) -> (u64, Result<(), Side>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut carried = 0u64;
    let len = match from {
        Framing::Empty => return (0, Ok(())),
        Framing::Chunked => {
            let res = chunked(inb, r, w, lim, &mut out, &mut carried).await;
            return (carried, res);
        }
        Framing::Length(n) => Some(n),
        Framing::Close => None,
    };
    let mut res = forward_data(len, &mut out, inb, r, w, lim, &mut carried).await;
    if res.is_ok() {
        res = finish(&mut out, w, lim).await;
    }
    if res.is_ok() && !matches!(out, Out::Plain) {
        res = send(w, b"0\r\n\r\n", lim.write).await.map_err(Side::Write);
    }
    (carried, res)
}

/// An encoded body's last bytes, as one more chunk (nothing more taken in).
async fn finish<W: AsyncWrite + Unpin>(
    out: &mut Out<'_>,
    w: &mut W,
    lim: Limits,
) -> Result<(), Side> {
    if let Out::Encoded(e) = out {
        let tail = e.finish();
        if !tail.is_empty() {
            piece(w, &tail, &mut Out::Chunks, lim).await?;
        }
    }
    Ok(())
}

/// Writes one piece of data, as `out` says: the count of bytes it took.
async fn piece<W: AsyncWrite + Unpin>(
    w: &mut W,
    d: &[u8],
    out: &mut Out<'_>,
    lim: Limits,
) -> Result<u64, Side> {
    // What came in: haproxy counts a message's bytes before its filters change them.
    let taken = d.len() as u64;
    let encoded;
    let d = match out {
        Out::Plain => {
            send(w, d, lim.write).await.map_err(Side::Write)?;
            return Ok(d.len() as u64);
        }
        Out::Chunks => d,
        Out::Encoded(e) => {
            encoded = e.add(d);
            if encoded.is_empty() {
                return Ok(taken);
            }
            &encoded
        }
    };
    let mut b = Vec::with_capacity(d.len() + 12);
    b.extend_from_slice(format!("{:x}\r\n", d.len()).as_bytes());
    b.extend_from_slice(d);
    b.extend_from_slice(b"\r\n");
    send(w, &b, lim.write).await.map_err(Side::Write)?;
    Ok(taken)
}

/// Forwards up to `len` bytes of data (None: up to the end of the stream) as they come.
async fn forward_data<R, W>(
    len: Option<u64>,
    out: &mut Out<'_>,
    inb: &mut Inbuf,
    r: &mut R,
    w: &mut W,
    lim: Limits,
    carried: &mut u64,
) -> Result<(), Side>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        if inb.avail().is_empty() {
            let n = inb
                .fill_up(r, lim.read, BODY_READ)
                .await
                .map_err(Side::Read)?;
            if n == 0 {
                if len.is_some() {
                    return Err(Side::Read(Fail::Closed));
                }
                break;
            }
        }
        let take = inb.avail().len().min(left.min(usize::MAX as u64) as usize);
        *carried += piece(w, &inb.avail()[..take], out, lim).await?;
        inb.consume(take);
        left -= take as u64;
    }
    Ok(())
}

/// Reads one CRLF-terminated line (without the CRLF) from `inb`, reading more as needed;
/// lines are bounded so a peer cannot grow the buffer without end.
async fn line<R: AsyncRead + Unpin>(
    inb: &mut Inbuf,
    r: &mut R,
    lim: Limits,
) -> Result<Vec<u8>, Side> {
    loop {
        if let Some(p) = inb.avail().windows(2).position(|w| w == b"\r\n") {
            let l = inb.avail()[..p].to_vec();
            inb.consume(p + 2);
            return Ok(l);
        }
        if inb.avail().len() > READ {
            return Err(Side::Read(Fail::Invalid));
        }
        if inb.fill(r, lim.read).await.map_err(Side::Read)? == 0 {
            return Err(Side::Read(Fail::Closed));
        }
    }
}

/// A chunk-size line: hexadecimal digits, optional blanks and `;extensions`.
pub(crate) fn chunk_size(l: &[u8]) -> Option<u64> {
    let digits = l.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let rest = &l[digits..];
    let rest_ok = rest.iter().all(|&c| c == b' ' || c == b'\t')
        || rest
            .iter()
            .position(|&c| c == b';')
            .is_some_and(|p| rest[..p].iter().all(|&c| c == b' ' || c == b'\t'));
    if !rest_ok {
        return None;
    }
    let mut n: u64 = 0;
    for &c in &l[..digits] {
        let d = (c as char).to_digit(16)? as u64;
        n = n.checked_mul(16)?.checked_add(d)?;
    }
    Some(n)
}

async fn chunked<R, W>(
    inb: &mut Inbuf,
    r: &mut R,
    w: &mut W,
    lim: Limits,
    out: &mut Out<'_>,
    carried: &mut u64,
) -> Result<(), Side>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if matches!(out, Out::Plain) {
        *out = Out::Chunks;
    }
    loop {
        let l = line(inb, r, lim).await?;
        let size = chunk_size(&l).ok_or(Side::Read(Fail::Invalid))?;
        if size == 0 {
            break;
        }
        forward_data(Some(size), out, inb, r, w, lim, carried).await?;
        if !line(inb, r, lim).await?.is_empty() {
            return Err(Side::Read(Fail::Invalid));
        }
    }
    finish(out, w, lim).await?;
    // Trailers, names lower-cased as haproxy sends them, then the end.
    let mut end = b"0\r\n".to_vec();
    let mut total = 0usize;
    let before = *carried;
    loop {
        let mut l = line(inb, r, lim).await?;
        if l.is_empty() {
            break;
        }
        total += l.len();
        if total > READ {
            return Err(Side::Read(Fail::Invalid));
        }
        let colon = l
            .iter()
            .position(|&c| c == b':')
            .ok_or(Side::Read(Fail::Invalid))?;
        l[..colon].make_ascii_lowercase();
        // HTX keeps a trailer as name and trimmed value; one more block ends them.
        let value = &l[colon + 1..];
        let v = value.iter().filter(|c| !c.is_ascii_whitespace()).count();
        let trimmed = if v == 0 {
            0
        } else {
            let a = value
                .iter()
                .position(|c| !c.is_ascii_whitespace())
                .unwrap_or(0);
            let b = value
                .iter()
                .rposition(|c| !c.is_ascii_whitespace())
                .unwrap_or(0);
            b + 1 - a
        };
        *carried += (colon + trimmed) as u64;
        // Sent as HTX keeps it: the name, one space, the trimmed value.
        let v = super::head::trim_lws(value).to_vec();
        end.extend_from_slice(&l[..colon + 1]);
        end.push(b' ');
        end.extend_from_slice(&v);
        end.extend_from_slice(b"\r\n");
    }
    end.extend_from_slice(b"\r\n");
    // HTX ends a chunked message's trailers, even none, with a one-byte block: counted.
    *carried += 1;
    // The compression filter passes the trailers and that block through, counting them
    // as taken in and given out.
    if let Out::Encoded(e) = out {
        e.pass(*carried - before);
    }
    send(w, &end, lim.write).await.map_err(Side::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(from: Framing, chunk_out: bool, input: &[u8]) -> (Vec<u8>, u64, Result<(), Side>) {
        let mut inb = Inbuf::default();
        let mut r = input;
        let mut out = Vec::new();
        let (n, res) = copy(
            from,
            chunk_out,
            &mut inb,
            &mut r,
            &mut out,
            Limits::default(),
        )
        .await;
        (out, n, res)
    }

    #[tokio::test]
    async fn chunks_are_reframed() {
        let (out, n, res) = run(
            Framing::Chunked,
            true,
            b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 1\r\n\r\nNEXT",
        )
        .await;
        assert_eq!(res, Ok(()));
        // Five bytes of data, the trailer's name and value, the end of trailers.
        assert_eq!(n, 5 + 6 + 1);
        assert_eq!(out, b"3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 1\r\n\r\n");
        // No trailers: still the block that ends them; a trailer's blanks go.
        let (_, n, _) = run(Framing::Chunked, true, b"3\r\nabc\r\n0\r\n\r\n").await;
        assert_eq!(n, 3 + 1);
        let (out, _, _) = run(Framing::Chunked, true, b"0\r\nX-A:  b c \r\n\r\n").await;
        assert_eq!(out, b"0\r\nx-a: b c\r\n\r\n");
    }

    #[tokio::test]
    async fn bad_chunks_are_refused() {
        for bad in [
            &b"zz\r\nabc\r\n"[..],
            b"3\r\nabcX\r\n",
            b"fffffffffffffffff\r\n",
        ] {
            let (_, _, res) = run(Framing::Chunked, true, bad).await;
            assert_eq!(res, Err(Side::Read(Fail::Invalid)), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn lengths_and_closes() {
        let (out, n, res) = run(Framing::Length(3), false, b"abcdef").await;
        assert_eq!((out.as_slice(), n, res), (&b"abc"[..], 3, Ok(())));
        let (_, _, res) = run(Framing::Length(10), false, b"abc").await;
        assert_eq!(res, Err(Side::Read(Fail::Closed)));
        let (out, _, res) = run(Framing::Close, true, b"abc").await;
        assert_eq!(
            (out.as_slice(), res),
            (&b"3\r\nabc\r\n0\r\n\r\n"[..], Ok(()))
        );
    }
}
