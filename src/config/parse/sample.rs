//! Sample expressions of the condition language (configuration.txt §7.3): a fetch with
//! its arguments, then converters, `fetch(a,b),conv1,conv2(c)`, typed as haproxy types
//! them so the ACL parser picks the same default matching method and casts.
//!
//! Fetches and converters haproxy 2.6 knows but haproxide does not evaluate are refused
//! by name ([`SampleError::Unsupported`]); unknown ones get haproxy's message.

use std::net::IpAddr;

use std::cell::RefCell;

use crate::ir::acl::{Conv, Dir, Fetch, HdrArg, SampleExpr, SmpType, TlsFetch};
use crate::ir::auth::UserlistRef;
use crate::ir::{MqttField, Payload};

/// A userlist argument met while parsing, resolved once every section is read.
#[derive(Debug, Clone)]
pub struct PendingUserlist {
    /// The reference the fetch holds.
    pub r: UserlistRef,
    /// The fetch's name as written.
    pub kw: String,
    /// Named by an ACL (haproxy says "ACL keyword"), else by a sample expression.
    pub in_acl: Option<bool>,
    /// The groups an `http_auth_group` ACL matches, which must exist in the userlist.
    pub groups: Option<Vec<Box<[u8]>>>,
    /// The name of the `acl` line it was on ("" for an anonymous ACL).
    pub acl_name: String,
}

thread_local! {
    /// Userlist arguments of the statement being parsed; the section parser takes them
    /// after each statement, so a reference made anywhere a sample is parsed is resolved.
    static PENDING: RefCell<Vec<PendingUserlist>> = const { RefCell::new(Vec::new()) };
}

/// The userlist arguments parsed since the last call.
pub fn take_userlist_refs() -> Vec<PendingUserlist> {
    PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// Marks the userlist arguments parsed since the last mark as named by an ACL (`true`)
/// or by a sample expression.
pub fn mark_userlist_refs(in_acl: bool) {
    super::counters::mark_table_refs(in_acl);
    PENDING.with(|p| {
        for r in p.borrow_mut().iter_mut().filter(|r| r.in_acl.is_none()) {
            r.in_acl = Some(in_acl);
        }
    });
}

/// Records the group patterns of the `http_auth_group` ACL just parsed.
pub fn note_userlist_groups(groups: &[Box<[u8]>]) {
    PENDING.with(|p| {
        if let Some(last) = p.borrow_mut().last_mut() {
            last.groups = Some(groups.to_vec());
        }
    });
}

fn userlist_arg(kw: &str, a: Option<&Arg>) -> UserlistRef {
    let r = UserlistRef::new(a.map_or("", Arg::str));
    PENDING.with(|p| {
        p.borrow_mut().push(PendingUserlist {
            r: r.clone(),
            kw: kw.to_string(),
            in_acl: None,
            groups: None,
            acl_name: String::new(),
        })
    });
    r
}

/// Why a sample expression was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SampleError {
    /// haproxy refuses it too: its message.
    Invalid(String),
    /// haproxy accepts it; haproxide does not evaluate it: what to name.
    Unsupported(String),
}

/// Sample fetches of haproxy 2.6 that haproxide does not evaluate: refused as
/// unsupported rather than unknown.
const OTHER_FETCHES: &[&str] = &[
    "req.payload_lv",
    "payload_lv",
    "req.rdp_cookie",
    "rdp_cookie",
    "req.ssl_alpn",
    "req.ssl_ec_ext",
    "req.ssl_st_ext",
    "ssl_c_s_dn",
    "ssl_c_i_dn",
    "ssl_f_s_dn",
    "ssl_f_i_dn",
    "fc_rcvd_proxy",
    "so_id",
    "so_name",
    "be_id",
    "fe_id",
    "srv_id",
    "srv_name",
    "rand",
    "date",
    "ipv4",
    "ipv6",
    "stopping",
    "wait_end",
    "req.proto_http",
    "req_proto_http",
    "req.body",
    "req.body_param",
    "capture.req.hdr",
    "http_first_req",
    "hdr_ip",
    "req.hdr_ip",
    "hdr_val",
    "req.hdr_val",
    "res.cook",
    "scook",
    "res.ver",
    "resp_ver",
    "be_conn",
    "fe_conn",
    "connslots",
    "queue",
    "avg_queue",
    "srv_conn",
    "srv_queue",
    "ssl_bc",
    "dst_is_local",
    "src_is_local",
];

