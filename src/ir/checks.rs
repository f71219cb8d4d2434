//! Health-check settings: the check kind, tcp-check rulesets (the proxy's own lines or a
//! protocol option's built-in ones) and `option httpchk`.

use super::acl;

/// What a health check does.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CheckKind {
    /// Connect, then close (the default).
    #[default]
    Connect,
    /// `option tcp-check` rules, or the ruleset a protocol check option builds.
    Tcp(TcpChecks),
    /// `option httpchk` with its request and expectation.
    Http(HttpCheck),
}

/// A tcp-check ruleset: the proxy's own `tcp-check` lines, or the one haproxy builds for
/// a protocol check option (`pgsql-check`, `mysql-check`, `smtpchk`, `redis-check`,
/// `ldap-check`, `ssl-hello-chk`, `spop-check`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TcpChecks {
    /// The rules, in order.
    pub rules: Vec<TcpCheckRule>,
    /// Built for a protocol check option: haproxy then writes none of its generic
    /// tcp-check texts ("(tcp-check)", "TCPCHK did not match …", "at step N of tcp-check").
    pub proto: bool,
}

/// One `tcp-check` rule.
#[derive(Debug, Clone, PartialEq)]
pub enum TcpCheckRule {
    /// `tcp-check connect [port N] [send-proxy] [ssl] [linger] [default]`
    Connect {
        /// Port override.
        port: Option<u16>,
        /// Send a PROXY header on this connection.
        send_proxy: bool,
        /// Use TLS.
        ssl: bool,
        /// `linger`: close with a FIN rather than haproxy's usual reset.
        linger: bool,
    },
    /// `send`, `send-lf` or `send-binary`: the bytes to write.
    Send(Vec<u8>),
    /// The SSLv3 CLIENT HELLO of `option ssl-hello-chk`, stamped with the current time.
    SendSslHello,
    /// `expect [!] string|binary|rstring|rbinary <pattern> [options]`
    Expect(Box<TcpExpect>),
    /// `comment <text>`: names the next step in failure reasons.
    Comment(String),
}

/// A `tcp-check expect` rule with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpExpect {
    /// `!` inverts the match.
    pub negate: bool,
    /// What to look for.
    pub pattern: ExpectPattern,
    /// `min-recv <n>`: with it, a mismatch on that many bytes is final (None: wait for
    /// more data until the connection ends, haproxy's -1).
    pub min_recv: Option<usize>,
    /// `ok-status`: the status of a check that ends on this rule.
    pub ok_status: CheckStatus,
    /// `error-status`: the status when this rule fails.
    pub error_status: CheckStatus,
    /// `tout-status`: the status when the check times out waiting here.
    pub tout_status: CheckStatus,
    /// `on-success`: the info text when the check ends on this rule.
    pub on_success: Option<CheckText>,
    /// `on-error`: the info text when this rule fails.
    pub on_error: Option<CheckText>,
    /// `status-code res.payload(<offset>,<len>)`: the check's code, read from the response.
    pub status_code: Option<(usize, usize)>,
    /// `comment <text>` of the rule itself (over a preceding `tcp-check comment`).
    pub comment: Option<String>,
}

impl TcpExpect {
    /// A rule with haproxy's defaults around `pattern`.
    pub fn new(negate: bool, pattern: ExpectPattern) -> TcpExpect {
        TcpExpect {
            negate,
            pattern,
            min_recv: None,
            ok_status: CheckStatus::L7Ok,
            error_status: CheckStatus::L7Rsp,
            tout_status: CheckStatus::L7Tout,
            on_success: None,
            on_error: None,
            status_code: None,
            comment: None,
        }
    }
}

/// A check status an `expect` rule can end with (configuration.txt `ok-status`,
/// `error-status`, `tout-status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// L7OK
    L7Ok,
    /// L7RSP
    L7Rsp,
    /// L7STS
    L7Sts,
    /// L7TOUT
    L7Tout,
    /// L6OK
    L6Ok,
    /// L6RSP
    L6Rsp,
    /// L6TOUT
    L6Tout,
    /// L4OK
    L4Ok,
    /// L4CON
    L4Con,
    /// L4TOUT
    L4Tout,
}

