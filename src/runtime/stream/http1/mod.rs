//! The HTTP/1 engine's protocol parts: message heads ([`head`]), bodies ([`body`]) and
//! haproxy's built-in answers ([`answers`]). The transaction loop that uses them, one
//! request and its response after another on a client connection, is the session's
//! HTTP phase (`session::http`), since every request goes through routing, queueing and
//! connecting again, as in haproxy.

pub mod answers;
pub mod authority;
pub mod body;
pub mod compress;
pub mod head;
pub mod reason;
mod version;
