//! The TLS protocol knobs of a `bind … ssl` line, tried with openssl s_client against
//! haproxy and haproxide on the same configuration: which protocol versions each
//! accepts and negotiates (`no-tlsv1x`, `force-tlsv1x`, `ssl-min-ver`, `ssl-max-ver`, the
//! old versions both refuse), and `strict-sni`.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::{self_signed_pem, start, Backend, Which};

/// What one client got: the negotiated protocol, or "refused".
fn handshake(to: SocketAddr, version: &str, sni: &str) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-brief",
            "-connect",
            &to.to_string(),
            "-servername",
            sni,
        ])
        .arg(version)
        .stdin(Stdio::null())
        .output()
        .expect("openssl (./run-tests installs it)");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Protocol version: "))
        .map_or_else(|| "refused".to_string(), str::to_string)
}

#[test]
fn bind_protocol_knobs_match_haproxy() {
    let pem = self_signed_pem(
        "tlsver",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let echo = Backend::echo("127.0.245.9:0");
    let knobs = [
        "",
        "no-tlsv12",
        "no-tlsv13",
        "force-tlsv12",
        "force-tlsv13",
        "ssl-min-ver TLSv1.3",
        "ssl-max-ver TLSv1.2",
        "no-sslv3 no-tlsv10 no-tlsv11",
        "strict-sni",
    ];
    let clients = [
        ("-tls1_3", "t"),
        ("-tls1_2", "t"),
        ("-tls1_1", "t"),
        ("-tls1_3", "other.invalid"),
    ];
    let mut results = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let front: SocketAddr = format!("127.0.{}.1:24950", 246 + k).parse().unwrap();
        let mut cfg = format!(
            "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nbackend b\n  server s {}\n",
            echo.addr
        );
        for (i, knob) in knobs.iter().enumerate() {
            let addr = SocketAddr::new(front.ip(), front.port() + i as u16);
            cfg.push_str(&format!(
                "frontend f{i}\n  bind {addr} ssl crt {} {knob}\n  default_backend b\n",
                pem.display()
            ));
        }
        let p = start(which, "tlsver", &cfg, front);
        let mut got = Vec::new();
        for (i, knob) in knobs.iter().enumerate() {
            let addr = SocketAddr::new(front.ip(), front.port() + i as u16);
            for (v, sni) in clients {
                got.push(format!("[{knob}] {v} {sni}: {}", handshake(addr, v, sni)));
            }
        }
        drop(p);
        results.push(got);
    }
    assert_eq!(
        results[1], results[0],
        "haproxide (left) and haproxy (right) differ"
    );
    // The table must show the knobs doing something, or it proves nothing.
    let h = &results[0];
    assert!(h
        .iter()
        .any(|l| l.starts_with("[no-tlsv13] -tls1_3") && l.ends_with("refused")));
    assert!(h
        .iter()
        .any(|l| l.starts_with("[] -tls1_3 t") && l.ends_with("TLSv1.3")));
    assert!(h
        .iter()
        .any(|l| l.starts_with("[strict-sni] -tls1_3 other") && l.ends_with("refused")));
}

/// The suite a TLS 1.2 client gets when it offers two in its own order: the server's
/// preference by default, the client's with `prefer-client-ciphers`.
#[test]
fn prefer_client_ciphers_matches_haproxy() {
    let pem = self_signed_pem(
        "tlsorder",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let echo = Backend::echo("127.0.226.9:0");
    let offers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
    ];
    let mut results = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let front: SocketAddr = format!("127.0.226.{}:24955", 1 + k).parse().unwrap();
        let second = SocketAddr::new(front.ip(), front.port() + 1);
        let cfg = format!(
            "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nbackend b\n  server s {}\nfrontend f0\n  bind {front} ssl crt {p}\n  default_backend b\nfrontend f1\n  bind {second} ssl crt {p} prefer-client-ciphers\n  default_backend b\n",
            echo.addr,
            p = pem.display()
        );
        let p = start(which, "tlsorder", &cfg, front);
        let mut got = Vec::new();
        for to in [front, second] {
            for offer in offers {
                let out = Command::new("openssl")
                    .args([
                        "s_client", "-brief", "-tls1_2", "-cipher", offer, "-connect",
                    ])
                    .arg(to.to_string())
                    .stdin(Stdio::null())
                    .output()
                    .expect("openssl");
                let text = String::from_utf8_lossy(&out.stderr).to_string();
                let suite = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Ciphersuite: "))
                    .unwrap_or("refused")
                    .to_string();
                got.push(format!("{} {offer}: {suite}", to.port()));
            }
        }
        drop(p);
        results.push(got);
    }
    assert_eq!(results[1], results[0], "haproxide (left), haproxy (right)");
}
