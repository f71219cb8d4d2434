//! The tcp-check rulesets haproxy 2.6 builds for `option pgsql-check`, `option smtpchk` and
//! `option redis-check` (its tcpcheck.c), written as haproxide's rules: the same steps,
//! patterns, statuses and texts, so checks send the same bytes and report the same lines.

use crate::ir::{CheckStatus, CheckText, ExpectPattern, TcpCheckRule, TcpChecks, TcpExpect};

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

/// The ruleset of protocol check option `name` with the words after it (`args`), which
/// the parser has already checked.
pub fn ruleset(name: &str, args: &[String]) -> TcpChecks {
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
        let rs = ruleset("pgsql-check", &["user".into(), "pg".into()]);
        let TcpCheckRule::Send(p) = &rs.rules[1] else {
            panic!("{:?}", rs.rules)
        };
        assert_eq!(
            p.as_slice(),
            b"\x00\x00\x00\x11\x00\x03\x00\x00user\x00pg\x00\x00"
        );
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
            let rs = ruleset("smtpchk", &args);
            assert_eq!(rs.rules[3], TcpCheckRule::Send(want.as_bytes().to_vec()));
        }
    }
}
