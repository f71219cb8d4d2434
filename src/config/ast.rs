//! The positioned configuration, after keyword parsing and before validation.
//!
//! Each section becomes a typed record whose settings remember the `file:line` that set
//! them, so lowering can word its cross-checks the way HAProxy does (a setting inherited
//! from `defaults` is reported at the defaults line).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::diag::Loc;
use crate::ir::{Balance, ExpectPattern, LogTarget, Mode, TcpCheckRule, TlsVersion, Verify};

/// A value with the place that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub v: T,
    /// Where it was set.
    pub loc: Loc,
}

/// Which kind of proxy section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// `defaults`
    Defaults,
    /// `frontend`
    Frontend,
    /// `backend`
    Backend,
    /// `listen`
    Listen,
}

impl ProxyKind {
    /// The section keyword.
    pub fn word(self) -> &'static str {
        match self {
            ProxyKind::Defaults => "defaults",
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            ProxyKind::Listen => "listen",
        }
    }

    /// Capability bits (see [`super::keywords::cap`]).
    pub fn caps(self) -> u8 {
        use super::keywords::cap::*;
        match self {
            ProxyKind::Defaults => ALL,
            ProxyKind::Frontend => FE,
            ProxyKind::Backend => BE,
            ProxyKind::Listen => FE | BE,
        }
    }

    /// HAProxy's word for the proxy in post-parse messages ("proxy" for listen).
    pub fn proxy_word(self) -> &'static str {
        match self {
            ProxyKind::Listen => "proxy",
            other => other.word(),
        }
    }
}

/// One `log` line of a proxy.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry {
    /// `log global`
    Global,
    /// An explicit target.
    Target(LogTarget),
}

/// `option` state: set or negated with `no option`, with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionSetting {
    /// False after `no option x`.
    pub enabled: bool,
    /// Words after the option name.
    pub args: Vec<String>,
    /// Where it was set.
    pub loc: Loc,
    /// True when set in the proxy's own section (not inherited from defaults).
    pub own: bool,
}

/// A `retry-on` setting.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryOn {
    /// `conn-failure` (or `all-retryable-errors`): a failed connection is tried again.
    pub conn_failure: bool,
    /// The response conditions named (HTTP retries), as written.
    pub l7: Vec<String>,
}

/// Where a proxy's log format comes from (haproxy keeps one format string per proxy).
#[derive(Debug, Clone, PartialEq)]
pub enum LogFormatSetting {
    /// `log-format <string>`
    Custom(Spanned<String>),
    /// A predefined format: `option tcplog` or `option httplog` (the text names it).
    Option(&'static str),
}

impl LogFormatSetting {
    /// How haproxy names it in its "overrides previous" warning.
    pub fn word(&self) -> &'static str {
        match self {
            LogFormatSetting::Custom(_) => "log-format",
            LogFormatSetting::Option(o) => o,
        }
    }
}

/// A `bind` line, one entry per address of a comma list.
#[derive(Debug, Clone, PartialEq)]
pub struct BindConf {
    /// The whole first word as written (`*:1883,:1884`).
    pub text: String,
    /// Addresses after env expansion and parsing (port ranges already expanded).
    pub addrs: Vec<crate::ir::ListenAddr>,
    /// Where.
    pub loc: Loc,
    /// Parameters.
    pub opts: BindOpts,
}

