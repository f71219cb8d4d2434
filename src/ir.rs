//! The validated configuration: plain data, built once per (re)load, read by the runtime.
//!
//! Defaults and `default-server` are already applied, names are resolved to indexes,
//! units are converted. Nothing here refers to text, parsers or the lexer.

pub mod acl;
pub mod auth;
pub mod checks;
pub mod compression;
pub mod conv;
pub mod cookie;
pub mod counters;
pub mod http_rules;
pub mod log_format;
pub mod map;
pub mod persist;
pub mod source;
pub mod vars;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use checks::{
    AgentCheck, CheckKind, CheckStatus, CheckText, CustomExpect, ExpectPattern, HttpCheck,
    HttpExpect, TcpCheckRule, TcpChecks, TcpExpect,
};

/// One complete configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The `global` section.
    pub global: Global,
    /// Every frontend and listen section, in configuration order.
    pub frontends: Vec<Frontend>,
    /// Every backend and listen section, in configuration order.
    pub backends: Vec<Backend>,
    /// Every proxy in configuration order: its frontend and backend indexes (both for listen).
    pub order: Vec<(Option<usize>, Option<usize>)>,
    /// Every stick table, by its proxy's name, in configuration order.
    pub tables: Vec<counters::TableDef>,
    /// The `peers` sections that replicate tables (the ones with a local peer and not
    /// `disabled`), in configuration order.
    pub peers: Vec<PeersSection>,
    /// Names of the `disabled` frontends and listens: they neither listen nor run, but
    /// the stats socket still knows them (as shut down ones).
    pub disabled_frontends: Vec<String>,
}

impl Config {
    /// Whether some outgoing connection binds a `usesrc` address or a device (haproxy's
    /// LSTCHK_NETADM: root's network privileges are needed at run time).
    pub fn needs_net_admin(&self) -> bool {
        let needs = |s: &Option<source::ConnSource>| {
            s.as_ref()
                .is_some_and(|s| s.usesrc.is_some() || s.interface.is_some())
        };
        self.backends
            .iter()
            .any(|b| needs(&b.source) || b.servers.iter().any(|sv| needs(&sv.source)))
    }
}

/// A `peers` section (configuration.txt §3.5): this process is its local peer; the
/// tables naming it are pushed to and learnt from the others.
#[derive(Debug, Clone, PartialEq)]
pub struct PeersSection {
    /// The section's name.
    pub name: String,
    /// The local peer's name (`localpeer`, `-L`, else the host name).
    pub local: String,
    /// Where the local peer listens (its `peer` line, or `bind`).
    pub bind: std::net::SocketAddr,
    /// The other peers, in configuration order.
    pub remotes: Vec<Peer>,
}

/// A remote peer of a [`PeersSection`].
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    /// Its name, which it announces in the handshake.
    pub name: String,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
}

impl Config {
    /// Number of listening addresses across all frontends.
    pub fn listener_count(&self) -> usize {
        self.frontends.iter().map(|f| f.binds.len()).sum()
    }

    /// The backend called `name`.
    pub fn backend(&self, name: &str) -> Option<&Backend> {
        self.backends.iter().find(|b| b.name == name)
    }
}

/// When a session's line (HTTP: a request's) is written, as haproxy's `logwait` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogAt {
    /// At its end: the format prints bytes, times or counters.
    #[default]
    End,
    /// TCP: once the server connection is up; HTTP: once the response head is in
    /// (`option logasap`, or a format that prints none of those).
    Early,
    /// HTTP: once the request head is read (a format of request facts only), and again
    /// once the response head is in (haproxy's second test only looks for byte facts).
    Request,
}

/// Settings of the `global` section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Global {
    /// `maxconn` (None: derived from the fd limit at start).
    pub maxconn: Option<u32>,
    /// `maxconnrate`: connections accepted per second (0: no limit).
    pub maxconnrate: u32,
    /// `maxsessrate`: sessions per second (0: no limit).
    pub maxsessrate: u32,
    /// `maxsslrate`: sessions on TLS listeners per second (0: no limit).
    pub maxsslrate: u32,
    /// `daemon`
    pub daemon: bool,
    /// `master-worker`
    pub master_worker: bool,
    /// `chroot`
    pub chroot: Option<String>,
    /// `user`
    pub user: Option<String>,
    /// `group`
    pub group: Option<String>,
    /// `uid`
    pub uid: Option<u32>,
    /// `gid`
    pub gid: Option<u32>,
    /// `pidfile`
    pub pidfile: Option<String>,
    /// `nbthread` (None: all cores).
    pub nbthread: Option<u32>,
    /// `ulimit-n`
    pub ulimit_n: Option<u64>,
    /// `hard-stop-after`
    pub hard_stop_after: Option<Duration>,
    /// `busy-polling`: threads poll without sleeping (`no busy-polling` turns it off).
    pub busy_polling: bool,
    /// `no strict-limits`: a descriptor limit that cannot be raised for `maxconn` is a
    /// warning; by default (strict) it stops the start, as in HAProxy 2.6.
    pub no_strict_limits: bool,
    /// `log` targets.
    pub log: Vec<LogTarget>,
    /// `log-tag` (default "haproxy").
    pub log_tag: String,
    /// `log-send-hostname`
    pub log_send_hostname: Option<String>,
    /// `localpeer`: the local peer's name when the configuration sets it (the process
    /// exports it as `HAPROXY_LOCALPEER`).
    pub localpeer: Option<String>,
    /// `setenv`, `presetenv` (when it set), `unsetenv`, `resetenv`, in order: the
    /// process's environment changes as haproxy's does (`show env`).
    pub env_ops: Vec<EnvOp>,
    /// `server-state-file`: where `load-server-state-from-file global` reads.
    pub server_state_file: Option<String>,
    /// `server-state-base`: the directory of relative state file names.
    pub server_state_base: Option<String>,
    /// `stats socket` entries.
    pub stats_sockets: Vec<StatsSocket>,
    /// `stats timeout`
    pub stats_timeout: Option<Duration>,
    /// `stats maxconn`: the stats sockets' default maxconn (10).
    pub stats_maxconn: Option<u32>,
    /// Default TLS settings for `bind … ssl`.
    pub ssl_bind_defaults: TlsDefaults,
    /// Default TLS settings for `server … ssl`.
    pub ssl_server_defaults: TlsDefaults,
    /// `ssl-server-verify none` (the default is required).
    pub ssl_server_verify_none: bool,
    /// `tune.ssl.default-dh-param`
    pub ssl_default_dh_param: Option<u32>,
    /// `node` (None: the host name, as haproxy defaults it): `show info`'s `node`.
    pub node: Option<String>,
    /// `description`: `show info`'s `description`.
    pub description: Option<String>,
    /// Every `proc.` variable the configuration names: haproxy creates them, empty, at
    /// load.
    pub proc_vars: Vec<Box<str>>,
    /// `set-var` and `set-var-fmt` lines of the global section, in order.
    pub set_vars: Vec<vars::SetVar>,
}

