//! Log lines as HAProxy writes them (configuration.txt §8.2.2 TCP log format, §4.2 `log`).
//!
//! Formatting is pure (tested against lines captured from haproxy 2.6); sending goes to the
//! targets of the IR: unix datagram sockets such as `/dev/log`, UDP syslog, stdout/stderr.
//! A target that cannot take the line now (unreachable, or its queue full because the
//! syslog daemon stopped reading) loses it and the loss is counted (`DroppedLogs` in
//! `show info`), as in HAProxy: logging never blocks or fails a session.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use chrono::{DateTime, Local};

use crate::ir::{LogDest, LogFormat, LogTarget};

/// Syslog severities used by HAProxy's messages.
pub mod level {
    /// Server DOWN.
    pub const ALERT: u8 = 1;
    /// "backend has no server available!"
    pub const EMERG: u8 = 0;
    /// "Proxy stopped", pause/resume.
    pub const WARNING: u8 = 4;
    /// Server UP.
    pub const NOTICE: u8 = 5;
    /// Traffic.
    pub const INFO: u8 = 6;
}

/// Everything a TCP log line reports about one session.
#[derive(Debug, Clone)]
pub struct TcpLog<'a> {
    /// Client address.
    pub client: SocketAddr,
    /// Accept time.
    pub accept: DateTime<Local>,
    /// Frontend name, `~` appended for TLS.
    pub frontend: &'a str,
    /// TLS frontend.
    pub tls: bool,
    /// Backend name (the frontend's when there is none).
    pub backend: &'a str,
    /// Server name, or `<NOSRV>`.
    pub server: &'a str,
    /// Queue time ms (-1: never queued to completion).
    pub tw: i64,
    /// Connect time ms (-1: never connected).
    pub tc: i64,
    /// Total time ms.
    pub tt: i64,
    /// Bytes from server to client.
    pub bytes: u64,
    /// Two-letter termination state.
    pub term: [u8; 2],
    /// actconn/feconn/beconn/srv_conn at log time.
    pub conns: [u32; 4],
    /// Retries (with `+` when redispatched).
    pub retries: u32,
    /// Redispatched.
    pub redispatched: bool,
    /// Server queue / backend queue at log time.
    pub queues: [u32; 2],
}

impl TcpLog<'_> {
    /// The message, without syslog header.
    pub fn line(&self) -> String {
        format!(
            "{}:{} [{}] {}{} {}/{} {}/{}/{} {} {}{} {}/{}/{}/{}/{}{} {}/{}",
            fmt_ip(&self.client),
            self.client.port(),
            self.accept.format("%d/%b/%Y:%H:%M:%S%.3f"),
            self.frontend,
            if self.tls { "~" } else { "" },
            self.backend,
            self.server,
            // haproxy prints Tw as t_queue - t_request, and a TCP session has no request
            // (t_request = -1): a session that reached the queue shows one ms more.
            if self.tw >= 0 { self.tw + 1 } else { -1 },
            self.tc,
            self.tt,
            self.bytes,
            self.term[0] as char,
            self.term[1] as char,
            self.conns[0],
            self.conns[1],
            self.conns[2],
            self.conns[3],
            if self.redispatched { "+" } else { "" },
            self.retries,
            self.queues[0],
            self.queues[1],
        )
    }
}

fn fmt_ip(a: &SocketAddr) -> String {
    // HAProxy prints IPv4-mapped clients of a dual-stack bind as plain IPv4.
    match a {
        SocketAddr::V4(v) => v.ip().to_string(),
        SocketAddr::V6(v) => match v.ip().to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v.ip().to_string(),
        },
    }
}

/// An address as haproxy prints it (IPv4-mapped IPv6 as IPv4).
pub fn fmt_addr(a: SocketAddr) -> String {
    match a {
        SocketAddr::V6(v) if v.ip().to_ipv4_mapped().is_some() => {
            format!(
                "{}:{}",
                v.ip()
                    .to_ipv4_mapped()
                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                v.port()
            )
        }
        other => other.to_string(),
    }
}

