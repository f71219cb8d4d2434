//! Load generator and fake servers for benches/*.sh (loopback only, bounded in time).
//!
//!   haproxide-loadgen serve ADDR echo|sink        a server (runs until killed)
//!   haproxide-loadgen conn ADDR SECS CONCURRENCY   new connection, 64 B each way, close
//!   haproxide-loadgen bulk ADDR SECS STREAMS       stream 64 KiB writes to a sink
//!   haproxide-loadgen idle ADDR COUNT HOLD_SECS    open COUNT connections from many 127.x sources, hold
//!   haproxide-loadgen httpidle ADDR COUNT HOLD_SECS  the same, each after one HTTP/1.1 GET and
//!                                                  its whole response (idle keep-alive clients)
//!   haproxide-loadgen tls ADDR SECS CONCURRENCY V  full TLS handshakes (V = 12 or 13), no resumption,
//!                                                  then one byte each way through an echo server
//!   haproxide-loadgen tlsidle ADDR COUNT HOLD_SECS open COUNT TLS connections, handshake, hold
//!   haproxide-loadgen tlsresume ADDR SECS CONCURRENCY V  resumed TLS handshakes (tickets/cache)
//!   haproxide-loadgen mqttconn ADDR SECS CONCURRENCY MQTT CONNECT, CONNACK, DISCONNECT, close
//!   haproxide-loadgen mqttlat ADDR SECS RATE       publish QoS 0 at RATE/s, subscriber on the
//!                                                  same broker through ADDR: p50/p99 latency
//!
//! Prints one line `RESULT <metric> <value>` for the script to read.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

mod any_cert;
use any_cert::AnyCert;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: haproxide-loadgen serve ADDR echo|sink | conn ADDR SECS N | bulk ADDR SECS N | idle ADDR COUNT HOLD");
        std::process::exit(64)
    };
    if a.len() < 4 {
        usage();
    }
    let addr: SocketAddr = a[2].parse().unwrap_or_else(|_| usage());
    assert!(addr.ip().is_loopback(), "loopback only");
    // The full-handshake clients run on a single-threaded scheduler: less of the generator's
    // one core goes to scheduling, so it can outrun the proxy it measures.
    let rt = if a[1] == "tls" {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(1);
        b
    }
    .enable_all()
    .build()
    .expect("runtime");
    let num = |i: usize| -> u64 {
        a.get(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage())
    };
    match a[1].as_str() {
        "serve" => rt.block_on(serve(addr, a[3] == "echo")),
        "conn" => rt.block_on(conn(addr, num(3), num(4))),
        "bulk" => rt.block_on(bulk(addr, num(3), num(4))),
        "idle" => rt.block_on(idle(addr, num(3), num(4), false)),
        "httpidle" => rt.block_on(idle(addr, num(3), num(4), true)),
        "tls" => rt.block_on(tls(addr, num(3), num(4), num(5))),
        "tlsidle" => rt.block_on(tls_idle(addr, num(3), num(4))),
        "tlsresume" => rt.block_on(tls_resume(addr, num(3), num(4), num(5))),
        "mqttconn" => rt.block_on(mqtt_conn(addr, num(3), num(4))),
        "mqttlat" => rt.block_on(mqtt_latency(addr, num(3), num(4))),
        _ => usage(),
    }
}

