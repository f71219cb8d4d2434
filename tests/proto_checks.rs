//! The protocol check options (`pgsql-check`, `mysql-check`, `smtpchk`, `redis-check`,
//! `ldap-check`, `ssl-hello-chk`, `spop-check`) against the real haproxy: the same bytes
//! reach each kind of server (and the same FIN or RST ends them), and every server answer
//! gives the same health-check line.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

/// One scripted exchange: what the server says first (if anything), then for each thing
/// the check sends, the answer. The server records everything it read, then how the
/// check ended the connection.
fn scripted(addr: &str, banner: &'static [u8], answers: &'static [&'static [u8]]) -> Backend {
    Backend::with(
        addr,
        move |mut c: TcpStream, rec: Arc<Mutex<Vec<Vec<u8>>>>| {
            c.set_read_timeout(Some(Duration::from_millis(1500)))
                .unwrap();
            let _ = c.write_all(banner);
            let mut got = Vec::new();
            let mut answers = answers.iter();
            let mut buf = [0u8; 1024];
            let end = loop {
                match c.read(&mut buf) {
                    Ok(0) => break "FIN",
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        if let Some(a) = answers.next() {
                            let _ = c.write_all(a);
                        }
                        // An empty answer next: say nothing more and end the connection.
                        if answers.as_slice().first().is_some_and(|a| a.is_empty()) {
                            break "closed by server";
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => break "RST",
                    Err(_) => break "silence",
                }
            };
            // An SSLv3 hello carries the time: masked, so two runs compare.
            if got.starts_with(b"\x16\x03\x00") && got.len() > 15 {
                got[11..15].fill(b'T');
            }
            got.extend_from_slice(format!(" <{end}>").as_bytes());
            rec.lock().unwrap().push(got);
        },
    )
}

/// A scripted server: its name, its address (port 0: any), its banner and its answers.
type Script = (
    &'static str,
    &'static str,
    &'static [u8],
    &'static [&'static [u8]],
);

/// Runs the scripted `servers` under haproxy then haproxide with the configuration `cfg`
/// builds from their `server` lines (probe listener 127.0.<net>.1:<probe> added), and
/// checks that both give the same first health-check line for every server (each line
/// together containing `wants`) and that each server saw the same bytes and ending on its
/// first connection; gives haproxy's.
fn run_scripted(
    tag: &str,
    servers: &[Script],
    probe: &str,
    wants: &[&str],
    cfg: impl Fn(&dyn Fn(usize) -> String) -> String,
) -> (Vec<String>, Vec<Option<String>>) {
    let names: Vec<&str> = servers.iter().map(|s| s.0).collect();
    let mut out = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let backends: Vec<Backend> = servers
            .iter()
            .map(|(_, ip, banner, answers)| scripted(&format!("{ip}:0"), banner, answers))
            .collect();
        let line = |i: usize| {
            format!(
                "  server {} {} check inter 1s rise 1 fall 1\n",
                servers[i].0, backends[i].addr
            )
        };
        // Readiness is probed on a listener of its own, away from the checked servers.
        let text = cfg(&line) + &format!("listen probe\n  bind {probe}\n");
        let p = start(w, tag, &text, probe.parse::<SocketAddr>().unwrap());
        thread::sleep(Duration::from_millis(2500));
        let lines = p.all_lines();
        drop(p);
        thread::sleep(Duration::from_millis(200));
        let wire = backends
            .iter()
            .map(|b| {
                let a = b.accepted.lock().unwrap();
                a.first().map(|v| String::from_utf8_lossy(v).into_owned())
            })
            .collect();
        out.push((common::health_lines(&lines, &names), wire));
    }
    assert_eq!(
        out[1], out[0],
        "haproxide (left), haproxy (right): lines, then bytes seen"
    );
    assert_eq!(out[0].0.len(), servers.len(), "{:#?}", out[0]);
    let all = out[0].0.join("\n");
    for want in wants {
        assert!(all.contains(want), "{want} in {all}");
    }
    out.swap_remove(0)
}

