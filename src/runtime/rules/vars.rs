//! Variables at run time (haproxy's vars.c): each scope a short list of names and typed
//! values; `set-var` stores a sample as it is typed (or a rendered format as a string)
//! under haproxy's conditions, `unset-var` removes it, `var()` reads it back.
//!
//! A session keeps its `sess.`, `txn.` and `req.`/`res.` variables in [`Vars`], allocated
//! on the first store so a session that sets none pays one pointer; `proc.` variables
//! live in [`ProcVars`], one per configuration generation.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Mutex;

use super::fetch::Value;
use super::Ctx;
use crate::ir::vars::{SetVar, VarConds, VarName, VarScope, VarValue};

/// A value as a variable holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// `bool`
    Bool(bool),
    /// `sint`
    Int(i64),
    /// An address.
    Ip(IpAddr),
    /// `str`
    Str(Box<[u8]>),
    /// `bin`
    Bin(Box<[u8]>),
    /// `meth`
    Meth(Box<[u8]>),
}

impl Stored {
    /// Keeps `v` with its type.
    pub fn of(v: &Value) -> Stored {
        match v {
            Value::Bool(b) => Stored::Bool(*b),
            Value::Int(i) => Stored::Int(*i),
            Value::Ip(a) => Stored::Ip(*a),
            Value::Str(s) => Stored::Str(s.as_ref().into()),
            Value::Bin(s) => Stored::Bin(s.as_ref().into()),
            Value::Meth(s) => Stored::Meth(s.as_ref().into()),
        }
    }

    /// The value, borrowing the variable.
    pub fn value(&self) -> Value<'_> {
        match self {
            Stored::Bool(b) => Value::Bool(*b),
            Stored::Int(i) => Value::Int(*i),
            Stored::Ip(a) => Value::Ip(*a),
            Stored::Str(s) => Value::Str(Cow::Borrowed(s)),
            Stored::Bin(s) => Value::Bin(Cow::Borrowed(s)),
            Stored::Meth(s) => Value::Meth(Cow::Borrowed(s)),
        }
    }

    /// A string or binary sample with no bytes.
    fn is_empty(&self) -> bool {
        matches!(self, Stored::Str(s) | Stored::Bin(s) if s.is_empty())
    }
}

/// One scope's variables: name and value, `None` for a variable that exists without a
/// value (haproxy's type ANY: a `proc.` variable the configuration names, or one
/// unset).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct VarSet(Vec<(Box<str>, Option<Stored>)>);

impl VarSet {
    /// A set where `names` exist, without values.
    pub fn declared(names: &[Box<str>]) -> VarSet {
        VarSet(names.iter().map(|n| (n.clone(), None)).collect())
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|(n, _)| &**n == name)
    }

    /// The value of `name`, when it has one.
    pub fn get(&self, name: &str) -> Option<&Stored> {
        self.find(name).and_then(|i| self.0[i].1.as_ref())
    }

    /// Stores `v` in `name` unless `conds` say otherwise (vars.c `var_set`).
    pub fn set(&mut self, name: &str, v: Stored, conds: VarConds) {
        let at = match self.find(name) {
            Some(_) if conds.has(VarConds::IFNOTEXISTS) => return,
            Some(i) => i,
            None if conds.has(VarConds::IFEXISTS) => return,
            None => {
                self.0.push((name.into(), None));
                self.0.len() - 1
            }
        };
        let old = &mut self.0[at].1;
        if (conds.has(VarConds::IFSET) && old.is_none())
            || (conds.has(VarConds::IFNOTSET) && old.is_some())
        {
            return;
        }
        // Only strings and binaries can be empty; a scalar never passes `ifempty`.
        let sized = matches!(v, Stored::Str(_) | Stored::Bin(_));
        if conds.has(VarConds::IFEMPTY) && (!sized || !v.is_empty()) {
            return;
        }
        if conds.has(VarConds::IFNOTEMPTY) && sized && v.is_empty() {
            return;
        }
        if let (Some(Stored::Int(held)), Stored::Int(new)) = (&*old, &v) {
            if (conds.has(VarConds::IFGT) && held <= new)
                || (conds.has(VarConds::IFLT) && held >= new)
            {
                return;
            }
        }
        *old = Some(v);
    }

    /// Removes `name`; a permanent (`proc.`) variable stays, without a value.
    pub fn unset(&mut self, name: &str, permanent: bool) {
        if let Some(i) = self.find(name) {
            if permanent {
                self.0[i].1 = None;
            } else {
                self.0.remove(i);
            }
        }
    }
}

