//! Socket addresses as `bind`, `server`, `addr`, `source` and `log` write them.
//!
//! configuration.txt §2.4 ("Address formats" in `bind` and `server`): `addr:port`,
//! `[v6]:port` or `v6:port` (the last colon separates the port), `*`/empty for any IPv4,
//! `ipv4@`/`ipv6@`/`unix@` prefixes, port ranges on `bind`, and `${VAR}` expanded even
//! outside quotes, as HAProxy's `str2sa_range()` does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Where an address points before any name resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A literal IP address (`*` and empty are `0.0.0.0`).
    Ip(IpAddr),
    /// A name to resolve at start-up.
    Name(String),
}

/// A parsed address word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrSpec {
    /// An IP endpoint; `port_lo..=port_hi` (equal when not a range), 0 when absent.
    Inet {
        /// The host part.
        host: Host,
        /// First port (0 = none given).
        port_lo: u16,
        /// Last port of a range.
        port_hi: u16,
        /// A `+N`/`-N` port offset (servers only).
        offset: Option<i32>,
        /// `ipv4@` or `ipv6@` forced the family.
        family: Option<Family>,
    },
    /// `unix@path` or an absolute path.
    Unix(String),
    /// `fd@<n>`: a socket already open in this process (systemd socket activation, a
    /// test harness), checked to be one when the line is read.
    Fd(i32),
}

/// An address family forced by a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `ipv4@`
    V4,
    /// `ipv6@`
    V6,
}

/// Why an address word was refused, worded as HAProxy words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// `missing port specification in 'X'`
    MissingPort,
    /// `invalid address: 'A' in 'X'`
    InvalidAddress(String),
    /// `invalid port 'P'`
    InvalidPort(String),
    /// `invalid port range 'L-H'`
    InvalidRange(u16, u16),
    /// `port range not permitted here in 'X'`
    RangeNotPermitted,
    /// `invalid character 'c' in port number 'P' in 'X'`
    BadPortChar(char, String),
    /// A prefix haproxide does not implement (`abns@`, `sockpair@`, `quic4@` …).
    UnsupportedFamily(String),
    /// `file descriptor 'T' is not a valid integer in 'X'`
    FdNotInteger(String),
    /// `cannot use file descriptor 'N' : <error>.`
    FdUnusable(i32, String),
    /// `a file descriptor is not acceptable here in 'X'`
    FdNotHere,
}

impl AddrError {
    /// Whether haproxy's message carries its own newline (an empty line follows it).
    pub fn ends_line(&self) -> bool {
        matches!(
            self,
            AddrError::InvalidAddress(_)
                | AddrError::BadPortChar(..)
                | AddrError::FdNotInteger(_)
                | AddrError::FdUnusable(..)
                | AddrError::FdNotHere
        )
    }

    /// HAProxy's text for this error about the original word `word`.
    pub fn message(&self, word: &str) -> String {
        match self {
            AddrError::MissingPort => format!("missing port specification in '{word}'"),
            AddrError::InvalidAddress(a) => format!("invalid address: '{a}' in '{word}'"),
            AddrError::InvalidPort(p) => format!("invalid port '{p}'"),
            AddrError::InvalidRange(l, h) => format!("invalid port range '{l}-{h}'"),
            AddrError::RangeNotPermitted => format!("port range not permitted here in '{word}'"),
            AddrError::BadPortChar(c, p) => {
                format!("invalid character '{c}' in port number '{p}' in '{word}'")
            }
            AddrError::UnsupportedFamily(f) => format!(
                "address family '{f}' in '{word}' is not supported by haproxide (only ipv4@, ipv6@, unix@ and fd@)"
            ),
            AddrError::FdNotInteger(t) => {
                format!("file descriptor '{t}' is not a valid integer in '{word}'")
            }
            AddrError::FdUnusable(n, why) => format!("cannot use file descriptor '{n}' : {why}."),
            AddrError::FdNotHere => {
                format!("a file descriptor is not acceptable here in '{word}'")
            }
        }
    }
}

/// What the caller allows.
#[derive(Debug, Clone, Copy)]
pub struct AddrRules {
    /// A port is mandatory (`bind`).
    pub port_required: bool,
    /// `lo-hi` ranges are allowed (`bind`).
    pub ranges: bool,
    /// A host name may be resolved later (`server`); otherwise it must resolve now or be an IP.
    pub names: bool,
    /// `+N`/`-N` offsets are allowed (`server`).
    pub offsets: bool,
    /// A name that is not an IP may be resolved now, and an `fd@` descriptor checked
    /// (false in tests: no query leaves, no descriptor is looked at).
    pub resolve: bool,
    /// `fd@<n>` is allowed (`bind`, `stats socket`).
    pub fds: bool,
}

