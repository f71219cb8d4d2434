//! Running health checks: one task per checked server (connect, PROXY header, `tcp-check`
//! rules, `option httpchk`), and what a result changes: the server's state in the balancer,
//! its queue, HAProxy's UP/DOWN messages and logs, `on-marked-down shutdown-sessions`.
//! The counter itself is [`crate::runtime::lb::health::Health`].

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::time::{sleep, timeout, Instant};

use crate::ir::{Backend, CheckKind, HttpExpect, SendProxy, Server, ServerCheck, TcpCheckRule};
use crate::runtime::lb::state::{Admin, Shared};
use crate::runtime::log::level;
use crate::runtime::proto::proxy_protocol;

use crate::runtime::lb::admin::{no_server_left, status_tail, usable_counts};
use crate::runtime::lb::health::{first_offsets, Outcome};

/// Starts the check task of every checked server, and of every agent (and the warm-up
/// clock of `slowstart` servers).
pub fn spawn_all(shared: &Arc<Shared>, quiet: bool) {
    shared.quiet.store(quiet, Relaxed);
    // Every configured check counts in the spread, a disabled server's too (haproxy's
    // start_checks numbers them all, in configuration order); that one idles in its
    // loop until the operator enables the server.
    let mut list = Vec::new();
    for (bi, b) in shared.backends.iter().enumerate() {
        for (si, s) in b.servers.iter().enumerate() {
            if let Some(c) = &s.ir.check {
                if s.ir.addr.is_some() {
                    list.push((bi, si, c.inter, false));
                }
            }
            // Agents ask in maintenance too.
            if let Some(a) = &s.ir.agent {
                if s.ir.addr.is_some() || a.addr.is_some() {
                    list.push((bi, si, a.inter, true));
                }
            }
        }
    }
    super::warmup::spawn(shared);
    let offsets = first_offsets(&list.iter().map(|x| x.2).collect::<Vec<_>>());
    for ((bi, si, _, agent), off) in list.into_iter().zip(offsets) {
        let sh = shared.clone();
        tokio::spawn(async move {
            sleep(off).await;
            if agent {
                super::agent::agent_loop(sh, bi, si, quiet).await;
            } else {
                check_loop(sh, bi, si, quiet).await;
            }
        });
    }
}

async fn check_loop(shared: Arc<Shared>, bi: usize, si: usize, quiet: bool) {
    let b = &shared.backends[bi];
    let s = &b.servers[si];
    let Some(c) = s.ir.check.clone() else { return };
    loop {
        if shared.retired.load(Relaxed) {
            return;
        }
        // In maintenance a server is not checked (HAProxy stops its checks too), nor
        // with its check disabled by the operator.
        if s.admin() == Admin::Maint || !s.check_enabled.load(Relaxed) {
            sleep(c.inter).await;
            continue;
        }
        let ep = s.endpoint();
        let out = run_check(
            &b.ir,
            &s.ir,
            (&c, &ep),
            (s.check_tls.as_ref(), &s.source_port),
        )
        .await;
        if shared.retired.load(Relaxed) {
            return;
        }
        if s.admin() == Admin::Maint || !s.check_enabled.load(Relaxed) {
            continue;
        }
        // A protocol check that reported its result twice counts it twice, as haproxy.
        let first = out.first_info.clone().map(|t| Outcome {
            info: (!t.is_empty()).then_some(t),
            first_info: None,
            ..out.clone()
        });
        // The server runs while its health check and its agent (if any) both say UP.
        let was_up = s.running();
        if let Some(f) = &first {
            report(&shared, b, s, f, quiet);
        }
        let health = report(&shared, b, s, &out, quiet);
        // A passed check clears the traffic errors `observe` counted.
        if out.ok {
            s.consecutive_errors.store(0, Relaxed);
        }
        let now_up = s.running();
        let changed = was_up != now_up;
        *s.last_check.lock().unwrap_or_else(|e| e.into_inner()) = Some(out.clone());
        if changed {
            transition(&shared, bi, si, now_up, &out, quiet);
        }
        // `on-error` may ask for the next check sooner (at `fastinter`).
        let mut deadline = Instant::now() + health.next_interval(&c);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = s.check_soon.notified() => {
                    deadline = deadline.min(Instant::now() + c.fastinter);
                }
            }
        }
    }
}

