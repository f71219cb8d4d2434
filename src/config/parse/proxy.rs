//! Proxy sections (`defaults`, `frontend`, `backend`, `listen`): configuration.txt §4.
//! Messages follow HAProxy 2.6's `cfgparse-listen.c` wording.

use super::units::{lenient_int, parse_time_ms, TimeError};
use super::{Kwm, Parser, Stmt};
use crate::config::ast::{
    ErrorPages, LogEntry, LogFormatSetting, OptionSetting, ProxyConf, ProxyKind, Spanned,
};
use crate::config::diag::Loc;
use crate::config::diag::{Diagnostic, LocStyle};
use crate::config::keywords::{self, cap, Status};
use crate::ir::Mode;

/// The statuses `errorfile` and `errorloc` may replace (haproxy's `http_err_codes`).
pub(super) const ERROR_CODES: [i64; 17] = [
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
];

/// An `errorfile`'s bytes, read when its line is (None: not a readable regular file).
pub(super) fn read_errorfile(path: &str) -> Option<Vec<u8>> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .and_then(|_| std::fs::read(path).ok())
}

/// Timeout names HAProxy knows, in the order its error message lists them.
const TIMEOUTS: [&str; 11] = [
    "client",
    "server",
    "connect",
    "check",
    "queue",
    "http-keep-alive",
    "http-request",
    "tunnel",
    "tarpit",
    "client-fin",
    "server-fin",
];

