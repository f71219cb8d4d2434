//! Content inspection and stickiness: `tcp-request inspect-delay`, `tcp-request content
//! accept|reject`, `stick-table` and `stick on|match|store-request` (configuration.txt §4.2),
//! with the sample expressions they use (§7.3). The subset is what MQTT balancing needs:
//! `src`, `req.payload(o,l)`, and the converters `mqtt_is_valid` and `mqtt_field_value`.
//! Everything else HAProxy accepts there is refused by name at its line.

use super::acl::AclError;
use super::sample::{self, expr_words, SampleError};
use super::units::{parse_size, parse_time_ms, TimeError};
use super::{Parser, Stmt};
use crate::config::ast::{ProxyConf, ProxyKind, StickRuleConf};
use crate::config::diag::Loc;
use crate::config::diag::{Diagnostic, LocStyle};
use crate::ir::acl::{Conv, Fetch};
use crate::ir::{
    ContentAction, ContentRule, HashFn, HashType, MqttField, Payload, Sample, StickKey, StickTable,
};

/// Actions `tcp-request content` knows in HAProxy 2.6, as its error message lists them.
const CONTENT_ACTIONS: &str = "'accept', 'reject', 'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', 'ot-group', 'set-log-level', 'set-nice', 'switch-mode', 'use-service', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'send-spoe-group', 'do-resolve(*)', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-src', 'set-src-port', 'set-dst', 'set-dst-port', 'set-mark', 'set-tos', 'silent-drop', 'set-priority-class', 'set-priority-offset'";

/// Actions `tcp-request connection` and `session` know in HAProxy 2.6, as their error
/// message lists them.
const CONN_ACTIONS: &str = "'accept', 'reject', 'capture', 'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-dst', 'set-dst-port', 'set-mark', 'set-src', 'set-src-port', 'set-tos', 'silent-drop'";

/// Whether `word` leaves an argument list open.
fn unclosed(word: &str) -> bool {
    word.chars().fold(0i32, |d, c| match c {
        '(' => d + 1,
        ')' => d - 1,
        _ => d,
    }) != 0
}

/// A parsed sample, or the message to report.
pub(super) enum Parsed {
    Src,
    Payload(Payload),
    Mqtt(Payload, MqttField),
    Valid,
}

