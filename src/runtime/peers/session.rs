//! One established peer session (peer_io_handler after the handshake): what it sends
//! (resync request, acknowledgements, the table's local changes or a whole lesson,
//! the lesson's end, confirmations, heartbeats) and what it does with what it receives.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::values::{self, RemoteDef, TxDict};
use super::wire::{self, class, control, put_msg, put_varint, table, Cut, Reader, Truncated};
use super::{end_session, jitter, lock, Section, RECONNECT};

/// haproxy's PEER_HEARTBEAT_TIMEOUT.
const HEARTBEAT: Duration = Duration::from_millis(3000);
/// Updates per table per send pass (`tune.peers.max-updates-at-once`).
const BATCH: usize = 200;
/// The largest body accepted (`tune.bufsize`).
const MAX_BODY: usize = 16384;

/// Per table, this session's positions.
#[derive(Debug, Default, Clone)]
struct Pos {
    /// The last local change sent.
    pushed: u64,
    /// Where a lesson started (pushes resume there once it is confirmed).
    origin: u64,
    /// The peer's last update id received, and the last one acknowledged.
    got: u32,
    acked_got: u32,
    /// The id the peer gave this table in its definition (0: none).
    remote_id: u64,
    remote: Option<RemoteDef>,
}

struct Run {
    sec: Arc<Section>,
    pi: usize,
    pos: Vec<Pos>,
    /// The table the peer's updates go to.
    current: Option<usize>,
    /// The table this side defined last on the session.
    defined: Option<usize>,
    resync_req: bool,
    teaching: bool,
    taught: bool,
    confirms: u32,
    downgrade: bool,
    tx: TxDict,
    rx: Vec<Option<String>>,
    alive: bool,
}

/// How a session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A peer session.
    Peer,
    /// This stopping process teaches its successor (the local peer) at once and ends
    /// when the lesson is confirmed.
    HandOver,
}

/// Runs the session until either side closes, the peer falls silent, a newer session
/// for the same peer replaces it, or `stop` says so.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    sec: Arc<Section>,
    pi: usize,
    id: u64,
    mut s: TcpStream,
    mut inbuf: Vec<u8>,
    kill: Arc<Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mode: Mode,
) {
    let (acked, downgrade) = {
        let p = lock(&sec.peers[pi]);
        (p.acked.clone(), p.downgrade)
    };
    let mut run = Run {
        pos: acked
            .iter()
            .map(|&a| Pos {
                pushed: a,
                origin: a,
                ..Pos::default()
            })
            .collect(),
        current: None,
        defined: None,
        resync_req: false,
        teaching: false,
        taught: false,
        confirms: 0,
        downgrade,
        tx: TxDict::default(),
        rx: vec![None; 128],
        alive: true,
        sec: sec.clone(),
        pi,
    };
    // The first remote peer reached teaches this process its tables; the process this
    // one replaces teaches unasked.
    if mode == Mode::HandOver {
        run.teaching = true;
    } else {
        let mut l = lock(&sec.learn);
        let local = pi == sec.ir.remotes.len();
        if !l.finished && l.teacher.is_none() && (local || !l.excluded[pi]) {
            l.teacher = Some(pi);
            run.resync_req = !local;
        }
    }
    let mut heartbeat = Instant::now() + HEARTBEAT;
    let mut liveness = Instant::now() + RECONNECT;
    let mut dead = false;
    let mut rbuf = vec![0u8; 16384];
    'session: loop {
        // Everything complete that came in.
        loop {
            match wire::cut(&inbuf, MAX_BODY) {
                Cut::Partial => break,
                Cut::Msg(m, n) => {
                    inbuf.drain(..n);
                    let confirmed = m.class == class::CONTROL
                        && m.ty == control::RESYNC_CONFIRM
                        && run.teaching;
                    if run.handle(&m).is_err() {
                        let _ = s.write_all(&[class::ERROR, wire::error::PROTOCOL]).await;
                        break 'session;
                    }
                    run.alive = true;
                    if confirmed && mode == Mode::HandOver {
                        break 'session;
                    }
                }
                Cut::BadLength => {
                    let _ = s.write_all(&[class::ERROR, wire::error::PROTOCOL]).await;
                    break 'session;
                }
                Cut::TooLong => {
                    let _ = s.write_all(&[class::ERROR, wire::error::SIZE_LIMIT]).await;
                    break 'session;
                }
            }
        }
        let notified = sec.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let out = run.send_pass();
        if !out.is_empty() {
            if s.write_all(&out).await.is_err() {
                break;
            }
            heartbeat = Instant::now() + HEARTBEAT;
            if run.more_to_push() {
                continue;
            }
        }
        tokio::select! {
            r = s.read(&mut rbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => inbuf.extend_from_slice(&rbuf[..n]),
            },
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(heartbeat) => {
                if s.write_all(&[class::CONTROL, control::HEARTBEAT]).await.is_err() {
                    break;
                }
                heartbeat = Instant::now() + HEARTBEAT;
            }
            _ = tokio::time::sleep_until(liveness) => {
                if !run.alive {
                    dead = true;
                    break;
                }
                run.alive = false;
                liveness = Instant::now() + RECONNECT;
            }
            _ = kill.notified() => break,
            _ = stop.changed() => break,
        }
    }
    if dead {
        lock(&sec.peers[pi]).reconnect = Instant::now() + jitter();
    }
    end_session(&sec, pi, id);
}