/// Parameters of a `bind` line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BindOpts {
    /// `accept-proxy`
    pub accept_proxy: bool,
    /// `backlog`
    pub backlog: Option<u32>,
    /// `maxconn`
    pub maxconn: Option<u32>,
    /// `tcp-ut` in ms
    pub tcp_ut: Option<u64>,
    /// `transparent`
    pub transparent: bool,
    /// `mss` (haproxy sets only a positive one)
    pub mss: Option<i32>,
    /// `defer-accept`
    pub defer_accept: bool,
    /// `tfo`
    pub tfo: bool,
    /// `interface`
    pub interface: Option<String>,
    /// `v4v6`
    pub v4v6: bool,
    /// `v6only`
    pub v6only: bool,
    /// `name`
    pub name: Option<String>,
    /// `ssl`
    pub ssl: bool,
    /// `crt` (as written; crt-base applied in lowering)
    pub crt: Vec<String>,
    /// `ca-file`
    pub ca_file: Option<String>,
    /// `crl-file`
    pub crl_file: Option<String>,
    /// `verify`
    pub verify: Option<Verify>,
    /// Disabled versions (`no-tlsv1x`).
    pub no_versions: Vec<TlsVersion>,
    /// `force-tlsv1x`
    pub force: Option<TlsVersion>,
    /// `ssl-min-ver`
    pub min_ver: Option<TlsVersion>,
    /// `ssl-max-ver`
    pub max_ver: Option<TlsVersion>,
    /// `ciphers`
    pub ciphers: Option<String>,
    /// `ciphersuites`
    pub ciphersuites: Option<String>,
    /// `alpn`
    pub alpn: Vec<String>,
    /// `no-tls-tickets`
    pub no_tls_tickets: bool,
    /// `strict-sni`
    pub strict_sni: bool,
    /// `prefer-client-ciphers`
    pub prefer_client_ciphers: bool,
    /// unix socket `mode`
    pub mode: Option<u32>,
    /// stats socket `level`
    pub level: Option<String>,
}

/// How a server's address is found at start-up (`init-addr`).
#[derive(Debug, Clone, PartialEq)]
pub enum InitAddr {
    /// `last` (no state file here: never yields an address).
    Last,
    /// `libc`: the system resolver.
    Libc,
    /// `none`: start without address, server in maintenance.
    None,
    /// A fixed IP.
    Ip(IpAddr),
}

/// Server parameters, shared by `server` and `default-server`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerOpts {
    /// `tfo`: only warned about (haproxy 2.6 never asks for TCP Fast Open to servers
    /// on the paths haproxide serves).
    pub tfo: bool,
    /// `check`
    pub check: bool,
    /// `check-ssl` (Some(true)) or `no-check-ssl` (Some(false)); None: as the traffic.
    pub check_ssl: Option<bool>,
    /// `verifyhost`
    pub verifyhost: Option<String>,
    /// `ssl-min-ver`
    pub min_ver: Option<crate::ir::TlsVersion>,
    /// `ssl-max-ver`
    pub max_ver: Option<crate::ir::TlsVersion>,
    /// `force-tlsv12` / `force-tlsv13`
    pub force: Option<crate::ir::TlsVersion>,
    /// `no-tlsv12` / `no-tlsv13`
    pub no_versions: Vec<crate::ir::TlsVersion>,
    /// `ciphers`
    pub ciphers: Option<String>,
    /// `ciphersuites`
    pub ciphersuites: Option<String>,
    /// `resolvers <id>`
    pub resolvers: Option<String>,
    /// `inter` ms
    pub inter: Option<u64>,
    /// `fastinter` ms
    pub fastinter: Option<u64>,
    /// `downinter` ms
    pub downinter: Option<u64>,
    /// `rise`
    pub rise: Option<u32>,
    /// `fall`
    pub fall: Option<u32>,
    /// `port`
    pub check_port: Option<u16>,
    /// `addr`
    pub check_addr: Option<IpAddr>,
    /// `agent-check` / `no-agent-check`
    pub agent_check: bool,
    /// `agent-port` (as haproxy stores it: any integer, 0 meaning none)
    pub agent_port: Option<i64>,
    /// `agent-addr`
    pub agent_addr: Option<IpAddr>,
    /// `agent-inter` ms
    pub agent_inter: Option<u64>,
    /// `agent-send`
    pub agent_send: Option<String>,
    /// `check-send-proxy`
    pub check_send_proxy: bool,
    /// `send-proxy`
    pub send_proxy: bool,
    /// `send-proxy-v2`
    pub send_proxy_v2: bool,
    /// `send-proxy-v2-ssl`
    pub send_proxy_v2_ssl: bool,
    /// `send-proxy-v2-ssl-cn`
    pub send_proxy_v2_ssl_cn: bool,
    /// `proxy-v2-options` words
    pub proxy_v2_options: Vec<String>,
    /// `weight`
    pub weight: Option<u32>,
    /// `backup`
    pub backup: bool,
    /// `disabled`
    pub disabled: bool,
    /// `maxconn`
    pub maxconn: Option<u32>,
    /// `maxqueue`
    pub maxqueue: Option<u32>,
    /// `slowstart`, in whole seconds (haproxy rounds the milliseconds up).
    pub slowstart: Option<u32>,
    /// `tcp-ut`, in ms: TCP_USER_TIMEOUT on the server's sockets.
    pub tcp_ut: Option<u64>,
    /// `check-sni`: the name the checks send (never the traffic's `sni`).
    pub check_sni: Option<String>,
    /// `check-alpn`: the protocols the checks offer instead of `alpn`'s.
    pub check_alpn: Option<Vec<String>>,
    /// `track [<backend>/]<server>`: the state of another server is this one's.
    pub track: Option<String>,
    /// `observe layer4|layer7` (None: `none`).
    pub observe: Option<crate::ir::Observe>,
    /// `error-limit`: consecutive errors before `on-error` acts (10 when not given).
    pub error_limit: Option<u32>,
    /// `on-error`: what enough consecutive errors do (fail-check when not given).
    pub on_error: Option<crate::ir::OnError>,
    /// `init-addr`
    pub init_addr: Option<Vec<InitAddr>>,
    /// `on-marked-down shutdown-sessions`
    pub on_marked_down: bool,
    /// `on-marked-up shutdown-backup-sessions`
    pub on_marked_up: bool,
    /// `source`
    pub source: Option<crate::ir::source::ConnSource>,
    /// `cookie <value>`
    pub cookie: Option<String>,
    /// `ssl`
    pub ssl: bool,
    /// `verify` (Some(true) = required)
    pub verify: Option<bool>,
    /// `ca-file`
    pub ca_file: Option<String>,
    /// `sni`
    pub sni: Option<String>,
    /// `crt`
    pub crt: Option<String>,
    /// `alpn`
    pub alpn: Vec<String>,
}