/// Parses the sample expressions haproxide evaluates.
pub(super) fn parse_sample(word: &str) -> Result<Parsed, SampleError> {
    if unclosed(word) {
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
    }
    // The condition language's parser reads it; stick keys and hashes take its subset.
    let p = sample::parse(word, None)?;
    match (&p.expr.fetch, p.expr.convs.as_slice()) {
        (Fetch::Src, []) => Ok(Parsed::Src),
        (Fetch::Payload(pl), []) => Ok(Parsed::Payload(*pl)),
        (Fetch::Payload(pl), [Conv::MqttField(f)]) => Ok(Parsed::Mqtt(*pl, *f)),
        (Fetch::Payload(_), [Conv::MqttIsValid]) => Ok(Parsed::Valid),
        _ => Err(SampleError::Unsupported(format!("'{word}' here"))),
    }
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
            Ok(Parsed::Valid) => {
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
        if let Some((t, peers)) = self.table_args(stmt, 1, "stick-table") {
            p.stick_table = Some(t);
            p.stick_peers = peers.map(|n| (n, stmt.loc.clone()));
            p.stick_loc = Some(stmt.loc.clone());
        }
    }

    /// A table definition from word `first` on (parse_stick_table): `kw` names it in
    /// messages (`stick-table`, or `table` in a peers section, where `peers` is unknown).
    pub(super) fn table_args(
        &mut self,
        stmt: &Stmt,
        first: usize,
        kw: &str,
    ) -> Option<(StickTable, Option<String>)> {
        let loc = stmt.loc;
        let mut key = None;
        let (mut size, mut expire, mut nopurge) = (None, None, false);
        let mut store = Vec::new();
        let mut peers = None;
        let mut i = first;
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
                            // haproxy's default key is 32 bytes, a string's NUL included.
                            let mut len = if v == "string" { 31 } else { 32 };
                            if stmt.arg(i + 2) == "len" {
                                match stmt.arg(i + 3).parse::<usize>() {
                                    Ok(n) if n > 0 => len = n,
                                    _ => {
                                        let bad = stmt.arg(i + 3);
                                        self.alert(loc, format!("{kw}: unknown type '{bad}'."));
                                        return None;
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
                        _ => {
                            self.alert(loc, format!("{kw}: unknown type '{v}'."));
                            return None;
                        }
                    };
                    key = Some(k);
                    i += 2;
                }
                "size" => {
                    match parse_size(v) {
                        Some(n) => size = Some(n),
                        None => {
                            let bad = v.chars().find(|c| !c.is_ascii_digit()).unwrap_or(' ');
                            self.alert(
                                loc,
                                format!(
                                    "{kw}: unexpected character '{bad}' in argument of 'size'."
                                ),
                            );
                            return None;
                        }
                    }
                    i += 2;
                }
                "expire" => {
                    match parse_time_ms(v) {
                        Ok(ms) => expire = Some(std::time::Duration::from_millis(ms)),
                        Err(_) => {
                            self.alert(
                                loc,
                                format!(
                                    "{kw}: unexpected character in argument of 'expire' : '{v}'."
                                ),
                            );
                            return None;
                        }
                    }
                    i += 2;
                }
                "nopurge" => {
                    nopurge = true;
                    i += 1;
                }
                "store" => {
                    let mut warnings = Vec::new();
                    // haproxy reads the word after `store` even when there is none.
                    let r = super::counters::store(v, &mut store, &mut warnings);
                    // The store parser words its messages for `stick-table`.
                    let named = |m: String| match m.strip_prefix("stick-table:") {
                        Some(rest) => format!("{kw}:{rest}"),
                        None => m,
                    };
                    for m in warnings {
                        self.push(
                            Diagnostic::warning(loc, named(m)).styled(LocStyle::ParsingTight),
                        );
                    }
                    if let Err(m) = r {
                        self.alert(loc, named(m));
                        return None;
                    }
                    if let Some(b) = store.iter().find(|s| {
                        matches!(
                            s.ty,
                            crate::ir::counters::DataType::BytesInCnt
                                | crate::ir::counters::DataType::BytesInRate
                                | crate::ir::counters::DataType::BytesOutCnt
                                | crate::ir::counters::DataType::BytesOutRate
                        )
                    }) {
                        self.unsupported(
                            loc,
                            &format!("'{kw} … store {}'", b.ty.name()),
                            "byte counters are not kept",
                        );
                        return None;
                    }
                    i += 2;
                }
                "peers" if kw == "stick-table" => {
                    if v.is_empty() {
                        self.alert(loc, format!("{kw}: missing argument after 'peers'."));
                        return None;
                    }
                    peers = Some(v.to_string());
                    i += 2;
                }
                "srvkey" | "write-to" | "recv-only" => {
                    self.unsupported(
                        loc,
                        &format!("'{kw} … {w}'"),
                        "only the server a key sticks to is stored",
                    );
                    return None;
                }
                _ => {
                    self.alert(loc, format!("{kw}: unknown argument '{w}'."));
                    return None;
                }
            }
        }
        // haproxy tests the size, not its presence: `size 0` is missing too.
        let Some(size) = size.filter(|&n| n > 0) else {
            self.alert(loc, format!("{kw}: missing size."));
            return None;
        };
        let Some(key) = key else {
            self.alert(loc, format!("{kw}: missing type."));
            return None;
        };
        Some((
            StickTable {
                key,
                size,
                expire,
                nopurge,
                store,
                peers: None,
            },
            peers,
        ))
    }

    /// `stick on|match|store-request <sample> [table <name>] [if|unless <cond>]`, read as
    /// cfgparse-listen.c reads it.
    pub(super) fn parse_stick(&mut self, p: &mut ProxyConf, stmt: &Stmt) {
        let loc = stmt.loc;
        let (lookup, store, response) = match stmt.arg(1) {
            "on" => (true, true, false),
            "match" => (true, false, false),
            "store" | "store-request" => (false, true, false),
            "store-response" => (false, true, true),
            _ => return self.alert(loc, "'stick' expects 'on', 'match', or 'store'."),
        };
        if stmt.arg(2).is_empty() {
            return self.alert(loc, "'stick' expects a fetch method.");
        }
        let (text, mut i) = expr_words(stmt.words, 2);
        let expr = match sample::parse(&text, None) {
            Ok(p) => p.expr,
            Err(e) => return self.sample_error(loc, "stick", e),
        };
        if let Some(src) = super::value_format::unavailable(&expr.fetch, response) {
            let kw = &text[..text.find(['(', ',']).unwrap_or(text.len())];
            let when = if response {
                "for 'store-response'"
            } else {
                "during request"
            };
            return self.alert(loc, format!("'stick': fetch method '{kw}' extracts information from '{src}', none of which is available {when}."));
        }
        let mut table = None;
        if stmt.arg(i) == "table" {
            table = Some(stmt.arg(i + 1).to_string());
            i += 2;
        }
        let cond = match stmt.arg(i) {
            "if" | "unless" => match self.read_cond(p, loc, &stmt.words[i..]) {
                Ok(c) => Some(c),
                Err(AclError::Invalid(m)) => {
                    return self.alert(
                        loc,
                        format!("'stick': error detected while parsing sticking condition : {m}."),
                    )
                }
                Err(AclError::Unsupported(what)) => {
                    return self.unsupported(loc, &what, "not evaluated by haproxide yet")
                }
            },
            "" => None,
            w => return self.alert(loc, format!("'stick': unknown keyword '{w}'.")),
        };
        p.stick_rules.push(StickRuleConf {
            lookup,
            store,
            response,
            expr,
            cond,
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
                // The first delay stays, a defaults section's included.
                Ok(_) if p.inspect.delay.is_some() => self.warn(
                    loc,
                    format!("ignoring tcp-request inspect-delay (was already defined) in {px}"),
                ),
                Ok(ms) => p.inspect.delay = (ms > 0).then(|| std::time::Duration::from_millis(ms)),
                Err(e) => self.alert(
                    loc,
                    delay_error("tcp-request", &px, stmt.arg(2), e),
                ),
            },
            which @ ("content" | "connection" | "session") => {
                if which != "content" && p.kind.caps() & crate::config::keywords::cap::FE == 0 {
                    let what = p.kind.proxy_word();
                    return self.alert(loc, format!("tcp-request {which} is not allowed because {what} {} is not a frontend", p.name));
                }
                let Some(rule) = self.tcp_rule(p, stmt, which) else {
                    return;
                };
                match which {
                    "content" => p.inspect.rules.push(rule),
                    "connection" => p.inspect.connection.push(rule),
                    _ => p.inspect.session.push(rule),
                }
                self.misplaced_tcp(p, loc, which);
            }
            w => self.alert(loc, format!("'tcp-request' expects 'inspect-delay', 'connection', or 'content' in {px} (got '{w}').")),
        }
    }
}

