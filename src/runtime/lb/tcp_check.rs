//! The tcp-check engine (haproxy's tcpcheck.c `tcpcheck_main`): a ruleset's sends and
//! expects run on the check's connection, with haproxy's rules for when an expect waits
//! for more data, which status and text a result gets, and which step a message names.
//! The protocol check options run through it too, with their built-in rulesets.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout, Instant};

use super::check::fail;
use super::health::Outcome;
use super::proto_expect::{self, Custom};
use crate::ir::{CheckText, ExpectPattern, TcpCheckRule, TcpChecks, TcpExpect};

/// How one `expect` evaluation ends (tcpcheck_eval_expect's three answers).
enum Eval {
    /// Matched as wanted: on to the next rule.
    Next,
    /// Not conclusive yet: read more.
    Wait,
    /// The rule failed: `negate` says whether it matched unwanted content.
    Fail { matched: bool },
    /// A protocol check's reader decided (see [`Custom`]).
    Custom(Custom),
}

fn eval_expect(e: &TcpExpect, buf: &[u8], last_read: bool, last_rule: bool) -> Eval {
    // A full buffer is as final as the end of the stream.
    let last_read = last_read || buf.len() >= BUFSIZE;
    if !last_read {
        let need = match &e.pattern {
            ExpectPattern::String(p) | ExpectPattern::Binary(p) => p.len(),
            _ => 0,
        };
        if buf.len() < need || e.min_recv.is_some_and(|m| m > 0 && buf.len() < m) {
            return Eval::Wait;
        }
    }
    if let ExpectPattern::Custom(kind) = e.pattern {
        return match proto_expect::eval(kind, buf, last_read, last_rule) {
            Custom::Wait => Eval::Wait,
            Custom::Next => Eval::Next,
            c => Eval::Custom(c),
        };
    }
    let matched = matches(&e.pattern, buf);
    // Without min-recv a mismatch waits for more data; with it, it is final.
    if !matched && !last_read && e.min_recv.is_none() {
        return Eval::Wait;
    }
    if matched != e.negate {
        Eval::Next
    } else {
        Eval::Fail { matched }
    }
}

/// The comment each rule carries, as check_proxy_tcpcheck hands `tcp-check comment` lines
/// on: to the following rules until the action changes (a connect takes it and ends it);
/// an expect's own `comment` wins.
fn rule_comments(rules: &[TcpCheckRule]) -> Vec<Option<&str>> {
    let kind = |r: &TcpCheckRule| match r {
        TcpCheckRule::Comment(_) => 0,
        TcpCheckRule::Connect { .. } => 1,
        TcpCheckRule::Send(_) | TcpCheckRule::SendSslHello => 2,
        TcpCheckRule::Expect(_) => 3,
    };
    let mut out = vec![None; rules.len()];
    let (mut comment, mut prev) = (None, 0);
    for (i, r) in rules.iter().enumerate() {
        if kind(r) != prev && prev != 0 {
            comment = None;
        }
        prev = kind(r);
        match r {
            TcpCheckRule::Comment(c) => comment = Some(c.as_str()),
            TcpCheckRule::Connect { .. } => out[i] = comment.take(),
            TcpCheckRule::Send(_) | TcpCheckRule::SendSslHello => out[i] = comment,
            TcpCheckRule::Expect(e) => out[i] = e.comment.as_deref().or(comment),
        }
    }
    out
}

/// The first rule of the run of expect rules ending at `i` that is inverted, else `i`:
/// where haproxy resumes after waiting for data, so new bytes are checked against an
/// earlier `expect !…` too.
fn expect_head(rules: &[TcpCheckRule], i: usize) -> usize {
    let mut head = i;
    for j in (0..i).rev() {
        match &rules[j] {
            TcpCheckRule::Expect(e) if e.negate => head = j,
            TcpCheckRule::Expect(_) | TcpCheckRule::Comment(_) => {}
            _ => break,
        }
    }
    head
}

/// Whether no rule but comments follows rule `i` (get_next_tcpcheck_rule finds none).
fn is_last(rules: &[TcpCheckRule], i: usize) -> bool {
    rules[i + 1..]
        .iter()
        .all(|r| matches!(r, TcpCheckRule::Comment(_)))
}

/// An `on-success`/`on-error` text for the response in `buf`.
fn render(t: &CheckText, buf: &[u8]) -> String {
    match t {
        CheckText::Literal(s) => s.clone(),
        CheckText::Payload {
            offset,
            ltrim_space,
            cut_crlf,
        } => {
            let mut b = buf.get(*offset..).unwrap_or(&[]);
            if *ltrim_space {
                b = &b[b.iter().take_while(|c| **c == b' ').count()..];
            }
            if *cut_crlf {
                b = &b[..b
                    .iter()
                    .position(|c| *c == b'\r' || *c == b'\n')
                    .unwrap_or(b.len())];
            }
            // The message is then read as a C string.
            b = &b[..b.iter().position(|c| *c == 0).unwrap_or(b.len())];
            String::from_utf8_lossy(b).into_owned()
        }
    }
}