/// Converters of haproxy 2.6 that haproxide does not apply.
const OTHER_CONVERTERS: &[&str] = &[
    "map_regm",
    "digest",
    "hmac",
    "in_table",
    "json_query",
    "secure_memcmp",
    "base2",
    "ltime",
    "utime",
    "set-var",
    "unset-var",
    "protobuf",
    "ungrpc",
    "debug",
    "srv_queue",
    "nbsrv",
    "language",
    "jwt_header_query",
    "jwt_payload_query",
    "jwt_verify",
    "capture-req",
    "capture-res",
    "fix_is_valid",
    "fix_tag_value",
    "aes_gcm_dec",
];

/// A fetch or converter argument's type, for haproxy's messages.
#[derive(Clone, Copy)]
pub(super) enum ArgType {
    /// `integer`
    Int,
    /// `string`
    Str,
    /// `table`: a proxy's stick table by name (empty: the current proxy's).
    Tab,
}

impl ArgType {
    fn name(self) -> &'static str {
        match self {
            ArgType::Int => "integer",
            ArgType::Str => "string",
            ArgType::Tab => "table",
        }
    }
}

/// A parsed argument.
#[derive(Clone)]
pub(super) enum Arg {
    /// An integer.
    Int(i64),
    /// A string (or a table's name).
    Str(String),
}

impl Arg {
    pub(super) fn int(&self) -> i64 {
        match self {
            Arg::Int(v) => *v,
            Arg::Str(_) => 0,
        }
    }
    pub(super) fn str(&self) -> &str {
        match self {
            Arg::Str(s) => s,
            Arg::Int(_) => "",
        }
    }
}

/// A whole argument as an integer (haproxy's `read_int64`, which must read it all).
pub(super) fn read_int64(a: &str) -> Option<i64> {
    let (v, n) = crate::numbers::read_int64(a.as_bytes());
    let signed = a.starts_with(['-', '+']) as usize;
    (n > 0 && n + signed == a.len()).then_some(v)
}

/// haproxy's `make_arg_list`: `inner` is the text between the parentheses (None: no
/// parentheses); `spec` the types, the first `mandatory` required.
pub(super) fn make_args(
    inner: Option<&str>,
    spec: &[ArgType],
    mandatory: usize,
) -> Result<Vec<Arg>, String> {
    make_args_at(inner, spec, mandatory).map_err(|(_, e)| e)
}

/// [`make_args`] with the 1-based position of the argument an error is about (the
/// "invalid arg N" of converter messages).
pub(super) fn make_args_at(
    inner: Option<&str>,
    spec: &[ArgType],
    mandatory: usize,
) -> Result<Vec<Arg>, (usize, String)> {
    let words: Vec<String> = match inner {
        // Without parentheses a mandatory string is empty; an integer is missing.
        None => match spec.first() {
            Some(ArgType::Int) if mandatory > 0 => {
                return Err((
                    1,
                    "expected type 'integer' at position 1, but got nothing".into(),
                ))
            }
            Some(ArgType::Str | ArgType::Tab) if mandatory > 0 => vec![String::new()],
            _ => Vec::new(),
        },
        Some(s) => split_args(s),
    };
    // haproxy stops where its list (or an empty integer) ends: what follows, from the
    // comma on, is where it expected the closing parenthesis.
    // `pos`: the argument haproxy was reading; `comma`: which comma it stopped at.
    let unexpected = |pos: usize, comma: Option<usize>| {
        let inner = inner.unwrap_or("");
        let at = comma.map_or(Some(0), |c| inner.match_indices(',').nth(c).map(|m| m.0));
        let at = at.unwrap_or(inner.len());
        (pos, format!("expected ')' before '{})'", &inner[at..]))
    };
    if words.len() > spec.len() {
        // A list of none: the whole text is unexpected.
        return Err(unexpected(spec.len() + 1, spec.len().checked_sub(1)));
    }
    let mut out = Vec::with_capacity(words.len());
    for (i, (w, t)) in words.iter().zip(spec).enumerate() {
        out.push(match t {
            // An empty integer ends the list when the arguments so far suffice (arg.c's
            // empty_err: `djb2()` has no argument at all).
            ArgType::Int if w.is_empty() => {
                if i >= mandatory && i + 1 < words.len() {
                    return Err(unexpected(i + 1, Some(i)));
                }
                if i >= mandatory {
                    return Ok(out);
                }
                return Err((
                    i + 1,
                    format!(
                        "expected type 'integer' at position {}, but got nothing",
                        i + 1
                    ),
                ));
            }
            ArgType::Int => match read_int64(w) {
                Some(v) => Arg::Int(v),
                None => {
                    return Err((
                        i + 1,
                        format!(
                            "failed to parse '{w}' as type 'integer' at position {}",
                            i + 1
                        ),
                    ))
                }
            },
            ArgType::Str | ArgType::Tab => Arg::Str(w.clone()),
        });
    }
    if words.len() < mandatory {
        let t = spec[words.len()].name();
        return Err((
            words.len() + 1,
            format!(
                "missing arguments (got {}/{mandatory}), type '{t}' expected",
                words.len()
            ),
        ));
    }
    Ok(out)
}

