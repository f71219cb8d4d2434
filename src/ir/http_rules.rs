//! HTTP rules (configuration.txt §4.2 `http-request`, `http-response`, `redirect`):
//! actions on a transaction's request or response, each under an optional condition.

use super::acl::{Cond, SampleExpr};

/// A piece of a log-format string used as a value (`set-header`, redirect targets).
#[derive(Debug, Clone, PartialEq)]
pub enum FmtPart {
    /// Literal bytes.
    Text(Box<[u8]>),
    /// `%[expr]`: the sample as a string, nothing when it is missing.
    Sample(SampleExpr),
    /// `%ci`
    ClientIp,
    /// `%cp`
    ClientPort,
    /// `%fi`
    FrontendIp,
    /// `%fp`
    FrontendPort,
    /// `%f`
    Frontend,
}

/// A log-format string evaluated per transaction.
pub type Format = Vec<FmtPart>;

/// What a redirect builds its location from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `location <loc>`: the location as given.
    Location,
    /// `prefix <pfx>`: the prefix, then the request's path.
    Prefix,
    /// `scheme <sch>`: the scheme, `://`, the `host` header, the path.
    Scheme,
}

/// `redirect …` and `http-request redirect …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    /// The kind.
    pub kind: RedirectKind,
    /// Location, prefix or scheme.
    pub target: Format,
    /// `prefix /` adds nothing before the path (a redirect to the same place).
    pub literal_slash: bool,
    /// 301, 302, 303, 307 or 308.
    pub code: u16,
    /// `drop-query`
    pub drop_query: bool,
    /// `append-slash`
    pub append_slash: bool,
    /// `set-cookie NAME[=value]` / `clear-cookie NAME`: the Set-Cookie header value.
    pub cookie: Option<Box<[u8]>>,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpAction {
    /// `allow`: stop evaluating this list of rules.
    Allow,
    /// `deny [deny_status <code>]`: answer with haproxy's page for the status.
    Deny(u16),
    /// A redirect.
    Redirect(Box<Redirect>),
    /// `auth [realm <realm>]`: haproxy's 401 page with `WWW-Authenticate: Basic
    /// realm="<realm>"` (the running proxy's name when no realm is given; empty only
    /// before a proxy takes the rule).
    Auth(Box<[u8]>),
    /// `return …`: an answer built from the rule (http_reply).
    Return(Box<Reply>),
    /// `deny` with http-reply arguments (`status`, `string` …): the answer built as for
    /// `return`, logged as a deny.
    DenyReply(Box<Reply>),
    /// `set-header <name> <fmt>`: every header of that name removed, then one added.
    SetHeader(Box<[u8]>, Format),
    /// `add-header <name> <fmt>`
    AddHeader(Box<[u8]>, Format),
    /// `del-header <name>`
    DelHeader(Box<[u8]>),
    /// `set-method|set-path|set-pathq|set-query|set-uri <fmt>`: a part of the request
    /// line replaced.
    SetLine(LinePart, Format),
    /// `replace-path|replace-pathq|replace-uri <regex> <fmt>`: when the regex matches the
    /// path (without or with the query) or the URI, that part becomes the format with
    /// `\N` group references and `\xHH` bytes expanded (haproxy's `exp_replace`).
    ReplaceLine(LinePart, super::acl::Regex, Format),
    /// `set-var`, `set-var-fmt`, `unset-var`.
    Var(Box<super::vars::SetVar>),
    /// `replace-header|replace-value <name> <regex> <fmt>`.
    ReplaceHeader(Box<ReplaceHeader>),
    /// `http-response set-status <code> [reason <text>]` (None: haproxy's phrase).
    SetStatus(u16, Option<Box<[u8]>>),
    /// `tarpit [deny_status <code>]`: hold the request the proxy's tarpit time, then
    /// answer haproxy's page for the status (500 by default), logged `PT`.
    Tarpit(u16),
    /// `track-sc<n> <key> [table <t>]`
    Track(Box<super::counters::Track>),
    /// `sc-inc-gpc*`, `sc-set-gpt*`
    Sc(Box<super::counters::ScAction>),
    /// `capture <sample> len <n>|id <n>`: the sample as text in a capture slot of the
    /// frontend (request or response side, as the rule's), cut to `len` (else to the
    /// slot's length), logged in `%hr`/`%hs`.
    Capture(Box<Capture>),
    /// `set-log-level <level>|silent`: the transaction's line at that syslog level (0
    /// emerg … 7 debug), or none (-1).
    SetLogLevel(i8),
    /// `http-request disable-l7-retry`: the transaction is never sent again for a
    /// `retry-on` response condition (haproxy's TX_D_L7_RETRY).
    DisableL7Retry,
}

