//! Log lines as HAProxy writes them (configuration.txt §8.2.2 TCP log format, §4.2 `log`).
//!
//! Formatting is pure (tested against lines captured from haproxy 2.6); sending goes to the
//! targets of the IR: unix datagram sockets such as `/dev/log`, UDP syslog, stdout/stderr.
//! A target that cannot take the line now (unreachable, or its queue full because the
//! syslog daemon stopped reading) loses it and the loss is counted (`DroppedLogs` in
//! `show info`), as in HAProxy: logging never blocks or fails a session.

pub mod format;
mod sample;

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use chrono::{DateTime, Local};

use crate::ir::{LogDest, LogTarget, SyslogFormat};

/// Syslog severities used by HAProxy's messages.
pub mod level {
    /// Server DOWN.
    pub const ALERT: u8 = 1;
    /// "backend has no server available!"
    pub const EMERG: u8 = 0;
    /// "Proxy stopped", pause/resume.
    pub const WARNING: u8 = 4;
    /// Traffic in error under `option log-separate-errors`.
    pub const ERR: u8 = 3;
    /// Server UP.
    pub const NOTICE: u8 = 5;
    /// Traffic.
    pub const INFO: u8 = 6;
}

/// An address as haproxy prints it (IPv4-mapped IPv6 as IPv4).
pub fn fmt_addr(a: SocketAddr) -> String {
    SocketAddr::new(unmapped(a.ip()), a.port()).to_string()
}

/// An IPv4-mapped IPv6 address (a v4 client of a dual-stack bind) as the IPv4 address
/// haproxy prints; any other address as it is.
pub fn unmapped(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// The host name `%H` prints (the system's, as haproxy reads it at start).
pub fn hostname() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    })
}

/// Frames `msg` for `t` as HAProxy does (`tag` is the log-tag, `pid` the process id, `sd`
/// the structured data of RFC 5424 lines).
#[allow(clippy::too_many_arguments)]
pub fn frame(
    t: &LogTarget,
    severity: u8,
    tag: &str,
    pid: u32,
    now: DateTime<Local>,
    host: Option<&str>,
    msg: &str,
    sd: &str,
) -> String {
    let pri = t.facility as u32 * 8 + severity as u32;
    let iso = || now.format("%Y-%m-%dT%H:%M:%S%.6f%:z");
    let legacy = || now.format("%b %e %H:%M:%S");
    match t.format {
        SyslogFormat::Raw => format!("{msg}\n"),
        SyslogFormat::Priority => format!("<{pri}>{msg}\n"),
        // haproxy's short and timed formats carry the severity alone, without the facility.
        SyslogFormat::Short => format!("<{severity}>{msg}\n"),
        SyslogFormat::Timed => format!("<{severity}>{} {msg}\n", iso()),
        SyslogFormat::Iso => format!("{} {msg}\n", iso()),
        SyslogFormat::Local => format!("<{pri}>{} {tag}[{pid}]: {msg}\n", legacy()),
        // Without a format haproxy names no host unless `log-send-hostname`; with
        // `format rfc3164` it always does (recorded from haproxy 2.6.12).
        SyslogFormat::Default | SyslogFormat::Rfc3164 => {
            let h = match (host, t.format) {
                (Some(h), _) => format!("{h} "),
                (None, SyslogFormat::Rfc3164) => "localhost ".to_string(),
                (None, _) => String::new(),
            };
            format!("<{pri}>{} {h}{tag}[{pid}]: {msg}\n", legacy())
        }
        SyslogFormat::Rfc5424 => format!(
            "<{pri}>1 {} {} {tag} {pid} - {sd} {msg}\n",
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
    /// Where the sampled targets are in their cycles.
    sampling: Mutex<sample::Sampling>,
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
            sampling: Mutex::default(),
        }
    }

    /// Lines lost so far (`DroppedLogs`).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Sends `msg` at `severity` to every target that accepts that severity.
    pub fn send(&self, targets: &[LogTarget], severity: u8, msg: &str) {
        self.send_sd(targets, severity, msg, "-");
    }

    /// [`Logger::send`] with the structured data RFC 5424 targets write (`-`: none).
    pub fn send_sd(&self, targets: &[LogTarget], severity: u8, msg: &str, sd: &str) {
        let now = Local::now();
        for t in targets.iter().filter(|t| severity <= t.max_level) {
            // `sample`: only the lines of its ranges (after the level filter, as haproxy).
            if let Some(smp) = &t.sample {
                let mut st = self.sampling.lock().unwrap_or_else(|e| e.into_inner());
                if !st.take(t.copy, smp) {
                    continue;
                }
            }
            // `<minlevel>`: nothing is sent more urgent than it.
            let mut line = frame(
                t,
                severity.max(t.min_level),
                t.tag.as_deref().unwrap_or(&self.tag),
                self.pid,
                now,
                self.host.as_deref(),
                msg,
                sd,
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
    fn syslog_framing() {
        let t = LogTarget {
            dest: LogDest::Stdout,
            facility: 16,
            max_level: 7,
            min_level: 0,
            max_len: 1024,
            format: SyslogFormat::Default,
            tag: None,
            sample: None,
            copy: 0,
        };
        let now = Local.with_ymd_and_hms(2026, 11, 4, 13, 40, 0).unwrap();
        assert_eq!(
            frame(&t, 6, "haproxy", 42, now, None, "hi", "-"),
            "<134>Nov  4 13:40:00 haproxy[42]: hi\n"
        );
        let raw = LogTarget {
            format: SyslogFormat::Raw,
            ..t.clone()
        };
        let explicit = LogTarget {
            format: SyslogFormat::Rfc3164,
            ..t.clone()
        };
        assert_eq!(
            frame(&explicit, 6, "haproxy", 42, now, None, "hi", "-"),
            "<134>Nov  4 13:40:00 localhost haproxy[42]: hi\n"
        );
        assert_eq!(frame(&raw, 6, "haproxy", 42, now, None, "hi", "-"), "hi\n");
        // Lines recorded from haproxy 2.6.12 (`log stdout format X local0`,
        // `log-send-hostname myhost`), severity alert.
        let with = |format| {
            let lt = LogTarget {
                format,
                ..t.clone()
            };
            frame(&lt, 1, "haproxy", 42, now, Some("myhost"), "m", "-")
        };
        assert_eq!(with(SyslogFormat::Short), "<1>m\n");
        assert_eq!(with(SyslogFormat::Priority), "<129>m\n");
        assert_eq!(
            with(SyslogFormat::Local),
            "<129>Nov  4 13:40:00 haproxy[42]: m\n"
        );
        assert_eq!(
            with(SyslogFormat::Rfc3164),
            "<129>Nov  4 13:40:00 myhost haproxy[42]: m\n"
        );
        assert!(with(SyslogFormat::Timed).starts_with("<1>2026-11-04T13:40:00.000000"));
        assert!(with(SyslogFormat::Iso).starts_with("2026-11-04T13:40:00.000000"));
        assert!(with(SyslogFormat::Iso).ends_with(" m\n"));
        assert!(with(SyslogFormat::Rfc5424).starts_with("<129>1 2026-11-04T13:40:00.000000"));
        assert!(with(SyslogFormat::Rfc5424).ends_with(" myhost haproxy 42 - - m\n"));
    }
}