/// Counts one check result in the server's health and logs it under
/// `option log-health-checks`; returns the health after it.
pub(super) fn report(
    shared: &Shared,
    b: &crate::runtime::lb::state::BackendRt,
    s: &crate::runtime::lb::state::ServerRt,
    out: &Outcome,
    quiet: bool,
) -> super::health::Health {
    let (noted, health) = {
        let mut h = s.health.lock().unwrap_or_else(|e| e.into_inner());
        // haproxy counts a failed check only while the health can still drop.
        if !out.ok && h.h > 0 {
            s.chkfail.fetch_add(1, Relaxed);
        }
        let (_, noted) = h.record(out.ok);
        (noted, *h)
    };
    if b.ir.log_health_checks && noted {
        log_check(shared, b, s, "Health", out, &health, quiet);
    }
    health
}

/// The `option log-health-checks` line of one `kind` ("Health", "Agent") check result.
pub(super) fn log_check(
    shared: &Shared,
    b: &crate::runtime::lb::state::BackendRt,
    s: &crate::runtime::lb::state::ServerRt,
    kind: &str,
    out: &Outcome,
    health: &super::health::Health,
    quiet: bool,
) {
    let what = if out.ok { "succeeded" } else { "failed" };
    // A user weight of 0 shows as DRAIN.
    let drained = b
        .servers
        .iter()
        .position(|x| std::ptr::eq(x, s))
        .is_some_and(|si| b.lb.lock().unwrap_or_else(|e| e.into_inner()).slots[si].weight == 0);
    let msg = format!(
        "{kind} check for {}server {}/{} {what}, {}, status: {}.",
        if s.ir.backup { "backup " } else { "" },
        b.ir.name,
        s.ir.name,
        out.describe(),
        health.status(drained)
    );
    let level = if out.ok {
        level::NOTICE
    } else {
        level::WARNING
    };
    say(shared, b, quiet, level, false, &msg);
}

/// Logs to the backend's targets and, unless quiet, to stderr as a WARNING (ALERT when `alert`).
pub(super) fn say(
    shared: &Shared,
    b: &crate::runtime::lb::state::BackendRt,
    quiet: bool,
    severity: u8,
    alert: bool,
    msg: &str,
) {
    if shared.collect(alert, msg) {
        return;
    }
    shared.logger.send(&b.ir.log, severity, msg);
    if !quiet {
        let tag = if alert { "[ALERT]    " } else { "[WARNING]  " };
        eprintln!("{tag}({}) : {msg}", std::process::id());
    }
}

pub(super) fn transition(
    shared: &Shared,
    bi: usize,
    si: usize,
    up: bool,
    out: &Outcome,
    quiet: bool,
) {
    let why = if shared.backends[bi].ir.log_health_checks {
        String::new()
    } else {
        format!(", {}", out.describe())
    };
    change(shared, bi, si, up, &why, quiet);
}

/// Server `si` of backend `bi` goes UP or DOWN (`why` ends its message's first sentence),
/// then the servers tracking it follow, depth first, as haproxy's srv_set_running and
/// srv_set_stopped tell them.
pub(super) fn change(shared: &Shared, bi: usize, si: usize, up: bool, why: &str, quiet: bool) {
    let b = &shared.backends[bi];
    let s = &b.servers[si];
    *s.lastchg.lock().unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now();
    if !up {
        s.chkdown.fetch_add(1, Relaxed);
    }
    // A draining server going down is no alarm (haproxy's srv_was_stopping).
    let draining = s.admin() == Admin::Drain || s.drain_kept();
    // A server coming up takes sessions waiting for any server (a drained one stays out
    // of the rotation until the operator readies it); one going down sends its own
    // waiting sessions back to balancing when `option redispatch` allows it.
    let before = usable_counts(b);
    if up {
        b.start(si);
    } else {
        b.stopped(si);
    }
    let moved = match up {
        true if s.admin() == Admin::Ready => b.server_up(si),
        true => 0,
        false => b.server_down(si),
    };
    let (act, bck) = usable_counts(b);
    // The backend itself changes state when its first server comes back or its last goes.
    b.usable_changed(before, (act, bck), true);
    let queued = s.queued.load(Relaxed);
    let who = format!(
        "{}Server {}/{}",
        if s.ir.backup { "Backup " } else { "" },
        b.ir.name,
        s.ir.name
    );
    if up {
        let tail = status_tail(false, (act, bck), 0, moved, queued);
        let msg = format!("{who} is UP{why}{tail}");
        say(shared, b, quiet, level::NOTICE, false, &msg);
        // `on-marked-up shutdown-backup-sessions`: the backups' sessions end.
        if s.ir.shutdown_backup_on_up && !s.ir.backup {
            for other in b.servers.iter().filter(|o| o.ir.backup) {
                other.cancels.cancel_all(crate::runtime::cancel::Reason::Up);
            }
        }
    } else {
        let tail = status_tail(true, (act, bck), s.sessions.load(Relaxed), moved, queued);
        let msg = format!("{who} is DOWN{why}{tail}");
        let sev = if draining {
            level::NOTICE
        } else {
            level::ALERT
        };
        say(shared, b, quiet, sev, false, &msg);
        if s.ir.shutdown_on_down {
            s.cancels.cancel_all(crate::runtime::cancel::Reason::Down);
        }
        if act == 0 && bck == 0 {
            no_server_left(shared, b, quiet);
        }
    }
    for &(tb, ts) in &s.trackers {
        follow(shared, (tb, ts), up, (bi, si), quiet);
    }
}

