//! Content inspection and stickiness: `tcp-request inspect-delay`, `tcp-request content
//! accept|reject`, `stick-table` and `stick on|match|store-request` (configuration.txt §4.2),
//! with the sample expressions they use (§7.3). The subset is what MQTT balancing needs:
//! `src`, `req.payload(o,l)`, and the converters `mqtt_is_valid` and `mqtt_field_value`.
//! Everything else HAProxy accepts there is refused by name at its line.

use super::units::{parse_size, parse_time_ms};
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind, StickRuleConf};
use crate::config::diag::Loc;
use crate::ir::{
    Acl, Cond, ContentRule, HashFn, HashType, MqttField, Payload, Sample, StickKey, StickTable,
};

/// Sample fetches HAProxy 2.6 knows that haproxide does not evaluate (refused as unsupported
/// rather than "unknown").
const OTHER_FETCHES: &[&str] = &[
    "dst",
    "dst_port",
    "src_port",
    "req.len",
    "req_len",
    "req.payload_lv",
    "req.ssl_sni",
    "req_ssl_sni",
    "req.ssl_hello_type",
    "req_ssl_hello_type",
    "req.ssl_ver",
    "req_ssl_ver",
    "req.rdp_cookie",
    "ssl_fc",
    "ssl_fc_sni",
    "ssl_c_s_dn",
    "ssl_c_used",
    "ssl_c_verify",
    "fc_rcvd_proxy",
    "so_id",
    "be_id",
    "fe_id",
    "int",
    "str",
    "bin",
    "bool",
    "always_true",
    "always_false",
    "env",
    "var",
    "rand",
    "date",
    "req.hdr",
    "hdr",
    "path",
    "url",
    "base",
    "src_conn_cur",
    "sc0_conn_cur",
    "wait_end",
    "req.proto_http",
    "req_proto_http",
    "ipv4",
    "ipv6",
    "meth",
    "stopping",
    "nbsrv",
    "srv_is_up",
    "table_cnt",
];

/// Converters HAProxy 2.6 knows that haproxide does not apply.
const OTHER_CONVERTERS: &[&str] = &[
    "lower",
    "upper",
    "ipmask",
    "hex",
    "base64",
    "crc32",
    "djb2",
    "sdbm",
    "wt6",
    "xxh3",
    "xxh32",
    "xxh64",
    "json",
    "bytes",
    "field",
    "word",
    "regsub",
    "map",
    "map_str",
    "map_beg",
    "map_sub",
    "map_ip",
    "lower",
    "length",
    "ltrim",
    "rtrim",
    "concat",
    "sha1",
    "sha2",
    "digest",
    "hmac",
    "table_gpc0",
    "in_table",
    "bool",
    "not",
    "and",
    "or",
    "xor",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "neg",
    "cpl",
    "odd",
    "even",
    "url_dec",
    "mqtt_is_valid",
    "mqtt_field_value",
    "json_query",
    "be2dec",
    "be2hex",
    "strcmp",
    "secure_memcmp",
];

/// Actions `tcp-request content` knows in HAProxy 2.6, as its error message lists them.
const CONTENT_ACTIONS: &str = "'accept', 'reject', 'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', 'ot-group', 'set-log-level', 'set-nice', 'switch-mode', 'use-service', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'do-resolve(*)', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-src', 'set-src-port', 'set-dst', 'set-dst-port', 'set-mark', 'set-tos', 'silent-drop', 'set-priority-class', 'set-priority-offset'";

/// A sample expression split into its fetch and converters, each with its arguments.
struct Expr<'a> {
    fetch: (&'a str, Vec<&'a str>),
    convs: Vec<(&'a str, Vec<&'a str>)>,
}

/// Splits `name(a,b),conv(c),conv2` at top-level commas (commas inside parentheses
/// separate arguments).
fn split_expr(word: &str) -> Option<Expr<'_>> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in word.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&word[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&word[start..]);
    let mut items = parts.into_iter().map(|p| match p.split_once('(') {
        Some((name, rest)) => {
            // Arguments end at the first ')', as HAProxy's argument parser stops there.
            let inner = &rest[..rest.find(')').unwrap_or(rest.len())];
            (name, inner.split(',').collect())
        }
        None => (p, Vec::new()),
    });
    let fetch = items.next()?;
    if depth != 0 {
        return None;
    }
    Some(Expr {
        fetch,
        convs: items.collect(),
    })
}

