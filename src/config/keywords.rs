//! The keyword table: every keyword HAProxy 2.6 knows in the sections haproxide reads, and
//! what haproxide does with it. `grammar/keywords.md` is generated from this table (a test
//! keeps the two equal), so the documentation cannot drift from the parser.

/// What haproxide does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Implemented.
    Supported,
    /// Accepted; it has no effect on behaviour here, so a WARNING says it is ignored.
    Ignored,
    /// HAProxy accepts it but haproxide does not implement it: ALERT, exit 1.
    Unsupported,
    /// HAProxy 2.6 itself refuses it (removed keywords); same ALERT as HAProxy.
    Removed,
}

impl Status {
    /// Word used in grammar/keywords.md.
    pub fn word(self) -> &'static str {
        match self {
            Status::Supported => "supported",
            Status::Ignored => "ignored (warning)",
            Status::Unsupported => "rejected (unsupported)",
            Status::Removed => "rejected (removed in HAProxy)",
        }
    }
}

/// Section capability bits, as HAProxy's `PR_CAP_*`.
pub mod cap {
    /// `defaults`
    pub const DEF: u8 = 1;
    /// `frontend`
    pub const FE: u8 = 2;
    /// `backend`
    pub const BE: u8 = 4;
    /// `frontend`, `backend`, `listen`, `defaults`
    pub const ALL: u8 = DEF | FE | BE;
    /// Frontend side (and defaults).
    pub const DFE: u8 = DEF | FE;
    /// Backend side (and defaults).
    pub const DBE: u8 = DEF | BE;
    /// Frontend, backend, listen but not defaults.
    pub const PRX: u8 = FE | BE;
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    /// The keyword (first word of the line, or option/bind/server word).
    pub name: &'static str,
    /// Where it may appear (for proxies; 0 for other tables).
    pub caps: u8,
    /// What haproxide does with it.
    pub status: Status,
    /// Arguments as configuration.txt writes them.
    pub args: &'static str,
    /// A short note (why ignored or unsupported).
    pub note: &'static str,
}

const fn kw(
    name: &'static str,
    caps: u8,
    status: Status,
    args: &'static str,
    note: &'static str,
) -> Keyword {
    Keyword {
        name,
        caps,
        status,
        args,
        note,
    }
}

use cap::*;
use Status::*;

/// Section keywords (first word starting a section).
pub const SECTIONS: &[Keyword] = &[
    kw("global", 0, Supported, "", "process-wide settings"),
    kw(
        "defaults",
        0,
        Supported,
        "[<name>] [from <defaults>]",
        "named defaults and `from` supported",
    ),
    kw(
        "frontend",
        0,
        Supported,
        "<name> [from <defaults>]",
        "`mode tcp`, and `mode http` served by the HTTP/1 engine (grammar/http.md)",
    ),
    kw(
        "backend",
        0,
        Supported,
        "<name> [from <defaults>]",
        "`mode http` backends serve HTTP requests, from HTTP frontends and from TCP frontends whose streams they upgrade, as haproxy does",
    ),
    kw(
        "listen",
        0,
        Supported,
        "<name> [from <defaults>]",
        "`mode tcp`, and `mode http` served by the HTTP/1 engine (grammar/http.md)",
    ),
    kw(
        "userlist",
        0,
        Supported,
        "<name>",
        "`group`, `user` with `password` (the system's crypt(3), as haproxy) or `insecure-password`; read by `http_auth`, `http_auth_group`",
    ),
    kw(
        "peers",
        0,
        Supported,
        "<name>",
        "stick-table replication with haproxy's peers protocol 2.1 (`peer <name> <ip:port>`, or `bind` and `server`, `disabled`, `enabled`, `table <name> …`: a table `<section>/<name>`); `log`, `default-bind`, `default-server` and peer/bind options (`ssl` …) refused by name",
    ),
    kw(
        "resolvers",
        0,
        Supported,
        "<name>",
        "checked; no runtime DNS, so only servers given by IP address may name it",
    ),
    kw("mailers", 0, Unsupported, "<name>", "email alerts"),
    kw("cache", 0, Unsupported, "<name>", "HTTP cache"),
    kw("ring", 0, Unsupported, "<name>", "log rings"),
    kw(
        "program",
        0,
        Unsupported,
        "<name>",
        "external programs under the master",
    ),
    kw("http-errors", 0, Supported, "<name>", "HTTP error pages for `errorfiles` (its `errorfile` lines)"),
    kw("fcgi-app", 0, Unsupported, "<name>", "FastCGI"),
    kw("crt-store", 0, Unsupported, "<name>", "certificate stores"),
    kw("traces", 0, Unsupported, "", "traces"),
];

