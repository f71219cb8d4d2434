//! Certificate, key and CA/CRL file reading, shared by `-c` (config) and the runtime (TLS
//! setup on start and reload), so both read a file the same way and agree on what is valid.
//! All `rustls-pemfile` use stays here, so it can be swapped in one place.
//!
//! Checks of certificate files done while parsing, as HAProxy loads them during `-c`
//! (configuration.txt §5.1 `crt`): the file must exist, hold a certificate, hold a key or have
//! one in `<crt>.key` beside it, and the key must match the certificate.
//!
//! `-c` runs in CI on files nobody vetted: every read here is of a regular file, bounded
//! in size, and opened without blocking, so `crt /dev/zero` or a FIFO as `ca-file` is an
//! error, never an endless read or a hang.

use std::fs;

use crate::sys::os_text;
use std::io::{BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls_pemfile::Item;

/// What a PEM file holds.
#[derive(Debug, Default)]
pub struct PemContents {
    /// Certificates in file order (leaf first in a proper bundle).
    pub certs: Vec<CertificateDer<'static>>,
    /// The first private key.
    pub key: Option<PrivateKeyDer<'static>>,
}

/// The largest certificate, key, CA or CRL file read (a CA bundle of every public root is
/// about 200 KB; large CRLs run to a few MB).
pub const MAX_FILE: u64 = 64 << 20;

/// The contents of a regular file of at most [`MAX_FILE`] bytes. Opened non-blocking, so
/// that a FIFO without writer does not hang the open; anything but a regular file is
/// refused before a byte is read.
pub fn read_bounded(path: &str) -> std::io::Result<Vec<u8>> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(std::io::Error::other(format!(
            "larger than {} MB",
            MAX_FILE >> 20
        )));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_FILE + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_FILE {
        return Err(std::io::Error::other(format!(
            "larger than {} MB",
            MAX_FILE >> 20
        )));
    }
    Ok(data)
}

/// Reads every certificate and the first key of a PEM file.
pub fn read_pem(path: &str) -> std::io::Result<PemContents> {
    let data = read_bounded(path)?;
    let mut rd = BufReader::new(&data[..]);
    let mut out = PemContents::default();
    for item in rustls_pemfile::read_all(&mut rd) {
        match item {
            Ok(Item::X509Certificate(c)) => out.certs.push(c),
            Ok(Item::Pkcs1Key(k)) if out.key.is_none() => out.key = Some(PrivateKeyDer::Pkcs1(k)),
            Ok(Item::Pkcs8Key(k)) if out.key.is_none() => out.key = Some(PrivateKeyDer::Pkcs8(k)),
            Ok(Item::Sec1Key(k)) if out.key.is_none() => out.key = Some(PrivateKeyDer::Sec1(k)),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(out)
}

/// The certificate files of a `crt` directory, as HAProxy takes them: regular files, not
/// hidden, not `.key`/`.ocsp`/`.issuer`/`.sctl`, in name order.
pub fn crt_dir_files(path: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = fs::read_dir(path)
        .map_err(|e| format!("unable to scan directory '{path}' : {}.", os_text(&e)))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !n.starts_with('.')
                && ![".key", ".ocsp", ".issuer", ".sctl"]
                    .iter()
                    .any(|x| n.ends_with(x))
                && p.is_file()
        })
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Checks one `crt` argument; the error is HAProxy's wording (without the bind prefix).
pub fn check_crt(path: &str) -> Result<(), String> {
    let meta = fs::metadata(path).map_err(|e| {
        format!(
            "unable to stat SSL certificate from file '{path}' : {}.",
            os_text(&e)
        )
    })?;
    if meta.is_dir() {
        let names = crt_dir_files(path)?;
        for p in names {
            check_crt(&p)?;
        }
        return Ok(());
    }
    let pem = read_pem(path).map_err(|e| {
        format!(
            "unable to load certificate from file '{path}' : {}.",
            os_text(&e)
        )
    })?;
    if pem.certs.is_empty() {
        return Err(format!("unable to load certificate from file '{path}'."));
    }
    let key = match pem.key {
        Some(k) => k,
        None => {
            // HAProxy appends ".key" to the full name (emqx.pem -> emqx.pem.key).
            let kp = format!("{path}.key");
            match read_pem(&kp).ok().and_then(|p| p.key) {
                Some(k) => k,
                None => return Err(format!("No Private Key found in '{kp}'.")),
            }
        }
    };
    let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|_| format!("unable to load SSL private key from file '{path}'."))?;
    if !key_matches(&pem.certs[0], signing.as_ref()) {
        return Err(format!(
            "inconsistencies between private key and certificate loaded '{path}'."
        ));
    }
    Ok(())
}