const DEFAULTS: &str = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option log-health-checks\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 600ms\n";

#[test]
fn protocol_checks_match_haproxy() {
    let servers: &[Script] = &[
        // PostgreSQL: an authentication request, an error, an unknown answer, a short one.
        (
            "pg_ok",
            "127.0.85.2",
            b"",
            &[b"R\x00\x00\x00\x08\x00\x00\x00\x00"],
        ),
        (
            "pg_err",
            "127.0.85.3",
            b"",
            &[b"E\x00\x00\x00\x30SFATAL\x00VFATAL\x00C28000\x00Mno pg_hba.conf entry\x00\x00"],
        ),
        ("pg_bad", "127.0.85.4", b"", &[b"XYZWVUTSRQ"]),
        ("pg_short", "127.0.85.5", b"", &[b"R", b""]),
        // SMTP: a good dialogue, a busy banner, junk, a refused HELO.
        (
            "smtp_ok",
            "127.0.85.6",
            b"220 mx.test ESMTP\r\n",
            &[b"250-mx.test\r\n250 OK\r\n", b"221 2.0.0 Bye\r\n"],
        ),
        ("smtp_busy", "127.0.85.7", b"554 go away\r\n", &[]),
        ("smtp_junk", "127.0.85.8", b"hello there\r\n", &[]),
        (
            "smtp_helo",
            "127.0.85.9",
            b"220 mx.test\r\n",
            &[b"501 5.5.4 bad syntax\r\n"],
        ),
        // Redis: PONG, an error then close, silence.
        ("redis_ok", "127.0.85.10", b"", &[b"+PONG\r\n"]),
        (
            "redis_loading",
            "127.0.85.11",
            b"",
            &[b"-LOADING Redis is loading\r\n", b""],
        ),
        ("redis_silent", "127.0.85.12", b"", &[]),
        // Closes without a word: an empty response, in the rule's error status.
        ("redis_mute", "127.0.85.13", b"", &[b"", b""]),
    ];
    let wants = [
        "PostgreSQL server is ok",
        "info: \"FATAL\"",
        "code: 221, info: \"2.0.0 Bye\"",
        "code: 554, info: \"go away\"",
        "Redis server is ok",
    ];
    let out = run_scripted("protochk", servers, "127.0.85.1:24103", &wants, |line| {
        let mut cfg = String::from(DEFAULTS);
        cfg += "listen pg\n  bind 127.0.85.1:24100\n  option pgsql-check user monitor\n";
        (0..4).for_each(|i| cfg += &line(i));
        cfg += "listen smtp\n  bind 127.0.85.1:24101\n  option smtpchk EHLO checker.test\n";
        (4..8).for_each(|i| cfg += &line(i));
        cfg += "listen redis\n  bind 127.0.85.1:24102\n  option redis-check\n";
        (8..12).for_each(|i| cfg += &line(i));
        cfg
    });
    let smtp = out.1[4].clone().unwrap_or_default();
    assert!(
        smtp.contains("EHLO checker.test\r\nQUIT\r\n <FIN>"),
        "{smtp:?}"
    );
}