impl CheckStatus {
    /// The reason haproxy writes for this status (`reason: …`).
    pub fn reason(self) -> &'static str {
        match self {
            CheckStatus::L7Ok => "Layer7 check passed",
            CheckStatus::L7Rsp => "Layer7 invalid response",
            CheckStatus::L7Sts => "Layer7 wrong status",
            CheckStatus::L7Tout => "Layer7 timeout",
            CheckStatus::L6Ok => "Layer6 check passed",
            CheckStatus::L6Rsp => "Layer6 invalid response",
            CheckStatus::L6Tout => "Layer6 timeout",
            CheckStatus::L4Ok => "Layer4 check passed",
            CheckStatus::L4Con => "Layer4 connection problem",
            CheckStatus::L4Tout => "Layer4 timeout",
        }
    }

    /// Whether the check passes with this status.
    pub fn ok(self) -> bool {
        matches!(
            self,
            CheckStatus::L7Ok | CheckStatus::L6Ok | CheckStatus::L4Ok
        )
    }

    /// Whether haproxy prints the check's code with it (its statuses past L57DATA).
    pub fn has_code(self) -> bool {
        matches!(self, CheckStatus::L7Ok | CheckStatus::L7Sts)
    }
}

/// The info text of an expect rule's `on-success` / `on-error`: a fixed text, or the part
/// of the response the built-in protocol checks quote.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckText {
    /// A text without `%` expressions.
    Literal(String),
    /// `%[res.payload(<offset>,0)[,ltrim(' ')][,cut_crlf]]`: the response from `offset`, up
    /// to its first NUL (as a C string is read).
    Payload {
        /// Where the quoted part starts.
        offset: usize,
        /// `ltrim(' ')`
        ltrim_space: bool,
        /// `cut_crlf`: up to the first CR or LF.
        cut_crlf: bool,
    },
}

/// The pattern of an `expect` rule.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectPattern {
    /// `string <s>`: bytes, as the configuration's escapes give them.
    String(Vec<u8>),
    /// `binary <hex>`
    Binary(Vec<u8>),
    /// `rstring <regex>`, compiled at load
    RString(acl::Regex),
    /// `rbinary <regex>` (matched against the data in upper-case hex), compiled at load
    RBinary(acl::Regex),
    /// A protocol check's own reader of the server's answer (haproxy's `expect custom`).
    Custom(CustomExpect),
}

/// The answers haproxy's protocol checks read with code rather than a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomExpect {
    /// `mysql-check`: the server's initial handshake packet (an error packet fails).
    MysqlHandshake,
    /// `mysql-check user …`: the packet after the handshake, answering the login.
    MysqlOk,
    /// `ldap-check`: an LDAPv3 bindResponse with result code 0.
    LdapBind,
    /// `spop-check`: a SPOE AGENT-HELLO frame accepting the HAPROXY-HELLO.
    SpopHello {
        /// The largest frame the agent may announce (`tune.bufsize` less 4).
        max_frame: u32,
    },
}

/// A server's `agent-check`: a TCP exchange with the server's agent, whose one-line
/// answer sets the server's health, administrative state, weight or maxconn.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentCheck {
    /// `agent-addr`, else the check's `addr`, else the server's address.
    pub addr: Option<std::net::IpAddr>,
    /// `agent-port`.
    pub port: u16,
    /// `agent-inter` (default 2s, whatever the health check's `inter`).
    pub inter: std::time::Duration,
    /// `agent-send`: what to write once connected.
    pub send: Option<Vec<u8>>,
}

/// `option httpchk` and `http-check` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCheck {
    /// `http-check connect`: the check's connection settings.
    pub connect: Option<CheckConnect>,
    /// Method.
    pub method: String,
    /// URI.
    pub uri: String,
    /// HTTP version string.
    pub version: String,
    /// Extra headers from `http-check send hdr`.
    pub headers: Vec<(String, String)>,
    /// Expected response.
    pub expect: HttpExpect,
}

/// `http-check expect`
#[derive(Debug, Clone, PartialEq)]
pub enum HttpExpect {
    /// Any 2xx or 3xx status (HAProxy's default).
    Default,
    /// `status <code>` (negate with `!`).
    Status(bool, String),
    /// `string <text>` in the body.
    String(bool, String),
}

/// A leading `tcp-check connect` or `http-check connect`: how the check connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckConnect {
    /// `port <p>`: instead of the server's (or its check `port`).
    pub port: Option<u16>,
    /// `send-proxy`: a PROXY header first.
    pub send_proxy: bool,
    /// `ssl`: the check runs over TLS with the server's TLS settings.
    pub ssl: bool,
    /// `linger`: a clean close instead of a reset.
    pub linger: bool,
}