/// A `server` line.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConf {
    /// Name.
    pub name: String,
    /// Address word after env expansion.
    pub addr_text: String,
    /// Parsed address (host may still be a name).
    pub addr: super::parse::addr::AddrSpec,
    /// Where.
    pub loc: Loc,
    /// Parameters with default-server applied.
    pub opts: ServerOpts,
    /// `id`, when given.
    pub id: Option<u32>,
}

/// `http-check send`: method, URI, version (each when given) and headers.
pub type HttpCheckSend = (
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
);

/// An `http-check expect` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpExpectConf {
    /// `!`
    pub negate: bool,
    /// `status` or `string`
    pub kind: String,
    /// The pattern.
    pub pattern: String,
}

/// `use_backend <name> [if|unless <cond>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct UseBackend {
    /// The backend's name, where it was written.
    pub name: Spanned<String>,
    /// The condition.
    pub cond: Option<crate::ir::acl::Cond>,
}

/// Where a rule is, with the rank of its rule list in haproxy's post-parse checks.
pub type RankedLoc = (u8, Loc);

/// A proxy section (or a defaults section) as written, defaults already copied in.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConf {
    /// Section kind.
    pub kind: ProxyKind,
    /// Name (may be empty for anonymous defaults).
    pub name: String,
    /// Where the section starts.
    pub loc: Loc,
    /// `mode`
    pub mode: Option<Spanned<Mode>>,
    /// `balance`
    pub balance: Option<Spanned<Balance>>,
    /// `hash-type`
    pub hash_type: Option<crate::ir::HashType>,
    /// `hash-balance-factor` (0: none).
    pub hash_balance_factor: u32,
    /// `option` settings by name.
    pub options: BTreeMap<String, OptionSetting>,
    /// `timeout` values in ms by name, with their location.
    pub timeouts: BTreeMap<String, Spanned<u64>>,
    /// `retries`
    pub retries: Option<u32>,
    /// `retry-on` (None: `conn-failure`, haproxy's default).
    pub retry_on: Option<Spanned<RetryOn>>,
    /// `maxconn`
    pub maxconn: Option<u32>,
    /// `fullconn` (None: a tenth of what the frontends reaching it may hold).
    pub fullconn: Option<u32>,
    /// `max-keep-alive-queue`, stored as haproxy stores it: one more than the value
    /// (0, from -1 or unset: no limit).
    pub max_ka_queue: u32,
    /// `max-session-srv-conns`: idle server connections a client session may keep
    /// (haproxy's MAX_SRV_LIST, 5, unless set).
    pub max_session_srv_conns: i32,
    /// `clitcpka-cnt|idle|intvl`
    pub clitcpka: crate::ir::TcpKeepalive,
    /// `srvtcpka-cnt|idle|intvl`
    pub srvtcpka: crate::ir::TcpKeepalive,
    /// `rate-limit sessions` (0: none).
    pub rate_limit_sessions: u32,
    /// The value the section started with (its defaults'): a change warns.
    pub rate_limit_inherited: u32,
    /// `backlog`
    pub backlog: Option<u32>,
    /// `log` lines.
    pub log: Vec<LogEntry>,
    /// `log-tag` of this proxy (None: the global one).
    pub log_tag: Option<String>,
    /// `id`: the proxy's number, forced.
    pub id: Option<u32>,
    /// `load-server-state-from-file` (inherited from defaults).
    pub load_state: Option<crate::ir::StateFrom>,
    /// `server-state-file-name` (not inherited: haproxy does not copy it).
    pub state_file_name: Option<String>,
    /// The log format: the last of `log-format`, `option tcplog` and `option httplog`.
    pub log_format: Option<LogFormatSetting>,
    /// `unique-id-format`
    pub unique_id_format: Option<Spanned<String>>,
    /// `log-format-sd`: the structured data of RFC 5424 lines.
    pub log_format_sd: Option<Spanned<String>>,
    /// `unique-id-header`
    pub unique_id_header: Option<String>,
    /// `compression` lines (created by the first one, even a refused one, as haproxy's).
    pub compression: Option<crate::ir::compression::Compression>,
    /// `no log` / `log disable` seen last.
    pub log_disabled: bool,
    /// `default_backend`
    pub default_backend: Option<Spanned<String>>,
    /// `use_backend` rules.
    pub use_backends: Vec<UseBackend>,
    /// `http-request`, `redirect` and `http-response` rules.
    pub http_rules: crate::ir::http_rules::HttpRules,
    /// `monitor-uri`
    pub monitor_uri: Option<String>,
    /// Sample arguments haproxy cannot resolve here (`nbsrv` in a frontend): where, and
    /// haproxy's message, reported once everything is read.
    pub arg_errors: Vec<(Loc, String)>,
    /// `monitor fail` conditions.
    pub monitor_fail: Vec<crate::ir::acl::Cond>,
    /// Named ACLs (`acl` lines), not inherited: haproxy keeps them per section.
    pub acls: Vec<crate::config::parse::acl::NamedAcl>,
    /// `bind` lines.
    pub binds: Vec<BindConf>,
    /// `server` lines.
    pub servers: Vec<ServerConf>,
    /// `default-server` parameters.
    pub default_server: ServerOpts,
    /// `tcp-check` rules.
    pub tcp_checks: Vec<Spanned<TcpCheckRule>>,
    /// The last `tcp-check` line came while the check kind was not tcp-check, and no check
    /// option followed (haproxy then warns that the rules are ignored).
    pub tcp_checks_unused: bool,
    /// `http-check send` (method, uri, version, headers)
    pub http_check_send: Option<HttpCheckSend>,
    /// `http-check connect`
    pub http_check_connect: Option<crate::ir::checks::CheckConnect>,
    /// `http-check expect`
    pub http_check_expect: Option<HttpExpectConf>,
    /// `source`
    pub source: Option<crate::ir::source::ConnSource>,
    /// HTTP-only settings that HAProxy ignores with a warning in TCP mode
    /// (`stats`, `option forwardfor` …): message subject and location.
    pub http_only: Vec<Spanned<String>>,
    /// `errorfile`, `errorloc*` and `errorfiles` lines in order (a later one wins for
    /// a status), a `defaults` section's first.
    pub errorfiles: Vec<Spanned<ErrorPages>>,
    /// Name of the defaults section this proxy took its settings from.
    pub defaults_name: Option<String>,
    /// `tcp-request inspect-delay` and `tcp-request content` rules.
    pub inspect: crate::ir::Inspect,
    /// Where its rules' conditions read layer-6 fetches (request or response buffer
    /// contents), which haproxy warns about in an HTTP proxy, with the rank of their
    /// rule list.
    pub l6_conds: Vec<RankedLoc>,
    /// The same for the named defaults section it took rules from: its name, whether it
    /// is in HTTP mode, and where (haproxy reports those once, under that name).
    pub l6_defaults: Option<(String, bool, Vec<RankedLoc>)>,
    /// `tcp-response inspect-delay` and `tcp-response content` rules, and where the
    /// first rule is (haproxide runs them in TCP mode only).
    pub response: (crate::ir::ResponseInspect, Option<Loc>),
    /// `stick-table`
    pub stick_table: Option<crate::ir::StickTable>,
    /// `stick-table … peers <name>`: the section named, and where.
    pub stick_peers: Option<(String, Loc)>,
    /// Where `stick-table` is.
    pub stick_loc: Option<Loc>,
    /// `stick` rules.
    pub stick_rules: Vec<StickRuleConf>,
    /// `use-server` rules (kept in a frontend too, where haproxy still resolves them).
    pub server_rules: Vec<ServerRuleConf>,
    /// `force-persist` and `ignore-persist` rules.
    pub persist_rules: Vec<crate::ir::persist::PersistRule>,
    /// `stats` settings, and the ones haproxide does not implement (with where).
    pub stats: StatsConf,
    /// `disabled` (cleared by `enabled`; taken from the defaults section): haproxy parses
    /// the section, then skips every later check of it and neither listens nor checks.
    pub disabled: bool,
    /// `cookie` (kept on a frontend too, where haproxy warns twice about it).
    pub cookie: Option<Spanned<crate::ir::cookie::Cookie>>,
    /// `capture` lines.
    pub captures: crate::ir::cookie::Captures,
    /// `http-reuse`
    pub http_reuse: Option<crate::ir::HttpReuse>,
    /// `http-send-name-header <name>`, lower case.
    pub send_name_header: Option<String>,
}

