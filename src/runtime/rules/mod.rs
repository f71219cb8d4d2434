//! The condition language at run time (configuration.txt §7): samples fetched from the
//! session, converted, matched against an ACL's patterns, and conditions combined with
//! haproxy's three-valued logic, where "not yet" (content that has not arrived) lets an
//! inspecting rule wait instead of deciding on half the data.

pub mod auth;
pub mod convert;
pub mod fetch;
pub mod format;
mod map;
mod matching;
pub mod track;
pub mod vars;

use std::cell::OnceCell;
use std::net::SocketAddr;

use crate::ir::acl::{AclTest, Cond};
use crate::runtime::lb::state::BackendRt;
use crate::runtime::proto::proxy_protocol::SslInfo;
use crate::runtime::stream::http1::head::Head;

pub use fetch::Value;

/// An ACL or condition's result (haproxy's `ACL_TEST_*`, whose bit values make AND a
/// bitwise and, OR a bitwise or).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Does not match.
    Fail = 0,
    /// Not decidable yet: more data could change it.
    Miss = 1,
    /// Matches.
    Pass = 3,
}

impl Verdict {
    fn from_bits(b: u8) -> Verdict {
        match b {
            0 => Verdict::Fail,
            3 => Verdict::Pass,
            _ => Verdict::Miss,
        }
    }

    fn neg(self) -> Verdict {
        match self {
            Verdict::Fail => Verdict::Pass,
            Verdict::Pass => Verdict::Fail,
            Verdict::Miss => Verdict::Miss,
        }
    }
}

/// What a session offers to fetches at the point a rule runs.
pub struct Ctx<'a> {
    /// Client address.
    pub peer: SocketAddr,
    /// The address the client reached.
    pub local: SocketAddr,
    /// The frontend's name.
    pub fe_name: &'a str,
    /// The backend, once one is chosen.
    pub be: Option<&'a BackendRt>,
    /// The client's bytes buffered so far (TCP inspection).
    pub buf: &'a [u8],
    /// No more bytes will come for this decision.
    pub last: bool,
    /// The client connection's TLS facts.
    pub ssl: &'a SslInfo,
    /// The request head of an HTTP transaction.
    pub req: Option<&'a Head>,
    /// The response head, in response rules.
    pub res: Option<&'a Head>,
    /// In TCP mode, the buffer read as an HTTP request (haproxy does so for HTTP
    /// fetches); filled on first use.
    pub raw_req: OnceCell<Option<Head>>,
    /// The session's variables, where it has them.
    pub vars: Option<&'a vars::Vars>,
    /// The process's (`proc.`) variables.
    pub proc: Option<&'a vars::ProcVars>,
    /// A stream (transaction) exists: false in `tcp-request connection|session` rules.
    pub stream: bool,
    /// `req.len` of an HTTP request (its parsed size); None: the buffer's length.
    pub http_len: Option<usize>,
    /// At log time, the transaction's method and status, whose heads are gone.
    pub logged: Option<(&'a [u8], u16)>,
    /// The configuration's stick tables.
    pub tables: Option<&'a [crate::runtime::lb::stick::Table]>,
    /// The stream's unique id, where the frontend has a `unique-id-format`.
    pub uid: Option<&'a dyn UniqueId>,
    /// The algorithm compressing the response (`res.comp`, `res.comp_algo`).
    pub comp: Option<crate::ir::compression::Algo>,
}

/// A stream's unique id (`unique-id-format`): made once, by its first reader (a rule's
/// `unique-id` fetch, the HTTP request's processing, or the log line), as haproxy's
/// stream_generate_unique_id.
pub trait UniqueId: Sync + Send {
    /// The id, made now from `ctx` if nobody made it before; None inside its own making
    /// (a `%[unique-id]` in the format finds nothing).
    fn get(&self, ctx: &Ctx) -> Option<&str>;
    /// The id if it was made.
    fn made(&self) -> Option<&str>;
}

/// A [`UniqueId`] that `make` renders.
pub struct IdMaker<F> {
    cell: std::sync::OnceLock<Box<str>>,
    busy: std::sync::atomic::AtomicBool,
    make: F,
}

impl<F: Fn(&Ctx) -> Box<str> + Sync + Send> IdMaker<F> {
    /// An id not made yet.
    pub fn new(make: F) -> Self {
        IdMaker {
            cell: std::sync::OnceLock::new(),
            busy: std::sync::atomic::AtomicBool::new(false),
            make,
        }
    }

    /// The id, if made.
    pub fn into_inner(self) -> Option<Box<str>> {
        self.cell.into_inner()
    }
}