/// `mysql-check` (greeting alone, and a login in both protocol versions), `ldap-check`,
/// `ssl-hello-chk` and `spop-check`, each with good and bad answers. Servers rise after
/// two checks, so a passing server's first line shows the text haproxy's reader reports
/// before the ruleset's end reports the result again without it.
#[test]
fn mysql_ldap_ssl_spop_checks_match_haproxy() {
    const GREETING: &[u8] = b"\x15\x00\x00\x00\x0a8.0.36\x00\x01\x00\x00\x00abcdefgh\x00";
    let servers: &[Script] = &[
        ("my_ok", "127.0.85.20", GREETING, &[]),
        (
            "my_blocked",
            "127.0.85.21",
            b"\x16\x00\x00\x00\xff\x6a\x04Host 'x' is blocked",
            &[],
        ),
        ("my_short", "127.0.85.22", b"\x05\x00\x00", &[]),
        (
            "myu_ok",
            "127.0.85.23",
            GREETING,
            &[b"\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00"],
        ),
        (
            "myu_denied",
            "127.0.85.24",
            GREETING,
            &[b"\x16\x00\x00\x02\xff\x15\x04#28000Access denied"],
        ),
        (
            "myp_ok",
            "127.0.85.25",
            GREETING,
            &[b"\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00"],
        ),
        (
            "ldap_ok",
            "127.0.85.26",
            b"",
            &[b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00"],
        ),
        (
            "ldap_creds",
            "127.0.85.27",
            b"",
            &[b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00"],
        ),
        (
            "ldap_http",
            "127.0.85.28",
            b"",
            &[b"HTTP/1.0 400 Bad request\r\n\r\n"],
        ),
        (
            "ldap_long",
            "127.0.85.29",
            b"",
            &[b"\x30\x84\x00\x00\x00\x0c\x02\x01\x01\x61\x84\x00\x00\x00\x07\x0a\x01\x00\x04\x00\x04\x00"],
        ),
        (
            "ssl_alert",
            "127.0.85.30",
            b"",
            &[b"\x15\x03\x00\x00\x02\x02\x28"],
        ),
        ("ssl_http", "127.0.85.31", b"", &[b"HTTP/1.0 400 Bad\r\n\r\n"]),
        (
            "spop_ok",
            "127.0.85.32",
            b"",
            &[b"\x00\x00\x00\x35\x65\x00\x00\x00\x01\x00\x00\x07version\x08\x032.0\x0emax-frame-size\x03\xf0\x31\x0ccapabilities\x08\x00"],
        ),
        (
            "spop_disc",
            "127.0.85.33",
            b"",
            &[b"\x00\x00\x00\x22\x66\x00\x00\x00\x01\x00\x00\x0bstatus-code\x03\x03\x07message\x08\x03bye"],
        ),
        (
            "spop_old",
            "127.0.85.34",
            b"",
            &[b"\x00\x00\x00\x26\x65\x00\x00\x00\x01\x00\x00\x07version\x08\x031.0\x0emax-frame-size\x03\xf0\x31"],
        ),
    ];
    let wants = [
        "my_ok succeeded, reason: Layer7 check passed, code: 0, info: \"8.0.36\"",
        "code: 1130, info: \"Host 'x' is blocked\"",
        "code: 1045, info: \"#28000Access denied\"",
        "ldap_ok succeeded, reason: Layer7 check passed, code: 0, info: \"Success\"",
        "code: 49, info: \"See RFC",
        "info: \"Not LDAPv3 protocol\"",
        "ssl_alert succeeded, reason: Layer6 check passed",
        "Layer6 invalid response",
        "info: \"SPOA server is ok\"",
        "info: \"frame is too big\"",
        "info: \"unsupported version\"",
    ];
    let out = run_scripted("mysqlchk", servers, "127.0.85.19:24143", &wants, |line| {
        let line = |i| line(i).replace("rise 1 fall 1", "rise 2 fall 2");
        let mut cfg = String::from(DEFAULTS);
        cfg += "listen my\n  bind 127.0.85.19:24140\n  option mysql-check\n";
        (0..3).for_each(|i| cfg += &line(i));
        cfg += "backend myu\n  option mysql-check user monitor\n";
        (3..5).for_each(|i| cfg += &line(i));
        cfg += "backend myp\n  option mysql-check user old pre-41\n";
        cfg += &line(5);
        cfg += "backend ldap\n  option ldap-check\n";
        (6..10).for_each(|i| cfg += &line(i));
        cfg += "backend ssl\n  option ssl-hello-chk\n";
        (10..12).for_each(|i| cfg += &line(i));
        cfg += "backend spop\n  option spop-check\n";
        (12..15).for_each(|i| cfg += &line(i));
        cfg
    });
    let login = out.1[3].clone().unwrap_or_default();
    assert!(
        login.ends_with("monitor\0\0\x01\0\0\0\x01 <FIN>"),
        "{login:?}"
    );
    let hello = out.1[10].clone().unwrap_or_default();
    assert!(
        hello.contains("HAPROXYSSLCHK\nHAPROXYSSLCHK\n"),
        "{hello:?}"
    );
}

/// A protocol check's reader reports its result before the ruleset's end reports it
/// again: one passing LDAP check after a failure counts twice, so a server with `rise 2`
/// comes back UP at once, with haproxy's two log lines.
#[test]
fn ldap_check_counts_a_pass_twice_as_haproxy() {
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        // The first bind is refused, every later one accepted.
        let ldap = Backend::with("127.0.85.40:0", |mut c: TcpStream, rec| {
            let mut buf = [0u8; 64];
            let _ = c.read(&mut buf);
            let code = if rec.lock().unwrap().is_empty() {
                49
            } else {
                0
            };
            let _ = c.write_all(&[
                0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00,
            ]);
            rec.lock().unwrap().push(buf.to_vec());
            let _ = c.read(&mut buf);
        });
        let cfg = format!(
            "{DEFAULTS}listen l\n  bind 127.0.85.39:24150\n  option ldap-check\n  server s {} check inter 400 rise 2 fall 2\nfrontend probe\n  bind 127.0.85.39:24151\n",
            ldap.addr
        );
        // Probed elsewhere: a probe session on `l` would count in the DOWN line's
        // "sessions active" while it lasts.
        let p = start(w, "ldaptwice", &cfg, "127.0.85.39:24151".parse().unwrap());
        thread::sleep(Duration::from_millis(1600));
        let lines = p.all_lines();
        drop(p);
        let lines: Vec<String> = lines
            .iter()
            .filter(|l| l.contains("b/s") || l.contains("l/s"))
            .map(|l| {
                common::health_lines(std::slice::from_ref(l), &["s"])
                    .pop()
                    .unwrap_or(l.clone())
            })
            .collect();
        outputs.push(lines);
    }
    assert_eq!(outputs[1], outputs[0], "haproxide (left), haproxy (right)");
    let all = outputs[0].join("\n");
    assert!(
        all.contains("info: \"Success\", check duration: Nms, status: 1/2 DOWN"),
        "{all}"
    );
    assert!(all.contains("status: 2/2 UP"), "{all}");
}

/// `tcp-check expect` options (min-recv, statuses, fixed texts, status-code, comment),
/// `connect linger`, a new response after each send, and an inverted expect before
/// another, as haproxy runs them.
#[test]
fn tcp_check_expect_options_match_haproxy() {
    let servers: &[Script] = &[
        ("good", "127.0.86.2", b"", &[b"200 hi\r\n", b"OK\r\n"]),
        ("refused", "127.0.86.3", b"", &[b"abc\r\n"]),
        ("stalls", "127.0.86.4", b"", &[b"200 hi\r\n"]),
        // "OK" comes with the first answer: the second expect must not see it.
        ("early", "127.0.86.5", b"", &[b"200 hi\r\nOK\r\n"]),
        ("err", "127.0.86.6", b"", &[b"-ERR x\r\n"]),
        ("pong", "127.0.86.7", b"", &[b"+PONG\r\n"]),
        ("pang", "127.0.86.8", b"", &[b"+PANG\r\n", b""]),
        ("quiet", "127.0.86.9", b"", &[b"xyz\r\n"]),
        // Passes the inverted rule, then waits in the next: the timeout names the first.
        ("partial", "127.0.86.10", b"", &[b"+PO"]),
    ];
    let wants = [
        "Layer6 check passed, info: \"all good\"",
        "Layer7 wrong status, code: 0, info: \"banner refused comment: greeting\"",
        "TCPCHK matched unwanted content 'ERR' at step 2",
        "TCPCHK did not match content (regex) at step 3",
        // "OK" came with the first answer: the response after STAT never has it.
        "early failed, reason: Layer7 timeout, info: \" at step 5 of tcp-check (expect string 'OK')\"",
    ];
    run_scripted("tcpexpect", servers, "127.0.86.1:24113", &wants, |line| {
        let mut cfg = String::from(DEFAULTS);
        cfg += "listen t1\n  bind 127.0.86.1:24110\n  option tcp-check\n  tcp-check connect linger\n  tcp-check send \"HELLO\\r\\n\"\n  tcp-check expect rstring \"^[0-9]{3} \" min-recv 4 error-status L7STS on-error \"banner refused\" status-code res.payload(0,3) comment greeting\n  tcp-check send \"STAT\\r\\n\"\n  tcp-check expect string OK on-success \"all good\" ok-status L6OK\n";
        (0..4).for_each(|i| cfg += &line(i));
        cfg += "listen t2\n  bind 127.0.86.1:24111\n  option tcp-check\n  tcp-check send \"PING\\r\\n\"\n  tcp-check expect !string ERR\n  tcp-check expect rstring ^\\+PONG\n";
        (4..8).for_each(|i| cfg += &line(i));
        cfg += "listen t3\n  bind 127.0.86.1:24112\n  option tcp-check\n  tcp-check send \"PING\\r\\n\"\n  tcp-check expect ! string ERR min-recv 3\n  tcp-check expect string +PONG\n";
        cfg += &line(8);
        cfg
    });
}

/// `check-ssl` on a server whose traffic is plain: the checks alone go over TLS (to the
/// check port here), as haproxy's do; traffic still reaches the plain port in clear.
#[test]
fn check_ssl_without_ssl_matches_haproxy() {
    let pem = common::self_signed_pem("checkssl", &["-newkey", "rsa:2048"]);
    let mut s_server = common::s_server("127.0.86.20:24121", &pem, &[], &[]);
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let traffic = Backend::echo("127.0.86.21:0");
        // A plain listener where the TLS check lands: its handshake fails.
        let plain = Backend::with("127.0.86.22:0", |c, _| {
            thread::sleep(Duration::from_millis(50));
            drop(c)
        });
        let cfg = format!(
            "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option log-health-checks\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 500ms\n\
listen l\n  bind 127.0.86.1:24120\n  balance first\n  default-server check-ssl verify none inter 1s rise 1 fall 1\n  server tls {} check port 24121 addr 127.0.86.20\n  server bad {} check port {}\n",
            traffic.addr,
            plain.addr,
            plain.addr.port()
        );
        let p = start(w, "checkssl", &cfg, "127.0.86.1:24120".parse().unwrap());
        thread::sleep(Duration::from_millis(1500));
        let echoed = common::roundtrip("127.0.86.1:24120".parse().unwrap(), b"plain bytes");
        let lines = p.all_lines();
        drop(p);
        outputs.push((common::health_lines(&lines, &["tls", "bad"]), echoed));
    }
    let _ = s_server.kill();
    let _ = s_server.wait();
    assert_eq!(outputs[1], outputs[0], "haproxide (left), haproxy (right)");
    assert_eq!(outputs[0].1, b"plain bytes");
    assert!(
        outputs[0].0[0].contains("Layer6 check passed"),
        "{:?}",
        outputs[0]
    );
}