/// Splits arguments at commas as haproxy 2.6's `make_arg_list` reads them: quotes group
/// (and go), a backslash outside single quotes escapes `\\`, a blank and the quotes and
/// gives CR, LF or tab for `r`, `n`, `t`; before anything else it stays as it is.
fn split_args(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut sq, mut dq) = (false, false);
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        let cur = out.last_mut().expect("never empty");
        match c {
            '"' if !sq => dq = !dq,
            '\'' if !dq => sq = !sq,
            '\\' if !sq && i < b.len() => {
                let n = b[i];
                match n {
                    '\\' | ' ' | '"' | '\'' => cur.push(n),
                    'r' => cur.push('\r'),
                    'n' => cur.push('\n'),
                    't' => cur.push('\t'),
                    // A lone backslash: the next character is read as any other.
                    _ => {
                        cur.push('\\');
                        continue;
                    }
                }
                i += 1;
            }
            ',' if !sq && !dq => out.push(String::new()),
            c => cur.push(c),
        }
    }
    out
}

/// is not followed by a comma (haproxy's "missing comma").
fn split_items(expr: &str) -> Result<Vec<(&str, Option<&str>)>, String> {
    let mut items = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && b[i] != b'(' && b[i] != b',' {
            i += 1;
        }
        let name = &expr[start..i];
        let mut inner = None;
        if i < b.len() && b[i] == b'(' {
            let open = i + 1;
            let mut quote = None;
            let mut j = open;
            while j < b.len() {
                match (b[j], quote) {
                    (b'\\', _) => j += 1,
                    (q @ (b'\'' | b'"'), None) => quote = Some(q),
                    (q, Some(o)) if q == o => quote = None,
                    (b')', None) => break,
                    _ => {}
                }
                j += 1;
            }
            if j >= b.len() {
                return Err(format!("missing closing ')' after arguments to '{name}'"));
            }
            inner = Some(&expr[open..j]);
            i = j + 1;
            if i < b.len() && b[i] != b',' {
                return Err(format!("missing comma after '{name}'"));
            }
        }
        items.push((name, inner));
        if i >= b.len() {
            break;
        }
        i += 1;
        if i >= b.len() {
            // A trailing comma: haproxy reads nothing more.
            break;
        }
    }
    Ok(items)
}

/// The sample expression starting at word `i`: a word ending with ',' continues in the
/// next one, as haproxy reads `req.payload(0,0), mqtt_is_valid`. Returns it and the index
/// of the word after it.
pub fn expr_words(words: &[String], mut i: usize) -> (String, usize) {
    let mut e = String::new();
    while let Some(w) = words.get(i) {
        e.push_str(w);
        i += 1;
        // Only a comma between converters continues; inside parentheses it does not.
        let depth = e.chars().fold(0i32, |d, c| match c {
            '(' => d + 1,
            ')' => d - 1,
            _ => d,
        });
        if !w.ends_with(',') || depth != 0 {
            break;
        }
    }
    (e, i)
}

/// A string argument's bytes; None when absent or empty.
fn str_arg(a: Option<&Arg>) -> Option<Box<[u8]>> {
    a.map(|a| a.str().as_bytes().to_vec().into_boxed_slice())
        .filter(|n| !n.is_empty())
}

fn name_arg(a: Option<&Arg>) -> Option<Box<[u8]>> {
    a.map(|a| a.str().to_ascii_lowercase().into_bytes().into_boxed_slice())
        .filter(|n| !n.is_empty())
}

