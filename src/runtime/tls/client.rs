//! TLS towards servers, `server … ssl` (configuration.txt §5.2 `ssl`, `verify`, `ca-file`,
//! `sni`, `verifyhost`, `crt`, `alpn`, `ssl-min-ver`, `ciphers`), with rustls.
//!
//! Verification follows HAProxy: with `verify required` the chain must lead to `ca-file`;
//! the name checked is the SNI sent, else `verifyhost`, else none at all (HAProxy checks
//! no name when it sent none). `verify none` accepts any certificate, but the handshake
//! signatures are still checked against it.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::aws_lc_rs as provider;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::SignatureScheme;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error};

use crate::ir::{Server, ServerTls};
use crate::tls_files::read_pem;

/// What a session needs to open TLS to one server.
#[derive(Clone)]
pub struct Connector {
    /// The client configuration (shared; it holds the resumption cache).
    pub tls: tokio_rustls::TlsConnector,
    /// The name given to rustls: the SNI, `verifyhost`, or the server's address.
    pub name: ServerName<'static>,
    /// The name goes out as SNI (`sni`), rather than only being checked (`verifyhost`).
    pub sends_sni: bool,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connector({:?})", self.name)
    }
}

/// Certificate checks as HAProxy makes them (see the module note).
#[derive(Debug)]
struct Verifier {
    /// None for `verify none`.
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// A name was asked for (SNI or verifyhost): it must match.
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algs = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algs = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Builds the connector of `s`'s TLS health checks (None when they go in clear): haproxy's
/// checks send only `check-sni`, never the traffic's `sni` (which then is not the name
/// checked either), and offer `check-alpn` when given.
pub fn check_connector(s: &Server) -> Result<Option<Connector>, String> {
    let Some(t) = s.tls.as_ref().filter(|t| t.check) else {
        return Ok(None);
    };
    let mut own = s.clone();
    if let Some(o) = own.tls.as_mut() {
        o.sni = t.check_sni.clone();
        if let Some(a) = &t.check_alpn {
            o.common.alpn = a.clone();
        }
    }
    connector(&own)
}

/// Builds the connector of `s` (None without `ssl`); the error says what is wrong.
pub fn connector(s: &Server) -> Result<Option<Connector>, String> {
    let Some(t) = &s.tls else { return Ok(None) };
    let (cfg, name) = client_config(t, s)?;
    Ok(Some(Connector {
        sends_sni: cfg.enable_sni,
        tls: tokio_rustls::TlsConnector::from(cfg),
        name,
    }))
}

fn client_config(
    t: &ServerTls,
    s: &Server,
) -> Result<(Arc<ClientConfig>, ServerName<'static>), String> {
    let cipher_suites = crate::runtime::tls::server::suites(&t.common.ciphers)?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        ..provider::default_provider()
    });
    let versions =
        crate::runtime::tls::server::versions(t.common.min_version, t.common.max_version)?;
    let chain = match (t.verify, &t.common.ca_file) {
        (false, _) => None,
        (true, None) => return Err("verify is required but no ca-file is given".into()),
        (true, Some(ca)) => {
            let roots = Arc::new(crate::runtime::tls::server::roots(ca)?);
            let v = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| format!("server verification: {e}"))?;
            Some(v)
        }
    };
    let sni = t.sni.clone();
    let asked = sni.clone().or_else(|| t.verifyhost.clone());
    let name = match &asked {
        Some(n) => ServerName::try_from(n.clone())
            .map_err(|_| format!("'{n}' is not a valid server name"))?,
        None => match s.addr {
            Some(ip) => ServerName::IpAddress(ip.into()),
            None => ServerName::try_from("unresolved.invalid").map_err(|e| e.to_string())?,
        },
    };
    let verifier = Arc::new(Verifier {
        chain,
        check_name: asked.is_some(),
        provider: provider.clone(),
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("TLS settings: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut cfg = match &t.crt {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let ck = crate::runtime::tls::server::load_cert(path)?;
            let key = read_pem(path)
                .ok()
                .and_then(|p| p.key)
                .or_else(|| read_pem(&format!("{path}.key")).ok().and_then(|p| p.key))
                .ok_or_else(|| format!("No Private Key found in '{path}'."))?;
            builder
                .with_client_auth_cert(ck.cert.clone(), key)
                .map_err(|e| format!("client certificate '{path}': {e}"))?
        }
    };
    // An SNI goes out only when `sni` asks for one; `verifyhost` alone is checked, not sent.
    cfg.enable_sni = sni.is_some();
    cfg.alpn_protocols = t.common.alpn_protocols();
    Ok((Arc::new(cfg), name))
}
