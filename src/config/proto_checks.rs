//! The tcp-check rulesets haproxy 2.6 builds for its protocol check options (its
//! tcpcheck.c `proxy_parse_*_opt`), written as haproxide's rules: the same steps,
//! patterns, statuses and texts, so checks send the same bytes and report the same lines.

use crate::ir::{
    CheckStatus, CheckText, CustomExpect, ExpectPattern, TcpCheckRule, TcpChecks, TcpExpect,
};

/// The check options that bring a built-in ruleset.
pub const OPTIONS: &[&str] = &[
    "pgsql-check",
    "mysql-check",
    "smtpchk",
    "redis-check",
    "ldap-check",
    "ssl-hello-chk",
    "spop-check",
];

/// `connect default linger`: the server's check settings, closed with a FIN.
fn connect_linger() -> TcpCheckRule {
    TcpCheckRule::Connect {
        port: None,
        send_proxy: false,
        ssl: false,
        linger: true,
    }
}

/// `%[res.payload(<offset>,0)…]`, with `ltrim(' '),cut_crlf` when `trimmed`.
fn payload(offset: usize, trimmed: bool, cut_crlf: bool) -> Option<CheckText> {
    Some(CheckText::Payload {
        offset,
        ltrim_space: trimmed,
        cut_crlf,
    })
}

/// One of the rulesets' own patterns (known to compile).
fn regex(re: &str) -> crate::ir::acl::Regex {
    crate::ir::acl::Regex::bytes(re).expect("haproxy's built-in patterns compile")
}

/// An `rstring` expect failing with `error` after `min_recv` bytes.
fn rstring(re: &str, min_recv: Option<usize>, error: CheckStatus) -> TcpExpect {
    let mut e = TcpExpect::new(false, ExpectPattern::RString(regex(re)));
    e.min_recv = min_recv;
    e.error_status = error;
    e
}

/// An SMTP reply check: its code is the check's code, its text the info either way.
fn smtp_reply(re: &str, min_recv: Option<usize>, success_text: bool) -> TcpCheckRule {
    let mut e = rstring(re, min_recv, CheckStatus::L7Sts);
    e.on_error = payload(4, true, true);
    if success_text {
        e.on_success = payload(4, true, true);
    }
    e.status_code = Some((0, 3));
    TcpCheckRule::Expect(Box::new(e))
}

/// A custom expect: haproxy's reader of the protocol's answer.
fn custom(kind: CustomExpect, min_recv: Option<usize>) -> TcpCheckRule {
    let mut e = TcpExpect::new(false, ExpectPattern::Custom(kind));
    e.min_recv = min_recv;
    TcpCheckRule::Expect(Box::new(e))
}

/// The MySQL client authentication packet haproxy sends for `user` (4.1 protocol unless
/// `pre41`), followed by a COM_QUIT packet.
fn mysql_login(user: &[u8], pre41: bool) -> Vec<u8> {
    let len = user.len() + if pre41 { 7 } else { 7 + 27 };
    let mut p = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, 1];
    if pre41 {
        // Capabilities, then the largest packet.
        p.extend_from_slice(&[0x00, 0x80, 0x00, 0x00, 0x01]);
    } else {
        p.extend_from_slice(&[0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21]);
        p.extend_from_slice(&[0; 23]);
    }
    p.extend_from_slice(user);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&[0x01, 0x00, 0x00, 0x00, 0x01]);
    p
}

/// haproxy's variable-length integer (encode_varint).
fn spoe_varint(out: &mut Vec<u8>, mut i: u64) {
    if i < 240 {
        out.push(i as u8);
        return;
    }
    out.push(i as u8 | 240);
    i = (i - 240) >> 4;
    while i >= 128 {
        out.push(i as u8 | 128);
        i = (i - 128) >> 7;
    }
    out.push(i as u8);
}