/// Expands `${NAME}` and `$NAME` (letters, digits, `_`) the way HAProxy's `env_expand()`
/// does in addresses, even without quotes; an unset variable expands to nothing.
pub fn expand_env(word: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => {
                    out.push_str(&env(&braced[..end]).unwrap_or_default());
                    rest = &braced[end + 1..];
                }
                None => {
                    out.push_str(&rest[p..]);
                    rest = "";
                }
            }
            continue;
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 {
            out.push('$');
        } else {
            out.push_str(&env(&after[..len]).unwrap_or_default());
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

fn parse_port(p: &str) -> Result<u16, AddrError> {
    // HAProxy reads ports with strtol(): trailing garbage after digits is ignored.
    let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        if let Some(c) = p.chars().next() {
            return Err(AddrError::BadPortChar(c, p.to_string()));
        }
    }
    match digits.parse::<u32>() {
        Ok(v) if v <= 65535 => Ok(v as u16),
        _ => Err(AddrError::InvalidPort(p.to_string())),
    }
}

/// `fd@<n>`: a non-negative integer naming an open socket (haproxy checks it with
/// getsockname() when it reads the line).
fn parse_fd(text: &str, rules: AddrRules) -> Result<AddrSpec, AddrError> {
    if !rules.fds {
        return Err(AddrError::FdNotHere);
    }
    let n = match text.parse::<i32>() {
        Ok(n) if n >= 0 && text.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return Err(AddrError::FdNotInteger(text.to_string())),
    };
    if rules.resolve {
        crate::sys::check_socket(n)
            .map_err(|e| AddrError::FdUnusable(n, crate::sys::os_text(&e).to_string()))?;
    }
    Ok(AddrSpec::Fd(n))
}

/// Parses one address word (already env-expanded) under `rules`.
pub fn parse_addr(word: &str, rules: AddrRules) -> Result<AddrSpec, AddrError> {
    let (family, body) = match word.split_once('@') {
        Some((pfx, rest)) if !pfx.is_empty() && pfx.chars().all(|c| c.is_ascii_alphanumeric()) => {
            match pfx {
                "ipv4" | "tcp4" => (Some(Family::V4), rest),
                "ipv6" | "tcp6" => (Some(Family::V6), rest),
                "tcp" => (None, rest),
                "unix" => return Ok(AddrSpec::Unix(rest.to_string())),
                "fd" => return parse_fd(rest, rules),
                other => return Err(AddrError::UnsupportedFamily(format!("{other}@"))),
            }
        }
        _ => (None, word),
    };
    if family.is_none() && body.starts_with('/') {
        return Ok(AddrSpec::Unix(body.to_string()));
    }
    // Split host and port: brackets, else the last colon.
    let (host, port): (&str, Option<&str>) = if let Some(inner) = body.strip_prefix('[') {
        match inner.split_once(']') {
            Some((h, r)) => match r.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if r.is_empty() => (h, None),
                None => return Err(AddrError::InvalidAddress(body.to_string())),
            },
            None => return Err(AddrError::InvalidAddress(body.to_string())),
        }
    } else {
        match body.rfind(':') {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        }
    };
    let (mut lo, mut hi, mut offset) = (0u16, 0u16, None);
    match port {
        None | Some("") => {
            if rules.port_required {
                return Err(AddrError::MissingPort);
            }
        }
        Some(p) => {
            if rules.offsets && (p.starts_with('+') || p.starts_with('-')) {
                let v: i32 = p
                    .parse()
                    .map_err(|_| AddrError::InvalidPort(p.to_string()))?;
                offset = Some(v);
            } else if let Some((a, b)) = p.split_once('-') {
                if !rules.ranges {
                    return Err(AddrError::RangeNotPermitted);
                }
                lo = parse_port(a)?;
                hi = parse_port(b)?;
                // str2sa_range: each end checked (0 only where a port is required), then
                // their order.
                let least = u16::from(rules.port_required);
                if lo < least {
                    return Err(AddrError::InvalidPort(a.to_string()));
                }
                if hi < least {
                    return Err(AddrError::InvalidPort(b.to_string()));
                }
                if hi < lo {
                    return Err(AddrError::InvalidRange(lo, hi));
                }
            } else if rules.port_required && !p.starts_with(|c: char| c.is_ascii_digit()) {
                // HAProxy reads the port with strtol(): no digits means no port.
                return Err(AddrError::MissingPort);
            } else {
                lo = parse_port(p)?;
                hi = lo;
                if rules.port_required && lo == 0 {
                    return Err(AddrError::InvalidPort(p.to_string()));
                }
            }
        }
    }
    let host = if host.is_empty() || host == "*" {
        match family {
            Some(Family::V6) => Host::Ip(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            _ => Host::Ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        }
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        match (family, ip) {
            (Some(Family::V4), IpAddr::V6(_)) | (Some(Family::V6), IpAddr::V4(_)) => {
                return Err(AddrError::InvalidAddress(host.to_string()))
            }
            _ => Host::Ip(ip),
        }
    } else if rules.names {
        Host::Name(host.to_string())
    } else {
        // Only ask the resolver when allowed: a query must not even be sent otherwise.
        let found = if rules.resolve {
            resolve(host, family)
        } else {
            None
        };
        match found {
            Some(ip) => Host::Ip(ip),
            None => return Err(AddrError::InvalidAddress(host.to_string())),
        }
    };
    Ok(AddrSpec::Inet {
        host,
        port_lo: lo,
        port_hi: hi,
        offset,
        family,
    })
}