impl Parser {
    /// One `tcp-request content|connection|session <action> [if|unless <cond>]` rule,
    /// read as tcp_parse_request_rule reads it; None when a diagnostic was pushed.
    fn tcp_rule(&mut self, p: &mut ProxyConf, stmt: &Stmt, which: &str) -> Option<ContentRule> {
        let loc = stmt.loc;
        let px = format!("{} '{}'", p.kind.proxy_word(), p.name);
        let action = stmt.arg(2);
        let kw = format!("tcp-request {which}");
        let mut at = 3;
        let action_ir = match action {
            "accept" => ContentAction::Accept,
            "reject" => ContentAction::Reject,
            a if super::vars::is_var_action(a) => {
                match super::vars::var_action(stmt.words, 2, Some(false)) {
                    Ok((v, next)) => {
                        at = next;
                        ContentAction::Var(Box::new(v))
                    }
                    // haproxy prints a custom action's message bare.
                    Err(SampleError::Invalid(m)) => {
                        self.alert(loc, m);
                        return None;
                    }
                    Err(SampleError::Unsupported(what)) => {
                        self.unsupported(
                            loc,
                            &format!("{what} in '{kw} {a}'"),
                            "sample expressions",
                        );
                        return None;
                    }
                }
            }
            a if a.starts_with("track-sc") => match super::counters::track(stmt.words, 2, true) {
                Ok((t, next, last)) => {
                    let ok = match (which, stage(&t.key.fetch)) {
                        (_, Stage::Any | Stage::L4) => true,
                        ("connection", _) => false,
                        (_, Stage::L5) => true,
                        ("session", _) => false,
                        (_, s) => s != Stage::Response,
                    };
                    if !ok {
                        let src = super::counters::source_name(&t.key.fetch);
                        self.alert(loc, format!("'{kw} {a}' : fetch method '{last}' extracts information from '{src}', none of which is available here"));
                        return None;
                    }
                    at = next;
                    ContentAction::Track(Box::new(t))
                }
                Err(m) => {
                    match m.strip_prefix('\0') {
                        Some(u) => self.unsupported(
                            loc,
                            &format!("{u} in '{kw} {a}'"),
                            "sample expressions",
                        ),
                        None => self.alert(loc, format!("'{kw} {a}' : {m}")),
                    }
                    return None;
                }
            },
            "set-log-level" if which == "content" => {
                match super::http_rules::log_level(stmt.arg(3)) {
                    Some(l) => {
                        at = 4;
                        ContentAction::SetLogLevel(l)
                    }
                    None => {
                        self.alert(loc, super::http_rules::LOG_LEVEL_ARG);
                        return None;
                    }
                }
            }
            a if a.starts_with("sc-inc-gpc") || a.starts_with("sc-set-gpt") => {
                match super::counters::sc_action(stmt.words, 2) {
                    Some(Ok((act, next))) => {
                        let expr = matches!(
                            &act,
                            crate::ir::counters::ScAction::SetGpt {
                                value: crate::ir::counters::GptValue::Expr(_),
                                ..
                            }
                        );
                        if expr && which == "connection" {
                            self.alert(
                                loc,
                                "internal error, unexpected rule->from=0, please report this bug!",
                            );
                            return None;
                        }
                        if let crate::ir::counters::ScAction::SetGpt {
                            value: crate::ir::counters::GptValue::Expr(e),
                            ..
                        } = &act
                        {
                            let ok = match (which, stage(&e.fetch)) {
                                (_, Stage::Any | Stage::L4 | Stage::L5) => true,
                                ("session", _) => false,
                                (_, s) => s != Stage::Response,
                            };
                            if !ok {
                                let src = super::counters::source_name(&e.fetch);
                                let last = &stmt.words[next - 1];
                                self.alert(loc, format!("fetch method '{last}' extracts information from '{src}', none of which is available here"));
                                return None;
                            }
                        }
                        at = next;
                        ContentAction::Sc(Box::new(act))
                    }
                    Some(Err(SampleError::Invalid(m))) => {
                        self.alert(loc, m);
                        return None;
                    }
                    Some(Err(SampleError::Unsupported(what))) => {
                        self.unsupported(
                            loc,
                            &format!("{what} in '{kw} {a}'"),
                            "sample expressions",
                        );
                        return None;
                    }
                    None => {
                        self.alert(
                            loc,
                            format!(
                                "'{kw}' expects {} in {px} (got '{a}').\n",
                                if which == "content" {
                                    CONTENT_ACTIONS
                                } else {
                                    CONN_ACTIONS
                                }
                            ),
                        );
                        return None;
                    }
                }
            }
            a if known_tcp_action(which, a) => {
                self.unsupported(
                    loc,
                    &format!("'{kw} {a}'"),
                    "only accept, reject, set-var, set-var-fmt, unset-var, track-sc*, sc-inc-gpc* and sc-set-gpt*",
                );
                return None;
            }
            a => {
                let list = if which == "content" {
                    CONTENT_ACTIONS
                } else {
                    CONN_ACTIONS
                };
                self.alert(loc, format!("'{kw}' expects {list} in {px} (got '{a}').\n"));
                return None;
            }
        };
        let cond = match stmt.words.get(at).map(String::as_str) {
            None => None,
            Some(w @ ("if" | "unless")) => {
                let context = format!("'{w}' condition");
                match self.read_cond(p, loc, &stmt.words[at..]) {
                    Ok(c) => Some(c),
                    Err(AclError::Invalid(m)) => {
                        self.alert(loc, format!("'{kw} {action}' : error detected in {px} while parsing {context} : {m}"));
                        return None;
                    }
                    Err(AclError::Unsupported(what)) => {
                        self.unsupported(loc, &what, "not evaluated by haproxide yet");
                        return None;
                    }
                }
            }
            Some(w) => {
                self.alert(
                    loc,
                    format!("'{kw} {action}' only accepts 'if' or 'unless', in {px} (got '{w}')"),
                );
                return None;
            }
        };
        if let Some(c) = &cond {
            if let Some(m) = conflicts(p, c, which) {
                self.warn(loc, m);
            }
        }
        Some(ContentRule {
            action: action_ir,
            cond,
        })
    }

