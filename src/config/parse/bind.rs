//! `bind` lines and their parameters: configuration.txt §4.2 `bind` and §5.1 (bind options).

use std::net::SocketAddr;

use super::addr::{expand_env, parse_addr, AddrRules, AddrSpec, Host};
use super::global::tls_version;
use super::units::{lenient_int, parse_time_ms};
use super::{Parser, Stmt};
use crate::config::ast::{BindConf, BindOpts, ProxyConf};
use crate::config::diag::{Diagnostic, Level, LocStyle};
use crate::config::keywords::{self, Status};
use crate::ir::{ListenAddr, TlsVersion, Verify};

/// Parameters that take one value.
const WITH_VALUE: &[&str] = &[
    "backlog",
    "maxconn",
    "tcp-ut",
    "name",
    "id",
    "mode",
    "user",
    "group",
    "uid",
    "gid",
    "level",
    "expose-fd",
    "severity-output",
    "nice",
    "process",
    "thread",
    "shards",
    "interface",
    "namespace",
    "mss",
    "proto",
    "accept-netscaler-cip",
    "crt",
    "crt-list",
    "ca-file",
    "crl-file",
    "verify",
    "ssl-min-ver",
    "ssl-max-ver",
    "ciphers",
    "ciphersuites",
    "curves",
    "ecdhe",
    "alpn",
    "npn",
    "ca-ignore-err",
    "crt-ignore-err",
    "ca-sign-file",
    "ca-sign-pass",
    "ca-verify-file",
    "tls-ticket-keys",
];