/// A configuration generation's `proc.` variables.
pub type ProcVars = Mutex<VarSet>;

/// A session's variables, allocated on the first store.
#[derive(Debug, Default)]
pub struct Vars(Option<Box<Scopes>>);

#[derive(Debug, Default)]
struct Scopes {
    sess: VarSet,
    txn: VarSet,
    /// `req.` variables, then `res.` ones once the response is processed.
    reqres: VarSet,
    /// The stick counters the session and its stream track.
    trk: super::track::Trackers,
    /// `set-log-level`: 0 none, -1 silent, else the syslog level plus one.
    log_level: i8,
    /// `http-request disable-l7-retry` ran for this transaction.
    no_l7_retry: bool,
    /// `reqres` holds the response's variables (vars.c's SCOPE_RES).
    responding: bool,
}

/// A variable's scope does not exist where the rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoScope;

/// Where a rule runs, which decides the scopes it has (vars.c `get_vars`): no `txn.`,
/// `req.` or `res.` before a stream exists; `req.` in request rules, `res.` in response
/// rules.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// A stream (transaction) exists.
    pub stream: bool,
    /// The response is being processed.
    pub response: bool,
}

impl Vars {
    /// The set of `scope` at `at`: Err when the scope does not exist there, Ok(None) when
    /// it does but nothing was stored yet.
    fn set_of(&self, scope: VarScope, at: Place) -> Result<Option<&VarSet>, NoScope> {
        let s = self.0.as_deref();
        // Once the response is processed the set is the response's, also for the log
        // line (vars.c checks the set's scope, not where the rule runs).
        let response = at.response || s.is_some_and(|s| s.responding);
        Ok(match scope {
            VarScope::Sess => s.map(|s| &s.sess),
            VarScope::Txn if at.stream => s.map(|s| &s.txn),
            VarScope::Req if at.stream && !response => s.map(|s| &s.reqres),
            VarScope::Res if at.stream && response => s.map(|s| &s.reqres),
            _ => return Err(NoScope),
        })
    }

    /// The value of session-scope variable `v` at `at` (Err: no such scope there).
    pub fn get(&self, v: &VarName, at: Place) -> Result<Option<&Stored>, NoScope> {
        Ok(self.set_of(v.scope, at)?.and_then(|s| s.get(&v.name)))
    }

    /// Applies a store (`Some`) or an unset (`None`) to a session-scope variable at `at`.
    pub fn store(&mut self, v: &VarName, value: Option<Stored>, conds: VarConds, at: Place) {
        if self.set_of(v.scope, at).is_err() {
            // A scope this place does not have, or a check's: nothing happens.
            return;
        }
        let s = self.0.get_or_insert_with(Default::default);
        s.responding |= at.response;
        let set = match v.scope {
            VarScope::Sess => &mut s.sess,
            VarScope::Txn => &mut s.txn,
            _ => &mut s.reqres,
        };
        match value {
            Some(x) => set.set(&v.name, x, conds),
            None => set.unset(&v.name, false),
        }
    }

    /// The stick counters tracked, when a rule has tracked one.
    pub fn trackers(&self) -> Option<&super::track::Trackers> {
        self.0.as_deref().map(|s| &s.trk).filter(|t| t.mask() != 0)
    }

    /// The stick counters, to track one.
    pub fn trackers_mut(&mut self) -> &mut super::track::Trackers {
        &mut self.0.get_or_insert_with(Default::default).trk
    }

    /// The stream ends: the counters it tracked are released.
    pub fn end_stream(&mut self) {
        if let Some(s) = self.0.as_deref_mut() {
            s.trk.end_stream();
        }
    }