/// Resolves `name` through the system resolver (`/etc/hosts` first), HAProxy's `libc` method.
pub fn resolve(name: &str, family: Option<Family>) -> Option<IpAddr> {
    // A dotted quad with an octet over 255 is not a name: skip the resolver call.
    if name.split('.').count() == 4
        && name
            .split('.')
            .all(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let addrs: Vec<SocketAddr> = (name, 0u16).to_socket_addrs().ok()?.collect();
    addrs
        .iter()
        .map(|a| a.ip())
        .find(|ip| match family {
            Some(Family::V4) => ip.is_ipv4(),
            Some(Family::V6) => ip.is_ipv6(),
            None => ip.is_ipv4(),
        })
        .or_else(|| {
            if family.is_none() {
                addrs.first().map(|a| a.ip())
            } else {
                None
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIND: AddrRules = AddrRules {
        port_required: true,
        ranges: true,
        names: false,
        offsets: false,
        resolve: false,
        fds: false,
    };
    const SERVER: AddrRules = AddrRules {
        port_required: false,
        ranges: false,
        names: true,
        offsets: true,
        resolve: false,
        fds: false,
    };

    fn inet(host: IpAddr, lo: u16, hi: u16) -> AddrSpec {
        AddrSpec::Inet {
            host: Host::Ip(host),
            port_lo: lo,
            port_hi: hi,
            offset: None,
            family: None,
        }
    }

    #[test]
    fn bind_forms() {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert_eq!(parse_addr("*:1883", BIND), Ok(inet(any, 1883, 1883)));
        assert_eq!(parse_addr(":1883", BIND), Ok(inet(any, 1883, 1883)));
        assert_eq!(
            parse_addr(":::1883", BIND),
            Ok(inet(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 1883, 1883))
        );
        assert_eq!(
            parse_addr("[::1]:80", BIND),
            Ok(inet("::1".parse().unwrap(), 80, 80))
        );
        assert_eq!(
            parse_addr("127.0.0.1:8000-8002", BIND),
            Ok(inet("127.0.0.1".parse().unwrap(), 8000, 8002))
        );
        assert_eq!(parse_addr("127.0.0.1", BIND), Err(AddrError::MissingPort));
        assert_eq!(parse_addr("*:", BIND), Err(AddrError::MissingPort));
        assert_eq!(
            parse_addr("999.1.1.1:80", BIND),
            Err(AddrError::InvalidAddress("999.1.1.1".into()))
        );
        assert_eq!(
            parse_addr("unix@/run/x.sock", BIND),
            Ok(AddrSpec::Unix("/run/x.sock".into()))
        );
    }

    #[test]
    fn no_resolution_when_not_allowed() {
        // BIND here has `resolve: false`: even a name /etc/hosts knows stays unresolved.
        assert_eq!(
            parse_addr("localhost:80", BIND),
            Err(AddrError::InvalidAddress("localhost".into()))
        );
        let allowed = AddrRules {
            resolve: true,
            ..BIND
        };
        assert!(matches!(
            parse_addr("localhost:80", allowed),
            Ok(AddrSpec::Inet {
                host: Host::Ip(_),
                ..
            })
        ));
    }

    #[test]
    fn server_forms() {
        assert_eq!(
            parse_addr("127.0.0.1", SERVER),
            Ok(inet("127.0.0.1".parse().unwrap(), 0, 0))
        );
        assert_eq!(
            parse_addr("127.0.0.1:70000", SERVER),
            Err(AddrError::InvalidPort("70000".into()))
        );
        assert_eq!(
            parse_addr("127.0.0.1:1-2", SERVER),
            Err(AddrError::RangeNotPermitted)
        );
        assert!(matches!(
            parse_addr("rabbit1:5672", SERVER),
            Ok(AddrSpec::Inet {
                host: Host::Name(_),
                ..
            })
        ));
        assert!(matches!(
            parse_addr("127.0.0.1:abc", SERVER),
            Err(AddrError::BadPortChar('a', _))
        ));
    }

    #[test]
    fn env_in_addresses() {
        let env = |n: &str| (n == "P").then(|| "1883".to_string());
        assert_eq!(expand_env("*:${P}", &env), "*:1883");
        assert_eq!(expand_env("*:${Q}", &env), "*:");
    }
}