/// `ssl-default-{bind,server}-*` values, as the global section gives them: lowering
/// merges them into each bind's and server's [`TlsCommon`]; the runtime never reads them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsDefaults {
    /// OpenSSL cipher list for TLS ≤ 1.2.
    pub ciphers: Option<String>,
    /// TLS 1.3 cipher suites.
    pub ciphersuites: Option<String>,
    /// Options such as `ssl-min-ver TLSv1.2`, `no-tls-tickets`.
    pub options: Vec<String>,
}

/// `stats socket <path> [mode m] [level l] …`
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSocket {
    /// Socket address (unix path or IP).
    pub addr: ListenAddr,
    /// `mode` (octal permissions).
    pub mode: Option<u32>,
    /// `level` (HAProxy's default is `operator`).
    pub level: Option<String>,
    /// Owner of the UNIX socket (`user`/`uid`); the process's own when unset.
    pub uid: Option<u32>,
    /// Group of the UNIX socket (`group`/`gid`).
    pub gid: Option<u32>,
    /// Where it was declared (`file:line`), for bind errors.
    pub origin: String,
    /// `expose-fd listeners`: `_getsocks` hands the listening sockets to a new process (`-x`).
    pub expose_fd: bool,
    /// `maxconn` (else `stats maxconn`, else 10): CLI sessions served at once.
    pub maxconn: Option<u32>,
    /// `backlog` (else the maxconn): the socket's listen backlog.
    pub backlog: Option<u32>,
}

/// A syslog facility, 0..=23.
pub type Facility = u8;

/// Where log lines go.
#[derive(Debug, Clone, PartialEq)]
pub struct LogTarget {
    /// Destination.
    pub dest: LogDest,
    /// Syslog facility number.
    pub facility: Facility,
    /// Highest severity number sent (7 = debug: everything).
    pub max_level: u8,
    /// `<minlevel>`: a more urgent message is sent at this severity instead (0: none).
    pub min_level: u8,
    /// `len`: lines are cut to this many bytes, the newline included (default 1024).
    pub max_len: usize,
    /// `format`
    pub format: SyslogFormat,
    /// The `log-tag` of the proxy whose lines these are (None: the global tag).
    pub tag: Option<String>,
    /// `sample <ranges>:<size>`: the lines it takes.
    pub sample: Option<LogSample>,
    /// This proxy's copy of the target (its own place in the sampling cycle), as
    /// haproxy gives every proxy its own copy of the `log` lines it takes.
    pub copy: u64,
}

/// `clitcpka-*` / `srvtcpka-*`: TCP keep-alive probes (0: the kernel's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpKeepalive {
    /// Probes lost before the connection is dropped (TCP_KEEPCNT).
    pub cnt: u32,
    /// Seconds idle before the first probe (TCP_KEEPIDLE).
    pub idle: u32,
    /// Seconds between probes (TCP_KEEPINTVL).
    pub intvl: u32,
}

/// `log … sample`: the lines numbered (from 1, modulo `size`) within `ranges` are sent.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSample {
    /// Ranges of line numbers, `low..=high`, in order.
    pub ranges: Vec<(u32, u32)>,
    /// The cycle's length.
    pub size: u32,
    /// The `log` line the target comes from: its copies share their ranges' progress.
    pub origin: u64,
}

/// A log destination.
#[derive(Debug, Clone, PartialEq)]
pub enum LogDest {
    /// A unix datagram socket such as `/dev/log`.
    Unix(String),
    /// UDP syslog.
    Udp(SocketAddr),
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Framing of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogFormat {
    /// No `format` given: RFC 3164 with a host name only with `log-send-hostname`.
    #[default]
    Default,
    /// `format rfc3164`: always a host name ("localhost" without `log-send-hostname`).
    Rfc3164,
    /// `local`: RFC 3164 never with a host name.
    Local,
    /// RFC 5424.
    Rfc5424,
    /// Just the message.
    Raw,
    /// `priority`: `<PRI>message`.
    Priority,
    /// `short`: `<severity>message`.
    Short,
    /// `timed`: `<severity>`, ISO 8601 time, message.
    Timed,
    /// `iso`: ISO 8601 time and message.
    Iso,
}

/// Proxy mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `mode tcp` (HAProxy's default).
    #[default]
    Tcp,
    /// `mode http`: HTTP/1 transactions (the HTTP/1 engine).
    Http,
}

/// How HTTP connections are kept between requests (configuration.txt §4 `option
/// http-keep-alive`, `option http-server-close`, `option httpclose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpConnMode {
    /// Both sides kept alive (the default).
    #[default]
    KeepAlive,
    /// The server connection is closed after each response; the client is kept.
    ServerClose,
    /// Both sides are closed after each response.
    Close,
}

/// `option forwardfor`: the client's address added to each request.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardFor {
    /// `header <name>` (default `X-Forwarded-For`), lower-cased: the H1 output writes it
    /// so, and requests' headers are compared in lower case.
    pub header: String,
    /// `except <net>`: clients in this network get no header (network address and
    /// mask, of one family; haproxy takes any IPv4 mask, contiguous or not).
    pub except: Option<(IpAddr, IpAddr)>,
    /// `if-none`: only when the request has no such header.
    pub if_none: bool,
}

/// One of a proxy's answer pages (`errorfile`, `errorloc*`, `errorfiles`, `http-error`).
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorPage {
    /// A whole HTTP response as written (an errorfile, or the redirect an errorloc makes).
    Raw(std::sync::Arc<[u8]>),
    /// An `http-error` reply, built for each answer (its formats read the request).
    Reply(std::sync::Arc<http_rules::Reply>),
}

