//! Helpers for over-the-socket tests: run haproxide or the real haproxy on a config, fake
//! servers, and log capture. Every address is loopback; every process is stopped by PID.
#![allow(dead_code)]

pub mod certs;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The real haproxy (installed by ./run-tests); a test that needs it fails without it.
pub const HAPROXY: &str = "/usr/sbin/haproxy";

/// Which binary to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// This project's binary.
    Haproxide,
    /// The oracle.
    Haproxy,
}

impl Which {
    pub fn path(self) -> &'static str {
        match self {
            Which::Haproxide => env!("CARGO_BIN_EXE_haproxide"),
            Which::Haproxy => {
                assert!(
                    std::path::Path::new(HAPROXY).exists(),
                    "{HAPROXY} is missing: run ./run-tests (it installs haproxy)"
                );
                HAPROXY
            }
        }
    }
}

/// A running proxy; killed (by PID) when dropped.
pub struct Proxy {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
    /// Standard-output lines from before the readiness probe settled (set aside, not lost).
    pub early: Vec<String>,
    pub errs: Arc<Mutex<Vec<String>>>,
    _dir: PathBuf,
}

fn collect<R: Read + Send + 'static>(r: R) -> Arc<Mutex<Vec<String>>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            o.lock().unwrap().push(l);
        }
    });
    out
}