/// The check's code after rule `e` on `buf`: its `status-code` part of the response, read
/// as an integer, else what it was.
fn status_code(e: &TcpExpect, buf: &[u8], code: i32) -> i32 {
    match e.status_code {
        // Length 0: the rest of the response (smp_fetch_payload).
        Some((off, len)) => match buf
            .get(
                off..if len == 0 {
                    buf.len()
                } else {
                    off.saturating_add(len)
                },
            )
            .filter(|b| !b.is_empty())
        {
            Some(b) => crate::numbers::read_int64(b).0 as i32,
            None => code,
        },
        None => code,
    }
}

/// The size of haproxy's check buffer: what a response may fill.
const BUFSIZE: usize = 16384;

/// Why a check stopped reading.
pub(super) enum ReadStop {
    /// The time is up.
    Timeout,
    /// The connection failed before any byte of the response came (a reset): haproxy's
    /// socket error, with the system's words.
    Error(String),
}

/// Reads what the server sends next into `buf` (bounded as haproxy's check buffer);
/// `Ok(true)` at the end of the stream.
pub(super) async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<bool, ReadStop> {
    let mut chunk = [0u8; 4096];
    let mut wait = deadline.saturating_duration_since(Instant::now());
    // Everything there is, as haproxy's receive does: after the first read, more only
    // while it is ready at once.
    loop {
        let room = BUFSIZE.saturating_sub(buf.len()).min(chunk.len());
        if room == 0 {
            return Ok(true);
        }
        match timeout(wait, stream.read(&mut chunk[..room])).await {
            Err(_) if wait.is_zero() => return Ok(false),
            Err(_) => return Err(ReadStop::Timeout),
            Ok(Err(e)) if buf.is_empty() && e.raw_os_error().is_some() => {
                return Err(ReadStop::Error(crate::sys::os_text(&e)))
            }
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(true),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
        wait = Duration::ZERO;
    }
}

/// Runs a tcp-check ruleset on the check's connection as tcpcheck_main does; `passed` is
/// the reason when it ends on its connect rule.
pub(super) async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    checks: &TcpChecks,
    deadline: Instant,
    passed: &'static str,
) -> Outcome {
    let start = Instant::now();
    let rules = &checks.rules;
    let comments = rule_comments(rules);
    let mut buf: Vec<u8> = Vec::new();
    let (mut must_read, mut last_read) = (true, false);
    let mut code = 0i32;
    let mut current: Option<usize> = None;
    // The text a protocol check's reader reported on passing, before the end's.
    let mut first_info = None;
    let mut i = 0;
    while i < rules.len() {
        // haproxy numbers steps by rule, comments included.
        let step = i + 1;
        let quoted = comments[i].map_or(String::new(), |c| format!(" comment: '{c}'"));
        match &rules[i] {
            TcpCheckRule::Comment(_) => {}
            // The connection is already open: later `connect` rules are not supported here.
            TcpCheckRule::Connect { .. } => current = Some(i),
            TcpCheckRule::Send(_) | TcpCheckRule::SendSslHello => {
                current = Some(i);
                let hello;
                let bytes = match &rules[i] {
                    TcpCheckRule::Send(b) => b,
                    _ => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs() as u32);
                        hello = proto_expect::ssl_hello(now);
                        &hello
                    }
                };
                // Each send starts a new response.
                buf.clear();
                must_read = true;
                if stream.write_all(bytes).await.is_err() {
                    return fail(
                        "Layer7 invalid response",
                        Some(format!(
                            "TCPCHK got an empty response at step {step}{quoted}"
                        )),
                        start,
                    );
                }
            }
            TcpCheckRule::Expect(e) => {
                current = Some(i);
                let from_recv = must_read;
                let mut eval = if must_read {
                    Eval::Wait
                } else {
                    eval_expect(e, &buf, last_read, is_last(rules, i))
                };
                must_read = false;
                if let Eval::Wait = eval {
                    match read_more(stream, &mut buf, deadline).await {
                        Err(stop) => {
                            // Waiting for data to evaluate, haproxy's current step is the
                            // run's first inverted rule; waiting to receive, this one.
                            let t = if from_recv { i } else { expect_head(rules, i) };
                            let TcpCheckRule::Expect(te) = &rules[t] else {
                                return fail("Layer7 timeout", None, start);
                            };
                            let q =
                                comments[t].map_or(String::new(), |c| format!(" comment: '{c}'"));
                            let at = (!checks.proto).then(|| step_text(te, t + 1, &q));
                            return match stop {
                                ReadStop::Timeout => fail(te.tout_status.reason(), at, start),
                                ReadStop::Error(why) => {
                                    let info = why + at.as_deref().unwrap_or("");
                                    fail("Socket error", Some(info), start)
                                }
                            };
                        }
                        Ok(eos) => last_read = eos,
                    }
                    if last_read && buf.is_empty() {
                        let info = format!("TCPCHK got an empty response at step {step}{quoted}");
                        let st = e.error_status;
                        return Outcome {
                            ok: false,
                            reason: st.reason(),
                            code: st.has_code().then(|| code.to_string()),
                            info: Some(info),
                            ms: 0,
                            first_info: None,
                        };
                    }
                    // New data: evaluate again from the head of this run of expects.
                    i = expect_head(rules, i);
                    if i != current.unwrap_or(i) {
                        continue;
                    }
                    eval = eval_expect(e, &buf, last_read, is_last(rules, i));
                    if let Eval::Wait = eval {
                        continue;
                    }
                }
                match eval {
                    Eval::Custom(Custom::Passed(text)) => first_info = Some(text),
                    Eval::Custom(Custom::Fail { status, code, desc }) => {
                        let mut info = desc;
                        if let Some(c) = comments[i] {
                            info.push_str(&format!(" comment: {c}"));
                        }
                        return Outcome {
                            ok: status.ok(),
                            reason: status.reason(),
                            code: status.has_code().then(|| code.to_string()),
                            info: (!info.is_empty()).then_some(info),
                            ms: 0,
                            first_info: None,
                        };
                    }
                    Eval::Fail { matched } => {
                        let mut info = match &e.on_error {
                            Some(t) => render(t, &buf),
                            None if checks.proto => String::new(),
                            None => generic_mismatch(&e.pattern, matched, step),
                        };
                        if let Some(c) = comments[i] {
                            info.push_str(&format!(" comment: {c}"));
                        }
                        code = status_code(e, &buf, code);
                        return Outcome {
                            ok: e.error_status.ok(),
                            reason: e.error_status.reason(),
                            code: e.error_status.has_code().then(|| code.to_string()),
                            info: (!info.is_empty()).then_some(info),
                            ms: 0,
                            first_info: None,
                        };
                    }
                    _ => {}
                }
            }
        }
        i += 1;
    }
    // The check ends as its last evaluated rule says.
    match current.map(|c| &rules[c]) {
        Some(TcpCheckRule::Expect(e)) => {
            let info = match &e.on_success {
                Some(t) => render(t, &buf),
                None if checks.proto => String::new(),
                None => "(tcp-check)".into(),
            };
            code = status_code(e, &buf, code);
            Outcome {
                ok: e.ok_status.ok(),
                reason: e.ok_status.reason(),
                code: e.ok_status.has_code().then(|| code.to_string()),
                info: (!info.is_empty()).then_some(info),
                ms: 0,
                first_info,
            }
        }
        Some(TcpCheckRule::Connect { .. }) => Outcome {
            ok: true,
            reason: passed,
            code: None,
            info: Some("(tcp-check)".into()),
            ms: 0,
            first_info: None,
        },
        _ => Outcome {
            ok: true,
            reason: "Layer7 check passed",
            code: Some("0".into()),
            info: Some("(tcp-check)".into()),
            ms: 0,
            first_info: None,
        },
    }
}

