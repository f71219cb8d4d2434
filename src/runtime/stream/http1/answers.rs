//! haproxy 2.6's built-in answers (http.c `http_err_msgs`), as its H1 multiplexer puts
//! them on the wire: 400 and 408 are written by the multiplexer itself, in the case
//! written in the table, and close the connection; the others go through the HTTP layer
//! like a server's response, so their header names leave in lower case, their
//! `connection` header is the one the client's connection mode calls for, and a
//! kept-alive client may send its next request.

use std::sync::OnceLock;

use super::head::Head;

/// The answers haproxy's H1 multiplexer writes itself (a request it could not parse or
/// wait for), table text as is, before closing.
const MUX: [u16; 4] = [400, 408, 413, 422];

/// Status, reason and the sentence of the page, for each built-in answer.
const TABLE: &[(u16, &str, &str)] = &[
    (200, "OK", "Service ready."),
    (400, "Bad request", "Your browser sent an invalid request."),
    (
        401,
        "Unauthorized",
        "You need a valid user and password to access this content.",
    ),
    (
        403,
        "Forbidden",
        "Request forbidden by administrative rules.",
    ),
    (404, "Not Found", "The resource could not be found."),
    (
        405,
        "Method Not Allowed",
        "A request was made of a resource using a request method not supported by that resource",
    ),
    (
        407,
        "Unauthorized",
        "You need a valid user and password to access this content.",
    ),
    (
        408,
        "Request Time-out",
        "Your browser didn't send a complete request in time.",
    ),
    (
        410,
        "Gone",
        "The resource is no longer available and will not be available again.",
    ),
    (
        413,
        "Payload Too Large",
        "The request entity exceeds the maximum allowed.",
    ),
    (
        421,
        "Misdirected Request",
        "Request sent to a non-authoritative server.",
    ),
    (
        422,
        "Unprocessable Content",
        "The server cannot process the contained instructions.",
    ),
    (425, "Too Early", "Your browser sent early data."),
    (
        429,
        "Too Many Requests",
        "You have sent too many requests in a given amount of time.",
    ),
    (
        500,
        "Internal Server Error",
        "An internal server error occurred.",
    ),
    (
        501,
        "Not Implemented",
        ".The server does not support the functionality required to fulfill the request.",
    ),
    (
        502,
        "Bad Gateway",
        "The server returned an invalid or incomplete response.",
    ),
    (
        503,
        "Service Unavailable",
        "No server is available to handle this request.",
    ),
    (
        504,
        "Gateway Time-out",
        "The server didn't respond in time.",
    ),
];

