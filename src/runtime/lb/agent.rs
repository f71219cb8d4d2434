//! `agent-check`: a second check per server, asking the server's own agent. Its one-line
//! answer (haproxy's tcpcheck_agent_expect_reply) may set the server's health, its
//! administrative state, its weight and its maxconn; a failure to reach the agent changes
//! nothing but the agent's status. The server runs only while both its health check and
//! its agent say UP (check_notify_success), and the agent keeps asking in maintenance.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::{sleep, Instant};

use super::admin::{admin_flag, change_maxconn, change_weight, AdminFlag};
use super::check::{fail, limits, log_check, open, transition};
use super::health::{Health, Outcome};
use super::state::{Admin, Shared};
use super::tcp_check::{read_more, ReadStop};

/// An agent's live state: its health (rise 1, fall 1, UP at start) and its last result,
/// whose status decides whether the next one is logged.
#[derive(Debug)]
pub struct AgentState {
    /// UP or DOWN as the agent last said.
    pub health: Health,
    /// Its last result (`show stat`'s agent columns); a line without a health word is
    /// haproxy's CHECKED, "No status change".
    pub last: Option<Outcome>,
}

impl Default for AgentState {
    fn default() -> Self {
        AgentState {
            health: Health::new(1, 1),
            last: None,
        }
    }
}

/// The words of one agent line.
#[derive(Debug, Default, PartialEq)]
struct Reply<'a> {
    /// `up`, `down`, `stopped` or `fail`, as written (the last one wins).
    health: Option<&'a str>,
    /// `ready`, `drain` or `maint`.
    admin: Option<&'a str>,
    /// `<n>%`.
    weight: Option<&'a str>,
    /// The value of `maxconn:<n>`.
    maxconn: Option<&'a str>,
    /// The first word of no known kind.
    err: Option<&'a str>,
    /// The text after `#`.
    desc: &'a str,
}

/// Splits the agent's line (up to its first CR or LF) into words as haproxy does: blanks
/// and commas separate them, `#` starts a description.
fn parse(line: &str) -> Reply<'_> {
    let mut r = Reply::default();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if let Some(d) = rest.strip_prefix('#') {
            r.desc = d
                .trim_start_matches(['\t', ' '])
                .trim_start_matches([' ', '\n']);
            break;
        }
        if rest.is_empty() {
            break;
        }
        // A word ends at a blank, a comma or a newline; its first character is taken
        // whatever it is.
        let first = rest.chars().next().map_or(0, char::len_utf8);
        let end = rest[first..]
            .find(['\t', ' ', '\n', ','])
            .map_or(rest.len(), |i| i + first);
        let word = &rest[..end];
        rest = &rest[end..];
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "up" | "down" | "stopped" | "fail" => r.health = Some(word),
            "ready" | "drain" | "maint" => r.admin = Some(word),
            _ if word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('%') => {
                r.weight = Some(word)
            }
            _ if lower.starts_with("maxconn:") => r.maxconn = Some(&word[8..]),
            _ => {
                r.err.get_or_insert(word);
            }
        }
    }
    r
}

/// The agent's line in `buf`, once complete: `Some(None)` when the data ended (or filled
/// the check's buffer) without one.
fn line_of(buf: &[u8], ended: bool) -> Option<Option<String>> {
    match buf.iter().position(|c| matches!(c, 0 | b'\n' | b'\r')) {
        Some(i) if buf[i] != 0 => Some(Some(String::from_utf8_lossy(&buf[..i]).into_owned())),
        _ if ended => Some(None),
        _ => None,
    }
}

/// What one agent check found: a result to report, or a line that changes no health.
enum Found {
    /// A failure to reach or read the agent, or its health word.
    Report(Outcome, Option<bool>),
    /// A line without a health word: haproxy's CHECKED status with this text.
    Checked(Outcome),
    /// An incomplete line: the status stays, with this text.
    Incomplete(String),
}