/// `global` keywords.
pub const GLOBAL: &[Keyword] = &[
    kw(
        "log",
        0,
        Supported,
        "<target> [len <n>] [format <f>] [sample <ranges>:<size>] <facility> [<level> [<minlevel>]]",
        "",
    ),
    kw("log-tag", 0, Supported, "<tag>", ""),
    kw("log-send-hostname", 0, Supported, "[<name>]", ""),
    kw("maxconn", 0, Supported, "<number>", ""),
    kw("daemon", 0, Supported, "", ""),
    kw(
        "master-worker",
        0,
        Supported,
        "[no-exit-on-failure]",
        "`no-exit-on-failure` changes nothing, as in haproxy 2.6.12",
    ),
    kw("chroot", 0, Supported, "<dir>", ""),
    kw("user", 0, Supported, "<name>", ""),
    kw("group", 0, Supported, "<name>", ""),
    kw("uid", 0, Supported, "<number>", ""),
    kw("gid", 0, Supported, "<number>", ""),
    kw("pidfile", 0, Supported, "<file>", ""),
    kw("nbthread", 0, Supported, "<number>", ""),
    kw("ulimit-n", 0, Supported, "<number>", ""),
    kw(
        "stats",
        0,
        Supported,
        "socket <addr> [params] | timeout <t> | maxconn <n>",
        "the runtime API subset in the man page; `stats bind-process` is removed",
    ),
    kw("ca-base", 0, Supported, "<dir>", ""),
    kw("crt-base", 0, Supported, "<dir>", ""),
    kw(
        "ssl-default-bind-ciphers",
        0,
        Supported,
        "<openssl cipher list>",
        "mapped to rustls suites",
    ),
    kw(
        "ssl-default-bind-ciphersuites",
        0,
        Supported,
        "<TLS 1.3 suites>",
        "",
    ),
    kw("ssl-default-bind-options", 0, Supported, "<option>...", ""),
    kw(
        "ssl-default-bind-curves",
        0,
        Ignored,
        "<curves>",
        "X25519, P-256 and P-384 are always offered, as haproxy offers them by default",
    ),
    kw(
        "ssl-default-server-ciphers",
        0,
        Supported,
        "<openssl cipher list>",
        "",
    ),
    kw(
        "ssl-default-server-ciphersuites",
        0,
        Supported,
        "<TLS 1.3 suites>",
        "",
    ),
    kw(
        "ssl-default-server-options",
        0,
        Supported,
        "<option>...",
        "",
    ),
    kw("ssl-server-verify", 0, Supported, "none|required", ""),
    kw("hard-stop-after", 0, Supported, "<time>", ""),
    kw(
        "tune.ssl.default-dh-param",
        0,
        Supported,
        "<bits>",
        "DHE suites are not offered by rustls; value checked only",
    ),
    kw("description", 0, Supported, "<text>", "`show info`"),
    kw("node", 0, Supported, "<name>", "`show info`"),
    kw("setenv", 0, Supported, "<name> <value>", ""),
    kw("presetenv", 0, Supported, "<name> <value>", ""),
    kw("unsetenv", 0, Supported, "<name>...", ""),
    kw("resetenv", 0, Supported, "[<name>...]", ""),
    kw("quiet", 0, Supported, "", "same as -q"),
    kw("zero-warning", 0, Supported, "", "same as -dW"),
    kw("nbproc", 0, Removed, "", "removed in HAProxy 2.5"),
    kw(
        "cpu-map",
        0,
        Ignored,
        "<thread set> <cpu set>",
        "the OS scheduler places threads",
    ),
    kw(
        "spread-checks",
        0,
        Ignored,
        "<0..50>",
        "checks are spread as HAProxy's start-up staggering only",
    ),
    kw("max-spread-checks", 0, Ignored, "<time>", ""),
    kw(
        "unix-bind",
        0,
        Supported,
        "[prefix <p>] [mode <m>] [user <u>] [uid <n>] [group <g>] [gid <n>]",
        "checked as haproxy checks it; no effect, as in haproxy, on the stats socket, the only UNIX socket haproxide listens on (UNIX-socket binds in proxies are refused)",
    ),
    kw("maxpipes", 0, Ignored, "<number>", "no splice pipes pool"),
    kw("maxconnrate", 0, Supported, "<number>", "accepts paused while over"),
    kw("maxsessrate", 0, Supported, "<number>", "accepts paused while over"),
    kw("maxsslrate", 0, Supported, "<number>", "TLS listeners' accepts paused while over"),
    kw("maxsslconn", 0, Unsupported, "<number>", ""),
    kw(
        "maxcomprate",
        0,
        Ignored,
        "<number>",
        "compression is not skipped for its input rate here",
    ),
    kw(
        "maxcompcpuusage",
        0,
        Ignored,
        "<number>",
        "compression is not skipped for CPU usage here",
    ),
    kw(
        "maxzlibmem",
        0,
        Ignored,
        "<number>",
        "haproxy built with libslz has no zlib memory to bound",
    ),
    kw("fd-hard-limit", 0, Unsupported, "<number>", ""),
    kw("noepoll", 0, Ignored, "", "poller choice is tokio's"),
    kw("nopoll", 0, Ignored, "", "poller choice is tokio's"),
    kw("nokqueue", 0, Ignored, "", "poller choice is tokio's"),
    kw("noevports", 0, Ignored, "", "poller choice is tokio's"),
    kw("nosplice", 0, Ignored, "", ""),
    kw("nogetaddrinfo", 0, Ignored, "", ""),
    kw("noreuseport", 0, Unsupported, "", ""),
    kw(
        "busy-polling",
        0,
        Supported,
        "",
        "off again during a soft stop",
    ),
    kw("set-dumpable", 0, Ignored, "", ""),
    kw("strict-limits", 0, Supported, "", "on by default"),
    kw("insecure-fork-wanted", 0, Ignored, "", ""),
    kw("insecure-setuid-wanted", 0, Ignored, "", ""),
    kw("external-check", 0, Unsupported, "", ""),
    kw("server-state-base", 0, Supported, "<dir>", ""),
    kw("server-state-file", 0, Supported, "<file>", ""),
    kw("localpeer", 0, Supported, "<name>", ""),
    kw("numa-cpu-mapping", 0, Ignored, "", ""),
    kw("anonkey", 0, Ignored, "<key>", ""),
    kw("grace", 0, Unsupported, "<time>", ""),
    kw("close-spread-time", 0, Unsupported, "<time>", ""),
    kw("default-path", 0, Unsupported, "<mode> [<path>]", ""),
    kw(
        "expose-experimental-directives",
        0,
        Supported,
        "",
        "allows the experimental tune.* keywords after it",
    ),
    kw("h1-case-adjust", 0, Supported, "<from> <to>", "HTTP mode: the case a header name is written in, with option h1-case-adjust-bogus-client|server"),
    kw("h1-case-adjust-file", 0, Supported, "<file>", "HTTP mode: `<from> <to>` lines, as h1-case-adjust"),
    kw(
        "h1-accept-payload-with-any-method",
        0,
        Ignored,
        "",
        "HTTP only",
    ),
    kw("issuers-chain-path", 0, Unsupported, "<dir>", ""),
    kw("lua-load", 0, Unsupported, "<file>", "Lua"),
    kw("lua-load-per-thread", 0, Unsupported, "<file>", "Lua"),
    kw("lua-prepend-path", 0, Unsupported, "<path>", "Lua"),
    kw("mworker-max-reloads", 0, Ignored, "<number>", ""),
    kw("no-memory-trimming", 0, Ignored, "", ""),
    kw(
        "pp2-never-send-local",
        0,
        Unsupported,
        "",
        "changes check PROXY headers",
    ),
    kw("profiling.tasks", 0, Ignored, "on|off|auto", ""),
    kw("profiling.memory", 0, Ignored, "on|off", ""),
    kw(
        "set-var",
        0,
        Supported,
        "proc.<name> <expr>",
        "stored at start; samples that need no session (str, int, bool, env, var)",
    ),
    kw(
        "set-var-fmt",
        0,
        Supported,
        "proc.<name> <fmt>",
        "stored at start; samples that need no session (str, int, bool, env, var)",
    ),
    kw(
        "ssl-dh-param-file",
        0,
        Ignored,
        "<file>",
        "rustls offers no DHE suites",
    ),
    kw("ssl-engine", 0, Unsupported, "<name>", "OpenSSL engines"),
    kw("ssl-mode-async", 0, Ignored, "", "OpenSSL async mode"),
    kw(
        "ssl-load-extra-files",
        0,
        Unsupported,
        "<none|all|bundle|sctl|ocsp|issuer|key>",
        "",
    ),
    kw("ssl-load-extra-del-ext", 0, Unsupported, "", ""),
    kw(
        "ssl-propquery",
        0,
        Unsupported,
        "<query>",
        "OpenSSL providers",
    ),
    kw(
        "ssl-provider",
        0,
        Unsupported,
        "<name>",
        "OpenSSL providers",
    ),
    kw(
        "ssl-provider-path",
        0,
        Unsupported,
        "<path>",
        "OpenSSL providers",
    ),
    kw("ssl-skip-self-issued-ca", 0, Ignored, "", ""),
    kw("thread-group", 0, Unsupported, "<n> <threads>", ""),
    kw("thread-groups", 0, Unsupported, "<n>", ""),
    kw("cluster-secret", 0, Ignored, "<secret>", "QUIC only"),
    kw(
        "httpclient.resolvers.id",
        0,
        Ignored,
        "<id>",
        "no internal HTTP client",
    ),
    kw(
        "httpclient.resolvers.prefer",
        0,
        Ignored,
        "<family>",
        "no internal HTTP client",
    ),
    kw(
        "httpclient.ssl.ca-file",
        0,
        Ignored,
        "<file>",
        "no internal HTTP client",
    ),
    kw(
        "httpclient.ssl.verify",
        0,
        Ignored,
        "none|required",
        "no internal HTTP client",
    ),
];

/// Prefix rows: a `tune.*` keyword not listed above is accepted and ignored when
/// [`GLOBAL_TUNE`] has it.
pub const GLOBAL_PREFIX_IGNORED: &[&str] = &["tune."];

/// The `tune.*` keywords Debian's haproxy 2.6.12 knows (configuration.txt §3.2; built
/// without QUIC and zlib): accepted and ignored here. Any other `tune.` word is unknown,
/// as it is to haproxy.
pub const GLOBAL_TUNE: &[&str] = &[
    "tune.buffers.limit",
    "tune.buffers.reserve",
    "tune.bufsize",
    "tune.chksize",
    "tune.comp.maxlevel",
    "tune.fail-alloc",
    "tune.fd.edge-triggered",
    "tune.h2.header-table-size",
    "tune.h2.initial-window-size",
    "tune.h2.max-concurrent-streams",
    "tune.h2.max-frame-size",
    "tune.http.cookielen",
    "tune.http.logurilen",
    "tune.http.maxhdr",
    "tune.idle-pool.shared",
    "tune.idletimer",
    "tune.listener.multi-queue",
    "tune.lua.forced-yield",
    "tune.lua.maxmem",
    "tune.lua.service-timeout",
    "tune.lua.session-timeout",
    "tune.lua.task-timeout",
    "tune.maxaccept",
    "tune.maxpollevents",
    "tune.maxrewrite",
    "tune.pattern.cache-size",
    "tune.peers.max-updates-at-once",
    "tune.pipesize",
    "tune.pool-high-fd-ratio",
    "tune.pool-low-fd-ratio",
    "tune.rcvbuf.client",
    "tune.rcvbuf.server",
    "tune.recv_enough",
    "tune.runqueue-depth",
    "tune.sched.low-latency",
    "tune.sndbuf.client",
    "tune.sndbuf.server",
    "tune.ssl.cachesize",
    "tune.ssl.capture-buffer-size",
    "tune.ssl.capture-cipherlist-size",
    "tune.ssl.force-private-cache",
    "tune.ssl.hard-maxrecord",
    "tune.ssl.keylog",
    "tune.ssl.lifetime",
    "tune.ssl.maxrecord",
    "tune.ssl.ssl-ctx-cache-size",
    "tune.vars.check-max-size",
    "tune.vars.global-max-size",
    "tune.vars.proc-max-size",
    "tune.vars.reqres-max-size",
    "tune.vars.sess-max-size",
    "tune.vars.txn-max-size",
];

