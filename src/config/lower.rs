//! Cross-checks and lowering: the parsed sections become the IR.
//!
//! The checks and their order follow HAProxy 2.6's `check_config_validity()` (proxy by
//! proxy: backend references, modes, duplicate servers, timeouts, log settings), then the
//! SSL bind checks, then server address resolution (`srv_init_addr()`), so `-c` prints the
//! same messages in the same order.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::ast::Spanned;
use super::ast::{InitAddr, LogEntry, ProxyConf, ProxyKind};
use super::diag::{Diagnostic, Level, LocStyle};
use super::lower_tls::{bind_tls, sni_literal, tls_notes};
use super::parse::addr::{resolve, AddrSpec, Host};
use super::parse::sample::SampleError;
use super::parse::value_format::{backend_name, BackendName};
use super::parse::{missing_file_warning, Parsed};
use crate::ir::{Bind, Config, Frontend, LogTarget, Mode, SwitchRule, SwitchTarget, Verify};

/// A configured duration in ms; 0 (or none) is "not set".
pub(super) fn ms(v: Option<u64>) -> Option<Duration> {
    v.filter(|x| *x > 0).map(Duration::from_millis)
}

/// `timeout <name>` of a proxy, when set.
pub(super) fn timeout(p: &ProxyConf, name: &str) -> Option<Duration> {
    ms(p.timeouts.get(name).map(|t| t.v))
}

use super::diag::check;
use super::lower_backend::{
    check_connect_ssl, check_kind, disabled_backend, lower_backend, resolvers_check,
    use_server_checks,
};
use super::lower_http::{
    case_map, error_pages, forwardfor, header_source, http_conn_mode, named_realms, stats_only,
    HTTP_SUPPORTED,
};

/// Turns parsed sections into the IR, adding HAProxy's post-parse diagnostics to `parsed.diags`.
/// Returns `None` when the configuration is invalid. Host names go to the system resolver.
pub fn lower(parsed: &mut Parsed) -> Option<Config> {
    lower_with(parsed, &|name| resolve(name, None))
}