    /// The log level a `set-log-level` rule gave this stream: None when no rule did,
    /// Some(None) for `silent`, else the syslog level.
    pub fn log_level(&self) -> Option<Option<u8>> {
        match self.0.as_deref().map_or(0, |s| s.log_level) {
            0 => None,
            -1 => Some(None),
            l => Some(Some((l - 1) as u8)),
        }
    }

    /// A `set-log-level` rule: `level` is the syslog level, -1 for `silent`.
    pub fn set_log_level(&mut self, level: i8) {
        self.0.get_or_insert_with(Default::default).log_level =
            if level < 0 { -1 } else { level + 1 };
    }

    /// `http-request disable-l7-retry`: no HTTP retry for this transaction.
    pub fn disable_l7_retry(&mut self) {
        self.0.get_or_insert_with(Default::default).no_l7_retry = true;
    }

    /// Whether a rule turned HTTP retries off for this transaction.
    pub fn l7_retry_disabled(&self) -> bool {
        self.0.as_deref().is_some_and(|s| s.no_l7_retry)
    }

    /// A new transaction: its `txn.` and `req.` variables start empty.
    pub fn new_transaction(&mut self) {
        if let Some(s) = self.0.as_deref_mut() {
            s.log_level = 0;
            s.no_l7_retry = false;
            s.txn = VarSet::default();
            s.reqres = VarSet::default();
            s.responding = false;
        }
    }

    /// The response is processed from now: `req.` variables are gone, `res.` ones start
    /// (once: the after-response rules keep what the response rules set).
    pub fn to_response(&mut self) {
        if let Some(s) = self.0.as_deref_mut().filter(|s| !s.responding) {
            s.reqres = VarSet::default();
            s.responding = true;
        }
    }
}

/// The `proc.` variables of configuration `g`: every name it uses, then its global
/// `set-var` and `set-var-fmt` lines applied in order (their samples are constants).
pub fn proc_vars(g: &crate::ir::Global) -> ProcVars {
    let set = Mutex::new(VarSet::declared(&g.proc_vars));
    let ssl = crate::runtime::proto::proxy_protocol::SslInfo::default();
    let none: std::net::SocketAddr = ([0, 0, 0, 0], 0).into();
    let who = super::Who {
        peer: none,
        local: none,
        fe_name: "",
        be: None,
        ssl: &ssl,
        proc: Some(&set),
        tables: None,
        uid: None,
        comp: None,
    };
    let mut unused = Vars::default();
    for a in &g.set_vars {
        let v = {
            let ctx = Ctx::tcp(&who, &[], true);
            value_of(a, &ctx)
        };
        if let Some(v) = v {
            apply(a, v, &mut unused, Some(&set), false);
        }
    }
    set
}

/// Where `ctx`'s rule runs.
fn place(ctx: &Ctx) -> Place {
    Place {
        stream: ctx.stream,
        response: ctx.res.is_some(),
    }
}

/// The value of `v` for `ctx` (a `proc.` variable copied out of its lock); Err when its
/// scope does not exist where the rule runs (then not even `var()`'s default applies).
pub fn get<'a>(v: &VarName, ctx: &Ctx<'a>) -> Result<Option<Value<'a>>, NoScope> {
    if v.scope == VarScope::Proc {
        let p = ctx
            .proc
            .ok_or(NoScope)?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        return Ok(p.get(&v.name).map(|s| match s.value() {
            Value::Str(b) => Value::Str(Cow::Owned(b.into_owned())),
            Value::Bin(b) => Value::Bin(Cow::Owned(b.into_owned())),
            Value::Meth(b) => Value::Meth(Cow::Owned(b.into_owned())),
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Ip(a) => Value::Ip(a),
        }));
    }
    match ctx.vars {
        Some(vars) => Ok(vars.get(v, place(ctx))?.map(Stored::value)),
        None => Ok(None),
    }
}

/// What rule `a` stores, evaluated in `ctx`: `Some(None)` to unset, None when the sample
/// is missing (the variable is then left as it is, as haproxy's `action_store` does).
pub fn value_of(a: &SetVar, ctx: &Ctx) -> Option<Option<Stored>> {
    match &a.value {
        VarValue::Unset => Some(None),
        VarValue::Fmt(f) => Some(Some(Stored::Str(super::format::render_raw(f, ctx).into()))),
        VarValue::Expr(e) => super::format::single(e, ctx).map(|v| Some(Stored::of(&v))),
    }
}

