//! Unit tests of cookie persistence: the `cookie` header edits and letters haproxy 2.6
//! produced for the same inputs (insert indirect: the cookie removed; prefix: the
//! server's part removed), and the dates' encoding.

use super::*;
use crate::ir::cookie::{Cookie, CookieMode};

fn conf(mode: CookieMode, indirect: bool) -> Cookie {
    Cookie {
        name: "SRV".into(),
        mode,
        indirect,
        ..Cookie::default()
    }
}

/// A server with cookie `value`, up (and taking sessions) or down.
const fn sv(value: &str, up: bool) -> Server<'_> {
    Server {
        value: Some(value),
        up,
        takes: up,
    }
}

const SERVERS: &[Server<'static>] = &[sv("s1", true), sv("s2", true)];

/// Looks the cookie up among `servers` as a request no rule chose a server for.
fn look<'a, 'b>(servers: &'b [Server<'a>]) -> Lookup<'a, 'b> {
    Lookup {
        servers,
        skip: false,
    }
}

/// The `cookie` headers forwarded, and the state, for one request's cookie lines.
fn forward(c: &Cookie, lines: &[&str]) -> (Vec<String>, Persist) {
    let mut raw = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    for l in lines {
        raw.push_str(&format!("Cookie: {l}\r\n"));
    }
    raw.push_str("\r\n");
    let (mut req, _) = Head::request(raw.as_bytes(), 101).unwrap().unwrap();
    let (p, _) = on_request(Some(c), None, look(SERVERS), &mut req, 1_800_000_000);
    let out = req
        .headers()
        .filter(|(n, _)| *n == b"cookie")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    (out, p)
}

#[test]
fn insert_indirect_removes_the_cookie_as_haproxy() {
    let c = conf(CookieMode::Insert, true);
    let cases: &[(&str, &str)] = &[
        ("SRV=s1", ""),
        ("SRV=s1; a=1", "a=1"),
        ("a=1; SRV=s1", "a=1"),
        ("a=1; SRV=s1; b=2", "a=1; b=2"),
        ("a=1;SRV=s1;b=2", "a=1; b=2"),
        ("a=1 ;  SRV=s1  ;   b=2", "a=1; b=2"),
        ("a=1; SRV=s1; SRV=s2; b=2", "a=1; b=2"),
        ("SRV=s1; SRV=s2", ""),
        ("a=1; SRV=s1, b=2", "a=1, b=2"),
        ("a=1, SRV=s1, b=2", "a=1, b=2"),
        ("SRV=s1 , b=2", "b=2"),
        ("SRV=s1;b=2", "b=2"),
        ("a=1;SRV=s1", "a=1"),
        ("a=1 ; SRV=s1 ;", "a=1; "),
        ("SRV=s1;", ""),
        (";SRV=s1", ""),
        (
            "$Version=1; SRV=s1; $Path=/; a=1; $Path=/x",
            "$Version=1; a=1; $Path=/x",
        ),
        ("$Version=1; SRV=s1; $Path=/", ""),
        ("SRV=s1; $Path=/; a=1", "a=1"),
        ("x=\"a;SRV=s2\"; SRV=s1", "x=\"a;SRV=s2\""),
        ("flag; SRV=s1", "flag"),
        ("SRV=s1; flag", "flag"),
        ("SRV = s1 ; a = 1", "a=1"),
    ];
    for (input, want) in cases {
        let (got, p) = forward(&c, &[input]);
        let want: Vec<String> = if want.is_empty() {
            vec![]
        } else {
            vec![want.to_string()]
        };
        assert_eq!(got, want, "input {input:?}");
        assert_eq!(p.seen, Seen::Valid, "input {input:?}");
    }
    let (got, _) = forward(&c, &["a=1", "SRV=s1", "b=2"]);
    assert_eq!(got, ["a=1", "b=2"]);
}

#[test]
fn letters_and_choices() {
    let c = conf(CookieMode::Insert, true);
    let (_, p) = forward(&c, &["SRV=zz"]);
    assert_eq!((p.seen, p.server), (Seen::Invalid, None));
    let (_, p) = forward(&c, &["SRV=zz; SRV=s2"]);
    assert_eq!((p.seen, p.server), (Seen::Valid, Some(1)));
    let (_, p) = forward(&c, &["SRV=s2; SRV=s1"]);
    assert_eq!(p.server, Some(1));
    let (_, p) = forward(&c, &["srv=s1"]);
    assert_eq!(p.seen, Seen::None);
    let (_, p) = forward(&c, &["SRV=\"s1\""]);
    assert_eq!(p.seen, Seen::Invalid);
    let (_, p) = forward(&c, &["SRV=s1|x"]);
    assert_eq!(p.server, Some(0));
    let down = &[sv("s1", false), sv("s1", true)];
    let raw = b"GET / HTTP/1.1\r\nCookie: SRV=s1\r\n\r\n";
    let (mut req, _) = Head::request(raw, 101).unwrap().unwrap();
    let (p, _) = on_request(Some(&c), None, look(down), &mut req, 0);
    assert_eq!((p.seen, p.server), (Seen::Valid, Some(1)));
    let gone = &[sv("s1", false)];
    let (mut req, _) = Head::request(raw, 101).unwrap().unwrap();
    let (p, _) = on_request(Some(&c), None, look(gone), &mut req, 0);
    assert_eq!((p.seen, p.server), (Seen::Down, None));
    // Forced persistence takes the server that is down, still logged `D`.
    let forced = &[Server {
        takes: true,
        ..sv("s1", false)
    }];
    let (mut req, _) = Head::request(raw, 101).unwrap().unwrap();
    let (p, _) = on_request(Some(&c), None, look(forced), &mut req, 0);
    assert_eq!((p.seen, p.server), (Seen::Down, Some(0)));
    // A server already chosen, or persistence ignored: the cookie is unused.
    let (mut req, _) = Head::request(raw, 101).unwrap().unwrap();
    let skip = Lookup {
        servers: SERVERS,
        skip: true,
    };
    let (p, _) = on_request(Some(&c), None, skip, &mut req, 0);
    assert_eq!((p.seen, p.server), (Seen::Unused, None));
}

