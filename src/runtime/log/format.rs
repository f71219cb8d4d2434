//! Renders a parsed `log-format` (configuration.txt §8.2.4) for one session, as haproxy
//! 2.6's `sess_build_logline` does in a TCP proxy: the same texts for absent values (`-`,
//! `""` with `+Q`), quoting, escaping and hexadecimal forms, spaces merged.

use std::fmt::Write;
use std::net::SocketAddr;

use chrono::{DateTime, Local, Utc};

use crate::ir::log_format::{LogFlags, LogFormat, LogNode, LogVar};
use crate::runtime::termination::Termination;

/// What a log line can report about one session.
#[derive(Clone)]
pub struct Facts<'a> {
    /// Client address (from the PROXY header with `accept-proxy`).
    pub client: Option<SocketAddr>,
    /// The address the client connected to.
    pub frontend_addr: Option<SocketAddr>,
    /// Source address of the server connection.
    pub backend_src: Option<SocketAddr>,
    /// The server connection's destination.
    pub server_addr: Option<SocketAddr>,
    /// Accept time.
    pub accept: DateTime<Local>,
    /// Frontend name.
    pub frontend: &'a str,
    /// The bind is TLS (`%ft` appends `~`).
    pub tls: bool,
    /// Backend name (the frontend's when there is none).
    pub backend: &'a str,
    /// Server name, None for `<NOSRV>`.
    pub server: Option<&'a str>,
    /// Accept to session ready (PROXY header, TLS handshake), ms.
    pub th: i64,
    /// Accept to leaving the queue, ms (-1: never left it).
    pub t_queue: i64,
    /// Queue to connected, ms (-1: never connected).
    pub tc: i64,
    /// Total time, ms.
    pub tt: i64,
    /// Bytes from server to client.
    pub bytes_down: u64,
    /// Bytes from client to server.
    pub bytes_up: u64,
    /// Termination state.
    pub term: Termination,
    /// actconn/feconn/beconn/srv_conn at log time.
    pub conns: [u32; 4],
    /// Connection retries.
    pub retries: u32,
    /// Redispatched to another server.
    pub redispatched: bool,
    /// Position in the server queue and the backend queue.
    pub queues: [u32; 2],
    /// The unique id (`unique-id-format`), when the frontend has one.
    pub unique_id: Option<&'a str>,
    /// The stream's number (`%rt`): haproxy's process-wide request counter when the
    /// stream began.
    pub stream_id: u32,
    /// Lines the frontend logged before this one (`%lc`).
    pub log_count: u32,
    /// How many request and response headers the frontend captures.
    pub captures: [usize; 2],
    /// The host name (`%H`).
    pub hostname: &'a str,
    /// Process id.
    pub pid: u32,
    /// The HTTP transaction, in HTTP mode.
    pub http: Option<&'a HttpFacts<'a>>,
    /// What `%[…]` samples read (the session's addresses, TLS facts, variables), for a
    /// format that has them.
    pub session: Option<&'a crate::runtime::rules::Ctx<'a>>,
    /// `option logasap`: total times and byte counts stop when the line is written, and
    /// say so with a `+`.
    pub plus: bool,
}

/// What an HTTP transaction adds to its log line; times are ms from the start of the
/// stream (the accept, or the end of the previous request on a kept-alive connection).
#[derive(Debug, Clone, Default)]
pub struct HttpFacts<'a> {
    /// Status sent to the client (`%ST`).
    pub status: u16,
    /// Idle time before the request's first byte, -1 when none came (`%Ti`).
    pub t_idle: i64,
    /// The request head was complete, -1 if never (haproxy's t_request).
    pub t_request: i64,
    /// The response head arrived, -1 if never (haproxy's t_data).
    pub t_data: i64,
    /// The request line, None for `<BADREQ>`.
    pub request: Option<&'a [u8]>,
    /// Accept to session ready on the connection's first request, 0 on later ones.
    pub th: i64,
    /// The persistence cookie's letters of the termination state (`--` without one).
    pub cookie: [u8; 2],
    /// Captured request headers (`capture request header`), by declaration.
    pub req_cap: &'a [Option<Vec<u8>>],
    /// Captured response headers.
    pub res_cap: &'a [Option<Vec<u8>>],
    /// The captured cookies of the request and of the response (`capture cookie`).
    pub cookies: [Option<&'a [u8]>; 2],
    /// The algorithm that compressed the response (`res.comp`, `res.comp_algo`).
    pub comp: Option<crate::ir::compression::Algo>,
}

