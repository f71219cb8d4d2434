//! haproxy's condition language, validated (configuration.txt §7): sample expressions (a
//! fetch and its converters), ACL tests (an expression, a matching method, patterns) and
//! the `if|unless` conditions built of them. The runtime evaluates these; nothing here
//! knows the text they came from.

use std::net::IpAddr;
use std::sync::Arc;

use super::{MqttField, Payload};

/// The type of a sample (haproxy's `SMP_T_*`), which decides the default matching method
/// and the casts a pattern needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmpType {
    /// `bool`
    Bool,
    /// `sint`: a signed 64-bit integer.
    Int,
    /// `ipv4`/`ipv6`/`addr`
    Ip,
    /// `str`
    Str,
    /// `bin`
    Bin,
    /// `meth`: an HTTP method.
    Meth,
    /// `any`: known only when evaluated (`var`).
    Any,
}

/// Which header list a header fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// The request (`req.hdr`, `hdr`).
    Req,
    /// The response (`res.hdr`, `shdr`).
    Res,
    /// The side the rule runs on (`hdr`, `hdr_cnt` as sample fetches).
    Chn,
}

/// A header fetch's arguments: `hdr([<name>[,<occ>]])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdrArg {
    /// Lower-case name (None: every header).
    pub name: Option<Box<[u8]>>,
    /// Occurrence: 0 every one, > 0 from the first, < 0 from the last.
    pub occ: i64,
    /// `fhdr`: a value is the whole line, not split at commas.
    pub full: bool,
    /// The request or the response.
    pub dir: Dir,
}

/// Facts of the client connection's TLS a fetch reads; each gives no value on a plain
/// connection, except the booleans `ssl_fc_has_sni` and `ssl_fc_is_resumed` (false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFetch {
    /// `ssl_fc_cipher`: the cipher's OpenSSL name.
    Cipher,
    /// `ssl_fc_has_sni`
    HasSni,
    /// `ssl_fc_has_crt`: the client sent a certificate in this handshake (not resumed).
    HasCrt,
    /// `ssl_fc_is_resumed`
    IsResumed,
    /// `ssl_fc_use_keysize`, `ssl_fc_alg_keysize`: the cipher's key bits.
    KeySize,
    /// `ssl_c_verify`, `ssl_c_err`, `ssl_c_ca_err`, `ssl_fc_err`: 0, as a handshake
    /// whose verification or TLS layer failed never reaches a rule (no `*-ignore-err`).
    Error,
}

/// A sample fetch (configuration.txt §7.3.2 to §7.3.6).
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    /// `always_true`, `always_false`, `bool(<v>)`
    Bool(bool),
    /// `int(<v>)`
    Int(i64),
    /// `str(<s>)`
    Str(Box<[u8]>),
    /// `src`
    Src,
    /// `src_port`
    SrcPort,
    /// `dst`
    Dst,
    /// `dst_port`
    DstPort,
    /// `fe_name`
    FeName,
    /// `be_name`
    BeName,
    /// `unique-id`: the stream's unique id (`unique-id-format` of the frontend).
    UniqueId,
    /// `nbsrv([<backend>])`: usable servers of that backend (None: the current one).
    Nbsrv(Option<usize>),
    /// `srv_is_up(<backend>/<server>)`
    SrvIsUp(usize, usize),
    /// `env(<name>)`, read when evaluated as haproxy does.
    Env(Box<str>),
    /// `req.len`
    ReqLen,
    /// `req.payload(<offset>,<length>)`
    Payload(Payload),
    /// `res.len`: what the server sent that the rules hold (in HTTP mode, the parsed
    /// response's size, as `req.len` is the request's).
    ResLen,
    /// `res.payload(<offset>,<length>)`: the server's bytes the rules hold.
    ResPayload(Payload),
    /// `req.ssl_sni`: the SNI of a TLS ClientHello in the buffer.
    ReqSslSni,
    /// `req.ssl_hello_type`: 1 for a ClientHello.
    ReqSslHelloType,
    /// `req.ssl_ver`: the version of a TLS/SSL hello, (major << 16) | minor.
    ReqSslVer,
    /// `ssl_fc`: the client connection uses TLS.
    SslFc,
    /// `ssl_fc_alpn`
    SslFcAlpn,
    /// `ssl_fc_sni`: the server name the client asked for in its TLS hello.
    SslFcSni,
    /// `ssl_fc_protocol`
    SslFcProtocol,
    /// `ssl_c_used`
    SslCUsed,
    /// The other facts of the client connection's TLS (`ssl_fc_cipher`, `ssl_c_verify` …).
    Tls(TlsFetch),
    /// `fc_err`: the client connection's error code (0 for a connection that works).
    FcErr,
    /// `method`
    Method,
    /// `path`
    Path,
    /// `base`: host and path.
    Base,
    /// `url`
    Url,
    /// `query`
    Query,
    /// `req.ver`
    ReqVer,
    /// `url_param([<name>[,<delim>]])`: the list starts after `delim`.
    UrlParam(Option<Box<[u8]>>, u8),
    /// `req.hdr`, `req.fhdr`, `res.hdr`, `res.fhdr`
    Hdr(HdrArg),
    /// `req.hdr_cnt`, `req.fhdr_cnt`, `res.hdr_cnt`, `res.fhdr_cnt`
    HdrCnt(HdrArg),
    /// `req.cook([<name>])`
    Cook(Option<Box<[u8]>>),
    /// `status`
    Status,
    /// `res.comp`: the compression filter compresses this response.
    ResComp,
    /// `res.comp_algo`: the algorithm compressing this response.
    ResCompAlgo,
    /// `http_auth(<userlist>)`: the request's Basic credentials are valid in that list.
    HttpAuth(super::auth::UserlistRef),
    /// `http_auth_group(<userlist>)`: the authenticated user (matched against groups).
    HttpAuthGroup(super::auth::UserlistRef),
    /// `http_auth_type`: the `Authorization` scheme (`Basic`, `Bearer`).
    HttpAuthType,
    /// `http_auth_user`: the Basic user name.
    HttpAuthUser,
    /// `http_auth_pass`: the Basic password.
    HttpAuthPass,
    /// `var(<name>[,<default>])`: the variable's value with its stored type, else the
    /// default as a string.
    Var(super::vars::VarName, Option<Box<[u8]>>),
    /// `sc<n>_*`, `sc_*(<n>)`, `src_*`: a stick counter's data.
    Sc(super::counters::Entry, super::counters::Read),
    /// `table_cnt([<table>])`: entries in the table.
    TableCnt(super::counters::TableRef),
    /// `table_avl([<table>])`: free entries in the table.
    TableAvl(super::counters::TableRef),
}