impl<F: Fn(&Ctx) -> Box<str> + Sync + Send> UniqueId for IdMaker<F> {
    fn get(&self, ctx: &Ctx) -> Option<&str> {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(id) = self.cell.get() {
            return Some(id);
        }
        // One session's task reads it: the flag only tells its own re-entry.
        if self.busy.swap(true, Relaxed) {
            return None;
        }
        let id = (self.make)(ctx);
        self.busy.store(false, Relaxed);
        Some(self.cell.get_or_init(|| id))
    }

    fn made(&self) -> Option<&str> {
        self.cell.get().map(|b| &**b)
    }
}

/// A unique id made already (the log line's).
pub struct Made<'a>(pub &'a str);

impl UniqueId for Made<'_> {
    fn get(&self, _: &Ctx) -> Option<&str> {
        Some(self.0)
    }

    fn made(&self) -> Option<&str> {
        Some(self.0)
    }
}

/// The session facts a TCP-level rule reads, besides the buffered bytes.
#[derive(Clone, Copy)]
pub struct Who<'a> {
    /// Client address.
    pub peer: SocketAddr,
    /// The address the client reached.
    pub local: SocketAddr,
    /// The frontend's name.
    pub fe_name: &'a str,
    /// The backend, once one is chosen.
    pub be: Option<&'a BackendRt>,
    /// The client connection's TLS facts.
    pub ssl: &'a SslInfo,
    /// The process's (`proc.`) variables.
    pub proc: Option<&'a vars::ProcVars>,
    /// The configuration's stick tables.
    pub tables: Option<&'a [crate::runtime::lb::stick::Table]>,
    /// The stream's unique id, where the frontend has a `unique-id-format`.
    pub uid: Option<&'a dyn UniqueId>,
    /// The algorithm compressing the response, once the compression filter chose it.
    pub comp: Option<crate::ir::compression::Algo>,
}

impl<'a> Ctx<'a> {
    /// A context for rules that see the client's buffered bytes only.
    pub fn tcp(w: &Who<'a>, buf: &'a [u8], last: bool) -> Self {
        Ctx {
            peer: w.peer,
            local: w.local,
            fe_name: w.fe_name,
            be: w.be,
            buf,
            last,
            ssl: w.ssl,
            req: None,
            res: None,
            raw_req: OnceCell::new(),
            vars: None,
            proc: w.proc,
            stream: true,
            http_len: None,
            logged: None,
            tables: w.tables,
            uid: w.uid,
            comp: w.comp,
        }
    }

    /// The context of an HTTP request's rules: its head and the session's variables.
    pub fn http(w: &Who<'a>, req: &'a Head, vars: &'a vars::Vars) -> Self {
        let mut ctx = Ctx::tcp(w, &[], true);
        ctx.req = Some(req);
        ctx.vars = Some(vars);
        ctx
    }
}

/// One ACL (every test of its lines, any one matching): `acl_exec_cond`'s inner loop.
fn acl(tests: &[AclTest], ctx: &Ctx) -> Verdict {
    let mut res = Verdict::Fail as u8;
    for t in tests {
        match matching::test(t, ctx) {
            Verdict::Pass => return Verdict::Pass,
            Verdict::Miss => res |= Verdict::Miss as u8,
            Verdict::Fail => {}
        }
    }
    Verdict::from_bits(res)
}

/// A condition's raw result, before `if`/`unless`: suites ORed, terms in a suite ANDed.
pub fn exec(c: &Cond, ctx: &Ctx) -> Verdict {
    let mut cond = Verdict::Fail as u8;
    for suite in &c.suites {
        let mut s = Verdict::Pass as u8;
        for term in suite {
            let mut r = acl(&term.tests, ctx);
            if term.neg {
                r = r.neg();
            }
            s &= r as u8;
            // acl_exec_cond leaves a suite at its first term that does not pass.
            if s != Verdict::Pass as u8 {
                break;
            }
        }
        cond |= s;
        if cond == Verdict::Pass as u8 {
            break;
        }
    }
    Verdict::from_bits(cond)
}

/// Whether a rule's condition holds: None while it could still change (`ctx.last`
/// false and data missing); a missing condition always holds. "Not known" at the end
/// counts as no match, then `unless` inverts, as haproxy's `acl_pass`.
pub fn holds(c: Option<&Cond>, ctx: &Ctx) -> Option<bool> {
    let Some(c) = c else {
        return Some(true);
    };
    let v = exec(c, ctx);
    if v == Verdict::Miss && !ctx.last {
        return None;
    }
    Some((v == Verdict::Pass) != c.unless)
}

#[cfg(test)]
mod tests;