impl HttpFacts<'_> {
    /// Method, URI and version of the request line.
    fn parts(&self) -> Option<(&[u8], &[u8], &[u8])> {
        let r = self.request?;
        let a = r.iter().position(|&c| c == b' ')?;
        let b = r.iter().rposition(|&c| c == b' ')?;
        Some((&r[..a], &r[(a + 1).min(b)..b], &r[b + 1..]))
    }
}

/// Text, quoted or escaped as the node asks; `None` or empty is `-` when mandatory.
fn text(out: &mut String, v: Option<&str>, f: LogFlags) {
    if f.quote {
        out.push('"');
    }
    match v {
        Some(s) if !s.is_empty() => {
            if f.escape {
                for c in s.chars() {
                    if matches!(c, '"' | '\\' | ']') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            } else {
                out.push_str(s);
            }
        }
        _ if f.mandatory && !f.quote => out.push('-'),
        _ => {}
    }
    if f.quote {
        out.push('"');
    }
}

/// An address as haproxy prints it (IPv4-mapped IPv6 as IPv4).
fn ip(out: &mut String, a: Option<SocketAddr>, f: LogFlags) {
    let Some(a) = a else {
        return text(out, None, f);
    };
    let ip = super::unmapped(a.ip());
    if f.hex {
        match ip {
            std::net::IpAddr::V4(v) => v.octets().iter().for_each(|b| {
                let _ = write!(out, "{b:02X}");
            }),
            std::net::IpAddr::V6(v) => v.octets().iter().for_each(|b| {
                let _ = write!(out, "{b:02X}");
            }),
        }
    } else {
        text(out, Some(&ip.to_string()), f);
    }
}

fn port(out: &mut String, a: Option<SocketAddr>, f: LogFlags) {
    match a {
        None => text(out, None, f),
        Some(a) if f.hex => {
            let _ = write!(out, "{:04X}", a.port());
        }
        Some(a) => {
            let _ = write!(out, "{}", a.port());
        }
    }
}

/// Renders `fmt` for `s` into `out`.
pub fn render(fmt: &LogFormat, s: &Facts<'_>, out: &mut String) {
    // haproxy starts as if after a space: leading separators print nothing.
    let mut last_space = true;
    for node in &fmt.nodes {
        match node {
            LogNode::Separator => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
                continue;
            }
            LogNode::Text(t) => out.push_str(t),
            // The first value as a string, up to a NUL (haproxy's lf_text_len).
            LogNode::Sample(e, f) => {
                let v = s.session.and_then(|ctx| {
                    let v = crate::runtime::rules::format::single(e, ctx)?;
                    let b = v.to_bytes();
                    let b = &b[..b.iter().position(|c| *c == 0).unwrap_or(b.len())];
                    Some(String::from_utf8_lossy(b).into_owned())
                });
                text(out, v.as_deref(), *f);
            }
            // No captures: nothing printed, and the spaces around merge (haproxy leaves
            // its last-space state as it was).
            LogNode::Var(LogVar::HdrReq | LogVar::HdrReqList, _) if s.captures[0] == 0 => continue,
            LogNode::Var(LogVar::HdrRes | LogVar::HdrResList, _) if s.captures[1] == 0 => continue,
            LogNode::Var(v, f) => var(out, *v, *f, s),
        }
        last_space = false;
    }
}