/// Asks the agent once; with its line, applies its admin, weight and maxconn words. Also
/// says whether the server ran when the answer came, before its health word (after its
/// admin word when that took it out of maintenance: leaving it settles the state).
async fn ask(shared: &Shared, bi: usize, si: usize, quiet: bool) -> (Found, bool) {
    let mut was = false;
    let found = exchange(shared, bi, si, quiet, &mut was).await;
    (found, was)
}

/// [`ask`]'s exchange.
async fn exchange(shared: &Shared, bi: usize, si: usize, quiet: bool, was: &mut bool) -> Found {
    let b = &shared.backends[bi];
    let s = &b.servers[si];
    let Some(a) = &s.ir.agent else {
        return Found::Incomplete(String::new());
    };
    let start = Instant::now();
    let ep = s.endpoint();
    let Some(ip) = ep.agent_addr.or(ep.addr) else {
        return Found::Report(fail("Layer4 connection problem", None, start), None);
    };
    let (connect, read, _) = limits(&b.ir, a.inter);
    let dst = std::net::SocketAddr::new(ip, ep.agent_port);
    let mut stream = match open(&b.ir, &s.ir, dst, connect, (true, &s.source_port), start).await {
        Ok(st) => st,
        Err(out) => return Found::Report(out, None),
    };
    // Agent connections end with a reset, as haproxy's checks without `linger`.
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    if let Some(send) = &ep.agent_send {
        let _ = stream.write_all(send).await;
    }
    let deadline = Instant::now() + read;
    let mut buf = Vec::new();
    let line = loop {
        let ended = match read_more(&mut stream, &mut buf, deadline).await {
            Err(ReadStop::Timeout) => {
                return Found::Report(fail("Layer7 timeout", None, start), None)
            }
            // A reset before any byte: haproxy's socket error.
            Err(ReadStop::Error(why)) => {
                return Found::Report(fail("Socket error", Some(why), start), None)
            }
            Ok(ended) => ended,
        };
        if ended && buf.is_empty() {
            // The expect is the ruleset's second rule (after its send), whatever
            // `agent-send` says.
            let info = "TCPCHK got an empty response at step 2".to_string();
            return Found::Report(fail("Layer7 invalid response", Some(info), start), None);
        }
        if let Some(l) = line_of(&buf, ended) {
            break l;
        }
    };
    let Some(line) = line else {
        return Found::Incomplete("Ignoring incomplete line from agent".into());
    };
    let r = parse(&line);
    *was = s.running();
    // The health word moves the agent's health at once, as haproxy's reader does while
    // reading the words: an admin change below already sees it.
    let says = r.health.map(|w| w.eq_ignore_ascii_case("up"));
    {
        let mut st = s.agent.lock().unwrap_or_else(|e| e.into_inner());
        match says {
            Some(true) => st.health.h = st.health.rise + st.health.fall - 1,
            Some(false) => st.health.h = 0,
            None => {}
        }
    }
    // Then the administrative state, so the health that follows is judged in it.
    let (maint, drain) = (AdminFlag::ClrMaint, AdminFlag::ClrDrain);
    let flags: &[AdminFlag] = match r.admin.map(str::to_ascii_lowercase).as_deref() {
        Some("drain") => &[AdminFlag::SetDrain, maint],
        Some("maint") => &[AdminFlag::SetMaint, drain],
        Some(_) => &[drain, maint],
        None => &[],
    };
    let in_maint = s.admin() == Admin::Maint;
    for f in flags {
        admin_flag(shared, (bi, si), *f, None, quiet);
    }
    if in_maint && s.admin() != Admin::Maint {
        *was = s.running();
    }
    let weight = r.weight.and_then(|w| change_weight(shared, bi, si, w));
    let maxconn = r.maxconn.and_then(|m| change_maxconn(shared, bi, si, m));
    let wrn = weight.or(maxconn);
    let ms = start.elapsed().as_millis();
    let Some(word) = r.health else {
        let info = match (r.err, wrn) {
            (Some(e), _) => format!("agent reports an error : {e}"),
            (None, Some(w)) => format!("agent warns : {w}"),
            _ => String::new(),
        };
        return Found::Checked(Outcome {
            ok: true,
            reason: "No status change",
            code: None,
            info: (!info.is_empty()).then_some(info),
            ms,
            first_info: None,
        });
    };
    let up = says == Some(true);
    let mut msg = r.desc;
    if msg.is_empty() || up {
        msg = r.err.or(wrn).unwrap_or(msg);
    }
    let info = if msg.is_empty() {
        format!("via agent : {word}")
    } else {
        format!("via agent : {word} ({msg})")
    };
    let out = Outcome {
        ok: up,
        reason: if up {
            "Layer7 check passed"
        } else {
            "Layer7 wrong status"
        },
        code: Some("0".into()),
        info: Some(info),
        ms,
        first_info: None,
    };
    Found::Report(out, Some(up))
}

