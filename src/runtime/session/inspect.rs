//! Content inspection before a server is chosen: `tcp-request content accept|reject` rules
//! waiting up to `tcp-request inspect-delay` for the bytes that decide them, and the keys
//! `stick` rules take from those bytes (configuration.txt §4.2, §7.3).
//!
//! As in HAProxy, a rule whose answer could still change waits for more data; when the
//! delay ends, the buffer is full or the client closes, every rule is decided on what is
//! there, and "not known" counts as "no match".

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{timeout_at, Instant};

use crate::ir::{ContentAction, ContentRule, Inspect, ResponseInspect, Sample};
use crate::runtime::lb::stick::Raw;
use crate::runtime::proto::mqtt;
use crate::runtime::rules::fetch::payload;
use crate::runtime::rules::track;
use crate::runtime::rules::vars::{self, Vars};
use crate::runtime::rules::{self, Ctx, Who};
use crate::runtime::stream::http1::head::Head;

/// HAProxy's request buffer (tune.bufsize 16384) less its rewrite reserve (1024): a
/// buffer this full is decided as it is.
pub const FULL: usize = 15360;

/// The content rules' verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Go on to a backend.
    Accept,
    /// Close the client connection (logged "PR"; "PD" for a response rule).
    Reject,
    /// `tcp-response content close`: reset the server connection, end normally.
    Close,
}

/// Evaluates the rules on `buf`: None when a rule needs more data and `last` is false.
/// Each pass starts at the first rule, as tcp_inspect_request does when a condition (not
/// an action) waited: the `set-var` rules before it run again, on the new data.
pub fn evaluate(
    insp: &Inspect,
    who: &Who,
    buf: &[u8],
    last: bool,
    vars: &mut Vars,
) -> Option<Outcome> {
    evaluate_on(&insp.rules, who, (buf, last, None, true), vars)
}

/// `tcp-response content` rules on what the server sent (`buf`): None when a rule needs
/// more and `last` is false. Request fetches read the same bytes, as haproxy's read the
/// channel the rule runs on.
pub fn on_response(
    rules: &ResponseInspect,
    who: &Who,
    buf: &[u8],
    last: bool,
    vars: &mut Vars,
) -> Option<Outcome> {
    evaluate_on(&rules.rules, who, (buf, last, None, true), vars)
}

/// `tcp-request connection` or `session` rules: decided at once, on what the session
/// has (no data to wait for, and no stream yet: no `txn.` or `req.` variables).
pub fn at_once(rules: &[ContentRule], who: &Who, vars: &mut Vars) -> Outcome {
    evaluate_on(rules, who, (&[], true, None, false), vars).unwrap_or(Outcome::Accept)
}

/// The `tcp-request content` rules of an HTTP proxy on one request, whose head is in:
/// haproxy 2.6 runs them on each request (each is a stream of its own), with the
/// request's fetches.
pub fn on_http_request(insp: &Inspect, who: &Who, req: &Head, vars: &mut Vars) -> Outcome {
    evaluate_on(&insp.rules, who, (&[], true, Some(req), true), vars).unwrap_or(Outcome::Accept)
}

fn evaluate_on(
    rules: &[ContentRule],
    who: &Who,
    (buf, last, req, stream): (&[u8], bool, Option<&Head>, bool),
    vars: &mut Vars,
) -> Option<Outcome> {
    /// What a rule does to the session once its context is gone.
    enum Then {
        Var(Option<Option<vars::Stored>>),
        Track(Option<Box<[u8]>>),
        Sc(Option<i64>),
        Level(i8),
    }
    for r in rules {
        let then = {
            let mut ctx = Ctx::tcp(who, buf, last);
            ctx.req = req;
            // In HTTP mode `req.len` is the parsed request's size.
            ctx.http_len = req.map(|h| h.htx_size() as usize);
            ctx.vars = Some(&*vars);
            ctx.stream = stream;
            if !rules::holds(r.cond.as_ref(), &ctx)? {
                continue;
            }
            match &r.action {
                ContentAction::Accept => return Some(Outcome::Accept),
                ContentAction::Reject => return Some(Outcome::Reject),
                ContentAction::Close => return Some(Outcome::Close),
                ContentAction::Var(a) => Then::Var(vars::value_of(a, &ctx)),
                // A key that may still come waits, as haproxy's yield does.
                ContentAction::Track(t) => Then::Track(track::track_key(t, &ctx).ok()?),
                ContentAction::Sc(a) => Then::Sc(track::gpt_value(a, &ctx)),
                ContentAction::SetLogLevel(l) => Then::Level(*l),
            }
        };
        match (&r.action, then) {
            (ContentAction::Var(a), Then::Var(Some(v))) => {
                vars::apply(a, v, vars, who.proc, false);
            }
            (ContentAction::Track(t), Then::Track(Some(key))) => {
                if let Some(table) = who.tables.and_then(|ts| ts.get(t.table.get())) {
                    let n = usize::from(t.slot);
                    vars.trackers_mut().track(n, table, key, stream);
                }
            }
            (_, Then::Level(l)) => vars.set_log_level(l),
            (ContentAction::Sc(a), Then::Sc(v)) => {
                if let Some(trk) = vars.trackers() {
                    track::apply(trk, a, v);
                }
            }
            _ => {}
        }
    }
    Some(Outcome::Accept)
}