/// What a `mode http` frontend needs for its requests.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpFrontend {
    /// `timeout http-request`: the whole request head must arrive within it.
    pub request_timeout: Option<Duration>,
    /// `timeout http-keep-alive`: the wait for the next request.
    pub keep_alive_timeout: Option<Duration>,
    /// The frontend's connection mode.
    pub conn_mode: HttpConnMode,
    /// Most headers a message may have (`tune.http.maxhdr`, 101).
    pub max_headers: usize,
    /// Longest request or response head (`tune.bufsize` less `tune.maxrewrite`).
    pub max_head: usize,
    /// `errorfile` answers of the frontend: status and page.
    pub errorfiles: Vec<(u16, ErrorPage)>,
    /// `option forwardfor` of the frontend.
    pub forwardfor: Option<ForwardFor>,
    /// `option originalto` of the frontend (`if_none` unused).
    pub originalto: Option<ForwardFor>,
    /// `option http-ignore-probes`: a connection that sends nothing gets no 400/408 and
    /// no log line.
    pub ignore_probes: bool,
    /// `option http-buffer-request`: a request's body is waited for (until whole, or
    /// the buffer is full) before the frontend's rules run.
    pub buffer_request: bool,
    /// `option h1-case-adjust-bogus-client`: the global `h1-case-adjust` map applied to
    /// header names sent to clients.
    pub case_adjust: Option<std::sync::Arc<CaseMap>>,
    /// `monitor-uri`: requests for it are answered 200 (503 under `monitor fail`), not
    /// logged.
    pub monitor_uri: Option<Box<[u8]>>,
    /// `monitor fail if|unless <cond>` lines.
    pub monitor_fail: Vec<acl::Cond>,
}

impl HttpFrontend {
    /// haproxy's settings when a proxy sets none: keep-alive, `tune.http.maxhdr` 101,
    /// heads up to `tune.bufsize` less `tune.maxrewrite` (16384 - 1024). A TCP frontend
    /// whose stream is upgraded for an HTTP backend uses these.
    pub const DEFAULT: HttpFrontend = HttpFrontend {
        request_timeout: None,
        keep_alive_timeout: None,
        conn_mode: HttpConnMode::KeepAlive,
        max_headers: 101,
        max_head: 16384 - 1024,
        errorfiles: Vec::new(),
        forwardfor: None,
        originalto: None,
        ignore_probes: false,
        buffer_request: false,
        case_adjust: None,
        monitor_uri: None,
        monitor_fail: Vec::new(),
    };
}

/// A listening address after parsing.
#[derive(Debug, Clone, PartialEq)]
pub enum ListenAddr {
    /// IP address with one port.
    Inet(SocketAddr),
    /// Unix stream socket path.
    Unix(String),
    /// `fd@<n>`: a socket this process inherited, open before the configuration was read.
    Fd(i32),
}

/// One frontend (or the frontend half of a listen section).
#[derive(Debug, Clone, PartialEq)]
pub struct Frontend {
    /// Proxy name.
    pub name: String,
    /// haproxy's proxy number (`id`, else the first free one in declaration order).
    pub uuid: u32,
    /// True for a `listen` section.
    pub is_listen: bool,
    /// `option nolinger` (TCP mode): a client that closed first is reset at the end.
    pub nolinger: bool,
    /// Mode.
    pub mode: Mode,
    /// Listeners, one per address and port.
    pub binds: Vec<Bind>,
    /// `maxconn` (HAProxy default: 2000 via the global default-maxconn is not applied here).
    pub maxconn: Option<u32>,
    /// `rate-limit sessions`: new sessions per second (0: no limit).
    pub rate_limit_sessions: u32,
    /// `timeout client`
    pub timeout_client: Option<Duration>,
    /// `timeout client-fin`
    pub timeout_client_fin: Option<Duration>,
    /// Log targets after `log global` is applied.
    pub log: Vec<LogTarget>,
    /// The log line of a session (`option tcplog`, httplog falling back to it, or
    /// `log-format`); None: a "Connect from" line at accept instead.
    pub log_format: Option<log_format::LogFormat>,
    /// `unique-id-format`: the `%ID` of the session.
    pub unique_id_format: Option<log_format::LogFormat>,
    /// `log-format-sd`: the structured data of the line's RFC 5424 framing (a target in
    /// another format ignores it; without it, `-`).
    pub log_sd: Option<log_format::LogFormat>,
    /// `unique-id-header`: the request header that carries the unique id (when there is
    /// a `unique-id-format`) to the server.
    pub unique_id_header: Option<String>,
    /// `compression`: the frontend's, consulted after the backend's.
    pub compression: Option<compression::Compression>,
    /// `option dontlognull`
    pub dontlognull: bool,
    /// `option dontlog-normal`
    pub dontlog_normal: bool,
    /// `option log-separate-errors`: errors are logged at level `err`.
    pub log_separate_errors: bool,
    /// When a line is written (`option logasap`, or a format that waits for nothing).
    pub log_at: LogAt,
    /// `option logasap`: the total times and byte counts are marked `+` (they stop when
    /// the line is written).
    pub logasap: bool,
    /// `option clitcpka` / `option tcpka`
    pub clitcpka: bool,
    /// `clitcpka-cnt|idle|intvl`, for client connections under `clitcpka`.
    pub clitcpka_tune: TcpKeepalive,
    /// Index into [`Config::backends`] of `default_backend` (or of the listen's own backend).
    pub default_backend: Option<usize>,
    /// `use_backend` rules, in order: the first whose condition holds chooses.
    pub switching: Vec<SwitchRule>,
    /// HTTP rules run on each request before the backend is chosen (a listen's too).
    pub http_rules: http_rules::HttpRules,
    /// `tcp-request inspect-delay` and `tcp-request content` rules.
    pub inspect: Inspect,
    /// A `mode http` proxy that only serves the statistics page (`stats enable`).
    pub stats_page: Option<StatsPage>,
    /// `mode http`: the request settings (None in TCP mode and for a statistics page).
    pub http: Option<HttpFrontend>,
    /// `capture` lines (header captures are counted in TCP mode too, as haproxy does).
    pub captures: cookie::Captures,
    /// `max-session-srv-conns`: idle session-private server connections a client
    /// session keeps (haproxy's `max_out_conns`, 5); at or past it (or at most 0), a
    /// connection left idle is closed instead.
    pub max_session_srv_conns: i32,
}

