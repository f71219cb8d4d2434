//! TLS towards servers (`server … ssl`): a mosquitto broker listening with TLS on
//! 127.0.191.2:8883 (certificate made now with rcgen, signed by a test CA), reached through
//! plain frontends with every verification case. The same config runs under haproxy and
//! haproxide: MQTT must pass where haproxy lets it pass, and the health-check messages and
//! tcplog lines must be the same.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::{assert_logs_match, mask_tcplog, start, Kill, Which};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A CA, a broker certificate for broker.local and 127.0.191.2 signed by it, and an
/// unrelated CA. Files are world-readable: mosquitto reads them after dropping root.
fn certificates(d: &Path) {
    let ca = |cn: &str| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        let cert = p.self_signed(&key).unwrap();
        (cert, Issuer::new(p, key))
    };
    let (ca_cert, issuer) = ca("haproxide test CA");
    let (other, _) = ca("some other CA");
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["broker.local".to_string(), "127.0.191.2".to_string()])
        .unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "broker.local");
    let cert = p.signed_by(&key, &issuer).unwrap();
    for (name, text) in [
        ("ca.pem", ca_cert.pem()),
        ("other-ca.pem", other.pem()),
        ("broker.pem", cert.pem()),
        ("broker.key", key.serialize_pem()),
        // The same pair as one bundle, for a TLS bind (cat crt key, as the guide does).
        ("bundle.pem", cert.pem() + &key.serialize_pem()),
    ] {
        std::fs::write(d.join(name), text).unwrap();
    }
}

fn broker(d: &Path) -> Kill {
    let conf = format!(
        "listener 8883 127.0.191.2\ncertfile {d}/broker.pem\nkeyfile {d}/broker.key\nallow_anonymous true\n\
         listener 1883 127.0.191.3\nallow_anonymous true\n",
        d = d.display()
    );
    common::mosquitto(d, &conf, &["127.0.191.2:8883", "127.0.191.3:1883"])
}

fn config(d: &Path, net: u8) -> String {
    let ca = d.join("ca.pem");
    let other = d.join("other-ca.pem");
    let (ca, other) = (ca.display(), other.display());
    let mut c = String::from(
        "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option tcplog\n  option log-health-checks\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n",
    );
    let cases = [
        ("ok", format!("127.0.191.2:8883 ssl verify required ca-file {ca} sni str(broker.local) check inter 1s")),
        ("wrongca", format!("127.0.191.2:8883 ssl verify required ca-file {other}")),
        ("wrongname", format!("127.0.191.2:8883 ssl verify required ca-file {ca} sni str(other.name)")),
        ("none", "127.0.191.2:8883 ssl verify none".to_string()),
        ("plain", "127.0.191.3:1883 ssl verify none check inter 1s".to_string()),
        ("noname", format!("127.0.191.2:8883 ssl verify required ca-file {ca}")),
        ("verifyhost", format!("127.0.191.2:8883 ssl verify required ca-file {ca} verifyhost broker.local")),
        ("badhost", format!("127.0.191.2:8883 ssl verify required ca-file {ca} verifyhost nope.local")),
    ];
    // TLS on both sides: a TLS bind in front of a TLS server.
    c.push_str(&format!(
        "frontend fe_both\n  bind 127.0.{net}.1:24630 ssl crt {}\n  default_backend be_none\n",
        d.join("bundle.pem").display()
    ));
    for (i, (name, srv)) in cases.iter().enumerate() {
        c.push_str(&format!(
            "frontend fe_{name}\n  bind 127.0.{net}.1:{}\n  default_backend be_{name}\nbackend be_{name}\n  server b1 {srv}\n",
            24620 + i
        ));
    }
    c
}

fn pub_(net: u8, port: u16, msg: &str) -> bool {
    pub_with(net, port, msg, &[])
}

