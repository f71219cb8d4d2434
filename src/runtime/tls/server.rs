//! TLS termination for `bind … ssl` with rustls (configuration.txt §5.1 SSL bind options).
//!
//! Certificates load as HAProxy loads them: a PEM bundle in any order, the key in
//! `<crt>.key` when the bundle has none, a directory of such files. The certificate is
//! chosen by SNI (CN and SAN, wildcards); no SNI or an unknown name gets the first one
//! unless `strict-sni`. Versions are TLS 1.2 and 1.3 only (rustls has nothing older), and
//! OpenSSL cipher names are mapped to the suites rustls offers.
//! All `rustls-pemfile` use stays in `tls_files`, so it can be swapped in one place.

use std::sync::Arc;

use rustls::crypto::aws_lc_rs as provider;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite};

use crate::ir::{BindTls, Cipher, Ciphers, TlsVersion, Verify};
use crate::runtime::proto::proxy_protocol::OwnCert;
use crate::tls_files::{read_pem, PemContents};

/// Loads one PEM file (and its `.key` when needed) as a signing certificate.
pub(super) fn load_cert(path: &str) -> Result<Arc<CertifiedKey>, String> {
    let PemContents { certs, key } = read_pem(path)
        .map_err(|e| format!("unable to load certificate from file '{path}': {e}"))?;
    if certs.is_empty() {
        return Err(format!("unable to load certificate from file '{path}'."));
    }
    let key = match key {
        Some(k) => k,
        None => read_pem(&format!("{path}.key"))
            .ok()
            .and_then(|p| p.key)
            .ok_or_else(|| format!("No Private Key found in '{path}.key'."))?,
    };
    let signer = provider::sign::any_supported_type(&key)
        .map_err(|e| format!("unusable private key in '{path}': {e}"))?;
    Ok(Arc::new(CertifiedKey::new(certs, signer)))
}

/// Expands `crt` arguments (files or directories) into certificates, in HAProxy's order.
fn load_all(crt: &[String]) -> Result<Vec<Named>, String> {
    let mut out = Vec::new();
    for c in crt {
        let meta = std::fs::metadata(c)
            .map_err(|e| format!("unable to stat SSL certificate from file '{c}' : {e}."))?;
        let files: Vec<String> = if meta.is_dir() {
            crate::tls_files::crt_dir_files(c)?
        } else {
            vec![c.clone()]
        };
        for f in files {
            let ck = load_cert(&f)?;
            let names = crate::tls_files::cert_names(&ck.cert[0]);
            let (key, sig) = crate::tls_files::key_and_sig(&ck.cert[0]);
            let own = Arc::new(OwnCert {
                key: key.map(Box::from),
                sig,
            });
            out.push(Named { ck, names, own });
        }
    }
    Ok(out)
}

/// A certificate with the names its leaf serves and what PROXY v2 TLVs say of it.
#[derive(Debug)]
struct Named {
    ck: Arc<CertifiedKey>,
    names: Vec<String>,
    own: Arc<OwnCert>,
}

/// Picks the certificate for the SNI of a ClientHello, by the names each leaf carries
/// (read once at load: SANs and CNs, v1 certificates included).
#[derive(Debug)]
struct BySni {
    certs: Vec<Named>,
    strict: bool,
}

impl BySni {
    /// The certificate served for `sni`: the first whose names match, else the first one
    /// unless `strict-sni`.
    fn pick(&self, sni: Option<&str>) -> Option<&Named> {
        if let Some(name) = sni {
            let hit = self.certs.iter().find(|c| {
                c.names
                    .iter()
                    .any(|n| crate::tls_files::sni_matches(n, name))
            });
            if hit.is_some() {
                return hit;
            }
        }
        if self.strict {
            return None;
        }
        self.certs.first()
    }
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name()).map(|c| c.ck.clone())
    }
}