impl Run {
    /// Whether local changes are left after a send pass's batch.
    fn more_to_push(&self) -> bool {
        if self.teaching || self.is_my_teacher() {
            return false;
        }
        self.sec.infos.iter().zip(&self.pos).any(|(t, p)| {
            self.sec.tables[t.index]
                .repl()
                .is_some_and(|r| r.last() > p.pushed)
        })
    }

    /// haproxy pushes nothing to the peer teaching it until the lesson ends.
    fn is_my_teacher(&self) -> bool {
        lock(&self.sec.learn).teacher == Some(self.pi)
    }

    /// One send pass (peer_send_msgs): the resync request, acknowledgements, the
    /// changes or the lesson, its end, confirmations.
    fn send_pass(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.resync_req {
            put_msg(&mut out, class::CONTROL, control::RESYNC_REQ, &[]);
            self.resync_req = false;
        }
        for p in &mut self.pos {
            if p.got != p.acked_got && p.remote_id != 0 {
                let mut b = Vec::new();
                put_varint(&mut b, p.remote_id);
                b.extend_from_slice(&p.got.to_be_bytes());
                put_msg(&mut out, class::TABLE, table::ACK, &b);
                p.acked_got = p.got;
            }
        }
        if self.teaching && !self.taught {
            for ti in 0..self.sec.infos.len() {
                self.teach(&mut out, ti);
            }
            self.taught = true;
            let finished = lock(&self.sec.learn).finished;
            let ty = if finished {
                control::RESYNC_FINISHED
            } else {
                control::RESYNC_PARTIAL
            };
            put_msg(&mut out, class::CONTROL, ty, &[]);
        } else if !self.teaching && !self.is_my_teacher() {
            for ti in 0..self.sec.infos.len() {
                self.push(&mut out, ti);
            }
        }
        for _ in 0..self.confirms {
            put_msg(&mut out, class::CONTROL, control::RESYNC_CONFIRM, &[]);
        }
        self.confirms = 0;
        out
    }

    fn define(&mut self, out: &mut Vec<u8>, ti: usize) {
        if self.defined == Some(ti) {
            return;
        }
        let t = &self.sec.infos[ti];
        let mut b = Vec::new();
        put_varint(&mut b, ti as u64 + 1);
        put_varint(&mut b, t.name.len() as u64);
        b.extend_from_slice(t.name.as_bytes());
        b.extend_from_slice(&t.define_tail);
        put_msg(out, class::TABLE, table::DEFINE, &b);
        self.defined = Some(ti);
    }

    /// The table's local changes after the last one sent, as plain updates (the
    /// receiver applies its own `expire`).
    fn push(&mut self, out: &mut Vec<u8>, ti: usize) {
        let sec = self.sec.clone();
        let t = &sec.infos[ti];
        let table = &sec.tables[t.index];
        let Some(repl) = table.repl() else { return };
        let changes = repl.after(self.pos[ti].pushed, BATCH);
        let mut prev: Option<u32> = None;
        for (n, key) in changes {
            self.pos[ti].pushed = n;
            let Some(e) = table.find(&key) else { continue };
            self.define(out, ti);
            let id = n as u32;
            let mut b = Vec::new();
            let ty = if prev.is_some_and(|p| id.wrapping_sub(p) == 1) {
                table::INC_UPDATE
            } else {
                b.extend_from_slice(&id.to_be_bytes());
                table::UPDATE
            };
            values::put_key(&mut b, t.key, &key);
            values::put_values(&mut b, t, &e.snapshot(), &mut self.tx);
            put_msg(out, class::TABLE, ty, &b);
            prev = Some(id);
        }
    }

