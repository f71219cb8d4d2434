//! HTTP versions haproxy's H1 parser takes and httparse does not: any
//! `HTTP/<digit>.<digit>` (h1_process_req_vsn, h1_process_res_vsn). httparse parses a
//! copy with `1.1` (for 1.1 and above, haproxy's VER_11) or `1.0` in the version's
//! digits; the head keeps the bytes as received.

/// Where a message starts: after the empty lines httparse skips.
fn line_start(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&c| c != b'\r' && c != b'\n')
        .unwrap_or(buf.len())
}

/// Whether `v` is (so far) the start of `HTTP/<digit>.<digit>`.
fn version_prefix(v: &[u8]) -> bool {
    v.len() <= 8
        && v.iter().zip(b"HTTP/0.0").all(|(&c, &p)| match p {
            b'0' => c.is_ascii_digit(),
            p => c == p,
        })
}

/// The copy for httparse when the 8 bytes at `at` are a version other than 1.0 and
/// 1.1, and whether it is 1.1 or above.
fn substitute(buf: &[u8], at: usize) -> (Option<Vec<u8>>, bool) {
    let v = &buf[at..at + 8];
    if !version_prefix(v) || v == b"HTTP/1.0" || v == b"HTTP/1.1" {
        return (None, false);
    }
    let above11 = v[5] > b'1' || (v[5] == b'1' && v[7] >= b'1');
    let mut copy = buf.to_vec();
    copy[at + 5..at + 8].copy_from_slice(if above11 { b"1.1" } else { b"1.0" });
    (Some(copy), above11)
}

/// A request whose complete request line ends in ` HTTP/<digit>.<digit>`.
pub(super) fn request(buf: &[u8]) -> (Option<Vec<u8>>, bool) {
    let start = line_start(buf);
    let Some(eol) = buf[start..].iter().position(|&c| c == b'\n') else {
        return (None, false);
    };
    let line = &buf[start..start + eol];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.len().checked_sub(9) {
        Some(sp) if line[sp] == b' ' => substitute(buf, start + sp + 1),
        _ => (None, false),
    }
}

/// A response whose status line starts `HTTP/<digit>.<digit> `.
pub(super) fn response(buf: &[u8]) -> (Option<Vec<u8>>, bool) {
    let start = line_start(buf);
    match buf.get(start + 8) {
        Some(b' ') => substitute(buf, start),
        _ => (None, false),
    }
}

/// Whether the request line is not complete yet and ends in what may become such a
/// version (httparse refuses one at its first byte).
pub(super) fn request_so_far(buf: &[u8]) -> bool {
    let line = &buf[line_start(buf)..];
    if line.contains(&b'\n') {
        return false;
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.iter()
        .rposition(|&c| c == b' ')
        .is_some_and(|sp| version_prefix(&line[sp + 1..]))
}

/// Whether a status line not yet long enough to hold its version and space starts
/// with what may become such a version.
pub(super) fn response_so_far(buf: &[u8]) -> bool {
    let head = &buf[line_start(buf)..];
    head.len() < 9 && version_prefix(head)
}