/// Where a proxy's answer pages come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorPages {
    /// `errorfile <status> <file>` (the file's bytes, read with the line) or
    /// `errorloc* <status> <url>` (the redirect haproxy builds).
    Page(u16, std::sync::Arc<[u8]>),
    /// `errorfiles <section> [<status> …]`: the pages of an `http-errors` section,
    /// all of them or the listed ones (`http-error status <s> errorfiles <section>` too).
    Section(String, Option<Vec<u16>>),
    /// `http-error status <s> …` with a reply of its own.
    Reply(u16, std::sync::Arc<crate::ir::http_rules::Reply>),
}

/// An `http-errors` section.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpErrorsConf {
    /// Its name.
    pub name: String,
    /// Where it starts.
    pub loc: Loc,
    /// Its `errorfile` pages (a later one wins for a status).
    pub pages: Vec<(u16, std::sync::Arc<[u8]>)>,
}

/// A `userlist` section as written: group and user names are resolved after parsing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserlistConf {
    /// Its name.
    pub name: String,
    /// `group <name> [users <u1,u2>]` lines (duplicates dropped).
    pub groups: Vec<(String, Option<String>)>,
    /// `user <name> [password|insecure-password <p>] [groups <g1,g2>]` lines.
    pub users: Vec<UserConf>,
}

