//! HTTP Basic credentials as haproxy reads them (http_fetch.c `get_http_auth`): the first
//! value of the first `Authorization` header, a scheme word then its data; for Basic, the
//! data base64-decoded and cut at the first ':' into user and password.

use std::borrow::Cow;

use super::fetch::{Value, Values};
use crate::ir::acl::Fetch;
use crate::runtime::stream::http1::head::Head;

/// What the `Authorization` header says.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic`: user and password, each up to a NUL as haproxy's C strings are.
    Basic(Vec<u8>, Vec<u8>),
    /// `Bearer`
    Bearer,
}

/// The request's credentials; None when there are none haproxy would read.
pub fn credentials(req: &Head) -> Option<Credentials> {
    let v = req.header(b"authorization")?;
    // The first comma-separated value, blanks around it trimmed.
    let v = v.split(|&c| c == b',').next().unwrap_or(b"");
    let v = crate::runtime::stream::http1::head::trim_lws(v);
    let sp = v.iter().position(|&c| c == b' ').filter(|&p| p > 0)?;
    let scheme = &v[..sp];
    let data = &v[sp..];
    let data = &data[data.iter().position(|&c| c != b' ').unwrap_or(data.len())..];
    // strncasecmp over the scheme's own length: any prefix of the name counts.
    let is = |name: &[u8]| {
        scheme.len() <= name.len() && name[..scheme.len()].eq_ignore_ascii_case(scheme)
    };
    if is(b"Basic") {
        let mut plain = base64dec(data)?;
        if let Some(nul) = plain.iter().position(|&c| c == 0) {
            plain.truncate(nul);
        }
        let colon = plain.iter().position(|&c| c == b':')?;
        let pass = plain.split_off(colon + 1);
        plain.truncate(colon);
        Some(Credentials::Basic(plain, pass))
    } else if is(b"Bearer") {
        Some(Credentials::Bearer)
    } else {
        None
    }
}

/// haproxy's `base64dec`: whole groups of four; once a group has a '=' only '=' may
/// follow, and a '=' may not come second after another (so `X===` is an empty group,
/// `====` an error); bits beyond the last byte are not checked.
fn base64dec(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for g in s.chunks(4) {
        let mut t = [0u8; 4];
        let mut pad = 0;
        for (i, &c) in g.iter().enumerate() {
            if c == b'=' {
                if pad > 0 && i < 2 {
                    return None;
                }
                pad += 1;
            } else if pad > 0 {
                return None;
            } else {
                t[i] = val(c)?;
            }
        }
        let b = [
            (t[0] << 2) | (t[1] >> 4),
            (t[1] << 4) | (t[2] >> 2),
            (t[2] << 6) | t[3],
        ];
        out.extend_from_slice(&b[..3 - pad]);
    }
    Some(out)
}

/// The authentication fetches on `req`.
pub fn fetch<'a>(f: &'a Fetch, req: &'a Head) -> Values<'a> {
    let creds = credentials(req);
    let basic = match &creds {
        Some(Credentials::Basic(u, p)) => Some((u, p)),
        _ => None,
    };
    let owned = |v: &[u8]| Values::One(Value::Str(Cow::Owned(v.to_vec())));
    match f {
        Fetch::HttpAuthType => match creds {
            Some(Credentials::Basic(..)) => Values::One(Value::Str(Cow::Borrowed(b"Basic"))),
            Some(Credentials::Bearer) => Values::One(Value::Str(Cow::Borrowed(b"Bearer"))),
            None => Values::Zero,
        },
        Fetch::HttpAuthUser => basic.map_or(Values::Zero, |(u, _)| owned(u)),
        Fetch::HttpAuthPass => basic.map_or(Values::Zero, |(_, p)| owned(p)),
        Fetch::HttpAuth(r) => match (basic, r.get()) {
            (Some((u, p)), Some(l)) => Values::One(Value::Bool(l.check(u, p))),
            _ => Values::Zero,
        },
        // The user, when its credentials are good; matched against its groups.
        Fetch::HttpAuthGroup(r) => match (basic, r.get()) {
            (Some((u, p)), Some(l)) if l.check(u, p) => owned(u),
            _ => Values::Zero,
        },
        _ => Values::Zero,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(h: &str) -> Option<Credentials> {
        let raw = format!("GET / HTTP/1.1\r\nhost: a\r\n{h}\r\n\r\n");
        let (head, _) = Head::request(raw.as_bytes(), 101).unwrap().unwrap();
        credentials(&head)
    }

    #[test]
    fn as_haproxy_reads_them() {
        let basic = |u: &str, p: &str| Some(Credentials::Basic(u.into(), p.into()));
        // "alice:se:cret", then the scheme in any case and any prefix of it.
        assert_eq!(
            creds("Authorization: Basic YWxpY2U6c2U6Y3JldA=="),
            basic("alice", "se:cret")
        );
        assert_eq!(
            creds("authorization: bAs   YWxpY2U6c2U6Y3JldA=="),
            basic("alice", "se:cret")
        );
        assert_eq!(creds("Authorization: Bearer x"), Some(Credentials::Bearer));
        assert_eq!(creds("Authorization: Basicx YWxpY2U6c2U6Y3JldA=="), None);
        // No colon, bad length, a padding in the middle of a group, no data.
        assert_eq!(creds("Authorization: Basic YWxpY2U="), None);
        assert_eq!(creds("Authorization: Basic YWxpY2U6c2"), None);
        assert_eq!(creds("Authorization: Basic YW=pY2U6"), None);
        assert_eq!(creds("Authorization: Basic"), None);
        // A NUL ends the decoded text: "a:b\0c" and "a\0:b".
        assert_eq!(creds("Authorization: Basic YTpiAGM="), basic("a", "b"));
        // A group of one character and three pads decodes to nothing; four pads fail.
        assert_eq!(creds("Authorization: Basic YTpiQ==="), basic("a", "b"));
        assert_eq!(creds("Authorization: Basic YTpi===="), None);
        assert_eq!(creds("Authorization: Basic YQA6Yg=="), None);
        // Only the first value of the header.
        assert_eq!(
            creds("Authorization: Basic YTpi, Basic YzpkZA=="),
            basic("a", "b")
        );
    }
}