/// Checks of an `ssl` server send no SNI of the traffic's (haproxy's send only
/// `check-sni`): a TLS server that refuses an unknown name still passes them.
#[test]
fn checks_send_no_traffic_sni_as_haproxy() {
    let pem = common::self_signed_pem("checksni", &["-newkey", "rsa:2048"]);
    // Its second certificate is for the one name it knows; any other name is refused.
    let cert2 = ["-servername", "good.example", "-servername_fatal", "-cert2"];
    let mut s_server = common::s_server("127.0.86.30:24131", &pem, &[], &cert2);
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let cfg = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option log-health-checks\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 500ms\n\
listen l\n  bind 127.0.86.1:24130\n  server named 127.0.86.30:24131 ssl verify none sni str(other.example) check inter 1s rise 1 fall 1\n";
        let p = start(w, "checksni", cfg, "127.0.86.1:24130".parse().unwrap());
        std::thread::sleep(Duration::from_millis(1200));
        let lines = p.all_lines();
        drop(p);
        outputs.push(common::health_lines(&lines, &["named"]));
    }
    let _ = s_server.kill();
    let _ = s_server.wait();
    assert_eq!(outputs[1], outputs[0], "haproxide (left), haproxy (right)");
    assert!(
        outputs[0][0].contains("Layer6 check passed"),
        "{:?}",
        outputs[0]
    );
}