/// Stores `value` as rule `a` says: in the session's `vars` (a request rule, or a
/// `response` one), or in `proc` for a `proc.` variable.
pub fn apply(
    a: &SetVar,
    value: Option<Stored>,
    vars: &mut Vars,
    proc: Option<&ProcVars>,
    response: bool,
) {
    if a.var.scope == VarScope::Proc {
        if let Some(p) = proc {
            let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
            match value {
                Some(x) => p.set(&a.var.name, x, a.conds),
                None => p.unset(&a.var.name, true),
            }
        }
        return;
    }
    let at = Place {
        stream: true,
        response,
    };
    vars.store(&a.var, value, a.conds, at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_as_var_set_applies_them() {
        let c = |b| VarConds(b);
        let mut s = VarSet::default();
        s.set("a", Stored::Int(5), c(VarConds::IFEXISTS));
        assert_eq!(s.get("a"), None);
        s.set("a", Stored::Int(5), c(0));
        s.set("a", Stored::Int(9), c(VarConds::IFNOTEXISTS));
        assert_eq!(s.get("a"), Some(&Stored::Int(5)));
        // ifgt: only while the held value is greater than the new one.
        s.set("a", Stored::Int(7), c(VarConds::IFGT));
        assert_eq!(s.get("a"), Some(&Stored::Int(5)));
        s.set("a", Stored::Int(3), c(VarConds::IFGT));
        assert_eq!(s.get("a"), Some(&Stored::Int(3)));
        s.set("b", Stored::Str((*b"").into()), c(VarConds::IFNOTEMPTY));
        assert_eq!(s.get("b"), None);
        s.set("b", Stored::Int(1), c(VarConds::IFEMPTY));
        assert_eq!(s.get("b"), None);
        // A declared proc variable exists without a value.
        let mut p = VarSet::declared(&["x".into()]);
        p.set("x", Stored::Int(1), c(VarConds::IFNOTEXISTS));
        assert_eq!(p.get("x"), None);
        p.set("x", Stored::Int(1), c(VarConds::IFNOTSET));
        assert_eq!(p.get("x"), Some(&Stored::Int(1)));
        p.unset("x", true);
        assert_eq!(p.get("x"), None);
        p.set("x", Stored::Int(2), c(VarConds::IFEXISTS));
        assert_eq!(p.get("x"), Some(&Stored::Int(2)));
    }

    #[test]
    fn req_variables_end_with_the_request() {
        let name = |scope| VarName {
            scope,
            name: "v".into(),
        };
        let (req, res) = (
            Place {
                stream: true,
                response: false,
            },
            Place {
                stream: true,
                response: true,
            },
        );
        let mut v = Vars::default();
        v.store(&name(VarScope::Req), Some(Stored::Int(1)), VarConds(0), req);
        v.store(
            &name(VarScope::Sess),
            Some(Stored::Int(2)),
            VarConds(0),
            req,
        );
        assert_eq!(v.get(&name(VarScope::Req), req), Ok(Some(&Stored::Int(1))));
        v.to_response();
        assert_eq!(v.get(&name(VarScope::Req), res), Err(NoScope));
        v.store(&name(VarScope::Req), Some(Stored::Int(1)), VarConds(0), res);
        v.store(&name(VarScope::Res), Some(Stored::Int(3)), VarConds(0), res);
        assert_eq!(v.get(&name(VarScope::Res), res), Ok(Some(&Stored::Int(3))));
        v.new_transaction();
        assert_eq!(v.get(&name(VarScope::Res), req), Err(NoScope));
        assert_eq!(v.get(&name(VarScope::Req), req), Ok(None));
        assert_eq!(v.get(&name(VarScope::Sess), req), Ok(Some(&Stored::Int(2))));
        // Before a stream exists there is no transaction.
        let conn = Place {
            stream: false,
            response: false,
        };
        assert_eq!(v.get(&name(VarScope::Txn), conn), Err(NoScope));
    }
}