/// One `user` line.
#[derive(Debug, Clone, PartialEq)]
pub struct UserConf {
    /// The name.
    pub name: String,
    /// The password, if one was given.
    pub password: Option<crate::ir::auth::Password>,
    /// Its `groups` list as written.
    pub groups: Option<String>,
}

/// `stats` lines of a proxy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsConf {
    /// The page is on (`stats enable`, or implied by `uri`, `auth`, `realm`, `refresh`).
    pub enabled: bool,
    /// The page's settings.
    pub page: Option<crate::ir::StatsPage>,
    /// `stats admin`, `stats scope` …: refused when the page is served.
    pub unsupported: Vec<Spanned<String>>,
}

/// A `stick` rule as written: its table is still a name.
#[derive(Debug, Clone, PartialEq)]
pub struct StickRuleConf {
    /// `on` / `match`
    pub lookup: bool,
    /// `on` / `store-request` / `store-response`
    pub store: bool,
    /// `store-response`
    pub response: bool,
    /// The key.
    pub expr: crate::ir::acl::SampleExpr,
    /// `if|unless <cond>`
    pub cond: Option<crate::ir::acl::Cond>,
    /// `table <name>` (default: the proxy's own).
    pub table: Option<String>,
    /// Where.
    pub loc: Loc,
}

