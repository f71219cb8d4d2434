//! Stick-table replication with haproxy's peers protocol (configuration.txt §3.5), so
//! that haproxide and haproxy peers share tables both ways. Per `peers` section this
//! process listens on its local peer's address and connects to every other peer; one
//! session per peer, the newest accepted one winning a collision. A session pushes the
//! table's local changes in order, acknowledges what it receives, teaches the whole
//! table to a peer that asks (RESYNCREQ), and at start asks the first peer it reaches
//! to teach it. Timers are haproxy's: heartbeat every 3 s, a silent peer dropped after
//! 5 to 10 s, reconnection after 5 s (50 ms to 2 s after a collision), 1 s to connect.

mod session;
mod values;
pub mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::ir::{Config, PeersSection, StickKey};
use crate::runtime::lb::state::Shared;
use crate::runtime::lb::stick::Table;

/// haproxy's PEER_RECONNECT_TIMEOUT.
const RECONNECT: Duration = Duration::from_millis(5000);
/// haproxy's PEER_RESYNC_TIMEOUT.
const RESYNC: Duration = Duration::from_millis(5000);
/// The peers proxy's fixed `timeout connect`.
const CONNECT: Duration = Duration::from_millis(1000);
/// The peers proxy's fixed `timeout client`: the handshake's bound.
const HANDSHAKE: Duration = Duration::from_millis(5000);

/// A replicated table as the protocol describes it.
#[derive(Debug)]
struct TableInfo {
    /// Index in [`Shared::tables`].
    index: usize,
    /// Its name on the wire (the proxy's).
    name: String,
    /// Its key type.
    key: StickKey,
    /// Data types sent (bit = haproxy's type number).
    mask: u64,
    /// The definition's fields after the name.
    define_tail: Vec<u8>,
    /// The servers stick rules store (their `id` and name), by index; None when no
    /// stick rule uses the table.
    servers: Option<Vec<(u32, String)>>,
}

/// What the section remembers of one peer across its sessions.
#[derive(Debug)]
struct PeerState {
    /// The current session: its number and what ends it.
    session: Option<(u64, Arc<Notify>)>,
    /// Per table: the last local change the peer acknowledged (pushes resume after it).
    acked: Vec<u64>,
    /// No connection before this.
    reconnect: Instant,
    /// The last handshake status (haproxy retries only after 0, 100, 110 and 200).
    status: u32,
    /// It answered 502: announce version 2.0.
    downgrade: bool,
}

/// The learning of the tables at start (haproxy's resync state, fresh start: from the
/// remote peers).
#[derive(Debug)]
struct Learn {
    finished: bool,
    teacher: Option<usize>,
    excluded: Vec<bool>,
    deadline: Instant,
}

/// One running `peers` section.
#[derive(Debug)]
struct Section {
    ir: PeersSection,
    tables: Arc<[Table]>,
    infos: Vec<TableInfo>,
    /// The remote peers, then the local peer (an older process of this one).
    peers: Vec<Mutex<PeerState>>,
    learn: Mutex<Learn>,
    /// Woken by local changes of the section's tables.
    wake: Arc<Notify>,
    /// Woken when a session ends (the connectors may dial again).
    ended: Notify,
    stop: watch::Receiver<bool>,
    sessions: std::sync::atomic::AtomicU64,
    /// The process's stream counter ([`Shared::req_count`]): each peers session, dialled
    /// or accepted, is a stream in haproxy.
    streams: Arc<std::sync::atomic::AtomicU32>,
    /// Accepted connections, counted in `show info` CumConns ([`Shared::other_conns`]).
    accepted: Arc<std::sync::atomic::AtomicU64>,
}

/// The replication tasks of one configuration generation.
#[derive(Debug)]
pub struct Peers {
    stop: watch::Sender<bool>,
    sections: Vec<Arc<Section>>,
}