    /// The whole table with each entry's remaining lifetime (a lesson).
    fn teach(&mut self, out: &mut Vec<u8>, ti: usize) {
        let sec = self.sec.clone();
        let t = &sec.infos[ti];
        let table = &sec.tables[t.index];
        self.define(out, ti);
        let mut id = (self.pos[ti].origin as u32).wrapping_add(1);
        for (i, (key, e)) in table.sorted().into_iter().enumerate() {
            let s = e.snapshot();
            let mut b = Vec::new();
            let ty = match (i == 0, self.downgrade) {
                (true, false) => table::UPDATE_TIMED,
                (true, true) => table::UPDATE,
                (false, false) => table::INC_UPDATE_TIMED,
                (false, true) => table::INC_UPDATE,
            };
            if i == 0 {
                b.extend_from_slice(&id.to_be_bytes());
            }
            if !self.downgrade {
                b.extend_from_slice(&(s.expires_in as u32).to_be_bytes());
            }
            values::put_key(&mut b, t.key, &key);
            values::put_values(&mut b, t, &s, &mut self.tx);
            put_msg(out, class::TABLE, ty, &b);
            id = id.wrapping_add(1);
        }
    }

    /// One message received.
    fn handle(&mut self, m: &wire::Msg) -> Result<(), Truncated> {
        match m.class {
            class::CONTROL => self.control(m.ty),
            class::TABLE => return self.table_msg(m.ty, &m.body),
            class::RESERVED => return Err(Truncated),
            // Errors and unknown classes are ignored, as haproxy does.
            _ => {}
        }
        Ok(())
    }

    fn control(&mut self, ty: u8) {
        let sec = self.sec.clone();
        match ty {
            control::RESYNC_REQ => {
                for p in &mut self.pos {
                    p.origin = p.pushed;
                }
                self.teaching = true;
                self.taught = false;
            }
            control::RESYNC_FINISHED | control::RESYNC_PARTIAL => {
                let mut l = lock(&sec.learn);
                if l.teacher == Some(self.pi) {
                    l.teacher = None;
                    if ty == control::RESYNC_FINISHED {
                        l.finished = true;
                    } else {
                        l.excluded[self.pi] = true;
                        l.deadline = Instant::now() + super::RESYNC;
                    }
                }
                self.confirms += 1;
            }
            control::RESYNC_CONFIRM if self.teaching => {
                for p in &mut self.pos {
                    p.pushed = p.origin;
                }
                self.teaching = false;
            }
            _ => {}
        }
    }

    fn table_msg(&mut self, ty: u8, body: &[u8]) -> Result<(), Truncated> {
        let sec = self.sec.clone();
        let mut r = Reader::new(body);
        match ty {
            table::DEFINE => {
                let id = r.varint()?;
                let len = r.varint()? as usize;
                self.current = None;
                if len == 0 || len >= r.left() {
                    return Err(Truncated);
                }
                for p in &mut self.pos {
                    if p.remote_id == id {
                        p.remote_id = 0;
                    }
                }
                let name = r.bytes(len)?;
                let Some(ti) = sec.infos.iter().position(|t| t.name.as_bytes() == name) else {
                    return Ok(());
                };
                if r.left() == 0 {
                    return Err(Truncated);
                }
                if let Some(def) = values::read_define(&mut r, &sec.infos[ti])? {
                    self.pos[ti].remote_id = id;
                    self.pos[ti].remote = Some(def);
                    self.current = Some(ti);
                }
            }
            table::SWITCH => {
                let id = r.varint()?;
                self.current = self.pos.iter().position(|p| p.remote_id == id && id != 0);
            }
            table::ACK => {
                let id = r.varint()?;
                let upd = r.u32()?;
                if self.teaching {
                    return Ok(());
                }
                let ti = id as usize;
                if ti >= 1 && ti <= self.pos.len() {
                    let pushed = self.pos[ti - 1].pushed;
                    let back = u64::from((pushed as u32).wrapping_sub(upd));
                    let seq = pushed.saturating_sub(back);
                    lock(&sec.peers[self.pi]).acked[ti - 1] = seq;
                }
            }
            table::UPDATE | table::INC_UPDATE | table::UPDATE_TIMED | table::INC_UPDATE_TIMED => {
                let Some(ti) = self.current else {
                    return Ok(());
                };
                let p = &mut self.pos[ti];
                if matches!(ty, table::UPDATE | table::UPDATE_TIMED) {
                    p.got = r.u32()?;
                } else {
                    p.got = p.got.wrapping_add(1);
                }
                let expire = if matches!(ty, table::UPDATE_TIMED | table::INC_UPDATE_TIMED) {
                    Some(u64::from(r.u32()?))
                } else {
                    None
                };
                let t = &sec.infos[ti];
                let key = values::read_key(&mut r, t.key)?;
                let def = p.remote.clone().ok_or(Truncated)?;
                let vals = values::read_values(&mut r, &def, &mut self.rx)?;
                sec.tables[t.index].apply(&key, expire, |e| values::apply(e, t, &vals));
            }
            _ => {}
        }
        Ok(())
    }
}