/// [`lower`] with the resolver chosen by the caller (tests resolve nothing).
pub fn lower_with(
    parsed: &mut Parsed,
    resolver: &dyn Fn(&str) -> Option<IpAddr>,
) -> Option<Config> {
    if parsed.aborted || parsed.diags.has_parse_alerts() {
        return None;
    }
    let file_checks = parsed.file_checks;
    let proxies = &parsed.proxies;
    let diags = &mut parsed.diags;
    let global = &parsed.global;
    // haproxy reads the case-adjust file right after the configuration.
    let case = case_map(global, diags, file_checks);
    let case = (!case.is_empty()).then(|| std::sync::Arc::<crate::ir::CaseMap>::from(case));

    // haproxy's own HTTP client proxy always exists, so its HTTP buffer limit always applies.
    if let Some(size) = global.tune_bufsize.filter(|s| *s >= 1 << 28) {
        diags.push(check(
            Level::Alert,
            format!("global.tune.bufsize must be below 256 MB when HTTP is in use (current value = {size})."),
        ));
    }

    // userlist_postinit: a name that is not there stops the checks.
    let userlists = match super::parse::userlist::resolve(&parsed.userlists) {
        Ok(l) => l,
        Err(m) => {
            diags.push(check(Level::Alert, m));
            return None;
        }
    };
    let auth_errors = super::parse::userlist::bind_refs(&userlists, &parsed.userlist_refs);
    let mut tables = super::lower_counters::tables(proxies, &parsed.peers);
    super::lower_counters::disabled_table_uses(proxies, &parsed.table_refs, diags);

    let be_index = |name: &str| -> Option<usize> {
        proxies
            .iter()
            .filter(|p| p.kind.caps() & 4 != 0)
            .position(|p| p.name == name)
    };
    let be_proxy = |name: &str| {
        proxies
            .iter()
            .find(|p| p.kind.caps() & 4 != 0 && p.name == name)
    };

    // Sample arguments haproxy could not resolve, proxy by proxy: one alert, or its list
    // of them; a proxy whose arguments all resolved has its auth groups checked.
    let mut auth_errors = auth_errors;
    auth_errors.extend(super::parse::counters::bind_refs(
        &tables,
        &parsed.table_refs,
    ));
    auth_errors.extend(nbsrv_in_frontend_logs(proxies));
    // haproxy skips every later check of a disabled proxy, its arguments' too.
    // (A frontend and a backend may share a name: only when every proxy of that name
    // is disabled are its references left unresolved.)
    let off = |name: &str| {
        let mut named = proxies.iter().filter(|p| p.name == name).peekable();
        named.peek().is_some() && named.all(|p| p.disabled)
    };
    auth_errors.retain(|e| !off(&e.1));
    let mut names: Vec<String> = Vec::new();
    // References made in sections that are no proxy (defaults) come last.
    for name in proxies
        .iter()
        .filter(|p| !p.disabled)
        .map(|p| &p.name)
        .chain(auth_errors.iter().map(|e| &e.1))
    {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    for name in &names {
        let mut errs: Vec<(crate::config::diag::Loc, String)> = proxies
            .iter()
            .filter(|p| &p.name == name && !p.disabled)
            .flat_map(|p| p.arg_errors.iter().cloned())
            .collect();
        errs.extend(
            auth_errors
                .iter()
                .filter(|e| &e.1 == name)
                .map(|(l, _, m)| (l.clone(), m.clone())),
        );
        auth_errors.retain(|e| &e.1 != name);
        errs.sort_by_key(|(l, _)| l.line);
        match errs.as_slice() {
            [] => {
                for m in super::parse::userlist::check_groups(&parsed.userlist_refs, name) {
                    diags.push(check(Level::Alert, m));
                }
            }
            [(loc, msg)] => diags.push(
                Diagnostic::alert(loc, msg.clone())
                    .styled(LocStyle::ParsingTight)
                    .checked(),
            ),
            many => {
                let mut m = String::from("multiple argument resolution errors:");
                for (loc, msg) in many {
                    m.push_str(&format!("\n        parsing [{loc}]: {msg}"));
                }
                diags.push(check(Level::Alert, m));
            }
        }
    }
    let be_list: Vec<&ProxyConf> = proxies.iter().filter(|p| p.kind.caps() & 4 != 0).collect();
    let mut tracks = super::lower_track::Tracks::default();
    let mut bi = 0;
    let mut l6_reported: Vec<&str> = Vec::new();
    for p in proxies {
        let word = p.kind.proxy_word();
        let is_fe = p.kind.caps() & 2 != 0;
        let is_be = p.kind.caps() & 4 != 0;
        if p.disabled {
            bi += usize::from(is_be);
            continue;
        }
        // haproxy checks the log format before the listeners.
        if p.mode() == Mode::Tcp && p.cookie.is_some() {
            diags.push(check(
                Level::Warning,
                format!(
                    "cookie will be ignored for {word} '{}' (needs 'mode http').",
                    p.name
                ),
            ));
        }
        if p.mode() == Mode::Tcp && p.monitor_uri.is_some() {
            diags.push(check(
                Level::Warning,
                format!(
                    "monitor-uri will be ignored for {word} '{}' (needs 'mode http').",
                    p.name
                ),
            ));
        }
        if p.mode() == Mode::Tcp && is_be && p.balance.as_ref().is_some_and(|b| b.v.needs_http()) {
            diags.push(check(
                Level::Warning,
                format!("Layer 7 hash not possible for {word} '{}' (needs 'mode http'). Falling back to round robin.", p.name),
            ));
        }
        if p.mode() == Mode::Tcp {
            // A backend has a log format only when its own section sets one (defaults give
            // theirs to frontends only).
            let own = |o: &&crate::config::ast::OptionSetting| {
                is_fe || (o.loc.file == p.loc.file && o.loc.line > p.loc.line)
            };
            for name in ["httplog", "httpslog"] {
                if let Some(o) = p.options.get(name).filter(|o| o.enabled).filter(own) {
                    diags.push(
                        Diagnostic::warning(
                            &o.loc,
                            format!("'option {name}' not usable with {} '{}' (needs 'mode http'). Falling back to 'option tcplog'.", p.kind.proxy_word(), p.name),
                        )
                        .checked(),
                    );
                }
            }
        }
        if is_fe && p.binds.is_empty() {
            diags.push(check(
                Level::Warning,
                format!("{} '{}' has no 'bind' directive. Please declare it as a backend if this was intended.", p.kind.proxy_word(), p.name),
            ));
        }
        if is_fe {
            // Names given as formats are resolved per session (or refused here).
            let mut named = Vec::new();
            for u in &p.use_backends {
                match backend_name(&u.name.v) {
                    Ok(BackendName::Static(n)) => named.push(Spanned {
                        v: n,
                        loc: u.name.loc.clone(),
                    }),
                    Ok(BackendName::Dynamic(_)) => {}
                    Err(SampleError::Invalid(m)) => diags.push(
                        Diagnostic::alert(&u.name.loc, format!("failed to parse use_backend rule '{}' : {m}.", u.name.v))
                            .styled(LocStyle::CapParsing)
                            .checked(),
                    ),
                    Err(SampleError::Unsupported(what)) => diags.push(
                        Diagnostic::alert(&u.name.loc, format!("{what} in 'use_backend' is not supported by haproxide; see grammar/keywords.md."))
                            .checked(),
                    ),
                }
            }
            let targets = p
                .default_backend
                .iter()
                .map(|d| (d, "default_backend"))
                .chain(named.iter().map(|u| (u, "use_backend")));
            for (t, what) in targets {
                match be_proxy(&t.v) {
                    None => diags.push(check(
                        Level::Alert,
                        format!(
                            "Proxy '{}': unable to find required {what}: '{}'.",
                            p.name, t.v
                        ),
                    )),
                    Some(b) if p.mode() == Mode::Http && b.mode() == Mode::Tcp => {
                        let as_what = if what == "default_backend" {
                            "as its default backend"
                        } else {
                            "in a 'use_backend' rule"
                        };
                        diags.push(check(
                            Level::Alert,
                            format!(
                                "http frontend '{}' ({}) tries to use incompatible tcp backend '{}' ({}) {as_what} (see 'mode').",
                                p.name, p.loc, b.name, b.loc
                            ),
                        ))
                    }
                    // A TCP frontend reaching an HTTP backend: the stream is upgraded to
                    // HTTP, as haproxy does.
                    Some(_) => {}
                }
            }
        }
        if !is_be {
            use_server_checks(p, diags);
        }
        if is_be {
            for (i, s) in p.servers.iter().enumerate() {
                if let Some(prev) = p.servers[..i].iter().find(|o| o.name == s.name) {
                    diags.push(
                        Diagnostic::alert(
                            &s.loc,
                            format!(
                                "{} '{}', another server named '{}' was already defined at line {}, please use distinct names.",
                                p.kind.proxy_word(),
                                p.name,
                                s.name,
                                prev.loc.line
                            ),
                        )
                        .checked(),
                    );
                }
                if let Some(r) = &s.opts.resolvers {
                    resolvers_check(&parsed.resolvers, p, s, r, diags);
                }
            }
            tracks.resolve_backend(bi, &be_list, Some(diags));
            bi += 1;
            use_server_checks(p, diags);
            let nolinger = p.options.get("nolinger").filter(|o| o.enabled);
            if let (Some(o), Mode::Http, ProxyKind::Backend) = (nolinger, p.mode(), p.kind) {
                diags.push(Diagnostic::alert(&o.loc, NOLINGER_HTTP).checked());
            }
            if let (Some(loc), Mode::Http) = (&p.response.1, p.mode()) {
                diags.push(
                    Diagnostic::alert(loc, "'tcp-response content' in an HTTP backend is not supported by haproxide (it runs these rules in TCP mode only); see grammar/keywords.md.").checked(),
                );
            }
            for r in &p.stick_rules {
                if r.response && p.mode() == Mode::Tcp {
                    diags.push(
                        Diagnostic::alert(&r.loc, "'stick store-response' in a TCP backend is not supported by haproxide (keys from the server's bytes); see grammar/keywords.md.").checked(),
                    );
                }
                let t = r.table.as_deref().unwrap_or(&p.name);
                if !tables.iter().any(|d| *d.name == *t) {
                    diags.push(check(
                        Level::Alert,
                        format!("Proxy '{}': unable to find stick-table '{t}'.", p.name),
                    ));
                }
            }
        }
        super::lower_peers::proxy_check(p, &parsed.peers, &parsed.localpeer, diags);
        super::lower_counters::track_checks(p, &tables, diags);
        for m in super::parse::capture::capture_id_checks(p) {
            diags.push(check(Level::Alert, m));
        }
        // Conditions reading raw buffer bytes, which an HTTP proxy has none of: a named
        // defaults section's first (once, under its name), then the proxy's own.
        let from_defaults = p
            .l6_defaults
            .as_ref()
            .filter(|(name, http, _)| *http && !l6_reported.contains(&name.as_str()));
        let own = (p.mode() == Mode::Http).then_some(&p.l6_conds);
        for (name, locs) in from_defaults
            .map(|(n, _, l)| (n.as_str(), l))
            .into_iter()
            .chain(own.map(|l| (p.name.as_str(), l)))
        {
            let mut locs: Vec<&super::ast::RankedLoc> = locs.iter().collect();
            locs.sort_by_key(|(rank, _)| *rank);
            for (_, loc) in locs {
                diags.push(check(
                    Level::Warning,
                    format!("Proxy '{name}': L6 sample fetches ignored on HTTP proxies (declared at {loc})."),
                ));
            }
        }
        if let Some((name, _, _)) = from_defaults {
            l6_reported.push(name);
        }
        // A backend side without servers needs none; `timeout tunnel` stands for the
        // server's in TCP mode.
        let server_missing = timeout(p, "server").is_none()
            && (p.mode() == Mode::Http || timeout(p, "tunnel").is_none());
        let missing = (is_fe && timeout(p, "client").is_none())
            || (is_be
                && !p.servers.is_empty()
                && (timeout(p, "connect").is_none() || server_missing));
        if missing {
            let mut d = check(
                Level::Warning,
                format!("missing timeouts for {word} '{}'.", p.name),
            );
            d.extra = vec![
                "   | While not properly invalid, you will certainly encounter various problems"
                    .into(),
                "   | with such a configuration. To fix this, please ensure that all following"
                    .into(),
                "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.".into(),
            ];
            diags.push(d);
        }
        if p.tcp_checks_unused {
            diags.push(check(
                Level::Warning,
                format!(
                    "{word} '{}' uses tcp-check rules without 'option tcp-check', so the rules are ignored.",
                    p.name
                ),
            ));
        }
        let formats = p.log_format.is_some() || p.log_format_sd.is_some();
        if is_fe && formats && log_targets(p, global).is_empty() {
            diags.push(check(
                Level::Warning,
                format!(
                    "log format ignored for {word} '{}' since it has no log address.",
                    p.name
                ),
            ));
        }
        if p.mode() == Mode::Tcp {
            // Once each, in haproxy's order.
            let r = &p.http_rules;
            // haproxy's cfg_opts of HTTP mode that haproxide keeps come last, each named
            // with the option that must be set for the warning.
            for (what, option) in [
                ("'stats' statement", None),
                ("'capture' statement", None),
                ("'http-request'", None),
                ("'http-response'", None),
                ("'redirect'", None),
                ("'option forwardfor'", None),
                ("'option originalto'", None),
            ]
            .into_iter()
            .chain(HTTP_MODE_OPTIONS.iter().filter_map(|(name, caps)| {
                // An option from defaults reaches only the proxies it applies to.
                (p.kind.caps() & caps != 0).then_some((name.0, Some(name.1)))
            })) {
                let rules = match what {
                    "'http-request'" => Some(!r.request.is_empty()),
                    "'http-response'" => Some(!r.response.is_empty()),
                    "'redirect'" => Some(!r.redirects.is_empty()),
                    _ => None,
                };
                let msg = match rules {
                    Some(false) => continue,
                    Some(true) => format!(
                        "{what} rules ignored for {word} '{}' as they require HTTP mode.",
                        p.name
                    ),
                    None if option.is_some_and(|o| !p.option(o)) => continue,
                    None if p.http_only.iter().any(|h| h.v == what) => format!(
                        "{what} ignored for {word} '{}' as it requires HTTP mode.",
                        p.name
                    ),
                    None => continue,
                };
                diags.push(check(Level::Warning, msg));
            }
            if let Some(name) = header_source(p.source.as_ref()) {
                diags.push(check(
                    Level::Warning,
                    format!(
                        "{word} '{}' : ignoring use of header {name} as source IP in non-HTTP mode.",
                        p.name
                    ),
                ));
            }
            for sv in &p.servers {
                if sv.opts.cookie.is_some() {
                    diags.push(check(
                        Level::Warning,
                        format!(
                            "{word} '{}' : ignoring cookie for server '{}' as HTTP mode is disabled.",
                            p.name, sv.name
                        ),
                    ));
                }
                if let Some(name) = header_source(sv.opts.source.as_ref()) {
                    diags.push(check(
                        Level::Warning,
                        format!(
                            "{word} '{}' : server {} cannot use header {name} as source IP in non-HTTP mode.",
                            p.name, sv.name
                        ),
                    ));
                }
            }
        }
    }

    // Log formats, parsed per proxy with its mode once everything is read (as haproxy).
    let formats: Vec<_> = proxies
        .iter()
        .map(|p| {
            if p.disabled {
                return (None, None, None);
            }
            let f = super::parse::log_format::proxy_formats(p, diags);
            // Their table arguments, resolved now.
            let loc = match &p.log_format {
                Some(crate::config::ast::LogFormatSetting::Custom(t)) => t.loc.clone(),
                _ => p.loc.clone(),
            };
            let refs: Vec<_> = super::parse::counters::take_table_refs()
                .into_iter()
                .map(|r| (loc.clone(), p.name.clone(), "log-format".to_string(), r))
                .collect();
            for (loc, _, m) in super::parse::counters::bind_refs(&tables, &refs) {
                diags.push(
                    Diagnostic::alert(&loc, m)
                        .styled(LocStyle::ParsingTight)
                        .checked(),
                );
            }
            f
        })
        .collect();

    // Each proxy's answer pages, its `errorfiles` resolved (haproxy's post-proxy check).
    let pages: Vec<_> = proxies
        .iter()
        .map(|p| {
            if p.disabled {
                // Its `errorfiles` stay unresolved (haproxy's post-proxy check).
                let mut q = p.clone();
                q.errorfiles
                    .retain(|e| !matches!(e.v, super::ast::ErrorPages::Section(..)));
                return error_pages(&q, &[], &mut super::diag::Diagnostics::default());
            }
            error_pages(p, &parsed.http_errors, diags)
        })
        .collect();

    for p in proxies.iter().filter(|p| !p.disabled) {
        let Some(page) = &p.stats.page else { continue };
        if !page.rules.is_empty() && (!page.auth.is_empty() || page.realm_set) {
            diags.push(check(Level::Alert, format!("proxy '{}': stats 'auth'/'realm' and 'http-request' can't be used at the same time.", p.name)));
        }
    }

    // What haproxide does not implement about HTTP mode.
    for p in proxies {
        if p.mode() != Mode::Http || p.disabled {
            continue;
        }
        if stats_only(p) {
            if !p.http_rules.is_empty() {
                diags.push(Diagnostic::alert(&p.loc, format!("HTTP rules on {} '{}', which only serves the statistics page, are not supported by haproxide (the page is answered without them); see grammar/keywords.md.", p.kind.word(), p.name)).checked());
            }
            for u in &p.stats.unsupported {
                let cosmetic = [
                    "'stats show-node'",
                    "'stats show-legends'",
                    "'stats show-desc'",
                    "'stats show-modules'",
                ];
                let d = if cosmetic.contains(&u.v.as_str()) {
                    Diagnostic::warning(&u.loc, format!("{} is accepted but ignored by haproxide (its statistics page has one fixed layout).", u.v))
                } else {
                    Diagnostic::alert(&u.loc, format!("{} is not supported by haproxide (the statistics page is read-only, with every proxy); see grammar/keywords.md.", u.v))
                };
                diags.push(d.checked());
            }
            for h in p
                .http_only
                .iter()
                .filter(|h| h.v != "'stats' statement" && h.v != "'timeout http-request'")
            {
                diags.push(Diagnostic::warning(&h.loc, format!("{} has no effect on {} '{}', which only serves the statistics page (one request per connection, no server).", h.v, p.kind.word(), p.name)).checked());
            }
            continue;
        }
        for h in p
            .http_only
            .iter()
            .filter(|h| !HTTP_SUPPORTED.contains(&h.v.as_str()))
        {
            diags.push(
                Diagnostic::alert(&h.loc, format!("{} on HTTP {} '{}' is not supported by haproxide yet (HTTP mode); see grammar/keywords.md.", h.v, p.kind.word(), p.name)).checked(),
            );
        }
    }

    for p in proxies.iter().filter(|p| !p.disabled) {
        for b in &p.binds {
            if b.opts.ssl && b.opts.crt.is_empty() {
                diags.push(check(
                    Level::Alert,
                    format!("Proxy '{}': no SSL certificate specified for bind '{}' at [{}] (use 'crt').", p.name, b.text, b.loc),
                ));
            }
            if b.opts.ssl {
                let d = &global.ir.ssl_bind_defaults;
                let lists = (
                    b.opts.ciphersuites.as_deref().or(d.ciphersuites.as_deref()),
                    b.opts.ciphers.as_deref().or(d.ciphers.as_deref()),
                );
                tls_notes(&bind_tls(&b.opts, global), lists, &b.text, &b.loc, diags);
            }
            if b.opts.ssl && p.mode() == Mode::Http && b.opts.alpn.iter().any(|a| a == "h2") {
                diags.push(Diagnostic::warning(&b.loc, format!("'bind {}' : ALPN 'h2' is not offered by haproxide yet (no HTTP/2): clients of HTTP {} '{}' get HTTP/1.1; see grammar/http.md.", b.text, p.kind.word(), p.name)).checked());
            }
            // Client authentication asked for with nothing to check it against: haproxy
            // refuses to start rather than let clients in unverified (its message comes
            // twice, the second time without the tag).
            if b.opts.ssl
                && matches!(b.opts.verify, Some(Verify::Optional | Verify::Required))
                && b.opts.ca_file.is_none()
            {
                let msg = format!(
                    "Proxy '{}': verify is enabled but no CA file specified for bind '{}' at [{}].",
                    p.name, b.text, b.loc
                );
                let mut d = Diagnostic::new(
                    Level::Alert,
                    Some(b.loc.clone()),
                    LocStyle::None,
                    msg.clone(),
                )
                .checked();
                d.extra.push(msg);
                diags.push(d);
            }
        }
    }
    for p in proxies
        .iter()
        .filter(|p| p.kind.caps() & 4 != 0 && !p.disabled)
    {
        // A leading `connect ssl` check rule gives every checked server TLS settings.
        let checks_ssl = check_connect_ssl(&check_kind(p, global.tune_bufsize.unwrap_or(16384)));
        for s in &p.servers {
            let no_port = matches!(
                s.addr,
                AddrSpec::Inet {
                    port_lo: 0,
                    offset: None,
                    ..
                }
            );
            let connect_ssl = s.opts.check && checks_ssl;
            if s.opts.ssl || s.opts.check_ssl == Some(true) || connect_ssl {
                let bare = |msg: String| {
                    Diagnostic::new(
                        Level::Alert,
                        Some(s.loc.clone()),
                        LocStyle::Bare,
                        format!("'server {}/{}' : {msg}", p.name, s.name),
                    )
                    .checked()
                };
                let verify = s.opts.verify.unwrap_or(!global.ir.ssl_server_verify_none);
                if verify && s.opts.ca_file.is_none() {
                    diags.push(bare("verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.".into()));
                }
                if let Some(e) = s.opts.sni.as_deref().filter(|e| sni_literal(e).is_none()) {
                    diags.push(Diagnostic::alert(&s.loc, format!("server parameter 'sni {e}' is not supported by haproxide (only a literal name: sni str(<name>)); see grammar/keywords.md.")).checked());
                }
                if let Some(c) = &s.opts.crt {
                    let path = with_base(&global.crt_base, c);
                    if let Some(w) = missing_file_warning(file_checks, &s.loc, "crt", &path) {
                        diags.push(w.checked());
                    } else if let Err(e) = crate::tls_files::check_crt(&path) {
                        diags.push(bare(e));
                    }
                }
            }
            // haproxy warns when a failed fast-open connection could not be retried.
            let retry_l7 = p.retry_on.as_ref().map(|r| &r.v.l7[..]).unwrap_or(&[]);
            let has = |w: &str| {
                retry_l7
                    .iter()
                    .any(|x| x == w || x == "all-retryable-errors")
            };
            if s.opts.tfo && !(has("empty-response") && has("response-timeout")) {
                diags.push(Diagnostic::new(Level::Warning, Some(s.loc.clone()), LocStyle::Bare, format!("'server {}/{}' : server has tfo activated, the backend should be configured with at least 'conn-failure', 'empty-response' and 'response-timeout' or we wouldn't be able to retry the connection on failure.", p.name, s.name)).checked());
            }
            // A server written without an address (`server x :`, as templates and `add
            // server` write them) is 0.0.0.0:0 to haproxy, which accepts it here and whose
            // checks then fail ("Connection refused"): so do haproxide's.
            if s.opts.check && no_port && s.opts.check_port.is_none() && !no_address(s) {
                diags.push(check(
                    Level::Alert,
                    format!(
                        "config: {} '{}': server '{}' has neither service port nor check port.",
                        p.kind.proxy_word(),
                        p.name,
                        s.name
                    ),
                ));
            }
        }
    }
    let peers = super::lower_peers::sections(
        &parsed.peers,
        proxies,
        &parsed.localpeer,
        &mut tables,
        diags,
    );
    if diags.has_alerts() {
        return None;
    }

    // Server addresses, as srv_init_addr() resolves them after the checks.
    let mut resolved: Vec<Vec<(Option<IpAddr>, bool)>> = Vec::new();
    let mut addr_failed = false;
    for p in proxies.iter().filter(|p| p.kind.caps() & 4 != 0) {
        let mut v = Vec::new();
        for s in &p.servers {
            let AddrSpec::Inet { host, .. } = &s.addr else {
                v.push((None, false));
                continue;
            };
            // A disabled backend's names are never resolved (srv_init_addr skips it).
            if p.disabled {
                let ip = match host {
                    Host::Ip(ip) => Some(*ip),
                    Host::Name(_) => None,
                };
                v.push((ip, false));
                continue;
            }
            let methods = s
                .opts
                .init_addr
                .clone()
                .unwrap_or(vec![InitAddr::Last, InitAddr::Libc]);
            let name = match host {
                Host::Ip(ip) => {
                    v.push((Some(*ip), false));
                    continue;
                }
                Host::Name(n) => n,
            };
            let mut got = None;
            let mut none_ok = false;
            for m in &methods {
                match m {
                    InitAddr::Last => {}
                    InitAddr::Libc => got = resolver(name),
                    InitAddr::Ip(ip) => got = Some(*ip),
                    InitAddr::None => none_ok = true,
                }
                if got.is_some() || none_ok {
                    break;
                }
            }
            match got {
                Some(ip) => v.push((Some(ip), false)),
                None if none_ok => {
                    diags.push(
                        Diagnostic::new(Level::Warning, Some(s.loc.clone()), LocStyle::Bare, format!("'server {}/{}' : could not resolve address '{name}', disabling server.", p.name, s.name)).checked(),
                    );
                    v.push((None, true));
                }
                None => {
                    diags.push(
                        Diagnostic::new(
                            Level::Alert,
                            Some(s.loc.clone()),
                            LocStyle::Bare,
                            format!(
                                "'server {}/{}' : could not resolve address '{name}'.",
                                p.name, s.name
                            ),
                        )
                        .checked(),
                    );
                    addr_failed = true;
                    v.push((None, true));
                }
            }
        }
        resolved.push(v);
    }
    if addr_failed {
        diags.push(check(Level::Alert, "Failed to initialize server(s) addr."));
        return None;
    }

    let mut backends = Vec::new();
    for ((p, pages), addrs) in proxies
        .iter()
        .zip(&pages)
        .filter(|(p, _)| p.kind.caps() & 4 != 0)
        .zip(resolved)
    {
        if p.disabled {
            backends.push(disabled_backend(p, addrs, global, pages.clone()));
            continue;
        }
        backends.push(lower_backend(
            p,
            addrs,
            global,
            &tables,
            pages.clone(),
            case.clone(),
        ));
    }
    for ((bi, si), mut t) in super::lower_track::resolve_all(proxies).of {
        if backends[bi].disabled {
            continue;
        }
        // A disabled backend's servers are listed last first.
        if backends[t.0].disabled {
            t.1 = backends[t.0].servers.len() - 1 - t.1;
        }
        backends[bi].servers[si].track = Some(t);
    }
    let mut frontends = Vec::new();
    // Backend names in index order, for `use_backend %[…]`.
    let be_names: std::sync::Arc<[Box<str>]> = proxies
        .iter()
        .filter(|p| p.kind.caps() & 4 != 0)
        .map(|p| p.name.as_str().into())
        .collect();
    for ((p, formats), pages) in proxies
        .iter()
        .zip(formats)
        .zip(&pages)
        .filter(|((p, _), _)| p.kind.caps() & 2 != 0)
    {
        // A disabled frontend does not listen: nothing of it runs.
        if p.disabled {
            continue;
        }
        // Rules after an unconditional use_backend never run: it is the default.
        let uncond = p.use_backends.iter().position(|u| u.cond.is_none());
        let target = |u: &crate::config::ast::UseBackend| match backend_name(&u.name.v) {
            Ok(BackendName::Static(n)) => be_index(&n).map(SwitchTarget::Backend),
            Ok(BackendName::Dynamic(f)) => Some(SwitchTarget::Named(f, be_names.clone())),
            Err(_) => None,
        };
        // An unconditional rule naming its backend per session does not end the list.
        let uncond = uncond.filter(|&i| {
            !matches!(
                backend_name(&p.use_backends[i].name.v),
                Ok(BackendName::Dynamic(_))
            )
        });
        let rules = &p.use_backends[..uncond.unwrap_or(p.use_backends.len())];
        let switching: Vec<SwitchRule> = rules
            .iter()
            .filter_map(|u| {
                Some(SwitchRule {
                    backend: target(u)?,
                    cond: u.cond.clone(),
                })
            })
            .collect();
        let default_backend = match (&p.default_backend, uncond.map(|i| &p.use_backends[i])) {
            (_, Some(u)) => match target(u) {
                Some(SwitchTarget::Backend(b)) => Some(b),
                _ => None,
            },
            (Some(d), None) => be_index(&d.v),
            (None, None) if p.kind == ProxyKind::Listen => be_index(&p.name),
            (None, None) => None,
        };
        // haproxide's nolinger acts in the TCP forwarder: an HTTP session, or a TCP
        // frontend's session upgraded by an HTTP backend, would not see it.
        if let Some(o) = p.options.get("nolinger").filter(|o| o.enabled) {
            let http = |b: &usize| backends[*b].mode == Mode::Http;
            let reaches_http = p.mode() == Mode::Http
                || default_backend.as_ref().is_some_and(http)
                || switching.iter().any(|r| match &r.backend {
                    SwitchTarget::Backend(b) => http(b),
                    SwitchTarget::Named(..) => backends.iter().any(|b| b.mode == Mode::Http),
                });
            if reaches_http {
                diags.push(Diagnostic::alert(&o.loc, NOLINGER_HTTP).checked());
            }
        }
        frontends.push(lower_frontend(
            p,
            (default_backend, switching),
            global,
            formats,
            (pages.clone(), case.clone()),
        ));
    }
    // The frontends' own checks (nolinger) come once their backends are known.
    if diags.has_alerts() {
        return None;
    }
    let (mut fi, mut bi) = (0, 0);
    let order = proxies
        .iter()
        .map(|p| {
            let f = (p.kind.caps() & 2 != 0 && !p.disabled).then(|| {
                fi += 1;
                fi - 1
            });
            let b = (p.kind.caps() & 4 != 0).then(|| {
                bi += 1;
                bi - 1
            });
            (f, b)
        })
        .collect::<Vec<_>>();
    // A listen's backend knows its frontend: its rules then ran already.
    for (f, b) in &order {
        if let (Some(f), Some(b)) = (f, b) {
            backends[*b].own_frontend = Some(*f);
        }
    }
    let ir_global = lower_global(global);
    for ((f, b), uuid) in order.iter().zip(proxy_uuids(proxies, &ir_global)) {
        if let Some(f) = f {
            frontends[*f].uuid = uuid;
        }
        if let Some(b) = b {
            backends[*b].uuid = uuid;
        }
    }
    super::server_state::load(proxies, &ir_global, &mut backends, diags);
    Some(Config {
        global: ir_global,
        frontends,
        backends,
        order,
        tables,
        peers,
        disabled_frontends: proxies
            .iter()
            .filter(|p| p.disabled && p.kind.caps() & 2 != 0)
            .map(|p| p.name.clone())
            .collect(),
    })
}

/// haproxy's proxy numbers, in declaration order: `id` where given, else the first free
/// number from a counter that every proxy moves on by one. The stats socket's internal
/// proxy comes first and moves it too (its own number is 0).
fn proxy_uuids(proxies: &[ProxyConf], g: &crate::ir::Global) -> Vec<u32> {
    let mut used: std::collections::BTreeSet<u32> = proxies.iter().filter_map(|p| p.id).collect();
    let mut next = if g.stats_sockets.is_empty() { 1 } else { 2 };
    proxies
        .iter()
        .map(|p| {
            let id = p.id.unwrap_or_else(|| {
                while used.contains(&next) {
                    next += 1;
                }
                used.insert(next);
                next
            });
            next += 1;
            id
        })
        .collect()
}

fn lower_global(g: &super::parse::GlobalConf) -> crate::ir::Global {
    let mut out = g.ir.clone();
    if out.log_tag.is_empty() {
        out.log_tag = "haproxy".into();
    }
    out
}

/// Why `option nolinger` is refused where HTTP sessions would meet it.
const NOLINGER_HTTP: &str = "'option nolinger' on HTTP traffic is not supported by haproxide (it acts in TCP forwarding only); see grammar/keywords.md.";

/// Where a proxy's lines go: its own `log` lines, `log global`'s targets, named by its
/// `log-tag`.
pub(super) fn log_targets(p: &ProxyConf, g: &super::parse::GlobalConf) -> Vec<LogTarget> {
    if p.log_disabled {
        return Vec::new();
    }
    let mut v = Vec::new();
    for e in &p.log {
        match e {
            LogEntry::Global => v.extend(g.ir.log.iter().cloned()),
            LogEntry::Target(t) => v.push(t.clone()),
        }
    }
    // The proxy's own log-tag names its lines, whatever target they go to.
    if let Some(tag) = &p.log_tag {
        for t in &mut v {
            t.tag = Some(tag.clone());
        }
    }
    // Each proxy samples with its own copy of a target (named by the proxy's place).
    for (i, t) in v.iter_mut().enumerate() {
        t.copy = p.loc.key(i);
    }
    v
}

/// A proxy's answer pages: status and raw response.
pub(super) type Pages = Vec<(u16, crate::ir::ErrorPage)>;

fn lower_frontend(
    p: &ProxyConf,
    (default_backend, switching): (Option<usize>, Vec<SwitchRule>),
    g: &super::parse::GlobalConf,
    (log_format, unique_id_format, log_sd): super::parse::log_format::ProxyFormats,
    (pages, case): (Pages, Option<std::sync::Arc<crate::ir::CaseMap>>),
) -> Frontend {
    let mut binds = Vec::new();
    for b in &p.binds {
        let mut tls = b.opts.ssl.then(|| bind_tls(&b.opts, g));
        // No HTTP/2 yet: an HTTP frontend does not offer it (warned about above).
        if let (Some(t), Mode::Http) = (tls.as_mut(), p.mode()) {
            t.common.alpn.retain(|a| a != "h2");
        }
        for a in &b.addrs {
            let text = match a {
                crate::ir::ListenAddr::Inet(sa) => fmt_sockaddr(sa),
                crate::ir::ListenAddr::Unix(u) => u.clone(),
                crate::ir::ListenAddr::Fd(n) => format!("fd@{n}"),
            };
            binds.push(Bind {
                addr: a.clone(),
                text,
                origin: b.loc.to_string(),
                v4v6: b.opts.v4v6,
                v6only: b.opts.v6only,
                accept_proxy: b.opts.accept_proxy,
                backlog: b.opts.backlog.or(p.backlog),
                maxconn: b.opts.maxconn,
                tcp_ut: b.opts.tcp_ut.map(Duration::from_millis),
                transparent: b.opts.transparent,
                mss: b.opts.mss.filter(|&m| m > 0).map(|m| m as u32),
                defer_accept: b.opts.defer_accept,
                tfo: b.opts.tfo,
                interface: b.opts.interface.clone(),
                name: b.opts.name.clone(),
                tls: tls.clone(),
            });
        }
    }
    // The structured data is rendered with the line: what it needs, the line needs.
    let log_sd = log_sd.filter(|_| log_format.is_some());
    let mut log_format = log_format;
    if let (Some(l), Some(sd)) = (log_format.as_mut(), log_sd.as_ref()) {
        l.needs_extra |= sd.needs_extra;
        l.needs_session |= sd.needs_session;
        l.needs_backend_source |= sd.needs_backend_source;
        l.waits_for_end |= sd.waits_for_end;
        l.request_only &= sd.request_only;
    }
    // haproxy's logwait: what the format prints decides when its line is written.
    let log_at = match log_format.as_ref() {
        None => crate::ir::LogAt::End,
        Some(l) if p.mode() == Mode::Http && l.request_only => crate::ir::LogAt::Request,
        Some(l) if p.option("logasap") || !l.waits_for_end => crate::ir::LogAt::Early,
        Some(_) => crate::ir::LogAt::End,
    };
    Frontend {
        name: p.name.clone(),
        uuid: 0,
        is_listen: p.kind == ProxyKind::Listen,
        mode: p.mode(),
        binds,
        maxconn: p.maxconn,
        rate_limit_sessions: p.rate_limit_sessions,
        timeout_client: timeout(p, "client"),
        timeout_client_fin: timeout(p, "client-fin"),
        log: log_targets(p, g),
        log_format,
        log_sd,
        unique_id_format,
        unique_id_header: p.unique_id_header.clone(),
        compression: p.compression.clone(),
        dontlognull: p.option("dontlognull"),
        dontlog_normal: p.option("dontlog-normal"),
        log_separate_errors: p.option("log-separate-errors"),
        log_at,
        logasap: p.option("logasap"),
        captures: p.captures.clone(),
        max_session_srv_conns: p.max_session_srv_conns,
        clitcpka: p.option("clitcpka") || p.option("tcpka"),
        clitcpka_tune: p.clitcpka,
        default_backend: if stats_only(p) { None } else { default_backend },
        switching,
        http_rules: if p.mode() == Mode::Http {
            named_realms(p)
        } else {
            Default::default()
        },
        inspect: p.inspect.clone(),
        nolinger: p.option("nolinger"),
        stats_page: if stats_only(p) {
            p.stats.page.clone().map(|mut page| {
                page.request_timeout = timeout(p, "http-request").or(timeout(p, "client"));
                page
            })
        } else {
            None
        },
        http: (p.mode() == Mode::Http && !stats_only(p)).then(|| crate::ir::HttpFrontend {
            request_timeout: timeout(p, "http-request"),
            keep_alive_timeout: timeout(p, "http-keep-alive"),
            conn_mode: http_conn_mode(p),
            errorfiles: pages,
            forwardfor: forwardfor(p, "forwardfor"),
            originalto: forwardfor(p, "originalto"),
            ignore_probes: p.option("http-ignore-probes"),
            buffer_request: p.option("http-buffer-request"),
            case_adjust: case.filter(|_| p.option("h1-case-adjust-bogus-client")),
            monitor_uri: p.monitor_uri.as_ref().map(|u| u.as_bytes().into()),
            monitor_fail: p.monitor_fail.clone(),
            ..crate::ir::HttpFrontend::DEFAULT
        }),
    }
}

/// haproxy's `cfg_opts` and `cfg_opts2` entries that need HTTP mode, in its order, with
/// the proxies they apply to: a TCP proxy that has one gets a warning naming it.
const HTTP_MODE_OPTIONS: &[((&str, &str), u8)] = {
    use crate::config::keywords::cap::{BE, FE};
    &[
        (("'option checkcache'", "checkcache"), BE),
        (
            ("'option http-buffer-request'", "http-buffer-request"),
            FE | BE,
        ),
        (("'option http-ignore-probes'", "http-ignore-probes"), FE),
        (
            ("'option idle-close-on-response'", "idle-close-on-response"),
            FE,
        ),
        (("'option prefer-last-server'", "prefer-last-server"), BE),
        (
            (
                "'option accept-invalid-http-request'",
                "accept-invalid-http-request",
            ),
            FE,
        ),
        (
            (
                "'option accept-invalid-http-response'",
                "accept-invalid-http-response",
            ),
            BE,
        ),
        (
            ("'option http-use-proxy-header'", "http-use-proxy-header"),
            FE,
        ),
        (
            ("'option http-pretend-keepalive'", "http-pretend-keepalive"),
            BE,
        ),
        (("'option http-no-delay'", "http-no-delay"), FE | BE),
        (("'option disable-h2-upgrade'", "disable-h2-upgrade"), FE),
    ]
};

/// Whether a server line gives no host (`server x :`, `server x :8883`): 0.0.0.0.
fn no_address(s: &super::ast::ServerConf) -> bool {
    s.addr_text.starts_with(':')
}

/// `addr:port` as HAProxy prints listeners (`[v6]:port` for IPv6).
pub fn fmt_sockaddr(sa: &SocketAddr) -> String {
    match sa {
        SocketAddr::V4(v) => format!("{}:{}", v.ip(), v.port()),
        SocketAddr::V6(v) => format!("[{}]:{}", v.ip(), v.port()),
    }
}

/// `path` under a `*-base` directory, unless it is absolute.
pub(super) fn with_base(base: &Option<String>, path: &str) -> String {
    match base {
        Some(b) if !path.starts_with('/') => format!("{}/{path}", b.trim_end_matches('/')),
        _ => path.to_string(),
    }
}

/// `nbsrv` without a backend in a frontend's log-format names the frontend, which has no
/// servers: haproxy's argument resolution refuses it, with the proxy named twice.
fn nbsrv_in_frontend_logs(
    proxies: &[ProxyConf],
) -> Vec<(crate::config::diag::Loc, String, String)> {
    use crate::ir::acl::Fetch;
    use crate::ir::log_format::LogNode;
    let mut out = Vec::new();
    for p in proxies
        .iter()
        .filter(|p| p.kind == ProxyKind::Frontend && !p.disabled)
    {
        let Some(crate::config::ast::LogFormatSetting::Custom(text)) = &p.log_format else {
            continue;
        };
        let Ok(f) = super::parse::log_format::parse(&text.v, p.mode() == Mode::Http, true) else {
            continue;
        };
        let nbsrv = f
            .nodes
            .iter()
            .any(|n| matches!(n, LogNode::Sample(e, _) if e.fetch == Fetch::Nbsrv(None)));
        if nbsrv {
            let msg = format!("proxy '{0}', referenced in arg 1 of sample fetch keyword 'nbsrv' in log-format string in proxy '{0}', has not backend capability.", p.name);
            out.push((text.loc.clone(), p.name.clone(), msg));
        }
    }
    // This parse's table arguments are the formats' own parse's business.
    super::parse::counters::take_table_refs();
    out
}
