//! The local end of outgoing connections: `source`, its port ranges, `usesrc` and
//! `interface`, bound as haproxy's tcp_connect_server and tcp_bind_socket bind them.

use crate::ir::source::{ConnSource, UseSrc};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why the socket could not be bound (haproxy's tcp_bind_socket results 1 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindFail {
    /// The `usesrc` address (not bindable, or foreign addresses not allowed), rather
    /// than the `source` address or every port tried in its range.
    pub tproxy: bool,
    /// The system's error (what a health check reports).
    pub errno: i32,
}

impl BindFail {
    /// haproxy's message, without its trailing " Aborting." (which only stderr gets).
    pub fn message(self, backend: &str) -> String {
        let what = if self.tproxy {
            "tproxy source"
        } else {
            "source"
        };
        format!("Cannot bind to {what} address before connect() for backend {backend}.")
    }

    fn new(tproxy: bool, e: &std::io::Error) -> Self {
        BindFail {
            tproxy,
            errno: e.raw_os_error().unwrap_or(nix::libc::EINVAL),
        }
    }
}

/// Finds a request header's value by lower-case name and occurrence (1 the first, -1
/// the last).
pub type HeaderLookup<'a> = &'a dyn Fn(&[u8], i32) -> Option<Vec<u8>>;

/// No `usesrc` address can be had (haproxy's SRV_STATUS_INTERNAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoAddress;

/// Where `usesrc` makes a connection leave from for a client at `client` (None: the
/// plain `source`, as for health checks). `header` finds a request header's value by
/// lower-case name and occurrence (HTTP only). Err: no address can be had (haproxy's
/// SRV_STATUS_INTERNAL: a missing header, or `hdr_ip` in a TCP proxy).
pub fn tproxy_from(
    src: &ConnSource,
    client: Option<SocketAddr>,
    header: Option<HeaderLookup<'_>>,
) -> Result<Option<SocketAddr>, NoAddress> {
    let Some(u) = &src.usesrc else {
        return Ok(None);
    };
    let from = match u {
        UseSrc::Addr(a) => *a,
        UseSrc::Client => client.ok_or(NoAddress)?,
        UseSrc::ClientIp => SocketAddr::new(client.ok_or(NoAddress)?.ip(), 0),
        UseSrc::Header { name, occ } => {
            let find = header.filter(|_| *occ != 0).ok_or(NoAddress)?;
            let value = find(name.to_ascii_lowercase().as_bytes(), *occ).ok_or(NoAddress)?;
            SocketAddr::new(IpAddr::V4(crate::numbers::inetaddr_host(&value).into()), 0)
        }
    };
    // Only an IP client gives its address (haproxy's is_inet_addr(conn->src)).
    Ok(client.map(|_| from))
}

/// The ports to bind for one connection: a range's next ten in turn (haproxy tries ten
/// of its free ports), else the fixed port or 0.
pub fn ports<'a>(src: &ConnSource, cursor: &'a AtomicU32) -> impl Iterator<Item = u16> + 'a {
    let (low, high) = src.ports;
    let span = u32::from(high.saturating_sub(low)) + 1;
    let n = if span > 1 { 10 } else { 1 };
    (0..n).map(move |_| {
        if span > 1 {
            low + (cursor.fetch_add(1, Ordering::Relaxed) % span) as u16
        } else {
            low
        }
    })
}

/// Whether `src` has a port range, whose ports connect() may find in use towards the
/// same server: the next one is then tried.
pub fn ranged(src: &ConnSource) -> bool {
    src.ports.1 > src.ports.0
}

/// Binds `sock`, not yet connected, as `src` says: its device first, then either the
/// foreign `from` address (IP_TRANSPARENT, else IP_FREEBIND), or the source address at
/// `port` (when 0, the port is left to connect(): IP_BIND_ADDRESS_NO_PORT).
pub fn bind(
    sock: &socket2::Socket,
    src: &ConnSource,
    port: u16,
    from: Option<SocketAddr>,
) -> Result<(), BindFail> {
    if let Some(dev) = &src.interface {
        // As haproxy: a device that cannot be bound (no CAP_NET_RAW, no such device)
        // leaves the connection unbound to any.
        let _ = sock.bind_device(Some(dev.as_bytes()));
    }
    if from.is_none() && !ranged(src) {
        let _ = nix::sys::socket::setsockopt(
            sock,
            nix::sys::socket::sockopt::IpBindAddressNoPort,
            &true,
        );
    }
    bind_one(sock, SocketAddr::new(src.addr, port), from)
}

/// One tcp_bind_socket: SO_REUSEADDR, then the foreign address when asked for and
/// allowed, else the local one.
fn bind_one(
    sock: &socket2::Socket,
    local: SocketAddr,
    from: Option<SocketAddr>,
) -> Result<(), BindFail> {
    let foreign = match from {
        None => Ok(()),
        Some(_) => sock.set_ip_transparent(true).or_else(|_| {
            nix::sys::socket::setsockopt(sock, nix::sys::socket::sockopt::IpFreebind, &true)
                .map_err(std::io::Error::from)
        }),
    };
    let _ = sock.set_reuse_address(true);
    match (from, foreign) {
        (Some(addr), Ok(())) => sock.bind(&addr.into()).map_err(|e| BindFail::new(true, &e)),
        (_, foreign) => {
            sock.bind(&local.into())
                .map_err(|e| BindFail::new(false, &e))?;
            // Foreign addresses refused: bound locally, but still a failure.
            foreign.map_err(|e| BindFail::new(true, &e))
        }
    }
}
