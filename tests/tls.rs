//! TLS termination compared with the real haproxy: the same handshake results with
//! openssl s_client (versions, ciphers with Debian's defaults, refused TLS 1.0), SNI
//! selection from a directory, client certificates, the PROXY v2 TLVs sent on, and the
//! guide's TLS frontend carrying MQTT. Certificates are made by openssl at test time.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::certs::{dir, make_cert, s_client};
use common::{start, Which};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const DEBIAN_GLOBAL: &str = "global\n  ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384\n  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\n  ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n";

#[test]
fn handshakes_match_haproxy() {
    let d = dir("hs");
    make_cert(&d, "emqx", "emqx.test");
    let _echo = common::Backend::echo("127.0.120.2:24001");
    let pem = d.join("emqx.pem");
    let cfg = format!(
        "{DEBIAN_GLOBAL}defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen debian\n  bind 127.0.120.1:24000 ssl crt {p}\n  server s 127.0.120.2:24001\n\
listen plain\n  bind 127.0.120.1:24002 ssl crt {p} ciphers DEFAULT ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256\n  server s 127.0.120.2:24001\n\
listen cap12\n  bind 127.0.120.1:24004 ssl crt {p} no-tlsv13\n  server s 127.0.120.2:24001\n",
        p = pem.display()
    );
    let cases: [(&str, &[&str]); 6] = [
        ("127.0.120.1:24000", &["-tls1_3"]),
        ("127.0.120.1:24000", &["-tls1_2"]),
        ("127.0.120.1:24000", &["-tls1_2", "-cipher", "AES128-SHA"]),
        ("127.0.120.1:24002", &["-tls1_3"]),
        ("127.0.120.1:24004", &[]),
        (
            "127.0.120.1:24000",
            &["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
        ),
    ];
    let mut runs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let p = start(w, "hs", &cfg, addr("127.0.120.1:24002"));
        runs.push(
            cases
                .iter()
                .map(|(to, args)| s_client(to, args))
                .collect::<Vec<_>>(),
        );
        drop(p);
    }
    assert_eq!(runs[1], runs[0]);
    assert!(
        runs[0][0].contains("TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256"),
        "{:?}",
        runs[0]
    );
    assert_eq!(runs[0][5], "FAILED", "TLS 1.0 is refused");
}

#[test]
fn sni_selects_from_a_directory_like_haproxy() {
    let d = dir("sni");
    let certs = d.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    make_cert(&d, "a", "a.test");
    make_cert(&d, "b", "b.test");
    std::fs::copy(d.join("a.pem"), certs.join("a.pem")).unwrap();
    // b's key beside its certificate, as `<crt>.key`.
    std::fs::copy(d.join("b.crt"), certs.join("b.pem")).unwrap();
    std::fs::copy(d.join("b.key"), certs.join("b.pem.key")).unwrap();
    let _echo = common::Backend::echo("127.0.121.2:24001");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.121.1:24000 ssl crt {}\n  server s 127.0.121.2:24001\n",
        certs.display()
    );
    let mut runs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let p = start(w, "sni", &cfg, addr("127.0.121.1:24000"));
        runs.push(vec![
            s_client("127.0.121.1:24000", &["-servername", "b.test"]),
            s_client("127.0.121.1:24000", &["-servername", "nobody.test"]),
            s_client("127.0.121.1:24000", &["-noservername"]),
        ]);
        drop(p);
    }
    assert_eq!(runs[1], runs[0]);
    assert!(
        runs[0][0].contains("CN = b.test") && runs[0][1].contains("CN = a.test"),
        "{:?}",
        runs[0]
    );
}