    /// haproxy's `warnif_misplaced_tcp_*`: a `tcp-request` rule after rules that run
    /// later.
    fn misplaced_tcp(&mut self, p: &ProxyConf, loc: &Loc, which: &str) {
        let after = if which == "connection" && !p.inspect.session.is_empty() {
            "a 'tcp-request session'"
        } else if which != "content" && !p.inspect.rules.is_empty() {
            "a 'tcp-request content'"
        } else if !p.monitor_fail.is_empty() {
            "a 'monitor fail'"
        } else if !p.http_rules.request.is_empty() {
            "an 'http-request'"
        } else if !p.http_rules.redirects.is_empty() {
            "a 'redirect'"
        } else if !p.use_backends.is_empty() {
            "a 'use_backend'"
        } else {
            return;
        };
        self.warn(
            loc,
            format!(
                "a 'tcp-request' rule placed after {after} rule will still be processed before."
            ),
        );
    }
}

/// haproxy's message for a bad `<kw> inspect-delay` argument.
pub(super) fn delay_error(kw: &str, px: &str, arg: &str, e: TimeError) -> String {
    let why = match e {
        TimeError::Empty => String::new(),
        TimeError::Unexpected(c) => format!(" (unexpected character '{c}')"),
        TimeError::Overflow => {
            format!(" (timer overflow in '{arg}', maximum value is 2147483647 ms or ~24.8 days)")
        }
    };
    format!("'{kw} inspect-delay' expects a positive delay in milliseconds, in {px}{why}")
}

