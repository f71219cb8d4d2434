//! Choosing a server before balancing: `use-server <server> if|unless <cond>`,
//! `force-persist|ignore-persist if|unless <cond>` and `option persist`
//! (configuration.txt §4.2). haproxy applies the persistence rules as soon as the
//! backend is known, the `use-server` rules after the backend's own rules, then cookie
//! persistence and the `stick` rules, each only while no server is chosen.

use super::acl::Cond;
use super::http_rules::Format;

/// The server a `use-server` rule names.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerTarget {
    /// Index into the backend's servers.
    Server(usize),
    /// A log-format string naming the server when the rule runs: a name no server has
    /// ends the rules (haproxy stops there, then balances).
    Named(Format),
}

/// `use-server <server> if|unless <cond>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRule {
    /// Where the session goes when the condition holds.
    pub target: ServerTarget,
    /// The condition (haproxy requires one).
    pub cond: Cond,
}

/// `force-persist|ignore-persist if|unless <cond>`: the first that holds decides.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistRule {
    /// `force-persist`: a server the cookie, a `use-server` or a stick rule names is used
    /// even when it is down or in maintenance, and never left for another.
    /// `ignore-persist`: the persistence cookie neither chooses a server nor is set.
    pub force: bool,
    /// The condition.
    pub cond: Cond,
}

/// A backend's persistence settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Persistence {
    /// `use-server` rules in order.
    pub server_rules: Vec<ServerRule>,
    /// `force-persist` and `ignore-persist` rules in order.
    pub rules: Vec<PersistRule>,
    /// `option persist`: a server named by a cookie, `use-server` or stick rule takes the
    /// session while down (a failed connection may still be redispatched).
    pub down_too: bool,
}