/// `ssl-hello-chk` against the real openssl: its SSLv3 hello gets a TLS alert, which is
/// enough to say the server speaks SSL, as haproxy says; a plain server fails it.
#[test]
fn ssl_hello_chk_against_openssl_matches_haproxy() {
    let pem = common::self_signed_pem("sslhello", &["-newkey", "rsa:2048"]);
    let mut s_server = common::s_server("127.0.85.45:24161", &pem, &[], &[]);
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let plain = Backend::with("127.0.85.46:0", |mut c: TcpStream, _| {
            let mut buf = [0u8; 256];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        });
        let cfg = format!(
            "{DEFAULTS}listen l\n  bind 127.0.85.44:24160\n  option ssl-hello-chk\n  default-server inter 1s rise 1 fall 1\n  server tls 127.0.85.45:24161 check\n  server plain {} check\n",
            plain.addr
        );
        let p = start(w, "sslhello", &cfg, "127.0.85.44:24160".parse().unwrap());
        thread::sleep(Duration::from_millis(1500));
        let lines = p.all_lines();
        drop(p);
        outputs.push(common::health_lines(&lines, &["tls", "plain"]));
    }
    let _ = s_server.kill();
    let _ = s_server.wait();
    assert_eq!(outputs[1], outputs[0], "haproxide (left), haproxy (right)");
    assert!(
        outputs[0][0].contains("Layer6 check passed"),
        "{:?}",
        outputs[0]
    );
}