/// The sample expression starting at word `i`: a word ending with ',' continues in the
/// next one, as HAProxy reads `req.payload(0,0), mqtt_is_valid`. Returns it and the index
/// of the word after it.
fn expr_words(words: &[String], mut i: usize) -> (String, usize) {
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

/// A parsed sample, or the message to report.
pub(super) enum Parsed {
    Src,
    Payload(Payload),
    Mqtt(Payload, MqttField),
    Valid(Payload),
}

/// Why a sample expression was refused.
pub(super) enum SampleError {
    /// HAProxy refuses it too: its message, after `'<kw>': `.
    Invalid(String),
    /// HAProxy accepts it; haproxide does not evaluate it: what to name.
    Unsupported(String),
}

/// An integer argument as haproxy reads it (`read_int64`: saturating at the 64-bit
/// limits), then cut to the `unsigned int` `req.payload` keeps: `18446744073709551615`
/// is valid and means 0xffffffff, a length that can never match.
fn int_arg(fetch: &str, args: &[&str], pos: usize) -> Result<u32, SampleError> {
    let a = args.get(pos - 1).copied().unwrap_or("");
    let bad = || {
        SampleError::Invalid(format!(
            "fetch method '{fetch}' : failed to parse '{a}' as type 'integer' at position {pos}"
        ))
    };
    let (neg, digits) = match a.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, a),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mag = digits.bytes().fold(0u64, |v, b| {
        v.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    });
    let v: i64 = if neg {
        if mag > 1 << 63 {
            i64::MIN
        } else {
            (mag as i64).wrapping_neg()
        }
    } else {
        mag.min(i64::MAX as u64) as i64
    };
    Ok(v as u32)
}