#[test]
fn reload_picks_up_a_replaced_certificate() {
    let d = dir("certreload");
    make_cert(&d, "one", "one.test");
    make_cert(&d, "two", "two.test");
    let live = d.join("live.pem");
    std::fs::copy(d.join("one.pem"), &live).unwrap();
    let _echo = common::Backend::echo("127.0.123.2:24001");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.123.1:24000 ssl crt {}\n  server s 127.0.123.2:24001\n",
        live.display()
    );
    let p = start(
        Which::Haproxide,
        "certreload",
        &cfg,
        addr("127.0.123.1:24000"),
    );
    // A session opened before the reload keeps its handshake.
    let mut before = std::net::TcpStream::connect("127.0.123.1:24000").unwrap();
    assert!(s_client("127.0.123.1:24000", &[]).contains("CN = one.test"));
    std::fs::copy(d.join("two.pem"), &live).unwrap();
    p.signal(1);
    thread::sleep(Duration::from_millis(500));
    assert!(
        s_client("127.0.123.1:24000", &[]).contains("CN = two.test"),
        "{:?}",
        p.errs.lock().unwrap()
    );
    assert!(before.write_all(b"still here").is_ok());
    drop(p);
}

#[test]
fn idle_tls_session_closes_at_timeout_client_and_echoes_before() {
    let d = dir("tlsidle");
    make_cert(&d, "srv", "emqx.test");
    let _echo = common::Backend::echo("127.0.124.2:24001");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 800ms\n  timeout server 5s\nlisten li\n  bind 127.0.124.1:24000 ssl crt {}\n  server s 127.0.124.2:24001\n",
        d.join("srv.pem").display()
    );
    let _p = start(Which::Haproxide, "tlsidle", &cfg, addr("127.0.124.1:24000"));
    let mut c = Command::new("openssl")
        .args(["s_client", "-connect", "127.0.124.1:24000", "-quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    stdin.write_all(b"echo-me\n").unwrap();
    let t0 = std::time::Instant::now();
    // stdin stays open and silent: the proxy ends the session at timeout client.
    let out = c.wait_with_output().unwrap();
    drop(stdin);
    let waited = t0.elapsed();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("echo-me"),
        "data flowed both ways over TLS"
    );
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[test]
fn check_mode_says_what_rustls_cannot_offer() {
    let d = dir("ciphercheck");
    make_cert(&d, "srv", "emqx.test");
    let check = |bind_opts: &str| {
        let cfg = d.join("c.cfg");
        std::fs::write(
            &cfg,
            format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.125.1:24000 ssl crt {} {bind_opts}\n  server s 127.0.125.2:24001\n", d.join("srv.pem").display()),
        )
        .unwrap();
        let o = Command::new(Which::Haproxide.path())
            .arg("-c")
            .arg("-f")
            .arg(&cfg)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) =
        check("ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:AES128-SHA");
    assert_eq!(code, Some(0));
    assert!(err.contains("c.cfg:7] : 'bind 127.0.125.1:24000' : ciphers not offered by haproxide (rustls has no equivalent): DHE-RSA-AES128-GCM-SHA256, AES128-SHA."), "{err}");
    let (code, err) =
        check("ciphers DHE-RSA-AES128-GCM-SHA256 ciphersuites TLS_AES_128_CCM_SHA256");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "ciphersuites 'TLS_AES_128_CCM_SHA256' (for TLSv1.3) is not supported by haproxide"
        ) && err.contains(
            "ciphers 'DHE-RSA-AES128-GCM-SHA256' (for TLSv1.2) is not supported by haproxide"
        ),
        "{err}"
    );
    // TLS 1.3 alone would still work, but TLS 1.2 clients with AES128-SHA (which haproxy
    // serves) could not connect: refused by -c, as the start refuses it.
    let (code, err) = check("ciphers AES128-SHA");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("rustls implements none of AES128-SHA"),
        "{err}"
    );
    let (code, _) = check("ciphers AES128-SHA ssl-min-ver TLSv1.3");
    assert_eq!(code, Some(0));
    let (code, err) = check("ssl-min-ver TLSv1.0");
    assert_eq!(code, Some(0));
    assert!(
        err.contains("TLSv1.0 and TLSv1.1 are never offered by haproxide"),
        "{err}"
    );
}

