//! Stick counters at run time (configuration.txt §4.2 `track-sc*`, §7.3.3): the entries
//! a session tracks in `sc0` to `sc2`, the events counted on them (connections,
//! sessions, HTTP requests, errors and failures), and the `sc*`/`src_*` fetches,
//! `table_*` converters and `sc-inc-gpc*`/`sc-set-gpt*` actions that read or change them,
//! each as haproxy 2.6's stick_table.c does.
//!
//! A session's counters (tracked by `tcp-request connection|session` rules) live as long
//! as it; a stream's (tracked by `tcp-request content` or `http-request` rules) as long
//! as one TCP session or one HTTP transaction. A stream starts with its session's
//! counters, so a slot the session tracks is never tracked again by the stream.

use std::sync::Arc;

use super::fetch::Value;
use super::Ctx;
use crate::ir::counters::{DataType, Entry as Which, Gp, GptValue, Read, ScAction, Track, SLOTS};
use crate::runtime::lb::stick::{Entry, Raw, Table};

/// One tracked counter: the entry, and its key and table (for an `sc*(<n>,<table>)`
/// fetch looking the same key up elsewhere).
#[derive(Debug)]
pub struct Tracked {
    entry: Arc<Entry>,
    key: Box<[u8]>,
}

impl Drop for Tracked {
    /// The tracker ends (session_store_counters, stream_store_counters).
    fn drop(&mut self) {
        self.entry.conn_cur(false);
    }
}

/// The counters a session tracks, and those its current stream adds.
#[derive(Debug, Default)]
pub struct Trackers {
    sess: [Option<Tracked>; SLOTS],
    strm: [Option<Tracked>; SLOTS],
}

impl Trackers {
    /// Counter `n` as a rule sees it: the stream's, else the session's (without a
    /// stream only the session's exist).
    fn slot(&self, n: usize) -> Option<&Tracked> {
        self.strm.get(n)?.as_ref().or(self.sess[n].as_ref())
    }

    /// Every tracked counter as a stream sees them.
    fn each(&self) -> impl Iterator<Item = &Tracked> {
        (0..SLOTS).filter_map(|n| self.slot(n))
    }

    /// Tracks `key` of `table` in counter `n` (of the stream when `stream`), unless the
    /// counter is tracked already; counts the new connection on it
    /// (stream_start_counters). True when it tracked.
    pub fn track(&mut self, n: usize, table: &Table, key: Box<[u8]>, stream: bool) -> bool {
        if n >= SLOTS || self.slot(n).is_some() {
            return false;
        }
        let Some(entry) = table.get(&key) else {
            return false;
        };
        entry.conn_cur(true);
        entry.bump(DataType::ConnCnt, DataType::ConnRate);
        entry.touch();
        let t = Tracked { entry, key };
        if stream {
            self.strm[n] = Some(t);
        } else {
            self.sess[n] = Some(t);
        }
        true
    }

    /// The stream ends: the counters it tracked are released.
    pub fn end_stream(&mut self) {
        self.strm = Default::default();
    }

    /// The session is established (session_count_new): `sess_cnt`, `sess_rate`.
    pub fn count_session(&self) {
        for t in self.sess.iter().flatten() {
            t.entry.bump(DataType::SessCnt, DataType::SessRate);
        }
    }

    /// A new HTTP request (`http_req_cnt`, `http_req_rate`); `session`: counted by the
    /// HTTP layer before any stream (a parsing error, a timeout).
    pub fn http_req(&self, session: bool) {
        self.on_each(session, DataType::HttpReqCnt, DataType::HttpReqRate);
    }

    /// A request error: a 4xx answer from the server, a deny, a tarpit, an auth
    /// challenge, an invalid request (`http_err_cnt`, `http_err_rate`).
    pub fn http_err(&self, session: bool) {
        self.on_each(session, DataType::HttpErrCnt, DataType::HttpErrRate);
    }

    /// A server failure: a 5xx but 501 and 505, or haproxy's 502 and 504
    /// (`http_fail_cnt`, `http_fail_rate`).
    pub fn http_fail(&self) {
        self.on_each(false, DataType::HttpFailCnt, DataType::HttpFailRate);
    }

    /// The counters `status` counts on, as http_wait_for_response counts a server's.
    pub fn http_status(&self, status: u16) {
        match status / 100 {
            4 => self.http_err(false),
            5 if status != 501 && status != 505 => self.http_fail(),
            _ => {}
        }
    }