fn pub_with(net: u8, port: u16, msg: &str, extra: &[&str]) -> bool {
    Command::new("timeout")
        .args(["5", "mosquitto_pub", "-h", &format!("127.0.{net}.1"), "-p"])
        .arg(port.to_string())
        .args(extra)
        .args(["-t", "t/tls", "-m", msg])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// (what the subscriber got, which publishes went through, masked log lines).
fn scenario(which: Which, d: &Path, net: u8) -> (String, Vec<bool>, Vec<String>) {
    let front = format!("127.0.{net}.1:24620").parse().unwrap();
    let p = start(which, &format!("srvtls-{net}"), &config(d, net), front);
    // Checks run every second: let both servers reach their state.
    thread::sleep(Duration::from_millis(2500));
    let sub = Command::new("timeout")
        .args([
            "6",
            "mosquitto_sub",
            "-h",
            &format!("127.0.{net}.1"),
            "-p",
            "24620",
        ])
        .args(["-t", "t/tls", "-C", "1", "-W", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub");
    thread::sleep(Duration::from_millis(500));
    let mut passed = vec![pub_(net, 24623, "through verify none")];
    let got = String::from_utf8_lossy(&sub.wait_with_output().unwrap().stdout).into_owned();
    for port in [24621, 24622, 24624, 24625, 24626, 24627] {
        passed.push(pub_(net, port, "x"));
    }
    let ca = d.join("ca.pem");
    let tls = ["--cafile", ca.to_str().unwrap_or(""), "--insecure"];
    passed.push(pub_with(net, 24630, "x", &tls));
    // The last sessions' lines: until none came for half a second (5 s at most), as a
    // busy host may write them late.
    let mut quiet = 0;
    let mut seen = 0;
    for _ in 0..50 {
        thread::sleep(Duration::from_millis(100));
        let n = p.lines.lock().unwrap().len();
        quiet = if n == seen { quiet + 1 } else { 0 };
        seen = n;
        if quiet == 5 {
            break;
        }
    }
    let lines: Vec<String> = p
        .lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| mask_tcplog(l).replace(&format!("127.0.{net}."), "127.0.X."))
        // Process-wide sessions at log time depend on whether the subscriber has already
        // left: not compared.
        .map(|l| {
            let mut f: Vec<String> = l.split(' ').map(str::to_string).collect();
            if f.len() == 9 {
                // So do the frontend's: a refused client (NOSRV) may still be closing
                // when the next one is logged, in haproxy as here (seen once each way).
                let counts: Vec<&str> = f[7].split('/').collect();
                if counts.len() == 5 {
                    f[7] = format!("A/F/{}", counts[2..].join("/"));
                }
                // The subscriber's session lasts until the test's publisher process has
                // started: its total time measures this test, not the proxy.
                if f[2] == "fe_ok" {
                    if let Some((head, _)) = f[4].rsplit_once('/') {
                        f[4] = format!("{head}/T");
                    }
                }
            }
            f.join(" ")
        })
        // A server that does not speak TLS closes on the ClientHello: whether the checker
        // then sees a reset (haproxy then adds it to its words) is a race on loopback.
        .map(|l| {
            l.replace(
                "SSL handshake failure (Connection reset by peer)",
                "SSL handshake failure",
            )
        })
        // Check durations differ by scheduling; the rest of the line must not.
        .map(|l| match l.find("check duration: ") {
            Some(i) => {
                let rest = &l[i + 16..];
                let end = rest.find(',').unwrap_or(rest.len());
                format!("{}check duration: N{}", &l[..i], &rest[end..])
            }
            None => l,
        })
        .collect();
    let mut lines = lines;
    // Frontends log in the order sessions end: sort by the text without its numbers.
    lines.sort_by_key(|l| l.replace(|c: char| c.is_ascii_digit(), ""));
    (got.trim().to_string(), passed, lines)
}

#[test]
fn tls_to_servers_matches_haproxy() {
    for tool in ["/usr/sbin/mosquitto", "/usr/bin/mosquitto_pub"] {
        assert!(Path::new(tool).exists(), "{tool} missing: run ./run-tests");
    }
    let d: PathBuf = std::env::temp_dir().join(format!("haproxide-srvtls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    certificates(&d);
    let _mq = broker(&d);
    let (want_msg, want_pass, want_log) = scenario(Which::Haproxy, &d, 192);
    let (got_msg, got_pass, got_log) = scenario(Which::Haproxide, &d, 193);
    // What haproxy itself does: verified and unverified TLS pass, a wrong CA, a wrong SNI,
    // a plain server and a wrong verifyhost do not; no name to check is no name check.
    assert_eq!(want_msg, "through verify none");
    assert_eq!(
        want_pass,
        [true, false, false, false, true, true, false, true]
    );
    assert_eq!((got_msg, got_pass), (want_msg, want_pass));
    assert_logs_match(&want_log, &got_log);
}
