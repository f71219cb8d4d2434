//! `source` of a backend or a server: the local end of outgoing connections
//! (configuration.txt §4.2 `source`, §5.2 `source`).

use std::net::{IpAddr, SocketAddr};

/// `source <addr>[:<port>[-<port>]] [usesrc …] [interface <name>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnSource {
    /// The address bound before connecting (`0.0.0.0` leaves the choice to the kernel).
    pub addr: IpAddr,
    /// The source ports: `(0, 0)` lets the kernel choose; a range (servers only) is used
    /// in turn, one port per live connection.
    pub ports: (u16, u16),
    /// `usesrc`: the connection leaves from another, possibly foreign, address.
    pub usesrc: Option<UseSrc>,
    /// `interface <name>`: the connection is bound to this device (SO_BINDTODEVICE).
    pub interface: Option<String>,
}

impl ConnSource {
    /// Whether connections carry a client's own address, so that no other client may
    /// be given them again (haproxy keys idle connections by source in that case).
    pub fn per_client(&self) -> bool {
        matches!(
            self.usesrc,
            Some(UseSrc::Client | UseSrc::ClientIp | UseSrc::Header { .. })
        )
    }
}

/// Where `usesrc` takes the outgoing address from (haproxy's CO_SRC_TPROXY_*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseSrc {
    /// `client`: the client's address and port.
    Client,
    /// `clientip`: the client's address, any port.
    ClientIp,
    /// `<addr>[:<port>]`: a fixed address.
    Addr(SocketAddr),
    /// `hdr_ip(<name>[,<occ>])`: the IPv4 address in a request header (HTTP only).
    /// `occ` 0 is what haproxy leaves after warning about a non-HTTP proxy: no
    /// connection can be made.
    Header {
        /// The header name, lower case.
        name: String,
        /// Which value: 1 is the first, -1 the last.
        occ: i32,
    },
}
