//! Certificates made by openssl at test time, and openssl's client, for the TLS tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A fresh directory for one test's files.
pub fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("haproxide-tls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs openssl; the test fails if it does.
pub fn openssl(args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is missing: ./run-tests installs it");
    assert!(st.success(), "openssl {args:?}");
}

/// A self-signed CA and a certificate for `cn` (with IP SAN 127.0.0.1) signed by it;
/// writes `<name>.crt`, `<name>.key` and the bundle `<name>.pem` (cert + key, as the guide).
pub fn make_cert(d: &Path, name: &str, cn: &str) {
    if !d.join("ca.crt").exists() {
        openssl(&[
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
            d.join("ca.key").to_str().unwrap(),
            "-out",
            d.join("ca.crt").to_str().unwrap(),
        ]);
    }
    let p = |ext: &str| path_of(d, name, ext);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        &format!("/CN={cn}"),
        "-keyout",
        &p("key"),
        "-out",
        &p("csr"),
    ]);
    let ext = d.join(format!("{name}.ext"));
    std::fs::write(&ext, format!("subjectAltName=DNS:{cn},IP:127.0.0.1\n")).unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("csr"),
        "-CA",
        d.join("ca.crt").to_str().unwrap(),
        "-CAkey",
        d.join("ca.key").to_str().unwrap(),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        &p("crt"),
    ]);
    bundle(d, name);
}

/// A self-signed EC (P-256) certificate for `cn`: `<name>.pem` holds it and its key.
pub fn make_ec_cert(d: &Path, name: &str, cn: &str) {
    let p = |ext: &str| path_of(d, name, ext);
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &format!("/CN={cn}"),
        "-addext",
        &format!("subjectAltName=DNS:{cn}"),
        "-keyout",
        &p("key"),
        "-out",
        &p("crt"),
    ]);
    bundle(d, name);
}

/// The path of `<name>.<ext>` in `d`.
fn path_of(d: &Path, name: &str, ext: &str) -> String {
    d.join(format!("{name}.{ext}"))
        .to_string_lossy()
        .into_owned()
}

/// Writes `<name>.pem`: `<name>.crt` then `<name>.key`, as the guide's bundles are.
fn bundle(d: &Path, name: &str) {
    let read = |ext: &str| std::fs::read(path_of(d, name, ext)).unwrap();
    std::fs::write(path_of(d, name, "pem"), [read("crt"), read("key")].concat()).unwrap();
}

/// `openssl s_client` summary: protocol and cipher, or "FAILED".
pub fn s_client(to: &str, extra: &[&str]) -> String {
    let mut args = vec!["s_client", "-connect", to];
    args.extend_from_slice(extra);
    let out = Command::new("openssl")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            drop(c.stdin.take());
            c.wait_with_output()
        });
    let (text, err) = out
        .map(|o| {
            (
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap_or_default();
    // A handshake alert (no cipher, refused version, missing client certificate).
    if err.contains("alert") {
        return "FAILED".into();
    }
    let line = text
        .lines()
        .find(|l| l.contains(", Cipher is "))
        .unwrap_or("");
    let subject = text
        .lines()
        .find(|l| l.starts_with("subject="))
        .unwrap_or("")
        .to_string();
    if line.contains("(NONE)") || line.is_empty() {
        "FAILED".into()
    } else {
        format!("{} | {subject}", line.trim())
    }
}
