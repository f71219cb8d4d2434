//! `cookie <name> [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve]
//! [httponly] [secure] [domain <d>]* [maxidle <t>] [maxlife <t>] [attr <v>]*`
//! (configuration.txt §4.2): cookie-based server persistence in an HTTP backend.

/// How the proxy handles the persistence cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CookieMode {
    /// No mode word: the cookie chooses the server, nothing is changed.
    #[default]
    Passive,
    /// `rewrite`: the server's own cookie gets the server's value.
    Rewrite,
    /// `insert`: the proxy sets the cookie in responses.
    Insert,
    /// `prefix`: the server's own cookie is prefixed with `<server value>~`.
    Prefix,
}

/// A backend's persistence cookie.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cookie {
    /// The cookie name (compared case-sensitively).
    pub name: String,
    /// `rewrite`, `insert`, `prefix` or none.
    pub mode: CookieMode,
    /// `indirect`: a client that has a valid cookie is not sent another one; in insert
    /// mode the cookie is removed from requests.
    pub indirect: bool,
    /// `nocache`: an inserted cookie marks a cacheable response `private`.
    pub nocache: bool,
    /// `postonly`: cookies are inserted only in answers to POST.
    pub postonly: bool,
    /// `preserve`: a cookie the server sets is left as it is.
    pub preserve: bool,
    /// `httponly`
    pub httponly: bool,
    /// `secure`
    pub secure: bool,
    /// `domain` values, in order.
    pub domains: Vec<String>,
    /// `maxidle`, seconds (0: none).
    pub maxidle: u32,
    /// `maxlife`, seconds (0: none).
    pub maxlife: u32,
    /// `attr` values, in order (those of a `defaults` section first).
    pub attrs: Vec<String>,
}

/// `capture request|response header <name> len <n>` and `capture cookie <name> len <n>`
/// of a frontend: what its HTTP log lines show in `%hr`/`%hs` and `%CC`/`%CS`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Captures {
    /// Request headers (name, length kept), in declaration order.
    pub request: Vec<(String, usize)>,
    /// Response headers.
    pub response: Vec<(String, usize)>,
    /// The cookie whose name starts with this prefix, and the length kept.
    pub cookie: Option<(String, usize)>,
}

impl Cookie {
    /// Whether the log's third and fourth state letters report the cookie (haproxy
    /// prints `-` for both in passive mode without `indirect`).
    pub fn logged(&self) -> bool {
        self.mode != CookieMode::Passive || self.indirect
    }
}
