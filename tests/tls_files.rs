//! Certificate material as haproxy (OpenSSL) reads it, compared with the real haproxy:
//! revocation lists (current, expired, a crl-file with no CRL in it), X.509 v1 server
//! certificates (what `openssl x509 -req` without `-extfile` makes) chosen by their CN,
//! and `-c` on files that are not regular files (no hang, no endless read).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{start, Which};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("haproxide-tlsf-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn openssl(d: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is missing: ./run-tests installs it");
    assert!(st.success(), "openssl {args:?}");
}

/// A CA (`ca.crt`), and certificates signed by it: `<name>.crt`/`.key`/`.pem` for CN `cn`,
/// X.509 v3 with a DNS SAN, or v1 (no extensions at all) when `v1`.
fn issue(d: &Path, name: &str, cn: &str, v1: bool) {
    if !d.join("ca.crt").exists() {
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=test-ca",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ],
        );
    }
    let san = format!("subjectAltName=DNS:{cn}\n");
    sign(d, name, cn, "ca", (!v1).then_some(san.as_str()), 2);
    let pem = [
        std::fs::read(d.join(format!("{name}.crt"))).unwrap(),
        std::fs::read(d.join(format!("{name}.key"))).unwrap(),
    ]
    .concat();
    std::fs::write(d.join(format!("{name}.pem")), pem).unwrap();
}

/// Revokes `name` and writes CRLs: `current.pem` and `expired.pem` (next update in 2020).
fn crls(d: &Path, revoke: &str) {
    std::fs::write(d.join("index.txt"), "").unwrap();
    std::fs::write(d.join("crlnumber"), "01\n").unwrap();
    std::fs::write(
        d.join("ca.cnf"),
        "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=1\n",
    )
    .unwrap();
    let crt = format!("{revoke}.crt");
    openssl(
        d,
        &[
            "ca", "-config", "ca.cnf", "-revoke", &crt, "-keyfile", "ca.key", "-cert", "ca.crt",
        ],
    );
    openssl(
        d,
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-gencrl",
            "-keyfile",
            "ca.key",
            "-cert",
            "ca.crt",
            "-out",
            "current.pem",
        ],
    );
    openssl(
        d,
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-gencrl",
            "-keyfile",
            "ca.key",
            "-cert",
            "ca.crt",
            "-crl_lastupdate",
            "20200101000000Z",
            "-crl_nextupdate",
            "20200102000000Z",
            "-out",
            "expired.pem",
        ],
    );
}

/// Whether a TLS 1.2 handshake with `cert` (a client certificate) succeeds, and the
/// subject of the certificate the server sent.
fn handshake(d: &Path, to: &str, extra: &[&str]) -> String {
    handshake_with(d, to, "-tls1_2", extra)
}

/// [`handshake`] with another protocol version (`-tls1_3`). In TLS 1.3 a refused client
/// certificate is reported after the handshake: use it for accepted ones.
fn handshake_with(d: &Path, to: &str, version: &str, extra: &[&str]) -> String {
    let mut args = vec!["s_client", "-connect", to, version];
    args.extend_from_slice(extra);
    let o = Command::new("openssl")
        .args(&args)
        .current_dir(d)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    let ok =
        !err.contains("alert") && out.contains(", Cipher is ") && !out.contains("Cipher is (NONE)");
    let subject = out
        .lines()
        .find(|l| l.starts_with("subject="))
        .unwrap_or("")
        .trim()
        .to_string();
    if ok {
        format!("OK {subject}")
    } else {
        "FAILED".into()
    }
}

fn crl_matrix(which: Which, net: u8, d: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (i, crl) in ["current.pem", "expired.pem", "ca.crt"].iter().enumerate() {
        let front = format!("127.0.{net}.1:{}", 24901 + i);
        let cfg = format!(
            "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
             listen l\n  bind {front} ssl crt {dir}/srv.pem ca-file {dir}/ca.crt verify required crl-file {dir}/{crl}\n  server s 127.0.{net}.2:24900\n",
            dir = d.display()
        );
        let _p = start(
            which,
            &format!("crl-{net}-{i}"),
            &cfg,
            front.parse().unwrap(),
        );
        for dev in ["good", "revoked"] {
            let r = handshake(
                d,
                &front,
                &[
                    "-cert",
                    &format!("{dev}.crt"),
                    "-key",
                    &format!("{dev}.key"),
                ],
            );
            out.push(format!(
                "{crl} {dev}: {}",
                r.split(' ').next().unwrap_or("")
            ));
        }
    }
    out
}