impl Peers {
    /// Ends every session and closes the listeners.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Soft stop: ends the sessions, then teaches the tables to the process replacing
    /// this one, which listens on the local peer's address now (haproxy's old process
    /// connects to its local peer the same way). Done when every lesson is confirmed,
    /// or after 5 s; nothing to do when no successor listens, or while this process is
    /// still learning its own tables (haproxy gives up then too).
    pub async fn hand_over(self) {
        self.stop();
        let (_keep, stop) = watch::channel(false);
        let lessons: Vec<_> = self
            .sections
            .iter()
            // haproxy's old process teaches only once its own learning is over.
            .filter(|s| !s.infos.is_empty() && lock(&s.learn).finished)
            .map(|sec| {
                let (sec, stop) = (sec.clone(), stop.clone());
                tokio::spawn(async move {
                    // Our own listener closes first, so that only the successor answers.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let pi = sec.ir.remotes.len();
                    let Ok(Ok(mut s)) =
                        tokio::time::timeout(CONNECT, TcpStream::connect(sec.ir.bind)).await
                    else {
                        return;
                    };
                    let hello = wire::hello(&sec.ir.local, &sec.ir.local, false);
                    if s.write_all(hello.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut buf = Vec::new();
                    match tokio::time::timeout(HANDSHAKE, line(&mut s, &mut buf)).await {
                        Ok(Some(st)) if st.trim() == "200" => {}
                        _ => return,
                    }
                    let kill = Arc::new(Notify::new());
                    session::run(sec, pi, 0, s, buf, kill, stop, session::Mode::HandOver).await;
                })
            })
            .collect();
        let _ = tokio::time::timeout(RESYNC, async {
            for l in lessons {
                let _ = l.await;
            }
        })
        .await;
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// haproxy's random delay after a collision or a dead session: 50 ms to 2 s.
fn jitter() -> Duration {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(50 + u64::from(n % 2000))
}

/// Starts the sections of `cfg`; an address that cannot be bound is an error.
pub fn start(cfg: &Config, shared: &Arc<Shared>) -> anyhow::Result<Peers> {
    let (tx, rx) = watch::channel(false);
    let mut sections = Vec::new();
    for (si, ir) in cfg.peers.iter().enumerate() {
        let wake = Arc::new(Notify::new());
        let infos: Vec<TableInfo> = cfg
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.table.peers == Some(si))
            .map(|(i, t)| {
                let table = &shared.tables[i];
                if let Some(r) = table.repl() {
                    r.wake(wake.clone());
                }
                let servers = shared
                    .backends
                    .iter()
                    .find(|b| b.ir.stick_rules.iter().any(|r| r.table == i))
                    .map(|b| {
                        b.servers
                            .iter()
                            .map(|s| (s.ir.id, s.ir.name.clone()))
                            .collect()
                    });
                values::info(i, &t.name, table, servers)
            })
            .collect();
        let n = ir.remotes.len() + 1;
        let now = Instant::now();
        let sec = Arc::new(Section {
            ir: ir.clone(),
            tables: shared.tables.clone(),
            streams: shared.req_count.clone(),
            accepted: shared.other_conns.clone(),
            peers: (0..n)
                .map(|_| {
                    Mutex::new(PeerState {
                        session: None,
                        acked: vec![0; infos.len()],
                        reconnect: now,
                        status: 0,
                        downgrade: false,
                    })
                })
                .collect(),
            infos,
            learn: Mutex::new(Learn {
                finished: false,
                teacher: None,
                excluded: vec![false; n],
                deadline: now + RESYNC,
            }),
            wake,
            ended: Notify::new(),
            stop: rx.clone(),
            sessions: std::sync::atomic::AtomicU64::new(0),
        });
        let listener = bind(ir.bind)
            .map_err(|e| anyhow::anyhow!("peers '{}': cannot bind {}: {e}", ir.name, ir.bind))?;
        tokio::spawn(accept_loop(sec.clone(), listener));
        for pi in 0..ir.remotes.len() {
            tokio::spawn(connect_loop(sec.clone(), pi));
        }
        tokio::spawn(learn_timer(sec.clone()));
        sections.push(sec);
    }
    Ok(Peers { stop: tx, sections })
}

/// The peers listener: reusable by the next process while this one stops.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    TcpListener::from_std(s.into())
}

/// Ends the learning phase when no teacher answered in time.
async fn learn_timer(sec: Arc<Section>) {
    let mut stop = sec.stop.clone();
    loop {
        let deadline = {
            let mut l = lock(&sec.learn);
            if l.finished {
                return;
            }
            if l.teacher.is_none() && Instant::now() >= l.deadline {
                l.finished = true;
                return;
            }
            l.deadline.max(Instant::now() + Duration::from_millis(100))
        };
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn accept_loop(sec: Arc<Section>, listener: TcpListener) {
    let mut stop = sec.stop.clone();
    loop {
        tokio::select! {
            r = listener.accept() => {
                if let Ok((s, _)) = r {
                    let _ = s.set_nodelay(true);
                    tokio::spawn(accepted(sec.clone(), s));
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Reads one LF-terminated line (a CR before it dropped); None at the end of the stream
/// or past 1 kB.
async fn line(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(i) = buf.iter().position(|&c| c == b'\n') {
            let mut l: Vec<u8> = buf.drain(..=i).collect();
            l.pop();
            if l.last() == Some(&b'\r') {
                l.pop();
            }
            return Some(String::from_utf8_lossy(&l).into_owned());
        }
        if buf.len() > 1024 {
            return None;
        }
        let mut b = [0u8; 512];
        match s.read(&mut b).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
}

/// The accepting side's handshake (peer_getline_version, _host, _last), then the
/// session. Answers 501 (protocol), 502 (version), 503 (not my name), 504 (unknown peer)
/// or 300 (the local peer is already connected) and closes.
async fn accepted(sec: Arc<Section>, mut s: TcpStream) {
    sec.accepted
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    sec.streams
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut buf = Vec::new();
    let hs = tokio::time::timeout(HANDSHAKE, async {
        let v = line(&mut s, &mut buf).await?;
        let Some(ver) = v.strip_prefix(&format!("{} ", wire::BANNER)) else {
            return Some(Err(501));
        };
        let minor = match ver.split_once('.') {
            Some(("2", m)) if !m.is_empty() && m.bytes().all(|c| c.is_ascii_digit()) => {
                match m.parse::<u32>() {
                    Ok(n) if n <= 1 => n,
                    _ => return Some(Err(502)),
                }
            }
            _ => return Some(Err(502)),
        };
        let host = line(&mut s, &mut buf).await?;
        if host != sec.ir.local {
            return Some(Err(503));
        }
        let last = line(&mut s, &mut buf).await?;
        let Some((name, _)) = last.split_once(' ') else {
            return Some(Err(501));
        };
        let pi = if name == sec.ir.local {
            sec.ir.remotes.len()
        } else {
            match sec.ir.remotes.iter().position(|p| p.name == name) {
                Some(i) => i,
                None => return Some(Err(504)),
            }
        };
        Some(Ok((pi, minor)))
    })
    .await;
    let (pi, minor) = match hs {
        Ok(Some(Ok(v))) => v,
        Ok(Some(Err(code))) => {
            let _ = s.write_all(format!("{code}\n").as_bytes()).await;
            return;
        }
        _ => return,
    };
    let kill = Arc::new(Notify::new());
    let id = sec
        .sessions
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    let busy = {
        let mut p = lock(&sec.peers[pi]);
        match &p.session {
            Some(_) if pi == sec.ir.remotes.len() => true,
            other => {
                if let Some((_, old)) = other {
                    // The newest connection wins; the old one's side retries a little later.
                    old.notify_one();
                    p.reconnect = Instant::now() + jitter();
                }
                p.session = Some((id, kill.clone()));
                p.status = 200;
                p.downgrade = minor == 0;
                false
            }
        }
    };
    if busy {
        let _ = s.write_all(b"300\n").await;
        return;
    }
    if s.write_all(b"200\n").await.is_err() {
        end_session(&sec, pi, id);
        return;
    }
    let stop = sec.stop.clone();
    session::run(sec, pi, id, s, buf, kill, stop, session::Mode::Peer).await;
}

/// Connects to remote peer `pi` whenever it has no session, as haproxy's sync task.
async fn connect_loop(sec: Arc<Section>, pi: usize) {
    let mut stop = sec.stop.clone();
    loop {
        // Armed before the look, so that a session ending meanwhile is not missed.
        let ended = sec.ended.notified();
        tokio::pin!(ended);
        ended.as_mut().enable();
        let busy = lock(&sec.peers[pi]).session.is_some();
        if busy {
            tokio::select! {
                _ = ended => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        let wait = {
            let p = lock(&sec.peers[pi]);
            if !matches!(p.status, 0 | 100 | 110 | 200) {
                // haproxy makes no more attempts after a refusal.
                None
            } else if p.reconnect > Instant::now() {
                Some(p.reconnect)
            } else {
                Some(Instant::now())
            }
        };
        let Some(at) = wait else {
            let _ = stop.changed().await;
            return;
        };
        if at > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        tokio::select! {
            _ = dial(&sec, pi) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One connection attempt and, when accepted, its session.
async fn dial(sec: &Arc<Section>, pi: usize) {
    let peer = &sec.ir.remotes[pi];
    let (downgrade, id) = {
        let mut p = lock(&sec.peers[pi]);
        p.reconnect = Instant::now() + RECONNECT;
        p.status = 100;
        (
            p.downgrade,
            sec.sessions
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1,
        )
    };
    // haproxy's peer applet has its stream before it connects.
    sec.streams
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let Ok(Ok(mut s)) = tokio::time::timeout(CONNECT, TcpStream::connect(peer.addr)).await else {
        return;
    };
    let _ = s.set_nodelay(true);
    let hello = wire::hello(&peer.name, &sec.ir.local, downgrade);
    if s.write_all(hello.as_bytes()).await.is_err() {
        return;
    }
    lock(&sec.peers[pi]).status = 110;
    let mut buf = Vec::new();
    let Ok(Some(st)) = tokio::time::timeout(HANDSHAKE, line(&mut s, &mut buf)).await else {
        return;
    };
    let code: u32 = st.trim().parse().unwrap_or(0);
    let kill = Arc::new(Notify::new());
    {
        let mut p = lock(&sec.peers[pi]);
        p.status = code;
        if code != 200 {
            if code == 502 {
                p.downgrade = true;
            }
            return;
        }
        if p.session.is_some() {
            // An incoming session came up meanwhile: it stands.
            return;
        }
        p.session = Some((id, kill.clone()));
    }
    session::run(
        sec.clone(),
        pi,
        id,
        s,
        buf,
        kill,
        sec.stop.clone(),
        session::Mode::Peer,
    )
    .await;
}

/// A session ended: its slot is freed (unless a newer one took it) and the learning
/// moves on if it was the teacher.
fn end_session(sec: &Section, pi: usize, id: u64) {
    let mut p = lock(&sec.peers[pi]);
    if p.session.as_ref().is_some_and(|(s, _)| *s == id) {
        p.session = None;
    }
    drop(p);
    sec.ended.notify_waiters();
    let mut l = lock(&sec.learn);
    if l.teacher == Some(pi) {
        l.teacher = None;
        l.deadline = Instant::now() + RESYNC;
    }
}
