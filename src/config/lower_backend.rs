//! Lowering of backends: their servers, health checks and what haproxy checks of them
//! after the parse (server ids, `use-server` targets, resolvers on host names).

use std::net::IpAddr;
use std::time::Duration;

use super::ast::{ProxyConf, ProxyKind, ServerOpts};
use super::diag::{check, Diagnostic, Level, LocStyle};
use super::lower::{log_targets, timeout, Pages};
use super::lower_http::{forwardfor, http_conn_mode, named_realms, source_for_mode};
use super::lower_tls::server_tls;
use super::parse::addr::{AddrSpec, Host};
use super::parse::sample::SampleError;
use super::parse::value_format::{backend_name, BackendName};
use crate::ir::persist::ServerTarget;
use crate::ir::{
    Backend, CheckKind, HttpCheck, HttpExpect, Mode, ProxyV2Options, SendProxy, Server,
    ServerCheck, TcpChecks,
};

/// The health check a backend's `check` servers run, from its `option …-check` and
/// `tcp-check`/`http-check` lines.
pub(super) fn check_kind(p: &ProxyConf, bufsize: i64) -> CheckKind {
    if p.option("tcp-check") {
        let rules = p.tcp_checks.iter().map(|r| r.v.clone()).collect();
        return CheckKind::Tcp(TcpChecks {
            rules,
            proto: false,
        });
    }
    for name in super::proto_checks::OPTIONS {
        if let Some(o) = p.options.get(*name).filter(|o| o.enabled) {
            return CheckKind::Tcp(super::proto_checks::ruleset(name, &o.args, bufsize));
        }
    }
    if let Some(o) = p.options.get("httpchk").filter(|o| o.enabled) {
        let a = &o.args;
        // `option httpchk <uri>` alone means GET <uri>.
        let (mut method, mut uri, mut version) = match a.len() {
            0 => (
                "OPTIONS".to_string(),
                "/".to_string(),
                "HTTP/1.0".to_string(),
            ),
            1 => ("GET".to_string(), a[0].clone(), "HTTP/1.0".to_string()),
            2 => (a[0].clone(), a[1].clone(), "HTTP/1.0".to_string()),
            _ => (a[0].clone(), a[1].clone(), a[2].clone()),
        };
        let mut headers = Vec::new();
        if let Some((m, u, v, h)) = &p.http_check_send {
            if let Some(m) = m {
                method = m.clone();
            }
            if let Some(u) = u {
                uri = u.clone();
            }
            if let Some(v) = v {
                version = v.clone();
            }
            headers = h.clone();
        }
        let expect = match &p.http_check_expect {
            Some(e) if e.kind == "status" => HttpExpect::Status(e.negate, e.pattern.clone()),
            Some(e) => HttpExpect::String(e.negate, e.pattern.clone()),
            None => HttpExpect::Default,
        };
        return CheckKind::Http(HttpCheck {
            connect: p.http_check_connect,
            method,
            uri,
            version,
            headers,
            expect,
        });
    }
    CheckKind::Connect
}

