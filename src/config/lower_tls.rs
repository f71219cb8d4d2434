//! Lowering of TLS settings (configuration.txt §5.1 bind `ssl`, §5.2 server `ssl`, §3.1
//! `ssl-default-*`): the effective settings of a bind or server line, cipher lists resolved
//! against what rustls implements, version ranges, and the messages about what rustls
//! cannot do.

use super::ast::ServerOpts;
use super::diag::Diagnostic;
use super::lower::with_base;
use crate::ir::{BindTls, Cipher, Ciphers, ServerTls, TlsCommon, TlsVersion, Verify};

/// The suites of a `ciphersuites` (TLS 1.3) and a `ciphers` (TLS 1.2) list, in that
/// order; no list keeps every suite of that version in OpenSSL's DEFAULT order.
pub(super) fn resolve_ciphers(ciphersuites: Option<&str>, ciphers: Option<&str>) -> Ciphers {
    let mut out = Ciphers::default();
    for (list, tls13) in [(ciphersuites, true), (ciphers, false)] {
        let (suites, dropped) = resolve_list(list, tls13);
        out.suites.extend(suites);
        out.dropped.extend(dropped);
    }
    out
}

/// One OpenSSL cipher list: explicit names one by one (once each); a keyword such as
/// `HIGH` or `DEFAULT`, or no list, keeps every suite of the version in OpenSSL's DEFAULT
/// order; names rustls lacks are dropped and listed, for the messages. `-c`'s notes and
/// the IR read lists through this one function, so they always agree.
fn resolve_list(list: Option<&str>, tls13: bool) -> (Vec<Cipher>, Vec<String>) {
    let all = || {
        Cipher::OPENSSL_DEFAULT
            .into_iter()
            .filter(|c| c.tls13() == tls13)
            .collect()
    };
    let Some(list) = list else {
        return (all(), Vec::new());
    };
    let (mut named, mut dropped, mut keyword) = (Vec::new(), Vec::new(), false);
    for name in list
        .split(':')
        .filter(|n| !n.is_empty() && !n.starts_with('!') && !n.starts_with('-'))
    {
        match Cipher::from_openssl(name) {
            Some(c) if !named.contains(&c) => named.push(c),
            Some(_) => {}
            None if name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '+' || c == '@') =>
            {
                keyword = true
            }
            None => dropped.push(name.to_string()),
        }
    }
    (if keyword { all() } else { named }, dropped)
}

/// The literal of `sni str(<name>)` (the only SNI expression haproxide evaluates).
pub(super) fn sni_literal(expr: &str) -> Option<&str> {
    expr.strip_prefix("str(")?.strip_suffix(')')
}

/// What rustls cannot do of a bind's TLS settings, said at `-c` time so that `-c` and the
/// start agree: cipher names with no equivalent (WARNING listing them; ALERT when a TLS
/// version the bind offers is left with no cipher at all, since haproxy would serve those
/// clients and haproxide could not) and versions below TLS 1.2 (WARNING: never offered).
pub(super) fn tls_notes(
    t: &BindTls,
    (ciphersuites, ciphers): (Option<&str>, Option<&str>),
    text: &str,
    loc: &super::diag::Loc,
    diags: &mut super::diag::Diagnostics,
) {
    let min = t.common.min_version.unwrap_or(TlsVersion::Tls12);
    let max = t.common.max_version.unwrap_or(TlsVersion::Tls13);
    let mut dropped = Vec::new();
    for (list, version, offered, kw) in [
        (
            ciphersuites,
            "TLSv1.3",
            max >= TlsVersion::Tls13,
            "ciphersuites",
        ),
        (
            ciphers,
            "TLSv1.2",
            min <= TlsVersion::Tls12 && max >= TlsVersion::Tls12,
            "ciphers",
        ),
    ] {
        let Some(list) = list else { continue };
        let (suites, lost) = resolve_list(Some(list), version == "TLSv1.3");
        if offered && suites.is_empty() {
            diags.push(Diagnostic::alert(loc, format!("'bind {text}' : {kw} '{list}' (for {version}) is not supported by haproxide: rustls implements none of {} ({CIPHER_LIMITS}), so {version} clients could not connect. Add a supported cipher or stop offering {version}.", lost.join(", "))).checked());
        } else {
            dropped.extend(lost);
        }
    }
    if !dropped.is_empty() {
        diags.push(Diagnostic::warning(loc, format!("'bind {text}' : ciphers not offered by haproxide (rustls has no equivalent): {}.", dropped.join(", "))).checked());
    }
    if t.common.min_version.is_some_and(|v| v < TlsVersion::Tls12) {
        diags.push(Diagnostic::warning(loc, format!("'bind {text}' : SSLv3, TLSv1.0 and TLSv1.1 are never offered by haproxide (rustls supports TLSv1.2 and TLSv1.3 only).")).checked());
    }
}