/// What haproxy 2.6.12 checks in a `tune.*` keyword's argument, where haproxide
/// reproduces it (recorded with `haproxy -c`; keywords not listed take anything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TuneArg {
    /// A missing argument: `"'<kw>' expects an integer argument."`.
    Integer,
    /// A missing argument: `"'<kw>' <text>"` (the keyword's own wording).
    Missing(&'static str),
    /// A number read as C's atoi() (atol() when `wide`) within `min..=max`; a missing one
    /// is `"'<kw>' <missing>"` (accepted as 0 when `None`), one out of range `"'<kw>' <bad>"`.
    Int {
        /// Wording for no argument; `None`: read as 0.
        missing: Option<&'static str>,
        /// Smallest value accepted.
        min: i64,
        /// Largest value accepted.
        max: i64,
        /// Read as atol() (64 bits) rather than atoi().
        wide: bool,
        /// Wording for a value out of range.
        bad: &'static str,
    },
    /// No argument at all: `"'<kw>' cannot handle unexpected argument '<arg>'."`.
    Flag,
    /// A time in ms: anything else is `"<kw>: invalid timeout"` (the Lua timeouts).
    LuaTimeout,
    /// `tune.idletimer`: a time in ms up to 65535.
    IdleTimer,
    /// `tune.ssl.lifetime`: a time in seconds.
    SslLifetime,
    /// A whole strtol() number or nothing: `"<kw>: invalid number"` (`tune.lua.forced-yield`).
    Number,
    /// A whole strtol() number: `"<kw>: invalid number <arg> (error at '<c>')"`, a missing
    /// one `"'<kw>' <text>"` (`tune.lua.maxmem`).
    NumberAt(&'static str),
    /// A whole strtol() number or nothing: `"<kw>: '<arg>' is an invalid size"` (`tune.vars.*`).
    VarsSize,
    /// `on` or `off`, nothing else.
    OnOff,
    /// `on` or `off`, and only after `expose-experimental-directives`.
    ExperimentalOnOff,
    /// Refused whatever follows (its replacement named in the alert).
    Removed(&'static str),
    /// Deprecated (a warning naming the replacement), then the replacement's own check.
    Deprecated(&'static str),
}

/// An atoi() number in `min..=max`, `text` for a missing one and one out of range.
const fn range(min: i64, max: i64, text: &'static str) -> TuneArg {
    TuneArg::Int {
        missing: Some(text),
        min,
        max,
        wide: false,
        bad: text,
    }
}

/// An atoi() number at least `min`: a missing one "expects an integer argument.".
pub(crate) const fn at_least(min: i64, bad: &'static str) -> TuneArg {
    TuneArg::Int {
        missing: Some("expects an integer argument."),
        min,
        max: i64::MAX,
        wide: false,
        bad,
    }
}

/// The HTTP/2 window and stream counts: no argument reads as 0, a negative one is refused.
const H2_POSITIVE: TuneArg = TuneArg::Int {
    missing: None,
    min: 0,
    max: i64::MAX,
    wide: false,
    bad: "expects a positive numeric value.",
};

/// Global flags after which haproxy 2.6 ignores any further words (other flags refuse them).
pub const GLOBAL_FLAGS_ANY_ARGS: &[&str] = &[
    "numa-cpu-mapping",
    "expose-experimental-directives",
    "ssl-skip-self-issued-ca",
];

/// `tune.*` keywords haproxy sets once: given again after a value other than 0, the
/// new line is skipped with an alert that leaves the configuration valid.
pub const TUNE_ONCE: &[&str] = &[
    "tune.maxaccept",
    "tune.maxpollevents",
    "tune.rcvbuf.client",
    "tune.rcvbuf.server",
    "tune.runqueue-depth",
    "tune.sndbuf.client",
    "tune.sndbuf.server",
];

/// The two names of one setting haproxy refuses to see twice ("is already configured.").
pub const TUNE_CAPTURE: &[&str] = &[
    "tune.ssl.capture-buffer-size",
    "tune.ssl.capture-cipherlist-size",
];

/// Argument checks of the [`GLOBAL_TUNE`] keywords (see [`TuneArg`]).
pub const TUNE_ARGS: &[(&str, TuneArg)] = &[
    ("tune.buffers.limit", TuneArg::Integer),
    ("tune.buffers.reserve", TuneArg::Integer),
    (
        "tune.bufsize",
        at_least(1, "expects a positive integer argument."),
    ),
    ("tune.chksize", TuneArg::Removed("tune.bufsize")),
    (
        "tune.comp.maxlevel",
        range(1, 9, "expects a numeric value between 1 and 9"),
    ),
    (
        "tune.fail-alloc",
        TuneArg::Int {
            missing: None,
            min: 0,
            max: 100,
            wide: false,
            bad: "expects a numeric value between 0 and 100.",
        },
    ),
    ("tune.fd.edge-triggered", TuneArg::ExperimentalOnOff),
    ("tune.h2.initial-window-size", H2_POSITIVE),
    ("tune.h2.max-concurrent-streams", H2_POSITIVE),
    (
        "tune.h2.header-table-size",
        range(
            4096,
            65536,
            "expects a numeric value between 4096 and 65536.",
        ),
    ),
    (
        "tune.h2.max-frame-size",
        range(
            16384,
            16777215,
            "expects a numeric value between 16384 and 16777215.",
        ),
    ),
    ("tune.http.cookielen", TuneArg::Integer),
    ("tune.http.logurilen", TuneArg::Integer),
    (
        "tune.http.maxhdr",
        TuneArg::Int {
            missing: Some("expects an integer argument."),
            min: 1,
            max: 32767,
            wide: false,
            bad: "expects a numeric value between 1 and 32767",
        },
    ),
    ("tune.idle-pool.shared", TuneArg::OnOff),
    ("tune.idletimer", TuneArg::IdleTimer),
    ("tune.listener.multi-queue", TuneArg::OnOff),
    ("tune.lua.forced-yield", TuneArg::Number),
    (
        "tune.lua.maxmem",
        TuneArg::NumberAt("expects an integer argument (Lua memory size in MB)."),
    ),
    ("tune.lua.service-timeout", TuneArg::LuaTimeout),
    ("tune.lua.session-timeout", TuneArg::LuaTimeout),
    ("tune.lua.task-timeout", TuneArg::LuaTimeout),
    (
        "tune.maxaccept",
        TuneArg::Int {
            missing: Some("expects an integer argument."),
            // haproxy 2.6 has the lower bound commented out: -5 passes.
            min: i64::MIN,
            max: i32::MAX as i64,
            wide: true,
            bad: "expects -1 or an integer from 0 to INT_MAX.",
        },
    ),
    ("tune.maxpollevents", TuneArg::Integer),
    (
        "tune.maxrewrite",
        at_least(0, "expects a positive integer argument."),
    ),
    (
        "tune.pattern.cache-size",
        range(0, i64::MAX, "expects a positive numeric value"),
    ),
    (
        "tune.peers.max-updates-at-once",
        range(1, i64::MAX, "expects an integer argument greater than 0."),
    ),
    ("tune.pipesize", TuneArg::Integer),
    (
        "tune.pool-high-fd-ratio",
        range(0, 100, "expects an integer argument between 0 and 100."),
    ),
    (
        "tune.pool-low-fd-ratio",
        range(0, 100, "expects an integer argument between 0 and 100."),
    ),
    ("tune.rcvbuf.client", TuneArg::Integer),
    ("tune.rcvbuf.server", TuneArg::Integer),
    ("tune.recv_enough", TuneArg::Integer),
    ("tune.runqueue-depth", TuneArg::Integer),
    ("tune.sched.low-latency", TuneArg::OnOff),
    ("tune.sndbuf.client", TuneArg::Integer),
    ("tune.sndbuf.server", TuneArg::Integer),
    (
        "tune.ssl.cachesize",
        at_least(0, "expects a positive numeric value."),
    ),
    (
        "tune.ssl.capture-buffer-size",
        at_least(0, "expects a positive numeric value."),
    ),
    (
        "tune.ssl.capture-cipherlist-size",
        TuneArg::Deprecated("tune.ssl.capture-buffer-size"),
    ),
    (
        "tune.ssl.hard-maxrecord",
        at_least(0, "expects a positive numeric value."),
    ),
    ("tune.ssl.force-private-cache", TuneArg::Flag),
    ("tune.ssl.keylog", TuneArg::OnOff),
    ("tune.ssl.lifetime", TuneArg::SslLifetime),
    (
        "tune.ssl.maxrecord",
        at_least(0, "expects a positive numeric value."),
    ),
    (
        "tune.ssl.ssl-ctx-cache-size",
        at_least(0, "expects a positive numeric value."),
    ),
    ("tune.vars.check-max-size", TuneArg::VarsSize),
    ("tune.vars.global-max-size", TuneArg::VarsSize),
    ("tune.vars.proc-max-size", TuneArg::VarsSize),
    ("tune.vars.reqres-max-size", TuneArg::VarsSize),
    ("tune.vars.sess-max-size", TuneArg::VarsSize),
    ("tune.vars.txn-max-size", TuneArg::VarsSize),
];

/// `tune.*` keywords haproxy 2.6 reads without refusing extra words after the value (all
/// others stop at "cannot handle unexpected argument").
pub const TUNE_ANY_ARGS: &[&str] = &[
    "tune.chksize",
    "tune.lua.forced-yield",
    "tune.lua.maxmem",
    "tune.lua.service-timeout",
    "tune.lua.session-timeout",
    "tune.lua.task-timeout",
    "tune.pattern.cache-size",
    "tune.vars.check-max-size",
    "tune.vars.global-max-size",
    "tune.vars.proc-max-size",
    "tune.vars.reqres-max-size",
    "tune.vars.sess-max-size",
    "tune.vars.txn-max-size",
];

/// Proxy keywords (defaults, frontend, backend, listen).
pub const PROXY: &[Keyword] = &[
    kw("bind", FE, Supported, "<addr>[,...] [param*]", ""),
    kw(
        "mode",
        ALL,
        Supported,
        "tcp|http",
        "`http`: HTTP/1.0 and 1.1 transactions (grammar/http.md); a TCP frontend reaching an HTTP backend upgrades its stream, as haproxy does",
    ),
    kw(
        "balance",
        DBE,
        Supported,
        "roundrobin|static-rr|leastconn|first|source|random[(<draws>)]|hash <expr>|uri [len <n>] [depth <n>] [whole] [path-only]|url_param <name> [check_post]|hdr(<name>) [use_domain_only]",
        "`hash` on `src`, `req.payload` and MQTT CONNECT fields; `uri`, `url_param` and `hdr` per HTTP request (round robin in TCP mode, with haproxy's warning); `rdp-cookie` rejected",
    ),
    kw("option", ALL, Supported, "<option>", "see the option table"),
    kw(
        "no",
        ALL,
        Supported,
        "option <option> | log",
        "prefix; also on the global flags listed with it",
    ),
    kw(
        "default",
        ALL,
        Supported,
        "option <option> | log",
        "prefix: the defaults section's setting",
    ),
    kw(
        "timeout",
        ALL,
        Supported,
        "connect|client|server|check|queue|tunnel|client-fin|server-fin|http-request|http-keep-alive|tarpit <time>",
        "the `http-*` ones and `tarpit` only act in HTTP mode; in TCP mode the first of client/server to strike only half-closes, as haproxy's",
    ),
    kw("retries", DBE, Supported, "<n>", ""),
    kw("maxconn", DFE, Supported, "<n>", ""),
    kw(
        "fullconn",
        DBE,
        Supported,
        "<n>",
        "the backend's `slim` in show stat (default: a tenth of the maxconn of the frontends reaching it); nothing else uses it without minconn",
    ),
    kw("backlog", DFE, Supported, "<n>", ""),
    kw(
        "log",
        ALL,
        Supported,
        "global | <target> [len <n>] [format <f>] [sample <ranges>:<size>] <facility> [<level> [<minlevel>]] | disable",
        "",
    ),
    kw("default_backend", DFE, Supported, "<backend>", ""),
    kw(
        "use_backend",
        FE,
        Supported,
        "<backend>|<log-format> [if|unless <cond>]",
        "a name with `%[…]` is rendered per session; no backend of that name leaves the default",
    ),
    kw(
        "server",
        BE,
        Supported,
        "<name> <addr>[:<port>] [param*]",
        "",
    ),
    kw("default-server", DBE, Supported, "[param*]", ""),
    kw(
        "source",
        DBE,
        Supported,
        "<addr>[:<port>] [usesrc <addr>[:<port>]|client|clientip|hdr_ip(<hdr>[,<occ>])] [interface <name>]",
        "",
    ),
    kw("usesrc", DFE | BE, Supported, "", "only after `source` (an error alone, as in haproxy)"),
    kw(
        "tcp-check",
        DBE,
        Supported,
        "connect|send|send-binary|expect|comment ...",
        "connect only as the first rule (port, send-proxy, ssl, linger, default); expect takes min-recv, ok-status, error-status, tout-status, comment, status-code res.payload(o,l) and fixed on-success/on-error texts; connect addr/sni/alpn, send-lf, string-lf, log-format texts, L7OKC and set-var rejected",
    ),
    kw(
        "http-check",
        DBE,
        Supported,
        "connect [port <p>] [ssl] [send-proxy] [linger] [default]|send|expect ...",
        "for `option httpchk` on TCP backends; connect only first (its `ssl` runs the checks over TLS with the server's TLS settings, as the Kubernetes recipe asks); connect addr/sni/alpn/via-socks4 rejected",
    ),
    kw(
        "errorfile",
        ALL,
        Supported,
        "<code> <file>",
        "HTTP mode: the page answers for 500/502/503/504 (haproxy 2.6 sends its built-in 400 and 408 whatever the file)",
    ),
    kw(
        "description",
        PRX,
        Ignored,
        "<text>",
        "haproxy shows it on its HTML statistics page only",
    ),
    kw("id", ALL, Supported, "<number>", "not in defaults"),
    kw(
        "disabled",
        ALL,
        Supported,
        "",
        "not listening, no checks, no server chosen (NOSRV); left out of `show stat`",
    ),
    kw(
        "enabled",
        ALL,
        Supported,
        "",
        "undoes a `disabled` taken from the defaults section",
    ),
    kw(
        "acl",
        PRX | DEF,
        Supported,
        "<name> <criterion> [flags] [operator] <value> ...",
        "the fetches, converters and matching methods grammar/acl.md lists",
    ),
    kw(
        "tcp-request",
        PRX | DEF,
        Supported,
        "inspect-delay <time> | content|connection|session accept|reject|set-var(<v>) <expr>|set-var-fmt(<v>) <fmt>|unset-var(<v>)|track-sc<n> <key> [table <t>]|sc-inc-gpc0|1(<n>)|sc-inc-gpc(<i>,<n>)|sc-set-gpt0(<n>)|sc-set-gpt(<i>,<n>) <value>|set-log-level <level>|silent [if|unless <cond>]",
        "conditions grammar/acl.md lists; content rules in HTTP mode run on each request; connection rules at accept (reject: reset, no log), session rules after the PROXY header and TLS; stick counters grammar/acl.md; other actions refused by name",
    ),
    kw(
        "tcp-response",
        PRX | DEF,
        Supported,
        "inspect-delay <time> | content accept|reject|close|set-var(<v>) <expr>|set-var-fmt(<v>) <fmt>|unset-var(<v>)|sc-inc-gpc0|1(<n>)|sc-inc-gpc(<i>,<n>)|sc-set-gpt0(<n>)|sc-set-gpt(<i>,<n>) <value>|set-log-level <level>|silent [if|unless <cond>]",
        "TCP mode only (refused in an HTTP backend); the server's first bytes held until the rules decide, from the server connection on; res.len, res.payload; reject closes both sides (PD), close resets the server and ends normally; other actions refused by name",
    ),
    kw(
        "http-request",
        PRX | DEF,
        Supported,
        "allow|deny|tarpit [deny_status <code>]|auth [realm <r>]|return ...|redirect ...|set-header|add-header <name> <fmt>|del-header <name>|replace-header|replace-value <name> <regex> <fmt>|set-path|replace-path ...|set-var(<v>[,<cond>]) <expr>|set-var-fmt(<v>) <fmt>|unset-var(<v>)|track-sc<n> <key> [table <t>]|sc-inc-gpc*|sc-set-gpt*|capture <sample> len|id <n>|set-log-level <level>|silent|disable-l7-retry [if|unless <cond>]",
        "other actions refused by name; not in anonymous defaults",
    ),
    kw(
        "http-response",
        PRX | DEF,
        Supported,
        "allow|deny [deny_status <code>]|return [status <code>] [content-type <t>] [string|lf-string|file|lf-file|errorfile <x>|default-errorfiles] [hdr <n> <fmt>]*|set-header|add-header <name> <fmt>|del-header <name>|replace-header|replace-value <name> <regex> <fmt>|set-status <code> [reason <text>]|set-var(<v>[,<cond>]) <expr>|set-var-fmt(<v>) <fmt>|unset-var(<v>)|track-sc<n> <key> [table <t>]|sc-inc-gpc*|sc-set-gpt*|capture <sample> id <n>|set-log-level <level>|silent [if|unless <cond>]",
        "other actions refused by name; not in anonymous defaults",
    ),
    kw(
        "http-after-response",
        PRX | DEF,
        Supported,
        "allow|set-header|add-header <name> <fmt>|del-header <name>|replace-header|replace-value <name> <regex> <fmt>|set-status <code> [reason <text>]|set-var(<v>[,<cond>]) <expr>|set-var-fmt(<v>) <fmt>|unset-var(<v>)|capture <sample> id <n> [if|unless <cond>]",
        "HTTP mode: after the response rules and cookies, and on haproxy's own answers (deny, return, redirect, errors) but those the HTTP layer sends (400, 408 …); backend's then frontend's; strict-mode refused by name; not in anonymous defaults",
    ),
    kw("http-reuse", DBE, Supported, "never|safe|aggressive|always", "HTTP mode: which requests may take an idle server connection"),
    kw(
        "http-send-name-header",
        DBE,
        Supported,
        "<header>",
        "HTTP mode: the chosen server's name, same-named request headers dropped",
    ),
    kw(
        "http-error",
        ALL,
        Supported,
        "status <code> [content-type <type>] [string|lf-string|file|lf-file|errorfile|errorfiles <x>|default-errorfiles] [hdr <name> <fmt>]…",
        "HTTP mode: the page haproxy answers for that status, ordered with errorfile and errorfiles lines",
    ),
    kw("errorfiles", ALL, Supported, "<name> [<code> …]", "HTTP mode: the pages of an http-errors section"),
    kw("errorloc", ALL, Supported, "<code> <url>", "HTTP mode: a 302 to <url> instead of haproxy's answer <code>"),
    kw("errorloc302", ALL, Supported, "<code> <url>", "HTTP mode: a 302 to <url> instead of haproxy's answer <code>"),
    kw("errorloc303", ALL, Supported, "<code> <url>", "HTTP mode: a 303 to <url> instead of haproxy's answer <code>"),
    kw(
        "redirect",
        PRX,
        Supported,
        "location|prefix|scheme <to> [code <c>] [drop-query] [append-slash] [set-cookie|clear-cookie <c>] [if|unless <cond>]",
        "",
    ),
    kw(
        "monitor-uri",
        DFE,
        Supported,
        "<uri>",
        "HTTP mode: answered 200 (503 under monitor fail), not logged",
    ),
    kw("monitor", FE, Supported, "fail if|unless <cond>", "HTTP mode"),
    kw(
        "stats",
        ALL,
        Supported,
        "enable|uri|realm|auth|refresh|hide-version|show-node|show-legends|admin if <cond>|http-request allow|deny|auth",
        "the statistics page, served by a `mode http` frontend/listen that has nothing else (no servers, no backend, no TLS); ignored with a warning on TCP proxies, as HAProxy does; `admin` runs ready/drain/maint/disable/enable/stop/start; `scope` refused",
    ),
    kw(
        "capture",
        DFE,
        Supported,
        "request header <name> len <n>|response header <name> len <n>|cookie <name> len <n>",
        "logged in %hr/%hs/%hrl/%hsl and %CC/%CS (grammar/http.md)",
    ),
    kw(
        "cookie",
        DBE,
        Supported,
        "<name> [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve] [httponly] [secure] [domain <d>]* [maxidle <t>] [maxlife <t>] [attr <v>]*",
        "HTTP persistence (grammar/http.md); `dynamic` rejected; ignored with haproxy's warning in TCP mode",
    ),
    kw(
        "dynamic-cookie-key",
        DBE,
        Unsupported,
        "<key>",
        "HTTP persistence",
    ),
    kw(
        "compression",
        ALL,
        Supported,
        "algo <algo> ... | type <type> ... | offload",
        "HTTP responses compressed with identity, deflate, raw-deflate and gzip as haproxy chooses them (grammar/http.md); the compressed bytes are flate2's, not libslz's",
    ),
    kw("filter", PRX, Unsupported, "<name> ...", "filters"),
    kw(
        "stick-table",
        PRX,
        Supported,
        "type ip|ipv6|integer|string [len <n>]|binary [len <n>] size <size> [expire <time>] [nopurge] [peers <section>] [store <type>[(<args>)],...]",
        "every 2.6 `store` type but the byte counters (`bytes_in_*`, `bytes_out_*`: refused by name); `peers` replicates it (see `peers`); `srvkey`, `write-to`, `recv-only` refused",
    ),
    kw(
        "stick",
        BE,
        Supported,
        "on|match|store[-request]|store-response <sample> [table <name>] [if|unless <cond>]",
        "any sample and condition of grammar/acl.md; TCP sessions and each HTTP request (a cookie's server first); `store-response` in HTTP backends (refused in TCP ones)",
    ),
    kw(
        "use-server",
        BE,
        Supported,
        "<server>|<log-format> if|unless <cond>",
        "before cookie and stick persistence; a server that is down is skipped unless persistence is forced; a `%[…]` name no server has ends the rules",
    ),
    kw(
        "force-persist",
        BE,
        Supported,
        "if|unless <cond>",
        "the cookie's, use-server's or stick rule's server is used while down or in maintenance, never redispatched",
    ),
    kw(
        "ignore-persist",
        BE,
        Supported,
        "if|unless <cond>",
        "the persistence cookie neither chooses the server nor is set",
    ),
    kw("persist", DBE, Unsupported, "rdp-cookie", ""),
    kw(
        "hash-type",
        DBE,
        Supported,
        "map-based|consistent [sdbm|djb2|wt6|crc32 [avalanche]]",
        "",
    ),
    kw(
        "hash-balance-factor",
        DBE,
        Supported,
        "<factor>",
        "bounded loads on the consistent-hash ring (`hash-type consistent`, `random`)",
    ),
    kw(
        "server-template",
        BE,
        Supported,
        "<prefix> <num>|<low>-<high> <addr>[:<port>] [param*]",
        "names resolved once at start, as `server` does",
    ),
    kw(
        "email-alert",
        ALL,
        Unsupported,
        "from|to|mailers|level|myhostname ...",
        "mailers",
    ),
    kw(
        "load-server-state-from-file",
        DBE,
        Supported,
        "global|local|none",
        "",
    ),
    kw(
        "server-state-file-name",
        DBE,
        Supported,
        "[<file>|use-backend-name]",
        "",
    ),
    kw(
        "max-session-srv-conns",
        DFE,
        Supported,
        "<n>",
        "HTTP mode: idle session-private server connections (`http-reuse never`, PROXY-header servers, NTLM) a client connection keeps (5); a further one is closed",
    ),
    kw(
        "max-keep-alive-queue",
        DBE,
        Supported,
        "<n>",
        "HTTP mode: under `option prefer-last-server`, the preferred server's queue length (-1: no limit) from which the algorithm chooses instead",
    ),
    kw(
        "log-format",
        ALL,
        Supported,
        "<format>",
        "every variable of the mode; %[sample,converters] of what a line can read (no request or response contents, as haproxy); ignored in backends as in haproxy",
    ),
    kw(
        "log-format-sd",
        ALL,
        Supported,
        "<format>",
        "the structured data of `format rfc5424` targets' traffic lines (others ignore it); ignored in backends as in haproxy",
    ),
    kw(
        "error-log-format",
        DFE,
        Unsupported,
        "<format>",
        "custom log formats",
    ),
    kw("log-tag", ALL, Supported, "<tag>", ""),
    kw(
        "unique-id-format",
        ALL,
        Supported,
        "<format>",
        "rendered for %ID; unused in backends as in haproxy",
    ),
    kw(
        "unique-id-header",
        ALL,
        Supported,
        "<name>",
        "the unique id sent to the server in this request header (HTTP); unused in backends as in haproxy",
    ),
    kw(
        "declare",
        PRX,
        Supported,
        "capture request|response len <n>",
        "a capture slot `http-request|http-response capture … id <n>` fills, logged in %hr/%hs",
    ),
    kw(
        "rate-limit",
        DFE | BE,
        Supported,
        "sessions <rate>",
        "frontends only (haproxy's own warning elsewhere); accepts paused while over",
    ),
    kw(
        "retry-on",
        ALL,
        Supported,
        "<conditions>",
        "conn-failure, none, and in HTTP backends the response conditions (empty-response, junk-response, response-timeout, the statuses, all-retryable-errors; 0rtt-rejected never happens, no early data being sent): a request whole in the buffer is sent again, body included, within `retries`, redispatched as `option redispatch` says; chunked requests are not retried",
    ),
    kw(
        "external-check",
        DBE,
        Unsupported,
        "command|path ...",
        "external checks",
    ),
    kw("use-fcgi-app", DBE, Unsupported, "<name>", "FastCGI"),
    kw(
        "clitcpka-cnt",
        ALL,
        Supported,
        "<n>",
        "TCP_KEEPCNT on client connections under `option clitcpka` (or `tcpka`)",
    ),
    kw(
        "clitcpka-idle",
        ALL,
        Supported,
        "<time>",
        "TCP_KEEPIDLE on client connections under `option clitcpka` (or `tcpka`)",
    ),
    kw(
        "clitcpka-intvl",
        ALL,
        Supported,
        "<time>",
        "TCP_KEEPINTVL on client connections under `option clitcpka` (or `tcpka`)",
    ),
    kw(
        "srvtcpka-cnt",
        ALL,
        Supported,
        "<n>",
        "TCP_KEEPCNT on server connections under `option srvtcpka` (or `tcpka`)",
    ),
    kw(
        "srvtcpka-idle",
        ALL,
        Supported,
        "<time>",
        "TCP_KEEPIDLE on server connections under `option srvtcpka` (or `tcpka`)",
    ),
    kw(
        "srvtcpka-intvl",
        ALL,
        Supported,
        "<time>",
        "TCP_KEEPINTVL on server connections under `option srvtcpka` (or `tcpka`)",
    ),
    kw("dispatch", BE, Unsupported, "<addr>:<port>", "legacy"),
    kw("redispatch", ALL, Removed, "", "use 'option redispatch'"),
    kw("contimeout", ALL, Removed, "", "use 'timeout connect'"),
    kw("clitimeout", ALL, Removed, "", "use 'timeout client'"),
    kw("srvtimeout", ALL, Removed, "", "use 'timeout server'"),
];

/// `option` names (also usable with `no option`).
pub const OPTIONS: &[Keyword] = &[
    kw("tcplog", DFE, Supported, "", ""),
    kw(
        "httplog",
        DFE,
        Supported,
        "[clf]",
        "the httplog (or CLF) line of each HTTP request; falls back to tcplog on TCP frontends, as HAProxy",
    ),
    kw(
        "httpslog",
        DFE,
        Supported,
        "",
        "httplog followed by the connection's and TLS's error codes, resumption, SNI, %sslv and %sslc; falls back to tcplog on TCP frontends, as HAProxy",
    ),
    kw("dontlognull", DFE, Supported, "", ""),
    kw("redispatch", DBE, Supported, "[<interval>]", ""),
    kw("tcp-check", DBE, Supported, "", ""),
    kw(
        "httpchk",
        DBE,
        Supported,
        "[<method>] [<uri>] [<version>]",
        "",
    ),
    kw("tcpka", ALL, Supported, "", ""),
    kw("clitcpka", DFE, Supported, "", ""),
    kw("srvtcpka", DBE, Supported, "", ""),
    kw("log-health-checks", DBE, Supported, "", ""),
    kw("allbackups", DBE, Supported, "", ""),
    kw(
        "splice-auto",
        ALL,
        Ignored,
        "",
        "forwarding strategy is haproxide's own",
    ),
    kw(
        "splice-request",
        ALL,
        Ignored,
        "",
        "forwarding strategy is haproxide's own",
    ),
    kw(
        "splice-response",
        ALL,
        Ignored,
        "",
        "forwarding strategy is haproxide's own",
    ),
    kw("tcp-smart-accept", DFE, Ignored, "", ""),
    kw("tcp-smart-connect", DBE, Ignored, "", ""),
    kw("contstats", DFE, Ignored, "", ""),
    kw("socket-stats", DFE, Ignored, "", ""),
    kw(
        "nolinger",
        ALL,
        Supported,
        "",
        "TCP mode: a backend's resets the server instead of passing the client's end (the session ends), a frontend's resets a client that closed first; refused where HTTP traffic would meet it",
    ),
    kw(
        "abortonclose",
        DBE,
        Supported,
        "",
        "a TCP session whose client closes while queued leaves the queue (CQ); an HTTP request complete before the close is served, as in haproxy 2.6",
    ),
    kw("independent-streams", ALL, Unsupported, "", ""),
    kw(
        "dontlog-normal",
        DFE,
        Supported,
        "",
        "no line for a session or request without error, retry, redispatch or (HTTP) a 5xx status",
    ),
    kw(
        "log-separate-errors",
        DFE,
        Supported,
        "",
        "lines of sessions with an error (as dontlog-normal counts them) and connection errors at level err",
    ),
    kw(
        "logasap",
        DFE,
        Supported,
        "",
        "TCP: the line once the server connection is up; HTTP: once the response head is in; %Tt %Ta %Tu %B marked +",
    ),
    kw(
        "persist",
        DBE,
        Supported,
        "",
        "a server named by a cookie, use-server or stick rule takes the session while down (redispatch still applies)",
    ),
    kw("transparent", DBE, Unsupported, "", ""),
    kw(
        "forwardfor",
        ALL,
        Supported,
        "[except <net>] [header <name>] [if-none]",
        "HTTP mode: the client's address appended to each request; ignored with haproxy's warning in TCP mode",
    ),
    kw(
        "http-server-close",
        ALL,
        Supported,
        "",
        "HTTP mode: the server connection closes after each response",
    ),
    kw(
        "http-keep-alive",
        ALL,
        Supported,
        "",
        "HTTP mode: both connections kept (the default)",
    ),
    kw(
        "httpclose",
        ALL,
        Supported,
        "",
        "HTTP mode: both connections close after each response",
    ),
    kw(
        "http-pretend-keepalive",
        DBE,
        Supported,
        "",
        "HTTP backends: a request to a server never says `connection: close` (HTTP/1.0 ones say keep-alive), whatever the connection mode",
    ),
    kw(
        "http-no-delay",
        ALL,
        Supported,
        "",
        "what haproxide always does: it sends what it has at once (no MSG_MORE, TCP_NODELAY on)",
    ),
    kw(
        "http-buffer-request",
        ALL,
        Supported,
        "",
        "HTTP only: the body waited for (whole, or a full buffer) before the rules, 100-continue answered",
    ),
    kw(
        "http-ignore-probes",
        DFE,
        Supported,
        "",
        "HTTP mode: a connection that sends nothing closes without a 400/408 or a log line",
    ),
    kw("http-use-proxy-header", DFE, Ignored, "", "HTTP only"),
    kw("http-use-htx", ALL, Ignored, "", "HTTP only"),
    kw("accept-invalid-http-request", DFE, Ignored, "", "HTTP only"),
    kw(
        "accept-invalid-http-response",
        DBE,
        Ignored,
        "",
        "HTTP only",
    ),
    kw("checkcache", DBE, Ignored, "", "HTTP only"),
    kw("disable-h2-upgrade", DFE, Supported, "", "HTTP mode: the HTTP/2 preface on an HTTP/1 connection is a PRI request, refused with haproxy's 400 (haproxide never upgrades; without the option haproxy would speak HTTP/2 there, which haproxide does not yet)"),
    kw("h1-case-adjust-bogus-client", DFE, Supported, "", "HTTP mode: h1-case-adjust applied to what the frontend sends clients"),
    kw("h1-case-adjust-bogus-server", DBE, Supported, "", "HTTP mode: h1-case-adjust applied to what the backend sends servers"),
    kw("idle-close-on-response", DFE, Ignored, "", "HTTP only"),
    kw("prefer-last-server", DBE, Supported, "", "HTTP mode, non-hash algorithms: a later request goes to a server of the backend the session still holds a private idle connection to (`http-reuse never`, PROXY-header servers); a 401/407 NTLM or Negotiate answer does the same for its connection"),
    kw(
        "originalto",
        ALL,
        Supported,
        "[except <net>] [header <name>]",
        "HTTP mode: the address the client reached added to each request; ignored with haproxy's warning in TCP mode",
    ),
    kw("http_proxy", ALL, Ignored, "", "HTTP only"),
    kw(
        "ssl-hello-chk",
        DBE,
        Supported,
        "",
        "haproxy's SSLv3 CLIENT HELLO; a TLS handshake or alert record (0x15, 0x16) expected",
    ),
    kw(
        "smtpchk",
        DBE,
        Supported,
        "[HELO|EHLO <domain>]",
        "haproxy's SMTP ruleset: banner, HELO/EHLO, QUIT, each answer 2xx; closes with a FIN",
    ),
    kw(
        "mysql-check",
        DBE,
        Supported,
        "[user <name> [post-41|pre-41]]",
        "haproxy's MySQL ruleset: the greeting read; with a user, a login and COM_QUIT sent and the answer read; closes with a FIN",
    ),
    kw(
        "pgsql-check",
        DBE,
        Supported,
        "user <name>",
        "haproxy's PostgreSQL ruleset: a startup packet, then an authentication request expected",
    ),
    kw(
        "redis-check",
        DBE,
        Supported,
        "",
        "haproxy's Redis ruleset: PING, +PONG expected",
    ),
    kw(
        "ldap-check",
        DBE,
        Supported,
        "",
        "haproxy's LDAPv3 anonymous bind; resultCode 0 expected",
    ),
    kw(
        "spop-check",
        DBE,
        Supported,
        "",
        "haproxy's SPOE HAPROXY-HELLO health-check frame; an AGENT-HELLO with version 2.0 expected",
    ),
    kw("external-check", DBE, Unsupported, "", "check kind"),
];

/// `bind` parameters.
pub const BIND: &[Keyword] = &[
    kw("accept-proxy", 0, Supported, "", ""),
    kw("backlog", 0, Supported, "<n>", ""),
    kw("maxconn", 0, Supported, "<n>", ""),
    kw(
        "defer-accept",
        0,
        Supported,
        "",
        "TCP_DEFER_ACCEPT of one second, as haproxy",
    ),
    kw("tcp-ut", 0, Supported, "<time>", ""),
    kw("transparent", 0, Supported, "", ""),
    kw("v4v6", 0, Supported, "", ""),
    kw("v6only", 0, Supported, "", ""),
    kw("name", 0, Supported, "<name>", ""),
    kw("id", 0, Ignored, "<n>", "listener id only shows in stats"),
    kw("mode", 0, Supported, "<octal>", "unix sockets"),
    kw("user", 0, Supported, "<name>", "unix sockets"),
    kw("group", 0, Supported, "<name>", "unix sockets"),
    kw("uid", 0, Supported, "<n>", "unix sockets"),
    kw("gid", 0, Supported, "<n>", "unix sockets"),
    kw("level", 0, Supported, "user|operator|admin", "stats socket"),
    kw(
        "expose-fd",
        0,
        Supported,
        "listeners",
        "stats socket: `_getsocks` hands the listeners to a new process's `-x`",
    ),
    kw(
        "severity-output",
        0,
        Ignored,
        "none|number|string",
        "stats socket",
    ),
    kw("nice", 0, Ignored, "<n>", ""),
    kw("process", 0, Ignored, "<set>", "threads are not pinned"),
    kw("thread", 0, Ignored, "<set>", "threads are not pinned"),
    kw("shards", 0, Ignored, "<n>|by-thread", ""),
    kw("interface", 0, Supported, "<name>", "SO_BINDTODEVICE"),
    kw("namespace", 0, Unsupported, "<name>", ""),
    kw("mss", 0, Supported, "<n>", "a positive MSS is advertised (TCP_MAXSEG); a negative one is accepted and, as in haproxy 2.6, has no effect"),
    kw(
        "tfo",
        0,
        Supported,
        "",
        "TCP_FASTOPEN on the listener, queue as long as the backlog (the kernel's net.ipv4.tcp_fastopen decides whether it serves)",
    ),
    kw("proto", 0, Unsupported, "<name>", ""),
    kw("accept-netscaler-cip", 0, Unsupported, "<magic>", ""),
    kw("ssl", 0, Supported, "", ""),
    kw("crt", 0, Supported, "<file|dir>", ""),
    kw(
        "crt-list",
        0,
        Unsupported,
        "<file>",
        "per-line SSL options and SNI filters; use crt with a file or directory",
    ),
    kw("ca-file", 0, Supported, "<file>", ""),
    kw("crl-file", 0, Supported, "<file>", ""),
    kw("verify", 0, Supported, "none|optional|required", ""),
    kw("no-sslv3", 0, Supported, "", ""),
    kw("no-tlsv10", 0, Supported, "", ""),
    kw("no-tlsv11", 0, Supported, "", ""),
    kw("no-tlsv12", 0, Supported, "", ""),
    kw("no-tlsv13", 0, Supported, "", ""),
    kw("force-sslv3", 0, Unsupported, "", "rustls has no SSLv3"),
    kw("force-tlsv10", 0, Unsupported, "", "rustls has no TLS 1.0"),
    kw("force-tlsv11", 0, Unsupported, "", "rustls has no TLS 1.1"),
    kw("force-tlsv12", 0, Supported, "", ""),
    kw("force-tlsv13", 0, Supported, "", ""),
    kw(
        "ssl-min-ver",
        0,
        Supported,
        "SSLv3|TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3",
        "",
    ),
    kw(
        "ssl-max-ver",
        0,
        Supported,
        "SSLv3|TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3",
        "",
    ),
    kw("ciphers", 0, Supported, "<list>", ""),
    kw("ciphersuites", 0, Supported, "<list>", ""),
    kw(
        "curves",
        0,
        Ignored,
        "<list>",
        "X25519, P-256 and P-384 are always offered, as haproxy offers them by default",
    ),
    kw(
        "ecdhe",
        0,
        Ignored,
        "<curve>",
        "X25519, P-256 and P-384 are always offered, as haproxy offers them by default",
    ),
    kw("alpn", 0, Supported, "<protocols>", ""),
    kw("npn", 0, Unsupported, "<protocols>", "NPN is obsolete"),
    kw("no-tls-tickets", 0, Supported, "", ""),
    kw("strict-sni", 0, Supported, "", ""),
    kw("prefer-client-ciphers", 0, Supported, "", ""),
    kw("no-ca-names", 0, Ignored, "", ""),
    kw("allow-0rtt", 0, Unsupported, "", ""),
    kw("ca-ignore-err", 0, Unsupported, "<errors>", ""),
    kw("crt-ignore-err", 0, Unsupported, "<errors>", ""),
    kw("ca-sign-file", 0, Unsupported, "<file>", ""),
    kw("ca-sign-pass", 0, Unsupported, "<pass>", ""),
    kw("ca-verify-file", 0, Unsupported, "<file>", ""),
    kw("generate-certificates", 0, Unsupported, "", ""),
    kw("tls-ticket-keys", 0, Unsupported, "<file>", ""),
];

/// `server` and `default-server` parameters.
pub const SERVER: &[Keyword] = &[
    kw("check", 0, Supported, "", ""),
    kw("no-check", 0, Supported, "", ""),
    kw("inter", 0, Supported, "<time>", ""),
    kw("fastinter", 0, Supported, "<time>", ""),
    kw("downinter", 0, Supported, "<time>", ""),
    kw("fall", 0, Supported, "<n>", ""),
    kw("rise", 0, Supported, "<n>", ""),
    kw("port", 0, Supported, "<port>", ""),
    kw("addr", 0, Supported, "<ip>", ""),
    kw("check-send-proxy", 0, Supported, "", ""),
    kw("no-check-send-proxy", 0, Supported, "", ""),
    kw("send-proxy", 0, Supported, "", ""),
    kw("no-send-proxy", 0, Supported, "", ""),
    kw("send-proxy-v2", 0, Supported, "", ""),
    kw("no-send-proxy-v2", 0, Supported, "", ""),
    kw("send-proxy-v2-ssl", 0, Supported, "", ""),
    kw("no-send-proxy-v2-ssl", 0, Supported, "", ""),
    kw("send-proxy-v2-ssl-cn", 0, Supported, "", ""),
    kw("no-send-proxy-v2-ssl-cn", 0, Supported, "", ""),
    kw(
        "proxy-v2-options",
        0,
        Supported,
        "<opt>[,<opt>]*",
        "every option: ssl, cert-cn, cert-key, cert-sig, ssl-cipher (each SSL sub-TLV brings the SSL TLV), authority (the received header's, else the SNI), crc32c, unique-id (empty without unique-id-format)",
    ),
    kw("weight", 0, Supported, "<0..256>", ""),
    kw("backup", 0, Supported, "", ""),
    kw("no-backup", 0, Supported, "", ""),
    kw("disabled", 0, Supported, "", ""),
    kw("enabled", 0, Supported, "", ""),
    kw("maxconn", 0, Supported, "<n>", ""),
    kw(
        "maxqueue",
        0,
        Supported,
        "<n>",
        "a session finding the chosen server's queue full ends with `SQ`",
    ),
    kw(
        "init-addr",
        0,
        Supported,
        "{last|libc|none|<ip>},...",
        "resolved once at start-up",
    ),
    kw("on-marked-down", 0, Supported, "shutdown-sessions", ""),
    kw("on-marked-up", 0, Supported, "shutdown-backup-sessions", ""),
    kw("source", 0, Supported, "<addr>[:<port>]", ""),
    kw(
        "ssl",
        0,
        Supported,
        "",
        "TLS towards the server (rustls); the PROXY header goes first, in clear",
    ),
    kw("no-ssl", 0, Supported, "", ""),
    kw(
        "verify",
        0,
        Supported,
        "none|required",
        "default from `ssl-server-verify` (required)",
    ),
    kw("ca-file", 0, Supported, "<file>", ""),
    kw(
        "sni",
        0,
        Supported,
        "<expr>",
        "`str(<name>)` only; other expressions refused",
    ),
    kw("crt", 0, Supported, "<file>", ""),
    kw("alpn", 0, Supported, "<protocols>", ""),
    kw(
        "id",
        0,
        Supported,
        "<n>",
        "places the server on a consistent-hash ring; `sid` in the statistics",
    ),
    kw(
        "resolvers",
        0,
        Supported,
        "<id>",
        "IP-address servers only (HAProxy sends them no query); refused on a host name",
    ),
    kw(
        "resolve-prefer",
        0,
        Supported,
        "ipv4|ipv6",
        "only used with `resolvers`",
    ),
    kw(
        "resolve-opts",
        0,
        Supported,
        "<opts>",
        "only used with `resolvers`",
    ),
    kw(
        "resolve-net",
        0,
        Supported,
        "<nets>",
        "only used with `resolvers`",
    ),
    kw(
        "slowstart",
        0,
        Supported,
        "<time>",
        "weight (dynamic algorithms) and maxconn ramp up after a server comes back",
    ),
    kw(
        "agent-check",
        0,
        Supported,
        "",
        "the agent's one-line answer sets health (up, down, stopped, fail), state (ready, drain, maint), weight% and maxconn:N",
    ),
    kw("no-agent-check", 0, Supported, "", ""),
    kw("agent-addr", 0, Supported, "<addr>", ""),
    kw("agent-inter", 0, Supported, "<time>", "default 2s, whatever inter says"),
    kw("agent-port", 0, Supported, "<port>", "required by agent-check"),
    kw("agent-send", 0, Supported, "<string>", ""),
    kw(
        "track",
        0,
        Supported,
        "[<backend>/]<server>",
        "takes the other server's check state (UP/DOWN via it) and inherits its maintenance and drain, in chains and across backends",
    ),
    kw(
        "observe",
        0,
        Supported,
        "none|layer4|layer7",
        "connection results (layer4), HTTP responses (layer7) count as the server's successes and errors (no effect without `check`, as in haproxy)",
    ),
    kw(
        "on-error",
        0,
        Supported,
        "fastinter|fail-check|sudden-death|mark-down",
        "what `error-limit` consecutive errors do; log line reason Health analyze",
    ),
    kw("error-limit", 0, Supported, "<n>", "default 10"),
    kw("minconn", 0, Unsupported, "<n>", ""),
    kw(
        "cookie",
        0,
        Supported,
        "<value>",
        "the value naming the server in the backend's persistence cookie",
    ),
    kw("redir", 0, Unsupported, "<prefix>", "HTTP mode"),
    kw(
        "check-ssl",
        0,
        Supported,
        "",
        "checks handshake TLS with the server's ssl settings, also on a server whose traffic is plain",
    ),
    kw("no-check-ssl", 0, Supported, "", ""),
    kw(
        "check-sni",
        0,
        Supported,
        "<sni>",
        "the name TLS checks send, and verify with `verify required`",
    ),
    kw(
        "check-alpn",
        0,
        Supported,
        "<protocols>",
        "the protocols TLS checks offer instead of `alpn`'s",
    ),
    kw("check-proto", 0, Unsupported, "<name>", ""),
    kw("check-via-socks4", 0, Unsupported, "", ""),
    kw("socks4", 0, Unsupported, "<addr>:<port>", ""),
    kw("namespace", 0, Unsupported, "<name>", ""),
kw(
        "tfo",
        0,
        Supported,
        "",
        "accepted and, as in haproxy 2.6, never used: its condition (data in the response channel at connect) never holds, so no TCP_FASTOPEN_CONNECT",
    ),
    kw("no-tfo", 0, Supported, "", ""),
kw(
        "tcp-ut",
        0,
        Supported,
        "<time>",
        "TCP_USER_TIMEOUT on the server's sockets, traffic and checks; on a default-server checked then dropped, as haproxy 2.6 does",
    ),
    kw(
        "pool-low-conn",
        0,
        Ignored,
        "<n>",
        "HTTP connection pools only",
    ),
    kw(
        "pool-max-conn",
        0,
        Ignored,
        "<n>",
        "HTTP connection pools only",
    ),
    kw(
        "pool-purge-delay",
        0,
        Ignored,
        "<time>",
        "HTTP connection pools only",
    ),
    kw("max-reuse", 0, Ignored, "<n>", "HTTP connection reuse only"),
    kw("proto", 0, Unsupported, "<name>", ""),
    kw("ws", 0, Ignored, "auto|h1|h2", "HTTP only"),
    kw("non-stick", 0, Unsupported, "", "stick tables"),
    kw("stick", 0, Unsupported, "", "stick tables"),
    kw("usesrc", 0, Supported, "<addr>[:<port>]|client|clientip|hdr_ip(<hdr>[,<occ>])", "after `source`; IP_TRANSPARENT"),
    kw(
        "log-proto",
        0,
        Unsupported,
        "legacy|octet-count",
        "log servers",
    ),
    kw("ciphers", 0, Supported, "<list>", ""),
    kw("ciphersuites", 0, Supported, "<list>", ""),
    kw("crl-file", 0, Unsupported, "<file>", ""),
    kw("verifyhost", 0, Supported, "<name>", ""),
    kw("no-ssl-reuse", 0, Ignored, "", ""),
    kw("ssl-reuse", 0, Ignored, "", ""),
    kw("no-tls-tickets", 0, Ignored, "", ""),
    kw("tls-tickets", 0, Ignored, "", ""),
    kw("no-sslv3", 0, Supported, "", ""),
    kw("no-tlsv10", 0, Supported, "", ""),
    kw("no-tlsv11", 0, Supported, "", ""),
    kw("no-tlsv12", 0, Supported, "", ""),
    kw("no-tlsv13", 0, Supported, "", ""),
    kw("force-sslv3", 0, Unsupported, "", "rustls has no SSLv3"),
    kw("force-tlsv10", 0, Unsupported, "", "rustls has no TLS 1.0"),
    kw("force-tlsv11", 0, Unsupported, "", "rustls has no TLS 1.1"),
    kw("force-tlsv12", 0, Supported, "", ""),
    kw("force-tlsv13", 0, Supported, "", ""),
    kw("ssl-min-ver", 0, Supported, "<version>", ""),
    kw("ssl-max-ver", 0, Supported, "<version>", ""),
    kw("allow-0rtt", 0, Unsupported, "", ""),
    kw("npn", 0, Unsupported, "<protocols>", ""),
];

/// Finds `name` in `table`.
pub fn lookup(table: &'static [Keyword], name: &str) -> Option<&'static Keyword> {
    table.iter().find(|k| k.name == name)
}

/// The closest keyword of `table` to a misspelled `word`, if close enough to suggest:
/// haproxy's `cfg_find_best_match`, a distance between letter-pair fingerprints (the
/// first keyword wins a tie; a match further than twice either word's length is none).
pub fn suggest<'a>(candidates: impl Iterator<Item = &'a str>, word: &str) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = distance(word, c);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    (d <= 2 * word.len() && d <= 2 * c.len()).then_some(c)
}

/// haproxy's `word_fingerprint_distance` between two words' fingerprints.
pub fn distance(a: &str, b: &str) -> usize {
    fingerprint(a)
        .iter()
        .zip(fingerprint(b).iter())
        .map(|(x, y)| x.abs_diff(*y) as usize)
        .sum()
}

/// haproxy's `make_word_fingerprint`: counts of each pair of neighbouring character
/// classes (letters, digit, other, with begin and end marks).
fn fingerprint(word: &str) -> Vec<u8> {
    let class = |c: u8| -> usize {
        match c.to_ascii_lowercase() {
            c @ b'a'..=b'z' => (c - b'a' + 1) as usize,
            b'0'..=b'9' => 27,
            _ => 28,
        }
    };
    let mut fp = vec![0u8; 1024];
    let mut from = 28;
    for &c in word.as_bytes() {
        let to = class(c);
        fp[from * 32 + to] = fp[from * 32 + to].saturating_add(1);
        from = to;
    }
    fp[from * 32 + 28] = fp[from * 32 + 28].saturating_add(1);
    fp
}

/// The closest keyword to a misspelled `word` by edit distance (about one edit per
/// four letters): used where haproxide's candidate list is not haproxy's (the global
/// section), so the fingerprint of [`suggest`] would pick keywords haproxy does not have.
pub fn suggest_by_edits<'a>(
    candidates: impl Iterator<Item = &'a str>,
    word: &str,
) -> Option<&'a str> {
    // Allow about one edit per four letters, at least one.
    let limit = (word.len() / 4).max(1);
    let len = word.chars().count();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        // The distance is at least the difference in length: such a candidate can never
        // be suggested, and a long garbage word costs no quadratic work per keyword.
        if len.abs_diff(c.chars().count()) > limit {
            continue;
        }
        if bag_distance(word, c) > limit {
            continue;
        }
        let Some(d) = edit_distance(word, c, limit) else {
            continue;
        };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// A lower bound of the edit distance, in linear time: letters one word has and the other
/// lacks, counted with multiplicity (a swap moves no letter, so it holds for swaps too).
fn bag_distance(a: &str, b: &str) -> usize {
    if !a.is_ascii() || !b.is_ascii() {
        return 0;
    }
    let mut count = [0i32; 128];
    for c in a.bytes() {
        count[c as usize] += 1;
    }
    for c in b.bytes() {
        count[c as usize] -= 1;
    }
    let (more, less) = count.iter().fold((0, 0), |(m, l), &n| {
        if n > 0 {
            (m + n as usize, l)
        } else {
            (m, l + (-n) as usize)
        }
    });
    more.max(less)
}

/// Optimal string alignment distance (a swap of two neighbours counts as one edit,
/// "chekc"), or None once it is sure to exceed `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rolling rows: i-2, i-1 and i.
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    let mut prev_min = 0;
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        // Every later cell comes from these two rows, each plus at least one edit.
        let row_min = cur.iter().copied().min().unwrap_or(0);
        if row_min > limit && prev_min > limit {
            return None;
        }
        prev_min = row_min;
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= limit).then_some(d)
}