/// A fetch by name: its value and type, or haproxy's message (without the
/// `fetch method` prefix).
fn fetch(name: &str, inner: Option<&str>) -> Result<(Fetch, SmpType), SampleError> {
    use ArgType::{Int, Str};
    if let Some(r) = super::counters::fetch(name, inner) {
        return r;
    }
    let args = |spec: &[ArgType], m: usize| {
        make_args(inner, spec, m)
            .map_err(|e| SampleError::Invalid(format!("fetch method '{name}' : {e}")))
    };
    let hdr = |dir, full, a: &[Arg]| HdrArg {
        name: name_arg(a.first()),
        occ: a.get(1).map_or(0, Arg::int),
        full,
        dir,
    };
    let none = |f: Fetch, t: SmpType| args(&[], 0).map(|_| (f, t));
    Ok(match name {
        "always_true" => none(Fetch::Bool(true), SmpType::Bool)?,
        "always_false" => none(Fetch::Bool(false), SmpType::Bool)?,
        // smp_check_const_bool: a string, true/false/1/0 in any case.
        "bool" => {
            let a = args(&[Str], 1)?;
            let v =
                match a[0].str().to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(SampleError::Invalid(
                        "invalid args in fetch method 'bool' : Expects 'true', 'false', '0' or '1'"
                            .into(),
                    )),
                };
            (Fetch::Bool(v), SmpType::Bool)
        }
        "int" => (Fetch::Int(args(&[Int], 1)?[0].int()), SmpType::Int),
        "str" => {
            let a = args(&[Str], 1)?;
            (Fetch::Str(a[0].str().as_bytes().into()), SmpType::Str)
        }
        "src" => none(Fetch::Src, SmpType::Ip)?,
        "src_port" => none(Fetch::SrcPort, SmpType::Int)?,
        "dst" => none(Fetch::Dst, SmpType::Ip)?,
        "dst_port" => none(Fetch::DstPort, SmpType::Int)?,
        "fe_name" => none(Fetch::FeName, SmpType::Str)?,
        "be_name" => none(Fetch::BeName, SmpType::Str)?,
        "unique-id" => none(Fetch::UniqueId, SmpType::Str)?,
        "nbsrv" => {
            if inner.is_some() {
                return Err(SampleError::Unsupported(format!(
                    "'{name}(<backend>)' (the current backend's only)"
                )));
            }
            (Fetch::Nbsrv(None), SmpType::Int)
        }
        "http_auth" => {
            let a = args(&[Str], 0)?;
            (
                Fetch::HttpAuth(userlist_arg(name, a.first())),
                SmpType::Bool,
            )
        }
        "http_auth_group" => {
            let a = args(&[Str], 0)?;
            (
                Fetch::HttpAuthGroup(userlist_arg(name, a.first())),
                SmpType::Str,
            )
        }
        "http_auth_type" => none(Fetch::HttpAuthType, SmpType::Str)?,
        "http_auth_user" => none(Fetch::HttpAuthUser, SmpType::Str)?,
        "http_auth_pass" => none(Fetch::HttpAuthPass, SmpType::Str)?,
        "env" => {
            let a = args(&[Str], 1)?;
            (Fetch::Env(a[0].str().into()), SmpType::Str)
        }
        "req.len" | "req_len" => none(Fetch::ReqLen, SmpType::Int)?,
        "req.payload" | "payload" => {
            let a = args(&[Int, Int], 2)?;
            // haproxy keeps both as unsigned ints.
            let p = Payload {
                offset: a[0].int() as u32,
                length: a[1].int() as u32,
            };
            (Fetch::Payload(p), SmpType::Bin)
        }
        "res.len" => none(Fetch::ResLen, SmpType::Int)?,
        "res.payload" => {
            let a = args(&[Int, Int], 2)?;
            let p = Payload {
                offset: a[0].int() as u32,
                length: a[1].int() as u32,
            };
            (Fetch::ResPayload(p), SmpType::Bin)
        }
        "req.ssl_sni" | "req_ssl_sni" => none(Fetch::ReqSslSni, SmpType::Str)?,
        "req.ssl_hello_type" | "req_ssl_hello_type" => none(Fetch::ReqSslHelloType, SmpType::Int)?,
        "req.ssl_ver" | "req_ssl_ver" => none(Fetch::ReqSslVer, SmpType::Int)?,
        "ssl_fc" => none(Fetch::SslFc, SmpType::Bool)?,
        "ssl_fc_alpn" => none(Fetch::SslFcAlpn, SmpType::Str)?,
        "ssl_fc_sni" => none(Fetch::SslFcSni, SmpType::Str)?,
        "ssl_fc_protocol" => none(Fetch::SslFcProtocol, SmpType::Str)?,
        "ssl_c_used" => none(Fetch::SslCUsed, SmpType::Bool)?,
        "ssl_fc_cipher" => none(Fetch::Tls(TlsFetch::Cipher), SmpType::Str)?,
        "ssl_fc_has_sni" => none(Fetch::Tls(TlsFetch::HasSni), SmpType::Bool)?,
        "ssl_fc_has_crt" => none(Fetch::Tls(TlsFetch::HasCrt), SmpType::Bool)?,
        "ssl_fc_is_resumed" => none(Fetch::Tls(TlsFetch::IsResumed), SmpType::Bool)?,
        "ssl_fc_use_keysize" | "ssl_fc_alg_keysize" => {
            none(Fetch::Tls(TlsFetch::KeySize), SmpType::Int)?
        }
        "ssl_c_verify" | "ssl_c_err" | "ssl_c_ca_err" | "ssl_fc_err" => {
            none(Fetch::Tls(TlsFetch::Error), SmpType::Int)?
        }
        "fc_err" => none(Fetch::FcErr, SmpType::Int)?,
        "method" => none(Fetch::Method, SmpType::Meth)?,
        "path" => none(Fetch::Path, SmpType::Str)?,
        "base" => none(Fetch::Base, SmpType::Str)?,
        "url" => none(Fetch::Url, SmpType::Str)?,
        "query" => none(Fetch::Query, SmpType::Str)?,
        "req.ver" | "req_ver" => none(Fetch::ReqVer, SmpType::Str)?,
        "url_param" | "urlp" => {
            let a = args(&[Str, Str], 0)?;
            // The character the parameter list starts after (haproxy's default '?').
            let delim = a
                .get(1)
                .and_then(|d| d.str().bytes().next())
                .unwrap_or(b'?');
            let n = str_arg(a.first());
            (Fetch::UrlParam(n, delim), SmpType::Str)
        }
        "req.hdr" => (
            Fetch::Hdr(hdr(Dir::Req, false, &args(&[Str, Int], 0)?)),
            SmpType::Str,
        ),
        // `hdr` reads the side the rule runs on (the ACL keyword `hdr` is `req.hdr`).
        "hdr" => (
            Fetch::Hdr(hdr(Dir::Chn, false, &args(&[Str, Int], 0)?)),
            SmpType::Str,
        ),
        "req.fhdr" => (
            Fetch::Hdr(hdr(Dir::Req, true, &args(&[Str, Int], 0)?)),
            SmpType::Str,
        ),
        "res.hdr" | "shdr" => (
            Fetch::Hdr(hdr(Dir::Res, false, &args(&[Str, Int], 0)?)),
            SmpType::Str,
        ),
        "res.fhdr" => (
            Fetch::Hdr(hdr(Dir::Res, true, &args(&[Str, Int], 0)?)),
            SmpType::Str,
        ),
        "req.hdr_cnt" | "hdr_cnt" => (
            Fetch::HdrCnt(hdr(Dir::Req, false, &args(&[Str], 0)?)),
            SmpType::Int,
        ),
        "req.fhdr_cnt" => (
            Fetch::HdrCnt(hdr(Dir::Req, true, &args(&[Str], 0)?)),
            SmpType::Int,
        ),
        "res.hdr_cnt" | "shdr_cnt" => (
            Fetch::HdrCnt(hdr(Dir::Res, false, &args(&[Str], 0)?)),
            SmpType::Int,
        ),
        "res.fhdr_cnt" => (
            Fetch::HdrCnt(hdr(Dir::Res, true, &args(&[Str], 0)?)),
            SmpType::Int,
        ),
        "req.cook" | "cook" => {
            let a = args(&[Str], 0)?;
            let n = str_arg(a.first());
            (Fetch::Cook(n), SmpType::Str)
        }
        "status" => none(Fetch::Status, SmpType::Int)?,
        "res.comp" => none(Fetch::ResComp, SmpType::Bool)?,
        "res.comp_algo" => none(Fetch::ResCompAlgo, SmpType::Str)?,
        "var" => {
            let a = args(&[Str, Str], 1)?;
            let v = super::vars::var_name(a[0].str()).map_err(|e| {
                SampleError::Invalid(format!("invalid args in fetch method 'var' : {e}"))
            })?;
            let def = a.get(1).map(|d| d.str().as_bytes().into());
            (Fetch::Var(v, def), SmpType::Any)
        }
        n if OTHER_FETCHES.contains(&n) || n.starts_with("ssl_") => {
            return Err(SampleError::Unsupported(format!("fetch '{n}'")))
        }
        n => return Err(SampleError::Invalid(format!("unknown fetch method '{n}'"))),
    })
}