/// Frames `msg` for `t` as HAProxy does (`tag` is the log-tag, `pid` the process id).
pub fn frame(
    t: &LogTarget,
    severity: u8,
    tag: &str,
    pid: u32,
    now: DateTime<Local>,
    host: Option<&str>,
    msg: &str,
) -> String {
    let pri = t.facility as u32 * 8 + severity as u32;
    let iso = || now.format("%Y-%m-%dT%H:%M:%S%.6f%:z");
    let legacy = || now.format("%b %e %H:%M:%S");
    match t.format {
        LogFormat::Raw => format!("{msg}\n"),
        LogFormat::Priority => format!("<{pri}>{msg}\n"),
        // haproxy's short and timed formats carry the severity alone, without the facility.
        LogFormat::Short => format!("<{severity}>{msg}\n"),
        LogFormat::Timed => format!("<{severity}>{} {msg}\n", iso()),
        LogFormat::Iso => format!("{} {msg}\n", iso()),
        LogFormat::Local => format!("<{pri}>{} {tag}[{pid}]: {msg}\n", legacy()),
        // Without a format haproxy names no host unless `log-send-hostname`; with
        // `format rfc3164` it always does (recorded from haproxy 2.6.12).
        LogFormat::Default | LogFormat::Rfc3164 => {
            let h = match (host, t.format) {
                (Some(h), _) => format!("{h} "),
                (None, LogFormat::Rfc3164) => "localhost ".to_string(),
                (None, _) => String::new(),
            };
            format!("<{pri}>{} {h}{tag}[{pid}]: {msg}\n", legacy())
        }
        LogFormat::Rfc5424 => format!(
            "<{pri}>1 {} {} {tag} {pid} - - {msg}\n",
            iso(),
            host.unwrap_or("-")
        ),
    }
}

/// Cuts a framed line to `len` bytes, its newline included (haproxy's `len`), on a
/// character boundary.
fn cut(line: &mut String, len: usize) {
    if line.len() > len {
        let mut at = len.saturating_sub(1);
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        line.truncate(at);
        line.push('\n');
    }
}

/// Sends log lines to the configured targets.
#[derive(Debug)]
pub struct Logger {
    tag: String,
    pid: u32,
    host: Option<String>,
    udp: Option<UdpSocket>,
    unix: Option<UnixDatagram>,
    /// Standard output and error are closed under `-q` and in daemon mode.
    stdio: bool,
    lock: Mutex<()>,
    /// Lines lost because a target could not take them at once.
    dropped: AtomicU64,
}

/// Whether `fd` can take a line without blocking: a pipe whose reader stopped (a stalled
/// journald, a paused `| less`) is full and would hold the worker thread.
fn writable<F: AsFd>(fd: F) -> bool {
    let mut p = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
    matches!(poll(&mut p, PollTimeout::ZERO), Ok(1))
        && p[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLOUT))
}

impl Logger {
    /// A logger writing with `tag` (log-tag) for process `pid`.
    pub fn new(tag: &str, host: Option<String>, stdio: bool) -> Self {
        Logger {
            tag: tag.to_string(),
            pid: std::process::id(),
            host,
            udp: UdpSocket::bind("0.0.0.0:0")
                .ok()
                .or_else(|| UdpSocket::bind("[::]:0").ok())
                .filter(|s| s.set_nonblocking(true).is_ok()),
            unix: UnixDatagram::unbound()
                .ok()
                .filter(|s| s.set_nonblocking(true).is_ok()),
            stdio,
            lock: Mutex::new(()),
            dropped: AtomicU64::new(0),
        }
    }