/// Renders the whole table as the Markdown of grammar/keywords.md.
pub fn render_markdown() -> String {
    let mut s = String::new();
    s.push_str("# Keyword table\n\n");
    s.push_str("Generated from `src/config/keywords.rs` (`UPDATE_GRAMMAR=1 cargo test keywords_md` rewrites it;\n");
    s.push_str("a test fails when the two differ). Status: **supported**; **ignored (warning)** = accepted,\n");
    s.push_str("no effect here, `-c` prints a WARNING naming it; **rejected (unsupported)** = HAProxy accepts it,\n");
    s.push_str("haproxide does not implement it, `-c` prints an ALERT naming it and exits 1;\n");
    s.push_str(
        "**rejected (removed in HAProxy)** = HAProxy 2.6 refuses it too, with the same message.\n",
    );
    s.push_str("Anything not listed is an unknown keyword, reported as HAProxy reports it.\n");
    let tables: [(&str, &[Keyword], bool); 6] = [
        ("Sections", SECTIONS, false),
        ("global", GLOBAL, false),
        (
            "Proxy keywords (defaults / frontend / backend / listen)",
            PROXY,
            true,
        ),
        ("option", OPTIONS, true),
        ("bind parameters", BIND, false),
        ("server and default-server parameters", SERVER, false),
    ];
    for (title, table, sections) in tables {
        s.push_str(&format!("\n## {title}\n\n"));
        if sections {
            s.push_str(
                "| keyword | sections | arguments | status | notes |\n|---|---|---|---|---|\n",
            );
        } else {
            s.push_str("| keyword | arguments | status | notes |\n|---|---|---|---|\n");
        }
        let mut seen = std::collections::HashSet::new();
        for k in table.iter().filter(|k| seen.insert(k.name)) {
            let args = if k.args.is_empty() {
                String::new()
            } else {
                format!("`{}`", k.args.replace('|', "\\|"))
            };
            let note = k.note.replace('|', "\\|");
            if sections {
                s.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    k.name,
                    caps_word(k.caps),
                    args,
                    k.status.word(),
                    note
                ));
            } else {
                s.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    k.name,
                    args,
                    k.status.word(),
                    note
                ));
            }
        }
    }
    s.push_str(
        "\nIn `global`, the other `tune.*` keywords haproxy 2.6 knows are accepted and ignored with a warning; an unknown `tune.*` word is an ALERT, as in haproxy. haproxy's checks of a missing argument, of numbers out of a keyword's range (read as haproxy reads them: `tune.bufsize 0`, `tune.comp.maxlevel 12`, `tune.maxrewrite -1`), of `on`/`off` words, of `tune.chksize` (removed), `tune.fd.edge-triggered` (experimental) and `tune.ssl.capture-cipherlist-size` (deprecated) are made with its messages. A setting haproxy takes once (`user`/`uid`, `group`/`gid`, `tune.maxaccept`, `tune.maxpollevents`, `tune.rcvbuf.*`, `tune.sndbuf.*`, `tune.runqueue-depth`) given again gets its \"already specified. Continuing.\" ALERT, which leaves the configuration valid, and the later line is skipped; `tune.ssl.capture-buffer-size` twice is refused. Also haproxy's: the time values of `tune.idletimer` (ms, at most 65535), `tune.ssl.lifetime` (seconds) and the `tune.lua.*` timeouts, the whole numbers of `tune.lua.forced-yield`/`tune.lua.maxmem` and of the `tune.vars.*` sizes (no unit), an extra word after the value (refused but for the Lua and vars keywords), and `tune.bufsize` of 256 MB or more, refused after parsing. Not reproduced: haproxy 2.6.12 crashes on `tune.bufsize` values it rounds to a few bytes (`tune.bufsize 1k` reads as 1), refuses its own error pages when `tune.http.maxhdr` is too small for them, and warns of a negative `tune.http.cookielen` about its internal HTTP client; haproxide accepts these lines with its usual warning.\n",
    );
    s
}

