//! A parsed `log-format` string (configuration.txt §8.2.4): what the runtime renders per
//! session. `option tcplog` is the predefined string [`TCPLOG`]; parsing happens once, in
//! config, so the runtime never reads format text.

/// `option tcplog` as a log-format string (haproxy 2.6's default TCP format).
pub const TCPLOG: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

/// `option httplog` (haproxy 2.6's default HTTP format).
pub const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";

/// `option httpslog` in an HTTP proxy: httplog, then the connection's and TLS's error
/// codes, resumption, SNI, version and cipher.
pub const HTTPSLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";

/// `option httplog clf`: the Common Log Format followed by haproxy's fields.
pub const HTTPLOG_CLF: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";

/// A parsed log-format string.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogFormat {
    /// The nodes, in order.
    pub nodes: Vec<LogNode>,
    /// It prints what most lines do not (`%fi %fp %si %sp %bi %bp %Th`): a session keeps
    /// those facts only for such a format, so that an idle session stays small.
    pub needs_extra: bool,
    /// It has `%[…]` samples: a session keeps its TLS facts and variables for the line.
    pub needs_session: bool,
    /// It prints the server connection's source (`%bi %bp`), which costs a getsockname()
    /// (haproxy's `prepare_addrsource`).
    pub needs_backend_source: bool,
    /// It prints a fact only known at the end (bytes, times, counters, `%ts`: haproxy's
    /// `LW_BYTES`). A format without one is written as soon as the server connection is
    /// up (TCP) or the response head is in (HTTP), as haproxy writes it.
    pub waits_for_end: bool,
    /// It prints request facts and nothing but them and constants (`%r`, `%HM`, ..., `%f`,
    /// `%t`: haproxy's `LW_REQ | LW_INIT`): an HTTP line is written once the request
    /// head is read.
    pub request_only: bool,
}

impl LogFormat {
    /// A format of these nodes.
    pub fn new(nodes: Vec<LogNode>) -> Self {
        let has = |f: &dyn Fn(LogVar) -> bool| {
            nodes
                .iter()
                .any(|n| matches!(n, LogNode::Var(v, _) if f(*v)))
        };
        use LogVar::*;
        let needs_backend_source = has(&|v| matches!(v, BackendIp | BackendPort));
        let needs_extra = has(&|v| {
            matches!(
                v,
                FrontendIp | FrontendPort | ServerIp | ServerPort | BackendIp | BackendPort | Th
            )
        });
        let waits_for_end = has(&|v| {
            matches!(
                v,
                BytesDown
                    | BytesUp
                    | UniqueId
                    | Ta
                    | Tc
                    | Th
                    | Ti
                    | Tq
                    | TrResp
                    | TR
                    | Td
                    | Tt
                    | Tu
                    | Tw
                    | ActConn
                    | BeConn
                    | FeConn
                    | SrvConn
                    | BeQueue
                    | SrvQueue
                    | Retries
                    | TermState
            )
        });
        let request = |v: LogVar| {
            matches!(
                v,
                Request | Method | Uri | Path | PathOnly | Query | Version | StreamId
            )
        };
        let constant = |v: LogVar| {
            matches!(
                v,
                Hostname
                    | LogCount
                    | DateGmt
                    | DateLocal
                    | Timestamp
                    | Backend
                    | Frontend
                    | FrontendXprt
                    | Millis
                    | Pid
                    | Date
                    | ReqDate
                    | ReqDateGmt
                    | ReqDateLocal
                    | TermStateCookie
            )
        };
        // A `%[sample]` counts as transport information (haproxy's LW_XPRT).
        let request_only = has(&request)
            && nodes.iter().all(|n| match n {
                LogNode::Var(v, _) => request(*v) || constant(*v),
                LogNode::Sample(..) => false,
                _ => true,
            });
        // TLS facts are read where samples read them.
        let needs_session = nodes.iter().any(|n| matches!(n, LogNode::Sample(..)))
            || has(&|v| matches!(v, SslCipher | SslVersion));
        LogFormat {
            needs_extra: needs_extra || needs_session,
            needs_session,
            nodes,
            needs_backend_source,
            waits_for_end,
            request_only,
        }
    }
}

/// One piece of a log-format string.
#[derive(Debug, Clone, PartialEq)]
pub enum LogNode {
    /// Literal text.
    Text(String),
    /// A space of the format: printed once, and not after another space.
    Separator,
    /// A `%var` with its flags.
    Var(LogVar, LogFlags),
    /// A `%[fetch,converters…]` with its flags.
    Sample(Box<super::acl::SampleExpr>, LogFlags),
}