/// Whether `openssl s_client` resumed: a first connection saves the session (its TLS 1.3
/// ticket or TLS 1.2 session), a second offers it; and whether the first got a ticket.
fn resumed(to: &str, version: &str, sess: &Path) -> (bool, bool, bool) {
    let run = |extra: &[&str]| -> String {
        let mut args = vec!["s_client", "-connect", to, version];
        args.extend_from_slice(extra);
        let mut c = Command::new("openssl")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl");
        // One line through the echo server: TLS 1.3 tickets arrive before the echo.
        let mut stdin = c.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, b"x\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(stdin);
        String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout).into_owned()
    };
    let s = sess.display().to_string();
    let first = run(&["-sess_out", &s]);
    let second = run(&["-sess_in", &s]);
    (
        first.contains("\nReused,"),
        second.contains("\nReused,"),
        first.contains("TLS session ticket:"),
    )
}

#[test]
fn sessions_resume_like_haproxy_unless_no_tls_tickets() {
    let d = dir("resume");
    make_cert(&d, "emqx", "emqx.test");
    let _echo = common::Backend::echo("127.0.126.2:24001");
    let pem = d.join("emqx.pem");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen tickets\n  bind 127.0.126.1:24000 ssl crt {p}\n  server s 127.0.126.2:24001\n\
listen cache\n  bind 127.0.126.1:24002 ssl crt {p} no-tls-tickets\n  server s 127.0.126.2:24001\n",
        p = pem.display()
    );
    let mut runs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let p = start(w, "resume", &cfg, addr("127.0.126.1:24002"));
        let mut got = Vec::new();
        for (i, (to, v)) in [
            ("127.0.126.1:24000", "-tls1_3"),
            ("127.0.126.1:24000", "-tls1_2"),
            ("127.0.126.1:24002", "-tls1_2"),
            // TLS 1.3 resumes without tickets too: its tickets name cached sessions.
            ("127.0.126.1:24002", "-tls1_3"),
        ]
        .iter()
        .enumerate()
        {
            got.push(resumed(to, v, &d.join(format!("sess-{w:?}-{i}"))));
        }
        runs.push(got);
        drop(p);
    }
    assert_eq!(runs[1], runs[0], "haproxy: {:?}", runs[0]);
    assert_eq!(runs[0][0], (false, true, true), "a TLS 1.3 ticket resumes");
    assert_eq!(runs[0][1], (false, true, true), "a TLS 1.2 ticket resumes");
    assert_eq!(
        runs[0][2],
        (false, true, false),
        "no-tls-tickets: the session cache"
    );
    assert!(runs[0][3].1, "no-tls-tickets: TLS 1.3 still resumes");
}

#[test]
fn expired_and_mismatched_certificates_like_haproxy() {
    // Certificates made with rcgen: one expired in 2020, one whose key is another key's.
    let d = dir("badcerts");
    let cert_for = |name: &str, from: (i32, u8, u8), to: (i32, u8, u8)| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        p.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        (p.self_signed(&key).unwrap().pem(), key)
    };
    let (expired, key) = cert_for("expired.test", (2020, 1, 1), (2020, 1, 2));
    std::fs::write(d.join("expired.pem"), expired + &key.serialize_pem()).unwrap();
    let (good, _) = cert_for("wrong.test", (2024, 1, 1), (2099, 1, 1));
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(d.join("wrong.pem"), good + &other.serialize_pem()).unwrap();
    let cfg = |pem: &str| {
        let p = d.join(format!("{pem}.cfg"));
        std::fs::write(&p, format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.127.1:24000 ssl crt {}\n  server s 127.0.127.2:24001\n", d.join(format!("{pem}.pem")).display())).unwrap();
        p
    };
    // -c: the mismatched key is an error at its line, the expired certificate is not.
    for pem in ["wrong", "expired"] {
        let mut seen = Vec::new();
        for w in [Which::Haproxy, Which::Haproxide] {
            let o = Command::new(w.path())
                .arg("-c")
                .arg("-f")
                .arg(cfg(pem))
                .output()
                .unwrap();
            let alerts: Vec<String> = String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| l.contains("ALERT"))
                .map(|l| {
                    l.split_once(") : ")
                        .map_or(l.to_string(), |x| x.1.to_string())
                })
                .collect();
            seen.push((o.status.code(), alerts));
        }
        assert_eq!(seen[1], seen[0], "{pem}");
        assert_eq!(
            seen[0].0,
            Some(if pem == "wrong" { 1 } else { 0 }),
            "{pem}: {:?}",
            seen[0]
        );
    }
    // Served as it is: the client, not the proxy, finds it expired.
    let _echo = common::Backend::echo("127.0.127.2:24001");
    for w in [Which::Haproxy, Which::Haproxide] {
        let text = std::fs::read_to_string(cfg("expired")).unwrap();
        let p = start(w, "expired", &text, addr("127.0.127.1:24000"));
        let out = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                "127.0.127.1:24000",
                "-servername",
                "expired.test",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Verify return code: 10 (certificate has expired)"),
            "{w:?}: {text}"
        );
        drop(p);
    }
}

