//! Health checks and PROXY headers over loopback, compared with the real haproxy: the same
//! state-change and health lines, the same bytes on check and traffic connections, and
//! failover that takes a dead server out and brings it back.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{start, Which};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// What a recorder saw, and the switch that stops it.
type Recorder = (Arc<Mutex<Vec<Vec<u8>>>>, Arc<std::sync::atomic::AtomicBool>);

/// A server that records the first bytes (up to `want`, within 300 ms) of every connection;
/// `reply` is sent after reading.
fn recorder(a: &str, reply: Option<&'static [u8]>) -> Recorder {
    let l = TcpListener::bind(a).unwrap();
    l.set_nonblocking(true).unwrap();
    let rec = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (r2, s2) = (rec.clone(), stop.clone());
    thread::spawn(move || {
        while !s2.load(std::sync::atomic::Ordering::Relaxed) {
            match l.accept() {
                Ok((mut c, _)) => {
                    let r3 = r2.clone();
                    thread::spawn(move || {
                        c.set_nonblocking(false).unwrap();
                        c.set_read_timeout(Some(Duration::from_millis(300)))
                            .unwrap();
                        let mut got = Vec::new();
                        let mut b = [0u8; 256];
                        while let Ok(n) = c.read(&mut b) {
                            if n == 0 {
                                break;
                            }
                            got.extend_from_slice(&b[..n]);
                            if let Some(rep) = reply {
                                let _ = c.write_all(rep);
                            }
                        }
                        r3.lock().unwrap().push(got);
                    });
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (rec, stop)
}

fn normalise(lines: &[String]) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .filter(|l| {
            !l.contains("NOTICE")
                && !l.contains("<HTTPCLIENT>")
                && !l.contains("haproxide:")
                && !l.starts_with("Connect from")
        })
        .map(|l| {
            // Mask the PID and the check duration.
            let l = match (l.find('('), l.find(") :")) {
                (Some(a), Some(b)) if a < b && l.starts_with('[') => {
                    format!("{}(PID{}", &l[..a], &l[b..])
                }
                _ => l.clone(),
            };
            match l.find("check duration: ") {
                Some(i) => {
                    let rest = &l[i + 16..];
                    let end = rest.find("ms").unwrap_or(0);
                    format!("{}check duration: Nms{}", &l[..i], &rest[end + 2..])
                }
                None => l,
            }
        })
        .collect();
    v.sort();
    v
}

#[test]
fn check_messages_match_haproxy() {
    let cfg = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen li\n  bind 127.0.100.1:24000\n  server s1 127.0.100.2:24001 check inter 300 rise 2 fall 2\n  server s2 127.0.100.3:24001 check inter 300 backup\n\
listen lh\n  bind 127.0.100.1:24010\n  option log-health-checks\n  server t1 127.0.100.4:24001 check inter 300 rise 2 fall 2\n\
listen tc\n  bind 127.0.100.1:24020\n  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check expect string PONG\n  server u1 127.0.100.5:24001 check inter 300 rise 1 fall 1\n\
listen hc\n  bind 127.0.100.1:24030\n  option log-health-checks\n  option httpchk GET /health\n  server h1 127.0.100.6:24001 check inter 300 rise 1 fall 1\n  server h2 127.0.100.7:24001 check inter 300 rise 1 fall 1\n";
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        // s1 and t1 come up 1.5 s after start; u1 answers the wrong thing; h1 200, h2 503.
        let (_a, sa) = recorder("127.0.100.5:24001", Some(b"NOPE\r\n"));
        let (_b, sb) = recorder("127.0.100.6:24001", Some(b"HTTP/1.0 200 OK\r\n\r\n"));
        let (_c, sc) = recorder(
            "127.0.100.7:24001",
            Some(b"HTTP/1.0 503 Service Unavailable\r\n\r\n"),
        );
        let p = start(w, "msgs", cfg, addr("127.0.100.1:24000"));
        thread::sleep(Duration::from_millis(1300));
        let (_d, sd) = recorder("127.0.100.2:24001", None);
        let (_e, se) = recorder("127.0.100.4:24001", None);
        thread::sleep(Duration::from_millis(1800));
        let mut lines = p.early.clone();
        lines.extend(p.lines.lock().unwrap().iter().cloned());
        lines.extend(p.errs.lock().unwrap().iter().cloned());
        drop(p);
        for s in [sa, sb, sc, sd, se] {
            s.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        thread::sleep(Duration::from_millis(50));
        outputs.push(normalise(&lines));
    }
    assert_eq!(outputs[1], outputs[0]);
    let all = outputs[0].join("\n");
    assert!(
        all.contains("Server li/s1 is DOWN, reason: Layer4 connection problem"),
        "{all}"
    );
    assert!(all.contains("Server li/s1 is UP"), "{all}");
}

#[test]
fn proxy_headers_match_haproxy_bytes() {
    // Traffic: v1 and v2 from a known client address; checks: v2 LOCAL (guide's line).
    let cfg = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen v1\n  bind 127.0.101.1:24000\n  server s 127.0.101.2:24001 send-proxy\n\
listen v2\n  bind 127.0.101.1:24002\n  server s 127.0.101.3:24001 send-proxy-v2\n\
listen v2ssl\n  bind 127.0.101.1:24004\n  server s 127.0.101.4:24001 send-proxy-v2-ssl\n\
listen chk\n  bind 127.0.101.1:24006\n  server s 127.0.101.5:24001 check-send-proxy send-proxy-v2 check inter 300\n\
listen chkcn\n  bind 127.0.101.1:24008\n  server s 127.0.101.6:24001 send-proxy-v2-ssl-cn check-send-proxy check inter 300\n";
    let mut per_binary = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let recs: Vec<_> = (2..=6)
            .map(|i| recorder(&format!("127.0.101.{i}:24001"), None))
            .collect();
        let p = start(w, "pp", cfg, addr("127.0.101.1:24000"));
        let mut got = Vec::new();
        for (k, port) in [24000u16, 24002, 24004].iter().enumerate() {
            let src =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            src.bind(&addr("127.0.101.55:0").into()).unwrap();
            src.connect(&addr(&format!("127.0.101.1:{port}")).into())
                .unwrap();
            let mut c: TcpStream = src.into();
            let cport = c.local_addr().unwrap().port();
            c.write_all(b"DATA").unwrap();
            thread::sleep(Duration::from_millis(400));
            let bytes = recs[k]
                .0
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|b| b.ends_with(b"DATA"))
                .cloned()
                .unwrap_or_default();
            // Replace the client port (it differs per run) by a marker.
            let mut bytes = bytes;
            let be = cport.to_be_bytes();
            let txt = cport.to_string();
            if let Some(i) = bytes.windows(2).position(|w| w == be) {
                bytes[i] = b'P';
                bytes[i + 1] = b'P';
            }
            let s = String::from_utf8_lossy(&bytes).replace(&txt, "PORT");
            got.push(s.into_bytes());
        }
        thread::sleep(Duration::from_millis(700));
        for k in [3usize, 4] {
            let first = recs[k]
                .0
                .lock()
                .unwrap()
                .first()
                .cloned()
                .unwrap_or_default();
            got.push(first);
        }
        drop(p);
        for (_, s) in &recs {
            s.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        thread::sleep(Duration::from_millis(50));
        per_binary.push(got);
    }
    assert_eq!(per_binary[1], per_binary[0]);
    assert_eq!(
        per_binary[0][0],
        b"PROXY TCP4 127.0.101.55 127.0.101.1 PORT 24000\r\nDATA"
    );
    assert_eq!(per_binary[0][3].len(), 16, "v2 LOCAL on checks");
}

#[test]
fn failover_takes_dead_server_out_and_back() {
    let cfg = "defaults\n  mode tcp\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
listen li\n  bind 127.0.102.1:24000\n  server a 127.0.102.2:24001 check inter 200 fall 2 rise 2\n  server b 127.0.102.3:24001 check inter 200 fall 2 rise 2\n";
    let (ra, sa) = recorder("127.0.102.2:24001", Some(b"A"));
    let (_rb, sb) = recorder("127.0.102.3:24001", Some(b"B"));
    let p = start(Which::Haproxide, "failover", cfg, addr("127.0.102.1:24000"));
    let who = || {
        let mut c = TcpStream::connect("127.0.102.1:24000").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        match c.read(&mut b) {
            Ok(1) => b[0] as char,
            _ => '?',
        }
    };
    thread::sleep(Duration::from_millis(500));
    let before: String = (0..4).map(|_| who()).collect();
    assert!(before.contains('A') && before.contains('B'), "{before}");
    // Kill A: within fall x inter (plus one interval) it is out of the rotation.
    sa.store(true, std::sync::atomic::Ordering::Relaxed);
    thread::sleep(Duration::from_millis(900));
    let during: String = (0..4).map(|_| who()).collect();
    assert_eq!(during, "BBBB");
    let errs = p.errs.lock().unwrap().join("\n");
    assert!(errs.contains("Server li/a is DOWN"), "{errs}");
    // Bring A back: UP after rise x inter.
    let t0 = Instant::now();
    let (_ra2, sa2) = recorder("127.0.102.2:24001", Some(b"A"));
    while !p
        .errs
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("Server li/a is UP"))
    {
        assert!(t0.elapsed() < Duration::from_secs(3), "A never came back");
        thread::sleep(Duration::from_millis(20));
    }
    let after: String = (0..4).map(|_| who()).collect();
    assert!(after.contains('A'), "{after}");
    drop(p);
    drop(ra);
    sa2.store(true, std::sync::atomic::Ordering::Relaxed);
    sb.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[test]
fn accept_proxy_matches_haproxy() {
    let cfg = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option tcplog\n  timeout connect 1s\n  timeout client 1s\n  timeout server 5s\n\
frontend fe\n  bind 127.0.103.1:24000 accept-proxy\n  default_backend be\nbackend be\n  server s1 127.0.103.2:24001 send-proxy-v2\n";
    let mut runs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let (rec, stop) = recorder("127.0.103.2:24001", None);
        // The readiness probe sends nothing: it is logged as closed while waiting.
        let p = start(w, "acceptproxy", cfg, addr("127.0.103.1:24000"));
        let payloads: [&[u8]; 4] = [
            b"PROXY TCP4 127.1.2.3 127.0.0.1 5555 24001\r\nHELLO",
            b"GET / HTTP/1.0\r\n\r\n",
            b"PROXY TCP4 1.2",
            b"",
        ];
        for pl in payloads {
            let mut c = TcpStream::connect("127.0.103.1:24000").unwrap();
            c.write_all(pl).unwrap();
            if pl.is_empty() {
                c.shutdown(std::net::Shutdown::Write).unwrap();
            }
            thread::sleep(Duration::from_millis(400));
        }
        let lines = p.wait_lines(4, Duration::from_secs(3));
        drop(p);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        thread::sleep(Duration::from_millis(50));
        let mut masked: Vec<String> = lines
            .iter()
            .map(|l| {
                let (who, rest) = l.split_once(' ').unwrap_or((l, ""));
                let who = if who.starts_with("127.1.2.3") {
                    who.to_string()
                } else {
                    who.rsplit_once(':').map(|x| x.0).unwrap_or(who).to_string()
                };
                let rest = rest.split_once("] ").map(|x| x.1).unwrap_or(rest);
                // Keep the fields that do not depend on timing.
                let f: Vec<&str> = rest.split(' ').collect();
                if f.len() == 7 {
                    format!("{who} {} {} {} {}", f[0], f[1], f[3], f[4])
                } else {
                    format!("{who} {rest}")
                }
            })
            .collect();
        // Lines are written when sessions end, whose order is timing: compare them sorted.
        masked.sort();
        let first = rec.lock().unwrap().first().cloned().unwrap_or_default();
        runs.push((first, masked));
    }
    assert_eq!(runs[1], runs[0]);
    let want: Vec<u8> = [
        &b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"[..],
        &[127, 1, 2, 3, 127, 0, 0, 1, 0x15, 0xb3, 0x5d, 0xc1],
        b"HELLO",
    ]
    .concat();
    assert_eq!(
        runs[0].0, want,
        "v2 carries the addresses received in the v1 header"
    );
    assert!(
        runs[0].1.iter().any(|l| l
            .contains("fe/1: Received something which does not look like a PROXY protocol header")),
        "{:?}",
        runs[0].1
    );
}

#[test]
fn haproxy_decodes_our_proxy_headers() {
    // haproxy itself, with accept-proxy, as an independent PROXY v1/v2 parser behind us.
    let _echo = common::Backend::echo("127.0.104.3:24001");
    let parser_cfg = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option tcplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend pp\n  bind 127.0.104.2:24001 accept-proxy\n  bind 127.0.104.2:24002 accept-proxy\n  default_backend be\nbackend be\n  server s1 127.0.104.3:24001\n";
    let parser = start(
        Which::Haproxy,
        "ppparser",
        parser_cfg,
        addr("127.0.104.2:24001"),
    );
    let ours_cfg =
        "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen v1\n  bind 127.0.104.1:24000\n  server p 127.0.104.2:24001 send-proxy\n\
listen v2\n  bind 127.0.104.1:24002\n  server p 127.0.104.2:24002 send-proxy-v2\n";
    let ours = start(
        Which::Haproxide,
        "ppsender",
        ours_cfg,
        addr("127.0.104.1:24000"),
    );
    thread::sleep(Duration::from_millis(300));
    parser.lines.lock().unwrap().clear();
    let mut ports = Vec::new();
    for port in [24000u16, 24002] {
        let src = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        src.bind(&addr("127.0.104.55:0").into()).unwrap();
        src.connect(&addr(&format!("127.0.104.1:{port}")).into())
            .unwrap();
        let mut c: TcpStream = src.into();
        ports.push(c.local_addr().unwrap().port());
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ping");
    }
    let lines = parser.wait_lines(2, Duration::from_secs(8));
    drop(ours);
    drop(parser);
    for p in ports {
        let who = format!("127.0.104.55:{p} ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&who) && l.contains(" pp be/s1 ")),
            "haproxy decoded {who}: {lines:?}"
        );
    }
}

#[test]
fn tcp_check_connect_port_and_send_proxy() {
    // The check goes to the connect rule's port, with a PROXY header; traffic port is dead.
    let (rec, stop) = recorder("127.0.105.2:24005", Some(b"+OK\r\n"));
    let cfg = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen li\n  bind 127.0.105.1:24000\n  option tcp-check\n  tcp-check connect port 24005 send-proxy\n  tcp-check send PING\\r\\n\n  tcp-check expect string +OK\n\
  server s1 127.0.105.2:24001 send-proxy-v2 check inter 200 rise 1 fall 1\n";
    let p = start(
        Which::Haproxide,
        "connectport",
        cfg,
        addr("127.0.105.1:24000"),
    );
    thread::sleep(Duration::from_millis(700));
    let errs = p.errs.lock().unwrap().join("\n");
    drop(p);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(!errs.contains("is DOWN"), "{errs}");
    let seen = rec.lock().unwrap().clone();
    assert!(
        !seen.is_empty(),
        "the check reached the connect rule's port"
    );
    // v2 LOCAL header (the server sends v2) then the rule's data.
    let first = &seen[0];
    assert!(
        first.starts_with(&[0x0d, 0x0a, 0x0d, 0x0a]) && first.ends_with(b"PING\r\n"),
        "{first:?}"
    );
}

/// `\xNN` escapes in `tcp-check send` and `expect string` are bytes, as haproxy reads
/// them (not text: a 0xff byte is sent as 0xff, not as a UTF-8 replacement character),
/// and a word ends at a `\x00`, as haproxy's words are C strings.
#[test]
fn tcp_check_escapes_are_bytes_as_in_haproxy() {
    for (w, net) in [(Which::Haproxy, 44), (Which::Haproxide, 45)] {
        let (rec, stop) = recorder(&format!("127.0.{net}.2:24001"), Some(b"\xfe\x01OK"));
        let cfg = format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen li\n  bind 127.0.{net}.1:24000\n  option tcp-check\n  tcp-check send \"\\xff\\x01ping\\x00tail\"\n  tcp-check expect string \"\\xfe\\x01OK\"\n\
  server s1 127.0.{net}.2:24001 check inter 200 rise 1 fall 1\n");
        let p = start(w, "escapes", &cfg, addr(&format!("127.0.{net}.1:24000")));
        thread::sleep(Duration::from_millis(700));
        let errs = p.errs.lock().unwrap().join("\n");
        drop(p);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(!errs.contains("is DOWN"), "{w:?}: {errs}");
        let seen = rec.lock().unwrap().clone();
        assert!(
            seen.iter().any(|b| b.as_slice() == b"\xff\x01ping"),
            "{w:?}: {seen:?}"
        );
    }
}

/// `http-check expect status` takes codes and ranges separated by commas (haproxy 2.6):
/// a 302 is in 200-399, a 404 in none of the list.
#[test]
fn expect_status_lists_and_ranges_match_haproxy() {
    let cfg = "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen hr\n  bind 127.0.101.1:24040\n  option log-health-checks\n  option httpchk GET /health\n  http-check expect status 200-399,503\n  server r1 127.0.101.2:24001 check inter 300 rise 1 fall 1\n  server r2 127.0.101.3:24001 check inter 300 rise 1 fall 1\n";
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let (_a, sa) = recorder("127.0.101.2:24001", Some(b"HTTP/1.0 302 Found\r\n\r\n"));
        let (_b, sb) = recorder("127.0.101.3:24001", Some(b"HTTP/1.0 404 Not Found\r\n\r\n"));
        let p = start(w, "ranges", cfg, addr("127.0.101.1:24040"));
        thread::sleep(Duration::from_millis(1200));
        let mut lines = p.early.clone();
        lines.extend(p.lines.lock().unwrap().iter().cloned());
        drop(p);
        for s in [sa, sb] {
            s.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        thread::sleep(Duration::from_millis(50));
        outputs.push(normalise(&lines));
    }
    let all = outputs[0].join("\n");
    assert!(all.contains("Server hr/r2 is DOWN"), "{all}");
    assert!(!all.contains("Server hr/r1 is DOWN"), "{all}");
    assert_eq!(outputs[1], outputs[0]);
}

/// tcp-check comments count as steps and name the failing rule, as haproxy's messages do
/// (quoted after an empty response or a timeout, bare after a mismatch); a check that
/// waits for the server's banner does not delay its handshake's ACK.
#[test]
fn tcp_check_comments_in_messages_match_haproxy() {
    let mut outputs = Vec::new();
    for w in [Which::Haproxy, Which::Haproxide] {
        let banner = common::Backend::with("127.0.224.2:0", |mut c, _| {
            let _ = c.write_all(b"NOPE\r\n");
            thread::sleep(Duration::from_millis(50));
        });
        let closes = common::Backend::with("127.0.224.3:0", |c, _| drop(c));
        let silent = common::Backend::with("127.0.224.4:0", |c, _| {
            thread::sleep(Duration::from_millis(1500));
            drop(c);
        });
        let cfg = format!(
            "global\n  log stdout format raw local0\ndefaults\n  log global\n  mode tcp\n  option log-health-checks\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 300ms\n\
listen tc\n  bind 127.0.224.1:24030\n  option tcp-check\n  tcp-check comment \"say hello\"\n  tcp-check connect\n  tcp-check comment \"expect banner\"\n  tcp-check expect string HELLO\n  server mismatch {} check inter 400 rise 1 fall 1\n  server empty {} check inter 400 rise 1 fall 1\n  server timeout {} check inter 400 rise 1 fall 1\n",
            banner.addr, closes.addr, silent.addr
        );
        let p = start(w, "tccomment", &cfg, addr("127.0.224.1:24030"));
        thread::sleep(Duration::from_millis(1000));
        let mut lines = p.early.clone();
        lines.extend(p.lines.lock().unwrap().iter().cloned());
        lines.retain(|l| l.starts_with("Health check"));
        drop(p);
        // Durations are kept: 0 or 50 ms here, where a delayed ACK would add 200.
        let mut first: Vec<String> = ["mismatch", "empty", "timeout"]
            .iter()
            .filter_map(|s| {
                lines
                    .iter()
                    .find(|l| l.contains(&format!("tc/{s} ")))
                    .cloned()
            })
            .map(|l| {
                // Timer resolution: round the duration to 100 ms.
                match l.find("check duration: ") {
                    Some(i) => {
                        let rest = &l[i + 16..];
                        let ms: u64 = rest[..rest.find("ms").unwrap_or(0)].parse().unwrap_or(0);
                        format!("{}~{}ms", &l[..i + 16], (ms + 50) / 100 * 100)
                    }
                    None => l,
                }
            })
            .collect();
        first.sort();
        outputs.push(first);
    }
    assert_eq!(outputs[1], outputs[0], "haproxide (left), haproxy (right)");
    assert_eq!(outputs[0].len(), 3, "{:?}", outputs[0]);
}
