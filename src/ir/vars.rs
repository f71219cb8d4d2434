//! Variables (configuration.txt §2.8 and `set-var`): names with their scope, the
//! conditions a `set-var` may carry, and what the actions store.

use super::acl::SampleExpr;
use super::http_rules::Format;

/// Where a variable lives (the prefix of its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarScope {
    /// `proc.`: the whole process (this configuration's generation).
    Proc,
    /// `sess.`: the client connection.
    Sess,
    /// `txn.`: one transaction (an HTTP request and its response; a TCP stream).
    Txn,
    /// `req.`: the request side of the transaction only.
    Req,
    /// `res.`: the response side of the transaction only.
    Res,
    /// `check.`: a health check's own (never set by traffic rules).
    Check,
}

/// A variable's scope and name (after the scope's dot).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VarName {
    /// The scope.
    pub scope: VarScope,
    /// The name, `[A-Za-z0-9_.]+`.
    pub name: Box<str>,
}

/// The conditions of `set-var(<name>,<cond>…)`, haproxy's `VF_COND_*` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VarConds(pub u8);

impl VarConds {
    /// `ifexists`: only a variable that exists already.
    pub const IFEXISTS: u8 = 1;
    /// `ifnotexists`: only a variable that does not exist yet.
    pub const IFNOTEXISTS: u8 = 2;
    /// `ifempty`: only an empty string or binary sample.
    pub const IFEMPTY: u8 = 4;
    /// `ifnotempty`: only a non-empty sample.
    pub const IFNOTEMPTY: u8 = 8;
    /// `ifset`: only a variable holding a value.
    pub const IFSET: u8 = 16;
    /// `ifnotset`: only a variable holding none.
    pub const IFNOTSET: u8 = 32;
    /// `ifgt`: only when the integer held is greater than the new one.
    pub const IFGT: u8 = 64;
    /// `iflt`: only when the integer held is less than the new one.
    pub const IFLT: u8 = 128;

    /// Whether condition bit `c` is set.
    pub fn has(self, c: u8) -> bool {
        self.0 & c != 0
    }
}

/// What a variable action stores.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    /// `set-var(…) <expr>`: the sample, with its type.
    Expr(SampleExpr),
    /// `set-var-fmt(…) <fmt>`: the rendered format, as a string.
    Fmt(Format),
    /// `unset-var(…)`
    Unset,
}

/// `set-var`, `set-var-fmt` or `unset-var`.
#[derive(Debug, Clone, PartialEq)]
pub struct SetVar {
    /// The variable.
    pub var: VarName,
    /// Its conditions.
    pub conds: VarConds,
    /// The value.
    pub value: VarValue,
}