impl Parser {
    pub(super) fn parse_proxy(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let kw = stmt.arg(0);
        let loc = stmt.loc;
        let Some(k) = keywords::lookup(keywords::PROXY, kw) else {
            let names = keywords::PROXY
                .iter()
                .map(|k| k.name)
                .chain(["frontend", "backend", "listen", "defaults", "global"]);
            let hint = match keywords::suggest(names, kw) {
                Some(s) => format!("; did you mean '{s}' maybe ?"),
                None => String::new(),
            };
            return self.alert(
                loc,
                format!(
                    "unknown keyword '{kw}' in '{}' section{hint}",
                    p.kind.word()
                ),
            );
        };
        if k.status == Status::Removed {
            let msg = match kw {
                "redispatch" => "keyword 'redispatch' directive is not supported anymore since HAProxy 2.1. Use 'option redispatch'.".to_string(),
                other => format!("the '{other}' directive is not supported anymore since HAProxy 2.1. {}.", capitalize(k.note)),
            };
            return self.alert(loc, msg);
        }
        let caps = p.kind.caps();
        // haproxy parses this one in any proxy, with its own warning.
        let own_cap_check = kw == "max-keep-alive-queue";
        if (k.caps & caps == 0 && !own_cap_check)
            || (p.kind == ProxyKind::Defaults && k.caps & cap::DEF == 0)
        {
            if p.kind == ProxyKind::Defaults {
                let d =
                    Diagnostic::alert(loc, format!("'{kw}' not allowed in 'defaults' section."));
                let d = if kw == "server" {
                    d.styled(LocStyle::Bare)
                } else {
                    d
                };
                return self.push(d);
            }
            let missing = if k.caps & cap::FE != 0 {
                "frontend"
            } else {
                "backend"
            };
            if kw == "server" {
                let msg = format!("parsing [{loc}] : 'server' not allowed because {} '{}' has no {missing} capability.", p.kind.word(), p.name);
                return self.push(Diagnostic::alert(loc, msg).styled(LocStyle::Bare));
            }
            // haproxy points at the other limit for these two.
            let hint = match kw {
                "maxconn" => " Maybe you want 'fullconn' instead ?",
                "fullconn" => " Maybe you want 'maxconn' instead ?",
                _ => "",
            };
            self.warn(
                loc,
                format!(
                    "'{kw}' ignored because {} '{}' has no {missing} capability.{hint}",
                    p.kind.word(),
                    p.name
                ),
            );
            // haproxy still reads a cookie line (and warns again if not in HTTP mode).
            if kw == "cookie" {
                self.parse_cookie(p, stmt);
            } else if kw == "capture" {
                self.parse_capture(p, stmt);
            } else if kw == "monitor-uri" {
                self.parse_monitor_uri(p, stmt);
            } else if kw == "use-server" {
                self.parse_use_server(p, stmt);
            } else if kw == "source" {
                self.parse_proxy_source(p, stmt);
            } else if kw == "http-send-name-header" && stmt.arg(1).is_empty() {
                self.alert(loc, "'http-send-name-header' requires a header string.");
            } else if kw == "force-persist" || kw == "ignore-persist" {
                self.parse_persist_rule(p, stmt);
            } else if kw == "load-server-state-from-file" {
                self.parse_load_state(p, stmt);
            } else if kw == "server-state-file-name" {
                self.parse_state_file_name(p, stmt);
            } else if kw == "max-session-srv-conns" {
                self.parse_max_session_srv_conns(p, stmt);
            }
            return;
        }
        if kw == "option" {
            return self.parse_option(p, stmt);
        }
        if kw == "stats" {
            // HTTP stats page: no effect on a TCP proxy (HAProxy warns); served by a
            // `mode http` proxy that does nothing else.
            p.http_only.push(Spanned {
                v: "'stats' statement".into(),
                loc: loc.clone(),
            });
            return self.parse_stats(p, stmt);
        }
        // Ignored, but its missing argument is still haproxy's error.
        if kw == "description" && stmt.words.len() < 2 {
            return self.alert(loc, "'description' expects a string argument.");
        }
        if !self.table_status(loc, k, &format!("'{kw}'")) {
            return;
        }
        self.rule_rank = super::rule_rank(kw, stmt.arg(1));
        match kw {
            "bind" => self.parse_bind(p, stmt),
            "server" => self.parse_server(p, stmt, false),
            "server-template" => self.parse_server_template(p, stmt),
            "default-server" => self.parse_server(p, stmt, true),
            "tcp-check" => self.parse_tcp_check(p, stmt),
            "tcp-request" => self.parse_tcp_request(p, stmt),
            "tcp-response" => self.parse_tcp_response(p, stmt),
            "stick-table" => self.parse_stick_table(p, stmt),
            "stick" => self.parse_stick(p, stmt),
            "declare" => self.parse_declare(p, stmt),
            "http-check" => self.parse_http_check(p, stmt),
            "cookie" => self.parse_cookie(p, stmt),
            "capture" => self.parse_capture(p, stmt),
            "compression" => self.parse_compression(p, stmt),
            "http-error" => self.parse_http_error(p, stmt),
            "id" => self.parse_proxy_id(p, stmt),
            "disabled" | "enabled" => {
                if !self.too_many(stmt, 0, kw) {
                    p.disabled = kw == "disabled";
                }
            }
            "load-server-state-from-file" => self.parse_load_state(p, stmt),
            "server-state-file-name" => self.parse_state_file_name(p, stmt),
            "mode" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                let m = match stmt.arg(1) {
                    "tcp" => Mode::Tcp,
                    "http" => Mode::Http,
                    "health" => return self.alert(loc, "'mode health' doesn't exist anymore. Please use 'http-request return status 200' instead."),
                    other => return self.alert(loc, format!("unknown proxy mode '{other}'.")),
                };
                p.mode = Some(Spanned {
                    v: m,
                    loc: loc.clone(),
                });
            }
            "balance" => self.parse_balance(p, stmt),
            "hash-type" => self.parse_hash_type(p, stmt),
            "retry-on" => self.parse_retry_on(p, stmt),
            "clitcpka-cnt" | "clitcpka-idle" | "clitcpka-intvl" | "srvtcpka-cnt"
            | "srvtcpka-idle" | "srvtcpka-intvl" => self.parse_tcpka(p, stmt),
            "max-keep-alive-queue" => self.parse_max_ka_queue(p, stmt),
            "max-session-srv-conns" => self.parse_max_session_srv_conns(p, stmt),
            "hash-balance-factor" => {
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, format!("'{kw}' expects an integer argument."));
                }
                // atol(), kept as haproxy's int.
                let v = lenient_int(stmt.arg(1)) as i32;
                if v != 0 && v <= 100 {
                    return self.alert(loc, format!("'{kw}' must be 0 or greater than 100."));
                }
                p.hash_balance_factor = v.max(0) as u32;
            }
            "timeout" => self.parse_timeout(p, stmt),
            "retries" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(
                        loc,
                        "'retries' expects an integer argument (dispatch counts for one).",
                    );
                }
                p.retries = Some(lenient_int(stmt.arg(1)).max(0) as u32);
            }
            "maxconn" | "backlog" => {
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, format!("'{kw}' expects an integer argument."));
                }
                let v = Some(lenient_int(stmt.arg(1)).max(0) as u32);
                if kw == "maxconn" {
                    p.maxconn = v;
                } else {
                    p.backlog = v;
                }
            }
            "fullconn" => {
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, format!("'{kw}' expects an integer argument."));
                }
                // atol() into an unsigned int, set before the argument count is checked.
                p.fullconn = Some(lenient_int(stmt.arg(1)) as u32);
                self.too_many(stmt, 1, kw);
            }
            "log" => self.parse_proxy_log(p, stmt),
            // Words past the name are ignored, as haproxy ignores them.
            "unique-id-header" => {
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, format!("{kw} expects an argument."));
                }
                p.unique_id_header = Some(stmt.arg(1).to_string());
            }
            "log-format" | "unique-id-format" | "log-format-sd" => {
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, format!("{kw} expects an argument."));
                }
                if stmt.words.len() > 2 {
                    return self.alert(
                        loc,
                        format!("{kw} expects only one argument, don't forget to escape spaces!"),
                    );
                }
                let v = Spanned {
                    v: stmt.arg(1).to_string(),
                    loc: loc.clone(),
                };
                if kw == "unique-id-format" {
                    p.unique_id_format = Some(v);
                    return;
                }
                if kw == "log-format-sd" {
                    p.log_format_sd = Some(v);
                    if p.kind == ProxyKind::Backend {
                        self.warn(
                            loc,
                            format!(
                                "backend '{}' : 'log-format-sd' directive is ignored in backends.",
                                p.name
                            ),
                        );
                    }
                    return;
                }
                self.log_format_replaced(p, loc, "log-format");
                p.log_format = Some(LogFormatSetting::Custom(v));
                for o in ["tcplog", "httplog", "httpslog"] {
                    p.options.remove(o);
                }
                if p.kind == ProxyKind::Backend {
                    self.warn(
                        loc,
                        format!(
                            "backend '{}' : 'log-format' directive is ignored in backends.",
                            p.name
                        ),
                    );
                }
            }
            "log-tag" => {
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'log-tag' expects a tag for use in syslog.");
                }
                p.log_tag = Some(stmt.arg(1).to_string());
            }
            "default_backend" => {
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'default_backend' expects a backend name.");
                }
                if self.too_many(stmt, 1, kw) {
                    return;
                }
                p.default_backend = Some(Spanned {
                    v: stmt.arg(1).to_string(),
                    loc: loc.clone(),
                });
            }
            "use_backend" => self.parse_use_backend(p, stmt),
            "use-server" => self.parse_use_server(p, stmt),
            "force-persist" | "ignore-persist" => self.parse_persist_rule(p, stmt),
            "acl" => self.parse_acl(p, stmt),
            "http-request" | "http-response" | "http-after-response" => {
                self.parse_http_rule(p, stmt)
            }
            "redirect" => self.parse_redirect(p, stmt),
            "monitor-uri" => self.parse_monitor_uri(p, stmt),
            "monitor" => self.parse_monitor(p, stmt),
            "source" => self.parse_proxy_source(p, stmt),
            "rate-limit" => self.parse_rate_limit(p, stmt),
            "http-send-name-header" => {
                if stmt.arg(1).is_empty() {
                    return self.alert(loc, "'http-send-name-header' requires a header string.");
                }
                p.send_name_header = Some(stmt.arg(1).to_ascii_lowercase());
            }
            "usesrc" => self.alert(loc, "'usesrc' only allowed after a 'source' statement."),
            "errorfile" => {
                if stmt.words.len() < 3 {
                    let mut d = Diagnostic::alert(
                        loc,
                        "errorfile : expects <status_code> and <file> as arguments.",
                    );
                    d.extra.push(String::new());
                    return self.push(d);
                }
                let code = lenient_int(stmt.arg(1));
                if !ERROR_CODES.contains(&code) {
                    return self.alert(
                        loc,
                        format!("errorfile : status code '{}' not handled.", stmt.arg(1)),
                    );
                }
                let missing = self.missing_file(loc, "errorfile", stmt.arg(2));
                let Some(bytes) = read_errorfile(stmt.arg(2)).or(missing.then(Vec::new)) else {
                    return self.alert(
                        loc,
                        format!("errorfile : error opening file '{}'.", stmt.arg(2)),
                    );
                };
                p.errorfiles.push(Spanned {
                    v: ErrorPages::Page(code as u16, bytes.into()),
                    loc: loc.clone(),
                });
            }
            "errorloc" | "errorloc302" | "errorloc303" => {
                if stmt.arg(1).is_empty() || stmt.arg(2).is_empty() {
                    let mut d = Diagnostic::alert(
                        loc,
                        format!("{kw} : expects <status_code> and <url> as arguments."),
                    );
                    d.extra.push(String::new());
                    return self.push(d);
                }
                // atol(): haproxy names the number it read.
                let code = lenient_int(stmt.arg(1));
                if !ERROR_CODES.contains(&code) {
                    return self.alert(loc, format!("{kw} : status code '{code}' not handled."));
                }
                // The answer haproxy builds (http_parse_errorloc), then served as an
                // errorfile's.
                let (status, reason) = if kw == "errorloc303" {
                    (303, "See Other")
                } else {
                    (302, "Found")
                };
                let raw = format!(
                    "HTTP/1.1 {status} {reason}\r\nCache-Control: no-cache\r\nContent-length: 0\r\nLocation: {}\r\n\r\n",
                    stmt.arg(2)
                );
                p.errorfiles.push(Spanned {
                    v: ErrorPages::Page(code as u16, raw.into_bytes().into()),
                    loc: loc.clone(),
                });
            }
            "http-reuse" => {
                use crate::ir::HttpReuse;
                let mode =
                    match stmt.arg(1) {
                        "never" => HttpReuse::Never,
                        "safe" => HttpReuse::Safe,
                        "aggressive" => HttpReuse::Aggressive,
                        "always" => HttpReuse::Always,
                        _ => return self.alert(
                            loc,
                            "'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.",
                        ),
                    };
                if let Some(extra) = stmt.words.get(2) {
                    return self.alert(
                        loc,
                        format!(
                            "'http-reuse {}' cannot handle unexpected argument '{extra}'.",
                            stmt.arg(1)
                        ),
                    );
                }
                p.http_reuse = Some(mode);
            }
            "errorfiles" => {
                let name = stmt.arg(1);
                if name.is_empty() {
                    return self.alert(loc, "errorfiles : expects <name> as argument.");
                }
                let mut codes = Vec::new();
                for w in stmt.words.iter().skip(2) {
                    let code = lenient_int(w);
                    if !ERROR_CODES.contains(&code) {
                        return self.alert(
                            loc,
                            format!("errorfiles : status code '{code}' not handled."),
                        );
                    }
                    codes.push(code as u16);
                }
                p.errorfiles.push(Spanned {
                    v: ErrorPages::Section(name.to_string(), (!codes.is_empty()).then_some(codes)),
                    loc: loc.clone(),
                });
            }
            _ => {}
        }
    }

    fn parse_timeout(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let name = stmt.arg(1);
        if !TIMEOUTS.contains(&name) {
            return self.alert(loc, format!("'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '{name}')"));
        }
        let what = format!("timeout {name}");
        let v = stmt.arg(2);
        if v.is_empty() {
            return self.alert(
                loc,
                format!("'{what}' expects an integer value (in milliseconds)"),
            );
        }
        let ms = match parse_time_ms(v) {
            Ok(ms) => ms,
            Err(TimeError::Unexpected(c)) => return self.alert(loc, format!("unexpected character '{c}' in '{what}'")),
            Err(TimeError::Overflow) => return self.alert(loc, format!("timer overflow in argument '{v}' to '{what}' (maximum value is 2147483647 ms or ~24.8 days)")),
            Err(TimeError::Empty) => return self.alert(loc, format!("'{what}' expects an integer value (in milliseconds)")),
        };
        if stmt.words.len() > 3 {
            return self.alert(
                loc,
                format!(
                    "'{what}' : unexpected extra argument '{}' after value '{v}'.",
                    stmt.arg(3)
                ),
            );
        }
        let side_ok = match name {
            "client" | "client-fin" => p.kind.caps() & cap::FE != 0,
            // Either side (haproxy's caps): a frontend's rules tarpit with its own, a
            // backend's `option http-buffer-request` waits with its own http-request.
            "tarpit" | "http-request" | "http-keep-alive" => true,
            _ => p.kind.caps() & cap::BE != 0,
        };
        if !side_ok {
            let need = if matches!(name, "client" | "client-fin") {
                "frontend"
            } else {
                "backend"
            };
            return self.warn(
                loc,
                format!(
                    "'timeout {name}' will be ignored because {} '{}' has no {need} capability",
                    p.kind.word(),
                    p.name
                ),
            );
        }
        if matches!(name, "http-keep-alive" | "http-request" | "tarpit") {
            p.http_only.push(Spanned {
                v: format!("'timeout {name}'"),
                loc: loc.clone(),
            });
        }
        p.timeouts.insert(
            name.to_string(),
            Spanned {
                v: ms,
                loc: loc.clone(),
            },
        );
    }

    fn parse_proxy_log(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        // `no log`: forget the targets, inherited ones included (configuration.txt §4 "log").
        if stmt.kwm == Kwm::No {
            if stmt.words.len() > 1 {
                return self.alert(loc, "log : 'no log' does not expect arguments");
            }
            p.log.clear();
            return;
        }
        match stmt.arg(1) {
            "global" => {
                if stmt.words.len() > 2 {
                    return self
                        .alert(loc, format!("log : unknown log facility '{}'", stmt.arg(2)));
                }
                p.log_disabled = false;
                p.log.push(LogEntry::Global);
            }
            "disable" => {
                p.log.clear();
                p.log_disabled = true;
            }
            _ => {
                if let Some(t) = self.parse_log_target(stmt, false) {
                    p.log_disabled = false;
                    p.log.push(LogEntry::Target(t));
                }
            }
        }
    }

    /// Checks `option forwardfor [except <net>] [header <name>] [if-none]` and `option
    /// originalto [except <net>] [header <name>]` as haproxy does (cfgparse-listen.c);
    /// false after an error.
    fn forwardfor_args(&mut self, stmt: &Stmt, name: &str) -> bool {
        let loc = stmt.loc;
        let xff = name == "forwardfor";
        let mut i = 2;
        while !stmt.arg(i).is_empty() {
            match stmt.arg(i) {
                "except" => {
                    if crate::config::lower_http::forwardfor_net(stmt.arg(i + 1)).is_none() {
                        self.alert(
                            loc,
                            format!("'option {name} except' expects <address>[/mask] as argument."),
                        );
                        return false;
                    }
                    i += 2;
                }
                "header" => {
                    if stmt.arg(i + 1).is_empty() {
                        self.alert(
                            loc,
                            format!("'option {name} header' expects <header_name> as argument."),
                        );
                        return false;
                    }
                    i += 2;
                }
                "if-none" if xff => i += 1,
                _ if xff => {
                    self.alert(loc, "'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.");
                    return false;
                }
                _ => {
                    self.alert(
                        loc,
                        "'option originalto' only supports optional values: 'except' and 'header'.",
                    );
                    return false;
                }
            }
        }
        true
    }

    fn parse_option(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let negate = stmt.kwm == Kwm::No;
        let (name, first_arg) = (stmt.arg(1), 2);
        if name.is_empty() {
            return self.push(
                Diagnostic::alert(loc, "'option' expects an option name.")
                    .styled(LocStyle::ParsingTight),
            );
        }
        let Some(k) = keywords::lookup(keywords::OPTIONS, name) else {
            if stmt.kwm != Kwm::Std {
                return self.push(
                    Diagnostic::alert(
                        loc,
                        format!("negation/default is not supported for option '{name}'."),
                    )
                    .styled(LocStyle::ParsingTight),
                );
            }
            return self.alert(loc, format!("unknown option '{name}'."));
        };
        let with_args = matches!(
            name,
            "httpchk"
                | "redispatch"
                | "httplog"
                | "httpslog"
                | "forwardfor"
                | "originalto"
                | "smtpchk"
                | "mysql-check"
                | "pgsql-check"
        );
        if stmt.kwm != Kwm::Std
            && matches!(
                name,
                "tcpka"
                    | "tcplog"
                    | "httplog"
                    | "httpslog"
                    | "httpchk"
                    | "tcp-check"
                    | "forwardfor"
                    | "originalto"
                    | "smtpchk"
                    | "mysql-check"
                    | "pgsql-check"
                    | "ldap-check"
                    | "redis-check"
                    | "ssl-hello-chk"
                    | "spop-check"
                    | "external-check"
            )
        {
            return self.push(
                Diagnostic::alert(
                    loc,
                    format!("negation/default is not supported for option '{name}'."),
                )
                .styled(LocStyle::ParsingTight),
            );
        }
        if !with_args && self.too_many(stmt, first_arg - 1, &format!("option {name}")) {
            return;
        }
        // haproxy keeps a backend's log format (its mode is checked later), with its own
        // warning.
        let backend_log =
            matches!(name, "tcplog" | "httplog" | "httpslog") && p.kind == ProxyKind::Backend;
        if backend_log {
            self.warn(
                loc,
                format!(
                    "backend '{}' : 'option {name}' directive is ignored in backends.",
                    p.name
                ),
            );
        }
        let caps = p.kind.caps();
        if k.caps & caps == 0 && !backend_log {
            let need = if k.caps & cap::FE != 0 {
                "frontend"
            } else {
                "backend"
            };
            return self.warn(
                loc,
                format!(
                    "'{name}' ignored because {} '{}' has no {need} capability.",
                    p.kind.word(),
                    p.name
                ),
            );
        }
        if matches!(
            name,
            "forwardfor"
                | "originalto"
                | "http-server-close"
                | "http-keep-alive"
                | "httpclose"
                | "http-pretend-keepalive"
                | "http-buffer-request"
                | "http-no-delay"
                | "http-ignore-probes"
                | "http-use-proxy-header"
                | "accept-invalid-http-request"
                | "accept-invalid-http-response"
                | "checkcache"
                | "prefer-last-server"
                | "idle-close-on-response"
                | "disable-h2-upgrade"
                | "h1-case-adjust-bogus-client"
                | "h1-case-adjust-bogus-server"
                | "http_proxy"
                | "http-use-htx"
        ) {
            // HTTP-only options: no effect on TCP proxies (HAProxy warns for some), decided
            // once the mode is known; the connection modes are kept for HTTP proxies.
            p.http_only.push(Spanned {
                v: format!("'option {name}'"),
                loc: loc.clone(),
            });
            if matches!(name, "forwardfor" | "originalto") && !self.forwardfor_args(stmt, name) {
                return;
            }
            // Kept, for HTTP proxies to use and TCP ones to be warned about.
            {
                p.options.insert(
                    name.to_string(),
                    OptionSetting {
                        enabled: !negate,
                        args: stmt.words.get(first_arg..).unwrap_or(&[]).to_vec(),
                        loc: loc.clone(),
                        own: true,
                    },
                );
            }
            return;
        }
        match k.status {
            Status::Supported => {}
            Status::Ignored => return self.ignored(loc, &format!("'option {name}'"), k.note),
            Status::Unsupported | Status::Removed => {
                return self.unsupported(loc, &format!("'option {name}'"), k.note)
            }
        }
        if crate::config::proto_checks::OPTIONS.contains(&name)
            && !self.proto_check_args(stmt, name)
        {
            return;
        }
        // Each of these options replaces the check kind, as in HAProxy.
        let proto = crate::config::proto_checks::OPTIONS;
        if (CHECK_OPTIONS.contains(&name) || proto.contains(&name)) && !negate {
            for o in CHECK_OPTIONS.iter().chain(proto) {
                p.options.remove(*o);
            }
            p.tcp_checks_unused = false;
        }
        // `option tcplog`, `option httplog` and `log-format` replace each other.
        if matches!(name, "tcplog" | "httplog" | "httpslog") {
            let now = match name {
                "tcplog" => "option tcplog",
                "httpslog" => "option httpslog",
                _ if stmt.arg(first_arg) == "clf" => "option httplog clf",
                _ => "option httplog",
            };
            // haproxy 2.6 names httpslog 'option httplog' in this warning.
            let said = if name == "httpslog" {
                "option httplog"
            } else {
                now
            };
            self.log_format_replaced(p, loc, said);
            p.log_format = Some(LogFormatSetting::Option(now));
            for o in ["tcplog", "httplog", "httpslog"] {
                p.options.remove(o);
            }
        }
        if stmt.kwm == Kwm::Def {
            // Back to what the defaults section says (nothing, in a defaults section).
            let from = match (p.kind, p.defaults_name.as_deref()) {
                (ProxyKind::Defaults, _) | (_, None) => None,
                (_, Some(n)) if n.is_empty() || n == self.defaults.name => Some(&self.defaults),
                (_, Some(n)) => self.named_defaults.get(n),
            };
            let inherited = from.and_then(|d| d.options.get(name)).cloned();
            p.options.remove(name);
            if let Some(mut o) = inherited {
                o.own = false;
                p.options.insert(name.to_string(), o);
            }
            return;
        }
        let args: Vec<String> = stmt.words.get(first_arg..).unwrap_or(&[]).to_vec();
        p.options.insert(
            name.to_string(),
            OptionSetting {
                enabled: !negate,
                args,
                loc: loc.clone(),
                own: true,
            },
        );
    }
}

