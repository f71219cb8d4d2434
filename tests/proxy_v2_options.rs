//! PROXY v2 TLVs sent to servers, compared with the real haproxy byte for byte: the SSL
//! TLV and its sub-TLVs (version, client certificate CN, the served certificate's key and
//! signature algorithm, the cipher), ALPN, authority (the SNI, or the one a received
//! header carried), the unique id and the CRC32C; and received headers whose TLVs are bad,
//! refused as haproxy refuses them. Certificates are made by openssl at test time.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::certs::{dir, make_cert, make_ec_cert, s_client};
use common::{start, Which};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Sends `DATA` through `openssl s_client` (what a device's TLS stack would do), then
/// lets the proxy pass it on.
fn send_tls(to: &str, extra: &[&str]) {
    let mut args = vec!["s_client", "-connect", to, "-quiet"];
    args.extend_from_slice(extra);
    let mut c = Command::new("openssl")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let _ = stdin.write_all(b"DATA\n");
    thread::sleep(Duration::from_millis(700));
    drop(stdin);
    let _ = c.kill();
    let _ = c.wait();
}

/// Records what each connection sends: until `DATA\n`, or, as an HTTP server (`http`),
/// its PROXY header (the bytes before the first request), answering every request.
fn recorder(a: &str, http: bool) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let l = TcpListener::bind(a).unwrap();
    let rec = Arc::new(Mutex::new(Vec::new()));
    let r = rec.clone();
    let first_request = |got: &[u8]| got.windows(4).position(|w| w == b"GET ");
    thread::spawn(move || {
        for c in l.incoming().take(16) {
            let Ok(mut c) = c else { continue };
            let r2 = r.clone();
            thread::spawn(move || {
                let idle = Duration::from_millis(if http { 800 } else { 500 });
                c.set_read_timeout(Some(idle)).unwrap();
                let (mut got, mut answered) = (Vec::new(), 0);
                let mut b = [0u8; 1024];
                while let Ok(n) = c.read(&mut b) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&b[..n]);
                    if !http {
                        if got.ends_with(b"DATA\n") {
                            break;
                        }
                        continue;
                    }
                    // Counted from the request: the PROXY signature has a blank line too.
                    let asked = first_request(&got).map_or(0, |at| {
                        got[at..].windows(4).filter(|w| w == b"\r\n\r\n").count()
                    });
                    for _ in answered..asked {
                        let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                    }
                    answered = asked;
                }
                if http {
                    got.truncate(first_request(&got).unwrap_or(got.len()));
                }
                r2.lock().unwrap().push(got);
            });
        }
    });
    rec
}

#[test]
fn client_certs_and_proxy_v2_tlvs_match_haproxy() {
    let d = dir("mtls");
    make_cert(&d, "srv", "emqx.test");
    make_cert(&d, "dev", "client1");
    let (pem, ca) = (d.join("srv.pem"), d.join("ca.crt"));
    let mut runs = Vec::new();
    for (k, w) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let up = format!("127.0.122.{}", 2 + k);
        let rec = recorder(&format!("{up}:24001"), false);
        let cfg = format!(
            "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen req\n  bind 127.0.122.1:24000 ssl crt {p} ca-file {ca} verify required\n  server s {up}:24001 send-proxy-v2-ssl-cn\n\
listen opt\n  bind 127.0.122.1:24002 ssl crt {p} ca-file {ca} verify optional alpn mqtt\n  server s {up}:24001 send-proxy-v2-ssl\n",
            p = pem.display(),
            ca = ca.display()
        );
        let p = start(w, "mtls", &cfg, addr("127.0.122.1:24002"));
        let cert = [
            "-cert",
            d.join("dev.crt").to_str().unwrap().to_string().leak(),
            "-key",
            d.join("dev.key").to_str().unwrap().to_string().leak(),
        ];
        // TLS 1.2: the refusal happens inside the handshake the client reports on.
        let no_cert = s_client("127.0.122.1:24000", &["-tls1_2"]);
        // With a certificate: send a line so the server side sees header + data.
        let cert = [&["-tls1_3"][..], &cert].concat();
        send_tls("127.0.122.1:24000", &cert);
        send_tls("127.0.122.1:24002", &["-tls1_3", "-alpn", "mqtt"]);
        thread::sleep(Duration::from_millis(300));
        drop(p);
        // Headers only (the data is the same), with the client port masked.
        let mut headers: Vec<Vec<u8>> = rec
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b.starts_with(b"\r\n\r\n\0\r\nQUIT\n"))
            .map(|b| {
                let mut h = b[..b.len().saturating_sub(5)].to_vec();
                if h.len() >= 28 {
                    h[24] = 0;
                    h[25] = 0;
                    h[20..24].copy_from_slice(&[0, 0, 0, 0]);
                }
                h
            })
            .collect();
        headers.sort();
        runs.push((no_cert == "FAILED", headers));
    }
    assert_eq!(runs[1], runs[0]);
    assert!(
        runs[0].0,
        "verify required refuses a client without certificate"
    );
    assert_eq!(runs[0].1.len(), 2, "{:?}", runs[0].1);
    let all: Vec<u8> = runs[0].1.concat();
    assert!(
        all.windows(7).any(|w| w == b"client1"),
        "the CN TLV carries the certificate's CN"
    );
    assert!(all.windows(4).any(|w| w == b"mqtt"), "the ALPN TLV");
}