/// A tracking server takes the state of the server it tracks (`via`). One in maintenance
/// only records it, and says nothing: leaving maintenance then shows that state.
fn follow(shared: &Shared, (bi, si): (usize, usize), up: bool, via: (usize, usize), quiet: bool) {
    let s = &shared.backends[bi].servers[si];
    {
        let mut h = s.health.lock().unwrap_or_else(|e| e.into_inner());
        let want = if up { h.rise + h.fall - 1 } else { 0 };
        if h.h == want {
            return;
        }
        h.h = want;
    }
    if s.admin() == Admin::Maint {
        return;
    }
    let v = &shared.backends[via.0];
    let why = format!(" via {}/{}", v.ir.name, v.servers[via.1].ir.name);
    change(shared, bi, si, up, &why, quiet);
}

pub(super) fn fail(reason: &'static str, info: Option<String>, start: Instant) -> Outcome {
    Outcome {
        ok: false,
        reason,
        code: None,
        info,
        ms: start.elapsed().as_millis(),
        first_info: None,
    }
}

/// Whether a status code is in an `http-check expect status` list: codes and ranges
/// separated by commas (`200-399,500`), as haproxy 2.6 reads it.
fn status_in(code: &str, list: &str) -> bool {
    let Ok(c) = code.parse::<u32>() else {
        return false;
    };
    list.split(',').any(|part| match part.split_once('-') {
        Some((lo, hi)) => matches!((lo.trim().parse::<u32>(), hi.trim().parse::<u32>()), (Ok(l), Ok(h)) if (l..=h).contains(&c)),
        None => part.trim().parse::<u32>() == Ok(c),
    })
}