async fn serve(addr: SocketAddr, echo: bool) {
    let s = TcpSocket::new_v4().expect("socket");
    s.set_reuseaddr(true).expect("reuseaddr");
    s.bind(addr).expect("bind");
    let l: TcpListener = s.listen(8192).expect("listen");
    loop {
        let Ok((mut c, _)) = l.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                match c.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if echo && c.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
}

/// Runs `n` clients, each from its own 127.x source address, repeating `one(client, source,
/// attempt)` until `secs` have passed; returns how many attempts succeeded and failed.
async fn repeat_clients<F, Fut>(n: u64, secs: u64, one: F) -> (u64, u64)
where
    F: Fn(u64, SocketAddr, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..n {
        let (done, errors, one) = (done.clone(), errors.clone(), one.clone());
        tasks.push(tokio::spawn(async move {
            let src = SocketAddr::new(
                format!("127.0.{}.{}", 200 + i % 50, 1 + i % 200)
                    .parse()
                    .expect("ip"),
                0,
            );
            let mut k = 0u64;
            while Instant::now() < end {
                k += 1;
                match one(i, src, k).await {
                    Ok(()) => done.fetch_add(1, Relaxed),
                    Err(_) => errors.fetch_add(1, Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (done.load(Relaxed), errors.load(Relaxed))
}

async fn conn(addr: SocketAddr, secs: u64, n: u64) {
    let (done, errors) = repeat_clients(n, secs, move |_, src, _| async move {
        let s = TcpSocket::new_v4()?;
        s.bind(src)?;
        let mut c = s.connect(addr).await?;
        c.set_nodelay(true)?;
        c.write_all(&[b'm'; 64]).await?;
        c.read_exact(&mut [0u8; 64]).await?;
        Ok(())
    })
    .await;
    println!("RESULT conn_per_s {:.0}", done as f64 / secs as f64);
    println!("RESULT errors {errors}");
}

async fn bulk(addr: SocketAddr, secs: u64, n: u64) {
    let bytes = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let bytes = bytes.clone();
        tasks.push(tokio::spawn(async move {
            let Ok(mut c) = TcpStream::connect(addr).await else {
                return;
            };
            let buf = vec![7u8; 65536];
            while Instant::now() < end {
                if c.write_all(&buf).await.is_err() {
                    break;
                }
                bytes.fetch_add(buf.len() as u64, Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "RESULT gbit_per_s {:.2}",
        bytes.load(Relaxed) as f64 * 8.0 / secs as f64 / 1e9
    );
}

/// Sends a GET and reads its whole response (content-length framed).
async fn one_get(c: &mut TcpStream) -> std::io::Result<()> {
    c.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        .await?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = c.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(h) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..h]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= h + 4 + len {
                return Ok(());
            }
        }
    }
}

async fn idle(addr: SocketAddr, count: u64, hold: u64, http: bool) {
    let mut held = Vec::new();
    let mut failed = 0;
    for i in 0..count {
        let src = SocketAddr::new(
            format!("127.0.{}.{}", 200 + i % 50, 1 + (i / 50) % 200)
                .parse()
                .expect("ip"),
            0,
        );
        let r = async {
            let s = TcpSocket::new_v4()?;
            s.bind(src)?;
            let mut c = s.connect(addr).await?;
            if http {
                one_get(&mut c).await?;
            }
            Ok::<_, std::io::Error>(c)
        }
        .await;
        match r {
            Ok(c) => held.push(c),
            Err(_) => failed += 1,
        }
    }
    println!("RESULT opened {}", held.len());
    println!("RESULT failed {failed}");
    // The script samples the proxy's RSS now.
    println!("READY");
    tokio::time::sleep(Duration::from_secs(hold)).await;
    drop(held);
}

fn connector(version: u64) -> tokio_rustls::TlsConnector {
    connector_with(version, false)
}

/// X25519 with one key pair for the generator's whole run: the proxy still makes a fresh
/// key share for each handshake, and the generator saves a key generation per handshake.
struct ReusedX25519(Arc<aws_lc_rs::agreement::PrivateKey>, Vec<u8>);

impl std::fmt::Debug for ReusedX25519 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReusedX25519")
    }
}

impl ReusedX25519 {
    fn new() -> Self {
        let k = aws_lc_rs::agreement::PrivateKey::generate(&aws_lc_rs::agreement::X25519)
            .expect("X25519 key");
        let public = k.compute_public_key().expect("X25519 public key");
        let public = public.as_ref().to_vec();
        Self(Arc::new(k), public)
    }
}

impl rustls::crypto::SupportedKxGroup for ReusedX25519 {
    fn start(&self) -> Result<Box<dyn rustls::crypto::ActiveKeyExchange>, rustls::Error> {
        Ok(Box::new(ReusedX25519(self.0.clone(), self.1.clone())))
    }
    fn name(&self) -> rustls::NamedGroup {
        rustls::NamedGroup::X25519
    }
}

impl rustls::crypto::ActiveKeyExchange for ReusedX25519 {
    fn complete(
        self: Box<Self>,
        peer: &[u8],
    ) -> Result<rustls::crypto::SharedSecret, rustls::Error> {
        let peer =
            aws_lc_rs::agreement::UnparsedPublicKey::new(&aws_lc_rs::agreement::X25519, peer);
        aws_lc_rs::agreement::agree(
            &self.0,
            peer,
            rustls::Error::from(rustls::PeerMisbehaved::InvalidKeyShare),
            |s| Ok(rustls::crypto::SharedSecret::from(s)),
        )
    }
    fn pub_key(&self) -> &[u8] {
        &self.1
    }
    fn group(&self) -> rustls::NamedGroup {
        rustls::NamedGroup::X25519
    }
}

/// The full-handshake client's verifier: it skips the server's signature, which the proxy
/// makes either way. The generator has one core like the proxy; checking an ECDSA signature
/// costs more than making one, so with the check the generator, not the proxy, set the pace.
#[derive(Debug)]
struct NoSignatureCheck(AnyCert);

type Cert<'a> = rustls::pki_types::CertificateDer<'a>;
type Signed = rustls::DigitallySignedStruct;
type SigResult = Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>;

impl rustls::client::danger::ServerCertVerifier for NoSignatureCheck {
    fn verify_server_cert(
        &self,
        e: &rustls::pki_types::CertificateDer<'_>,
        i: &[rustls::pki_types::CertificateDer<'_>],
        n: &rustls::pki_types::ServerName<'_>,
        o: &[u8],
        t: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.0.verify_server_cert(e, i, n, o, t)
    }
    fn verify_tls12_signature(&self, _: &[u8], _: &Cert<'_>, _: &Signed) -> SigResult {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(&self, _: &[u8], _: &Cert<'_>, _: &Signed) -> SigResult {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

fn connector_with(version: u64, resume: bool) -> tokio_rustls::TlsConnector {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !resume {
        // X25519 first, as rustls offers it; the NIST curves stay listed because a TLS 1.2
        // server may only pick ECDSA P-256 certificates for clients that list P-256.
        let reused: &'static dyn rustls::crypto::SupportedKxGroup =
            Box::leak(Box::new(ReusedX25519::new()));
        provider
            .kx_groups
            .retain(|g| g.name() != rustls::NamedGroup::X25519);
        provider.kx_groups.insert(0, reused);
        // The proxy's faster key schedule on the client side too: a cheaper client.
        for s in provider.cipher_suites.iter_mut() {
            *s = haproxide::runtime::tls::hkdf::faster(*s);
        }
    }
    let provider = std::sync::Arc::new(provider);
    let v: &[&rustls::SupportedProtocolVersion] = if version == 12 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(v)
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(if resume {
            std::sync::Arc::new(AnyCert(provider)) as _
        } else {
            std::sync::Arc::new(NoSignatureCheck(AnyCert(provider))) as _
        })
        .with_no_client_auth();
    if !resume {
        // Full handshakes only: no session cache, no tickets.
        cfg.resumption = rustls::client::Resumption::disabled();
    }
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
}

async fn tls(addr: SocketAddr, secs: u64, n: u64, version: u64) {
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let conn = connector(version);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (done, conn) = (done.clone(), conn.clone());
        tasks.push(tokio::spawn(async move {
            let name = rustls::pki_types::ServerName::try_from("bench.test").expect("name");
            while Instant::now() < end {
                let Ok(tcp) = TcpStream::connect(addr).await else {
                    continue;
                };
                let Ok(mut c) = conn.connect(name.clone(), tcp).await else {
                    continue;
                };
                // One byte each way through the echo server behind the proxy, so that
                // both proxies open the server connection: haproxy never connects when
                // the client closes right after a TLS 1.3 handshake (it logs a
                // connection error instead), which would measure less work for it.
                let mut b = [0u8; 1];
                if c.write_all(b"h").await.is_ok() && c.read_exact(&mut b).await.is_ok() {
                    done.fetch_add(1, Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "RESULT handshakes_per_s {:.0}",
        done.load(Relaxed) as f64 / secs as f64
    );
}

async fn tls_idle(addr: SocketAddr, count: u64, hold: u64) {
    let conn = connector(13);
    let name = rustls::pki_types::ServerName::try_from("bench.test").expect("name");
    let mut held = Vec::new();
    for i in 0..count {
        let src = SocketAddr::new(
            format!("127.0.{}.{}", 200 + i % 50, 1 + (i / 50) % 200)
                .parse()
                .expect("ip"),
            0,
        );
        let r = async {
            let s = TcpSocket::new_v4()?;
            s.bind(src)?;
            let tcp = s.connect(addr).await?;
            conn.connect(name.clone(), tcp).await
        }
        .await;
        if let Ok(c) = r {
            held.push(c);
        }
    }
    println!("RESULT opened {}", held.len());
    println!("READY");
    tokio::time::sleep(Duration::from_secs(hold)).await;
    drop(held);
}

/// Each client makes one full handshake, then resumes (TLS 1.3 tickets or the TLS 1.2 session
/// cache) in a loop, one byte each way through an echo server; only handshakes the client
/// saw resumed are counted.
async fn tls_resume(addr: SocketAddr, secs: u64, n: u64, version: u64) {
    let done = Arc::new(AtomicU64::new(0));
    let full = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (done, full) = (done.clone(), full.clone());
        // One connector per client: its session cache holds that client's tickets.
        let conn = connector_with(version, true);
        tasks.push(tokio::spawn(async move {
            let name = rustls::pki_types::ServerName::try_from("bench.test").expect("name");
            while Instant::now() < end {
                let Ok(tcp) = TcpStream::connect(addr).await else {
                    continue;
                };
                let Ok(mut c) = conn.connect(name.clone(), tcp).await else {
                    continue;
                };
                // TLS 1.3 tickets arrive after the handshake: one byte through the echo
                // server behind the proxy comes back after them.
                let mut b = [0u8; 1];
                if c.write_all(b"r").await.is_err() || c.read_exact(&mut b).await.is_err() {
                    continue;
                }
                match c.get_ref().1.handshake_kind() {
                    Some(rustls::HandshakeKind::Resumed) => done.fetch_add(1, Relaxed),
                    _ => full.fetch_add(1, Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "RESULT resumptions_per_s {:.0}",
        done.load(Relaxed) as f64 / secs as f64
    );
    println!("RESULT full_handshakes {}", full.load(Relaxed));
}

/// Reads one MQTT packet: its first byte and its body.
async fn mqtt_read(c: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let kind = c.read_u8().await?;
    let (mut len, mut mul) = (0usize, 1usize);
    loop {
        let b = c.read_u8().await?;
        len += (b & 0x7f) as usize * mul;
        if b & 0x80 == 0 {
            break;
        }
        mul *= 128;
    }
    let mut body = vec![0u8; len];
    c.read_exact(&mut body).await?;
    Ok((kind, body))
}

async fn mqtt_session(addr: SocketAddr, src: SocketAddr, id: &str) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(src)?;
    let mut c = s.connect(addr).await?;
    c.set_nodelay(true)?;
    c.write_all(&haproxide::runtime::proto::mqtt::connect_packet(id))
        .await?;
    let (kind, body) = mqtt_read(&mut c).await?;
    if kind != 0x20 || body != [0, 0] {
        return Err(std::io::Error::other("no CONNACK"));
    }
    Ok(c)
}

/// CONNECT/CONNACK then DISCONNECT and close, from CONCURRENCY clients in a loop.
async fn mqtt_conn(addr: SocketAddr, secs: u64, n: u64) {
    let (done, errors) = repeat_clients(n, secs, move |i, src, k| async move {
        let mut c = mqtt_session(addr, src, &format!("b{i}-{k}")).await?;
        c.write_all(&[0xe0, 0x00]).await
    })
    .await;
    println!("RESULT connack_per_s {:.0}", done as f64 / secs as f64);
    println!("RESULT errors {errors}");
}

/// A subscriber and a publisher, both through the proxy to the same broker; the publisher
/// sends QoS 0 messages carrying their send time at a fixed rate, the subscriber measures
/// publish-to-receive latency.
async fn mqtt_latency(addr: SocketAddr, secs: u64, rate: u64) {
    let any = |h: u8| SocketAddr::new(format!("127.0.199.{h}").parse().expect("ip"), 0);
    let t0 = Instant::now();
    let mut sub = mqtt_session(addr, any(1), "bench-sub")
        .await
        .expect("subscriber");
    let topic = b"bench/latency";
    let mut s = vec![0x82, (2 + 2 + topic.len() + 1) as u8, 0x00, 0x01];
    s.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    s.extend_from_slice(topic);
    s.push(0);
    sub.write_all(&s).await.expect("subscribe");
    let (kind, _) = mqtt_read(&mut sub).await.expect("suback");
    assert_eq!(kind, 0x90, "SUBACK");
    let mut publ = mqtt_session(addr, any(2), "bench-pub")
        .await
        .expect("publisher");
    let total = secs * rate;
    let reader = tokio::spawn(async move {
        let mut lat = Vec::with_capacity(total as usize);
        let deadline = Instant::now() + Duration::from_secs(secs + 2);
        while (lat.len() as u64) < total && Instant::now() < deadline {
            let Ok(Ok((kind, body))) =
                tokio::time::timeout(Duration::from_secs(2), mqtt_read(&mut sub)).await
            else {
                break;
            };
            if kind & 0xf0 != 0x30 || body.len() < 8 {
                continue;
            }
            let sent = u64::from_be_bytes(body[body.len() - 8..].try_into().expect("8 bytes"));
            lat.push(t0.elapsed().as_nanos() as u64 - sent);
        }
        lat
    });
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    for _ in 0..total {
        tick.tick().await;
        let mut p = vec![0x30, (2 + topic.len() + 8) as u8];
        p.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        p.extend_from_slice(topic);
        p.extend_from_slice(&(t0.elapsed().as_nanos() as u64).to_be_bytes());
        if publ.write_all(&p).await.is_err() {
            break;
        }
    }
    let mut lat = reader.await.expect("reader");
    lat.sort_unstable();
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!("RESULT received {}", lat.len());
    println!("RESULT p50_us {:.1}", pct(0.50));
    println!("RESULT p99_us {:.1}", pct(0.99));
}
