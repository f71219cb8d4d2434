//! The answers of `mysql-check`, `ldap-check` and `spop-check`, read as haproxy's custom
//! expect functions read them (tcpcheck.c `tcpcheck_*_expect_*`), and the SSLv3 hello of
//! `ssl-hello-chk`: same waits, statuses, codes and texts.

use crate::ir::{CheckStatus, CustomExpect};

/// What a custom expect decides about the response so far.
#[derive(Debug, PartialEq)]
pub(super) enum Custom {
    /// Not enough bytes yet.
    Wait,
    /// Good, and the check goes on without a status of its own.
    Next,
    /// Good: haproxy sets this passing status text now; the check's end sets it again.
    Passed(String),
    /// The check fails with this status, code and text.
    Fail {
        /// The status.
        status: CheckStatus,
        /// The check's code (shown with L7STS).
        code: i32,
        /// The info text.
        desc: String,
    },
}

/// A C string read from `b` at `at`: up to the first NUL.
fn c_str(b: &[u8], at: usize) -> String {
    let b = b.get(at..).unwrap_or(&[]);
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn fail(status: CheckStatus, code: i32, desc: &str) -> Custom {
    Custom::Fail {
        status,
        code,
        desc: desc.to_string(),
    }
}

/// Evaluates `kind` on `buf`; `last_read` when no more data will come, `last_rule` when
/// no rule follows this one.
pub(super) fn eval(kind: CustomExpect, buf: &[u8], last_read: bool, last_rule: bool) -> Custom {
    match kind {
        CustomExpect::MysqlHandshake => mysql_packet(buf, 0, last_read, last_rule),
        CustomExpect::MysqlOk => {
            // The answer follows the handshake packet: 4 header bytes and its length.
            let hs = 4 + mysql_len(buf, 0).unwrap_or(0);
            mysql_packet(buf, hs, last_read, last_rule)
        }
        CustomExpect::LdapBind => ldap_bind(buf, last_read),
        CustomExpect::SpopHello { max_frame } => {
            super::spop::agent_hello(buf, last_read, max_frame)
        }
    }
}

/// The 3-byte little-endian length of the MySQL packet at `at`.
fn mysql_len(buf: &[u8], at: usize) -> Option<usize> {
    let b = buf.get(at..at + 3)?;
    Some(usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16)
}

/// tcpcheck_mysql_expect_packet: a whole packet at `at`, an error packet (0xff) fails with
/// its code and message, the last rule passes with the server's version.
fn mysql_packet(buf: &[u8], at: usize, last_read: bool, last_rule: bool) -> Custom {
    let short = || {
        if last_read {
            fail(CheckStatus::L7Rsp, 0, "")
        } else {
            Custom::Wait
        }
    };
    if buf.len() < at + 4 {
        return short();
    }
    let plen = mysql_len(buf, at).unwrap_or(0);
    if buf.len() < at + plen + 4 {
        return short();
    }
    if buf.get(at + 4) == Some(&0xff) {
        let code = i32::from(buf.get(at + 5).copied().unwrap_or(0))
            | i32::from(buf.get(at + 6).copied().unwrap_or(0)) << 8;
        return fail(CheckStatus::L7Sts, code, &c_str(buf, at + 7));
    }
    if !last_rule {
        return Custom::Next;
    }
    // The version string of the handshake, whichever packet this is.
    Custom::Passed(c_str(buf, 5))
}

/// tcpcheck_ldap_expect_bindrsp: an LDAPMessage with message id 1 holding a bindResponse
/// whose resultCode is 0.
fn ldap_bind(buf: &[u8], last_read: bool) -> Custom {
    const NOT_LDAP: &str = "Not LDAPv3 protocol";
    let short = || {
        if last_read {
            fail(CheckStatus::L7Rsp, 0, "")
        } else {
            Custom::Wait
        }
    };
    let at = |i: usize| buf.get(i).copied();
    let Some(size) = at(1) else { return short() };
    let mut nbytes = 0usize;
    let msglen = if size & 0x80 != 0 {
        nbytes = usize::from(size & 0x7f);
        if buf.len() < 1 + nbytes {
            return short();
        }
        let field = |n: usize| buf.get(2..2 + n);
        match (nbytes, field(nbytes)) {
            (4, Some(b)) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
            (2, Some(b)) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            (4 | 2, None) => return short(),
            _ => return fail(CheckStatus::L7Rsp, 0, NOT_LDAP),
        }
    } else {
        usize::from(size)
    };
    let mut p = 2 + nbytes;
    if buf.len() < (2 + nbytes).saturating_add(msglen) {
        return short();
    }
    // messageID INTEGER 1, then [APPLICATION 1] bindResponse.
    match buf.get(p..p + 4) {
        Some(b"\x02\x01\x01\x61") => {}
        Some(_) => return fail(CheckStatus::L7Rsp, 0, NOT_LDAP),
        None => return short(),
    }
    p += 4;
    let Some(size) = at(p) else { return short() };
    p += 1 + if size & 0x80 != 0 {
        usize::from(size & 0x7f)
    } else {
        0
    };
    // ldapResult: resultCode ENUMERATED.
    match buf.get(p..p + 2) {
        Some(b"\x0a\x01") => {}
        Some(_) => return fail(CheckStatus::L7Rsp, 0, NOT_LDAP),
        None => return short(),
    }
    match at(p + 2) {
        None => short(),
        Some(0) => Custom::Passed("Success".into()),
        Some(code) => fail(
            CheckStatus::L7Sts,
            i32::from(code),
            "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9",
        ),
    }
}

/// The SSLv3 CLIENT HELLO of `ssl-hello-chk` at Unix time `now`: 39 common RSA/DH suites,
/// no session, NULL compression, and haproxy's fixed 28-byte random.
pub(super) fn ssl_hello(now: u32) -> Vec<u8> {
    let mut p = vec![
        0x16, 0x03, 0x00, 0x00, 0x79, 0x01, 0x00, 0x00, 0x75, 0x03, 0x00,
    ];
    p.extend_from_slice(&now.to_be_bytes());
    p.extend_from_slice(b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n");
    p.extend_from_slice(&[0x00, 0x00, 0x4e]);
    for suite in (0x01u16..=0x1b).chain(0x2f..=0x3a) {
        p.extend_from_slice(&suite.to_be_bytes());
    }
    p.extend_from_slice(&[0x01, 0x00]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_hello_lengths_agree_with_its_header() {
        let p = ssl_hello(0x01020304);
        assert_eq!(p.len(), 5 + 0x79);
        assert_eq!(&p[11..15], &[1, 2, 3, 4]);
        assert_eq!(p.len() - 9, 0x75);
    }

    #[test]
    fn mysql_waits_then_reads_errors_and_versions() {
        let greet = b"\x0a\x00\x00\x00\x0a8.0.36\x00rest";
        assert_eq!(mysql_packet(&greet[..3], 0, false, true), Custom::Wait);
        assert_eq!(
            mysql_packet(&greet[..3], 0, true, true),
            fail(CheckStatus::L7Rsp, 0, "")
        );
        assert_eq!(
            mysql_packet(greet, 0, false, true),
            Custom::Passed("8.0.36".into())
        );
        assert_eq!(mysql_packet(greet, 0, false, false), Custom::Next);
        let err = b"\x0b\x00\x00\x00\xff\x15\x04#28000no";
        assert_eq!(
            mysql_packet(err, 0, false, true),
            fail(CheckStatus::L7Sts, 1045, "#28000no")
        );
    }

    #[test]
    fn ldap_result_codes() {
        let ok = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00";
        assert_eq!(ldap_bind(ok, false), Custom::Passed("Success".into()));
        let mut bad = *ok;
        bad[9] = 49;
        assert!(matches!(
            ldap_bind(&bad, false),
            Custom::Fail {
                status: CheckStatus::L7Sts,
                code: 49,
                ..
            }
        ));
        assert_eq!(ldap_bind(&ok[..8], false), Custom::Wait);
        let long = b"\x30\x84\x00\x00\x00\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00";
        assert_eq!(ldap_bind(long, false), Custom::Passed("Success".into()));
        assert_eq!(
            ldap_bind(b"\x30\x83\x00\x00\x0c", false),
            fail(CheckStatus::L7Rsp, 0, "Not LDAPv3 protocol")
        );
    }
}