/// A converter (configuration.txt §7.3.1).
#[derive(Debug, Clone, PartialEq)]
pub enum Conv {
    /// `lower`
    Lower,
    /// `upper`
    Upper,
    /// `length`
    Length,
    /// `hex`
    Hex,
    /// `base64`
    Base64,
    /// `url_dec`
    UrlDec,
    /// `field(<index>,<delimiters>[,<count>])` (`word` when `word` is true)
    Field {
        /// 1-based, negative from the end.
        index: i64,
        /// Delimiter characters.
        delims: Box<[u8]>,
        /// Fields taken (0: up to the end).
        count: i64,
        /// `word`: empty fields are skipped.
        word: bool,
    },
    /// `bytes(<offset>[,<length>])`
    Bytes(i64, Option<i64>),
    /// `ipmask(<v4 mask>[,<v6 mask>])`
    IpMask(IpAddr, Option<IpAddr>),
    /// `mqtt_is_valid`
    MqttIsValid,
    /// `mqtt_field_value(connect,<field>)`
    MqttField(MqttField),
    /// `map*(<file>[,<default>])`
    Map(Arc<super::map::Map>),
    /// `table_*(<table>)`: the data of the entry keyed by the input.
    Table(super::counters::TableRef, super::counters::Read),
    /// `add|sub|mul|div|mod|and|or|xor(<int>|<var>)`
    Arith(super::conv::Arith, super::conv::Operand),
    /// `neg`, `cpl`, `bool`, `not`, `odd`, `even`
    Unary(super::conv::Unary),
    /// `concat(…)` and `add_item(…)`
    Concat(Box<super::conv::Concat>),
    /// `regsub(<regex>,<subst>[,<flags>])`
    Regsub(Box<super::conv::Regsub>),
    /// `json([<input>])`
    Json(super::conv::JsonInput),
    /// `ltrim(<chars>)` (`left`) or `rtrim(<chars>)`
    Trim(Box<[u8]>, bool),
    /// `strcmp(<var>)`
    StrCmp(super::vars::VarName),
    /// `iif(<true>,<false>)`
    Iif(Box<[u8]>, Box<[u8]>),
    /// `djb2|sdbm|wt6|crc32|crc32c([<avalanche>])`
    Hash(super::conv::Hash, bool),
    /// `xxh32|xxh64|xxh3([<seed>])`
    Xxh(super::conv::Xxh, i64),
    /// `sha1`, `sha2([<bits>])`: the digest, binary.
    Digest(super::conv::Digest),
    /// `url_enc([query])`: RFC 3986 percent-encoding of a query string.
    UrlEnc,
    /// `http_date([<offset>[,<unit>]])`: an epoch time (in `unit`) as an HTTP date; the
    /// unit's divisor (1, 1000, 1000000) and whether a fraction is shown.
    HttpDate(i64, u32, bool),
    /// `be2dec(<separator>,<chunk_size>[,<truncate>])`
    Be2Dec(Box<[u8]>, usize, bool),
    /// `be2hex([<separator>[,<chunk_size>[,<truncate>]]])`
    Be2Hex(Box<[u8]>, usize, bool),
    /// Converters without arguments: `cut_crlf`, `host_only`, `port_only`, `hex2i`,
    /// `b64dec`, `htonl`.
    Simple(super::conv::Simple),
}