/// The `%{…}` flags of a node (or the `%{…}o` defaults they start from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFlags {
    /// `M`: an empty value prints `-` (on by default in `log-format`).
    pub mandatory: bool,
    /// `Q`: text values are quoted.
    pub quote: bool,
    /// `X`: addresses, ports and some numbers print in hexadecimal.
    pub hex: bool,
    /// `E`: `"`, `\` and `]` are escaped with a backslash.
    pub escape: bool,
}

impl Default for LogFlags {
    fn default() -> Self {
        LogFlags {
            mandatory: true,
            quote: false,
            hex: false,
            escape: false,
        }
    }
}

/// The variables haproxide renders (the TCP-mode ones of haproxy 2.6's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogVar {
    /// `%ci` client address.
    ClientIp,
    /// `%cp` client port.
    ClientPort,
    /// `%fi` address the client connected to.
    FrontendIp,
    /// `%fp` port the client connected to.
    FrontendPort,
    /// `%bi` source address of the server connection.
    BackendIp,
    /// `%bp` source port of the server connection.
    BackendPort,
    /// `%si` server address.
    ServerIp,
    /// `%sp` server port.
    ServerPort,
    /// `%t` accept date, local time with milliseconds.
    Date,
    /// `%T` accept date, GMT.
    DateGmt,
    /// `%Tl` accept date, local time with its offset.
    DateLocal,
    /// `%Ts` accept date as seconds since the epoch.
    Timestamp,
    /// `%ms` milliseconds of the accept date.
    Millis,
    /// `%f` frontend name.
    Frontend,
    /// `%ft` frontend name, `~` appended on a TLS bind.
    FrontendXprt,
    /// `%b` backend name (the frontend's without one).
    Backend,
    /// `%s` server name or `<NOSRV>`.
    Server,
    /// `%Th` handshake time.
    Th,
    /// `%sslc`: the client connection's cipher (OpenSSL name).
    SslCipher,
    /// `%sslv`: the client connection's TLS version.
    SslVersion,
    /// `%Tw` queue time.
    Tw,
    /// `%Tc` connect time.
    Tc,
    /// `%Td` data transfer time.
    Td,
    /// `%Tt` total time.
    Tt,
    /// `%Tu` total time without idle (equal to `%Tt` in TCP).
    Tu,
    /// `%B` bytes from server to client.
    BytesDown,
    /// `%U` bytes from client to server.
    BytesUp,
    /// `%ts` termination state.
    TermState,
    /// `%tsc` termination state and two cookie letters (`--` in TCP).
    TermStateCookie,
    /// `%ac` process-wide sessions.
    ActConn,
    /// `%fc` frontend sessions.
    FeConn,
    /// `%bc` backend sessions.
    BeConn,
    /// `%sc` server sessions.
    SrvConn,
    /// `%rc` retries (`+` when redispatched).
    Retries,
    /// `%sq` position in the server queue.
    SrvQueue,
    /// `%bq` position in the backend queue.
    BeQueue,
    /// `%ID` the unique id (`unique-id-format`).
    UniqueId,
    /// `%rt` the stream's number (haproxy's request counter, HTTP request or TCP session).
    StreamId,
    /// `%lc` the frontend's count of lines logged before this one.
    LogCount,
    /// `%H` host name.
    Hostname,
    /// `%pid` process id.
    Pid,
    /// `%ST` HTTP status: 0 in TCP mode.
    Status,
    /// `%hr` captured request headers, `{a|b}`.
    HdrReq,
    /// `%hrl` captured request headers, one field each.
    HdrReqList,
    /// `%hs` captured response headers, `{a|b}`.
    HdrRes,
    /// `%hsl` captured response headers, one field each.
    HdrResList,
    /// `%tr` date the request started, local time with milliseconds.
    ReqDate,
    /// `%trg` date the request started, GMT.
    ReqDateGmt,
    /// `%trl` date the request started, local time with its offset.
    ReqDateLocal,
    /// `%TR` time to receive the request head.
    TR,
    /// `%Tq` `%Th` + `%Ti` + `%TR`.
    Tq,
    /// `%Tr` server response time (request sent to response head).
    TrResp,
    /// `%Ta` active time of the request (`%Tt` less `%Th` and `%Ti`).
    Ta,
    /// `%Ti` idle time before the request's first byte.
    Ti,
    /// `%r` the request line.
    Request,
    /// `%HM` method.
    Method,
    /// `%HU` URI.
    Uri,
    /// `%HP` path (the URI without its query).
    Path,
    /// `%HPO` path only (without the scheme and authority of an absolute URI).
    PathOnly,
    /// `%HQ` query, with its `?`.
    Query,
    /// `%HV` version.
    Version,
    /// `%CC` captured request cookie: none without `capture cookie`.
    CookieReq,
    /// `%CS` captured response cookie.
    CookieRes,
}