/// The answer as haproxy's table holds it.
fn table_text(status: u16, reason: &str, sentence: &str) -> Vec<u8> {
    let body = format!("<html><body><h1>{status} {reason}</h1>\n{sentence}\n</body></html>\n");
    // 400 and 408 carry "Connection: close" in the table; the others do not.
    let conn = if matches!(status, 400 | 408) {
        "Connection: close\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-length: {}\r\nCache-Control: no-cache\r\n{conn}Content-Type: text/html\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A built-in answer: the bytes sent and the size `%B` counts for it (0 for the
/// multiplexer's own 400 and 408, which never reach the HTTP layer).
pub struct Answer {
    /// The bytes on the wire (with no `connection` header for the HTTP-layer answers).
    pub wire: Vec<u8>,
    /// The head of an HTTP-layer answer, to write with a `connection` header.
    pub head: Option<Head>,
    /// Its body.
    pub body: Vec<u8>,
    /// What haproxy's log counts as sent.
    pub logged_bytes: u64,
}

impl Answer {
    /// The bytes to send with `conn` as the `connection` header's value, header names
    /// in the case `case` gives them (not for the multiplexer's own answers, which
    /// haproxy writes as they are).
    pub fn with_connection(
        &self,
        conn: Option<&str>,
        case: Option<&crate::ir::CaseMap>,
    ) -> Vec<u8> {
        match &self.head {
            None => self.wire.clone(),
            Some(h) => {
                let mut out = Vec::with_capacity(self.wire.len() + 24);
                h.write_cased(&mut out, conn, case);
                out.extend_from_slice(&self.body);
                out
            }
        }
    }
}

impl Answer {
    /// This answer with every `name` header removed and one `name: value` added, as
    /// haproxy's `auth` action edits the 401 page.
    pub fn with_header(&self, name: &[u8], value: &[u8]) -> Answer {
        let Some(old) = &self.head else {
            return Answer {
                wire: self.wire.clone(),
                head: None,
                body: self.body.clone(),
                logged_bytes: self.logged_bytes,
            };
        };
        let mut head = old.clone();
        head.remove_named(name);
        head.add_header(name, value);
        let mut wire = Vec::with_capacity(self.wire.len() + value.len() + 24);
        head.write(&mut wire, None);
        wire.extend_from_slice(&self.body);
        Answer {
            wire,
            logged_bytes: self.logged_bytes - old.htx_size() + head.htx_size(),
            body: self.body.clone(),
            head: Some(head),
        }
    }

    /// This answer with `head` (an edited copy of its own) in place of its head.
    pub fn with_head(&self, head: Head) -> Answer {
        let old = self.head.as_ref().map_or(0, Head::htx_size);
        let mut wire = Vec::with_capacity(self.wire.len() + 64);
        head.write(&mut wire, None);
        wire.extend_from_slice(&self.body);
        Answer {
            wire,
            logged_bytes: self.logged_bytes - old + head.htx_size(),
            body: self.body.clone(),
            head: Some(head),
        }
    }

    /// An answer read from an `errorfile`: its head as haproxy parses it (names lower-cased
    /// on the wire, its `connection` header replaced by the client's connection mode)
    /// and the rest of the file as the body. None when it is not an HTTP response.
    pub fn from_file(raw: &[u8]) -> Option<Answer> {
        let (head, n) = Head::response(raw, 101).ok().flatten()?;
        // haproxy's HTX keeps the file's `connection` header (it counts in %B), and
        // only the output drops it.
        let conn: usize = raw[..n]
            .split(|&c| c == b'\n')
            .filter_map(|l| {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                let colon = l.iter().position(|&c| c == b':')?;
                l[..colon]
                    .eq_ignore_ascii_case(b"connection")
                    .then(|| 10 + String::from_utf8_lossy(&l[colon + 1..]).trim().len())
            })
            .sum();
        let mut wire = Vec::with_capacity(raw.len());
        head.write(&mut wire, None);
        wire.extend_from_slice(&raw[n..]);
        Some(Answer {
            wire,
            logged_bytes: head.htx_size() + (conn + raw.len() - n) as u64,
            body: raw[n..].to_vec(),
            head: Some(head),
        })
    }
}

/// The built-in answer for `status` (one of haproxy's `http_err_codes`), as the
/// multiplexer writes it for 400, 408, 413 and 422.
pub fn answer(status: u16) -> &'static Answer {
    static ALL: OnceLock<Vec<(u16, Answer)>> = OnceLock::new();
    built_in(&ALL, status, true)
}

/// The built-in answer for `status` sent by the HTTP layer (a rule's `deny`), whatever
/// the status.
pub fn layer_answer(status: u16) -> &'static Answer {
    static ALL: OnceLock<Vec<(u16, Answer)>> = OnceLock::new();
    built_in(&ALL, status, false)
}

fn built_in(
    cell: &'static OnceLock<Vec<(u16, Answer)>>,
    status: u16,
    mux: bool,
) -> &'static Answer {
    let all = cell.get_or_init(|| {
        TABLE
            .iter()
            .map(|&(s, reason, sentence)| {
                let raw = table_text(s, reason, sentence);
                let a = if mux && MUX.contains(&s) {
                    Answer {
                        wire: raw,
                        head: None,
                        body: Vec::new(),
                        logged_bytes: 0,
                    }
                } else {
                    // As an errorfile: HTX keeps the 400's and 408's `connection: close`
                    // (counted in %B) while the output drops it.
                    Answer::from_file(&raw).expect("the built-in answers are valid HTTP")
                };
                (s, a)
            })
            .collect()
    });
    &all.iter()
        .find(|(s, _)| *s == status)
        .or_else(|| all.iter().find(|(s, _)| *s == 500))
        .unwrap_or(&all[0])
        .1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_haproxys() {
        // Measured on haproxy 2.6.12: %B of a 503 is 217, of a 502 209, of a 504 198.
        assert_eq!(answer(503).logged_bytes, 217);
        assert_eq!(answer(502).logged_bytes, 209);
        assert_eq!(answer(504).logged_bytes, 198);
        assert!(answer(503)
            .wire
            .starts_with(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"));
        assert!(answer(400)
            .wire
            .starts_with(b"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\n"));
        assert_eq!(answer(408).wire.len(), 110 + 123);
        // The HTTP layer's 408 (option http-buffer-request): %B 232 in haproxy.
        assert_eq!(layer_answer(408).logged_bytes, 232);
    }
}