/// The options that choose a backend's check kind besides the protocol ones, each
/// replacing the others.
const CHECK_OPTIONS: &[&str] = &["tcp-check", "httpchk"];

impl Parser {
    /// The arguments of the protocol check options (`option pgsql-check user <name>`,
    /// `option mysql-check [user <name> [post-41|pre-41]]`, `option smtpchk [HELO|EHLO
    /// <domain>]`, the others none), with proxy_parse_*_opt's messages.
    fn proto_check_args(&mut self, stmt: &Stmt, name: &str) -> bool {
        let max = match name {
            "pgsql-check" | "smtpchk" => 2,
            "mysql-check" => 3,
            _ => 0,
        };
        if self.too_many(stmt, max + 1, &format!("option {name}")) {
            return false;
        }
        if name == "mysql-check" && !stmt.arg(2).is_empty() {
            let msg = if stmt.arg(2) != "user" {
                format!(
                    "'option mysql-check' only supports optional values: 'user' (got '{}')",
                    stmt.arg(2)
                )
            } else if stmt.arg(3).is_empty() {
                "'option mysql-check user' expects <username> as argument".into()
            } else if !matches!(stmt.arg(4), "" | "post-41" | "pre-41") {
                format!(
                    "keyword 'user' only supports 'post-41' and 'pre-41' (got '{}')",
                    stmt.arg(4)
                )
            } else {
                return true;
            };
            self.alert(stmt.loc, format!("{msg}."));
            return false;
        }
        if name == "pgsql-check" {
            let msg = if stmt.arg(2).is_empty() || stmt.arg(3).is_empty() {
                "expects 'user <username>' as argument"
            } else if stmt.arg(2) != "user" {
                "only supports optional values: 'user'"
            } else {
                return true;
            };
            self.alert(stmt.loc, format!("'option pgsql-check' {msg}."));
            return false;
        }
        true
    }

