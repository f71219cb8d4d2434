//! `server` and `default-server` lines: configuration.txt §4.2 `server` and §5.2 (server
//! and default-server options). Messages follow HAProxy 2.6's `server.c` wording.

use super::addr::{expand_env, parse_addr, AddrRules};
use super::global::tls_version;
use super::units::{atoi, lenient_int, parse_time_ms, TimeError};
use super::{Parser, Stmt};
use crate::config::ast::{InitAddr, ProxyConf, ServerConf, ServerOpts};
use crate::config::diag::{Diagnostic, LocStyle};
use crate::config::keywords::{self, Status};

/// Server options that take one value.
const WITH_VALUE: &[&str] = &[
    "inter",
    "fastinter",
    "downinter",
    "fall",
    "rise",
    "port",
    "addr",
    "proxy-v2-options",
    "weight",
    "maxconn",
    "maxqueue",
    "init-addr",
    "on-marked-down",
    "on-marked-up",
    "source",
    "verify",
    "ca-file",
    "sni",
    "crt",
    "alpn",
    "id",
    "resolvers",
    "resolve-prefer",
    "resolve-opts",
    "resolve-net",
    "slowstart",
    "agent-addr",
    "agent-inter",
    "agent-port",
    "agent-send",
    "track",
    "observe",
    "on-error",
    "error-limit",
    "minconn",
    "cookie",
    "redir",
    "check-sni",
    "check-alpn",
    "check-proto",
    "socks4",
    "namespace",
    "tcp-ut",
    "pool-low-conn",
    "pool-max-conn",
    "pool-purge-delay",
    "max-reuse",
    "proto",
    "ws",
    "usesrc",
    "log-proto",
    "ciphers",
    "ciphersuites",
    "crl-file",
    "verifyhost",
    "ssl-min-ver",
    "ssl-max-ver",
    "npn",
];

/// PROXY v2 options `proxy-v2-options` accepts.
const PP2_OPTIONS: &[&str] = &[
    "ssl",
    "cert-cn",
    "ssl-cipher",
    "cert-sig",
    "cert-key",
    "authority",
    "crc32c",
    "unique-id",
];

/// `server-template`'s `<num>` or `<low>-<high>` as haproxy's `atoi`s read them: `3` is
/// `1-3`, trailing garbage is ignored, an empty or inverted range is refused.
fn template_range(arg: &str) -> Option<std::ops::RangeInclusive<i64>> {
    let atoi = |t: &str| atoi(t) as i64;
    let (low, high) = match arg.split_once('-') {
        Some((l, h)) => (atoi(l), atoi(h)),
        None => (1, atoi(arg)),
    };
    (low >= 0 && high >= low).then_some(low..=high)
}

impl Parser {
    /// `server-template <prefix> <num | low-high> <addr>[:<port>] [param*]`: one server
    /// per number, named `<prefix><n>`, each with the same address and parameters, as
    /// haproxy builds them (configuration.txt §4.2). All of them carry the template's
    /// line, which is what haproxy's duplicate-name message names.
    pub(super) fn parse_server_template(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        if stmt.arg(1).is_empty() || stmt.arg(2).is_empty() || stmt.arg(3).is_empty() {
            let msg =
                "'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.";
            return self.push(Diagnostic::alert(loc, msg).styled(LocStyle::Bare));
        }
        let Some(range) = template_range(stmt.arg(2)) else {
            let msg = format!(
                "Wrong server-template number or range arg '{}'.",
                stmt.arg(2)
            );
            return self.push(Diagnostic::alert(loc, msg).styled(LocStyle::Bare));
        };
        let mut words = stmt.words.to_vec();
        words.remove(2);
        let mut bytes = stmt.bytes.to_vec();
        bytes.remove(2);
        let range_start = &range.start().clone();
        self.in_template = true;
        for n in range {
            words[1] = format!("{}{n}", stmt.arg(1));
            bytes[1] = words[1].clone().into_bytes();
            let one = Stmt {
                words: &words,
                bytes: &bytes,
                loc,
                kwm: stmt.kwm,
            };
            let (before, unsupported) = (self.diags.len(), self.unsupported.len());
            let first = p.servers.len();
            self.parse_server(p, &one, false);
            self.in_template = false;
            // haproxy reads the line once and copies the server: its messages appear once.
            if p.servers.len() == first {
                return;
            }
            if n > *range_start {
                self.diags.truncate(before);
                self.unsupported.truncate(unsupported);
            }
        }
    }

