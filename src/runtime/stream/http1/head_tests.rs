//! Unit tests of [`super::Head`]: parsing, haproxy's checks and the written form.

use super::*;

fn req(s: &str) -> Result<Head, HeadError> {
    Head::request(s.as_bytes(), 101).map(|h| h.expect("complete").0)
}

fn wire(h: &Head, conn: Option<&str>, added: bool) -> String {
    let mut h = h.clone();
    if added {
        h.add_header(b"X-Added", b"1");
    }
    let mut out = Vec::new();
    h.write(&mut out, conn);
    String::from_utf8(out).unwrap()
}

#[test]
fn names_are_lower_cased_order_and_repeats_kept() {
    let h =
        req("GET /a?x=1 HTTP/1.1\r\nHost: Example\r\nX-Foo: Bar\r\nx-foo: baz\r\n\r\n").unwrap();
    assert_eq!(
        wire(&h, None, false),
        "GET /a?x=1 HTTP/1.1\r\nhost: Example\r\nx-foo: Bar\r\nx-foo: baz\r\n\r\n"
    );
    // 20 + "GET" "/a?x=1" "HTTP/1.1" + host/Example + x-foo/Bar + x-foo/baz + 1.
    assert_eq!(h.htx_size(), 20 + 3 + 6 + 8 + 11 + 8 + 8 + 1);
}

#[test]
fn connection_tokens_are_taken_out() {
    let h = req("GET / HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\n\r\n").unwrap();
    assert!(h.flags.conn_kal && h.flags.conn_upg && !h.flags.ver11);
    assert_eq!(h.header(b"connection"), Some(&b"Upgrade"[..]));
    let h = req("GET / HTTP/1.1\r\nconnection: close\r\n\r\n").unwrap();
    assert!(h.flags.conn_clo);
    assert_eq!(h.header(b"connection"), None);
}

#[test]
fn framing_is_checked_as_haproxy_does() {
    assert_eq!(
        req("POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n").err(),
        Some(HeadError::ContentLength)
    );
    assert_eq!(
        req("POST / HTTP/1.1\r\ncontent-length: 3x\r\n\r\n").err(),
        Some(HeadError::ContentLength)
    );
    let h = req("POST / HTTP/1.1\r\ncontent-length: 3, 3\r\ncontent-length: 3\r\n\r\n").unwrap();
    assert_eq!((h.flags.clen, h.content_length), (true, 3));
    assert_eq!(h.headers().count(), 1);
    let h =
        req("POST / HTTP/1.1\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n").unwrap();
    assert!(h.flags.chunked && !h.flags.clen && h.flags.conn_clo);
    assert_eq!(h.header(b"content-length"), None);
    assert_eq!(
        req("POST / HTTP/1.1\r\ntransfer-encoding: chunked, gzip\r\n\r\n").err(),
        Some(HeadError::TransferEncoding)
    );
    assert_eq!(
        req("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n")
            .err(),
        Some(HeadError::TransferEncoding)
    );
    assert_eq!(
        req("GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n").err(),
        Some(HeadError::Host)
    );
}

#[test]
fn responses_keep_their_reason_and_status() {
    let (h, n) = Head::response(b"HTTP/1.1 404 Not Found\r\nX-A: b\r\n\r\nbody", 101)
        .unwrap()
        .unwrap();
    assert_eq!(n, 34);
    assert_eq!(h.status, 404);
    assert_eq!(
        wire(&h, Some("close"), false),
        "HTTP/1.1 404 Not Found\r\nx-a: b\r\nconnection: close\r\n\r\n"
    );
    let (h, _) = Head::response(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 101)
        .unwrap()
        .unwrap();
    assert_eq!(wire(&h, None, false), "HTTP/1.1 204 No Content\r\n\r\n");
}

#[test]
fn haproxys_other_refusals() {
    assert_eq!(
        req("GET / HTTP/1.0\r\ncontent-length: 1\r\n\r\n").err(),
        Some(HeadError::PayloadTooLarge)
    );
    assert_eq!(
        req("POST / HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n")
            .err()
            .map(HeadError::request_status),
        Some(422)
    );
    let ws = "GET / HTTP/1.1\r\nconnection: upgrade\r\nupgrade: websocket\r\n";
    assert_eq!(
        req(&format!("{ws}sec-websocket-key: k\r\n\r\n")).err(),
        Some(HeadError::WebSocketKey)
    );
    assert!(req(&format!(
        "{ws}sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    ))
    .unwrap()
    .websocket());
    let r = b"HTTP/1.1 101 Switching\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n";
    assert_eq!(Head::response(r, 101).err(), Some(HeadError::WebSocketKey));
}

#[test]
fn incomplete_and_invalid() {
    assert!(Head::request(b"GET / HTTP/1.1\r\nHost", 101)
        .unwrap()
        .is_none());
    assert_eq!(req("garbage\r\n\r\n").err(), Some(HeadError::Syntax));
    assert_eq!(
        Head::request(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n", 1).err(),
        Some(HeadError::TooManyHeaders)
    );
}

#[test]
fn other_versions_wait_for_their_line_then_go_as_haproxy_sends_them() {
    // Piece by piece, as a slow client sends it: no verdict before the line is whole.
    let full = "GET /v HTTP/2.0\r\nHost: a\r\n\r\n";
    for cut in [
        "GET /v HTTP/2",
        "GET /v HTTP/2.",
        "GET /v HTTP/2.0",
        "GET /v HTTP/2.0\r",
    ] {
        assert!(
            matches!(Head::request(cut.as_bytes(), 101), Ok(None)),
            "{cut:?} is not complete yet"
        );
    }
    let h = req(full).unwrap();
    assert!(h.flags.ver11);
    assert_eq!(h.request_line(), b"GET /v HTTP/2.0");
    assert_eq!(wire(&h, None, false), "GET /v HTTP/1.1\r\nhost: a\r\n\r\n");
    let old = req("GET /o HTTP/0.5\r\n\r\n").unwrap();
    assert!(!old.flags.ver11);
    assert_eq!(wire(&old, None, false), "GET /o HTTP/0.5\r\n\r\n");
    // Not a digit, or one too many: refused at once.
    assert!(Head::request(b"GET /x HTTP/x", 101).is_err());
    assert!(Head::request(b"GET /x HTTP/1.10\r\n\r\n", 101).is_err());
}

#[test]
fn responses_of_other_versions_as_haproxy_writes_them() {
    for cut in ["HTTP/2", "HTTP/2.0"] {
        assert!(
            matches!(Head::response(cut.as_bytes(), 101), Ok(None)),
            "{cut:?}"
        );
    }
    let (h, _) = Head::response(b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 101)
        .unwrap()
        .unwrap();
    assert!(h.flags.ver11);
    assert_eq!(
        wire(&h, None, false),
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
    );
    let (old, _) = Head::response(b"HTTP/0.9 200 OK\r\n\r\n", 101)
        .unwrap()
        .unwrap();
    assert!(!old.flags.ver11);
    assert_eq!(
        wire(&old, Some("keep-alive"), false),
        "HTTP/0.9 200 OK\r\nconnection: keep-alive\r\n\r\n"
    );
    assert!(Head::response(b"HTTP/x.0 200 OK\r\n\r\n", 101).is_err());
}
