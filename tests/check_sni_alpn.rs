//! `check-sni` and `check-alpn`, seen from the server: a rustls server records the name and
//! the protocol each TLS health check offered, or that the handshake failed, for haproxy
//! and haproxide on the same configuration. Checks never send the traffic's `sni`; with
//! `verify required` the certificate is checked against `check-sni`.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{start, Which};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

type Seen = Arc<Mutex<Vec<String>>>;

/// A CA (written to `ca.pem` in `dir`) and a rustls server configuration with a
/// certificate for backend.test signed by it, offering mqtt and h2.
fn server_config(dir: &Path) -> Arc<rustls::ServerConfig> {
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "check test CA");
    let ca = p.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    let issuer = Issuer::new(p, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["backend.test".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    cfg.alpn_protocols = vec![b"mqtt".to_vec(), b"h2".to_vec()];
    Arc::new(cfg)
}

/// A TLS server on `addr` recording each handshake: the SNI and ALPN protocol, or "failed".
fn recording(addr: &str, cfg: Arc<rustls::ServerConfig>) -> Seen {
    let l = TcpListener::bind(addr).unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let mut conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            // A check that closes once the handshake is done may make the last write
            // (session tickets) fail: what counts is whether the handshake completed.
            while conn.is_handshaking() && conn.complete_io(&mut c).is_ok() {}
            let text = if !conn.is_handshaking() {
                format!(
                    "sni={:?} alpn={:?}",
                    conn.server_name(),
                    conn.alpn_protocol()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                )
            } else {
                "handshake failed".to_string()
            };
            log.lock().unwrap().push(text);
        }
    });
    seen
}

const CASES: [&str; 9] = [
    "check check-ssl verify none",
    "ssl verify none sni str(traffic.test) check",
    "ssl verify none check check-sni check.test",
    "ssl verify none alpn mqtt check",
    "ssl verify none alpn mqtt check check-alpn h2",
    "check check-ssl verify none check-alpn h2,mqtt check-sni c5.test",
    "check check-ssl verify required ca-file CA check-sni backend.test",
    "check check-ssl verify required ca-file CA check-sni wrong.test",
    "check check-ssl verify required ca-file CA",
];

/// Each proxy checks servers of its own: a check the previous proxy left half-done when
/// it stopped must not count.
fn backend(w: Which, i: usize) -> SocketAddr {
    let base = if matches!(w, Which::Haproxy) { 10 } else { 30 };
    format!("127.0.81.{}:24600", base + i).parse().unwrap()
}

fn run(w: Which, dir: &Path, cfg: &Arc<rustls::ServerConfig>) -> Vec<String> {
    let seen: Vec<Seen> = (0..CASES.len())
        .map(|i| recording(&backend(w, i).to_string(), cfg.clone()))
        .collect();
    let ca = dir.join("ca.pem");
    let mut cfg = String::from(
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 1s\n",
    );
    for (i, case) in CASES.iter().enumerate() {
        cfg.push_str(&format!(
            "listen l{i}\n  bind 127.0.81.1:{}\n  server s {} inter 300 {}\n",
            24610 + i,
            backend(w, i),
            case.replace("CA", &ca.display().to_string())
        ));
    }
    // The readiness probe goes to a listen of its own: through l0 it would reach the
    // recording server and could be seen before the first check.
    cfg.push_str("listen probe\n  bind 127.0.81.1:24619\n");
    let _p = start(w, "checksni", &cfg, "127.0.81.1:24619".parse().unwrap());
    let t0 = Instant::now();
    while seen.iter().any(|s| s.lock().unwrap().is_empty()) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{w:?}: a check never came"
        );
        thread::sleep(Duration::from_millis(20));
    }
    CASES
        .iter()
        .zip(&seen)
        .map(|(c, s)| format!("[{c}] {}", s.lock().unwrap()[0]))
        .collect()
}

#[test]
fn check_sni_and_alpn_match_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-checksni-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = server_config(&dir);
    let want = run(Which::Haproxy, &dir, &cfg);
    let got = run(Which::Haproxide, &dir, &cfg);
    assert_eq!(got, want, "haproxide (left), haproxy (right)");
    // What haproxy showed, so that both sides cannot be wrong alike.
    assert!(want[1].ends_with("sni=None alpn=None"), "{want:#?}");
    assert!(
        want[2].ends_with("sni=Some(\"check.test\") alpn=None"),
        "{want:#?}"
    );
    assert!(want[7].ends_with("handshake failed"), "{want:#?}");
}
