//! TLS: server-side configs (certificates, SNI, client verification), client-side configs
//! towards servers, the TLS stream, session-ticket keys and the X.509 v1 verifier.

pub mod client;
pub mod hkdf;
pub mod server;
pub mod stream;
mod v1;