    /// Lines lost so far (`DroppedLogs`).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Sends `msg` at `severity` to every target that accepts that severity.
    pub fn send(&self, targets: &[LogTarget], severity: u8, msg: &str) {
        let now = Local::now();
        for t in targets.iter().filter(|t| severity <= t.max_level) {
            // `<minlevel>`: nothing is sent more urgent than it.
            let mut line = frame(
                t,
                severity.max(t.min_level),
                t.tag.as_deref().unwrap_or(&self.tag),
                self.pid,
                now,
                self.host.as_deref(),
                msg,
            );
            cut(&mut line, t.max_len);
            let sent = match &t.dest {
                LogDest::Stdout | LogDest::Stderr if !self.stdio => true,
                LogDest::Stdout => {
                    let _g = self.lock.lock();
                    let mut out = std::io::stdout();
                    writable(&out) && out.write_all(line.as_bytes()).is_ok() && out.flush().is_ok()
                }
                LogDest::Stderr => {
                    let err = std::io::stderr();
                    writable(&err) && (&err).write_all(line.as_bytes()).is_ok()
                }
                LogDest::Udp(a) => self
                    .udp
                    .as_ref()
                    .is_some_and(|s| s.send_to(line.trim_end_matches('\n').as_bytes(), a).is_ok()),
                LogDest::Unix(p) => self
                    .unix
                    .as_ref()
                    .is_some_and(|s| s.send_to(line.trim_end_matches('\n').as_bytes(), p).is_ok()),
            };
            if !sent {
                self.dropped.fetch_add(1, Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn tcplog_line_matches_haproxy() {
        let accept = Local.with_ymd_and_hms(2026, 11, 24, 13, 39, 30).unwrap()
            + chrono::Duration::milliseconds(662);
        let l = TcpLog {
            client: "127.0.0.55:41234".parse().unwrap(),
            accept,
            frontend: "fe",
            tls: false,
            backend: "be",
            server: "s1",
            tw: 0,
            tc: 0,
            tt: 300,
            bytes: 3,
            term: *b"--",
            conns: [1, 1, 0, 0],
            retries: 0,
            redispatched: false,
            queues: [0, 0],
        };
        assert_eq!(
            l.line(),
            "127.0.0.55:41234 [24/Nov/2026:13:39:30.662] fe be/s1 1/0/300 3 -- 1/1/0/0/0 0/0"
        );
        let l2 = TcpLog {
            tls: true,
            redispatched: true,
            retries: 1,
            ..l
        };
        assert!(l2.line().contains(" fe~ be/s1 ") && l2.line().ends_with("1/1/0/0/+1 0/0"));
    }

    #[test]
    fn syslog_framing() {
        let t = LogTarget {
            dest: LogDest::Stdout,
            facility: 16,
            max_level: 7,
            min_level: 0,
            max_len: 1024,
            format: LogFormat::Default,
            tag: None,
        };
        let now = Local.with_ymd_and_hms(2026, 11, 4, 13, 40, 0).unwrap();
        assert_eq!(
            frame(&t, 6, "haproxy", 42, now, None, "hi"),
            "<134>Nov  4 13:40:00 haproxy[42]: hi\n"
        );
        let raw = LogTarget {
            format: LogFormat::Raw,
            ..t.clone()
        };
        let explicit = LogTarget {
            format: LogFormat::Rfc3164,
            ..t.clone()
        };
        assert_eq!(
            frame(&explicit, 6, "haproxy", 42, now, None, "hi"),
            "<134>Nov  4 13:40:00 localhost haproxy[42]: hi\n"
        );
        assert_eq!(frame(&raw, 6, "haproxy", 42, now, None, "hi"), "hi\n");
        // Lines recorded from haproxy 2.6.12 (`log stdout format X local0`,
        // `log-send-hostname myhost`), severity alert.
        let with = |format| {
            let lt = LogTarget {
                format,
                ..t.clone()
            };
            frame(&lt, 1, "haproxy", 42, now, Some("myhost"), "m")
        };
        assert_eq!(with(LogFormat::Short), "<1>m\n");
        assert_eq!(with(LogFormat::Priority), "<129>m\n");
        assert_eq!(
            with(LogFormat::Local),
            "<129>Nov  4 13:40:00 haproxy[42]: m\n"
        );
        assert_eq!(
            with(LogFormat::Rfc3164),
            "<129>Nov  4 13:40:00 myhost haproxy[42]: m\n"
        );
        assert!(with(LogFormat::Timed).starts_with("<1>2026-11-04T13:40:00.000000"));
        assert!(with(LogFormat::Iso).starts_with("2026-11-04T13:40:00.000000"));
        assert!(with(LogFormat::Iso).ends_with(" m\n"));
        assert!(with(LogFormat::Rfc5424).starts_with("<129>1 2026-11-04T13:40:00.000000"));
        assert!(with(LogFormat::Rfc5424).ends_with(" myhost haproxy 42 - - m\n"));
    }
}