    pub(super) fn parse_server(&mut self, p: &mut ProxyConf, stmt: &Stmt, is_default: bool) {
        let loc = stmt.loc;
        let (name, first_opt) = if is_default {
            (String::new(), 1)
        } else {
            (stmt.arg(1).to_string(), 3)
        };
        if !is_default && (stmt.arg(1).is_empty() || stmt.arg(2).is_empty()) {
            return self.push(
                Diagnostic::alert(
                    loc,
                    "'server' expects <name> and <addr>[:<port>] as arguments.",
                )
                .styled(LocStyle::Bare),
            );
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
        {
            return self.push(
                Diagnostic::alert(
                    loc,
                    format!("character '{bad}' is not permitted in server name '{name}'."),
                )
                .styled(LocStyle::Bare),
            );
        }
        // haproxy names no object for a default-server line's errors, and calls that
        // server "default-server" in them.
        let head = if is_default {
            String::new()
        } else {
            // haproxy names a template's server only after the line is read.
            let shown = if self.in_template { "(null)" } else { &name };
            format!("'server {}/{shown}' : ", p.name)
        };
        let bare =
            |msg: String| Diagnostic::alert(loc, format!("{head}{msg}")).styled(LocStyle::Bare);
        let mut addr_spec = None;
        let mut addr_text = String::new();
        if !is_default {
            let word = stmt.arg(2);
            addr_text = expand_env(word, &|n| self.env.get(n).cloned());
            let rules = AddrRules {
                port_required: false,
                ranges: false,
                names: true,
                offsets: true,
                resolve: self.resolve_names,
                fds: false,
            };
            match parse_addr(&addr_text, rules) {
                // The session pipeline speaks TCP to servers: a UNIX socket would be
                // connected to nothing.
                Ok(a @ super::addr::AddrSpec::Unix(_)) => {
                    self.unsupported(
                        loc,
                        &format!("server address '{word}'"),
                        "UNIX-socket servers; only IPv4, IPv6 and host names",
                    );
                    addr_spec = Some(a);
                }
                Ok(a) => addr_spec = Some(a),
                Err(super::addr::AddrError::UnsupportedFamily(f)) => {
                    return self.unsupported(
                        loc,
                        &format!("server address family '{f}'"),
                        "only IPv4, IPv6 and host names",
                    );
                }
                Err(e) => {
                    let mut d = bare(e.message(word));
                    if matches!(
                        e,
                        super::addr::AddrError::BadPortChar(..) | super::addr::AddrError::FdNotHere
                    ) {
                        d.extra.push(String::new());
                    }
                    return self.push(d);
                }
            }
        }
        let mut o: ServerOpts = p.default_server.clone();
        let mut id = None;
        let mut i = first_opt;
        let srv = if is_default {
            "default-server".to_string()
        } else {
            name.clone()
        };
        while i < stmt.words.len() {
            let kw = stmt.arg(i);
            let val = stmt.arg(i + 1);
            let Some(k) = keywords::lookup(keywords::SERVER, kw) else {
                // haproxy ends the sentence with a dot only when it has no suggestion.
                let hint = keywords::suggest(keywords::SERVER.iter().map(|k| k.name), kw)
                    .map(|s| format!("; did you mean '{s}' maybe ?"))
                    .unwrap_or_else(|| ".".into());
                let msg = format!("unknown keyword '{kw}'{hint}");
                let d = if is_default {
                    Diagnostic::alert(loc, msg).styled(LocStyle::Bare)
                } else {
                    bare(msg)
                };
                return self.push(d);
            };
            let needs_value = WITH_VALUE.contains(&kw);
            i += if needs_value { 2 } else { 1 };
            if k.status != Status::Supported {
                let what = if is_default {
                    format!("default-server parameter '{kw}'")
                } else {
                    format!("server parameter '{kw}'")
                };
                self.table_status(loc, k, &what);
                continue;
            }
            if kw == "id" {
                if is_default {
                    continue;
                }
                if val.is_empty() {
                    return self.push(bare("'id' : expects an integer argument.".into()));
                }
                let v = atoi(val);
                if v <= 0 {
                    return self.push(bare("'id' : custom id has to be > 0.".into()));
                }
                if let Some(other) = p.servers.iter().find(|x| x.id == Some(v as u32)) {
                    let msg = format!(
                        "'id' : custom id {v} already used at {} ('server {}').",
                        other.loc, other.name
                    );
                    return self.push(bare(msg));
                }
                id = Some(v as u32);
                continue;
            }
            if needs_value
                && val.is_empty()
                && !matches!(
                    kw,
                    "weight"
                        | "maxconn"
                        | "maxqueue"
                        | "slowstart"
                        | "check-sni"
                        | "alpn"
                        | "check-alpn"
                        | "track"
                        | "observe"
                        | "on-error"
                        | "error-limit"
                        | "source"
                )
            {
                let msg = match kw {
                    "inter" | "fastinter" | "downinter" | "agent-inter" => {
                        format!("'{kw}' expects a delay as argument..")
                    }
                    "agent-port" => "'agent-port' expects a port number as argument..".into(),
                    "agent-addr" => "'agent-addr' expects an address as argument..".into(),
                    "agent-send" => "'agent-send' expects a string as argument..".into(),
                    "rise" | "fall" => format!("'{kw}' expects an integer argument.."),
                    "cookie" => "'cookie' expects <value> as argument..".to_string(),
                    "tcp-ut" => "'tcp-ut' : missing TCP User Timeout value.".to_string(),
                    _ => format!("'{kw}' expects an argument."),
                };
                return self.push(bare(msg));
            }
            match kw {
                "check" => o.check = true,
                "no-check" => o.check = false,
                "agent-check" => o.agent_check = true,
                "no-agent-check" => o.agent_check = false,
                "agent-port" => o.agent_port = Some(lenient_int(val)),
                "agent-send" => o.agent_send = Some(val.to_string()),
                // An address or a name the resolver knows now (haproxy's str2ip).
                "agent-addr" => {
                    let ip = val.parse().ok().or_else(|| {
                        self.resolve_names.then(|| super::addr::resolve(val, None)).flatten()
                    });
                    match ip {
                        Some(ip) => o.agent_addr = Some(ip),
                        None => return self.push(bare(format!("parsing agent-addr failed. Check if '{val}' is correct address.."))),
                    }
                }
                "agent-inter" => match parse_time_ms(val) {
                    Ok(0) => return self.push(bare(format!("invalid value 0 for argument 'agent-inter' of server {srv}.."))),
                    Ok(ms) => o.agent_inter = Some(ms),
                    Err(TimeError::Unexpected(c)) => {
                        return self.push(bare(format!("unexpected character '{c}' in 'agent-inter' argument of server {srv}..")))
                    }
                    Err(_) => return self.push(bare(format!("timer overflow in argument <{val}> to <agent-inter> of server {srv}, maximum value is 2147483647 ms (~24.8 days).."))),
                },
                "inter" | "fastinter" | "downinter" => match parse_time_ms(val) {
                    Ok(0) => return self.push(bare(format!("invalid value 0 for argument '{kw}' of server {srv}.."))),
                    Ok(ms) => match kw {
                        "inter" => o.inter = Some(ms),
                        "fastinter" => o.fastinter = Some(ms),
                        _ => o.downinter = Some(ms),
                    },
                    // HAProxy names the wrong keyword here ('agent-inter'); kept for line-by-line parity.
                    Err(TimeError::Unexpected(c)) => {
                        return self.push(bare(format!("unexpected character '{c}' in 'agent-inter' argument of server {srv}..")))
                    }
                    Err(_) => return self.push(bare(format!("timer overflow in argument '{val}' to '{kw}' of server {srv}, maximum value is 2147483647 ms (~24.8 days)."))),
                },
                "rise" | "fall" => {
                    let v = atoi(val);
                    if v <= 0 {
                        return self.push(bare(format!("'{kw}' has to be > 0..")));
                    }
                    if kw == "rise" {
                        o.rise = Some(v as u32);
                    } else {
                        o.fall = Some(v as u32);
                    }
                }
                "port" => {
                    let v = lenient_int(val);
                    o.check_port = Some(v.clamp(0, 65535) as u16);
                }
                // `addr <ip>` or `addr <ip>:<port>`: haproxy's checks then go to that
                // port (unless `port` says another).
                "addr" => match (val.parse::<std::net::IpAddr>(), val.parse::<std::net::SocketAddr>()) {
                    (Ok(ip), _) => o.check_addr = Some(ip),
                    (_, Ok(sa)) => {
                        o.check_addr = Some(sa.ip());
                        o.check_port.get_or_insert(sa.port());
                    }
                    _ => return self.push(bare(format!("'addr' : invalid address: '{val}' in '{val}'."))),
                },
                "check-send-proxy" => o.check_send_proxy = true,
                "no-check-send-proxy" => o.check_send_proxy = false,
                "send-proxy" => o.send_proxy = true,
                "no-send-proxy" => o.send_proxy = false,
                "send-proxy-v2" => o.send_proxy_v2 = true,
                "no-send-proxy-v2" => o.send_proxy_v2 = false,
                "send-proxy-v2-ssl" => o.send_proxy_v2_ssl = true,
                "no-send-proxy-v2-ssl" => o.send_proxy_v2_ssl = false,
                "send-proxy-v2-ssl-cn" => o.send_proxy_v2_ssl_cn = true,
                "no-send-proxy-v2-ssl-cn" => o.send_proxy_v2_ssl_cn = false,
                "proxy-v2-options" => {
                    for opt in val.split(',') {
                        if !PP2_OPTIONS.contains(&opt) {
                            return self.push(bare(format!("'{opt}' : proxy v2 option not implemented.")));
                        }
                        o.proxy_v2_options.push(opt.to_string());
                    }
                }
                "weight" => {
                    let w = lenient_int(val);
                    if !(0..=256).contains(&w) {
                        return self.push(bare(format!("weight of server {srv} is not within 0 and 256 ({w}).."))); 
                    }
                    o.weight = Some(w as u32);
                }
                "backup" => o.backup = true,
                "no-backup" => o.backup = false,
                "tcp-ut" => match parse_time_ms(val) {
                    // haproxy 2.6 keeps it only for a server with an IPv4/IPv6 address,
                    // which a default-server never has: there it is checked, then lost.
                    Ok(_) if is_default => {}
                    Ok(ms) => o.tcp_ut = Some(ms),
                    Err(TimeError::Overflow) => return self.push(bare(format!("timer overflow in argument '{val}' to 'tcp-ut' (maximum value is 2147483647 ms or ~24.8 days)."))),
                    Err(_) => return self.push(bare("'tcp-ut' : expects a positive delay in milliseconds.".into())),
                },
                // haproxy 2.6 asks for TCP_FASTOPEN_CONNECT only when the response channel
                // holds data at connect time, which it never does: accepted, used nowhere.
                "tfo" => o.tfo = true,
                "disabled" => o.disabled = true,
                "enabled" => o.disabled = false,
                "maxconn" => o.maxconn = Some(lenient_int(val).max(0) as u32),
                "maxqueue" => o.maxqueue = Some(lenient_int(val).max(0) as u32),
                // Kept in seconds, rounded up, as haproxy's srv_parse_slowstart; an empty
                // value reads as a NUL character, which cuts haproxy's message short.
                "slowstart" => match parse_time_ms(val) {
                    Ok(ms) => o.slowstart = Some(ms.div_ceil(1000) as u32),
                    Err(TimeError::Overflow) => return self.push(bare(format!("overflow in argument <{val}> to <slowstart> of server {srv}, maximum value is 2147483647 ms (~24.8 days).."))),
                    Err(TimeError::Unexpected(c)) => return self.push(bare(format!("unexpected character '{c}' in 'slowstart' argument of server {srv}.."))),
                    Err(TimeError::Empty) => return self.push(bare("unexpected character '.".into())),
                },
                "init-addr" => {
                    let mut methods = Vec::new();
                    for m in val.split(',') {
                        methods.push(match m {
                            "last" => InitAddr::Last,
                            "libc" => InitAddr::Libc,
                            "none" => InitAddr::None,
                            ip => match ip.parse() {
                                Ok(ip) => InitAddr::Ip(ip),
                                Err(_) => return self.push(bare(format!("'init-addr' : unknown init-addr method '{m}', supported methods are 'libc', 'last', 'none'.."))),
                            },
                        });
                    }
                    o.init_addr = Some(methods);
                }
                "on-marked-down" => {
                    if val != "shutdown-sessions" {
                        return self.push(bare(format!("'on-marked-down' expects 'shutdown-sessions' but got '{val}'.")));
                    }
                    o.on_marked_down = true;
                }
                "on-marked-up" => {
                    if val != "shutdown-backup-sessions" {
                        return self.push(bare(format!("'on-marked-up' expects 'shutdown-backup-sessions' but got '{val}'.")));
                    }
                    o.on_marked_up = true;
                }
                "source" => match self.server_source(stmt, i - 2) {
                    Ok((src, next)) => {
                        o.source = Some(src);
                        i = next;
                    }
                    Err((msg, then)) => {
                        self.push(bare(msg));
                        if let Some(word) = then {
                            let msg = format!("error encountered while processing '{word}'.");
                            self.push(Diagnostic::new(crate::config::diag::Level::Alert, Some(loc.clone()), LocStyle::None, msg));
                        }
                        return;
                    }
                },
                "usesrc" => return self.push(bare("'usesrc' only allowed after a 'source' statement..".into())),
                "cookie" => o.cookie = Some(val.to_string()),
                "ssl" => o.ssl = true,
                "no-ssl" => o.ssl = false,
                "verify" => match val {
                    "none" => o.verify = Some(false),
                    "required" => o.verify = Some(true),
                    _ => return self.push(bare(format!("'verify' : unknown verify method '{val}', only 'none' and 'required' are supported"))),
                },
                "resolvers" => o.resolvers = Some(val.to_string()),
                "ca-file" => {
                    // Read when the line is parsed, as HAProxy loads CA files then.
                    let path = match &self.global.ca_base {
                        Some(b) if !val.starts_with('/') => format!("{}/{val}", b.trim_end_matches('/')),
                        _ => val.to_string(),
                    };
                    if self.missing_file(loc, "ca-file", &path) {
                    } else if let Err(why) = crate::tls_files::read_ca(&path) {
                        self.push(bare(format!("Couldn't open the ca-file '{path}' ({why}).")));
                        let msg = format!("'ca-file' : unable to load {path}.");
                        return self.push(Diagnostic::new(crate::config::diag::Level::Alert, Some(loc.clone()), LocStyle::None, msg));
                    }
                    o.ca_file = Some(val.to_string());
                }
                "sni" => o.sni = Some(val.to_string()),
                "crt" => o.crt = Some(val.to_string()),
                "observe" => match val {
                    "" => return self.push(bare("'observe' expects <mode> as argument..".into())),
                    "none" => o.observe = None,
                    "layer4" => o.observe = Some(crate::ir::Observe::Layer4),
                    // Not fatal in haproxy: the option is just not set.
                    "layer7" if p.mode() != crate::ir::Mode::Http => {
                        self.push(bare("'layer7' can only be used in http proxies..".into()).continuing());
                    }
                    "layer7" => o.observe = Some(crate::ir::Observe::Layer7),
                    other => return self.push(bare(format!("'observe' expects one of 'none', 'layer4', 'layer7' but got '{other}'."))),
                },
                "error-limit" => {
                    if val.is_empty() {
                        return self.push(bare("'error-limit' expects an integer argument..".into()));
                    }
                    let v = atoi(val);
                    if v <= 0 {
                        return self.push(bare("error-limit has to be > 0..".into()));
                    }
                    o.error_limit = Some(v as u32);
                }
                "on-error" => {
                    use crate::ir::OnError::*;
                    o.on_error = Some(match val {
                        "fastinter" => FastInter,
                        "fail-check" => FailCheck,
                        "sudden-death" => SuddenDeath,
                        "mark-down" => MarkDown,
                        other => return self.push(bare(format!("'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '{other}'."))),
                    });
                }
                "track" if val.is_empty() => return self.push(bare("'track' expects [<proxy>/]<server> as argument..".into())),
                "track" => o.track = Some(val.to_string()),
                "check-sni" if val.is_empty() => return self.push(bare("'check-sni' : missing SNI.".into())),
                "check-sni" => o.check_sni = Some(val.to_string()),
                "alpn" | "check-alpn" => {
                    if val.is_empty() {
                        return self.push(bare(format!("'{kw}' : missing the comma-delimited ALPN protocol suite.")));
                    }
                    if let Some(long) = val.split(',').find(|n| n.len() > 255) {
                        return self.push(bare(format!("'{kw}' : ALPN protocol name too long : '{long}'.")));
                    }
                    let list = val.split(',').map(str::to_string).collect();
                    if kw == "alpn" {
                        o.alpn = list;
                    } else {
                        o.check_alpn = Some(list);
                    }
                }
                "ssl-min-ver" | "ssl-max-ver" => {
                    let Some(v) = tls_version(val) else {
                        return self.push(bare(format!("'{kw}' : unknown ssl/tls version '{val}'")));
                    };
                    if kw == "ssl-min-ver" {
                        o.min_ver = Some(v);
                    } else {
                        o.max_ver = Some(v);
                    }
                }
                "force-tlsv12" => o.force = Some(crate::ir::TlsVersion::Tls12),
                "force-tlsv13" => o.force = Some(crate::ir::TlsVersion::Tls13),
                "no-tlsv12" => o.no_versions.push(crate::ir::TlsVersion::Tls12),
                "no-tlsv13" => o.no_versions.push(crate::ir::TlsVersion::Tls13),
                "verifyhost" => o.verifyhost = Some(val.to_string()),
                "ciphers" => o.ciphers = Some(val.to_string()),
                "ciphersuites" => o.ciphersuites = Some(val.to_string()),
                "check-ssl" => o.check_ssl = Some(true),
                "no-check-ssl" => o.check_ssl = Some(false),
                _ => {}
            }
        }
        if is_default {
            p.default_server = o;
            return;
        }
        let Some(addr) = addr_spec else { return };
        if o.check && o.track.is_some() {
            return self.push(bare(
                "unable to enable checks and tracking at the same time!".into(),
            ));
        }
        if o.agent_check && o.agent_port.unwrap_or(o.check_port.map_or(0, i64::from)) == 0 {
            return self.push(bare(format!(
                "server {name} does not have agent port. Agent check has been disabled."
            )));
        }
        p.servers.push(ServerConf {
            name,
            addr_text,
            addr,
            loc: loc.clone(),
            opts: o,
            id,
        });
    }
}