/// The HTTP statistics page (configuration.txt §4.2 `stats uri`, `stats refresh`,
/// `stats auth`, `stats realm`, `stats hide-version`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsPage {
    /// URI prefix (default `/haproxy?stats`).
    pub uri: String,
    /// `stats refresh`: the page asks the browser to reload itself.
    pub refresh: Option<Duration>,
    /// `stats realm` (default "HAProxy Statistics").
    pub realm: String,
    /// A `stats realm` line was given (haproxy refuses it with `stats http-request`).
    pub realm_set: bool,
    /// `stats http-request allow|deny|auth [if|unless …]`, run before the page answers.
    pub rules: Vec<http_rules::HttpRule>,
    /// `stats admin if|unless <cond>`: when one holds, a POST may change servers' states.
    pub admin: Vec<acl::Cond>,
    /// `stats auth user:password` pairs; empty means no authentication.
    pub auth: Vec<String>,
    /// `stats hide-version`
    pub hide_version: bool,
    /// The whole request head must arrive within this (`timeout http-request`, else
    /// `timeout client`); HAProxy answers 408 past it.
    pub request_timeout: Option<Duration>,
}

/// One `bind` address with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Bind {
    /// The address and port.
    pub addr: ListenAddr,
    /// The word as written (for messages such as `cannot bind socket … for [addr]`).
    pub text: String,
    /// `file:line` of the bind line.
    pub origin: String,
    /// `v4v6`
    pub v4v6: bool,
    /// `v6only`
    pub v6only: bool,
    /// `accept-proxy`
    pub accept_proxy: bool,
    /// `backlog`
    pub backlog: Option<u32>,
    /// `maxconn`
    pub maxconn: Option<u32>,
    /// `tcp-ut`
    pub tcp_ut: Option<Duration>,
    /// `transparent`
    pub transparent: bool,
    /// `mss`: the MSS the listener advertises (TCP_MAXSEG).
    pub mss: Option<u32>,
    /// `defer-accept`: accepted once data arrives, within a second (TCP_DEFER_ACCEPT).
    pub defer_accept: bool,
    /// `tfo`: TCP Fast Open on the listener, its queue as long as the backlog.
    pub tfo: bool,
    /// `interface`: the device the listener is bound to (SO_BINDTODEVICE).
    pub interface: Option<String>,
    /// `name`
    pub name: Option<String>,
    /// TLS termination, when `ssl` is set.
    pub tls: Option<BindTls>,
}

/// TLS settings of a `bind … ssl` line, defaults already merged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BindTls {
    /// Versions, suites, ALPN and CA file (with the `ssl-default-bind-*` values merged).
    pub common: TlsCommon,
    /// `crt` files or directories, already prefixed with `crt-base`.
    pub crt: Vec<String>,
    /// `crl-file`
    pub crl_file: Option<String>,
    /// `verify`
    pub verify: Verify,
    /// `no-tls-tickets`
    pub no_tls_tickets: bool,
    /// `strict-sni`
    pub strict_sni: bool,
    /// `prefer-client-ciphers`
    pub prefer_client_ciphers: bool,
}

/// Client certificate verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// `verify none` (default on bind).
    #[default]
    None,
    /// `verify optional`
    Optional,
    /// `verify required`
    Required,
}

/// TLS protocol versions HAProxy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// SSLv3
    Ssl3,
    /// TLSv1.0
    Tls10,
    /// TLSv1.1
    Tls11,
    /// TLSv1.2
    Tls12,
    /// TLSv1.3
    Tls13,
}

/// The response conditions of `retry-on` (haproxy's L7 retries): a request wholly
/// received before it left is sent again, within `retries`, when its server fails in
/// one of these ways before any of its response went to the client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetryL7 {
    /// `empty-response`: the server closed (or reset) before a response head.
    pub empty_response: bool,
    /// `junk-response`: the response head could not be parsed.
    pub junk_response: bool,
    /// `response-timeout`: `timeout server` passed before a response head.
    pub response_timeout: bool,
    /// The statuses named (401, 403, 404, 408, 425, 500, 501, 502, 503, 504).
    pub statuses: Vec<u16>,
}

impl RetryL7 {
    /// Whether any condition is set (haproxy's TX_L7_RETRY is armed only then).
    pub fn any(&self) -> bool {
        self.empty_response
            || self.junk_response
            || self.response_timeout
            || !self.statuses.is_empty()
    }
}

/// Load-balancing algorithm.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Balance {
    /// `roundrobin` (default)
    #[default]
    RoundRobin,
    /// `static-rr`
    StaticRr,
    /// `leastconn`
    LeastConn,
    /// `first`
    First,
    /// `source`
    Source,
    /// `random[(<draws>)]`: the least loaded of `draws` random picks on the hash ring.
    Random(u32),
    /// `hash <expr>`: the expression's bytes, hashed by `hash-type`'s function.
    Hash(Sample),
    /// `uri`, `url_param` and `hdr(<name>)`: a part of each HTTP request, hashed by
    /// `hash-type`'s function (round robin when the part is missing).
    Http(HttpHash),
}

/// What an HTTP balancing algorithm hashes (configuration.txt `balance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpHash {
    /// `uri [len <n>] [depth <n>] [whole] [path-only]`: the request URI up to the `?`
    /// (all of it with `whole`), its first `len` bytes, its first `depth` directories.
    Uri {
        /// `len`: bytes hashed at most (0: all).
        len: u32,
        /// `depth`: directories hashed at most (0: all).
        depth: u32,
        /// `whole`: the query string is hashed too.
        whole: bool,
        /// `path-only`: an absolute URI's scheme and authority are left out.
        path_only: bool,
    },
    /// `url_param <name> [check_post]`: the parameter's value in the query string, or
    /// in a POST's form body already received.
    UrlParam(String),
    /// `hdr(<name>) [use_domain_only]`: the header's first value (its domain's middle
    /// part with `use_domain_only`).
    Hdr {
        /// Header name, lower case.
        name: String,
        /// `use_domain_only`
        domain_only: bool,
    },
}

impl Balance {
    /// A hash of the client picks the server (haproxy's `BE_LB_KIND_HI`): a failed
    /// connection is not redispatched at once, and the client keeps its server.
    pub fn is_hash(&self) -> bool {
        matches!(self, Balance::Source | Balance::Hash(_) | Balance::Http(_))
    }

    /// The algorithm reads HTTP requests (haproxy's `BE_LB_NEED_HTTP`).
    pub fn needs_http(&self) -> bool {
        matches!(self, Balance::Http(_))
    }
}

/// `hash-type <method> <function> [avalanche]` (configuration.txt §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashType {
    /// `consistent` (a ring of points per server) rather than `map-based`.
    pub consistent: bool,
    /// The function hashing `balance hash` input (`source` hashes the address itself).
    pub function: HashFn,
    /// `avalanche`: the hash is mixed again before the lookup.
    pub avalanche: bool,
}