/// A server that resets the connection before answering: haproxy's "Socket error" with the
/// system's words, and for a plain tcp-check the step it waited at; the same for an agent.
#[test]
fn reset_before_any_answer_is_a_socket_error_as_in_haproxy() {
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let rst = || {
            Backend::with("127.0.85.50:0", |c: TcpStream, _| {
                thread::sleep(Duration::from_millis(50));
                let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
            })
        };
        let (plain, redis, agent) = (rst(), rst(), rst());
        let cfg = format!(
            "{DEFAULTS}listen t\n  bind 127.0.85.49:24190\n  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check expect string OK\n  server plain {} check inter 1s rise 1 fall 1\n\
backend r\n  option redis-check\n  server redis {} check inter 1s rise 1 fall 1\n\
backend a\n  server agent {} agent-check agent-port {} agent-inter 1s\n",
            plain.addr,
            redis.addr,
            agent.addr,
            agent.addr.port()
        );
        let p = start(w, "checkrst", &cfg, "127.0.85.49:24190".parse().unwrap());
        thread::sleep(Duration::from_millis(1500));
        let lines = p.all_lines();
        drop(p);
        let mut got = common::health_lines(&lines, &["plain", "redis"]);
        got.extend(
            lines
                .iter()
                .filter(|l| l.starts_with("Agent check"))
                .take(1)
                .map(|l| common::mask_duration(l)),
        );
        outputs.push(got);
    }
    assert_eq!(outputs[1], outputs[0], "haproxide (left), haproxy (right)");
    let all = outputs[0].join("\n");
    for want in [
        "reason: Socket error, info: \"Connection reset by peer at step 2 of tcp-check (expect string 'OK')\"",
        "redis failed, reason: Socket error, info: \"Connection reset by peer\"",
        "agent failed, reason: Socket error, info: \"Connection reset by peer\"",
    ] {
        assert!(all.contains(want), "{want} in {all}");
    }
}