/// Runs one check of `s` and says what it found.
pub async fn run_check(
    be: &Backend,
    s: &Server,
    (c, ep): (&ServerCheck, &crate::runtime::lb::endpoint::Endpoint),
    (tls, cursor): (
        Option<&crate::runtime::tls::client::Connector>,
        &std::sync::atomic::AtomicU32,
    ),
) -> Outcome {
    let start = Instant::now();
    // The check's own address and port, else the server's, as the stats socket may
    // have changed them.
    let Some(ip) = ep.check_addr.or(ep.addr) else {
        return fail(
            "Layer4 connection problem",
            Some("no address".into()),
            start,
        );
    };
    // A leading `tcp-check connect` or `http-check connect` rule chooses the port and
    // whether to send a PROXY header (its `ssl` made the server's checks TLS ones).
    let first_connect = match &be.check {
        CheckKind::Tcp(checks) => checks
            .rules
            .iter()
            .find(|r| !matches!(r, TcpCheckRule::Comment(_)))
            .and_then(|r| match r {
                TcpCheckRule::Connect {
                    port,
                    send_proxy,
                    linger,
                    ..
                } => Some((*port, *send_proxy, *linger)),
                _ => None,
            }),
        CheckKind::Http(h) => h.connect.map(|c| (c.port, c.send_proxy, c.linger)),
        _ => None,
    };
    let port = first_connect
        .and_then(|(p, _, _)| p)
        .or(ep.check_port)
        .unwrap_or(if ep.mapped { s.port } else { ep.port as u16 });
    let send_proxy = c.send_proxy || first_connect.is_some_and(|(_, sp, _)| sp);
    let linger = first_connect.is_some_and(|(_, _, l)| l);
    let dst = SocketAddr::new(ip, port);
    let (connect_limit, read_limit, total) = limits(be, c.inter);
    // Delayed ACK from the start for a plain connect check, as haproxy's: the handshake's
    // last ACK waits, so the check resets the connection before it completes and the
    // server's accept() never returns it (a check is no client in the broker's logs). A
    // tcp-check that waits for the server's data first must not delay it (haproxy's
    // takes 0 ms where a delayed ACK would take 200).
    let quickack = !matches!(be.check, CheckKind::Connect);
    let mut stream = match open(be, s, dst, connect_limit, (quickack, cursor), start).await {
        Ok(st) => st,
        Err(out) => return out,
    };
    // Checks end with a reset rather than a FIN, as HAProxy's do, unless `linger` asks
    // for a clean close (the protocol checks' connect rules do).
    if !linger {
        let _ = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    }
    if send_proxy {
        let header = match s.send_proxy {
            SendProxy::V2 => proxy_protocol::v2_local(&s.proxy_v2),
            _ => match (stream.local_addr(), stream.peer_addr()) {
                (Ok(l), Ok(p)) => proxy_protocol::v1(l, p),
                _ => Vec::new(),
            },
        };
        let _ = stream.write_all(&header).await;
    }
    // Over TLS when the traffic is (unless the check goes elsewhere) or `check-ssl`: the
    // handshake is part of the check, as HAProxy's Layer6 step.
    // The exchange ends by the check's own deadline, so its timeouts are the step's
    // (`at step N of tcp-check`, `tout-status`, Layer6 during the handshake) as haproxy
    // reports them; the outer bound below is only a safety net.
    let deadline = start + total;
    let until = |limit: Duration| deadline.min(Instant::now() + limit);
    let rest = async {
        let Some(c) = tls else {
            return body(
                &be.check,
                &mut stream,
                until(read_limit),
                "Layer4 check passed",
            )
            .await;
        };
        let handshake = until(connect_limit).saturating_duration_since(Instant::now());
        match timeout(handshake, c.tls.connect(c.name.clone(), stream)).await {
            Ok(Ok(mut t)) => {
                body(&be.check, &mut t, until(read_limit), "Layer6 check passed").await
            }
            // HAProxy's words for any failed handshake.
            Ok(Err(_)) => fail(
                "Layer6 invalid response",
                Some("SSL handshake failure".into()),
                start,
            ),
            Err(_) => fail("Layer6 timeout", None, start),
        }
    };
    let mut out = match timeout(total + Duration::from_millis(100), rest).await {
        Ok(o) => o,
        Err(_) => fail("Layer7 timeout", None, start),
    };
    out.ms = start.elapsed().as_millis();
    // haproxy keeps a check's text in 127 bytes.
    for t in [&mut out.info, &mut out.first_info].into_iter().flatten() {
        if t.len() > 127 {
            let mut end = 127;
            while !t.is_char_boundary(end) {
                end -= 1;
            }
            t.truncate(end);
        }
    }
    out
}

/// A check's time limits with interval `inter`: connect, exchange, whole. With `timeout
/// check`, the connect is bounded by min(timeout connect, inter) and the rest by `timeout
/// check`; without it, `inter` bounds the whole check.
pub(super) fn limits(be: &Backend, inter: Duration) -> (Duration, Duration, Duration) {
    match be.timeout_check {
        Some(tc) => {
            let connect = be.timeout_connect.map_or(inter, |t| t.min(inter));
            (connect, tc, connect + tc)
        }
        None => (inter, inter, inter),
    }
}