/// A `hash-type` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashFn {
    /// `sdbm` (default)
    #[default]
    Sdbm,
    /// `djb2`
    Djb2,
    /// `wt6`
    Wt6,
    /// `crc32`
    Crc32,
}

/// `h1-case-adjust` pairs: a lower-case header name and the case it is written in.
pub type CaseMap = [(String, String)];

/// `http-reuse`: which requests may take an idle server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpReuse {
    /// `never`: a session keeps its connections to itself.
    Never,
    /// `safe` (default): a session's first request gets a new connection.
    #[default]
    Safe,
    /// `aggressive`: a first request may take a connection already reused once.
    Aggressive,
    /// `always`: a first request may take any idle connection.
    Always,
}

/// One backend (or the backend half of a listen section).
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    /// Proxy name.
    pub name: String,
    /// haproxy's proxy number (`id`, else the first free one in declaration order).
    pub uuid: u32,
    /// `id` was given (`bk_f_forced_id` in `show servers state`).
    pub uuid_forced: bool,
    /// What reading its own state file said, before and after its servers' states are
    /// applied (haproxy says it then, among the servers' messages).
    pub state_notes: (Vec<String>, Vec<String>),
    /// True for a `listen` section (messages then say "proxy").
    pub is_listen: bool,
    /// `mode`
    pub mode: Mode,
    /// The backend's HTTP connection mode (with the frontend's, it decides whether
    /// server connections are kept).
    pub http_conn_mode: HttpConnMode,
    /// `http-reuse` (default `safe`).
    pub http_reuse: HttpReuse,
    /// `http-send-name-header`: the request header (lower case) that carries the chosen
    /// server's name.
    pub send_name_header: Option<Box<[u8]>>,
    /// `compression`: consulted before the frontend's.
    pub compression: Option<compression::Compression>,
    /// `option abortonclose`: a TCP session whose client closes while it waits in a
    /// queue leaves it (`CQ`).
    pub abortonclose: bool,
    /// `option nolinger` (TCP mode): ends passed to a server reset it instead.
    pub nolinger: bool,
    /// `option http-pretend-keepalive`: requests to servers are written as if the server
    /// connection were kept (no `connection: close`), whatever the connection mode.
    pub pretend_keepalive: bool,
    /// `option prefer-last-server`: a later request of a session goes to a server the
    /// session still holds an idle connection to, when the algorithm is not a hash.
    pub prefer_last_server: bool,
    /// `max-keep-alive-queue`, as haproxy stores it (value + 1; 0: no limit): how long
    /// the preferred server's queue may be before the balancer chooses instead.
    pub max_ka_queue: u32,
    /// `option http-buffer-request`, and the backend's `timeout http-request` that
    /// bounds the wait (else the client's timeout): the body is waited for after
    /// `use_backend` when the frontend did not wait already.
    pub buffer_request: (bool, Option<Duration>),
    /// `option h1-case-adjust-bogus-server`: the `h1-case-adjust` map applied to header
    /// names sent to servers.
    pub case_adjust: Option<std::sync::Arc<CaseMap>>,
    /// `errorfile` answers of the backend (they come before the frontend's).
    pub errorfiles: Vec<(u16, ErrorPage)>,
    /// `option forwardfor` of an HTTP backend (its header name wins over the frontend's).
    pub forwardfor: Option<ForwardFor>,
    /// `option originalto` of an HTTP backend (its header name wins too).
    pub originalto: Option<ForwardFor>,
    /// `cookie` persistence of an HTTP backend.
    pub cookie: Option<cookie::Cookie>,
    /// HTTP rules of a `backend` section, run once it is chosen (a listen's run as its
    /// frontend's).
    pub http_rules: http_rules::HttpRules,
    /// `balance`
    pub balance: Balance,
    /// `hash-type` (for `source` and `hash`; `random` always uses the ring).
    pub hash_type: HashType,
    /// `hash-balance-factor`: on the consistent-hash ring, a server takes at most this
    /// share (in percent) of the average load per weight (0: no bound).
    pub hash_balance_factor: u32,
    /// Servers in configuration order.
    pub servers: Vec<Server>,
    /// `timeout connect`
    pub timeout_connect: Option<Duration>,
    /// `timeout server`
    pub timeout_server: Option<Duration>,
    /// `timeout server-fin`
    pub timeout_server_fin: Option<Duration>,
    /// `timeout queue`
    pub timeout_queue: Option<Duration>,
    /// `timeout check`
    pub timeout_check: Option<Duration>,
    /// `timeout tunnel`
    pub timeout_tunnel: Option<Duration>,
    /// `retries` (default 3).
    pub retries: u32,
    /// `retry-on` includes `conn-failure` (the default): a failed connection is tried
    /// again, within `retries`; without it, never.
    pub retry_conn_failure: bool,
    /// `retry-on`'s response conditions (HTTP backends; empty elsewhere, as haproxy only
    /// arms L7 retries in HTTP mode).
    pub retry_l7: RetryL7,
    /// `option redispatch [<interval>]`: the interval (-1 when not given: the last retry;
    /// `0` turns redispatching off, so it is None then).
    pub redispatch: Option<i64>,
    /// `option allbackups`
    pub allbackups: bool,
    /// `option srvtcpka` / `option tcpka`
    pub srvtcpka: bool,
    /// `srvtcpka-cnt|idle|intvl`, for server connections under `srvtcpka`.
    pub srvtcpka_tune: TcpKeepalive,
    /// `option log-health-checks`
    pub log_health_checks: bool,
    /// Log targets (for health messages).
    pub log: Vec<LogTarget>,
    /// `source` for outgoing connections.
    pub source: Option<source::ConnSource>,
    /// The health check kind used by servers with `check`.
    pub check: CheckKind,
    /// `fullconn` (None: a tenth of what the frontends reaching it may hold, known once
    /// the process's maxconn is).
    pub fullconn: Option<u32>,
    /// `tcp-request inspect-delay` and `tcp-request content` rules of the backend.
    pub inspect: Inspect,
    /// `tcp-response inspect-delay` and `tcp-response content` rules (TCP mode).
    pub response: ResponseInspect,
    /// For a listen, its frontend's index: sessions of that frontend ran the listen's
    /// rules as frontend rules, so they do not run again as backend rules (haproxy adds
    /// the backend analysers only when the backend is another proxy).
    pub own_frontend: Option<usize>,
    /// `disabled`: no server is ever chosen (sessions end NOSRV), no rule of its own
    /// runs, and `show stat` leaves it out; `show backend` and `show servers state` list
    /// it, its servers unnumbered and in reverse order, as haproxy leaves them.
    pub disabled: bool,
    /// `stick-table` of this backend.
    pub stick_table: Option<StickTable>,
    /// `stick on|match|store-request` rules, in order.
    pub stick_rules: Vec<StickRule>,
    /// `use-server`, `force-persist`, `ignore-persist`, `option persist`.
    pub persist: persist::Persistence,
}