fn caps_word(c: u8) -> String {
    let mut v = Vec::new();
    if c & DEF != 0 {
        v.push("defaults");
    }
    if c & FE != 0 {
        v.push("frontend");
    }
    if c & FE != 0 || c & BE != 0 {
        v.push("listen");
    }
    if c & BE != 0 {
        v.push("backend");
    }
    v.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let names = SERVER.iter().map(|k| k.name);
        assert_eq!(suggest(names, "chekc"), Some("check"));
        assert_eq!(
            suggest(SERVER.iter().map(|k| k.name), "check-send-prxy"),
            Some("check-send-proxy")
        );
        assert_eq!(suggest(SERVER.iter().map(|k| k.name), "zzzzzzzz"), None);
    }

    #[test]
    fn pruned_distances_agree_with_the_full_one() {
        // Every word of up to 4 letters over "abc": the bounds never cut a close pair.
        let mut words = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = words
                .iter()
                .filter(|w| w.len() < 4)
                .flat_map(|w| ["a", "b", "c"].map(|c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
            words.sort();
            words.dedup();
        }
        for a in &words {
            for b in &words {
                let full = edit_distance(a, b, usize::MAX).unwrap();
                assert!(bag_distance(a, b) <= full, "{a} {b}");
                for limit in 0..4 {
                    let want = (full <= limit).then_some(full);
                    assert_eq!(edit_distance(a, b, limit), want, "{a} {b} {limit}");
                }
            }
        }
    }

    #[test]
    fn keywords_md() {
        let md = render_markdown();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/keywords.md");
        if std::env::var_os("UPDATE_GRAMMAR").is_some() {
            std::fs::write(path, &md).expect("write keywords.md");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == md,
            "grammar/keywords.md is stale: run UPDATE_GRAMMAR=1 cargo test keywords_md"
        );
    }
}
