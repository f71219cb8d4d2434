//! Load generator and fake servers for benches/*.sh (loopback only, bounded in time).
//!
//!   haproxide-loadgen serve ADDR echo|sink        a server (runs until killed)
//!   haproxide-loadgen conn ADDR SECS CONCURRENCY   new connection, 64 B each way, close
//!   haproxide-loadgen bulk ADDR SECS STREAMS       stream 64 KiB writes to a sink
//!   haproxide-loadgen idle ADDR COUNT HOLD_SECS    open COUNT connections from many 127.x sources, hold
//!   haproxide-loadgen tls ADDR SECS CONCURRENCY V  full TLS handshakes (V = 12 or 13), no resumption
//!   haproxide-loadgen tlsidle ADDR COUNT HOLD_SECS open COUNT TLS connections, handshake, hold
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
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
        "idle" => rt.block_on(idle(addr, num(3), num(4))),
        "tls" => rt.block_on(tls(addr, num(3), num(4), num(5))),
        "tlsidle" => rt.block_on(tls_idle(addr, num(3), num(4))),
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

async fn conn(addr: SocketAddr, secs: u64, n: u64) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..n {
        let (done, errors) = (done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let src = SocketAddr::new(
                format!("127.0.{}.{}", 200 + i % 50, 1 + i % 200)
                    .parse()
                    .expect("ip"),
                0,
            );
            let msg = [b'm'; 64];
            let mut back = [0u8; 64];
            while Instant::now() < end {
                let ok = async {
                    let s = TcpSocket::new_v4()?;
                    s.bind(src)?;
                    let mut c = s.connect(addr).await?;
                    c.set_nodelay(true)?;
                    c.write_all(&msg).await?;
                    c.read_exact(&mut back).await?;
                    Ok::<_, std::io::Error>(())
                }
                .await;
                match ok {
                    Ok(()) => done.fetch_add(1, Relaxed),
                    Err(_) => errors.fetch_add(1, Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "RESULT conn_per_s {:.0}",
        done.load(Relaxed) as f64 / secs as f64
    );
    println!("RESULT errors {}", errors.load(Relaxed));
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

async fn idle(addr: SocketAddr, count: u64, hold: u64) {
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
            s.connect(addr).await
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
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let v: &[&rustls::SupportedProtocolVersion] = if version == 12 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(v)
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    // Full handshakes only: no session cache, no tickets.
    cfg.resumption = rustls::client::Resumption::disabled();
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
                if conn.connect(name.clone(), tcp).await.is_ok() {
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