/// Reads from `client` into `buf` until the rules decide. Returns the verdict and whether
/// the client has closed its side.
pub async fn run<R: AsyncRead + Unpin>(
    client: &mut R,
    buf: &mut Vec<u8>,
    insp: &Inspect,
    who: &Who<'_>,
    vars: &mut Vars,
) -> (Outcome, bool) {
    let deadline = Instant::now() + insp.delay.unwrap_or(Duration::ZERO);
    let mut closed = false;
    loop {
        let last = closed || buf.len() >= FULL || Instant::now() >= deadline;
        if let Some(v) = evaluate(insp, who, buf, last, vars) {
            return (v, closed);
        }
        let at = buf.len();
        buf.resize(FULL, 0);
        let got = timeout_at(deadline, client.read(&mut buf[at..])).await;
        let n = match got {
            Ok(Ok(n)) => n,
            Ok(Err(_)) => 0,
            Err(_) => {
                buf.truncate(at);
                continue;
            }
        };
        buf.truncate(at + n);
        if n == 0 {
            closed = true;
        }
    }
}

/// A sample's value for this client, as a final fetch (no more data will come): None when
/// it is missing. `field` holds a decoded MQTT field the value borrows.
fn fetch<'a>(
    sample: &Sample,
    buf: &'a [u8],
    src: IpAddr,
    field: &'a mut Vec<u8>,
) -> Option<Raw<'a>> {
    Some(match sample {
        Sample::Src => Raw::Addr(src),
        Sample::Payload(p) => Raw::Bin(payload(buf, *p, true).ok()??),
        Sample::MqttField(p, f) => {
            let s = payload(buf, *p, true).ok()??;
            *field = mqtt::connect_field(s, *f).ok()??;
            Raw::Str(field)
        }
    })
}

/// `balance hash <expr>`'s input: the sample converted to binary as haproxy does (an
/// address is its 4 or 16 bytes in network order). None when the sample is missing:
/// haproxy then falls back to round robin.
///
/// haproxy 2.6 chooses the server of a TCP session after the inspected bytes were handed
/// to the forwarder, so `req.payload` sees an empty buffer there (measured on 2.6.12:
/// `req.payload(0,0)` puts every client on the server of hash 0, `req.payload(0,4)` and
/// an MQTT field go round robin). The same config gives the same servers here.
pub fn hash_input(sample: &Sample, src: IpAddr) -> Option<Vec<u8>> {
    let mut field = Vec::new();
    Some(match fetch(sample, &[], src, &mut field)? {
        Raw::Addr(IpAddr::V4(a)) => a.octets().to_vec(),
        Raw::Addr(IpAddr::V6(a)) => a.octets().to_vec(),
        Raw::Str(b) | Raw::Bin(b) => b.to_vec(),
        Raw::Int(i) => i.to_be_bytes().to_vec(),
        Raw::Bool(b) => i64::from(b).to_be_bytes().to_vec(),
    })
}

/// A stick rule's key: the rule's index and the key in its table's type.
pub type StickKey = (usize, Box<[u8]>);

/// The keys `rules` take in `ctx`, as process_sticking_rules takes them (or, for
/// `response`, process_store_rules the `store-response` ones): (rule index, key). A rule
/// whose condition fails, whose sample is missing or has no cast to its table's type
/// gives none; a storing rule whose table already has a key from an earlier storing
/// rule is skipped whole (the first store of each table wins).
pub fn stick_keys(
    tables: &[crate::runtime::lb::stick::Table],
    rules: &[crate::ir::StickRule],
    ctx: &Ctx,
    response: bool,
) -> Vec<StickKey> {
    let mut out = Vec::new();
    let mut stored: Vec<usize> = Vec::new();
    for (i, r) in rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.response == response)
    {
        let Some(t) = tables.get(r.table) else {
            continue;
        };
        if r.store && stored.contains(&r.table) {
            continue;
        }
        if rules::holds(r.cond.as_ref(), ctx) != Some(true) {
            continue;
        }
        let Some(v) = rules::format::single(&r.expr, ctx) else {
            continue;
        };
        if let Some(k) = track::key_of(t, &v) {
            if r.store {
                stored.push(r.table);
            }
            out.push((i, k));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::ContentRule;
    use crate::runtime::proto::proxy_protocol::SslInfo;

    fn reject_unless_mqtt() -> Inspect {
        use crate::ir::acl::*;
        let test = AclTest {
            kw: "req.payload".into(),
            expr: SampleExpr {
                fetch: Fetch::Payload(crate::ir::Payload {
                    offset: 0,
                    length: 0,
                }),
                convs: vec![Conv::MqttIsValid],
            },
            kind: MatchKind::Bool,
            icase: false,
            patterns: Patterns::None,
        };
        Inspect {
            delay: Some(Duration::from_secs(10)),
            connection: Vec::new(),
            session: Vec::new(),
            rules: vec![ContentRule {
                action: crate::ir::ContentAction::Reject,
                cond: Some(Cond {
                    unless: true,
                    suites: vec![vec![Term {
                        neg: false,
                        tests: std::sync::Arc::from(vec![test]),
                    }]],
                }),
            }],
        }
    }

    #[test]
    fn waits_then_decides() {
        let insp = reject_unless_mqtt();
        let ssl = SslInfo::default();
        let a = "127.0.0.1:1".parse().unwrap();
        let who = Who {
            peer: a,
            local: a,
            fe_name: "f",
            be: None,
            ssl: &ssl,
            proc: None,
            tables: None,
            uid: None,
            comp: None,
        };
        let evaluate =
            |i: &Inspect, b: &[u8], last: bool| evaluate(i, &who, b, last, &mut Vars::default());
        let connect = [
            0x10, 0x0d, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, b'a',
        ];
        assert_eq!(evaluate(&insp, &connect[..5], false), None);
        assert_eq!(evaluate(&insp, &connect[..5], true), Some(Outcome::Reject));
        assert_eq!(evaluate(&insp, &connect, false), Some(Outcome::Accept));
        assert_eq!(
            evaluate(&insp, b"GET / HTTP/1.0\r\n", false),
            Some(Outcome::Reject)
        );
    }
}