/// The MQTT CONNECT field a `mqtt_field_value` names.
fn mqtt_field(ty: &str, field: &str) -> Result<MqttField, SampleError> {
    const TYPES: [&str; 15] = [
        "connect",
        "connack",
        "publish",
        "puback",
        "pubrec",
        "pubrel",
        "pubcomp",
        "subscribe",
        "suback",
        "unsubscribe",
        "unsuback",
        "pingreq",
        "pingresp",
        "disconnect",
        "auth",
    ];
    let lt = ty.to_ascii_lowercase();
    let is_connect = lt == "connect" || lt == "1";
    let numeric_ok = lt.parse::<u8>().is_ok_and(|n| (1..=15).contains(&n));
    if !is_connect && !TYPES.contains(&lt.as_str()) && !numeric_ok {
        return Err(SampleError::Invalid(format!(
            "invalid args in converter 'mqtt_field_value' : Unknown MQTT type '{ty}'"
        )));
    }
    if !is_connect {
        return Err(SampleError::Unsupported(format!(
            "'mqtt_field_value({ty},{field})' (only CONNECT fields)"
        )));
    }
    Ok(match field.to_ascii_lowercase().as_str() {
        "protocol_name" => MqttField::ProtocolName,
        "protocol_version" => MqttField::ProtocolVersion,
        "flags" => MqttField::Flags,
        "keepalive" => MqttField::Keepalive,
        "client_identifier" => MqttField::ClientIdentifier,
        "will_topic" => MqttField::WillTopic,
        "will_payload" => MqttField::WillPayload,
        "username" => MqttField::Username,
        "password" => MqttField::Password,
        "17" | "33" | "39" | "34" | "25" | "23" | "21" | "22" | "24" | "1" | "2" | "3" | "8"
        | "9" | "38" => {
            return Err(SampleError::Unsupported(format!(
                "'mqtt_field_value(connect,{field})' (MQTT 5 properties)"
            )))
        }
        _ => {
            return Err(SampleError::Invalid(format!(
                "invalid args in converter 'mqtt_field_value' : Unknown MQTT field name '{field}' for packet type '{ty}'"
            )))
        }
    })
}