/// A length-prefixed SPOE string.
fn spoe_str(out: &mut Vec<u8>, s: &str) {
    spoe_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The HAPROXY-HELLO frame of `spop-check`: version 2.0, the largest frame this
/// `tune.bufsize` allows, no capabilities, and `healthcheck` true.
fn spoe_hello(max_frame: u32) -> Vec<u8> {
    const T_UINT32: u8 = 3;
    const T_STR: u8 = 8;
    const BOOL_TRUE: u8 = 0x11;
    // Type HAPROXY-HELLO, FIN flag, no stream or frame id.
    let mut f = vec![1, 0, 0, 0, 1, 0, 0];
    spoe_str(&mut f, "supported-versions");
    f.push(T_STR);
    spoe_str(&mut f, "2.0");
    spoe_str(&mut f, "max-frame-size");
    f.push(T_UINT32);
    spoe_varint(&mut f, u64::from(max_frame));
    spoe_str(&mut f, "capabilities");
    f.push(T_STR);
    spoe_str(&mut f, "");
    spoe_str(&mut f, "healthcheck");
    f.push(BOOL_TRUE);
    let mut out = (f.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&f);
    out
}

/// The ruleset of protocol check option `name` with the words after it (`args`), which
/// the parser has already checked; `bufsize` is `tune.bufsize`.
pub fn ruleset(name: &str, args: &[String], bufsize: i64) -> TcpChecks {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let rules = match name {
        "pgsql-check" => {
            let user = arg(1).as_bytes();
            // StartupMessage: length, protocol 3.0, "user" <name>, end of parameters.
            let mut packet = ((15 + user.len()) as u32).to_be_bytes().to_vec();
            packet.extend_from_slice(&[0, 3, 0, 0]);
            packet.extend_from_slice(b"user\0");
            packet.extend_from_slice(user);
            packet.extend_from_slice(&[0, 0]);
            // An ErrorResponse ('E') fails with its text; otherwise an
            // AuthenticationRequest ('R') of a known kind passes.
            let mut refused = rstring("^E", Some(5), CheckStatus::L7Rsp);
            refused.negate = true;
            refused.on_error = payload(6, false, false);
            let mut auth = TcpExpect::new(
                false,
                ExpectPattern::RBinary(regex(
                    "^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)",
                )),
            );
            auth.min_recv = Some(9);
            auth.error_status = CheckStatus::L7Sts;
            auth.on_success = Some(CheckText::Literal("PostgreSQL server is ok".into()));
            auth.on_error = Some(CheckText::Literal("PostgreSQL unknown error".into()));
            vec![
                connect_linger(),
                TcpCheckRule::Send(packet),
                TcpCheckRule::Expect(Box::new(refused)),
                TcpCheckRule::Expect(Box::new(auth)),
            ]
        }
        "smtpchk" => {
            let hello = match (arg(0), arg(1)) {
                (h @ ("EHLO" | "HELO"), d) if !d.is_empty() => format!("{h} {d}"),
                _ => "HELO localhost".to_string(),
            };
            let mut banner = rstring("^[0-9]{3}[ \r]", Some(4), CheckStatus::L7Rsp);
            banner.on_error = payload(0, false, true);
            vec![
                connect_linger(),
                TcpCheckRule::Expect(Box::new(banner)),
                smtp_reply("^2[0-9]{2}[ \r]", Some(4), false),
                TcpCheckRule::Send(format!("{hello}\r\n").into_bytes()),
                smtp_reply("^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]", None, true),
                // A clean goodbye (haproxy issue 1812).
                TcpCheckRule::Send(b"QUIT\r\n".to_vec()),
                smtp_reply("^2[0-9]{2}[- \r]", Some(4), true),
            ]
        }
        "mysql-check" => {
            // Without a user, only the greeting is read; with one, a login and COM_QUIT
            // are sent at once and the answer after the greeting read too.
            let mut rules = vec![connect_linger()];
            if arg(0) == "user" {
                rules.push(TcpCheckRule::Send(mysql_login(
                    arg(1).as_bytes(),
                    arg(2) == "pre-41",
                )));
            }
            rules.push(custom(CustomExpect::MysqlHandshake, None));
            if arg(0) == "user" {
                rules.push(custom(CustomExpect::MysqlOk, None));
            }
            rules
        }
        "ldap-check" => {
            let mut ber = TcpExpect::new(false, ExpectPattern::RBinary(regex("^30")));
            ber.min_recv = Some(14);
            ber.on_error = Some(CheckText::Literal("Not LDAPv3 protocol".into()));
            vec![
                // An anonymous LDAPv3 bind request, message id 1.
                TcpCheckRule::Send(vec![
                    0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80,
                    0x00,
                ]),
                TcpCheckRule::Expect(Box::new(ber)),
                custom(CustomExpect::LdapBind, None),
            ]
        }
        "ssl-hello-chk" => {
            // A TLS handshake (0x16) or alert (0x15) record: the server speaks SSL.
            let mut e = TcpExpect::new(false, ExpectPattern::RBinary(regex("^1[56]")));
            e.min_recv = Some(5);
            e.ok_status = CheckStatus::L6Ok;
            e.error_status = CheckStatus::L6Rsp;
            e.tout_status = CheckStatus::L6Tout;
            vec![
                TcpCheckRule::SendSslHello,
                TcpCheckRule::Expect(Box::new(e)),
            ]
        }
        "spop-check" => {
            let max_frame = u32::try_from(bufsize - 4).unwrap_or(16380);
            vec![
                TcpCheckRule::Send(spoe_hello(max_frame)),
                custom(CustomExpect::SpopHello { max_frame }, Some(4)),
            ]
        }
        _ => {
            let mut pong = TcpExpect::new(false, ExpectPattern::String(b"+PONG\r\n".to_vec()));
            pong.error_status = CheckStatus::L7Sts;
            pong.on_error = payload(0, false, true);
            pong.on_success = Some(CheckText::Literal("Redis server is ok".into()));
            vec![
                TcpCheckRule::Send(b"*1\r\n$4\r\nPING\r\n".to_vec()),
                TcpCheckRule::Expect(Box::new(pong)),
            ]
        }
    };
    TcpChecks { rules, proto: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PostgreSQL startup packet is the one haproxy's send-binary-lf builds.
    #[test]
    fn pgsql_startup_packet() {
        let rs = ruleset("pgsql-check", &["user".into(), "pg".into()], 16384);
        let TcpCheckRule::Send(p) = &rs.rules[1] else {
            panic!("{:?}", rs.rules)
        };
        assert_eq!(
            p.as_slice(),
            b"\x00\x00\x00\x11\x00\x03\x00\x00user\x00pg\x00\x00"
        );
    }

    /// haproxy's own example packets, from its source comments.
    #[test]
    fn mysql_login_packets() {
        assert_eq!(
            mysql_login(b"haproxy", true),
            b"\x0e\x00\x00\x01\x00\x80\x00\x00\x01haproxy\x00\x00\x01\x00\x00\x00\x01"
        );
        let p = mysql_login(b"haproxy", false);
        assert_eq!(&p[..4], b"\x29\x00\x00\x01");
        assert_eq!(p.len(), 4 + 0x29 + 5);
    }

    #[test]
    fn spoe_hello_frame_length() {
        let f = spoe_hello(16380);
        assert_eq!(
            u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize,
            f.len() - 4
        );
        assert_eq!(f[4], 1);
        assert_eq!(*f.last().unwrap(), 0x11);
    }

    #[test]
    fn smtp_hello_defaults_to_helo_localhost() {
        for (args, want) in [
            (vec![], "HELO localhost\r\n"),
            (
                vec!["EHLO".to_string(), "mx.example".into()],
                "EHLO mx.example\r\n",
            ),
            (vec!["HI".to_string(), "x".into()], "HELO localhost\r\n"),
        ] {
            let rs = ruleset("smtpchk", &args, 16384);
            assert_eq!(rs.rules[3], TcpCheckRule::Send(want.as_bytes().to_vec()));
        }
    }
}