/// TLS termination for one `bind … ssl` line: the rustls configuration, and the
/// certificates it serves, so a session learns which one its handshake used (rustls does
/// not say).
#[derive(Debug)]
pub struct Terminator {
    /// The rustls configuration handshakes run with.
    pub config: Arc<ServerConfig>,
    certs: Arc<BySni>,
}

impl Terminator {
    /// What the certificate served to a client that sent `sni` says for PROXY v2 TLVs
    /// (the resolver's choice, which depends on the SNI only).
    pub fn served(&self, sni: Option<&str>) -> Option<Arc<OwnCert>> {
        // rustls gives its resolver no name for an IP address sent as SNI.
        let sni = sni.filter(|n| n.parse::<std::net::IpAddr>().is_err());
        self.certs.pick(sni).map(|c| c.own.clone())
    }
}

/// The cipher a handshake negotiated, by the suite rustls names (one of those it was
/// offered, so always known).
pub fn cipher_of(s: rustls::CipherSuite) -> Option<Cipher> {
    use rustls::CipherSuite as S;
    Some(match s {
        S::TLS13_AES_128_GCM_SHA256 => Cipher::Tls13Aes128Gcm,
        S::TLS13_AES_256_GCM_SHA384 => Cipher::Tls13Aes256Gcm,
        S::TLS13_CHACHA20_POLY1305_SHA256 => Cipher::Tls13Chacha20,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => Cipher::EcdheEcdsaAes128Gcm,
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => Cipher::EcdheRsaAes128Gcm,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => Cipher::EcdheEcdsaAes256Gcm,
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => Cipher::EcdheRsaAes256Gcm,
        S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => Cipher::EcdheEcdsaChacha20,
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => Cipher::EcdheRsaChacha20,
        _ => return None,
    })
}

/// The rustls suite of a cipher (with the faster HKDF where there is one).
fn suite(c: Cipher) -> SupportedCipherSuite {
    use provider::cipher_suite::*;
    let s = match c {
        Cipher::Tls13Aes128Gcm => TLS13_AES_128_GCM_SHA256,
        Cipher::Tls13Aes256Gcm => TLS13_AES_256_GCM_SHA384,
        Cipher::Tls13Chacha20 => TLS13_CHACHA20_POLY1305_SHA256,
        Cipher::EcdheEcdsaAes128Gcm => TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        Cipher::EcdheRsaAes128Gcm => TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        Cipher::EcdheEcdsaAes256Gcm => TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        Cipher::EcdheRsaAes256Gcm => TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        Cipher::EcdheEcdsaChacha20 => TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        Cipher::EcdheRsaChacha20 => TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    };
    crate::runtime::tls::hkdf::faster(s)
}

/// The rustls suites of `c`, in order; an error naming what was dropped when none is left.
pub(super) fn suites(c: &Ciphers) -> Result<Vec<SupportedCipherSuite>, String> {
    if c.suites.is_empty() {
        return Err(format!(
            "no usable cipher left (rustls has none of: {})",
            c.dropped.join(", ")
        ));
    }
    Ok(c.suites.iter().map(|&x| suite(x)).collect())
}

/// The certificates of a `ca-file`, as trust anchors.
pub(super) fn roots(ca: &str) -> Result<RootCertStore, String> {
    let pem = read_pem(ca).map_err(|e| format!("unable to load ca-file '{ca}': {e}"))?;
    let mut roots = RootCertStore::empty();
    for c in pem.certs {
        roots
            .add(c)
            .map_err(|e| format!("bad CA certificate in '{ca}': {e}"))?;
    }
    Ok(roots)
}

/// The versions rustls may use between `min` and `max` (TLS 1.2 and 1.3 are all it has).
pub(super) fn versions(
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let min = min.unwrap_or(TlsVersion::Tls12).max(TlsVersion::Tls12);
    let max = max.unwrap_or(TlsVersion::Tls13);
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if min <= TlsVersion::Tls12 && max >= TlsVersion::Tls12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= TlsVersion::Tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if versions.is_empty() {
        return Err("no TLS version left: rustls supports TLSv1.2 and TLSv1.3 only".into());
    }
    Ok(versions)
}