/// PROXY protocol to send to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendProxy {
    /// Nothing.
    #[default]
    None,
    /// Version 1 (text).
    V1,
    /// Version 2 (binary).
    V2,
}

/// PROXY v2 TLVs to add (`-ssl`, `-ssl-cn`, `proxy-v2-options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProxyV2Options {
    /// SSL TLV.
    pub ssl: bool,
    /// CN sub-TLV.
    pub cert_cn: bool,
    /// Cipher sub-TLV.
    pub ssl_cipher: bool,
    /// Signature algorithm sub-TLV.
    pub cert_sig: bool,
    /// Key algorithm sub-TLV.
    pub cert_key: bool,
    /// Authority (SNI) TLV.
    pub authority: bool,
    /// CRC32C TLV.
    pub crc32c: bool,
    /// Unique-id TLV.
    pub unique_id: bool,
}

/// One change the global section makes to the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvOp {
    /// `setenv`, or a `presetenv` of a variable that was not set.
    Set(String, String),
    /// `unsetenv`
    Unset(String),
    /// `resetenv`: every variable but these goes.
    Keep(Vec<String>),
}

/// Where a backend reads its servers' saved state (`load-server-state-from-file`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFrom {
    /// The global `server-state-file`.
    Global,
    /// The backend's own file (`server-state-file-name`, else its name).
    Local,
    /// No file.
    None,
}

/// A server's state as a previous process saved it (`show servers state`), read and
/// validated at load as haproxy's srv_state_srv_update reads it; the runtime applies it
/// at start (configuration.txt `load-server-state-from-file`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SavedState {
    /// `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping.
    pub op: u8,
    /// `srv_admin_state` without the inherited and resolution flags: haproxy's FMAINT
    /// (1), CMAINT (4, `disabled` in that configuration) and FDRAIN (8).
    pub admin: u8,
    /// `srv_uweight`: the weight in effect.
    pub uweight: u32,
    /// `srv_iweight`: the configured weight then.
    pub iweight: u32,
    /// `srv_time_since_last_change` in seconds.
    pub since: u64,
    /// `srv_check_status` (haproxy's HCHK_STATUS_* number).
    pub check_status: u8,
    /// `srv_check_result` (haproxy's CHK_RES_* number).
    pub check_result: u8,
    /// `srv_check_health`.
    pub check_health: i64,
    /// `srv_check_state` (CONFIGURED 2, ENABLED 4, PAUSED 8).
    pub check_state: u8,
    /// `srv_agent_state` (CONFIGURED 2, ENABLED 4, AGENT 16).
    pub agent_state: u8,
    /// `srv_port`.
    pub port: u16,
    /// `srv_use_ssl`, when the line has it.
    pub use_ssl: Option<bool>,
    /// `srv_check_port` when not 0, and `srv_check_addr` when not `-`: the check's.
    pub check_port: Option<u16>,
    /// See `check_port`.
    pub check_addr: Option<IpAddr>,
    /// `srv_agent_port` when not 0 and `srv_agent_addr` when not `-` (agents only).
    pub agent_port: Option<u16>,
    /// See `agent_port`.
    pub agent_addr: Option<IpAddr>,
    /// Why the line was not applied at all (haproxy's invalid values), said when the
    /// servers' states are applied, in server order.
    pub failed: Option<String>,
    /// What of the line was not applied (check or agent address and port).
    pub partial: Option<String>,
}

/// One server with `default-server` applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// Server name.
    pub name: String,
    /// `id` was given (`srv_f_forced_id` in `show servers state`).
    pub id_forced: bool,
    /// The host name it was given by, when not an address (`srv_fqdn`).
    pub hostname: Option<String>,
    /// It names a `resolvers` section (`set server … fqdn` needs one).
    pub resolvers: bool,
    /// Its saved state, when its backend loads one and a line names it.
    pub saved: Option<SavedState>,
    /// Its id (`id`, else the first free number from 1 in configuration order): where
    /// the server sits on a consistent-hash ring, and `sid` in the statistics.
    pub id: u32,
    /// `file:line` of the server line.
    pub origin: String,
    /// Resolved address; `None` when it could not be resolved and `init-addr none` allowed it.
    pub addr: Option<IpAddr>,
    /// Port (0: use the port the client connected to).
    pub port: u16,
    /// `+N`/`-N` port offset from the client's destination port.
    pub port_offset: Option<i32>,
    /// `weight` (1..=256, 0 = no load-balanced traffic).
    pub weight: u32,
    /// `backup`
    pub backup: bool,
    /// `disabled`: starts in maintenance.
    pub disabled: bool,
    /// `maxconn` (0 = unlimited).
    pub maxconn: u32,
    /// `maxqueue` (0 = unlimited): sessions waiting for this server in particular.
    pub maxqueue: u32,
    /// `slowstart` in seconds (0: none): after coming back UP, weight and maxconn ramp up
    /// over this long.
    pub slowstart: u32,
    /// `tcp-ut`: TCP_USER_TIMEOUT on every socket towards it (traffic and checks).
    pub tcp_ut: Option<Duration>,
    /// Health checking, when `check` is set.
    pub check: Option<ServerCheck>,
    /// `agent-check` with its port.
    pub agent: Option<AgentCheck>,
    /// `send-proxy` / `send-proxy-v2`
    pub send_proxy: SendProxy,
    /// TLVs for PROXY v2.
    pub proxy_v2: ProxyV2Options,
    /// `source` of this server (overrides the backend's).
    pub source: Option<source::ConnSource>,
    /// `on-marked-down shutdown-sessions`
    pub shutdown_on_down: bool,
    /// `on-marked-up shutdown-backup-sessions`
    pub shutdown_backup_on_up: bool,
    /// TLS towards the server, when `ssl` is set.
    pub tls: Option<ServerTls>,
    /// `cookie <value>`: the persistence cookie value naming this server (HTTP mode).
    pub cookie: Option<String>,
    /// `track`: the (backend, server) indexes whose check state this server takes.
    pub track: Option<(usize, usize)>,
    /// `observe`: traffic errors that count against the server (None: not observed).
    pub observe: Option<Observe>,
    /// `error-limit`: consecutive errors before `on-error` acts.
    pub error_limit: u32,
    /// `on-error`: what `error-limit` consecutive errors do.
    pub on_error: OnError,
}