fn mqtt_field(args: &[&str]) -> Result<MqttField, SampleError> {
    let ty = args.first().copied().unwrap_or("");
    let field = args.get(1).copied().unwrap_or("");
    let known_type = [
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
    if !is_connect && !known_type.contains(&lt.as_str()) && !numeric_ok {
        return Err(SampleError::Invalid(format!(
            "invalid args in converter 'mqtt_field_value' : Unknown MQTT type '{ty}'"
        )));
    }
    if !is_connect {
        return Err(SampleError::Unsupported(format!(
            "'mqtt_field_value({ty},{field})' (only CONNECT fields)"
        )));
    }
    let f = match field.to_ascii_lowercase().as_str() {
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
    };
    Ok(f)
}

/// Parses the sample expressions haproxide evaluates.
pub(super) fn parse_sample(word: &str) -> Result<Parsed, SampleError> {
    let Some(e) = split_expr(word) else {
        // An argument list left open: HAProxy names the converter (or fetch) and the
        // argument it stopped at.
        let open = word.rfind('(').unwrap_or(0);
        let name = word[..open].rsplit(',').next().unwrap_or("");
        let n = word[open..].matches(',').count() + 1;
        let what = if word[..open].contains(',') {
            "converter"
        } else {
            "fetch method"
        };
        return Err(SampleError::Invalid(format!(
            "invalid arg {n} in {what} '{name}' : expected ')'"
        )));
    };
    let (name, args) = &e.fetch;
    let mut cur = match *name {
        "src" => Parsed::Src,
        "req.payload" | "req_payload" => {
            let offset = int_arg(name, args, 1)?;
            let length = int_arg(name, args, 2)?;
            Parsed::Payload(Payload { offset, length })
        }
        n if OTHER_FETCHES.contains(&n) => {
            return Err(SampleError::Unsupported(format!("fetch method '{n}'")))
        }
        n => return Err(SampleError::Invalid(format!("unknown fetch method '{n}'"))),
    };
    for (conv, args) in &e.convs {
        cur = match (*conv, cur) {
            ("mqtt_field_value", Parsed::Payload(p)) => Parsed::Mqtt(p, mqtt_field(args)?),
            ("mqtt_is_valid", Parsed::Payload(p)) => Parsed::Valid(p),
            (c, _) if OTHER_CONVERTERS.contains(&c) => {
                return Err(SampleError::Unsupported(format!("converter '{c}' here")))
            }
            (c, _) => return Err(SampleError::Invalid(format!("unknown converter '{c}'"))),
        };
    }
    Ok(cur)
}

impl Parser {
    fn sample_error(&mut self, loc: &Loc, kw: &str, e: SampleError) {
        match e {
            SampleError::Invalid(m) => self.alert(loc, format!("'{kw}': {m}")),
            SampleError::Unsupported(what) => {
                self.unsupported(loc, &format!("{what} in '{kw}'"), "sample expressions")
            }
        }
    }

    /// `balance hash <expr>`: the fetches haproxide evaluates (`src`, `req.payload`, an
    /// MQTT CONNECT field). haproxy reads the expression when it checks the proxy, so a
    /// bad one is reported at the proxy's line.
    pub(super) fn balance_hash(&mut self, p: &ProxyConf, loc: &Loc, expr: &str) -> Option<Sample> {
        if expr.is_empty() {
            self.alert(loc, "balance hash requires a sample expression.");
            return None;
        }
        match parse_sample(expr) {
            Ok(Parsed::Src) => Some(Sample::Src),
            Ok(Parsed::Payload(pl)) => Some(Sample::Payload(pl)),
            Ok(Parsed::Mqtt(pl, f)) => Some(Sample::MqttField(pl, f)),
            Ok(Parsed::Valid(_)) => {
                self.unsupported(
                    loc,
                    &format!("'balance hash {expr}'"),
                    "a boolean as hash input",
                );
                None
            }
            Err(SampleError::Invalid(m)) => {
                let msg = format!(
                    "{} '{}' [{}]: failed to parse 'balance hash' expression '{expr}' in : {m}.",
                    p.kind.proxy_word(),
                    p.name,
                    p.loc
                );
                self.push(
                    crate::config::diag::Diagnostic::new(
                        crate::config::diag::Level::Alert,
                        Some(loc.clone()),
                        crate::config::diag::LocStyle::None,
                        msg,
                    )
                    .checked(),
                );
                None
            }
            Err(e) => {
                self.sample_error(loc, "balance hash", e);
                None
            }
        }
    }

    /// `hash-type <map-based|consistent> [<function> [avalanche]]`.
    pub(super) fn parse_hash_type(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let mut h = HashType::default();
        match stmt.arg(1) {
            "consistent" => h.consistent = true,
            "map-based" => {}
            "avalanche" => return self.alert(loc, "experimental feature 'hash-type avalanche' is not supported anymore, please use 'hash-type map-based sdbm avalanche' instead."),
            _ => return self.alert(loc, "'hash-type' only supports 'consistent' and 'map-based'."),
        }
        // `consistent` alone is sdbm with avalanche (haproxy's default for the ring).
        h.avalanche = h.consistent && stmt.arg(2).is_empty();
        h.function =
            match stmt.arg(2) {
                "" | "sdbm" => HashFn::Sdbm,
                "djb2" => HashFn::Djb2,
                "wt6" => HashFn::Wt6,
                "crc32" => HashFn::Crc32,
                _ => return self.alert(
                    loc,
                    "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.",
                ),
            };
        match stmt.arg(3) {
            "" => {}
            "avalanche" => h.avalanche = true,
            _ => {
                return self.alert(
                    loc,
                    "'hash-type' only supports 'avalanche' as a modifier for hash functions.",
                )
            }
        }
        p.hash_type = Some(h);
    }

    /// `stick-table type <type> [len <n>] size <n> [expire <t>] [nopurge] …`
    pub(super) fn parse_stick_table(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let mut key = None;
        let (mut size, mut expire, mut nopurge) = (None, None, false);
        let mut i = 1;
        while i < stmt.words.len() {
            let w = stmt.arg(i);
            let v = stmt.arg(i + 1);
            match w {
                "type" => {
                    let k = match v {
                        "ip" => StickKey::Ip,
                        "ipv6" => StickKey::Ipv6,
                        "integer" => StickKey::Integer,
                        "string" | "binary" => {
                            let mut len = 32;
                            if stmt.arg(i + 2) == "len" {
                                match stmt.arg(i + 3).parse::<usize>() {
                                    Ok(n) if n > 0 => len = n,
                                    _ => {
                                        let bad = stmt.arg(i + 3);
                                        return self.alert(
                                            loc,
                                            format!("stick-table: unknown type '{bad}'."),
                                        );
                                    }
                                }
                                i += 2;
                            }
                            if v == "string" {
                                StickKey::String(len)
                            } else {
                                StickKey::Binary(len)
                            }
                        }
                        _ => return self.alert(loc, format!("stick-table: unknown type '{v}'.")),
                    };
                    key = Some(k);
                    i += 2;
                }
                "size" => {
                    match parse_size(v) {
                        Some(n) => size = Some(n),
                        None => {
                            return self.alert(
                                loc,
                                format!(
                                    "stick-table: unexpected character '{}' in argument of 'size'.",
                                    v.chars().find(|c| !c.is_ascii_digit()).unwrap_or(' ')
                                ),
                            )
                        }
                    }
                    i += 2;
                }
                "expire" => {
                    match parse_time_ms(v) {
                        Ok(ms) => expire = Some(std::time::Duration::from_millis(ms)),
                        Err(_) => return self.alert(loc, format!("stick-table: unexpected character in argument of 'expire' : '{v}'.")),
                    }
                    i += 2;
                }
                "nopurge" => {
                    nopurge = true;
                    i += 1;
                }
                "peers" | "store" | "srvkey" | "write-to" | "recv-only" => {
                    return self.unsupported(
                        loc,
                        &format!("'stick-table … {w}'"),
                        "only the server a key sticks to is stored",
                    );
                }
                _ => return self.alert(loc, format!("stick-table: unknown argument '{w}'.")),
            }
        }
        let Some(key) = key else {
            return self.alert(loc, "stick-table: missing type.");
        };
        // haproxy tests the size, not its presence: `size 0` is missing too.
        let Some(size) = size.filter(|&n| n > 0) else {
            return self.alert(loc, "stick-table: missing size.");
        };
        p.stick_table = Some(StickTable {
            key,
            size,
            expire,
            nopurge,
        });
    }

    /// `stick on|match|store-request <sample> [table <name>]`
    pub(super) fn parse_stick(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let (lookup, store) = match stmt.arg(1) {
            "on" => (true, true),
            "match" => (true, false),
            "store-request" => (false, true),
            "store-response" => {
                return self.unsupported(loc, "'stick store-response'", "keys from server data")
            }
            _ => return self.alert(loc, "'stick' expects 'on', 'match', or 'store'."),
        };
        let (expr, mut i) = expr_words(stmt.words, 2);
        let sample = match parse_sample(&expr) {
            Ok(Parsed::Src) => Sample::Src,
            Ok(Parsed::Mqtt(pl, f)) => Sample::MqttField(pl, f),
            Ok(Parsed::Payload(_)) | Ok(Parsed::Valid(_)) => {
                return self.unsupported(
                    loc,
                    &format!("'stick {} {expr}'", stmt.arg(1)),
                    "keys are src or an MQTT CONNECT field",
                )
            }
            Err(e) => return self.sample_error(loc, "stick", e),
        };
        let mut table = None;
        while i < stmt.words.len() {
            match stmt.arg(i) {
                "table" => {
                    table = Some(stmt.arg(i + 1).to_string());
                    i += 2;
                }
                "if" | "unless" => {
                    return self.unsupported(loc, "'stick … if|unless'", "ACL conditions")
                }
                w => return self.alert(loc, format!("'stick': unknown argument '{w}'.")),
            }
        }
        p.stick_rules.push(StickRuleConf {
            lookup,
            store,
            sample,
            table,
            loc: loc.clone(),
        });
    }

    /// `tcp-request inspect-delay <time>` and `tcp-request content accept|reject [cond]`.
    pub(super) fn parse_tcp_request(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let px = format!("{} '{}'", p.kind.proxy_word(), p.name);
        // Rules live in named defaults only (a proxy takes them with `from`).
        if p.kind == ProxyKind::Defaults && p.name.is_empty() {
            return self.alert(
                loc,
                format!(
                    "tcp-request {} is not allowed in anonymous 'defaults' sections",
                    stmt.arg(1)
                ),
            );
        }
        match stmt.arg(1) {
            "inspect-delay" => match parse_time_ms(stmt.arg(2)) {
                Ok(ms) => p.inspect.delay = Some(std::time::Duration::from_millis(ms)),
                Err(_) => self.alert(loc, format!("'tcp-request inspect-delay' expects a positive delay in milliseconds, in {px}")),
            },
            "content" => {
                let action = stmt.arg(2);
                let accept = match action {
                    "accept" => true,
                    "reject" => false,
                    a if CONTENT_ACTIONS.contains(&format!("'{a}'")) || a.starts_with("track-sc") || a.contains('(') => {
                        return self.unsupported(loc, &format!("'tcp-request content {a}'"), "only accept and reject");
                    }
                    a => return self.alert(loc, format!("'tcp-request content' expects {CONTENT_ACTIONS} in {px} (got '{a}').\n")),
                };
                let cond = match stmt.words.get(3).map(String::as_str) {
                    None => None,
                    Some(w @ ("if" | "unless")) => {
                        let rest: Vec<&str> = stmt.words[4..].iter().map(String::as_str).collect();
                        let (expr, end) = expr_words(stmt.words, 5);
                        let expr = expr.as_str();
                        if rest.first() != Some(&"{") || end + 1 != stmt.words.len() || stmt.arg(end) != "}" {
                            return self.unsupported(loc, &format!("'tcp-request content {action} {w} {}'", rest.join(" ")), "conditions are one anonymous ACL: { req.payload(0,0),mqtt_is_valid }");
                        }
                        match parse_sample(expr) {
                            Ok(Parsed::Valid(pl)) => Some(Cond {
                                negate: w == "unless",
                                acl: Acl::MqttIsValid(pl),
                            }),
                            Ok(_) => {
                                return self.unsupported(loc, &format!("ACL '{expr}'"), "conditions are one anonymous ACL: { req.payload(0,0),mqtt_is_valid }")
                            }
                            Err(SampleError::Invalid(m)) => {
                                return self.alert(loc, format!("'tcp-request content {action}' : error detected in {px} while parsing '{w}' condition : {m} in ACL expression '{expr}'"));
                            }
                            Err(e) => return self.sample_error(loc, "tcp-request content", e),
                        }
                    }
                    Some(w) => {
                        return self.alert(loc, format!("'tcp-request content {action}' expects 'if', 'unless' or nothing in {px} (got '{w}')."))
                    }
                };
                p.inspect.rules.push(ContentRule { accept, cond });
            }
            "connection" | "session" => self.unsupported(loc, &format!("'tcp-request {}'", stmt.arg(1)), "rules before a session exists"),
            w => self.alert(loc, format!("'tcp-request' expects 'inspect-delay', 'connection', or 'content' in {px} (got '{w}').")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples() {
        assert!(matches!(
            parse_sample("req.payload(0,0),mqtt_field_value(connect,client_identifier)"),
            Ok(Parsed::Mqtt(
                Payload {
                    offset: 0,
                    length: 0
                },
                MqttField::ClientIdentifier
            ))
        ));
        assert!(matches!(parse_sample("src"), Ok(Parsed::Src)));
        assert!(matches!(
            parse_sample("req.payload(0,0),mqtt_is_valid"),
            Ok(Parsed::Valid(_))
        ));
        // The full-width comma of EMQX's published page is not a separator.
        let Err(SampleError::Invalid(m)) = parse_sample("req.payload(0\u{ff0c}0)") else {
            panic!()
        };
        assert_eq!(m, "fetch method 'req.payload' : failed to parse '0\u{ff0c}0' as type 'integer' at position 1");
        assert!(matches!(
            parse_sample("dst"),
            Err(SampleError::Unsupported(_))
        ));
        assert!(matches!(
            parse_sample("nosuch"),
            Err(SampleError::Invalid(_))
        ));
    }
}