/// A backend (or a listen's backend side) as the IR runs it.
pub(super) fn lower_backend(
    p: &ProxyConf,
    addrs: Vec<(Option<IpAddr>, bool)>,
    g: &super::parse::GlobalConf,
    tables: &[crate::ir::counters::TableDef],
    pages: Pages,
    case: Option<std::sync::Arc<crate::ir::CaseMap>>,
) -> Backend {
    let ids = server_ids(p.servers.iter().map(|s| s.id));
    let check = check_kind(p, g.tune_bufsize.unwrap_or(16384));
    let connect_ssl = check_connect_ssl(&check);
    let mut servers: Vec<Server> = p
        .servers
        .iter()
        .zip(addrs)
        .zip(ids)
        .map(|((s, (ip, failed)), id)| {
            let (port, offset) = match &s.addr {
                AddrSpec::Inet {
                    port_lo, offset, ..
                } => (*port_lo, *offset),
                AddrSpec::Unix(_) | AddrSpec::Fd(_) => (0, None),
            };
            let mut sv = lower_server(
                &s.name,
                id,
                s.loc.to_string(),
                &s.opts,
                ip,
                port,
                offset,
                (failed, connect_ssl),
                g,
            );
            sv.id_forced = s.id.is_some();
            sv.source = source_for_mode(s.opts.source.as_ref(), p.mode());
            if let AddrSpec::Inet {
                host: Host::Name(n),
                ..
            } = &s.addr
            {
                sv.hostname = Some(n.clone());
            }
            sv
        })
        .collect();
    if p.mode() != Mode::Http {
        // A TCP backend ignores server cookies (warned about above).
        for sv in &mut servers {
            sv.cookie = None;
        }
    }
    Backend {
        name: p.name.clone(),
        uuid: 0,
        uuid_forced: p.id.is_some(),
        state_notes: Default::default(),
        is_listen: p.kind == ProxyKind::Listen,
        mode: p.mode(),
        http_conn_mode: http_conn_mode(p),
        http_reuse: p.http_reuse.unwrap_or_default(),
        send_name_header: p.send_name_header.as_ref().map(|h| h.as_bytes().into()),
        compression: p.compression.clone(),
        buffer_request: (p.option("http-buffer-request"), timeout(p, "http-request")),
        abortonclose: p.option("abortonclose"),
        nolinger: p.option("nolinger"),
        pretend_keepalive: p.option("http-pretend-keepalive"),
        prefer_last_server: p.option("prefer-last-server"),
        max_ka_queue: p.max_ka_queue,
        case_adjust: case.filter(|_| p.option("h1-case-adjust-bogus-server")),
        errorfiles: pages,
        forwardfor: forwardfor(p, "forwardfor"),
        originalto: forwardfor(p, "originalto"),
        cookie: p
            .cookie
            .as_ref()
            .filter(|_| p.mode() == Mode::Http)
            .map(|c| c.v.clone()),
        // A listen's rules run once, as its frontend's; TCP proxies ignore them.
        // A listen's rules run as its frontend's for its own sessions, and as a
        // backend's for sessions another frontend sends it (see `own_frontend`).
        http_rules: if p.mode() == Mode::Http {
            named_realms(p)
        } else {
            Default::default()
        },
        // An HTTP algorithm in a TCP backend is round robin (warned about above).
        balance: p
            .balance
            .as_ref()
            .map(|b| b.v.clone())
            .filter(|b| !b.needs_http() || p.mode() == Mode::Http)
            .unwrap_or_default(),
        hash_type: p.hash_type.unwrap_or_default(),
        hash_balance_factor: p.hash_balance_factor,
        servers,
        timeout_connect: timeout(p, "connect"),
        timeout_server: timeout(p, "server"),
        timeout_server_fin: timeout(p, "server-fin"),
        timeout_queue: timeout(p, "queue"),
        timeout_check: timeout(p, "check"),
        timeout_tunnel: timeout(p, "tunnel"),
        retries: p.retries.unwrap_or(3),
        retry_conn_failure: p.retry_on.as_ref().is_none_or(|r| r.v.conn_failure),
        retry_l7: match &p.retry_on {
            Some(r) if p.mode() == Mode::Http => retry_l7(&r.v.l7),
            _ => Default::default(),
        },
        redispatch: p
            .options
            .get("redispatch")
            .filter(|o| o.enabled)
            .map(|o| {
                o.args
                    .first()
                    .map_or(-1, |a| super::parse::units::lenient_int(a))
            })
            .filter(|&n| n != 0),
        allbackups: p.option("allbackups"),
        srvtcpka: p.option("srvtcpka") || p.option("tcpka"),
        srvtcpka_tune: p.srvtcpka,
        log_health_checks: p.option("log-health-checks"),
        log: log_targets(p, g),
        source: source_for_mode(p.source.as_ref(), p.mode()),
        check,
        fullconn: p.fullconn.filter(|&n| n > 0),
        // A listen's content rules run once, on its frontend side.
        inspect: crate::ir::Inspect {
            connection: Vec::new(),
            session: Vec::new(),
            ..p.inspect.clone()
        },
        own_frontend: None,
        disabled: false,
        response: p.response.0.clone(),
        stick_table: p.stick_table.clone(),
        stick_rules: p
            .stick_rules
            .iter()
            .filter_map(|r| {
                let name = r.table.as_deref().unwrap_or(&p.name);
                let table = tables.iter().position(|d| *d.name == *name)?;
                Some(crate::ir::StickRule {
                    lookup: r.lookup,
                    store: r.store,
                    expr: r.expr.clone(),
                    cond: r.cond.clone(),
                    response: r.response,
                    table,
                })
            })
            .collect(),
        persist: crate::ir::persist::Persistence {
            server_rules: p
                .server_rules
                .iter()
                .filter_map(|r| {
                    let target = match backend_name(&r.name).ok()? {
                        BackendName::Static(n) => {
                            ServerTarget::Server(p.servers.iter().position(|s| s.name == n)?)
                        }
                        BackendName::Dynamic(f) => ServerTarget::Named(f),
                    };
                    Some(crate::ir::persist::ServerRule {
                        target,
                        cond: r.cond.clone(),
                    })
                })
                .collect(),
            rules: p.persist_rules.clone(),
            down_too: p.option("persist"),
        },
    }
}

