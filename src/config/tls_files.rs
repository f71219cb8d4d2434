//! Checks of certificate files done while parsing, as HAProxy loads them during `-c`
//! (configuration.txt §5.1 `crt`): the file must exist, hold a certificate, hold a key or have
//! one in `<crt>.key` beside it, and the key must match the certificate.

use std::fs;
use std::io::BufReader;

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

/// Reads every certificate and the first key of a PEM file.
pub fn read_pem(path: &str) -> std::io::Result<PemContents> {
    let data = fs::read(path)?;
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
    let ck = rustls::sign::CertifiedKey::new(pem.certs, signing);
    if ck.keys_match().is_err() {
        return Err(format!(
            "inconsistencies between private key and certificate loaded '{path}'."
        ));
    }
    Ok(())
}

/// The strerror() text HAProxy prints.
pub fn os_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    }
}

/// Reads the CRLs of a PEM file (`crl-file`).
pub fn read_crls(
    path: &str,
) -> std::io::Result<Vec<rustls::pki_types::CertificateRevocationListDer<'static>>> {
    let data = fs::read(path)?;
    let mut rd = BufReader::new(&data[..]);
    Ok(rustls_pemfile::crls(&mut rd)
        .filter_map(|c| c.ok())
        .collect())
}