/// `fetch,conv1,conv2(arg)…`
#[derive(Debug, Clone, PartialEq)]
pub struct SampleExpr {
    /// The fetch.
    pub fetch: Fetch,
    /// Converters, applied in order.
    pub convs: Vec<Conv>,
}

/// A matching method (`-m`, configuration.txt §7.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// `found`: the sample exists.
    Found,
    /// `bool`: a non-zero integer.
    Bool,
    /// `int`: integer ranges.
    Int,
    /// `ip`: addresses and networks.
    Ip,
    /// `bin`: exact bytes given in hex.
    Bin,
    /// `len`: the length in integer ranges.
    Len,
    /// `str`: exact string.
    Str,
    /// `beg`: prefix.
    Beg,
    /// `end`: suffix.
    End,
    /// `sub`: substring.
    Sub,
    /// `reg`: regular expression.
    Reg,
    /// `dom`: a word between `/ ? . :` delimiters.
    Dom,
    /// `dir`: a word between `/ ?` delimiters.
    Dir,
    /// An HTTP method (`method` ACL).
    Meth,
    /// A user's groups (`http_auth_group` ACL): patterns are group names.
    AuthGroup,
}

/// An inclusive integer range; None is open on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    /// Lowest value.
    pub min: Option<i64>,
    /// Highest value.
    pub max: Option<i64>,
}

/// An address and its mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// The network address (already masked).
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub bits: u8,
}

/// A compiled regular expression, compared by its source.
#[derive(Debug, Clone)]
pub struct Regex(pub Arc<regex::bytes::Regex>);

impl Fetch {
    /// The buffer whose raw bytes the fetch reads (haproxy's SMP_USE_L6REQ and
    /// SMP_USE_L6RES fetches), if any.
    pub fn layer6(&self) -> Option<Dir> {
        match self {
            Fetch::Payload(_)
            | Fetch::ReqLen
            | Fetch::ReqSslSni
            | Fetch::ReqSslHelloType
            | Fetch::ReqSslVer => Some(Dir::Req),
            Fetch::ResLen | Fetch::ResPayload(_) => Some(Dir::Res),
            _ => None,
        }
    }

    /// Whether the fetch reads the request head, which haproxy no longer has when the
    /// response is processed (the method excepted: the transaction keeps it).
    pub fn needs_request(&self) -> bool {
        matches!(
            self,
            Fetch::Path
                | Fetch::Base
                | Fetch::Url
                | Fetch::Query
                | Fetch::ReqVer
                | Fetch::UrlParam(..)
                | Fetch::Cook(_)
                | Fetch::HttpAuth(_)
                | Fetch::HttpAuthGroup(_)
                | Fetch::HttpAuthType
                | Fetch::HttpAuthUser
                | Fetch::HttpAuthPass
        ) || matches!(self, Fetch::Hdr(h) | Fetch::HdrCnt(h) if h.dir == Dir::Req)
    }
}

impl Regex {
    /// A regex on bytes, as haproxy's PCRE without UTF-8 matches (no Unicode classes).
    pub fn bytes(pattern: &str) -> Result<Regex, regex::Error> {
        regex::bytes::RegexBuilder::new(pattern)
            .unicode(false)
            .build()
            .map(|r| Regex(Arc::new(r)))
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// The patterns of one ACL test, in the form its matching method reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Patterns {
    /// No patterns needed (`found`, `bool`).
    None,
    /// Strings (`str`, `beg`, `end`, `sub`, `dom`, `dir`, `bin`, `meth`, groups).
    Strs(Vec<Box<[u8]>>),
    /// Integer ranges (`int`, `len`).
    Ints(Vec<IntRange>),
    /// Networks (`ip`).
    Nets(Vec<IpNet>),
    /// Regular expressions (`reg`).
    Regs(Vec<Regex>),
}

/// One ACL line's test: the sample, how it is matched and against what.
#[derive(Debug, Clone, PartialEq)]
pub struct AclTest {
    /// The keyword it was written with (`path_beg`, `req.hdr`), for messages.
    pub kw: Box<str>,
    /// The sample.
    pub expr: SampleExpr,
    /// The matching method.
    pub kind: MatchKind,
    /// `-i`: strings compare ignoring ASCII case.
    pub icase: bool,
    /// The patterns.
    pub patterns: Patterns,
}

/// An ACL in a condition, possibly negated by `!`: the tests of every line with its
/// name (any one matching is enough).
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// `!`
    pub neg: bool,
    /// The ACL's tests.
    pub tests: Arc<[AclTest]>,
}

/// `if|unless <acl> [!]<acl> … [or|'||' …]`: terms ANDed in suites, suites ORed.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    /// `unless`
    pub unless: bool,
    /// The suites.
    pub suites: Vec<Vec<Term>>,
}
