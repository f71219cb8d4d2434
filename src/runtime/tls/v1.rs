//! Client certificate verification for `bind … ca-file … verify optional|required`, as
//! OpenSSL (haproxy) verifies: webpki for X.509 v3 certificates, and for X.509 v1 client
//! certificates (what `openssl x509 -req` makes without `-extfile`, common in device
//! fleets), which webpki refuses to read, a chain check of the same strictness written
//! on x509-parser and aws-lc: every signature up to a `ca-file` certificate, validity
//! of each certificate at the handshake time, intermediates only if they are v3 CAs (a v1
//! certificate is a CA for OpenSSL only when it is self-signed, that is a root), and with
//! a `crl-file` a current CRL from each issuer (OpenSSL's CRL_CHECK_ALL, which haproxy
//! sets): none found, expired or listing the serial fails the certificate. The TLS
//! handshake signature of a v1 certificate is checked here too (rustls' own check reads
//! the certificate with webpki).

use std::sync::Arc;

use aws_lc_rs::signature as sig;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
use x509_parser::prelude::*;

/// Longest chain followed above the client certificate.
const MAX_DEPTH: usize = 8;

/// The verifier a `verify`ing bind uses.
#[derive(Debug)]
pub(super) struct ClientVerifier {
    /// webpki's verifier, for v3 certificates and everything but the certificate check.
    pub(super) inner: Arc<dyn ClientCertVerifier>,
    /// The `ca-file` certificates (trust anchors).
    pub(super) roots: Vec<CertificateDer<'static>>,
    /// With a `crl-file`, its CRLs (possibly none: then no certificate can be verified).
    pub(super) crls: Option<Vec<CertificateRevocationListDer<'static>>>,
}

fn bad(e: CertificateError) -> Error {
    Error::InvalidCertificate(e)
}

fn is_v1(der: &CertificateDer<'_>) -> bool {
    X509Certificate::from_der(der).is_ok_and(|(_, c)| c.version() == X509Version::V1)
}

impl ClientVerifier {
    /// Verifies a v1 client certificate and the chain the client sent.
    fn verify_v1(
        &self,
        ee: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), Error> {
        let now = ASN1Time::from_timestamp(now.as_secs() as i64)
            .map_err(|_| bad(CertificateError::BadEncoding))?;
        let valid = |c: &X509Certificate<'_>| -> Result<(), Error> {
            let v = c.validity();
            if now < v.not_before {
                return Err(bad(CertificateError::NotValidYet));
            }
            if now > v.not_after {
                return Err(bad(CertificateError::Expired));
            }
            Ok(())
        };
        let roots: Vec<X509Certificate<'_>> = self
            .roots
            .iter()
            .filter_map(|r| X509Certificate::from_der(r).ok().map(|(_, c)| c))
            .collect();
        let inters: Vec<X509Certificate<'_>> = intermediates
            .iter()
            .filter_map(|r| X509Certificate::from_der(r).ok().map(|(_, c)| c))
            .collect();
        let mut cur = X509Certificate::from_der(ee)
            .map(|(_, c)| c)
            .map_err(|_| bad(CertificateError::BadEncoding))?;
        valid(&cur)?;
        for _ in 0..=MAX_DEPTH {
            let signed_by = |i: &X509Certificate<'_>| {
                i.subject().as_raw() == cur.issuer().as_raw()
                    && cur.verify_signature(Some(i.public_key())).is_ok()
            };
            if let Some(root) = roots.iter().find(|r| signed_by(r)) {
                valid(root)?;
                return self.not_revoked(&cur, root, now);
            }
            // An intermediate: a v3 CA, as OpenSSL's check_ca requires of a non-root.
            let Some(next) = inters
                .iter()
                .find(|i| signed_by(i) && i.version() == X509Version::V3 && i.is_ca())
            else {
                return Err(bad(CertificateError::UnknownIssuer));
            };
            valid(next)?;
            self.not_revoked(&cur, next, now)?;
            cur = next.clone();
        }
        Err(bad(CertificateError::UnknownIssuer))
    }

    /// With a `crl-file`: `cert` is not revoked by a current CRL of `issuer`.
    fn not_revoked(
        &self,
        cert: &X509Certificate<'_>,
        issuer: &X509Certificate<'_>,
        now: ASN1Time,
    ) -> Result<(), Error> {
        let Some(crls) = &self.crls else {
            return Ok(());
        };
        let crl = crls.iter().find_map(|d| {
            let (_, crl) = CertificateRevocationList::from_der(d).ok()?;
            (crl.issuer().as_raw() == issuer.subject().as_raw()
                && crl.verify_signature(issuer.public_key()).is_ok())
            .then_some(crl)
        });
        let Some(crl) = crl else {
            return Err(bad(CertificateError::UnknownRevocationStatus));
        };
        if crl.next_update().is_some_and(|n| n < now) {
            return Err(bad(CertificateError::ExpiredRevocationList));
        }
        if crl
            .iter_revoked_certificates()
            .any(|r| r.raw_serial() == cert.raw_serial())
        {
            return Err(bad(CertificateError::Revoked));
        }
        Ok(())
    }
}