/// Where in a session a fetch has a value (haproxy's `SMP_USE_*` classes, as far as
/// the rule places below need them).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Stage {
    /// Constants, variables, the environment, internal state: anywhere.
    Any,
    /// The connection's addresses, the frontend: from the accept on.
    L4,
    /// The TLS session: from the handshake on.
    L5,
    /// The backend: its own rules.
    Backend,
    /// The request's bytes or head: content rules on.
    Request,
    /// The response: response rules only.
    Response,
}

pub(crate) fn stage(f: &Fetch) -> Stage {
    use crate::ir::acl::Dir;
    match f {
        Fetch::Bool(_)
        | Fetch::Int(_)
        | Fetch::Str(_)
        | Fetch::Env(_)
        | Fetch::Var(..)
        | Fetch::Nbsrv(_)
        | Fetch::SrvIsUp(..)
        | Fetch::Sc(..)
        | Fetch::TableCnt(_)
        | Fetch::TableAvl(_)
        | Fetch::UniqueId => Stage::Any,
        Fetch::Src
        | Fetch::SrcPort
        | Fetch::Dst
        | Fetch::DstPort
        | Fetch::FeName
        | Fetch::FcErr => Stage::L4,
        Fetch::SslFc
        | Fetch::SslFcAlpn
        | Fetch::SslFcSni
        | Fetch::SslFcProtocol
        | Fetch::SslCUsed
        | Fetch::Tls(_) => Stage::L5,
        Fetch::BeName => Stage::Backend,
        Fetch::Status
        | Fetch::ResComp
        | Fetch::ResCompAlgo
        | Fetch::ResLen
        | Fetch::ResPayload(_) => Stage::Response,
        Fetch::Hdr(h) | Fetch::HdrCnt(h) if h.dir == Dir::Res => Stage::Response,
        _ => Stage::Request,
    }
}