#[test]
fn revocation_lists_are_checked_as_haproxy_checks_them() {
    let d = dir("crl");
    issue(&d, "srv", "emqx.test", false);
    issue(&d, "good", "good-device", false);
    issue(&d, "revoked", "revoked-device", false);
    crls(&d, "revoked");
    let want = crl_matrix(Which::Haproxy, 202, &d);
    assert_eq!(
        want,
        [
            "current.pem good: OK",
            "current.pem revoked: FAILED",
            // An expired CRL fails every check ("CRL has expired").
            "expired.pem good: FAILED",
            "expired.pem revoked: FAILED",
            // A crl-file holding no CRL: no issuer's CRL is found for anyone.
            "ca.crt good: FAILED",
            "ca.crt revoked: FAILED",
        ]
    );
    assert_eq!(crl_matrix(Which::Haproxide, 203, &d), want);
}

/// The certificate served for each SNI name, with a v3 default and a v1 certificate.
fn served(which: Which, net: u8, d: &Path) -> Vec<String> {
    let front = format!("127.0.{net}.1:24910");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         listen l\n  bind {front} ssl crt {dir}/srv.pem crt {dir}/old.pem\n  server s 127.0.{net}.2:24911\n",
        dir = d.display()
    );
    let _p = start(which, &format!("v1-{net}"), &cfg, front.parse().unwrap());
    [
        "emqx.test",
        "old-device.test",
        "OLD-DEVICE.test",
        "other.test",
    ]
    .iter()
    .map(|sni| format!("{sni}: {}", handshake(d, &front, &["-servername", sni])))
    .collect()
}