/// Opens a check's connection to `dst` from the server's `source`, within `limit`; the
/// failure is the check's result. Without `quickack`, the handshake's last ACK is delayed.
pub(super) async fn open(
    be: &Backend,
    s: &Server,
    dst: SocketAddr,
    limit: Duration,
    (quickack, cursor): (bool, &std::sync::atomic::AtomicU32),
    start: Instant,
) -> Result<tokio::net::TcpStream, Outcome> {
    let conn = async {
        let domain = socket2::Domain::for_address(dst);
        let raw = socket2::Socket::new(domain, socket2::Type::STREAM.nonblocking(), None)?;
        if let Some(ut) = s.tcp_ut {
            let _ = raw.set_tcp_user_timeout(Some(ut));
        }
        // A check has no client: the plain `source`, its range and device (tcp_connect_server
        // with no conn->src).
        if let Some(src) = s.source.as_ref().or(be.source.as_ref()) {
            let port = crate::runtime::source::ports(src, cursor)
                .next()
                .unwrap_or(0);
            crate::runtime::source::bind(&raw, src, port, None)
                .map_err(|f| std::io::Error::from_raw_os_error(f.errno))?;
        }
        let sock = TcpSocket::from_std_stream(std::net::TcpStream::from(raw));
        if !quickack {
            let _ = SockRef::from(&sock).set_quickack(false);
        }
        sock.connect(dst).await
    };
    match timeout(limit, conn).await {
        Err(_) => Err(fail("Layer4 timeout", None, start)),
        Ok(Err(e)) => Err(fail(
            "Layer4 connection problem",
            Some(crate::sys::os_text(&e)),
            start,
        )),
        Ok(Ok(st)) => Ok(st),
    }
}

/// The check's exchange once connected (and secured): nothing more for a plain connect
/// check, which then passes with `passed`.
async fn body<S: AsyncRead + AsyncWrite + Unpin>(
    check: &CheckKind,
    stream: &mut S,
    deadline: Instant,
    passed: &'static str,
) -> Outcome {
    match check {
        CheckKind::Connect => Outcome {
            ok: true,
            reason: passed,
            code: None,
            info: None,
            ms: 0,
            first_info: None,
        },
        CheckKind::Tcp(checks) => super::tcp_check::run(stream, checks, deadline, passed).await,
        CheckKind::Http(h) => {
            http_check(
                stream,
                h,
                deadline.saturating_duration_since(Instant::now()),
            )
            .await
        }
    }
}

async fn http_check<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    h: &crate::ir::HttpCheck,
    limit: Duration,
) -> Outcome {
    let start = Instant::now();
    let mut req = format!("{} {} {}\r\n", h.method, h.uri, h.version);
    for (k, v) in &h.headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    if stream.write_all(req.as_bytes()).await.is_err() {
        return fail("Layer7 invalid response", None, start);
    }
    let mut buf = Vec::new();
    let read_all = async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            let head_done = super::tcp_check::contains(&buf, b"\r\n\r\n");
            if head_done && !matches!(h.expect, HttpExpect::String(..)) || buf.len() > 65536 {
                break;
            }
        }
    };
    if timeout(limit, read_all).await.is_err() && buf.is_empty() {
        return fail("Layer7 timeout", None, start);
    }
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.splitn(3, ' ');
    let (ver, code, msg) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if !ver.starts_with("HTTP/") || code.len() != 3 || !code.chars().all(|c| c.is_ascii_digit()) {
        return fail(
            "Layer7 invalid response",
            Some("no valid HTTP status line".into()),
            start,
        );
    }
    let ok = match &h.expect {
        HttpExpect::Default => code.starts_with('2') || code.starts_with('3'),
        HttpExpect::Status(neg, want) => status_in(code, want) != *neg,
        HttpExpect::String(neg, want) => {
            let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
            body.contains(want.as_str()) != *neg
        }
    };
    if ok {
        Outcome {
            ok: true,
            reason: "Layer7 check passed",
            code: Some(code.into()),
            info: None,
            ms: 0,
            first_info: None,
        }
    } else {
        let reason = if matches!(h.expect, HttpExpect::String(..)) {
            "Layer7 invalid response"
        } else {
            "Layer7 wrong status"
        };
        Outcome {
            ok: false,
            reason,
            code: Some(code.into()),
            info: Some(msg.trim().into()),
            ms: 0,
            first_info: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn expect_status_takes_lists_and_ranges() {
        assert!(super::status_in("200", "200"));
        assert!(super::status_in("302", "200-399"));
        assert!(super::status_in("500", "200-399,500"));
        assert!(!super::status_in("404", "200-399,500"));
        assert!(!super::status_in("200", "abc"));
    }
}