/// What rustls can serve, for the messages (README "TLS" lists the same).
pub(super) const CIPHER_LIMITS: &str = "TLSv1.2 only with ECDHE key exchange and AES-GCM or CHACHA20-POLY1305: no CBC, RSA key exchange, DHE, CCM, 3DES or RC4; TLSv1.3 without the CCM suites";

pub(super) fn bind_tls(o: &super::ast::BindOpts, g: &super::parse::GlobalConf) -> BindTls {
    let d = &g.ir.ssl_bind_defaults;
    let mut no_tickets = o.no_tls_tickets;
    let mut prefer_client = o.prefer_client_ciphers;
    let strict_sni = o.strict_sni;
    for opt in &d.options {
        match opt.as_str() {
            "no-tls-tickets" => no_tickets = true,
            "prefer-client-ciphers" => prefer_client = true,
            _ => {}
        }
    }
    let range = version_range(&d.options, o.min_ver, o.max_ver, o.force, &o.no_versions);
    let lists = (o.ciphersuites.as_deref(), o.ciphers.as_deref());
    BindTls {
        common: common(range, lists, d, &o.alpn, o.ca_file.as_ref(), g),
        crt: o.crt.iter().map(|c| with_base(&g.crt_base, c)).collect(),
        crl_file: o.crl_file.as_ref().map(|c| with_base(&g.ca_base, c)),
        verify: o.verify.unwrap_or(Verify::None),
        no_tls_tickets: no_tickets,
        strict_sni,
        prefer_client_ciphers: prefer_client,
    }
}

/// The settings binds and servers share: a line's own cipher lists, else the defaults'.
fn common(
    (min_version, max_version): (Option<TlsVersion>, Option<TlsVersion>),
    (ciphersuites, ciphers): (Option<&str>, Option<&str>),
    d: &crate::ir::TlsDefaults,
    alpn: &[String],
    ca_file: Option<&String>,
    g: &super::parse::GlobalConf,
) -> TlsCommon {
    TlsCommon {
        min_version,
        max_version,
        ciphers: resolve_ciphers(
            ciphersuites.or(d.ciphersuites.as_deref()),
            ciphers.or(d.ciphers.as_deref()),
        ),
        alpn: alpn.to_vec(),
        ca_file: ca_file.map(|c| with_base(&g.ca_base, c)),
    }
}

/// `server … ssl` settings with `ssl-default-server-*` merged, as [`bind_tls`] does for binds.
pub(super) fn server_tls(o: &ServerOpts, g: &super::parse::GlobalConf) -> ServerTls {
    let d = &g.ir.ssl_server_defaults;
    let range = version_range(&d.options, o.min_ver, o.max_ver, o.force, &o.no_versions);
    let lists = (o.ciphersuites.as_deref(), o.ciphers.as_deref());
    ServerTls {
        common: common(range, lists, d, &o.alpn, o.ca_file.as_ref(), g),
        verify: o.verify.unwrap_or(!g.ir.ssl_server_verify_none),
        sni: o.sni.as_deref().and_then(sni_literal).map(str::to_string),
        crt: o.crt.as_ref().map(|c| with_base(&g.crt_base, c)),
        verifyhost: o.verifyhost.clone(),
        // Checks inherit TLS unless they go to another port or address (§5.2 check-ssl).
        // As haproxy: `check-ssl` or `no-check-ssl` decide; otherwise checks use TLS when
        // they go where the traffic goes (no check port or address of their own).
        check: o
            .check_ssl
            .unwrap_or(o.check_port.is_none() && o.check_addr.is_none()),
        traffic: o.ssl,
        check_sni: o.check_sni.clone(),
        check_alpn: o.check_alpn.clone(),
    }
}