impl Parser {
    pub(super) fn parse_bind(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let text = stmt.arg(1);
        if text.is_empty() {
            return self.alert(
                loc,
                "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.",
            );
        }
        let mut addrs = Vec::new();
        for part in text.split(',') {
            let word = expand_env(part, &|n| self.env.get(n).cloned());
            let rules = AddrRules {
                port_required: true,
                ranges: true,
                names: false,
                offsets: false,
                resolve: self.resolve_names,
                fds: true,
            };
            match parse_addr(&word, rules) {
                Ok(AddrSpec::Inet {
                    host: Host::Ip(ip),
                    port_lo,
                    port_hi,
                    ..
                }) => {
                    for port in port_lo..=port_hi {
                        addrs.push(ListenAddr::Inet(SocketAddr::new(ip, port)));
                    }
                }
                // Sessions are TCP connections: only the stats socket listens on a path.
                Ok(AddrSpec::Unix(path)) => {
                    self.unsupported(
                        loc,
                        &format!("'bind {part}'"),
                        "UNIX-socket listeners in proxies; the stats socket only",
                    );
                    addrs.push(ListenAddr::Unix(path));
                }
                Ok(AddrSpec::Fd(n)) => addrs.push(ListenAddr::Fd(n)),
                Ok(AddrSpec::Inet { .. }) => {
                    return self.alert(
                        loc,
                        format!("'bind' : invalid address: '{part}' in '{part}'"),
                    )
                }
                Err(super::addr::AddrError::UnsupportedFamily(f)) => {
                    return self.unsupported(
                        loc,
                        &format!("'bind {f}…'"),
                        "only ipv4@, ipv6@, unix@ and fd@ addresses",
                    );
                }
                Err(e) => return self.alert(loc, format!("'bind' : {}", e.message(part))),
            }
        }
        let head = format!("'bind {text}' in section '{}'", p.kind.word());
        let mut o = BindOpts::default();
        let mut i = 2;
        while i < stmt.words.len() {
            let kw = stmt.arg(i);
            let val = stmt.arg(i + 1);
            let Some(k) = keywords::lookup(keywords::BIND, kw) else {
                let hint = keywords::suggest(keywords::BIND.iter().map(|k| k.name), kw)
                    .map(|s| format!("; did you mean '{s}' maybe ?"))
                    .unwrap_or_default();
                return self.alert(loc, format!("{head}: unknown keyword '{kw}'{hint}."));
            };
            let needs_value = WITH_VALUE.contains(&kw);
            if needs_value && val.is_empty() {
                let msg = match kw {
                    "crt" => "'crt' : missing certificate location".to_string(),
                    "alpn" => {
                        "'alpn' : missing the comma-delimited ALPN protocol suite".to_string()
                    }
                    "verify" => "'verify' : missing verify method".to_string(),
                    "mss" => "'mss' : missing MSS value".to_string(),
                    "interface" => "'interface' : missing interface name".to_string(),
                    "ssl-min-ver" | "ssl-max-ver" => format!("'{kw}' : missing the version"),
                    _ => format!("'{kw}' : missing value"),
                };
                return self.alert(loc, format!("{head} : {msg}"));
            }
            i += if needs_value { 2 } else { 1 };
            if k.status != Status::Supported {
                self.table_status(loc, k, &format!("bind parameter '{kw}'"));
                continue;
            }
            match kw {
                "accept-proxy" => o.accept_proxy = true,
                "backlog" => o.backlog = Some(lenient_int(val).max(0) as u32),
                "maxconn" => o.maxconn = Some(lenient_int(val).max(0) as u32),
                "tcp-ut" => match parse_time_ms(val) {
                    Ok(ms) => o.tcp_ut = Some(ms),
                    Err(_) => return self.alert(loc, format!("{head} : '{kw}' : invalid value '{val}'")),
                },
                "transparent" => o.transparent = true,
                "mss" => {
                    // atoi, then haproxy's bounds.
                    let m = lenient_int(val);
                    if m == 0 || m.abs() > 65535 {
                        return self.alert(loc, format!("{head} : 'mss' : expects an MSS with and absolute value between 1 and 65535"));
                    }
                    o.mss = Some(m as i32);
                }
                "defer-accept" => o.defer_accept = true,
                "tfo" => o.tfo = true,
                "interface" => o.interface = Some(val.to_string()),
                "v4v6" => o.v4v6 = true,
                "v6only" => o.v6only = true,
                "name" => o.name = Some(val.to_string()),
                "mode" => o.mode = u32::from_str_radix(val, 8).ok(),
                "level" => o.level = Some(val.to_string()),
                "ssl" => o.ssl = true,
                "crt" => o.crt.push(val.to_string()),
                // Loaded when the keyword is read, as haproxy does (ca-base applies).
                "ca-file" | "crl-file" => {
                    let path = match &self.global.ca_base {
                        Some(b) if !val.starts_with('/') => {
                            format!("{}/{val}", b.trim_end_matches('/'))
                        }
                        _ => val.to_string(),
                    };
                    if self.missing_file(loc, kw, &path) {
                    } else if let Err(why) = crate::tls_files::read_ca(&path) {
                        // Printed without a location, as haproxy does, but kept at
                        // this line so it comes right before the next alert.
                        self.push(Diagnostic::new(
                            Level::Alert,
                            Some(loc.clone()),
                            LocStyle::None,
                            format!("Couldn't open the ca-file '{path}' ({why})."),
                        ));
                        return self.alert(loc, format!("{head} : '{kw}' : unable to load {path}"));
                    }
                    if kw == "ca-file" {
                        o.ca_file = Some(val.to_string());
                    } else {
                        o.crl_file = Some(val.to_string());
                    }
                }
                "verify" => {
                    o.verify = Some(match val {
                        "none" => Verify::None,
                        "optional" => Verify::Optional,
                        "required" => Verify::Required,
                        _ => return self.alert(loc, format!("{head} : 'verify' : unknown verify method '{val}', only 'none', 'optional', and 'required' are supported")),
                    })
                }
                "no-sslv3" => o.no_versions.push(TlsVersion::Ssl3),
                "no-tlsv10" => o.no_versions.push(TlsVersion::Tls10),
                "no-tlsv11" => o.no_versions.push(TlsVersion::Tls11),
                "no-tlsv12" => o.no_versions.push(TlsVersion::Tls12),
                "no-tlsv13" => o.no_versions.push(TlsVersion::Tls13),
                "force-tlsv12" => o.force = Some(TlsVersion::Tls12),
                "force-tlsv13" => o.force = Some(TlsVersion::Tls13),
                "ssl-min-ver" | "ssl-max-ver" => match tls_version(val) {
                    Some(v) if kw == "ssl-min-ver" => o.min_ver = Some(v),
                    Some(v) => o.max_ver = Some(v),
                    None => return self.alert(loc, format!("{head} : '{val}' : unknown ssl/tls version")),
                },
                "ciphers" => o.ciphers = Some(val.to_string()),
                "ciphersuites" => o.ciphersuites = Some(val.to_string()),
                "alpn" => o.alpn = val.split(',').map(str::to_string).collect(),
                "no-tls-tickets" => o.no_tls_tickets = true,
                "strict-sni" => o.strict_sni = true,
                "prefer-client-ciphers" => o.prefer_client_ciphers = true,
                _ => {}
            }
        }
        // HAProxy loads certificates while parsing, so `-c` reports unreadable ones here.
        for c in &o.crt {
            let path = match (&self_crt_base(self), c.starts_with('/')) {
                (Some(base), false) => format!("{base}/{c}"),
                _ => c.clone(),
            };
            if self.missing_file(loc, "crt", &path) {
                continue;
            }
            if let Err(msg) = crate::tls_files::check_crt(&path) {
                return self.alert(loc, format!("{head} : {msg}"));
            }
        }
        p.binds.push(BindConf {
            text: text.to_string(),
            addrs,
            loc: loc.clone(),
            opts: o,
        });
    }
}

fn self_crt_base(p: &Parser) -> Option<String> {
    p.global.crt_base.clone()
}