/// A check that ran out of time waiting at expect rule `e` (step `step`).
/// Where a plain tcp-check stopped waiting: " at step N of tcp-check (expect …)".
fn step_text(e: &TcpExpect, step: usize, quoted: &str) -> String {
    let what = match &e.pattern {
        ExpectPattern::String(s) => format!("string '{}'", String::from_utf8_lossy(s)),
        ExpectPattern::Binary(b) => {
            // Printed with %.*s: the raw bytes, up to a NUL.
            let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
            format!("binary '{}'", String::from_utf8_lossy(&b[..end]))
        }
        ExpectPattern::RString(_) => "regex".into(),
        ExpectPattern::RBinary(_) => "binary regex".into(),
        ExpectPattern::Custom(_) => "custom function".into(),
    };
    format!(" at step {step} of tcp-check (expect {what}){quoted}")
}

/// haproxy's own words for a failed expect of a plain tcp-check.
fn generic_mismatch(p: &ExpectPattern, matched: bool, step: usize) -> String {
    let what = if matched {
        "TCPCHK matched unwanted content"
    } else {
        "TCPCHK did not match content"
    };
    match p {
        ExpectPattern::String(s) => {
            format!("{what} '{}' at step {step}", String::from_utf8_lossy(s))
        }
        ExpectPattern::Binary(_) => format!("{what} (binary) at step {step}"),
        ExpectPattern::RString(_) => format!("{what} (regex) at step {step}"),
        ExpectPattern::RBinary(_) => format!("{what} (binary regex) at step {step}"),
        ExpectPattern::Custom(_) => format!("{what} (custom function) at step {step}"),
    }
}

fn matches(p: &ExpectPattern, buf: &[u8]) -> bool {
    match p {
        ExpectPattern::String(s) | ExpectPattern::Binary(s) => contains(buf, s),
        // rbinary patterns are written in hex: they match the hex form of the data.
        ExpectPattern::RBinary(re) => {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            let hex: Vec<u8> = buf
                .iter()
                .flat_map(|x| [HEX[usize::from(x >> 4)], HEX[usize::from(x & 15)]])
                .collect();
            re.0.is_match(&hex)
        }
        ExpectPattern::RString(re) => re.0.is_match(buf),
        ExpectPattern::Custom(_) => false,
    }
}

pub(super) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}