#[test]
fn v1_server_certificates_load_and_are_chosen_by_their_cn() {
    let d = dir("v1");
    issue(&d, "srv", "emqx.test", false);
    issue(&d, "old", "old-device.test", true);
    let check = Command::new(Which::Haproxide.path())
        .args(["-c", "-f", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            let cfg = format!("listen l\n  mode tcp\n  bind 127.0.0.1:1 ssl crt {}/old.pem\n  server s 127.0.0.1:2\n", d.display());
            c.stdin.take().unwrap().write_all(cfg.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        check.status.success(),
        "a v1 certificate is valid: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let want = served(Which::Haproxy, 204, &d);
    assert!(
        want[1].contains("CN = old-device.test") && want[3].contains("CN = emqx.test"),
        "{want:?}"
    );
    assert_eq!(served(Which::Haproxide, 205, &d), want);
}

#[test]
fn check_mode_never_hangs_or_reads_without_end_on_special_files() {
    let d = dir("special");
    issue(&d, "srv", "emqx.test", false);
    let fifo = d.join("fifo.pem");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for (what, opts) in [
        ("crt /dev/zero", "crt /dev/zero".to_string()),
        ("a FIFO as crt", format!("crt {}", fifo.display())),
        (
            "a FIFO as ca-file",
            format!(
                "crt {}/srv.pem ca-file {} verify required",
                d.display(),
                fifo.display()
            ),
        ),
        (
            "a FIFO as crl-file",
            format!(
                "crt {}/srv.pem ca-file {}/ca.crt verify required crl-file {}",
                d.display(),
                d.display(),
                fifo.display()
            ),
        ),
    ] {
        let cfg = d.join("c.cfg");
        std::fs::write(
            &cfg,
            format!(
                "listen l\n  mode tcp\n  bind 127.0.0.1:1 ssl {opts}\n  server s 127.0.0.1:2\n"
            ),
        )
        .unwrap();
        let t0 = Instant::now();
        let mut c = Command::new(Which::Haproxide.path())
            .args(["-c", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let code = loop {
            if let Some(st) = c.try_wait().unwrap() {
                break st.code();
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = c.kill();
                panic!("-c with {what} did not finish in 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        use std::io::Read;
        c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert_eq!(code, Some(1), "{what}: {err}");
        assert!(err.contains("not a regular file"), "{what}: {err}");
    }
}

/// `name`.crt/.key for `cn`, signed by `ca` (`<ca>.crt`/`<ca>.key`), with the extension
/// lines `ext` (None: an X.509 v1 certificate), valid `days` (0: expired a second later);
/// an RSA key, or a P-256 one when the name ends in "ec".
fn sign(d: &Path, name: &str, cn: &str, ca: &str, ext: Option<&str>, days: u32) {
    let (key, csr, crt) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    let subj = format!("/CN={cn}");
    let mut req = vec![
        "req", "-nodes", "-subj", &subj, "-keyout", &key, "-out", &csr,
    ];
    if name.ends_with("ec") {
        req.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    } else {
        req.extend(["-newkey", "rsa:2048"]);
    }
    openssl(d, &req);
    let (cacrt, cakey, days, extf) = (
        format!("{ca}.crt"),
        format!("{ca}.key"),
        days.to_string(),
        format!("{name}.ext"),
    );
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &cacrt,
        "-CAkey",
        &cakey,
        "-CAcreateserial",
        "-days",
        &days,
        "-out",
        &crt,
    ];
    if let Some(e) = ext {
        std::fs::write(d.join(&extf), e).unwrap();
        args.extend(["-extfile", &extf]);
    }
    openssl(d, &args);
}

/// The handshake verdict for each client certificate (and the chain it sends).
fn client_verdicts(which: Which, net: u8, d: &Path) -> Vec<String> {
    let plain = format!("127.0.{net}.1:24920");
    let with_crl = format!("127.0.{net}.1:24921");
    let cfg = format!(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         listen l\n  bind {plain} ssl crt {dir}/srv.pem ca-file {dir}/ca.crt verify required\n  server s 127.0.{net}.2:24922\n\
         listen c\n  bind {with_crl} ssl crt {dir}/srv.pem ca-file {dir}/ca.crt verify required crl-file {dir}/current.pem\n  server s 127.0.{net}.2:24922\n",
        dir = d.display()
    );
    let _p = start(which, &format!("v1c-{net}"), &cfg, plain.parse().unwrap());
    let mut out = Vec::new();
    for (to, name, chain) in [
        (&plain, "v3", None),
        (&plain, "v1", None),
        (&plain, "v1ec", None),
        (&plain, "v1other", None),
        (&plain, "v1expired", None),
        (&plain, "v1viaint", Some("int.crt")),
        (&plain, "v1viav1int", Some("int1.crt")),
        (&plain, "v1viaint", None),
        (&with_crl, "v1", None),
        (&with_crl, "revoked", None),
    ] {
        let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
        let mut extra = vec!["-cert", crt.as_str(), "-key", key.as_str()];
        if let Some(c) = chain {
            extra.extend(["-cert_chain", c]);
        }
        let r = handshake(d, to, &extra);
        let crl = if to == &with_crl { " (crl)" } else { "" };
        out.push(format!(
            "{name} via {}{crl}: {}",
            chain.unwrap_or("-"),
            r.split(' ').next().unwrap_or("")
        ));
    }
    // TLS 1.3 signatures (RSA-PSS, ECDSA bound to its curve) with v1 keys.
    for name in ["v1", "v1ec"] {
        let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
        let r = handshake_with(d, &plain, "-tls1_3", &["-cert", &crt, "-key", &key]);
        out.push(format!(
            "{name} TLSv1.3: {}",
            r.split(' ').next().unwrap_or("")
        ));
    }
    out
}

#[test]
fn v1_client_certificates_verify_as_openssl_does() {
    let d = dir("v1client");
    issue(&d, "srv", "emqx.test", false);
    // Another CA nobody trusts.
    openssl(
        &d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=other-ca",
            "-keyout",
            "other.key",
            "-out",
            "other.crt",
        ],
    );
    let ca_ext = "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n";
    sign(&d, "int", "intermediate-ca", "ca", Some(ca_ext), 2);
    sign(&d, "int1", "v1-intermediate", "ca", None, 2);
    sign(
        &d,
        "v3",
        "device-v3",
        "ca",
        Some("subjectAltName=DNS:device-v3\n"),
        2,
    );
    sign(&d, "v1", "device-v1", "ca", None, 2);
    sign(&d, "v1ec", "device-v1-ec", "ca", None, 2);
    sign(&d, "v1other", "device-other", "other", None, 2);
    sign(&d, "v1expired", "device-expired", "ca", None, 0);
    sign(&d, "v1viaint", "device-int", "int", None, 2);
    sign(&d, "v1viav1int", "device-v1int", "int1", None, 2);
    sign(&d, "revoked", "device-revoked", "ca", None, 2);
    crls(&d, "revoked");
    // Past the expired certificate's last second.
    std::thread::sleep(Duration::from_millis(1500));
    let want = client_verdicts(Which::Haproxy, 213, &d);
    assert_eq!(
        want,
        [
            "v3 via -: OK",
            "v1 via -: OK",
            "v1ec via -: OK",
            "v1other via -: FAILED",
            "v1expired via -: FAILED",
            "v1viaint via int.crt: OK",
            "v1viav1int via int1.crt: FAILED",
            "v1viaint via -: FAILED",
            "v1 via - (crl): OK",
            "revoked via - (crl): FAILED",
            "v1 TLSv1.3: OK",
            "v1ec TLSv1.3: OK",
        ]
    );
    assert_eq!(client_verdicts(Which::Haproxide, 214, &d), want);
}