/// `http-request|http-response capture`.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// The sample.
    pub expr: super::acl::SampleExpr,
    /// The slot's index in the frontend's request (or response) captures.
    pub slot: usize,
    /// `len <n>`: the slot the rule declared; None for `id <n>` (the slot's length).
    pub len: Option<usize>,
}

/// `replace-header` (the whole value of each header of the name) or `replace-value`
/// (each comma-separated value): where the regex matches, the value becomes the format
/// with `\N` group references expanded (http_replace_hdrs).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaceHeader {
    /// Lower-case header name.
    pub name: Box<[u8]>,
    /// The regex (case-sensitive, searched anywhere in the value).
    pub re: super::acl::Regex,
    /// The replacement, a log-format string rendered first.
    pub fmt: Format,
    /// `replace-header` (true) or `replace-value`.
    pub full: bool,
}

/// An answer a rule builds (haproxy's `http_reply`: `return`).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The status (200 by default).
    pub status: u16,
    /// `content-type`, sent with a non-empty payload.
    pub ctype: Option<Box<[u8]>>,
    /// The payload.
    pub body: ReplyBody,
    /// `hdr <name> <fmt>` headers, before `content-length`; an empty value is not sent.
    pub hdrs: Vec<(Box<[u8]>, Format)>,
}

/// Where a reply's payload comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyBody {
    /// None (`content-length: 0`).
    Empty,
    /// `string <s>` or `file <path>`: the bytes as they are.
    Raw(Box<[u8]>),
    /// `lf-string <fmt>` or `lf-file <path>`: a log-format string.
    Fmt(Format),
    /// `default-errorfiles`: the proxy's page for the status (its errorfile or built in).
    ErrorPage,
    /// `errorfile <path>`: that whole HTTP response.
    ErrorFile(std::sync::Arc<[u8]>),
}

/// The part of the request line a `set-…` action replaces (http_req_replace_stline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinePart {
    /// `set-method`
    Method,
    /// `set-path`: the path, its query kept.
    Path,
    /// `set-pathq`: the path and the query.
    PathQuery,
    /// `set-query`: what follows the `?` (one is added when there was none).
    Query,
    /// `set-uri`: the whole URI; an authority in it becomes the `host` header.
    Uri,
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRule {
    /// The action.
    pub action: HttpAction,
    /// The condition, when given.
    pub cond: Option<Cond>,
}

/// A proxy's HTTP rules, in the order haproxy runs them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpRules {
    /// `http-request` rules.
    pub request: Vec<HttpRule>,
    /// `redirect` rules (after the `http-request` rules).
    pub redirects: Vec<HttpRule>,
    /// `http-response` rules.
    pub response: Vec<HttpRule>,
    /// `http-after-response` rules: run last on every response, haproxy's own answers
    /// included.
    pub after: Vec<HttpRule>,
    /// How long a `tarpit` holds a request: the proxy's `timeout tarpit`, else its
    /// `timeout connect` (None: not at all).
    pub tarpit: Option<std::time::Duration>,
}

impl HttpRules {
    /// No rule at all.
    pub fn is_empty(&self) -> bool {
        self.request.is_empty()
            && self.redirects.is_empty()
            && self.response.is_empty()
            && self.after.is_empty()
    }
}
