//! The TLS knobs of a `server … ssl` line, seen from the server: a rustls server records
//! the protocol version, cipher suite and ALPN protocol each proxy negotiates with it, for
//! haproxy and haproxide on the same configuration (`no-tlsv1x`, `force-tlsv1x`,
//! `ssl-min-ver`, `ssl-max-ver`, `ciphers`, `ciphersuites`, `alpn`).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{start, Which};

/// A TLS echo server on `addr` that records what each handshake negotiated.
fn recording_server(addr: &str) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["backend.test".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    cfg.alpn_protocols = vec![b"mqtt".to_vec(), b"h2".to_vec()];
    let cfg = Arc::new(cfg);
    let l = TcpListener::bind(addr).unwrap();
    let at = l.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for c in l.incoming().flatten() {
            let (cfg, log) = (cfg.clone(), log.clone());
            thread::spawn(move || {
                let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
                let conn = rustls::ServerConnection::new(cfg).unwrap();
                let mut s = rustls::StreamOwned::new(conn, c);
                let mut b = [0u8; 64];
                let Ok(n) = s.read(&mut b) else { return };
                let c = &s.conn;
                log.lock().unwrap().push(format!(
                    "{:?} {:?} alpn={:?}",
                    c.protocol_version(),
                    c.negotiated_cipher_suite().map(|x| x.suite()),
                    c.alpn_protocol()
                        .map(|a| String::from_utf8_lossy(a).to_string())
                ));
                let _ = s.write_all(&b[..n]);
                let _ = s.flush();
            });
        }
    });
    (at, seen)
}

/// Sends a few bytes through `front` and says whether they came back and what the
/// recording server saw meanwhile.
fn through(front: &str, seen: &Mutex<Vec<String>>) -> String {
    seen.lock().unwrap().clear();
    let mut c = TcpStream::connect(front).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(b"hello").unwrap();
    let mut b = [0u8; 5];
    let echoed = c.read_exact(&mut b).is_ok();
    drop(c);
    thread::sleep(Duration::from_millis(50));
    format!("echoed={echoed} {}", seen.lock().unwrap().join(" | "))
}

#[test]
fn server_tls_knobs_match_haproxy() {
    let (backend, seen) = recording_server("127.0.254.9:0");
    let knobs = [
        "",
        "no-tlsv13",
        "force-tlsv12",
        "force-tlsv13",
        "ssl-max-ver TLSv1.2",
        "ssl-min-ver TLSv1.3",
        "no-sslv3 no-tlsv10 no-tlsv11",
        "no-tlsv12",
        "alpn mqtt",
        "alpn h2,mqtt",
        "ciphersuites TLS_CHACHA20_POLY1305_SHA256",
        "no-tlsv13 ciphers ECDHE-ECDSA-CHACHA20-POLY1305",
    ];
    let mut results = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let net = 254 - 2 * k as u8 - 1;
        let mut cfg = String::from(
            "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n",
        );
        for (i, knob) in knobs.iter().enumerate() {
            cfg.push_str(&format!(
                "listen l{i}\n  bind 127.0.{net}.1:{}\n  server s {backend} ssl verify none {knob}\n",
                24960 + i
            ));
        }
        let p = start(
            which,
            "srvtls",
            &cfg,
            format!("127.0.{net}.1:24960").parse().unwrap(),
        );
        let mut got = Vec::new();
        for (i, knob) in knobs.iter().enumerate() {
            let front = format!("127.0.{net}.1:{}", 24960 + i);
            got.push(format!("[{knob}] {}", through(&front, &seen)));
        }
        drop(p);
        results.push(got);
    }
    assert_eq!(results[1], results[0], "haproxide (left), haproxy (right)");
    let h = &results[0];
    assert!(
        h[1].contains("TLSv1_2") && h[0].contains("TLSv1_3"),
        "{h:#?}"
    );
    assert!(h[8].contains("alpn=Some(\"mqtt\")"), "{h:#?}");
}

/// The `ssl-default-server-*` globals and `ssl-server-verify none`: what the server sees
/// from a `server … ssl` line that names none of them, one process per global setting.
#[test]
fn server_tls_defaults_match_haproxy() {
    let (backend, seen) = recording_server("127.0.254.19:0");
    let globals = [
        "ssl-server-verify none",
        "ssl-server-verify none\n  ssl-default-server-options no-tlsv13",
        "ssl-server-verify none\n  ssl-default-server-ciphersuites TLS_CHACHA20_POLY1305_SHA256",
        "ssl-server-verify none\n  ssl-default-server-options no-tlsv13\n  ssl-default-server-ciphers ECDHE-ECDSA-CHACHA20-POLY1305",
    ];
    let mut results = Vec::new();
    for (k, which) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let mut got = Vec::new();
        for (i, g) in globals.iter().enumerate() {
            let front = format!("127.0.254.{}:{}", 11 + k, 24980 + i);
            let cfg = format!(
                "global\n  {g}\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten l\n  bind {front}\n  server s {backend} ssl\n"
            );
            let p = start(which, "srvtlsdef", &cfg, front.parse().unwrap());
            got.push(format!("[{g}] {}", through(&front, &seen)));
            drop(p);
        }
        results.push(got);
    }
    assert_eq!(results[1], results[0], "haproxide (left), haproxy (right)");
    let h = &results[0];
    assert!(
        h[1].contains("TLSv1_2") && h[2].contains("CHACHA20"),
        "{h:#?}"
    );
}