/// The TLS version range of a bind or server line, from the `ssl-default-*-options`
/// (`defaults`) and the line's own `ssl-min-ver`, `ssl-max-ver`, `force-*` and `no-tlsv*`,
/// as HAProxy combines them.
pub(super) fn version_range(
    defaults: &[String],
    line_min: Option<TlsVersion>,
    line_max: Option<TlsVersion>,
    force: Option<TlsVersion>,
    line_no: &[TlsVersion],
) -> (Option<TlsVersion>, Option<TlsVersion>) {
    let (mut min, mut max) = (None, None);
    let mut no_versions = line_no.to_vec();
    for opt in defaults {
        let mut w = opt.split(' ');
        match (w.next(), w.next()) {
            (Some("ssl-min-ver"), Some(v)) => min = super::parse::global_tls_version(v),
            (Some("ssl-max-ver"), Some(v)) => max = super::parse::global_tls_version(v),
            (Some("no-tlsv12"), _) => no_versions.push(TlsVersion::Tls12),
            (Some("no-tlsv13"), _) => no_versions.push(TlsVersion::Tls13),
            // A forced version in the defaults sets both ends (a line's own wins).
            (Some(f), _) if f.starts_with("force-") => {
                let v = super::parse::global_tls_version(
                    &f["force-".len()..]
                        .replace("tlsv1", "TLSv1.")
                        .replace("sslv3", "SSLv3"),
                );
                min = v;
                max = v;
            }
            _ => {}
        }
    }
    // ssl-min-ver/ssl-max-ver (global or on the line) make HAProxy ignore no-tlsvXX.
    if min.is_some() || max.is_some() || line_min.is_some() || line_max.is_some() {
        no_versions.clear();
    }
    // Line versions override the global defaults.
    if line_min.is_some() || line_max.is_some() || force.is_some() {
        min = line_min;
        max = line_max;
    }
    if let Some(f) = force {
        min = Some(f);
        max = Some(f);
    }
    if no_versions.contains(&TlsVersion::Tls13) && max.is_none_or(|m| m > TlsVersion::Tls12) {
        max = Some(TlsVersion::Tls12);
    }
    if no_versions.contains(&TlsVersion::Tls12) && min.is_none_or(|m| m < TlsVersion::Tls13) {
        min = Some(TlsVersion::Tls13);
    }
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_lists_resolve_as_openssl_orders_them() {
        use Cipher::*;
        // No list, or a keyword: every suite of the version in OpenSSL's DEFAULT order.
        let all = resolve_ciphers(None, Some("HIGH:!aNULL"));
        assert_eq!(all.suites, Cipher::OPENSSL_DEFAULT.to_vec());
        assert!(all.dropped.is_empty());
        // Explicit names in their order, once; names rustls lacks are dropped and listed.
        let c = resolve_ciphers(
            Some("TLS_AES_128_GCM_SHA256"),
            Some("AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:-x"),
        );
        assert_eq!(c.suites, vec![Tls13Aes128Gcm, EcdheRsaChacha20]);
        assert_eq!(c.dropped, vec!["AES128-SHA".to_string()]);
        // An empty `ciphersuites` offers no TLS 1.3 suite, as OpenSSL reads it.
        assert!(resolve_ciphers(Some(""), Some("AES128-SHA"))
            .suites
            .is_empty());
    }
}