    fn on_each(&self, session: bool, cnt: DataType, rate: DataType) {
        if session {
            for t in self.sess.iter().flatten() {
                t.entry.bump(cnt, rate);
            }
        } else {
            for t in self.each() {
                t.entry.bump(cnt, rate);
            }
        }
    }

    /// Which counters are tracked (bit `n` for `sc<n>`).
    pub fn mask(&self) -> u8 {
        (0..SLOTS).fold(0, |m, n| m | (u8::from(self.slot(n).is_some()) << n))
    }

    /// Counts the current request on the counters of `mask` (those a backend's
    /// `tcp-request content` rules just tracked: stream_inc_be_http_req_ctr).
    pub fn http_req_on(&self, mask: u8) {
        for n in (0..SLOTS).filter(|n| mask & (1 << n) != 0) {
            if let Some(t) = self.slot(n) {
                t.entry.bump(DataType::HttpReqCnt, DataType::HttpReqRate);
            }
        }
    }

    /// Counts the current request on counter `n` just tracked by an `http-request` rule,
    /// or by an `http-response` rule with the response's `status`, whose error or
    /// failure haproxy counts then too (http_action_track_sc).
    pub fn http_tracked(&self, n: usize, status: Option<u16>) {
        let Some(t) = self.slot(n) else {
            return;
        };
        t.entry.bump(DataType::HttpReqCnt, DataType::HttpReqRate);
        match status {
            Some(s) if s / 100 == 4 => t.entry.bump(DataType::HttpErrCnt, DataType::HttpErrRate),
            Some(s) if s / 100 == 5 && s != 501 && s != 505 => {
                t.entry.bump(DataType::HttpFailCnt, DataType::HttpFailRate)
            }
            _ => {}
        }
    }
}

/// A `track-sc*` rule's key in `ctx` (stktable_fetch_key): None when the counter is
/// tracked already (the rule does nothing then) or the key is missing; Err while the
/// bytes that decide it may still come.
pub fn track_key(t: &Track, ctx: &Ctx) -> Result<Option<Box<[u8]>>, super::fetch::NotYet> {
    let tracked = ctx
        .vars
        .and_then(|v| v.trackers())
        .is_some_and(|k| k.slot(usize::from(t.slot)).is_some());
    let table = ctx.tables.and_then(|ts| ts.get(t.table.get()));
    let (false, Some(table)) = (tracked, table) else {
        return Ok(None);
    };
    let v = super::format::single_or_wait(&t.key, ctx)?;
    Ok(v.and_then(|v| key_of(table, &v)))
}

/// The value an `sc-set-gpt*` rule stores (its expression cast to an integer): None
/// when it has none, or when nothing would store it (the counter is not tracked, the
/// table keeps no such tag), where haproxy does not evaluate the expression.
pub fn gpt_value(a: &ScAction, ctx: &Ctx) -> Option<i64> {
    let ScAction::SetGpt { which, slot, value } = a else {
        return None;
    };
    let trk = ctx.vars.and_then(|v| v.trackers())?;
    let e = &trk.slot(usize::from(*slot))?.entry;
    let stored = match which {
        Gp::Zero => e.stores(DataType::Gpt0) || e.counter(DataType::Gpt, 0).is_some(),
        _ => e.counter(DataType::Gpt, gp_idx(*which)).is_some(),
    };
    if !stored {
        return None;
    }
    match value {
        GptValue::Int(n) => Some(*n),
        GptValue::Expr(e) => super::format::single(e, ctx)?.to_int(),
    }
}

/// A sample as a key of `table`.
pub fn key_of(table: &Table, v: &Value) -> Option<Box<[u8]>> {
    match v {
        Value::Ip(ip) => table.key(&Raw::Addr(*ip)),
        Value::Int(i) => table.key(&Raw::Int(*i)),
        Value::Bool(b) => table.key(&Raw::Bool(*b)),
        Value::Bin(b) => table.key(&Raw::Bin(b)),
        Value::Str(b) | Value::Meth(b) => table.key(&Raw::Str(b)),
    }
}