/// A `use-server` rule as written: its server is still a name (or a log-format).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRuleConf {
    /// The server's name as written.
    pub name: String,
    /// `if|unless <cond>`
    pub cond: crate::ir::acl::Cond,
    /// Where.
    pub loc: Loc,
}

impl ProxyConf {
    /// A fresh section with nothing set.
    pub fn new(kind: ProxyKind, name: String, loc: Loc) -> Self {
        ProxyConf {
            kind,
            name,
            loc,
            mode: None,
            balance: None,
            hash_type: None,
            hash_balance_factor: 0,
            options: BTreeMap::new(),
            timeouts: BTreeMap::new(),
            retries: None,
            retry_on: None,
            maxconn: None,
            fullconn: None,
            max_ka_queue: 0,
            max_session_srv_conns: 5,
            clitcpka: Default::default(),
            srvtcpka: Default::default(),
            rate_limit_sessions: 0,
            rate_limit_inherited: 0,
            backlog: None,
            log: Vec::new(),
            log_tag: None,
            id: None,
            load_state: None,
            state_file_name: None,
            log_format: None,
            unique_id_format: None,
            log_format_sd: None,
            unique_id_header: None,
            compression: None,
            log_disabled: false,
            default_backend: None,
            use_backends: Vec::new(),
            acls: Vec::new(),
            http_rules: Default::default(),
            monitor_uri: None,
            arg_errors: Vec::new(),
            monitor_fail: Vec::new(),
            binds: Vec::new(),
            servers: Vec::new(),
            default_server: ServerOpts::default(),
            tcp_checks: Vec::new(),
            tcp_checks_unused: false,
            http_check_send: None,
            http_check_connect: None,
            http_check_expect: None,
            source: None,
            http_only: Vec::new(),
            errorfiles: Vec::new(),
            defaults_name: None,
            inspect: crate::ir::Inspect::default(),
            response: Default::default(),
            l6_conds: Vec::new(),
            l6_defaults: None,
            stick_table: None,
            stick_peers: None,
            stick_loc: None,
            stick_rules: Vec::new(),
            server_rules: Vec::new(),
            persist_rules: Vec::new(),
            stats: StatsConf::default(),
            disabled: false,
            cookie: None,
            captures: Default::default(),
            http_reuse: None,
            send_name_header: None,
        }
    }

    /// A proxy section that starts from `defaults`' settings, as HAProxy copies them.
    pub fn inherit(kind: ProxyKind, name: String, loc: Loc, defaults: &ProxyConf) -> Self {
        let mut p = defaults.clone();
        // A defaults section's unused tcp-check rules warn nowhere (haproxy clears the flag).
        p.tcp_checks_unused = false;
        p.kind = kind;
        p.name = name;
        p.loc = loc;
        p.binds.clear();
        p.servers.clear();
        p.use_backends.clear();
        p.acls.clear();
        p.arg_errors.clear();
        p.defaults_name = Some(defaults.name.clone());
        // A defaults section's layer-6 conditions are its own to report.
        let l6 = std::mem::take(&mut p.l6_conds);
        p.l6_defaults = (kind != ProxyKind::Defaults && !l6.is_empty()).then(|| {
            let http = defaults.mode() == Mode::Http;
            (defaults.name.clone(), http, l6)
        });
        p.rate_limit_inherited = defaults.rate_limit_sessions;
        p.id = None;
        p.state_file_name = None;
        // haproxy copies the algorithms and types, not `offload` (ignored in defaults).
        if let Some(c) = p.compression.as_mut() {
            c.offload = false;
        }
        for o in p.options.values_mut() {
            o.own = false;
        }
        // Only proxies with a backend take the cookie of their defaults section.
        if kind == ProxyKind::Frontend {
            p.cookie = None;
        }
        // A defaults section cannot hold these, but keep the copy honest.
        if kind == ProxyKind::Backend {
            p.default_backend = None;
        }
        p
    }

    /// True when `option name` is set (and not negated).
    pub fn option(&self, name: &str) -> bool {
        self.options.get(name).is_some_and(|o| o.enabled)
    }

    /// The effective mode (TCP unless set).
    pub fn mode(&self) -> Mode {
        self.mode.as_ref().map(|m| m.v).unwrap_or_default()
    }
}

/// A pattern for an `expect` rule in the making (kept for error messages).
pub type Pattern = ExpectPattern;