/// Runs server `si`'s agent check until the configuration is replaced.
pub(super) async fn agent_loop(shared: Arc<Shared>, bi: usize, si: usize, quiet: bool) {
    let b = &shared.backends[bi];
    let s = &b.servers[si];
    let Some(a) = s.ir.agent.clone() else { return };
    loop {
        if shared.retired.load(Relaxed) {
            return;
        }
        // `disable agent`: it asks nothing until enabled again.
        if !s.agent_enabled.load(Relaxed) {
            sleep(a.inter).await;
            continue;
        }
        let (found, was) = ask(&shared, bi, si, quiet).await;
        if shared.retired.load(Relaxed) {
            return;
        }
        let (out, says) = match found {
            // Neither counts nor logs; the status changes (or, incomplete, stays).
            Found::Checked(out) => {
                s.agent.lock().unwrap_or_else(|e| e.into_inner()).last = Some(out);
                sleep(a.inter).await;
                continue;
            }
            Found::Incomplete(text) => {
                if let Some(l) = s
                    .agent
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .last
                    .as_mut()
                {
                    l.info = Some(text);
                }
                sleep(a.inter).await;
                continue;
            }
            Found::Report(out, says) => (out, says),
        };
        let (logged, health) = {
            let mut st = s.agent.lock().unwrap_or_else(|e| e.into_inner());
            let changed = st.last.as_ref().map(|l| l.reason) != Some(out.reason);
            st.last = Some(out.clone());
            (changed, st.health)
        };
        if b.ir.log_health_checks && logged {
            log_check(&shared, b, s, "Agent", &out, &health, quiet);
        }
        // The agent's word against the server's state: in maintenance it waits for the
        // server to leave it.
        let now = s.running();
        if s.admin() != Admin::Maint && says.is_some() && was != now {
            transition(&shared, bi, si, now, &out, quiet);
        }
        sleep(a.inter).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_as_haproxy_splits_them() {
        let r = parse("UP,50% maxconn:10 drain # back soon");
        assert_eq!(r.health, Some("UP"));
        assert_eq!(r.weight, Some("50%"));
        assert_eq!(r.maxconn, Some("10"));
        assert_eq!(r.admin, Some("drain"));
        assert_eq!(r.desc, "back soon");
        let r = parse("bogus down other");
        assert_eq!((r.err, r.health), (Some("bogus"), Some("down")));
        // The last of a kind wins; a weight needs a leading digit and a '%'.
        let r = parse("up down x% 7");
        assert_eq!(
            (r.health, r.weight, r.err),
            (Some("down"), None, Some("x%"))
        );
    }

    #[test]
    fn a_line_ends_at_cr_or_lf_and_not_at_nul() {
        assert_eq!(line_of(b"up\r\n", false), Some(Some("up".into())));
        assert_eq!(line_of(b"up", false), None);
        assert_eq!(line_of(b"up", true), Some(None));
        assert_eq!(line_of(b"u\0p\n", true), Some(None));
    }
}