fn var(out: &mut String, v: LogVar, f: LogFlags, s: &Facts<'_>) {
    use LogVar::*;
    let plus = |out: &mut String, on: bool| {
        if on {
            out.push('+');
        }
    };
    let num = |out: &mut String, n: i64| {
        let _ = write!(out, "{n}");
    };
    let h = s.http;
    let t_request = h.map_or(-1, |h| h.t_request);
    let t_idle = h.map_or(-1, |h| h.t_idle);
    // Idle and handshake time, which %Ta and %tr leave out.
    let before = if t_idle >= 0 { t_idle + s.th } else { 0 };
    let req_date = || s.accept + chrono::Duration::milliseconds(before);
    let parts = h.and_then(|h| h.parts());
    let bytes = |out: &mut String, b: Option<&[u8]>| {
        text(out, b.map(|b| String::from_utf8_lossy(b)).as_deref(), f)
    };
    let t_connect = if s.tc >= 0 && s.t_queue >= 0 {
        s.t_queue + s.tc
    } else {
        -1
    };
    match v {
        ClientIp => ip(out, s.client, f),
        ClientPort => port(out, s.client, f),
        FrontendIp => ip(out, s.frontend_addr, f),
        FrontendPort => port(out, s.frontend_addr, f),
        BackendIp => ip(out, s.backend_src, f),
        BackendPort => port(out, s.backend_src, f),
        ServerIp => ip(out, s.server_addr, f),
        ServerPort => port(out, s.server_addr, f),
        Date => {
            let _ = write!(out, "{}", s.accept.format("%d/%b/%Y:%H:%M:%S%.3f"));
        }
        DateGmt => {
            let utc: DateTime<Utc> = s.accept.with_timezone(&Utc);
            let _ = write!(out, "{}", utc.format("%d/%b/%Y:%H:%M:%S +0000"));
        }
        DateLocal => {
            let _ = write!(out, "{}", s.accept.format("%d/%b/%Y:%H:%M:%S %z"));
        }
        Timestamp if f.hex => {
            let _ = write!(out, "{:04X}", s.accept.timestamp() as u32);
        }
        Timestamp => num(out, s.accept.timestamp()),
        Millis if f.hex => {
            let _ = write!(out, "{:02X}", s.accept.timestamp_subsec_millis());
        }
        Millis => {
            let _ = write!(out, "{:03}", s.accept.timestamp_subsec_millis());
        }
        Frontend => text(out, Some(s.frontend), f),
        FrontendXprt => {
            if f.quote {
                out.push('"');
            }
            out.push_str(s.frontend);
            if s.tls {
                out.push('~');
            }
            if f.quote {
                out.push('"');
            }
        }
        Backend => text(out, Some(s.backend), f),
        Server => text(out, Some(s.server.unwrap_or("<NOSRV>")), f),
        Th => num(out, s.th),
        SslCipher => {
            let c = s.session.and_then(|c| c.ssl.cipher);
            text(out, c.map(|c| c.openssl_name()), f)
        }
        SslVersion => text(out, s.session.and_then(|c| c.ssl.version_name()), f),
        // haproxy prints t_queue - t_request; a TCP session has no request
        // (t_request = -1): one ms more than the time in queue.
        Tw => num(
            out,
            if s.t_queue >= 0 {
                s.t_queue - t_request
            } else {
                -1
            },
        ),
        Tc => num(out, s.tc),
        Td => num(
            out,
            match h {
                Some(h) if h.t_data >= 0 => s.tt - h.t_data,
                Some(_) => -1,
                None if t_connect >= 0 => s.tt - t_connect,
                None => -1,
            },
        ),
        Tt => {
            plus(out, s.plus);
            num(out, s.tt)
        }
        // Each time is truncated to the ms on its own: a difference of them may come out
        // one below zero, which haproxy's single clock never prints.
        Tu => {
            plus(out, s.plus);
            num(out, (s.tt - t_idle.max(0)).max(0))
        }
        BytesDown => {
            plus(out, s.plus);
            num(out, s.bytes_down as i64)
        }
        BytesUp => num(out, s.bytes_up as i64),
        TermState | TermStateCookie => {
            let [a, b] = s.term.letters();
            out.push(a as char);
            out.push(b as char);
            if v == TermStateCookie {
                // The cookie letters: none in TCP mode.
                let [c, d] = s.http.map_or(*b"--", |h| h.cookie);
                out.push(c as char);
                out.push(d as char);
            }
        }
        ActConn => num(out, s.conns[0] as i64),
        FeConn => num(out, s.conns[1] as i64),
        BeConn => num(out, s.conns[2] as i64),
        SrvConn => num(out, s.conns[3] as i64),
        Retries => {
            if s.redispatched {
                out.push('+');
            }
            num(out, s.retries as i64);
        }
        SrvQueue => num(out, s.queues[0] as i64),
        BeQueue => num(out, s.queues[1] as i64),
        UniqueId => text(out, s.unique_id, f),
        StreamId | LogCount => {
            let n = if v == StreamId {
                s.stream_id
            } else {
                s.log_count
            };
            if f.hex {
                let _ = write!(out, "{n:04X}");
            } else {
                num(out, i64::from(n));
            }
        }
        Hostname => text(out, Some(s.hostname), f),
        Pid if f.hex => {
            let _ = write!(out, "{:04X}", s.pid);
        }
        Pid => num(out, s.pid as i64),
        // No status yet (a request a rule closed): haproxy's -1.
        Status => num(
            out,
            h.map_or(0, |h| {
                if h.status == 0 {
                    -1
                } else {
                    i64::from(h.status)
                }
            }),
        ),
        HdrReq | HdrReqList | HdrRes | HdrResList => {
            let res = matches!(v, HdrRes | HdrResList);
            let n = s.captures[usize::from(res)];
            let got = h.map_or(&[][..], |h| if res { h.res_cap } else { h.req_cap });
            let value = |i: usize| got.get(i).and_then(|c| c.as_deref());
            if matches!(v, HdrReq | HdrRes) {
                if f.quote {
                    out.push('"');
                }
                out.push('{');
                for i in 0..n {
                    if i > 0 {
                        out.push('|');
                    }
                    if let Some(c) = value(i) {
                        hdr_encode(out, c, f.escape);
                    }
                }
                out.push('}');
                if f.quote {
                    out.push('"');
                }
            } else {
                for i in 0..n {
                    if i > 0 {
                        out.push(' ');
                    }
                    if f.quote {
                        out.push('"');
                    }
                    match value(i) {
                        Some(c) => hdr_encode(out, c, f.escape),
                        None if !f.quote => out.push('-'),
                        None => {}
                    }
                    if f.quote {
                        out.push('"');
                    }
                }
            }
        }
        ReqDate => {
            let _ = write!(out, "{}", req_date().format("%d/%b/%Y:%H:%M:%S%.3f"));
        }
        ReqDateGmt => {
            let utc: DateTime<Utc> = req_date().with_timezone(&Utc);
            let _ = write!(out, "{}", utc.format("%d/%b/%Y:%H:%M:%S +0000"));
        }
        ReqDateLocal => {
            let _ = write!(out, "{}", req_date().format("%d/%b/%Y:%H:%M:%S %z"));
        }
        TR => num(
            out,
            if t_request >= 0 {
                (t_request - t_idle - s.th).max(0)
            } else {
                -1
            },
        ),
        Tq => num(out, t_request),
        TrResp => num(
            out,
            match h {
                Some(h) if h.t_data >= 0 && t_connect >= 0 => h.t_data - t_connect,
                _ => -1,
            },
        ),
        Ta => {
            plus(out, s.plus);
            num(out, (s.tt - before).max(0))
        }
        Ti => num(out, t_idle),
        Request => match h.and_then(|h| h.request) {
            Some(r) => bytes(out, Some(r)),
            None => text(out, Some("<BADREQ>"), f),
        },
        Method => bytes(out, parts.map(|p| p.0)),
        Uri => bytes(out, parts.map(|p| p.1)),
        Path => bytes(
            out,
            parts.map(|p| p.1.split(|&c| c == b'?').next().unwrap_or(p.1)),
        ),
        PathOnly => bytes(
            out,
            parts.map(|p| {
                let u = p.1.split(|&c| c == b'?').next().unwrap_or(p.1);
                match u.windows(3).position(|w| w == b"://") {
                    Some(i) => {
                        let rest = &u[i + 3..];
                        rest.iter()
                            .position(|&c| c == b'/')
                            .map_or(&b""[..], |j| &rest[j..])
                    }
                    None => u,
                }
            }),
        ),
        Query => bytes(
            out,
            parts.and_then(|p| p.1.iter().position(|&c| c == b'?').map(|i| &p.1[i..])),
        ),
        Version => bytes(out, parts.map(|p| p.2)),
        CookieReq | CookieRes => {
            let c = h.and_then(|h| h.cookies[usize::from(v == CookieRes)]);
            bytes(out, c)
        }
    }
}