/// haproxy's check that a `tcp-request` rule's condition can match where it runs: the
/// warning for the first ACL whose keywords all read what is not there yet (or, for a
/// named ACL, one of whose keywords does).
fn conflicts(p: &ProxyConf, c: &crate::ir::acl::Cond, which: &str) -> Option<String> {
    use crate::config::keywords::cap;
    let (fe, be) = (p.kind.caps() & cap::FE != 0, p.kind.caps() & cap::BE != 0);
    let ok = |f: &Fetch| match (which, stage(f)) {
        (_, Stage::Any | Stage::L4) => true,
        ("connection", _) => false,
        (_, Stage::L5) => true,
        ("session", _) => false,
        (_, Stage::Request) => true,
        (_, Stage::Backend) => be,
        (_, Stage::Response) => false,
    };
    let place = format!(
        "{} tcp-request {which} rule",
        if fe { "frontend" } else { "backend" }
    );
    incompatible(p, c, &format!("tcp-request {which}"), &place, ok)
}

/// haproxy's warnings for a rule `kw` (at `place`) whose condition reads what `ok`
/// refuses: "will never match" for the first ACL all of whose keywords do, else
/// "involves keyword" for the first that has one.
pub(super) fn incompatible(
    p: &ProxyConf,
    c: &crate::ir::acl::Cond,
    kw: &str,
    place: &str,
    ok: impl Fn(&Fetch) -> bool,
) -> Option<String> {
    let named = |term: &crate::ir::acl::Term| {
        p.acls
            .iter()
            .find(|a| std::sync::Arc::ptr_eq(&a.tests, &term.tests))
            .map(|a| a.name.clone())
    };
    let terms = || c.suites.iter().flatten().filter(|t| !t.tests.is_empty());
    if let Some(t) = terms().find(|t| t.tests.iter().all(|x| !ok(&x.expr.fetch))) {
        return Some(match named(t) {
            Some(n) => format!("acl '{n}' will never match in '{kw}' because it only involves keywords that are incompatible with '{place}'"),
            None => format!("anonymous acl will never match in '{kw}' because it uses keyword '{}' which is incompatible with '{place}'", t.tests[0].kw),
        });
    }
    let (t, x) =
        terms().find_map(|t| t.tests.iter().find(|x| !ok(&x.expr.fetch)).map(|x| (t, x)))?;
    Some(match named(t) {
        Some(n) => format!(
            "acl '{n}' involves keyword '{}' which is incompatible with '{place}'",
            x.kw
        ),
        None => format!(
            "anonymous acl involves keyword '{}' which is incompatible with '{place}'",
            x.kw
        ),
    })
}

/// Actions haproxy 2.6 knows for `tcp-request <which>` that haproxide does not run.
fn known_tcp_action(which: &str, a: &str) -> bool {
    let list = if which == "content" {
        CONTENT_ACTIONS
    } else {
        CONN_ACTIONS
    };
    list.contains(&format!("'{a}'")) || a.contains('(')
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
            Ok(Parsed::Valid)
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