/// An action of `sc-inc-gpc*` or `sc-set-gpt*` on counter `slot` (`value` already
/// computed for a set): nothing when the counter is not tracked or the table does not
/// store that data.
pub fn apply(trk: &Trackers, a: &ScAction, value: Option<i64>) {
    match a {
        ScAction::IncGpc { which, slot } => {
            if let Some(t) = trk.slot(usize::from(*slot)) {
                inc_gpc(&t.entry, *which);
            }
        }
        ScAction::SetGpt { which, slot, .. } => {
            let (Some(t), Some(v)) = (trk.slot(usize::from(*slot)), value) else {
                return;
            };
            let at = match which {
                Gp::Zero if t.entry.stores(DataType::Gpt0) => (DataType::Gpt0, 0),
                Gp::Zero => (DataType::Gpt, 0),
                Gp::One | Gp::Idx(_) => (DataType::Gpt, gp_idx(*which)),
            };
            t.entry.update((at, at), |c, _| {
                if let Some(c) = c {
                    // haproxy stores it as an unsigned int.
                    *c = u64::from(v as u32);
                }
            });
        }
    }
}

fn gp_idx(g: Gp) -> u8 {
    match g {
        Gp::Zero => 0,
        Gp::One => 1,
        Gp::Idx(i) => i,
    }
}

/// The counter and rate a general purpose counter names (the legacy `gpc0`/`gpc1`
/// first, else the `gpc` array's element).
fn gpc_pair(e: &Entry, g: Gp) -> ((DataType, u8), (DataType, u8)) {
    let (legacy, legacy_rate) = match g {
        Gp::Zero => (DataType::Gpc0, DataType::Gpc0Rate),
        Gp::One => (DataType::Gpc1, DataType::Gpc1Rate),
        Gp::Idx(i) => return ((DataType::Gpc, i), (DataType::GpcRate, i)),
    };
    let i = gp_idx(g);
    let c = if e.stores(legacy) {
        (legacy, 0)
    } else {
        (DataType::Gpc, i)
    };
    let r = if e.stores(legacy_rate) {
        (legacy_rate, 0)
    } else {
        (DataType::GpcRate, i)
    };
    (c, r)
}

/// Adds one to a general purpose counter and its rate; the value the `inc_gpc*` fetches
/// give: the counter's new value, else the rate's current period count, else 0.
fn inc_gpc(e: &Entry, g: Gp) -> i64 {
    e.update(gpc_pair(e, g), |c, r| {
        let mut out = 0;
        if let Some((r, p)) = r {
            r.add(p, 1);
            out = i64::from(r.current());
        }
        if let Some(c) = c {
            *c = c.wrapping_add(1);
            out = *c as i64;
        }
        out
    })
    .unwrap_or(0)
}

/// The entry an `sc*`/`src_*` fetch reads, and whether it was looked up for this fetch
/// only (haproxy's temporary reference). Err: the fetch has no value (the counter is not
/// tracked, the source cannot be a key).
fn entry_of<'a>(w: &Which, ctx: &Ctx<'a>, create: bool) -> Result<Option<Arc<Entry>>, ()> {
    let tables = ctx.tables.unwrap_or_default();
    match w {
        Which::Src(t) => {
            let table = tables.get(t.get()).ok_or(())?;
            let key = table.key(&Raw::Addr(ctx.peer.ip())).ok_or(())?;
            Ok(if create {
                table.get(&key)
            } else {
                table.find(&key)
            })
        }
        Which::Slot(n, other) => {
            let trk = ctx.vars.and_then(|v| v.trackers()).ok_or(())?;
            let t = trk.slot(usize::from(*n)).ok_or(())?;
            Ok(Some(match other {
                None => t.entry.clone(),
                Some(o) => {
                    let table = tables.get(o.get()).ok_or(())?;
                    match table.find(&t.key) {
                        Some(e) => e,
                        None => return Ok(None),
                    }
                }
            }))
        }
    }
}

/// An `sc*`/`src_*` fetch: None when it has no value.
pub fn fetch<'a>(w: &Which, r: Read, ctx: &Ctx<'a>) -> Option<Value<'a>> {
    let create = matches!(
        r,
        Read::IncGpc0
            | Read::IncGpc1
            | Read::IncGpc(_)
            | Read::ClrGpc0
            | Read::ClrGpc1
            | Read::ClrGpc(_)
    ) && matches!(w, Which::Src(_));
    if r == Read::Tracked {
        let tracked = match w {
            Which::Slot(n, _) => ctx
                .vars
                .and_then(|v| v.trackers())
                .is_some_and(|t| t.slot(usize::from(*n)).is_some()),
            Which::Src(_) => false,
        };
        return Some(Value::Bool(tracked));
    }
    let e = entry_of(w, ctx, create).ok()?;
    let Some(e) = e else {
        // No entry: zero, as haproxy makes comparisons easy.
        return Some(Value::Int(0));
    };
    read(&e, r).map(Value::Int)
}