/// An `ipmask` argument: a prefix length or a dotted mask.
fn mask_arg(a: &str, v6: bool) -> Option<IpAddr> {
    if let Ok(bits) = a.parse::<u8>() {
        return if v6 {
            (bits <= 128).then(|| {
                IpAddr::V6(
                    (!0u128)
                        .checked_shl(128 - u32::from(bits))
                        .unwrap_or(0)
                        .into(),
                )
            })
        } else {
            (bits <= 32).then(|| {
                IpAddr::V4(
                    (!0u32)
                        .checked_shl(32 - u32::from(bits))
                        .unwrap_or(0)
                        .into(),
                )
            })
        };
    }
    a.parse().ok().filter(|ip: &IpAddr| ip.is_ipv6() == v6)
}

/// A converter by name applied to a sample of type `input`: the converter and its
/// output type.
fn conv(name: &str, inner: Option<&str>, input: SmpType) -> Result<(Conv, SmpType), String> {
    use ArgType::{Int, Str};
    if let Some(r) = super::counters::conv(name, inner) {
        return r;
    }
    // The input's type is checked before the arguments (sample.c's order).
    if let Some(want) = super::convert::input_type(name) {
        if !castable(input, want) {
            return Err(format!("converter '{name}' cannot be applied"));
        }
    }
    if let Some(r) = super::convert::conv(name, inner) {
        return r;
    }
    // The input's type before the arguments, as sample.c checks them.
    let early = match name {
        "ipmask" => Some(Takes::Ip),
        n if super::map::kind(n).is_some_and(|(how, _)| how == crate::ir::map::MapMatch::Ip) => {
            Some(Takes::Ip)
        }
        _ => None,
    };
    if early.is_some_and(|t| !t.accepts(input)) {
        return Err(format!("converter '{name}' cannot be applied"));
    }
    let invalid = |(p, e): (usize, String)| format!("invalid arg {p} in converter '{name}' : {e}");
    let args = |spec: &[ArgType], m: usize| make_args_at(inner, spec, m).map_err(invalid);
    let none = |c: Conv, t: SmpType| args(&[], 0).map(|_| (c, t));
    let (c, out, takes) = match name {
        "lower" => (none(Conv::Lower, SmpType::Str)?, SmpType::Str, Takes::Str),
        "upper" => (none(Conv::Upper, SmpType::Str)?, SmpType::Str, Takes::Str),
        "length" => (none(Conv::Length, SmpType::Int)?, SmpType::Int, Takes::Str),
        "hex" => (none(Conv::Hex, SmpType::Str)?, SmpType::Str, Takes::Bin),
        "base64" => (none(Conv::Base64, SmpType::Str)?, SmpType::Str, Takes::Bin),
        "url_dec" => (none(Conv::UrlDec, SmpType::Str)?, SmpType::Str, Takes::Str),
        "field" | "word" => {
            let a = args(&[Int, Str, Int], 2)?;
            let c = Conv::Field {
                index: a[0].int(),
                delims: a[1].str().as_bytes().into(),
                count: a.get(2).map_or(1, Arg::int),
                word: name == "word",
            };
            ((c, SmpType::Str), SmpType::Str, Takes::Str)
        }
        "bytes" => {
            let a = args(&[Int, Int], 1)?;
            let c = Conv::Bytes(a[0].int(), a.get(1).map(Arg::int));
            ((c, SmpType::Bin), SmpType::Bin, Takes::Bin)
        }
        "ipmask" => {
            let a = args(&[Str, Str], 1)?;
            let m4 = mask_arg(a[0].str(), false).ok_or_else(|| {
                format!(
                    "invalid arg 1 in converter 'ipmask' : invalid IPv4 mask '{}'",
                    a[0].str()
                )
            })?;
            let m6 = match a.get(1) {
                None => None,
                Some(m) => Some(mask_arg(m.str(), true).ok_or_else(|| {
                    format!(
                        "invalid arg 2 in converter 'ipmask' : invalid IPv6 mask '{}'",
                        m.str()
                    )
                })?),
            };
            ((Conv::IpMask(m4, m6), SmpType::Ip), SmpType::Ip, Takes::Ip)
        }
        "mqtt_is_valid" => (
            none(Conv::MqttIsValid, SmpType::Bool)?,
            SmpType::Bool,
            Takes::Bin,
        ),
        "mqtt_field_value" => {
            let a = args(&[Str, Str], 2)?;
            let f = mqtt_field(a[0].str(), a[1].str()).map_err(|e| match e {
                SampleError::Invalid(m) | SampleError::Unsupported(m) => m,
            })?;
            ((Conv::MqttField(f), SmpType::Str), SmpType::Str, Takes::Bin)
        }
        n if super::map::kind(n).is_some() => {
            let (how, out) = super::map::kind(n).expect("checked");
            let def_ty = if out == Some("int") { Int } else { Str };
            let a = args(&[Str, def_ty], 1)?;
            let default = match a.get(1) {
                None => None,
                Some(d) => {
                    let text = match d {
                        Arg::Int(i) => i.to_string(),
                        Arg::Str(s) => s.clone(),
                    };
                    Some(super::map::value(out, &text).ok_or_else(|| {
                        format!("invalid arg 2 in converter '{name}' : unable to parse '{text}'")
                    })?)
                }
            };
            let m = super::map::load(a[0].str(), how, out, default)
                .map_err(|m| format!("invalid args in converter '{name}' : {m}"))?;
            let ty = match out {
                Some("int") => SmpType::Int,
                Some(_) => SmpType::Ip,
                None => SmpType::Str,
            };
            let takes = if how == crate::ir::map::MapMatch::Ip {
                Takes::Ip
            } else {
                Takes::Str
            };
            ((Conv::Map(std::sync::Arc::new(m)), ty), ty, takes)
        }
        n if OTHER_CONVERTERS.contains(&n) => return Err(format!("\u{0}{n}")),
        n => return Err(format!("unknown converter '{n}'")),
    };
    if !takes.accepts(input) {
        return Err(format!("converter '{name}' cannot be applied"));
    }
    Ok((c.0, out))
}

