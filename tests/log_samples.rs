//! `%[…]` samples in `log-format` against the real haproxy: what a line prints of the
//! session (addresses, names, TLS facts, variables set by rules, the transaction's
//! method and status, converters), in TCP, HTTP and TLS frontends.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{start, Backend, Which};

const GLOBAL: &str = "global\n  log stdout format raw local0\ndefaults\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n";

/// The log lines of `which` running `cfg` while `client` runs against it.
fn lines(which: Which, cfg: &str, probe: &str, client: &dyn Fn()) -> Vec<String> {
    // The probe's port names the test's files: the tests run side by side.
    let tag = format!("logsamples{}", probe.rsplit(':').next().unwrap_or(""));
    let p = start(which, &tag, cfg, probe.parse().unwrap());
    client();
    thread::sleep(Duration::from_millis(300));
    let out = p.lines.lock().unwrap().clone();
    drop(p);
    out
}

#[test]
fn samples_in_tcp_and_http_lines_match_haproxy() {
    let tcp = Backend::echo("127.0.96.2:0");
    let http = Backend::with("127.0.96.3:0", |mut c: TcpStream, _| {
        let mut buf = [0u8; 2048];
        let _ = c.read(&mut buf);
        let _ =
            c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/x\r\nContent-Length: 2\r\n\r\nok");
        thread::sleep(Duration::from_millis(100));
    });
    let cfg = format!(
        "{GLOBAL}frontend ft\n  mode tcp\n  bind 127.0.96.1:24180\n  tcp-request inspect-delay 1s\n  tcp-request content set-var(sess.who) str(alice)\n  tcp-request content set-var(txn.n) int(42)\n  tcp-request content accept if {{ req.len gt 0 }}\n  log-format \"T %[src] %[src,ipmask(24)] %[dst] %[dst_port] %[fe_name,upper] %[be_name] %[var(sess.who)] %[var(txn.n),hex] %[var(txn.none)] %{{+Q}}[var(sess.who)] %[ssl_fc] %[method] %[status] %[bool(1),base64] %[str(),length] %[env(HAPROXIDE_NOPE)] %[src,hex]\"\n  default_backend bt\n\
backend bt\n  mode tcp\n  server s {}\n\
frontend fh\n  mode http\n  bind 127.0.96.1:24181\n  http-request set-var(txn.path) path\n  http-response set-var(txn.ct) res.hdr(content-type)\n  log-format \"H %[method] %[method,lower] %[status] %[var(txn.path)] %[var(txn.ct)] %[be_name] %[ssl_fc_protocol] %[var(txn.path),length]\"\n  default_backend bh\n\
backend bh\n  mode http\n  server s {}\n",
        tcp.addr, http.addr
    );
    let client = || {
        let got = common::roundtrip("127.0.96.1:24180".parse().unwrap(), b"ping");
        assert_eq!(got, b"ping");
        let mut c = TcpStream::connect("127.0.96.1:24181").unwrap();
        c.write_all(b"GET /a/b?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
    };
    let theirs = lines(Which::Haproxy, &cfg, "127.0.96.1:24181", &client);
    let ours = lines(Which::Haproxide, &cfg, "127.0.96.1:24181", &client);
    assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
    let all = theirs.join("\n");
    for want in [
        "FT bt alice 000000000000002A - \"alice\" 0 - - AAAAAAAAAAE= 0 - 7F000001",
        "H GET get 200 /a/b text/x bh - 4",
    ] {
        assert!(all.contains(want), "{want} in {all}");
    }
}

/// A TLS frontend's line: the name the client asked for and the protocol.
#[test]
fn tls_facts_in_lines_match_haproxy() {
    let pem = common::self_signed_pem("logsni", &["-newkey", "rsa:2048"]);
    let echo = Backend::echo("127.0.96.5:0");
    let cfg = format!(
        "{GLOBAL}listen l\n  mode tcp\n  bind 127.0.96.4:24182 ssl crt {}\n  log-format \"S %[ssl_fc] %[ssl_fc_sni] %[ssl_fc_sni,upper] %[ssl_fc_protocol] %[ssl_c_used] %[ssl_fc_cipher] %[ssl_fc_has_sni] %[ssl_fc_has_crt] %[ssl_c_verify] %[ssl_c_err] %[ssl_c_ca_err] %[ssl_fc_err] %[ssl_fc_is_resumed] %[ssl_fc_use_keysize] %[ssl_fc_alg_keysize] %[fc_err] %sslv %sslc\"\n  server s {}\n",
        pem.display(),
        echo.addr
    );
    let to: SocketAddr = "127.0.96.4:24182".parse().unwrap();
    let client = || {
        for sni in ["logs.example", "other.test"] {
            let tcp = TcpStream::connect(to).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
            let conn = rustls::ClientConnection::new(common::tls_client_config(), name).unwrap();
            let mut s = rustls::StreamOwned::new(conn, tcp);
            s.write_all(b"hi").unwrap();
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    };
    let theirs = lines(Which::Haproxy, &cfg, "127.0.96.4:24182", &client);
    let ours = lines(Which::Haproxide, &cfg, "127.0.96.4:24182", &client);
    assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
    assert!(
        theirs
            .iter()
            .any(|l| l == "S 1 logs.example LOGS.EXAMPLE TLSv1.3 0 TLS_AES_256_GCM_SHA384 1 0 0 0 0 0 0 256 256 0 TLSv1.3 TLS_AES_256_GCM_SHA384"),
        "{theirs:?}"
    );
}

/// `option httpslog` in an HTTP frontend, TLS and plain, and the TLS fetches it and a
/// rule read: versions, ciphers, SNI, a resumed TLS 1.2 session, the error codes.
#[test]
fn httpslog_and_tls_fetches_match_haproxy() {
    let d = std::env::temp_dir().join(format!("haproxide-httpslog-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let rsa = common::self_signed_pem("httpslog", &["-newkey", "rsa:2048"]);
    let facts = "c=%[ssl_fc_cipher] sni=%[ssl_fc_has_sni] crt=%[ssl_fc_has_crt] v=%[ssl_c_verify] \
        e=%[ssl_c_err] ca=%[ssl_c_ca_err] r=%[ssl_fc_is_resumed] fe=%[fc_err] se=%[ssl_fc_err] \
        seh=%[ssl_fc_err,hex] uk=%[ssl_fc_use_keysize] ak=%[ssl_fc_alg_keysize] sslv=%[ssl_fc_protocol]";
    let cfg = format!(
        "{GLOBAL}frontend tls\n  mode http\n  bind 127.0.96.8:24186 ssl crt {rsa}\n  option httpslog\n\
  http-request return status 200 content-type text/plain lf-string \"{facts}\\n\"\n\
frontend plain\n  mode http\n  bind 127.0.96.8:24187\n  option httpslog\n\
  http-request return status 200 content-type text/plain lf-string \"{facts}\\n\"\n",
        rsa = rsa.display()
    );
    let sess = d.join("sess");
    let answers = std::sync::Mutex::new(Vec::new());
    // openssl's client: the request, and the answer's last line (the facts).
    let get = |path: &str, extra: &[&str]| {
        let mut args = vec!["s_client", "-connect", "127.0.96.8:24186", "-quiet"];
        args.extend_from_slice(extra);
        let mut c = std::process::Command::new("openssl")
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = c.stdin.take().unwrap();
        let _ = write!(stdin, "GET {path} HTTP/1.0\r\n\r\n");
        thread::sleep(Duration::from_millis(400));
        drop(stdin);
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        answers
            .lock()
            .unwrap()
            .push(text.lines().last().unwrap_or("").to_string());
    };
    let sess_s = sess.to_str().unwrap();
    let client = || {
        get("/a", &["-noservername"]);
        get("/b", &["-tls1_2", "-noservername"]);
        get("/c", &["-servername", "named.test"]);
        // A TLS 1.2 session kept, then resumed.
        get("/d", &["-tls1_2", "-noservername", "-sess_out", sess_s]);
        get("/e", &["-tls1_2", "-noservername", "-sess_in", sess_s]);
        let mut c = TcpStream::connect("127.0.96.8:24187").unwrap();
        c.write_all(b"GET /f HTTP/1.0\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf).into_owned();
        answers
            .lock()
            .unwrap()
            .push(text.lines().last().unwrap_or("").to_string());
    };
    // Client ports, dates and timers differ between runs; the rest must not.
    let mask = |l: &String| {
        let l = l.split_once("] ").map_or(l.as_str(), |x| x.1).to_string();
        let mut w: Vec<&str> = l.split(' ').collect();
        if w.len() > 2 {
            w[2] = "T";
        }
        w.join(" ")
    };
    let theirs: Vec<String> = lines(Which::Haproxy, &cfg, "127.0.96.8:24187", &client)
        .iter()
        .map(mask)
        .collect();
    let their_answers = std::mem::take(&mut *answers.lock().unwrap());
    let ours: Vec<String> = lines(Which::Haproxide, &cfg, "127.0.96.8:24187", &client)
        .iter()
        .map(mask)
        .collect();
    let our_answers = std::mem::take(&mut *answers.lock().unwrap());
    assert_eq!(
        our_answers, their_answers,
        "haproxide (left), haproxy (right)"
    );
    assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
    let all = theirs.join("\n");
    for want in [
        "\"GET /b HTTP/1.0\" 0/0000000000000000/0/0/0 -/TLSv1.2/ECDHE-RSA-AES256-GCM-SHA384",
        "\"GET /c HTTP/1.0\" 0/0000000000000000/0/0/0 named.test/TLSv1.3/TLS_AES_256_GCM_SHA384",
        "\"GET /e HTTP/1.0\" 0/0000000000000000/0/0/1 -/TLSv1.2/ECDHE-RSA-AES256-GCM-SHA384",
        "\"GET /f HTTP/1.0\" 0/-/-/-/0 -/-/-",
    ] {
        assert!(all.contains(want), "{want} in {all}");
    }
    assert!(
        their_answers.iter().any(|a| a.contains("r=1 ")),
        "{their_answers:?}"
    );
}

/// `set-log-level` in http-request, http-response and tcp-request content rules: the
/// syslog level of each transaction's line (its PRI), `silent` writing none.
#[test]
fn set_log_level_matches_haproxy() {
    let srv = Backend::with("127.0.96.7:0", |mut c: TcpStream, _| {
        let mut buf = Vec::new();
        while let Some(head) = common::read_http_message(&mut c, &mut buf) {
            let status = if head.starts_with(b"GET /missing") {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let resp = format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nok");
            if c.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    });
    let cfg = format!(
        "global\n  log stdout format rfc3164 local0\ndefaults\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend fh\n  mode http\n  bind 127.0.96.6:24183\n  log-format \"L %HP %ST\"\n  tcp-request content set-log-level warning if {{ path /warn }}\n  http-request set-log-level silent if {{ path /health }}\n  http-request set-log-level err if {{ path /err }}\n  http-request set-log-level debug if {{ path /debug }}\n  http-response set-log-level notice if {{ status 404 }}\n  default_backend bh\n\
backend bh\n  mode http\n  server s {}\n",
        srv.addr
    );
    let client = || {
        let mut c = TcpStream::connect("127.0.96.6:24183").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = Vec::new();
        for p in ["/a", "/health", "/err", "/debug", "/missing", "/warn", "/b"] {
            let req = format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n");
            c.write_all(req.as_bytes()).unwrap();
            assert!(common::read_http_message(&mut c, &mut buf).is_some());
        }
    };
    // The PRI and the message, without the date, host and pid.
    let strip = |l: &String| {
        let pri = l.split('>').next().unwrap_or("").to_string();
        let msg = l.split(": ").last().unwrap_or("").to_string();
        format!("{pri}> {msg}")
    };
    let theirs: Vec<_> = lines(Which::Haproxy, &cfg, "127.0.96.6:24183", &client)
        .iter()
        .map(strip)
        .collect();
    let ours: Vec<_> = lines(Which::Haproxide, &cfg, "127.0.96.6:24183", &client)
        .iter()
        .map(strip)
        .collect();
    assert_eq!(ours, theirs, "haproxide (left), haproxy (right)");
    // local0 (16 * 8): info 134, err 131, debug 135, notice 133, warning 132; no /health.
    assert_eq!(
        theirs,
        [
            "<134> L /a 200",
            "<131> L /err 200",
            "<135> L /debug 200",
            "<133> L /missing 404",
            "<132> L /warn 200",
            "<134> L /b 200"
        ]
    );
}