/// A `disabled` backend as haproxy keeps it: its settings as parsed, but none of what
/// its skipped checks would have set up (rules, persistence, health checks, tracking),
/// and its servers still in the reverse order its parser built the list in.
pub(super) fn disabled_backend(
    p: &ProxyConf,
    mut addrs: Vec<(Option<IpAddr>, bool)>,
    g: &super::parse::GlobalConf,
    pages: Pages,
) -> Backend {
    let mut q = p.clone();
    q.http_rules = Default::default();
    q.inspect = Default::default();
    q.response = Default::default();
    q.stick_rules.clear();
    q.server_rules.clear();
    q.persist_rules.clear();
    q.cookie = None;
    q.servers.reverse();
    addrs.reverse();
    for s in &mut q.servers {
        s.opts.check = false;
        s.opts.agent_check = false;
        s.opts.track = None;
        s.opts.observe = None;
    }
    let mut b = lower_backend(&q, addrs, g, &[], pages, None);
    b.disabled = true;
    for s in b.servers.iter_mut().filter(|s| !s.id_forced) {
        s.id = 0;
    }
    b
}

/// Whether the check's leading `tcp-check connect` or `http-check connect` asks for TLS.
pub(super) fn check_connect_ssl(check: &CheckKind) -> bool {
    match check {
        CheckKind::Http(h) => h.connect.is_some_and(|c| c.ssl),
        CheckKind::Tcp(t) => t
            .rules
            .iter()
            .find(|r| !matches!(r, crate::ir::TcpCheckRule::Comment(_)))
            .is_some_and(|r| matches!(r, crate::ir::TcpCheckRule::Connect { ssl: true, .. })),
        _ => false,
    }
}