/// Whether `key` is the private half of `leaf`'s public key. Read with x509-parser, which
/// takes X.509 v1 certificates as OpenSSL does (rustls' own check goes through webpki,
/// which only reads v3, and called a v1 certificate "inconsistent" with its key).
pub fn key_matches(leaf: &CertificateDer<'_>, key: &dyn rustls::sign::SigningKey) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) else {
        return false;
    };
    key.public_key()
        .is_some_and(|spki| spki.as_ref() == cert.tbs_certificate.subject_pki.raw)
}

/// The names a certificate serves for SNI, as haproxy indexes them: its DNS
/// subjectAltNames and its subject CNs, lower-cased (v1 certificates have CNs only).
pub fn cert_names(leaf: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                names.push(d.to_ascii_lowercase());
            }
        }
    }
    for cn in cert.subject().iter_common_name() {
        if let Ok(v) = cn.as_str() {
            names.push(v.to_ascii_lowercase());
        }
    }
    names
}

/// Whether an SNI `name` is served by a certificate name: exactly, or by a wildcard
/// `*.domain` covering one label (haproxy's rule; matching ignores case).
pub fn sni_matches(cert_name: &str, name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    match cert_name.strip_prefix("*.") {
        Some(domain) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == domain),
        None => cert_name == name,
    }
}

/// What a `ca-file` or `crl-file` holds, as OpenSSL's PEM lookup that haproxy uses reads
/// it (DER is not read).
#[derive(Debug, Default)]
pub struct CaContents {
    /// Certificates.
    pub certs: Vec<CertificateDer<'static>>,
    /// Certificate revocation lists.
    pub crls: Vec<rustls::pki_types::CertificateRevocationListDer<'static>>,
}

/// Reads a `ca-file` or `crl-file`. As haproxy, a file with neither a certificate nor a
/// CRL is an error ("no certificate or crl found"), so an unreadable revocation list can
/// never silently turn revocation checks off. The error is the text haproxy puts in
/// "Couldn't open the ca-file '…' (<text>)."
pub fn read_ca(path: &str) -> Result<CaContents, String> {
    let data = read_bounded(path).map_err(|e| os_text(&e))?;
    let mut rd = BufReader::new(&data[..]);
    let mut out = CaContents::default();
    for item in rustls_pemfile::read_all(&mut rd) {
        match item {
            Ok(Item::X509Certificate(c)) => out.certs.push(c),
            Ok(Item::Crl(c)) => out.crls.push(c),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    if out.certs.is_empty() && out.crls.is_empty() {
        return Err("no certificate or crl found".into());
    }
    Ok(out)
}

/// What haproxy's PROXY v2 `cert-key` and `cert-sig` sub-TLVs say of a certificate it
/// serves: the key type and size as haproxy writes them ("RSA2048", "EC256"; none for
/// other key types), and the signature algorithm's OpenSSL short name ("RSA-SHA256",
/// "ecdsa-with-SHA256"; "UNDEF" for one OpenSSL has no name for).
pub fn key_and_sig(leaf: &CertificateDer<'_>) -> (Option<String>, &'static str) {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) else {
        return (None, "UNDEF");
    };
    let sig = match cert.signature_algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.4" => "RSA-MD5",
        "1.2.840.113549.1.1.5" => "RSA-SHA1",
        "1.2.840.113549.1.1.14" => "RSA-SHA224",
        "1.2.840.113549.1.1.11" => "RSA-SHA256",
        "1.2.840.113549.1.1.12" => "RSA-SHA384",
        "1.2.840.113549.1.1.13" => "RSA-SHA512",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        _ => "UNDEF",
    };
    let spki = cert.public_key();
    let key = match spki.parsed() {
        // The modulus' significant bits (OpenSSL's EVP_PKEY_bits).
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
            let m: &[u8] = rsa.modulus;
            let m = &m[m.iter().take_while(|b| **b == 0).count()..];
            m.first()
                .map(|top| format!("RSA{}", m.len() * 8 - top.leading_zeros() as usize))
        }
        // The curve's order size, named by its OID in the algorithm's parameters.
        Ok(x509_parser::public_key::PublicKey::EC(_)) => {
            let bits = match curve(spki).as_deref() {
                Some("1.2.840.10045.3.1.7" | "1.3.132.0.10") => Some(256),
                Some("1.3.132.0.34") => Some(384),
                Some("1.3.132.0.35") => Some(521),
                Some("1.3.132.0.33") => Some(224),
                _ => None,
            };
            bits.map(|b| format!("EC{b}"))
        }
        _ => None,
    };
    (key, sig)
}

/// The named curve of an EC key, as a dotted OID (in the algorithm's parameters).
pub fn curve(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Option<String> {
    spki.algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
}