#[test]
fn prefix_mode_strips_the_server_part() {
    let mut c = conf(CookieMode::Prefix, false);
    c.name = "JSESSIONID".into();
    let (got, p) = forward(&c, &["a=1; JSESSIONID=s2~abc123; b=2"]);
    assert_eq!(got, ["a=1; JSESSIONID=abc123; b=2"]);
    assert_eq!(p.server, Some(1));
    let (got, p) = forward(&c, &["JSESSIONID=zz~abc"]);
    assert_eq!((got[0].as_str(), p.seen), ("JSESSIONID=abc", Seen::Invalid));
    let (got, _) = forward(&c, &["JSESSIONID=s1~abc~def"]);
    assert_eq!(got, ["JSESSIONID=abc~def"]);
    let (got, _) = forward(&c, &["JSESSIONID=s1~a; JSESSIONID = s2~b; x = y"]);
    assert_eq!(got, ["JSESSIONID=a; JSESSIONID=b; x=y"]);
    let (got, p) = forward(&c, &["JSESSIONID=s1"]);
    assert_eq!((got[0].as_str(), p.seen), ("JSESSIONID=s1", Seen::Valid));
}

#[test]
fn dates_encode_as_haproxy() {
    assert_eq!(b64tos30(b"axR3p") << 2, 1_796_503_460);
    let mut v = Vec::new();
    s30tob64(1_796_503_460 >> 2, &mut v);
    assert_eq!(v, b"axR3p");
    assert_eq!(b64tos30(b"ab=cd"), -1);
}

/// Every short cookie header made of the bytes the parser treats specially goes through
/// each mode without a panic, as a request's `cookie` (what is forwarded never grows:
/// haproxy edits in place, blanks, prefixes and cookies only go) and as a response's
/// `set-cookie`.
#[test]
fn odd_cookie_headers_never_panic() {
    const BYTES: &[u8] = b" ;,=\"\\$~|Sa1";
    let modes = [
        conf(CookieMode::Insert, true),
        conf(CookieMode::Prefix, false),
        conf(CookieMode::Rewrite, false),
    ];
    let mut word = Vec::new();
    for n in 0..BYTES.len().pow(4) {
        word.clear();
        let mut k = n;
        for _ in 0..4 {
            word.push(BYTES[k % BYTES.len()]);
            k /= BYTES.len();
        }
        for prefix in [&b"SRV="[..], b"a=1;SRV", b""] {
            let mut value = prefix.to_vec();
            value.extend_from_slice(&word);
            let mut raw = b"GET / HTTP/1.1\r\nCookie: ".to_vec();
            raw.extend_from_slice(&value);
            raw.extend_from_slice(b"\r\n\r\n");
            let Ok(Some((head, _))) = Head::request(&raw, 101) else {
                continue;
            };
            let before: usize = head
                .headers()
                .filter(|(n, _)| *n == b"cookie")
                .map(|(_, v)| v.len())
                .sum();
            for c in &modes {
                let mut req = head.clone();
                let _ = on_request(
                    Some(c),
                    Some(&("SR".to_string(), 3)),
                    look(SERVERS),
                    &mut req,
                    0,
                );
                let after: usize = req
                    .headers()
                    .filter(|(n, _)| *n == b"cookie")
                    .map(|(_, v)| v.len())
                    .sum();
                assert!(
                    after <= before,
                    "{:?} grew",
                    String::from_utf8_lossy(&value)
                );
            }
            let mut raw = b"HTTP/1.1 200 OK\r\nSet-Cookie: ".to_vec();
            raw.extend_from_slice(&value);
            raw.extend_from_slice(b"\r\n\r\n");
            let Ok(Some((resp, _))) = Head::response(&raw, 101) else {
                continue;
            };
            for c in &modes {
                let r = Response {
                    srv_value: Some("s1"),
                    direct: true,
                    ignore: false,
                    post: false,
                    cacheable_method: true,
                    now: 0,
                };
                let mut p = Persist {
                    seen: Seen::None,
                    set: Set::None,
                    server: Some(0),
                    last: 0,
                    first: 0,
                };
                let mut h = resp.clone();
                let cap = ("SR".to_string(), 3);
                let _ = on_response((Some(c), Some(&cap)), &r, &mut p, &mut h);
            }
        }
    }
}