/// haproxy's resolution of `use-server` names (check_config_validity): a name is read as
/// a log-format; a plain one must name a server of this proxy (a frontend has none).
pub(super) fn use_server_checks(p: &ProxyConf, diags: &mut super::diag::Diagnostics) {
    for r in &p.server_rules {
        match backend_name(&r.name) {
            Ok(BackendName::Static(n)) => {
                if !p.servers.iter().any(|s| s.name == n) {
                    diags.push(check(
                        Level::Alert,
                        format!(
                            "{} '{}' : unable to find server '{n}' referenced in a 'use-server' rule.",
                            p.kind.proxy_word(),
                            p.name
                        ),
                    ));
                }
            }
            Ok(BackendName::Dynamic(_)) => {}
            Err(SampleError::Invalid(m)) => diags.push(
                Diagnostic::alert(
                    &r.loc,
                    format!(
                        "use-server rule failed to parse log-format '{}' : {m}.",
                        r.name
                    ),
                )
                .styled(LocStyle::CapParsingSemicolon)
                .checked(),
            ),
            Err(SampleError::Unsupported(what)) => diags.push(
                Diagnostic::alert(
                    &r.loc,
                    format!("{what} in 'use-server' is not supported by haproxide; see grammar/keywords.md."),
                )
                .checked(),
            ),
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// Server ids as haproxy gives them: an `id` is kept; the others take the first free
/// number from a counter that starts at 1 and moves past every server, in configuration
/// order (so `a`, `b id 9`, `c` are 1, 9, 3).
fn server_ids(given: impl Iterator<Item = Option<u32>> + Clone) -> Vec<u32> {
    let taken: std::collections::BTreeSet<u32> = given.clone().flatten().collect();
    let mut next = 1;
    given
        .map(|g| {
            let id = g.unwrap_or_else(|| {
                while taken.contains(&next) {
                    next += 1;
                }
                next
            });
            next += 1;
            id
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn lower_server(
    name: &str,
    id: u32,
    origin: String,
    o: &ServerOpts,
    addr: Option<IpAddr>,
    port: u16,
    port_offset: Option<i32>,
    (unresolved, connect_ssl): (bool, bool),
    g: &super::parse::GlobalConf,
) -> Server {
    let send_proxy = if o.send_proxy_v2 || o.send_proxy_v2_ssl || o.send_proxy_v2_ssl_cn {
        SendProxy::V2
    } else if o.send_proxy || !o.proxy_v2_options.is_empty() {
        // Any PROXY option makes haproxy send a header: v1 without send-proxy-v2.
        SendProxy::V1
    } else {
        SendProxy::None
    };
    let has = |w: &str| o.proxy_v2_options.iter().any(|x| x == w);
    let proxy_v2 = ProxyV2Options {
        // Each SSL sub-TLV brings the SSL TLV, as in haproxy.
        ssl: o.send_proxy_v2_ssl
            || o.send_proxy_v2_ssl_cn
            || ["ssl", "cert-cn", "cert-key", "cert-sig", "ssl-cipher"]
                .into_iter()
                .any(has),
        cert_cn: o.send_proxy_v2_ssl_cn || has("cert-cn"),
        ssl_cipher: has("ssl-cipher"),
        cert_sig: has("cert-sig"),
        cert_key: has("cert-key"),
        authority: has("authority"),
        crc32c: has("crc32c"),
        unique_id: has("unique-id"),
    };
    let check = o.check.then(|| {
        let inter = o.inter.unwrap_or(2000);
        // An explicit check port or address disables the PROXY header on checks unless
        // check-send-proxy asks for it (haproxy-subset §4.3).
        let explicit = o.check_port.is_some() || o.check_addr.is_some();
        ServerCheck {
            inter: Duration::from_millis(inter),
            fastinter: Duration::from_millis(o.fastinter.unwrap_or(inter)),
            fastinter_set: o.fastinter.is_some(),
            downinter: Duration::from_millis(o.downinter.unwrap_or(inter)),
            rise: o.rise.unwrap_or(2),
            fall: o.fall.unwrap_or(3),
            port: o.check_port,
            addr: o.check_addr,
            send_proxy: o.check_send_proxy || (!explicit && send_proxy != SendProxy::None),
        }
    });
    let agent = o.agent_check.then(|| crate::ir::AgentCheck {
        // The check's `addr` serves the agent too unless `agent-addr` says otherwise.
        addr: o.agent_addr.or(o.check_addr),
        // haproxy keeps any integer and uses its low 16 bits as the port; the check's
        // `port` serves the agent too unless `agent-port` says otherwise.
        port: o.agent_port.unwrap_or(o.check_port.map_or(0, i64::from)) as u16,
        inter: Duration::from_millis(o.agent_inter.unwrap_or(2000)),
        send: o.agent_send.as_ref().map(|s| s.as_bytes().to_vec()),
    });
    // `check-ssl` alone gives the checks TLS settings of their own, as haproxy prepares them;
    // so does a check whose leading `connect` rule says `ssl`.
    let ssl_check = connect_ssl && o.check;
    let tls = (o.ssl || o.check_ssl == Some(true) || ssl_check).then(|| {
        let mut t = server_tls(o, g);
        t.check |= ssl_check;
        t
    });
    Server {
        name: name.to_string(),
        id_forced: false,
        hostname: None,
        resolvers: o.resolvers.is_some(),
        saved: None,
        id,
        origin,
        addr,
        port,
        port_offset,
        weight: o.weight.unwrap_or(1),
        backup: o.backup,
        disabled: o.disabled || unresolved,
        maxconn: o.maxconn.unwrap_or(0),
        maxqueue: o.maxqueue.unwrap_or(0),
        slowstart: o.slowstart.unwrap_or(0),
        // 0 sets nothing, as in haproxy (a socket that cannot take it ignores it).
        tcp_ut: o.tcp_ut.filter(|&ms| ms > 0).map(Duration::from_millis),
        check,
        agent,
        send_proxy,
        proxy_v2,
        source: o.source.clone(),
        shutdown_on_down: o.on_marked_down,
        shutdown_backup_on_up: o.on_marked_up,
        tls,
        cookie: o.cookie.clone(),
        track: None,
        observe: o.observe,
        error_limit: o.error_limit.unwrap_or(10),
        on_error: o.on_error.unwrap_or_default(),
    }
}

/// `server … resolvers <id>`: the section must exist (as HAProxy checks), and since haproxide
/// never re-resolves, only a server given by IP address may use it.
pub(super) fn resolvers_check(
    known: &[String],
    p: &crate::config::ast::ProxyConf,
    s: &crate::config::ast::ServerConf,
    r: &str,
    diags: &mut crate::config::diag::Diagnostics,
) {
    if !known.iter().any(|k| k == r) {
        let msg = format!(
            "{} '{}', server '{}': unable to find required resolvers '{r}'",
            p.kind.proxy_word(),
            p.name,
            s.name
        );
        diags.push(
            Diagnostic::new(Level::Alert, Some(s.loc.clone()), LocStyle::None, msg).checked(),
        );
        return;
    }
    if let AddrSpec::Inet {
        host: Host::Name(n),
        ..
    } = &s.addr
    {
        let msg = format!("server parameter 'resolvers' on server '{}' with host name '{n}' is not supported by haproxide (no runtime DNS: it would never be re-resolved; give an IP address); see grammar/keywords.md.", s.name);
        diags.push(Diagnostic::alert(&s.loc, msg).checked());
    }
}

/// `retry-on`'s response words as conditions (`all-retryable-errors`: empty and junk
/// responses, response timeouts, 500, 502, 503 and 504; `0rtt-rejected` never happens,
/// haproxide sending no early data to servers).
fn retry_l7(words: &[String]) -> crate::ir::RetryL7 {
    let mut r = crate::ir::RetryL7::default();
    for w in words {
        match w.as_str() {
            "empty-response" => r.empty_response = true,
            "junk-response" => r.junk_response = true,
            "response-timeout" => r.response_timeout = true,
            "all-retryable-errors" => {
                r.empty_response = true;
                r.junk_response = true;
                r.response_timeout = true;
                r.statuses.extend([500, 502, 503, 504]);
            }
            n => r.statuses.extend(n.parse::<u16>().ok()),
        }
    }
    r.statuses.sort_unstable();
    r.statuses.dedup();
    r
}