/// `observe`: which traffic events count as the server's successes and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observe {
    /// Connections: established (success) or failed (error).
    Layer4,
    /// HTTP responses: failed connections, bad statuses, invalid or missing responses.
    Layer7,
}

/// `on-error`: what enough consecutive traffic errors do to a checked server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Only check sooner (`fastinter`).
    FastInter,
    /// Count as one failed check.
    #[default]
    FailCheck,
    /// Leave one more failure before DOWN, then count one failed check.
    SuddenDeath,
    /// Mark the server DOWN at once.
    MarkDown,
}

/// Health-check parameters of one server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerCheck {
    /// `inter` (default 2s).
    pub inter: Duration,
    /// `fastinter` (default: inter).
    pub fastinter: Duration,
    /// `fastinter` was given: only then does `on-error` bring the next check forward.
    pub fastinter_set: bool,
    /// `downinter` (default: inter).
    pub downinter: Duration,
    /// `rise` (default 2).
    pub rise: u32,
    /// `fall` (default 3).
    pub fall: u32,
    /// `port` (None: the server's port).
    pub port: Option<u16>,
    /// `addr` (None: the server's address).
    pub addr: Option<IpAddr>,
    /// Send the PROXY header on checks (`check-send-proxy`, or implied when no port/addr).
    pub send_proxy: bool,
}

/// `server … ssl` settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerTls {
    /// Versions, suites, ALPN and CA file (with the `ssl-default-server-*` values merged).
    pub common: TlsCommon,
    /// `verify` (true = required).
    pub verify: bool,
    /// The name sent as SNI (`sni str(<name>)`, the only expression haproxide evaluates).
    pub sni: Option<String>,
    /// `crt` client certificate.
    pub crt: Option<String>,
    /// `verifyhost`: the name checked when no SNI is sent.
    pub verifyhost: Option<String>,
    /// `check-ssl`, or `ssl` without a check `port`/`addr`: checks handshake too.
    pub check: bool,
    /// `check-sni`: the name checks send and verify (they never send the traffic's).
    pub check_sni: Option<String>,
    /// `check-alpn`: the protocols checks offer (otherwise `alpn`'s).
    pub check_alpn: Option<Vec<String>>,
    /// `ssl`: the traffic goes over TLS (without it, only `check-ssl` checks do).
    pub traffic: bool,
}

/// Content inspection before a server is chosen (configuration.txt §4.2 `tcp-request
/// inspect-delay`, `tcp-request content`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inspect {
    /// How long to wait for client data that could change a rule's verdict.
    pub delay: Option<Duration>,
    /// `tcp-request content` rules, in order.
    pub rules: Vec<ContentRule>,
    /// `tcp-request connection` rules (frontends): run at accept, before a PROXY header
    /// or a TLS handshake is read; a reject resets the connection, unlogged.
    pub connection: Vec<ContentRule>,
    /// `tcp-request session` rules (frontends): run once the PROXY header and the TLS
    /// handshake are done; a reject closes the connection, unlogged.
    pub session: Vec<ContentRule>,
}

/// What a `tcp-request content` rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentAction {
    /// `accept`: on to a backend, no more rules.
    Accept,
    /// `reject`: the connection closes.
    Reject,
    /// `set-var`, `set-var-fmt`, `unset-var`: then the next rule.
    Var(Box<vars::SetVar>),
    /// `track-sc<n> <key> [table <t>]`: then the next rule.
    Track(Box<counters::Track>),
    /// `sc-inc-gpc*`, `sc-set-gpt*`: then the next rule.
    Sc(Box<counters::ScAction>),
    /// `set-log-level <level>|silent` (content rules): the session's line at that
    /// level (0 emerg … 7 debug), or none (-1).
    SetLogLevel(i8),
    /// `close` (`tcp-response content` only): the server connection is reset, what it
    /// sent still reaches the client, and the session ends normally.
    Close,
}

/// The first bytes of a TCP server's answer inspected before the client sees them
/// (configuration.txt §4.2 `tcp-response inspect-delay`, `tcp-response content`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseInspect {
    /// How long, from the server connection, to wait for bytes that could change a
    /// rule's verdict; None decides at once on what is there.
    pub delay: Option<Duration>,
    /// The rules, in order (a named defaults section's first).
    pub rules: Vec<ContentRule>,
}

/// `tcp-request content <action> [if|unless <cond>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentRule {
    /// What the rule does.
    pub action: ContentAction,
    /// The condition, when given.
    pub cond: Option<acl::Cond>,
}

/// `use_backend <backend> [if|unless <cond>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchRule {
    /// Where it sends the session.
    pub backend: SwitchTarget,
    /// The condition, when given.
    pub cond: Option<acl::Cond>,
}

/// A `use_backend` target.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchTarget {
    /// Index into [`Config::backends`].
    Backend(usize),
    /// `use_backend %[…]`: a log-format string naming the backend when the rule runs;
    /// no backend of that name ends the rules, leaving the default backend.
    Named(http_rules::Format, std::sync::Arc<[Box<str>]>),
}

/// `req.payload(<offset>,<length>)`: client bytes; length 0 means all that is buffered.
/// Both are haproxy's `unsigned int`s: a range past the buffer size never matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// First byte.
    pub offset: u32,
    /// Bytes (0: to the end of the buffer).
    pub length: u32,
}

/// A sample a stick rule or `balance hash` keys on (configuration.txt §7.3).
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// `src`: the client address.
    Src,
    /// `req.payload(o,l)`: client bytes, for `balance hash`.
    Payload(Payload),
    /// `req.payload(o,l),mqtt_field_value(connect,<field>)`
    MqttField(Payload, MqttField),
}

/// A field of an MQTT CONNECT packet (`mqtt_field_value(connect, …)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttField {
    /// `protocol_name`
    ProtocolName,
    /// `protocol_version`
    ProtocolVersion,
    /// `flags`
    Flags,
    /// `keepalive`
    Keepalive,
    /// `client_identifier`
    ClientIdentifier,
    /// `will_topic`
    WillTopic,
    /// `will_payload`
    WillPayload,
    /// `username`
    Username,
    /// `password`
    Password,
}