/// A captured header as haproxy logs it (`hdr_encode_map`): control bytes, bytes from
/// 127 up and `"#{|}` as `#XX`; with `+E`, `\` and `]` escaped by a backslash.
fn hdr_encode(out: &mut String, v: &[u8], esc: bool) {
    for &c in v {
        if !(32..127).contains(&c) || b"\"#{|}".contains(&c) {
            let _ = write!(out, "#{c:02X}");
        } else {
            if esc && (c == b'\\' || c == b']') {
                out.push('\\');
            }
            out.push(c as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts() -> Facts<'static> {
        Facts {
            client: Some("127.0.0.9:40000".parse().unwrap()),
            frontend_addr: Some("127.0.0.1:8883".parse().unwrap()),
            backend_src: None,
            server_addr: None,
            accept: Local.timestamp_millis_opt(1_700_000_000_042).unwrap(),
            frontend: "fe",
            tls: true,
            backend: "be",
            server: None,
            th: 0,
            t_queue: -1,
            tc: -1,
            tt: 5,
            bytes_down: 0,
            bytes_up: 0,
            term: Termination::new(
                crate::runtime::termination::Cause::ServerAbort,
                crate::runtime::termination::Phase::Connect,
            ),
            conns: [1, 1, 0, 0],
            retries: 0,
            redispatched: false,
            queues: [0, 0],
            unique_id: None,
            stream_id: 0,
            log_count: 0,
            captures: [0, 0],
            plus: false,
            hostname: "h",
            pid: 255,
            http: None,
            session: None,
        }
    }

    fn nodes(nodes: Vec<LogNode>) -> String {
        let mut out = String::new();
        render(&LogFormat::new(nodes), &facts(), &mut out);
        out
    }

    #[test]
    fn absent_values_quotes_hex_and_spaces() {
        let m = LogFlags::default();
        let q = LogFlags { quote: true, ..m };
        let x = LogFlags { hex: true, ..m };
        let bare = LogFlags {
            mandatory: false,
            ..m
        };
        use LogNode::*;
        assert_eq!(
            nodes(vec![
                Separator,
                Var(LogVar::ServerIp, m),
                Separator,
                Separator,
                Var(LogVar::ServerIp, q),
                Separator,
                Var(LogVar::UniqueId, bare),
                Text("|".into()),
                Var(LogVar::ClientIp, x),
                Text(":".into()),
                Var(LogVar::ClientPort, x),
                Separator,
                Var(LogVar::FrontendXprt, q),
                Separator,
                Var(LogVar::Server, q),
                Separator,
                Var(LogVar::Pid, x),
                Separator,
                Var(LogVar::Millis, m),
                Separator,
                Var(LogVar::Tw, m),
                Separator,
                Var(LogVar::TermStateCookie, m),
                Separator,
            ]),
            "- \"\" |7F000009:9C40 \"fe~\" \"<NOSRV>\" 00FF 042 -1 SC-- "
        );
    }
}