/// Writes `cfg` to a fresh directory and starts `which -db -f cfg`, waiting until `wait_for`
/// accepts connections.
pub fn start(which: Which, tag: &str, cfg: &str, wait_for: SocketAddr) -> Proxy {
    let dir = std::env::temp_dir().join(format!(
        "haproxide-rt-{tag}-{}-{:?}",
        std::process::id(),
        which
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.cfg");
    std::fs::write(&path, cfg).unwrap();
    let mut p = start_file(which, &path, wait_for);
    p._dir = dir;
    p
}

/// Starts `which -db -f path` on an existing file (a test may rewrite it, then reload).
pub fn start_file(which: Which, path: &std::path::Path, wait_for: SocketAddr) -> Proxy {
    let dir = path.parent().map(|d| d.to_path_buf()).unwrap_or_default();
    let mut child = Command::new(which.path())
        .args(["-db", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start proxy");
    let lines = collect(child.stdout.take().unwrap());
    let errs = collect(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect_timeout(&wait_for, Duration::from_millis(200)).is_ok() {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "{which:?} exited with {st} before listening: {:?}",
                errs.lock().unwrap()
            );
        }
        if Instant::now() >= deadline {
            // Stopped by PID before the panic: a stray proxy would keep the address and
            // take the next test's connections.
            let _ = child.kill();
            let _ = child.wait();
            panic!("{which:?} did not listen on {wait_for}");
        }
        thread::sleep(Duration::from_millis(20));
    }
    // The probe connection above is logged by some configs: wait for it and set it aside.
    thread::sleep(Duration::from_millis(200));
    let early = std::mem::take(&mut *lines.lock().unwrap());
    Proxy {
        child,
        lines,
        early,
        errs,
        _dir: dir,
    }
}

/// A check or server line with its duration masked (`duration: Nms`): the only part
/// that differs between two runs.
#[allow(dead_code)]
pub fn mask_duration(l: &str) -> String {
    match l.find("duration: ") {
        Some(i) => {
            let rest = &l[i + 10..];
            let end = rest.find("ms").map_or(0, |e| e + 2);
            format!("{}Nms{}", &l[..i + 10], &rest[end..])
        }
        None => l.to_string(),
    }
}

impl Proxy {
    /// Its standard-error warnings, without the tag and pid.
    pub fn warnings(&self) -> Vec<String> {
        self.errs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("[WARNING]"))
            .map(|l| {
                l.split_once(") : ")
                    .map_or(l.clone(), |(_, m)| m.to_string())
            })
            .collect()
    }

    /// What it wrote so far: its start-up output, then its log lines.
    #[allow(dead_code)]
    pub fn all_lines(&self) -> Vec<String> {
        let mut lines = self.early.clone();
        lines.extend(self.lines.lock().unwrap().iter().cloned());
        lines
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        let _ = kill(self.pid() as u32, sig);
    }

    /// Waits for `n` log lines (at most `limit`), returns them.
    pub fn wait_lines(&self, n: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let v = self.lines.lock().unwrap().clone();
            if v.len() >= n || Instant::now() > deadline {
                return v;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit; its status code (or 128+signal).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                return Some(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)));
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process (broker, nginx) stopped by PID when dropped: SIGTERM, then SIGKILL
/// if it has not exited within 3 s.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = kill(self.0.id(), nix::libc::SIGTERM);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends signal number `sig` to process `pid`, in-process (no kill(1) to install).
pub fn kill(pid: u32, sig: i32) -> nix::Result<()> {
    let sig = nix::sys::signal::Signal::try_from(sig)?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig)
}

/// Column `column` of proxy `px`'s row whose svname is `sv` in a `show stat` answer
/// ("?" when there is none).
pub fn proxy_field(stat: &str, px: &str, sv: &str, column: &str) -> String {
    let head = stat.lines().next().unwrap_or("");
    let row = stat
        .lines()
        .find(|l| l.starts_with(&format!("{px},{sv},")))
        .unwrap_or("");
    stat_field(&format!("{head}\n{row}"), sv, column)
}

/// Waits (at most 10 s) until something listens on `a`.
/// One command on a stats socket, its whole answer.
pub fn ask(sock: &std::path::Path, cmd: &str) -> String {
    let mut c = std::os::unix::net::UnixStream::connect(sock)
        .unwrap_or_else(|e| panic!("{}: {e}", sock.display()));
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(format!("{cmd}\n").as_bytes()).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

/// A connection to `to` from the loopback address `src` (many 127.x sources: clients a
/// hash tells apart, and no ephemeral-port shortage).
#[allow(dead_code)]
pub fn connect_from(src: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let from: SocketAddr = format!("{src}:0").parse().expect("an IPv4 address");
    s.bind(&from.into())?;
    s.connect(&to.into())?;
    Ok(s.into())
}

/// One field of a `show stat` answer: column `column` of the row whose svname is `sv`
/// ("?" when there is none).
pub fn stat_field(stat: &str, sv: &str, column: &str) -> String {
    let head: Vec<&str> = stat
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let Some(col) = head.iter().position(|c| *c == column) else {
        return "?".into();
    };
    stat.lines()
        .find(|l| l.split(',').nth(1) == Some(sv))
        .and_then(|l| l.split(',').nth(col))
        .unwrap_or("?")
        .to_string()
}

pub fn wait_port(a: &str) {
    let t0 = Instant::now();
    while TcpStream::connect(a).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(10), "{a} never listened");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Starts mosquitto with `conf` (written to `dir`/mosquitto.conf) and waits for `ports`.
pub fn mosquitto(dir: &std::path::Path, conf: &str, ports: &[&str]) -> Kill {
    assert!(
        std::path::Path::new("/usr/sbin/mosquitto").exists(),
        "/usr/sbin/mosquitto is missing: ./run-tests installs it"
    );
    let path = dir.join("mosquitto.conf");
    std::fs::write(&path, conf).unwrap();
    let mq = Kill(
        Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto"),
    );
    for p in ports {
        wait_port(p);
    }
    mq
}

/// A fake server: accepts, runs `handler` per connection in a thread, records accepts.
/// Reads `c` until its peer ends it: what came, and how it ended (`FIN`, `RST`, or
/// `timeout` when the read timeout struck first).
pub fn read_to_end_kind(c: &mut TcpStream) -> (Vec<u8>, &'static str) {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    let end = loop {
        match c.read(&mut buf) {
            Ok(0) => break "FIN",
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break "RST",
            Err(_) => break "timeout",
        }
    };
    (got, end)
}

pub struct Backend {
    pub addr: SocketAddr,
    pub accepted: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

impl Backend {
    /// Echo server that also records the first bytes each connection sent.
    pub fn echo(addr: &str) -> Backend {
        Self::with(addr, |mut c: TcpStream, rec: Arc<Mutex<Vec<Vec<u8>>>>| {
            let mut buf = [0u8; 65536];
            let mut first = true;
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if first {
                            rec.lock().unwrap().push(buf[..n].to_vec());
                            first = false;
                        }
                        if c.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = c.shutdown(std::net::Shutdown::Write);
        })
    }

    /// Server that accepts and records, then runs `h`.
    pub fn with<F>(addr: &str, h: F) -> Backend
    where
        F: Fn(TcpStream, Arc<Mutex<Vec<Vec<u8>>>>) + Send + Sync + 'static,
    {
        // A deep backlog: std's 128 overflows when thousands of sessions connect at once,
        // and the dropped SYNs would turn into the proxy's connect timeouts.
        let l = (|| -> std::io::Result<TcpListener> {
            let a: SocketAddr = addr.parse().map_err(std::io::Error::other)?;
            let s =
                socket2::Socket::new(socket2::Domain::for_address(a), socket2::Type::STREAM, None)?;
            s.set_reuse_address(true)?;
            s.bind(&a.into())?;
            s.listen(4096)?;
            Ok(s.into())
        })()
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (acc, st) = (accepted.clone(), stop.clone());
        let h = Arc::new(h);
        thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((c, _)) => {
                        c.set_nonblocking(false).unwrap();
                        let (acc, h) = (acc.clone(), h.clone());
                        thread::spawn(move || h(c, acc));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Backend {
            addr,
            accepted,
            stop,
        }
    }

    /// Server that sends `banner` and ends its side first, then records what the client
    /// still sends until it ends too.
    pub fn closes_first(addr: &str, banner: &'static [u8]) -> Backend {
        Backend::with(addr, move |mut c, rec| {
            let _ = c.write_all(banner);
            let _ = c.shutdown(std::net::Shutdown::Write);
            let mut v = Vec::new();
            let _ = c.read_to_end(&mut v);
            rec.lock().unwrap().push(v);
        })
    }

    /// The last record once it equals `want` or `limit` has passed, whichever comes first.
    pub fn wait_last(&self, want: &[u8], limit: Duration) -> Option<Vec<u8>> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let last = self.accepted.lock().unwrap().last().cloned();
            if last.as_deref() == Some(want) || std::time::Instant::now() >= deadline {
                return last;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Asserts that the last record becomes `want` within 3 s; `why` names what it shows.
    pub fn assert_last(&self, want: &[u8], why: &str) {
        let got = self.wait_last(want, Duration::from_secs(3));
        assert_eq!(got.as_deref(), Some(want), "{why}");
    }

    /// Connections accepted so far.
    pub fn count(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        thread::sleep(Duration::from_millis(20));
    }
}

/// One request on its own connection to `to`, its answer read to the end (3 s at most).
pub fn once(to: impl std::net::ToSocketAddrs, req: &str) -> String {
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `data`, half-closes, reads everything back (bounded).
pub fn roundtrip(to: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(to).expect("connect to proxy");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(data).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    out
}

/// Masks what differs between runs in a tcplog line: client port and date. Times stay
/// exact; compare them with [`assert_logs_match`], which allows scheduling jitter.
pub fn mask_tcplog(l: &str) -> String {
    let f: Vec<&str> = l.split(' ').collect();
    if f.len() != 9 {
        return l.to_string();
    }
    let client = f[0].rsplit_once(':').map(|(a, _)| a).unwrap_or(f[0]);
    format!(
        "{client}:P [DATE] {} {} {} {} {} {} {}",
        f[2], f[3], f[4], f[5], f[6], f[7], f[8]
    )
}

/// Times of a masked line rounded to 100 ms (for readable assertions).
pub fn bucket(l: &str) -> String {
    l.split(' ')
        .map(|w| {
            let parts: Vec<&str> = w.split('/').collect();
            if parts.len() == 3 && parts.iter().all(|p| p.parse::<i64>().is_ok()) {
                parts
                    .iter()
                    .map(|t| match t.parse::<i64>().unwrap_or(0) {
                        -1 => "-1".to_string(),
                        v => format!("~{}", (v + 50) / 100 * 100),
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Two runs' masked log lines are the same, timers within 150 ms of each other.
pub fn assert_logs_match(want: &[String], got: &[String]) {
    assert_eq!(
        got.len(),
        want.len(),
        "haproxy: {want:?}\nhaproxide: {got:?}"
    );
    for (w, g) in want.iter().zip(got) {
        let (wf, gf): (Vec<&str>, Vec<&str>) = (w.split(' ').collect(), g.split(' ').collect());
        let same = wf.len() == gf.len()
            && wf.iter().zip(&gf).all(|(a, b)| {
                if a == b {
                    return true;
                }
                let (pa, pb): (Vec<&str>, Vec<&str>) =
                    (a.split('/').collect(), b.split('/').collect());
                pa.len() == 3
                    && pb.len() == 3
                    && pa.iter().zip(&pb).enumerate().all(|(i, (x, y))| {
                        match (x.parse::<i64>(), y.parse::<i64>()) {
                            (Ok(-1), Ok(-1)) => true,
                            (Ok(-1), _) | (_, Ok(-1)) => false,
                            // Tw is t_queue - t_request with t_request = -1 in TCP mode:
                            // never 0 in haproxy's lines, so never 0 in ours.
                            (Ok(x), Ok(y)) if i == 0 && (x == 0) != (y == 0) => false,
                            (Ok(x), Ok(y)) => (x - y).abs() <= 150,
                            // A timer a test masked (a letter) must be masked on both sides.
                            _ => x == y,
                        }
                    })
            });
        assert!(
            same,
            "line differs beyond timing jitter:\nhaproxy:   {w}\nhaproxide: {g}"
        );
    }
}

#[path = "../../benches/any_cert.rs"]
mod any_cert;
use any_cert::AnyCert;

/// A TLS client configuration for tests (any server certificate, no client certificate).
pub fn tls_client_config() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    Arc::new(cfg)
}

/// A completed TLS connection to `to` (a full handshake each time), blocking, 5 s timeouts.
pub fn tls_connect(to: SocketAddr) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let tcp = TcpStream::connect(to).expect("connect to the TLS bind");
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let name = rustls::pki_types::ServerName::try_from("t").unwrap();
    let mut conn = rustls::ClientConnection::new(tls_client_config(), name).unwrap();
    let mut tcp = tcp;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).expect("TLS handshake");
    }
    rustls::StreamOwned::new(conn, tcp)
}

/// A self-signed certificate and its key in one PEM file (the form `crt` takes), made by
/// the real openssl with `key_args` (e.g. `-newkey rsa:2048`), CN "t", in a fresh directory.
pub fn self_signed_pem(tag: &str, key_args: &[&str]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("haproxide-pem-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let (key, crt, pem) = (d.join("k.pem"), d.join("c.pem"), d.join("b.pem"));
    let st = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=t"])
        .args(key_args)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .stderr(Stdio::null())
        .status()
        .expect("openssl (./run-tests installs it)");
    assert!(st.success(), "openssl req {key_args:?}");
    let both = [std::fs::read(&crt).unwrap(), std::fs::read(&key).unwrap()].concat();
    std::fs::write(&pem, both).unwrap();
    pem
}

/// Resident memory of process `pid`, in kB (0 once it is gone).
pub fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Open descriptors of process `pid`.
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Where the HTTP/1 message at the start of `b` ends: its head and a body of its
/// `content-length` (none without one); None until all of it is there.
pub fn http_message_end(b: &[u8]) -> Option<usize> {
    let h = b.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&b[..h]).to_ascii_lowercase();
    let cl = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (b.len() >= h + cl).then_some(h + cl)
}

/// Reads from `c` into `buf` until an HTTP/1 message (see [`http_message_end`]) is
/// there, and takes it out of `buf`; None when `c` ends or fails first.
pub fn read_http_message(c: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(end) = http_message_end(buf) {
            return Some(buf.drain(..end).collect());
        }
        match c.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

/// Reads from `c` into `buf` until a message head is there and takes it out of `buf`.
#[allow(dead_code)]
pub fn read_http_head(c: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(buf.drain(..end + 4).collect());
        }
        match c.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

/// An HTTP server at `addr` that records each request it reads in `seen` and answers
/// every one with `resp`.
#[allow(dead_code)]
pub fn recording_server(addr: &str, seen: Arc<Mutex<Vec<String>>>, resp: &'static str) -> Backend {
    Backend::with(addr, move |mut c: TcpStream, _| {
        let mut buf = Vec::new();
        while let Some(head) = read_http_message(&mut c, &mut buf) {
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            if c.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    })
}

/// Sends `conv`'s requests on one connection to `to`, reading a response after each;
/// returns the responses and the request heads a recording server added to `seen`
/// meanwhile. A closed connection ends the conversation early.
#[allow(dead_code)]
pub fn converse(
    to: SocketAddr,
    conv: &[String],
    seen: &Mutex<Vec<String>>,
) -> (Vec<String>, Vec<String>) {
    let before = seen.lock().unwrap().len();
    let mut c = TcpStream::connect(to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    let mut buf = Vec::new();
    for req in conv {
        c.write_all(req.as_bytes()).unwrap();
        // The answer to a HEAD has a length but no body.
        let got_one = if req.starts_with("HEAD ") {
            read_http_head(&mut c, &mut buf)
        } else {
            read_http_message(&mut c, &mut buf)
        };
        match got_one {
            Some(r) => got.push(String::from_utf8_lossy(&r).into_owned()),
            None => break,
        }
    }
    thread::sleep(Duration::from_millis(30));
    let srv = seen.lock().unwrap()[before..].to_vec();
    (got, srv)
}

/// Per conversation: the responses and the request heads the server saw.
#[allow(dead_code)]
pub type Exchanges = Vec<(Vec<String>, Vec<String>)>;

/// Runs each conversation (address, requests) on its own connection, then gives the
/// proxy's log lines a moment to arrive: the exchanges and the lines.
#[allow(dead_code)]
pub fn converse_all(
    p: &Proxy,
    convs: impl IntoIterator<Item = (SocketAddr, Vec<String>)>,
    seen: &Mutex<Vec<String>>,
) -> (Exchanges, Vec<String>) {
    let out = convs
        .into_iter()
        .map(|(to, c)| converse(to, &c, seen))
        .collect();
    thread::sleep(Duration::from_millis(300));
    let lines = p.lines.lock().unwrap().clone();
    (out, lines)
}

/// The same responses, server-side heads and `option httplog` lines (masked) from both
/// proxies; `labels` name the conversations in the messages.
#[allow(dead_code)]
pub fn assert_same_exchanges<T: std::fmt::Debug>(
    (want, want_log): (&Exchanges, &[String]),
    (got, got_log): (&Exchanges, &[String]),
    labels: &[T],
) {
    assert_eq!(want.len(), got.len());
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        assert_eq!(g.0, w.0, "responses to {:?}", labels[i]);
        assert_eq!(g.1, w.1, "what the server saw for {:?}", labels[i]);
    }
    let mask = |l: &[String]| l.iter().map(|l| mask_httplog(l)).collect::<Vec<_>>();
    assert_eq!(mask(got_log), mask(want_log), "log lines differ");
}

/// An `option httplog` line without what differs between runs: the client port, the
/// date and the timers.
pub fn mask_httplog(l: &str) -> String {
    l.split(' ')
        .map(|w| {
            if w.starts_with('[') {
                "[DATE]".to_string()
            } else if w.starts_with("127.0.0.1:") {
                "CLIENT".to_string()
            } else if w.split('/').count() == 5 && w.split('/').all(|t| t.parse::<i64>().is_ok()) {
                "T".to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One HTTP comparison: a recording server at `server` answering `resp`, then `cfg` run
/// by haproxy and by haproxide (ready when `probe` accepts), each conversation sent to
/// `to` on its own connection. Asserts both gave the same responses, server-side heads
/// and log lines, and that haproxy's text holds each of `wants`; gives haproxy's log.
#[allow(dead_code)]
pub fn compare_http(
    (tag, cfg): (&str, &str),
    (probe, to): (&str, &str),
    convs: &[Vec<String>],
    (server, resp): (&str, &'static str),
    wants: &[&str],
) -> Vec<String> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _s = recording_server(server, seen.clone(), resp);
    let to: SocketAddr = to.parse().unwrap();
    let run = |which: Which| {
        let p = start(which, tag, cfg, probe.parse().unwrap());
        converse_all(&p, convs.iter().map(|c| (to, c.clone())), &seen)
    };
    let (want, want_log) = run(Which::Haproxy);
    let (got, got_log) = run(Which::Haproxide);
    assert_same_exchanges((&want, &want_log), (&got, &got_log), convs);
    let all: String = want
        .iter()
        .flat_map(|(r, s)| r.iter().chain(s))
        .cloned()
        .collect();
    for s in wants {
        assert!(all.contains(s), "{s:?} in {all}");
    }
    want_log
}

/// "Health check for server b/s …" lines, first one per server, durations masked.
#[allow(dead_code)]
pub fn health_lines(lines: &[String], names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter_map(|s| {
            lines
                .iter()
                .find(|l| l.starts_with("Health check") && l.contains(&format!("/{s} ")))
        })
        .map(|l| mask_duration(l))
        .collect()
}

/// The real openssl's TLS server at `addr` with certificate `pem`, `flags` (such as
/// `-www`) and `extra` options, the last taking `pem` too when `extra` is not empty
/// (a second certificate), ready. Stopped by the caller, by PID.
#[allow(dead_code)]
pub fn s_server(addr: &str, pem: &std::path::Path, flags: &[&str], extra: &[&str]) -> Child {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-quiet", "-accept", addr])
        .args(flags)
        .arg("-cert")
        .arg(pem);
    if !extra.is_empty() {
        cmd.args(extra).arg(pem);
    }
    let child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl (./run-tests installs it)");
    wait_port(addr);
    child
}

/// Waits (at most 5 s) until no server of any proxy has a session left (`scur` 0):
/// messages that count sessions then do not depend on how fast the last connection was
/// torn down.
#[allow(dead_code)]
pub fn settle(sock: &std::path::Path) {
    let t0 = Instant::now();
    while ask(sock, "show stat").lines().skip(1).any(|l| {
        l.split(',')
            .nth(4)
            .is_some_and(|n| n != "0" && !n.is_empty())
    }) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "sessions never ended"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (at most 5 s) until server `sv`'s `show stat` status is `want`.
#[allow(dead_code)]
pub fn wait_status(sock: &std::path::Path, sv: &str, want: &str) {
    let t0 = Instant::now();
    loop {
        let st = stat_field(&ask(sock, "show stat"), sv, "status");
        if st == want {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{sv} never {want} (still {st})"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