/// `stick-table type …` key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickKey {
    /// `ip`
    Ip,
    /// `ipv6`
    Ipv6,
    /// `integer`
    Integer,
    /// `string [len N]`
    String(usize),
    /// `binary [len N]`
    Binary(usize),
}

/// `stick-table type <type> size <size> [expire <time>] [nopurge]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StickTable {
    /// Key type.
    pub key: StickKey,
    /// Entries at most.
    pub size: u64,
    /// Idle time after which an entry is forgotten.
    pub expire: Option<Duration>,
    /// When full, refuse new entries instead of dropping the oldest.
    pub nopurge: bool,
    /// `store <type>[(<args>)],…`: the data kept per key, in the order written.
    pub store: Vec<counters::Store>,
    /// `peers <name>`: the index in [`Config::peers`] of the section replicating it.
    pub peers: Option<usize>,
}

/// `stick on|match|store-request <sample> [table <name>] [if|unless <cond>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StickRule {
    /// Looks the key up before balancing (`on`, `match`).
    pub lookup: bool,
    /// Stores the key once the server is connected (`on`, `store-request`).
    pub store: bool,
    /// `store-response`: the key is taken from the response, then stored.
    pub response: bool,
    /// What the key is made of.
    pub expr: acl::SampleExpr,
    /// `if|unless <cond>`: the rule applies only when it holds.
    pub cond: Option<acl::Cond>,
    /// Index into [`Config::tables`].
    pub table: usize,
}

/// A TLS cipher suite haproxide serves (one rustls implements), by its OpenSSL name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// `TLS_AES_128_GCM_SHA256`
    Tls13Aes128Gcm,
    /// `TLS_AES_256_GCM_SHA384`
    Tls13Aes256Gcm,
    /// `TLS_CHACHA20_POLY1305_SHA256`
    Tls13Chacha20,
    /// `ECDHE-ECDSA-AES128-GCM-SHA256`
    EcdheEcdsaAes128Gcm,
    /// `ECDHE-RSA-AES128-GCM-SHA256`
    EcdheRsaAes128Gcm,
    /// `ECDHE-ECDSA-AES256-GCM-SHA384`
    EcdheEcdsaAes256Gcm,
    /// `ECDHE-RSA-AES256-GCM-SHA384`
    EcdheRsaAes256Gcm,
    /// `ECDHE-ECDSA-CHACHA20-POLY1305`
    EcdheEcdsaChacha20,
    /// `ECDHE-RSA-CHACHA20-POLY1305`
    EcdheRsaChacha20,
}

impl Cipher {
    /// Every suite, in the order of OpenSSL 3's DEFAULT list (`openssl ciphers -v
    /// DEFAULT`), which haproxy serves by when no list names them.
    pub const OPENSSL_DEFAULT: [Cipher; 9] = [
        Cipher::Tls13Aes256Gcm,
        Cipher::Tls13Chacha20,
        Cipher::Tls13Aes128Gcm,
        Cipher::EcdheEcdsaAes256Gcm,
        Cipher::EcdheRsaAes256Gcm,
        Cipher::EcdheEcdsaChacha20,
        Cipher::EcdheRsaChacha20,
        Cipher::EcdheEcdsaAes128Gcm,
        Cipher::EcdheRsaAes128Gcm,
    ];

    /// The OpenSSL name.
    pub fn openssl_name(self) -> &'static str {
        match self {
            Cipher::Tls13Aes128Gcm => "TLS_AES_128_GCM_SHA256",
            Cipher::Tls13Aes256Gcm => "TLS_AES_256_GCM_SHA384",
            Cipher::Tls13Chacha20 => "TLS_CHACHA20_POLY1305_SHA256",
            Cipher::EcdheEcdsaAes128Gcm => "ECDHE-ECDSA-AES128-GCM-SHA256",
            Cipher::EcdheRsaAes128Gcm => "ECDHE-RSA-AES128-GCM-SHA256",
            Cipher::EcdheEcdsaAes256Gcm => "ECDHE-ECDSA-AES256-GCM-SHA384",
            Cipher::EcdheRsaAes256Gcm => "ECDHE-RSA-AES256-GCM-SHA384",
            Cipher::EcdheEcdsaChacha20 => "ECDHE-ECDSA-CHACHA20-POLY1305",
            Cipher::EcdheRsaChacha20 => "ECDHE-RSA-CHACHA20-POLY1305",
        }
    }

    /// The suite an OpenSSL name stands for, when haproxide has it.
    pub fn from_openssl(name: &str) -> Option<Cipher> {
        Cipher::OPENSSL_DEFAULT
            .into_iter()
            .find(|c| c.openssl_name() == name)
    }

    /// The bits of its symmetric key (OpenSSL's SSL_get_cipher_bits).
    pub fn key_bits(self) -> u16 {
        match self {
            Cipher::Tls13Aes128Gcm | Cipher::EcdheEcdsaAes128Gcm | Cipher::EcdheRsaAes128Gcm => 128,
            _ => 256,
        }
    }

    /// A TLS 1.3 suite (`ciphersuites`), rather than TLS 1.2 (`ciphers`).
    pub fn tls13(self) -> bool {
        matches!(
            self,
            Cipher::Tls13Aes128Gcm | Cipher::Tls13Aes256Gcm | Cipher::Tls13Chacha20
        )
    }
}

/// What the TLS settings of a bind and of a server have in common (one type, read the same
/// way by both sides of the runtime).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsCommon {
    /// Lowest allowed version.
    pub min_version: Option<TlsVersion>,
    /// Highest allowed version.
    pub max_version: Option<TlsVersion>,
    /// `ciphersuites` and `ciphers`, resolved.
    pub ciphers: Ciphers,
    /// `alpn` protocols in order.
    pub alpn: Vec<String>,
    /// `ca-file`: what verifies the peer's certificate.
    pub ca_file: Option<String>,
}

impl TlsCommon {
    /// The ALPN protocol names as they go on the wire.
    pub fn alpn_protocols(&self) -> Vec<Vec<u8>> {
        self.alpn.iter().map(|p| p.as_bytes().to_vec()).collect()
    }
}

/// The suites a TLS endpoint offers, in order: those of `ciphersuites`, then those of
/// `ciphers`, each list resolved against what rustls implements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ciphers {
    /// The suites, in the order offered.
    pub suites: Vec<Cipher>,
    /// OpenSSL names the lists gave that rustls has no equivalent for (dropped).
    pub dropped: Vec<String>,
}