/// Megabytes both ways through a TLS bind, then a half-close: every byte comes back in
/// order, and the end of the client's data reaches the server (which then closes).
#[test]
fn bulk_data_and_half_close_over_tls() {
    let d = dir("tlsbulk");
    make_cert(&d, "srv", "emqx.test");
    let _echo = common::Backend::echo("127.0.124.3:24001");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.124.1:24003 ssl crt {}\n  server s 127.0.124.3:24001\n",
        d.join("srv.pem").display()
    );
    let _p = start(Which::Haproxide, "tlsbulk", &cfg, addr("127.0.124.1:24003"));
    let mut c = common::tls_connect(addr("127.0.124.1:24003"));
    // Not a multiple of any record or buffer size.
    let data: Vec<u8> = (0..3_000_017u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let writer = &data;
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 65536];
    let mut sent = 0;
    // Interleave writes and reads so neither side's window fills up.
    while got.len() < data.len() {
        if sent < writer.len() {
            let n = (writer.len() - sent).min(40_000);
            c.write_all(&writer[sent..sent + n]).unwrap();
            sent += n;
        }
        let n = c.read(&mut buf).expect("read echo");
        assert!(
            n > 0,
            "echo ended after {} of {} bytes",
            got.len(),
            data.len()
        );
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == data, "echoed bytes differ");
    // Half-close: close_notify; the echo server then closes and the proxy passes it on.
    c.conn.send_close_notify();
    c.flush().unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest)
        .expect("the proxy ends the session with close_notify");
    assert!(rest.is_empty());
}

/// The server ends first over TLS: the client gets its data, close_notify and the FIN, and
/// what it sends afterwards still reaches the server (half-close, as over plain TCP).
#[test]
fn server_closes_first_over_tls() {
    let d = dir("tlsearly");
    make_cert(&d, "srv", "emqx.test");
    let early = common::Backend::closes_first("127.0.128.3:24001", b"banner");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten li\n  bind 127.0.128.1:24003 ssl crt {}\n  server s 127.0.128.3:24001\n",
        d.join("srv.pem").display()
    );
    let _p = start(
        Which::Haproxide,
        "tlsearly",
        &cfg,
        addr("127.0.128.1:24003"),
    );
    let mut c = common::tls_connect(addr("127.0.128.1:24003"));
    c.sock
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).expect("data, then close_notify");
    assert_eq!(got, b"banner");
    assert_eq!(
        c.sock.read(&mut [0u8; 16]).expect("the FIN, not a timeout"),
        0,
        "the FIN follows close_notify"
    );
    c.write_all(b"after-fin").unwrap();
    c.conn.send_close_notify();
    c.flush().unwrap();
    early.assert_last(b"after-fin", "data after the server's FIN reaches it");
}