/// A `table_*` converter on `v`: None when the input is no key of the table or the
/// table does not store the data.
pub fn convert<'a>(t: usize, r: Read, v: &Value, ctx: &Ctx) -> Option<Value<'a>> {
    let table = ctx.tables?.get(t)?;
    let key = key_of(table, v)?;
    let Some(e) = table.find(&key) else {
        return Some(Value::Int(0));
    };
    if r == Read::Trackers {
        // haproxy counts the converter's own reference.
        return Some(Value::Int(e.refs() as i64));
    }
    read(&e, r).map(Value::Int)
}

/// `table_cnt`, `table_avl`.
pub fn table_count(t: usize, avail: bool, ctx: &Ctx) -> Option<i64> {
    let table = ctx.tables?.get(t)?;
    let live = table.live() as i64;
    Some(if avail {
        table.size() as i64 - live
    } else {
        live
    })
}

/// Reads (or, for `inc_*`/`clr_*`, changes) the data `r` names; None when the table
/// does not store it. `e` is the caller's own reference.
fn read(e: &Arc<Entry>, r: Read) -> Option<i64> {
    use DataType as D;
    let cnt = |t: D| e.counter(t, 0).map(|v| v as i64);
    let rate = |t: D| e.rate(t, 0).map(|v| v as i64);
    let legacy = |t: D, arr: D, i: u8, is_rate: bool| {
        if e.stores(t) {
            if is_rate {
                rate(t)
            } else {
                cnt(t)
            }
        } else if is_rate {
            e.rate(arr, i).map(|v| v as i64)
        } else {
            e.counter(arr, i).map(|v| v as i64)
        }
    };
    Some(match r {
        Read::ConnCnt => cnt(D::ConnCnt)?,
        Read::ConnCur => cnt(D::ConnCur)?,
        Read::ConnRate => rate(D::ConnRate)?,
        Read::SessCnt => cnt(D::SessCnt)?,
        Read::SessRate => rate(D::SessRate)?,
        Read::HttpReqCnt => cnt(D::HttpReqCnt)?,
        Read::HttpReqRate => rate(D::HttpReqRate)?,
        Read::HttpErrCnt => cnt(D::HttpErrCnt)?,
        Read::HttpErrRate => rate(D::HttpErrRate)?,
        Read::HttpFailCnt => cnt(D::HttpFailCnt)?,
        Read::HttpFailRate => rate(D::HttpFailRate)?,
        Read::Gpt0 => legacy(D::Gpt0, D::Gpt, 0, false)?,
        Read::Gpt(i) => e.counter(D::Gpt, i)? as i64,
        Read::Gpc0 => legacy(D::Gpc0, D::Gpc, 0, false)?,
        Read::Gpc1 => legacy(D::Gpc1, D::Gpc, 1, false)?,
        Read::Gpc(i) => e.counter(D::Gpc, i)? as i64,
        Read::Gpc0Rate => legacy(D::Gpc0Rate, D::GpcRate, 0, true)?,
        Read::Gpc1Rate => legacy(D::Gpc1Rate, D::GpcRate, 1, true)?,
        Read::GpcRate(i) => e.rate(D::GpcRate, i)? as i64,
        Read::IncGpc0 => inc_gpc(e, Gp::Zero),
        Read::IncGpc1 => inc_gpc(e, Gp::One),
        Read::IncGpc(i) => inc_gpc(e, Gp::Idx(i)),
        Read::ClrGpc0 | Read::ClrGpc1 | Read::ClrGpc(_) => {
            let g = match r {
                Read::ClrGpc0 => Gp::Zero,
                Read::ClrGpc1 => Gp::One,
                Read::ClrGpc(i) => Gp::Idx(i),
                _ => unreachable!(),
            };
            let (c, _) = gpc_pair(e, g);
            e.update((c, c), |c, _| c.map(|c| std::mem::take(c) as i64))??
        }
        Read::Tracked => 1,
        // Every holder but this fetch's own reference.
        Read::Trackers => e.refs() as i64 - 1,
    })
}