/// Builds the rustls configuration of one `bind … ssl` line (cipher names rustls lacks
/// were reported by the configuration check).
pub fn server_config(t: &BindTls) -> Result<Arc<Terminator>, String> {
    let certs = load_all(&t.crt)?;
    if certs.is_empty() {
        return Err("no certificate loaded".into());
    }
    let cipher_suites = suites(&t.common.ciphers)?;
    // The key exchanges haproxy 2.6 with Debian's OpenSSL 3.0 offers (no post-quantum
    // hybrid, which aws-lc would otherwise prefer): X25519, P-256, P-384.
    let cp = CryptoProvider {
        cipher_suites,
        kx_groups: vec![
            provider::kx_group::X25519,
            provider::kx_group::SECP256R1,
            provider::kx_group::SECP384R1,
        ],
        ..provider::default_provider()
    };
    let versions = versions(t.common.min_version, t.common.max_version)?;
    let builder = ServerConfig::builder_with_provider(Arc::new(cp))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("TLS settings: {e}"))?;
    let builder = match (t.verify, &t.common.ca_file) {
        (Verify::None, _) | (_, None) => builder.with_no_client_auth(),
        (v, Some(ca)) => {
            let anchors = read_pem(ca)
                .map_err(|e| format!("unable to load ca-file '{ca}': {e}"))?
                .certs;
            let mut vb = WebPkiClientVerifier::builder(Arc::new(roots(ca)?));
            // With a crl-file, OpenSSL (CRL_CHECK|CRL_CHECK_ALL, as haproxy sets) needs a
            // current CRL from each issuer in the chain: an expired one fails the check, and
            // a file with no CRL at all makes every client certificate fail.
            let mut crls = None;
            if let Some(crl) = &t.crl_file {
                let ca = crate::tls_files::read_ca(crl)
                    .map_err(|e| format!("unable to load crl-file '{crl}': {e}"))?;
                vb = vb
                    .with_crls(ca.crls.clone())
                    .enforce_revocation_expiration();
                crls = Some(ca.crls);
            }
            if v == Verify::Optional {
                vb = vb.allow_unauthenticated();
            }
            let inner = vb
                .build()
                .map_err(|e| format!("client verification: {e}"))?;
            builder.with_client_cert_verifier(Arc::new(crate::runtime::tls::v1::ClientVerifier {
                inner,
                roots: anchors,
                crls,
            }))
        }
    };
    let pick = Arc::new(BySni {
        certs,
        strict: t.strict_sni,
    });
    let mut cfg = builder.with_cert_resolver(pick.clone());
    // HAProxy prefers its own cipher order unless prefer-client-ciphers.
    cfg.ignore_client_order = !t.prefer_client_ciphers;
    cfg.alpn_protocols = t.common.alpn_protocols();
    // Resumption as HAProxy offers it: a 20,000-session cache (tune.ssl.cachesize's
    // default) and, unless `no-tls-tickets`, stateless tickets (keys made at each start or
    // reload, as haproxy does without `tls-ticket-keys`). rustls' own cache is 256.
    // Without tickets, TLS 1.3 still resumes: its tickets then name sessions in the cache,
    // as OpenSSL's do under SSL_OP_NO_TICKET (measured against haproxy 2.6.12).
    cfg.session_storage = rustls::server::ServerSessionMemoryCache::new(20_000);
    if !t.no_tls_tickets {
        cfg.ticketer =
            provider::Ticketer::new().map_err(|e| format!("TLS session tickets: {e}"))?;
    }
    Ok(Arc::new(Terminator {
        config: Arc::new(cfg),
        certs: pick,
    }))
}

/// The version a handshake negotiated.
pub fn version_of(v: Option<rustls::ProtocolVersion>) -> Option<TlsVersion> {
    match v? {
        rustls::ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
        rustls::ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
        // rustls negotiates nothing else.
        _ => None,
    }
}

/// The subject CN of a DER certificate.
pub fn subject_cn(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    Some(cn)
}