/// What a converter's input must cast to.
#[derive(Clone, Copy)]
enum Takes {
    Str,
    Bin,
    Ip,
}

impl Takes {
    fn accepts(self, t: SmpType) -> bool {
        match self {
            Takes::Str | Takes::Bin => true,
            Takes::Ip => matches!(t, SmpType::Ip | SmpType::Str | SmpType::Int | SmpType::Any),
        }
    }
}

/// Whether haproxy casts a sample of type `from` to `to` (its `sample_casts` table).
pub fn castable(from: SmpType, to: SmpType) -> bool {
    use SmpType::*;
    !matches!(
        (from, to),
        (Bin, Int | Bool | Ip | Meth)
            | (Bool | Int, Meth)
            | (Ip, Bool | Meth)
            | (Meth, Int | Bool | Ip)
    )
}

/// A parsed sample expression and its output type.
pub struct Parsed {
    /// The expression.
    pub expr: SampleExpr,
    /// Its type.
    pub ty: SmpType,
}

/// Parses `expr`. `acl_kw` is the ACL keyword the fetch was named by (it prefixes the
/// messages as haproxy's ACL parser does); `fetch_name` is the fetch to use.
pub fn parse(expr: &str, fetch_name: Option<&str>) -> Result<Parsed, SampleError> {
    let items = split_items(expr).map_err(SampleError::Invalid)?;
    let (name, inner) = items[0];
    if name.is_empty() {
        return Err(SampleError::Invalid("missing fetch method".into()));
    }
    let (f, mut ty) =
        fetch(fetch_name.unwrap_or(name), inner).map_err(|e| match (e, fetch_name) {
            (SampleError::Invalid(m), Some(_)) => SampleError::Invalid(m.replacen(
                &format!("fetch method '{}' : ", fetch_name.unwrap_or("")),
                "",
                1,
            )),
            (e, _) => e,
        })?;
    let mut convs = Vec::new();
    for (cname, cinner) in &items[1..] {
        let (c, t) = conv(cname, *cinner, ty).map_err(|m| match m.strip_prefix('\u{0}') {
            Some(n) => SampleError::Unsupported(format!("converter '{n}'")),
            None => SampleError::Invalid(m),
        })?;
        convs.push(c);
        ty = t;
    }
    super::counters::name_converter_fetch(fetch_name.unwrap_or(name));
    Ok(Parsed {
        expr: SampleExpr { fetch: f, convs },
        ty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_and_converters() {
        let p = parse("req.hdr(Host,-1),lower,field(1,:)", None)
            .ok()
            .unwrap();
        assert_eq!(p.ty, SmpType::Str);
        let Fetch::Hdr(h) = &p.expr.fetch else {
            panic!()
        };
        assert_eq!(h.name.as_deref(), Some(&b"host"[..]));
        assert_eq!(h.occ, -1);
        assert_eq!(p.expr.convs.len(), 2);
        assert_eq!(
            parse("req.payload(0)", None).err(),
            Some(SampleError::Invalid(
                "fetch method 'req.payload' : missing arguments (got 1/2), type 'integer' expected"
                    .into()
            ))
        );
        assert_eq!(
            parse("path,lower(1)", None).err(),
            Some(SampleError::Invalid(
                "invalid arg 1 in converter 'lower' : expected ')' before '1)'".into()
            ))
        );
        assert_eq!(
            parse("path,field(x,/)", None).err(),
            Some(SampleError::Invalid(
                "invalid arg 1 in converter 'field' : failed to parse 'x' as type 'integer' at position 1".into()
            ))
        );
        assert_eq!(
            parse("path,field(1)", None).err(),
            Some(SampleError::Invalid(
                "invalid arg 2 in converter 'field' : missing arguments (got 1/2), type 'string' expected".into()
            ))
        );
        assert!(matches!(
            parse("path,hmac(sha256,a2V5)", None),
            Err(SampleError::Unsupported(_))
        ));
        assert!(matches!(
            parse("nosuch", None),
            Err(SampleError::Invalid(_))
        ));
        // make_arg_list: a backslash escapes only itself, a blank and the quotes, or
        // gives CR, LF, tab; before a comma it stays and the comma still splits.
        assert_eq!(
            split_args("'a,b',c\\,d"),
            vec!["a,b".to_string(), "c\\".into(), "d".into()]
        );
        assert_eq!(
            split_args("\"x\\\"y\",'\\n',\\t\\0"),
            vec!["x\"y".to_string(), "\\n".into(), "\t\\0".into()]
        );
    }
}