    /// haproxy warns when a `defaults` section sets its log format twice.
    fn log_format_replaced(&mut self, p: &ProxyConf, loc: &Loc, now: &str) {
        if let (ProxyKind::Defaults, Some(before)) = (p.kind, &p.log_format) {
            self.push(
                Diagnostic::warning(
                    loc,
                    format!(
                        "'{now}' overrides previous '{}' in 'defaults' section.",
                        before.word()
                    ),
                )
                .styled(LocStyle::ParsingTight),
            );
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl Parser {
    /// `rate-limit sessions <rate>` (proxy.c proxy_parse_rate_limit): the frontend's new
    /// sessions per second; ignored with a warning where there is no frontend, and a
    /// change of what the section started with warns.
    fn parse_rate_limit(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let (kw, what, val) = (stmt.arg(0), stmt.arg(1), stmt.arg(2));
        if what != "sessions" {
            return self.alert(
                loc,
                format!("'{kw}' only supports 'sessions' (got '{what}')"),
            );
        }
        if val.is_empty() {
            return self.alert(
                loc,
                format!("'{kw} {what}' expects expects an integer value (in sessions/second)"),
            );
        }
        // strtoul(…, 0) kept in an unsigned int: a sign or an overflow ends the same way.
        let (v, end) = super::units::strtol0(val).unwrap_or((0, 0));
        if let Some(c) = val[end..].chars().next() {
            let msg =
                format!("'{kw} {what}' : unexpected character '{c}' in integer value '{val}'");
            return self.alert(loc, msg);
        }
        if p.kind.caps() & cap::FE == 0 {
            let msg = format!(
                "{kw} {what} will be ignored because {} '{}' has no frontend capability",
                p.kind.word(),
                p.name
            );
            self.warn(loc, msg);
        } else if p.kind != ProxyKind::Defaults && p.rate_limit_sessions != p.rate_limit_inherited {
            self.warn(
                loc,
                format!("overwriting {kw} {what} which was already specified"),
            );
        }
        p.rate_limit_sessions = v as u32;
    }
}