/// CRC-32C (Castagnoli), to check the headers' checksums independently.
fn crc32c(b: &[u8]) -> u32 {
    let mut h = !0u32;
    for &c in b {
        h ^= u32::from(c);
        for _ in 0..8 {
            h = (h >> 1) ^ if h & 1 != 0 { 0x82f6_3b78 } else { 0 };
        }
    }
    !h
}

/// Where the value of a header's CRC32C TLV is (an IPv4 header's TLVs start at 28).
fn crc_at(h: &[u8]) -> Option<usize> {
    let mut at = 28;
    while at + 3 <= h.len() {
        let len = u16::from_be_bytes([h[at + 1], h[at + 2]]) as usize;
        if h[at] == 0x03 {
            return Some(at + 3);
        }
        at += 3 + len;
    }
    None
}

/// A v2 header as a client-side balancer would send it: 127.0.0.9:40000 to
/// 127.0.134.1:26002 with `tlvs`, the CRC32C TLV (if any) filled in unless `bad_crc`.
fn header_with(tlvs: &[u8], bad_crc: bool) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\0\0".to_vec();
    h.extend_from_slice(&[127, 0, 0, 9, 127, 0, 134, 1]);
    h.extend_from_slice(&40000u16.to_be_bytes());
    h.extend_from_slice(&26002u16.to_be_bytes());
    h.extend_from_slice(tlvs);
    let len = (h.len() - 16) as u16;
    h[14..16].copy_from_slice(&len.to_be_bytes());
    if let Some(at) = crc_at(&h) {
        let crc = crc32c(&h) ^ u32::from(bad_crc);
        h[at..at + 4].copy_from_slice(&crc.to_be_bytes());
    }
    h
}

#[test]
fn every_proxy_v2_option_matches_haproxy() {
    let d = dir("pp2opts");
    make_cert(&d, "rsa", "emqx.test");
    make_ec_cert(&d, "ec", "ec.test");
    let authority = [&[0x02, 0, 9][..], b"auth.test"].concat();
    let crc = [0x03, 0, 4, 0, 0, 0, 0];
    let mut runs = Vec::new();
    for (k, w) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let up = format!("127.0.134.{}", 2 + k);
        let rec = recorder(&format!("{up}:26001"), false);
        let cfg = format!(
            "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend tls\n  bind 127.0.134.1:26000 ssl crt {rsa} crt {ec}\n\
  unique-id-format %{{+X}}o\\ %fi:%fp_%ci\n  default_backend all\n\
backend all\n  server s {up}:26001 send-proxy-v2 \
proxy-v2-options ssl-cipher,cert-sig,cert-key,authority,crc32c,unique-id\n\
frontend relayed\n  bind 127.0.134.1:26002 accept-proxy\n  default_backend some\n\
backend some\n  server s {up}:26001 send-proxy-v2 proxy-v2-options ssl,authority,crc32c,unique-id\n",
            rsa = d.join("rsa.pem").display(),
            ec = d.join("ec.pem").display(),
        );
        let p = start(w, "pp2opts", &cfg, addr("127.0.134.1:26000"));
        // The RSA certificate (by name), the EC one (by name), the default one over TLS 1.2.
        send_tls("127.0.134.1:26000", &["-servername", "emqx.test"]);
        send_tls("127.0.134.1:26000", &["-servername", "ec.test"]);
        send_tls("127.0.134.1:26000", &["-tls1_2", "-noservername"]);
        // Relayed: the authority received goes on; a wrong CRC, an authority over 255
        // bytes and a TLV past the header's end are refused.
        let long = [&[0x02, 1, 0][..], &[b'a'; 256]].concat();
        for h in [
            header_with(&[&crc[..], &authority].concat(), false),
            header_with(&[&crc[..], &authority].concat(), true),
            header_with(&long, false),
            header_with(&[0x04, 0, 9, 1], false),
        ] {
            let mut c = TcpStream::connect("127.0.134.1:26002").unwrap();
            let _ = c.write_all(&[&h[..], b"DATA\n"].concat());
            thread::sleep(Duration::from_millis(300));
        }
        thread::sleep(Duration::from_millis(300));
        drop(p);
        // Each checksum must hold; then the client port and the checksum are masked.
        let mut headers: Vec<Vec<u8>> = rec
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                let mut h = b[..b.len().saturating_sub(5)].to_vec();
                if let Some(at) = crc_at(&h) {
                    let sent = h[at..at + 4].to_vec();
                    h[at..at + 4].fill(0);
                    assert_eq!(crc32c(&h).to_be_bytes().to_vec(), sent, "{w:?}: CRC32C");
                }
                if h.len() >= 28 {
                    h[24..26].fill(0);
                }
                h
            })
            .collect();
        headers.sort();
        runs.push(headers);
    }
    let show = |r: &Vec<Vec<u8>>| -> Vec<String> {
        r.iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect()
    };
    assert_eq!(show(&runs[1]), show(&runs[0]));
    assert_eq!(runs[1], runs[0]);
    assert_eq!(
        runs[0].len(),
        4,
        "three TLS clients and one relayed: {:?}",
        show(&runs[0])
    );
    let all = String::from_utf8_lossy(&runs[0].concat()).into_owned();
    for want in [
        "RSA2048",
        "RSA-SHA256",
        "EC256",
        "ecdsa-with-SHA256",
        "TLS_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "emqx.test",
        "auth.test",
        "7F000001",
    ] {
        assert!(all.contains(want), "{want} in {all:?}");
    }
}

