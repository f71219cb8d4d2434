//! Stream processors: what carries bytes between client and server once a session is
//! connected. Today the TCP forwarder (plain and TLS); HTTP/1 comes next.

pub mod forward;
pub mod forward_tls;