/// Checks a handshake signature made with a v1 certificate's key. In TLS 1.2 an ECDSA
/// scheme names the hash only (a P-256 key may sign with SHA-384), so the curve comes
/// from the key; in TLS 1.3 the scheme fixes both, and RSA must be PSS.
fn v1_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    tls13: bool,
) -> Result<HandshakeSignatureValid, Error> {
    use SignatureScheme::*;
    let (_, c) = X509Certificate::from_der(cert).map_err(|_| bad(CertificateError::BadEncoding))?;
    let spki = c.public_key();
    let curve = crate::tls_files::curve(spki);
    let p256 = curve.as_deref() == Some("1.2.840.10045.3.1.7");
    let p384 = curve.as_deref() == Some("1.3.132.0.34");
    let alg: &dyn sig::VerificationAlgorithm = match dss.scheme {
        RSA_PKCS1_SHA256 if !tls13 => &sig::RSA_PKCS1_2048_8192_SHA256,
        RSA_PKCS1_SHA384 if !tls13 => &sig::RSA_PKCS1_2048_8192_SHA384,
        RSA_PKCS1_SHA512 if !tls13 => &sig::RSA_PKCS1_2048_8192_SHA512,
        RSA_PSS_SHA256 => &sig::RSA_PSS_2048_8192_SHA256,
        RSA_PSS_SHA384 => &sig::RSA_PSS_2048_8192_SHA384,
        RSA_PSS_SHA512 => &sig::RSA_PSS_2048_8192_SHA512,
        ECDSA_NISTP256_SHA256 if p256 => &sig::ECDSA_P256_SHA256_ASN1,
        ECDSA_NISTP256_SHA256 if p384 && !tls13 => &sig::ECDSA_P384_SHA256_ASN1,
        ECDSA_NISTP384_SHA384 if p384 => &sig::ECDSA_P384_SHA384_ASN1,
        ECDSA_NISTP384_SHA384 if p256 && !tls13 => &sig::ECDSA_P256_SHA384_ASN1,
        ED25519 => &sig::ED25519,
        _ => {
            return Err(Error::PeerIncompatible(
                rustls::PeerIncompatible::NoSignatureSchemesInCommon,
            ))
        }
    };
    let key = sig::UnparsedPublicKey::new(alg, &spki.subject_public_key.data);
    key.verify(message, dss.signature())
        .map(|_| HandshakeSignatureValid::assertion())
        .map_err(|_| bad(CertificateError::BadSignature))
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        ee: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        if self.crls.as_ref().is_some_and(Vec::is_empty) {
            // A crl-file without a CRL: OpenSSL finds no issuer's CRL for anyone.
            return Err(bad(CertificateError::UnknownRevocationStatus));
        }
        if is_v1(ee) {
            self.verify_v1(ee, intermediates, now)?;
            return Ok(ClientCertVerified::assertion());
        }
        self.inner.verify_client_cert(ee, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        if is_v1(cert) {
            return v1_signature(message, cert, dss, false);
        }
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        if is_v1(cert) {
            return v1_signature(message, cert, dss, true);
        }
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