/// In HTTP mode a session's server connection carrying a unique id in its PROXY header
/// is reused only by a request with the same id (haproxy keys connections by the
/// header's bytes); `proxy-v2-options` without `send-proxy-v2` sends a v1 line.
#[test]
fn unique_id_keys_reuse_and_options_alone_send_v1_as_haproxy() {
    let mut runs = Vec::new();
    for (k, w) in [Which::Haproxy, Which::Haproxide].into_iter().enumerate() {
        let up = format!("127.0.134.{}", 4 + k);
        let rec = recorder(&format!("{up}:26003"), true);
        let cfg = format!(
            "defaults\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend per_request\n  mode http\n  bind 127.0.134.1:26004\n\
  unique-id-format %{{+X}}o\\ %ci_%rt\n  default_backend b1\n\
backend b1\n  mode http\n  server s {up}:26003 send-proxy-v2 proxy-v2-options unique-id\n\
frontend per_client\n  mode http\n  bind 127.0.134.1:26005\n\
  unique-id-format %ci\n  default_backend b2\n\
backend b2\n  mode http\n  server s {up}:26003 send-proxy-v2 proxy-v2-options unique-id\n\
listen alone\n  mode tcp\n  bind 127.0.134.1:26006\n  server s {up}:26003 proxy-v2-options ssl,crc32c\n"
        );
        let p = start(w, "pp2reuse", &cfg, addr("127.0.134.1:26006"));
        for port in [26004, 26005] {
            let mut c = TcpStream::connect(("127.0.134.1", port)).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            for path in ["/1", "/2"] {
                let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
                c.write_all(req.as_bytes()).unwrap();
                let mut b = [0u8; 256];
                let n = c.read(&mut b).unwrap_or(0);
                assert!(b[..n].starts_with(b"HTTP/1.1 200"), "{w:?}: {:?}", &b[..n]);
            }
        }
        let mut c = TcpStream::connect("127.0.134.1:26006").unwrap();
        c.write_all(b"GET /3 HTTP/1.0\r\n\r\n").unwrap();
        thread::sleep(Duration::from_millis(1200));
        drop(p);
        // The headers each server connection began with, client ports masked (the ids
        // hold no port: the stream counter and the client address only).
        let mut headers: Vec<String> = rec
            .lock()
            .unwrap()
            .iter()
            .map(|h| {
                let mut h = h.clone();
                if h.starts_with(b"PROXY ") {
                    let t = String::from_utf8_lossy(&h).into_owned();
                    let f: Vec<&str> = t.split(' ').collect();
                    return format!("{} {} {} port {}", f[0], f[1], f[2], f[5]);
                }
                if h.len() >= 28 {
                    h[24..26].fill(0);
                }
                format!("{h:02x?}")
            })
            .collect();
        headers.sort();
        runs.push(headers);
    }
    assert_eq!(runs[1], runs[0], "haproxide (left), haproxy (right)");
    // Two connections for the two ids of one session, one for the session whose id
    // does not change, and the v1 lines (the readiness probe's connection and the
    // request's).
    assert_eq!(runs[0].len(), 5, "{:?}", runs[0]);
    assert!(
        runs[0]
            .iter()
            .any(|h| h.starts_with("PROXY TCP4 127.0.0.1 port")),
        "{:?}",
        runs[0]
    );
}
